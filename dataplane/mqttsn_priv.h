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
 * small header mbuf per subscriber chained to the shared payload.
 *
 * Timers: each iteration a worker looks at a few sessions (a cursor over its
 * table) for keep-alive expiry and due retransmissions, so the cost per
 * iteration is bounded and a full sweep takes a few milliseconds.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/dp_priv.h"
#include "dataplane/topic_table.h"
#include "proto/mqttsn.h"
#include "proto/net.h"

#define MQ_GW_ID 1
#define MQ_SCAN_PER_POLL 4
#define MQ_RING 1024

/* A client's address: the session table's key (8-byte aligned: hashed by words). */
struct mq_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t v6;
	uint8_t pidx;
	uint32_t rsvd;
} __rte_aligned(8);

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
	uint8_t rsvd;
	uint16_t msg_id;
	uint16_t topic_id;
	uint64_t deadline;    /* TSC; REGISTER and QOS1 */
	struct rte_mbuf *pkt;
};

enum mq_connect_stage {
	MQ_CONNECT_DONE = 0,
	MQ_CONNECT_WILLTOPIC,     /* WILLTOPICREQ sent, waiting for WILLTOPIC */
	MQ_CONNECT_WILLMSG,       /* WILLMSGREQ sent, waiting for WILLMSG */
};

enum mq_state {
	MQ_FREE = 0,
	MQ_ACTIVE,
	MQ_ASLEEP,        /* DISCONNECT with a duration: publications are buffered */
};

struct mq_sess {
	uint32_t gen;             /* bumped when the slot is freed */
	uint8_t state;
	uint8_t client_id_len;
	uint16_t keepalive;       /* seconds; 0 = none */
	uint64_t expire;          /* TSC; 0 = never */
	uint64_t silence_tsc;     /* keep-alive (or, asleep, sleep duration) with tolerance */
	uint16_t pidx;
	uint16_t next_msg_id;
	uint16_t nb_ids;          /* ids 1..nb_ids are assigned */
	uint16_t nb_subs;
	struct net_peer peer;
	struct mq_key key;
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
	uint8_t will_flags;       /* QoS and RETAIN of the will */
	uint16_t will_topic_len;  /* 0: no will */
	uint16_t will_msg_len;
	uint8_t *will;            /* [max_message_size] */
	uint16_t nb_sleep;
	uint16_t sleep_duration;  /* seconds, while asleep */
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
	struct dp_txbuf fwd[DP_MAX_WORKERS];   /* publications for other workers */
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
};


/* A request for the topic table's writer, and its answer. */
struct mq_op {
	uint8_t kind;
	uint8_t qos;
	uint8_t wild;         /* SUBSCRIBE/UNSUBSCRIBE: the filter has wildcards */
	uint8_t short_topic;  /* SUBSCRIBE: by a short topic name (SUBACK has no id) */
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

/* What a payload mbuf carries to the workers that deliver it. */
struct mq_pubmeta {
	struct topic *node;
	uint32_t sum;         /* one's complement sum of the data */
	uint16_t data_off;    /* from the start of the frame */
	uint16_t data_len;
	uint8_t qos;
	uint8_t retain;
};

struct mq_global {
	struct dp_mqttsn_params p;
	struct topic_table *topics;
	struct rte_ring *ops;             /* workers -> control plane */
	struct rte_mempool *op_pool;
	uint32_t op_room;                 /* bytes after struct mq_op in a pool element */
	uint64_t retry_tsc;
	struct mq_worker *w[DP_MAX_WORKERS];
};

extern struct mq_global *mq;

static inline struct mq_pubmeta *
mq_meta(struct rte_mbuf *m)
{
	return (struct mq_pubmeta *)rte_mbuf_to_priv(m);
}

/* mqttsn_sess.c */
int mq_sess_setup(unsigned int nb_workers, char *err, size_t errlen);
void mq_sess_teardown(void);
struct mq_sess *mq_sess_find(struct mq_worker *mw, const struct mq_key *k);
struct mq_sess *mq_sess_new(struct dp_worker *w, const struct mq_key *k);
void mq_sess_end(struct dp_worker *w, struct mq_sess *s, bool lost);
uint16_t mq_sess_id_of(const struct mq_sess *s, const struct topic *node);
uint16_t mq_sess_id_add(struct mq_sess *s, struct topic *node, bool ready);
uint16_t mq_sess_msg_id(struct mq_sess *s);
struct mq_out *mq_out_slot(struct mq_sess *s);
struct mq_out *mq_out_find(struct mq_sess *s, uint8_t kind, uint16_t msg_id);
void mq_out_release(struct mq_out *o);
void mq_sess_scan(struct dp_worker *w);

/* mqttsn_node.c */
void mq_send(struct dp_worker *w, struct mq_sess *s, const struct net_peer *peer,
	     uint16_t pidx, const struct mqttsn_msg *msg);
void mq_send_held(struct dp_worker *w, struct mq_sess *s, struct mq_out *o);
void mq_set_dup(struct rte_mbuf *pkt, size_t udp_payload_off);
void mq_done(struct dp_worker *w, struct mq_op *op);
void mq_deliver_local(struct dp_worker *w, struct rte_mbuf *m);
void mq_publish_will(struct dp_worker *w, struct mq_sess *s);
bool mq_op_submit(struct dp_worker *w, struct mq_op *op);

/* mqttsn_info.c: a worker answers the control plane's SNAPSHOT and KICK. */
void mq_info_worker(struct dp_worker *w, struct mq_op *op);
/* mqttsn_info.c: the control plane receives that answer (from mqttsn_control_poll). */
void mq_info_answer(struct mq_op *op);

/* mqttsn_ctl.c */
/** Hand this worker's buffered publications to worker @p core's ring. */
void mqttsn_flush_fwd(struct dp_worker *w, uint16_t core);
struct mq_op *mq_op_new(uint8_t kind, struct dp_worker *w, const struct mq_sess *s);

#endif
