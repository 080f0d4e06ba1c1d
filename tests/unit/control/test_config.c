/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration's contract: the built-in default and the documented
 * examples parse into the expected port parameters; every kind of mistake
 * yields NULL and one line naming the key (with its index) and the line;
 * the JSON of the effective configuration parses back to the same thing;
 * docs/configuration.md carries exactly the schema table the code prints;
 * and no input, however mangled, crashes the parser (run it under ASan).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/config.h"
#include "tests/unit/tap.h"

static char source_root[4096];

/*
 * meson passes TERN_SOURCE_ROOT; by hand, __FILE__ (relative to the build
 * directory) or the current directory locate the tree.
 */
static void
find_source_root(void)
{
	const char *tail = "tests/unit/control/test_config.c";
	size_t n = strlen(__FILE__), t = strlen(tail);
	char from_file[4096] = "", probe[8192];
	const char *cand[3] = { getenv("TERN_SOURCE_ROOT"), from_file, "." };

	if (n >= t && strcmp(__FILE__ + n - t, tail) == 0)
		snprintf(from_file, sizeof(from_file), "%.*s.", (int)(n - t), __FILE__);
	for (int i = 0; i < 3; i++) {
		if (cand[i] == NULL || cand[i][0] == '\0' || strlen(cand[i]) >= 4096)
			continue;
		snprintf(probe, sizeof(probe), "%s/docs/configuration.md", cand[i]);
		if (access(probe, R_OK) == 0) {
			snprintf(source_root, sizeof(source_root), "%s", cand[i]);
			return;
		}
	}
	snprintf(source_root, sizeof(source_root), ".");
}

static char *
slurp(const char *rel, size_t *len)
{
	char path[8192];
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/%s", source_root, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			if (buf == NULL)
				break;
		}
		size_t r = fread(buf + n, 1, 4096, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (buf != NULL)
		buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

static struct tern_config *
parse(const char *yaml, char *err, size_t errlen)
{
	return tern_config_parse(yaml, strlen(yaml), "test.yaml", err, errlen);
}

/* One valid port: bad cases add to it (its last line is line 4). */
#define PORT0 "ports:\n  - name: p0\n    device: net_null0\n    ipv4: 192.0.2.1/24\n"

static void
test_default(void)
{
	static const char *const args[] = {
		"ternd", "-l", "0-1", "--no-pci", "--no-huge", "-m", "512", "--file-prefix", "tern",
	};
	uint8_t ip4[4], ip6[16];
	char err[512] = "";
	struct tern_config *cfg;
	const struct dp_port_params *p;

	cfg = tern_config_parse(tern_config_default_yaml, strlen(tern_config_default_yaml),
				"<built-in>", err, sizeof(err));
	if (!ok(cfg != NULL, "the built-in default parses")) {
		printf("#   %s\n", err);
		return;
	}
	is_str(cfg->source, "<built-in>", "source is the name given");
	is_int(cfg->eal_argc, 9, "eal_argc: ternd + 8 arguments");
	for (int i = 0; i < 9 && i < cfg->eal_argc; i++)
		is_str(cfg->eal_argv[i], args[i], "eal_argv[%d]", i);
	ok(cfg->eal_argv[cfg->eal_argc] == NULL, "eal_argv is NULL-terminated");
	is_int(cfg->nb_ports, 1, "one port");
	p = &cfg->ports[0];
	is_str(p->name, "p0", "port name");
	is_str(p->device, "net_tap0,iface=tern0", "port device");
	inet_pton(AF_INET, "192.0.2.1", ip4);
	inet_pton(AF_INET6, "2001:db8::1", ip6);
	ok(p->has_ip4 && p->has_ip6, "both address families");
	is_mem(p->ip4, ip4, 4, "ip4 in network order");
	is_int(p->ip4_prefix, 24, "ip4 prefix");
	is_mem(p->ip6, ip6, 16, "ip6 in network order");
	is_int(p->ip6_prefix, 64, "ip6 prefix");
	is_int(p->rx_queues, 0, "rx_queues auto is 0");
	ok(p->exception, "exception interface on by default");
	is_str(p->exception_iface, "tern-p0", "exception_iface defaults to tern-<name>");
	is_str(cfg->ctl_socket, "/run/tern/ternctl.sock", "control socket");
	ok(cfg->ctl_group == NULL, "no control group");
	is_str(cfg->log_level, "info", "log level");
	tern_config_free(cfg);
}

/* Omitted keys take the documented defaults; dpdk.args the built-in's. */
static void
test_defaults_apply(void)
{
	char err[512] = "";
	struct tern_config *cfg, *def;

	cfg = parse("ports:\n  - name: a\n    device: net_null0\n    ipv6: 2001:db8::2/64\n",
		    err, sizeof(err));
	def = parse(tern_config_default_yaml, err, sizeof(err));
	if (!ok(cfg != NULL && def != NULL, "a config with only required keys parses")) {
		printf("#   %s\n", err);
		tern_config_free(cfg);
		tern_config_free(def);
		return;
	}
	is_int(cfg->eal_argc, def->eal_argc, "default dpdk.args are the built-in default's");
	for (int i = 0; i < cfg->eal_argc && i < def->eal_argc; i++)
		is_str(cfg->eal_argv[i], def->eal_argv[i], "default eal_argv[%d]", i);
	ok(!cfg->ports[0].has_ip4 && cfg->ports[0].has_ip6, "ipv6 only");
	is_int(cfg->ports[0].rx_queues, 0, "rx_queues default auto");
	ok(cfg->ports[0].exception, "exception default true");
	is_str(cfg->ports[0].exception_iface, "tern-a", "exception_iface default");
	is_str(cfg->ctl_socket, "/run/tern/ternctl.sock", "control.socket default");
	ok(cfg->ctl_group == NULL, "control.group default none");
	is_str(cfg->log_level, "info", "log.level default");
	tern_config_free(cfg);
	tern_config_free(def);

	/* a file without mqttsn:, and one with an empty mqttsn: */
	for (int empty = 0; empty < 2; empty++) {
		const struct dp_mqttsn_params *m;

		cfg = parse(empty ? PORT0 "mqttsn:\n" : PORT0, err, sizeof(err));
		if (!ok(cfg != NULL, "%s mqttsn section parses", empty ? "an empty" : "no")) {
			printf("#   %s\n", err);
			continue;
		}
		m = &cfg->mqttsn;
		ok(m->enabled, "mqttsn.enabled default true");
		is_int(m->port, 1883, "mqttsn.port default");
		is_int(m->max_clients, 10000, "mqttsn.max_clients default");
		is_int(m->max_topics, 100000, "mqttsn.max_topics default");
		is_int(m->max_subscriptions, 100000, "mqttsn.max_subscriptions default");
		is_int(m->max_registered_ids, 64, "mqttsn.max_registered_ids default");
		is_int(m->max_subscriptions_per_client, 32,
		       "mqttsn.max_subscriptions_per_client default");
		is_int(m->max_inflight, 8, "mqttsn.max_inflight default");
		is_int(m->max_sleep_buffer, 16, "mqttsn.max_sleep_buffer default");
		is_int(m->max_message_size, 1024, "mqttsn.max_message_size default");
		is_int(m->retry_ms, 10000, "mqttsn.retry_ms default (Tretry 10 s)");
		is_int(m->retries, 3, "mqttsn.retries default");
		is_int(m->keepalive_tolerance_pct, 150, "mqttsn.keepalive_tolerance_pct default");
		ok(m->qos_minus_one, "mqttsn.qos_minus_one default true");
		tern_config_free(cfg);
	}

	/* null and empty values mean "the default" too */
	cfg = parse("control:\nlog: {level: ~}\nports:\n  - name: a\n    device: net_null0\n"
		    "    ipv4: 192.0.2.1/24\n    exception_iface:\n    rx_queues: null\n",
		    err, sizeof(err));
	if (ok(cfg != NULL, "null/empty values and empty mappings parse")) {
		is_str(cfg->ports[0].exception_iface, "tern-a", "empty exception_iface: default");
		is_str(cfg->log_level, "info", "null log.level: default");
		is_str(cfg->ctl_socket, "/run/tern/ternctl.sock", "empty control: defaults");
	} else {
		printf("#   %s\n", err);
	}
	tern_config_free(cfg);

	/* exception: false leaves no interface name to invent */
	cfg = parse("ports:\n  - name: a_very_long_port_name_123\n    device: net_null0\n"
		    "    ipv4: 192.0.2.1/24\n    exception: off\n", err, sizeof(err));
	if (ok(cfg != NULL, "long name without exception interface parses")) {
		ok(!cfg->ports[0].exception, "exception: off is false");
		is_str(cfg->ports[0].exception_iface, "", "no exception_iface invented");
	} else {
		printf("#   %s\n", err);
	}
	tern_config_free(cfg);
}

static void
test_examples(void)
{
	char path[8192], err[512] = "";
	struct tern_config *cfg;
	uint8_t ip6[16];

	snprintf(path, sizeof(path), "%s/docs/examples/minimal.yaml", source_root);
	cfg = tern_config_load(path, err, sizeof(err));
	if (ok(cfg != NULL, "docs/examples/minimal.yaml parses"))
		is_str(cfg->source, path, "source is the file path");
	else
		printf("#   %s\n", err);
	tern_config_free(cfg);

	snprintf(path, sizeof(path), "%s/docs/examples/full.yaml", source_root);
	cfg = tern_config_load(path, err, sizeof(err));
	if (!ok(cfg != NULL, "docs/examples/full.yaml parses")) {
		printf("#   %s\n", err);
		return;
	}
	is_int(cfg->nb_ports, 2, "full: two ports");
	is_str(cfg->ports[1].name, "p1", "full: second port's name");
	is_int(cfg->ports[1].rx_queues, 1, "full: p1 rx_queues 1");
	ok(!cfg->ports[1].exception, "full: p1 without exception interface");
	inet_pton(AF_INET6, "2001:db8:1::1", ip6);
	is_mem(cfg->ports[1].ip6, ip6, 16, "full: p1 ipv6");
	is_str(cfg->ctl_group, "tern", "full: control group");
	tern_config_free(cfg);
}

struct bad_case {
	const char *what;
	const char *yaml;
	const char *want[3];  /* substrings of the message */
};

static const struct bad_case bad_cases[] = {
	{ "YAML syntax error", "ports:\n  - name: p0\n   device: x\n",
	  { "line 3", "YAML syntax error" } },
	{ "unknown top-level key", "prots:\n  - name: p0\n",
	  { "unknown key \"prots\" at top level", "line 1", "did you mean \"ports\"" } },
	{ "unknown key in a port", PORT0 "  - name: p1\n    devise: net_null1\n",
	  { "unknown key \"devise\" in ports[1]", "line 6" } },
	{ "unknown key in a section", PORT0 "log:\n  levle: debug\n",
	  { "unknown key \"levle\" in log", "line 6" } },
	{ "wrong type: sequence for a scalar", PORT0 "    exception: [true]\n",
	  { "ports[0].exception (line 5)", "expected boolean, got a sequence" } },
	{ "wrong type: scalar for a sequence", "ports: p0\n",
	  { "ports (line 1)", "expected a sequence of mappings, got a scalar" } },
	{ "wrong type: scalar for a mapping", PORT0 "control: yes\n",
	  { "control (line 5)", "expected a mapping" } },
	{ "wrong type: port entry not a mapping", "ports:\n  - p0\n",
	  { "ports[0]", "line 2", "expected a mapping, got a scalar" } },
	{ "not a boolean", PORT0 "    exception: maybe\n",
	  { "ports[0].exception (line 5): \"maybe\" is not a boolean" } },
	{ "rx_queues out of range", PORT0 "  - name: p1\n    device: net_null1\n"
	  "    ipv4: 192.0.2.2/24\n    rx_queues: 40\n",
	  { "ports[1].rx_queues (line 8): 40 is out of range (auto or 1..16)" } },
	{ "rx_queues zero", PORT0 "    rx_queues: 0\n",
	  { "ports[0].rx_queues (line 5): 0 is out of range" } },
	{ "rx_queues not a number", PORT0 "    rx_queues: many\n",
	  { "ports[0].rx_queues (line 5): \"many\" is not auto or a number" } },
	{ "rx_queues huge", PORT0 "    rx_queues: 99999999999999999999\n",
	  { "ports[0].rx_queues (line 5)" } },
	{ "bad IPv4 address", "ports:\n  - name: p0\n    device: net_null0\n"
	  "    ipv4: \"192.0.2.999/24\"\n",
	  { "ports[0].ipv4 (line 4): \"192.0.2.999/24\" is not an IPv4 address/prefix" } },
	{ "IPv4 without prefix", "ports:\n  - name: p0\n    device: net_null0\n"
	  "    ipv4: 192.0.2.1\n", { "ports[0].ipv4 (line 4)", "prefix is required" } },
	{ "IPv4 prefix too long", "ports:\n  - name: p0\n    device: net_null0\n"
	  "    ipv4: 192.0.2.1/33\n", { "ports[0].ipv4 (line 4)", "prefix 33 is out of range" } },
	{ "IPv4 multicast", "ports:\n  - name: p0\n    device: net_null0\n"
	  "    ipv4: 224.0.0.1/24\n", { "ports[0].ipv4 (line 4)", "not a unicast" } },
	{ "IPv6 garbage", PORT0 "    ipv6: 2001:db8::g/64\n",
	  { "ports[0].ipv6 (line 5)", "is not an IPv6 address/prefix" } },
	{ "IPv6 link-local", PORT0 "    ipv6: fe80::1/64\n",
	  { "ports[0].ipv6 (line 5)", "not a global unicast" } },
	{ "IPv6 multicast", PORT0 "    ipv6: ff02::1/64\n",
	  { "ports[0].ipv6 (line 5)", "not a global unicast" } },
	{ "IPv6 unspecified", PORT0 "    ipv6: \"::/64\"\n",
	  { "ports[0].ipv6 (line 5)", "not a global unicast" } },
	{ "IPv6 prefix too long", PORT0 "    ipv6: 2001:db8::1/129\n",
	  { "ports[0].ipv6 (line 5)", "prefix 129" } },
	{ "no address", "ports:\n  - name: p0\n    device: net_null0\n",
	  { "ports[0] (line 2)", "no address" } },
	{ "duplicate port name", PORT0 "  - name: p0\n    device: net_null1\n"
	  "    ipv4: 192.0.2.2/24\n",
	  { "ports[1].name (line 5)", "duplicate port name \"p0\"" } },
	{ "duplicate device", PORT0 "  - name: p1\n    device: net_null0\n"
	  "    ipv4: 192.0.2.2/24\n", { "ports[1].device (line 6)", "already" } },
	{ "duplicate exception_iface", PORT0 "    exception_iface: x0\n  - name: p1\n"
	  "    device: net_null1\n    ipv4: 192.0.2.2/24\n    exception_iface: x0\n",
	  { "ports[1].exception_iface (line 9)", "already" } },
	{ "missing port name", "ports:\n  - device: net_null0\n    ipv4: 192.0.2.1/24\n",
	  { "ports[0].name: missing required key", "line 2" } },
	{ "missing device", PORT0 "  - name: p1\n    ipv4: 192.0.2.2/24\n",
	  { "ports[1].device: missing required key", "line 5" } },
	{ "missing ports", "log:\n  level: debug\n", { "ports: missing required key" } },
	{ "empty document", "# nothing\n", { "ports: missing required key" } },
	{ "empty ports", "ports: []\n", { "ports (line 1)", "too few entries (at least 1)" } },
	{ "too many ports",
	  "ports: [{name: a, device: d0, ipv4: 10.0.0.1/8},\n"
	  "  {name: b, device: d1, ipv4: 10.0.0.1/8}, {name: c, device: d2, ipv4: 10.0.0.1/8},\n"
	  "  {name: d, device: d3, ipv4: 10.0.0.1/8}, {name: e, device: d4, ipv4: 10.0.0.1/8},\n"
	  "  {name: f, device: d5, ipv4: 10.0.0.1/8}, {name: g, device: d6, ipv4: 10.0.0.1/8},\n"
	  "  {name: h, device: d7, ipv4: 10.0.0.1/8}, {name: i, device: d8, ipv4: 10.0.0.1/8}]\n",
	  { "ports (line 1)", "too many entries (at most 8)" } },
	{ "bad name characters", "ports:\n  - name: p 0\n    device: net_null0\n"
	  "    ipv4: 192.0.2.1/24\n", { "ports[0].name (line 2)", "A-Z a-z 0-9 _ -" } },
	{ "name too long", "ports:\n  - name: abcdefghijabcdefghijabcdefghij12\n"
	  "    device: net_null0\n    ipv4: 192.0.2.1/24\n",
	  { "ports[0].name (line 2)", "longer than 31" } },
	{ "empty name", "ports:\n  - name: \"\"\n    device: net_null0\n"
	  "    ipv4: 192.0.2.1/24\n", { "ports[0].name (line 2)", "a value is required" } },
	{ "device too long", "ports:\n  - name: p0\n    ipv4: 192.0.2.1/24\n    device: "
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	  "dddd\n", { "ports[0].device (line 4)", "longer than 255" } },
	{ "exception_iface too long", PORT0 "    exception_iface: abcdefghijklmnop\n",
	  { "ports[0].exception_iface (line 5)", "longer than 15" } },
	{ "exception_iface with slash", PORT0 "    exception_iface: a/b\n",
	  { "ports[0].exception_iface (line 5)", "not a valid interface name" } },
	{ "default exception_iface too long", "ports:\n  - name: abcdefghijk\n"
	  "    device: net_null0\n    ipv4: 192.0.2.1/24\n",
	  { "ports[0].name (line 2)", "tern-abcdefghijk", "exception_iface" } },
	{ "PCI device with --no-pci", "ports:\n  - name: p0\n    device: \"0000:03:00.0\"\n"
	  "    ipv4: 192.0.2.1/24\n", { "ports[0].device (line 3)", "--no-pci" } },
	{ "bad log level", PORT0 "log:\n  level: verbose\n",
	  { "log.level (line 6)", "\"verbose\" is not one of emerg" } },
	{ "relative socket path", PORT0 "control:\n  socket: tern.sock\n",
	  { "control.socket (line 6)", "absolute" } },
	{ "socket path too long", PORT0 "control:\n  socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  { "control.socket (line 6)", "longer than 107" } },
	{ "bad group", PORT0 "control:\n  group: \"-x\"\n",
	  { "control.group (line 6)", "not a valid group name" } },
	{ "duplicate key", PORT0 "    name: p1\n", { "ports[0].name", "line 5", "duplicate key" } },
	{ "duplicate top-level key", PORT0 "ports: []\n", { "ports", "line 5", "duplicate key" } },
	{ "alias", PORT0 "  - name: &n p1\n    device: *n\n", { "line 6", "alias" } },
	{ "top level is a sequence", "- ports\n", { "must be a mapping, got a sequence" } },
	{ "top level is a scalar", "ports\n", { "must be a mapping, got a scalar" } },
	{ "two documents", PORT0 "---\n" PORT0, { "line 5", "more than one YAML document" } },
	{ "dpdk.args entry not a string", PORT0 "dpdk:\n  args: [\"-l\", [\"0\"]]\n",
	  { "dpdk.args[1] (line 6)", "expected a string, got a sequence" } },
	{ "dpdk.args empty", PORT0 "dpdk:\n  args: []\n",
	  { "dpdk.args (line 6)", "too few entries" } },
	{ "dpdk.args empty argument", PORT0 "dpdk:\n  args: [\"-l\", \"\"]\n",
	  { "dpdk.args[1] (line 6)", "empty argument" } },
	{ "deep nesting", "ports: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  { "line 1", "nested deeper" } },
	{ "invalid UTF-8", PORT0 "log:\n  level: \xff\xfe\n", { "line 6" } },
	{ "complex key", PORT0 "? [a]\n: b\n", { "line 5", "complex mapping keys" } },
	{ "escaped NUL", PORT0 "log:\n  level: \"info\\0debug\"\n",
	  { "line 6", "NUL character" } },
	{ "tab indentation", "ports:\n\t- name: p0\n", { "line 2", "YAML syntax error" } },
	/* mqttsn: one bad value per key, the key path and its line */
	{ "mqttsn not a mapping", PORT0 "mqttsn: on\n", { "mqttsn (line 5)", "expected a mapping" } },
	{ "mqttsn unknown key", PORT0 "mqttsn:\n  max_client: 5\n",
	  { "line 6", "unknown key \"max_client\" in mqttsn", "did you mean \"max_clients\"" } },
	{ "mqttsn.enabled", PORT0 "mqttsn:\n  enabled: 1\n",
	  { "mqttsn.enabled (line 6): \"1\" is not a boolean" } },
	{ "mqttsn.port zero", PORT0 "mqttsn:\n  port: 0\n",
	  { "mqttsn.port (line 6): 0 is out of range (1..65535)" } },
	{ "mqttsn.port too big", PORT0 "mqttsn:\n  enabled: true\n  port: 65536\n",
	  { "mqttsn.port (line 7): 65536 is out of range (1..65535)" } },
	{ "mqttsn.port negative", PORT0 "mqttsn:\n  port: -1\n",
	  { "mqttsn.port (line 6): \"-1\" is not a number" } },
	{ "mqttsn.port octal-looking", PORT0 "mqttsn:\n  port: 01883\n",
	  { "mqttsn.port (line 6): \"01883\" is not a number", "leading zero" } },
	{ "mqttsn.port a sequence", PORT0 "mqttsn:\n  port: [1883]\n",
	  { "mqttsn.port (line 6)", "expected integer, got a sequence" } },
	{ "mqttsn.max_clients", PORT0 "mqttsn:\n  max_clients: 1000001\n",
	  { "mqttsn.max_clients (line 6): 1000001 is out of range (1..1000000)" } },
	{ "mqttsn.max_clients huge", PORT0 "mqttsn:\n  max_clients: 99999999999999999999\n",
	  { "mqttsn.max_clients (line 6): \"99999999999999999999\" is out of range" } },
	{ "mqttsn.max_topics", PORT0 "mqttsn:\n  max_topics: 0\n",
	  { "mqttsn.max_topics (line 6): 0 is out of range (1..10000000)" } },
	{ "mqttsn.max_subscriptions", PORT0 "mqttsn:\n  max_subscriptions: 10000001\n",
	  { "mqttsn.max_subscriptions (line 6): 10000001 is out of range (1..10000000)" } },
	{ "mqttsn.max_registered_ids", PORT0 "mqttsn:\n  max_registered_ids: 1025\n",
	  { "mqttsn.max_registered_ids (line 6): 1025 is out of range (1..1024)" } },
	{ "mqttsn.max_subscriptions_per_client",
	  PORT0 "mqttsn:\n  max_subscriptions_per_client: 0\n",
	  { "mqttsn.max_subscriptions_per_client (line 6): 0 is out of range (1..1024)" } },
	{ "mqttsn.max_inflight", PORT0 "mqttsn:\n  max_inflight: 257\n",
	  { "mqttsn.max_inflight (line 6): 257 is out of range (1..256)" } },
	{ "mqttsn.max_sleep_buffer", PORT0 "mqttsn:\n  max_sleep_buffer: 0\n",
	  { "mqttsn.max_sleep_buffer (line 6): 0 is out of range (1..1024)" } },
	{ "mqttsn.max_message_size", PORT0 "mqttsn:\n  max_message_size: 15\n",
	  { "mqttsn.max_message_size (line 6): 15 is out of range (16..65535)" } },
	{ "mqttsn.retry_ms", PORT0 "mqttsn:\n  retry_ms: 99\n",
	  { "mqttsn.retry_ms (line 6): 99 is out of range (100..60000)" } },
	{ "mqttsn.retry_ms with a unit", PORT0 "mqttsn:\n  retry_ms: 10s\n",
	  { "mqttsn.retry_ms (line 6): \"10s\" is not a number" } },
	{ "mqttsn.retries", PORT0 "mqttsn:\n  retries: 11\n",
	  { "mqttsn.retries (line 6): 11 is out of range (0..10)" } },
	{ "mqttsn.keepalive_tolerance_pct", PORT0 "mqttsn:\n  keepalive_tolerance_pct: 99\n",
	  { "mqttsn.keepalive_tolerance_pct (line 6): 99 is out of range (100..1000)" } },
	{ "mqttsn.qos_minus_one", PORT0 "mqttsn:\n  qos_minus_one: sometimes\n",
	  { "mqttsn.qos_minus_one (line 6): \"sometimes\" is not a boolean" } },
	{ "mqttsn duplicate key", PORT0 "mqttsn:\n  port: 1883\n  port: 1884\n",
	  { "mqttsn.port", "line 7", "duplicate key" } },
	{ "predefined id twice", PORT0 "mqttsn:\n  predefined:\n    - id: 3\n      topic: a\n"
	  "    - id: 3\n      topic: b\n",
	  { "mqttsn.predefined[1].id (line 9): id 3 is already mqttsn.predefined[0]'s" } },
	{ "predefined topic twice", PORT0 "mqttsn:\n  predefined:\n    - id: 3\n      topic: a\n"
	  "    - id: 4\n      topic: a\n",
	  { "mqttsn.predefined[1].topic (line 10)", "topic \"a\" already has predefined id 3" } },
	{ "predefined topic with a wildcard", PORT0 "mqttsn:\n  predefined:\n    - id: 3\n"
	  "      topic: a/+\n",
	  { "mqttsn.predefined[0].topic (line 8)", "is not a topic name" } },
	{ "predefined id 0", PORT0 "mqttsn:\n  predefined:\n    - id: 0\n      topic: a\n",
	  { "mqttsn.predefined[0].id (line 7): 0 is out of range (1..65534)" } },
	{ "predefined id 0xffff", PORT0 "mqttsn:\n  predefined:\n    - id: 65535\n      topic: a\n",
	  { "mqttsn.predefined[0].id (line 7): 65535 is out of range" } },
	{ "predefined without topic", PORT0 "mqttsn:\n  predefined:\n    - id: 1\n",
	  { "mqttsn.predefined[0].topic", "missing" } },
	{ "access rule with a bad filter", PORT0 "mqttsn:\n  access:\n    - topic: \"a/#/b\"\n"
	  "      permission: deny\n",
	  { "mqttsn.access[0].topic (line 7)", "topic \"a/#/b\" is not a valid topic filter" } },
	{ "access rule without permission", PORT0 "mqttsn:\n  access:\n    - topic: a\n",
	  { "mqttsn.access[0].permission", "missing" } },
	{ "access rule with a bad action", PORT0 "mqttsn:\n  access:\n    - topic: a\n"
	  "      action: read\n      permission: allow\n",
	  { "mqttsn.access[0].action (line 8): \"read\" is not one of publish, subscribe, both" } },
	{ "advertise to a unicast IPv6 address", PORT0 "mqttsn:\n  advertise_address: 2001:db8::9\n",
	  { "mqttsn.advertise_address (line 6)", "not an IPv6 multicast address" } },
	{ "advertise to loopback", PORT0 "mqttsn:\n  advertise_address: 127.0.0.1\n",
	  { "mqttsn.advertise_address (line 6)", "not a broadcast or multicast address" } },
	{ "advertise to garbage", PORT0 "mqttsn:\n  advertise_address: everywhere\n",
	  { "mqttsn.advertise_address (line 6)", "is not an IPv4 or IPv6 address" } },
	{ "session_expiry too long", PORT0 "mqttsn:\n  session_expiry: 604801\n",
	  { "mqttsn.session_expiry (line 6): 604801 is out of range (0..604800)" } },
	{ "lbs with TLS and no certificate", PORT0 "lbs:\n  enabled: true\n",
	  { "lbs.cert", "required with lbs.tls true" } },
	{ "lbs listening nowhere", PORT0 "lbs:\n  enabled: true\n  tls: false\n  port: 0\n",
	  { "lbs.port", "listen nowhere" } },
	{ "lbs.listen with a multicast address", PORT0 "lbs:\n  listen:\n    - address: 224.0.0.1\n",
	  { "lbs.listen[0].address (line 7)", "not a unicast address" } },
	{ "nodes without the LBS", PORT0 "nodes:\n  - {name: b, address: 198.51.100.1, "
	  "link_address: 203.0.113.2}\nnode_link:\n  cert: /c\n  key: /k\n  ca: /a\n",
	  { "nodes", "set lbs.enabled: true" } },
	{ "nodes without node-link certificates", PORT0 "lbs:\n  enabled: true\n  tls: false\n"
	  "nodes:\n  - {name: b, address: 198.51.100.1, link_address: 203.0.113.2}\n",
	  { "node_link.cert", "mutual TLS" } },
	{ "two nodes with one name", PORT0 "lbs:\n  enabled: true\n  tls: false\n"
	  "nodes:\n  - {name: b, address: 198.51.100.1, link_address: 203.0.113.2}\n"
	  "  - {name: b, address: 198.51.100.2, link_address: 203.0.113.3}\n"
	  "node_link:\n  cert: /c\n  key: /k\n  ca: /a\n",
	  { "nodes[1].name", "nodes[0]'s name too" } },
	{ "admission mode unknown", PORT0 "mqttsn:\n  admission: closed\n",
	  { "mqttsn.admission (line 6)", "not one of open, osap" } },
	{ "coaps without the CoAP node", PORT0 "coap:\n  enabled: false\ndtls:\n  coap_port: 5684\n",
	  { "dtls.coap_port", "needs the CoAP node" } },
	{ "DTLS port that is the plain MQTT-SN port", PORT0 "dtls:\n  mqttsn_port: 1883\n",
	  { "dtls.mqttsn_port", "1883 is mqttsn.port too" } },
	{ "both DTLS ports the same", PORT0 "dtls:\n  coap_port: 5684\n  mqttsn_port: 5684\n",
	  { "dtls.mqttsn_port", "is dtls.coap_port too" } },
	{ "DTLS certificate without key", PORT0 "dtls:\n  coap_port: 5684\n  cert: /c\n",
	  { "dtls.key", "go together" } },
	{ "client certificates without a CA", PORT0 "dtls:\n  coap_port: 5684\n  cert: /c\n"
	  "  key: /k\n  verify_client: required\n",
	  { "dtls.ca", "required with dtls.verify_client required" } },
	{ "PSK with key and key_hex", PORT0 "dtls:\n  psk:\n    - {identity: a, key: x, key_hex: 01}\n",
	  { "dtls.psk[0]", "give one of them" } },
	{ "PSK without a key", PORT0 "dtls:\n  psk:\n    - {identity: a}\n",
	  { "dtls.psk[0]", "needs key (text) or key_hex" } },
	{ "PSK key_hex with an odd digit", PORT0 "dtls:\n  psk:\n    - {identity: a, key_hex: 012}\n",
	  { "dtls.psk[0].key_hex (line 7)", "even number of hexadecimal digits" } },
	{ "PSK key_hex not hexadecimal", PORT0 "dtls:\n  psk:\n    - {identity: a, key_hex: 0g}\n",
	  { "dtls.psk[0].key_hex (line 7)", "a hexadecimal string" } },
	{ "two PSKs with one identity", PORT0 "dtls:\n  psk:\n    - {identity: a, key: x}\n"
	  "    - {identity: a, key: y}\n",
	  { "dtls.psk[1].identity", "dtls.psk[0]'s identity too" } },
	{ "verify_client unknown", PORT0 "dtls:\n  verify_client: always\n",
	  { "dtls.verify_client (line 6)", "not one of none, optional, required" } },
};

static void
test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		char err[512] = "";
		struct tern_config *cfg = parse(b->yaml, err, sizeof(err));
		bool all = cfg == NULL && strchr(err, '\n') == NULL && err[0] != '\0';

		for (int j = 0; j < 3 && b->want[j] != NULL; j++)
			all = all && strstr(err, b->want[j]) != NULL;
		printf("# %s\n", err);
		if (!ok(all, "bad config rejected: %s", b->what)) {
			printf("#   got %s: \"%s\"\n", cfg != NULL ? "a config" : "NULL", err);
			for (int j = 0; j < 3 && b->want[j] != NULL; j++)
				printf("#   want: \"%s\"\n", b->want[j]);
		}
		tern_config_free(cfg);
	}
}

static void
test_input_limits(void)
{
	char err[512] = "", path[] = "/tmp/tern-test-config-XXXXXX";
	static const char nul[] = PORT0 "log:\n  level: info\0\n";
	struct tern_config *cfg;
	size_t big = (1u << 20) + 1;
	char *buf = malloc(big + 1);
	int fd;

	cfg = tern_config_parse(nul, sizeof(nul) - 1, "x", err, sizeof(err));
	ok(cfg == NULL && strstr(err, "NUL byte") && strstr(err, "line 6"),
	   "NUL byte rejected with its line: %s", err);
	tern_config_free(cfg);

	if (buf == NULL)
		return;
	memset(buf, '#', big);
	buf[big] = '\0';
	cfg = tern_config_parse(buf, big, "x", err, sizeof(err));
	ok(cfg == NULL && strstr(err, "larger than 1 MiB"), "1 MiB + 1 rejected: %s", err);
	tern_config_free(cfg);

	fd = mkstemp(path);
	if (fd >= 0) {
		ok(write(fd, buf, big) == (ssize_t)big, "big file written");
		close(fd);
		cfg = tern_config_load(path, err, sizeof(err));
		ok(cfg == NULL && strstr(err, path) && strstr(err, "larger than 1 MiB"),
		   "big file rejected naming it: %s", err);
		tern_config_free(cfg);
		unlink(path);
	}
	free(buf);

	cfg = tern_config_load("/nonexistent/tern.yaml", err, sizeof(err));
	ok(cfg == NULL && strstr(err, "/nonexistent/tern.yaml") &&
	   strstr(err, "No such file"), "missing file: %s", err);
	tern_config_free(cfg);

	cfg = tern_config_load("/", err, sizeof(err));
	ok(cfg == NULL && strstr(err, "cannot read /:"), "directory: %s", err);
	tern_config_free(cfg);

	/* a message cut to the caller's buffer, and no buffer at all */
	cfg = parse("prots: 1\n", err, 8);
	ok(cfg == NULL && strlen(err) == 7, "message truncated to errlen");
	cfg = parse("prots: 1\n", NULL, 0);
	ok(cfg == NULL, "NULL err buffer tolerated");
	tern_config_free(NULL);
	ok(1, "tern_config_free(NULL) is a no-op");
}

static void
test_json_round_trip(void)
{
	char *text = NULL, *again = NULL, err[512] = "";
	struct tern_config *a, *b = NULL;
	json_t *ja, *jb = NULL, *port;
	size_t len;

	text = slurp("docs/examples/full.yaml", &len);
	a = text != NULL ? tern_config_parse(text, len, "full.yaml", err, sizeof(err)) : NULL;
	free(text);
	if (!ok(a != NULL, "full example loads for the round trip")) {
		printf("#   %s\n", err);
		return;
	}
	ja = tern_config_to_json(a);
	ok(ja != NULL, "to_json");
	port = json_array_get(json_object_get(ja, "ports"), 0);
	is_str(json_string_value(json_object_get(port, "ipv6")), "2001:db8::1/64",
	       "ports[0].ipv6 in JSON");
	is_str(json_string_value(json_object_get(port, "rx_queues")), "auto",
	       "rx_queues auto in JSON");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(ja, "ports"), 1),
						  "rx_queues")), 1, "rx_queues 1 in JSON");
	ok(json_is_true(json_object_get(port, "exception")), "exception is a JSON boolean");
	is_str(json_string_value(json_object_get(json_object_get(ja, "log"), "level")), "info",
	       "log.level in JSON");
	is_int(json_array_size(json_object_get(json_object_get(ja, "dpdk"), "args")),
	       a->eal_argc - 1, "dpdk.args without argv[0]");

	/* pre-shared keys are never shown; without them the round trip holds */
	text = json_dumps(ja, JSON_INDENT(2));
	ok(text != NULL && strstr(text, "correct horse") == NULL &&
	   strstr(text, "9f86d081") == NULL && strstr(text, "(hidden)") != NULL,
	   "the JSON shows that PSKs are set, never the keys");
	free(text);
	json_object_set_new(json_object_get(ja, "dtls"), "psk", json_array());

	/* JSON is YAML: the effective configuration parses back to itself */
	text = json_dumps(ja, JSON_INDENT(2));
	b = text != NULL ? parse(text, err, sizeof(err)) : NULL;
	if (ok(b != NULL, "the JSON parses as a configuration")) {
		jb = tern_config_to_json(b);
		ok(json_equal(ja, jb), "and gives the same JSON");
		is_int(b->nb_ports, a->nb_ports, "same number of ports");
		is_mem(b->ports, a->ports, sizeof(a->ports), "same port parameters");
		again = json_dumps(jb, JSON_INDENT(2));
		is_str(again, text, "same text");
	} else {
		printf("#   %s\n", err);
	}
	free(text);
	free(again);
	json_decref(ja);
	json_decref(jb);
	tern_config_free(a);
	tern_config_free(b);

	/* optional keys absent: JSON null, which reads back as absent */
	a = parse("ports:\n  - {name: a, device: d, ipv4: 192.0.2.9/32, exception: false}\n", err,
		  sizeof(err));
	ja = a != NULL ? tern_config_to_json(a) : NULL;
	port = json_array_get(json_object_get(ja, "ports"), 0);
	ok(json_is_null(json_object_get(port, "ipv6")) &&
	   json_is_null(json_object_get(port, "exception_iface")) &&
	   json_is_null(json_object_get(json_object_get(ja, "control"), "group")),
	   "absent optional keys are null in JSON");
	text = ja != NULL ? json_dumps(ja, JSON_INDENT(2)) : NULL;
	b = text != NULL ? parse(text, err, sizeof(err)) : NULL;
	ok(b != NULL && a != NULL && memcmp(a->ports, b->ports, sizeof(a->ports)) == 0,
	   "nulls round-trip");
	free(text);
	json_decref(ja);
	tern_config_free(a);
	tern_config_free(b);
}

/* Every mqttsn key set away from its default, at the ends of the ranges. */
static void
test_mqttsn(void)
{
	static const char lo[] = PORT0 "mqttsn:\n  enabled: false\n  port: 1\n"
		"  max_clients: 1\n  max_topics: 1\n  max_subscriptions: 1\n"
		"  max_registered_ids: 1\n  max_subscriptions_per_client: 1\n"
		"  max_inflight: 1\n  max_message_size: 16\n  retry_ms: 100\n  retries: 0\n"
		"  keepalive_tolerance_pct: 100\n  qos_minus_one: false\n";
	static const char hi[] = PORT0 "mqttsn: {port: 65535, max_clients: 1000000,\n"
		"  max_topics: 10000000, max_subscriptions: 10000000, max_registered_ids: 1024,\n"
		"  max_subscriptions_per_client: 1024, max_inflight: 256,\n"
		"  max_message_size: 65535, retry_ms: 60000, retries: 10,\n"
		"  keepalive_tolerance_pct: 1000}\n";
	char err[512] = "", *text;
	struct tern_config *cfg, *back;
	const struct dp_mqttsn_params *m;
	json_t *j, *jm;

	cfg = parse(lo, err, sizeof(err));
	if (ok(cfg != NULL, "mqttsn: every key at its minimum")) {
		m = &cfg->mqttsn;
		ok(!m->enabled && !m->qos_minus_one, "mqttsn booleans false");
		ok(m->port == 1 && m->max_clients == 1 && m->max_topics == 1 &&
		   m->max_subscriptions == 1 && m->max_registered_ids == 1 &&
		   m->max_subscriptions_per_client == 1 && m->max_inflight == 1 &&
		   m->max_message_size == 16 && m->retry_ms == 100 && m->retries == 0 &&
		   m->keepalive_tolerance_pct == 100, "mqttsn minimums stored");
	} else {
		printf("#   %s\n", err);
	}
	tern_config_free(cfg);

	cfg = parse(hi, err, sizeof(err));
	if (!ok(cfg != NULL, "mqttsn: every limit at its maximum (flow style)")) {
		printf("#   %s\n", err);
		return;
	}
	m = &cfg->mqttsn;
	ok(m->enabled && m->qos_minus_one, "mqttsn booleans default in flow style");
	is_int(m->port, 65535, "mqttsn.port max");
	is_int(m->max_clients, 1000000, "mqttsn.max_clients max");
	is_int(m->max_topics, 10000000, "mqttsn.max_topics max");
	is_int(m->max_subscriptions, 10000000, "mqttsn.max_subscriptions max");
	is_int(m->max_registered_ids, 1024, "mqttsn.max_registered_ids max");
	is_int(m->max_subscriptions_per_client, 1024, "mqttsn.max_subscriptions_per_client max");
	is_int(m->max_inflight, 256, "mqttsn.max_inflight max");
	is_int(m->max_message_size, 65535, "mqttsn.max_message_size max");
	is_int(m->retry_ms, 60000, "mqttsn.retry_ms max");
	is_int(m->retries, 10, "mqttsn.retries max");
	is_int(m->keepalive_tolerance_pct, 1000, "mqttsn.keepalive_tolerance_pct max");

	/* JSON: the same key names, integers and booleans, and back */
	j = tern_config_to_json(cfg);
	jm = json_object_get(j, "mqttsn");
	is_int(json_object_size(jm), 21, "mqttsn in JSON: 21 keys");
	ok(json_is_true(json_object_get(jm, "enabled")), "mqttsn.enabled a JSON boolean");
	is_int(json_integer_value(json_object_get(jm, "port")), 65535, "mqttsn.port in JSON");
	is_int(json_integer_value(json_object_get(jm, "max_subscriptions_per_client")), 1024,
	       "mqttsn.max_subscriptions_per_client in JSON");
	is_int(json_integer_value(json_object_get(jm, "keepalive_tolerance_pct")), 1000,
	       "mqttsn.keepalive_tolerance_pct in JSON");
	text = j != NULL ? json_dumps(j, 0) : NULL;
	back = text != NULL ? parse(text, err, sizeof(err)) : NULL;
	ok(back != NULL && memcmp(&back->mqttsn, &cfg->mqttsn, sizeof(cfg->mqttsn)) == 0,
	   "mqttsn round-trips through JSON");
	free(text);
	json_decref(j);
	tern_config_free(back);
	tern_config_free(cfg);
}

/* The text between "<!-- NAME:begin -->\n" and "<!-- NAME:end -->". */
static char *
doc_section(const char *doc, const char *name)
{
	char begin[64], end[64];
	const char *b, *e;

	snprintf(begin, sizeof(begin), "<!-- %s:begin -->\n", name);
	snprintf(end, sizeof(end), "<!-- %s:end -->", name);
	b = strstr(doc, begin);
	if (b == NULL)
		return NULL;
	b += strlen(begin);
	e = strstr(b, end);
	return e != NULL ? strndup(b, (size_t)(e - b)) : NULL;
}

static void
first_difference(const char *got, const char *want)
{
	unsigned int line = 1;
	size_t i = 0;

	while (got[i] != '\0' && got[i] == want[i])
		line += got[i++] == '\n';
	printf("#   first difference on line %u of the section\n", line);
}

/* Whether "key:" (@key with its colon) starts a key somewhere in @yaml. */
static bool
has_key(const char *yaml, const char *key)
{
	for (const char *p = strstr(yaml, key); p != NULL; p = strstr(p + 1, key))
		if (p == yaml || strchr("\n {-", p[-1]) != NULL)
			return true;
	return false;
}

/* @p v dumped compactly equals @p want. */
static void
text_is(json_t *v, const char *want, const char *what)
{
	char *t = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;

	is_str(t != NULL ? t : "(null)", want, what);
	free(t);
}

/* The reloadable lists, the ADVERTISE keys, and what config.reload compares. */
static void
test_mqttsn_lists(void)
{
	static const char y[] = PORT0 "mqttsn:\n  gateway_id: 9\n"
		"  advertise_address: ff02::1\n  advertise_interval: 60\n  session_expiry: 0\n"
		"  predefined:\n    - {id: 5, topic: a/b}\n    - {id: 700, topic: c}\n"
		"  access:\n    - {client: \"dev-*\", topic: \"d/%c/#\", action: publish, permission: allow}\n"
		"    - {topic: \"#\", permission: deny}\n";
	static const char y2[] = PORT0 "mqttsn:\n  gateway_id: 9\n"
		"  advertise_address: ff02::1\n  advertise_interval: 60\n  session_expiry: 0\n"
		"  predefined:\n    - {id: 6, topic: a/b}\n";
	static const char y3[] = PORT0 "mqttsn:\n  gateway_id: 10\n  max_clients: 7\n"
		"  advertise_address: ff02::1\n  advertise_interval: 60\n  session_expiry: 0\n";
	static const char *const skip[] = { "mqttsn.predefined", "mqttsn.access", NULL };
	struct tern_config *a, *b = NULL, *c = NULL;
	char err[512] = "";
	json_t *d, *j;

	a = parse(y, err, sizeof(err));
	if (!ok(a != NULL, "predefined ids, access rules and ADVERTISE keys parse")) {
		printf("#   %s\n", err);
		return;
	}
	is_int(a->mqttsn.gateway_id, 9, "gateway_id stored");
	ok(a->mqttsn.advertise && a->mqttsn.advertise_v6 && a->mqttsn.advertise_addr[0] == 0xff &&
	   a->mqttsn.advertise_addr[15] == 1, "advertise_address stored as IPv6 ff02::1");
	is_int(a->mqttsn.advertise_interval, 60, "advertise_interval stored");
	is_int(a->mqttsn.session_expiry, 0, "session_expiry 0 stored");
	is_int(a->nb_predef, 2, "two predefined ids");
	ok(a->predef[1].id == 700 && strcmp(a->predef[1].topic, "c") == 0, "predefined[1] stored");
	is_int(a->nb_access, 2, "two access rules");
	ok(strcmp(a->access[0].client, "dev-*") == 0 && a->access[0].ops == 1 &&
	   a->access[0].allow, "access[0] stored");
	ok(strcmp(a->access[1].client, "*") == 0 && a->access[1].ops == 3 && !a->access[1].allow,
	   "access[1]: client and action defaults");
	j = tern_config_to_json(a);
	is_str(json_string_value(json_object_get(json_object_get(j, "mqttsn"), "advertise_address")),
	       "ff02::1", "advertise_address in JSON");
	is_str(json_string_value(json_object_get(json_array_get(json_object_get(
		json_object_get(j, "mqttsn"), "access"), 0), "action")), "publish",
	       "access[0].action in JSON");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(
		json_object_get(j, "mqttsn"), "predefined"), 1), "id")), 700,
	       "predefined[1].id in JSON");
	json_decref(j);

	b = parse(y2, err, sizeof(err));
	c = parse(y3, err, sizeof(err));
	if (ok(b != NULL && c != NULL, "the variants parse")) {
		d = tern_config_diff(a, b, skip);
		is_int(json_array_size(d), 0, "only reloadable keys differ: nothing listed");
		json_decref(d);
		d = tern_config_diff(a, b, NULL);
		text_is(d, "[\"mqttsn.predefined\",\"mqttsn.access\"]", "without skip: the lists differ");
		json_decref(d);
		d = tern_config_diff(b, c, skip);
		text_is(d, "[\"mqttsn.max_clients\",\"mqttsn.gateway_id\"]",
			"other keys are named, in table order");
		json_decref(d);
		d = tern_config_diff(a, a, NULL);
		is_int(json_array_size(d), 0, "a config equals itself");
		json_decref(d);
	}
	tern_config_free(a);
	tern_config_free(b);
	tern_config_free(c);
}

static void
test_docs(void)
{
	char *doc = slurp("docs/configuration.md", NULL), *md = NULL, *section, *example;
	size_t mdlen = 0;
	FILE *f = open_memstream(&md, &mdlen);

	if (!ok(doc != NULL && f != NULL, "docs/configuration.md is readable")) {
		if (f != NULL)
			fclose(f);
		free(md);
		free(doc);
		return;
	}
	tern_config_schema_markdown(f);
	fclose(f);
	section = doc_section(doc, "schema");
	if (!ok(section != NULL && strcmp(section, md) == 0,
		"docs/configuration.md has the schema table the code prints")) {
		FILE *out = fopen("config-schema.md", "w");

		if (section != NULL)
			first_difference(section, md);
		if (out != NULL) {
			fputs(md, out);
			fclose(out);
			printf("#   the expected table is in config-schema.md (in the test's "
			       "working directory)\n");
		}
	}
	free(section);

	/* docs/examples/full.yaml sets every key of the table */
	example = slurp("docs/examples/full.yaml", NULL);
	if (ok(example != NULL, "docs/examples/full.yaml is readable")) {
		unsigned int rows = 0, missing = 0;

		for (const char *r = strstr(md, "\n| `"); r != NULL; r = strstr(r + 1, "\n| `")) {
			const char *path = r + 4, *end = strchr(path, '`'), *leaf = path;
			char want[96];

			for (const char *p = path; p < end; p++)
				if (*p == '.')
					leaf = p + 1;
			rows++;
			snprintf(want, sizeof(want), "%.*s:", (int)(end - leaf), leaf);
			if (!has_key(example, want)) {
				missing++;
				printf("#   full.yaml does not set %.*s\n", (int)(end - path), path);
			}
		}
		ok(rows > 20 && missing == 0, "docs/examples/full.yaml sets all %u keys", rows);
	}
	free(example);

	/* the built-in default as the page shows it */
	section = malloc(strlen(tern_config_default_yaml) + 16);
	if (section != NULL)
		sprintf(section, "```yaml\n%s```\n", tern_config_default_yaml);
	ok(section != NULL && strstr(doc, section) != NULL,
	   "docs/configuration.md shows the built-in default verbatim");
	free(section);

	section = doc_section(doc, "example");
	example = slurp("docs/examples/full.yaml", NULL);
	if (section != NULL && strncmp(section, "```yaml\n", 8) == 0 && example != NULL) {
		size_t n = strlen(section);

		ok(n >= 12 && strcmp(section + n - 4, "```\n") == 0 &&
		   strlen(example) == n - 12 && strncmp(section + 8, example, n - 12) == 0,
		   "docs/configuration.md shows docs/examples/full.yaml verbatim");
	} else {
		ok(0, "docs/configuration.md has the full example in a yaml block");
	}
	free(example);
	free(section);
	free(md);
	free(doc);
}

/*
 * Mangle a valid file in every position (truncate, overwrite with YAML's
 * structural characters): whatever comes out, no crash, no leak, and
 * exactly one line of message whenever the result is NULL.
 */
static void
test_mangled(void)
{
	static const char marks[] = ":-[{\"&*\n ";
	size_t len, bad = 0, runs = 0;
	char *text = slurp("docs/examples/full.yaml", &len), err[512];

	if (!ok(text != NULL, "full example for mangling"))
		return;
	for (size_t cut = 0; cut <= len; cut++) {
		struct tern_config *cfg = tern_config_parse(text, cut, "m", err, sizeof(err));

		runs++;
		bad += cfg == NULL && (err[0] == '\0' || strchr(err, '\n') != NULL);
		tern_config_free(cfg);
	}
	/*
	 * Each octet replaced by one mark (in turn), every seventh by all of
	 * them: the whole file is parsed about 2.3 times per octet instead of 9,
	 * which under ASan keeps the test well inside its time limit as the
	 * example grows (tests/fuzz/fuzz_config goes further).
	 */
	for (size_t i = 0; i < len; i++) {
		char keep = text[i];

		for (size_t m = 0; m < sizeof(marks) - 1; m++) {
			struct tern_config *cfg;

			if (i % 7 != 0 && m != i % (sizeof(marks) - 1))
				continue;
			text[i] = marks[m];
			cfg = tern_config_parse(text, len, "m", err, sizeof(err));
			runs++;
			bad += cfg == NULL && (err[0] == '\0' || strchr(err, '\n') != NULL);
			tern_config_free(cfg);
		}
		text[i] = keep;
	}
	is_int(bad, 0, "%zu mangled inputs: no crash, one message line each", runs);
	free(text);
}

int
main(void)
{
	find_source_root();
	test_default();
	test_defaults_apply();
	test_examples();
	test_bad();
	test_mqttsn_lists();
	test_input_limits();
	test_json_round_trip();
	test_mqttsn();
	test_docs();
	test_mangled();
	return done_testing();
}
