#!/usr/bin/env bash
# OSAP on one ternd that is LBS and access node at once (docs/osap.md):
# tern-device authenticates over TLS through the router's own address (the
# exception path), is redirected to this instance, publishes and subscribes
# with sealed payloads across to a plain MQTT-SN client; re-authentication,
# negotiation retry, wrong code, blocked device, a stolen DevID at the node,
# raw attacks on the LBS (truncated and stalled handshakes, oversized LEN,
# wrong version, a flood of half-open connections; an invalid EC point and
# replays are unit tests: test_lbs_session, test_osap_access),
# and the registry across a kill -9 of the LBS.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
TOOLS=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools
DEV=$TOOLS/tern-device
MQ=$TOOLS/tern-mqttsn
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result", d); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}
lbs() { ctl --json lbs.stats; }
lbs_counter() { j "r['counters']['$1']" "$(lbs)"; }
lbs_closed() { j "r['closed']['$1']" "$(lbs)"; }

# a self-signed certificate for the LBS, with the router's address in it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$T_DIR/lbs.key" -out "$T_DIR/lbs.crt" -subj /CN=tern-lbs \
	-addext "subjectAltName=IP:$ROUTER4" 2>/dev/null
EXTRA_CONFIG="lbs:
  enabled: true
  tls: true
  cert: $T_DIR/lbs.crt
  key: $T_DIR/lbs.key
  max_connections: 30
  handshake_timeout: 2
  source_rate: 20
  device_rate: 1000"
tern_start
LBSADDR=$ROUTER4:4850
dev() { cns "$DEV" --lbs "$LBSADDR" --tls --ca "$T_DIR/lbs.crt" --timeout 5 "$@"; }

ctl device.add SN-1 code-one >/dev/null
ctl device.add SN-2 code-two >/dev/null

# ---- first authentication, over TLS through the exception path ----
r=$(dev --serial SN-1 --code code-one --state "$T_DIR/sn1.json" --json auth)
devid=$(j 'r["devid"]' "$r")
is "auth: no error" "$(j 'r["error"]' "$r")" "None"
is "... a 22-digit DevID" "$(j 'len(r["devid"])' "$r")" 22
is "... redirected to this instance (no nodes configured)" "$(j '(r["node"]["addr"], r["node"]["port"])' "$r")" "('$ROUTER4', 1883)"
is "... the registry has the DevID, the node and a session key" \
	"$(j '(r["devid"], r["node"], r["session_key"])' "$(ctl --json device.show SN-1)")" "('$devid', 'self', True)"
is "... the node holds the admission, not yet bound" \
	"$(j '[(a["devid"], a["bound"]) for a in r["admissions"]]' "$(ctl --json node.admissions)")" "[('$devid', False)]"
is "lbs.stats: one first authentication, one address, one local admission" \
	"$(j '(r["counters"]["first_auth"], r["counters"]["addresses"], r["counters"]["admit_local"])' "$(lbs)")" "(1, 1, 1)"
check "the state file is 0600" test "$(stat -c %a "$T_DIR/sn1.json")" = 600

# ---- re-authentication ----
r=$(dev --state "$T_DIR/sn1.json" --json reauth)
is "reauth: same DevID, no public-key exchange" "$(j '(r["devid"], r["error"])' "$r")" "('$devid', None)"
is "lbs.stats: one re-authentication" "$(lbs_counter reauth)" 1

# ---- negotiation retry (the draft's inconsistent case) ----
r=$(dev --serial SN-2 --code code-two --group 2 --json auth)
is "offering only DTLS (not served): retried with what the LBS offered, then ok" \
	"$(j '(r["error"], r["negotiation"]["retried"]["first_offered"], r["negotiation"]["chosen"])' "$r")" "(None, 2, 'plain')"
is "... the first connection closed as unsupported" "$(lbs_closed unsupported)" 1

# ---- sealed business messages, both ways, with a plain MQTT-SN client ----
cns "$MQ" -h "$ROUTER4" sub -t osap/up -c 1 --wait 10 >"$T_DIR/plain.out" 2>&1 &
psub=$!
sleep 0.5
dev --state "$T_DIR/sn1.json" --json publish osap/up "hello from a device" >"$T_DIR/pub.json"
wait "$psub"
is "a device's sealed PUBLISH reaches a plain subscriber as plaintext" "$(grep '^osap/up' "$T_DIR/plain.out")" "osap/up hello from a device"
check "... the node opened it (osap_opened)" test "$(counter osap_opened)" -ge 1
dev --serial SN-2 --code code-two --json subscribe osap/down --count 1 --wait 10 >"$T_DIR/sub.json" &
dsub=$!
for _ in $(seq 50); do
	[ "$(j 'sum(a["connected"] for a in r["admissions"])' "$(ctl --json node.admissions)")" -ge 1 ] && break
	sleep 0.1
done
sleep 1
cns "$MQ" -h "$ROUTER4" pub -t osap/down -m "hello device"
wait "$dsub"
is "a plain PUBLISH reaches an OSAP subscriber sealed, and it opens" \
	"$(j 'r["payload"]' "$(grep '"payload"' "$T_DIR/sub.json" | head -n 1)")" "hello device"
check "... the node sealed it (osap_sealed)" test "$(counter osap_sealed)" -ge 1

# ---- load mode: a few devices, first authentications at a rate ----
for i in 0 1 2 3; do ctl device.add "LD$i" load-code >/dev/null; done
r=$(dev --serial LD --code load-code --devices 4 --rate 4 --duration 1 --json load)
is "tern-device load: 4 first authentications, none failed" "$(j '(r["attempted"], r["ok"], r["failed"])' "$r")" "(4, 4, {})"
check "... with latency percentiles ($(j 'r["latency_ms"]' "$r"))" \
	test "$(j 'r["latency_ms"]["p50"] > 0 and r["latency_ms"]["max"] >= r["latency_ms"]["p50"]' "$r")" = True

# ---- a stolen DevID at the node ----
r=$(cns "$MQ" -h "$ROUTER4" -i "$devid" pub -t osap/up -m stolen 2>&1)
check "CONNECT with another device's DevID from another address: refused ($r)" \
	bash -c "echo '$r' | grep -qi 'refused\|rejected\|not supported'"

# ---- wrong code, blocked device ----
r=$(dev --serial SN-2 --code wrong --json auth)
is "wrong verification code: auth_failed, no DevID" "$(j '(r["error"], r["devid"])' "$r")" "('auth_failed', None)"
is "... counted" "$(lbs_closed auth_failed)" 1
r=$(dev --serial SN-404 --code x --json auth)
is "unknown serial: the same auth_failed" "$(j 'r["error"]' "$r")" "auth_failed"
ctl device.block SN-2 >/dev/null
r=$(dev --serial SN-2 --code code-two --json auth)
is "blocked device: device_blocked" "$(j 'r["error"]' "$r")" "device_blocked"
ctl device.unblock SN-2 >/dev/null
is "ternctl stats carries the LBS counters too" \
	"$(j '(r["lbs"]["closed_auth_failed"], r["lbs"]["closed_unknown_device"], r["lbs"]["closed_blocked"])' "$(ctl --json stats)")" "(1, 1, 1)"

# ---- raw attacks on the LBS ----
# raw.py MODE: one TLS connection to the LBS that misbehaves; prints what came back
cat >"$T_DIR/raw.py" <<'PY'
import socket, ssl, sys, time
mode, host, port, ca = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=6))
if mode == "truncated":      # a 0x1 announcing 100 octets, 10 sent, then silence
    s.sendall(bytes([0x11, 100]) + b"\x00" * 10)
elif mode == "stall":         # TLS up, then nothing at all
    pass
elif mode == "oversized":     # a remaining length of 2 MB: over the 1024-octet frame limit
    s.sendall(bytes([0x11, 0x80, 0x80, 0x80, 0x01]) + b"\x00" * 16)
elif mode == "version":       # a well-formed 0x1 with FORM_VERSION 2
    body = bytes([1, 1]) + bytes([0, 7, 2, 1, 0]) + b"SN-1" + b"\x00" * 125
    s.sendall(bytes([0x11, len(body) & 0x7f | 0x80, len(body) >> 7]) + body)
t0 = time.time()
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except Exception as e:
    pass
print("%s %.1f" % (data.hex(), time.time() - t0))
PY
raw() { cns python3 "$T_DIR/raw.py" "$1" "$ROUTER4" 4850 "$T_DIR/lbs.crt" "${@:2}"; }
r=$(raw truncated)
check "a truncated frame then silence: closed by the handshake deadline (~2 s: ${r#* })" \
	python3 -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 1.5 <= t <= 4 else 1)" "${r#* }"
r=$(raw stall)
check "a client that stalls after TLS: closed by the deadline (${r#* })" \
	python3 -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 1.5 <= t <= 4 else 1)" "${r#* }"
is "... both counted as timeouts" "$(lbs_closed timeout)" 2
raw oversized >/dev/null
is "an oversized LEN: closed, counted too_big" "$(lbs_closed too_big)" 1
r=$(raw version)
is "a wrong protocol version: closed, counted bad_version" "$(lbs_closed bad_version)" 1
check "... answered with a status, not silence (${r% *})" test -n "${r% *}"

# ---- a client that does not speak TLS ----
cns python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 4850), timeout=3)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
try:
    s.recv(100)
except OSError:
    pass' "$ROUTER4"
sleep 0.2
is "plain bytes on the TLS port: closed, counted tls_failed" "$(lbs_counter tls_failed)" 1

# ---- a flood of half-open connections ----
before_busy=$(lbs_counter refused_busy)
cat >"$T_DIR/flood.py" <<'PY'
import socket, sys, time
socks = []
for i in range(int(sys.argv[3])):
    try:
        socks.append(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2))
    except OSError:
        pass
time.sleep(0.5)
print(len(socks))
time.sleep(float(sys.argv[4]))
PY
cns python3 "$T_DIR/flood.py" "$ROUTER4" 4850 60 3 >/dev/null &
flood=$!
sleep 1
r=$(lbs)
check "60 half-open connections: at most lbs.max_connections (30) held ($(j 'r["open"]' "$r") open)" \
	test "$(j 'r["open"]' "$r")" -le 30
check "... the rest closed at accept and counted (busy $(j 'r["counters"]["refused_busy"]' "$r"), rate $(j 'r["counters"]["refused_rate"]' "$r"))" \
	test $(( $(j 'r["counters"]["refused_busy"]' "$r") + $(j 'r["counters"]["refused_rate"]' "$r") - before_busy )) -ge 30
wait "$flood"
sleep 2.5
is "... and every held one timed out: none open" "$(j 'r["open"]' "$(lbs)")" 0

# ---- the registry survives a kill -9 of the LBS ----
tern_stop KILL
rm -rf "/var/run/dpdk/tern$T_ID"
tern_start
r=$(dev --state "$T_DIR/sn1.json" --json reauth)
is "after kill -9 and restart: re-authentication works (master key kept)" "$(j '(r["devid"], r["error"])' "$r")" "('$devid', None)"

tern_stop
is "ternd exits 0 (mbuf audit clean)" "$T_STATUS" 0
echo "$T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" -eq 0 ]
