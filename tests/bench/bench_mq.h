/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TESTS_BENCH_BENCH_MQ_H
#define TERN_TESTS_BENCH_BENCH_MQ_H

/*
 * What tern-bench-mqttsn and tern-bench-coap share (bench_mq.c): the ring
 * fixture the node runs on, the steps, counters, and MQTT-SN clients that
 * connect and subscribe through the fixture's rings (port 1883). Called
 * from the benchmark's one thread, after the fixture and ternd's data
 * plane are set up.
 */

#include <stdint.h>

#include "dataplane/counters.h"
#include "proto/mqttsn.h"
#include "tests/bench/bench_common.h"
#include "tests/unit/dataplane/ring_fixture.h"

struct rte_mbuf;

/** The fixture the benchmark set up (rings in and out of the node's port). */
extern struct ring_fixture bench_fx;

/** The control plane's share of an iteration (a separate symbol for callgrind). */
BENCH_STEP void bench_step_ctl(void);

/** Print "PROGRAM: WORKLOAD: FAILED: WHAT" on stderr; @return -1. */
int bench_fail(const char *wl, const char *what);

/** The total counters now. */
struct dp_counters bench_counters(void);

/** Counter @p i's increase from @p a to @p b. */
uint64_t bench_delta(const struct dp_counters *a, const struct dp_counters *b, unsigned int i);

/** One worker iteration as dp_worker_main() runs it, plus the control plane's share. */
void bench_iterate(void);

/** Send MQTT-SN message @p msg from client port @p sport to the node. @return 0 or -1. */
int bench_mq_send(uint16_t sport, const struct mqttsn_msg *msg);

/**
 * Decode the MQTT-SN message the node sent in @p m (an UDP/IPv4 frame from
 * port 1883): its destination port in *@p dport. @return 0 or -1.
 */
int bench_mq_reply(struct rte_mbuf *m, uint16_t *dport, struct mqttsn_msg *msg);

/**
 * Run the worker and the control plane until @p n replies came out, each of
 * @p type and accepted; each reply's topic id goes to @p id_of[port - port0]
 * (@p nb_ids entries) when not NULL. @return 0, or -1 if they did not all come.
 */
int bench_mq_settle(unsigned int n, uint8_t type, uint16_t port0, uint16_t *id_of,
		    unsigned int nb_ids);

/** CONNECT @p n clients (clean sessions) from ports port0 .. port0 + n - 1. @return 0 or -1. */
int bench_mq_connect(uint16_t port0, unsigned int n, const char *prefix);

/** SUBSCRIBE clients port0.. to @p filter at QoS 1; their SUBACK topic ids in @p ids. @return 0 or -1. */
int bench_mq_subscribe(uint16_t port0, unsigned int n, const char *filter, uint16_t *ids);

/** Bring the topic table to @p n topics with filler names nobody subscribes to. @return 0 or -1. */
int bench_populate(uint32_t n);

#endif
