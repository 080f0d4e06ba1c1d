/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MQTT-SN session commands: mqttsn.clients, mqttsn.client, mqttsn.kick.
 * The workers own the sessions: these ask them through dp.h
 * (dp_mqttsn_clients(), dp_mqttsn_kick()), which waits for their answers on
 * the main lcore, so a reply reflects the sessions of a few milliseconds
 * ago, not one instant across workers.
 *
 * mqttsn.clients is bounded: at most --limit rows (1000 by default), the
 * first by client id, kept in a max-heap of that many records while the
 * workers report, so even a million sessions cost O(n log limit) and
 * `limit` records.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "control/ctl.h"
#include "control/ternd.h"
#include "dataplane/dp.h"

#define MQ_LIMIT_DEFAULT 1000
#define MQ_LIMIT_MAX 100000

/* ------------------------------------------------------------------------ */
/* Shared */

/* The reply's error code for a failure of dp_mqttsn_clients()/dp_mqttsn_kick(). */
static int
cmd_mq_rc(int rc)
{
	/* a worker too slow, or stopping: the request can be tried again */
	if (rc == -ETIMEDOUT || rc == -ESHUTDOWN)
		return -EBUSY;
	return rc;
}

/* Bytes of @p s to quote in a message: at most 64, cut on a UTF-8 character boundary. */
static int
cmd_mq_quote_len(const char *s)
{
	size_t len = strlen(s), n = len < 64 ? len : 64;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

/* The client id argument (positional or --id): must be given. */
static int
cmd_mq_id(const struct ctl_req *req, const char **id, char *err, size_t errlen)
{
	int rc = ctl_arg_str(req, "id", 0, id, err, errlen);

	if (rc == -ENOENT) {
		snprintf(err, errlen, "missing argument 'id' (a client id)");
		return -EINVAL;
	}
	return rc;
}

static int
cmd_mq_limit(const struct ctl_req *req, unsigned long *limit, char *err, size_t errlen)
{
	int rc = ctl_arg_uint(req, "limit", -1, limit, err, errlen);

	if (rc == -ENOENT) {
		*limit = MQ_LIMIT_DEFAULT;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (*limit > MQ_LIMIT_MAX) {
		snprintf(err, errlen, "argument 'limit' must be 0..%u", MQ_LIMIT_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Order of the listing: client id (bytes), then address, port, worker. */
static int
cmd_mq_cmp(const struct dp_mqttsn_client *a, const struct dp_mqttsn_client *b)
{
	int c = strcmp(a->client_id, b->client_id);

	if (c != 0)
		return c;
	if (a->v6 != b->v6)
		return a->v6 ? 1 : -1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->worker != b->worker)
		return a->worker < b->worker ? -1 : 1;
	return a->session < b->session ? -1 : a->session > b->session;
}

static int
cmd_mq_qsort_cmp(const void *a, const void *b)
{
	return cmd_mq_cmp(a, b);
}

static json_t *
cmd_mq_addr(const struct dp_mqttsn_client *c)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->addr, a, sizeof(a)) == NULL)
		return json_null();
	return json_string(a);
}

static json_t *
cmd_mq_expires(const struct dp_mqttsn_client *c)
{
	/* whole seconds, rounded up: 0 only when it is due */
	return c->expires_in_ms < 0 ? json_null() :
	       json_integer((json_int_t)((c->expires_in_ms + 999) / 1000));
}

/*
 * The client id as a JSON string. Ids are whatever bytes the client sent:
 * one that is not UTF-8 shows its other bytes as \xNN.
 */
static json_t *
cmd_mq_id_json(const char *id)
{
	char buf[DP_DTLS_IDENTITY_MAX * 4 + 1];   /* client ids and DTLS identities */
	json_t *j = json_string(id);
	size_t n = 0;

	if (j != NULL)
		return j;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p < 0x80)
			buf[n++] = (char)*p;
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", *p);
	buf[n] = '\0';
	return json_string(buf);
}

/* A row of mqttsn.clients. */
static const char *
cmd_mq_state(uint8_t state)
{
	switch (state) {
	case DP_MQTTSN_ACTIVE:
		return "active";
	case DP_MQTTSN_ASLEEP:
		return "asleep";
	case DP_MQTTSN_AWAKE:
		return "awake";
	case DP_MQTTSN_DISCONNECTED:
		return "disconnected";
	case DP_MQTTSN_LOST:
		return "lost";
	default:
		return "unknown";
	}
}

static json_t *
cmd_mq_row(const struct dp_mqttsn_client *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "client_id", cmd_mq_id_json(c->client_id));
	json_object_set_new(o, "address", cmd_mq_addr(c));
	json_object_set_new(o, "port", json_integer(c->port));
	json_object_set_new(o, "state", json_string(cmd_mq_state(c->state)));
	if (c->dtls)
		json_object_set_new(o, "dtls_identity", cmd_mq_id_json(c->identity));
	if (c->wnid_len > 0) {
		char hex[2 * sizeof(c->wnid) + 1];

		for (unsigned int i = 0; i < c->wnid_len && i < sizeof(c->wnid); i++)
			snprintf(hex + 2 * i, 3, "%02x", c->wnid[i]);
		json_object_set_new(o, "node_id", json_string(hex));
	}
	json_object_set_new(o, "worker", json_integer(c->worker));
	json_object_set_new(o, "keepalive", json_integer(c->keepalive));
	json_object_set_new(o, "expires_in", cmd_mq_expires(c));
	json_object_set_new(o, "subscriptions", json_integer(c->nb_subs));
	json_object_set_new(o, "topic_ids", json_integer(c->nb_ids));
	json_object_set_new(o, "inflight", json_integer(c->inflight));
	return o;
}

/* ------------------------------------------------------------------------ */
/* mqttsn.clients */

/* The first `cap` sessions by cmd_mq_cmp, in a max-heap (the largest at the root). */
struct mq_sel {
	struct dp_mqttsn_client *heap;
	size_t n, cap;
	uint64_t total;
};

static void
cmd_mq_swap(struct dp_mqttsn_client *a, struct dp_mqttsn_client *b)
{
	struct dp_mqttsn_client t = *a;

	*a = *b;
	*b = t;
}

static void
cmd_mq_heap_down(struct mq_sel *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->n && cmd_mq_cmp(&s->heap[l], &s->heap[m]) > 0)
			m = l;
		if (r < s->n && cmd_mq_cmp(&s->heap[r], &s->heap[m]) > 0)
			m = r;
		if (m == i)
			return;
		cmd_mq_swap(&s->heap[i], &s->heap[m]);
		i = m;
	}
}

static int
cmd_mq_sel_cb(const struct dp_mqttsn_client *c, void *arg)
{
	struct mq_sel *s = arg;
	size_t i;

	s->total++;
	if (s->cap == 0)
		return 0;
	if (s->n < s->cap) {
		i = s->n++;
		s->heap[i] = *c;
		while (i > 0 && cmd_mq_cmp(&s->heap[(i - 1) / 2], &s->heap[i]) < 0) {
			cmd_mq_swap(&s->heap[(i - 1) / 2], &s->heap[i]);
			i = (i - 1) / 2;
		}
	} else if (cmd_mq_cmp(c, &s->heap[0]) < 0) {
		s->heap[0] = *c;
		cmd_mq_heap_down(s, 0);
	}
	return 0;
}

static int
cmd_mqttsn_clients(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct mq_sel s = { 0 };
	unsigned long limit;
	json_t *o, *arr;
	int rc;

	rc = cmd_mq_limit(req, &limit, err, errlen);
	if (rc < 0)
		return rc;
	s.cap = limit;
	if (s.cap > 0) {
		s.heap = malloc(sizeof(*s.heap) * s.cap);
		if (s.heap == NULL) {
			snprintf(err, errlen, "out of memory for %lu rows", limit);
			return -ENOMEM;
		}
	}
	rc = dp_mqttsn_clients(NULL, cmd_mq_sel_cb, &s, err, errlen);
	if (rc < 0) {
		free(s.heap);
		return cmd_mq_rc(rc);
	}
	if (s.n > 1)
		qsort(s.heap, s.n, sizeof(*s.heap), cmd_mq_qsort_cmp);
	arr = json_array();
	for (size_t i = 0; i < s.n; i++)
		json_array_append_new(arr, cmd_mq_row(&s.heap[i]));
	free(s.heap);
	o = json_object();
	json_object_set_new(o, "total", json_integer((json_int_t)s.total));
	json_object_set_new(o, "shown", json_integer((json_int_t)s.n));
	json_object_set_new(o, "truncated", json_boolean(s.n < s.total));
	json_object_set_new(o, "clients", arr);
	*result = o;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* mqttsn.client */

/* Every session of one client id: normally one (more after NAT rebinding). */
struct mq_one {
	struct dp_mqttsn_client best;
	unsigned int n;
};

/* The session heard from last: the one whose keep-alive runs out last. */
static bool
cmd_mq_later(const struct dp_mqttsn_client *a, const struct dp_mqttsn_client *b)
{
	if (a->expires_in_ms < 0 || b->expires_in_ms < 0)
		return a->expires_in_ms < 0 && b->expires_in_ms >= 0;
	return a->expires_in_ms > b->expires_in_ms;
}

static int
cmd_mq_one_cb(const struct dp_mqttsn_client *c, void *arg)
{
	struct mq_one *one = arg;

	if (one->n++ == 0 || cmd_mq_later(c, &one->best))
		one->best = *c;
	return 0;
}

static int
cmd_mqttsn_client(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct mq_one one = { .n = 0 };
	const struct dp_mqttsn_client *c = &one.best;
	struct dp_port_info pi;
	const char *id;
	json_t *o;
	int rc;

	rc = cmd_mq_id(req, &id, err, errlen);
	if (rc < 0)
		return rc;
	rc = dp_mqttsn_clients(id, cmd_mq_one_cb, &one, err, errlen);
	if (rc < 0)
		return cmd_mq_rc(rc);
	if (one.n == 0) {
		snprintf(err, errlen, "no client with id '%.*s' (see mqttsn.clients)",
			 cmd_mq_quote_len(id), id);
		return -ENOENT;
	}
	o = cmd_mq_row(c);
	json_object_set_new(o, "family", json_string(c->v6 ? "ipv6" : "ipv4"));
	json_object_set_new(o, "router_port", dp_port_info(c->port_idx, &pi) == 0 ?
			    json_string(pi.name) : json_null());
	json_object_set_new(o, "session", json_integer(c->session));
	json_object_set_new(o, "gen", json_integer(c->gen));
	json_object_set_new(o, "expires_in_ms", c->expires_in_ms < 0 ? json_null() :
			    json_integer((json_int_t)c->expires_in_ms));
	json_object_set_new(o, "qos2_in", json_integer(c->qos2_in));
	json_object_set_new(o, "sessions", json_integer(one.n));
	*result = o;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* mqttsn.kick */

static int
cmd_mqttsn_kick(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	unsigned int ended = 0;
	const char *id;
	int rc;

	rc = cmd_mq_id(req, &id, err, errlen);
	if (rc < 0)
		return rc;
	rc = dp_mqttsn_kick(id, &ended, err, errlen);
	if (rc < 0) {
		if (ended > 0) {
			size_t l = strlen(err);

			snprintf(err + l, errlen > l ? errlen - l : 0,
				 "; %u session(s) were ended already", ended);
		}
		return cmd_mq_rc(rc);
	}
	if (ended == 0) {
		snprintf(err, errlen, "no client with id '%.*s' (see mqttsn.clients)",
			 cmd_mq_quote_len(id), id);
		return -ENOENT;
	}
	TERN_LOG(NOTICE, "mqttsn.kick: ended %u session(s) of client '%.*s' (uid %u)",
		 ended, cmd_mq_quote_len(id), id, (unsigned int)req->uid);
	*result = json_pack("{s:s, s:i}", "client_id", id, "ended", (int)ended);
	return *result != NULL ? 0 : -ENOMEM;
}

static const struct ctl_cmd cmd_mqttsn_cmds[] = {
	{ "mqttsn.clients", cmd_mqttsn_clients, CTL_ACCESS_READ, "[--limit=N]",
	  "MQTT-SN client sessions of every worker, sorted by client id; at most N rows (1000)" },
	{ "mqttsn.client", cmd_mqttsn_client, CTL_ACCESS_READ, "ID",
	  "one MQTT-SN client's session: address, keep-alive, subscriptions, messages in flight" },
	{ "mqttsn.kick", cmd_mqttsn_kick, CTL_ACCESS_ADMIN, "ID",
	  "end an MQTT-SN client's session (DISCONNECT, subscriptions dropped)" },
};

void
cmd_mqttsn_register(void)
{
	ctl_register(cmd_mqttsn_cmds, sizeof(cmd_mqttsn_cmds) / sizeof(cmd_mqttsn_cmds[0]));
}
