/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_OSAP_DEV_H
#define TERN_TOOLS_OSAP_DEV_H

/*
 * The device side of every OSAP exchange with the load-balancing service
 * (docs/osap.md sections 5 to 10), for tern-device and for tests and
 * benchmarks that run the LBS in-process: first authentication (0x1/0x2
 * with negotiation and ECDH, 0x7/0x8 DevID and session key, 0x9 confirm),
 * re-authentication (0x4/0x6) and get address (0xA/0xB), every answer
 * checked (seal, challenge echo, DevID) and every refusal named.
 *
 * Transport: a blocking byte stream given as two callbacks (struct
 * osap_stream), so the same code runs over a TCP socket, a TLS connection
 * (tests/tools/device_net.h has both) or an in-process lbs_sess
 * (tests/tools/device_loop.h). One connection carries one exchange: a first
 * authentication or a re-authentication, then one or more address requests.
 * Frames are read exactly (header, then the announced length), so nothing
 * past the frame is ever read.
 *
 * Keys. struct osap_dev holds the share, master and session keys; the
 * caller calls osap_dev_wipe() when done (OPENSSL_cleanse of the whole
 * struct). Every key or plaintext put on the stack is wiped before a
 * function returns.
 *
 * Threads: a struct osap_dev and its stream belong to one thread; different
 * devices may run on different threads (nothing here is global).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/osap.h"

struct osap_aead;

/* ---- the stream ---- */

/*
 * A blocking byte stream with a timeout. Both callbacks get @c ctx first.
 *
 * read: read 1..@p len octets, waiting at most @p timeout_ms.
 *       @return octets read (> 0), 0 at the end of the stream (the peer
 *       closed), -ETIMEDOUT, or another negative errno-style code.
 * write: write all @p len octets within @p timeout_ms.
 *       @return 0, -ETIMEDOUT, or another negative code (-EPIPE: closed).
 */
struct osap_stream {
	void *ctx;
	int (*read)(void *ctx, uint8_t *buf, size_t len, int timeout_ms);
	int (*write)(void *ctx, const uint8_t *buf, size_t len, int timeout_ms);
	int timeout_ms;   /* per frame sent or received; <= 0: 5000 */
};

/* ---- the device ---- */

struct osap_dev {
	/* identity and what the device offers */
	char serial[OSAP_ID_MAX + 1];
	uint8_t share_key[OSAP_KEY_LEN];
	bool has_share_key;          /* osap_dev_init() with a code */
	uint8_t proto_type;          /* offered in 0x1 / 0x4; default OSAP_PROTO_TYPE_MQTTSN */
	uint8_t proto_group;         /* offered bits; default OSAP_PROTO_PLAIN */
	uint8_t family;              /* asked for in 0xA: enum osap_family; default ANY */
	bool no_cfm;                 /* skip the 0x9 (the 0xA confirms implicitly) */
	/* what the LBS granted */
	char devid[OSAP_ID_MAX + 1]; /* "" until a key grant */
	bool has_master;
	uint8_t master_key[OSAP_KEY_LEN];
	bool has_session;
	uint8_t session_key[OSAP_KEY_LEN];
	uint32_t key_lifetime;       /* seconds, from the last key grant */
	uint8_t proto;               /* the protocol bit negotiated by the last 0x2 / 0x6 */
	/* optional AES-GCM context of this thread (NULL: one per operation) */
	struct osap_aead *aead;
};

/*
 * Why an exchange failed, on the device side (the LBS's own refusals are
 * the OSAP statuses): enum suffix, name, errno-style code returned,
 * exit-code class (1: protocol, 3: network), description.
 */
#define FOREACH_OSAP_DEV_ERR(_) \
	_(NONE,       "ok",                0,          0, "no failure") \
	_(REFUSED,    "refused",           EPROTO,     1, "the LBS answered a failure status or ERROR") \
	_(TIMEOUT,    "timeout",           ETIMEDOUT,  3, "no (complete) answer within the timeout") \
	_(CLOSED,     "connection_closed", ECONNRESET, 3, "the LBS closed the connection before answering") \
	_(IO,         "io_error",          EIO,        3, "the stream failed (socket or TLS error)") \
	_(MALFORMED,  "malformed_answer",  EBADMSG,    1, "the answer did not decode") \
	_(UNEXPECTED, "unexpected_answer", EBADMSG,    1, "an answer of another type than asked for") \
	_(BAD_SEAL,   "bad_seal",          EBADMSG,    1, "the answer's seal did not open") \
	_(BAD_GRANT,  "bad_grant",         EBADMSG,    1, "a sealed plaintext malformed, or its challenge not ours") \
	_(BAD_CHOICE, "bad_choice",        EBADMSG,    1, "the LBS chose a protocol the device did not offer") \
	_(LOCAL,      "local_error",       EINVAL,     1, "the device could not build its request")

enum osap_dev_err {
#define OSAP_DEV_ERR_ENUM(e, n, no, x, d) OSAP_DEV_E_##e,
	FOREACH_OSAP_DEV_ERR(OSAP_DEV_ERR_ENUM)
#undef OSAP_DEV_ERR_ENUM
	OSAP_DEV_E_MAX
};

/** Name of a device-side failure ("bad_seal"); NULL out of range. */
const char *osap_dev_err_name(enum osap_dev_err e);
/** Exit-code class of a failure: 0 none, 1 protocol, 3 network. */
int osap_dev_err_class(enum osap_dev_err e);

/* The outcome of one exchange (osap_dev_first_auth(), _reauth(), _get_address()). */
struct osap_dev_result {
	enum osap_dev_err err;       /* NONE on success */
	/* REFUSED: the status of the typed answer, or the ERROR's code */
	uint8_t status;
	bool in_error;               /* the refusal came as an ERROR (0xC) */
	uint16_t retry_after;        /* ERROR: seconds, 0 = not given */
	char reason[OSAP_REASON_MAX + 1];  /* ERROR: its reason text */
	uint8_t stage;               /* the request type the failure answered (OSAP_AUTH_ECDH_REQ..) */
	/*
	 * 0x2 / 0x6 ok: the type and the chosen protocol bit; unsupported_protocol
	 * (the draft's inconsistent case): the server's type and group, to retry with.
	 */
	uint8_t offer_type, offer_group;
	/* 0xB ok */
	uint8_t node_family;         /* OSAP_FAMILY_IPV4 or _IPV6 */
	uint8_t node_addr[16];
	uint16_t node_port;
	uint8_t node_proto_type, node_proto;
	uint32_t admit_lifetime;     /* seconds the node holds the admission */
	/* monotonic nanoseconds spent, summed over the calls on this result */
	uint64_t auth_ns;            /* 0x1 .. 0x9, or 0x4 .. 0x6 */
	uint64_t addr_ns;            /* 0xA .. 0xB */
};

/**
 * Set up @p d for @p serial (1..OSAP_ID_MAX octets): offers type MQTT-SN,
 * group OSAP_PROTO_PLAIN, family ANY. With @p code (1..OSAP_ID_MAX octets)
 * the share key is derived (osap_share_key(), @p iterations: the LBS's
 * setting); with NULL it is not (re-authentication only).
 * @return 0, -EINVAL (a length or @p iterations out of range), -ENOMEM, -EIO.
 */
int osap_dev_init(struct osap_dev *d, const char *serial, const char *code,
		  uint32_t iterations);

/** Wipe every key and identity of @p d (OPENSSL_cleanse). */
void osap_dev_wipe(struct osap_dev *d);

/** Clear @p r for a new exchange. */
void osap_dev_result_init(struct osap_dev_result *r);

/**
 * First authentication on a fresh connection: 0x1 (offered type and group,
 * serial, a fresh ECDH key sealed under the share key) / 0x2, then 0x7 / 0x8
 * (DevID, session key, lifetime; challenge checked), then 0x9 unless
 * d->no_cfm. On success d->devid, master key, session key, key_lifetime and
 * proto are set.
 *
 * The inconsistent negotiation: the LBS answers unsupported_protocol with
 * its own type and group (r->offer_type, r->offer_group) and closes; the
 * caller reconnects and calls this again with d->proto_type / proto_group
 * set from the offer, if the device can do that.
 *
 * @return 0, or the negative code of r->err (r->err and, for REFUSED,
 *         r->status say why); -EINVAL if @p d has no share key.
 */
int osap_dev_first_auth(struct osap_dev *d, const struct osap_stream *s,
			struct osap_dev_result *r);

/**
 * Re-authentication on a fresh connection: 0x4 (DevID, a challenge sealed
 * under the master key) / 0x6 (a new session key; challenge and DevID
 * checked). Negotiates as osap_dev_first_auth() does.
 * @return as osap_dev_first_auth(); -EINVAL if @p d has no DevID or master key.
 */
int osap_dev_reauth(struct osap_dev *d, const struct osap_stream *s, struct osap_dev_result *r);

/**
 * Get address on the connection of a successful first authentication or
 * re-authentication: 0xA (d->family, a challenge, under the session key) /
 * 0xB. On success r->node_* and r->admit_lifetime are set.
 * @return as osap_dev_first_auth(); -EINVAL if @p d has no session key.
 */
int osap_dev_get_address(struct osap_dev *d, const struct osap_stream *s,
			 struct osap_dev_result *r);

/**
 * The failure of @p r as one name: "ok", an OSAP status name
 * ("auth_failed", "no_access_node", "status_0x2a" for a reserved value) for
 * REFUSED, otherwise the device-side name ("timeout", "bad_seal").
 * @p buf (16 octets suffice) is used for reserved statuses only.
 */
const char *osap_dev_error_name(const struct osap_dev_result *r, char *buf, size_t cap);

/** The node address of @p r as text (IPv4 dotted, IPv6 RFC 5952) into @p buf; "" if none. */
const char *osap_dev_node_str(const struct osap_dev_result *r, char *buf, size_t cap);

#endif
