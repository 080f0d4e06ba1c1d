/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for proto/topic.c: name and filter checks, matching, levels. */

#include <errno.h>
#include <stdlib.h>

#include "proto/topic.h"
#include "tests/unit/tap.h"

#define S(lit) lit, sizeof(lit) - 1

static const struct {
	const char *s;
	int name;      /* topic_name_check() */
	int filter;    /* topic_filter_check() */
} checks[] = {
	{ "a", 0, 0 },
	{ "a/b/c", 0, 0 },
	{ "/", 0, 0 },
	{ "//", 0, 0 },
	{ "/a", 0, 0 },
	{ "a/", 0, 0 },
	{ "$SYS/x", 0, 0 },
	{ "sport/tennis/player1", 0, 0 },
	{ "caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80", 0, 0 },   /* é € 😀 */
	{ "a b", 0, 0 },
	{ "\x01", 0, 0 },                  /* control characters: SHOULD NOT only */
	{ "#", -EINVAL, TOPIC_FILTER_WILD },
	{ "+", -EINVAL, TOPIC_FILTER_WILD },
	{ "a/#", -EINVAL, TOPIC_FILTER_WILD },
	{ "a/+", -EINVAL, TOPIC_FILTER_WILD },
	{ "+/+", -EINVAL, TOPIC_FILTER_WILD },
	{ "/+", -EINVAL, TOPIC_FILTER_WILD },
	{ "+/", -EINVAL, TOPIC_FILTER_WILD },
	{ "a/+/b/#", -EINVAL, TOPIC_FILTER_WILD },
	{ "+/#", -EINVAL, TOPIC_FILTER_WILD },
	{ "a#", -EINVAL, -EINVAL },
	{ "a/b#", -EINVAL, -EINVAL },
	{ "#/a", -EINVAL, -EINVAL },
	{ "a/#/b", -EINVAL, -EINVAL },
	{ "##", -EINVAL, -EINVAL },
	{ "a+", -EINVAL, -EINVAL },
	{ "+a", -EINVAL, -EINVAL },
	{ "a/++/b", -EINVAL, -EINVAL },
	{ "a/+b", -EINVAL, -EINVAL },
	{ "\xc3", -EINVAL, -EINVAL },            /* truncated sequence */
	{ "\xc0\xaf", -EINVAL, -EINVAL },        /* overlong '/' */
	{ "\xe0\x80\xaf", -EINVAL, -EINVAL },    /* overlong, 3 bytes */
	{ "\xed\xa0\x80", -EINVAL, -EINVAL },    /* surrogate U+D800 */
	{ "\xf4\x90\x80\x80", -EINVAL, -EINVAL },/* U+110000 */
	{ "\xf5\x80\x80\x80", -EINVAL, -EINVAL },
	{ "\x80", -EINVAL, -EINVAL },            /* lone continuation */
	{ "\xff", -EINVAL, -EINVAL },
	{ "", -EINVAL, -EINVAL },
};

/* MQTT 3.1.1 section 4.7 examples and the corners around them. */
static const struct {
	const char *filter;
	const char *name;
	bool match;
} matches[] = {
	{ "sport/tennis/player1/#", "sport/tennis/player1", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true },
	{ "sport/tennis/player1/#", "sport/tennis/player2", false },
	{ "sport/tennis/player1/#", "sport/tennis", false },
	{ "sport/#", "sport", true },
	{ "sport/#", "sport/", true },
	{ "sport/#", "sports", false },
	{ "#", "a", true },
	{ "#", "a/b/c", true },
	{ "#", "/", true },
	{ "#", "/a", true },
	{ "sport/tennis/+", "sport/tennis/player1", true },
	{ "sport/tennis/+", "sport/tennis/player2", true },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
	{ "sport/tennis/+", "sport/tennis", false },
	{ "sport/tennis/+", "sport/tennis/", true },     /* '+' matches an empty level */
	{ "sport/+", "sport", false },
	{ "sport/+", "sport/", true },
	{ "+/+", "/finance", true },
	{ "/+", "/finance", true },
	{ "+", "/finance", false },
	{ "+", "finance", true },
	{ "+", "/", false },
	{ "+/+", "/", true },
	{ "+/", "a/", true },
	{ "+/", "a", false },
	{ "a/+/c", "a/b/c", true },
	{ "a/+/c", "a//c", true },
	{ "a/+/c", "a/b/d", false },
	{ "a/+/c", "a/b/c/d", false },
	{ "+/+/+", "a/b/c", true },
	{ "+/+/+", "a/b", false },
	{ "+/#", "a", true },
	{ "+/#", "a/b/c", true },
	{ "a/+/#", "a/b", true },
	{ "a/+/#", "a", false },
	{ "a/b", "a/b", true },
	{ "a/b", "a/b/", false },
	{ "a/b", "a/bc", false },
	{ "a/bc", "a/b", false },
	{ "a//b", "a//b", true },
	{ "a//b", "a/b", false },
	{ "/", "/", true },
	{ "/#", "/", true },
	{ "/#", "/a/b", true },
	{ "/#", "a", false },
	/* names starting with '$' are hidden from leading wildcards */
	{ "#", "$SYS", false },
	{ "#", "$SYS/monitor/Clients", false },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
	{ "$SYS/#", "$SYS/", true },
	{ "$SYS/#", "$SYS", true },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
	{ "a/#", "a/$b", true },
	{ "a/+", "a/$b", true },
	/* UTF-8 compares as bytes */
	{ "caf\xc3\xa9/+", "caf\xc3\xa9/x", true },
	{ "cafe/+", "caf\xc3\xa9/x", false },
};

/* topic_filter_covers(outer, inner) and topic_filters_intersect(outer, inner). */
static const struct {
	const char *outer;
	const char *inner;
	bool covers;
	bool meets;
} relations[] = {
	{ "a/b", "a/b", true, true },
	{ "a/b", "a/c", false, false },
	{ "a/b", "a/b/", false, false },
	{ "a/b", "a/+", false, true },
	{ "a/b", "a/#", false, true },
	{ "a/b", "a", false, false },
	{ "a/+", "a/b", true, true },
	{ "a/+", "a/+", true, true },
	{ "a/+", "a/", true, true },
	{ "a/+", "a//", false, false },
	{ "a/+", "a/#", false, true },             /* "a/#" has "a" and "a/b/c" */
	{ "a/+", "a", false, false },
	{ "a/+", "a/b/c", false, false },
	{ "a/+", "+/b", false, true },
	{ "a/#", "a", true, true },                /* '#' also stands for no level */
	{ "a/#", "a/", true, true },
	{ "a/#", "a/#", true, true },
	{ "a/#", "a/+", true, true },
	{ "a/#", "a/+/#", true, true },
	{ "a/#", "a/b/c", true, true },
	{ "a/#", "ab", false, false },
	{ "a/#", "b/#", false, false },
	{ "a/#", "+", false, true },
	{ "a/#", "#", false, true },
	{ "a/#", "+/b", false, true },
	{ "a/+/#", "a/#", false, true },           /* "a" */
	{ "a/+/#", "a/+", true, true },
	{ "a/+/#", "a/b/c", true, true },
	{ "a/+/c", "a/b/+", false, true },
	{ "a/+/c", "a/b", false, false },
	{ "a//b", "a//b", true, true },
	{ "a//b", "a/b", false, false },
	{ "a//b", "a/+/b", false, true },
	{ "a/+/b", "a//b", true, true },
	{ "#", "a", true, true },
	{ "#", "a/b/c", true, true },
	{ "#", "/", true, true },
	{ "#", "a//b", true, true },
	{ "#", "#", true, true },
	{ "#", "+", true, true },
	{ "#", "+/#", true, true },
	{ "#", "+/+/+", true, true },
	{ "+", "#", false, true },
	{ "+", "+", true, true },
	{ "+", "a", true, true },
	{ "+", "/", false, false },
	{ "+", "+/#", false, true },               /* "x/y" */
	{ "+/+", "/", true, true },
	{ "/+", "/", true, true },
	{ "+/#", "#", true, true },                /* a name has a first level */
	{ "+/#", "+", true, true },
	{ "+/#", "+/#", true, true },
	{ "+/#", "a/b", true, true },
	{ "+/+/#", "#", false, true },             /* "a" */
	{ "+/+/#", "+/#", false, true },
	/* a name is never empty: "/#" has "/" but not "" */
	{ "/#", "/", true, true },
	{ "/#", "+", false, false },
	{ "/#", "/#", true, true },
	{ "/+/#", "/#", true, true },
	{ "+/+/#", "/#", true, true },
	{ "/+", "/#", false, true },
	{ "#", "/#", true, true },
	/* leading wildcards do not reach names starting with '$' */
	{ "#", "$SYS", false, false },
	{ "#", "$SYS/#", false, false },
	{ "#", "$SYS/+", false, false },
	{ "+/#", "$SYS/x", false, false },
	{ "+/monitor/+", "$SYS/monitor/x", false, false },
	{ "+/+", "$SYS/+", false, false },
	{ "$SYS/#", "$SYS", true, true },
	{ "$SYS/#", "$SYS/monitor/+", true, true },
	{ "$SYS/+", "$SYS/#", false, true },
	{ "$SYS/+", "+/+", false, false },
	{ "$SYS/#", "#", false, false },
	{ "$SYS/#", "+/#", false, false },
	{ "$SYS", "$SYS", true, true },
	{ "a/$b", "a/+", false, true },
	{ "a/+", "a/$b", true, true },             /* only the first level counts */
	{ "#", "a/$b", true, true },
	{ "$", "+", false, false },
	{ "x$", "+", false, true },
};

static void
test_checks(void)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const char *s = checks[i].s;

		is_int(topic_name_check(s, strlen(s)), checks[i].name, "name check \"%s\"", s);
		is_int(topic_filter_check(s, strlen(s)), checks[i].filter, "filter check \"%s\"", s);
	}
	/* NUL inside, lengths at the limit */
	is_int(topic_name_check("a\0b", 3), -EINVAL, "NUL rejected in a name");
	is_int(topic_filter_check("a\0b", 3), -EINVAL, "NUL rejected in a filter");

	char *big = malloc(TOPIC_NAME_MAX + 1);

	memset(big, 'x', TOPIC_NAME_MAX + 1);
	is_int(topic_name_check(big, TOPIC_NAME_MAX), 0, "name of TOPIC_NAME_MAX bytes");
	is_int(topic_name_check(big, TOPIC_NAME_MAX + 1), -EINVAL, "name too long");
	big[TOPIC_NAME_MAX - 1] = '#';
	big[TOPIC_NAME_MAX - 2] = '/';
	is_int(topic_filter_check(big, TOPIC_NAME_MAX), TOPIC_FILTER_WILD, "long filter ending /#");
	free(big);
	/* the length is honoured: no terminator needed, bytes past len ignored */
	is_int(topic_name_check("ab#", 2), 0, "length bounds the name");
	is_int(topic_filter_check("a/#x", 3), TOPIC_FILTER_WILD, "length bounds the filter");
}

static void
test_matches(void)
{
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const char *f = matches[i].filter, *n = matches[i].name;

		ok(topic_filter_check(f, strlen(f)) >= 0 && topic_name_check(n, strlen(n)) == 0,
		   "table entry %zu is a valid filter and name", i);
		is_int(topic_match(f, strlen(f), n, strlen(n)), matches[i].match,
		       "\"%s\" %s \"%s\"", f, matches[i].match ? "matches" : "does not match", n);
	}
	ok(topic_match(S("a/b"), S("a/b/c")) == false, "prefix is not a match");
	ok(topic_match(S("a/b/c"), "a/b/cd", 5), "name length bounds the compare");
}

static void
test_relations(void)
{
	for (size_t i = 0; i < sizeof(relations) / sizeof(relations[0]); i++) {
		const char *o = relations[i].outer, *n = relations[i].inner;
		size_t ol = strlen(o), nl = strlen(n);

		ok(topic_filter_check(o, ol) >= 0 && topic_filter_check(n, nl) >= 0,
		   "relation %zu: valid filters", i);
		is_int(topic_filter_covers(o, ol, n, nl), relations[i].covers,
		       "\"%s\" %s \"%s\"", o, relations[i].covers ? "covers" : "does not cover", n);
		is_int(topic_filters_intersect(o, ol, n, nl), relations[i].meets,
		       "\"%s\" %s \"%s\"", o, relations[i].meets ? "meets" : "does not meet", n);
		is_int(topic_filters_intersect(n, nl, o, ol), relations[i].meets,
		       "\"%s\" %s \"%s\" (swapped)", n, relations[i].meets ? "meets" : "does not meet", o);
		ok(topic_filter_covers(o, ol, o, ol) && topic_filter_covers(n, nl, n, nl),
		   "relation %zu: each covers itself", i);
		/* both ways: equal sets of names, both covers */
		if (relations[i].covers && topic_filter_covers(n, nl, o, ol))
			ok(relations[i].meets, "relation %zu: mutual cover meets", i);
	}
	/* on a name, both relations are topic_match() */
	for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const char *f = matches[i].filter, *n = matches[i].name;

		is_int(topic_filter_covers(f, strlen(f), n, strlen(n)), matches[i].match,
		       "covers agrees with match: \"%s\" \"%s\"", f, n);
		is_int(topic_filters_intersect(f, strlen(f), n, strlen(n)), matches[i].match,
		       "intersect agrees with match: \"%s\" \"%s\"", f, n);
		is_int(topic_filters_intersect(n, strlen(n), f, strlen(f)), matches[i].match,
		       "intersect agrees with match, swapped: \"%s\" \"%s\"", n, f);
	}
	/* lengths are honoured, and invalid input gets an answer */
	ok(topic_filter_covers("a/#x", 3, S("a/b")), "outer length bounds the filter");
	ok(topic_filter_covers(S("a/b"), "a/bc", 3), "inner length bounds the filter");
	ok(topic_filters_intersect("a/+/c", 3, "a/b/d", 3), "both lengths honoured");
	ok(!topic_filters_intersect(S("a/b"), S("a/b/c")), "prefix does not meet");
	(void)topic_filter_covers(S("#/a"), S("a/#/b"));
	(void)topic_filters_intersect(S("a+/##"), S("+a/#/"));
	(void)topic_filter_covers("", 0, "", 0);
	(void)topic_filters_intersect("", 0, S("#"));
	ok(true, "invalid filters get an answer");
}

static void
test_levels(void)
{
	static const struct {
		const char *s;
		size_t n;
		const char *joined;   /* levels joined by '|' */
	} cases[] = {
		{ "a", 1, "a" },
		{ "a/b/c", 3, "a|b|c" },
		{ "/", 2, "|" },
		{ "a//b", 3, "a||b" },
		{ "/a/", 3, "|a|" },
		{ "+/#", 2, "+|#" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topic_levels it;
		const char *lvl;
		size_t n, count = 0, pos = 0;
		char buf[64];

		topic_levels_init(&it, cases[i].s, strlen(cases[i].s));
		while (topic_levels_next(&it, &lvl, &n)) {
			if (count++)
				buf[pos++] = '|';
			memcpy(buf + pos, lvl, n);
			pos += n;
		}
		buf[pos] = 0;
		is_int(count, cases[i].n, "\"%s\": %zu levels", cases[i].s, cases[i].n);
		is_int(topic_level_count(cases[i].s, strlen(cases[i].s)), cases[i].n,
		       "topic_level_count(\"%s\")", cases[i].s);
		is_str(buf, cases[i].joined, "\"%s\" levels", cases[i].s);
		ok(!topic_levels_next(&it, &lvl, &n), "\"%s\": iterator stays done", cases[i].s);
	}
}

int
main(void)
{
	test_checks();
	test_matches();
	test_relations();
	test_levels();
	return done_testing();
}
