/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench-coap: the CoAP node's routing rate per worker, against the
 * same DPDK I/O-forwarding floor as tern-bench-l3 and tern-bench-mqttsn, in
 * one run, on the ring fixture's net_ring ports (docs/benchmarks.md).
 *
 * The main thread is the worker (dp_worker_poll() on worker 0) and the
 * control plane (mqttsn_control_poll(), the topic table's writer); it
 * reports an RCU quiescent state after every iteration, as
 * dp_worker_main() does. The topic table is mqttsn_setup()'s, the CoAP
 * node coap_setup()'s (dp.coap = true on port 5683, as dp_setup() does).
 *
 * Set-up goes through the protocol: the publisher (UDP port 40000) creates
 * "bench/1" and "bench/100" with a NON PUT (answered 2.04 once the control
 * plane made the topic); each observer GETs with Observe: 0 from its own
 * UDP port (one for bench/1, a hundred for bench/100) and must get a NON
 * 2.05 with an Observe number and the value; an MQTT-SN client CONNECTs
 * and SUBSCRIBEs to "bench/mq" (which creates it). Filler topics bring the
 * table to 1k (topic_create(), nobody subscribes to them).
 *
 * Steps (separate non-inlined functions; scripts/bench counts their
 * instructions with callgrind --toggle-collect):
 *   bench_step_floor()  rte_eth_rx_burst(32) + rte_eth_tx_burst() on p0, as in
 *                       tern-bench-l3.
 *   bench_step_tern()   dp_worker_poll(), twice per step, both timed: the
 *                       first takes 32 NON PUT (32-byte payload) in, routes
 *                       them (one notification per observer, or one
 *                       MQTT-SN PUBLISH) and hands 32 RETAIN ops (the
 *                       topic's new value) to the control plane; the second
 *                       takes the 32 applied ops back and sends the 32 NON
 *                       2.04 to the publisher. Together: the worker's whole
 *                       cost of a publication.
 *   bench_step_ctl()    mqttsn_control_poll() between the two, applying the
 *                       32 RETAIN ops: timed and counted apart (the control
 *                       plane runs on its own thread), not in the figure.
 *
 * The generator (untimed) takes every output frame off the TX ring and
 * checks it: each 2.04 (NON, token, to the publisher), each notification
 * (coap_decode: NON or CON, 2.05, the observer's token, an Observe number
 * one above the observer's last, the payload), each MQTT-SN PUBLISH (topic
 * id, QoS 0, payload), the IPv4 and UDP checksums of the first frame of
 * each poll; it ACKs the CON notifications (an untimed poll takes the
 * ACKs, 32 per poll: every 20th notification of an observer is CON, coap.notify_con_every).
 * Any failure, counters that disagree with what came out, or an mbuf pool
 * not back at its baseline after a workload and after teardown exits 1.
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

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "dataplane/topic_table.h"
#include "proto/coap.h"
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
#define CP_PORT 5683
#define PUB_PORT 40000
#define MQSUB_PORT 10000
#define PAYLOAD 32
#define NB_GROUPS 3
#define TOPICS 1000

static const uint8_t payload[PAYLOAD] = "tern bench: 21.5 C, 48 %RH, ok.";
static const uint8_t pub_token[2] = { 0xbe, 0x9c };

/* ---- topic groups ---- */

struct group {
	const char *topic;
	unsigned int nb_obs;          /* CoAP observers; 0: the MQTT-SN subscriber */
	uint16_t port0;               /* observers' UDP ports: port0 .. port0 + nb_obs - 1 */
	uint16_t sub_id;              /* the MQTT-SN subscriber's topic id */
};

static struct group groups[NB_GROUPS] = {
	{ "bench/1", 1, 21000, 0 },
	{ "bench/100", 100, 22000, 0 },
	{ "bench/mq", 0, MQSUB_PORT, 0 },
};

/* Observe number of each observer's last message (registration or notification). */
static uint32_t obs_seq[NB_GROUPS][100];

/* ---- workloads ---- */

enum wl_kind { WL_FLOOR, WL_PUT };

struct workload {
	const char *name;
	enum wl_kind kind;
	unsigned int group;
};

static const struct workload workloads[] = {
	{ "floor",           WL_FLOOR, 0 },
	{ "coap-non-obs1",   WL_PUT,   0 },
	{ "coap-non-obs100", WL_PUT,   1 },
	{ "coap-to-mqttsn",  WL_PUT,   2 },
};

#define NB_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))


/* ---- the floor (as tern-bench-l3's) ---- */

struct result {
	uint64_t msgs;                /* timed messages (PUBLISH in; floor: packets) */
	uint64_t step_msgs;           /* every message through the step, warm-up included */
	uint64_t deliveries;          /* timed PUBLISH out to subscribers */
	uint64_t step_deliveries;
	uint64_t cycles;
	uint64_t ctl_cycles;          /* the control plane applying the RETAIN ops */
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

/* ---- CoAP ---- */

/* A CoAP request (Uri-Path ps/<topic>) from @p sport, into @p frame; its length or -1. */
static int
coap_frame(uint8_t *frame, uint16_t sport, uint8_t code, uint16_t mid, const uint8_t *token,
	   uint8_t tkl, const char *topic, int observe, const uint8_t *data, size_t dlen)
{
	uint8_t buf[256];
	char path[64];
	struct coap_writer w;
	int len;

	coap_w_init(&w, buf, sizeof(buf), COAP_NON, code, mid, token, tkl);
	if (observe >= 0)
		coap_w_opt_uint(&w, COAP_OPT_OBSERVE, (uint32_t)observe);
	coap_w_opt_str(&w, COAP_OPT_URI_PATH, "ps");
	snprintf(path, sizeof(path), "%s", topic);
	for (char *seg = strtok(path, "/"); seg != NULL; seg = strtok(NULL, "/"))
		coap_w_opt_str(&w, COAP_OPT_URI_PATH, seg);
	if (dlen > 0)
		coap_w_payload(&w, data, dlen);
	len = coap_w_finish(&w);
	if (len < 0)
		return -1;
	return (int)fr_udp4_data(frame, sport, CP_PORT, buf, (size_t)len);
}

static int
coap_send(uint16_t sport, uint8_t code, uint16_t mid, const uint8_t *token, uint8_t tkl,
	  const char *topic, int observe, const uint8_t *data, size_t dlen)
{
	uint8_t frame[400];
	int len = coap_frame(frame, sport, code, mid, token, tkl, topic, observe, data, dlen);
	struct rte_mbuf *m;

	if (len < 0)
		return -1;
	m = fx_frame(frame, (size_t)len);
	if (m == NULL || rte_ring_enqueue(bench_fx.rx, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/* An empty ACK from @p sport (a CON notification's). */
static int
coap_ack(uint16_t sport, uint16_t mid)
{
	uint8_t buf[8], frame[128];
	struct coap_writer w;
	struct rte_mbuf *m;
	int len;

	coap_w_init(&w, buf, sizeof(buf), COAP_ACK, COAP_EMPTY, mid, NULL, 0);
	len = coap_w_finish(&w);
	if (len < 0)
		return -1;
	m = fx_frame(frame, fr_udp4_data(frame, sport, CP_PORT, buf, (size_t)len));
	if (m == NULL || rte_ring_enqueue(bench_fx.rx, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/*
 * A CoAP message from the router (one segment or a header chained to the
 * payload), copied into @p buf: its UDP destination port and the decoded
 * message (pointing into @p buf).
 */
static int
coap_out(struct rte_mbuf *m, uint8_t *buf, size_t cap, uint16_t *dport, struct coap_msg *msg)
{
	const uint8_t *f;

	if (m->pkt_len > cap || m->pkt_len < 42 + 4)
		return -1;
	f = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	if (f == NULL)
		return -1;
	if (f != buf)
		memcpy(buf, f, m->pkt_len);
	if (memcmp(buf, fr_client_mac, 6) != 0 || memcmp(buf + 26, fr_router4, 4) != 0 ||
	    memcmp(buf + 30, fr_client4, 4) != 0 || buf[23] != IPPROTO_UDP ||
	    ((buf[34] << 8) | buf[35]) != CP_PORT)
		return -1;
	*dport = (uint16_t)((buf[36] << 8) | buf[37]);
	return coap_decode(buf + 42, m->pkt_len - 42u, msg);
}

static uint32_t
observe_of(const struct coap_msg *msg, bool *found)
{
	const struct coap_opt *o = coap_opt_find(msg, COAP_OPT_OBSERVE);
	uint32_t v = 0;

	*found = o != NULL && coap_opt_uint(o, &v) == 0;
	return v;
}

/* The NON 2.04 to the publisher's NON PUT (2.01 for a topic's first value). */
static bool
chk_changed(const struct coap_msg *msg, uint16_t dport)
{
	return dport == PUB_PORT && msg->type == COAP_NON &&
	       (msg->code == COAP_CHANGED || msg->code == COAP_CREATED) &&
	       msg->tkl == sizeof(pub_token) && memcmp(msg->token, pub_token, msg->tkl) == 0;
}

/*
 * A notification to an observer of @p g: sets *@p idx; the Observe number
 * must be one above the observer's last.
 */
static bool
chk_notification(unsigned int g, const struct coap_msg *msg, uint16_t dport, unsigned int *idx)
{
	const struct group *gr = &groups[g];
	bool found;
	uint32_t seq;

	if (dport < gr->port0 || dport - gr->port0 >= (int)gr->nb_obs)
		return false;
	*idx = (unsigned int)(dport - gr->port0);
	seq = observe_of(msg, &found);
	if (!found || (msg->type != COAP_NON && msg->type != COAP_CON) ||
	    msg->code != COAP_CONTENT || msg->tkl != 2 || msg->token[0] != (dport >> 8) ||
	    msg->token[1] != (dport & 0xff) || msg->payload_len != PAYLOAD ||
	    memcmp(msg->payload, payload, PAYLOAD) != 0 ||
	    seq != ((obs_seq[g][*idx] + 1) & COAP_OBSERVE_MAX))
		return false;
	obs_seq[g][*idx] = seq;
	return true;
}

/* The MQTT-SN PUBLISH (QoS 0) to the subscriber of bench/mq. */
static bool
chk_mq_publish(struct rte_mbuf *m)
{
	uint8_t buf[42 + 7 + PAYLOAD];
	const uint8_t *f, *sn;

	if (m->pkt_len != sizeof(buf))
		return false;
	f = rte_pktmbuf_read(m, 0, sizeof(buf), buf);
	if (f == NULL)
		return false;
	sn = f + 42;
	return memcmp(f, fr_client_mac, 6) == 0 && ((f[34] << 8) | f[35]) == MQ_PORT &&
	       ((f[36] << 8) | f[37]) == MQSUB_PORT && sn[0] == 7 + PAYLOAD &&
	       sn[1] == MQTTSN_PUBLISH && (sn[2] & 0x60) == MQTTSN_FLAG_QOS(0) &&
	       ((sn[3] << 8) | sn[4]) == groups[2].sub_id && sn[5] == 0 && sn[6] == 0 &&
	       memcmp(sn + 7, payload, PAYLOAD) == 0;
}

/* Run the worker and the control plane until @p n CoAP messages came out; check each. */
static int
settle_coap(unsigned int n, unsigned int g, bool observe)
{
	unsigned int got = 0, idle = 0;
	int rc = 0;

	while (got < n && idle < 1000) {
		struct rte_mbuf *m[BURST];
		unsigned int k;

		bench_iterate();
		k = fx_take(bench_fx.tx[0], m, BURST);
		idle = k ? 0 : idle + 1;
		for (unsigned int i = 0; i < k; i++) {
			uint8_t buf[512];
			struct coap_msg msg;
			uint16_t dport;
			bool found;
			uint32_t seq;

			if (coap_out(m[i], buf, sizeof(buf), &dport, &msg) < 0) {
				rc = -1;
			} else if (!observe) {
				if (!chk_changed(&msg, dport))
					rc = -1;
			} else {
				const struct group *gr = &groups[g];
				unsigned int idx = (unsigned int)(dport - gr->port0);

				seq = observe_of(&msg, &found);
				/* the registration's answer: 2.05, Observe, the value */
				if (dport < gr->port0 || idx >= gr->nb_obs || !found ||
				    msg.type != COAP_NON || msg.code != COAP_CONTENT ||
				    msg.tkl != 2 || msg.token[0] != (dport >> 8) ||
				    msg.token[1] != (dport & 0xff) || msg.payload_len != PAYLOAD ||
				    memcmp(msg.payload, payload, PAYLOAD) != 0)
					rc = -1;
				else
					obs_seq[g][idx] = seq;
			}
			rte_pktmbuf_free(m[i]);
		}
		got += k;
	}
	if (got != n || rte_ring_count(bench_fx.exc_tx[0]) != 0)
		return -1;
	return rc;
}

static uint16_t pub_mid = 1;

static int
setup_protocol(void)
{
	uint16_t id = 0;

	/* the CoAP topics: created by a PUT, then observed */
	for (unsigned int g = 0; g < NB_GROUPS; g++) {
		const struct group *gr = &groups[g];

		if (gr->nb_obs == 0)
			continue;
		if (coap_send(PUB_PORT, COAP_PUT, pub_mid++, pub_token, sizeof(pub_token),
			      gr->topic, -1, payload, PAYLOAD) < 0 ||
		    settle_coap(1, g, false) < 0)
			return bench_fail("set-up", "the PUT creating a topic");
		for (unsigned int i = 0; i < gr->nb_obs; i++) {
			uint16_t port = (uint16_t)(gr->port0 + i);
			uint8_t tok[2] = { (uint8_t)(port >> 8), (uint8_t)port };

			if (coap_send(port, COAP_GET, 1, tok, 2, gr->topic, 0, NULL, 0) < 0)
				return bench_fail("set-up", "cannot queue a GET Observe: 0");
		}
		if (settle_coap(gr->nb_obs, g, true) < 0)
			return bench_fail("set-up", "observers' GET Observe: 0");
		if (topic_dset(topic_lookup(dp_topic_table(), gr->topic, strlen(gr->topic)))
			    ->nb_refs != gr->nb_obs)
			return bench_fail("set-up", "the topic's delivery set misses observers");
	}
	/* the MQTT-SN subscriber (its SUBSCRIBE creates bench/mq) */
	if (bench_mq_connect(MQSUB_PORT, 1, "sub") < 0 ||
	    bench_mq_subscribe(MQSUB_PORT, 1, groups[2].topic, &id) < 0 || id == 0)
		return bench_fail("set-up", "the MQTT-SN subscriber's CONNECT or SUBSCRIBE");
	groups[2].sub_id = id;
	return 0;
}

static int
run_put(const struct workload *wl, uint64_t messages, struct result *res)
{
	static struct rte_mbuf *out[RING_SIZE];
	static uint32_t seen[100];
	static uint16_t ack_port[RING_SIZE], ack_mid[RING_SIZE];
	const struct group *gr = &groups[wl->group];
	unsigned int fan = gr->nb_obs ? gr->nb_obs : 1;
	struct dp_worker *w = dp.worker[0];
	uint64_t pubs = RTE_MAX(messages / fan, 10ull * BURST);
	uint64_t steps = (pubs + BURST - 1) / BURST, warmup = steps / 10 + 1;
	uint64_t baseline = rte_mempool_in_use_count(dp.pool), cons = 0;
	struct dp_counters before = bench_counters(), after;
	uint8_t tpl[BURST][256];
	int rc = 0;

	memset(res, 0, sizeof(*res));
	for (uint64_t s = 0; s < warmup + steps && rc == 0; s++) {
		uint64_t t0, t1, cyc, ctl;
		unsigned int n1, n, nack = 0, nchanged = 0;

		/* the generator: 32 NON PUT, message ids counting up (untimed) */
		for (unsigned int i = 0; i < BURST && rc == 0; i++) {
			int len = coap_frame(tpl[i], PUB_PORT, COAP_PUT, pub_mid++, pub_token,
					     sizeof(pub_token), gr->topic, -1, payload, PAYLOAD);
			struct rte_mbuf *m = len < 0 ? NULL : fx_frame(tpl[i], (size_t)len);

			if (m == NULL || rte_ring_enqueue(bench_fx.rx, m) != 0) {
				rte_pktmbuf_free(m);
				rc = bench_fail(wl->name, "cannot build a PUT, mbuf pool dry or RX ring full");
			}
		}
		t0 = rte_rdtsc();
		bench_step_tern(w);
		t1 = rte_rdtsc();
		cyc = t1 - t0;
		n1 = rte_ring_count(bench_fx.tx[0]);
		/* the control plane applies the 32 RETAIN ops (counted apart) */
		t0 = rte_rdtsc();
		bench_step_ctl();
		t1 = rte_rdtsc();
		ctl = t1 - t0;
		if (rte_ring_count(mq->ops) != 0)
			rc = bench_fail(wl->name, "the control plane left ops queued");
		rcu_quiescent_state();
		/* the worker answers the publisher */
		t0 = rte_rdtsc();
		bench_step_tern(w);
		t1 = rte_rdtsc();
		cyc += t1 - t0;
		rcu_quiescent_state();

		/* everything that came out: checked, freed (untimed) */
		n = fx_take(bench_fx.tx[0], out, RING_SIZE);
		if (n != BURST * (fan + 1) || n1 != BURST * fan)
			rc = bench_fail(wl->name, "a step's output is not one delivery per observer "
				  "and PUT, then one 2.04 per PUT");
		memset(seen, 0, sizeof(seen));
		for (unsigned int i = 0; i < n && rc == 0; i++) {
			uint8_t buf[512];
			struct coap_msg msg;
			uint16_t dport;
			unsigned int idx = 0;

			if ((i == 0 || i == n1) && !cksum_ok(out[i]))
				rc = bench_fail(wl->name, "bad IPv4 or UDP checksum");
			else if (gr->nb_obs == 0 && i < n1) {
				if (!chk_mq_publish(out[i]))
					rc = bench_fail(wl->name, "bad MQTT-SN PUBLISH to the subscriber");
			} else if (coap_out(out[i], buf, sizeof(buf), &dport, &msg) < 0) {
				rc = bench_fail(wl->name, "an output frame is not CoAP from port 5683");
			} else if (i >= n1) {
				if (!chk_changed(&msg, dport))
					rc = bench_fail(wl->name, "bad 2.04 to the publisher");
				nchanged++;
			} else if (!chk_notification(wl->group, &msg, dport, &idx)) {
				rc = bench_fail(wl->name, "bad notification");
			} else {
				seen[idx]++;
				if (msg.type == COAP_CON) {
					ack_port[nack] = dport;
					ack_mid[nack++] = msg.mid;
				}
			}
		}
		for (unsigned int i = 0; i < n; i++)
			rte_pktmbuf_free(out[i]);
		for (unsigned int i = 0; i < gr->nb_obs && rc == 0; i++)
			if (seen[i] != BURST)
				rc = bench_fail(wl->name, "an observer missed a notification or got two");
		if (rc == 0 && nack > 0) {
			/* the observers ACK the CON notifications: an untimed poll takes them */
			for (unsigned int i = 0; i < nack; i++)
				if (coap_ack(ack_port[i], ack_mid[i]) < 0)
					rc = bench_fail(wl->name, "cannot queue an ACK");
			for (unsigned int k = 0; k < 64 && rte_ring_count(bench_fx.rx) != 0; k++) {
				dp_worker_poll(w);
				rcu_quiescent_state();
			}
			if (rte_ring_count(bench_fx.tx[0]) != 0 || rte_ring_count(bench_fx.rx) != 0)
				rc = bench_fail(wl->name, "the ACKs were not all taken, or answered");
			cons += nack;
		}
		if (s >= warmup) {
			res->cycles += cyc;
			res->ctl_cycles += ctl;
		}
	}
	res->msgs = steps * BURST;
	res->step_msgs = (warmup + steps) * BURST;
	res->deliveries = res->msgs * fan;
	res->step_deliveries = res->step_msgs * fan;

	/* the node's own account must agree with what came out */
	after = bench_counters();
	if (rc == 0) {
		const unsigned int zero[] = {
			DP_CNT_TX_REFUSED, DP_CNT_REPLY_FAILED, DP_CNT_EXC_TX, DP_CNT_EXC_NONE,
			DP_CNT_COAP_NOTIFY_FAILED, DP_CNT_COAP_OPS_FAILED, DP_CNT_COAP_LIMIT,
			DP_CNT_COAP_TOO_BIG, DP_CNT_MQTTSN_DELIVER_FAILED,
			DP_CNT_MQTTSN_CONGESTION, DP_CNT_MQTTSN_OPS_FAILED,
		};
		uint64_t notif = gr->nb_obs ? res->step_deliveries : 0;

		if (bench_delta(&before, &after, DP_CNT_COAP_PUBLISHED) != res->step_msgs)
			rc = bench_fail(wl->name, "coap_published disagrees");
		else if (bench_delta(&before, &after, DP_CNT_COAP_NOTIFICATIONS) != notif)
			rc = bench_fail(wl->name, "coap_notifications disagrees");
		else if (bench_delta(&before, &after, DP_CNT_MQTTSN_TX_PUBLISH) !=
			 (gr->nb_obs ? 0 : res->step_msgs))
			rc = bench_fail(wl->name, "mqttsn_tx_publish disagrees");
		else if (bench_delta(&before, &after, DP_CNT_TX_PACKETS) !=
				 res->step_deliveries + res->step_msgs ||
			 bench_delta(&before, &after, DP_CNT_RX_PACKETS) != res->step_msgs + cons)
			rc = bench_fail(wl->name, "rx_packets or tx_packets disagree");
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

/* ---- main ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tern-bench-coap [--messages N] [--workload W|all] [--quick] [--json]\n"
		"  --messages N   per workload: deliveries (notifications or MQTT-SN PUBLISH;\n"
		"                 the floor: packets), at least 10 steps (k/M suffixes; default 2M)\n"
		"  --workload W   one workload, or all (default):");
	for (unsigned int i = 0; i < NB_WORKLOADS; i++)
		fprintf(f, " %s", workloads[i].name);
	fprintf(f,
		"\n  --quick        accepted for symmetry with tern-bench-mqttsn (one table size)\n"
		"  --json         one JSON object per workload on stdout\n"
		"Exits 1 if any workload's output or accounting is wrong.\n");
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
		.max_clients = 64,
		.max_topics = 2 * TOPICS,
		.max_subscriptions = 4096,
		.max_registered_ids = 64,
		.max_subscriptions_per_client = 32,
		.max_inflight = 64,
		.max_sleep_buffer = 16,
		.max_message_size = 1024,
		.retry_ms = 10000,
		.retries = 3,
		.keepalive_tolerance_pct = 150,
		.qos_minus_one = true,
	};
	/* the configuration's defaults (control/config_schema.c) */
	const struct dp_coap_params cpp = {
		.enabled = true,
		.port = CP_PORT,
		.prefix = "ps",
		.max_endpoints = 1024,
		.max_observers = 1024,
		.max_observers_per_endpoint = 16,
		.max_message_size = 1152,
		.block_size = 1024,
		.ack_timeout_ms = 2000,
		.ack_random_factor_pct = 150,
		.max_retransmit = 4,
		.notify_con_every = 20,
		.max_age = 60,
		.rate_limit = 0,
		.block1_timeout = 60,
	};
	uint64_t messages = 2000000, baseline;
	const char *which = "all";
	bool json = false, any = false;
	char err[256];
	int c, rc = 0;
	double hz, timer;

	while ((c = getopt_long(argc, argv, "m:w:qjh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (bench_parse_count(optarg, &messages) < 0) {
				fprintf(stderr, "tern-bench-coap: bad --messages '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			which = optarg;
			break;
		case 'q':
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
		fprintf(stderr, "tern-bench-coap: no workload '%s'\n", which);
		return 2;
	}

	if (fx_eal_init_mem("tern-bench-coap", 256) < 0 || fx_setup_opts(&bench_fx, 1, &fo) < 0) {
		fprintf(stderr, "tern-bench-coap: data plane fixture on net_ring ports failed\n");
		return 1;
	}
	baseline = rte_mempool_in_use_count(dp.pool);
	/* as dp_setup() does; mqttsn_setup() registers this thread with RCU */
	if (mqttsn_setup(&mp, err, sizeof(err)) < 0 || coap_setup(&cpp, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern-bench-coap: %s\n", err);
		return 1;
	}
	dp.mqttsn = true;
	dp.mqttsn_port = MQ_PORT;
	dp.coap = true;
	dp.coap_port = CP_PORT;
	hz = (double)rte_get_tsc_hz();
	timer = bench_timer_overhead();
	if (setup_protocol() < 0 || bench_populate(TOPICS) < 0)
		rc = 1;

	for (unsigned int i = 0; i < NB_WORKLOADS && rc == 0; i++) {
		const struct workload *wl = &workloads[i];
		struct result r;
		double cpm, cpd, ns, ctl;

		if (strcmp(which, "all") != 0 && strcmp(which, wl->name) != 0)
			continue;
		if ((wl->kind == WL_FLOOR ? run_floor(wl, messages, &r) :
					    run_put(wl, messages, &r)) < 0) {
			rc = 1;
			continue;
		}
		cpm = (double)r.cycles / (double)r.msgs;
		cpd = r.deliveries ? (double)r.cycles / (double)r.deliveries : 0;
		ctl = (double)r.ctl_cycles / (double)r.msgs;
		ns = cpm / hz * 1e9;
		if (json)
			printf("{\"workload\": \"%s\", \"topics\": %u, \"messages\": %" PRIu64
			       ", \"step_messages\": %" PRIu64 ", \"deliveries\": %" PRIu64
			       ", \"step_deliveries\": %" PRIu64 ", \"cycles\": %" PRIu64
			       ", \"cycles_per_message\": %.2f, \"cycles_per_delivery\": %.2f"
			       ", \"ctl_cycles_per_message\": %.2f"
			       ", \"ns_per_message\": %.2f, \"mmsgs\": %.4f, \"mdeliveries\": %.4f"
			       ", \"tsc_hz\": %.0f, \"timer_cycles_per_step\": %.1f}\n",
			       wl->name, wl->kind == WL_FLOOR ? 0 : TOPICS, r.msgs, r.step_msgs,
			       r.deliveries, r.step_deliveries, r.cycles, cpm, cpd, ctl, ns,
			       1e3 / ns, cpd > 0 ? hz / cpd / 1e6 : 0.0, hz, timer);
		else
			printf("%-16s %10" PRIu64 " messages  %9.1f cycles/message  %8.1f "
			       "cycles/delivery  %8.3f M messages/s  %8.3f M deliveries/s  "
			       "(control plane %.1f cycles/message)\n",
			       wl->name, r.msgs, cpm, cpd, 1e3 / ns,
			       cpd > 0 ? hz / cpd / 1e6 : 1e3 / ns, ctl);
		fflush(stdout);
	}

	dp_worker_drain(dp.worker[0]);
	fx_drain(&bench_fx);
	bench_free_ring(bench_fx.rx);
	coap_teardown();
	dp.coap = false;
	mqttsn_teardown();
	dp.mqttsn = false;
	if (rte_mempool_in_use_count(dp.pool) != baseline) {
		bench_fail("teardown", "mbuf pool not back at its baseline after teardown");
		rc = 1;
	}
	fx_eal_cleanup();
	return rc;
}
