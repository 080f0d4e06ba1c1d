/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The core commands: status, stats, stats.describe, port.list, log.level,
 * config.show, shutdown. They only read the data plane through dp.h (and
 * reset its counters), so they all run on the main lcore's event loop.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#include <rte_config.h>
#include <rte_log.h>

#include "control/ctl.h"
#include "control/dtls/service.h"
#include "control/lbs/lbs.h"
#include "control/ternd.h"
#include "dataplane/dp.h"

/* ------------------------------------------------------------------------ */
/* Shared renderings */

/* One port, as `status` and `port.list` show it; absent things are null. */
static json_t *
cmd_port_json(const struct dp_port_info *pi)
{
	char mac[18], addr[INET6_ADDRSTRLEN + 4], a[INET6_ADDRSTRLEN];
	json_t *o = json_object();

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 pi->mac[0], pi->mac[1], pi->mac[2], pi->mac[3], pi->mac[4], pi->mac[5]);
	json_object_set_new(o, "name", json_string(pi->name));
	json_object_set_new(o, "device", json_string(pi->device));
	json_object_set_new(o, "driver", json_string(pi->driver));
	json_object_set_new(o, "port_id", json_integer(pi->port_id));
	json_object_set_new(o, "mac", json_string(mac));
	json_object_set_new(o, "link", json_string(pi->link_up ? "up" : "down"));
	json_object_set_new(o, "speed", json_integer(pi->link_speed));
	if (pi->has_ip4 && inet_ntop(AF_INET, pi->ip4, a, sizeof(a)) != NULL) {
		snprintf(addr, sizeof(addr), "%s/%u", a, pi->ip4_prefix);
		json_object_set_new(o, "ipv4", json_string(addr));
	} else {
		json_object_set_new(o, "ipv4", json_null());
	}
	if (pi->has_ip6 && inet_ntop(AF_INET6, pi->ip6, a, sizeof(a)) != NULL) {
		snprintf(addr, sizeof(addr), "%s/%u", a, pi->ip6_prefix);
		json_object_set_new(o, "ipv6", json_string(addr));
	} else {
		json_object_set_new(o, "ipv6", json_null());
	}
	json_object_set_new(o, "rx_queues", json_integer(pi->rx_queues));
	json_object_set_new(o, "tx_queues", json_integer(pi->tx_queues));
	json_object_set_new(o, "steering", json_string(pi->rss ? "rss" : "software"));
	json_object_set_new(o, "exception", pi->exception_iface[0] ?
			    json_string(pi->exception_iface) : json_null());
	return o;
}

static json_t *
cmd_ports_json(void)
{
	json_t *arr = json_array();
	struct dp_port_info pi;

	for (unsigned int p = 0; p < dp_nb_ports(); p++)
		if (dp_port_info(p, &pi) == 0)
			json_array_append_new(arr, cmd_port_json(&pi));
	return arr;
}

/* ------------------------------------------------------------------------ */
/* status, port.list */

/*
 * The general-purpose heap (control plane, tables, sessions) is jemalloc's;
 * packet buffers are in the DPDK pool ("mbufs").
 */
static json_t *
memory_json(void)
{
	const char *version = "unknown";
	size_t allocated = 0, resident = 0, sz;
	uint64_t epoch = 1;

	sz = sizeof(epoch);
	/* statistics are cached until the epoch advances */
	(void)mallctl("epoch", &epoch, &sz, &epoch, sz);
	sz = sizeof(version);
	(void)mallctl("version", &version, &sz, NULL, 0);
	sz = sizeof(allocated);
	(void)mallctl("stats.allocated", &allocated, &sz, NULL, 0);
	sz = sizeof(resident);
	(void)mallctl("stats.resident", &resident, &sz, NULL, 0);
	return json_pack("{s:s+, s:I, s:I}", "allocator", "jemalloc ", version,
			 "allocated", (json_int_t)allocated, "resident", (json_int_t)resident);
}

static int
cmd_status(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const struct tern_config *cfg = ternd_config();
	json_t *o = json_object(), *lcores = json_array(), *l;
	struct dp_worker_info wi;

	(void)req;
	(void)err;
	(void)errlen;
	json_object_set_new(o, "version", json_string(TERN_VERSION));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime", json_integer((json_int_t)dp_uptime()));
	json_object_set_new(o, "config", cfg && cfg->source ? json_string(cfg->source)
							 : json_null());

	l = json_object();
	json_object_set_new(l, "lcore", json_integer(dp_main_lcore()));
	json_object_set_new(l, "role", json_string("control"));
	json_object_set_new(l, "worker", json_null());
	json_object_set_new(l, "rx_queues", json_integer(0));
	json_object_set_new(l, "polls_exception", json_false());
	json_array_append_new(lcores, l);
	for (unsigned int w = 0; w < dp_nb_workers(); w++) {
		if (dp_worker_info(w, &wi) != 0)
			continue;
		l = json_object();
		json_object_set_new(l, "lcore", json_integer(wi.lcore_id));
		json_object_set_new(l, "role", json_string("worker"));
		json_object_set_new(l, "worker", json_integer(wi.index));
		json_object_set_new(l, "rx_queues", json_integer(wi.nb_rx_queues));
		json_object_set_new(l, "polls_exception", json_boolean(wi.polls_exception));
		json_array_append_new(lcores, l);
	}
	json_object_set_new(o, "lcores", lcores);
	json_object_set_new(o, "ports", cmd_ports_json());
	json_object_set_new(o, "mbufs", json_pack("{s:I, s:I, s:I}",
						  "in_use", (json_int_t)dp_mbuf_in_use(),
						  "baseline", (json_int_t)dp_mbuf_baseline(),
						  "capacity", (json_int_t)dp_mbuf_capacity()));
	json_object_set_new(o, "memory", memory_json());
	*result = o;
	return 0;
}

static int
cmd_port_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)req;
	(void)err;
	(void)errlen;
	*result = cmd_ports_json();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* stats */

static void
cmd_cnt_add(struct dp_counters *sum, const struct dp_counters *c)
{
	for (unsigned int i = 0; i < DP_CNT_MAX; i++)
		sum->v[i] += c->v[i];
}

static json_t *
cmd_cnt_json(const struct dp_counters *c, int nonzero)
{
	json_t *o = json_object();
	uint64_t dropped = 0;

	for (unsigned int i = 0; i < DP_CNT_MAX; i++) {
		if (dp_cnt_is_drop(i))
			dropped += c->v[i];
		if (nonzero && c->v[i] == 0)
			continue;
		json_object_set_new(o, dp_cnt_name(i), json_integer((json_int_t)c->v[i]));
	}
	if (!nonzero || dropped != 0)
		json_object_set_new(o, "dropped", json_integer((json_int_t)dropped));
	return o;
}

static int
cmd_stats(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct dp_counters by_worker[RTE_MAX_LCORE], by_port, total, c;
	unsigned int nb_ports = dp_nb_ports(), nb_workers = dp_nb_workers();
	int reset = 0, nonzero = 0, only = -1, rc;
	struct dp_port_info pi;
	json_t *ports, *workers, *o;
	const char *name;

	rc = ctl_arg_bool(req, "reset", &reset, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = ctl_arg_bool(req, "nonzero", &nonzero, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = ctl_arg_str(req, "port", 0, &name, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		for (unsigned int p = 0; p < nb_ports; p++)
			if (dp_port_info(p, &pi) == 0 && strcmp(pi.name, name) == 0)
				only = (int)p;
		if (only < 0) {
			snprintf(err, errlen, "no port named '%s' (see port.list)", name);
			return -ENOENT;
		}
	}
	if (reset && req->access != CTL_ACCESS_ADMIN) {
		snprintf(err, errlen, "resetting counters needs admin access");
		return -EPERM;
	}
	if (nb_workers > RTE_MAX_LCORE)
		nb_workers = RTE_MAX_LCORE;

	memset(by_worker, 0, sizeof(by_worker[0]) * nb_workers);
	memset(&total, 0, sizeof(total));
	ports = json_object();
	for (unsigned int p = 0; p < nb_ports; p++) {
		if (only >= 0 && (int)p != only)
			continue;
		if (dp_port_info(p, &pi) != 0)
			continue;
		memset(&by_port, 0, sizeof(by_port));
		for (unsigned int w = 0; w < nb_workers; w++) {
			dp_counters_get(p, w, &c);
			cmd_cnt_add(&by_port, &c);
			cmd_cnt_add(&by_worker[w], &c);
		}
		cmd_cnt_add(&total, &by_port);
		json_object_set_new(ports, pi.name, cmd_cnt_json(&by_port, nonzero));
	}
	workers = json_object();
	for (unsigned int w = 0; w < nb_workers; w++) {
		char key[16];

		snprintf(key, sizeof(key), "%u", w);
		json_object_set_new(workers, key, cmd_cnt_json(&by_worker[w], nonzero));
	}
	o = json_object();
	if (lbs_running() && only < 0) {
		/* the OSAP service's counters and its closes by reason (lbs.stats) */
		struct lbs_stats st;
		json_t *l = json_object();

		lbs_stats_get(&st);
		for (unsigned int i = 0; i < LBS_C_MAX; i++)
			if (!nonzero || st.c[i] != 0)
				json_object_set_new(l, lbs_counter_names[i],
						    json_integer((json_int_t)st.c[i]));
		for (unsigned int r = 1; r < LBS_SESS_R_MAX; r++) {
			char key[48];

			if (nonzero && st.closed[r] == 0)
				continue;
			snprintf(key, sizeof(key), "closed_%s", lbs_sess_reason_name(r));
			json_object_set_new(l, key, json_integer((json_int_t)st.closed[r]));
		}
		json_object_set_new(o, "lbs", l);
	}
	if (dtls_svc_running() && only < 0) {
		/* the DTLS service's and engine's counters (dtls.stats) */
		struct dtls_svc_stats st;
		json_t *l = json_object();

		dtls_svc_stats_get(&st);
		json_object_set_new(l, "sessions", json_integer(st.sessions));
		json_object_set_new(l, "handshakes", json_integer(st.handshakes));
		for (unsigned int i = 0; i < DTLS_C_MAX; i++)
			if (!nonzero || st.engine[i] != 0)
				json_object_set_new(l, dtls_counter_name(i),
						    json_integer((json_int_t)st.engine[i]));
		for (unsigned int i = 0; i < DSVC_C_MAX; i++)
			if (!nonzero || st.svc[i] != 0)
				json_object_set_new(l, dsvc_counter_names[i],
						    json_integer((json_int_t)st.svc[i]));
		json_object_set_new(o, "dtls", l);
	}
	/* The reply carries the values from before the reset: nothing is lost. */
	if (reset) {
		dp_counters_reset();
		if (lbs_running())
			lbs_stats_reset();
		dtls_svc_stats_reset();
	}

	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "workers", workers);
	json_object_set_new(o, "total", cmd_cnt_json(&total, nonzero));
	*result = o;
	return 0;
}

static int
cmd_stats_describe(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	json_t *arr = json_array();

	(void)req;
	(void)err;
	(void)errlen;
	for (unsigned int i = 0; i < DP_CNT_MAX; i++)
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s}",
						     "name", dp_cnt_name(i),
						     "drop", dp_cnt_is_drop(i),
						     "description", dp_cnt_desc(i)));
	json_array_append_new(arr, json_pack("{s:s, s:b, s:s}",
					     "name", "dropped", "drop", 1,
					     "description", "sum of the drop counters"));
	*result = arr;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* log.level */

/* Index i is rte_log level i + 1 (RTE_LOG_EMERG is 1). */
static const char *const cmd_log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};
#define CMD_NB_LOG_LEVELS (sizeof(cmd_log_levels) / sizeof(cmd_log_levels[0]))

static json_t *
cmd_level_json(int level)
{
	if (level >= (int)RTE_LOG_EMERG && level <= (int)RTE_LOG_DEBUG)
		return json_string(cmd_log_levels[level - (int)RTE_LOG_EMERG]);
	return json_integer(level);
}

static int
cmd_log_level(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *name;
	int rc, level = -1;

	rc = ctl_arg_str(req, "level", 0, &name, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		/* One row for get and set: setting is checked here. */
		if (req->access != CTL_ACCESS_ADMIN) {
			snprintf(err, errlen, "setting the log level needs admin access");
			return -EPERM;
		}
		for (unsigned int i = 0; i < CMD_NB_LOG_LEVELS; i++)
			if (strcmp(name, cmd_log_levels[i]) == 0)
				level = (int)RTE_LOG_EMERG + (int)i;
		if (level < 0) {
			snprintf(err, errlen, "unknown log level '%s' (emerg alert crit err "
				 "warning notice info debug)", name);
			return -EINVAL;
		}
		rte_log_set_global_level(level);
		if (rte_log_set_level(tern_logtype, level) < 0) {
			snprintf(err, errlen, "cannot set the tern log level");
			return -EINVAL;
		}
	}
	*result = json_object();
	json_object_set_new(*result, "level", cmd_level_json(rte_log_get_level(tern_logtype)));
	json_object_set_new(*result, "global", cmd_level_json(rte_log_get_global_level()));
	return 0;
}

/* ------------------------------------------------------------------------ */
/* config.show, shutdown */

static int
cmd_config_show(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const struct tern_config *cfg = ternd_config();

	(void)req;
	if (cfg == NULL) {
		snprintf(err, errlen, "no configuration loaded");
		return -ENOENT;
	}
	*result = tern_config_to_json(cfg);
	return *result ? 0 : -ENOMEM;
}

static int
cmd_shutdown(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)req;
	(void)err;
	(void)errlen;
	*result = json_pack("{s:b}", "shutting_down", 1);
	/* The loop stops a little later, once this reply has been written. */
	ternd_request_shutdown("ternctl shutdown");
	return 0;
}

static const struct ctl_cmd cmd_core_cmds[] = {
	{ "status", cmd_status, CTL_ACCESS_READ, "",
	  "version, uptime, lcores, ports and mbuf use" },
	{ "stats", cmd_stats, CTL_ACCESS_READ, "[PORT] [--port=NAME] [--nonzero] [--reset]",
	  "data-plane counters per port, per worker and in total (--reset: admin)" },
	{ "stats.describe", cmd_stats_describe, CTL_ACCESS_READ, "",
	  "every counter with its description" },
	{ "port.list", cmd_port_list, CTL_ACCESS_READ, "",
	  "the ports with addresses, link and queues" },
	{ "log.level", cmd_log_level, CTL_ACCESS_READ, "[LEVEL]",
	  "show the log level, or set it (admin): emerg..debug" },
	{ "config.show", cmd_config_show, CTL_ACCESS_READ, "",
	  "the running configuration with defaults applied" },
	{ "shutdown", cmd_shutdown, CTL_ACCESS_ADMIN, "",
	  "stop ternd cleanly" },
};

void
cmd_core_register(void)
{
	ctl_register(cmd_core_cmds, sizeof(cmd_core_cmds) / sizeof(cmd_core_cmds[0]));
}
