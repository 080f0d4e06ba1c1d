/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN node's life cycle and its control-plane half: the main lcore
 * is the topic table's only writer and applies the requests the workers
 * queue (mqttsn_priv.h); the workers' per-iteration work that is not packet
 * handling (answers, publications from other workers, timers) is here too.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <urcu-qsbr.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "proto/coap.h"
#include "proto/coap_tconf.h"
#include "proto/topic.h"

/*
 * The ops ring (MQ_RING * 4 slots, 4095 usable) holds every op of the pool
 * at once, so a worker's enqueue on it never fails for room: a TAKE's
 * answer (TAKEN) relies on that.
 */
#define OP_POOL 4095
#define CTL_BURST 64

_Static_assert(OP_POOL <= MQ_RING * 4 - 1, "the ops ring must hold the whole op pool");

struct mq_global *mq;

/*
 * The control plane's map of client ids to sessions (MQ_OP_CLAIM), main
 * lcore only. The key is the id's length, then the id, zero-padded: so "a"
 * and "a\0" differ, and no key is all zeros (a key hashing to 0 would
 * collide with rte_hash's empty-slot signature: ids are never empty). The
 * value packs the session: bit 0 a takeover under way, bits 1-7 worker,
 * 8-31 slot, 32-63 generation.
 */
struct mq_cid {
	uint8_t len;
	char id[DP_MQTTSN_CLIENT_ID_MAX];
} __rte_aligned(8);

static struct rte_hash *cid_map;

/* Answers that found their worker's done ring full: sent again each poll. */
static struct {
	struct mq_op *op;
	uint16_t core;
} backlog[OP_POOL];
static unsigned int nb_backlog;

int
mqttsn_setup(const struct dp_mqttsn_params *p, char *err, size_t errlen)
{
	struct topic_table_params tp = {
		.max_topics = p->max_topics,
		.max_subs = p->max_subscriptions,
	};

	mq = rte_zmalloc("mq_global", sizeof(*mq), RTE_CACHE_LINE_SIZE);
	if (mq == NULL) {
		snprintf(err, errlen, "mqttsn: out of memory");
		return -ENOMEM;
	}
	mq->p = *p;
	mq->retry_tsc = rte_get_tsc_hz() / 1000 * p->retry_ms;
	/*
	 * The main lcore writes the topic table: a registered RCU thread, but
	 * offline between writer calls (the table brings it online for each),
	 * or no grace period would ever end: call_rcu would never free and the
	 * hash table would never resize.
	 */
	rcu_register_thread();
	rcu_thread_offline();
	mq->topics = topic_table_create(&tp);
	/* every worker queues requests: multi-producer, the main lcore consumes */
	mq->ops = rte_ring_create("tern_mq_ops", MQ_RING * 4, (int)rte_socket_id(),
				  RING_F_SC_DEQ);
	/* room for a name and a retained payload, or a name and retained topics */
	mq->op_room = 2u * p->max_message_size + 64;
	mq->op_pool = rte_mempool_create("tern_mq_ops", OP_POOL,
					 sizeof(struct mq_op) + mq->op_room, 64, 0,
					 NULL, NULL, NULL, NULL, (int)rte_socket_id(), 0);
	{
		struct rte_hash_parameters hp = {
			.name = "tern_mq_cids",
			.entries = RTE_MAX(p->max_clients + p->max_clients / 4, 64u),
			.key_len = sizeof(struct mq_cid),
			.hash_func = rte_hash_crc,
			.socket_id = (int)rte_socket_id(),
			.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
		};

		cid_map = rte_hash_create(&hp);
	}
	nb_backlog = 0;
	if (mq->topics == NULL || mq->ops == NULL || mq->op_pool == NULL || cid_map == NULL) {
		snprintf(err, errlen, "mqttsn: cannot create the topic table or its rings: %s",
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	if (mq_osap_setup(err, errlen) < 0)
		return -ENOMEM;
	return mq_sess_setup(dp.nb_workers, err, errlen);
}

void
mqttsn_teardown(void)
{
	void *op;

	if (mq == NULL)
		return;
	mq_sess_teardown();
	mq_conf_teardown();
	while (mq->ops != NULL && rte_ring_dequeue(mq->ops, &op) == 0)
		mq_op_put(op);
	for (unsigned int i = 0; i < nb_backlog; i++)
		mq_op_put(backlog[i].op);
	nb_backlog = 0;
	rte_hash_free(cid_map);
	cid_map = NULL;
	mq_osap_teardown();
	/* waits for the call_rcu work it queued */
	topic_table_free(mq->topics);
	rte_ring_free(mq->ops);
	rte_mempool_free(mq->op_pool);
	rcu_unregister_thread();
	rte_free(mq);
	mq = NULL;
}

void
mq_op_put(struct mq_op *op)
{
	if ((op->kind == MQ_OP_TAKEN || op->kind == MQ_OP_CLAIM) && op->nb_carry > 0) {
		for (uint16_t i = 0; i < op->nb_carry; i++)
			rte_pktmbuf_free(mq_op_carry(op)[i].pkt);
		op->nb_carry = 0;
	}
	rte_mempool_put(mq->op_pool, op);
}

struct topic_table *
dp_topic_table(void)
{
	return mq != NULL ? mq->topics : NULL;
}

struct retained_walk {
	struct mq_op *op;
	uint16_t max;
};

static int
collect_retained(const struct topic *node, void *arg)
{
	struct retained_walk *rw = arg;
	struct mq_op *op = rw->op;

	if (op->nb_retained >= rw->max)
		return 1;
	if (node->retained != NULL && topic_match(op->name, op->name_len, node->name, node->len))
		mq_op_retained(op)[op->nb_retained++] = (struct topic *)node;
	return 0;
}

/* The topics whose retained message a new subscription delivers, as many as fit. */
static void
find_retained(struct mq_op *op)
{
	uintptr_t end = (uintptr_t)op->name + mq->op_room;
	struct retained_walk rw = {
		.op = op,
		.max = (uint16_t)((end - (uintptr_t)mq_op_retained(op)) / sizeof(struct topic *)),
	};

	op->nb_retained = 0;
	if (!op->wild) {
		if (op->node != NULL && op->node->retained != NULL && rw.max > 0)
			mq_op_retained(op)[op->nb_retained++] = op->node;
		return;
	}
	topic_foreach(mq->topics, collect_retained, &rw);
}

static void
cid_key(const struct mq_op *op, struct mq_cid *k)
{
	memset(k, 0, sizeof(*k));
	k->len = (uint8_t)RTE_MIN(op->name_len, (uint16_t)DP_MQTTSN_CLIENT_ID_MAX);
	memcpy(k->id, op->name, k->len);
}

static inline uintptr_t
cid_val(uint16_t worker, uint32_t session, uint32_t gen, bool pending)
{
	return (uintptr_t)((uint64_t)gen << 32 | (uint64_t)(session & 0xffffff) << 8 |
			   (uint64_t)(worker & 0x7f) << 1 | pending);
}

/* Hand @p op to worker @p core's done ring, or keep it for the next poll. */
void
mq_op_answer(struct mq_op *op, uint16_t core)
{
	if (core >= dp.nb_workers) {
		mq_op_put(op);
		return;
	}
	if (nb_backlog == 0 && rte_ring_enqueue(mq->w[core]->done, op) == 0)
		return;
	/* every op fits: the backlog is as large as the pool */
	backlog[nb_backlog].op = op;
	backlog[nb_backlog].core = core;
	nb_backlog++;
}

static void
backlog_flush(void)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < nb_backlog; i++)
		if (rte_ring_enqueue(mq->w[backlog[i].core]->done, backlog[i].op) != 0)
			backlog[k++] = backlog[i];
	nb_backlog = k;
}

int
mq_cid_find(const char *id, size_t len, uint16_t *worker, uint32_t *session, uint32_t *gen)
{
	struct mq_cid k;
	uintptr_t v;
	void *data;

	if (cid_map == NULL || len == 0 || len > DP_MQTTSN_CLIENT_ID_MAX)
		return -ENOENT;
	memset(&k, 0, sizeof(k));
	k.len = (uint8_t)len;
	memcpy(k.id, id, len);
	if (rte_hash_lookup_data(cid_map, &k, &data) < 0)
		return -ENOENT;
	v = (uintptr_t)data;
	*worker = (uint16_t)(v >> 1 & 0x7f);
	*session = (uint32_t)(v >> 8 & 0xffffff);
	*gen = (uint32_t)((uint64_t)v >> 32);
	return 0;
}

/*
 * A CONNECT's client id: ours at once, or after its session is taken over.
 * An OSAP admission the id has is checked and bound first (osap_access.c).
 */
static void
claim(struct mq_op *op)
{
	uintptr_t me = cid_val(op->worker, op->session, op->gen, false), v = 0;
	struct mq_cid k;
	void *data;
	bool found, held;
	int r;

	cid_key(op, &k);
	op->rc = 0;
	op->taken = 0;
	held = rte_hash_lookup_data(cid_map, &k, &data) >= 0;
	found = held && (uintptr_t)data != me;
	if (found && ((v = (uintptr_t)data) & 1)) {
		/* a takeover of this id is under way: the client tries again */
		op->rc = -EBUSY;
		mq_op_answer(op, op->worker);
		return;
	}
	r = mq_osap_claim(op, held);
	if (r < 0) {
		op->rc = r;
		mq_op_answer(op, op->worker);
		return;
	}
	if (!found) {
		if (rte_hash_add_key_data(cid_map, &k, (void *)me) < 0)
			op->rc = -ENOSPC;
		mq_op_answer(op, op->worker);
		return;
	}
	op->old_worker = (uint16_t)(v >> 1 & 0x7f);
	op->old_session = (uint32_t)(v >> 8 & 0xffffff);
	op->old_gen = (uint32_t)(v >> 32);
	rte_hash_add_key_data(cid_map, &k, (void *)cid_val(op->worker, op->session, op->gen,
							   true));
	op->kind = MQ_OP_TAKE;
	mq_op_answer(op, op->old_worker);
}

/* The old session is gone: its subscriptions go to the new one, or (clean) away. */
static void
taken(struct mq_op *op)
{
	struct topic_sub_ref to = { .core = op->worker, .session = op->session, .gen = op->gen };
	struct mq_cid k;
	int r;

	if (op->clean) {
		topic_unsubscribe_all(mq->topics, op->old_worker, op->old_session, op->old_gen);
		r = 0;
	} else {
		r = topic_move_session(mq->topics, op->old_worker, op->old_session, op->old_gen,
				       &to);
		if (r < 0)
			r = 0;   /* out of memory: the client subscribes again */
	}
	cid_key(op, &k);
	rte_hash_add_key_data(cid_map, &k, (void *)cid_val(op->worker, op->session, op->gen,
							   false));
	op->rc = r;
	op->kind = MQ_OP_CLAIM;
	mq_op_answer(op, op->worker);
}

/* A session ended: forget its client id, unless another session has it now. */
static void
forget_cid(struct mq_op *op)
{
	struct mq_cid k;
	void *data;

	if (op->name_len == 0)
		return;
	cid_key(op, &k);
	if (rte_hash_lookup_data(cid_map, &k, &data) >= 0 &&
	    ((uintptr_t)data & ~(uintptr_t)1) ==
	    cid_val(op->worker, op->session, op->gen, false))
		rte_hash_del_key(cid_map, &k);
}

/*
 * A CoAP listing (the collection, /.well-known/core): the whole link-format
 * document, filtered by the request's query, of which the block asked for
 * goes back in the op (the document's length in op->old_gen).
 */
struct list_walk {
	char *buf;
	size_t cap, len;
	const char *q;
	size_t qlen;
	char path[TOPIC_NAME_MAX + DP_COAP_PREFIX_LEN + 8];
	const struct coap_tconf *filter;   /* FETCH: the properties to match */
	int err;
};

static int
list_one(struct list_walk *lw, struct coap_link *l)
{
	if (!coap_link_match(l, lw->q, lw->qlen))
		return 0;
	while (coap_link_append(lw->buf, lw->cap, &lw->len, l) < 0) {
		char *nb;

		if (lw->cap >= (size_t)1 << 26) {
			lw->err = -ENOSPC;
			return 1;
		}
		nb = realloc(lw->buf, lw->cap * 2);
		if (nb == NULL) {
			lw->err = -ENOMEM;
			return 1;
		}
		lw->buf = nb;
		lw->cap *= 2;
	}
	return 0;
}

/* A topic's two links: its topic resource, then its topic-data resource. */
static int
list_topic(const struct topic *node, void *arg)
{
	struct list_walk *lw = arg;
	struct coap_link conf = { .rt = "core.ps.conf", .ct = COAP_FMT_PUBSUB };
	struct coap_link data = { .rt = "core.ps.data", .ct = -1, .obs = true };
	int n;

	if (!coap_topic_listed(node, lw->filter))
		return 0;
	n = snprintf(lw->path, sizeof(lw->path), "%s/" COAP_CONF_LEVEL "/%.*s", cp->p.prefix,
		     (int)node->len, node->name);
	if (n < 0 || (size_t)n >= sizeof(lw->path))
		return 0;
	conf.path = lw->path;
	conf.path_len = (size_t)n;
	if (list_one(lw, &conf) != 0)
		return 1;
	if (lw->filter != NULL)
		return 0;   /* a FETCH lists topic resources only (pub/sub 2.4.2) */
	n = snprintf(lw->path, sizeof(lw->path), "%s/%.*s", cp->p.prefix, (int)node->len,
		     node->name);
	data.path = lw->path;
	data.path_len = (size_t)n;
	return list_one(lw, &data);
}

static void
list_build(struct mq_op *op)
{
	struct list_walk lw = { .cap = 4096, .q = op->name, .qlen = op->name_len };
	size_t bs = coap_block_size(op->data_flags), off = (size_t)op->old_session * bs, n;
	struct coap_tconf filter;

	op->rc = 0;
	if (op->method == COAP_FETCH) {
		/* pub/sub 2.4.2: the topics whose properties match the payload's */
		if (coap_tconf_decode((const uint8_t *)op->name, op->name_len, &filter) < 0) {
			op->rc = -EINVAL;
			return;
		}
		lw.filter = &filter;
		lw.qlen = 0;
	}
	lw.buf = malloc(lw.cap);
	if (lw.buf == NULL || cp == NULL) {
		free(lw.buf);
		op->rc = -ENOMEM;
		return;
	}
	if (op->wild) {
		struct coap_link l = { .path = cp->p.prefix, .path_len = cp->prefix_len,
				       .rt = "core.ps.coll", .ct = COAP_FMT_LINK };

		list_one(&lw, &l);
	}
	if (lw.err == 0)
		topic_foreach(mq->topics, list_topic, &lw);
	if (lw.err < 0) {
		op->rc = lw.err;
	} else if (off > 0 && off >= lw.len) {
		op->rc = -ERANGE;          /* a block past the end */
	} else {
		n = RTE_MIN(lw.len - off, bs);
		n = RTE_MIN(n, (size_t)mq->op_room);
		memcpy(op->name, lw.buf + off, n);
		op->name_len = 0;
		op->data_len = (uint16_t)n;
		op->old_gen = (uint32_t)lw.len;
	}
	free(lw.buf);
}

static void
apply(struct mq_op *op)
{
	struct topic_sub_ref ref = {
		.core = op->worker, .qos = op->qos, .session = op->session, .gen = op->gen,
	};
	struct topic_table *t = mq->topics;
	bool had;

	switch (op->kind) {
	case MQ_OP_REGISTER:
		op->node = topic_create(t, op->name, op->name_len);
		op->rc = op->node != NULL ? 0 : -errno;
		coap_topic_revive(op->node);
		break;
	case MQ_OP_SUBSCRIBE:
		if (!op->wild) {
			/* the node, for the topic id SUBACK carries */
			op->node = topic_create(t, op->name, op->name_len);
			if (op->node == NULL) {
				op->rc = -errno;
				break;
			}
			if (op->proto == MQ_PROTO_COAP) {
				/* a deleted topic, or its max-subscribers reached */
				op->rc = coap_topic_admit(op->node);
				if (op->rc < 0)
					break;
			} else {
				coap_topic_revive(op->node);
			}
		}
		op->rc = topic_subscribe(t, op->name, op->name_len, &ref);
		if (op->rc >= 0)
			find_retained(op);
		break;
	case MQ_OP_UNSUBSCRIBE:
		op->rc = topic_unsubscribe(t, op->name, op->name_len, &ref);
		break;
	case MQ_OP_FORGET:
		op->rc = topic_unsubscribe_all(t, op->worker, op->session, op->gen);
		forget_cid(op);
		break;
	case MQ_OP_RETAIN:
		op->node = topic_create(t, op->name, op->name_len);
		if (op->node == NULL) {
			op->rc = -errno;
			break;
		}
		had = op->node->retained != NULL;
		if (op->proto == MQ_PROTO_COAP && op->wild) {
			/* a CoAP DELETE of the value: its observers end (pub/sub 3.2.4) */
			if (!had) {
				op->rc = -ENOENT;
				break;
			}
			op->rc = topic_set_retained(t, op->node, NULL, 0, 0);
			coap_topic_data_deleted(op->node);
			break;
		}
		if (op->data_len > 0)
			coap_topic_revive(op->node);
		op->rc = topic_set_retained_fmt(t, op->node, op->name + op->name_len,
						op->data_len, op->data_flags, op->fmt);
		/* CoAP: a topic's first value is answered 2.01 Created (pub/sub 3.2.1) */
		if (op->rc == 0 && op->proto == MQ_PROTO_COAP && !had)
			op->rc = 1;
		break;
	case MQ_OP_WILL:
		op->node = topic_create(t, op->name, op->name_len);
		op->rc = op->node == NULL ? -errno : 0;
		coap_topic_revive(op->node);
		if (op->node != NULL && (op->data_flags & MQTTSN_FLAG_RETAIN)) {
			had = op->node->retained != NULL;
			op->rc = topic_set_retained_fmt(t, op->node, op->name + op->name_len,
							op->data_len,
							(uint8_t)mqttsn_flags_qos(op->data_flags),
							op->fmt);
			if (op->rc == 0 && op->proto == MQ_PROTO_COAP && !had)
				op->rc = 1;
		}
		break;
	case MQ_OP_LIST:
		list_build(op);
		break;
	case MQ_OP_TCONF:
		coap_topic_op(op);
		break;
	}
}

void
mqttsn_control_poll(void)
{
	void *ops[CTL_BURST];
	unsigned int n;

	if (mq == NULL)
		return;
	if (nb_backlog > 0)
		backlog_flush();
	coap_topic_tick();
	n = rte_ring_dequeue_burst(mq->ops, ops, CTL_BURST, NULL);
	for (unsigned int i = 0; i < n; i++) {
		struct mq_op *op = ops[i];

		if (op->kind == MQ_OP_SNAPSHOT || op->kind == MQ_OP_KICK) {
			/* a worker's answer to the control plane's question */
			if (op->proto == MQ_PROTO_COAP)
				coap_info_answer(op);
			else
				mq_info_answer(op);
			continue;
		}
		if (op->kind == MQ_OP_CLAIM) {
			claim(op);
			continue;
		}
		if (op->kind == MQ_OP_TAKEN) {
			taken(op);
			continue;
		}
		apply(op);
		if (op->kind == MQ_OP_FORGET ||
		    (op->kind == MQ_OP_RETAIN && op->proto != MQ_PROTO_COAP) ||
		    (op->kind == MQ_OP_WILL && op->node == NULL && op->proto != MQ_PROTO_COAP) ||
		    op->worker >= dp.nb_workers ||
		    rte_ring_enqueue(mq->w[op->worker]->done, op) != 0)
			/* no answer to give, or nowhere to give it: the client retries */
			rte_mempool_put(mq->op_pool, op);
	}
}

void
mqttsn_flush_fwd(struct dp_worker *w, uint16_t core)
{
	struct dp_txbuf *b = &w->mq->fwd[core];
	unsigned int sent, i;

	sent = rte_ring_enqueue_burst(mq->w[core]->deliv, (void **)b->m, b->n, NULL);
	for (i = sent; i < b->n; i++) {
		dp_cnt_add(w, dp.port_idx_of[b->m[i]->port], DP_CNT_MQTTSN_DELIVER_FAILED, 1);
		rte_pktmbuf_free(b->m[i]);
	}
	b->n = 0;
}

void
mqttsn_poll(struct dp_worker *w)
{
	struct mq_worker *mw = w->mq;
	void *objs[DP_BURST];
	unsigned int n, i;

	n = rte_ring_dequeue_burst(mw->done, objs, DP_BURST, NULL);
	for (i = 0; i < n; i++)
		mq_done(w, objs[i]);
	n = rte_ring_dequeue_burst(mw->deliv, objs, DP_BURST, NULL);
	for (i = 0; i < n; i++) {
		mq_deliver_local(w, objs[i]);
		rte_pktmbuf_free(objs[i]);
	}
	mq_sess_scan(w);
	mq_adv_poll(w);
	for (uint16_t c = 0; c < dp.nb_workers; c++)
		if (mw->fwd[c].n)
			mqttsn_flush_fwd(w, c);
}

void
mqttsn_drain(struct dp_worker *w)
{
	struct mq_worker *mw = w->mq;
	void *obj;

	for (uint16_t c = 0; c < dp.nb_workers; c++) {
		for (uint16_t i = 0; i < mw->fwd[c].n; i++)
			rte_pktmbuf_free(mw->fwd[c].m[i]);
		mw->fwd[c].n = 0;
	}
	while (rte_ring_dequeue(mw->deliv, &obj) == 0)
		rte_pktmbuf_free(obj);
	while (rte_ring_dequeue(mw->done, &obj) == 0)
		mq_op_put(obj);
	for (uint32_t s = 0; s < mw->nb_slots; s++) {
		struct mq_sess *ss = &mw->sess[s];

		for (uint16_t i = 0; i < mq->p.max_inflight; i++)
			if (ss->out[i].kind != MQ_OUT_FREE)
				mq_out_release(&ss->out[i]);
		for (uint16_t i = 0; i < ss->nb_sleep; i++)
			mq_out_release(&ss->sleepq[i]);
		ss->nb_sleep = 0;
	}
}
