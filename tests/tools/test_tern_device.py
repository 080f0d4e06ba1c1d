#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""tern-device's command line and its network failures (docs/tern-device.md).

usage: test_tern_device.py TERN_DEVICE

--help and usage errors (exit 2 with a message naming the problem), and
against a scripted LBS on 127.0.0.1 in this process (bytes written out by
hand from docs/osap.md section 14, no OSAP code shared with the tool):
nothing listening (exit 3), a silent LBS (timeout, exit 3, bounded time),
the inconsistent negotiation answer (tern-device reconnects and offers the
LBS's group, checked in the octets of its second 0x1) and an ERROR
(rate_limited: exit 1, the name in the JSON). The full exchange with the
real LBS session is tests/unit/tools/test_osap_dev.c's.
Prints one "ok - ..." / "not ok - ..." line per check; exits 1 if any failed.
"""

import json
import socket
import subprocess
import sys
import threading
import time

TOOL = None
failed = 0


def check(cond, what, detail=None):
    global failed
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        failed += 1
        if detail is not None:
            for line in str(detail)[:2000].splitlines():
                print("#   " + line, flush=True)
    return cond


def run(*args, timeout=20):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# docs/osap.md 14.7
INCONSISTENT = bytes.fromhex("21080201030003010100")      # 0x2 unsupported_protocol, type 1, group 03
RATE_LIMITED = bytes.fromhex("c11106001e000c010100736c6f7720646f776e")


def read_frame(conn):
    """One OSAP frame: octet 0, the varint remaining length, the rest."""
    hdr = conn.recv(1)
    if not hdr:
        return b""
    mult, rem, raw = 1, 0, b""
    while True:
        b = conn.recv(1)
        raw += b
        rem += (b[0] & 0x7F) * mult
        mult *= 128
        if not b[0] & 0x80:
            break
    body = b""
    while len(body) < rem:
        chunk = conn.recv(rem - len(body))
        if not chunk:
            break
        body += chunk
    return hdr + raw + body


class Lbs:
    """A scripted LBS: per connection, read one frame, then answer the next script item."""

    def __init__(self, answers):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answers = list(answers)
        self.frames = []
        self.stop = False
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(5)
            try:
                self.frames.append(read_frame(conn))
                ans = self.answers.pop(0) if self.answers else None
                if ans is None:          # silent: hold the connection open
                    while not self.stop:
                        time.sleep(0.05)
                else:
                    conn.sendall(ans)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.stop = True
        self.th.join()
        self.sock.close()


def test_usage():
    rc, out, err = run("--help")
    check(rc == 0 and "Usage: tern-device COMMAND" in out and "auth" in out and "load" in out,
          "--help: exit 0, the commands listed", (rc, out, err))
    rc, out, err = run("publish", "--help")
    check(rc == 0 and "--qos" in out and "--devices" not in out,
          "publish --help: its options only", out)
    rc, out, err = run()
    check(rc == 2 and "Usage" in err, "no command: exit 2 with the usage", (rc, err))
    rc, out, err = run("frobnicate")
    check(rc == 2 and "unknown command 'frobnicate'" in err, "unknown command: exit 2", err)
    rc, out, err = run("auth", "--serial", "S", "--code", "C")
    check(rc == 2 and "--lbs ADDR:PORT is required" in err, "auth without --lbs: exit 2", err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1", "--serial", "S", "--code", "C")
    check(rc == 2 and "bad value '127.0.0.1' for --lbs" in err, "--lbs without a port: exit 2",
          err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1:1", "--code", "C")
    check(rc == 2 and "--serial and --code are required" in err, "auth without --serial", err)
    rc, out, err = run("reauth", "--lbs", "127.0.0.1:1")
    check(rc == 2 and "reauth needs --state FILE" in err, "reauth without --state", err)
    rc, out, err = run("publish", "t", "--lbs", "127.0.0.1:1", "--serial", "S", "--code", "C")
    check(rc == 2 and "publish takes 2 arguments" in err, "publish without MESSAGE", err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1:1", "--serial", "S", "--code", "C",
                       "--devices", "3")
    check(rc == 2 and "'--devices' does not apply to auth" in err, "load option on auth", err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1:1", "--serial", "S", "--code", "C",
                       "--group", "0")
    check(rc == 2 and "bad value '0' for --group" in err, "--group 0 refused", err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1:1", "--serial", "S", "--code", "C",
                       "--ca", "/nonexistent")
    check(rc == 2 and "--ca needs --tls" in err, "--ca without --tls", err)
    rc, out, err = run("auth", "--lbs", "127.0.0.1:1", "--serial", "S", "--code", "C",
                       "--tls", "--ca", "/nonexistent")
    check(rc == 2 and "/nonexistent" in err, "--ca FILE missing: exit 2, named", err)


def test_network():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                    # nothing listens there now
    rc, out, err = run("auth", "--lbs", f"127.0.0.1:{port}", "--serial", "S", "--code", "C",
                       "--iterations", "10", "--json")
    j = json.loads(out) if out.strip() else {}
    check(rc == 3 and j.get("error") == "connection_refused" and j.get("devid") is None,
          "nothing listening: exit 3, connection_refused", (rc, out, err))

    lbs = Lbs([None])
    t0 = time.monotonic()
    rc, out, err = run("auth", "--lbs", f"127.0.0.1:{lbs.port}", "--serial", "S", "--code",
                       "C", "--iterations", "10", "--timeout", "0.5", "--json")
    dt = time.monotonic() - t0
    lbs.close()
    j = json.loads(out) if out.strip() else {}
    check(rc == 3 and j.get("error") == "timeout", "silent LBS: exit 3, timeout",
          (rc, out, err))
    check(dt < 5, f"silent LBS: gave up after the timeout ({dt:.1f} s)")
    check(len(lbs.frames) == 1 and lbs.frames[0][:1] == b"\x11" and lbs.frames[0][4] == 0x01,
          "silent LBS: it got a 0x1 offering group 01 (the default)", lbs.frames)

    lbs = Lbs([INCONSISTENT, RATE_LIMITED])
    rc, out, err = run("auth", "--lbs", f"127.0.0.1:{lbs.port}", "--serial", "SN7", "--code",
                       "C", "--iterations", "10", "--group", "4", "--json")
    lbs.close()
    j = json.loads(out) if out.strip() else {}
    f = lbs.frames
    check(len(f) == 2 and f[0][4] == 0x04 and f[1][4] == 0x03 and f[1][3] == 0x01,
          "negotiation: second connection offers the LBS's type 1 group 03",
          [x.hex() for x in f])
    check(f and f[0][10:13] == b"SN7", "negotiation: the serial in clear in the 0x1",
          [x.hex() for x in f])
    neg = j.get("negotiation", {})
    check(neg.get("retried", {}) == {"first_offered": 4, "server_type": 1, "server_group": 3},
          "negotiation: the JSON says it retried, with what", out)
    check(rc == 1 and j.get("error") == "rate_limited" and j.get("retry_after") == 30 and
          j.get("reason") == "slow down" and j.get("in_error") is True,
          "ERROR rate_limited: exit 1, named, retry after and reason", (rc, out, err))
    check(set(j.get("ms", {})) == {"connect", "tls", "auth", "address", "total"} and
          j.get("serial") == "SN7" and j.get("node") is None,
          "JSON: serial, node null, ms fields", out)

    lbs = Lbs([INCONSISTENT, INCONSISTENT])
    rc, out, err = run("auth", "--lbs", f"127.0.0.1:{lbs.port}", "--serial", "SN7", "--code",
                       "C", "--iterations", "10", "--group", "4")
    lbs.close()
    check(rc == 1 and "negotiation: offered group 4" in out and
          "unsupported_protocol" in err and len(lbs.frames) == 2,
          "negotiation twice inconsistent: one retry only, then exit 1", (rc, out, err))


def main():
    global TOOL
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    TOOL = sys.argv[1]
    test_usage()
    test_network()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
