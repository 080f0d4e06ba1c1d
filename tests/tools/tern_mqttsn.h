/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_TERN_MQTTSN_H
#define TERN_TOOLS_TERN_MQTTSN_H

/* The parsed command line of tern-mqttsn, shared by its subcommands. */

#include <stdbool.h>
#include <stdint.h>

#include "mqttsn_dtls.h"

struct tmq_opts {
	/* common */
	const char *host;
	const char *port;
	const char *client_id;
	bool id_given;              /* -i given (load: otherwise a short default prefix) */
	unsigned int keepalive;     /* seconds, CONNECT Duration */
	int qos;                    /* -1..2 */
	bool clean;
	int topic_type;             /* enum mqttsn_topic_type */
	const char *topic;          /* -t (NORMAL) */
	uint16_t topic_id;          /* --predefined, --short */
	bool has_topic;
	int timeout_ms;
	unsigned int retries;
	bool verbose;
	bool json;
	uint16_t bind_port;         /* --bind: local UDP port; 0: any */
	bool dtls;                  /* --dtls */
	struct tmq_dtls_conf dtls_conf;
	const struct tmq_transport *tr; /* main(): the clients' transport, NULL: UDP */
	void *tr_conf;              /* main(): its shared settings (the DTLS context) */
	/* pub */
	const char *message;
	bool retain;
	unsigned long count;        /* pub -n, sub -c; 0: not given */
	unsigned int interval_ms;
	/* sub, listen */
	double wait_s;              /* 0: not given */
	bool resume;                /* sub --resume: no CleanSession, no SUBSCRIBE */
	/* sleep, load */
	double duration_s;
	unsigned int cycles;
	/* load */
	unsigned int clients;
	double rate;
	unsigned int topics;
	unsigned int fanout;
};

/*
 * The subcommands (mqttsn_cmd.c, mqttsn_load.c, mqttsn_disc.c); each returns
 * the exit status.
 */
int tmq_cmd_pub(const struct tmq_opts *o);
int tmq_cmd_sub(const struct tmq_opts *o);
int tmq_cmd_sleep(const struct tmq_opts *o);
int tmq_cmd_load(const struct tmq_opts *o);
int tmq_cmd_search(const struct tmq_opts *o);
int tmq_cmd_listen(const struct tmq_opts *o);

#endif
