/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: parse, check, convert, show.
 *
 * tern_config_parse() runs the libyaml pre-pass (config_yaml.c, lines and
 * what we refuse), the libcyaml load into raw string mappings
 * (config_cyaml.c), then walks the key table (config_schema.c): each value,
 * or its default, goes through its type's parse function and its row's
 * store into a fresh struct tern_config. Checks no single key can make
 * (uniqueness, keys that depend on others) come last. Only the first
 * failure is reported, as "path (line N): what is wrong".
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control/config_priv.h"
#include "proto/acl.h"
#include "proto/topic.h"

#define CFG_MAX_SIZE       (1u << 20)  /* a config file is a few KiB; refuse anything absurd */
#define CFG_ARG_MAX        1023        /* one EAL argument */

/* ------------------------------------------------------------------------ */
/* Messages */

/*
 * Record the first message only: later checks may trip over the same mistake
 * and the operator wants its cause, once.
 *
 * Values are quoted and escaped by CFG_Q, but paths carry keys as written,
 * and a quoted key may hold any character ("a\nb": 1). A message is one
 * line on a terminal or in a reply, so control characters are escaped here,
 * whatever their source.
 */
int
cfg_fail_at(struct cfg_ctx *c, const char *path, unsigned int line, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	size_t n = 0, o = 0;
	int r;

	if (c->failed)
		return -EINVAL;
	c->failed = true;
	if (c->err == NULL || c->errlen == 0)
		return -EINVAL;
	if (path != NULL && path[0] != '\0' && line)
		r = snprintf(msg, sizeof(msg), "%s (line %u): ", path, line);
	else if (path != NULL && path[0] != '\0')
		r = snprintf(msg, sizeof(msg), "%s: ", path);
	else if (line)
		r = snprintf(msg, sizeof(msg), "line %u: ", line);
	else
		r = 0;
	if (r > 0)
		n = (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	for (const char *p = msg; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		size_t w = ch < 0x20 || ch == 0x7f ? 4 : 1;

		if (o + w >= c->errlen)
			break;
		if (w == 4)
			snprintf(c->err + o, 5, "\\x%02x", ch);
		else
			c->err[o] = (char)ch;
		o += w;
	}
	c->err[o] = '\0';
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Conversion: raw strings -> struct tern_config, through the table */

static int
cfg_stored(struct cfg_ctx *c, int rc)
{
	return rc == -ENOMEM ? cfg_fail_at(c, NULL, 0, "out of memory") : rc;
}

static int
cfg_missing(struct cfg_ctx *c, const char *path, const char *parent)
{
	unsigned int pline = parent[0] != '\0' ? cfg_line(c, parent) : 0;

	/* present but null or empty: libcyaml hands both over as NULL */
	if (cfg_line(c, path))
		return cfg_fail(c, path, "a value is required (empty or null given)");
	if (pline)
		return cfg_fail_at(c, path, 0, "missing required key (in the mapping at line %u)",
				   pline);
	return cfg_fail_at(c, path, 0, "missing required key");
}

static int
cfg_convert_strlist(struct cfg_ctx *c, const struct cfg_key *k, const struct cfg_slot *slot,
		    const char *path)
{
	union cfg_val v;

	if (slot == NULL || slot->count == 0) {
		unsigned int n = 0;

		while (k->def_list[n] != NULL)
			n++;
		v.list.v = (char *const *)(uintptr_t)k->def_list;
		v.list.n = n;
		return cfg_stored(c, k->store(c, &v));
	}
	v.list.v = slot->ptr;
	v.list.n = slot->count;
	for (unsigned int i = 0; i < v.list.n; i++) {
		char ipath[CFG_PATH_LEN];
		const char *s = v.list.v[i];

		snprintf(ipath, sizeof(ipath), "%.*s[%u]", CFG_PATH_LEN - 16, path, i);
		if (s[0] == '\0')
			return cfg_fail(c, ipath, "empty argument");
		if (strlen(s) > CFG_ARG_MAX)
			return cfg_fail(c, ipath, "%s is longer than %u characters", CFG_Q(s),
					CFG_ARG_MAX);
		for (const char *p = s; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return cfg_fail(c, ipath, "%s contains a control character", CFG_Q(s));
	}
	return cfg_stored(c, k->store(c, &v));
}

static int
cfg_convert_map(struct cfg_ctx *c, const char *tpath, const struct cfg_raw *raw,
		const char *ipath)
{
	unsigned int n = 0;
	int rc = 0;

	for (size_t i = 0; i < cfg_nb_keys && rc == 0; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const struct cfg_slot *slot;
		char path[CFG_PATH_LEN];
		union cfg_val v;
		char msg[256];

		if (!cfg_is_child(k, tpath, strlen(tpath)))
			continue;
		slot = raw != NULL ? &raw->slot[n] : NULL;
		n++;
		snprintf(path, sizeof(path), "%s%s%s", ipath, ipath[0] ? "." : "",
			 cfg_leaf_name(k->path));
		switch (k->kind) {
		case CFG_MAP:
			rc = cfg_convert_map(c, k->path, slot != NULL ? slot->ptr : NULL, path);
			break;
		case CFG_STRLIST:
			rc = cfg_convert_strlist(c, k, slot, path);
			break;
		case CFG_LIST:
			if ((slot == NULL || slot->count == 0) && (k->flags & CFG_F_REQUIRED)) {
				rc = cfg_missing(c, path, ipath);
				break;
			}
			v.list.v = NULL;
			v.list.n = slot != NULL ? slot->count : 0;
			rc = cfg_stored(c, k->store(c, &v));
			for (unsigned int j = 0; rc == 0 && j < v.list.n; j++) {
				char epath[CFG_PATH_LEN];

				snprintf(epath, sizeof(epath), "%.*s[%u]", CFG_PATH_LEN - 16, path,
					 j);
				c->idx = j;
				rc = cfg_convert_map(c, k->path, &((struct cfg_raw *)slot->ptr)[j],
						     epath);
			}
			break;
		case CFG_LEAF: {
			const char *s = slot != NULL ? slot->ptr : NULL;

			if (s == NULL && (k->flags & CFG_F_REQUIRED)) {
				rc = cfg_missing(c, path, ipath);
				break;
			}
			if (s == NULL)
				s = k->def;
			if (s == NULL)
				break;  /* optional, no default: stays zero / NULL */
			if (k->type->parse(k, s, &v, msg, sizeof(msg)) < 0)
				rc = cfg_fail(c, path, "%s", msg);
			else
				rc = cfg_stored(c, k->store(c, &v));
			break;
		}
		}
	}
	return rc;
}

/* [DDDD:]BB:DD.F, as DPDK's PCI bus parses it. */
static bool
cfg_is_pci(const char *s)
{
	static const char full[] = "hhhh:hh:hh.h", shrt[] = "hh:hh.h";
	const char *pat = strlen(s) >= 12 && s[4] == ':' ? full : shrt;
	size_t n = strlen(pat);

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (pat[i] == 'h' ? !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
				      (ch >= 'A' && ch <= 'F'))
				  : ch != (unsigned char)pat[i])
			return false;
	}
	return s[n] == '\0' || s[n] == ',';
}

/* What no single key can check: uniqueness, and keys that depend on others. */
static int
cfg_check_ports(struct cfg_ctx *c)
{
	struct tern_config *cfg = c->cfg;
	bool no_pci = false;

	for (int i = 1; i < cfg->eal_argc; i++)
		no_pci |= strcmp(cfg->eal_argv[i], "--no-pci") == 0;

	for (unsigned int i = 0; i < cfg->nb_ports; i++) {
		struct dp_port_params *p = &cfg->ports[i];
		char path[64], kpath[96];

		snprintf(path, sizeof(path), "ports[%u]", i);
		if (!p->has_ip4 && !p->has_ip6)
			return cfg_fail(c, path, "no address: set ipv4, ipv6 or both");
		if (p->exception && p->exception_iface[0] == '\0') {
			char def[64];

			snprintf(def, sizeof(def), "tern-%s", p->name);
			snprintf(kpath, sizeof(kpath), "%s.name", path);
			if (strlen(def) >= sizeof(p->exception_iface))
				return cfg_fail(c, kpath, "the default exception interface name "
						"\"%s\" is longer than %zu characters; set %s."
						"exception_iface", def,
						sizeof(p->exception_iface) - 1, path);
			memcpy(p->exception_iface, def, strlen(def) + 1);
		}
		snprintf(kpath, sizeof(kpath), "%s.device", path);
		if (no_pci && cfg_is_pci(p->device))
			return cfg_fail(c, kpath, "%s is a PCI address but dpdk.args has --no-pci",
					CFG_Q(p->device));
		for (unsigned int j = 0; j < i; j++) {
			const struct dp_port_params *q = &cfg->ports[j];

			snprintf(kpath, sizeof(kpath), "%s.name", path);
			if (strcmp(p->name, q->name) == 0)
				return cfg_fail(c, kpath, "duplicate port name %s (also ports[%u])",
						CFG_Q(p->name), j);
			snprintf(kpath, sizeof(kpath), "%s.device", path);
			if (strcmp(p->device, q->device) == 0)
				return cfg_fail(c, kpath, "device %s is already ports[%u]'s",
						CFG_Q(p->device), j);
			snprintf(kpath, sizeof(kpath), "%s.exception_iface", path);
			if (p->exception && q->exception &&
			    strcmp(p->exception_iface, q->exception_iface) == 0)
				return cfg_fail(c, kpath, "exception interface %s is already "
						"ports[%u]'s", CFG_Q(p->exception_iface), j);
		}
	}
	return 0;
}

/* mqttsn.predefined: valid names, each id and each name once. */
static int
cfg_check_predef(struct cfg_ctx *c)
{
	const struct tern_config *cfg = c->cfg;

	for (unsigned int i = 0; i < cfg->nb_predef; i++) {
		const struct tern_predef *p = &cfg->predef[i];
		char kpath[64];

		snprintf(kpath, sizeof(kpath), "mqttsn.predefined[%u].topic", i);
		if (topic_name_check(p->topic, strlen(p->topic)) < 0)
			return cfg_fail(c, kpath, "%s is not a topic name (UTF-8, no '+' or '#')",
					CFG_Q(p->topic));
		for (unsigned int j = 0; j < i; j++) {
			if (strcmp(p->topic, cfg->predef[j].topic) == 0)
				return cfg_fail(c, kpath, "topic %s already has predefined id %u "
						"(mqttsn.predefined[%u])", CFG_Q(p->topic),
						cfg->predef[j].id, j);
			if (p->id == cfg->predef[j].id) {
				snprintf(kpath, sizeof(kpath), "mqttsn.predefined[%u].id", i);
				return cfg_fail(c, kpath, "id %u is already mqttsn.predefined[%u]'s",
						p->id, j);
			}
		}
	}
	return 0;
}

/* mqttsn.access: each rule as the data plane will build it (proto/acl.h). */
static int
cfg_check_access(struct cfg_ctx *c)
{
	const struct tern_config *cfg = c->cfg;

	for (unsigned int i = 0; i < cfg->nb_access; i++) {
		const struct tern_access *a = &cfg->access[i];
		struct acl_rule_spec spec = { .client = a->client, .topic = a->topic,
					      .ops = a->ops, .allow = a->allow };
		char msg[256], kpath[64];
		const char *m = msg;
		struct acl *acl;

		acl = acl_build(&spec, 1, msg, sizeof(msg));
		if (acl != NULL) {
			acl_free(acl);
			continue;
		}
		if (errno == ENOMEM)
			return cfg_fail(c, "mqttsn.access", "out of memory");
		/* acl_build names "rule 0": the key path says which */
		if (strncmp(m, "rule 0: ", 8) == 0)
			m += 8;
		snprintf(kpath, sizeof(kpath), "mqttsn.access[%u].%s", i,
			 strstr(m, "client") != NULL && strstr(m, "topic") == NULL ? "client" :
										     "topic");
		return cfg_fail(c, kpath, "%s", m);
	}
	return 0;
}

/* coap: what one key's range cannot say. */
static int
cfg_check_coap(struct cfg_ctx *c)
{
	const struct dp_coap_params *p = &c->cfg->coap;

	if (p->block_size & (p->block_size - 1))
		return cfg_fail(c, "coap.block_size", "%u is not a power of two (16, 32, ... 1024)",
				p->block_size);
	if (c->cfg->mqttsn.enabled && p->enabled && c->cfg->mqttsn.port == p->port)
		return cfg_fail(c, "coap.port", "%u is mqttsn.port too", p->port);
	return 0;
}

/* lbs, nodes, node_link: what one key's range cannot say. */
static int
cfg_check_lbs(struct cfg_ctx *c)
{
	const struct tern_config *cfg = c->cfg;
	const struct tern_node_link *l = &cfg->node_link;
	bool link = l->listening || cfg->nb_nodes > 0;

	if (cfg->lbs.enabled && cfg->lbs.tls && (cfg->lbs.cert == NULL || cfg->lbs.key == NULL))
		return cfg_fail(c, cfg->lbs.cert == NULL ? "lbs.cert" : "lbs.key",
				"required with lbs.tls true (or set lbs.tls: false for plain TCP)");
	if (cfg->lbs.enabled && cfg->lbs.port == 0 && cfg->lbs.nb_listen == 0)
		return cfg_fail(c, "lbs.port", "0 and no lbs.listen: the LBS would listen nowhere");
	if (link && (l->cert == NULL || l->key == NULL || l->ca == NULL))
		return cfg_fail(c, l->cert == NULL ? "node_link.cert" :
				   l->key == NULL ? "node_link.key" : "node_link.ca",
				"required with node_link.address or nodes (mutual TLS)");
	if (cfg->nb_nodes > 0 && !cfg->lbs.enabled)
		return cfg_fail(c, "nodes", "only the LBS uses nodes: set lbs.enabled: true");
	for (unsigned int i = 0; i < cfg->nb_nodes; i++) {
		char kpath[64];

		snprintf(kpath, sizeof(kpath), "nodes[%u].name", i);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(cfg->nodes[i].name, cfg->nodes[j].name) == 0)
				return cfg_fail(c, kpath, "%s is nodes[%u]'s name too",
						CFG_Q(cfg->nodes[i].name), j);
	}
	return 0;
}

static int
cfg_check_dtls(struct cfg_ctx *c)
{
	const struct tern_config *cfg = c->cfg;
	const struct tern_dtls *d = &cfg->dtls;
	const struct {
		const char *key;
		uint16_t port;
	} other[] = {
		{ "mqttsn.port", cfg->mqttsn.enabled ? cfg->mqttsn.port : 0 },
		{ "coap.port", cfg->coap.enabled ? cfg->coap.port : 0 },
		{ "dtls.coap_port", d->coap_port },
	};

	if (d->coap_port != 0 && !cfg->coap.enabled)
		return cfg_fail(c, "dtls.coap_port", "needs the CoAP node: set coap.enabled: true "
				"(or dtls.coap_port: 0)");
	if (d->mqttsn_port != 0 && !cfg->mqttsn.enabled)
		return cfg_fail(c, "dtls.mqttsn_port", "needs the MQTT-SN node: set mqttsn.enabled: "
				"true (or dtls.mqttsn_port: 0)");
	for (unsigned int i = 0; i < 3; i++) {
		if (other[i].port == 0)
			continue;
		if (d->coap_port == other[i].port && strcmp(other[i].key, "dtls.coap_port") != 0)
			return cfg_fail(c, "dtls.coap_port", "%u is %s too", d->coap_port,
					other[i].key);
		if (d->mqttsn_port == other[i].port)
			return cfg_fail(c, "dtls.mqttsn_port", "%u is %s too", d->mqttsn_port,
					other[i].key);
	}
	if ((d->cert == NULL) != (d->key == NULL))
		return cfg_fail(c, d->cert == NULL ? "dtls.cert" : "dtls.key",
				"dtls.cert and dtls.key go together");
	if (d->verify_client != 0 && (d->cert == NULL || d->ca == NULL))
		return cfg_fail(c, d->cert == NULL ? "dtls.cert" : "dtls.ca",
				"required with dtls.verify_client %s",
				d->verify_client == 1 ? "optional" : "required");
	for (unsigned int i = 0; i < d->nb_psk; i++) {
		char kpath[64];

		snprintf(kpath, sizeof(kpath), "dtls.psk[%u].identity", i);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(d->psk[i].identity, d->psk[j].identity) == 0)
				return cfg_fail(c, kpath, "%s is dtls.psk[%u]'s identity too",
						CFG_Q(d->psk[i].identity), j);
		if (d->psk[i].key_src != 1 && d->psk[i].key_src != 2) {
			snprintf(kpath, sizeof(kpath), "dtls.psk[%u]", i);
			return cfg_fail(c, kpath, d->psk[i].key_src == 0 ?
					"needs key (text) or key_hex" :
					"key and key_hex: give one of them");
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Public interface */

void
tern_config_free(struct tern_config *cfg)
{
	if (cfg == NULL)
		return;
	if (cfg->eal_argv != NULL)
		for (int i = 0; cfg->eal_argv[i] != NULL; i++)
			free(cfg->eal_argv[i]);
	free(cfg->eal_argv);
	free(cfg->source);
	free(cfg->ctl_socket);
	free(cfg->registry);
	free(cfg->ctl_group);
	free(cfg->log_level);
	for (unsigned int i = 0; cfg->predef != NULL && i < cfg->nb_predef; i++)
		free(cfg->predef[i].topic);
	free(cfg->predef);
	for (unsigned int i = 0; cfg->access != NULL && i < cfg->nb_access; i++) {
		free(cfg->access[i].client);
		free(cfg->access[i].topic);
	}
	free(cfg->access);
	free(cfg->lbs.listen);
	free(cfg->lbs.cert);
	free(cfg->lbs.key);
	free(cfg->dtls.cert);
	free(cfg->dtls.key);
	free(cfg->dtls.ca);
	for (unsigned int i = 0; cfg->dtls.psk != NULL && i < cfg->dtls.nb_psk; i++) {
		free(cfg->dtls.psk[i].identity);
		explicit_bzero(cfg->dtls.psk[i].key, sizeof(cfg->dtls.psk[i].key));
	}
	free(cfg->dtls.psk);
	for (unsigned int i = 0; cfg->nodes != NULL && i < cfg->nb_nodes; i++)
		free(cfg->nodes[i].name);
	free(cfg->nodes);
	free(cfg->node_link.cert);
	free(cfg->node_link.key);
	free(cfg->node_link.ca);
	free(cfg);
}

struct tern_config *
tern_config_parse(const char *yaml, size_t len, const char *name, char *err, size_t errlen)
{
	struct cfg_ctx c = { .err = err, .errlen = errlen, .yaml = yaml, .len = len };
	struct cfg_raw *raw = NULL;
	const char *nul;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (yaml == NULL) {
		cfg_fail_at(&c, NULL, 0, "no configuration text");
		return NULL;
	}
	if (len > CFG_MAX_SIZE) {
		cfg_fail_at(&c, NULL, 0, "the configuration is larger than 1 MiB (%zu bytes)", len);
		return NULL;
	}
	nul = memchr(yaml, '\0', len);
	if (nul != NULL) {
		cfg_fail_at(&c, NULL, cfg_offset_line(&c, (size_t)(nul - yaml)),
			    "NUL byte in the configuration");
		return NULL;
	}
	if (cfg_scan(&c) < 0 || cfg_cyaml_load(&c, &raw) < 0)
		goto fail;

	c.cfg = calloc(1, sizeof(*c.cfg));
	if (c.cfg == NULL) {
		cfg_fail_at(&c, NULL, 0, "out of memory");
		goto fail;
	}
	/* an empty document loads as NULL: every key is then missing */
	if (cfg_convert_map(&c, "", raw, "") < 0 || cfg_check_ports(&c) < 0 ||
	    cfg_check_predef(&c) < 0 || cfg_check_access(&c) < 0 ||
	    cfg_check_coap(&c) < 0 || cfg_check_lbs(&c) < 0 || cfg_check_dtls(&c) < 0)
		goto fail;
	if (cfg_dup(&c.cfg->source, name != NULL ? name : "<string>") < 0) {
		cfg_fail_at(&c, NULL, 0, "out of memory");
		goto fail;
	}
	cfg_cyaml_free(raw);
	cfg_locs_free(&c);
	return c.cfg;

fail:
	cfg_cyaml_free(raw);
	cfg_locs_free(&c);
	tern_config_free(c.cfg);
	return NULL;
}

struct tern_config *
tern_config_load(const char *path, char *err, size_t errlen)
{
	struct tern_config *cfg = NULL;
	size_t len = 0, cap = 16384;
	char *buf = NULL;
	int fd;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* Read to EOF rather than trust st_size: pipes and /proc files have none. */
	for (;;) {
		ssize_t r;

		if (len == cap || buf == NULL) {
			char *nb = len == cap ? realloc(buf, cap *= 2) : malloc(cap);

			if (nb == NULL) {
				if (err != NULL && errlen > 0)
					snprintf(err, errlen, "cannot read %s: out of memory",
						 path);
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CFG_MAX_SIZE) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s is larger than 1 MiB", path);
			goto out;
		}
	}
	cfg = tern_config_parse(buf, len, path, err, errlen);
out:
	free(buf);
	close(fd);
	return cfg;
}

static json_t *
cfg_json_map(const struct tern_config *cfg, const char *tpath, unsigned int idx)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < cfg_nb_keys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		json_t *v = NULL;

		if (!cfg_is_child(k, tpath, strlen(tpath)))
			continue;
		switch (k->kind) {
		case CFG_MAP:
			v = cfg_json_map(cfg, k->path, idx);
			break;
		case CFG_LIST:
			v = json_array();
			for (unsigned int j = 0; v != NULL && j < k->count(cfg); j++)
				json_array_append_new(v, cfg_json_map(cfg, k->path, j));
			break;
		case CFG_STRLIST:
		case CFG_LEAF:
			v = k->show(cfg, idx);
			break;
		}
		if (v == NULL || json_object_set_new(o, cfg_leaf_name(k->path), v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
tern_config_to_json(const struct tern_config *cfg)
{
	return cfg != NULL ? cfg_json_map(cfg, "", 0) : NULL;
}

static void
cfg_diff(json_t *a, json_t *b, const char *path, const char *const *skip, json_t *out)
{
	const char *key;
	json_t *va;

	for (unsigned int i = 0; skip != NULL && skip[i] != NULL; i++)
		if (strcmp(skip[i], path) == 0)
			return;
	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach(a, key, va) {
			char sub[CFG_PATH_LEN];

			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
			cfg_diff(va, json_object_get(b, key), sub, skip, out);
		}
		return;
	}
	if (!json_equal(a, b))
		json_array_append_new(out, json_string(path));
}

json_t *
tern_config_diff(const struct tern_config *a, const struct tern_config *b,
		 const char *const *skip)
{
	json_t *ja = tern_config_to_json(a), *jb = tern_config_to_json(b);
	json_t *out = json_array();

	if (ja == NULL || jb == NULL || out == NULL) {
		json_decref(out);
		out = NULL;
	} else {
		cfg_diff(ja, jb, "", skip, out);
	}
	json_decref(ja);
	json_decref(jb);
	return out;
}
