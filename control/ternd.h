/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_TERND_H
#define TERN_CONTROL_TERND_H

/* Process-wide state of ternd that command modules read. Main lcore only. */

#include "control/config.h"

/** The running configuration snapshot. */
const struct tern_config *ternd_config(void);

/** Make @p cfg the running configuration (it takes ownership; the old one is freed). */
void ternd_config_replace(struct tern_config *cfg);

/** Keys config.reload may change (NULL-terminated); the others need a restart. */
extern const char *const tern_config_reloadable[];

/**
 * Hand the reloadable part of @p cfg (predefined topic ids, access rules) to
 * the data plane. @return 0, or -errno with a message in @p err.
 */
int ternd_apply_reloadable(const struct tern_config *cfg, char *err, size_t errlen);

/** Register coap.observers and coap.endpoints. */
void cmd_coap_register(void);

/** Register config.reload and the predefined.* commands. */
void cmd_conf_register(void);

/** Ask the event loop to stop after the current request is answered. */
void ternd_request_shutdown(const char *why);

/** The tern log type (DPDK rte_log) used by every module. */
extern int tern_logtype;

#define TERN_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, tern_logtype, "tern: " fmt "\n", ##__VA_ARGS__)

/** Register the core commands (help, status, stats, ...). */
void cmd_core_register(void);

/* cmd_device.c: the OSAP device registry and its commands */
struct lbs_reg;
extern struct lbs_reg *ternd_registry;
/** Open the registry at @p path, creating its directory (0750) if need be. */
int ternd_registry_open(const char *path, char *err, size_t errlen);
void ternd_registry_close(void);
void cmd_device_register(void);

/** Register psk.* and dtls.* (cmd_dtls.c). */
void cmd_dtls_register(void);

/** Register lbs.stats and the node.* commands (cmd_lbs.c). */
void cmd_lbs_register(void);

/** Register the topic commands (topic.list, topic.show, topic.stats). */
void cmd_topic_register(void);

/** Register the MQTT-SN session commands (mqttsn.clients, mqttsn.client, mqttsn.kick). */
void cmd_mqttsn_register(void);

/** Register the read-only statistics with DPDK telemetry. @return 0 or -errno. */
int tern_telemetry_register(void);

#endif
