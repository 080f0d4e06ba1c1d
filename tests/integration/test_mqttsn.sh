#!/usr/bin/env bash
# MQTT-SN end to end: ternd as gateway and broker on net_tap, driven by
# tern-mqttsn from the client namespace over IPv4 and IPv6: exact and
# wildcard subscriptions (the gateway registers topic ids first), QoS -1, 0
# and 1, short topic names, fan-out, publishers and subscribers on different
# workers, malformed and out-of-order input counted and dropped, keep-alive
# expiry; what ternd sends is checked with tshark's MQTT-SN dissector, and
# no mbuf leaks.
. "$(dirname "$0")/lib.sh"
WORKERS=2
RX_QUEUES=1
tern_init "$@"
MQ=$(dirname "$TERND")/../tests/tools/tern-mqttsn
[ -x "$MQ" ] || MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
tern_start

cap=$T_DIR/mqttsn.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 1883" -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done

mq() { cns "$MQ" "$@"; }

# sub_start NAME ARGS...: a subscriber in the background, output in $T_DIR/NAME.out
# Returns once ternd has sent the subscriber its SUBACK.
sub_start() {
	local name=$1 subacks
	shift
	subacks=$(counter mqttsn_tx_suback)
	mq "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	eval "pid_$name=$!"
	wait_counter mqttsn_tx_suback $((subacks + 1)) >/dev/null
}
sub_wait() {
	local pid
	eval "pid=\$pid_$1"
	wait "$pid"
}

# --- exact subscription, QoS 0, IPv4 ---
sub_start s1 -h $ROUTER4 -i s1 sub -t sensors/t1 -c 1 --wait 10
check "QoS 0 publish over IPv4 is accepted" mq -h $ROUTER4 -i p1 pub -t sensors/t1 -m "21.5"
sub_wait s1
is "the exact subscriber got it" "$(cat "$T_DIR/s1.out")" "sensors/t1 21.5"

# --- IPv6 ---
sub_start s6 -h $ROUTER6 -i s6 sub -t sensors/t6 -c 1 --wait 10
check "QoS 0 publish over IPv6 is accepted" mq -h $ROUTER6 -i p6 pub -t sensors/t6 -m "v6"
sub_wait s6
is "the IPv6 subscriber got it" "$(cat "$T_DIR/s6.out")" "sensors/t6 v6"

# --- wildcards: '+' and '#', topics new to the subscriber (gateway REGISTER) ---
sub_start w1 -h $ROUTER4 -i w1 sub -t "room/+/temp" -c 2 --wait 10
sub_start w2 -h $ROUTER6 -i w2 sub -t "room/#" -c 3 --wait 10
mq -h $ROUTER4 -i pw -q 1 pub -t room/1/temp -m a >/dev/null
mq -h $ROUTER4 -i pw -q 1 pub -t room/2/temp -m b >/dev/null
mq -h $ROUTER4 -i pw -q 1 pub -t room/2/hum -m c >/dev/null
sub_wait w1
sub_wait w2
is "'+' subscriber got its two topics" "$(sort "$T_DIR/w1.out" | tr '\n' ' ')" "room/1/temp a room/2/temp b "
is "'#' subscriber got all three" "$(sort "$T_DIR/w2.out" | tr '\n' ' ')" "room/1/temp a room/2/hum c room/2/temp b "

# --- QoS 1 both ways ---
sub_start q1 -h $ROUTER4 -i q1 -q 1 sub -t alarms/door -c 1 --wait 10
check "QoS 1 publish gets its PUBACK" mq -h $ROUTER4 -i pq -q 1 pub -t alarms/door -m open
sub_wait q1
is "QoS 1 subscriber got it" "$(cat "$T_DIR/q1.out")" "alarms/door open"

# --- QoS 2 both ways: exactly once ---
sub_start x2 -h $ROUTER4 -i x2 -q 2 --json sub -t meter/kwh -c 1 --wait 10
check "QoS 2 publish completes (PUBREC, PUBREL, PUBCOMP)" mq -h $ROUTER4 -i px -q 2 pub -t meter/kwh -m 42
sub_wait x2
is "QoS 2 subscriber got it at QoS 2" \
	"$(python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["topic"], m["payload"], m["qos"])' "$T_DIR/x2.out")" \
	"meter/kwh 42 2"
check "ternd sent PUBREL to the QoS 2 subscriber and got its PUBCOMP" \
	test "$(counter mqttsn_tx_pubrel)" -ge 1 -a "$(counter mqttsn_rx_pubcomp)" -ge 1
# a duplicate QoS 2 PUBLISH (same msg id, DUP) before PUBREL is routed once
sub_start d2 -h $ROUTER4 -i d2 sub -t dup/test -c 2 --wait 4
r=$(cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("080404010078") + b"dq"); s.recv(10)                 # CONNECT "dq"
s.send(bytes([14, 0x0a, 0, 0, 0, 1]) + b"dup/test"); ra = s.recv(10)        # REGISTER
tid = ra[2:4]
s.send(bytes([9, 0x0c, 0x40]) + tid + bytes([0, 9]) + b"hi")               # PUBLISH QoS 2, id 9
a = s.recv(10).hex()
s.send(bytes([9, 0x0c, 0xc0]) + tid + bytes([0, 9]) + b"hi")               # again, DUP
b = s.recv(10).hex()
s.send(bytes.fromhex("04100009")); c = s.recv(10).hex()                    # PUBREL -> PUBCOMP
s.send(bytes.fromhex("0218")); s.recv(10)
print(a, b, c)
PY
)
is "duplicate QoS 2 PUBLISH: PUBREC twice, PUBCOMP on PUBREL" "$r" "040f0009 040f0009 040e0009"
sub_wait d2
is "the duplicate was routed once" "$(wc -l <"$T_DIR/d2.out")" 1

# --- retained messages: stored, delivered on subscribe, deleted by an empty one ---
check "retained publish accepted" mq -h $ROUTER4 -i pr -q 1 pub -t status/dev1 -m online -r
sleep 0.3
sub_start r1 -h $ROUTER4 -i r1 --json sub -t status/dev1 -c 1 --wait 5
sub_start r2 -h $ROUTER6 -i r2 sub -t "status/#" -c 1 --wait 5
sub_wait r1
sub_wait r2
is "a new exact subscriber gets the retained message, flagged retained" \
	"$(python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["topic"], m["payload"], m["retain"])' "$T_DIR/r1.out")" \
	"status/dev1 online True"
is "a new wildcard subscriber gets it too" "$(cat "$T_DIR/r2.out")" "status/dev1 online"
check "an empty retained publish deletes it" mq -h $ROUTER4 -i pr -q 1 pub -t status/dev1 -m "" -r
sleep 0.3
sub_start r3 -h $ROUTER4 -i r3 sub -t status/dev1 --wait 1.5
sub_wait r3
is "a subscriber after the deletion gets nothing" "$(cat "$T_DIR/r3.out")" ""

# --- fan-out over many flows: subscribers land on both workers ---
for i in 1 2 3 4 5 6; do sub_start f$i -h $ROUTER4 -i f$i sub -t fan/out -c 1 --wait 10; done
check "fan-out publish accepted" mq -h $ROUTER4 -i pf pub -t fan/out -m many
got=0
for i in 1 2 3 4 5 6; do sub_wait f$i; [ "$(cat "$T_DIR/f$i.out")" = "fan/out many" ] && got=$((got + 1)); done
is "all 6 subscribers got the publication" "$got" 6
[ "$got" -eq 6 ] || for i in 1 2 3 4 5 6; do echo "# f$i: $(cat "$T_DIR/f$i.out") | $(tr '\n' ' ' <"$T_DIR/f$i.err")"; done
check "publications crossed workers (mqttsn_forwarded > 0)" test "$(counter mqttsn_forwarded)" -gt 0

# --- short topic names, and QoS -1 (no connection) ---
sub_start sh -h $ROUTER4 -i sh sub --short ab -c 2 --wait 10
check "QoS 0 publish to a short topic" mq -h $ROUTER4 -i ps pub --short ab -m short0
check "QoS -1 publish to a short topic, no CONNECT" mq -h $ROUTER4 -q -1 pub --short ab -m minus1
sub_wait sh
is "short-topic subscriber got both" "$(tr '\n' ' ' <"$T_DIR/sh.out")" "ab short0 ab minus1 "

# --- bad input: each counted, dropped or answered as the spec says ---
raw() {
	# raw HEX [EXPECT_REPLY]: send one datagram from a fresh socket, print the reply (hex) or ""
	cns python3 - "$ROUTER4" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.connect((sys.argv[1], 1883)); s.send(bytes.fromhex(sys.argv[2]))
try:
    print(s.recv(100).hex())
except (socket.timeout, ConnectionRefusedError):
    print("")
PY
}
declare -A bad=(
	[0a0c00000100]="mqttsn_err_length"            # length field bigger than the datagram
	[020c0000010068]="mqttsn_err_length"          # length field smaller than the datagram
	[01]="mqttsn_err_short"                       # a 1-byte datagram
	[0102]="mqttsn_err_short"                     # 0x01 length form with nothing after it
	[0499aabb]="mqttsn_err_type"                  # unknown message type
	[0a04040200 3c6e6f7065]="mqttsn_bad_proto"    # CONNECT with protocol id 2
	[06040401003c]="mqttsn_err_empty"             # CONNECT without a client id
	[050a000000]="mqttsn_err_truncated"           # REGISTER cut short
	[060a00000001]="mqttsn_err_empty"             # REGISTER of an empty topic name
	[090a0000000161 2f62]="mqttsn_no_session"     # REGISTER before CONNECT
	[090c000001000068 69]="mqttsn_no_session"     # PUBLISH QoS 0 before CONNECT
	[041c6869]="mqttsn_no_session"                # WILLMSGUPD before CONNECT
	[04100007]="mqttsn_no_session"                # PUBREL from a stranger
)
for hex in "${!bad[@]}"; do
	c=${bad[$hex]}
	before=$(counter "$c")
	r=$(raw "${hex// /}")
	after=$(wait_counter "$c" $((before + 1)))
	is "datagram ${hex// /} counted as $c" "$((after - before))" 1
	is "datagram ${hex// /} got no answer" "$r" ""
done
# a wildcard in a PUBLISH topic: REGISTER of "a/+" is refused
r=$(cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("0804040100 3c7778".replace(" ", "")))   # CONNECT "wx"
s.recv(10)
s.send(bytes.fromhex("090a00000005612f2b"))                   # REGISTER "a/+"
print(s.recv(100).hex())
s.send(bytes.fromhex("090c000077000568 69".replace(" ", "")))  # PUBLISH on unknown id 0x77
print(s.recv(100).hex())
s.send(bytes.fromhex("04100009"))                             # PUBREL, unknown msg id
print(s.recv(100).hex())
s.send(bytes.fromhex("0218"))
print(s.recv(100).hex())
PY
)
is "REGISTER of a name with a wildcard: REGACK rejected: invalid topic ID" "$(sed -n 1p <<<"$r")" "070b0000000502"
is "PUBLISH on an unknown topic id: PUBACK rejected: invalid topic ID" "$(sed -n 2p <<<"$r")" "070d0077000502"
is "PUBREL for an unknown message id: PUBCOMP (lets the client finish), counted" "$(sed -n 3p <<<"$r")" "040e0009"
is "DISCONNECT answered" "$(sed -n 4p <<<"$r")" "0218"
check "the unexpected PUBREL was counted" test "$(counter mqttsn_unexpected)" -ge 1
# an over-long client id (24 bytes): CONNACK rejected
r=$(raw "1e040401003c$(python3 -c 'print((b"a" * 24).hex())')")
is "CONNECT with a 24-byte client id: CONNACK rejected: not supported" "$r" "030503"

# --- keep-alive: a client silent for 1.5 x its keep-alive is lost ---
lost0=$(counter mqttsn_lost)
cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("0804040100016b61"))   # CONNECT keep-alive 1 s, client "ka"
s.recv(10)
PY
sleep 2.5
is "a silent client is lost after 1.5 x keep-alive" "$(( $(counter mqttsn_lost) - lost0 ))" 1

check "no delivery failed" test "$(counter mqttsn_deliver_failed)" -eq 0
check "no retransmission was needed" test "$(counter mqttsn_retransmit)" -eq 0

# --- what ternd sent, through Wireshark's MQTT-SN dissector ---
sleep 0.5
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
from_router="ip.src==$ROUTER4 || ipv6.src==$ROUTER6"
nmq=$(tshark -r "$cap" -d udp.port==1883,mqttsn -Y "mqttsn && ($from_router)" 2>/dev/null | wc -l)
check "tshark decodes ternd's MQTT-SN messages ($nmq)" test "$nmq" -gt 40
tshark_clean "$cap" -d udp.port==1883,mqttsn
types=$(tshark -r "$cap" -d udp.port==1883,mqttsn -Y "$from_router" -T fields -e mqttsn.msg.type 2>/dev/null | sort -u | tr '\n' ' ')
check "ternd sent CONNACK, REGACK, SUBACK, REGISTER, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP ($types)" \
	bash -c "for t in 0x05 0x0b 0x13 0x0a 0x0c 0x0d 0x0f 0x10 0x0e; do grep -q \"\$t\" <<<'$types' || exit 1; done"

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
