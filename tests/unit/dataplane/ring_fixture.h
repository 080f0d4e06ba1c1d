/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TESTS_RING_FIXTURE_H
#define TERN_TESTS_RING_FIXTURE_H

/*
 * A data plane on net_ring ports, driven by hand: the port and its
 * exception interface are DPDK ring PMD ports (rte_eth_from_rings), so a
 * test (or a benchmark) enqueues frames on the port's RX ring, runs a
 * worker's poll loop once with dp_worker_poll(), and finds what the worker
 * sent on the TX rings. Workers are not launched on other lcores; the
 * caller plays each one in turn. Shared by tests/unit/dataplane and
 * tests/bench.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dp_priv.h"

#define FX_MAX_WORKERS 4

struct ring_fixture {
	struct rte_ring *rx;                      /* frames "from the wire" */
	struct rte_ring *tx[FX_MAX_WORKERS];      /* frames the workers sent */
	struct rte_ring *exc_rx;                  /* frames "from the host stack" */
	struct rte_ring *exc_tx[FX_MAX_WORKERS];  /* frames for the host stack */
	unsigned int nb_workers;
};

/* EAL on lcore 0 without hugepages or PCI, with @p mem_mb megabytes of memory (-m). */
static inline int
fx_eal_init_mem(const char *prog, unsigned int mem_mb)
{
	char prefix[64], mem[16];
	char *argv[] = { (char *)prog, "--no-huge", "--no-pci", "-m", mem, "--no-shconf",
			 "--no-telemetry", "--file-prefix", prefix, "-l", "0",
			 "--log-level", "error", NULL };

	/* several tests may run at once: a prefix of their own */
	snprintf(prefix, sizeof(prefix), "%s-%d", prog, (int)getpid());
	snprintf(mem, sizeof(mem), "%u", mem_mb);

	return rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
}

static inline int
fx_eal_init(const char *prog)
{
	return fx_eal_init_mem(prog, 256);
}

static inline struct rte_ring *
fx_ring(const char *fmt, unsigned int i, unsigned int size)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), fmt, i);
	return rte_ring_create(name, size, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
}

static inline int
fx_port(const char *name, struct rte_ring *rx, struct rte_ring **tx, unsigned int nb_tx,
	uint16_t *port_id)
{
	struct rte_eth_conf conf;
	int pid = rte_eth_from_rings(name, &rx, 1, tx, nb_tx, (unsigned int)rte_socket_id());

	if (pid < 0)
		return -1;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure((uint16_t)pid, 1, (uint16_t)nb_tx, &conf) < 0)
		return -1;
	if (rte_eth_rx_queue_setup((uint16_t)pid, 0, 1024, rte_socket_id(), NULL, dp.pool) < 0)
		return -1;
	for (uint16_t q = 0; q < nb_tx; q++)
		if (rte_eth_tx_queue_setup((uint16_t)pid, q, 1024, rte_socket_id(), NULL) < 0)
			return -1;
	if (rte_eth_dev_start((uint16_t)pid) < 0)
		return -1;
	*port_id = (uint16_t)pid;
	return 0;
}

/* What fx_setup_opts() may change; fx_setup() takes the defaults. */
struct fx_opts {
	unsigned int pool_size;       /* mbufs in dp.pool */
	uint16_t priv_size;           /* mbuf private area (mqttsn: struct mq_pubmeta); 0 */
	unsigned int ring_size;       /* RX/TX ring slots, a power of two; 0 = 4096 */
};

static inline int fx_setup_opts(struct ring_fixture *fx, unsigned int nb_workers,
				const struct fx_opts *o);

/*
 * One port "p0" (192.0.2.1/24, 2001:db8::1/64, MAC 02:00:5e:00:53:01) with an
 * exception interface, and @p nb_workers workers; worker 0 reads the port
 * and the exception interface.
 */
static inline int
fx_setup(struct ring_fixture *fx, unsigned int nb_workers, unsigned int pool_size)
{
	const struct fx_opts o = { .pool_size = pool_size };

	return fx_setup_opts(fx, nb_workers, &o);
}

/*
 * fx_setup() with a pool private area (the MQTT-SN node needs
 * RTE_ALIGN(sizeof(struct mq_pubmeta), RTE_MBUF_PRIV_ALIGN), as dp_setup()
 * gives it) and bigger rings (fan-out leaves many frames on the TX ring).
 */
static inline int
fx_setup_opts(struct ring_fixture *fx, unsigned int nb_workers, const struct fx_opts *o)
{
	unsigned int pool_size = o->pool_size;
	unsigned int ring_size = o->ring_size ? o->ring_size : 4096;
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
	static const uint8_t ip4[4] = { 192, 0, 2, 1 };
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct dp_port *p = &dp.ports[0];
	struct rte_ether_addr ea;

	memset(fx, 0, sizeof(*fx));
	fx->nb_workers = nb_workers;
	dp.pool = rte_pktmbuf_pool_create("fx_pool", pool_size, 256, o->priv_size,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (dp.pool == NULL)
		return -1;
	fx->rx = fx_ring("fx_rx%u", 0, ring_size);
	fx->exc_rx = fx_ring("fx_erx%u", 0, ring_size);
	for (unsigned int i = 0; i < nb_workers; i++) {
		fx->tx[i] = fx_ring("fx_tx%u", i, ring_size);
		fx->exc_tx[i] = fx_ring("fx_etx%u", i, ring_size);
	}
	if (fx_port("fx_p0", fx->rx, fx->tx, nb_workers, &p->port_id) < 0 ||
	    fx_port("fx_exc0", fx->exc_rx, fx->exc_tx, nb_workers, &p->exc_port_id) < 0)
		return -1;
	memcpy(ea.addr_bytes, mac, 6);
	rte_eth_dev_default_mac_addr_set(p->port_id, &ea);
	snprintf(p->params.name, sizeof(p->params.name), "p0");
	p->params.has_ip4 = p->params.has_ip6 = true;
	memcpy(p->params.ip4, ip4, 4);
	p->params.ip4_prefix = 24;
	memcpy(p->params.ip6, ip6, 16);
	p->params.ip6_prefix = 64;
	memcpy(p->nif.mac, mac, 6);
	p->nif.has_ip4 = p->nif.has_ip6 = true;
	memcpy(p->nif.ip4, ip4, 4);
	p->nif.ip4_prefix = 24;
	memcpy(p->nif.ip6, ip6, 16);
	p->has_exc = true;
	p->nb_rxq = 1;
	p->nb_txq = (uint16_t)nb_workers;
	dp.port_idx_of[p->port_id] = 0;
	dp.port_idx_of[p->exc_port_id] = 0;
	dp.nb_ports = 1;
	dp.nb_workers = nb_workers;
	for (unsigned int i = 0; i < nb_workers; i++) {
		dp.worker[i] = dp_worker_create(i, rte_lcore_id());
		if (dp.worker[i] == NULL)
			return -1;
	}
	dp.worker[0]->rxq[0] = (struct dp_rxq){ .port_idx = 0, .port_id = p->port_id };
	dp.worker[0]->rxq[1] = (struct dp_rxq){ .port_idx = 0, .port_id = p->exc_port_id,
						 .exception = true };
	dp.worker[0]->nb_rxq = 2;
	return 0;
}

/* Clean the EAL up, and the empty runtime directory it leaves per prefix. */
static inline void
fx_eal_cleanup(void)
{
	char rundir[PATH_MAX];

	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(rundir);
}

/* Copy @p len bytes into a new mbuf as received on port 0; NULL if the pool is dry. */
static inline struct rte_mbuf *
fx_frame(const void *bytes, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);

	if (m == NULL)
		return NULL;
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), bytes, len);
	m->port = dp.ports[0].port_id;
	return m;
}

/* Dequeue up to @p n frames from a ring; returns how many. */
static inline unsigned int
fx_take(struct rte_ring *r, struct rte_mbuf **out, unsigned int n)
{
	return rte_ring_dequeue_burst(r, (void **)out, n, NULL);
}

/* Free everything left on the fixture's output rings. */
static inline void
fx_drain(struct ring_fixture *fx)
{
	struct rte_mbuf *m = NULL;

	for (unsigned int i = 0; i < fx->nb_workers; i++) {
		while (rte_ring_dequeue(fx->tx[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (rte_ring_dequeue(fx->exc_tx[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
}

#endif
