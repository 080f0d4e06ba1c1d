#!/usr/bin/env bash
# The OSAP device registry through ternctl: device.add, device.list,
# device.show (by serial and by DevID), device.block / unblock,
# device.remove, device.import from CSV (all or none, the bad line named,
# --skip-existing); the registry is an SQLite file that survives a kill -9
# of ternd with every acknowledged change, and never holds a verification
# code; a registry ternd cannot open stops it with a clear error.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}
REGISTRY=$T_DIR/lib/tern/devices.db   # a directory ternd creates
tern_start

r=$(ctl --json device.add SN-0001 code-one-secret)
is "device.add registers a device, active, no DevID yet" "$(j '(r["serial"], r["state"], r["devid"], r["session_key"])' "$r")" \
	"('SN-0001', 'active', None, False)"
is "the same serial again: EEXIST" "$(j 'e["code"]' "$(ctl --json device.add SN-0001 other)")" "EEXIST"
is "no code: an error that says so" "$(j 'e["message"]' "$(ctl --json device.add SN-0002)")" "missing the verification code"
ctl device.add SN-0002 code-two >/dev/null
r=$(ctl --json device.list)
is "device.list: both, in serial order" "$(j '[d["serial"] for d in r["devices"]]' "$r")" "['SN-0001', 'SN-0002']"
check "... human output names them" bash -c "'$TERNCTL' -s '$T_DIR/run/ternctl.sock' device.list | grep -q SN-0002"
is "device.show SERIAL" "$(j 'r["serial"]' "$(ctl --json device.show SN-0002)")" "SN-0002"
is "device.show of an unknown device: ENOENT" "$(j 'e["code"]' "$(ctl --json device.show SN-9999)")" "ENOENT"
ctl device.block SN-0002 >/dev/null
is "device.block" "$(j 'r["state"]' "$(ctl --json device.show SN-0002)")" "blocked"
ctl device.unblock SN-0002 >/dev/null
is "device.unblock" "$(j 'r["state"]' "$(ctl --json device.show SN-0002)")" "active"
is "device.remove" "$(j 'r["serial"]' "$(ctl --json device.remove SN-0002)")" "SN-0002"
is "... gone" "$(j 'e["code"]' "$(ctl --json device.show SN-0002)")" "ENOENT"
is "device.remove of an unknown device: ENOENT" "$(j 'e["code"]' "$(ctl --json device.remove SN-0002)")" "ENOENT"

# ---- import ----
csv=$T_DIR/devices.csv
cat >"$csv" <<'EOF'
serial,code
# a comment, then a blank line

SN-1001,alpha
"SN-1002", "beta, with a comma"
SN-1003,gamma
EOF
is "device.import: the file's devices" "$(j '(r["imported"], r["skipped"])' "$(ctl --json device.import "$csv")")" "(3, 0)"
is "... listed with a prefix" "$(j 'r["total"]' "$(ctl --json device.list SN-10)")" 3
is "importing it again: EEXIST, nothing changed" "$(j 'e["code"]' "$(ctl --json device.import "$csv")")" "EEXIST"
is "... or with --skip-existing: all skipped" \
	"$(j '(r["imported"], r["skipped"])' "$(ctl --json device.import "$csv" --skip-existing)")" "(0, 3)"
printf 'SN-2001,a\nSN-2002,b\nSN-2003\nSN-2004,d\n' >"$T_DIR/bad.csv"
r=$(ctl --json device.import "$T_DIR/bad.csv")
check "a bad line: the error names the file and line 3 ($(j 'e["message"]' "$r"))" \
	bash -c "echo '$(j 'e["message"]' "$r")' | grep -q 'bad.csv:3'"
is "... and nothing of the file was registered" "$(j 'r["total"]' "$(ctl --json device.list SN-2)")" 0
is "a relative path: refused" "$(j 'e["code"]' "$(ctl --json device.import devices.csv)")" "EINVAL"
is "a file that is not there: ENOENT" "$(j 'e["code"]' "$(ctl --json device.import /nonexistent.csv)")" "ENOENT"

# ---- read-only peers may list, not change ----
is "the registry file is 0600" "$(stat -c %a "$REGISTRY")" 600
is "... in a directory ternd created 0750" "$(stat -c %a "$(dirname "$REGISTRY")")" 750

# ---- kill -9: every acknowledged change is there after a restart ----
for i in $(seq 1 50); do ctl device.add "SN-3$(printf %03d "$i")" "code-$i" >/dev/null; done
ctl device.block SN-1003 >/dev/null
tern_stop KILL
check "ternd was killed" test "$T_STATUS" -ne 0
tern_start
is "after kill -9 and a restart: every device" "$(j 'r["total"]' "$(ctl --json device.list)")" 54
is "... with its state" "$(j 'r["state"]' "$(ctl --json device.show SN-1003)")" "blocked"
check "no verification code is in the registry files" \
	bash -c "! grep -a -q -E 'code-one-secret|code-25|beta, with' '$REGISTRY' '$REGISTRY'-wal 2>/dev/null"
tern_stop
is "ternd exits 0" "$T_STATUS" 0

# ---- a registry ternd cannot open: a clear error, exit 2 ----
echo "not a database" >"$T_DIR/junk.db"
REGISTRY=$T_DIR/junk.db
tern_config >"$T_DIR/junk.yaml"
out=$("$TERND" -c "$T_DIR/junk.yaml" 2>&1)
rc=$?
is "a file that is no registry: exit 2 (configuration)" "$rc" 2
check "... naming the key and the file ($out)" bash -c "echo '$out' | grep -q 'registry: .*junk.db'"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
