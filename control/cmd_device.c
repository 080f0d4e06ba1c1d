/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSAP device registry's commands (docs/control.md): device.add,
 * device.import, device.list, device.show, device.block, device.unblock,
 * device.remove. The registry (control/lbs/registry.h) is opened at
 * start-up from the `registry` key; what it holds survives restarts.
 *
 * Nothing here ever answers a key: a device shows whether it has a session
 * key and until when, never the key, and the verification code is not
 * kept at all (only the share key derived from it).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <rte_log.h>

#include "control/ctl.h"
#include "control/lbs/lbs.h"
#include "control/lbs/registry.h"
#include "control/ternd.h"
#include "proto/osap_crypto.h"

struct lbs_reg *ternd_registry;

static const char *const state_names[] = {
	[LBS_REG_ACTIVE] = "active",
	[LBS_REG_BLOCKED] = "blocked",
};

/* mkdir -p of @p path's directory (0750), then the registry. */
int
ternd_registry_open(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "path too long");
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p != '\0'; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
				return -errno;
			}
			*p = '/';
		}
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	ternd_registry = lbs_reg_open(path, err, errlen);
	return ternd_registry != NULL ? 0 : -EIO;
}

void
ternd_registry_close(void)
{
	lbs_reg_close(ternd_registry);
	ternd_registry = NULL;
}

static json_t *
device_json(const struct lbs_reg_device *d)
{
	return json_pack("{s:s, s:s?, s:s, s:s?, s:b, s:I, s:I, s:I}",
			 "serial", d->serial,
			 "devid", d->devid[0] != '\0' ? d->devid : NULL,
			 "state", state_names[d->state],
			 "node", d->node[0] != '\0' ? d->node : NULL,
			 "session_key", d->session_expiry != 0,
			 "session_expires", (json_int_t)d->session_expiry,
			 "created", (json_int_t)d->created,
			 "last_seen", (json_int_t)d->last_seen);
}

/* The registry's error in the operator's words. */
static int
reg_fail(int rc, const char *what, const char *serial, char *err, size_t errlen)
{
	if (rc == -ENOENT)
		snprintf(err, errlen, "no device %.64s", serial);
	else if (rc == -EEXIST)
		snprintf(err, errlen, "device %.64s is already registered", serial);
	else if (rc == -EINVAL)
		snprintf(err, errlen, "%s: bad serial number or verification code (1..64 bytes each)",
			 what);
	else
		snprintf(err, errlen, "%s: registry: %s", what, lbs_reg_errmsg(ternd_registry));
	return rc;
}

static int
arg_serial(const struct ctl_req *req, const char **serial, char *err, size_t errlen)
{
	int rc = ctl_arg_str(req, "serial", 0, serial, err, errlen);

	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the serial number");
	return rc < 0 ? -EINVAL : 0;
}

static int
cmd_device_add(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct lbs_reg_device d;
	const char *serial, *code;
	int rc;

	if (arg_serial(req, &serial, err, errlen) < 0)
		return -EINVAL;
	rc = ctl_arg_str(req, "code", 1, &code, err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the verification code");
	if (rc < 0)
		return -EINVAL;
	rc = lbs_reg_add(ternd_registry, serial, code, OSAP_SHARE_KEY_ITER_DEFAULT);
	if (rc < 0)
		return reg_fail(rc, "device.add", serial, err, errlen);
	TERN_LOG(NOTICE, "device.add: %.64s (uid %u)", serial, (unsigned int)req->uid);
	rc = lbs_reg_get(ternd_registry, serial, &d);
	if (rc < 0)
		return reg_fail(rc, "device.add", serial, err, errlen);
	*result = device_json(&d);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_device_import(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *path;
	unsigned int skipped = 0;
	int skip = 0, rc;

	rc = ctl_arg_str(req, "file", 0, &path, err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the CSV file");
	if (rc < 0)
		return -EINVAL;
	if (path[0] != '/') {
		snprintf(err, errlen, "%.256s: give an absolute path (ternd reads the file)", path);
		return -EINVAL;
	}
	if (ctl_arg_bool(req, "skip-existing", &skip, err, errlen) == -EINVAL)
		return -EINVAL;
	lbs_flush();
	rc = lbs_reg_import_csv(ternd_registry, path, OSAP_SHARE_KEY_ITER_DEFAULT,
				skip ? LBS_REG_IMPORT_SKIP_EXISTING : 0, &skipped, err, errlen);
	if (rc < 0)
		return rc;
	TERN_LOG(NOTICE, "device.import: %d device(s) from %s, %u skipped (uid %u)", rc, path,
		 skipped, (unsigned int)req->uid);
	*result = json_pack("{s:i, s:i}", "imported", rc, "skipped", (int)skipped);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
list_one(const struct lbs_reg_device *d, void *arg)
{
	json_t *o = device_json(d);

	return o == NULL || json_array_append_new(arg, o) < 0 ? -ENOMEM : 0;
}

static int
cmd_device_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *prefix = NULL;
	json_t *a;
	int rc;

	if (ctl_arg_str(req, "prefix", 0, &prefix, err, errlen) == -EINVAL)
		return -EINVAL;
	a = json_array();
	if (a == NULL)
		return -ENOMEM;
	lbs_flush();   /* admissions recorded but not yet committed */
	rc = lbs_reg_list(ternd_registry, prefix, list_one, a);
	if (rc < 0) {
		json_decref(a);
		return reg_fail(rc, "device.list", "", err, errlen);
	}
	*result = json_pack("{s:i, s:o}", "total", (int)json_array_size(a), "devices", a);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_device_show(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct lbs_reg_device d;
	const char *id;
	int rc;

	rc = ctl_arg_str(req, "device", 0, &id, err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "missing the serial number or DevID");
	if (rc < 0)
		return -EINVAL;
	lbs_flush();
	rc = lbs_reg_get(ternd_registry, id, &d);
	if (rc == -ENOENT || rc == -EINVAL)
		rc = lbs_reg_get_by_devid(ternd_registry, id, &d);
	if (rc < 0)
		return reg_fail(rc == -EINVAL ? -ENOENT : rc, "device.show", id, err, errlen);
	*result = device_json(&d);
	return *result != NULL ? 0 : -ENOMEM;
}

/* device.block, device.unblock, device.remove: one serial, one change. */
static int
change(const struct ctl_req *req, json_t **result, char *err, size_t errlen,
       int (*fn)(struct lbs_reg *, const char *), const char *what)
{
	const char *serial;
	int rc;

	struct lbs_reg_device d;
	bool had;

	if (arg_serial(req, &serial, err, errlen) < 0)
		return -EINVAL;
	lbs_flush();
	had = lbs_reg_get(ternd_registry, serial, &d) == 0;
	rc = fn(ternd_registry, serial);
	if (rc < 0) {
		OPENSSL_cleanse(&d, sizeof(d));
		return reg_fail(rc, what, serial, err, errlen);
	}
	/* a blocked or removed device loses its admission at the node too */
	if (had && fn != lbs_reg_unblock && lbs_running())
		lbs_revoke(d.devid, d.node);
	OPENSSL_cleanse(&d, sizeof(d));
	TERN_LOG(NOTICE, "%s: %.64s (uid %u)", what, serial, (unsigned int)req->uid);
	*result = json_pack("{s:s}", "serial", serial);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_device_block(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return change(req, result, err, errlen, lbs_reg_block, "device.block");
}

static int
cmd_device_unblock(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return change(req, result, err, errlen, lbs_reg_unblock, "device.unblock");
}

static int
cmd_device_remove(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	return change(req, result, err, errlen, lbs_reg_remove, "device.remove");
}

static const struct ctl_cmd cmd_device_cmds[] = {
	{ "device.add", cmd_device_add, CTL_ACCESS_ADMIN, "SERIAL CODE",
	  "register a device: its serial number and verification code (only a key derived from the code is kept)" },
	{ "device.import", cmd_device_import, CTL_ACCESS_ADMIN, "FILE [--skip-existing]",
	  "register the devices of a CSV file (serial,code per line), all or none" },
	{ "device.list", cmd_device_list, CTL_ACCESS_READ, "[PREFIX]",
	  "the registered devices (serial numbers starting with PREFIX)" },
	{ "device.show", cmd_device_show, CTL_ACCESS_READ, "SERIAL|DEVID",
	  "one device: DevID, state, assigned node, session key expiry, times" },
	{ "device.block", cmd_device_block, CTL_ACCESS_ADMIN, "SERIAL",
	  "refuse the device's authentications from now on" },
	{ "device.unblock", cmd_device_unblock, CTL_ACCESS_ADMIN, "SERIAL",
	  "let a blocked device authenticate again" },
	{ "device.remove", cmd_device_remove, CTL_ACCESS_ADMIN, "SERIAL",
	  "forget the device (its DevID and keys with it)" },
};

void
cmd_device_register(void)
{
	ctl_register(cmd_device_cmds, sizeof(cmd_device_cmds) / sizeof(cmd_device_cmds[0]));
}
