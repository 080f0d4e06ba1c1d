/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topic resources of the CoAP pub/sub broker (draft-ietf-core-coap-pubsub
 * sections 2.2, 2.4.3, 2.5 and 3.1), on the control plane: the topic
 * table's only writer.
 *
 * Each topic of the table has a topic resource, <prefix>/$conf/<topic>,
 * next to its topic-data resource <prefix>/<topic>. MQTT reserves topic
 * names that start with '$' for the server (no wildcard reaches them), so
 * that level can never be a topic the data resources serve. The resource's
 * representation is built from the node when asked for: the name, the data
 * URI and the resource type follow from the name; what a client configured
 * (content format, type, expiry, subscriber limit, observer check) is the
 * node's struct topic_conf, replaced whole under RCU, so the workers read
 * it on their paths (a publication's Content-Format, a notification's CON
 * interval) without asking.
 *
 * Topics are never freed (topic_table.h): deleting one marks its
 * configuration deleted, drops its latest value and ends its CoAP
 * observations with a final 4.04 (RFC 7641 3.2). A deleted topic is
 * hidden from CoAP until something creates it again: a creation on the
 * collection, a CoAP publication, or an MQTT-SN client that registers,
 * subscribes to or publishes a will on its name (coap_topic_revive()).
 * MQTT-SN subscriptions are the MQTT-SN clients' own and stay.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_mempool.h>

#include "dataplane/coap_priv.h"
#include "dataplane/mqttsn_priv.h"
#include "proto/coap_tconf.h"
#include "proto/topic.h"

#define RT_DATA "core.ps.data"
#define URI_MAX (3 * TOPIC_NAME_MAX + DP_COAP_PREFIX_LEN + 2)

static uint32_t nb_expiring;     /* live topics with an expiration-date */
static time_t last_tick;

static bool
live(const struct topic *node)
{
	return node != NULL && (node->conf == NULL || !node->conf->deleted);
}

/*
 * The topic-data URI of topic @p name: /<prefix>/<name>, with what a URI path may
 * not hold percent-encoded (RFC 3986 3.3). @return its length (0: no room).
 */
static size_t
data_uri(const char *name, size_t nlen, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(buf, cap, "/%s/", cp->p.prefix);
	size_t len;

	if (n < 0 || (size_t)n >= cap)
		return 0;
	len = (size_t)n;
	for (size_t i = 0; i < nlen; i++) {
		unsigned char c = (unsigned char)name[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/", c) != NULL;

		if (len + (plain ? 1 : 3) >= cap)
			return 0;
		if (plain) {
			buf[len++] = (char)c;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[c >> 4];
			buf[len++] = hex[c & 15];
		}
	}
	return len;
}

/* The representation of @p node (its properties) in @p c; @p uri holds the data URI. */
static void
repr(const struct topic *node, struct coap_tconf *c, char *uri, size_t cap)
{
	const struct topic_conf *tc = node->conf;

	memset(c, 0, sizeof(*c));
	c->present = COAP_TP_BIT(COAP_TP_NAME) | COAP_TP_BIT(COAP_TP_DATA) |
		     COAP_TP_BIT(COAP_TP_RT) | COAP_TP_BIT(COAP_TP_OBS_CHECK);
	c->name = node->name;
	c->name_len = node->len;
	c->data = uri;
	c->data_len = data_uri(node->name, node->len, uri, cap);
	c->rt = RT_DATA;
	c->rt_len = strlen(RT_DATA);
	c->obs_check = tc != NULL && tc->obs_check != 0 ? tc->obs_check : CP_CON_EVERY_S;
	if (tc == NULL)
		return;
	if (tc->ct >= 0) {
		c->present |= COAP_TP_BIT(COAP_TP_CT);
		c->ct = (uint16_t)tc->ct;
	}
	if (tc->type_len > 0) {
		c->present |= COAP_TP_BIT(COAP_TP_TYPE);
		c->type = tc->type;
		c->type_len = tc->type_len;
	}
	if (tc->expires != 0) {
		c->present |= COAP_TP_BIT(COAP_TP_EXPIRES);
		c->expires = tc->expires;
	}
	if (tc->max_subs != UINT32_MAX) {
		c->present |= COAP_TP_BIT(COAP_TP_MAX_SUBS);
		c->max_subs = tc->max_subs;
	}
}

bool
coap_topic_listed(const struct topic *node, const struct coap_tconf *filter)
{
	struct coap_tconf c;
	char uri[URI_MAX];

	if (!live(node) || (node->len > 0 && node->name[0] == '$'))
		return false;
	if (filter == NULL)
		return true;
	repr(node, &c, uri, sizeof(uri));
	return coap_tconf_match(&c, filter);
}

/* Answer @p op with @p code and the properties of @p node in @p mask as its body. */
static void
answer_repr(struct mq_op *op, uint8_t code, const struct topic *node, uint32_t mask,
	    bool location)
{
	struct coap_tconf c;
	char uri[URI_MAX];
	size_t loc = location ? node->len : 0;
	int n;

	repr(node, &c, uri, sizeof(uri));
	if (loc > mq->op_room) {
		op->rc = -ENOSPC;
		return;
	}
	memmove(op->name, node->name, loc);
	n = coap_tconf_encode(&c, mask, (uint8_t *)op->name + loc, mq->op_room - loc);
	if (n < 0) {
		op->rc = n;
		return;
	}
	op->rc = code;
	op->name_len = (uint16_t)loc;
	op->data_len = (uint16_t)n;
	op->fmt = COAP_FMT_PUBSUB + 1;
}

static void
answer_code(struct mq_op *op, uint8_t code)
{
	op->rc = code;
	op->name_len = 0;
	op->data_len = 0;
	op->fmt = 0;
}

/* Is the request's payload in a format topic properties may come in? */
static bool
cbor_format(const struct mq_op *op)
{
	return op->fmt == 0 || op->fmt == COAP_FMT_PUBSUB + 1 || op->fmt == COAP_FMT_CBOR + 1;
}

/* ---- observers ---- */

struct obs_walk {
	struct topic_sub_ref *v;
	uint32_t n, cap;
};

static int
obs_collect(const char *filter, size_t flen, const struct topic_sub_ref *ref, void *arg)
{
	struct obs_walk *ow = arg;

	(void)flen;
	if (filter != NULL || !(ref->session & CP_REF_BIT))
		return 0;
	if (ow->n == ow->cap) {
		uint32_t cap = ow->cap ? ow->cap * 2 : 16;
		struct topic_sub_ref *v = realloc(ow->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		ow->v = v;
		ow->cap = cap;
	}
	ow->v[ow->n++] = *ref;
	return 0;
}

static uint32_t
obs_count(const struct topic *node)
{
	struct obs_walk ow = { 0 };

	topic_foreach_sub(mq->topics, node, obs_collect, &ow);
	free(ow.v);
	return ow.n;
}

/*
 * End the CoAP observations of @p node beyond the first @p keep: out of the
 * table now, and each observer's worker sends it a final 4.04.
 */
static void
unobserve(const struct topic *node, uint32_t keep)
{
	struct obs_walk ow = { 0 };
	struct mq_op *op;

	if (topic_foreach_sub(mq->topics, node, obs_collect, &ow) < 0)
		RTE_LOG(WARNING, USER1, "coap: out of memory listing the observers of %s\n",
			node->name);
	for (uint32_t i = keep; i < ow.n; i++) {
		topic_unsubscribe(mq->topics, node->name, node->len, &ow.v[i]);
		if (rte_mempool_get(mq->op_pool, (void **)&op) < 0)
			continue;   /* the observer learns at its next notification's RST */
		memset(op, 0, sizeof(*op));
		op->kind = MQ_OP_UNOBSERVE;
		op->proto = MQ_PROTO_COAP;
		op->worker = ow.v[i].core;
		op->session = ow.v[i].session;
		op->gen = ow.v[i].gen;
		mq_op_answer(op, ow.v[i].core);
	}
	free(ow.v);
}

int
coap_topic_admit(const struct topic *node)
{
	const struct topic_conf *tc = node->conf;

	if (tc != NULL && tc->deleted)
		return -ENOENT;
	if (tc != NULL && tc->max_subs != UINT32_MAX && obs_count(node) >= tc->max_subs)
		return -EDQUOT;
	return 0;
}

void
coap_topic_data_deleted(const struct topic *node)
{
	unobserve(node, 0);
}

/* ---- configuration ---- */

static int
set_conf(struct topic *node, const struct topic_conf *tc)
{
	bool was = node->conf != NULL && node->conf->expires != 0 && !node->conf->deleted;
	bool is = tc != NULL && tc->expires != 0 && !tc->deleted;
	int rc = topic_set_conf(mq->topics, node, tc);

	if (rc == 0)
		nb_expiring = nb_expiring - was + is;
	return rc;
}

void
coap_topic_revive(struct topic *node)
{
	if (node != NULL && node->conf != NULL && node->conf->deleted)
		set_conf(node, NULL);
}

static void
delete_topic(struct topic *node)
{
	struct topic_conf tc = { .ct = -1, .max_subs = UINT32_MAX, .deleted = 1 };

	topic_set_retained(mq->topics, node, NULL, 0, 0);
	unobserve(node, 0);
	if (set_conf(node, &tc) < 0)
		RTE_LOG(WARNING, USER1, "coap: out of memory deleting topic %s\n", node->name);
}

static bool
str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/*
 * The configuration @p d asks for, on top of @p base (iPATCH) or of the
 * defaults (POST), in @p out; @p name the topic's. The immutable properties
 * (name, data URI, resource type) may be given only with their values.
 * @return 0 or the CoAP error code to answer.
 */
static uint8_t
conf_from(const struct coap_tconf *d, const char *name, size_t name_len,
	  const struct topic_conf *base, struct topic_conf *out)
{
	char uri[URI_MAX];

	if (base != NULL) {
		*out = *base;
	} else {
		memset(out, 0, sizeof(*out));
		out->ct = -1;
		out->max_subs = UINT32_MAX;
	}
	out->deleted = 0;
	if ((d->present & COAP_TP_BIT(COAP_TP_NAME)) &&
	    !str_eq(d->name, d->name_len, name, name_len))
		return COAP_BAD_REQUEST;
	if ((d->present & COAP_TP_BIT(COAP_TP_RT)) &&
	    !str_eq(d->rt, d->rt_len, RT_DATA, strlen(RT_DATA)))
		return COAP_BAD_REQUEST;
	if (d->present & COAP_TP_BIT(COAP_TP_DATA)) {
		/* the broker hosts every topic's data itself, at the URI it chose */
		size_t n = data_uri(name, name_len, uri, sizeof(uri));

		if (!str_eq(d->data, d->data_len, uri, n))
			return COAP_BAD_REQUEST;
	}
	if (d->present & COAP_TP_BIT(COAP_TP_CT)) {
		if (d->ct == CP_NO_FMT)
			return COAP_BAD_REQUEST;
		out->ct = d->ct;
	}
	if (d->present & COAP_TP_BIT(COAP_TP_TYPE)) {
		if (d->type_len > TOPIC_CONF_TYPE_MAX)
			return COAP_BAD_REQUEST;
		memcpy(out->type, d->type, d->type_len);
		out->type_len = (uint8_t)d->type_len;
	}
	if (d->present & COAP_TP_BIT(COAP_TP_EXPIRES)) {
		if (d->expires <= (uint64_t)time(NULL))
			return COAP_BAD_REQUEST;
		out->expires = d->expires;
	}
	if (d->present & COAP_TP_BIT(COAP_TP_MAX_SUBS)) {
		if (d->max_subs == UINT32_MAX)
			return COAP_BAD_REQUEST;
		out->max_subs = d->max_subs;
	}
	if (d->present & COAP_TP_BIT(COAP_TP_OBS_CHECK))
		out->obs_check = d->obs_check;
	return 0;
}

/* POST on the collection: create a topic from its initial configuration. */
static void
create(struct mq_op *op, const uint8_t *body, size_t len)
{
	struct coap_tconf d;
	struct topic_conf tc;
	struct topic *node;
	uint8_t code;
	char name[TOPIC_NAME_MAX + 1];

	if (!cbor_format(op)) {
		answer_code(op, COAP_UNSUPPORTED_CONTENT_FORMAT);
		return;
	}
	if (coap_tconf_decode(body, len, &d) < 0 ||
	    (d.present & (COAP_TP_BIT(COAP_TP_NAME) | COAP_TP_BIT(COAP_TP_RT))) !=
	    (COAP_TP_BIT(COAP_TP_NAME) | COAP_TP_BIT(COAP_TP_RT)) ||
	    d.name_len > TOPIC_NAME_MAX || d.name_len == 0 || d.name[0] == '$' ||
	    topic_name_check(d.name, d.name_len) < 0 ||
	    ((d.present & COAP_TP_BIT(COAP_TP_INIT)) && !(d.present & COAP_TP_BIT(COAP_TP_CT)))) {
		answer_code(op, COAP_BAD_REQUEST);
		return;
	}
	/* the name lives in the request body, which the answer overwrites */
	memcpy(name, d.name, d.name_len);
	node = topic_find(mq->topics, name, d.name_len);
	if (live(node)) {
		answer_code(op, COAP_BAD_REQUEST);   /* the name is in use (2.4.3) */
		return;
	}
	code = conf_from(&d, name, d.name_len, NULL, &tc);
	if (code != 0) {
		answer_code(op, code);
		return;
	}
	node = topic_create(mq->topics, name, d.name_len);
	if (node == NULL) {
		answer_code(op, errno == ENOSPC || errno == ENOMEM ? COAP_SERVICE_UNAVAILABLE :
			    COAP_BAD_REQUEST);
		return;
	}
	if (set_conf(node, &tc) < 0) {
		answer_code(op, COAP_SERVICE_UNAVAILABLE);
		return;
	}
	/* "initialize": the first publication's value, so observers may come at once */
	if ((d.present & COAP_TP_BIT(COAP_TP_INIT)) && d.init_len > 0 &&
	    topic_set_retained_fmt(mq->topics, node, d.init, d.init_len, 0,
				   (uint16_t)(tc.ct + 1)) < 0) {
		answer_code(op, COAP_SERVICE_UNAVAILABLE);
		return;
	}
	answer_repr(op, COAP_CREATED, node, UINT32_MAX, true);
}

/* POST (replace) or iPATCH (merge) on a topic resource. */
static void
update(struct mq_op *op, struct topic *node, const uint8_t *body, size_t len, bool merge)
{
	struct coap_tconf d;
	struct topic_conf tc;
	uint8_t code;

	if (!cbor_format(op)) {
		answer_code(op, COAP_UNSUPPORTED_CONTENT_FORMAT);
		return;
	}
	if (coap_tconf_decode(body, len, &d) < 0) {
		answer_code(op, COAP_BAD_REQUEST);
		return;
	}
	code = conf_from(&d, node->name, node->len, merge ? node->conf : NULL, &tc);
	if (code != 0) {
		answer_code(op, code);
		return;
	}
	if (set_conf(node, &tc) < 0) {
		answer_code(op, COAP_SERVICE_UNAVAILABLE);
		return;
	}
	/* a lower subscriber limit ends the observations beyond it (2.5.3) */
	if (tc.max_subs != UINT32_MAX)
		unobserve(node, tc.max_subs);
	answer_repr(op, COAP_CHANGED, node, UINT32_MAX, false);
}

void
coap_topic_op(struct mq_op *op)
{
	const uint8_t *body = (const uint8_t *)op->name + op->name_len;
	size_t len = op->data_len;
	struct topic *node;
	uint32_t mask;

	if (op->name_len == 0) {
		create(op, body, len);
		return;
	}
	node = topic_find(mq->topics, op->name, op->name_len);
	if (!live(node)) {
		answer_code(op, COAP_NOT_FOUND);
		return;
	}
	switch (op->method) {
	case COAP_GET:
		answer_repr(op, COAP_CONTENT, node, UINT32_MAX, false);
		break;
	case COAP_FETCH:
		if (!cbor_format(op))
			answer_code(op, COAP_UNSUPPORTED_CONTENT_FORMAT);
		else if (coap_tconf_keys_decode(body, len, &mask) < 0)
			answer_code(op, COAP_BAD_REQUEST);
		else
			answer_repr(op, COAP_CONTENT, node, mask, false);
		break;
	case COAP_POST:
	case COAP_IPATCH:
		update(op, node, body, len, op->method == COAP_IPATCH);
		break;
	case COAP_DELETE:
		delete_topic(node);
		answer_code(op, COAP_DELETED);
		break;
	default:
		answer_code(op, COAP_METHOD_NOT_ALLOWED);
		break;
	}
}

/* ---- expiry ---- */

struct expiry_walk {
	uint64_t now;
	uint32_t *v;
	uint32_t n, cap, left;
};

static int
expiry_collect(const struct topic *node, void *arg)
{
	struct expiry_walk *ew = arg;
	const struct topic_conf *tc = node->conf;

	if (tc == NULL || tc->deleted || tc->expires == 0)
		return 0;
	if (tc->expires > ew->now) {
		ew->left++;
		return 0;
	}
	if (ew->n == ew->cap) {
		uint32_t cap = ew->cap ? ew->cap * 2 : 16;
		uint32_t *v = realloc(ew->v, cap * sizeof(*v));

		if (v == NULL)
			return 1;   /* the rest waits for the next second */
		ew->v = v;
		ew->cap = cap;
	}
	ew->v[ew->n++] = node->number;
	return 0;
}

void
coap_topic_tick(void)
{
	struct expiry_walk ew = { 0 };
	time_t now;

	if (nb_expiring == 0 || mq == NULL)
		return;
	now = time(NULL);
	if (now == last_tick)
		return;
	last_tick = now;
	ew.now = (uint64_t)now;
	topic_foreach(mq->topics, expiry_collect, &ew);
	for (uint32_t i = 0; i < ew.n; i++) {
		struct topic *node = topic_by_number(mq->topics, ew.v[i]);

		if (node != NULL) {
			RTE_LOG(INFO, USER1, "coap: topic %s expired\n", node->name);
			delete_topic(node);
		}
	}
	free(ew.v);
}
