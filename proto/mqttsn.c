/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT-SN v1.2 codec.
 *
 * One rule set, two directions. Sizes come from the wire on decode and from
 * the views on encode, but every rule about field values (reserved return
 * codes, forbidden QoS and topic id type combinations, required non-empty
 * strings) lives in one function, check_fields(), which both directions call.
 * So the encoder cannot emit a message the decoder refuses, and the fuzz
 * target's round trip (decode, encode, decode) holds by construction rather
 * than by two lists kept in step by hand.
 *
 * The decoder reads a body through a cursor with a sticky error and checks
 * it once at the end: a body shorter than its type's fixed part is
 * TRUNCATED; bytes left over where the type fixes the size are TRAILING.
 * Variable parts take "the rest of the message", so they never leave bytes.
 *
 * Encapsulation is one level deep by construction: mqttsn_decode() strips the
 * encapsulation header and calls the per-message decoder, which refuses the
 * ENCAPSULATED type.
 */
#include <errno.h>
#include <string.h>

#include "cursor.h"
#include "mqttsn.h"

/* ---- names ---- */

enum type_idx {
#define MQTTSN_IDX_ENUM(e, v, n) IDX_##e,
	FOREACH_MQTTSN_TYPE(MQTTSN_IDX_ENUM)
#undef MQTTSN_IDX_ENUM
	IDX_MAX
};

_Static_assert(IDX_MAX == MQTTSN_NTYPES, "MQTTSN_NTYPES must count FOREACH_MQTTSN_TYPE");

static const char *const type_names[MQTTSN_NTYPES] = {
#define MQTTSN_TYPE_NAME(e, v, n) [IDX_##e] = n,
	FOREACH_MQTTSN_TYPE(MQTTSN_TYPE_NAME)
#undef MQTTSN_TYPE_NAME
};

/* MsgType -> dense index + 1; 0 marks an unknown type. */
static const uint8_t type_slot[256] = {
#define MQTTSN_TYPE_SLOT(e, v, n) [v] = IDX_##e + 1,
	FOREACH_MQTTSN_TYPE(MQTTSN_TYPE_SLOT)
#undef MQTTSN_TYPE_SLOT
};

int
mqttsn_type_index(unsigned int type)
{
	return type < 256 ? (int)type_slot[type] - 1 : -1;
}

const char *
mqttsn_type_name(unsigned int type)
{
	int i = mqttsn_type_index(type);

	return i < 0 ? NULL : type_names[i];
}

static const char *const err_names[MQTTSN_ERR_MAX] = {
	[MQTTSN_ERR_NONE] = "ok",
#define MQTTSN_ERR_NAME(e, no, n, d) [MQTTSN_ERR_##e] = n,
	FOREACH_MQTTSN_ERR(MQTTSN_ERR_NAME)
#undef MQTTSN_ERR_NAME
};

static const char *const err_descs[MQTTSN_ERR_MAX] = {
	[MQTTSN_ERR_NONE] = "no error",
#define MQTTSN_ERR_DESC(e, no, n, d) [MQTTSN_ERR_##e] = d,
	FOREACH_MQTTSN_ERR(MQTTSN_ERR_DESC)
#undef MQTTSN_ERR_DESC
};

static const int err_codes[MQTTSN_ERR_MAX] = {
	[MQTTSN_ERR_NONE] = 0,
#define MQTTSN_ERR_CODE(e, no, n, d) [MQTTSN_ERR_##e] = -no,
	FOREACH_MQTTSN_ERR(MQTTSN_ERR_CODE)
#undef MQTTSN_ERR_CODE
};

const char *
mqttsn_err_name(enum mqttsn_err e)
{
	return (unsigned int)e < MQTTSN_ERR_MAX ? err_names[e] : NULL;
}

const char *
mqttsn_err_desc(enum mqttsn_err e)
{
	return (unsigned int)e < MQTTSN_ERR_MAX ? err_descs[e] : NULL;
}

int
mqttsn_err_code(enum mqttsn_err e)
{
	return (unsigned int)e < MQTTSN_ERR_MAX ? err_codes[e] : -EINVAL;
}

/* ---- rules shared by both directions ---- */

#define LEN_MARK 0x01		/* first octet of the 3-octet length form */
#define SHORT_HDR 2		/* length octet + type */
#define LONG_HDR 4		/* 0x01, length16, type */
#define ENCAP_HDR 3		/* length, 0xfe, ctrl; the node id follows */

static inline unsigned int
topic_type(uint8_t flags)
{
	return flags & MQTTSN_FLAG_TOPIC_MASK;
}

/*
 * Field values the specification reserves or forbids, given the type's
 * fields. Flags bits the spec calls not relevant to a type are not looked at.
 */
static enum mqttsn_err
check_fields(const struct mqttsn_msg *m)
{
	int qos = mqttsn_flags_qos(m->flags);
	unsigned int tt = topic_type(m->flags);

	switch (m->type) {
	case MQTTSN_CONNECT:
		if (m->client_id.len == 0)
			return MQTTSN_ERR_EMPTY;
		break;
	case MQTTSN_SUBACK:
		if (qos < 0)
			return MQTTSN_ERR_QOS;
		/* fall through */
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
		if (m->return_code > MQTTSN_RC_NOT_SUPPORTED)
			return MQTTSN_ERR_RESERVED;
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		/* The empty form has no flags octet at all. */
		if (m->will_topic.len == 0)
			return m->flags ? MQTTSN_ERR_EMPTY : MQTTSN_ERR_NONE;
		if (qos < 0)
			return MQTTSN_ERR_QOS;
		break;
	case MQTTSN_REGISTER:
		if (m->topic_name.len == 0)
			return MQTTSN_ERR_EMPTY;
		break;
	case MQTTSN_PUBLISH:
		/*
		 * QoS -1 means no connection, hence no registration: only ids
		 * both sides know without one can name the topic (spec 6.8).
		 */
		if (tt > MQTTSN_TOPIC_SHORT || (qos < 0 && tt == MQTTSN_TOPIC_NORMAL))
			return MQTTSN_ERR_TOPIC_TYPE;
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		if (tt > MQTTSN_TOPIC_SHORT)
			return MQTTSN_ERR_TOPIC_TYPE;
		/* UNSUBSCRIBE carries no QoS: its QoS bits are not relevant. */
		if (m->type == MQTTSN_SUBSCRIBE && qos < 0)
			return MQTTSN_ERR_QOS;
		if (tt == MQTTSN_TOPIC_NORMAL && m->topic_name.len == 0)
			return MQTTSN_ERR_EMPTY;
		break;
	default:
		break;
	}
	return MQTTSN_ERR_NONE;
}

/* ---- decoding ---- */

static inline int
fail(struct mqttsn_msg *m, enum mqttsn_err e)
{
	m->err = (uint8_t)e;
	return err_codes[e];
}

/* The rest of the body as a view (NULL when empty). */
static inline struct mqttsn_view
rest(struct cursor *c)
{
	struct mqttsn_view v = { NULL, cursor_left(c) };

	if (v.len) {
		v.p = cursor_ptr(c);
		cursor_skip(c, v.len);
	}
	return v;
}

/*
 * The body of a message of known type, @p c positioned after MsgType.
 * Returns the error reason, NONE if the sizes are right.
 */
static enum mqttsn_err
decode_body(struct cursor *c, struct mqttsn_msg *m)
{
	switch (m->type) {
	case MQTTSN_ADVERTISE:
		m->gw_id = cursor_u8(c);
		m->duration = cursor_be16(c);
		break;
	case MQTTSN_SEARCHGW:
		m->radius = cursor_u8(c);
		break;
	case MQTTSN_GWINFO:
		m->gw_id = cursor_u8(c);
		m->gw_addr = rest(c);
		break;
	case MQTTSN_CONNECT:
		m->flags = cursor_u8(c);
		m->protocol_id = cursor_u8(c);
		m->duration = cursor_be16(c);
		m->client_id = rest(c);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		m->return_code = cursor_u8(c);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if (cursor_left(c) == 0)
			break;		/* the empty form */
		m->flags = cursor_u8(c);
		m->will_topic = rest(c);
		/* A flags octet with no topic is neither form. */
		if (m->will_topic.len == 0)
			return MQTTSN_ERR_EMPTY;
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
		m->will_msg = rest(c);
		break;
	case MQTTSN_REGISTER:
		m->topic_id = cursor_be16(c);
		m->msg_id = cursor_be16(c);
		m->topic_name = rest(c);
		break;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
		m->topic_id = cursor_be16(c);
		m->msg_id = cursor_be16(c);
		m->return_code = cursor_u8(c);
		break;
	case MQTTSN_PUBLISH:
		m->flags = cursor_u8(c);
		m->topic_id = cursor_be16(c);
		m->msg_id = cursor_be16(c);
		m->data = rest(c);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		m->msg_id = cursor_be16(c);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		m->flags = cursor_u8(c);
		m->msg_id = cursor_be16(c);
		switch (topic_type(m->flags)) {
		case MQTTSN_TOPIC_PREDEFINED:
		case MQTTSN_TOPIC_SHORT:
			m->topic_id = cursor_be16(c);
			break;
		case MQTTSN_TOPIC_NORMAL:
			m->topic_name = rest(c);
			break;
		default:
			/* Reserved type: check_fields() names it. */
			rest(c);
			break;
		}
		break;
	case MQTTSN_SUBACK:
		m->flags = cursor_u8(c);
		m->topic_id = cursor_be16(c);
		m->msg_id = cursor_be16(c);
		m->return_code = cursor_u8(c);
		break;
	case MQTTSN_PINGREQ:
		m->client_id = rest(c);
		break;
	case MQTTSN_DISCONNECT:
		if (cursor_left(c) == 0)
			break;
		m->has_duration = true;
		m->duration = cursor_be16(c);
		break;
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_PINGRESP:
	default:
		break;
	}
	if (c->err)
		return MQTTSN_ERR_TRUNCATED;
	if (cursor_left(c))
		return MQTTSN_ERR_TRAILING;
	return MQTTSN_ERR_NONE;
}

/* One message filling exactly @p len bytes; @p inner: inside an encapsulation. */
static int
decode_one(const uint8_t *buf, size_t len, struct mqttsn_msg *m, bool inner)
{
	struct cursor c;
	size_t hdr, total;
	enum mqttsn_err e;

	if (len < SHORT_HDR)
		return fail(m, MQTTSN_ERR_SHORT);
	if (buf[0] == LEN_MARK) {
		if (len < LONG_HDR)
			return fail(m, MQTTSN_ERR_SHORT);
		hdr = LONG_HDR;
		total = (size_t)buf[1] << 8 | buf[2];
	} else {
		hdr = SHORT_HDR;
		total = buf[0];
	}
	m->type = buf[hdr - 1];
	/* Before the length: a nested encapsulation's length means something else. */
	if (inner && m->type == MQTTSN_ENCAPSULATED)
		return fail(m, MQTTSN_ERR_NESTED);
	if (total != len || total < hdr)
		return fail(m, MQTTSN_ERR_LENGTH);
	if (type_slot[m->type] == 0 || m->type == MQTTSN_ENCAPSULATED)
		return fail(m, MQTTSN_ERR_TYPE);

	cursor_init(&c, buf + hdr, len - hdr);
	e = decode_body(&c, m);
	if (e == MQTTSN_ERR_NONE)
		e = check_fields(m);
	if (e != MQTTSN_ERR_NONE)
		return fail(m, e);
	return 0;
}

int
mqttsn_decode(const uint8_t *buf, size_t len, struct mqttsn_msg *m)
{
	size_t hlen;

	memset(m, 0, sizeof(*m));
	if (len >= SHORT_HDR && buf[0] != LEN_MARK && buf[1] == MQTTSN_ENCAPSULATED) {
		/* Spec 5.5: the length octet covers the encapsulation header only. */
		hlen = buf[0];
		if (hlen < ENCAP_HDR)
			return fail(m, MQTTSN_ERR_LENGTH);
		if (hlen > len)
			return fail(m, MQTTSN_ERR_TRUNCATED);
		m->encap.present = true;
		m->encap.ctrl = buf[2];
		if (m->encap.ctrl & ~MQTTSN_CTRL_RADIUS_MASK)
			return fail(m, MQTTSN_ERR_RESERVED);
		if (hlen > ENCAP_HDR) {
			m->encap.node_id.p = buf + ENCAP_HDR;
			m->encap.node_id.len = hlen - ENCAP_HDR;
		}
		m->encap.inner = (struct mqttsn_view){ buf + hlen, len - hlen };
		return decode_one(buf + hlen, len - hlen, m, true);
	}
	if (len >= LONG_HDR && buf[0] == LEN_MARK && buf[3] == MQTTSN_ENCAPSULATED)
		return fail(m, MQTTSN_ERR_ENCAP_FORM);
	return decode_one(buf, len, m, false);
}

/* ---- encoding ---- */

static inline int
enc_err(enum mqttsn_err e)
{
	return e == MQTTSN_ERR_NONE ? 0 : -EINVAL;
}

/*
 * Octets after MsgType for @p m, or a negative error. Views longer than a
 * message can be are refused first, so the sums below cannot overflow.
 */
static long
body_len(const struct mqttsn_msg *m)
{
	size_t v = m->data.len;
	int r;

	if (type_slot[m->type] == 0 || m->type == MQTTSN_ENCAPSULATED)
		return -EINVAL;
	r = enc_err(check_fields(m));
	if (r)
		return r;
	if (v > MQTTSN_MAX_LEN)
		v = MQTTSN_MAX_LEN + 1;	/* long enough to fail, small enough to add */

	switch (m->type) {
	case MQTTSN_ADVERTISE:
		return 3;
	case MQTTSN_SEARCHGW:
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		return 1;
	case MQTTSN_GWINFO:
		return 1 + (long)v;
	case MQTTSN_CONNECT:
		return 4 + (long)v;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		return v ? 1 + (long)v : 0;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
	case MQTTSN_PINGREQ:
		return (long)v;
	case MQTTSN_REGISTER:
		return 4 + (long)v;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
		return 5;
	case MQTTSN_PUBLISH:
		return 5 + (long)v;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		return 2;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		return topic_type(m->flags) == MQTTSN_TOPIC_NORMAL ? 3 + (long)v : 5;
	case MQTTSN_SUBACK:
		return 6;
	case MQTTSN_DISCONNECT:
		return m->has_duration ? 2 : 0;
	default:
		return 0;
	}
}

/* Total length of the message without encapsulation. */
static long
msg_len(const struct mqttsn_msg *m)
{
	long b = body_len(m);

	if (b < 0)
		return b;
	if (b + SHORT_HDR <= 255)
		return b + SHORT_HDR;
	if (b + LONG_HDR > MQTTSN_MAX_LEN)
		return -EMSGSIZE;
	return b + LONG_HDR;
}

static int
check_encap(uint8_t ctrl, size_t node_id_len)
{
	if (ctrl & ~MQTTSN_CTRL_RADIUS_MASK)
		return -EINVAL;
	if (node_id_len > MQTTSN_NODE_ID_MAX)
		return -EMSGSIZE;
	return 0;
}

int
mqttsn_encoded_len(const struct mqttsn_msg *m)
{
	long n = msg_len(m);
	int r;

	if (n < 0 || !m->encap.present)
		return (int)n;
	r = check_encap(m->encap.ctrl, m->encap.node_id.len);
	if (r)
		return r;
	return (int)(n + ENCAP_HDR + (long)m->encap.node_id.len);
}

static inline void
put_view(struct cursor *c, struct mqttsn_view v)
{
	if (v.len)
		cursor_put(c, v.p, v.len);
}

static void
put_header(struct cursor *c, size_t total, uint8_t type)
{
	if (total <= 255) {
		cursor_put_u8(c, (uint8_t)total);
	} else {
		cursor_put_u8(c, LEN_MARK);
		cursor_put_be16(c, (uint16_t)total);
	}
	cursor_put_u8(c, type);
}

int
mqttsn_encode_encap_header(uint8_t *buf, size_t cap, uint8_t ctrl, const uint8_t *node_id,
			   size_t node_id_len)
{
	size_t hlen = ENCAP_HDR + node_id_len;
	int r = check_encap(ctrl, node_id_len);

	if (r)
		return r;
	if (cap < hlen)
		return -ENOSPC;
	buf[0] = (uint8_t)hlen;
	buf[1] = MQTTSN_ENCAPSULATED;
	buf[2] = ctrl;
	if (node_id_len)
		memcpy(buf + ENCAP_HDR, node_id, node_id_len);
	return (int)hlen;
}

int
mqttsn_encode(uint8_t *buf, size_t cap, const struct mqttsn_msg *m)
{
	long total = mqttsn_encoded_len(m);
	struct cursor c;
	int h = 0;

	if (total < 0)
		return (int)total;
	if (cap < (size_t)total)
		return -ENOSPC;
	if (m->encap.present)
		h = mqttsn_encode_encap_header(buf, cap, m->encap.ctrl, m->encap.node_id.p,
					       m->encap.node_id.len);
	cursor_init(&c, buf + h, (size_t)total - (size_t)h);
	put_header(&c, (size_t)total - (size_t)h, m->type);

	switch (m->type) {
	case MQTTSN_ADVERTISE:
		cursor_put_u8(&c, m->gw_id);
		cursor_put_be16(&c, m->duration);
		break;
	case MQTTSN_SEARCHGW:
		cursor_put_u8(&c, m->radius);
		break;
	case MQTTSN_GWINFO:
		cursor_put_u8(&c, m->gw_id);
		put_view(&c, m->gw_addr);
		break;
	case MQTTSN_CONNECT:
		cursor_put_u8(&c, m->flags);
		cursor_put_u8(&c, m->protocol_id);
		cursor_put_be16(&c, m->duration);
		put_view(&c, m->client_id);
		break;
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		cursor_put_u8(&c, m->return_code);
		break;
	case MQTTSN_WILLTOPIC:
	case MQTTSN_WILLTOPICUPD:
		if (m->will_topic.len) {
			cursor_put_u8(&c, m->flags);
			put_view(&c, m->will_topic);
		}
		break;
	case MQTTSN_WILLMSG:
	case MQTTSN_WILLMSGUPD:
	case MQTTSN_PINGREQ:
		put_view(&c, m->data);
		break;
	case MQTTSN_REGISTER:
		cursor_put_be16(&c, m->topic_id);
		cursor_put_be16(&c, m->msg_id);
		put_view(&c, m->topic_name);
		break;
	case MQTTSN_REGACK:
	case MQTTSN_PUBACK:
		cursor_put_be16(&c, m->topic_id);
		cursor_put_be16(&c, m->msg_id);
		cursor_put_u8(&c, m->return_code);
		break;
	case MQTTSN_PUBLISH:
		cursor_put_u8(&c, m->flags);
		cursor_put_be16(&c, m->topic_id);
		cursor_put_be16(&c, m->msg_id);
		put_view(&c, m->data);
		break;
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_UNSUBACK:
		cursor_put_be16(&c, m->msg_id);
		break;
	case MQTTSN_SUBSCRIBE:
	case MQTTSN_UNSUBSCRIBE:
		cursor_put_u8(&c, m->flags);
		cursor_put_be16(&c, m->msg_id);
		if (topic_type(m->flags) == MQTTSN_TOPIC_NORMAL)
			put_view(&c, m->topic_name);
		else
			cursor_put_be16(&c, m->topic_id);
		break;
	case MQTTSN_SUBACK:
		cursor_put_u8(&c, m->flags);
		cursor_put_be16(&c, m->topic_id);
		cursor_put_be16(&c, m->msg_id);
		cursor_put_u8(&c, m->return_code);
		break;
	case MQTTSN_DISCONNECT:
		if (m->has_duration)
			cursor_put_be16(&c, m->duration);
		break;
	default:
		break;
	}
	/* The length was computed from the same fields: a mismatch is a bug here. */
	if (c.err || cursor_left(&c))
		return -EINVAL;
	return (int)total;
}

int
mqttsn_encode_publish_header(uint8_t *buf, size_t cap, uint8_t flags, uint16_t topic_id,
			     uint16_t msg_id, size_t data_len)
{
	struct mqttsn_msg m = {
		.type = MQTTSN_PUBLISH,
		.flags = flags,
	};
	size_t hdr = mqttsn_publish_header_len(data_len);
	struct cursor c;

	if (check_fields(&m) != MQTTSN_ERR_NONE)
		return -EINVAL;
	if (data_len > MQTTSN_MAX_LEN - MQTTSN_PUBLISH_HDR_MAX)
		return -EMSGSIZE;
	if (cap < hdr)
		return -ENOSPC;
	cursor_init(&c, buf, hdr);
	put_header(&c, hdr + data_len, MQTTSN_PUBLISH);
	cursor_put_u8(&c, flags);
	cursor_put_be16(&c, topic_id);
	cursor_put_be16(&c, msg_id);
	return (int)hdr;
}
