/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_classify() and the in-place replies, on frames built byte by byte.
 *
 * The expected replies are built with the same frame builders and checksummed
 * by a deliberately naive reference (byte pairs, big-endian), so a checksum
 * bug in proto/net.c cannot hide behind itself. Every fate in
 * FOREACH_NET_FATE must be reached by at least one crafted frame.
 */
#include <errno.h>
#include <stdlib.h>

#include "proto/net.h"
#include "tests/unit/tap.h"

#define MAXF 1600

static const uint8_t our_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t other_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];
static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t snm_mac[6] = { 0x33, 0x33, 0xff, 0xaa, 0xbb, 0xcc };

static const uint8_t our_ip4[4] = { 192, 0, 2, 1 };
static const uint8_t peer_ip4[4] = { 192, 0, 2, 2 };
static const uint8_t other_ip4[4] = { 192, 0, 2, 99 };
static const uint8_t zero_ip4[4];
static const uint8_t dbcast_ip4[4] = { 192, 0, 2, 255 };
static const uint8_t lbcast_ip4[4] = { 255, 255, 255, 255 };
static const uint8_t mcast_ip4[4] = { 224, 0, 0, 251 };
static const uint8_t net_ip4[4] = { 192, 0, 2, 0 };

static const uint8_t our_ip6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t peer_ip6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 };
static const uint8_t other_ip6[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99 };
static const uint8_t our_ll6[16] = {
	0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t peer_ll6[16] = {
	0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 };
static const uint8_t snm_ip6[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xaa, 0xbb, 0xcc };
static const uint8_t other_snm_ip6[16] = {
	0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0x99 };
static const uint8_t all_nodes_ip6[16] = { 0xff, 0x02, [15] = 0x01 };
static const uint8_t zero_ip6[16];

static struct net_if ifc;
static bool reached[NET_FATE_MAX];

#define NO_VLAN (-1)
#define TCI 0x2064	/* priority 1, VID 100 */

/* ---- reference checksum: naive, independent of proto/net.c ---- */

static uint32_t
ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- frame builders ---- */

static size_t
eth(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, int vlan, uint16_t et)
{
	size_t n = 12;

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	if (vlan >= 0) {
		wr16(b + n, NET_ETHERTYPE_VLAN);
		wr16(b + n + 2, (uint16_t)vlan);
		n += 4;
	}
	wr16(b + n, et);
	return n + 2;
}

static size_t
l3_of(const uint8_t *b)
{
	return rd16(b + 12) == NET_ETHERTYPE_VLAN ? 18 : 14;
}

static size_t
mk_arp(uint8_t *b, int vlan, const uint8_t *dmac, uint16_t op, const uint8_t *sha,
       const uint8_t *spa, const uint8_t *tha, const uint8_t *tpa)
{
	size_t n = eth(b, dmac, sha, vlan, NET_ETHERTYPE_ARP);
	uint8_t *a = b + n;

	wr16(a, 1);
	wr16(a + 2, NET_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return n + 28;
}

struct ip4_spec {
	const uint8_t *dmac, *smac;
	int vlan;
	const uint8_t *src, *dst;
	uint8_t proto, ttl;
	uint16_t frag, id;
	size_t optlen;			/* bytes of NOP options, multiple of 4 */
	const uint8_t *l4;
	size_t l4len;
};

static size_t
mk_ip4(uint8_t *b, struct ip4_spec s)
{
	size_t n = eth(b, s.dmac ? s.dmac : our_mac, s.smac ? s.smac : peer_mac, s.vlan,
		       NET_ETHERTYPE_IPV4);
	uint8_t *ip = b + n;
	size_t hl = 20 + s.optlen;

	ip[0] = (uint8_t)(0x40 | hl / 4);
	ip[1] = 0;
	wr16(ip + 2, (uint16_t)(hl + s.l4len));
	wr16(ip + 4, s.id ? s.id : 0x1234);
	wr16(ip + 6, s.frag);
	ip[8] = s.ttl ? s.ttl : 64;
	ip[9] = s.proto;
	wr16(ip + 10, 0);
	memcpy(ip + 12, s.src ? s.src : peer_ip4, 4);
	memcpy(ip + 16, s.dst ? s.dst : our_ip4, 4);
	memset(ip + 20, 1, s.optlen);
	wr16(ip + 10, ref_fold(ref_sum(0, ip, hl)));
	memcpy(ip + hl, s.l4, s.l4len);
	return n + hl + s.l4len;
}

struct ip6_spec {
	const uint8_t *dmac, *smac;
	int vlan;
	const uint8_t *src, *dst;
	uint8_t nh, hlim;
	const uint8_t *l4;
	size_t l4len;
};

static size_t
mk_ip6(uint8_t *b, struct ip6_spec s)
{
	size_t n = eth(b, s.dmac ? s.dmac : our_mac, s.smac ? s.smac : peer_mac, s.vlan,
		       NET_ETHERTYPE_IPV6);
	uint8_t *ip = b + n;

	ip[0] = 0x60;
	ip[1] = 0;
	ip[2] = 0;
	ip[3] = 0;
	wr16(ip + 4, (uint16_t)s.l4len);
	ip[6] = s.nh;
	ip[7] = s.hlim ? s.hlim : 64;
	memcpy(ip + 8, s.src ? s.src : peer_ip6, 16);
	memcpy(ip + 24, s.dst ? s.dst : our_ip6, 16);
	memcpy(ip + 40, s.l4, s.l4len);
	return n + 40 + s.l4len;
}

/* Compute and store the L4 checksum of a UDP/ICMP/ICMPv6 frame in place. */
static void
fix_l4(uint8_t *b)
{
	uint8_t *ip = b + l3_of(b);
	uint16_t et = rd16(ip - 2);
	uint8_t proto, *l4, ph[4];
	size_t len, off;
	uint32_t s = 0;
	uint16_t c;

	if (et == NET_ETHERTYPE_IPV4) {
		size_t hl = (size_t)(ip[0] & 15) * 4;

		proto = ip[9];
		l4 = ip + hl;
		len = rd16(ip + 2) - hl;
		if (proto != NET_IPPROTO_ICMP) {
			s = ref_sum(s, ip + 12, 8);
			s += proto + (uint32_t)len;
		}
	} else {
		proto = ip[6];
		l4 = ip + 40;
		len = rd16(ip + 4);
		s = ref_sum(s, ip + 8, 32);
		wr16(ph, 0);
		wr16(ph + 2, (uint16_t)len);
		s = ref_sum(s, ph, 4);
		s += proto;
	}
	off = proto == NET_IPPROTO_UDP ? 6 : 2;
	wr16(l4 + off, 0);
	c = ref_fold(ref_sum(s, l4, len));
	if (proto == NET_IPPROTO_UDP && c == 0)
		c = 0xffff;
	wr16(l4 + off, c);
}

static size_t
mk_udp(uint8_t *l4, uint16_t sport, uint16_t dport, size_t plen)
{
	size_t i;

	wr16(l4, sport);
	wr16(l4 + 2, dport);
	wr16(l4 + 4, (uint16_t)(8 + plen));
	wr16(l4 + 6, 0);
	for (i = 0; i < plen; i++)
		l4[8 + i] = (uint8_t)('a' + i % 26);
	return 8 + plen;
}

static size_t
mk_echo(uint8_t *l4, uint8_t type, uint16_t id, uint16_t seq, size_t plen)
{
	size_t i;

	l4[0] = type;
	l4[1] = 0;
	wr16(l4 + 2, 0);
	wr16(l4 + 4, id);
	wr16(l4 + 6, seq);
	for (i = 0; i < plen; i++)
		l4[8 + i] = (uint8_t)(i * 7 + 3);
	return 8 + plen;
}

/* Neighbour solicitation for @p target, with an SLLA option when @p slla. */
static size_t
mk_ns(uint8_t *l4, const uint8_t *target, const uint8_t *slla)
{
	l4[0] = 135;
	l4[1] = 0;
	wr16(l4 + 2, 0);
	memset(l4 + 4, 0, 4);
	memcpy(l4 + 8, target, 16);
	if (!slla)
		return 24;
	l4[24] = 1;
	l4[25] = 1;
	memcpy(l4 + 26, slla, 6);
	return 32;
}

static size_t
mk_na(uint8_t *l4, uint8_t flags, const uint8_t *target, const uint8_t *tlla)
{
	l4[0] = 136;
	l4[1] = 0;
	wr16(l4 + 2, 0);
	l4[4] = flags;
	memset(l4 + 5, 0, 3);
	memcpy(l4 + 8, target, 16);
	l4[24] = 2;
	l4[25] = 1;
	memcpy(l4 + 26, tlla, 6);
	return 32;
}

/* ---- helpers around the code under test ---- */

static enum net_fate
classify_hw(const uint8_t *b, size_t len, unsigned int hw, struct net_pkt *p)
{
	/* An exact-size heap copy, so a sanitizer build catches any over-read. */
	uint8_t *copy = malloc(len ? len : 1);
	struct net_pkt tmp;
	enum net_fate f;

	memcpy(copy, b, len);
	f = net_classify(copy, len, &ifc, hw, p ? p : &tmp);
	free(copy);
	if ((unsigned int)f < NET_FATE_MAX)
		reached[f] = true;
	return f;
}

static enum net_fate
classify(const uint8_t *b, size_t len, struct net_pkt *p)
{
	return classify_hw(b, len, 0, p);
}

#define is_fate(got, want, ...) do { \
	enum net_fate gf_ = (got), wf_ = (want); \
	if (!ok(gf_ == wf_, __VA_ARGS__)) \
		printf("#   got %s, want %s\n", net_fate_name(gf_), net_fate_name(wf_)); \
} while (0)

static bool
ip4_hdr_ok(const uint8_t *b)
{
	const uint8_t *ip = b + l3_of(b);

	return ref_fold(ref_sum(0, ip, (size_t)(ip[0] & 15) * 4)) == 0;
}

/* ---- tests ---- */

static void
test_names(void)
{
	int i, j;
	bool all = true, uniq = true;

	is_str(net_fate_name(NET_ARP_REQUEST), "arp_request", "first fate name");
	is_str(net_fate_name(NET_UDP4), "udp4", "udp4 name");
	is_str(net_fate_name(NET_DROP_ND_BAD), "drop_nd_bad", "last fate name");
	is_str(net_fate_desc(NET_DROP_RUNT), "frames shorter than an Ethernet (and VLAN) header",
	       "description from the table");
	ok(net_fate_name(NET_FATE_MAX) == NULL, "name past the end is NULL");
	ok(net_fate_desc(NET_FATE_MAX) == NULL, "desc past the end is NULL");
	ok(net_fate_name((enum net_fate)-1) == NULL, "negative fate name is NULL");
	for (i = 0; i < NET_FATE_MAX; i++) {
		if (!net_fate_name(i) || !net_fate_desc(i) || !*net_fate_name(i))
			all = false;
		for (j = 0; j < i && all; j++)
			if (strcmp(net_fate_name(i), net_fate_name(j)) == 0)
				uniq = false;
	}
	ok(all, "every fate has a name and a description");
	ok(uniq, "fate names are unique");
	ok(NET_FATE_FIRST_DROP == NET_DROP_RUNT && NET_PUNT < NET_FATE_FIRST_DROP,
	   "drops come after punt");
}

static void
test_cksum(void)
{
	/* RFC 1071 section 3 example: sum 0xddf2, checksum 0x220d. */
	static const uint8_t rfc[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[301], out[2];
	uint16_t c;
	size_t n, i;
	bool same = true;

	c = net_cksum_fold(net_cksum_add(0, rfc, sizeof(rfc)));
	memcpy(out, &c, 2);
	is_int(rd16(out), 0x220d, "RFC 1071 example, stored in network order");
	c = net_cksum_fold(net_cksum_add(net_cksum_add(0, rfc, 4), rfc + 4, 4));
	memcpy(out, &c, 2);
	is_int(rd16(out), 0x220d, "sums chain over even-length pieces");

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (n = 0; n <= sizeof(buf); n++) {
		c = net_cksum_fold(net_cksum_add(0, buf, n));
		memcpy(out, &c, 2);
		if (rd16(out) != ref_fold(ref_sum(0, buf, n)))
			same = false;
	}
	ok(same, "net_cksum_add matches the reference for lengths 0..301 (odd tail padded)");
	memset(buf, 0xff, sizeof(buf));
	c = net_cksum_fold(net_cksum_add(0, buf, 300));
	is_int(c, 0, "all-ones data folds to checksum 0");
	/* 0xffffffff + 0xffffffff must keep its carry: the result is 0 mod 0xffff. */
	is_int(net_cksum_add(0xffffffffu, buf, 4) % 0xffff, 0,
	       "a saturated running sum carries around");
}

static void
test_arp(int vlan)
{
	uint8_t b[MAXF], want[MAXF];
	size_t n, wn;
	struct net_pkt p;
	int r;
	const char *v = vlan >= 0 ? " (vlan)" : "";

	n = mk_arp(b, vlan, bcast_mac, 1, peer_mac, peer_ip4, zero_mac, our_ip4);
	memset(b + n, 0, 60 - n);	/* padded like a real minimum frame */
	is_fate(classify(b, 60, &p), NET_ARP_REQUEST, "ARP request for our address%s", v);
	is_int(p.l3_off, vlan >= 0 ? 18 : 14, "ARP l3_off%s", v);
	is_int(p.frame_len, n, "ARP frame_len is the ARP length, not the padded one%s", v);
	is_int(p.ethertype, NET_ETHERTYPE_ARP, "ARP ethertype%s", v);
	is_int(p.has_vlan, vlan >= 0, "has_vlan%s", v);
	if (vlan >= 0)
		is_int(p.vlan_tci, vlan, "VLAN TCI reported");
	r = net_arp_reply(b, &p, &ifc);
	wn = mk_arp(want, vlan, peer_mac, 2, our_mac, our_ip4, peer_mac, peer_ip4);
	is_int(r, wn, "ARP reply length%s", v);
	is_mem(b, want, wn, "ARP reply bytes%s", v);
	is_int(net_arp_reply(b, &p, &ifc), -EINVAL, "a reply is not a request any more%s", v);

	/* RFC 5227 probe: sender 0.0.0.0 is still answered, to the asker's MAC. */
	n = mk_arp(b, vlan, bcast_mac, 1, peer_mac, zero_ip4, zero_mac, our_ip4);
	is_fate(classify(b, n, &p), NET_ARP_REQUEST, "ARP probe for our address%s", v);
	is_int(net_arp_reply(b, &p, &ifc), n, "ARP probe reply%s", v);
	is_mem(b + p.l3_off + 24, zero_ip4, 4, "probe reply tpa is 0.0.0.0%s", v);
	is_mem(b, peer_mac, 6, "probe reply to the prober's MAC%s", v);

	n = mk_arp(b, vlan, our_mac, 2, peer_mac, peer_ip4, our_mac, our_ip4);
	is_fate(classify(b, n, &p), NET_PUNT, "ARP reply to us punted%s", v);
	is_int(p.frame_len, n, "punted ARP frame_len%s", v);
	n = mk_arp(b, vlan, bcast_mac, 1, peer_mac, our_ip4, zero_mac, our_ip4);
	is_fate(classify(b, n, &p), NET_PUNT, "gratuitous ARP request for our address punted%s",
		v);
	n = mk_arp(b, vlan, bcast_mac, 2, peer_mac, our_ip4, bcast_mac, our_ip4);
	is_fate(classify(b, n, &p), NET_PUNT, "gratuitous ARP reply for our address punted%s", v);
	is_int(net_arp_reply(b, &p, &ifc), -EINVAL, "no reply to a punted ARP%s", v);
	n = mk_arp(b, vlan, bcast_mac, 1, peer_mac, peer_ip4, zero_mac, other_ip4);
	is_fate(classify(b, n, &p), NET_DROP_ARP_OTHER, "ARP request for another address%s", v);
	n = mk_arp(b, vlan, bcast_mac, 2, peer_mac, peer_ip4, bcast_mac, other_ip4);
	is_fate(classify(b, n, &p), NET_DROP_ARP_OTHER, "ARP reply about others%s", v);

	n = mk_arp(b, vlan, bcast_mac, 1, peer_mac, peer_ip4, zero_mac, our_ip4);
	is_fate(classify(b, n - 1, &p), NET_DROP_ARP_BAD, "ARP one byte short%s", v);
	b[n - 28 + 1] = 6;	/* htype IEEE 802 */
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP htype 6%s", v);
	b[n - 28 + 1] = 1;
	b[n - 28 + 3] = 0x01;	/* ptype 0x0801 */
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP ptype not IPv4%s", v);
	b[n - 28 + 3] = 0x00;
	b[n - 28 + 4] = 8;
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP hlen 8%s", v);
	b[n - 28 + 4] = 6;
	b[n - 28 + 5] = 16;
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP plen 16%s", v);
	b[n - 28 + 5] = 4;
	b[n - 28 + 7] = 3;
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP op 3 (RARP)%s", v);
	b[n - 28 + 7] = 1;
	is_fate(classify(b, n, &p), NET_ARP_REQUEST, "restored request is fine%s", v);
	b[n - 28 + 8] = 0x01;	/* multicast sender MAC */
	is_fate(classify(b, n, &p), NET_DROP_ARP_BAD, "ARP with a multicast sender MAC%s", v);
}

static void
test_l2(void)
{
	uint8_t b[MAXF], l4[64];
	size_t n;
	struct net_pkt p;
	int i;
	bool all = true;

	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN, .proto = NET_IPPROTO_UDP,
				      .l4 = l4, .l4len = mk_udp(l4, 1000, 5683, 4) });
	for (i = 0; i < 14; i++)
		if (classify(b, (size_t)i, &p) != NET_DROP_RUNT)
			all = false;
	ok(all, "frames of 0..13 bytes are runts");
	memcpy(b, other_mac, 6);
	is_fate(classify(b, n, &p), NET_DROP_NOT_OUR_MAC, "unicast to another MAC");
	memcpy(b, bcast_mac, 6);
	is_fate(classify(b, n, &p), NET_UDP4, "broadcast MAC accepted");
	memcpy(b, snm_mac, 6);
	is_fate(classify(b, n, &p), NET_UDP4, "multicast MAC accepted");
	b[0] = 0x03;	/* group bit set on an otherwise "other" address */
	is_fate(classify(b, n, &p), NET_UDP4, "any MAC with the group bit is accepted");
	memcpy(b, our_mac, 6);

	wr16(b + 12, 0x88cc);
	is_fate(classify(b, n, &p), NET_DROP_ETHERTYPE, "LLDP ethertype dropped");
	wr16(b + 12, 0x0026);
	is_fate(classify(b, n, &p), NET_DROP_ETHERTYPE, "802.3 length field dropped");
	wr16(b + 12, 0x88a8);
	is_fate(classify(b, n, &p), NET_DROP_ETHERTYPE, "802.1ad S-tag dropped");

	n = eth(b, our_mac, peer_mac, TCI, NET_ETHERTYPE_IPV4);
	all = true;
	for (i = 14; i < 18; i++)
		if (classify(b, (size_t)i, &p) != NET_DROP_RUNT)
			all = false;
	ok(all, "VLAN frames of 14..17 bytes are runts");
	/* Double tag (QinQ with 0x8100 inside): we take one tag only. */
	n = mk_ip4(b, (struct ip4_spec){ .vlan = TCI, .proto = NET_IPPROTO_UDP,
				      .l4 = l4, .l4len = mk_udp(l4, 1000, 5683, 4) });
	memmove(b + 16, b + 12, n - 12);
	wr16(b + 12, NET_ETHERTYPE_VLAN);
	wr16(b + 14, TCI);
	is_fate(classify(b, n + 4, &p), NET_DROP_ETHERTYPE, "double VLAN tag dropped");
	is_int(p.vlan_tci, TCI, "outer TCI still reported");
}

static void
test_udp4(int vlan)
{
	uint8_t b[MAXF], l4[600];
	size_t n, ul;
	struct net_pkt p;
	const char *v = vlan >= 0 ? " (vlan)" : "";
	size_t l3 = vlan >= 0 ? 18 : 14;

	ul = mk_udp(l4, 40000, 5683, 11);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_UDP,
				      .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_UDP4, "UDP/IPv4 to us%s", v);
	is_int(p.l3_off, l3, "udp4 l3_off%s", v);
	is_int(p.l4_off, l3 + 20, "udp4 l4_off%s", v);
	is_int(p.l4_len, ul, "udp4 l4_len%s", v);
	is_int(p.l4_proto, NET_IPPROTO_UDP, "udp4 l4_proto%s", v);
	is_int(p.src_port, 40000, "udp4 src port (host order)%s", v);
	is_int(p.dst_port, 5683, "udp4 dst port (host order)%s", v);
	is_int(p.frame_len, n, "udp4 frame_len%s", v);
	is_int(p.ethertype, NET_ETHERTYPE_IPV4, "udp4 ethertype%s", v);
	is_int(p.has_vlan, vlan >= 0, "udp4 has_vlan%s", v);

	/* Ethernet padding after a short datagram is ignored. */
	memset(b + n, 0xee, 64);
	is_fate(classify(b, n + 64, &p), NET_UDP4, "padding after the IP length ignored%s", v);
	is_int(p.frame_len, n, "frame_len excludes the padding%s", v);

	b[l3 + 20 + 6] ^= 0x01;
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_CKSUM, "UDP/IPv4 bad checksum%s", v);
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_GOOD, &p), NET_UDP4,
		"hw L4 GOOD skips the software check%s", v);
	b[l3 + 20 + 6] ^= 0x01;
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_BAD, &p), NET_DROP_UDP_BAD_CKSUM,
		"hw L4 BAD drops a good datagram%s", v);
	wr16(b + l3 + 20 + 6, 0);
	is_fate(classify(b, n, &p), NET_UDP4, "zero UDP checksum over IPv4 means none%s", v);

	/* UDP length must match the IP payload exactly. */
	wr16(b + l3 + 20 + 4, (uint16_t)(ul - 1));
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_LEN, "UDP length shorter than payload%s", v);
	wr16(b + l3 + 20 + 4, (uint16_t)(ul + 1));
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_LEN, "UDP length longer than payload%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_UDP, .l4 = l4,
				      .l4len = 6 });
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_LEN, "IP payload shorter than a UDP header%s",
		v);

	/* UDP to a broadcast or multicast address is checked, then its own fate. */
	n = mk_ip4(b, (struct ip4_spec){ .dmac = bcast_mac, .vlan = vlan, .dst = lbcast_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_UDP_BCAST, "UDP to 255.255.255.255: udp_bcast%s", v);
	is_int(p.frame_len, n, "udp_bcast frame_len%s", v);
	is_int(p.dst_port, rd16(l4 + 2), "udp_bcast dst_port%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .dmac = bcast_mac, .vlan = vlan, .dst = dbcast_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_UDP_BCAST, "UDP to the directed broadcast: udp_bcast%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .dmac = bcast_mac, .vlan = vlan, .dst = mcast_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_UDP_BCAST, "UDP to 224.0.0.251: udp_bcast%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .dmac = bcast_mac, .vlan = vlan, .dst = lbcast_ip4,
				      .proto = NET_IPPROTO_TCP, .l4 = l4, .l4len = 20 });
	is_fate(classify(b, n, &p), NET_PUNT, "TCP to 255.255.255.255 punted%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .dst = other_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS, "UDP to another unicast address%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .dst = net_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS,
		"the subnet's network address is not ours%s",
		v);

	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_TCP, .l4 = l4,
				      .l4len = 20 });
	is_fate(classify(b, n, &p), NET_PUNT, "TCP to us punted%s", v);
	is_int(p.l4_proto, NET_IPPROTO_TCP, "punted TCP l4_proto%s", v);
	is_int(p.l4_off, l3 + 20, "punted TCP l4_off%s", v);

	/* A large datagram, and IP options before UDP. */
	ul = mk_udp(l4, 1, 1883, 500);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_UDP, .optlen = 8,
				      .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_UDP4, "UDP after IP options%s", v);
	is_int(p.l4_off, l3 + 28, "l4_off skips the options%s", v);
	is_int(p.dst_port, 1883, "dst port after options%s", v);
}

static void
test_ip4_hdr(void)
{
	uint8_t b[MAXF], l4[64];
	size_t n, ul;
	struct net_pkt p;
	uint8_t *ip = b + 14;

	ul = mk_udp(l4, 40000, 5683, 4);
#define FRESH() do { \
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN, .proto = NET_IPPROTO_UDP, \
				      .l4 = l4, .l4len = ul }); \
	fix_l4(b); \
} while (0)
#define RESUM() do { wr16(ip + 10, 0); wr16(ip + 10, ref_fold(ref_sum(0, ip, 20))); } while (0)

	FRESH();
	is_fate(classify(b, 14 + 19, &p), NET_DROP_IP4_BAD_HDR, "IPv4 header truncated");
	ip[0] = 0x55;
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_HDR, "IPv4 version 5");
	FRESH();
	ip[0] = 0x44;
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_HDR, "IHL 4");
	FRESH();
	ip[0] = 0x4f;	/* 60-byte header in a 32-byte packet */
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_HDR, "IHL beyond the frame");
	FRESH();
	wr16(ip + 2, (uint16_t)(n - 14 + 1));
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_LEN, "total length beyond the frame");
	FRESH();
	wr16(ip + 2, 19);
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_LEN, "total length below the header");

	FRESH();
	ip[11] ^= 0x40;
	is_fate(classify(b, n, &p), NET_DROP_IP4_BAD_CKSUM, "IPv4 header checksum mismatch");
	is_fate(classify_hw(b, n, NET_HW_IP_CKSUM_GOOD, &p), NET_UDP4,
		"hw IP GOOD skips the header check");
	FRESH();
	is_fate(classify_hw(b, n, NET_HW_IP_CKSUM_BAD, &p), NET_DROP_IP4_BAD_CKSUM,
		"hw IP BAD drops a good header");
	is_fate(classify_hw(b, n, NET_HW_IP_CKSUM_BAD | NET_HW_IP_CKSUM_GOOD, &p),
		NET_DROP_IP4_BAD_CKSUM, "BAD wins over GOOD");

	FRESH();
	wr16(ip + 6, 0x2000);
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_FRAG, "first fragment (MF)");
	wr16(ip + 6, 0x0010);
	RESUM();
	is_fate(classify(b, n, &p), NET_DROP_IP4_FRAG, "last fragment (offset)");
	wr16(ip + 6, 0x4000);
	RESUM();
	is_fate(classify(b, n, &p), NET_UDP4, "DF alone is not a fragment");
	wr16(ip + 6, 0x8000);
	RESUM();
	is_fate(classify(b, n, &p), NET_UDP4, "reserved flag alone is not a fragment");

	/* Directed broadcast follows the prefix; /31 and /32 have none. */
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN,
				      .dst = (const uint8_t[]){ 192, 0, 2, 127 },
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS, ".127 is not broadcast in a /24");
	ifc.ip4_prefix = 25;
	is_fate(classify(b, n, &p), NET_UDP_BCAST, ".127 is the broadcast of a /25");
	ifc.ip4_prefix = 31;
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN, .dst = our_ip4,
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_UDP4, "/31: our address is ours");
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN, .dst = (const uint8_t[]){ 192, 0, 2, 0 },
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS, "/31: the peer is not a broadcast");
	ifc.ip4_prefix = 24;
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN,
				      .dst = (const uint8_t[]){ 198, 51, 100, 255 },
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS,
		"another subnet's broadcast is not ours");
	n = mk_ip4(b, (struct ip4_spec){ .vlan = NO_VLAN, .dst = (const uint8_t[]){ 239, 1, 2, 3 },
				      .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	is_fate(classify(b, n, &p), NET_UDP_BCAST, "239/8 multicast: udp_bcast");

	/* An interface without IPv4 owns no IPv4 unicast address. */
	ifc.has_ip4 = false;
	FRESH();
	is_fate(classify(b, n, &p), NET_DROP_IP4_NOT_OURS, "no IPv4 configured: unicast not ours");
	n = mk_arp(b, NO_VLAN, bcast_mac, 1, peer_mac, peer_ip4, zero_mac, our_ip4);
	is_fate(classify(b, n, &p), NET_DROP_ARP_OTHER, "no IPv4 configured: ARP not for us");
	ifc.has_ip4 = true;
#undef FRESH
#undef RESUM
}

static void
test_icmp4(int vlan)
{
	uint8_t b[MAXF], want[MAXF], l4[200];
	size_t n, wn, el;
	struct net_pkt p;
	int r;
	const char *v = vlan >= 0 ? " (vlan)" : "";
	size_t l3 = vlan >= 0 ? 18 : 14;
	uint32_t seq;
	unsigned int bad = 0;

	el = mk_echo(l4, 8, 0x4242, 7, 56);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .ttl = 17,
				      .id = 0xbeef, .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ICMP4_ECHO, "ICMP echo request to us%s", v);
	is_int(p.l4_off, l3 + 20, "echo l4_off%s", v);
	is_int(p.l4_len, el, "echo l4_len%s", v);
	is_int(p.frame_len, n, "echo frame_len%s", v);
	r = net_icmp4_echo_reply(b, &p, &ifc);
	el = mk_echo(l4, 0, 0x4242, 7, 56);
	wn = mk_ip4(want, (struct ip4_spec){ .dmac = peer_mac, .smac = our_mac, .vlan = vlan,
					  .src = our_ip4, .dst = peer_ip4,
					  .proto = NET_IPPROTO_ICMP, .ttl = 64, .id = 0xbeef,
					  .l4 = l4, .l4len = el });
	fix_l4(want);
	is_int(r, wn, "echo reply length%s", v);
	is_mem(b, want, wn, "echo reply bytes equal a from-scratch reply%s", v);
	ok(ip4_hdr_ok(b), "echo reply IP header checksum recomputes to 0%s", v);
	ok(ref_fold(ref_sum(0, b + l3 + 20, el)) == 0, "echo reply ICMP checksum recomputes%s", v);
	is_int(net_icmp4_echo_reply(b, &p, &ifc), -EINVAL, "a reply is not a request any more%s",
	       v);

	/*
	 * Sweep the sequence number so the request checksum takes every
	 * value: RFC 1624's incremental update must agree with a full sum.
	 */
	for (seq = 0; seq <= 0xffff; seq++) {
		el = mk_echo(l4, 8, 0x0001, (uint16_t)seq, 3);
		n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP,
					      .ttl = (uint8_t)(seq | 1), .id = (uint16_t)seq,
					      .l4 = l4, .l4len = el });
		fix_l4(b);
		if (classify(b, n, &p) != NET_ICMP4_ECHO ||
		    net_icmp4_echo_reply(b, &p, &ifc) != (int)n || !ip4_hdr_ok(b) ||
		    ref_fold(ref_sum(0, b + l3 + 20, el)) != 0)
			bad++;
	}
	is_int(bad, 0, "65536 echo replies: incremental checksums all verify%s", v);

	/*
	 * An all-zero echo (identifier, sequence, no payload): the rest of the
	 * reply sums to zero, where RFC 1624 eqn. 3 yields 0x0000 but the
	 * checksum must be 0xffff (found by the fuzzer).
	 */
	el = mk_echo(l4, 8, 0, 0, 0);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ICMP4_ECHO, "all-zero echo request%s", v);
	is_int(net_icmp4_echo_reply(b, &p, &ifc), n, "all-zero echo answered%s", v);
	ok(ref_fold(ref_sum(0, b + l3 + 20, el)) == 0 && b[l3 + 22] == 0xff && b[l3 + 23] == 0xff,
	   "all-zero echo reply carries checksum 0xffff%s", v);

	el = mk_echo(l4, 8, 1, 1, 8);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = el });
	fix_l4(b);
	b[l3 + 20 + 9] ^= 0xff;
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "echo request with a bad checksum%s", v);
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_GOOD, &p), NET_DROP_ICMP_BAD,
		"ICMP checksum is checked even with hw L4 GOOD%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = 6 });
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "echo request shorter than 8 bytes%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = 2 });
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "ICMP of 2 bytes%s", v);

	el = mk_echo(l4, 3, 0, 0, 28);	/* destination unreachable */
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "other ICMP punted%s", v);
	is_int(net_icmp4_echo_reply(b, &p, &ifc), -EINVAL, "no echo reply to other ICMP%s", v);

	el = mk_echo(l4, 8, 1, 1, 8);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .optlen = 4,
				      .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo with IP options punted%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .dmac = bcast_mac, .vlan = vlan, .dst = dbcast_ip4,
				      .proto = NET_IPPROTO_ICMP, .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo to the broadcast punted (no smurf)%s", v);
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .src = dbcast_ip4,
				      .proto = NET_IPPROTO_ICMP, .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo from a broadcast source punted%s", v);
	l4[1] = 1;
	n = mk_ip4(b, (struct ip4_spec){ .vlan = vlan, .proto = NET_IPPROTO_ICMP, .l4 = l4,
				      .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo with a non-zero code punted%s", v);
}

static void
test_udp6(int vlan)
{
	uint8_t b[MAXF], l4[600];
	size_t n, ul;
	struct net_pkt p;
	const char *v = vlan >= 0 ? " (vlan)" : "";
	size_t l3 = vlan >= 0 ? 18 : 14;

	ul = mk_udp(l4, 5683, 1883, 13);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_UDP, .l4 = l4,
				      .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_UDP6, "UDP/IPv6 to us%s", v);
	is_int(p.l3_off, l3, "udp6 l3_off%s", v);
	is_int(p.l4_off, l3 + 40, "udp6 l4_off%s", v);
	is_int(p.l4_len, ul, "udp6 l4_len%s", v);
	is_int(p.src_port, 5683, "udp6 src port%s", v);
	is_int(p.dst_port, 1883, "udp6 dst port%s", v);
	is_int(p.frame_len, n, "udp6 frame_len%s", v);
	is_int(p.ethertype, NET_ETHERTYPE_IPV6, "udp6 ethertype%s", v);
	memset(b + n, 0, 30);
	is_fate(classify(b, n + 30, &p), NET_UDP6, "IPv6 padding ignored%s", v);
	is_int(p.frame_len, n, "IPv6 frame_len excludes padding%s", v);

	b[l3 + 40 + 8] ^= 0x20;
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_CKSUM, "UDP/IPv6 bad checksum%s", v);
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_GOOD, &p), NET_UDP6, "hw L4 GOOD honoured%s", v);
	b[l3 + 40 + 8] ^= 0x20;
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_BAD, &p), NET_DROP_UDP_BAD_CKSUM,
		"hw L4 BAD honoured%s", v);
	is_fate(classify_hw(b, n, NET_HW_IP_CKSUM_BAD, &p), NET_UDP6,
		"IPv6 has no header checksum: hw IP BAD ignored%s", v);
	wr16(b + l3 + 40 + 6, 0);
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_CKSUM, "zero UDP checksum over IPv6%s", v);
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_GOOD, &p), NET_DROP_UDP_BAD_CKSUM,
		"zero UDP checksum over IPv6 even with hw GOOD%s", v);
	fix_l4(b);
	wr16(b + l3 + 40 + 4, (uint16_t)(ul + 2));
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_LEN, "UDP/IPv6 length mismatch%s", v);

	wr16(b + l3 + 4, (uint16_t)(ul + 1));
	is_fate(classify(b, n, &p), NET_DROP_IP6_BAD_LEN, "payload length beyond the frame%s", v);
	wr16(b + l3 + 4, (uint16_t)ul);
	b[l3] = 0x40;
	is_fate(classify(b, n, &p), NET_DROP_IP6_BAD_HDR, "IPv6 header with version 4%s", v);
	is_fate(classify(b, l3 + 39, &p), NET_DROP_IP6_BAD_HDR, "IPv6 header truncated%s", v);

	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = 44, .l4 = l4, .l4len = 16 });
	is_fate(classify(b, n, &p), NET_DROP_IP6_FRAG, "IPv6 fragment header%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = 0, .l4 = l4, .l4len = 16 });
	is_fate(classify(b, n, &p), NET_PUNT, "hop-by-hop options punted%s", v);
	is_int(p.l4_proto, 0, "punted next header reported%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = 60, .l4 = l4, .l4len = 16 });
	is_fate(classify(b, n, &p), NET_PUNT, "destination options punted%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_TCP, .l4 = l4,
				      .l4len = 20 });
	is_fate(classify(b, n, &p), NET_PUNT, "TCP/IPv6 punted%s", v);
	is_int(p.frame_len, n, "punted IPv6 frame_len%s", v);

	ul = mk_udp(l4, 5683, 1883, 13);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .dst = other_ip6, .nh = NET_IPPROTO_UDP,
				      .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_DROP_IP6_NOT_OURS, "UDP/IPv6 to another address%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .dst = our_ll6, .nh = NET_IPPROTO_UDP,
				      .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "to a link-local address punted%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .dmac = all_nodes_mac, .vlan = vlan, .dst = all_nodes_ip6,
				      .nh = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_UDP_BCAST, "UDP to ff02::1: udp_bcast%s", v);
	b[n - 1] ^= 0xff;
	is_fate(classify(b, n, &p), NET_DROP_UDP_BAD_CKSUM,
		"UDP to ff02::1 with a bad checksum dropped%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .dmac = snm_mac, .vlan = vlan, .dst = snm_ip6,
				      .nh = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "UDP to our solicited-node group punted%s", v);
}

static void
test_icmp6(int vlan)
{
	uint8_t b[MAXF], want[MAXF], l4[200];
	size_t n, wn, el;
	struct net_pkt p;
	int r;
	const char *v = vlan >= 0 ? " (vlan)" : "";
	size_t l3 = vlan >= 0 ? 18 : 14;

	el = mk_echo(l4, 128, 0x99, 3, 32);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_ICMPV6, .hlim = 3,
				      .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ICMP6_ECHO, "ICMPv6 echo request to us%s", v);
	is_int(p.l4_len, el, "echo6 l4_len%s", v);
	r = net_icmp6_echo_reply(b, &p, &ifc);
	el = mk_echo(l4, 129, 0x99, 3, 32);
	wn = mk_ip6(want, (struct ip6_spec){ .dmac = peer_mac, .smac = our_mac, .vlan = vlan,
					  .src = our_ip6, .dst = peer_ip6, .hlim = 64,
					  .nh = NET_IPPROTO_ICMPV6, .l4 = l4, .l4len = el });
	fix_l4(want);
	is_int(r, wn, "echo6 reply length%s", v);
	is_mem(b, want, wn, "echo6 reply bytes equal a from-scratch reply%s", v);
	is_int(net_icmp6_echo_reply(b, &p, &ifc), -EINVAL, "a reply is not a request any more%s",
	       v);

	el = mk_echo(l4, 128, 0x99, 3, 32);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				      .l4len = el });
	fix_l4(b);
	b[l3 + 40 + 20] ^= 1;
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "ICMPv6 echo bad checksum%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				      .l4len = 3 });
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "ICMPv6 of 3 bytes%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				      .l4len = 6 });
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "ICMPv6 echo of 6 bytes%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .dmac = all_nodes_mac, .vlan = vlan, .dst = all_nodes_ip6,
				      .nh = NET_IPPROTO_ICMPV6, .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo to ff02::1 punted%s", v);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .src = all_nodes_ip6,
				      .nh = NET_IPPROTO_ICMPV6, .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "echo from a multicast source punted%s", v);
	el = mk_echo(l4, 134, 0, 0, 8);	/* router advertisement */
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .nh = NET_IPPROTO_ICMPV6, .hlim = 255,
				      .l4 = l4, .l4len = el });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "other ICMPv6 punted%s", v);
	is_int(net_icmp6_echo_reply(b, &p, &ifc), -EINVAL, "no echo reply to an RA%s", v);
	is_int(net_nd_advert(b, sizeof(b), &p, &ifc), -EINVAL, "no NA for an RA%s", v);
}

/* Expected NA, built from scratch. */
static size_t
want_na(uint8_t *w, int vlan, const uint8_t *dmac, const uint8_t *dst, uint8_t flags)
{
	uint8_t l4[64];
	size_t n;

	n = mk_ip6(w, (struct ip6_spec){ .dmac = dmac, .smac = our_mac, .vlan = vlan,
				      .src = our_ip6, .dst = dst, .hlim = 255,
				      .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				      .l4len = mk_na(l4, flags, our_ip6, our_mac) });
	fix_l4(w);
	return n;
}

static void
test_nd(int vlan)
{
	uint8_t b[MAXF], want[MAXF], l4[200];
	size_t n, wn, nl;
	struct net_pkt p;
	const char *v = vlan >= 0 ? " (vlan)" : "";
	size_t l3 = vlan >= 0 ? 18 : 14;
	int r;

	/* Unicast NS (NUD), with SLLA: reply S|O to the sender. */
	nl = mk_ns(l4, our_ip6, peer_mac);
	n = mk_ip6(b, (struct ip6_spec){ .vlan = vlan, .hlim = 255, .nh = NET_IPPROTO_ICMPV6,
				      .l4 = l4, .l4len = nl });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ND_SOLICIT, "unicast NS for our address%s", v);
	is_int(p.l4_off, l3 + 40, "NS l4_off%s", v);
	is_int(p.l4_len, nl, "NS l4_len%s", v);
	is_int(p.frame_len, n, "NS frame_len%s", v);
	r = net_nd_advert(b, sizeof(b), &p, &ifc);
	wn = want_na(want, vlan, peer_mac, peer_ip6, 0x60);
	is_int(r, wn, "NA length%s", v);
	is_mem(b, want, wn, "NA for unicast NS: bytes%s", v);

	/* Multicast NS without options: the NA is longer than the request. */
	nl = mk_ns(l4, our_ip6, NULL);
	n = mk_ip6(b, (struct ip6_spec){ .dmac = snm_mac, .vlan = vlan, .src = peer_ll6,
				      .dst = snm_ip6, .hlim = 255, .nh = NET_IPPROTO_ICMPV6,
				      .l4 = l4, .l4len = nl });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ND_SOLICIT, "NS to our solicited-node group%s", v);
	is_int(net_nd_advert(b, n + 7, &p, &ifc), -ENOSPC, "NA needs 8 more bytes than the NS%s",
	       v);
	r = net_nd_advert(b, n + 8, &p, &ifc);
	wn = want_na(want, vlan, peer_mac, peer_ll6, 0x60);
	is_int(r, n + 8, "NA length for a bare NS%s", v);
	is_mem(b, want, wn, "NA for multicast NS: bytes%s", v);

	/* DAD: from ::, reply to all nodes, no S flag. */
	n = mk_ip6(b, (struct ip6_spec){ .dmac = snm_mac, .vlan = vlan, .src = zero_ip6,
				      .dst = snm_ip6, .hlim = 255, .nh = NET_IPPROTO_ICMPV6,
				      .l4 = l4, .l4len = nl });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_ND_SOLICIT, "DAD NS for our address%s", v);
	r = net_nd_advert(b, sizeof(b), &p, &ifc);
	wn = want_na(want, vlan, all_nodes_mac, all_nodes_ip6, 0x20);
	is_int(r, wn, "DAD NA length%s", v);
	is_mem(b, want, wn, "NA for DAD: bytes%s", v);
	is_int(net_nd_advert(b, sizeof(b), &p, &ifc), -EINVAL, "an NA is not an NS any more%s", v);

	/* RFC 4861 7.1.1 validity. */
#define NS(src_, dst_, hlim_) do { \
	n = mk_ip6(b, (struct ip6_spec){ .dmac = snm_mac, .vlan = vlan, .src = (src_), \
				      .dst = (dst_), .hlim = (hlim_), \
				      .nh = NET_IPPROTO_ICMPV6, .l4 = l4, .l4len = nl }); \
	fix_l4(b); \
} while (0)
	nl = mk_ns(l4, our_ip6, peer_mac);
	NS(peer_ip6, snm_ip6, 64);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS with hop limit 64%s", v);
	l4[1] = 1;
	NS(peer_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS with code 1%s", v);
	l4[1] = 0;
	nl = 20;
	NS(peer_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS shorter than 24 bytes%s", v);
	nl = mk_ns(l4, our_ip6, peer_mac);
	l4[25] = 0;
	NS(peer_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS option of length 0%s", v);
	l4[25] = 2;
	NS(peer_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS option running past the end%s", v);
	nl = mk_ns(l4, our_ip6, NULL) + 1;
	l4[24] = 1;
	NS(peer_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS with one stray byte after the target%s",
		v);
	nl = mk_ns(l4, our_ip6, peer_mac);
	NS(zero_ip6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "DAD NS with a source link-layer option%s", v);
	nl = mk_ns(l4, our_ip6, NULL);
	NS(zero_ip6, our_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "DAD NS to a unicast address%s", v);
	nl = mk_ns(l4, snm_ip6, NULL);
	NS(peer_ip6, our_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_ND_BAD, "NS for a multicast target%s", v);
	nl = mk_ns(l4, our_ip6, NULL);
	NS(peer_ip6, snm_ip6, 255);
	b[l3 + 40 + 5] ^= 0x10;	/* reserved: ignored, but summed */
	is_fate(classify(b, n, &p), NET_DROP_ICMP_BAD, "NS with a bad checksum%s", v);
	is_fate(classify_hw(b, n, NET_HW_L4_CKSUM_GOOD, &p), NET_DROP_ICMP_BAD,
		"NS checksum checked even with hw L4 GOOD%s", v);

	/* Not ours: the host stack answers for link-local and others. */
	nl = mk_ns(l4, our_ll6, peer_mac);
	NS(peer_ll6, snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_PUNT, "NS for our link-local (same group) punted%s", v);
	nl = mk_ns(l4, other_ip6, peer_mac);
	NS(peer_ip6, our_ip6, 255);
	is_fate(classify(b, n, &p), NET_PUNT, "unicast NS for another target punted%s", v);
	nl = mk_ns(l4, other_ip6, peer_mac);
	NS(peer_ip6, other_snm_ip6, 255);
	is_fate(classify(b, n, &p), NET_PUNT, "NS to another solicited-node group punted%s", v);
	nl = mk_ns(l4, other_ip6, peer_mac);
	NS(peer_ip6, other_ip6, 255);
	is_fate(classify(b, n, &p), NET_DROP_IP6_NOT_OURS, "NS to another unicast address%s", v);
#undef NS
}

/* Every length below a frame's full length is a drop, never a crash. */
static void
test_truncation(void)
{
	uint8_t b[MAXF], l4[128];
	struct {
		const char *what;
		size_t n;
		enum net_fate fate;
		uint8_t f[160];
	} fr[12];
	size_t nf = 0, i, cut, ul;
	struct net_pkt p;
	int vlan;

	for (vlan = NO_VLAN; vlan <= TCI; vlan += TCI - NO_VLAN) {
		fr[nf].n = mk_arp(fr[nf].f, vlan, bcast_mac, 1, peer_mac, peer_ip4, zero_mac,
				  our_ip4);
		fr[nf].fate = NET_ARP_REQUEST;
		fr[nf++].what = vlan < 0 ? "ARP request" : "ARP request (vlan)";

		ul = mk_udp(l4, 1, 5683, 20);
		fr[nf].n = mk_ip4(fr[nf].f, (struct ip4_spec){ .vlan = vlan,
				  .proto = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
		fix_l4(fr[nf].f);
		fr[nf].fate = NET_UDP4;
		fr[nf++].what = vlan < 0 ? "UDP/IPv4" : "UDP/IPv4 (vlan)";

		fr[nf].n = mk_ip4(fr[nf].f, (struct ip4_spec){ .vlan = vlan,
				  .proto = NET_IPPROTO_ICMP, .l4 = l4,
				  .l4len = mk_echo(l4, 8, 1, 2, 16) });
		fix_l4(fr[nf].f);
		fr[nf].fate = NET_ICMP4_ECHO;
		fr[nf++].what = vlan < 0 ? "ICMP echo" : "ICMP echo (vlan)";

		ul = mk_udp(l4, 1, 5683, 20);
		fr[nf].n = mk_ip6(fr[nf].f, (struct ip6_spec){ .vlan = vlan,
				  .nh = NET_IPPROTO_UDP, .l4 = l4, .l4len = ul });
		fix_l4(fr[nf].f);
		fr[nf].fate = NET_UDP6;
		fr[nf++].what = vlan < 0 ? "UDP/IPv6" : "UDP/IPv6 (vlan)";

		fr[nf].n = mk_ip6(fr[nf].f, (struct ip6_spec){ .vlan = vlan,
				  .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				  .l4len = mk_echo(l4, 128, 1, 2, 16) });
		fix_l4(fr[nf].f);
		fr[nf].fate = NET_ICMP6_ECHO;
		fr[nf++].what = vlan < 0 ? "ICMPv6 echo" : "ICMPv6 echo (vlan)";

		fr[nf].n = mk_ip6(fr[nf].f, (struct ip6_spec){ .dmac = snm_mac, .vlan = vlan,
				  .dst = snm_ip6, .hlim = 255, .nh = NET_IPPROTO_ICMPV6,
				  .l4 = l4, .l4len = mk_ns(l4, our_ip6, peer_mac) });
		fix_l4(fr[nf].f);
		fr[nf].fate = NET_ND_SOLICIT;
		fr[nf++].what = vlan < 0 ? "NS" : "NS (vlan)";
	}
	for (i = 0; i < nf; i++) {
		bool all = true;

		is_fate(classify(fr[i].f, fr[i].n, &p), fr[i].fate, "%s: full frame", fr[i].what);
		for (cut = 0; cut < fr[i].n; cut++) {
			memcpy(b, fr[i].f, cut);
			if (classify(b, cut, &p) < NET_FATE_FIRST_DROP) {
				all = false;
				printf("#   %s cut to %zu: %s\n", fr[i].what, cut,
				       net_fate_name(classify(b, cut, &p)));
			}
		}
		ok(all, "%s: every truncation (0..%zu bytes) is a drop", fr[i].what, fr[i].n - 1);
	}
}

static void
test_no_ip6(void)
{
	uint8_t b[MAXF], l4[64];
	size_t n;
	struct net_pkt p;

	ifc.has_ip6 = false;
	n = mk_ip6(b, (struct ip6_spec){ .dmac = snm_mac, .vlan = NO_VLAN, .dst = snm_ip6,
				      .hlim = 255, .nh = NET_IPPROTO_ICMPV6, .l4 = l4,
				      .l4len = mk_ns(l4, our_ip6, peer_mac) });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_PUNT, "no IPv6 configured: NS punted (multicast)");
	n = mk_ip6(b, (struct ip6_spec){ .vlan = NO_VLAN, .nh = NET_IPPROTO_UDP, .l4 = l4,
				      .l4len = mk_udp(l4, 1, 2, 3) });
	fix_l4(b);
	is_fate(classify(b, n, &p), NET_DROP_IP6_NOT_OURS, "no IPv6 configured: unicast not ours");
	ifc.has_ip6 = true;
}

/* Offsets are 16-bit: a buffer longer than 64 KiB must not wrap them. */
static void
test_huge_buffer(void)
{
	size_t big = 70000, n;
	uint8_t *b = calloc(1, big), l4[64];
	struct net_pkt p;

	n = mk_ip4(b, (struct ip4_spec){ .vlan = TCI, .proto = NET_IPPROTO_UDP, .l4 = l4,
				      .l4len = mk_udp(l4, 7, 5683, 9) });
	fix_l4(b);
	is_fate(net_classify(b, big, &ifc, 0, &p), NET_UDP4,
		"UDP4 at the start of a 70000-byte buffer");
	is_int(p.frame_len, n, "frame_len from the IP length");
	wr16(b + 18 + 2, 0xffff);
	is_fate(net_classify(b, big, &ifc, NET_HW_IP_CKSUM_GOOD, &p), NET_DROP_IP4_BAD_LEN,
		"IP length 65535 after a VLAN tag cannot fit 16-bit offsets");
	free(b);
}

static void
test_all_fates_reached(void)
{
	int i;
	bool all = true;

	for (i = 0; i < NET_FATE_MAX; i++)
		if (!reached[i]) {
			all = false;
			printf("#   fate %s never reached\n", net_fate_name(i));
		}
	ok(all, "every fate in FOREACH_NET_FATE was reached by a crafted frame");
}

/*
 * The UDP output helpers: a datagram built by net_udp_header() for a payload
 * summed separately (and summed at an odd offset, as a shared payload after
 * an odd-length header is) classifies back as valid UDP to the peer with the
 * right addresses, ports and checksums, over IPv4 and IPv6, with and
 * without a VLAN tag.
 */
static void
test_udp_out(void)
{
	static const char *const payloads[] = { "", "x", "hello", "odd-length-payload!" };
	struct net_if peer_if;
	uint8_t b[256];
	struct net_pkt p;
	struct net_peer peer, back;
	unsigned int bad = 0, cases = 0;

	/* the peer's view: its own interface, to classify what we send it */
	memset(&peer_if, 0, sizeof(peer_if));
	memcpy(peer_if.mac, peer_mac, 6);
	peer_if.has_ip4 = peer_if.has_ip6 = true;
	memcpy(peer_if.ip4, peer_ip4, 4);
	peer_if.ip4_prefix = 24;
	memcpy(peer_if.ip6, peer_ip6, 16);
	for (int v6 = 0; v6 < 2; v6++) {
		for (int vlan = 0; vlan < 2; vlan++) {
			for (size_t k = 0; k < sizeof(payloads) / sizeof(payloads[0]); k++) {
				const char *pl = payloads[k];
				size_t n = strlen(pl), split = n / 2;
				uint32_t sum;
				int hl;

				memset(&peer, 0, sizeof(peer));
				memcpy(peer.mac, peer_mac, 6);
				peer.v6 = v6;
				peer.has_vlan = vlan;
				peer.vlan_tci = 42;
				peer.port = 40000;
				memcpy(peer.addr, v6 ? peer_ip6 : peer_ip4, v6 ? 16 : 4);
				/* the payload summed in two pieces, the second at an odd offset */
				sum = net_cksum_combine(net_cksum_add(0, pl, split),
							net_cksum_add(0, pl + split, n - split),
							split);
				hl = net_udp_header(b, sizeof(b), &ifc, &peer, 1883, n, sum);
				memcpy(b + hl, pl, n);
				cases++;
				if (hl != (int)net_udp_header_len(&peer) ||
				    net_classify(b, (size_t)hl + n, &peer_if, 0, &p) !=
					    (v6 ? NET_UDP6 : NET_UDP4) ||
				    p.src_port != 1883 || p.dst_port != 40000 ||
				    p.has_vlan != (bool)vlan || p.l4_len != 8 + n ||
				    memcmp(b + 6, our_mac, 6) != 0) {
					bad++;
					continue;
				}
				/* and the peer's answer would come back to us */
				memcpy(b + 6, peer_mac, 6);
				if (net_peer_from(b, &p, &back) != 0 || back.port != 1883 ||
				    memcmp(back.addr, v6 ? our_ip6 : our_ip4, v6 ? 16 : 4) != 0)
					bad++;
			}
		}
	}
	is_int(bad, 0, "%u UDP datagrams built for peers classify back as valid UDP", cases);
	is_int(net_udp_header(b, 20, &ifc, &peer, 1883, 5, 0), -ENOSPC,
	       "UDP header into a short buffer: -ENOSPC");
	is_int(net_udp_header(b, sizeof(b), &ifc, &peer, 1883, 70000, 0), -EINVAL,
	       "payload larger than a datagram: -EINVAL");
}

/*
 * The inline checksum helpers agree with the exported ones: net_cksum_finish()
 * with net_cksum_fold(), net_cksum_add32(a, net_cksum_odd(b)) with
 * net_cksum_combine() at an odd offset (and net_cksum_add32() alone at an
 * even one), over sums that carry out of 32 bits.
 */
static void
test_cksum_inline(void)
{
	unsigned int bad = 0, n = 0;
	uint32_t x = 0x12345678;

	for (int i = 0; i < 100000; i++) {
		uint32_t a, b;

		/* xorshift: sums of every size, the largest included */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		a = i < 4 ? 0xffffffffu - (uint32_t)i : x;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b = i < 4 ? 0xffffffffu : (i & 1) ? x : x & 0xffff;
		n++;
		if (net_cksum_finish(a) != net_cksum_fold(a) ||
		    net_cksum_fold(net_cksum_add32(a, net_cksum_odd(b))) !=
			    net_cksum_fold(net_cksum_combine(a, b, 1)) ||
		    net_cksum_fold(net_cksum_add32(a, b)) !=
			    net_cksum_fold(net_cksum_combine(a, b, 0)))
			bad++;
	}
	is_int(bad, 0, "inline checksum helpers agree with the exported ones (%u sums)", n);
}

/*
 * UDP header templates: for every family, tag, prefix length (even, odd,
 * none) and payload, net_udp_tpl_write() writes the very bytes
 * net_udp_header() writes for the prefix and payload together; a payload
 * whose checksum comes out as 0 is sent with 0xffff, as by net_udp_header().
 */
static void
test_udp_tpl(void)
{
	static const char *const payloads[] = { "", "x", "hello", "odd-length-payload!",
						"a payload of some forty-odd bytes, say 45." };
	static const uint8_t prefix[NET_UDP_TPL_PREFIX_MAX + 1] = {
		0x13, 0xfe, 0x00, 'n', 'o', 'd', 'e', '-', 'i', 'd', 0xff, 0x01, 0x80 };
	static const size_t pfx_lens[] = { 0, 1, 3, 4, 19, NET_UDP_TPL_PREFIX_MAX };
	enum { NPFX = sizeof(pfx_lens) / sizeof(pfx_lens[0]) };
	struct net_udp_tpl t;
	struct net_peer peer;
	uint8_t ref[256], b[256];
	unsigned int bad = 0, cases = 0, zero_cases = 0;

	for (int c = 0; c < 4 * (int)NPFX; c++) {
		size_t pl = pfx_lens[c % NPFX], hl;

		/* each family and tag (c / NPFX) with each prefix length */
		memset(&peer, 0, sizeof(peer));
		memcpy(peer.mac, peer_mac, 6);
		peer.v6 = c / NPFX >= 2;
		peer.has_vlan = (c / NPFX) & 1;
		peer.vlan_tci = TCI;
		peer.port = 40001;
		memcpy(peer.addr, peer.v6 ? peer_ip6 : peer_ip4, peer.v6 ? 16 : 4);
		hl = net_udp_header_len(&peer);
		if (net_udp_tpl_init(&t, &ifc, &peer, 1883, prefix, pl) != (int)(hl + pl) ||
		    t.len != hl + pl) {
			bad++;
			continue;
		}
		for (size_t k = 0; k < sizeof(payloads) / sizeof(payloads[0]); k++) {
			const char *p = payloads[k];
			size_t n = strlen(p);

			memcpy(ref + hl, prefix, pl);
			memcpy(ref + hl + pl, p, n);
			memset(b, 0xa5, sizeof(b));
			cases++;
			if (net_udp_header(ref, sizeof(ref), &ifc, &peer, 1883, pl + n,
					   net_cksum_add(0, ref + hl, pl + n)) != (int)hl ||
			    net_udp_tpl_write(b, &t, n, net_cksum_add(0, p, n)) != (int)(hl + pl)) {
				bad++;
				continue;
			}
			memcpy(b + hl + pl, p, n);
			if (memcmp(b, ref, hl + pl + n) != 0 || b[hl + pl + n] != 0xa5)
				bad++;
		}
		/* two payload bytes that make the checksum 0: sent as 0xffff */
		for (uint32_t x = 0; x <= 0xffff; x++) {
			uint8_t two[2] = { (uint8_t)(x >> 8), (uint8_t)x };

			memcpy(ref + hl, prefix, pl);
			memcpy(ref + hl + pl, two, 2);
			net_udp_header(ref, sizeof(ref), &ifc, &peer, 1883, pl + 2,
				       net_cksum_add(0, ref + hl, pl + 2));
			if (ref[hl - 2] != 0xff || ref[hl - 1] != 0xff)
				continue;
			zero_cases++;
			net_udp_tpl_write(b, &t, 2, net_cksum_add(0, two, 2));
			memcpy(b + hl + pl, two, 2);
			if (memcmp(b, ref, hl + pl + 2) != 0)
				bad++;
		}
	}
	is_int(bad, 0, "%u datagrams written from templates equal net_udp_header()'s", cases);
	ok(zero_cases >= 24, "UDP checksum 0 sent as 0xffff from templates too (%u cases)",
	   zero_cases);
	is_int(net_udp_tpl_init(&t, &ifc, &peer, 1883, prefix, NET_UDP_TPL_PREFIX_MAX + 1),
	       -EINVAL, "template prefix too long: -EINVAL");
	is_int(t.len, 0, "a refused template has length 0");
	is_int(net_udp_tpl_write(b, &t, 5, 0), -EINVAL, "writing a refused template: -EINVAL");
	ifc.has_ip6 = false;
	peer.v6 = true;
	is_int(net_udp_tpl_init(&t, &ifc, &peer, 1883, NULL, 0), -EINVAL,
	       "template to an IPv6 peer from an interface without IPv6: -EINVAL");
	ifc.has_ip6 = true;
	peer.v6 = false;
	peer.has_vlan = false;
	is_int(net_udp_tpl_init(&t, &ifc, &peer, 1883, NULL, 0), 42, "IPv4 template: 42 bytes");
	is_int(net_udp_tpl_write(b, &t, 0xffff - 28, 0), 42, "largest IPv4 payload: written");
	is_int(net_udp_tpl_write(b, &t, 0xffff - 27, 0), -EINVAL,
	       "IPv4 payload larger than a datagram: -EINVAL");
	peer.v6 = true;
	net_udp_tpl_init(&t, &ifc, &peer, 1883, NULL, 0);
	is_int(net_udp_tpl_write(b, &t, 0xffff - 8, 0), 62, "largest IPv6 payload: written");
	is_int(net_udp_tpl_write(b, &t, 0xffff - 7, 0), -EINVAL,
	       "IPv6 payload larger than a datagram: -EINVAL");
}

int
main(void)
{
	memcpy(ifc.mac, our_mac, 6);
	ifc.has_ip4 = true;
	ifc.has_ip6 = true;
	memcpy(ifc.ip4, our_ip4, 4);
	ifc.ip4_prefix = 24;
	memcpy(ifc.ip6, our_ip6, 16);

	test_names();
	test_cksum();
	test_l2();
	test_arp(NO_VLAN);
	test_arp(TCI);
	test_ip4_hdr();
	test_udp4(NO_VLAN);
	test_udp4(TCI);
	test_icmp4(NO_VLAN);
	test_icmp4(TCI);
	test_udp6(NO_VLAN);
	test_udp6(TCI);
	test_icmp6(NO_VLAN);
	test_icmp6(TCI);
	test_nd(NO_VLAN);
	test_nd(TCI);
	test_no_ip6();
	test_truncation();
	test_huge_buffer();
	test_udp_out();
	test_cksum_inline();
	test_udp_tpl();
	test_all_fates_reached();
	return done_testing();
}
