/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the CoRE link format code of proto/coap.c
 * (coap_link_append(), coap_link_match()): the listings of /.well-known/core
 * and of the pub/sub collection, and their query filters.
 *
 * The input is read front to back (a short input reads as zeros):
 *	u16 capacity (mod 4096), u8 number of links (mod 8, plus 1),
 *	per link: u8 flags (1 rt, 2 ct, 4 obs, 8 a 31-bit ct, else 16-bit),
 *		  ct, u8 path length + path, u8 rt length (mod 64) + rt (cut
 *		  at its first NUL);
 *	then queries: u8 length + bytes, to the end.
 * Every string is a heap copy of exactly its length (ASan sees any read
 * past it), the document a heap buffer of exactly the fuzzed capacity.
 *
 * Checked:
 *  - each link is appended into the capped document: it fits (0) exactly
 *    when the document's length, a ',' if it is not empty, and the link's
 *    size measured alone fit the capacity; -ENOSPC leaves the length and
 *    every byte of the buffer as they were; a length already above the
 *    capacity is -ENOSPC;
 *  - the document parses back: split on ',' outside quotes and <...>, one
 *    piece per link appended, each "</path>" with the path in pchar and '/'
 *    and every other byte as %XX (upper-case hex), decoding to the link's
 *    path, then ";rt=" with a quoted-string unescaping to its rt, ";ct="
 *    with the decimal ct without leading zeros, ";obs", each present as the
 *    link says and in that order, nothing else;
 *  - coap_link_match() agrees with a reference written from RFC 6690 4.1
 *    (the attribute's value as text: href "/path", rt the whole value or
 *    any of its space-separated types, ct in decimal, obs ""; no value:
 *    present; a value ending in '*': a prefix) for every fuzzed query and
 *    for queries built from the link: "", "href", "href=/<path>" and its
 *    prefixes with '*', "rt=<rt>" and each type, "ct=<ct>", "obs",
 *    unknown attributes, and "href=/<path>x" (no match).
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * It needs only proto/ (scripts/fuzz links every .c file there), so it has no
 * fuzz-sources line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/coap.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_LINKS 8
#define DOC_MAX 4096            /* larger than any capacity or set of links here */

/* The input, read front to back; past its end every read is zero. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static unsigned int
rd_u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static unsigned int
rd_u16(struct rd *r)
{
	unsigned int hi = rd_u8(r);

	return hi << 8 | rd_u8(r);
}

/* @p want bytes (fewer at the end) as a heap copy of exactly their length. */
static char *
rd_bytes(struct rd *r, size_t want, size_t *got)
{
	size_t n = want < r->n ? want : r->n;
	char *s = malloc(n ? n : 1);

	CHECK(s != NULL);
	if (n)
		memcpy(s, r->p, n);
	r->p += n;
	r->n -= n;
	*got = n;
	return s;
}

/* ---- the document parsed back ---- */

/* RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ':' and '@'. */
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

/*
 * Split @p doc at the ',' that separate links: not inside a quoted-string
 * (where '\' escapes the next byte) nor inside <...>. Fills @p start and
 * @p end; returns the number of pieces.
 */
static unsigned int
split_links(const char *doc, size_t len, size_t *start, size_t *end)
{
	unsigned int n = 0;
	bool quoted = false, angle = false;
	size_t i, from = 0;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = doc[i];

		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (angle) {
			angle = c != '>';
		} else if (c == '"') {
			quoted = true;
		} else if (c == '<') {
			angle = true;
		} else if (c == ',') {
			CHECK(n < MAX_LINKS);
			start[n] = from;
			end[n++] = i;
			from = i + 1;
		}
	}
	CHECK(!quoted && !angle);
	CHECK(n < MAX_LINKS);
	start[n] = from;
	end[n++] = len;
	return n;
}

/* Does "name" follow at @p *i? Moves past it. */
static bool
take(const char *s, size_t len, size_t *i, const char *name)
{
	size_t n = strlen(name);

	if (len - *i < n || memcmp(s + *i, name, n) != 0)
		return false;
	*i += n;
	return true;
}

/* One link "</path>;rt=\"..\";ct=N;obs" in s[0..len): exactly @p l. */
static void
check_piece(const char *s, size_t len, const struct coap_link *l)
{
	size_t i = 2, k = 0;
	char d[16];
	int n;

	CHECK(len >= 3 && s[0] == '<' && s[1] == '/');
	while (i < len && s[i] != '>') {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			CHECK(len - i > 2 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
			c = (unsigned char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			/* only what must be encoded is */
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
	i++;
	if (l->rt != NULL) {
		const char *rt = l->rt;

		CHECK(take(s, len, &i, ";rt=\""));
		while (i < len && s[i] != '"') {
			if (s[i] == '\\') {
				/* only '"' and '\' are escaped */
				CHECK(len - i > 1 && (s[i + 1] == '"' || s[i + 1] == '\\'));
				i++;
			}
			CHECK(*rt != '\0' && *rt == s[i]);
			rt++;
			i++;
		}
		CHECK(i < len && *rt == '\0');
		i++;
	}
	if (l->ct >= 0) {
		n = snprintf(d, sizeof(d), "%d", l->ct);
		CHECK(n > 0 && take(s, len, &i, ";ct=") && take(s, len, &i, d));
	}
	if (l->obs)
		CHECK(take(s, len, &i, ";obs"));
	CHECK(i == len);
}

/* ---- coap_link_match() against a reference ---- */

static bool
ref_value(const char *pat, size_t plen, const char *v, size_t vlen)
{
	if (plen && pat[plen - 1] == '*')
		return plen - 1 <= vlen && memcmp(pat, v, plen - 1) == 0;
	return plen == vlen && memcmp(pat, v, plen) == 0;
}

static bool
ref_match(const struct coap_link *l, const char *q, size_t qlen)
{
	static char href[1 + 256];
	const char *eq = memchr(q, '=', qlen), *v = eq ? eq + 1 : NULL;
	size_t nlen = eq ? (size_t)(eq - q) : qlen, vlen = eq ? qlen - nlen - 1 : 0;
	char d[16];

	if (qlen == 0)
		return true;
	if (nlen == 4 && memcmp(q, "href", 4) == 0) {
		href[0] = '/';
		memcpy(href + 1, l->path, l->path_len);
		return v == NULL || ref_value(v, vlen, href, 1 + l->path_len);
	}
	if (nlen == 2 && memcmp(q, "rt", 2) == 0) {
		const char *rt = l->rt, *sp;

		if (rt == NULL)
			return false;
		if (v == NULL || ref_value(v, vlen, rt, strlen(rt)))
			return true;
		for (;;) {
			sp = strchr(rt, ' ');
			if (sp == NULL)
				return *rt && ref_value(v, vlen, rt, strlen(rt));
			if (sp > rt && ref_value(v, vlen, rt, (size_t)(sp - rt)))
				return true;
			rt = sp + 1;
		}
	}
	if (nlen == 2 && memcmp(q, "ct", 2) == 0) {
		if (l->ct < 0)
			return false;
		snprintf(d, sizeof(d), "%d", l->ct);
		return v == NULL || ref_value(v, vlen, d, strlen(d));
	}
	if (nlen == 3 && memcmp(q, "obs", 3) == 0)
		return l->obs && (v == NULL || ref_value(v, vlen, "", 0));
	return false;
}

/* @p q (NUL-terminated, or @p qlen bytes) as a heap copy: the matcher is told its length. */
static bool
match(const struct coap_link *l, const char *q, size_t qlen)
{
	char *c = malloc(qlen ? qlen : 1);
	bool r;

	CHECK(c != NULL);
	if (qlen)
		memcpy(c, q, qlen);
	r = coap_link_match(l, c, qlen);
	CHECK(r == ref_match(l, c, qlen));
	free(c);
	return r;
}

static bool
match_str(const struct coap_link *l, const char *q)
{
	return match(l, q, strlen(q));
}

static void
check_queries(const struct coap_link *l)
{
	static char q[600];
	const char *rt;
	size_t n, k;
	int r;

	CHECK(match(l, "", 0));
	CHECK(match_str(l, "href"));
	CHECK(match_str(l, "href=*"));
	n = 6 + l->path_len;
	memcpy(q, "href=/", 6);
	memcpy(q + 6, l->path, l->path_len);
	CHECK(match(l, q, n));
	/* every prefix of the path with '*' */
	for (k = 6; k <= n; k += 1 + k / 8) {
		char c = q[k];

		q[k] = '*';
		CHECK(match(l, q, k + 1));
		q[k] = c;
	}
	q[n] = 'x';
	CHECK(!match(l, q, n + 1));
	CHECK(match_str(l, "rt") == (l->rt != NULL));
	if (l->rt != NULL) {
		r = snprintf(q, sizeof(q), "rt=%s", l->rt);
		CHECK(r > 0 && match(l, q, (size_t)r));
		for (rt = l->rt; *rt; rt += k + (rt[k] == ' ')) {
			k = strcspn(rt, " ");
			if (k == 0)
				continue;
			memcpy(q + 3, rt, k);
			CHECK(match(l, q, 3 + k));
		}
	}
	CHECK(match_str(l, "ct") == (l->ct >= 0));
	if (l->ct >= 0) {
		r = snprintf(q, sizeof(q), "ct=%d", l->ct);
		CHECK(r > 0 && match(l, q, (size_t)r));
		r = snprintf(q, sizeof(q), "ct=0%d", l->ct);
		CHECK(!match(l, q, (size_t)r));
	}
	CHECK(match_str(l, "obs") == l->obs);
	CHECK(match_str(l, "obs=") == l->obs);
	CHECK(!match_str(l, "title"));
	CHECK(!match_str(l, "if=x"));
	CHECK(!match_str(l, "sz=1"));
	CHECK(!match_str(l, "=href"));
}

/* ---- the target ---- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char alone[DOC_MAX];
	struct rd r = { data, len };
	struct coap_link l[MAX_LINKS];
	char *path[MAX_LINKS], *rt[MAX_LINKS];
	size_t size[MAX_LINKS], start[MAX_LINKS], end[MAX_LINKS];
	unsigned int in_doc[MAX_LINKS], nb_in = 0, nb, i, j, flags;
	size_t cap, dlen = 0, n, before;
	char *doc, *snap, *q;
	int rc;

	cap = rd_u16(&r) % DOC_MAX;
	nb = rd_u8(&r) % MAX_LINKS + 1;
	for (i = 0; i < nb; i++) {
		flags = rd_u8(&r);
		l[i].ct = -1;
		if (flags & 2) {
			unsigned int ct = rd_u16(&r);

			if (flags & 8)
				ct = (ct << 16 | rd_u16(&r)) & 0x7fffffff;
			l[i].ct = (int)ct;
		}
		l[i].obs = (flags & 4) != 0;
		path[i] = rd_bytes(&r, rd_u8(&r), &n);
		l[i].path = path[i];
		l[i].path_len = n;
		rt[i] = rd_bytes(&r, rd_u8(&r) % 64, &n);
		/* a C string: cut at its first NUL, into its own exact copy */
		n = strnlen(rt[i], n);
		{
			char *t = malloc(n + 1);

			CHECK(t != NULL);
			memcpy(t, rt[i], n);
			t[n] = '\0';
			free(rt[i]);
			rt[i] = t;
		}
		l[i].rt = flags & 1 ? rt[i] : NULL;
	}

	/* each link alone: its size, and a document of one link */
	for (i = 0; i < nb; i++) {
		n = 0;
		CHECK(coap_link_append(alone, sizeof(alone), &n, &l[i]) == 0);
		CHECK(n > 0 && n < sizeof(alone));
		check_piece(alone, n, &l[i]);
		size[i] = n;
		/* exactly its size fits, one byte less does not */
		n = 0;
		CHECK(coap_link_append(alone, size[i], &n, &l[i]) == 0 && n == size[i]);
		n = 0;
		CHECK(coap_link_append(alone, size[i] - 1, &n, &l[i]) == -ENOSPC && n == 0);
		check_queries(&l[i]);
	}

	/* all of them into a document of the fuzzed capacity */
	doc = malloc(cap ? cap : 1);
	snap = malloc(cap ? cap : 1);
	CHECK(doc != NULL && snap != NULL);
	memset(doc, 0xa5, cap);
	for (i = 0; i < nb; i++) {
		bool fits = dlen + (dlen ? 1 : 0) + size[i] <= cap;

		memcpy(snap, doc, cap);
		before = dlen;
		rc = coap_link_append(doc, cap, &dlen, &l[i]);
		if (fits) {
			CHECK(rc == 0 && dlen == before + (before ? 1 : 0) + size[i]);
			CHECK(memcmp(doc, snap, before) == 0);
			CHECK(memcmp(doc + dlen, snap + dlen, cap - dlen) == 0);
			in_doc[nb_in++] = i;
		} else {
			CHECK(rc == -ENOSPC && dlen == before && memcmp(doc, snap, cap) == 0);
		}
	}
	/* a length already past the capacity */
	n = cap + 1;
	CHECK(coap_link_append(doc, cap, &n, &l[0]) == -ENOSPC && n == cap + 1);

	/* the document parses back into the links that went in, in order */
	CHECK(split_links(doc, dlen, start, end) == nb_in);
	for (i = 0; i < nb_in; i++)
		check_piece(doc + start[i], end[i] - start[i], &l[in_doc[i]]);

	/* the rest of the input: queries, against every link */
	while (r.n > 0) {
		q = rd_bytes(&r, rd_u8(&r), &n);
		for (i = 0; i < nb; i++)
			(void)match(&l[i], q, n);
		free(q);
	}

	free(snap);
	free(doc);
	for (j = 0; j < nb; j++) {
		free(path[j]);
		free(rt[j]);
	}
	return 0;
}
