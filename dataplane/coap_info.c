/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl's view of the CoAP node: coap.observers and coap.endpoints.
 *
 * A worker owns its endpoints and observers, so the control plane asks: one
 * MQ_OP_SNAPSHOT (op->proto = MQ_PROTO_COAP) at a time on a worker's done
 * ring, covering a range of slots from op->session on; the worker copies
 * what is there into the op, as many records as fit, and sends it back on
 * the ops ring with the cursor advanced, where mqttsn_control_poll() hands
 * it to coap_info_answer(). Workers are asked one after the other; a
 * listing is a few milliseconds old, not one instant across workers.
 */

#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"

#define CI_CHUNK 1024u          /* slots one question covers at most */
#define CI_WAIT_MS 200u         /* a worker silent this long: timeout */
#define CI_POLL_US 50u

enum { CI_OBSERVERS = 0, CI_ENDPOINTS = 1 };

/* The answer the control plane waits for (main lcore only). */
static struct mq_op *ci_answer;
static uint32_t ci_seq;

static inline void *
ci_recs(struct mq_op *op)
{
	uintptr_t a = (uintptr_t)op->name + op->name_len;

	return (void *)((a + 7) & ~(uintptr_t)7);
}

static inline uint32_t
ci_max(struct mq_op *op, size_t rec)
{
	uintptr_t end = (uintptr_t)op->name + mq->op_room;

	return (uint32_t)((end - (uintptr_t)ci_recs(op)) / rec);
}

/* ---- worker side (from coap_done) ---- */

static void
fill_peer(uint8_t *addr, bool *v6, uint16_t *port, const struct cp_ep *e)
{
	memcpy(addr, e->peer.addr, 16);
	*v6 = e->peer.v6;
	*port = e->peer.port;
}

void
coap_info_worker(struct dp_worker *w, struct mq_op *op)
{
	struct cp_worker *cw = w->cp;
	uint32_t cur = op->session, n = 0;
	uint64_t now = rte_get_tsc_cycles();

	op->rc = 0;
	if (op->wild == CI_ENDPOINTS) {
		struct dp_coap_endpoint *r = ci_recs(op);
		uint32_t max = ci_max(op, sizeof(*r)), end = RTE_MIN(cur + CI_CHUNK, cw->nb_ep_slots);

		for (; cur < end && n < max; cur++) {
			const struct cp_ep *e = &cw->ep[cur];
			uint64_t last;

			if (!e->used)
				continue;
			memset(&r[n], 0, sizeof(r[n]));
			fill_peer(r[n].addr, &r[n].v6, &r[n].port, e);
			r[n].worker = (uint16_t)w->index;
			r[n].observers = e->nb_obs;
			r[n].port_idx = e->pidx;
			r[n].con_inflight = e->con_pkt != NULL;
			for (unsigned int i = 0; i < CP_DEDUP; i++)
				r[n].dedup += e->dedup[i].used;
			last = e->idle_expire - cp->exchange_tsc;
			r[n].idle_ms = now > last ? (int64_t)((now - last) * 1000 / cp->hz) : 0;
			n++;
		}
		op->nb_retained = (uint16_t)n;
		op->session = cur < cw->nb_ep_slots ? cur : UINT32_MAX;
	} else {
		struct dp_coap_observer *r = ci_recs(op);
		uint32_t max = ci_max(op, sizeof(*r)), end = RTE_MIN(cur + CI_CHUNK, cw->nb_obs_slots);

		for (; cur < end && n < max; cur++) {
			const struct cp_obs *o = &cw->obs[cur];
			const struct cp_ep *e = &cw->ep[o->ep];

			if (o->state == CP_OBS_FREE || !e->used || e->gen != o->ep_gen)
				continue;
			if (op->name_len > 0 && (o->node == NULL || o->node->len != op->name_len ||
						 memcmp(o->node->name, op->name, op->name_len) != 0))
				continue;
			memset(&r[n], 0, sizeof(r[n]));
			fill_peer(r[n].addr, &r[n].v6, &r[n].port, e);
			r[n].worker = (uint16_t)w->index;
			r[n].tkl = o->tkl;
			memcpy(r[n].token, o->token, o->tkl);
			r[n].seq = o->seq;
			r[n].since_con = o->since_con;
			r[n].pending = o->state == CP_OBS_PENDING;
			if (o->node != NULL) {
				size_t l = RTE_MIN((size_t)o->node->len, (size_t)DP_COAP_TOPIC_SHOWN);

				memcpy(r[n].topic, o->node->name, l);
				r[n].topic[l] = '\0';
				r[n].topic_cut = l < o->node->len;
			}
			n++;
		}
		op->nb_retained = (uint16_t)n;
		op->session = cur < cw->nb_obs_slots ? cur : UINT32_MAX;
	}
	if (rte_ring_enqueue(mq->ops, op) != 0)
		rte_mempool_put(mq->op_pool, op);   /* cannot happen: the ring holds every op */
}

/* ---- control plane ---- */

void
coap_info_answer(struct mq_op *op)
{
	if (ci_seq != 0 && op->gen == ci_seq && ci_answer == NULL)
		ci_answer = op;
	else
		rte_mempool_put(mq->op_pool, op);   /* late: its question timed out */
}

static int
ci_run(int what, const char *topic, int (*cb)(const void *rec, void *arg), void *arg,
       size_t rec, char *err, size_t errlen)
{
	uint64_t hz = rte_get_tsc_hz();
	int rc = 0;

	if (!dp.coap || cp == NULL) {
		snprintf(err, errlen, "the CoAP node is not running (coap.enabled is false)");
		return -ENOTSUP;
	}
	if (!dp.launched || dp.quit) {
		snprintf(err, errlen, "the workers are not running");
		return -ESHUTDOWN;
	}
	for (unsigned int w = 0; w < dp.nb_workers && rc == 0; w++) {
		uint32_t cur = 0;

		while (cur != UINT32_MAX && rc == 0) {
			struct mq_op *op;
			uint64_t start;

			if (rte_mempool_get(mq->op_pool, (void **)&op) != 0) {
				snprintf(err, errlen, "no request buffer free (try again)");
				return -ENOMEM;
			}
			memset(op, 0, sizeof(*op));
			op->kind = MQ_OP_SNAPSHOT;
			op->proto = MQ_PROTO_COAP;
			op->worker = (uint16_t)w;
			op->session = cur;
			op->wild = (uint8_t)what;
			if (++ci_seq == 0)
				ci_seq = 1;
			op->gen = ci_seq;
			if (topic != NULL) {
				op->name_len = (uint16_t)RTE_MIN(strlen(topic), (size_t)mq->op_room / 2);
				memcpy(op->name, topic, op->name_len);
			}
			ci_answer = NULL;
			if (rte_ring_enqueue(mq->w[w]->done, op) != 0) {
				rte_mempool_put(mq->op_pool, op);
				snprintf(err, errlen, "worker %u is busy (try again)", w);
				rc = -ETIMEDOUT;
				break;
			}
			start = rte_get_tsc_cycles();
			while (ci_answer == NULL) {
				mqttsn_control_poll();
				if (ci_answer != NULL)
					break;
				if (rte_get_tsc_cycles() - start > hz / 1000 * CI_WAIT_MS) {
					snprintf(err, errlen, "worker %u did not answer within %u ms "
						 "(try again)", w, CI_WAIT_MS);
					rc = -ETIMEDOUT;
					break;
				}
				rte_delay_us_sleep(CI_POLL_US);
			}
			if (rc != 0)
				break;
			op = ci_answer;
			ci_answer = NULL;
			for (uint16_t i = 0; i < op->nb_retained && rc == 0; i++)
				if (cb((const uint8_t *)ci_recs(op) + (size_t)i * rec, arg) != 0)
					cur = UINT32_MAX;
			if (cur != UINT32_MAX)
				cur = op->session;
			rte_mempool_put(mq->op_pool, op);
		}
	}
	ci_seq++;           /* what is still out there is late */
	return rc;
}

struct ci_obs_arg {
	dp_coap_observer_fn cb;
	void *arg;
};

struct ci_ep_arg {
	dp_coap_endpoint_fn cb;
	void *arg;
};

static int
ci_obs_cb(const void *rec, void *arg)
{
	struct ci_obs_arg *a = arg;

	return a->cb(rec, a->arg);
}

static int
ci_ep_cb(const void *rec, void *arg)
{
	struct ci_ep_arg *a = arg;

	return a->cb(rec, a->arg);
}

int
dp_coap_observers(const char *topic, dp_coap_observer_fn cb, void *arg, char *err, size_t errlen)
{
	struct ci_obs_arg a = { cb, arg };

	return ci_run(CI_OBSERVERS, topic, ci_obs_cb, &a, sizeof(struct dp_coap_observer), err,
		      errlen);
}

int
dp_coap_endpoints(dp_coap_endpoint_fn cb, void *arg, char *err, size_t errlen)
{
	struct ci_ep_arg a = { cb, arg };

	return ci_run(CI_ENDPOINTS, NULL, ci_ep_cb, &a, sizeof(struct dp_coap_endpoint), err,
		      errlen);
}
