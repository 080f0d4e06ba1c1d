/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for proto/topic.c.
 *
 * The input is "filter NUL name" (without a NUL byte, the whole input is both
 * filter and name). For any bytes, the checks, the matcher and the level
 * iterator must not crash or read outside the input (ASan), and:
 *  - a valid name is a valid filter without wildcards, and vice versa;
 *  - a valid name matches itself as a filter;
 *  - "#" matches every valid name not starting with '$', and no other;
 *  - for a valid filter and a valid name, topic_match() agrees with a
 *    straightforward reference that splits both into levels first;
 *  - the level iterator yields topic_level_count() levels that join back,
 *    with '/', into the input.
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/topic.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_LEVELS 64

struct lv {
	const char *s;
	size_t len;
};

static int
split(const char *s, size_t len, struct lv *out)
{
	struct topic_levels it;
	const char *l;
	size_t n;
	int count = 0;

	topic_levels_init(&it, s, len);
	while (topic_levels_next(&it, &l, &n)) {
		if (count == MAX_LEVELS)
			return -1;
		out[count].s = l;
		out[count].len = n;
		count++;
	}
	return count;
}

static bool
lv_is(const struct lv *l, const char *lit)
{
	return l->len == strlen(lit) && memcmp(l->s, lit, l->len) == 0;
}

/* Reference matcher: -1 when there are too many levels to tell. */
static int
ref_match(const char *f, size_t flen, const char *n, size_t nlen)
{
	struct lv fl[MAX_LEVELS], nl[MAX_LEVELS];
	int nf = split(f, flen, fl), nn = split(n, nlen, nl);

	if (nf < 0 || nn < 0)
		return -1;
	if (n[0] == '$' && (lv_is(&fl[0], "+") || lv_is(&fl[0], "#")))
		return 0;
	for (int i = 0; i < nf; i++) {
		if (lv_is(&fl[i], "#"))
			return 1;
		if (i >= nn)
			return 0;
		if (!lv_is(&fl[i], "+") &&
		    (fl[i].len != nl[i].len || memcmp(fl[i].s, nl[i].s, fl[i].len) != 0))
			return 0;
	}
	return nf == nn;
}

static void
check_levels(const char *s, size_t len)
{
	struct topic_levels it;
	const char *l;
	size_t n, pos = 0, count = 0;

	topic_levels_init(&it, s, len);
	while (topic_levels_next(&it, &l, &n)) {
		if (count++) {
			CHECK(pos < len && s[pos] == '/');
			pos++;
		}
		CHECK(l == s + pos && pos + n <= len);
		CHECK(memchr(l, '/', n) == NULL);
		pos += n;
	}
	CHECK(pos == len);
	CHECK(count == topic_level_count(s, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copies, so ASan catches any read past either part */
	const uint8_t *nul = memchr(data, 0, size);
	size_t flen = nul ? (size_t)(nul - data) : size;
	size_t nlen = nul ? size - flen - 1 : size;
	char *f = malloc(flen ? flen : 1), *n = malloc(nlen ? nlen : 1);
	int name_ok, filter_kind, r;

	if (f == NULL || n == NULL)
		abort();
	memcpy(f, data, flen);
	memcpy(n, nul ? nul + 1 : data, nlen);

	name_ok = topic_name_check(n, nlen) == 0;
	filter_kind = topic_filter_check(f, flen);
	CHECK(filter_kind == 0 || filter_kind == TOPIC_FILTER_WILD || filter_kind == -EINVAL);
	CHECK((topic_name_check(f, flen) == 0) == (filter_kind == 0));
	if (name_ok) {
		CHECK(topic_filter_check(n, nlen) == 0);
		CHECK(topic_match(n, nlen, n, nlen));
		CHECK(topic_match("#", 1, n, nlen) == (n[0] != '$'));
	}
	r = topic_match(f, flen, n, nlen);
	if (name_ok && filter_kind >= 0) {
		int want = ref_match(f, flen, n, nlen);

		CHECK(want < 0 || r == want);
	}
	check_levels(f, flen);
	check_levels(n, nlen);
	free(f);
	free(n);
	return 0;
}
