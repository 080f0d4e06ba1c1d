/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OSAP frame codec.
 *
 * A frame is the draft's MQTT-style envelope around four parts whose sizes
 * come from three places: the remaining length (the whole frame), the type
 * (the variable header), LEN (the general payload); the application payload
 * is what is left. The decoder reads the parts through one cursor bounded by
 * the remaining length, so no length field can make it read outside the
 * frame, and checks the cursor's sticky error once.
 *
 * Which field values are allowed lives in one function, check_fields(),
 * called by both directions (as in mqttsn.c): the encoder cannot emit what the
 * decoder refuses, and since every length is minimal and every octet is a
 * field, a frame the decoder accepts re-encodes to the same octets. The fuzz
 * target checks exactly that.
 *
 * The application payload's size is checked here against the plaintext the
 * type seals (docs/osap.md), although opening it is proto/osap_crypto.c's
 * job: a frame whose sealed part cannot hold what its type carries is
 * malformed, and the LBS should not spend an AES key schedule to find out.
 */
#include <errno.h>
#include <string.h>

#include "cursor.h"
#include "osap.h"

/* ---- names ---- */

enum type_idx {
#define OSAP_IDX_ENUM(e, v, n) IDX_##e,
	FOREACH_OSAP_TYPE(OSAP_IDX_ENUM)
#undef OSAP_IDX_ENUM
	IDX_MAX
};

_Static_assert(IDX_MAX == OSAP_NTYPES, "OSAP_NTYPES must count FOREACH_OSAP_TYPE");

static const char *const type_names[OSAP_NTYPES] = {
#define OSAP_TYPE_NAME(e, v, n) [IDX_##e] = n,
	FOREACH_OSAP_TYPE(OSAP_TYPE_NAME)
#undef OSAP_TYPE_NAME
};

/* type -> dense index + 1; 0 marks a reserved type. */
static const uint8_t type_slot[16] = {
#define OSAP_TYPE_SLOT(e, v, n) [v] = IDX_##e + 1,
	FOREACH_OSAP_TYPE(OSAP_TYPE_SLOT)
#undef OSAP_TYPE_SLOT
};

int
osap_type_index(unsigned int type)
{
	return type < 16 ? (int)type_slot[type] - 1 : -1;
}

const char *
osap_type_name(unsigned int type)
{
	int i = osap_type_index(type);

	return i < 0 ? NULL : type_names[i];
}

static const char *const status_names[256] = {
#define OSAP_STATUS_NAME(e, v, n, d) [v] = n,
	FOREACH_OSAP_STATUS(OSAP_STATUS_NAME)
#undef OSAP_STATUS_NAME
};

static const char *const status_descs[256] = {
#define OSAP_STATUS_DESC(e, v, n, d) [v] = d,
	FOREACH_OSAP_STATUS(OSAP_STATUS_DESC)
#undef OSAP_STATUS_DESC
};

const char *
osap_status_name(unsigned int status)
{
	return status < 256 ? status_names[status] : NULL;
}

const char *
osap_status_desc(unsigned int status)
{
	return status < 256 ? status_descs[status] : NULL;
}

static const char *const err_names[OSAP_ERR_MAX] = {
	[OSAP_ERR_NONE] = "ok",
#define OSAP_ERR_NAME(e, no, n, d) [OSAP_ERR_##e] = n,
	FOREACH_OSAP_ERR(OSAP_ERR_NAME)
#undef OSAP_ERR_NAME
};

static const char *const err_descs[OSAP_ERR_MAX] = {
	[OSAP_ERR_NONE] = "no error",
#define OSAP_ERR_DESC(e, no, n, d) [OSAP_ERR_##e] = d,
	FOREACH_OSAP_ERR(OSAP_ERR_DESC)
#undef OSAP_ERR_DESC
};

static const int err_codes[OSAP_ERR_MAX] = {
	[OSAP_ERR_NONE] = 0,
#define OSAP_ERR_CODE(e, no, n, d) [OSAP_ERR_##e] = -no,
	FOREACH_OSAP_ERR(OSAP_ERR_CODE)
#undef OSAP_ERR_CODE
};

const char *
osap_err_name(enum osap_err e)
{
	return (unsigned int)e < OSAP_ERR_MAX ? err_names[e] : NULL;
}

const char *
osap_err_desc(enum osap_err e)
{
	return (unsigned int)e < OSAP_ERR_MAX ? err_descs[e] : NULL;
}

int
osap_err_code(enum osap_err e)
{
	return (unsigned int)e < OSAP_ERR_MAX ? err_codes[e] : -EINVAL;
}

/* ---- negotiation ---- */

uint8_t
osap_select_protocol(uint8_t device_group, uint8_t server_group)
{
	unsigned int common = device_group & server_group & OSAP_PROTO_KNOWN;
	unsigned int bit;

	for (bit = 0x80; bit; bit >>= 1)
		if (common & bit)
			return (uint8_t)bit;
	return 0;
}

static inline bool
one_known_bit(uint8_t group)
{
	return group && (group & (group - 1)) == 0 && (group & ~OSAP_PROTO_KNOWN) == 0;
}

/* ---- per-type layout, shared by both directions ---- */

#define GEN_HDR 5		/* LEN (2) + version (3) */
#define VARINT_MAX 4

/* Octets of the variable header. */
static size_t
var_header_len(uint8_t type)
{
	switch (type) {
	case OSAP_AUTH_ECDH_REQ:
	case OSAP_REFRESH_REQ:
		return 2;	/* proto_type, proto_group */
	case OSAP_AUTH_ECDH_RSP:
	case OSAP_REFRESH_RSP:
	case OSAP_ERROR:
		return 3;	/* status, type, group / code, retry_after */
	case OSAP_DEVID_RSP:
	case OSAP_ADDR_RSP:
		return 1;	/* status */
	default:
		return 0;
	}
}

int
osap_msg_status(const struct osap_msg *m)
{
	switch (m->type) {
	case OSAP_AUTH_ECDH_RSP:
		return m->ecdh_rsp.status;
	case OSAP_REFRESH_RSP:
		return m->refresh_rsp.status;
	case OSAP_DEVID_RSP:
		return m->devid_rsp.status;
	case OSAP_ADDR_RSP:
		return m->addr_rsp.status;
	case OSAP_ERROR:
		return m->error.code;
	default:
		return -1;
	}
}

/*
 * The general content (the clear-text id) of a type: a pointer to its view,
 * and its allowed length range; NULL for types that carry none.
 */
static const struct osap_view *
content_of(const struct osap_msg *m, size_t *min, size_t *max)
{
	*min = 1;
	*max = OSAP_ID_MAX;
	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
		return &m->ecdh_req.serial;
	case OSAP_REFRESH_REQ:
		return &m->refresh_req.devid;
	case OSAP_DEVID_CFM:
		return &m->devid_cfm.devid;
	case OSAP_ERROR:
		*min = 0;
		*max = OSAP_REASON_MAX;
		return &m->error.reason;
	default:
		return NULL;
	}
}

/* Whether @p n octets of application payload suit the message. */
static bool
sealed_len_ok(const struct osap_msg *m, size_t n)
{
	int st = osap_msg_status(m);

	/* A failed response seals nothing: there is no key it could trust. */
	if (st > 0 || m->type == OSAP_ERROR)
		return n == 0;
	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
	case OSAP_AUTH_ECDH_RSP:
		return n == osap_sealed_len(OSAP_EC_PUB_LEN);
	case OSAP_REFRESH_REQ:
	case OSAP_DEVID_REQ:
	case OSAP_DEVID_CFM:
		return n == osap_sealed_len(OSAP_CHALLENGE_LEN);
	case OSAP_REFRESH_RSP:
	case OSAP_DEVID_RSP:
		return n >= osap_sealed_len(OSAP_KEY_GRANT_MIN) &&
		       n <= osap_sealed_len(OSAP_KEY_GRANT_MAX);
	case OSAP_ADDR_REQ:
		return n == osap_sealed_len(OSAP_ADDR_QUERY_LEN);
	case OSAP_ADDR_RSP:
		return n == osap_sealed_len(OSAP_ADDR_GRANT_V4_LEN) ||
		       n == osap_sealed_len(OSAP_ADDR_GRANT_V6_LEN);
	default:
		return false;
	}
}

/* Field values docs/osap.md forbids; the header octet is checked by the caller. */
static enum osap_err
check_fields(const struct osap_msg *m)
{
	const struct osap_view *id;
	size_t min, max;

	id = content_of(m, &min, &max);
	if (id && (id->len < min || id->len > max))
		return OSAP_ERR_ID;
	if (m->type == OSAP_ERROR && m->error.code == OSAP_ST_OK)
		return OSAP_ERR_CODE;
	if (m->type == OSAP_AUTH_ECDH_RSP && m->ecdh_rsp.status == OSAP_ST_OK &&
	    !one_known_bit(m->ecdh_rsp.proto_group))
		return OSAP_ERR_GROUP;
	if (m->type == OSAP_REFRESH_RSP && m->refresh_rsp.status == OSAP_ST_OK &&
	    !one_known_bit(m->refresh_rsp.proto_group))
		return OSAP_ERR_GROUP;
	if (!sealed_len_ok(m, m->sealed.len))
		return OSAP_ERR_SEALED;
	return OSAP_ERR_NONE;
}

/* ---- framing ---- */

int
osap_frame_len(const uint8_t *buf, size_t len)
{
	size_t rl = 0, i;

	for (i = 0; i < VARINT_MAX; i++) {
		uint8_t b;

		if (1 + i >= len)
			return -EAGAIN;
		b = buf[1 + i];
		rl |= (size_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			/* A last octet of 0 after the first adds nothing: not minimal. */
			if (i > 0 && b == 0)
				return -EINVAL;
			if (1 + (i + 1) + rl > OSAP_FRAME_MAX)
				return -EMSGSIZE;
			return (int)(1 + (i + 1) + rl);
		}
	}
	return -EINVAL;
}

/* Octets of the remaining length field for @p rl. */
static size_t
varint_len(size_t rl)
{
	size_t n = 1;

	while (rl >= 128) {
		rl >>= 7;
		n++;
	}
	return n;
}

/* ---- decoding ---- */

static inline int
fail(struct osap_msg *m, enum osap_err e)
{
	m->err = (uint8_t)e;
	return err_codes[e];
}

int
osap_decode(const uint8_t *buf, size_t len, struct osap_msg *m)
{
	struct osap_view content = { NULL, 0 };
	struct cursor c;
	size_t hdr, glen;
	enum osap_err e;
	int total;

	memset(m, 0, sizeof(*m));
	total = osap_frame_len(buf, len);
	if (total == -EAGAIN)
		return total;
	if (total == -EINVAL)
		return fail(m, OSAP_ERR_VARINT);
	if (total < 0)
		return fail(m, OSAP_ERR_TOO_LONG);
	if ((size_t)total > len)
		return -EAGAIN;

	m->type = buf[0] >> 4;
	m->flags = buf[0] & 0x0f;
	if (type_slot[m->type] == 0)
		return fail(m, OSAP_ERR_TYPE);
	if (m->flags & OSAP_FLAG_RESERVED)
		return fail(m, OSAP_ERR_FLAGS);

	/* osap_frame_len() has checked the varint: it ends within the frame. */
	hdr = 1;
	while (buf[hdr] & 0x80)
		hdr++;
	hdr++;
	cursor_init(&c, buf + hdr, (size_t)total - hdr);

	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
		m->ecdh_req.proto_type = cursor_u8(&c);
		m->ecdh_req.proto_group = cursor_u8(&c);
		break;
	case OSAP_REFRESH_REQ:
		m->refresh_req.proto_type = cursor_u8(&c);
		m->refresh_req.proto_group = cursor_u8(&c);
		break;
	case OSAP_AUTH_ECDH_RSP:
		m->ecdh_rsp.status = cursor_u8(&c);
		m->ecdh_rsp.proto_type = cursor_u8(&c);
		m->ecdh_rsp.proto_group = cursor_u8(&c);
		break;
	case OSAP_REFRESH_RSP:
		m->refresh_rsp.status = cursor_u8(&c);
		m->refresh_rsp.proto_type = cursor_u8(&c);
		m->refresh_rsp.proto_group = cursor_u8(&c);
		break;
	case OSAP_DEVID_RSP:
		m->devid_rsp.status = cursor_u8(&c);
		break;
	case OSAP_ADDR_RSP:
		m->addr_rsp.status = cursor_u8(&c);
		break;
	case OSAP_ERROR:
		m->error.code = cursor_u8(&c);
		m->error.retry_after = cursor_be16(&c);
		break;
	default:
		break;
	}
	glen = cursor_be16(&c);
	m->version.form = cursor_u8(&c);
	m->version.high = cursor_u8(&c);
	m->version.low = cursor_u8(&c);
	if (c.err)
		return fail(m, OSAP_ERR_TRUNCATED);
	if (glen < 3)
		return fail(m, OSAP_ERR_GENERAL_LEN);
	content.len = glen - 3;
	if (content.len > cursor_left(&c))
		return fail(m, OSAP_ERR_TRUNCATED);
	if (content.len) {
		content.p = cursor_ptr(&c);
		cursor_skip(&c, content.len);
	}
	m->sealed.len = cursor_left(&c);
	if (m->sealed.len)
		m->sealed.p = cursor_ptr(&c);

	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
		m->ecdh_req.serial = content;
		break;
	case OSAP_REFRESH_REQ:
		m->refresh_req.devid = content;
		break;
	case OSAP_DEVID_CFM:
		m->devid_cfm.devid = content;
		break;
	case OSAP_ERROR:
		m->error.reason = content;
		break;
	default:
		if (content.len)
			return fail(m, OSAP_ERR_ID);
		break;
	}
	e = check_fields(m);
	if (e != OSAP_ERR_NONE)
		return fail(m, e);
	return total;
}

/* ---- encoding ---- */

/* Remaining length of @p m, or a negative error; views are bounded first. */
static long
remaining_len(const struct osap_msg *m)
{
	const struct osap_view *id;
	size_t min, max, idlen = 0;

	if (m->type > 15 || type_slot[m->type] == 0)
		return -EINVAL;
	if (m->flags & ~(unsigned int)OSAP_FLAG_ECDH)
		return -EINVAL;
	id = content_of(m, &min, &max);
	if (id) {
		idlen = id->len;
		if (idlen > max)
			return -EMSGSIZE;
	}
	if (m->sealed.len > OSAP_FRAME_MAX)
		return -EMSGSIZE;
	if (check_fields(m) != OSAP_ERR_NONE)
		return -EINVAL;
	return (long)(var_header_len(m->type) + GEN_HDR + idlen + m->sealed.len);
}

int
osap_encoded_len(const struct osap_msg *m)
{
	long rl = remaining_len(m);
	size_t total;

	if (rl < 0)
		return (int)rl;
	total = 1 + varint_len((size_t)rl) + (size_t)rl;
	if (total > OSAP_FRAME_MAX)
		return -EMSGSIZE;
	return (int)total;
}

static inline void
put_view(struct cursor *c, struct osap_view v)
{
	if (v.len)
		cursor_put(c, v.p, v.len);
}

int
osap_encode(uint8_t *buf, size_t cap, const struct osap_msg *m)
{
	int total = osap_encoded_len(m);
	const struct osap_view *id;
	size_t rl, min, max;
	struct cursor c;

	if (total < 0)
		return total;
	if (cap < (size_t)total)
		return -ENOSPC;
	rl = (size_t)remaining_len(m);
	cursor_init(&c, buf, (size_t)total);
	cursor_put_u8(&c, (uint8_t)(m->type << 4 | m->flags));
	do {
		uint8_t b = rl & 0x7f;

		rl >>= 7;
		cursor_put_u8(&c, rl ? (uint8_t)(b | 0x80) : b);
	} while (rl);

	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
		cursor_put_u8(&c, m->ecdh_req.proto_type);
		cursor_put_u8(&c, m->ecdh_req.proto_group);
		break;
	case OSAP_REFRESH_REQ:
		cursor_put_u8(&c, m->refresh_req.proto_type);
		cursor_put_u8(&c, m->refresh_req.proto_group);
		break;
	case OSAP_AUTH_ECDH_RSP:
		cursor_put_u8(&c, m->ecdh_rsp.status);
		cursor_put_u8(&c, m->ecdh_rsp.proto_type);
		cursor_put_u8(&c, m->ecdh_rsp.proto_group);
		break;
	case OSAP_REFRESH_RSP:
		cursor_put_u8(&c, m->refresh_rsp.status);
		cursor_put_u8(&c, m->refresh_rsp.proto_type);
		cursor_put_u8(&c, m->refresh_rsp.proto_group);
		break;
	case OSAP_DEVID_RSP:
		cursor_put_u8(&c, m->devid_rsp.status);
		break;
	case OSAP_ADDR_RSP:
		cursor_put_u8(&c, m->addr_rsp.status);
		break;
	case OSAP_ERROR:
		cursor_put_u8(&c, m->error.code);
		cursor_put_be16(&c, m->error.retry_after);
		break;
	default:
		break;
	}
	id = content_of(m, &min, &max);
	cursor_put_be16(&c, (uint16_t)(3 + (id ? id->len : 0)));
	cursor_put_u8(&c, m->version.form);
	cursor_put_u8(&c, m->version.high);
	cursor_put_u8(&c, m->version.low);
	if (id)
		put_view(&c, *id);
	if (m->sealed.len && m->sealed.p == NULL) {
		/* Reserved for sealing in place. */
		if (cursor_need(&c, m->sealed.len)) {
			memset(buf + c.pos, 0, m->sealed.len);
			c.pos += m->sealed.len;
		}
	} else {
		put_view(&c, m->sealed);
	}
	/* The length was computed from the same fields: a mismatch is a bug here. */
	if (c.err || cursor_left(&c))
		return -EINVAL;
	return total;
}

/* ---- sealed plaintexts ---- */

int
osap_encode_key_grant(uint8_t *buf, size_t cap, const struct osap_key_grant *g)
{
	size_t n = OSAP_KEY_GRANT_MIN - 1 + g->devid.len;
	struct cursor c;

	if (g->devid.len == 0 || g->devid.len > OSAP_ID_MAX)
		return -EINVAL;
	if (cap < n)
		return -ENOSPC;
	cursor_init(&c, buf, n);
	cursor_put(&c, g->challenge, OSAP_CHALLENGE_LEN);
	cursor_put(&c, g->session_key, OSAP_KEY_LEN);
	cursor_put_be32(&c, g->lifetime);
	cursor_put_u8(&c, (uint8_t)g->devid.len);
	cursor_put(&c, g->devid.p, g->devid.len);
	return c.err ? c.err : (int)n;
}

int
osap_decode_key_grant(const uint8_t *buf, size_t len, struct osap_key_grant *g)
{
	struct cursor c;

	memset(g, 0, sizeof(*g));
	cursor_init(&c, buf, len);
	cursor_copy(&c, g->challenge, OSAP_CHALLENGE_LEN);
	cursor_copy(&c, g->session_key, OSAP_KEY_LEN);
	g->lifetime = cursor_be32(&c);
	g->devid.len = cursor_u8(&c);
	if (c.err)
		return -EMSGSIZE;
	if (g->devid.len == 0 || g->devid.len > OSAP_ID_MAX) {
		g->devid.len = 0;
		return -EINVAL;
	}
	if (cursor_left(&c) != g->devid.len) {
		g->devid.len = 0;
		return -EMSGSIZE;
	}
	g->devid.p = cursor_ptr(&c);
	return 0;
}

static inline bool
family_ok(uint8_t family, bool query)
{
	return family == OSAP_FAMILY_IPV4 || family == OSAP_FAMILY_IPV6 ||
	       (query && family == OSAP_FAMILY_ANY);
}

int
osap_encode_addr_query(uint8_t *buf, size_t cap, const struct osap_addr_query *q)
{
	if (!family_ok(q->family, true))
		return -EINVAL;
	if (cap < OSAP_ADDR_QUERY_LEN)
		return -ENOSPC;
	memcpy(buf, q->challenge, OSAP_CHALLENGE_LEN);
	buf[OSAP_CHALLENGE_LEN] = q->family;
	return OSAP_ADDR_QUERY_LEN;
}

int
osap_decode_addr_query(const uint8_t *buf, size_t len, struct osap_addr_query *q)
{
	memset(q, 0, sizeof(*q));
	if (len != OSAP_ADDR_QUERY_LEN)
		return -EMSGSIZE;
	memcpy(q->challenge, buf, OSAP_CHALLENGE_LEN);
	q->family = buf[OSAP_CHALLENGE_LEN];
	return family_ok(q->family, true) ? 0 : -EINVAL;
}

static inline size_t
addr_len(uint8_t family)
{
	return family == OSAP_FAMILY_IPV4 ? 4 : 16;
}

int
osap_encode_addr_grant(uint8_t *buf, size_t cap, const struct osap_addr_grant *g)
{
	size_t n, alen;
	struct cursor c;

	if (!family_ok(g->family, false) || g->port == 0 || !one_known_bit(g->proto))
		return -EINVAL;
	alen = addr_len(g->family);
	n = OSAP_ADDR_GRANT_V4_LEN - 4 + alen;
	if (cap < n)
		return -ENOSPC;
	cursor_init(&c, buf, n);
	cursor_put(&c, g->challenge, OSAP_CHALLENGE_LEN);
	cursor_put_u8(&c, g->family);
	cursor_put(&c, g->addr, alen);
	cursor_put_be16(&c, g->port);
	cursor_put_u8(&c, g->proto_type);
	cursor_put_u8(&c, g->proto);
	cursor_put_be32(&c, g->lifetime);
	return c.err ? c.err : (int)n;
}

int
osap_decode_addr_grant(const uint8_t *buf, size_t len, struct osap_addr_grant *g)
{
	struct cursor c;
	size_t alen;

	memset(g, 0, sizeof(*g));
	if (len != OSAP_ADDR_GRANT_V4_LEN && len != OSAP_ADDR_GRANT_V6_LEN)
		return -EMSGSIZE;
	cursor_init(&c, buf, len);
	cursor_copy(&c, g->challenge, OSAP_CHALLENGE_LEN);
	g->family = cursor_u8(&c);
	if (!family_ok(g->family, false))
		return -EINVAL;
	alen = addr_len(g->family);
	if (len != OSAP_ADDR_GRANT_V4_LEN - 4 + alen)
		return -EMSGSIZE;
	cursor_copy(&c, g->addr, alen);
	g->port = cursor_be16(&c);
	g->proto_type = cursor_u8(&c);
	g->proto = cursor_u8(&c);
	g->lifetime = cursor_be32(&c);
	if (c.err || cursor_left(&c))
		return -EMSGSIZE;
	if (g->port == 0 || !one_known_bit(g->proto))
		return -EINVAL;
	return 0;
}
