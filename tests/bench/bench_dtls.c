/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench-dtls: what the DTLS 1.2 server engine (control/dtls/dtls.c)
 * costs one control core, beside bare OpenSSL doing the same work in the
 * same run (docs/benchmarks.md, "DTLS").
 *
 * Two sides per row, alternated in rounds so that drift on a shared machine
 * hits both alike:
 *
 *   tern     the engine: dtls_engine_accept() (our cookie exchange, then
 *            DTLSv1_listen() on the peer's SSL), dtls_sess_input(),
 *            dtls_sess_send(), dtls_sess_free();
 *   openssl  one SSL per peer on two BIO_s_mem(), DTLS_server_method() with
 *            the engine's SSL_CTX settings, DTLSv1_listen() with HMAC-SHA256
 *            cookie callbacks, then SSL_accept(), SSL_read(), SSL_write().
 *
 * The client is an OpenSSL DTLS 1.2 client on memory BIOs in the same
 * thread, the same for both sides. A handshake row runs whole handshakes,
 * cookie exchange included (ClientHello, HelloVerifyRequest, ClientHello
 * with cookie, ...), and frees both ends; the client's work is in the total.
 * Every server call goes through a BENCH_SRV function that adds its wall
 * time (CLOCK_MONOTONIC: the thread CPU clock is a system call here) to the
 * side's server time; the figures are the thread's CPU time, split between
 * server and client in the proportion of those wall times. "Server ops/s" is
 * what one core could do if it only served.
 *
 * A record row is server-side only: the client writes a batch of 64-octet
 * messages beforehand (untimed), the server decrypts them one datagram at a
 * time (rx); or the server encrypts one message per datagram (tx) and the
 * client checks the last of each batch (untimed).
 *
 * Instructions: run under callgrind with --collect-atstart=no
 * --toggle-collect='bench_srv_tern_*' (or 'bench_srv_base_*') and --side
 * tern (or openssl); divide by "step_ops" (scripts/bench does).
 */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "control/dtls/dtls.h"

#if defined(__clang__)
#define BENCH_SRV __attribute__((noinline))
#else
#define BENCH_SRV __attribute__((noinline, noipa))
#endif

#define MTU       1200
#define MSG_LEN   64
#define BATCH     1024          /* records per batch */
#define HS_STEPS  16            /* flights before a handshake is given up */
#define ROUNDS    10            /* tern/openssl alternations per row */

static const uint8_t PEER[] = { 192, 0, 2, 1, 0x16, 0x34 };
static const char PSK_ID[] = "bench-dev";
static const uint8_t PSK_KEY[16] = "0123456789abcdef";

/* the engine's suites and groups (control/dtls/dtls.c), for the OpenSSL side */
static const char SRV_CIPHERS[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	"ECDHE-ECDSA-AES128-CCM8:"
	"PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:"
	"ECDHE-PSK-CHACHA20-POLY1305:PSK-CHACHA20-POLY1305";
static const char SRV_GROUPS[] = "X25519:P-256:P-384";

enum side { SIDE_TERN, SIDE_BASE, SIDE_MAX };
static const char *const side_name[SIDE_MAX] = { "tern", "openssl" };

enum kind { K_HS, K_RX, K_TX };

struct workload {
	const char *name;
	enum kind kind;
	const char *cipher;          /* the client offers only this suite */
	bool cert;                   /* certificate suite: ECDHE on P-256 */
};

static const struct workload workloads[] = {
	{ "hs-psk-ccm8",   K_HS, "PSK-AES128-CCM8",               false },
	{ "hs-psk-gcm",    K_HS, "PSK-AES128-GCM-SHA256",         false },
	{ "hs-ecdsa-p256", K_HS, "ECDHE-ECDSA-AES128-GCM-SHA256", true },
	{ "rx-psk-ccm8",   K_RX, "PSK-AES128-CCM8",               false },
	{ "tx-psk-ccm8",   K_TX, "PSK-AES128-CCM8",               false },
	{ "rx-psk-gcm",    K_RX, "PSK-AES128-GCM-SHA256",         false },
	{ "tx-psk-gcm",    K_TX, "PSK-AES128-GCM-SHA256",         false },
};
#define N_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

/* what one side of one row added up */
struct acc {
	uint64_t ops;                /* timed operations */
	uint64_t step_ops;           /* all operations through BENCH_SRV (warm-up too) */
	uint64_t cpu_ns;             /* thread CPU time of the timed loops */
	uint64_t wall_ns;            /* wall time of the timed loops */
	uint64_t srv_wall_ns;        /* wall time inside the server calls */
	unsigned long failed;
};

static struct acc *cur;          /* where BENCH_SRV functions add */
/* a record row's session set-up: not through BENCH_SRV, so callgrind does not count it */
static bool setup;

static uint64_t
clk(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ms(void)
{
	return clk(CLOCK_MONOTONIC) / 1000000u;
}

static void
die(const char *what)
{
	fprintf(stderr, "tern-bench-dtls: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* ---- the client ---- */

struct client {
	SSL *ssl;
	BIO *rb, *wb;
};

static unsigned int
cli_psk_cb(SSL *ssl, const char *hint, char *id, unsigned int id_max,
	   unsigned char *psk, unsigned int psk_max)
{
	(void)ssl, (void)hint;
	if (sizeof(PSK_ID) > id_max || sizeof(PSK_KEY) > psk_max)
		return 0;
	memcpy(id, PSK_ID, sizeof(PSK_ID));
	memcpy(psk, PSK_KEY, sizeof(PSK_KEY));
	return sizeof(PSK_KEY);
}

static SSL_CTX *
cli_ctx_new(const struct workload *w)
{
	SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, w->cipher) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "P-256") != 1)
		die("client SSL_CTX");
	SSL_CTX_set_psk_client_callback(ctx, cli_psk_cb);
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	/* the self-signed server certificate is not checked: the server's cost is the point */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void
cli_new(struct client *c, SSL_CTX *ctx)
{
	c->ssl = SSL_new(ctx);
	c->rb = BIO_new(BIO_s_mem());
	c->wb = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rb == NULL || c->wb == NULL)
		die("client SSL");
	BIO_set_mem_eof_return(c->rb, -1);
	BIO_set_mem_eof_return(c->wb, -1);
	SSL_set_bio(c->ssl, c->rb, c->wb);
	SSL_set_mtu(c->ssl, MTU);
	SSL_set_connect_state(c->ssl);
}

static void
cli_free(struct client *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
}

/* What the client wrote since last time: its records back to back, one datagram. */
static size_t
cli_take(struct client *c, uint8_t *buf, size_t cap)
{
	int n = BIO_read(c->wb, buf, (int)cap);

	return n > 0 ? (size_t)n : 0;
}

/* ---- the tern side: the engine ---- */

static uint8_t obuf[4 * MTU], abuf[16384], dbuf[16384];

BENCH_SRV int
bench_srv_tern_accept(struct dtls_engine *e, const uint8_t *d, size_t n, struct dtls_out *o,
		      struct dtls_sess **s)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);
	int r = dtls_engine_accept(e, PEER, sizeof(PEER), d, n, now_ms(), o, s);

	cur->srv_wall_ns += clk(CLOCK_MONOTONIC) - t0;
	return r;
}

BENCH_SRV int
bench_srv_tern_input(struct dtls_sess *s, const uint8_t *d, size_t n, struct dtls_out *o)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);
	int r = dtls_sess_input(s, d, n, now_ms(), o);

	cur->srv_wall_ns += clk(CLOCK_MONOTONIC) - t0;
	return r;
}

BENCH_SRV void
bench_srv_tern_free(struct dtls_sess *s)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);

	dtls_sess_free(s);
	cur->srv_wall_ns += clk(CLOCK_MONOTONIC) - t0;
}

/* @p n records of @p recs (lengths @p lens) into @p s; @return messages delivered. */
BENCH_SRV unsigned int
bench_srv_tern_rx(struct dtls_sess *s, const uint8_t *recs, const uint16_t *lens, unsigned int n)
{
	uint64_t t = now_ms();
	unsigned int got = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct dtls_out o = DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));

		if (dtls_sess_input(s, recs, lens[i], t, &o) == DTLS_CONTINUE && o.n_msg == 1 &&
		    o.msg_len[0] == MSG_LEN)
			got++;
		recs += lens[i];
	}
	return got;
}

/* @p n messages out of @p s, one datagram each; the last one left in obuf. */
BENCH_SRV unsigned int
bench_srv_tern_tx(struct dtls_sess *s, const uint8_t *msg, unsigned int n, size_t *last_len)
{
	unsigned int sent = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct dtls_out o = DTLS_OUT_INIT(obuf, sizeof(obuf), NULL, 0);

		if (dtls_sess_send(s, msg, MSG_LEN, &o) == 0 && o.n_dgram == 1) {
			sent++;
			*last_len = o.dgram_len[0];
		}
	}
	return sent;
}

static void
give_out(struct client *c, const struct dtls_out *o)
{
	size_t off = 0;

	for (unsigned int i = 0; i < o->n_dgram; i++) {
		BIO_write(c->rb, o->buf + off, o->dgram_len[i]);
		off += o->dgram_len[i];
	}
}

/*
 * One handshake against the engine, from the first ClientHello. @return the
 * open session (and the client in @p c) if @p keep, else NULL with both freed;
 * -1 in *ok on failure.
 */
static struct dtls_sess *
hs_tern(struct dtls_engine *e, SSL_CTX *cctx, struct client *c, bool keep, bool *ok)
{
	struct dtls_sess *s = NULL;
	bool done = false;

	cli_new(c, cctx);
	for (int i = 0; i < HS_STEPS && !done; i++) {
		struct dtls_out o = DTLS_OUT_INIT(obuf, sizeof(obuf), abuf, sizeof(abuf));
		int r = SSL_do_handshake(c->ssl);
		size_t n = cli_take(c, dbuf, sizeof(dbuf));

		if (r == 1)
			done = true;
		else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
			break;
		if (n == 0) {
			if (!done)
				break;  /* the client waits for what nobody sends */
			continue;
		}
		if (s == NULL) {
			if ((setup ? dtls_engine_accept(e, PEER, sizeof(PEER), dbuf, n, now_ms(),
							&o, &s)
				   : bench_srv_tern_accept(e, dbuf, n, &o, &s)) < 0)
				break;
		} else if ((setup ? dtls_sess_input(s, dbuf, n, now_ms(), &o)
				  : bench_srv_tern_input(s, dbuf, n, &o)) != DTLS_CONTINUE) {
			break;
		}
		give_out(c, &o);
	}
	*ok = done && s != NULL && dtls_sess_open(s);
	if (!keep || !*ok) {
		if (setup)
			dtls_sess_free(s);
		else
			bench_srv_tern_free(s);
		cli_free(c);
		return NULL;
	}
	return s;
}

/* ---- the openssl side: an SSL per peer on memory BIOs ---- */

struct base {
	SSL_CTX *ctx;
	EVP_MAC_CTX *mac;            /* keyed once, as the engine's cookie secret */
	BIO_ADDR *addr;
};

struct base_srv {
	SSL *ssl;
	BIO *rb, *wb;
	bool listened;
};

static struct base *base_for_cookie;

static int
base_cookie(uint8_t out[DTLS_COOKIE_LEN])
{
	size_t n = 0;

	/* no address on a memory BIO: the peer octets the engine would get */
	return EVP_MAC_init(base_for_cookie->mac, NULL, 0, NULL) == 1 &&
	       EVP_MAC_update(base_for_cookie->mac, PEER, sizeof(PEER)) == 1 &&
	       EVP_MAC_final(base_for_cookie->mac, out, &n, DTLS_COOKIE_LEN) == 1 &&
	       n == DTLS_COOKIE_LEN;
}

static int
base_cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	(void)ssl;
	if (!base_cookie(cookie))
		return 0;
	*len = DTLS_COOKIE_LEN;
	return 1;
}

static int
base_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	uint8_t c[DTLS_COOKIE_LEN];

	(void)ssl;
	return len == DTLS_COOKIE_LEN && base_cookie(c) &&
	       CRYPTO_memcmp(c, cookie, DTLS_COOKIE_LEN) == 0;
}

static unsigned int
base_psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
	(void)ssl;
	if (identity == NULL || strcmp(identity, PSK_ID) != 0 || max < sizeof(PSK_KEY))
		return 0;
	memcpy(psk, PSK_KEY, sizeof(PSK_KEY));
	return sizeof(PSK_KEY);
}

static void
base_init(struct base *b, const char *cert_file, const char *key_file)
{
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	uint8_t secret[32];
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	b->ctx = SSL_CTX_new(DTLS_server_method());
	b->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
	b->addr = BIO_ADDR_new();
	EVP_MAC_free(mac);
	if (b->ctx == NULL || b->mac == NULL || b->addr == NULL ||
	    RAND_bytes(secret, sizeof(secret)) != 1 || EVP_MAC_CTX_set_params(b->mac, p) != 1 ||
	    EVP_MAC_init(b->mac, secret, sizeof(secret), NULL) != 1 ||
	    SSL_CTX_set_min_proto_version(b->ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(b->ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(b->ctx, SRV_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(b->ctx, SRV_GROUPS) != 1)
		die("OpenSSL server SSL_CTX");
	base_for_cookie = b;
	SSL_CTX_set_options(b->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_COOKIE_EXCHANGE);
	SSL_CTX_set_session_cache_mode(b->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_cookie_generate_cb(b->ctx, base_cookie_gen);
	SSL_CTX_set_cookie_verify_cb(b->ctx, base_cookie_verify);
	SSL_CTX_set_psk_server_callback(b->ctx, base_psk_cb);
	SSL_CTX_set_verify(b->ctx, SSL_VERIFY_NONE, NULL);
	if (cert_file && (SSL_CTX_use_certificate_chain_file(b->ctx, cert_file) != 1 ||
			  SSL_CTX_use_PrivateKey_file(b->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
			  SSL_CTX_check_private_key(b->ctx) != 1))
		die("OpenSSL server certificate");
	OPENSSL_cleanse(secret, sizeof(secret));
}

static void
base_fini(struct base *b)
{
	SSL_CTX_free(b->ctx);
	EVP_MAC_CTX_free(b->mac);
	BIO_ADDR_free(b->addr);
}

/* What the server wrote since last time, into obuf (a copy, as into the engine's dtls_out). */
static size_t
base_flush(struct base_srv *bs)
{
	size_t len = 0;
	int n;

	while (len < sizeof(obuf) &&
	       (n = BIO_read(bs->wb, obuf + len, (int)(sizeof(obuf) - len))) > 0)
		len += (size_t)n;
	return len;
}

/*
 * A datagram to the server: DTLSv1_listen() until the cookie checks (the SSL
 * made at the first ClientHello, as a listening server keeps one), then
 * SSL_accept(). @return 1 handshake done, 0 more to come, -1 failed.
 */
static int
base_input(struct base *b, struct base_srv *bs, const uint8_t *d, size_t n, size_t *olen)
{
	int r, rc = -1;

	if (bs->ssl == NULL) {
		bs->ssl = SSL_new(b->ctx);
		bs->rb = BIO_new(BIO_s_mem());
		bs->wb = BIO_new(BIO_s_mem());
		if (bs->ssl == NULL || bs->rb == NULL || bs->wb == NULL)
			goto out;
		BIO_set_mem_eof_return(bs->rb, -1);
		BIO_set_mem_eof_return(bs->wb, -1);
		SSL_set_bio(bs->ssl, bs->rb, bs->wb);
		SSL_set_mtu(bs->ssl, MTU);
	}
	BIO_write(bs->rb, d, (int)n);
	if (!bs->listened) {
		r = DTLSv1_listen(bs->ssl, b->addr);
		if (r < 0)
			goto out;
		if (r == 0) {
			rc = 0;
			goto out;
		}
		bs->listened = true;
	}
	r = SSL_accept(bs->ssl);
	if (r == 1)
		rc = 1;
	else if (SSL_get_error(bs->ssl, r) == SSL_ERROR_WANT_READ)
		rc = 0;
out:
	*olen = base_flush(bs);
	return rc;
}

static void
base_free(struct base_srv *bs)
{
	SSL_free(bs->ssl);
	memset(bs, 0, sizeof(*bs));
}

BENCH_SRV int
bench_srv_base_input(struct base *b, struct base_srv *bs, const uint8_t *d, size_t n,
		     size_t *olen)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);
	int rc = base_input(b, bs, d, n, olen);

	cur->srv_wall_ns += clk(CLOCK_MONOTONIC) - t0;
	return rc;
}

BENCH_SRV void
bench_srv_base_free(struct base_srv *bs)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);

	base_free(bs);
	cur->srv_wall_ns += clk(CLOCK_MONOTONIC) - t0;
}

BENCH_SRV unsigned int
bench_srv_base_rx(struct base_srv *bs, const uint8_t *recs, const uint16_t *lens, unsigned int n)
{
	unsigned int got = 0;

	for (unsigned int i = 0; i < n; i++) {
		BIO_write(bs->rb, recs, lens[i]);
		if (SSL_read(bs->ssl, abuf, sizeof(abuf)) == MSG_LEN)
			got++;
		recs += lens[i];
	}
	return got;
}

BENCH_SRV unsigned int
bench_srv_base_tx(struct base_srv *bs, const uint8_t *msg, unsigned int n, size_t *last_len)
{
	unsigned int sent = 0;

	for (unsigned int i = 0; i < n; i++) {
		int k;

		if (SSL_write(bs->ssl, msg, MSG_LEN) != MSG_LEN)
			continue;
		k = BIO_read(bs->wb, obuf, sizeof(obuf));
		if (k > 0) {
			sent++;
			*last_len = (size_t)k;
		}
	}
	return sent;
}

static bool
hs_base(struct base *b, SSL_CTX *cctx, struct client *c, struct base_srv *bs, bool keep)
{
	bool done = false, srv_done = false;

	memset(bs, 0, sizeof(*bs));
	cli_new(c, cctx);
	for (int i = 0; i < HS_STEPS && !done; i++) {
		int r = SSL_do_handshake(c->ssl);
		size_t n = cli_take(c, dbuf, sizeof(dbuf)), olen = 0;
		int sr;

		if (r == 1)
			done = true;
		else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
			break;
		if (n == 0) {
			if (!done)
				break;
			continue;
		}
		sr = setup ? base_input(b, bs, dbuf, n, &olen)
			   : bench_srv_base_input(b, bs, dbuf, n, &olen);
		if (sr < 0)
			break;
		if (olen)
			BIO_write(c->rb, obuf, (int)olen);
		srv_done = sr == 1;
	}
	done = done && srv_done;
	if (!keep || !done) {
		if (setup)
			base_free(bs);
		else
			bench_srv_base_free(bs);
		cli_free(c);
	}
	return done;
}

/* ---- records from the client ---- */

static uint8_t recs[BATCH * 128];
static uint16_t rec_len[BATCH];

/* The client writes @p n 64-octet messages; cut its output into records. */
static unsigned int
make_records(struct client *c, unsigned int n, uint64_t seq)
{
	uint8_t msg[MSG_LEN];
	size_t len = 0, off = 0;
	unsigned int k = 0;
	int r;

	memset(msg, 0xa5, sizeof(msg));
	for (unsigned int i = 0; i < n; i++) {
		memcpy(msg, &seq, sizeof(seq));
		seq++;
		if (SSL_write(c->ssl, msg, MSG_LEN) != MSG_LEN)
			die("client SSL_write");
	}
	while (len < sizeof(recs) &&
	       (r = BIO_read(c->wb, recs + len, (int)(sizeof(recs) - len))) > 0)
		len += (size_t)r;
	while (off + 13 <= len && k < n) {
		size_t rl = 13 + ((size_t)recs[off + 11] << 8 | recs[off + 12]);

		rec_len[k++] = (uint16_t)rl;
		off += rl;
	}
	if (k != n || off != len)
		die("client records do not add up");
	return k;
}

/* ---- rows ---- */

struct row {
	const struct workload *w;
	struct acc a[SIDE_MAX];
};

struct opts {
	double seconds;              /* per side per row */
	uint64_t count;              /* instead: operations per side per row */
	bool side_on[SIDE_MAX];
	const char *cert_file, *key_file;
};

static bool
enough(const struct opts *o, const struct acc *a, uint64_t wall_budget_ns, uint64_t t_start)
{
	if (o->count)
		return a->ops >= o->count;
	return clk(CLOCK_MONOTONIC) - t_start >= wall_budget_ns;
}

/* One round of handshakes on one side. */
static void
round_hs(const struct opts *op, struct acc *a, SSL_CTX *cctx, struct dtls_engine *e,
	 struct base *b, enum side sd, uint64_t budget_ns)
{
	uint64_t w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_THREAD_CPUTIME_ID);
	struct client c;

	do {
		bool ok;

		if (sd == SIDE_TERN) {
			hs_tern(e, cctx, &c, false, &ok);
		} else {
			struct base_srv bs;

			ok = hs_base(b, cctx, &c, &bs, false);
		}
		if (!ok && a->failed++ == 0)
			fprintf(stderr, "tern-bench-dtls: %s handshake failed\n", side_name[sd]);
		a->ops++;
		a->step_ops++;
	} while (!enough(op, a, budget_ns, w0) && a->failed < 10);
	a->cpu_ns += clk(CLOCK_THREAD_CPUTIME_ID) - c0;
	a->wall_ns += clk(CLOCK_MONOTONIC) - w0;
}

/* An open session of one side, for the record rows. */
struct sess {
	struct client c;
	struct dtls_sess *s;         /* tern */
	struct base_srv bs;          /* openssl */
	uint64_t seq;
};

static void
sess_open(struct sess *x, enum side sd, SSL_CTX *cctx, struct dtls_engine *e, struct base *b)
{
	bool ok;

	memset(x, 0, sizeof(*x));
	setup = true;
	if (sd == SIDE_TERN)
		x->s = hs_tern(e, cctx, &x->c, true, &ok);
	else
		ok = hs_base(b, cctx, &x->c, &x->bs, true);
	setup = false;
	if (!ok)
		die("record session: handshake failed");
}

static void
sess_close(struct sess *x, enum side sd)
{
	if (sd == SIDE_TERN)
		dtls_sess_free(x->s);
	else
		base_free(&x->bs);
	cli_free(&x->c);
}

static void
round_rec(const struct opts *op, struct acc *a, struct sess *x, enum kind k, enum side sd,
	  uint64_t budget_ns)
{
	uint64_t w_all = clk(CLOCK_MONOTONIC);
	uint8_t msg[MSG_LEN];

	memset(msg, 0x5a, sizeof(msg));
	do {
		unsigned int n = BATCH, got;
		uint64_t w0, c0, dt;
		size_t last = 0;

		if (op->count && op->count - a->ops < n)
			n = (unsigned int)(op->count - a->ops);
		if (k == K_RX) {
			make_records(&x->c, n, x->seq);
			x->seq += n;
		}
		w0 = clk(CLOCK_MONOTONIC);
		c0 = clk(CLOCK_THREAD_CPUTIME_ID);
		if (k == K_RX)
			got = sd == SIDE_TERN ? bench_srv_tern_rx(x->s, recs, rec_len, n) :
			      bench_srv_base_rx(&x->bs, recs, rec_len, n);
		else
			got = sd == SIDE_TERN ? bench_srv_tern_tx(x->s, msg, n, &last) :
			      bench_srv_base_tx(&x->bs, msg, n, &last);
		a->cpu_ns += clk(CLOCK_THREAD_CPUTIME_ID) - c0;
		dt = clk(CLOCK_MONOTONIC) - w0;
		a->wall_ns += dt;
		a->srv_wall_ns += dt;
		a->ops += n;
		a->step_ops += n;
		a->failed += n - got;
		/* the client checks the last datagram of the batch */
		if (k == K_TX && got) {
			BIO_write(x->c.rb, obuf, (int)last);
			if (SSL_read(x->c.ssl, abuf, sizeof(abuf)) != MSG_LEN ||
			    memcmp(abuf, msg, MSG_LEN) != 0)
				a->failed++;
		}
		if (got != n)
			fprintf(stderr, "tern-bench-dtls: %s %s: %u of %u records lost\n",
				side_name[sd], k == K_RX ? "rx" : "tx", n - got, n);
	} while (!enough(op, a, budget_ns, w_all) && a->failed < 10);
}

static void
run_row(const struct opts *op, struct row *row)
{
	const struct workload *w = row->w;
	SSL_CTX *cctx = cli_ctx_new(w);
	struct dtls_conf conf = { .mtu = MTU, .max_handshakes = 1024 };
	struct dtls_engine *e;
	struct base b;
	struct sess x[SIDE_MAX];
	uint64_t budget = (uint64_t)(op->seconds * 1e9 / ROUNDS);
	struct opts one = *op;

	if (w->cert) {
		conf.cert_file = op->cert_file;
		conf.key_file = op->key_file;
	}
	e = dtls_engine_new(&conf, now_ms());
	if (e == NULL || dtls_psk_add(e, (const uint8_t *)PSK_ID, strlen(PSK_ID), PSK_KEY,
				      sizeof(PSK_KEY)) < 0)
		die("dtls_engine_new");
	base_init(&b, w->cert ? op->cert_file : NULL, w->cert ? op->key_file : NULL);
	memset(row->a, 0, sizeof(row->a));

	/* warm-up: caches, OpenSSL's lazily fetched algorithms (counted in step_ops) */
	one.count = w->kind == K_HS ? 2 : BATCH;
	for (int sd = 0; sd < SIDE_MAX; sd++) {
		struct acc wu = { 0 };

		if (!op->side_on[sd])
			continue;
		cur = &row->a[sd];
		if (w->kind == K_HS) {
			round_hs(&one, &wu, cctx, e, &b, sd, 0);
		} else {
			sess_open(&x[sd], sd, cctx, e, &b);
			round_rec(&one, &wu, &x[sd], w->kind, sd, 0);
		}
		row->a[sd] = (struct acc){ .step_ops = wu.step_ops, .failed = wu.failed };
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int sd = 0; sd < SIDE_MAX; sd++) {
			if (!op->side_on[sd])
				continue;
			one = *op;
			/* with a count: a share per round, the rest in the last */
			if (op->count)
				one.count = op->count * (unsigned int)(r + 1) / ROUNDS;
			cur = &row->a[sd];
			if (w->kind == K_HS)
				round_hs(&one, cur, cctx, e, &b, sd, budget);
			else
				round_rec(&one, cur, &x[sd], w->kind, sd, budget);
		}
	}
	for (int sd = 0; sd < SIDE_MAX; sd++)
		if (op->side_on[sd] && w->kind != K_HS)
			sess_close(&x[sd], sd);
	/* every tern handshake went through our cookie exchange; nothing was lost */
	if (dtls_engine_sessions(e) != 0)
		die("sessions left in the engine");
	if (w->kind == K_HS && op->side_on[SIDE_TERN] &&
	    (dtls_counter(e, DTLS_C_HVR_SENT) != row->a[SIDE_TERN].step_ops ||
	     dtls_counter(e, DTLS_C_HS_DONE) != row->a[SIDE_TERN].step_ops))
		die("engine counters: not one cookie exchange and one handshake each");
	if (dtls_counter(e, DTLS_C_DROP_NO_ROOM) || dtls_counter(e, DTLS_C_REC_DISCARDED))
		die("engine counters: datagrams or records dropped");
	base_fini(&b);
	dtls_engine_free(e);
	SSL_CTX_free(cctx);
}

/* ---- output ---- */

static double
per_op(uint64_t ns, uint64_t ops)
{
	return ops ? (double)ns / (double)ops : 0;
}

/* server CPU ns per op: the CPU time in the proportion of wall time spent in the server */
static double
srv_ns(const struct acc *a)
{
	if (a->wall_ns == 0)
		return 0;
	return per_op(a->cpu_ns, a->ops) * (double)a->srv_wall_ns / (double)a->wall_ns;
}

static void
print_row(const struct row *r, bool json)
{
	const struct acc *t = &r->a[SIDE_TERN], *b = &r->a[SIDE_BASE];
	const char *kind = r->w->kind == K_HS ? "handshake" : r->w->kind == K_RX ? "rx" : "tx";

	if (json) {
		printf("{\"workload\":\"%s\",\"kind\":\"%s\",\"cipher\":\"%s\",\"msg_len\":%d",
		       r->w->name, kind, r->w->cipher, MSG_LEN);
		for (int sd = 0; sd < SIDE_MAX; sd++) {
			const struct acc *a = &r->a[sd];

			printf(",\"%s\":{\"ops\":%lu,\"step_ops\":%lu,\"failed\":%lu,"
			       "\"ns_per_op\":%.1f,\"srv_ns_per_op\":%.1f,\"wall_ns_per_op\":%.1f}",
			       side_name[sd], (unsigned long)a->ops, (unsigned long)a->step_ops,
			       a->failed, per_op(a->cpu_ns, a->ops), srv_ns(a),
			       per_op(a->wall_ns, a->ops));
		}
		printf("}\n");
		fflush(stdout);
		return;
	}
	for (int sd = 0; sd < SIDE_MAX; sd++) {
		const struct acc *a = &r->a[sd];

		if (a->ops == 0)
			continue;
		printf("%-14s %-7s %8lu ops %3lu failed  server %9.0f ns (%10.0f/s)", r->w->name,
		       side_name[sd], (unsigned long)a->ops, a->failed, srv_ns(a), 1e9 / srv_ns(a));
		if (r->w->kind == K_HS)
			printf("  client+server %9.0f ns (%9.0f/s)", per_op(a->cpu_ns, a->ops),
			       1e9 / per_op(a->cpu_ns, a->ops));
		printf("\n");
	}
	if (t->ops && b->ops) {
		printf("%-14s tern/openssl (ops/s): server %.2f", r->w->name,
		       srv_ns(b) / srv_ns(t));
		if (r->w->kind == K_HS)
			printf("  client+server %.2f",
			       per_op(b->cpu_ns, b->ops) / per_op(t->cpu_ns, t->ops));
		printf("\n");
	}
	fflush(stdout);
}

/* ---- the certificate ---- */

static void
write_pem(char *path, X509 *x, EVP_PKEY *k)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (f == NULL || (x && PEM_write_X509(f, x) != 1) ||
	    (k && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1))
		die("cannot write the temporary certificate");
	fclose(f);
}

/* A self-signed P-256 certificate and its key, in two temporary files. */
static void
make_cert(char *cert_path, char *key_path)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (k == NULL || x == NULL || name == NULL)
		die("P-256 key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"tern.bench",
				   -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		die("self-signed certificate");
	write_pem(cert_path, x, NULL);
	write_pem(key_path, NULL, k);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Is @p name in the comma-separated list @p wl ("all": every one)? */
static bool
selected(const char *wl, const char *name)
{
	size_t len = strlen(name);
	const char *p = wl;

	if (strcmp(wl, "all") == 0)
		return true;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == wl || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return true;
		p += len;
	}
	return false;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tern-bench-dtls [--workload all|NAME[,NAME...]] [--seconds S]\n"
		"                       [--count N] [--side both|tern|openssl] [--json]\n"
		"  --workload  ");
	for (size_t i = 0; i < N_WORKLOADS; i++)
		fprintf(f, "%s%s", i ? ", " : "", workloads[i].name);
	fprintf(f, "\n"
		"  --seconds S  time per side per row, in %d alternating rounds (default 1)\n"
		"  --count N    instead: operations per side per row (callgrind runs)\n"
		"  --side       run one side only (callgrind runs)\n", ROUNDS);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "side", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char cert_path[] = "/tmp/tern-bench-dtls-cert-XXXXXX";
	char key_path[] = "/tmp/tern-bench-dtls-key-XXXXXX";
	struct opts op = { .seconds = 1.0, .side_on = { true, true } };
	const char *wl = "all";
	bool json = false, need_cert = false, any = false;
	unsigned long failed = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'w': wl = optarg; break;
		case 's': op.seconds = strtod(optarg, NULL); break;
		case 'n': op.count = strtoull(optarg, NULL, 0); break;
		case 'S':
			op.side_on[SIDE_TERN] = strcmp(optarg, "openssl") != 0;
			op.side_on[SIDE_BASE] = strcmp(optarg, "tern") != 0;
			if (strcmp(optarg, "both") && strcmp(optarg, "tern") &&
			    strcmp(optarg, "openssl")) {
				usage(stderr);
				return 2;
			}
			break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (op.seconds <= 0) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < N_WORKLOADS; i++) {
		bool on = selected(wl, workloads[i].name);

		need_cert |= on && workloads[i].cert;
		any |= on;
	}
	if (!any) {
		usage(stderr);
		return 2;
	}
	if (need_cert) {
		make_cert(cert_path, key_path);
		op.cert_file = cert_path;
		op.key_file = key_path;
	}
	for (size_t i = 0; i < N_WORKLOADS; i++) {
		struct row r = { .w = &workloads[i] };

		if (!selected(wl, workloads[i].name))
			continue;
		run_row(&op, &r);
		print_row(&r, json);
		failed += r.a[SIDE_TERN].failed + r.a[SIDE_BASE].failed;
	}
	if (need_cert) {
		unlink(cert_path);
		unlink(key_path);
	}
	return failed ? 1 : 0;
}
