#!/usr/bin/env bash
# The control socket against a live ternd: every bad-request case, limits,
# concurrency, access levels, and ternctl's output and exit codes
# (tests/integration/test_ctl.py).
. "$(dirname "$0")/lib.sh"
tern_init "$@"
tern_start
python3 "$(dirname "$0")/test_ctl.py" "$T_DIR/run/ternctl.sock" "$TERNCTL" | tee "$T_DIR/ctl.out"
[ "${PIPESTATUS[0]}" -eq 0 ] || T_FAIL=$((T_FAIL + 1))
perm=$(stat -c %a "$T_DIR/run/ternctl.sock")
is "control socket is 0660" "$perm" 660
dperm=$(stat -c %a "$T_DIR/run")
is "its directory is 0750" "$dperm" 750
ctl shutdown >/dev/null
for _ in $(seq 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
wait "$T_PID"; st=$?; T_PID=
is "ternctl shutdown stops ternd with status 0" "$st" 0
check "mbuf audit ok after ternctl shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "ternctl reports a stopped ternd clearly (exit 3)" bash -c \
	"'$TERNCTL' -s '$T_DIR/run/ternctl.sock' status 2>&1 | grep -q 'is ternd running'; test \${PIPESTATUS[0]} -eq 3"
tern_done
