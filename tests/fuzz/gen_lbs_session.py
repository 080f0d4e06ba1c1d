#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of tests/fuzz/fuzz_lbs_session.c.

    tests/fuzz/gen_lbs_session.py [DIR]     (default tests/fuzz/corpus/lbs_session)

Each seed is [setup][split seed] followed by a raw stream or by steps in the
target's encoding (see the comment at the top of fuzz_lbs_session.c). The raw
frames are the test vectors of docs/osap.md 14.7: the fake backend holds that
device, so the vector 0x1 and 0x4 open.
"""
import os
import sys

# setup octet
AT_ONCE, PENDING, REFUSED, PENDING_MANUAL = 0, 1, 2, 3
NO_NODE, SCRIPT, SMALL_OUT, BLOCKED, THROTTLED = 0x04, 0x08, 0x10, 0x20, 0x40

# step "a" bits
NO_FLAG, FORM2, WRONG_KEY, UNKNOWN_ID, TYPE2 = 0x01, 0x02, 0x04, 0x08, 0x10

# docs/osap.md 14.7
V_ECDH_REQ = bytes.fromhex(
    "1190010103000f010100534e3031323334353637383901010101010101010101"
    "0101512de5281f1fe2b3d7dc8752e22aeabc5ad2f7639ed46d2cefa954fca56c"
    "b7003ffc9f503f44c05973a22b0b460a2ce61acf308cabcf6cfa7052ee6d02b0"
    "4e2286e0b32157fbafb92915c34e1a46304e7b508f03edc72f5ab528bfded7b0"
    "3dbf576e6c9b7ee201001d629e121baa3f6a23")
V_REFRESH_REQ = bytes.fromhex(
    "4149010300190101003566306333653961376232316434386536613062313304"
    "040404040404040404040484c1563b8e579e7453bf292bea701d3b70d441ef32"
    "27f46e22abcb955e228e05")
V_DEVID_REQ = bytes.fromhex(
    "71310003010100070707070707070707070707cb9146851597567b9f82a02a73"
    "bf7465eba26d5a9771c5ccf2ed48e3eb2c0478")
V_DEVID_CFM = bytes.fromhex(
    "9147001901010035663063336539613762323164343865366130623133090909"
    "0909090909090909095cb4715c173a381701e5f95ebfdb1c44d926b9a25cf595"
    "9476da5bb6aa72f65a")
V_ADDR_REQ = bytes.fromhex(
    "a13200030101000a0a0a0a0a0a0a0a0a0a0a0a0088560fb7578fe5856e188fcd"
    "74f20116e567b2bb626d97d1c3f94efb3b92811c")
V_ERROR = bytes.fromhex("c11106001e000c010100736c6f7720646f776e")


class Seq:
    def __init__(self, setup, seed=0x5a):
        self.b = bytearray([setup | SCRIPT, seed])

    def frame(self, t, a=0, b=0, pt=b""):
        self.b += bytes([t, a, b, len(pt)]) + pt
        return self

    def first_auth(self, group=3):
        return self.frame(0x1, 0, group).frame(0x7, 0, 0xc1)

    def raw(self, data):
        self.b += bytes([0x10, len(data) >> 8, len(data) & 0xff]) + data
        return self

    def admit(self, ok=True):
        self.b.append(0x20 if ok else 0x21)
        return self

    def tick(self, tenths):
        self.b += bytes([0x30, tenths])
        return self

    def wall(self, tens):
        self.b += bytes([0x40, tens])
        return self


def raw(setup, data, seed=0x33):
    return bytes([setup & ~SCRIPT, seed]) + data


def seeds():
    s = {}
    # raw streams
    s["raw_ecdh_req"] = raw(AT_ONCE, V_ECDH_REQ)
    s["raw_refresh_req"] = raw(AT_ONCE, V_REFRESH_REQ)
    s["raw_refresh_then_addr"] = raw(PENDING, V_REFRESH_REQ + V_ADDR_REQ, seed=1)
    s["raw_vectors"] = raw(AT_ONCE, V_ECDH_REQ + V_DEVID_REQ + V_DEVID_CFM + V_ADDR_REQ)
    s["raw_peer_error"] = raw(AT_ONCE, V_ERROR)
    s["raw_small_out"] = raw(SMALL_OUT, V_REFRESH_REQ + V_ADDR_REQ, seed=7)
    s["bad_garbage"] = raw(AT_ONCE, bytes([0x11, 0x40]) + bytes(range(64)))
    s["bad_too_big"] = raw(AT_ONCE, bytes([0x11, 0x82, 0x08, 0x01, 0x03]))
    s["bad_varint"] = raw(AT_ONCE, bytes([0x11, 0x80, 0x00]))
    s["bad_reserved_type"] = raw(AT_ONCE, bytes([0x01, 0x05, 0x00, 0x03, 0x01, 0x01, 0x00]))
    s["bad_tls_hello"] = raw(AT_ONCE, bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]))
    s["bad_partial"] = raw(AT_ONCE, V_ECDH_REQ[:100])
    s["bad_out_of_order"] = raw(AT_ONCE, V_DEVID_REQ)

    # scripts
    s["first_auth"] = Seq(AT_ONCE).first_auth().frame(0x9).frame(0xa, 0, 1).frame(0xa, 0, 2).b
    s["first_auth_implicit"] = Seq(AT_ONCE).first_auth().frame(0xa).b
    s["refresh"] = Seq(AT_ONCE).frame(0x4, 0, 1).frame(0xa).b
    s["refresh_cfm"] = Seq(AT_ONCE).frame(0x4, 0, 3).frame(0x9).b
    s["async"] = Seq(PENDING).first_auth().frame(0xa).frame(0xa).b
    s["async_manual"] = Seq(PENDING_MANUAL).first_auth().frame(0xa).admit().frame(0xa) \
        .admit(False).b
    s["async_timeout"] = Seq(PENDING_MANUAL).first_auth().frame(0xa).tick(200).b
    s["refused"] = Seq(REFUSED).first_auth().frame(0xa).b
    s["no_node"] = Seq(NO_NODE).first_auth().frame(0xa).b
    s["small_out"] = Seq(SMALL_OUT | PENDING).first_auth().frame(0xa).frame(0xa).b
    s["inconsistent"] = Seq(AT_ONCE).frame(0x1, TYPE2, 0x0f).b
    s["no_common_bit"] = Seq(AT_ONCE).frame(0x1, 0, 0x04).b
    s["no_ecdh_flag"] = Seq(AT_ONCE).frame(0x1, NO_FLAG, 3).b
    s["bad_version"] = Seq(AT_ONCE).frame(0x1, FORM2, 3).b
    s["wrong_code"] = Seq(AT_ONCE).frame(0x1, WRONG_KEY, 3).b
    s["unknown_serial"] = Seq(AT_ONCE).frame(0x1, UNKNOWN_ID, 3).b
    s["unknown_devid"] = Seq(AT_ONCE).frame(0x4, UNKNOWN_ID, 3).b
    s["blocked"] = Seq(BLOCKED).frame(0x1, 0, 3).b
    s["blocked_refresh"] = Seq(BLOCKED).frame(0x4, 0, 3).b
    s["throttled"] = Seq(THROTTLED).frame(0x1, 0, 3).b
    s["bad_point"] = Seq(AT_ONCE).frame(0x1, 0, 3, bytes([4]) + bytes(96)).b
    s["wrong_cfm"] = Seq(AT_ONCE).first_auth().frame(0x9, UNKNOWN_ID).b
    s["wrong_ks"] = Seq(AT_ONCE).first_auth().frame(0xa, WRONG_KEY).b
    s["bad_family"] = Seq(AT_ONCE).first_auth().frame(0xa, 0, 0, bytes(16) + b"\x07").b
    s["later_no_flag"] = Seq(AT_ONCE).first_auth().frame(0xa, NO_FLAG).b
    s["later_form2"] = Seq(AT_ONCE).first_auth().frame(0xa, FORM2).b
    s["key_expired"] = Seq(AT_ONCE).first_auth().wall(61).frame(0xa).b
    s["timeout"] = Seq(AT_ONCE).frame(0x1, 0, 3).tick(120).frame(0x7).b
    s["idle_moves"] = Seq(AT_ONCE).tick(50).frame(0x4, 0, 3).tick(40).frame(0xa).tick(250) \
        .frame(0xa).tick(250).tick(60).b
    s["too_many_addr"] = Seq(AT_ONCE).frame(0x4, 0, 3) \
        .frame(0xa).frame(0xa).frame(0xa).frame(0xa).frame(0xa) \
        .frame(0xa).frame(0xa).frame(0xa).frame(0xa).b
    s["device_sends_rsp"] = Seq(AT_ONCE).frame(0x4, 0, 3).frame(0xb, 0, 0, bytes(29)).b
    s["peer_error"] = Seq(AT_ONCE).first_auth().raw(V_ERROR).b
    return s


def main():
    top = os.path.dirname(os.path.abspath(__file__))
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "corpus", "lbs_session")
    os.makedirs(d, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes(data))


if __name__ == "__main__":
    main()
