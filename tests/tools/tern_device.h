/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_TERN_DEVICE_H
#define TERN_TOOLS_TERN_DEVICE_H

/*
 * tern-device (docs/tern-device.md): the parsed command line and what its
 * commands share (tern_device.c: options, output, state file;
 * device_cmd.c: auth, reauth, publish, subscribe; device_load.c: load).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>

#include "device_net.h"
#include "osap_dev.h"

/* Exit status. */
enum {
	TDEV_EXIT_OK = 0,
	TDEV_EXIT_PROTO = 1,     /* a refusal: auth_failed, no_access_node, CONNACK rejected... */
	TDEV_EXIT_USAGE = 2,
	TDEV_EXIT_NET = 3,       /* network failure or timeout */
};

struct tdev_opts {
	const char *cmd;
	struct dnet_addr lbs;
	bool tls;
	const char *ca;
	const char *serial;
	const char *code;
	const char *state;
	bool json;
	bool verbose;
	int timeout_ms;
	uint8_t group;              /* offered protocol group */
	bool group_given;
	uint32_t iterations;        /* PBKDF2 count of the share key */
	uint8_t family;             /* asked for in 0xA */
	/* publish, subscribe */
	const char *topic;
	const char *message;
	int qos;
	unsigned long count;        /* subscribe: stop after COUNT; 0: not given */
	double wait_s;              /* subscribe: stop after SEC; 0: never */
	/* load */
	unsigned int devices;
	double rate;
	double duration_s;
	bool reauth;
	unsigned int threads;
	/* set up by main() */
	SSL_CTX *ssl_ctx;
};

/* Timings of one device's run, nanoseconds. */
struct tdev_times {
	uint64_t connect, tls, auth, address, total;
};

/*
 * One exchange with the LBS (connect, TLS, first authentication or
 * re-authentication, get address), retried once on a new connection when
 * the LBS answers the inconsistent negotiation with an offer the device can
 * take (group & @p caps).
 */
struct tdev_run {
	struct osap_dev_result r;
	struct tdev_times t;
	bool reauth;                /* 0x4 was used */
	bool retried;               /* the negotiation retry happened */
	uint8_t first_type, first_group;   /* offered on the first attempt */
	uint8_t server_type, server_group; /* the LBS's offer that made us retry */
	bool ip_unchecked;          /* TLS to an IP literal without an IP SAN */
	int net_rc;                 /* connect/TLS failure (negative), 0 otherwise */
	char net_err[256];
};

/**
 * Run the exchange for @p d (first authentication, or re-authentication if
 * @p reauth) over TCP/TLS to o->lbs. @p caps: the protocol bits the caller
 * can use after it (the negotiation retry offers server group & caps).
 * @return 0, or the exit class (TDEV_EXIT_PROTO, TDEV_EXIT_NET); @p run says
 *         everything.
 */
int tdev_exchange(const struct tdev_opts *o, struct osap_dev *d, bool reauth, uint8_t caps,
		  struct tdev_run *run);

/** The name of @p run's failure (NULL on success): an OSAP status or device-side name. */
const char *tdev_run_error(const struct tdev_run *run, char *buf, size_t cap);

/** Name of a protocol bit: "plain", "secure", or "none". */
const char *tdev_proto_name(uint8_t proto);

/* ---- output ---- */

/** "tern-device: " + message on stderr. */
void tdev_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Start the JSON result of a device run (no closing brace): command,
 * serial, devid, node, negotiation, ms, error. The caller adds its own
 * fields with tdev_json_*() and closes with tdev_json_end().
 */
void tdev_json_run(FILE *f, const char *cmd, const struct osap_dev *d,
		   const struct tdev_run *run, const char *error);
void tdev_json_end(FILE *f);
/** The human-readable lines of a device run (stdout on success, stderr on failure). */
void tdev_print_run(const char *cmd, const struct osap_dev *d, const struct tdev_run *run,
		    const char *error);

/** A JSON string (quotes included). */
void tdev_json_str(FILE *f, const char *s, size_t len);

/* ---- the state file ---- */

/**
 * Load DevID, master key (and serial) from the state file @p path into
 * @p d. @return 1 loaded, 0 the file does not exist, negative on a bad file
 * (printed).
 */
int tdev_state_load(const char *path, struct osap_dev *d, char *serial, size_t cap);

/**
 * Write @p d's serial, DevID, master key, session key and its expiry to
 * @p path (mode 0600, replaced atomically). @return 0 or negative (printed).
 */
int tdev_state_save(const char *path, const struct tdev_opts *o, const struct osap_dev *d);

/* ---- commands: each returns the exit status ---- */

int tdev_cmd_auth(const struct tdev_opts *o);
int tdev_cmd_reauth(const struct tdev_opts *o);
int tdev_cmd_publish(const struct tdev_opts *o);
int tdev_cmd_subscribe(const struct tdev_opts *o);
int tdev_cmd_load(const struct tdev_opts *o);

#endif
