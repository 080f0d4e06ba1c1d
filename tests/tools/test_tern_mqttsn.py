#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""tern-mqttsn against a scripted MQTT-SN peer (docs/tern-mqttsn.md).

usage: test_tern_mqttsn.py TERN_MQTTSN

The peer is a UDP socket on 127.0.0.1 / ::1 in this process that answers
like a gateway would, with the bytes written out by hand here (an oracle
independent of proto/mqttsn.c), and records every datagram the tool sent so
the checks can compare them byte for byte. Prints one "ok - ..." /
"not ok - ..." line per check; exits 1 if any failed. Every run of the tool
is bounded by short --timeout values and a subprocess timeout.

--dtls is checked against the silent peer (handshake retransmission and
timeout) and, if the openssl command is installed, against
"openssl s_server -dtls1_2" with a PSK (the handshake and one record).
"""

import json
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

TOOL = None
failed = 0
count = 0

# MsgType values (spec 5.2.2)
ADVERTISE, SEARCHGW, GWINFO = 0x00, 0x01, 0x02
CONNECT, CONNACK, REGISTER, REGACK, PUBLISH, PUBACK = 0x04, 0x05, 0x0A, 0x0B, 0x0C, 0x0D
PUBCOMP, PUBREC, PUBREL, SUBSCRIBE, SUBACK = 0x0E, 0x0F, 0x10, 0x12, 0x13
PINGREQ, PINGRESP, DISCONNECT = 0x16, 0x17, 0x18


def check(cond, what, detail=None):
    global failed, count
    count += 1
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        failed += 1
        if detail is not None:
            for line in str(detail)[:2000].splitlines():
                print("#   " + line, flush=True)
    return cond


def msg(mtype, body=b""):
    """One message: the 1-octet length form up to 255 octets, else 01 LEN16."""
    if len(body) + 2 <= 255:
        return bytes([len(body) + 2, mtype]) + body
    return b"\x01" + u16(len(body) + 4) + bytes([mtype]) + body


def u16(v):
    return struct.pack(">H", v)


def connect_bytes(client_id, keepalive=60, flags=0x04):
    return msg(CONNECT, bytes([flags, 0x01]) + u16(keepalive) + client_id.encode())


def publish_bytes(flags, topic_id, msg_id, data):
    return msg(PUBLISH, bytes([flags]) + u16(topic_id) + u16(msg_id) + data)


class Peer:
    """A scripted gateway: answers each datagram, records what it got."""

    def __init__(self, family=socket.AF_INET, silent=False, connack_rc=0, regack_rc=0,
                 puback_rc=0, ignore=(), after_suback=(), suback_qos=None,
                 on_pubrec=(), on_pingreq=(), broker=False, after_connack=(), gw_id=None):
        self.host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.rx = []
        self.addrs = []       # the sender of each datagram in rx
        self.silent = silent
        self.connack_rc = connack_rc
        self.regack_rc = regack_rc
        self.puback_rc = puback_rc
        self.ignore = set(ignore)
        self.after_suback = list(after_suback)
        self.suback_qos = suback_qos
        self.on_pubrec = list(on_pubrec)
        self.on_pingreq = list(on_pingreq)
        self.broker = broker
        self.after_connack = list(after_connack)
        self.gw_id = gw_id    # answer SEARCHGW with GWINFO(gw_id)
        self.names = {}       # broker: topic name -> id
        self.subs = {}        # broker: topic id -> [addr]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.rx.append(data)
            self.addrs.append(addr)
            if not self.silent:
                self.answer(data, addr)

    def send(self, addr, data):
        self.sock.sendto(data, addr)

    def topic_id(self, name):
        return self.names.setdefault(name, 5 + len(self.names))

    def answer(self, d, addr):
        t, body = (d[1], d[2:]) if d[0] != 1 else (d[3], d[4:])
        if t in self.ignore:
            return
        if t == CONNECT:
            self.send(addr, msg(CONNACK, bytes([self.connack_rc])))
            for m in self.after_connack:
                self.send(addr, m)
        elif t == SEARCHGW and self.gw_id is not None:
            self.send(addr, msg(GWINFO, bytes([self.gw_id])))
        elif t == REGISTER:
            tid = self.topic_id(body[4:].decode())
            self.send(addr, msg(REGACK, u16(tid) + body[2:4] + bytes([self.regack_rc])))
        elif t == SUBSCRIBE:
            flags = body[0]
            if flags & 3 == 0:
                name = body[3:].decode()
                tid = 0 if ("+" in name or "#" in name) else self.topic_id(name)
            else:
                tid = struct.unpack(">H", body[3:5])[0]
            if self.broker:
                self.subs.setdefault(tid, []).append(addr)
            qos = self.suback_qos if self.suback_qos is not None else (flags >> 5) & 3
            self.send(addr, msg(SUBACK, bytes([qos << 5]) + u16(tid) + body[1:3] + b"\x00"))
            for m in self.after_suback:
                self.send(addr, m)
        elif t == PUBLISH:
            qos = (body[0] >> 5) & 3
            if self.broker:
                tid = struct.unpack(">H", body[1:3])[0]
                for a in self.subs.get(tid, []):
                    self.send(a, publish_bytes(0, tid, 0, body[5:]))
            if qos == 1 or (qos in (0, 2) and self.puback_rc):
                self.send(addr, msg(PUBACK, body[1:5] + bytes([self.puback_rc])))
            elif qos == 2:
                self.send(addr, msg(PUBREC, body[3:5]))
        elif t == PUBREC:
            for m in self.on_pubrec:
                self.send(addr, m)
            self.on_pubrec = []
        elif t == PUBREL:
            self.send(addr, msg(PUBCOMP, body[0:2]))
        elif t == PINGREQ:
            for m in self.on_pingreq:
                self.send(addr, m)
            self.send(addr, msg(PINGRESP))
        elif t == DISCONNECT:
            self.send(addr, msg(DISCONNECT))

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()

    def types(self):
        return [d[1] for d in self.rx]


def run(peer, args, timeout=20):
    """Run the tool against the peer; returns (exit status, stdout, stderr)."""
    argv = [TOOL] + args[:1] + ["-h", peer.host, "-p", str(peer.port)] + args[1:]
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "", "tool did not finish within %d s" % timeout
    time.sleep(0.05)  # let the peer thread record the last datagram
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def expect_rx(peer, want, what):
    got = peer.rx
    detail = "want:\n" + "\n".join(w.hex(" ") for w in want) + \
             "\ngot:\n" + "\n".join(g.hex(" ") for g in got)
    check(got == want, what + ": exact bytes sent", detail)


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------


def test_pub_qos1(family, label):
    peer = Peer(family)
    rc, out, err = run(peer, ["pub", "-i", "t1", "-q", "1", "-t", "a/b", "-m", "hello"])
    peer.close()
    check(rc == 0, "pub QoS 1 %s: exit 0" % label, err)
    expect_rx(peer, [
        connect_bytes("t1"),
        msg(REGISTER, u16(0) + u16(1) + b"a/b"),
        publish_bytes(0x20, 5, 2, b"hello"),
        msg(DISCONNECT),
    ], "pub QoS 1 %s" % label)


def test_pub_qos2():
    peer = Peer()
    rc, out, err = run(peer, ["pub", "-i", "q2", "-q", "2", "-t", "x", "-m", "m", "-r",
                              "-k", "30", "--no-clean", "--json"])
    peer.close()
    check(rc == 0, "pub QoS 2: exit 0", err)
    expect_rx(peer, [
        connect_bytes("q2", keepalive=30, flags=0x00),
        msg(REGISTER, u16(0) + u16(1) + b"x"),
        publish_bytes(0x50, 5, 2, b"m"),
        msg(PUBREL, u16(2)),
        msg(DISCONNECT),
    ], "pub QoS 2 retain no-clean")
    try:
        j = json.loads(out.strip().splitlines()[-1])
        check(j.get("published") == 1 and j.get("qos") == 2, "pub --json result line", out)
    except (ValueError, IndexError) as e:
        check(False, "pub --json result line", "%s: %r" % (e, out))


def test_pub_short_count():
    peer = Peer()
    rc, out, err = run(peer, ["pub", "-i", "s", "--short", "t1", "-m", "hi", "-n", "3",
                              "--interval", "20"])
    peer.close()
    check(rc == 0, "pub QoS 0 short topic x3: exit 0", err)
    p = publish_bytes(0x02, 0x7431, 0, b"hi")
    expect_rx(peer, [connect_bytes("s"), p, p, p, msg(DISCONNECT)], "pub QoS 0 short x3")


def test_long_form():
    big = bytes(range(32, 127)) * 3 + b"!"     # 286 octets: 3-octet length form
    peer = Peer(after_suback=[publish_bytes(0x01, 0x0102, 0, big)])
    rc, out, err = run(peer, ["sub", "--predefined", "258", "-c", "1", "--timeout", "0.5"])
    peer.close()
    check(rc == 0 and out == "predefined:258 " + big.decode().replace("\\", "\\\\") + "\n",
          "sub: a PUBLISH in the 3-octet length form", "rc=%d out=%r err=%s" % (rc, out, err))
    peer = Peer()
    rc, out, err = run(peer, ["pub", "-i", "L", "-q", "1", "--short", "LL", "-m", big.decode()])
    peer.close()
    check(rc == 0, "pub 286-octet payload: exit 0", err)
    want = b"\x01" + u16(7 + 2 + len(big)) + bytes([PUBLISH, 0x22]) + b"LL" + u16(1) + big
    check(len(peer.rx) > 1 and peer.rx[1] == want, "pub 286-octet payload: 3-octet length form",
          peer.rx[1].hex() if len(peer.rx) > 1 else peer.rx)


def test_pub_qos_minus1():
    peer = Peer(silent=True)
    rc, out, err = run(peer, ["pub", "-q", "-1", "--predefined", "7", "-m", "x"])
    peer.close()
    check(rc == 0, "pub QoS -1: exit 0 without any answer", err)
    expect_rx(peer, [publish_bytes(0x61, 7, 0, b"x")], "pub QoS -1 predefined, no CONNECT")


def test_rejects():
    cases = [
        (dict(connack_rc=1), ["-q", "1", "-t", "a"], "rejected: congestion",
         [CONNECT]),
        (dict(regack_rc=2), ["-q", "1", "-t", "a"], "rejected: invalid topic ID",
         [CONNECT, REGISTER]),
        (dict(puback_rc=3), ["-q", "1", "-t", "a"], "rejected: not supported",
         [CONNECT, REGISTER, PUBLISH]),
        (dict(puback_rc=2), ["-q", "0", "--predefined", "9"], "rejected: invalid topic ID",
         None),
    ]
    for kw, args, text, types in cases:
        peer = Peer(**kw)
        rc, out, err = run(peer, ["pub", "-m", "x", "--timeout", "0.3"] + args)
        peer.close()
        what = "reject %s (%s)" % (text.split(": ")[1], " ".join(args))
        check(rc == 1 and text in err, what + ": exit 1 and message", "rc=%d err=%s" % (rc, err))
        if types is not None:
            check(peer.types() == types, what + ": stops after the reject", peer.types())


def test_timeout_retransmit():
    peer = Peer(ignore=[PUBLISH])
    t0 = time.monotonic()
    rc, out, err = run(peer, ["pub", "-i", "r", "-q", "1", "-t", "a", "-m", "z",
                              "--timeout", "0.2", "--retries", "2"])
    dt = time.monotonic() - t0
    peer.close()
    check(rc == 1 and "timeout" in err and "PUBACK" in err,
          "no PUBACK: exit 1 with a timeout message", "rc=%d err=%s" % (rc, err))
    pubs = [d for d in peer.rx if d[1] == PUBLISH]
    check(len(pubs) == 3, "no PUBACK: 1 + 2 retransmissions", [d.hex() for d in pubs])
    check(pubs[:1] == [publish_bytes(0x20, 5, 2, b"z")] and
          pubs[1:] == [publish_bytes(0xA0, 5, 2, b"z")] * 2,
          "retransmissions carry DUP and the same msg id", [d.hex() for d in pubs])
    check(0.5 <= dt < 5, "no PUBACK: gave up after about 3 x 0.2 s", dt)

    peer = Peer(silent=True)
    rc, out, err = run(peer, ["sub", "-i", "n", "-t", "a", "--timeout", "0.1",
                              "--retries", "3"])
    peer.close()
    check(rc == 1 and "timeout" in err and "CONNACK" in err, "silent peer: sub exits 1",
          "rc=%d err=%s" % (rc, err))
    check(peer.rx == [connect_bytes("n")] * 4, "silent peer: CONNECT sent 1 + 3 times",
          [d.hex() for d in peer.rx])


def test_sub_register_and_publish():
    after = [
        msg(REGISTER, u16(9) + u16(0x33) + b"x/y"),
        publish_bytes(0x20, 9, 0x44, b"hi there"),
        publish_bytes(0x12, 0x6162, 0, b"line\nbreak"),
        publish_bytes(0x01, 7, 0, b"pre"),
    ]
    peer = Peer(after_suback=after, suback_qos=1)
    rc, out, err = run(peer, ["sub", "-i", "s1", "-q", "1", "-t", "x/#", "-c", "3",
                              "--timeout", "0.5"])
    peer.close()
    check(rc == 0, "sub -c 3: exit 0", err)
    check(out == "x/y hi there\nab line\\x0abreak\npredefined:7 pre\n",
          "sub prints TOPIC PAYLOAD per line", repr(out))
    check("granted QoS 1" in err, "sub prints the granted QoS on stderr", err)
    expect_rx(peer, [
        connect_bytes("s1"),
        msg(SUBSCRIBE, b"\x20" + u16(1) + b"x/#"),
        msg(REGACK, u16(9) + u16(0x33) + b"\x00"),
        msg(PUBACK, u16(9) + u16(0x44) + b"\x00"),
        msg(DISCONNECT),
    ], "sub: SUBSCRIBE, REGACK, PUBACK, DISCONNECT")


def test_sub_json_qos2():
    pub = publish_bytes(0x40, 5, 0x0101, b"\xff\x00ok")
    after = [pub, bytes([pub[0], pub[1], pub[2] | 0x80]) + pub[3:]]
    peer = Peer(after_suback=after, on_pubrec=[msg(PUBREL, u16(0x0101))])
    rc, out, err = run(peer, ["sub", "-i", "j", "-q", "2", "-t", "k/l", "-c", "1", "--json",
                              "--timeout", "0.5"])
    peer.close()
    check(rc == 0, "sub QoS 2 --json: exit 0", err)
    lines = out.splitlines()
    try:
        j = json.loads(lines[0])
        check(len(lines) == 1 and j["topic"] == "k/l" and j["topic_id"] == 5 and
              j["qos"] == 2 and j["retain"] is False and j["dup"] is False and
              j["payload_hex"] == "ff006f6b",
              "sub --json: one object with topic, topic_id, qos, retain, dup, payload", out)
    except (ValueError, IndexError, KeyError) as e:
        check(False, "sub --json: one object with topic, topic_id, qos, retain, dup, payload",
              "%s: %r" % (e, out))
    expect_rx(peer, [
        connect_bytes("j"),
        msg(SUBSCRIBE, b"\x40" + u16(1) + b"k/l"),
        msg(PUBREC, u16(0x0101)),
        msg(PUBREC, u16(0x0101)),
        msg(PUBCOMP, u16(0x0101)),
        msg(DISCONNECT),
    ], "sub QoS 2: PUBREC (twice for the DUP), PUBCOMP on PUBREL, printed once")


def test_sub_wait():
    peer = Peer(after_suback=[publish_bytes(0x02, 0x7a7a, 0, b"1")])
    t0 = time.monotonic()
    rc, out, err = run(peer, ["sub", "--short", "zz", "-c", "3", "--wait", "0.5",
                              "--timeout", "0.3"])
    dt = time.monotonic() - t0
    peer.close()
    check(rc == 1 and out == "zz 1\n" and "received 1 of 3" in err,
          "sub -c 3 --wait: exit 1 when COUNT is not reached", "rc=%d out=%r err=%s" %
          (rc, out, err))
    check(0.4 <= dt < 3, "sub --wait 0.5 stops in time", dt)
    check(peer.rx[1] == msg(SUBSCRIBE, b"\x02" + u16(1) + b"zz"), "SUBSCRIBE short topic bytes",
          peer.rx[1].hex() if len(peer.rx) > 1 else peer.rx)

    peer = Peer()
    rc, out, err = run(peer, ["sub", "--predefined", "258", "--wait", "0.3", "-k", "0"])
    peer.close()
    check(rc == 0 and out == "", "sub --wait without -c: exit 0", "rc=%d err=%s" % (rc, err))


def test_keepalive():
    peer = Peer()
    rc, out, err = run(peer, ["sub", "-t", "a", "-k", "1", "--wait", "2.5"])
    peer.close()
    n = peer.types().count(PINGREQ)
    check(rc == 0 and n == 2, "sub -k 1 --wait 2.5: PINGREQ every second", peer.types())
    check(msg(PINGREQ) in peer.rx, "keep-alive PINGREQ is the empty form",
          [d.hex() for d in peer.rx])


def test_sleep():
    wake = [publish_bytes(0x02, 0x6161, 0, b"zzz")]
    peer = Peer(on_pingreq=wake)
    t0 = time.monotonic()
    rc, out, err = run(peer, ["sleep", "-i", "sl", "--short", "aa", "--duration", "1",
                              "--cycles", "2", "--timeout", "0.5"])
    dt = time.monotonic() - t0
    peer.close()
    check(rc == 0, "sleep 2 cycles: exit 0", err)
    check(out == "aa zzz\naa zzz\n", "sleep prints what arrives on waking", repr(out))
    check(1.5 <= dt < 6, "sleep cycles take about 2 x 0.9 s", dt)
    check(err.count("while asleep") == 2, "sleep reports each cycle", err)
    dis = msg(DISCONNECT, u16(1))
    ping = msg(PINGREQ, b"sl")
    expect_rx(peer, [
        connect_bytes("sl"),
        msg(SUBSCRIBE, b"\x02" + u16(1) + b"aa"),
        dis, ping, dis, ping,
        msg(DISCONNECT),
    ], "sleep: DISCONNECT(duration), PINGREQ(client id)")


def test_verbose():
    peer = Peer()
    rc, out, err = run(peer, ["pub", "-v", "-q", "1", "-t", "v", "-m", "q"])
    peer.close()
    lines = err.splitlines()
    check(rc == 0 and any(l.startswith("> CONNECT") for l in lines) and
          any(l.startswith("< CONNACK rc=accepted") for l in lines) and
          any(l.startswith("> PUBLISH dup=0 qos=1") and 'data="q"' in l for l in lines) and
          any(l.startswith("< PUBACK") for l in lines),
          "-v prints one line per message, both directions", err)
    peer = Peer()
    rc, out, err = run(peer, ["pub", "-v", "--json", "-q", "1", "-t", "v", "-m", "q"])
    peer.close()
    try:
        objs = [json.loads(l) for l in err.splitlines()]
        ok = [(o["dir"], o["type"]) for o in objs] == [
            ("tx", "connect"), ("rx", "connack"), ("tx", "register"), ("rx", "regack"),
            ("tx", "publish"), ("rx", "puback"), ("tx", "disconnect"), ("rx", "disconnect")]
        check(ok, "-v --json: one JSON object per message", err)
    except (ValueError, KeyError) as e:
        check(False, "-v --json: one JSON object per message", "%s: %s" % (e, err))


def test_load():
    peer = Peer(broker=True)
    rc, out, err = run(peer, ["load", "--clients", "2", "--rate", "200", "--duration", "0.5",
                              "--topics", "2", "--fanout", "2", "-q", "1", "--json",
                              "--timeout", "1"])
    peer.close()
    try:
        j = json.loads(out.strip().splitlines()[-1])
        check(rc == 0 and j["sent"] == 100 and j["acked"] == 100 and j["expected"] == 200 and
              j["received"] == 200 and j["lost"] == 0 and j["duplicates"] == 0 and
              j["latency_us"]["samples"] == 200 and
              0 < j["latency_us"]["p50"] <= j["latency_us"]["max"],
              "load: 100 sent, 200 received through a 2-way fan-out, latencies", out + err)
    except (ValueError, IndexError, KeyError) as e:
        check(False, "load --json report", "%s: %r %s" % (e, out, err))
    conns = peer.types().count(CONNECT)
    check(conns == 6, "load: 2 publishers + 2 x 2 subscribers connect", peer.types()[:12])


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_bind():
    peer = Peer()
    port = free_port()
    rc, out, err = run(peer, ["pub", "-i", "b", "--bind", str(port), "-t", "a", "-m", "x"])
    peer.close()
    check(rc == 0 and peer.addrs and all(a[1] == port for a in peer.addrs),
          "pub --bind PORT: every datagram comes from that port",
          "rc=%d want %d got %s err=%s" % (rc, port, peer.addrs, err))
    # the port is taken: a clear error, exit 1
    hold = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hold.bind(("0.0.0.0", 0))
    peer = Peer()
    rc, out, err = run(peer, ["sub", "--bind", str(hold.getsockname()[1]), "-t", "a",
                              "--wait", "0.2"])
    peer.close()
    hold.close()
    check(rc == 1 and "local port" in err and peer.rx == [],
          "sub --bind a port in use: exit 1, nothing sent", "rc=%d err=%s" % (rc, err))


def test_resume():
    # the gateway kept the session: deliveries on ids this process never saw
    after = [publish_bytes(0x20, 9, 0x44, b"kept"), publish_bytes(0x01, 7, 0, b"pre")]
    peer = Peer(after_connack=after)
    rc, out, err = run(peer, ["sub", "-i", "r1", "--resume", "-c", "2", "--timeout", "0.5"])
    peer.close()
    check(rc == 0 and out == "id:9 kept\npredefined:7 pre\n",
          "sub --resume prints publications on ids it never registered",
          "rc=%d out=%r err=%s" % (rc, out, err))
    check("never registered" not in err and "resumed" in err,
          "sub --resume: no warning for carried-over ids", err)
    expect_rx(peer, [
        connect_bytes("r1", flags=0x00),
        msg(PUBACK, u16(9) + u16(0x44) + b"\x00"),
        msg(DISCONNECT),
    ], "sub --resume: CONNECT without CleanSession, no SUBSCRIBE, PUBACK")
    peer = Peer(after_connack=[publish_bytes(0x00, 3, 0, b"j")])
    rc, out, err = run(peer, ["sub", "--resume", "-c", "1", "--json", "--timeout", "0.5"])
    peer.close()
    try:
        j = json.loads(out.splitlines()[0])
        check(rc == 0 and j["topic"] is None and j["topic_id"] == 3,
              "sub --resume --json: topic null, topic_id", out)
    except (ValueError, IndexError, KeyError) as e:
        check(False, "sub --resume --json: topic null, topic_id", "%s: %r" % (e, out))


def test_search():
    peer = Peer(gw_id=42)
    rc, out, err = run(peer, ["search", "--timeout", "0.5"])
    peer.close()
    check(rc == 0 and out == "gateway 42 from %s port %d\n" % (peer.host, peer.port),
          "search prints the GWINFO's gateway id and sender", "rc=%d out=%r err=%s" %
          (rc, out, err))
    check(peer.rx == [bytes([3, SEARCHGW, 0])], "search sends SEARCHGW radius 0",
          [d.hex() for d in peer.rx])
    peer = Peer(gw_id=7)
    rc, out, err = run(peer, ["search", "--json", "--timeout", "0.5"])
    peer.close()
    try:
        j = json.loads(out.splitlines()[0])
        check(rc == 0 and j["type"] == "gwinfo" and j["gw_id"] == 7 and
              j["port"] == peer.port, "search --json", out)
    except (ValueError, IndexError, KeyError) as e:
        check(False, "search --json", "%s: %r" % (e, out))
    peer = Peer(silent=True)
    rc, out, err = run(peer, ["search", "--timeout", "0.1", "--retries", "2"])
    peer.close()
    check(rc == 1 and "timeout" in err and "GWINFO" in err and len(peer.rx) == 3,
          "search without an answer: 1 + 2 SEARCHGW, exit 1", "rc=%d err=%s rx=%d" %
          (rc, err, len(peer.rx)))


def test_listen(family, host, label):
    port = free_port(family, host)
    argv = [TOOL, "listen", "-h", host, "-p", str(port), "-c", "2", "--wait", "5"]
    p = subprocess.Popen(argv + ["--json"] if label.endswith("json") else argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tx = socket.socket(family, socket.SOCK_DGRAM)
    tx.bind((host, 0))
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < 5:
        tx.sendto(msg(GWINFO, b"\x01"), (host, port))          # not an ADVERTISE: ignored
        tx.sendto(msg(ADVERTISE, b"\x2a" + u16(900)), (host, port))
        time.sleep(0.1)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    out, err = out.decode(), err.decode()
    sport = tx.getsockname()[1]
    tx.close()
    if label.endswith("json"):
        try:
            objs = [json.loads(l) for l in out.splitlines()]
            ok = len(objs) == 2 and all(o == {"type": "advertise", "gw_id": 42,
                                              "duration": 900, "from": host, "port": sport}
                                        for o in objs)
        except ValueError:
            ok = False
        check(p.returncode == 0 and ok, "listen %s: -c 2 ADVERTISE as JSON" % label,
              "rc=%s out=%r err=%s" % (p.returncode, out, err))
    else:
        line = "gateway 42 duration 900 from %s port %d\n" % (host, sport)
        check(p.returncode == 0 and out == line * 2, "listen %s: -c 2 prints two ADVERTISE" %
              label, "rc=%s out=%r err=%s" % (p.returncode, out, err))


def test_listen_timeout():
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.run([TOOL, "listen", "-p", str(port), "-c", "1", "--wait", "0.3"],
                       capture_output=True, timeout=10)
    dt = time.monotonic() - t0
    check(p.returncode == 1 and b"received 0 of 1" in p.stderr and dt < 3,
          "listen -c 1 --wait 0.3 with nothing heard: exit 1 in time",
          "rc=%d dt=%.1f %s" % (p.returncode, dt, p.stderr.decode()))
    p = subprocess.run([TOOL, "listen", "-p", str(port), "--wait", "0.2"],
                       capture_output=True, timeout=10)
    check(p.returncode == 0 and p.stdout == b"", "listen --wait without -c: exit 0",
          "rc=%d %s" % (p.returncode, p.stderr.decode()))


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_dtls():
    # A silent peer sees only ClientHello flights: 1 + --retries of them, then exit 1.
    peer = Peer(silent=True)
    rc, out, err = run(peer, ["pub", "-t", "a", "-m", "x", "--dtls", "--psk-identity", "id",
                              "--psk", "secret", "--timeout", "0.2", "--retries", "2"])
    peer.close()
    # Record: handshake (22), DTLS 1.x; handshake message: ClientHello (1).
    hellos = [d for d in peer.rx if d[0] == 0x16 and d[1] == 0xfe and len(d) > 25 and d[13] == 1]
    check(rc == 1 and len(hellos) == 3 and len(peer.rx) == 3,
          "dtls: silent gateway gets 3 ClientHellos (--retries 2), exit 1",
          "rc=%d rx=%s %s" % (rc, [d[:14].hex() for d in peer.rx], err))
    check("timeout: DTLS handshake" in err and "after 3 attempts of 200 ms" in err,
          "dtls: handshake timeout names the attempts", err)
    # Against openssl s_server: the handshake completes and the message is one record.
    if not shutil.which("openssl"):
        print("ok - dtls: s_server handshake # SKIP no openssl")
        return
    port = free_udp_port()
    key = "0102030405060708090a0b0c0d0e0f10"
    srv = subprocess.Popen(["openssl", "s_server", "-dtls1_2", "-quiet", "-nocert",
                            "-accept", "127.0.0.1:%d" % port, "-psk", key, "-psk_identity", "id",
                            "-cipher", "PSK-AES128-CCM8"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p = subprocess.run([TOOL, "pub", "-p", str(port), "-q", "-1", "--short", "t1", "-m",
                            "over-dtls", "-v", "--dtls", "--psk-identity", "id", "--psk-hex",
                            key, "--timeout", "0.5", "--retries", "6"],
                           capture_output=True, timeout=20)
        time.sleep(0.3)
    finally:
        srv.kill()
        srv_out, _ = srv.communicate()
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 0 and "DTLS: DTLSv1.2 PSK-AES128-CCM8" in err and
          "close_notify sent" in err, "dtls: PSK-AES128-CCM8 handshake with s_server", err)
    check(publish_bytes(0x62, 0x7431, 0, b"over-dtls") in srv_out,
          "dtls: s_server receives the PUBLISH", srv_out)


def test_usage():
    cases = [
        ([], 2), (["--help"], 0), (["pub", "--help"], 0), (["sub", "--help"], 0),
        (["sleep", "--help"], 0), (["load", "--help"], 0), (["frob"], 2),
        (["pub", "-t", "a"], 2), (["pub", "-m", "x"], 2),
        (["pub", "-t", "a", "--short", "ab", "-m", "x"], 2),
        (["pub", "-q", "-1", "-t", "a", "-m", "x"], 2),
        (["pub", "-q", "3", "-t", "a", "-m", "x"], 2),
        (["sub", "-t", "a", "-m", "x"], 2), (["sub", "-q", "-1", "-t", "a"], 2),
        (["pub", "--short", "abc", "-m", "x"], 2), (["sleep", "-t", "a"], 2),
        (["sleep", "-t", "a", "--duration", "1.5"], 2), (["load", "--clients", "2"], 2),
        (["sub", "-t", "a", "extra"], 2), (["sub", "-t"], 2),
        (["search", "--help"], 0), (["listen", "--help"], 0),
        (["sub", "-t", "a", "--bind", "0"], 2), (["sub", "-t", "a", "--bind", "65536"], 2),
        (["pub", "-t", "a", "-m", "x", "--bind", "http"], 2),
        (["sleep", "-t", "a", "--duration", "1", "--bind", "-5"], 2),
        (["load", "--duration", "1", "--bind", "4000"], 2), (["listen", "--bind", "4000"], 2),
        (["sub", "--resume", "-t", "a"], 2), (["sub", "--resume", "--short", "ab"], 2),
        (["sub", "--resume", "--clean"], 2), (["pub", "--resume", "-m", "x"], 2),
        (["sleep", "--resume", "--duration", "1"], 2),
        (["search", "-t", "a"], 2), (["search", "-q", "1"], 2), (["search", "--wait", "1"], 2),
        (["search", "x"], 2), (["listen", "-i", "x"], 2), (["listen", "-c", "0"], 2),
        (["listen", "--wait", "0"], 2), (["listen", "--timeout", "1"], 2),
        (["search", "--dtls"], 2), (["listen", "--dtls"], 2),
        (["pub", "-t", "a", "-m", "x", "--psk", "k"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--psk", "k"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--psk-identity", "i"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--psk-identity", "i", "--psk", "k",
          "--psk-hex", "01"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--psk-identity", "i", "--psk-hex", "0g"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--cert", "c.pem"], 2),
        (["sub", "-t", "a", "--ca", "ca.pem"], 2),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--ca", "/nonexistent.pem"], 1),
        (["pub", "-t", "a", "-m", "x", "--dtls", "--cipher", "NO-SUCH-CIPHER"], 1),
    ]
    for args, want in cases:
        p = subprocess.run([TOOL] + args, capture_output=True, timeout=10)
        check(p.returncode == want, "usage: %s exits %d" % (" ".join(args) or "(none)", want),
              "rc=%d %s" % (p.returncode, p.stderr.decode()))
    # --help of each command lists exactly the options the command accepts.
    for cmd, opt, takes in [("pub", "--interval", True), ("sub", "--interval", False),
                            ("sub", "--wait", True), ("load", "--fanout", True),
                            ("pub", "--fanout", False), ("sleep", "--cycles", True),
                            ("sub", "--resume", True), ("pub", "--resume", False),
                            ("sub", "--bind", True), ("load", "--bind", False),
                            ("search", "--bind", True), ("search", "--topic", False),
                            ("listen", "--wait", True), ("listen", "--bind", False),
                            ("pub", "--dtls", True), ("load", "--psk-identity", True),
                            ("sleep", "--ca", True), ("search", "--dtls", False)]:
        h = subprocess.run([TOOL, cmd, "--help"], capture_output=True, timeout=10).stdout.decode()
        check((opt in h) == takes, "%s --help %s %s" % (cmd, "lists" if takes else "omits", opt))


def main():
    global TOOL
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    TOOL = sys.argv[1]
    test_pub_qos1(socket.AF_INET, "IPv4")
    if have_ipv6():
        test_pub_qos1(socket.AF_INET6, "IPv6")
    else:
        print("ok - pub QoS 1 IPv6 # SKIP no ::1")
    test_pub_qos2()
    test_pub_short_count()
    test_pub_qos_minus1()
    test_long_form()
    test_rejects()
    test_timeout_retransmit()
    test_sub_register_and_publish()
    test_sub_json_qos2()
    test_sub_wait()
    test_keepalive()
    test_sleep()
    test_verbose()
    test_load()
    test_bind()
    test_resume()
    test_search()
    test_listen(socket.AF_INET, "127.0.0.1", "IPv4")
    test_listen(socket.AF_INET, "127.0.0.1", "IPv4 json")
    if have_ipv6():
        test_listen(socket.AF_INET6, "::1", "IPv6")
    else:
        print("ok - listen IPv6 # SKIP no ::1")
    test_listen_timeout()
    test_dtls()
    test_usage()
    print("1..%d" % count)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
