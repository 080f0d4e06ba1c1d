/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DTLS server engine (control/dtls/dtls.c) against real OpenSSL DTLS
 * 1.2 clients in the same process over memory BIOs: the cookie exchange,
 * PSK and ECDSA-certificate handshakes (key and certificates generated
 * here), application data both ways, the identity, forged cookies, replayed,
 * truncated and corrupted records, a wrong PSK, an abandoned handshake, the
 * limits, cookie rotation, close_notify and the idle timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "control/dtls/dtls.h"
#include "tests/unit/tap.h"

static const uint8_t PEER_A[] = { 10, 0, 0, 1, 0x16, 0x34 };
static const uint8_t PEER_B[] = { 10, 0, 0, 2, 0x16, 0x34 };

#define C(e, name) dtls_counter((e), DTLS_C_##name)

/* ---- a client ---- */

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rb, *wb;
};

static const char *cli_psk_id = "dev1";
static const char *cli_psk_key = "0123456789abcdef";

static unsigned int
cli_psk_cb(SSL *ssl, const char *hint, char *id, unsigned int id_max,
	   unsigned char *psk, unsigned int psk_max)
{
	(void)ssl, (void)hint;
	if (strlen(cli_psk_id) + 1 > id_max || strlen(cli_psk_key) > psk_max)
		return 0;
	strcpy(id, cli_psk_id);
	memcpy(psk, cli_psk_key, strlen(cli_psk_key));
	return (unsigned int)strlen(cli_psk_key);
}

static void
cli_init(struct client *c, const char *ciphers, X509 *cert, EVP_PKEY *key)
{
	memset(c, 0, sizeof(*c));
	c->ctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION);
	SSL_CTX_set_cipher_list(c->ctx, ciphers);
	SSL_CTX_set_psk_client_callback(c->ctx, cli_psk_cb);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_QUERY_MTU);
	if (cert) {
		SSL_CTX_use_certificate(c->ctx, cert);
		SSL_CTX_use_PrivateKey(c->ctx, key);
	}
	c->ssl = SSL_new(c->ctx);
	c->rb = BIO_new(BIO_s_mem());
	c->wb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(c->rb, -1);
	BIO_set_mem_eof_return(c->wb, -1);
	SSL_set_bio(c->ssl, c->rb, c->wb);
	SSL_set_mtu(c->ssl, 1200);
	SSL_set_connect_state(c->ssl);
}

static void
cli_free(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
}

/* What the client wrote since last time (records back to back: one datagram). */
static size_t
cli_take(struct client *c, uint8_t *buf, size_t cap)
{
	int n = BIO_read(c->wb, buf, (int)cap);

	return n > 0 ? (size_t)n : 0;
}

static void
cli_give(struct client *c, const struct dtls_out *o)
{
	size_t off = 0;

	for (unsigned int i = 0; i < o->n_dgram; i++) {
		BIO_write(c->rb, o->buf + off, o->dgram_len[i]);
		off += o->dgram_len[i];
	}
}

static uint8_t obuf[8192], abuf[8192];

static struct dtls_out
out_new(void)
{
	return DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));
}

/*
 * Run a handshake between @p c and the engine, from nothing: ClientHello,
 * HelloVerifyRequest, ClientHello with cookie, and on. @return the session
 * (NULL if none was made); *client_ok whether the client finished.
 */
static struct dtls_sess *
handshake(struct dtls_engine *e, struct client *c, const uint8_t *peer, size_t plen,
	  uint64_t now, bool *client_ok)
{
	struct dtls_sess *s = NULL;
	uint8_t d[8192];

	*client_ok = false;
	for (int i = 0; i < 20; i++) {
		struct dtls_out o = out_new();
		size_t n;
		int r = SSL_do_handshake(c->ssl);

		if (r == 1)
			*client_ok = true;
		n = cli_take(c, d, sizeof(d));
		if (n == 0) {
			if (r == 1 || SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
				break;
			continue;
		}
		if (s == NULL) {
			if (dtls_engine_accept(e, peer, plen, d, n, now, &o, &s) < 0)
				break;
		} else if (dtls_sess_input(s, d, n, now, &o) == DTLS_CLOSE) {
			cli_give(c, &o);
			SSL_do_handshake(c->ssl);
			break;
		}
		cli_give(c, &o);
	}
	if (!*client_ok && SSL_do_handshake(c->ssl) == 1)
		*client_ok = true;
	return s;
}

static struct dtls_engine *
psk_engine(const struct dtls_conf *conf)
{
	struct dtls_engine *e = dtls_engine_new(conf, 1000);

	dtls_psk_add(e, (const uint8_t *)"dev1", 4, (const uint8_t *)"0123456789abcdef", 16);
	return e;
}

/* ---- tables, PSK table ---- */

static void
list_cb(void *arg, const uint8_t *id, size_t len)
{
	char *s = arg;

	strncat(s, (const char *)id, len);
	strcat(s, ",");
}

static void
test_tables(void)
{
	struct dtls_engine *e = dtls_engine_new(NULL, 0);
	char ids[256] = "";
	int named = 1;

	for (int i = 0; i < DTLS_C_MAX; i++)
		named &= dtls_counter_name(i) && dtls_counter_desc(i) && *dtls_counter_desc(i);
	ok(named, "every counter has a name and a description");
	ok(dtls_counter_name(DTLS_C_MAX) == NULL, "no name past the table");
	is_str(dtls_sess_reason_name(DTLS_SESS_R_HS_TIMEOUT), "hs_timeout", "reason name");
	ok(e != NULL, "PSK-only engine");
	is_int(dtls_psk_add(e, (const uint8_t *)"a", 1, (const uint8_t *)"k1", 2), 0, "psk add a");
	is_int(dtls_psk_add(e, (const uint8_t *)"b", 1, (const uint8_t *)"k2", 2), 0, "psk add b");
	is_int(dtls_psk_add(e, (const uint8_t *)"a", 1, (const uint8_t *)"k3", 2), 0,
	       "psk replace a");
	is_int(dtls_psk_add(e, (const uint8_t *)"", 0, (const uint8_t *)"k", 1), -EINVAL,
	       "empty id");
	is_int(dtls_psk_add(e, (const uint8_t *)"c", 1, (const uint8_t *)"k", 0), -EINVAL,
	       "empty key");
	is_int(dtls_psk_list(e, list_cb, ids), 2, "two identities");
	is_str(ids, "a,b,", "identities listed in order, no keys");
	is_int(dtls_psk_remove(e, (const uint8_t *)"a", 1), 0, "psk remove");
	is_int(dtls_psk_remove(e, (const uint8_t *)"a", 1), -ENOENT, "psk remove again");
	is_int(dtls_psk_list(e, NULL, NULL), 1, "one left");
	ok(dtls_engine_new(&(struct dtls_conf){ .verify_client = DTLS_VERIFY_REQUIRED }, 0) == NULL,
	   "verify_client without a certificate refused");
	dtls_engine_free(e);
}

/* ---- the cookie exchange ---- */

static void
test_cookie(void)
{
	struct dtls_engine *e = psk_engine(NULL);
	struct client c;
	struct dtls_sess *s = NULL;
	struct dtls_out o = out_new();
	uint8_t ch[2048], ch2[2048];
	size_t n, n2;
	int r;

	cli_init(&c, "PSK-AES128-CCM8", NULL, NULL);
	SSL_do_handshake(c.ssl);
	n = cli_take(&c, ch, sizeof(ch));
	ok(n > DTLS_HVR_LEN, "client wrote a ClientHello (%zu octets)", n);
	r = dtls_engine_accept(e, PEER_A, sizeof(PEER_A), ch, n, 1000, &o, &s);
	is_int(r, DTLS_ACCEPT_HVR, "no cookie: HelloVerifyRequest");
	ok(s == NULL && dtls_engine_sessions(e) == 0, "no session created");
	is_int(o.n_dgram, 1, "one datagram");
	is_int(o.dgram_len[0], DTLS_HVR_LEN, "HelloVerifyRequest is %d octets", DTLS_HVR_LEN);
	ok(o.dgram_len[0] <= n, "reply no larger than the ClientHello");
	is_int(C(e, HVR_SENT), 1, "hvr_sent counted");

	/* the client answers with the cookie */
	cli_give(&c, &o);
	SSL_do_handshake(c.ssl);
	n2 = cli_take(&c, ch2, sizeof(ch2));
	ok(n2 == n + DTLS_COOKIE_LEN, "ClientHello with a cookie");

	/* the same cookie from another address: no session */
	o = out_new();
	r = dtls_engine_accept(e, PEER_B, sizeof(PEER_B), ch2, n2, 1000, &o, &s);
	ok(r == DTLS_ACCEPT_HVR && s == NULL, "cookie from another address: HVR, no session");
	is_int(C(e, COOKIE_BAD), 1, "cookie_bad counted");

	/* a forged cookie: flip a bit of it (it ends 2+32+... before the suites) */
	{
		uint8_t f[2048];
		size_t sid = ch2[13 + 12 + 2 + 32];
		size_t at = 13 + 12 + 2 + 32 + 1 + sid + 1;

		memcpy(f, ch2, n2);
		f[at + 5] ^= 1;
		o = out_new();
		r = dtls_engine_accept(e, PEER_A, sizeof(PEER_A), f, n2, 1000, &o, &s);
		ok(r == DTLS_ACCEPT_HVR && s == NULL, "forged cookie: HVR, no session");
		is_int(dtls_engine_sessions(e), 0, "still no session");
		is_int(C(e, COOKIE_BAD), 2, "cookie_bad counted again");
	}

	/* garbage, truncated, fragmented: dropped and counted */
	o = out_new();
	is_int(dtls_engine_accept(e, PEER_A, sizeof(PEER_A), ch2, 10, 1000, &o, &s),
	       DTLS_ACCEPT_DROP, "10 octets dropped");
	is_int(C(e, DROP_SHORT), 1, "drop_short");
	is_int(dtls_engine_accept(e, PEER_A, sizeof(PEER_A), ch2, n2 - 3, 1000, &o, &s),
	       DTLS_ACCEPT_DROP, "truncated ClientHello dropped");
	is_int(C(e, DROP_MALFORMED), 1, "drop_malformed");
	{
		uint8_t f[2048];

		memcpy(f, ch2, n2);
		f[0] = 23;
		is_int(dtls_engine_accept(e, PEER_A, sizeof(PEER_A), f, n2, 1000, &o, &s),
		       DTLS_ACCEPT_DROP, "application record without a session dropped");
		is_int(C(e, DROP_NOT_HELLO), 1, "drop_not_hello");
		memcpy(f, ch2, n2);
		f[13 + 11] ^= 1;   /* fragment length != length */
		is_int(dtls_engine_accept(e, PEER_A, sizeof(PEER_A), f, n2, 1000, &o, &s),
		       DTLS_ACCEPT_DROP, "fragmented ClientHello dropped");
		is_int(C(e, DROP_FRAGMENT), 1, "drop_fragment");
	}
	is_int(o.n_dgram, 0, "nothing written for drops");

	/* the cookie survives one rotation, not two */
	dtls_engine_tick(e, 1000 + DTLS_COOKIE_ROTATE_MS_DEFAULT);
	is_int(C(e, COOKIE_ROTATED), 1, "secret rotated");
	o = out_new();
	r = dtls_engine_accept(e, PEER_A, sizeof(PEER_A), ch2, n2,
			       1000 + DTLS_COOKIE_ROTATE_MS_DEFAULT, &o, &s);
	ok(r == DTLS_ACCEPT_NEW && s != NULL, "cookie under the previous secret: session");
	ok(o.n_dgram >= 1, "server flight written (%u datagrams)", o.n_dgram);
	is_int(dtls_engine_sessions(e), 1, "one session");
	is_int(dtls_engine_handshakes(e), 1, "one handshake");
	dtls_sess_free(s);
	is_int(dtls_engine_handshakes(e), 0, "freed: no handshake");
	dtls_engine_tick(e, 1000 + 2 * DTLS_COOKIE_ROTATE_MS_DEFAULT);
	o = out_new();
	r = dtls_engine_accept(e, PEER_A, sizeof(PEER_A), ch2, n2,
			       1000 + 2 * DTLS_COOKIE_ROTATE_MS_DEFAULT, &o, &s);
	ok(r == DTLS_ACCEPT_HVR && s == NULL, "after two rotations: HVR again");
	cli_free(&c);
	dtls_engine_free(e);
}

/* ---- PSK handshake, data, replay, damage, close ---- */

static void
test_psk(void)
{
	struct dtls_engine *e = psk_engine(NULL);
	struct dtls_sess *s;
	struct client c;
	struct dtls_out o;
	uint8_t d[2048], rec[2048];
	char rx[64];
	size_t n, rn;
	bool cok;

	cli_init(&c, "PSK-AES128-CCM8", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 2000, &cok);
	ok(s && cok && dtls_sess_open(s), "PSK handshake with the cookie exchange");
	if (!s) {
		cli_free(&c);
		dtls_engine_free(e);
		return;
	}
	is_str(dtls_sess_identity(s), "dev1", "identity is the PSK identity");
	is_str(dtls_sess_cipher(s), "PSK-AES128-CCM8", "cipher PSK-AES128-CCM8");
	is_int(C(e, HS_DONE), 1, "hs_done");
	is_int(dtls_engine_handshakes(e), 0, "no handshake pending");

	/* client -> server */
	SSL_write(c.ssl, "hello", 5);
	rn = cli_take(&c, rec, sizeof(rec));
	o = out_new();
	is_int(dtls_sess_input(s, rec, rn, 2100, &o), DTLS_CONTINUE, "app record in");
	ok(o.n_msg == 1 && o.msg_len[0] == 5 && memcmp(o.app, "hello", 5) == 0,
	   "message decrypted");
	is_str(o.identity, "dev1", "message carries the identity");

	/* replay */
	o = out_new();
	dtls_sess_input(s, rec, rn, 2100, &o);
	is_int(o.n_msg, 0, "replayed record not delivered");
	is_int(C(e, REC_DISCARDED), 1, "rec_discarded counted");

	/* truncated */
	SSL_write(c.ssl, "second", 6);
	n = cli_take(&c, d, sizeof(d));
	o = out_new();
	is_int(dtls_sess_input(s, d, n - 4, 2200, &o), DTLS_CONTINUE, "truncated record");
	ok(o.n_msg == 0 && C(e, DROP_TRUNCATED) == 1, "truncated: dropped, drop_truncated");
	is_int(dtls_sess_input(s, d, 7, 2200, &o), DTLS_CONTINUE, "7 octets");
	is_int(C(e, DROP_TRUNCATED), 2, "short header counted");
	/* corrupted */
	d[n - 3] ^= 0x40;
	is_int(dtls_sess_input(s, d, n, 2200, &o), DTLS_CONTINUE, "corrupted record");
	ok(o.n_msg == 0 && C(e, REC_DISCARDED) == 2, "corrupted: not delivered, counted");
	d[n - 3] ^= 0x40;
	is_int(dtls_sess_input(s, d, n, 2200, &o), DTLS_CONTINUE, "the intact record");
	ok(o.n_msg == 1 && o.msg_len[0] == 6 && memcmp(o.app, "second", 6) == 0,
	   "still delivered after the damage");
	ok(dtls_sess_open(s), "session still open");

	/* the window: a record held back is delivered inside it, refused left of it */
	{
		static uint8_t held[2][256];
		size_t hn[2];
		unsigned int got = 0;
		uint64_t disc = C(e, REC_DISCARDED);

		SSL_write(c.ssl, "old", 3);
		hn[0] = cli_take(&c, held[0], sizeof(held[0]));
		SSL_write(c.ssl, "late", 4);
		hn[1] = cli_take(&c, held[1], sizeof(held[1]));
		for (int i = 0; i < 70; i++) {
			SSL_write(c.ssl, "x", 1);
			n = cli_take(&c, d, sizeof(d));
			o = out_new();
			dtls_sess_input(s, d, n, 2200, &o);
			got += o.n_msg;
			if (i == 10) {
				o = out_new();
				dtls_sess_input(s, held[1], hn[1], 2200, &o);
				ok(o.n_msg == 1 && memcmp(o.app, "late", 4) == 0,
				   "reordered record inside the window delivered");
			}
		}
		is_int(got, 70, "70 records delivered");
		o = out_new();
		dtls_sess_input(s, held[0], hn[0], 2200, &o);
		is_int(o.n_msg, 0, "record left of the window not delivered");
		is_int(C(e, REC_DISCARDED), disc + 1, "and counted");
		o = out_new();
		dtls_sess_input(s, held[1], hn[1], 2200, &o);
		is_int(o.n_msg, 0, "replay inside the window not delivered");
	}

	/* server -> client */
	o = out_new();
	is_int(dtls_sess_send(s, (const uint8_t *)"from tern", 9, &o), 0, "send");
	is_int(o.n_dgram, 1, "one datagram");
	cli_give(&c, &o);
	n = (size_t)SSL_read(c.ssl, rx, sizeof(rx));
	ok(n == 9 && memcmp(rx, "from tern", 9) == 0, "client reads it");
	is_int(C(e, APP_TX), 1, "app_tx");
	memset(d, 'x', sizeof(d));
	is_int(dtls_sess_send(s, d, 1500, &o), -EMSGSIZE, "too long for a record");

	/* idle deadline moves with traffic */
	is_int(dtls_sess_deadline(s), 2200 + DTLS_IDLE_MS_DEFAULT, "idle deadline");

	/* close_notify from the client */
	SSL_shutdown(c.ssl);
	n = cli_take(&c, d, sizeof(d));
	o = out_new();
	is_int(dtls_sess_input(s, d, n, 2300, &o), DTLS_CLOSE, "close_notify: close");
	is_int(o.reason, DTLS_SESS_R_PEER_CLOSED, "reason peer_closed");
	is_int(o.n_dgram, 1, "our close_notify written");
	is_int(C(e, PEER_CLOSED), 1, "peer_closed counted");
	is_int(dtls_sess_send(s, (const uint8_t *)"x", 1, &o), -EPIPE, "no send after close");
	dtls_sess_free(s);
	is_int(dtls_engine_sessions(e), 0, "freed");
	cli_free(&c);

	/* other PSK suites */
	{
		static const char *const suites[] = {
			"PSK-AES128-GCM-SHA256", "ECDHE-PSK-CHACHA20-POLY1305",
		};
		for (size_t i = 0; i < 2; i++) {
			cli_init(&c, suites[i], NULL, NULL);
			s = handshake(e, &c, PEER_A, sizeof(PEER_A), 3000, &cok);
			ok(s && cok, "handshake with %s", suites[i]);
			is_str(dtls_sess_cipher(s), suites[i], "cipher %s", suites[i]);
			dtls_sess_free(s);
			cli_free(&c);
		}
	}

	/* idle timeout */
	cli_init(&c, "PSK-AES128-CCM8", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 4000, &cok);
	o = out_new();
	is_int(dtls_sess_tick(s, 4000 + DTLS_IDLE_MS_DEFAULT - 1, &o), DTLS_CONTINUE,
	       "not idle yet");
	is_int(dtls_sess_tick(s, 4000 + DTLS_IDLE_MS_DEFAULT, &o), DTLS_CLOSE, "idle: close");
	ok(o.reason == DTLS_SESS_R_IDLE && C(e, IDLE_TIMEOUT) == 1, "reason idle, counted");
	dtls_sess_free(s);
	cli_free(&c);
	dtls_engine_free(e);
}

static void
test_bad_psk(void)
{
	struct dtls_engine *e = psk_engine(NULL);
	struct dtls_sess *s;
	struct client c;
	bool cok;

	cli_psk_key = "0123456789abcdeX";
	cli_init(&c, "PSK-AES128-CCM8", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && !cok && !dtls_sess_open(s), "wrong PSK: no handshake");
	is_int(dtls_sess_reason(s), DTLS_SESS_R_HS_FAILED, "wrong PSK: hs_failed");
	is_int(C(e, HS_FAILED), 1, "hs_failed counted");
	is_int(dtls_engine_handshakes(e), 0, "handshake slot released");
	dtls_sess_free(s);
	cli_free(&c);
	cli_psk_key = "0123456789abcdef";

	cli_psk_id = "nobody";
	cli_init(&c, "PSK-AES128-CCM8", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && !cok && dtls_sess_reason(s) == DTLS_SESS_R_HS_FAILED, "unknown identity: failed");
	is_int(C(e, PSK_UNKNOWN), 1, "psk_unknown counted");
	is_int(C(e, HS_FAILED), 2, "hs_failed counted");
	dtls_sess_free(s);
	cli_free(&c);
	cli_psk_id = "dev1";
	dtls_engine_free(e);
}

/* A client that stops after its ClientHello with the cookie; the limits. */
static void
test_deadline_limits(void)
{
	struct dtls_conf conf = { .max_sessions = 2, .max_handshakes = 1, .handshake_ms = 5000 };
	struct dtls_engine *e = psk_engine(&conf);
	struct dtls_sess *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct client c1, c2, c3;
	struct dtls_out o;
	uint8_t d[2048];
	size_t n;
	bool cok;

	/* c1 stops mid-handshake */
	cli_init(&c1, "PSK-AES128-CCM8", NULL, NULL);
	SSL_do_handshake(c1.ssl);
	n = cli_take(&c1, d, sizeof(d));
	o = out_new();
	dtls_engine_accept(e, PEER_A, sizeof(PEER_A), d, n, 1000, &o, &s1);
	cli_give(&c1, &o);
	SSL_do_handshake(c1.ssl);
	n = cli_take(&c1, d, sizeof(d));
	o = out_new();
	is_int(dtls_engine_accept(e, PEER_A, sizeof(PEER_A), d, n, 1000, &o, &s1), DTLS_ACCEPT_NEW,
	       "c1: session");
	ok(dtls_sess_deadline(s1) <= 6000, "deadline within handshake_ms");

	/* a second handshake while c1 is pending: max_handshakes */
	cli_init(&c2, "PSK-AES128-CCM8", NULL, NULL);
	s2 = handshake(e, &c2, PEER_B, sizeof(PEER_B), 1000, &cok);
	ok(s2 == NULL, "max_handshakes: no second session");
	is_int(C(e, LIMIT_HANDSHAKES), 1, "limit_handshakes counted");
	ok(C(e, DROP_LIMIT) >= 1, "drop_limit counted");

	o = out_new();
	is_int(dtls_sess_tick(s1, 5999, &o), DTLS_CONTINUE, "before the deadline");
	is_int(dtls_sess_tick(s1, 6000, &o), DTLS_CLOSE, "deadline: close");
	is_int(o.reason, DTLS_SESS_R_HS_TIMEOUT, "reason hs_timeout");
	is_int(C(e, HS_TIMEOUT), 1, "hs_timeout counted");
	is_int(dtls_engine_handshakes(e), 0, "handshake slot released on timeout");
	o = out_new();
	is_int(dtls_sess_input(s1, d, n, 6001, &o), DTLS_CLOSE, "closed session reads nothing");
	dtls_sess_free(s1);
	cli_free(&c1);
	cli_free(&c2);

	/* max_sessions */
	cli_init(&c1, "PSK-AES128-CCM8", NULL, NULL);
	cli_init(&c2, "PSK-AES128-CCM8", NULL, NULL);
	cli_init(&c3, "PSK-AES128-CCM8", NULL, NULL);
	s1 = handshake(e, &c1, PEER_A, sizeof(PEER_A), 7000, &cok);
	ok(s1 && cok, "session 1");
	s2 = handshake(e, &c2, PEER_B, sizeof(PEER_B), 7000, &cok);
	ok(s2 && cok, "session 2");
	s3 = handshake(e, &c3, (const uint8_t *)"peer-c", 6, 7000, &cok);
	ok(s3 == NULL, "max_sessions: no third session");
	is_int(C(e, LIMIT_SESSIONS), 1, "limit_sessions counted");
	o = out_new();
	is_int(dtls_sess_close(s1, &o), DTLS_CLOSE, "local close");
	ok(o.n_dgram == 1 && o.reason == DTLS_SESS_R_LOCAL, "close_notify sent, reason local");
	cli_give(&c1, &o);
	ok(SSL_read(c1.ssl, d, sizeof(d)) <= 0 &&
	   SSL_get_error(c1.ssl, 0) == SSL_ERROR_ZERO_RETURN, "client sees close_notify");
	dtls_sess_free(s1);
	dtls_sess_free(s2);
	cli_free(&c1);
	cli_free(&c2);
	cli_free(&c3);
	dtls_engine_free(e);
}

/* ---- certificates ---- */

static EVP_PKEY *
gen_key(void)
{
	return EVP_EC_gen("P-256");
}

static X509 *
gen_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
	X509_NAME_free(name);
	return x;
}

static void
write_pem(char *path, X509 *x, EVP_PKEY *k)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	if (x)
		PEM_write_X509(f, x);
	if (k)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static void
test_cert(void)
{
	char cert_path[] = "/tmp/tern-dtls-cert-XXXXXX", key_path[] = "/tmp/tern-dtls-key-XXXXXX";
	char ca_path[] = "/tmp/tern-dtls-ca-XXXXXX";
	EVP_PKEY *skey = gen_key(), *ckey = gen_key();
	X509 *scert = gen_cert(skey, "tern.test", NULL, NULL);
	X509 *ccert = gen_cert(ckey, "device-7", NULL, NULL);
	struct dtls_conf conf = { 0 };
	struct dtls_engine *e;
	struct dtls_sess *s;
	struct client c;
	struct dtls_out o;
	uint8_t d[2048];
	size_t n;
	bool cok;

	write_pem(cert_path, scert, NULL);
	write_pem(key_path, NULL, skey);
	write_pem(ca_path, ccert, NULL);
	conf.cert_file = cert_path;
	conf.key_file = key_path;
	e = dtls_engine_new(&conf, 0);
	ok(e != NULL, "engine with an ECDSA P-256 certificate");

	cli_init(&c, "ECDHE-ECDSA-AES128-GCM-SHA256", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && cok && dtls_sess_open(s), "ECDSA certificate handshake");
	is_str(dtls_sess_cipher(s), "ECDHE-ECDSA-AES128-GCM-SHA256", "cipher");
	is_str(dtls_sess_identity(s), "", "no client certificate: empty identity");
	{
		X509 *pc = SSL_get0_peer_certificate(c.ssl);
		ok(pc && X509_cmp(pc, scert) == 0, "client got our certificate");
	}
	SSL_write(c.ssl, "cert data", 9);
	n = cli_take(&c, d, sizeof(d));
	o = out_new();
	dtls_sess_input(s, d, n, 1100, &o);
	ok(o.n_msg == 1 && memcmp(o.app, "cert data", 9) == 0, "data over the certificate session");
	o = out_new();
	dtls_sess_send(s, (const uint8_t *)"back", 4, &o);
	cli_give(&c, &o);
	ok(SSL_read(c.ssl, d, sizeof(d)) == 4 && memcmp(d, "back", 4) == 0, "and back");
	dtls_sess_free(s);
	cli_free(&c);
	cli_init(&c, "ECDHE-ECDSA-AES128-CCM8", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && cok, "ECDHE-ECDSA-AES128-CCM8 (RFC 7252)");
	dtls_sess_free(s);
	cli_free(&c);
	dtls_engine_free(e);

	/* client certificates required */
	conf.ca_file = ca_path;
	conf.verify_client = DTLS_VERIFY_REQUIRED;
	e = dtls_engine_new(&conf, 0);
	ok(e != NULL, "engine requiring client certificates");
	cli_init(&c, "ECDHE-ECDSA-AES128-GCM-SHA256", ccert, ckey);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && cok && dtls_sess_open(s), "client certificate handshake");
	is_str(dtls_sess_identity(s), "CN=device-7", "identity is the certificate subject");
	dtls_sess_free(s);
	cli_free(&c);
	cli_init(&c, "ECDHE-ECDSA-AES128-GCM-SHA256", NULL, NULL);
	s = handshake(e, &c, PEER_A, sizeof(PEER_A), 1000, &cok);
	ok(s && !cok && dtls_sess_reason(s) == DTLS_SESS_R_HS_FAILED,
	   "no client certificate: handshake fails");
	dtls_sess_free(s);
	cli_free(&c);
	dtls_engine_free(e);

	unlink(cert_path);
	unlink(key_path);
	unlink(ca_path);
	X509_free(scert);
	X509_free(ccert);
	EVP_PKEY_free(skey);
	EVP_PKEY_free(ckey);
}

int
main(void)
{
	test_tables();
	test_cookie();
	test_psk();
	test_bad_psk();
	test_deadline_limits();
	test_cert();
	return done_testing();
}
