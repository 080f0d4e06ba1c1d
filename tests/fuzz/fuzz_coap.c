/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the CoAP wire code (proto/coap.c).
 *
 * The input is one datagram, decoded from a heap copy of exactly its length
 * (so ASan sees any read past it), and checked:
 *  - the return value is 0 exactly when m.err is NONE, else -EINVAL with a
 *    named reason; the header fields are those of the datagram whenever the
 *    4-byte header was readable and the version 1; tkl is at most 8;
 *  - a decoded message's views lie inside the datagram, its options are in
 *    non-decreasing order, its payload is non-empty and ends the datagram;
 *  - written back with coap_writer (each option by its raw bytes) it gives
 *    the input byte for byte: the delta/length forms are canonical and raw
 *    values keep any leading zeros; one byte less room is -ENOSPC;
 *  - each option of 0-4 bytes read as an integer and written with
 *    coap_w_opt_uint() comes back as the same integer in the shortest form;
 *    coap_block_decode() agrees with the integer and coap_block_value();
 *  - coap_uri_path() agrees with a join done here, fits exactly in its
 *    length + 1 and is -ENOSPC one byte below;
 *  - coap_unknown_critical(), coap_opt_find() and coap_opt_count() agree
 *    with a scan done here;
 *  - a link built from the input (path, rt, ct, obs) is appended with
 *    coap_link_append(): -ENOSPC changes nothing, the path comes out in
 *    pchar and '/' with every other byte as %XX and decodes back to the
 *    input; the link matches "href=/<path>", "rt=<rt>", "ct=<ct>" and the
 *    empty query, never an unknown attribute; every Uri-Query of the
 *    datagram is tried as a filter;
 *  - coap_observe_newer() is antisymmetric for equal times.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * It needs only proto/ (scripts/fuzz links every .c file there), so it has no
 * fuzz-sources line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/coap.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const uint16_t known[] = { COAP_OPT_URI_HOST, COAP_OPT_URI_PORT, COAP_OPT_URI_PATH,
				  COAP_OPT_URI_QUERY, COAP_OPT_BLOCK2, COAP_OPT_BLOCK1 };

static bool
in_buf(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	return n == 0 || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void
check_header(const struct coap_msg *m, const uint8_t *in, size_t len)
{
	CHECK(m->tkl <= COAP_TOKEN_MAX);
	CHECK(m->nb_opts <= COAP_MAX_OPTS);
	if (m->err == COAP_ERR_SHORT) {
		CHECK(len < COAP_HDR_LEN);
		return;
	}
	CHECK(len >= COAP_HDR_LEN);
	if (m->err == COAP_ERR_VERSION) {
		CHECK(in[0] >> 6 != COAP_VERSION);
		return;
	}
	CHECK(in[0] >> 6 == COAP_VERSION);
	CHECK(m->type == ((in[0] >> 4) & 3));
	CHECK(m->code == in[1]);
	CHECK(m->mid == (in[2] << 8 | in[3]));
	CHECK(m->err == COAP_ERR_TKL || (in[0] & 0x0f) <= COAP_TOKEN_MAX);
	if (m->tkl)
		CHECK(m->tkl == (in[0] & 0x0f) && memcmp(m->token, in + 4, m->tkl) == 0);
}

static void
check_writeback(const struct coap_msg *m, const uint8_t *in, size_t len)
{
	struct coap_writer w;
	uint8_t *out = malloc(len);
	unsigned int i, pass;

	CHECK(out != NULL);
	for (pass = 0; pass < 2; pass++) {
		size_t cap = pass ? len - 1 : len;

		coap_w_init(&w, out, cap, m->type, m->code, m->mid, m->token, m->tkl);
		for (i = 0; i < m->nb_opts; i++)
			coap_w_opt(&w, m->opts[i].num, m->opts[i].val, m->opts[i].len);
		coap_w_payload(&w, m->payload, m->payload_len);
		if (pass == 0)
			CHECK(coap_w_finish(&w) == (int)len && memcmp(out, in, len) == 0);
		else
			CHECK(coap_w_finish(&w) == -ENOSPC);
	}
	free(out);
}

static void
check_uint_and_block(const struct coap_opt *o)
{
	struct coap_block b;
	struct coap_writer w;
	struct coap_msg m2;
	uint8_t buf[16];
	uint32_t v, v2;
	int r;

	r = coap_block_decode(o, &b);
	if (coap_opt_uint(o, &v) != 0) {
		CHECK(o->len > 4 && r == -EINVAL);
		return;
	}
	CHECK(o->len <= 4);
	coap_w_init(&w, buf, sizeof(buf), COAP_CON, COAP_GET, 0, NULL, 0);
	coap_w_opt_uint(&w, o->num, v);
	r = coap_w_finish(&w);
	CHECK(r > 0 && coap_decode(buf, (size_t)r, &m2) == 0 && m2.nb_opts == 1);
	CHECK(coap_opt_uint(&m2.opts[0], &v2) == 0 && v2 == v && m2.opts[0].num == o->num);
	CHECK(m2.opts[0].len <= o->len && (m2.opts[0].len == 0 || m2.opts[0].val[0] != 0));

	r = coap_block_decode(o, &b);
	if (o->len > 3 || (v & 7) == 7) {
		CHECK(r == -EINVAL);
		return;
	}
	CHECK(r == 0 && b.num < (1u << 20) && b.szx <= 6);
	CHECK(coap_block_value(&b) == v);
}

static void
check_uri_path(const struct coap_msg *m)
{
	char out[512], want[512];
	size_t n = 0;
	unsigned int i, nseg = 0;
	bool bad = false, big = false;
	int r;

	for (i = 0; i < m->nb_opts; i++) {
		const struct coap_opt *o = &m->opts[i];

		if (o->num != COAP_OPT_URI_PATH)
			continue;
		if ((o->len == 1 && o->val[0] == '.') ||
		    (o->len == 2 && o->val[0] == '.' && o->val[1] == '.') ||
		    (o->len && (memchr(o->val, '/', o->len) || memchr(o->val, 0, o->len))))
			bad = true;
		if (n + 1 + o->len >= sizeof(want)) {
			big = true;
			continue;
		}
		if (nseg++)
			want[n++] = '/';
		memcpy(want + n, o->val, o->len);
		n += o->len;
	}
	r = coap_uri_path(m, out, sizeof(out));
	if (bad) {
		CHECK(r == -EINVAL);
		return;
	}
	if (big) {
		CHECK(r == -ENOSPC || r >= (int)sizeof(want) - 1);
		return;
	}
	CHECK(r == (int)n && memcmp(out, want, n) == 0 && out[n] == '\0');
	CHECK(coap_uri_path(m, out, n + 1) == (int)n);
	CHECK(coap_uri_path(m, out, n) == -ENOSPC);
}

static void
check_opts(const struct coap_msg *m)
{
	const size_t nknown = sizeof(known) / sizeof(known[0]);
	const struct coap_opt *c = coap_unknown_critical(m, known, nknown);
	const struct coap_opt *want = NULL;
	unsigned int i, k;

	for (i = 0; i < m->nb_opts && want == NULL; i++) {
		if (!coap_opt_critical(m->opts[i].num))
			continue;
		for (k = 0; k < nknown; k++)
			if (known[k] == m->opts[i].num)
				break;
		if (k == nknown)
			want = &m->opts[i];
	}
	CHECK(c == want);
	for (i = 0; i < m->nb_opts; i++) {
		const struct coap_opt *f = coap_opt_find(m, m->opts[i].num);
		unsigned int n = 0;

		CHECK(f != NULL && f <= &m->opts[i] && f->num == m->opts[i].num);
		for (k = 0; k < m->nb_opts; k++)
			n += m->opts[k].num == m->opts[i].num;
		CHECK(coap_opt_count(m, m->opts[i].num) == n);
		if (i)
			CHECK(m->opts[i - 1].num <= m->opts[i].num);
		check_uint_and_block(&m->opts[i]);
	}
}

static bool
pchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~!$&'()*+,;=:@", c));
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The "</...>" at @p doc: its path decodes back to @p l->path. */
static void
check_link_text(const char *doc, size_t len, const struct coap_link *l)
{
	size_t i = 2, k = 0;

	CHECK(len >= 3 && doc[0] == '<' && doc[1] == '/');
	while (i < len && doc[i] != '>') {
		unsigned char c = (unsigned char)doc[i];

		if (c == '%') {
			CHECK(i + 2 < len && hexval(doc[i + 1]) >= 0 && hexval(doc[i + 2]) >= 0);
			c = (unsigned char)(hexval(doc[i + 1]) << 4 | hexval(doc[i + 2]));
			CHECK(!pchar(c) && c != '/');
			i += 3;
		} else {
			CHECK(c == '/' || pchar(c));
			i++;
		}
		CHECK(k < l->path_len && (unsigned char)l->path[k] == c);
		k++;
	}
	CHECK(i < len && k == l->path_len);
}

static void
check_link(const struct coap_msg *m, bool decoded, const uint8_t *in, size_t len)
{
	static char doc[8192], snap[8192];
	char rt[64], q[600], d[16];
	struct coap_link l;
	size_t n = 0, before, cap, plen = len < 256 ? len : 256, rlen;
	unsigned int i;
	int r;

	/* rt: the input up to its first NUL (at most 63 bytes); path: the input. */
	for (rlen = 0; rlen < len && rlen < sizeof(rt) - 1 && in[rlen]; rlen++)
		rt[rlen] = (char)in[rlen];
	rt[rlen] = '\0';
	l = (struct coap_link){
		.path = (const char *)in,
		.path_len = plen,
		.rt = len && (in[0] & 1) ? rt : NULL,
		.ct = len > 1 ? (int)in[1] * 3 - 100 : -1,
		.obs = len > 2 && (in[2] & 1),
	};

	memset(doc, '#', sizeof(doc));
	CHECK(coap_link_append(doc, sizeof(doc), &n, &l) == 0);
	CHECK(n > 0 && n < sizeof(doc));
	check_link_text(doc, n, &l);
	before = n;
	/* A second link at a capacity from the input: fits, or changes nothing. */
	cap = before + (len > 3 ? (size_t)in[3] * 4 : 0);
	memcpy(snap, doc, sizeof(doc));
	r = coap_link_append(doc, cap, &n, &l);
	if (r == 0) {
		CHECK(n <= cap && n == 2 * before + 1 && doc[before] == ',');
		CHECK(memcmp(doc, doc + before + 1, before) == 0);
	} else {
		CHECK(r == -ENOSPC && n == before && memcmp(doc, snap, sizeof(doc)) == 0);
	}

	CHECK(coap_link_match(&l, "", 0));
	CHECK(!coap_link_match(&l, "zz=1", 4));
	memcpy(q, "href=/", 6);
	memcpy(q + 6, l.path, l.path_len);
	CHECK(coap_link_match(&l, q, 6 + l.path_len));
	if (l.rt) {
		r = snprintf(q, sizeof(q), "rt=%s", l.rt);
		CHECK(coap_link_match(&l, q, (size_t)r));
	}
	CHECK(coap_link_match(&l, "ct", 2) == (l.ct >= 0));
	if (l.ct >= 0) {
		r = snprintf(d, sizeof(d), "ct=%d", l.ct);
		CHECK(coap_link_match(&l, d, (size_t)r));
	}
	CHECK(coap_link_match(&l, "obs", 3) == l.obs);
	/* The raw input as a query, and every Uri-Query: anything, without overreads. */
	(void)coap_link_match(&l, (const char *)in, len);
	if (!decoded)
		return;
	for (i = 0; i < m->nb_opts; i++)
		if (m->opts[i].num == COAP_OPT_URI_QUERY)
			(void)coap_link_match(&l, (const char *)m->opts[i].val, m->opts[i].len);
}

static void
check_observe(const uint8_t *in, size_t len)
{
	uint32_t v1, v2;

	if (len < 6)
		return;
	v1 = (uint32_t)in[0] << 16 | (uint32_t)in[1] << 8 | in[2];
	v2 = (uint32_t)in[3] << 16 | (uint32_t)in[4] << 8 | in[5];
	CHECK(!coap_observe_newer(v1, 0, v1, 0));
	CHECK(coap_observe_newer(v1, 0, v1, 128.5));
	if (v1 != v2 && ((v1 - v2) & COAP_OBSERVE_MAX) != (1u << 23))
		CHECK(coap_observe_newer(v1, 5, v2, 5) != coap_observe_newer(v2, 5, v1, 5));
	CHECK(coap_block_szx_for(len) <= 6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct coap_msg m;
	uint8_t *in;
	unsigned int i;
	int r;

	in = malloc(len ? len : 1);
	CHECK(in != NULL);
	if (len)
		memcpy(in, data, len);
	r = coap_decode(in, len, &m);
	CHECK(coap_err_name(m.err) != NULL && m.err < COAP_ERR_MAX);
	CHECK((r == 0) == (m.err == COAP_ERR_NONE));
	CHECK(r == 0 || r == -EINVAL);
	check_header(&m, in, len);
	if (r == 0) {
		for (i = 0; i < m.nb_opts; i++)
			CHECK(in_buf(m.opts[i].val, m.opts[i].len, in, len));
		if (m.payload) {
			CHECK(m.payload_len > 0 && in_buf(m.payload, m.payload_len, in, len));
			CHECK(m.payload + m.payload_len == in + len && m.payload[-1] == 0xff);
		} else {
			CHECK(m.payload_len == 0);
		}
		CHECK(m.code != COAP_EMPTY || len == COAP_HDR_LEN);
		check_writeback(&m, in, len);
		check_opts(&m);
		check_uri_path(&m);
	}
	check_link(&m, r == 0, in, len);
	check_observe(in, len);
	free(in);
	return 0;
}
