/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench-mqttsn: the MQTT-SN node's routing rate per worker, against
 * the same DPDK I/O-forwarding floor as tern-bench-l3, in one run, on the
 * ring fixture's net_ring ports (docs/benchmarks.md).
 *
 * The main thread is the worker (dp_worker_poll() on worker 0) and the
 * control plane (mqttsn_control_poll(), the topic table's writer), and an
 * RCU QSBR thread (mqttsn_setup() registers it) that reports a quiescent
 * state after every iteration, as dp_worker_main() does.
 *
 * Set-up goes through the protocol: every subscriber CONNECTs from its own
 * UDP port and SUBSCRIBEs to a plain topic name at QoS 1 ("bench/1" has one
 * subscriber, "bench/10" ten, "bench/1000" a thousand), and the publisher
 * CONNECTs and REGISTERs the three names. Only the filler topics that bring
 * the table to 1k or 1M topics are created with the writer API directly
 * (topic_create() on dp_topic_table()): they have no subscribers and the
 * fast path never looks at them.
 *
 * Steps (separate non-inlined functions; scripts/bench counts their
 * instructions with callgrind --toggle-collect):
 *   bench_step_floor()  rte_eth_rx_burst(32) + rte_eth_tx_burst() on p0, as in
 *                       tern-bench-l3.
 *   bench_step_tern()   dp_worker_poll(): the real poll loop. For qos0-fanN:
 *                       a burst of PUBLISH QoS 0 (32, or 4 for fan-out 1000)
 *                       with the registered topic id in, N PUBLISH per
 *                       message out (the last subscriber's in the received
 *                       frame itself, the others a header mbuf with a copy
 *                       of the 32-byte payload). For qos1-fan1: 32 PUBLISH
 *                       QoS 1 in, 32 PUBACK to the publisher and 32 QoS 1
 *                       PUBLISH to the subscriber out; then the generator
 *                       (untimed) builds the subscriber's 32 PUBACKs and a
 *                       second timed bench_step_tern() takes them in
 *                       (releasing the held messages): both polls count
 *                       for the message.
 *   bench_step_ctl()    mqttsn_control_poll() applying one SUBSCRIBE with a
 *                       wildcard filter (sub-wild-*), queued by an untimed
 *                       worker poll; the SUBACK goes out after, untimed.
 *
 * The generator (untimed) takes every output frame off the TX ring, checks
 * it (count per subscriber, addresses, MQTT-SN header, topic id, msg id,
 * payload, the IPv4 and UDP checksums; a frame may be one segment or a
 * header chained to the payload), frees it and loads the next burst. Any
 * failure, a refused or failed delivery, counters that disagree with what
 * came out, or an mbuf pool not back at its baseline after a workload and
 * after teardown exits 1.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ip.h>

#include <urcu-qsbr.h>

#include "dataplane/mqttsn_priv.h"
#include "dataplane/topic_table.h"
#include "proto/mqttsn.h"
#include "tests/unit/dataplane/frames.h"
#include "tests/bench/bench_common.h"
#include "tests/bench/bench_mq.h"
#include "tests/unit/dataplane/ring_fixture.h"


#define BURST DP_BURST
#define INFLIGHT (8 * BURST)          /* the floor's circulating frames */
#define POOL_SIZE 32767
#define RING_SIZE 16384
#define MQ_PORT 1883
#define PUB_PORT 40000
#define WILD_PORT 30000               /* + k: the wildcard subscribers */
#define WILD_REPS 8                   /* wildcard SUBSCRIBEs per table size */
#define WILD_MATCH 10                 /* topics each wildcard filter matches */
#define PAYLOAD 32
#define NB_GROUPS 3


/* ---- subscriber groups: one topic each ---- */

struct group {
	const char *topic;
	unsigned int nb_subs;
	uint16_t port0;               /* subscribers' UDP ports: port0 .. port0 + nb_subs - 1 */
	uint16_t sub_id;              /* their topic id (SUBACK); all first ids, so all equal */
	uint16_t pub_id;              /* the publisher's topic id (REGACK) */
};

static struct group groups[NB_GROUPS] = {
	{ "bench/1", 1, 10000, 0, 0 },
	{ "bench/10", 10, 11000, 0, 0 },
	{ "bench/1000", 1000, 12000, 0, 0 },
};

/* ---- workloads ---- */

enum wl_kind { WL_FLOOR, WL_PUB, WL_SUBWILD };

struct workload {
	const char *name;
	enum wl_kind kind;
	unsigned int group;           /* WL_PUB: groups[] index */
	int qos;                      /* WL_PUB: 0 or 1 */
	unsigned int per_step;        /* WL_PUB: PUBLISH frames per step */
	uint32_t topics;              /* table size the workload runs at; 0: any */
};

static const struct workload workloads[] = {
	{ "floor",           WL_FLOOR,   0, 0, BURST, 0 },
	{ "qos0-fan1-1k",    WL_PUB,     0, 0, BURST, 1000 },
	{ "qos0-fan10-1k",   WL_PUB,     1, 0, BURST, 1000 },
	{ "qos0-fan1000-1k", WL_PUB,     2, 0, 4, 1000 },
	{ "qos1-fan1-1k",    WL_PUB,     0, 1, BURST, 1000 },
	{ "sub-wild-1k",     WL_SUBWILD, 0, 1, 0, 1000 },
	{ "qos0-fan1-1m",    WL_PUB,     0, 0, BURST, 1000000 },
	{ "qos0-fan10-1m",   WL_PUB,     1, 0, BURST, 1000000 },
	{ "qos0-fan1000-1m", WL_PUB,     2, 0, 4, 1000000 },
	{ "qos1-fan1-1m",    WL_PUB,     0, 1, BURST, 1000000 },
	{ "sub-wild-1m",     WL_SUBWILD, 0, 1, 0, 1000000 },
};

#define NB_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))


static int
setup_protocol(void)
{
	static uint16_t ids[1000];
	uint16_t pub_ids[NB_GROUPS];
	char name[32];

	for (unsigned int g = 0; g < NB_GROUPS; g++) {
		struct group *gr = &groups[g];

		if (bench_mq_connect(gr->port0, gr->nb_subs, "sub") < 0 ||
		    bench_mq_subscribe(gr->port0, gr->nb_subs, gr->topic, ids) < 0)
			return bench_fail("set-up", "subscribers' CONNECT or SUBSCRIBE");
		gr->sub_id = ids[0];
		for (unsigned int i = 0; i < gr->nb_subs; i++)
			if (ids[i] == 0 || ids[i] != gr->sub_id)
				return bench_fail("set-up", "SUBACK topic ids");
	}
	/* the wildcard subscribers connect now; their SUBSCRIBE is the workload */
	if (bench_mq_connect(WILD_PORT, 2 * WILD_REPS, "wild") < 0)
		return bench_fail("set-up", "wildcard subscribers' CONNECT");
	for (unsigned int k = 0; k < 2 * WILD_REPS; k++)
		for (unsigned int j = 0; j < WILD_MATCH; j++) {
			int len = snprintf(name, sizeof(name), "w%u/%u", k, j);

			if (topic_create(dp_topic_table(), name, (size_t)len) == NULL)
				return bench_fail("set-up", "topic_create");
		}
	if (bench_mq_connect(PUB_PORT, 1, "pub") < 0)
		return bench_fail("set-up", "publisher's CONNECT");
	for (unsigned int g = 0; g < NB_GROUPS; g++) {
		struct mqttsn_msg r = { .type = MQTTSN_REGISTER, .msg_id = (uint16_t)(g + 1) };

		r.topic_name.p = (const uint8_t *)groups[g].topic;
		r.topic_name.len = strlen(groups[g].topic);
		if (bench_mq_send(PUB_PORT, &r) < 0 ||
		    bench_mq_settle(1, MQTTSN_REGACK, PUB_PORT, &pub_ids[g], 1) < 0 || pub_ids[g] == 0)
			return bench_fail("set-up", "publisher's REGISTER");
		groups[g].pub_id = pub_ids[g];
	}
	return 0;
}

/* ---- the floor (as tern-bench-l3's) ---- */

struct result {
	uint64_t msgs;                /* timed messages (PUBLISH in; floor: packets) */
	uint64_t step_msgs;           /* every message through the step, warm-up included */
	uint64_t deliveries;          /* timed PUBLISH out to subscribers */
	uint64_t step_deliveries;
	uint64_t cycles;
	uint64_t cycles_min, cycles_max;   /* sub-wild: per SUBSCRIBE */
};

static uint8_t floor_tpl[128];
static size_t floor_len;

static void
floor_load(struct rte_mbuf *m)
{
	rte_pktmbuf_reset(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)floor_len), floor_tpl, floor_len);
	m->port = dp.ports[0].port_id;
}

static int
run_floor(const struct workload *wl, uint64_t packets, struct result *res)
{
	uint64_t baseline = rte_mempool_in_use_count(dp.pool);
	uint64_t bursts = (packets + BURST - 1) / BURST, warmup = bursts / 10 + 1;
	struct dp_counters before = bench_counters(), after;
	uint16_t port = dp.ports[0].port_id;
	int rc = 0;

	floor_len = fr_udp4(floor_tpl, 40000, 5999, 32);
	for (unsigned int i = 0; i < INFLIGHT; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);

		if (m == NULL)
			return bench_fail(wl->name, "mbuf pool dry while priming");
		floor_load(m);
		if (rte_ring_enqueue(bench_fx.rx, m) != 0)
			return bench_fail(wl->name, "RX ring full while priming");
	}
	memset(res, 0, sizeof(*res));
	for (uint64_t b = 0; b < warmup + bursts && rc == 0; b++) {
		struct rte_mbuf *m[BURST];
		uint64_t t0, t1;
		uint16_t sent;
		unsigned int n;

		t0 = rte_rdtsc();
		sent = bench_step_floor(port);
		t1 = rte_rdtsc();
		if (b >= warmup)
			res->cycles += t1 - t0;
		n = fx_take(bench_fx.tx[0], m, BURST);
		if (sent != BURST || n != BURST)
			rc = bench_fail(wl->name, "the floor step did not forward a full burst");
		for (unsigned int i = 0; i < n; i++) {
			if (m[i]->pkt_len != floor_len ||
			    memcmp(rte_pktmbuf_mtod(m[i], void *), floor_tpl, floor_len) != 0)
				rc = bench_fail(wl->name, "the floor changed a frame");
			floor_load(m[i]);
		}
		if (rte_ring_enqueue_burst(bench_fx.rx, (void **)m, n, NULL) != n)
			rc = bench_fail(wl->name, "RX ring full");
	}
	res->msgs = bursts * BURST;
	res->step_msgs = (warmup + bursts) * BURST;
	bench_free_ring(bench_fx.rx);
	fx_drain(&bench_fx);
	after = bench_counters();
	if (rc == 0 && memcmp(&before, &after, sizeof(before)) != 0)
		rc = bench_fail(wl->name, "the floor touched tern's counters");
	if (rc == 0 && rte_mempool_in_use_count(dp.pool) != baseline)
		rc = bench_fail(wl->name, "mbuf pool not back at its baseline");
	return rc;
}

/* ---- PUBLISH workloads ---- */

static const uint8_t payload[PAYLOAD] = "tern bench: 21.5 C, 48 %RH, ok.";
static uint8_t pub_tpl[128];
static size_t pub_len;

static bool
cksum_ok(struct rte_mbuf *m)
{
	uint8_t f[256];
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(void *)(f + FR_L3);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(void *)(f + FR_L4);
	const void *p;
	uint16_t got;

	/* a copy: rte_pktmbuf_read() points into a single segment instead */
	if (m->pkt_len > sizeof(f) || (p = rte_pktmbuf_read(m, 0, m->pkt_len, f)) == NULL)
		return false;
	if (p != f)
		memcpy(f, p, m->pkt_len);
	got = u->dgram_cksum;
	u->dgram_cksum = 0;
	return rte_raw_cksum(f + FR_L3, 20) == 0xffff && got == rte_ipv4_udptcp_cksum(ip, u);
}

/*
 * A PUBLISH to a subscriber of @p gr: headers, topic id, QoS, payload. Sets
 * *@p idx to the subscriber's index and *@p msg_id.
 */
static bool
chk_publish(struct rte_mbuf *m, const struct group *gr, int qos, unsigned int *idx,
	    uint16_t *msg_id)
{
	uint8_t buf[42 + 7 + PAYLOAD];
	const uint8_t *f, *sn;
	uint16_t dport;

	/* the received frame itself, or a header mbuf chained to the payload */
	if (m->pkt_len != sizeof(buf) ||
	    !(m->nb_segs == 1 || (m->nb_segs == 2 && m->data_len == 42 + 7)))
		return false;
	f = rte_pktmbuf_read(m, 0, sizeof(buf), buf);
	if (f == NULL)
		return false;
	sn = f + 42;
	if (memcmp(f, fr_client_mac, 6) != 0 || memcmp(f + 6, fr_router_mac, 6) != 0 ||
	    memcmp(f + 26, fr_router4, 4) != 0 || memcmp(f + 30, fr_client4, 4) != 0 ||
	    ((f[34] << 8) | f[35]) != MQ_PORT)
		return false;
	dport = (uint16_t)((f[36] << 8) | f[37]);
	if (dport < gr->port0 || dport - gr->port0 >= (int)gr->nb_subs)
		return false;
	*idx = (unsigned int)(dport - gr->port0);
	*msg_id = (uint16_t)((sn[5] << 8) | sn[6]);
	return sn[0] == 7 + PAYLOAD && sn[1] == MQTTSN_PUBLISH &&
	       sn[2] == (MQTTSN_FLAG_QOS(qos) | MQTTSN_TOPIC_NORMAL) &&
	       ((sn[3] << 8) | sn[4]) == gr->sub_id && (qos == 0) == (*msg_id == 0) &&
	       memcmp(sn + 7, payload, PAYLOAD) == 0;
}

/* The subscriber's PUBACK for a QoS 1 PUBLISH it received. */
static int
send_puback(uint16_t sport, uint16_t topic_id, uint16_t msg_id)
{
	struct mqttsn_msg a = { .type = MQTTSN_PUBACK, .topic_id = topic_id, .msg_id = msg_id,
				.return_code = MQTTSN_RC_ACCEPTED };

	return bench_mq_send(sport, &a);
}

static int
run_pub(const struct workload *wl, uint64_t messages, struct result *res)
{
	static struct rte_mbuf *out[RING_SIZE];
	static struct rte_mbuf *in[BURST];
	static uint32_t seen[1000];
	static uint16_t ack_port[BURST], ack_id[BURST];
	const struct group *gr = &groups[wl->group];
	struct dp_worker *w = dp.worker[0];
	uint64_t pubs = RTE_MAX(messages / gr->nb_subs, 10ull * wl->per_step);
	uint64_t steps = (pubs + wl->per_step - 1) / wl->per_step, warmup = steps / 10 + 1;
	uint64_t baseline = rte_mempool_in_use_count(dp.pool);
	unsigned int expect = wl->per_step * gr->nb_subs + (wl->qos ? wl->per_step : 0);
	struct mqttsn_msg p = { .type = MQTTSN_PUBLISH, .topic_id = gr->pub_id,
				.flags = MQTTSN_FLAG_QOS(wl->qos) | MQTTSN_TOPIC_NORMAL,
				.msg_id = wl->qos ? 1 : 0 };
	struct dp_counters before = bench_counters(), after;
	uint8_t enc[128];
	int len, rc = 0;

	p.data.p = payload;
	p.data.len = PAYLOAD;
	len = mqttsn_encode(enc, sizeof(enc), &p);
	if (len < 0)
		return bench_fail(wl->name, "cannot encode the PUBLISH");
	pub_len = fr_udp4_data(pub_tpl, PUB_PORT, MQ_PORT, enc, (size_t)len);
	memset(res, 0, sizeof(*res));

	for (uint64_t s = 0; s < warmup + steps && rc == 0; s++) {
		uint64_t t0, t1, cyc;
		unsigned int n, nack = 0, in_place = 0;

		/* the generator: a burst of identical PUBLISH frames (untimed) */
		for (unsigned int i = 0; i < wl->per_step; i++) {
			struct rte_mbuf *m = fx_frame(pub_tpl, pub_len);

			in[i] = m;
			if (m == NULL || rte_ring_enqueue(bench_fx.rx, m) != 0) {
				rte_pktmbuf_free(m);
				rc = bench_fail(wl->name, "mbuf pool dry or RX ring full");
				break;
			}
		}
		t0 = rte_rdtsc();
		bench_step_tern(w);
		t1 = rte_rdtsc();
		cyc = t1 - t0;

		/* everything that came out: checked, freed (untimed) */
		n = fx_take(bench_fx.tx[0], out, RING_SIZE);
		if (n != expect)
			rc = bench_fail(wl->name, "a step's output is not one PUBLISH per subscriber and message");
		memset(seen, 0, sizeof(seen));
		for (unsigned int i = 0; i < n; i++) {
			const uint8_t *f = rte_pktmbuf_mtod(out[i], const uint8_t *);
			unsigned int idx;
			uint16_t msg_id;

			if (wl->qos && ((f[36] << 8) | f[37]) == PUB_PORT) {
				struct mqttsn_msg a;
				uint16_t dport;

				if (bench_mq_reply(out[i], &dport, &a) < 0 || a.type != MQTTSN_PUBACK ||
				    a.return_code != MQTTSN_RC_ACCEPTED || a.msg_id != 1 ||
				    a.topic_id != gr->pub_id)
					rc = bench_fail(wl->name, "bad PUBACK to the publisher");
			} else if (!chk_publish(out[i], gr, wl->qos, &idx, &msg_id)) {
				rc = bench_fail(wl->name, "bad PUBLISH to a subscriber");
			} else {
				seen[idx]++;
				for (unsigned int k = 0; k < wl->per_step; k++)
					in_place += out[i] == in[k];
				if (wl->qos && nack < BURST) {
					ack_port[nack] = (uint16_t)(gr->port0 + idx);
					ack_id[nack++] = msg_id;
				}
				if (!cksum_ok(out[i]))
					rc = bench_fail(wl->name, "bad IPv4 or UDP checksum");
			}
			rte_pktmbuf_free(out[i]);
		}
		for (unsigned int i = 0; i < gr->nb_subs && rc == 0; i++)
			if (seen[i] != wl->per_step)
				rc = bench_fail(wl->name, "a subscriber missed a PUBLISH or got two");
		/* each message's last subscriber gets the received frame itself */
		if (rc == 0 && in_place != wl->per_step)
			rc = bench_fail(wl->name, "not one PUBLISH per message sent in the received frame");
		if (wl->qos && rc == 0) {
			/* the subscriber acknowledges: built untimed, taken in by a timed poll */
			for (unsigned int i = 0; i < nack; i++)
				if (send_puback(ack_port[i], gr->sub_id, ack_id[i]) < 0)
					rc = bench_fail(wl->name, "cannot queue the subscriber's PUBACK");
			t0 = rte_rdtsc();
			bench_step_tern(w);
			t1 = rte_rdtsc();
			cyc += t1 - t0;
			if (rte_ring_count(bench_fx.tx[0]) != 0 || rte_ring_count(bench_fx.rx) != 0)
				rc = bench_fail(wl->name, "the PUBACKs were not all taken, or answered");
		}
		rcu_quiescent_state();
		if (s >= warmup)
			res->cycles += cyc;
	}
	res->msgs = (steps) * wl->per_step;
	res->step_msgs = (warmup + steps) * wl->per_step;
	res->deliveries = res->msgs * gr->nb_subs;
	res->step_deliveries = res->step_msgs * gr->nb_subs;

	/* the node's own account must agree with what came out */
	after = bench_counters();
	if (rc == 0) {
		const unsigned int zero[] = {
			DP_CNT_TX_REFUSED, DP_CNT_REPLY_FAILED, DP_CNT_EXC_TX, DP_CNT_EXC_NONE,
			DP_CNT_MQTTSN_DELIVER_FAILED, DP_CNT_MQTTSN_CONGESTION,
			DP_CNT_MQTTSN_INVALID_TOPIC, DP_CNT_MQTTSN_NOT_SUPPORTED,
			DP_CNT_MQTTSN_UNEXPECTED, DP_CNT_MQTTSN_NO_SESSION,
			DP_CNT_MQTTSN_OPS_FAILED, DP_CNT_MQTTSN_FORWARDED,
			DP_CNT_MQTTSN_RETRANSMIT, DP_CNT_MQTTSN_TOO_BIG, DP_CNT_MQTTSN_LOST,
		};
		uint64_t acks = wl->qos ? res->step_msgs : 0;

		if (bench_delta(&before, &after, DP_CNT_MQTTSN_RX_PUBLISH) != res->step_msgs ||
		    bench_delta(&before, &after, DP_CNT_MQTTSN_PUBLISHED) != res->step_msgs)
			rc = bench_fail(wl->name, "mqttsn_rx_publish or mqttsn_published disagree");
		else if (bench_delta(&before, &after, DP_CNT_MQTTSN_DELIVERED) != res->step_deliveries ||
			 bench_delta(&before, &after, DP_CNT_MQTTSN_TX_PUBLISH) != res->step_deliveries)
			rc = bench_fail(wl->name, "mqttsn_delivered or mqttsn_tx_publish disagree");
		else if (bench_delta(&before, &after, DP_CNT_TX_PACKETS) != res->step_deliveries + acks ||
			 bench_delta(&before, &after, DP_CNT_RX_PACKETS) !=
				 res->step_msgs + (wl->qos ? res->step_deliveries : 0))
			rc = bench_fail(wl->name, "rx_packets or tx_packets disagree");
		else if (bench_delta(&before, &after, DP_CNT_MQTTSN_TX_PUBACK) != acks ||
			 bench_delta(&before, &after, DP_CNT_MQTTSN_RX_PUBACK) !=
				 (wl->qos ? res->step_deliveries : 0))
			rc = bench_fail(wl->name, "mqttsn_tx_puback or mqttsn_rx_puback disagree");
		for (unsigned int i = 0; rc == 0 && i < RTE_DIM(zero); i++)
			if (bench_delta(&before, &after, zero[i]) != 0)
				rc = bench_fail(wl->name, "a refusal or failure counter moved");
	}
	bench_free_ring(bench_fx.rx);
	fx_drain(&bench_fx);
	if (rc == 0 && rte_mempool_in_use_count(dp.pool) != baseline)
		rc = bench_fail(wl->name, "mbuf pool not back at its baseline");
	return rc;
}

/* ---- one SUBSCRIBE with a wildcard, applied by the control plane ---- */

static int
run_subwild(const struct workload *wl, struct result *res)
{
	unsigned int k0 = wl->topics >= 1000000 ? WILD_REPS : 0;
	struct topic_table_stats st0, st1;
	struct dp_counters before = bench_counters(), after;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->cycles_min = UINT64_MAX;
	topic_table_stats(dp_topic_table(), &st0);
	for (unsigned int k = k0; k < k0 + WILD_REPS && rc == 0; k++) {
		char filter[16];
		struct mqttsn_msg s = { .type = MQTTSN_SUBSCRIBE,
					.flags = MQTTSN_FLAG_QOS(1) | MQTTSN_TOPIC_NORMAL,
					.msg_id = (uint16_t)(k + 1) };
		uint16_t id = 0xffff;
		uint64_t t0, t1;

		snprintf(filter, sizeof(filter), "w%u/+", k);
		s.topic_name.p = (const uint8_t *)filter;
		s.topic_name.len = strlen(filter);
		if (bench_mq_send((uint16_t)(WILD_PORT + k), &s) < 0)
			return bench_fail(wl->name, "cannot queue the SUBSCRIBE");
		/* the worker hands the request over (untimed) */
		dp_worker_poll(dp.worker[0]);
		rcu_quiescent_state();
		if (rte_ring_count(mq->ops) != 1)
			return bench_fail(wl->name, "the worker did not queue one request");
		t0 = rte_rdtsc();
		bench_step_ctl();
		t1 = rte_rdtsc();
		rcu_quiescent_state();
		res->cycles += t1 - t0;
		res->cycles_min = RTE_MIN(res->cycles_min, t1 - t0);
		res->cycles_max = RTE_MAX(res->cycles_max, t1 - t0);
		/* the worker answers (untimed): SUBACK, no topic id for a filter */
		if (bench_mq_settle(1, MQTTSN_SUBACK, (uint16_t)(WILD_PORT + k), &id, 1) < 0 || id != 0)
			rc = bench_fail(wl->name, "no SUBACK, or a refused one");
		for (unsigned int j = 0; j < WILD_MATCH && rc == 0; j++) {
			char name[16];
			int len = snprintf(name, sizeof(name), "w%u/%u", k, j);
			const struct topic *node = topic_lookup(dp_topic_table(), name, (size_t)len);

			if (node == NULL || topic_dset(node)->nb_refs != 1)
				rc = bench_fail(wl->name, "a matching topic's delivery set misses the subscriber");
		}
	}
	topic_table_stats(dp_topic_table(), &st1);
	after = bench_counters();
	if (rc == 0 && (st1.wild_filters != st0.wild_filters + WILD_REPS ||
			st1.wild_subs != st0.wild_subs + WILD_REPS))
		rc = bench_fail(wl->name, "the table does not count the new wildcard subscriptions");
	if (rc == 0 && bench_delta(&before, &after, DP_CNT_MQTTSN_TX_SUBACK) != WILD_REPS)
		rc = bench_fail(wl->name, "mqttsn_tx_suback disagrees");
	res->msgs = res->step_msgs = WILD_REPS;
	return rc;
}

/* ---- main ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tern-bench-mqttsn [--messages N] [--workload W|all] [--quick] [--json]\n"
		"  --messages N   per workload: PUBLISH out to subscribers (deliveries; the\n"
		"                 floor: packets), at least 10 steps (k/M suffixes; default 2M)\n"
		"  --workload W   one workload, or all (default):");
	for (unsigned int i = 0; i < NB_WORKLOADS; i++)
		fprintf(f, "%s%s", i % 4 == 0 ? "\n                   " : " ", workloads[i].name);
	fprintf(f,
		"\n  --quick        skip the 1M-topic workloads\n"
		"  --json         one JSON object per workload on stdout\n"
		"Exits 1 if any workload's output or accounting is wrong.\n");
}

static bool
selected(const struct workload *wl, const char *which, bool quick)
{
	if (quick && wl->topics >= 1000000)
		return false;
	return strcmp(which, "all") == 0 || strcmp(which, wl->name) == 0;
}

static double
now_s(void)
{
	return (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, 'm' },
		{ "workload", required_argument, NULL, 'w' },
		{ "quick", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct fx_opts fo = {
		.pool_size = POOL_SIZE,
		.priv_size = RTE_ALIGN(sizeof(struct mq_pubmeta), RTE_MBUF_PRIV_ALIGN),
		.ring_size = RING_SIZE,
	};
	const struct dp_mqttsn_params mp = {
		.enabled = true,
		.port = MQ_PORT,
		.max_clients = 2048,
		.max_topics = 1001000,
		.max_subscriptions = 65536,
		.max_registered_ids = 64,
		.max_subscriptions_per_client = 32,
		.max_inflight = 64,           /* a burst of 32 QoS 1 deliveries in flight */
		.max_sleep_buffer = 16,
		.max_message_size = 1024,
		.retry_ms = 10000,
		.retries = 3,
		.keepalive_tolerance_pct = 150,
		.qos_minus_one = true,
	};
	uint64_t messages = 2000000, baseline;
	const char *which = "all";
	bool json = false, quick = false, any = false;
	uint32_t sizes[2] = { 1000, 1000000 };
	char err[256];
	int c, rc = 0;
	double hz, timer, t_end;
	clock_t c_end, c0;

	while ((c = getopt_long(argc, argv, "m:w:qjh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (bench_parse_count(optarg, &messages) < 0) {
				fprintf(stderr, "tern-bench-mqttsn: bad --messages '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			which = optarg;
			break;
		case 'q':
			quick = true;
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
		any |= selected(&workloads[i], which, quick);
	if (!any) {
		fprintf(stderr, "tern-bench-mqttsn: no workload '%s'%s\n", which,
			quick ? " (--quick skips the 1M-topic ones)" : "");
		return 2;
	}

	if (fx_eal_init_mem("tern-bench-mqttsn", 512) < 0 || fx_setup_opts(&bench_fx, 1, &fo) < 0) {
		fprintf(stderr, "tern-bench-mqttsn: data plane fixture on net_ring ports failed\n");
		return 1;
	}
	baseline = rte_mempool_in_use_count(dp.pool);
	/* as dp_setup() does; registers this thread with RCU */
	if (mqttsn_setup(&mp, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern-bench-mqttsn: %s\n", err);
		return 1;
	}
	dp.mqttsn = true;
	dp.mqttsn_port = MQ_PORT;
	hz = (double)rte_get_tsc_hz();
	timer = bench_timer_overhead();
	if (setup_protocol() < 0)
		rc = 1;

	for (unsigned int z = 0; z < 2 && rc == 0; z++) {
		bool need = false;
		double t0;

		for (unsigned int i = 0; i < NB_WORKLOADS; i++)
			need |= workloads[i].topics == sizes[z] &&
				selected(&workloads[i], which, quick);
		if (!need && !(z == 0 && selected(&workloads[0], which, quick)))
			continue;
		t0 = now_s();
		c0 = clock();
		if (bench_populate(sizes[z]) < 0) {
			rc = bench_fail("set-up", "cannot create the filler topics");
			break;
		}
		fprintf(stderr, "tern-bench-mqttsn: topic table at %u topics (filler created in "
			"%.2f s, %.2f s CPU)\n", sizes[z], now_s() - t0,
			(double)(clock() - c0) / CLOCKS_PER_SEC);
		for (unsigned int i = 0; i < NB_WORKLOADS; i++) {
			const struct workload *wl = &workloads[i];
			struct result r;
			double cpm, cpd, ns;
			int wrc;

			if (!selected(wl, which, quick) ||
			    (wl->topics != sizes[z] && !(wl->topics == 0 && z == 0)))
				continue;
			if (wl->kind == WL_FLOOR)
				wrc = run_floor(wl, messages, &r);
			else if (wl->kind == WL_PUB)
				wrc = run_pub(wl, messages, &r);
			else
				wrc = run_subwild(wl, &r);
			if (wrc < 0) {
				rc = 1;
				continue;
			}
			cpm = (double)r.cycles / (double)r.msgs;
			cpd = r.deliveries ? (double)r.cycles / (double)r.deliveries : 0;
			ns = cpm / hz * 1e9;
			if (json)
				printf("{\"workload\": \"%s\", \"topics\": %u, \"messages\": %" PRIu64
				       ", \"step_messages\": %" PRIu64 ", \"deliveries\": %" PRIu64
				       ", \"step_deliveries\": %" PRIu64 ", \"cycles\": %" PRIu64
				       ", \"cycles_per_message\": %.2f, \"cycles_per_delivery\": %.2f"
				       ", \"ns_per_message\": %.2f, \"mmsgs\": %.4f, \"mdeliveries\": %.4f"
				       ", \"cycles_min\": %" PRIu64 ", \"cycles_max\": %" PRIu64
				       ", \"tsc_hz\": %.0f, \"timer_cycles_per_step\": %.1f}\n",
				       wl->name, wl->topics ? sizes[z] : 0, r.msgs, r.step_msgs,
				       r.deliveries, r.step_deliveries, r.cycles, cpm, cpd, ns,
				       1e3 / ns, cpd > 0 ? hz / cpd / 1e6 : 0.0,
				       wl->kind == WL_SUBWILD ? r.cycles_min : 0,
				       wl->kind == WL_SUBWILD ? r.cycles_max : 0, hz, timer);
			else if (wl->kind == WL_SUBWILD)
				printf("%-16s %8" PRIu64 " SUBSCRIBEs  %12.0f cycles each (min %" PRIu64
				       ", max %" PRIu64 ")  %9.1f us\n", wl->name, r.msgs, cpm,
				       r.cycles_min, r.cycles_max, ns / 1e3);
			else
				printf("%-16s %10" PRIu64 " messages  %9.1f cycles/message  %8.1f "
				       "cycles/delivery  %8.3f M messages/s  %8.3f M deliveries/s\n",
				       wl->name, r.msgs, cpm, cpd, 1e3 / ns,
				       cpd > 0 ? hz / cpd / 1e6 : 1e3 / ns);
			fflush(stdout);
		}
	}

	dp_worker_drain(dp.worker[0]);
	fx_drain(&bench_fx);
	bench_free_ring(bench_fx.rx);
	t_end = now_s();
	c_end = clock();
	mqttsn_teardown();
	fprintf(stderr, "tern-bench-mqttsn: mqttsn_teardown() took %.2f s (%.2f s CPU)\n",
		now_s() - t_end, (double)(clock() - c_end) / CLOCKS_PER_SEC);
	dp.mqttsn = false;
	if (rte_mempool_in_use_count(dp.pool) != baseline) {
		bench_fail("teardown", "mbuf pool not back at its baseline after mqttsn_teardown()");
		rc = 1;
	}
	fx_eal_cleanup();
	return rc;
}
