/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for proto/acl.c: building, validation, rule order, %c, covers/intersects. */

#include <errno.h>
#include <stdlib.h>

#include "proto/acl.h"
#include "tests/unit/tap.h"

#define S(lit) lit, sizeof(lit) - 1
#define NRULES(r) (unsigned int)(sizeof(r) / sizeof((r)[0]))

#define PUB ACL_PUBLISH
#define SUB ACL_SUBSCRIBE
#define BOTH (ACL_PUBLISH | ACL_SUBSCRIBE)

static struct acl *
build(const struct acl_rule_spec *r, unsigned int n)
{
	char err[256] = "";
	struct acl *a = acl_build(r, n, err, sizeof(err));

	if (a == NULL)
		printf("# acl_build: %s\n", err);
	return a;
}

/* One check, client and topic as C strings. */
static bool
chk(const struct acl *a, const char *client, enum acl_op op, const char *topic)
{
	return acl_check(a, client, strlen(client), op, topic, strlen(topic));
}

struct expect {
	const char *client;
	enum acl_op op;
	const char *topic;
	bool allow;
};

static void
run(const char *what, const struct acl *a, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		is_int(chk(a, e[i].client, e[i].op, e[i].topic), e[i].allow,
		       "%s: %s %s \"%s\" %s", what, e[i].client,
		       e[i].op == PUB ? "publish" : "subscribe", e[i].topic,
		       e[i].allow ? "allowed" : "denied");
}

static void
test_empty(void)
{
	struct acl *a = acl_build(NULL, 0, NULL, 0);

	ok(a != NULL, "empty set builds (specs NULL, n 0)");
	is_int(acl_count(a), 0, "empty set has no rules");
	ok(acl_rule(a, 0) == NULL, "no rule 0 in an empty set");
	ok(chk(a, "x", PUB, "a/b"), "empty set allows publish");
	ok(chk(a, "x", SUB, "#"), "empty set allows subscribe to #");
	ok(chk(a, "", SUB, "$SYS/#"), "empty set allows $SYS");
	ok(acl_check(a, NULL, 0, PUB, S("a")), "empty set, NULL client");
	ok(acl_check(a, "x", 1, (enum acl_op)0, S("a")), "empty set allows even a bad op");
	acl_free(a);

	ok(chk(NULL, "x", PUB, "a/b"), "NULL set allows publish");
	ok(chk(NULL, "x", SUB, "+/#"), "NULL set allows subscribe");
	is_int(acl_count(NULL), 0, "acl_count(NULL)");
	ok(acl_rule(NULL, 0) == NULL, "acl_rule(NULL, 0)");
	acl_free(NULL);
	ok(true, "acl_free(NULL)");
}

static void
test_listing(void)
{
	char client[] = "sensor-*", topic[] = "s/%c/#";
	const struct acl_rule_spec r[] = {
		{ client, topic, PUB, true },
		{ NULL, "#", BOTH, false },
	};
	const struct acl_rule_spec *g;
	struct acl *a = build(r, NRULES(r));

	ok(a != NULL, "listing set builds");
	is_int(acl_count(a), 2, "two rules");
	g = acl_rule(a, 0);
	ok(g != NULL && g->client != client && g->topic != topic, "rule 0 strings are copies");
	memset(client, 'x', sizeof(client) - 1);
	memset(topic, 'x', sizeof(topic) - 1);
	is_str(g->client, "sensor-*", "rule 0 client kept after the caller's changed");
	is_str(g->topic, "s/%c/#", "rule 0 topic kept");
	is_int(g->ops, PUB, "rule 0 ops");
	ok(g->allow, "rule 0 allow");
	g = acl_rule(a, 1);
	is_str(g->client, "*", "rule 1 NULL client reads back as *");
	is_str(g->topic, "#", "rule 1 topic");
	is_int(g->ops, BOTH, "rule 1 ops");
	ok(!g->allow, "rule 1 deny");
	ok(acl_rule(a, 2) == NULL, "no rule 2");
	ok(acl_rule(a, ~0u) == NULL, "no rule UINT_MAX");
	acl_free(a);
}

static void
test_validation(void)
{
	static const char long65[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char long64[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const struct {
		struct acl_rule_spec bad;   /* placed as rule 2, after two good ones */
		const char *msg;
	} cases[] = {
		{ { "*", "a/#/b", BOTH, true }, "rule 2: topic \"a/#/b\" is not a valid topic filter" },
		{ { "*", "", BOTH, true }, "rule 2: topic \"\" is not a valid topic filter" },
		{ { "*", "a+", BOTH, true }, "rule 2: topic \"a+\" is not a valid topic filter" },
		{ { "*", "caf\xc3", BOTH, true },
		  "rule 2: topic \"caf\\xc3\" is not a valid topic filter" },
		{ { "*", "a\"b/#/c", BOTH, true },
		  "rule 2: topic \"a\\x22b/#/c\" is not a valid topic filter" },
		{ { "*", NULL, BOTH, true }, "rule 2: no topic" },
		{ { "", "a", BOTH, true }, "rule 2: client pattern \"\" is not 1..64 characters" },
		{ { long65, "a", BOTH, true }, "rule 2: client pattern \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not 1..64 characters" },
		{ { "a\tb", "a", BOTH, true },
		  "rule 2: client pattern \"a\\x09b\" has a byte that is not printable ASCII" },
		{ { "caf\xc3\xa9", "a", BOTH, true },
		  "rule 2: client pattern \"caf\\xc3\\xa9\" has a byte that is not printable ASCII" },
		{ { "*", "a", 0, true }, "rule 2: ops 0 is not publish (1), subscribe (2) or both (3)" },
		{ { "*", "a", 4, true }, "rule 2: ops 4 is not publish (1), subscribe (2) or both (3)" },
		{ { "*", "a", 255, false },
		  "rule 2: ops 255 is not publish (1), subscribe (2) or both (3)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct acl_rule_spec r[4] = {
			{ "*", "x/#", PUB, true },
			{ NULL, "y/%c", SUB, false },
			cases[i].bad,
			{ "*", "#/bad", 0, true },   /* also bad: only the first is named */
		};
		char err[512] = "";
		struct acl *a;

		errno = 0;
		a = acl_build(r, 4, err, sizeof(err));
		ok(a == NULL, "bad rule %zu refused", i);
		is_int(errno, EINVAL, "bad rule %zu: EINVAL", i);
		is_str(err, cases[i].msg, "bad rule %zu: message", i);
		acl_free(a);
	}

	/* the limits themselves are fine */
	const struct acl_rule_spec fine[] = {
		{ long64, "a", BOTH, true },
		{ " ~!", "%c", PUB, false },
		{ "*", "caf\xc3\xa9/+/#", SUB, true },
		{ "*", "%c/%c/a%c/%c%c", 3, true },
		{ "[", "//", 1, true },
	};
	struct acl *a = build(fine, NRULES(fine));

	ok(a != NULL, "rules at the limits build");
	is_int(acl_count(a), NRULES(fine), "all of them");
	acl_free(a);

	/* a long topic is quoted shortened */
	char topic[300], err[512] = "", small[16] = "";

	memset(topic, 'a', sizeof(topic) - 1);
	topic[sizeof(topic) - 1] = 0;
	topic[150] = '#';
	const struct acl_rule_spec longt[] = { { "*", topic, BOTH, true } };

	ok(acl_build(longt, 1, err, sizeof(err)) == NULL, "long bad topic refused");
	ok(strncmp(err, "rule 0: topic \"aaaa", 19) == 0 &&
	   strstr(err, "...\" is not a valid topic filter") != NULL && strlen(err) < 120,
	   "long topic quoted with ...: %s", err);
	ok(acl_build(longt, 1, small, sizeof(small)) == NULL && strlen(small) == sizeof(small) - 1,
	   "message truncated to the buffer");
	errno = 0;
	ok(acl_build(longt, 1, NULL, 0) == NULL && errno == EINVAL, "err NULL is fine");
	errno = 0;
	ok(acl_build(NULL, 1, err, sizeof(err)) == NULL && errno == EINVAL, "specs NULL, n 1");
}

static void
test_order(void)
{
	const struct acl_rule_spec allow_first[] = {
		{ "*", "a/#", BOTH, true },
		{ "*", "a/b", BOTH, false },
	};
	const struct acl_rule_spec deny_first[] = {
		{ "*", "a/b", BOTH, false },
		{ "*", "a/#", BOTH, true },
	};
	static const struct expect e_allow[] = {
		{ "c", PUB, "a/b", true },        /* the allow comes first */
		{ "c", PUB, "a/c", true },
		{ "c", PUB, "a", true },
		{ "c", SUB, "a/#", true },
		{ "c", SUB, "a/b", true },
		{ "c", PUB, "b", false },         /* nothing applies: deny */
		{ "c", SUB, "#", false },
		{ "c", SUB, "+/b", false },
	};
	static const struct expect e_deny[] = {
		{ "c", PUB, "a/b", false },
		{ "c", PUB, "a/c", true },
		{ "c", PUB, "a/b/c", true },      /* "a/b" does not match it */
		{ "c", PUB, "a", true },
		{ "c", SUB, "a/#", false },       /* a/b within reach */
		{ "c", SUB, "a/+", false },
		{ "c", SUB, "a/b", false },
		{ "c", SUB, "a/c", true },
		{ "c", SUB, "a/b/#", false },     /* "a/b/#" has "a/b" itself */
		{ "c", SUB, "a/+/c", true },
		{ "c", SUB, "+/b", false },       /* meets a/b, and no allow covers it */
		{ "c", SUB, "+/c", false },       /* no deny meets it, no allow covers it */
		{ "c", PUB, "b", false },
	};
	struct acl *a = build(allow_first, NRULES(allow_first));
	struct acl *d = build(deny_first, NRULES(deny_first));

	run("allow first", a, e_allow, sizeof(e_allow) / sizeof(e_allow[0]));
	run("deny first", d, e_deny, sizeof(e_deny) / sizeof(e_deny[0]));
	acl_free(a);
	acl_free(d);
}

static void
test_ops_and_clients(void)
{
	const struct acl_rule_spec r[] = {
		{ "*", "$SYS/#", BOTH, false },
		{ "admin", "#", BOTH, true },
		{ "admin", "$SYS/#", SUB, true },
		{ "sensor-?", "sensors/+/temp", PUB, true },
		{ "[ab]*", "ab/#", PUB, true },
		{ "*", "public/secret", BOTH, false },
		{ "*", "public/#", SUB, true },
		{ "*", "inbox", PUB, true },
		{ "*/*", "slash", BOTH, true },
		{ "\\*", "star", BOTH, true },
	};
	static const struct expect e[] = {
		{ "admin", PUB, "x/y", true },
		{ "admin", SUB, "#", true },
		{ "admin", SUB, "$SYS/#", false },         /* the first rule denies first */
		{ "admin", PUB, "$SYS/x", false },
		{ "admin1", PUB, "x/y", false },           /* pattern is exact */
		{ "sensor-1", PUB, "sensors/kitchen/temp", true },
		{ "sensor-1", SUB, "sensors/kitchen/temp", false },   /* publish only */
		{ "sensor-12", PUB, "sensors/kitchen/temp", false },
		{ "sensor-", PUB, "sensors/kitchen/temp", false },
		{ "sensor-1", PUB, "sensors/kitchen/humidity", false },
		{ "a", PUB, "ab/x", true },
		{ "bob", PUB, "ab", true },
		{ "carol", PUB, "ab/x", false },
		{ "x", SUB, "public/news", true },
		{ "x", SUB, "public/#", false },            /* public/secret within reach */
		{ "x", SUB, "public/+", false },
		{ "x", SUB, "public/secret", false },
		{ "x", SUB, "public/secret/x", true },
		{ "x", SUB, "public", true },
		{ "x", PUB, "public/news", false },         /* subscribe only */
		{ "x", PUB, "inbox", true },
		{ "x", SUB, "inbox", false },
		{ "x", SUB, "#", false },
		{ "a/b", PUB, "slash", true },              /* no FNM_PATHNAME */
		{ "ab", PUB, "slash", false },
		{ "*", PUB, "star", true },                 /* escaped: a literal '*' */
		{ "x", PUB, "star", false },
		{ "", PUB, "inbox", true },                 /* empty id meets "*" */
		{ "", PUB, "ab/x", false },
	};
	struct acl *a = build(r, NRULES(r));

	run("clients", a, e, sizeof(e) / sizeof(e[0]));
	ok(!acl_check(a, "admin", 5, (enum acl_op)0, S("x")), "op 0 denied");
	ok(!acl_check(a, "admin", 5, (enum acl_op)3, S("x")), "op 3 denied");
	ok(!acl_check(a, "admin", 5, (enum acl_op)4, S("x")), "op 4 denied");
	ok(acl_check(a, NULL, 0, PUB, S("inbox")), "NULL client is the empty id");
	/* not NUL-terminated, lengths honoured */
	ok(acl_check(a, "admin-x", 5, PUB, "x/y", 3), "client length honoured");
	ok(acl_check(a, "x", 1, PUB, "inbox/more", 5), "topic length honoured");
	ok(!acl_check(a, "x", 1, PUB, "inboxes", 7), "topic is not a prefix");
	/* a NUL in the id: only "*" patterns, no truncated match */
	ok(!acl_check(a, S("admin\0x"), PUB, S("x/y")), "id with NUL does not match \"admin\"");
	ok(acl_check(a, S("admin\0x"), PUB, S("inbox")), "id with NUL matches \"*\"");
	ok(!acl_check(a, S("sensor-1\0"), PUB, S("sensors/k/temp")), "trailing NUL counts");
	acl_free(a);

	/* ids longer than ACL_CLIENT_MAX: only "*" rules without %c */
	const struct acl_rule_spec lr[] = {
		{ "a*", "pat", BOTH, true },
		{ "*", "long/%c", BOTH, true },
		{ "*", "long/+", BOTH, true },
	};
	char id[ACL_CLIENT_MAX + 2], topic[128];

	memset(id, 'a', sizeof(id));
	a = build(lr, NRULES(lr));
	ok(acl_check(a, id, ACL_CLIENT_MAX, PUB, S("pat")), "64-byte id meets a pattern");
	ok(!acl_check(a, id, ACL_CLIENT_MAX + 1, PUB, S("pat")), "65-byte id does not");
	memcpy(topic, "long/", 5);
	memcpy(topic + 5, id, ACL_CLIENT_MAX + 1);
	ok(acl_check(a, id, ACL_CLIENT_MAX + 1, PUB, topic, 5 + ACL_CLIENT_MAX + 1),
	   "65-byte id meets \"*\" without %%c (long/+)");
	ok(acl_check(a, id, ACL_CLIENT_MAX, PUB, topic, 5 + ACL_CLIENT_MAX),
	   "64-byte id in its %%c level");
	acl_free(a);
	const struct acl_rule_spec lr2[] = { { "*", "long/%c", BOTH, true } };

	a = build(lr2, 1);
	ok(acl_check(a, id, ACL_CLIENT_MAX, PUB, topic, 5 + ACL_CLIENT_MAX), "64-byte id: %%c");
	ok(!acl_check(a, id, ACL_CLIENT_MAX + 1, PUB, topic, 5 + ACL_CLIENT_MAX + 1),
	   "65-byte id never meets %%c");
	acl_free(a);
}

static void
test_client_level(void)
{
	const struct acl_rule_spec r[] = {
		{ "*", "devices/%c/#", BOTH, true },
		{ "*", "mail/+/%c", PUB, true },
		{ "*", "mail/%c/#", SUB, true },
		{ "*", "x/a%c", BOTH, true },              /* not a whole level: literal */
		{ "*", "pair/%c/%c", BOTH, true },
		{ "g-*", "group/%c", BOTH, false },
		{ "*", "group/+", BOTH, true },
	};
	static const struct expect e[] = {
		{ "dev1", PUB, "devices/dev1", true },
		{ "dev1", PUB, "devices/dev1/temp", true },
		{ "dev1", PUB, "devices/dev1/a/b/c", true },
		{ "dev1", PUB, "devices/dev2/temp", false },
		{ "dev1", PUB, "devices/dev", false },
		{ "dev1", PUB, "devices/dev1x/temp", false },
		{ "dev1", PUB, "devices", false },
		{ "dev1", SUB, "devices/dev1/#", true },
		{ "dev1", SUB, "devices/dev1/+", true },
		{ "dev1", SUB, "devices/dev1", true },
		{ "dev1", SUB, "devices/+/#", false },       /* reaches other devices */
		{ "dev1", SUB, "devices/#", false },
		{ "dev1", SUB, "#", false },
		{ "dev1", SUB, "devices/dev2/#", false },
		{ "bob", PUB, "mail/alice/bob", true },
		{ "bob", PUB, "mail/alice/carol", false },
		{ "bob", SUB, "mail/bob/#", true },
		{ "bob", SUB, "mail/+/bob", false },        /* publish-only rule */
		{ "bob", SUB, "mail/alice/bob", false },
		{ "c", PUB, "x/a%c", true },
		{ "c", PUB, "x/ac", false },
		{ "c", PUB, "pair/c/c", true },
		{ "c", PUB, "pair/c/d", false },
		{ "g-1", PUB, "group/g-1", false },          /* denied by its own %c rule */
		{ "g-1", PUB, "group/g-2", true },
		{ "g-1", SUB, "group/+", false },            /* reaches group/g-1 */
		{ "h-1", SUB, "group/+", true },
		{ "", PUB, "devices//x", true },             /* the empty id: an empty level */
		{ "", PUB, "devices/x", false },
		{ "", SUB, "devices//#", true },
	};
	struct acl *a = build(r, NRULES(r));

	run("%c", a, e, sizeof(e) / sizeof(e[0]));
	/* ids that would change the level structure never meet a %c rule */
	ok(!chk(a, "a/b", PUB, "devices/a/b/x"), "id with '/' cannot escape its level");
	ok(!chk(a, "a/b", PUB, "devices/a/b"), "id with '/' (exact)");
	ok(!chk(a, "+", PUB, "devices/+/x"), "id \"+\"");
	ok(!chk(a, "+", SUB, "devices/+/#"), "id \"+\" cannot subscribe to every device");
	ok(!chk(a, "#", SUB, "devices/#"), "id \"#\"");
	ok(!chk(a, "a#", PUB, "devices/a#"), "id with '#' inside");
	ok(!acl_check(a, S("d\0"), PUB, S("devices/d\0")), "id with NUL");
	ok(chk(a, "g/1", PUB, "group/x"), "id with '/' still meets rules without %%c");
	ok(chk(a, "g-/", PUB, "group/x"), "... even after a skipped %%c deny");
	acl_free(a);

	/* %c as the first level takes the id as given, '$' and all */
	const struct acl_rule_spec r0[] = { { "*", "%c/#", BOTH, true } };

	a = build(r0, 1);
	ok(chk(a, "alice", PUB, "alice/x"), "%%c/#: own subtree");
	ok(chk(a, "alice", SUB, "alice/#"), "%%c/#: subscribe own subtree");
	ok(!chk(a, "alice", SUB, "+/x"), "%%c/#: not +/x");
	ok(!chk(a, "alice", SUB, "#"), "%%c/#: not #");
	ok(chk(a, "$SYS", PUB, "$SYS/x"), "%%c/#: a client called $SYS reaches $SYS/x");
	ok(chk(a, "", PUB, "/x"), "%%c/#: the empty id has \"/...\"");
	ok(!chk(a, "", SUB, "+"), "%%c/#: the empty id may not subscribe to \"+\"");
	ok(chk(a, "", SUB, "/#"), "%%c/#: the empty id may subscribe to \"/#\"");
	acl_free(a);
}

static void
test_covers_intersects(void)
{
	const struct acl_rule_spec r[] = {
		{ "*", "a/+", SUB, true },
		{ "*", "b/#", SUB, true },
		{ "*", "c//d", SUB, true },
		{ "*", "+/x", SUB, true },
		{ "*", "#", PUB, true },
		{ "*", "$SYS/+", SUB, true },
		{ "*", "e/+/#", SUB, true },
	};
	static const struct expect e[] = {
		{ "c", SUB, "a/b", true },
		{ "c", SUB, "a/+", true },
		{ "c", SUB, "a/", true },
		{ "c", SUB, "a/#", false },       /* "a" and "a/b/c" are not "a/+" */
		{ "c", SUB, "a", false },
		{ "c", SUB, "a/b/c", false },
		{ "c", SUB, "b", true },           /* "b/#" has "b" */
		{ "c", SUB, "b/#", true },
		{ "c", SUB, "b/+/+", true },
		{ "c", SUB, "c//d", true },
		{ "c", SUB, "c/+/d", false },
		{ "c", SUB, "c/d", false },
		{ "c", SUB, "q/x", true },
		{ "c", SUB, "+/x", true },
		{ "c", SUB, "$SYS/x", true },      /* "+/x" does not reach it, "$SYS/+" does */
		{ "c", SUB, "$SYS/#", false },
		{ "c", SUB, "#", false },
		{ "c", SUB, "e/f", true },
		{ "c", SUB, "e/#", false },        /* "e" */
		{ "c", PUB, "$SYS/x", false },     /* "#" hides $ names */
		{ "c", PUB, "/", true },
		{ "c", PUB, "a//b", true },
	};
	struct acl *a = build(r, NRULES(r));

	run("covers", a, e, sizeof(e) / sizeof(e[0]));
	acl_free(a);

	const struct acl_rule_spec d[] = {
		{ "*", "$SYS/#", BOTH, false },
		{ "*", "a//b", BOTH, false },
		{ "*", "k/#", BOTH, false },
		{ "*", "#", BOTH, true },
		{ "*", "$SYS/pub", BOTH, true },
	};
	static const struct expect ed[] = {
		{ "c", SUB, "#", false },          /* not for "$SYS/#", but for "a//b" */
		{ "c", SUB, "x/#", true },
		{ "c", SUB, "+/#", false },        /* it meets "a//b" */
		{ "c", SUB, "a/+/b", false },
		{ "c", SUB, "a/+", true },
		{ "c", SUB, "a/c/b", true },
		{ "c", SUB, "k", false },          /* "k/#" has "k" */
		{ "c", SUB, "+", false },          /* ... so "+" meets it */
		{ "c", SUB, "k2", true },
		{ "c", SUB, "$SYS/pub", false },   /* the deny comes first */
		{ "c", SUB, "$SYS/+", false },
		{ "c", PUB, "a//b", false },
		{ "c", PUB, "a/b", true },
		{ "c", PUB, "k/x", false },
		{ "c", PUB, "$SYS/pub", false },
		/* a "name" with wildcards is judged like a subscription: no way around a deny */
		{ "c", PUB, "a/+/b", false },
		{ "c", PUB, "k/+", false },
	};

	a = build(d, NRULES(d));
	run("intersects", a, ed, sizeof(ed) / sizeof(ed[0]));
	acl_free(a);
}

/* Rules for DTLS identities, for plain clients, for both. */
static void
test_transport(void)
{
	const struct acl_rule_spec r[] = {
		{ "sensor-*", "devices/%c/#", BOTH, true, ACL_TRANSPORT_DTLS },
		{ "sensor-*", "plain-only/#", PUB, true, ACL_TRANSPORT_PLAIN },
		{ "*", "public/#", PUB, true, ACL_TRANSPORT_ANY },
	};
	const struct acl_rule_spec bad = { "*", "x", PUB, true, 3 };
	char err[128] = "";
	struct acl *a = build(r, NRULES(r));
	unsigned int dpub = ACL_PUBLISH | ACL_OVER_DTLS;

	ok(a != NULL, "rules with transports build");
	ok(acl_check(a, S("sensor-1"), dpub, S("devices/sensor-1/t")),
	   "a DTLS identity gets its dtls rule");
	ok(!acl_check(a, S("sensor-1"), ACL_PUBLISH, S("devices/sensor-1/t")),
	   "a plain client naming itself after it does not");
	ok(acl_check(a, S("sensor-1"), ACL_PUBLISH, S("plain-only/x")), "a plain rule: plain client");
	ok(!acl_check(a, S("sensor-1"), dpub, S("plain-only/x")), "... not a DTLS identity");
	ok(acl_check(a, S("x"), dpub, S("public/x")) && acl_check(a, S("x"), ACL_PUBLISH, S("public/x")),
	   "an any rule: both");
	ok(acl_check(a, S("sensor-1"), ACL_SUBSCRIBE | ACL_OVER_DTLS, S("devices/sensor-1/#")),
	   "ACL_OVER_DTLS with subscribe");
	ok(!acl_check(a, S("sensor-1"), ACL_OVER_DTLS, S("devices/sensor-1/t")),
	   "ACL_OVER_DTLS alone is no operation: denied");
	is_str(acl_rule(a, 0) != NULL && acl_rule(a, 0)->transport == ACL_TRANSPORT_DTLS ? "dtls" : "?",
	       "dtls", "the listing keeps the transport");
	acl_free(a);
	ok(acl_build(&bad, 1, err, sizeof(err)) == NULL && strstr(err, "transport 3") != NULL,
	   "transport 3 refused: %s", err);
}

int
main(void)
{
	test_empty();
	test_listing();
	test_validation();
	test_order();
	test_ops_and_clients();
	test_client_level();
	test_covers_intersects();
	test_transport();
	return done_testing();
}
