/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_TOPIC_H
#define TERN_PROTO_TOPIC_H

/*
 * Topic names and topic filters, shared by MQTT-SN and CoAP pub/sub.
 *
 * A topic name is 1..TOPIC_NAME_MAX bytes of valid UTF-8 (no overlong forms,
 * no surrogates, nothing above U+10FFFF) without U+0000 and without the
 * wildcard characters '+' and '#'. Levels are separated by '/'; a level may
 * be empty ("a//b", "/a", "a/" are valid and distinct names). Control
 * characters are accepted: MQTT only says a sender SHOULD NOT use them.
 *
 * A topic filter is a name that may also hold wildcards, each occupying a
 * whole level: '+' matches exactly one level (possibly empty), '#' matches
 * any number of levels including none, so "a/#" matches "a" itself. '#'
 * may only be the last level. A filter whose first level is a wildcard
 * does not match a name beginning with '$' (MQTT 3.1.1 section 4.7.2).
 *
 * Everything here is pure: no allocation, no global state, safe from any
 * thread. Names are (pointer, length) pairs and need not be NUL-terminated.
 */

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_NAME_MAX 65535    /* MQTT: a UTF-8 string with a 16-bit length */
#define TOPIC_FILTER_WILD 1     /* topic_filter_check(): the filter has wildcards */

/**
 * Check a topic name.
 * @return 0 if @p name[0..len) is a valid topic name, -EINVAL otherwise
 *   (empty, longer than TOPIC_NAME_MAX, invalid UTF-8, U+0000, '+' or '#').
 */
int topic_name_check(const char *name, size_t len);

/**
 * Check a topic filter.
 * @return 0 for a valid filter without wildcards (it names one topic),
 *   TOPIC_FILTER_WILD for a valid filter with '+' or '#', -EINVAL otherwise
 *   (the rules of topic_name_check() with wildcards allowed as whole levels,
 *   '#' only last).
 */
int topic_filter_check(const char *filter, size_t len);

/**
 * Does @p filter match @p name (MQTT semantics, see the top of this file)?
 * Meant for a valid filter and a valid name; on any other input it still
 * returns a result without reading outside the two buffers (a misplaced
 * wildcard then compares as an ordinary character).
 */
bool topic_match(const char *filter, size_t flen, const char *name, size_t nlen);

/**
 * Does every name @p inner could match also match @p outer? Both are meant
 * to be valid filters; a name is a filter without wildcards, so for a valid
 * name this is topic_match(outer, name). The '$' rule counts: "#" does not
 * cover "$SYS/#". "a/#" covers "a"; and since a name is never empty, "+/#"
 * covers "#" and "/+/#" covers "/#". Any other input still gets a result,
 * read within the buffers.
 */
bool topic_filter_covers(const char *outer, size_t olen, const char *inner, size_t ilen);

/**
 * Is there at least one topic name that both filters match? Symmetric; for
 * a valid name as one side this is topic_match() with the other. "#" and
 * "$SYS/+" do not intersect, "a/#" and "a" do, "/#" and "+" do not (only ""
 * would be in both). Same input rules as topic_filter_covers().
 */
bool topic_filters_intersect(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Level iteration: "a//b" has levels "a", "", "b"; "/" has "", "".
 *
 *	struct topic_levels it;
 *	const char *lvl;
 *	size_t n;
 *
 *	topic_levels_init(&it, name, len);
 *	while (topic_levels_next(&it, &lvl, &n))
 *		...
 */
struct topic_levels {
	const char *pos;   /* start of the next level */
	const char *end;
	bool done;
};

static inline void
topic_levels_init(struct topic_levels *it, const char *s, size_t len)
{
	it->pos = s;
	it->end = s + len;
	it->done = false;
}

/** Yield the next level in (*@p lvl, *@p lvl_len); false when there is none. */
static inline bool
topic_levels_next(struct topic_levels *it, const char **lvl, size_t *lvl_len)
{
	const char *p = it->pos;

	if (it->done)
		return false;
	while (p < it->end && *p != '/')
		p++;
	*lvl = it->pos;
	*lvl_len = (size_t)(p - it->pos);
	if (p == it->end)
		it->done = true;
	else
		it->pos = p + 1;
	return true;
}

/** Number of levels of a name or filter: one more than its '/' count. */
size_t topic_level_count(const char *s, size_t len);

#endif
