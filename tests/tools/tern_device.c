/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-device: an OSAP device simulator (docs/tern-device.md). It
 * authenticates at tern's load-balancing service over TCP or TLS
 * (osap_dev.h does the protocol), then talks MQTT-SN to the access node it
 * was given, with sealed payloads (docs/osap.md section 11).
 *
 * The command line is two tables, as in tern-mqttsn: the commands and the
 * options, each option naming the commands that take it; getopt's table,
 * the check that an option applies and every --help text come from them.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "mqttsn_client.h"
#include "proto/osap_crypto.h"
#include "tern_device.h"

#define TDEV_DIM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	CMD_AUTH = 1 << 0,
	CMD_REAUTH = 1 << 1,
	CMD_PUB = 1 << 2,
	CMD_SUB = 1 << 3,
	CMD_LOAD = 1 << 4,
	CMD_MQ = CMD_PUB | CMD_SUB,
	CMD_ALL = CMD_AUTH | CMD_REAUTH | CMD_PUB | CMD_SUB | CMD_LOAD,
};

static const struct cmd {
	const char *name;
	unsigned int bit;
	unsigned int nargs;      /* positional arguments after the command */
	int (*run)(const struct tdev_opts *o);
	const char *synopsis;
	const char *desc;
} cmds[] = {
	{ "auth", CMD_AUTH, 0, tdev_cmd_auth,
	  "auth --lbs ADDR:PORT --serial SN --code CODE [--state FILE]",
	  "First authentication (0x1/0x2 negotiation and ECDH, 0x7/0x8 DevID and session key,\n"
	  "0x9) and get address (0xA/0xB). Prints the DevID and the access node. With\n"
	  "--state, writes serial, DevID, master key and session key to FILE (mode 0600)." },
	{ "reauth", CMD_REAUTH, 0, tdev_cmd_reauth,
	  "reauth --lbs ADDR:PORT --state FILE",
	  "Re-authentication with the DevID and master key of FILE (0x4/0x6: a new\n"
	  "session key) and get address; FILE gets the new session key." },
	{ "publish", CMD_PUB, 2, tdev_cmd_publish,
	  "publish TOPIC MESSAGE --lbs ADDR:PORT --serial SN --code CODE [--qos 0|1]",
	  "Authenticate (re-authenticate if --state holds a master key), then at the access\n"
	  "node: CONNECT with the DevID as client id, REGISTER TOPIC, PUBLISH MESSAGE sealed\n"
	  "under the session key (direction up, counter 1), DISCONNECT." },
	{ "subscribe", CMD_SUB, 1, tdev_cmd_subscribe,
	  "subscribe TOPIC --lbs ADDR:PORT --serial SN --code CODE [--count N] [--wait S]",
	  "Authenticate as publish does, CONNECT, SUBSCRIBE TOPIC, then print each PUBLISH\n"
	  "opened with the session key (direction down, replay window). A payload that does\n"
	  "not open is reported as an error line, never printed as data. Stops after N\n"
	  "messages or S seconds (or SIGINT); exit 1 if N was given and not reached." },
	{ "load", CMD_LOAD, 0, tdev_cmd_load,
	  "load --lbs ADDR:PORT --serial PREFIX --code CODE --devices N --rate R [--duration S]"
	  " [--reauth]",
	  "N devices PREFIX0 .. PREFIX(N-1), one verification code: first authentications (and\n"
	  "get address) started at R per second for S seconds, or with --reauth one first\n"
	  "authentication each, then re-authentications at R per second. Reports the rate\n"
	  "achieved, failures by reason and latency percentiles." },
};

/* id, long name, argument, commands, help */
#define FOREACH_OPT(_) \
	_(LBS, "lbs", "ADDR:PORT", CMD_ALL, \
	  "the LBS: host name, IPv4, or [IPv6], and TCP port (required)") \
	_(TLS, "tls", NULL, CMD_ALL, "TLS to the LBS (default: plain TCP)") \
	_(CA, "ca", "FILE", CMD_ALL, \
	  "with --tls: verify the LBS against these PEM CA certificates (default: system)") \
	_(SERIAL, "serial", "SN", CMD_ALL, \
	  "serial number (load: the prefix; reauth: default from --state)") \
	_(CODE, "code", "CODE", CMD_ALL, "verification code") \
	_(ITER, "iterations", "N", CMD_ALL, \
	  "PBKDF2 count of the share key: the LBS's setting (default 10000)") \
	_(STATE, "state", "FILE", CMD_AUTH | CMD_REAUTH | CMD_MQ, \
	  "JSON file keeping DevID and keys between runs (mode 0600)") \
	_(GROUP, "group", "BITS", CMD_ALL, \
	  "protocol group offered, 1..255 (default 1: plain MQTT-SN; 2: DTLS, 3: both)") \
	_(FAMILY, "family", "any|4|6", CMD_ALL, "address family asked for in 0xA (default any)") \
	_(TIMEOUT, "timeout", "S", CMD_ALL, \
	  "per connect, handshake and answer (default 5; fractions allowed)") \
	_(JSON, "json", NULL, CMD_ALL, "one JSON object per result on stdout") \
	_(VERBOSE, "verbose", NULL, CMD_ALL, "print MQTT-SN messages sent and received on stderr") \
	_(HELP, "help", NULL, CMD_ALL, "show this help") \
	_(QOS, "qos", "0|1", CMD_MQ, "QoS of the PUBLISH / of the subscription (default 0)") \
	_(COUNT, "count", "N", CMD_SUB, "subscribe: stop after N messages") \
	_(WAIT, "wait", "S", CMD_SUB, "subscribe: stop after S seconds (default: never)") \
	_(DEVICES, "devices", "N", CMD_LOAD, "load: number of devices (default 1)") \
	_(RATE, "rate", "R", CMD_LOAD, "load: exchanges started per second (default 10)") \
	_(DURATION, "duration", "S", CMD_LOAD, "load: seconds of load (default 10)") \
	_(REAUTH, "reauth", NULL, CMD_LOAD, "load: re-authentications instead of first ones") \
	_(THREADS, "threads", "T", CMD_LOAD, "load: parallel connections at most (default 8)")

enum opt_id {
#define OPT_ENUM(e, l, a, m, h) OPT_##e,
	FOREACH_OPT(OPT_ENUM)
#undef OPT_ENUM
	OPT_MAX
};

static const struct opt {
	const char *lname;
	const char *arg;
	unsigned int cmds;
	const char *help;
} opts[] = {
#define OPT_ROW(e, l, a, m, h) [OPT_##e] = { l, a, m, h },
	FOREACH_OPT(OPT_ROW)
#undef OPT_ROW
};

/* ---- output ---- */

void
tdev_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("tern-device: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
tdev_json_str(FILE *f, const char *s, size_t len)
{
	tmq_json_str(f, (const uint8_t *)s, len);
}

const char *
tdev_proto_name(uint8_t proto)
{
	switch (proto) {
	case OSAP_PROTO_PLAIN: return "plain";
	case OSAP_PROTO_SECURE: return "secure";
	default: return "none";
	}
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

void
tdev_json_run(FILE *f, const char *cmd, const struct osap_dev *d, const struct tdev_run *run,
	      const char *error)
{
	const struct osap_dev_result *r = &run->r;
	char addr[64];

	fprintf(f, "{\"command\":\"%s\",\"serial\":", cmd);
	tdev_json_str(f, d->serial, strlen(d->serial));
	fputs(",\"devid\":", f);
	if (d->devid[0])
		tdev_json_str(f, d->devid, strlen(d->devid));
	else
		fputs("null", f);
	fputs(",\"node\":", f);
	if (error == NULL && r->node_port != 0) {
		fputs("{\"addr\":", f);
		osap_dev_node_str(r, addr, sizeof(addr));
		tdev_json_str(f, addr, strlen(addr));
		fprintf(f, ",\"port\":%u,\"protocol\":\"%s\",\"lifetime\":%u}", r->node_port,
			tdev_proto_name(r->node_proto), r->admit_lifetime);
	} else {
		fputs("null", f);
	}
	fprintf(f, ",\"reauth\":%s,\"key_lifetime\":", run->reauth ? "true" : "false");
	if (error == NULL)
		fprintf(f, "%u", d->key_lifetime);
	else
		fputs("null", f);
	fprintf(f, ",\"negotiation\":{\"offered\":%u,\"chosen\":", run->retried ?
		d->proto_group : run->first_group);
	if (error == NULL || r->stage > OSAP_REFRESH_REQ)
		fprintf(f, "\"%s\"", tdev_proto_name(d->proto));
	else
		fputs("null", f);
	if (run->retried)
		fprintf(f, ",\"retried\":{\"first_offered\":%u,\"server_type\":%u,"
			"\"server_group\":%u}", run->first_group, run->server_type,
			run->server_group);
	else
		fputs(",\"retried\":null", f);
	fprintf(f, "},\"ms\":{\"connect\":%.3f,\"tls\":%.3f,\"auth\":%.3f,\"address\":%.3f,"
		"\"total\":%.3f},\"error\":", ms(run->t.connect), ms(run->t.tls), ms(run->t.auth),
		ms(run->t.address), ms(run->t.total));
	if (error != NULL)
		tdev_json_str(f, error, strlen(error));
	else
		fputs("null", f);
	if (error != NULL && run->net_rc == 0 && r->err == OSAP_DEV_E_REFUSED) {
		fprintf(f, ",\"stage\":\"%s\",\"in_error\":%s,\"retry_after\":%u",
			osap_type_name(r->stage) ? osap_type_name(r->stage) : "?",
			r->in_error ? "true" : "false", r->retry_after);
		if (r->reason[0]) {
			fputs(",\"reason\":", f);
			tdev_json_str(f, r->reason, strlen(r->reason));
		}
	}
	if (error != NULL && run->net_rc != 0) {
		fputs(",\"detail\":", f);
		tdev_json_str(f, run->net_err, strlen(run->net_err));
	}
	if (run->ip_unchecked)
		fputs(",\"tls_ip_unchecked\":true", f);
}

void
tdev_json_end(FILE *f)
{
	fputs("}\n", f);
	fflush(f);
}

void
tdev_print_run(const char *cmd, const struct osap_dev *d, const struct tdev_run *run,
	       const char *error)
{
	const struct osap_dev_result *r = &run->r;
	char addr[64];

	if (run->retried)
		printf("negotiation: offered group %u, the LBS serves type %u group %u; "
		       "reconnected and retried with group %u\n", run->first_group,
		       run->server_type, run->server_group, d->proto_group);
	if (error != NULL) {
		const char *desc = NULL;

		if (run->net_rc != 0) {
			tdev_warn("%s %s: %s (%s)", cmd, d->serial, error, run->net_err);
			return;
		}
		if (r->err == OSAP_DEV_E_REFUSED)
			desc = osap_status_desc(r->status);
		tdev_warn("%s %s: %s%s%s%s at %s%s", cmd, d->serial, error,
			  desc ? " (" : "", desc ? desc : "", desc ? ")" : "",
			  osap_type_name(r->stage) ? osap_type_name(r->stage) : "?",
			  r->in_error ? ", in an ERROR" : "");
		if (r->reason[0])
			fprintf(stderr, "  reason: %s\n", r->reason);
		if (r->retry_after)
			fprintf(stderr, "  retry after %u s\n", r->retry_after);
		return;
	}
	osap_dev_node_str(r, addr, sizeof(addr));
	printf("%s %s ok: devid %s, session key valid %u s, protocol %s\n", cmd, d->serial,
	       d->devid, d->key_lifetime, tdev_proto_name(d->proto));
	printf("node %s%s%s port %u (MQTT-SN %s, admission %u s)\n",
	       r->node_family == OSAP_FAMILY_IPV6 ? "[" : "", addr,
	       r->node_family == OSAP_FAMILY_IPV6 ? "]" : "", r->node_port,
	       tdev_proto_name(r->node_proto), r->admit_lifetime);
	printf("ms: connect %.2f tls %.2f %s %.2f address %.2f total %.2f\n", ms(run->t.connect),
	       ms(run->t.tls), run->reauth ? "reauth" : "auth", ms(run->t.auth),
	       ms(run->t.address), ms(run->t.total));
	if (run->ip_unchecked)
		tdev_warn("TLS: the certificate of %s has no IP address: accepted on the --ca "
			  "chain alone", d->serial);
	fflush(stdout);
}

/* ---- the exchange ---- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *
tdev_run_error(const struct tdev_run *run, char *buf, size_t cap)
{
	if (run->net_rc == -ETIMEDOUT)
		return "timeout";
	if (run->net_rc == -EPROTO)
		return "tls_failed";
	if (run->net_rc == -EINVAL)
		return "bad_address";
	if (run->net_rc == -ECONNREFUSED)
		return "connection_refused";
	if (run->net_rc != 0)
		return "connect_failed";
	if (run->r.err == OSAP_DEV_E_NONE)
		return NULL;
	return osap_dev_error_name(&run->r, buf, cap);
}

int
tdev_exchange(const struct tdev_opts *o, struct osap_dev *d, bool reauth, uint8_t caps,
	      struct tdev_run *run)
{
	uint64_t t0 = now_ns();
	int attempt, rc = 0;

	memset(run, 0, sizeof(*run));
	run->reauth = reauth;
	run->first_type = d->proto_type;
	run->first_group = d->proto_group;
	for (attempt = 0; attempt < 2; attempt++) {
		struct dnet_conn c;
		struct osap_stream st;

		osap_dev_result_init(&run->r);
		run->net_rc = dnet_connect(&c, &o->lbs, o->ssl_ctx, o->ca != NULL, o->timeout_ms,
					   run->net_err, sizeof(run->net_err));
		run->t.connect = c.connect_ns;
		run->t.tls = c.tls_ns;
		if (run->net_rc < 0) {
			rc = run->net_rc == -EPROTO ? TDEV_EXIT_PROTO : TDEV_EXIT_NET;
			break;
		}
		run->ip_unchecked = c.ip_unchecked;
		dnet_stream(&c, o->timeout_ms, &st);
		rc = reauth ? osap_dev_reauth(d, &st, &run->r) : osap_dev_first_auth(d, &st, &run->r);
		if (rc == 0)
			rc = osap_dev_get_address(d, &st, &run->r);
		dnet_close(&c);
		run->t.auth = run->r.auth_ns;
		run->t.address = run->r.addr_ns;
		if (rc == 0)
			break;
		rc = osap_dev_err_class(run->r.err);
		if (attempt == 0 && run->r.err == OSAP_DEV_E_REFUSED &&
		    run->r.status == OSAP_ST_UNSUPPORTED_PROTOCOL &&
		    run->r.offer_type == OSAP_PROTO_TYPE_MQTTSN &&
		    (run->r.offer_group & caps) != 0 &&
		    (run->r.offer_type != d->proto_type ||
		     (run->r.offer_group & caps) != d->proto_group)) {
			/* the draft's inconsistent case: reconnect with the server's offer */
			run->retried = true;
			run->server_type = run->r.offer_type;
			run->server_group = run->r.offer_group;
			d->proto_type = run->r.offer_type;
			d->proto_group = run->r.offer_group & caps;
			continue;
		}
		break;
	}
	run->t.total = now_ns() - t0;
	return rc;
}

/* ---- the state file ---- */

static int
hex_to(const char *s, uint8_t *out, size_t n)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		out[i] = (uint8_t)b;
	}
	return 0;
}

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

int
tdev_state_load(const char *path, struct osap_dev *d, char *serial, size_t cap)
{
	json_error_t je;
	json_t *j, *v;
	const char *devid, *mk, *sn;
	int rc = -EINVAL;

	if (access(path, F_OK) != 0)
		return 0;
	j = json_load_file(path, 0, &je);
	if (j == NULL) {
		tdev_warn("%s: %s (line %d)", path, je.text, je.line);
		return -EINVAL;
	}
	sn = json_string_value(json_object_get(j, "serial"));
	devid = json_string_value(json_object_get(j, "devid"));
	mk = json_string_value(json_object_get(j, "master_key"));
	if (sn != NULL && serial != NULL) {
		snprintf(serial, cap, "%s", sn);
	}
	if (devid == NULL || devid[0] == '\0' || strlen(devid) > OSAP_ID_MAX ||
	    hex_to(mk, d->master_key, OSAP_KEY_LEN) < 0) {
		tdev_warn("%s: no valid \"devid\" and \"master_key\" (32 hex digits)", path);
		goto out;
	}
	snprintf(d->devid, sizeof(d->devid), "%s", devid);
	d->has_master = true;
	rc = 1;
out:
	v = json_object_get(j, "master_key");
	if (v != NULL && json_string_length(v) > 0)
		OPENSSL_cleanse((void *)json_string_value(v), json_string_length(v));
	json_decref(j);
	return rc;
}

int
tdev_state_save(const char *path, const struct tdev_opts *o, const struct osap_dev *d)
{
	char mk[2 * OSAP_KEY_LEN + 1], ks[2 * OSAP_KEY_LEN + 1], tmp[4096];
	json_t *j;
	FILE *f;
	int fd, rc = 0;

	to_hex(d->master_key, OSAP_KEY_LEN, mk);
	to_hex(d->session_key, OSAP_KEY_LEN, ks);
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "serial", d->serial,
		      "devid", d->devid, "master_key", mk, "session_key", ks,
		      "key_lifetime", (json_int_t)d->key_lifetime,
		      "key_expiry", (json_int_t)(time(NULL) + d->key_lifetime),
		      "lbs", o->lbs.host);
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(ks, sizeof(ks));
	if (j == NULL)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = -errno;
		tdev_warn("%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		goto out;
	}
	if (json_dumpf(j, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = -EIO;
		tdev_warn("%s: cannot write", tmp);
	}
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
		tdev_warn("%s: %s", path, strerror(errno));
	}
	if (rc < 0)
		unlink(tmp);
out:
	/* the dumped keys live in jansson's strings: wipe them before freeing */
	for (const char *k = "master_key"; k != NULL;
	     k = strcmp(k, "master_key") == 0 ? "session_key" : NULL) {
		json_t *v = json_object_get(j, k);

		OPENSSL_cleanse((void *)json_string_value(v), json_string_length(v));
	}
	json_decref(j);
	return rc;
}

/* ---- the command line ---- */

static void
help(FILE *f, const struct cmd *cmd)
{
	unsigned int i;

	if (cmd == NULL) {
		fprintf(f, "Usage: tern-device COMMAND [OPTIONS]\n\n"
			"An OSAP device: authenticates at tern's load-balancing service (TCP or "
			"TLS),\nthen speaks MQTT-SN to the access node it is given. Commands:\n");
		for (i = 0; i < TDEV_DIM(cmds); i++)
			fprintf(f, "  %s\n", cmds[i].synopsis);
		fprintf(f, "\n'tern-device COMMAND --help' lists the options of a command.\n");
	} else {
		fprintf(f, "Usage: tern-device %s\n\n%s\n\nOptions:\n", cmd->synopsis, cmd->desc);
		for (i = 0; i < OPT_MAX; i++) {
			const struct opt *o = &opts[i];
			char left[64];

			if (!(o->cmds & cmd->bit))
				continue;
			snprintf(left, sizeof(left), "--%s%s%s", o->lname, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			fprintf(f, "  %-22s %s\n", left, o->help);
		}
	}
	fprintf(f, "\nExit status: 0 success, 1 refused by the LBS or the node (auth_failed,\n"
		"no_access_node, ...), 2 usage error, 3 network failure or timeout.\n");
}

static int
usage_error(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("tern-device: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tern-device %s%s--help'.\n", cmd ? cmd->name : "",
		cmd ? " " : "");
	return TDEV_EXIT_USAGE;
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

static int
set_opt(struct tdev_opts *o, enum opt_id id, const char *a)
{
	unsigned long u = 0;
	double d = 0;
	int rc = 0;

	switch (id) {
	case OPT_LBS: rc = dnet_parse_addr(a, &o->lbs); break;
	case OPT_TLS: o->tls = true; break;
	case OPT_CA: o->ca = a; break;
	case OPT_SERIAL:
		rc = a[0] && strlen(a) <= OSAP_ID_MAX ? 0 : -EINVAL;
		o->serial = a;
		break;
	case OPT_CODE:
		rc = a[0] && strlen(a) <= OSAP_ID_MAX ? 0 : -EINVAL;
		o->code = a;
		break;
	case OPT_ITER:
		rc = parse_ulong(a, 1, 10000000, &u);
		o->iterations = (uint32_t)u;
		break;
	case OPT_STATE: o->state = a; break;
	case OPT_GROUP:
		rc = parse_ulong(a, 1, 255, &u);
		o->group = (uint8_t)u;
		o->group_given = true;
		break;
	case OPT_FAMILY:
		if (strcmp(a, "any") == 0)
			o->family = OSAP_FAMILY_ANY;
		else if (strcmp(a, "4") == 0)
			o->family = OSAP_FAMILY_IPV4;
		else if (strcmp(a, "6") == 0)
			o->family = OSAP_FAMILY_IPV6;
		else
			rc = -EINVAL;
		break;
	case OPT_TIMEOUT:
		rc = parse_double(a, 0.001, 3600, &d);
		o->timeout_ms = (int)(d * 1000 + 0.5);
		break;
	case OPT_JSON: o->json = true; break;
	case OPT_VERBOSE: o->verbose = true; break;
	case OPT_QOS: rc = parse_ulong(a, 0, 1, &u); o->qos = (int)u; break;
	case OPT_COUNT: rc = parse_ulong(a, 1, 100000000, &o->count); break;
	case OPT_WAIT: rc = parse_double(a, 0.001, 1e7, &o->wait_s); break;
	case OPT_DEVICES: rc = parse_ulong(a, 1, 1000000, &u); o->devices = (unsigned int)u; break;
	case OPT_RATE: rc = parse_double(a, 0.001, 1e6, &o->rate); break;
	case OPT_DURATION: rc = parse_double(a, 0.001, 1e6, &o->duration_s); break;
	case OPT_REAUTH: o->reauth = true; break;
	case OPT_THREADS: rc = parse_ulong(a, 1, 256, &u); o->threads = (unsigned int)u; break;
	default: break;
	}
	return rc;
}

/* Cross-option rules; NULL or the complaint. */
static const char *
check_opts(const struct cmd *cmd, const struct tdev_opts *o, const bool *given)
{
	if (!given[OPT_LBS])
		return "--lbs ADDR:PORT is required";
	if (o->ca != NULL && !o->tls)
		return "--ca needs --tls";
	switch (cmd->bit) {
	case CMD_REAUTH:
		if (o->state == NULL)
			return "reauth needs --state FILE (from an earlier auth --state FILE)";
		break;
	case CMD_AUTH:
	case CMD_LOAD:
		if (o->serial == NULL || o->code == NULL)
			return "--serial and --code are required";
		break;
	case CMD_PUB:
	case CMD_SUB:
		if ((o->serial == NULL || o->code == NULL) && o->state == NULL)
			return "--serial and --code are required (or --state FILE of an earlier auth)";
		break;
	default:
		break;
	}
	if (cmd->bit == CMD_LOAD && o->serial != NULL && strlen(o->serial) + 7 > OSAP_ID_MAX)
		return "--serial PREFIX too long for the device index";
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
	struct option longopts[OPT_MAX + 1];
	bool given[OPT_MAX] = { false };
	struct tdev_opts o = {
		.timeout_ms = 5000,
		.group = OSAP_PROTO_PLAIN,
		.iterations = OSAP_SHARE_KEY_ITER_DEFAULT,
		.family = OSAP_FAMILY_ANY,
		.devices = 1,
		.rate = 10,
		.duration_s = 10,
		.threads = 8,
	};
	const struct cmd *cmd = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *why;
	char err[512];
	unsigned int i;
	int c, rc;

	for (i = 0; i < OPT_MAX; i++)
		longopts[i] = (struct option){ opts[i].lname,
			opts[i].arg ? required_argument : no_argument, NULL, 256 + (int)i };
	longopts[OPT_MAX] = (struct option){ 0 };

	/* The command is the first word that is not an option (or its value). */
	for (i = 1; i < (unsigned int)argc; i++) {
		const struct opt *p = NULL;
		unsigned int k;

		if (argv[i][0] != '-') {
			for (k = 0; k < TDEV_DIM(cmds); k++)
				if (strcmp(argv[i], cmds[k].name) == 0)
					cmd = &cmds[k];
			if (cmd == NULL)
				return usage_error(NULL, "unknown command '%s'", argv[i]);
			break;
		}
		for (k = 0; k < OPT_MAX; k++)
			if (argv[i][1] == '-' && strcmp(argv[i] + 2, opts[k].lname) == 0)
				p = &opts[k];
		if (p != NULL && p->arg != NULL)
			i++;
	}

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		enum opt_id id;

		if (c == '?')
			return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		id = (enum opt_id)(c - 256);
		if (id == OPT_HELP) {
			help(stdout, cmd);
			return TDEV_EXIT_OK;
		}
		if (cmd != NULL && !(opts[id].cmds & cmd->bit))
			return usage_error(cmd, "option '--%s' does not apply to %s",
					   opts[id].lname, cmd->name);
		given[id] = true;
		if (set_opt(&o, id, optarg) < 0)
			return usage_error(cmd, "bad value '%s' for --%s", optarg, opts[id].lname);
	}
	if (cmd == NULL) {
		help(stderr, NULL);
		return TDEV_EXIT_USAGE;
	}
	/* optind: the command, then its positional arguments (getopt moved them last) */
	if ((unsigned int)(argc - optind) != 1 + cmd->nargs)
		return usage_error(cmd, "%s takes %u argument%s after the command, got %d",
				   cmd->name, cmd->nargs, cmd->nargs == 1 ? "" : "s",
				   argc - optind - 1);
	if (strcmp(argv[optind], cmd->name) != 0)
		return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (cmd->nargs >= 1)
		o.topic = argv[optind + 1];
	if (cmd->nargs >= 2)
		o.message = argv[optind + 2];
	if (o.topic != NULL && o.topic[0] == '\0')
		return usage_error(cmd, "empty TOPIC");
	why = check_opts(cmd, &o, given);
	if (why != NULL)
		return usage_error(cmd, "%s", why);
	o.cmd = cmd->name;

	if (o.tls) {
		o.ssl_ctx = dnet_tls_ctx(o.ca, err, sizeof(err));
		if (o.ssl_ctx == NULL) {
			tdev_warn("%s", err);
			return TDEV_EXIT_USAGE;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = cmd->run(&o);
	SSL_CTX_free(o.ssl_ctx);
	return rc;
}
