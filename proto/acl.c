/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topic access rules (see acl.h for the semantics).
 *
 * A built set is a header, an array of compiled rules and a string area, in
 * one allocation: freeing is one free(), a reader touches one block, and a
 * reload builds a whole new set beside the old one.
 *
 * The "%c" level is never substituted into a buffer: a rule filter may be
 * up to TOPIC_NAME_MAX bytes with any number of "%c" levels, too much for
 * the stack, and a check must not allocate. Instead the rule's filter is
 * walked level by level and a "%c" level reads as the client id. The id is
 * only used when it cannot change the level structure (no '/', '+', '#',
 * NUL), so the walk is exactly topic_filter_covers() and
 * topic_filters_intersect() on the substituted filter; the fuzz target
 * checks the two against each other.
 */

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/acl.h"
#include "proto/topic.h"

struct acl_rule {
	struct acl_rule_spec spec;   /* what acl_rule() hands out; strings in the set */
	size_t tlen;                 /* strlen(spec.topic) */
	bool any_client;             /* pattern is "*": no fnmatch() needed, any id */
	bool has_c;                  /* a level of the topic is "%c" */
};

struct acl {
	unsigned int n;
	struct acl_rule rules[];     /* then the strings, NUL-terminated */
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* @p s quoted for a message: printable ASCII as is, other bytes \xHH, at most 64 shown. */
static const char *
quote(char *buf, size_t size, const char *s)
{
	size_t o = 0, i;

	for (i = 0; s[i] != 0 && i < 64 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (s[i] != 0 && o + 4 <= size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
	return buf;
}

static bool
is_c_level(const char *l, size_t n)
{
	return n == 2 && l[0] == '%' && l[1] == 'c';
}

static bool
topic_has_c(const char *t, size_t len)
{
	struct topic_levels it;
	const char *l;
	size_t n;

	topic_levels_init(&it, t, len);
	while (topic_levels_next(&it, &l, &n))
		if (is_c_level(l, n))
			return true;
	return false;
}

/* 0, or -EINVAL with the message in err. */
static int
check_spec(const struct acl_rule_spec *s, unsigned int i, char *err, size_t errlen)
{
	char q[64 * 4 + 8];
	size_t len;

	if (s->client != NULL) {
		len = strnlen(s->client, ACL_CLIENT_MAX + 1);
		if (len == 0 || len > ACL_CLIENT_MAX) {
			set_err(err, errlen, "rule %u: client pattern \"%s\" is not 1..%d characters",
				i, quote(q, sizeof(q), s->client), ACL_CLIENT_MAX);
			return -EINVAL;
		}
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)s->client[k];

			if (c < 0x20 || c > 0x7e) {
				set_err(err, errlen, "rule %u: client pattern \"%s\" has a byte "
					"that is not printable ASCII", i, quote(q, sizeof(q), s->client));
				return -EINVAL;
			}
		}
	}
	if (s->topic == NULL) {
		set_err(err, errlen, "rule %u: no topic", i);
		return -EINVAL;
	}
	len = strnlen(s->topic, TOPIC_NAME_MAX + 1);
	if (topic_filter_check(s->topic, len) < 0) {
		set_err(err, errlen, "rule %u: topic \"%s\" is not a valid topic filter",
			i, quote(q, sizeof(q), s->topic));
		return -EINVAL;
	}
	if (s->transport > ACL_TRANSPORT_PLAIN) {
		set_err(err, errlen, "rule %u: transport %u is not any (0), dtls (1) or plain (2)",
			i, s->transport);
		return -EINVAL;
	}
	if (s->ops < 1 || s->ops > (ACL_PUBLISH | ACL_SUBSCRIBE)) {
		set_err(err, errlen, "rule %u: ops %u is not publish (1), subscribe (2) or both (3)",
			i, s->ops);
		return -EINVAL;
	}
	return 0;
}

struct acl *
acl_build(const struct acl_rule_spec *specs, unsigned int n, char *err, size_t errlen)
{
	size_t size, strsize = 0;
	struct acl *a;
	char *str;

	if (n > 0 && specs == NULL) {
		set_err(err, errlen, "no rules given");
		errno = EINVAL;
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (check_spec(&specs[i], i, err, errlen) < 0) {
			errno = EINVAL;
			return NULL;
		}
		/* validated: each string is bounded, only the sum can grow */
		if (strsize > SIZE_MAX / 2)
			goto nomem;
		strsize += (specs[i].client ? strlen(specs[i].client) : 1) + 1;
		strsize += strlen(specs[i].topic) + 1;
	}
	if (n > (SIZE_MAX - sizeof(*a) - strsize) / sizeof(a->rules[0]))
		goto nomem;
	size = sizeof(*a) + n * sizeof(a->rules[0]) + strsize;
	a = malloc(size);
	if (a == NULL)
		goto nomem;
	a->n = n;
	str = (char *)&a->rules[n];
	for (unsigned int i = 0; i < n; i++) {
		const struct acl_rule_spec *s = &specs[i];
		struct acl_rule *r = &a->rules[i];
		const char *client = s->client ? s->client : "*";
		size_t clen = strlen(client);

		r->tlen = strlen(s->topic);
		memcpy(str, client, clen + 1);
		r->spec.client = str;
		str += clen + 1;
		memcpy(str, s->topic, r->tlen + 1);
		r->spec.topic = str;
		str += r->tlen + 1;
		r->spec.ops = s->ops;
		r->spec.allow = s->allow;
		r->spec.transport = s->transport;
		r->any_client = strcmp(client, "*") == 0;
		r->has_c = topic_has_c(r->spec.topic, r->tlen);
	}
	return a;
nomem:
	set_err(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

void
acl_free(struct acl *a)
{
	free(a);
}

unsigned int
acl_count(const struct acl *a)
{
	return a ? a->n : 0;
}

const struct acl_rule_spec *
acl_rule(const struct acl *a, unsigned int i)
{
	return a && i < a->n ? &a->rules[i].spec : NULL;
}

/*
 * The two relations of topic.c, with the rule's filter on one side read
 * through rule_levels_next(), which turns a "%c" level into the client id.
 * Keep them in step with topic_filter_covers() / topic_filters_intersect().
 */
struct rule_levels {
	struct topic_levels it;
	const char *id;
	size_t idlen;
};

static bool
rule_levels_next(struct rule_levels *r, const char **l, size_t *n)
{
	if (!topic_levels_next(&r->it, l, n))
		return false;
	if (is_c_level(*l, *n)) {
		*l = r->id;
		*n = r->idlen;
	}
	return true;
}

static bool
is_plus(const char *l, size_t n)
{
	return n == 1 && l[0] == '+';
}

static bool
is_hash(const char *l, size_t n)
{
	return n == 1 && l[0] == '#';
}

static bool
is_lit(const char *l, size_t n)
{
	return !is_plus(l, n) && !is_hash(l, n);
}

static bool
lvl_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* Is the rest of @p r exactly one "#" level? */
static bool
rule_rest_is_hash(struct rule_levels *r)
{
	const char *l;
	size_t n;

	return rule_levels_next(r, &l, &n) && is_hash(l, n) && !rule_levels_next(r, &l, &n);
}

static bool
rule_covers(struct rule_levels *o, const char *t, size_t tlen)
{
	struct topic_levels i;
	const char *ol, *il;
	size_t on, in, depth = 0;
	bool empty0 = false;

	topic_levels_init(&i, t, tlen);
	for (;;) {
		bool o_more = rule_levels_next(o, &ol, &on);

		if (!topic_levels_next(&i, &il, &in))
			return o_more ? is_hash(ol, on) && !rule_levels_next(o, &ol, &on) : true;
		if (!o_more)
			return false;
		if (depth == 0) {
			if (!is_lit(ol, on) && is_lit(il, in) && in > 0 && il[0] == '$')
				return false;
			empty0 = is_lit(il, in) && in == 0;
		}
		if (is_hash(ol, on))
			return true;
		if (is_hash(il, in))
			return (depth == 0 || (depth == 1 && empty0)) && is_plus(ol, on) &&
			       rule_rest_is_hash(o);
		if (is_lit(ol, on) && (!is_lit(il, in) || !lvl_eq(ol, on, il, in)))
			return false;
		depth++;
	}
}

static bool
rule_intersects(struct rule_levels *a, const char *t, size_t tlen)
{
	struct topic_levels b;
	const char *al, *bl;
	size_t an, bn, depth = 0;
	bool empty0 = false;

	topic_levels_init(&b, t, tlen);
	for (;;) {
		bool a_more = rule_levels_next(a, &al, &an);
		bool b_more = topic_levels_next(&b, &bl, &bn);

		if (!a_more || !b_more) {
			if (depth == 1 && empty0)
				return false;
			if (a_more)
				return is_hash(al, an) && !rule_levels_next(a, &al, &an);
			if (b_more)
				return is_hash(bl, bn) && !topic_levels_next(&b, &bl, &bn);
			return true;
		}
		if (depth == 0) {
			if (is_lit(al, an) != is_lit(bl, bn) &&
			    (is_lit(al, an) ? an > 0 && al[0] == '$' : bn > 0 && bl[0] == '$'))
				return false;
			empty0 = (is_lit(al, an) && an == 0) || (is_lit(bl, bn) && bn == 0);
		}
		if (is_hash(al, an) || is_hash(bl, bn))
			return true;
		if (is_lit(al, an) && is_lit(bl, bn) && !lvl_eq(al, an, bl, bn))
			return false;
		depth++;
	}
}

/* Can @p id stand for a "%c" level: does it fit in one literal level? */
static bool
id_fits_level(const char *id, size_t len)
{
	if (len > ACL_CLIENT_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (id[i] == '/' || id[i] == '+' || id[i] == '#' || id[i] == 0)
			return false;
	return true;
}

bool
acl_check(const struct acl *a, const char *client, size_t clen, unsigned int op,
	  const char *topic, size_t tlen)
{
	uint8_t skip = (op & ACL_OVER_DTLS) ? ACL_TRANSPORT_PLAIN : ACL_TRANSPORT_DTLS;
	char id[ACL_CLIENT_MAX + 1];
	bool globbable, fits;

	op &= ~ACL_OVER_DTLS;
	if (a == NULL || a->n == 0)
		return true;
	if (op != ACL_PUBLISH && op != ACL_SUBSCRIBE)
		return false;
	if (client == NULL) {
		client = "";
		clen = 0;
	}
	if (topic == NULL) {
		topic = "";
		tlen = 0;
	}
	/* fnmatch() wants a C string: only ids that are one can meet a pattern */
	globbable = clen <= ACL_CLIENT_MAX && memchr(client, 0, clen) == NULL;
	if (globbable) {
		memcpy(id, client, clen);
		id[clen] = 0;
	}
	fits = id_fits_level(client, clen);
	for (unsigned int i = 0; i < a->n; i++) {
		const struct acl_rule *r = &a->rules[i];
		struct rule_levels rl;
		bool applies;

		if (!(r->spec.ops & op) || r->spec.transport == skip)
			continue;
		if (r->has_c && !fits)
			continue;
		if (!r->any_client && (!globbable || fnmatch(r->spec.client, id, 0) != 0))
			continue;
		topic_levels_init(&rl.it, r->spec.topic, r->tlen);
		rl.id = client;
		rl.idlen = clen;
		applies = r->spec.allow ? rule_covers(&rl, topic, tlen)
					: rule_intersects(&rl, topic, tlen);
		if (applies)
			return r->spec.allow;
	}
	return false;
}
