#!/usr/bin/env bash
# MQTT-SN gateway discovery (spec 5.4.1, 6.1): ternd sends ADVERTISE (its
# gateway id, the interval as Duration) every mqttsn.advertise_interval
# seconds from worker 0 only, to an IPv4 broadcast and, in a second run, to
# ff02::1 (Ethernet broadcast / 33:33:00:00:00:01, hop limit 255), from and
# to the MQTT-SN port; tern-mqttsn listen hears them, tern-mqttsn search
# gets GWINFO with the same gateway id; tshark decodes them cleanly; the
# mqttsn_tx_advertise counter agrees; no mbuf leaks.
. "$(dirname "$0")/lib.sh"
WORKERS=2
tern_init "$@"
MQ=$(dirname "$TERND")/../tests/tools/tern-mqttsn
[ -x "$MQ" ] || MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" "$@"; }

# config ADDRESS: the mqttsn section of this run
config() {
	EXTRA_CONFIG="mqttsn:
  gateway_id: 42
  advertise_address: $1
  advertise_interval: 2"
}

# capture_start NAME / capture_stop: tshark on the client side of the tap
capture_start() {
	cap=$T_DIR/$1.pcap
	# not through cns(): $! must be tshark itself, or the kill misses it
	ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 1883" -w "$cap" >/dev/null 2>&1 &
	tshark_pid=$!
	for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done
}
capture_stop() {
	sleep 0.3
	kill "$tshark_pid" 2>/dev/null
	wait "$tshark_pid" 2>/dev/null
}
# adv_fields FIELD...: one line per ADVERTISE ternd sent, the fields tab-separated
adv_fields() {
	local f a=()
	for f in "$@"; do a+=(-e "$f"); done
	tshark -r "$cap" -d udp.port==1883,mqttsn -Y "mqttsn.msg.type == 0x00" -T fields \
		"${a[@]}" 2>/dev/null
}

# listen_check LABEL FROM LISTEN-ARGS...: two ADVERTISEs within 6 s, from FROM
listen_check() {
	local label=$1 from=$2 st
	shift 2
	mq listen "$@" -c 2 --wait 6 --json >"$T_DIR/listen.out" 2>"$T_DIR/listen.err"
	st=$?
	is "$label: listen hears two ADVERTISEs within 6 s" "$st" 0
	check "$label: gateway id 42, duration 2, from $from port 1883" python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
want = {"type": "advertise", "gw_id": 42, "duration": 2, "from": sys.argv[2], "port": 1883}
assert len(objs) == 2 and all(o == want for o in objs), objs' "$T_DIR/listen.out" "$from"
	[ "$st" -eq 0 ] || sed 's/^/#   /' "$T_DIR/listen.out" "$T_DIR/listen.err"
}

# wire_check LABEL ETH_DST IP_FIELD IP_DST [HOP_FIELD HOP]: what the capture holds
wire_check() {
	local label=$1 eth=$2 ipf=$3 ip=$4 n nbad gaps
	n=$(adv_fields frame.number | wc -l)
	check "$label: ADVERTISEs captured ($n)" test "$n" -ge 2
	is "$label: all to $eth, $ip, UDP 1883 -> 1883, gateway 42, duration 2" \
		"$(adv_fields eth.dst "$ipf" udp.srcport udp.dstport mqttsn.gw.id mqttsn.adv.interv | sort -u)" \
		"$(printf '%s\t%s\t1883\t1883\t42\t2' "$eth" "$ip")"
	if [ $# -ge 6 ]; then
		is "$label: $5 $6" "$(adv_fields "$5" | sort -u)" "$6"
	fi
	nbad=$(tshark -r "$cap" -d udp.port==1883,mqttsn -o udp.check_checksum:TRUE \
		-Y "mqttsn.msg.type == 0x00 && (_ws.malformed || _ws.expert.severity >= 0x600000 || udp.checksum.status == 0)" \
		2>/dev/null | wc -l)
	is "$label: tshark decodes every ADVERTISE, no malformed packet or bad checksum" "$nbad" 0
	gaps=$(adv_fields frame.time_epoch | python3 -c '
import sys
t = [float(l) for l in sys.stdin]
print(" ".join("%.2f" % (b - a) for a, b in zip(t, t[1:])))')
	check "$label: one ADVERTISE every 2 s ($gaps)" python3 -c '
import sys
g = [float(x) for x in sys.argv[1].split()]
assert g and all(1.5 <= x <= 2.6 for x in g), g' "$gaps"
	# only worker 0 sends: one copy per round
	is "$label: worker 0 sends them all, worker 1 none" \
		"$(worker_counters mqttsn_tx_advertise | awk '{print ($1 >= 2) "," $2}')" "1,0"
	check "$label: mqttsn_tx_advertise counts at least what was captured" \
		test "$(counter mqttsn_tx_advertise)" -ge "$n"
	is "$label: no ADVERTISE failed to build" "$(counter mqttsn_deliver_failed)" 0
}

# search_check LABEL ROUTER BROADCAST: SEARCHGW to the router, then to a
# broadcast or multicast address (spec 6.1): GWINFO comes from the router
search_check() {
	local out
	out=$(mq search -h "$2" --timeout 1)
	is "$1: search gets GWINFO from gateway 42" "$out" "gateway 42 from $2 port 1883"
	check "$1: GWINFO counted" test "$(counter mqttsn_tx_gwinfo)" -ge 1
	out=$(mq search -h "$3" --timeout 1)
	is "$1: a search sent to $3 is answered too" "$out" "gateway 42 from $2 port 1883"
	check "$1: ... counted as udp_bcast" test "$(counter udp_bcast)" -ge 1
}

stop_check() {
	tern_stop
	is "$1: ternd exits 0" "$T_STATUS" 0
	check "$1: mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
	check "$1: no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
}

# --- IPv4: the limited broadcast ---
config 255.255.255.255
tern_start
capture_start adv4
listen_check IPv4 "$ROUTER4" -p 1883
search_check IPv4 "$ROUTER4" 192.0.2.255
capture_stop
wire_check IPv4 ff:ff:ff:ff:ff:ff ip.dst 255.255.255.255
stop_check IPv4

# --- IPv6: all nodes, link scope ---
config ff02::1
tern_start
capture_start adv6
listen_check IPv6 "$ROUTER6" -h ff02::1 -p 1883
search_check IPv6 "$ROUTER6" "ff02::1%$TAP"
capture_stop
wire_check IPv6 33:33:00:00:00:01 ipv6.dst ff02::1 ipv6.hlim 255
# an IPv4 listener hears nothing: the router advertises where it was told to only
mq listen -p 1883 -c 1 --wait 3 >/dev/null 2>&1
is "IPv6: no ADVERTISE to IPv4" "$?" 1
stop_check IPv6
tern_done
