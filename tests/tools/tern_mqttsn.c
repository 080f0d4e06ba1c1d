/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-mqttsn: an MQTT-SN v1.2 client for people and tests (docs/tern-mqttsn.md).
 *
 * The command line is two tables: the subcommands and the options, each
 * option saying which subcommands take it. getopt's table, the check that an
 * option belongs to the subcommand and every --help text are generated from
 * them, so the help cannot list an option a subcommand refuses.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqttsn_client.h"
#include "tern_mqttsn.h"

#define TMQ_DIM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	CMD_PUB = 1 << 0,
	CMD_SUB = 1 << 1,
	CMD_SLEEP = 1 << 2,
	CMD_LOAD = 1 << 3,
	CMD_SEARCH = 1 << 4,
	CMD_LISTEN = 1 << 5,
	CMD_SESSION = CMD_PUB | CMD_SUB | CMD_SLEEP | CMD_LOAD,   /* they CONNECT */
	CMD_CLIENT = CMD_PUB | CMD_SUB | CMD_SLEEP,               /* one client, one socket */
	CMD_ALL = CMD_SESSION | CMD_SEARCH | CMD_LISTEN,
};

static const struct cmd {
	const char *name;
	unsigned int bit;
	int (*run)(const struct tmq_opts *o);
	const char *synopsis;
	const char *desc;
} cmds[] = {
	{ "pub", CMD_PUB, tmq_cmd_pub,
	  "pub (-t TOPIC | --predefined ID | --short XY) -m MESSAGE [-r] [-n COUNT]"
	  " [--interval MS]",
	  "CONNECT, REGISTER the topic name, PUBLISH at the QoS (1: PUBACK, 2: PUBREC/PUBREL/\n"
	  "PUBCOMP, retransmitted with DUP), DISCONNECT. QoS -1 publishes without a connection\n"
	  "(predefined or short topic only). Exit 0 when everything was acknowledged." },
	{ "sub", CMD_SUB, tmq_cmd_sub,
	  "sub (-t FILTER | --predefined ID | --short XY | --resume) [-c COUNT] [--wait SEC]",
	  "CONNECT, SUBSCRIBE (granted QoS on stderr), print each publication as one line\n"
	  "\"TOPIC PAYLOAD\" (or JSON) on stdout, acknowledging it at its QoS and answering\n"
	  "REGISTER; PINGREQ every keep-alive period. Stops after COUNT publications or SEC\n"
	  "seconds (or SIGINT), then DISCONNECT. Exit 1 if COUNT was given and not reached.\n"
	  "--resume: CONNECT without CleanSession and no SUBSCRIBE, receiving on the session\n"
	  "the gateway kept for the client id (topic ids it never named print as id:ID)." },
	{ "sleep", CMD_SLEEP, tmq_cmd_sleep,
	  "sleep (-t FILTER | --predefined ID | --short XY) --duration SEC --cycles N",
	  "CONNECT, SUBSCRIBE, then N times: DISCONNECT(SEC) to sleep, wake a little before\n"
	  "SEC seconds are up with PINGREQ(client id), print what the gateway buffered, expect\n"
	  "PINGRESP. Then DISCONNECT." },
	{ "load", CMD_LOAD, tmq_cmd_load,
	  "load --clients N --rate MSG_PER_SEC --duration SEC [-q QOS] [--topics T] [--fanout F]",
	  "N publishers and F subscribers per topic (each its own socket and client id)\n"
	  "on topics load/0 .. load/T-1; the publishers together publish MSG_PER_SEC\n"
	  "publications for SEC seconds, each carrying a sequence number and a send time.\n"
	  "Reports sent, expected (sent x F), received, lost, duplicates and latency\n"
	  "percentiles in microseconds. Stops by itself." },
	{ "search", CMD_SEARCH, tmq_cmd_search,
	  "search [-h ADDRESS]",
	  "Send SEARCHGW (radius 0) to ADDRESS (a gateway, or a broadcast or multicast\n"
	  "address), retransmitted as a request, and print the first GWINFO: the gateway id,\n"
	  "the sender's address and port. Exit 0 on an answer, 1 on timeout." },
	{ "listen", CMD_LISTEN, tmq_cmd_listen,
	  "listen [-h ADDRESS] [-c COUNT] [--wait SEC]",
	  "Bind UDP port -p on every address (IPv4; IPv6 if -h is an IPv6 address; a\n"
	  "multicast -h is joined) and print each ADVERTISE: gateway id, duration, sender.\n"
	  "Stops after COUNT of them, SEC seconds or SIGINT. Exit 1 if COUNT was given and\n"
	  "not reached." },
};

/* id, long name, short letter (0: none), argument, subcommands, help */
#define FOREACH_OPT(_) \
	_(HOST, "host", 'h', "HOST", CMD_ALL, \
	  "gateway name or address, IPv4 or IPv6 (default 127.0.0.1; listen: its family)") \
	_(PORT, "port", 'p', "PORT", CMD_ALL, \
	  "gateway UDP port (default 1883; listen: the port to bind)") \
	_(ID, "id", 'i', "CLIENT_ID", CMD_SESSION, \
	  "client id (default tern-mqttsn-PID; load: prefix of the ids)") \
	_(KEEPALIVE, "keepalive", 'k', "SEC", CMD_SESSION, \
	  "keep-alive period of CONNECT (default 60)") \
	_(QOS, "qos", 'q', "QOS", CMD_SESSION, "QoS: -1 (pub only), 0, 1 or 2 (default 0)") \
	_(CLEAN, "clean", 0, NULL, CMD_CLIENT, "CONNECT with CleanSession (the default)") \
	_(NOCLEAN, "no-clean", 0, NULL, CMD_CLIENT, "CONNECT without CleanSession") \
	_(TOPIC, "topic", 't', "TOPIC", CMD_CLIENT, "topic name (pub) or filter (sub, sleep)") \
	_(PREDEF, "predefined", 0, "ID", CMD_CLIENT, "predefined topic id instead of -t") \
	_(SHORT, "short", 0, "XY", CMD_CLIENT, "two-character short topic name instead of -t") \
	_(RESUME, "resume", 0, NULL, CMD_SUB, \
	  "CONNECT without CleanSession, no SUBSCRIBE: use the kept session") \
	_(BIND, "bind", 0, "PORT", CMD_CLIENT | CMD_SEARCH, \
	  "send from this local UDP port (default: any)") \
	_(TIMEOUT, "timeout", 0, "SEC", CMD_SESSION | CMD_SEARCH, \
	  "wait this long for each response before retransmitting (default 3)") \
	_(RETRIES, "retries", 0, "N", CMD_SESSION | CMD_SEARCH, \
	  "retransmissions before giving up (default 3)") \
	_(VERBOSE, "verbose", 'v', NULL, CMD_ALL, \
	  "print every message sent (>) and received (<) on stderr") \
	_(JSON, "json", 0, NULL, CMD_ALL, "machine-readable output, one JSON object a line") \
	_(HELP, "help", 0, NULL, CMD_ALL, "show this help") \
	_(MESSAGE, "message", 'm', "MESSAGE", CMD_PUB, "payload to publish") \
	_(RETAIN, "retain", 'r', NULL, CMD_PUB, "set the Retain flag") \
	_(COUNT, "count", 'n', "COUNT", CMD_PUB | CMD_SUB | CMD_LISTEN, \
	  "pub: publish COUNT times (default 1); sub, listen: stop after COUNT") \
	_(COUNT_C, NULL, 'c', "COUNT", CMD_PUB | CMD_SUB | CMD_LISTEN, "same as -n") \
	_(INTERVAL, "interval", 0, "MS", CMD_PUB, "milliseconds between publications (default 0)") \
	_(WAIT, "wait", 0, "SEC", CMD_SUB | CMD_LISTEN, "stop after SEC seconds (default: never)") \
	_(DURATION, "duration", 0, "SEC", CMD_SLEEP | CMD_LOAD, \
	  "sleep: sleep duration (1..65535); load: seconds of publishing") \
	_(CYCLES, "cycles", 0, "N", CMD_SLEEP, "sleep/wake cycles (default 1)") \
	_(CLIENTS, "clients", 0, "N", CMD_LOAD, "publisher clients (default 1)") \
	_(RATE, "rate", 0, "MSG_PER_SEC", CMD_LOAD, \
	  "publications per second, all publishers together (default 100)") \
	_(TOPICS, "topics", 0, "T", CMD_LOAD, "topics load/0 .. load/T-1 (default 1)") \
	_(FANOUT, "fanout", 0, "F", CMD_LOAD, "subscribers per topic (default 1)") \
	_(DTLS, "dtls", 0, NULL, CMD_SESSION, \
	  "DTLS 1.2 to the gateway, one message a record; the handshake resends\n" \
	  "                             a flight every --timeout, --retries times") \
	_(PSK_ID, "psk-identity", 0, "ID", CMD_SESSION, \
	  "DTLS PSK identity (with --psk or --psk-hex)") \
	_(PSK, "psk", 0, "KEY", CMD_SESSION, "DTLS pre-shared key as text (up to 64 octets)") \
	_(PSK_HEX, "psk-hex", 0, "HEX", CMD_SESSION, "DTLS pre-shared key in hex (0102...)") \
	_(CA, "ca", 0, "FILE", CMD_SESSION, \
	  "verify the gateway's certificate chain with these CAs (PEM; not its name);\n" \
	  "                             without --ca the certificate is NOT verified") \
	_(CERT, "cert", 0, "FILE", CMD_SESSION, "DTLS client certificate chain (PEM, with --key)") \
	_(KEY, "key", 0, "FILE", CMD_SESSION, "private key of --cert (PEM)") \
	_(CIPHER, "cipher", 0, "LIST", CMD_SESSION, \
	  "OpenSSL cipher list (default: PSK-AES128-CCM8, PSK-AES128-GCM-SHA256, ...\n" \
	  "                             or ECDHE-ECDSA-AES128-GCM-SHA256, ...)")

enum opt_id {
#define OPT_ENUM(e, l, s, a, m, h) OPT_##e,
	FOREACH_OPT(OPT_ENUM)
#undef OPT_ENUM
	OPT_MAX
};

static const struct opt {
	const char *lname;
	char sname;
	const char *arg;
	unsigned int cmds;
	const char *help;
} opts[] = {
#define OPT_ROW(e, l, s, a, m, h) [OPT_##e] = { l, s, a, m, h },
	FOREACH_OPT(OPT_ROW)
#undef OPT_ROW
};

static void
help(FILE *f, const struct cmd *cmd)
{
	unsigned int i;

	if (cmd == NULL) {
		fprintf(f, "Usage: tern-mqttsn COMMAND [OPTIONS]\n\n"
			"An MQTT-SN v1.2 client over UDP (or DTLS 1.2: --dtls). Commands:\n");
		for (i = 0; i < TMQ_DIM(cmds); i++)
			fprintf(f, "  %s\n", cmds[i].synopsis);
		fprintf(f, "\n'tern-mqttsn COMMAND --help' lists the options of a command.\n");
	} else {
		fprintf(f, "Usage: tern-mqttsn %s\n\n%s\n\nOptions:\n", cmd->synopsis, cmd->desc);
		for (i = 0; i < OPT_MAX; i++) {
			const struct opt *o = &opts[i];
			char left[64];
			int n = 0;

			if (!(o->cmds & cmd->bit))
				continue;
			if (o->sname)
				n += snprintf(left + n, sizeof(left) - n, "-%c%s", o->sname,
					      o->lname ? ", " : "");
			else
				n += snprintf(left + n, sizeof(left) - n, "    ");
			if (o->lname)
				n += snprintf(left + n, sizeof(left) - n, "--%s", o->lname);
			if (o->arg)
				snprintf(left + n, sizeof(left) - n, " %s", o->arg);
			fprintf(f, "  %-26s %s\n", left, o->help);
		}
	}
	fprintf(f, "\nExit status: 0 success, 1 protocol failure, reject or timeout, "
		"2 usage error.\n");
}

static int
usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "tern-mqttsn: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'tern-mqttsn %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return TMQ_EXIT_USAGE;
}

static int
parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno || end == s || *end != '\0' || s[0] == '-' || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

static int
parse_double(const char *s, double min, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(*v >= min && *v <= max))
		return -EINVAL;
	return 0;
}

/* One option's value into @p o; -EINVAL if it does not parse. */
static int
set_opt(struct tmq_opts *o, enum opt_id id, const char *a)
{
	unsigned long u = 0;
	double d = 0;
	int rc = 0;

	switch (id) {
	case OPT_HOST: o->host = a; break;
	case OPT_PORT: o->port = a; break;
	case OPT_ID:
		rc = a[0] ? 0 : -EINVAL;
		o->client_id = a;
		o->id_given = true;
		break;
	case OPT_KEEPALIVE: rc = parse_ulong(a, 0, 65535, &u); o->keepalive = u; break;
	case OPT_QOS:
		rc = strcmp(a, "-1") == 0 ? (u = 3, 0) : parse_ulong(a, 0, 2, &u);
		o->qos = u == 3 ? -1 : (int)u;
		break;
	case OPT_CLEAN: o->clean = true; break;
	case OPT_NOCLEAN: o->clean = false; break;
	case OPT_TOPIC:
		rc = a[0] ? 0 : -EINVAL;
		o->topic_type = MQTTSN_TOPIC_NORMAL;
		o->topic = a;
		break;
	case OPT_PREDEF:
		rc = parse_ulong(a, 0, 65535, &u);
		o->topic_type = MQTTSN_TOPIC_PREDEFINED;
		o->topic_id = (uint16_t)u;
		break;
	case OPT_SHORT:
		rc = strlen(a) == 2 ? 0 : -EINVAL;
		o->topic_type = MQTTSN_TOPIC_SHORT;
		o->topic_id = rc ? 0 : MQTTSN_SHORT_TOPIC(a[0], a[1]);
		break;
	case OPT_RESUME: o->resume = true; break;
	case OPT_BIND: rc = parse_ulong(a, 1, 65535, &u); o->bind_port = (uint16_t)u; break;
	case OPT_TIMEOUT:
		rc = parse_double(a, 0.001, 3600, &d);
		o->timeout_ms = (int)(d * 1000 + 0.5);
		break;
	case OPT_RETRIES: rc = parse_ulong(a, 0, 1000, &u); o->retries = u; break;
	case OPT_VERBOSE: o->verbose = true; break;
	case OPT_JSON: o->json = true; break;
	case OPT_MESSAGE: o->message = a; break;
	case OPT_RETAIN: o->retain = true; break;
	case OPT_COUNT:
	case OPT_COUNT_C: rc = parse_ulong(a, 1, ULONG_MAX, &o->count); break;
	case OPT_INTERVAL: rc = parse_ulong(a, 0, 86400000, &u); o->interval_ms = u; break;
	case OPT_WAIT: rc = parse_double(a, 0.001, 1e7, &o->wait_s); break;
	case OPT_DURATION: rc = parse_double(a, 0.001, 1e7, &o->duration_s); break;
	case OPT_CYCLES: rc = parse_ulong(a, 1, 1000000, &u); o->cycles = u; break;
	case OPT_CLIENTS: rc = parse_ulong(a, 1, 100000, &u); o->clients = u; break;
	case OPT_RATE: rc = parse_double(a, 0.001, 1e7, &o->rate); break;
	case OPT_TOPICS: rc = parse_ulong(a, 1, 100000, &u); o->topics = u; break;
	case OPT_FANOUT: rc = parse_ulong(a, 0, 100000, &u); o->fanout = u; break;
	case OPT_DTLS: o->dtls = true; break;
	case OPT_PSK_ID: rc = a[0] ? 0 : -EINVAL; o->dtls_conf.psk_identity = a; break;
	case OPT_PSK: rc = tmq_dtls_psk_text(&o->dtls_conf, a); break;
	case OPT_PSK_HEX: rc = tmq_dtls_psk_hex(&o->dtls_conf, a); break;
	case OPT_CA: o->dtls_conf.ca = a; break;
	case OPT_CERT: o->dtls_conf.cert = a; break;
	case OPT_KEY: o->dtls_conf.key = a; break;
	case OPT_CIPHER: o->dtls_conf.cipher = a; break;
	default: break;
	}
	return rc;
}

/* Cross-option rules of each subcommand; NULL or the complaint. */
static const char *
check_opts(const struct cmd *cmd, const struct tmq_opts *o, const bool *given)
{
	unsigned int ntopic = given[OPT_TOPIC] + given[OPT_PREDEF] + given[OPT_SHORT];
	unsigned int i;

	if (o->resume) {
		if (ntopic != 0)
			return "--resume does not SUBSCRIBE: no -t, --predefined or --short";
		if (given[OPT_CLEAN])
			return "--resume keeps the session: it cannot be --clean";
	}
	if ((cmd->bit & CMD_CLIENT) && !o->resume) {
		if (ntopic != 1)
			return "give exactly one of -t, --predefined, --short";
	}
	if (cmd->bit & CMD_CLIENT) {
		if (strlen(o->client_id) > MQTTSN_CLIENT_ID_SPEC_MAX)
			fprintf(stderr, "tern-mqttsn: warning: client id longer than %d characters "
				"(the spec's limit)\n", MQTTSN_CLIENT_ID_SPEC_MAX);
	}
	if (o->qos == -1 && cmd->bit != CMD_PUB)
		return "QoS -1 exists for pub only";
	for (i = OPT_PSK_ID; i <= OPT_CIPHER; i++)
		if (given[i] && !o->dtls)
			return "--psk-identity, --psk, --psk-hex, --ca, --cert, --key and --cipher "
			       "need --dtls";
	if (given[OPT_PSK] && given[OPT_PSK_HEX])
		return "give one of --psk, --psk-hex";
	if (given[OPT_PSK_ID] != (given[OPT_PSK] || given[OPT_PSK_HEX]))
		return "--psk-identity and --psk (or --psk-hex) go together";
	if (given[OPT_CERT] != given[OPT_KEY])
		return "--cert and --key go together";
	switch (cmd->bit) {
	case CMD_PUB:
		if (o->message == NULL)
			return "pub needs -m MESSAGE";
		if (o->qos == -1 && o->topic_type == MQTTSN_TOPIC_NORMAL)
			return "QoS -1 needs --predefined or --short (there is no REGISTER without "
			       "a connection)";
		break;
	case CMD_SLEEP:
		if (!given[OPT_DURATION] || o->duration_s < 1 || o->duration_s > 65535 ||
		    o->duration_s != (double)(unsigned int)o->duration_s)
			return "sleep needs --duration SEC, whole seconds 1..65535";
		break;
	case CMD_LOAD:
		if (!given[OPT_DURATION])
			return "load needs --duration SEC";
		break;
	default:
		break;
	}
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	tmq_interrupted = 1;
}

int
main(int argc, char **argv)
{
	static char default_id[32];
	struct option longopts[OPT_MAX + 1];
	char shortopts[2 * OPT_MAX + 2];
	bool given[OPT_MAX] = { false };
	struct tmq_opts o = {
		.host = "127.0.0.1",
		.port = "1883",
		.keepalive = 60,
		.clean = true,
		.timeout_ms = 3000,
		.retries = 3,
		.cycles = 1,
		.clients = 1,
		.rate = 100,
		.topics = 1,
		.fanout = 1,
	};
	const struct cmd *cmd = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int i, nl = 0, ns = 0;
	const char *why;
	int c;

	snprintf(default_id, sizeof(default_id), "tern-mqttsn-%d", (int)getpid());
	o.client_id = default_id;
	shortopts[ns++] = ':';
	for (i = 0; i < OPT_MAX; i++) {
		if (opts[i].lname)
			longopts[nl++] = (struct option){ opts[i].lname,
				opts[i].arg ? required_argument : no_argument, NULL, 256 + (int)i };
		if (opts[i].sname) {
			shortopts[ns++] = opts[i].sname;
			if (opts[i].arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[nl] = (struct option){ 0 };
	shortopts[ns] = '\0';

	/* The command is the first word that is not an option (or its value). */
	for (i = 1; i < (unsigned int)argc; i++) {
		const struct opt *p = NULL;
		unsigned int k;

		if (argv[i][0] != '-') {
			for (k = 0; k < TMQ_DIM(cmds); k++)
				if (strcmp(argv[i], cmds[k].name) == 0)
					cmd = &cmds[k];
			if (cmd == NULL)
				return usage_error(NULL, "unknown command '%s'", argv[i]);
			break;
		}
		for (k = 0; k < OPT_MAX; k++) {
			const char *l = opts[k].lname;

			if ((argv[i][1] == opts[k].sname && argv[i][2] == '\0') ||
			    (argv[i][1] == '-' && l != NULL && strcmp(argv[i] + 2, l) == 0))
				p = &opts[k];
		}
		if (p != NULL && p->arg != NULL)
			i++;
	}

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		enum opt_id id = OPT_MAX;

		if (c == '?')
			return usage_error(cmd ? cmd->name : NULL, "unknown option '%s'",
					   argv[optind - 1]);
		if (c == ':')
			return usage_error(cmd ? cmd->name : NULL, "option '%s' needs a value",
					   argv[optind - 1]);
		if (c >= 256) {
			id = (enum opt_id)(c - 256);
		} else {
			for (i = 0; i < OPT_MAX; i++)
				if (opts[i].sname == c)
					id = (enum opt_id)i;
		}
		if (id == OPT_HELP) {
			help(stdout, cmd);
			return TMQ_EXIT_OK;
		}
		if (cmd != NULL && !(opts[id].cmds & cmd->bit)) {
			char name[40];

			if (c < 256)
				snprintf(name, sizeof(name), "-%c", c);
			else
				snprintf(name, sizeof(name), "--%s", opts[id].lname);
			if (id >= OPT_DTLS && id <= OPT_CIPHER)
				return usage_error(cmd->name, "option '%s' does not apply to this "
						   "command: DTLS needs a session with one gateway "
						   "on a connected socket, discovery sends to and "
						   "hears from any address", name);
			return usage_error(cmd->name, "option '%s' does not apply to this command",
					   name);
		}
		given[id] = true;
		if (set_opt(&o, id, optarg) < 0)
			return usage_error(cmd ? cmd->name : NULL, "bad value '%s'", optarg);
	}
	if (cmd == NULL) {
		help(stderr, NULL);
		return TMQ_EXIT_USAGE;
	}
	if (optind + 1 != argc)
		return usage_error(cmd->name, "unexpected argument '%s'",
				   argv[optind + 1 < argc ? optind + 1 : optind]);
	why = check_opts(cmd, &o, given);
	if (why != NULL)
		return usage_error(cmd->name, "%s", why);

	if (o.dtls) {
		o.tr_conf = tmq_dtls_ctx_new(&o.dtls_conf);
		if (o.tr_conf == NULL)
			return TMQ_EXIT_FAIL;
		o.tr = &tmq_dtls_transport;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	c = cmd->run(&o);
	tmq_dtls_ctx_free(o.tr_conf);
	return c;
}
