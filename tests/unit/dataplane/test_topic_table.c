/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for dataplane/topic_table.c: delivery sets for exact and
 * wildcard subscriptions, merging, unsubscription, retained messages,
 * limits, a randomized comparison against a brute-force model, and a
 * concurrency test (one writer, two QSBR reader threads). No EAL needed.
 */

#include <pthread.h>
#include <stdlib.h>

#include "dataplane/topic_table.h"
#include "tests/unit/tap.h"

#define S(lit) lit, sizeof(lit) - 1

static struct topic_sub_ref
mkref(uint16_t core, uint32_t session, uint32_t gen, uint8_t qos, uint8_t flags)
{
	struct topic_sub_ref r = {
		.core = core, .qos = qos, .flags = flags, .session = session, .gen = gen,
	};

	return r;
}

static int
ref_cmp(const void *pa, const void *pb)
{
	const struct topic_sub_ref *a = pa, *b = pb;

	if (a->core != b->core)
		return a->core < b->core ? -1 : 1;
	if (a->session != b->session)
		return a->session < b->session ? -1 : 1;
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	return 0;
}

/* Internal consistency of a delivery set; returns a reason or NULL. */
static const char *
dset_check(const struct topic_dset *d)
{
	const struct topic_sub_ref *refs = topic_dset_refs(d);
	uint32_t sum = 0;

	if (((uintptr_t)d & 63) != 0 && d->nb_refs != 0)
		return "not cache-line aligned";
	for (uint32_t i = 0; i < d->nb_refs; i++) {
		if (i > 0 && ref_cmp(&refs[i - 1], &refs[i]) >= 0)
			return "refs not strictly sorted";
		if (refs[i].qos > 2)
			return "qos > 2";
	}
	for (unsigned int i = 0; i < d->nb_runs; i++) {
		uint32_t n = topic_dset_run_len(d, i);

		if (i > 0 && d->runs[i - 1].core >= d->runs[i].core)
			return "runs not sorted by core";
		if (d->runs[i].start != sum || n == 0)
			return "run start/length wrong";
		for (uint32_t j = 0; j < n; j++)
			if (refs[d->runs[i].start + j].core != d->runs[i].core)
				return "ref in the wrong run";
		sum += n;
	}
	if (sum != d->nb_refs)
		return "runs do not cover the refs";
	return NULL;
}

/* Does @p node's set hold exactly @p want (any order)? */
static bool
set_is(const struct topic *node, const struct topic_sub_ref *want, uint32_t n)
{
	const struct topic_dset *d = topic_dset(node);
	struct topic_sub_ref sorted[64];

	if (dset_check(d) != NULL || d->nb_refs != n || n > 64)
		return false;
	if (n == 0)
		return true;
	memcpy(sorted, want, n * sizeof(*want));
	qsort(sorted, n, sizeof(*want), ref_cmp);
	return memcmp(sorted, topic_dset_refs(d), n * sizeof(*want)) == 0;
}

static void
test_exact(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic_sub_ref r[3] = {
		mkref(1, 1, 1, 0, 0), mkref(0, 2, 1, 1, 0), mkref(1, 0, 1, 2, 0),
	};
	struct topic_table_stats st;
	const struct topic_sub_ref *run;
	struct topic *node;
	uint64_t published;
	uint32_t n;

	ok(t != NULL, "table created");
	ok(topic_lookup(t, S("a/b")) == NULL, "unknown topic not found");
	for (int i = 0; i < 3; i++)
		is_int(topic_subscribe(t, S("a/b"), &r[i]), 0, "exact subscribe %d", i);
	node = topic_lookup(t, S("a/b"));
	ok(node != NULL && node->number == 1 && strcmp(node->name, "a/b") == 0,
	   "exact subscribe created topic 1 \"a/b\"");
	ok(set_is(node, r, 3), "set holds the three refs, sorted");
	is_int(topic_dset(node)->nb_runs, 2, "two runs (cores 0 and 1)");
	run = topic_dset_run(topic_dset(node), 1, &n);
	ok(n == 2 && run[0].session == 0 && run[1].session == 1, "core 1 run: sessions 0, 1");
	run = topic_dset_run(topic_dset(node), 0, &n);
	ok(n == 1 && run[0].session == 2, "core 0 run: session 2");
	run = topic_dset_run(topic_dset(node), 2, &n);
	ok(n == 0 && run == NULL, "core 2 has no run");

	topic_table_stats(t, &st);
	published = st.dsets_published;
	r[0].qos = 2;
	is_int(topic_subscribe(t, S("a/b"), &r[0]), 1, "re-subscribe updates");
	ok(set_is(node, r, 3), "QoS updated in place, no duplicate");
	is_int(topic_subscribe(t, S("a/b"), &r[0]), 1, "same re-subscribe again");
	topic_table_stats(t, &st);
	is_int(st.dsets_published, published + 1, "unchanged set not republished");
	is_int(st.subs, 3, "3 subscriptions");
	is_int(st.sessions, 3, "3 sessions");

	is_int(topic_unsubscribe(t, S("a/b"), &r[1]), 0, "unsubscribe");
	ok(set_is(node, (struct topic_sub_ref[]){ r[0], r[2] }, 2), "set without it");
	is_int(topic_dset(node)->nb_runs, 1, "one run left");
	is_int(topic_unsubscribe(t, S("a/b"), &r[1]), -ENOENT, "second unsubscribe: ENOENT");
	is_int(topic_unsubscribe(t, S("x/y"), &r[1]), -ENOENT, "unknown topic: ENOENT");
	is_int(topic_unsubscribe(t, S("a/#/b"), &r[1]), -EINVAL, "bad filter: EINVAL");
	is_int(topic_subscribe(t, S("a+"), &r[1]), -EINVAL, "bad filter subscribe: EINVAL");
	r[1].qos = 3;
	is_int(topic_subscribe(t, S("a/b"), &r[1]), -EINVAL, "QoS 3: EINVAL");
	is_int(topic_unsubscribe(t, S("a/b"), &r[0]), 0, "unsubscribe");
	is_int(topic_unsubscribe(t, S("a/b"), &r[2]), 0, "unsubscribe the last");
	ok(topic_dset(node)->nb_refs == 0 && topic_dset(node)->nb_runs == 0, "empty set");
	topic_table_stats(t, &st);
	ok(st.subs == 0 && st.sessions == 0 && st.topics == 1, "stats: no subs, topic stays");

	errno = 0;
	ok(topic_create(t, S("a/+")) == NULL && errno == EINVAL, "create with '+': EINVAL");
	ok(topic_create(t, "", 0) == NULL && errno == EINVAL, "create empty: EINVAL");
	ok(topic_create(t, S("a/b")) == node, "create existing returns it");
	ok(topic_by_number(t, 1) == node && topic_by_number(t, 2) == NULL &&
	   topic_by_number(t, 0) == NULL, "topic_by_number");
	topic_table_free(t);
}

static int
count_cb(const struct topic *node, void *arg)
{
	(void)node;
	++*(int *)arg;
	return 0;
}

static int
count_sub_cb(const char *filter, size_t flen, const struct topic_sub_ref *ref, void *arg)
{
	(void)ref;
	(void)flen;
	((int *)arg)[filter != NULL]++;
	return 0;
}

static void
test_wild(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic_sub_ref x = mkref(0, 10, 1, 1, 0), y = mkref(1, 20, 1, 0, 0);
	struct topic_sub_ref z = mkref(2, 30, 1, 0, 1), zz;
	struct topic *ac, *bc, *xyz, *xx, *sys, *m;
	struct topic_table_stats st;
	int n, subs[2] = { 0, 0 };

	/* filter before the topic */
	is_int(topic_subscribe(t, S("a/+"), &x), 0, "subscribe a/+");
	ac = topic_create(t, S("a/c"));
	bc = topic_create(t, S("b/c"));
	ok(set_is(ac, &x, 1), "a/c created after a/+ has it");
	ok(set_is(bc, NULL, 0), "b/c does not");
	ok(set_is(topic_create(t, S("a/")), &x, 1), "a/ (empty level) has a/+");
	ok(set_is(topic_create(t, S("a")), NULL, 0), "a does not have a/+");
	ok(set_is(topic_create(t, S("a/c/d")), NULL, 0), "a/c/d does not have a/+");

	/* topic before the filter; '#' includes the parent */
	xyz = topic_create(t, S("x/y/z"));
	is_int(topic_subscribe(t, S("x/#"), &y), 0, "subscribe x/#");
	ok(set_is(xyz, &y, 1), "existing x/y/z gets x/#");
	xx = topic_create(t, S("x"));
	ok(set_is(xx, &y, 1), "x created later gets x/# (parent level)");

	/* '#' everywhere but '$' topics */
	sys = topic_create(t, S("$SYS/load"));
	is_int(topic_subscribe(t, S("#"), &z), 0, "subscribe #");
	ok(set_is(bc, &z, 1), "b/c has #");
	ok(set_is(ac, (struct topic_sub_ref[]){ x, z }, 2), "a/c has a/+ and #");
	ok(set_is(xyz, (struct topic_sub_ref[]){ y, z }, 2), "x/y/z has x/# and #");
	ok(set_is(sys, NULL, 0), "$SYS/load has no # subscriber");
	is_int(topic_subscribe(t, S("$SYS/#"), &x), 0, "subscribe $SYS/#");
	ok(set_is(sys, &x, 1), "$SYS/# reaches $SYS/load");

	/* overlapping filters: one entry, max QoS, ORed flags */
	m = topic_create(t, S("m/n"));
	ok(set_is(m, &z, 1), "m/n has #");
	zz = z;
	zz.qos = 1;
	zz.flags = 2;
	is_int(topic_subscribe(t, S("m/+"), &zz), 0, "same ref through m/+ at QoS 1");
	zz.qos = 2;
	zz.flags = 4;
	is_int(topic_subscribe(t, S("m/n"), &zz), 0, "and exactly at QoS 2");
	zz.flags = 7;
	ok(set_is(m, &zz, 1), "m/n: one entry, QoS 2, flags 1|2|4");
	topic_table_stats(t, &st);
	ok(st.subs == 6 && st.exact_subs == 1 && st.wild_subs == 5 && st.wild_filters == 5,
	   "stats: 6 subs (1 exact, 5 wildcard), 5 filters");
	topic_foreach_sub(t, m, count_sub_cb, subs);
	ok(subs[0] == 1 && subs[1] == 2, "foreach_sub on m/n: 1 exact, 2 wildcard");
	is_int(topic_unsubscribe(t, S("m/n"), &z), 0, "drop the exact one");
	zz.qos = 1;
	zz.flags = 3;
	ok(set_is(m, &zz, 1), "m/n: QoS 1, flags 1|2");
	is_int(topic_unsubscribe(t, S("m/+"), &z), 0, "drop m/+");
	ok(set_is(m, &z, 1), "m/n: back to # at QoS 0");
	topic_table_stats(t, &st);
	is_int(st.wild_filters, 4, "m/+ filter gone with its last subscriber");
	is_int(topic_unsubscribe(t, S("m/+"), &z), -ENOENT, "m/+ again: ENOENT");
	is_int(topic_unsubscribe(t, S("#"), &z), 0, "drop #");
	ok(set_is(m, NULL, 0) && set_is(bc, NULL, 0) && set_is(ac, &x, 1),
	   "# gone from every set");

	n = 0;
	topic_foreach(t, count_cb, &n);
	topic_table_stats(t, &st);
	ok(n == 9 && st.topics == 9, "foreach visits the 9 topics");
	topic_table_free(t);
}

static void
test_unsubscribe_all(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic_sub_ref a = mkref(3, 7, 1, 1, 0), a2 = mkref(3, 7, 2, 0, 0);
	struct topic_sub_ref b = mkref(1, 7, 1, 0, 0);
	struct topic_table_stats st;
	struct topic *p, *q, *r;

	topic_subscribe(t, S("p"), &a);
	topic_subscribe(t, S("q"), &a);
	topic_subscribe(t, S("r/s"), &a);
	topic_subscribe(t, S("r/+"), &a);
	topic_subscribe(t, S("+"), &a);
	topic_subscribe(t, S("+"), &b);
	topic_subscribe(t, S("q"), &a2);   /* same slot, next generation */
	p = topic_lookup(t, S("p"));
	q = topic_lookup(t, S("q"));
	r = topic_lookup(t, S("r/s"));
	ok(set_is(p, (struct topic_sub_ref[]){ a, b }, 2), "p: a via p and +, b via +");
	ok(set_is(q, (struct topic_sub_ref[]){ a, b, a2 }, 3), "q: both generations of slot 7");
	is_int(topic_unsubscribe_all(t, 3, 7, 1), 5, "unsubscribe_all removes 5");
	ok(set_is(p, &b, 1) && set_is(q, (struct topic_sub_ref[]){ b, a2 }, 2) && set_is(r, NULL, 0),
	   "only b and the new generation remain");
	topic_table_stats(t, &st);
	ok(st.subs == 2 && st.wild_filters == 1 && st.sessions == 2, "stats after");
	is_int(topic_unsubscribe_all(t, 3, 7, 1), 0, "again: nothing");
	is_int(topic_unsubscribe(t, S("p"), &a), -ENOENT, "single unsubscribe: ENOENT");
	is_int(topic_unsubscribe_all(t, 1, 7, 1), 1, "b: 1");
	is_int(topic_unsubscribe_all(t, 3, 7, 2), 1, "a2: 1");
	topic_table_stats(t, &st);
	ok(st.subs == 0 && st.wild_filters == 0 && st.sessions == 0, "table has no subscriptions");
	topic_table_free(t);
}

static void
test_runs(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic_sub_ref refs[40];
	const struct topic_dset *d;
	struct topic *node;
	bool good = true;

	srand(7);
	for (int i = 0; i < 40; i++) {
		refs[i] = mkref((uint16_t)(rand() % 8), (uint32_t)i, 1, (uint8_t)(rand() % 3), 0);
		topic_subscribe(t, i % 2 ? "k/l" : "k/+", 3, &refs[i]);
	}
	node = topic_lookup(t, S("k/l"));
	ok(set_is(node, refs, 40), "40 refs over 8 cores, via two filters");
	d = topic_dset(node);
	for (uint16_t c = 0; c < 8; c++) {
		uint32_t n, want = 0;
		const struct topic_sub_ref *run = topic_dset_run(d, c, &n);

		for (int i = 0; i < 40; i++)
			want += refs[i].core == c;
		for (uint32_t j = 0; j < n; j++)
			good &= run[j].core == c;
		good &= n == want;
	}
	ok(good, "each core's run holds exactly its refs");
	ok(dset_check(d) == NULL, "set consistent");
	topic_table_free(t);
}

static void
test_retained(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic *node = topic_create(t, S("r"));
	const struct topic_retained *rt;
	struct topic_table_stats st;

	ok(topic_retained_get(node) == NULL, "no retained message");
	is_int(topic_set_retained(t, node, "hello", 5, 1), 0, "set");
	rt = topic_retained_get(node);
	ok(rt && rt->len == 5 && rt->flags == 1 && memcmp(rt->payload, "hello", 5) == 0, "read");
	is_int(topic_set_retained(t, node, "bye", 3, 2), 0, "replace");
	rt = topic_retained_get(node);
	ok(rt && rt->len == 3 && rt->flags == 2 && memcmp(rt->payload, "bye", 3) == 0, "replaced");
	topic_table_stats(t, &st);
	ok(st.retained == 1 && st.retained_bytes == 3, "stats: 1 retained, 3 bytes");
	is_int(topic_set_retained(t, node, NULL, 0, 0), 0, "delete");
	ok(topic_retained_get(node) == NULL, "deleted");
	topic_table_stats(t, &st);
	ok(st.retained == 0 && st.retained_bytes == 0, "stats: none");
	rcu_thread_offline();
	is_int(topic_set_retained(t, node, "kept", 4, 0), 0, "set one the table frees (offline)");
	ok(!rcu_read_ongoing(), "a writer call leaves an offline writer offline");
	rcu_thread_online();
	ok(rcu_read_ongoing(), "and an online one online");
	topic_table_free(t);
}

static void
test_limits(void)
{
	struct topic_table_params p = { .max_topics = 3, .max_subs = 4, .max_wild = 1,
					.max_name_len = 8 };
	struct topic_table *t = topic_table_create(&p);
	struct topic_sub_ref r = mkref(0, 1, 1, 0, 0);

	ok(topic_create(t, S("t1")) && topic_create(t, S("t2")), "two topics");
	is_int(topic_subscribe(t, S("t3"), &r), 0, "subscribe creates the third");
	errno = 0;
	ok(topic_create(t, S("t4")) == NULL && errno == ENOSPC, "fourth topic: ENOSPC");
	ok(topic_create(t, S("t1")) != NULL, "existing topic still found at the limit");
	is_int(topic_subscribe(t, S("t5"), &r), -ENOSPC, "subscribe to a fourth: ENOSPC");
	is_int(topic_subscribe(t, S("t/+"), &r), 0, "one wildcard filter");
	is_int(topic_subscribe(t, S("+"), &r), -ENOSPC, "second filter: ENOSPC");
	is_int(topic_subscribe(t, S("t1"), &r), 0, "third sub");
	is_int(topic_subscribe(t, S("t2"), &r), 0, "fourth sub");
	r.session = 2;
	is_int(topic_subscribe(t, S("t1"), &r), -ENOSPC, "fifth sub: ENOSPC");
	r.session = 1;
	r.qos = 1;
	is_int(topic_subscribe(t, S("t1"), &r), 1, "update at the limit is fine");
	is_int(topic_subscribe(t, S("t/123456789"), &r), -EINVAL, "filter over max_name_len");
	errno = 0;
	ok(topic_create(t, S("123456789")) == NULL && errno == EINVAL, "name over max_name_len");
	ok(topic_lookup(t, S("123456789")) == NULL, "lookup of a too long name");
	is_int(topic_unsubscribe(t, S("t2"), &r), 0, "free one");
	r.session = 2;
	is_int(topic_subscribe(t, S("t1"), &r), 0, "room again");
	topic_table_free(t);
}

/* ---- randomized comparison with a brute-force model ---- */

#define MODEL_MAX 400

struct model_sub {
	char filter[16];
	struct topic_sub_ref ref;
};

static struct model_sub model[MODEL_MAX];
static int model_n;

static void
random_name(char *buf, bool filter)
{
	static const char *lv[] = { "a", "b", "", "+" };
	int depth = 1 + rand() % 3, pos = 0;

	for (int i = 0; i < depth; i++) {
		const char *l = lv[rand() % (filter ? 4 : 3)];

		if (i)
			buf[pos++] = '/';
		if (filter && i == depth - 1 && rand() % 4 == 0)
			l = "#";
		memcpy(buf + pos, l, strlen(l));
		pos += (int)strlen(l);
	}
	buf[pos] = 0;
	if (!filter && rand() % 16 == 0)
		buf[0] = '$';
}

struct verify_ctx {
	bool good;
	int mismatch;
};

static int
verify_cb(const struct topic *node, void *arg)
{
	struct verify_ctx *v = arg;
	struct topic_sub_ref want[MODEL_MAX];
	uint32_t n = 0, j;
	const struct topic_dset *d = topic_dset(node);

	for (int i = 0; i < model_n; i++) {
		if (!topic_match(model[i].filter, strlen(model[i].filter), node->name, node->len))
			continue;
		for (j = 0; j < n; j++)
			if (ref_cmp(&want[j], &model[i].ref) == 0)
				break;
		if (j == n) {
			want[n++] = model[i].ref;
		} else {
			if (model[i].ref.qos > want[j].qos)
				want[j].qos = model[i].ref.qos;
			want[j].flags |= model[i].ref.flags;
		}
	}
	qsort(want, n, sizeof(want[0]), ref_cmp);
	if (dset_check(d) != NULL || d->nb_refs != n ||
	    (n && memcmp(want, topic_dset_refs(d), n * sizeof(want[0])) != 0)) {
		v->good = false;
		v->mismatch++;
	}
	return 0;
}

static void
test_model(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct topic_table_stats st;
	struct verify_ctx v = { true, 0 };
	int bad_ret = 0, bad_stats = 0;

	srand(12345);
	model_n = 0;
	for (int op = 0; op < 4000; op++) {
		int k = rand() % 10;
		char f[16];

		if (k < 5 && model_n < MODEL_MAX) {
			struct topic_sub_ref r = mkref((uint16_t)(rand() % 4), (uint32_t)(rand() % 6),
						       (uint32_t)(1 + rand() % 2),
						       (uint8_t)(rand() % 3), (uint8_t)(1u << (rand() % 3)));
			int i, ret;

			random_name(f, true);
			if (topic_filter_check(f, strlen(f)) < 0)
				continue;
			ret = topic_subscribe(t, f, strlen(f), &r);
			for (i = 0; i < model_n; i++)
				if (strcmp(model[i].filter, f) == 0 && ref_cmp(&model[i].ref, &r) == 0)
					break;
			bad_ret += ret != (i < model_n);
			strcpy(model[i].filter, f);
			model[i].ref = r;
			if (i == model_n)
				model_n++;
		} else if (k < 8 && model_n > 0) {
			int i = rand() % model_n;

			bad_ret += topic_unsubscribe(t, model[i].filter, strlen(model[i].filter),
						     &model[i].ref) != 0;
			model[i] = model[--model_n];
		} else if (k < 9) {
			struct topic_sub_ref r = mkref((uint16_t)(rand() % 4), (uint32_t)(rand() % 6),
						       (uint32_t)(1 + rand() % 2), 0, 0);
			int removed = 0;

			for (int i = 0; i < model_n; i++) {
				if (ref_cmp(&model[i].ref, &r) == 0) {
					model[i--] = model[--model_n];
					removed++;
				}
			}
			bad_ret += topic_unsubscribe_all(t, r.core, r.session, r.gen) != removed;
		} else {
			random_name(f, false);
			if (topic_name_check(f, strlen(f)) == 0)
				bad_ret += topic_create(t, f, strlen(f)) == NULL;
		}
		if (op % 20 == 0 || op == 3999) {
			int wild = 0;

			topic_foreach(t, verify_cb, &v);
			topic_table_stats(t, &st);
			for (int i = 0; i < model_n; i++) {
				bool first = true;

				if (topic_filter_check(model[i].filter, strlen(model[i].filter)) != 1)
					continue;
				for (int j = 0; j < i; j++)
					if (strcmp(model[j].filter, model[i].filter) == 0)
						first = false;
				wild += first;
			}
			bad_stats += st.subs != (uint32_t)model_n || st.wild_filters != (uint32_t)wild;
		}
	}
	topic_table_stats(t, &st);
	ok(v.good, "4000 random operations: every set equals the brute-force model (%d mismatches)",
	   v.mismatch);
	is_int(bad_ret, 0, "every return value as the model predicts");
	is_int(bad_stats, 0, "subscription and filter counts as the model");
	ok(st.topics > 20, "the run created %u topics", st.topics);
	topic_table_free(t);
}

/* ---- concurrency: one writer, two QSBR readers ---- */

#define NAMES 64

static char names[NAMES][16];
static volatile bool stop;

struct reader {
	struct topic_table *t;
	unsigned int seed;
	unsigned long lookups, found, refs;
	int errors;
	const char *why;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	rcu_register_thread();
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		const char *n = names[rand_r(&r->seed) % NAMES];
		struct topic *node;

		rcu_read_lock();
		node = topic_lookup(r->t, n, strlen(n));
		r->lookups++;
		if (node != NULL) {
			const struct topic_dset *d = topic_dset(node);
			const struct topic_retained *rt = topic_retained_get(node);
			const char *why = dset_check(d);

			r->found++;
			r->refs += d->nb_refs;
			if (strcmp(node->name, n) != 0)
				why = "lookup returned another topic";
			/* the writer fills a retained payload with its length */
			if (rt != NULL)
				for (uint32_t i = 0; i < rt->len; i++)
					if (rt->payload[i] != (uint8_t)rt->len)
						why = "retained payload torn";
			if (why != NULL) {
				r->errors++;
				r->why = why;
			}
		}
		rcu_read_unlock();
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	return NULL;
}

static void
test_concurrency(void)
{
	struct topic_table *t = topic_table_create(NULL);
	struct reader rd[2] = { { .t = t, .seed = 1 }, { .t = t, .seed = 2 } };
	pthread_t th[2];
	struct topic_table_stats st;
	uint8_t payload[256];
	int ops = 0, fails = 0;

	for (int i = 0; i < NAMES; i++)
		snprintf(names[i], sizeof(names[i]), "c/%d/%d", i % 8, i / 8);
	stop = false;
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, reader_main, &rd[i]);
	srand(99);
	for (int i = 0; i < 20000; i++) {
		struct topic_sub_ref r = mkref((uint16_t)(rand() % 4), (uint32_t)(rand() % 50), 1,
					       (uint8_t)(rand() % 3), 0);
		const char *n = names[rand() % NAMES];
		char f[16];
		int k = rand() % 16, ret = 0;

		if (k < 6) {
			ret = topic_subscribe(t, n, strlen(n), &r);
		} else if (k < 9) {
			snprintf(f, sizeof(f), rand() % 2 ? "c/%d/+" : "c/%d/#", rand() % 8);
			ret = topic_subscribe(t, f, strlen(f), &r);
		} else if (k < 11) {
			ret = topic_unsubscribe(t, n, strlen(n), &r);
		} else if (k < 12) {
			snprintf(f, sizeof(f), "c/%d/+", rand() % 8);
			ret = topic_unsubscribe(t, f, strlen(f), &r);
		} else if (k < 13) {
			topic_unsubscribe_all(t, r.core, r.session, r.gen);
		} else if (k < 15) {
			ret = topic_create(t, n, strlen(n)) ? 0 : -errno;
		} else {
			struct topic *node = topic_lookup(t, n, strlen(n));
			size_t len = (size_t)(rand() % 200);

			if (node != NULL) {
				memset(payload, (int)len, len);
				ret = topic_set_retained(t, node, payload, len, 0);
			}
		}
		fails += ret < 0 && ret != -ENOENT;
		ops++;
		rcu_quiescent_state();
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	topic_table_stats(t, &st);
	is_int(fails, 0, "%d writer operations, none failed", ops);
	for (int i = 0; i < 2; i++)
		ok(rd[i].errors == 0 && rd[i].lookups > 0,
		   "reader %d: %lu lookups, %lu found, %lu refs walked, %d errors%s%s", i,
		   rd[i].lookups, rd[i].found, rd[i].refs, rd[i].errors,
		   rd[i].why ? ": " : "", rd[i].why ? rd[i].why : "");
	ok(st.dsets_published > 1000, "%llu delivery sets published",
	   (unsigned long long)st.dsets_published);
	topic_table_free(t);
}

int
main(void)
{
	/* the writer: a registered RCU thread, online (it reads the table too) */
	rcu_register_thread();
	test_exact();
	test_wild();
	test_unsubscribe_all();
	test_runs();
	test_retained();
	test_limits();
	test_model();
	test_concurrency();
	rcu_thread_offline();
	rcu_barrier();
	rcu_unregister_thread();
	return done_testing();
}
