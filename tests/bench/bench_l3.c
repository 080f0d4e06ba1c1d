/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench-l3: the worker's L2/L3 fast path against a DPDK I/O-forwarding
 * floor, in one run, on net_ring ports fed by a generator.
 *
 * The data plane is the ring fixture of tests/unit/dataplane: port p0 is a
 * net_ring port whose RX ring the generator fills and whose TX ring it
 * empties; its exception interface is another net_ring port. Every
 * measurement times one "step", a separate non-inlined function, with
 * rte_rdtsc() on either side, summed over many bursts:
 *
 *   floor   bench_step_floor(): rte_eth_rx_burst(32) on p0, rte_eth_tx_burst
 *           of the same mbufs on p0, free what TX refused (testpmd io mode).
 *   others  bench_step_tern(): dp_worker_poll() of dataplane/worker.c, the
 *           real poll loop: RX burst from p0 and the (empty) exception port,
 *           classification, reply build or punt, counters, TX flush.
 *
 * The generator works between steps and is never timed: it takes the 32
 * frames the step sent (from p0's TX ring, or the exception TX ring for
 * punted frames), checks each one, rewrites the request template into the
 * same mbufs and puts them back on p0's RX ring. A fixed number of frames
 * circulate, so the pool never runs dry and every step finds a full burst.
 *
 * Because the steps are separate symbols, scripts/bench runs this binary a
 * second time under `valgrind --tool=callgrind --toggle-collect=<step>` and
 * divides the instructions by "step_packets" (every packet that went
 * through the step, warm-up included).
 *
 * A run also checks that the path it timed worked: every step must move a
 * full burst, every output must be the expected reply (or the untouched
 * request for the floor and the punt), the worker's counters must agree, no
 * frame may go anywhere else, and the mbuf pool must be back at its
 * baseline at the end. Any failure exits 1.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>

#include <rte_cycles.h>
#include <rte_ip.h>

#include "tests/unit/dataplane/frames.h"
#include "tests/bench/bench_common.h"
#include "tests/unit/dataplane/ring_fixture.h"


#define BURST DP_BURST
#define INFLIGHT (8 * BURST)          /* frames circulating between generator and step */
#define POOL_SIZE 4095

static struct ring_fixture fx;

/* ---- request templates (tests/unit/dataplane/frames.h) ---- */

/* ICMP echo request with ping's default 56-byte payload: 98 bytes. */
static size_t
tpl_icmp4(uint8_t *f)
{
	return fr_icmp4_echo(f, 56);
}

/* UDP to port 5999, which no node serves, with a 32-byte payload: 74 bytes. */
static size_t
tpl_udp_punt(uint8_t *f)
{
	return fr_udp4(f, 40000, 5999, 32);
}

/* ---- output checks (generator side, untimed) ---- */

static const uint8_t *tpl;
static size_t tpl_len;

static bool
chk_same(const uint8_t *r, uint32_t len)
{
	return len == tpl_len && memcmp(r, tpl, len) == 0;
}

static bool
chk_icmp4_reply(const uint8_t *r, uint32_t len)
{
	return len == tpl_len && memcmp(r, fr_client_mac, 6) == 0 &&
	       memcmp(r + 6, fr_router_mac, 6) == 0 && r[34] == 0 &&
	       memcmp(r + 26, fr_router4, 4) == 0 && memcmp(r + 30, fr_client4, 4) == 0 &&
	       rte_raw_cksum(r + 14, 20) == 0xffff && rte_raw_cksum(r + 34, len - 34) == 0xffff &&
	       memcmp(r + 42, tpl + 42, len - 42) == 0;
}

static bool
chk_arp_reply(const uint8_t *r, uint32_t len)
{
	return len >= 42 && memcmp(r, fr_client_mac, 6) == 0 && memcmp(r + 6, fr_router_mac, 6) == 0 &&
	       r[20] == 0 && r[21] == 2 && memcmp(r + 22, fr_router_mac, 6) == 0 &&
	       memcmp(r + 28, fr_router4, 4) == 0 && memcmp(r + 32, fr_client_mac, 6) == 0 &&
	       memcmp(r + 38, fr_client4, 4) == 0;
}

/* ---- workloads ---- */

enum step_kind { STEP_FLOOR, STEP_TERN };

struct workload {
	const char *name;
	enum step_kind kind;
	size_t (*build)(uint8_t *f);
	bool (*check)(const uint8_t *r, uint32_t len);
	bool punted;              /* output on the exception TX ring, not p0's */
	int fate;                 /* DP_CNT_NET_* every frame must get; -1: none */
};

static const struct workload workloads[] = {
	{ "floor",    STEP_FLOOR, tpl_udp_punt, chk_same,        false, -1 },
	{ "icmp4",    STEP_TERN,  tpl_icmp4,    chk_icmp4_reply, false, DP_CNT_NET_ICMP4_ECHO },
	{ "udp-punt", STEP_TERN,  tpl_udp_punt, chk_same,        true,  DP_CNT_NET_UDP4 },
	{ "arp",      STEP_TERN,  fr_arp_request,      chk_arp_reply,   false, DP_CNT_NET_ARP_REQUEST },
};

#define NB_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* ---- the measured steps: keep them separate symbols (callgrind toggles on them) ---- */


/* ---- the generator ---- */

static int
fail(const char *wl, const char *what)
{
	fprintf(stderr, "tern-bench-l3: %s: FAILED: %s\n", wl, what);
	return -1;
}

static void
load(struct rte_mbuf *m)
{
	rte_pktmbuf_reset(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)tpl_len), tpl, tpl_len);
	m->port = dp.ports[0].port_id;
}

/*
 * Take one burst of output from @p out, check every frame, turn it back into
 * a request on p0's RX ring. Returns -1 unless exactly one full burst came out.
 */
static int
refill(const struct workload *wl, struct rte_ring *out)
{
	struct rte_mbuf *m[BURST];
	unsigned int n = fx_take(out, m, BURST);
	bool ok = n == BURST;

	for (unsigned int i = 0; i < n; i++) {
		if (!wl->check(rte_pktmbuf_mtod(m[i], const uint8_t *), m[i]->pkt_len) ||
		    m[i]->nb_segs != 1)
			ok = false;
		load(m[i]);
	}
	if (rte_ring_enqueue_burst(fx.rx, (void **)m, n, NULL) != n) {
		for (unsigned int i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
		return -1;
	}
	return ok ? 0 : -1;
}

struct result {
	uint64_t packets;         /* timed packets */
	uint64_t step_packets;    /* every packet through the step, warm-up included */
	uint64_t cycles;
};

static uint64_t
cnt(unsigned int i)
{
	return dp.worker[0]->cnt[0].v[i];
}

static int
run(const struct workload *wl, uint64_t packets, struct result *res)
{
	static uint8_t frame[256];
	struct dp_worker *w = dp.worker[0];
	struct rte_ring *out = wl->punted ? fx.exc_tx[0] : fx.tx[0];
	struct rte_ring *other = wl->punted ? fx.tx[0] : fx.exc_tx[0];
	struct dp_counters before = w->cnt[0];
	uint64_t baseline = rte_mempool_in_use_count(dp.pool);
	uint64_t bursts = (packets + BURST - 1) / BURST;
	uint64_t warmup = bursts / 10 + 1;
	uint64_t cycles = 0, t0, t1;
	uint16_t port = dp.ports[0].port_id;
	int rc = 0;

	tpl_len = wl->build(frame);
	tpl = frame;
	for (unsigned int i = 0; i < INFLIGHT; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);

		if (m == NULL)
			return fail(wl->name, "mbuf pool dry while priming");
		load(m);
		if (rte_ring_enqueue(fx.rx, m) != 0)
			return fail(wl->name, "RX ring full while priming");
	}

	for (uint64_t b = 0; b < warmup + bursts && rc == 0; b++) {
		if (wl->kind == STEP_FLOOR) {
			t0 = rte_rdtsc();
			uint16_t sent = bench_step_floor(port);
			t1 = rte_rdtsc();
			if (sent != BURST)
				rc = fail(wl->name, "the floor step did not forward a full burst");
		} else {
			t0 = rte_rdtsc();
			bench_step_tern(w);
			t1 = rte_rdtsc();
		}
		if (b >= warmup)
			cycles += t1 - t0;
		if (rc == 0 && refill(wl, out) < 0)
			rc = fail(wl->name, "a step's output was not one burst of the expected frames");
	}
	res->packets = bursts * BURST;
	res->step_packets = (warmup + bursts) * BURST;
	res->cycles = cycles;

	/* the worker's own account must agree with what came out */
	if (rc == 0 && rte_ring_count(other) != 0)
		rc = fail(wl->name, "frames went out the wrong interface");
	if (rc == 0 && wl->kind == STEP_TERN) {
		uint64_t n = res->step_packets;
		const unsigned int zero[] = { DP_CNT_TX_REFUSED, DP_CNT_REPLY_FAILED,
					      DP_CNT_EXC_TX_REFUSED, DP_CNT_EXC_NONE };

		if (cnt(DP_CNT_RX_PACKETS) - before.v[DP_CNT_RX_PACKETS] != n ||
		    cnt((unsigned int)wl->fate) - before.v[wl->fate] != n)
			rc = fail(wl->name, "rx_packets or the fate counter disagree with packets sent");
		else if (cnt(wl->punted ? DP_CNT_EXC_TX : DP_CNT_TX_PACKETS) -
			 before.v[wl->punted ? DP_CNT_EXC_TX : DP_CNT_TX_PACKETS] != n)
			rc = fail(wl->name, "tx_packets/exc_tx disagree with packets sent");
		for (unsigned int i = 0; rc == 0 && i < RTE_DIM(zero); i++)
			if (cnt(zero[i]) != before.v[zero[i]])
				rc = fail(wl->name, "a refusal or failure counter moved");
	} else if (rc == 0 && memcmp(&before, &w->cnt[0], sizeof(before)) != 0) {
		rc = fail(wl->name, "the floor touched tern's counters");
	}

	/* every circulating frame back to the pool */
	bench_free_ring(fx.rx);
	dp_worker_drain(w);
	fx_drain(&fx);
	if (rc == 0 && rte_mempool_in_use_count(dp.pool) != baseline)
		rc = fail(wl->name, "mbuf pool not back at its baseline");
	return rc;
}

/* ---- main ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tern-bench-l3 [--packets N] [--workload floor|icmp4|udp-punt|arp|all] [--json]\n"
		"  --packets N    timed packets per workload (k/M suffixes; default 20M)\n"
		"  --workload W   one workload, or all (default)\n"
		"  --json         one JSON object per workload on stdout\n"
		"Exits 1 if any workload's output or accounting is wrong.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'p' },
		{ "workload", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t packets = 20000000;
	const char *which = "all";
	bool json = false, any = false;
	int c, rc = 0;
	double hz, timer;

	while ((c = getopt_long(argc, argv, "p:w:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (bench_parse_count(optarg, &packets) < 0) {
				fprintf(stderr, "tern-bench-l3: bad --packets '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			which = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	for (unsigned int i = 0; i < NB_WORKLOADS; i++)
		any |= strcmp(which, "all") == 0 || strcmp(which, workloads[i].name) == 0;
	if (!any) {
		fprintf(stderr, "tern-bench-l3: unknown workload '%s'\n", which);
		return 2;
	}

	if (fx_eal_init("tern-bench-l3") < 0 || fx_setup(&fx, 1, POOL_SIZE) < 0) {
		fprintf(stderr, "tern-bench-l3: data plane fixture on net_ring ports failed\n");
		return 1;
	}
	hz = (double)rte_get_tsc_hz();
	timer = bench_timer_overhead();

	for (unsigned int i = 0; i < NB_WORKLOADS; i++) {
		const struct workload *wl = &workloads[i];
		struct result r;
		double cpp, ns;

		if (strcmp(which, "all") != 0 && strcmp(which, wl->name) != 0)
			continue;
		if (run(wl, packets, &r) < 0) {
			rc = 1;
			continue;
		}
		cpp = (double)r.cycles / (double)r.packets;
		ns = cpp / hz * 1e9;
		if (json)
			printf("{\"workload\": \"%s\", \"packets\": %" PRIu64 ", "
			       "\"step_packets\": %" PRIu64 ", \"cycles\": %" PRIu64 ", "
			       "\"cycles_per_packet\": %.2f, \"mpps\": %.3f, \"ns_per_packet\": %.2f, "
			       "\"tsc_hz\": %.0f, \"timer_cycles_per_burst\": %.1f}\n",
			       wl->name, r.packets, r.step_packets, r.cycles, cpp, 1e3 / ns, ns, hz,
			       timer);
		else
			printf("%-9s %12" PRIu64 " packets  %8.2f cycles/packet  %7.2f ns/packet  "
			       "%7.3f Mpps\n", wl->name, r.packets, cpp, ns, 1e3 / ns);
		fflush(stdout);
	}
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_drain(dp.worker[i]);
	fx_drain(&fx);
	fx_eal_cleanup();
	return rc;
}
