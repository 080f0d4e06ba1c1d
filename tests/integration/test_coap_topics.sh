#!/usr/bin/env bash
# Topic resources of the CoAP pub/sub broker (draft-ietf-core-coap-pubsub):
# creating a topic with a configuration (POST on the collection), reading it
# (GET, FETCH), updating it (POST, iPATCH), deleting it; the properties at
# work: topic-content-format (4.15), max-subscribers (an observation
# refused without Observe, extra observers ended), observer-check (CON
# notifications), expiration-date, initialize; the topic lifecycle (no
# value: 4.04, first publication: 2.01, observers end with 4.04 when the
# topic or its value is deleted); FETCH on the collection; MQTT-SN
# subscribers unaffected. Driven by coap-client-notls, checked with tshark.
. "$(dirname "$0")/lib.sh"
WORKERS=2
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" -h "$ROUTER4" "$@"; }
cc() { cns timeout 20 coap-client-notls -B 5 "$@"; }
U=coap://$ROUTER4
C=$U/ps/\$conf     # topic resources
EXTRA_CONFIG="coap:
  notify_con_every: 1000
  rate_limit: 20"
tern_start
cap=$T_DIR/coap.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 5683" -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done

# cbor 'PYTHON-LITERAL': its CBOR encoding in hex (ints, str, bytes, lists,
# dicts, ("tag", N, value)); deterministic like the node's.
cbor() {
	python3 - "$1" <<'PY'
import sys, time
def head(mt, n):
    if n < 24: return bytes([mt << 5 | n])
    for ai, w in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * w): return bytes([mt << 5 | ai]) + n.to_bytes(w, "big")
def enc(v):
    if isinstance(v, tuple): return head(6, v[1]) + enc(v[2])
    if isinstance(v, int): return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, str): b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, list): return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict): return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
print(enc(eval(sys.argv[1], {"now": int(time.time())})).hex())
PY
}
# payload HEX: a file holding those bytes (for coap-client -f)
payload() { local f; f=$(mktemp -p "$T_DIR"); echo -n "$1" | xxd -r -p >"$f"; echo "$f"; }
# body ARGS...: the response payload, in hex
body() { local f; f=$(mktemp -p "$T_DIR"); cc -o "$f" "$@" >/dev/null 2>&1; xxd -p "$f" | tr -d '\n'; }
j() { python3 -c 'import json,sys; r=json.loads(sys.argv[2])["result"]; print(eval(sys.argv[1]))' "$1" "$2"; }
code1() { cc "$@" 2>&1 | grep -a -o -E '^[0-9]\.[0-9]{2}' | head -1; }
# opts ARGS...: the options of the response, as coap-client -v 7 prints them
opts() { cc -v 7 "$@" 2>&1 | grep -a -E '^v:1 t:(ACK|NON|CON) c:[2-5]' | head -1 | grep -o '\[.*\]'; }

# ---- create ----
conf=$(cbor '{0: "room/temp", 2: "core.ps.data", 3: 0, 4: "temperature"}')
full=$(cbor '{0: "room/temp", 1: "/ps/room/temp", 2: "core.ps.data", 3: 0, 4: "temperature", 7: 86400}')
f=$(payload "$conf")
o=$(opts -m post -t 606 -f "$f" $U/ps)
check "POST of a configuration on the collection creates the topic: 2.01 ($o)" \
	bash -c "echo '$o' | grep -q 'Location-Path:ps, Location-Path:\$conf, Location-Path:room, Location-Path:temp'"
is "a second creation with the same name: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
is "GET on the topic resource: the configuration, with the data URI the broker chose" \
	"$(body "$C/room/temp")" "$full"
check "... as application/core-pubsub+cbor (606)" bash -c "echo '$(opts "$C/room/temp")' | grep -q 'Content-Format:606'"
is "the counter" "$(counter coap_topics_created)" 1
is "the collection lists the topic resource and the topic-data resource" "$(cc $U/ps)" \
	'</ps/$conf/room/temp>;rt="core.ps.conf";ct=606,</ps/room/temp>;rt="core.ps.data";obs'
is "... and ?rt=core.ps.data the data resources only" "$(cc "$U/ps?rt=core.ps.data")" \
	'</ps/room/temp>;rt="core.ps.data";obs'
f=$(payload "$(cbor '{0: "bad", 2: "core.ps.data", 9: 1}')")
is "an unknown property: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
f=$(payload "$(cbor '{0: "bad"}')")
is "no resource-type: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
f=$(payload "$(cbor '{0: "bad", 2: "core.ps.data", 1: "coap://elsewhere/x"}')")
is "a topic-data URI the broker does not host: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
f=$(payload "$(cbor '{0: "a/+", 2: "core.ps.data"}')")
is "a name with a wildcard: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
is "properties in JSON: 4.15" "$(code1 -m post -t 50 -e '{"0":"x"}' $U/ps)" "4.15"
is "not CBOR at all: 4.00" "$(code1 -m post -t 606 -e 'hello' $U/ps)" "4.00"

# ---- lifecycle: half created, then fully created ----
is "GET on the topic-data before any publication: 4.04 (half created)" "$(code1 $U/ps/room/temp)" "4.04"
is "a publication in another Content-Format than the topic's: 4.15" \
	"$(code1 -m put -t 50 -e '{"t":1}' $U/ps/room/temp)" "4.15"
check "... counted" test "$(counter coap_bad_format)" -ge 2
check "the first publication: 2.01 Created" bash -c "cns() { ip netns exec $CNS \"\$@\"; }; cns coap-client-notls -B 5 -v 7 -m put -t 0 -e 20.5 $U/ps/room/temp 2>&1 | grep -a -q 'c:2.01'"
check "the next one: 2.04 Changed" bash -c "cns() { ip netns exec $CNS \"\$@\"; }; cns coap-client-notls -B 5 -v 7 -m put -t 0 -e 21.0 $U/ps/room/temp 2>&1 | grep -a -q 'c:2.04'"
is "GET reads it" "$(cc $U/ps/room/temp)" "21.0"

# ---- ETag, If-Match, If-None-Match, Accept (RFC 7252 5.10) ----
et=$(opts $U/ps/room/temp | grep -a -o 'ETag:0x[0-9A-Fa-f]*' | cut -d: -f2)
check "a value comes with an ETag ($et)" test -n "$et"
is "GET with that ETag: 2.03 Valid" \
	"$(cns coap-client-notls -B 5 -v 7 -O "4,$et" $U/ps/room/temp 2>&1 | grep -a -o -E 'c:2\.0[35]' | head -1)" "c:2.03"
is "GET with another ETag: the value" "$(cc -O 4,0x0badcafe $U/ps/room/temp)" "21.0"
is "GET with an Accept the value is not in: 4.06" "$(code1 -A 50 $U/ps/room/temp)" "4.06"
pre=$(counter coap_precondition)
is "PUT with If-None-Match on a topic that has a value: 4.12" "$(code1 -m put -t 0 -e x -O 5 $U/ps/room/temp)" "4.12"
is "PUT with If-Match of another ETag: 4.12" "$(code1 -m put -t 0 -e x -O 1,0x0badcafe $U/ps/room/temp)" "4.12"
is "... both counted" "$(( $(counter coap_precondition) - pre ))" 2
is "... and the value unchanged" "$(cc $U/ps/room/temp)" "21.0"
is "PUT with If-Match of the current ETag: done" "$(code1 -m put -t 0 -e 22.0 -O "1,$et" $U/ps/room/temp)" ""
is "... the value changed" "$(cc $U/ps/room/temp)" "22.0"
check "... with a new ETag" bash -c "! echo '$(opts $U/ps/room/temp)' | grep -q 'ETag:$et'"
is "PUT with If-None-Match on a topic without a value: done" "$(code1 -m put -e y -O 5 $U/ps/inm/t)" ""

# ---- FETCH ----
f=$(payload "$(cbor '[3, 4]')")
is "FETCH on the topic resource with [3, 4]: those properties" \
	"$(body -m fetch -t 60 -f "$f" "$C/room/temp")" "$(cbor '{3: 0, 4: "temperature"}')"
f=$(payload "$(cbor '{0: "other/t", 2: "core.ps.data", 4: "humidity"}')")
cc -m post -t 606 -f "$f" $U/ps >/dev/null
f=$(payload "$(cbor '{4: "temperature"}')")
is "FETCH on the collection: the topics whose properties match" "$(cc -m fetch -t 606 -f "$f" $U/ps)" \
	'</ps/$conf/room/temp>;rt="core.ps.conf";ct=606'
f=$(payload "$(cbor '{2: "core.ps.data"}')")
is "... every topic has the resource type" "$(cc -m fetch -t 606 -f "$f" $U/ps | tr ',' '\n' | wc -l)" 3
f=$(payload "$(cbor '[42]')")
is "FETCH of an unknown property: 4.00" "$(code1 -m fetch -t 60 -f "$f" "$C/room/temp")" "4.00"

# ---- update: iPATCH merges, POST replaces ----
f=$(payload "$(cbor '{6: 1}')")
is "iPATCH sets max-subscribers and answers the whole configuration" \
	"$(body -m ipatch -t 606 -f "$f" "$C/room/temp")" \
	"$(cbor '{0: "room/temp", 1: "/ps/room/temp", 2: "core.ps.data", 3: 0, 4: "temperature", 6: 1, 7: 86400}')"
f=$(payload "$(cbor '{0: "renamed"}')")
is "changing the name (immutable): 4.00" "$(code1 -m ipatch -t 606 -f "$f" "$C/room/temp")" "4.00"
f=$(payload "$(cbor '{0: "room/temp", 2: "core.ps.data", 4: "temperature", 6: 1}')")
is "POST replaces: what it leaves out is back to the default (no content format)" \
	"$(body -m post -t 606 -f "$f" "$C/room/temp")" \
	"$(cbor '{0: "room/temp", 1: "/ps/room/temp", 2: "core.ps.data", 4: "temperature", 6: 1, 7: 86400}')"
is "PUT on a topic resource: 4.05" "$(code1 -m put -e x "$C/room/temp")" "4.05"
is "a topic resource of no topic: 4.04" "$(code1 "$C/no/such")" "4.04"
is "a data path in the server's \$ names: 4.04" "$(code1 "$U/ps/\$SYS/x")" "4.04"

# ---- max-subscribers 1: the second observer gets the value without Observe ----
cns timeout 12 coap-client-notls -B 10 -s 8 $U/ps/room/temp >"$T_DIR/obs1.out" 2>&1 &
obs1=$!
mq -i m-sub sub -t "room/temp" -c 2 --wait 10 >"$T_DIR/msub.out" 2>/dev/null &
msub=$!
wait_counter coap_observes 1 >/dev/null
wait_counter mqttsn_tx_suback 1 >/dev/null
sleep 0.3
limit=$(counter coap_limit)
o=$(opts -s 1 $U/ps/room/temp)
check "a second observer over max-subscribers: 2.05 without Observe ($o)" \
	bash -c "echo '$o' | grep -q 'Content-Format' && ! echo '$o' | grep -q 'Observe'"
is "... counted in coap_limit" "$(( $(counter coap_limit) - limit ))" 1
r=$(ctl --json coap.observers room/temp)
is "one observer only" "$(j 'r["total"]' "$r")" 1

# ---- DELETE of the topic: the observer gets 4.04, the MQTT-SN subscriber stays ----
is "DELETE of the topic resource: 2.02" "$(cns coap-client-notls -B 5 -v 7 -m delete "$C/room/temp" 2>&1 | grep -a -o -E 'c:2\.02' | head -1)" "c:2.02"
wait "$obs1"
check "the observer got a final 4.04" grep -q "4.04" "$T_DIR/obs1.out"
is "no CoAP observer left" "$(j 'r["total"]' "$(ctl --json coap.observers room/temp)")" 0
is "GET on the deleted topic resource: 4.04" "$(code1 "$C/room/temp")" "4.04"
is "GET on its data: 4.04" "$(code1 $U/ps/room/temp)" "4.04"
is "a second DELETE: 4.04" "$(code1 -m delete "$C/room/temp")" "4.04"
is "the listing no longer has it" "$(cc "$U/ps?rt=core.ps.data")" '</ps/inm/t>;rt="core.ps.data";obs,</ps/other/t>;rt="core.ps.data";obs'
is "counted" "$(counter coap_topics_deleted)" 1
mq -i m-pub pub -t room/temp -m "mqtt"
wait "$msub"
is "the MQTT-SN subscriber still gets publications on the name" "$(tail -1 "$T_DIR/msub.out")" "room/temp mqtt"
check "a CoAP publication creates the topic again (2.01)" bash -c "cns() { ip netns exec $CNS \"\$@\"; }; cns coap-client-notls -B 5 -v 7 -m put -e back $U/ps/room/temp 2>&1 | grep -a -q 'c:2.01'"
is "... with the default configuration" "$(body "$C/room/temp")" \
	"$(cbor '{0: "room/temp", 1: "/ps/room/temp", 2: "core.ps.data", 7: 86400}')"

# ---- DELETE of the value ends the observations too (pub/sub 3.2.4) ----
cns timeout 12 coap-client-notls -B 10 -s 8 $U/ps/room/temp >"$T_DIR/obs2.out" 2>&1 &
obs2=$!
wait_counter coap_observes 3 >/dev/null
sleep 0.3
is "DELETE of the topic-data: 2.02" "$(code1 -m delete $U/ps/room/temp)" ""
wait "$obs2"
check "the observer got a final 4.04" grep -q "4.04" "$T_DIR/obs2.out"
is "GET: 4.04 (half created again)" "$(code1 $U/ps/room/temp)" "4.04"
is "the topic resource is still there" "$(code1 "$C/room/temp")" ""

# ---- initialize ----
f=$(payload "$(cbor '{0: "init/t", 2: "core.ps.data", 3: 60, 8: b"\x80"}')")
cc -m post -t 606 -f "$f" $U/ps >/dev/null
is "initialize: the topic-data has the value at once" "$(body $U/ps/init/t)" "80"
check "... in the topic-content-format" bash -c "echo '$(opts $U/ps/init/t)' | grep -q 'Content-Format:application/cbor'"
f=$(payload "$(cbor '{0: "init/u", 2: "core.ps.data", 8: b"\x80"}')")
is "initialize without topic-content-format: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"

# ---- expiration-date ----
f=$(payload "$(cbor '{0: "exp/t", 2: "core.ps.data", 5: ("tag", 1, now + 2)}')")
is "a topic with an expiration-date 2 s ahead: 2.01" "$(cns coap-client-notls -B 5 -v 7 -m post -t 606 -f "$f" $U/ps 2>&1 | grep -a -o -E 'c:2\.01' | head -1)" "c:2.01"
f=$(payload "$(cbor '{0: "exp/u", 2: "core.ps.data", 5: ("tag", 1, 1000)}')")
is "an expiration-date in the past: 4.00" "$(code1 -m post -t 606 -f "$f" $U/ps)" "4.00"
sleep 3.5
is "after it, the topic is gone" "$(code1 "$C/exp/t")" "4.04"

# ---- observer-check: a CON notification at least every N seconds ----
f=$(payload "$(cbor '{0: "chk/t", 2: "core.ps.data", 7: 1}')")
cc -m post -t 606 -f "$f" $U/ps >/dev/null
f=$(payload "$(cbor '{0: "chk/u", 2: "core.ps.data"}')")
cc -m post -t 606 -f "$f" $U/ps >/dev/null
cc -m put -e 0 $U/ps/chk/t >/dev/null
cc -m put -e 0 $U/ps/chk/u >/dev/null
cns timeout 12 coap-client-notls -B 10 -s 7 $U/ps/chk/t >/dev/null 2>&1 &
o1=$!
cns timeout 12 coap-client-notls -B 10 -s 7 $U/ps/chk/u >/dev/null 2>&1 &
o2=$!
wait_counter coap_observes 5 >/dev/null
sleep 0.5
for i in 1 2 3 4; do
	cc -m put -e "$i" $U/ps/chk/t >/dev/null
	cc -m put -e "$i" $U/ps/chk/u >/dev/null
	sleep 1.2
done
wait "$o1" "$o2"

# ---- rate limit: 4.29 Too Many Requests with Max-Age (RFC 8516, pub/sub 3.4) ----
limited=$(counter coap_rate_limited)
r=$(cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.connect((sys.argv[1], 5683))
codes = {}
for i in range(40):
    # CON GET /ps/init/t, message id i
    s.send(bytes([0x40, 0x01, 0x10, i]) + b"\xb2ps\x04init\x01t")
    a = s.recv(2048)
    c = "%d.%02d" % (a[1] >> 5, a[1] & 31)
    if c == "4.29" and a[4] != 0xd1:   # Max-Age (14): delta 13 + 1, length 1
        c = "4.29 without Max-Age"
    codes[c] = codes.get(c, 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(codes.items())))
PY
)
check "40 requests at once from one peer with rate_limit 20: the rest get 4.29 with Max-Age ($r)" \
	bash -c "echo '$r' | grep -q -E '^2.05=[0-9]+ 4.29=[0-9]+\$' && [ '${r##*4.29=}' -ge 10 ]"
check "... counted" test "$(( $(counter coap_rate_limited) - limited ))" -ge 10

# ---- what ternd sent ----
sleep 0.5
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
# notifications carry no Uri-Path: match them by the observer's port instead
port() { tshark -r "$cap" -Y "coap.code == 1 && coap.opt.observe == 0 && coap.opt.uri_path_recon == \"/ps/$1\"" -T fields -e udp.srcport 2>/dev/null | head -1; }
cons() { tshark -r "$cap" -Y "coap.type == 0 && coap.code == 69 && udp.dstport == $(port "$1")" 2>/dev/null | wc -l; }
nt=$(cons chk/t)
nu=$(cons chk/u)
check "observer-check 1 s: CON notifications about every second ($nt of 4)" test "$nt" -ge 3
check "the default (a day, every 1000th): at most the first one CON ($nu)" test "$nu" -le 1
from_router="ip.src==$ROUTER4 || ipv6.src==$ROUTER6"
n=$(tshark -r "$cap" -Y "coap && ($from_router)" 2>/dev/null | wc -l)
check "tshark decodes ternd's CoAP messages ($n)" test "$n" -gt 40
tshark_clean "$cap"

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
