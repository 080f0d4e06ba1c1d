#!/usr/bin/env bash
# MQTT-SN will (spec 6.3): the will handshake during CONNECT, its updates,
# and the will published when the client is lost (keep-alive expired), not
# when it disconnects cleanly; a retained will is kept for later subscribers.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
tern_start
mq() { cns "$MQ" "$@"; }

# device CLIENT KEEPALIVE WILL_FLAGS TOPIC MESSAGE [update|disconnect]:
# CONNECT with a will, then go silent (or update the will, or disconnect).
device() {
	cns python3 - "$ROUTER4" "$@" <<'PY'
import socket, struct, sys
r, cid, ka, flags, topic, msg = sys.argv[1:7]
then = sys.argv[7] if len(sys.argv) > 7 else ""
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((r, 1883))
def send(t, body):
    s.send(bytes([2 + len(body), t]) + body)
def recv():
    return s.recv(100).hex()
send(0x04, bytes([0x0c, 0x01]) + struct.pack("!H", int(ka)) + cid.encode())   # CONNECT, will+clean
out = [recv()]                                                                  # WILLTOPICREQ
send(0x07, bytes([int(flags, 16)]) + topic.encode()); out.append(recv())        # WILLTOPIC -> WILLMSGREQ
send(0x09, msg.encode()); out.append(recv())                                    # WILLMSG -> CONNACK
if then == "update":
    send(0x1a, bytes([0x00]) + (topic + "/v2").encode()); out.append(recv())    # WILLTOPICUPD
    send(0x1c, b"gone-v2"); out.append(recv())                                  # WILLMSGUPD
elif then == "disconnect":
    send(0x18, b""); out.append(recv())
print(" ".join(out))
PY
}

subacks=$(counter mqttsn_tx_suback)
mq -h $ROUTER4 -i watcher sub -t "dev/#" -c 2 --wait 15 >"$T_DIR/watch.out" 2>/dev/null &
watcher=$!
wait_counter mqttsn_tx_suback $((subacks + 1)) >/dev/null

r=$(device d1 1 20 dev/d1/status offline)
is "will handshake: WILLTOPICREQ, WILLMSGREQ, CONNACK accepted" "$r" "0206 0208 030500"
r=$(device d2 60 00 dev/d2/status bye disconnect)
is "a client with a will disconnects cleanly" "$r" "0206 0208 030500 0218"
r=$(device d3 1 00 dev/d3/status gone update)
is "will updates: WILLTOPICRESP and WILLMSGRESP accepted" "$r" "0206 0208 030500 031b00 031d00"

wait "$watcher"
is "the lost clients' wills were published (updated will for d3), not the clean one's" \
	"$(sort "$T_DIR/watch.out" | tr '\n' ' ')" "dev/d1/status offline dev/d3/status/v2 gone-v2 "
is "two wills counted" "$(counter mqttsn_wills)" 2

# a retained will is kept for subscribers that come later
r=$(device d4 1 10 dev/d4/status down)
is "retained will handshake" "$r" "0206 0208 030500"
wait_counter mqttsn_wills 3 >/dev/null
sleep 0.3
mq -h $ROUTER4 -i late sub -t dev/d4/status -c 1 --wait 5 >"$T_DIR/late.out" 2>&1
is "a later subscriber gets the retained will" "$(cat "$T_DIR/late.out" | grep -v subscribed)" "dev/d4/status down"

# a WILLMSG nobody asked for is unexpected
before=$(counter mqttsn_unexpected)
cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("08040401003c7575")); s.recv(10)    # CONNECT "uu", no will
s.send(bytes.fromhex("04097878"))                        # WILLMSG "xx"
s.send(bytes.fromhex("0218")); s.recv(10)
PY
is "an unrequested WILLMSG is counted as unexpected" "$(( $(wait_counter mqttsn_unexpected $((before + 1))) - before ))" 1

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
