/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the LBS side of an OSAP connection
 * (control/lbs/session.c): arbitrary octets, split at points drawn from the
 * input, fed into a session whose backend is a fake registry of one device
 * (the serial number, share key, DevID and master key of docs/osap.md 14).
 *
 * An input is
 *   octet 0  setup: bits 0-1 admission (0 at once, 1 pending, 2 refused,
 *            3 pending and answered by the ADMIT steps only); bit 2 no node
 *            available; bit 3 script mode; bit 4 an output buffer of exactly
 *            LBS_SESS_RSP_MAX octets (every answer makes the session pause);
 *            bit 5 the device is blocked; bit 6 a throttled device
 *   octet 1  seed of the split points
 *   the rest raw mode: the stream itself; script mode: steps, [op][args]
 *            (a short argument reads as zeros):
 *     0x0T a b n pt[n]  a frame of type T, sealed under the key the device
 *                       holds for it (share key for 0x1, master key for
 *                       0x4/0x7, session key for 0x9/0xA); a bit 0: no ECDH
 *                       flag, bit 1: FORM 2, bit 2: the key off by one bit,
 *                       bit 3: an unknown serial / DevID, bit 4: protocol
 *                       type 2; b: the group offered, or the family asked;
 *                       n = 0: the plaintext a device would seal (its public
 *                       key, a challenge, an address query), else pt as is
 *     0x10 hi lo body   raw octets, hi * 256 + lo of them
 *     0x20 / 0x21       the pending admission succeeds / is refused
 *     0x30 t            t * 100 ms pass, then the timer fires
 *     0x40 t            the wall clock moves t * 10 s (session-key expiry)
 * The script's device plays along: it derives the master key from a 0x2 ok
 * (with the private scalar of docs/osap.md 14.1) and takes the session key
 * and DevID from a 0x8 or 0x6 ok, so the steps can reach every state.
 *
 * Checked, abort() on failure: every call returns an action (never an
 * error), out and consumed stay in bounds; every octet the session writes
 * is a whole, decodable answer (0x2, 0x6, 0x8, 0xB or ERROR) with the ECDH
 * flag; any refusal (an ERROR or a status other than ok) comes with
 * LBS_SESS_CLOSE in the same call; the reason is ok exactly while the
 * session is open; a closed session reads nothing more; WAIT only when the
 * backend left an admission pending. ASan and the leak checker cover the
 * rest (the session is freed at the end of every input, open or not).
 * FUZZ_LBS_SESSION_TRACE=1 in the environment prints every answer and how
 * each input ended.
 *
 * fuzz-sources: control/lbs/session.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lbs/session.h"
#include "proto/osap.h"
#include "proto/osap_crypto.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char serial[] = "SN0123456789";
static const char devid0[] = "5f0c3e9a7b21d48e6a0b13";
static const uint8_t share_key[OSAP_KEY_LEN] = {
	0xd0, 0x8d, 0x4d, 0xdd, 0x87, 0x85, 0x38, 0x00,
	0xd8, 0x48, 0x65, 0x62, 0xd9, 0x0a, 0xcc, 0x44,
};
static const uint8_t master_key0[OSAP_KEY_LEN] = {
	0xe8, 0x9f, 0xd6, 0x94, 0xc5, 0x54, 0x5c, 0x30,
	0x51, 0x09, 0xea, 0x4d, 0xf7, 0xf5, 0x63, 0x01,
};

/* ---- the fake backend: one device ---- */

static struct {
	uint8_t setup;
	bool blocked;
	uint8_t devid[OSAP_ID_MAX];
	size_t devid_len;
	uint8_t mk[OSAP_KEY_LEN];
	uint64_t now_ms;
	int64_t wall;
	struct lbs_sess *pending;
} be;

static int
be_lookup_serial(void *ctx, const uint8_t *s, size_t len, struct lbs_dev_rec *rec)
{
	(void)ctx;
	if (len != sizeof(serial) - 1 || memcmp(s, serial, len) != 0)
		return -ENOENT;
	memcpy(rec->key, share_key, OSAP_KEY_LEN);
	rec->blocked = be.blocked;
	return 0;
}

static int
be_lookup_devid(void *ctx, const uint8_t *d, size_t len, struct lbs_dev_rec *rec)
{
	(void)ctx;
	if (len != be.devid_len || memcmp(d, be.devid, len) != 0)
		return -ENOENT;
	memcpy(rec->key, be.mk, OSAP_KEY_LEN);
	rec->blocked = be.blocked;
	return 0;
}

static int
be_throttle(void *ctx, uint8_t type, const uint8_t *id, size_t len, uint16_t *retry_after)
{
	(void)ctx, (void)type, (void)id, (void)len;
	*retry_after = 5;
	return be.setup & 0x40 ? -EAGAIN : 0;
}

static int
be_apply_devid(void *ctx, const uint8_t *s, size_t len, const uint8_t mk[OSAP_KEY_LEN],
	       struct lbs_devid *d)
{
	(void)ctx;
	CHECK(len == sizeof(serial) - 1 && memcmp(s, serial, len) == 0);
	memcpy(be.mk, mk, OSAP_KEY_LEN);
	memcpy(d->id, be.devid, be.devid_len);
	d->len = (uint8_t)be.devid_len;
	return 0;
}

static int
be_store_session_key(void *ctx, const uint8_t *d, size_t len, const uint8_t key[OSAP_KEY_LEN],
		     int64_t expiry)
{
	(void)ctx, (void)key, (void)expiry;
	CHECK(len == be.devid_len && memcmp(d, be.devid, len) == 0);
	return 0;
}

static int
be_pick_node(void *ctx, const uint8_t *d, size_t len, uint8_t family, uint8_t proto_type,
	     uint8_t proto, struct lbs_node_addr *node)
{
	(void)ctx, (void)d, (void)len, (void)proto_type;
	CHECK(proto == OSAP_PROTO_PLAIN || proto == OSAP_PROTO_SECURE);
	if (be.setup & 0x04)
		return -EHOSTDOWN;
	node->family = family == OSAP_FAMILY_IPV6 ? OSAP_FAMILY_IPV6 : OSAP_FAMILY_IPV4;
	node->addr[0] = 192, node->addr[3] = 10;
	node->port = proto == OSAP_PROTO_SECURE ? 8883 : 1883;
	return 0;
}

static int
be_admit(void *ctx, struct lbs_sess *s, const struct lbs_admission *a)
{
	(void)ctx;
	CHECK(a->devid_len == be.devid_len && a->lifetime > 0);
	switch (be.setup & 3) {
	case 0:
		return 0;
	case 2:
		return -EBUSY;
	default:
		be.pending = s;
		return LBS_ADMIT_PENDING;
	}
}

static void
be_admit_cancel(void *ctx, struct lbs_sess *s)
{
	(void)ctx;
	CHECK(s == be.pending);
	be.pending = NULL;
}

static void
be_policy(void *ctx, struct lbs_policy *p)
{
	(void)ctx;
	*p = (struct lbs_policy){ OSAP_PROTO_TYPE_MQTTSN, OSAP_PROTO_KNOWN, 600, 300 };
}

static uint64_t
be_now_ms(void *ctx)
{
	(void)ctx;
	return be.now_ms;
}

static int64_t
be_wall_s(void *ctx)
{
	(void)ctx;
	return be.wall;
}

static const struct lbs_backend backend = {
	.lookup_serial = be_lookup_serial,
	.lookup_devid = be_lookup_devid,
	.throttle = be_throttle,
	.apply_devid = be_apply_devid,
	.store_session_key = be_store_session_key,
	.pick_node = be_pick_node,
	.admit = be_admit,
	.admit_cancel = be_admit_cancel,
	.policy = be_policy,
	.now_ms = be_now_ms,
	.wall_s = be_wall_s,
};

/* ---- the device of script mode ---- */

static struct {
	struct osap_ecdh *k;           /* docs/osap.md 14.1's d_dev, made once */
	uint8_t pub[OSAP_EC_PUB_LEN];
	uint8_t mk[OSAP_KEY_LEN];
	uint8_t ks[OSAP_KEY_LEN];
	uint8_t devid[OSAP_ID_MAX];
	size_t devid_len;
	uint8_t ch[OSAP_CHALLENGE_LEN];
} dv;

/* What the device learns from one answer. */
static void
device_reads(const uint8_t *f, const struct osap_msg *m)
{
	uint8_t pt[OSAP_FRAME_MAX];
	struct osap_key_grant g;
	int n;

	if (osap_msg_status(m) != OSAP_ST_OK || m->sealed.len == 0)
		return;
	if (m->type == OSAP_AUTH_ECDH_RSP) {
		n = osap_open_msg(NULL, share_key, f, m, pt, sizeof(pt));
		CHECK(n == OSAP_EC_PUB_LEN);
		CHECK(osap_ecdh_master(dv.k, pt, share_key, dv.mk) == 0);
	} else if (m->type == OSAP_DEVID_RSP || m->type == OSAP_REFRESH_RSP) {
		n = osap_open_msg(NULL, dv.mk, f, m, pt, sizeof(pt));
		CHECK(n > 0 && osap_decode_key_grant(pt, (size_t)n, &g) == 0);
		memcpy(dv.ks, g.session_key, OSAP_KEY_LEN);
		memcpy(dv.devid, g.devid.p, g.devid.len);
		dv.devid_len = g.devid.len;
	}
}

/* ---- feeding ---- */

static uint8_t obuf[8192];
static uint32_t rnd;
static int trace = -1;

static uint32_t
next_rnd(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	return rnd;
}

/* Check one call's output; @return false when the session closed. */
static bool
check_out(struct lbs_sess *s, int act, const struct lbs_sess_out *o, size_t len)
{
	bool refused = false;
	size_t pos = 0;

	CHECK(act == LBS_SESS_CONTINUE || act == LBS_SESS_WAIT || act == LBS_SESS_CLOSE);
	CHECK(o->len <= o->cap && o->consumed <= len);
	while (pos < o->len) {
		struct osap_msg m;
		int n = osap_decode(o->buf + pos, o->len - pos, &m);
		int st;

		CHECK(n > 0);
		CHECK(m.type == OSAP_AUTH_ECDH_RSP || m.type == OSAP_REFRESH_RSP ||
		      m.type == OSAP_DEVID_RSP || m.type == OSAP_ADDR_RSP || m.type == OSAP_ERROR);
		CHECK(m.flags == OSAP_FLAG_ECDH);
		st = osap_msg_status(&m);
		if (trace)
			fprintf(stderr, "  <- %s %s\n", osap_type_name(m.type),
				osap_status_name(st));
		if (st != OSAP_ST_OK)
			refused = true;
		device_reads(o->buf + pos, &m);
		pos += (size_t)n;
	}
	if (refused)
		CHECK(act == LBS_SESS_CLOSE);
	CHECK((act == LBS_SESS_CLOSE) == (lbs_sess_state(s) == LBS_SESS_CLOSED));
	CHECK((o->reason == LBS_SESS_R_OK) == (act != LBS_SESS_CLOSE));
	CHECK(lbs_sess_reason_name(o->reason) != NULL);
	if (act == LBS_SESS_WAIT)
		CHECK((be.setup & 3) == 1 || (be.setup & 3) == 3);
	return act != LBS_SESS_CLOSE;
}

static void
out_init(struct lbs_sess_out *o)
{
	*o = (struct lbs_sess_out){
		.buf = obuf,
		.cap = be.setup & 0x10 ? LBS_SESS_RSP_MAX : sizeof(obuf),
	};
}

/* Resolve a pending admission; @return false when the session closed. */
static bool
admit(struct lbs_sess *s, bool ok)
{
	struct lbs_sess_out o;
	int act;

	if (be.pending == NULL)
		return lbs_sess_state(s) != LBS_SESS_CLOSED;
	out_init(&o);
	act = lbs_sess_admitted(s, ok, &o);
	be.pending = NULL;
	return check_out(s, act, &o, 0);
}

/*
 * Feed @p len octets in chunks drawn from rnd, as a listener would: what the
 * session leaves unconsumed is offered again after out was sent, or after
 * the admission (mode 1: resolved here; mode 3: left to the script).
 * @return false when the session closed.
 */
static bool
feed(struct lbs_sess *s, const uint8_t *p, size_t len)
{
	struct lbs_sess_out o;
	size_t chunk;
	int act, stuck = 0;

	while (len > 0) {
		uint32_t r = next_rnd();

		chunk = r % 8 == 0 ? len : 1 + (r >> 3) % 64;
		if (chunk > len)
			chunk = len;
		out_init(&o);
		act = lbs_sess_input(s, p, chunk, &o);
		if (!check_out(s, act, &o, chunk))
			return false;
		p += o.consumed;
		len -= o.consumed;
		if (act == LBS_SESS_WAIT) {
			if ((be.setup & 3) == 3)
				return true;   /* the rest of this piece is dropped */
			if (!admit(s, next_rnd() % 4 != 0))
				return false;
		}
		/* progress: a call consumes something, or the next one (with room) does */
		stuck = o.consumed ? 0 : stuck + 1;
		CHECK(stuck < 3);
	}
	/* a frame kept back for want of room is answered now */
	out_init(&o);
	act = lbs_sess_input(s, NULL, 0, &o);
	return check_out(s, act, &o, 0);
}

/* A step "0x0T a b n pt[n]": a frame of type T the device seals. */
static bool
sealed_step(struct lbs_sess *s, uint8_t type, uint8_t a, uint8_t b, const uint8_t *pt, size_t n)
{
	uint8_t frame[OSAP_FRAME_MAX], key[OSAP_KEY_LEN], dflt[OSAP_EC_PUB_LEN] = { 0 };
	const uint8_t *key0;
	struct osap_view id;
	struct osap_msg m;
	int fl;

	osap_msg_init(&m, type);
	if (a & 0x01)
		m.flags = 0;
	if (a & 0x02)
		m.version.form = 2;
	id = a & 0x08 ? (struct osap_view){ (const uint8_t *)"nobody", 6 }
		      : (struct osap_view){ dv.devid, dv.devid_len };
	switch (type) {
	case OSAP_AUTH_ECDH_REQ:
		key0 = share_key;
		m.ecdh_req = (struct osap_ecdh_req){ a & 0x10 ? 2 : 1, b,
			a & 0x08 ? id : (struct osap_view){ (const uint8_t *)serial, 12 } };
		memcpy(dflt, dv.pub, sizeof(dv.pub));
		break;
	case OSAP_REFRESH_REQ:
		key0 = dv.mk;
		m.refresh_req = (struct osap_refresh_req){ a & 0x10 ? 2 : 1, b, id };
		break;
	case OSAP_DEVID_REQ:
		key0 = dv.mk;
		break;
	case OSAP_DEVID_CFM:
		key0 = dv.ks;
		m.devid_cfm.devid = id;
		break;
	case OSAP_ADDR_REQ:
		key0 = dv.ks;
		break;
	default:
		key0 = dv.ks;   /* a type the device never sends: osap_seal_msg decides */
		break;
	}
	if (type == OSAP_REFRESH_REQ || type == OSAP_DEVID_REQ) {
		memset(dv.ch, b, sizeof(dv.ch));   /* the challenge 0x9 repeats */
		memcpy(dflt, dv.ch, sizeof(dv.ch));
	} else if (type == OSAP_DEVID_CFM) {
		memcpy(dflt, dv.ch, sizeof(dv.ch));
	} else if (type == OSAP_ADDR_REQ) {
		memset(dflt, b, OSAP_CHALLENGE_LEN);
		dflt[OSAP_CHALLENGE_LEN] = b % 3;
	}
	if (n == 0) {
		pt = dflt;
		n = type == OSAP_AUTH_ECDH_REQ ? OSAP_EC_PUB_LEN
		  : type == OSAP_ADDR_REQ ? OSAP_ADDR_QUERY_LEN : OSAP_CHALLENGE_LEN;
	}
	memcpy(key, key0, sizeof(key));
	if (a & 0x04)
		key[0] ^= 1;
	fl = osap_seal_msg(NULL, key, NULL, &m, pt, n, frame, sizeof(frame));
	if (fl < 0)
		return lbs_sess_state(s) != LBS_SESS_CLOSED;   /* no such frame: a no-op */
	return feed(s, frame, (size_t)fl);
}

static bool
step(struct lbs_sess *s, const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint8_t op = *p++, arg[3] = { 0 };
	size_t n, i;
	bool open = true;

	for (i = 0; i < 3 && p + i < end; i++)
		arg[i] = p[i];
	switch (op >> 4) {
	case 0:
		n = arg[2];
		p += 3;
		if (p > end)
			p = end;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		open = sealed_step(s, op & 0xf, arg[0], arg[1], p, n);
		p += n;
		break;
	case 1:
		n = (size_t)arg[0] << 8 | arg[1];
		p += 2;
		if (p > end)
			p = end;
		if (n > (size_t)(end - p))
			n = (size_t)(end - p);
		open = feed(s, p, n);
		p += n;
		break;
	case 2:
		open = admit(s, !(op & 1));
		break;
	case 3: {
		struct lbs_sess_out o;
		int act;

		p += p < end;
		be.now_ms += (uint64_t)arg[0] * 100;
		out_init(&o);
		act = lbs_sess_tick(s, &o);
		if (act == LBS_SESS_CLOSE)
			CHECK(o.len == 0 && o.reason != LBS_SESS_R_OK);
		open = act != LBS_SESS_CLOSE;
		break;
	}
	case 4:
		p += p < end;
		be.wall += (int64_t)arg[0] * 10;
		break;
	default:
		break;
	}
	*pp = p;
	return open;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct lbs_sess_out o;
	struct lbs_sess *s;
	const uint8_t *p, *end = data + len;
	bool open;

	if (dv.k == NULL) {
		uint8_t priv[OSAP_EC_PRIV_LEN];

		for (int i = 0; i < OSAP_EC_PRIV_LEN; i++)
			priv[i] = (uint8_t)(0x01 + i);
		dv.k = osap_ecdh_from_private(priv);
		CHECK(dv.k != NULL && osap_ecdh_public(dv.k, dv.pub) == 0);
	}
	if (trace < 0)
		trace = getenv("FUZZ_LBS_SESSION_TRACE") != NULL;
	if (len < 2)
		return 0;
	memset(&be, 0, sizeof(be));
	be.setup = data[0];
	be.blocked = data[0] & 0x20;
	memcpy(be.devid, devid0, sizeof(devid0) - 1);
	be.devid_len = sizeof(devid0) - 1;
	memcpy(be.mk, master_key0, OSAP_KEY_LEN);
	be.now_ms = 1000;
	be.wall = 1700000000;
	memcpy(dv.mk, master_key0, OSAP_KEY_LEN);
	memset(dv.ks, 0, sizeof(dv.ks));
	memcpy(dv.devid, devid0, sizeof(devid0) - 1);
	dv.devid_len = sizeof(devid0) - 1;
	memset(dv.ch, 0, sizeof(dv.ch));
	rnd = 0x9e3779b9u ^ (uint32_t)data[1] * 0x01000193u;
	if (rnd == 0)
		rnd = 1;

	s = lbs_sess_new(&backend, NULL);
	CHECK(s != NULL);
	p = data + 2;
	if (!(be.setup & 0x08)) {
		open = feed(s, p, len - 2);
	} else {
		open = true;
		while (open && p < end)
			open = step(s, &p, end);
	}
	if (!open) {
		/* closed: reads nothing, says why */
		out_init(&o);
		CHECK(lbs_sess_input(s, data, len, &o) == LBS_SESS_CLOSE);
		CHECK(o.consumed == 0 && o.len == 0 && o.reason != LBS_SESS_R_OK);
		CHECK(lbs_sess_state(s) == LBS_SESS_CLOSED);
	}
	CHECK(lbs_sess_deadline(s) >= 1000);
	if (trace)
		fprintf(stderr, "  end: %s, %s\n", lbs_sess_state_name(lbs_sess_state(s)),
			lbs_sess_reason_name(lbs_sess_reason(s)));
	lbs_sess_free(s);   /* cancels a pending admission */
	CHECK(be.pending == NULL);
	return 0;
}
