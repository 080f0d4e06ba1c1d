/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_COAP_PRIV_H
#define TERN_DATAPLANE_COAP_PRIV_H

/*
 * The CoAP node (docs/coap.md): RFC 7252 messaging and a publish/subscribe
 * broker on the topics of the MQTT-SN node.
 *
 * Like MQTT-SN sessions, a peer's state (an endpoint: its address and port)
 * belongs to the worker its flow lands on: recent message ids for
 * de-duplication with the answers to resend, the one confirmable message
 * in flight to it (NSTART 1), its observe registrations. Nothing else
 * writes it.
 *
 * CoAP uses the MQTT-SN node's machinery for everything that touches the
 * topic table (mqttsn_priv.h): an observe registration is a subscription
 * whose ref names an observer slot (session = CP_REF_BIT | slot), asked of
 * the control plane with MQ_OP_SUBSCRIBE and answered on the worker's done
 * ring (op->proto = MQ_PROTO_COAP routes the answer here); a publication is
 * routed like an MQTT-SN one (mq_route()), so its subscribers of both
 * protocols get it, and the publication of another worker reaches an
 * observer through mq_deliver_local(), which hands CoAP refs to
 * coap_deliver(). The value a GET returns is the topic's retained message:
 * a CoAP publication sets it (MQ_OP_RETAIN), an MQTT-SN publication with
 * RETAIN does too. Listings (GET on the collection, /.well-known/core) are
 * built by the control plane, the table's only walker (MQ_OP_LIST), one
 * block at a time.
 *
 * Timers: each iteration a worker looks at a few endpoints for CON
 * retransmissions, expired de-duplication entries and idleness.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_mbuf.h>

#include "dataplane/dp_priv.h"
#include "dataplane/topic_table.h"
#include "proto/coap.h"
#include "proto/net.h"

#define CP_DEDUP 8                 /* message ids remembered per endpoint */
#define CP_REF_BIT 0x80000000u     /* topic_sub_ref.session of an observer slot */
#define CP_SCAN_PER_POLL 4
#define CP_EXCHANGE_LIFETIME_S 247 /* RFC 7252 4.8.2 with the default parameters */
#define CP_CON_EVERY_S 86400       /* RFC 7641 4.5: a CON notification at least daily */
#define CP_NO_FMT 0xffff           /* no Content-Format known */
#define CP_B1_PER_WORKER 256       /* Block1 uploads in progress per worker */
/* <prefix>/$conf/<topic> is the topic resource of <topic> (coap_topics.c) */
#define COAP_CONF_LEVEL "$conf"

/* A peer's address: the endpoint table's key (8-byte aligned: hashed by words). */
struct cp_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t v6;
	uint8_t pidx;
	uint16_t lport;           /* the port it sends to: plain, or DTLS through the control plane */
	uint16_t rsvd;
} __rte_aligned(8);

/* A request seen recently: a duplicate gets the same answer (RFC 7252 4.5). */
struct cp_dedup {
	uint16_t mid;
	uint8_t used;
	uint8_t type;             /* CON or NON */
	uint64_t expire;          /* TSC */
	struct rte_mbuf *resp;    /* the answer (we hold a reference); NULL: none yet */
};

struct cp_ep {
	uint32_t gen;             /* bumped when the slot is freed */
	bool used;
	uint8_t dedup_next;
	uint16_t pidx;
	uint16_t next_mid;
	uint16_t nb_obs;
	uint32_t first_obs;       /* observer slots of this endpoint, linked; UINT32_MAX: none */
	struct cp_key key;
	struct net_peer peer;
	uint64_t idle_expire;     /* TSC; freed after it when nothing else keeps it */
	struct cp_dedup dedup[CP_DEDUP];
	/* the one confirmable message in flight (NSTART 1) */
	struct rte_mbuf *con_pkt;
	uint16_t con_mid;
	uint8_t con_tries;
	uint32_t con_obs;         /* the observer it notifies */
	uint64_t con_deadline;
	uint64_t con_timeout;     /* the current timeout, doubled per retransmission */
	/* a Block1 upload in progress (RFC 7959 2.5): the body so far */
	struct rte_mbuf *b1;
	uint32_t b1_hash;         /* of the topic it goes to */
	uint32_t b1_next;         /* the block number expected next */
	uint8_t b1_szx;
	uint16_t b1_fmt;
	uint64_t b1_expire;
	/* rate limit: a token bucket of rate_limit per second */
	uint64_t rl_last;
	uint32_t rl_tokens;
};

enum cp_obs_state {
	CP_OBS_FREE = 0,
	CP_OBS_PENDING,           /* its SUBSCRIBE is with the control plane */
	CP_OBS_ACTIVE,
};

struct cp_obs {
	uint32_t gen;
	uint8_t state;
	uint8_t tkl;
	uint8_t req_type;         /* the registering request's type and id: answered later */
	uint8_t szx;              /* the block size the observer asked for */
	bool notified;            /* last_mid is a notification's */
	uint8_t token[COAP_TOKEN_MAX];
	uint16_t req_mid;
	uint16_t since_con;       /* notifications since the last CON */
	uint16_t last_mid;        /* of the last notification: an RST to it ends the observation */
	uint32_t ep;
	uint32_t ep_gen;
	uint32_t next;            /* the endpoint's next observer; UINT32_MAX: none */
	uint32_t seq;             /* Observe sequence number of the last notification */
	uint64_t last_con;        /* TSC of the last CON notification */
	struct topic *node;
};

/* Per worker. */
struct cp_worker {
	struct rte_hash *by_addr;     /* struct cp_key -> endpoint slot */
	struct cp_ep *ep;
	uint32_t *ep_free;
	uint32_t nb_ep_slots, nb_ep_active;
	struct cp_obs *obs;
	uint32_t *obs_free;
	uint32_t nb_obs_slots, nb_obs_active;
	uint32_t nb_b1;               /* Block1 uploads in progress */
	uint32_t scan;
};

struct cp_global {
	struct dp_coap_params p;
	uint64_t ack_tsc;             /* ACK_TIMEOUT */
	uint64_t exchange_tsc;        /* EXCHANGE_LIFETIME */
	uint64_t hz;
	size_t prefix_len;
	struct cp_worker *w[DP_MAX_WORKERS];
};

extern struct cp_global *cp;

/* A request answered later (observe registration, listing): in mq_op.coap. */
struct cp_reqinfo {
	uint8_t type;
	uint8_t tkl;
	uint16_t mid;
	uint16_t pidx;
	uint8_t token[COAP_TOKEN_MAX];
	struct net_peer peer;
};

struct mq_op;
struct mq_pubmeta;

/* coap_ctl.c */
/** Free what an endpoint holds (cached answers, the CON in flight). */
void ep_release(struct cp_ep *e);

/* coap_node.c */
/** An observer of this worker gets a publication (from mq_deliver_local()). */
void coap_deliver(struct dp_worker *w, const struct topic_sub_ref *ref, struct rte_mbuf *m,
		  const struct mq_pubmeta *meta);
/** The control plane's answer to a CoAP request (op->proto == MQ_PROTO_COAP). */
void coap_done(struct dp_worker *w, struct mq_op *op);

/* coap_topics.c: topic resources, on the control plane (the table's writer) */
struct coap_tconf;
/** A request on a topic resource or a creation (MQ_OP_TCONF): answered in @p op. */
void coap_topic_op(struct mq_op *op);
/**
 * May one more CoAP observer subscribe to @p node? 0; -ENOENT (deleted);
 * -EDQUOT (its max-subscribers reached).
 */
int coap_topic_admit(const struct topic *node);
/** Something created @p node again: a deleted topic is back, with the defaults. */
void coap_topic_revive(struct topic *node);
/** The latest value of @p node was deleted by a client: its observers end (4.04). */
void coap_topic_data_deleted(const struct topic *node);
/** Is @p node in CoAP listings, and does it match @p filter (NULL: any)? */
bool coap_topic_listed(const struct topic *node, const struct coap_tconf *filter);
/** Once a second at most: delete the topics whose expiration-date passed. */
void coap_topic_tick(void);

/* coap_info.c */
/** A worker copies its endpoints or observers out (a SNAPSHOT question). */
void coap_info_worker(struct dp_worker *w, struct mq_op *op);
/** The control plane gets that answer (from mqttsn_control_poll()). */
void coap_info_answer(struct mq_op *op);

#endif
