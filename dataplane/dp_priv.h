/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_DP_PRIV_H
#define TERN_DATAPLANE_DP_PRIV_H

/*
 * Data plane internals shared by its files (and by tests/bench, which drive
 * dp_worker_rx() directly). Not for the control plane: it uses dp.h.
 *
 * Ownership: everything in struct dp_state is written by the main lcore
 * during dp_setup() and is read-only once the workers run, except `quit`.
 * A struct dp_worker is written only by its own lcore once launched; the
 * control plane reads its published counters (relaxed atomic loads of
 * values stored with relaxed atomic stores: a counter may be one burst
 * stale, never torn).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dp.h"
#include "proto/net.h"

#define DP_BURST 32
#define DP_MAX_WORKERS 16
#define DP_MAX_RXQ (DP_MAX_PORTS * 2)   /* per worker: port queues + exception */
#define DP_RX_DESC 1024
#define DP_TX_DESC 1024
#define DP_STEER_RING 1024
#define DP_MAX_RSS_QUEUES 16

extern int tern_logtype;
#define DP_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, tern_logtype, "tern: " fmt "\n", ##__VA_ARGS__)

struct dp_port {
	struct dp_port_params params;
	struct net_if nif;
	uint16_t port_id;
	uint16_t exc_port_id;
	bool has_exc;
	bool rss;
	bool probed;
	bool started;
	bool exc_started;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint16_t exc_nb_rxq;
	uint64_t rx_offloads;     /* RTE_ETH_RX_OFFLOAD_* enabled */
	char exc_vdev[64];        /* vdev name of the exception port */
};

struct dp_txbuf {
	uint16_t n;
	struct rte_mbuf *m[DP_BURST];
};

struct dp_rxq {
	uint16_t port_idx;        /* index into dp.ports */
	uint16_t port_id;         /* DPDK port id to poll */
	uint16_t queue;
	bool exception;           /* the exception port: frames from the host stack */
};

struct mq_worker;
struct cp_worker;

struct dp_worker {
	/* hot, read every iteration */
	unsigned int index;
	unsigned int lcore_id;
	uint16_t nb_rxq;
	uint16_t txq;             /* this worker's TX queue on every port */
	struct rte_ring *steer_ring;   /* inbound: datagrams this worker owns */
	struct dp_rxq rxq[DP_MAX_RXQ];
	struct dp_txbuf tx[DP_MAX_PORTS];
	struct dp_txbuf exc_tx[DP_MAX_PORTS];
	struct dp_txbuf steer[DP_MAX_WORKERS];  /* outbound, per owning worker */
	struct rte_ring *ctl_tx;      /* DTLS records from the control plane to send; NULL: no DTLS */
	struct dp_txbuf dtls_in;      /* datagrams to a DTLS port, for the control plane */
	struct dp_txbuf dtls_out;     /* nodes' frames to DTLS peers, for the control plane */
	struct mq_worker *mq;         /* the MQTT-SN node's state; NULL when disabled */
	struct cp_worker *cp;         /* the CoAP node's state; NULL when disabled */
	/* published counters, one set per port; read by the control plane */
	struct dp_counters cnt[DP_MAX_PORTS] __rte_cache_aligned;
} __rte_cache_aligned;

struct dp_state {
	struct dp_port ports[DP_MAX_PORTS];
	unsigned int nb_ports;
	uint16_t port_idx_of[RTE_MAX_ETHPORTS];   /* DPDK port id -> index */
	unsigned int nb_workers;
	struct dp_worker *by_lcore[RTE_MAX_LCORE];  /* indexed by lcore id */
	struct dp_worker *worker[DP_MAX_WORKERS];   /* indexed by worker index */
	struct rte_mempool *pool;
	uint64_t mbuf_baseline;
	uint64_t start_tsc;
	bool eal_ready;
	bool launched;
	volatile bool quit;
	bool mqttsn;                  /* the MQTT-SN node serves mqttsn_port */
	uint16_t mqttsn_port;
	bool coap;                    /* the CoAP node serves coap_port */
	uint16_t coap_port;
	/* DTLS (dtls_io.c): ports terminated by the control plane; 0: none */
	uint16_t dtls_coap_port;
	uint16_t dtls_mqttsn_port;
	struct rte_ring *dtls_in;     /* workers -> control plane: records from peers */
	struct rte_ring *dtls_out;    /* workers -> control plane: messages to encrypt */
	/* control-plane side of `stats --reset`: values subtracted on read */
	struct dp_counters reset_base[DP_MAX_PORTS][DP_MAX_WORKERS];
};

extern struct dp_state dp;

/* port.c: bring ports and their exception interfaces up and down. */
int dp_ports_setup(const struct dp_port_params *params, unsigned int n, int *bad_port,
		   char *err, size_t errlen);
void dp_ports_close(void);

/* exc.c: give the kernel exception interface its addresses. */
int dp_exc_configure(const char *ifname, const struct dp_port_params *p, char *err,
		     size_t errlen);

/* Count @p v more of counter @p i on port @p pidx (the worker's own thread only). */
static inline void
dp_cnt_add(struct dp_worker *w, uint16_t pidx, unsigned int i, uint64_t v)
{
	uint64_t *p = &w->cnt[pidx].v[i];

	/* single writer: a relaxed store keeps the reader from seeing a torn value */
	__atomic_store_n(p, *p + v, __ATOMIC_RELAXED);
}

/* mqttsn_node.c / mqttsn_ctl.c: the MQTT-SN node (mqttsn_priv.h). */
int mqttsn_setup(const struct dp_mqttsn_params *p, char *err, size_t errlen);
void mqttsn_teardown(void);
/** A valid UDP datagram to the MQTT-SN port, on the worker owning its flow. */
void mqttsn_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk);
/** A valid UDP datagram to a broadcast or multicast address and the MQTT-SN port. */
void mqttsn_rx_bcast(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m,
		     const struct net_pkt *pk);
/** Per iteration: done ops, publications from other workers, timers, forwarding. */
void mqttsn_poll(struct dp_worker *w);
/** After the worker stopped: release what it holds. */
void mqttsn_drain(struct dp_worker *w);
/** Main lcore: apply the workers' ops to the topic table. */
void mqttsn_control_poll(void);

/* coap_node.c / coap_ctl.c: the CoAP node (coap_priv.h). */
int coap_setup(const struct dp_coap_params *p, char *err, size_t errlen);
void coap_teardown(void);
/** A valid UDP datagram to the CoAP port, on the worker owning its flow. */
void coap_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, const struct net_pkt *pk);
/** Per iteration: timers (retransmissions, de-duplication, idle endpoints). */
void coap_poll(struct dp_worker *w);
/** After the worker stopped: release what it holds. */
void coap_drain(struct dp_worker *w);

/* dtls_io.c: the data plane's side of DTLS. */
/** Hand a worker's buffer to ring @p r; frames refused are freed and counted as @p refused. */
void dp_dtls_flush(struct dp_worker *w, struct dp_txbuf *b, struct rte_ring *r,
		   unsigned int refused);
/**
 * The authenticated identity of the DTLS peer that sent @p m (a frame
 * dp_dtls_inject() made, on the worker that owns the peer's flow);
 * "" and *len 0 for any other frame. Not NUL-terminated: *len octets.
 */
const char *dp_dtls_identity(const struct rte_mbuf *m, size_t *len);
/** Free what the DTLS rings hold (after the workers stopped). */
void dp_dtls_drain(void);
void dp_dtls_teardown(void);

/* worker.c */
/** Queue @p m for the port's TX queue of this worker (sent at the end of the burst). */
void dp_tx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m);
int dp_worker_main(void *arg);
/** One iteration of the poll loop: every RX queue, the steering ring, flush. */
void dp_worker_poll(struct dp_worker *w);
/** Process @p n frames received on port index @p pidx (fast path). */
void dp_worker_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n);
/** Send every buffered frame (tx, exception, steering); count refusals. */
void dp_worker_flush(struct dp_worker *w);
/** Free whatever the worker still holds (after it stopped). */
void dp_worker_drain(struct dp_worker *w);
/** Allocate and initialise the worker state for @p lcore_id. */
struct dp_worker *dp_worker_create(unsigned int index, unsigned int lcore_id);

#endif
