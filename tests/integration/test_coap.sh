#!/usr/bin/env bash
# The CoAP node with libcoap's coap-client-notls (and raw datagrams where
# libcoap cannot be made to misbehave), two workers, IPv4 and IPv6:
# discovery (/.well-known/core, the collection, rt filters), publish with
# PUT/POST, read the latest value, DELETE it, observe with notifications
# from CoAP and MQTT-SN publishers, CoAP publications reaching MQTT-SN
# subscribers, Block2 for a large value, errors (4.04, 4.00, 4.02, 4.05,
# 5.05), ping, duplicate CONs, CON notifications retransmitted and an
# observer that never ACKs removed; what ternd sends goes through tshark's
# CoAP dissector. No mbuf leak, no sanitizer report.
. "$(dirname "$0")/lib.sh"
WORKERS=2
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" -h "$ROUTER4" "$@"; }
cc() { cns timeout 20 coap-client-notls -B 5 "$@"; }
U=coap://$ROUTER4
EXTRA_CONFIG="mqttsn:
  max_message_size: 4096
coap:
  ack_timeout_ms: 300
  max_retransmit: 2
  notify_con_every: 3"
tern_start
cap=$T_DIR/coap.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 5683" -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done

# raw.py HEX...: send each CoAP message (hex) from one socket, print each answer's hex
raw() {
	cns python3 - "$ROUTER4" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 5683))
out = []
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
    try:
        out.append(s.recv(2048).hex())
    except socket.timeout:
        out.append("-")
print(" ".join(out))
PY
}

# ---- discovery, publish, read ----
is "discovery before any topic: the collection" "$(cc $U/.well-known/core)" '</ps>;rt="core.ps.coll";ct=40'
check "PUT publishes (2.04)" cc -m put -t 0 -e "21.5" $U/ps/sensors/temp
is "GET reads the latest value" "$(cc $U/ps/sensors/temp)" "21.5"
check "POST publishes too" cc -m post -t 50 -e '{"t":22}' $U/ps/sensors/json
is "... with its Content-Format kept" "$(cc -v 6 $U/ps/sensors/json 2>&1 | grep -o 'c:2.05 .*Content-Format:[a-z/]*' | grep -o 'Content-Format:.*')" "Content-Format:application/json"
is "the collection lists each topic's topic resource and topic-data resource" "$(cc $U/ps)" \
	'</ps/$conf/sensors/temp>;rt="core.ps.conf";ct=606,</ps/sensors/temp>;rt="core.ps.data";obs,</ps/$conf/sensors/json>;rt="core.ps.conf";ct=606,</ps/sensors/json>;rt="core.ps.data";obs'
is "... the topic-data resources alone with ?rt=core.ps.data" "$(cc "$U/ps?rt=core.ps.data")" \
	'</ps/sensors/temp>;rt="core.ps.data";obs,</ps/sensors/json>;rt="core.ps.data";obs'
is "/.well-known/core filtered by rt" "$(cc "$U/.well-known/core?rt=core.ps.coll")" '</ps>;rt="core.ps.coll";ct=40'
is "... and by href prefix" "$(cc "$U/.well-known/core?href=/ps/sensors/t*")" '</ps/sensors/temp>;rt="core.ps.data";obs'
is "IPv6 works the same" "$(cns timeout 20 coap-client-notls -B 5 "coap://[$ROUTER6]/ps/sensors/temp")" "21.5"

# a GET right after a PUT's answer sees the value: the 2.04 waits for the table
n=0
for i in 1 2 3 4 5 6 7 8; do
	cc -m put -e "v$i" $U/ps/rw/$i >/dev/null && [ "$(cc $U/ps/rw/$i)" = "v$i" ] && n=$((n + 1))
	cc -m put -e "w$i" $U/ps/rw/$i >/dev/null && [ "$(cc $U/ps/rw/$i)" = "w$i" ] && n=$((n + 1))
done
is "a GET right after the 2.04 sees the value, new topic or not (16 tries)" "$n" 16

# ---- errors ----
code() { cc -v 6 "$@" 2>&1 | grep -o -E '^v:1 t:[A-Z]+ c:[0-9]\.[0-9]+' | head -1 | awk '{print $3}'; }
code1() { cc "$@" 2>&1 | grep -o -E '^[0-9]\.[0-9]{2}' | head -1; }
is "GET of an unknown topic: 4.04" "$(code1 $U/ps/nope)" "4.04"
is "GET outside the collection: 4.04" "$(code1 $U/other)" "4.04"
is "a topic name with a wildcard: 4.00" "$(code1 "$U/ps/a/%2B")" "4.00"
is "PUT on the collection: 4.05" "$(code1 -m put -e x $U/ps)" "4.05"
is "an unknown critical option: 4.02" "$(code1 -O 9,x $U/ps/sensors/temp)" "4.02"
is "Proxy-Uri: 5.05" "$(code1 -O 35,coap://elsewhere/x $U/ps/sensors/temp)" "5.05"
before=$(counter coap_pings)
r=$(raw 40000077)
is "a ping (empty CON) gets RST" "$r" "70000077"
is "... counted" "$(( $(counter coap_pings) - before ))" 1
r=$(raw 4f010001)
is "a CON with a reserved token length gets RST" "$r" "70000001"
is "... counted as coap_err_tkl" "$(counter coap_err_tkl)" 1
# the same CON PUT twice: the same answer twice, published once
pub=$(counter coap_published)
req=$(python3 -c 'import sys
tok=b"\x7a\x1b"; path=[b"ps", b"sensors", b"tmp1"]
m=bytes([0x42, 0x03, 0xab, 0xcd]) + tok
last=0
for seg in path:
    m += bytes([((11-last) << 4) | len(seg)]) + seg; last = 11
m += b"\xff99"
print(m.hex())')
r=$(raw "$req" "$req")
is "a duplicate CON gets the same answer" "$(echo "$r" | awk '{print ($1 == $2) ? "same" : $0}')" "same"
is "... a 2.01 (the topic's first value) piggybacked in the ACK" "$(echo "$r" | cut -c1-8)" "6241abcd"
is "... and is not handled twice" "$(( $(counter coap_published) - pub ))" 1
is "... counted as a duplicate" "$(counter coap_duplicates)" 1

# ---- observe, cross-protocol ----
cns timeout 12 coap-client-notls -B 10 -s 8 $U/ps/sensors/temp >"$T_DIR/obs.out" 2>&1 &
obsc=$!
mq -i m-sub sub -t "sensors/#" -c 5 --wait 10 >"$T_DIR/msub.out" 2>/dev/null &
msub=$!
wait_counter coap_observes 1 >/dev/null
wait_counter mqttsn_tx_suback 1 >/dev/null
sleep 0.5
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}
r=$(ctl --json coap.observers sensors/temp)
is "coap.observers shows the observer" "$(j '[(o["topic"], o["address"], o["state"]) for o in r["observers"]]' "$r")" \
	"[('sensors/temp', '$CLIENT4', 'active')]"
r=$(ctl --json topic.show sensors/temp)
is "topic.show lists the observer as a coap subscriber next to the MQTT-SN one" \
	"$(j 'sorted(x["protocol"] for v in r["delivery"].values() for x in v)' "$r")" "['coap', 'mqttsn']"
r=$(ctl --json coap.observers sensors/nothing)
is "... and none for another topic" "$(j 'r["total"]' "$r")" 0
r=$(ctl --json coap.endpoints)
check "coap.endpoints lists the peers, one of them observing" \
	test "$(j 'sum(e["observers"] for e in r["endpoints"])' "$r")" = 1
check "coap.endpoints, human" bash -c "'$TERNCTL' -s '$T_DIR/run/ternctl.sock' coap.endpoints | grep -q '$CLIENT4'"
cc -m put -e "23.0" $U/ps/sensors/temp
mq -i m-pub pub -t sensors/temp -m "24.5"
wait "$msub"
is "an MQTT-SN subscriber gets the CoAP values (retained) and publications, and the MQTT-SN one" \
	"$(sort "$T_DIR/msub.out" | tr '\n' ' ')" 'sensors/json {"t":22} sensors/temp 21.5 sensors/temp 23.0 sensors/temp 24.5 sensors/tmp1 99 '
wait "$obsc"
is "the observer got the value, then both publications" "$(cat "$T_DIR/obs.out")" "21.523.024.5"
check "notifications counted" test "$(counter coap_notifications)" -ge 2

# ---- Block2: a value larger than a block ----
# (one datagram: the router does not reassemble IP fragments)
big=$(python3 -c 'print("".join("%04d," % i for i in range(240)))')
mq -i big-pub pub -t sensors/big -r -m "$big"
sleep 0.3
is "a 1200-byte value comes block-wise, whole" "$(cc -b 256 $U/ps/sensors/big)" "$big"
check "... in 256-byte blocks" bash -c "cns() { ip netns exec $CNS \"\$@\"; }; cns timeout 20 coap-client-notls -B 5 -b 256 -v 7 $U/ps/sensors/big 2>&1 | grep -q 'Block2:3/M/256'"

# ---- Block1: a publication in blocks ----
up=$(python3 -c 'print("".join("%04d," % i for i in range(200)))')
twoxx=$(counter coap_tx_2xx)
r=$(cc -b 64 -m put -e "$up" -v 6 $U/ps/up 2>&1 | grep -a -o -E 'c:2\.01 .*Block1:[0-9]+/[_M]/64' | sed 's/ i:.*\[//')
is "a 1000-byte PUT in 64-byte blocks: 2.01 (a new topic) for the last (block 15)" "$r" "c:2.01 Block1:15/_/64"
is "... after 15 x 2.31 Continue" "$(( $(counter coap_tx_2xx) - twoxx ))" 16
is "... published whole" "$(cc $U/ps/up)" "$up"
is "... counted" "$(counter coap_block1)" 1
b1=$(python3 -c 'import sys
m=bytes([0x42, 0x03, 0x33, 0x44, 0x0b, 0x0c]) + bytes([0xb2]) + b"ps" + bytes([0x02]) + b"up"
m += bytes([0xd1, 16 - 13, (3 << 4) | (1 << 3) | 2])      # Block1 27: num 3, M, 64 bytes
print((m + b"\xff" + b"x" * 64).hex())')
r=$(raw "$b1")
is "a Block1 block out of order: 4.08" "$(echo "$r" | cut -c1-4)" "6288"
is "... counted" "$(counter coap_incomplete)" 1
huge=$(python3 -c 'print("y" * 3000)')
is "an upload larger than the node takes: 4.13" "$(code1 -b 1024 -m put -e "$huge" $U/ps/up)" "4.13"

# ---- DELETE ----
check "DELETE the value (2.02)" cc -m delete $U/ps/sensors/temp
is "GET after DELETE: 4.04, no value (half created)" "$(code1 $U/ps/sensors/temp)" "4.04"

# ---- an observer that never ACKs its CON notifications ----
cat >"$T_DIR/deaf.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.connect((sys.argv[1], 5683))
tok = b"\x01\x02"
m = bytes([0x42, 0x01, 0x10, 0x01]) + tok + bytes([0x60]) + bytes([0x52]) + b"ps" + bytes([0x04]) + b"deaf"
s.send(m)
got = []
end = time.time() + 6
while time.time() < end:
    try:
        d = s.recv(2048)
    except socket.timeout:
        continue
    got.append(d[0] >> 4 & 3)     # type: 0 CON, 1 NON, 2 ACK
print(" ".join(map(str, got)))
PY
check "PUT creates the topic deaf" cc -m put -e d0 $U/ps/deaf
cns python3 "$T_DIR/deaf.py" "$ROUTER4" >"$T_DIR/deaf.out" &
deaf=$!
wait_counter coap_observes 2 >/dev/null
sleep 0.5
for i in 1 2 3; do cc -m put -e "d$i" $U/ps/deaf; done
wait "$deaf"
check "CON notifications were retransmitted ($(cat "$T_DIR/deaf.out"))" test "$(counter coap_retransmit)" -ge 2
is "... then the observer was removed" "$(counter coap_con_failed)" 1

# an RST with a message id no notification had does not end an observation
ended=$(counter coap_obs_ended)
r=$(raw 41010201e160527073077365$(printf 'nsors' | xxd -p)0474656d70 70000000)
is "an observation registered, then a stray RST (mid 0)" "$(echo "$r" | cut -c1-8) $(echo "$r" | awk '{print $2}')" "61450201 -"
is "... leaves it in place" "$(( $(counter coap_obs_ended) - ended ))" 0

# ---- what ternd sent, through Wireshark's CoAP dissector ----
sleep 0.5
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
from_router="ip.src==$ROUTER4 || ipv6.src==$ROUTER6"
n=$(tshark -r "$cap" -Y "coap && ($from_router)" 2>/dev/null | wc -l)
check "tshark decodes ternd's CoAP messages ($n)" test "$n" -gt 30
tshark_clean "$cap"

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
