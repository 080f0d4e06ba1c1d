/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One OSAP connection at the LBS (control/lbs/session.h has the contract).
 *
 * Reassembly copies each frame into the session's own buffer, a header
 * octet at a time until osap_frame_len() knows the length, then the rest in
 * one piece. A frame is therefore never split across the caller's buffers
 * when it is decoded, a frame that announces more than OSAP_FRAME_MAX is
 * refused as soon as its length field is complete, and the session never
 * takes an octet past the frame it is working on: when it must stop (an
 * admission pending, a close, no room for an answer) the caller still holds
 * everything not consumed, so nothing is buffered twice and a device that
 * pipelines requests is slowed down by TCP, not by an ever-growing buffer.
 *
 * Every handler ends in exactly one of: an answer and a state change, an
 * answer and a close (refuse(), refuse_error()), a pending admission, or
 * (0x9) a silent state change. The close is recorded in the session, so
 * every later call returns LBS_SESS_CLOSE and reads nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "control/lbs/session.h"
#include "proto/osap_crypto.h"

struct lbs_sess {
	const struct lbs_backend *b;
	struct lbs_policy pol;
	uint32_t handshake_ms;
	uint32_t idle_ms;
	uint32_t max_addr_req;

	enum lbs_sess_state state;
	enum lbs_sess_reason reason;
	bool granted_addr;           /* an address was granted: the handshake deadline is off */
	bool admit_pending;          /* admit() said LBS_ADMIT_PENDING, no outcome yet */
	uint64_t start_ms;
	uint64_t last_ms;            /* last frame from the device, or last admission outcome */
	uint32_t addr_reqs;
	uint8_t proto;               /* the negotiated OSAP_PROTO_* bit */

	uint8_t serial[OSAP_ID_MAX]; /* first authentication: the serial of 0x1 */
	uint8_t serial_len;
	struct lbs_devid devid;      /* granted (0x8) or refreshed (0x4) */

	uint8_t mk[OSAP_KEY_LEN];    /* master key */
	uint8_t ks[OSAP_KEY_LEN];    /* session key of this connection */
	int64_t ks_expiry;
	uint8_t challenge[OSAP_CHALLENGE_LEN];   /* 0x7's, for 0x9 */

	/* the address request an admission is pending for */
	uint8_t addr_challenge[OSAP_CHALLENGE_LEN];
	struct lbs_node_addr node;
	uint32_t admit_lifetime;

	size_t rx_len;
	size_t rx_flen;              /* length of the frame in rx; 0 until its header is complete */
	uint8_t rx[OSAP_FRAME_MAX];
};

static const char *const reason_names[] = {
#define LBS_SESS_REASON_NAME(e, n, d) n,
	FOREACH_LBS_SESS_REASON(LBS_SESS_REASON_NAME)
#undef LBS_SESS_REASON_NAME
};

static const char *const reason_descs[] = {
#define LBS_SESS_REASON_DESC(e, n, d) d,
	FOREACH_LBS_SESS_REASON(LBS_SESS_REASON_DESC)
#undef LBS_SESS_REASON_DESC
};

static const char *const state_names[] = {
	[LBS_SESS_START] = "start",
	[LBS_SESS_KEYED] = "keyed",
	[LBS_SESS_GRANTED] = "granted",
	[LBS_SESS_SESSION] = "session",
	[LBS_SESS_ADMITTING] = "admitting",
	[LBS_SESS_CLOSED] = "closed",
};

const char *
lbs_sess_reason_name(enum lbs_sess_reason r)
{
	return (unsigned int)r < LBS_SESS_R_MAX ? reason_names[r] : NULL;
}

const char *
lbs_sess_reason_desc(enum lbs_sess_reason r)
{
	return (unsigned int)r < LBS_SESS_R_MAX ? reason_descs[r] : NULL;
}

const char *
lbs_sess_state_name(enum lbs_sess_state st)
{
	return (unsigned int)st <= LBS_SESS_CLOSED ? state_names[st] : NULL;
}

/* ---- life cycle ---- */

struct lbs_sess *
lbs_sess_new(const struct lbs_backend *b, const struct lbs_sess_limits *l)
{
	struct lbs_sess *s;

	if (b == NULL || !b->lookup_serial || !b->lookup_devid || !b->apply_devid ||
	    !b->store_session_key || !b->pick_node || !b->admit || !b->policy || !b->now_ms ||
	    !b->wall_s)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->b = b;
	b->policy(b->ctx, &s->pol);
	if (s->pol.proto_type == 0 || (s->pol.proto_group & OSAP_PROTO_KNOWN) == 0 ||
	    s->pol.key_lifetime == 0 || s->pol.admit_lifetime == 0) {
		free(s);
		return NULL;
	}
	s->handshake_ms = l && l->handshake_ms ? l->handshake_ms : LBS_SESS_HANDSHAKE_MS_DEFAULT;
	s->idle_ms = l && l->idle_ms ? l->idle_ms : LBS_SESS_IDLE_MS_DEFAULT;
	s->max_addr_req = l && l->max_addr_req ? l->max_addr_req : LBS_SESS_MAX_ADDR_REQ_DEFAULT;
	s->state = LBS_SESS_START;
	s->start_ms = b->now_ms(b->ctx);
	s->last_ms = s->start_ms;
	return s;
}

void
lbs_sess_free(struct lbs_sess *s)
{
	if (s == NULL)
		return;
	/* the state may be CLOSED already (a timeout while admitting) */
	if (s->admit_pending && s->b->admit_cancel)
		s->b->admit_cancel(s->b->ctx, s);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

enum lbs_sess_state
lbs_sess_state(const struct lbs_sess *s)
{
	return s->state;
}

enum lbs_sess_reason
lbs_sess_reason(const struct lbs_sess *s)
{
	return s->reason;
}

struct osap_view
lbs_sess_devid(const struct lbs_sess *s)
{
	return (struct osap_view){ s->devid.id, s->devid.len };
}

/* ---- answers ---- */

static void
close_as(struct lbs_sess *s, enum lbs_sess_reason why)
{
	s->state = LBS_SESS_CLOSED;
	s->reason = why;
	/* nothing is sealed or opened after a close: the keys need not wait for the free */
	OPENSSL_cleanse(s->mk, sizeof(s->mk));
	OPENSSL_cleanse(s->ks, sizeof(s->ks));
	OPENSSL_cleanse(s->challenge, sizeof(s->challenge));
}

static void
emit(struct lbs_sess_out *out, const struct osap_msg *m)
{
	/* Cannot fail: every caller checked for LBS_SESS_RSP_MAX octets of room. */
	int n = osap_encode(out->buf + out->len, out->cap - out->len, m);

	if (n > 0)
		out->len += (size_t)n;
}

/*
 * Refuse with the typed response @p rsp (status only, nothing sealed) and
 * close. unsupported_protocol carries the server's type and group (the
 * draft's inconsistent negotiation).
 */
static void
refuse(struct lbs_sess *s, struct lbs_sess_out *out, enum osap_type rsp, uint8_t status,
       enum lbs_sess_reason why)
{
	struct osap_msg m;

	osap_msg_init(&m, rsp);
	switch (rsp) {
	case OSAP_AUTH_ECDH_RSP:
		m.ecdh_rsp.status = status;
		if (status == OSAP_ST_UNSUPPORTED_PROTOCOL) {
			m.ecdh_rsp.proto_type = s->pol.proto_type;
			m.ecdh_rsp.proto_group = s->pol.proto_group & OSAP_PROTO_KNOWN;
		}
		break;
	case OSAP_REFRESH_RSP:
		m.refresh_rsp.status = status;
		if (status == OSAP_ST_UNSUPPORTED_PROTOCOL) {
			m.refresh_rsp.proto_type = s->pol.proto_type;
			m.refresh_rsp.proto_group = s->pol.proto_group & OSAP_PROTO_KNOWN;
		}
		break;
	case OSAP_DEVID_RSP:
		m.devid_rsp.status = status;
		break;
	case OSAP_ADDR_RSP:
		m.addr_rsp.status = status;
		break;
	default:
		break;
	}
	emit(out, &m);
	close_as(s, why);
}

/* Refuse with an ERROR (its reason text is the status name) and close. */
static void
refuse_error(struct lbs_sess *s, struct lbs_sess_out *out, uint8_t code, uint16_t retry_after,
	     enum lbs_sess_reason why)
{
	const char *text = osap_status_name(code);
	struct osap_msg m;

	osap_msg_init(&m, OSAP_ERROR);
	m.error.code = code;
	m.error.retry_after = retry_after;
	m.error.reason = (struct osap_view){ (const uint8_t *)text, text ? strlen(text) : 0 };
	emit(out, &m);
	close_as(s, why);
}

/* Seal @p pt under @p key as @p m's application payload and append the frame. */
static int
emit_sealed(struct lbs_sess *s, struct lbs_sess_out *out, const uint8_t key[OSAP_KEY_LEN],
	    const struct osap_msg *m, const uint8_t *pt, size_t pt_len)
{
	int n = osap_seal_msg(s->b->aead, key, NULL, m, pt, pt_len, out->buf + out->len,
			      out->cap - out->len);

	if (n < 0)
		return n;
	out->len += (size_t)n;
	return 0;
}

/* A fresh session key for the DevID, stored with its expiry. */
static int
new_session_key(struct lbs_sess *s)
{
	const struct lbs_backend *b = s->b;
	int r;

	r = osap_gen_session_key(s->ks);
	if (r < 0)
		return r;
	s->ks_expiry = b->wall_s(b->ctx) + (int64_t)s->pol.key_lifetime;
	return b->store_session_key(b->ctx, s->devid.id, s->devid.len, s->ks, s->ks_expiry);
}

/* 0x6 or 0x8 ok: a key grant (challenge, session key, lifetime, DevID) under the master key. */
static int
send_key_grant(struct lbs_sess *s, struct lbs_sess_out *out, const struct osap_msg *m,
	       const uint8_t challenge[OSAP_CHALLENGE_LEN])
{
	struct osap_key_grant g = {
		.lifetime = s->pol.key_lifetime,
		.devid = { s->devid.id, s->devid.len },
	};
	uint8_t pt[OSAP_KEY_GRANT_MAX];
	int n, r;

	memcpy(g.challenge, challenge, OSAP_CHALLENGE_LEN);
	memcpy(g.session_key, s->ks, OSAP_KEY_LEN);
	n = osap_encode_key_grant(pt, sizeof(pt), &g);
	r = n < 0 ? n : emit_sealed(s, out, s->mk, m, pt, (size_t)n);
	OPENSSL_cleanse(&g, sizeof(g));
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

/* 0xB ok: the address of the admitted node, under the session key. */
static void
send_addr_grant(struct lbs_sess *s, struct lbs_sess_out *out)
{
	struct osap_addr_grant g = {
		.family = s->node.family,
		.port = s->node.port,
		.proto_type = s->pol.proto_type,
		.proto = s->proto,
		.lifetime = s->admit_lifetime,
	};
	uint8_t pt[OSAP_ADDR_GRANT_V6_LEN];
	struct osap_msg m;
	int n;

	memcpy(g.challenge, s->addr_challenge, OSAP_CHALLENGE_LEN);
	memcpy(g.addr, s->node.addr, sizeof(g.addr));
	osap_msg_init(&m, OSAP_ADDR_RSP);
	m.addr_rsp.status = OSAP_ST_OK;
	n = osap_encode_addr_grant(pt, sizeof(pt), &g);
	if (n < 0 || emit_sealed(s, out, s->ks, &m, pt, (size_t)n) < 0) {
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		return;
	}
	s->granted_addr = true;
	s->state = LBS_SESS_SESSION;
}

/* ---- the messages ---- */

static bool
version_ok(const struct osap_msg *m)
{
	return m->version.form == OSAP_VERSION_FORM && m->version.high == OSAP_VERSION_HIGH;
}

/*
 * Negotiation of 0x1 and 0x4: the ECDH flag, the protocol type, and the most
 * secure common protocol. @return that protocol bit, or 0 (inconsistent).
 */
static uint8_t
negotiate(const struct lbs_sess *s, const struct osap_msg *m, uint8_t type, uint8_t group)
{
	if (!(m->flags & OSAP_FLAG_ECDH) || type != s->pol.proto_type)
		return 0;
	return osap_select_protocol(group, s->pol.proto_group);
}

/* The optional per-device limiter. @return true if the device was refused (and closed). */
static bool
throttled(struct lbs_sess *s, struct lbs_sess_out *out, const struct osap_msg *m,
	  struct osap_view id)
{
	uint16_t retry = 0;

	if (s->b->throttle == NULL ||
	    s->b->throttle(s->b->ctx, m->type, id.p, id.len, &retry) != -EAGAIN)
		return false;
	refuse_error(s, out, OSAP_ST_RATE_LIMITED, retry, LBS_SESS_R_RATE_LIMITED);
	return true;
}

/* 0x1 in START: decode (done), VERSION, negotiation, lookup, seal, block; then ECDH. */
static void
on_ecdh_req(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	    struct lbs_sess_out *out)
{
	static const uint8_t dummy_key[OSAP_KEY_LEN];
	const struct lbs_backend *b = s->b;
	const struct osap_ecdh_req *q = &m->ecdh_req;
	uint8_t dev_pub[OSAP_EC_PUB_LEN], lbs_pub[OSAP_EC_PUB_LEN];
	struct lbs_dev_rec rec = { 0 };
	struct osap_ecdh *lk;
	struct osap_msg rsp;
	bool known;
	uint8_t chosen;
	int r, n;

	if (!version_ok(m)) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_UNSUPPORTED_VERSION,
		       LBS_SESS_R_BAD_VERSION);
		return;
	}
	chosen = negotiate(s, m, q->proto_type, q->proto_group);
	if (chosen == 0) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_UNSUPPORTED_PROTOCOL,
		       LBS_SESS_R_UNSUPPORTED);
		return;
	}
	if (throttled(s, out, m, q->serial))
		return;
	r = b->lookup_serial(b->ctx, q->serial.p, q->serial.len, &rec);
	if (r < 0 && r != -ENOENT) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	known = r == 0;
	/* An unknown serial is opened too (under a key nobody has): same work, same answer. */
	n = osap_open_msg(b->aead, known ? rec.key : dummy_key, f, m, dev_pub, sizeof(dev_pub));
	if (!known || n == -EBADMSG) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_AUTH_FAILED,
		       known ? LBS_SESS_R_AUTH_FAILED : LBS_SESS_R_UNKNOWN_DEVICE);
		goto out;
	}
	if (n != OSAP_EC_PUB_LEN) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	if (rec.blocked) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_DEVICE_BLOCKED, LBS_SESS_R_BLOCKED);
		goto out;
	}

	/* The ephemeral key pair lives for this function only (docs/osap.md 10.2). */
	lk = osap_ecdh_generate();
	r = lk ? osap_ecdh_master(lk, dev_pub, rec.key, s->mk) : -ENOMEM;
	if (r == 0)
		r = osap_ecdh_public(lk, lbs_pub);
	osap_ecdh_free(lk);
	if (r < 0) {
		/* a device key that is no point of the curve is the device's fault */
		refuse(s, out, OSAP_AUTH_ECDH_RSP,
		       r == -EINVAL ? OSAP_ST_AUTH_FAILED : OSAP_ST_INTERNAL,
		       r == -EINVAL ? LBS_SESS_R_AUTH_FAILED : LBS_SESS_R_INTERNAL);
		goto out;
	}
	osap_msg_init(&rsp, OSAP_AUTH_ECDH_RSP);
	rsp.ecdh_rsp = (struct osap_ecdh_rsp){ OSAP_ST_OK, q->proto_type, chosen };
	if (emit_sealed(s, out, rec.key, &rsp, lbs_pub, sizeof(lbs_pub)) < 0) {
		refuse(s, out, OSAP_AUTH_ECDH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	memcpy(s->serial, q->serial.p, q->serial.len);
	s->serial_len = (uint8_t)q->serial.len;
	s->proto = chosen;
	s->state = LBS_SESS_KEYED;
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
}

/* 0x4 in START: decode, VERSION, negotiation, lookup, seal, block; then a new session key. */
static void
on_refresh_req(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	       struct lbs_sess_out *out)
{
	const struct lbs_backend *b = s->b;
	const struct osap_refresh_req *q = &m->refresh_req;
	uint8_t challenge[OSAP_CHALLENGE_LEN];
	struct lbs_dev_rec rec = { 0 };
	struct osap_msg rsp;
	uint8_t chosen;
	int r, n;

	if (!version_ok(m)) {
		refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_UNSUPPORTED_VERSION,
		       LBS_SESS_R_BAD_VERSION);
		return;
	}
	chosen = negotiate(s, m, q->proto_type, q->proto_group);
	if (chosen == 0) {
		refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_UNSUPPORTED_PROTOCOL,
		       LBS_SESS_R_UNSUPPORTED);
		return;
	}
	if (throttled(s, out, m, q->devid))
		return;
	r = b->lookup_devid(b->ctx, q->devid.p, q->devid.len, &rec);
	if (r < 0) {
		if (r == -ENOENT)
			refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_UNKNOWN_DEVICE,
			       LBS_SESS_R_UNKNOWN_DEVICE);
		else
			refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	n = osap_open_msg(b->aead, rec.key, f, m, challenge, sizeof(challenge));
	if (n != OSAP_CHALLENGE_LEN) {
		if (n == -EBADMSG)
			refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_AUTH_FAILED,
			       LBS_SESS_R_AUTH_FAILED);
		else
			refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	if (rec.blocked) {
		refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_DEVICE_BLOCKED, LBS_SESS_R_BLOCKED);
		goto out;
	}
	memcpy(s->devid.id, q->devid.p, q->devid.len);
	s->devid.len = (uint8_t)q->devid.len;
	memcpy(s->mk, rec.key, OSAP_KEY_LEN);
	s->proto = chosen;
	osap_msg_init(&rsp, OSAP_REFRESH_RSP);
	rsp.refresh_rsp = (struct osap_refresh_rsp){ OSAP_ST_OK, q->proto_type, chosen };
	if (new_session_key(s) < 0 || send_key_grant(s, out, &rsp, challenge) < 0) {
		refuse(s, out, OSAP_REFRESH_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		goto out;
	}
	s->state = LBS_SESS_SESSION;
out:
	OPENSSL_cleanse(&rec, sizeof(rec));
}

/*
 * What 0x7, 0x9 and 0xA share after the state check: VERSION, then the ECDH
 * flag (refused in an ERROR: they have no typed answer for it, docs/osap.md
 * section 3), then the seal under @p key. @return the plaintext length, or
 * -1 after refusing (and closing).
 */
static int
open_request(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	     const uint8_t key[OSAP_KEY_LEN], uint8_t *pt, size_t cap, struct lbs_sess_out *out)
{
	int n;

	if (!version_ok(m)) {
		refuse_error(s, out, OSAP_ST_UNSUPPORTED_VERSION, 0, LBS_SESS_R_BAD_VERSION);
		return -1;
	}
	if (!(m->flags & OSAP_FLAG_ECDH)) {
		refuse_error(s, out, OSAP_ST_UNSUPPORTED_PROTOCOL, 0, LBS_SESS_R_UNSUPPORTED);
		return -1;
	}
	n = osap_open_msg(s->b->aead, key, f, m, pt, cap);
	if (n < 0) {
		if (n == -EBADMSG)
			refuse_error(s, out, OSAP_ST_AUTH_FAILED, 0, LBS_SESS_R_AUTH_FAILED);
		else
			refuse_error(s, out, OSAP_ST_INTERNAL, 0, LBS_SESS_R_INTERNAL);
		return -1;
	}
	return n;
}

/* 0x7 in KEYED: the device proved the master key; DevID and session key. */
static void
on_devid_req(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	     struct lbs_sess_out *out)
{
	const struct lbs_backend *b = s->b;
	struct osap_msg rsp;
	int n;

	n = open_request(s, f, m, s->mk, s->challenge, sizeof(s->challenge), out);
	if (n < 0)
		return;
	if (n != OSAP_CHALLENGE_LEN ||
	    b->apply_devid(b->ctx, s->serial, s->serial_len, s->mk, &s->devid) < 0 ||
	    s->devid.len == 0 || s->devid.len > OSAP_ID_MAX || new_session_key(s) < 0) {
		refuse(s, out, OSAP_DEVID_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		return;
	}
	osap_msg_init(&rsp, OSAP_DEVID_RSP);
	rsp.devid_rsp.status = OSAP_ST_OK;
	if (send_key_grant(s, out, &rsp, s->challenge) < 0) {
		refuse(s, out, OSAP_DEVID_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		return;
	}
	s->state = LBS_SESS_GRANTED;
}

/* 0x9 in GRANTED: the DevID just granted and the 0x7 challenge under the session key. */
static void
on_devid_cfm(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	     struct lbs_sess_out *out)
{
	const struct osap_view id = m->devid_cfm.devid;
	uint8_t pt[OSAP_CHALLENGE_LEN];
	int n;

	n = open_request(s, f, m, s->ks, pt, sizeof(pt), out);
	if (n < 0)
		return;
	if (n != OSAP_CHALLENGE_LEN || !osap_ct_equal(pt, s->challenge, OSAP_CHALLENGE_LEN) ||
	    id.len != s->devid.len || memcmp(id.p, s->devid.id, id.len) != 0) {
		refuse_error(s, out, OSAP_ST_AUTH_FAILED, 0, LBS_SESS_R_AUTH_FAILED);
		return;
	}
	s->state = LBS_SESS_SESSION;   /* no answer */
}

/* 0xA in GRANTED (the confirmation implied) or SESSION: pick a node, admit, answer. */
static void
on_addr_req(struct lbs_sess *s, const uint8_t *f, const struct osap_msg *m,
	    struct lbs_sess_out *out)
{
	const struct lbs_backend *b = s->b;
	uint8_t pt[OSAP_ADDR_QUERY_LEN];
	struct osap_addr_query q;
	struct lbs_admission a;
	int64_t now, left;
	int n, r;

	if (++s->addr_reqs > s->max_addr_req) {
		refuse_error(s, out, OSAP_ST_RATE_LIMITED, 0, LBS_SESS_R_RATE_LIMITED);
		return;
	}
	n = open_request(s, f, m, s->ks, pt, sizeof(pt), out);
	if (n < 0)
		return;
	if (osap_decode_addr_query(pt, (size_t)n, &q) < 0) {
		refuse_error(s, out, OSAP_ST_MALFORMED, 0, LBS_SESS_R_MALFORMED);
		return;
	}
	now = b->wall_s(b->ctx);
	if (now >= s->ks_expiry) {
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_KEY_EXPIRED, LBS_SESS_R_KEY_EXPIRED);
		return;
	}
	s->state = LBS_SESS_SESSION;
	memset(&s->node, 0, sizeof(s->node));
	r = b->pick_node(b->ctx, s->devid.id, s->devid.len, q.family, s->pol.proto_type, s->proto,
			 &s->node);
	if (r == -ENOENT || r == -EHOSTDOWN || r == -EAGAIN) {
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_NO_ACCESS_NODE, LBS_SESS_R_NO_NODE);
		return;
	}
	if (r < 0 || s->node.port == 0 ||
	    (s->node.family != OSAP_FAMILY_IPV4 && s->node.family != OSAP_FAMILY_IPV6) ||
	    (q.family != OSAP_FAMILY_ANY && q.family != s->node.family)) {
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
		return;
	}
	memcpy(s->addr_challenge, q.challenge, OSAP_CHALLENGE_LEN);
	/* the node holds the admission no longer than the session key lives */
	left = s->ks_expiry - now;
	s->admit_lifetime = left < (int64_t)s->pol.admit_lifetime ? (uint32_t)left
								  : s->pol.admit_lifetime;
	a = (struct lbs_admission){
		.devid = s->devid.id,
		.devid_len = s->devid.len,
		.session_key = s->ks,
		.key_expiry = s->ks_expiry,
		.lifetime = s->admit_lifetime,
		.proto_type = s->pol.proto_type,
		.proto = s->proto,
		.node = &s->node,
	};
	r = b->admit(b->ctx, s, &a);
	if (r == 0)
		send_addr_grant(s, out);
	else if (r == LBS_ADMIT_PENDING) {
		s->state = LBS_SESS_ADMITTING;
		s->admit_pending = true;
	}
	else if (r < 0)
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_NO_ACCESS_NODE, LBS_SESS_R_ADMIT_REFUSED);
	else
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_INTERNAL, LBS_SESS_R_INTERNAL);
}

/* One whole frame of rx. */
static void
on_frame(struct lbs_sess *s, const uint8_t *f, size_t flen, struct lbs_sess_out *out)
{
	struct osap_msg m;
	int r = osap_decode(f, flen, &m);

	s->last_ms = s->b->now_ms(s->b->ctx);
	if (r != (int)flen) {
		refuse_error(s, out, OSAP_ST_MALFORMED, 0, LBS_SESS_R_MALFORMED);
		return;
	}
	if (m.type == OSAP_ERROR) {
		/* the device closes after its ERROR; answering it would be noise */
		close_as(s, LBS_SESS_R_PEER_ERROR);
		return;
	}
	if (s->state == LBS_SESS_START && m.type == OSAP_AUTH_ECDH_REQ)
		on_ecdh_req(s, f, &m, out);
	else if (s->state == LBS_SESS_START && m.type == OSAP_REFRESH_REQ)
		on_refresh_req(s, f, &m, out);
	else if (s->state == LBS_SESS_KEYED && m.type == OSAP_DEVID_REQ)
		on_devid_req(s, f, &m, out);
	else if (s->state == LBS_SESS_GRANTED && m.type == OSAP_DEVID_CFM)
		on_devid_cfm(s, f, &m, out);
	else if ((s->state == LBS_SESS_GRANTED || s->state == LBS_SESS_SESSION) &&
		 m.type == OSAP_ADDR_REQ)
		on_addr_req(s, f, &m, out);
	else
		refuse_error(s, out, OSAP_ST_UNEXPECTED, 0, LBS_SESS_R_OUT_OF_ORDER);
}

/* ---- feeding ---- */

static int
action(const struct lbs_sess *s)
{
	if (s->state == LBS_SESS_CLOSED)
		return LBS_SESS_CLOSE;
	return s->state == LBS_SESS_ADMITTING ? LBS_SESS_WAIT : LBS_SESS_CONTINUE;
}

static int
finish(const struct lbs_sess *s, struct lbs_sess_out *out)
{
	out->reason = s->reason;
	return action(s);
}

int
lbs_sess_input(struct lbs_sess *s, const uint8_t *buf, size_t len, struct lbs_sess_out *out)
{
	size_t pos = 0;
	int r;

	if (s == NULL || out == NULL || (buf == NULL && len > 0) || out->len > out->cap)
		return -EINVAL;
	out->consumed = 0;
	if (s->state == LBS_SESS_CLOSED || s->state == LBS_SESS_ADMITTING)
		return finish(s, out);
	if (out->buf == NULL || out->cap - out->len < LBS_SESS_RSP_MAX)
		return -ENOSPC;

	while (s->state != LBS_SESS_CLOSED && s->state != LBS_SESS_ADMITTING) {
		if (s->rx_flen && s->rx_len == s->rx_flen) {
			if (out->cap - out->len < LBS_SESS_RSP_MAX)
				break;   /* kept until the caller sent out */
			on_frame(s, s->rx, s->rx_flen, out);
			s->rx_len = 0;
			s->rx_flen = 0;
			continue;
		}
		if (pos == len)
			break;
		if (s->rx_flen == 0) {
			s->rx[s->rx_len++] = buf[pos++];
			r = osap_frame_len(s->rx, s->rx_len);
			if (r == -EAGAIN)
				continue;
			if (r < 0) {
				/* the stream cannot be resynchronised: refuse at once */
				refuse_error(s, out, OSAP_ST_MALFORMED, 0,
					     r == -EMSGSIZE ? LBS_SESS_R_TOO_BIG
							    : LBS_SESS_R_MALFORMED);
				break;
			}
			s->rx_flen = (size_t)r;
		} else {
			size_t n = s->rx_flen - s->rx_len;

			if (n > len - pos)
				n = len - pos;
			memcpy(s->rx + s->rx_len, buf + pos, n);
			s->rx_len += n;
			pos += n;
		}
	}
	out->consumed = pos;
	return finish(s, out);
}

int
lbs_sess_admitted(struct lbs_sess *s, bool ok, struct lbs_sess_out *out)
{
	if (s == NULL || out == NULL || s->state != LBS_SESS_ADMITTING || out->len > out->cap)
		return -EINVAL;
	out->consumed = 0;
	if (out->buf == NULL || out->cap - out->len < LBS_SESS_RSP_MAX)
		return -ENOSPC;
	s->admit_pending = false;
	s->last_ms = s->b->now_ms(s->b->ctx);
	if (ok)
		send_addr_grant(s, out);
	else
		refuse(s, out, OSAP_ADDR_RSP, OSAP_ST_NO_ACCESS_NODE, LBS_SESS_R_ADMIT_REFUSED);
	return finish(s, out);
}

/* ---- time ---- */

uint64_t
lbs_sess_deadline(const struct lbs_sess *s)
{
	uint64_t idle = s->last_ms + s->idle_ms;
	uint64_t hs = s->start_ms + s->handshake_ms;

	return !s->granted_addr && hs < idle ? hs : idle;
}

int
lbs_sess_tick(struct lbs_sess *s, struct lbs_sess_out *out)
{
	if (s == NULL)
		return -EINVAL;
	if (s->state != LBS_SESS_CLOSED && s->b->now_ms(s->b->ctx) >= lbs_sess_deadline(s))
		close_as(s, LBS_SESS_R_TIMEOUT);
	if (out != NULL) {
		out->consumed = 0;
		out->reason = s->reason;
	}
	return action(s);
}
