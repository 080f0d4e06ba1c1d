/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The access-node pool (control/lbs/pool.h has the policy).
 *
 * Nodes live in a fixed array of slots; order[] lists the used slots in the
 * order the nodes were added, so a scan in that order gives ties to the
 * oldest node and node.list its natural order, while a node keeps its slot
 * (the stickiness table's reference to it) for its whole life.
 *
 * The stickiness table never needs to be searched for a node's entries:
 * an entry records the node's epoch, a pool-wide number the node takes when
 * it is added, drained or goes down. Forgetting every device tied to a node
 * is therefore one store, and a slot reused by a new node can never inherit
 * entries of the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/lbs/pool.h"
#include "proto/osap.h"
#include "proto/osap_crypto.h"

#define STICKY_WAYS 4

struct node {
	bool used;
	bool healthy;
	bool draining;
	uint8_t family;
	uint16_t port;
	uint16_t dtls_port;
	uint32_t weight;
	uint32_t epoch;
	uint32_t sessions;
	uint32_t msg_rate;
	uint32_t recent;
	uint64_t picks;
	uint8_t addr[16];
	char name[LBS_NODE_NAME_MAX + 1];
};

struct sticky {
	uint64_t tag;              /* hash of the DevID */
	uint32_t epoch;            /* the node's when set; 0: empty */
	uint32_t last;             /* pool stamp of the last use */
	uint16_t slot;
	uint8_t len;
	uint8_t devid[OSAP_ID_MAX];
};

struct lbs_pool {
	uint32_t max_nodes;
	uint32_t n_nodes;
	uint32_t rate_unit;
	uint32_t epoch;            /* last epoch handed out */
	uint32_t stamp;
	uint32_t set_mask;
	uint64_t seed;
	uint32_t *order;           /* n_nodes slots, oldest first */
	struct node *nodes;
	struct sticky *sticky;     /* (set_mask + 1) * STICKY_WAYS */
};

const char *
lbs_node_state_name(enum lbs_node_state st)
{
	static const char *const names[] = {
		[LBS_NODE_UP] = "up",
		[LBS_NODE_DRAINING] = "draining",
		[LBS_NODE_DOWN] = "down",
	};

	return (unsigned int)st <= LBS_NODE_DOWN ? names[st] : NULL;
}

static enum lbs_node_state
node_state(const struct node *n)
{
	if (!n->healthy)
		return LBS_NODE_DOWN;
	return n->draining ? LBS_NODE_DRAINING : LBS_NODE_UP;
}

/* A new epoch for a node: every stickiness entry to it becomes void. */
static void
new_epoch(struct lbs_pool *pool, struct node *n)
{
	if (++pool->epoch == 0)
		pool->epoch = 1;
	n->epoch = pool->epoch;
}

struct lbs_pool *
lbs_pool_new(const struct lbs_pool_params *p)
{
	uint32_t max = p && p->max_nodes ? p->max_nodes : LBS_POOL_MAX_NODES_DEFAULT;
	uint32_t want = p && p->sticky_entries ? p->sticky_entries : LBS_POOL_STICKY_DEFAULT;
	uint32_t sets = 1;
	struct lbs_pool *pool;

	if (max > UINT16_MAX || want > (1u << 28))
		return NULL;
	while (sets * STICKY_WAYS < want)
		sets <<= 1;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->max_nodes = max;
	pool->rate_unit = p ? p->rate_unit : 0;
	pool->set_mask = sets - 1;
	pool->order = calloc(max, sizeof(*pool->order));
	pool->nodes = calloc(max, sizeof(*pool->nodes));
	pool->sticky = calloc((size_t)sets * STICKY_WAYS, sizeof(*pool->sticky));
	if (pool->order == NULL || pool->nodes == NULL || pool->sticky == NULL) {
		lbs_pool_free(pool);
		return NULL;
	}
	/* A keyed hash: DevIDs a device chose cannot be aimed at one set. */
	if (osap_random((uint8_t *)&pool->seed, sizeof(pool->seed)) < 0)
		pool->seed = 0x9e3779b97f4a7c15ull;
	return pool;
}

void
lbs_pool_free(struct lbs_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->order);
	free(pool->nodes);
	free(pool->sticky);
	free(pool);
}

static struct node *
find(const struct lbs_pool *pool, const char *name, uint32_t *pos)
{
	for (uint32_t i = 0; name != NULL && i < pool->n_nodes; i++) {
		struct node *n = &pool->nodes[pool->order[i]];

		if (strcmp(n->name, name) == 0) {
			if (pos)
				*pos = i;
			return n;
		}
	}
	return NULL;
}

int
lbs_pool_add(struct lbs_pool *pool, const struct lbs_node_conf *c)
{
	struct node *n = NULL;
	size_t len;
	uint32_t i;

	if (pool == NULL || c == NULL || c->name == NULL)
		return -EINVAL;
	len = strnlen(c->name, LBS_NODE_NAME_MAX + 1);
	if (len == 0 || len > LBS_NODE_NAME_MAX ||
	    (c->family != OSAP_FAMILY_IPV4 && c->family != OSAP_FAMILY_IPV6) ||
	    (c->port == 0 && c->dtls_port == 0) || c->weight == 0 ||
	    c->weight > LBS_POOL_WEIGHT_MAX)
		return -EINVAL;
	if (find(pool, c->name, NULL))
		return -EEXIST;
	for (i = 0; i < pool->max_nodes && n == NULL; i++)
		if (!pool->nodes[i].used)
			n = &pool->nodes[i];
	if (n == NULL)
		return -ENOSPC;
	*n = (struct node){
		.used = true,
		.healthy = true,
		.family = c->family,
		.port = c->port,
		.dtls_port = c->dtls_port,
		.weight = c->weight,
	};
	memcpy(n->addr, c->addr, sizeof(n->addr));
	if (c->family == OSAP_FAMILY_IPV4)
		memset(n->addr + 4, 0, sizeof(n->addr) - 4);
	memcpy(n->name, c->name, len + 1);
	new_epoch(pool, n);
	pool->order[pool->n_nodes++] = (uint32_t)(n - pool->nodes);
	return 0;
}

int
lbs_pool_remove(struct lbs_pool *pool, const char *name)
{
	uint32_t pos;
	struct node *n = pool ? find(pool, name, &pos) : NULL;

	if (n == NULL)
		return -ENOENT;
	memset(n, 0, sizeof(*n));
	memmove(&pool->order[pos], &pool->order[pos + 1],
		(pool->n_nodes - pos - 1) * sizeof(pool->order[0]));
	pool->n_nodes--;
	return 0;
}

int
lbs_pool_drain(struct lbs_pool *pool, const char *name)
{
	struct node *n = pool ? find(pool, name, NULL) : NULL;

	if (n == NULL)
		return -ENOENT;
	if (!n->draining) {
		n->draining = true;
		new_epoch(pool, n);
	}
	return 0;
}

int
lbs_pool_undrain(struct lbs_pool *pool, const char *name)
{
	struct node *n = pool ? find(pool, name, NULL) : NULL;

	if (n == NULL)
		return -ENOENT;
	n->draining = false;
	return 0;
}

int
lbs_pool_health(struct lbs_pool *pool, const char *name, bool up)
{
	struct node *n = pool ? find(pool, name, NULL) : NULL;

	if (n == NULL)
		return -ENOENT;
	if (n->healthy && !up)
		new_epoch(pool, n);
	n->healthy = up;
	return 0;
}

int
lbs_pool_load(struct lbs_pool *pool, const char *name, uint32_t sessions, uint32_t msg_rate)
{
	struct node *n = pool ? find(pool, name, NULL) : NULL;

	if (n == NULL)
		return -ENOENT;
	n->sessions = sessions;
	n->msg_rate = msg_rate;
	n->recent = 0;
	return 0;
}

/* ---- the pick ---- */

static uint64_t
devid_hash(const struct lbs_pool *pool, const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ pool->seed;   /* FNV-1a, then a final mix */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool
serves(const struct node *n, uint8_t family, uint8_t proto)
{
	if (family != OSAP_FAMILY_ANY && family != n->family)
		return false;
	return proto == OSAP_PROTO_PLAIN ? n->port != 0 : n->dtls_port != 0;
}

static uint64_t
load(const struct lbs_pool *pool, const struct node *n)
{
	uint64_t l = (uint64_t)n->sessions + n->recent;

	if (pool->rate_unit)
		l += n->msg_rate / pool->rate_unit;
	return l;
}

/* The DevID's entry in its set, or the one to replace: empty, void, else least recent. */
static struct sticky *
sticky_slot(struct lbs_pool *pool, uint64_t h, const uint8_t *devid, size_t len, bool *hit)
{
	struct sticky *set = &pool->sticky[(size_t)(h & pool->set_mask) * STICKY_WAYS];
	struct sticky *victim = NULL;
	uint32_t oldest = 0;

	for (int i = 0; i < STICKY_WAYS; i++) {
		struct sticky *e = &set[i];
		const struct node *n = &pool->nodes[e->slot];
		bool live = e->epoch != 0 && n->used && n->epoch == e->epoch;
		uint32_t age = pool->stamp - e->last;

		if (e->epoch != 0 && e->tag == h && e->len == len &&
		    memcmp(e->devid, devid, len) == 0) {
			*hit = live;
			return e;
		}
		if (!live)
			age = UINT32_MAX;   /* empty or void: the first choice */
		if (victim == NULL || age > oldest) {
			victim = e;
			oldest = age;
		}
	}
	*hit = false;
	return victim;
}

int
lbs_pool_pick(struct lbs_pool *pool, const uint8_t *devid, size_t len, uint8_t family,
	      uint8_t proto, struct lbs_pool_choice *out)
{
	struct node *best = NULL;
	struct sticky *e;
	bool hit, any = false;
	uint64_t h;

	if (pool == NULL || devid == NULL || out == NULL || len == 0 || len > OSAP_ID_MAX ||
	    family > OSAP_FAMILY_IPV6 || (proto != OSAP_PROTO_PLAIN && proto != OSAP_PROTO_SECURE))
		return -EINVAL;
	h = devid_hash(pool, devid, len);
	e = sticky_slot(pool, h, devid, len, &hit);
	if (hit) {
		struct node *n = &pool->nodes[e->slot];

		if (node_state(n) == LBS_NODE_UP && serves(n, family, proto))
			best = n;
	}
	out->sticky = best != NULL;
	if (best == NULL) {
		uint64_t best_load = 0;

		for (uint32_t i = 0; i < pool->n_nodes; i++) {
			struct node *n = &pool->nodes[pool->order[i]];
			uint64_t l;

			if (!serves(n, family, proto))
				continue;
			any = true;
			if (node_state(n) != LBS_NODE_UP)
				continue;
			l = load(pool, n);
			if (best == NULL || l * best->weight < best_load * n->weight) {
				best = n;
				best_load = l;
			}
		}
		if (best == NULL)
			return any ? -EHOSTDOWN : -ENOENT;
		e->tag = h;
		e->slot = (uint16_t)(best - pool->nodes);
		e->epoch = best->epoch;
		e->len = (uint8_t)len;
		memcpy(e->devid, devid, len);
	}
	e->last = ++pool->stamp;
	best->recent++;
	best->picks++;
	out->node = (uint32_t)(best - pool->nodes);
	out->name = best->name;
	out->family = best->family;
	memcpy(out->addr, best->addr, sizeof(out->addr));
	out->port = proto == OSAP_PROTO_PLAIN ? best->port : best->dtls_port;
	return 0;
}

unsigned int
lbs_pool_list(const struct lbs_pool *pool, struct lbs_node_info *out, unsigned int max)
{
	if (pool == NULL)
		return 0;
	for (uint32_t i = 0; i < pool->n_nodes && i < max; i++) {
		const struct node *n = &pool->nodes[pool->order[i]];
		struct lbs_node_info *o = &out[i];

		memset(o, 0, sizeof(*o));
		memcpy(o->name, n->name, sizeof(o->name));
		o->family = n->family;
		memcpy(o->addr, n->addr, sizeof(o->addr));
		o->port = n->port;
		o->dtls_port = n->dtls_port;
		o->weight = n->weight;
		o->state = node_state(n);
		o->healthy = n->healthy;
		o->draining = n->draining;
		o->sessions = n->sessions;
		o->msg_rate = n->msg_rate;
		o->recent = n->recent;
		o->picks = n->picks;
	}
	return pool->n_nodes;
}
