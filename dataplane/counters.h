/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_COUNTERS_H
#define TERN_DATAPLANE_COUNTERS_H

/*
 * Every counter of the data plane, one table: the per-frame fates of
 * proto/net.h (FOREACH_NET_FATE) followed by what happens to a frame after
 * classification. Each worker keeps one struct dp_counters per port, written
 * only by that worker (counted in locals, published once per burst); the
 * control plane sums them. Names are what `ternctl stats` and telemetry show.
 */

#include <stdint.h>

#include "proto/coap.h"
#include "proto/mqttsn.h"
#include "proto/net.h"

#define FOREACH_DP_CNT(_) \
	_(RX_PACKETS,      "rx_packets",      "frames received from the port") \
	_(RX_BYTES,        "rx_bytes",        "bytes received from the port") \
	_(TX_PACKETS,      "tx_packets",      "frames sent on the port") \
	_(TX_BYTES,        "tx_bytes",        "bytes sent on the port") \
	_(TX_REFUSED,      "tx_refused",      "frames the port's TX queue refused (freed)") \
	_(REPLY_FAILED,    "reply_failed",    "replies that could not be built (no room in the buffer)") \
	_(UDP_UNHANDLED,   "udp_unhandled",   "UDP datagrams to a port no protocol node serves (passed to the host stack)") \
	_(EXC_TX,          "exc_tx",          "frames handed to the exception interface (host stack)") \
	_(EXC_TX_REFUSED,  "exc_tx_refused",  "frames the exception interface refused (freed)") \
	_(EXC_NONE,        "exc_none",        "frames for the host stack dropped: the port has no exception interface") \
	_(EXC_RX,          "exc_rx",          "frames from the host stack, sent out the port") \
	_(STEER_OUT,       "steer_out",       "datagrams handed to the worker that owns their flow") \
	_(STEER_IN,        "steer_in",        "datagrams received from another worker's steering") \
	_(STEER_REFUSED,   "steer_refused",   "datagrams dropped: the owning worker's ring was full") \
	_(DTLS_IN,         "dtls_in",         "datagrams to a DTLS port handed to the control plane") \
	_(DTLS_IN_REFUSED, "dtls_in_refused", "datagrams to a DTLS port dropped: the control plane's ring was full") \
	_(DTLS_DECRYPTED,  "dtls_decrypted",  "decrypted DTLS messages from the control plane, handed to their node") \
	_(DTLS_OUT,        "dtls_out",        "messages to DTLS peers handed to the control plane to encrypt") \
	_(DTLS_OUT_REFUSED, "dtls_out_refused", "messages to DTLS peers dropped: the control plane's ring was full") \
	_(DTLS_TX,         "dtls_tx",         "DTLS records from the control plane sent out the port")

/*
 * The MQTT-SN node's own counters (docs/mqttsn.md); per message type
 * received and sent, and per decode error, come from proto/mqttsn.h's tables.
 */
#define FOREACH_MQTTSN_CNT(_) \
	_(MQTTSN_SESSIONS,     "mqttsn_sessions",     "MQTT-SN sessions created (CONNECT from a new client address)") \
	_(MQTTSN_GONE,         "mqttsn_gone",         "MQTT-SN clients that sent DISCONNECT, and sessions ended by a clean CONNECT or mqttsn.kick") \
	_(MQTTSN_LOST,         "mqttsn_lost",         "MQTT-SN clients lost: keep-alive expired or retransmissions exhausted") \
	_(MQTTSN_NO_SESSION,   "mqttsn_no_session",   "MQTT-SN messages from an address with no session (dropped)") \
	_(MQTTSN_BAD_PROTO,    "mqttsn_bad_proto",    "CONNECT with a protocol id other than 0x01 (dropped)") \
	_(MQTTSN_BAD_CLIENT_ID, "mqttsn_bad_client_id", "CONNECT with a client id longer than 23 bytes (rejected)") \
	_(MQTTSN_TOO_BIG,      "mqttsn_too_big",      "MQTT-SN messages larger than mqttsn.max_message_size (dropped)") \
	_(MQTTSN_CONGESTION,   "mqttsn_congestion",   "requests refused with 'rejected: congestion' (a limit was hit)") \
	_(MQTTSN_INVALID_TOPIC, "mqttsn_invalid_topic", "requests refused with 'rejected: invalid topic ID' (unknown id or bad name)") \
	_(MQTTSN_NOT_SUPPORTED, "mqttsn_not_supported", "requests refused with 'rejected: not supported'") \
	_(MQTTSN_UNEXPECTED,   "mqttsn_unexpected",   "MQTT-SN messages a gateway does not expect from a client (dropped)") \
	_(MQTTSN_PUBLISHED,    "mqttsn_published",    "publications accepted for routing") \
	_(MQTTSN_DELIVERED,    "mqttsn_delivered",    "PUBLISH messages sent to subscribers") \
	_(MQTTSN_DELIVER_FAILED, "mqttsn_deliver_failed", "deliveries dropped: no buffer, or the subscriber's in-flight window was full") \
	_(MQTTSN_FORWARDED,    "mqttsn_forwarded",    "publications handed to another worker's subscribers") \
	_(MQTTSN_RETRANSMIT,   "mqttsn_retransmit",   "REGISTER and QoS 1 PUBLISH retransmissions to clients") \
	_(MQTTSN_OPS_FAILED,   "mqttsn_ops_failed",   "requests the worker could not hand to the control plane (refused with congestion)") \
	_(MQTTSN_SLEEPS,       "mqttsn_sleeps",       "clients that went to sleep (DISCONNECT with a duration)") \
	_(MQTTSN_WAKES,        "mqttsn_wakes",        "sleeping clients' wake-ups (PINGREQ with their client id)") \
	_(MQTTSN_SLEEP_DROPPED, "mqttsn_sleep_dropped", "publications for a sleeping client dropped: its buffer (max_sleep_buffer) was full") \
	_(MQTTSN_WILLS,        "mqttsn_wills",        "wills published for lost clients") \
	_(MQTTSN_KEPT,         "mqttsn_kept",         "sessions kept (CleanSession false) for a client that disconnected or was lost") \
	_(MQTTSN_EXPIRED,      "mqttsn_expired",      "kept sessions removed: their client did not come back within session_expiry") \
	_(MQTTSN_DENIED,       "mqttsn_denied",       "PUBLISH, SUBSCRIBE and will topics the access rules refused ('rejected: not supported')") \
	_(MQTTSN_TAKEOVERS,    "mqttsn_takeovers",    "sessions taken over by a CONNECT with the same client id from another address") \
	_(MQTTSN_TAKEN,        "mqttsn_taken",        "sessions ended because their client id connected from another address") \
	_(MQTTSN_ENCAP_RX,     "mqttsn_encap_rx",     "messages received from forwarders (encapsulated, spec 5.5)") \
	_(MQTTSN_ENCAP_TX,     "mqttsn_encap_tx",     "messages sent to clients through their forwarder") \
	_(MQTTSN_ENCAP_BAD,    "mqttsn_encap_bad",    "encapsulated messages dropped: wireless node id longer than 16 bytes") \
	_(MQTTSN_DTLS_NEW_IDENTITY, "mqttsn_dtls_new_identity", "sessions ended because a new DTLS session from their address and port proved another identity") \
	_(OSAP_SESSIONS, "osap_sessions", "OSAP sessions established: an admitted DevID's CONNECT accepted and its session key installed") \
	_(OSAP_CONNECT_REFUSED, "osap_connect_refused", "CONNECTs refused with 'rejected: not supported': no admission (mqttsn.admission osap), admission bound to another source, or replaced or revoked meanwhile") \
	_(OSAP_EXPIRED, "osap_expired", "CONNECTs refused with 'rejected: not supported': the admission expired (connect window passed unbound, or key lifetime over)") \
	_(OSAP_KEY_EXPIRED, "osap_key_expired", "OSAP sessions ended (DISCONNECT sent) because their session key's lifetime was over") \
	_(OSAP_ENDED, "osap_ended", "sessions ended by the access node: admission revoked, or a plain session holding a client id that was then admitted") \
	_(OSAP_OPENED, "osap_opened", "sealed PUBLISH payloads from OSAP devices opened and routed as plaintext") \
	_(OSAP_BAD_SEAL, "osap_bad_seal", "sealed PUBLISH payloads dropped: too short, wrong direction, counter 0, wrong key or modified (QoS 1/2: PUBACK 'rejected: not supported')") \
	_(OSAP_REPLAY, "osap_replay", "sealed PUBLISH payloads dropped as replays: counter seen before or older than the window (QoS 1/2 still acknowledged)") \
	_(OSAP_SEALED, "osap_sealed", "PUBLISH payloads sealed for OSAP subscribers") \
	_(OSAP_SEAL_TOO_BIG, "osap_seal_too_big", "deliveries to OSAP subscribers dropped: the sealed message (28 octets more) exceeds max_message_size or a buffer") \
	_(OSAP_STALE, "osap_stale", "publications for an OSAP device dropped: built for a key it no longer has (new admission), or its key not installed yet")

/* The CoAP node's counters (docs/coap.md): name, description. */
#define FOREACH_COAP_CNT(_) \
	_(COAP_RX,             "coap_rx",             "CoAP datagrams received") \
	_(COAP_REQUESTS,       "coap_requests",       "CoAP requests handled (duplicates not counted)") \
	_(COAP_DUPLICATES,     "coap_duplicates",     "CoAP requests seen before (same message id): answered again, not handled again") \
	_(COAP_PINGS,          "coap_pings",          "CoAP pings (empty CON), answered with RST") \
	_(COAP_UNEXPECTED,     "coap_unexpected",     "CoAP messages the node did not expect: ACK/RST to nothing it sent, responses, empty NON (a CON is answered with RST)") \
	_(COAP_BAD_OPTION,     "coap_bad_option",     "CoAP requests with an unknown critical option: 4.02") \
	_(COAP_PROXY,          "coap_proxy",          "CoAP requests for a proxy (Proxy-Uri, Proxy-Scheme): 5.05") \
	_(COAP_NOT_FOUND,      "coap_not_found",      "CoAP requests for a path that is no resource or no topic: 4.04 (or 4.00 for a bad topic name)") \
	_(COAP_TOO_BIG,        "coap_too_big",        "CoAP requests or Block1 uploads too large: 4.13 with Size1") \
	_(COAP_BAD_FORMAT,    "coap_bad_format",     "CoAP requests in a Content-Format the resource does not take (a topic's topic-content-format, topic properties not CBOR): 4.15; an Accept the value is not in: 4.06") \
	_(COAP_PRECONDITION,  "coap_precondition",   "CoAP PUT/POST whose If-Match or If-None-Match did not hold: 4.12") \
	_(COAP_INCOMPLETE,     "coap_incomplete",     "Block1 blocks out of order or for no upload (4.08), and uploads left unfinished") \
	_(COAP_BLOCK1,         "coap_block1",         "Block1 uploads completed and published") \
	_(COAP_LIMIT,          "coap_limit",          "CoAP requests refused at a limit (observers, endpoints): 5.03 with Max-Age; a topic's max-subscribers: the value without Observe") \
	_(COAP_RATE_LIMITED,   "coap_rate_limited",   "CoAP requests over the peer's rate_limit: 4.29 with Max-Age 1 (CON) or dropped (NON)") \
	_(COAP_NO_ENDPOINT,    "coap_no_endpoint",    "CoAP requests handled without peer state (max_endpoints reached): no de-duplication") \
	_(COAP_OPS_FAILED,     "coap_ops_failed",     "CoAP requests the worker could not hand to the control plane: 5.03") \
	_(COAP_PUBLISHED,      "coap_published",      "publications by CoAP PUT/POST") \
	_(COAP_TOPICS_CREATED, "coap_topics_created", "topics created on the collection with a configuration (POST): 2.01") \
	_(COAP_TOPICS_DELETED, "coap_topics_deleted", "topics deleted through their topic resource (DELETE): 2.02") \
	_(COAP_OBSERVES,       "coap_observes",       "observe registrations asked for") \
	_(COAP_OBS_ENDED,      "coap_obs_ended",      "observations ended (deregistration, RST, failed CON, new registration, topic or value deleted: 4.04)") \
	_(COAP_NOTIFICATIONS,  "coap_notifications",  "notifications sent to observers") \
	_(COAP_NOTIFY_FAILED,  "coap_notify_failed",  "notifications not sent: no buffer") \
	_(COAP_RETRANSMIT,     "coap_retransmit",     "CON notifications sent again (no ACK within the timeout)") \
	_(COAP_CON_FAILED,     "coap_con_failed",     "CON notifications never acknowledged (MAX_RETRANSMIT): the observer is removed") \
	_(COAP_TX_2XX,         "coap_tx_2xx",         "CoAP responses of class 2 (success)") \
	_(COAP_TX_4XX,         "coap_tx_4xx",         "CoAP responses of class 4 (client error)") \
	_(COAP_TX_5XX,         "coap_tx_5xx",         "CoAP responses of class 5 (server error)") \
	_(COAP_TX_EMPTY,       "coap_tx_empty",       "empty CoAP ACKs sent") \
	_(COAP_TX_RST,         "coap_tx_rst",         "CoAP RSTs sent (pings, rejected messages)")

#define FOREACH_MQTTSN_TYPE_CNT(_) \
	FOREACH_MQTTSN_TYPE(_)

enum dp_cnt {
#define DP_NET_ENUM(e, n, d) DP_CNT_NET_##e,
	FOREACH_NET_FATE(DP_NET_ENUM)
#undef DP_NET_ENUM
#define DP_CNT_ENUM(e, n, d) DP_CNT_##e,
	FOREACH_DP_CNT(DP_CNT_ENUM)
	/*
	 * Counters before this one are counted in locals per burst
	 * (worker.c); the protocol nodes' own follow, without a hole.
	 */
	DP_CNT_LOCAL_MAX,
	DP_CNT_LOCAL_LAST_ = DP_CNT_LOCAL_MAX - 1,
	FOREACH_MQTTSN_CNT(DP_CNT_ENUM)
#undef DP_CNT_ENUM
#define DP_MQ_RX_ENUM(e, v, n) DP_CNT_MQTTSN_RX_##e,
	FOREACH_MQTTSN_TYPE(DP_MQ_RX_ENUM)
#undef DP_MQ_RX_ENUM
#define DP_MQ_TX_ENUM(e, v, n) DP_CNT_MQTTSN_TX_##e,
	FOREACH_MQTTSN_TYPE(DP_MQ_TX_ENUM)
#undef DP_MQ_TX_ENUM
#define DP_MQ_ERR_ENUM(e, no, n, d) DP_CNT_MQTTSN_ERR_##e,
	FOREACH_MQTTSN_ERR(DP_MQ_ERR_ENUM)
#undef DP_MQ_ERR_ENUM
#define DP_CNT_ENUM(e, n, d) DP_CNT_##e,
	FOREACH_COAP_CNT(DP_CNT_ENUM)
#undef DP_CNT_ENUM
#define DP_CP_ERR_ENUM(e, n, d) DP_CNT_COAP_ERR_##e,
	FOREACH_COAP_ERR(DP_CP_ERR_ENUM)
#undef DP_CP_ERR_ENUM
	DP_CNT_MAX
};

/* Fate f of proto/net.h is counter dp_cnt f: the table starts with them. */
#define DP_CNT_OF_FATE(f) ((enum dp_cnt)(f))

struct dp_counters {
	uint64_t v[DP_CNT_MAX];
};

/** Counter name ("rx_packets"); NULL if out of range. */
const char *dp_cnt_name(unsigned int i);
/** One-line description of a counter; NULL if out of range. */
const char *dp_cnt_desc(unsigned int i);
/** True for counters that count dropped frames (the sum is "dropped"). */
int dp_cnt_is_drop(unsigned int i);

#endif
