#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# ternd's configuration as an operator meets it: `ternd --check-config FILE`
# accepts the documented examples and the built-in default, and rejects each
# kind of mistake with exit status 2 and one line on stderr,
#   ternd: config FILE: <key path> (line N): <what is wrong>
# naming the key. Nothing here starts DPDK, so no root or namespace is needed.
#
# Usage: test_config.sh TERND [TERNCTL]

set -u

TERND=${1:?usage: test_config.sh TERND}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d /tmp/tern-test-config.XXXXXX) || exit 1
trap 'rm -rf "$DIR"' EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

# run ARGS...: ternd with a time limit; sets RC, OUT, ERR.
run() {
	timeout 20 "$TERND" "$@" >"$DIR/out" 2>"$DIR/err"
	RC=$?
	OUT=$(cat "$DIR/out")
	ERR=$(cat "$DIR/err")
}

show() {
	echo "#   exit $RC"
	[ -n "$OUT" ] && printf '%s\n' "$OUT" | head -n 5 | sed 's/^/#   stdout: /'
	[ -n "$ERR" ] && printf '%s\n' "$ERR" | head -n 5 | sed 's/^/#   stderr: /'
	return 0
}

# good DESCRIPTION FILE: exit 0, "config FILE: ok" on stdout, nothing on stderr.
good() {
	run --check-config "$2"
	if [ "$RC" -eq 0 ] && [ "$OUT" = "config $2: ok" ] && [ -z "$ERR" ]; then
		ok "accepted: $1"
	else
		not_ok "accepted: $1"
		show
	fi
}

# bad DESCRIPTION FILE WANT: exit 2, nothing on stdout, one line on stderr
# that starts "ternd: config FILE: " and contains WANT.
bad() {
	local what=$1 file=$2 want=$3

	run --check-config "$file"
	if [ "$RC" -eq 2 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
	   [[ "$ERR" == "ternd: config $file: "* ]] && [[ "$ERR" == *"$want"* ]]; then
		ok "rejected: $what"
	else
		not_ok "rejected: $what"
		show
		echo "#   want exit 2 and: ternd: config $file: ...$want..."
	fi
}

# bad_yaml DESCRIPTION WANT: the YAML on stdin, as a file of its own.
n=0
bad_yaml() {
	n=$((n + 1))
	cat >"$DIR/bad$n.yaml"
	bad "$1" "$DIR/bad$n.yaml" "$2"
}

if [ ! -x "$TERND" ]; then
	not_ok "ternd binary $TERND is executable"
	echo "# $PASS passed, $FAIL failed"
	exit 1
fi

# --- accepted ---------------------------------------------------------------

good "docs/examples/minimal.yaml" "$SRC/docs/examples/minimal.yaml"
good "docs/examples/full.yaml" "$SRC/docs/examples/full.yaml"

run --default-config
if [ "$RC" -eq 0 ] && [ -n "$OUT" ]; then
	printf '%s\n' "$OUT" >"$DIR/default.yaml"
	good "the built-in default (--default-config)" "$DIR/default.yaml"
else
	not_ok "ternd --default-config prints the built-in default"
	show
fi

cat >"$DIR/v6only.yaml" <<'EOF'
ports:
  - {name: p0, device: "net_tap0,iface=tern0", ipv6: "fd00:db8::1/64", rx_queues: 4}
EOF
good "an IPv6-only port in flow style" "$DIR/v6only.yaml"

# --- rejected: one check per kind of mistake ---------------------------------

bad_yaml "unknown top-level key" 'unknown key "prots" at top level' <<'EOF'
prots:
  - name: p0
EOF

bad_yaml "unknown key in a port" 'line 5: unknown key "devise" in ports[0]' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
    devise: x
EOF

bad_yaml "unparsable IPv4 address" \
	'ports[0].ipv4 (line 4): "192.0.2.999/24" is not an IPv4 address/prefix' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: "192.0.2.999/24"
EOF

bad_yaml "IPv6 link-local address" 'ports[0].ipv6 (line 4)' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv6: fe80::1/64
EOF

bad_yaml "rx_queues out of range" \
	'ports[1].rx_queues (line 8): 40 is out of range (auto or 1..16)' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
  - name: p1
    device: net_null1
    ipv4: 198.51.100.1/24
    rx_queues: 40
EOF

bad_yaml "wrong type" 'ports[0].exception (line 5): expected boolean, got a sequence' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
    exception: [yes]
EOF

bad_yaml "duplicate port name" 'ports[1].name (line 5): duplicate port name "p0"' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
  - name: p0
    device: net_null1
    ipv4: 198.51.100.1/24
EOF

bad_yaml "missing required key" 'ports[0].device: missing required key' <<'EOF'
ports:
  - name: p0
    ipv4: 192.0.2.1/24
EOF

bad_yaml "port without an address" 'ports[0] (line 2): no address' <<'EOF'
ports:
  - name: p0
    device: net_null0
EOF

bad_yaml "empty ports" 'ports (line 1): too few entries (at least 1)' <<'EOF'
ports: []
EOF

bad_yaml "YAML syntax error" 'line 3, column 4: YAML syntax error' <<'EOF'
ports:
  - name: p0
   device: net_null0
EOF

bad_yaml "bad log level" 'log.level (line 6): "verbose" is not one of' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
log:
  level: verbose
EOF

bad_yaml "mqttsn.port out of range" 'mqttsn.port (line 7): 70000 is out of range (1..65535)' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
mqttsn:
  enabled: true
  port: 70000
EOF

bad_yaml "mqttsn.retry_ms with a unit" 'mqttsn.retry_ms (line 6): "10s" is not a number' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
mqttsn:
  retry_ms: 10s
EOF

bad_yaml "unknown key in mqttsn" \
	'line 6: unknown key "max_client" in mqttsn (did you mean "max_clients"?)' <<'EOF'
ports:
  - name: p0
    device: net_null0
    ipv4: 192.0.2.1/24
mqttsn:
  max_client: 100
EOF

bad_yaml "empty file" 'ports: missing required key' </dev/null

printf 'ports:\n  - name: p0\0\n' >"$DIR/nul.yaml"
bad "NUL byte" "$DIR/nul.yaml" 'line 2: NUL byte'

head -c 1048577 /dev/zero | tr '\0' '#' >"$DIR/big.yaml"
bad "file over 1 MiB" "$DIR/big.yaml" 'larger than 1 MiB'

bad "missing file" "$DIR/nope.yaml" "cannot open $DIR/nope.yaml: No such file"
bad "a directory" "$DIR" "cannot read $DIR"

# the same message and status when ternd is asked to run with a bad file
run -c "$DIR/bad1.yaml"
if [ "$RC" -eq 2 ] && [[ "$ERR" == "ternd: config $DIR/bad1.yaml: "*'unknown key "prots"'* ]]; then
	ok "ternd -c with a bad file exits 2 with the message"
else
	not_ok "ternd -c with a bad file exits 2 with the message"
	show
fi

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] || exit 1
exit 0
