/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame classification and in-place replies for the worker fast path.
 *
 * Every received frame goes through net_classify() once, so the parser is
 * written as a straight line of header checks: each header gets one length
 * check against the bytes the frame really holds, then its fields are read
 * directly. Nothing loops per byte except the checksums, and the only loop
 * over a variable count is the neighbour-solicitation option walk, which
 * RFC 4861 requires (an option of length zero must drop the packet).
 *
 * Lengths: once the IP header is validated, everything after it is bounded
 * by the IP length, not by the frame length, so Ethernet padding (short
 * frames padded to 60 bytes) never leaks into a checksum or a payload.
 *
 * Replies are rewritten in place: the request already holds the L2 header
 * (with its VLAN tag), the addresses and the echo payload, so a reply is a
 * handful of field stores plus a checksum. ICMPv4 echo uses the incremental
 * update of RFC 1624 (the request's checksum was verified, so updating it is
 * exact); ICMPv6 replies need the pseudo-header sum anyway and are summed in
 * full.
 *
 * Checksum sums are kept in native byte order: the one's complement sum is
 * byte-order independent (RFC 1071, section 2(B)), so loading words natively
 * and storing the folded result natively yields the header bytes on either
 * endianness, with no byte swap per word.
 */
#include <errno.h>
#include <string.h>

#include "net.h"

static const char *const fate_names[NET_FATE_MAX] = {
#define NET_FATE_NAME(e, n, d) [NET_##e] = n,
	FOREACH_NET_FATE(NET_FATE_NAME)
#undef NET_FATE_NAME
};

static const char *const fate_descs[NET_FATE_MAX] = {
#define NET_FATE_DESC(e, n, d) [NET_##e] = d,
	FOREACH_NET_FATE(NET_FATE_DESC)
#undef NET_FATE_DESC
};

const char *
net_fate_name(enum net_fate f)
{
	return (unsigned int)f < NET_FATE_MAX ? fate_names[f] : NULL;
}

const char *
net_fate_desc(enum net_fate f)
{
	return (unsigned int)f < NET_FATE_MAX ? fate_descs[f] : NULL;
}

/* Header layouts, as byte offsets: the frame has no alignment guarantee. */
#define ARP_LEN 28
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24

#define IP4_HLEN 20
#define IP4_TOTLEN 2
#define IP4_FRAG 6
#define IP4_TTL 8
#define IP4_PROTO 9
#define IP4_CKSUM 10
#define IP4_SRC 12
#define IP4_DST 16
#define IP4_MF_OFFSET_MASK 0x3fff	/* MF flag and fragment offset */

#define IP6_HLEN 40
#define IP6_PLEN 4
#define IP6_NH 6
#define IP6_HLIM 7
#define IP6_SRC 8
#define IP6_DST 24
#define IP6_NH_FRAG 44

#define UDP_HLEN 8
#define ICMP_ECHO_HLEN 8
#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_NS 135
#define ICMP6_NA 136
#define ND_NS_LEN 24		/* type..target, before options */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_NA_FLAG_S 0x40
#define ND_NA_FLAG_O 0x20
#define ND_NA_LEN (24 + 8)	/* NA with one TLLA option */

#define REPLY_TTL 64

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline bool
eq4(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 4) == 0;
}

static inline bool
eq6(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 6) == 0;
}

static inline bool
eq16(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 16) == 0;
}

/* One's complement addition of 64-bit words: the carry out wraps around. */
static inline uint64_t
add64(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

static inline uint32_t
cksum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = sum, w0, w1;
	uint32_t w32;
	uint16_t w16;

	/*
	 * Sum native 64-bit words with end-around carry: 2^16 == 1 modulo
	 * 0xffff, so wider words fold to the same one's complement sum as
	 * 16-bit words (RFC 1071), with a quarter of the additions. Two words
	 * per step keep two independent loads in flight.
	 */
	while (len >= 16) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		acc = add64(add64(acc, w0), w1);
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(&w0, p, 8);
		acc = add64(acc, w0);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		acc = add64(acc, w32);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc = add64(acc, w16);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high-order byte of a zero-padded word. */
		uint8_t last[2] = { p[0], 0 };

		memcpy(&w16, last, 2);
		acc = add64(acc, w16);
	}
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

static inline uint16_t
cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t
net_cksum_combine(uint32_t a, uint32_t b, size_t b_offset)
{
	uint64_t s;

	if (b_offset & 1) {
		/* a block at an odd offset sums with its bytes swapped (RFC 1071) */
		b = (b & 0xffff) + (b >> 16);
		b = (b & 0xffff) + (b >> 16);
		b = ((b & 0xff) << 8) | (b >> 8);
	}
	s = (uint64_t)a + b;
	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

/* Exported for the protocol nodes; inside this file the inline forms are used. */
uint32_t
net_cksum_add(uint32_t sum, const void *buf, size_t len)
{
	return cksum_add(sum, buf, len);
}

uint16_t
net_cksum_fold(uint32_t sum)
{
	return cksum_fold(sum);
}

uint16_t
net_l4_cksum4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
	      const uint8_t *l4, size_t l4_len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	wr16(ph + 10, (uint16_t)l4_len);
	return cksum_fold(cksum_add(cksum_add(0, ph, sizeof(ph)), l4, l4_len));
}

uint16_t
net_l4_cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
	      const uint8_t *l4, size_t l4_len)
{
	uint8_t ph[8] = {
		(uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16),
		(uint8_t)(l4_len >> 8), (uint8_t)l4_len,
		0, 0, 0, proto,
	};
	uint32_t sum;

	sum = cksum_add(0, src, 16);
	sum = cksum_add(sum, dst, 16);
	sum = cksum_add(sum, ph, sizeof(ph));
	return cksum_fold(cksum_add(sum, l4, l4_len));
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), with the 16-bit words in native
 * order as loaded from the header. Unlike eqn. 2 it never yields -0 (0xffff
 * where 0 is meant), which is the bug RFC 1624 corrects in RFC 1141.
 */
static inline void
cksum_update16(uint8_t *cksum, const uint8_t old_word[2], const uint8_t new_word[2])
{
	uint16_t hc, m, m1;
	uint32_t sum;

	memcpy(&hc, cksum, 2);
	memcpy(&m, old_word, 2);
	memcpy(&m1, new_word, 2);
	sum = (uint32_t)(uint16_t)~hc + (uint16_t)~m + m1;
	hc = cksum_fold(sum);
	memcpy(cksum, &hc, 2);
}

/*
 * True for addresses no unicast host owns: limited broadcast, multicast
 * (224/4), and the directed broadcast of the interface's subnet. /31 and /32
 * have no broadcast address (RFC 3021).
 */
static inline bool
ip4_is_bcast(const struct net_if *ifc, const uint8_t a[4])
{
	uint32_t addr, own, host;

	if ((a[0] & 0xf0) == 0xe0)
		return true;
	addr = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	if (addr == 0xffffffffu)
		return true;
	if (!ifc->has_ip4 || ifc->ip4_prefix == 0 || ifc->ip4_prefix >= 31)
		return false;
	own = (uint32_t)ifc->ip4[0] << 24 | (uint32_t)ifc->ip4[1] << 16 |
	      (uint32_t)ifc->ip4[2] << 8 | ifc->ip4[3];
	host = 0xffffffffu >> ifc->ip4_prefix;
	return (addr & ~host) == (own & ~host) && (addr & host) == host;
}

static inline bool
ip6_is_mcast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static inline bool
ip6_is_linklocal(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool
ip6_is_unspec(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return eq16(a, zero);
}

/* ff02::1:ffXX:XXXX, XX:XXXX the low 24 bits of @p ip6 (RFC 4291 2.7.1). */
static inline bool
ip6_is_solicited_node(const uint8_t a[16], const uint8_t ip6[16])
{
	static const uint8_t prefix[13] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff,
	};

	return memcmp(a, prefix, sizeof(prefix)) == 0 && a[13] == ip6[13] &&
	       a[14] == ip6[14] && a[15] == ip6[15];
}

static enum net_fate
classify_arp(const uint8_t *l3, size_t left, const struct net_if *ifc, struct net_pkt *out)
{
	uint16_t op;

	if (left < ARP_LEN)
		return NET_DROP_ARP_BAD;
	if (rd16(l3) != 1 || rd16(l3 + 2) != NET_ETHERTYPE_IPV4 || l3[4] != NET_ETH_ALEN ||
	    l3[5] != 4)
		return NET_DROP_ARP_BAD;
	op = rd16(l3 + ARP_OP);
	/*
	 * A multicast sender hardware address is never legitimate, and the
	 * reply would go to it: refuse it rather than answer to a group.
	 */
	if ((op != 1 && op != 2) || (l3[ARP_SHA] & 1))
		return NET_DROP_ARP_BAD;
	if (!ifc->has_ip4)
		return NET_DROP_ARP_OTHER;
	out->frame_len = (uint16_t)(out->l3_off + ARP_LEN);
	/*
	 * Someone announcing or claiming our address (gratuitous ARP, a reply
	 * with our address as sender) is an address conflict: the host stack
	 * reports it; the fast path must not answer it.
	 */
	if (eq4(l3 + ARP_SPA, ifc->ip4))
		return NET_PUNT;
	if (!eq4(l3 + ARP_TPA, ifc->ip4))
		return NET_DROP_ARP_OTHER;
	return op == 1 ? NET_ARP_REQUEST : NET_PUNT;
}

/* Validate UDP length and checksum; @p l4 holds exactly @p l4_len bytes. */
static enum net_fate
check_udp(const uint8_t *l4, size_t l4_len, unsigned int hw, bool v6, const uint8_t *src,
	  const uint8_t *dst, struct net_pkt *out)
{
	uint16_t cksum;

	if (l4_len < UDP_HLEN || rd16(l4 + 4) != l4_len)
		return NET_DROP_UDP_BAD_LEN;
	memcpy(&cksum, l4 + 6, 2);
	if (hw & NET_HW_L4_CKSUM_BAD)
		return NET_DROP_UDP_BAD_CKSUM;
	if (cksum == 0) {
		/* "No checksum" exists for IPv4 only (RFC 768 vs RFC 8200 8.1). */
		if (v6)
			return NET_DROP_UDP_BAD_CKSUM;
	} else if (!(hw & NET_HW_L4_CKSUM_GOOD)) {
		uint16_t c = v6 ? net_l4_cksum6(src, dst, NET_IPPROTO_UDP, l4, l4_len) :
				  net_l4_cksum4(src, dst, NET_IPPROTO_UDP, l4, l4_len);
		if (c != 0)
			return NET_DROP_UDP_BAD_CKSUM;
	}
	out->src_port = rd16(l4);
	out->dst_port = rd16(l4 + 2);
	return v6 ? NET_UDP6 : NET_UDP4;
}

static enum net_fate
classify_ip4(const uint8_t *l3, size_t left, const struct net_if *ifc, unsigned int hw,
	     struct net_pkt *out)
{
	size_t ihl, tot;
	const uint8_t *l4;
	size_t l4_len;

	if (left < IP4_HLEN || (l3[0] >> 4) != 4)
		return NET_DROP_IP4_BAD_HDR;
	ihl = (size_t)(l3[0] & 0x0f) * 4;
	if (ihl < IP4_HLEN || ihl > left)
		return NET_DROP_IP4_BAD_HDR;
	tot = rd16(l3 + IP4_TOTLEN);
	if (tot < ihl || tot > left)
		return NET_DROP_IP4_BAD_LEN;
	if (hw & NET_HW_IP_CKSUM_BAD)
		return NET_DROP_IP4_BAD_CKSUM;
	if (!(hw & NET_HW_IP_CKSUM_GOOD) && cksum_fold(cksum_add(0, l3, ihl)) != 0)
		return NET_DROP_IP4_BAD_CKSUM;
	if (rd16(l3 + IP4_FRAG) & IP4_MF_OFFSET_MASK)
		return NET_DROP_IP4_FRAG;

	l4 = l3 + ihl;
	l4_len = tot - ihl;
	out->l4_off = (uint16_t)(out->l3_off + ihl);
	out->l4_len = (uint16_t)l4_len;
	out->l4_proto = l3[IP4_PROTO];
	out->frame_len = (uint16_t)(out->l3_off + tot);

	if (!ifc->has_ip4 || !eq4(l3 + IP4_DST, ifc->ip4)) {
		enum net_fate f;

		if (!ip4_is_bcast(ifc, l3 + IP4_DST))
			return NET_DROP_IP4_NOT_OURS;
		if (l3[IP4_PROTO] != NET_IPPROTO_UDP)
			return NET_PUNT;
		/* a discovery protocol's search (MQTT-SN SEARCHGW) comes this way */
		f = check_udp(l4, l4_len, hw, false, l3 + IP4_SRC, l3 + IP4_DST, out);
		return f == NET_UDP4 ? NET_UDP_BCAST : f;
	}

	switch (l3[IP4_PROTO]) {
	case NET_IPPROTO_UDP:
		return check_udp(l4, l4_len, hw, false, l3 + IP4_SRC, l3 + IP4_DST, out);
	case NET_IPPROTO_ICMP:
		if (l4_len < 4)
			return NET_DROP_ICMP_BAD;
		if (l4[0] != ICMP4_ECHO_REQUEST)
			return NET_PUNT;
		if (l4_len < ICMP_ECHO_HLEN)
			return NET_DROP_ICMP_BAD;
		/*
		 * NIC L4 verdicts cover TCP/UDP, not ICMP, and the reply's
		 * incremental checksum is only right if this one was: always
		 * verify in software.
		 */
		if (cksum_fold(cksum_add(0, l4, l4_len)) != 0)
			return NET_DROP_ICMP_BAD;
		/*
		 * Options (record route, source route...) need processing the
		 * fast path does not do, and a reply must never go to a group:
		 * the host stack decides those.
		 */
		if (l4[1] != 0 || ihl != IP4_HLEN || ip4_is_bcast(ifc, l3 + IP4_SRC))
			return NET_PUNT;
		return NET_ICMP4_ECHO;
	default:
		return NET_PUNT;
	}
}

/*
 * RFC 4861 7.1.1 validation of a solicitation already known to be for us by
 * its destination; the caller checked the ICMPv6 checksum.
 */
static enum net_fate
classify_ns(const uint8_t *l3, const uint8_t *l4, size_t l4_len, const struct net_if *ifc)
{
	const uint8_t *src = l3 + IP6_SRC;
	bool unspec = ip6_is_unspec(src);
	size_t off;

	if (l3[IP6_HLIM] != 255 || l4[1] != 0 || l4_len < ND_NS_LEN)
		return NET_DROP_ND_BAD;
	if (ip6_is_mcast(l4 + 8) || ip6_is_mcast(src))
		return NET_DROP_ND_BAD;
	/* Duplicate address detection goes to the solicited-node group only. */
	if (unspec && !ip6_is_mcast(l3 + IP6_DST))
		return NET_DROP_ND_BAD;
	for (off = ND_NS_LEN; off < l4_len;) {
		size_t olen;

		if (l4_len - off < 2)
			return NET_DROP_ND_BAD;
		olen = (size_t)l4[off + 1] * 8;
		if (olen == 0 || olen > l4_len - off)
			return NET_DROP_ND_BAD;
		if (unspec && l4[off] == ND_OPT_SLLA)
			return NET_DROP_ND_BAD;
		off += olen;
	}
	/*
	 * A link-local target shares our solicited-node group when the
	 * interface identifiers match: it belongs to the host stack.
	 */
	if (!eq16(l4 + 8, ifc->ip6))
		return NET_PUNT;
	return NET_ND_SOLICIT;
}

static enum net_fate
classify_ip6(const uint8_t *l3, size_t left, const struct net_if *ifc, unsigned int hw,
	     struct net_pkt *out)
{
	const uint8_t *dst = l3 + IP6_DST;
	const uint8_t *l4 = l3 + IP6_HLEN;
	size_t plen;
	bool ours, snm;
	uint8_t nh;

	if (left < IP6_HLEN || (l3[0] >> 4) != 6)
		return NET_DROP_IP6_BAD_HDR;
	plen = rd16(l3 + IP6_PLEN);
	if (plen > left - IP6_HLEN)
		return NET_DROP_IP6_BAD_LEN;
	nh = l3[IP6_NH];
	if (nh == IP6_NH_FRAG)
		return NET_DROP_IP6_FRAG;

	out->l4_off = (uint16_t)(out->l3_off + IP6_HLEN);
	out->l4_len = (uint16_t)plen;
	out->l4_proto = nh;
	out->frame_len = (uint16_t)(out->l3_off + IP6_HLEN + plen);

	ours = ifc->has_ip6 && eq16(dst, ifc->ip6);
	snm = ifc->has_ip6 && ip6_is_solicited_node(dst, ifc->ip6);
	if (!ours && !snm) {
		if (ip6_is_mcast(dst) && nh == NET_IPPROTO_UDP) {
			enum net_fate f = check_udp(l4, plen, hw, true, l3 + IP6_SRC, dst, out);

			return f == NET_UDP6 ? NET_UDP_BCAST : f;
		}
		if (ip6_is_mcast(dst) || ip6_is_linklocal(dst))
			return NET_PUNT;
		return NET_DROP_IP6_NOT_OURS;
	}

	switch (nh) {
	case NET_IPPROTO_UDP:
		if (!ours)
			return NET_PUNT;
		return check_udp(l4, plen, hw, true, l3 + IP6_SRC, dst, out);
	case NET_IPPROTO_ICMPV6:
		if (plen < 4)
			return NET_DROP_ICMP_BAD;
		if (l4[0] == ICMP6_NS) {
			enum net_fate f = classify_ns(l3, l4, plen, ifc);

			if (f != NET_ND_SOLICIT)
				return f;
		} else if (l4[0] != ICMP6_ECHO_REQUEST || !ours) {
			return NET_PUNT;
		} else if (plen < ICMP_ECHO_HLEN) {
			return NET_DROP_ICMP_BAD;
		}
		/* As for ICMPv4: NICs do not vouch for ICMPv6 checksums. */
		if (net_l4_cksum6(l3 + IP6_SRC, dst, NET_IPPROTO_ICMPV6, l4, plen) != 0)
			return NET_DROP_ICMP_BAD;
		if (l4[0] == ICMP6_NS)
			return NET_ND_SOLICIT;
		if (l4[1] != 0 || ip6_is_mcast(l3 + IP6_SRC) || ip6_is_unspec(l3 + IP6_SRC))
			return NET_PUNT;
		return NET_ICMP6_ECHO;
	default:
		/* TCP, other protocols, and extension headers: the host's. */
		return NET_PUNT;
	}
}

enum net_fate
net_classify(const uint8_t *frame, size_t len, const struct net_if *ifc, unsigned int hw,
	     struct net_pkt *out)
{
	uint16_t et;
	size_t l3;

	*out = (struct net_pkt){ 0 };
	if (len < NET_ETH_HLEN)
		return NET_DROP_RUNT;
	if (!(frame[0] & 1) && !eq6(frame, ifc->mac))
		return NET_DROP_NOT_OUR_MAC;
	et = rd16(frame + 12);
	l3 = NET_ETH_HLEN;
	if (et == NET_ETHERTYPE_VLAN) {
		if (len < NET_ETH_HLEN + NET_VLAN_HLEN)
			return NET_DROP_RUNT;
		out->has_vlan = true;
		out->vlan_tci = rd16(frame + 14);
		et = rd16(frame + 16);
		l3 += NET_VLAN_HLEN;
	}
	out->ethertype = et;
	out->l3_off = (uint16_t)l3;
	/* Offsets are 16-bit: a longer frame is not a frame this path handles. */
	if (len > UINT16_MAX)
		len = UINT16_MAX;

	switch (et) {
	case NET_ETHERTYPE_IPV4:
		return classify_ip4(frame + l3, len - l3, ifc, hw, out);
	case NET_ETHERTYPE_IPV6:
		return classify_ip6(frame + l3, len - l3, ifc, hw, out);
	case NET_ETHERTYPE_ARP:
		return classify_arp(frame + l3, len - l3, ifc, out);
	default:
		/* Includes a second (QinQ) tag: one tag is all we take off. */
		return NET_DROP_ETHERTYPE;
	}
}

/* The L3 offset a classified frame can have, given its tag. */
static inline bool
l2_ok(const struct net_pkt *p, uint16_t ethertype)
{
	return p->ethertype == ethertype &&
	       p->l3_off == NET_ETH_HLEN + (p->has_vlan ? NET_VLAN_HLEN : 0);
}

/* Reply to the sender: destination = request's source, source = us. */
static inline void
l2_reply(uint8_t *frame, const struct net_if *ifc)
{
	memcpy(frame, frame + NET_ETH_ALEN, NET_ETH_ALEN);
	memcpy(frame + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN);
}

int
net_arp_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc)
{
	uint8_t *arp = frame + p->l3_off;

	if (!l2_ok(p, NET_ETHERTYPE_ARP) || !ifc->has_ip4 || rd16(arp + ARP_OP) != 1 ||
	    !eq4(arp + ARP_TPA, ifc->ip4))
		return -EINVAL;
	memcpy(frame, arp + ARP_SHA, NET_ETH_ALEN);
	memcpy(frame + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN);
	wr16(arp + ARP_OP, 2);
	memcpy(arp + ARP_THA, arp + ARP_SHA, NET_ETH_ALEN);
	memcpy(arp + ARP_TPA, arp + ARP_SPA, 4);
	memcpy(arp + ARP_SHA, ifc->mac, NET_ETH_ALEN);
	memcpy(arp + ARP_SPA, ifc->ip4, 4);
	return p->l3_off + ARP_LEN;
}

int
net_icmp4_echo_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc)
{
	uint8_t *ip = frame + p->l3_off;
	uint8_t *icmp = frame + p->l4_off;
	uint8_t old[2], new[2];

	if (!l2_ok(p, NET_ETHERTYPE_IPV4) || p->l4_proto != NET_IPPROTO_ICMP || !ifc->has_ip4 ||
	    p->l4_off < p->l3_off + IP4_HLEN || p->l4_len < ICMP_ECHO_HLEN ||
	    icmp[0] != ICMP4_ECHO_REQUEST || !eq4(ip + IP4_DST, ifc->ip4))
		return -EINVAL;
	l2_reply(frame, ifc);

	/*
	 * The new source is the old destination, so swapping the addresses
	 * leaves the header sum unchanged; only the TTL word moves it.
	 */
	memcpy(ip + IP4_DST, ip + IP4_SRC, 4);
	memcpy(ip + IP4_SRC, ifc->ip4, 4);
	memcpy(old, ip + IP4_TTL, 2);
	ip[IP4_TTL] = REPLY_TTL;
	cksum_update16(ip + IP4_CKSUM, old, ip + IP4_TTL);

	memcpy(old, icmp, 2);
	new[0] = ICMP4_ECHO_REPLY;
	new[1] = icmp[1];
	icmp[0] = ICMP4_ECHO_REPLY;
	cksum_update16(icmp + 2, old, new);
	if (__builtin_expect(icmp[2] == 0 && icmp[3] == 0, 0)) {
		/*
		 * eqn. 3 gives 0x0000 whenever the rest of the reply sums to
		 * one's complement zero; if it is zero because every byte is
		 * (identifier, sequence and payload all 0) the checksum must
		 * be 0xffff. Rare enough to recompute in full.
		 */
		uint16_t c = cksum_fold(cksum_add(0, icmp, p->l4_len));

		memcpy(icmp + 2, &c, 2);
	}
	return p->frame_len;
}

int
net_icmp6_echo_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc)
{
	uint8_t *ip = frame + p->l3_off;
	uint8_t *icmp = frame + p->l4_off;
	uint16_t c;

	if (!l2_ok(p, NET_ETHERTYPE_IPV6) || p->l4_proto != NET_IPPROTO_ICMPV6 ||
	    !ifc->has_ip6 || p->l4_off != p->l3_off + IP6_HLEN || p->l4_len < ICMP_ECHO_HLEN ||
	    icmp[0] != ICMP6_ECHO_REQUEST)
		return -EINVAL;
	l2_reply(frame, ifc);
	memcpy(ip + IP6_DST, ip + IP6_SRC, 16);
	memcpy(ip + IP6_SRC, ifc->ip6, 16);
	ip[IP6_HLIM] = REPLY_TTL;
	icmp[0] = ICMP6_ECHO_REPLY;
	icmp[2] = 0;
	icmp[3] = 0;
	c = net_l4_cksum6(ip + IP6_SRC, ip + IP6_DST, NET_IPPROTO_ICMPV6, icmp, p->l4_len);
	memcpy(icmp + 2, &c, 2);
	return p->frame_len;
}

int
net_nd_advert(uint8_t *frame, size_t cap, const struct net_pkt *p, const struct net_if *ifc)
{
	static const uint8_t all_nodes_mac[NET_ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	uint8_t *ip = frame + p->l3_off;
	uint8_t *na = frame + p->l4_off;
	size_t rlen = (size_t)p->l3_off + IP6_HLEN + ND_NA_LEN;
	bool dad;
	uint16_t c;

	if (!l2_ok(p, NET_ETHERTYPE_IPV6) || p->l4_proto != NET_IPPROTO_ICMPV6 ||
	    !ifc->has_ip6 || p->l4_off != p->l3_off + IP6_HLEN || p->l4_len < ND_NS_LEN ||
	    na[0] != ICMP6_NS)
		return -EINVAL;
	if (cap < rlen)
		return -ENOSPC;

	/* RFC 4861 7.2.4: an unspecified source gets a multicast, unsolicited answer. */
	dad = ip6_is_unspec(ip + IP6_SRC);
	if (dad) {
		memcpy(frame, all_nodes_mac, NET_ETH_ALEN);
		memcpy(ip + IP6_DST, all_nodes, 16);
	} else {
		memcpy(frame, frame + NET_ETH_ALEN, NET_ETH_ALEN);
		memcpy(ip + IP6_DST, ip + IP6_SRC, 16);
	}
	memcpy(frame + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN);

	ip[0] = 0x60;		/* version 6, traffic class and flow label 0 */
	ip[1] = 0;
	ip[2] = 0;
	ip[3] = 0;
	wr16(ip + IP6_PLEN, ND_NA_LEN);
	ip[IP6_NH] = NET_IPPROTO_ICMPV6;
	ip[IP6_HLIM] = 255;	/* RFC 4861 7.1.2: receivers check it */
	memcpy(ip + IP6_SRC, ifc->ip6, 16);

	na[0] = ICMP6_NA;
	na[1] = 0;
	na[2] = 0;
	na[3] = 0;
	/* Not an IP router (no forwarding), so R stays clear. */
	na[4] = (uint8_t)((dad ? 0 : ND_NA_FLAG_S) | ND_NA_FLAG_O);
	na[5] = 0;
	na[6] = 0;
	na[7] = 0;
	memcpy(na + 8, ifc->ip6, 16);
	na[24] = ND_OPT_TLLA;
	na[25] = 1;
	memcpy(na + 26, ifc->mac, NET_ETH_ALEN);
	c = net_l4_cksum6(ip + IP6_SRC, ip + IP6_DST, NET_IPPROTO_ICMPV6, na, ND_NA_LEN);
	memcpy(na + 2, &c, 2);
	return (int)rlen;
}

int
net_peer_from(const uint8_t *frame, const struct net_pkt *p, struct net_peer *out)
{
	const uint8_t *ip = frame + p->l3_off;

	if (p->ethertype != NET_ETHERTYPE_IPV4 && p->ethertype != NET_ETHERTYPE_IPV6)
		return -EINVAL;
	if (p->l4_proto != NET_IPPROTO_UDP)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, frame + NET_ETH_ALEN, NET_ETH_ALEN);
	out->has_vlan = p->has_vlan;
	out->vlan_tci = p->vlan_tci;
	out->port = p->src_port;
	out->lport = p->dst_port;
	out->v6 = p->ethertype == NET_ETHERTYPE_IPV6;
	if (out->v6)
		memcpy(out->addr, ip + IP6_SRC, 16);
	else
		memcpy(out->addr, ip + IP4_SRC, 4);
	return 0;
}

size_t
net_udp_header_len(const struct net_peer *peer)
{
	return NET_ETH_HLEN + (peer->has_vlan ? NET_VLAN_HLEN : 0) +
	       (peer->v6 ? IP6_HLEN : IP4_HLEN) + UDP_HLEN;
}

int
net_udp_header(uint8_t *buf, size_t cap, const struct net_if *ifc,
	       const struct net_peer *peer, uint16_t sport, size_t payload_len,
	       uint32_t payload_sum)
{
	size_t hlen = net_udp_header_len(peer), off = 0;
	size_t ulen = UDP_HLEN + payload_len;
	uint8_t *ip, *udp, ph[12];
	uint32_t sum;
	uint16_t c;

	if (hlen > cap)
		return -ENOSPC;
	if (ulen > 0xffff - (peer->v6 ? 0 : IP4_HLEN))
		return -EINVAL;
	if (peer->v6 ? !ifc->has_ip6 : !ifc->has_ip4)
		return -EINVAL;
	memcpy(buf, peer->mac, NET_ETH_ALEN);
	memcpy(buf + NET_ETH_ALEN, ifc->mac, NET_ETH_ALEN);
	off = 2 * NET_ETH_ALEN;
	if (peer->has_vlan) {
		wr16(buf + off, NET_ETHERTYPE_VLAN);
		wr16(buf + off + 2, peer->vlan_tci);
		off += NET_VLAN_HLEN;
	}
	wr16(buf + off, peer->v6 ? NET_ETHERTYPE_IPV6 : NET_ETHERTYPE_IPV4);
	off += 2;
	ip = buf + off;
	if (peer->v6) {
		memset(ip, 0, IP6_HLEN);
		ip[0] = 0x60;
		wr16(ip + IP6_PLEN, (uint16_t)ulen);
		ip[IP6_NH] = NET_IPPROTO_UDP;
		ip[IP6_HLIM] = REPLY_TTL;
		memcpy(ip + IP6_SRC, ifc->ip6, 16);
		memcpy(ip + IP6_DST, peer->addr, 16);
		udp = ip + IP6_HLEN;
	} else {
		memset(ip, 0, IP4_HLEN);
		ip[0] = 0x45;
		wr16(ip + IP4_TOTLEN, (uint16_t)(IP4_HLEN + ulen));
		wr16(ip + IP4_FRAG, 0x4000);           /* DF */
		ip[IP4_TTL] = REPLY_TTL;
		ip[IP4_PROTO] = NET_IPPROTO_UDP;
		memcpy(ip + IP4_SRC, ifc->ip4, 4);
		memcpy(ip + IP4_DST, peer->addr, 4);
		c = cksum_fold(cksum_add(0, ip, IP4_HLEN));
		memcpy(ip + IP4_CKSUM, &c, 2);
		udp = ip + IP4_HLEN;
	}
	wr16(udp, sport);
	wr16(udp + 2, peer->port);
	wr16(udp + 4, (uint16_t)ulen);
	wr16(udp + 6, 0);
	/* pseudo-header + UDP header + the payload's precomputed sum */
	if (peer->v6) {
		sum = cksum_add(0, ip + IP6_SRC, 32);
		memset(ph, 0, 8);
		wr16(ph + 2, (uint16_t)ulen);
		ph[7] = NET_IPPROTO_UDP;
		sum = cksum_add(sum, ph, 8);
	} else {
		memcpy(ph, ip + IP4_SRC, 8);
		ph[8] = 0;
		ph[9] = NET_IPPROTO_UDP;
		wr16(ph + 10, (uint16_t)ulen);
		sum = cksum_add(0, ph, 12);
	}
	sum = cksum_add(sum, udp, UDP_HLEN);
	sum = net_cksum_combine(sum, payload_sum, 0);
	c = cksum_fold(sum);
	if (c == 0)
		c = 0xffff;                             /* 0 means "no checksum" */
	memcpy(udp + 6, &c, 2);
	return (int)hlen;
}

/*
 * The template is what net_udp_header() writes for an empty payload (plus
 * the prefix), with every length and checksum field zeroed, so the sums of
 * the fixed parts can be taken once: what a datagram adds is its lengths
 * (the UDP length twice, in the pseudo-header and in the UDP header; for
 * IPv6 the pseudo-header's 32-bit length has a zero high word) and its
 * payload's sum.
 */
int
net_udp_tpl_init(struct net_udp_tpl *t, const struct net_if *ifc, const struct net_peer *peer,
		 uint16_t sport, const void *prefix, size_t prefix_len)
{
	static const uint8_t proto_word[2] = { 0, NET_IPPROTO_UDP };
	size_t hl = net_udp_header_len(peer);
	uint8_t *ip, *udp;
	uint32_t sum;

	t->len = 0;
	if (prefix_len > NET_UDP_TPL_PREFIX_MAX || (prefix_len > 0 && prefix == NULL))
		return -EINVAL;
	if (net_udp_header(t->hdr, sizeof(t->hdr), ifc, peer, sport, 0, 0) < 0)
		return -EINVAL;
	t->ip_off = (uint8_t)(NET_ETH_HLEN + (peer->has_vlan ? NET_VLAN_HLEN : 0));
	t->udp_off = (uint8_t)(t->ip_off + (peer->v6 ? IP6_HLEN : IP4_HLEN));
	t->v6 = peer->v6;
	t->pfx_len = (uint8_t)prefix_len;
	ip = t->hdr + t->ip_off;
	if (t->v6) {
		wr16(ip + IP6_PLEN, 0);
		udp = ip + IP6_HLEN;
		sum = cksum_add(0, ip + IP6_SRC, 32);
		t->ip_sum = 0;
	} else {
		wr16(ip + IP4_TOTLEN, 0);
		wr16(ip + IP4_CKSUM, 0);
		t->ip_sum = cksum_add(0, ip, IP4_HLEN);
		udp = ip + IP4_HLEN;
		sum = cksum_add(0, ip + IP4_SRC, 8);
	}
	wr16(udp + 4, 0);
	wr16(udp + 6, 0);
	sum = cksum_add(sum, proto_word, 2);
	sum = cksum_add(sum, udp, UDP_HLEN);
	if (prefix_len > 0) {
		memcpy(udp + UDP_HLEN, prefix, prefix_len);
		sum = cksum_add(sum, udp + UDP_HLEN, prefix_len);
	}
	t->udp_sum = sum;
	t->len = (uint8_t)(hl + prefix_len);
	return t->len;
}
