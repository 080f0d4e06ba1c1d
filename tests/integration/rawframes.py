#!/usr/bin/env python3
"""Send hand-made Ethernet frames from the client namespace's tap.

  rawframes.py IFACE ROUTER_MAC KIND COUNT      send COUNT frames of KIND
  rawframes.py --list                           the kinds and the counter each
                                                should move

Frames are built here byte by byte (no third-party packet library), so each
malformation is exactly the one named. Addresses: the TEST-NET ones of
tests/integration/lib.sh.
"""
import socket
import struct
import sys

CLIENT_MAC = bytes.fromhex("02005e005302")
OTHER_MAC = bytes.fromhex("02005e005399")
C4, R4, OTHER4 = bytes([192, 0, 2, 2]), bytes([192, 0, 2, 1]), bytes([192, 0, 2, 77])
C6 = bytes.fromhex("20010db8000000000000000000000002")
R6 = bytes.fromhex("20010db8000000000000000000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, etype, payload, src=CLIENT_MAC):
    return dst + src + struct.pack("!H", etype) + payload


def ip4(payload, proto=17, dst=R4, ihl=5, total=None, flags_frag=0, bad_cksum=False):
    total = total if total is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, flags_frag, 64, proto, 0, C4, dst)
    c = csum(h)
    if bad_cksum:
        c ^= 0x5555
    return h[:10] + struct.pack("!H", c) + h[12:] + payload


def udp4(data, sport=40000, dport=5999, length=None, bad_cksum=False):
    length = length if length is not None else 8 + len(data)
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = C4 + R4 + struct.pack("!BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    if bad_cksum:
        c ^= 0x00FF
    return struct.pack("!HHHH", sport, dport, length, c) + data


def ip6(payload, nh=17, plen=None):
    plen = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nh, 64, C6, R6) + payload


def udp6_zero(data, sport=40000, dport=5999):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def icmp4_echo(ident=7, seq=1):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"vlan-echo-test"
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def frames(router_mac):
    R = router_mac
    return {
        # kind: (frame, counter that must move by exactly COUNT)
        "eth_only": (eth(R, 0x0800, b""), "drop_ip4_bad_hdr"),
        "ip4_ihl3": (eth(R, 0x0800, ip4(udp4(b"x"), ihl=3)), "drop_ip4_bad_hdr"),
        "ip4_trunc": (eth(R, 0x0800, ip4(udp4(b"x"))[:12]), "drop_ip4_bad_hdr"),
        "ip4_badlen": (eth(R, 0x0800, ip4(udp4(b"x" * 20), total=1000)), "drop_ip4_bad_len"),
        "ip4_badcksum": (eth(R, 0x0800, ip4(udp4(b"x" * 20), bad_cksum=True)),
                         "drop_ip4_bad_cksum"),
        "ip4_frag": (eth(R, 0x0800, ip4(udp4(b"x" * 20), flags_frag=0x2000)), "drop_ip4_frag"),
        "ip4_frag_offset": (eth(R, 0x0800, ip4(b"x" * 24, flags_frag=0x0003)), "drop_ip4_frag"),
        "udp4_badlen": (eth(R, 0x0800, ip4(udp4(b"x" * 20, length=200))), "drop_udp_bad_len"),
        "udp4_shortlen": (eth(R, 0x0800, ip4(udp4(b"x" * 20, length=4))), "drop_udp_bad_len"),
        "udp4_badcksum": (eth(R, 0x0800, ip4(udp4(b"x" * 20, bad_cksum=True))),
                          "drop_udp_bad_cksum"),
        "ip6_badlen": (eth(R, 0x86DD, ip6(udp6_zero(b"x" * 20), plen=1000)), "drop_ip6_bad_len"),
        "ip6_trunc": (eth(R, 0x86DD, ip6(b"")[:30]), "drop_ip6_bad_hdr"),
        "ip6_frag": (eth(R, 0x86DD, ip6(struct.pack("!BBHI", 17, 0, 1, 99) + b"x" * 16, nh=44)),
                     "drop_ip6_frag"),
        "udp6_zero_cksum": (eth(R, 0x86DD, ip6(udp6_zero(b"x" * 20))), "drop_udp_bad_cksum"),
        "arp_trunc": (eth(R, 0x0806, bytes.fromhex("00010800060400")), "drop_arp_bad"),
        "ethertype": (eth(R, 0x88B5, b"\0" * 46), "drop_ethertype"),
        "other_mac": (eth(OTHER_MAC, 0x0800, ip4(udp4(b"x"))), "drop_not_our_mac"),
        "ip4_not_ours": (eth(R, 0x0800, ip4(udp4(b"x"), dst=OTHER4)), "drop_ip4_not_ours"),
        "vlan_echo": (eth(R, 0x8100, struct.pack("!HH", 5, 0x0800) + ip4(icmp4_echo(), proto=1)),
                      "icmp4_echo"),
    }


def main():
    if sys.argv[1:] == ["--list"]:
        for k, (_, c) in frames(b"\0" * 6).items():
            print(k, c)
        return 0
    iface, mac, kind, count = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), \
        sys.argv[3], int(sys.argv[4])
    frame = frames(mac)[kind][0]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(count):
        s.send(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
