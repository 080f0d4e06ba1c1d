/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN node's reloadable configuration: the predefined topic ids and
 * the topic access rules (proto/acl.h).
 *
 * The table is an immutable version published with rcu_assign_pointer() by
 * the main lcore (its only writer) and read by the workers between two
 * quiescent states; a replaced version is freed by call_rcu(). It maps ids
 * to topic nodes both ways: by id for PUBLISH and SUBSCRIBE with a
 * predefined id, by node for a delivery to a client that has no registered
 * id for the topic (it then gets the predefined id and no REGISTER). Topic
 * nodes live as long as the topic table, so a worker may keep one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>
#include <urcu/compiler.h>

#include "dataplane/mqttsn_priv.h"
#include "proto/acl.h"
#include "proto/topic.h"

struct mq_predef_ent {
	uint16_t id;
	struct topic *node;
};

struct mq_predef {
	struct rcu_head rcu;
	uint32_t n;
	struct mq_predef_ent *by_node;        /* [n], sorted by node address */
	struct mq_predef_ent by_id[];         /* [n], sorted by id; then by_node's */
};

/* ---- readers (workers) ---- */

struct topic *
mq_predef_node(uint16_t id)
{
	const struct mq_predef *p = rcu_dereference(mq->predef);
	uint32_t lo = 0, hi;

	if (p == NULL)
		return NULL;
	hi = p->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (p->by_id[mid].id == id)
			return p->by_id[mid].node;
		if (p->by_id[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint16_t
mq_predef_id(const struct topic *node)
{
	const struct mq_predef *p = rcu_dereference(mq->predef);
	uint32_t lo = 0, hi;

	if (p == NULL)
		return 0;
	hi = p->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (p->by_node[mid].node == node)
			return p->by_node[mid].id;
		if ((uintptr_t)p->by_node[mid].node < (uintptr_t)node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* ---- the writer (main lcore) ---- */

static int
by_id_cmp(const void *a, const void *b)
{
	const struct mq_predef_ent *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int
by_node_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct mq_predef_ent *)a)->node;
	uintptr_t y = (uintptr_t)((const struct mq_predef_ent *)b)->node;

	return (x > y) - (x < y);
}

static void
predef_free_cb(struct rcu_head *head)
{
	free(caa_container_of(head, struct mq_predef, rcu));
}

/* Publish @p p (may be NULL) and retire the version it replaces. */
static void
predef_publish(struct mq_predef *p)
{
	bool was_offline = !rcu_read_ongoing();
	struct mq_predef *old;

	if (was_offline)
		rcu_thread_online();
	old = mq->predef;
	rcu_assign_pointer(mq->predef, p);
	if (old != NULL)
		call_rcu(&old->rcu, predef_free_cb);
	if (was_offline)
		rcu_thread_offline();
}

int
dp_mqttsn_predefined_set(const struct dp_mqttsn_predef *v, unsigned int n, char *err,
			 size_t errlen)
{
	struct mq_predef *p;

	if (mq == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running");
		return -ENOTSUP;
	}
	if (n > DP_MQTTSN_PREDEF_MAX) {
		snprintf(err, errlen, "%u predefined topic ids: at most %u", n,
			 DP_MQTTSN_PREDEF_MAX);
		return -ENOSPC;
	}
	p = malloc(sizeof(*p) + 2 * (n + 1) * sizeof(p->by_id[0]));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->n = n;
	p->by_node = p->by_id + n;
	for (unsigned int i = 0; i < n; i++) {
		size_t len = strlen(v[i].topic);

		if (v[i].id == 0 || v[i].id == 0xffff) {
			snprintf(err, errlen, "topic id %u is reserved (0x0000 and 0xffff are)",
				 v[i].id);
			free(p);
			return -EINVAL;
		}
		if (topic_name_check(v[i].topic, len) < 0) {
			snprintf(err, errlen, "\"%.64s\" is not a topic name", v[i].topic);
			free(p);
			return -EINVAL;
		}
		p->by_id[i].id = v[i].id;
		p->by_id[i].node = topic_create(mq->topics, v[i].topic, len);
		if (p->by_id[i].node == NULL) {
			snprintf(err, errlen, "cannot create topic \"%.64s\": %s", v[i].topic,
				 errno == ENOSPC ? "the topic table is full (mqttsn.max_topics)" :
						   strerror(errno));
			free(p);
			return -errno;
		}
	}
	qsort(p->by_id, n, sizeof(p->by_id[0]), by_id_cmp);
	memcpy(p->by_node, p->by_id, n * sizeof(p->by_id[0]));
	qsort(p->by_node, n, sizeof(p->by_node[0]), by_node_cmp);
	for (unsigned int i = 1; i < n; i++) {
		if (p->by_id[i].id == p->by_id[i - 1].id) {
			snprintf(err, errlen, "topic id %u is given twice", p->by_id[i].id);
			free(p);
			return -EEXIST;
		}
		if (p->by_node[i].node == p->by_node[i - 1].node) {
			snprintf(err, errlen, "topic \"%.64s\" is given two ids (%u and %u)",
				 p->by_node[i].node->name, p->by_node[i - 1].id,
				 p->by_node[i].id);
			free(p);
			return -EEXIST;
		}
	}
	predef_publish(p);
	return 0;
}

int
dp_mqttsn_predefined_list(dp_mqttsn_predef_fn cb, void *arg)
{
	const struct mq_predef *p;
	int r = 0;

	if (mq == NULL)
		return -ENOTSUP;
	/* the writer's own thread: the version cannot change under it */
	p = mq->predef;
	for (uint32_t i = 0; p != NULL && i < p->n && r == 0; i++)
		r = cb(p->by_id[i].id, p->by_id[i].node->name, arg);
	return r;
}

/* The current table as specs, plus room for one more; NULL on ENOMEM. */
static struct dp_mqttsn_predef *
predef_specs(unsigned int *n)
{
	const struct mq_predef *p = mq->predef;
	struct dp_mqttsn_predef *v;

	*n = p != NULL ? p->n : 0;
	v = calloc(*n + 1, sizeof(*v));
	for (uint32_t i = 0; v != NULL && i < *n; i++) {
		v[i].id = p->by_id[i].id;
		v[i].topic = p->by_id[i].node->name;
	}
	return v;
}

int
dp_mqttsn_predefined_add(uint16_t id, const char *topic, char *err, size_t errlen)
{
	struct dp_mqttsn_predef *v;
	unsigned int n;
	int r;

	if (mq == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running");
		return -ENOTSUP;
	}
	v = predef_specs(&n);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].id == id) {
			snprintf(err, errlen, "topic id %u is already predefined, for \"%.64s\" "
				 "(predefined.remove it first)", id, v[i].topic);
			free(v);
			return -EEXIST;
		}
		if (strcmp(v[i].topic, topic) == 0) {
			snprintf(err, errlen, "topic \"%.64s\" already has predefined id %u", topic,
				 v[i].id);
			free(v);
			return -EEXIST;
		}
	}
	v[n].id = id;
	v[n].topic = topic;
	r = dp_mqttsn_predefined_set(v, n + 1, err, errlen);
	free(v);
	return r;
}

int
dp_mqttsn_predefined_remove(uint16_t id, char *err, size_t errlen)
{
	struct dp_mqttsn_predef *v;
	unsigned int n, k = 0;
	int r;

	if (mq == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running");
		return -ENOTSUP;
	}
	v = predef_specs(&n);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++)
		if (v[i].id != id)
			v[k++] = v[i];
	if (k == n) {
		snprintf(err, errlen, "topic id %u is not predefined", id);
		free(v);
		return -ENOENT;
	}
	r = dp_mqttsn_predefined_set(v, k, err, errlen);
	free(v);
	return r;
}

/* ---- access rules ---- */

struct mq_access {
	struct rcu_head rcu;
	struct acl *acl;
};

static void
access_free_cb(struct rcu_head *head)
{
	struct mq_access *a = caa_container_of(head, struct mq_access, rcu);

	acl_free(a->acl);
	free(a);
}

int
dp_mqttsn_access_set(const struct dp_mqttsn_access *v, unsigned int n, char *err, size_t errlen)
{
	struct acl_rule_spec *specs = NULL;
	struct mq_access *a = NULL, *old;
	bool was_offline;

	if (mq == NULL) {
		snprintf(err, errlen, "the MQTT-SN node is not running");
		return -ENOTSUP;
	}
	if (n > 0) {
		specs = calloc(n, sizeof(*specs));
		a = malloc(sizeof(*a));
		if (specs == NULL || a == NULL) {
			free(specs);
			free(a);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (unsigned int i = 0; i < n; i++)
			specs[i] = (struct acl_rule_spec){ .client = v[i].client,
							   .topic = v[i].topic,
							   .ops = v[i].ops, .allow = v[i].allow,
							   .transport = v[i].transport };
		a->acl = acl_build(specs, n, err, errlen);
		free(specs);
		if (a->acl == NULL) {
			int e = errno == ENOMEM ? -ENOMEM : -EINVAL;

			free(a);
			return e;
		}
	}
	was_offline = !rcu_read_ongoing();
	if (was_offline)
		rcu_thread_online();
	old = mq->access;
	rcu_assign_pointer(mq->access, a);
	/* sessions' remembered verdicts are stale from now on */
	__atomic_add_fetch(&mq->access_gen, 1, __ATOMIC_RELEASE);
	if (old != NULL)
		call_rcu(&old->rcu, access_free_cb);
	if (was_offline)
		rcu_thread_offline();
	return 0;
}

bool
mq_access_check(const struct mq_sess *s, enum acl_op op, const char *topic, size_t len)
{
	const struct mq_access *a = rcu_dereference(mq->access);

	if (a == NULL)
		return true;
	if (s == NULL)
		return acl_check(a->acl, "", 0, op, topic, len);
	/* over DTLS, the identity the handshake proved; else the client id */
	if (s->ident != NULL)
		return acl_check(a->acl, s->ident->s, s->ident->len, op | ACL_OVER_DTLS, topic, len);
	return acl_check(a->acl, s->client_id, s->client_id_len, op, topic, len);
}

bool
mq_access_publish(struct mq_sess *s, const struct topic *node)
{
	uint32_t gen;

	if (rcu_dereference(mq->access) == NULL)
		return true;
	if (s == NULL)
		return mq_access_check(NULL, ACL_PUBLISH, node->name, node->len);
	/* a client publishes to few topics: the last verdict saves the rule walk */
	gen = __atomic_load_n(&mq->access_gen, __ATOMIC_ACQUIRE);
	if (s->acl_node != node || s->acl_gen != gen) {
		s->acl_ok = mq_access_check(s, ACL_PUBLISH, node->name, node->len);
		s->acl_node = node;
		s->acl_gen = gen;
	}
	return s->acl_ok;
}

void
mq_conf_teardown(void)
{
	struct mq_predef *p = mq->predef;
	struct mq_access *a = mq->access;

	/* the workers are stopped: nobody reads them any more */
	mq->predef = NULL;
	free(p);
	mq->access = NULL;
	if (a != NULL) {
		acl_free(a->acl);
		free(a);
	}
}
