/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CoAP node's life cycle and per-iteration work: endpoint and observer
 * tables, timers (CON retransmission, de-duplication entries, idle
 * endpoints). See coap_priv.h for the design.
 */

#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"

struct cp_global *cp;

static void
worker_free(struct cp_worker *cw)
{
	if (cw == NULL)
		return;
	rte_hash_free(cw->by_addr);
	rte_free(cw->ep);
	rte_free(cw->ep_free);
	rte_free(cw->obs);
	rte_free(cw->obs_free);
	rte_free(cw);
}

static struct cp_worker *
worker_new(unsigned int wi, uint32_t eps, uint32_t obs, char *err, size_t errlen)
{
	int socket = (int)rte_lcore_to_socket_id(dp.worker[wi]->lcore_id);
	struct rte_hash_parameters hp = { 0 };
	char name[RTE_HASH_NAMESIZE];
	struct cp_worker *cw;

	cw = rte_zmalloc_socket("cp_worker", sizeof(*cw), RTE_CACHE_LINE_SIZE, socket);
	if (cw == NULL)
		goto nomem;
	snprintf(name, sizeof(name), "tern_cp_ep%u", wi);
	hp.name = name;
	hp.entries = RTE_MAX(eps, 8u);
	hp.key_len = sizeof(struct cp_key);
	hp.hash_func = rte_hash_crc;
	hp.socket_id = socket;
	cw->by_addr = rte_hash_create(&hp);
	cw->ep = rte_zmalloc_socket("cp_ep", sizeof(*cw->ep) * eps, RTE_CACHE_LINE_SIZE, socket);
	cw->ep_free = rte_zmalloc_socket("cp_ep_free", sizeof(uint32_t) * eps, 0, socket);
	cw->obs = rte_zmalloc_socket("cp_obs", sizeof(*cw->obs) * obs, RTE_CACHE_LINE_SIZE,
				     socket);
	cw->obs_free = rte_zmalloc_socket("cp_obs_free", sizeof(uint32_t) * obs, 0, socket);
	if (cw->by_addr == NULL || cw->ep == NULL || cw->ep_free == NULL || cw->obs == NULL ||
	    cw->obs_free == NULL) {
		worker_free(cw);
		goto nomem;
	}
	cw->nb_ep_slots = eps;
	cw->nb_obs_slots = obs;
	/* free stacks: the lowest slot handed out first */
	for (uint32_t i = 0; i < eps; i++)
		cw->ep_free[i] = eps - 1 - i;
	for (uint32_t i = 0; i < obs; i++)
		cw->obs_free[i] = obs - 1 - i;
	return cw;
nomem:
	snprintf(err, errlen, "coap: no memory for %u endpoints and %u observers on worker %u "
		 "(lower coap.max_endpoints / coap.max_observers or give DPDK more memory)",
		 eps, obs, wi);
	return NULL;
}

int
coap_setup(const struct dp_coap_params *p, char *err, size_t errlen)
{
	unsigned int n = dp.nb_workers;

	if (mq == NULL) {
		snprintf(err, errlen, "coap: the topic table is not set up");
		return -EINVAL;
	}
	cp = rte_zmalloc("cp_global", sizeof(*cp), RTE_CACHE_LINE_SIZE);
	if (cp == NULL) {
		snprintf(err, errlen, "coap: out of memory");
		return -ENOMEM;
	}
	cp->p = *p;
	cp->hz = rte_get_tsc_hz();
	cp->ack_tsc = cp->hz / 1000 * p->ack_timeout_ms;
	cp->exchange_tsc = cp->hz * CP_EXCHANGE_LIFETIME_S;
	cp->prefix_len = strlen(p->prefix);
	for (unsigned int wi = 0; wi < n; wi++) {
		cp->w[wi] = worker_new(wi, (p->max_endpoints + n - 1) / n,
				       (p->max_observers + n - 1) / n, err, errlen);
		if (cp->w[wi] == NULL)
			return -ENOMEM;
		dp.worker[wi]->cp = cp->w[wi];
	}
	return 0;
}

void
coap_teardown(void)
{
	if (cp == NULL)
		return;
	for (unsigned int wi = 0; wi < DP_MAX_WORKERS; wi++) {
		if (cp->w[wi] == NULL)
			continue;
		if (dp.worker[wi] != NULL)
			dp.worker[wi]->cp = NULL;
		worker_free(cp->w[wi]);
	}
	rte_free(cp);
	cp = NULL;
}

/* Everything an endpoint holds: cached answers and the CON in flight. */
void
ep_release(struct cp_ep *e)
{
	for (unsigned int i = 0; i < CP_DEDUP; i++) {
		rte_pktmbuf_free(e->dedup[i].resp);
		e->dedup[i].resp = NULL;
		e->dedup[i].used = 0;
	}
	rte_pktmbuf_free(e->con_pkt);
	e->con_pkt = NULL;
	rte_pktmbuf_free(e->b1);
	e->b1 = NULL;
}

void
coap_drain(struct dp_worker *w)
{
	struct cp_worker *cw = w->cp;

	for (uint32_t i = 0; i < cw->nb_ep_slots; i++)
		if (cw->ep[i].used)
			ep_release(&cw->ep[i]);
}
