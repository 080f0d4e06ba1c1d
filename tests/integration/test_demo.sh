#!/usr/bin/env bash
# The README's first command: scripts/demo runs ternd on its built-in
# default with a demo client, and cleans up after itself.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
expect() { if grep -q -E "$2" "$out"; then ok "$1"; else not_ok "$1"; fi; }

if ip netns list | grep -qE '^tern-(router|client)\b'; then
	echo "not ok - a demo is already running (namespaces tern-router/tern-client exist)"
	exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 300 "$root/scripts/demo" --seconds 2 >"$out" 2>&1
st=$?
if [ $st -eq 0 ]; then ok "scripts/demo --seconds 2 exits 0"; else not_ok "scripts/demo exits 0 (got $st)"; fi
expect "demo shows ternctl status with the port" "p0 +net_tap0,iface=tern0"
expect "demo client pings the router over IPv4" "3 packets transmitted, 3 received"
expect "demo client pings the router over IPv6" "2001:db8::1 ping statistics"
expect "demo's TCP connection reaches the router namespace" "client got: hello from the router namespace"
expect "demo's MQTT-SN subscriber got the CoAP value and both publications" \
	"MQTT-SN subscriber got: sensors/temp 21.5;sensors/temp 22.0;sensors/temp 22.5;"
expect "demo's CoAP observer got the value and both publications" "CoAP observer got: +21.522.022.5"
expect "demo's device authenticates over TLS: a DevID" "auth DEMO-1 ok: devid [0-9a-f]{22}"
expect "... and is sent to this instance" "node 192.0.2.1 port 1883"
expect "demo's OSAP device got the sealed publication, opened" "OSAP device DEMO-2 got \\(opened with its key\\): demo/osap hello, sealed"
expect "demo's plain MQTT-SN client got it as plaintext" "plain MQTT-SN client got: +demo/osap hello, sealed"
expect "demo's lbs.stats shows the authentications" "first_auth 2.*reauth 1"
expect "demo's coaps publication reaches an MQTT-SN-over-DTLS subscriber" \
	"MQTT-SN-over-DTLS subscriber got: secure/temp 19.5;"
expect "demo's dtls.stats shows the handshakes" "hs_done 2"
expect "demo prints the counters at the end" "icmp4_echo +[0-9]+"
expect "ternd's mbuf audit was clean" "mbuf audit: .*: ok"
if ip netns list | grep -qE '^tern-(router|client)\b'; then
	not_ok "demo removed its namespaces"
else
	ok "demo removed its namespaces"
fi
if pgrep -x ternd >/dev/null; then not_ok "no ternd left running"; else ok "no ternd left running"; fi
[ $fail -eq 0 ] || sed 's/^/#   /' "$out" | tail -n 30
echo "# $pass passed, $fail failed"
[ $fail -eq 0 ]
