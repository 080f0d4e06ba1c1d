#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Control socket checks against a live ternd (docs/control.md).

usage: test_ctl.py SOCKET TERNCTL

Run as root or as ternd's user (the checks need admin access). Expects an
idle data plane: after `stats --reset` every counter must read zero.
Prints one "ok - ..." / "not ok - ..." line per check; exits 1 if any failed.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

LINE_MAX = 65536
MAX_CONNS = 64
CORE_COMMANDS = {
    "help": "read",
    "status": "read",
    "stats": "read",
    "stats.describe": "read",
    "port.list": "read",
    "log.level": "read",
    "config.show": "read",
    "shutdown": "admin",
}

failed = 0


def check(cond, what, detail=None):
    global failed
    print(("ok - " if cond else "not ok - ") + what, flush=True)
    if not cond:
        failed += 1
        if detail is not None:
            print("#   " + str(detail)[:500], flush=True)
    return cond


class Client:
    """One connection; reads reply lines."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """The next reply line as JSON; None on EOF/reset/timeout."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout, OSError):
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, cmd, args=None, rid=1):
        req = {"id": rid, "cmd": cmd}
        if args is not None:
            req["args"] = args
        self.send(json.dumps(req) + "\n")
        return self.reply()

    def closed(self):
        """True if the server closes the connection (EOF or reset) within the timeout."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def err_code(r):
    return (r or {}).get("error", {}).get("code")


def is_err(r, code):
    return r is not None and r.get("ok") is False and err_code(r) == code


def is_ok(r, rid=1):
    return r is not None and r.get("ok") is True and r.get("id") == rid


def ternctl(binary, args, env=None):
    e = dict(os.environ)
    e.pop("TERN_SOCKET", None)
    if env:
        e.update(env)
    p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=30, env=e)
    return p.returncode, p.stdout, p.stderr


def test_bad_requests(path):
    cases = [
        ("not json", "EINVAL", None, "parse error"),
        ("{\"id\":1,", "EINVAL", None, "parse error"),
        ("[1,2,3]", "EINVAL", None, "object"),
        ("42", "EINVAL", None, "object"),
        ("{\"cmd\":\"status\"}", "EINVAL", None, "id"),
        ("{\"id\":1.5,\"cmd\":\"status\"}", "EINVAL", None, "id"),
        ("{\"id\":[1],\"cmd\":\"status\"}", "EINVAL", None, "id"),
        ("{\"id\":2}", "EINVAL", 2, "cmd"),
        ("{\"id\":3,\"cmd\":17}", "EINVAL", 3, "cmd"),
        ("{\"id\":4,\"cmd\":\"no.such.command\"}", "ENOENT", 4, "help"),
        ("{\"id\":5,\"cmd\":\"status\",\"args\":[1]}", "EINVAL", 5, "args"),
        ("{\"id\":6,\"cmd\":\"stats\",\"args\":{\"nonzero\":\"maybe\"}}", "EINVAL", 6,
         "nonzero"),
        ("{\"id\":7,\"cmd\":\"stats\",\"args\":{\"port\":5}}", "EINVAL", 7, "port"),
        ("{\"id\":8,\"cmd\":\"log.level\",\"args\":{\"level\":\"loud\"}}", "EINVAL", 8, "loud"),
        ("{\"id\":9,\"cmd\":\"stats\",\"args\":{\"port\":\"no-such-port\"}}", "ENOENT", 9,
         "no-such-port"),
    ]
    c = Client(path)
    for line, code, rid, word in cases:
        c.send(line + "\n")
        r = c.reply()
        check(is_err(r, code) and r.get("id") == rid
              and word in r.get("error", {}).get("message", ""),
              "bad request %s => %s, id %s" % (line, code, json.dumps(rid)), r)
    r = c.request("status", rid="after")
    check(is_ok(r, "after"), "connection still usable after every bad request", r)
    c.send("{\"id\":10,\"cmd\":\"status\"}\n{\"id\":11,\"cmd\":\"help\"}\n")
    check(is_ok(c.reply(), 10) and is_ok(c.reply(), 11), "two pipelined requests answered in order")
    c.close()


def test_long_lines(path):
    c = Client(path)
    c.send("{\"id\":1,\"cmd\":\"status\",\"args\":{\"pad\":\"" + "x" * 70000 + "\"}}\n")
    r = c.reply()
    check(is_err(r, "EMSGSIZE"), "a line over 64 KiB gets EMSGSIZE", r)
    check(c.closed(), "... and the connection is closed")
    c.close()

    c = Client(path)
    try:
        c.send("x" * (LINE_MAX + 10))  # no newline at all
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = c.reply()
    check(is_err(r, "EMSGSIZE"), "64 KiB + 10 bytes without a newline get EMSGSIZE", r)
    check(c.closed(), "... and the connection is closed")
    c.close()

    # Exactly LINE_MAX bytes is still legal.
    head = "{\"id\":1,\"cmd\":\"status\",\"args\":{\"pad\":\""
    tail = "\"}}"
    c = Client(path)
    c.send(head + "x" * (LINE_MAX - len(head) - len(tail)) + tail + "\n")
    check(is_ok(c.reply()), "a line of exactly 65536 bytes is accepted")
    c.close()


def test_concurrent(path):
    results = []
    lock = threading.Lock()

    def worker(n):
        good = False
        try:
            c = Client(path, timeout=10)
            a = c.request("status", rid=n)
            b = c.request("stats", rid=n + 1000)
            good = is_ok(a, n) and is_ok(b, n + 1000)
            c.close()
        except OSError as e:
            good = e
        with lock:
            results.append(good)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check(len(results) == 20 and all(r is True for r in results),
          "20 concurrent clients each get status and stats", results)


def test_disconnects(path):
    b = Client(path)
    b.send("{\"id\":5,\"cmd\":\"sta")
    a = Client(path)
    a.send("{\"id\":1,\"cmd\":\"stat")           # leaves mid-line
    c = Client(path)
    c.send("{\"id\":1,\"cmd\":\"stats\"}\n")     # leaves before reading its reply
    time.sleep(0.1)
    a.close()
    c.close()
    time.sleep(0.1)
    b.send("tus\"}\n")
    check(is_ok(b.reply(), 5), "clients leaving mid-line and mid-request do not disturb another")
    b.close()


def test_conn_cap(path):
    conns = [Client(path) for _ in range(MAX_CONNS)]
    time.sleep(0.2)
    extra = Client(path)
    r = extra.reply()
    check(is_err(r, "EBUSY"), "connection %d gets EBUSY" % (MAX_CONNS + 1), r)
    check(extra.closed(), "... and is closed")
    extra.close()
    good = 0
    for i, c in enumerate(conns):
        good += is_ok(c.request("help", rid=i), i)
    check(good == MAX_CONNS, "the %d connections under the cap are served" % MAX_CONNS, good)
    for c in conns:
        c.close()
    time.sleep(0.2)
    c = Client(path)
    check(is_ok(c.request("status")), "new connections accepted after the others closed")
    c.close()


def test_help(path):
    c = Client(path)
    r = c.request("help")
    rows = (r or {}).get("result") or []
    by_name = {row.get("name"): row for row in rows}
    check(is_ok(r) and isinstance(rows, list), "help returns an array", r)
    check(all(set(row) >= {"name", "args", "access", "help"} and
              row["access"] in ("read", "admin") for row in rows),
          "every help row has name, args, access (read/admin) and help")
    for name, access in sorted(CORE_COMMANDS.items()):
        row = by_name.get(name)
        check(row is not None and row["access"] == access,
              "help lists %s (%s)" % (name, access), row)
    names = [row.get("name") for row in rows]
    check(names == sorted(names), "help rows sorted by name")
    r = c.request("help", {"argv": ["stats"]})
    check(is_ok(r) and r["result"].get("name") == "stats", "help stats returns one row", r)
    check(is_err(c.request("help", {"argv": ["nope"]}), "ENOENT"),
          "help of an unknown command => ENOENT")
    c.close()


def test_status(path):
    c = Client(path)
    r = c.request("status")
    res = (r or {}).get("result") or {}
    check(is_ok(r) and set(res) >= {"version", "pid", "uptime", "config", "lcores", "ports",
                                    "mbufs"},
          "status has version, pid, uptime, config, lcores, ports, mbufs", res)
    ports = c.request("port.list")
    check(is_ok(ports) and ports["result"] == res.get("ports"), "port.list matches status ports",
          ports)
    desc = c.request("stats.describe")
    stats = c.request("stats")
    names = {d.get("name") for d in (desc or {}).get("result", [])}
    total = ((stats or {}).get("result") or {}).get("total", {})
    check(is_ok(desc) and is_ok(stats) and set(total) == names and
          all(d.get("description") for d in desc["result"]),
          "stats.describe describes exactly the counters stats shows")
    check(set(stats["result"]) == {"ports", "workers", "total"},
          "stats has ports, workers, total")
    port_names = [p["name"] for p in res.get("ports", [])]
    check(sorted(stats["result"]["ports"]) == sorted(port_names), "stats has every port")
    if port_names:
        one = c.request("stats", {"port": port_names[0]})
        check(is_ok(one) and list(one["result"]["ports"]) == port_names[0:1],
              "stats --port=NAME filters to one port", one)
    nz = c.request("stats", {"nonzero": True})
    check(is_ok(nz) and all(v != 0 for v in nz["result"]["total"].values()),
          "stats --nonzero shows no zero counters", nz)
    cfg = c.request("config.show")
    check(is_ok(cfg) and isinstance(cfg["result"], dict), "config.show returns an object", cfg)
    c.close()


def test_reset(path):
    # The kernel may send a frame (ND, MLD) between the reset and the read:
    # a few attempts, one of which must read all zero.
    c = Client(path)
    zeroed, tot = False, None
    for _ in range(5):
        before = c.request("stats", {"reset": True})
        after = c.request("stats")
        if not (is_ok(before) and set(before["result"]) == {"ports", "workers", "total"}):
            break
        tot = (after or {}).get("result", {}).get("total", {})
        if is_ok(after) and tot and all(v == 0 for v in tot.values()):
            zeroed = True
            break
        time.sleep(0.05)
    check(is_ok(before) and set(before["result"]) == {"ports", "workers", "total"},
          "stats --reset returns the counters", before)
    check(zeroed, "stats after --reset reads zero", tot)
    c.close()


def test_log_level(path):
    c = Client(path)
    r = c.request("log.level")
    orig = (r or {}).get("result", {}).get("level")
    check(is_ok(r) and isinstance(orig, str), "log.level get", r)
    new = "debug" if orig != "debug" else "info"
    r = c.request("log.level", {"argv": [new]})
    check(is_ok(r) and r["result"].get("level") == new, "log.level set %s" % new, r)
    r = c.request("log.level")
    check(is_ok(r) and r["result"].get("level") == new, "log.level reads back %s" % new, r)
    r = c.request("log.level", {"level": orig})
    check(is_ok(r) and r["result"].get("level") == orig, "log.level restored to %s" % orig, r)
    c.close()


def test_ternctl(path, binary):
    s = ["-s", path]
    rc, out, err = ternctl(binary, s + ["status"])
    check(rc == 0 and "version" in out and "ports:" in out, "ternctl status: human output, exit 0",
          (rc, out, err))
    rc, out, err = ternctl(binary, s + ["--json", "status"])
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    check(rc == 0 and out.count("\n") == 1 and j and j.get("ok") is True and j.get("id") == 1,
          "ternctl --json status: one raw JSON reply line", (rc, out, err))
    rc, out, err = ternctl(binary, ["status"], env={"TERN_SOCKET": path})
    check(rc == 0 and "version" in out, "ternctl uses $TERN_SOCKET", (rc, err))
    rc, out, err = ternctl(binary, s + ["help"])
    check(rc == 0 and all(name in out for name in CORE_COMMANDS) and "ACCESS" in out,
          "ternctl help lists every command as a table", out)
    rc, out, err = ternctl(binary, s + ["stats"])
    check(rc == 0 and "total:" in out and "workers:" in out and "rx_packets" in out,
          "ternctl stats renders sections", out)
    rc, out, err = ternctl(binary, s + ["stats", "--nonzero", "--port=no-such-port"])
    check(rc == 1 and err.startswith("error: ENOENT: "),
          "ternctl error reply: exit 1, message on stderr", (rc, out, err))
    rc, out, err = ternctl(binary, s + ["no.such.command"])
    check(rc == 1 and "error: ENOENT:" in err and "help" in err, "ternctl unknown command: exit 1",
          (rc, err))
    rc, out, err = ternctl(binary, s + ["--json", "no.such.command"])
    check(rc == 1 and json.loads(out).get("ok") is False, "ternctl --json error: raw reply, exit 1",
          (rc, out, err))
    missing = "/nonexistent-tern-dir/ternctl.sock"
    rc, out, err = ternctl(binary, ["-s", missing, "status"])
    check(rc == 3 and "ternctl: cannot connect to %s: No such file or directory (is ternd running?)"
          % missing in err, "ternctl with no ternd: exit 3 and a clear message", (rc, err))
    rc, out, err = ternctl(binary, [])
    check(rc == 2, "ternctl without a command: exit 2", (rc, err))
    rc, out, err = ternctl(binary, ["--no-such-option", "status"])
    check(rc == 2, "ternctl with an unknown option: exit 2", (rc, err))
    rc, out, err = ternctl(binary, ["--help"])
    check(rc == 0 and "Usage: ternctl" in out and "--json" in out and "--timeout" in out,
          "ternctl --help", (rc, out))
    rc, out, err = ternctl(binary, s + ["log.level"])
    check(rc == 0 and "level" in out, "ternctl log.level", (rc, out, err))


def main():
    if len(sys.argv) != 3:
        print("usage: test_ctl.py SOCKET TERNCTL", file=sys.stderr)
        return 2
    path, binary = sys.argv[1], sys.argv[2]
    for t in (test_bad_requests, test_long_lines, test_concurrent, test_disconnects,
              test_conn_cap, test_help, test_status, test_reset, test_log_level):
        try:
            t(path)
        except Exception as e:  # one broken check must not hide the others
            check(False, "%s raised %r" % (t.__name__, e))
    try:
        test_ternctl(path, binary)
    except Exception as e:
        check(False, "test_ternctl raised %r" % e)
    print("# %d failed" % failed if failed else "# all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
