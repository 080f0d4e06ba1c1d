/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reloadable part of the configuration and its commands:
 * config.reload, predefined.list, predefined.add, predefined.remove.
 *
 * Reloadable keys are those the data plane can take while it runs:
 * mqttsn.predefined and mqttsn.access (tern_config_reloadable[]). A reload
 * reads the file ternd was started with again; if any other key changed it
 * refuses, names those keys and changes nothing (they need a restart), so
 * the running configuration (config.show) is always the one in effect.
 * predefined.add/remove change the running table only: the next reload
 * puts back the file's.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "control/ctl.h"
#include "control/ternd.h"
#include "dataplane/dp.h"
#include "proto/topic.h"

const char *const tern_config_reloadable[] = {
	"mqttsn.predefined", "mqttsn.access", NULL,
};

int
ternd_apply_reloadable(const struct tern_config *cfg, char *err, size_t errlen)
{
	struct dp_mqttsn_predef *pv = NULL;
	struct dp_mqttsn_access *av = NULL;
	int rc = 0;

	if (!cfg->mqttsn.enabled)
		return 0;
	if (cfg->nb_predef > 0)
		pv = calloc(cfg->nb_predef, sizeof(*pv));
	if (cfg->nb_access > 0)
		av = calloc(cfg->nb_access, sizeof(*av));
	if ((cfg->nb_predef > 0 && pv == NULL) || (cfg->nb_access > 0 && av == NULL)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < cfg->nb_predef; i++)
		pv[i] = (struct dp_mqttsn_predef){ .id = cfg->predef[i].id,
						   .topic = cfg->predef[i].topic };
	for (unsigned int i = 0; i < cfg->nb_access; i++)
		av[i] = (struct dp_mqttsn_access){ .client = cfg->access[i].client,
						   .topic = cfg->access[i].topic,
						   .ops = cfg->access[i].ops,
						   .allow = cfg->access[i].allow,
						   .transport = cfg->access[i].transport };
	/* access rules first: they can only fail on memory; predefined ids may on limits */
	rc = dp_mqttsn_access_set(av, cfg->nb_access, err, errlen);
	if (rc == 0)
		rc = dp_mqttsn_predefined_set(pv, cfg->nb_predef, err, errlen);
out:
	free(pv);
	free(av);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* config.reload */

static int
cmd_config_reload(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const struct tern_config *cur = ternd_config();
	struct tern_config *cfg;
	json_t *changed;
	char msg[512];
	int rc;

	if (cur == NULL || cur->source == NULL || strcmp(cur->source, "<built-in>") == 0) {
		snprintf(err, errlen, "ternd runs its built-in configuration (no -c FILE): "
			 "there is no file to reload");
		return -ENOENT;
	}
	cfg = tern_config_load(cur->source, msg, sizeof(msg));
	if (cfg == NULL) {
		snprintf(err, errlen, "%s; nothing changed", msg);
		return -EINVAL;
	}
	changed = tern_config_diff(cur, cfg, tern_config_reloadable);
	if (changed == NULL) {
		tern_config_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (json_array_size(changed) > 0) {
		size_t n = (size_t)snprintf(err, errlen, "%s: ", cur->source);

		for (size_t i = 0; i < json_array_size(changed) && n < errlen; i++)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "",
					      json_string_value(json_array_get(changed, i)));
		if (n < errlen)
			snprintf(err + n, errlen - n, " changed: only %s can be reloaded, the "
				 "others need a restart; nothing changed",
				 "mqttsn.predefined and mqttsn.access");
		json_decref(changed);
		tern_config_free(cfg);
		return -EINVAL;
	}
	json_decref(changed);
	rc = ternd_apply_reloadable(cfg, msg, sizeof(msg));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s; the running configuration is unchanged",
			 cur->source, msg);
		/* the access rules may have been applied: put the running ones back */
		(void)ternd_apply_reloadable(cur, msg, sizeof(msg));
		tern_config_free(cfg);
		return rc;
	}
	TERN_LOG(NOTICE, "config.reload: %s: %u predefined topic id(s), %u access rule(s) "
		 "(uid %u)", cfg->source, cfg->nb_predef, cfg->nb_access, (unsigned int)req->uid);
	*result = json_pack("{s:s, s:i, s:i}", "source", cfg->source, "predefined",
			    (int)cfg->nb_predef, "access_rules", (int)cfg->nb_access);
	ternd_config_replace(cfg);
	return *result != NULL ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* predefined.* */

static int
cmd_predef_row(uint16_t id, const char *topic, void *arg)
{
	json_array_append_new(arg, json_pack("{s:i, s:s}", "id", (int)id, "topic", topic));
	return 0;
}

static int
cmd_predef_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	json_t *a = json_array();
	int rc;

	(void)req;
	if (a == NULL)
		return -ENOMEM;
	rc = dp_mqttsn_predefined_list(cmd_predef_row, a);
	if (rc < 0) {
		json_decref(a);
		snprintf(err, errlen, "the MQTT-SN node is not running (mqttsn.enabled)");
		return rc;
	}
	*result = a;
	return 0;
}

static int
cmd_predef_id(const struct ctl_req *req, uint16_t *id, char *err, size_t errlen)
{
	unsigned long v;
	int rc = ctl_arg_uint(req, "id", 0, &v, err, errlen);

	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the topic id");
	if (rc < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	if (v < 1 || v > 0xfffe) {
		snprintf(err, errlen, "topic id %lu is out of range (1..65534)", v);
		return -EINVAL;
	}
	*id = (uint16_t)v;
	return 0;
}

static int
cmd_predef_add(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *topic;
	uint16_t id;
	int rc;

	rc = cmd_predef_id(req, &id, err, errlen);
	if (rc < 0)
		return rc;
	rc = ctl_arg_str(req, "topic", 1, &topic, err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the topic name");
	if (rc < 0)
		return -EINVAL;
	if (topic_name_check(topic, strlen(topic)) < 0) {
		snprintf(err, errlen, "\"%.64s\" is not a topic name (UTF-8, no '+' or '#')",
			 topic);
		return -EINVAL;
	}
	rc = dp_mqttsn_predefined_add(id, topic, err, errlen);
	if (rc < 0)
		return rc;
	TERN_LOG(NOTICE, "predefined.add: topic id %u = \"%.64s\" (uid %u)", id, topic,
		 (unsigned int)req->uid);
	*result = json_pack("{s:i, s:s}", "id", (int)id, "topic", topic);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_predef_remove(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	uint16_t id;
	int rc;

	rc = cmd_predef_id(req, &id, err, errlen);
	if (rc < 0)
		return rc;
	rc = dp_mqttsn_predefined_remove(id, err, errlen);
	if (rc < 0)
		return rc;
	TERN_LOG(NOTICE, "predefined.remove: topic id %u (uid %u)", id, (unsigned int)req->uid);
	*result = json_pack("{s:i}", "id", (int)id);
	return *result != NULL ? 0 : -ENOMEM;
}

static const struct ctl_cmd cmd_conf_cmds[] = {
	{ "config.reload", cmd_config_reload, CTL_ACCESS_ADMIN, "",
	  "read the configuration file again and apply mqttsn.predefined and mqttsn.access "
	  "(refused, naming them, if other keys changed)" },
	{ "predefined.list", cmd_predef_list, CTL_ACCESS_READ, "",
	  "the MQTT-SN predefined topic ids" },
	{ "predefined.add", cmd_predef_add, CTL_ACCESS_ADMIN, "ID TOPIC",
	  "predefine topic id ID for TOPIC (until the next config.reload or restart)" },
	{ "predefined.remove", cmd_predef_remove, CTL_ACCESS_ADMIN, "ID",
	  "remove predefined topic id ID (until the next config.reload or restart)" },
};

void
cmd_conf_register(void)
{
	ctl_register(cmd_conf_cmds, sizeof(cmd_conf_cmds) / sizeof(cmd_conf_cmds[0]));
}
