/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topic names and filters (see topic.h for the rules).
 *
 * Matching walks the filter and the name once, level by level, without
 * splitting or copying: at the start of each level the filter either holds
 * a wildcard (which consumes a whole name level, or all of the rest) or a
 * literal level that must equal the name's byte for byte.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "proto/topic.h"

/*
 * Length of the UTF-8 sequence at s[0..left), or 0 if it is not a valid,
 * shortest-form encoding of a scalar value other than U+0000.
 */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return c != 0;
	if (c < 0xc2)           /* continuation byte, or overlong 2-byte lead */
		return 0;
	if (c < 0xe0) {
		n = 2;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		n = 3;
		cp = c & 0x0f;
	} else if (c < 0xf5) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;       /* overlong, or beyond Unicode */
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;       /* surrogate */
	return n;
}

/*
 * Shared by both checks: UTF-8 and length always; wildcards rejected in
 * names, checked for placement in filters. Returns 0, TOPIC_FILTER_WILD or
 * -EINVAL.
 */
static int
check(const char *str, size_t len, bool filter)
{
	const unsigned char *s = (const unsigned char *)str;
	bool level_start = true, wild = false;
	size_t i = 0, n;

	if (len == 0 || len > TOPIC_NAME_MAX)
		return -EINVAL;
	while (i < len) {
		unsigned char c = s[i];

		if (c == '+' || c == '#') {
			if (!filter || !level_start)
				return -EINVAL;
			/* a wildcard is a whole level; '#' is also the last one */
			if (i + 1 < len && (c == '#' || s[i + 1] != '/'))
				return -EINVAL;
			wild = true;
			i++;
			level_start = false;
			continue;
		}
		n = utf8_seq(s + i, len - i);
		if (n == 0)
			return -EINVAL;
		level_start = c == '/';
		i += n;
	}
	return wild ? TOPIC_FILTER_WILD : 0;
}

int
topic_name_check(const char *name, size_t len)
{
	return check(name, len, false);
}

int
topic_filter_check(const char *filter, size_t len)
{
	return check(filter, len, true);
}

bool
topic_match(const char *f, size_t flen, const char *n, size_t nlen)
{
	size_t fi = 0, ni = 0;

	if (nlen > 0 && n[0] == '$' && flen > 0 && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		/* both at the start of a level */
		if (fi + 1 == flen && f[fi] == '#')
			return true;
		if (fi < flen && f[fi] == '+' && (fi + 1 == flen || f[fi + 1] == '/')) {
			fi++;
			while (ni < nlen && n[ni] != '/')
				ni++;
		} else {
			while (fi < flen && f[fi] != '/') {
				if (ni == nlen || n[ni] != f[fi])
					return false;
				fi++;
				ni++;
			}
			if (ni < nlen && n[ni] != '/')
				return false;
		}
		/* both at the end of a level: '/' or the end of the string */
		if (ni == nlen) {
			if (fi == flen)
				return true;
			/* "a/#" matches "a": '#' also stands for no level at all */
			return fi + 2 == flen && f[fi + 1] == '#';
		}
		if (fi == flen)
			return false;
		fi++;
		ni++;
	}
}

size_t
topic_level_count(const char *s, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '/';
	return n;
}

/*
 * Filter relations. Both walk the two filters level by level; a level is
 * '+', '#' or a literal (a misplaced wildcard in an invalid filter is part
 * of a literal, as in topic_match()). Two facts beyond the plain level
 * compare. A name is never empty: a leading "#" matches the same names as
 * "+/#", and "/#" the same as "/+/#" (the "no more levels" reading of '#'
 * would give ""): "+/#" covers "#", "/+/#" covers "/#", "+" meets no
 * "/#". And a leading wildcard hides names whose first level starts with
 * '$', which only a literal first level can reach.
 */
enum lvl_kind { LVL_LIT, LVL_PLUS, LVL_HASH };

static enum lvl_kind
lvl_kind(const char *l, size_t n)
{
	if (n != 1)
		return LVL_LIT;
	return l[0] == '+' ? LVL_PLUS : l[0] == '#' ? LVL_HASH : LVL_LIT;
}

static bool
lvl_dollar(const char *l, size_t n)
{
	return n > 0 && l[0] == '$';
}

/* Is the rest of @p it exactly one "#" level? */
static bool
rest_is_hash(struct topic_levels *it)
{
	const char *l;
	size_t n;

	return topic_levels_next(it, &l, &n) && lvl_kind(l, n) == LVL_HASH &&
	       !topic_levels_next(it, &l, &n);
}

bool
topic_filter_covers(const char *outer, size_t olen, const char *inner, size_t ilen)
{
	struct topic_levels o, i;
	const char *ol, *il;
	size_t on, in, depth = 0;
	bool empty0 = false;    /* inner's first level is a literal "" */

	topic_levels_init(&o, outer, olen);
	topic_levels_init(&i, inner, ilen);
	for (;;) {
		bool o_more = topic_levels_next(&o, &ol, &on);
		enum lvl_kind ok, ik;

		/* inner's names end here: outer must too, or go on with "#" alone */
		if (!topic_levels_next(&i, &il, &in))
			return o_more ? lvl_kind(ol, on) == LVL_HASH && !topic_levels_next(&o, &ol, &on)
				      : true;
		if (!o_more)
			return false;
		ok = lvl_kind(ol, on);
		ik = lvl_kind(il, in);
		if (depth == 0) {
			if (ok != LVL_LIT && ik == LVL_LIT && lvl_dollar(il, in))
				return false;
			empty0 = ik == LVL_LIT && in == 0;
		}
		if (ok == LVL_HASH)
			return true;
		/* inner has the name ending before its '#' ("a/#" has "a"), which
		 * only an outer '#' takes; unless that name would be "" */
		if (ik == LVL_HASH)
			return (depth == 0 || (depth == 1 && empty0)) && ok == LVL_PLUS &&
			       rest_is_hash(&o);
		if (ok == LVL_LIT && (ik != LVL_LIT || on != in || memcmp(ol, il, on) != 0))
			return false;
		depth++;
	}
}

bool
topic_filters_intersect(const char *a, size_t alen, const char *b, size_t blen)
{
	struct topic_levels ai, bi;
	const char *al, *bl;
	size_t an, bn, depth = 0;
	bool empty0 = false;    /* a first level is a literal "" */

	topic_levels_init(&ai, a, alen);
	topic_levels_init(&bi, b, blen);
	for (;;) {
		bool a_more = topic_levels_next(&ai, &al, &an);
		bool b_more = topic_levels_next(&bi, &bl, &bn);
		enum lvl_kind ak, bk;

		if (!a_more || !b_more) {
			/* one ended: the other may only go on with "#" alone, and
			 * the common name has the levels seen so far: not just "" */
			if (depth == 1 && empty0)
				return false;
			if (a_more)
				return lvl_kind(al, an) == LVL_HASH && !topic_levels_next(&ai, &al, &an);
			if (b_more)
				return lvl_kind(bl, bn) == LVL_HASH && !topic_levels_next(&bi, &bl, &bn);
			return true;
		}
		ak = lvl_kind(al, an);
		bk = lvl_kind(bl, bn);
		if (depth == 0) {
			if ((ak == LVL_LIT) != (bk == LVL_LIT) &&
			    (ak == LVL_LIT ? lvl_dollar(al, an) : lvl_dollar(bl, bn)))
				return false;
			empty0 = (ak == LVL_LIT && an == 0) || (bk == LVL_LIT && bn == 0);
		}
		if (ak == LVL_HASH || bk == LVL_HASH)
			return true;
		if (ak == LVL_LIT && bk == LVL_LIT && (an != bn || memcmp(al, bl, an) != 0))
			return false;
		depth++;
	}
}
