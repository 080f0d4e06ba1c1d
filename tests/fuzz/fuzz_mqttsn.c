/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the MQTT-SN codec (proto/mqttsn.c).
 *
 * The input is one datagram. It is decoded from a heap copy of exactly its
 * length (so ASan sees any read past it), and checked:
 *  - the return value is 0 exactly when m.err is NONE, and otherwise the code
 *    mqttsn_err_code() gives for m.err, in one of the three classes;
 *  - every view lies inside the datagram;
 *  - a decoded message encodes (mqttsn_encoded_len() predicts the length,
 *    one octet less is -ENOSPC), and the encoding decodes to the same fields,
 *    views compared by bytes; encoding that again gives the same bytes;
 *  - when the encoding has the input's length it is the input: the codec
 *    keeps every bit it accepts, and only the length form (3-octet form
 *    below 256 octets) may be normalised;
 *  - for a PUBLISH, mqttsn_encode_publish_header() plus the data equals the
 *    full encoding (the router's per-subscriber header path).
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * It needs only proto/ (scripts/fuzz links every proto/*.c), so it has no
 * fuzz-sources line: naming proto/mqttsn.c there would link it twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mqttsn.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int
view_eq(struct mqttsn_view a, struct mqttsn_view b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int
view_in(struct mqttsn_view v, const uint8_t *buf, size_t len)
{
	return v.len == 0 || (v.p >= buf && v.len <= len && v.p - buf <= (ptrdiff_t)(len - v.len));
}

static void
check_same(const struct mqttsn_msg *a, const struct mqttsn_msg *b)
{
	CHECK(a->type == b->type);
	CHECK(a->flags == b->flags);
	CHECK(a->return_code == b->return_code);
	CHECK(a->protocol_id == b->protocol_id);
	CHECK(a->gw_id == b->gw_id);
	CHECK(a->radius == b->radius);
	CHECK(a->has_duration == b->has_duration);
	CHECK(a->duration == b->duration);
	CHECK(a->topic_id == b->topic_id);
	CHECK(a->msg_id == b->msg_id);
	CHECK(view_eq(a->data, b->data));
	CHECK(a->encap.present == b->encap.present);
	CHECK(a->encap.ctrl == b->encap.ctrl);
	CHECK(view_eq(a->encap.node_id, b->encap.node_id));
}

static void
check_publish_header(const struct mqttsn_msg *m, const uint8_t *enc, size_t enc_len)
{
	uint8_t hdr[MQTTSN_PUBLISH_HDR_MAX];
	size_t off = m->encap.present ? 3 + m->encap.node_id.len : 0;
	int h;

	h = mqttsn_encode_publish_header(hdr, sizeof(hdr), m->flags, m->topic_id, m->msg_id,
					 m->data.len);
	CHECK(h > 0 && (size_t)h == mqttsn_publish_header_len(m->data.len));
	CHECK(off + (size_t)h + m->data.len == enc_len);
	CHECK(memcmp(enc + off, hdr, (size_t)h) == 0);
	CHECK(mqttsn_encode_publish_header(hdr, (size_t)h - 1, m->flags, m->topic_id, m->msg_id,
					   m->data.len) == -ENOSPC);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mqttsn_msg m, m2;
	uint8_t *in, *out, *out2;
	size_t cap;
	int r, n, n2;

	in = malloc(len ? len : 1);
	CHECK(in != NULL);
	if (len)
		memcpy(in, data, len);
	r = mqttsn_decode(in, len, &m);
	CHECK(r == mqttsn_err_code((enum mqttsn_err)m.err));
	CHECK(mqttsn_err_name((enum mqttsn_err)m.err) != NULL);
	if (r != 0) {
		CHECK(r == -EMSGSIZE || r == -EPROTONOSUPPORT || r == -EINVAL);
		CHECK(m.err != 0);
		free(in);
		return 0;
	}
	CHECK(mqttsn_type_name(m.type) != NULL && m.type != MQTTSN_ENCAPSULATED);
	CHECK(mqttsn_peek_type(in, len) == (m.encap.present ? MQTTSN_ENCAPSULATED : m.type));
	CHECK(view_in(m.data, in, len));
	CHECK(view_in(m.encap.node_id, in, len));
	CHECK(view_in(m.encap.inner, in, len));
	CHECK(m.encap.present || m.encap.inner.len == 0);

	n = mqttsn_encoded_len(&m);
	CHECK(n > 0 && (size_t)n <= len);
	cap = (size_t)n;
	out = malloc(cap);
	out2 = malloc(cap);
	CHECK(out != NULL && out2 != NULL);
	CHECK(mqttsn_encode(out, cap - 1, &m) == -ENOSPC);
	CHECK(mqttsn_encode(out, cap, &m) == n);
	if ((size_t)n == len)
		CHECK(memcmp(out, in, len) == 0);

	CHECK(mqttsn_decode(out, (size_t)n, &m2) == 0);
	check_same(&m, &m2);
	n2 = mqttsn_encode(out2, cap, &m2);
	CHECK(n2 == n && memcmp(out, out2, cap) == 0);

	if (m.type == MQTTSN_PUBLISH)
		check_publish_header(&m, out, (size_t)n);

	free(out2);
	free(out);
	free(in);
	return 0;
}
