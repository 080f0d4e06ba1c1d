/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_MQTTSN_PRIV_H
#define TERN_DATAPLANE_MQTTSN_PRIV_H

/*
 * The MQTT-SN node: gateway and broker in one (docs/mqttsn.md).
 *
 * Sessions are owned by the worker the client's flow lands on (RSS or
 * software steering, worker.c); a session lives in that worker's table and
 * nothing else writes it. The topic table (topic_table.h) has one writer,
 * the control plane: what changes it (REGISTER of a new name, SUBSCRIBE,
 * UNSUBSCRIBE, a session that ends) travels as a struct mq_op on the ops
 * ring to the main lcore, which applies it and hands it back on the
 * worker's done ring; the worker then answers the client. Publishing reads
 * the table only: the topic id resolves through the session's id table to
 * the topic node, whose delivery set lists the subscribers by owning worker.
 * The publishing worker serves its own run and hands the payload mbuf (one
 * reference per worker, its metadata in the mbuf's private area) to every
 * other worker with a run, on that worker's delivery ring; each builds a
 * small header mbuf per subscriber chained to the shared payload (an
 * indirect mbuf). A payload of up to MQ_COPY_MAX bytes is copied into the
 * header mbuf instead: the copy costs a few instructions, the indirect mbuf
 * an allocation, an attach and, when it is sent, a detach whose atomic
 * decrement of the shared mbuf's reference count every worker contends for.
 *
 * In place: when the publishing worker is the only one with subscribers
 * and holds the only reference to the received frame, its last subscriber
 * gets the frame itself: the new headers are written in front of the
 * payload, where the received ones were (mq_route()), so the commonest
 * case, one subscriber, allocates and attaches nothing.
 *
 * Headers: each session keeps a template of its client's Ethernet, IP and
 * UDP headers (and, through a forwarder, the encapsulation), with the sums
 * of their fixed parts (struct net_udp_tpl), rebuilt when the client's
 * address, MAC or VLAN changes (mq_sess_set_peer()): a frame to the client
 * is a copy, its lengths and two checksums.
 *
 * Timers: each iteration a worker looks at a few sessions (a cursor over its
 * table) for keep-alive expiry and due retransmissions, so the cost per
 * iteration is bounded and a full sweep takes a few milliseconds.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/dp_priv.h"
#include "dataplane/topic_table.h"
#include "proto/acl.h"
#include "proto/mqttsn.h"
#include "proto/net.h"
#include "proto/osap_crypto.h"

#define MQ_SCAN_PER_POLL 4
#define MQ_RING 1024
/* Payloads up to this size are copied into each subscriber's frame, not shared. */
#define MQ_COPY_MAX 128

/* Wireless node ids (spec 5.5) longer than this are dropped and counted. */
#define MQ_WNID_MAX 16

/*
 * A client's address: the session table's key (8-byte aligned: hashed by
 * words). A client behind a forwarder (spec 5.5) is the forwarder's address
 * and its wireless node id.
 */
struct mq_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t v6;
	uint8_t pidx;
	uint8_t wnid_len;         /* 0: not through a forwarder */
	uint8_t rsvd;
	uint16_t lport;           /* the port it sends to: plain, or DTLS through the control plane */
	uint8_t wnid[MQ_WNID_MAX];
} __rte_aligned(8);

/* Bytes of the encapsulation header before each message to the client of @p k. */
static inline size_t
mq_encap_len(const struct mq_key *k)
{
	return k->wnid_len ? 3u + k->wnid_len : 0;
}

enum mq_out_kind {
	MQ_OUT_FREE = 0,
	MQ_OUT_REGISTER,   /* a gateway REGISTER waiting for its REGACK */
	MQ_OUT_HOLD,       /* a PUBLISH waiting for its topic id's REGACK */
	MQ_OUT_QOS1,       /* a QoS 1 PUBLISH waiting for its PUBACK */
	MQ_OUT_QOS2_PUB,   /* a QoS 2 PUBLISH waiting for its PUBREC */
	MQ_OUT_QOS2_REL,   /* our PUBREL waiting for its PUBCOMP */
};

/* Kinds that wait for an answer and are retransmitted until they get it. */
static inline bool
mq_out_retransmits(uint8_t kind)
{
	return kind == MQ_OUT_REGISTER || kind == MQ_OUT_QOS1 || kind == MQ_OUT_QOS2_PUB ||
	       kind == MQ_OUT_QOS2_REL;
}

/* One unacknowledged message to a client; we hold a reference to @c pkt. */
struct mq_out {
	uint8_t kind;
	uint8_t tries;
	uint8_t qos;          /* HOLD: the QoS it goes out with */
	uint8_t tt;           /* PUBLISH: topic id type (MQTTSN_TOPIC_NORMAL, _PREDEFINED) */
	uint16_t msg_id;
	uint16_t topic_id;
	uint64_t deadline;    /* TSC; REGISTER and QOS1 */
	struct rte_mbuf *pkt;
};

enum mq_connect_stage {
	MQ_CONNECT_DONE = 0,
	MQ_CONNECT_CLAIM,         /* the client id is being claimed (a takeover?) */
	MQ_CONNECT_WILLTOPIC,     /* WILLTOPICREQ sent, waiting for WILLTOPIC */
	MQ_CONNECT_WILLMSG,       /* WILLMSGREQ sent, waiting for WILLMSG */
};

/* A session's state: the client states of spec 6.14 (mqttsn.clients shows them). */
enum mq_state {
	MQ_FREE = 0,
	MQ_ACTIVE,
	MQ_ASLEEP,        /* DISCONNECT with a duration: publications are buffered */
	MQ_AWAKE,         /* PINGREQ from asleep: buffered ones go out, then PINGRESP */
	MQ_DISCONNECTED,  /* DISCONNECT, CleanSession false: kept, publications buffered */
	MQ_LOST,          /* lost, CleanSession false: kept, publications buffered */
};

/* States in which publications wait in the sleep buffer. */
static inline bool
mq_state_buffers(uint8_t state)
{
	return state == MQ_ASLEEP || state == MQ_DISCONNECTED || state == MQ_LOST;
}

/* States of a session kept for a client that is gone (only CONNECT revives it). */
static inline bool
mq_state_kept(uint8_t state)
{
	return state == MQ_DISCONNECTED || state == MQ_LOST;
}

struct mq_sess {
	uint32_t gen;             /* bumped when the slot is freed */
	uint8_t state;
	uint8_t client_id_len;
	uint16_t keepalive;       /* seconds; 0 = none */
	/*
	 * Slots of out[] whose kind retransmits (mq_out_retransmits()): never
	 * fewer than there are, so the timer scan skips a session with none
	 * (mq_out_wait(), mq_out_done(); the scan recounts).
	 */
	uint16_t nb_wait;
	uint64_t expire;          /* TSC; 0 = never */
	uint64_t silence_tsc;     /* keep-alive (or, asleep, sleep duration) with tolerance */
	uint16_t pidx;
	uint16_t next_msg_id;
	uint16_t nb_ids;          /* ids 1..nb_ids are assigned */
	uint16_t nb_subs;
	uint16_t nb_subs_pending; /* SUBSCRIBEs with the control plane, not answered yet */
	struct net_peer peer;     /* set with mq_sess_set_peer() (the template follows it) */
	struct mq_key key;
	struct net_udp_tpl tpl;   /* headers to the peer, encapsulation included; len 0: none */
	char client_id[MQTTSN_CLIENT_ID_SPEC_MAX + 1];
	struct topic **ids;       /* [max_registered_ids]: id i+1 -> node */
	uint8_t *id_ready;        /* [max_registered_ids]: 1 once the client knows the id */
	struct mq_out *out;       /* [max_inflight] */
	uint16_t *qos2_in;        /* [max_inflight]: QoS 2 msg ids received, awaiting PUBREL */
	struct mq_out *sleepq;    /* [max_sleep_buffer]: publications kept while asleep */
	/*
	 * The will (spec 6.3): published when the client is lost, not on a
	 * clean DISCONNECT. will holds the topic then the message.
	 */
	uint8_t connect_stage;    /* MQ_CONNECT_*: where the CONNECT handshake is */
	bool connect_will;        /* the CONNECT being handled asked for a will */
	bool clean;               /* CleanSession of its CONNECT */
	bool claimed;             /* the control plane maps our client id to us */
	bool osap;                /* an OSAP device's: PUBLISH data sealed (mq_worker.osap) */
	uint8_t will_flags;       /* QoS and RETAIN of the will */
	uint16_t will_topic_len;  /* 0: no will */
	uint16_t will_msg_len;
	uint8_t *will;            /* [max_message_size] */
	uint16_t nb_sleep;
	uint16_t sleep_duration;  /* seconds, while asleep */
	/* over DTLS: the peer's authenticated identity, what access rules see; NULL: plain */
	struct mq_ident *ident;
	/* the last access verdict for a PUBLISH (mq_access_publish) */
	bool acl_ok;
	uint32_t acl_gen;
	const struct topic *acl_node;
};

/* A DTLS peer's identity (dp_dtls_identity()), per session slot (mq_worker.ident). */
struct mq_ident {
	uint8_t len;
	char s[DP_DTLS_IDENTITY_MAX];
};

/*
 * An OSAP session's key state (osap_access.c), in a per-worker array beside
 * the sessions (mq_worker.osap[slot]), so a plain session carries none of it.
 */
struct mq_osap {
	uint8_t key[OSAP_KEY_LEN];
	uint32_t gen;             /* admission generation of the key; 0: none installed */
	uint32_t pending_gen;     /* the admission the CONNECT being claimed presented */
	uint64_t key_expire;      /* TSC: the session ends then */
	uint64_t down;            /* the last DOWN counter used under this key */
	struct osap_replay up;    /* UP counters accepted under this key */
};

/* Per worker. */
struct mq_worker {
	struct rte_hash *by_addr;     /* struct mq_key -> slot */
	struct mq_sess *sess;         /* [nb_slots] */
	uint32_t *free;               /* stack of free slots: [0, nb_slots - nb_active) */
	uint32_t nb_slots;
	uint32_t nb_active;
	uint32_t scan;                /* timer cursor */
	struct rte_ring *deliv;       /* publications from other workers */
	struct rte_ring *done;        /* ops back from the control plane */
	const struct mq_key *rx_key;  /* the datagram being handled: its sender */
	const char *rx_ident;         /* and its DTLS identity (rx_ident_len octets) */
	size_t rx_ident_len;
	struct mq_ident *ident;       /* [nb_slots] with DTLS (mq_dtls_init()); NULL: none */
	/*
	 * A direct-mapped cache in front of by_addr: slot + 1 of the session
	 * last found for a key hashing to each entry (0: none); a hit is
	 * checked against the session's own key and state.
	 */
	uint32_t *cache;
	uint32_t cache_mask;
	struct dp_txbuf fwd[DP_MAX_WORKERS];   /* publications for other workers */
	/* OSAP devices (osap_access.c): cold, touched only for sessions with s->osap */
	struct mq_osap *osap;         /* [nb_slots] */
	struct osap_aead *aead;       /* this worker's AES-GCM context: no allocation per packet */
	uint32_t nb_osap;             /* sessions with a key installed (dp_mqttsn_load()) */
};

enum mq_op_kind {
	MQ_OP_REGISTER,       /* find or create a topic, answer REGACK */
	MQ_OP_SUBSCRIBE,      /* answer SUBACK */
	MQ_OP_UNSUBSCRIBE,    /* answer UNSUBACK */
	MQ_OP_FORGET,         /* a session ended: drop its subscriptions; no answer */
	MQ_OP_RETAIN,         /* set (or, empty, delete) a topic's retained message; no answer */
	MQ_OP_WILL,           /* a lost client's will: create the topic, retain if asked, and
			       * back to the worker, which routes it */
	/* control plane -> worker (on the done ring), answered on the ops ring */
	MQ_OP_SNAPSHOT,       /* copy the worker's sessions out (mqttsn_info.c) */
	MQ_OP_KICK,           /* end a session (mqttsn_info.c) */
	/*
	 * A CONNECT's client id: the control plane maps client ids to
	 * sessions. If another session has it, the control plane sends a
	 * TAKE to that session's worker, which ends it (copying its topic ids
	 * into the op unless the CONNECT is clean) and hands back TAKEN; the
	 * control plane moves the subscriptions to the new session (or drops
	 * them) and answers the CLAIM. The new worker then goes on with the
	 * CONNECT: so a client that comes back from a new address or port
	 * (NAT rebinding), on this worker or another, keeps its session.
	 */
	MQ_OP_CLAIM,          /* worker -> control plane -> worker */
	MQ_OP_TAKE,           /* control plane -> the old session's worker */
	MQ_OP_TAKEN,          /* that worker -> control plane */
	MQ_OP_LIST,           /* CoAP: one block of a link-format listing of the topics
			       * (method FETCH: filtered by the topic properties in name) */
	/*
	 * CoAP: a request on a topic resource (draft-ietf-core-coap-pubsub
	 * 2.4.3, 2.5; coap_topics.c): name the topic (empty: a creation on the
	 * collection), then data_len bytes of request payload, method the
	 * request's code, fmt its Content-Format + 1. The answer: rc the
	 * response code (> 0) or -errno, fmt the response's Content-Format + 1,
	 * name the topic to give as Location-Path (name_len 0: none), then
	 * data_len bytes of response payload.
	 */
	MQ_OP_TCONF,
	/* control plane -> worker: end CoAP observer (session, gen) with 4.04 */
	MQ_OP_UNOBSERVE,
	/* control plane -> worker: end session (session, gen) for OSAP (osap_access.c) */
	MQ_OP_OSAP_END,
};

/* Whose op: the answer goes to that node (mq_done() hands CoAP ones on). */
enum mq_proto {
	MQ_PROTO_MQTTSN = 0,
	MQ_PROTO_COAP = 1,
};

/* How a session ends (mq_sess_end). */
enum mq_end {
	MQ_END_GONE,          /* DISCONNECT, kick, CONNECT with clean session */
	MQ_END_LOST,          /* keep-alive expired, retransmissions exhausted: the will goes */
	MQ_END_TAKEN,         /* its client id connected from elsewhere */
	MQ_END_EXPIRED,       /* kept (CleanSession false) and not reclaimed in time */
	MQ_END_REFUSED,       /* its CONNECT was refused (OSAP): counted where refused */
	MQ_END_KEY_EXPIRED,   /* an OSAP session whose key's lifetime is over */
	MQ_END_OSAP_ENDED,    /* admission revoked, or a plain session of an admitted id */
};


/* A request for the topic table's writer, and its answer. */
struct mq_op {
	uint8_t kind;
	uint8_t qos;
	uint8_t wild;         /* SUBSCRIBE/UNSUBSCRIBE: the filter has wildcards */
	uint8_t short_topic;  /* SUBSCRIBE: by a short topic name (SUBACK has no id) */
	uint16_t predef;      /* SUBSCRIBE: by this predefined id (SUBACK carries it) */
	uint16_t worker;
	uint16_t msg_id;
	uint32_t session;
	uint32_t gen;
	int rc;               /* answer: 0 or -errno; SUBSCRIBE: 1 = updated */
	struct topic *node;   /* answer: the topic (REGISTER, exact SUBSCRIBE) */
	uint16_t name_len;
	uint16_t data_len;    /* RETAIN: payload bytes after the name */
	uint16_t nb_retained; /* SUBSCRIBE answer: entries of mq_op_retained() */
	uint8_t data_flags;   /* RETAIN: the QoS it was published with */
	/* CLAIM / TAKE / TAKEN */
	uint8_t clean;        /* the CONNECT asked for a clean session */
	uint8_t taken;        /* answer: a session was taken over */
	uint16_t old_worker;  /* the session that had the client id */
	uint32_t old_session;
	uint32_t old_gen;
	uint16_t nb_ids;      /* topic ids carried over: entries of mq_op_nodes() */
	uint16_t nb_carry;    /* buffered publications carried over: mq_op_carry() */
	uint16_t next_msg_id; /* the old session's, so carried msg ids stay unique */
	uint32_t adm_gen;     /* CLAIM: the admission the CONNECT presented (0: none) */
	struct mq_key src;    /* CLAIM: the client's source, for the admission's binding */
	uint8_t proto;        /* enum mq_proto */
	uint8_t method;       /* CoAP: the request's code (LIST, TCONF) */
	uint16_t fmt;         /* RETAIN, WILL: CoAP Content-Format + 1 (0: unknown) */
	uint8_t coap[48] __rte_aligned(8);   /* CoAP: the request to answer (coap_priv.h) */
	char name[];          /* the topic name or filter (RETAIN: then the payload) */
};

/*
 * A SUBSCRIBE's answer carries the topics whose retained messages the new
 * subscriber gets: node pointers stored after the name, as many as fit.
 */
static inline struct topic **
mq_op_retained(struct mq_op *op)
{
	uintptr_t a = (uintptr_t)(op->name + op->name_len);

	return (struct topic **)((a + 7) & ~(uintptr_t)7);
}

/*
 * The topic ids a taken-over session hands to its successor, in id order:
 * node pointers (64-byte aligned) with bit 0 set when the client knew the id.
 */
static inline uintptr_t *
mq_op_nodes(struct mq_op *op)
{
	return (uintptr_t *)mq_op_retained(op);
}

/* A buffered publication handed from a taken-over session to its successor. */
struct mq_carry {
	struct rte_mbuf *pkt;     /* built for the old address: readdressed on arrival */
	uint16_t topic_id;
	uint16_t msg_id;
	uint8_t qos;
	uint8_t tt;
	uint16_t rsvd;
};

/* The carried publications: after the @p op->nb_ids topic ids. */
static inline struct mq_carry *
mq_op_carry(struct mq_op *op)
{
	return (struct mq_carry *)(mq_op_nodes(op) + op->nb_ids);
}

/* What a payload mbuf carries to the workers that deliver it. */
struct mq_pubmeta {
	struct topic *node;
	uint32_t sum;         /* one's complement sum of the data */
	uint16_t data_off;    /* from the start of the frame */
	uint16_t data_len;
	uint8_t qos;
	uint8_t retain;
	uint16_t fmt;         /* CoAP Content-Format + 1; 0: unknown (MQTT-SN has none) */
};

struct mq_predef;
struct mq_access;

struct mq_global {
	struct dp_mqttsn_params p;
	struct mq_predef *predef;         /* RCU: predefined topic ids (mqttsn_conf.c) */
	struct mq_access *access;         /* RCU: topic access rules; NULL: none */
	uint32_t access_gen;              /* bumped when the rules change */
	struct topic_table *topics;
	struct rte_ring *ops;             /* workers -> control plane */
	struct rte_mempool *op_pool;
	uint32_t op_room;                 /* bytes after struct mq_op in a pool element */
	uint64_t retry_tsc;
	uint16_t out_mask;                /* msg id -> preferred out slot (mq_out_slot()) */
	struct mq_worker *w[DP_MAX_WORKERS];
	/* OSAP admissions (osap_access.c): written by the main lcore, read by workers */
	struct cds_lfht *adm;
	uint32_t nb_adm;                  /* entries in adm (relaxed atomic for readers) */
	uint32_t adm_max;
	uint32_t adm_gen;                 /* the last generation handed out */
};

extern struct mq_global *mq;

static inline struct mq_pubmeta *
mq_meta(struct rte_mbuf *m)
{
	return (struct mq_pubmeta *)rte_mbuf_to_priv(m);
}

/* mqttsn_conf.c: predefined topic ids; readers between quiescent states. */
/** The topic of predefined id @p id, or NULL. */
struct topic *mq_predef_node(uint16_t id);
/** The predefined id of @p node, or 0. */
uint16_t mq_predef_id(const struct topic *node);
/** May the client of @p s (NULL: a QoS -1 sender) do @p op on @p topic? */
bool mq_access_check(const struct mq_sess *s, enum acl_op op, const char *topic, size_t len);
/** May the client of @p s publish to @p node? Remembers the last verdict. */
bool mq_access_publish(struct mq_sess *s, const struct topic *node);
/** At teardown, the workers stopped: free the tables. */
void mq_conf_teardown(void);

/* mqttsn_sess.c */
int mq_sess_setup(unsigned int nb_workers, char *err, size_t errlen);
void mq_sess_teardown(void);
struct mq_sess *mq_sess_find(struct mq_worker *mw, const struct mq_key *k);
struct mq_sess *mq_sess_new(struct dp_worker *w, const struct mq_key *k);
/** mq_sess_set_peer() for a new @p peer: the header template is built again. */
void mq_sess_new_peer(struct mq_sess *s, const struct net_peer *peer);

/* The same return path: all of two peers (struct net_peer has no padding). */
static inline bool
mq_peer_eq(const struct net_peer *a, const struct net_peer *b)
{
	uint64_t x[3], y[3];
	uint32_t x3, y3;
	uint16_t x4, y4;

	RTE_BUILD_BUG_ON(sizeof(*a) != 30);
	memcpy(x, a, 24);
	memcpy(y, b, 24);
	memcpy(&x3, (const uint8_t *)a + 24, 4);
	memcpy(&y3, (const uint8_t *)b + 24, 4);
	memcpy(&x4, (const uint8_t *)a + 28, 2);
	memcpy(&y4, (const uint8_t *)b + 28, 2);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x3 ^ y3) | (uint32_t)(x4 ^ y4)) == 0;
}

/**
 * The client's return path (its last datagram's source); @p s->pidx and
 * @p s->key are set. The header template is built again if the peer changed.
 */
static inline void
mq_sess_set_peer(struct mq_sess *s, const struct net_peer *peer)
{
	if (s->tpl.len == 0 || !mq_peer_eq(&s->peer, peer))
		mq_sess_new_peer(s, peer);
}
void mq_sess_end(struct dp_worker *w, struct mq_sess *s, enum mq_end how);
/**
 * The client is gone (DISCONNECT, or @p lost): a CleanSession-false session
 * is kept for session_expiry (its will, if lost, published), else ended.
 */
void mq_sess_leave(struct dp_worker *w, struct mq_sess *s, bool lost);
/** Awake (spec 6.14): when nothing is left to deliver, PINGRESP and asleep again. */
void mq_awake_check(struct dp_worker *w, struct mq_sess *s);
uint16_t mq_sess_id_of(const struct mq_sess *s, const struct topic *node);
uint16_t mq_sess_id_add(struct mq_sess *s, struct topic *node, bool ready);
uint16_t mq_sess_msg_id(struct mq_sess *s);
/** A free slot of the out window, preferably the one @p msg_id maps to; NULL if none. */
struct mq_out *mq_out_slot(struct mq_sess *s, uint16_t msg_id);
struct mq_out *mq_out_find(struct mq_sess *s, uint8_t kind, uint16_t msg_id);
/** Free @p o's message and the slot (not counted off s->nb_wait: the scan recounts). */
void mq_out_release(struct mq_out *o);
/** Slot @p o of @p s now waits for an answer: kind @p kind (mq_out_retransmits()). */
static inline void
mq_out_wait(struct mq_sess *s, struct mq_out *o, uint8_t kind)
{
	if (!mq_out_retransmits(o->kind))
		s->nb_wait++;
	o->kind = kind;
}
/** Release slot @p o of @p s, counting it off s->nb_wait. */
void mq_out_done(struct mq_sess *s, struct mq_out *o);
void mq_sess_scan(struct dp_worker *w);

/* mqttsn_node.c */
void mq_send(struct dp_worker *w, struct mq_sess *s, const struct net_peer *peer,
	     uint16_t pidx, const struct mqttsn_msg *msg);
void mq_send_held(struct dp_worker *w, struct mq_sess *s, struct mq_out *o);
/** Set DUP in a PUBLISH frame of ours (its UDP checksum updated). */
void mq_set_dup(struct rte_mbuf *pkt);
void mq_done(struct dp_worker *w, struct mq_op *op);
void mq_deliver_local(struct dp_worker *w, struct rte_mbuf *m);
void mq_publish_will(struct dp_worker *w, struct mq_sess *s);
/**
 * Route a publication: this worker's subscribers now, other workers' through
 * their rings. Takes @p m (the payload is @p data_len bytes at @p data_off).
 */
void mq_route(struct dp_worker *w, uint16_t pidx, struct topic *node, struct rte_mbuf *m,
	      const uint8_t *data, uint16_t data_off, uint16_t data_len, int qos, bool retain,
	      uint16_t fmt);
bool mq_op_submit(struct dp_worker *w, struct mq_op *op);

/* mqttsn_info.c: a worker answers the control plane's SNAPSHOT and KICK. */
void mq_info_worker(struct dp_worker *w, struct mq_op *op);
/* mqttsn_info.c: the control plane receives that answer (from mqttsn_control_poll). */
void mq_info_answer(struct mq_op *op);

/* osap_access.c: OSAP devices (docs/mqttsn.md "OSAP devices") */
/** mqttsn_setup(): the admission table. @return 0 or -ENOMEM. */
int mq_osap_setup(char *err, size_t errlen);
/** mqttsn_teardown(), the workers stopped: the admission table, keys wiped. */
void mq_osap_teardown(void);
/** Per worker, at set-up: the key array and the AES-GCM context. @return 0 or -ENOMEM. */
int mq_osap_worker_init(struct mq_worker *mw, int socket);
/** dp_dtls_setup(): room for the identities of DTLS peers. @return 0, -ENOMEM. */
int mq_dtls_init(void);
void mq_osap_worker_free(struct mq_worker *mw);
/**
 * Worker, a CONNECT with client id @p id: the admission it is held to.
 * @return its generation (> 0), 0 for a plain client, or -EACCES (refused:
 *   not admitted in OSAP mode) or -ETIMEDOUT (the key's lifetime is over),
 *   counted on @p pidx.
 */
int64_t mq_osap_connect(struct dp_worker *w, uint16_t pidx, const uint8_t *id, size_t len);
/**
 * Control plane, a CLAIM: check the admission of op->name against
 * op->adm_gen and op->src, and bind it to op->src. @p held: a session
 * (this one or another) holds the client id now. An admission admits one
 * session: once bound, a CLAIM finding no session that holds the id means
 * the admitted session ended, and is refused (its key's counters ended with
 * it; a new session would reuse nonces).
 * @return 0 (go on), -EACCES (not admitted, bound elsewhere, spent, or
 *   another generation) or -ETIMEDOUT (expired).
 */
int mq_osap_claim(struct mq_op *op, bool held);
/**
 * Worker, the CLAIM of an OSAP session was accepted: install the key of
 * admission s's pending generation. @return 0, or -EACCES if that
 * admission is gone (the caller refuses the CONNECT).
 */
int mq_osap_install(struct dp_worker *w, struct mq_sess *s);
/** Worker, at mq_sess_end() of an OSAP session: wipe its key. */
void mq_osap_sess_end(struct mq_worker *mw, struct mq_sess *s);
/** Worker, the timer scan: has the key of OSAP session @p s expired? */
static inline bool
mq_osap_key_expired(const struct mq_worker *mw, const struct mq_sess *s, uint64_t now)
{
	return now >= mw->osap[s - mw->sess].key_expire && mw->osap[s - mw->sess].gen != 0;
}
/**
 * Worker, a PUBLISH of OSAP session @p s: open @p data[0..*@p len) in place
 * (the plaintext is then at @p data + OSAP_BIZ_HDR_LEN, *@p len octets).
 * @return 0, -EBADMSG (counted osap_bad_seal) or -EALREADY (a replay,
 *   counted osap_replay).
 */
int mq_osap_open(struct dp_worker *w, struct mq_sess *s, uint8_t *data, size_t *len);
/**
 * Worker: seal @p len octets at @p pt for OSAP session @p s into @p out
 * (@p cap octets; @p pt may be @p out + OSAP_BIZ_HDR_LEN) with its next
 * DOWN counter. @return the sealed length, or -1 (counted).
 */
int mq_osap_seal(struct dp_worker *w, struct mq_sess *s, const uint8_t *pt, size_t len,
		 uint8_t *out, size_t cap);
/** Worker: MQ_OP_OSAP_END from the control plane. Takes @p op. */
void mq_osap_end(struct dp_worker *w, struct mq_op *op);

/* mqttsn_ctl.c */
/** Main lcore: the session holding client id @p id, from the claim map. @return 0 or -ENOENT. */
int mq_cid_find(const char *id, size_t len, uint16_t *worker, uint32_t *session, uint32_t *gen);
/** Hand this worker's buffered publications to worker @p core's ring. */
void mqttsn_flush_fwd(struct dp_worker *w, uint16_t core);
struct mq_op *mq_op_new(uint8_t kind, struct dp_worker *w, const struct mq_sess *s);
/** Control plane: hand @p op to worker @p core's done ring (kept for later if full). */
void mq_op_answer(struct mq_op *op, uint16_t core);
/** Return @p op to the pool, freeing the publications it still carries. */
void mq_op_put(struct mq_op *op);
void mq_adv_poll(struct dp_worker *w);   /* mqttsn_adv.c: worker 0 sends ADVERTISE when due */

#endif
