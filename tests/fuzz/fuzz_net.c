/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for net_classify() and the in-place reply builders.
 *
 * The input is one Ethernet frame. It is classified on a fixed interface with
 * no hardware verdict and with each NET_HW_* flag; whenever the fate has a
 * reply, the reply is built on a copy in a buffer of len + 64 bytes (the
 * sanitizers catch any write past it) and checked:
 *  - the length is positive and fits the buffer, and the frame_len/offsets
 *    classify reported lie inside the input;
 *  - checksums the builder is responsible for verify by recomputation (the
 *    IPv4 header one only when software checked the request's, since with a
 *    hardware GOOD verdict a wrong request checksum is carried over).
 * Any violation aborts, which libFuzzer reports as a crash.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/net.h"

static const struct net_if ifc = {
	.mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.has_ip4 = true,
	.has_ip6 = true,
	.ip4 = { 192, 0, 2, 1 },
	.ip4_prefix = 24,
	/* Low 24 bits 00:00:01 keep the solicited-node group easy to hit. */
	.ip6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
};

static const unsigned int hw_flags[] = {
	0,
	NET_HW_IP_CKSUM_GOOD,
	NET_HW_IP_CKSUM_BAD,
	NET_HW_L4_CKSUM_GOOD,
	NET_HW_L4_CKSUM_BAD,
};

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
check_reply(const uint8_t *data, size_t len, enum net_fate f, const struct net_pkt *p,
	    unsigned int hw)
{
	size_t cap = len + 64;
	uint8_t *buf = malloc(cap);
	const uint8_t *ip;
	int r;

	CHECK(buf != NULL);
	memcpy(buf, data, len);
	ip = buf + p->l3_off;
	switch (f) {
	case NET_ARP_REQUEST:
		r = net_arp_reply(buf, p, &ifc);
		CHECK(r > 0 && (size_t)r <= len);
		CHECK(memcmp(buf + 6, ifc.mac, 6) == 0);
		break;
	case NET_ICMP4_ECHO:
		r = net_icmp4_echo_reply(buf, p, &ifc);
		CHECK(r > 0 && (size_t)r <= len);
		if (!(hw & NET_HW_IP_CKSUM_GOOD))
			CHECK(net_cksum_fold(net_cksum_add(0, ip, (size_t)(ip[0] & 15) * 4)) == 0);
		CHECK(net_cksum_fold(net_cksum_add(0, buf + p->l4_off, p->l4_len)) == 0);
		break;
	case NET_ICMP6_ECHO:
		r = net_icmp6_echo_reply(buf, p, &ifc);
		CHECK(r > 0 && (size_t)r <= len);
		CHECK(net_l4_cksum6(ip + 8, ip + 24, NET_IPPROTO_ICMPV6, buf + p->l4_off,
				    p->l4_len) == 0);
		break;
	case NET_ND_SOLICIT:
		CHECK(net_nd_advert(buf, (size_t)p->l3_off + 71, p, &ifc) == -ENOSPC);
		r = net_nd_advert(buf, cap, p, &ifc);
		CHECK(r > 0 && (size_t)r <= cap);
		CHECK(net_l4_cksum6(ip + 8, ip + 24, NET_IPPROTO_ICMPV6, buf + p->l4_off,
				    (size_t)r - p->l4_off) == 0);
		break;
	default:
		r = 0;
		break;
	}
	/* A reply must never classify as something the router answers again. */
	if (r > 0 && f != NET_ND_SOLICIT) {
		struct net_pkt q;
		enum net_fate g = net_classify(buf, (size_t)r, &ifc, 0, &q);

		CHECK(g != NET_ARP_REQUEST && g != NET_ICMP4_ECHO && g != NET_ICMP6_ECHO);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(hw_flags) / sizeof(hw_flags[0]); i++) {
		struct net_pkt p;
		enum net_fate f = net_classify(data, len, &ifc, hw_flags[i], &p);

		CHECK((unsigned int)f < NET_FATE_MAX);
		CHECK(net_fate_name(f) != NULL);
		if (f >= NET_FATE_FIRST_DROP)
			continue;
		CHECK(p.frame_len <= len);
		CHECK(p.l3_off == 14 || p.l3_off == 18);
		CHECK(p.frame_len > p.l3_off);
		if (p.l4_off)
			CHECK(p.l4_off <= p.frame_len && p.l4_off + p.l4_len <= p.frame_len);
		check_reply(data, len, f, &p, hw_flags[i]);
	}
	return 0;
}
