/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_MQTTSN_H
#define TERN_PROTO_MQTTSN_H

/*
 * MQTT-SN v1.2 wire codec (OASIS/IBM "MQTT For Sensor Networks (MQTT-SN)
 * Protocol Specification Version 1.2"): one datagram <-> one struct
 * mqttsn_msg.
 *
 * The decoder never copies: the variable part of a message (client id, topic
 * name, will topic/message, publish data, gateway address, wireless node id)
 * is a (pointer, length) view into the caller's buffer, valid as long as that
 * buffer is. The encoders write into a caller's buffer and return the length
 * written. Nothing allocates; every function is pure and may be called from
 * any thread (workers and control plane alike) on data that thread owns.
 *
 * The byte layout of every message, and every choice made where the
 * specification is loose, is in docs/mqttsn-wire.md. In short:
 *  - a datagram carries exactly one message: the length field must equal the
 *    datagram length (an ENCAPSULATED frame: its header length must fit, and
 *    the inner message's length field must equal the rest of the datagram);
 *  - the 3-octet length form (0x01, length16) is accepted for any length
 *    >= 4, also below 256; the encoder uses it only when the total exceeds 255;
 *  - flags bits the specification calls "not relevant" for a message type
 *    are kept as received and not checked; values it reserves or forbids
 *    (return codes > 3, topic id type 3, QoS -1 outside PUBLISH, QoS -1 with a
 *    normal topic id, encapsulation control bits 2-7) are errors;
 *  - CONNECT's protocol id is reported, not checked: the node decides.
 *
 * Errors are negative errno-style codes (tern_strerror() in proto/errcode.h
 * has their text), one class per kind of fault:
 *  -EMSGSIZE         lengths: datagram too short, length field vs datagram,
 *                    a message shorter or longer than its type allows
 *  -EPROTONOSUPPORT  unknown or reserved message type
 *  -EINVAL           a field value the specification forbids
 * and the decoder also names the precise reason (enum mqttsn_err, a counter
 * each) in struct mqttsn_msg.err.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- message types ---- */

/*
 * Every v1.2 message type: enum suffix, MsgType value, counter name. Order is
 * the wire order and the counter order (mqttsn_type_index()).
 */
#define FOREACH_MQTTSN_TYPE(_) \
	_(ADVERTISE,     0x00, "advertise") \
	_(SEARCHGW,      0x01, "searchgw") \
	_(GWINFO,        0x02, "gwinfo") \
	_(CONNECT,       0x04, "connect") \
	_(CONNACK,       0x05, "connack") \
	_(WILLTOPICREQ,  0x06, "willtopicreq") \
	_(WILLTOPIC,     0x07, "willtopic") \
	_(WILLMSGREQ,    0x08, "willmsgreq") \
	_(WILLMSG,       0x09, "willmsg") \
	_(REGISTER,      0x0a, "register") \
	_(REGACK,        0x0b, "regack") \
	_(PUBLISH,       0x0c, "publish") \
	_(PUBACK,        0x0d, "puback") \
	_(PUBCOMP,       0x0e, "pubcomp") \
	_(PUBREC,        0x0f, "pubrec") \
	_(PUBREL,        0x10, "pubrel") \
	_(SUBSCRIBE,     0x12, "subscribe") \
	_(SUBACK,        0x13, "suback") \
	_(UNSUBSCRIBE,   0x14, "unsubscribe") \
	_(UNSUBACK,      0x15, "unsuback") \
	_(PINGREQ,       0x16, "pingreq") \
	_(PINGRESP,      0x17, "pingresp") \
	_(DISCONNECT,    0x18, "disconnect") \
	_(WILLTOPICUPD,  0x1a, "willtopicupd") \
	_(WILLTOPICRESP, 0x1b, "willtopicresp") \
	_(WILLMSGUPD,    0x1c, "willmsgupd") \
	_(WILLMSGRESP,   0x1d, "willmsgresp") \
	_(ENCAPSULATED,  0xfe, "encapsulated")

enum mqttsn_type {
#define MQTTSN_TYPE_ENUM(e, v, n) MQTTSN_##e = v,
	FOREACH_MQTTSN_TYPE(MQTTSN_TYPE_ENUM)
#undef MQTTSN_TYPE_ENUM
};

/** Number of message types in FOREACH_MQTTSN_TYPE (size of a per-type counter array). */
#define MQTTSN_NTYPES 28

/** Counter name of a MsgType value ("publish"); NULL for an unknown type. */
const char *mqttsn_type_name(unsigned int type);

/**
 * Dense index 0..MQTTSN_NTYPES-1 of a MsgType value, in FOREACH_MQTTSN_TYPE
 * order, for per-type counter arrays; -1 for an unknown type.
 */
int mqttsn_type_index(unsigned int type);

/* ---- flags (one octet, spec 5.3.4) ---- */

#define MQTTSN_FLAG_DUP           0x80
#define MQTTSN_FLAG_QOS_MASK      0x60
#define MQTTSN_FLAG_QOS_SHIFT     5
#define MQTTSN_FLAG_RETAIN        0x10
#define MQTTSN_FLAG_WILL          0x08
#define MQTTSN_FLAG_CLEAN         0x04
#define MQTTSN_FLAG_TOPIC_MASK    0x03

/** The flags bits for QoS @p q, -1..2 (-1 is coded 3). */
#define MQTTSN_FLAG_QOS(q)        ((uint8_t)(((unsigned int)(q) & 3u) << MQTTSN_FLAG_QOS_SHIFT))

/** QoS in a flags octet: -1, 0, 1 or 2. */
static inline int
mqttsn_flags_qos(uint8_t flags)
{
	int q = (flags & MQTTSN_FLAG_QOS_MASK) >> MQTTSN_FLAG_QOS_SHIFT;

	return q == 3 ? -1 : q;
}

/* TopicIdType, flags bits 0-1. 3 is reserved. */
enum mqttsn_topic_type {
	MQTTSN_TOPIC_NORMAL = 0,      /* a registered topic id (or a topic name in SUBSCRIBE) */
	MQTTSN_TOPIC_PREDEFINED = 1,  /* a predefined topic id */
	MQTTSN_TOPIC_SHORT = 2,       /* a two-character short topic name */
};

/** A short topic name's two characters as they sit in the TopicId field. */
#define MQTTSN_SHORT_TOPIC(a, b)  ((uint16_t)((uint8_t)(a) << 8 | (uint8_t)(b)))

/* ReturnCode values; 0x04-0xff are reserved. */
enum mqttsn_rc {
	MQTTSN_RC_ACCEPTED = 0,
	MQTTSN_RC_CONGESTION = 1,
	MQTTSN_RC_INVALID_TOPIC_ID = 2,
	MQTTSN_RC_NOT_SUPPORTED = 3,
};

/** The only ProtocolId of CONNECT the specification defines. */
#define MQTTSN_PROTOCOL_ID 0x01

/** Client ids longer than this break the spec's 1-23 rule (not enforced here). */
#define MQTTSN_CLIENT_ID_SPEC_MAX 23

/* Encapsulation Ctrl octet: bits 0-1 broadcast radius, bits 2-7 reserved. */
#define MQTTSN_CTRL_RADIUS_MASK   0x03

/** Largest message (the 3-octet length form's limit). */
#define MQTTSN_MAX_LEN            65535
/** Largest wireless node id: the encapsulation length is one octet. */
#define MQTTSN_NODE_ID_MAX        252
/** Largest PUBLISH header (3-octet length form). */
#define MQTTSN_PUBLISH_HDR_MAX    9

/* ---- decode errors ---- */

/*
 * Every reason mqttsn_decode() refuses a datagram: enum suffix, errno class,
 * counter name, description. Order is the counter order.
 */
#define FOREACH_MQTTSN_ERR(_) \
	_(SHORT,      EMSGSIZE, "err_short", \
	  "datagram too short to hold a length and a type field") \
	_(LENGTH,     EMSGSIZE, "err_length", \
	  "length field differs from the datagram length or is smaller than its header") \
	_(TRUNCATED,  EMSGSIZE, "err_truncated", \
	  "message shorter than the fixed part of its type") \
	_(TRAILING,   EMSGSIZE, "err_trailing", \
	  "message longer than its type allows") \
	_(TYPE,       EPROTONOSUPPORT, "err_type", \
	  "unknown or reserved message type") \
	_(RESERVED,   EINVAL,   "err_reserved", \
	  "reserved value: return code above 3 or encapsulation control bits 2-7") \
	_(TOPIC_TYPE, EINVAL,   "err_topic_type", \
	  "topic id type 3, or QoS -1 with a normal topic id") \
	_(QOS,        EINVAL,   "err_qos", \
	  "QoS -1 in a message other than PUBLISH") \
	_(EMPTY,      EINVAL,   "err_empty", \
	  "empty client id, topic name or will topic where one is required") \
	_(ENCAP_FORM, EINVAL,   "err_encap_form", \
	  "encapsulation header with the 3-octet length form") \
	_(NESTED,     EINVAL,   "err_nested", \
	  "encapsulated message inside an encapsulated message")

enum mqttsn_err {
	MQTTSN_ERR_NONE = 0,
#define MQTTSN_ERR_ENUM(e, no, n, d) MQTTSN_ERR_##e,
	FOREACH_MQTTSN_ERR(MQTTSN_ERR_ENUM)
#undef MQTTSN_ERR_ENUM
	MQTTSN_ERR_MAX
};

/** Counter name of a decode error ("err_length"; "ok" for NONE); NULL if out of range. */
const char *mqttsn_err_name(enum mqttsn_err e);
/** One-line description of a decode error; NULL if out of range. */
const char *mqttsn_err_desc(enum mqttsn_err e);
/** The negative errno-style code mqttsn_decode() returns for @p e (0 for NONE). */
int mqttsn_err_code(enum mqttsn_err e);

/* ---- the message ---- */

/* Bytes of a variable-length field: a view, never a copy. */
struct mqttsn_view {
	const uint8_t *p;   /* may be NULL when len is 0 */
	size_t len;
};

/*
 * One message. Which fields a type uses (the decoder sets exactly these and
 * zeroes the rest; the encoder reads exactly these):
 *
 *   ADVERTISE     gw_id, duration            SEARCHGW      radius
 *   GWINFO        gw_id, gw_addr (may be empty)
 *   CONNECT       flags, protocol_id, duration, client_id (non-empty)
 *   CONNACK, WILLTOPICRESP, WILLMSGRESP      return_code
 *   WILLTOPIC, WILLTOPICUPD  flags, will_topic; empty will_topic = the 2-octet
 *                 "delete the will" form, whose flags are 0
 *   WILLMSG, WILLMSGUPD      will_msg (may be empty)
 *   REGISTER      topic_id, msg_id, topic_name (non-empty)
 *   REGACK, PUBACK           topic_id, msg_id, return_code
 *   PUBLISH       flags, topic_id, msg_id, data (may be empty)
 *   PUBCOMP, PUBREC, PUBREL, UNSUBACK        msg_id
 *   SUBSCRIBE, UNSUBSCRIBE   flags, msg_id, and by flags' topic id type:
 *                 NORMAL topic_name (non-empty), PREDEFINED/SHORT topic_id
 *   SUBACK        flags, topic_id, msg_id, return_code
 *   PINGREQ       client_id (empty = absent)
 *   DISCONNECT    has_duration, duration
 *   WILLTOPICREQ, WILLMSGREQ, PINGRESP       nothing
 *
 * client_id, topic_name, will_topic, will_msg, data and gw_addr name the same
 * view (a message has at most one variable part).
 *
 * Encapsulation (spec 5.5): a datagram of type ENCAPSULATED decodes into the
 * inner message's fields, type included, with encap.present set, encap.ctrl
 * and encap.node_id from the encapsulation header and encap.inner the inner
 * message's bytes; so the node handles an encapsulated PUBLISH as a PUBLISH
 * and wraps its answer with the same node id. msg.type is never ENCAPSULATED.
 */
struct mqttsn_msg {
	uint8_t type;           /* enum mqttsn_type */
	uint8_t flags;          /* MQTTSN_FLAG_*, as on the wire */
	uint8_t return_code;    /* enum mqttsn_rc */
	uint8_t protocol_id;    /* CONNECT: reported, not checked */
	uint8_t gw_id;
	uint8_t radius;         /* SEARCHGW */
	bool has_duration;      /* DISCONNECT: duration present */
	uint8_t err;            /* decode: enum mqttsn_err, 0 on success */
	uint16_t duration;      /* seconds (ADVERTISE, CONNECT, DISCONNECT) */
	uint16_t topic_id;      /* or a short topic name, MQTTSN_SHORT_TOPIC() */
	uint16_t msg_id;
	union {
		struct mqttsn_view client_id, topic_name, will_topic, will_msg, data, gw_addr;
	};
	struct {
		bool present;
		uint8_t ctrl;               /* radius in bits 0-1, others 0 */
		struct mqttsn_view node_id; /* wireless node id, may be empty */
		struct mqttsn_view inner;   /* decode only: the inner message's bytes */
	} encap;
};

/* ---- decoding ---- */

/**
 * Decode the one MQTT-SN message in a datagram.
 *
 * @param buf  the UDP payload; the views in @p m point into it
 * @param len  its length
 * @param m    filled in (zeroed first); on error only m->err is meaningful
 * @return 0, or -EMSGSIZE, -EPROTONOSUPPORT or -EINVAL (see the file
 *         comment); m->err names the reason. Reads at most @p len bytes.
 *         Checks in this order: header (SHORT, LENGTH), type, then the
 *         type's fixed part and field values.
 */
int mqttsn_decode(const uint8_t *buf, size_t len, struct mqttsn_msg *m);

/**
 * The MsgType of a datagram without decoding it: octet 1, or octet 3 after a
 * 0x01 length marker (ENCAPSULATED for an encapsulated message). Checks
 * nothing but that the octet exists.
 * @return the type (0..255), or -EMSGSIZE if @p len is too short.
 */
static inline int
mqttsn_peek_type(const uint8_t *buf, size_t len)
{
	if (len >= 2 && buf[0] != 0x01)
		return buf[1];
	if (len >= 4 && buf[0] == 0x01)
		return buf[3];
	return -EMSGSIZE;
}

/* ---- encoding ---- */

/**
 * Length mqttsn_encode() would write for @p m, encapsulation included.
 * @return the length, or -EINVAL (a field value the decoder would refuse,
 *         or an unknown type) or -EMSGSIZE (longer than 65535, or a node id
 *         longer than MQTTSN_NODE_ID_MAX).
 */
int mqttsn_encoded_len(const struct mqttsn_msg *m);

/**
 * Encode @p m into @p buf: the 1-octet length form when the message is at
 * most 255 octets, the 3-octet form otherwise. If m->encap.present, the
 * encapsulation header (m->encap.ctrl, m->encap.node_id) comes first and the
 * message follows it; m->encap.inner is ignored.
 *
 * Whatever this encodes, mqttsn_decode() accepts and decodes back to the
 * same fields.
 * @return bytes written, or -ENOSPC if @p cap is too small (nothing useful is
 *         written), -EINVAL, -EMSGSIZE as for mqttsn_encoded_len().
 */
int mqttsn_encode(uint8_t *buf, size_t cap, const struct mqttsn_msg *m);

/**
 * Length of a PUBLISH header (length field, type, flags, topic id, msg id)
 * for @p data_len octets of data: 7, or 9 when the message exceeds 255 octets.
 */
static inline size_t
mqttsn_publish_header_len(size_t data_len)
{
	return data_len + 7 <= 255 ? 7 : 9;
}

/**
 * Encode only the header of a PUBLISH carrying @p data_len octets of data,
 * whose length field covers header and data: the caller sends the data right
 * after it (for the router: a small per-subscriber header mbuf chained to
 * the shared payload).
 * @return the header length (mqttsn_publish_header_len()), -ENOSPC,
 *         -EINVAL (@p flags invalid for PUBLISH: topic id type 3, or QoS -1
 *         with a normal topic id), -EMSGSIZE (message longer than 65535).
 */
int mqttsn_encode_publish_header(uint8_t *buf, size_t cap, uint8_t flags, uint16_t topic_id,
				 uint16_t msg_id, size_t data_len);

/**
 * Encode an encapsulation header (length, 0xFE, @p ctrl, node id) of
 * 3 + @p node_id_len octets; the caller puts an encoded message right after
 * it (to wrap a message already in a buffer, or mqttsn_encode() with
 * m->encap set does both).
 * @return the header length, -ENOSPC, -EINVAL (@p ctrl has reserved bits),
 *         -EMSGSIZE (@p node_id_len > MQTTSN_NODE_ID_MAX).
 */
int mqttsn_encode_encap_header(uint8_t *buf, size_t cap, uint8_t ctrl, const uint8_t *node_id,
			       size_t node_id_len);

#endif
