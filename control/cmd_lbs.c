/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSAP service's commands (docs/control.md): lbs.stats, node.list,
 * node.add, node.remove, node.drain, node.undrain, node.admissions.
 * Changes to the pool last until ternd restarts: the configuration's
 * `nodes` is the pool a restart begins with.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_log.h>

#include "control/ctl.h"
#include "control/lbs/lbs.h"
#include "control/ternd.h"
#include "proto/errcode.h"
#include "dataplane/dp.h"
#include "proto/osap.h"

static json_t *
addr_json(uint8_t family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family == OSAP_FAMILY_IPV6 ? AF_INET6 : AF_INET, addr, buf,
		      sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

static int
need_lbs(char *err, size_t errlen)
{
	if (lbs_running())
		return 0;
	snprintf(err, errlen, "the LBS is not running on this instance (lbs.enabled: false)");
	return -ENOTSUP;
}

static int
cmd_lbs_stats(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct lbs_stats st;
	json_t *c, *closed;

	(void)req;
	if (need_lbs(err, errlen) < 0)
		return -ENOTSUP;
	lbs_stats_get(&st);
	c = json_object();
	closed = json_object();
	if (c == NULL || closed == NULL) {
		json_decref(c);
		json_decref(closed);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < LBS_C_MAX; i++)
		json_object_set_new(c, lbs_counter_names[i], json_integer((json_int_t)st.c[i]));
	for (unsigned int r = 1; r < LBS_SESS_R_MAX; r++)
		json_object_set_new(closed, lbs_sess_reason_name(r),
				    json_integer((json_int_t)st.closed[r]));
	*result = json_pack("{s:i, s:i, s:i, s:o, s:o}", "open", (int)st.open, "peak",
			    (int)st.peak, "admitting", (int)st.admitting, "counters", c, "closed",
			    closed);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_node_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct lbs_node_info info[64], *all = info;
	unsigned int n;
	json_t *a;

	(void)req;
	if (need_lbs(err, errlen) < 0)
		return -ENOTSUP;
	n = lbs_pool_list(lbs_pool_get(), info, 64);
	if (n > 64) {
		all = calloc(n, sizeof(*all));
		if (all == NULL)
			return -ENOMEM;
		n = lbs_pool_list(lbs_pool_get(), all, n);
	}
	a = json_array();
	for (unsigned int i = 0; a != NULL && i < n; i++) {
		const struct lbs_node_info *x = &all[i];
		const char *link = lbs_link_state(x->name);

		json_array_append_new(a, json_pack(
			"{s:s, s:o, s:i, s:i, s:s, s:b, s:b, s:s, s:i, s:i, s:I}",
			"name", x->name, "address", addr_json(x->family, x->addr), "port", x->port,
			"weight", (int)x->weight, "state", lbs_node_state_name(x->state),
			"healthy", x->healthy, "draining", x->draining,
			"link", link != NULL ? link : "local", "sessions", (int)x->sessions,
			"msg_rate", (int)x->msg_rate, "picks", (json_int_t)x->picks));
	}
	if (all != info)
		free(all);
	*result = a != NULL ? json_pack("{s:o}", "nodes", a) : NULL;
	return *result != NULL ? 0 : -ENOMEM;
}

/* "192.0.2.5:1883", "[2001:db8::5]:1883" */
static int
parse_endpoint(const char *s, struct tern_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	ep->port = (uint16_t)port;
	if (inet_pton(AF_INET, host, ep->addr) == 1)
		return 0;
	if (inet_pton(AF_INET6, host, ep->addr) == 1) {
		ep->v6 = true;
		return 0;
	}
	return -EINVAL;
}

static int
cmd_node_add(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *name, *addr, *link = NULL;
	unsigned long weight = 100;
	struct tern_endpoint ep, lep;
	struct lbs_node_conf nc;
	int rc;

	if (need_lbs(err, errlen) < 0)
		return -ENOTSUP;
	if (ctl_arg_str(req, "name", 0, &name, err, errlen) < 0 ||
	    ctl_arg_str(req, "address", 1, &addr, err, errlen) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "usage: node.add NAME ADDR:PORT --link ADDR:PORT "
				 "[--weight W]");
		return -EINVAL;
	}
	rc = ctl_arg_str(req, "link", -1, &link, err, errlen);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "node.add: --link ADDR:PORT is required (the node's "
			 "node_link address)");
		return -EINVAL;
	}
	if (rc < 0 || ctl_arg_uint(req, "weight", -1, &weight, err, errlen) == -EINVAL)
		return -EINVAL;
	if (weight < 1 || weight > LBS_POOL_WEIGHT_MAX) {
		snprintf(err, errlen, "--weight %lu: not in 1..%u", weight, LBS_POOL_WEIGHT_MAX);
		return -EINVAL;
	}
	if (parse_endpoint(addr, &ep) < 0) {
		snprintf(err, errlen, "%.64s: not ADDR:PORT (IPv6 in brackets)", addr);
		return -EINVAL;
	}
	if (parse_endpoint(link, &lep) < 0) {
		snprintf(err, errlen, "--link %.64s: not ADDR:PORT (IPv6 in brackets)", link);
		return -EINVAL;
	}
	memset(&nc, 0, sizeof(nc));
	nc.name = name;
	nc.family = ep.v6 ? OSAP_FAMILY_IPV6 : OSAP_FAMILY_IPV4;
	memcpy(nc.addr, ep.addr, sizeof(nc.addr));
	nc.port = ep.port;
	nc.weight = (uint32_t)weight;
	rc = lbs_pool_add(lbs_pool_get(), &nc);
	if (rc < 0) {
		snprintf(err, errlen, "node.add %.32s: %s", name,
			 rc == -EEXIST ? "a node has that name" :
			 rc == -EINVAL ? "name must be 1..31 characters" : tern_strerror(rc));
		return rc;
	}
	(void)lbs_pool_health(lbs_pool_get(), name, false);
	rc = lbs_link_node_add(name, &lep);
	if (rc < 0) {
		(void)lbs_pool_remove(lbs_pool_get(), name);
		snprintf(err, errlen, "node.add %.32s: %s", name,
			 rc == -ENOTSUP ? "no node link: set node_link.cert, key and ca" :
					  tern_strerror(rc));
		return rc;
	}
	TERN_LOG(NOTICE, "node.add: %s %s link %s weight %lu (uid %u)", name, addr, link, weight,
		 (unsigned int)req->uid);
	*result = json_pack("{s:s}", "name", name);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
node_change(const struct ctl_req *req, json_t **result, char *err, size_t errlen,
	    const char *what)
{
	struct lbs_pool *pool;
	const char *name;
	int rc;

	if (need_lbs(err, errlen) < 0)
		return -ENOTSUP;
	if (ctl_arg_str(req, "name", 0, &name, err, errlen) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "missing the node's name");
		return -EINVAL;
	}
	pool = lbs_pool_get();
	if (strcmp(what, "node.remove") == 0) {
		rc = lbs_pool_remove(pool, name);
		if (rc == 0)
			lbs_link_node_remove(name);
	} else if (strcmp(what, "node.drain") == 0) {
		rc = lbs_pool_drain(pool, name);
	} else {
		rc = lbs_pool_undrain(pool, name);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s %.32s: %s", what, name,
			 rc == -ENOENT ? "no such node" : tern_strerror(rc));
		return rc;
	}
	TERN_LOG(NOTICE, "%s: %s (uid %u)", what, name, (unsigned int)req->uid);
	*result = json_pack("{s:s}", "name", name);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_node_remove(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return node_change(req, result, err, errlen, "node.remove");
}

static int
cmd_node_drain(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return node_change(req, result, err, errlen, "node.drain");
}

static int
cmd_node_undrain(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return node_change(req, result, err, errlen, "node.undrain");
}

static int
admission_one(const struct dp_osap_admission *a, void *arg)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *o;

	o = json_pack("{s:s, s:b, s:b, s:i, s:i}", "devid", a->devid, "bound", a->bound,
		      "connected", a->connected, "connect_left", (int)a->connect_left_s,
		      "key_left", (int)a->key_left_s);
	if (o == NULL)
		return -ENOMEM;
	if (a->bound && inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->addr, buf, sizeof(buf)) != NULL) {
		json_object_set_new(o, "address", json_string(buf));
		json_object_set_new(o, "port", json_integer(a->port));
	}
	if (a->worker >= 0)
		json_object_set_new(o, "worker", json_integer(a->worker));
	return json_array_append_new(arg, o) < 0 ? -ENOMEM : 0;
}

static int
cmd_node_admissions(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	json_t *a = json_array();
	int rc;

	(void)req;
	if (a == NULL)
		return -ENOMEM;
	rc = dp_osap_admissions(admission_one, a);
	if (rc < 0) {
		json_decref(a);
		snprintf(err, errlen, "%s", rc == -ENOTSUP ? "the MQTT-SN node is not running" :
			 tern_strerror(rc));
		return rc;
	}
	*result = json_pack("{s:i, s:o}", "total", (int)json_array_size(a), "admissions", a);
	return *result != NULL ? 0 : -ENOMEM;
}

static const struct ctl_cmd cmd_lbs_cmds[] = {
	{ "lbs.stats", cmd_lbs_stats, CTL_ACCESS_READ, "",
	  "the LBS's connections, authentications, admissions and refusals by reason" },
	{ "node.list", cmd_node_list, CTL_ACCESS_READ, "",
	  "the access nodes: address, weight, state, link, load, picks" },
	{ "node.add", cmd_node_add, CTL_ACCESS_ADMIN, "NAME ADDR:PORT --link ADDR:PORT [--weight W]",
	  "add an access node (MQTT-SN address, node link address); it gets devices once its link answers" },
	{ "node.remove", cmd_node_remove, CTL_ACCESS_ADMIN, "NAME",
	  "remove an access node from the pool (its admitted devices stay connected there)" },
	{ "node.drain", cmd_node_drain, CTL_ACCESS_ADMIN, "NAME",
	  "send no new devices to a node; those there stay undisturbed" },
	{ "node.undrain", cmd_node_undrain, CTL_ACCESS_ADMIN, "NAME",
	  "send new devices to a drained node again" },
	{ "node.admissions", cmd_node_admissions, CTL_ACCESS_READ, "",
	  "the devices admitted at this instance: DevID, bound address, connected, time left (never keys)" },
};

void
cmd_lbs_register(void)
{
	ctl_register(cmd_lbs_cmds, sizeof(cmd_lbs_cmds) / sizeof(cmd_lbs_cmds[0]));
}
