/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tests/bench/bench_common.h"

#define BURST DP_BURST

BENCH_STEP uint16_t
bench_step_floor(uint16_t port)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n, sent, i;

	n = rte_eth_rx_burst(port, 0, pkts, BURST);
	sent = rte_eth_tx_burst(port, 0, pkts, n);
	for (i = sent; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	return sent;
}

BENCH_STEP void
bench_step_tern(struct dp_worker *w)
{
	dp_worker_poll(w);
}

void
bench_free_ring(struct rte_ring *r)
{
	struct rte_mbuf *m = NULL;

	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

int
bench_parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1000000, end++;
	if (*end != '\0' || v == 0)
		return -1;
	*out = v;
	return 0;
}

double
bench_timer_overhead(void)
{
	uint64_t sum = 0, t0, t1;

	for (unsigned int i = 0; i < 100000; i++) {
		t0 = rte_rdtsc();
		rte_compiler_barrier();
		t1 = rte_rdtsc();
		sum += t1 - t0;
	}
	return (double)sum / 100000;
}
