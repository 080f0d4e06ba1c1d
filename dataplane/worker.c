/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker: one run-to-completion poll loop per lcore.
 *
 * Each iteration reads a burst from every RX queue the worker owns, gives
 * every frame exactly one fate (proto/net.h), and buffers what goes out:
 * replies on the port's TX queue, frames for the host stack on the exception
 * interface, datagrams owned by another worker on that worker's ring. The
 * buffers are sent at the end of the iteration, so a burst in becomes (at
 * most) one burst out per destination. Nothing here locks, allocates, or
 * logs; counters are per worker and per port, counted in locals and
 * published once per burst.
 *
 * Flow ownership without RSS: one worker reads the port's only RX queue and
 * hashes the client's (address, port) of each UDP datagram to its owner,
 * handing it over through the owner's ring. The classification is not
 * repeated there: its offsets travel in the mbuf's l2_len/l3_len and
 * packet_type fields.
 */

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <urcu-qsbr.h>

#include "dataplane/dp_priv.h"

#define PREFETCH_OFFSET 4


static void
publish(struct dp_worker *w, uint16_t pidx, const uint64_t *c)
{
	for (unsigned int i = 0; i < DP_CNT_LOCAL_MAX; i++)
		if (c[i])
			dp_cnt_add(w, pidx, i, c[i]);
}

static inline unsigned int
hw_flags(const struct rte_mbuf *m)
{
	uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	unsigned int f = 0;

	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		f |= NET_HW_IP_CKSUM_GOOD;
	else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		f |= NET_HW_IP_CKSUM_BAD;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		f |= NET_HW_L4_CKSUM_GOOD;
	else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		f |= NET_HW_L4_CKSUM_BAD;
	return f;
}

static inline void
txbuf_add(struct dp_txbuf *b, struct rte_mbuf *m)
{
	b->m[b->n++] = m;
}

/* Send a buffer on (port_id, queue); returns how many the queue refused. */
static uint16_t
txbuf_send(struct dp_txbuf *b, uint16_t port_id, uint16_t queue, uint64_t *bytes)
{
	uint64_t sum = 0;
	uint16_t sent, i;

	for (i = 0; i < b->n; i++)
		sum += b->m[i]->pkt_len;
	sent = rte_eth_tx_burst(port_id, queue, b->m, b->n);
	for (i = sent; i < b->n; i++) {
		sum -= b->m[i]->pkt_len;
		rte_pktmbuf_free(b->m[i]);
	}
	*bytes = sum;
	i = b->n - sent;
	b->n = 0;
	return i;
}

static void
flush_port(struct dp_worker *w, uint16_t pidx)
{
	const struct dp_port *p = &dp.ports[pidx];
	struct dp_txbuf *b = &w->tx[pidx];
	uint64_t bytes;
	uint16_t n = b->n, refused;

	if (n) {
		refused = txbuf_send(b, p->port_id, w->txq, &bytes);
		dp_cnt_add(w, pidx, DP_CNT_TX_PACKETS, n - refused);
		dp_cnt_add(w, pidx, DP_CNT_TX_BYTES, bytes);
		if (refused)
			dp_cnt_add(w, pidx, DP_CNT_TX_REFUSED, refused);
	}
	b = &w->exc_tx[pidx];
	n = b->n;
	if (n) {
		refused = txbuf_send(b, p->exc_port_id, w->txq, &bytes);
		dp_cnt_add(w, pidx, DP_CNT_EXC_TX, n - refused);
		if (refused)
			dp_cnt_add(w, pidx, DP_CNT_EXC_TX_REFUSED, refused);
	}
}

static void
flush_steer(struct dp_worker *w, uint16_t owner)
{
	struct dp_txbuf *b = &w->steer[owner];
	unsigned int sent, i;

	sent = rte_ring_enqueue_burst(dp.worker[owner]->steer_ring, (void **)b->m, b->n, NULL);
	for (i = sent; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];

		dp_cnt_add(w, dp.port_idx_of[m->port], DP_CNT_STEER_REFUSED, 1);
		rte_pktmbuf_free(m);
	}
	b->n = 0;
}

void
dp_worker_flush(struct dp_worker *w)
{
	if (unlikely(w->dtls_in.n))
		dp_dtls_flush(w, &w->dtls_in, dp.dtls_in, DP_CNT_DTLS_IN_REFUSED);
	if (unlikely(w->dtls_out.n))
		dp_dtls_flush(w, &w->dtls_out, dp.dtls_out, DP_CNT_DTLS_OUT_REFUSED);
	for (uint16_t pidx = 0; pidx < dp.nb_ports; pidx++)
		if (w->tx[pidx].n || w->exc_tx[pidx].n)
			flush_port(w, pidx);
	for (uint16_t o = 0; o < dp.nb_workers; o++)
		if (w->steer[o].n)
			flush_steer(w, o);
}

/* A frame for the host stack: the exception interface, when the port has one. */
static inline void
punt(struct dp_worker *w, const struct dp_port *p, uint16_t pidx, struct rte_mbuf *m,
     uint64_t *c)
{
	if (likely(p->has_exc)) {
		txbuf_add(&w->exc_tx[pidx], m);
		if (w->exc_tx[pidx].n == DP_BURST)
			flush_port(w, pidx);
	} else {
		c[DP_CNT_EXC_NONE]++;
		rte_pktmbuf_free(m);
	}
}

static inline void
reply(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m, int len, uint64_t *c)
{
	if (unlikely(len <= 0)) {
		c[DP_CNT_REPLY_FAILED]++;
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->ol_flags = 0;
	txbuf_add(&w->tx[pidx], m);
	if (w->tx[pidx].n == DP_BURST)
		flush_port(w, pidx);
}

/* The UDP source port of a frame of ours (headers in its first segment); 0: not UDP. */
static inline uint16_t
frame_sport(const struct rte_mbuf *m)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t off = 14;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);

	if (et == NET_ETHERTYPE_VLAN) {
		et = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (et == NET_ETHERTYPE_IPV4 && f[off + 9] == NET_IPPROTO_UDP)
		off += (size_t)(f[off] & 0x0f) * 4;
	else if (et == NET_ETHERTYPE_IPV6 && f[off + 6] == NET_IPPROTO_UDP)
		off += 40;
	else
		return 0;
	return (uint16_t)(f[off] << 8 | f[off + 1]);
}

static inline bool
dtls_port(uint16_t port)
{
	return port != 0 && (port == dp.dtls_coap_port || port == dp.dtls_mqttsn_port);
}

void
dp_tx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf *m)
{
	/* to a DTLS peer: the control plane encrypts it (dtls_io.c) */
	if (unlikely(dp.dtls_out != NULL) && dtls_port(frame_sport(m))) {
		dp_cnt_add(w, pidx, DP_CNT_DTLS_OUT, 1);
		m->port = dp.ports[pidx].port_id;
		txbuf_add(&w->dtls_out, m);
		if (w->dtls_out.n == DP_BURST)
			dp_dtls_flush(w, &w->dtls_out, dp.dtls_out, DP_CNT_DTLS_OUT_REFUSED);
		return;
	}
	txbuf_add(&w->tx[pidx], m);
	if (w->tx[pidx].n == DP_BURST)
		flush_port(w, pidx);
}

/*
 * A valid UDP datagram on the worker that owns its flow: the protocol node
 * serving its destination port. A port no node serves goes to the host
 * stack, which answers with ICMP port unreachable as any host would.
 */
static inline void
udp_dispatch(struct dp_worker *w, const struct dp_port *p, uint16_t pidx, struct rte_mbuf *m,
	     const struct net_pkt *pk, uint64_t *c)
{
	if (dp.mqttsn && pk->dst_port == dp.mqttsn_port) {
		mqttsn_rx(w, pidx, m, pk);
		return;
	}
	if (dp.coap && pk->dst_port == dp.coap_port) {
		coap_rx(w, pidx, m, pk);
		return;
	}
	/*
	 * A DTLS port: only a message the control plane decrypted gets here
	 * (handle() hands the port's datagrams to the control plane).
	 */
	if (unlikely(dtls_port(pk->dst_port))) {
		c[DP_CNT_DTLS_DECRYPTED]++;
		if (pk->dst_port == dp.dtls_mqttsn_port)
			mqttsn_rx(w, pidx, m, pk);
		else
			coap_rx(w, pidx, m, pk);
		return;
	}
	c[DP_CNT_UDP_UNHANDLED]++;
	punt(w, p, pidx, m, c);
}

/* The classification of a steered datagram, back from the mbuf (see top). */
static void
pkt_of_steered(const struct rte_mbuf *m, struct net_pkt *pk)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *udp;

	memset(pk, 0, sizeof(*pk));
	pk->l3_off = m->l2_len;
	pk->l4_off = (uint16_t)(m->l2_len + m->l3_len);
	pk->l4_proto = NET_IPPROTO_UDP;
	pk->ethertype = (m->packet_type & RTE_PTYPE_L3_MASK) == RTE_PTYPE_L3_IPV6 ?
			NET_ETHERTYPE_IPV6 : NET_ETHERTYPE_IPV4;
	pk->has_vlan = m->l2_len > NET_ETH_HLEN;
	if (pk->has_vlan)
		pk->vlan_tci = (uint16_t)(frame[14] << 8 | frame[15]);
	udp = frame + pk->l4_off;
	pk->src_port = (uint16_t)(udp[0] << 8 | udp[1]);
	pk->dst_port = (uint16_t)(udp[2] << 8 | udp[3]);
	pk->l4_len = (uint16_t)(udp[4] << 8 | udp[5]);
}

/* The worker that owns a UDP flow: hash of the client's address and port. */
static inline unsigned int
flow_owner(const uint8_t *frame, const struct net_pkt *pk, bool v6)
{
	const uint8_t *ip = frame + pk->l3_off;
	uint64_t src6[2];
	uint32_t h, src4;

	if (v6) {
		/* IP headers are 2-byte aligned; the CRC reads 8-byte words */
		memcpy(src6, ip + 8, 16);
		h = rte_hash_crc(src6, 16, pk->src_port);
	} else {
		memcpy(&src4, ip + 12, 4);   /* IP headers are 2-byte aligned */
		h = rte_hash_crc_4byte(src4, pk->src_port);
	}
	return (unsigned int)(((uint64_t)h * dp.nb_workers) >> 32);
}

static inline void
handle(struct dp_worker *w, const struct dp_port *p, uint16_t pidx, struct rte_mbuf *m,
       uint64_t *c)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct net_pkt pk;
	enum net_fate f;
	unsigned int owner;

	f = net_classify(frame, rte_pktmbuf_data_len(m), &p->nif, hw_flags(m), &pk);
	c[DP_CNT_OF_FATE(f)]++;
	switch (f) {
	case NET_ARP_REQUEST:
		reply(w, pidx, m, net_arp_reply(frame, &pk, &p->nif), c);
		return;
	case NET_ICMP4_ECHO:
		reply(w, pidx, m, net_icmp4_echo_reply(frame, &pk, &p->nif), c);
		return;
	case NET_ICMP6_ECHO:
		reply(w, pidx, m, net_icmp6_echo_reply(frame, &pk, &p->nif), c);
		return;
	case NET_ND_SOLICIT:
		if (unlikely(m->nb_segs != 1)) {
			reply(w, pidx, m, -ENOSPC, c);
			return;
		}
		reply(w, pidx, m, net_nd_advert(frame, rte_pktmbuf_data_len(m) +
						rte_pktmbuf_tailroom(m), &pk, &p->nif), c);
		return;
	case NET_UDP4:
	case NET_UDP6:
		if (unlikely(dp.dtls_in != NULL) && dtls_port(pk.dst_port)) {
			/* DTLS is the control plane's: no steering, one ring */
			c[DP_CNT_DTLS_IN]++;
			txbuf_add(&w->dtls_in, m);
			if (w->dtls_in.n == DP_BURST)
				dp_dtls_flush(w, &w->dtls_in, dp.dtls_in, DP_CNT_DTLS_IN_REFUSED);
			return;
		}
		if (!p->rss && dp.nb_workers > 1) {
			owner = flow_owner(frame, &pk, f == NET_UDP6);
			if (owner != w->index) {
				m->l2_len = pk.l3_off;
				m->l3_len = pk.l4_off - pk.l3_off;
				m->packet_type = (f == NET_UDP6 ? RTE_PTYPE_L3_IPV6 :
						  RTE_PTYPE_L3_IPV4) | RTE_PTYPE_L4_UDP;
				c[DP_CNT_STEER_OUT]++;
				txbuf_add(&w->steer[owner], m);
				if (w->steer[owner].n == DP_BURST)
					flush_steer(w, owner);
				return;
			}
		}
		udp_dispatch(w, p, pidx, m, &pk, c);
		return;
	case NET_UDP_BCAST:
		/* no flow to steer: any worker answers a search */
		if (dp.mqttsn && pk.dst_port == dp.mqttsn_port) {
			mqttsn_rx_bcast(w, pidx, m, &pk);
			return;
		}
		punt(w, p, pidx, m, c);
		return;
	case NET_PUNT:
		punt(w, p, pidx, m, c);
		return;
	default:
		rte_pktmbuf_free(m);
		return;
	}
}

void
dp_worker_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_port *p = &dp.ports[pidx];
	uint64_t c[DP_CNT_LOCAL_MAX] = { 0 };
	uint16_t i;

	for (i = 0; i < n && i < PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_OFFSET], void *));
		c[DP_CNT_RX_PACKETS]++;
		c[DP_CNT_RX_BYTES] += pkts[i]->pkt_len;
		handle(w, p, pidx, pkts[i], c);
	}
	publish(w, pidx, c);
}

/* Datagrams another worker steered here: classified already (see top). */
static void
steer_rx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t pidx = dp.port_idx_of[m->port];
		uint64_t c[DP_CNT_LOCAL_MAX];
		struct net_pkt pk;

		/* rare enough per port that a full local table is not worth it */
		c[DP_CNT_UDP_UNHANDLED] = 0;
		c[DP_CNT_EXC_NONE] = 0;
		c[DP_CNT_DTLS_DECRYPTED] = 0;
		pkt_of_steered(m, &pk);
		udp_dispatch(w, &dp.ports[pidx], pidx, m, &pk, c);
		if (c[DP_CNT_DTLS_DECRYPTED]) {
			/* from the control plane, not from another worker */
			dp_cnt_add(w, pidx, DP_CNT_DTLS_DECRYPTED, 1);
			continue;
		}
		dp_cnt_add(w, pidx, DP_CNT_STEER_IN, 1);
		if (c[DP_CNT_UDP_UNHANDLED])
			dp_cnt_add(w, pidx, DP_CNT_UDP_UNHANDLED, c[DP_CNT_UDP_UNHANDLED]);
		if (c[DP_CNT_EXC_NONE])
			dp_cnt_add(w, pidx, DP_CNT_EXC_NONE, c[DP_CNT_EXC_NONE]);
	}
}

/* Frames the host stack sent on the exception interface go out the port. */
static void
exc_rx(struct dp_worker *w, uint16_t pidx, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_txbuf *b = &w->tx[pidx];

	dp_cnt_add(w, pidx, DP_CNT_EXC_RX, n);
	for (uint16_t i = 0; i < n; i++) {
		txbuf_add(b, pkts[i]);
		if (b->n == DP_BURST)
			flush_port(w, pidx);
	}
}

/* DTLS records the control plane made: out the port, past dp_tx()'s check. */
static void
ctl_tx_rx(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		uint16_t pidx = dp.port_idx_of[pkts[i]->port];

		dp_cnt_add(w, pidx, DP_CNT_DTLS_TX, 1);
		txbuf_add(&w->tx[pidx], pkts[i]);
		if (w->tx[pidx].n == DP_BURST)
			flush_port(w, pidx);
	}
}

void
dp_worker_poll(struct dp_worker *w)
{
	struct rte_mbuf *pkts[DP_BURST];
	uint16_t i, n;

	for (i = 0; i < w->nb_rxq; i++) {
		const struct dp_rxq *q = &w->rxq[i];

		n = rte_eth_rx_burst(q->port_id, q->queue, pkts, DP_BURST);
		if (n == 0)
			continue;
		if (q->exception)
			exc_rx(w, q->port_idx, pkts, n);
		else
			dp_worker_rx(w, q->port_idx, pkts, n);
	}
	if (w->steer_ring) {
		n = (uint16_t)rte_ring_dequeue_burst(w->steer_ring, (void **)pkts, DP_BURST, NULL);
		if (n)
			steer_rx(w, pkts, n);
	}
	if (unlikely(w->ctl_tx != NULL)) {
		n = (uint16_t)rte_ring_sc_dequeue_burst(w->ctl_tx, (void **)pkts, DP_BURST, NULL);
		if (n)
			ctl_tx_rx(w, pkts, n);
	}
	if (w->mq)
		mqttsn_poll(w);
	if (w->cp)
		coap_poll(w);
	dp_worker_flush(w);
}

int
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;

	unsigned int exc = 0;

	for (uint16_t i = 0; i < w->nb_rxq; i++)
		exc += w->rxq[i].exception;
	DP_LOG(INFO, "worker %u on lcore %u: %u port rx queue(s), %u exception queue(s)",
	       w->index, w->lcore_id, w->nb_rxq - exc, exc);
	/* a QSBR reader of the topic table: quiescent between iterations */
	rcu_register_thread();
	while (!__atomic_load_n(&dp.quit, __ATOMIC_RELAXED)) {
		dp_worker_poll(w);
		rcu_quiescent_state();
	}
	dp_worker_flush(w);
	rcu_unregister_thread();
	return 0;
}

void
dp_worker_drain(struct dp_worker *w)
{
	struct rte_mbuf *m;

	dp_worker_flush(w);
	if (w->cp)
		coap_drain(w);
	if (w->mq)
		mqttsn_drain(w);
	while (w->ctl_tx && rte_ring_dequeue(w->ctl_tx, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	/* datagrams steered here after this worker's last iteration */
	while (w->steer_ring && rte_ring_dequeue(w->steer_ring, (void **)&m) == 0) {
		dp_cnt_add(w, dp.port_idx_of[m->port], DP_CNT_STEER_REFUSED, 1);
		rte_pktmbuf_free(m);
	}
}

struct dp_worker *
dp_worker_create(unsigned int index, unsigned int lcore_id)
{
	struct dp_worker *w;
	char name[RTE_RING_NAMESIZE];
	int socket = (int)rte_lcore_to_socket_id(lcore_id);

	w = rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		return NULL;
	w->index = index;
	w->lcore_id = lcore_id;
	w->txq = (uint16_t)index;
	snprintf(name, sizeof(name), "tern_steer_%u", index);
	/* many workers steer to one owner: multi-producer, single-consumer */
	w->steer_ring = rte_ring_create(name, DP_STEER_RING, socket, RING_F_SC_DEQ);
	if (w->steer_ring == NULL) {
		rte_free(w);
		return NULL;
	}
	return w;
}
