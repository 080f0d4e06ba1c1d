/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternd: load the configuration, bring the data plane up, serve the control
 * socket on the main lcore until SIGTERM/SIGINT or `ternctl shutdown`, then
 * stop the workers and audit the mbuf pool.
 *
 * Exit status: 0 clean, 1 runtime failure (or an mbuf leak at shutdown),
 * 2 bad configuration or command line.
 */

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <rte_log.h>

#include "control/config.h"
#include "control/ctl.h"
#include "control/lbs/lbs.h"
#include "control/dtls/service.h"
#include "control/ternd.h"
#include "dataplane/dp.h"

#define EXIT_CONFIG 2

static struct tern_config *config;
static struct event_base *base;

const struct tern_config *
ternd_config(void)
{
	return config;
}

void
ternd_config_replace(struct tern_config *cfg)
{
	tern_config_free(config);
	config = cfg;
}

void
ternd_request_shutdown(const char *why)
{
	/* a short delay lets the reply that asked for it reach its client */
	struct timeval tv = { 0, 100 * 1000 };

	TERN_LOG(NOTICE, "shutting down: %s", why);
	event_base_loopexit(base, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	ternd_request_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: ternd [-c FILE]\n"
		"       ternd --check-config FILE\n"
		"       ternd --config-schema\n"
		"\n"
		"tern message router daemon. Runs in the foreground until SIGTERM, SIGINT or\n"
		"`ternctl shutdown`.\n"
		"\n"
		"  -c, --config FILE      configuration file (YAML, see docs/configuration.md);\n"
		"                         without it ternd runs its built-in default: one net_tap\n"
		"                         port tern0 with 192.0.2.1/24 and 2001:db8::1/64\n"
		"      --check-config FILE  validate FILE (syntax, types, ranges, addresses) and\n"
		"                         exit: 0 if valid, 2 with a message naming the key if not;\n"
		"                         devices are only probed when ternd starts\n"
		"      --config-schema    print every configuration key (Markdown) and exit\n"
		"      --default-config   print the built-in default configuration and exit\n"
		"  -h, --help             this text\n"
		"  -V, --version          print the version and exit\n"
		"\n"
		"Exit status: 0 clean shutdown, 1 runtime failure or mbuf leak at shutdown,\n"
		"2 bad configuration or command line.\n");
}

static int
set_log_level(const char *name)
{
	static const char *const levels[] = {
		[RTE_LOG_EMERG] = "emerg", [RTE_LOG_ALERT] = "alert", [RTE_LOG_CRIT] = "crit",
		[RTE_LOG_ERR] = "err", [RTE_LOG_WARNING] = "warning",
		[RTE_LOG_NOTICE] = "notice", [RTE_LOG_INFO] = "info", [RTE_LOG_DEBUG] = "debug",
	};

	for (unsigned int i = RTE_LOG_EMERG; i <= RTE_LOG_DEBUG; i++)
		if (strcmp(levels[i], name) == 0)
			return rte_log_set_level(tern_logtype, i);
	return -EINVAL;
}

/* Bring everything up; on failure print the one message and return the exit code. */
static int
start(const char *src)
{
	char err[512];
	int bad_port, ret;

	/* first: a registry that cannot be opened is a configuration error */
	ret = ternd_registry_open(config->registry, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: config %s: registry: %s\n", src, err);
		return EXIT_CONFIG;
	}
	ret = dp_eal_init(config->eal_argc, config->eal_argv, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: config %s: dpdk.args: %s\n", src, err);
		return EXIT_CONFIG;
	}
	/* after the EAL: its default log stream also copies every line to syslog */
	rte_openlog_stream(stderr);
	(void)set_log_level(config->log_level);
	ret = dp_setup(config->ports, config->nb_ports, &config->mqttsn, &config->coap, &bad_port, err,
		       sizeof(err));
	if (ret < 0) {
		if (bad_port >= 0) {
			fprintf(stderr, "ternd: config %s: ports[%d].%s\n", src, bad_port, err);
			return EXIT_CONFIG;
		}
		fprintf(stderr, "ternd: %s\n", err);
		return EXIT_FAILURE;
	}
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "ternd: cannot create the event loop\n");
		return EXIT_FAILURE;
	}
	ret = dtls_svc_start(config, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: config %s: %s\n", src, err);
		return EXIT_CONFIG;
	}
	ret = ternd_apply_reloadable(config, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: config %s: mqttsn: %s\n", src, err);
		return EXIT_CONFIG;
	}
	cmd_core_register();
	cmd_device_register();
	cmd_lbs_register();
	cmd_dtls_register();
	cmd_conf_register();
	cmd_coap_register();
	cmd_mqttsn_register();
	cmd_topic_register();
	ret = ctl_start(base, config->ctl_socket, config->ctl_group, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: control socket %s: %s\n", config->ctl_socket, err);
		return EXIT_FAILURE;
	}
	ret = lbs_link_start(base, config, err, sizeof(err));
	if (ret == 0)
		ret = lbs_start(base, config, ternd_registry, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ternd: config %s: %s\n", src, err);
		return EXIT_CONFIG;
	}
	if (tern_telemetry_register() < 0)
		TERN_LOG(WARNING, "telemetry commands not registered");
	return 0;
}

/* The control plane's share of the data plane's work (dp_control_poll). */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	dp_control_poll();
	dtls_svc_poll();
}

static int
run(void)
{
	/* 1 ms: the latency a SUBSCRIBE or REGISTER of a new topic waits at most */
	const struct timeval tick_tv = { 0, 1000 };
	struct event *sigint, *sigterm, *tick;
	uint64_t in_use, baseline;
	int audit;

	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	event_add(tick, &tick_tv);
	if (dp_launch() < 0) {
		fprintf(stderr, "ternd: cannot launch the workers\n");
		return EXIT_FAILURE;
	}
	TERN_LOG(NOTICE, "ternd %s ready: %u port(s), %u worker(s), control socket %s",
		 TERN_VERSION, dp_nb_ports(), dp_nb_workers(), config->ctl_socket);
	event_base_dispatch(base);

	ctl_stop();
	lbs_stop();
	lbs_link_stop();
	dtls_svc_stop();
	ternd_registry_close();
	dp_stop();
	audit = dp_audit(&in_use, &baseline);
	if (audit == 0)
		TERN_LOG(NOTICE, "mbuf audit: %" PRIu64 " in use, baseline %" PRIu64 ": ok",
			 in_use, baseline);
	else
		TERN_LOG(ERR, "mbuf audit: %" PRIu64 " in use, baseline %" PRIu64
			 ": LEAK of %" PRId64 " mbufs", in_use, baseline,
			 (int64_t)(in_use - baseline));
	event_free(sigint);
	event_free(sigterm);
	event_free(tick);
	return audit == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'k' },
		{ "config-schema", no_argument, NULL, 's' },
		{ "default-config", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *check = NULL, *src;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = optarg;
			break;
		case 's':
			tern_config_schema_markdown(stdout);
			return 0;
		case 'd':
			fputs(tern_config_default_yaml, stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ternd %s\n", TERN_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ternd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (check != NULL) {
		config = tern_config_load(check, err, sizeof(err));
		if (config == NULL) {
			fprintf(stderr, "ternd: config %s: %s\n", check, err);
			return EXIT_CONFIG;
		}
		printf("config %s: ok\n", check);
		tern_config_free(config);
		return 0;
	}
	if (path != NULL)
		config = tern_config_load(path, err, sizeof(err));
	else
		config = tern_config_parse(tern_config_default_yaml,
					   strlen(tern_config_default_yaml), "<built-in>",
					   err, sizeof(err));
	src = path ? path : "<built-in>";
	if (config == NULL) {
		fprintf(stderr, "ternd: config %s: %s\n", src, err);
		return EXIT_CONFIG;
	}
	if (set_log_level(config->log_level) < 0) {
		fprintf(stderr, "ternd: config %s: log.level: unknown level \"%s\"\n", src,
			config->log_level);
		return EXIT_CONFIG;
	}
	signal(SIGPIPE, SIG_IGN);
	ret = start(src);
	if (ret == 0)
		ret = run();
	if (base != NULL)
		event_base_free(base);
	dp_close();
	tern_config_free(config);
	return ret;
}
