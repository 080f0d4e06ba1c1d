/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_CONFIG_H
#define TERN_CONTROL_CONFIG_H

/*
 * ternd's configuration: a YAML file parsed through one schema table (key,
 * type, default, range, description). docs/configuration.md is generated
 * from the same table (`ternd --config-schema`) and a test checks they agree.
 *
 * A loaded configuration is an immutable snapshot; main lcore only.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/dp.h"

/* mqttsn.predefined[]: a topic id every client knows without REGISTER. */
struct tern_predef {
	uint16_t id;
	char *topic;
};

/* mqttsn.access[]: a topic access rule (proto/acl.h). */
struct tern_access {
	char *client;                  /* fnmatch(3) pattern of client ids */
	char *topic;                   /* topic filter; a level "%c" is the client id */
	uint8_t ops;                   /* ACL_PUBLISH | ACL_SUBSCRIBE */
	bool allow;
	uint8_t transport;             /* enum acl_transport: any, dtls, plain */
};

/* An IP address and a TCP port (lbs.listen[], node_link.listen, nodes[].link). */
struct tern_endpoint {
	bool v6;
	uint8_t addr[16];              /* network order; IPv4 in the first 4 bytes */
	uint16_t port;                 /* host order; 0 = not set */
};

/* The OSAP load-balancing service (`lbs:`, docs/osap.md). */
struct tern_lbs {
	bool enabled;
	uint16_t port;                 /* on every port's addresses; 0: not there */
	struct tern_endpoint *listen;  /* further kernel addresses, nb_listen of them */
	unsigned int nb_listen;
	bool tls;
	char *cert;                    /* PEM certificate chain (tls) */
	char *key;                     /* PEM private key (tls) */
	uint32_t max_connections;      /* open LBS connections at once */
	uint32_t handshake_timeout;    /* s, connection to first address granted */
	uint32_t idle_timeout;         /* s of silence a connection may keep */
	uint32_t source_rate;          /* new connections per second per source address */
	uint32_t device_rate;          /* authentications per minute per device */
	uint32_t key_lifetime;         /* s a session key is valid */
	uint32_t admit_lifetime;       /* s a node holds an admission for the device to connect */
};

/* An access node of the LBS's pool (`nodes[]`). */
struct tern_node {
	char *name;
	bool v6;
	uint8_t addr[16];              /* where devices reach it (MQTT-SN) */
	uint16_t port;                 /* its MQTT-SN port */
	uint32_t weight;
	struct tern_endpoint link;     /* its node link */
};

/* The node link (`node_link:`): TLS with mutual authentication between tern instances. */
struct tern_node_link {
	bool listening;                /* node_link.address given: this instance is an access node */
	struct tern_endpoint listen;   /* where it takes admissions */
	char *cert;
	char *key;
	char *ca;
	uint32_t interval;             /* s between two load reports asked of a node */
	uint32_t timeout;              /* s without an answer before a node is down */
};

/* A pre-shared key of `dtls.psk[]`. */
struct tern_psk {
	char *identity;
	uint8_t key[64];
	size_t key_len;
	uint8_t key_src;               /* 1: key (text), 2: key_hex, 3: both (an error) */
};

/* DTLS terminated by the control plane (`dtls:`, docs/dtls.md). */
struct tern_dtls {
	uint16_t coap_port;            /* coaps; 0: none */
	uint16_t mqttsn_port;          /* MQTT-SN over DTLS; 0: none */
	char *cert;                    /* PEM server certificate (ECDSA P-256) */
	char *key;
	char *ca;                      /* CAs of client certificates */
	uint8_t verify_client;         /* enum dtls_verify: none, optional, required */
	struct tern_psk *psk;
	unsigned int nb_psk;
	uint32_t max_sessions;
	uint32_t max_handshakes;
	uint32_t handshake_timeout;    /* s */
	uint32_t idle_timeout;         /* s */
	uint32_t cookie_rotate;        /* s */
	uint16_t mtu;                  /* largest UDP payload written */
};

struct tern_config {
	char *source;                  /* file path, or "<built-in>" */
	char **eal_argv;               /* argv for the EAL; eal_argv[0] = "ternd" */
	int eal_argc;
	struct dp_port_params ports[DP_MAX_PORTS];
	unsigned int nb_ports;
	char *ctl_socket;              /* control socket path */
	char *ctl_group;               /* group owning the socket, NULL = ternd's */
	char *log_level;               /* "emerg".."debug" */
	char *registry;                /* the OSAP device registry (SQLite file) */
	/*
	 * The MQTT-SN node (`mqttsn:` in the file). Limits are in all unless
	 * "per client"; a limit that is hit is answered with the return code
	 * "rejected: congestion" and counted. Ranges: docs/configuration.md.
	 */
	struct dp_mqttsn_params mqttsn;
	struct dp_coap_params coap;    /* the CoAP node (`coap:`) */
	struct tern_predef *predef;    /* mqttsn.predefined, nb_predef entries */
	unsigned int nb_predef;
	struct tern_access *access;    /* mqttsn.access, in order */
	unsigned int nb_access;
	struct tern_lbs lbs;
	struct tern_node *nodes;       /* the LBS's access nodes; none: itself */
	unsigned int nb_nodes;
	struct tern_node_link node_link;
	struct tern_dtls dtls;
};

/* The configuration ternd runs without -c, and that scripts/demo uses. */
extern const char tern_config_default_yaml[];

/**
 * Parse and validate YAML text. @p name is used in messages (file path).
 * @return a snapshot, or NULL with one message in @p err naming the key
 *         (and line where known), e.g. "ports[0].ipv4 (line 7): ...".
 */
struct tern_config *tern_config_parse(const char *yaml, size_t len, const char *name,
				      char *err, size_t errlen);

/** Read and parse a file; NULL with a message in @p err. */
struct tern_config *tern_config_load(const char *path, char *err, size_t errlen);

void tern_config_free(struct tern_config *cfg);

/** The effective configuration (defaults applied) as JSON; caller owns it. */
json_t *tern_config_to_json(const struct tern_config *cfg);

/**
 * The keys whose values differ between @p a and @p b, as a JSON array of
 * paths ("ports", "mqttsn.max_clients"); keys listed in @p skip (a
 * NULL-terminated list of paths) and their children are not compared. A list
 * that differs is named as a whole. NULL on ENOMEM.
 */
json_t *tern_config_diff(const struct tern_config *a, const struct tern_config *b,
			 const char *const *skip);

/** Print the schema table as the Markdown of docs/configuration.md. */
void tern_config_schema_markdown(FILE *out);

#endif
