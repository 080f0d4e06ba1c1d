/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LBS side of an OSAP connection (control/lbs/session.c) against a fake
 * backend, with the device side built from proto/osap.h and
 * proto/osap_crypto.h: first authentication and address, re-authentication,
 * both negotiation outcomes, every refusal of docs/osap.md section 5 and its
 * order of checks, garbage, a frame split octet by octet, an oversized
 * frame, asynchronous admission, no node, the deadlines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/lbs/pool.h"
#include "control/lbs/session.h"
#include "proto/osap.h"
#include "proto/osap_crypto.h"
#include "tests/unit/tap.h"

#define ITER 1000   /* PBKDF2 count of this test's share keys */

/* Hex (no separators) into @p out; aborts on a malformed test string. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2, i;

	if (strlen(s) % 2 || n > cap)
		abort();
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			abort();
		out[i] = (uint8_t)b;
	}
	return n;
}

/* ---- the fake backend ---- */

struct fake_dev {
	const char *serial;
	uint8_t sk[OSAP_KEY_LEN];
	bool blocked;
	char devid[OSAP_ID_MAX + 1];
	bool has_mk;
	uint8_t mk[OSAP_KEY_LEN];
	uint8_t ks[OSAP_KEY_LEN];
	int64_t ks_expiry;
};

enum admit_mode { ADMIT_SYNC, ADMIT_PENDING, ADMIT_REFUSE, ADMIT_BOGUS };

static struct fake {
	struct fake_dev dev[4];
	int ndev;
	uint64_t now_ms;
	int64_t wall;
	struct lbs_policy pol;
	enum admit_mode admit_mode;
	int pick_result;            /* 0: the fixed node; else returned */
	struct lbs_pool *pool;      /* when set, pick_node asks it */
	int fail_apply, fail_store, fail_lookup, throttle;
	int apply_calls, created, store_calls, pick_calls, admit_calls, cancel_calls;
	struct lbs_sess *pending;
	/* the last admission */
	char adm_devid[OSAP_ID_MAX + 1];
	uint8_t adm_ks[OSAP_KEY_LEN];
	int64_t adm_expiry;
	uint32_t adm_lifetime;
	uint8_t adm_proto;
	struct lbs_node_addr adm_node;
	uint8_t pick_family;
} fk;

static struct fake_dev *
fk_by_serial(const uint8_t *p, size_t len)
{
	for (int i = 0; i < fk.ndev; i++)
		if (strlen(fk.dev[i].serial) == len && memcmp(fk.dev[i].serial, p, len) == 0)
			return &fk.dev[i];
	return NULL;
}

static struct fake_dev *
fk_by_devid(const uint8_t *p, size_t len)
{
	for (int i = 0; i < fk.ndev; i++)
		if (fk.dev[i].devid[0] && strlen(fk.dev[i].devid) == len &&
		    memcmp(fk.dev[i].devid, p, len) == 0)
			return &fk.dev[i];
	return NULL;
}

static int
fk_lookup_serial(void *ctx, const uint8_t *serial, size_t len, struct lbs_dev_rec *rec)
{
	struct fake_dev *d = fk_by_serial(serial, len);

	(void)ctx;
	if (fk.fail_lookup)
		return -EIO;
	if (d == NULL)
		return -ENOENT;
	memcpy(rec->key, d->sk, OSAP_KEY_LEN);
	rec->blocked = d->blocked;
	return 0;
}

static int
fk_lookup_devid(void *ctx, const uint8_t *devid, size_t len, struct lbs_dev_rec *rec)
{
	struct fake_dev *d = fk_by_devid(devid, len);

	(void)ctx;
	if (fk.fail_lookup)
		return -EIO;
	if (d == NULL || !d->has_mk)
		return -ENOENT;
	memcpy(rec->key, d->mk, OSAP_KEY_LEN);
	rec->blocked = d->blocked;
	return 0;
}

static int
fk_throttle(void *ctx, uint8_t type, const uint8_t *id, size_t len, uint16_t *retry_after)
{
	(void)ctx, (void)type, (void)id, (void)len;
	if (!fk.throttle)
		return 0;
	*retry_after = 30;
	return -EAGAIN;
}

static int
fk_apply_devid(void *ctx, const uint8_t *serial, size_t serial_len,
	       const uint8_t master_key[OSAP_KEY_LEN], struct lbs_devid *devid)
{
	struct fake_dev *d = fk_by_serial(serial, serial_len);

	(void)ctx;
	fk.apply_calls++;
	if (d == NULL || fk.fail_apply)
		return -EIO;
	if (d->devid[0] == 0) {
		if (osap_gen_devid(d->devid, sizeof(d->devid)) < 0)
			return -EIO;
		fk.created++;
	}
	memcpy(d->mk, master_key, OSAP_KEY_LEN);
	d->has_mk = true;
	devid->len = (uint8_t)strlen(d->devid);
	memcpy(devid->id, d->devid, devid->len);
	return 0;
}

static int
fk_store_session_key(void *ctx, const uint8_t *devid, size_t devid_len,
		     const uint8_t key[OSAP_KEY_LEN], int64_t expiry)
{
	struct fake_dev *d = fk_by_devid(devid, devid_len);

	(void)ctx;
	fk.store_calls++;
	if (d == NULL || fk.fail_store)
		return -EIO;
	memcpy(d->ks, key, OSAP_KEY_LEN);
	d->ks_expiry = expiry;
	return 0;
}

static int
fk_pick_node(void *ctx, const uint8_t *devid, size_t devid_len, uint8_t family,
	     uint8_t proto_type, uint8_t proto, struct lbs_node_addr *node)
{
	(void)ctx;
	fk.pick_calls++;
	fk.pick_family = family;
	if (proto_type != OSAP_PROTO_TYPE_MQTTSN)
		return -EINVAL;
	if (fk.pool) {
		struct lbs_pool_choice c;
		int r = lbs_pool_pick(fk.pool, devid, devid_len, family, proto, &c);

		if (r < 0)
			return r;
		node->node = c.node;
		node->family = c.family;
		memcpy(node->addr, c.addr, sizeof(node->addr));
		node->port = c.port;
		return 0;
	}
	if (fk.pick_result)
		return fk.pick_result;
	node->node = 7;
	if (family == OSAP_FAMILY_IPV6) {
		static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

		node->family = OSAP_FAMILY_IPV6;
		memcpy(node->addr, a6, 16);
	} else {
		node->family = OSAP_FAMILY_IPV4;
		node->addr[0] = 198, node->addr[1] = 51, node->addr[2] = 100, node->addr[3] = 7;
	}
	node->port = proto == OSAP_PROTO_SECURE ? 8883 : 1883;
	return 0;
}

static int
fk_admit(void *ctx, struct lbs_sess *s, const struct lbs_admission *a)
{
	(void)ctx;
	fk.admit_calls++;
	memcpy(fk.adm_devid, a->devid, a->devid_len);
	fk.adm_devid[a->devid_len] = 0;
	memcpy(fk.adm_ks, a->session_key, OSAP_KEY_LEN);
	fk.adm_expiry = a->key_expiry;
	fk.adm_lifetime = a->lifetime;
	fk.adm_proto = a->proto;
	fk.adm_node = *a->node;
	switch (fk.admit_mode) {
	case ADMIT_SYNC:
		return 0;
	case ADMIT_PENDING:
		fk.pending = s;
		return LBS_ADMIT_PENDING;
	case ADMIT_BOGUS:
		return 2;
	default:
		return -EBUSY;
	}
}

static void
fk_admit_cancel(void *ctx, struct lbs_sess *s)
{
	(void)ctx;
	if (s == fk.pending)
		fk.pending = NULL;
	fk.cancel_calls++;
}

static void
fk_policy(void *ctx, struct lbs_policy *p)
{
	(void)ctx;
	*p = fk.pol;
}

static uint64_t
fk_now_ms(void *ctx)
{
	(void)ctx;
	return fk.now_ms;
}

static int64_t
fk_wall_s(void *ctx)
{
	(void)ctx;
	return fk.wall;
}

static struct lbs_backend backend = {
	.lookup_serial = fk_lookup_serial,
	.lookup_devid = fk_lookup_devid,
	.throttle = fk_throttle,
	.apply_devid = fk_apply_devid,
	.store_session_key = fk_store_session_key,
	.pick_node = fk_pick_node,
	.admit = fk_admit,
	.admit_cancel = fk_admit_cancel,
	.policy = fk_policy,
	.now_ms = fk_now_ms,
	.wall_s = fk_wall_s,
};

static void
fk_add(const char *serial, const char *code, bool blocked)
{
	struct fake_dev *d = &fk.dev[fk.ndev++];

	memset(d, 0, sizeof(*d));
	d->serial = serial;
	d->blocked = blocked;
	if (osap_share_key((const uint8_t *)code, strlen(code), (const uint8_t *)serial,
			   strlen(serial), ITER, d->sk) < 0)
		abort();
}

/* A fresh backend: two devices, one of them blocked; the service serves type 1, group 03. */
static void
fk_reset(void)
{
	if (fk.pool)
		lbs_pool_free(fk.pool);
	memset(&fk, 0, sizeof(fk));
	fk.now_ms = 1000;
	fk.wall = 1700000000;
	fk.pol = (struct lbs_policy){
		.proto_type = OSAP_PROTO_TYPE_MQTTSN,
		.proto_group = OSAP_PROTO_KNOWN,
		.key_lifetime = 86400,
		.admit_lifetime = 300,
	};
	fk_add("SN0123456789", "ABCDEF", false);
	fk_add("SN-BLOCKED", "XYZ", true);
}

/* ---- the session's output ---- */

static uint8_t obuf[4096];
static struct lbs_sess_out out;

static void
out_reset(void)
{
	out = (struct lbs_sess_out){ .buf = obuf, .cap = sizeof(obuf) };
}

static int
feed(struct lbs_sess *s, const uint8_t *b, size_t n)
{
	out_reset();
	return lbs_sess_input(s, b, n, &out);
}

/*
 * The one frame in out: must be of @p type; opened under @p key when its
 * status is ok and it has a sealed part. @return its status (or code), or
 * -1000 when out does not hold exactly one such frame, -1001 when the seal
 * does not open.
 */
static int
rsp(uint8_t type, const uint8_t *key, struct osap_msg *m, uint8_t *pt, int *ptn)
{
	struct osap_msg mm;
	int st;

	if (m == NULL)
		m = &mm;
	if (osap_decode(out.buf, out.len, m) != (int)out.len || m->type != type)
		return -1000;
	st = osap_msg_status(m);
	if (ptn)
		*ptn = 0;
	if (st == OSAP_ST_OK && m->sealed.len && key && pt) {
		int n = osap_open_msg(NULL, key, out.buf, m, pt, 256);

		if (n < 0)
			return -1001;
		if (ptn)
			*ptn = n;
	}
	return st;
}

/* ---- the device ---- */

struct device {
	const char *serial;
	uint8_t sk[OSAP_KEY_LEN], mk[OSAP_KEY_LEN], ks[OSAP_KEY_LEN];
	char devid[OSAP_ID_MAX + 1];
	uint8_t ch[OSAP_CHALLENGE_LEN];       /* of the last 0x7 or 0x4 */
	uint8_t qch[OSAP_CHALLENGE_LEN];      /* of the last 0xA */
	uint8_t type, group;                  /* offered */
	uint32_t lifetime;                    /* of the last key grant */
	struct osap_ecdh *k;
	uint8_t f[OSAP_FRAME_MAX];            /* the last frame built */
	int n;
};

static void
dev_init(struct device *d, const char *serial, const char *code)
{
	memset(d, 0, sizeof(*d));
	d->serial = serial;
	d->type = OSAP_PROTO_TYPE_MQTTSN;
	d->group = OSAP_PROTO_KNOWN;
	if (osap_share_key((const uint8_t *)code, strlen(code), (const uint8_t *)serial,
			   strlen(serial), ITER, d->sk) < 0)
		abort();
}

static void
dev_fini(struct device *d)
{
	osap_ecdh_free(d->k);
	d->k = NULL;
}

static struct osap_view
dview(const struct device *d)
{
	return (struct osap_view){ (const uint8_t *)d->devid, strlen(d->devid) };
}

static int
dev_seal(struct device *d, const uint8_t *key, const struct osap_msg *m, const uint8_t *pt,
	 size_t n)
{
	d->n = osap_seal_msg(NULL, key, NULL, m, pt, n, d->f, sizeof(d->f));
	if (d->n < 0)
		abort();
	return d->n;
}

/* 0x1: a new key pair, offered type and group, public key under the share key. */
static int
dev_ecdh_req(struct device *d)
{
	uint8_t pub[OSAP_EC_PUB_LEN];
	struct osap_msg m;

	osap_ecdh_free(d->k);
	d->k = osap_ecdh_generate();
	if (d->k == NULL || osap_ecdh_public(d->k, pub) < 0)
		abort();
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.ecdh_req = (struct osap_ecdh_req){ d->type, d->group,
		{ (const uint8_t *)d->serial, strlen(d->serial) } };
	return dev_seal(d, d->sk, &m, pub, sizeof(pub));
}

/* The answer to 0x1: its status; on ok the master key. */
static int
dev_ecdh_rsp(struct device *d, struct osap_msg *m)
{
	uint8_t pt[256];
	int n, st = rsp(OSAP_AUTH_ECDH_RSP, d->sk, m, pt, &n);

	if (st == OSAP_ST_OK && (n != OSAP_EC_PUB_LEN || osap_ecdh_master(d->k, pt, d->sk, d->mk)))
		return -1002;
	return st;
}

/* 0x7 or 0x4: a fresh challenge under the master key. */
static int
dev_challenge_req(struct device *d, uint8_t type)
{
	struct osap_msg m;

	osap_random(d->ch, sizeof(d->ch));
	osap_msg_init(&m, type);
	if (type == OSAP_REFRESH_REQ)
		m.refresh_req = (struct osap_refresh_req){ d->type, d->group, dview(d) };
	return dev_seal(d, d->mk, &m, d->ch, sizeof(d->ch));
}

/* The answer to 0x7 or 0x4: its status; on ok the key grant (challenge checked). */
static int
dev_key_grant(struct device *d, uint8_t type, struct osap_msg *m)
{
	struct osap_key_grant g;
	uint8_t pt[256];
	int n, st = rsp(type, d->mk, m, pt, &n);

	if (st != OSAP_ST_OK)
		return st;
	if (osap_decode_key_grant(pt, (size_t)n, &g) < 0 ||
	    !osap_ct_equal(g.challenge, d->ch, OSAP_CHALLENGE_LEN))
		return -1003;
	memcpy(d->ks, g.session_key, OSAP_KEY_LEN);
	memcpy(d->devid, g.devid.p, g.devid.len);
	d->devid[g.devid.len] = 0;
	d->lifetime = g.lifetime;
	return st;
}

/* 0x9: the DevID and the 0x7 challenge under the session key. */
static int
dev_cfm(struct device *d)
{
	struct osap_msg m;

	osap_msg_init(&m, OSAP_DEVID_CFM);
	m.devid_cfm.devid = dview(d);
	return dev_seal(d, d->ks, &m, d->ch, sizeof(d->ch));
}

/* 0xA: an address query under the session key. */
static int
dev_addr_req(struct device *d, uint8_t family)
{
	struct osap_addr_query q = { .family = family };
	uint8_t pt[OSAP_ADDR_QUERY_LEN];
	struct osap_msg m;

	osap_random(q.challenge, sizeof(q.challenge));
	memcpy(d->qch, q.challenge, sizeof(d->qch));
	osap_encode_addr_query(pt, sizeof(pt), &q);
	osap_msg_init(&m, OSAP_ADDR_REQ);
	return dev_seal(d, d->ks, &m, pt, sizeof(pt));
}

/* The answer to 0xA: its status; on ok the grant (challenge checked). */
static int
dev_addr_rsp(struct device *d, struct osap_addr_grant *g)
{
	uint8_t pt[256];
	int n, st = rsp(OSAP_ADDR_RSP, d->ks, NULL, pt, &n);

	if (st != OSAP_ST_OK)
		return st;
	if (osap_decode_addr_grant(pt, (size_t)n, g) < 0 ||
	    !osap_ct_equal(g->challenge, d->qch, OSAP_CHALLENGE_LEN))
		return -1004;
	return st;
}

/* Feed the device's last frame whole. */
static int
send_dev(struct lbs_sess *s, struct device *d)
{
	return feed(s, d->f, (size_t)d->n);
}

static struct lbs_sess *
sess_new(void)
{
	struct lbs_sess *s = lbs_sess_new(&backend, NULL);

	if (s == NULL)
		abort();
	return s;
}

/* 0x1 .. 0x8 on @p s; @return true if the device holds a DevID and session key. */
static bool
first_auth(struct lbs_sess *s, struct device *d)
{
	dev_ecdh_req(d);
	if (send_dev(s, d) != LBS_SESS_CONTINUE || dev_ecdh_rsp(d, NULL) != OSAP_ST_OK)
		return false;
	dev_challenge_req(d, OSAP_DEVID_REQ);
	return send_dev(s, d) == LBS_SESS_CONTINUE &&
	       dev_key_grant(d, OSAP_DEVID_RSP, NULL) == OSAP_ST_OK;
}

/* ---- the exchanges ---- */

static void
test_first_auth(void)
{
	struct lbs_sess *s;
	struct device d;
	struct osap_msg m;
	struct osap_addr_grant g;
	uint8_t want4[4] = { 198, 51, 100, 7 };

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");
	s = sess_new();
	is_int(lbs_sess_state(s), LBS_SESS_START, "first: START");
	is_int(lbs_sess_devid(s).len, 0, "first: no DevID yet");

	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "first: 0x1 accepted");
	is_int(out.consumed, d.n, "first: the whole 0x1 consumed");
	is_int(dev_ecdh_rsp(&d, &m), OSAP_ST_OK, "first: 0x2 ok, opens under the share key");
	ok(m.ecdh_rsp.proto_type == OSAP_PROTO_TYPE_MQTTSN &&
	   m.ecdh_rsp.proto_group == OSAP_PROTO_SECURE && m.flags == OSAP_FLAG_ECDH,
	   "first: the most secure common protocol chosen, ECDH flag set");
	is_int(lbs_sess_state(s), LBS_SESS_KEYED, "first: KEYED");

	dev_challenge_req(&d, OSAP_DEVID_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "first: 0x7 accepted");
	is_int(dev_key_grant(&d, OSAP_DEVID_RSP, &m), OSAP_ST_OK,
	       "first: 0x8 ok, key grant under the master key, challenge echoed");
	is_int(d.lifetime, 86400, "first: the policy's key lifetime");
	is_int(strlen(d.devid), OSAP_DEVID_GEN_LEN, "first: a DevID granted");
	ok(fk.apply_calls == 1 && fk.created == 1 && fk.store_calls == 1,
	   "first: DevID created, session key stored");
	ok(fk.dev[0].has_mk && memcmp(fk.dev[0].mk, d.mk, 16) == 0,
	   "first: the registry has the device's master key");
	ok(memcmp(fk.dev[0].ks, d.ks, 16) == 0 && fk.dev[0].ks_expiry == fk.wall + 86400,
	   "first: the registry has the session key and its expiry");
	is_int(lbs_sess_state(s), LBS_SESS_GRANTED, "first: GRANTED");
	ok(lbs_sess_devid(s).len == strlen(d.devid) &&
	   memcmp(lbs_sess_devid(s).p, d.devid, strlen(d.devid)) == 0, "first: lbs_sess_devid");

	dev_cfm(&d);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "first: 0x9 accepted");
	is_int(out.len, 0, "first: 0x9 has no answer");
	is_int(lbs_sess_state(s), LBS_SESS_SESSION, "first: SESSION");

	fk.now_ms += 500;
	is_int(lbs_sess_deadline(s), 1000 + LBS_SESS_HANDSHAKE_MS_DEFAULT,
	       "first: the handshake deadline before an address");
	dev_addr_req(&d, OSAP_FAMILY_ANY);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "first: 0xA accepted");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "first: 0xB ok under the session key");
	ok(g.family == OSAP_FAMILY_IPV4 && memcmp(g.addr, want4, 4) == 0 && g.port == 8883 &&
	   g.proto_type == OSAP_PROTO_TYPE_MQTTSN && g.proto == OSAP_PROTO_SECURE &&
	   g.lifetime == 300, "first: the node's address, DTLS port, protocol, lifetime");
	ok(fk.admit_calls == 1 && strcmp(fk.adm_devid, d.devid) == 0 &&
	   memcmp(fk.adm_ks, d.ks, 16) == 0 && fk.adm_expiry == fk.wall + 86400 &&
	   fk.adm_lifetime == 300 && fk.adm_proto == OSAP_PROTO_SECURE && fk.adm_node.node == 7,
	   "first: admitted at the node with DevID, session key, expiry");
	is_int(lbs_sess_deadline(s), fk.now_ms + LBS_SESS_IDLE_MS_DEFAULT,
	       "first: after the address only the idle deadline");

	dev_addr_req(&d, OSAP_FAMILY_IPV6);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "first: a second 0xA");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "first: a second 0xB");
	ok(g.family == OSAP_FAMILY_IPV6 && g.addr[0] == 0x20 && fk.pick_family == OSAP_FAMILY_IPV6,
	   "first: the family asked for");
	is_int(lbs_sess_reason(s), LBS_SESS_R_OK, "first: still open");
	lbs_sess_free(s);
	is_int(fk.cancel_calls, 0, "first: nothing to cancel");

	/* Without 0x9: the 0xA is the confirmation. And the DevID is sticky. */
	char devid1[OSAP_ID_MAX + 1];

	strcpy(devid1, d.devid);
	s = sess_new();
	ok(first_auth(s, &d), "implicit: 0x1 .. 0x8 again");
	is_str(d.devid, devid1, "implicit: the serial keeps its DevID");
	is_int(fk.created, 1, "implicit: no second DevID created");
	dev_addr_req(&d, OSAP_FAMILY_ANY);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "implicit: 0xA right after 0x8");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "implicit: 0xB ok");
	is_int(lbs_sess_state(s), LBS_SESS_SESSION, "implicit: SESSION");
	dev_cfm(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "implicit: a 0x9 after it is out of order");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "implicit: ERROR unexpected_message");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_refresh(void)
{
	struct lbs_sess *s;
	struct device d;
	struct osap_msg m;
	struct osap_addr_grant g;
	uint8_t old_ks[16];

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");
	s = sess_new();
	ok(first_auth(s, &d), "refresh: first authentication");
	lbs_sess_free(s);
	memcpy(old_ks, d.ks, 16);

	/* A new connection; the device now offers the plain protocol only. */
	fk.wall += 1000;
	d.group = OSAP_PROTO_PLAIN;
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "refresh: 0x4 accepted");
	is_int(dev_key_grant(&d, OSAP_REFRESH_RSP, &m), OSAP_ST_OK,
	       "refresh: 0x6 ok, key grant under the master key, challenge echoed");
	ok(m.refresh_rsp.proto_type == OSAP_PROTO_TYPE_MQTTSN &&
	   m.refresh_rsp.proto_group == OSAP_PROTO_PLAIN, "refresh: negotiated again: plain");
	ok(memcmp(d.ks, old_ks, 16) != 0, "refresh: a new session key");
	ok(memcmp(fk.dev[0].ks, d.ks, 16) == 0 && fk.dev[0].ks_expiry == fk.wall + 86400,
	   "refresh: stored with its expiry");
	ok(fk.apply_calls == 1 && fk.created == 1, "refresh: no DevID applied");
	is_int(lbs_sess_state(s), LBS_SESS_SESSION, "refresh: SESSION");
	ok(lbs_sess_devid(s).len == strlen(d.devid), "refresh: lbs_sess_devid is the device's");

	dev_addr_req(&d, OSAP_FAMILY_IPV4);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "refresh: 0xA");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "refresh: 0xB ok under the new key");
	ok(g.port == 1883 && g.proto == OSAP_PROTO_PLAIN && fk.admit_calls == 1 &&
	   memcmp(fk.adm_ks, d.ks, 16) == 0, "refresh: the plain port, admitted with the new key");
	lbs_sess_free(s);

	/* 0x9 has no place in a re-authentication. */
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	send_dev(s, &d);
	dev_key_grant(&d, OSAP_REFRESH_RSP, NULL);
	dev_cfm(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh: 0x9 after 0x6 closes");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "refresh: ERROR unexpected_message");
	lbs_sess_free(s);

	/* Refusals: unknown DevID, wrong master key, blocked. */
	struct device x = d;

	x.k = NULL;
	strcpy(x.devid, "no-such-devid");
	s = sess_new();
	dev_challenge_req(&x, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &x), LBS_SESS_CLOSE, "refresh: unknown DevID closes");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, &m, NULL, NULL), OSAP_ST_UNKNOWN_DEVICE,
	       "refresh: 0x6 unknown_device");
	ok(m.sealed.len == 0 && m.refresh_rsp.proto_type == 0 && m.refresh_rsp.proto_group == 0,
	   "refresh: nothing sealed, type and group 0");
	is_int(out.reason, LBS_SESS_R_UNKNOWN_DEVICE, "refresh: reason unknown_device");
	lbs_sess_free(s);

	x = d;
	x.k = NULL;
	x.mk[0] ^= 1;
	s = sess_new();
	dev_challenge_req(&x, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &x), LBS_SESS_CLOSE, "refresh: wrong master key closes");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "refresh: 0x6 auth_failed");
	is_int(out.reason, LBS_SESS_R_AUTH_FAILED, "refresh: reason auth_failed");
	lbs_sess_free(s);

	fk.dev[0].blocked = true;
	s = sess_new();
	dev_challenge_req(&x, OSAP_REFRESH_REQ);
	send_dev(s, &x);
	is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "refresh: blocked, wrong master key: auth_failed (seal before block)");
	lbs_sess_free(s);
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh: blocked closes");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_DEVICE_BLOCKED,
	       "refresh: blocked, right master key: 0x6 device_blocked");
	is_int(out.reason, LBS_SESS_R_BLOCKED, "refresh: reason blocked");
	lbs_sess_free(s);
	fk.dev[0].blocked = false;

	/* VERSION first on 0x4 too; a registry that cannot look up. */
	{
		uint8_t ch[OSAP_CHALLENGE_LEN] = { 0 };

		osap_msg_init(&m, OSAP_REFRESH_REQ);
		m.version.high = 0;
		m.refresh_req = (struct osap_refresh_req){ 1, 3, dview(&d) };
		dev_seal(&d, d.mk, &m, ch, sizeof(ch));
		s = sess_new();
		is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh: HIGH 0: close");
		is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_UNSUPPORTED_VERSION,
		       "refresh: HIGH 0: 0x6 unsupported_version");
		lbs_sess_free(s);
	}
	fk.fail_lookup = 1;
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh: lookup fails: close");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "refresh: lookup fails: 0x6 internal_error");
	lbs_sess_free(s);
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "first: lookup fails: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "first: lookup fails: 0x2 internal_error");
	is_int(out.reason, LBS_SESS_R_INTERNAL, "lookup fails: reason internal");
	lbs_sess_free(s);
	fk.fail_lookup = 0;

	/* A registry that cannot store the key. */
	fk.fail_store = 1;
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh: store fails: closes");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "refresh: 0x6 internal_error");
	is_int(out.reason, LBS_SESS_R_INTERNAL, "refresh: reason internal");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_negotiation(void)
{
	static const char inconsistent[] = "21080201030003010100";
	uint8_t want[16];
	struct lbs_sess *s;
	struct device d;
	struct osap_msg m;
	size_t wn = unhex(inconsistent, want, sizeof(want));

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");

	/* The draft's inconsistent case: type 2 offered; the server's answer, then close. */
	d.type = OSAP_PROTO_TYPE_MQTT;
	d.group = 0x0f;
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "inconsistent: close");
	ok(out.len == wn && memcmp(out.buf, want, wn) == 0,
	   "inconsistent: the octets of docs/osap.md 14.7 (status 02, type 1, group 03)");
	is_int(out.reason, LBS_SESS_R_UNSUPPORTED, "inconsistent: reason unsupported");
	is_int(lbs_sess_state(s), LBS_SESS_CLOSED, "inconsistent: CLOSED");
	is_int(fk.pick_calls + fk.apply_calls, 0, "inconsistent: nothing else asked");
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "inconsistent: a closed session stays closed");
	ok(out.consumed == 0 && out.len == 0, "inconsistent: and reads nothing");
	lbs_sess_free(s);

	/* The device retries, on a new connection, with what the server offered. */
	d.type = OSAP_PROTO_TYPE_MQTTSN;
	d.group = OSAP_PROTO_KNOWN;
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "retry: accepted");
	is_int(dev_ecdh_rsp(&d, &m), OSAP_ST_OK, "retry: 0x2 ok");
	is_int(m.ecdh_rsp.proto_group, OSAP_PROTO_SECURE, "retry: the secure protocol");
	lbs_sess_free(s);

	/* The right type but no common bit. */
	fk.pol.proto_group = OSAP_PROTO_SECURE;
	d.group = OSAP_PROTO_PLAIN | 0x04;
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "no common bit: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, &m, NULL, NULL), OSAP_ST_UNSUPPORTED_PROTOCOL,
	       "no common bit: unsupported_protocol");
	ok(m.ecdh_rsp.proto_type == 1 && m.ecdh_rsp.proto_group == OSAP_PROTO_SECURE,
	   "no common bit: the server's type and group");
	lbs_sess_free(s);
	fk.pol.proto_group = OSAP_PROTO_KNOWN;

	/* No ECDH flag: the draft's "original mode", not implemented. */
	uint8_t pub[OSAP_EC_PUB_LEN] = { 0x04 };

	d.group = OSAP_PROTO_KNOWN;
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.flags = 0;
	m.ecdh_req = (struct osap_ecdh_req){ 1, 3, { (const uint8_t *)d.serial, 12 } };
	dev_seal(&d, d.sk, &m, pub, sizeof(pub));
	s = sess_new();
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "no ECDH flag: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, &m, NULL, NULL), OSAP_ST_UNSUPPORTED_PROTOCOL,
	       "no ECDH flag: unsupported_protocol");
	lbs_sess_free(s);

	/* VERSION comes before negotiation. */
	d.type = OSAP_PROTO_TYPE_MQTT;
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.version.high = 2;
	m.ecdh_req = (struct osap_ecdh_req){ 2, 3, { (const uint8_t *)d.serial, 12 } };
	dev_seal(&d, d.sk, &m, pub, sizeof(pub));
	s = sess_new();
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "bad version: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, &m, NULL, NULL), OSAP_ST_UNSUPPORTED_VERSION,
	       "HIGH 2 and type 2: unsupported_version (VERSION first)");
	ok(m.ecdh_rsp.proto_type == 0 && m.ecdh_rsp.proto_group == 0, "bad version: type, group 0");
	is_int(out.reason, LBS_SESS_R_BAD_VERSION, "bad version: reason bad_version");
	lbs_sess_free(s);
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.version.form = 2;
	m.version.low = 9;
	m.ecdh_req = (struct osap_ecdh_req){ 1, 3, { (const uint8_t *)d.serial, 12 } };
	dev_seal(&d, d.sk, &m, pub, sizeof(pub));
	s = sess_new();
	send_dev(s, &d);
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_UNSUPPORTED_VERSION,
	       "FORM 2: unsupported_version");
	lbs_sess_free(s);

	/* Negotiation comes before the lookup: an unknown serial learns the same. */
	struct device u;

	dev_init(&u, "SN-UNKNOWN", "ABCDEF");
	u.type = OSAP_PROTO_TYPE_MQTT;
	s = sess_new();
	dev_ecdh_req(&u);
	send_dev(s, &u);
	ok(out.len == wn && memcmp(out.buf, want, wn) == 0,
	   "an unknown serial gets the same inconsistent answer");
	lbs_sess_free(s);
	dev_fini(&u);

	/* The same for 0x4 / 0x6. */
	d.type = OSAP_PROTO_TYPE_MQTT;
	strcpy(d.devid, "whatever");
	s = sess_new();
	dev_challenge_req(&d, OSAP_REFRESH_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refresh inconsistent: close");
	is_int(rsp(OSAP_REFRESH_RSP, NULL, &m, NULL, NULL), OSAP_ST_UNSUPPORTED_PROTOCOL,
	       "refresh inconsistent: 0x6 unsupported_protocol (before the DevID lookup)");
	ok(m.refresh_rsp.proto_type == 1 && m.refresh_rsp.proto_group == 3,
	   "refresh inconsistent: the server's type and group");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_auth_failures(void)
{
	uint8_t wrong[64], unknown[64], blocked_wrong[64];
	size_t nw, nu, nbw;
	struct lbs_sess *s;
	struct device d;

	fk_reset();

	/* A wrong verification code. */
	dev_init(&d, "SN0123456789", "ABCDEG");
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "wrong code: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "wrong code: 0x2 auth_failed");
	is_int(out.reason, LBS_SESS_R_AUTH_FAILED, "wrong code: reason auth_failed");
	ok(fk.apply_calls == 0 && fk.created == 0 && fk.store_calls == 0 && !fk.dev[0].has_mk,
	   "wrong code: no DevID, no key stored");
	memcpy(wrong, out.buf, out.len);
	nw = out.len;
	lbs_sess_free(s);
	dev_fini(&d);

	/* An unknown serial: the same octets. */
	dev_init(&d, "SN-NOBODY", "ABCDEF");
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "unknown serial: close");
	memcpy(unknown, out.buf, out.len);
	nu = out.len;
	ok(nu == nw && memcmp(unknown, wrong, nw) == 0,
	   "unknown serial: the same octets as a wrong code");
	is_int(out.reason, LBS_SESS_R_UNKNOWN_DEVICE, "unknown serial: counted as unknown_device");
	lbs_sess_free(s);
	dev_fini(&d);

	/* Blocked: with a wrong code the same octets again; with the right one, blocked. */
	dev_init(&d, "SN-BLOCKED", "WRONG");
	s = sess_new();
	dev_ecdh_req(&d);
	send_dev(s, &d);
	memcpy(blocked_wrong, out.buf, out.len);
	nbw = out.len;
	ok(nbw == nw && memcmp(blocked_wrong, wrong, nw) == 0,
	   "blocked, wrong code: the same octets (block is checked after the seal)");
	lbs_sess_free(s);
	dev_fini(&d);
	dev_init(&d, "SN-BLOCKED", "XYZ");
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "blocked: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_DEVICE_BLOCKED,
	       "blocked, right code: 0x2 device_blocked");
	is_int(out.reason, LBS_SESS_R_BLOCKED, "blocked: reason blocked");
	lbs_sess_free(s);
	dev_fini(&d);

	/* A public key that is no point of the curve, sealed properly. */
	uint8_t bad[OSAP_EC_PUB_LEN] = { 0x04 };
	struct osap_msg m;

	dev_init(&d, "SN0123456789", "ABCDEF");
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.ecdh_req = (struct osap_ecdh_req){ 1, 3, { (const uint8_t *)d.serial, 12 } };
	dev_seal(&d, d.sk, &m, bad, sizeof(bad));
	s = sess_new();
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "bad point: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "bad point: 0x2 auth_failed");
	is_int(out.reason, LBS_SESS_R_AUTH_FAILED, "bad point: reason auth_failed");
	lbs_sess_free(s);

	/* A modified frame: one bit of the serial (AAD) flipped. */
	s = sess_new();
	dev_ecdh_req(&d);
	d.f[21] ^= 0x01;   /* the serial's last octet: SN0123456788 */
	fk_add("SN0123456788", "ABCDEF", false);   /* the flipped serial exists */
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "flipped bit: close");
	is_int(rsp(OSAP_AUTH_ECDH_RSP, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "flipped bit: auth_failed");
	lbs_sess_free(s);

	/* 0x7 under a wrong master key; 0x9 with another DevID; 0xA under a wrong key. */
	s = sess_new();
	dev_ecdh_req(&d);
	send_dev(s, &d);
	dev_ecdh_rsp(&d, NULL);
	d.mk[3] ^= 0x40;
	dev_challenge_req(&d, OSAP_DEVID_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0x7 under a wrong key: close");
	is_int(rsp(OSAP_ERROR, NULL, &m, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "0x7 under a wrong key: ERROR auth_failed");
	ok(m.error.retry_after == 0 && m.error.reason.len == strlen("auth_failed") &&
	   memcmp(m.error.reason.p, "auth_failed", m.error.reason.len) == 0,
	   "ERROR: no retry, the status name as its reason");
	is_int(fk.apply_calls, 0, "0x7 under a wrong key: no DevID");
	lbs_sess_free(s);

	s = sess_new();
	ok(first_auth(s, &d), "first authentication for the 0x9 checks");
	strcpy(d.devid, "someone-else");
	dev_cfm(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0x9 with another DevID: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "0x9 with another DevID: ERROR auth_failed");
	lbs_sess_free(s);

	s = sess_new();
	first_auth(s, &d);
	d.ch[0] ^= 1;
	dev_cfm(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0x9 with another challenge: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "0x9 with another challenge: ERROR auth_failed");
	lbs_sess_free(s);

	s = sess_new();
	first_auth(s, &d);
	d.ks[15] ^= 1;
	dev_addr_req(&d, OSAP_FAMILY_ANY);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0xA under a wrong key: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_AUTH_FAILED,
	       "0xA under a wrong key: ERROR auth_failed");
	is_int(fk.pick_calls + fk.admit_calls, 0, "0xA under a wrong key: no node asked");
	lbs_sess_free(s);

	/* The registry fails on 0x7. */
	fk.fail_apply = 1;
	s = sess_new();
	ok(!first_auth(s, &d), "apply fails: no grant");
	is_int(rsp(OSAP_DEVID_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "apply fails: 0x8 internal_error");
	is_int(out.reason, LBS_SESS_R_INTERNAL, "apply fails: reason internal");
	lbs_sess_free(s);
	fk.fail_apply = 0;

	/* The limiter. */
	fk.throttle = 1;
	s = sess_new();
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "throttled: close");
	is_int(rsp(OSAP_ERROR, NULL, &m, NULL, NULL), OSAP_ST_RATE_LIMITED,
	       "throttled: ERROR rate_limited");
	is_int(m.error.retry_after, 30, "throttled: retry after 30 s");
	is_int(out.reason, LBS_SESS_R_RATE_LIMITED, "throttled: reason rate_limited");
	lbs_sess_free(s);
	fk.throttle = 0;
	dev_fini(&d);
}

static void
test_out_of_order(void)
{
	struct lbs_sess *s;
	struct device d;
	struct osap_msg m;
	uint8_t f[64];
	int n;

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");
	memset(d.mk, 0x11, 16);
	memset(d.ks, 0x22, 16);
	strcpy(d.devid, "x");

	/* In START: 0x7, 0x9, 0xA. */
	const uint8_t types[] = { OSAP_DEVID_REQ, OSAP_DEVID_CFM, OSAP_ADDR_REQ };

	for (unsigned int i = 0; i < sizeof(types); i++) {
		if (types[i] == OSAP_DEVID_REQ)
			dev_challenge_req(&d, OSAP_DEVID_REQ);
		else if (types[i] == OSAP_DEVID_CFM)
			dev_cfm(&d);
		else
			dev_addr_req(&d, 0);
		s = sess_new();
		is_int(send_dev(s, &d), LBS_SESS_CLOSE, "START, %s: close",
		       osap_type_name(types[i]));
		is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
		       "START, %s: ERROR unexpected_message", osap_type_name(types[i]));
		is_int(out.reason, LBS_SESS_R_OUT_OF_ORDER, "START, %s: reason out_of_order",
		       osap_type_name(types[i]));
		lbs_sess_free(s);
	}

	/* A response type from the device. */
	osap_msg_init(&m, OSAP_ADDR_RSP);
	m.addr_rsp.status = OSAP_ST_NO_ACCESS_NODE;
	n = osap_encode(f, sizeof(f), &m);
	s = sess_new();
	is_int(feed(s, f, (size_t)n), LBS_SESS_CLOSE, "0xB from the device: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "0xB from the device: ERROR unexpected_message");
	lbs_sess_free(s);

	/* In KEYED: 0x1 again, 0xA. */
	s = sess_new();
	dev_ecdh_req(&d);
	send_dev(s, &d);
	dev_ecdh_rsp(&d, NULL);
	dev_ecdh_req(&d);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "KEYED, 0x1 again: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "KEYED, 0x1 again: ERROR unexpected_message");
	lbs_sess_free(s);
	s = sess_new();
	dev_ecdh_req(&d);
	send_dev(s, &d);
	dev_ecdh_rsp(&d, NULL);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "KEYED, 0xA: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "KEYED, 0xA: ERROR unexpected_message");
	lbs_sess_free(s);

	/* In GRANTED: 0x7 again, 0x4. */
	s = sess_new();
	first_auth(s, &d);
	dev_challenge_req(&d, OSAP_DEVID_REQ);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "GRANTED, 0x7 again: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNEXPECTED,
	       "GRANTED, 0x7 again: ERROR unexpected_message");
	lbs_sess_free(s);

	/* A bad VERSION or no ECDH flag on a later message: ERROR. */
	s = sess_new();
	first_auth(s, &d);
	osap_msg_init(&m, OSAP_ADDR_REQ);
	m.version.form = 3;
	{
		struct osap_addr_query q = { .family = 0 };
		uint8_t pt[OSAP_ADDR_QUERY_LEN];

		osap_encode_addr_query(pt, sizeof(pt), &q);
		dev_seal(&d, d.ks, &m, pt, sizeof(pt));
		is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0xA with FORM 3: close");
		is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNSUPPORTED_VERSION,
		       "0xA with FORM 3: ERROR unsupported_version");
		lbs_sess_free(s);
		s = sess_new();
		first_auth(s, &d);
		osap_msg_init(&m, OSAP_ADDR_REQ);
		m.flags = 0;
		dev_seal(&d, d.ks, &m, pt, sizeof(pt));
		is_int(send_dev(s, &d), LBS_SESS_CLOSE, "0xA without ECDH flag: close");
		is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_UNSUPPORTED_PROTOCOL,
		       "0xA without ECDH flag: ERROR unsupported_protocol");
		lbs_sess_free(s);
		/* an address query with an unknown family, sealed properly */
		s = sess_new();
		first_auth(s, &d);
		osap_msg_init(&m, OSAP_ADDR_REQ);
		pt[OSAP_CHALLENGE_LEN] = 9;
		dev_seal(&d, d.ks, &m, pt, sizeof(pt));
		is_int(send_dev(s, &d), LBS_SESS_CLOSE, "query of family 9: close");
		is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_MALFORMED,
		       "query of family 9: ERROR malformed");
		lbs_sess_free(s);
	}

	/* The device's ERROR: closed, not answered. */
	osap_msg_init(&m, OSAP_ERROR);
	m.error.code = OSAP_ST_INTERNAL;
	n = osap_encode(f, sizeof(f), &m);
	s = sess_new();
	first_auth(s, &d);
	is_int(feed(s, f, (size_t)n), LBS_SESS_CLOSE, "device ERROR: close");
	ok(out.len == 0 && out.reason == LBS_SESS_R_PEER_ERROR, "device ERROR: silent, peer_error");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_garbage(void)
{
	struct lbs_sess *s;
	struct osap_msg m;
	uint8_t junk[300];
	uint32_t x = 12345;
	size_t i;

	fk_reset();
	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (uint8_t)(x >> 16);
	}
	junk[0] = 0x11;   /* a 0x1 with a remaining length of junk[1] */
	junk[1] = 0x40;
	s = sess_new();
	is_int(feed(s, junk, sizeof(junk)), LBS_SESS_CLOSE, "garbage: close");
	is_int(rsp(OSAP_ERROR, NULL, &m, NULL, NULL), OSAP_ST_MALFORMED,
	       "garbage: ERROR malformed");
	is_int(out.reason, LBS_SESS_R_MALFORMED, "garbage: reason malformed");
	is_int(out.consumed, 2 + 0x40, "garbage: read up to the end of the bad frame");
	ok(m.error.reason.len == 9 && memcmp(m.error.reason.p, "malformed", 9) == 0,
	   "garbage: reason text");
	lbs_sess_free(s);

	static const uint8_t reserved[] = { 0x01, 0x05, 0x00, 0x03, 0x01, 0x01, 0x00 };

	s = sess_new();
	is_int(feed(s, reserved, sizeof(reserved)), LBS_SESS_CLOSE, "reserved type 0: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_MALFORMED,
	       "reserved type 0: ERROR malformed");
	lbs_sess_free(s);

	static const uint8_t varint[] = { 0x11, 0x80, 0x00, 0xaa, 0xbb };

	s = sess_new();
	is_int(feed(s, varint, sizeof(varint)), LBS_SESS_CLOSE, "non-minimal length: close");
	ok(out.consumed == 3 && out.reason == LBS_SESS_R_MALFORMED,
	   "non-minimal length: refused after its 3 octets");
	lbs_sess_free(s);

	/* A TLS ClientHello on a plain-TCP listener: 16 03 01 ... */
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };

	s = sess_new();
	is_int(feed(s, hello, sizeof(hello)), LBS_SESS_CLOSE, "TLS ClientHello: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_MALFORMED,
	       "TLS ClientHello: ERROR malformed");
	lbs_sess_free(s);

	/* Nothing at all, and argument checks. */
	s = sess_new();
	is_int(feed(s, NULL, 0), LBS_SESS_CONTINUE, "no input: continue");
	is_int(out.len, 0, "no input: no output");
	is_int(lbs_sess_input(s, NULL, 3, &out), -EINVAL, "NULL buf with a length: -EINVAL");
	is_int(lbs_sess_input(s, junk, 3, NULL), -EINVAL, "NULL out: -EINVAL");
	is_int(lbs_sess_input(NULL, junk, 3, &out), -EINVAL, "NULL session: -EINVAL");
	out.len = out.cap - LBS_SESS_RSP_MAX + 1;
	is_int(lbs_sess_input(s, junk, 3, &out), -ENOSPC, "no room in out: -ENOSPC");
	is_int(lbs_sess_admitted(s, true, &out), -EINVAL, "admitted without admission: -EINVAL");
	lbs_sess_free(s);
	lbs_sess_free(NULL);
}

static void
test_split(void)
{
	struct lbs_sess *s;
	struct device d;
	struct osap_addr_grant g;
	uint8_t pipe[256];
	size_t i, pn;
	int bad = 0;

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");
	s = sess_new();

	/* Every frame of the first authentication, one octet per call. */
	dev_ecdh_req(&d);
	for (i = 0; i < (size_t)d.n; i++) {
		int r = feed(s, d.f + i, 1);

		if (r != LBS_SESS_CONTINUE || out.consumed != 1 || (i + 1 < (size_t)d.n && out.len))
			bad++;
	}
	is_int(bad, 0, "split: 0x1 octet by octet, no answer before the last");
	is_int(dev_ecdh_rsp(&d, NULL), OSAP_ST_OK, "split: then 0x2 ok");
	dev_challenge_req(&d, OSAP_DEVID_REQ);
	for (i = 0; i < (size_t)d.n; i++)
		if (feed(s, d.f + i, 1) != LBS_SESS_CONTINUE)
			bad++;
	is_int(dev_key_grant(&d, OSAP_DEVID_RSP, NULL), OSAP_ST_OK, "split: 0x7 octet by octet");

	/* 0x9 and 0xA in one piece, cut through the 0xA's header. */
	dev_cfm(&d);
	memcpy(pipe, d.f, (size_t)d.n);
	pn = (size_t)d.n;
	dev_addr_req(&d, 0);
	memcpy(pipe + pn, d.f, (size_t)d.n);
	pn += (size_t)d.n;
	is_int(feed(s, pipe, pn - (size_t)d.n + 1), LBS_SESS_CONTINUE,
	       "split: 0x9 and the first octet of 0xA");
	is_int(out.len, 0, "split: no answer yet");
	is_int(feed(s, pipe + pn - d.n + 1, (size_t)d.n - 1), LBS_SESS_CONTINUE,
	       "split: the rest of 0xA");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "split: 0xB ok");

	/* Two 0xA in one piece: two answers in one call. */
	uint8_t q1[16];

	dev_addr_req(&d, 0);
	memcpy(pipe, d.f, (size_t)d.n);
	memcpy(q1, d.qch, 16);
	dev_addr_req(&d, 0);
	memcpy(pipe + d.n, d.f, (size_t)d.n);
	is_int(feed(s, pipe, 2 * (size_t)d.n), LBS_SESS_CONTINUE, "split: two 0xA at once");
	{
		struct osap_msg m1;
		int l1 = osap_decode(out.buf, out.len, &m1);
		uint8_t pt[64];
		struct osap_addr_grant g1;

		ok(l1 > 0 && m1.type == OSAP_ADDR_RSP && (size_t)l1 < out.len,
		   "split: two frames out");
		ok(osap_open_msg(NULL, d.ks, out.buf, &m1, pt, sizeof(pt)) > 0 &&
		   osap_decode_addr_grant(pt, OSAP_ADDR_GRANT_V4_LEN, &g1) == 0 &&
		   memcmp(g1.challenge, q1, 16) == 0, "split: the first answers the first query");
		memmove(out.buf, out.buf + l1, out.len - (size_t)l1);
		out.len -= (size_t)l1;
		is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "split: the second answers the second");
	}

	/* An out buffer with room for one answer: the second frame waits. */
	dev_addr_req(&d, 0);
	memcpy(pipe, d.f, (size_t)d.n);
	memcpy(q1, d.qch, 16);
	dev_addr_req(&d, 0);
	memcpy(pipe + d.n, d.f, (size_t)d.n);
	out = (struct lbs_sess_out){ .buf = obuf, .cap = LBS_SESS_RSP_MAX + 20 };
	is_int(lbs_sess_input(s, pipe, 2 * (size_t)d.n, &out), LBS_SESS_CONTINUE,
	       "small out: continue");
	{
		struct osap_msg m1;

		ok(osap_decode(out.buf, out.len, &m1) == (int)out.len && m1.type == OSAP_ADDR_RSP,
		   "small out: one answer");
	}
	is_int(out.consumed, 2 * (size_t)d.n, "small out: the second frame taken and kept");
	is_int(feed(s, NULL, 0), LBS_SESS_CONTINUE, "small out: called again with nothing new");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "small out: the second answer");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_too_big(void)
{
	/* remaining length 1026 (82 08): a frame of 1029 octets */
	static const uint8_t big[] = { 0x11, 0x82, 0x08, 0x01, 0x03, 0x00, 0x0f };
	/* remaining length 1021 (fd 07): exactly 1024 octets */
	uint8_t max[OSAP_FRAME_MAX] = { 0x11, 0xfd, 0x07 };
	struct lbs_sess *s;

	fk_reset();
	s = sess_new();
	is_int(feed(s, big, sizeof(big)), LBS_SESS_CLOSE, "1029 octets announced: close");
	is_int(out.consumed, 3, "too big: refused right after the length field");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_MALFORMED,
	       "too big: ERROR malformed");
	is_int(out.reason, LBS_SESS_R_TOO_BIG, "too big: reason too_big");
	lbs_sess_free(s);

	s = sess_new();
	is_int(feed(s, max, 3), LBS_SESS_CONTINUE, "1024 octets announced: waits");
	is_int(feed(s, max + 3, sizeof(max) - 4), LBS_SESS_CONTINUE, "1023 octets: still waits");
	is_int(feed(s, max + sizeof(max) - 1, 1), LBS_SESS_CLOSE,
	       "1024 octets of nonsense: decoded, refused");
	is_int(out.reason, LBS_SESS_R_MALFORMED, "1024 octets: malformed, not too_big");
	lbs_sess_free(s);
}

static void
test_async(void)
{
	struct lbs_sess *s;
	struct device d;
	struct osap_addr_grant g;
	uint8_t held[128];
	size_t hn;

	fk_reset();
	fk.admit_mode = ADMIT_PENDING;
	dev_init(&d, "SN0123456789", "ABCDEF");
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_WAIT, "async: 0xA waits for the node");
	ok(out.len == 0 && out.consumed == (size_t)d.n, "async: the 0xA taken, no answer yet");
	is_int(lbs_sess_state(s), LBS_SESS_ADMITTING, "async: ADMITTING");
	ok(fk.pending == s, "async: the backend holds the session");

	/* The device sends another 0xA meanwhile: nothing is read. */
	uint8_t first_q[16];

	memcpy(first_q, d.qch, 16);
	dev_addr_req(&d, 0);
	memcpy(held, d.f, (size_t)d.n);
	hn = (size_t)d.n;
	is_int(feed(s, held, hn), LBS_SESS_WAIT, "async: input while waiting: wait");
	is_int(out.consumed, 0, "async: none of it consumed");
	is_int(lbs_sess_tick(s, &out), LBS_SESS_WAIT, "async: tick before the deadline: wait");

	out_reset();
	out.len = out.cap - 10;
	is_int(lbs_sess_admitted(s, true, &out), -ENOSPC, "async: admitted without room: -ENOSPC");
	is_int(lbs_sess_state(s), LBS_SESS_ADMITTING, "async: still admitting");
	out_reset();
	is_int(lbs_sess_admitted(s, true, &out), LBS_SESS_CONTINUE, "async: admitted");
	{
		uint8_t q2[16];

		memcpy(q2, d.qch, 16);
		memcpy(d.qch, first_q, 16);
		is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "async: 0xB ok for the first query");
		memcpy(d.qch, q2, 16);
	}
	is_int(lbs_sess_deadline(s), fk.now_ms + LBS_SESS_IDLE_MS_DEFAULT,
	       "async: the handshake is complete");
	is_int(lbs_sess_admitted(s, true, &out), -EINVAL, "async: admitted twice: -EINVAL");

	/* The held 0xA, now; this time the node refuses. */
	is_int(feed(s, held, hn), LBS_SESS_WAIT, "async: the held 0xA waits too");
	out_reset();
	is_int(lbs_sess_admitted(s, false, &out), LBS_SESS_CLOSE, "async: refused: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_NO_ACCESS_NODE,
	       "async: 0xB no_access_node");
	is_int(out.reason, LBS_SESS_R_ADMIT_REFUSED, "async: reason admit_refused");
	lbs_sess_free(s);
	is_int(fk.cancel_calls, 0, "async: nothing pending at free");

	/* Freed while the node has not answered: cancelled. */
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	send_dev(s, &d);
	lbs_sess_free(s);
	ok(fk.cancel_calls == 1 && fk.pending == NULL, "async: freed while pending: admit_cancel");

	/* The deadline passes while waiting. */
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	send_dev(s, &d);
	fk.now_ms = lbs_sess_deadline(s);
	is_int(lbs_sess_tick(s, &out), LBS_SESS_CLOSE, "async: the deadline while waiting: close");
	is_int(out.reason, LBS_SESS_R_TIMEOUT, "async: reason timeout");
	out_reset();
	is_int(lbs_sess_admitted(s, true, &out), -EINVAL,
	       "async: admitted after the close: -EINVAL");
	lbs_sess_free(s);
	is_int(fk.cancel_calls, 2, "async: the closed session's admission is cancelled at free");

	/* A refusal at once. */
	fk.admit_mode = ADMIT_REFUSE;
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "refused at once: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_NO_ACCESS_NODE,
	       "refused at once: 0xB no_access_node");
	is_int(out.reason, LBS_SESS_R_ADMIT_REFUSED, "refused at once: admit_refused");
	lbs_sess_free(s);

	/* A backend answering something undocumented. */
	fk.admit_mode = ADMIT_BOGUS;
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "admit returns 2: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "admit returns 2: 0xB internal_error");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_no_node(void)
{
	static const uint8_t want[] = { 0xb1, 0x06, 0x08, 0x00, 0x03, 0x01, 0x01, 0x00 };
	struct lbs_node_conf c = {
		.name = "edge1", .family = OSAP_FAMILY_IPV4, .addr = { 203, 0, 113, 5 },
		.port = 1883, .dtls_port = 8883, .weight = 1,
	};
	struct lbs_sess *s;
	struct device d;
	struct osap_addr_grant g;

	fk_reset();
	fk.pool = lbs_pool_new(NULL);
	lbs_pool_add(fk.pool, &c);
	dev_init(&d, "SN0123456789", "ABCDEF");

	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "pool: 0xA");
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "pool: 0xB ok");
	ok(g.addr[0] == 203 && g.addr[3] == 5 && g.port == 8883, "pool: the pool's node");
	lbs_sess_free(s);

	lbs_pool_health(fk.pool, "edge1", false);
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "no node: close");
	ok(out.len == sizeof(want) && memcmp(out.buf, want, sizeof(want)) == 0,
	   "no node: the octets of docs/osap.md 14.7 (0xB no_access_node)");
	is_int(out.reason, LBS_SESS_R_NO_NODE, "no node: reason no_node");
	is_int(fk.admit_calls, 1, "no node: nobody admitted");
	lbs_sess_free(s);

	/* A node only on IPv4, the device asks IPv6. */
	lbs_pool_health(fk.pool, "edge1", true);
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, OSAP_FAMILY_IPV6);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "IPv6 asked, none: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_NO_ACCESS_NODE,
	       "IPv6 asked, none: no_access_node");
	lbs_sess_free(s);

	/* A backend that fails otherwise. */
	lbs_pool_free(fk.pool);
	fk.pool = NULL;
	fk.pick_result = -EIO;
	s = sess_new();
	first_auth(s, &d);
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "pick fails: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_INTERNAL,
	       "pick fails: 0xB internal_error");
	is_int(out.reason, LBS_SESS_R_INTERNAL, "pick fails: reason internal");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_time(void)
{
	struct lbs_sess_limits lim = { .handshake_ms = 60000, .idle_ms = 5000, .max_addr_req = 2 };
	struct lbs_sess *s;
	struct device d;
	struct osap_addr_grant g;

	fk_reset();
	dev_init(&d, "SN0123456789", "ABCDEF");

	/* Defaults: the handshake deadline first. */
	s = sess_new();
	is_int(lbs_sess_deadline(s), 1000 + LBS_SESS_HANDSHAKE_MS_DEFAULT, "deadline: handshake");
	fk.now_ms = 5000;
	is_int(lbs_sess_tick(s, &out), LBS_SESS_CONTINUE, "deadline: not yet");
	fk.now_ms = 1000 + LBS_SESS_HANDSHAKE_MS_DEFAULT;
	is_int(lbs_sess_tick(s, &out), LBS_SESS_CLOSE, "deadline: passed: close");
	ok(out.reason == LBS_SESS_R_TIMEOUT && lbs_sess_reason(s) == LBS_SESS_R_TIMEOUT,
	   "deadline: reason timeout");
	is_int(lbs_sess_tick(s, NULL), LBS_SESS_CLOSE, "deadline: stays closed");
	lbs_sess_free(s);

	/* Idle shorter than the handshake: each frame moves it. */
	fk.now_ms = 1000;
	s = lbs_sess_new(&backend, &lim);
	is_int(lbs_sess_deadline(s), 6000, "idle: 5 s after the start");
	fk.now_ms = 4000;
	dev_ecdh_req(&d);
	feed(s, d.f, 10);
	is_int(lbs_sess_deadline(s), 6000, "idle: part of a frame does not count");
	feed(s, d.f + 10, (size_t)d.n - 10);
	dev_ecdh_rsp(&d, NULL);
	is_int(lbs_sess_deadline(s), 9000, "idle: a whole frame moves it");
	fk.now_ms = 6000;
	is_int(lbs_sess_tick(s, &out), LBS_SESS_CONTINUE, "idle: an old timer: re-arm");
	fk.now_ms = 8000;
	dev_challenge_req(&d, OSAP_DEVID_REQ);
	send_dev(s, &d);
	dev_key_grant(&d, OSAP_DEVID_RSP, NULL);
	dev_addr_req(&d, 0);
	send_dev(s, &d);
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "idle: address granted");
	is_int(lbs_sess_deadline(s), 13000, "idle: then only idle");

	/* max_addr_req 2. */
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CONTINUE, "limit: second 0xA");
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "limit: third 0xA: close");
	is_int(rsp(OSAP_ERROR, NULL, NULL, NULL, NULL), OSAP_ST_RATE_LIMITED,
	       "limit: ERROR rate_limited");
	is_int(out.reason, LBS_SESS_R_RATE_LIMITED, "limit: reason rate_limited");
	is_int(fk.admit_calls, 2, "limit: two admissions");
	lbs_sess_free(s);

	/* The session key's lifetime. */
	fk_reset();
	fk.pol.key_lifetime = 100;
	s = sess_new();
	first_auth(s, &d);
	is_int(d.lifetime, 100, "key: lifetime 100 s");
	fk.wall += 40;
	dev_addr_req(&d, 0);
	send_dev(s, &d);
	is_int(dev_addr_rsp(&d, &g), OSAP_ST_OK, "key: 40 s later: an address");
	is_int(g.lifetime, 60, "key: the admission ends with the key (60 s left, not 300)");
	is_int(fk.adm_lifetime, 60, "key: the node is told 60 s too");
	fk.wall += 60;
	dev_addr_req(&d, 0);
	is_int(send_dev(s, &d), LBS_SESS_CLOSE, "key: expired: close");
	is_int(rsp(OSAP_ADDR_RSP, NULL, NULL, NULL, NULL), OSAP_ST_KEY_EXPIRED,
	       "key: 0xB key_expired");
	is_int(out.reason, LBS_SESS_R_KEY_EXPIRED, "key: reason key_expired");
	lbs_sess_free(s);
	dev_fini(&d);
}

static void
test_api(void)
{
	struct lbs_backend b = backend;

	fk_reset();
	b.admit = NULL;
	ok(lbs_sess_new(&b, NULL) == NULL, "new: a required callback missing: NULL");
	ok(lbs_sess_new(NULL, NULL) == NULL, "new: no backend: NULL");
	b = backend;
	b.throttle = NULL;
	b.admit_cancel = NULL;
	struct lbs_sess *s = lbs_sess_new(&b, NULL);

	ok(s != NULL, "new: the optional callbacks may be NULL");
	lbs_sess_free(s);
	fk.pol.proto_group = 0x04;
	ok(lbs_sess_new(&backend, NULL) == NULL, "new: a policy with no known protocol: NULL");
	fk.pol.proto_group = 3;
	fk.pol.key_lifetime = 0;
	ok(lbs_sess_new(&backend, NULL) == NULL, "new: a zero key lifetime: NULL");

	int named = 0;

	for (int r = 0; r < LBS_SESS_R_MAX; r++)
		named += lbs_sess_reason_name(r) != NULL && lbs_sess_reason_desc(r) != NULL;
	is_int(named, LBS_SESS_R_MAX, "every reason has a name and a description");
	is_str(lbs_sess_reason_name(LBS_SESS_R_NO_NODE), "no_node", "reason name");
	ok(lbs_sess_reason_name(LBS_SESS_R_MAX) == NULL, "reason name out of range");
	is_str(lbs_sess_state_name(LBS_SESS_GRANTED), "granted", "state name");
	ok(lbs_sess_state_name(LBS_SESS_CLOSED + 1) == NULL, "state name out of range");
	ok(LBS_SESS_RSP_MAX == 266, "LBS_SESS_RSP_MAX is the longest frame of docs/osap.md");
}

int
main(void)
{
	test_first_auth();
	test_refresh();
	test_negotiation();
	test_auth_failures();
	test_out_of_order();
	test_garbage();
	test_split();
	test_too_big();
	test_async();
	test_no_node();
	test_time();
	test_api();
	if (fk.pool)
		lbs_pool_free(fk.pool);
	return done_testing();
}
