#!/usr/bin/env bash
# MQTT-SN sleeping clients (spec 6.14): a client asleep (DISCONNECT with a
# duration) misses nothing within its buffer: publications wait for it and
# arrive when it wakes with PINGREQ, before PINGRESP; what overflows the
# buffer is dropped and counted; a client that does not wake in time is lost.
. "$(dirname "$0")/lib.sh"
EXTRA_CONFIG="mqttsn:
  max_sleep_buffer: 4"
tern_init "$@"
MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn
tern_start
mq() { cns "$MQ" "$@"; }

# a sleeper with QoS 1: two cycles of 3 s; publications during each sleep
subacks=$(counter mqttsn_tx_suback)
mq -h $ROUTER4 -i sleeper -q 1 sleep -t "home/#" --duration 3 --cycles 2 \
	>"$T_DIR/sleep.out" 2>"$T_DIR/sleep.err" &
sleeper=$!
wait_counter mqttsn_tx_suback $((subacks + 1)) >/dev/null
wait_counter mqttsn_sleeps 1 >/dev/null
check "the client is asleep" test "$(counter mqttsn_sleeps)" -ge 1
mq -h $ROUTER4 -i p1 -q 1 pub -t home/lamp -m on >/dev/null
mq -h $ROUTER4 -i p1 -q 0 pub -t home/door -m closed >/dev/null
wait_counter mqttsn_wakes 1 >/dev/null
# second cycle: six publications for a buffer of four
wait_counter mqttsn_sleeps 2 >/dev/null
mq -h $ROUTER4 -i p2 -q 0 pub -t home/t -m x -n 6 >/dev/null
wait "$sleeper"
st=$?
is "tern-mqttsn sleep completes its two cycles" "$st" 0
check "the first wake-up delivered what was published during the sleep" \
	grep -q "home/lamp on" "$T_DIR/sleep.out"
check "... both publications" grep -q "home/door closed" "$T_DIR/sleep.out"
is "the second wake-up delivered the buffer's four" "$(grep -c "home/t x" "$T_DIR/sleep.out")" 4
is "the two that overflowed the buffer were counted" "$(counter mqttsn_sleep_dropped)" 2
check "nothing was lost to a full in-flight window" test "$(counter mqttsn_deliver_failed)" -eq 0
[ "$T_FAIL" -eq 0 ] || sed 's/^/#   /' "$T_DIR/sleep.out" "$T_DIR/sleep.err"

# a client that does not wake within its sleep duration is lost
lost0=$(counter mqttsn_lost)
cns python3 - "$ROUTER4" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect((sys.argv[1], 1883))
s.send(bytes.fromhex("08040401003c7a7a")); s.recv(10)   # CONNECT "zz", keep-alive 60
s.send(bytes.fromhex("04180001")); s.recv(10)           # DISCONNECT, sleep 1 s
PY
lost=$(wait_counter mqttsn_lost $((lost0 + 1)))
is "a sleeper that does not wake within 1.5 x its duration is lost" "$((lost - lost0))" 1

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
