/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's side of DTLS (DESIGN.md section 6, docs/dtls.md): the
 * control plane terminates DTLS; the workers only move datagrams.
 *
 *   port -> worker: UDP to a DTLS port ------ dtls_in ring ----> control plane
 *   control plane: decrypted message -------- owner's steer ring --> worker
 *        (a frame as if the peer had sent it in plaintext to the DTLS port,
 *         the peer's identity in the headroom: dp_dtls_identity())
 *   worker: a node's frame from a DTLS port -- dtls_out ring ---> control plane
 *   control plane: records for a peer -------- a worker's ctl_tx ring --> port
 *
 * So a protocol node treats a DTLS peer like any other: its session or
 * endpoint is keyed with the port the peer sent to (net_peer.lport), and
 * answers leave from that port; dp_tx() recognises frames from a DTLS port
 * and hands them to the control plane instead of the port. Frames the
 * control plane sends (records) go through a worker's ctl_tx ring straight
 * to its TX buffer, past that check.
 *
 * The rings: dtls_in and dtls_out have many producers (the workers) and one
 * consumer (the main lcore); each ctl_tx has one of each. Everything here
 * but dp_dtls_setup() is either a worker's (dp_priv.h) or the main lcore's
 * (dp.h) and never blocks.
 */

#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/dp_priv.h"
#include "dataplane/mqttsn_priv.h"

#define DTLS_RING 4096
#define CTL_TX_RING 4096

/*
 * An injected frame starts this far into its buffer: the identity and its
 * length, and a mark, sit just before it (dp_dtls_identity()).
 */
#define INJECT_HEADROOM (RTE_PKTMBUF_HEADROOM + DP_DTLS_IDENTITY_MAX + 2)
#define IDENTITY_MARK 0xd7

int
dp_dtls_setup(const struct dp_dtls_params *p, char *err, size_t errlen)
{
	unsigned int i;

	if (p->coap_port == 0 && p->mqttsn_port == 0)
		return 0;
	if (p->coap_port != 0 && !dp.coap) {
		snprintf(err, errlen, "dtls.coap_port needs the CoAP node (coap.enabled)");
		return -EINVAL;
	}
	if (p->mqttsn_port != 0 && !dp.mqttsn) {
		snprintf(err, errlen, "dtls.mqttsn_port needs the MQTT-SN node (mqttsn.enabled)");
		return -EINVAL;
	}
	dp.dtls_in = rte_ring_create("tern_dtls_in", DTLS_RING, (int)rte_socket_id(),
				     RING_F_SC_DEQ);
	dp.dtls_out = rte_ring_create("tern_dtls_out", DTLS_RING, (int)rte_socket_id(),
				      RING_F_SC_DEQ);
	if (dp.dtls_in == NULL || dp.dtls_out == NULL)
		goto nomem;
	for (i = 0; i < dp.nb_workers; i++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "tern_ctl_tx_%u", i);
		dp.worker[i]->ctl_tx = rte_ring_create(name, CTL_TX_RING, (int)rte_socket_id(),
						       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (dp.worker[i]->ctl_tx == NULL)
			goto nomem;
	}
	if (p->mqttsn_port != 0 && mq_dtls_init() < 0)
		goto nomem;
	dp.dtls_coap_port = p->coap_port;
	dp.dtls_mqttsn_port = p->mqttsn_port;
	return 0;
nomem:
	snprintf(err, errlen, "cannot create the DTLS rings: %s", rte_strerror(rte_errno));
	dp_dtls_teardown();
	return -ENOMEM;
}

static void
ring_free_all(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (r != NULL && rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
dp_dtls_teardown(void)
{
	ring_free_all(dp.dtls_in);
	ring_free_all(dp.dtls_out);
	dp.dtls_in = NULL;
	dp.dtls_out = NULL;
	for (unsigned int i = 0; i < dp.nb_workers; i++) {
		if (dp.worker[i] == NULL)
			continue;
		ring_free_all(dp.worker[i]->ctl_tx);
		dp.worker[i]->ctl_tx = NULL;
	}
	dp.dtls_coap_port = 0;
	dp.dtls_mqttsn_port = 0;
}

bool
dp_dtls_enabled(void)
{
	return dp.dtls_in != NULL;
}

/* ---- the workers' side ---- */

/* Flush a worker's buffer for a ring to the control plane; count what it refused. */
void
dp_dtls_flush(struct dp_worker *w, struct dp_txbuf *b, struct rte_ring *r, unsigned int refused)
{
	unsigned int sent = rte_ring_enqueue_burst(r, (void **)b->m, b->n, NULL);

	for (unsigned int i = sent; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];

		dp_cnt_add(w, dp.port_idx_of[m->port], refused, 1);
		rte_pktmbuf_free(m);
	}
	b->n = 0;
}

const char *
dp_dtls_identity(const struct rte_mbuf *m, size_t *len)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t n;

	/* only frames dp_dtls_inject() made have the mark: others have no identity */
	if (m->data_off < INJECT_HEADROOM || f[-1] != IDENTITY_MARK) {
		*len = 0;
		return "";
	}
	n = f[-2];
	*len = n;
	return (const char *)f - 2 - n;
}

/* ---- the control plane's side ---- */

/* The headers of a frame of ours or a peer's: where its UDP payload is, and the peer. */
static int
parse(struct rte_mbuf *m, bool from_peer, struct dp_dgram *d, uint8_t *buf, size_t cap)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip, *udp, *payload;
	size_t off = 12, hl = rte_pktmbuf_data_len(m);
	uint16_t et, ulen;

	memset(d, 0, sizeof(*d));
	if (hl < 14)
		return -EINVAL;
	et = (uint16_t)(f[12] << 8 | f[13]);
	if (et == 0x8100) {
		if (hl < 18)
			return -EINVAL;
		d->peer.has_vlan = true;
		d->peer.vlan_tci = (uint16_t)(f[14] << 8 | f[15]);
		off = 16;
		et = (uint16_t)(f[16] << 8 | f[17]);
	}
	ip = f + off + 2;
	if (et == 0x0800) {
		if (hl < off + 2 + 20 + 8)
			return -EINVAL;
		udp = ip + (ip[0] & 0x0f) * 4;
		memcpy(d->peer.addr, ip + (from_peer ? 12 : 16), 4);
	} else if (et == 0x86dd) {
		if (hl < off + 2 + 40 + 8)
			return -EINVAL;
		d->peer.v6 = true;
		udp = ip + 40;
		memcpy(d->peer.addr, ip + (from_peer ? 8 : 24), 16);
	} else {
		return -EINVAL;
	}
	if ((size_t)(udp - f) + 8 > hl)
		return -EINVAL;
	memcpy(d->peer.mac, f + (from_peer ? 6 : 0), 6);
	d->peer.port = (uint16_t)(udp[from_peer ? 0 : 2] << 8 | udp[from_peer ? 1 : 3]);
	d->peer.lport = (uint16_t)(udp[from_peer ? 2 : 0] << 8 | udp[from_peer ? 3 : 1]);
	ulen = (uint16_t)(udp[4] << 8 | udp[5]);
	if (ulen < 8 || (size_t)(udp - f) + ulen > rte_pktmbuf_pkt_len(m) || ulen - 8u > cap)
		return -EMSGSIZE;
	d->len = (uint16_t)(ulen - 8);
	d->pidx = dp.port_idx_of[m->port];
	payload = rte_pktmbuf_read(m, (uint32_t)(udp - f) + 8, d->len, buf);
	if (payload == NULL)
		return -EINVAL;
	if (payload != buf)
		memcpy(buf, payload, d->len);
	return 0;
}

/* The next datagram of @p r, parsed into @p d and @p buf; 1, 0 (none), or -errno (freed). */
static int
next(struct rte_ring *r, bool from_peer, struct dp_dgram *d, uint8_t *buf, size_t cap)
{
	struct rte_mbuf *m;
	int ret;

	if (r == NULL || rte_ring_sc_dequeue(r, (void **)&m) != 0)
		return 0;
	ret = parse(m, from_peer, d, buf, cap);
	rte_pktmbuf_free(m);
	return ret < 0 ? ret : 1;
}

int
dp_dtls_recv(struct dp_dgram *d, uint8_t *buf, size_t cap)
{
	return next(dp.dtls_in, true, d, buf, cap);
}

int
dp_dtls_next_out(struct dp_dgram *d, uint8_t *buf, size_t cap)
{
	return next(dp.dtls_out, false, d, buf, cap);
}

/* The worker that owns a peer's flow: worker.c's flow_owner() from a struct net_peer. */
static unsigned int
owner_of(const struct net_peer *peer)
{
	uint64_t src6[2];
	uint32_t h, src4;

	if (peer->v6) {
		memcpy(src6, peer->addr, 16);
		h = rte_hash_crc(src6, 16, peer->port);
	} else {
		memcpy(&src4, peer->addr, 4);
		h = rte_hash_crc_4byte(src4, peer->port);
	}
	return (unsigned int)(((uint64_t)h * dp.nb_workers) >> 32);
}

/* A frame towards @p d->peer from @p d->peer.lport with @p len payload octets. */
static struct rte_mbuf *
frame(const struct dp_dgram *d, const uint8_t *data, size_t len, uint16_t headroom,
      size_t *hl_out)
{
	struct rte_mbuf *m;
	size_t hl = net_udp_header_len(&d->peer);
	uint8_t *buf;

	if (d->pidx >= dp.nb_ports)
		return NULL;
	m = rte_pktmbuf_alloc(dp.pool);
	if (m == NULL)
		return NULL;
	m->data_off = headroom;
	if (hl + len > rte_pktmbuf_tailroom(m)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	buf = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(buf + hl, data, len);
	if (net_udp_header(buf, hl, &dp.ports[d->pidx].nif, &d->peer, d->peer.lport, len,
			   net_cksum_add(0, buf + hl, len)) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	m->data_len = (uint16_t)(hl + len);
	m->pkt_len = m->data_len;
	m->port = dp.ports[d->pidx].port_id;
	*hl_out = hl;
	return m;
}

static void
swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

int
dp_dtls_inject(const struct dp_dgram *from, const char *identity, const uint8_t *msg,
	       size_t len)
{
	size_t idlen = strlen(identity), hl;
	struct rte_mbuf *m;
	uint8_t *f, *ip, *udp;
	size_t l2 = 14 + (from->peer.has_vlan ? 4 : 0);

	if (idlen > DP_DTLS_IDENTITY_MAX || len == 0)
		return -EINVAL;
	if (dp.dtls_in == NULL)
		return -ENOTCONN;
	m = frame(from, msg, len, INJECT_HEADROOM, &hl);
	if (m == NULL)
		return -ENOBUFS;
	/* turned round: from the peer to our DTLS port, as if it came in plain */
	f = rte_pktmbuf_mtod(m, uint8_t *);
	ip = f + l2;
	udp = f + hl - 8;
	swap(f, f + 6, 6);
	if (from->peer.v6)
		swap(ip + 8, ip + 24, 16);
	else
		swap(ip + 12, ip + 16, 4);
	swap(udp, udp + 2, 2);
	f[-1] = IDENTITY_MARK;
	f[-2] = (uint8_t)idlen;
	memcpy(f - 2 - idlen, identity, idlen);
	/* what a steered datagram carries (worker.c) */
	m->l2_len = (uint8_t)l2;
	m->l3_len = (uint16_t)(udp - ip);
	m->packet_type = (from->peer.v6 ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4) |
			 RTE_PTYPE_L4_UDP;
	if (rte_ring_mp_enqueue(dp.worker[owner_of(&from->peer)]->steer_ring, m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOSPC;
	}
	return 0;
}

int
dp_dtls_send(const struct dp_dgram *to, const uint8_t *data, size_t len)
{
	struct rte_mbuf *m;
	size_t hl;

	if (dp.dtls_in == NULL)
		return -ENOTCONN;
	m = frame(to, data, len, RTE_PKTMBUF_HEADROOM, &hl);
	if (m == NULL)
		return -ENOBUFS;
	if (rte_ring_sp_enqueue(dp.worker[owner_of(&to->peer)]->ctl_tx, m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOSPC;
	}
	return 0;
}

void
dp_dtls_drain(void)
{
	struct rte_mbuf *m;

	while (dp.dtls_in != NULL && rte_ring_dequeue(dp.dtls_in, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (dp.dtls_out != NULL && rte_ring_dequeue(dp.dtls_out, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}
