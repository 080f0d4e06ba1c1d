# shellcheck shell=bash
# Shared harness of the integration tests: a router namespace that runs
# ternd on a net_tap port, a client namespace that holds the tap's kernel
# side, TAP-style checks, and cleanup of every namespace and process even
# when a test fails.
#
# Addresses are TEST-NET (192.0.2.0/24, 2001:db8::/64), inside namespaces
# this script creates; no traffic leaves them.
#
# Usage in a test:  . lib.sh; tern_init "$@"; tern_start; check ...; tern_done

set -u

TERND=${TERND:-}
TERNCTL=${TERNCTL:-}
T_ID=$$
RNS=tern-r$T_ID           # the router's namespace (ternd, exception interface)
CNS=tern-c$T_ID           # the client's namespace (the tap's kernel side)
TAP=tt$T_ID               # kernel side of the DPDK net_tap port
ROUTER4=192.0.2.1
CLIENT4=192.0.2.2
ROUTER6=2001:db8::1
CLIENT6=2001:db8::2
CLIENT_MAC=02:00:5e:00:53:02
T_DIR=
T_PID=
T_PASS=0
T_FAIL=0
WORKERS=1
RX_QUEUES=auto
EXTRA_CONFIG=           # more top-level YAML for the test's ternd

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: one check, passes when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@" >"$T_DIR/check.out" 2>&1; then
		ok "$what"
	else
		not_ok "$what"
		sed 's/^/#   /' "$T_DIR/check.out" | tail -n 15
	fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got '$2', want '$3'"; fi
}

rns() { ip netns exec "$RNS" "$@"; }
cns() { ip netns exec "$CNS" "$@"; }

tern_cleanup() {
	if [ -n "$T_PID" ] && kill -0 "$T_PID" 2>/dev/null; then
		kill -TERM "$T_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$T_PID" 2>/dev/null
	fi
	ip netns del "$CNS" 2>/dev/null
	ip netns del "$RNS" 2>/dev/null
	# the EAL's runtime directory of this test's own --file-prefix
	rm -rf "/var/run/dpdk/tern$T_ID"
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
	return 0
}

# tern_init TERND TERNCTL: arguments as meson passes them.
tern_init() {
	TERND=${1:-$TERND}
	TERNCTL=${2:-$TERNCTL}
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - integration tests need root (network namespaces)"
		exit 1
	fi
	T_DIR=$(mktemp -d /tmp/tern-test.XXXXXX)
	chmod 755 "$T_DIR"
	trap tern_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$RNS"
	ip netns add "$CNS"
	rns ip link set lo up
	cns ip link set lo up
	# the host stack behind the exception path answers every probe: no ICMP rate limit
	rns sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
}

# The configuration the tests run: one port, WORKERS workers.
tern_config() {
	# lcore i on CPU i mod nproc: more workers than CPUs still run (slowly)
	local lcores="" ncpu i
	ncpu=$(nproc)
	for i in $(seq 0 "$WORKERS"); do lcores="$lcores${lcores:+,}$i@$((i % ncpu))"; done
	cat <<EOF
dpdk:
  args: ["--lcores", "$lcores", "--no-pci", "--no-huge", "-m", "256", "--file-prefix", "tern$T_ID"]
ports:
  - name: p0
    device: "net_tap_t$T_ID,iface=$TAP"
    ipv4: "$ROUTER4/24"
    ipv6: "$ROUTER6/64"
    rx_queues: $RX_QUEUES
    exception: true
    exception_iface: "tx$T_ID"
control:
  socket: $T_DIR/run/ternctl.sock
log:
  level: info
registry: ${REGISTRY:-$T_DIR/devices.db}
${EXTRA_CONFIG:-}
EOF
}

ctl() { "$TERNCTL" -s "$T_DIR/run/ternctl.sock" "$@"; }

# Start ternd in the router namespace, move the tap's kernel side into the
# client namespace and address it there. Fails the test if ternd does not
# come up.
tern_start() {
	tern_config >"$T_DIR/ternd.yaml"
	# not through rns(): $! must be ternd itself (ip netns exec execs it)
	ip netns exec "$RNS" "$TERND" -c "$T_DIR/ternd.yaml" >"$T_DIR/ternd.log" 2>&1 &
	T_PID=$!
	for _ in $(seq 100); do
		rns ip link show "$TAP" >/dev/null 2>&1 && [ -S "$T_DIR/run/ternctl.sock" ] && break
		kill -0 "$T_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! rns ip link show "$TAP" >/dev/null 2>&1 || ! ctl status >/dev/null 2>&1; then
		echo "not ok - ternd started"
		sed 's/^/#   /' "$T_DIR/ternd.log"
		exit 1
	fi
	rns ip link set "$TAP" netns "$CNS"
	cns ip link set "$TAP" address "$CLIENT_MAC"
	cns ip addr add "$CLIENT4/24" dev "$TAP"
	cns ip -6 addr add "$CLIENT6/64" dev "$TAP" nodad
	cns ip link set "$TAP" up
	# frames the host stack sent before the client side was up were refused
	# by the tap (counted as tx_refused): tests start from zero
	sleep 0.2
	ctl stats --reset >/dev/null
	ok "ternd started (pid $T_PID)"
}

# Stop ternd with SIGTERM (or the signal given: tern_stop INT) and wait;
# its exit status is in T_STATUS.
tern_stop() {
	T_STATUS=
	[ -n "$T_PID" ] || return 1
	kill -"${1:-TERM}" "$T_PID"
	for _ in $(seq 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$T_PID"
	T_STATUS=$?
	T_PID=
}

# The value of one total counter, from `ternctl stats --json`.
counter() {
	ctl --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["total"]["'"$1"'"])'
}

# wait_counter NAME MIN: wait (up to 10 s) until total counter NAME >= MIN;
# prints its value.
wait_counter() {
	local v
	for _ in $(seq 100); do
		v=$(counter "$1")
		[ "$v" -ge "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}

# One counter per worker, space-separated in worker order.
worker_counters() {
	ctl --json stats | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]["workers"]; print(" ".join(str(r[k]["'"$1"'"]) for k in sorted(r, key=int)))'
}

# The per-worker increase between two worker_counters lines, sorted: "[0, 10]".
worker_deltas() {
	python3 -c 'import sys; a=list(map(int,sys.argv[1].split())); b=list(map(int,sys.argv[2].split())); print(sorted(y-x for x,y in zip(a,b)))' "$1" "$2"
}

# Send N datagrams of one flow (client port SPORT) to an unserved router port.
send_flow() {
	cns python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'$CLIENT4'", int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    s.sendto(b"x", ("'$ROUTER4'", 5999))' "$1" "$2"
}

# tshark_clean CAP [TSHARK-ARGS...]: one check that nothing ternd sent in
# capture CAP is malformed, an expert error or a bad UDP checksum; the
# offending frames are printed when there are some.
tshark_clean() {
	local cap=$1 bad nbad
	shift
	bad="(_ws.malformed || _ws.expert.severity >= 0x600000 || udp.checksum.status == 0)"
	bad="$bad && (ip.src==$ROUTER4 || ipv6.src==$ROUTER6)"
	nbad=$(tshark -r "$cap" "$@" -o udp.check_checksum:TRUE -Y "$bad" 2>/dev/null | wc -l)
	is "no malformed packet or bad checksum from ternd" "$nbad" 0
	[ "$nbad" -eq 0 ] || tshark -r "$cap" "$@" -o udp.check_checksum:TRUE -Y "$bad" -V 2>/dev/null |
		grep -E "Expert Info|Malformed|Checksum|Code|Message Type|Frame [0-9]" | head -30 |
		sed 's/^/#   /'
}

tern_done() {
	echo "# $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}
