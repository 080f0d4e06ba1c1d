/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data plane lifecycle and the control plane's read side: EAL, pool,
 * workers, queue assignment, counters, the mbuf audit.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/dp_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "proto/errcode.h"

RTE_LOG_REGISTER(tern_logtype, tern, INFO);

struct dp_state dp;

#define POOL_CACHE 256

/* rte_eal_init() permutes and overwrites its argv: it gets a copy of the array */
static char **eal_argv;

int
dp_eal_init(int argc, char **argv, char *err, size_t errlen)
{
	int ret;

	eal_argv = calloc((size_t)argc + 1, sizeof(*eal_argv));
	if (eal_argv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(eal_argv, argv, (size_t)argc * sizeof(*eal_argv));
	ret = rte_eal_init(argc, eal_argv);
	if (ret < 0) {
		snprintf(err, errlen, "EAL initialisation failed: %s", rte_strerror(rte_errno));
		return -EINVAL;
	}
	dp.eal_ready = true;
	return 0;
}

/*
 * Enough mbufs for every RX and TX ring, every worker's buffers and
 * steering ring, and the per-lcore caches, with headroom.
 */
static unsigned int
pool_size(const struct dp_port_params *ports, unsigned int n)
{
	unsigned int w = dp.nb_workers, total = 0;

	for (unsigned int i = 0; i < n; i++) {
		total += (w + 1) * (DP_RX_DESC + DP_TX_DESC);
		if (ports[i].exception)
			total += w * (DP_RX_DESC + DP_TX_DESC);
	}
	total += w * (DP_STEER_RING + DP_BURST * (2 * DP_MAX_PORTS + DP_MAX_WORKERS));
	total += (w + 1) * POOL_CACHE * 2;
	return RTE_MAX(total, 8191u);
}

static void
add_rxq(unsigned int wi, uint16_t pidx, uint16_t port_id, uint16_t q, bool exception)
{
	struct dp_worker *w = dp.worker[wi];

	w->rxq[w->nb_rxq++] = (struct dp_rxq){
		.port_idx = pidx, .port_id = port_id, .queue = q, .exception = exception,
	};
}

/*
 * Give every (port, queue) a worker. With RSS queue q is worker q's; without
 * it the queues are spread starting at a different worker for each port, and
 * the receiving worker steers each flow to its owner.
 */
static void
assign_queues(void)
{
	for (unsigned int pidx = 0; pidx < dp.nb_ports; pidx++) {
		struct dp_port *p = &dp.ports[pidx];

		for (uint16_t q = 0; q < p->nb_rxq; q++)
			add_rxq(p->rss ? q % dp.nb_workers : (pidx + q) % dp.nb_workers,
				(uint16_t)pidx, p->port_id, q, false);
		for (uint16_t q = 0; p->has_exc && q < p->exc_nb_rxq; q++)
			add_rxq((pidx + q) % dp.nb_workers, (uint16_t)pidx, p->exc_port_id, q,
				true);
	}
}

int
dp_setup(const struct dp_port_params *ports, unsigned int nb_ports,
	 const struct dp_mqttsn_params *mqttsn, const struct dp_coap_params *coap,
	 int *bad_port, char *err, size_t errlen)
{
	unsigned int lcore, n = 0;
	int ret;

	*bad_port = -1;
	if (rte_lcore_count() < 2) {
		snprintf(err, errlen, "dpdk.args: need at least two lcores (-l), one for the "
			 "control plane and one per worker; have %u", rte_lcore_count());
		return -EINVAL;
	}
	dp.nb_workers = rte_lcore_count() - 1;
	if (dp.nb_workers > DP_MAX_WORKERS) {
		snprintf(err, errlen, "dpdk.args: %u workers, at most %u are supported",
			 dp.nb_workers, DP_MAX_WORKERS);
		return -ERANGE;
	}
	if (nb_ports == 0 || nb_ports > DP_MAX_PORTS) {
		snprintf(err, errlen, "ports: need 1..%u ports", DP_MAX_PORTS);
		return -EINVAL;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w = dp_worker_create(n, lcore);

		if (w == NULL) {
			snprintf(err, errlen, "cannot allocate worker %u: %s", n,
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		dp.worker[n++] = w;
		dp.by_lcore[lcore] = w;
	}
	/* the private area carries a publication's routing metadata between workers */
	dp.pool = rte_pktmbuf_pool_create("tern_mbuf", pool_size(ports, nb_ports), POOL_CACHE,
					  RTE_ALIGN(sizeof(struct mq_pubmeta), RTE_MBUF_PRIV_ALIGN),
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (dp.pool == NULL) {
		snprintf(err, errlen, "cannot create the mbuf pool: %s (more memory: -m in "
			 "dpdk.args, or hugepages)", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	/*
	 * The topic table, the ops ring and the per-worker delivery rings are
	 * the MQTT-SN node's; CoAP publishes and observes through them, so
	 * they exist when either node runs (dp.mqttsn says whether MQTT-SN
	 * serves its port).
	 */
	if (mqttsn != NULL && (mqttsn->enabled || (coap != NULL && coap->enabled))) {
		ret = mqttsn_setup(mqttsn, err, errlen);
		if (ret < 0)
			return ret;
		dp.mqttsn = mqttsn->enabled;
		dp.mqttsn_port = mqttsn->port;
	}
	if (coap != NULL && coap->enabled && mqttsn != NULL) {
		ret = coap_setup(coap, err, errlen);
		if (ret < 0)
			return ret;
		dp.coap = true;
		dp.coap_port = coap->port;
	}
	ret = dp_ports_setup(ports, nb_ports, bad_port, err, errlen);
	if (ret < 0)
		return ret;
	assign_queues();
	/* the PMDs hold their RX rings full from now on: that is the baseline */
	dp.mbuf_baseline = rte_mempool_in_use_count(dp.pool);
	return 0;
}

int
dp_launch(void)
{
	unsigned int lcore;
	int ret;

	dp.quit = false;
	dp.start_tsc = rte_get_tsc_cycles();
	RTE_LCORE_FOREACH_WORKER(lcore) {
		ret = rte_eal_remote_launch(dp_worker_main, dp.by_lcore[lcore], lcore);
		if (ret < 0)
			return ret;
	}
	dp.launched = true;
	return 0;
}

void
dp_stop(void)
{
	if (!dp.launched)
		return;
	__atomic_store_n(&dp.quit, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	dp.launched = false;
	for (unsigned int i = 0; i < dp.nb_workers; i++)
		dp_worker_drain(dp.worker[i]);
	dp_dtls_drain();
	/* NICs hold sent mbufs until the TX ring recycles them; give them back */
	for (unsigned int i = 0; i < dp.nb_ports; i++) {
		const struct dp_port *p = &dp.ports[i];

		for (uint16_t q = 0; q < p->nb_txq; q++) {
			(void)rte_eth_tx_done_cleanup(p->port_id, q, 0);
			if (p->has_exc)
				(void)rte_eth_tx_done_cleanup(p->exc_port_id, q, 0);
		}
	}
}

int
dp_audit(uint64_t *in_use, uint64_t *baseline)
{
	*baseline = dp.mbuf_baseline;
	*in_use = dp.pool ? rte_mempool_in_use_count(dp.pool) : 0;
	return *in_use == *baseline ? 0 : -EBUSY;
}

void
dp_control_poll(void)
{
	if (mq != NULL)
		mqttsn_control_poll();
}

void
dp_close(void)
{
	unsigned int nb_workers = dp.nb_workers;

	/* before the ports: sessions and observers hold mbufs of the pool */
	dp_dtls_teardown();
	coap_teardown();
	dp.coap = false;
	mqttsn_teardown();
	dp.mqttsn = false;
	dp_ports_close();
	/* readers (telemetry) see no workers from here on */
	dp.nb_ports = 0;
	dp.nb_workers = 0;
	for (unsigned int i = 0; i < nb_workers; i++) {
		if (dp.worker[i] == NULL)
			continue;
		rte_ring_free(dp.worker[i]->steer_ring);
		rte_free(dp.worker[i]);
		dp.worker[i] = NULL;
	}
	if (dp.pool) {
		unsigned int left = rte_mempool_in_use_count(dp.pool);

		if (left)
			DP_LOG(ERR, "mbuf audit: %u mbufs still in use after the ports closed",
			       left);
		rte_mempool_free(dp.pool);
		dp.pool = NULL;
	}
	if (dp.eal_ready)
		rte_eal_cleanup();
	dp.eal_ready = false;
	free(eal_argv);
	eal_argv = NULL;
}

unsigned int
dp_nb_ports(void)
{
	return dp.nb_ports;
}

unsigned int
dp_nb_workers(void)
{
	return dp.nb_workers;
}

unsigned int
dp_main_lcore(void)
{
	return rte_get_main_lcore();
}

int
dp_port_info(unsigned int port, struct dp_port_info *out)
{
	const struct dp_port *p;
	struct rte_eth_dev_info info;
	struct rte_eth_link link;

	if (port >= dp.nb_ports)
		return -ENOENT;
	p = &dp.ports[port];
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", p->params.name);
	snprintf(out->device, sizeof(out->device), "%s", p->params.device);
	out->port_id = p->port_id;
	if (rte_eth_dev_info_get(p->port_id, &info) == 0)
		snprintf(out->driver, sizeof(out->driver), "%s", info.driver_name);
	memcpy(out->mac, p->nif.mac, 6);
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->port_id, &link) == 0) {
		out->link_up = link.link_status == RTE_ETH_LINK_UP;
		out->link_speed = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 :
				  link.link_speed;
	}
	out->rx_queues = p->nb_rxq;
	out->tx_queues = p->nb_txq;
	out->rss = p->rss;
	out->has_ip4 = p->params.has_ip4;
	out->has_ip6 = p->params.has_ip6;
	memcpy(out->ip4, p->params.ip4, 4);
	out->ip4_prefix = p->params.ip4_prefix;
	memcpy(out->ip6, p->params.ip6, 16);
	out->ip6_prefix = p->params.ip6_prefix;
	if (p->has_exc)
		snprintf(out->exception_iface, sizeof(out->exception_iface), "%s",
			 p->params.exception_iface);
	return 0;
}

int
dp_worker_info(unsigned int worker, struct dp_worker_info *out)
{
	const struct dp_worker *w;

	if (worker >= dp.nb_workers)
		return -ENOENT;
	w = dp.worker[worker];
	memset(out, 0, sizeof(*out));
	out->lcore_id = w->lcore_id;
	out->socket_id = rte_lcore_to_socket_id(w->lcore_id);
	out->index = w->index;
	for (uint16_t i = 0; i < w->nb_rxq; i++) {
		if (w->rxq[i].exception)
			out->polls_exception = true;
		else
			out->nb_rx_queues++;
	}
	return 0;
}

static void
counters_raw(unsigned int port, unsigned int worker, struct dp_counters *out)
{
	const struct dp_counters *c = &dp.worker[worker]->cnt[port];

	for (unsigned int i = 0; i < DP_CNT_MAX; i++)
		out->v[i] = __atomic_load_n(&c->v[i], __ATOMIC_RELAXED);
}

void
dp_counters_get(unsigned int port, unsigned int worker, struct dp_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (port >= dp.nb_ports || worker >= dp.nb_workers)
		return;
	counters_raw(port, worker, out);
	for (unsigned int i = 0; i < DP_CNT_MAX; i++)
		out->v[i] -= dp.reset_base[port][worker].v[i];
}

void
dp_counters_reset(void)
{
	for (unsigned int p = 0; p < dp.nb_ports; p++)
		for (unsigned int w = 0; w < dp.nb_workers; w++)
			counters_raw(p, w, &dp.reset_base[p][w]);
}

uint64_t
dp_mbuf_in_use(void)
{
	return dp.pool ? rte_mempool_in_use_count(dp.pool) : 0;
}

uint64_t
dp_mbuf_baseline(void)
{
	return dp.mbuf_baseline;
}

uint64_t
dp_mbuf_capacity(void)
{
	return dp.pool ? dp.pool->size : 0;
}

double
dp_uptime(void)
{
	if (dp.start_tsc == 0)
		return 0;
	return (double)(rte_get_tsc_cycles() - dp.start_tsc) / (double)rte_get_tsc_hz();
}
