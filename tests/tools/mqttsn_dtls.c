/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT-SN over DTLS 1.2 (see mqttsn_dtls.h).
 *
 * The session code above (mqttsn_client.c) keeps its own timers and its
 * poll() on c->fd; this file only has to make the socket look like a
 * datagram socket that carries records. So the socket is non-blocking and
 * SSL_read() is called only when poll() said readable or OpenSSL still holds
 * bytes of an earlier datagram (tmq_pending()): a DTLS datagram may carry
 * several records, and the ones after the first never wake poll() again.
 *
 * The handshake is the one place where OpenSSL's own timer matters: a lost
 * flight is sent again when DTLSv1_handle_timeout() finds the timer expired.
 * The timer callback makes that period --timeout (fixed, like the tool's
 * MQTT-SN retransmissions) and counts the flights sent again; when the timer
 * expires after --retries of them the handshake has failed, so
 * "--timeout 0.5 --retries 1" bounds it as it bounds a CONNECT.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mqttsn_dtls.h"

/* The largest plaintext of one record (RFC 6347 4.1, SSL3_RT_MAX_PLAIN_LENGTH). */
#define DTLS_RECORD_MAX 16384

/*
 * Default cipher lists: for PSK the suite of constrained devices first
 * (RFC 7925: AES-128-CCM-8), for certificates ECDHE with AEAD ciphers.
 */
#define DTLS_PSK_CIPHERS \
	"PSK-AES128-CCM8:PSK-AES128-GCM-SHA256:PSK-AES128-CCM:PSK-AES256-GCM-SHA384:" \
	"PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305:PSK-AES128-CBC-SHA256"
#define DTLS_CERT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:" \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

struct dtls_sess {
	SSL *ssl;
	struct tmq_client *c;
	unsigned int resent;    /* handshake flights sent again */
	/*
	 * The last SSL_read() found nothing to return: whatever OpenSSL still
	 * buffers is not a message (SSL_has_pending() may stay true for a
	 * record of a later epoch), so wait for poll() instead of spinning.
	 */
	bool starved;
	char peer[INET6_ADDRSTRLEN + 16];  /* "ADDRESS port PORT" for messages */
};

/* OpenSSL's error queue as one line, emptied; "no detail" if it is empty. */
static void
ssl_reasons(char *buf, size_t size)
{
	const char *data;
	unsigned long e;
	size_t n = 0;
	int flags;

	buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0 && n + 1 < size) {
		const char *r = ERR_SYSTEM_ERROR(e) ? strerror(ERR_GET_REASON(e)) :
				ERR_reason_error_string(e);
		char code[32];

		if (r == NULL) {
			snprintf(code, sizeof(code), "error %#lx", e);
			r = code;
		}
		n += snprintf(buf + n, size - n, "%s%s", n ? "; " : "", r);
		if (n < size && (flags & ERR_TXT_STRING) && data != NULL && data[0])
			n += snprintf(buf + n, size - n, " (%s)", data);
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "no detail from OpenSSL");
}

/*
 * Retransmit a handshake flight every --timeout, not OpenSSL's doubling
 * 1 s. OpenSSL calls this with 0 when a flight goes out and with the last
 * period when the timer expired and the flight goes out again.
 */
static unsigned int
timer_cb(SSL *ssl, unsigned int timer_us)
{
	struct dtls_sess *s = SSL_get_app_data(ssl);
	const struct tmq_client *c = s->c;

	if (timer_us != 0) {
		s->resent++;
		if (c->verbose)
			fprintf(stderr, "%s%sDTLS: handshake flight sent again (%u)\n",
				c->tag ? c->tag : "", c->tag ? ": " : "", s->resent);
	}
	return (unsigned int)c->timeout_ms * 1000u;
}

static unsigned int
psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
       unsigned char *psk, unsigned int max_psk_len)
{
	const struct tmq_dtls_conf *conf = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	(void)hint;
	if (conf->psk_identity == NULL || strlen(conf->psk_identity) >= max_identity_len ||
	    conf->psk_len > max_psk_len)
		return 0;
	strcpy(identity, conf->psk_identity);
	memcpy(psk, conf->psk, conf->psk_len);
	return (unsigned int)conf->psk_len;
}

void *
tmq_dtls_ctx_new(const struct tmq_dtls_conf *conf)
{
	char why[512];
	char list[sizeof(DTLS_PSK_CIPHERS) + sizeof(DTLS_CERT_CIPHERS) + 1];
	const char *step = "DTLS context";
	SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());

	if (ctx == NULL)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_app_data(ctx, (void *)conf);
	if (conf->psk_identity != NULL)
		SSL_CTX_set_psk_client_callback(ctx, psk_cb);
	/* PSK alone offers PSK suites only; certificates are then not wanted. */
	if (conf->psk_identity == NULL)
		snprintf(list, sizeof(list), "%s", DTLS_CERT_CIPHERS);
	else if (conf->ca != NULL || conf->cert != NULL)
		snprintf(list, sizeof(list), "%s:%s", DTLS_PSK_CIPHERS, DTLS_CERT_CIPHERS);
	else
		snprintf(list, sizeof(list), "%s", DTLS_PSK_CIPHERS);
	step = "--cipher";
	if (!SSL_CTX_set_cipher_list(ctx, conf->cipher != NULL ? conf->cipher : list))
		goto fail;
	if (conf->ca != NULL) {
		step = conf->ca;
		if (!SSL_CTX_load_verify_locations(ctx, conf->ca, NULL))
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (conf->cert != NULL) {
		step = conf->cert;
		if (!SSL_CTX_use_certificate_chain_file(ctx, conf->cert))
			goto fail;
		step = conf->key;
		if (!SSL_CTX_use_PrivateKey_file(ctx, conf->key, SSL_FILETYPE_PEM))
			goto fail;
		step = "--key";
		if (!SSL_CTX_check_private_key(ctx))
			goto fail;
	}
	return ctx;
fail:
	ssl_reasons(why, sizeof(why));
	tmq_error(NULL, "DTLS: %s: %s", step, why);
	SSL_CTX_free(ctx);
	return NULL;
}

void
tmq_dtls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

int
tmq_dtls_psk_hex(struct tmq_dtls_conf *conf, const char *hex)
{
	size_t i, n;

	if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
		hex += 2;
	n = strlen(hex);
	if (n == 0 || n % 2 != 0 || n / 2 > sizeof(conf->psk))
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		char pair[3] = { hex[2 * i], hex[2 * i + 1], '\0' };
		char *end;

		conf->psk[i] = (uint8_t)strtoul(pair, &end, 16);
		if (*end != '\0' || pair[0] == '+' || pair[0] == '-' || pair[0] == ' ')
			return -EINVAL;
	}
	conf->psk_len = n / 2;
	return 0;
}

int
tmq_dtls_psk_text(struct tmq_dtls_conf *conf, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n > sizeof(conf->psk))
		return -EINVAL;
	memcpy(conf->psk, text, n);
	conf->psk_len = n;
	return 0;
}

/* The connected socket's peer as a BIO_ADDR and as text. */
static int
peer_addr(struct tmq_client *c, struct dtls_sess *s, BIO_ADDR *ba)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN], serv[8];
	int ok;

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(s->peer, sizeof(s->peer), "%s port %s", host, serv);
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		ok = BIO_ADDR_rawmake(ba, AF_INET6, &a->sin6_addr, sizeof(a->sin6_addr),
				      a->sin6_port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		ok = BIO_ADDR_rawmake(ba, AF_INET, &a->sin_addr, sizeof(a->sin_addr), a->sin_port);
	}
	return ok ? 0 : -EINVAL;
}

static void
report_session(const struct tmq_client *c, const struct dtls_sess *s)
{
	const struct tmq_dtls_conf *conf = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s->ssl));
	X509 *cert = SSL_get0_peer_certificate(s->ssl);
	char subject[256] = "";

	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	fprintf(stderr, "%s%sDTLS: %s %s with %s, %s%s%s\n", c->tag ? c->tag : "",
		c->tag ? ": " : "", SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl),
		s->peer, cert == NULL ? "PSK identity " : "server ",
		cert == NULL ? (conf->psk_identity ? conf->psk_identity : "?") : subject,
		cert == NULL ? "" : conf->ca ? " (verified)" : " (not verified: no --ca)");
}

static int
handshake_failed(struct tmq_client *c, struct dtls_sess *s, int err)
{
	long vr = SSL_get_verify_result(s->ssl);
	char why[512];

	if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		tmq_error(c, "DTLS handshake with %s failed: %s", s->peer,
			  errno ? strerror(errno) : "socket error");
		return errno ? -errno : -EIO;
	}
	ssl_reasons(why, sizeof(why));
	if (vr != X509_V_OK)
		tmq_error(c, "DTLS handshake with %s failed: %s: %s", s->peer, why,
			  X509_verify_cert_error_string(vr));
	else
		tmq_error(c, "DTLS handshake with %s failed: %s", s->peer, why);
	return -EPROTO;
}

static int
handshake_timeout(struct tmq_client *c, struct dtls_sess *s)
{
	OSSL_HANDSHAKE_STATE st = SSL_get_state(s->ssl);
	bool answered = st != TLS_ST_BEFORE && st != TLS_ST_CW_CLNT_HELLO;

	/* A gateway that answered, then fell silent, most likely dropped our Finished. */
	tmq_error(c, "timeout: DTLS handshake with %s not complete after %u attempt%s of %d ms"
		  "%s%s%s", s->peer, s->resent + 1, s->resent ? "s" : "", c->timeout_ms,
		  c->refused ? " (ICMP port unreachable received: nothing listens there)" : "",
		  answered ? "; the gateway went silent at: " : "",
		  answered ? SSL_state_string_long(s->ssl) : "");
	return -ETIMEDOUT;
}

/*
 * SSL_connect() on the non-blocking socket until done, failed, or the
 * timer expires with --retries flights already sent again.
 */
static int
handshake(struct tmq_client *c, struct dtls_sess *s)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		struct timeval tv;
		int rc, err, wait = c->timeout_ms;

		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(s->ssl);
		if (rc == 1)
			return 0;
		err = SSL_get_error(s->ssl, rc);
		if (err == SSL_ERROR_SYSCALL && errno == ECONNREFUSED) {
			/* As for MQTT-SN requests: noted, and the timer decides. */
			c->refused = true;
			ERR_clear_error();
		} else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			return handshake_failed(c, s, err);
		}
		if (tmq_interrupted) {
			tmq_error(c, "DTLS handshake with %s interrupted", s->peer);
			return -EINTR;
		}
		if (DTLSv1_get_timeout(s->ssl, &tv) == 1)
			wait = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno != EINTR) {
			tmq_error(c, "DTLS handshake with %s: poll: %s", s->peer, strerror(errno));
			return -errno;
		}
		if (rc == 0 && s->resent >= c->retries)
			return handshake_timeout(c, s);
		if (rc == 0) {
			ERR_clear_error();
			if (DTLSv1_handle_timeout(s->ssl) < 0)
				return handshake_failed(c, s, SSL_ERROR_SSL);
		}
	}
}

static int
dtls_open(struct tmq_client *c)
{
	struct dtls_sess *s = calloc(1, sizeof(*s));
	BIO_ADDR *ba = BIO_ADDR_new();
	BIO *bio = NULL;
	int flags = fcntl(c->fd, F_GETFL);
	int rc = -ENOMEM;

	if (s == NULL || ba == NULL)
		goto fail;
	if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		rc = -errno;
		tmq_error(c, "DTLS: non-blocking socket: %s", strerror(errno));
		goto fail;
	}
	rc = peer_addr(c, s, ba);
	if (rc < 0) {
		tmq_error(c, "DTLS: peer address: %s", strerror(-rc));
		goto fail;
	}
	rc = -ENOMEM;
	s->ssl = SSL_new(c->tr_conf);
	bio = BIO_new_dgram(c->fd, BIO_NOCLOSE);
	if (s->ssl == NULL || bio == NULL) {
		tmq_error(c, "DTLS: out of memory");
		goto fail;
	}
	/* Connected: the BIO uses send()/recv() and can ask the kernel for the path MTU. */
	BIO_ctrl_set_connected(bio, ba);
	SSL_set_bio(s->ssl, bio, bio);
	bio = NULL;
	s->c = c;
	SSL_set_app_data(s->ssl, s);
	DTLS_set_timer_cb(s->ssl, timer_cb);
	rc = handshake(c, s);
	if (rc < 0)
		goto fail;
	BIO_ADDR_free(ba);
	c->tr_sess = s;
	if (c->verbose)
		report_session(c, s);
	return 0;
fail:
	BIO_free(bio);
	BIO_ADDR_free(ba);
	if (s != NULL)
		SSL_free(s->ssl);
	free(s);
	return rc;
}

static int
dtls_send(struct tmq_client *c, const uint8_t *p, size_t len)
{
	struct dtls_sess *s = c->tr_sess;
	uint64_t until = tmq_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
	char why[512];
	int n, err;

	if (len > DTLS_RECORD_MAX) {
		/* OpenSSL would end the session over it (SSL_R_EXCEEDS_MAX_FRAGMENT_SIZE). */
		tmq_error(c, "DTLS: a message of %zu octets does not fit one record (at most %d)",
			  len, DTLS_RECORD_MAX);
		return -EMSGSIZE;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		n = SSL_write(s->ssl, p, (int)len);
		if (n > 0)
			return 0;
		err = SSL_get_error(s->ssl, n);
		if (err == SSL_ERROR_WANT_WRITE && tmq_now_ns() < until) {
			/* A full socket buffer drops the record in OpenSSL: write it anew. */
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

			poll(&pfd, 1, 10);
			continue;
		}
		if (err == SSL_ERROR_SYSCALL && errno != 0 && ERR_peek_error() == 0)
			return -errno;
		ssl_reasons(why, sizeof(why));
		tmq_error(c, "DTLS send: %s", why);
		return -EPROTO;
	}
}

static int
dtls_recv(struct tmq_client *c, uint8_t *buf, size_t size)
{
	struct dtls_sess *s = c->tr_sess;
	char why[512];
	int n, err;

	ERR_clear_error();
	errno = 0;
	n = SSL_read(s->ssl, buf, (int)size);
	if (n > 0) {
		s->starved = false;
		if ((size_t)n == size) {
			/* Longer than any message: drop the rest of the record, keep the cut. */
			uint8_t rest[512];

			while (SSL_pending(s->ssl) > 0)
				SSL_read(s->ssl, rest, sizeof(rest));
		}
		return n;
	}
	err = SSL_get_error(s->ssl, n);
	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		s->starved = true;
		/* A retransmitted flight of the peer may need ours again. */
		DTLSv1_handle_timeout(s->ssl);
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		tmq_error(c, "DTLS: the gateway closed the session (close_notify)");
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		if (errno != 0 && ERR_peek_error() == 0) {
			s->starved = true;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		/* fall through */
	default:
		ssl_reasons(why, sizeof(why));
		tmq_error(c, "DTLS receive: %s", why);
		return -EPROTO;
	}
}

static bool
dtls_pending(const struct tmq_client *c)
{
	const struct dtls_sess *s = c->tr_sess;

	return s != NULL && !s->starved && SSL_has_pending(s->ssl);
}

static void
dtls_close(struct tmq_client *c)
{
	struct dtls_sess *s = c->tr_sess;

	/* close_notify, not waiting for the gateway's: there is nothing left to read. */
	if (SSL_is_init_finished(s->ssl) && SSL_shutdown(s->ssl) >= 0 && c->verbose)
		fprintf(stderr, "%s%sDTLS: close_notify sent\n", c->tag ? c->tag : "",
			c->tag ? ": " : "");
	SSL_free(s->ssl);
	free(s);
	c->tr_sess = NULL;
}

const struct tmq_transport tmq_dtls_transport = {
	.name = "DTLS",
	.open = dtls_open,
	.send = dtls_send,
	.recv = dtls_recv,
	.pending = dtls_pending,
	.close = dtls_close,
};
