#!/usr/bin/env bash
# OSAP across three ternd instances: A is the LBS (plain TCP this time), B
# and C are access nodes only (mqttsn.admission: osap), each on its own
# net_tap port in its own namespace; the node links run over veth pairs
# with mutual TLS (a test CA). Devices (tern-device, in the client
# namespace, which holds all three taps) are spread over B and C by load,
# publish sealed messages to each other at B, stay undisturbed when B is
# drained, get no_access_node when no node is left, and land on B again
# when C goes down; a DevID presented from another address at B is refused.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
TOOLS=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools
DEV=$TOOLS/tern-device
MQ=$TOOLS/tern-mqttsn
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result", d); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}
NB=tern-b$T_ID NC=tern-cc$T_ID
B4=198.51.100.1 BC4=198.51.100.2 C4=203.0.113.1 CC4=203.0.113.2
PID_B= PID_C=

cleanup() {
	for p in $PID_B $PID_C; do
		kill -TERM "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$NB" 2>/dev/null
	ip netns del "$NC" 2>/dev/null
	rm -rf "/var/run/dpdk/ternb$T_ID" "/var/run/dpdk/ternc$T_ID"
	tern_cleanup
}
trap cleanup EXIT

# ---- a CA and a certificate per instance for the node links ----
pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-keyout "$T_DIR/ca.key" -out "$T_DIR/ca.crt" -subj /CN=tern-test-ca
	for n in a b c; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$T_DIR/$n.key" -out "$T_DIR/$n.csr" -subj "/CN=node-$n"
		openssl x509 -req -in "$T_DIR/$n.csr" -CA "$T_DIR/ca.crt" -CAkey "$T_DIR/ca.key" \
			-CAcreateserial -days 1 -out "$T_DIR/$n.crt"
	done
} 2>/dev/null
pki

# node links: veth pairs from A's namespace to B's and C's (198.18.0.0/15)
ip netns add "$NB"
ip netns add "$NC"
ip -n "$NB" link set lo up
ip -n "$NC" link set lo up
ip link add "la$T_ID" netns "$RNS" type veth peer name "lb$T_ID" netns "$NB"
ip link add "lc$T_ID" netns "$RNS" type veth peer name "ld$T_ID" netns "$NC"
ip -n "$RNS" addr add 198.18.1.1/24 dev "la$T_ID"
ip -n "$NB" addr add 198.18.1.2/24 dev "lb$T_ID"
ip -n "$RNS" addr add 198.18.2.1/24 dev "lc$T_ID"
ip -n "$NC" addr add 198.18.2.2/24 dev "ld$T_ID"
for l in "$RNS la$T_ID" "$NB lb$T_ID" "$RNS lc$T_ID" "$NC ld$T_ID"; do
	set -- $l
	ip -n "$1" link set "$2" up
done

# node_start NAME NS TAP ROUTER4 CLIENT4 LINK4 MAC: an access node
node_start() {
	local name=$1 ns=$2 tap=$3 r4=$4 c4=$5 l4=$6 mac=$7 dir=$T_DIR/$1 pid
	mkdir -p "$dir/run"
	cat >"$dir/ternd.yaml" <<EOF
dpdk:
  args: ["--lcores", "0@0,1@1", "--no-pci", "--no-huge", "-m", "256", "--file-prefix", "tern$name$T_ID"]
ports:
  - name: p0
    device: "net_tap_$name$T_ID,iface=$tap"
    ipv4: "$r4/24"
    exception: true
    exception_iface: "x$name$T_ID"
control:
  socket: $dir/run/ternctl.sock
registry: $dir/devices.db
mqttsn:
  admission: osap
node_link:
  address: $l4
  cert: $T_DIR/$name.crt
  key: $T_DIR/$name.key
  ca: $T_DIR/ca.crt
EOF
	ip netns exec "$ns" "$TERND" -c "$dir/ternd.yaml" >"$dir/ternd.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ip -n "$ns" link show "$tap" >/dev/null 2>&1 && [ -S "$dir/run/ternctl.sock" ] && break
		sleep 0.1
	done
	if ! ip -n "$ns" link show "$tap" >/dev/null 2>&1; then
		echo "not ok - node $name started"
		sed 's/^/#   /' "$dir/ternd.log"
		exit 1
	fi
	ip -n "$ns" link set "$tap" netns "$CNS"
	cns ip link set "$tap" address "$mac"
	cns ip addr add "$c4/24" dev "$tap"
	cns ip link set "$tap" up
	eval "PID_${name^^}=$pid"
	ok "access node $name started (pid $pid)"
}
ctlb() { "$TERNCTL" -s "$T_DIR/b/run/ternctl.sock" "$@"; }
ctlc() { "$TERNCTL" -s "$T_DIR/c/run/ternctl.sock" "$@"; }
node_start b "$NB" "tb$T_ID" "$B4" "$BC4" 198.18.1.2 02:00:5e:00:53:12
node_start c "$NC" "tc$T_ID" "$C4" "$CC4" 198.18.2.2 02:00:5e:00:53:13

EXTRA_CONFIG="lbs:
  enabled: true
  tls: false
nodes:
  - {name: b, address: $B4, port: 1883, link_address: 198.18.1.2}
  - {name: c, address: $C4, port: 1883, link_address: 198.18.2.2}
node_link:
  cert: $T_DIR/a.crt
  key: $T_DIR/a.key
  ca: $T_DIR/ca.crt
  interval: 1
  timeout: 3"
tern_start
dev() { cns "$DEV" --lbs "$ROUTER4:4850" --timeout 5 --json "$@"; }
node_of() { j 'r["node"]["addr"] if r["node"] else r["error"]' "$1"; }
up_nodes() { j '" ".join(sorted(n["name"] for n in r["nodes"] if n["state"] == "up"))' "$(ctl --json node.list)"; }
wait_nodes() {
	for _ in $(seq 80); do [ "$(up_nodes)" = "$1" ] && break; sleep 0.1; done
	up_nodes
}

is "both nodes up once their links answer (mutual TLS)" "$(wait_nodes "b c")" "b c"
is "... node.list shows their links up" \
	"$(j '[n["link"] for n in r["nodes"]]' "$(ctl --json node.list)")" "['up', 'up']"

# ---- six devices spread over B and C ----
on_b=() on_c=()
for i in 0 1 2 3 4 5; do
	ctl device.add "D$i" "code-$i" >/dev/null
	r=$(dev --serial "D$i" --code "code-$i" --state "$T_DIR/d$i.json" auth)
	case "$(node_of "$r")" in
	"$B4") on_b+=("$i") ;;
	"$C4") on_c+=("$i") ;;
	*) not_ok "D$i authenticated: $r" ;;
	esac
done
check "six first authentications spread by load: ${#on_b[@]} on B, ${#on_c[@]} on C" \
	test "${#on_b[@]}" -ge 2 -a "${#on_c[@]}" -ge 2
is "... every one admitted over the node link" "$(j 'r["counters"]["admit_remote"]' "$(ctl --json lbs.stats)")" 6
is "... B and C hold the admissions" \
	"$(( $(j 'r["total"]' "$(ctlb --json node.admissions)") + $(j 'r["total"]' "$(ctlc --json node.admissions)") ))" 6

# ---- a sealed publish from a device at B to a device at B ----
s=${on_b[0]} p=${on_b[1]}
dev --state "$T_DIR/d$s.json" subscribe osap/b --count 2 --wait 25 >"$T_DIR/sub.json" 2>&1 &
sub=$!
for _ in $(seq 50); do
	[ "$(j 'sum(a["connected"] for a in r["admissions"])' "$(ctlb --json node.admissions)")" -ge 1 ] && break
	sleep 0.1
done
sleep 1
r=$(dev --state "$T_DIR/d$p.json" publish osap/b "sealed at b")
is "a device re-authenticated lands on B again (sticky by DevID)" "$(node_of "$r")" "$B4"
for _ in $(seq 30); do grep -q '"payload"' "$T_DIR/sub.json" && break; sleep 0.1; done
is "its sealed PUBLISH reaches the subscriber device at B, opened" \
	"$(grep -o '"payload":"[^"]*"' "$T_DIR/sub.json" | head -n 1)" '"payload":"sealed at b"'

# ---- a stolen DevID at B ----
devid_p=$(j 'r["devid"]' "$r")
r=$(cns "$MQ" -h "$B4" -i "$devid_p" pub -t osap/b -m stolen 2>&1)
check "CONNECT with a device's DevID from another address: refused ($r)" \
	bash -c "echo '$r' | grep -q 'not supported'"
r=$(cns "$MQ" -h "$B4" -i not-a-device pub -t osap/b -m x 2>&1)
check "a client id never admitted at an osap node: refused ($r)" \
	bash -c "echo '$r' | grep -q 'not supported'"

# ---- drain B: new devices go to C, the one at B stays undisturbed ----
ctl node.drain b >/dev/null
ctl device.add D6 code-6 >/dev/null
ctl device.add D7 code-7 >/dev/null
r6=$(dev --serial D6 --code code-6 auth)
r7=$(dev --serial D7 --code code-7 auth)
is "B drained: new devices all go to C" "$(node_of "$r6") $(node_of "$r7")" "$C4 $C4"
is "... B still holds the subscriber's session" \
	"$(j 'sum(a["connected"] for a in r["admissions"])' "$(ctlb --json node.admissions)")" 1
# a CoAP client publishes at B (CoAP is not subject to the MQTT-SN admission)
cns coap-client-notls -m put -e "still there" "coap://$B4/ps/osap/b" >/dev/null 2>&1
wait "$sub"
is "the subscriber at B was undisturbed by the drain: it got the next message" \
	"$(grep -o '"payload":"[^"]*"' "$T_DIR/sub.json" | sed -n 2p)" '"payload":"still there"'

# ---- C goes down: health check removes it; no node left, then B again ----
kill -KILL "$PID_C"
wait "$PID_C" 2>/dev/null
PID_C=
is "C killed: the LBS marks it down within node_link.timeout" "$(wait_nodes "")" ""
is "... node.list says c down" "$(j '[n["state"] for n in r["nodes"] if n["name"] == "c"]' "$(ctl --json node.list)")" "['down']"
c=${on_c[0]}
start=$(date +%s%N)
r=$(dev --state "$T_DIR/d$c.json" reauth)
is "B draining and C down: the device gets no_access_node" "$(j 'r["error"]' "$r")" "no_access_node"
check "... at once, not after a hang ($(( ($(date +%s%N) - start) / 1000000 )) ms)" \
	test $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000
ctl node.undrain b >/dev/null
r=$(dev --state "$T_DIR/d$c.json" reauth)
is "B undrained: the device from C re-authenticates and lands on B" "$(node_of "$r")" "$B4"

# ---- node.add / node.remove ----
is "node.remove c" "$(j 'r["name"]' "$(ctl --json node.remove c)")" "c"
is "... gone from node.list" "$(j '[n["name"] for n in r["nodes"]]' "$(ctl --json node.list)")" "['b']"
is "node.add without --link: refused" "$(j 'e["code"]' "$(ctl --json node.add c "$C4:1883")")" "EINVAL"

tern_stop
is "the LBS exits 0" "$T_STATUS" 0
kill -TERM "$PID_B"
wait "$PID_B"
is "node B exits 0 (mbuf audit clean)" "$?" 0
PID_B=
echo "$T_PASS passed, $T_FAIL failed"
[ "$T_FAIL" -eq 0 ]
