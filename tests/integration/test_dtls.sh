#!/usr/bin/env bash
# CoAP over DTLS (coaps) terminated by ternd's control plane, with libcoap's
# coap-client-openssl and coap-client-gnutls (GnuTLS: an independent DTLS
# implementation): PSK and certificate handshakes, PUT/GET/observe over
# coaps, cross-protocol delivery between coaps and plain MQTT-SN and CoAP;
# then attacks, each checked by its counter and by the session table: a
# ClientHello without a cookie (answered by a HelloVerifyRequest no larger
# than it, no state), a forged cookie, a spoofed flood, a handshake flood
# from many sources (bounded by max_handshakes), peers that vanish
# mid-handshake (timed out), a replayed, a truncated and a corrupted
# record, a wrong PSK, an unknown identity, expired and untrusted client
# certificates; psk.add/remove/list, dtls.sessions, dtls.kick; tshark sees
# DTLS on the wire and never the plaintext. No mbuf leak.
. "$(dirname "$0")/lib.sh"
WORKERS=2
tern_init "$@"
TOOLS=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools
MQ=$TOOLS/tern-mqttsn
RAW="python3 $(dirname "$0")/dtls_raw.py"
mq() { cns "$MQ" -h "$ROUTER4" "$@"; }
cco() { cns timeout 20 coap-client-openssl -B 5 "$@"; }
ccg() { cns timeout 20 coap-client-gnutls -B 5 "$@"; }
U=coaps://$ROUTER4
j() { python3 -c 'import json,sys; r=json.loads(sys.argv[2])["result"]; print(eval(sys.argv[1]))' "$1" "$2"; }
dc() { j "r['counters']['$1']" "$(ctl --json dtls.stats)"; }
sessions() { j "r['sessions']" "$(ctl --json dtls.stats)"; }
# wait_dtls EXPR: wait up to 10 s until the Python expression over dtls.stats' r holds
wait_dtls() {
	for _ in $(seq 100); do
		[ "$(j "$1" "$(ctl --json dtls.stats)")" = True ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- certificates: a CA, the router's, a client's, an expired one, an untrusted one ----
P=$T_DIR/pki
mkdir -p "$P"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
ec -x509 -days 30 -keyout "$P/ca.key" -out "$P/ca.crt" -subj "/CN=tern test CA"
ec -keyout "$P/srv.key" -out "$P/srv.csr" -subj "/CN=router" -addext "subjectAltName=IP:$ROUTER4"
openssl x509 -req -in "$P/srv.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-copy_extensions copy -days 30 -out "$P/srv.crt" 2>/dev/null
ec -keyout "$P/cli.key" -out "$P/cli.csr" -subj "/O=tern-test/CN=sensor-9"
openssl x509 -req -in "$P/cli.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 30 -out "$P/cli.crt" 2>/dev/null
# expired: valid in January 2020 only, signed by the same CA
ec -keyout "$P/old.key" -out "$P/old.csr" -subj "/CN=sensor-old"
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $P/index.txt
new_certs_dir = $P
serial = $P/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOF
: >"$P/index.txt"
echo 1000 >"$P/serial"
openssl ca -batch -config "$P/ca.cnf" -cert "$P/ca.crt" -keyfile "$P/ca.key" -in "$P/old.csr" \
	-out "$P/old.crt" -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
# untrusted: self-signed
ec -x509 -days 30 -keyout "$P/rogue.key" -out "$P/rogue.crt" -subj "/CN=sensor-rogue"

EXTRA_CONFIG="dtls:
  coap_port: 5684
  cert: $P/srv.crt
  key: $P/srv.key
  ca: $P/ca.crt
  verify_client: optional
  max_handshakes: 8
  handshake_timeout: 2
  psk:
    - identity: sensor-1
      key: secret-one
    - identity: sensor-2
      key_hex: 74776f2d6b6579"
tern_start
cap=$T_DIR/dtls.pcap
ip netns exec "$CNS" tshark -q -i "$TAP" -f "udp port 5684" -F pcap -w "$cap" >/dev/null 2>&1 &
tshark_pid=$!
for _ in $(seq 50); do [ -s "$cap" ] && break; sleep 0.1; done

# ---- PSK ----
check "coaps PUT with a PSK (coap-client-openssl)" \
	cco -u sensor-1 -k secret-one -m put -e "21.5" $U/ps/secure/temp
is "coaps GET with the other PSK (configured in hex) reads it" \
	"$(cco -u sensor-2 -k two-key $U/ps/secure/temp)" "21.5"
is "coap-client-gnutls (PSK) reads it too" "$(ccg -u sensor-1 -k secret-one $U/ps/secure/temp)" "21.5"
is "plain CoAP reads what coaps published (one topic space)" \
	"$(cns timeout 20 coap-client-notls -B 5 coap://$ROUTER4/ps/secure/temp)" "21.5"
check "the handshakes were counted" test "$(dc hs_done)" -ge 3
check "... each after a cookie exchange" test "$(dc hvr_sent)" -ge 3
check "... and closed by the clients (close_notify)" test "$(dc peer_closed)" -ge 3
is "no session is left" "$(sessions)" 0

# ---- certificates ----
is "certificate handshake, server checked against the CA (openssl)" \
	"$(cco -R "$P/ca.crt" $U/ps/secure/temp)" "21.5"
is "... with a client certificate (openssl)" \
	"$(cco -R "$P/ca.crt" -c "$P/cli.crt" -j "$P/cli.key" $U/ps/secure/temp)" "21.5"
is "... with a client certificate (gnutls)" \
	"$(ccg -R "$P/ca.crt" -c "$P/cli.crt" -j "$P/cli.key" $U/ps/secure/temp)" "21.5"
before=$(dc hs_failed)
check "an expired client certificate: no answer" bash -c "out=\$(ip netns exec $CNS timeout 20 coap-client-openssl -B 3 -R $P/ca.crt -c $P/old.crt -j $P/old.key $U/ps/secure/temp 2>/dev/null); ! echo \"\$out\" | grep -q 21.5"
check "... the handshake failed (counted)" test "$(dc hs_failed)" -gt "$before"
before=$(dc hs_failed)
check "an untrusted client certificate: no answer" bash -c "out=\$(ip netns exec $CNS timeout 20 coap-client-openssl -B 3 -R $P/ca.crt -c $P/rogue.crt -j $P/rogue.key $U/ps/secure/temp 2>/dev/null); ! echo \"\$out\" | grep -q 21.5"
check "... the handshake failed (counted)" test "$(dc hs_failed)" -gt "$before"

# ---- wrong keys ----
before=$(dc hs_failed)
check "a wrong PSK: no answer" bash -c "out=\$(ip netns exec $CNS timeout 20 coap-client-openssl -B 3 -u sensor-1 -k wrong $U/ps/secure/temp 2>/dev/null); ! echo \"\$out\" | grep -q 21.5"
check "... the handshake failed (counted)" test "$(dc hs_failed)" -gt "$before"
before=$(dc psk_unknown)
check "an unknown PSK identity: no answer" bash -c "out=\$(ip netns exec $CNS timeout 20 coap-client-openssl -B 3 -u nobody -k x $U/ps/secure/temp 2>/dev/null); ! echo \"\$out\" | grep -q 21.5"
check "... counted (psk_unknown)" test "$(dc psk_unknown)" -gt "$before"

# ---- psk.add / remove / list ----
check "psk.add a text key" ctl psk.add sensor-3 three-key
check "psk.add --hex" ctl psk.add sensor-4 a0a1a2a3 --hex
is "psk.list: the identities" "$(j '[p["identity"] for p in r["psks"]]' "$(ctl --json psk.list)")" \
	"['sensor-1', 'sensor-2', 'sensor-3', 'sensor-4']"
check "psk.list never shows a key" bash -c "! '$TERNCTL' -s '$T_DIR/run/ternctl.sock' --json psk.list | grep -q -e three-key -e a0a1a2a3 -e secret-one"
check "config.show never shows a key" bash -c "! '$TERNCTL' -s '$T_DIR/run/ternctl.sock' --json config.show | grep -q -e secret-one -e 0001020304"
is "the added key works" "$(cco -u sensor-3 -k three-key $U/ps/secure/temp)" "21.5"
is "the hex key works" "$(cco -u sensor-4 -k "$(printf '\xa0\xa1\xa2\xa3')" $U/ps/secure/temp)" "21.5"
check "psk.remove" ctl psk.remove sensor-3
check "... and the key no longer works" bash -c "out=\$(ip netns exec $CNS timeout 20 coap-client-openssl -B 3 -u sensor-3 -k three-key $U/ps/secure/temp 2>/dev/null); ! echo \"\$out\" | grep -q 21.5"
check "psk.remove of an unknown identity fails" bash -c "! '$TERNCTL' -s '$T_DIR/run/ternctl.sock' psk.remove sensor-3"
check "psk.add --hex with odd digits fails" bash -c "! '$TERNCTL' -s '$T_DIR/run/ternctl.sock' psk.add x abc --hex"

# ---- observe over coaps, cross-protocol ----
cco -u sensor-1 -k secret-one -m put -e "c0" $U/ps/mix/t
cns timeout 15 coap-client-openssl -B 12 -s 10 -u sensor-1 -k secret-one $U/ps/mix/t >"$T_DIR/obs.out" 2>&1 &
obsc=$!
mq -i m-sub sub -t "mix/#" -c 4 --wait 12 >"$T_DIR/msub.out" 2>/dev/null &
msub=$!
wait_counter coap_observes 1 >/dev/null
wait_counter mqttsn_tx_suback 1 >/dev/null
sleep 0.5
r=$(ctl --json dtls.sessions)
is "dtls.sessions: the observer's session, open, with its identity and cipher" \
	"$(j '[(s["identity"], s["state"], s["local_port"], s["cipher"].startswith("PSK-")) for s in r["sessions"]]' "$r")" \
	"[('sensor-1', 'open', 5684, True)]"
check "dtls.sessions, human" bash -c "'$TERNCTL' -s '$T_DIR/run/ternctl.sock' dtls.sessions | grep -q sensor-1"
cco -u sensor-1 -k secret-one -m put -e "c1" $U/ps/mix/t
mq -i m-pub pub -t mix/t -m "m1"
cns timeout 20 coap-client-notls -B 5 -m put -e "p1" coap://$ROUTER4/ps/mix/t
wait "$msub"
is "a plain MQTT-SN subscriber gets the coaps publication (and the others)" \
	"$(tr '\n' ' ' <"$T_DIR/msub.out")" "mix/t c0 mix/t c1 mix/t m1 mix/t p1 "
wait "$obsc"
is "the coaps observer got coaps, MQTT-SN and plain CoAP publications" "$(cat "$T_DIR/obs.out")" "c0c1m1p1"
check "the notifications went through the control plane (dtls_out)" test "$(counter dtls_out)" -ge 4
check "... and out as records (dtls_tx)" test "$(counter dtls_tx)" -ge 4

# ---- dtls.kick ----
cco -u sensor-1 -k secret-one -m put -e "k0" $U/ps/mix/k
# not through cns(): $! must be the client itself
ip netns exec "$CNS" timeout 15 coap-client-openssl -B 12 -s 10 -u sensor-2 -k two-key $U/ps/mix/k >/dev/null 2>&1 &
kc=$!
ip netns exec "$CNS" timeout 15 coap-client-openssl -B 12 -s 10 -u sensor-1 -k secret-one $U/ps/mix/k >"$T_DIR/kick.out" 2>&1 &
kc2=$!
wait_dtls 'r["sessions"] >= 1' || true
peer=$(j '[s["peer"] for s in r["sessions"] if s["identity"] == "sensor-1"][0]' "$(ctl --json dtls.sessions)")
is "dtls.kick by peer closes that session" "$(j 'r["closed"]' "$(ctl --json dtls.kick "$peer")")" 1
check "... counted" test "$(dc kicked)" -ge 1
is "... and it is gone" "$(j '[s for s in r["sessions"] if s["peer"] == "'"$peer"'"]' "$(ctl --json dtls.sessions)")" "[]"
check "dtls.kick of no such peer fails" bash -c "! '$TERNCTL' -s '$T_DIR/run/ternctl.sock' dtls.kick 192.0.2.99:1"
kill "$kc" "$kc2" 2>/dev/null
wait "$kc" "$kc2" 2>/dev/null

# ---- a ClientHello without a cookie, a forged cookie, spoofed sources ----
s0=$(sessions)
h0=$(dc hvr_sent)
r=$(cns $RAW hvr "$ROUTER4" 5684)
is "a ClientHello without a cookie gets a HelloVerifyRequest no longer than itself" \
	"$(echo "$r" | awk '{print $1, ($2 <= $4)}')" "hvr 1"
is "... 60 octets" "$(echo "$r" | awk '{print $2}')" 60
is "... and no session" "$(sessions)" "$s0"
before=$(dc cookie_bad)
is "a forged cookie: a new HelloVerifyRequest, no session" "$(cns $RAW forged "$ROUTER4" 5684)" hvr
check "... counted (cookie_bad)" test "$(dc cookie_bad)" -gt "$before"
is "... and no session" "$(sessions)" "$s0"
is "200 cookieless ClientHellos from 200 ports: 200 HelloVerifyRequests of 60 octets" \
	"$(cns $RAW spoof "$ROUTER4" 5684 200)" "hvr=200 max=60"
is "... and no session" "$(sessions)" "$s0"
check "... every one counted" test "$(dc hvr_sent)" -ge $((h0 + 201))

# ---- a handshake flood from many sources; peers that vanish mid-handshake ----
lim=$(dc limit_handshakes)
to=$(dc hs_timeout)
cns $RAW flood "$ROUTER4" 5684 20 4 >"$T_DIR/flood.out" &
fl=$!
wait_dtls 'r["handshakes"] >= 8' || true
r=$(ctl --json dtls.stats)
is "20 clients past the cookie, silent: at most max_handshakes (8) sessions" "$(j 'r["handshakes"]' "$r")" 8
check "... the others refused and counted (limit_handshakes)" test "$(j 'r["counters"]["limit_handshakes"]' "$r")" -ge $((lim + 12))
wait "$fl"
is "... the flood's view: 20 cookies, 8 server flights" "$(cat "$T_DIR/flood.out")" "hvr=20 flight=8"
check "the vanished peers are timed out (handshake_timeout 2 s)" wait_dtls 'r["handshakes"] == 0'
check "... counted (hs_timeout)" test "$(dc hs_timeout)" -ge $((to + 8))
is "a client after the flood is served" "$(cco -u sensor-1 -k secret-one $U/ps/secure/temp)" "21.5"

# ---- replayed, truncated and corrupted records ----
cco -u sensor-1 -k secret-one -m put -e "before" $U/ps/rp/t
cns timeout 15 coap-client-openssl -B 12 -s 10 -u sensor-1 -k secret-one $U/ps/rp/t >"$T_DIR/rp.out" 2>&1 &
rpc=$!
wait_dtls 'r["sessions"] >= 1' || true
sleep 1
kill "$tshark_pid" 2>/dev/null
wait "$tshark_pid" 2>/dev/null
cp "$cap" "$T_DIR/rp.pcap"
dec=$(counter dtls_decrypted)
disc=$(dc rec_discarded)
check "a replayed record (same frame again)" cns $RAW replay "$TAP" "$T_DIR/rp.pcap" same
check "... discarded by the anti-replay window (counted)" wait_dtls "r['counters']['rec_discarded'] > $disc"
is "... nothing reached the CoAP node" "$(counter dtls_decrypted)" "$dec"
tr0=$(dc drop_truncated)
check "a truncated record" cns $RAW replay "$TAP" "$T_DIR/rp.pcap" truncate
check "... dropped before OpenSSL (drop_truncated)" wait_dtls "r['counters']['drop_truncated'] > $tr0"
disc=$(dc rec_discarded)
check "a corrupted record" cns $RAW replay "$TAP" "$T_DIR/rp.pcap" corrupt
check "... discarded (bad MAC, counted)" wait_dtls "r['counters']['rec_discarded'] > $disc"
is "... nothing reached the CoAP node" "$(counter dtls_decrypted)" "$dec"
cco -u sensor-1 -k secret-one -m put -e "after" $U/ps/rp/t
wait "$rpc"
is "the session survived them all: its observer got the next value" "$(cat "$T_DIR/rp.out")" "beforeafter"

# ---- on the wire ----
check "tshark dissects DTLS 1.2 records on 5684" \
	bash -c "tshark -r '$T_DIR/rp.pcap' -d udp.port==5684,dtls -Y 'dtls.record.version == 0xfefd' 2>/dev/null | grep -q DTLS"
check "... and the plaintext never appears" bash -c "! grep -a -q -e '21.5' -e 'mix/t' '$T_DIR/rp.pcap'"

# ---- counters, leaks ----
r=$(ctl --json stats)
check "stats has a dtls object with the engine's counters" \
	test "$(j '"hs_done" in r["dtls"] and "sessions" in r["dtls"]' "$r")" = True
check "nothing was refused between the workers and the control plane" \
	test "$(counter dtls_in_refused)$(counter dtls_out_refused)" = 00
check "no datagram was lost for want of a buffer" \
	test "$(dc inject_failed)$(dc send_failed)" = 00
tern_stop
check "ternd's mbuf audit is clean" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
tern_done
