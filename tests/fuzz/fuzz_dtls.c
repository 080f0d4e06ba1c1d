/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the datagram front of the DTLS engine
 * (control/dtls/dtls.c): the ClientHello parser, the cookie check and the
 * HelloVerifyRequest in dtls_engine_accept(), the record walk of
 * dtls_sess_input(), and whatever OpenSSL does behind them.
 *
 * An input is
 *   octet 0   flags: bit 0 splice the cookie: when the first datagram is
 *             answered with a HelloVerifyRequest, send it again with that
 *             cookie in place (so the rest reaches a session); bit 1 the
 *             second peer address for datagrams after the first; bit 2 a
 *             timer tick after every datagram, 3 s apart
 *   then      datagrams, each [len_hi len_lo][len octets] (a short one is
 *             what is left)
 * Datagrams go to dtls_engine_accept() until it makes a session, then to
 * the session. PSK-only engine with one identity; max 4 sessions.
 *
 * fuzz-sources: control/dtls/dtls.c
 * fuzz-libs: libssl
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/dtls/dtls.h"

static struct dtls_engine *engine;
static uint8_t obuf[16384], abuf[16384];

/* Replace the cookie of a ClientHello (layout checked by the engine already). */
static size_t
splice_cookie(const uint8_t *ch, size_t len, const uint8_t *cookie, uint8_t *out, size_t cap)
{
	size_t at = 13 + 12 + 2 + 32, sid, old, rl, hl;

	if (len <= at)
		return 0;
	sid = ch[at];
	at += 1 + sid;
	if (len <= at)
		return 0;
	old = ch[at];
	if (len < at + 1 + old || len - old + DTLS_COOKIE_LEN > cap)
		return 0;
	memcpy(out, ch, at);
	out[at] = DTLS_COOKIE_LEN;
	memcpy(out + at + 1, cookie, DTLS_COOKIE_LEN);
	memcpy(out + at + 1 + DTLS_COOKIE_LEN, ch + at + 1 + old, len - at - 1 - old);
	len = len - old + DTLS_COOKIE_LEN;
	rl = ((size_t)ch[11] << 8 | ch[12]) - old + DTLS_COOKIE_LEN;
	hl = ((size_t)ch[14] << 16 | (size_t)ch[15] << 8 | ch[16]) - old + DTLS_COOKIE_LEN;
	out[11] = (uint8_t)(rl >> 8);
	out[12] = (uint8_t)rl;
	out[14] = out[22] = (uint8_t)(hl >> 16);
	out[15] = out[23] = (uint8_t)(hl >> 8);
	out[16] = out[24] = (uint8_t)hl;
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t peer_a[] = { 192, 0, 2, 1, 0x16, 0x34 };
	static const uint8_t peer_b[] = { 192, 0, 2, 2, 0x16, 0x34 };
	struct dtls_sess *s = NULL;
	uint64_t now = 1000;
	uint8_t flags;
	bool first = true;

	if (engine == NULL) {
		struct dtls_conf c = { .max_sessions = 4, .max_handshakes = 4 };

		engine = dtls_engine_new(&c, 0);
		if (engine == NULL)
			abort();
		dtls_psk_add(engine, (const uint8_t *)"dev1", 4,
			     (const uint8_t *)"0123456789abcdef", 16);
	}
	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	while (size > 0) {
		struct dtls_out o = DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));
		const uint8_t *peer = (flags & 2) && !first ? peer_b : peer_a;
		size_t n = size >= 2 ? (size_t)data[0] << 8 | data[1] : 0;
		const uint8_t *d = data + 2;
		int r;

		if (size < 2 || n > size - 2) {
			d = data;
			n = size;
		}
		size -= (size_t)(d - data) + n;
		data = d + n;

		if (s == NULL) {
			r = dtls_engine_accept(engine, peer, sizeof(peer_a), d, n, now, &o, &s);
			if (r == DTLS_ACCEPT_HVR) {
				if (o.n_dgram != 1 || o.dgram_len[0] != DTLS_HVR_LEN ||
				    o.dgram_len[0] > n)
					abort();   /* the reply must stay a cookie reply */
				if ((flags & 1) && first) {
					uint8_t ch[4096];
					const uint8_t *ck = o.buf + DTLS_HVR_LEN - DTLS_COOKIE_LEN;
					size_t k = splice_cookie(d, n, ck, ch, sizeof(ch));

					o = DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));
					if (k)
						dtls_engine_accept(engine, peer, sizeof(peer_a),
								   ch, k, now, &o, &s);
				}
			} else if (r != DTLS_ACCEPT_DROP && r != DTLS_ACCEPT_NEW) {
				abort();
			}
		} else {
			r = dtls_sess_input(s, d, n, now, &o);
			if (r != DTLS_CONTINUE && r != DTLS_CLOSE)
				abort();
			if (dtls_sess_open(s)) {
				o = DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));
				dtls_sess_send(s, (const uint8_t *)"pong", 4, &o);
			}
		}
		first = false;
		if (flags & 4) {
			now += 3000;
			if (s && dtls_sess_tick(s, now, &o) == DTLS_CLOSE) {
				dtls_sess_free(s);
				s = NULL;
			}
		}
	}
	dtls_sess_free(s);
	if (dtls_engine_sessions(engine) != 0 || dtls_engine_handshakes(engine) != 0)
		abort();
	return 0;
}
