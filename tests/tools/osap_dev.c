/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device side of OSAP (see osap_dev.h).
 *
 * Everything on the wire goes through proto/osap.h and proto/osap_crypto.h:
 * this file builds no octet by hand. It only sequences the exchanges and
 * checks what a device must check before believing an answer: the type is
 * the one asked for, the seal opens under the key the request used, and the
 * sealed plaintext echoes the request's fresh challenge (docs/osap.md
 * section 6), so a recorded answer from an earlier exchange is refused.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "proto/osap_crypto.h"
#include "osap_dev.h"

#define DEV_TIMEOUT_DEFAULT_MS 5000

static const struct {
	const char *name;
	int code;
	int cls;
} dev_errs[] = {
#define OSAP_DEV_ERR_ROW(e, n, no, x, d) [OSAP_DEV_E_##e] = { n, no, x },
	FOREACH_OSAP_DEV_ERR(OSAP_DEV_ERR_ROW)
#undef OSAP_DEV_ERR_ROW
};

const char *
osap_dev_err_name(enum osap_dev_err e)
{
	return (unsigned int)e < OSAP_DEV_E_MAX ? dev_errs[e].name : NULL;
}

int
osap_dev_err_class(enum osap_dev_err e)
{
	return (unsigned int)e < OSAP_DEV_E_MAX ? dev_errs[e].cls : 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Record failure @p e at @p stage; @return its negative code. */
static int
fail(struct osap_dev_result *r, enum osap_dev_err e, uint8_t stage)
{
	r->err = e;
	r->stage = stage;
	return -dev_errs[e].code;
}

int
osap_dev_init(struct osap_dev *d, const char *serial, const char *code, uint32_t iterations)
{
	size_t n = serial ? strlen(serial) : 0;
	int rc;

	memset(d, 0, sizeof(*d));
	if (n == 0 || n > OSAP_ID_MAX)
		return -EINVAL;
	memcpy(d->serial, serial, n);
	d->proto_type = OSAP_PROTO_TYPE_MQTTSN;
	d->proto_group = OSAP_PROTO_PLAIN;
	d->family = OSAP_FAMILY_ANY;
	if (code == NULL)
		return 0;
	rc = osap_share_key((const uint8_t *)code, strlen(code), (const uint8_t *)serial, n,
			    iterations, d->share_key);
	if (rc < 0)
		return rc;
	d->has_share_key = true;
	return 0;
}

void
osap_dev_wipe(struct osap_dev *d)
{
	OPENSSL_cleanse(d, sizeof(*d));
}

void
osap_dev_result_init(struct osap_dev_result *r)
{
	memset(r, 0, sizeof(*r));
}

/* ---- frames on the stream ---- */

static int
timeout_of(const struct osap_stream *s)
{
	return s->timeout_ms > 0 ? s->timeout_ms : DEV_TIMEOUT_DEFAULT_MS;
}

static int
io_fail(struct osap_dev_result *r, int rc, uint8_t stage)
{
	if (rc == 0)
		return fail(r, OSAP_DEV_E_CLOSED, stage);
	if (rc == -ETIMEDOUT)
		return fail(r, OSAP_DEV_E_TIMEOUT, stage);
	if (rc == -EPIPE || rc == -ECONNRESET)
		return fail(r, OSAP_DEV_E_CLOSED, stage);
	return fail(r, OSAP_DEV_E_IO, stage);
}

static int
send_frame(const struct osap_stream *s, const uint8_t *f, size_t n, struct osap_dev_result *r,
	   uint8_t stage)
{
	int rc = s->write(s->ctx, f, n, timeout_of(s));

	return rc < 0 ? io_fail(r, rc, stage) : 0;
}

/*
 * Read exactly @p n octets before @p deadline (monotonic ns). @return 0 or
 * what io_fail() makes of the stream's answer.
 */
static int
read_exact(const struct osap_stream *s, uint8_t *buf, size_t n, uint64_t deadline,
	   struct osap_dev_result *r, uint8_t stage)
{
	size_t got = 0;

	while (got < n) {
		uint64_t now = now_ns();
		int rc;

		if (now >= deadline)
			return fail(r, OSAP_DEV_E_TIMEOUT, stage);
		rc = s->read(s->ctx, buf + got, n - got,
			     (int)((deadline - now + 999999) / 1000000));
		if (rc <= 0)
			return io_fail(r, rc, stage);
		got += (size_t)rc;
	}
	return 0;
}

/*
 * One whole frame into @p f (OSAP_FRAME_MAX octets), decoded into @p m: the
 * fixed header first, one octet at a time until its length is known, then
 * the rest. The answer to @p stage must arrive within the stream's timeout.
 * @return the frame length, or a negative code with @p r filled in.
 */
static int
recv_frame(const struct osap_stream *s, uint8_t *f, struct osap_msg *m,
	   struct osap_dev_result *r, uint8_t stage)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_of(s) * 1000000u;
	size_t have = 0;
	int len, rc;

	for (;;) {
		rc = read_exact(s, f + have, 1, deadline, r, stage);
		if (rc < 0)
			return rc;
		have++;
		if (have < 2)
			continue;
		len = osap_frame_len(f, have);
		if (len == -EAGAIN)
			continue;
		if (len < 0)
			return fail(r, OSAP_DEV_E_MALFORMED, stage);
		break;
	}
	rc = read_exact(s, f + have, (size_t)len - have, deadline, r, stage);
	if (rc < 0)
		return rc;
	if (osap_decode(f, (size_t)len, m) != len)
		return fail(r, OSAP_DEV_E_MALFORMED, stage);
	return len;
}

/*
 * The answer to @p stage: an ERROR is a refusal; otherwise it must be of
 * type @p want. A typed answer with a failure status is a refusal too.
 * @return 0 for a typed ok answer, or a negative code.
 */
static int
recv_answer(const struct osap_stream *s, uint8_t *f, struct osap_msg *m, uint8_t want,
	    struct osap_dev_result *r, uint8_t stage)
{
	int len = recv_frame(s, f, m, r, stage);
	int st;

	if (len < 0)
		return len;
	if (m->type == OSAP_ERROR) {
		r->in_error = true;
		r->status = m->error.code;
		r->retry_after = m->error.retry_after;
		memcpy(r->reason, m->error.reason.p, m->error.reason.len);
		r->reason[m->error.reason.len] = '\0';
		return fail(r, OSAP_DEV_E_REFUSED, stage);
	}
	if (m->type != want)
		return fail(r, OSAP_DEV_E_UNEXPECTED, stage);
	st = osap_msg_status(m);
	if (st != OSAP_ST_OK) {
		r->status = (uint8_t)st;
		return fail(r, OSAP_DEV_E_REFUSED, stage);
	}
	return 0;
}

/* Seal @p pt under @p key into a frame of @p m and send it. */
static int
send_sealed(struct osap_dev *d, const struct osap_stream *s, const uint8_t *key,
	    const struct osap_msg *m, const uint8_t *pt, size_t n, struct osap_dev_result *r)
{
	uint8_t f[OSAP_FRAME_MAX];
	int len = osap_seal_msg(d->aead, key, NULL, m, pt, n, f, sizeof(f));

	if (len < 0)
		return fail(r, OSAP_DEV_E_LOCAL, m->type);
	return send_frame(s, f, (size_t)len, r, m->type);
}

/* Open a typed ok answer's seal under @p key into @p pt (256 octets). */
static int
open_answer(struct osap_dev *d, const uint8_t *key, const uint8_t *f, const struct osap_msg *m,
	    uint8_t *pt, struct osap_dev_result *r, uint8_t stage)
{
	int n;

	if (m->sealed.len == 0)
		return fail(r, OSAP_DEV_E_MALFORMED, stage);
	n = osap_open_msg(d->aead, key, f, m, pt, 256);
	if (n < 0)
		return fail(r, n == -EBADMSG ? OSAP_DEV_E_BAD_SEAL : OSAP_DEV_E_LOCAL, stage);
	return n;
}

/* The negotiation fields of a 0x2 or 0x6, ok or inconsistent, into @p r. */
static void
note_offer(struct osap_dev_result *r, const struct osap_msg *m)
{
	if (m->type == OSAP_AUTH_ECDH_RSP) {
		r->offer_type = m->ecdh_rsp.proto_type;
		r->offer_group = m->ecdh_rsp.proto_group;
	} else if (m->type == OSAP_REFRESH_RSP) {
		r->offer_type = m->refresh_rsp.proto_type;
		r->offer_group = m->refresh_rsp.proto_group;
	}
}

/*
 * A key grant in the ok answer @p m (0x8 or 0x6) under the master key: the
 * challenge must be @p ch; for 0x6 the DevID must be the device's. Sets the
 * session key, lifetime and (0x8) the DevID.
 */
static int
take_key_grant(struct osap_dev *d, const uint8_t *f, const struct osap_msg *m,
	       const uint8_t *ch, struct osap_dev_result *r, uint8_t stage)
{
	struct osap_key_grant g;
	uint8_t pt[256];
	int n, rc = 0;

	n = open_answer(d, d->master_key, f, m, pt, r, stage);
	if (n < 0)
		return n;
	if (osap_decode_key_grant(pt, (size_t)n, &g) < 0 ||
	    !osap_ct_equal(g.challenge, ch, OSAP_CHALLENGE_LEN) ||
	    (m->type == OSAP_REFRESH_RSP &&
	     (g.devid.len != strlen(d->devid) || memcmp(g.devid.p, d->devid, g.devid.len) != 0))) {
		rc = fail(r, OSAP_DEV_E_BAD_GRANT, stage);
		goto out;
	}
	memcpy(d->session_key, g.session_key, OSAP_KEY_LEN);
	d->has_session = true;
	d->key_lifetime = g.lifetime;
	memcpy(d->devid, g.devid.p, g.devid.len);
	d->devid[g.devid.len] = '\0';
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(&g, sizeof(g));
	return rc;
}

int
osap_dev_first_auth(struct osap_dev *d, const struct osap_stream *s, struct osap_dev_result *r)
{
	uint8_t pub[OSAP_EC_PUB_LEN], ch[OSAP_CHALLENGE_LEN], pt[256];
	uint8_t f[OSAP_FRAME_MAX];
	struct osap_ecdh *k = NULL;
	uint64_t t0 = now_ns();
	struct osap_msg m;
	int n, rc;

	if (!d->has_share_key)
		return -EINVAL;
	d->has_master = false;
	d->has_session = false;

	/* 0x1 / 0x2: negotiation and ECDH under the share key. */
	k = osap_ecdh_generate();
	if (k == NULL || osap_ecdh_public(k, pub) < 0) {
		rc = fail(r, OSAP_DEV_E_LOCAL, OSAP_AUTH_ECDH_REQ);
		goto out;
	}
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.ecdh_req = (struct osap_ecdh_req){ d->proto_type, d->proto_group,
		{ (const uint8_t *)d->serial, strlen(d->serial) } };
	rc = send_sealed(d, s, d->share_key, &m, pub, sizeof(pub), r);
	if (rc < 0)
		goto out;
	rc = recv_answer(s, f, &m, OSAP_AUTH_ECDH_RSP, r, OSAP_AUTH_ECDH_REQ);
	note_offer(r, &m);
	if (rc < 0)
		goto out;
	n = open_answer(d, d->share_key, f, &m, pt, r, OSAP_AUTH_ECDH_REQ);
	if (n < 0) {
		rc = n;
		goto out;
	}
	if (n != OSAP_EC_PUB_LEN) {
		rc = fail(r, OSAP_DEV_E_BAD_GRANT, OSAP_AUTH_ECDH_REQ);
		goto out;
	}
	if (m.ecdh_rsp.proto_type != d->proto_type || !(m.ecdh_rsp.proto_group & d->proto_group)) {
		rc = fail(r, OSAP_DEV_E_BAD_CHOICE, OSAP_AUTH_ECDH_REQ);
		goto out;
	}
	rc = osap_ecdh_master(k, pt, d->share_key, d->master_key);
	if (rc < 0) {
		/* not a point of the curve: the LBS (or whoever answered) is wrong */
		rc = fail(r, OSAP_DEV_E_BAD_GRANT, OSAP_AUTH_ECDH_REQ);
		goto out;
	}
	d->has_master = true;
	d->proto = m.ecdh_rsp.proto_group;
	osap_ecdh_free(k);
	k = NULL;

	/* 0x7 / 0x8: DevID and session key under the master key. */
	if (osap_random(ch, sizeof(ch)) < 0) {
		rc = fail(r, OSAP_DEV_E_LOCAL, OSAP_DEVID_REQ);
		goto out;
	}
	osap_msg_init(&m, OSAP_DEVID_REQ);
	rc = send_sealed(d, s, d->master_key, &m, ch, sizeof(ch), r);
	if (rc < 0)
		goto out;
	rc = recv_answer(s, f, &m, OSAP_DEVID_RSP, r, OSAP_DEVID_REQ);
	if (rc < 0)
		goto out;
	rc = take_key_grant(d, f, &m, ch, r, OSAP_DEVID_REQ);
	if (rc < 0)
		goto out;

	/* 0x9: the DevID and the 0x7 challenge under the session key; no answer. */
	if (!d->no_cfm) {
		osap_msg_init(&m, OSAP_DEVID_CFM);
		m.devid_cfm.devid = (struct osap_view){ (const uint8_t *)d->devid,
							strlen(d->devid) };
		rc = send_sealed(d, s, d->session_key, &m, ch, sizeof(ch), r);
	}
out:
	osap_ecdh_free(k);
	OPENSSL_cleanse(pt, sizeof(pt));
	OPENSSL_cleanse(ch, sizeof(ch));
	r->auth_ns += now_ns() - t0;
	return rc;
}

int
osap_dev_reauth(struct osap_dev *d, const struct osap_stream *s, struct osap_dev_result *r)
{
	uint8_t ch[OSAP_CHALLENGE_LEN], f[OSAP_FRAME_MAX];
	uint64_t t0 = now_ns();
	struct osap_msg m;
	int rc;

	if (d->devid[0] == '\0' || !d->has_master)
		return -EINVAL;
	d->has_session = false;
	if (osap_random(ch, sizeof(ch)) < 0) {
		rc = fail(r, OSAP_DEV_E_LOCAL, OSAP_REFRESH_REQ);
		goto out;
	}
	osap_msg_init(&m, OSAP_REFRESH_REQ);
	m.refresh_req = (struct osap_refresh_req){ d->proto_type, d->proto_group,
		{ (const uint8_t *)d->devid, strlen(d->devid) } };
	rc = send_sealed(d, s, d->master_key, &m, ch, sizeof(ch), r);
	if (rc < 0)
		goto out;
	rc = recv_answer(s, f, &m, OSAP_REFRESH_RSP, r, OSAP_REFRESH_REQ);
	note_offer(r, &m);
	if (rc < 0)
		goto out;
	rc = take_key_grant(d, f, &m, ch, r, OSAP_REFRESH_REQ);
	if (rc == 0 && (m.refresh_rsp.proto_type != d->proto_type ||
			!(m.refresh_rsp.proto_group & d->proto_group))) {
		d->has_session = false;
		OPENSSL_cleanse(d->session_key, OSAP_KEY_LEN);
		rc = fail(r, OSAP_DEV_E_BAD_CHOICE, OSAP_REFRESH_REQ);
	}
	if (rc == 0)
		d->proto = m.refresh_rsp.proto_group;
out:
	OPENSSL_cleanse(ch, sizeof(ch));
	r->auth_ns += now_ns() - t0;
	return rc;
}

int
osap_dev_get_address(struct osap_dev *d, const struct osap_stream *s, struct osap_dev_result *r)
{
	struct osap_addr_query q = { .family = d->family };
	uint8_t qpt[OSAP_ADDR_QUERY_LEN], pt[256], f[OSAP_FRAME_MAX];
	struct osap_addr_grant g;
	uint64_t t0 = now_ns();
	struct osap_msg m;
	int n, rc;

	if (!d->has_session)
		return -EINVAL;
	if (osap_random(q.challenge, sizeof(q.challenge)) < 0 ||
	    osap_encode_addr_query(qpt, sizeof(qpt), &q) < 0) {
		rc = fail(r, OSAP_DEV_E_LOCAL, OSAP_ADDR_REQ);
		goto out;
	}
	osap_msg_init(&m, OSAP_ADDR_REQ);
	rc = send_sealed(d, s, d->session_key, &m, qpt, sizeof(qpt), r);
	if (rc < 0)
		goto out;
	rc = recv_answer(s, f, &m, OSAP_ADDR_RSP, r, OSAP_ADDR_REQ);
	if (rc < 0)
		goto out;
	n = open_answer(d, d->session_key, f, &m, pt, r, OSAP_ADDR_REQ);
	if (n < 0) {
		rc = n;
		goto out;
	}
	if (osap_decode_addr_grant(pt, (size_t)n, &g) < 0 ||
	    !osap_ct_equal(g.challenge, q.challenge, OSAP_CHALLENGE_LEN) ||
	    (d->family != OSAP_FAMILY_ANY && g.family != d->family)) {
		rc = fail(r, OSAP_DEV_E_BAD_GRANT, OSAP_ADDR_REQ);
		goto out;
	}
	r->node_family = g.family;
	memcpy(r->node_addr, g.addr, sizeof(r->node_addr));
	r->node_port = g.port;
	r->node_proto_type = g.proto_type;
	r->node_proto = g.proto;
	r->admit_lifetime = g.lifetime;
out:
	OPENSSL_cleanse(pt, sizeof(pt));
	r->addr_ns += now_ns() - t0;
	return rc;
}

const char *
osap_dev_error_name(const struct osap_dev_result *r, char *buf, size_t cap)
{
	const char *n;

	if (r->err != OSAP_DEV_E_REFUSED)
		return osap_dev_err_name(r->err);
	n = osap_status_name(r->status);
	if (n != NULL)
		return n;
	snprintf(buf, cap, "status_0x%02x", r->status);
	return buf;
}

const char *
osap_dev_node_str(const struct osap_dev_result *r, char *buf, size_t cap)
{
	int af = r->node_family == OSAP_FAMILY_IPV6 ? AF_INET6 : AF_INET;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (r->node_family != OSAP_FAMILY_IPV4 && r->node_family != OSAP_FAMILY_IPV6)
		return buf;
	if (inet_ntop(af, r->node_addr, buf, (socklen_t)cap) == NULL)
		buf[0] = '\0';
	return buf;
}
