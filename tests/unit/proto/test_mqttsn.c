/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN codec against hand-written bytes.
 *
 * Every vector's bytes are typed in from the message formats of the MQTT-SN
 * v1.2 specification (section 5), never produced by the encoder, and each
 * vector is checked both ways: decode(bytes) == fields and
 * encode(fields) == bytes. Then every bad-input class the decoder names
 * (FOREACH_MQTTSN_ERR) is reached by crafted datagrams, and every proper
 * prefix of every valid vector is decoded from a heap copy of exactly that
 * length, so an ASan build catches any read past the datagram.
 */
#include <errno.h>
#include <stdlib.h>

#include "proto/errcode.h"
#include "proto/mqttsn.h"
#include "tests/unit/tap.h"

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define V(s) { (const uint8_t *)(s), sizeof(s) - 1 }

struct vector {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	struct mqttsn_msg m;
};

static const struct vector vectors[] = {
	{ "ADVERTISE gw 42, 900 s", B(0x05, 0x00, 0x2a, 0x03, 0x84),
	  { .type = MQTTSN_ADVERTISE, .gw_id = 42, .duration = 900 } },
	{ "SEARCHGW radius 2", B(0x03, 0x01, 0x02),
	  { .type = MQTTSN_SEARCHGW, .radius = 2 } },
	{ "GWINFO from a gateway (no address)", B(0x03, 0x02, 0x07),
	  { .type = MQTTSN_GWINFO, .gw_id = 7 } },
	{ "GWINFO from a client (address)", B(0x07, 0x02, 0x07, 0xc0, 0x00, 0x02, 0x01),
	  { .type = MQTTSN_GWINFO, .gw_id = 7, .gw_addr = V("\xc0\x00\x02\x01") } },
	{ "CONNECT clean, 60 s, \"client\"",
	  B(0x0c, 0x04, 0x04, 0x01, 0x00, 0x3c, 'c', 'l', 'i', 'e', 'n', 't'),
	  { .type = MQTTSN_CONNECT, .flags = MQTTSN_FLAG_CLEAN, .protocol_id = 1,
	    .duration = 60, .client_id = V("client") } },
	{ "CONNECT will+clean, 1-octet client id", B(0x07, 0x04, 0x0c, 0x01, 0x00, 0x0a, 'x'),
	  { .type = MQTTSN_CONNECT, .flags = MQTTSN_FLAG_WILL | MQTTSN_FLAG_CLEAN,
	    .protocol_id = 1, .duration = 10, .client_id = V("x") } },
	{ "CONNECT protocol id 2 is reported, not refused",
	  B(0x07, 0x04, 0x00, 0x02, 0x00, 0x0a, 'x'),
	  { .type = MQTTSN_CONNECT, .protocol_id = 2, .duration = 10, .client_id = V("x") } },
	{ "CONNACK accepted", B(0x03, 0x05, 0x00),
	  { .type = MQTTSN_CONNACK, .return_code = MQTTSN_RC_ACCEPTED } },
	{ "WILLTOPICREQ", B(0x02, 0x06), { .type = MQTTSN_WILLTOPICREQ } },
	{ "WILLTOPIC qos 1 retain \"a/b/c\"", B(0x08, 0x07, 0x30, 'a', '/', 'b', '/', 'c'),
	  { .type = MQTTSN_WILLTOPIC, .flags = MQTTSN_FLAG_QOS(1) | MQTTSN_FLAG_RETAIN,
	    .will_topic = V("a/b/c") } },
	{ "WILLTOPIC empty (delete the will)", B(0x02, 0x07), { .type = MQTTSN_WILLTOPIC } },
	{ "WILLMSGREQ", B(0x02, 0x08), { .type = MQTTSN_WILLMSGREQ } },
	{ "WILLMSG \"bye!\"", B(0x06, 0x09, 'b', 'y', 'e', '!'),
	  { .type = MQTTSN_WILLMSG, .will_msg = V("bye!") } },
	{ "WILLMSG empty", B(0x02, 0x09), { .type = MQTTSN_WILLMSG } },
	{ "REGISTER from a client", B(0x0b, 0x0a, 0x00, 0x00, 0x00, 0x01, 'a', '/', 'b', '/', 'c'),
	  { .type = MQTTSN_REGISTER, .msg_id = 1, .topic_name = V("a/b/c") } },
	{ "REGISTER from a gateway", B(0x07, 0x0a, 0x12, 0x34, 0xab, 0xcd, 'z'),
	  { .type = MQTTSN_REGISTER, .topic_id = 0x1234, .msg_id = 0xabcd,
	    .topic_name = V("z") } },
	{ "REGACK accepted", B(0x07, 0x0b, 0x00, 0x05, 0x00, 0x01, 0x00),
	  { .type = MQTTSN_REGACK, .topic_id = 5, .msg_id = 1 } },
	{ "REGACK invalid topic id", B(0x07, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x02),
	  { .type = MQTTSN_REGACK, .msg_id = 1, .return_code = MQTTSN_RC_INVALID_TOPIC_ID } },
	{ "PUBLISH qos 1 topic 5 \"hello\"",
	  B(0x0c, 0x0c, 0x20, 0x00, 0x05, 0x00, 0x02, 'h', 'e', 'l', 'l', 'o'),
	  { .type = MQTTSN_PUBLISH, .flags = MQTTSN_FLAG_QOS(1), .topic_id = 5, .msg_id = 2,
	    .data = V("hello") } },
	{ "PUBLISH qos -1 short topic \"t1\"", B(0x09, 0x0c, 0x62, 't', '1', 0x00, 0x00, 'h', 'i'),
	  { .type = MQTTSN_PUBLISH, .flags = MQTTSN_FLAG_QOS(-1) | MQTTSN_TOPIC_SHORT,
	    .topic_id = MQTTSN_SHORT_TOPIC('t', '1'), .data = V("hi") } },
	{ "PUBLISH qos -1 predefined, dup+retain", B(0x08, 0x0c, 0xf1, 0x00, 0x07, 0x00, 0x00, 'x'),
	  { .type = MQTTSN_PUBLISH,
	    .flags = MQTTSN_FLAG_DUP | MQTTSN_FLAG_QOS(-1) | MQTTSN_FLAG_RETAIN |
		     MQTTSN_TOPIC_PREDEFINED,
	    .topic_id = 7, .data = V("x") } },
	{ "PUBLISH qos 2, no data", B(0x07, 0x0c, 0x40, 0x00, 0x05, 0x00, 0x09),
	  { .type = MQTTSN_PUBLISH, .flags = MQTTSN_FLAG_QOS(2), .topic_id = 5, .msg_id = 9 } },
	{ "PUBACK congestion", B(0x07, 0x0d, 0x00, 0x05, 0x00, 0x02, 0x01),
	  { .type = MQTTSN_PUBACK, .topic_id = 5, .msg_id = 2,
	    .return_code = MQTTSN_RC_CONGESTION } },
	{ "PUBCOMP", B(0x04, 0x0e, 0x00, 0x03), { .type = MQTTSN_PUBCOMP, .msg_id = 3 } },
	{ "PUBREC", B(0x04, 0x0f, 0x01, 0x00), { .type = MQTTSN_PUBREC, .msg_id = 0x100 } },
	{ "PUBREL", B(0x04, 0x10, 0xff, 0xff), { .type = MQTTSN_PUBREL, .msg_id = 0xffff } },
	{ "SUBSCRIBE qos 1 topic name \"a/#\"", B(0x08, 0x12, 0x20, 0x00, 0x04, 'a', '/', '#'),
	  { .type = MQTTSN_SUBSCRIBE, .flags = MQTTSN_FLAG_QOS(1), .msg_id = 4,
	    .topic_name = V("a/#") } },
	{ "SUBSCRIBE qos 2 predefined 7", B(0x07, 0x12, 0x41, 0x00, 0x04, 0x00, 0x07),
	  { .type = MQTTSN_SUBSCRIBE, .flags = MQTTSN_FLAG_QOS(2) | MQTTSN_TOPIC_PREDEFINED,
	    .msg_id = 4, .topic_id = 7 } },
	{ "SUBSCRIBE dup short \"t1\"", B(0x07, 0x12, 0x82, 0x00, 0x04, 't', '1'),
	  { .type = MQTTSN_SUBSCRIBE, .flags = MQTTSN_FLAG_DUP | MQTTSN_TOPIC_SHORT,
	    .msg_id = 4, .topic_id = MQTTSN_SHORT_TOPIC('t', '1') } },
	{ "SUBACK qos 1 granted", B(0x08, 0x13, 0x20, 0x00, 0x05, 0x00, 0x04, 0x00),
	  { .type = MQTTSN_SUBACK, .flags = MQTTSN_FLAG_QOS(1), .topic_id = 5, .msg_id = 4 } },
	{ "UNSUBSCRIBE topic name", B(0x08, 0x14, 0x00, 0x00, 0x06, 'a', '/', '#'),
	  { .type = MQTTSN_UNSUBSCRIBE, .msg_id = 6, .topic_name = V("a/#") } },
	{ "UNSUBSCRIBE predefined", B(0x07, 0x14, 0x01, 0x00, 0x06, 0x00, 0x07),
	  { .type = MQTTSN_UNSUBSCRIBE, .flags = MQTTSN_TOPIC_PREDEFINED, .msg_id = 6,
	    .topic_id = 7 } },
	{ "UNSUBACK", B(0x04, 0x15, 0x00, 0x06), { .type = MQTTSN_UNSUBACK, .msg_id = 6 } },
	{ "PINGREQ", B(0x02, 0x16), { .type = MQTTSN_PINGREQ } },
	{ "PINGREQ of a sleeping client", B(0x08, 0x16, 'c', 'l', 'i', 'e', 'n', 't'),
	  { .type = MQTTSN_PINGREQ, .client_id = V("client") } },
	{ "PINGRESP", B(0x02, 0x17), { .type = MQTTSN_PINGRESP } },
	{ "DISCONNECT", B(0x02, 0x18), { .type = MQTTSN_DISCONNECT } },
	{ "DISCONNECT sleep 3600 s", B(0x04, 0x18, 0x0e, 0x10),
	  { .type = MQTTSN_DISCONNECT, .has_duration = true, .duration = 3600 } },
	{ "DISCONNECT duration 0 is not absent", B(0x04, 0x18, 0x00, 0x00),
	  { .type = MQTTSN_DISCONNECT, .has_duration = true } },
	{ "WILLTOPICUPD retain \"w/t\"", B(0x06, 0x1a, 0x10, 'w', '/', 't'),
	  { .type = MQTTSN_WILLTOPICUPD, .flags = MQTTSN_FLAG_RETAIN, .will_topic = V("w/t") } },
	{ "WILLTOPICUPD empty", B(0x02, 0x1a), { .type = MQTTSN_WILLTOPICUPD } },
	{ "WILLTOPICRESP", B(0x03, 0x1b, 0x00), { .type = MQTTSN_WILLTOPICRESP } },
	{ "WILLMSGUPD \"new\"", B(0x05, 0x1c, 'n', 'e', 'w'),
	  { .type = MQTTSN_WILLMSGUPD, .will_msg = V("new") } },
	{ "WILLMSGRESP not supported", B(0x03, 0x1d, 0x03),
	  { .type = MQTTSN_WILLMSGRESP, .return_code = MQTTSN_RC_NOT_SUPPORTED } },
	{ "ENCAPSULATED PUBCOMP, radius 1, node id ab cd",
	  B(0x05, 0xfe, 0x01, 0xab, 0xcd, 0x04, 0x0e, 0x00, 0x03),
	  { .type = MQTTSN_PUBCOMP, .msg_id = 3,
	    .encap = { .present = true, .ctrl = 1, .node_id = V("\xab\xcd") } } },
	{ "ENCAPSULATED PUBLISH, empty node id",
	  B(0x03, 0xfe, 0x00, 0x08, 0x0c, 0x00, 0x00, 0x05, 0x00, 0x00, 'x'),
	  { .type = MQTTSN_PUBLISH, .topic_id = 5, .data = V("x"),
	    .encap = { .present = true } } },
};

#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

static int
view_eq(struct mqttsn_view a, struct mqttsn_view b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* The first field in which two messages differ (encap.inner and err aside), or NULL. */
static const char *
msg_diff(const struct mqttsn_msg *a, const struct mqttsn_msg *b)
{
	if (a->type != b->type)
		return "type";
	if (a->flags != b->flags)
		return "flags";
	if (a->return_code != b->return_code)
		return "return_code";
	if (a->protocol_id != b->protocol_id)
		return "protocol_id";
	if (a->gw_id != b->gw_id)
		return "gw_id";
	if (a->radius != b->radius)
		return "radius";
	if (a->has_duration != b->has_duration)
		return "has_duration";
	if (a->duration != b->duration)
		return "duration";
	if (a->topic_id != b->topic_id)
		return "topic_id";
	if (a->msg_id != b->msg_id)
		return "msg_id";
	if (!view_eq(a->data, b->data))
		return "variable part";
	if (a->encap.present != b->encap.present)
		return "encap.present";
	if (a->encap.ctrl != b->encap.ctrl)
		return "encap.ctrl";
	if (!view_eq(a->encap.node_id, b->encap.node_id))
		return "encap.node_id";
	return NULL;
}

/* Decode from a heap copy of exactly @p len bytes, so ASan sees any overread. */
static int
decode_exact(const uint8_t *bytes, size_t len, struct mqttsn_msg *m, uint8_t **copy)
{
	uint8_t *p = malloc(len ? len : 1);
	int r;

	if (!p)
		abort();
	if (len)
		memcpy(p, bytes, len);
	r = mqttsn_decode(p, len, m);
	if (copy)
		*copy = p;
	else
		free(p);
	return r;
}

static void
test_vectors(void)
{
	uint8_t buf[512];
	size_t i, n;

	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		struct mqttsn_msg m;
		uint8_t *copy;
		const char *d;
		int r;

		r = decode_exact(v->bytes, v->len, &m, &copy);
		is_int(r, 0, "decode %s", v->name);
		d = msg_diff(&m, &v->m);
		if (!ok(d == NULL, "decode %s: fields", v->name))
			printf("#   differs in %s (err %s)\n", d, mqttsn_err_name(m.err));
		is_int(m.err, MQTTSN_ERR_NONE, "decode %s: err is NONE", v->name);
		ok(m.data.len == 0 || (m.data.p >= copy && m.data.p + m.data.len <= copy + v->len),
		   "decode %s: the view points into the datagram", v->name);
		free(copy);

		r = mqttsn_encoded_len(&v->m);
		is_int(r, v->len, "encoded_len %s", v->name);
		memset(buf, 0xee, sizeof(buf));
		r = mqttsn_encode(buf, sizeof(buf), &v->m);
		is_int(r, v->len, "encode %s: length", v->name);
		is_mem(buf, v->bytes, v->len, "encode %s: bytes", v->name);
		is_int(buf[v->len], 0xee, "encode %s: nothing written past the message", v->name);
		is_int(mqttsn_encode(buf, v->len - 1, &v->m), -ENOSPC,
		       "encode %s: one octet short is -ENOSPC", v->name);
		is_int(mqttsn_peek_type(v->bytes, v->len), v->m.encap.present ? 0xfe : v->m.type,
		       "peek_type %s", v->name);
	}

	/* Every proper prefix of a valid datagram is refused, without overreads. */
	for (i = 0; i < NVEC; i++) {
		const struct vector *v = &vectors[i];
		int bad = 0;

		for (n = 0; n < v->len; n++) {
			struct mqttsn_msg m;
			int r = decode_exact(v->bytes, n, &m, NULL);

			if (r != -EMSGSIZE && r != -EINVAL)
				bad++;
			if (r == 0 || m.err == MQTTSN_ERR_NONE ||
			    r != mqttsn_err_code((enum mqttsn_err)m.err))
				bad++;
		}
		is_int(bad, 0, "every prefix of %s is refused with a named reason", v->name);
	}
}

static void
test_encap_inner(void)
{
	static const uint8_t dg[] = { 0x05, 0xfe, 0x01, 0xab, 0xcd, 0x04, 0x0e, 0x00, 0x03 };
	static const uint8_t inner[] = { 0x04, 0x0e, 0x00, 0x03 };
	static const uint8_t node[] = { 0xab, 0xcd };
	struct mqttsn_msg m;
	uint8_t buf[32];

	is_int(mqttsn_decode(dg, sizeof(dg), &m), 0, "encapsulated: decodes");
	ok(m.encap.inner.p == dg + 5 && m.encap.inner.len == 4,
	   "encapsulated: inner view is the inner message's bytes");
	is_int(m.type, MQTTSN_PUBCOMP, "encapsulated: type is the inner type");

	/* Wrap an already-encoded message: header, then the message after it. */
	is_int(mqttsn_encode_encap_header(buf, sizeof(buf), 0x01, node, 2), 5,
	       "encap header: 3 + node id octets");
	memcpy(buf + 5, inner, sizeof(inner));
	is_mem(buf, dg, sizeof(dg), "encap header + message = the encapsulated datagram");
	is_int(mqttsn_encode_encap_header(buf, 4, 0x01, node, 2), -ENOSPC, "encap header: -ENOSPC");
	is_int(mqttsn_encode_encap_header(buf, sizeof(buf), 0x04, node, 2), -EINVAL,
	       "encap header: reserved ctrl bits are -EINVAL");
	is_int(mqttsn_encode_encap_header(buf, sizeof(buf), 0, NULL, 0), 3,
	       "encap header: empty node id");
	is_mem(buf, ((const uint8_t[]){ 0x03, 0xfe, 0x00 }), 3,
	       "encap header: empty node id bytes");
}

/* Length forms: the 255/256 boundary, the 3-octet form, its limits. */
static void
test_length_forms(void)
{
	static uint8_t data[65536], buf[65536 + 16];
	struct mqttsn_msg m = { .type = MQTTSN_PUBLISH, .flags = MQTTSN_FLAG_QOS(1),
				.topic_id = 0x0102, .msg_id = 0x0304 };
	struct mqttsn_msg d;
	uint8_t hdr[MQTTSN_PUBLISH_HDR_MAX];
	size_t i;
	int r;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	m.data.p = data;

	/* 7 + 248 = 255: the largest 1-octet form. */
	m.data.len = 248;
	r = mqttsn_encode(buf, sizeof(buf), &m);
	is_int(r, 255, "PUBLISH of 255 octets: 1-octet length form");
	is_mem(buf, ((const uint8_t[]){ 0xff, 0x0c, 0x20, 0x01, 0x02, 0x03, 0x04 }), 7,
	       "255-octet PUBLISH header bytes");
	is_int(mqttsn_decode(buf, 255, &d), 0, "255-octet PUBLISH decodes");
	ok(d.data.p == buf + 7 && d.data.len == 248, "255-octet PUBLISH: data view");
	is_int(mqttsn_publish_header_len(248), 7, "publish_header_len(248) = 7");
	is_int(mqttsn_encode_publish_header(hdr, sizeof(hdr), 0x20, 0x0102, 0x0304, 248), 7,
	       "publish header for 248 octets of data");
	is_mem(hdr, buf, 7, "publish header = the full encoder's first 7 octets");

	/* 7 + 249 = 256 does not fit one octet: 3-octet form, 9 + 249 = 258. */
	m.data.len = 249;
	r = mqttsn_encode(buf, sizeof(buf), &m);
	is_int(r, 258, "PUBLISH with 249 octets of data: 3-octet form, 258 octets");
	is_mem(buf, ((const uint8_t[]){ 0x01, 0x01, 0x02, 0x0c, 0x20, 0x01, 0x02, 0x03, 0x04 }), 9,
	       "258-octet PUBLISH header bytes");
	is_mem(buf + 9, data, 249, "258-octet PUBLISH data");
	is_int(mqttsn_decode(buf, 258, &d), 0, "258-octet PUBLISH decodes");
	ok(d.data.p == buf + 9 && d.data.len == 249 && d.topic_id == 0x0102 && d.msg_id == 0x0304,
	   "258-octet PUBLISH: fields and data view");
	is_int(mqttsn_publish_header_len(249), 9, "publish_header_len(249) = 9");
	is_int(mqttsn_encode_publish_header(hdr, sizeof(hdr), 0x20, 0x0102, 0x0304, 249), 9,
	       "publish header for 249 octets of data");
	is_mem(hdr, buf, 9, "long publish header = the full encoder's first 9 octets");
	is_int(mqttsn_encode_publish_header(hdr, 8, 0x20, 1, 1, 249), -ENOSPC,
	       "publish header: -ENOSPC");
	is_int(mqttsn_encode_publish_header(hdr, sizeof(hdr), 0x60, 1, 1, 1), -EINVAL,
	       "publish header: QoS -1 with a normal topic id is -EINVAL");
	is_int(mqttsn_encode_publish_header(hdr, sizeof(hdr), 0x03, 1, 1, 1), -EINVAL,
	       "publish header: topic id type 3 is -EINVAL");
	is_int(mqttsn_encode_publish_header(hdr, sizeof(hdr), 0x20, 1, 1, 65527), -EMSGSIZE,
	       "publish header: 65536 octets is -EMSGSIZE");

	/* The largest message: 65535 octets. */
	m.data.len = 65535 - 9;
	r = mqttsn_encode(buf, sizeof(buf), &m);
	is_int(r, 65535, "PUBLISH of 65535 octets encodes");
	is_mem(buf, ((const uint8_t[]){ 0x01, 0xff, 0xff, 0x0c }), 4, "65535-octet header");
	is_int(mqttsn_decode(buf, 65535, &d), 0, "65535-octet PUBLISH decodes");
	is_int(d.data.len, 65526, "65535-octet PUBLISH: data length");
	m.data.len = 65535 - 8;
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EMSGSIZE, "65536-octet PUBLISH: -EMSGSIZE");
	is_int(mqttsn_encoded_len(&m), -EMSGSIZE, "65536-octet PUBLISH: encoded_len -EMSGSIZE");
	m.data.len = (size_t)-1;
	is_int(mqttsn_encoded_len(&m), -EMSGSIZE, "SIZE_MAX data: -EMSGSIZE, no overflow");

	/* The 3-octet form below 256 octets is accepted (spec 5.2.1: "may use"). */
	{
		static const uint8_t pingresp3[] = { 0x01, 0x00, 0x04, 0x17 };
		static const uint8_t pub3[] = { 0x01, 0x00, 0x0a, 0x0c, 0x00, 0x00, 0x05, 0x00,
						0x00, 'x' };

		is_int(mqttsn_decode(pingresp3, sizeof(pingresp3), &d), 0,
		       "3-octet form PINGRESP (length 4) decodes");
		is_int(d.type, MQTTSN_PINGRESP, "3-octet form PINGRESP: type");
		is_int(mqttsn_decode(pub3, sizeof(pub3), &d), 0,
		       "3-octet form short PUBLISH decodes");
		ok(d.data.len == 1 && d.data.p == pub3 + 9 && d.topic_id == 5,
		   "3-octet form short PUBLISH: fields");
		is_int(mqttsn_encode(buf, sizeof(buf), &d), 8,
		       "re-encoding it chooses the 1-octet form");
		is_mem(buf, ((const uint8_t[]){ 0x08, 0x0c, 0x00, 0x00, 0x05, 0x00, 0x00, 'x' }), 8,
		       "1-octet form bytes");
		is_int(mqttsn_peek_type(pub3, sizeof(pub3)), 0x0c, "peek_type past a 0x01 marker");
		is_int(mqttsn_peek_type(pub3, 3), -EMSGSIZE,
		       "peek_type on 3 octets of a long form");
		is_int(mqttsn_peek_type(pub3, 1), -EMSGSIZE, "peek_type on 1 octet");
		is_int(mqttsn_peek_type(pingresp3 + 3, 0), -EMSGSIZE, "peek_type on 0 octets");
	}
}

struct bad {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	enum mqttsn_err err;
};

static const struct bad bads[] = {
	/* header */
	{ "empty datagram", (const uint8_t *)"", 0, MQTTSN_ERR_SHORT },
	{ "1-octet datagram", B(0x02), MQTTSN_ERR_SHORT },
	{ "0x01 length marker alone", B(0x01), MQTTSN_ERR_SHORT },
	{ "0x01 marker and one octet", B(0x01, 0x00), MQTTSN_ERR_SHORT },
	{ "0x01 marker and the length, no type", B(0x01, 0x00, 0x03), MQTTSN_ERR_SHORT },
	{ "length field bigger than the datagram", B(0x05, 0x0e, 0x00, 0x03), MQTTSN_ERR_LENGTH },
	{ "length field smaller than the datagram", B(0x03, 0x0e, 0x00, 0x03), MQTTSN_ERR_LENGTH },
	{ "2-octet datagram, length 3", B(0x03, 0x17), MQTTSN_ERR_LENGTH },
	{ "length 0", B(0x00, 0x16), MQTTSN_ERR_LENGTH },
	{ "3-octet form bigger than the datagram", B(0x01, 0x00, 0x05, 0x17), MQTTSN_ERR_LENGTH },
	{ "3-octet form smaller than the datagram", B(0x01, 0x00, 0x04, 0x17, 0x00),
	  MQTTSN_ERR_LENGTH },
	{ "3-octet form length 3 (below its header)", B(0x01, 0x00, 0x03, 0x17),
	  MQTTSN_ERR_LENGTH },
	{ "3-octet form length 0x0104 on 4 octets", B(0x01, 0x01, 0x04, 0x17), MQTTSN_ERR_LENGTH },
	{ "1-octet length of a 300-octet datagram is not read mod 256", NULL, 300,
	  MQTTSN_ERR_LENGTH },
	/* type */
	{ "type 0x03 (reserved)", B(0x02, 0x03), MQTTSN_ERR_TYPE },
	{ "type 0x11 (reserved)", B(0x02, 0x11), MQTTSN_ERR_TYPE },
	{ "type 0x19 (reserved)", B(0x02, 0x19), MQTTSN_ERR_TYPE },
	{ "type 0x1e (reserved)", B(0x02, 0x1e), MQTTSN_ERR_TYPE },
	{ "type 0xfd (reserved)", B(0x02, 0xfd), MQTTSN_ERR_TYPE },
	{ "type 0xff (reserved)", B(0x02, 0xff), MQTTSN_ERR_TYPE },
	{ "type 0x03 in the 3-octet form", B(0x01, 0x00, 0x04, 0x03), MQTTSN_ERR_TYPE },
	/* variable parts */
	{ "CONNECT with a zero-length client id", B(0x06, 0x04, 0x04, 0x01, 0x00, 0x3c),
	  MQTTSN_ERR_EMPTY },
	{ "REGISTER with an empty topic name", B(0x06, 0x0a, 0x00, 0x00, 0x00, 0x01),
	  MQTTSN_ERR_EMPTY },
	{ "WILLTOPIC with flags and no topic", B(0x03, 0x07, 0x00), MQTTSN_ERR_EMPTY },
	{ "WILLTOPICUPD with flags and no topic", B(0x03, 0x1a, 0x10), MQTTSN_ERR_EMPTY },
	{ "SUBSCRIBE topic name empty", B(0x05, 0x12, 0x00, 0x00, 0x01), MQTTSN_ERR_EMPTY },
	{ "UNSUBSCRIBE topic name empty", B(0x05, 0x14, 0x00, 0x00, 0x01), MQTTSN_ERR_EMPTY },
	{ "SUBSCRIBE predefined, 1-octet topic id", B(0x06, 0x12, 0x01, 0x00, 0x01, 0x07),
	  MQTTSN_ERR_TRUNCATED },
	{ "SUBSCRIBE predefined, 3 octets of topic id", B(0x08, 0x12, 0x01, 0x00, 0x01, 0, 7, 0),
	  MQTTSN_ERR_TRAILING },
	{ "SUBSCRIBE short, no topic", B(0x05, 0x12, 0x02, 0x00, 0x01), MQTTSN_ERR_TRUNCATED },
	{ "UNSUBSCRIBE short, 1-octet topic", B(0x06, 0x14, 0x02, 0x00, 0x01, 't'),
	  MQTTSN_ERR_TRUNCATED },
	{ "DISCONNECT with a 1-octet duration", B(0x03, 0x18, 0x00), MQTTSN_ERR_TRUNCATED },
	{ "DISCONNECT with 3 octets after the type", B(0x05, 0x18, 0x00, 0x01, 0x02),
	  MQTTSN_ERR_TRAILING },
	/* values */
	{ "CONNACK return code 4", B(0x03, 0x05, 0x04), MQTTSN_ERR_RESERVED },
	{ "REGACK return code 0xff", B(0x07, 0x0b, 0, 1, 0, 1, 0xff), MQTTSN_ERR_RESERVED },
	{ "PUBACK return code 4", B(0x07, 0x0d, 0, 1, 0, 1, 0x04), MQTTSN_ERR_RESERVED },
	{ "SUBACK return code 4", B(0x08, 0x13, 0x00, 0, 1, 0, 1, 0x04), MQTTSN_ERR_RESERVED },
	{ "WILLTOPICRESP return code 4", B(0x03, 0x1b, 0x04), MQTTSN_ERR_RESERVED },
	{ "WILLMSGRESP return code 4", B(0x03, 0x1d, 0x04), MQTTSN_ERR_RESERVED },
	{ "PUBLISH topic id type 3", B(0x07, 0x0c, 0x03, 0, 1, 0, 0), MQTTSN_ERR_TOPIC_TYPE },
	{ "PUBLISH QoS -1 with a normal topic id", B(0x07, 0x0c, 0x60, 0, 1, 0, 0),
	  MQTTSN_ERR_TOPIC_TYPE },
	{ "SUBSCRIBE topic id type 3", B(0x07, 0x12, 0x03, 0, 1, 0, 7), MQTTSN_ERR_TOPIC_TYPE },
	{ "UNSUBSCRIBE topic id type 3", B(0x07, 0x14, 0x03, 0, 1, 0, 7), MQTTSN_ERR_TOPIC_TYPE },
	{ "SUBSCRIBE QoS -1", B(0x06, 0x12, 0x60, 0, 1, 'a'), MQTTSN_ERR_QOS },
	{ "SUBACK QoS -1", B(0x08, 0x13, 0x60, 0, 1, 0, 1, 0x00), MQTTSN_ERR_QOS },
	{ "WILLTOPIC QoS -1", B(0x04, 0x07, 0x60, 'w'), MQTTSN_ERR_QOS },
	{ "WILLTOPICUPD QoS -1", B(0x04, 0x1a, 0x60, 'w'), MQTTSN_ERR_QOS },
	/* encapsulation */
	{ "encapsulated: truncated node id", B(0x06, 0xfe, 0x00, 0xab), MQTTSN_ERR_TRUNCATED },
	{ "encapsulated: header length 2", B(0x02, 0xfe, 0x02, 0x17), MQTTSN_ERR_LENGTH },
	{ "encapsulated: header length 0", B(0x00, 0xfe, 0x02, 0x17), MQTTSN_ERR_LENGTH },
	{ "encapsulated: no inner message", B(0x05, 0xfe, 0x00, 0xab, 0xcd), MQTTSN_ERR_SHORT },
	{ "encapsulated: 1-octet inner message", B(0x03, 0xfe, 0x00, 0x02), MQTTSN_ERR_SHORT },
	{ "encapsulated: reserved ctrl bits", B(0x03, 0xfe, 0x04, 0x02, 0x17),
	  MQTTSN_ERR_RESERVED },
	{ "encapsulated: nested", B(0x03, 0xfe, 0x00, 0x03, 0xfe, 0x00, 0x02, 0x17),
	  MQTTSN_ERR_NESTED },
	{ "encapsulated: nested in the 3-octet form", B(0x03, 0xfe, 0x00, 0x01, 0x00, 0x04, 0xfe),
	  MQTTSN_ERR_NESTED },
	{ "encapsulated: inner length bigger than the rest", B(0x03, 0xfe, 0x00, 0x03, 0x17),
	  MQTTSN_ERR_LENGTH },
	{ "encapsulated: inner unknown type", B(0x03, 0xfe, 0x00, 0x02, 0x03), MQTTSN_ERR_TYPE },
	{ "encapsulated: inner truncated PUBCOMP", B(0x03, 0xfe, 0x00, 0x03, 0x0e, 0x00),
	  MQTTSN_ERR_TRUNCATED },
	{ "encapsulation header in the 3-octet form", B(0x01, 0x00, 0x05, 0xfe, 0x00, 0x02, 0x17),
	  MQTTSN_ERR_ENCAP_FORM },
};

static void
test_bad(void)
{
	static uint8_t big[300];
	bool reached[MQTTSN_ERR_MAX] = { false };
	size_t i;
	int e;

	big[0] = 300 & 0xff;	/* 44: a length octet that is 300 modulo 256 */
	big[1] = MQTTSN_PUBLISH;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct mqttsn_msg m;
		int r = decode_exact(b->bytes ? b->bytes : big, b->len, &m, NULL);

		is_int(r, mqttsn_err_code(b->err), "%s: %s", b->name, tern_strerror(r));
		if (!ok(m.err == b->err, "%s: reason %s", b->name, mqttsn_err_name(b->err)))
			printf("#   got %s\n", mqttsn_err_name((enum mqttsn_err)m.err));
		reached[m.err] = true;
	}
	for (e = 1; e < MQTTSN_ERR_MAX; e++)
		ok(reached[e], "decode error %s is reached by a test", mqttsn_err_name(e));
}

/*
 * For every type with a fixed part, every body shorter than it (all zero, so
 * no value check fires first) is TRUNCATED, and for every fixed-size type one
 * octet more is TRAILING.
 */
static void
test_fixed_parts(void)
{
	static const struct {
		uint8_t type;
		uint8_t min;     /* octets after MsgType */
		bool exact;
	} fixed[] = {
		{ MQTTSN_ADVERTISE, 3, true },     { MQTTSN_SEARCHGW, 1, true },
		{ MQTTSN_GWINFO, 1, false },       { MQTTSN_CONNECT, 4, false },
		{ MQTTSN_CONNACK, 1, true },       { MQTTSN_WILLTOPICREQ, 0, true },
		{ MQTTSN_WILLMSGREQ, 0, true },    { MQTTSN_REGISTER, 4, false },
		{ MQTTSN_REGACK, 5, true },        { MQTTSN_PUBLISH, 5, false },
		{ MQTTSN_PUBACK, 5, true },        { MQTTSN_PUBCOMP, 2, true },
		{ MQTTSN_PUBREC, 2, true },        { MQTTSN_PUBREL, 2, true },
		{ MQTTSN_SUBSCRIBE, 3, false },    { MQTTSN_SUBACK, 6, true },
		{ MQTTSN_UNSUBSCRIBE, 3, false },  { MQTTSN_UNSUBACK, 2, true },
		{ MQTTSN_PINGRESP, 0, true },      { MQTTSN_WILLTOPICRESP, 1, true },
		{ MQTTSN_WILLMSGRESP, 1, true },
	};
	uint8_t dg[16];
	size_t i, n;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		int bad = 0;

		for (n = 0; n < fixed[i].min; n++) {
			struct mqttsn_msg m;

			memset(dg, 0, sizeof(dg));
			dg[0] = (uint8_t)(2 + n);
			dg[1] = fixed[i].type;
			if (decode_exact(dg, 2 + n, &m, NULL) != -EMSGSIZE ||
			    m.err != MQTTSN_ERR_TRUNCATED)
				bad++;
		}
		is_int(bad, 0, "%s: every body shorter than %u octets is truncated",
		       mqttsn_type_name(fixed[i].type), fixed[i].min);
		if (fixed[i].exact) {
			struct mqttsn_msg m;

			memset(dg, 0, sizeof(dg));
			n = fixed[i].min + 1;
			dg[0] = (uint8_t)(2 + n);
			dg[1] = fixed[i].type;
			is_int(decode_exact(dg, 2 + n, &m, NULL), -EMSGSIZE,
			       "%s: one octet more than %u is -EMSGSIZE",
			       mqttsn_type_name(fixed[i].type), fixed[i].min);
			is_int(m.err, MQTTSN_ERR_TRAILING, "%s: ... reason trailing",
			       mqttsn_type_name(fixed[i].type));
		}
	}
}

static void
test_encode_errors(void)
{
	uint8_t buf[64], node[MQTTSN_NODE_ID_MAX + 1] = { 0 };
	struct mqttsn_msg m;

	m = (struct mqttsn_msg){ .type = 0x03 };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL, "encode: unknown type is -EINVAL");
	m = (struct mqttsn_msg){ .type = MQTTSN_ENCAPSULATED };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL,
	       "encode: type ENCAPSULATED is -EINVAL (use encap.present)");
	m = (struct mqttsn_msg){ .type = MQTTSN_CONNECT, .protocol_id = 1 };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL, "encode: CONNECT without client id");
	m = (struct mqttsn_msg){ .type = MQTTSN_CONNACK, .return_code = 4 };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL, "encode: return code 4");
	m = (struct mqttsn_msg){ .type = MQTTSN_PUBLISH, .flags = 0x60 };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL,
	       "encode: PUBLISH QoS -1 with a normal topic id");
	m = (struct mqttsn_msg){ .type = MQTTSN_SUBSCRIBE, .flags = 0x01 | 0x60 };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL, "encode: SUBSCRIBE QoS -1");
	m = (struct mqttsn_msg){ .type = MQTTSN_WILLTOPIC, .flags = MQTTSN_FLAG_RETAIN };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL,
	       "encode: WILLTOPIC with flags but no topic");
	m = (struct mqttsn_msg){ .type = MQTTSN_PINGRESP, .encap = { .present = true, .ctrl = 4 } };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EINVAL, "encode: reserved ctrl bits");
	m.encap.ctrl = 0;
	m.encap.node_id = (struct mqttsn_view){ node, sizeof(node) };
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -EMSGSIZE, "encode: node id of 253 octets");
	m.encap.node_id.len = MQTTSN_NODE_ID_MAX;
	is_int(mqttsn_encoded_len(&m), 255 + 2, "encode: node id of 252 octets fits");
	is_int(mqttsn_encode(buf, sizeof(buf), &m), -ENOSPC, "encode: ... into 64 octets: -ENOSPC");
	m = (struct mqttsn_msg){ .type = MQTTSN_PINGRESP };
	is_int(mqttsn_encode(buf, 0, &m), -ENOSPC, "encode: zero capacity");
}

static void
test_names(void)
{
	int i, n = 0;

	is_str(mqttsn_type_name(MQTTSN_PUBLISH), "publish", "type name of PUBLISH");
	is_str(mqttsn_type_name(MQTTSN_ENCAPSULATED), "encapsulated", "type name of 0xfe");
	ok(mqttsn_type_name(0x03) == NULL, "type name of 0x03 is NULL");
	ok(mqttsn_type_name(256) == NULL, "type name of 256 is NULL");
	is_int(mqttsn_type_index(MQTTSN_ADVERTISE), 0, "index of ADVERTISE");
	is_int(mqttsn_type_index(MQTTSN_ENCAPSULATED), MQTTSN_NTYPES - 1, "index of ENCAPSULATED");
	for (i = 0; i < 256; i++)
		if (mqttsn_type_index((unsigned int)i) >= 0)
			n++;
	is_int(n, MQTTSN_NTYPES, "exactly MQTTSN_NTYPES type values are known");
	is_str(mqttsn_err_name(MQTTSN_ERR_NONE), "ok", "error name of NONE");
	is_str(mqttsn_err_name(MQTTSN_ERR_NESTED), "err_nested", "error name of NESTED");
	ok(mqttsn_err_name(MQTTSN_ERR_MAX) == NULL, "error name out of range is NULL");
	ok(mqttsn_err_desc(MQTTSN_ERR_LENGTH) != NULL, "error description");
	is_int(mqttsn_err_code(MQTTSN_ERR_TYPE), -EPROTONOSUPPORT, "TYPE is -EPROTONOSUPPORT");
	is_int(mqttsn_err_code(MQTTSN_ERR_NONE), 0, "NONE is 0");
	is_int(mqttsn_flags_qos(0x60), -1, "flags_qos: 3 is -1");
	is_int(mqttsn_flags_qos(0x40), 2, "flags_qos: 2");
	is_int(MQTTSN_FLAG_QOS(-1), 0x60, "FLAG_QOS(-1) = 0x60");
}

int
main(void)
{
	test_vectors();
	test_encap_inner();
	test_length_forms();
	test_bad();
	test_fixed_parts();
	test_encode_errors();
	test_names();
	return done_testing();
}
