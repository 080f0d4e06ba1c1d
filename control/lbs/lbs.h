/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_LBS_LBS_H
#define TERN_CONTROL_LBS_LBS_H

/*
 * The OSAP load-balancing service as ternd runs it (docs/osap.md): the
 * listener and its connections (service.c), the backend that ties each
 * connection's state machine (session.h) to the registry, the access-node
 * pool and the admissions (backend.c), and the node link between tern
 * instances (link.c).
 *
 * Threads: everything here runs on the main lcore's event loop; nothing is
 * called from a worker. Nothing blocks but the registry's SQLite commits
 * (one per first authentication, one per batch of addresses granted).
 */

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "control/config.h"
#include "control/lbs/pool.h"
#include "control/lbs/session.h"

struct lbs_reg;

/* The service's counters: name, description. Every refusal has one. */
#define FOREACH_LBS_COUNTER(_) \
	_(accepted,        "connections accepted") \
	_(refused_busy,    "connections closed at accept: lbs.max_connections were open") \
	_(refused_rate,    "connections closed at accept: the source went over lbs.source_rate") \
	_(tls_failed,      "connections whose TLS handshake failed") \
	_(peer_closed,     "connections the device closed or reset before the service did") \
	_(first_auth,      "first authentications that reached a DevID and session key (0x8 ok)") \
	_(reauth,          "re-authentications that got a new session key (0x6 ok)") \
	_(addresses,       "addresses granted (0xB ok) after the node admitted the device") \
	_(throttled,       "authentications refused by lbs.device_rate (ERROR rate_limited)") \
	_(admit_local,     "admissions at this instance") \
	_(admit_remote,    "admissions sent over the node link and confirmed") \
	_(admit_failed,    "admissions a node refused, or the link lost or timed out") \
	_(registry_errors, "registry reads or writes that failed (internal_error)")

enum lbs_counter {
#define LBS_COUNTER_ENUM(n, d) LBS_C_##n,
	FOREACH_LBS_COUNTER(LBS_COUNTER_ENUM)
#undef LBS_COUNTER_ENUM
	LBS_C_MAX
};

struct lbs_stats {
	uint64_t c[LBS_C_MAX];
	uint64_t closed[LBS_SESS_R_MAX];   /* sessions closed by the service, by reason */
	uint32_t open;                     /* connections open now */
	uint32_t peak;                     /* most open at once */
	uint32_t admitting;                /* admissions waiting for a node */
};

extern const char *const lbs_counter_names[LBS_C_MAX];
extern const char *const lbs_counter_descs[LBS_C_MAX];

/* ---- service.c ---- */

/**
 * Start the LBS from @p cfg (lbs, nodes, node_link, registry already open
 * as @p reg): listeners on lbs.port at every port's addresses and on
 * lbs.listen, TLS context, pool, node link client. A no-op returning 0 when
 * lbs.enabled is false.
 * @return 0, or a negative errno with a message naming the key in @p err.
 */
int lbs_start(struct event_base *base, const struct tern_config *cfg, struct lbs_reg *reg,
	      char *err, size_t errlen);

/** Close every listener and connection and free the pool. Safe if not started. */
void lbs_stop(void);

/** Whether the LBS runs. */
bool lbs_running(void);

/** A copy of the counters. */
void lbs_stats_get(struct lbs_stats *out);

/** Zero the counters and the peak (stats --reset); `open` and `admitting` are gauges, kept. */
void lbs_stats_reset(void);

/* Count one event (service.c, backend.c and link.c). */
void lbs_count(enum lbs_counter c);

/**
 * A TLS context with Mozilla's intermediate policy (TLS 1.2 and 1.3).
 * @param cert, key  PEM files of this side, or NULL (a client without one)
 * @param ca         PEM CA file: the peer must present a certificate that
 *                   chains to it (both sides of the node link); NULL: no check
 * @return the context, or NULL with the file and OpenSSL's reason in @p err.
 */
SSL_CTX *lbs_tls_ctx(bool server, const char *cert, const char *key, const char *ca,
		     char *err, size_t errlen);

/* ---- backend.c ---- */

/** The backend the sessions use; valid after lbs_backend_init(). */
const struct lbs_backend *lbs_backend_get(void);

int lbs_backend_init(struct event_base *base, const struct tern_config *cfg, struct lbs_reg *reg,
		     char *err, size_t errlen);

/** A pool entry from a configured node. @return 0. */
int lbs_node_conf_from(const struct tern_node *n, struct lbs_node_conf *nc);
void lbs_backend_fini(void);

/**
 * Commit the admissions waiting to be recorded in the registry (session
 * key, expiry, node, last seen); backend.c batches them. The device.*
 * commands call it first. A no-op when the LBS does not run.
 */
void lbs_flush(void);

/** The pool (node.* commands); NULL when the LBS does not run. */
struct lbs_pool *lbs_pool_get(void);

/** The name of the node that stands for this instance ("self"), or NULL in the pool. */
extern const char lbs_self_name[];

/**
 * A session is going away with an admission pending at a remote node: the
 * node link forgets it (admit_cancel). Also used by link.c's answers:
 * lbs_conn_admitted() hands the outcome to the connection (service.c).
 */
void lbs_conn_admitted(struct lbs_sess *s, bool ok);

/**
 * Revoke @p devid's admission wherever the LBS admitted it (this instance
 * and, over the node link, the node the registry names). Best effort.
 */
void lbs_revoke(const char *devid, const char *node);

/* ---- link.c: the node link ---- */

/** Start the link's server side (node_link.address) and/or its client side (nodes). */
int lbs_link_start(struct event_base *base, const struct tern_config *cfg, char *err,
		   size_t errlen);
void lbs_link_stop(void);

/** Connect to a node added to the pool (config or node.add). @return 0 or -errno. */
int lbs_link_node_add(const char *name, const struct tern_endpoint *link);

/** Forget a node: its pending admissions fail. */
void lbs_link_node_remove(const char *name);

/**
 * Push an admission to node @p name; lbs_conn_admitted(@p s, ok) follows
 * once the node answers, or fails when the link is lost or times out.
 * @return 0 (pending) or -ENOTCONN (no link to that node now).
 */
int lbs_link_admit(const char *name, struct lbs_sess *s, const struct lbs_admission *a);

/** lbs_sess_free() on a session whose admission is pending. */
void lbs_link_cancel(struct lbs_sess *s);

/** Ask node @p name to drop @p devid's admission (no answer awaited). */
void lbs_link_revoke(const char *name, const char *devid);

/** The link's state of a node, for node.list: "up", "connecting", "down". */
const char *lbs_link_state(const char *name);

#endif
