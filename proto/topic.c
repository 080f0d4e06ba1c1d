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
