#!/usr/bin/env bash
# The topic commands of the control socket (topic.list, topic.show,
# topic.stats) against a live ternd whose topics and subscriptions come from
# tern-mqttsn clients: filters, --limit truncation, subscribers per worker,
# the filters behind a delivery set, errors (EINVAL, ENOENT, ENOTSUP with
# both protocol nodes disabled), JSON and human output; no mbuf leaks.
. "$(dirname "$0")/lib.sh"
WORKERS=2
RX_QUEUES=1
MQTTSN_ENABLED=true
tern_init "$@"
MQ=$(dirname "$TERND")/../tests/tools/tern-mqttsn
[ -x "$MQ" ] || MQ=$(cd "$(dirname "$TERND")/.." && pwd)/tests/tools/tern-mqttsn

# the harness's configuration, with the mqttsn section this test wants
eval "$(declare -f tern_config | sed '1s/tern_config/tern_config_base/')"
tern_config() {
	tern_config_base
	printf 'mqttsn:\n  enabled: %s\ncoap:\n  enabled: %s\n' "$MQTTSN_ENABLED" "${COAP_ENABLED:-true}"
}

mq() { cns "$MQ" "$@"; }

# jq-like access to a --json reply: j 'EXPR' REPLY, with r = reply["result"]
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); e=d.get("error"); print(eval(sys.argv[1]))' "$1" "$2"
}

# wait_for DESCRIPTION SHELL-CONDITION: up to 10 s
wait_for() {
	for _ in $(seq 100); do eval "$2" && break; sleep 0.1; done
	check "$1" eval "$2"
}

tern_start

# --- topics and subscriptions from MQTT-SN clients ---
# not through mq(): $! must be tern-mqttsn itself (ip netns exec execs it),
# so that SIGTERM reaches it and it disconnects
ip netns exec "$CNS" "$MQ" -h "$ROUTER4" -i sw sub -t 'room/#' --wait 60 \
	>"$T_DIR/sw.out" 2>"$T_DIR/sw.err" &
pid_sw=$!
ip netns exec "$CNS" "$MQ" -h "$ROUTER4" -i se -q 1 sub -t room/1/temp --wait 60 \
	>"$T_DIR/se.out" 2>"$T_DIR/se.err" &
pid_se=$!
wait_for "two subscriptions in the table" \
	'[ "$(j "r[\"subs\"]" "$(ctl --json topic.stats)")" = 2 ]'
for t in room/1/temp room/2/hum other/x zone/a zone/b zone/c 'zone/é'; do
	check "publish registers topic $t" mq -h "$ROUTER4" -i "p$RANDOM" pub -t "$t" -m hi
done
# retained messages: text, binary, long text, long UTF-8 text
check "retained text on room/2/hum" mq -h "$ROUTER4" -i r1 pub -r -t room/2/hum -m 21.5
check "retained binary on zone/a, QoS 1" mq -h "$ROUTER4" -i r2 -q 1 pub -r -t zone/a -m $'a\x01b'
LONG=$(printf 'x%.0s' $(seq 300))
check "retained 300 bytes on zone/b" mq -h "$ROUTER4" -i r3 pub -r -t zone/b -m "$LONG"
LONGU=a$(printf 'é%.0s' $(seq 200))
check "retained 401 bytes of UTF-8 on zone/é" mq -h "$ROUTER4" -i r4 pub -r -t 'zone/é' -m "$LONGU"
wait_for "four retained messages in the table" \
	'[ "$(j "r[\"retained\"]" "$(ctl --json topic.stats)")" = 4 ]'
ALL='["other/x", "room/1/temp", "room/2/hum", "zone/a", "zone/b", "zone/c", "zone/é"]'

# --- topic.list ---
r=$(ctl --json topic.list)
is "topic.list: every topic, sorted by name" "$(j '[t["name"] for t in r["topics"]]' "$r")" \
	"$(python3 -c "print($ALL)")"
is "topic.list: total 7, shown 7, not truncated" \
	"$(j '(r["total"], r["shown"], r["truncated"])' "$r")" "(7, 7, False)"
is "topic.list: every row has name, number, subscribers, exact, wildcard, retained" \
	"$(j 'all(sorted(t) == ["exact", "name", "number", "retained", "subscribers", "wildcard"] for t in r["topics"])' "$r")" True
is "topic.list: room/1/temp has 2 subscribers, 1 exact and 1 wildcard subscription, no retained" \
	"$(j '[(t["subscribers"], t["exact"], t["wildcard"], t["retained"]) for t in r["topics"] if t["name"] == "room/1/temp"]' "$r")" \
	"[(2, 1, 1, None)]"
is "topic.list: room/2/hum reached by the wildcard only" \
	"$(j '[(t["subscribers"], t["exact"], t["wildcard"]) for t in r["topics"] if t["name"] == "room/2/hum"]' "$r")" \
	"[(1, 0, 1)]"
is "topic.list: retained bytes, or null" \
	"$(j '[t["retained"] for t in r["topics"]]' "$r")" "[None, None, 4, 3, 300, None, 401]"
is "topic.list: topic numbers are distinct, 1..7" \
	"$(j 'sorted(t["number"] for t in r["topics"])' "$r")" "[1, 2, 3, 4, 5, 6, 7]"

r=$(ctl --json topic.list 'room/#')
is "topic.list 'room/#': the two room topics" "$(j '[t["name"] for t in r["topics"]], r["total"]' "$r")" \
	"(['room/1/temp', 'room/2/hum'], 2)"
r=$(ctl --json topic.list 'room/+/temp')
is "topic.list 'room/+/temp': one topic" "$(j '[t["name"] for t in r["topics"]]' "$r")" "['room/1/temp']"
r=$(ctl --json topic.list --filter=zone/+)
is "topic.list --filter=zone/+ (named form)" "$(j 'r["total"]' "$r")" 4
r=$(ctl --json topic.list other/x)
is "topic.list with a plain name: that topic" "$(j '[t["name"] for t in r["topics"]]' "$r")" "['other/x']"
r=$(ctl --json topic.list nothing/here)
is "topic.list with an unknown name: empty, total 0" "$(j '(r["topics"], r["total"], r["truncated"])' "$r")" \
	"([], 0, False)"
r=$(ctl --json topic.list '#')
is "topic.list '#': everything" "$(j 'r["total"]' "$r")" 7

ctl --json topic.list 'room/#/x' >"$T_DIR/bad.json" 2>"$T_DIR/bad.err"
is "topic.list with a bad filter: exit 1" "$?" 1
is "bad filter: EINVAL" "$(j 'e["code"]' "$(cat "$T_DIR/bad.json")")" EINVAL
check "bad filter: the message names the filter and the rule" \
	grep -q "error: EINVAL: 'room/#/x' is not a valid topic filter.*'#' only last" "$T_DIR/bad.err"
ctl topic.list 'ro+m/1' >/dev/null 2>"$T_DIR/bad.err"
is "topic.list with '+' inside a level: exit 1" "$?" 1
check "... EINVAL" grep -q "error: EINVAL:" "$T_DIR/bad.err"

r=$(ctl --json topic.list --limit=3)
is "topic.list --limit=3: the first 3 names" "$(j '[t["name"] for t in r["topics"]]' "$r")" \
	"['other/x', 'room/1/temp', 'room/2/hum']"
is "topic.list --limit=3: truncated, total 7, shown 3" \
	"$(j '(r["truncated"], r["total"], r["shown"])' "$r")" "(True, 7, 3)"
r=$(ctl --json topic.list 'zone/#' --limit=2)
is "topic.list 'zone/#' --limit=2: filter and limit together" \
	"$(j '([t["name"] for t in r["topics"]], r["total"], r["truncated"])' "$r")" \
	"(['zone/a', 'zone/b'], 4, True)"
r=$(ctl --json topic.list --limit=0)
is "topic.list --limit=0: only the count" "$(j '(r["topics"], r["total"], r["truncated"])' "$r")" \
	"([], 7, True)"
ctl topic.list --limit=many >/dev/null 2>"$T_DIR/bad.err"
is "topic.list --limit=many: exit 1" "$?" 1
check "... EINVAL naming 'limit'" grep -q "error: EINVAL: .*'limit'" "$T_DIR/bad.err"
ctl topic.list --limit=100001 >/dev/null 2>"$T_DIR/bad.err"
is "topic.list --limit above 100000: exit 1" "$?" 1

out=$(ctl topic.list)
check "topic.list human: counts, then a table" bash -c "
	grep -q '^total *7$' <<<'$out' && grep -q '^truncated *no$' <<<'$out' &&
	grep -q '^  NAME  *NUMBER  *SUBSCRIBERS  *EXACT  *WILDCARD  *RETAINED$' <<<'$out' &&
	grep -q '^  room/1/temp  *[0-9]*  *2  *1  *1  *-$' <<<'$out'"
# a non-ASCII name keeps the table aligned: the NUMBER column starts at the same column
check "topic.list human: columns stay aligned with a UTF-8 name" python3 -c '
import sys
rows = [l for l in sys.argv[1].splitlines() if l.startswith("  ")]
starts = {l.index(l.split()[1], 2 + len(l.split()[0])) for l in rows}
sys.exit(0 if len(rows) == 8 and len(starts) == 1 else 1)' "$out"

# --- topic.show ---
r=$(ctl --json topic.show room/1/temp)
is "topic.show room/1/temp: name, 2 subscribers, 1 exact, 1 wildcard, not truncated" \
	"$(j '(r["name"], r["subscribers"], r["exact"], r["wildcard"], r["truncated"])' "$r")" \
	"('room/1/temp', 2, 1, 1, False)"
is "topic.show: the delivery set holds 2 refs, grouped by worker" \
	"$(j 'sum(len(v) for v in r["delivery"].values()), all(k.isdigit() and int(k) < 2 for k in r["delivery"])' "$r")" \
	"(2, True)"
is "topic.show: each ref has protocol, session, gen and qos" \
	"$(j 'all(sorted(x) == ["gen", "protocol", "qos", "session"] and x["protocol"] == "mqttsn" for v in r["delivery"].values() for x in v)' "$r")" True
is "topic.show: the QoS of the refs are 0 (room/#) and 1 (room/1/temp)" \
	"$(j 'sorted(x["qos"] for v in r["delivery"].values() for x in v)' "$r")" "[0, 1]"
is "topic.show: the filters behind it" \
	"$(j 'sorted((f["filter"], f["type"], f["qos"]) for f in r["filters"])' "$r")" \
	"[('room/#', 'wildcard', 0), ('room/1/temp', 'exact', 1)]"
is "topic.show: the filters' refs are the delivery set's" \
	"$(j 'sorted((f["worker"], f["session"], f["gen"]) for f in r["filters"]) == sorted((int(k), x["session"], x["gen"]) for k, v in r["delivery"].items() for x in v)' "$r")" True
is "topic.show: no retained message" "$(j 'r["retained"]' "$r")" None
r=$(ctl --json topic.show room/2/hum)
is "topic.show room/2/hum: one wildcard subscriber" \
	"$(j '(r["subscribers"], [(f["filter"], f["type"]) for f in r["filters"]])' "$r")" \
	"(1, [('room/#', 'wildcard')])"
is "topic.show room/2/hum: its retained message as text" \
	"$(j 'r["retained"]' "$r")" \
	"{'len': 4, 'flags': 0, 'encoding': 'text', 'payload': '21.5', 'shown': 4, 'truncated': False}"
r=$(ctl --json topic.show zone/a)
is "topic.show zone/a: a binary retained message as hex, flags = its QoS" \
	"$(j '(r["retained"]["len"], r["retained"]["flags"], r["retained"]["encoding"], r["retained"]["payload"], r["retained"]["truncated"])' "$r")" \
	"(3, 1, 'hex', '610162', False)"
r=$(ctl --json topic.show zone/b)
is "topic.show zone/b: 256 of 300 bytes shown" \
	"$(j '(r["retained"]["len"], r["retained"]["encoding"], r["retained"]["payload"] == "x" * 256, r["retained"]["shown"], r["retained"]["truncated"])' "$r")" \
	"(300, 'text', True, 256, True)"
r=$(ctl --json topic.show 'zone/é')
is "topic.show zone/é: UTF-8 cut on a character boundary (255 bytes)" \
	"$(j '(r["retained"]["len"], r["retained"]["encoding"], r["retained"]["payload"] == "a" + "é" * 127, r["retained"]["shown"])' "$r")" \
	"(401, 'text', True, 255)"
out=$(ctl topic.show room/2/hum)
check "topic.show human: the retained message as a section" bash -c "
	grep -q '^retained:$' <<<'$out' && grep -q '^  payload  *21.5$' <<<'$out'"
r=$(ctl --json topic.show --name=other/x)
is "topic.show --name=other/x: no subscribers, empty delivery set" \
	"$(j '(r["subscribers"], r["delivery"], r["filters"])' "$r")" "(0, {}, [])"
r=$(ctl --json topic.show room/1/temp --limit=1)
is "topic.show --limit=1: one ref and one filter shown, truncated, counts complete" \
	"$(j '(sum(len(v) for v in r["delivery"].values()), len(r["filters"]), r["truncated"], r["subscribers"])' "$r")" \
	"(1, 1, True, 2)"
ctl --json topic.show room/9/none >"$T_DIR/bad.json" 2>"$T_DIR/bad.err"
is "topic.show of an unknown topic: exit 1" "$?" 1
is "... ENOENT" "$(j 'e["code"]' "$(cat "$T_DIR/bad.json")")" ENOENT
check "... the message names it" grep -q "no topic 'room/9/none'" "$T_DIR/bad.err"
ctl topic.show >/dev/null 2>"$T_DIR/bad.err"
is "topic.show without a name: exit 1" "$?" 1
check "... EINVAL" grep -q "error: EINVAL: missing the topic NAME" "$T_DIR/bad.err"

out=$(ctl topic.show room/1/temp)
check "topic.show human: fields, delivery per worker, filters table" bash -c "
	grep -q '^name  *room/1/temp$' <<<'$out' && grep -q '^subscribers  *2$' <<<'$out' &&
	grep -q '^retained  *-$' <<<'$out' && grep -q '^delivery:$' <<<'$out' &&
	grep -q '^    PROTOCOL  SESSION  GEN  QOS$' <<<'$out' && grep -q '^filters:$' <<<'$out' &&
	grep -q '^  FILTER  *TYPE  *PROTOCOL  *WORKER  *SESSION  *GEN  *QOS$' <<<'$out' &&
	grep -q '^  room/#  *wildcard  ' <<<'$out'"

# --- topic.stats ---
r=$(ctl --json topic.stats)
is "topic.stats: 7 topics, 2 subscriptions (1 exact, 1 wildcard), 1 wildcard filter, 2 sessions" \
	"$(j '(r["topics"], r["subs"], r["exact_subs"], r["wild_subs"], r["wild_filters"], r["sessions"])' "$r")" \
	"(7, 2, 1, 1, 1, 2)"
is "topic.stats: 4 retained messages, 708 bytes" "$(j '(r["retained"], r["retained_bytes"])' "$r")" "(4, 708)"
check "topic.stats: delivery sets were published" test "$(j 'r["dsets_published"]' "$r")" -gt 0
is "topic.stats: the configured limits" "$(j '(r["max_topics"], r["max_subs"])' "$r")" "(100000, 100000)"
out=$(ctl topic.stats)
check "topic.stats human: aligned key/value lines" bash -c "
	grep -q '^topics  *7$' <<<'$out' && grep -q '^wild_filters  *1$' <<<'$out'"

# --- retained.delete (admin) ---
r=$(ctl --json retained.delete room/2/hum)
is "retained.delete removes a retained message" "$(j '(r["topic"], r["deleted"])' "$r")" "('room/2/hum', True)"
is "topic.show: no retained message any more" \
	"$(j 'r["retained"]' "$(ctl --json topic.show room/2/hum)")" "None"
is "topic.stats: one retained message less" "$(j 'r["retained"]' "$(ctl --json topic.stats)")" 3
r=$(ctl --json retained.delete room/2/hum; echo "exit=$?")
is "retained.delete again: ENOENT, exit 1" \
	"$(j 'e["code"]' "$(head -1 <<<"$r")") $(tail -1 <<<"$r")" "ENOENT exit=1"
mq -h "$ROUTER4" -i late sub -t room/2/hum --wait 1 >"$T_DIR/late.out" 2>/dev/null
is "a new subscriber gets no retained message after the delete" "$(cat "$T_DIR/late.out")" ""

# --- help ---
out=$(ctl --json help)
is "help lists the topic commands as read, retained.delete as admin" \
	"$(j 'sorted((c["name"], c["access"]) for c in r if c["name"].startswith(("topic.", "retained.")))' "$out")" \
	"[('retained.delete', 'admin'), ('topic.list', 'read'), ('topic.show', 'read'), ('topic.stats', 'read')]"

# --- subscribers leave: their refs go, the topics stay ---
kill -TERM "$pid_sw" "$pid_se"
wait "$pid_sw"; st_sw=$?
wait "$pid_se"; st_se=$?
is "the subscribers disconnected cleanly" "$st_sw $st_se" "0 0"
[ "$st_sw $st_se" = "0 0" ] || sed 's/^/#   /' "$T_DIR/sw.err" "$T_DIR/se.err"
wait_for "after the subscribers disconnect, no subscription is left" \
	'[ "$(j "(r[\"subs\"], r[\"sessions\"])" "$(ctl --json topic.stats)")" = "(0, 0)" ]'
r=$(ctl --json topic.show room/1/temp)
is "topic.show after they left: no subscribers, no filters" \
	"$(j '(r["subscribers"], r["delivery"], r["filters"])' "$r")" "(0, {}, [])"
is "topic.list after they left: still 7 topics" "$(j 'r["total"]' "$(ctl --json topic.list)")" 7

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"

# --- the MQTT-SN node disabled: the CoAP node still has the topic table ---
MQTTSN_ENABLED=false
tern_start
r=$(ctl --json topic.stats)
is "topic.stats with only CoAP running" "$(j 'r["topics"]' "$r")" 0
tern_stop
is "ternd exits 0 (mqttsn disabled, coap enabled)" "$T_STATUS" 0

# --- both disabled: no topic table, ENOTSUP ---
COAP_ENABLED=false
tern_start
for c in topic.list "topic.show a" topic.stats; do
	# shellcheck disable=SC2086
	ctl --json $c >"$T_DIR/off.json" 2>"$T_DIR/off.err"
	is "$c with mqttsn and coap disabled: exit 1" "$?" 1
	is "$c with mqttsn and coap disabled: ENOTSUP" "$(j 'e["code"]' "$(cat "$T_DIR/off.json")")" ENOTSUP
	check "$c with mqttsn and coap disabled: the message says so" \
		grep -q "mqttsn.enabled and coap.enabled are false" "$T_DIR/off.err"
done
tern_stop
is "ternd exits 0 (mqttsn disabled)" "$T_STATUS" 0
check "mbuf audit ok at shutdown (mqttsn disabled)" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report (mqttsn disabled)" bash -c "! grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
