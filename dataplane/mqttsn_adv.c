/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ADVERTISE (MQTT-SN v1.2, 5.4.1 and 6.1): the gateway tells the clients on
 * its links that it is there, every mqttsn.advertise_interval seconds, with
 * that interval as the message's Duration (a client that hears nothing for
 * longer may take the gateway for gone).
 *
 * The router has no socket to broadcast from: each round builds one frame
 * per port that has an address of the advertised address's family, from
 * that port's addresses to mqttsn.advertise_address, UDP port mqttsn.port
 * both ways, and queues it on the port like any other reply. The Ethernet
 * destination follows from the IP one, no ARP or ND: broadcast for an IPv4
 * address that is not multicast (255.255.255.255 or a directed broadcast),
 * the RFC 1112 and RFC 2464 mappings for multicast.
 *
 * A directed broadcast (an IPv4 address that is neither multicast nor
 * 255.255.255.255) goes out only of the ports whose subnet it is.
 *
 * One copy per port, so one sender: worker 0. Its timer is a TSC deadline
 * in this file (adv_next), read and written by worker 0 only, checked once
 * per iteration: no other worker touches it and struct mq_worker keeps no
 * state for a feature only one worker has. The deadline is armed on worker
 * 0's first poll of a node (a new mq; should a new one land at the old's
 * address, the old deadline has passed and the first round goes at once),
 * so the first ADVERTISE goes out ADV_FIRST_MS after the workers start and
 * the next ones an interval apart. Nothing persists across a restart, so a
 * static is all it takes.
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "dataplane/mqttsn_priv.h"

#define ADV_FIRST_MS 500
/* Link-scope IPv6 multicast goes out with hop limit 255, as ND does (RFC 4861). */
#define ADV_HOP_LIMIT_LINK 255
#define ADV_IP6_HLEN 40
#define ADV_IP6_HLIM 7          /* offset of the hop limit in the IPv6 header */
#define ADV_UDP_HLEN 8

/* Does an IPv4 ADVERTISE to @p a belong on the link of @p nif? */
static bool
adv_on_link(const struct net_if *nif, const uint8_t a[4])
{
	uint32_t dst, own, mask;

	if (a[0] >= 224 || (a[0] & a[1] & a[2] & a[3]) == 255)
		return true;    /* multicast, or the limited broadcast: every link */
	dst = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	own = (uint32_t)nif->ip4[0] << 24 | (uint32_t)nif->ip4[1] << 16 |
	      (uint32_t)nif->ip4[2] << 8 | nif->ip4[3];
	mask = nif->ip4_prefix == 0 ? 0 : ~(uint32_t)0 << (32 - nif->ip4_prefix);
	return (dst & mask) == (own & mask);
}

/* Worker 0 only: the next round's TSC deadline, and the node it was armed for. */
static uint64_t adv_next;
static const struct mq_global *adv_armed_for;

/* The Ethernet destination of advertise_addr. */
static void
adv_dst_mac(const struct dp_mqttsn_params *p, uint8_t mac[NET_ETH_ALEN])
{
	const uint8_t *a = p->advertise_addr;

	if (p->advertise_v6) {
		/* RFC 2464 7: 33:33 and the low 32 bits */
		mac[0] = 0x33;
		mac[1] = 0x33;
		memcpy(mac + 2, a + 12, 4);
	} else if ((a[0] & 0xf0) == 0xe0) {
		/* RFC 1112 6.4: 01:00:5e and the low 23 bits */
		mac[0] = 0x01;
		mac[1] = 0x00;
		mac[2] = 0x5e;
		mac[3] = a[1] & 0x7f;
		mac[4] = a[2];
		mac[5] = a[3];
	} else {
		memset(mac, 0xff, NET_ETH_ALEN);
	}
}

/* One ADVERTISE out of port @p pidx; NULL if there is no buffer or no room. */
static struct rte_mbuf *
adv_frame(uint16_t pidx, const struct net_peer *peer, const struct mqttsn_msg *msg)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	size_t hl = net_udp_header_len(peer);
	uint8_t *buf;
	int len;

	if (m == NULL)
		return NULL;
	buf = rte_pktmbuf_mtod(m, uint8_t *);
	len = mqttsn_encode(buf + hl, rte_pktmbuf_tailroom(m) - hl, msg);
	if (len < 0 ||
	    net_udp_header(buf, hl, &dp.ports[pidx].nif, peer, mq->p.port, (size_t)len,
			   net_cksum_add(0, buf + hl, (size_t)len)) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	/*
	 * net_udp_header() gives hop limit 64, right for a unicast answer. The
	 * hop limit is not in the UDP checksum's pseudo-header: nothing to fix.
	 */
	if (peer->v6 && (peer->addr[1] & 0x0f) <= 2)
		buf[hl - ADV_UDP_HLEN - ADV_IP6_HLEN + ADV_IP6_HLIM] = ADV_HOP_LIMIT_LINK;
	m->data_len = (uint16_t)(hl + (size_t)len);
	m->pkt_len = m->data_len;
	return m;
}

void
mq_adv_poll(struct dp_worker *w)
{
	const struct dp_mqttsn_params *p = &mq->p;
	struct mqttsn_msg msg;
	struct net_peer peer;
	uint64_t now;

	if (w->index != 0 || likely(!p->advertise))
		return;
	now = rte_get_tsc_cycles();
	if (unlikely(adv_armed_for != mq)) {
		adv_armed_for = mq;
		adv_next = now + rte_get_tsc_hz() / 1000 * ADV_FIRST_MS;
		return;
	}
	if (likely(now < adv_next))
		return;
	adv_next = now + rte_get_tsc_hz() * p->advertise_interval;

	msg = (struct mqttsn_msg){
		.type = MQTTSN_ADVERTISE,
		.gw_id = p->gateway_id,
		.duration = p->advertise_interval,
	};
	memset(&peer, 0, sizeof(peer));
	adv_dst_mac(p, peer.mac);
	peer.v6 = p->advertise_v6;
	peer.port = p->port;
	peer.lport = p->port;
	memcpy(peer.addr, p->advertise_addr, p->advertise_v6 ? 16 : 4);
	for (uint16_t pidx = 0; pidx < dp.nb_ports; pidx++) {
		const struct net_if *nif = &dp.ports[pidx].nif;
		struct rte_mbuf *m;

		if (p->advertise_v6 ? !nif->has_ip6 : !nif->has_ip4)
			continue;
		if (!p->advertise_v6 && !adv_on_link(nif, p->advertise_addr))
			continue;
		m = adv_frame(pidx, &peer, &msg);
		if (m == NULL) {
			dp_cnt_add(w, pidx, DP_CNT_MQTTSN_DELIVER_FAILED, 1);
			continue;
		}
		dp_cnt_add(w, pidx, DP_CNT_MQTTSN_TX_ADVERTISE, 1);
		dp_tx(w, pidx, m);
	}
}
