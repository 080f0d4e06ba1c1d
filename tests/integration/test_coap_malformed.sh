#!/usr/bin/env bash
# Bad input for the CoAP node, one start of ternd (one worker, small limits):
# datagrams shorter than the header, other versions, reserved token lengths,
# reserved option nibbles, extended forms and values running past the end,
# a payload marker with no payload, non-empty empty messages, option numbers
# past 65535, more options than the decoder keeps, an over-long Uri-Path
# segment, Block1/Block2 with SZX 7, a Block1 upload left unfinished,
# ACKs/RSTs/responses/empty NONs nobody asked for, an unknown method, and
# observe registrations from one peer and from 200 spoofed source ports
# against max_observers_per_endpoint, max_observers and max_endpoints.
#
# Each case asserts every answer whole, decoded (type, code, message id,
# token, each option, payload: "RST mid=0401" is exactly 70 00 04 01) or its
# absence (a CON with a format error gets RST with its message id when the
# 4-byte header was readable, RFC 7252 4.2; a NON, an ACK, an RST and
# anything unreadable get nothing, 4.3 and section 3), and the exact increase
# of every coap_* counter (and reply_failed): a counter not named must not
# move. ternd keeps serving (a valid GET at the end) and leaks no mbuf.
. "$(dirname "$0")/lib.sh"
tern_init "$@"
# one worker: the limits are not split, so every count below is exact
EXTRA_CONFIG="coap:
  block1_timeout: 2
  max_observers: 8
  max_observers_per_endpoint: 2
  max_endpoints: 16"
tern_start

P=40001       # the source port of most requests: they share one endpoint
Q=40002       # the peer that observes twice (max_observers_per_endpoint)

# coapc.py: build CoAP messages, send them from a chosen source port, show answers.
cat >"$T_DIR/coapc.py" <<'PY'
import socket, sys

TYPES = {"con": 0, "non": 1, "ack": 2, "rst": 3}
TNAME = ["CON", "NON", "ACK", "RST"]
CODES = {"empty": 0, "get": 1, "post": 2, "put": 3, "delete": 4}
OPTS = {"if-match": 1, "uri-host": 3, "etag": 4, "obs": 6, "uri-port": 7, "path": 11,
        "cf": 12, "max-age": 14, "q": 15, "accept": 17, "b2": 23, "b1": 27, "size2": 28,
        "size1": 60}
ONAME = {1: "If-Match", 3: "Uri-Host", 4: "ETag", 6: "Observe", 7: "Uri-Port",
         11: "Uri-Path", 12: "Content-Format", 14: "Max-Age", 15: "Uri-Query",
         17: "Accept", 23: "Block2", 27: "Block1", 28: "Size2", 60: "Size1"}
UINT = {6, 7, 12, 14, 17, 23, 27, 28, 60}

def uint(v):
    b = b""
    while v:
        b = bytes([v & 0xff]) + b
        v >>= 8
    return b

def ext(v):
    if v < 13:
        return v, b""
    if v < 269:
        return 13, bytes([v - 13])
    return 14, (v - 269).to_bytes(2, "big")

def build(args):
    """TYPE CODE MID [tok=HEX] [path=a/b] [q=S]... [obs=N] [b1=N] [b2=N] [cf=N]
    [opt=NUM:HEX]... [pay=TEXT] [payhex=HEX]; CODE a method name or c.dd"""
    t, code, mid = args[0], args[1], int(args[2], 0)
    if "." in code:
        c, d = code.split(".")
        code = int(c) << 5 | int(d)
    else:
        code = CODES[code]
    tok, opts, pay = b"", [], b""
    for a in args[3:]:
        k, v = a.split("=", 1)
        if k == "tok":
            tok = bytes.fromhex(v)
        elif k == "path":
            opts += [(11, s.encode()) for s in v.split("/")]
        elif k == "q":
            opts.append((15, v.encode()))
        elif k == "opt":
            n, h = v.split(":")
            opts.append((int(n, 0), bytes.fromhex(h)))
        elif k == "pay":
            pay = v.encode()
        elif k == "payhex":
            pay = bytes.fromhex(v)
        else:
            opts.append((OPTS[k], uint(int(v, 0))))
    m = bytes([0x40 | TYPES[t] << 4 | len(tok), code]) + mid.to_bytes(2, "big") + tok
    last = 0
    for n, v in sorted(opts, key=lambda o: o[0]):
        dn, de = ext(n - last)
        ln, le = ext(len(v))
        m += bytes([dn << 4 | ln]) + de + le + v
        last = n
    if pay:
        m += b"\xff" + pay
    return m.hex()

def show(d, mids=True):
    """ACK 2.05 mid=1001 tok=7a ETag Observe=0 Max-Age=60 "v1"; RST mid=1001"""
    if len(d) < 4:
        return "short:" + d.hex()
    t, tkl, code = d[0] >> 4 & 3, d[0] & 15, d[1]
    out = [TNAME[t]] if d[0] >> 6 == 1 else ["v%d" % (d[0] >> 6), TNAME[t]]
    if code:
        out.append("%d.%02d" % (code >> 5, code & 31))
    if mids and t >= 2:
        out.append("mid=%04x" % int.from_bytes(d[2:4], "big"))
    if tkl:
        out.append("tok=" + d[4:4 + tkl].hex())
    i, num = 4 + tkl, 0
    while i < len(d) and d[i] != 0xff:
        dl, ln = d[i] >> 4, d[i] & 15
        i += 1
        for which in (0, 1):
            nib = (dl, ln)[which]
            if nib == 13:
                nib, i = 13 + d[i], i + 1
            elif nib == 14:
                nib, i = 269 + int.from_bytes(d[i:i + 2], "big"), i + 2
            if which:
                ln = nib
            else:
                dl = nib
        num += dl
        v = d[i:i + ln]
        i += ln
        if num in (23, 27):
            b = int.from_bytes(v, "big")
            val = "%d/%s/%d" % (b >> 4, "M" if b & 8 else "_", 16 << (b & 7))
        elif num == 4:
            out.append("ETag")      # a new one per value: its presence only
            continue
        elif num in UINT:
            val = str(int.from_bytes(v, "big"))
        else:
            val = v.decode(errors="replace")
        out.append("%s=%s" % (ONAME.get(num, str(num)), val))
    if i < len(d):
        out.append('"%s"' % d[i + 1:].decode(errors="replace"))
    return " ".join(out)

def sock(sport, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((CLIENT, sport))
    s.connect((ROUTER, 5683))
    s.settimeout(timeout)
    return s

def send(args):
    """[-p SPORT] [-f] HEX...: one answer per message ("-": none in 3 s), or with
    -f each message followed by a ping whose RST fences what came back for it"""
    sport, fence = 0, False
    while args and args[0].startswith("-"):
        if args[0] == "-p":
            sport = int(args[1])
            args = args[2:]
        elif args[0] == "-f":
            fence = True
            args = args[1:]
    s = sock(sport, 3)
    res = []
    for i, h in enumerate(args):
        s.send(bytes.fromhex(h))
        got = []
        if fence:
            ping = bytes([0x40, 0, 0xfe, i])
            s.send(ping)
            while True:
                try:
                    d = s.recv(4096)
                except socket.timeout:
                    got.append("(no fence)")
                    break
                if d == bytes([0x70, 0, 0xfe, i]):
                    break
                got.append(show(d))
        else:
            try:
                got.append(show(s.recv(4096)))
            except socket.timeout:
                pass
        res.append(" + ".join(got) or "-")
    print(" | ".join(res))

def flood(args):
    """FIRST_PORT COUNT HEX: the message from COUNT source ports in turn, each
    waiting for its answer; the answers run-length encoded in order"""
    first, n, m = int(args[0]), int(args[1]), bytes.fromhex(args[2])
    runs = []
    for p in range(first, first + n):
        s = sock(p, 3)
        s.send(m)
        try:
            a = show(s.recv(4096), mids=False)
        except socket.timeout:
            a = "-"
        s.close()
        if runs and runs[-1][1] == a:
            runs[-1][0] += 1
        else:
            runs.append([1, a])
    print(" | ".join("%d x %s" % (c, a) for c, a in runs))

CLIENT, ROUTER = sys.argv[1], sys.argv[2]
print({"build": build, "send": send, "flood": flood}[sys.argv[3]](sys.argv[4:]) or "", end="")
PY
cc() { cns python3 "$T_DIR/coapc.py" "$CLIENT4" "$ROUTER4" "$@"; }
m() { python3 "$T_DIR/coapc.py" - - build "$@"; }
# send [-p SPORT] HEX...: each message's answer; fenced [-p SPORT] HEX...: with a
# ping after each (the node handles one flow in order on one worker, so an
# answer to the message would come before the ping's RST)
send() { cc send "$@"; }
# (fenced runs in $(...): its ping count goes through a file)
fenced() {
	local sport=()
	if [ "$1" = -p ]; then sport=(-p "$2"); shift 2; fi
	echo $# >>"$T_DIR/fences"
	cc send -f "${sport[@]}" "$@"
}

# deltas DESCRIPTION [NAME=N]...: since the last call, these coap_* counters
# grew by exactly N and no other coap_* counter, nor reply_failed, moved. The
# pings of fenced() are added (coap_rx, coap_pings, coap_tx_rst each +1).
snap() { ctl --json stats >"$T_DIR/snap.json"; : >"$T_DIR/fences"; }
deltas() {
	local what=$1 got want
	shift
	ctl --json stats >"$T_DIR/snap2.json"
	read -r got want < <(python3 - "$T_DIR/snap.json" "$T_DIR/snap2.json" \
		"$T_DIR/fences" "$@" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["result"]["total"]
b = json.load(open(sys.argv[2]))["result"]["total"]
want = {}
for kv in sys.argv[4:]:
    k, v = kv.split("=")
    want[k] = want.get(k, 0) + int(v)
f = sum(int(n) for n in open(sys.argv[3]).read().split())
for k in ("coap_rx", "coap_pings", "coap_tx_rst"):
    if f:
        want[k] = want.get(k, 0) + f
got = {k: b[k] - a[k] for k in b
       if (k.startswith("coap_") or k == "reply_failed") and b[k] != a[k]}
fmt = lambda d: ",".join("%s=%d" % kv for kv in sorted(d.items()) if kv[1])
print(fmt(got) or "none", fmt(want) or "none")
PY
	)
	is "$what" "$got" "$want"
	mv "$T_DIR/snap2.json" "$T_DIR/snap.json"
	: >"$T_DIR/fences"
}
j() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); r=d.get("result"); print(eval(sys.argv[1]))' "$1" "$2"
}

# ---- a topic to read and observe ----
is "PUT creates the topic m/t (2.01, its first value)" "$(send -p $P "$(m con put 0x0101 tok=01 path=ps/m/t pay=v1)")" \
	"ACK 2.01 mid=0101 tok=01"
sleep 0.3
is "GET reads it" "$(send -p $P "$(m con get 0x0102 tok=02 path=ps/m/t)")" 'ACK 2.05 mid=0102 tok=02 ETag "v1"'
snap

# ---- the header: unreadable, nothing to answer (RFC 7252 3) ----
is "0, 1 and 3 bytes: no answer" "$(fenced -p $P "" 40 400100)" "- | - | -"
deltas "... counted as coap_err_short" coap_rx=3 coap_err_short=3
is "version 0, 2, 3 (CON): ignored silently" "$(fenced -p $P 00010201 80010202 c0010203)" "- | - | -"
deltas "... counted as coap_err_version" coap_rx=3 coap_err_version=3

# ---- format errors (RFC 7252 3, 3.1, 4.1): a CON gets RST with its id, a NON nothing ----
tkl=()
for t in 9 a b c d e f; do
	tkl+=("4${t}0103${t}0$(python3 -c "print('ab' * 0x$t)")")
done
is "token length 9..15, CON: RST each" "$(fenced -p $P "${tkl[@]}")" \
	"RST mid=0390 | RST mid=03a0 | RST mid=03b0 | RST mid=03c0 | RST mid=03d0 | RST mid=03e0 | RST mid=03f0"
is "token length 9, NON: dropped" "$(fenced -p $P 59010391abababababababababab)" "-"
is "token length 9, ACK: dropped (never RST an ACK)" "$(fenced -p $P 69000392abababababababababab)" "-"
deltas "... counted as coap_err_tkl, 7 RSTs" coap_rx=9 coap_err_tkl=9 coap_tx_rst=7

r=$(fenced -p $P 40010401f0 40010402f1ab "$(m con get 0x0403 tok=77 path=ps/m/t)1f" 400104040f \
	40010405bf7073 50010406f0)
is "option delta nibble 15 (not the marker), length nibble 15: RST, NON dropped" "$r" \
	"RST mid=0401 | RST mid=0402 | RST mid=0403 | RST mid=0404 | RST mid=0405 | -"
deltas "... counted as coap_err_opt_reserved" coap_rx=6 coap_err_opt_reserved=6 coap_tx_rst=5

r=$(fenced -p $P 40010501d0 40010502e000 400105030d 400105040e01 40010505d1 40010506e1ff)
is "extended delta/length (13, 14) running past the end: RST" "$r" \
	"RST mid=0501 | RST mid=0502 | RST mid=0503 | RST mid=0504 | RST mid=0505 | RST mid=0506"
r=$(fenced -p $P 40010507b57073 400105080d05616263 4401050901ab "$(m non get 0x050a path=ps/m)b5")
is "an option value or the token running past the end: RST, NON dropped" "$r" \
	"RST mid=0507 | RST mid=0508 | RST mid=0509 | -"
deltas "... counted as coap_err_trunc" coap_rx=10 coap_err_trunc=10 coap_tx_rst=9

r=$(fenced -p $P 40010601ff "$(m con get 0x0602 path=ps/m/t)ff" "$(m non put 0x0603 path=ps/m/t)ff")
is "a payload marker with no payload: RST, NON dropped" "$r" "RST mid=0601 | RST mid=0602 | -"
deltas "... counted as coap_err_empty_payload" coap_rx=3 coap_err_empty_payload=3 coap_tx_rst=2

r=$(fenced -p $P 410006ab01 4000060201 40000603ff01 4200060401 50000605ab 60000606ab)
is "an empty message with a token, options or payload: RST a CON, drop the others" "$r" \
	"RST mid=06ab | RST mid=0602 | RST mid=0603 | RST mid=0604 | - | -"
deltas "... counted as coap_err_empty_format, not as pings" coap_rx=6 coap_err_empty_format=6 \
	coap_tx_rst=4

# delta 14 + 0xffff = 65804: an option number no message can carry
r=$(fenced -p $P 40010701e0ffff "$(m con get 0x0702 path=ps/m/t)e0fef3" "$(m non get 0x0703)e0ffff")
is "an option number above 65535: RST, NON dropped" "$r" "RST mid=0701 | RST mid=0702 | -"
deltas "... counted as coap_err_opt_number" coap_rx=3 coap_err_opt_number=3 coap_tx_rst=2

# ---- more options than the decoder keeps (32) ----
q29=$(for i in $(seq 29); do printf 'q=%d ' "$i"; done)
q30=$(for i in $(seq 30); do printf 'q=%d ' "$i"; done)
# shellcheck disable=SC2086
r=$(send -p $P "$(m con get 0x0801 tok=08 path=ps/m/t $q29)")
is "32 options (3 Uri-Path, 29 Uri-Query): served" "$r" 'ACK 2.05 mid=0801 tok=08 ETag "v1"'
deltas "... a request" coap_rx=1 coap_requests=1 coap_tx_2xx=1
# shellcheck disable=SC2086
r=$(fenced -p $P "$(m con get 0x0802 tok=08 path=ps/m/t $q30)" "$(m non get 0x0803 path=ps/m/t $q30)")
is "33 options: a CON gets RST (though proto/coap.c calls it no format error), NON dropped" \
	"$r" "RST mid=0802 | -"
deltas "... counted as coap_err_too_many_opts" coap_rx=2 coap_err_too_many_opts=2 coap_tx_rst=1

# ---- a Uri-Path segment over 255 bytes (RFC 7252 5.10: 0-255) ----
# RFC 7252 5.4.3 would make it an unrecognized critical option (4.02); the
# node does not check option lengths: coap_uri_path() joins it into a
# 512-byte buffer, the topic name check allows 65535 bytes; a path past 511
# bytes is -ENOSPC: 4.13. Both are counted as coap_not_found.
seg256=$(python3 -c 'print("x" * 256)')
seg200=$(python3 -c 'print("y" * 200)')
r=$(send -p $P "$(m con get 0x0901 tok=09 path=ps/"$seg256")" \
	"$(m con get 0x0902 tok=09 path=ps/"$seg200"/"$seg200"/"$seg200")")
is "Uri-Path segment of 256 bytes (RFC 7252: 0..255): 4.02; a path over 511 bytes in short segments: 4.13" "$r" \
	"ACK 4.02 mid=0901 tok=09 | ACK 4.13 mid=0902 tok=09"
deltas "... counted as coap_bad_option and coap_too_big" coap_rx=2 coap_requests=2 coap_bad_option=1 coap_too_big=1 coap_tx_4xx=2
r=$(send -p $P "$(m con get 0x0903 tok=09 path=ps/m/t b2=0x00 b2=0x10)")
is "Block2 given twice (not repeatable, critical): 4.02" "$r" "ACK 4.02 mid=0903 tok=09"
deltas "... counted as coap_bad_option" coap_rx=1 coap_requests=1 coap_bad_option=1 coap_tx_4xx=1

# ---- Block options with SZX 7 (BERT: RFC 8323, not over UDP) ----
r=$(send -p $P "$(m con get 0x0a01 tok=0a path=ps/m/t b2=0x07)" "$(m con get 0x0a02 tok=0a path=ps/m/t b2=0x17)" \
	"$(m con put 0x0a03 tok=0a path=ps/m/t b1=0x0f pay=zz)")
is "Block2 SZX 7 (blocks 0 and 1), Block1 SZX 7: 4.02 Bad Option" "$r" \
	"ACK 4.02 mid=0a01 tok=0a | ACK 4.02 mid=0a02 tok=0a | ACK 4.02 mid=0a03 tok=0a"
deltas "... counted as coap_bad_option" coap_rx=3 coap_requests=3 coap_bad_option=3 coap_tx_4xx=3

# ---- messages nobody asked for (RFC 7252 4.2, 4.3) ----
r=$(fenced -p $P 60000b01 70000b02 62450b03abcd)
is "an empty ACK, an empty RST, a piggybacked 2.05 matching nothing: dropped" "$r" "- | - | -"
r=$(fenced -p 40010 60000b04 70000b05)
is "... the same from a peer the node does not know: dropped" "$r" "- | -"
r=$(fenced -p $P 41450b06aa 51450b07aa 40200b08 40c00b09 40e00b0a 50000b0b)
is "a 2.05 as CON: RST; as NON: dropped; classes 1, 6, 7 (reserved): RST; an empty NON: dropped" "$r" \
	"RST mid=0b06 | - | RST mid=0b08 | RST mid=0b09 | RST mid=0b0a | -"
deltas "... all counted as coap_unexpected" coap_rx=11 coap_unexpected=11 coap_tx_rst=4
r=$(send -p $P "$(m con 0.08 0x0c01 tok=0c path=ps/m/t)" "$(m con 0.31 0x0c02 tok=0c path=ps)")
is "an unknown method code: 4.05 (RFC 7252 5.8)" "$r" "ACK 4.05 mid=0c01 tok=0c | ACK 4.05 mid=0c02 tok=0c"
deltas "... counted as requests" coap_rx=2 coap_requests=2 coap_tx_4xx=2

# ---- a Block1 upload that never completes (block1_timeout 2 s) ----
b64=$(python3 -c 'print("b" * 64)')
r=$(send -p $P "$(m con put 0x0d01 tok=0d path=ps/m/up b1=0x0a pay="$b64")")
is "Block1 block 0 (M, 64 bytes): 2.31 Continue" "$r" "ACK 2.31 mid=0d01 tok=0d Block1=0/M/64"
deltas "... a request" coap_rx=1 coap_requests=1 coap_tx_2xx=1
sleep 3.5
# the timers look at a few endpoints per poll: wait_counter gives them margin
is "... no block 1 for 3.5 s: the upload is dropped" "$(wait_counter coap_incomplete 1)" 1
deltas "... counted as coap_incomplete" coap_incomplete=1
r=$(send -p $P "$(m con put 0x0d02 tok=0d path=ps/m/up b1=0x1a pay="$b64")")
is "... then its block 1 gets 4.08 Request Entity Incomplete (RFC 7959 2.9.2)" "$r" "ACK 4.08 mid=0d02 tok=0d"
deltas "... counted as coap_incomplete" coap_rx=1 coap_requests=1 coap_incomplete=1 coap_tx_4xx=1
is "the topic was never created" "$(send -p $P "$(m con get 0x0d03 tok=0d path=ps/m/up)")" "ACK 4.04 mid=0d03 tok=0d"
deltas "... (4.04)" coap_rx=1 coap_requests=1 coap_not_found=1 coap_tx_4xx=1
r=$(send -p $P "$(m con put 0x0d04 tok=0d path=ps/m/up b1=0x0a pay="$b64")" \
	"$(m con put 0x0d05 tok=0d path=ps/m/up b1=0x1a pay="$b64")" \
	"$(m con put 0x0d06 tok=0d path=ps/m/up b1=0x22 pay=end)")
is "the peer uploads again: 2.31, 2.31, 2.01 (a new topic) for the last block" "$r" \
	"ACK 2.31 mid=0d04 tok=0d Block1=0/M/64 | ACK 2.31 mid=0d05 tok=0d Block1=1/M/64 | ACK 2.01 mid=0d06 tok=0d Block1=2/_/64"
deltas "... published (coap_block1)" coap_rx=3 coap_requests=3 coap_block1=1 coap_published=1 \
	coap_tx_2xx=3
# (a GET at once could still see no topic: the 2.04 goes before the topic is made)
sleep 0.3
is "... whole" "$(send -p $P "$(m con get 0x0d07 tok=0d path=ps/m/up)")" "ACK 2.05 mid=0d07 tok=0d ETag \"${b64}${b64}end\""
deltas "... (2.05)" coap_rx=1 coap_requests=1 coap_tx_2xx=1

# ---- observers: one peer's limit ----
r=$(send -p $Q "$(m con get 0x0e01 tok=e1 path=ps/m/t obs=0)" "$(m con get 0x0e02 tok=e2 path=ps/m/t obs=0)" \
	"$(m con get 0x0e03 tok=e3 path=ps/m/t obs=0)")
is "3 registrations from one peer (max_observers_per_endpoint 2): the third gets 5.03" "$r" \
	'ACK 2.05 mid=0e01 tok=e1 ETag Observe=0 Max-Age=60 "v1" | ACK 2.05 mid=0e02 tok=e2 ETag Observe=0 Max-Age=60 "v1" | ACK 5.03 mid=0e03 tok=e3 Max-Age=60'
deltas "... counted (coap_observes 2, coap_limit 1)" coap_rx=3 coap_requests=3 coap_observes=2 \
	coap_limit=1 coap_tx_2xx=2 coap_tx_5xx=1
r=$(ctl --json coap.endpoints)
is "2 endpoints before the flood (ports $P and $Q)" "$(j 'sorted(e["port"] for e in r["endpoints"])' "$r")" "[$P, $Q]"

# ---- observers: 200 spoofed source ports ----
# 16 endpoints: 14 left for new peers. 8 observers: 6 left. So the first 6
# peers observe, the next 8 get an endpoint but no observer (5.03, Max-Age
# coap.max_age), the last 186 get no endpoint: still answered (5.03, Max-Age 1).
r=$(cc flood 41000 200 "$(m con get 0x0f01 tok=0f path=ps/m/t obs=0)")
is "GET Observe:0 from 200 source ports" "$r" \
	'6 x ACK 2.05 tok=0f ETag Observe=0 Max-Age=60 "v1" | 8 x ACK 5.03 tok=0f Max-Age=60 | 186 x ACK 5.03 tok=0f Max-Age=1'
deltas "... counted: 6 observes, 194 coap_limit, 186 coap_no_endpoint" coap_rx=200 coap_requests=200 \
	coap_observes=6 coap_limit=194 coap_no_endpoint=186 coap_tx_2xx=6 coap_tx_5xx=194
r=$(ctl --json coap.observers)
is "observers bounded: max_observers (8)" "$(j 'r["total"]' "$r")" 8
is "... 2 of port $Q, 6 of the flood" \
	"$(j 'sorted(o["port"] for o in r["observers"])' "$r")" "[$Q, $Q, 41000, 41001, 41002, 41003, 41004, 41005]"
r=$(ctl --json coap.endpoints)
is "endpoints bounded: max_endpoints (16)" "$(j 'r["total"]' "$r")" 16

# ---- new peers beyond max_endpoints are still served, without de-duplication ----
get=$(m con get 0x1001 tok=10 path=ps/m/t)
r=$(send -p 42000 "$get" "$get")
is "a GET from a new peer, twice with one id: answered twice" "$r" \
	'ACK 2.05 mid=1001 tok=10 ETag "v1" | ACK 2.05 mid=1001 tok=10 ETag "v1"'
deltas "... handled twice, counted as coap_no_endpoint" coap_rx=2 coap_requests=2 coap_no_endpoint=2 \
	coap_tx_2xx=2
r=$(send -p 42001 "$(m non get 0x1002 tok=10 path=ps/m/t)")
is "a NON GET from a new peer: a NON 2.05" "$r" 'NON 2.05 tok=10 ETag "v1"'
deltas "... counted as coap_no_endpoint" coap_rx=1 coap_requests=1 coap_no_endpoint=1 coap_tx_2xx=1

# ---- still serving ----
is "a valid GET after all that: 2.05" "$(send -p $P "$(m con get 0x1101 tok=11 path=ps/m/t)")" \
	'ACK 2.05 mid=1101 tok=11 ETag "v1"'
deltas "... counted" coap_rx=1 coap_requests=1 coap_tx_2xx=1
is "a ping: RST" "$(send -p $P 40001102)" "RST mid=1102"
deltas "... counted" coap_rx=1 coap_pings=1 coap_tx_rst=1

tern_stop
is "ternd exits 0" "$T_STATUS" 0
check "mbuf audit ok at shutdown" grep -q "mbuf audit: .*: ok" "$T_DIR/ternd.log"
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$T_DIR/ternd.log'"
tern_done
