/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topic table: a read-mostly index where all the work is on the writer.
 *
 * Readers (the workers) do two things: find a node by name in a cds_lfht,
 * and read the node's delivery set. Both are plain loads under QSBR, so a
 * publication costs one hash lookup (or none, when the session's topic-id
 * table already holds the node) and a walk over a contiguous array.
 *
 * Everything that makes the sets right lives with the single writer, in
 * "books" the readers never see:
 *   - per topic, its exact subscriptions (a sorted array) and the wildcard
 *     filters that match it;
 *   - per wildcard filter, its subscriptions and the topics it matches;
 *   - per session (core, session, gen), the objects it is subscribed
 *     through, so a lost session is removed at the cost of its own
 *     subscriptions rather than a scan of the table.
 * Wildcards are matched once each time a filter or a topic is created, in
 * both directions, and never per message. Any change to a topic's books
 * rebuilds its set from them: the sorted exact array is copied as is when it
 * is the only source, otherwise the sources are concatenated, sorted and
 * merged (one entry per subscriber, max QoS, ORed flags). A rebuild that
 * yields the same refs publishes nothing.
 *
 * Old versions are not freed one by one: each writer call collects what it
 * replaced in one retire batch handed to call_rcu() when the call returns,
 * so a wildcard subscription that rewrites ten thousand sets costs one
 * callback and no rcu_head in any set.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dataplane/topic_table.h"

#define DEF_MAX_TOPICS 65536
#define DEF_MAX_SUBS (1u << 20)
#define DEF_MAX_WILD 4096
#define SESS_MIN_BUCKETS 256

struct sub_list {
	struct topic_sub_ref *v;   /* sorted by (core, session, gen) */
	uint32_t n, cap;
};

struct wild {
	struct wild *next;
	struct sub_list subs;
	struct topic **topics;     /* topics the filter matches */
	uint32_t nb_topics, cap_topics;
	uint16_t len;
	char filter[];
};

struct topic_books {
	struct sub_list exact;
	struct wild **wilds;       /* wildcard filters matching the topic */
	uint32_t nb_wilds, cap_wilds;
	bool stale;                /* the published set lags the books (ENOMEM) */
};

struct sess_item {
	void *obj;                 /* struct topic or struct wild */
	bool wild;
};

struct sess {
	struct sess *next;
	uint16_t core;
	uint32_t session, gen;
	struct sess_item *v;
	uint32_t n, cap;
};

struct retire {
	struct rcu_head head;
	size_t n, cap;
	void *p[];
};

struct topic_table {
	struct cds_lfht *ht;
	uint64_t seed;
	struct topic_table_params p;
	struct topic **by_number;  /* by_number[i] has number i + 1 */
	uint32_t nb_topics, cap_topics;
	struct wild *wilds;
	uint32_t nb_wild;
	struct sess **sess;        /* chained hash of sessions */
	uint32_t sess_mask, nb_sess;
	struct topic_sub_ref *scratch;
	size_t cap_scratch;
	struct retire *retire;
	uint32_t nb_stale;
	uint32_t nb_subs, exact_subs, wild_subs, nb_retained;
	uint32_t etag_seq;          /* the last retained message's etag */
	uint64_t retained_bytes, dsets_published;
};

/* The set of a topic nobody subscribes to: shared, static, never freed. */
static const struct topic_dset empty_dset;

/* ---- hashing ---- */

/*
 * Topic names come from untrusted clients, so the hash is seeded per table
 * (a precomputed set of colliding names does not carry over) and mixes 8
 * bytes per step: the murmur3 64-bit block mix and its fmix64 finalizer,
 * whose low bits are as good as its high ones, which matters because
 * cds_lfht buckets by the bit-reversed hash. No DPDK, so the tests need no
 * EAL; liburcu installs no jhash; FNV-1a would cost a multiply per byte.
 */
static inline uint64_t
rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t
mix(uint64_t h, uint64_t w)
{
	w *= 0x87c37b91114253d5ULL;
	w = rotl64(w, 31);
	w *= 0x4cf5ad432745937fULL;
	h ^= w;
	return rotl64(h, 27) * 5 + 0x52dce729;
}

static uint64_t
name_hash(const char *s, size_t len, uint64_t seed)
{
	uint64_t h = seed ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = mix(h, w);
	}
	w = 0;
	if (len)
		memcpy(&w, s, len);   /* the tail, zero-padded */
	return fmix64(mix(h, w));
}

struct name_key {
	const char *s;
	size_t len;
};

static int
name_eq(struct cds_lfht_node *ln, const void *key)
{
	const struct topic *node = caa_container_of(ln, struct topic, lfht_node);
	const struct name_key *k = key;

	return node->len == k->len && memcmp(node->name, k->s, k->len) == 0;
}

/* ---- writer sections and retirement ---- */

/*
 * A writer call is an RCU read-side section (the lfht API wants one); a
 * writer idle offline between calls is brought online for it.
 */
static bool
writer_enter(void)
{
	bool was_offline = !rcu_read_ongoing();

	if (was_offline)
		rcu_thread_online();
	rcu_read_lock();
	return was_offline;
}

static void
retire_cb(struct rcu_head *head)
{
	struct retire *r = caa_container_of(head, struct retire, head);

	for (size_t i = 0; i < r->n; i++)
		free(r->p[i]);
	free(r);
}

static void
writer_leave(struct topic_table *t, bool was_offline)
{
	rcu_read_unlock();
	if (t->retire != NULL) {
		call_rcu(&t->retire->head, retire_cb);
		t->retire = NULL;
	}
	if (was_offline)
		rcu_thread_offline();
}

/* Free @p p after a grace period (at the end of this writer call). */
static void
retire(struct topic_table *t, const void *p)
{
	struct retire *r = t->retire;

	if (r == NULL || r->n == r->cap) {
		size_t cap = r ? r->cap * 2 : 16;
		struct retire *nr = realloc(r, sizeof(*r) + cap * sizeof(r->p[0]));

		if (nr == NULL) {
			/* out of memory: wait here rather than leak or free early */
			synchronize_rcu();
			free((void *)(uintptr_t)p);
			return;
		}
		if (r == NULL)
			nr->n = 0;
		nr->cap = cap;
		t->retire = r = nr;
	}
	r->p[r->n++] = (void *)(uintptr_t)p;
}

/* ---- sorted ref arrays ---- */

static inline int
ref_cmp(const struct topic_sub_ref *a, const struct topic_sub_ref *b)
{
	if (a->core != b->core)
		return a->core < b->core ? -1 : 1;
	if (a->session != b->session)
		return a->session < b->session ? -1 : 1;
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	return 0;
}

static int
ref_qsort_cmp(const void *a, const void *b)
{
	return ref_cmp(a, b);
}

/* Index of @p ref in @p l, or of where it would go; true if present. */
static bool
list_find(const struct sub_list *l, const struct topic_sub_ref *ref, uint32_t *pos)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = ref_cmp(&l->v[mid], ref);

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

static int
grow(void **v, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t c;
	void *nv;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap : 4;
	while (c < need)
		c *= 2;
	nv = realloc(*v, (size_t)c * size);
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

static void
list_insert(struct sub_list *l, uint32_t pos, const struct topic_sub_ref *ref)
{
	memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(l->v[0]));
	l->v[pos] = *ref;
	l->n++;
}

static void
list_remove(struct sub_list *l, uint32_t pos)
{
	memmove(&l->v[pos], &l->v[pos + 1], (l->n - pos - 1) * sizeof(l->v[0]));
	l->n--;
}

/* ---- delivery sets ---- */

static struct topic_dset *
dset_build(const struct topic_sub_ref *refs, uint32_t n)
{
	struct topic_sub_ref *out;
	struct topic_dset *d;
	uint32_t runs = 0, i;
	size_t size;
	void *mem;

	for (i = 0; i < n; i++)
		runs += i == 0 || refs[i].core != refs[i - 1].core;
	size = sizeof(*d) + runs * sizeof(d->runs[0]) + (size_t)n * sizeof(refs[0]);
	if (posix_memalign(&mem, 64, size) != 0)
		return NULL;
	d = mem;
	d->nb_refs = n;
	d->nb_runs = (uint16_t)runs;
	d->rsvd = 0;
	runs = 0;
	for (i = 0; i < n; i++) {
		if (i == 0 || refs[i].core != refs[i - 1].core) {
			d->runs[runs].core = refs[i].core;
			d->runs[runs].rsvd = 0;
			d->runs[runs].start = i;
			runs++;
		}
	}
	out = (struct topic_sub_ref *)&d->runs[runs];
	memcpy(out, refs, (size_t)n * sizeof(refs[0]));
	return d;
}

static void
mark_stale(struct topic_table *t, struct topic *node)
{
	if (!node->books->stale) {
		node->books->stale = true;
		t->nb_stale++;
	}
}

/* Recompute @p node's set from its books and publish it if it changed. */
static int
dset_rebuild(struct topic_table *t, struct topic *node)
{
	struct topic_books *b = node->books;
	const struct topic_sub_ref *src = NULL;
	const struct topic_dset *old = node->dset;
	struct topic_dset *d;
	uint32_t n = 0, sources = 0, i, j;
	size_t total;

	total = b->exact.n;
	if (b->exact.n) {
		src = b->exact.v;
		n = b->exact.n;
		sources++;
	}
	for (i = 0; i < b->nb_wilds; i++) {
		if (b->wilds[i]->subs.n == 0)
			continue;
		total += b->wilds[i]->subs.n;
		src = b->wilds[i]->subs.v;
		n = b->wilds[i]->subs.n;
		sources++;
	}
	if (sources > 1) {
		if (total > t->cap_scratch) {
			struct topic_sub_ref *s = realloc(t->scratch, total * sizeof(*s));

			if (s == NULL) {
				mark_stale(t, node);
				return -ENOMEM;
			}
			t->scratch = s;
			t->cap_scratch = total;
		}
		n = b->exact.n;
		if (n)
			memcpy(t->scratch, b->exact.v, n * sizeof(*src));
		for (i = 0; i < b->nb_wilds; i++) {
			if (b->wilds[i]->subs.n == 0)
				continue;
			memcpy(t->scratch + n, b->wilds[i]->subs.v,
			       b->wilds[i]->subs.n * sizeof(*src));
			n += b->wilds[i]->subs.n;
		}
		qsort(t->scratch, n, sizeof(*src), ref_qsort_cmp);
		/* one entry per subscriber: max QoS, ORed flags */
		for (i = 0, j = 0; i < n; i++) {
			if (j > 0 && ref_cmp(&t->scratch[j - 1], &t->scratch[i]) == 0) {
				if (t->scratch[i].qos > t->scratch[j - 1].qos)
					t->scratch[j - 1].qos = t->scratch[i].qos;
				t->scratch[j - 1].flags |= t->scratch[i].flags;
			} else {
				t->scratch[j++] = t->scratch[i];
			}
		}
		n = j;
		src = t->scratch;
	}
	if (b->stale) {
		b->stale = false;
		t->nb_stale--;
	}
	if (n == old->nb_refs &&
	    (n == 0 || memcmp(src, topic_dset_refs(old), (size_t)n * sizeof(*src)) == 0))
		return 0;
	if (n == 0) {
		d = (struct topic_dset *)(uintptr_t)&empty_dset;
	} else {
		d = dset_build(src, n);
		if (d == NULL) {
			mark_stale(t, node);
			return -ENOMEM;
		}
	}
	rcu_assign_pointer(node->dset, d);
	t->dsets_published++;
	if (old != &empty_dset)
		retire(t, old);
	return 0;
}

/* Retry the sets an earlier allocation failure left behind. */
static int
rebuild_stale(struct topic_table *t)
{
	int ret = 0;

	for (uint32_t i = 0; t->nb_stale && i < t->nb_topics; i++)
		if (t->by_number[i]->books && t->by_number[i]->books->stale &&
		    dset_rebuild(t, t->by_number[i]) < 0)
			ret = -ENOMEM;
	return ret;
}

static struct topic_books *
books_get(struct topic *node)
{
	if (node->books == NULL)
		node->books = calloc(1, sizeof(*node->books));
	return node->books;
}

/* ---- sessions (writer books) ---- */

static inline uint32_t
sess_bucket(const struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen)
{
	uint64_t k = (uint64_t)session << 32 | gen;

	return (uint32_t)fmix64(k ^ ((uint64_t)core << 48) ^ t->seed) & t->sess_mask;
}

static struct sess *
sess_find(const struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen)
{
	struct sess *s = t->sess[sess_bucket(t, core, session, gen)];

	while (s != NULL && (s->core != core || s->session != session || s->gen != gen))
		s = s->next;
	return s;
}

static void
sess_resize(struct topic_table *t)
{
	uint32_t nb = (t->sess_mask + 1) * 2, i;
	struct sess **nbk = calloc(nb, sizeof(*nbk)), **old = t->sess, *s, *next;
	uint32_t old_nb = t->sess_mask + 1;

	if (nbk == NULL)
		return;         /* longer chains, still correct */
	t->sess = nbk;
	t->sess_mask = nb - 1;
	for (i = 0; i < old_nb; i++) {
		for (s = old[i]; s != NULL; s = next) {
			uint32_t bk = sess_bucket(t, s->core, s->session, s->gen);

			next = s->next;
			s->next = nbk[bk];
			nbk[bk] = s;
		}
	}
	free(old);
}

/* Record that @p ref is subscribed through @p obj. */
static int
sess_add(struct topic_table *t, const struct topic_sub_ref *ref, void *obj, bool wild)
{
	struct sess *s = sess_find(t, ref->core, ref->session, ref->gen);
	bool created = false;

	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -ENOMEM;
		s->core = ref->core;
		s->session = ref->session;
		s->gen = ref->gen;
		created = true;
	}
	if (GROW(s->v, s->cap, s->n + 1) < 0) {
		if (created)
			free(s);
		return -ENOMEM;
	}
	s->v[s->n].obj = obj;
	s->v[s->n].wild = wild;
	s->n++;
	if (created) {
		uint32_t bk = sess_bucket(t, s->core, s->session, s->gen);

		s->next = t->sess[bk];
		t->sess[bk] = s;
		if (++t->nb_sess > t->sess_mask + 1)
			sess_resize(t);
	}
	return 0;
}

static void
sess_unlink(struct topic_table *t, struct sess *s)
{
	struct sess **pp = &t->sess[sess_bucket(t, s->core, s->session, s->gen)];

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	t->nb_sess--;
	free(s->v);
	free(s);
}

static void
sess_del(struct topic_table *t, const struct topic_sub_ref *ref, void *obj)
{
	struct sess *s = sess_find(t, ref->core, ref->session, ref->gen);

	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->v[i].obj == obj) {
			s->v[i] = s->v[--s->n];
			break;
		}
	}
	if (s->n == 0)
		sess_unlink(t, s);
}

/* ---- wildcard filters (writer books) ---- */

static struct wild *
wild_find(const struct topic_table *t, const char *filter, size_t len)
{
	struct wild *w;

	for (w = t->wilds; w != NULL; w = w->next)
		if (w->len == len && memcmp(w->filter, filter, len) == 0)
			return w;
	return NULL;
}

/* Link @p w and @p node both ways; on -ENOMEM neither is changed. */
static int
wild_link(struct wild *w, struct topic *node)
{
	struct topic_books *b = books_get(node);

	if (b == NULL || GROW(b->wilds, b->cap_wilds, b->nb_wilds + 1) < 0 ||
	    GROW(w->topics, w->cap_topics, w->nb_topics + 1) < 0)
		return -ENOMEM;
	b->wilds[b->nb_wilds++] = w;
	w->topics[w->nb_topics++] = node;
	return 0;
}

static void
books_drop_wild(struct topic_books *b, const struct wild *w)
{
	for (uint32_t i = 0; i < b->nb_wilds; i++) {
		if (b->wilds[i] == w) {
			b->wilds[i] = b->wilds[--b->nb_wilds];
			return;
		}
	}
}

static void
wild_free(struct wild *w)
{
	free(w->subs.v);
	free(w->topics);
	free(w);
}

/* Unlink @p w from every topic and the table, then free it. */
static void
wild_destroy(struct topic_table *t, struct wild *w)
{
	struct wild **pp = &t->wilds;

	for (uint32_t i = 0; i < w->nb_topics; i++)
		books_drop_wild(w->topics[i]->books, w);
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	t->nb_wild--;
	wild_free(w);
}

/* A new wildcard filter, linked to every existing topic it matches. */
static int
wild_create(struct topic_table *t, const char *filter, size_t len, struct wild **out)
{
	struct wild *w;

	if (t->nb_wild >= t->p.max_wild)
		return -ENOSPC;
	w = calloc(1, sizeof(*w) + len + 1);
	if (w == NULL)
		return -ENOMEM;
	memcpy(w->filter, filter, len);
	w->len = (uint16_t)len;
	for (uint32_t i = 0; i < t->nb_topics; i++) {
		struct topic *node = t->by_number[i];

		if (!topic_match(filter, len, node->name, node->len))
			continue;
		if (wild_link(w, node) < 0) {
			for (uint32_t j = 0; j < w->nb_topics; j++)
				books_drop_wild(w->topics[j]->books, w);
			wild_free(w);
			return -ENOMEM;
		}
	}
	w->next = t->wilds;
	t->wilds = w;
	t->nb_wild++;
	*out = w;
	return 0;
}

/* ---- table ---- */

struct topic_table *
topic_table_create(const struct topic_table_params *params)
{
	struct topic_table *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (params != NULL)
		t->p = *params;
	if (t->p.max_topics == 0)
		t->p.max_topics = DEF_MAX_TOPICS;
	if (t->p.max_subs == 0)
		t->p.max_subs = DEF_MAX_SUBS;
	if (t->p.max_wild == 0)
		t->p.max_wild = DEF_MAX_WILD;
	if (t->p.max_name_len == 0)
		t->p.max_name_len = TOPIC_NAME_MAX;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
	t->sess = calloc(SESS_MIN_BUCKETS, sizeof(*t->sess));
	t->sess_mask = SESS_MIN_BUCKETS - 1;
	/* the lfht resizes itself in its own thread: no rehash on the writer's path */
	t->ht = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (t->sess == NULL || t->ht == NULL) {
		if (t->ht != NULL)
			cds_lfht_destroy(t->ht, NULL);
		free(t->sess);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

static void
node_free(struct topic *node)
{
	if (node->books != NULL) {
		free(node->books->exact.v);
		free(node->books->wilds);
		free(node->books);
	}
	if (node->dset != &empty_dset)
		free((void *)(uintptr_t)node->dset);
	free((void *)(uintptr_t)node->retained);
	free(node->conf);
	free(node);
}

void
topic_table_free(struct topic_table *t)
{
	bool was_offline;
	uint32_t i;

	if (t == NULL)
		return;
	was_offline = writer_enter();
	for (i = 0; i < t->nb_topics; i++)
		cds_lfht_del(t->ht, &t->by_number[i]->lfht_node);
	writer_leave(t, false);
	/*
	 * Offline: the lfht's resize thread and the call_rcu thread wait for
	 * grace periods, which an online thread waiting on them would block.
	 */
	rcu_thread_offline();
	cds_lfht_destroy(t->ht, NULL);
	for (i = 0; i < t->nb_topics; i++)
		node_free(t->by_number[i]);
	while (t->wilds != NULL) {
		struct wild *w = t->wilds;

		t->wilds = w->next;
		wild_free(w);
	}
	for (i = 0; i <= t->sess_mask; i++) {
		while (t->sess[i] != NULL) {
			struct sess *s = t->sess[i];

			t->sess[i] = s->next;
			free(s->v);
			free(s);
		}
	}
	free(t->sess);
	free(t->scratch);
	free(t->by_number);
	free(t);
	rcu_barrier();
	if (!was_offline)
		rcu_thread_online();
}

struct topic *
topic_lookup(const struct topic_table *t, const char *name, size_t len)
{
	struct name_key k = { name, len };
	struct cds_lfht_node *ln;
	struct cds_lfht_iter it;

	if (len > t->p.max_name_len)
		return NULL;
	rcu_read_lock();
	cds_lfht_lookup(t->ht, name_hash(name, len, t->seed), name_eq, &k, &it);
	ln = cds_lfht_iter_get_node(&it);
	rcu_read_unlock();
	return ln ? caa_container_of(ln, struct topic, lfht_node) : NULL;
}

/* topic_create() inside a writer section; errors as negative codes. */
static int
create(struct topic_table *t, const char *name, size_t len, struct topic **out)
{
	struct topic *node;
	struct wild *w;
	void *mem;

	node = topic_lookup(t, name, len);
	if (node != NULL) {
		*out = node;
		return 0;
	}
	if (len > t->p.max_name_len || topic_name_check(name, len) != 0)
		return -EINVAL;
	if (t->nb_topics >= t->p.max_topics)
		return -ENOSPC;
	if (GROW(t->by_number, t->cap_topics, t->nb_topics + 1) < 0)
		return -ENOMEM;
	if (posix_memalign(&mem, 64, sizeof(*node) + len + 1) != 0)
		return -ENOMEM;
	node = mem;
	memset(node, 0, sizeof(*node));
	memcpy(node->name, name, len);
	node->name[len] = '\0';
	node->len = (uint16_t)len;
	node->number = t->nb_topics + 1;
	node->dset = (struct topic_dset *)(uintptr_t)&empty_dset;
	for (w = t->wilds; w != NULL; w = w->next)
		if (topic_match(w->filter, w->len, name, len) && wild_link(w, node) < 0)
			goto nomem;
	/* the set is complete before readers can find the node */
	if (node->books != NULL && dset_rebuild(t, node) < 0) {
		t->nb_stale--;
		goto nomem;
	}
	cds_lfht_node_init(&node->lfht_node);
	cds_lfht_add(t->ht, name_hash(name, len, t->seed), &node->lfht_node);
	t->by_number[t->nb_topics++] = node;
	*out = node;
	return 1;
nomem:
	/* wild_link appended node last to each filter's topics */
	if (node->books != NULL)
		for (uint32_t i = 0; i < node->books->nb_wilds; i++)
			node->books->wilds[i]->nb_topics--;
	node_free(node);
	return -ENOMEM;
}

struct topic *
topic_create(struct topic_table *t, const char *name, size_t len)
{
	bool was_offline = writer_enter();
	struct topic *node = NULL;
	int ret;

	rebuild_stale(t);
	ret = create(t, name, len, &node);
	writer_leave(t, was_offline);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	return node;
}

/* Subscribe through the exact name @p filter. */
static int
sub_exact(struct topic_table *t, const char *name, size_t len, const struct topic_sub_ref *ref)
{
	struct topic_books *b;
	struct topic *node;
	uint32_t pos;
	int ret;

	node = topic_lookup(t, name, len);
	if (node != NULL && node->books != NULL && list_find(&node->books->exact, ref, &pos)) {
		node->books->exact.v[pos].qos = ref->qos;
		node->books->exact.v[pos].flags = ref->flags;
		dset_rebuild(t, node);
		return 1;
	}
	if (t->nb_subs >= t->p.max_subs)
		return -ENOSPC;
	if (node == NULL) {
		ret = create(t, name, len, &node);
		if (ret < 0)
			return ret;
	}
	b = books_get(node);
	if (b == NULL || GROW(b->exact.v, b->exact.cap, b->exact.n + 1) < 0)
		return -ENOMEM;
	ret = sess_add(t, ref, node, false);
	if (ret < 0)
		return ret;
	list_find(&b->exact, ref, &pos);
	list_insert(&b->exact, pos, ref);
	t->nb_subs++;
	t->exact_subs++;
	dset_rebuild(t, node);
	return 0;
}

static void
rebuild_wild_topics(struct topic_table *t, struct wild *w)
{
	for (uint32_t i = 0; i < w->nb_topics; i++)
		dset_rebuild(t, w->topics[i]);
}

static int
sub_wild(struct topic_table *t, const char *filter, size_t len, const struct topic_sub_ref *ref)
{
	struct wild *w = wild_find(t, filter, len);
	bool created = false;
	uint32_t pos;
	int ret;

	if (w != NULL && list_find(&w->subs, ref, &pos)) {
		w->subs.v[pos].qos = ref->qos;
		w->subs.v[pos].flags = ref->flags;
		rebuild_wild_topics(t, w);
		return 1;
	}
	if (t->nb_subs >= t->p.max_subs)
		return -ENOSPC;
	if (w == NULL) {
		ret = wild_create(t, filter, len, &w);
		if (ret < 0)
			return ret;
		created = true;
	}
	if (GROW(w->subs.v, w->subs.cap, w->subs.n + 1) < 0 ||
	    sess_add(t, ref, w, true) < 0) {
		if (created)
			wild_destroy(t, w);
		return -ENOMEM;
	}
	list_find(&w->subs, ref, &pos);
	list_insert(&w->subs, pos, ref);
	t->nb_subs++;
	t->wild_subs++;
	rebuild_wild_topics(t, w);
	return 0;
}

int
topic_subscribe(struct topic_table *t, const char *filter, size_t len,
		const struct topic_sub_ref *ref)
{
	bool was_offline;
	int kind, ret;

	if (ref->qos > 2 || len > t->p.max_name_len)
		return -EINVAL;
	kind = topic_filter_check(filter, len);
	if (kind < 0)
		return kind;
	was_offline = writer_enter();
	rebuild_stale(t);
	if (kind == TOPIC_FILTER_WILD)
		ret = sub_wild(t, filter, len, ref);
	else
		ret = sub_exact(t, filter, len, ref);
	if (ret >= 0 && t->nb_stale)
		ret = -ENOMEM;
	writer_leave(t, was_offline);
	return ret;
}

/* Remove @p ref's exact subscription to @p node (its position @p pos). */
static void
unsub_exact(struct topic_table *t, struct topic *node, uint32_t pos)
{
	list_remove(&node->books->exact, pos);
	t->nb_subs--;
	t->exact_subs--;
	dset_rebuild(t, node);
}

static void
unsub_wild(struct topic_table *t, struct wild *w, uint32_t pos)
{
	list_remove(&w->subs, pos);
	t->nb_subs--;
	t->wild_subs--;
	if (w->subs.n == 0) {
		struct topic **topics = w->topics;
		uint32_t n = w->nb_topics;

		/* unlink first so the rebuilds no longer see the filter */
		w->topics = NULL;
		w->nb_topics = 0;
		for (uint32_t i = 0; i < n; i++)
			books_drop_wild(topics[i]->books, w);
		wild_destroy(t, w);
		for (uint32_t i = 0; i < n; i++)
			dset_rebuild(t, topics[i]);
		free(topics);
	} else {
		rebuild_wild_topics(t, w);
	}
}

int
topic_unsubscribe(struct topic_table *t, const char *filter, size_t len,
		  const struct topic_sub_ref *ref)
{
	bool was_offline;
	int kind, ret = -ENOENT;
	uint32_t pos;

	if (len > t->p.max_name_len)
		return -EINVAL;
	kind = topic_filter_check(filter, len);
	if (kind < 0)
		return kind;
	was_offline = writer_enter();
	rebuild_stale(t);
	if (kind == TOPIC_FILTER_WILD) {
		struct wild *w = wild_find(t, filter, len);

		if (w != NULL && list_find(&w->subs, ref, &pos)) {
			sess_del(t, ref, w);
			unsub_wild(t, w, pos);
			ret = 0;
		}
	} else {
		struct topic *node = topic_lookup(t, filter, len);

		if (node != NULL && node->books != NULL &&
		    list_find(&node->books->exact, ref, &pos)) {
			sess_del(t, ref, node);
			unsub_exact(t, node, pos);
			ret = 0;
		}
	}
	writer_leave(t, was_offline);
	return ret;
}

int
topic_unsubscribe_all(struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen)
{
	struct topic_sub_ref ref = { .core = core, .session = session, .gen = gen };
	bool was_offline = writer_enter();
	struct sess *s;
	uint32_t pos;
	int n = 0;

	rebuild_stale(t);
	s = sess_find(t, core, session, gen);
	if (s != NULL) {
		for (uint32_t i = 0; i < s->n; i++) {
			if (s->v[i].wild) {
				struct wild *w = s->v[i].obj;

				if (list_find(&w->subs, &ref, &pos))
					unsub_wild(t, w, pos);
			} else {
				struct topic *node = s->v[i].obj;

				if (list_find(&node->books->exact, &ref, &pos))
					unsub_exact(t, node, pos);
			}
			n++;
		}
		sess_unlink(t, s);
	}
	writer_leave(t, was_offline);
	return n;
}

int
topic_move_session(struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen,
		   const struct topic_sub_ref *to)
{
	struct topic_sub_ref ref = { .core = core, .session = session, .gen = gen };
	struct {
		void *obj;
		bool wild;
		uint8_t qos, flags;
	} *items;
	bool was_offline = writer_enter();
	struct sess *s;
	uint32_t pos, n = 0;
	int moved = 0, r;

	rebuild_stale(t);
	s = sess_find(t, core, session, gen);
	if (s == NULL || s->n == 0) {
		writer_leave(t, was_offline);
		return 0;
	}
	/* the subscriptions first: subscribing the new ref may grow the session index */
	items = malloc(s->n * sizeof(*items));
	if (items == NULL) {
		writer_leave(t, was_offline);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		const struct sub_list *l = s->v[i].wild ? &((struct wild *)s->v[i].obj)->subs :
							  &((struct topic *)s->v[i].obj)->books->exact;

		if (!list_find(l, &ref, &pos))
			continue;
		items[n].obj = s->v[i].obj;
		items[n].wild = s->v[i].wild;
		items[n].qos = l->v[pos].qos;
		items[n].flags = l->v[pos].flags;
		n++;
	}
	writer_leave(t, was_offline);
	for (uint32_t i = 0; i < n; i++) {
		struct topic_sub_ref nr = *to;
		const char *f;
		size_t len;

		nr.qos = items[i].qos;
		nr.flags = items[i].flags;
		if (items[i].wild) {
			f = ((struct wild *)items[i].obj)->filter;
			len = ((struct wild *)items[i].obj)->len;
		} else {
			f = ((struct topic *)items[i].obj)->name;
			len = ((struct topic *)items[i].obj)->len;
		}
		/*
		 * Each old subscription holds its filter alive (a wildcard filter
		 * is destroyed with its last subscriber), so f stays valid until
		 * the old ref goes below.
		 */
		r = topic_subscribe(t, f, len, &nr);
		if (r >= 0)
			moved++;
	}
	free(items);
	topic_unsubscribe_all(t, core, session, gen);
	return moved;
}

int
topic_set_retained(struct topic_table *t, struct topic *node, const void *payload, size_t len,
		   uint8_t flags)
{
	return topic_set_retained_fmt(t, node, payload, len, flags, 0);
}

int
topic_set_retained_fmt(struct topic_table *t, struct topic *node, const void *payload, size_t len,
		       uint8_t flags, uint16_t fmt)
{
	struct topic_retained *old, *r = NULL;
	bool was_offline;

	if (len > UINT32_MAX)
		return -EINVAL;
	if (len > 0) {
		r = malloc(sizeof(*r) + len);
		if (r == NULL)
			return -ENOMEM;
		r->len = (uint32_t)len;
		r->flags = flags;
		r->rsvd = 0;
		r->fmt = fmt;
		r->etag = ++t->etag_seq != 0 ? t->etag_seq : ++t->etag_seq;
		memcpy(r->payload, payload, len);
	}
	was_offline = writer_enter();
	old = node->retained;
	rcu_assign_pointer(node->retained, r);
	if (old != NULL) {
		t->nb_retained--;
		t->retained_bytes -= old->len;
		retire(t, old);
	}
	if (r != NULL) {
		t->nb_retained++;
		t->retained_bytes += len;
	}
	writer_leave(t, was_offline);
	return 0;
}

struct topic *
topic_find(struct topic_table *t, const char *name, size_t len)
{
	bool was_offline = writer_enter();
	struct topic *node = topic_lookup(t, name, len);

	writer_leave(t, was_offline);
	return node;
}

int
topic_set_conf(struct topic_table *t, struct topic *node, const struct topic_conf *conf)
{
	struct topic_conf *old, *c = NULL;
	bool was_offline;

	if (conf != NULL) {
		c = malloc(sizeof(*c));
		if (c == NULL)
			return -ENOMEM;
		*c = *conf;
	}
	was_offline = writer_enter();
	old = node->conf;
	rcu_assign_pointer(node->conf, c);
	if (old != NULL)
		retire(t, old);
	writer_leave(t, was_offline);
	return 0;
}

struct topic *
topic_by_number(const struct topic_table *t, uint32_t number)
{
	if (number == 0 || number > t->nb_topics)
		return NULL;
	return t->by_number[number - 1];
}

int
topic_foreach(const struct topic_table *t, int (*cb)(const struct topic *node, void *arg),
	      void *arg)
{
	int ret;

	for (uint32_t i = 0; i < t->nb_topics; i++) {
		ret = cb(t->by_number[i], arg);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
topic_foreach_sub(const struct topic_table *t, const struct topic *node,
		  int (*cb)(const char *filter, size_t flen, const struct topic_sub_ref *ref,
			    void *arg),
		  void *arg)
{
	const struct topic_books *b = node->books;
	uint32_t i, j;
	int ret;

	(void)t;
	if (b == NULL)
		return 0;
	for (i = 0; i < b->exact.n; i++) {
		ret = cb(NULL, 0, &b->exact.v[i], arg);
		if (ret != 0)
			return ret;
	}
	for (i = 0; i < b->nb_wilds; i++) {
		const struct wild *w = b->wilds[i];

		for (j = 0; j < w->subs.n; j++) {
			ret = cb(w->filter, w->len, &w->subs.v[j], arg);
			if (ret != 0)
				return ret;
		}
	}
	return 0;
}

void
topic_table_stats(const struct topic_table *t, struct topic_table_stats *st)
{
	st->topics = t->nb_topics;
	st->subs = t->nb_subs;
	st->exact_subs = t->exact_subs;
	st->wild_subs = t->wild_subs;
	st->wild_filters = t->nb_wild;
	st->sessions = t->nb_sess;
	st->retained = t->nb_retained;
	st->retained_bytes = t->retained_bytes;
	st->dsets_published = t->dsets_published;
}
