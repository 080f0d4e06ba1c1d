/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The read-only statistics, registered with DPDK telemetry so that
 * `dpdk-telemetry.py -f PREFIX` shows them next to the ethdev and mempool
 * endpoints:
 *
 *   /tern/status              version, uptime, workers, ports, mbufs
 *   /tern/ports               list of port names
 *   /tern/stats               total counters (all ports, all workers)
 *   /tern/port_stats,NAME     one port's counters (all workers)
 *
 * Threading: these callbacks run on DPDK's telemetry thread, not on the
 * main lcore that dp.h is written for. They only read: the port table and
 * worker count are fixed after dp_setup() (snapshots that never change while
 * the workers run), and dp_counters_get() reads the per-worker values that
 * the workers publish once per burst, at worst one burst stale. A counter
 * reset done by ternctl concurrently can at worst make one reply mix old and
 * new values; nothing here writes shared state.
 */

#include <errno.h>
#include <string.h>

#include <rte_telemetry.h>

#include "control/ternd.h"
#include "dataplane/dp.h"

static void
tel_counters(struct rte_tel_data *d, int only_port)
{
	struct dp_counters sum, c;
	uint64_t dropped = 0;

	memset(&sum, 0, sizeof(sum));
	for (unsigned int p = 0; p < dp_nb_ports(); p++) {
		if (only_port >= 0 && (int)p != only_port)
			continue;
		for (unsigned int w = 0; w < dp_nb_workers(); w++) {
			dp_counters_get(p, w, &c);
			for (unsigned int i = 0; i < DP_CNT_MAX; i++)
				sum.v[i] += c.v[i];
		}
	}
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < DP_CNT_MAX; i++) {
		if (dp_cnt_is_drop(i))
			dropped += sum.v[i];
		rte_tel_data_add_dict_u64(d, dp_cnt_name(i), sum.v[i]);
	}
	rte_tel_data_add_dict_u64(d, "dropped", dropped);
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	tel_counters(d, -1);
	return 0;
}

static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_port_info pi;

	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (unsigned int p = 0; p < dp_nb_ports(); p++)
		if (dp_port_info(p, &pi) == 0)
			rte_tel_data_add_array_string(d, pi.name);
	return 0;
}

static int
tel_port_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_port_info pi;

	(void)cmd;
	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	for (unsigned int p = 0; p < dp_nb_ports(); p++) {
		if (dp_port_info(p, &pi) == 0 && strcmp(pi.name, params) == 0) {
			tel_counters(d, (int)p);
			return 0;
		}
	}
	return -ENOENT;
}

static int
tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", TERN_VERSION);
	rte_tel_data_add_dict_u64(d, "uptime", (uint64_t)dp_uptime());
	rte_tel_data_add_dict_u64(d, "workers", dp_nb_workers());
	rte_tel_data_add_dict_u64(d, "ports", dp_nb_ports());
	rte_tel_data_add_dict_u64(d, "mbufs_in_use", dp_mbuf_in_use());
	rte_tel_data_add_dict_u64(d, "mbufs_capacity", dp_mbuf_capacity());
	return 0;
}

int
tern_telemetry_register(void)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} rows[] = {
		{ "/tern/status", tel_status,
		  "tern version, uptime, workers, ports and mbuf use. No parameters" },
		{ "/tern/ports", tel_ports, "List of tern port names. No parameters" },
		{ "/tern/stats", tel_stats,
		  "tern data-plane counters summed over all ports and workers. No parameters" },
		{ "/tern/port_stats", tel_port_stats,
		  "tern data-plane counters of one port. Parameters: port name" },
	};

	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int rc = rte_telemetry_register_cmd(rows[i].cmd, rows[i].fn, rows[i].help);

		if (rc < 0)
			return rc;
	}
	return 0;
}
