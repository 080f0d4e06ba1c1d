/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DTLS 1.2 server engine: see dtls.h for the design (our own stateless
 * cookie exchange in front of OpenSSL, one in-memory datagram BIO per
 * session, caller-driven time).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "control/dtls/dtls.h"

#define REC_HDR     13          /* type, version, epoch, sequence(6), length */
#define HS_HDR      12          /* type, length(3), message_seq, frag_off(3), frag_len(3) */
#define CT_CCS      20
#define CT_ALERT    21
#define CT_HS       22
#define CT_APP      23
#define HS_CLIENT_HELLO     1
#define HS_HELLO_VERIFY     3
#define PLAIN_MAX   16384       /* SSL3_RT_MAX_PLAIN_LENGTH */

struct psk_ent {
	uint8_t id_len;
	uint8_t key_len;
	uint8_t id[DTLS_PSK_ID_MAX];
	uint8_t key[DTLS_PSK_KEY_MAX];
};

struct dtls_engine {
	SSL_CTX *ctx;
	BIO_METHOD *bio_meth;
	BIO_ADDR *listen_addr;           /* DTLSv1_listen() wants one; unused */
	EVP_MAC *mac;
	EVP_MAC_CTX *cookie_mac[2];      /* keyed with the current / previous secret */
	unsigned int cur;                /* index of the current secret */
	uint64_t next_rotate;
	struct dtls_conf conf;           /* with defaults applied; no file names kept */
	struct psk_ent *psk;
	size_t n_psk, cap_psk;
	uint32_t n_sess, n_hs;
	uint8_t *plain;                  /* PLAIN_MAX scratch for SSL_read() */
	uint64_t ctr[DTLS_C_MAX];
};

enum sess_state { SS_HANDSHAKE, SS_OPEN, SS_CLOSED };

struct dtls_sess {
	struct dtls_engine *e;
	SSL *ssl;
	enum sess_state state;
	enum dtls_sess_reason reason;
	bool counted_hs;                 /* counted in e->n_hs */
	bool saw_ccs;                    /* the client's ChangeCipherSpec went in */
	uint64_t t_start, t_last, rtx_at;
	/* the datagram being fed, and where writes go, during one call only */
	const uint8_t *in;
	size_t in_len;
	struct dtls_out *out;
	uint8_t cookie[DTLS_COOKIE_LEN];
	uint8_t peer_len;
	uint8_t peer[DTLS_PEER_MAX];
	char identity[DTLS_IDENTITY_MAX];
};

static const char *const ctr_names[] = {
#define N(e, n, d) n,
	FOREACH_DTLS_COUNTER(N)
#undef N
};
static const char *const ctr_descs[] = {
#define D(e, n, d) d,
	FOREACH_DTLS_COUNTER(D)
#undef D
};
static const char *const reason_names[] = {
#define N(e, n, d) n,
	FOREACH_DTLS_SESS_REASON(N)
#undef N
};

const char *
dtls_counter_name(enum dtls_counter c)
{
	return (unsigned int)c < DTLS_C_MAX ? ctr_names[c] : NULL;
}

const char *
dtls_counter_desc(enum dtls_counter c)
{
	return (unsigned int)c < DTLS_C_MAX ? ctr_descs[c] : NULL;
}

uint64_t
dtls_counter(const struct dtls_engine *e, enum dtls_counter c)
{
	return e && (unsigned int)c < DTLS_C_MAX ? e->ctr[c] : 0;
}

const char *
dtls_sess_reason_name(enum dtls_sess_reason r)
{
	return (unsigned int)r < DTLS_SESS_R_MAX ? reason_names[r] : NULL;
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* ---- output ---- */

static bool
out_room(const struct dtls_out *o, size_t n)
{
	return o->n_dgram < DTLS_OUT_DGRAMS && o->len <= o->cap && o->cap - o->len >= n;
}

static void
out_dgram(struct dtls_engine *e, struct dtls_out *o, const void *p, size_t n)
{
	if (o == NULL || n > UINT16_MAX || !out_room(o, n)) {
		e->ctr[DTLS_C_DROP_NO_ROOM]++;
		return;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->dgram_len[o->n_dgram++] = (uint16_t)n;
}

static void
out_msg(struct dtls_sess *s, const uint8_t *p, size_t n)
{
	struct dtls_out *o = s->out;

	if (o->n_msg >= DTLS_OUT_MSGS || o->app_len > o->app_cap || o->app_cap - o->app_len < n) {
		s->e->ctr[DTLS_C_DROP_NO_ROOM]++;
		return;
	}
	memcpy(o->app + o->app_len, p, n);
	o->app_len += n;
	o->msg_len[o->n_msg++] = (uint16_t)n;
	o->identity = s->identity;
	s->e->ctr[DTLS_C_APP_RX]++;
}

/* ---- the datagram BIO: reads the datagram being fed, writes into dtls_out ---- */

static int
dbio_write(BIO *b, const char *buf, int n)
{
	struct dtls_sess *s = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	/* A datagram with nowhere to go is lost, as on a wire: DTLS retransmits. */
	if (n > 0)
		out_dgram(s->e, s->out, buf, (size_t)n);
	return n;
}

static int
dbio_read(BIO *b, char *buf, int n)
{
	struct dtls_sess *s = BIO_get_data(b);
	size_t k;

	BIO_clear_retry_flags(b);
	if (s->in == NULL || n <= 0) {
		BIO_set_retry_read(b);
		return -1;
	}
	k = s->in_len < (size_t)n ? s->in_len : (size_t)n;
	memcpy(buf, s->in, k);
	s->in = NULL;
	s->in_len = 0;
	return (int)k;
}

static long
dbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		/* no peer address, no MTU query (SSL_OP_NO_QUERY_MTU), nothing pending */
		return 0;
	}
}

static int
dbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ---- cookies ---- */

static int
cookie_key(struct dtls_engine *e, unsigned int i)
{
	uint8_t secret[32];
	int ok;

	if (RAND_bytes(secret, sizeof(secret)) != 1)
		return -1;
	ok = EVP_MAC_init(e->cookie_mac[i], secret, sizeof(secret), NULL);
	OPENSSL_cleanse(secret, sizeof(secret));
	return ok == 1 ? 0 : -1;
}

static void
rotate(struct dtls_engine *e, uint64_t now_ms)
{
	if (now_ms < e->next_rotate)
		return;
	/* The current secret becomes the previous one; the oldest is replaced. */
	if (cookie_key(e, e->cur ^ 1) == 0) {
		e->cur ^= 1;
		e->ctr[DTLS_C_COOKIE_ROTATED]++;
	}
	e->next_rotate = now_ms + e->conf.cookie_rotate_ms;
}

uint64_t
dtls_engine_tick(struct dtls_engine *e, uint64_t now_ms)
{
	if (e == NULL)
		return UINT64_MAX;
	rotate(e, now_ms);
	return e->next_rotate;
}

static int
cookie_calc(struct dtls_engine *e, unsigned int i, const uint8_t *peer, size_t peer_len,
	    const uint8_t *random, uint8_t out[DTLS_COOKIE_LEN])
{
	EVP_MAC_CTX *m = e->cookie_mac[i];
	size_t n = 0;

	/* init with no key: start over under the key set at rotation */
	if (EVP_MAC_init(m, NULL, 0, NULL) != 1 || EVP_MAC_update(m, peer, peer_len) != 1 ||
	    EVP_MAC_update(m, random, 32) != 1 ||
	    EVP_MAC_final(m, out, &n, DTLS_COOKIE_LEN) != 1 || n != DTLS_COOKIE_LEN)
		return -1;
	return 0;
}

/* OpenSSL's callbacks: it never generates a cookie (we answer ClientHellos
 * without one ourselves) and accepts only the one dtls_engine_accept() checked. */
static int
cookie_gen_cb(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	(void)ssl, (void)cookie, (void)len;
	return 0;
}

static int
cookie_verify_cb(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	struct dtls_sess *s = SSL_get_app_data(ssl);

	return s && len == DTLS_COOKIE_LEN && CRYPTO_memcmp(cookie, s->cookie, len) == 0;
}

/* ---- PSK ---- */

static struct psk_ent *
psk_find(const struct dtls_engine *e, const uint8_t *id, size_t id_len)
{
	for (size_t i = 0; i < e->n_psk; i++)
		if (e->psk[i].id_len == id_len && memcmp(e->psk[i].id, id, id_len) == 0)
			return &e->psk[i];
	return NULL;
}

static unsigned int
psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max)
{
	struct dtls_sess *s = SSL_get_app_data(ssl);
	struct psk_ent *p;

	if (s == NULL || identity == NULL)
		return 0;
	p = psk_find(s->e, (const uint8_t *)identity, strlen(identity));
	if (p == NULL || p->key_len > max) {
		s->e->ctr[DTLS_C_PSK_UNKNOWN]++;
		return 0;
	}
	memcpy(psk, p->key, p->key_len);
	return p->key_len;
}

int
dtls_psk_add(struct dtls_engine *e, const uint8_t *id, size_t id_len,
	     const uint8_t *key, size_t key_len)
{
	struct psk_ent *p;

	if (e == NULL || id == NULL || key == NULL || id_len == 0 || id_len > DTLS_PSK_ID_MAX ||
	    key_len == 0 || key_len > DTLS_PSK_KEY_MAX || memchr(id, 0, id_len))
		return -EINVAL;
	p = psk_find(e, id, id_len);
	if (p == NULL) {
		if (e->n_psk == e->cap_psk) {
			size_t cap = e->cap_psk ? 2 * e->cap_psk : 8;
			struct psk_ent *n = calloc(cap, sizeof(*n));

			if (n == NULL)
				return -ENOMEM;
			/* copy and wipe rather than realloc, which could leave keys behind */
			if (e->n_psk) {
				memcpy(n, e->psk, e->n_psk * sizeof(*n));
				OPENSSL_cleanse(e->psk, e->cap_psk * sizeof(*n));
			}
			free(e->psk);
			e->psk = n;
			e->cap_psk = cap;
		}
		p = &e->psk[e->n_psk++];
		memcpy(p->id, id, id_len);
		p->id_len = (uint8_t)id_len;
	}
	OPENSSL_cleanse(p->key, sizeof(p->key));
	memcpy(p->key, key, key_len);
	p->key_len = (uint8_t)key_len;
	return 0;
}

int
dtls_psk_remove(struct dtls_engine *e, const uint8_t *id, size_t id_len)
{
	struct psk_ent *p;
	size_t i;

	if (e == NULL || id == NULL)
		return -EINVAL;
	p = psk_find(e, id, id_len);
	if (p == NULL)
		return -ENOENT;
	i = (size_t)(p - e->psk);
	memmove(p, p + 1, (e->n_psk - i - 1) * sizeof(*p));
	e->n_psk--;
	OPENSSL_cleanse(&e->psk[e->n_psk], sizeof(*p));
	return 0;
}

size_t
dtls_psk_list(const struct dtls_engine *e,
	      void (*fn)(void *arg, const uint8_t *id, size_t id_len), void *arg)
{
	if (e == NULL)
		return 0;
	for (size_t i = 0; fn && i < e->n_psk; i++)
		fn(arg, e->psk[i].id, e->psk[i].id_len);
	return e->n_psk;
}

/* ---- the engine ---- */

/* Mozilla intermediate (TLS 1.2 part, without DHE: no DH parameters),
 * the CCM8 suite RFC 7252 requires for certificates, and PSK suites. */
static const char cipher_list[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	"ECDHE-ECDSA-AES128-CCM8:"
	"PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:"
	"ECDHE-PSK-CHACHA20-POLY1305:PSK-CHACHA20-POLY1305";

static int
ctx_setup(struct dtls_engine *e, const struct dtls_conf *c)
{
	SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
	int mode = SSL_VERIFY_NONE;

	if (ctx == NULL)
		return -1;
	e->ctx = ctx;
	if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, cipher_list) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
		return -1;
	SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_cookie_generate_cb(ctx, cookie_gen_cb);
	SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify_cb);
	SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);

	if ((c->cert_file == NULL) != (c->key_file == NULL))
		return -1;
	if (c->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, c->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, c->key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)
			return -1;
	} else if (c->verify_client != DTLS_VERIFY_NONE) {
		return -1;
	}
	if (c->ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->ca_file);

		if (names == NULL || SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return -1;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (c->verify_client == DTLS_VERIFY_OPTIONAL)
		mode = SSL_VERIFY_PEER;
	else if (c->verify_client == DTLS_VERIFY_REQUIRED)
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	else if (c->verify_client != DTLS_VERIFY_NONE)
		return -1;
	SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

struct dtls_engine *
dtls_engine_new(const struct dtls_conf *c, uint64_t now_ms)
{
	static const struct dtls_conf none;
	struct dtls_engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	if (c == NULL)
		c = &none;
	e->conf = *c;
	e->conf.cert_file = e->conf.key_file = e->conf.ca_file = NULL;
#define DEF(f, d) do { if (e->conf.f == 0) e->conf.f = (d); } while (0)
	DEF(max_sessions, DTLS_MAX_SESSIONS_DEFAULT);
	DEF(max_handshakes, DTLS_MAX_HANDSHAKES_DEFAULT);
	DEF(handshake_ms, DTLS_HANDSHAKE_MS_DEFAULT);
	DEF(idle_ms, DTLS_IDLE_MS_DEFAULT);
	DEF(cookie_rotate_ms, DTLS_COOKIE_ROTATE_MS_DEFAULT);
	DEF(mtu, DTLS_MTU_DEFAULT);
#undef DEF
	e->plain = malloc(PLAIN_MAX);
	e->listen_addr = BIO_ADDR_new();
	e->bio_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-dtls-dgram");
	e->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (e->plain == NULL || e->listen_addr == NULL || e->bio_meth == NULL || e->mac == NULL)
		goto fail;
	BIO_meth_set_write(e->bio_meth, dbio_write);
	BIO_meth_set_read(e->bio_meth, dbio_read);
	BIO_meth_set_ctrl(e->bio_meth, dbio_ctrl);
	BIO_meth_set_create(e->bio_meth, dbio_create);
	for (int i = 0; i < 2; i++) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		e->cookie_mac[i] = EVP_MAC_CTX_new(e->mac);
		if (e->cookie_mac[i] == NULL || EVP_MAC_CTX_set_params(e->cookie_mac[i], p) != 1 ||
		    cookie_key(e, (unsigned int)i) != 0)
			goto fail;
	}
	e->next_rotate = now_ms + e->conf.cookie_rotate_ms;
	if (ctx_setup(e, c) != 0)
		goto fail;
	return e;
fail:
	dtls_engine_free(e);
	return NULL;
}

void
dtls_engine_free(struct dtls_engine *e)
{
	if (e == NULL)
		return;
	SSL_CTX_free(e->ctx);
	BIO_meth_free(e->bio_meth);
	BIO_ADDR_free(e->listen_addr);
	EVP_MAC_CTX_free(e->cookie_mac[0]);
	EVP_MAC_CTX_free(e->cookie_mac[1]);
	EVP_MAC_free(e->mac);
	if (e->psk)
		OPENSSL_cleanse(e->psk, e->cap_psk * sizeof(*e->psk));
	free(e->psk);
	if (e->plain)
		OPENSSL_cleanse(e->plain, PLAIN_MAX);
	free(e->plain);
	free(e);
}

uint32_t
dtls_engine_sessions(const struct dtls_engine *e)
{
	return e ? e->n_sess : 0;
}

uint32_t
dtls_engine_handshakes(const struct dtls_engine *e)
{
	return e ? e->n_hs : 0;
}

/* ---- sessions ---- */

static void
sess_close(struct dtls_sess *s, enum dtls_sess_reason r)
{
	static const enum dtls_counter ctr[DTLS_SESS_R_MAX] = {
		[DTLS_SESS_R_PEER_CLOSED] = DTLS_C_PEER_CLOSED,
		[DTLS_SESS_R_HS_FAILED] = DTLS_C_HS_FAILED,
		[DTLS_SESS_R_HS_TIMEOUT] = DTLS_C_HS_TIMEOUT,
		[DTLS_SESS_R_IDLE] = DTLS_C_IDLE_TIMEOUT,
		[DTLS_SESS_R_ERROR] = DTLS_C_SESS_ERROR,
	};

	if (s->state == SS_CLOSED)
		return;
	s->state = SS_CLOSED;
	s->reason = r;
	if (ctr[r])   /* 0: not counted here (LOCAL) */
		s->e->ctr[ctr[r]]++;
	if (s->counted_hs) {
		s->counted_hs = false;
		s->e->n_hs--;
	}
}

static void
sess_rtx_time(struct dtls_sess *s, uint64_t now_ms)
{
	struct timeval tv;

	if (DTLSv1_get_timeout(s->ssl, &tv) == 1)
		s->rtx_at = now_ms + (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
	else
		s->rtx_at = UINT64_MAX;
}

static void
sess_identity(struct dtls_sess *s)
{
	const char *psk_id = SSL_get_psk_identity(s->ssl);
	X509 *peer = SSL_get0_peer_certificate(s->ssl);

	s->identity[0] = 0;
	if (psk_id) {
		size_t n = strlen(psk_id);

		if (n >= sizeof(s->identity))
			n = sizeof(s->identity) - 1;
		memcpy(s->identity, psk_id, n);
		s->identity[n] = 0;
	} else if (peer) {
		BIO *m = BIO_new(BIO_s_mem());
		int n;

		if (m && X509_NAME_print_ex(m, X509_get_subject_name(peer), 0,
					    XN_FLAG_RFC2253) >= 0) {
			n = BIO_read(m, s->identity, sizeof(s->identity) - 1);
			s->identity[n > 0 ? n : 0] = 0;
		}
		BIO_free(m);
	}
}

/* Run OpenSSL on what s->in holds: the handshake, then application data. */
/* @return the number of application records read. */
static unsigned int
sess_drive(struct dtls_sess *s, uint64_t now_ms, bool enc_hs)
{
	unsigned int got = 0;
	int r;

	if (s->state == SS_HANDSHAKE) {
		r = SSL_accept(s->ssl);
		if (r == 1) {
			s->state = SS_OPEN;
			s->t_last = now_ms;
			if (s->counted_hs) {
				s->counted_hs = false;
				s->e->n_hs--;
			}
			s->e->ctr[DTLS_C_HS_DONE]++;
			sess_identity(s);
		} else if (SSL_get_error(s->ssl, r) != SSL_ERROR_WANT_READ) {
			sess_close(s, DTLS_SESS_R_HS_FAILED);
		} else if (enc_hs && s->saw_ccs) {
			/* the client's Finished did not decrypt: wrong key (see dtls.h) */
			sess_close(s, DTLS_SESS_R_HS_FAILED);
		} else {
			sess_rtx_time(s, now_ms);
		}
	}
	while (s->state == SS_OPEN) {
		r = SSL_read(s->ssl, s->e->plain, PLAIN_MAX);
		if (r > 0) {
			out_msg(s, s->e->plain, (size_t)r);
			got++;
			s->t_last = now_ms;
			/*
			 * The datagram read and no record left of it: another
			 * SSL_read() would only say "want read" (and cost about
			 * a sixth of a record's work, tests/bench/bench_dtls.c).
			 */
			if (s->in_len == 0 && !SSL_has_pending(s->ssl))
				break;
			continue;
		}
		switch (SSL_get_error(s->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			break;
		case SSL_ERROR_ZERO_RETURN:
			SSL_shutdown(s->ssl);   /* our close_notify */
			sess_close(s, DTLS_SESS_R_PEER_CLOSED);
			break;
		default:
			sess_close(s, DTLS_SESS_R_ERROR);
			break;
		}
		break;
	}
	s->in = NULL;
	return got;
}

/*
 * Check the framing of every record in a datagram before OpenSSL sees it.
 * @return the number of application-data records, or -1 if one is cut short.
 */
static int
walk_records(struct dtls_sess *s, const uint8_t *p, size_t len, bool *enc_hs)
{
	int app = 0;

	*enc_hs = false;
	while (len > 0) {
		size_t rl;

		if (len < REC_HDR)
			return -1;
		rl = be16(p + 11);
		if (rl > len - REC_HDR)
			return -1;
		if (p[0] == CT_APP)
			app++;
		else if (p[0] == CT_CCS)
			s->saw_ccs = true;
		else if (p[0] == CT_HS && be16(p + 3) != 0)
			*enc_hs = true;
		p += REC_HDR + rl;
		len -= REC_HDR + rl;
	}
	return app;
}

int
dtls_sess_input(struct dtls_sess *s, const uint8_t *dgram, size_t len, uint64_t now_ms,
		struct dtls_out *out)
{
	unsigned int got;
	bool enc_hs;
	int app;

	if (s == NULL || out == NULL || (dgram == NULL && len > 0))
		return -EINVAL;
	s->e->ctr[DTLS_C_RX_SESS]++;
	if (s->state == SS_CLOSED) {
		s->e->ctr[DTLS_C_DROP_CLOSED]++;
		out->reason = s->reason;
		return DTLS_CLOSE;
	}
	app = walk_records(s, dgram, len, &enc_hs);
	if (app < 0 || len == 0) {
		s->e->ctr[DTLS_C_DROP_TRUNCATED]++;
		return DTLS_CONTINUE;
	}
	s->in = dgram;
	s->in_len = len;
	s->out = out;
	got = sess_drive(s, now_ms, enc_hs);
	if ((unsigned int)app > got)
		s->e->ctr[DTLS_C_REC_DISCARDED] += (unsigned int)app - got;
	s->out = NULL;
	if (s->state == SS_CLOSED) {
		out->reason = s->reason;
		return DTLS_CLOSE;
	}
	return DTLS_CONTINUE;
}

int
dtls_sess_send(struct dtls_sess *s, const uint8_t *msg, size_t len, struct dtls_out *out)
{
	size_t mtu;
	int r;

	if (s == NULL || msg == NULL || out == NULL || len == 0)
		return -EINVAL;
	if (s->state == SS_CLOSED)
		return -EPIPE;
	if (s->state != SS_OPEN)
		return -EAGAIN;
	mtu = DTLS_get_data_mtu(s->ssl);
	if (mtu == 0 || len > mtu)
		return -EMSGSIZE;
	if (!out_room(out, len + (s->e->conf.mtu - mtu)))
		return -ENOSPC;
	s->out = out;
	r = SSL_write(s->ssl, msg, (int)len);
	s->out = NULL;
	if (r != (int)len)
		return -EIO;
	s->e->ctr[DTLS_C_APP_TX]++;
	return 0;
}

int
dtls_sess_close(struct dtls_sess *s, struct dtls_out *out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	if (s->state == SS_OPEN) {
		s->out = out;
		SSL_shutdown(s->ssl);
		s->out = NULL;
	}
	sess_close(s, DTLS_SESS_R_LOCAL);
	out->reason = s->reason;
	return DTLS_CLOSE;
}

uint64_t
dtls_sess_deadline(const struct dtls_sess *s)
{
	uint64_t d;

	if (s == NULL || s->state == SS_CLOSED)
		return UINT64_MAX;
	if (s->state == SS_OPEN)
		return s->t_last + s->e->conf.idle_ms;
	d = s->t_start + s->e->conf.handshake_ms;
	return s->rtx_at < d ? s->rtx_at : d;
}

int
dtls_sess_tick(struct dtls_sess *s, uint64_t now_ms, struct dtls_out *out)
{
	if (s == NULL || out == NULL)
		return -EINVAL;
	if (s->state == SS_HANDSHAKE && now_ms >= s->t_start + s->e->conf.handshake_ms)
		sess_close(s, DTLS_SESS_R_HS_TIMEOUT);
	else if (s->state == SS_OPEN && now_ms >= s->t_last + s->e->conf.idle_ms)
		sess_close(s, DTLS_SESS_R_IDLE);
	if (s->state == SS_CLOSED) {
		out->reason = s->reason;
		return DTLS_CLOSE;
	}
	if (s->state == SS_HANDSHAKE) {
		/* OpenSSL's retransmission timer runs on the real clock */
		s->out = out;
		DTLSv1_handle_timeout(s->ssl);
		s->out = NULL;
		sess_rtx_time(s, now_ms);
	}
	return DTLS_CONTINUE;
}

void
dtls_sess_free(struct dtls_sess *s)
{
	if (s == NULL)
		return;
	if (s->counted_hs)
		s->e->n_hs--;
	s->e->n_sess--;
	s->out = NULL;
	SSL_free(s->ssl);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

bool
dtls_sess_open(const struct dtls_sess *s)
{
	return s && s->state == SS_OPEN;
}

enum dtls_sess_reason
dtls_sess_reason(const struct dtls_sess *s)
{
	return s ? s->reason : DTLS_SESS_R_OK;
}

const char *
dtls_sess_identity(const struct dtls_sess *s)
{
	return s ? s->identity : "";
}

const char *
dtls_sess_cipher(const struct dtls_sess *s)
{
	if (s == NULL || s->state == SS_HANDSHAKE)
		return "";
	return SSL_get_cipher_name(s->ssl);
}

const uint8_t *
dtls_sess_peer(const struct dtls_sess *s, size_t *len)
{
	if (len)
		*len = s ? s->peer_len : 0;
	return s ? s->peer : NULL;
}

/* ---- the stateless front: ClientHello, cookie, HelloVerifyRequest ---- */

struct hello {
	const uint8_t *rec_seq;          /* 6 octets */
	const uint8_t *random;           /* 32 octets */
	const uint8_t *cookie;
	size_t cookie_len;
	uint16_t msg_seq;
};

/* @return 0 or the DTLS_C_DROP_* counter that says why not. */
static int
parse_hello(const uint8_t *p, size_t len, struct hello *h)
{
	size_t rl, hl, off, n;

	if (len < REC_HDR + HS_HDR)
		return DTLS_C_DROP_SHORT;
	if (p[0] != CT_HS || p[1] != 0xfe || be16(p + 3) != 0 || p[REC_HDR] != HS_CLIENT_HELLO)
		return DTLS_C_DROP_NOT_HELLO;
	rl = be16(p + 11);
	if (rl > len - REC_HDR || rl < HS_HDR)
		return DTLS_C_DROP_MALFORMED;
	p += REC_HDR;
	hl = be24(p + 1);
	if (be24(p + 6) != 0 || be24(p + 9) != hl)
		return DTLS_C_DROP_FRAGMENT;
	if (hl > rl - HS_HDR)
		return DTLS_C_DROP_MALFORMED;
	h->rec_seq = p - REC_HDR + 5;
	h->msg_seq = be16(p + 4);
	p += HS_HDR;
	/* client_version, random, session_id, cookie, cipher_suites, compression */
	off = 2 + 32;
	if (hl < off + 1 || p[0] != 0xfe)
		return DTLS_C_DROP_MALFORMED;
	h->random = p + 2;
	n = p[off];
	if (n > 32 || hl < off + 1 + n + 1)
		return DTLS_C_DROP_MALFORMED;
	off += 1 + n;
	n = p[off];
	if (hl < off + 1 + n + 2)
		return DTLS_C_DROP_MALFORMED;
	h->cookie = p + off + 1;
	h->cookie_len = n;
	off += 1 + n;
	n = be16(p + off);
	if (n < 2 || n % 2 || hl < off + 2 + n + 1)
		return DTLS_C_DROP_MALFORMED;
	off += 2 + n;
	n = p[off];
	if (n < 1 || hl < off + 1 + n)
		return DTLS_C_DROP_MALFORMED;
	return 0;
}

static void
write_hvr(struct dtls_engine *e, const struct hello *h, const uint8_t *cookie,
	  struct dtls_out *out)
{
	uint8_t b[DTLS_HVR_LEN];
	uint8_t *p = b;

	/* record: handshake, DTLS 1.0 as RFC 6347 4.2.1 asks, epoch 0, the
	 * ClientHello's record sequence number */
	*p++ = CT_HS;
	*p++ = 0xfe;
	*p++ = 0xff;
	*p++ = 0;
	*p++ = 0;
	memcpy(p, h->rec_seq, 6);
	p += 6;
	*p++ = 0;
	*p++ = HS_HDR + 3 + DTLS_COOKIE_LEN;
	/* handshake header */
	*p++ = HS_HELLO_VERIFY;
	*p++ = 0;
	*p++ = 0;
	*p++ = 3 + DTLS_COOKIE_LEN;
	*p++ = (uint8_t)(h->msg_seq >> 8);
	*p++ = (uint8_t)h->msg_seq;
	memset(p, 0, 3);
	p += 3;
	*p++ = 0;
	*p++ = 0;
	*p++ = 3 + DTLS_COOKIE_LEN;
	/* server_version, cookie */
	*p++ = 0xfe;
	*p++ = 0xff;
	*p++ = DTLS_COOKIE_LEN;
	memcpy(p, cookie, DTLS_COOKIE_LEN);
	out_dgram(e, out, b, sizeof(b));
	e->ctr[DTLS_C_HVR_SENT]++;
}

static struct dtls_sess *
sess_new(struct dtls_engine *e, const uint8_t *peer, size_t peer_len, uint64_t now_ms)
{
	struct dtls_sess *s = calloc(1, sizeof(*s));
	BIO *b;

	if (s == NULL)
		return NULL;
	s->e = e;
	s->ssl = SSL_new(e->ctx);
	b = BIO_new(e->bio_meth);
	if (s->ssl == NULL || b == NULL) {
		BIO_free(b);
		SSL_free(s->ssl);
		free(s);
		return NULL;
	}
	BIO_set_data(b, s);
	SSL_set_bio(s->ssl, b, b);
	SSL_set_app_data(s->ssl, s);
	SSL_set_mtu(s->ssl, e->conf.mtu);
	memcpy(s->peer, peer, peer_len);
	s->peer_len = (uint8_t)peer_len;
	s->t_start = s->t_last = now_ms;
	s->rtx_at = UINT64_MAX;
	s->counted_hs = true;
	e->n_hs++;
	e->n_sess++;
	return s;
}

int
dtls_engine_accept(struct dtls_engine *e, const uint8_t *peer, size_t peer_len,
		   const uint8_t *dgram, size_t len, uint64_t now_ms,
		   struct dtls_out *out, struct dtls_sess **sess)
{
	uint8_t cookie[DTLS_COOKIE_LEN], prev[DTLS_COOKIE_LEN];
	struct dtls_sess *s;
	struct hello h;
	bool good;
	int why;

	if (e == NULL || peer == NULL || out == NULL || sess == NULL ||
	    (dgram == NULL && len > 0) || peer_len == 0 || peer_len > DTLS_PEER_MAX)
		return -EINVAL;
	*sess = NULL;
	if (!out_room(out, DTLS_HVR_LEN))
		return -ENOSPC;
	e->ctr[DTLS_C_RX_ACCEPT]++;
	rotate(e, now_ms);
	why = parse_hello(dgram, len, &h);
	if (why) {
		e->ctr[why]++;
		return DTLS_ACCEPT_DROP;
	}
	if (cookie_calc(e, e->cur, peer, peer_len, h.random, cookie) != 0) {
		e->ctr[DTLS_C_DROP_NO_MEM]++;
		return DTLS_ACCEPT_DROP;
	}
	good = h.cookie_len == DTLS_COOKIE_LEN &&
	       (CRYPTO_memcmp(h.cookie, cookie, DTLS_COOKIE_LEN) == 0 ||
		(cookie_calc(e, e->cur ^ 1, peer, peer_len, h.random, prev) == 0 &&
		 CRYPTO_memcmp(h.cookie, prev, DTLS_COOKIE_LEN) == 0));
	if (!good) {
		if (h.cookie_len)
			e->ctr[DTLS_C_COOKIE_BAD]++;
		write_hvr(e, &h, cookie, out);
		return DTLS_ACCEPT_HVR;
	}
	if (e->n_sess >= e->conf.max_sessions || e->n_hs >= e->conf.max_handshakes) {
		e->ctr[e->n_sess >= e->conf.max_sessions ? DTLS_C_LIMIT_SESSIONS :
			DTLS_C_LIMIT_HANDSHAKES]++;
		e->ctr[DTLS_C_DROP_LIMIT]++;
		return DTLS_ACCEPT_DROP;
	}
	s = sess_new(e, peer, peer_len, now_ms);
	if (s == NULL) {
		e->ctr[DTLS_C_DROP_NO_MEM]++;
		return DTLS_ACCEPT_DROP;
	}
	memcpy(s->cookie, h.cookie, DTLS_COOKIE_LEN);
	s->in = dgram;
	s->in_len = len;
	s->out = out;
	/* Takes the ClientHello as after a cookie exchange (sequence numbers,
	 * SSL_OP_COOKIE_EXCHANGE); cookie_verify_cb() accepts our cookie. */
	if (DTLSv1_listen(s->ssl, e->listen_addr) != 1) {
		s->out = NULL;
		dtls_sess_free(s);
		ERR_clear_error();
		e->ctr[DTLS_C_DROP_MALFORMED]++;
		return DTLS_ACCEPT_DROP;
	}
	e->ctr[DTLS_C_SESS_NEW]++;
	sess_drive(s, now_ms, false);
	s->out = NULL;
	*sess = s;
	return DTLS_ACCEPT_NEW;
}
