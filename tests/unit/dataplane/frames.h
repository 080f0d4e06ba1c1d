/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TESTS_FRAMES_H
#define TERN_TESTS_FRAMES_H

/*
 * Request frames from the client 192.0.2.2 (02:00:5e:00:53:02) to the
 * ring fixture's router 192.0.2.1 (02:00:5e:00:53:01), built with DPDK's
 * own checksum helpers, an implementation independent of proto/net.c.
 * Shared by tests/unit/dataplane and tests/bench.
 */

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

static const uint8_t fr_router_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
static const uint8_t fr_client_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x02 };
static const uint8_t fr_router4[4] = { 192, 0, 2, 1 };
static const uint8_t fr_client4[4] = { 192, 0, 2, 2 };

#define FR_L3 14   /* IPv4 header offset: untagged Ethernet */
#define FR_L4 34   /* L4 header offset */

static inline size_t
fr_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, fr_client_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

/* Recompute the IPv4 header checksum of the frame (after editing the header). */
static inline void
fr_ip4_fix_cksum(uint8_t *f)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(void *)(f + FR_L3);

	h->hdr_checksum = 0;
	h->hdr_checksum = rte_ipv4_cksum(h);
}

static inline size_t
fr_ip4(uint8_t *f, uint8_t proto, size_t l4len)
{
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)(void *)f;

	memset(f, 0, 20);
	h->version_ihl = 0x45;
	h->total_length = rte_cpu_to_be_16((uint16_t)(20 + l4len));
	h->time_to_live = 64;
	h->next_proto_id = proto;
	memcpy(&h->src_addr, fr_client4, 4);
	memcpy(&h->dst_addr, fr_router4, 4);
	h->hdr_checksum = rte_ipv4_cksum(h);
	return 20;
}

/* UDP with @p paylen bytes of 'x'. */
static inline size_t
fr_udp4(uint8_t *f, uint16_t sport, uint16_t dport, size_t paylen)
{
	size_t off = fr_eth(f, fr_router_mac, 0x0800);
	uint16_t ulen = (uint16_t)(8 + paylen);
	struct rte_udp_hdr *u;

	off += fr_ip4(f + off, IPPROTO_UDP, ulen);
	u = (struct rte_udp_hdr *)(void *)(f + off);
	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(ulen);
	u->dgram_cksum = 0;
	memset(u + 1, 'x', paylen);
	u->dgram_cksum = rte_ipv4_udptcp_cksum((const struct rte_ipv4_hdr *)(void *)(f + FR_L3), u);
	return off + ulen;
}

/*
 * UDP from the client 192.0.2.2 port @p sport to the router's port @p dport
 * carrying @p data[0..len) (an MQTT-SN message, a CoAP request, ...).
 */
static inline size_t
fr_udp4_data(uint8_t *f, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	size_t off = fr_eth(f, fr_router_mac, 0x0800);
	uint16_t ulen = (uint16_t)(8 + len);
	struct rte_udp_hdr *u;

	off += fr_ip4(f + off, IPPROTO_UDP, ulen);
	u = (struct rte_udp_hdr *)(void *)(f + off);
	u->src_port = rte_cpu_to_be_16(sport);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(ulen);
	u->dgram_cksum = 0;
	memcpy(u + 1, data, len);
	u->dgram_cksum = rte_ipv4_udptcp_cksum((const struct rte_ipv4_hdr *)(void *)(f + FR_L3), u);
	return off + ulen;
}

/* ICMP echo request (id 7, seq 1) with @p paylen payload bytes 8, 9, ... */
static inline size_t
fr_icmp4_echo(uint8_t *f, size_t paylen)
{
	size_t off = fr_eth(f, fr_router_mac, 0x0800);
	size_t len = 8 + paylen;
	uint8_t *icmp;
	uint16_t c;

	off += fr_ip4(f + off, IPPROTO_ICMP, len);
	icmp = f + off;
	memset(icmp, 0, 8);
	icmp[0] = 8;
	icmp[5] = 7;
	icmp[7] = 1;
	for (size_t i = 8; i < len; i++)
		icmp[i] = (uint8_t)i;
	c = (uint16_t)~rte_raw_cksum(icmp, len);
	memcpy(icmp + 2, &c, 2);
	return off + len;
}

/* ARP request for the router's address, padded to the 60-byte minimum. */
static inline size_t
fr_arp_request(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t off = fr_eth(f, bcast, 0x0806);
	uint8_t *a = f + off;

	a[0] = 0; a[1] = 1; a[2] = 0x08; a[3] = 0; a[4] = 6; a[5] = 4; a[6] = 0; a[7] = 1;
	memcpy(a + 8, fr_client_mac, 6);
	memcpy(a + 14, fr_client4, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, fr_router4, 4);
	memset(a + 28, 0, 60 - (off + 28));
	return 60;
}

#endif
