/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-device's TCP and TLS connection to the LBS (see device_net.h).
 *
 * The socket is non-blocking from the start so that connect, the TLS
 * handshake, every read and every write wait in poll() with a timeout: a
 * silent or half-open LBS costs the device the timeout, never a hang.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "device_net.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
ms_left(uint64_t deadline)
{
	uint64_t now = now_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

int
dnet_parse_addr(const char *s, struct dnet_addr *a)
{
	const char *colon, *host = s;
	size_t hlen;
	char *end;
	unsigned long port;
	struct in6_addr a6;
	struct in_addr a4;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || strchr(s, ':') != colon)
			return -EINVAL;   /* an IPv6 literal needs brackets */
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(a->host))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || port == 0 || port > 65535)
		return -EINVAL;
	memcpy(a->host, host, hlen);
	snprintf(a->port, sizeof(a->port), "%lu", port);
	a->is_ip = inet_pton(AF_INET, a->host, &a4) == 1 || inet_pton(AF_INET6, a->host, &a6) == 1;
	return 0;
}

/* The first OpenSSL error as text (or @p dflt), the queue cleared. */
static void
ssl_err(char *err, size_t errlen, const char *what, const char *dflt)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : dflt);
	ERR_clear_error();
}

SSL_CTX *
dnet_tls_ctx(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ssl_err(err, errlen, "TLS", "cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_err(err, errlen, ca_file ? ca_file : "default verify paths",
			"cannot load the CA certificates");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Non-blocking connect to one address within @p deadline. @return fd or -errno. */
static int
connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int one = 1, soerr = 0, rc;
	socklen_t sl = sizeof(soerr);
	struct pollfd pfd;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto bad;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	do
		rc = poll(&pfd, 1, ms_left(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		rc = -ETIMEDOUT;
		goto bad;
	}
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		rc = -errno;
		goto bad;
	}
	if (soerr != 0) {
		rc = -soerr;
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return rc;
}

/* Wait for what SSL asked for after @p rc; @return 0 to retry, or a negative code. */
static int
ssl_wait(SSL *ssl, int rc, uint64_t deadline)
{
	int e = SSL_get_error(ssl, rc);
	struct pollfd pfd = { .fd = SSL_get_fd(ssl) };
	int n;

	if (e == SSL_ERROR_WANT_READ)
		pfd.events = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		pfd.events = POLLOUT;
	else if (e == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	else if (e == SSL_ERROR_SYSCALL)
		return errno ? -errno : -ECONNRESET;
	else
		return -EPROTO;
	do
		n = poll(&pfd, 1, ms_left(deadline));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	return n < 0 ? -errno : 0;
}

/* Does the certificate carry any IP address SAN? */
static bool
has_ip_san(X509 *cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++)
		if (sk_GENERAL_NAME_value(gens, i)->type == GEN_IPADD)
			found = true;
	GENERAL_NAMES_free(gens);
	return found;
}

static int
tls_handshake(struct dnet_conn *c, const struct dnet_addr *a, SSL_CTX *ctx, bool trust_ca,
	      uint64_t deadline, char *err, size_t errlen)
{
	X509 *cert;
	long vr;
	int rc;

	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_err(err, errlen, "TLS", "cannot create a connection");
		return -EPROTO;
	}
	if (!a->is_ip) {
		SSL_set_tlsext_host_name(c->ssl, a->host);
		SSL_set1_host(c->ssl, a->host);
	} else if (!trust_ca) {
		/* a public trust store: the IP must be in the certificate */
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), a->host);
	}
	while ((rc = SSL_connect(c->ssl)) != 1) {
		int w;

		vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK) {
			snprintf(err, errlen, "TLS: certificate of %s not accepted: %s", a->host,
				 X509_verify_cert_error_string(vr));
			ERR_clear_error();
			return -EPROTO;
		}
		w = ssl_wait(c->ssl, rc, deadline);
		if (w == -ETIMEDOUT) {
			snprintf(err, errlen, "TLS handshake with %s timed out", a->host);
			return w;
		}
		if (w < 0) {
			if (w == -EPROTO)
				ssl_err(err, errlen, "TLS handshake", "failed");
			else
				snprintf(err, errlen, "TLS handshake: %s", strerror(-w));
			return w == -EPROTO ? w : -ECONNRESET;
		}
	}
	if (a->is_ip && trust_ca) {
		cert = SSL_get1_peer_certificate(c->ssl);
		if (cert == NULL) {
			snprintf(err, errlen, "TLS: %s sent no certificate", a->host);
			return -EPROTO;
		}
		if (has_ip_san(cert)) {
			if (X509_check_ip_asc(cert, a->host, 0) != 1) {
				snprintf(err, errlen, "TLS: certificate of %s not accepted: "
					 "its IP addresses do not include %s", a->host, a->host);
				X509_free(cert);
				return -EPROTO;
			}
		} else {
			c->ip_unchecked = true;
		}
		X509_free(cert);
	}
	return 0;
}

int
dnet_connect(struct dnet_conn *c, const struct dnet_addr *a, SSL_CTX *ctx, bool trust_ca,
	     int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000u;
	int rc, fd = -ENOENT;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	rc = getaddrinfo(a->host, a->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", a->host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "connect to %s port %s: %s", a->host, a->port,
			 strerror(-fd));
		return fd;
	}
	c->fd = fd;
	c->connect_ns = now_ns() - t0;
	if (ctx == NULL)
		return 0;
	t0 = now_ns();
	deadline = t0 + (uint64_t)timeout_ms * 1000000u;
	rc = tls_handshake(c, a, ctx, trust_ca, deadline, err, errlen);
	c->tls_ns = now_ns() - t0;
	if (rc < 0)
		dnet_close(c);
	return rc;
}

void
dnet_close(struct dnet_conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);   /* non-blocking: one attempt */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int n;

	do
		n = poll(&pfd, 1, ms_left(deadline));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	return n < 0 ? -errno : 0;
}

static int
conn_read(void *ctx, uint8_t *buf, size_t len, int timeout_ms)
{
	struct dnet_conn *c = ctx;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		int rc;

		if (c->ssl != NULL) {
			size_t n = 0;

			rc = SSL_read_ex(c->ssl, buf, len, &n);
			if (rc == 1)
				return (int)n;
			rc = ssl_wait(c->ssl, rc, deadline);
			if (rc == -ECONNRESET)
				return 0;
		} else {
			ssize_t n = recv(c->fd, buf, len, 0);

			if (n >= 0)
				return (int)n;
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			rc = wait_fd(c->fd, POLLIN, deadline);
		}
		if (rc < 0)
			return rc;
	}
}

static int
conn_write(void *ctx, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct dnet_conn *c = ctx;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	size_t off = 0;

	while (off < len) {
		int rc;

		if (c->ssl != NULL) {
			size_t n = 0;

			rc = SSL_write_ex(c->ssl, buf + off, len - off, &n);
			if (rc == 1) {
				off += n;
				continue;
			}
			rc = ssl_wait(c->ssl, rc, deadline);
			if (rc == -ECONNRESET)
				return -EPIPE;
		} else {
			ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

			if (n >= 0) {
				off += (size_t)n;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			rc = wait_fd(c->fd, POLLOUT, deadline);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
dnet_stream(struct dnet_conn *c, int timeout_ms, struct osap_stream *st)
{
	*st = (struct osap_stream){
		.ctx = c,
		.read = conn_read,
		.write = conn_write,
		.timeout_ms = timeout_ms,
	};
}
