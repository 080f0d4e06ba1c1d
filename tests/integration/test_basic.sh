#!/usr/bin/env bash
# ternd on a net_tap port: ARP, IPv4/IPv6 ping, neighbour discovery, TCP
# through the exception path to a listener in the router's namespace, UDP to
# an unserved port answered by the host stack, counters, telemetry, and a
# clean shutdown with the mbuf audit at its baseline.
. "$(dirname "$0")/lib.sh"
tern_init "$@"

# A device DPDK cannot probe: exit 2, one message naming the key.
tern_config | sed "s|device: \"net_tap_t$T_ID,iface=$TAP\"|device: \"net_bogus$T_ID\"|" >"$T_DIR/bad.yaml"
ip netns exec "$RNS" "$TERND" -c "$T_DIR/bad.yaml" >"$T_DIR/bad.log" 2>&1
is "a device DPDK cannot probe ends ternd with exit code 2" "$?" 2
check "the message names ports[0].device" grep -q "^ternd: config $T_DIR/bad.yaml: ports\[0\].device: DPDK cannot probe device \"net_bogus$T_ID\"" "$T_DIR/bad.log"

tern_start

check "ternd has jemalloc mapped as its allocator" grep -q libjemalloc "/proc/$T_PID/maps"
alloc=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["memory"]["allocator"])')
check "status reports the jemalloc heap ($alloc)" grep -q '^jemalloc [0-9]' <<<"$alloc"
mac=$(ctl --json port.list | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"][0]["mac"])')
check "port.list shows the port's MAC" test -n "$mac"

check "IPv4 ping through the router" cns ping -c 3 -i 0.2 -W 2 $ROUTER4
neigh=$(cns ip neigh show $ROUTER4 dev $TAP | awk '{print $3}')
is "ARP resolved the router's address to the port's MAC" "$neigh" "$mac"
check "IPv6 ping through the router" cns ping -6 -c 3 -i 0.2 -W 2 $ROUTER6
neigh6=$(cns ip -6 neigh show $ROUTER6 dev $TAP | awk '{print $3}')
is "neighbour discovery resolved the router's IPv6 address to the port's MAC" "$neigh6" "$mac"

# TCP: a listener on the router's own address in the router's namespace,
# reached from the client through the DPDK port and the exception path.
tcp_echo() {
	local addr=$1 port=$2 srv reply
	rm -f "$T_DIR/tcp.ready"
	rns python3 - "$addr" "$port" "$T_DIR/tcp.ready" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(20)
open(sys.argv[3], "w").close()
c, _ = s.accept(); c.settimeout(10)
data = c.recv(100); c.sendall(b"echo:" + data); c.close()
PY
	srv=$!
	for _ in $(seq 50); do [ -e "$T_DIR/tcp.ready" ] && break; sleep 0.1; done
	cns python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"hello"); print(s.recv(100).decode())' "$addr" "$port"
	wait $srv
}
is "TCP through the exception path to a listener on the router's address" \
	"$(tcp_echo $ROUTER4 7000)" "echo:hello"
is "TCP over IPv6 through the exception path" "$(tcp_echo $ROUTER6 7001)" "echo:hello"

# UDP to a port nothing serves: the host stack answers port unreachable.
before=$(counter udp_unhandled)
refused=$(cns python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect(("'$ROUTER4'", 5999)); s.send(b"x")
try:
    s.recv(10); print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")')
is "UDP to an unserved port is refused by the host stack (ICMP port unreachable)" "$refused" "refused"
after=$(counter udp_unhandled)
is "udp_unhandled counted the datagram" "$((after - before))" 1

check "icmp4_echo counted the pings" test "$(counter icmp4_echo)" -ge 3
check "icmp6_echo counted the pings" test "$(counter icmp6_echo)" -ge 3
check "arp_request counted" test "$(counter arp_request)" -ge 1
check "nd_solicit counted" test "$(counter nd_solicit)" -ge 1
check "exc_tx counted frames to the host stack" test "$(counter exc_tx)" -ge 4
check "exc_rx counted frames from the host stack" test "$(counter exc_rx)" -ge 4
check "rx_packets > 0" test "$(counter rx_packets)" -gt 0
check "tx_packets > 0" test "$(counter tx_packets)" -gt 0
check "no frame was refused by a TX queue" test "$(counter tx_refused)" -eq 0

st=$(ctl status)
check "ternctl status names the port and its link" grep -q "p0" <<<"$st"

# DPDK telemetry: the same counters over the telemetry socket
tele=$(python3 - "/var/run/dpdk/tern$T_ID/dpdk_telemetry.v2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1]); json.loads(s.recv(16384))
s.send(b"/tern/stats"); r = json.loads(s.recv(65536))
print(r["/tern/stats"]["icmp4_echo"])
PY
)
check "DPDK telemetry /tern/stats reports the echo counter" test "${tele:-0}" -ge 3

tern_stop
is "ternd exits 0 on SIGTERM" "$T_STATUS" 0
check "mbuf audit at shutdown is at its baseline" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
