#!/usr/bin/env bash
# MQTT-SN over DTLS with `tern-mqttsn --dtls`: PSK and certificate
# handshakes; the access rules see the DTLS identity, not the CONNECT
# client id; secure and plain MQTT-SN clients and coaps share topics;
# QoS 1 and 2 through the control plane; a client that restarts from the
# same address and port with another identity does not inherit the old
# session; dtls.sessions and the counters; no mbuf leak.
. "$(dirname "$0")/lib.sh"
WORKERS=2
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
mq() { cns "$MQ" -h "$ROUTER4" "$@"; }
s1() { cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --psk-identity sensor-1 --psk key-one "$@"; }
s2() { cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --psk-identity sensor-2 --psk-hex 6b65792d74776f "$@"; }
j() { python3 -c 'import json,sys; r=json.loads(sys.argv[2])["result"]; print(eval(sys.argv[1]))' "$1" "$2"; }
dc() { j "r['counters']['$1']" "$(ctl --json dtls.stats)"; }
# outcome CMD...: "ok" or the tool's complaint
outcome() {
	local out
	if out=$("$@" 2>&1); then echo ok; else echo "$out" | grep -o -i -m1 'not supported' || echo "fail: $out"; fi
}

P=$T_DIR/pki
mkdir -p "$P"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
ec -x509 -days 30 -keyout "$P/ca.key" -out "$P/ca.crt" -subj "/CN=tern test CA"
ec -keyout "$P/srv.key" -out "$P/srv.csr" -subj "/CN=router"
openssl x509 -req -in "$P/srv.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 30 -out "$P/srv.crt" 2>/dev/null
ec -keyout "$P/cli.key" -out "$P/cli.csr" -subj "/O=tern-test/CN=meter-7"
openssl x509 -req -in "$P/cli.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 30 -out "$P/cli.crt" 2>/dev/null

EXTRA_CONFIG="mqttsn:
  access:
    - client: \"sensor-*\"
      topic: \"devices/%c/#\"
      permission: allow
      transport: dtls
    - client: \"CN=*,O=tern-test\"
      topic: \"meters/#\"
      permission: allow
      transport: dtls
    - client: \"plain-*\"
      topic: \"devices/%c/#\"
      permission: allow
      transport: plain
    - topic: \"#\"
      action: subscribe
      permission: allow
dtls:
  coap_port: 5684
  mqttsn_port: 1884
  cert: $P/srv.crt
  key: $P/srv.key
  ca: $P/ca.crt
  verify_client: optional
  psk:
    - identity: sensor-1
      key: key-one
    - identity: sensor-2
      key_hex: 6b65792d74776f
    - identity: plain-9
      key: nine"
tern_start

# ---- the handshake, publish, identity and access rules ----
is "PSK handshake, CONNECT, REGISTER, PUBLISH QoS 1 under its identity's subtree" \
	"$(outcome s1 -i whatever pub -t devices/sensor-1/temp -q 1 -m 20)" ok
is "... not under another identity's, whatever its client id says" \
	"$(outcome s1 -i sensor-2 pub -t devices/sensor-2/temp -q 1 -m 20)" "not supported"
is "a plain client naming itself after a DTLS identity gets none of its rights (transport: dtls)" \
	"$(outcome mq -i sensor-2 pub -t devices/sensor-2/temp -q 1 -m 21)" "not supported"
is "a plain client is judged by its client id under plain rules" \
	"$(outcome mq -i plain-2 pub -t devices/plain-2/temp -q 1 -m 21)" ok
is "... which a DTLS identity does not meet (transport: plain)" \
	"$(outcome cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --psk-identity plain-9 --psk nine -i x pub -t devices/plain-9/temp -q 1 -m 21)" "not supported"
is "the hex PSK works: sensor-2 publishes under its own subtree (QoS 2)" \
	"$(outcome s2 -i x pub -t devices/sensor-2/temp -q 2 -m 22)" ok
is "certificate handshake, server checked against the CA; the subject (RFC 2253) is the identity" \
	"$(outcome cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --ca "$P/ca.crt" --cert "$P/cli.crt" --key "$P/cli.key" -i m pub -t meters/7 -q 1 -m 5)" ok
is "... and the rules for that subject apply" \
	"$(outcome cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --ca "$P/ca.crt" --cert "$P/cli.crt" --key "$P/cli.key" -i m pub -t devices/sensor-1/x -q 1 -m 5)" "not supported"
check "refusals counted (mqttsn_denied)" test "$(counter mqttsn_denied)" -ge 2
before=$(dc hs_failed)
check "a wrong PSK fails the handshake" bash -c "! ip netns exec $CNS $MQ -h $ROUTER4 -p 1884 --dtls --psk-identity sensor-1 --psk wrong --timeout 1 --retries 1 pub -t devices/sensor-1/x -m 1"
check "... counted" test "$(dc hs_failed)" -gt "$before"
check "the plain MQTT-SN port does not speak DTLS" bash -c "! ip netns exec $CNS $MQ -h $ROUTER4 -p 1883 --dtls --psk-identity sensor-1 --psk key-one --timeout 1 --retries 1 pub -t devices/sensor-1/x -m 1"

# ---- secure and plain clients share topics ----
s2 -i sub-dtls sub -t "devices/#" -q 1 -c 3 --wait 10 >"$T_DIR/dsub.out" 2>/dev/null &
dsub=$!
mq -i sub-plain sub -t "devices/#" -c 3 --wait 10 >"$T_DIR/psub.out" 2>/dev/null &
psub=$!
for _ in $(seq 100); do [ "$(counter mqttsn_tx_suback)" -ge 2 ] && break; sleep 0.1; done
sleep 0.3
r=$(ctl --json dtls.sessions)
is "dtls.sessions shows the subscriber: identity, state, MQTT-SN port" \
	"$(j '[(s["identity"], s["state"], s["local_port"]) for s in r["sessions"]]' "$r")" \
	"[('sensor-2', 'open', 1884)]"
r=$(ctl --json mqttsn.clients)
is "mqttsn.clients shows the DTLS identity of the DTLS session only" \
	"$(j 'sorted((c["client_id"], c.get("dtls_identity")) for c in r["clients"] if c["client_id"].startswith("sub-"))' "$r")" \
	"[('sub-dtls', 'sensor-2'), ('sub-plain', None)]"
is "... a certificate's subject (RFC 2253) for the certificate client" \
	"$(j '[c.get("dtls_identity") for c in r["clients"] if c["client_id"] == "m"]' "$r")" "['CN=meter-7,O=tern-test']"
s1 -i p1 pub -t devices/sensor-1/a -q 1 -m "from-dtls"
mq -i plain-3 pub -t devices/plain-3/b -m "from-plain"
cns timeout 20 coap-client-openssl -B 5 -u sensor-1 -k key-one -m put -e "from-coaps" coaps://$ROUTER4/ps/devices/c
wait "$dsub"
is "the DTLS subscriber gets DTLS, plain MQTT-SN and coaps publications" \
	"$(sort "$T_DIR/dsub.out" | tr '\n' ' ')" "devices/c from-coaps devices/plain-3/b from-plain devices/sensor-1/a from-dtls "
wait "$psub"
is "... and so does the plain subscriber" \
	"$(sort "$T_DIR/psub.out" | tr '\n' ' ')" "devices/c from-coaps devices/plain-3/b from-plain devices/sensor-1/a from-dtls "
check "deliveries to the DTLS subscriber were encrypted by the control plane" test "$(dc app_tx)" -ge 3

# ---- records replayed inside and left of the anti-replay window ----
RAW="python3 $(dirname "$0")/dtls_raw.py"
cap=$T_DIR/rp.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 1884" -F pcap -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done
pub0=$(counter mqttsn_published)
s1 -i replayed pub -t devices/sensor-1/r -m x -n 200 --interval 40 >/dev/null 2>&1 &
rp=$!
# some 75 records in (of about 200 in 8 s): the CONNECT more than 64 behind
for _ in $(seq 100); do [ "$(counter mqttsn_published)" -ge $((pub0 + 70)) ] && break; sleep 0.05; done
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
disc=$(dc rec_discarded)
check "the session's first record (its CONNECT), more than 64 records old, sent again" \
	cns $RAW replay "$TAP" "$cap" first 1884
check "the last record seen, sent again" cns $RAW replay "$TAP" "$cap" same 1884
wait "$rp"
is "both discarded by the anti-replay window (rec_discarded)" "$(( $(dc rec_discarded) - disc ))" 2
is "... and the 200 publications were routed once each" "$(( $(counter mqttsn_published) - pub0 ))" 200

# ---- a new identity from the same address and port ----
# not through cns(): $! must be the tool itself
ip netns exec "$CNS" "$MQ" -h "$ROUTER4" -p 1884 --dtls --psk-identity sensor-1 --psk key-one --bind 40555 \
	-i keeper --no-clean sub -t "devices/#" --wait 30 >/dev/null 2>&1 &
keeper=$!
for _ in $(seq 100); do [ "$(counter mqttsn_tx_suback)" -ge 3 ] && break; sleep 0.1; done
kill -KILL "$keeper"
wait "$keeper" 2>/dev/null
rep=$(dc replaced)
is "another identity from the same port: a new DTLS session, not the old MQTT-SN one" \
	"$(outcome cns "$MQ" -h "$ROUTER4" -p 1884 --dtls --psk-identity sensor-2 --psk-hex 6b65792d74776f --bind 40555 -i keeper pub -t devices/sensor-1/z -q 1 -m 1)" \
	"not supported"
check "... the open DTLS session was replaced by the new handshake (counted)" test "$(dc replaced)" -gt "$rep"
check "... and the old MQTT-SN session ended (mqttsn_dtls_new_identity)" test "$(counter mqttsn_dtls_new_identity)" -ge 1

# ---- counters, leaks ----
check "nothing refused between the workers and the control plane" \
	test "$(counter dtls_in_refused)$(counter dtls_out_refused)" = 00
check "no message lost for want of a buffer" test "$(dc inject_failed)$(dc send_failed)" = 00
tern_stop
check "ternd's mbuf audit is clean" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
tern_done
