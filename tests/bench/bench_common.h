/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_BENCH_COMMON_H
#define TERN_BENCH_COMMON_H

/*
 * What the benchmarks share: the two measured steps (separate, never inlined
 * symbols: scripts/bench counts their instructions with callgrind's
 * --toggle-collect), the empty-timer cost, and argument parsing.
 */

#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/dp_priv.h"

#if defined(__clang__)
#define BENCH_STEP __attribute__((noinline))
#else
#define BENCH_STEP __attribute__((noinline, noipa))
#endif

/** The DPDK I/O-forwarding floor: rx_burst(32) on @p port, tx_burst the same mbufs. */
BENCH_STEP uint16_t bench_step_floor(uint16_t port);

/** tern's fast path: one iteration of the worker's real poll loop. */
BENCH_STEP void bench_step_tern(struct dp_worker *w);

/** Free every mbuf left on @p r. */
void bench_free_ring(struct rte_ring *r);

/** Parse a count with an optional k/M suffix; 0 or -1 (also for 0). */
int bench_parse_count(const char *s, uint64_t *out);

/** What an empty rte_rdtsc() pair costs, in TSC cycles (included in every figure). */
double bench_timer_overhead(void);

#endif
