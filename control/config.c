/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: one table, three uses.
 *
 * cfg_keys[] below lists every key once: its path, kind, type, default,
 * range and description. From that table this file builds the libcyaml
 * schema, converts and checks the loaded values, renders the effective
 * configuration as JSON, and prints the Markdown table that
 * docs/configuration.md contains (a unit test compares the two), so a key
 * cannot be added without its documentation, nor documented without being
 * parsed.
 *
 * libcyaml loads every scalar as a string into generic "raw" mappings (an
 * array of slots, one per child key, in table order). Typing is ours, done by
 * the table's type functions after the load: that way a value such as
 * rx_queues ("auto" or a number) needs no special schema, defaults are parsed
 * by the same code as user values, and every message has the same shape:
 * "ports[1].rx_queues (line 9): 40 is out of range (auto or 1..16)".
 *
 * Line numbers: before libcyaml sees the text, a pass over libyaml's events
 * records the line of every key and sequence entry under its path (and
 * rejects syntax errors, aliases, several documents and absurd nesting with
 * a line and column). libcyaml's own complaints arrive through its log
 * callback as a message plus a backtrace of mapping fields and sequence
 * entries; they are captured (nothing is printed) and rewritten into a path.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cyaml/cyaml.h>
#include <jansson.h>
#include <yaml.h>

#include "control/config.h"

#define CFG_MAX_SIZE       (1u << 20)  /* a config file is a few KiB; refuse anything absurd */
#define CFG_MAX_DEPTH      16          /* the schema is 3 deep; deeper is a mistake */
#define CFG_MAX_LOCS       4096        /* key locations remembered for messages */
#define CFG_MAX_CHILDREN   8           /* keys per mapping in the table */
#define CFG_MAX_RX_QUEUES  16
#define CFG_ARG_MAX        1023        /* one EAL argument */
#define CFG_PATH_LEN       1024
#define CFG_KEY_SHOWN      64          /* longer keys are cut in paths and messages */
#define CFG_DIM(a)         (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* The table */

enum cfg_kind {
	CFG_MAP,       /* mapping of further keys */
	CFG_LIST,      /* sequence of mappings (ports) */
	CFG_STRLIST,   /* sequence of strings (dpdk.args) */
	CFG_LEAF,      /* one scalar */
};

#define CFG_F_REQUIRED 1u

struct cfg_key;
struct cfg_ctx;

union cfg_val {
	bool b;
	unsigned long u;
	const char *s;
	struct {
		uint8_t addr[16];
		uint8_t prefix;
	} ip;
	struct {
		char *const *v;
		unsigned int n;
	} list;
};

struct cfg_type {
	const char *name;  /* the docs' Type column and "expected ..." messages */
	/* Convert and check @s; on error write what is wrong (no path) to @msg. */
	int (*parse)(const struct cfg_key *k, const char *s, union cfg_val *v,
		     char *msg, size_t len);
	/* The docs' Values column, from the key's min/max/allowed. */
	void (*range)(const struct cfg_key *k, char *buf, size_t len);
};

struct cfg_key {
	const char *path;              /* "ports[].ipv4": "[]" marks a list entry */
	enum cfg_kind kind;
	const struct cfg_type *type;   /* CFG_LEAF only */
	unsigned int flags;
	const char *def;               /* CFG_LEAF default as YAML text; NULL none */
	const char *const *def_list;   /* CFG_STRLIST default, NULL-terminated */
	const char *def_doc;           /* default as the docs say it, when computed */
	unsigned long min, max;        /* value, length or entry count bounds */
	const char *const *allowed;    /* enum values, NULL-terminated */
	int (*store)(struct cfg_ctx *c, const union cfg_val *v);
	json_t *(*show)(const struct tern_config *cfg, unsigned int idx);
	const char *doc;
};

/* ------------------------------------------------------------------------ */
/* Parse context and messages */

struct cfg_loc {
	char *path;
	unsigned int line;
};

struct cfg_ctx {
	char *err;
	size_t errlen;
	bool failed;
	const char *yaml;
	size_t len;
	struct cfg_loc *locs;
	unsigned int nb_locs;
	struct tern_config *cfg;
	unsigned int idx;              /* list entry being converted */
	char cylog[2048];              /* libcyaml's messages, captured */
	size_t cylog_len;
};

static unsigned int
cfg_line(const struct cfg_ctx *c, const char *path)
{
	for (unsigned int i = 0; i < c->nb_locs; i++)
		if (strcmp(c->locs[i].path, path) == 0)
			return c->locs[i].line;
	return 0;
}

/*
 * Record the first message only: later checks may trip over the same mistake
 * and the operator wants its cause, once.
 */
static int __attribute__((format(printf, 4, 5)))
cfg_fail_at(struct cfg_ctx *c, const char *path, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;
	int r;

	if (c->failed)
		return -EINVAL;
	c->failed = true;
	if (c->err == NULL || c->errlen == 0)
		return -EINVAL;
	if (path != NULL && path[0] != '\0' && line)
		r = snprintf(c->err, c->errlen, "%s (line %u): ", path, line);
	else if (path != NULL && path[0] != '\0')
		r = snprintf(c->err, c->errlen, "%s: ", path);
	else if (line)
		r = snprintf(c->err, c->errlen, "line %u: ", line);
	else
		r = 0;
	if (r > 0)
		n = (size_t)r < c->errlen ? (size_t)r : c->errlen - 1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define cfg_fail(c, path, ...) cfg_fail_at((c), (path), cfg_line((c), (path)), __VA_ARGS__)

/*
 * Values go into messages that end up on a terminal: quote them, escape
 * anything unprintable, and cut them short.
 */
static const char *
cfg_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, max = len > 8 ? len - 8 : 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; *s != '\0' && o < max; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (*s != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define CFG_Q(s) cfg_quote((s), (char[96]){0}, 96)

/* ------------------------------------------------------------------------ */
/* Types */

/* Decimal, no sign, no leading zero: YAML 1.1 reads 010 as octal, so refuse it. */
static bool
cfg_decimal(const char *s, unsigned long *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > 9 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	*out = strtoul(s, NULL, 10);
	return true;
}

static bool
cfg_printable(const char *s, bool space_ok)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch >= 0x7f || (!space_ok && ch == ' '))
			return false;
	}
	return true;
}

static int
cfg_check_len(const struct cfg_key *k, const char *s, char *msg, size_t len)
{
	size_t n = strlen(s);

	if (n < k->min) {
		snprintf(msg, len, "must not be empty");
		return -EINVAL;
	}
	if (n > k->max) {
		snprintf(msg, len, "%s is longer than %lu characters", CFG_Q(s), k->max);
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_len(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu chars", k->min, k->max);
}

static int
cfg_parse_name(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (cfg_check_len(k, s, msg, len) < 0)
		return -EINVAL;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
			snprintf(msg, len, "%s may only contain A-Z a-z 0-9 _ -", CFG_Q(s));
			return -EINVAL;
		}
	v->s = s;
	return 0;
}

static void
cfg_range_name(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu chars of `A-Z a-z 0-9 _ -`", k->min, k->max);
}

static int
cfg_parse_text(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (cfg_check_len(k, s, msg, len) < 0)
		return -EINVAL;
	if (!cfg_printable(s, true)) {
		snprintf(msg, len, "%s contains a control or non-ASCII character", CFG_Q(s));
		return -EINVAL;
	}
	v->s = s;
	return 0;
}

/* "addr/prefix" with the prefix required: a router address without its
 * subnet is a guess we do not want to make. */
static int
cfg_parse_prefix(const struct cfg_key *k, const char *s, int af, union cfg_val *v,
		 char *msg, size_t len)
{
	const char *what = af == AF_INET ? "IPv4" : "IPv6";
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN];
	unsigned long prefix;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr)) {
		snprintf(msg, len, "%s is not an %s address/prefix%s", CFG_Q(s), what,
			 slash == NULL ? " (the /prefix is required)" : "");
		return -EINVAL;
	}
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	memset(v->ip.addr, 0, sizeof(v->ip.addr));
	if (inet_pton(af, addr, v->ip.addr) != 1 || !cfg_decimal(slash + 1, &prefix)) {
		snprintf(msg, len, "%s is not an %s address/prefix", CFG_Q(s), what);
		return -EINVAL;
	}
	if (prefix < k->min || prefix > k->max) {
		snprintf(msg, len, "%s: prefix %lu is out of range (%lu..%lu)", CFG_Q(s), prefix,
			 k->min, k->max);
		return -EINVAL;
	}
	v->ip.prefix = (uint8_t)prefix;
	return 0;
}

static int
cfg_parse_ipv4(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	const uint8_t *a = v->ip.addr;

	if (cfg_parse_prefix(k, s, AF_INET, v, msg, len) < 0)
		return -EINVAL;
	/* The port answers ARP for it and sources replies from it. */
	if ((a[0] | a[1] | a[2] | a[3]) == 0 || a[0] == 127 || a[0] >= 224) {
		snprintf(msg, len, "%s is not a unicast address", CFG_Q(s));
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_ipv4(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "unicast, prefix %lu..%lu", k->min, k->max);
}

static int
cfg_parse_ipv6(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a = v->ip.addr;

	if (cfg_parse_prefix(k, s, AF_INET6, v, msg, len) < 0)
		return -EINVAL;
	/* Link-local ones the kernel side derives itself; the others cannot be
	 * an interface's own global address. */
	if (memcmp(a, zero, 16) == 0 || (memcmp(a, zero, 15) == 0 && a[15] == 1) ||
	    a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    memcmp(a, mapped, sizeof(mapped)) == 0) {
		snprintf(msg, len, "%s is not a global unicast address "
			 "(multicast, link-local, loopback, unspecified and v4-mapped are not)",
			 CFG_Q(s));
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_ipv6(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "global unicast, prefix %lu..%lu", k->min, k->max);
}

static int
cfg_parse_queues(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (strcmp(s, "auto") == 0) {
		v->u = 0;
		return 0;
	}
	if (!cfg_decimal(s, &v->u)) {
		snprintf(msg, len, "%s is not auto or a number", CFG_Q(s));
		return -EINVAL;
	}
	if (v->u < k->min || v->u > k->max) {
		snprintf(msg, len, "%lu is out of range (auto or %lu..%lu)", v->u, k->min, k->max);
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_queues(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`auto` or %lu..%lu", k->min, k->max);
}

static int
cfg_parse_bool(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	(void)k;
	for (size_t i = 0; i < CFG_DIM(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			v->b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			v->b = false;
			return 0;
		}
	}
	snprintf(msg, len, "%s is not a boolean (true or false)", CFG_Q(s));
	return -EINVAL;
}

static void
cfg_range_bool(const struct cfg_key *k, char *buf, size_t len)
{
	(void)k;
	snprintf(buf, len, "`true` or `false`");
}

/* The kernel's own rule (dev_valid_name), so creating it cannot fail on the name. */
static int
cfg_parse_ifname(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (cfg_check_len(k, s, msg, len) < 0)
		return -EINVAL;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || !cfg_printable(s, false) ||
	    strpbrk(s, "/:") != NULL) {
		snprintf(msg, len, "%s is not a valid interface name", CFG_Q(s));
		return -EINVAL;
	}
	v->s = s;
	return 0;
}

static void
cfg_range_ifname(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu chars, no `/`, `:` or space", k->min, k->max);
}

/* A Unix socket path must fit sun_path (108 bytes with its NUL). */
static int
cfg_parse_path(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (cfg_parse_text(k, s, v, msg, len) < 0)
		return -EINVAL;
	if (s[0] != '/' || s[strlen(s) - 1] == '/') {
		snprintf(msg, len, "%s is not an absolute file path", CFG_Q(s));
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_path(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "absolute, %lu..%lu chars", k->min, k->max);
}

static int
cfg_parse_group(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	if (cfg_check_len(k, s, msg, len) < 0)
		return -EINVAL;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		      (*p == '-' && p != s))) {
			snprintf(msg, len, "%s is not a valid group name", CFG_Q(s));
			return -EINVAL;
		}
	v->s = s;
	return 0;
}

static void
cfg_range_group(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu chars of `A-Z a-z 0-9 _ . -`", k->min, k->max);
}

static void
cfg_join(const char *const *v, const char *quote, const char *sep, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; v[i] != NULL && o < len; i++) {
		int r = snprintf(buf + o, len - o, "%s%s%s%s", i ? sep : "", quote, v[i], quote);

		if (r < 0)
			break;
		o += (size_t)r;
	}
}

static int
cfg_parse_enum(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	char all[256];

	for (unsigned int i = 0; k->allowed[i] != NULL; i++)
		if (strcmp(s, k->allowed[i]) == 0) {
			v->s = k->allowed[i];
			return 0;
		}
	cfg_join(k->allowed, "", ", ", all, sizeof(all));
	snprintf(msg, len, "%s is not one of %s", CFG_Q(s), all);
	return -EINVAL;
}

static void
cfg_range_enum(const struct cfg_key *k, char *buf, size_t len)
{
	cfg_join(k->allowed, "`", ", ", buf, len);
}

static const struct cfg_type cfg_t_name = { "string", cfg_parse_name, cfg_range_name };
static const struct cfg_type cfg_t_device = { "string", cfg_parse_text, cfg_range_len };
static const struct cfg_type cfg_t_ipv4 = { "IPv4 address/prefix", cfg_parse_ipv4, cfg_range_ipv4 };
static const struct cfg_type cfg_t_ipv6 = { "IPv6 address/prefix", cfg_parse_ipv6, cfg_range_ipv6 };
static const struct cfg_type cfg_t_queues = { "`auto` or integer", cfg_parse_queues,
					      cfg_range_queues };
static const struct cfg_type cfg_t_bool = { "boolean", cfg_parse_bool, cfg_range_bool };
static const struct cfg_type cfg_t_ifname = { "interface name", cfg_parse_ifname,
					      cfg_range_ifname };
static const struct cfg_type cfg_t_path = { "path", cfg_parse_path, cfg_range_path };
static const struct cfg_type cfg_t_group = { "group name", cfg_parse_group, cfg_range_group };
static const struct cfg_type cfg_t_enum = { "enum", cfg_parse_enum, cfg_range_enum };

/* ------------------------------------------------------------------------ */
/* Stores (value -> struct tern_config) and shows (struct -> JSON) */

static int
cfg_dup(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst == NULL ? -ENOMEM : 0;
}

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

/* ------------------------------------------------------------------------ */

static const char *const cfg_default_args[] = {
	"-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", "tern", NULL,
};

static const char *const cfg_log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL,
};

static const struct cfg_key cfg_keys[] = {
	{ "dpdk", CFG_MAP,
	  .doc = "DPDK settings." },
	{ "dpdk.args", CFG_STRLIST, .def_list = cfg_default_args, .min = 1, .max = 64,
	  .store = cfg_store_args, .show = cfg_show_args,
	  .doc = "EAL arguments, as on a DPDK application's command line; ternd adds argv[0]. "
		 "Cores (`-l`), memory (`-m`, `--no-huge`), `--file-prefix`, `-a`, `--vdev`." },
	{ "ports", CFG_LIST, .flags = CFG_F_REQUIRED, .min = 1, .max = DP_MAX_PORTS,
	  .store = cfg_store_ports,
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
};

#define CFG_NB_KEYS CFG_DIM(cfg_keys)

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

static const char *
cfg_leaf_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL ? dot + 1 : path;
}

static bool
cfg_is_child(const struct cfg_key *k, const char *parent, size_t plen)
{
	return cfg_parent_len(k->path) == plen && strncmp(k->path, parent, plen) == 0;
}

/* The row of an instance path: "ports[3].name" -> "ports[].name". */
static const struct cfg_key *
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
	for (size_t i = 0; i < CFG_NB_KEYS; i++)
		if (strcmp(cfg_keys[i].path, norm) == 0)
			return &cfg_keys[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The libcyaml schema, built from the table */

/* Every mapping loads into this: slot i holds the table's i-th child. */
struct cfg_slot {
	void *ptr;
	uint32_t count;
};

struct cfg_raw {
	struct cfg_slot slot[CFG_MAX_CHILDREN];
};

struct cfg_schema {
	cyaml_schema_value_t top;
	cyaml_schema_value_t entry[CFG_NB_KEYS];
	cyaml_schema_field_t fields[2 * CFG_NB_KEYS + 2];
	unsigned int used;
	bool too_wide;                 /* a mapping has more keys than struct cfg_raw */
};

#define CFG_CY_OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
/* null and empty scalars load as NULL: absent, the default applies */
#define CFG_CY_NULL_OPT (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)

static const cyaml_schema_value_t cfg_cy_arg = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t *
cfg_schema_map(struct cfg_schema *s, const char *prefix, size_t plen)
{
	cyaml_schema_field_t *fields = &s->fields[s->used];
	unsigned int n = 0;

	for (size_t i = 0; i < CFG_NB_KEYS; i++)
		n += cfg_is_child(&cfg_keys[i], prefix, plen);
	if (n > CFG_MAX_CHILDREN) {
		/* a table edit, caught by the first test run rather than by memory */
		s->too_wide = true;
		return fields;
	}
	s->used += n + 1;  /* and the zeroed end marker */

	n = 0;
	for (size_t i = 0; i < CFG_NB_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		cyaml_schema_field_t *f;

		if (!cfg_is_child(k, prefix, plen))
			continue;
		f = &fields[n];
		f->key = cfg_leaf_name(k->path);
		f->data_offset = offsetof(struct cfg_raw, slot) + n * sizeof(struct cfg_slot) +
				 offsetof(struct cfg_slot, ptr);
		switch (k->kind) {
		case CFG_LEAF:
			f->value = (cyaml_schema_value_t){
				CYAML_VALUE_STRING(CFG_CY_NULL_OPT, char, 0, CYAML_UNLIMITED),
			};
			break;
		case CFG_MAP:
			f->value = (cyaml_schema_value_t){
				CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
						    struct cfg_raw,
						    cfg_schema_map(s, k->path, strlen(k->path))),
			};
			break;
		case CFG_LIST:
		case CFG_STRLIST:
			f->count_offset = offsetof(struct cfg_raw, slot) +
					  n * sizeof(struct cfg_slot) +
					  offsetof(struct cfg_slot, count);
			f->count_size = sizeof(uint32_t);
			if (k->kind == CFG_LIST) {
				s->entry[i] = (cyaml_schema_value_t){
					CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct cfg_raw,
							    cfg_schema_map(s, k->path,
									   strlen(k->path))),
				};
				f->value = (cyaml_schema_value_t){
					CYAML_VALUE_SEQUENCE(CFG_CY_OPT, struct cfg_raw,
							     &s->entry[i], (uint32_t)k->min,
							     (uint32_t)k->max),
				};
			} else {
				f->value = (cyaml_schema_value_t){
					CYAML_VALUE_SEQUENCE(CFG_CY_OPT, char *, &cfg_cy_arg,
							     (uint32_t)k->min, (uint32_t)k->max),
				};
			}
			break;
		}
		n++;
	}
	return fields;
}

static void
cfg_schema_build(struct cfg_schema *s)
{
	memset(s, 0, sizeof(*s));
	s->top = (cyaml_schema_value_t){
		CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct cfg_raw, cfg_schema_map(s, "", 0)),
	};
}

/* ------------------------------------------------------------------------ */
/* Locations: one pass over libyaml's events */

static int
cfg_loc_add(struct cfg_ctx *c, const char *path, unsigned int line)
{
	unsigned int first = cfg_line(c, path);

	if (first)
		return cfg_fail_at(c, path, line, "duplicate key (first at line %u)", first);
	if (c->nb_locs == CFG_MAX_LOCS)
		return 0;  /* only messages lose their line from here on */
	if (c->locs == NULL) {
		c->locs = calloc(CFG_MAX_LOCS, sizeof(*c->locs));
		if (c->locs == NULL)
			return cfg_fail_at(c, NULL, 0, "out of memory");
	}
	c->locs[c->nb_locs].path = strdup(path);
	if (c->locs[c->nb_locs].path == NULL)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	c->locs[c->nb_locs++].line = line;
	return 0;
}

static void
cfg_locs_free(struct cfg_ctx *c)
{
	for (unsigned int i = 0; i < c->nb_locs; i++)
		free(c->locs[i].path);
	free(c->locs);
	c->locs = NULL;
	c->nb_locs = 0;
}

static unsigned int
cfg_offset_line(const struct cfg_ctx *c, size_t off)
{
	unsigned int line = 1;

	for (size_t i = 0; i < off && i < c->len; i++)
		line += c->yaml[i] == '\n';
	return line;
}

static int
cfg_yaml_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem != NULL ? p->problem : "malformed YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	if (p->error == YAML_READER_ERROR)
		return cfg_fail_at(c, NULL, cfg_offset_line(c, p->problem_offset),
				   "YAML syntax error: %s", problem);
	if (p->context != NULL)
		return cfg_fail_at(c, NULL, 0, "line %zu, column %zu: YAML syntax error: %s "
				   "(%s at line %zu)", p->problem_mark.line + 1,
				   p->problem_mark.column + 1, problem, p->context,
				   p->context_mark.line + 1);
	return cfg_fail_at(c, NULL, 0, "line %zu, column %zu: YAML syntax error: %s",
			   p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

struct cfg_frame {
	bool map;
	bool want_key;
	unsigned int index;
	size_t plen;
};

/* A node in value position starts: give it its path (sequence entries). */
static int
cfg_scan_value(struct cfg_ctx *c, struct cfg_frame *top, char *path, unsigned int line)
{
	if (top == NULL || top->map)
		return 0;
	snprintf(path + top->plen, CFG_PATH_LEN - top->plen, "[%u]", top->index);
	return cfg_loc_add(c, path, line);
}

/* A node in value position ended: back to the parent's path. */
static void
cfg_scan_done(struct cfg_frame *top, char *path)
{
	if (top == NULL)
		return;
	if (top->map)
		top->want_key = true;
	else
		top->index++;
	path[top->plen] = '\0';
}

static int
cfg_scan(struct cfg_ctx *c)
{
	struct cfg_frame st[CFG_MAX_DEPTH];
	char path[CFG_PATH_LEN] = "";
	unsigned int depth = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	bool end = false;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return cfg_fail_at(c, NULL, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->yaml, c->len);
	while (!end && rc == 0) {
		struct cfg_frame *top = depth ? &st[depth - 1] : NULL;
		unsigned int line;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = cfg_yaml_error(c, &p);
			break;
		}
		line = (unsigned int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = cfg_fail_at(c, NULL, line, "more than one YAML document");
			break;
		case YAML_ALIAS_EVENT:
			rc = cfg_fail_at(c, NULL, line, "YAML aliases are not supported");
			break;
		case YAML_SCALAR_EVENT:
			/* "\0" in a quoted scalar would silently cut the C string */
			if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
				rc = cfg_fail_at(c, NULL, line, "NUL character in a value");
				break;
			}
			if (top != NULL && top->map && top->want_key) {
				const char *key = (const char *)ev.data.scalar.value;

				snprintf(path + top->plen, CFG_PATH_LEN - top->plen, "%s%.*s",
					 top->plen ? "." : "", CFG_KEY_SHOWN, key);
				top->want_key = false;
				rc = cfg_loc_add(c, path, line);
			} else {
				rc = cfg_scan_value(c, top, path, line);
				cfg_scan_done(top, path);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (top != NULL && top->map && top->want_key) {
				rc = cfg_fail_at(c, NULL, line,
						 "complex mapping keys are not supported");
				break;
			}
			if (depth == CFG_MAX_DEPTH) {
				rc = cfg_fail_at(c, NULL, line, "nested deeper than %u levels",
						 CFG_MAX_DEPTH);
				break;
			}
			rc = cfg_scan_value(c, top, path, line);
			st[depth++] = (struct cfg_frame){
				.map = ev.type == YAML_MAPPING_START_EVENT,
				.want_key = true,
				.plen = strlen(path),
			};
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			cfg_scan_done(depth ? &st[depth - 1] : NULL, path);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* libcyaml's messages, rewritten */

static void
cfg_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cfg_ctx *c = ctx;
	int r;

	(void)level;
	if (c->cylog_len >= sizeof(c->cylog) - 1)
		return;
	r = vsnprintf(c->cylog + c->cylog_len, sizeof(c->cylog) - c->cylog_len, fmt, args);
	if (r > 0)
		c->cylog_len += (size_t)r;
	if (c->cylog_len > sizeof(c->cylog) - 1)
		c->cylog_len = sizeof(c->cylog) - 1;
}

static unsigned int
cfg_edit_distance(const char *a, const char *b)
{
	unsigned int la = (unsigned int)strlen(a), lb = (unsigned int)strlen(b);
	unsigned int d[CFG_KEY_SHOWN + 1];

	if (la > CFG_KEY_SHOWN || lb > CFG_KEY_SHOWN)
		return ~0u;
	for (unsigned int j = 0; j <= lb; j++)
		d[j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = d[0];

		d[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = d[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			diag = up;
			d[j] = best;
		}
	}
	return d[lb];
}

static int
cfg_unknown_key(struct cfg_ctx *c, const char *parent, unsigned int pline, const char *key)
{
	const struct cfg_key *pk = parent[0] != '\0' ? cfg_key_find(parent) : NULL;
	const char *ptab = pk != NULL ? pk->path : "";
	char path[CFG_PATH_LEN], hint[96] = "";
	unsigned int line;

	snprintf(path, sizeof(path), "%.*s%s%.*s", CFG_PATH_LEN - CFG_KEY_SHOWN - 2, parent,
		 parent[0] ? "." : "", CFG_KEY_SHOWN, key);
	line = cfg_line(c, path);
	for (size_t i = 0; i < CFG_NB_KEYS; i++) {
		const char *name = cfg_leaf_name(cfg_keys[i].path);

		if (cfg_is_child(&cfg_keys[i], ptab, strlen(ptab)) &&
		    cfg_edit_distance(key, name) <= 2) {
			snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", name);
			break;
		}
	}
	if (parent[0] == '\0')
		return cfg_fail_at(c, NULL, line ? line : pline, "unknown key %s at top level%s",
				   CFG_Q(key), hint);
	return cfg_fail_at(c, NULL, line ? line : pline, "unknown key %s in %s%s", CFG_Q(key),
			   parent, hint);
}

static const char *
cfg_expected(const char *path)
{
	const struct cfg_key *k = cfg_key_find(path);
	size_t n = strlen(path);

	if (path[0] == '\0')
		return "a mapping";
	if (k == NULL && n > 0 && path[n - 1] == ']') {
		/* an entry: of a list of mappings or of strings */
		char parent[CFG_PATH_LEN];

		snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(path, '[') - path), path);
		k = cfg_key_find(parent);
		return k != NULL && k->kind == CFG_LIST ? "a mapping" : "a string";
	}
	if (k == NULL)
		return "something else";
	switch (k->kind) {
	case CFG_MAP:
		return "a mapping";
	case CFG_LIST:
		return "a sequence of mappings";
	case CFG_STRLIST:
		return "a sequence of strings";
	case CFG_LEAF:
		return k->type->name;
	}
	return "something else";
}

static const char *
cfg_event_name(const char *ev)
{
	if (strncmp(ev, "SCALAR", 6) == 0)
		return "a scalar";
	if (strncmp(ev, "SEQUENCE_START", 14) == 0)
		return "a sequence";
	if (strncmp(ev, "MAPPING_START", 13) == 0)
		return "a mapping";
	return ev;
}

static int
cfg_cyaml_error(struct cfg_ctx *c, cyaml_err_t e)
{
	struct {
		char key[CFG_KEY_SHOWN + 1];
		unsigned int entry;  /* 1-based; 0 = a mapping field or the mapping */
		unsigned int line;
	} fr[CFG_MAX_DEPTH * 2];
	char path[CFG_PATH_LEN] = "", msg[256] = "", *save = NULL;
	unsigned int nfr = 0, inner = 0, line = 0;
	const struct cfg_key *k;

	c->cylog[c->cylog_len] = '\0';
	for (char *l = strtok_r(c->cylog, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned int u, ln, col;
		char key[CFG_KEY_SHOWN + 1];

		if (nfr < CFG_DIM(fr) &&
		    sscanf(l, " in mapping field '%64[^']' (line: %u, column: %u)", key, &ln,
			   &col) == 3) {
			snprintf(fr[nfr].key, sizeof(fr[nfr].key), "%s", key);
			fr[nfr].entry = 0;
			fr[nfr++].line = ln;
		} else if (nfr < CFG_DIM(fr) &&
			   sscanf(l, " in sequence entry '%u' (line: %u, column: %u)", &u, &ln,
				  &col) == 3) {
			fr[nfr].key[0] = '\0';
			fr[nfr].entry = u;
			fr[nfr++].line = ln;
		} else if (nfr < CFG_DIM(fr) &&
			   sscanf(l, " in mapping (line: %u, column: %u)", &ln, &col) == 2) {
			fr[nfr].key[0] = '\0';
			fr[nfr].entry = 0;
			fr[nfr++].line = ln;
		} else if (strncmp(l, "Load: ", 6) == 0 && strcmp(l, "Load: Backtrace:") != 0 &&
			   msg[0] == '\0') {
			snprintf(msg, sizeof(msg), "%s", l + 6);
		}
	}
	/* Entry counts in a too-long/short sequence name the count, not an entry. */
	if ((strncmp(msg, "Excessive", 9) == 0 || strncmp(msg, "Insufficient", 12) == 0) &&
	    nfr > 0 && fr[0].entry)
		inner = 1;
	if (nfr > inner)
		line = fr[inner].line;
	for (unsigned int i = nfr; i-- > inner;) {
		size_t o = strlen(path);

		if (fr[i].key[0] != '\0')
			snprintf(path + o, sizeof(path) - o, "%s%s", o ? "." : "", fr[i].key);
		else if (fr[i].entry)
			snprintf(path + o, sizeof(path) - o, "[%u]", fr[i].entry - 1);
	}
	k = cfg_key_find(path);

	if (strncmp(msg, "Unexpected key: ", 16) == 0)
		return cfg_unknown_key(c, path, line, msg + 16);
	if (strncmp(msg, "Expecting ", 10) == 0 && strstr(msg, "got event: ") != NULL) {
		const char *got = cfg_event_name(strstr(msg, "got event: ") + 11);

		if (path[0] == '\0')
			return cfg_fail_at(c, NULL, line, "the configuration must be a mapping, "
					   "got %s", got);
		return cfg_fail_at(c, path, line, "expected %s, got %s", cfg_expected(path), got);
	}
	if (strncmp(msg, "Mapping field already seen", 26) == 0)
		return cfg_fail_at(c, path, line, "duplicate key");
	if (strncmp(msg, "Excessive", 9) == 0 && k != NULL)
		return cfg_fail_at(c, path, line, "too many entries (at most %lu)", k->max);
	if (strncmp(msg, "Insufficient", 12) == 0 && k != NULL)
		return cfg_fail_at(c, path, line, "too few entries (at least %lu)", k->min);
	if (e == CYAML_ERR_OOM)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	return cfg_fail_at(c, path, line, "%s", msg[0] != '\0' ? msg : cyaml_strerror(e));
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

	for (size_t i = 0; i < CFG_NB_KEYS && rc == 0; i++) {
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
	free(cfg->ctl_group);
	free(cfg->log_level);
	free(cfg);
}

struct tern_config *
tern_config_parse(const char *yaml, size_t len, const char *name, char *err, size_t errlen)
{
	struct cfg_ctx c = { .err = err, .errlen = errlen, .yaml = yaml, .len = len };
	const cyaml_config_t cy = {
		.log_fn = cfg_cyaml_log,
		.log_ctx = &c,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_NO_ALIAS,
	};
	struct cfg_schema schema;
	struct cfg_raw *raw = NULL;
	const char *nul;
	cyaml_err_t e;

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
	if (cfg_scan(&c) < 0)
		goto fail;

	cfg_schema_build(&schema);
	if (schema.too_wide) {
		cfg_fail_at(&c, NULL, 0, "internal error: a mapping has more than %u keys",
			    CFG_MAX_CHILDREN);
		goto fail;
	}
	e = cyaml_load_data((const uint8_t *)yaml, len, &cy, &schema.top, (cyaml_data_t **)&raw,
			    NULL);
	if (e != CYAML_OK) {
		cfg_cyaml_error(&c, e);
		goto fail;
	}

	c.cfg = calloc(1, sizeof(*c.cfg));
	if (c.cfg == NULL) {
		cfg_fail_at(&c, NULL, 0, "out of memory");
		goto fail;
	}
	/* an empty document loads as NULL: every key is then missing */
	if (cfg_convert_map(&c, "", raw, "") < 0 || cfg_check_ports(&c) < 0)
		goto fail;
	if (cfg_dup(&c.cfg->source, name != NULL ? name : "<string>") < 0) {
		cfg_fail_at(&c, NULL, 0, "out of memory");
		goto fail;
	}
	cyaml_free(&cy, &schema.top, raw, 0);
	cfg_locs_free(&c);
	return c.cfg;

fail:
	if (raw != NULL)
		cyaml_free(&cy, &schema.top, raw, 0);
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

	for (size_t i = 0; o != NULL && i < CFG_NB_KEYS; i++) {
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
			for (unsigned int j = 0; v != NULL && j < cfg->nb_ports; j++)
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
	for (size_t i = 0; i < CFG_NB_KEYS; i++) {
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
