/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topic commands: topic.list, topic.show, topic.stats. They read the
 * topic table (dataplane/topic_table.h) through its writer-side calls; the
 * main lcore, where every command runs, is the table's only writer, so
 * nothing changes under them while they run.
 *
 * Replies are bounded: topic.list returns at most --limit rows (1000 by
 * default) and about TOPIC_REPLY_BUDGET bytes, topic.show at most --limit
 * subscribers and filters, each with "truncated" and the full counts.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "control/ctl.h"
#include "control/ternd.h"
#include "dataplane/dp.h"
#include "dataplane/topic_table.h"
#include "proto/topic.h"

#define TOPIC_LIMIT_DEFAULT 1000
#define TOPIC_LIMIT_MAX 100000

/*
 * A subscriber is an MQTT-SN session or (the session number's top bit,
 * dataplane/coap_priv.h CP_REF_BIT) a CoAP observer; "session" is its slot.
 */
#define TOPIC_REF_COAP 0x80000000u

static const char *
ref_proto(const struct topic_sub_ref *ref)
{
	return (ref->session & TOPIC_REF_COAP) ? "coap" : "mqttsn";
}

static uint32_t
ref_slot(const struct topic_sub_ref *ref)
{
	return ref->session & ~TOPIC_REF_COAP;
}

/* Roughly the most bytes of rows one reply carries (1 MiB). */
#define TOPIC_REPLY_BUDGET (1024 * 1024)
/* Per-row overhead estimate of a topic.list row beyond its name. */
#define TOPIC_ROW_OVERHEAD 96
/* Payload bytes of a retained message topic.show displays. */
#define TOPIC_PAYLOAD_SHOWN 256

/* ------------------------------------------------------------------------ */
/* Shared */

static struct topic_table *
cmd_topic_table(char *err, size_t errlen)
{
	struct topic_table *t = dp_topic_table();

	if (t == NULL)
		snprintf(err, errlen, "neither the MQTT-SN nor the CoAP node runs (mqttsn.enabled "
			 "and coap.enabled are false): there is no topic table");
	return t;
}

/*
 * Bytes of @p s to quote in an error message: at most 200, cut on a UTF-8
 * character boundary (the reply must stay valid UTF-8).
 */
static int
cmd_quote_len(const char *s, size_t len)
{
	size_t n = len < 200 ? len : 200;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* --limit=N: absent gives the default; 0..TOPIC_LIMIT_MAX. */
static int
cmd_topic_limit(const struct ctl_req *req, unsigned long *limit, char *err, size_t errlen)
{
	int rc = ctl_arg_uint(req, "limit", -1, limit, err, errlen);

	if (rc == -ENOENT) {
		*limit = TOPIC_LIMIT_DEFAULT;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (*limit > TOPIC_LIMIT_MAX) {
		snprintf(err, errlen, "argument 'limit' must be 0..%u", TOPIC_LIMIT_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Exact and wildcard subscriptions behind a node's delivery set. */
struct sub_count {
	uint32_t exact;
	uint32_t wild;
};

static int
cmd_sub_count_cb(const char *filter, size_t flen, const struct topic_sub_ref *ref, void *arg)
{
	struct sub_count *c = arg;

	(void)flen;
	(void)ref;
	if (filter == NULL)
		c->exact++;
	else
		c->wild++;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* topic.list */

/*
 * The first `limit` matching topics by name, kept in a max-heap (the largest
 * name at the root) so a table of a million topics costs O(n log limit) and
 * `limit` pointers, not a sort of everything.
 */
struct topic_sel {
	const char *filter;        /* NULL: every topic */
	size_t flen;
	const struct topic **heap;
	size_t n, cap;
	uint64_t total;            /* matching topics */
};

static int
cmd_topic_cmp(const struct topic *a, const struct topic *b)
{
	/* names are NUL-terminated and hold no NUL: strcmp is byte order */
	return strcmp(a->name, b->name);
}

static int
cmd_topic_qsort_cmp(const void *a, const void *b)
{
	return cmd_topic_cmp(*(const struct topic *const *)a, *(const struct topic *const *)b);
}

static void
cmd_heap_down(struct topic_sel *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct topic *tmp;

		if (l < s->n && cmd_topic_cmp(s->heap[l], s->heap[m]) > 0)
			m = l;
		if (r < s->n && cmd_topic_cmp(s->heap[r], s->heap[m]) > 0)
			m = r;
		if (m == i)
			return;
		tmp = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = tmp;
		i = m;
	}
}

static void
cmd_heap_add(struct topic_sel *s, const struct topic *node)
{
	size_t i;

	if (s->cap == 0)
		return;
	if (s->n < s->cap) {
		i = s->n++;
		s->heap[i] = node;
		while (i > 0 && cmd_topic_cmp(s->heap[(i - 1) / 2], s->heap[i]) < 0) {
			const struct topic *tmp = s->heap[i];

			s->heap[i] = s->heap[(i - 1) / 2];
			s->heap[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (cmd_topic_cmp(node, s->heap[0]) < 0) {
		s->heap[0] = node;
		cmd_heap_down(s, 0);
	}
}

static int
cmd_topic_sel_cb(const struct topic *node, void *arg)
{
	struct topic_sel *s = arg;

	if (s->filter != NULL && !topic_match(s->filter, s->flen, node->name, node->len))
		return 0;
	s->total++;
	cmd_heap_add(s, node);
	return 0;
}

static json_t *
cmd_topic_row(const struct topic_table *t, const struct topic *node)
{
	const struct topic_retained *rm = topic_retained_get(node);
	struct sub_count c = { 0, 0 };
	json_t *o = json_object();

	(void)topic_foreach_sub(t, node, cmd_sub_count_cb, &c);
	json_object_set_new(o, "name", json_stringn(node->name, node->len));
	json_object_set_new(o, "number", json_integer(node->number));
	json_object_set_new(o, "subscribers", json_integer(topic_dset(node)->nb_refs));
	json_object_set_new(o, "exact", json_integer(c.exact));
	json_object_set_new(o, "wildcard", json_integer(c.wild));
	json_object_set_new(o, "retained", rm ? json_integer(rm->len) : json_null());
	return o;
}

static int
cmd_topic_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct topic_table *t = cmd_topic_table(err, errlen);
	struct topic_sel s = { 0 };
	unsigned long limit;
	size_t used = 0, shown = 0;
	const char *filter = NULL;
	json_t *rows, *o;
	int rc;

	if (t == NULL)
		return -ENOTSUP;
	rc = ctl_arg_str(req, "filter", 0, &filter, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == -ENOENT)
		filter = NULL;
	rc = cmd_topic_limit(req, &limit, err, errlen);
	if (rc < 0)
		return rc;

	if (limit > 0) {
		s.heap = calloc(limit, sizeof(*s.heap));
		if (s.heap == NULL) {
			snprintf(err, errlen, "no memory for %lu rows", limit);
			return -ENOMEM;
		}
		s.cap = limit;
	}
	if (filter != NULL) {
		size_t flen = strlen(filter);

		rc = topic_filter_check(filter, flen);
		if (rc < 0) {
			int q = cmd_quote_len(filter, flen);

			snprintf(err, errlen, "'%.*s%s' is not a valid topic filter: 1..65535 bytes "
				 "of UTF-8 without U+0000, '+' and '#' only as whole levels, '#' "
				 "only last (e.g. 'room/+/temp', 'room/#')",
				 q, filter, (size_t)q < flen ? "..." : "");
			free(s.heap);
			return -EINVAL;
		}
		if (rc == TOPIC_FILTER_WILD) {
			s.filter = filter;
			s.flen = flen;
			(void)topic_foreach(t, cmd_topic_sel_cb, &s);
		} else {
			/* no wildcard: it names one topic */
			const struct topic *node = topic_lookup(t, filter, flen);

			if (node != NULL)
				(void)cmd_topic_sel_cb(node, &s);
		}
	} else {
		(void)topic_foreach(t, cmd_topic_sel_cb, &s);
	}

	if (s.n > 1)
		qsort(s.heap, s.n, sizeof(*s.heap), cmd_topic_qsort_cmp);
	rows = json_array();
	for (size_t i = 0; i < s.n; i++) {
		size_t est = s.heap[i]->len + TOPIC_ROW_OVERHEAD;

		if (used + est > TOPIC_REPLY_BUDGET)
			break;
		used += est;
		json_array_append_new(rows, cmd_topic_row(t, s.heap[i]));
		shown++;
	}
	free(s.heap);

	o = json_object();
	json_object_set_new(o, "total", json_integer((json_int_t)s.total));
	json_object_set_new(o, "shown", json_integer((json_int_t)shown));
	json_object_set_new(o, "truncated", json_boolean(shown < s.total));
	json_object_set_new(o, "topics", rows);
	*result = o;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* topic.show */

/*
 * Printable UTF-8: well-formed (no overlong forms, surrogates or code points
 * above U+10FFFF) and without control characters (C0, DEL, C1).
 */
static bool
cmd_printable_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c = p[i], min;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			c &= 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n >= len - i)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
		    (c >= 0x80 && c <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}

static json_t *
cmd_retained_json(const struct topic_retained *rm)
{
	size_t shown = rm->len < TOPIC_PAYLOAD_SHOWN ? rm->len : TOPIC_PAYLOAD_SHOWN;
	json_t *o = json_object();

	json_object_set_new(o, "len", json_integer(rm->len));
	json_object_set_new(o, "flags", json_integer(rm->flags));
	if (cmd_printable_utf8(rm->payload, rm->len)) {
		/* cut on a character boundary */
		while (shown < rm->len && shown > 0 && (rm->payload[shown] & 0xc0) == 0x80)
			shown--;
		json_object_set_new(o, "encoding", json_string("text"));
		json_object_set_new(o, "payload",
				    json_stringn((const char *)rm->payload, shown));
	} else {
		static const char hex[] = "0123456789abcdef";
		char buf[2 * TOPIC_PAYLOAD_SHOWN + 1];

		for (size_t i = 0; i < shown; i++) {
			buf[2 * i] = hex[rm->payload[i] >> 4];
			buf[2 * i + 1] = hex[rm->payload[i] & 0xf];
		}
		buf[2 * shown] = '\0';
		json_object_set_new(o, "encoding", json_string("hex"));
		json_object_set_new(o, "payload", json_string(buf));
	}
	json_object_set_new(o, "shown", json_integer((json_int_t)shown));
	json_object_set_new(o, "truncated", json_boolean(shown < rm->len));
	return o;
}

/* The subscriptions behind a node, as rows, at most `cap` of them. */
struct filter_rows {
	const struct topic *node;
	json_t *rows;
	size_t cap;
	struct sub_count count;
};

static int
cmd_filter_row_cb(const char *filter, size_t flen, const struct topic_sub_ref *ref, void *arg)
{
	struct filter_rows *f = arg;

	if (filter == NULL)
		f->count.exact++;
	else
		f->count.wild++;
	if (json_array_size(f->rows) >= f->cap)
		return 0;
	json_array_append_new(f->rows, json_pack("{s:o, s:s, s:s, s:i, s:I, s:I, s:i}",
		"filter", filter ? json_stringn(filter, flen)
				 : json_stringn(f->node->name, f->node->len),
		"type", filter ? "wildcard" : "exact",
		"protocol", ref_proto(ref),
		"worker", (int)ref->core,
		"session", (json_int_t)ref_slot(ref),
		"gen", (json_int_t)ref->gen,
		"qos", (int)ref->qos));
	return 0;
}

static int
cmd_topic_show(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct topic_table *t = cmd_topic_table(err, errlen);
	const struct topic_retained *rm;
	const struct topic_sub_ref *refs;
	const struct topic_dset *d;
	const struct topic *node;
	struct filter_rows f;
	unsigned long limit;
	size_t listed = 0;
	const char *name;
	json_t *o, *delivery;
	int rc;

	if (t == NULL)
		return -ENOTSUP;
	rc = ctl_arg_str(req, "name", 0, &name, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing the topic NAME (topic.show NAME)");
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	rc = cmd_topic_limit(req, &limit, err, errlen);
	if (rc < 0)
		return rc;
	node = topic_lookup(t, name, strlen(name));
	if (node == NULL) {
		size_t nlen = strlen(name);
		int q = cmd_quote_len(name, nlen);

		snprintf(err, errlen, "no topic '%.*s%s' (see topic.list)", q, name,
			 (size_t)q < nlen ? "..." : "");
		return -ENOENT;
	}

	/* the delivery set, one array per worker (its run), in worker order */
	d = topic_dset(node);
	refs = topic_dset_refs(d);
	delivery = json_object();
	for (unsigned int r = 0; r < d->nb_runs; r++) {
		uint32_t n = topic_dset_run_len(d, r);
		json_t *run;
		char key[16];

		if (listed >= limit)
			break;	/* --limit reached: "truncated" says so */
		run = json_array();
		for (uint32_t i = 0; i < n && listed < limit; i++, listed++) {
			const struct topic_sub_ref *ref = &refs[d->runs[r].start + i];

			json_array_append_new(run, json_pack("{s:s, s:I, s:I, s:i}",
				"protocol", ref_proto(ref),
				"session", (json_int_t)ref_slot(ref),
				"gen", (json_int_t)ref->gen,
				"qos", (int)ref->qos));
		}
		snprintf(key, sizeof(key), "%u", (unsigned int)d->runs[r].core);
		json_object_set_new(delivery, key, run);
	}

	f.node = node;
	f.rows = json_array();
	f.cap = limit;
	f.count.exact = 0;
	f.count.wild = 0;
	(void)topic_foreach_sub(t, node, cmd_filter_row_cb, &f);

	o = json_object();
	json_object_set_new(o, "name", json_stringn(node->name, node->len));
	json_object_set_new(o, "number", json_integer(node->number));
	json_object_set_new(o, "subscribers", json_integer(d->nb_refs));
	json_object_set_new(o, "exact", json_integer(f.count.exact));
	json_object_set_new(o, "wildcard", json_integer(f.count.wild));
	json_object_set_new(o, "truncated",
			    json_boolean(listed < d->nb_refs ||
					 json_array_size(f.rows) < (size_t)f.count.exact + f.count.wild));
	rm = topic_retained_get(node);
	json_object_set_new(o, "retained", rm ? cmd_retained_json(rm) : json_null());
	json_object_set_new(o, "delivery", delivery);
	json_object_set_new(o, "filters", f.rows);
	*result = o;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* topic.stats */

static int
cmd_topic_stats(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct topic_table *t = cmd_topic_table(err, errlen);
	const struct tern_config *cfg = ternd_config();
	struct topic_table_stats st;
	json_t *o;

	(void)req;
	if (t == NULL)
		return -ENOTSUP;
	topic_table_stats(t, &st);
	o = json_object();
	json_object_set_new(o, "topics", json_integer(st.topics));
	json_object_set_new(o, "subs", json_integer(st.subs));
	json_object_set_new(o, "exact_subs", json_integer(st.exact_subs));
	json_object_set_new(o, "wild_subs", json_integer(st.wild_subs));
	json_object_set_new(o, "wild_filters", json_integer(st.wild_filters));
	json_object_set_new(o, "sessions", json_integer(st.sessions));
	json_object_set_new(o, "retained", json_integer(st.retained));
	json_object_set_new(o, "retained_bytes", json_integer((json_int_t)st.retained_bytes));
	json_object_set_new(o, "dsets_published", json_integer((json_int_t)st.dsets_published));
	if (cfg != NULL) {
		json_object_set_new(o, "max_topics", json_integer(cfg->mqttsn.max_topics));
		json_object_set_new(o, "max_subs", json_integer(cfg->mqttsn.max_subscriptions));
	}
	*result = o;
	return 0;
}

static int
cmd_retained_delete(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct topic_table *t = cmd_topic_table(err, errlen);
	struct topic *node;
	const char *name;
	int rc;

	if (t == NULL)
		return -ENOTSUP;
	rc = ctl_arg_str(req, "name", 0, &name, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing the topic NAME (retained.delete NAME)");
		return -EINVAL;
	}
	if (rc < 0)
		return rc;
	node = topic_lookup(t, name, strlen(name));
	if (node == NULL || topic_retained_get(node) == NULL) {
		snprintf(err, errlen, "no retained message on topic \"%.64s\"", name);
		return -ENOENT;
	}
	/* the main lcore is the table's writer: as an empty retained PUBLISH does */
	rc = topic_set_retained(t, node, NULL, 0, 0);
	if (rc < 0) {
		snprintf(err, errlen, "cannot delete the retained message: %s", strerror(-rc));
		return rc;
	}
	*result = json_pack("{s:s, s:b}", "topic", node->name, "deleted", 1);
	return 0;
}

/*
 * The handlers read the table (lookups walk the hash table, which its
 * resize worker may be replacing): the main lcore, offline between writes,
 * is online while it reads.
 */
#define CMD_TOPIC_ONLINE(fn) \
static int \
fn##_online(const struct ctl_req *req, json_t **result, char *err, size_t errlen) \
{ \
	/* no table, no RCU registration: the handler answers ENOTSUP */ \
	bool rcu = dp_topic_table() != NULL; \
	int rc; \
	if (rcu) \
		rcu_thread_online(); \
	rc = fn(req, result, err, errlen); \
	if (rcu) \
		rcu_thread_offline(); \
	return rc; \
}
CMD_TOPIC_ONLINE(cmd_topic_list)
CMD_TOPIC_ONLINE(cmd_topic_show)
CMD_TOPIC_ONLINE(cmd_topic_stats)
CMD_TOPIC_ONLINE(cmd_retained_delete)

static const struct ctl_cmd cmd_topic_cmds[] = {
	{ "topic.list", cmd_topic_list_online, CTL_ACCESS_READ, "[FILTER] [--limit=N]",
	  "topics sorted by name, all or those matching an MQTT filter (+, #); "
	  "at most N rows (1000)" },
	{ "topic.show", cmd_topic_show_online, CTL_ACCESS_READ, "NAME [--limit=N]",
	  "one topic: its subscribers per worker, the filters behind them, its retained message" },
	{ "topic.stats", cmd_topic_stats_online, CTL_ACCESS_READ, "",
	  "topic table counts: topics, subscriptions, wildcard filters, retained messages" },
	{ "retained.delete", cmd_retained_delete_online, CTL_ACCESS_ADMIN, "NAME",
	  "delete a topic's retained message (as an empty retained PUBLISH does)" },
};

void
cmd_topic_register(void)
{
	ctl_register(cmd_topic_cmds, sizeof(cmd_topic_cmds) / sizeof(cmd_topic_cmds[0]));
}
