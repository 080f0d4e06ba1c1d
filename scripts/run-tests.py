#!/usr/bin/env python3
"""Run tern's tests and count every check.

Each test program (unit test binaries and integration scripts, as meson
registers them) prints TAP-style lines, "ok ..." or "not ok ...": each line is
one check. A program that exits non-zero without printing a "not ok" line (a
crash, a sanitizer report) counts as one failed check. The fuzz corpus replay
prints "fuzz NAME: ok" or "fuzz NAME: FAILED" per target.

Prints per-program results, the failures with the end of their logs, and
finally the line "N passed, N failed". Exit status 1 on any failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

OK = re.compile(r"^ok\b|^fuzz \S+: ok$")
NOT_OK = re.compile(r"^not ok\b|^fuzz \S+: FAILED")


def run(name, cmd, env, cwd, timeout, logdir):
    log = os.path.join(logdir, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        out += "\nnot ok - %s timed out after %ss\n" % (name, timeout)
        rc = -1
    with open(log, "w") as f:
        f.write(out)
    lines = out.splitlines()
    passed = sum(1 for l in lines if OK.match(l))
    failed_lines = [l for l in lines if NOT_OK.match(l)]
    failed = len(failed_lines)
    if rc != 0 and failed == 0:
        failed = 1
        failed_lines.append("not ok - %s exited with status %d" % (name, rc))
    if rc == 0 and passed == 0 and failed == 0:
        passed = 1
    took = time.monotonic() - start
    status = "PASS" if failed == 0 else "FAIL"
    print("%s %-40s %4d ok %3d not ok  %6.1fs" % (status, name, passed, failed, took),
          flush=True)
    if failed:
        for l in failed_lines[:20]:
            print("    " + l)
        print("    --- last lines of %s ---" % log)
        for l in lines[-25:]:
            print("    | " + l)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default="build-test")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--filter", default="")
    ap.add_argument("--fuzz-seconds", type=int, default=0)
    a = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    logdir = os.path.join(root, a.builddir, "testlogs")
    os.makedirs(logdir, exist_ok=True)
    tests = json.loads(subprocess.check_output(
        ["meson", "introspect", "--tests", os.path.join(root, a.builddir)]))
    total_ok = total_bad = 0
    for t in tests:
        suites = t.get("suite", [])
        if a.quick and any(s.endswith("integration") for s in suites):
            continue
        if a.filter and a.filter not in t["name"]:
            continue
        env = dict(os.environ)
        env.update(t.get("env") or {})
        timeout = t.get("timeout") or 120
        p, f = run(t["name"], t["cmd"], env, t.get("workdir") or os.path.join(root, a.builddir),
                   timeout, logdir)
        total_ok += p
        total_bad += f

    if not a.filter or "fuzz" in a.filter:
        cmd = [os.path.join(root, "scripts", "fuzz"), "--replay"]
        p, f = run("fuzz-replay", cmd, dict(os.environ), root, 900, logdir)
        total_ok += p
        total_bad += f
        if a.fuzz_seconds > 0:
            cmd = [os.path.join(root, "scripts", "fuzz"), "--seconds", str(a.fuzz_seconds)]
            p, f = run("fuzz-short", cmd, dict(os.environ), root, 900, logdir)
            total_ok += p
            total_bad += f

    print("%d passed, %d failed" % (total_ok, total_bad))
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
