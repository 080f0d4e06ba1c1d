/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_OSAP_H
#define TERN_PROTO_OSAP_H

/*
 * Open Service Access Protocol (draft-wang-open-service-access-protocol-06)
 * wire codec: the control messages a device exchanges with the load-balancing
 * service (LBS) over one TCP (or TLS) connection, and the plaintexts sealed
 * inside them.
 *
 * The draft leaves the bytes open; docs/osap.md pins every one of them and
 * is the reference for this file. In short, a frame is
 *
 *   | type<<4 | flags | remaining length (1-4, MQTT varint) |
 *   | variable header (0-3 octets, by type) |
 *   | LEN (2) | FORM HIGH LOW (3) | general content (LEN - 3) |
 *   | application payload (the rest): nonce(12) ciphertext tag(16), or nothing |
 *
 * The decoder never copies: serial numbers, DevIDs, reason texts and the
 * sealed application payload are (pointer, length) views into the caller's
 * buffer, valid as long as that buffer is. Encoders write into a caller's
 * buffer and return the length written. Nothing allocates and nothing here
 * touches cryptography (proto/osap_crypto.h seals and opens the application
 * payloads); every function is pure and may be called from any thread on
 * data that thread owns.
 *
 * Errors are negative errno-style codes (tern_strerror() has their text):
 *  -EAGAIN           the buffer holds only a prefix of a frame: read more
 *                    (osap_frame_len() says how much once it can)
 *  -EMSGSIZE         lengths: frame longer than OSAP_FRAME_MAX, a frame
 *                    shorter than its type's fixed part, LEN running past the
 *                    frame, an application payload of the wrong size
 *  -EPROTONOSUPPORT  reserved message type
 *  -EINVAL           a field value docs/osap.md forbids
 * and the decoder also names the precise reason (enum osap_err, a counter
 * each) in struct osap_msg.err.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- sizes ---- */

/** Largest frame, fixed header included (docs/osap.md "Framing"). */
#define OSAP_FRAME_MAX          1024
/** Smallest frame: 2-octet fixed header, LEN, version. */
#define OSAP_FRAME_MIN          7
/** Longest serial number or DevID, in octets of UTF-8. */
#define OSAP_ID_MAX             64
/** Longest reason text of an ERROR message. */
#define OSAP_REASON_MAX         255

/** AES-128 key: share key, master key, session key. */
#define OSAP_KEY_LEN            16
/** AES-GCM nonce carried in front of every sealed payload. */
#define OSAP_NONCE_LEN          12
/** AES-GCM tag carried behind every sealed payload. */
#define OSAP_TAG_LEN            16
/** Octets a sealed application payload adds to its plaintext. */
#define OSAP_SEALED_OVERHEAD    (OSAP_NONCE_LEN + OSAP_TAG_LEN)
/** secp384r1 public key, uncompressed SEC1 point 0x04 || X || Y. */
#define OSAP_EC_PUB_LEN         97
/** secp384r1 private scalar, big-endian. */
#define OSAP_EC_PRIV_LEN        48
/** ECDH shared secret: the X coordinate of the shared point. */
#define OSAP_ECDH_SECRET_LEN    48
/** Random challenge a device puts in every sealed request. */
#define OSAP_CHALLENGE_LEN      16

/** Application payload length for @p pt_len octets of plaintext. */
static inline size_t
osap_sealed_len(size_t pt_len)
{
	return pt_len + OSAP_SEALED_OVERHEAD;
}

/* ---- message types (high nibble of octet 0) ---- */

/*
 * Every message type: enum suffix, value, counter name. 0x1-0x9 are the
 * draft's; 0xA-0xC are tern's (the draft names the address exchange but gives
 * it no number). 0x0, 0x3, 0x5 and 0xD-0xF are reserved.
 */
#define FOREACH_OSAP_TYPE(_) \
	_(AUTH_ECDH_REQ,  0x1, "auth_ecdh_req") \
	_(AUTH_ECDH_RSP,  0x2, "auth_ecdh_rsp") \
	_(REFRESH_REQ,    0x4, "refresh_req") \
	_(REFRESH_RSP,    0x6, "refresh_rsp") \
	_(DEVID_REQ,      0x7, "devid_req") \
	_(DEVID_RSP,      0x8, "devid_rsp") \
	_(DEVID_CFM,      0x9, "devid_cfm") \
	_(ADDR_REQ,       0xa, "addr_req") \
	_(ADDR_RSP,       0xb, "addr_rsp") \
	_(ERROR,          0xc, "error")

enum osap_type {
#define OSAP_TYPE_ENUM(e, v, n) OSAP_##e = v,
	FOREACH_OSAP_TYPE(OSAP_TYPE_ENUM)
#undef OSAP_TYPE_ENUM
};

/** Number of message types (size of a per-type counter array). */
#define OSAP_NTYPES 10

/** Counter name of a type value ("devid_rsp"); NULL for a reserved type. */
const char *osap_type_name(unsigned int type);

/** Dense index 0..OSAP_NTYPES-1 of a type value; -1 for a reserved type. */
int osap_type_index(unsigned int type);

/* ---- control flags (low nibble of octet 0) ---- */

/*
 * The draft's "Bit1" of the control flag: ECDH key mode. The draft's diagrams
 * show "Control Flag:0x1", so tern reads bits as numbered from 1 and Bit1 is
 * the value 0x1 (docs/osap.md). tern sets it in every frame it sends; the
 * codec accepts frames without it (the LBS answers them, it does not drop
 * them) but refuses the three reserved bits.
 */
#define OSAP_FLAG_ECDH          0x1
#define OSAP_FLAG_RESERVED      0xe

/* ---- protocol version (first 3 octets of the general payload) ---- */

struct osap_version {
	uint8_t form;   /* FORM_VERSION: the frame layout, 1 for docs/osap.md */
	uint8_t high;   /* HIGH_TYPE_VERSION: incompatible revisions */
	uint8_t low;    /* LOW_TYPE_VERSION: compatible revisions */
};

#define OSAP_VERSION_FORM       1
#define OSAP_VERSION_HIGH       1
#define OSAP_VERSION_LOW        0

/* ---- negotiation: protocol type and protocol group ---- */

/*
 * Protocol type: how the device will talk to the access node. Protocol
 * group: one octet, one bit per protocol of that type; a device offers a set,
 * the LBS answers with one bit. Within a type a higher bit is a more secure
 * protocol, so "the most secure common protocol" is the highest bit both
 * sides set (osap_select_protocol()).
 */
enum osap_proto_type {
	OSAP_PROTO_TYPE_MQTTSN = 1,   /* MQTT-SN datagrams: what tern's access nodes speak */
	OSAP_PROTO_TYPE_MQTT = 2,     /* MQTT over TCP: the draft's framework; not served by tern */
};

/* Group bits; the same two meanings for either type. 0x04-0x80 are reserved. */
#define OSAP_PROTO_PLAIN        0x01  /* UDP (TCP): PUBLISH data sealed under the session key */
#define OSAP_PROTO_SECURE       0x02  /* DTLS 1.2 (TLS), and the data sealed as well */
#define OSAP_PROTO_KNOWN        (OSAP_PROTO_PLAIN | OSAP_PROTO_SECURE)

/**
 * The most secure protocol both offer: the highest bit set in
 * @p device_group & @p server_group & OSAP_PROTO_KNOWN (a server never picks
 * a bit this document does not define).
 * @return that bit, or 0 when there is none (the draft's "inconsistent"
 *         negotiation).
 */
uint8_t osap_select_protocol(uint8_t device_group, uint8_t server_group);

/* ---- status and error codes (one octet) ---- */

/*
 * Every status a response or an ERROR message carries: enum suffix, value,
 * name, description. 0x0D-0xFF are reserved; the codec passes unknown
 * values through and a device treats them as failures.
 */
#define FOREACH_OSAP_STATUS(_) \
	_(OK,                   0x00, "ok", \
	  "success") \
	_(MALFORMED,            0x01, "malformed", \
	  "the message could not be decoded") \
	_(UNSUPPORTED_PROTOCOL, 0x02, "unsupported_protocol", \
	  "no common protocol type and group; the answer carries the server's") \
	_(UNSUPPORTED_VERSION,  0x03, "unsupported_version", \
	  "FORM or HIGH_TYPE version not supported") \
	_(AUTH_FAILED,          0x04, "auth_failed", \
	  "unknown serial number, wrong verification code, or a seal did not open") \
	_(DEVICE_BLOCKED,       0x05, "device_blocked", \
	  "the device is blocked by the operator") \
	_(RATE_LIMITED,         0x06, "rate_limited", \
	  "too many attempts from this device or address; retry later") \
	_(SERVER_BUSY,          0x07, "server_busy", \
	  "the service is overloaded; retry later") \
	_(NO_ACCESS_NODE,       0x08, "no_access_node", \
	  "no access node is available") \
	_(UNKNOWN_DEVICE,       0x09, "unknown_device", \
	  "DevID not registered: authenticate from the start (0x1)") \
	_(KEY_EXPIRED,          0x0a, "key_expired", \
	  "the session key expired: refresh it (0x4)") \
	_(UNEXPECTED,           0x0b, "unexpected_message", \
	  "message type not valid in the connection's state") \
	_(INTERNAL,             0x0c, "internal_error", \
	  "the service failed internally")

enum osap_status {
#define OSAP_STATUS_ENUM(e, v, n, d) OSAP_ST_##e = v,
	FOREACH_OSAP_STATUS(OSAP_STATUS_ENUM)
#undef OSAP_STATUS_ENUM
};

/** Name of a status value ("no_access_node"); NULL for a reserved value. */
const char *osap_status_name(unsigned int status);
/** One-line description of a status value; NULL for a reserved value. */
const char *osap_status_desc(unsigned int status);

/* ---- decode errors ---- */

/*
 * Every reason osap_decode() refuses a frame: enum suffix, errno class,
 * counter name, description. Order is the counter order.
 */
#define FOREACH_OSAP_ERR(_) \
	_(VARINT,      EINVAL,   "err_varint", \
	  "remaining length longer than 4 octets or not minimally encoded") \
	_(TOO_LONG,    EMSGSIZE, "err_too_long", \
	  "frame longer than OSAP_FRAME_MAX") \
	_(TYPE,        EPROTONOSUPPORT, "err_type", \
	  "reserved message type") \
	_(FLAGS,       EINVAL,   "err_flags", \
	  "reserved control flag bits set") \
	_(TRUNCATED,   EMSGSIZE, "err_truncated", \
	  "frame shorter than its variable header and general payload") \
	_(GENERAL_LEN, EMSGSIZE, "err_general_len", \
	  "general payload LEN below 3 (no room for the version)") \
	_(ID,          EINVAL,   "err_id", \
	  "serial, DevID or reason missing, too long, or present where the type has none") \
	_(SEALED,      EMSGSIZE, "err_sealed", \
	  "application payload length wrong for the type and status") \
	_(GROUP,       EINVAL,   "err_group", \
	  "successful negotiation answer without exactly one known protocol bit") \
	_(CODE,        EINVAL,   "err_code", \
	  "ERROR message with code 0 (ok)")

enum osap_err {
	OSAP_ERR_NONE = 0,
#define OSAP_ERR_ENUM(e, no, n, d) OSAP_ERR_##e,
	FOREACH_OSAP_ERR(OSAP_ERR_ENUM)
#undef OSAP_ERR_ENUM
	OSAP_ERR_MAX
};

/** Counter name of a decode error ("err_sealed"; "ok" for NONE); NULL if out of range. */
const char *osap_err_name(enum osap_err e);
/** One-line description of a decode error; NULL if out of range. */
const char *osap_err_desc(enum osap_err e);
/** The negative errno-style code osap_decode() returns for @p e (0 for NONE). */
int osap_err_code(enum osap_err e);

/* ---- the messages ---- */

/* Bytes of a variable-length field: a view, never a copy. */
struct osap_view {
	const uint8_t *p;   /* may be NULL when len is 0 */
	size_t len;
};

/* 0x1: device -> LBS, opens a first authentication. Sealed: device public key. */
struct osap_ecdh_req {
	uint8_t proto_type;        /* enum osap_proto_type offered */
	uint8_t proto_group;       /* OSAP_PROTO_* bits offered */
	struct osap_view serial;   /* 1..OSAP_ID_MAX, in clear: selects the share key */
};

/*
 * 0x2: LBS -> device. OK: proto_group is the one chosen bit and the sealed
 * payload is the LBS public key. UNSUPPORTED_PROTOCOL: type and group are the
 * server's (the draft's inconsistent case), nothing sealed. Other statuses:
 * nothing sealed.
 */
struct osap_ecdh_rsp {
	uint8_t status;            /* enum osap_status */
	uint8_t proto_type;
	uint8_t proto_group;
};

/* 0x4: device -> LBS, opens a re-authentication. Sealed (master key): a challenge. */
struct osap_refresh_req {
	uint8_t proto_type;
	uint8_t proto_group;
	struct osap_view devid;    /* 1..OSAP_ID_MAX, in clear: selects the master key */
};

/* 0x6: LBS -> device; as 0x2. OK: sealed (master key) key grant. */
struct osap_refresh_rsp {
	uint8_t status;
	uint8_t proto_type;
	uint8_t proto_group;
};

/* 0x8 and 0xB: LBS -> device. OK: sealed key grant (0x8), address grant (0xB). */
struct osap_status_rsp {
	uint8_t status;
};

/* 0x9: device -> LBS. Sealed (session key): the challenge of its 0x7. */
struct osap_devid_cfm {
	struct osap_view devid;    /* 1..OSAP_ID_MAX */
};

/* 0xC: either way; the sender closes the connection after it. Nothing sealed. */
struct osap_error {
	uint8_t code;              /* enum osap_status, never OK */
	uint16_t retry_after;      /* seconds, 0 = not given */
	struct osap_view reason;   /* 0..OSAP_REASON_MAX octets of UTF-8 text */
};

/*
 * One frame. type and flags are octet 0; version is the general payload's
 * first 3 octets; sealed is the application payload (nonce, ciphertext, tag:
 * proto/osap_crypto.h opens it). The union member named for the type holds
 * the rest; 0x7 (DEVID_REQ) and 0xA (ADDR_REQ) have nothing but the sealed
 * payload. The decoder zeroes the struct first, so unused members are 0.
 *
 * Encoding: a sealed view with p == NULL and len > 0 reserves len octets
 * (zero-filled) for the caller to seal in place (osap_seal_msg() does).
 */
struct osap_msg {
	uint8_t type;                  /* enum osap_type */
	uint8_t flags;                 /* OSAP_FLAG_* */
	uint8_t err;                   /* decode: enum osap_err, 0 on success */
	struct osap_version version;   /* reported, not checked: the service decides */
	struct osap_view sealed;       /* application payload, empty when absent */
	union {
		struct osap_ecdh_req ecdh_req;         /* 0x1 */
		struct osap_ecdh_rsp ecdh_rsp;         /* 0x2 */
		struct osap_refresh_req refresh_req;   /* 0x4 */
		struct osap_refresh_rsp refresh_rsp;   /* 0x6 */
		struct osap_status_rsp devid_rsp;      /* 0x8 */
		struct osap_devid_cfm devid_cfm;       /* 0x9 */
		struct osap_status_rsp addr_rsp;       /* 0xB */
		struct osap_error error;               /* 0xC */
	};
};

/**
 * Start a message of @p type for encoding: zeroed, flags OSAP_FLAG_ECDH,
 * version 1.1.0. The caller fills in the union member for the type.
 */
static inline void
osap_msg_init(struct osap_msg *m, enum osap_type type)
{
	*m = (struct osap_msg){
		.type = (uint8_t)type,
		.flags = OSAP_FLAG_ECDH,
		.version = { OSAP_VERSION_FORM, OSAP_VERSION_HIGH, OSAP_VERSION_LOW },
	};
}

/**
 * The status of a response (0x2, 0x6, 0x8, 0xB) or the code of an ERROR;
 * -1 for a request.
 */
int osap_msg_status(const struct osap_msg *m);

/* ---- framing and decoding ---- */

/**
 * Length of the frame that starts at @p buf, for reassembly from a TCP
 * stream: call it on what has arrived; it needs octet 0 and the remaining
 * length field (2 to 5 octets).
 * @return the whole frame's length (fixed header included; it may exceed
 *         @p len: read until it does not), or
 *         -EAGAIN    the remaining length field is not complete yet,
 *         -EINVAL    the remaining length field is malformed (5 octets, or
 *                    not minimal): the stream cannot be resynchronised,
 *         -EMSGSIZE  the frame would exceed OSAP_FRAME_MAX.
 *         It looks at no other octet and checks nothing about the type.
 */
int osap_frame_len(const uint8_t *buf, size_t len);

/**
 * Decode the frame at the start of @p buf (a stream buffer may hold more
 * after it).
 *
 * @param buf  the frame; the views in @p m point into it
 * @param len  octets available
 * @param m    filled in (zeroed first); on error only m->err is meaningful
 * @return the frame's length (octets consumed), or -EAGAIN if @p len holds
 *         only a prefix of it (m->err stays NONE), or -EMSGSIZE,
 *         -EPROTONOSUPPORT, -EINVAL with m->err naming the reason.
 *         Reads at most @p len octets. Any error but -EAGAIN means the
 *         stream is not OSAP, or not this version of it: answer ERROR
 *         (MALFORMED) and close.
 */
int osap_decode(const uint8_t *buf, size_t len, struct osap_msg *m);

/**
 * The message type of a frame without decoding it (octet 0's high nibble).
 * @return the type (0..15), or -EAGAIN if @p len is 0.
 */
static inline int
osap_peek_type(const uint8_t *buf, size_t len)
{
	return len ? buf[0] >> 4 : -EAGAIN;
}

/* ---- encoding ---- */

/**
 * Length osap_encode() would write for @p m.
 * @return the length, or -EINVAL (reserved type or flags, or a field the
 *         decoder would refuse), -EMSGSIZE (a view too long, or the frame
 *         over OSAP_FRAME_MAX).
 */
int osap_encoded_len(const struct osap_msg *m);

/**
 * Encode @p m into @p buf. Whatever this encodes, osap_decode() accepts and
 * decodes back to the same fields, and a frame osap_decode() accepts
 * re-encodes to the same octets.
 * @return octets written, or -ENOSPC if @p cap is too small (nothing useful
 *         is written), -EINVAL or -EMSGSIZE as for osap_encoded_len().
 */
int osap_encode(uint8_t *buf, size_t cap, const struct osap_msg *m);

/* ---- sealed plaintexts ---- */

/*
 * What sits inside the sealed application payloads, before sealing (0x1,
 * 0x2: a public key; 0x4, 0x7, 0x9: a challenge; these are raw octets and
 * need no codec).
 */

/* 0x6 and 0x8: a session key for a DevID. 37 + devid octets. */
struct osap_key_grant {
	uint8_t challenge[OSAP_CHALLENGE_LEN];   /* echo of the request's */
	uint8_t session_key[OSAP_KEY_LEN];
	uint32_t lifetime;                       /* seconds the session key is valid */
	struct osap_view devid;                  /* 1..OSAP_ID_MAX */
};

#define OSAP_KEY_GRANT_MIN      (OSAP_CHALLENGE_LEN + OSAP_KEY_LEN + 4 + 1 + 1)
#define OSAP_KEY_GRANT_MAX      (OSAP_CHALLENGE_LEN + OSAP_KEY_LEN + 4 + 1 + OSAP_ID_MAX)

/* Address families (IANA Address Family Numbers); 0 = "any" in a query only. */
enum osap_family {
	OSAP_FAMILY_ANY = 0,
	OSAP_FAMILY_IPV4 = 1,
	OSAP_FAMILY_IPV6 = 2,
};

/* 0xA: which access node address the device can use. 17 octets. */
struct osap_addr_query {
	uint8_t challenge[OSAP_CHALLENGE_LEN];
	uint8_t family;                          /* enum osap_family */
};

#define OSAP_ADDR_QUERY_LEN     (OSAP_CHALLENGE_LEN + 1)

/* 0xB: where to go. 29 octets (IPv4) or 41 (IPv6). */
struct osap_addr_grant {
	uint8_t challenge[OSAP_CHALLENGE_LEN];   /* echo of the 0xA's */
	uint8_t family;                          /* OSAP_FAMILY_IPV4 or _IPV6 */
	uint8_t addr[16];                        /* 4 or 16 octets used, network order */
	uint16_t port;
	uint8_t proto_type;                      /* enum osap_proto_type at that address */
	uint8_t proto;                           /* one OSAP_PROTO_* bit */
	uint32_t lifetime;                       /* seconds the node holds the admission */
};

#define OSAP_ADDR_GRANT_V4_LEN  (OSAP_CHALLENGE_LEN + 1 + 4 + 2 + 1 + 1 + 4)
#define OSAP_ADDR_GRANT_V6_LEN  (OSAP_CHALLENGE_LEN + 1 + 16 + 2 + 1 + 1 + 4)

/**
 * Encode a key grant.
 * @return octets written (37 + devid.len), -ENOSPC, or -EINVAL (DevID empty
 *         or longer than OSAP_ID_MAX).
 */
int osap_encode_key_grant(uint8_t *buf, size_t cap, const struct osap_key_grant *g);

/**
 * Decode a key grant filling exactly @p len octets; g->devid points into
 * @p buf.
 * @return 0, -EMSGSIZE (too short, or octets left over), -EINVAL (DevID
 *         length 0 or over OSAP_ID_MAX).
 */
int osap_decode_key_grant(const uint8_t *buf, size_t len, struct osap_key_grant *g);

/**
 * Encode an address query.
 * @return OSAP_ADDR_QUERY_LEN, -ENOSPC, or -EINVAL (family not ANY, IPV4, IPV6).
 */
int osap_encode_addr_query(uint8_t *buf, size_t cap, const struct osap_addr_query *q);

/**
 * Decode an address query of exactly OSAP_ADDR_QUERY_LEN octets.
 * @return 0, -EMSGSIZE, -EINVAL (unknown family).
 */
int osap_decode_addr_query(const uint8_t *buf, size_t len, struct osap_addr_query *q);

/**
 * Encode an address grant; for IPv4 only addr[0..3] are used.
 * @return OSAP_ADDR_GRANT_V4_LEN or _V6_LEN, -ENOSPC, or -EINVAL (family not
 *         IPV4 or IPV6, port 0, or proto not exactly one known bit).
 */
int osap_encode_addr_grant(uint8_t *buf, size_t cap, const struct osap_addr_grant *g);

/**
 * Decode an address grant filling exactly @p len octets; for IPv4 the
 * unused addr[4..15] are zero.
 * @return 0, -EMSGSIZE (length not that of the family), -EINVAL (as for the
 *         encoder).
 */
int osap_decode_addr_grant(const uint8_t *buf, size_t len, struct osap_addr_grant *g);

#endif
