#!/usr/bin/env bash
# The MQTT-SN session commands of the control socket (mqttsn.clients,
# mqttsn.client, mqttsn.kick) against a live ternd with two workers and
# clients over IPv4 and IPv6: addresses and ports as the clients see them,
# subscriptions, topic ids and unacknowledged messages, --limit truncation,
# ENOENT/EINVAL/ENOTSUP, a kick that ends a session (DISCONNECT to the
# client, subscriptions dropped, mqttsn_gone), JSON and human output; no
# mbuf leaks and no sanitizer report.
. "$(dirname "$0")/lib.sh"
WORKERS=2
RX_QUEUES=1
MQTTSN_ENABLED=true
tern_init "$@"
MQ=$(dirname "$TERND")/../tests/tools/tern-mqttsn
[ -x "$MQ" ] || MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn

eval "$(declare -f tern_config | sed '1s/tern_config/tern_config_base/')"
tern_config() {
	tern_config_base
	printf 'mqttsn:\n  enabled: %s\n' "$MQTTSN_ENABLED"
}

mq() { cns "$MQ" "$@"; }

# j 'EXPR' REPLY: a Python expression over a --json reply (r = result, e = error)
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}

# wait_for DESCRIPTION SHELL-CONDITION: up to 10 s
wait_for() {
	for _ in $(seq 100); do eval "$2" && break; sleep 0.1; done
	check "$1" eval "$2"
}

# The client's UDP port of process PID in the client namespace.
udp_port_of() {
	cns ss -Hunap | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

tern_start

r=$(ctl --json mqttsn.clients)
is "no clients yet: total 0, empty list" "$(j '(r["total"], r["shown"], r["truncated"], r["clients"])' "$r")" "(0, 0, False, [])"

# --- clients: four tern-mqttsn subscribers, two per address family ---
# not through mq(): $! must be tern-mqttsn itself (ip netns exec execs it)
sub_start() {
	local name=$1 host=$2 topic=$3 subacks
	subacks=$(counter mqttsn_tx_suback)
	ip netns exec "$CNS" "$MQ" -h "$host" -i "$name" sub -t "$topic" --wait 60 \
		>"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	eval "pid_${name//-/_}=$!"
	wait_counter mqttsn_tx_suback $((subacks + 1)) >/dev/null
}
sub_start cli-a1 "$ROUTER4" t/a
sub_start cli-a2 "$ROUTER4" t/b
sub_start cli-b1 "$ROUTER6" 't/#'
sub_start cli-b2 "$ROUTER6" t/c

# ... and one raw client over IPv6 (keep-alive 30 s): two subscriptions, one
# of them QoS 1 to an exact name (a topic id), and it never acknowledges
# what it gets, so a QoS 1 publication stays in flight
cns python3 - "$ROUTER6" >"$T_DIR/raw.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
cid = b"cli-raw"
s.send(bytes([6 + len(cid), 0x04, 0x04, 0x01, 0, 30]) + cid); s.recv(10)       # CONNECT
for mid, flags, name in ((1, 0x20, b"held/x"), (2, 0x00, b"raw/#")):
    s.send(bytes([5 + len(name), 0x12, flags, 0, mid]) + name)                 # SUBSCRIBE
    print("suback", s.recv(10).hex(), flush=True)
s.settimeout(0.5)
end = time.time() + 60
while time.time() < end:
    try:
        m = s.recv(200)
    except socket.timeout:
        continue
    print("got", m.hex(), flush=True)
    if len(m) >= 2 and m[1] == 0x18:                                          # DISCONNECT
        break
PY
pid_raw=$!
wait_for "the raw client subscribed twice" '[ "$(grep -c "^suback" "$T_DIR/raw.out")" = 2 ]'

r=$(ctl --json mqttsn.clients)
is "mqttsn.clients: 5 clients, not truncated" "$(j '(r["total"], r["shown"], r["truncated"])' "$r")" "(5, 5, False)"
is "mqttsn.clients: sorted by client id" "$(j '[c["client_id"] for c in r["clients"]]' "$r")" \
	"['cli-a1', 'cli-a2', 'cli-b1', 'cli-b2', 'cli-raw']"
is "mqttsn.clients: addresses" "$(j '[c["address"] for c in r["clients"]]' "$r")" \
	"['$CLIENT4', '$CLIENT4', '$CLIENT6', '$CLIENT6', '$CLIENT6']"
is "mqttsn.clients: subscription counts" "$(j '[c["subscriptions"] for c in r["clients"]]' "$r")" \
	"[1, 1, 1, 1, 2]"
is "mqttsn.clients: all active" "$(j '{c["state"] for c in r["clients"]}' "$r")" "{'active'}"
is "mqttsn.clients: keep-alives" "$(j '[c["keepalive"] for c in r["clients"]]' "$r")" "[60, 60, 60, 60, 30]"
check "mqttsn.clients: expires_in within 1.5 x keep-alive" \
	j 'all(0 < c["expires_in"] <= c["keepalive"] * 1.5 for c in r["clients"]) or sys.exit(1)' "$r"
check "mqttsn.clients: workers are 0 or 1" j '{c["worker"] for c in r["clients"]} <= {0, 1} or sys.exit(1)' "$r"
echo "# workers: $(j '[(c["client_id"], c["worker"]) for c in r["clients"]]' "$r")"
is "mqttsn.clients: the exact subscribers have a topic id, the wildcard one none" \
	"$(j '[c["topic_ids"] for c in r["clients"]]' "$r")" "[1, 1, 0, 1, 1]"
is "mqttsn.clients: nothing in flight" "$(j '[c["inflight"] for c in r["clients"]]' "$r")" "[0, 0, 0, 0, 0]"
for n in cli-a1 cli-b2; do
	eval "pid=\$pid_${n//-/_}"
	port=$(udp_port_of "$pid")
	is "mqttsn.clients: $n's port is its socket's ($port)" \
		"$(j '[c["port"] for c in r["clients"] if c["client_id"] == "'"$n"'"]' "$r")" "[$port]"
done

# --- mqttsn.client ---
check "a QoS 1 publication to the raw client" mq -h "$ROUTER4" -i pub1 -q 1 pub -t held/x -m hi
wait_for "the raw client got it (and does not acknowledge it)" 'grep -q "^got" "$T_DIR/raw.out"'
r=$(ctl --json mqttsn.client cli-raw)
is "mqttsn.client cli-raw: address, family, port name" \
	"$(j '(r["client_id"], r["address"], r["family"], r["router_port"], r["state"])' "$r")" \
	"('cli-raw', '$CLIENT6', 'ipv6', 'p0', 'active')"
is "mqttsn.client cli-raw: 2 subscriptions, 1 topic id, 1 message in flight, 1 session" \
	"$(j '(r["subscriptions"], r["topic_ids"], r["inflight"], r["qos2_in"], r["sessions"])' "$r")" \
	"(2, 1, 1, 0, 1)"
check "mqttsn.client cli-raw: keep-alive 30, expires in 45 s at most, in ms too" \
	j '(r["keepalive"] == 30 and 0 < r["expires_in"] <= 45 and 0 < r["expires_in_ms"] <= 45000) or sys.exit(1)' "$r"
r2=$(ctl --json mqttsn.client --id=cli-a1)
is "mqttsn.client --id=cli-a1: the named form" "$(j '(r["client_id"], r["address"], r["family"])' "$r2")" \
	"('cli-a1', '$CLIENT4', 'ipv4')"
r=$(ctl --json mqttsn.client nosuch 2>/dev/null)
is "mqttsn.client of an unknown id: exit 1" "$?" 1
is "mqttsn.client of an unknown id: ENOENT" "$(j 'e["code"]' "$r")" ENOENT
ctl mqttsn.client >/dev/null 2>"$T_DIR/err"
is "mqttsn.client without an id: exit 1" "$?" 1
check "mqttsn.client without an id: EINVAL" grep -q "EINVAL" "$T_DIR/err"

# --- --limit ---
r=$(ctl --json mqttsn.clients --limit=2)
is "mqttsn.clients --limit=2: the first two of 5, truncated" \
	"$(j '(r["total"], r["shown"], r["truncated"], [c["client_id"] for c in r["clients"]])' "$r")" \
	"(5, 2, True, ['cli-a1', 'cli-a2'])"
r=$(ctl --json mqttsn.clients --limit=0)
is "mqttsn.clients --limit=0: the count only" "$(j '(r["total"], r["shown"], r["clients"])' "$r")" "(5, 0, [])"
r=$(ctl --json mqttsn.clients --limit=x 2>/dev/null)
is "mqttsn.clients --limit=x: EINVAL" "$(j 'e["code"]' "$r")" EINVAL

# --- human output ---
ctl mqttsn.clients >"$T_DIR/human.txt"
check "human mqttsn.clients: a table with a header" \
	grep -q "CLIENT_ID.*ADDRESS.*PORT.*STATE.*WORKER.*KEEPALIVE.*EXPIRES_IN.*SUBSCRIPTIONS.*TOPIC_IDS.*INFLIGHT" "$T_DIR/human.txt"
check "human mqttsn.clients: a row per client" \
	bash -c "[ \$(grep -c -E '^  cli-(a|b)[12] +(192\\.0\\.2\\.2|2001:db8::2) +[0-9]+ +active' '$T_DIR/human.txt') = 4 ]"
check "human mqttsn.clients: total and truncated" grep -q -E "^truncated +no" "$T_DIR/human.txt"
sed 's/^/#   /' "$T_DIR/human.txt"
ctl mqttsn.client cli-b1 >"$T_DIR/human1.txt"
check "human mqttsn.client: key value lines" grep -q -E "^address +2001:db8::2$" "$T_DIR/human1.txt"
check "human mqttsn.client: the wildcard subscriber's topic ids" grep -q -E "^topic_ids +0$" "$T_DIR/human1.txt"

# --- mqttsn.kick ---
gone0=$(counter mqttsn_gone)
subs0=$(j 'r["subs"]' "$(ctl --json topic.stats)")
r=$(ctl --json mqttsn.kick cli-a2)
is "mqttsn.kick cli-a2: one session ended" "$(j '(r["client_id"], r["ended"])' "$r")" "('cli-a2', 1)"
wait "$pid_cli_a2" 2>/dev/null
is "the kicked tern-mqttsn exits 1" "$?" 1
check "the kicked tern-mqttsn was told: the gateway sent DISCONNECT" grep -q "gateway sent DISCONNECT" "$T_DIR/cli-a2.err"
r=$(ctl --json mqttsn.clients)
is "after the kick: cli-a2 is gone from mqttsn.clients" "$(j '[c["client_id"] for c in r["clients"]]' "$r")" \
	"['cli-a1', 'cli-b1', 'cli-b2', 'cli-raw']"
is "after the kick: mqttsn_gone + 1" "$(( $(counter mqttsn_gone) - gone0 ))" 1
wait_for "after the kick: its subscription left the topic table" \
	'[ "$(j "r[\"subs\"]" "$(ctl --json topic.stats)")" = $((subs0 - 1)) ]'
r=$(ctl --json mqttsn.client cli-a2 2>/dev/null)
is "after the kick: mqttsn.client cli-a2 is ENOENT" "$(j 'e["code"]' "$r")" ENOENT

r=$(ctl --json mqttsn.kick cli-raw)
is "mqttsn.kick cli-raw (IPv6, a message in flight): ended" "$(j 'r["ended"]' "$r")" 1
wait "$pid_raw"
check "the raw client got DISCONNECT" grep -q "^got 0218" "$T_DIR/raw.out"
is "after the second kick: 3 clients left" "$(j 'r["total"]' "$(ctl --json mqttsn.clients)")" 3

r=$(ctl --json mqttsn.kick nosuch 2>/dev/null)
is "mqttsn.kick of an unknown id: exit 1" "$?" 1
is "mqttsn.kick of an unknown id: ENOENT" "$(j 'e["code"]' "$r")" ENOENT
r=$(ctl --json mqttsn.kick 2>/dev/null)
is "mqttsn.kick without an id: EINVAL" "$(j 'e["code"]' "$r")" EINVAL
ctl mqttsn.kick cli-a1 >"$T_DIR/human2.txt"
check "human mqttsn.kick: ended 1" grep -q -E "^ended +1$" "$T_DIR/human2.txt"
wait "$pid_cli_a1" 2>/dev/null
is "help lists the three commands, kick as admin" \
	"$(j '[(c["name"], c["access"]) for c in r if c["name"].startswith("mqttsn.")]' "$(ctl --json help)")" \
	"[('mqttsn.client', 'read'), ('mqttsn.clients', 'read'), ('mqttsn.kick', 'admin')]"

# the rest leave on their own: SIGTERM makes tern-mqttsn disconnect
for n in cli_b1 cli_b2; do eval "kill -TERM \$pid_$n"; eval "wait \$pid_$n"; done
wait_for "every client gone" '[ "$(j "r[\"total\"]" "$(ctl --json mqttsn.clients)")" = 0 ]'

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"

# --- the MQTT-SN node disabled: ENOTSUP ---
MQTTSN_ENABLED=false
tern_start
for c in mqttsn.clients "mqttsn.client a" "mqttsn.kick a"; do
	# shellcheck disable=SC2086
	ctl --json $c >"$T_DIR/off.json" 2>"$T_DIR/off.err"
	is "$c with mqttsn disabled: exit 1" "$?" 1
	is "$c with mqttsn disabled: ENOTSUP" "$(j 'e["code"]' "$(cat "$T_DIR/off.json")")" ENOTSUP
	check "$c with mqttsn disabled: the message says mqttsn.enabled is false" \
		grep -q "mqttsn.enabled is false" "$T_DIR/off.err"
done
tern_stop
is "ternd exits 0 (mqttsn disabled)" "$T_STATUS" 0
check "no sanitizer report (mqttsn disabled)" bash -c "! grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
