/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's fast path on real DPDK ring ports: replies go out the port,
 * host-stack traffic goes to the exception interface and back, malformed
 * frames are counted and freed, UDP flows are steered to their owning worker,
 * and the mbuf pool returns to its baseline.
 */

#include <arpa/inet.h>

#include "tests/unit/dataplane/frames.h"
#include "tests/unit/dataplane/ring_fixture.h"
#include "tests/unit/tap.h"

static struct ring_fixture fx;

/* Reference checksum: 0 over a region whose checksum is right. */
static uint16_t
csum(const uint8_t *b, size_t n)
{
	return (uint16_t)~rte_raw_cksum(b, n);
}

static void
inject(const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = fx_frame(f, len);

	if (m == NULL || rte_ring_enqueue(fx.rx, m) != 0)
		ok(0, "inject a frame");
}

static void
run_workers(void)
{
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_poll(dp.worker[i]);
	/* steered datagrams are handled on the owner's next iteration */
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_poll(dp.worker[i]);
}

static uint64_t
total(unsigned int cnt)
{
	struct dp_counters c;
	uint64_t sum = 0;

	for (unsigned int w = 0; w < dp.nb_workers; w++) {
		dp_counters_get(0, w, &c);
		sum += c.v[cnt];
	}
	return sum;
}

static unsigned int
ring_count_all(struct rte_ring **r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < fx.nb_workers; i++)
		n += rte_ring_count(r[i]);
	return n;
}

static void
test_replies(void)
{
	uint8_t f[256];
	struct rte_mbuf *out[4];
	size_t len;
	const uint8_t *r;

	len = fr_arp_request(f);
	inject(f, len);
	run_workers();
	is_int(fx_take(fx.tx[0], out, 4), 1, "ARP request answered on worker 0's TX queue");
	r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	is_mem(r, fr_client_mac, 6, "ARP reply goes to the requester's MAC");
	is_mem(r + 6, fr_router_mac, 6, "ARP reply comes from the port's MAC");
	is_int(r[21], 2, "ARP opcode is reply");
	is_mem(r + 22, fr_router_mac, 6, "ARP sender hardware address is the port's MAC");
	is_mem(r + 28, fr_router4, 4, "ARP sender protocol address is the port's address");
	rte_pktmbuf_free(out[0]);
	is_int(total(DP_CNT_NET_ARP_REQUEST), 1, "arp_request counted");

	len = fr_icmp4_echo(f, 8);
	inject(f, len);
	run_workers();
	is_int(fx_take(fx.tx[0], out, 4), 1, "ICMP echo answered");
	r = rte_pktmbuf_mtod(out[0], const uint8_t *);
	is_int(r[34], 0, "ICMP type is echo reply");
	is_mem(r + 26, fr_router4, 4, "reply's source is the router");
	is_mem(r + 30, fr_client4, 4, "reply's destination is the client");
	is_int(csum(r + 14, 20), 0, "reply's IPv4 header checksum is valid");
	is_int(csum(r + 34, 16), 0, "reply's ICMP checksum is valid");
	is_int(out[0]->pkt_len, len, "reply is as long as the request");
	rte_pktmbuf_free(out[0]);
	is_int(total(DP_CNT_TX_PACKETS), 2, "tx_packets counted both replies");
}

static void
test_punt_and_exception(void)
{
	uint8_t f[256];
	struct rte_mbuf *out[8];
	size_t len;
	unsigned int n;

	/* UDP to a port no node serves, and TCP: both for the host stack */
	len = fr_udp4(f, 40000, 5999, 10);
	inject(f, len);
	len = fr_icmp4_echo(f, 8);
	f[23] = 6; /* now "TCP" */
	fr_ip4_fix_cksum(f);
	inject(f, len);
	run_workers();
	n = ring_count_all(fx.exc_tx);
	is_int(n, 2, "UDP to an unserved port and TCP went to the exception interface");
	is_int(total(DP_CNT_UDP_UNHANDLED), 1, "udp_unhandled counted");
	is_int(total(DP_CNT_EXC_TX), 2, "exc_tx counted");
	fx_drain(&fx);

	/* what the host stack sends goes out the port */
	len = fr_udp4(f, 5999, 40000, 10);
	{
		struct rte_mbuf *m = fx_frame(f, len);

		ok(m && rte_ring_enqueue(fx.exc_rx, m) == 0, "host stack frame queued");
	}
	run_workers();
	is_int(fx_take(fx.tx[0], out, 8), 1, "frame from the exception interface sent out the port");
	rte_pktmbuf_free(out[0]);
	is_int(total(DP_CNT_EXC_RX), 1, "exc_rx counted");
}

static void
test_drops(void)
{
	uint8_t f[256];
	size_t len;
	uint64_t before = rte_mempool_in_use_count(dp.pool);

	memset(f, 0, sizeof(f));
	inject(f, 10);                       /* runt */
	len = fr_udp4(f, 40000, 5683, 10);
	f[24] ^= 0xff;                       /* IPv4 header checksum */
	inject(f, len);
	len = fr_udp4(f, 40000, 5683, 10);
	f[20] = 0x20;                        /* more fragments */
	fr_ip4_fix_cksum(f);
	inject(f, len);
	run_workers();
	is_int(total(DP_CNT_NET_DROP_RUNT), 1, "runt frame counted");
	is_int(total(DP_CNT_NET_DROP_IP4_BAD_CKSUM), 1, "bad IPv4 checksum counted");
	is_int(total(DP_CNT_NET_DROP_IP4_FRAG), 1, "fragment counted");
	is_int(ring_count_all(fx.tx) + ring_count_all(fx.exc_tx), 0, "dropped frames sent nowhere");
	is_int(rte_mempool_in_use_count(dp.pool), before, "dropped frames were freed");
}

static void
test_steering(void)
{
	uint8_t f[256];
	const unsigned int flows = 64;
	size_t len;
	uint64_t unhandled = total(DP_CNT_UDP_UNHANDLED);
	uint64_t steered = total(DP_CNT_STEER_OUT), arrived = total(DP_CNT_STEER_IN);

	for (unsigned int i = 0; i < flows; i++) {
		len = fr_udp4(f, (uint16_t)(20000 + i), 5999, 4);
		inject(f, len);
	}
	run_workers();
	is_int(total(DP_CNT_UDP_UNHANDLED) - unhandled, flows, "every datagram handled once");
	steered = total(DP_CNT_STEER_OUT) - steered;
	arrived = total(DP_CNT_STEER_IN) - arrived;
	ok(steered > 0 && steered < flows,
	   "flows spread over both workers (%" PRIu64 " of %u steered)", steered, flows);
	is_int(arrived, steered, "every steered datagram arrived");
	is_int(rte_ring_count(fx.exc_tx[1]), steered,
	       "the owner sent its flows on its own exception TX queue");
	fx_drain(&fx);

	/* the same flow, again: it stays with its owner */
	uint64_t out_before = total(DP_CNT_STEER_OUT);
	unsigned int again = 0;

	for (unsigned int i = 0; i < 8; i++) {
		len = fr_udp4(f, 20000, 5999, 4);
		inject(f, len);
	}
	run_workers();
	again = (unsigned int)(total(DP_CNT_STEER_OUT) - out_before);
	ok(again == 0 || again == 8, "one flow goes to one worker (%u of 8 steered)", again);
	fx_drain(&fx);
}

/* docs/dataplane.md lists every counter the code has, and no other. */
static void
test_counters_documented(void)
{
	const char *root = getenv("TERN_SOURCE_ROOT");
	char path[PATH_MAX], line[512], want[128];
	unsigned int found = 0, rows = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/dataplane.md", root ? root : ".");
	f = fopen(path, "r");
	if (!ok(f != NULL, "docs/dataplane.md readable (TERN_SOURCE_ROOT)"))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "| `", 3) != 0)
			continue;
		rows++;
		for (unsigned int i = 0; i < DP_CNT_MAX; i++) {
			snprintf(want, sizeof(want), "| `%s` | %s |", dp_cnt_name(i), dp_cnt_desc(i));
			if (strncmp(line, want, strlen(want)) == 0)
				found++;
		}
	}
	fclose(f);
	is_int(found, DP_CNT_MAX, "every counter is in docs/dataplane.md with its description");
	is_int(rows, DP_CNT_MAX, "docs/dataplane.md lists no counter the code lacks");
}

int
main(void)
{
	if (fx_eal_init("test_pkt") < 0 || fx_setup(&fx, 2, 8191) < 0) {
		printf("not ok 1 - data plane fixture on net_ring ports\n");
		return 1;
	}
	uint64_t baseline = rte_mempool_in_use_count(dp.pool);

	test_replies();
	test_punt_and_exception();
	test_drops();
	test_steering();
	test_counters_documented();
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_drain(dp.worker[i]);
	fx_drain(&fx);
	is_int(rte_mempool_in_use_count(dp.pool), baseline, "mbuf pool back at its baseline");
	fx_eal_cleanup();
	return done_testing();
}
