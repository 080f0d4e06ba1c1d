/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for proto/acl.c and the filter relations of proto/topic.c
 * (topic_filter_covers(), topic_filters_intersect()).
 *
 * The input is lines ('\n'); the first byte says what a line is:
 *   R<f><client>\t<topic>   a rule: allow = f & 1, ops = (f >> 1) & 7 (so
 *                           '7' allow both, '6' deny both, '3' allow publish,
 *                           '5' allow subscribe, '1' a bad ops), transport =
 *                           (f >> 6) & 3 (0 any: digits; 1 dtls: 'G' allow
 *                           both, 'F' deny both; 2 plain, 3 bad: f >= 0x80);
 *                           without a
 *                           tab the client is NULL and the rest the topic
 *   P<client>\t<topic>      a publish check (client and topic raw bytes)
 *   S<client>\t<topic>      a subscribe check
 *   p, s                    the same for a client over DTLS (ACL_OVER_DTLS)
 *   F<filter>\t<filter>     a pair for the relation checks
 * anything else is ignored.
 *
 * Every string the code under test reads is an exact-size heap copy, so
 * ASan sees any read past it. Checked (a violation aborts):
 *  - relations, for valid filters: covers and intersects agree with a
 *    brute force over every name that can tell them apart (when the
 *    filters are short enough); covers is reflexive and transitive and
 *    implies intersects; intersects is symmetric; with a name on one side
 *    both are topic_match();
 *  - acl_build() succeeds exactly when every rule is valid on its own, and
 *    else names the first bad rule ("rule N: ...", EINVAL); acl_rule()
 *    reads back the specs;
 *  - acl_check() agrees with a reference that substitutes %c into a copy
 *    of the filter and calls the topic.c relations; NULL and empty sets
 *    allow everything; a subscription allowed to a client lets through
 *    only names that client may subscribe to one by one; with every rule
 *    made "both", publishing a valid name is judged as subscribing to it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/acl.h"
#include "proto/topic.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_RULES 16
#define MAX_QUERIES 16
#define MAX_PAIRS 8
#define BRUTE_LEVELS 5          /* brute force filters of at most this many levels */

struct str {
	char *s;     /* exact-size heap copy (NULL for none) */
	size_t len;
};

static struct str
dup_bytes(const uint8_t *p, size_t len)
{
	struct str r = { malloc(len ? len : 1), len };

	CHECK(r.s != NULL);
	memcpy(r.s, p, len);
	return r;
}

/* NUL-terminated copy, cut at the first NUL like a config string. */
static char *
dup_cstr(const uint8_t *p, size_t len)
{
	const uint8_t *nul = memchr(p, 0, len);
	size_t n = nul ? (size_t)(nul - p) : len;
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void
split_tab(const uint8_t *p, size_t len, struct str *a, struct str *b, bool *had_tab)
{
	const uint8_t *tab = memchr(p, '\t', len);

	*had_tab = tab != NULL;
	if (tab == NULL) {
		*a = dup_bytes(p, 0);
		*b = dup_bytes(p, len);
		return;
	}
	*a = dup_bytes(p, (size_t)(tab - p));
	*b = dup_bytes(tab + 1, len - (size_t)(tab - p) - 1);
}

/* ---- relations ---------------------------------------------------------- */

struct lv {
	const char *s;
	size_t len;
};

static int
split_levels(const char *s, size_t len, struct lv *out, int max)
{
	struct topic_levels it;
	const char *l;
	size_t n;
	int count = 0;

	topic_levels_init(&it, s, len);
	while (topic_levels_next(&it, &l, &n)) {
		if (count == max)
			return -1;
		out[count].s = l;
		out[count].len = n;
		count++;
	}
	return count;
}

static bool
is_wild(const struct lv *l)
{
	return l->len == 1 && (l->s[0] == '+' || l->s[0] == '#');
}

static bool
lv_eq(const struct lv *l, const char *s, size_t n)
{
	return l->len == n && memcmp(l->s, s, n) == 0;
}

struct brute {
	struct lv x[BRUTE_LEVELS], y[BRUTE_LEVELS];
	int nx, ny;
	struct lv tok[BRUTE_LEVELS + 1][4];
	int ntok[BRUTE_LEVELS + 1];
	char name[8192];
	bool x_misses;   /* a name y matches but x does not */
	bool both;       /* a name both match */
};

static void
add_tok(struct brute *b, int j, const char *s, size_t n)
{
	for (int i = 0; i < b->ntok[j]; i++)
		if (lv_eq(&b->tok[j][i], s, n))
			return;
	b->tok[j][b->ntok[j]].s = s;
	b->tok[j][b->ntok[j]].len = n;
	b->ntok[j]++;
}

/* A level equal to neither literal at position j (with '$' if asked). */
static void
add_fresh(struct brute *b, int j, bool dollar)
{
	static const char *const fresh[] = { "x", "y", "z", "$x", "$y", "$z" };

	for (int i = dollar ? 3 : 0; i < (dollar ? 6 : 3); i++) {
		size_t n = strlen(fresh[i]);

		if ((j < b->nx && lv_eq(&b->x[j], fresh[i], n)) ||
		    (j < b->ny && lv_eq(&b->y[j], fresh[i], n)))
			continue;
		add_tok(b, j, fresh[i], n);
		return;
	}
}

static void
brute_names(struct brute *b, int j, int k, size_t pos, const char *x, size_t xl,
	    const char *y, size_t yl)
{
	if (j == k) {
		bool mx, my;

		if (topic_name_check(b->name, pos) != 0)
			return;    /* "": a one-level name with an empty level */
		mx = topic_match(x, xl, b->name, pos);
		my = topic_match(y, yl, b->name, pos);
		b->x_misses |= my && !mx;
		b->both |= mx && my;
		return;
	}
	for (int i = 0; i < b->ntok[j]; i++) {
		size_t p = pos;

		if (j > 0)
			b->name[p++] = '/';
		memcpy(b->name + p, b->tok[j][i].s, b->tok[j][i].len);
		brute_names(b, j + 1, k, p + b->tok[j][i].len, x, xl, y, yl);
	}
}

/*
 * Whether a name matches depends only on its level count (counts above
 * the longer filter's all behave alike) and, per position, on whether the
 * level equals either filter's literal there; at the first level also on a
 * leading '$'. So one name per class decides both relations exactly.
 */
static bool
brute_force(const char *x, size_t xl, const char *y, size_t yl, bool *covers, bool *meets)
{
	static struct brute b;
	int maxl;

	b.nx = split_levels(x, xl, b.x, BRUTE_LEVELS);
	b.ny = split_levels(y, yl, b.y, BRUTE_LEVELS);
	/* a name is at most every literal of both, fresh levels and slashes */
	if (b.nx < 0 || b.ny < 0 || xl + yl + 4 * (BRUTE_LEVELS + 1) > sizeof(b.name))
		return false;
	maxl = b.nx > b.ny ? b.nx : b.ny;
	for (int j = 0; j <= maxl; j++) {
		b.ntok[j] = 0;
		if (j < b.nx && !is_wild(&b.x[j]))
			add_tok(&b, j, b.x[j].s, b.x[j].len);
		if (j < b.ny && !is_wild(&b.y[j]))
			add_tok(&b, j, b.y[j].s, b.y[j].len);
		add_fresh(&b, j, false);
		if (j == 0)
			add_fresh(&b, j, true);
	}
	b.x_misses = b.both = false;
	for (int k = 1; k <= maxl + 1; k++)
		brute_names(&b, 0, k, 0, x, xl, y, yl);
	*covers = !b.x_misses;
	*meets = b.both;
	return true;
}

static void
check_pair(const struct str *x, const struct str *y, bool brute)
{
	bool c = topic_filter_covers(x->s, x->len, y->s, y->len);
	bool m = topic_filters_intersect(x->s, x->len, y->s, y->len);
	bool rc, rm;

	(void)topic_filter_covers(y->s, y->len, x->s, x->len);
	if (topic_filter_check(x->s, x->len) < 0 || topic_filter_check(y->s, y->len) < 0)
		return;
	CHECK(m == topic_filters_intersect(y->s, y->len, x->s, x->len));
	CHECK(!c || m);
	CHECK(topic_filter_covers(x->s, x->len, x->s, x->len));
	CHECK(topic_filters_intersect(x->s, x->len, x->s, x->len));
	if (topic_name_check(y->s, y->len) == 0) {
		bool want = topic_match(x->s, x->len, y->s, y->len);

		CHECK(c == want && m == want);
	}
	if (brute && brute_force(x->s, x->len, y->s, y->len, &rc, &rm)) {
		CHECK(c == rc);
		CHECK(m == rm);
	}
}

static void
check_relations(const struct str *f, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			check_pair(&f[i], &f[j], true);
	/* transitivity over valid filters */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < n; k++) {
				if (topic_filter_check(f[i].s, f[i].len) < 0 ||
				    topic_filter_check(f[j].s, f[j].len) < 0 ||
				    topic_filter_check(f[k].s, f[k].len) < 0)
					continue;
				if (topic_filter_covers(f[i].s, f[i].len, f[j].s, f[j].len) &&
				    topic_filter_covers(f[j].s, f[j].len, f[k].s, f[k].len))
					CHECK(topic_filter_covers(f[i].s, f[i].len, f[k].s, f[k].len));
			}
}

/* ---- rule sets ---------------------------------------------------------- */

struct query {
	enum acl_op op;
	bool dtls;
	struct str client, topic;
};

static bool
spec_valid(const struct acl_rule_spec *s)
{
	char err[16];
	struct acl *a = acl_build(s, 1, err, sizeof(err));

	acl_free(a);
	return a != NULL;
}

/* The filter with each "%c" level replaced by the id: a heap copy. */
static struct str
substitute(const char *t, const struct str *id)
{
	struct topic_levels it;
	const char *l;
	size_t n, len = 0, pos = 0;
	bool first = true;
	struct str r;

	topic_levels_init(&it, t, strlen(t));
	while (topic_levels_next(&it, &l, &n))
		len += (n == 2 && memcmp(l, "%c", 2) == 0 ? id->len : n) + 1;
	r.s = malloc(len);
	CHECK(r.s != NULL);
	topic_levels_init(&it, t, strlen(t));
	while (topic_levels_next(&it, &l, &n)) {
		if (!first)
			r.s[pos++] = '/';
		first = false;
		if (n == 2 && memcmp(l, "%c", 2) == 0) {
			memcpy(r.s + pos, id->s, id->len);
			pos += id->len;
		} else {
			memcpy(r.s + pos, l, n);
			pos += n;
		}
	}
	r.len = pos;
	return r;
}

static bool
uses_c(const char *t)
{
	struct topic_levels it;
	const char *l;
	size_t n;

	topic_levels_init(&it, t, strlen(t));
	while (topic_levels_next(&it, &l, &n))
		if (n == 2 && memcmp(l, "%c", 2) == 0)
			return true;
	return false;
}

static bool
ref_check(const struct acl_rule_spec *specs, int n, const struct str *client, enum acl_op op,
	  bool dtls, const struct str *topic)
{
	char id[ACL_CLIENT_MAX + 1];
	bool globbable = client->len <= ACL_CLIENT_MAX && !memchr(client->s, 0, client->len);
	bool fits = globbable && !memchr(client->s, '/', client->len) &&
		    !memchr(client->s, '+', client->len) && !memchr(client->s, '#', client->len);

	if (n == 0)
		return true;
	if (globbable) {
		memcpy(id, client->s, client->len);
		id[client->len] = 0;
	}
	for (int i = 0; i < n; i++) {
		const struct acl_rule_spec *s = &specs[i];
		const char *pat = s->client ? s->client : "*";
		struct str f;
		bool applies;

		if (!(s->ops & op))
			continue;
		if ((s->transport == ACL_TRANSPORT_DTLS && !dtls) ||
		    (s->transport == ACL_TRANSPORT_PLAIN && dtls))
			continue;
		if (uses_c(s->topic) && !fits)
			continue;
		if (strcmp(pat, "*") != 0 && (!globbable || fnmatch(pat, id, 0) != 0))
			continue;
		f = substitute(s->topic, client);
		applies = s->allow ? topic_filter_covers(f.s, f.len, topic->s, topic->len)
				   : topic_filters_intersect(f.s, f.len, topic->s, topic->len);
		free(f.s);
		if (applies)
			return s->allow;
	}
	return false;
}

/* A name the filter matches: '+' -> "w", '#' -> "w/w" (may be too long to be one). */
static struct str
instance(const struct str *f)
{
	struct str r = { malloc(f->len * 3 + 1), 0 };
	struct topic_levels it;
	const char *l;
	size_t n;
	bool first = true;

	CHECK(r.s != NULL);
	topic_levels_init(&it, f->s, f->len);
	while (topic_levels_next(&it, &l, &n)) {
		if (!first)
			r.s[r.len++] = '/';
		first = false;
		if (n == 1 && (l[0] == '+' || l[0] == '#')) {
			memcpy(r.s + r.len, l[0] == '+' ? "w" : "w/w", l[0] == '+' ? 1 : 3);
			r.len += l[0] == '+' ? 1 : 3;
		} else {
			memcpy(r.s + r.len, l, n);
			r.len += n;
		}
	}
	return r;
}

static void
check_acl(struct acl_rule_spec *specs, int nr, const struct query *q, int nq)
{
	char err[512];
	struct acl *a, *both;
	int first_bad = -1;

	for (int i = 0; i < nr && first_bad < 0; i++)
		if (!spec_valid(&specs[i]))
			first_bad = i;
	err[0] = 0;
	errno = 0;
	a = acl_build(specs, (unsigned int)nr, err, sizeof(err));
	if (first_bad >= 0) {
		char want[32];

		CHECK(a == NULL && errno == EINVAL);
		snprintf(want, sizeof(want), "rule %d: ", first_bad);
		CHECK(strncmp(err, want, strlen(want)) == 0);
		/* the valid prefix still builds */
		a = acl_build(specs, (unsigned int)first_bad, NULL, 0);
		CHECK(a != NULL);
		nr = first_bad;
	}
	CHECK(a != NULL);
	CHECK(acl_count(a) == (unsigned int)nr);
	CHECK(acl_rule(a, (unsigned int)nr) == NULL);
	for (int i = 0; i < nr; i++) {
		const struct acl_rule_spec *g = acl_rule(a, (unsigned int)i);

		CHECK(g != NULL);
		CHECK(strcmp(g->client, specs[i].client ? specs[i].client : "*") == 0);
		CHECK(strcmp(g->topic, specs[i].topic) == 0);
		CHECK(g->ops == specs[i].ops && g->allow == specs[i].allow &&
		      g->transport == specs[i].transport);
	}
	for (int i = 0; i < nr; i++)
		specs[i].ops = ACL_PUBLISH | ACL_SUBSCRIBE;
	both = acl_build(specs, (unsigned int)nr, NULL, 0);
	CHECK(both != NULL);

	for (int i = 0; i < nq; i++) {
		const struct query *c = &q[i];
		unsigned int op = c->op | (c->dtls ? ACL_OVER_DTLS : 0);
		unsigned int other = (c->op == ACL_PUBLISH ? ACL_SUBSCRIBE : ACL_PUBLISH) |
				     (c->dtls ? ACL_OVER_DTLS : 0);
		unsigned int sub = ACL_SUBSCRIBE | (c->dtls ? ACL_OVER_DTLS : 0);
		bool r = acl_check(a, c->client.s, c->client.len, op, c->topic.s, c->topic.len);
		bool rb;

		CHECK(acl_check(NULL, c->client.s, c->client.len, op, c->topic.s, c->topic.len));
		/* the reference needs the specs as built: ops restored from the set */
		{
			struct acl_rule_spec s[MAX_RULES];

			for (int k = 0; k < nr; k++)
				s[k] = *acl_rule(a, (unsigned int)k);
			CHECK(r == ref_check(s, nr, &c->client, c->op, c->dtls, &c->topic));
		}
		rb = acl_check(both, c->client.s, c->client.len, op, c->topic.s, c->topic.len);
		CHECK(rb == ref_check(specs, nr, &c->client, c->op, c->dtls, &c->topic));
		if (topic_name_check(c->topic.s, c->topic.len) == 0)
			CHECK(rb == acl_check(both, c->client.s, c->client.len, other,
					      c->topic.s, c->topic.len));
		/* an allowed subscription lets through only allowed names */
		if (c->op == ACL_SUBSCRIBE && r && topic_filter_check(c->topic.s, c->topic.len) >= 0) {
			struct str inst = instance(&c->topic);

			if (topic_name_check(inst.s, inst.len) == 0 &&
			    topic_match(c->topic.s, c->topic.len, inst.s, inst.len))
				CHECK(acl_check(a, c->client.s, c->client.len, sub,
						inst.s, inst.len));
			free(inst.s);
			for (int k = 0; k < nq; k++) {
				const struct str *t = &q[k].topic;

				if (topic_name_check(t->s, t->len) == 0 &&
				    topic_match(c->topic.s, c->topic.len, t->s, t->len))
					CHECK(acl_check(a, c->client.s, c->client.len,
							sub, t->s, t->len));
			}
		}
	}
	acl_free(a);
	acl_free(both);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl_rule_spec specs[MAX_RULES];
	char *rule_str[MAX_RULES * 2];
	struct query q[MAX_QUERIES];
	struct str pair[MAX_PAIRS * 2], rel[MAX_PAIRS * 2 + MAX_RULES];
	int nr = 0, nq = 0, np = 0, ns = 0, nrel = 0;
	const uint8_t *p = data, *end = data + size;
	struct acl *empty;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct str a, b;
		bool tab;

		if (len >= 2 && p[0] == 'R' && nr < MAX_RULES) {
			const uint8_t *tp = memchr(p + 2, '\t', len - 2);

			specs[nr].allow = p[1] & 1;
			specs[nr].ops = (p[1] >> 1) & 7;
			specs[nr].transport = (p[1] >> 6) & 3;
			if (tp == NULL) {
				specs[nr].client = NULL;
				specs[nr].topic = rule_str[ns++] = dup_cstr(p + 2, len - 2);
			} else {
				specs[nr].client = rule_str[ns++] = dup_cstr(p + 2, (size_t)(tp - p - 2));
				specs[nr].topic = rule_str[ns++] =
					dup_cstr(tp + 1, len - (size_t)(tp + 1 - p));
			}
			nr++;
		} else if (len >= 1 && (p[0] == 'P' || p[0] == 'S' || p[0] == 'p' || p[0] == 's') &&
			   nq < MAX_QUERIES) {
			split_tab(p + 1, len - 1, &q[nq].client, &q[nq].topic, &tab);
			q[nq].op = p[0] == 'P' || p[0] == 'p' ? ACL_PUBLISH : ACL_SUBSCRIBE;
			q[nq].dtls = p[0] == 'p' || p[0] == 's';
			nq++;
		} else if (len >= 1 && p[0] == 'F' && np < MAX_PAIRS) {
			split_tab(p + 1, len - 1, &a, &b, &tab);
			pair[2 * np] = a;
			pair[2 * np + 1] = b;
			np++;
		}
		p += len + (nl != NULL);
	}

	/* relations: the F pairs, and the rule topics with the query topics */
	for (int i = 0; i < np; i++) {
		check_pair(&pair[2 * i], &pair[2 * i + 1], true);
		check_pair(&pair[2 * i + 1], &pair[2 * i], true);
		rel[nrel++] = pair[2 * i];
		rel[nrel++] = pair[2 * i + 1];
	}
	for (int i = 0; i < nr && nrel < (int)(sizeof(rel) / sizeof(rel[0])); i++)
		rel[nrel++] = dup_bytes((const uint8_t *)specs[i].topic, strlen(specs[i].topic));
	check_relations(rel, nrel > 6 ? 6 : nrel);
	for (int i = 0; i < nr; i++)
		for (int k = 0; k < nq; k++)
			check_pair(&rel[2 * np + i], &q[k].topic, false);

	/* an empty set allows everything */
	empty = acl_build(NULL, 0, NULL, 0);
	CHECK(empty != NULL && acl_count(empty) == 0);
	for (int i = 0; i < nq; i++)
		CHECK(acl_check(empty, q[i].client.s, q[i].client.len, q[i].op,
				q[i].topic.s, q[i].topic.len));
	acl_free(empty);

	check_acl(specs, nr, q, nq);

	for (int i = 2 * np; i < nrel; i++)
		free(rel[i].s);
	for (int i = 0; i < 2 * np; i++)
		free(pair[i].s);
	for (int i = 0; i < nq; i++) {
		free(q[i].client.s);
		free(q[i].topic.s);
	}
	for (int i = 0; i < ns; i++)
		free(rule_str[i]);
	return 0;
}
