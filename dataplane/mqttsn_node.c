/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN node's fast path: one datagram in, its answer and its
 * deliveries out. See mqttsn_priv.h for the design.
 */

#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <urcu-qsbr.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "proto/topic.h"

static inline void
cnt(struct dp_worker *w, uint16_t pidx, unsigned int i)
{
	dp_cnt_add(w, pidx, i, 1);
}

static inline unsigned int
cnt_type(unsigned int first, uint8_t type)
{
	int i = mqttsn_type_index(type);

	return first + (unsigned int)(i < 0 ? 0 : i);
}

static void deliver_retained(struct dp_worker *w, struct mq_sess *s, struct topic *node,
			     int qos);
static void sleep_flush(struct dp_worker *w, struct mq_sess *s);
static void will_route(struct dp_worker *w, struct mq_op *op);

/*
 * A frame to @p peer carrying @p msg, in a new mbuf; NULL if none or no room.
 * @p k is the client's key (a session's, or the sender's of the datagram
 * being answered): through a forwarder, the message goes wrapped for it.
 */
static struct rte_mbuf *
mk_frame(struct dp_worker *w, const struct mq_key *k, uint16_t pidx, const struct net_peer *peer,
	 const struct mqttsn_msg *msg)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	size_t hl = net_udp_header_len(peer);
	struct mqttsn_msg wrapped;
	uint8_t *buf;
	int len;

	if (m == NULL)
		return NULL;
	if (k != NULL && k->wnid_len > 0) {
		wrapped = *msg;
		wrapped.encap.present = true;
		wrapped.encap.ctrl = 0;
		wrapped.encap.node_id = (struct mqttsn_view){ k->wnid, k->wnid_len };
		msg = &wrapped;
		cnt(w, pidx, DP_CNT_MQTTSN_ENCAP_TX);
	}
	buf = rte_pktmbuf_mtod(m, uint8_t *);
	len = mqttsn_encode(buf + hl, rte_pktmbuf_tailroom(m) - hl, msg);
	if (len < 0 ||
	    net_udp_header(buf, hl, &dp.ports[pidx].nif, peer, peer->lport, (size_t)len,
			   net_cksum_add(0, buf + hl, (size_t)len)) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	m->data_len = (uint16_t)(hl + (size_t)len);
	m->pkt_len = m->data_len;
	return m;
}

/* A frame to the client of @p s carrying @p msg: its headers from the session's template. */
static struct rte_mbuf *
mk_frame_sess(struct dp_worker *w, const struct mq_sess *s, const struct mqttsn_msg *msg)
{
	const struct net_udp_tpl *t = &s->tpl;
	struct rte_mbuf *m;
	uint8_t *buf;
	int len;

	if (t->len == 0)
		return mk_frame(w, &s->key, s->pidx, &s->peer, msg);
	m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		return NULL;
	buf = rte_pktmbuf_mtod(m, uint8_t *);
	len = mqttsn_encode(buf + t->len, rte_pktmbuf_tailroom(m) - t->len, msg);
	if (len < 0 || net_udp_tpl_write(buf, t, (size_t)len,
					 net_cksum_add(0, buf + t->len, (size_t)len)) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (s->key.wnid_len > 0)
		cnt(w, s->pidx, DP_CNT_MQTTSN_ENCAP_TX);
	m->data_len = (uint16_t)(t->len + (size_t)len);
	m->pkt_len = m->data_len;
	return m;
}

void
mq_send(struct dp_worker *w, struct mq_sess *s, const struct net_peer *peer, uint16_t pidx,
	const struct mqttsn_msg *msg)
{
	struct rte_mbuf *m;

	if (s != NULL) {
		pidx = s->pidx;
		m = mk_frame_sess(w, s, msg);
	} else {
		m = mk_frame(w, w->mq->rx_key, pidx, peer, msg);
	}
	if (m == NULL) {
		cnt(w, pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
		return;
	}
	cnt(w, pidx, cnt_type(DP_CNT_MQTTSN_TX_ADVERTISE, msg->type));
	dp_tx(w, pidx, m);
}

/* Send a message we keep for retransmission: the TX queue gets its own reference. */
void
mq_send_held(struct dp_worker *w, struct mq_sess *s, struct mq_out *o)
{
	rte_pktmbuf_refcnt_update(o->pkt, 1);
	cnt(w, s->pidx, o->kind == MQ_OUT_REGISTER ? DP_CNT_MQTTSN_TX_REGISTER :
			o->kind == MQ_OUT_QOS2_REL ? DP_CNT_MQTTSN_TX_PUBREL :
						     DP_CNT_MQTTSN_TX_PUBLISH);
	dp_tx(w, s->pidx, o->pkt);
}

/*
 * Where the MQTT-SN message starts in a frame of ours (all its headers are
 * in its first segment): after our Ethernet (+VLAN), IPv4 or IPv6 (no
 * extension header) and UDP headers, and the encapsulation for a
 * forwarder, if any. Read from the frame itself, not from its session,
 * whose peer may have changed since it was built (a client heard again
 * through another VLAN, a session taken over). *@p udp_off: the UDP header.
 */
static size_t
frame_msg_off(const uint8_t *f, size_t *udp_off)
{
	size_t l3 = NET_ETH_HLEN, off;

	if (f[12] == NET_ETHERTYPE_VLAN >> 8 && f[13] == (NET_ETHERTYPE_VLAN & 0xff))
		l3 += NET_VLAN_HLEN;
	*udp_off = l3 + ((f[l3] >> 4) == 6 ? 40 : (size_t)(f[l3] & 0x0f) * 4);
	off = *udp_off + 8;
	/* an encapsulation: its length octet, then its type (a long message starts 0x01) */
	if (f[off] != 0x01 && f[off + 1] == MQTTSN_ENCAPSULATED)
		off += f[off];
	return off;
}

void
mq_set_dup(struct rte_mbuf *pkt)
{
	uint8_t *f = rte_pktmbuf_mtod(pkt, uint8_t *);
	size_t uo, off = frame_msg_off(f, &uo);
	size_t fo = off + (f[off] == 0x01 ? 4 : 2);    /* the flags byte */
	size_t wo = fo & ~(size_t)1;                     /* its 16-bit word; UDP starts even */
	uint16_t old, new, ck;

	if (f[fo] & MQTTSN_FLAG_DUP)
		return;
	memcpy(&old, f + wo, 2);
	f[fo] |= MQTTSN_FLAG_DUP;
	memcpy(&new, f + wo, 2);
	memcpy(&ck, f + uo + 6, 2);                     /* UDP checksum field */
	/* RFC 1624 eqn. 3 */
	ck = net_cksum_fold((uint32_t)(uint16_t)~ck + (uint16_t)~old + new);
	if (ck == 0)
		ck = 0xffff;
	memcpy(f + uo + 6, &ck, 2);
}

static void
reply_rc(struct dp_worker *w, struct mq_sess *s, const struct net_peer *peer, uint16_t pidx,
	 uint8_t type, const struct mqttsn_msg *req, uint8_t rc, uint16_t topic_id)
{
	struct mqttsn_msg a = { .type = type, .return_code = rc, .topic_id = topic_id,
				.msg_id = req->msg_id };

	if (type == MQTTSN_SUBACK)
		a.flags = req->flags & MQTTSN_FLAG_QOS_MASK;
	mq_send(w, s, peer, pidx, &a);
	if (rc == MQTTSN_RC_CONGESTION)
		cnt(w, pidx, DP_CNT_MQTTSN_CONGESTION);
	else if (rc == MQTTSN_RC_INVALID_TOPIC_ID)
		cnt(w, pidx, DP_CNT_MQTTSN_INVALID_TOPIC);
	else if (rc == MQTTSN_RC_NOT_SUPPORTED)
		cnt(w, pidx, DP_CNT_MQTTSN_NOT_SUPPORTED);
}

static uint8_t
rc_of(int err)
{
	return err == -EINVAL ? MQTTSN_RC_INVALID_TOPIC_ID : MQTTSN_RC_CONGESTION;
}

struct mq_op *
mq_op_new(uint8_t kind, struct dp_worker *w, const struct mq_sess *s)
{
	struct mq_op *op;

	if (rte_mempool_get(mq->op_pool, (void **)&op) < 0)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->worker = (uint16_t)w->index;
	if (s != NULL) {
		op->session = (uint32_t)(s - w->mq->sess);
		op->gen = s->gen;
	}
	return op;
}

bool
mq_op_submit(struct dp_worker *w, struct mq_op *op)
{
	(void)w;
	if (rte_ring_enqueue(mq->ops, op) == 0)
		return true;
	rte_mempool_put(mq->op_pool, op);
	return false;
}

/* Hand a named request to the control plane; false if it could not. */
static bool
submit_named(struct dp_worker *w, struct mq_sess *s, uint8_t kind, const struct mqttsn_msg *req,
	     const char *name, size_t len, uint8_t qos, bool wild)
{
	struct mq_op *op = mq_op_new(kind, w, s);

	if (op == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return false;
	}
	op->msg_id = req->msg_id;
	op->qos = qos;
	op->wild = wild;
	op->short_topic = (req->flags & MQTTSN_FLAG_TOPIC_MASK) == MQTTSN_TOPIC_SHORT;
	if ((req->flags & MQTTSN_FLAG_TOPIC_MASK) == MQTTSN_TOPIC_PREDEFINED)
		op->predef = req->topic_id;
	op->name_len = (uint16_t)len;
	memcpy(op->name, name, len);
	if (!mq_op_submit(w, op)) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return false;
	}
	return true;
}

/* TSC cycles a client may stay silent: its keep-alive (or sleep) with the tolerance. */
static uint64_t
silence_tsc(uint16_t seconds)
{
	return rte_get_tsc_hz() * seconds * mq->p.keepalive_tolerance_pct / 100;
}

/* The deadline of a client heard from now; 0 = never. */
static inline uint64_t
expiry(const struct mq_sess *s)
{
	return s->silence_tsc ? rte_get_tsc_cycles() + s->silence_tsc : 0;
}

/* The CONNECT goes on once the client id is ours: the will handshake, or CONNACK. */
static void
connect_proceed(struct dp_worker *w, struct mq_sess *s)
{
	struct mqttsn_msg a = { .type = MQTTSN_CONNACK, .return_code = MQTTSN_RC_ACCEPTED };

	if (s->connect_will) {
		/* the will handshake first (spec 6.3); CONNACK after WILLMSG */
		s->will_topic_len = 0;
		s->will_msg_len = 0;
		s->connect_stage = MQ_CONNECT_WILLTOPIC;
		a = (struct mqttsn_msg){ .type = MQTTSN_WILLTOPICREQ };
		mq_send(w, s, NULL, 0, &a);
		return;
	}
	s->connect_stage = MQ_CONNECT_DONE;
	mq_send(w, s, NULL, 0, &a);
	if (s->nb_sleep > 0)
		sleep_flush(w, s);
}

/* Ask the control plane for our client id (mqttsn_priv.h, MQ_OP_CLAIM). */
static bool
claim(struct dp_worker *w, struct mq_sess *s, bool clean)
{
	struct mq_op *op = mq_op_new(MQ_OP_CLAIM, w, s);

	if (op == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return false;
	}
	op->clean = clean;
	op->name_len = s->client_id_len;
	memcpy(op->name, s->client_id, s->client_id_len);
	/* the admission it presents (osap_access.c) and where it comes from */
	op->adm_gen = s->osap ? w->mq->osap[s - w->mq->sess].pending_gen : 0;
	op->src = s->key;
	if (!mq_op_submit(w, op)) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return false;
	}
	return true;
}

static void
on_connect(struct dp_worker *w, uint16_t pidx, const struct net_peer *peer,
	   const struct mq_key *key, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	bool clean = (msg->flags & MQTTSN_FLAG_CLEAN) != 0;
	int64_t adm;

	if (msg->protocol_id != MQTTSN_PROTOCOL_ID) {
		cnt(w, pidx, DP_CNT_MQTTSN_BAD_PROTO);
		return;
	}
	if (msg->client_id.len > MQTTSN_CLIENT_ID_SPEC_MAX) {
		cnt(w, pidx, DP_CNT_MQTTSN_BAD_CLIENT_ID);
		reply_rc(w, NULL, peer, pidx, MQTTSN_CONNACK, msg, MQTTSN_RC_NOT_SUPPORTED, 0);
		return;
	}
	/* an OSAP admission the client id is held to (> 0), none (0), or refused */
	adm = mq_osap_connect(w, pidx, msg->client_id.p, msg->client_id.len);
	if (adm < 0) {
		reply_rc(w, NULL, peer, pidx, MQTTSN_CONNACK, msg, MQTTSN_RC_NOT_SUPPORTED, 0);
		return;
	}
	/*
	 * A clean session, another client id from this address, or a session
	 * that was plain and is admitted now (or the reverse): a new session.
	 */
	if (s != NULL && (clean || s->client_id_len != msg->client_id.len ||
			  memcmp(s->client_id, msg->client_id.p, msg->client_id.len) != 0 ||
			  s->osap != (adm > 0))) {
		mq_sess_end(w, s, MQ_END_GONE);
		s = NULL;
	}
	if (s == NULL) {
		s = mq_sess_new(w, key);
		if (s == NULL) {
			reply_rc(w, NULL, peer, pidx, MQTTSN_CONNACK, msg, MQTTSN_RC_CONGESTION, 0);
			return;
		}
		s->pidx = pidx;
		cnt(w, pidx, DP_CNT_MQTTSN_SESSIONS);
	}
	if (s->state != MQ_ACTIVE) {
		/* a sleeping or gone client connecting again is active (spec 6.14) */
		if (s->state == MQ_ASLEEP || s->state == MQ_AWAKE)
			cnt(w, pidx, DP_CNT_MQTTSN_WAKES);
		s->state = MQ_ACTIVE;
		s->sleep_duration = 0;
	}
	s->clean = clean;
	mq_sess_set_peer(s, peer);
	s->client_id_len = (uint8_t)msg->client_id.len;
	memcpy(s->client_id, msg->client_id.p, msg->client_id.len);
	s->client_id[s->client_id_len] = '\0';
	if (unlikely(key->lport != mq->p.port)) {
		/* over DTLS: access rules see the identity the handshake proved */
		s->ident = &w->mq->ident[s - w->mq->sess];
		s->ident->len = (uint8_t)w->mq->rx_ident_len;
		memcpy(s->ident->s, w->mq->rx_ident, w->mq->rx_ident_len);
		s->acl_node = NULL;
	}
	s->keepalive = msg->duration;
	s->silence_tsc = silence_tsc(s->keepalive);
	s->expire = expiry(s);
	s->connect_will = (msg->flags & MQTTSN_FLAG_WILL) != 0;
	if (unlikely(adm > 0)) {
		/*
		 * An admitted DevID: every CONNECT is claimed, even by a session
		 * that holds its client id already, because the control plane
		 * binds the admission (osap_access.c); the key comes with the answer.
		 */
		w->mq->osap[s - w->mq->sess].pending_gen = (uint32_t)adm;
		s->osap = true;
		if (s->connect_stage == MQ_CONNECT_CLAIM)
			return;   /* a CONNECT again: the answer to the first is on its way */
		if (!claim(w, s, clean)) {
			s->connect_stage = MQ_CONNECT_DONE;
			reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, msg, MQTTSN_RC_CONGESTION, 0);
			return;
		}
		s->connect_stage = MQ_CONNECT_CLAIM;
		return;
	}
	if (s->connect_stage == MQ_CONNECT_CLAIM && !s->claimed)
		return;   /* a CONNECT again: the answer to the first is on its way */
	if (!s->claimed && s->client_id_len > 0) {
		/* is the client id another session's? CONNACK when we know */
		if (!claim(w, s, clean)) {
			s->connect_stage = MQ_CONNECT_DONE;
			reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, msg, MQTTSN_RC_CONGESTION, 0);
			return;
		}
		s->connect_stage = MQ_CONNECT_CLAIM;
		return;
	}
	connect_proceed(w, s);
}

/*
 * A buffered PUBLISH built for the address of a taken-over session: the same
 * message with headers for @p s.
 */
static bool
readdress(struct dp_worker *w, struct mq_sess *s, struct rte_mbuf *pkt)
{
	const struct net_udp_tpl *t = &s->tpl;
	size_t uo, len = 0;
	uint32_t sum = 0;
	uint8_t *buf;

	if (t->len == 0 ||
	    rte_pktmbuf_adj(pkt, (uint16_t)frame_msg_off(rte_pktmbuf_mtod(pkt, uint8_t *),
							   &uo)) == NULL)
		return false;
	for (struct rte_mbuf *seg = pkt; seg != NULL; seg = seg->next) {
		sum = net_cksum_combine(sum, net_cksum_add(0, rte_pktmbuf_mtod(seg, uint8_t *),
							   seg->data_len), len);
		len += seg->data_len;
	}
	buf = (uint8_t *)rte_pktmbuf_prepend(pkt, t->len);
	if (buf == NULL)
		return false;
	if (s->key.wnid_len > 0)
		cnt(w, s->pidx, DP_CNT_MQTTSN_ENCAP_TX);
	return net_udp_tpl_write(buf, t, len, sum) >= 0;
}

/*
 * The control plane asks us to give up a session whose client id connected
 * elsewhere: unless that CONNECT is clean, its topic ids go along (the
 * client still uses them); the subscriptions the control plane moves
 * itself. The old address hears DISCONNECT (a client really there learns
 * that another took its id).
 */
static void
take(struct dp_worker *w, struct mq_op *op)
{
	struct mq_sess *s = &w->mq->sess[op->old_session];
	uintptr_t end = (uintptr_t)op->name + mq->op_room;
	uintptr_t *nodes = mq_op_nodes(op);
	uint16_t room = (uint16_t)((end - (uintptr_t)nodes) / sizeof(*nodes));
	struct mqttsn_msg a = { .type = MQTTSN_DISCONNECT };

	op->taken = 0;
	op->nb_ids = 0;
	op->nb_carry = 0;
	if (s->state != MQ_FREE && s->gen == op->old_gen && s->client_id_len == op->name_len &&
	    memcmp(s->client_id, op->name, op->name_len) == 0) {
		for (uint16_t i = 0; !op->clean && i < s->nb_ids && i < room; i++)
			nodes[op->nb_ids++] = (uintptr_t)s->ids[i] | (s->id_ready[i] ? 1 : 0);
		/* an OSAP session's are sealed under its key: they die with it */
		if (!op->clean && s->nb_sleep > 0 && !s->osap) {
			/* what waited for the client goes to its new session */
			struct mq_carry *c = mq_op_carry(op);
			uint16_t croom = (uint16_t)((end - (uintptr_t)c) / sizeof(*c));

			for (uint16_t i = 0; i < s->nb_sleep; i++) {
				struct mq_out *e = &s->sleepq[i];

				if (op->nb_carry >= croom) {
					cnt(w, s->pidx, DP_CNT_MQTTSN_SLEEP_DROPPED);
					mq_out_release(e);
					continue;
				}
				c[op->nb_carry++] = (struct mq_carry){
					.pkt = e->pkt, .topic_id = e->topic_id,
					.msg_id = e->msg_id, .qos = e->qos, .tt = e->tt };
				e->pkt = NULL;
			}
			s->nb_sleep = 0;
		}
		op->next_msg_id = s->next_msg_id;
		mq_send(w, s, NULL, 0, &a);
		/* the control plane moves or drops the subscriptions and the mapping */
		s->nb_subs = 0;
		s->claimed = false;
		mq_sess_end(w, s, MQ_END_TAKEN);
		op->taken = 1;
	}
	op->kind = MQ_OP_TAKEN;
	/* cannot fail: the ops ring holds every op of the pool (mqttsn_ctl.c) */
	if (!mq_op_submit(w, op))
		cnt(w, 0, DP_CNT_MQTTSN_OPS_FAILED);
}

/* The client id is ours (and the session we took over, if any, is here). */
static void
claimed(struct dp_worker *w, struct mq_sess *s, struct mq_op *op)
{
	struct mqttsn_msg req = { .msg_id = 0 };

	if (op->rc == -EACCES || op->rc == -ETIMEDOUT) {
		/* the admission refused it (osap_access.c): the session goes */
		cnt(w, s->pidx, op->rc == -ETIMEDOUT ? DP_CNT_OSAP_EXPIRED :
						      DP_CNT_OSAP_CONNECT_REFUSED);
		reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, &req, MQTTSN_RC_NOT_SUPPORTED, 0);
		mq_sess_end(w, s, MQ_END_REFUSED);
		return;
	}
	if (op->rc < 0) {
		/* another CONNECT with this client id is being handled: try again later */
		if (s->connect_stage == MQ_CONNECT_CLAIM) {
			s->connect_stage = MQ_CONNECT_DONE;
			reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, &req, MQTTSN_RC_CONGESTION, 0);
		}
		return;
	}
	s->claimed = true;
	s->nb_subs = (uint16_t)(s->nb_subs + op->rc);
	if (unlikely(s->osap)) {
		/* what waited was built for another key, or none: it cannot go out */
		for (uint16_t i = 0; i < op->nb_carry; i++)
			rte_pktmbuf_free(mq_op_carry(op)[i].pkt);
		if (op->nb_carry > 0)
			dp_cnt_add(w, s->pidx, DP_CNT_OSAP_STALE, op->nb_carry);
		op->nb_carry = 0;
		if (mq_osap_install(w, s) < 0) {
			/* its admission was replaced or revoked meanwhile */
			cnt(w, s->pidx, DP_CNT_OSAP_CONNECT_REFUSED);
			reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, &req, MQTTSN_RC_NOT_SUPPORTED, 0);
			mq_sess_end(w, s, MQ_END_REFUSED);
			return;
		}
	}
	if (op->taken) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_TAKEOVERS);
		if (s->nb_ids == 0) {
			/* the same topic ids: the client goes on using them */
			for (uint16_t i = 0; i < op->nb_ids && i < mq->p.max_registered_ids; i++) {
				uintptr_t v = mq_op_nodes(op)[i];

				s->ids[i] = (struct topic *)(v & ~(uintptr_t)1);
				s->id_ready[i] = (uint8_t)(v & 1);
				s->nb_ids = (uint16_t)(i + 1);
			}
		}
		s->next_msg_id = op->next_msg_id ? op->next_msg_id : s->next_msg_id;
		for (uint16_t i = 0; i < op->nb_carry; i++) {
			struct mq_carry *c = &mq_op_carry(op)[i];

			if (s->nb_sleep >= mq->p.max_sleep_buffer ||
			    !readdress(w, s, c->pkt)) {
				cnt(w, s->pidx, DP_CNT_MQTTSN_SLEEP_DROPPED);
				rte_pktmbuf_free(c->pkt);
				continue;
			}
			s->sleepq[s->nb_sleep++] = (struct mq_out){
				.kind = MQ_OUT_HOLD, .qos = c->qos, .tt = c->tt,
				.msg_id = c->msg_id, .topic_id = c->topic_id, .pkt = c->pkt };
		}
		op->nb_carry = 0;
	}
	if (s->connect_stage == MQ_CONNECT_CLAIM)
		connect_proceed(w, s);
}

static void
on_register(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	const char *name = (const char *)msg->topic_name.p;
	size_t len = msg->topic_name.len;
	struct topic *node;
	uint16_t id;

	if (topic_name_check(name, len) < 0) {
		reply_rc(w, s, NULL, 0, MQTTSN_REGACK, msg, MQTTSN_RC_INVALID_TOPIC_ID, 0);
		return;
	}
	rcu_read_lock();
	node = topic_lookup(mq->topics, name, len);
	rcu_read_unlock();
	if (node != NULL) {
		id = mq_sess_id_add(s, node, true);
		reply_rc(w, s, NULL, 0, MQTTSN_REGACK, msg,
			 id ? MQTTSN_RC_ACCEPTED : MQTTSN_RC_CONGESTION, id);
		return;
	}
	if (s->nb_ids >= mq->p.max_registered_ids ||
	    !submit_named(w, s, MQ_OP_REGISTER, msg, name, len, 0, false))
		reply_rc(w, s, NULL, 0, MQTTSN_REGACK, msg, MQTTSN_RC_CONGESTION, 0);
}

/* SUBSCRIBE and UNSUBSCRIBE name their topic three ways; a name for the table. */
static int
sub_name(const struct mqttsn_msg *msg, char *shortname, const char **name, size_t *len,
	 bool *wild)
{
	struct topic *node;
	int r;

	switch (msg->flags & MQTTSN_FLAG_TOPIC_MASK) {
	case MQTTSN_TOPIC_NORMAL:
		*name = (const char *)msg->topic_name.p;
		*len = msg->topic_name.len;
		r = topic_filter_check(*name, *len);
		if (r < 0)
			return r;
		*wild = r == TOPIC_FILTER_WILD;
		return 0;
	case MQTTSN_TOPIC_SHORT:
		shortname[0] = (char)(msg->topic_id >> 8);
		shortname[1] = (char)msg->topic_id;
		*name = shortname;
		*len = 2;
		*wild = false;
		return topic_name_check(shortname, 2);
	case MQTTSN_TOPIC_PREDEFINED:
		node = mq_predef_node(msg->topic_id);
		if (node == NULL)
			return -ENOENT;
		*name = node->name;
		*len = node->len;
		*wild = false;
		return 0;
	default:
		return -EINVAL;
	}
}

static void
on_subscribe(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	uint8_t type = msg->type == MQTTSN_SUBSCRIBE ? MQTTSN_SUBACK : MQTTSN_UNSUBACK;
	int qos = mqttsn_flags_qos(msg->flags);
	char shortname[2];
	const char *name;
	size_t len;
	bool wild;
	int r;

	r = sub_name(msg, shortname, &name, &len, &wild);
	if (r < 0) {
		if (type == MQTTSN_SUBACK) {
			reply_rc(w, s, NULL, 0, type, msg, MQTTSN_RC_INVALID_TOPIC_ID, 0);
		} else {
			/* UNSUBACK has no return code: nothing was subscribed */
			cnt(w, s->pidx, DP_CNT_MQTTSN_INVALID_TOPIC);
			reply_rc(w, s, NULL, 0, type, msg, 0, 0);
		}
		return;
	}
	if (type == MQTTSN_SUBACK) {
		if (!mq_access_check(s, ACL_SUBSCRIBE, name, len)) {
			cnt(w, s->pidx, DP_CNT_MQTTSN_DENIED);
			reply_rc(w, s, NULL, 0, type, msg, MQTTSN_RC_NOT_SUPPORTED, 0);
			return;
		}
		/* those asked for and not answered yet count too (pipelined SUBSCRIBEs) */
		if (s->nb_subs + s->nb_subs_pending >= mq->p.max_subscriptions_per_client) {
			reply_rc(w, s, NULL, 0, type, msg, MQTTSN_RC_CONGESTION, 0);
			return;
		}
		if (!submit_named(w, s, MQ_OP_SUBSCRIBE, msg, name, len, (uint8_t)qos, wild))
			reply_rc(w, s, NULL, 0, type, msg, MQTTSN_RC_CONGESTION, 0);
		else
			s->nb_subs_pending++;
		return;
	}
	if (!submit_named(w, s, MQ_OP_UNSUBSCRIBE, msg, name, len, 0, wild)) {
		/* UNSUBACK cannot refuse: the client retries after Tretry */
		return;
	}
}

/* The control plane answered: tell the client. */
void
mq_done(struct dp_worker *w, struct mq_op *op)
{
	struct mq_sess *s = &w->mq->sess[op->session];
	struct mqttsn_msg req = { .msg_id = op->msg_id, .flags = MQTTSN_FLAG_QOS(op->qos) };
	uint16_t id = 0;

	if (op->proto == MQ_PROTO_COAP && op->kind != MQ_OP_WILL) {
		coap_done(w, op);
		return;
	}
	if (op->kind == MQ_OP_SNAPSHOT || op->kind == MQ_OP_KICK) {
		/* a question from the control plane, not an answer */
		mq_info_worker(w, op);
		return;
	}
	if (op->kind == MQ_OP_TAKE) {
		take(w, op);
		return;
	}
	if (op->kind == MQ_OP_OSAP_END) {
		mq_osap_end(w, op);
		return;
	}
	if (op->kind == MQ_OP_WILL) {
		/* its session is gone: nobody to answer, only subscribers */
		will_route(w, op);
		if (op->proto == MQ_PROTO_COAP) {
			/* a CoAP publication to a new topic: its 2.04 */
			coap_done(w, op);
			return;
		}
		rte_mempool_put(mq->op_pool, op);
		return;
	}

	if (s->state == MQ_FREE || s->gen != op->gen) {
		/* the session ended meanwhile: undo what it asked for */
		if ((op->kind == MQ_OP_SUBSCRIBE || op->kind == MQ_OP_CLAIM) && op->rc >= 0) {
			/* its subscriptions, and (CLAIM: op->name) its client id's mapping */
			if (op->kind == MQ_OP_SUBSCRIBE)
				op->name_len = 0;
			for (uint16_t i = 0; op->kind == MQ_OP_CLAIM && i < op->nb_carry; i++)
				rte_pktmbuf_free(mq_op_carry(op)[i].pkt);
			op->nb_carry = 0;
			op->kind = MQ_OP_FORGET;
			if (mq_op_submit(w, op))
				return;
		}
		rte_mempool_put(mq->op_pool, op);
		return;
	}
	switch (op->kind) {
	case MQ_OP_REGISTER:
		if (op->rc == 0)
			id = mq_sess_id_add(s, op->node, true);
		reply_rc(w, s, NULL, 0, MQTTSN_REGACK, &req,
			 op->rc < 0 ? rc_of(op->rc) : id ? MQTTSN_RC_ACCEPTED :
							   MQTTSN_RC_CONGESTION, id);
		break;
	case MQ_OP_SUBSCRIBE:
		if (s->nb_subs_pending > 0)
			s->nb_subs_pending--;
		if (op->rc < 0) {
			reply_rc(w, s, NULL, 0, MQTTSN_SUBACK, &req, rc_of(op->rc), 0);
			break;
		}
		if (op->rc == 0)
			s->nb_subs++;
		/*
		 * A topic id only for a plain name (spec 5.4.16): a predefined id is
		 * given back, short names carry theirs.
		 */
		if (op->predef != 0)
			id = op->predef;
		else if (!op->wild && !op->short_topic && op->node != NULL)
			id = mq_sess_id_add(s, op->node, true);
		reply_rc(w, s, NULL, 0, MQTTSN_SUBACK, &req, MQTTSN_RC_ACCEPTED, id);
		/* retained messages of the topics the subscription covers, after SUBACK */
		for (uint16_t i = 0; i < op->nb_retained; i++)
			deliver_retained(w, s, mq_op_retained(op)[i], op->qos);
		break;
	case MQ_OP_CLAIM:
		claimed(w, s, op);
		break;
	case MQ_OP_UNSUBSCRIBE:
		if (op->rc == 0 && s->nb_subs > 0)
			s->nb_subs--;
		reply_rc(w, s, NULL, 0, MQTTSN_UNSUBACK, &req, 0, 0);
		break;
	default:
		break;
	}
	rte_mempool_put(mq->op_pool, op);
}

/*
 * A PUBLISH header (spec 5.4.12) of @p ph bytes (mqttsn_publish_header_len())
 * at @p buf, and its sum in *@p sum. The short form, all but every message
 * routed, is written here: mqttsn_encode_publish_header() checks what its
 * callers (build_publish()) have made sure of already, the flags, at the
 * cost of more than the whole header; the long form is left to it.
 */
static inline int
publish_header(uint8_t *buf, size_t ph, uint8_t flags, uint16_t topic_id, uint16_t msg_id,
	       size_t data_len, uint32_t *sum)
{
	uint8_t h[8] = { (uint8_t)(ph + data_len), MQTTSN_PUBLISH, flags,
			 (uint8_t)(topic_id >> 8), (uint8_t)topic_id, (uint8_t)(msg_id >> 8),
			 (uint8_t)msg_id, 0 };
	uint64_t v;

	if (ph != 7) {
		if (mqttsn_encode_publish_header(buf, ph, flags, topic_id, msg_id, data_len) < 0)
			return -EINVAL;
		*sum = net_cksum_add(0, buf, ph);
		return 0;
	}
	memcpy(buf, h, 7);
	/* the eight bytes (the last one 0) as one word: 2^16 = 1 modulo 0xffff */
	memcpy(&v, h, 8);
	v = (v & 0xffffffffu) + (v >> 32);
	*sum = (uint32_t)((v & 0xffffffffu) + (v >> 32));
	return 0;
}

/*
 * The PUBLISH of @p m's payload to OSAP device @p s: sealed under its key
 * with its next DOWN counter (docs/osap.md 11), so always a frame of its
 * own, the payload copied in (and, with @p take, @p m released). NULL if
 * no mbuf, no room, or the sealed message would exceed max_message_size.
 */
static __rte_noinline struct rte_mbuf *
build_sealed(struct dp_worker *w, struct mq_sess *s, struct rte_mbuf *m,
	     const struct mq_pubmeta *meta, uint8_t flags, uint16_t topic_id, uint16_t msg_id,
	     bool take)
{
	const struct net_udp_tpl *t = &s->tpl;
	size_t slen = (size_t)meta->data_len + OSAP_BIZ_OVERHEAD;
	size_t ph = mqttsn_publish_header_len(slen), hl = t->len + ph;
	struct rte_mbuf *hdr = NULL;
	const uint8_t *pt;
	uint32_t sum;
	uint8_t *buf;

	if (t->len == 0)
		goto fail;
	if (ph + slen > mq->p.max_message_size) {
		cnt(w, s->pidx, DP_CNT_OSAP_SEAL_TOO_BIG);
		goto fail;
	}
	hdr = rte_pktmbuf_alloc(dp.pool);
	if (hdr == NULL)
		goto fail;
	if (hl + slen > rte_pktmbuf_tailroom(hdr)) {
		cnt(w, s->pidx, DP_CNT_OSAP_SEAL_TOO_BIG);
		goto fail;
	}
	buf = rte_pktmbuf_mtod(hdr, uint8_t *);
	/* the payload, where it lies if contiguous, else copied to where it is sealed in place */
	pt = rte_pktmbuf_read(m, meta->data_off, meta->data_len, buf + hl + OSAP_BIZ_HDR_LEN);
	if (pt == NULL ||
	    mq_osap_seal(w, s, pt, meta->data_len, buf + hl, slen) < 0 ||
	    publish_header(buf + t->len, ph, flags, topic_id, msg_id, slen, &sum) < 0 ||
	    net_udp_tpl_write(buf, t, ph + slen,
			      net_cksum_add32(sum, net_cksum_odd(net_cksum_add(0, buf + hl,
									       slen)))) < 0)
		goto fail;
	hdr->data_len = (uint16_t)(hl + slen);
	hdr->pkt_len = hdr->data_len;
	if (s->key.wnid_len > 0)
		cnt(w, s->pidx, DP_CNT_MQTTSN_ENCAP_TX);
	if (take)
		rte_pktmbuf_free(m);
	return hdr;
fail:
	rte_pktmbuf_free(hdr);
	if (take)
		rte_pktmbuf_free(m);
	return NULL;
}

/*
 * The PUBLISH of @p m's payload (as @p meta describes it) to @p s. With
 * @p take the caller's reference to @p m comes along (mq_route() found m
 * ours alone: no other worker has it, and whatever else points into it,
 * indirect mbufs of earlier deliveries, reads only the payload): m itself
 * becomes the frame, its new headers written just before the payload, over
 * the received ones. Otherwise, and without @p take, the frame is a header
 * mbuf chained to an indirect mbuf on the payload, and a reference taken is
 * dropped. NULL (the reference taken dropped too) if no mbuf or no room.
 */
static __rte_always_inline struct rte_mbuf *
build_publish(struct dp_worker *w, struct mq_sess *s, struct rte_mbuf *m,
	      const struct mq_pubmeta *meta, uint8_t tt, uint16_t topic_id, int qos,
	      uint16_t msg_id, bool take)
{
	uint8_t flags = (uint8_t)(MQTTSN_FLAG_QOS(qos) | tt |
				  (meta->retain ? MQTTSN_FLAG_RETAIN : 0));
	const struct net_udp_tpl *t = &s->tpl;
	size_t ph = mqttsn_publish_header_len(meta->data_len), hl = t->len + ph;
	struct rte_mbuf *hdr, *ind;
	uint32_t sum;
	uint8_t *buf;

	if (unlikely(s->osap))
		return build_sealed(w, s, m, meta, flags, topic_id, msg_id, take);
	if (t->len == 0) {
		hdr = NULL;
		goto fail;
	}
	if (take && RTE_MBUF_DIRECT(m) && m->nb_segs == 1 &&
	    (size_t)m->data_off + meta->data_off >= hl &&
	    (size_t)meta->data_off + meta->data_len <= m->data_len) {
		/* in place: m is the frame (a direct mbuf: no flag to keep) */
		m->data_off = (uint16_t)(m->data_off + meta->data_off - hl);
		m->data_len = (uint16_t)(hl + meta->data_len);
		m->pkt_len = m->data_len;
		m->ol_flags = 0;
		hdr = m;
		take = false;
	} else {
		hdr = rte_pktmbuf_alloc(dp.pool);
		if (hdr == NULL)
			goto fail;
		hdr->data_len = (uint16_t)hl;
		hdr->pkt_len = (uint32_t)hl + meta->data_len;
		if (meta->data_len <= MQ_COPY_MAX &&
		    (size_t)meta->data_off + meta->data_len <= m->data_len) {
			/* small: a copy costs less than an indirect mbuf (mqttsn_priv.h) */
			memcpy(rte_pktmbuf_mtod_offset(hdr, uint8_t *, hl),
			       rte_pktmbuf_mtod_offset(m, const uint8_t *, meta->data_off),
			       meta->data_len);
			hdr->data_len = (uint16_t)hdr->pkt_len;
		}
	}
	buf = rte_pktmbuf_mtod(hdr, uint8_t *);
	if (publish_header(buf + t->len, ph, flags, topic_id, msg_id, meta->data_len,
			   &sum) < 0 ||
	    /* the payload follows the odd-length header: it sums swapped */
	    net_udp_tpl_write(buf, t, ph + meta->data_len,
			      net_cksum_add32(sum, net_cksum_odd(meta->sum))) < 0)
		goto fail;
	if (s->key.wnid_len > 0)
		cnt(w, s->pidx, DP_CNT_MQTTSN_ENCAP_TX);     /* through its forwarder (spec 5.5) */
	if (hdr->data_len == hdr->pkt_len)
		goto done;                           /* in place, or copied */
	ind = rte_pktmbuf_alloc(dp.pool);
	if (ind == NULL)
		goto fail;
	rte_pktmbuf_attach(ind, m);
	rte_pktmbuf_adj(ind, meta->data_off);
	rte_pktmbuf_trim(ind, (uint16_t)(ind->data_len - meta->data_len));
	hdr->next = ind;
	hdr->nb_segs = 2;
done:
	if (take)
		rte_pktmbuf_free(m);
	return hdr;
fail:
	rte_pktmbuf_free(hdr);
	if (take)
		rte_pktmbuf_free(m);
	return NULL;
}

static bool
register_out(const struct mq_sess *s, uint16_t topic_id)
{
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind == MQ_OUT_REGISTER && s->out[i].topic_id == topic_id)
			return true;
	return false;
}

static unsigned int
out_free(const struct mq_sess *s)
{
	unsigned int n = 0;

	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		n += s->out[i].kind == MQ_OUT_FREE;
	return n;
}

/* Something waits for the client's answer: a REGISTER, a PUBLISH or a PUBREL. */
static bool
out_busy(const struct mq_sess *s)
{
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind != MQ_OUT_FREE)
			return true;
	return false;
}

void
mq_awake_check(struct dp_worker *w, struct mq_sess *s)
{
	struct mqttsn_msg a = { .type = MQTTSN_PINGRESP };

	if (s->state != MQ_AWAKE)
		return;
	if (s->nb_sleep > 0)
		sleep_flush(w, s);
	if (s->nb_sleep > 0 || out_busy(s))
		return;
	/* all delivered and acknowledged (spec 6.14): PINGRESP, and asleep again */
	mq_send(w, s, NULL, 0, &a);
	s->state = MQ_ASLEEP;
	s->expire = expiry(s);
}

/* The gateway registers a topic id with a client before publishing on it (spec 6.10). */
static bool
send_register(struct dp_worker *w, struct mq_sess *s, struct topic *node, uint16_t id)
{
	struct mqttsn_msg r = { .type = MQTTSN_REGISTER, .topic_id = id,
				.msg_id = mq_sess_msg_id(s) };
	struct mq_out *o = mq_out_slot(s, r.msg_id);

	r.topic_name.p = (const uint8_t *)node->name;
	r.topic_name.len = node->len;
	if (o == NULL)
		return false;
	o->pkt = mk_frame_sess(w, s, &r);
	if (o->pkt == NULL)
		return false;
	mq_out_wait(s, o, MQ_OUT_REGISTER);
	o->msg_id = r.msg_id;
	o->topic_id = id;
	o->tries = 0;
	o->deadline = rte_get_tsc_cycles() + mq->retry_tsc;
	mq_send_held(w, s, o);
	return true;
}

/*
 * A publication for a sleeping client waits in its buffer, built as it will
 * go out; the topic id is registered, if need be, when the client wakes.
 * @p take: as for build_publish().
 */
static void
sleep_keep(struct dp_worker *w, struct mq_sess *s, struct rte_mbuf *m,
	   const struct mq_pubmeta *meta, uint8_t tt, uint16_t id, int qos, bool take)
{
	uint16_t msg_id = qos > 0 ? mq_sess_msg_id(s) : 0;
	struct rte_mbuf *pkt;

	if (s->nb_sleep >= mq->p.max_sleep_buffer) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_SLEEP_DROPPED);
		if (take)
			rte_pktmbuf_free(m);
		return;
	}
	pkt = build_publish(w, s, m, meta, tt, id, qos, msg_id, take);
	if (pkt == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
		return;
	}
	s->sleepq[s->nb_sleep++] = (struct mq_out){ .kind = MQ_OUT_HOLD, .qos = (uint8_t)qos,
						    .tt = tt, .msg_id = msg_id, .topic_id = id,
						    .pkt = pkt };
}

/*
 * Send what a sleeping client missed (spec 6.14): each buffered PUBLISH goes
 * out as a fresh delivery would (after a REGISTER if its id is new, into the
 * in-flight window if QoS > 0); what does not fit the window stays for the
 * next wake-up.
 */
static void
sleep_flush(struct dp_worker *w, struct mq_sess *s)
{
	uint16_t kept = 0;

	for (uint16_t i = 0; i < s->nb_sleep; i++) {
		struct mq_out e = s->sleepq[i];
		bool ready = e.tt == MQTTSN_TOPIC_PREDEFINED || s->id_ready[e.topic_id - 1];
		bool need_reg = !ready && !register_out(s, e.topic_id);
		struct mq_out *o;

		if (ready && e.qos == 0) {
			cnt(w, s->pidx, DP_CNT_MQTTSN_TX_PUBLISH);
			cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVERED);
			dp_tx(w, s->pidx, e.pkt);
			continue;
		}
		if (out_free(s) < (need_reg ? 2u : 1u) ||
		    (need_reg && !send_register(w, s, s->ids[e.topic_id - 1], e.topic_id))) {
			s->sleepq[kept++] = e;
			continue;
		}
		o = mq_out_slot(s, e.msg_id);
		*o = e;
		if (!ready)
			continue;               /* HOLD until the REGACK */
		mq_out_wait(s, o, e.qos == 2 ? MQ_OUT_QOS2_PUB : MQ_OUT_QOS1);
		o->deadline = rte_get_tsc_cycles() + mq->retry_tsc;
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVERED);
		mq_send_held(w, s, o);
	}
	s->nb_sleep = kept;
}

/* One subscriber's copy of a publication. @p take: as for build_publish(). */
static void
deliver_one(struct dp_worker *w, struct mq_sess *s, struct rte_mbuf *m,
	    const struct mq_pubmeta *meta, int qos, bool take)
{
	struct topic *node = meta->node;     /* meta goes with m, which may go first */
	uint16_t id = mq_sess_id_of(s, node), msg_id = 0, pid;
	uint8_t tt = MQTTSN_TOPIC_NORMAL;
	struct rte_mbuf *pkt;
	struct mq_out *o;
	bool ready;

	/* a client without a usable id of its own gets the predefined one: no REGISTER */
	if ((id == 0 || !s->id_ready[id - 1]) && (pid = mq_predef_id(node)) != 0) {
		id = pid;
		tt = MQTTSN_TOPIC_PREDEFINED;
	}
	if (id == 0)
		id = mq_sess_id_add(s, node, false);
	if (id == 0)
		goto fail;
	if (mq_state_buffers(s->state)) {
		sleep_keep(w, s, m, meta, tt, id, qos, take);
		return;
	}
	ready = tt == MQTTSN_TOPIC_PREDEFINED || s->id_ready[id - 1];
	if (!ready && out_free(s) < (register_out(s, id) ? 1u : 2u))
		goto fail;
	if (qos > 0)
		msg_id = mq_sess_msg_id(s);
	pkt = build_publish(w, s, m, meta, tt, id, qos, msg_id, take);
	take = false;                        /* m went with it */
	if (pkt == NULL)
		goto fail;
	if (!ready) {
		if (!register_out(s, id) && !send_register(w, s, node, id)) {
			rte_pktmbuf_free(pkt);
			goto fail;
		}
		o = mq_out_slot(s, msg_id);
		*o = (struct mq_out){ .kind = MQ_OUT_HOLD, .qos = (uint8_t)qos, .msg_id = msg_id,
				      .topic_id = id, .pkt = pkt };
		return;
	}
	if (qos == 0) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_TX_PUBLISH);
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVERED);
		dp_tx(w, s->pidx, pkt);
		return;
	}
	o = mq_out_slot(s, msg_id);
	if (o == NULL) {
		rte_pktmbuf_free(pkt);
		goto fail;
	}
	*o = (struct mq_out){ .kind = MQ_OUT_FREE, .qos = (uint8_t)qos, .tt = tt,
			      .msg_id = msg_id, .topic_id = id, .pkt = pkt,
			      .deadline = rte_get_tsc_cycles() + mq->retry_tsc };
	mq_out_wait(s, o, qos == 2 ? MQ_OUT_QOS2_PUB : MQ_OUT_QOS1);
	cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVERED);
	mq_send_held(w, s, o);
	return;
fail:
	cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
	if (take)
		rte_pktmbuf_free(m);
}

/*
 * A retained message for one new subscriber: the payload is copied out of
 * the table into an mbuf of its own (before this worker's next quiescent
 * state, so the retained copy cannot be freed under us), then goes out like
 * any publication, with RETAIN set.
 */
static void
deliver_retained(struct dp_worker *w, struct mq_sess *s, struct topic *node, int qos)
{
	const struct topic_retained *r;
	struct mq_pubmeta *meta;
	struct rte_mbuf *m;
	char *data;

	rcu_read_lock();
	r = topic_retained_get(node);
	if (r == NULL) {
		rcu_read_unlock();
		return;
	}
	m = rte_pktmbuf_alloc(dp.pool);
	data = m != NULL ? rte_pktmbuf_append(m, (uint16_t)r->len) : NULL;
	if (data == NULL) {
		rcu_read_unlock();
		rte_pktmbuf_free(m);
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
		return;
	}
	memcpy(data, r->payload, r->len);
	m->port = dp.ports[s->pidx].port_id;
	meta = mq_meta(m);
	meta->node = node;
	meta->data_off = 0;
	meta->data_len = (uint16_t)r->len;
	meta->qos = r->flags;
	meta->retain = 1;
	meta->fmt = r->fmt;
	meta->sum = net_cksum_add(0, data, r->len);
	rcu_read_unlock();
	/* m is ours alone: it goes out itself */
	deliver_one(w, s, m, meta, qos < meta->qos ? qos : meta->qos, true);
}

/* The live session an MQTT-SN entry of a delivery set names, or NULL. */
static inline struct mq_sess *
ref_sess(struct dp_worker *w, const struct topic_sub_ref *ref)
{
	struct mq_sess *s = &w->mq->sess[ref->session];

	return s->state == MQ_FREE || s->gen != ref->gen ? NULL : s;
}

/*
 * This worker's subscribers of a publication (its run of the delivery set).
 * With @p take the caller's reference to @p m comes along: the last MQTT-SN
 * subscriber, served after all the others (each MQTT-SN one is served when
 * the next is found), gets m itself (build_publish()), and m is released
 * whatever happens.
 */
static void
deliver_run(struct dp_worker *w, struct rte_mbuf *m, bool take)
{
	const struct mq_pubmeta *meta = mq_meta(m);
	const struct topic_sub_ref *refs;
	struct mq_sess *s, *next = NULL;
	int qos = 0;
	uint32_t n;

	refs = topic_dset_run(topic_dset(meta->node), (uint16_t)w->index, &n);
	for (uint32_t i = 0; i < n; i++) {
		if (refs[i].session & CP_REF_BIT) {
			/* a CoAP observer */
			coap_deliver(w, &refs[i], m, meta);
			continue;
		}
		s = ref_sess(w, &refs[i]);
		if (s == NULL)
			continue;
		if (next != NULL)
			deliver_one(w, next, m, meta, qos, false);
		next = s;
		qos = RTE_MIN(meta->qos, refs[i].qos);
	}
	if (next != NULL)
		deliver_one(w, next, m, meta, qos, take);
	else if (take)
		rte_pktmbuf_free(m);
}

void
mq_deliver_local(struct dp_worker *w, struct rte_mbuf *m)
{
	deliver_run(w, m, false);
}

/* mq_route(), inline where a received PUBLISH is routed (on_publish()). */
static __rte_always_inline void
route(struct dp_worker *w, uint16_t pidx, struct topic *node, struct rte_mbuf *m,
      const uint8_t *data, uint16_t data_off, uint16_t data_len, int qos, bool retain,
      uint16_t fmt)
{
	struct mq_pubmeta *meta = mq_meta(m);
	const struct topic_dset *d = topic_dset(node);
	/* ours alone, so far: unless another worker gets it too, it may go out itself */
	bool mine = false, own = rte_mbuf_refcnt_read(m) == 1;

	meta->node = node;
	meta->data_off = data_off;
	meta->data_len = data_len;
	meta->qos = (uint8_t)(qos < 0 ? 0 : qos);
	meta->retain = retain;
	meta->fmt = fmt;
	meta->sum = net_cksum_add(0, data, data_len);
	for (uint16_t r = 0; r < d->nb_runs; r++) {
		uint16_t core = d->runs[r].core;
		struct dp_txbuf *b;

		if (core == w->index) {
			mine = true;
			continue;
		}
		if (core >= dp.nb_workers)
			continue;
		rte_mbuf_refcnt_update(m, 1);
		own = false;
		b = &w->mq->fwd[core];
		b->m[b->n++] = m;
		cnt(w, pidx, DP_CNT_MQTTSN_FORWARDED);
		if (b->n == DP_BURST)
			mqttsn_flush_fwd(w, core);
	}
	if (mine && own) {
		deliver_run(w, m, true);
		return;
	}
	if (mine)
		deliver_run(w, m, false);
	rte_pktmbuf_free(m);
}

void
mq_route(struct dp_worker *w, uint16_t pidx, struct topic *node, struct rte_mbuf *m,
	 const uint8_t *data, uint16_t data_off, uint16_t data_len, int qos, bool retain,
	 uint16_t fmt)
{
	route(w, pidx, node, m, data, data_off, data_len, qos, retain, fmt);
}

/*
 * An incoming QoS 2 PUBLISH: exactly once. Its msg id is remembered until
 * PUBREL; a duplicate before that is answered with PUBREC again but not
 * routed again. @return true if it is to be routed.
 */
static bool
qos2_receive(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mqttsn_msg a = { .type = MQTTSN_PUBREC, .msg_id = msg->msg_id };
	uint16_t *free_slot = NULL;

	for (uint16_t i = 0; i < mq->p.max_inflight; i++) {
		if (s->qos2_in[i] == msg->msg_id && msg->msg_id != 0) {
			mq_send(w, s, NULL, 0, &a);
			return false;
		}
		if (s->qos2_in[i] == 0 && free_slot == NULL)
			free_slot = &s->qos2_in[i];
	}
	if (free_slot == NULL || msg->msg_id == 0) {
		reply_rc(w, s, NULL, 0, MQTTSN_PUBACK, msg,
			 msg->msg_id == 0 ? MQTTSN_RC_NOT_SUPPORTED : MQTTSN_RC_CONGESTION,
			 msg->topic_id);
		return false;
	}
	*free_slot = msg->msg_id;
	mq_send(w, s, NULL, 0, &a);
	return true;
}

/* Store (or, empty, delete) a topic's retained message: the table's writer does it. */
static void
retain(struct dp_worker *w, uint16_t pidx, struct mq_sess *s, const char *name, size_t len,
       const uint8_t *data, size_t dlen, int qos)
{
	struct mq_op *op;

	if (len + dlen > mq->op_room) {
		cnt(w, pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return;
	}
	op = mq_op_new(MQ_OP_RETAIN, w, s);
	if (op == NULL) {
		cnt(w, pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return;
	}
	op->name_len = (uint16_t)len;
	memcpy(op->name, name, len);
	op->data_len = (uint16_t)dlen;
	op->data_flags = (uint8_t)(qos < 0 ? 0 : qos);
	if (dlen > 0)
		memcpy(op->name + len, data, dlen);
	if (!mq_op_submit(w, op))
		cnt(w, pidx, DP_CNT_MQTTSN_OPS_FAILED);
}

static void
on_publish(struct dp_worker *w, uint16_t pidx, struct mq_sess *s, const struct mqttsn_msg *msg,
	   struct rte_mbuf *m, const uint8_t *frame)
{
	int qos = mqttsn_flags_qos(msg->flags);
	const uint8_t *data = msg->data.p;
	size_t dlen = msg->data.len;
	struct topic *node = NULL;
	char shortname[2];
	uint8_t rc = MQTTSN_RC_ACCEPTED;
	bool replay = false;

	/* QoS -1 has no session, so no key: not in OSAP admission mode */
	if (qos < 0 && (!mq->p.qos_minus_one || mq->p.admission == DP_ADMISSION_OSAP)) {
		cnt(w, pidx, DP_CNT_MQTTSN_NOT_SUPPORTED);
		goto drop;
	}
	if (qos >= 0 && s == NULL) {
		cnt(w, pidx, DP_CNT_MQTTSN_NO_SESSION);
		goto drop;
	}
	switch (msg->flags & MQTTSN_FLAG_TOPIC_MASK) {
	case MQTTSN_TOPIC_NORMAL:
		if (s == NULL || msg->topic_id == 0 || msg->topic_id > s->nb_ids ||
		    !s->id_ready[msg->topic_id - 1])
			rc = MQTTSN_RC_INVALID_TOPIC_ID;
		else
			node = s->ids[msg->topic_id - 1];
		break;
	case MQTTSN_TOPIC_SHORT:
		shortname[0] = (char)(msg->topic_id >> 8);
		shortname[1] = (char)msg->topic_id;
		if (topic_name_check(shortname, 2) < 0) {
			rc = MQTTSN_RC_INVALID_TOPIC_ID;
			break;
		}
		/* no topic yet means no subscriber yet: accepted, nothing to route */
		rcu_read_lock();
		node = topic_lookup(mq->topics, shortname, 2);
		rcu_read_unlock();
		break;
	case MQTTSN_TOPIC_PREDEFINED:
		node = mq_predef_node(msg->topic_id);
		if (node == NULL)
			rc = MQTTSN_RC_INVALID_TOPIC_ID;
		break;
	default:
		rc = MQTTSN_RC_INVALID_TOPIC_ID;
		break;
	}
	if (rc != MQTTSN_RC_ACCEPTED) {
		if (s != NULL)
			reply_rc(w, s, NULL, 0, MQTTSN_PUBACK, msg, rc, msg->topic_id);
		else
			cnt(w, pidx, DP_CNT_MQTTSN_INVALID_TOPIC);
		goto drop;
	}
	if (!(node != NULL ? mq_access_publish(s, node) :
			     mq_access_check(s, ACL_PUBLISH, shortname, 2))) {
		cnt(w, pidx, DP_CNT_MQTTSN_DENIED);
		if (s != NULL)
			reply_rc(w, s, NULL, 0, MQTTSN_PUBACK, msg, MQTTSN_RC_NOT_SUPPORTED,
				 msg->topic_id);
		goto drop;
	}
	if (s != NULL && unlikely(s->osap)) {
		/* an OSAP device's data: opened in place, in the frame we own */
		int r = mq_osap_open(w, s, (uint8_t *)(uintptr_t)data, &dlen);

		if (r == -EBADMSG) {
			if (qos > 0)
				reply_rc(w, s, NULL, 0, MQTTSN_PUBACK, msg, MQTTSN_RC_NOT_SUPPORTED,
					 msg->topic_id);
			goto drop;
		}
		/* a replay is acknowledged (its PUBACK may have been lost), not routed */
		replay = r == -EALREADY;
		data += OSAP_BIZ_HDR_LEN;
	}
	if (qos == 2 && !qos2_receive(w, s, msg))
		goto drop;
	if (qos == 1)
		reply_rc(w, s, NULL, 0, MQTTSN_PUBACK, msg, MQTTSN_RC_ACCEPTED, msg->topic_id);
	if (unlikely(replay))
		goto drop;
	cnt(w, pidx, DP_CNT_MQTTSN_PUBLISHED);
	if (msg->flags & MQTTSN_FLAG_RETAIN)
		retain(w, pidx, s, node != NULL ? node->name : shortname,
		       node != NULL ? node->len : 2, data, dlen, qos);
	if (node == NULL)
		goto drop;
	route(w, pidx, node, m, data, (uint16_t)(data - frame), (uint16_t)dlen, qos,
	      (msg->flags & MQTTSN_FLAG_RETAIN) != 0, 0);
	return;
drop:
	rte_pktmbuf_free(m);
}

static void
on_regack(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mq_out *o = mq_out_find(s, MQ_OUT_REGISTER, msg->msg_id);
	uint16_t id;

	if (o == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
		return;
	}
	id = o->topic_id;
	mq_out_done(s, o);
	if (msg->return_code == MQTTSN_RC_ACCEPTED)
		s->id_ready[id - 1] = 1;
	/* what waited for this id goes out now, or is dropped if the client refused it */
	for (uint16_t i = 0; i < mq->p.max_inflight; i++) {
		o = &s->out[i];
		if (o->kind != MQ_OUT_HOLD || o->topic_id != id)
			continue;
		if (msg->return_code != MQTTSN_RC_ACCEPTED) {
			cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
			mq_out_release(o);
			continue;
		}
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVERED);
		if (o->qos == 0) {
			cnt(w, s->pidx, DP_CNT_MQTTSN_TX_PUBLISH);
			dp_tx(w, s->pidx, o->pkt);
			memset(o, 0, sizeof(*o));
			continue;
		}
		mq_out_wait(s, o, o->qos == 2 ? MQ_OUT_QOS2_PUB : MQ_OUT_QOS1);
		o->tries = 0;
		o->deadline = rte_get_tsc_cycles() + mq->retry_tsc;
		mq_send_held(w, s, o);
	}
	mq_awake_check(w, s);
}

static void
on_puback(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mq_out *o = mq_out_find(s, MQ_OUT_QOS1, msg->msg_id);

	if (o == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
		return;
	}
	/* a client that lost the id refuses it: register it again next time */
	if (msg->return_code == MQTTSN_RC_INVALID_TOPIC_ID && o->tt == MQTTSN_TOPIC_NORMAL &&
	    o->topic_id != 0 && o->topic_id <= s->nb_ids)
		s->id_ready[o->topic_id - 1] = 0;
	mq_out_done(s, o);
	mq_awake_check(w, s);
}

/* PUBREC for our QoS 2 PUBLISH: release it, send PUBREL (kept until PUBCOMP). */
static void
on_pubrec(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mqttsn_msg rel = { .type = MQTTSN_PUBREL, .msg_id = msg->msg_id };
	struct mq_out *o = mq_out_find(s, MQ_OUT_QOS2_PUB, msg->msg_id);
	struct rte_mbuf *pkt;

	if (o == NULL) {
		/* a PUBREC again: our PUBREL was lost; send it again */
		o = mq_out_find(s, MQ_OUT_QOS2_REL, msg->msg_id);
		if (o == NULL) {
			cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
			return;
		}
		mq_send_held(w, s, o);
		return;
	}
	pkt = mk_frame_sess(w, s, &rel);
	if (pkt == NULL) {
		/* keep the PUBLISH: its retransmission brings another PUBREC */
		cnt(w, s->pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
		return;
	}
	rte_pktmbuf_free(o->pkt);
	o->pkt = pkt;
	mq_out_wait(s, o, MQ_OUT_QOS2_REL);
	o->tries = 0;
	o->deadline = rte_get_tsc_cycles() + mq->retry_tsc;
	mq_send_held(w, s, o);
}

/* PUBREL for a QoS 2 PUBLISH we received: forget its msg id, answer PUBCOMP. */
static void
on_pubrel(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mqttsn_msg comp = { .type = MQTTSN_PUBCOMP, .msg_id = msg->msg_id };
	bool known = false;

	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->qos2_in[i] == msg->msg_id && msg->msg_id != 0) {
			s->qos2_in[i] = 0;
			known = true;
		}
	/*
	 * An unknown id: our PUBCOMP was lost and the client asks again, or a
	 * confused client. PUBCOMP either way lets it finish (as MQTT does).
	 */
	if (!known)
		cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
	mq_send(w, s, NULL, 0, &comp);
}

static void
on_pubcomp(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mq_out *o = mq_out_find(s, MQ_OUT_QOS2_REL, msg->msg_id);

	if (o == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
		return;
	}
	mq_out_done(s, o);
	mq_awake_check(w, s);
}

/*
 * WILLTOPIC during CONNECT, WILLTOPICUPD after it: an empty topic means no
 * will. @return the return code for CONNACK or WILLTOPICRESP.
 */
static uint8_t
will_topic(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	size_t len = msg->will_topic.len;

	if (len == 0) {
		s->will_topic_len = 0;
		s->will_msg_len = 0;
		return MQTTSN_RC_ACCEPTED;
	}
	if (topic_name_check((const char *)msg->will_topic.p, len) < 0 ||
	    mqttsn_flags_qos(msg->flags) < 0)
		return MQTTSN_RC_INVALID_TOPIC_ID;
	if (!mq_access_check(s, ACL_PUBLISH, (const char *)msg->will_topic.p, len)) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_DENIED);
		return MQTTSN_RC_NOT_SUPPORTED;
	}
	if (len + s->will_msg_len > mq->p.max_message_size)
		return MQTTSN_RC_CONGESTION;
	/* the message follows the topic in the buffer: move it */
	memmove(s->will + len, s->will + s->will_topic_len, s->will_msg_len);
	memcpy(s->will, msg->will_topic.p, len);
	s->will_topic_len = (uint16_t)len;
	s->will_flags = msg->flags & (MQTTSN_FLAG_QOS_MASK | MQTTSN_FLAG_RETAIN);
	return MQTTSN_RC_ACCEPTED;
}

static uint8_t
will_msg(struct mq_sess *s, const struct mqttsn_msg *msg)
{
	if (s->will_topic_len + msg->will_msg.len > mq->p.max_message_size)
		return MQTTSN_RC_CONGESTION;
	if (msg->will_msg.len > 0)
		memcpy(s->will + s->will_topic_len, msg->will_msg.p, msg->will_msg.len);
	s->will_msg_len = (uint16_t)msg->will_msg.len;
	return MQTTSN_RC_ACCEPTED;
}

static void
on_will(struct dp_worker *w, struct mq_sess *s, const struct mqttsn_msg *msg)
{
	struct mqttsn_msg a = { .return_code = MQTTSN_RC_ACCEPTED };
	uint8_t rc;

	switch (msg->type) {
	case MQTTSN_WILLTOPIC:
		if (s->connect_stage != MQ_CONNECT_WILLTOPIC)
			break;
		rc = will_topic(w, s, msg);
		if (rc != MQTTSN_RC_ACCEPTED || s->will_topic_len == 0) {
			/* refused, or no will after all: CONNACK now */
			s->connect_stage = MQ_CONNECT_DONE;
			reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, msg, rc, 0);
			return;
		}
		s->connect_stage = MQ_CONNECT_WILLMSG;
		a.type = MQTTSN_WILLMSGREQ;
		mq_send(w, s, NULL, 0, &a);
		return;
	case MQTTSN_WILLMSG:
		if (s->connect_stage != MQ_CONNECT_WILLMSG)
			break;
		s->connect_stage = MQ_CONNECT_DONE;
		rc = will_msg(s, msg);
		if (rc != MQTTSN_RC_ACCEPTED)
			s->will_topic_len = 0;
		reply_rc(w, s, NULL, 0, MQTTSN_CONNACK, msg, rc, 0);
		if (rc == MQTTSN_RC_ACCEPTED && s->nb_sleep > 0)
			sleep_flush(w, s);
		return;
	case MQTTSN_WILLTOPICUPD:
		if (s->connect_stage != MQ_CONNECT_DONE)
			break;
		reply_rc(w, s, NULL, 0, MQTTSN_WILLTOPICRESP, msg, will_topic(w, s, msg), 0);
		return;
	case MQTTSN_WILLMSGUPD:
		if (s->connect_stage != MQ_CONNECT_DONE)
			break;
		reply_rc(w, s, NULL, 0, MQTTSN_WILLMSGRESP, msg, will_msg(s, msg), 0);
		return;
	default:
		break;
	}
	cnt(w, s->pidx, DP_CNT_MQTTSN_UNEXPECTED);
}

/*
 * A lost client's will goes to the control plane, which creates its topic if
 * need be and stores it as retained if asked; back on this worker (mq_done)
 * it is routed as if the client had published it.
 */
void
mq_publish_will(struct dp_worker *w, struct mq_sess *s)
{
	struct mq_op *op;

	cnt(w, s->pidx, DP_CNT_MQTTSN_WILLS);
	op = mq_op_new(MQ_OP_WILL, w, s);
	if (op == NULL) {
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
		return;
	}
	op->name_len = s->will_topic_len;
	op->data_len = s->will_msg_len;
	op->data_flags = s->will_flags;
	op->msg_id = s->pidx;           /* the port it is counted on */
	memcpy(op->name, s->will, (size_t)s->will_topic_len + s->will_msg_len);
	if (!mq_op_submit(w, op))
		cnt(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED);
}

/* The will's topic exists now: route it. */
static void
will_route(struct dp_worker *w, struct mq_op *op)
{
	uint16_t pidx = op->msg_id;
	struct rte_mbuf *m;
	char *data;

	if (op->node == NULL)
		return;
	m = rte_pktmbuf_alloc(dp.pool);
	data = m != NULL ? rte_pktmbuf_append(m, op->data_len) : NULL;
	if (data == NULL) {
		rte_pktmbuf_free(m);
		cnt(w, pidx, DP_CNT_MQTTSN_DELIVER_FAILED);
		return;
	}
	memcpy(data, op->name + op->name_len, op->data_len);
	m->port = dp.ports[pidx].port_id;
	/* a will keeps its RETAIN flag; a CoAP publication only sets the topic's value */
	mq_route(w, pidx, op->node, m, (const uint8_t *)data, 0, op->data_len,
		 mqttsn_flags_qos(op->data_flags),
		 op->proto != MQ_PROTO_COAP && (op->data_flags & MQTTSN_FLAG_RETAIN) != 0, op->fmt);
}

static void
key_of(const struct net_peer *peer, uint16_t pidx, const struct mqttsn_msg *msg,
       struct mq_key *k)
{
	memset(k, 0, sizeof(*k));
	/* an IPv4 address is followed by zeros (net_peer_from()): one fixed-size copy */
	memcpy(k->addr, peer->addr, 16);
	k->port = peer->port;
	k->v6 = peer->v6;
	k->pidx = (uint8_t)pidx;
	k->lport = peer->lport;
	if (msg->encap.present) {
		k->wnid_len = (uint8_t)msg->encap.node_id.len;
		if (k->wnid_len > 0)
			memcpy(k->wnid, msg->encap.node_id.p, k->wnid_len);
	}
}

/* Decode a datagram for the node, counting it; false (counted) if it is dropped. */
static bool
decode(struct dp_worker *w, uint16_t pidx, const struct rte_mbuf *m, const struct net_pkt *pk,
       struct mqttsn_msg *msg)
{
	const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *) + pk->l4_off + 8;
	size_t len = (size_t)pk->l4_len - 8;

	if (len > mq->p.max_message_size || (size_t)pk->l4_off + pk->l4_len > m->data_len) {
		cnt(w, pidx, DP_CNT_MQTTSN_TOO_BIG);
		return false;
	}
	if (mqttsn_decode(data, len, msg) < 0) {
		cnt(w, pidx, DP_CNT_MQTTSN_ERR_SHORT + msg->err - MQTTSN_ERR_SHORT);
		return false;
	}
	cnt(w, pidx, cnt_type(DP_CNT_MQTTSN_RX_ADVERTISE, msg->type));
	if (msg->encap.present) {
		/*
		 * From a forwarder (spec 5.5): the client is the forwarder's
		 * address and the wireless node id; answers go back wrapped.
		 */
		cnt(w, pidx, DP_CNT_MQTTSN_ENCAP_RX);
		if (msg->encap.node_id.len > MQ_WNID_MAX) {
			cnt(w, pidx, DP_CNT_MQTTSN_ENCAP_BAD);
			return false;
		}
	}
	return true;
}

/*
 * A datagram to a broadcast or multicast address: clients look for a
 * gateway with SEARCHGW (spec 6.1). GWINFO goes back to the searcher
 * itself; everything else sent that way is not for a gateway.
 */
void
mqttsn_rx_bcast(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mqttsn_msg msg, a;
	struct net_peer peer;
	struct mq_key key;

	if (decode(w, pidx, m, pk, &msg)) {
		if (msg.type == MQTTSN_SEARCHGW) {
			net_peer_from(frame, pk, &peer);
			key_of(&peer, pidx, &msg, &key);
			w->mq->rx_key = &key;
			a = (struct mqttsn_msg){ .type = MQTTSN_GWINFO, .gw_id = mq->p.gateway_id };
			mq_send(w, NULL, &peer, pidx, &a);
			w->mq->rx_key = NULL;
		} else {
			cnt(w, pidx, DP_CNT_MQTTSN_UNEXPECTED);
		}
	}
	rte_pktmbuf_free(m);
}

static void
node_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mqttsn_msg msg, a;
	struct net_peer peer;
	struct mq_key key;
	struct mq_sess *s;

	if (!decode(w, pidx, m, pk, &msg))
		goto drop;
	net_peer_from(frame, pk, &peer);
	key_of(&peer, pidx, &msg, &key);
	w->mq->rx_key = &key;
	s = mq_sess_find(w->mq, &key);
	if (unlikely(key.lport != mq->p.port)) {
		/*
		 * Over DTLS. A new DTLS session from the same address and port
		 * with another identity is another client: the session of the
		 * old one ends rather than serve the new one.
		 */
		w->mq->rx_ident = dp_dtls_identity(m, &w->mq->rx_ident_len);
		if (s != NULL && s->ident != NULL &&
		    (s->ident->len != w->mq->rx_ident_len ||
		     memcmp(s->ident->s, w->mq->rx_ident, s->ident->len) != 0)) {
			cnt(w, pidx, DP_CNT_MQTTSN_DTLS_NEW_IDENTITY);
			mq_sess_end(w, s, MQ_END_GONE);
			s = NULL;
		}
	}
	/* a kept session waits for a CONNECT: until then the client has none */
	if (s != NULL && mq_state_kept(s->state) && msg.type != MQTTSN_CONNECT)
		s = NULL;
	if (s != NULL && !mq_state_kept(s->state)) {
		/* the return path follows the client's last datagram; so does keep-alive */
		mq_sess_set_peer(s, &peer);
		s->expire = expiry(s);
	}
	switch (msg.type) {
	case MQTTSN_CONNECT:
		on_connect(w, pidx, &peer, &key, s, &msg);
		goto drop;
	case MQTTSN_SEARCHGW:
		a = (struct mqttsn_msg){ .type = MQTTSN_GWINFO, .gw_id = mq->p.gateway_id };
		mq_send(w, NULL, &peer, pidx, &a);
		goto drop;
	case MQTTSN_PUBLISH:
		on_publish(w, pidx, s, &msg, m, frame);
		return;
	default:
		break;
	}
	if (s == NULL) {
		cnt(w, pidx, DP_CNT_MQTTSN_NO_SESSION);
		goto drop;
	}
	switch (msg.type) {
	case MQTTSN_REGISTER:
		on_register(w, s, &msg);
		break;
	case MQTTSN_REGACK:
		on_regack(w, s, &msg);
		break;
	case MQTTSN_PUBACK:
		on_puback(w, s, &msg);
		break;
	case MQTTSN_PUBREC:
		on_pubrec(w, s, &msg);
		break;
	case MQTTSN_PUBREL:
		on_pubrel(w, s, &msg);
		break;
	case MQTTSN_PUBCOMP:
		on_pubcomp(w, s, &msg);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLTOPICUPD:
	case MQTTSN_WILLMSGUPD:
		on_will(w, s, &msg);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		on_subscribe(w, s, &msg);
		break;
	case MQTTSN_PINGREQ:
		if (msg.client_id.len > 0 && s->state == MQ_ASLEEP) {
			/* awake: what it missed, then PINGRESP; then asleep again */
			cnt(w, pidx, DP_CNT_MQTTSN_WAKES);
			s->state = MQ_AWAKE;
			mq_awake_check(w, s);
			break;
		}
		a = (struct mqttsn_msg){ .type = MQTTSN_PINGRESP };
		mq_send(w, s, NULL, 0, &a);
		break;
	case MQTTSN_DISCONNECT:
		a = (struct mqttsn_msg){ .type = MQTTSN_DISCONNECT };
		mq_send(w, s, NULL, 0, &a);
		if (msg.has_duration && msg.duration > 0) {
			/* asleep: publications wait; lost if it does not wake in time */
			s->state = MQ_ASLEEP;
			s->sleep_duration = msg.duration;
			s->silence_tsc = silence_tsc(msg.duration);
			s->expire = expiry(s);
			cnt(w, pidx, DP_CNT_MQTTSN_SLEEPS);
			break;
		}
		mq_sess_leave(w, s, false);
		break;
	default:
		/* gateway-to-client types */
		cnt(w, pidx, DP_CNT_MQTTSN_UNEXPECTED);
		break;
	}
drop:
	rte_pktmbuf_free(m);
}

void
mqttsn_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk)
{
	node_rx(w, pidx, m, pk);
	/* the key lived on node_rx's stack */
	w->mq->rx_key = NULL;
}
