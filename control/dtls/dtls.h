/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_DTLS_DTLS_H
#define TERN_CONTROL_DTLS_DTLS_H

/*
 * A DTLS 1.2 server engine (DESIGN.md section 6, issue 6) on OpenSSL 3,
 * without a transport: the caller hands it one UDP payload at a time with
 * the peer's address as opaque octets, and sends the datagrams it appends
 * to a struct dtls_out. No socket, no event loop, no clock: time is the
 * caller's now_ms, as for control/lbs/session.h.
 *
 * Demultiplexing. The caller keeps the map peer -> struct dtls_sess. A
 * datagram from a peer with a session goes to dtls_sess_input(); any other
 * goes to dtls_engine_accept(), which is stateless until a cookie checks:
 *
 *   datagram --not a whole, unfragmented ClientHello--------> dropped (counted)
 *       |----ClientHello, no cookie or a bad one-----------> HelloVerifyRequest
 *       |----ClientHello, good cookie, under the limits----> new session
 *       +----ClientHello, good cookie, a limit hit---------> dropped (counted)
 *
 * Why our own ClientHello parser and not DTLSv1_listen() on a shared SSL:
 * DTLSv1_listen() needs an SSL object per call site, buffers the record in
 * it, and on success that SSL *is* the peer's connection, so a shared one
 * would have to be replaced under load; it also cannot see the client
 * random when it checks a cookie. Parsing the ~70 octets we need (record
 * header, handshake header, client_version, random, session_id, cookie)
 * and writing the HelloVerifyRequest ourselves creates no per-peer state
 * (only the HMAC, keyed once per rotation, runs), and lets the reply be exactly 13 + 12 + 3 +
 * DTLS_COOKIE_LEN = 60 octets, never more than the ClientHello it answers
 * (shorter ClientHellos are dropped). Only once the cookie checks do we
 * make the peer's SSL and run DTLSv1_listen() on it with that one datagram,
 * which sets OpenSSL's handshake sequence numbers as after a cookie
 * exchange; its cookie callback accepts exactly the cookie we verified.
 *
 * Cookie = HMAC-SHA256(secret, peer address octets || client random), 32
 * octets. The secret is drawn from RAND_bytes() and replaced every
 * cookie_rotate_ms (dtls_engine_tick() or any dtls_engine_accept() past
 * the time); a cookie under the previous secret still checks, so a cookie
 * lives between one and two periods.
 *
 * Datagrams. OpenSSL 3.0 has no datagram memory BIO (BIO_s_dgram_mem is
 * 3.2) and a BIO_s_mem() stream loses the boundaries of the datagrams
 * OpenSSL writes, so each session has a small in-memory BIO of our own: a
 * read returns the one datagram being fed, a write appends one datagram to
 * the caller's dtls_out. Nothing is buffered in the BIO between calls.
 *
 * Anti-replay is OpenSSL's DTLS record window (64 records): a replayed or
 * forged record is discarded silently by OpenSSL; we count the
 * application records that went in and yielded nothing (DTLS_C_REC_DISCARDED).
 * A wrong PSK shows the same way: the client's Finished does not decrypt
 * and OpenSSL drops it; a session still in its handshake that has seen the
 * client's ChangeCipherSpec and an encrypted handshake record that did not
 * finish the handshake is closed as DTLS_SESS_R_HS_FAILED.
 *
 * No Connection ID in OpenSSL 3.0: a peer that changes address starts a new
 * handshake from dtls_engine_accept().
 *
 * Threads: an engine and all its sessions belong to one thread (the control
 * plane's main lcore); no function here is thread-safe. Allocation happens
 * in dtls_engine_new(), dtls_psk_add(), and dtls_engine_accept() only for a
 * valid cookie (the session and OpenSSL's SSL).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dtls_engine;
struct dtls_sess;

enum dtls_verify {
	DTLS_VERIFY_NONE = 0,        /* no client certificate asked for */
	DTLS_VERIFY_OPTIONAL,        /* asked for; checked against ca if sent */
	DTLS_VERIFY_REQUIRED,        /* a certificate checked against ca, or no handshake */
};

/* Engine settings, read once by dtls_engine_new(); 0 in a number means its default. */
struct dtls_conf {
	const char *cert_file;       /* PEM server certificate (ECDSA P-256); NULL: PSK only */
	const char *key_file;        /* PEM private key of cert_file; required with it */
	const char *ca_file;         /* PEM CAs for client certificates; NULL: none */
	enum dtls_verify verify_client;
	uint32_t max_sessions;       /* sessions at once, handshaking or not; default 1024 */
	uint32_t max_handshakes;     /* sessions still in their handshake; default 128 */
	uint32_t handshake_ms;       /* new session to handshake done; default 10000 */
	uint32_t idle_ms;            /* longest silence of an open session; default 300000 */
	uint32_t cookie_rotate_ms;   /* cookie secret lifetime; default 30000 */
	uint16_t mtu;                /* largest datagram written (UDP payload); default 1200 */
};

#define DTLS_MAX_SESSIONS_DEFAULT    1024
#define DTLS_MAX_HANDSHAKES_DEFAULT  128
#define DTLS_HANDSHAKE_MS_DEFAULT    10000
#define DTLS_IDLE_MS_DEFAULT         300000
#define DTLS_COOKIE_ROTATE_MS_DEFAULT 30000
#define DTLS_MTU_DEFAULT             1200

#define DTLS_COOKIE_LEN      32      /* HMAC-SHA256 */
#define DTLS_HVR_LEN         (13 + 12 + 3 + DTLS_COOKIE_LEN)   /* our HelloVerifyRequest */
#define DTLS_PEER_MAX        32      /* octets of a peer address the engine keeps */
#define DTLS_PSK_ID_MAX      128     /* octets of a PSK identity */
#define DTLS_PSK_KEY_MAX     64      /* octets of a PSK */
#define DTLS_IDENTITY_MAX    256     /* an authenticated identity, NUL included */

/*
 * Counters of an engine: enum suffix, name, description. Every datagram
 * that is neither answered nor delivered adds to one DROP_* counter.
 */
#define FOREACH_DTLS_COUNTER(_) \
	_(RX_ACCEPT,         "rx_accept",          "datagrams given to dtls_engine_accept()") \
	_(RX_SESS,           "rx_sess",            "datagrams given to dtls_sess_input()") \
	_(HVR_SENT,          "hvr_sent",           "HelloVerifyRequests written") \
	_(COOKIE_BAD, "cookie_bad", "ClientHellos with a cookie that did not check") \
	_(COOKIE_ROTATED,    "cookie_rotated",     "cookie secret rotations") \
	_(SESS_NEW,          "sess_new",           "sessions created (cookie checked)") \
	_(HS_DONE,           "hs_done",            "handshakes completed") \
	_(HS_FAILED, "hs_failed", "handshakes failed (alert, bad Finished, wrong PSK)") \
	_(HS_TIMEOUT,        "hs_timeout",         "handshakes not done by their deadline") \
	_(IDLE_TIMEOUT,      "idle_timeout",       "open sessions closed for silence") \
	_(PEER_CLOSED,       "peer_closed",        "close_notify received") \
	_(SESS_ERROR,        "sess_error",         "open sessions closed by a fatal error") \
	_(APP_RX,            "app_rx",             "application messages decrypted") \
	_(APP_TX,            "app_tx",             "application messages encrypted") \
	_(PSK_UNKNOWN,       "psk_unknown",        "PSK identities not in the table") \
	_(LIMIT_SESSIONS,    "limit_sessions",     "new sessions refused: max_sessions") \
	_(LIMIT_HANDSHAKES,  "limit_handshakes",   "new sessions refused: max_handshakes") \
	_(DROP_SHORT, "drop_short", "no session: shorter than a ClientHello record") \
	_(DROP_NOT_HELLO,    "drop_not_hello",     "no session: not a ClientHello record") \
	_(DROP_MALFORMED,    "drop_malformed",     "no session: ClientHello did not parse") \
	_(DROP_FRAGMENT,     "drop_fragment",      "no session: fragmented ClientHello") \
	_(DROP_LIMIT,        "drop_limit",         "no session: a limit was hit (limit_*)") \
	_(DROP_NO_MEM, "drop_no_mem", "no session: allocation or OpenSSL setup failed") \
	_(DROP_NO_ROOM, "drop_no_room", "a datagram or message did not fit in dtls_out") \
	_(DROP_TRUNCATED,    "drop_truncated",     "session: a record header or body cut short") \
	_(DROP_CLOSED,       "drop_closed",        "session: datagram for a closed session") \
	_(REC_DISCARDED, "rec_discarded", "session: app records not delivered (replay, bad MAC)")

enum dtls_counter {
#define DTLS_COUNTER_ENUM(e, n, d) DTLS_C_##e,
	FOREACH_DTLS_COUNTER(DTLS_COUNTER_ENUM)
#undef DTLS_COUNTER_ENUM
	DTLS_C_MAX
};

/** Counter name ("hvr_sent"); NULL if out of range. */
const char *dtls_counter_name(enum dtls_counter c);
/** One-line description of a counter; NULL if out of range. */
const char *dtls_counter_desc(enum dtls_counter c);
/** A counter's value; 0 for NULL engine or out of range. */
uint64_t dtls_counter(const struct dtls_engine *e, enum dtls_counter c);

/* Why a session closed: enum suffix, name, description. */
#define FOREACH_DTLS_SESS_REASON(_) \
	_(OK,          "ok",          "not closed") \
	_(PEER_CLOSED, "peer_closed", "the peer sent close_notify") \
	_(HS_FAILED,   "hs_failed",   "the handshake failed") \
	_(HS_TIMEOUT,  "hs_timeout",  "the handshake deadline passed") \
	_(IDLE,        "idle",        "the idle deadline passed") \
	_(ERROR,       "error",       "a fatal alert or error after the handshake") \
	_(LOCAL,       "local",       "closed by dtls_sess_close()")

enum dtls_sess_reason {
#define DTLS_SESS_REASON_ENUM(e, n, d) DTLS_SESS_R_##e,
	FOREACH_DTLS_SESS_REASON(DTLS_SESS_REASON_ENUM)
#undef DTLS_SESS_REASON_ENUM
	DTLS_SESS_R_MAX
};

/** Name of a close reason ("hs_timeout"); NULL if out of range. */
const char *dtls_sess_reason_name(enum dtls_sess_reason r);

/* What the caller does after a session call. */
enum dtls_action {
	DTLS_CONTINUE = 0,           /* send out's datagrams; keep the session */
	DTLS_CLOSE = 1,              /* send out's datagrams, then dtls_sess_free() */
};

/* dtls_engine_accept() results (besides negative errors). */
enum dtls_accept {
	DTLS_ACCEPT_DROP = 0,        /* dropped and counted; out untouched */
	DTLS_ACCEPT_HVR = 1,         /* a HelloVerifyRequest appended to out */
	DTLS_ACCEPT_NEW = 2,         /* *sess is a new session; out has its first flight */
};

#define DTLS_OUT_DGRAMS  16      /* datagrams one call may write */
#define DTLS_OUT_MSGS    32      /* application messages one call may deliver */

/*
 * The output of one call. The caller points buf/cap (records to send) and
 * app/app_cap (decrypted messages) at its buffers and zeroes the rest
 * (DTLS_OUT_INIT); calls append. Datagram i is dgram_len[i] octets of buf
 * after the previous ones; message i likewise in app. A datagram or
 * message that does not fit is dropped and counted (DTLS_C_DROP_NO_ROOM):
 * DTLS retransmits lost handshake flights, so give buf 4 * mtu and app the
 * length of the datagram fed to avoid it.
 */
struct dtls_out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint16_t dgram_len[DTLS_OUT_DGRAMS];
	unsigned int n_dgram;
	uint8_t *app;
	size_t app_cap;
	size_t app_len;
	uint16_t msg_len[DTLS_OUT_MSGS];
	unsigned int n_msg;
	/* with n_msg > 0: the sender's authenticated identity; valid until the session is freed */
	const char *identity;
	enum dtls_sess_reason reason; /* with DTLS_CLOSE: why */
};

#define DTLS_OUT_INIT(b, c, a, ac) \
	((struct dtls_out){ .buf = (b), .cap = (c), .app = (a), .app_cap = (ac) })

/* ---- the engine ---- */

/**
 * An engine: the SSL_CTX (DTLS 1.2 only; certificate suites: Mozilla
 * intermediate ECDHE-ECDSA/RSA with AES-GCM and CHACHA20-POLY1305, plus
 * ECDHE-ECDSA-AES128-CCM8 of RFC 7252; PSK suites PSK-AES128-CCM8,
 * PSK-AES128-GCM-SHA256, ECDHE-PSK-CHACHA20-POLY1305 and
 * PSK-CHACHA20-POLY1305), an empty PSK table, a first cookie secret.
 * @param c   settings; NULL: PSK only, defaults.
 * @param now_ms  the caller's clock, starting the cookie rotation
 * @return the engine, or NULL (cert without key or the reverse, a file that
 *         does not load, a key that does not match, verify_client without a
 *         certificate, no memory); OpenSSL's error queue says more.
 */
struct dtls_engine *dtls_engine_new(const struct dtls_conf *c, uint64_t now_ms);

/** Free an engine; every session must have been freed first. Wipes keys. NULL: no-op. */
void dtls_engine_free(struct dtls_engine *e);

/**
 * Rotate the cookie secret if cookie_rotate_ms have passed since the last
 * rotation (dtls_engine_accept() does the same). @return the time it must
 * be called next, in now_ms's clock.
 */
uint64_t dtls_engine_tick(struct dtls_engine *e, uint64_t now_ms);

/**
 * A datagram from a peer that has no session (see the essay above).
 * @param peer, peer_len  the peer's address and port as octets, 1 to
 *        DTLS_PEER_MAX (e.g. IPv6 address then port, network order); the
 *        cookie binds them, the session copies them.
 * @param sess  set with DTLS_ACCEPT_NEW: the caller owns it (dtls_sess_free()).
 *        The datagram has been fed to it; it may already be closed if the
 *        first input failed (check dtls_sess_reason()).
 * @return an enum dtls_accept, or -EINVAL (NULL argument, peer_len 0 or
 *         over DTLS_PEER_MAX), -ENOSPC (less than DTLS_HVR_LEN octets or no
 *         datagram slot left in @p out; nothing counted).
 */
int dtls_engine_accept(struct dtls_engine *e, const uint8_t *peer, size_t peer_len,
		       const uint8_t *dgram, size_t len, uint64_t now_ms,
		       struct dtls_out *out, struct dtls_sess **sess);

/* ---- the PSK table (identity -> key); keys never leave the engine ---- */

/**
 * Add or replace a PSK. The key is copied; the old one is wiped.
 * @return 0, -EINVAL (identity empty or over DTLS_PSK_ID_MAX octets, key
 *         empty or over DTLS_PSK_KEY_MAX), -ENOMEM.
 * Sessions already past their handshake keep their keys.
 */
int dtls_psk_add(struct dtls_engine *e, const uint8_t *id, size_t id_len,
		 const uint8_t *key, size_t key_len);

/** Remove a PSK, wiping the key. @return 0, -ENOENT, -EINVAL. */
int dtls_psk_remove(struct dtls_engine *e, const uint8_t *id, size_t id_len);

/**
 * Call @p fn for each identity in the table, in the order added; never a
 * key. The identity pointer is valid during the call only; @p fn must not
 * change the table. @return the number of identities.
 */
size_t dtls_psk_list(const struct dtls_engine *e,
		     void (*fn)(void *arg, const uint8_t *id, size_t id_len), void *arg);

/** Sessions alive (not freed) and those still in their handshake. */
uint32_t dtls_engine_sessions(const struct dtls_engine *e);
uint32_t dtls_engine_handshakes(const struct dtls_engine *e);

/* ---- a session ---- */

/**
 * A datagram from the session's peer: any records it holds go through
 * OpenSSL; handshake flights are appended to out's datagrams and decrypted
 * application messages to out's messages, with out->identity. Records cut
 * short are dropped before OpenSSL (DTLS_C_DROP_TRUNCATED).
 * @return DTLS_CONTINUE, DTLS_CLOSE (out->reason: close_notify, a failed
 *         handshake, a fatal alert; also for every call on a closed
 *         session), or -EINVAL (NULL argument).
 */
int dtls_sess_input(struct dtls_sess *s, const uint8_t *dgram, size_t len, uint64_t now_ms,
		    struct dtls_out *out);

/**
 * Encrypt one application message (at most mtu less the record overhead)
 * into one datagram appended to @p out.
 * @return 0, -EINVAL (NULL argument, len 0), -EAGAIN (handshake not done),
 *         -EPIPE (session closed), -EMSGSIZE (too long for one record),
 *         -ENOSPC (no room in out; nothing written), -EIO (OpenSSL failed).
 */
int dtls_sess_send(struct dtls_sess *s, const uint8_t *msg, size_t len, struct dtls_out *out);

/**
 * Close: a close_notify is appended to @p out if the handshake was done,
 * and the session reads nothing more (reason DTLS_SESS_R_LOCAL unless
 * already closed). @return DTLS_CLOSE, or -EINVAL.
 */
int dtls_sess_close(struct dtls_sess *s, struct dtls_out *out);

/**
 * When the caller's timer must fire (now_ms's clock): the handshake
 * deadline until the handshake is done, then the idle deadline (last
 * datagram from the peer + idle_ms); during the handshake also OpenSSL's
 * retransmission time, as of the last call. UINT64_MAX when closed.
 */
uint64_t dtls_sess_deadline(const struct dtls_sess *s);

/**
 * The timer fired: closes the session (DTLS_SESS_R_HS_TIMEOUT or
 * DTLS_SESS_R_IDLE) if its deadline has passed, else lets OpenSSL
 * retransmit a handshake flight into @p out if its timer ran out.
 * @return DTLS_CONTINUE or DTLS_CLOSE, or -EINVAL.
 */
int dtls_sess_tick(struct dtls_sess *s, uint64_t now_ms, struct dtls_out *out);

/** Free a session (no close_notify: see dtls_sess_close()). NULL: no-op. */
void dtls_sess_free(struct dtls_sess *s);

/** True once the handshake is done and until the session closes. */
bool dtls_sess_open(const struct dtls_sess *s);
/** Why the session closed; DTLS_SESS_R_OK while open or handshaking. */
enum dtls_sess_reason dtls_sess_reason(const struct dtls_sess *s);
/**
 * The authenticated identity: the PSK identity, or the client certificate's
 * subject (RFC 2253), or "" (certificate suite, no client certificate).
 * "" before the handshake is done. Valid until the session is freed.
 */
const char *dtls_sess_identity(const struct dtls_sess *s);
/** The negotiated cipher suite's OpenSSL name; "" before the handshake. */
const char *dtls_sess_cipher(const struct dtls_sess *s);
/** The peer's address octets as given to dtls_engine_accept(); *len set. */
const uint8_t *dtls_sess_peer(const struct dtls_sess *s, size_t *len);

#endif
