/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN side of the benchmarks that drive the nodes through the ring
 * fixture (tern-bench-mqttsn, tern-bench-coap): the fixture, the workers'
 * and the control plane's steps, counters, and MQTT-SN clients that
 * connect and subscribe through the rings. Single-threaded, like the
 * benchmarks.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ip.h>

#include <urcu-qsbr.h>

#include "dataplane/mqttsn_priv.h"
#include "dataplane/topic_table.h"
#include "proto/mqttsn.h"
#include "tests/bench/bench_mq.h"
#include "tests/unit/dataplane/frames.h"

#define MQ_PORT 1883
#define BURST DP_BURST

struct ring_fixture bench_fx;
/* the control plane's step (callgrind toggles on it) */
BENCH_STEP void
bench_step_ctl(void)
{
	mqttsn_control_poll();
}

int
bench_fail(const char *wl, const char *what)
{
	fprintf(stderr, "%s: %s: FAILED: %s\n", program_invocation_short_name, wl, what);
	return -1;
}

struct dp_counters
bench_counters(void)
{
	struct dp_counters c;

	dp_counters_get(0, 0, &c);
	return c;
}

uint64_t
bench_delta(const struct dp_counters *a, const struct dp_counters *b, unsigned int i)
{
	return b->v[i] - a->v[i];
}

/* One worker iteration as dp_worker_main() runs it, plus the control plane's share. */
void
bench_iterate(void)
{
	dp_worker_poll(dp.worker[0]);
	rcu_quiescent_state();
	mqttsn_control_poll();
	rcu_quiescent_state();
}

/* An MQTT-SN message from the client's @p sport, onto p0's RX ring. */
int
bench_mq_send(uint16_t sport, const struct mqttsn_msg *msg)
{
	uint8_t payload[512], frame[600];
	int len = mqttsn_encode(payload, sizeof(payload), msg);
	struct rte_mbuf *m;

	if (len < 0)
		return -1;
	m = fx_frame(frame, fr_udp4_data(frame, sport, MQ_PORT, payload, (size_t)len));
	if (m == NULL || rte_ring_enqueue(bench_fx.rx, m) != 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/* A single-segment reply from the router: its UDP destination port and message. */
int
bench_mq_reply(struct rte_mbuf *m, uint16_t *dport, struct mqttsn_msg *msg)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);

	if (m->nb_segs != 1 || m->data_len < 42 + 2 || f[12] != 0x08 || f[13] != 0x00 ||
	    f[23] != IPPROTO_UDP || ((f[34] << 8) | f[35]) != MQ_PORT)
		return -1;
	*dport = (uint16_t)((f[36] << 8) | f[37]);
	return mqttsn_decode(f + 42, m->data_len - 42u, msg);
}

/*
 * Run the worker and the control plane until @p n replies came out (or give
 * up); each must be of @p type, accepted. @p id_of[port - port0] gets each
 * reply's topic id when not NULL.
 */
int
bench_mq_settle(unsigned int n, uint8_t type, uint16_t port0, uint16_t *id_of, unsigned int nb_ids)
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
			struct mqttsn_msg msg;
			uint16_t dport;

			if (bench_mq_reply(m[i], &dport, &msg) < 0 || msg.type != type ||
			    msg.return_code != MQTTSN_RC_ACCEPTED)
				rc = -1;
			else if (id_of != NULL && (dport < port0 || dport - port0 >= (int)nb_ids))
				rc = -1;
			else if (id_of != NULL)
				id_of[dport - port0] = msg.topic_id;
			rte_pktmbuf_free(m[i]);
		}
		got += k;
	}
	if (got != n || rte_ring_count(bench_fx.exc_tx[0]) != 0)
		return -1;
	return rc;
}

int
bench_mq_connect(uint16_t port0, unsigned int n, const char *prefix)
{
	for (unsigned int i = 0; i < n; i += 256) {
		unsigned int k = RTE_MIN(256u, n - i);

		for (unsigned int j = 0; j < k; j++) {
			char id[24];
			struct mqttsn_msg c = { .type = MQTTSN_CONNECT, .flags = MQTTSN_FLAG_CLEAN,
						.protocol_id = MQTTSN_PROTOCOL_ID, .duration = 0 };

			/* by port: client ids are unique, or a CONNECT takes a session over */
			snprintf(id, sizeof(id), "%s%u", prefix, port0 + i + j);
			c.client_id.p = (const uint8_t *)id;
			c.client_id.len = strlen(id);
			if (bench_mq_send((uint16_t)(port0 + i + j), &c) < 0)
				return -1;
		}
		if (bench_mq_settle(k, MQTTSN_CONNACK, 0, NULL, 0) < 0)
			return -1;
	}
	return 0;
}

/* SUBSCRIBE @p filter from clients port0 .. port0 + n - 1; their SUBACK topic ids in @p ids. */
int
bench_mq_subscribe(uint16_t port0, unsigned int n, const char *filter, uint16_t *ids)
{
	for (unsigned int i = 0; i < n; i += 256) {
		unsigned int k = RTE_MIN(256u, n - i);

		for (unsigned int j = 0; j < k; j++) {
			struct mqttsn_msg s = { .type = MQTTSN_SUBSCRIBE,
						.flags = MQTTSN_FLAG_QOS(1) | MQTTSN_TOPIC_NORMAL,
						.msg_id = 1 };

			s.topic_name.p = (const uint8_t *)filter;
			s.topic_name.len = strlen(filter);
			if (bench_mq_send((uint16_t)(port0 + i + j), &s) < 0)
				return -1;
		}
		if (bench_mq_settle(k, MQTTSN_SUBACK, (uint16_t)(port0 + i), ids ? ids + i : NULL, k) < 0)
			return -1;
	}
	return 0;
}

/* Bring the table to @p n topics with filler names nobody subscribes to (set-up). */
int
bench_populate(uint32_t n)
{
	static uint32_t next;
	struct topic_table *t = dp_topic_table();
	struct topic_table_stats st;
	char name[32];

	topic_table_stats(t, &st);
	for (uint32_t have = st.topics; have < n; have++) {
		int len = snprintf(name, sizeof(name), "dev/%u/temp", next++);

		if (topic_create(t, name, (size_t)len) == NULL)
			return -1;
		if (have % 4096 == 0)
			rcu_quiescent_state();
	}
	rcu_quiescent_state();
	return 0;
}
