/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CoAP node's commands: coap.observers [TOPIC], coap.endpoints. The
 * workers own endpoints and observers; these ask them (dp_coap_observers(),
 * dp_coap_endpoints()), so a reply is a few milliseconds old. At most
 * --limit rows (1000 by default), in the order the workers report them.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl.h"
#include "control/ternd.h"
#include "dataplane/dp.h"

#define CP_LIMIT_DEFAULT 1000
#define CP_LIMIT_MAX 100000

struct cp_list {
	json_t *rows;
	unsigned long limit;
	unsigned long total;
};

static json_t *
cp_addr(const uint8_t *addr, bool v6)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof(a)) == NULL)
		return json_null();
	return json_string(a);
}

static int
cp_limit(const struct ctl_req *req, unsigned long *limit, char *err, size_t errlen)
{
	int rc = ctl_arg_uint(req, "limit", -1, limit, err, errlen);

	if (rc == -ENOENT) {
		*limit = CP_LIMIT_DEFAULT;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (*limit > CP_LIMIT_MAX) {
		snprintf(err, errlen, "--limit=%lu is out of range (0..%u)", *limit, CP_LIMIT_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
cp_rc(int rc)
{
	return rc == -ETIMEDOUT || rc == -ESHUTDOWN ? -EBUSY : rc;
}

static int
cp_obs_row(const struct dp_coap_observer *o, void *arg)
{
	struct cp_list *l = arg;
	char tok[2 * sizeof(o->token) + 1] = "";
	json_t *r;

	if (l->total++ >= l->limit)
		return 0;
	for (unsigned int i = 0; i < o->tkl && i < sizeof(o->token); i++)
		snprintf(tok + 2 * i, 3, "%02x", o->token[i]);
	r = json_object();
	json_object_set_new(r, "topic", json_string(o->topic));
	json_object_set_new(r, "address", cp_addr(o->addr, o->v6));
	json_object_set_new(r, "port", json_integer(o->port));
	json_object_set_new(r, "token", json_string(tok));
	json_object_set_new(r, "worker", json_integer(o->worker));
	json_object_set_new(r, "observe", json_integer(o->seq));
	json_object_set_new(r, "since_con", json_integer(o->since_con));
	json_object_set_new(r, "state", json_string(o->pending ? "registering" : "active"));
	if (o->topic_cut)
		json_object_set_new(r, "topic_cut", json_true());
	json_array_append_new(l->rows, r);
	return 0;
}

static int
cp_ep_row(const struct dp_coap_endpoint *e, void *arg)
{
	struct cp_list *l = arg;
	struct dp_port_info pi;
	json_t *r;

	if (l->total++ >= l->limit)
		return 0;
	r = json_object();
	json_object_set_new(r, "address", cp_addr(e->addr, e->v6));
	json_object_set_new(r, "port", json_integer(e->port));
	json_object_set_new(r, "router_port", dp_port_info(e->port_idx, &pi) == 0 ?
			    json_string(pi.name) : json_null());
	json_object_set_new(r, "worker", json_integer(e->worker));
	json_object_set_new(r, "observers", json_integer(e->observers));
	json_object_set_new(r, "remembered", json_integer(e->dedup));
	json_object_set_new(r, "con_inflight", json_boolean(e->con_inflight));
	json_object_set_new(r, "idle_s", json_integer((json_int_t)(e->idle_ms / 1000)));
	json_array_append_new(l->rows, r);
	return 0;
}

static json_t *
cp_result(struct cp_list *l, const char *what)
{
	json_t *o = json_object();

	json_object_set_new(o, "total", json_integer((json_int_t)l->total));
	json_object_set_new(o, "shown", json_integer((json_int_t)json_array_size(l->rows)));
	json_object_set_new(o, "truncated", json_boolean(json_array_size(l->rows) < l->total));
	json_object_set_new(o, what, l->rows);
	return o;
}

static int
cmd_coap_observers(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct cp_list l = { .rows = json_array() };
	const char *topic = NULL;
	int rc;

	rc = cp_limit(req, &l.limit, err, errlen);
	if (rc == 0) {
		rc = ctl_arg_str(req, "topic", 0, &topic, err, errlen);
		if (rc == -ENOENT) {
			topic = NULL;
			rc = 0;
		}
	}
	if (rc == 0)
		rc = cp_rc(dp_coap_observers(topic, cp_obs_row, &l, err, errlen));
	if (rc < 0) {
		json_decref(l.rows);
		return rc;
	}
	*result = cp_result(&l, "observers");
	return 0;
}

static int
cmd_coap_endpoints(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct cp_list l = { .rows = json_array() };
	int rc;

	rc = cp_limit(req, &l.limit, err, errlen);
	if (rc == 0)
		rc = cp_rc(dp_coap_endpoints(cp_ep_row, &l, err, errlen));
	if (rc < 0) {
		json_decref(l.rows);
		return rc;
	}
	*result = cp_result(&l, "endpoints");
	return 0;
}

static const struct ctl_cmd cmd_coap_cmds[] = {
	{ "coap.observers", cmd_coap_observers, CTL_ACCESS_READ, "[TOPIC] [--limit=N]",
	  "CoAP observe registrations (of TOPIC only): observer, token, Observe number, worker" },
	{ "coap.endpoints", cmd_coap_endpoints, CTL_ACCESS_READ, "[--limit=N]",
	  "CoAP peers the node remembers: observers, requests kept for de-duplication, CON in flight" },
};

void
cmd_coap_register(void)
{
	ctl_register(cmd_coap_cmds, sizeof(cmd_coap_cmds) / sizeof(cmd_coap_cmds[0]));
}
