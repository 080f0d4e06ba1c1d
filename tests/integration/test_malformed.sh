#!/usr/bin/env bash
# A burst of malformed frames (truncated headers, bad lengths, bad checksums,
# fragments, foreign addresses) is counted, each kind under its own drop
# counter, and dropped, while ternd keeps serving and leaks no mbuf.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
tern_start
here=$(dirname "$0")
N=25

mac=$(ctl --json port.list | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"][0]["mac"])')
cns ping -c 1 -W 2 $ROUTER4 >/dev/null
sleep 0.5
base_mbufs=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["mbufs"]["in_use"])')

while read -r kind cnt; do
	before=$(counter "$cnt")
	cns python3 "$here/rawframes.py" "$TAP" "$mac" "$kind" $N
	sleep 0.3
	after=$(counter "$cnt")
	is "$kind: $N frames counted as $cnt" "$((after - before))" $N
done < <(python3 "$here/rawframes.py" --list)

check "ternd still answers ping after the malformed burst" cns ping -c 2 -i 0.2 -W 2 $ROUTER4
check "ternd still answers IPv6 ping" cns ping -6 -c 2 -i 0.2 -W 2 $ROUTER6
sleep 0.5
now_mbufs=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["mbufs"]["in_use"])')
is "mbufs in use back to where they were before the burst" "$now_mbufs" "$base_mbufs"

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
tern_done
