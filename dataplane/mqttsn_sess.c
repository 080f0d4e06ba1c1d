/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT-SN sessions: per-worker tables of clients, their topic ids, their
 * unacknowledged messages, and the timers that retransmit them or declare
 * a client lost. Only the owning worker touches a session.
 *
 * Every datagram looks its sender's session up by address (struct mq_key,
 * 40 bytes). The cuckoo hash is exact but costs a hundred and more
 * instructions a lookup; a direct-mapped cache of slots in front of it,
 * indexed by the same CRC the hash uses, answers a client heard before
 * with one compare of its key. The cache is never invalidated: a hit counts
 * only if the slot's session is live and has that key, and a live
 * session's key is in the hash (mq_sess_new() to mq_sess_end()), so a hit
 * is exactly what the hash would have answered.
 */

#include <string.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/mqttsn_priv.h"
#include "proto/errcode.h"

/* The session table's hash (rte_hash_crc over the key's five words), inline. */
static inline uint32_t
key_crc(const struct mq_key *k)
{
	uint64_t w[sizeof(*k) / 8];
	uint32_t h = 0;

	RTE_BUILD_BUG_ON(sizeof(*k) % 8 != 0);
	memcpy(w, k, sizeof(w));
	for (unsigned int i = 0; i < RTE_DIM(w); i++)
		h = rte_hash_crc_8byte(w[i], h);
	return h;
}

/* The hash function of by_addr: the same CRC as the cache's index. */
static uint32_t
key_hash(const void *key, uint32_t key_len, uint32_t init_val)
{
	RTE_SET_USED(key_len);
	RTE_SET_USED(init_val);
	return key_crc(key);
}

static inline bool
key_eq(const struct mq_key *a, const struct mq_key *b)
{
	uint64_t x[sizeof(*a) / 8], y[sizeof(*b) / 8], d = 0;

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	for (unsigned int i = 0; i < RTE_DIM(x); i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static void
worker_free(struct mq_worker *mw)
{
	if (mw == NULL)
		return;
	mq_osap_worker_free(mw);
	rte_free(mw->ident);
	rte_hash_free(mw->by_addr);
	rte_free(mw->cache);
	rte_ring_free(mw->deliv);
	rte_ring_free(mw->done);
	if (mw->sess != NULL) {
		rte_free(mw->sess[0].ids);
		rte_free(mw->sess[0].id_ready);
		rte_free(mw->sess[0].out);
		rte_free(mw->sess[0].qos2_in);
		rte_free(mw->sess[0].sleepq);
		rte_free(mw->sess[0].will);
	}
	rte_free(mw->sess);
	rte_free(mw->free);
	rte_free(mw);
}

static struct mq_worker *
worker_new(unsigned int wi, uint32_t slots, char *err, size_t errlen)
{
	const struct dp_mqttsn_params *p = &mq->p;
	int socket = (int)rte_lcore_to_socket_id(dp.worker[wi]->lcore_id);
	struct rte_hash_parameters hp = { 0 };
	char name[RTE_HASH_NAMESIZE];
	struct mq_worker *mw;
	struct topic **ids;
	uint8_t *ready;
	struct mq_out *out;
	uint16_t *q2;
	struct mq_out *sq;
	uint8_t *wl;

	mw = rte_zmalloc_socket("mq_worker", sizeof(*mw), RTE_CACHE_LINE_SIZE, socket);
	if (mw == NULL)
		goto nomem;
	mw->nb_slots = slots;
	snprintf(name, sizeof(name), "tern_mq_sess%u", wi);
	hp.name = name;
	hp.entries = RTE_MAX(slots, 8u);
	hp.key_len = sizeof(struct mq_key);
	hp.hash_func = key_hash;
	hp.socket_id = socket;
	mw->by_addr = rte_hash_create(&hp);
	snprintf(name, sizeof(name), "tern_mq_deliv%u", wi);
	/* every other worker hands publications over: multi-producer */
	mw->deliv = rte_ring_create(name, MQ_RING, socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "tern_mq_done%u", wi);
	mw->done = rte_ring_create(name, MQ_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	mw->sess = rte_zmalloc_socket("mq_sess", sizeof(*mw->sess) * slots, RTE_CACHE_LINE_SIZE,
				      socket);
	mw->free = rte_zmalloc_socket("mq_free", sizeof(*mw->free) * slots, 0, socket);
	/* at least twice the slots: few clients share an entry */
	mw->cache_mask = rte_align32pow2(RTE_MAX(2 * slots, 64u)) - 1;
	mw->cache = rte_zmalloc_socket("mq_cache", sizeof(*mw->cache) * (mw->cache_mask + 1),
				       RTE_CACHE_LINE_SIZE, socket);
	ids = rte_zmalloc_socket("mq_ids", sizeof(*ids) * slots * p->max_registered_ids, 0,
				 socket);
	ready = rte_zmalloc_socket("mq_ready", (size_t)slots * p->max_registered_ids, 0, socket);
	out = rte_zmalloc_socket("mq_out", sizeof(*out) * slots * p->max_inflight, 0, socket);
	q2 = rte_zmalloc_socket("mq_qos2", sizeof(*q2) * slots * p->max_inflight, 0, socket);
	sq = rte_zmalloc_socket("mq_sleep", sizeof(*sq) * slots * p->max_sleep_buffer, 0, socket);
	wl = rte_zmalloc_socket("mq_will", (size_t)slots * p->max_message_size, 0, socket);
	if (mw->by_addr == NULL || mw->deliv == NULL || mw->done == NULL || mw->sess == NULL ||
	    mw->free == NULL || mw->cache == NULL || ids == NULL || ready == NULL || out == NULL ||
	    q2 == NULL || sq == NULL || wl == NULL || mq_osap_worker_init(mw, socket) < 0) {
		if (mw->sess != NULL) {
			mw->sess[0].ids = ids;
			mw->sess[0].id_ready = ready;
			mw->sess[0].out = out;
			mw->sess[0].qos2_in = q2;
			mw->sess[0].sleepq = sq;
			mw->sess[0].will = wl;
		} else {
			rte_free(ids);
			rte_free(ready);
			rte_free(out);
			rte_free(q2);
			rte_free(sq);
			rte_free(wl);
		}
		worker_free(mw);
		goto nomem;
	}
	/* the free stack: slots nb_slots-1 .. 0, the lowest handed out first */
	for (uint32_t i = 0; i < slots; i++)
		mw->free[i] = slots - 1 - i;
	for (uint32_t i = 0; i < slots; i++) {
		mw->sess[i].ids = ids + (size_t)i * p->max_registered_ids;
		mw->sess[i].id_ready = ready + (size_t)i * p->max_registered_ids;
		mw->sess[i].out = out + (size_t)i * p->max_inflight;
		mw->sess[i].qos2_in = q2 + (size_t)i * p->max_inflight;
		mw->sess[i].sleepq = sq + (size_t)i * p->max_sleep_buffer;
		mw->sess[i].will = wl + (size_t)i * p->max_message_size;
	}
	return mw;
nomem:
	snprintf(err, errlen, "mqttsn: no memory for %u sessions on worker %u (lower "
		 "mqttsn.max_clients or give DPDK more memory)", slots, wi);
	return NULL;
}

int
mq_sess_setup(unsigned int nb_workers, char *err, size_t errlen)
{
	uint32_t slots = (mq->p.max_clients + nb_workers - 1) / nb_workers;

	/* the largest power of two not above max_inflight, less one */
	mq->out_mask = (uint16_t)(rte_align32prevpow2(RTE_MAX(mq->p.max_inflight, 1u)) - 1);
	for (unsigned int wi = 0; wi < nb_workers; wi++) {
		mq->w[wi] = worker_new(wi, slots, err, errlen);
		if (mq->w[wi] == NULL)
			return -ENOMEM;
		dp.worker[wi]->mq = mq->w[wi];
	}
	return 0;
}

int
mq_dtls_init(void)
{
	for (unsigned int wi = 0; wi < DP_MAX_WORKERS; wi++) {
		struct mq_worker *mw = mq->w[wi];

		if (mw == NULL || mw->ident != NULL)
			continue;
		mw->ident = rte_zmalloc_socket("mq_ident", sizeof(*mw->ident) * mw->nb_slots, 0,
					       (int)rte_lcore_to_socket_id(dp.worker[wi]->lcore_id));
		if (mw->ident == NULL)
			return -ENOMEM;
	}
	return 0;
}

void
mq_sess_teardown(void)
{
	for (unsigned int wi = 0; wi < DP_MAX_WORKERS; wi++) {
		if (mq->w[wi] == NULL)
			continue;
		if (dp.worker[wi] != NULL)
			dp.worker[wi]->mq = NULL;
		worker_free(mq->w[wi]);
		mq->w[wi] = NULL;
	}
}

struct mq_sess *
mq_sess_find(struct mq_worker *mw, const struct mq_key *k)
{
	uint32_t h = key_crc(k), *c = &mw->cache[h & mw->cache_mask];
	struct mq_sess *s;
	void *slot;

	if (*c != 0) {
		s = &mw->sess[*c - 1];
		if (s->state != MQ_FREE && key_eq(&s->key, k))
			return s;
	}
	if (rte_hash_lookup_with_hash_data(mw->by_addr, k, h, &slot) < 0)
		return NULL;
	*c = (uint32_t)(uintptr_t)slot + 1;
	return &mw->sess[(uintptr_t)slot];
}

struct mq_sess *
mq_sess_new(struct dp_worker *w, const struct mq_key *k)
{
	struct mq_worker *mw = w->mq;
	struct mq_sess *s;
	uint32_t slot;

	if (mw->nb_active >= mw->nb_slots)
		return NULL;
	slot = mw->free[mw->nb_slots - mw->nb_active - 1];
	if (rte_hash_add_key_data(mw->by_addr, k, (void *)(uintptr_t)slot) < 0)
		return NULL;
	s = &mw->sess[slot];
	s->state = MQ_ACTIVE;
	s->key = *k;
	s->tpl.len = 0;               /* until mq_sess_set_peer() */
	s->nb_wait = 0;
	s->nb_ids = 0;
	s->nb_subs = 0;
	s->nb_subs_pending = 0;
	s->next_msg_id = 1;
	s->keepalive = 0;
	s->silence_tsc = 0;
	s->sleep_duration = 0;
	s->expire = 0;
	memset(s->id_ready, 0, mq->p.max_registered_ids);
	memset(s->qos2_in, 0, sizeof(*s->qos2_in) * mq->p.max_inflight);
	s->connect_stage = MQ_CONNECT_DONE;
	s->will_topic_len = 0;
	s->will_msg_len = 0;
	s->acl_node = NULL;
	s->claimed = false;
	s->osap = false;
	s->ident = NULL;
	s->clean = true;
	__atomic_store_n(&mw->nb_active, mw->nb_active + 1, __ATOMIC_RELAXED);
	return s;
}

void
mq_sess_new_peer(struct mq_sess *s, const struct net_peer *peer)
{
	uint8_t encap[3 + MQ_WNID_MAX];
	int eh = 0;

	s->peer = *peer;
	if (s->key.wnid_len > 0)
		eh = mqttsn_encode_encap_header(encap, sizeof(encap), 0, s->key.wnid,
						s->key.wnid_len);
	/* no template (len 0) if this fails: frames are then built the long way */
	if (eh >= 0)
		net_udp_tpl_init(&s->tpl, &dp.ports[s->pidx].nif, peer, peer->lport, encap,
				 (size_t)eh);
	else
		s->tpl.len = 0;
}

uint16_t
mq_sess_msg_id(struct mq_sess *s)
{
	uint16_t id = s->next_msg_id++;

	if (s->next_msg_id == 0)
		s->next_msg_id = 1;
	return id;
}

uint16_t
mq_sess_id_of(const struct mq_sess *s, const struct topic *node)
{
	/* a short scan: max_registered_ids is small, and the ids sit together */
	for (uint16_t i = 0; i < s->nb_ids; i++)
		if (s->ids[i] == node)
			return (uint16_t)(i + 1);
	return 0;
}

uint16_t
mq_sess_id_add(struct mq_sess *s, struct topic *node, bool ready)
{
	uint16_t id = mq_sess_id_of(s, node);

	if (id == 0) {
		if (s->nb_ids >= mq->p.max_registered_ids)
			return 0;
		s->ids[s->nb_ids] = node;
		id = ++s->nb_ids;
	}
	if (ready)
		s->id_ready[id - 1] = 1;
	return id;
}

/*
 * Msg ids go up by one per message, and answers mostly come in order: the
 * slot a msg id maps to (its low bits) is usually free when the message
 * goes out and holds it when its answer comes, so neither needs a search.
 */
struct mq_out *
mq_out_slot(struct mq_sess *s, uint16_t msg_id)
{
	struct mq_out *o = &s->out[msg_id & mq->out_mask];

	if (o->kind == MQ_OUT_FREE)
		return o;
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind == MQ_OUT_FREE)
			return &s->out[i];
	return NULL;
}

struct mq_out *
mq_out_find(struct mq_sess *s, uint8_t kind, uint16_t msg_id)
{
	struct mq_out *o = &s->out[msg_id & mq->out_mask];

	if (o->kind == kind && o->msg_id == msg_id)
		return o;
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind == kind && s->out[i].msg_id == msg_id)
			return &s->out[i];
	return NULL;
}

void
mq_out_release(struct mq_out *o)
{
	rte_pktmbuf_free(o->pkt);
	memset(o, 0, sizeof(*o));
}

void
mq_out_done(struct mq_sess *s, struct mq_out *o)
{
	if (mq_out_retransmits(o->kind) && s->nb_wait > 0)
		s->nb_wait--;
	mq_out_release(o);
}

void
mq_sess_end(struct dp_worker *w, struct mq_sess *s, enum mq_end how)
{
	static const unsigned int counter[] = {
		[MQ_END_GONE] = DP_CNT_MQTTSN_GONE,
		[MQ_END_LOST] = DP_CNT_MQTTSN_LOST,
		[MQ_END_TAKEN] = DP_CNT_MQTTSN_TAKEN,
		[MQ_END_EXPIRED] = DP_CNT_MQTTSN_EXPIRED,
		[MQ_END_REFUSED] = DP_CNT_MAX,             /* counted where it was refused */
		[MQ_END_KEY_EXPIRED] = DP_CNT_OSAP_KEY_EXPIRED,
		[MQ_END_OSAP_ENDED] = DP_CNT_OSAP_ENDED,
	};
	struct mq_worker *mw = w->mq;
	struct mq_op *op;

	/* a lost client's will goes out; a DISCONNECT discards it (spec 6.3) */
	if (how == MQ_END_LOST && s->will_topic_len > 0)
		mq_publish_will(w, s);
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind != MQ_OUT_FREE)
			mq_out_release(&s->out[i]);
	s->nb_wait = 0;
	for (uint16_t i = 0; i < s->nb_sleep; i++)
		mq_out_release(&s->sleepq[i]);
	s->nb_sleep = 0;
	if (s->nb_subs > 0 || s->claimed) {
		/* drop its subscriptions and, claimed, its client id's mapping */
		op = mq_op_new(MQ_OP_FORGET, w, s);
		if (op != NULL && s->claimed) {
			op->name_len = s->client_id_len;
			memcpy(op->name, s->client_id, s->client_id_len);
		}
		if (op == NULL || !mq_op_submit(w, op))
			/*
			 * The subscriptions outlive the session in the table; the
			 * generation bump below makes every delivery skip them.
			 */
			dp_cnt_add(w, s->pidx, DP_CNT_MQTTSN_OPS_FAILED, 1);
	}
	if (counter[how] != DP_CNT_MAX)
		dp_cnt_add(w, s->pidx, counter[how], 1);
	if (unlikely(s->osap))
		mq_osap_sess_end(mw, s);   /* its key wiped */
	rte_hash_del_key(mw->by_addr, &s->key);
	s->state = MQ_FREE;
	s->gen++;
	s->nb_ids = 0;
	s->nb_subs = 0;
	s->claimed = false;
	__atomic_store_n(&mw->nb_active, mw->nb_active - 1, __ATOMIC_RELAXED);
	mw->free[mw->nb_slots - mw->nb_active - 1] = (uint32_t)(s - mw->sess);
}

void
mq_sess_leave(struct dp_worker *w, struct mq_sess *s, bool lost)
{
	if (s->clean || mq->p.session_expiry == 0) {
		mq_sess_end(w, s, lost ? MQ_END_LOST : MQ_END_GONE);
		return;
	}
	/* a lost client's will goes out; a DISCONNECT discards it (spec 6.3) */
	if (lost && s->will_topic_len > 0)
		mq_publish_will(w, s);
	s->will_topic_len = 0;
	s->will_msg_len = 0;
	/*
	 * What was in flight goes: it was built for a client that is gone.
	 * Subscriptions, topic ids and the client id stay; publications wait
	 * in the sleep buffer until the client connects again.
	 */
	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind != MQ_OUT_FREE)
			mq_out_release(&s->out[i]);
	s->nb_wait = 0;
	memset(s->qos2_in, 0, sizeof(*s->qos2_in) * mq->p.max_inflight);
	s->state = lost ? MQ_LOST : MQ_DISCONNECTED;
	s->expire = rte_get_tsc_cycles() + rte_get_tsc_hz() * mq->p.session_expiry;
	dp_cnt_add(w, s->pidx, lost ? DP_CNT_MQTTSN_LOST : DP_CNT_MQTTSN_GONE, 1);
	dp_cnt_add(w, s->pidx, DP_CNT_MQTTSN_KEPT, 1);
}

/* Retransmit what is due, or give the client up after Nretry tries. */
static void
sess_timers(struct dp_worker *w, struct mq_sess *s, uint64_t now)
{
	struct mqttsn_msg bye = { .type = MQTTSN_DISCONNECT };
	uint16_t n;

	if (unlikely(s->osap) && mq_osap_key_expired(w->mq, s, now)) {
		/* the session key's lifetime is over (docs/osap.md 11): the node ends it */
		if (!mq_state_kept(s->state))
			mq_send(w, s, NULL, 0, &bye);
		mq_sess_end(w, s, MQ_END_KEY_EXPIRED);
		return;
	}
	if (s->expire != 0 && now > s->expire) {
		if (mq_state_kept(s->state))
			mq_sess_end(w, s, MQ_END_EXPIRED);
		else
			mq_sess_leave(w, s, true);
		return;
	}
	/* a sleeping or gone client hears nothing: retransmissions wait for it */
	if (s->nb_wait == 0 || mq_state_buffers(s->state))
		return;
	n = 0;
	for (uint16_t i = 0; i < mq->p.max_inflight; i++) {
		struct mq_out *o = &s->out[i];

		if (!mq_out_retransmits(o->kind))
			continue;
		n++;
		if (now < o->deadline)
			continue;
		if (o->tries >= mq->p.retries) {
			/* spec 6.13: retransmissions exhausted, the client is lost */
			mq_sess_leave(w, s, true);
			return;
		}
		o->tries++;
		o->deadline = now + mq->retry_tsc;
		if (o->kind == MQ_OUT_QOS1 || o->kind == MQ_OUT_QOS2_PUB)
			mq_set_dup(o->pkt);
		mq_send_held(w, s, o);
		dp_cnt_add(w, s->pidx, DP_CNT_MQTTSN_RETRANSMIT, 1);
	}
	/* exact again (releases elsewhere need not count off) */
	s->nb_wait = n;
}

void
mq_sess_scan(struct dp_worker *w)
{
	struct mq_worker *mw = w->mq;
	uint64_t now = rte_get_tsc_cycles();

	for (unsigned int n = 0; n < MQ_SCAN_PER_POLL && mw->nb_active > 0; n++) {
		struct mq_sess *s = &mw->sess[mw->scan];

		if (++mw->scan >= mw->nb_slots)
			mw->scan = 0;
		if (s->state != MQ_FREE)
			sess_timers(w, s, now);
	}
}
