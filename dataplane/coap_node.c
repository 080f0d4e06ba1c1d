/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CoAP node's fast path: a request in, its answer out; observe
 * notifications; the timers. See coap_priv.h for the design and
 * docs/coap.md for what a client sees.
 */

#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include <urcu-qsbr.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "proto/topic.h"

#define WELL_KNOWN "well-known/core"       /* after the '.' */

/* Options the node understands; a critical one not here gets 4.02. */
static const uint16_t known_opts[] = {
	COAP_OPT_IF_MATCH, COAP_OPT_URI_HOST, COAP_OPT_ETAG, COAP_OPT_IF_NONE_MATCH,
	COAP_OPT_OBSERVE, COAP_OPT_URI_PORT, COAP_OPT_URI_PATH, COAP_OPT_CONTENT_FORMAT,
	COAP_OPT_MAX_AGE, COAP_OPT_URI_QUERY, COAP_OPT_ACCEPT, COAP_OPT_BLOCK2,
	COAP_OPT_BLOCK1, COAP_OPT_SIZE2, COAP_OPT_PROXY_URI, COAP_OPT_PROXY_SCHEME,
	COAP_OPT_SIZE1, COAP_OPT_NO_RESPONSE,
};

/*
 * Option value lengths (RFC 7252 table 4, RFC 7641, RFC 7959, RFC 7967) and
 * whether an option may repeat. An option outside its range is treated as
 * unrecognized (RFC 7252 5.4.3): a critical one is refused with 4.02, an
 * elective one ignored; a non-repeatable critical option given twice is
 * refused (5.4.5), an elective one counts once.
 */
struct opt_rule {
	uint16_t num;
	uint16_t min, max;
	bool repeat;
};

static const struct opt_rule opt_rules[] = {
	{ COAP_OPT_IF_MATCH, 0, 8, true },
	{ COAP_OPT_URI_HOST, 1, 255, false },
	{ COAP_OPT_ETAG, 1, 8, true },
	{ COAP_OPT_IF_NONE_MATCH, 0, 0, false },
	{ COAP_OPT_OBSERVE, 0, 3, false },
	{ COAP_OPT_URI_PORT, 0, 2, false },
	{ COAP_OPT_URI_PATH, 0, 255, true },
	{ COAP_OPT_CONTENT_FORMAT, 0, 2, false },
	{ COAP_OPT_MAX_AGE, 0, 4, false },
	{ COAP_OPT_URI_QUERY, 0, 255, true },
	{ COAP_OPT_ACCEPT, 0, 2, false },
	{ COAP_OPT_BLOCK2, 0, 3, false },
	{ COAP_OPT_BLOCK1, 0, 3, false },
	{ COAP_OPT_SIZE2, 0, 4, false },
	{ COAP_OPT_PROXY_URI, 1, 1034, false },
	{ COAP_OPT_PROXY_SCHEME, 1, 255, false },
	{ COAP_OPT_SIZE1, 0, 4, false },
	{ COAP_OPT_NO_RESPONSE, 0, 1, false },
};

/* Is the first occurrence of elective option @p num usable (in range)? */
static const struct coap_opt *
elective(const struct coap_msg *m, uint16_t num)
{
	const struct coap_opt *o = coap_opt_find(m, num);

	for (unsigned int i = 0; o != NULL && i < RTE_DIM(opt_rules); i++)
		if (opt_rules[i].num == num &&
		    (o->len < opt_rules[i].min || o->len > opt_rules[i].max))
			return NULL;
	return o;
}

/* A critical option out of its range or repeated: the request is refused (4.02). */
static bool
critical_bad(const struct coap_msg *m)
{
	for (unsigned int k = 0; k < m->nb_opts; k++) {
		const struct coap_opt *o = &m->opts[k];

		if (!coap_opt_critical(o->num))
			continue;
		for (unsigned int i = 0; i < RTE_DIM(opt_rules); i++) {
			if (opt_rules[i].num != o->num)
				continue;
			if (o->len < opt_rules[i].min || o->len > opt_rules[i].max)
				return true;
			if (!opt_rules[i].repeat && k > 0 && m->opts[k - 1].num == o->num)
				return true;
		}
	}
	return false;
}

static inline void
cnt(struct dp_worker *w, uint16_t pidx, unsigned int i)
{
	dp_cnt_add(w, pidx, i, 1);
}

/* What a request is answered with, and where. */
struct cp_req {
	struct dp_worker *w;
	uint16_t pidx;
	struct net_peer peer;
	struct cp_ep *ep;             /* NULL: no room for the peer's state */
	const struct coap_msg *msg;
	struct cp_dedup *dd;          /* the de-duplication entry to keep the answer in */
};

/* ---- frames ---- */

/* A new frame to @p peer with room for a CoAP message; its writer in @p cw. */
static struct rte_mbuf *
frame_new(const struct net_peer *peer, struct coap_writer *cw, uint8_t type, uint8_t code,
	  uint16_t mid, const uint8_t *token, uint8_t tkl)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	size_t hl = net_udp_header_len(peer);
	size_t cap;

	if (m == NULL)
		return NULL;
	cap = rte_pktmbuf_tailroom(m) - hl;
	if (cap > cp->p.max_message_size)
		cap = cp->p.max_message_size;
	coap_w_init(cw, rte_pktmbuf_mtod(m, uint8_t *) + hl, cap, type, code, mid, token, tkl);
	return m;
}

/* Finish a frame: the headers and lengths for @p extra payload bytes chained after it. */
static int
frame_finish(struct rte_mbuf *m, const struct coap_writer *cw, uint16_t pidx,
	     const struct net_peer *peer, size_t extra, uint32_t extra_sum)
{
	size_t hl = net_udp_header_len(peer);
	uint8_t *buf = rte_pktmbuf_mtod(m, uint8_t *);
	int len = coap_w_finish(cw);
	uint32_t sum;

	if (len < 0)
		return len;
	sum = net_cksum_add(0, buf + hl, (size_t)len);
	if (extra > 0)
		sum = net_cksum_combine(sum, extra_sum, (size_t)len);
	if (net_udp_header(buf, hl, &dp.ports[pidx].nif, peer, peer->lport, (size_t)len + extra,
			   sum) < 0)
		return -EINVAL;
	m->data_len = (uint16_t)(hl + (size_t)len);
	m->pkt_len = m->data_len;
	return 0;
}

/* Send @p m on @p pidx, counting it by code class. */
static void
send_frame(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, uint8_t code)
{
	unsigned int c = COAP_CODE_CLASS(code);

	cnt(w, pidx, code == COAP_EMPTY ? DP_CNT_COAP_TX_EMPTY :
		     c == 2 ? DP_CNT_COAP_TX_2XX : c == 4 ? DP_CNT_COAP_TX_4XX :
		     c == 5 ? DP_CNT_COAP_TX_5XX : DP_CNT_COAP_TX_EMPTY);
	dp_tx(w, pidx, m);
}

/* An empty ACK or RST to @p mid (pings, rejections; RFC 7252 4.2, 4.3). */
static void
send_empty(struct dp_worker *w, uint16_t pidx, const struct net_peer *peer, uint8_t type,
	   uint16_t mid)
{
	struct coap_writer cw;
	struct rte_mbuf *m = frame_new(peer, &cw, type, COAP_EMPTY, mid, NULL, 0);

	if (m == NULL || frame_finish(m, &cw, pidx, peer, 0, 0) < 0) {
		rte_pktmbuf_free(m);
		cnt(w, pidx, DP_CNT_REPLY_FAILED);
		return;
	}
	cnt(w, pidx, type == COAP_RST ? DP_CNT_COAP_TX_RST : DP_CNT_COAP_TX_EMPTY);
	dp_tx(w, pidx, m);
}

/* The answer's type and id: piggybacked in the ACK of a CON, else a NON of its own. */
static void
answer_head(const struct cp_req *r, uint8_t *type, uint16_t *mid)
{
	if (r->msg->type == COAP_CON) {
		*type = COAP_ACK;
		*mid = r->msg->mid;
	} else {
		*type = COAP_NON;
		*mid = r->ep != NULL ? r->ep->next_mid++ : (uint16_t)rte_rand();
	}
}

/* Send an answer built in @p m; a CON's answer is kept for its duplicates. */
static void
answer_send(struct cp_req *r, struct rte_mbuf *m, uint8_t code)
{
	if (r->dd != NULL && r->msg->type == COAP_CON) {
		rte_pktmbuf_refcnt_update(m, 1);
		r->dd->resp = m;
	}
	send_frame(r->w, r->pidx, m, code);
}

/* A retained message's etag as the ETag option's 4 bytes. */
static const uint8_t *
etag_bytes(uint32_t etag, uint8_t tag[4])
{
	tag[0] = (uint8_t)(etag >> 24);
	tag[1] = (uint8_t)(etag >> 16);
	tag[2] = (uint8_t)(etag >> 8);
	tag[3] = (uint8_t)etag;
	return tag;
}

/* Does one of the request's options @p num (ETag, If-Match) name @p etag? */
static bool
etag_listed(const struct coap_msg *m, uint16_t num, uint32_t etag)
{
	const struct coap_opt *o = coap_opt_find(m, num);
	uint8_t tag[4];

	if (o == NULL || etag == 0)
		return false;
	etag_bytes(etag, tag);
	for (; o < m->opts + m->nb_opts && o->num == num; o++)
		if (o->len == sizeof(tag) && memcmp(o->val, tag, sizeof(tag)) == 0)
			return true;
	return false;
}

/* A response without payload (errors), with an optional Max-Age or Size1. */
static void
reply(struct cp_req *r, uint8_t code, int opt, uint32_t val)
{
	struct coap_writer cw;
	struct rte_mbuf *m;
	uint8_t type;
	uint16_t mid;

	answer_head(r, &type, &mid);
	m = frame_new(&r->peer, &cw, type, code, mid, r->msg->token, r->msg->tkl);
	if (m == NULL) {
		cnt(r->w, r->pidx, DP_CNT_REPLY_FAILED);
		return;
	}
	if (opt >= 0)
		coap_w_opt_uint(&cw, (uint16_t)opt, val);
	if (frame_finish(m, &cw, r->pidx, &r->peer, 0, 0) < 0) {
		rte_pktmbuf_free(m);
		cnt(r->w, r->pidx, DP_CNT_REPLY_FAILED);
		return;
	}
	answer_send(r, m, code);
}

/*
 * A response carrying @p body (copied), block-wise when it is larger than
 * the block size (the node's, or smaller if the client asked with Block2):
 * @p blk the client's Block2 (NULL: block 0), @p total the whole body's size
 * when @p body is only the block asked for (listings), else 0.
 */
static void
reply_full(struct cp_req *r, uint8_t code, int observe, uint32_t seq, uint16_t fmt,
	   uint32_t etag, const char *loc, size_t loc_len, const uint8_t *body, size_t len,
	   const struct coap_block *blk, size_t total)
{
	uint8_t szx = coap_block_szx_for(cp->p.block_size);
	struct coap_block b = { 0 };
	struct coap_writer cw;
	struct rte_mbuf *m;
	size_t off = 0, n = len, whole = total ? total : len;
	uint8_t type, tag[4];
	uint16_t mid;

	if (blk != NULL) {
		b = *blk;
		if (b.szx < szx)
			szx = b.szx;
	}
	b.szx = szx;
	if (whole > coap_block_size(szx) || blk != NULL) {
		off = total ? 0 : (size_t)b.num * coap_block_size(szx);
		if ((total ? (size_t)b.num * coap_block_size(szx) : off) >= whole && whole > 0) {
			reply(r, COAP_BAD_OPTION, -1, 0);   /* past the end (RFC 7959 2.2) */
			return;
		}
		n = len - (total ? 0 : off);
		if (n > coap_block_size(szx))
			n = coap_block_size(szx);
		b.more = (size_t)b.num * coap_block_size(szx) + n < whole;
	}
	answer_head(r, &type, &mid);
	m = frame_new(&r->peer, &cw, type, code, mid, r->msg->token, r->msg->tkl);
	if (m == NULL) {
		cnt(r->w, r->pidx, DP_CNT_REPLY_FAILED);
		return;
	}
	if (etag != 0)
		coap_w_opt(&cw, COAP_OPT_ETAG, etag_bytes(etag, tag), sizeof(tag));
	if (observe)
		coap_w_opt_uint(&cw, COAP_OPT_OBSERVE, seq);
	if (loc != NULL) {
		/* Location-Path: <prefix>, $conf, then one option per level */
		const char *p = loc, *end = loc + loc_len, *slash;

		coap_w_opt(&cw, COAP_OPT_LOCATION_PATH, cp->p.prefix, cp->prefix_len);
		coap_w_opt(&cw, COAP_OPT_LOCATION_PATH, COAP_CONF_LEVEL, strlen(COAP_CONF_LEVEL));
		for (;;) {
			slash = memchr(p, '/', (size_t)(end - p));
			coap_w_opt(&cw, COAP_OPT_LOCATION_PATH, p,
				   (size_t)((slash != NULL ? slash : end) - p));
			if (slash == NULL)
				break;
			p = slash + 1;
		}
	}
	if (fmt != CP_NO_FMT)
		coap_w_opt_uint(&cw, COAP_OPT_CONTENT_FORMAT, fmt);
	if (observe || cp->p.max_age != 60)
		coap_w_opt_uint(&cw, COAP_OPT_MAX_AGE, cp->p.max_age);
	if (whole > coap_block_size(szx) || blk != NULL) {
		coap_w_opt_uint(&cw, COAP_OPT_BLOCK2, coap_block_value(&b));
		if (b.num == 0)
			coap_w_opt_uint(&cw, COAP_OPT_SIZE2, (uint32_t)whole);
	}
	coap_w_payload(&cw, body + off, n);
	if (frame_finish(m, &cw, r->pidx, &r->peer, 0, 0) < 0) {
		rte_pktmbuf_free(m);
		cnt(r->w, r->pidx, DP_CNT_REPLY_FAILED);
		return;
	}
	answer_send(r, m, code);
}

static void
reply_body(struct cp_req *r, uint8_t code, int observe, uint32_t seq, uint16_t fmt,
	   const uint8_t *body, size_t len, const struct coap_block *blk, size_t total)
{
	reply_full(r, code, observe, seq, fmt, 0, NULL, 0, body, len, blk, total);
}

/* ---- endpoints ---- */

static void
key_of(const struct net_peer *peer, uint16_t pidx, struct cp_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, peer->addr, peer->v6 ? 16 : 4);
	k->port = peer->port;
	k->v6 = peer->v6;
	k->pidx = (uint8_t)pidx;
	k->lport = peer->lport;
}

static struct cp_ep *
ep_find_or_new(struct cp_worker *cw, const struct cp_key *k, bool *created)
{
	void *slot;
	struct cp_ep *e;
	uint32_t s;

	*created = false;
	if (rte_hash_lookup_data(cw->by_addr, k, &slot) >= 0)
		return &cw->ep[(uintptr_t)slot];
	if (cw->nb_ep_active >= cw->nb_ep_slots)
		return NULL;
	s = cw->ep_free[cw->nb_ep_slots - cw->nb_ep_active - 1];
	if (rte_hash_add_key_data(cw->by_addr, k, (void *)(uintptr_t)s) < 0)
		return NULL;
	e = &cw->ep[s];
	e->used = true;
	e->key = *k;
	e->next_mid = (uint16_t)rte_rand();
	e->nb_obs = 0;
	e->first_obs = UINT32_MAX;
	e->dedup_next = 0;
	e->rl_last = rte_get_tsc_cycles();
	e->rl_tokens = cp->p.rate_limit;
	cw->nb_ep_active++;
	*created = true;
	return e;
}

static void
ep_free(struct cp_worker *cw, struct cp_ep *e)
{
	ep_release(e);
	rte_hash_del_key(cw->by_addr, &e->key);
	e->used = false;
	e->gen++;
	cw->nb_ep_active--;
	cw->ep_free[cw->nb_ep_slots - cw->nb_ep_active - 1] = (uint32_t)(e - cw->ep);
}

/* ---- observers ---- */

static struct cp_obs *
obs_new(struct cp_worker *cw, struct cp_ep *e)
{
	struct cp_obs *o;
	uint32_t s;

	if (cw->nb_obs_active >= cw->nb_obs_slots || e->nb_obs >= cp->p.max_observers_per_endpoint)
		return NULL;
	s = cw->obs_free[cw->nb_obs_slots - cw->nb_obs_active - 1];
	cw->nb_obs_active++;
	o = &cw->obs[s];
	o->ep = (uint32_t)(e - cw->ep);
	o->ep_gen = e->gen;
	o->next = e->first_obs;
	e->first_obs = s;
	e->nb_obs++;
	o->seq = 0;
	o->since_con = 0;
	o->last_con = rte_get_tsc_cycles();
	o->last_mid = 0;
	o->notified = false;
	o->node = NULL;
	return o;
}

/* End observer @p o: unlink it and drop its subscription (through the control plane). */
static void
obs_end(struct dp_worker *w, struct cp_obs *o)
{
	struct cp_worker *cw = w->cp;
	struct cp_ep *e = &cw->ep[o->ep];
	uint32_t s = (uint32_t)(o - cw->obs);
	struct mq_op *op;

	if (o->state == CP_OBS_ACTIVE) {
		op = mq_op_new(MQ_OP_FORGET, w, NULL);
		if (op != NULL) {
			op->proto = MQ_PROTO_COAP;
			op->session = CP_REF_BIT | s;
			op->gen = o->gen;
		}
		if (op == NULL || !mq_op_submit(w, op))
			/* the subscription outlives it; the generation bump skips it */
			cnt(w, e->pidx, DP_CNT_COAP_OPS_FAILED);
	}
	if (e->used && e->gen == o->ep_gen) {
		uint32_t *p = &e->first_obs;

		while (*p != UINT32_MAX && *p != s)
			p = &cw->obs[*p].next;
		if (*p == s)
			*p = o->next;
		e->nb_obs--;
		if (e->con_pkt != NULL && e->con_obs == s) {
			rte_pktmbuf_free(e->con_pkt);
			e->con_pkt = NULL;
		}
	}
	o->state = CP_OBS_FREE;
	o->gen++;
	cw->nb_obs_active--;
	cw->obs_free[cw->nb_obs_slots - cw->nb_obs_active - 1] = s;
	cnt(w, e->pidx, DP_CNT_COAP_OBS_ENDED);
}

/*
 * The topic or its value was deleted, or its subscriber limit lowered: the
 * observer gets a final 4.04 (RFC 7641 3.2), no Observe option, and ends.
 * The control plane already took its subscription out of the table.
 */
static void
obs_gone(struct dp_worker *w, struct cp_obs *o)
{
	struct cp_ep *e = &w->cp->ep[o->ep];
	struct coap_writer wr;
	struct rte_mbuf *m;

	if (e->used && e->gen == o->ep_gen) {
		m = frame_new(&e->peer, &wr, COAP_NON, COAP_NOT_FOUND, e->next_mid++, o->token,
			      o->tkl);
		if (m != NULL && frame_finish(m, &wr, e->pidx, &e->peer, 0, 0) == 0) {
			send_frame(w, e->pidx, m, COAP_NOT_FOUND);
		} else {
			rte_pktmbuf_free(m);
			cnt(w, e->pidx, DP_CNT_COAP_NOTIFY_FAILED);
		}
	}
	o->state = CP_OBS_PENDING;   /* no FORGET: the subscription is gone already */
	obs_end(w, o);
}

static struct cp_obs *
obs_by_token(struct cp_worker *cw, const struct cp_ep *e, const uint8_t *token, uint8_t tkl)
{
	for (uint32_t s = e->first_obs; s != UINT32_MAX; s = cw->obs[s].next) {
		struct cp_obs *o = &cw->obs[s];

		if (o->tkl == tkl && memcmp(o->token, token, tkl) == 0)
			return o;
	}
	return NULL;
}

/* The current value of @p node: a copy of its retained message, as a response body. */
static void
reply_value(struct cp_req *r, struct topic *node, int observe, uint32_t seq,
	    const struct coap_block *blk)
{
	const struct topic_retained *v;

	rcu_read_lock();
	v = node != NULL ? topic_retained_get(node) : NULL;
	if (v == NULL)
		reply_body(r, COAP_CONTENT, observe, seq, CP_NO_FMT, NULL, 0, blk, 0);
	else
		reply_full(r, COAP_CONTENT, observe, seq,
			   v->fmt != 0 ? (uint16_t)(v->fmt - 1) : CP_NO_FMT, v->etag, NULL, 0,
			   v->payload, v->len, blk, 0);
	rcu_read_unlock();
}

/* ---- requests ---- */

/* Hand a named request to the control plane; false if it could not. */
static struct mq_op *
op_for(struct cp_req *r, uint8_t kind, const char *name, size_t len)
{
	struct mq_op *op;

	if (len > mq->op_room) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		return NULL;
	}
	op = mq_op_new(kind, r->w, NULL);
	if (op == NULL) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		return NULL;
	}
	op->proto = MQ_PROTO_COAP;
	op->name_len = (uint16_t)len;
	memcpy(op->name, name, len);
	return op;
}

/* Save the request's identity in @p op: its answer comes from coap_done(). */
static void
op_keep_request(struct mq_op *op, const struct cp_req *r)
{
	struct cp_reqinfo *ri = (struct cp_reqinfo *)op->coap;

	ri->type = r->msg->type;
	ri->mid = r->msg->mid;
	ri->tkl = r->msg->tkl;
	memcpy(ri->token, r->msg->token, r->msg->tkl);
	ri->pidx = r->pidx;
	ri->peer = r->peer;
}

/* GET with Observe 0: register (or refresh) an observation of the topic. */
static void
observe(struct cp_req *r, const char *name, size_t len, struct topic *node,
	const struct coap_block *blk)
{
	struct cp_worker *cw = r->w->cp;
	const struct coap_msg *msg = r->msg;
	struct cp_obs *o;
	struct mq_op *op;

	if (r->ep == NULL) {
		cnt(r->w, r->pidx, DP_CNT_COAP_LIMIT);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	o = obs_by_token(cw, r->ep, msg->token, msg->tkl);
	if (o != NULL && o->state == CP_OBS_ACTIVE && o->node == node) {
		/* a re-registration (RFC 7641 4.1): the current value again */
		o->seq = (o->seq + 1) & COAP_OBSERVE_MAX;
		reply_value(r, node, 1, o->seq, blk);
		return;
	}
	if (o != NULL)
		obs_end(r->w, o);   /* the same token for another topic: a new observation */
	o = obs_new(cw, r->ep);
	if (o == NULL) {
		cnt(r->w, r->pidx, DP_CNT_COAP_LIMIT);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, cp->p.max_age);
		return;
	}
	o->state = CP_OBS_PENDING;
	o->tkl = msg->tkl;
	memcpy(o->token, msg->token, msg->tkl);
	o->szx = blk != NULL ? blk->szx : coap_block_szx_for(cp->p.block_size);
	op = op_for(r, MQ_OP_SUBSCRIBE, name, len);
	if (op == NULL) {
		obs_end(r->w, o);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	op->session = CP_REF_BIT | (uint32_t)(o - cw->obs);
	op->gen = o->gen;
	op->qos = 0;
	op_keep_request(op, r);
	if (!mq_op_submit(r->w, op)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		obs_end(r->w, o);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	/* answered when the subscription is in the table (coap_done) */
	r->dd = NULL;
	cnt(r->w, r->pidx, DP_CNT_COAP_OBSERVES);
}

/*
 * PUT/POST to a topic: publish @p data (@p dlen bytes in @p m); it is also
 * the topic's new value. @p echo: the Block1 option value to echo in the
 * answer (a completed Block1 transfer), or < 0.
 */
static void
publish(struct cp_req *r, const char *name, size_t len, struct topic *node, struct rte_mbuf *m,
	const uint8_t *data, size_t dlen, uint16_t fmt, int64_t echo)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mq_op *op;
	uint16_t op_fmt = fmt == CP_NO_FMT ? 0 : (uint16_t)(fmt + 1);

	if (len + dlen > mq->op_room) {
		cnt(r->w, r->pidx, DP_CNT_COAP_TOO_BIG);
		reply(r, COAP_REQUEST_ENTITY_TOO_LARGE, COAP_OPT_SIZE1,
		      (uint32_t)(mq->op_room - len));
		rte_pktmbuf_free(m);
		return;
	}
	/* the value first: a GET after our answer sees it (the control plane is in order) */
	op = op_for(r, node != NULL ? MQ_OP_RETAIN : MQ_OP_WILL, name, len);
	if (op == NULL) {
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		rte_pktmbuf_free(m);
		return;
	}
	op->data_len = (uint16_t)dlen;
	/* a retained message with its Content-Format (0: none), published at QoS 0 */
	op->data_flags = node != NULL ? 0 : MQTTSN_FLAG_RETAIN;
	op->fmt = op_fmt;
	op->msg_id = r->pidx;
	/* answered once the value is in the table (coap_published): a GET then sees it */
	op_keep_request(op, r);
	op->old_gen = echo >= 0 ? (uint32_t)echo + 1 : 0;
	r->dd = NULL;
	if (dlen > 0)
		memcpy(op->name + len, data, dlen);
	if (!mq_op_submit(r->w, op)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		rte_pktmbuf_free(m);
		return;
	}
	cnt(r->w, r->pidx, DP_CNT_COAP_PUBLISHED);
	if (node == NULL) {
		/* a new topic: routed when the control plane has created it (MQ_OP_WILL) */
		rte_pktmbuf_free(m);
		return;
	}
	mq_route(r->w, r->pidx, node, m, data, (uint16_t)(data != NULL ? data - frame : 0),
		 (uint16_t)dlen, 0, false, op_fmt);
}

/* FNV-1a of a topic name: which resource an upload is for (names need no alignment). */
static uint32_t
name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h ^ (uint32_t)len;
}

/* The largest body a Block1 transfer may bring: one mbuf, and one op for the value. */
static size_t
block1_max(size_t name_len)
{
	size_t room = RTE_MBUF_DEFAULT_DATAROOM;

	return RTE_MIN(room, (size_t)mq->op_room - name_len);
}

/*
 * A block of a Block1 upload (RFC 7959 2.5): kept in the endpoint's
 * reassembly mbuf in order, answered 2.31 Continue; the last one publishes
 * the whole body. Out of order or for another resource: 4.08; too large:
 * 4.13 with Size1.
 */
static void
block1(struct cp_req *r, const char *name, size_t len, struct topic *node, struct rte_mbuf *m,
       const struct coap_block *b, uint16_t fmt)
{
	const struct coap_msg *msg = r->msg;
	struct cp_worker *cw = r->w->cp;
	struct cp_ep *e = r->ep;
	uint32_t h = name_hash(name, len);
	size_t max = block1_max(len);
	struct coap_block echo = *b;
	struct rte_mbuf *body;
	char *dst;

	if (e == NULL) {
		cnt(r->w, r->pidx, DP_CNT_COAP_LIMIT);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		goto free;
	}
	if (b->num == 0) {
		if (e->b1 != NULL) {
			rte_pktmbuf_free(e->b1);
			e->b1 = NULL;
			cw->nb_b1--;
		}
		if (!b->more) {
			/* the whole body in one block */
			publish(r, name, len, node, m, msg->payload, msg->payload_len, fmt,
				coap_block_value(&echo));
			return;
		}
		if (cw->nb_b1 >= CP_B1_PER_WORKER || (e->b1 = rte_pktmbuf_alloc(dp.pool)) == NULL) {
			cnt(r->w, r->pidx, DP_CNT_COAP_LIMIT);
			reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
			goto free;
		}
		cw->nb_b1++;
		e->b1_hash = h;
		e->b1_next = 0;
		e->b1_szx = b->szx;
		e->b1_fmt = fmt;
	} else if (e->b1 == NULL || e->b1_hash != h || b->num != e->b1_next ||
		   b->szx != e->b1_szx) {
		cnt(r->w, r->pidx, DP_CNT_COAP_INCOMPLETE);
		reply(r, COAP_REQUEST_ENTITY_INCOMPLETE, -1, 0);
		goto free;
	}
	if (b->more && msg->payload_len != coap_block_size(b->szx)) {
		reply(r, COAP_BAD_REQUEST, -1, 0);
		goto drop_transfer;
	}
	if (e->b1->data_len + msg->payload_len > max) {
		cnt(r->w, r->pidx, DP_CNT_COAP_TOO_BIG);
		reply(r, COAP_REQUEST_ENTITY_TOO_LARGE, COAP_OPT_SIZE1, (uint32_t)max);
		goto drop_transfer;
	}
	dst = msg->payload_len > 0 ? rte_pktmbuf_append(e->b1, (uint16_t)msg->payload_len) : NULL;
	if (dst != NULL)
		memcpy(dst, msg->payload, msg->payload_len);
	e->b1_next++;
	e->b1_expire = rte_get_tsc_cycles() + cp->hz * cp->p.block1_timeout;
	if (b->more) {
		reply(r, COAP_CONTINUE, COAP_OPT_BLOCK1, coap_block_value(&echo));
		goto free;
	}
	/* the last block: the body is complete */
	body = e->b1;
	e->b1 = NULL;
	cw->nb_b1--;
	body->port = m->port;
	rte_pktmbuf_free(m);
	cnt(r->w, r->pidx, DP_CNT_COAP_BLOCK1);
	publish(r, name, len, node, body, rte_pktmbuf_mtod(body, const uint8_t *), body->data_len,
		e->b1_fmt, coap_block_value(&echo));
	return;
drop_transfer:
	rte_pktmbuf_free(e->b1);
	e->b1 = NULL;
	cw->nb_b1--;
free:
	rte_pktmbuf_free(m);
}

/*
 * If-Match and If-None-Match of a PUT/POST (RFC 7252 5.10.8): If-Match
 * holds if one of its ETags is the current value's (an empty one: if there
 * is a value), If-None-Match if there is no value.
 */
static bool
precondition_ok(const struct coap_msg *msg, const struct topic *node)
{
	const struct topic_retained *v;
	const struct coap_opt *o;
	uint32_t cur;

	if (coap_opt_find(msg, COAP_OPT_IF_MATCH) == NULL &&
	    coap_opt_find(msg, COAP_OPT_IF_NONE_MATCH) == NULL)
		return true;
	rcu_read_lock();
	v = node != NULL ? topic_retained_get(node) : NULL;
	cur = v != NULL ? v->etag : 0;
	rcu_read_unlock();
	if (coap_opt_find(msg, COAP_OPT_IF_NONE_MATCH) != NULL && cur != 0)
		return false;
	o = coap_opt_find(msg, COAP_OPT_IF_MATCH);
	if (o == NULL)
		return true;
	for (; o < msg->opts + msg->nb_opts && o->num == COAP_OPT_IF_MATCH; o++)
		if (o->len == 0 && cur != 0)
			return true;
	return etag_listed(msg, COAP_OPT_IF_MATCH, cur);
}

/*
 * A request on a topic resource, or a creation on the collection (@p len
 * 0): the control plane handles it (coap_topics.c) and answers.
 */
static void
topic_request(struct cp_req *r, const char *name, size_t len, uint16_t fmt,
	      const struct coap_block *blk)
{
	const struct coap_msg *msg = r->msg;
	struct mq_op *op;

	if (len + msg->payload_len > mq->op_room) {
		cnt(r->w, r->pidx, DP_CNT_COAP_TOO_BIG);
		reply(r, COAP_REQUEST_ENTITY_TOO_LARGE, COAP_OPT_SIZE1,
		      (uint32_t)(mq->op_room - len));
		return;
	}
	op = op_for(r, MQ_OP_TCONF, name, len);
	if (op == NULL) {
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	op->method = msg->code;
	op->fmt = fmt == CP_NO_FMT ? 0 : (uint16_t)(fmt + 1);
	if (blk != NULL) {
		op->qos = 1;
		op->old_session = blk->num;
		op->data_flags = blk->szx;
	}
	op->data_len = (uint16_t)msg->payload_len;
	if (msg->payload_len > 0)
		memcpy(op->name + len, msg->payload, msg->payload_len);
	op_keep_request(op, r);
	if (!mq_op_submit(r->w, op)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	r->dd = NULL;   /* answered by coap_done() */
}

/* GET on the collection or /.well-known/core: the control plane lists, a block at a time. */
static void
listing(struct cp_req *r, bool well_known, const struct coap_block *blk)
{
	const struct coap_opt *q = coap_opt_find(r->msg, COAP_OPT_URI_QUERY);
	const struct coap_msg *msg = r->msg;
	struct mq_op *op;

	if (msg->code == COAP_FETCH)
		/* FETCH: the topic properties to match instead of a query (pub/sub 2.4.2) */
		op = op_for(r, MQ_OP_LIST, (const char *)msg->payload, msg->payload_len);
	else
		op = op_for(r, MQ_OP_LIST, q != NULL ? (const char *)q->val : "",
			    q != NULL ? q->len : 0);
	if (op == NULL) {
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	op->method = msg->code;
	op->wild = well_known;
	op->data_flags = blk != NULL ? blk->szx : coap_block_szx_for(cp->p.block_size);
	if (op->data_flags > coap_block_szx_for(cp->p.block_size))
		op->data_flags = coap_block_szx_for(cp->p.block_size);
	op->old_session = blk != NULL ? blk->num : 0;   /* the block asked for */
	op_keep_request(op, r);
	if (!mq_op_submit(r->w, op)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_OPS_FAILED);
		reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
		return;
	}
	r->dd = NULL;
}

/* The request's topic: the path after the collection's prefix; NULL if not one. */
static bool
topic_of(const char *path, size_t plen, const char **name, size_t *len)
{
	size_t n = cp->prefix_len;

	if (plen <= n + 1 || memcmp(path, cp->p.prefix, n) != 0 || path[n] != '/')
		return false;
	*name = path + n + 1;
	*len = plen - n - 1;
	return true;
}

static void
request(struct cp_req *r, struct rte_mbuf *m)
{
	const struct coap_msg *msg = r->msg;
	const struct coap_opt *o;
	struct coap_block blk, *bp = NULL, b1;
	bool has_b1 = false;
	uint32_t obs = UINT32_MAX, fmt = CP_NO_FMT, acc, vtag;
	const struct topic_retained *v;
	const struct topic_conf *conf;
	uint16_t vfmt;
	struct topic *node;
	int32_t ct;
	const char *name;
	char path[512];
	size_t len;
	int plen;

	cnt(r->w, r->pidx, DP_CNT_COAP_REQUESTS);
	o = coap_unknown_critical(msg, known_opts, RTE_DIM(known_opts));
	if (o != NULL || critical_bad(msg)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_BAD_OPTION);
		/* RFC 7252 5.4.1: 4.02 to a CON; a NON is rejected (dropped) */
		if (msg->type == COAP_CON)
			reply(r, COAP_BAD_OPTION, -1, 0);
		goto done;
	}
	if (coap_opt_find(msg, COAP_OPT_PROXY_URI) != NULL ||
	    coap_opt_find(msg, COAP_OPT_PROXY_SCHEME) != NULL) {
		cnt(r->w, r->pidx, DP_CNT_COAP_PROXY);
		reply(r, COAP_PROXYING_NOT_SUPPORTED, -1, 0);
		goto done;
	}
	o = coap_opt_find(msg, COAP_OPT_BLOCK2);
	if (o != NULL) {
		if (coap_block_decode(o, &blk) < 0) {
			cnt(r->w, r->pidx, DP_CNT_COAP_BAD_OPTION);
			reply(r, COAP_BAD_OPTION, -1, 0);
			goto done;
		}
		bp = &blk;
	}
	o = coap_opt_find(msg, COAP_OPT_BLOCK1);
	if (o != NULL) {
		if (coap_block_decode(o, &b1) < 0) {
			cnt(r->w, r->pidx, DP_CNT_COAP_BAD_OPTION);
			reply(r, COAP_BAD_OPTION, -1, 0);
			goto done;
		}
		has_b1 = true;
	}
	o = elective(msg, COAP_OPT_OBSERVE);
	if (o != NULL && coap_opt_uint(o, &obs) < 0) {
		cnt(r->w, r->pidx, DP_CNT_COAP_BAD_OPTION);
		reply(r, COAP_BAD_OPTION, -1, 0);
		goto done;
	}
	o = elective(msg, COAP_OPT_CONTENT_FORMAT);
	if (o != NULL && (coap_opt_uint(o, &fmt) < 0 || fmt > 0xfffe)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_BAD_OPTION);
		reply(r, COAP_BAD_OPTION, -1, 0);
		goto done;
	}
	plen = coap_uri_path(msg, path, sizeof(path));
	if (plen < 0) {
		/* a path longer than any topic the node serves, or a segment that is no level */
		cnt(r->w, r->pidx, plen == -ENOSPC ? DP_CNT_COAP_TOO_BIG : DP_CNT_COAP_NOT_FOUND);
		reply(r, plen == -ENOSPC ? COAP_REQUEST_ENTITY_TOO_LARGE : COAP_NOT_FOUND, -1, 0);
		goto done;
	}
	if ((size_t)plen == 1 + strlen(WELL_KNOWN) && path[0] == '.' &&
	    memcmp(path + 1, WELL_KNOWN, strlen(WELL_KNOWN)) == 0) {
		if (msg->code != COAP_GET) {
			reply(r, COAP_METHOD_NOT_ALLOWED, -1, 0);
			goto done;
		}
		listing(r, true, bp);
		goto done;
	}
	if ((size_t)plen == cp->prefix_len && memcmp(path, cp->p.prefix, cp->prefix_len) == 0) {
		/* the topic collection (pub/sub 2.4) */
		if (msg->code == COAP_GET || msg->code == COAP_FETCH)
			listing(r, false, bp);
		else if (msg->code == COAP_POST)
			topic_request(r, "", 0, (uint16_t)fmt, NULL);
		else
			reply(r, COAP_METHOD_NOT_ALLOWED, -1, 0);
		goto done;
	}
	if (!topic_of(path, (size_t)plen, &name, &len)) {
		cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
		reply(r, COAP_NOT_FOUND, -1, 0);
		goto done;
	}
	if (len > strlen(COAP_CONF_LEVEL) + 1 &&
	    memcmp(name, COAP_CONF_LEVEL "/", strlen(COAP_CONF_LEVEL) + 1) == 0) {
		/* a topic resource: its configuration (pub/sub 2.5) */
		name += strlen(COAP_CONF_LEVEL) + 1;
		len -= strlen(COAP_CONF_LEVEL) + 1;
		if (topic_name_check(name, len) < 0 || name[0] == '$') {
			cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
			reply(r, COAP_NOT_FOUND, -1, 0);
		} else if (msg->code == COAP_GET || msg->code == COAP_FETCH ||
			   msg->code == COAP_POST || msg->code == COAP_IPATCH ||
			   msg->code == COAP_DELETE) {
			topic_request(r, name, len, (uint16_t)fmt, bp);
		} else {
			reply(r, COAP_METHOD_NOT_ALLOWED, -1, 0);
		}
		goto done;
	}
	if (topic_name_check(name, len) < 0) {
		cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
		reply(r, COAP_BAD_REQUEST, -1, 0);
		goto done;
	}
	rcu_read_lock();
	node = name[0] == '$' ? NULL : topic_lookup(mq->topics, name, len);
	conf = node != NULL ? topic_conf_get(node) : NULL;
	if (conf != NULL && conf->deleted && msg->code != COAP_PUT && msg->code != COAP_POST)
		node = NULL;   /* a deleted topic: until a publication creates it again */
	ct = conf != NULL ? conf->ct : -1;
	rcu_read_unlock();
	if (name[0] == '$') {
		/* names the server keeps (MQTT 4.7.2), and the topic resources */
		cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
		reply(r, COAP_NOT_FOUND, -1, 0);
		goto done;
	}
	switch (msg->code) {
	case COAP_GET:
		if (node == NULL) {
			cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
			reply(r, COAP_NOT_FOUND, -1, 0);
			break;
		}
		if (obs == COAP_OBSERVE_REGISTER) {
			observe(r, name, len, node, bp);
			break;
		}
		if (obs == COAP_OBSERVE_DEREGISTER && r->ep != NULL) {
			struct cp_obs *ob = obs_by_token(r->w->cp, r->ep, msg->token, msg->tkl);

			if (ob != NULL)
				obs_end(r->w, ob);
		}
		rcu_read_lock();
		v = topic_retained_get(node);
		vfmt = v != NULL ? v->fmt : 0;
		vtag = v != NULL ? v->etag : 0;
		rcu_read_unlock();
		if (vtag == 0) {
			/* no latest value: "half created" (pub/sub 3.3) */
			cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
			reply(r, COAP_NOT_FOUND, -1, 0);
			break;
		}
		o = elective(msg, COAP_OPT_ACCEPT);
		if (o != NULL && vfmt != 0 && coap_opt_uint(o, &acc) == 0 && acc != vfmt - 1u) {
			/* the value exists in one format only (RFC 7252 5.10.4) */
			cnt(r->w, r->pidx, DP_CNT_COAP_BAD_FORMAT);
			reply(r, COAP_NOT_ACCEPTABLE, -1, 0);
			break;
		}
		if (etag_listed(msg, COAP_OPT_ETAG, vtag)) {
			/* the client has this value: 2.03 Valid, no payload (RFC 7252 5.10.6.2) */
			reply_full(r, COAP_VALID, 0, 0, CP_NO_FMT, vtag, NULL, 0, NULL, 0, NULL, 0);
			break;
		}
		reply_value(r, node, 0, 0, bp);
		break;
	case COAP_PUT:
	case COAP_POST:
		if (!precondition_ok(msg, node)) {
			cnt(r->w, r->pidx, DP_CNT_COAP_PRECONDITION);
			reply(r, COAP_PRECONDITION_FAILED, -1, 0);
			break;
		}
		if (ct >= 0 && fmt != (uint32_t)ct) {
			/* the topic's topic-content-format (pub/sub 3.2.1) */
			cnt(r->w, r->pidx, DP_CNT_COAP_BAD_FORMAT);
			reply(r, COAP_UNSUPPORTED_CONTENT_FORMAT, -1, 0);
			break;
		}
		if (has_b1)
			block1(r, name, len, node, m, &b1, (uint16_t)fmt);
		else
			publish(r, name, len, node, m, msg->payload, msg->payload_len,
				(uint16_t)fmt, -1);
		return;   /* it took the mbuf */
	case COAP_DELETE:
		if (node == NULL) {
			cnt(r->w, r->pidx, DP_CNT_COAP_NOT_FOUND);
			reply(r, COAP_NOT_FOUND, -1, 0);
			break;
		} else {
			/* the value goes, and the observers with it (pub/sub 3.2.4) */
			struct mq_op *op = op_for(r, MQ_OP_RETAIN, name, len);

			if (op != NULL) {
				op_keep_request(op, r);
				op->wild = 1;           /* a DELETE: answered 2.02 */
			}
			if (op == NULL || !mq_op_submit(r->w, op)) {
				reply(r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
				break;
			}
			r->dd = NULL;
		}
		break;
	default:
		reply(r, COAP_METHOD_NOT_ALLOWED, -1, 0);
		break;
	}
done:
	rte_pktmbuf_free(m);
}

/* An ACK or RST: the answer to a confirmable notification, or an observer's refusal. */
static void
on_ack_rst(struct dp_worker *w, uint16_t pidx, struct cp_ep *e, const struct coap_msg *msg)
{
	struct cp_worker *cw = w->cp;

	if (e == NULL) {
		cnt(w, pidx, DP_CNT_COAP_UNEXPECTED);
		return;
	}
	if (e->con_pkt != NULL && e->con_mid == msg->mid) {
		uint32_t s = e->con_obs;

		rte_pktmbuf_free(e->con_pkt);
		e->con_pkt = NULL;
		if (msg->type == COAP_RST && s < cw->nb_obs_slots &&
		    cw->obs[s].state == CP_OBS_ACTIVE)
			obs_end(w, &cw->obs[s]);
		return;
	}
	if (msg->type == COAP_RST) {
		/* an RST to a non-confirmable notification: the client is not interested */
		for (uint32_t s = e->first_obs; s != UINT32_MAX; s = cw->obs[s].next)
			if (cw->obs[s].notified && cw->obs[s].last_mid == msg->mid &&
			    cw->obs[s].state == CP_OBS_ACTIVE) {
				obs_end(w, &cw->obs[s]);
				return;
			}
	}
	cnt(w, pidx, DP_CNT_COAP_UNEXPECTED);
}

/* Has @p e a token for one more request (rate_limit per second)? */
static bool
rate_ok(struct cp_ep *e)
{
	uint64_t now = rte_get_tsc_cycles(), add;

	if (cp->p.rate_limit == 0)
		return true;
	add = (now - e->rl_last) * cp->p.rate_limit / cp->hz;
	if (add > 0) {
		e->rl_tokens = (uint32_t)RTE_MIN((uint64_t)e->rl_tokens + add,
						 (uint64_t)cp->p.rate_limit);
		e->rl_last = now;
	}
	if (e->rl_tokens == 0)
		return false;
	e->rl_tokens--;
	return true;
}

void
coap_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *data = frame + pk->l4_off + 8;
	size_t len = (size_t)pk->l4_len - 8;
	struct cp_req r = { .w = w, .pidx = pidx };
	struct coap_msg msg;
	struct cp_key key;
	bool created;

	cnt(w, pidx, DP_CNT_COAP_RX);
	net_peer_from(frame, pk, &r.peer);
	if ((size_t)pk->l4_off + pk->l4_len > m->data_len) {
		cnt(w, pidx, DP_CNT_COAP_TOO_BIG);
		goto drop;
	}
	if (coap_decode(data, len, &msg) < 0) {
		cnt(w, pidx, DP_CNT_COAP_ERR_SHORT + msg.err - COAP_ERR_SHORT);
		/* RFC 7252 4.2: a confirmable message with a format error is rejected */
		if (msg.err != COAP_ERR_SHORT && msg.err != COAP_ERR_VERSION && msg.type == COAP_CON)
			send_empty(w, pidx, &r.peer, COAP_RST, msg.mid);
		goto drop;
	}
	r.msg = &msg;
	key_of(&r.peer, pidx, &key);
	if (len > cp->p.max_message_size && COAP_CODE_CLASS(msg.code) == 0 &&
	    msg.code != COAP_EMPTY) {
		/* larger than the node takes in one message: Block1 is the way */
		cnt(w, pidx, DP_CNT_COAP_TOO_BIG);
		if (msg.type == COAP_CON)
			reply(&r, COAP_REQUEST_ENTITY_TOO_LARGE, COAP_OPT_SIZE1,
			      cp->p.max_message_size);
		goto drop;
	}
	if (msg.type == COAP_ACK || msg.type == COAP_RST) {
		void *slot;

		r.ep = rte_hash_lookup_data(w->cp->by_addr, &key, &slot) >= 0 ?
		       &w->cp->ep[(uintptr_t)slot] : NULL;
		if (r.ep != NULL)
			r.ep->peer = r.peer;
		on_ack_rst(w, pidx, r.ep, &msg);
		goto drop;
	}
	if (msg.code == COAP_EMPTY) {
		/* a CoAP ping (RFC 7252 4.3): RST; an empty NON is ignored */
		if (msg.type == COAP_CON) {
			cnt(w, pidx, DP_CNT_COAP_PINGS);
			send_empty(w, pidx, &r.peer, COAP_RST, msg.mid);
		} else {
			cnt(w, pidx, DP_CNT_COAP_UNEXPECTED);
		}
		goto drop;
	}
	if (COAP_CODE_CLASS(msg.code) != 0) {
		/* a response we did not ask for: RST a CON, drop a NON (RFC 7252 4.2, 4.3) */
		cnt(w, pidx, DP_CNT_COAP_UNEXPECTED);
		if (msg.type == COAP_CON)
			send_empty(w, pidx, &r.peer, COAP_RST, msg.mid);
		goto drop;
	}
	r.ep = ep_find_or_new(w->cp, &key, &created);
	if (r.ep != NULL) {
		struct cp_dedup *d = NULL;

		r.ep->peer = r.peer;
		r.ep->pidx = pidx;
		r.ep->idle_expire = rte_get_tsc_cycles() + cp->exchange_tsc;
		for (unsigned int i = 0; i < CP_DEDUP; i++)
			if (r.ep->dedup[i].used && r.ep->dedup[i].mid == msg.mid) {
				d = &r.ep->dedup[i];
				break;
			}
		if (d != NULL) {
			/* a duplicate (RFC 7252 4.5): the same answer again, not processed again */
			cnt(w, pidx, DP_CNT_COAP_DUPLICATES);
			if (d->type == COAP_CON && d->resp != NULL) {
				rte_pktmbuf_refcnt_update(d->resp, 1);
				dp_tx(w, pidx, d->resp);
			}
			goto drop;
		}
		if (!rate_ok(r.ep)) {
			cnt(w, pidx, DP_CNT_COAP_RATE_LIMITED);
			/* RFC 8516 and pub/sub 3.4: 4.29, Max-Age the seconds to wait */
			if (msg.type == COAP_CON)
				reply(&r, COAP_TOO_MANY_REQUESTS, COAP_OPT_MAX_AGE, 1);
			goto drop;
		}
		d = &r.ep->dedup[r.ep->dedup_next];
		r.ep->dedup_next = (uint8_t)((r.ep->dedup_next + 1) % CP_DEDUP);
		rte_pktmbuf_free(d->resp);
		*d = (struct cp_dedup){ .mid = msg.mid, .used = 1, .type = msg.type,
					.expire = rte_get_tsc_cycles() + cp->exchange_tsc };
		r.dd = d;
	} else {
		cnt(w, pidx, DP_CNT_COAP_NO_ENDPOINT);
	}
	request(&r, m);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* ---- the control plane's answers ---- */

void
coap_done(struct dp_worker *w, struct mq_op *op)
{
	struct cp_worker *cw = w->cp;
	const struct cp_reqinfo *ri = (const struct cp_reqinfo *)op->coap;
	struct coap_msg msg = { .type = ri->type, .mid = ri->mid, .tkl = ri->tkl };
	struct cp_req r = { .w = w, .pidx = ri->pidx, .peer = ri->peer, .msg = &msg };
	struct cp_key key;
	void *slot;

	if (op->kind == MQ_OP_SNAPSHOT) {
		/* a question from the control plane (coap_info.c) */
		coap_info_worker(w, op);
		return;
	}
	memcpy(msg.token, ri->token, ri->tkl);
	key_of(&r.peer, r.pidx, &key);
	if (rte_hash_lookup_data(cw->by_addr, &key, &slot) >= 0) {
		r.ep = &cw->ep[(uintptr_t)slot];
		/* the answer is the one a duplicate of the request gets */
		for (unsigned int i = 0; i < CP_DEDUP; i++)
			if (r.ep->dedup[i].used && r.ep->dedup[i].mid == ri->mid &&
			    r.ep->dedup[i].resp == NULL)
				r.dd = &r.ep->dedup[i];
	}
	switch (op->kind) {
	case MQ_OP_RETAIN:
	case MQ_OP_WILL:
		if (op->rc == -ENOENT) {
			reply(&r, COAP_NOT_FOUND, -1, 0);   /* a DELETE of no value */
			break;
		}
		if (op->rc < 0) {
			reply(&r, op->rc == -ENOSPC ? COAP_SERVICE_UNAVAILABLE : COAP_BAD_REQUEST,
			      COAP_OPT_MAX_AGE, 1);
			break;
		}
		if (op->kind == MQ_OP_RETAIN && op->wild)
			reply(&r, COAP_DELETED, -1, 0);
		else
			/* rc 1: the topic's first value (pub/sub 3.2.1) */
			reply(&r, op->rc == 1 ? COAP_CREATED : COAP_CHANGED,
			      op->old_gen ? COAP_OPT_BLOCK1 : -1, op->old_gen ? op->old_gen - 1 : 0);
		break;
	case MQ_OP_TCONF:
		if (op->rc < 0) {
			reply(&r, COAP_SERVICE_UNAVAILABLE, COAP_OPT_MAX_AGE, 1);
			break;
		}
		if (op->rc == COAP_NOT_FOUND)
			cnt(w, r.pidx, DP_CNT_COAP_NOT_FOUND);
		else if (op->rc == COAP_UNSUPPORTED_CONTENT_FORMAT)
			cnt(w, r.pidx, DP_CNT_COAP_BAD_FORMAT);
		else if (op->rc == COAP_CREATED)
			cnt(w, r.pidx, DP_CNT_COAP_TOPICS_CREATED);
		else if (op->rc == COAP_DELETED)
			cnt(w, r.pidx, DP_CNT_COAP_TOPICS_DELETED);
		if (op->data_len == 0 && op->name_len == 0) {
			reply(&r, (uint8_t)op->rc, -1, 0);
			break;
		}
		{
			/* the request's Block2, if it had one (topic_request()) */
			struct coap_block b = { .num = op->old_session, .szx = op->data_flags };

			reply_full(&r, (uint8_t)op->rc, 0, 0,
				   op->fmt != 0 ? (uint16_t)(op->fmt - 1) : CP_NO_FMT, 0,
				   op->name_len > 0 ? op->name : NULL, op->name_len,
				   (const uint8_t *)op->name + op->name_len, op->data_len,
				   op->qos ? &b : NULL, 0);
		}
		break;
	case MQ_OP_UNOBSERVE: {
		uint32_t s = op->session & ~CP_REF_BIT;
		struct cp_obs *o = s < cw->nb_obs_slots ? &cw->obs[s] : NULL;

		if (o != NULL && o->gen == op->gen && o->state == CP_OBS_ACTIVE)
			obs_gone(w, o);
		break;
	}
	case MQ_OP_SUBSCRIBE: {
		uint32_t s = op->session & ~CP_REF_BIT;
		struct cp_obs *o = s < cw->nb_obs_slots ? &cw->obs[s] : NULL;

		if (o == NULL || o->gen != op->gen || o->state != CP_OBS_PENDING) {
			/* the observation ended meanwhile: undo the subscription */
			if (op->rc >= 0) {
				op->kind = MQ_OP_FORGET;
				if (mq_op_submit(w, op))
					return;
			}
			break;
		}
		if (op->rc == -EDQUOT) {
			/* the topic's max-subscribers: the value, without Observe (RFC 7641 4.1) */
			obs_end(w, o);
			cnt(w, r.pidx, DP_CNT_COAP_LIMIT);
			reply_value(&r, op->node, 0, 0, NULL);
			break;
		}
		if (op->rc == -ENOENT) {
			obs_end(w, o);   /* deleted meanwhile */
			cnt(w, r.pidx, DP_CNT_COAP_NOT_FOUND);
			reply(&r, COAP_NOT_FOUND, -1, 0);
			break;
		}
		if (op->rc < 0) {
			obs_end(w, o);
			cnt(w, r.pidx, DP_CNT_COAP_LIMIT);
			reply(&r, op->rc == -EINVAL ? COAP_BAD_REQUEST : COAP_SERVICE_UNAVAILABLE,
			      COAP_OPT_MAX_AGE, cp->p.max_age);
			break;
		}
		o->state = CP_OBS_ACTIVE;
		o->node = op->node;
		reply_value(&r, o->node, 1, o->seq, NULL);
		break;
	}
	case MQ_OP_LIST: {
		struct coap_block b = { .num = op->old_session, .szx = op->data_flags };

		if (op->rc < 0) {
			reply(&r, op->rc == -ERANGE ? COAP_BAD_OPTION :
				  op->rc == -EINVAL ? COAP_BAD_REQUEST : COAP_SERVICE_UNAVAILABLE,
			      -1, 0);
			break;
		}
		reply_body(&r, COAP_CONTENT, 0, 0, COAP_FMT_LINK, (const uint8_t *)op->name,
			   op->data_len, &b, op->old_gen);
		break;
	}
	default:
		break;
	}
	mq_op_put(op);
}

/* ---- notifications ---- */

void
coap_deliver(struct dp_worker *w, const struct topic_sub_ref *ref, struct rte_mbuf *m,
	     const struct mq_pubmeta *meta)
{
	struct cp_worker *cw = w->cp;
	uint32_t s = ref->session & ~CP_REF_BIT;
	const struct topic_conf *conf;
	uint64_t check;
	struct cp_obs *o;
	struct cp_ep *e;
	struct coap_writer wr;
	struct coap_block b = { 0 };
	struct rte_mbuf *hdr, *ind = NULL;
	uint64_t now;
	size_t n;
	uint32_t sum;
	uint8_t type = COAP_NON;
	uint16_t mid;

	if (cw == NULL || s >= cw->nb_obs_slots)
		return;
	o = &cw->obs[s];
	if (o->state != CP_OBS_ACTIVE || o->gen != ref->gen)
		return;
	e = &cw->ep[o->ep];
	if (!e->used || e->gen != o->ep_gen)
		return;
	now = rte_get_tsc_cycles();
	/*
	 * RFC 7641 4.5: a CON now and then, and at least once a day or every
	 * observer-check seconds of the topic (pub/sub 2.2.1); one at a time
	 */
	conf = topic_conf_get(o->node);
	check = conf != NULL && conf->obs_check != 0 ? conf->obs_check : CP_CON_EVERY_S;
	if (e->con_pkt == NULL &&
	    (++o->since_con >= cp->p.notify_con_every || now - o->last_con > cp->hz * check))
		type = COAP_CON;
	mid = e->next_mid++;
	o->seq = (o->seq + 1) & COAP_OBSERVE_MAX;
	hdr = frame_new(&e->peer, &wr, type, COAP_CONTENT, mid, o->token, o->tkl);
	if (hdr == NULL)
		goto fail;
	coap_w_opt_uint(&wr, COAP_OPT_OBSERVE, o->seq);
	if (meta->fmt != 0)
		coap_w_opt_uint(&wr, COAP_OPT_CONTENT_FORMAT, (uint32_t)(meta->fmt - 1));
	coap_w_opt_uint(&wr, COAP_OPT_MAX_AGE, cp->p.max_age);
	n = meta->data_len;
	if (n > coap_block_size(o->szx)) {
		/* the first block; the client asks for the rest (RFC 7959 2.6) */
		b.szx = o->szx;
		b.more = true;
		n = coap_block_size(o->szx);
		coap_w_opt_uint(&wr, COAP_OPT_BLOCK2, coap_block_value(&b));
		coap_w_opt_uint(&wr, COAP_OPT_SIZE2, meta->data_len);
	}
	sum = meta->sum;
	if (n > 0) {
		coap_w_payload_marker(&wr);
		ind = rte_pktmbuf_alloc(dp.pool);
		if (ind == NULL)
			goto fail;
		rte_pktmbuf_attach(ind, m);
		rte_pktmbuf_adj(ind, meta->data_off);
		rte_pktmbuf_trim(ind, (uint16_t)(ind->data_len - n));
		if (n != meta->data_len)
			sum = net_cksum_add(0, rte_pktmbuf_mtod(ind, uint8_t *), n);
	}
	if (frame_finish(hdr, &wr, e->pidx, &e->peer, n, sum) < 0)
		goto fail;
	if (ind != NULL) {
		hdr->next = ind;
		hdr->nb_segs = 2;
		hdr->pkt_len += (uint32_t)n;
	}
	o->last_mid = mid;
	o->notified = true;
	if (type == COAP_CON) {
		o->since_con = 0;
		o->last_con = now;
		rte_pktmbuf_refcnt_update(hdr, 1);
		e->con_pkt = hdr;
		e->con_mid = mid;
		e->con_obs = s;
		e->con_tries = 0;
		e->con_timeout = cp->ack_tsc +
				 cp->ack_tsc * (cp->p.ack_random_factor_pct - 100) / 100 *
				 (rte_rand() % 1024) / 1024;
		e->con_deadline = now + e->con_timeout;
	}
	cnt(w, e->pidx, DP_CNT_COAP_NOTIFICATIONS);
	send_frame(w, e->pidx, hdr, COAP_CONTENT);
	return;
fail:
	rte_pktmbuf_free(ind);
	rte_pktmbuf_free(hdr);
	cnt(w, e->pidx, DP_CNT_COAP_NOTIFY_FAILED);
}

/* ---- timers ---- */

static void
ep_timers(struct dp_worker *w, struct cp_ep *e, uint64_t now)
{
	bool busy = e->nb_obs > 0 || e->con_pkt != NULL;

	for (unsigned int i = 0; i < CP_DEDUP; i++) {
		struct cp_dedup *d = &e->dedup[i];

		if (!d->used)
			continue;
		if (now > d->expire) {
			rte_pktmbuf_free(d->resp);
			d->resp = NULL;
			d->used = 0;
		} else {
			busy = true;
		}
	}
	if (e->con_pkt != NULL && now > e->con_deadline) {
		if (e->con_tries >= cp->p.max_retransmit) {
			/* RFC 7641 4.5: no ACK after MAX_RETRANSMIT: the observer is gone */
			struct cp_obs *o = &w->cp->obs[e->con_obs];

			rte_pktmbuf_free(e->con_pkt);
			e->con_pkt = NULL;
			cnt(w, e->pidx, DP_CNT_COAP_CON_FAILED);
			if (o->state == CP_OBS_ACTIVE)
				obs_end(w, o);
		} else {
			e->con_tries++;
			e->con_timeout *= 2;
			e->con_deadline = now + e->con_timeout;
			rte_pktmbuf_refcnt_update(e->con_pkt, 1);
			cnt(w, e->pidx, DP_CNT_COAP_RETRANSMIT);
			dp_tx(w, e->pidx, e->con_pkt);
		}
	}
	if (e->b1 != NULL) {
		if (now > e->b1_expire) {
			/* an upload left unfinished */
			rte_pktmbuf_free(e->b1);
			e->b1 = NULL;
			w->cp->nb_b1--;
			cnt(w, e->pidx, DP_CNT_COAP_INCOMPLETE);
		} else {
			busy = true;
		}
	}
	if (!busy && now > e->idle_expire)
		ep_free(w->cp, e);
}

void
coap_poll(struct dp_worker *w)
{
	struct cp_worker *cw = w->cp;
	uint64_t now = rte_get_tsc_cycles();

	for (unsigned int n = 0; n < CP_SCAN_PER_POLL && cw->nb_ep_active > 0; n++) {
		struct cp_ep *e = &cw->ep[cw->scan];

		if (++cw->scan >= cw->nb_ep_slots)
			cw->scan = 0;
		if (e->used)
			ep_timers(w, e, now);
	}
}
