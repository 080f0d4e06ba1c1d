/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: one table, three uses.
 *
 * cfg_keys[] below lists every key once: its path, kind, type, default,
 * range and description. From that table the configuration module builds the
 * libcyaml schema (config_cyaml.c), converts and checks the loaded values and
 * renders the effective configuration as JSON (config.c), and this file
 * prints the Markdown table that docs/configuration.md contains (a unit test
 * compares the two), so a key cannot be added without its documentation, nor
 * documented without being parsed.
 *
 * Each leaf row names its type (config_types.c), a store that puts the
 * converted value into struct tern_config and a show that reads it back for
 * the JSON view; both are here, next to their rows.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config_priv.h"

#define CFG_MAX_RX_QUEUES  16

/* ------------------------------------------------------------------------ */
/* Stores (value -> struct tern_config) and shows (struct -> JSON) */

static int
cfg_store_args(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_config *cfg = c->cfg;

	cfg->eal_argv = calloc(v->list.n + 2, sizeof(char *));
	if (cfg->eal_argv == NULL)
		return -ENOMEM;
	if (cfg_dup(&cfg->eal_argv[0], "ternd") < 0)
		return -ENOMEM;
	cfg->eal_argc = 1;
	for (unsigned int i = 0; i < v->list.n; i++) {
		if (cfg_dup(&cfg->eal_argv[i + 1], v->list.v[i]) < 0)
			return -ENOMEM;
		cfg->eal_argc++;
	}
	return 0;
}

static json_t *
cfg_show_args(const struct tern_config *cfg, unsigned int idx)
{
	json_t *a = json_array();

	(void)idx;
	for (int i = 1; a != NULL && i < cfg->eal_argc; i++)
		json_array_append_new(a, json_string(cfg->eal_argv[i]));
	return a;
}

static int
cfg_store_ports(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nb_ports = v->list.n;
	return 0;
}

static unsigned int
cfg_count_ports(const struct tern_config *cfg)
{
	return cfg->nb_ports;
}

#define CFG_PORT(c) (&(c)->cfg->ports[(c)->idx])

static int
cfg_store_port_name(struct cfg_ctx *c, const union cfg_val *v)
{
	snprintf(CFG_PORT(c)->name, sizeof(CFG_PORT(c)->name), "%s", v->s);
	return 0;
}

static json_t *
cfg_show_port_name(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->ports[idx].name);
}

static int
cfg_store_port_device(struct cfg_ctx *c, const union cfg_val *v)
{
	snprintf(CFG_PORT(c)->device, sizeof(CFG_PORT(c)->device), "%s", v->s);
	return 0;
}

static json_t *
cfg_show_port_device(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->ports[idx].device);
}

static int
cfg_store_port_ipv4(struct cfg_ctx *c, const union cfg_val *v)
{
	struct dp_port_params *p = CFG_PORT(c);

	p->has_ip4 = true;
	memcpy(p->ip4, v->ip.addr, sizeof(p->ip4));
	p->ip4_prefix = v->ip.prefix;
	return 0;
}

static json_t *
cfg_show_prefix(int af, const void *addr, unsigned int prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (inet_ntop(af, addr, buf, INET6_ADDRSTRLEN) == NULL)
		return json_null();
	snprintf(buf + strlen(buf), 8, "/%u", prefix);
	return json_string(buf);
}

static json_t *
cfg_show_port_ipv4(const struct tern_config *cfg, unsigned int idx)
{
	const struct dp_port_params *p = &cfg->ports[idx];

	return p->has_ip4 ? cfg_show_prefix(AF_INET, p->ip4, p->ip4_prefix) : json_null();
}

static int
cfg_store_port_ipv6(struct cfg_ctx *c, const union cfg_val *v)
{
	struct dp_port_params *p = CFG_PORT(c);

	p->has_ip6 = true;
	memcpy(p->ip6, v->ip.addr, sizeof(p->ip6));
	p->ip6_prefix = v->ip.prefix;
	return 0;
}

static json_t *
cfg_show_port_ipv6(const struct tern_config *cfg, unsigned int idx)
{
	const struct dp_port_params *p = &cfg->ports[idx];

	return p->has_ip6 ? cfg_show_prefix(AF_INET6, p->ip6, p->ip6_prefix) : json_null();
}

static int
cfg_store_port_queues(struct cfg_ctx *c, const union cfg_val *v)
{
	CFG_PORT(c)->rx_queues = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_port_queues(const struct tern_config *cfg, unsigned int idx)
{
	unsigned int q = cfg->ports[idx].rx_queues;

	return q == 0 ? json_string("auto") : json_integer(q);
}

static int
cfg_store_port_exception(struct cfg_ctx *c, const union cfg_val *v)
{
	CFG_PORT(c)->exception = v->b;
	return 0;
}

static json_t *
cfg_show_port_exception(const struct tern_config *cfg, unsigned int idx)
{
	return json_boolean(cfg->ports[idx].exception);
}

static int
cfg_store_port_exc_iface(struct cfg_ctx *c, const union cfg_val *v)
{
	snprintf(CFG_PORT(c)->exception_iface, sizeof(CFG_PORT(c)->exception_iface), "%s", v->s);
	return 0;
}

static json_t *
cfg_show_port_exc_iface(const struct tern_config *cfg, unsigned int idx)
{
	const char *s = cfg->ports[idx].exception_iface;

	return s[0] != '\0' ? json_string(s) : json_null();
}

static int
cfg_store_ctl_socket(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->ctl_socket, v->s);
}

static json_t *
cfg_show_ctl_socket(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg->ctl_socket);
}

static int
cfg_store_ctl_group(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->ctl_group, v->s);
}

static json_t *
cfg_show_ctl_group(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return cfg->ctl_group != NULL ? json_string(cfg->ctl_group) : json_null();
}

static int
cfg_store_registry(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->registry, v->s);
}

static json_t *
cfg_show_registry(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg->registry);
}

static int
cfg_store_log_level(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->log_level, v->s);
}

static json_t *
cfg_show_log_level(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg->log_level);
}

/*
 * mqttsn.*: plain fields of cfg->mqttsn, one store and show per key. The
 * stores' cast is safe: CFG_FIT() in each row checks that its max fits.
 */
#define CFG_MQTTSN_UINT(field)                                                      \
	static int cfg_store_mqttsn_##field(struct cfg_ctx *c, const union cfg_val *v) \
	{                                                                           \
		c->cfg->mqttsn.field = (__typeof__(c->cfg->mqttsn.field))v->u;      \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_mqttsn_##field(const struct tern_config *cfg,       \
					       unsigned int idx)                    \
	{                                                                           \
		(void)idx;                                                          \
		return json_integer(cfg->mqttsn.field);                             \
	}

#define CFG_MQTTSN_BOOL(field)                                                      \
	static int cfg_store_mqttsn_##field(struct cfg_ctx *c, const union cfg_val *v) \
	{                                                                           \
		c->cfg->mqttsn.field = v->b;                                        \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_mqttsn_##field(const struct tern_config *cfg,       \
					       unsigned int idx)                    \
	{                                                                           \
		(void)idx;                                                          \
		return json_boolean(cfg->mqttsn.field);                             \
	}

CFG_MQTTSN_BOOL(enabled)
CFG_MQTTSN_UINT(port)
CFG_MQTTSN_UINT(max_clients)
CFG_MQTTSN_UINT(max_topics)
CFG_MQTTSN_UINT(max_subscriptions)
CFG_MQTTSN_UINT(max_registered_ids)
CFG_MQTTSN_UINT(max_subscriptions_per_client)
CFG_MQTTSN_UINT(max_inflight)
CFG_MQTTSN_UINT(max_sleep_buffer)
CFG_MQTTSN_UINT(max_message_size)
CFG_MQTTSN_UINT(retry_ms)
CFG_MQTTSN_UINT(retries)
CFG_MQTTSN_UINT(keepalive_tolerance_pct)
CFG_MQTTSN_UINT(session_expiry)
CFG_MQTTSN_BOOL(qos_minus_one)
CFG_MQTTSN_UINT(gateway_id)
CFG_MQTTSN_UINT(advertise_interval)

static int
cfg_store_adv_addr(struct cfg_ctx *c, const union cfg_val *v)
{
	struct dp_mqttsn_params *m = &c->cfg->mqttsn;

	m->advertise = true;
	m->advertise_v6 = v->ip.prefix == 128;
	memcpy(m->advertise_addr, v->ip.addr, sizeof(m->advertise_addr));
	return 0;
}

static json_t *
cfg_show_adv_addr(const struct tern_config *cfg, unsigned int idx)
{
	const struct dp_mqttsn_params *m = &cfg->mqttsn;
	char buf[INET6_ADDRSTRLEN];

	(void)idx;
	if (!m->advertise ||
	    inet_ntop(m->advertise_v6 ? AF_INET6 : AF_INET, m->advertise_addr, buf,
		      sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

/* coap.*: as mqttsn.* */
#define CFG_COAP_UINT(field)                                                        \
	static int cfg_store_coap_##field(struct cfg_ctx *c, const union cfg_val *v)   \
	{                                                                           \
		c->cfg->coap.field = (__typeof__(c->cfg->coap.field))v->u;          \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_coap_##field(const struct tern_config *cfg,         \
					     unsigned int idx)                      \
	{                                                                           \
		(void)idx;                                                          \
		return json_integer(cfg->coap.field);                               \
	}

static int
cfg_store_coap_enabled(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->coap.enabled = v->b;
	return 0;
}

static json_t *
cfg_show_coap_enabled(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_boolean(cfg->coap.enabled);
}

static int
cfg_store_coap_prefix(struct cfg_ctx *c, const union cfg_val *v)
{
	snprintf(c->cfg->coap.prefix, sizeof(c->cfg->coap.prefix), "%s", v->s);
	return 0;
}

static json_t *
cfg_show_coap_prefix(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg->coap.prefix);
}

CFG_COAP_UINT(port)
CFG_COAP_UINT(max_endpoints)
CFG_COAP_UINT(max_observers)
CFG_COAP_UINT(max_observers_per_endpoint)
CFG_COAP_UINT(max_message_size)
CFG_COAP_UINT(block_size)
CFG_COAP_UINT(ack_timeout_ms)
CFG_COAP_UINT(ack_random_factor_pct)
CFG_COAP_UINT(max_retransmit)
CFG_COAP_UINT(notify_con_every)
CFG_COAP_UINT(max_age)
CFG_COAP_UINT(rate_limit)
CFG_COAP_UINT(block1_timeout)

#define CFG_COAP(field, type)                                                       \
	"coap." #field, CFG_LEAF, (type), .store = cfg_store_coap_##field,          \
	.show = cfg_show_coap_##field

#define CFG_COAP_FIT(field, max)                                                    \
	((max) + 0 * sizeof(char[(__typeof__(((struct tern_config *)0)->coap.field))(max) \
				 == (max) ? 1 : -1]))

/* mqttsn.predefined[] */
static int
cfg_store_predef(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nb_predef = v->list.n;
	if (v->list.n == 0)
		return 0;
	c->cfg->predef = calloc(v->list.n, sizeof(*c->cfg->predef));
	return c->cfg->predef != NULL ? 0 : -ENOMEM;
}

static unsigned int
cfg_count_predef(const struct tern_config *cfg)
{
	return cfg->nb_predef;
}

static int
cfg_store_predef_id(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->predef[c->idx].id = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_predef_id(const struct tern_config *cfg, unsigned int idx)
{
	return json_integer(cfg->predef[idx].id);
}

static int
cfg_store_predef_topic(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->predef[c->idx].topic, v->s);
}

static json_t *
cfg_show_predef_topic(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->predef[idx].topic);
}

/* mqttsn.access[] */
static const char *const cfg_access_actions[] = { "publish", "subscribe", "both", NULL };
static const char *const cfg_access_permissions[] = { "allow", "deny", NULL };

static int
cfg_store_access(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nb_access = v->list.n;
	if (v->list.n == 0)
		return 0;
	c->cfg->access = calloc(v->list.n, sizeof(*c->cfg->access));
	return c->cfg->access != NULL ? 0 : -ENOMEM;
}

static unsigned int
cfg_count_access(const struct tern_config *cfg)
{
	return cfg->nb_access;
}

static int
cfg_store_access_client(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->access[c->idx].client, v->s);
}

static json_t *
cfg_show_access_client(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->access[idx].client);
}

static int
cfg_store_access_topic(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->access[c->idx].topic, v->s);
}

static json_t *
cfg_show_access_topic(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->access[idx].topic);
}

static int
cfg_store_access_action(struct cfg_ctx *c, const union cfg_val *v)
{
	/* ACL_PUBLISH = 1, ACL_SUBSCRIBE = 2 (proto/acl.h) */
	c->cfg->access[c->idx].ops = strcmp(v->s, "publish") == 0 ? 1 :
				     strcmp(v->s, "subscribe") == 0 ? 2 : 3;
	return 0;
}

static json_t *
cfg_show_access_action(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg_access_actions[cfg->access[idx].ops - 1]);
}

static int
cfg_store_access_perm(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->access[c->idx].allow = strcmp(v->s, "allow") == 0;
	return 0;
}

static json_t *
cfg_show_access_perm(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->access[idx].allow ? "allow" : "deny");
}

static const char *const cfg_access_transports[] = { "any", "dtls", "plain", NULL };

static int
cfg_store_access_transport(struct cfg_ctx *c, const union cfg_val *v)
{
	for (uint8_t i = 0; cfg_access_transports[i] != NULL; i++)
		if (strcmp(v->s, cfg_access_transports[i]) == 0)
			c->cfg->access[c->idx].transport = i;
	return 0;
}

static json_t *
cfg_show_access_transport(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg_access_transports[cfg->access[idx].transport]);
}

/* A leaf of mqttsn: its row's path, store and show from the field's name. */
#define CFG_MQTTSN(field, type)                                                     \
	"mqttsn." #field, CFG_LEAF, (type), .store = cfg_store_mqttsn_##field,      \
	.show = cfg_show_mqttsn_##field

/* @max, failing the build unless the field mqttsn.@field can hold it. */
#define CFG_FIT(field, max)                                                         \
	((max) + 0 * sizeof(char[(__typeof__(((struct tern_config *)0)->mqttsn.field))(max) \
				 == (max) ? 1 : -1]))

/* ------------------------------------------------------------------------ */
/* lbs.*, nodes[], node_link.* (docs/osap.md) */

static json_t *
cfg_show_addr(bool v6, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(v6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf)) == NULL)
		return json_null();
	return json_string(buf);
}

static json_t *
cfg_show_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

#define CFG_LBS_UINT(field)                                                         \
	static int cfg_store_lbs_##field(struct cfg_ctx *c, const union cfg_val *v)    \
	{                                                                           \
		c->cfg->lbs.field = (__typeof__(c->cfg->lbs.field))v->u;            \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_lbs_##field(const struct tern_config *cfg,          \
					    unsigned int idx)                       \
	{                                                                           \
		(void)idx;                                                          \
		return json_integer(cfg->lbs.field);                                \
	}
#define CFG_LBS_BOOL(field)                                                         \
	static int cfg_store_lbs_##field(struct cfg_ctx *c, const union cfg_val *v)    \
	{                                                                           \
		c->cfg->lbs.field = v->b;                                           \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_lbs_##field(const struct tern_config *cfg,          \
					    unsigned int idx)                       \
	{                                                                           \
		(void)idx;                                                          \
		return json_boolean(cfg->lbs.field);                                \
	}
#define CFG_STR(name, expr)                                                         \
	static int cfg_store_##name(struct cfg_ctx *c, const union cfg_val *v)         \
	{                                                                           \
		struct tern_config *cfg = c->cfg;                                   \
		return cfg_dup(&(expr), v->s);                                      \
	}                                                                           \
	static json_t *cfg_show_##name(const struct tern_config *cfg, unsigned int idx) \
	{                                                                           \
		(void)idx;                                                          \
		return cfg_show_str(expr);                                          \
	}
#define CFG_LINK_UINT(field)                                                        \
	static int cfg_store_link_##field(struct cfg_ctx *c, const union cfg_val *v)   \
	{                                                                           \
		c->cfg->node_link.field = (uint32_t)v->u;                           \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_link_##field(const struct tern_config *cfg,         \
					     unsigned int idx)                      \
	{                                                                           \
		(void)idx;                                                          \
		return json_integer(cfg->node_link.field);                          \
	}

CFG_LBS_BOOL(enabled)
CFG_LBS_BOOL(tls)
CFG_LBS_UINT(port)
CFG_LBS_UINT(max_connections)
CFG_LBS_UINT(handshake_timeout)
CFG_LBS_UINT(idle_timeout)
CFG_LBS_UINT(source_rate)
CFG_LBS_UINT(device_rate)
CFG_LBS_UINT(key_lifetime)
CFG_LBS_UINT(admit_lifetime)
CFG_STR(lbs_cert, cfg->lbs.cert)
CFG_STR(lbs_key, cfg->lbs.key)
CFG_STR(link_cert, cfg->node_link.cert)
CFG_STR(link_key, cfg->node_link.key)
CFG_STR(link_ca, cfg->node_link.ca)
CFG_LINK_UINT(interval)
CFG_LINK_UINT(timeout)

/* dtls: */
#define CFG_DTLS_UINT(field)                                                        \
	static int cfg_store_dtls_##field(struct cfg_ctx *c, const union cfg_val *v)   \
	{                                                                           \
		c->cfg->dtls.field = (__typeof__(c->cfg->dtls.field))v->u;          \
		return 0;                                                           \
	}                                                                           \
	static json_t *cfg_show_dtls_##field(const struct tern_config *cfg,         \
					     unsigned int idx)                      \
	{                                                                           \
		(void)idx;                                                          \
		return json_integer(cfg->dtls.field);                               \
	}
CFG_DTLS_UINT(coap_port)
CFG_DTLS_UINT(mqttsn_port)
CFG_DTLS_UINT(max_sessions)
CFG_DTLS_UINT(max_handshakes)
CFG_DTLS_UINT(handshake_timeout)
CFG_DTLS_UINT(idle_timeout)
CFG_DTLS_UINT(cookie_rotate)
CFG_DTLS_UINT(mtu)
CFG_STR(dtls_cert, cfg->dtls.cert)
CFG_STR(dtls_key, cfg->dtls.key)
CFG_STR(dtls_ca, cfg->dtls.ca)

#define CFG_DTLS(field)                                                             \
	"dtls." #field, CFG_LEAF, &cfg_t_uint, .store = cfg_store_dtls_##field,          \
	.show = cfg_show_dtls_##field

static const char *const cfg_verify_modes[] = { "none", "optional", "required", NULL };

static int
cfg_store_dtls_verify(struct cfg_ctx *c, const union cfg_val *v)
{
	for (uint8_t i = 0; cfg_verify_modes[i] != NULL; i++)
		if (strcmp(v->s, cfg_verify_modes[i]) == 0)
			c->cfg->dtls.verify_client = i;
	return 0;
}

static json_t *
cfg_show_dtls_verify(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg_verify_modes[cfg->dtls.verify_client]);
}

static int
cfg_store_psk(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->dtls.nb_psk = v->list.n;
	if (v->list.n == 0)
		return 0;
	c->cfg->dtls.psk = calloc(v->list.n, sizeof(*c->cfg->dtls.psk));
	return c->cfg->dtls.psk != NULL ? 0 : -ENOMEM;
}

static unsigned int
cfg_count_psk(const struct tern_config *cfg)
{
	return cfg->dtls.nb_psk;
}

static int
cfg_store_psk_identity(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->dtls.psk[c->idx].identity, v->s);
}

static json_t *
cfg_show_psk_identity(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->dtls.psk[idx].identity);
}

static int
cfg_store_psk_key(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_psk *k = &c->cfg->dtls.psk[c->idx];

	k->key_src |= 1;
	k->key_len = strlen(v->s);
	memcpy(k->key, v->s, k->key_len);
	return 0;
}

static int
cfg_store_psk_key_hex(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_psk *k = &c->cfg->dtls.psk[c->idx];
	size_t n = strlen(v->s) / 2;

	k->key_src |= 2;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(v->s + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		k->key[i] = (uint8_t)b;
	}
	k->key_len = n;
	return 0;
}

/* Keys are never shown: config.show says a key is set, not what it is. */
static json_t *
cfg_show_psk_secret(const struct tern_config *cfg, unsigned int idx)
{
	(void)cfg;
	(void)idx;
	return json_string("(hidden)");
}

#define CFG_LINK(field)                                                             \
	"node_link." #field, CFG_LEAF, &cfg_t_uint, .store = cfg_store_link_##field,     \
	.show = cfg_show_link_##field

#define CFG_LBS(field, type)                                                        \
	"lbs." #field, CFG_LEAF, (type), .store = cfg_store_lbs_##field,            \
	.show = cfg_show_lbs_##field

static int
cfg_store_lbs_listen(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->lbs.nb_listen = v->list.n;
	if (v->list.n == 0)
		return 0;
	c->cfg->lbs.listen = calloc(v->list.n, sizeof(*c->cfg->lbs.listen));
	return c->cfg->lbs.listen != NULL ? 0 : -ENOMEM;
}

static unsigned int
cfg_count_lbs_listen(const struct tern_config *cfg)
{
	return cfg->lbs.nb_listen;
}

static int
cfg_store_lbs_listen_address(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_endpoint *e = &c->cfg->lbs.listen[c->idx];

	e->v6 = v->ip.prefix == 128;
	memcpy(e->addr, v->ip.addr, sizeof(e->addr));
	return 0;
}

static json_t *
cfg_show_lbs_listen_address(const struct tern_config *cfg, unsigned int idx)
{
	return cfg_show_addr(cfg->lbs.listen[idx].v6, cfg->lbs.listen[idx].addr);
}

static int
cfg_store_lbs_listen_port(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->lbs.listen[c->idx].port = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_lbs_listen_port(const struct tern_config *cfg, unsigned int idx)
{
	return json_integer(cfg->lbs.listen[idx].port);
}

static int
cfg_store_nodes(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nb_nodes = v->list.n;
	if (v->list.n == 0)
		return 0;
	c->cfg->nodes = calloc(v->list.n, sizeof(*c->cfg->nodes));
	return c->cfg->nodes != NULL ? 0 : -ENOMEM;
}

static unsigned int
cfg_count_nodes(const struct tern_config *cfg)
{
	return cfg->nb_nodes;
}

static int
cfg_store_node_name(struct cfg_ctx *c, const union cfg_val *v)
{
	return cfg_dup(&c->cfg->nodes[c->idx].name, v->s);
}

static json_t *
cfg_show_node_name(const struct tern_config *cfg, unsigned int idx)
{
	return json_string(cfg->nodes[idx].name);
}

static int
cfg_store_node_address(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_node *n = &c->cfg->nodes[c->idx];

	n->v6 = v->ip.prefix == 128;
	memcpy(n->addr, v->ip.addr, sizeof(n->addr));
	return 0;
}

static json_t *
cfg_show_node_address(const struct tern_config *cfg, unsigned int idx)
{
	return cfg_show_addr(cfg->nodes[idx].v6, cfg->nodes[idx].addr);
}

static int
cfg_store_node_port(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nodes[c->idx].port = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_node_port(const struct tern_config *cfg, unsigned int idx)
{
	return json_integer(cfg->nodes[idx].port);
}

static int
cfg_store_node_weight(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nodes[c->idx].weight = (uint32_t)v->u;
	return 0;
}

static json_t *
cfg_show_node_weight(const struct tern_config *cfg, unsigned int idx)
{
	return json_integer(cfg->nodes[idx].weight);
}

static int
cfg_store_node_link_address(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_endpoint *e = &c->cfg->nodes[c->idx].link;

	e->v6 = v->ip.prefix == 128;
	memcpy(e->addr, v->ip.addr, sizeof(e->addr));
	return 0;
}

static json_t *
cfg_show_node_link_address(const struct tern_config *cfg, unsigned int idx)
{
	const struct tern_endpoint *e = &cfg->nodes[idx].link;

	return cfg_show_addr(e->v6, e->addr);
}

static int
cfg_store_node_link_port(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->nodes[c->idx].link.port = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_node_link_port(const struct tern_config *cfg, unsigned int idx)
{
	return json_integer(cfg->nodes[idx].link.port);
}

static int
cfg_store_link_address(struct cfg_ctx *c, const union cfg_val *v)
{
	struct tern_endpoint *e = &c->cfg->node_link.listen;

	e->v6 = v->ip.prefix == 128;
	memcpy(e->addr, v->ip.addr, sizeof(e->addr));
	c->cfg->node_link.listening = true;
	return 0;
}

static json_t *
cfg_show_link_address(const struct tern_config *cfg, unsigned int idx)
{
	const struct tern_endpoint *e = &cfg->node_link.listen;

	(void)idx;
	return cfg->node_link.listening ? cfg_show_addr(e->v6, e->addr) : json_null();
}

static int
cfg_store_link_port(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->node_link.listen.port = (uint16_t)v->u;
	return 0;
}

static json_t *
cfg_show_link_port(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_integer(cfg->node_link.listen.port);
}

static const char *const cfg_admission_modes[] = { "open", "osap", NULL };

static int
cfg_store_admission(struct cfg_ctx *c, const union cfg_val *v)
{
	c->cfg->mqttsn.admission = strcmp(v->s, "osap") == 0 ? DP_ADMISSION_OSAP :
							       DP_ADMISSION_OPEN;
	return 0;
}

static json_t *
cfg_show_admission(const struct tern_config *cfg, unsigned int idx)
{
	(void)idx;
	return json_string(cfg->mqttsn.admission == DP_ADMISSION_OSAP ? "osap" : "open");
}

/* ------------------------------------------------------------------------ */

static const char *const cfg_default_args[] = {
	"-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", "tern", NULL,
};

static const char *const cfg_log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL,
};

const struct cfg_key cfg_keys[] = {
	{ "dpdk", CFG_MAP,
	  .doc = "DPDK settings." },
	{ "dpdk.args", CFG_STRLIST, .def_list = cfg_default_args, .min = 1, .max = 64,
	  .store = cfg_store_args, .show = cfg_show_args,
	  .doc = "EAL arguments, as on a DPDK application's command line; ternd adds argv[0]. "
		 "Cores (`-l`), memory (`-m`, `--no-huge`), `--file-prefix`, `-a`, `--vdev`." },
	{ "ports", CFG_LIST, .flags = CFG_F_REQUIRED, .min = 1, .max = DP_MAX_PORTS,
	  .store = cfg_store_ports, .count = cfg_count_ports,
	  .doc = "The ports ternd serves, one mapping each." },
	{ "ports[].name", CFG_LEAF, &cfg_t_name, CFG_F_REQUIRED, .min = 1, .max = DP_NAME_LEN - 1,
	  .store = cfg_store_port_name, .show = cfg_show_port_name,
	  .doc = "The port's name in commands, counters and logs; unique." },
	{ "ports[].device", CFG_LEAF, &cfg_t_device, CFG_F_REQUIRED, .min = 1,
	  .max = sizeof(((struct dp_port_params *)0)->device) - 1,
	  .store = cfg_store_port_device, .show = cfg_show_port_device,
	  .doc = "DPDK device: a virtual device string (`net_tap0,iface=tern0`) or a PCI address "
		 "(`0000:03:00.0`); unique." },
	{ "ports[].ipv4", CFG_LEAF, &cfg_t_ipv4, .min = 1, .max = 32, .def_doc = "none",
	  .store = cfg_store_port_ipv4, .show = cfg_show_port_ipv4,
	  .doc = "The port's IPv4 address and prefix length, `192.0.2.1/24`. "
		 "A port needs ipv4, ipv6 or both." },
	{ "ports[].ipv6", CFG_LEAF, &cfg_t_ipv6, .min = 1, .max = 128, .def_doc = "none",
	  .store = cfg_store_port_ipv6, .show = cfg_show_port_ipv6,
	  .doc = "The port's IPv6 address and prefix length, `2001:db8::1/64`." },
	{ "ports[].rx_queues", CFG_LEAF, &cfg_t_queues, .def = "auto", .min = 1,
	  .max = CFG_MAX_RX_QUEUES,
	  .store = cfg_store_port_queues, .show = cfg_show_port_queues,
	  .doc = "RX queues. `auto`: one per worker when the PMD has RSS, else one queue and "
		 "software steering." },
	{ "ports[].exception", CFG_LEAF, &cfg_t_bool, .def = "true",
	  .store = cfg_store_port_exception, .show = cfg_show_port_exception,
	  .doc = "Create the kernel exception interface: traffic the fast path does not handle "
		 "(TCP, unknown UDP) goes to the host stack through it." },
	{ "ports[].exception_iface", CFG_LEAF, &cfg_t_ifname, .min = 1, .max = DP_IFNAME_LEN - 1,
	  .def_doc = "`tern-<name>`",
	  .store = cfg_store_port_exc_iface, .show = cfg_show_port_exc_iface,
	  .doc = "Name of the exception interface; unique." },
	{ "control", CFG_MAP,
	  .doc = "The control socket (`ternctl`)." },
	{ "control.socket", CFG_LEAF, &cfg_t_path, .def = "/run/tern/ternctl.sock", .min = 1,
	  .max = 107,
	  .store = cfg_store_ctl_socket, .show = cfg_show_ctl_socket,
	  .doc = "Path of the control socket; its directory is created 0750, the socket 0660." },
	{ "control.group", CFG_LEAF, &cfg_t_group, .min = 1, .max = 32,
	  .def_doc = "none (ternd's group)",
	  .store = cfg_store_ctl_group, .show = cfg_show_ctl_group,
	  .doc = "Group owning the socket: its members may use `ternctl`." },
	{ "log", CFG_MAP,
	  .doc = "Logging." },
	{ "log.level", CFG_LEAF, &cfg_t_enum, .def = "info", .allowed = cfg_log_levels,
	  .store = cfg_store_log_level, .show = cfg_show_log_level,
	  .doc = "Least severe level logged (syslog names)." },
	{ "registry", CFG_LEAF, &cfg_t_path, .def = "/var/lib/tern/devices.db", .min = 1,
	  .max = 4095,
	  .store = cfg_store_registry, .show = cfg_show_registry,
	  .doc = "The OSAP device registry, an SQLite file (mode 0600: it holds keys); its "
		 "directory is created 0750 when missing. `ternctl device.*` manage it." },
	{ "mqttsn", CFG_MAP,
	  .doc = "The MQTT-SN gateway/broker node (MQTT-SN v1.2). A limit that is hit is "
		 "answered with the return code \"rejected: congestion\" and counted." },
	{ CFG_MQTTSN(enabled, &cfg_t_bool), .def = "true",
	  .doc = "Serve MQTT-SN on the ports' addresses." },
	{ CFG_MQTTSN(port, &cfg_t_uint), .def = "1883",
	  .min = 1, .max = CFG_FIT(port, 65535),
	  .doc = "UDP port the node listens on." },
	{ CFG_MQTTSN(max_clients, &cfg_t_uint), .def = "10000",
	  .min = 1, .max = CFG_FIT(max_clients, 1000000),
	  .doc = "Client sessions in all, split evenly over the workers; a CONNECT beyond "
		 "its worker's share is refused." },
	{ CFG_MQTTSN(max_topics, &cfg_t_uint), .def = "100000",
	  .min = 1, .max = CFG_FIT(max_topics, 10000000),
	  .doc = "Topic names in the topic table." },
	{ CFG_MQTTSN(max_subscriptions, &cfg_t_uint), .def = "100000",
	  .min = 1, .max = CFG_FIT(max_subscriptions, 10000000),
	  .doc = "Subscriptions in all (one per client and topic filter)." },
	{ CFG_MQTTSN(max_registered_ids, &cfg_t_uint), .def = "64",
	  .min = 1, .max = CFG_FIT(max_registered_ids, 1024),
	  .doc = "Topic ids per client: the client's REGISTERs and the gateway's own "
		 "registrations to it." },
	{ CFG_MQTTSN(max_subscriptions_per_client, &cfg_t_uint), .def = "32",
	  .min = 1, .max = CFG_FIT(max_subscriptions_per_client, 1024),
	  .doc = "Subscriptions per client." },
	{ CFG_MQTTSN(max_inflight, &cfg_t_uint), .def = "8",
	  .min = 1, .max = CFG_FIT(max_inflight, 256),
	  .doc = "Unacknowledged QoS 1 and 2 messages per client, in each direction." },
	{ CFG_MQTTSN(max_sleep_buffer, &cfg_t_uint), .def = "16",
	  .min = 1, .max = CFG_FIT(max_sleep_buffer, 1024),
	  .doc = "Publications buffered for a sleeping client; more are dropped and "
		 "counted (mqttsn_sleep_dropped)." },
	{ CFG_MQTTSN(max_message_size, &cfg_t_uint), .def = "1024",
	  .min = 16, .max = CFG_FIT(max_message_size, 65535),
	  .doc = "Bytes of one MQTT-SN message, header included; longer ones are dropped "
		 "and counted." },
	{ CFG_MQTTSN(retry_ms, &cfg_t_uint), .def = "10000",
	  .min = 100, .max = CFG_FIT(retry_ms, 60000),
	  .doc = "Tretry: milliseconds before an unacknowledged message is sent again "
		 "(the specification suggests 10 to 15 s)." },
	{ CFG_MQTTSN(retries, &cfg_t_uint), .def = "3",
	  .min = 0, .max = CFG_FIT(retries, 10),
	  .doc = "Nretry: retransmissions before the client is considered lost "
		 "(the specification suggests 3 to 5)." },
	{ CFG_MQTTSN(keepalive_tolerance_pct, &cfg_t_uint), .def = "150",
	  .min = 100, .max = CFG_FIT(keepalive_tolerance_pct, 1000),
	  .doc = "A client that sends nothing for this percentage of its keep-alive period "
		 "is lost (the specification: 1.5 times, 150)." },
	{ CFG_MQTTSN(session_expiry, &cfg_t_uint), .def = "3600",
	  .min = 0, .max = CFG_FIT(session_expiry, 604800),
	  .doc = "Seconds the session of a client that connected without CleanSession is kept "
		 "after it disconnects or is lost (subscriptions, topic ids, publications up to "
		 "max_sleep_buffer), for it to CONNECT again, from any address; 0: ended at once." },
	{ CFG_MQTTSN(qos_minus_one, &cfg_t_bool), .def = "true",
	  .doc = "Accept QoS -1 publications (PUBLISH without a connection, predefined or "
		 "short topic ids only)." },
	{ CFG_MQTTSN(gateway_id, &cfg_t_uint), .def = "1",
	  .min = 0, .max = CFG_FIT(gateway_id, 255),
	  .doc = "The gateway id in ADVERTISE and GWINFO." },
	{ "mqttsn.advertise_address", CFG_LEAF, &cfg_t_advaddr, .def_doc = "none: no ADVERTISE",
	  .store = cfg_store_adv_addr, .show = cfg_show_adv_addr,
	  .doc = "Send ADVERTISE to this address every advertise_interval seconds, from each "
		 "port with an address of its family (`255.255.255.255`, `ff02::1`; a subnet's "
		 "directed broadcast: from the ports on that subnet)." },
	{ CFG_MQTTSN(advertise_interval, &cfg_t_uint), .def = "900",
	  .min = 1, .max = CFG_FIT(advertise_interval, 65535),
	  .doc = "Seconds between two ADVERTISEs (the specification's T_ADV: 15 minutes or "
		 "more); also their Duration field." },
	{ "mqttsn.admission", CFG_LEAF, &cfg_t_enum, .def = "open", .allowed = cfg_admission_modes,
	  .store = cfg_store_admission, .show = cfg_show_admission,
	  .doc = "`open`: any client id connects; a DevID the LBS admitted is an OSAP device "
		 "(sealed payloads, docs/osap.md). `osap`: only admitted DevIDs connect. Either "
		 "way a DevID with an admission is held to it (expiry, address)." },
	{ "mqttsn.predefined", CFG_LIST, .min = 0, .max = 4096,
	  .store = cfg_store_predef, .count = cfg_count_predef,
	  .doc = "Predefined topic ids: known to every client without REGISTER. "
		 "Reloadable (`ternctl config.reload`), and `ternctl predefined.add/remove`." },
	{ "mqttsn.predefined[].id", CFG_LEAF, &cfg_t_uint, CFG_F_REQUIRED, .min = 1, .max = 65534,
	  .store = cfg_store_predef_id, .show = cfg_show_predef_id,
	  .doc = "The topic id; unique." },
	{ "mqttsn.predefined[].topic", CFG_LEAF, &cfg_t_text, CFG_F_REQUIRED, .min = 1,
	  .max = 1024,
	  .store = cfg_store_predef_topic, .show = cfg_show_predef_topic,
	  .doc = "The topic name (no wildcards); unique." },
	{ "mqttsn.access", CFG_LIST, .min = 0, .max = 1024,
	  .store = cfg_store_access, .count = cfg_count_access,
	  .doc = "Topic access rules, tried in order: the first that applies decides; when "
		 "there are rules and none applies, the request is denied. No rules: everything "
		 "is allowed. Reloadable (`ternctl config.reload`). See docs/mqttsn.md." },
	{ "mqttsn.access[].client", CFG_LEAF, &cfg_t_text, .def = "*", .min = 1, .max = 64,
	  .store = cfg_store_access_client, .show = cfg_show_access_client,
	  .doc = "Client ids the rule is for: a shell pattern (`*`, `?`, `[...]`)." },
	{ "mqttsn.access[].topic", CFG_LEAF, &cfg_t_text, CFG_F_REQUIRED, .min = 1, .max = 1024,
	  .store = cfg_store_access_topic, .show = cfg_show_access_topic,
	  .doc = "Topic filter the rule covers; a level that is exactly `%c` stands for the "
		 "client id." },
	{ "mqttsn.access[].action", CFG_LEAF, &cfg_t_enum, .def = "both",
	  .allowed = cfg_access_actions,
	  .store = cfg_store_access_action, .show = cfg_show_access_action,
	  .doc = "What the rule governs." },
	{ "mqttsn.access[].permission", CFG_LEAF, &cfg_t_enum, CFG_F_REQUIRED,
	  .allowed = cfg_access_permissions,
	  .store = cfg_store_access_perm, .show = cfg_show_access_perm,
	  .doc = "`allow` or `deny`." },
	{ "mqttsn.access[].transport", CFG_LEAF, &cfg_t_enum, .def = "any",
	  .allowed = cfg_access_transports,
	  .store = cfg_store_access_transport, .show = cfg_show_access_transport,
	  .doc = "Which clients the rule is for: `any`; `dtls`: only sessions over DTLS, whose "
		 "client is the identity their handshake proved (docs/dtls.md); `plain`: only the "
		 "others, whose client id is whatever they sent. Rules for DTLS identities should "
		 "say `dtls`: a plain client may call itself anything." },
	{ "coap", CFG_MAP,
	  .doc = "The CoAP node (RFC 7252) with its publish/subscribe broker: topics are the "
		 "MQTT-SN node's (docs/coap.md). A limit that is hit is answered 5.03 with Max-Age "
		 "and counted." },
	{ CFG_COAP(enabled, &cfg_t_bool), .def = "true",
	  .doc = "Serve CoAP on the ports' addresses." },
	{ CFG_COAP(port, &cfg_t_uint), .def = "5683", .min = 1, .max = CFG_COAP_FIT(port, 65535),
	  .doc = "UDP port the node listens on." },
	{ CFG_COAP(prefix, &cfg_t_name), .def = "ps", .min = 1, .max = DP_COAP_PREFIX_LEN - 1,
	  .doc = "Path of the pub/sub collection: topic `a/b` is `/<prefix>/a/b`." },
	{ CFG_COAP(max_endpoints, &cfg_t_uint), .def = "10000",
	  .min = 1, .max = CFG_COAP_FIT(max_endpoints, 1000000),
	  .doc = "Peers (address and port) remembered at once, split over the workers: "
		 "message de-duplication and observers need one." },
	{ CFG_COAP(max_observers, &cfg_t_uint), .def = "10000",
	  .min = 1, .max = CFG_COAP_FIT(max_observers, 1000000),
	  .doc = "Observe registrations in all, split over the workers." },
	{ CFG_COAP(max_observers_per_endpoint, &cfg_t_uint), .def = "16",
	  .min = 1, .max = CFG_COAP_FIT(max_observers_per_endpoint, 1024),
	  .doc = "Observe registrations of one peer." },
	{ CFG_COAP(max_message_size, &cfg_t_uint), .def = "1152",
	  .min = 64, .max = CFG_COAP_FIT(max_message_size, 8192),
	  .doc = "Bytes of one CoAP message (RFC 7252 4.6 suggests 1152); larger requests get "
		 "4.13 with Size1, larger responses go block-wise." },
	{ CFG_COAP(block_size, &cfg_t_uint), .def = "1024",
	  .min = 16, .max = CFG_COAP_FIT(block_size, 1024),
	  .doc = "Block size for responses that do not fit (RFC 7959): a power of two, "
		 "16..1024; a client may ask for smaller." },
	{ CFG_COAP(ack_timeout_ms, &cfg_t_uint), .def = "2000",
	  .min = 100, .max = CFG_COAP_FIT(ack_timeout_ms, 60000),
	  .doc = "ACK_TIMEOUT: first retransmission of a CON notification." },
	{ CFG_COAP(ack_random_factor_pct, &cfg_t_uint), .def = "150",
	  .min = 100, .max = CFG_COAP_FIT(ack_random_factor_pct, 400),
	  .doc = "ACK_RANDOM_FACTOR x 100: the first timeout is drawn between ACK_TIMEOUT and "
		 "this much of it." },
	{ CFG_COAP(max_retransmit, &cfg_t_uint), .def = "4",
	  .min = 0, .max = CFG_COAP_FIT(max_retransmit, 10),
	  .doc = "MAX_RETRANSMIT: then the observer is removed." },
	{ CFG_COAP(notify_con_every, &cfg_t_uint), .def = "20",
	  .min = 1, .max = CFG_COAP_FIT(notify_con_every, 65535),
	  .doc = "Every Nth notification to an observer is confirmable (and one at least every "
		 "24 hours, RFC 7641 4.5); the others are non-confirmable." },
	{ CFG_COAP(max_age, &cfg_t_uint), .def = "60",
	  .min = 0, .max = CFG_COAP_FIT(max_age, 86400),
	  .doc = "Max-Age of topic values and notifications, seconds." },
	{ CFG_COAP(rate_limit, &cfg_t_uint), .def = "0",
	  .min = 0, .max = CFG_COAP_FIT(rate_limit, 1000000),
	  .doc = "Requests per second one peer may send (a burst of as many); more get 4.29 "
		 "Too Many Requests (RFC 8516) with Max-Age 1 and are counted. 0: no limit." },
	{ CFG_COAP(block1_timeout, &cfg_t_uint), .def = "60",
	  .min = 1, .max = CFG_COAP_FIT(block1_timeout, 3600),
	  .doc = "Seconds a Block1 upload may wait for its next block; then it is dropped and "
		 "counted (coap_incomplete)." },
	{ "lbs", CFG_MAP,
	  .doc = "The OSAP load-balancing service (docs/osap.md): authenticates devices (the "
		 "`registry`) and redirects them to an access node (`nodes`, or this instance)." },
	{ CFG_LBS(enabled, &cfg_t_bool), .def = "false",
	  .doc = "Run the LBS on this instance." },
	{ CFG_LBS(port, &cfg_t_uint), .def = "4850", .min = 0, .max = 65535,
	  .doc = "TCP port on every port's addresses (the router's own, reached through the "
		 "exception path); 0: only `lbs.listen`. The draft assigns none." },
	{ "lbs.listen", CFG_LIST, .min = 0, .max = 16,
	  .store = cfg_store_lbs_listen, .count = cfg_count_lbs_listen,
	  .doc = "Further addresses of the host's own interfaces to listen on." },
	{ "lbs.listen[].address", CFG_LEAF, &cfg_t_addr, CFG_F_REQUIRED,
	  .store = cfg_store_lbs_listen_address, .show = cfg_show_lbs_listen_address,
	  .doc = "A local address (`0.0.0.0` / `::`: all)." },
	{ "lbs.listen[].port", CFG_LEAF, &cfg_t_uint, .def = "4850", .min = 1, .max = 65535,
	  .store = cfg_store_lbs_listen_port, .show = cfg_show_lbs_listen_port,
	  .doc = "Its TCP port." },
	{ CFG_LBS(tls, &cfg_t_bool), .def = "true",
	  .doc = "TLS (1.2 and 1.3, Mozilla's intermediate policy) on every LBS connection; "
		 "`false`: plain TCP, for devices that only use the draft's own encryption." },
	{ "lbs.cert", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_lbs_cert, .show = cfg_show_lbs_cert,
	  .doc = "PEM certificate (chain) of the LBS; required with `tls`." },
	{ "lbs.key", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_lbs_key, .show = cfg_show_lbs_key,
	  .doc = "PEM private key of `lbs.cert`." },
	{ CFG_LBS(max_connections, &cfg_t_uint), .def = "1024", .min = 1, .max = 1000000,
	  .doc = "LBS connections open at once; more are closed at accept (counted)." },
	{ CFG_LBS(handshake_timeout, &cfg_t_uint), .def = "10", .min = 1, .max = 600,
	  .doc = "Seconds from accept to the first address granted (TLS included)." },
	{ CFG_LBS(idle_timeout, &cfg_t_uint), .def = "30", .min = 1, .max = 3600,
	  .doc = "Seconds a connection may stay silent." },
	{ CFG_LBS(source_rate, &cfg_t_uint), .def = "50", .min = 0, .max = 1000000,
	  .doc = "New connections per second from one source address (a burst of twice as "
		 "many); more are closed at accept (counted). 0: no limit." },
	{ CFG_LBS(device_rate, &cfg_t_uint), .def = "30", .min = 0, .max = 1000000,
	  .doc = "Authentications per minute of one serial number or DevID; more get ERROR "
		 "rate_limited (counted). 0: no limit." },
	{ CFG_LBS(key_lifetime, &cfg_t_uint), .def = "86400", .min = 60, .max = 31536000,
	  .doc = "Seconds a session key is valid; then the node ends the device's session." },
	{ CFG_LBS(admit_lifetime, &cfg_t_uint), .def = "300", .min = 5, .max = 86400,
	  .doc = "Seconds a node keeps an admission for the device to connect." },
	{ "nodes", CFG_LIST, .min = 0, .max = 1024,
	  .store = cfg_store_nodes, .count = cfg_count_nodes,
	  .doc = "The LBS's access nodes (tern instances with a `node_link`). None: the LBS "
		 "redirects devices to this instance. `ternctl node.add/remove/drain` change the "
		 "running pool." },
	{ "nodes[].name", CFG_LEAF, &cfg_t_name, CFG_F_REQUIRED, .min = 1, .max = 31,
	  .store = cfg_store_node_name, .show = cfg_show_node_name,
	  .doc = "The node's name in commands and counters; unique." },
	{ "nodes[].address", CFG_LEAF, &cfg_t_addr, CFG_F_REQUIRED,
	  .store = cfg_store_node_address, .show = cfg_show_node_address,
	  .doc = "The address devices reach the node at (in the address response)." },
	{ "nodes[].port", CFG_LEAF, &cfg_t_uint, .def = "1883", .min = 1, .max = 65535,
	  .store = cfg_store_node_port, .show = cfg_show_node_port,
	  .doc = "The node's MQTT-SN port." },
	{ "nodes[].weight", CFG_LEAF, &cfg_t_uint, .def = "100", .min = 1, .max = 10000,
	  .store = cfg_store_node_weight, .show = cfg_show_node_weight,
	  .doc = "Relative capacity: load is compared per unit of weight." },
	{ "nodes[].link_address", CFG_LEAF, &cfg_t_addr, CFG_F_REQUIRED,
	  .store = cfg_store_node_link_address, .show = cfg_show_node_link_address,
	  .doc = "The node's `node_link.address`." },
	{ "nodes[].link_port", CFG_LEAF, &cfg_t_uint, .def = "4851", .min = 1, .max = 65535,
	  .store = cfg_store_node_link_port, .show = cfg_show_node_link_port,
	  .doc = "The node's `node_link.port`." },
	{ "node_link", CFG_MAP,
	  .doc = "TLS between tern instances, both sides authenticated by certificates of "
		 "`ca`: the LBS admits devices at its nodes and asks them for their load." },
	{ "node_link.address", CFG_LEAF, &cfg_t_addr, .def_doc = "none: not an access node of another LBS",
	  .store = cfg_store_link_address, .show = cfg_show_link_address,
	  .doc = "Where this instance takes admissions from an LBS." },
	{ "node_link.port", CFG_LEAF, &cfg_t_uint, .def = "4851", .min = 1, .max = 65535,
	  .store = cfg_store_link_port, .show = cfg_show_link_port,
	  .doc = "Its TCP port." },
	{ "node_link.cert", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_link_cert, .show = cfg_show_link_cert,
	  .doc = "PEM certificate this instance shows on the node link (as server and as "
		 "client); required with `node_link.address` or `nodes`." },
	{ "node_link.key", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_link_key, .show = cfg_show_link_key,
	  .doc = "PEM private key of `node_link.cert`." },
	{ "node_link.ca", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_link_ca, .show = cfg_show_link_ca,
	  .doc = "PEM CA certificate(s) the peer's certificate must chain to." },
	{ CFG_LINK(interval), .def = "1", .min = 1, .max = 60,
	  .doc = "Seconds between two load reports the LBS asks of each node." },
	{ CFG_LINK(timeout), .def = "3", .min = 1, .max = 600,
	  .doc = "Seconds without an answer after which the LBS takes a node as down." },
	{ "dtls", CFG_MAP,
	  .doc = "DTLS 1.2 terminated by the control plane (docs/dtls.md): coaps and MQTT-SN "
		 "over DTLS, with pre-shared keys or certificates. Decrypted messages go to the "
		 "CoAP and MQTT-SN nodes like plain ones; secure and plain clients share topics." },
	{ CFG_DTLS(coap_port), .def = "0", .min = 0, .max = 65535,
	  .doc = "UDP port of CoAP over DTLS (coaps; RFC 7252 assigns 5684); 0: none. Needs "
		 "`coap.enabled`." },
	{ CFG_DTLS(mqttsn_port), .def = "0", .min = 0, .max = 65535,
	  .doc = "UDP port of MQTT-SN over DTLS (none is assigned; tern's examples use 1884); "
		 "0: none. Needs `mqttsn.enabled`." },
	{ "dtls.cert", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none: PSK only",
	  .store = cfg_store_dtls_cert, .show = cfg_show_dtls_cert,
	  .doc = "PEM server certificate (ECDSA P-256 recommended; RSA works with the RSA "
		 "suites) for the certificate cipher suites." },
	{ "dtls.key", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_dtls_key, .show = cfg_show_dtls_key,
	  .doc = "PEM private key of `dtls.cert`." },
	{ "dtls.ca", CFG_LEAF, &cfg_t_path, .min = 1, .max = 4096, .def_doc = "none",
	  .store = cfg_store_dtls_ca, .show = cfg_show_dtls_ca,
	  .doc = "PEM CA certificate(s) client certificates must chain to." },
	{ "dtls.verify_client", CFG_LEAF, &cfg_t_enum, .def = "none", .allowed = cfg_verify_modes,
	  .store = cfg_store_dtls_verify, .show = cfg_show_dtls_verify,
	  .doc = "Client certificates: `none` (not asked for), `optional` (asked for, checked "
		 "against `ca` if sent), `required` (no handshake without one that checks). The "
		 "certificate's subject is then the client's identity." },
	{ "dtls.psk", CFG_LIST, .min = 0, .max = 65536,
	  .store = cfg_store_psk, .count = cfg_count_psk,
	  .doc = "Pre-shared keys (`ternctl psk.add/remove/list` change the running table). "
		 "The identity is then the client's identity; for an OSAP device it may be its "
		 "DevID." },
	{ "dtls.psk[].identity", CFG_LEAF, &cfg_t_text, CFG_F_REQUIRED, .min = 1, .max = 128,
	  .store = cfg_store_psk_identity, .show = cfg_show_psk_identity,
	  .doc = "The PSK identity the client sends; unique." },
	{ "dtls.psk[].key", CFG_LEAF, &cfg_t_text, .min = 1, .max = 64, .def_doc = "none",
	  .store = cfg_store_psk_key, .show = cfg_show_psk_secret,
	  .doc = "The key as text (its octets); or `key_hex`. Never shown by `config.show`." },
	{ "dtls.psk[].key_hex", CFG_LEAF, &cfg_t_hex, .min = 2, .max = 128, .def_doc = "none",
	  .store = cfg_store_psk_key_hex, .show = cfg_show_psk_secret,
	  .doc = "The key in hexadecimal; or `key`." },
	{ CFG_DTLS(max_sessions), .def = "1024", .min = 1, .max = 1000000,
	  .doc = "DTLS sessions at once, handshaking or open; a ClientHello with a good cookie "
		 "beyond it is dropped (counted: limit_sessions)." },
	{ CFG_DTLS(max_handshakes), .def = "128", .min = 1, .max = 100000,
	  .doc = "Sessions in their handshake at once; more are dropped (limit_handshakes)." },
	{ CFG_DTLS(handshake_timeout), .def = "10", .min = 1, .max = 600,
	  .doc = "Seconds from the cookie exchange to the handshake done; then the session "
		 "is dropped (hs_timeout)." },
	{ CFG_DTLS(idle_timeout), .def = "300", .min = 1, .max = 86400,
	  .doc = "Seconds an open session may stay silent; then it is closed (idle_timeout). "
		 "Clients that sleep longer handshake again." },
	{ CFG_DTLS(cookie_rotate), .def = "30", .min = 1, .max = 3600,
	  .doc = "Seconds between two cookie secrets; a cookie stays valid one to two periods." },
	{ CFG_DTLS(mtu), .def = "1200", .min = 256, .max = 1452,
	  .doc = "Largest UDP payload a DTLS datagram of ours carries (handshake flights are "
		 "fragmented to fit; messages to a peer must fit in one record)." },
};

const size_t cfg_nb_keys = CFG_DIM(cfg_keys);

_Static_assert(CFG_DIM(cfg_keys) <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");

const char tern_config_default_yaml[] =
	"# ternd's built-in configuration (used without -c, and by scripts/demo):\n"
	"# one port on a TAP device, no PCI, no hugepages.\n"
	"dpdk:\n"
	"  args: [\"-l\", \"0-1\", \"--no-pci\", \"--no-huge\", \"-m\", \"512\",\n"
	"         \"--file-prefix\", \"tern\"]\n"
	"ports:\n"
	"  - name: p0\n"
	"    device: \"net_tap0,iface=tern0\"\n"
	"    ipv4: \"192.0.2.1/24\"\n"
	"    ipv6: \"2001:db8::1/64\"\n"
	"    rx_queues: auto\n"
	"    exception: true\n"
	"control:\n"
	"  socket: /run/tern/ternctl.sock\n"
	"log:\n"
	"  level: info\n";

/* ------------------------------------------------------------------------ */
/* Table navigation */

/* Length of the parent's path in a table path ("ports[].name" -> "ports"). */
static size_t
cfg_parent_len(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t n;

	if (dot == NULL)
		return 0;
	n = (size_t)(dot - path);
	if (n >= 2 && path[n - 2] == '[' && path[n - 1] == ']')
		n -= 2;
	return n;
}

const char *
cfg_leaf_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL ? dot + 1 : path;
}

bool
cfg_is_child(const struct cfg_key *k, const char *parent, size_t plen)
{
	return cfg_parent_len(k->path) == plen && strncmp(k->path, parent, plen) == 0;
}

/* The row of an instance path: "ports[3].name" -> "ports[].name". */
const struct cfg_key *
cfg_key_find(const char *path)
{
	char norm[CFG_PATH_LEN];
	size_t o = 0;

	for (const char *p = path; *p != '\0' && o < sizeof(norm) - 3; p++) {
		norm[o++] = *p;
		if (*p == '[') {
			while (p[1] >= '0' && p[1] <= '9')
				p++;
		}
	}
	norm[o] = '\0';
	for (size_t i = 0; i < cfg_nb_keys; i++)
		if (strcmp(cfg_keys[i].path, norm) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The docs */

/* A table cell: "|" would end it and a newline would end the table. */
static void
cfg_md_cell(FILE *out, const char *s)
{
	if (*s != '\0')
		fputc(' ', out);
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s == '\n' ? ' ' : *s, out);
	}
	fputs(" |", out);
}

void
tern_config_schema_markdown(FILE *out)
{
	fputs("| Key | Type | Default | Values | Description |\n", out);
	fputs("|---|---|---|---|---|\n", out);
	for (size_t i = 0; i < cfg_nb_keys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		char key[128], def[256] = "", range[256] = "";
		const char *type = "";

		snprintf(key, sizeof(key), "`%s`", k->path);
		switch (k->kind) {
		case CFG_MAP:
			type = "mapping";
			break;
		case CFG_LIST:
			type = "sequence of mappings";
			snprintf(range, sizeof(range), "%lu..%lu entries", k->min, k->max);
			break;
		case CFG_STRLIST:
			type = "sequence of strings";
			snprintf(range, sizeof(range), "%lu..%lu entries", k->min, k->max);
			def[0] = '`';
			def[1] = '[';
			cfg_join(k->def_list, "\"", ", ", def + 2, sizeof(def) - 4);
			strcat(def, "]`");
			break;
		case CFG_LEAF:
			type = k->type->name;
			k->type->range(k, range, sizeof(range));
			break;
		}
		if (k->flags & CFG_F_REQUIRED)
			snprintf(def, sizeof(def), "*required*");
		else if (k->def != NULL)
			snprintf(def, sizeof(def), "`%s`", k->def);
		else if (k->def_doc != NULL)
			snprintf(def, sizeof(def), "%s", k->def_doc);
		fputc('|', out);
		cfg_md_cell(out, key);
		cfg_md_cell(out, type);
		cfg_md_cell(out, def);
		cfg_md_cell(out, range);
		cfg_md_cell(out, k->doc);
		fputc('\n', out);
	}
}
