#!/usr/bin/env bash
# Two workers on a port without RSS: one reads the port's queue and steers
# each UDP flow (client address and port) to the worker that owns it through
# that worker's ring; the owner handles it. Every datagram is handled once.
. "$(dirname "$0")/lib.sh"
WORKERS=2
RX_QUEUES=1
tern_init "$@"
tern_start

st=$(ctl --json status)
nw=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])["result"]; print(sum(1 for l in r["lcores"] if l["role"]=="worker"))' "$st")
is "status lists two workers" "$nw" 2
steer=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["ports"][0]["steering"])' "$st")
is "the port uses software steering" "$steer" software

flows=40
before=$(counter udp_unhandled)
refused=$(cns python3 -c '
import socket
n = 0
for i in range('$flows'):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.bind(("'$CLIENT4'", 41000 + i)); s.connect(("'$ROUTER4'", 5999)); s.send(b"x")
    try:
        s.recv(10)
    except ConnectionRefusedError:
        n += 1
    except socket.timeout:
        pass
    s.close()
print(n)')
is "every flow was answered (port unreachable) by the host stack" "$refused" $flows
after=$(counter udp_unhandled)
is "each datagram handled exactly once" "$((after - before))" $flows

out=$(counter steer_out)
in=$(counter steer_in)
check "some flows were steered to the other worker ($out)" test "$out" -gt 0
check "some flows stayed on the receiving worker" test "$out" -lt $flows
is "every steered datagram arrived at its owner" "$in" "$out"
is "no steering ring overflowed" "$(counter steer_refused)" 0

# The same flow always lands on the same worker: resend flow 0 ten times.
w_before=$(worker_counters udp_unhandled)
send_flow 41000 10
sleep 0.5
moved=$(worker_deltas "$w_before" "$(worker_counters udp_unhandled)")
is "one flow is always handled by one worker" "$moved" "[0, 10]"

check "ping works with two workers" cns ping -c 2 -i 0.2 -W 2 $ROUTER4
tern_stop INT
is "ternd exits 0 on SIGINT" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"

# rx_queues: auto on a PMD that offers RSS (net_tap does: the kernel spreads
# flows over the tap's queues by its flow hash): one queue per worker, no
# software steering, and still one worker per flow.
RX_QUEUES=auto
tern_start
st=$(ctl --json status)
steer=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["ports"][0]["steering"])' "$st")
is "rx_queues auto uses RSS on net_tap" "$steer" rss
rxq=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"]["ports"][0]["rx_queues"])' "$st")
is "one RX queue per worker" "$rxq" 2
w_before=$(worker_counters udp_unhandled)
send_flow 42000 10
sleep 0.5
moved=$(worker_deltas "$w_before" "$(worker_counters udp_unhandled)")
is "with RSS one flow is handled by one worker" "$moved" "[0, 10]"
is "with RSS nothing is steered in software" "$(counter steer_out)" 0
check "ping works with RSS" cns ping -c 2 -i 0.2 -W 2 $ROUTER4
tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown (RSS)" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
tern_done
