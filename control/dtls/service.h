/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_DTLS_SERVICE_H
#define TERN_CONTROL_DTLS_SERVICE_H

/*
 * DTLS as ternd runs it (docs/dtls.md): the engine of dtls.h on the main
 * lcore, fed by the data plane's rings (dataplane/dtls_io.c). One session
 * per peer (port, address, UDP port, our DTLS port), found in a hash; each
 * decrypted message goes to the worker owning the peer's flow with the
 * peer's identity; each message a node sends to a DTLS peer comes back
 * here to be encrypted.
 *
 * Everything here runs on the main lcore (the control plane's event loop).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/dtls/dtls.h"

struct tern_config;

/* The service's own counters (the engine's are FOREACH_DTLS_COUNTER). */
#define FOREACH_DSVC_COUNTER(_) \
	_(RX_BAD,          "rx_bad",          "datagrams from the data plane dropped: headers cut short, or longer than 2048 octets") \
	_(SESS_TABLE_FULL, "sess_table_full", "new sessions dropped: the peer table refused the entry") \
	_(REPLACED,        "replaced",        "open sessions replaced by a new handshake from the same address and port (the client restarted)") \
	_(IDENTITY_TOO_LONG, "identity_too_long", "sessions closed: the identity is longer than 255 octets, more than the nodes keep") \
	_(INJECT_FAILED,   "inject_failed",   "decrypted messages not handed to their node: no mbuf, or the worker's ring was full") \
	_(SEND_FAILED,     "send_failed",     "datagrams to peers not sent: no mbuf, or the worker's ring was full") \
	_(OUT_NO_SESSION,  "out_no_session",  "messages from the nodes to a peer without an open session: dropped (the session ended)") \
	_(OUT_FAILED,      "out_failed",      "messages from the nodes that could not be encrypted: longer than one record (mtu), or OpenSSL failed") \
	_(KICKED,          "kicked",          "sessions closed by dtls.kick")

enum dsvc_counter {
#define DSVC_ENUM(e, n, d) DSVC_C_##e,
	FOREACH_DSVC_COUNTER(DSVC_ENUM)
#undef DSVC_ENUM
	DSVC_C_MAX
};

extern const char *const dsvc_counter_names[DSVC_C_MAX];
extern const char *const dsvc_counter_descs[DSVC_C_MAX];

/**
 * Start with the configuration's `dtls:` (nothing to do when neither port is
 * set): the engine, its PSKs, and the data plane's rings (dp_dtls_setup();
 * call after dp_setup(), before dp_launch()).
 * @return 0, or -errno with a message in @p err.
 */
int dtls_svc_start(const struct tern_config *cfg, char *err, size_t errlen);
/** Close every session (close_notify) and free the engine. */
void dtls_svc_stop(void);
/** True between dtls_svc_start() with a port and dtls_svc_stop(). */
bool dtls_svc_running(void);
/** The control plane's tick (every millisecond): the rings, then the timers. */
void dtls_svc_poll(void);

/* Statistics: the engine's counters, the service's, gauges. */
struct dtls_svc_stats {
	uint64_t engine[DTLS_C_MAX];
	uint64_t svc[DSVC_C_MAX];
	uint32_t sessions;             /* alive, handshaking or open */
	uint32_t handshakes;           /* still in their handshake */
	uint32_t psks;
};
void dtls_svc_stats_get(struct dtls_svc_stats *out);
/** `stats --reset`: counters read from zero again (gauges stay). */
void dtls_svc_stats_reset(void);

/* One session as dtls.sessions shows it. */
struct dtls_svc_sess_info {
	char peer[64];                 /* "192.0.2.1:5000", "[2001:db8::1]:5000" */
	uint16_t local_port;           /* our DTLS port */
	const char *port_name;         /* the router port it came in on */
	const char *identity;          /* "" before the handshake is done */
	const char *cipher;
	bool open;                     /* handshake done */
	uint64_t age_ms;
	uint64_t idle_ms;              /* since the last datagram from the peer */
	uint64_t rx_msgs, rx_bytes;    /* decrypted messages from the peer */
	uint64_t tx_msgs, tx_bytes;    /* messages encrypted to the peer */
};

/** Call @p fn for every session (in no particular order). @return how many. */
unsigned int dtls_svc_sessions(void (*fn)(void *arg, const struct dtls_svc_sess_info *s),
			       void *arg);
/**
 * Close sessions with close_notify: the one with peer @p peer ("ADDR:PORT",
 * IPv6 in brackets) if not NULL, and every one whose identity is
 * @p identity if not NULL. @return how many, or -EINVAL (bad peer).
 */
int dtls_svc_kick(const char *peer, const char *identity);

/* The PSK table (psk.add/remove/list). */
int dtls_svc_psk_add(const char *identity, const uint8_t *key, size_t key_len);
int dtls_svc_psk_remove(const char *identity);
size_t dtls_svc_psk_list(void (*fn)(void *arg, const uint8_t *id, size_t id_len), void *arg);

#endif
