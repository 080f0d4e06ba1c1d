#!/usr/bin/env python3
"""Hand-made DTLS 1.2 datagrams against ternd's DTLS ports (test_dtls.sh).

  dtls_raw.py hvr HOST PORT           a ClientHello without a cookie: prints
                                      the reply's length and kind
  dtls_raw.py forged HOST PORT        a ClientHello with a made-up cookie:
                                      prints the reply's kind, or "none"
  dtls_raw.py spoof HOST PORT N       N cookieless ClientHellos from N source
                                      ports: prints "hvr=H max=L" (replies, the
                                      longest reply)
  dtls_raw.py flood HOST PORT N HOLD  N clients (source ports) that each pass
                                      the cookie exchange and then go silent
                                      for HOLD seconds: prints "hvr=H flight=F"
                                      (cookie replies; server flights, i.e.
                                      sessions the server made)
  dtls_raw.py replay IFACE PCAP MODE [PORT]
                                      the last application-data datagram from
                                      the client to PORT (default 5684) in
                                      PCAP sent again from the tap as the same
                                      frame: MODE same, first (the first one
                                      instead), truncate (cut mid-record) or
                                      corrupt (a ciphertext octet flipped; the
                                      UDP checksum is set to 0, "none")

The ClientHello offers the PSK suites ternd offers, so a server that accepts
it answers with its first flight. No third-party packet library: every octet
is written here.
"""
import os
import socket
import struct
import sys
import time

CT_HANDSHAKE, CT_APP = 22, 23
HS_CLIENT_HELLO, HS_HELLO_VERIFY = 1, 3
SUITES = [0xC0A8, 0x00A8, 0x00FF]   # PSK-AES128-CCM8, PSK-AES128-GCM-SHA256, SCSV


def client_hello(rnd, cookie=b"", seq=0):
    body = b"\xfe\xfd" + rnd + b"\x00" + bytes([len(cookie)]) + cookie
    body += struct.pack("!H", 2 * len(SUITES)) + b"".join(struct.pack("!H", s) for s in SUITES)
    body += b"\x01\x00"
    hs = struct.pack("!B", HS_CLIENT_HELLO) + len(body).to_bytes(3, "big")
    hs += struct.pack("!H", seq) + (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + body
    rec = struct.pack("!BH", CT_HANDSHAKE, 0xFEFD) + struct.pack("!H", 0)
    rec += seq.to_bytes(6, "big") + struct.pack("!H", len(hs))
    return rec + hs


def kind(d):
    if len(d) >= 14 and d[0] == CT_HANDSHAKE:
        return {HS_HELLO_VERIFY: "hvr", 2: "server_hello"}.get(d[13], "handshake")
    if len(d) >= 1 and d[0] == 21:
        return "alert"
    return "other"


def cookie_of(hvr):
    # record 13, handshake header 12, server_version 2, cookie length 1
    n = hvr[13 + 12 + 2]
    return hvr[13 + 12 + 3:13 + 12 + 3 + n]


def sock(host, port, timeout=2.0):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv(s):
    try:
        return s.recv(4096)
    except socket.timeout:
        return None


def main():
    cmd = sys.argv[1]
    if cmd == "hvr":
        s = sock(sys.argv[2], int(sys.argv[3]))
        ch = client_hello(os.urandom(32))
        s.send(ch)
        d = recv(s)
        print("none" if d is None else "%s %d of %d" % (kind(d), len(d), len(ch)))
    elif cmd == "forged":
        s = sock(sys.argv[2], int(sys.argv[3]))
        s.send(client_hello(os.urandom(32), os.urandom(32), seq=1))
        d = recv(s)
        print("none" if d is None else kind(d))
    elif cmd == "spoof":
        n, hvr, longest = int(sys.argv[4]), 0, 0
        socks = [sock(sys.argv[2], int(sys.argv[3]), 0.5) for _ in range(n)]
        for s in socks:
            s.send(client_hello(os.urandom(32)))
        for s in socks:
            d = recv(s)
            if d is not None and kind(d) == "hvr":
                hvr += 1
                longest = max(longest, len(d))
        print("hvr=%d max=%d" % (hvr, longest))
    elif cmd == "flood":
        # all at once: N ClientHellos, N cookies back, N ClientHellos with them
        n, hold = int(sys.argv[4]), float(sys.argv[5])
        socks = [sock(sys.argv[2], int(sys.argv[3]), 1.0) for _ in range(n)]
        rnds = [os.urandom(32) for _ in range(n)]
        for s, rnd in zip(socks, rnds):
            s.send(client_hello(rnd))
        cookies = []
        for s in socks:
            d = recv(s)
            cookies.append(cookie_of(d) if d is not None and kind(d) == "hvr" else None)
        for s, rnd, c in zip(socks, rnds, cookies):
            if c is not None:
                s.send(client_hello(rnd, c, seq=1))
        flight = 0
        for s, c in zip(socks, cookies):
            if c is None:
                continue
            s.settimeout(0.5)
            d = recv(s)
            if d is not None and kind(d) == "server_hello":
                flight += 1
        print("hvr=%d flight=%d" % (sum(c is not None for c in cookies), flight))
        sys.stdout.flush()
        time.sleep(hold)
    elif cmd == "replay":
        replay(sys.argv[2], sys.argv[3], sys.argv[4],
               int(sys.argv[5]) if len(sys.argv) > 5 else 5684)
    else:
        sys.exit("unknown command " + cmd)


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def replay(iface, path, mode, port):
    # the last one (the live session's), or the first
    fs = list(frames(path))
    for f in (fs if mode == "first" else reversed(fs)):
        if len(f) < 14 + 20 + 8 + 13 or f[12:14] != b"\x08\x00" or f[23] != 17:
            continue
        ihl = (f[14] & 0x0F) * 4
        udp = 14 + ihl
        if f[udp + 8] != CT_APP or f[udp + 2:udp + 4] != struct.pack("!H", port):
            continue
        f = bytearray(f)
        if mode == "truncate":
            plen = 8 + 13 + 4   # the record header and a little of its body
            f = f[:udp + plen]
            struct.pack_into("!H", f, 16, ihl + plen)
            struct.pack_into("!H", f, 24, 0)
            struct.pack_into("!H", f, 24, csum(bytes(f[14:14 + ihl])))
            struct.pack_into("!HH", f, udp + 4, plen, 0)
        elif mode == "corrupt":
            f[-1] ^= 0x5A
            struct.pack_into("!H", f, udp + 6, 0)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        s.send(bytes(f))
        print("sent %d octets" % len(f))
        return
    sys.exit("no application data from the client in " + path)


if __name__ == "__main__":
    main()
