/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_LBS_SESSION_H
#define TERN_CONTROL_LBS_SESSION_H

/*
 * The LBS side of one OSAP connection (docs/osap.md sections 5 to 9), as a
 * state machine that knows no transport: the listener feeds it the bytes
 * the device sent (lbs_sess_input()) and sends what it appends to an output
 * buffer; the registry, the access-node pool and the node link are reached
 * through a table of callbacks (struct lbs_backend). Nothing here touches a
 * socket, a database or an event loop.
 *
 *   START --0x1/0x2 ok--> KEYED --0x7/0x8 ok--> GRANTED --0x9--> SESSION
 *     |                                            |  0xA           | 0xA -> 0xB
 *     +--0x4/0x6 ok--------------------------------+----------------+ (repeatable)
 *
 * Every refusal is answered on the wire (a typed status in 0x2, 0x6, 0x8,
 * 0xB, or an ERROR, as docs/osap.md section 5 says) and then the session
 * asks to be closed. The order of checks on 0x1 and 0x4 is the document's:
 * decode, VERSION, negotiation (the ECDH flag is part of it), lookup, seal,
 * block. A message the state does not accept is refused as
 * unexpected_message right after decoding, whatever else is wrong with it.
 * An unknown serial number and a wrong verification code give the same
 * octets (auth_failed), and the unknown serial still costs an AES-GCM open
 * under a dummy key, so neither the answer nor its work tells a prober
 * which serials exist.
 *
 * Admission. Before answering 0xA with an address, the LBS admits the
 * device at the chosen node (DevID, session key, expiry). The backend's
 * admit() either answers at once (0: admitted, negative: refused) or
 * returns LBS_ADMIT_PENDING; then lbs_sess_input() returns LBS_SESS_WAIT,
 * reads nothing more, and the 0xB is written when the caller reports the
 * outcome with lbs_sess_admitted(). A node embedded in the LBS admits
 * synchronously; a remote node answers over the node link later.
 *
 * Time. lbs_sess_deadline() is when the caller's timer must fire: the
 * handshake (from lbs_sess_new() to the first address granted) has
 * lbs_sess_limits.handshake_ms, and the connection may not stay silent for
 * more than idle_ms at any point (docs/osap.md: "the LBS closes connections
 * that stay idle"). When the timer fires, lbs_sess_tick() closes the
 * session with LBS_SESS_R_TIMEOUT, or says the deadline moved.
 *
 * Keys. The session holds the master key, the session key and a challenge;
 * they are wiped (OPENSSL_cleanse) when the session closes and the whole
 * session again when it is freed, and every plaintext or key put on the
 * stack is wiped before the function returns.
 *
 * Threads: a session and its backend belong to one thread (the LBS event
 * loop); every function here and every callback runs on it. Nothing
 * allocates after lbs_sess_new() but OpenSSL: the ECDH of 0x1, and a cipher
 * context per seal or open unless the backend shares one (lbs_backend.aead).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/osap.h"

struct lbs_sess;
struct osap_aead;

/* ---- what the backend answers ---- */

/* A device record, as lookup_serial() and lookup_devid() return it. */
struct lbs_dev_rec {
	uint8_t key[OSAP_KEY_LEN];   /* lookup_serial: share key; lookup_devid: master key */
	bool blocked;                /* blocked by the operator */
};

/* A DevID, as apply_devid() returns it: 1..OSAP_ID_MAX octets. */
struct lbs_devid {
	uint8_t id[OSAP_ID_MAX];
	uint8_t len;
};

/* An access node's address, as pick_node() returns it. */
struct lbs_node_addr {
	uint32_t node;               /* the backend's handle of the node; handed back to admit() */
	uint8_t family;              /* OSAP_FAMILY_IPV4 or OSAP_FAMILY_IPV6 */
	uint8_t addr[16];            /* 4 or 16 octets used, network order */
	uint16_t port;               /* where the node serves the negotiated protocol; not 0 */
};

/* What admit() is asked to push to the node. Pointers are valid during the call only. */
struct lbs_admission {
	const uint8_t *devid;
	size_t devid_len;
	const uint8_t *session_key;  /* OSAP_KEY_LEN octets: copy, and wipe the copy when done */
	int64_t key_expiry;          /* Unix time (s) the session key ends */
	/* seconds the node holds the admission (also in the 0xB): the policy's
	 * admit_lifetime, or what is left of the session key's life if less */
	uint32_t lifetime;
	uint8_t proto_type;          /* negotiated protocol type */
	uint8_t proto;               /* negotiated protocol: one OSAP_PROTO_* bit */
	const struct lbs_node_addr *node;   /* the node pick_node() chose */
};

/* The service's settings a session uses, read once by lbs_sess_new(). */
struct lbs_policy {
	uint8_t proto_type;          /* the protocol type served (OSAP_PROTO_TYPE_MQTTSN) */
	uint8_t proto_group;         /* OSAP_PROTO_* bits served; at least one known bit */
	uint32_t key_lifetime;       /* seconds a session key is valid; > 0 */
	uint32_t admit_lifetime;     /* seconds a node holds an admission; > 0 */
};

/* admit() returns this when it will report the outcome with lbs_sess_admitted(). */
#define LBS_ADMIT_PENDING 1

/*
 * The rest of the LBS, as the session sees it. Every callback gets @c ctx
 * first and runs on the session's thread, inside lbs_sess_input() or
 * lbs_sess_admitted(); none may call back into the same session. Pointers
 * passed in are valid during the call only. Any negative return not listed
 * is a failure of the service: the device gets internal_error and the
 * session closes with LBS_SESS_R_INTERNAL.
 */
struct lbs_backend {
	void *ctx;

	/*
	 * The device of a serial number (0x1): its share key and whether it is
	 * blocked. @return 0, or -ENOENT (no such serial).
	 */
	int (*lookup_serial)(void *ctx, const uint8_t *serial, size_t len, struct lbs_dev_rec *rec);

	/*
	 * The device of a DevID (0x4): its master key and whether it is
	 * blocked. @return 0, or -ENOENT (no such DevID, or it has no master key).
	 */
	int (*lookup_devid)(void *ctx, const uint8_t *devid, size_t len, struct lbs_dev_rec *rec);

	/*
	 * Optional (NULL: never limited). Called on 0x1 and 0x4 before the
	 * lookup, with the serial number (0x1) or DevID (0x4): a limiter per
	 * device. @return 0 to go on, or -EAGAIN with *retry_after set (seconds,
	 * 0 = not given): the device gets ERROR rate_limited.
	 */
	int (*throttle)(void *ctx, uint8_t type, const uint8_t *id, size_t len,
			uint16_t *retry_after);

	/*
	 * First authentication reached 0x7 (the device proved it has the master
	 * key): keep the serial's DevID if it has one, else create one, and
	 * store @p master_key as the device's master key. @return 0 with @p devid
	 * filled in (1..OSAP_ID_MAX octets).
	 */
	int (*apply_devid)(void *ctx, const uint8_t *serial, size_t serial_len,
			   const uint8_t master_key[OSAP_KEY_LEN], struct lbs_devid *devid);

	/* Store the DevID's new session key and its expiry (Unix s). @return 0. */
	int (*store_session_key)(void *ctx, const uint8_t *devid, size_t devid_len,
				 const uint8_t key[OSAP_KEY_LEN], int64_t expiry);

	/*
	 * Choose an access node for the DevID that serves @p proto_type /
	 * @p proto in @p family (OSAP_FAMILY_ANY: either). @return 0 with @p node
	 * filled in, or -ENOENT / -EHOSTDOWN / -EAGAIN: none available (the
	 * device gets no_access_node).
	 */
	int (*pick_node)(void *ctx, const uint8_t *devid, size_t devid_len, uint8_t family,
			 uint8_t proto_type, uint8_t proto, struct lbs_node_addr *node);

	/*
	 * Admit the device at @p a->node. @return 0 (admitted), LBS_ADMIT_PENDING
	 * (the caller will call lbs_sess_admitted(@p s, ...) later, on this
	 * thread, unless the session is freed first), or a negative code
	 * (refused: the device gets no_access_node).
	 */
	int (*admit)(void *ctx, struct lbs_sess *s, const struct lbs_admission *a);

	/*
	 * Optional. lbs_sess_free() calls it on a session whose admission is
	 * pending: forget @p s, never call lbs_sess_admitted() for it.
	 */
	void (*admit_cancel)(void *ctx, struct lbs_sess *s);

	/* The service's settings; called once, by lbs_sess_new(). */
	void (*policy)(void *ctx, struct lbs_policy *p);

	/* A monotonic clock in milliseconds: deadlines. */
	uint64_t (*now_ms)(void *ctx);

	/* Wall-clock Unix time in seconds: session-key expiry. */
	int64_t (*wall_s)(void *ctx);

	/* Optional AES-GCM context of the session's thread; NULL: one per operation. */
	struct osap_aead *aead;
};

/* Limits of one connection; 0 in a field means its default. */
struct lbs_sess_limits {
	uint32_t handshake_ms;       /* new session to first address granted; default 10000 */
	uint32_t idle_ms;            /* longest silence of the device; default 30000 */
	uint32_t max_addr_req;       /* 0xA per connection; default 8, more: ERROR rate_limited */
};

#define LBS_SESS_HANDSHAKE_MS_DEFAULT   10000
#define LBS_SESS_IDLE_MS_DEFAULT        30000
#define LBS_SESS_MAX_ADDR_REQ_DEFAULT   8

/* ---- results ---- */

/* What the caller does after lbs_sess_input(), lbs_sess_admitted(), lbs_sess_tick(). */
enum lbs_sess_action {
	LBS_SESS_CONTINUE = 0,   /* send out; keep reading */
	LBS_SESS_WAIT = 1,       /* send out; read nothing until lbs_sess_admitted() */
	LBS_SESS_CLOSE = 2,      /* send out, then close; out->reason says why */
};

/*
 * Why a session closed: enum suffix, counter name, description. OK while it
 * is open. Several reasons give the same answer on the wire (UNKNOWN_DEVICE
 * on 0x1 is auth_failed there); these names are for the operator's counters.
 */
#define FOREACH_LBS_SESS_REASON(_) \
	_(OK,             "ok",             "not closed by the service") \
	_(MALFORMED,      "malformed",      "a frame did not decode (ERROR malformed)") \
	_(TOO_BIG,        "too_big",        "a frame announced over 1024 octets") \
	_(UNSUPPORTED,    "unsupported",    "no common protocol, or no ECDH flag") \
	_(BAD_VERSION,    "bad_version",    "FORM or HIGH_TYPE version not 1") \
	_(AUTH_FAILED,    "auth_failed",    "a seal did not open, a bad public key, a wrong 0x9") \
	_(BLOCKED,        "blocked",        "the device is blocked (device_blocked)") \
	_(UNKNOWN_DEVICE, "unknown_device", "unknown serial (0x1: auth_failed) or DevID (0x4)") \
	_(NO_NODE,        "no_node",        "no access node available (no_access_node)") \
	_(ADMIT_REFUSED,  "admit_refused",  "the access node refused the admission") \
	_(KEY_EXPIRED,    "key_expired",    "address request after the session key's lifetime") \
	_(OUT_OF_ORDER,   "out_of_order",   "a message not valid in the connection's state") \
	_(RATE_LIMITED,   "rate_limited",   "throttled, or too many 0xA on one connection") \
	_(PEER_ERROR,     "peer_error",     "the device sent ERROR") \
	_(TIMEOUT,        "timeout",        "handshake or idle deadline passed") \
	_(INTERNAL,       "internal",       "registry, node or crypto failure (internal_error)")

enum lbs_sess_reason {
#define LBS_SESS_REASON_ENUM(e, n, d) LBS_SESS_R_##e,
	FOREACH_LBS_SESS_REASON(LBS_SESS_REASON_ENUM)
#undef LBS_SESS_REASON_ENUM
	LBS_SESS_R_MAX
};

/** Counter name of a reason ("no_node"); NULL if out of range. */
const char *lbs_sess_reason_name(enum lbs_sess_reason r);
/** One-line description of a reason; NULL if out of range. */
const char *lbs_sess_reason_desc(enum lbs_sess_reason r);

/* Where a session is (docs/osap.md section 5), for logs and tests. */
enum lbs_sess_state {
	LBS_SESS_START,      /* waiting for 0x1 or 0x4 */
	LBS_SESS_KEYED,      /* 0x2 ok sent: waiting for 0x7 */
	LBS_SESS_GRANTED,    /* 0x8 ok sent: waiting for 0x9 or 0xA */
	LBS_SESS_SESSION,    /* confirmed or refreshed: 0xA, repeatable */
	LBS_SESS_ADMITTING,  /* an admission is pending (LBS_SESS_WAIT) */
	LBS_SESS_CLOSED,     /* a close was asked for: reads nothing more */
};

/** Name of a state ("granted"); NULL if out of range. */
const char *lbs_sess_state_name(enum lbs_sess_state st);

/*
 * The output of one call. The caller points buf at its buffer and sets cap
 * and len (len = octets already in it, normally 0); the session appends
 * whole frames at len and updates it, and fills in consumed and reason.
 */
struct lbs_sess_out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t consumed;             /* lbs_sess_input(): octets of the input taken */
	enum lbs_sess_reason reason; /* LBS_SESS_R_OK unless the action is LBS_SESS_CLOSE */
};

/**
 * Room the output buffer must have (cap - len) when a call starts: the
 * longest frame docs/osap.md defines (an ERROR with a 255-octet reason).
 */
#define LBS_SESS_RSP_MAX        (1 + 2 + 3 + 2 + 3 + OSAP_REASON_MAX)

/* ---- the session ---- */

/**
 * A session for a new connection.
 * @param b  the backend; must outlive the session. lookup_serial,
 *           lookup_devid, apply_devid, store_session_key, pick_node, admit,
 *           policy, now_ms and wall_s are required.
 * @param l  limits, copied; NULL for the defaults
 * @return the session, or NULL (a required callback missing, a policy with no
 *         known protocol bit or a zero lifetime, or no memory).
 */
struct lbs_sess *lbs_sess_new(const struct lbs_backend *b, const struct lbs_sess_limits *l);

/**
 * Free a session at any point, wiping its keys. If its admission is pending,
 * the backend's admit_cancel() is called first. NULL is a no-op.
 */
void lbs_sess_free(struct lbs_sess *s);

/**
 * Feed octets the device sent, in any split: a partial frame is kept (at
 * most one frame, OSAP_FRAME_MAX octets) until the rest arrives. Each whole
 * frame runs through the state machine and its answer, if any, is appended
 * to @p out.
 *
 * The session stops reading early, leaving out->consumed < @p len, when an
 * admission is pending (LBS_SESS_WAIT), when it closes, or when @p out has
 * less than LBS_SESS_RSP_MAX octets of room left with a frame to answer
 * (LBS_SESS_CONTINUE): send @p out and feed the rest again. A call with
 * @p len 0 (@p buf may be NULL) answers a frame kept back that way.
 *
 * @return LBS_SESS_CONTINUE, LBS_SESS_WAIT (nothing is read until
 *         lbs_sess_admitted()), LBS_SESS_CLOSE (also for every call after
 *         the first close, consuming nothing); or -EINVAL (NULL session or
 *         out, NULL buf with @p len > 0, out->len > out->cap), -ENOSPC
 *         (less than LBS_SESS_RSP_MAX octets of room in @p out).
 */
int lbs_sess_input(struct lbs_sess *s, const uint8_t *buf, size_t len, struct lbs_sess_out *out);

/**
 * The outcome of an admission admit() left pending. @p ok: the node holds
 * the admission; the device gets its address (0xB ok). Otherwise it gets
 * no_access_node and the session closes (LBS_SESS_R_ADMIT_REFUSED).
 * Afterwards feed any input held back since LBS_SESS_WAIT.
 * @return LBS_SESS_CONTINUE or LBS_SESS_CLOSE, or -EINVAL (no admission
 *         pending, NULL argument), -ENOSPC (as for lbs_sess_input(); the
 *         admission stays pending).
 */
int lbs_sess_admitted(struct lbs_sess *s, bool ok, struct lbs_sess_out *out);

/**
 * When the caller's timer must fire, in the now_ms() clock: the handshake
 * deadline until the first address is granted, and always the idle deadline
 * (last frame from the device + idle_ms); the earlier of those that apply.
 */
uint64_t lbs_sess_deadline(const struct lbs_sess *s);

/**
 * The caller's timer fired. If lbs_sess_deadline() has passed, the session
 * closes with LBS_SESS_R_TIMEOUT (nothing is written: no status says
 * "timeout") and this returns LBS_SESS_CLOSE; otherwise the deadline moved
 * (the device spoke) and it returns the current action (re-arm the timer).
 * @return an enum lbs_sess_action, or -EINVAL.
 */
int lbs_sess_tick(struct lbs_sess *s, struct lbs_sess_out *out);

/** The session's state. */
enum lbs_sess_state lbs_sess_state(const struct lbs_sess *s);

/** Why the session closed; LBS_SESS_R_OK while it is open. */
enum lbs_sess_reason lbs_sess_reason(const struct lbs_sess *s);

/**
 * The DevID the session has authenticated (granted on 0x8, or named by a
 * successful 0x4): a view into the session, valid until it is freed; empty
 * before.
 */
struct osap_view lbs_sess_devid(const struct lbs_sess *s);

#endif
