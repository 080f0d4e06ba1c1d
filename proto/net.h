/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_NET_H
#define TERN_PROTO_NET_H

/*
 * L2/L3/L4 classification of one Ethernet frame, and the in-place replies the
 * fast path sends itself (ARP, neighbour advertisement, ICMP/ICMPv6 echo).
 *
 * The fast path asks one question per frame: what is this frame's fate?
 * net_classify() answers with exactly one value of enum net_fate: a frame the
 * router answers itself, a UDP datagram for a protocol node, a frame for the
 * host stack (punt to the exception path), or one drop reason. Every fate is
 * a counter in the data plane (see FOREACH_NET_FATE), so no frame is dropped
 * without a name.
 *
 * Pure wire code: no DPDK, no allocation, safe from any thread. All
 * multi-byte fields in struct net_if and struct net_pkt that hold addresses
 * are kept in network byte order, exactly as on the wire; ports and
 * ethertypes are host order.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NET_ETH_ALEN 6
#define NET_ETH_HLEN 14
#define NET_VLAN_HLEN 4
#define NET_ETHERTYPE_IPV4 0x0800
#define NET_ETHERTYPE_ARP 0x0806
#define NET_ETHERTYPE_VLAN 0x8100
#define NET_ETHERTYPE_IPV6 0x86dd
#define NET_IPPROTO_ICMP 1
#define NET_IPPROTO_TCP 6
#define NET_IPPROTO_UDP 17
#define NET_IPPROTO_ICMPV6 58

/*
 * Every fate of a received frame: name (counter name), description.
 * The first group are frames the fast path handles, then frames punted to the
 * host stack, then drops. Order is the counter order.
 */
#define FOREACH_NET_FATE(_) \
	_(ARP_REQUEST,     "arp_request",     "ARP requests for the port's IPv4 address, answered") \
	_(ND_SOLICIT,      "nd_solicit",      "neighbour solicitations for the port's IPv6 address, answered") \
	_(ICMP4_ECHO,      "icmp4_echo",      "ICMP echo requests to the port's IPv4 address, answered") \
	_(ICMP6_ECHO,      "icmp6_echo",      "ICMPv6 echo requests to the port's IPv6 address, answered") \
	_(UDP4,            "udp4",            "valid UDP/IPv4 datagrams to the port's address") \
	_(UDP6,            "udp6",            "valid UDP/IPv6 datagrams to the port's address") \
	_(UDP_BCAST,       "udp_bcast",       "valid UDP datagrams to a broadcast or multicast address (SEARCHGW to the MQTT-SN port answered, the rest to the host stack)") \
	_(PUNT,            "punt",            "frames for the host stack (TCP, other ICMP, ARP replies, multicast, ...)") \
	_(DROP_RUNT,       "drop_runt",       "frames shorter than an Ethernet (and VLAN) header") \
	_(DROP_NOT_OUR_MAC, "drop_not_our_mac", "unicast frames for another MAC address") \
	_(DROP_ETHERTYPE,  "drop_ethertype",  "frames of an ethertype the router does not speak") \
	_(DROP_ARP_BAD,    "drop_arp_bad",    "truncated or malformed ARP packets") \
	_(DROP_ARP_OTHER,  "drop_arp_other",  "ARP requests for another address") \
	_(DROP_IP4_BAD_HDR, "drop_ip4_bad_hdr", "IPv4: bad version, header length, or truncated header") \
	_(DROP_IP4_BAD_LEN, "drop_ip4_bad_len", "IPv4: total length larger than the frame or smaller than the header") \
	_(DROP_IP4_BAD_CKSUM, "drop_ip4_bad_cksum", "IPv4: header checksum mismatch") \
	_(DROP_IP4_FRAG,   "drop_ip4_frag",   "IPv4 fragments (not reassembled)") \
	_(DROP_IP4_NOT_OURS, "drop_ip4_not_ours", "IPv4 unicast to another address (no forwarding)") \
	_(DROP_IP6_BAD_HDR, "drop_ip6_bad_hdr", "IPv6: bad version or truncated header") \
	_(DROP_IP6_BAD_LEN, "drop_ip6_bad_len", "IPv6: payload length larger than the frame") \
	_(DROP_IP6_FRAG,   "drop_ip6_frag",   "IPv6 fragments (not reassembled)") \
	_(DROP_IP6_NOT_OURS, "drop_ip6_not_ours", "IPv6 unicast to another global address (no forwarding)") \
	_(DROP_UDP_BAD_LEN, "drop_udp_bad_len", "UDP: length field disagrees with the IP payload") \
	_(DROP_UDP_BAD_CKSUM, "drop_udp_bad_cksum", "UDP: checksum mismatch (or zero over IPv6)") \
	_(DROP_ICMP_BAD,   "drop_icmp_bad",   "ICMP/ICMPv6: truncated or checksum mismatch") \
	_(DROP_ND_BAD,     "drop_nd_bad",     "neighbour solicitation: hop limit not 255, bad code or length")

enum net_fate {
#define NET_FATE_ENUM(e, n, d) NET_##e,
	FOREACH_NET_FATE(NET_FATE_ENUM)
#undef NET_FATE_ENUM
	NET_FATE_MAX
};

/** First fate that is a drop; fates below it are handled or punted. */
#define NET_FATE_FIRST_DROP NET_DROP_RUNT

/** Counter name of a fate ("udp4", "drop_runt"); NULL if out of range. */
const char *net_fate_name(enum net_fate f);
/** One-line description of a fate; NULL if out of range. */
const char *net_fate_desc(enum net_fate f);

/* The addresses of one router interface. */
struct net_if {
	uint8_t mac[NET_ETH_ALEN];
	bool has_ip4;
	bool has_ip6;
	uint8_t ip4[4];        /* network order */
	uint8_t ip4_prefix;    /* for the directed broadcast */
	uint8_t ip6[16];       /* global unicast, network order */
};

/* Hardware checksum verdicts, from the NIC (mbuf ol_flags) when it has them. */
#define NET_HW_IP_CKSUM_GOOD  0x1u
#define NET_HW_IP_CKSUM_BAD   0x2u
#define NET_HW_L4_CKSUM_GOOD  0x4u
#define NET_HW_L4_CKSUM_BAD   0x8u

/* What net_classify() learnt about a frame; valid fields depend on the fate. */
struct net_pkt {
	uint16_t l3_off;       /* offset of the ARP/IP header (after any VLAN tag) */
	uint16_t l4_off;       /* offset of the UDP/ICMP header */
	uint16_t l4_len;       /* UDP: UDP length incl. header; ICMP: ICMP length */
	uint16_t ethertype;    /* inner ethertype (after VLAN) */
	uint16_t vlan_tci;     /* valid when has_vlan */
	bool has_vlan;
	uint8_t l4_proto;
	uint16_t src_port;     /* UDP, host order */
	uint16_t dst_port;     /* UDP, host order */
	uint16_t frame_len;    /* frame length implied by the IP length (<= len) */
};

/**
 * Classify one Ethernet frame received on interface @p ifc.
 *
 * @param frame  the frame, starting at the destination MAC
 * @param len    bytes in @p frame (the frame may carry Ethernet padding
 *               beyond the IP length: it is ignored)
 * @param ifc    the receiving interface's addresses
 * @param hw     NET_HW_* flags from the NIC; 0 means verify in software
 * @param out    filled with offsets and ports; valid for every non-drop fate
 * @return the frame's fate; never fails. Reads at most @p len bytes.
 *
 * Rules: unicast frames not to ifc->mac are DROP_NOT_OUR_MAC; broadcast and
 * multicast are accepted. ARP requests for ifc->ip4 are ARP_REQUEST, other
 * well-formed ARP for ifc->ip4 (replies) PUNT, ARP for other addresses
 * DROP_ARP_OTHER. IPv4 to ifc->ip4: UDP -> UDP4 (after length and checksum
 * checks, zero UDP checksum allowed), ICMP echo request -> ICMP4_ECHO,
 * anything else -> PUNT. IPv4 broadcast/multicast -> PUNT. IPv6 to ifc->ip6:
 * UDP -> UDP6 (zero checksum is a drop), echo request -> ICMP6_ECHO, else
 * PUNT. IPv6 neighbour solicitation whose target is ifc->ip6 (to the
 * solicited-node multicast or to ifc->ip6) -> ND_SOLICIT. Other IPv6
 * multicast and link-local destinations -> PUNT. Fragments (IPv4 MF or
 * offset, IPv6 fragment header as first extension) are dropped. Unknown
 * IPv6 extension headers before the transport header -> PUNT.
 */
enum net_fate net_classify(const uint8_t *frame, size_t len, const struct net_if *ifc,
			   unsigned int hw, struct net_pkt *out);

/**
 * Turn an ARP_REQUEST frame into the ARP reply in place.
 * @return the reply's frame length (> 0), or -EINVAL if @p p is not an
 *         ARP request as classified.
 */
int net_arp_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc);

/**
 * Turn an ICMP4_ECHO frame into the echo reply in place (addresses and MACs
 * swapped, source MAC = ifc->mac, TTL 64, checksums updated).
 * @return the reply's frame length, or -EINVAL.
 */
int net_icmp4_echo_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc);

/**
 * Turn an ICMP6_ECHO frame into the echo reply in place (hop limit 64).
 * @return the reply's frame length, or -EINVAL.
 */
int net_icmp6_echo_reply(uint8_t *frame, const struct net_pkt *p, const struct net_if *ifc);

/**
 * Turn an ND_SOLICIT frame into a neighbour advertisement for ifc->ip6 in
 * place, with a target link-layer address option carrying ifc->mac; flags
 * Solicited (unless the solicitation came from ::, which gets an
 * advertisement to ff02::1) and Override.
 * @param cap  bytes available at @p frame (the reply may be longer than the
 *             request when the request had no options)
 * @return the reply's frame length, -ENOSPC if @p cap is too small, -EINVAL.
 */
int net_nd_advert(uint8_t *frame, size_t cap, const struct net_pkt *p, const struct net_if *ifc);

/*
 * The other end of a UDP flow, as the router answers it: its MAC (the
 * return path needs no ARP table: the session remembers where its client's
 * last datagram came from), VLAN tag, address and port.
 */
struct net_peer {
	uint8_t mac[NET_ETH_ALEN];
	bool v6;
	bool has_vlan;
	uint16_t vlan_tci;
	uint16_t port;         /* host order */
	uint8_t addr[16];      /* IPv4 in the first 4 bytes; network order */
	uint16_t lport;        /* ours: the port it sent to, and answers come from (host order) */
};

/**
 * The sender of a UDP4/UDP6 frame as classified by net_classify().
 * @return 0, or -EINVAL if @p p is not a UDP fate's result.
 */
int net_peer_from(const uint8_t *frame, const struct net_pkt *p, struct net_peer *out);

/** Bytes of Ethernet (+VLAN), IP and UDP headers towards @p peer. */
size_t net_udp_header_len(const struct net_peer *peer);

/**
 * Write the Ethernet (+VLAN), IPv4/IPv6 and UDP headers of a datagram from
 * @p ifc port @p sport to @p peer, for a payload of @p payload_len bytes
 * whose one's complement sum is @p payload_sum (net_cksum_add(0, payload,
 * len), computed once when the same payload goes to many peers). The UDP
 * checksum is complete; IPv4 gets DF, TTL 64 and its header checksum.
 * @return the header length (net_udp_header_len()), -ENOSPC if @p cap is too
 *         small, -EINVAL for a payload that does not fit one datagram.
 */
int net_udp_header(uint8_t *buf, size_t cap, const struct net_if *ifc,
		   const struct net_peer *peer, uint16_t sport, size_t payload_len,
		   uint32_t payload_sum);

/*
 * A UDP header template towards one peer. Every datagram to a peer carries
 * the same Ethernet (+VLAN), IPv4/IPv6 and UDP headers except for three
 * lengths and two checksums; a template keeps those headers (and,
 * optionally, a fixed prefix of every payload, such as a tunnel or
 * encapsulation header) with the one's complement sums of their fixed
 * parts, so the headers of one datagram are a copy and a few stores
 * (net_udp_tpl_write()) instead of net_udp_header() each time. Build it
 * again when the peer (address, port, MAC, VLAN) changes.
 */
#define NET_UDP_TPL_PREFIX_MAX 32
#define NET_UDP_TPL_MAX (NET_ETH_HLEN + NET_VLAN_HLEN + 40 + 8 + NET_UDP_TPL_PREFIX_MAX)

struct net_udp_tpl {
	uint8_t len;          /* bytes of net_udp_tpl_write(): headers and prefix; 0: no template */
	uint8_t ip_off;       /* where the IP header starts */
	uint8_t udp_off;      /* where the UDP header starts */
	uint8_t pfx_len;      /* payload prefix bytes (after the UDP header) */
	bool v6;
	uint32_t ip_sum;      /* IPv4: the header's sum with total length and checksum 0 */
	uint32_t udp_sum;     /* pseudo-header without its length, UDP ports, prefix */
	uint8_t hdr[NET_UDP_TPL_MAX];
};

/**
 * Build the template of datagrams from @p ifc port @p sport to @p peer whose
 * payload starts with the @p prefix_len bytes of @p prefix (NULL if 0).
 * @return the template's length (net_udp_header_len() + @p prefix_len),
 *         -EINVAL (a prefix longer than NET_UDP_TPL_PREFIX_MAX, or @p ifc has
 *         no address of the peer's family); on error t->len is 0.
 */
int net_udp_tpl_init(struct net_udp_tpl *t, const struct net_if *ifc,
		     const struct net_peer *peer, uint16_t sport, const void *prefix,
		     size_t prefix_len);

/*
 * Inline one's complement helpers for per-packet code (RFC 1071; sums in
 * native byte order, as net_cksum_add() keeps them).
 */

/** The sum of two partial sums (32-bit, end-around carry). */
static inline uint32_t
net_cksum_add32(uint32_t a, uint32_t b)
{
	a += b;
	return a + (a < b);
}

/** net_cksum_fold(), inline: the 16-bit checksum of a sum, as stored in a header. */
static inline uint16_t
net_cksum_finish(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/**
 * The sum of a block, @p sum, as it counts at an odd offset of a message
 * (folded to 16 bits, bytes swapped): net_cksum_combine(a, sum, odd) is
 * net_cksum_add32(a, net_cksum_odd(sum)).
 */
static inline uint32_t
net_cksum_odd(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ((sum & 0xff) << 8) | (sum >> 8);
}

/**
 * Write the template's headers and prefix at @p buf (t->len bytes) for a
 * datagram whose payload is the prefix followed by @p len bytes summing to
 * @p sum (net_cksum_add(0, bytes, len): summed as if they started at offset
 * 0; the caller puts them at @p buf + t->len). Fills in the lengths, the
 * IPv4 header checksum and the UDP checksum (0 is sent as 0xffff), exactly
 * as net_udp_header() would. Inline: it runs once per datagram sent.
 * @return t->len, or -EINVAL for a template of length 0 or a payload that
 *         does not fit one datagram.
 */
static inline int
net_udp_tpl_write(uint8_t *buf, const struct net_udp_tpl *t, size_t len, uint32_t sum)
{
	size_t ulen = 8 + (size_t)t->pfx_len + len;
	uint8_t *ip = buf + t->ip_off, *udp = buf + t->udp_off, be[2];
	uint16_t w, c;

	if (t->len == 0 || ulen > (t->v6 ? 0xffffu : 0xffffu - 20))
		return -EINVAL;
	/* the commonest header, untagged UDP/IPv4, as a fixed-size copy */
	if (t->len == NET_ETH_HLEN + 20 + 8)
		memcpy(buf, t->hdr, NET_ETH_HLEN + 20 + 8);
	else
		memcpy(buf, t->hdr, t->len);
	be[0] = (uint8_t)(ulen >> 8);
	be[1] = (uint8_t)ulen;
	memcpy(udp + 4, be, 2);
	memcpy(&w, be, 2);
	if (t->v6) {
		memcpy(ip + 4, be, 2);                  /* payload length */
	} else {
		uint8_t tot[2] = { (uint8_t)((ulen + 20) >> 8), (uint8_t)(ulen + 20) };
		uint16_t wt;

		memcpy(ip + 2, tot, 2);                 /* total length */
		memcpy(&wt, tot, 2);
		c = net_cksum_finish(net_cksum_add32(t->ip_sum, wt));
		memcpy(ip + 10, &c, 2);
	}
	/* after an odd-length prefix the rest sums with its bytes swapped */
	if (t->pfx_len & 1)
		sum = net_cksum_odd(sum);
	/* the length counts twice: in the pseudo-header and in the UDP header */
	c = net_cksum_finish(net_cksum_add32(net_cksum_add32(t->udp_sum, sum), 2u * w));
	if (c == 0)
		c = 0xffff;                             /* 0 means "no checksum" */
	memcpy(udp + 6, &c, 2);
	return t->len;
}

/**
 * Internet checksum helpers (RFC 1071). net_cksum_add() folds @p len bytes into a
 * running 32-bit sum; net_cksum_fold() returns the final 16-bit one's
 * complement, in network byte order as stored in a header.
 */
uint32_t net_cksum_add(uint32_t sum, const void *buf, size_t len);
uint16_t net_cksum_fold(uint32_t sum);

/**
 * Combine the running sum @p a of a message with the sum @p b of a block
 * that starts @p b_offset bytes into that message (an odd offset swaps the
 * block's bytes). Lets a payload shared by many packets be summed once.
 */
uint32_t net_cksum_combine(uint32_t a, uint32_t b, size_t b_offset);

/**
 * UDP or ICMPv6 checksum over the IPv4/IPv6 pseudo-header and @p l4 of
 * @p l4_len bytes (with the checksum field as it is in the buffer). A packet
 * with a correct checksum yields 0.
 */
uint16_t net_l4_cksum4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
		       const uint8_t *l4, size_t l4_len);
uint16_t net_l4_cksum6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
		       const uint8_t *l4, size_t l4_len);

#endif
