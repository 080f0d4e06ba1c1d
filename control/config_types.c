/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration value types: each converts and checks one scalar (as the
 * string libcyaml loaded) and describes its range for the docs. Defaults are
 * YAML text too and go through the same functions, so every message has the
 * same shape: "ports[1].rx_queues (line 9): 40 is out of range (auto or 1..16)".
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "control/config_priv.h"

/*
 * Values go into messages that end up on a terminal: quote them, escape
 * anything unprintable, and cut them short.
 */
const char *
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

/*
 * Where ADVERTISE goes: an IPv4 broadcast (255.255.255.255 or a subnet's
 * directed broadcast) or multicast address, or an IPv6 multicast address.
 */
static int
cfg_parse_advaddr(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg,
		  size_t len)
{
	const uint8_t *a = v->ip.addr;

	(void)k;
	memset(v->ip.addr, 0, sizeof(v->ip.addr));
	if (inet_pton(AF_INET, s, v->ip.addr) == 1) {
		v->ip.prefix = 32;
		if ((a[0] | a[1] | a[2] | a[3]) == 0 || a[0] == 127) {
			snprintf(msg, len, "%s is not a broadcast or multicast address", CFG_Q(s));
			return -EINVAL;
		}
		return 0;
	}
	if (inet_pton(AF_INET6, s, v->ip.addr) == 1) {
		v->ip.prefix = 128;
		if (a[0] != 0xff) {
			snprintf(msg, len, "%s is not an IPv6 multicast address (ff00::/8)",
				 CFG_Q(s));
			return -EINVAL;
		}
		return 0;
	}
	snprintf(msg, len, "%s is not an IPv4 or IPv6 address", CFG_Q(s));
	return -EINVAL;
}

static void
cfg_range_advaddr(const struct cfg_key *k, char *buf, size_t len)
{
	(void)k;
	snprintf(buf, len, "IPv4 broadcast or multicast, IPv6 multicast");
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

/* A plain count or size: decimal, within the row's min..max. */
static int
cfg_parse_uint(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || s[n] != '\0' || (s[0] == '0' && n > 1)) {
		snprintf(msg, len, "%s is not a number (decimal, without sign or leading zero)",
			 CFG_Q(s));
		return -EINVAL;
	}
	if (!cfg_decimal(s, &v->u)) {  /* more digits than any range here */
		snprintf(msg, len, "%s is out of range (%lu..%lu)", CFG_Q(s), k->min, k->max);
		return -EINVAL;
	}
	if (v->u < k->min || v->u > k->max) {
		snprintf(msg, len, "%lu is out of range (%lu..%lu)", v->u, k->min, k->max);
		return -EINVAL;
	}
	return 0;
}

static void
cfg_range_uint(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu", k->min, k->max);
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

void
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

/* A host address: IPv4 or IPv6, unicast or the wildcard (any) address; prefix 32 or 128 says which. */
static int
cfg_parse_addr(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	const uint8_t *a = v->ip.addr;

	(void)k;
	memset(v->ip.addr, 0, sizeof(v->ip.addr));
	if (inet_pton(AF_INET, s, v->ip.addr) == 1) {
		v->ip.prefix = 32;
		if (a[0] >= 224) {
			snprintf(msg, len, "%s is not a unicast address", CFG_Q(s));
			return -EINVAL;
		}
		return 0;
	}
	if (inet_pton(AF_INET6, s, v->ip.addr) == 1) {
		v->ip.prefix = 128;
		if (a[0] == 0xff) {
			snprintf(msg, len, "%s is not a unicast address", CFG_Q(s));
			return -EINVAL;
		}
		return 0;
	}
	snprintf(msg, len, "%s is not an IPv4 or IPv6 address", CFG_Q(s));
	return -EINVAL;
}

static void
cfg_range_addr(const struct cfg_key *k, char *buf, size_t len)
{
	(void)k;
	snprintf(buf, len, "IPv4 or IPv6, no prefix");
}

const struct cfg_type cfg_t_name = { "string", cfg_parse_name, cfg_range_name };
const struct cfg_type cfg_t_device = { "string", cfg_parse_text, cfg_range_len };
const struct cfg_type cfg_t_ipv4 = { "IPv4 address/prefix", cfg_parse_ipv4, cfg_range_ipv4 };
const struct cfg_type cfg_t_ipv6 = { "IPv6 address/prefix", cfg_parse_ipv6, cfg_range_ipv6 };
const struct cfg_type cfg_t_queues = { "`auto` or integer", cfg_parse_queues,
				       cfg_range_queues };
const struct cfg_type cfg_t_uint = { "integer", cfg_parse_uint, cfg_range_uint };
const struct cfg_type cfg_t_bool = { "boolean", cfg_parse_bool, cfg_range_bool };
const struct cfg_type cfg_t_ifname = { "interface name", cfg_parse_ifname,
				       cfg_range_ifname };
const struct cfg_type cfg_t_path = { "path", cfg_parse_path, cfg_range_path };
const struct cfg_type cfg_t_group = { "group name", cfg_parse_group, cfg_range_group };
const struct cfg_type cfg_t_enum = { "enum", cfg_parse_enum, cfg_range_enum };
/* Octets in hexadecimal: an even number of digits, min..max of them. */
static int
cfg_parse_hex(const struct cfg_key *k, const char *s, union cfg_val *v, char *msg, size_t len)
{
	size_t n = strlen(s);

	if (cfg_check_len(k, s, msg, len) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i])) {
			snprintf(msg, len, "a hexadecimal string, not %s", CFG_Q(s));
			return -EINVAL;
		}
	if (n % 2 != 0) {
		snprintf(msg, len, "an even number of hexadecimal digits (whole octets), not %zu", n);
		return -EINVAL;
	}
	v->s = s;
	return 0;
}

static void
cfg_range_hex(const struct cfg_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lu..%lu octets", k->min / 2, k->max / 2);
}

const struct cfg_type cfg_t_hex = { "hex string", cfg_parse_hex, cfg_range_hex };
const struct cfg_type cfg_t_text = { "string", cfg_parse_text, cfg_range_len };
const struct cfg_type cfg_t_advaddr = { "IP address", cfg_parse_advaddr, cfg_range_advaddr };
const struct cfg_type cfg_t_addr = { "IP address", cfg_parse_addr, cfg_range_addr };
