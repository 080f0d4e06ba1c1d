/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions as the control plane sees them (dp_mqttsn_clients(),
 * dp_mqttsn_kick()): a worker owns its sessions, so the control plane asks
 * and the worker answers.
 *
 * A question is an op from the pool (MQ_OP_SNAPSHOT or MQ_OP_KICK) that the
 * main lcore puts on the worker's done ring (it is that ring's only
 * producer); it covers a range of session slots, at most INFO_CHUNK of
 * them, starting at op->session, so one answer costs the worker a bounded
 * scan. The worker answers on the ops ring with the same op:
 *
 *   SNAPSHOT: op->nb_retained records (struct dp_mqttsn_client) at
 *             info_recs(op), as many as the op holds; op->session is the
 *             next slot to look at and op->wild is 1 when the range is not
 *             finished (the main lcore asks again from there).
 *   KICK:     op->rc sessions ended (the whole range is done).
 *
 * op->name holds the client id to match (op->name_len bytes; 0: every
 * session); a SNAPSHOT's records overwrite it (the worker copies it first).
 *
 * The main lcore keeps up to INFO_WINDOW questions in flight per worker and
 * waits for the answers, applying the workers' other requests meanwhile
 * (mqttsn_control_poll(), which hands our answers to mq_info_answer()).
 * Every question carries the request's sequence number in op->gen; an
 * answer to a request that was given up (a worker too slow) or finished
 * does not match the current one and is simply freed on arrival, so a late
 * answer never touches freed state.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/mqttsn_priv.h"

#define INFO_CHUNK 1024u        /* slots one question covers */
#define INFO_WINDOW 8u          /* questions in flight per worker */
#define INFO_IDLE_MS 200u       /* a worker silent this long with questions pending: timeout */
#define INFO_TOTAL_MS 5000u     /* a whole request at most */
#define INFO_POLL_US 50u
#define INFO_CAP (INFO_WINDOW * DP_MAX_WORKERS)

_Static_assert(MQTTSN_CLIENT_ID_SPEC_MAX == DP_MQTTSN_CLIENT_ID_MAX,
	       "dp.h and proto/mqttsn.h disagree on the client id limit");

/* Main lcore: the request being answered and the answers not yet read. */
static struct {
	uint32_t seq;           /* current request; 0: none */
	uint32_t last_seq;
	unsigned int nb;
	struct mq_op *ans[INFO_CAP];
} info;

/* The records of a SNAPSHOT answer: from the first 8-byte boundary of op->name. */
static inline struct dp_mqttsn_client *
info_recs(struct mq_op *op)
{
	uintptr_t a = (uintptr_t)op->name;

	return (struct dp_mqttsn_client *)((a + 7) & ~(uintptr_t)7);
}

static inline uint32_t
info_max_recs(struct mq_op *op)
{
	uintptr_t end = (uintptr_t)op->name + mq->op_room;

	return (uint32_t)((end - (uintptr_t)info_recs(op)) / sizeof(struct dp_mqttsn_client));
}

/* The end of the range a question starting at @p cur covers. */
static inline uint32_t
info_chunk_end(uint32_t cur, uint32_t nb_slots)
{
	uint32_t end = (cur / INFO_CHUNK + 1) * INFO_CHUNK;

	return end < nb_slots ? end : nb_slots;
}

/* ------------------------------------------------------------------------ */
/* Worker side */

static void
info_fill(struct dp_mqttsn_client *c, const struct mq_sess *s, uint16_t worker,
	  uint32_t slot, uint64_t now, uint64_t hz)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->client_id, s->client_id, s->client_id_len);
	c->client_id[s->client_id_len] = '\0';
	memcpy(c->addr, s->peer.addr, sizeof(c->addr));
	c->v6 = s->peer.v6;
	c->state = s->state == MQ_ASLEEP ? DP_MQTTSN_ASLEEP :
		   s->state == MQ_AWAKE ? DP_MQTTSN_AWAKE :
		   s->state == MQ_DISCONNECTED ? DP_MQTTSN_DISCONNECTED :
		   s->state == MQ_LOST ? DP_MQTTSN_LOST : DP_MQTTSN_ACTIVE;
	c->wnid_len = s->key.wnid_len;
	memcpy(c->wnid, s->key.wnid, sizeof(c->wnid));
	c->port = s->peer.port;
	c->port_idx = s->pidx;
	if (s->ident != NULL) {
		c->dtls = true;
		memcpy(c->identity, s->ident->s, s->ident->len);
		c->identity[s->ident->len] = '\0';
	}
	c->worker = worker;
	c->session = slot;
	c->gen = s->gen;
	c->keepalive = s->keepalive;
	c->nb_subs = s->nb_subs;
	c->nb_ids = s->nb_ids;
	for (uint16_t i = 0; i < mq->p.max_inflight; i++) {
		if (s->out[i].kind != MQ_OUT_FREE)
			c->inflight++;
		if (s->qos2_in[i] != 0)
			c->qos2_in++;
	}
	if (s->expire == 0)
		c->expires_in_ms = -1;
	else
		c->expires_in_ms = s->expire > now ? (int64_t)((s->expire - now) * 1000 / hz) : 0;
}

static bool
info_match(const struct mq_sess *s, const char *id, uint16_t len)
{
	return len == 0 || (s->client_id_len == len && memcmp(s->client_id, id, len) == 0);
}

void
mq_info_worker(struct dp_worker *w, struct mq_op *op)
{
	struct mq_worker *mw = w->mq;
	uint32_t cur = op->session, end = info_chunk_end(op->session, mw->nb_slots);
	char id[MQTTSN_CLIENT_ID_SPEC_MAX];
	uint16_t id_len = op->name_len;

	if (id_len > sizeof(id))
		id_len = sizeof(id);      /* never sent so: nothing matches a cut id anyway */
	memcpy(id, op->name, id_len);
	op->rc = 0;
	op->wild = 0;
	if (op->kind == MQ_OP_SNAPSHOT) {
		struct dp_mqttsn_client *recs = info_recs(op);
		uint32_t max = info_max_recs(op), n = 0;
		uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();

		for (; cur < end && n < max; cur++) {
			const struct mq_sess *s = &mw->sess[cur];

			if (s->state != MQ_FREE && info_match(s, id, id_len))
				info_fill(&recs[n++], s, op->worker, cur, now, hz);
		}
		op->nb_retained = (uint16_t)n;
		op->wild = cur < end;
		if (max == 0)
			op->rc = -ENOSPC;
	} else {
		struct mqttsn_msg bye = { .type = MQTTSN_DISCONNECT };

		for (; cur < end; cur++) {
			struct mq_sess *s = &mw->sess[cur];

			if (s->state == MQ_FREE || id_len == 0 || !info_match(s, id, id_len))
				continue;
			/* a gateway-initiated DISCONNECT tells the client (spec 6.14) */
			mq_send(w, s, NULL, 0, &bye);
			mq_sess_end(w, s, MQ_END_GONE);
			op->rc++;
		}
	}
	op->session = cur;
	if (rte_ring_enqueue(mq->ops, op) != 0)
		/* the control plane times the question out */
		rte_mempool_put(mq->op_pool, op);
}

/* ------------------------------------------------------------------------ */
/* Main lcore side */

void
mq_info_answer(struct mq_op *op)
{
	if (info.seq != 0 && op->gen == info.seq && info.nb < INFO_CAP)
		info.ans[info.nb++] = op;
	else
		/* the request was given up or is over: nobody waits for this */
		rte_mempool_put(mq->op_pool, op);
}

struct info_req {
	uint8_t kind;
	uint16_t id_len;
	const char *id;
	dp_mqttsn_client_fn cb;
	void *arg;
	bool stop;              /* the callback had enough */
	unsigned int ended;     /* KICK */
	int error;              /* a worker's error */
};

static void
info_op_init(struct mq_op *op, const struct info_req *r, uint16_t worker, uint32_t cur)
{
	memset(op, 0, sizeof(*op));
	op->kind = r->kind;
	op->worker = worker;
	op->session = cur;
	op->gen = info.seq;
	op->name_len = r->id_len;
	memcpy(op->name, r->id, r->id_len);
}

/* Take in one answer; @return the op when the worker must go on from op->session. */
static struct mq_op *
info_take(struct info_req *r, struct mq_op *op)
{
	if (op->rc < 0) {
		r->error = op->rc;
		r->stop = true;
	} else if (op->kind == MQ_OP_KICK) {
		r->ended += (unsigned int)op->rc;
	} else {
		const struct dp_mqttsn_client *recs = info_recs(op);

		for (uint16_t i = 0; i < op->nb_retained && !r->stop; i++)
			if (r->cb(&recs[i], r->arg) != 0)
				r->stop = true;
	}
	if (op->kind == MQ_OP_SNAPSHOT && op->wild && !r->stop)
		return op;
	rte_mempool_put(mq->op_pool, op);
	return NULL;
}

static int
info_run(struct info_req *r, char *err, size_t errlen)
{
	const unsigned int nw = dp.nb_workers;
	uint32_t next[DP_MAX_WORKERS] = { 0 };
	unsigned int busy[DP_MAX_WORKERS] = { 0 }, nb_again[DP_MAX_WORKERS] = { 0 };
	struct mq_op *again[DP_MAX_WORKERS][INFO_WINDOW];
	uint64_t hz = rte_get_tsc_hz(), start = rte_get_tsc_cycles(), heard[DP_MAX_WORKERS];
	int rc = 0;

	if (!dp.mqttsn || mq == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running (mqttsn.enabled is false)");
		return -ENOTSUP;
	}
	if (!dp.launched || dp.quit) {
		snprintf(err, errlen, "the workers are not running");
		return -ESHUTDOWN;
	}
	if (info.seq != 0) {
		snprintf(err, errlen, "another session request is in progress");
		return -EBUSY;
	}
	if (++info.last_seq == 0)
		info.last_seq = 1;
	info.seq = info.last_seq;
	info.nb = 0;
	for (unsigned int w = 0; w < nw; w++)
		heard[w] = start;

	while (!r->stop) {
		bool pending = false;
		unsigned int got;
		uint64_t now;

		for (unsigned int w = 0; w < nw; w++) {
			struct mq_worker *mw = mq->w[w];

			while (busy[w] < INFO_WINDOW) {
				struct mq_op *op;

				if (nb_again[w] > 0) {
					op = again[w][--nb_again[w]];
				} else if (next[w] < mw->nb_slots) {
					if (rte_mempool_get(mq->op_pool, (void **)&op) != 0)
						break;          /* the pool is busy: later */
					info_op_init(op, r, (uint16_t)w, next[w]);
					next[w] = info_chunk_end(next[w], mw->nb_slots);
				} else {
					break;
				}
				if (rte_ring_enqueue(mw->done, op) != 0) {
					again[w][nb_again[w]++] = op;
					break;
				}
				busy[w]++;
			}
			if (busy[w] > 0 || nb_again[w] > 0 || next[w] < mw->nb_slots)
				pending = true;
		}
		if (!pending)
			break;

		mqttsn_control_poll();
		now = rte_get_tsc_cycles();
		for (unsigned int i = 0; i < info.nb; i++) {
			struct mq_op *op = info.ans[i];
			uint16_t w = op->worker;

			busy[w]--;
			heard[w] = now;
			op = info_take(r, op);
			if (op != NULL)
				again[w][nb_again[w]++] = op;
		}
		got = info.nb;
		info.nb = 0;
		for (unsigned int w = 0; w < nw && rc == 0; w++)
			if (busy[w] > 0 && now - heard[w] > hz / 1000 * INFO_IDLE_MS) {
				snprintf(err, errlen, "worker %u did not answer within %u ms "
					 "(try again)", w, INFO_IDLE_MS);
				rc = -ETIMEDOUT;
			}
		if (rc == 0 && now - start > hz / 1000 * INFO_TOTAL_MS) {
			snprintf(err, errlen, "the workers did not answer within %u ms "
				 "(try again)", INFO_TOTAL_MS);
			rc = -ETIMEDOUT;
		}
		if (rc != 0)
			break;
		if (got == 0)
			rte_delay_us_sleep(INFO_POLL_US);
	}

	/* what is still out there is freed when it comes back (mq_info_answer) */
	info.seq = 0;
	for (unsigned int i = 0; i < info.nb; i++)
		rte_mempool_put(mq->op_pool, info.ans[i]);
	info.nb = 0;
	for (unsigned int w = 0; w < nw; w++)
		for (unsigned int i = 0; i < nb_again[w]; i++)
			rte_mempool_put(mq->op_pool, again[w][i]);
	if (rc == 0 && r->error != 0) {
		snprintf(err, errlen, "a worker could not answer: %s", strerror(-r->error));
		rc = r->error;
	}
	return rc;
}

int
dp_mqttsn_clients(const char *client_id, dp_mqttsn_client_fn cb, void *arg,
		  char *err, size_t errlen)
{
	struct info_req r = { .kind = MQ_OP_SNAPSHOT, .cb = cb, .arg = arg, .id = "" };

	if (client_id != NULL) {
		size_t len = strlen(client_id);

		/* no session has an id that long, or empty: ask nobody */
		if (len == 0 || len > MQTTSN_CLIENT_ID_SPEC_MAX)
			r.stop = true;
		r.id = client_id;
		r.id_len = (uint16_t)(r.stop ? 0 : len);
	}
	return info_run(&r, err, errlen);
}

int
dp_mqttsn_kick(const char *client_id, unsigned int *ended, char *err, size_t errlen)
{
	struct info_req r = { .kind = MQ_OP_KICK, .id = client_id };
	size_t len = strlen(client_id);
	int rc;

	*ended = 0;
	if (len == 0 || len > MQTTSN_CLIENT_ID_SPEC_MAX)
		r.stop = true;
	else
		r.id_len = (uint16_t)len;
	rc = info_run(&r, err, errlen);
	*ended = r.ended;
	return rc;
}
