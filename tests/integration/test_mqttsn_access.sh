#!/usr/bin/env bash
# MQTT-SN topic access rules (mqttsn.access): first rule that applies
# decides, deny when none does; %c for the client id; publish, subscribe
# (an allow rule must cover the whole filter, a deny rule refuses any
# overlap) and will topics; refusals answered "rejected: not supported"
# and counted (mqttsn_denied); the rules reloaded with config.reload.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" -h "$ROUTER4" "$@"; }
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}

RULES='  access:
    - client: admin
      topic: "#"
      permission: allow
    - topic: "secret/#"
      permission: deny
    - client: "dev-*"
      topic: "devices/%c/#"
      permission: allow
    - topic: "public/#"
      action: subscribe
      permission: allow'
EXTRA_CONFIG="mqttsn:
$RULES"
tern_start

# outcome CMD...: "ok" or the tool's complaint
outcome() {
	local out
	if out=$("$@" 2>&1); then echo ok; else echo "$out" | grep -o -i -m1 'not supported' || echo "fail: $out"; fi
}

is "a device publishes under its own id" "$(outcome mq -i dev-1 pub -t devices/dev-1/temp -q 1 -m 20)" ok
is "... not under another device's" "$(outcome mq -i dev-1 pub -t devices/dev-2/temp -q 1 -m 20)" "not supported"
is "a QoS 0 publication refused gets a PUBACK too" "$(outcome mq -i dev-1 pub -t devices/dev-2/temp -m 20)" "not supported"
is "a device subscribes to its own subtree" "$(outcome mq -i dev-1 sub -t "devices/dev-1/#" --wait 0.2)" ok
is "nobody else matches the device rule" "$(outcome mq -i reader pub -t devices/reader/x -q 1 -m 1)" "not supported"
is "a subscribe-only rule lets readers subscribe" "$(outcome mq -i reader sub -t "public/+/x" --wait 0.2)" ok
is "... but not publish (no rule applies: denied)" "$(outcome mq -i reader pub -t public/a/x -q 1 -m 1)" "not supported"
is "a filter reaching into a denied subtree is refused" "$(outcome mq -i reader sub -t "#" --wait 0.2)" "not supported"
is "the denied subtree itself is refused" "$(outcome mq -i reader sub -t secret/plans --wait 0.2)" "not supported"
is "the admin rule comes first: admin may subscribe to everything" "$(outcome mq -i admin sub -t "#" --wait 0.2)" ok
is "... and publish in the denied subtree" "$(outcome mq -i admin pub -t secret/plans -q 1 -m x)" ok

# a will on a denied topic: CONNACK "not supported"
r=$(cns python3 - "$ROUTER4" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes([8, 0x04, 0x0c, 1]) + struct.pack("!H", 30) + b"w1")     # CONNECT, will
s.recv(10)                                                             # WILLTOPICREQ
s.send(bytes([3 + 8, 0x07, 0]) + b"secret/w")                          # WILLTOPIC
print(s.recv(10).hex())
PY
)
is "a will topic the rules deny is refused in CONNACK" "$r" "030503"

# QoS -1 senders have no client id: only rules for every client apply
before=$(counter mqttsn_denied)
mq pub --short ab -q -1 -m x
is "a QoS -1 publication no rule allows is dropped and counted" \
	"$(( $(wait_counter mqttsn_denied $((before + 1))) - before ))" 1
is "every refusal counted: 8 so far" "$(counter mqttsn_denied)" 8

# a subscriber allowed by the rules receives; the rules apply to new requests
subacks=$(counter mqttsn_tx_suback)
mq -i admin sub -t "devices/#" -c 1 --wait 10 >"$T_DIR/adm.out" 2>/dev/null &
adm=$!
wait_counter mqttsn_tx_suback $((subacks + 1)) >/dev/null
mq -i dev-7 pub -t devices/dev-7/hum -q 1 -m 55
wait "$adm"
is "an allowed publication reaches an allowed subscriber" "$(cat "$T_DIR/adm.out")" "devices/dev-7/hum 55"

# reload: no rules, everything allowed
EXTRA_CONFIG=""
tern_config >"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "config.reload drops the rules" "$(j 'r["access_rules"]' "$r")" 0
is "after the reload the reader may publish" "$(outcome mq -i reader pub -t secret/x -q 1 -m 1)" ok
# and back, with a rule set that denies the reader
EXTRA_CONFIG="mqttsn:
  access:
    - client: reader
      topic: \"#\"
      permission: deny
    - topic: \"#\"
      permission: allow"
tern_config >"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "config.reload installs new rules" "$(j 'r["access_rules"]' "$r")" 2
is "... at once for a client publishing again" "$(outcome mq -i reader pub -t secret/x -q 1 -m 1)" "not supported"
is "... others are allowed" "$(outcome mq -i writer pub -t secret/x -q 1 -m 1)" ok
# a bad rule in the file: the reload is refused, the rules stay
EXTRA_CONFIG="mqttsn:
  access:
    - topic: \"a/#/b\"
      permission: deny"
tern_config >"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "a reload with a bad rule is refused" "$(j 'e["code"]' "$r")" "EINVAL"
check "... naming the rule" bash -c "echo '$(j 'e["message"]' "$r")' | grep -q 'access'"
is "... and the old rules stay" "$(outcome mq -i reader pub -t secret/x -q 1 -m 1)" "not supported"

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
