#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of tests/fuzz/fuzz_mqttsn_sess.c.

    tests/fuzz/gen_mqttsn_sess.py [DIR]     (default tests/fuzz/corpus/mqttsn_sess)

Each seed is a step sequence in the target's encoding (see the comment at the
top of fuzz_mqttsn_sess.c); every message step here settles afterwards, so the
router's answers are out (and acknowledgeable with ANSWER) before the next.
"""
import os
import struct
import sys

RAW, CONNECT, REGISTER, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, ACK, ANSWER, DISCONNECT, \
    PINGREQ, WILLTOPIC, WILLMSG, POLL, CONTROL, ADVANCE, SETTLE = range(16)
REGACK, PUBACK, PUBREC, PUBREL, PUBCOMP = range(5)     # ACK variants

WILL, CLEAN, RETAIN = 0x08, 0x04, 0x10
NORMAL, PREDEF, SHORT = 0, 1, 2
ADMIT, REVOKE, MODE, LIST = range(1, 5)                # CONTROL variants
DEV0, DEV1, CL0, CL1 = range(4)                         # DevIDs "dev0" "dev1" "cl0" "cl1"
OLD, DOWN, BADTAG, BIG, BADCTR = 0x04, 0x08, 0x10, 0x20, 0x40   # sealed PUBLISH sel bits


def qos(q):
    return (q & 3) << 5


def client(host, v6=False, port=0, vlan=False, node=0):
    """node 1 or 2: behind a forwarder, with that wireless node id"""
    return host | (4 if v6 else 0) | port << 3 | (0x20 if vlan else 0) | \
        ((0x40 | (node - 1) << 7) if node else 0)


class Seq:
    def __init__(self):
        self.b = bytearray()

    def op(self, kind, var=0, settle=True, *args):
        self.b.append(kind | var << 4 | (0x80 if settle else 0))
        for a in args:
            self.b += a
        return self

    @staticmethod
    def s(data):
        data = data.encode() if isinstance(data, str) else data
        return bytes([len(data)]) + data

    def raw(self, c, body, settle=True, unspec=False):
        return self.op(RAW, 2 if unspec else 0, settle, bytes([c]), self.s(body))

    def connect(self, c, flags=CLEAN, dur=60, cid=""):
        return self.op(CONNECT, 0, True, bytes([c, flags]), struct.pack(">H", dur),
                       self.s(cid))

    def register(self, c, msg_id, name):
        return self.op(REGISTER, 0, True, bytes([c]), struct.pack(">H", msg_id), self.s(name))

    def subscribe(self, c, flags, msg_id, name, unsub=False):
        kind = UNSUBSCRIBE if unsub else SUBSCRIBE
        arg = self.s(name) if flags & 3 == NORMAL else struct.pack(">H", name)
        return self.op(kind, 0, True, bytes([c, flags]), struct.pack(">H", msg_id), arg)

    def publish(self, c, flags, topic, msg_id, data, settle=True):
        return self.op(PUBLISH, 0, settle, bytes([c, flags]),
                       struct.pack(">HH", topic, msg_id), self.s(data))

    def ack(self, c, which, msg_id, topic=0, rc=0):
        return self.op(ACK, which, True, bytes([c]), struct.pack(">HHB", msg_id, topic, rc))

    def answer(self, c, sel=0, rc=0):
        return self.op(ANSWER, sel, True, bytes([c, rc]))

    def disconnect(self, c, dur=None):
        if dur is None:
            return self.op(DISCONNECT, 0, True, bytes([c]))
        return self.op(DISCONNECT, 1, True, bytes([c]), struct.pack(">H", dur))

    def pingreq(self, c, cid=None):
        if cid is None:
            return self.op(PINGREQ, 0, True, bytes([c]))
        return self.op(PINGREQ, 1, True, bytes([c]), self.s(cid))

    def willtopic(self, c, flags, topic, upd=False):
        return self.op(WILLTOPIC, 1 if upd else 0, True, bytes([c, flags]), self.s(topic))

    def willmsg(self, c, msg, upd=False):
        return self.op(WILLMSG, 1 if upd else 0, True, bytes([c]), self.s(msg))

    def poll(self, both=True, worker=0):
        return self.op(POLL, 2 if both else worker, False)

    def control(self):
        return self.op(CONTROL, 0, False)

    def advance(self, units):
        return self.op(ADVANCE, 0, False, bytes([units]))

    def settle(self):
        return self.op(SETTLE, 0, False)

    # OSAP devices (the "OSAP devices" paragraph at the top of fuzz_mqttsn_sess.c)
    def admit(self, d, cw=6, kl=100):
        """windows in units of 10 s: cw to connect, kl of key lifetime"""
        return self.op(CONTROL, ADMIT, True, bytes([d, cw, kl]))

    def revoke(self, d):
        return self.op(CONTROL, REVOKE, True, bytes([d]))

    def mode(self, osap):
        return self.op(CONTROL, MODE, True, bytes([1 if osap else 0]))

    def listing(self):
        return self.op(CONTROL, LIST, False)

    def connect_dev(self, c, d, flags=CLEAN, dur=60):
        return self.op(CONNECT, 2, True, bytes([c, flags]), struct.pack(">H", dur), bytes([d]))

    def sealed(self, c, flags, topic, msg_id, sel, ctr, data, settle=True):
        """data sealed as DevID sel & 3 would, with counter ctr (see sel's bits above)"""
        return self.op(PUBLISH, 1, settle, bytes([c, flags]), struct.pack(">HH", topic, msg_id),
                       bytes([sel]), struct.pack(">H", ctr), self.s(data))


def seeds():
    c0, c1, c2, c3 = client(0), client(1, port=1), client(2, v6=True), client(3, v6=True, port=2)
    out = {}

    # QoS 0, 1, 2 and -1 publications from one client, nobody subscribed
    s = Seq().connect(c0).register(c0, 1, "a/b")
    s.publish(c0, qos(0), 1, 0, "q0").publish(c0, qos(1), 1, 2, "q1")
    s.publish(c0, qos(2), 1, 3, "q2").ack(c0, PUBREL, 3)
    s.publish(c0, qos(3) | SHORT, 0x6162, 0, "qm1").disconnect(c0)
    out["publish_qos"] = s

    # a wildcard subscriber gets a QoS 2 publication: REGISTER, PUBLISH, PUBREL
    s = Seq().connect(c1).subscribe(c1, qos(2), 1, "a/+")
    s.connect(c2).register(c2, 1, "a/b").publish(c2, qos(2), 1, 7, "hello")
    s.ack(c2, PUBREL, 7)
    s.answer(c1).answer(c1).answer(c1)          # REGACK, PUBREC, PUBCOMP
    s.subscribe(c1, 0, 2, "a/+", unsub=True).publish(c2, qos(1), 1, 8, "nobody")
    out["subscribe_wildcard"] = s

    # retained message, then a new subscriber gets it; short topic names
    s = Seq().connect(c2).register(c2, 1, "s/1").publish(c2, qos(1) | RETAIN, 1, 1, "kept")
    s.connect(c3).subscribe(c3, qos(1), 1, "s/#").answer(c3).answer(c3)
    s.subscribe(c3, qos(0) | SHORT, 2, 0x6162).publish(c2, qos(0) | SHORT, 0x6162, 0, "sh")
    s.publish(c2, qos(1) | RETAIN, 1, 2, "")     # deletes the retained message
    out["retained"] = s

    # sleep: buffered publications (one too many), woken by PINGREQ, then by CONNECT
    s = Seq().connect(c1, dur=30).subscribe(c1, qos(1), 1, "s/1").disconnect(c1, 20)
    s.connect(c0).register(c0, 1, "s/1")
    for i in range(3):
        s.publish(c0, qos(1), 1, 10 + i, "z%d" % i)
    s.pingreq(c1, "cl9").answer(c1).answer(c1, 1).disconnect(c1, 20)
    s.publish(c0, qos(0), 1, 0, "late").connect(c1, flags=0, dur=30)
    s.advance(25).poll().settle()
    out["sleep_wake"] = s

    # will handshake, updates, and the will published when the client is lost
    s = Seq().connect(c3, flags=WILL | CLEAN, dur=5).willtopic(c3, qos(1) | RETAIN, "w/x")
    s.willmsg(c3, "bye").connect(c0).subscribe(c0, qos(1), 1, "w/#")
    s.willtopic(c3, qos(1), "w/y", upd=True).willmsg(c3, "gone", upd=True)
    s.advance(6).poll().settle().answer(c0).answer(c0)
    out["will"] = s

    # a delivery nobody acknowledges: DUP retransmissions, then the client is lost
    s = Seq().connect(c0, flags=WILL | CLEAN).willtopic(c0, 0, "a").willmsg(c0, "x")
    s.subscribe(c0, qos(1), 1, "a/b")
    s.connect(c2).register(c2, 1, "a/b").publish(c2, qos(1), 1, 1, "again")
    for _ in range(3):
        s.advance(1).poll()
    s.settle()
    out["retransmit"] = s

    # the same client id from another address takes the session over
    s = Seq().connect(c0, cid="dev").subscribe(c0, qos(1), 1, "t/1")
    s.connect(client(0, port=3), flags=0, cid="dev")
    s.connect(c1).register(c1, 1, "t/1").publish(c1, qos(1), 1, 1, "moved")
    s.answer(client(0, port=3)).answer(client(0, port=3))
    out["takeover"] = s

    # more clients, topic ids and topics than the limits allow
    s = Seq()
    for i in range(10):
        s.connect(client(i & 3, v6=bool(i & 4), port=i >> 3 & 3))
    for i in range(6):
        s.register(c0, i + 1, "t/%d" % i)
    for i in range(18):
        s.subscribe(c1, qos(0), i + 1, "x/%d" % i)
    out["limits"] = s

    # odd datagrams: SEARCHGW, encapsulated, bad protocol id, no session, VLAN
    s = Seq().raw(c0, b"\x03\x01\x00").raw(c0, b"\x05\xfe\x00\x02\x18")
    s.raw(c0, b"\x01\x00\x04\x16")                   # 3-octet length form PINGREQ
    s.op(CONNECT, 1, True, bytes([c0, CLEAN]), b"\x00\x3c", Seq.s("bad"))
    s.publish(c1, qos(1), 1, 1, "nosess").disconnect(c1)
    s.connect(client(2, vlan=True)).pingreq(client(2, vlan=True))
    s.publish(client(2, vlan=True), qos(2), 0x6162, 9, "v", settle=False).poll(False, 1)
    s.control().poll()
    out["odd"] = s

    # two clients behind one forwarder (and the forwarder's own session), QoS 2 between them
    f1, f2 = client(1, node=1), client(1, node=2)
    s = Seq().connect(f1).connect(f2).connect(client(1))
    s.subscribe(f1, qos(2), 1, "f/#").register(f2, 1, "f/x").publish(f2, qos(2), 1, 5, "relay")
    s.ack(f2, PUBREL, 5).answer(f1).answer(f1).answer(f1).pingreq(f1).disconnect(f2)
    out["forwarder"] = s

    # from the unspecified address, port 0: CONNECT, DISCONNECT, CONNECT, and the same id
    connect = b"\x09\x04\x04\x01\x00\x3c" + b"zer"
    s = Seq().raw(c0, connect, unspec=True).raw(c0, b"\x02\x18", unspec=True)
    s.raw(c0, connect, unspec=True).connect(c2, cid="zer").raw(client(1, v6=True), connect,
                                                                 unspec=True)
    out["unspecified"] = s

    # OSAP: sealed PUBLISH up: opened and routed as plaintext, replays, the window,
    # bad tag, wrong direction, counter 0, a far counter, too short
    s = Seq().admit(DEV0).connect_dev(c0, DEV0).register(c0, 1, "o/up")
    s.connect(c1).subscribe(c1, qos(0), 1, "o/up")
    s.sealed(c0, qos(1), 1, 11, DEV0, 1, "21.5").sealed(c0, qos(1), 1, 12, DEV0, 1, "21.5")
    s.sealed(c0, qos(0), 1, 0, DEV0, 5, "21.6").sealed(c0, qos(0), 1, 0, DEV0, 3, "21.7")
    s.sealed(c0, qos(1), 1, 13, DEV0 | BADTAG, 6, "bad")
    s.sealed(c0, qos(1), 1, 14, DEV0 | DOWN, 7, "dir")
    s.sealed(c0, qos(0), 1, 0, DEV0, 0, "zero").sealed(c0, qos(0), 1, 0, DEV0 | BADCTR, 8, "ctr")
    s.sealed(c0, qos(0), 1, 0, DEV0 | BIG, 1, "far").sealed(c0, qos(0), 1, 0, DEV0, 9, "old")
    s.sealed(c0, qos(2), 1, 15, DEV0 | BIG, 2, "q2").ack(c0, PUBREL, 15)
    s.publish(c0, qos(1), 1, 16, "short").listing()
    out["osap_seal_up"] = s

    # OSAP: deliveries to a device sealed (QoS 0, 1, retained, its own publication back),
    # one too big once sealed
    s = Seq().admit(DEV1).connect_dev(c2, DEV1).subscribe(c2, qos(1), 1, "o/down")
    s.connect(c3).register(c3, 1, "o/down").publish(c3, qos(0), 1, 0, "a")
    s.publish(c3, qos(1), 1, 2, "bb").answer(c2)
    s.publish(c3, qos(2), 1, 3, "ccc").ack(c3, PUBREL, 3).answer(c2)
    s.publish(c3, qos(1) | RETAIN, 1, 4, "kept").answer(c2)
    s.subscribe(c2, qos(0), 2, "o/#").answer(c2).answer(c2)
    s.sealed(c2, qos(0), 1, 0, DEV1, 1, "echo").publish(c3, qos(0), 1, 0, "z" * 230)
    out["osap_seal_down"] = s

    # OSAP: binding to the first source, refusal from another (port, forwarder), re-admission
    # with a new key (the other source takes over; the old key no longer opens), revocation,
    # an admission ending a plain session
    c0b, fwd = client(0, port=3), client(0, node=1)
    s = Seq().admit(CL0).connect(c0).connect(c0b, cid="cl0").connect(fwd, cid="cl0")
    s.connect(c0, flags=0).listing().admit(CL0).connect(c0b, flags=0, cid="cl0")
    s.register(c0b, 1, "b/1").sealed(c0b, qos(1), 1, 1, CL0, 1, "new")
    s.sealed(c0b, qos(1), 1, 2, CL0 | OLD, 2, "old").connect(c0, cid="cl0")
    s.revoke(CL0).connect(c0b, cid="cl0").admit(CL0).listing()
    out["osap_bind"] = s

    # OSAP: a connect window and a key lifetime running out (ADVANCE)
    s = Seq().admit(DEV0, 1, 3).admit(DEV1, 1, 50).connect_dev(c0, DEV0)
    s.advance(2).poll().settle().connect_dev(c1, DEV1)
    s.advance(2).poll().settle().connect_dev(c0, DEV0).listing()
    out["osap_expiry"] = s

    # OSAP: admission mode osap (plain CONNECT and QoS -1 refused), a device behind a
    # forwarder getting sealed deliveries, a plain holder of a DevID ended by its admission
    f1 = client(1, node=1)
    s = Seq().mode(True).connect(c2).publish(c2, qos(3) | SHORT, 0x6162, 0, "m1")
    s.admit(CL1).connect(client(1)).admit(DEV0).connect_dev(f1, DEV0)
    s.subscribe(f1, qos(0), 1, "f/x").mode(False)
    s.connect(c3).register(c3, 1, "f/x").publish(c3, qos(0), 1, 0, "fwd")
    s.sealed(f1, qos(0), 1, 0, DEV0, 1, "up")
    s.connect_dev(c2, DEV1).admit(DEV1).connect_dev(c2, DEV1).listing().revoke(DEV1)
    out["osap_mode"] = s
    return out


def main():
    top = os.path.dirname(os.path.abspath(__file__))
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "corpus", "mqttsn_sess")
    os.makedirs(d, exist_ok=True)
    for name, s in seeds().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes(s.b))


if __name__ == "__main__":
    main()
