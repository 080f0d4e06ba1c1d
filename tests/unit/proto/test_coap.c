/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CoAP wire code against hand-written bytes.
 *
 * Every vector's bytes are typed in from RFC 7252 (section 3 and the
 * Appendix A examples), never produced by the writer, and each is checked
 * both ways: decode(bytes) == fields and writer(fields) == bytes. Then the
 * option delta/length forms at each boundary, every decode error class
 * (FOREACH_COAP_ERR), the writer's errors, and the helpers: integer
 * options, critical options, Uri-Path joining, Block values (RFC 7959),
 * Observe freshness (RFC 7641 3.4) and link format (RFC 6690). Decoding is
 * done from a heap copy of exactly the datagram, so an ASan build catches
 * any read past it.
 */
#include <errno.h>
#include <stdlib.h>

#include "proto/coap.h"
#include "tests/unit/tap.h"

#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })
#define S(s) (const uint8_t *)(s)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

/* Decode from a heap copy of exactly @p len bytes; *copy keeps it for views. */
static int
decode_exact(const uint8_t *bytes, size_t len, struct coap_msg *m, uint8_t **copy)
{
	uint8_t *p = malloc(len ? len : 1);
	int r;

	if (!p)
		abort();
	if (len)
		memcpy(p, bytes, len);
	r = coap_decode(p, len, m);
	if (copy)
		*copy = p;
	else
		free(p);
	return r;
}

/* Write @p m with the writer (options by their raw bytes). */
static int
encode_msg(const struct coap_msg *m, uint8_t *buf, size_t cap)
{
	struct coap_writer w;
	unsigned int i;

	coap_w_init(&w, buf, cap, m->type, m->code, m->mid, m->token, m->tkl);
	for (i = 0; i < m->nb_opts; i++)
		coap_w_opt(&w, m->opts[i].num, m->opts[i].val, m->opts[i].len);
	coap_w_payload(&w, m->payload, m->payload_len);
	return coap_w_finish(&w);
}

static bool
bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The first field in which two messages differ (err aside), or NULL. */
static const char *
msg_diff(const struct coap_msg *a, const struct coap_msg *b)
{
	unsigned int i;

	if (a->type != b->type)
		return "type";
	if (a->code != b->code)
		return "code";
	if (a->mid != b->mid)
		return "mid";
	if (a->tkl != b->tkl)
		return "tkl";
	if (memcmp(a->token, b->token, a->tkl) != 0)
		return "token";
	if (a->nb_opts != b->nb_opts)
		return "nb_opts";
	for (i = 0; i < a->nb_opts; i++) {
		if (a->opts[i].num != b->opts[i].num)
			return "option number";
		if (!bytes_eq(a->opts[i].val, a->opts[i].len, b->opts[i].val, b->opts[i].len))
			return "option value";
	}
	if (!bytes_eq(a->payload, a->payload_len, b->payload, b->payload_len))
		return "payload";
	if ((a->payload == NULL) != (b->payload == NULL))
		return "payload presence";
	return NULL;
}

/* ---- golden vectors ---- */

struct vector {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	struct coap_msg m;
};

#define OPT(n, s) { .num = (n), .len = sizeof(s) - 1, .val = S(s) }

static const struct vector vectors[] = {
	/* RFC 7252 Appendix A, Figure 16: CON GET /temperature ... */
	{ "RFC 7252 fig. 16: CON GET /temperature",
	  B(0x40, 0x01, 0x7d, 0x34,
	    0xbb, 't', 'e', 'm', 'p', 'e', 'r', 'a', 't', 'u', 'r', 'e'),
	  { .type = COAP_CON, .code = COAP_GET, .mid = 0x7d34, .nb_opts = 1,
	    .opts = { OPT(COAP_OPT_URI_PATH, "temperature") } } },
	/* ... and its piggybacked response. */
	{ "RFC 7252 fig. 16: ACK 2.05 \"22.3 C\"",
	  B(0x60, 0x45, 0x7d, 0x34, 0xff, '2', '2', '.', '3', ' ', 'C'),
	  { .type = COAP_ACK, .code = COAP_CONTENT, .mid = 0x7d34,
	    .payload = S("22.3 C"), .payload_len = 6 } },
	/* The same exchange with a one-byte token, as in the later examples. */
	{ "CON GET /temperature, token 0x20 (cf. RFC 7252 App. A)",
	  B(0x41, 0x01, 0x7d, 0x35, 0x20,
	    0xbb, 't', 'e', 'm', 'p', 'e', 'r', 'a', 't', 'u', 'r', 'e'),
	  { .type = COAP_CON, .code = COAP_GET, .mid = 0x7d35, .tkl = 1, .token = { 0x20 },
	    .nb_opts = 1, .opts = { OPT(COAP_OPT_URI_PATH, "temperature") } } },
	{ "ACK 2.05, token 0x20, \"22.5 C\" (cf. RFC 7252 App. A)",
	  B(0x61, 0x45, 0x7d, 0x35, 0x20, 0xff, '2', '2', '.', '5', ' ', 'C'),
	  { .type = COAP_ACK, .code = COAP_CONTENT, .mid = 0x7d35, .tkl = 1, .token = { 0x20 },
	    .payload = S("22.5 C"), .payload_len = 6 } },
	{ "empty ACK (separate response follows)", B(0x60, 0x00, 0x7d, 0x34),
	  { .type = COAP_ACK, .code = COAP_EMPTY, .mid = 0x7d34 } },
	{ "RST", B(0x70, 0x00, 0x12, 0x34), { .type = COAP_RST, .mid = 0x1234 } },
	{ "CON ping (empty CON)", B(0x40, 0x00, 0xff, 0xff), { .type = COAP_CON, .mid = 0xffff } },
	{ "NON 2.05 notification: Observe 0x1234, Content-Format 0, \"x\"",
	  B(0x51, 0x45, 0x00, 0x01, 0xaa, 0x62, 0x12, 0x34, 0x60, 0xff, 'x'),
	  { .type = COAP_NON, .code = COAP_CONTENT, .mid = 1, .tkl = 1, .token = { 0xaa },
	    .nb_opts = 2,
	    .opts = { OPT(COAP_OPT_OBSERVE, "\x12\x34"), OPT(COAP_OPT_CONTENT_FORMAT, "") },
	    .payload = S("x"), .payload_len = 1 } },
	{ "CON POST /ps/a?rt=x, 8-byte token",
	  B(0x48, 0x02, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8,
	    0xb2, 'p', 's', 0x01, 'a', 0x44, 'r', 't', '=', 'x', 0xff, 'h', 'i'),
	  { .type = COAP_CON, .code = COAP_POST, .mid = 0xbeef, .tkl = 8,
	    .token = { 1, 2, 3, 4, 5, 6, 7, 8 }, .nb_opts = 3,
	    .opts = { OPT(COAP_OPT_URI_PATH, "ps"), OPT(COAP_OPT_URI_PATH, "a"),
		      OPT(COAP_OPT_URI_QUERY, "rt=x") },
	    .payload = S("hi"), .payload_len = 2 } },
	{ "ACK 4.04, no payload", B(0x62, 0x84, 0x00, 0x07, 0xab, 0xcd),
	  { .type = COAP_ACK, .code = COAP_NOT_FOUND, .mid = 7, .tkl = 2,
	    .token = { 0xab, 0xcd } } },
	{ "GET with Block2 (23, 1 byte) and Size2 (28, 2 bytes)",
	  B(0x40, 0x01, 0x00, 0x09, 0xd1, 0x0a, 0x26, 0x52, 0x04, 0x00),
	  { .type = COAP_CON, .code = COAP_GET, .mid = 9, .nb_opts = 2,
	    .opts = { OPT(COAP_OPT_BLOCK2, "\x26"), OPT(COAP_OPT_SIZE2, "\x04\x00") } } },
	{ "No-Response (258): delta 258 in the 1-byte form",
	  B(0x50, 0x03, 0x00, 0x02, 0xd1, 0xf5, 0x1a),
	  { .type = COAP_NON, .code = COAP_PUT, .mid = 2, .nb_opts = 1,
	    .opts = { OPT(COAP_OPT_NO_RESPONSE, "\x1a") } } },
	{ "If-None-Match (empty option) and Uri-Port 5683",
	  B(0x40, 0x03, 0x00, 0x03, 0x50, 0x22, 0x16, 0x33),
	  { .type = COAP_CON, .code = COAP_PUT, .mid = 3, .nb_opts = 2,
	    .opts = { OPT(COAP_OPT_IF_NONE_MATCH, ""), OPT(COAP_OPT_URI_PORT, "\x16\x33") } } },
	{ "a payload that is only 0xff bytes",
	  B(0x50, 0x45, 0x00, 0x04, 0xff, 0xff, 0xff),
	  { .type = COAP_NON, .code = COAP_CONTENT, .mid = 4, .payload = S("\xff\xff"),
	    .payload_len = 2 } },
	{ "every code class: 7.31 passes the decoder", B(0x50, 0xff, 0x00, 0x05),
	  { .type = COAP_NON, .code = 0xff, .mid = 5 } },
};

static void
test_vectors(void)
{
	uint8_t buf[256];
	size_t i;

	for (i = 0; i < NELEM(vectors); i++) {
		const struct vector *v = &vectors[i];
		struct coap_msg m;
		uint8_t *copy;
		const char *d;
		int r;
		bool in = true;
		unsigned int k;

		r = decode_exact(v->bytes, v->len, &m, &copy);
		is_int(r, 0, "decode %s", v->name);
		is_int(m.err, COAP_ERR_NONE, "decode %s: err NONE", v->name);
		d = msg_diff(&m, &v->m);
		if (!ok(d == NULL, "decode %s: fields", v->name))
			printf("#   differs in %s (err %s)\n", d, coap_err_name(m.err));
		for (k = 0; k < m.nb_opts; k++)
			in &= m.opts[k].val >= copy &&
			      m.opts[k].val + m.opts[k].len <= copy + v->len;
		if (m.payload)
			in &= m.payload > copy && m.payload + m.payload_len == copy + v->len;
		ok(in, "decode %s: views point into the datagram", v->name);
		free(copy);

		memset(buf, 0xee, sizeof(buf));
		r = encode_msg(&v->m, buf, sizeof(buf));
		is_int(r, v->len, "write %s: length", v->name);
		is_mem(buf, v->bytes, v->len, "write %s: bytes", v->name);
		is_int(buf[v->len], 0xee, "write %s: nothing past the message", v->name);
		is_int(encode_msg(&v->m, buf, v->len - 1), -ENOSPC,
		       "write %s: one byte short is -ENOSPC", v->name);
	}

	/* Every prefix decodes or fails with a named reason, never reading past it. */
	for (i = 0; i < NELEM(vectors); i++) {
		const struct vector *v = &vectors[i];
		int bad = 0;
		size_t n;

		for (n = 0; n < v->len; n++) {
			struct coap_msg m;
			int r = decode_exact(v->bytes, n, &m, NULL);

			if ((r == 0) != (m.err == COAP_ERR_NONE) || (r != 0 && r != -EINVAL))
				bad++;
			if (n < COAP_HDR_LEN && m.err != COAP_ERR_SHORT)
				bad++;
		}
		is_int(bad, 0, "every prefix of %s: 0 or -EINVAL with a reason", v->name);
	}
}

/* Every type x a few codes, header fields exactly. */
static void
test_types(void)
{
	static const uint8_t codes[] = { COAP_GET, COAP_POST, COAP_PUT, COAP_DELETE, COAP_FETCH,
					 COAP_PATCH, COAP_IPATCH, COAP_CREATED, COAP_DELETED,
					 COAP_VALID, COAP_CHANGED, COAP_CONTENT, COAP_CONTINUE,
					 COAP_BAD_REQUEST, COAP_BAD_OPTION,
					 COAP_PROXYING_NOT_SUPPORTED };
	unsigned int t, c;

	for (t = COAP_CON; t <= COAP_RST; t++) {
		int bad = 0;

		for (c = 0; c < NELEM(codes); c++) {
			uint8_t dg[4] = { (uint8_t)(0x40 | t << 4), codes[c], (uint8_t)c, 0x5a };
			struct coap_msg m;
			uint8_t out[4];

			if (decode_exact(dg, 4, &m, NULL) != 0 || m.type != t ||
			    m.code != codes[c] || m.mid != (c << 8 | 0x5a) || m.tkl || m.nb_opts ||
			    m.payload)
				bad++;
			if (encode_msg(&m, out, sizeof(out)) != 4 || memcmp(out, dg, 4) != 0)
				bad++;
		}
		is_int(bad, 0, "type %u: every code decodes and writes back", t);
	}
	is_int(COAP_CODE_CLASS(COAP_NOT_FOUND), 4, "COAP_CODE_CLASS(4.04)");
	is_int(COAP_CODE_DETAIL(COAP_NOT_FOUND), 4, "COAP_CODE_DETAIL(4.04)");
	is_int(COAP_CONTENT, 0x45, "2.05 is 0x45");
	is_int(COAP_CONTINUE, 0x5f, "2.31 is 0x5f");
	is_int(COAP_UNSUPPORTED_CONTENT_FORMAT, 0x8f, "4.15 is 0x8f");
}

static void
test_token_lengths(void)
{
	uint8_t dg[4 + 15 + 1];
	unsigned int tkl;

	for (tkl = 0; tkl <= 15; tkl++) {
		struct coap_msg m;
		unsigned int i;
		int r;

		dg[0] = (uint8_t)(0x40 | tkl);
		dg[1] = COAP_GET;
		dg[2] = 0x12;
		dg[3] = 0x34;
		for (i = 0; i < 15; i++)
			dg[4 + i] = (uint8_t)(0xa0 + i);
		r = decode_exact(dg, 4 + tkl, &m, NULL);
		if (tkl <= COAP_TOKEN_MAX) {
			is_int(r, 0, "tkl %u decodes", tkl);
			ok(m.tkl == tkl && memcmp(m.token, dg + 4, tkl) == 0,
			   "tkl %u: token bytes", tkl);
			if (tkl) {
				r = decode_exact(dg, 4 + tkl - 1, &m, NULL);
				ok(r == -EINVAL && m.err == COAP_ERR_TRUNC && m.mid == 0x1234 &&
				   m.tkl == 0, "tkl %u, a byte short: TRUNC, mid kept, tkl 0", tkl);
			}
		} else {
			ok(r == -EINVAL && m.err == COAP_ERR_TKL, "tkl %u (reserved): TKL", tkl);
			ok(m.type == COAP_CON && m.mid == 0x1234 && m.code == COAP_GET &&
			   m.tkl == 0,
			   "tkl %u: header fields kept for an RST, tkl 0", tkl);
		}
	}
	/* tkl 9 in an empty message: the token length is checked first. */
	{
		struct coap_msg m;

		decode_exact(B(0x79, 0x00, 0x00, 0x01), &m, NULL);
		is_int(m.err, COAP_ERR_TKL, "empty RST with tkl 9: TKL");
	}
}

/* ---- option delta/length forms ---- */

struct form {
	uint32_t v;
	unsigned int nib;
	uint8_t ext[2];
	size_t next;
};

static const struct form forms[] = {
	{ 0, 0, { 0 }, 0 },       { 1, 1, { 0 }, 0 },        { 12, 12, { 0 }, 0 },
	{ 13, 13, { 0x00 }, 1 },  { 14, 13, { 0x01 }, 1 },   { 268, 13, { 0xff }, 1 },
	{ 269, 14, { 0x00, 0x00 }, 2 }, { 270, 14, { 0x00, 0x01 }, 2 },
	{ 1000, 14, { 0x02, 0xdb }, 2 }, { 65535, 14, { 0xfe, 0xf2 }, 2 },
};

/* Each delta form on its own: bytes written, bytes decoded. */
static void
test_delta_forms(void)
{
	size_t i;

	for (i = 0; i < NELEM(forms); i++) {
		const struct form *f = &forms[i];
		uint8_t want[8] = { 0x40, 0x01, 0x00, 0x01 }, buf[16];
		struct coap_writer w;
		struct coap_msg m;
		size_t n = 4;

		want[n++] = (uint8_t)(f->nib << 4);
		memcpy(want + n, f->ext, f->next);
		n += f->next;

		coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 1, NULL, 0);
		coap_w_opt(&w, (uint16_t)f->v, NULL, 0);
		is_int(coap_w_finish(&w), n, "option %u (delta %u): length", f->v, f->v);
		is_mem(buf, want, n, "option %u: header byte 0x%02x + %zu extension bytes",
		       f->v, f->nib << 4, f->next);
		is_int(decode_exact(want, n, &m, NULL), 0, "option %u decodes", f->v);
		ok(m.nb_opts == 1 && m.opts[0].num == f->v && m.opts[0].len == 0,
		   "option %u: number and empty value", f->v);
	}
}

/* Each length form: a value of that many bytes, heap-checked. */
static void
test_length_forms(void)
{
	static uint8_t val[65535 + 269], buf[65535 + 269 + 16];
	size_t i;

	for (i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)(i * 13 + 1);
	for (i = 0; i < NELEM(forms); i++) {
		const struct form *f = &forms[i];
		struct coap_writer w;
		struct coap_msg m;
		uint8_t *copy;
		int n;

		coap_w_init(&w, buf, sizeof(buf), COAP_NON, COAP_PUT, 2, NULL, 0);
		coap_w_opt(&w, COAP_OPT_ETAG, val, f->v);
		n = coap_w_finish(&w);
		is_int(n, 4 + 1 + f->next + f->v, "value of %u bytes: length", f->v);
		ok(buf[4] == (0x40 | f->nib) && memcmp(buf + 5, f->ext, f->next) == 0,
		   "value of %u bytes: length nibble %u and extension", f->v, f->nib);
		is_int(decode_exact(buf, (size_t)n, &m, &copy), 0, "value of %u bytes decodes",
		       f->v);
		ok(m.nb_opts == 1 && m.opts[0].num == COAP_OPT_ETAG && m.opts[0].len == f->v &&
		   (f->v == 0 || memcmp(m.opts[0].val, val, f->v) == 0),
		   "value of %u bytes: number, length, bytes", f->v);
		free(copy);
		/* (A lone 1-byte option cut off leaves a valid message.) */
		if (1 + f->next + f->v > 1) {
			is_int(decode_exact(buf, (size_t)n - 1, &m, NULL), -EINVAL,
			       "value of %u bytes, datagram a byte short: refused", f->v);
			is_int(m.err, COAP_ERR_TRUNC, "... as TRUNC");
		}
	}

	/* Both extended at once, and the writer's largest value. */
	{
		struct coap_writer w;
		struct coap_msg m;
		int n;

		coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 3, NULL, 0);
		coap_w_opt(&w, 300, val, 20);
		coap_w_opt(&w, 300 + 13, val, 300);
		n = coap_w_finish(&w);
		is_int(n, 4 + 4 + 20 + 4 + 300, "two options: 14/13 and 13/14 forms");
		is_mem(buf + 4, ((const uint8_t[]){ 0xed, 0x00, 0x1f, 0x07 }), 4,
		       "delta 300 (14), length 20 (13)");
		is_mem(buf + 28, ((const uint8_t[]){ 0xde, 0x00, 0x00, 0x1f }), 4,
		       "delta 13 (13), length 300 (14)");
		is_int(decode_exact(buf, (size_t)n, &m, NULL), 0, "... decodes");
		ok(m.nb_opts == 2 && m.opts[0].num == 300 && m.opts[1].num == 313 &&
		   m.opts[0].len == 20 && m.opts[1].len == 300, "... numbers and lengths");

		coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 3, NULL, 0);
		coap_w_opt(&w, 1, val, 65535 + 269);
		is_int(coap_w_finish(&w), 4 + 3 + 65535 + 269,
		       "writer: value of 65535 + 269 bytes");
		is_mem(buf + 4, ((const uint8_t[]){ 0x1e, 0xff, 0xff }), 3,
		       "... length nibble 14, extension 0xffff");
		is_int(decode_exact(buf, 4 + 3 + 65535 + 269, &m, NULL), -EINVAL,
		       "decoder: a value over 65535 bytes does not fit coap_opt.len");
		is_int(m.err, COAP_ERR_TRUNC, "... TRUNC (no UDP datagram carries one)");
		coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 3, NULL, 0);
		coap_w_opt(&w, 1, val, 65535 + 270);
		is_int(coap_w_finish(&w), -EINVAL, "writer: value of 65535 + 270 bytes is -EINVAL");
	}
}

/* ---- decode errors ---- */

struct bad {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	enum coap_err err;
};

static const struct bad bads[] = {
	{ "empty datagram", S(""), 0, COAP_ERR_SHORT },
	{ "1 byte", B(0x40), COAP_ERR_SHORT },
	{ "3 bytes", B(0x40, 0x01, 0x00), COAP_ERR_SHORT },
	{ "version 0", B(0x00, 0x01, 0x00, 0x01), COAP_ERR_VERSION },
	{ "version 2", B(0x80, 0x01, 0x00, 0x01), COAP_ERR_VERSION },
	{ "version 3", B(0xc0, 0x01, 0x00, 0x01), COAP_ERR_VERSION },
	{ "tkl 9", B(0x49, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9), COAP_ERR_TKL },
	{ "tkl 15", B(0x4f, 0x01, 0x00, 0x01), COAP_ERR_TKL },
	{ "token runs past the end", B(0x44, 0x01, 0x00, 0x01, 0xaa, 0xbb), COAP_ERR_TRUNC },
	{ "option value runs past the end", B(0x40, 0x01, 0x00, 0x01, 0xb3, 'a', 'b'),
	  COAP_ERR_TRUNC },
	{ "delta 13 without its extension byte", B(0x40, 0x01, 0x00, 0x01, 0xd0), COAP_ERR_TRUNC },
	{ "delta 14 with one of two extension bytes", B(0x40, 0x01, 0x00, 0x01, 0xe0, 0x00),
	  COAP_ERR_TRUNC },
	{ "length 13 without its extension byte", B(0x40, 0x01, 0x00, 0x01, 0x1d),
	  COAP_ERR_TRUNC },
	{ "delta 13 and length 14, length's bytes missing", B(0x40, 0x01, 0x00, 0x01, 0xde, 0x00,
							       0x01), COAP_ERR_TRUNC },
	{ "length 13 + 0 = 13, 12 bytes there",
	  B(0x40, 0x01, 0x00, 0x01, 0x1d, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
	  COAP_ERR_TRUNC },
	{ "empty message with a token", B(0x41, 0x00, 0x00, 0x01, 0xaa), COAP_ERR_EMPTY_FORMAT },
	{ "empty message with a truncated token", B(0x42, 0x00, 0x00, 0x01, 0xaa),
	  COAP_ERR_EMPTY_FORMAT },
	{ "empty RST with an option", B(0x70, 0x00, 0x00, 0x01, 0x10), COAP_ERR_EMPTY_FORMAT },
	{ "empty ACK with a payload", B(0x60, 0x00, 0x00, 0x01, 0xff, 'x'),
	  COAP_ERR_EMPTY_FORMAT },
	{ "empty ACK with a bare payload marker", B(0x60, 0x00, 0x00, 0x01, 0xff),
	  COAP_ERR_EMPTY_FORMAT },
	{ "delta nibble 15, length 0", B(0x40, 0x01, 0x00, 0x01, 0xf0), COAP_ERR_OPT_RESERVED },
	{ "delta nibble 15, length 3", B(0x40, 0x01, 0x00, 0x01, 0xf3, 'a', 'b', 'c'),
	  COAP_ERR_OPT_RESERVED },
	{ "length nibble 15, delta 1", B(0x40, 0x01, 0x00, 0x01, 0x1f, 'a'),
	  COAP_ERR_OPT_RESERVED },
	{ "length nibble 15 after a good option",
	  B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x0f), COAP_ERR_OPT_RESERVED },
	{ "delta 14-form largest from 0: 65804", B(0x40, 0x01, 0x00, 0x01, 0xe0, 0xff, 0xff),
	  COAP_ERR_OPT_NUMBER },
	{ "option 65535 then delta 1", B(0x40, 0x01, 0x00, 0x01, 0xe0, 0xfe, 0xf2, 0x10),
	  COAP_ERR_OPT_NUMBER },
	{ "payload marker, no payload", B(0x40, 0x01, 0x00, 0x01, 0xff), COAP_ERR_EMPTY_PAYLOAD },
	{ "payload marker after an option, no payload",
	  B(0x41, 0x45, 0x00, 0x01, 0x07, 0xc0, 0xff), COAP_ERR_EMPTY_PAYLOAD },
	{ "33 options", NULL, 0, COAP_ERR_TOO_MANY_OPTS },
};

static void
test_bad(void)
{
	bool reached[COAP_ERR_MAX] = { false };
	uint8_t many[4 + 33];
	size_t i;
	int e;

	memcpy(many, (const uint8_t[]){ 0x40, 0x01, 0x00, 0x01 }, 4);
	memset(many + 4, 0xb0, 1);	/* Uri-Path "" */
	memset(many + 5, 0x00, 32);	/* 32 more, delta 0 */
	for (i = 0; i < NELEM(bads); i++) {
		const struct bad *b = &bads[i];
		const uint8_t *bytes = b->bytes ? b->bytes : many;
		size_t len = b->bytes ? b->len : sizeof(many);
		struct coap_msg m;
		int r = decode_exact(bytes, len, &m, NULL);

		is_int(r, -EINVAL, "%s: -EINVAL", b->name);
		if (!ok(m.err == b->err, "%s: %s", b->name, coap_err_name(b->err)))
			printf("#   got %s\n", coap_err_name(m.err));
		if (b->err != COAP_ERR_SHORT && b->err != COAP_ERR_VERSION)
			ok(m.mid == (uint16_t)(bytes[2] << 8 | bytes[3]) &&
			   m.type == ((bytes[0] >> 4) & 3) &&
			   m.tkl <= COAP_TOKEN_MAX, "%s: header fields are filled", b->name);
		reached[m.err] = true;
	}
	for (e = 1; e < COAP_ERR_MAX; e++)
		ok(reached[e], "decode error %s is reached by a test", coap_err_name((unsigned)e));

	/* 32 options are fine; 33 keep the first 32. */
	{
		struct coap_msg m;

		is_int(decode_exact(many, sizeof(many) - 1, &m, NULL), 0, "32 options decode");
		is_int(m.nb_opts, 32, "... all 32 kept");
		is_int(coap_opt_count(&m, COAP_OPT_URI_PATH), 32, "... 32 Uri-Path");
		decode_exact(many, sizeof(many), &m, NULL);
		is_int(m.nb_opts, COAP_MAX_OPTS, "33 options: nb_opts is COAP_MAX_OPTS");
	}
	/* Too many options, but a format error later on: the format error wins. */
	{
		uint8_t dg[4 + 34];
		struct coap_msg m;

		memcpy(dg, many, sizeof(many));
		dg[sizeof(dg) - 1] = 0xf0;
		decode_exact(dg, sizeof(dg), &m, NULL);
		is_int(m.err, COAP_ERR_OPT_RESERVED,
		       "33 options then a reserved nibble: OPT_RESERVED");
	}
	/* Repeated options keep wire order. */
	{
		struct coap_msg m;
		const struct coap_opt *o;
		uint8_t *copy;

		decode_exact(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x01, 'b', 0x01, 'c', 0x41, 'q'),
			     &m, &copy);
		o = coap_opt_find(&m, COAP_OPT_URI_PATH);
		ok(o == &m.opts[0] && o->len == 1 && o->val[0] == 'a',
		   "repeated Uri-Path: find gives the first");
		is_int(coap_opt_count(&m, COAP_OPT_URI_PATH), 3, "repeated Uri-Path: count 3");
		is_int(coap_opt_count(&m, COAP_OPT_URI_QUERY), 1, "Uri-Query after them: count 1");
		is_int(coap_opt_count(&m, COAP_OPT_ETAG), 0, "ETag: count 0");
		ok(coap_opt_find(&m, COAP_OPT_ETAG) == NULL, "ETag: find NULL");
		ok(m.opts[2].val[0] == 'c' && m.opts[3].num == COAP_OPT_URI_QUERY,
		   "wire order kept");
		free(copy);
	}
	is_str(coap_err_name(COAP_ERR_NONE), "coap_err_none", "error name of NONE");
	is_str(coap_err_name(COAP_ERR_TKL), "coap_err_tkl", "error name of TKL");
	is_str(coap_err_name(COAP_ERR_EMPTY_PAYLOAD), "coap_err_empty_payload",
	       "error name of EMPTY_PAYLOAD");
	ok(coap_err_name(COAP_ERR_MAX) == NULL, "error name out of range is NULL");
}

/* ---- writer ---- */

static void
test_writer(void)
{
	static const uint8_t tok[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t buf[64], want[64];
	struct coap_writer w;
	struct coap_msg m;
	size_t cap;
	int n;

	/* The header's example. */
	coap_w_init(&w, buf, sizeof(buf), COAP_ACK, COAP_CONTENT, 0x7d34, tok, 2);
	coap_w_opt_uint(&w, COAP_OPT_OBSERVE, 0x1234);
	coap_w_opt_uint(&w, COAP_OPT_CONTENT_FORMAT, COAP_FMT_TEXT);
	coap_w_payload(&w, "22.3 C", 6);
	n = coap_w_finish(&w);
	memcpy(want, (const uint8_t[]){ 0x62, 0x45, 0x7d, 0x34, 1, 2, 0x62, 0x12, 0x34, 0x60, 0xff,
					'2', '2', '.', '3', ' ', 'C' }, 17);
	is_int(n, 17, "writer: ACK with Observe, Content-Format, payload");
	is_mem(buf, want, 17, "... bytes");

	/* ENOSPC at every smaller capacity, sticky, nothing past cap written. */
	for (cap = 0; cap < 17; cap++) {
		memset(buf, 0xee, sizeof(buf));
		coap_w_init(&w, buf, cap, COAP_ACK, COAP_CONTENT, 0x7d34, tok, 2);
		coap_w_opt_uint(&w, COAP_OPT_OBSERVE, 0x1234);
		coap_w_opt_uint(&w, COAP_OPT_CONTENT_FORMAT, COAP_FMT_TEXT);
		coap_w_payload(&w, "22.3 C", 6);
		if (!ok(coap_w_finish(&w) == -ENOSPC && buf[cap] == 0xee,
			"writer: capacity %zu is -ENOSPC, nothing written past it", cap))
			break;
	}

	/* Equal numbers are fine; a decreasing one is -EINVAL and sticky. */
	coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 1, NULL, 0);
	coap_w_opt_str(&w, COAP_OPT_URI_PATH, "a");
	coap_w_opt_str(&w, COAP_OPT_URI_PATH, "b");
	is_int(coap_w_finish(&w), 4 + 2 + 2, "writer: repeated option");
	is_mem(buf + 4, ((const uint8_t[]){ 0xb1, 'a', 0x01, 'b' }), 4, "... second delta 0");
	coap_w_opt_str(&w, COAP_OPT_ETAG, "x");
	is_int(coap_w_finish(&w), -EINVAL, "writer: option 4 after 11 is -EINVAL");
	coap_w_opt_str(&w, COAP_OPT_URI_QUERY, "x");
	coap_w_payload(&w, "p", 1);
	is_int(coap_w_finish(&w), -EINVAL, "... and stays -EINVAL");
	is_int(w.len, 8, "... nothing written after the error");

	/* Bad header arguments. */
	coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 1, tok, 9);
	is_int(coap_w_finish(&w), -EINVAL, "writer: tkl 9 is -EINVAL");
	coap_w_init(&w, buf, sizeof(buf), 4, COAP_GET, 1, NULL, 0);
	is_int(coap_w_finish(&w), -EINVAL, "writer: type 4 is -EINVAL");
	coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 1, NULL, 3);
	is_int(coap_w_finish(&w), -EINVAL, "writer: tkl 3 without a token is -EINVAL");
	coap_w_init(&w, buf, 3, COAP_RST, COAP_EMPTY, 1, NULL, 0);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: 3 bytes for a header is -ENOSPC");
	coap_w_init(&w, buf, 4 + 7, COAP_CON, COAP_GET, 1, tok, 8);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: 11 bytes for an 8-byte token is -ENOSPC");
	coap_w_init(&w, buf, 4 + 8, COAP_CON, COAP_GET, 1, tok, 8);
	is_int(coap_w_finish(&w), 12, "writer: 12 bytes for an 8-byte token fits");
	coap_w_init(&w, buf, 4, COAP_RST, COAP_EMPTY, 0xabcd, NULL, 0);
	is_int(coap_w_finish(&w), 4, "writer: an RST is 4 bytes");
	is_mem(buf, ((const uint8_t[]){ 0x70, 0x00, 0xab, 0xcd }), 4, "... bytes");

	/* Payload: nothing for 0 bytes; the marker alone; the message is closed after. */
	coap_w_init(&w, buf, sizeof(buf), COAP_NON, COAP_CONTENT, 1, NULL, 0);
	coap_w_payload(&w, NULL, 0);
	is_int(coap_w_finish(&w), 4, "writer: empty payload writes nothing (no marker)");
	coap_w_payload_marker(&w);
	is_int(coap_w_finish(&w), 5, "writer: payload marker alone");
	is_int(buf[4], 0xff, "... is 0xff");
	coap_w_opt_uint(&w, COAP_OPT_MAX_AGE, 60);
	ok(coap_w_finish(&w) < 0, "writer: an option after the marker fails");
	coap_w_init(&w, buf, sizeof(buf), COAP_NON, COAP_CONTENT, 1, NULL, 0);
	coap_w_payload(&w, "ab", 2);
	coap_w_payload(&w, "cd", 2);
	ok(coap_w_finish(&w) < 0, "writer: a second payload fails");
	coap_w_init(&w, buf, 6, COAP_NON, COAP_CONTENT, 1, NULL, 0);
	coap_w_payload(&w, "abc", 3);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: payload one byte too big is -ENOSPC");
	coap_w_init(&w, buf, 6, COAP_NON, COAP_CONTENT, 1, NULL, 0);
	coap_w_payload(&w, "abc", SIZE_MAX);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: SIZE_MAX payload is -ENOSPC, no wrap");
	coap_w_init(&w, buf, 4, COAP_NON, COAP_CONTENT, 1, NULL, 0);
	coap_w_payload_marker(&w);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: no room for the marker is -ENOSPC");

	/* An option whose header fits but whose value does not. */
	coap_w_init(&w, buf, 4 + 2 + 12, COAP_CON, COAP_GET, 1, NULL, 0);
	coap_w_opt(&w, COAP_OPT_ETAG, "0123456789abc", 13);
	is_int(coap_w_finish(&w), -ENOSPC, "writer: option one byte over is -ENOSPC");
	is_int(w.len, 4, "... nothing of it written");

	/* Round trip: writer -> decoder. */
	coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_PUT, 0x0102, tok, 3);
	coap_w_opt_str(&w, COAP_OPT_URI_HOST, "h");
	coap_w_opt_uint(&w, COAP_OPT_URI_PORT, 5683);
	coap_w_opt_str(&w, COAP_OPT_URI_PATH, "ps");
	coap_w_opt_str(&w, COAP_OPT_URI_PATH, "t");
	coap_w_opt_uint(&w, COAP_OPT_CONTENT_FORMAT, COAP_FMT_JSON);
	coap_w_opt_uint(&w, COAP_OPT_BLOCK1, 0x1e);
	coap_w_opt_uint(&w, COAP_OPT_SIZE1, 1000);
	coap_w_opt_uint(&w, COAP_OPT_NO_RESPONSE, 0);
	coap_w_payload(&w, "{}", 2);
	n = coap_w_finish(&w);
	ok(n > 0, "round trip: written (%d bytes)", n);
	/* Straight from buf: the views below point into it. */
	is_int(coap_decode(buf, (size_t)n, &m), 0, "round trip: decodes");
	{
		uint32_t v = 0;
		const struct coap_opt *o;

		ok(m.type == COAP_CON && m.code == COAP_PUT && m.mid == 0x0102 && m.tkl == 3 &&
		   memcmp(m.token, tok, 3) == 0, "round trip: header and token");
		is_int(m.nb_opts, 8, "round trip: 8 options");
		coap_opt_uint(coap_opt_find(&m, COAP_OPT_URI_PORT), &v);
		is_int(v, 5683, "round trip: Uri-Port");
		coap_opt_uint(coap_opt_find(&m, COAP_OPT_SIZE1), &v);
		is_int(v, 1000, "round trip: Size1");
		o = coap_opt_find(&m, COAP_OPT_NO_RESPONSE);
		ok(o && o->len == 0, "round trip: No-Response 0 is the empty value");
		ok(m.payload_len == 2 && memcmp(m.payload, "{}", 2) == 0, "round trip: payload");
		n = encode_msg(&m, want, sizeof(want));
		ok(n > 0 && memcmp(want, buf, (size_t)n) == 0,
		   "round trip: decoded struct writes the same bytes");
	}
}

/* ---- integer options ---- */

static void
test_uint(void)
{
	static const struct {
		uint32_t v;
		size_t len;
	} mins[] = {
		{ 0, 0 }, { 1, 1 }, { 255, 1 }, { 256, 2 }, { 65535, 2 }, { 65536, 3 },
		{ 0xffffff, 3 }, { 0x1000000, 4 }, { 0xffffffff, 4 },
	};
	struct coap_opt o;
	uint32_t v;
	size_t i;

	o = (struct coap_opt){ .len = 0, .val = S("") };
	v = 99;
	ok(coap_opt_uint(&o, &v) == 0 && v == 0, "opt_uint: empty is 0");
	o = (struct coap_opt){ .len = 1, .val = S("\x2a") };
	ok(coap_opt_uint(&o, &v) == 0 && v == 42, "opt_uint: 1 byte");
	o = (struct coap_opt){ .len = 3, .val = S("\x00\x00\x01") };
	ok(coap_opt_uint(&o, &v) == 0 && v == 1, "opt_uint: leading zeros are allowed");
	o = (struct coap_opt){ .len = 4, .val = S("\xff\xff\xff\xff") };
	ok(coap_opt_uint(&o, &v) == 0 && v == 0xffffffff, "opt_uint: 4 bytes, all ones");
	o = (struct coap_opt){ .len = 4, .val = S("\x12\x34\x56\x78") };
	ok(coap_opt_uint(&o, &v) == 0 && v == 0x12345678, "opt_uint: big-endian");
	o = (struct coap_opt){ .len = 5, .val = S("\x00\x00\x00\x00\x01") };
	is_int(coap_opt_uint(&o, &v), -EINVAL, "opt_uint: 5 bytes is -EINVAL, even with zeros");

	for (i = 0; i < NELEM(mins); i++) {
		uint8_t buf[16];
		struct coap_writer w;
		struct coap_msg m;

		coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 1, NULL, 0);
		coap_w_opt_uint(&w, COAP_OPT_MAX_AGE, mins[i].v);
		is_int(coap_w_finish(&w), 4 + 1 + 1 + mins[i].len, "w_opt_uint(%#x): %zu bytes",
		       mins[i].v, mins[i].len);
		coap_decode(buf, (size_t)coap_w_finish(&w), &m);
		ok(m.nb_opts == 1 && m.opts[0].len == mins[i].len &&
		   coap_opt_uint(&m.opts[0], &v) == 0 && v == mins[i].v,
		   "w_opt_uint(%#x) decodes back", mins[i].v);
	}
}

/* ---- option properties and critical options ---- */

static void
test_critical(void)
{
	static const uint16_t known[] = { COAP_OPT_URI_PATH, COAP_OPT_URI_QUERY,
					  COAP_OPT_CONTENT_FORMAT, COAP_OPT_OBSERVE };
	struct coap_msg m;
	const struct coap_opt *o;

	ok(coap_opt_critical(COAP_OPT_URI_PATH) && coap_opt_critical(COAP_OPT_IF_MATCH) &&
	   coap_opt_critical(COAP_OPT_BLOCK2) && !coap_opt_critical(COAP_OPT_ETAG) &&
	   !coap_opt_critical(COAP_OPT_OBSERVE) && !coap_opt_critical(COAP_OPT_SIZE1),
	   "critical: odd numbers");
	ok(coap_opt_unsafe(COAP_OPT_URI_HOST) && coap_opt_unsafe(COAP_OPT_PROXY_URI) &&
	   !coap_opt_unsafe(COAP_OPT_ETAG) && !coap_opt_unsafe(COAP_OPT_IF_MATCH),
	   "unsafe: bit 1");
	ok(coap_opt_no_cache_key(COAP_OPT_SIZE1) && coap_opt_no_cache_key(COAP_OPT_SIZE2) &&
	   !coap_opt_no_cache_key(COAP_OPT_ETAG) && !coap_opt_no_cache_key(COAP_OPT_MAX_AGE),
	   "NoCacheKey: Size1 and Size2 (RFC 7959), not ETag or Max-Age");

	/* Uri-Path, Accept (17, critical, unknown), Block1 (27, critical), Size1 (60). */
	decode_exact(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x61, 0x28, 0xa1, 0x06, 0xd1, 0x14, 0x00),
		     &m, NULL);
	is_int(m.err, COAP_ERR_NONE, "critical: message decodes");
	o = coap_unknown_critical(&m, known, NELEM(known));
	ok(o && o->num == COAP_OPT_ACCEPT, "critical: the first unknown is Accept (17)");
	o = coap_unknown_critical(&m, known, 0);
	ok(o && o->num == COAP_OPT_URI_PATH, "critical: nothing known: Uri-Path first");
	{
		static const uint16_t more[] = { COAP_OPT_URI_PATH, COAP_OPT_ACCEPT,
						 COAP_OPT_BLOCK1 };

		ok(coap_unknown_critical(&m, more, NELEM(more)) == NULL,
		   "critical: all known; elective Size1 (60) is ignored");
	}
	decode_exact(B(0x40, 0x01, 0x00, 0x01, 0x40, 0xd0, 0x2f), &m, NULL);
	ok(coap_unknown_critical(&m, known, NELEM(known)) == NULL,
	   "critical: only elective unknowns (4, 60)");
	decode_exact(B(0x40, 0x01, 0x00, 0x01), &m, NULL);
	ok(coap_unknown_critical(&m, NULL, 0) == NULL, "critical: no options");
}

/* ---- Uri-Path ---- */

static int
path_of(const uint8_t *dg, size_t len, char *out, size_t cap)
{
	struct coap_msg m;
	int r;

	if (coap_decode(dg, len, &m) != 0)
		return -999;
	r = coap_uri_path(&m, out, cap);
	return r;
}

static void
test_uri_path(void)
{
	char out[64];

	is_int(path_of(B(0x40, 0x01, 0x00, 0x01), out, sizeof(out)), 0, "uri_path: none is 0");
	is_str(out, "", "... and \"\"");
	is_int(path_of(B(0x40, 0x01, 0x7d, 0x34, 0xbb, 't', 'e', 'm', 'p', 'e', 'r', 'a', 't', 'u',
			 'r', 'e'), out, sizeof(out)), 11, "uri_path: temperature");
	is_str(out, "temperature", "... text");
	/* Uri-Host before, Uri-Query after: only Uri-Path counts. */
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0x31, 'h', 0x82, 'p', 's', 0x01, 'a', 0x01, 'b',
			 0x43, 'x', '=', '1'), out, sizeof(out)), 6, "uri_path: ps/a/b");
	is_str(out, "ps/a/b", "... joined with '/', other options skipped");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x00), out, sizeof(out)), 2,
	       "uri_path: trailing empty segment");
	is_str(out, "a/", "... \"a/\"");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb0), out, sizeof(out)), 0,
	       "uri_path: one empty segment is the root");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb3, '.', '.', '.'), out, sizeof(out)), 3,
	       "uri_path: \"...\" is an ordinary segment");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb3, 'a', '/', 'b'), out, sizeof(out)), -EINVAL,
	       "uri_path: '/' in a segment is -EINVAL");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb2, 'a', 0x00), out, sizeof(out)), -EINVAL,
	       "uri_path: NUL in a segment is -EINVAL");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x01, '.'), out, sizeof(out)), -EINVAL,
	       "uri_path: \".\" is -EINVAL");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb2, '.', '.', 0x01, 'a'), out, sizeof(out)),
	       -EINVAL, "uri_path: \"..\" is -EINVAL");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x01, 'b'), out, 4), 3,
	       "uri_path: \"a/b\" in 4 bytes fits");
	is_str(out, "a/b", "... text");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x01, 'b'), out, 3), -ENOSPC,
	       "uri_path: \"a/b\" in 3 bytes is -ENOSPC");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01), out, 0), -ENOSPC,
	       "uri_path: capacity 0 is -ENOSPC (no room for the NUL)");
	is_int(path_of(B(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x02, '.', '.'), out, 1), -EINVAL,
	       "uri_path: a bad segment is -EINVAL even without room");
}

/* ---- Block ---- */

static void
test_block(void)
{
	static const struct {
		const char *bytes;
		uint16_t len;
		uint32_t num;
		bool more;
		uint8_t szx;
	} good[] = {
		{ "", 0, 0, false, 0 },
		{ "\x06", 1, 0, false, 6 },
		{ "\x0e", 1, 0, true, 6 },
		{ "\x1a", 1, 1, true, 2 },
		{ "\xf5", 1, 15, false, 5 },
		{ "\x01\x00", 2, 16, false, 0 },
		{ "\xff\xfe", 2, 4095, true, 6 },
		{ "\x01\x00\x00", 3, 4096, false, 0 },
		{ "\xff\xff\xfe", 3, 0xfffff, true, 6 },
		{ "\x00\x00\x16", 3, 1, false, 6 },
	};
	struct coap_block b;
	struct coap_opt o;
	size_t i;

	for (i = 0; i < NELEM(good); i++) {
		o = (struct coap_opt){ COAP_OPT_BLOCK2, good[i].len, S(good[i].bytes) };
		is_int(coap_block_decode(&o, &b), 0, "block %zu-byte value %zu decodes",
		       (size_t)good[i].len, i);
		ok(b.num == good[i].num && b.more == good[i].more && b.szx == good[i].szx,
		   "block: num %u more %d szx %u", good[i].num, good[i].more, good[i].szx);
		if (good[i].len == 3 || good[i].len == 0 || good[i].bytes[0] != 0) {
			uint32_t v;

			coap_opt_uint(&o, &v);
			is_int(coap_block_value(&b), v, "block value of num %u round-trips",
			       good[i].num);
		}
	}
	o = (struct coap_opt){ COAP_OPT_BLOCK1, 1, S("\x07") };
	is_int(coap_block_decode(&o, &b), -EINVAL, "block: szx 7 (BERT) is -EINVAL");
	o = (struct coap_opt){ COAP_OPT_BLOCK1, 3, S("\xff\xff\xff") };
	is_int(coap_block_decode(&o, &b), -EINVAL, "block: 3 bytes with szx 7 is -EINVAL");
	o = (struct coap_opt){ COAP_OPT_BLOCK1, 4, S("\x00\x00\x00\x16") };
	is_int(coap_block_decode(&o, &b), -EINVAL, "block: 4 bytes is -EINVAL");

	b = (struct coap_block){ .num = 0xfffff, .more = true, .szx = 6 };
	is_int(coap_block_value(&b), 0xfffffe, "block_value: largest");
	b = (struct coap_block){ .num = 0, .more = false, .szx = 0 };
	is_int(coap_block_value(&b), 0, "block_value: zero (the empty option)");
	b = (struct coap_block){ .num = 2, .more = true, .szx = 4 };
	is_int(coap_block_value(&b), 0x2c, "block_value: num 2, M, szx 4");

	is_int(coap_block_size(0), 16, "block_size(0) = 16");
	is_int(coap_block_size(6), 1024, "block_size(6) = 1024");
	is_int(coap_block_szx_for(0), 0, "szx_for(0) = 0 (at least 16)");
	is_int(coap_block_szx_for(15), 0, "szx_for(15) = 0");
	is_int(coap_block_szx_for(16), 0, "szx_for(16) = 0");
	is_int(coap_block_szx_for(31), 0, "szx_for(31) = 0");
	is_int(coap_block_szx_for(32), 1, "szx_for(32) = 1");
	is_int(coap_block_szx_for(1023), 5, "szx_for(1023) = 5");
	is_int(coap_block_szx_for(1024), 6, "szx_for(1024) = 6");
	is_int(coap_block_szx_for(1152), 6, "szx_for(1152) = 6");
	is_int(coap_block_szx_for(SIZE_MAX), 6, "szx_for(SIZE_MAX) = 6 (never BERT)");
}

/* ---- Observe ---- */

static void
test_observe(void)
{
	ok(coap_observe_newer(1, 0, 2, 0), "observe: 2 after 1");
	ok(!coap_observe_newer(2, 0, 1, 0), "observe: 1 after 2 is old");
	ok(!coap_observe_newer(5, 0, 5, 0), "observe: the same number is not newer");
	ok(coap_observe_newer(0xffffff, 0, 0, 1), "observe: wraps 0xffffff -> 0");
	ok(coap_observe_newer(0xfffff0, 0, 5, 1), "observe: wraps 0xfffff0 -> 5");
	ok(!coap_observe_newer(5, 0, 0xfffff0, 1), "observe: 0xfffff0 after 5 is old");
	ok(coap_observe_newer(0, 0, (1u << 23) - 1, 0), "observe: +2^23-1 is newer");
	ok(!coap_observe_newer(0, 0, 1u << 23, 0), "observe: +2^23 is not");
	ok(!coap_observe_newer(1u << 23, 0, 0, 0), "observe: -2^23 is not either");
	ok(coap_observe_newer((1u << 23) + 1, 0, 0, 0), "observe: -(2^23+1) wraps to newer");
	ok(!coap_observe_newer(10, 100.0, 9, 228.0), "observe: 128 s later, older number: not yet");
	ok(coap_observe_newer(10, 100.0, 9, 228.5), "observe: more than 128 s later: newer");
	ok(coap_observe_newer(10, 0, 10, 1000), "observe: same number long after: newer");
	ok(coap_observe_newer(0x1000001, 0, 0x1000002, 0), "observe: only the low 24 bits count");
	is_int(COAP_OBSERVE_MAX, 0xffffff, "observe: 24-bit numbers");
}

/* ---- link format ---- */

static void
test_link_append(void)
{
	char buf[256], snap[256];
	size_t len = 0, need;
	struct coap_link l = { .path = "ps/temp", .path_len = 7, .rt = "temperature-c",
			       .ct = COAP_FMT_TEXT, .obs = true };
	struct coap_link bare = { .path = "a", .path_len = 1, .ct = -1 };
	struct coap_link esc = { .path = "x y/%/<>/\"q\"/\xc3\xa9/a:b@c!$&'()*+,;=-._~",
				 .path_len = 0, .rt = "say \"hi\" \\o/", .ct = 65000 };
	static const char esc_want[] =
		"</x%20y/%25/%3C%3E/%22q%22/%C3%A9/a:b@c!$&'()*+,;=-._~>"
		";rt=\"say \\\"hi\\\" \\\\o/\";ct=65000";
	int r;

	esc.path_len = strlen(esc.path);

	is_int(coap_link_append(buf, sizeof(buf), &len, &l), 0, "link: append");
	is_int(len, strlen("</ps/temp>;rt=\"temperature-c\";ct=0;obs"), "link: length");
	is_mem(buf, "</ps/temp>;rt=\"temperature-c\";ct=0;obs", len, "link: text");
	is_int(coap_link_append(buf, sizeof(buf), &len, &bare), 0, "link: a second one");
	is_mem(buf, "</ps/temp>;rt=\"temperature-c\";ct=0;obs,</a>", len,
	       "link: ',' between links, no attributes on the bare one");
	l.obs = false;
	l.rt = NULL;
	l.ct = COAP_FMT_LINK;
	is_int(coap_link_append(buf, sizeof(buf), &len, &l), 0, "link: a third one");
	is_mem(buf, "</ps/temp>;rt=\"temperature-c\";ct=0;obs,</a>,</ps/temp>;ct=40", len,
	       "link: three links");

	len = 0;
	is_int(coap_link_append(buf, sizeof(buf), &len, &esc), 0, "link: escaping");
	if (!ok(len == sizeof(esc_want) - 1 && memcmp(buf, esc_want, len) == 0,
		"link: path percent-encoded outside pchar, rt quotes escaped"))
		printf("#   got %.*s\n", (int)len, buf);

	/* The root: an empty path. */
	len = 0;
	bare.path = NULL;
	bare.path_len = 0;
	is_int(coap_link_append(buf, sizeof(buf), &len, &bare), 0, "link: empty path");
	is_mem(buf, "</>", 3, "link: \"</>\"");
	is_int(len, 3, "link: 3 bytes");

	/* -ENOSPC at every short capacity leaves buffer and length as they were. */
	len = 0;
	coap_link_append(buf, sizeof(buf), &len, &bare);
	l = (struct coap_link){ .path = "ps/t", .path_len = 4, .rt = "x", .ct = 50, .obs = true };
	need = len + strlen(",</ps/t>;rt=\"x\";ct=50;obs");
	for (size_t cap = len; cap < need; cap++) {
		size_t l2 = len;

		memset(buf + len, '#', sizeof(buf) - len);
		memcpy(snap, buf, sizeof(buf));
		r = coap_link_append(buf, cap, &l2, &l);
		if (!ok(r == -ENOSPC && l2 == len && memcmp(buf, snap, sizeof(buf)) == 0,
			"link: capacity %zu of %zu: -ENOSPC, buffer unchanged", cap, need))
			break;
	}
	r = coap_link_append(buf, need, &len, &l);
	ok(r == 0 && len == need, "link: exactly %zu bytes fits", need);
	{
		size_t big = 10;

		is_int(coap_link_append(buf, 5, &big, &l), -ENOSPC, "link: *len > cap is -ENOSPC");
		is_int(big, 10, "... *len unchanged");
	}
}

static void
test_link_match(void)
{
	struct coap_link l = { .path = "ps/a/b", .path_len = 6, .rt = "temperature-c sensor",
			       .ct = COAP_FMT_JSON, .obs = true };
	struct coap_link bare = { .path = "ps/x", .path_len = 4, .ct = -1 };
	static const struct {
		const char *q;
		bool link, bare;
	} cases[] = {
		{ "", true, true },
		{ "href=/ps/a/b", true, false },
		{ "href=/ps/a", false, false },
		{ "href=/ps/a/b/c", false, false },
		{ "href=ps/a/b", false, false },
		{ "href=/ps/*", true, true },
		{ "href=/ps/a*", true, false },
		{ "href=/*", true, true },
		{ "href=*", true, true },
		{ "href=/", false, false },
		{ "href=", false, false },
		{ "href", true, true },
		{ "rt=temperature-c", true, false },
		{ "rt=sensor", true, false },
		{ "rt=temperature-c sensor", true, false },
		{ "rt=temp*", true, false },
		{ "rt=sens*", true, false },
		{ "rt=temperature", false, false },
		{ "rt=*", true, false },
		{ "rt=", false, false },
		{ "rt", true, false },
		{ "ct=50", true, false },
		{ "ct=5*", true, false },
		{ "ct=5", false, false },
		{ "ct=050", false, false },
		{ "ct=*", true, false },
		{ "ct", true, false },
		{ "obs", true, false },
		{ "obs=", true, false },
		{ "obs=*", true, false },
		{ "obs=1", false, false },
		{ "if=sensor", false, false },
		{ "title=x", false, false },
		{ "sz=1*", false, false },
		{ "if", false, false },
		{ "=x", false, false },
		{ "RT=sensor", false, false },
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		is_int(coap_link_match(&l, cases[i].q, strlen(cases[i].q)), cases[i].link,
		       "match \"%s\" on </ps/a/b>;rt=...;ct=50;obs", cases[i].q);
		is_int(coap_link_match(&bare, cases[i].q, strlen(cases[i].q)), cases[i].bare,
		       "match \"%s\" on </ps/x>", cases[i].q);
	}
	/* The query is (pointer, length): bytes after qlen are not looked at. */
	ok(coap_link_match(&l, "ct=50junk", 5), "match: only qlen bytes of the query count");
	ok(!coap_link_match(&l, "ct=50", 3), "match: \"ct=\" (qlen 3) asks for an empty ct");
	ok(coap_link_match(&l, "rt=sensorX", 9), "match: rt=sensor from a longer buffer");
	/* A zero ct and a multi-digit one. */
	l.ct = 0;
	ok(coap_link_match(&l, "ct=0", 4), "match: ct=0");
	l.ct = 11542;
	ok(coap_link_match(&l, "ct=11542", 8) && coap_link_match(&l, "ct=115*", 7) &&
	   !coap_link_match(&l, "ct=1154", 7), "match: ct=11542");
}

int
main(void)
{
	test_vectors();
	test_types();
	test_token_lengths();
	test_delta_forms();
	test_length_forms();
	test_bad();
	test_writer();
	test_uint();
	test_critical();
	test_uri_path();
	test_block();
	test_observe();
	test_link_append();
	test_link_match();
	return done_testing();
}
