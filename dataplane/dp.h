/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_DP_H
#define TERN_DATAPLANE_DP_H

/*
 * The data plane as the control plane sees it: bring ports up, launch one
 * worker per lcore other than the main one, read counters and port state,
 * stop everything and audit the mbuf pools.
 *
 * Every function here is for the main lcore (the control plane) only, unless
 * it says otherwise. Lifecycle:
 *
 *   dp_eal_init -> dp_setup -> dp_launch -> ... -> dp_stop -> dp_audit -> dp_close
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/counters.h"

#define DP_MAX_PORTS 8
#define DP_NAME_LEN 32
#define DP_IFNAME_LEN 16  /* IFNAMSIZ */

/* One port as the configuration describes it. */
struct dp_port_params {
	char name[DP_NAME_LEN];        /* operator's name, "p0" */
	char device[256];              /* DPDK device string or PCI address */
	bool has_ip4;
	bool has_ip6;
	uint8_t ip4[4];                /* network order */
	uint8_t ip4_prefix;
	uint8_t ip6[16];               /* network order */
	uint8_t ip6_prefix;
	uint16_t rx_queues;            /* 0 = auto: one per worker with RSS, else 1 */
	bool exception;                /* create the kernel exception interface */
	char exception_iface[DP_IFNAME_LEN]; /* its name; "" = "tern-<name>" */
};

/* Who may CONNECT to the MQTT-SN node (docs/mqttsn.md "OSAP devices"). */
enum dp_admission {
	DP_ADMISSION_OPEN = 0,         /* any client id; an admitted one is held to its admission */
	DP_ADMISSION_OSAP = 1,         /* only DevIDs admitted with dp_osap_admit() */
};

/* The MQTT-SN node (docs/mqttsn.md); the configuration's mqttsn section. */
struct dp_mqttsn_params {
	bool enabled;
	uint16_t port;                 /* UDP port, host order */
	uint32_t max_clients;          /* sessions in all, split over the workers */
	uint32_t max_topics;
	uint32_t max_subscriptions;
	uint16_t max_registered_ids;   /* topic ids per client */
	uint16_t max_subscriptions_per_client;
	uint16_t max_inflight;         /* unacknowledged messages per client */
	uint16_t max_sleep_buffer;     /* publications kept for a sleeping client */
	uint16_t max_message_size;
	uint32_t retry_ms;             /* Tretry */
	uint8_t retries;               /* Nretry */
	uint16_t keepalive_tolerance_pct;
	uint32_t session_expiry;       /* s a CleanSession-false session outlives its client; 0 none */
	bool qos_minus_one;
	uint8_t gateway_id;            /* in ADVERTISE and GWINFO */
	uint16_t advertise_interval;   /* seconds between two ADVERTISEs */
	bool advertise;                /* send ADVERTISE to advertise_addr */
	bool advertise_v6;
	uint8_t advertise_addr[16];    /* network order; IPv4 in the first 4 bytes */
	uint8_t admission;             /* enum dp_admission */
};

/* The CoAP node (docs/coap.md); the configuration's coap section. */
#define DP_COAP_PREFIX_LEN 32
struct dp_coap_params {
	bool enabled;
	uint16_t port;                 /* UDP port, host order */
	char prefix[DP_COAP_PREFIX_LEN]; /* the pub/sub collection's path, "ps" */
	uint32_t max_endpoints;        /* peers (address, port) known at once, all workers */
	uint32_t max_observers;        /* observe registrations, all workers */
	uint16_t max_observers_per_endpoint;
	uint16_t max_message_size;     /* bytes of a request or response datagram's CoAP part */
	uint16_t block_size;           /* Block2 size for larger responses: 16..1024, a power of 2 */
	uint32_t ack_timeout_ms;       /* ACK_TIMEOUT */
	uint16_t ack_random_factor_pct; /* ACK_RANDOM_FACTOR x 100 */
	uint8_t max_retransmit;        /* MAX_RETRANSMIT */
	uint16_t notify_con_every;     /* every Nth notification to an observer is CON */
	uint32_t max_age;              /* Max-Age of notifications and values, seconds */
	uint32_t rate_limit;           /* requests per second per endpoint; 0: none */
	uint32_t block1_timeout;       /* s an unfinished Block1 upload is kept */
};

/* A port's state for `status`, `port.list` and telemetry. */
struct dp_port_info {
	char name[DP_NAME_LEN];
	char device[256];
	uint16_t port_id;
	char driver[32];
	uint8_t mac[6];
	bool link_up;
	uint32_t link_speed;           /* Mb/s, 0 unknown */
	uint16_t rx_queues;
	uint16_t tx_queues;
	bool rss;                      /* false: software steering to owners */
	bool has_ip4, has_ip6;
	uint8_t ip4[4], ip4_prefix;
	uint8_t ip6[16], ip6_prefix;
	char exception_iface[DP_IFNAME_LEN]; /* "" when none */
};

struct dp_worker_info {
	unsigned int lcore_id;
	unsigned int socket_id;
	unsigned int index;            /* 0..dp_nb_workers()-1 */
	unsigned int nb_rx_queues;     /* (port, queue) pairs it polls */
	bool polls_exception;          /* reads the exception interfaces */
};

/**
 * Initialise the EAL with @p argc/@p argv (argv[0] is the program name).
 * @return 0, or a negative errno-style code with a message in @p err.
 */
int dp_eal_init(int argc, char **argv, char *err, size_t errlen);

/**
 * Probe every port's device, create the mbuf pool, rings and exception
 * interfaces, configure and start the ports.
 * @param bad_port  on failure, the index of the port at fault (or -1); then
 *                  @p err starts with that port's key at fault ("device: ...",
 *                  "rx_queues: ...", "exception_iface: ...")
 * @return 0, or a negative errno-style code with a message in @p err.
 */
int dp_setup(const struct dp_port_params *ports, unsigned int nb_ports,
	     const struct dp_mqttsn_params *mqttsn, const struct dp_coap_params *coap,
	     int *bad_port, char *err, size_t errlen);

/**
 * The control plane's share of the data plane's work, called from the main
 * lcore's event loop every millisecond or so: the requests workers hand over
 * (topic creation, subscriptions: the topic table's single writer).
 */
void dp_control_poll(void);

/** Launch the workers on every lcore but the main one. @return 0 or -errno. */
int dp_launch(void);

/** Ask the workers to stop and wait for them; flush their buffers. */
void dp_stop(void);

/**
 * Mbuf audit: mbufs in use now and at the baseline (taken after the ports
 * started, before the workers ran). @return 0 when they match, -EBUSY if
 * mbufs leaked.
 */
int dp_audit(uint64_t *in_use, uint64_t *baseline);

/** Stop and close the ports, free the pools, clean up the EAL. */
void dp_close(void);

unsigned int dp_nb_ports(void);
unsigned int dp_nb_workers(void);
unsigned int dp_main_lcore(void);
int dp_port_info(unsigned int port, struct dp_port_info *out);
int dp_worker_info(unsigned int worker, struct dp_worker_info *out);

/**
 * Counters of @p port on @p worker since the last dp_counters_reset().
 * Reads what the worker published (at most one burst old).
 */
void dp_counters_get(unsigned int port, unsigned int worker, struct dp_counters *out);

/** Make every counter read zero from now on (the workers' own are untouched). */
void dp_counters_reset(void);

struct topic_table;
/**
 * The topic table (dataplane/topic_table.h) when the MQTT-SN node runs, else
 * NULL. The main lcore is its only writer, so its writer-side calls
 * (topic_foreach, topic_foreach_sub, topic_table_stats) are safe there.
 */
struct topic_table *dp_topic_table(void);

/* ---- the MQTT-SN node's sessions (dataplane/mqttsn_info.c) ---- */

#define DP_MQTTSN_CLIENT_ID_MAX 23     /* MQTT-SN v1.2's client id limit */

/* One client session as a worker reported it. */
struct dp_mqttsn_client {
	char client_id[DP_MQTTSN_CLIENT_ID_MAX + 1];   /* NUL-terminated, may be UTF-8 */
	uint8_t addr[16];              /* IPv4 in the first 4 bytes; network order */
	bool v6;
	uint8_t state;                 /* enum dp_mqttsn_state */
	uint16_t port;                 /* the client's UDP port, host order */
	uint16_t port_idx;             /* the router port it came in on (dp_port_info) */
	uint16_t worker;               /* the worker that owns the session */
	uint32_t session;              /* slot on that worker */
	uint32_t gen;                  /* slot generation, as in the topic table's refs */
	uint16_t keepalive;            /* seconds; 0: none */
	uint16_t nb_subs;              /* subscriptions */
	uint16_t nb_ids;               /* topic ids assigned */
	uint16_t inflight;             /* unacknowledged messages to the client */
	uint16_t qos2_in;              /* QoS 2 PUBLISHes from it awaiting PUBREL */
	uint16_t rsvd;
	int64_t expires_in_ms;         /* until the keep-alive expires; -1: never */
	uint8_t wnid_len;              /* behind a forwarder: its wireless node id */
	uint8_t wnid[16];
	bool dtls;                     /* over DTLS (dtls.mqttsn_port) */
	char identity[256];            /* with dtls: its DTLS identity, NUL-terminated */
};

/* A session's state (MQTT-SN v1.2 section 6.14's client states). */
enum dp_mqttsn_state {
	DP_MQTTSN_ACTIVE = 1,
	DP_MQTTSN_ASLEEP = 2,
	DP_MQTTSN_AWAKE = 3,           /* woke up (PINGREQ): getting what it missed */
	DP_MQTTSN_DISCONNECTED = 4,    /* DISCONNECT, CleanSession false: session kept */
	DP_MQTTSN_LOST = 5,            /* lost, CleanSession false: session kept */
};

/**
 * Called for each session dp_mqttsn_clients() collects; non-zero stops the
 * walk (dp_mqttsn_clients() then returns 0).
 */
typedef int (*dp_mqttsn_client_fn)(const struct dp_mqttsn_client *c, void *arg);

/**
 * Ask every worker for its sessions (or only those whose client id is
 * @p client_id when not NULL) and call @p cb for each, in no particular
 * order. Waits for the workers' answers, applying the workers' other
 * requests meanwhile (dp_control_poll()); not atomic across workers.
 * @return 0; -ENOTSUP when the MQTT-SN node is not running; -ESHUTDOWN when
 *   the workers are not running; -ETIMEDOUT when a worker did not answer in
 *   time; -ENOMEM when no request could be allocated. A message in @p err.
 */
int dp_mqttsn_clients(const char *client_id, dp_mqttsn_client_fn cb, void *arg,
		      char *err, size_t errlen);

/**
 * End every session whose client id is @p client_id, on every worker, as if
 * it had disconnected: it is sent DISCONNECT, its subscriptions are dropped,
 * each counts as mqttsn_gone. *@p ended is the number of sessions ended
 * (0: none had that id).
 * @return 0 or an error as dp_mqttsn_clients(); on -ETIMEDOUT some sessions
 *   may have been ended.
 */
int dp_mqttsn_kick(const char *client_id, unsigned int *ended, char *err, size_t errlen);

/* ---- OSAP devices at the MQTT-SN node (dataplane/osap_access.c, docs/osap.md 11) ---- */

/*
 * The load-balancing service admits a device at this access node: its DevID
 * (the MQTT-SN client id it will CONNECT with), its 16-octet session key and
 * two lifetimes. The node then holds that client id to the admission: its
 * first accepted CONNECT binds the admission to the client's source (IP
 * address and UDP port; behind a forwarder, with its wireless node id), a
 * CONNECT from another source is refused with return code 0x03, and every
 * PUBLISH payload to and from the device is sealed under the key
 * (AES-128-GCM, docs/osap.md "Business messages at the access node"). In
 * both admission modes a client id with an admission is held to it; in
 * DP_ADMISSION_OSAP a client id without one is refused.
 *
 * The admission table is an RCU hash table: the main lcore is its only
 * writer, the workers read it when a CONNECT arrives; a replaced or removed
 * admission's key is wiped and freed after a grace period. Sessions copy the
 * key when their CONNECT is accepted and wipe it when they end.
 */

#define DP_OSAP_DEVID_MAX DP_MQTTSN_CLIENT_ID_MAX  /* a DevID is an MQTT-SN client id */
#define DP_OSAP_KEY_LEN 16
#define DP_OSAP_LIFETIME_MAX 315360000u        /* 10 years, in seconds */

/**
 * Add the admission of DevID @p devid (@p len octets, 1..DP_OSAP_DEVID_MAX),
 * or replace the one it has. The device must CONNECT within
 * @p connect_lifetime_s seconds; its key (and any session using it) lives
 * @p key_lifetime_s seconds from now, then the node ends the session (sends
 * DISCONNECT, counts osap_key_expired). Both lifetimes 1..DP_OSAP_LIFETIME_MAX.
 *
 * Replacing an admission (a re-authenticated device, a new key) unbinds it:
 * the next CONNECT of that DevID, from any source, takes the client id over
 * (MQTT-SN client-id rules: a CleanSession-false CONNECT keeps the
 * subscriptions) and uses the new key; a session still using the old key
 * goes on until then. Adding an admission for a client id a plain (not
 * admitted) session holds ends that session (counted osap_ended).
 *
 * Main lcore only. @p key is copied (the caller wipes its own copy).
 * @return 0; -ENOTSUP (the MQTT-SN node is not running), -EINVAL (a length
 *   or lifetime out of range), -ENOSPC (max_clients + max_clients / 4
 *   admissions, at least 64, already), -ENOMEM; a message in @p err.
 */
int dp_osap_admit(const uint8_t *devid, size_t len, const uint8_t key[DP_OSAP_KEY_LEN],
		  uint32_t connect_lifetime_s, uint32_t key_lifetime_s, char *err, size_t errlen);

/**
 * Remove the admission of @p devid and end its session if it has one (the
 * owning worker sends DISCONNECT and counts osap_ended, asynchronously, at
 * its next iteration). Main lcore only.
 * @return 0; -ENOENT (no such admission), -ENOTSUP (the node is not running),
 *   -EINVAL (@p len out of range).
 */
int dp_osap_revoke(const uint8_t *devid, size_t len);

/* One admission as dp_osap_admissions() reports it; never the key. */
struct dp_osap_admission {
	char devid[DP_OSAP_DEVID_MAX + 1];     /* NUL-terminated (a DevID has no NUL in it) */
	uint8_t devid_len;
	bool bound;                    /* a CONNECT was accepted: addr/port are its source */
	bool v6;
	bool connected;                /* a session holds the client id now */
	uint8_t addr[16];              /* IPv4 in the first 4 bytes; network order */
	uint16_t port;                 /* UDP port, host order */
	int16_t worker;                /* the worker owning that session; -1: none */
	uint32_t connect_left_s;       /* seconds left to CONNECT (0: window closed) */
	uint32_t key_left_s;           /* seconds left of the key (0: expired) */
};

typedef int (*dp_osap_admission_fn)(const struct dp_osap_admission *a, void *arg);

/**
 * Call @p cb for each admission, in no particular order; non-zero from @p cb
 * stops the walk and is returned. "connected" and "worker" come from the
 * control plane's map of client ids (at most one poll old). Main lcore only.
 * @return 0, -ENOTSUP (the node is not running), or what @p cb returned.
 */
int dp_osap_admissions(dp_osap_admission_fn cb, void *arg);

/* What an access node reports to the load-balancing service. */
struct dp_mqttsn_load {
	uint32_t sessions;             /* MQTT-SN sessions held (active, asleep or kept) */
	uint32_t osap_sessions;        /* of which OSAP devices' (a key installed) */
	uint32_t admissions;           /* admissions in the table */
	uint64_t publish_rx;           /* PUBLISH messages received since start: monotonic,
					* not reset by dp_counters_reset() */
};

/**
 * The node's load: sums of what the workers published (relaxed reads, at
 * most one iteration old). Main lcore (any thread, in fact: it only reads).
 * @return 0, or -ENOTSUP when the MQTT-SN node is not running (*@p out zeroed).
 */
int dp_mqttsn_load(struct dp_mqttsn_load *out);

/* ---- the MQTT-SN node's predefined topic ids (dataplane/mqttsn_conf.c) ---- */

#define DP_MQTTSN_PREDEF_MAX 4096

struct dp_mqttsn_predef {
	uint16_t id;                   /* 1..0xfffe */
	const char *topic;             /* a topic name, NUL-terminated */
};

/**
 * Replace the predefined topic ids with @p v[0..n): ids and names unique,
 * names valid (their topics are created). Workers see the new table at
 * once; publications already routed keep the id they went out with.
 * @return 0; -ENOTSUP (the node is not running), -EINVAL, -EEXIST (an id or a
 *   name twice), -ENOSPC (too many, or the topic table is full), -ENOMEM;
 *   a message in @p err. On error the table is unchanged.
 */
int dp_mqttsn_predefined_set(const struct dp_mqttsn_predef *v, unsigned int n, char *err,
			     size_t errlen);
/** Add one: as dp_mqttsn_predefined_set() with the current table and @p id. */
int dp_mqttsn_predefined_add(uint16_t id, const char *topic, char *err, size_t errlen);
/** Remove @p id; -ENOENT if it is not predefined. */
int dp_mqttsn_predefined_remove(uint16_t id, char *err, size_t errlen);

typedef int (*dp_mqttsn_predef_fn)(uint16_t id, const char *topic, void *arg);
/** Call @p cb for each predefined id, in id order; @return 0, -ENOTSUP, or cb's non-zero. */
int dp_mqttsn_predefined_list(dp_mqttsn_predef_fn cb, void *arg);

/* ---- the MQTT-SN node's topic access rules (dataplane/mqttsn_conf.c, proto/acl.h) ---- */

struct dp_mqttsn_access {
	const char *client;            /* fnmatch(3) pattern of client ids */
	const char *topic;             /* topic filter; a level "%c" is the client id */
	uint8_t ops;                   /* 1 publish, 2 subscribe, 3 both */
	bool allow;
	uint8_t transport;             /* 0 any client, 1 only over DTLS, 2 only plain */
};

/**
 * Replace the access rules with @p v[0..n) (n == 0: everything allowed).
 * New PUBLISHes and SUBSCRIBEs are checked against them at once;
 * subscriptions made earlier stay.
 * @return 0; -ENOTSUP, -EINVAL (a bad rule), -ENOMEM; a message in @p err.
 */
int dp_mqttsn_access_set(const struct dp_mqttsn_access *v, unsigned int n, char *err,
			 size_t errlen);

/* ---- the CoAP node's endpoints and observers (dataplane/coap_info.c) ---- */

#define DP_COAP_TOPIC_SHOWN 96         /* topic names longer are cut in dp_coap_observer */

struct dp_coap_observer {
	uint8_t addr[16];              /* IPv4 in the first 4 bytes; network order */
	bool v6;
	uint8_t tkl;
	uint16_t port;                 /* the observer's UDP port, host order */
	uint16_t worker;
	uint8_t token[8];
	uint32_t seq;                  /* Observe number of the last notification */
	uint16_t since_con;            /* notifications since the last CON */
	bool pending;                  /* registration not yet in the topic table */
	char topic[DP_COAP_TOPIC_SHOWN + 1]; /* NUL-terminated; cut if longer */
	bool topic_cut;
};

struct dp_coap_endpoint {
	uint8_t addr[16];
	bool v6;
	bool con_inflight;             /* a CON notification waits for its ACK */
	uint16_t port;
	uint16_t worker;
	uint16_t observers;
	uint16_t dedup;                /* requests remembered for de-duplication */
	uint16_t port_idx;
	int64_t idle_ms;               /* ms since the last request (-1: none yet) */
};

typedef int (*dp_coap_observer_fn)(const struct dp_coap_observer *o, void *arg);
typedef int (*dp_coap_endpoint_fn)(const struct dp_coap_endpoint *e, void *arg);

/**
 * Ask every worker for its observers (of @p topic only when not NULL: the
 * exact name) or its endpoints, and call @p cb for each; as
 * dp_mqttsn_clients(): waits for the workers, a few milliseconds old.
 * @return 0; -ENOTSUP (the CoAP node is not running), -ESHUTDOWN,
 *   -ETIMEDOUT, -ENOMEM; a message in @p err.
 */
int dp_coap_observers(const char *topic, dp_coap_observer_fn cb, void *arg, char *err,
		      size_t errlen);
int dp_coap_endpoints(dp_coap_endpoint_fn cb, void *arg, char *err, size_t errlen);

/** Mbufs in use in the packet pool right now (cached ones included). */
uint64_t dp_mbuf_in_use(void);
/** Mbufs in use at the baseline: after the ports started, before the workers ran. */
uint64_t dp_mbuf_baseline(void);
/** Capacity of the packet pool. */
uint64_t dp_mbuf_capacity(void);

/* ---- DTLS (dtls_io.c; docs/dtls.md): the control plane terminates it ---- */

/* The UDP ports whose datagrams go to the control plane; 0: none. */
struct dp_dtls_params {
	uint16_t coap_port;            /* coaps (5684): decrypted messages to the CoAP node */
	uint16_t mqttsn_port;          /* MQTT-SN over DTLS: to the MQTT-SN node */
};

#define DP_DTLS_IDENTITY_MAX 255       /* octets of an identity a node keeps */

/**
 * After dp_setup() and before dp_launch(): the rings between the workers and
 * the control plane. The nodes a port feeds must be enabled.
 * @return 0 (also with no port set: nothing to do), -EINVAL, -ENOMEM.
 */
int dp_dtls_setup(const struct dp_dtls_params *p, char *err, size_t errlen);
/** True once dp_dtls_setup() made the rings. */
bool dp_dtls_enabled(void);

/* A datagram between a DTLS peer and one of our DTLS ports. */
struct dp_dgram {
	uint16_t pidx;                 /* the port it came in on / goes out on */
	struct net_peer peer;          /* the peer; lport: our DTLS port */
	uint16_t len;                  /* UDP payload octets */
};

/**
 * The next datagram a worker received on a DTLS port (records from a peer):
 * its payload copied to @p buf.
 * @return 1, 0 if there is none, or -errno for one dropped (-EMSGSIZE: longer
 *         than @p cap; -EINVAL: headers cut short): the caller counts it.
 */
int dp_dtls_recv(struct dp_dgram *d, uint8_t *buf, size_t cap);
/** The next message a node sent to a DTLS peer, to encrypt; as dp_dtls_recv(). */
int dp_dtls_next_out(struct dp_dgram *d, uint8_t *buf, size_t cap);
/**
 * A decrypted message from @p from->peer, to the worker owning its flow,
 * which hands it to the node serving from->peer.lport with @p identity.
 * @return 0, -EINVAL (identity over DP_DTLS_IDENTITY_MAX octets, len 0),
 *         -ENOBUFS (no mbuf, or too long), -ENOSPC (the worker's ring is full).
 */
int dp_dtls_inject(const struct dp_dgram *from, const char *identity, const uint8_t *msg,
		   size_t len);
/** Send @p len octets (records) to @p to->peer from to->peer.lport; errors as above. */
int dp_dtls_send(const struct dp_dgram *to, const uint8_t *data, size_t len);

/** Seconds since dp_launch(). */
double dp_uptime(void);

#endif
