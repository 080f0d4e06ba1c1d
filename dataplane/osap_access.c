/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OSAP devices at the MQTT-SN node (docs/osap.md section 11, docs/mqttsn.md
 * "OSAP devices"): the admission table the load-balancing service fills,
 * and the per-session keys that open and seal PUBLISH data.
 *
 * Who holds what. An admission (DevID, key, deadlines) is an entry of an
 * RCU hash table (cds_lfht) with one writer, the main lcore. The fields
 * the workers read (gen, id, key, deadlines) never change once the entry
 * is published: a new admission for the same DevID is a new entry that
 * replaces the old one (cds_lfht_add_replace), and the old one is wiped
 * and freed after a grace period. The binding (the source of the first
 * accepted CONNECT) is the control plane's alone: it is decided where the
 * client id is claimed (MQ_OP_CLAIM, mqttsn_ctl.c), on the main lcore, so
 * two CONNECTs racing from two sources on two workers cannot both bind.
 *
 * A CONNECT's way. The worker looks the client id up (mq_osap_connect()):
 * no admission and OSAP mode, or a key past its lifetime, is refused at
 * once. An admitted CONNECT carries the admission's generation into its
 * CLAIM, which the control plane checks against the table (same
 * generation, within its windows, unbound or bound to this very source)
 * and binds; a plain CONNECT carries 0, and is refused if the client id
 * has been admitted meanwhile. Back on the worker (mq_osap_install()), the
 * session copies the key of that generation into its slot of the worker's
 * key array: from then on the worker never looks at the table for that
 * session, and a plain session never looks at any of this beyond a flag.
 *
 * Keys at rest: a session's copy is wiped (OPENSSL_cleanse) when the
 * session ends or takes another key; an entry's when it is retired.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "dataplane/mqttsn_priv.h"

#define ADM_SEED 0x05a9u

struct mq_adm {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	/* immutable once published: the workers read these */
	uint32_t gen;
	uint8_t len;
	char devid[DP_OSAP_DEVID_MAX + 1];
	uint8_t key[OSAP_KEY_LEN];
	uint64_t connect_deadline;    /* TSC */
	uint64_t key_deadline;        /* TSC */
	/* main lcore only */
	bool bound;
	struct mq_key src;
};

struct adm_key {
	const void *id;
	size_t len;
};

static inline uint32_t
adm_hash(const void *id, size_t len)
{
	/* the id sits anywhere in a frame: rte_hash_crc() reads 8 octets at a time */
	uint64_t buf[(DP_OSAP_DEVID_MAX + 7) / 8];

	if (len > sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, id, len);
	return rte_hash_crc(buf, (uint32_t)len, ADM_SEED);
}

static int
adm_match(struct cds_lfht_node *n, const void *key)
{
	const struct mq_adm *a = caa_container_of(n, struct mq_adm, node);
	const struct adm_key *k = key;

	return a->len == k->len && memcmp(a->devid, k->id, k->len) == 0;
}

/* The admission of @p id; the caller is in a read-side section. */
static struct mq_adm *
adm_lookup(const void *id, size_t len)
{
	struct adm_key k = { id, len };
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;

	if (len == 0 || len > DP_OSAP_DEVID_MAX)
		return NULL;
	cds_lfht_lookup(mq->adm, adm_hash(id, len), adm_match, &k, &it);
	n = cds_lfht_iter_get_node(&it);
	return n != NULL ? caa_container_of(n, struct mq_adm, node) : NULL;
}

static void
adm_free_cb(struct rcu_head *head)
{
	struct mq_adm *a = caa_container_of(head, struct mq_adm, rcu);

	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

/* ---- the writer (main lcore) ---- */

/* The lfht wants a read-side section even from its writer (as topic_table.c). */
static bool
writer_enter(void)
{
	bool was_offline = !rcu_read_ongoing();

	if (was_offline)
		rcu_thread_online();
	rcu_read_lock();
	return was_offline;
}

static void
writer_leave(bool was_offline)
{
	rcu_read_unlock();
	if (was_offline)
		rcu_thread_offline();
}

/*
 * The admission table and the workers' AEAD contexts are heap objects
 * referenced only from DPDK memory, which LeakSanitizer does not scan: a
 * second reference from here keeps them reachable in its eyes (the fuzz
 * targets run a data plane that is never torn down). Nothing reads these.
 */
static void *heap_refs[RTE_MAX_LCORE + 1];

static void
heap_ref(void *p, bool add)
{
	for (unsigned int i = 0; i < RTE_DIM(heap_refs); i++)
		if (heap_refs[i] == (add ? NULL : p)) {
			heap_refs[i] = add ? p : NULL;
			return;
		}
}

int
mq_osap_setup(char *err, size_t errlen)
{
	mq->adm_max = RTE_MAX(mq->p.max_clients + mq->p.max_clients / 4, 64u);
	mq->adm = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (mq->adm == NULL) {
		snprintf(err, errlen, "mqttsn: no memory for the OSAP admission table");
		return -ENOMEM;
	}
	heap_ref(mq->adm, true);
	return 0;
}

void
mq_osap_teardown(void)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	struct mq_adm *a;
	bool was_offline;

	if (mq == NULL || mq->adm == NULL)
		return;
	was_offline = writer_enter();
	/* not cds_lfht_for_each_entry(): it forms a member pointer from NULL at the end */
	cds_lfht_for_each(mq->adm, &it, n) {
		a = caa_container_of(n, struct mq_adm, node);
		cds_lfht_del(mq->adm, &a->node);
		call_rcu(&a->rcu, adm_free_cb);
	}
	writer_leave(false);
	/* offline: the resize and call_rcu threads wait for grace periods */
	rcu_thread_offline();
	heap_ref(mq->adm, false);
	cds_lfht_destroy(mq->adm, NULL);
	rcu_barrier();
	if (!was_offline)
		rcu_thread_online();
	mq->adm = NULL;
	mq->nb_adm = 0;
}

/* Ask the worker owning session (@p worker, @p session, @p gen) to end it. */
static void
end_session(uint16_t worker, uint32_t session, uint32_t gen)
{
	struct mq_op *op;

	if (rte_mempool_get(mq->op_pool, (void **)&op) < 0) {
		DP_LOG(WARNING, "osap: no op to end session %u on worker %u", session, worker);
		return;
	}
	memset(op, 0, sizeof(*op));
	op->kind = MQ_OP_OSAP_END;
	op->worker = worker;
	op->session = session;
	op->gen = gen;
	mq_op_answer(op, worker);
}

/* The session holding client id @p id, if any, is ended. */
static void
end_holder(const char *id, size_t len)
{
	uint16_t worker;
	uint32_t session, gen;

	if (mq_cid_find(id, len, &worker, &session, &gen) == 0)
		end_session(worker, session, gen);
}

static inline uint64_t
deadline(uint64_t now, uint32_t s)
{
	return now + (uint64_t)s * rte_get_tsc_hz();
}

int
dp_osap_admit(const uint8_t *devid, size_t len, const uint8_t key[DP_OSAP_KEY_LEN],
	      uint32_t connect_lifetime_s, uint32_t key_lifetime_s, char *err, size_t errlen)
{
	struct mq_adm *a, *old = NULL;
	struct cds_lfht_node *n;
	uint64_t now;
	bool was_offline;

	if (mq == NULL || mq->adm == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running");
		return -ENOTSUP;
	}
	if (devid == NULL || key == NULL || len == 0 || len > DP_OSAP_DEVID_MAX ||
	    memchr(devid, 0, len) != NULL) {
		snprintf(err, errlen, "a DevID is 1 to %u octets, no NUL", DP_OSAP_DEVID_MAX);
		return -EINVAL;
	}
	if (connect_lifetime_s == 0 || connect_lifetime_s > DP_OSAP_LIFETIME_MAX ||
	    key_lifetime_s == 0 || key_lifetime_s > DP_OSAP_LIFETIME_MAX) {
		snprintf(err, errlen, "lifetimes are 1 to %u s", DP_OSAP_LIFETIME_MAX);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	now = rte_get_tsc_cycles();
	a->len = (uint8_t)len;
	memcpy(a->devid, devid, len);
	memcpy(a->key, key, OSAP_KEY_LEN);
	a->connect_deadline = deadline(now, connect_lifetime_s);
	a->key_deadline = deadline(now, key_lifetime_s);
	if (++mq->adm_gen == 0)
		mq->adm_gen = 1;
	a->gen = mq->adm_gen;
	cds_lfht_node_init(&a->node);

	was_offline = writer_enter();
	if (mq->nb_adm >= mq->adm_max && adm_lookup(devid, len) == NULL) {
		writer_leave(was_offline);
		OPENSSL_cleanse(a, sizeof(*a));
		free(a);
		snprintf(err, errlen, "%u admissions already (mqttsn.max_clients + 25%%)",
			 mq->adm_max);
		return -ENOSPC;
	}
	n = cds_lfht_add_replace(mq->adm, adm_hash(devid, len), adm_match,
				 &(struct adm_key){ devid, len }, &a->node);
	if (n != NULL) {
		/* a new key: unbound; the session on the old one goes on until taken over */
		old = caa_container_of(n, struct mq_adm, node);
		call_rcu(&old->rcu, adm_free_cb);
	} else {
		__atomic_store_n(&mq->nb_adm, mq->nb_adm + 1, __ATOMIC_RELAXED);
		/* a plain session holding this client id is not held to the admission */
		end_holder((const char *)devid, len);
	}
	writer_leave(was_offline);
	return 0;
}

int
dp_osap_revoke(const uint8_t *devid, size_t len)
{
	struct mq_adm *a;
	bool was_offline;

	if (mq == NULL || mq->adm == NULL)
		return -ENOTSUP;
	if (devid == NULL || len == 0 || len > DP_OSAP_DEVID_MAX)
		return -EINVAL;
	was_offline = writer_enter();
	a = adm_lookup(devid, len);
	if (a == NULL) {
		writer_leave(was_offline);
		return -ENOENT;
	}
	cds_lfht_del(mq->adm, &a->node);
	call_rcu(&a->rcu, adm_free_cb);
	__atomic_store_n(&mq->nb_adm, mq->nb_adm - 1, __ATOMIC_RELAXED);
	end_holder((const char *)devid, len);
	writer_leave(was_offline);
	return 0;
}

static uint32_t
secs_left(uint64_t now, uint64_t until, uint64_t hz)
{
	return now >= until ? 0 : (uint32_t)((until - now + hz - 1) / hz);
}

int
dp_osap_admissions(dp_osap_admission_fn cb, void *arg)
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	struct mq_adm *a;
	bool was_offline;
	int rc = 0;

	if (mq == NULL || mq->adm == NULL)
		return -ENOTSUP;
	was_offline = writer_enter();
	cds_lfht_for_each(mq->adm, &it, n) {
		struct dp_osap_admission r;

		a = caa_container_of(n, struct mq_adm, node);
		r = (struct dp_osap_admission){ .devid_len = a->len, .worker = -1 };
		uint32_t session, gen;
		uint16_t worker;

		memcpy(r.devid, a->devid, a->len);
		r.bound = a->bound;
		if (a->bound) {
			memcpy(r.addr, a->src.addr, 16);
			r.v6 = a->src.v6 != 0;
			r.port = a->src.port;
		}
		if (mq_cid_find(a->devid, a->len, &worker, &session, &gen) == 0) {
			r.connected = true;
			r.worker = (int16_t)worker;
		}
		r.connect_left_s = secs_left(now, a->connect_deadline, hz);
		r.key_left_s = secs_left(now, a->key_deadline, hz);
		rc = cb(&r, arg);
		if (rc != 0)
			break;
	}
	writer_leave(was_offline);
	return rc;
}

int
dp_mqttsn_load(struct dp_mqttsn_load *out)
{
	memset(out, 0, sizeof(*out));
	if (mq == NULL)
		return -ENOTSUP;
	for (unsigned int wi = 0; wi < dp.nb_workers; wi++) {
		const struct mq_worker *mw = mq->w[wi];

		if (mw == NULL)
			continue;
		out->sessions += __atomic_load_n(&mw->nb_active, __ATOMIC_RELAXED);
		out->osap_sessions += __atomic_load_n(&mw->nb_osap, __ATOMIC_RELAXED);
		for (unsigned int p = 0; p < dp.nb_ports; p++)
			out->publish_rx += __atomic_load_n(
				&dp.worker[wi]->cnt[p].v[DP_CNT_MQTTSN_RX_PUBLISH],
				__ATOMIC_RELAXED);
	}
	out->admissions = __atomic_load_n(&mq->nb_adm, __ATOMIC_RELAXED);
	return 0;
}

/* The same client source: all of the key but the router port it came in on. */
static bool
src_eq(const struct mq_key *a, const struct mq_key *b)
{
	return memcmp(a->addr, b->addr, 16) == 0 && a->port == b->port && a->v6 == b->v6 &&
	       a->wnid_len == b->wnid_len && memcmp(a->wnid, b->wnid, a->wnid_len) == 0;
}

int
mq_osap_claim(struct mq_op *op, bool held)
{
	uint64_t now = rte_get_tsc_cycles();
	struct mq_adm *a;
	bool was_offline;
	int rc = 0;

	if (op->adm_gen == 0 && __atomic_load_n(&mq->nb_adm, __ATOMIC_RELAXED) == 0)
		return 0;
	was_offline = writer_enter();
	a = adm_lookup(op->name, op->name_len);
	if (a == NULL)
		rc = op->adm_gen != 0 ? -EACCES : 0;    /* revoked meanwhile */
	else if (op->adm_gen != a->gen)
		rc = -EACCES;      /* a plain CONNECT of an admitted id, or an older admission */
	else if (now >= a->key_deadline)
		rc = -ETIMEDOUT;
	else if (a->bound && !src_eq(&a->src, &op->src))
		rc = -EACCES;      /* another device presenting this DevID */
	else if (a->bound && !held)
		rc = -EACCES;      /* its session ended: the device needs a new admission */
	else if (!a->bound && now >= a->connect_deadline)
		rc = -ETIMEDOUT;
	else if (!a->bound) {
		a->bound = true;
		a->src = op->src;
	}
	writer_leave(was_offline);
	return rc;
}

/* ---- the workers ---- */

int
mq_osap_worker_init(struct mq_worker *mw, int socket)
{
	mw->osap = rte_zmalloc_socket("mq_osap", sizeof(*mw->osap) * mw->nb_slots,
				      RTE_CACHE_LINE_SIZE, socket);
	mw->aead = osap_aead_new();
	if (mw->aead != NULL)
		heap_ref(mw->aead, true);
	return mw->osap != NULL && mw->aead != NULL ? 0 : -ENOMEM;
}

void
mq_osap_worker_free(struct mq_worker *mw)
{
	if (mw->osap != NULL)
		OPENSSL_cleanse(mw->osap, sizeof(*mw->osap) * mw->nb_slots);
	rte_free(mw->osap);
	mw->osap = NULL;
	if (mw->aead != NULL)
		heap_ref(mw->aead, false);
	osap_aead_free(mw->aead);
	mw->aead = NULL;
}

int64_t
mq_osap_connect(struct dp_worker *w, uint16_t pidx, const uint8_t *id, size_t len)
{
	const struct mq_adm *a = NULL;
	int64_t rc;

	/* no admission at all (a plain broker): one load */
	if (__atomic_load_n(&mq->nb_adm, __ATOMIC_RELAXED) != 0) {
		rcu_read_lock();
		a = adm_lookup(id, len);
		if (a == NULL)
			rc = 0;
		else if (rte_get_tsc_cycles() >= a->key_deadline)
			rc = -ETIMEDOUT;
		else
			rc = a->gen;
		rcu_read_unlock();
	} else {
		rc = 0;
	}
	if (rc == 0 && a == NULL && mq->p.admission == DP_ADMISSION_OSAP)
		rc = -EACCES;
	if (rc < 0)
		dp_cnt_add(w, pidx, rc == -ETIMEDOUT ? DP_CNT_OSAP_EXPIRED :
						       DP_CNT_OSAP_CONNECT_REFUSED, 1);
	return rc;
}

/* What was built for the previous key (or none) can go nowhere now. */
static void
drop_stale(struct dp_worker *w, struct mq_sess *s)
{
	uint64_t n = 0;

	for (uint16_t i = 0; i < mq->p.max_inflight; i++)
		if (s->out[i].kind != MQ_OUT_FREE) {
			n += s->out[i].kind != MQ_OUT_REGISTER;
			mq_out_release(&s->out[i]);
		}
	s->nb_wait = 0;
	for (uint16_t i = 0; i < s->nb_sleep; i++)
		mq_out_release(&s->sleepq[i]);
	n += s->nb_sleep;
	s->nb_sleep = 0;
	if (n > 0)
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_STALE, n);
}

int
mq_osap_install(struct dp_worker *w, struct mq_sess *s)
{
	struct mq_worker *mw = w->mq;
	struct mq_osap *o = &mw->osap[s - mw->sess];
	const struct mq_adm *a;
	int rc = 0;

	rcu_read_lock();
	a = adm_lookup(s->client_id, s->client_id_len);
	if (a == NULL || a->gen != o->pending_gen) {
		rc = -EACCES;
	} else if (o->gen != a->gen) {
		if (o->gen != 0)
			drop_stale(w, s);
		else
			__atomic_store_n(&mw->nb_osap, mw->nb_osap + 1, __ATOMIC_RELAXED);
		memcpy(o->key, a->key, OSAP_KEY_LEN);
		o->gen = a->gen;
		o->key_expire = a->key_deadline;
		o->down = 0;
		osap_replay_init(&o->up);
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_SESSIONS, 1);
	}
	rcu_read_unlock();
	return rc;
}

void
mq_osap_sess_end(struct mq_worker *mw, struct mq_sess *s)
{
	struct mq_osap *o = &mw->osap[s - mw->sess];

	if (o->gen != 0)
		__atomic_store_n(&mw->nb_osap, mw->nb_osap - 1, __ATOMIC_RELAXED);
	OPENSSL_cleanse(o, sizeof(*o));
	s->osap = false;
}

int
mq_osap_open(struct dp_worker *w, struct mq_sess *s, uint8_t *data, size_t *len)
{
	struct mq_osap *o = &w->mq->osap[s - w->mq->sess];
	uint64_t ctr = osap_biz_counter(data, *len);
	int r;

	if (o->gen == 0 || *len < OSAP_BIZ_OVERHEAD) {
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_BAD_SEAL, 1);
		return -EBADMSG;
	}
	/* a replayed counter is not worth a decryption; a zero one fails the open */
	if (ctr != 0 && osap_replay_check(&o->up, ctr) < 0) {
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_REPLAY, 1);
		return -EALREADY;
	}
	r = osap_biz_open(w->mq->aead, o->key, OSAP_DIR_UP, data, *len, data + OSAP_BIZ_HDR_LEN,
			  *len - OSAP_BIZ_OVERHEAD, &ctr);
	if (r < 0) {
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_BAD_SEAL, 1);
		return -EBADMSG;
	}
	osap_replay_update(&o->up, ctr);
	dp_cnt_add(w, s->pidx, DP_CNT_OSAP_OPENED, 1);
	*len = (size_t)r;
	return 0;
}

int
mq_osap_seal(struct dp_worker *w, struct mq_sess *s, const uint8_t *pt, size_t len,
	     uint8_t *out, size_t cap)
{
	struct mq_osap *o = &w->mq->osap[s - w->mq->sess];
	int r;

	if (o->gen == 0) {
		dp_cnt_add(w, s->pidx, DP_CNT_OSAP_STALE, 1);
		return -1;
	}
	r = osap_biz_seal(w->mq->aead, o->key, OSAP_DIR_DOWN, o->down + 1, pt, len, out, cap);
	if (r < 0) {
		dp_cnt_add(w, s->pidx, r == -ENOSPC ? DP_CNT_OSAP_SEAL_TOO_BIG :
						      DP_CNT_MQTTSN_DELIVER_FAILED, 1);
		return -1;
	}
	/* the counter is spent only on a payload that may go out */
	o->down++;
	dp_cnt_add(w, s->pidx, DP_CNT_OSAP_SEALED, 1);
	return r;
}

void
mq_osap_end(struct dp_worker *w, struct mq_op *op)
{
	struct mqttsn_msg bye = { .type = MQTTSN_DISCONNECT };
	struct mq_sess *s = op->session < w->mq->nb_slots ? &w->mq->sess[op->session] : NULL;

	if (s != NULL && s->state != MQ_FREE && s->gen == op->gen) {
		/* a gateway-initiated DISCONNECT tells the client (spec 6.14) */
		if (!mq_state_kept(s->state))
			mq_send(w, s, NULL, 0, &bye);
		mq_sess_end(w, s, MQ_END_OSAP_ENDED);
	}
	rte_mempool_put(mq->op_pool, op);
}
