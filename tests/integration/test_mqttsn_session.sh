#!/usr/bin/env bash
# MQTT-SN sessions and topic ids beyond the basics, against a live ternd with
# two workers:
#   - predefined topic ids from the config: PUBLISH (QoS -1, 0, 1) and
#     SUBSCRIBE by id, deliveries by predefined id without REGISTER, unknown
#     ids refused; ternctl predefined.list/add/remove; config.reload
#     (applied; refused, naming the keys, when a non-reloadable key changed);
#   - a client coming back with its client id from a new address/port (NAT
#     rebinding) takes over its session, on the same worker and on the other
#     one: its subscriptions and topic ids go along, the old session ends;
#     a clean CONNECT takes the id but not the subscriptions;
#   - clients behind a forwarder (encapsulated messages, spec 5.5): one
#     session per wireless node id, answers and deliveries wrapped for it;
#   - mqttsn.clients shows asleep clients and forwarder node ids.
# No mbuf leak, no sanitizer report.
. "$(dirname "$0")/lib.sh"
WORKERS=2
RX_QUEUES=1
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" "$@"; }

# j 'EXPR' REPLY: a Python expression over a --json reply (r = result, e = error)
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}

PREDEF='  predefined:
    - id: 7
      topic: sensors/temp
    - id: 300
      topic: "alarms/#fire"'
EXTRA_CONFIG="mqttsn:
  retry_ms: 500
  session_expiry: 4
$PREDEF"
# '#' inside a name is not a name: the config is refused, naming the key
tern_config >"$T_DIR/bad.yaml"
r=$("$TERND" --check-config "$T_DIR/bad.yaml" 2>&1)
is "a predefined topic with a wildcard is refused" "$(echo "$r" | grep -c 'mqttsn.predefined\[1\].topic (line [0-9]*): "alarms/#fire" is not a topic name')" 1
PREDEF='  predefined:
    - id: 7
      topic: sensors/temp
    - id: 300
      topic: alarms/fire'
EXTRA_CONFIG="mqttsn:
  retry_ms: 500
  session_expiry: 4
$PREDEF"
tern_start
cap=$T_DIR/session.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 1883" -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done

# ---- predefined topic ids ----
r=$(ctl --json predefined.list)
is "predefined.list shows the config's ids" "$(j '[(x["id"], x["topic"]) for x in r]' "$r")" "[(7, 'sensors/temp'), (300, 'alarms/fire')]"

mq -h $ROUTER4 -i p-sub sub --predefined 7 -c 3 --wait 10 >"$T_DIR/psub.out" 2>"$T_DIR/psub.err" &
psub=$!
mq -h $ROUTER4 -i n-sub sub -t "sensors/#" -c 3 --wait 10 >"$T_DIR/nsub.out" 2>/dev/null &
nsub=$!
wait_counter mqttsn_tx_suback 2 >/dev/null
check "QoS 0 PUBLISH by predefined id" mq -h $ROUTER4 -i p-pub pub --predefined 7 -m t0
check "QoS 1 PUBLISH by predefined id" mq -h $ROUTER4 -i p-pub pub --predefined 7 -q 1 -m t1
check "QoS -1 PUBLISH by predefined id (no connection)" mq -h $ROUTER4 pub --predefined 7 -q -1 -m t2
wait "$psub"; wait "$nsub"
is "the predefined-id subscriber got all three" "$(cat "$T_DIR/psub.out" | tr '\n' ' ')" "predefined:7 t0 predefined:7 t1 predefined:7 t2 "
is "the wildcard subscriber got them by the predefined id" "$(cat "$T_DIR/nsub.out" | tr '\n' ' ')" "predefined:7 t0 predefined:7 t1 predefined:7 t2 "
is "... without a REGISTER" "$(counter mqttsn_tx_register)" 0

before=$(counter mqttsn_invalid_topic)
r=$(mq -h $ROUTER4 -i p-bad pub --predefined 8 -q 1 -m x 2>&1); rc=$?
is "PUBLISH with an unknown predefined id is refused" "$rc" 1
is "... as an invalid topic id" "$(echo "$r" | grep -c -i 'invalid topic')" 1
r=$(mq -h $ROUTER4 -i p-bad sub --predefined 8 --wait 1 2>&1); rc=$?
is "SUBSCRIBE to an unknown predefined id is refused" "$rc" 1
is "both counted as invalid topic ids" "$(( $(counter mqttsn_invalid_topic) - before ))" 2

r=$(ctl --json predefined.add 8 rooms/kitchen)
is "predefined.add" "$(j 'r' "$r")" "{'id': 8, 'topic': 'rooms/kitchen'}"
r=$(ctl --json predefined.add 8 rooms/hall)
is "predefined.add of a taken id is refused" "$(j 'e["code"]' "$r")" "EEXIST"
r=$(ctl --json predefined.add 9 sensors/temp)
is "predefined.add of a topic that has an id is refused" "$(j 'e["message"]' "$r")" "topic \"sensors/temp\" already has predefined id 7"
r=$(ctl --json predefined.add 0 x)
is "predefined.add of id 0 is refused" "$(j 'e["code"]' "$r")" "EINVAL"
r=$(ctl --json predefined.add 10 "a/+")
is "predefined.add of a filter is refused" "$(j 'e["code"]' "$r")" "EINVAL"
mq -h $ROUTER4 -i k-sub sub -t rooms/kitchen -c 1 --wait 10 >"$T_DIR/ksub.out" 2>/dev/null &
ksub=$!
wait_counter mqttsn_tx_suback 4 >/dev/null
check "PUBLISH by the added id" mq -h $ROUTER4 -i k-pub pub --predefined 8 -q 1 -m hot
wait "$ksub"
is "a subscriber by name got it" "$(cat "$T_DIR/ksub.out")" "rooms/kitchen hot"
r=$(ctl --json predefined.remove 8)
is "predefined.remove" "$(j 'r' "$r")" "{'id': 8}"
r=$(ctl --json predefined.remove 8)
is "predefined.remove of an unknown id" "$(j 'e["code"]' "$r")" "ENOENT"
r=$(mq -h $ROUTER4 -i k-pub pub --predefined 8 -q 1 -m cold 2>&1); rc=$?
is "the removed id is refused again" "$rc" 1
r=$(ctl predefined.list)
is "predefined.list, human" "$(echo "$r" | grep -c -E '^ *(7|300) ')" 2

# ---- config.reload ----
PREDEF='  predefined:
    - id: 7
      topic: sensors/temp
    - id: 20
      topic: doors/front'
EXTRA_CONFIG="mqttsn:
  retry_ms: 500
  session_expiry: 4
$PREDEF"
tern_config >"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "config.reload applies the predefined ids" "$(j '(r["predefined"], r["access_rules"])' "$r")" "(2, 0)"
r=$(ctl --json predefined.list)
is "... the file's table replaced the running one" "$(j '[x["id"] for x in r]' "$r")" "[7, 20]"
r=$(ctl --json config.show)
is "config.show shows the reloaded file" "$(j 'r["mqttsn"]["predefined"][1]' "$r")" "{'id': 20, 'topic': 'doors/front'}"
EXTRA_CONFIG="mqttsn:
  retry_ms: 600
  session_expiry: 4
  max_clients: 500
$PREDEF"
tern_config >"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "a reload with non-reloadable changes is refused, naming them" "$(j 'e["message"].split(": ", 1)[1]' "$r")" \
	"mqttsn.max_clients, mqttsn.retry_ms changed: only mqttsn.predefined and mqttsn.access can be reloaded, the others need a restart; nothing changed"
printf 'mqttsn:\n  predefined:\n    - id: 7\n      topic: a\n    - id: 7\n      topic: b\n' >>"$T_DIR/ternd.yaml"
r=$(ctl --json config.reload)
is "a reload of a bad file is refused with the config error" "$(j '"line" in e["message"] and "nothing changed" in e["message"]' "$r")" "True"
EXTRA_CONFIG="mqttsn:
  retry_ms: 500
  session_expiry: 4
$PREDEF"
tern_config >"$T_DIR/ternd.yaml"

# ---- NAT rebinding: a session taken over from a new address/port ----
# client.py ACTION...: one raw MQT-SN client; actions run in order:
#   bind:PORT  connect:ID:CLEAN[:KEEPALIVE]  sub:FILTER  expect:N (publications,
#   acked)  nothing:SEC (no publication that long)  drop (close the socket
#   without DISCONNECT)  disconnect  sleep:SEC (DISCONNECT with a duration)
#   ping:ID (PINGREQ, answer not awaited)  held (a QoS 1 publication, not
#   acked yet)  ack (PUBACK it)  pingresp (wait for PINGRESP)  pause:SEC
cat >"$T_DIR/client.py" <<'PY'
import socket, struct, sys, time
router = sys.argv[1]
s = None
def send(t, body):
    s.send(bytes([2 + len(body), t]) + body)
def recv(want, timeout=5):
    s.settimeout(timeout)
    while True:
        d = s.recv(2048)
        if d[1] == want:
            return d
        if d[1] == 0x0a:    # a gateway REGISTER: accept
            send(0x0b, d[2:4] + d[4:6] + b"\0")
out = []
for a in sys.argv[2:]:
    k, _, arg = a.partition(":")
    if k == "bind":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", int(arg))); s.connect((router, 1883))
    elif k == "connect":
        cid, clean, *ka = arg.split(":")
        ka = int(ka[0]) if ka else 60
        send(0x04, bytes([0x04 if clean == "1" else 0, 1]) + struct.pack("!H", ka) + cid.encode())
        out.append("connack=%d" % recv(0x05)[2])
    elif k == "sub":
        send(0x12, bytes([0x20]) + struct.pack("!H", 1) + arg.encode())
        d = recv(0x13)
        out.append("suback=%d" % d[7])
    elif k == "expect":
        for _ in range(int(arg)):
            d = recv(0x0c)
            flags, tid, mid = d[2], struct.unpack("!H", d[3:5])[0], struct.unpack("!H", d[5:7])[0]
            if flags & 0x60 == 0x20:
                send(0x0d, d[3:5] + d[5:7] + b"\0")
            out.append("pub:%d:%s" % (tid, d[7:].decode()))
    elif k == "nothing":
        try:
            d = recv(0x0c, float(arg)); out.append("unexpected:" + d.hex())
        except socket.timeout:
            out.append("nothing")
    elif k == "drop":
        s.close(); s = None
    elif k == "sleep":
        send(0x18, struct.pack("!H", int(arg))); recv(0x18)
    elif k == "ping":
        send(0x16, arg.encode())
    elif k == "held":
        held = recv(0x0c); out.append("held:%s" % held[7:].decode())
    elif k == "ack":
        send(0x0d, held[3:5] + held[5:7] + b"\0")
    elif k == "pingresp":
        recv(0x17); out.append("pingresp")
    elif k == "pause":
        time.sleep(float(arg))
    elif k == "disconnect":
        send(0x18, b""); recv(0x18)
print(" ".join(out))
PY
raw() { cns python3 "$T_DIR/client.py" "$ROUTER4" "$@"; }
worker_of() { j 'r["worker"]' "$(ctl --json mqttsn.client "$1")"; }

# the worker each source port lands on (software steering: fixed per flow)
raw bind:40000 connect:probe:1 >/dev/null
w0=$(worker_of probe)
same="" other=""
for p in $(seq 40001 40040); do
	raw bind:$p connect:probe:1 >/dev/null
	w=$(worker_of probe)
	if [ "$w" = "$w0" ] && [ -z "$same" ]; then same=$p; fi
	if [ "$w" != "$w0" ] && [ -z "$other" ]; then other=$p; fi
	[ -n "$same" ] && [ -n "$other" ] && break
done
ctl mqttsn.kick probe >/dev/null
check "source ports found on both workers ($same same, $other other)" test -n "$same" -a -n "$other"

# subscribe from port 40000, vanish, come back from a port on the same worker
taken=$(counter mqttsn_taken)
raw bind:40000 connect:nat1:0 sub:nat/a drop >/dev/null
takeovers=$(counter mqttsn_takeovers)
raw bind:$same connect:nat1:0 expect:1 >"$T_DIR/nat1.out" &
natc=$!
wait_counter mqttsn_takeovers $((takeovers + 1)) >/dev/null
check "publish to the moved subscription" mq -h $ROUTER4 -i nat-pub pub -t nat/a -q 1 -m one
wait "$natc"
is "same worker: the new address gets the old session's publications, with its topic id" \
	"$(cat "$T_DIR/nat1.out")" "connack=0 pub:1:one"
r=$(ctl --json mqttsn.clients)
is "one session left for the client id, at the new port" "$(j '[(c["port"]) for c in r["clients"] if c["client_id"] == "nat1"]' "$r")" "[$same]"

# again, from a port the other worker owns
wa=$(worker_of nat1)
raw bind:$other connect:nat1:0 expect:1 >"$T_DIR/nat2.out" &
natc=$!
wait_counter mqttsn_takeovers $((takeovers + 2)) >/dev/null
check "publish again" mq -h $ROUTER4 -i nat-pub pub -t nat/a -q 1 -m two
wait "$natc"
is "other worker: the session moved across workers" "$(cat "$T_DIR/nat2.out")" "connack=0 pub:1:two"
wb=$(worker_of nat1)
check "... it is on the other worker now ($wa -> $wb)" test "$wa" != "$wb"
is "the old sessions ended as taken" "$(( $(counter mqttsn_taken) - taken ))" 2
r=$(ctl --json mqttsn.client nat1)
is "the session kept its subscription and topic id" "$(j '(r["subscriptions"], r["topic_ids"], r["sessions"])' "$r")" "(1, 1, 1)"

# a clean CONNECT takes the id but not the subscriptions
raw bind:40000 connect:nat1:1 nothing:1.5 >"$T_DIR/nat3.out" &
natc=$!
wait_counter mqttsn_takeovers $((takeovers + 3)) >/dev/null
mq -h $ROUTER4 -i nat-pub pub -t nat/a -q 1 -m three
wait "$natc"
is "clean session: nothing delivered" "$(cat "$T_DIR/nat3.out")" "connack=0 nothing"
r=$(ctl --json topic.show nat/a)
is "... and the subscription is gone from the table" "$(j 'r["subscribers"]' "$r")" 0
ctl mqttsn.kick nat1 >/dev/null

# ---- kept sessions (CleanSession false): disconnected, lost, expired ----
kept=$(counter mqttsn_kept)
raw bind:40300 connect:keep1:0 sub:keep/a disconnect >/dev/null
r=$(ctl --json mqttsn.client keep1)
is "DISCONNECT without CleanSession keeps the session: disconnected" "$(j '(r["state"], r["subscriptions"])' "$r")" "('disconnected', 1)"
mq -h $ROUTER4 -i keep-pub pub -t keep/a -q 1 -m k1
mq -h $ROUTER4 -i keep-pub pub -t keep/a -m k2
r=$(raw bind:40300 connect:keep1:0 expect:2 disconnect)
is "CONNECT again: what was published meanwhile comes" "$r" "connack=0 pub:1:k1 pub:1:k2"
mq -h $ROUTER4 -i keep-pub pub -t keep/a -q 1 -m k3
r=$(raw bind:$other connect:keep1:0 expect:1 disconnect)
is "... also to a CONNECT from another address on another worker" "$r" "connack=0 pub:1:k3"
raw bind:40301 connect:lost1:0:1 sub:keep/a drop >/dev/null
wait_for_state() {
	for _ in $(seq 50); do
		[ "$(j 'r["state"] if r else None' "$(ctl --json mqttsn.client "$1")")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "a client silent past its keep-alive is lost, its session kept" wait_for_state lost1 lost
is "kept sessions counted" "$(( $(counter mqttsn_kept) - kept ))" 4
expired=$(counter mqttsn_expired)
check "session_expiry later the kept sessions are gone" \
	bash -c "sleep 4.5; ! $TERNCTL -s $T_DIR/run/ternctl.sock mqttsn.client lost1 >/dev/null 2>&1"
is "... counted as expired" "$(( $(wait_counter mqttsn_expired $((expired + 2))) - expired ))" 2
r=$(ctl --json topic.show keep/a)
is "... and their subscriptions are gone" "$(j 'r["subscribers"]' "$r")" 0

# ---- awake (spec 6.14): PINGRESP only once the buffered messages are acknowledged ----
raw bind:40400 connect:dozy2:1 sub:dz/a sleep:30 >/dev/null
mq -h $ROUTER4 -i dz-pub pub -t dz/a -q 1 -m zz
raw bind:40400 ping:dozy2 held pause:1 ack pingresp >"$T_DIR/awake.out" &
awake=$!
check "woken with a message to acknowledge: awake" wait_for_state dozy2 awake
wait "$awake"
is "the buffered message, then PINGRESP after its PUBACK" "$(cat "$T_DIR/awake.out")" "held:zz pingresp"
check "... and asleep again" wait_for_state dozy2 asleep
ctl mqttsn.kick dozy2 >/dev/null

# ---- forwarder encapsulation (spec 5.5) ----
# fwd.py: a forwarder relaying for nodes N1 and N2 (wireless node ids
# 0a0b and 0c): CONNECT, SUBSCRIBE fw/#, then two publications each, every
# message wrapped; prints what came back, per node.
cat >"$T_DIR/fwd.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.connect((sys.argv[1], 1883))
def wrap(node, msg):
    return bytes([3 + len(node), 0xfe, 0]) + node + msg
def send(node, t, body):
    s.send(wrap(node, bytes([2 + len(body), t]) + body))
def recv():
    d = s.recv(2048)
    assert d[1] == 0xfe, d.hex()
    node = d[3:d[0]]
    return node, d[d[0]:]
nodes = [bytes.fromhex("0a0b"), bytes.fromhex("0c")]
out = []
for i, n in enumerate(nodes):
    send(n, 0x04, bytes([0x04, 1]) + struct.pack("!H", 60) + b"node%d" % i)
    node, m = recv(); out.append("%s:connack=%d" % (node.hex(), m[2]))
    send(n, 0x12, bytes([0x00]) + struct.pack("!H", 5) + b"fw/#")
    node, m = recv(); out.append("%s:suback=%d" % (node.hex(), m[7]))
print(" ".join(out), flush=True)
got = {}
while sum(len(v) for v in got.values()) < 4:
    node, m = recv()
    if m[1] == 0x0a:          # REGISTER: accept
        send(node, 0x0b, m[2:4] + m[4:6] + b"\0"); continue
    if m[1] == 0x0c:
        got.setdefault(node.hex(), []).append(m[7:].decode())
print(" ".join("%s:%s" % (k, ",".join(v)) for k, v in sorted(got.items())))
PY
encap=$(counter mqttsn_encap_rx)
subacks=$(counter mqttsn_tx_suback)
cns python3 "$T_DIR/fwd.py" "$ROUTER4" >"$T_DIR/fwd.out" 2>&1 &
fwd=$!
wait_counter mqttsn_tx_suback $((subacks + 2)) >/dev/null
sleep 0.3
r=$(ctl --json mqttsn.clients)
is "forwarded clients are sessions of their own, with their node ids" \
	"$(j 'sorted((c["client_id"], c.get("node_id")) for c in r["clients"] if c["client_id"].startswith("node"))' "$r")" \
	"[('node0', '0a0b'), ('node1', '0c')]"
mq -h $ROUTER4 -i fw-pub pub -t fw/x -m m1
mq -h $ROUTER4 -i fw-pub pub -t fw/y -q 1 -m m2
wait "$fwd"
is "answers came back wrapped, for each node" "$(head -1 "$T_DIR/fwd.out")" \
	"0a0b:connack=0 0a0b:suback=0 0c:connack=0 0c:suback=0"
is "deliveries went through the forwarder to each node" "$(tail -1 "$T_DIR/fwd.out")" "0a0b:m1,m2 0c:m1,m2"
is "encapsulated messages counted" "$(( $(counter mqttsn_encap_rx) - encap >= 4 ))" 1
check "wrapped messages sent counted" test "$(counter mqttsn_encap_tx)" -ge 8
before=$(counter mqttsn_encap_bad)
cns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((sys.argv[1], 1883))
node = bytes(range(17))
s.send(bytes([3 + len(node), 0xfe, 0]) + node + bytes([2, 0x16]))' "$ROUTER4"
is "a node id longer than 16 bytes is dropped and counted" "$(( $(wait_counter mqttsn_encap_bad $((before + 1))) - before ))" 1

# ---- states in mqttsn.clients ----
raw bind:40100 connect:dozy:0 >/dev/null
cns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 40100)); s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("04180064")); s.settimeout(3); s.recv(10)' "$ROUTER4"
r=$(ctl --json mqttsn.client dozy)
is "a sleeping client shows as asleep" "$(j 'r["state"]' "$r")" "asleep"
ctl mqttsn.kick dozy >/dev/null

# ---- what ternd sent, through Wireshark's MQTT-SN dissector ----
sleep 0.5
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
from_router="ip.src==$ROUTER4"
nmq=$(tshark -r "$cap" -d udp.port==1883,mqttsn -Y "mqttsn && ($from_router)" 2>/dev/null | wc -l)
check "tshark decodes ternd's messages ($nmq)" test "$nmq" -gt 40
nenc=$(tshark -r "$cap" -d udp.port==1883,mqttsn -Y "mqttsn.msg.type == 0xfe && ($from_router)" 2>/dev/null | wc -l)
check "... the encapsulated ones too ($nenc)" test "$nenc" -ge 8
npre=$(tshark -r "$cap" -d udp.port==1883,mqttsn -Y "mqttsn.topic.id.type == 1 && mqttsn.msg.type == 0x0c && ($from_router)" 2>/dev/null | wc -l)
check "... and PUBLISH with predefined topic ids ($npre)" test "$npre" -ge 6
tshark_clean "$cap" -d udp.port==1883,mqttsn

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
