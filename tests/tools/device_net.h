/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_DEVICE_NET_H
#define TERN_TOOLS_DEVICE_NET_H

/*
 * tern-device's connection to the LBS: TCP with a connect timeout, optional
 * TLS (OpenSSL 3 client), and a struct osap_stream over either.
 *
 * TLS verification (docs/tern-device.md "TLS"): the chain is always
 * verified, against --ca FILE or else OpenSSL's default verify paths. The
 * name: a DNS name in ADDR is checked against the certificate (and sent as
 * SNI). An IP literal is checked against the certificate's IP SANs; with
 * --ca only, a certificate that has no IP SAN at all is accepted on the
 * chain alone (a private CA the caller named is trusted to have issued the
 * LBS's certificate; dnet_conn.ip_unchecked says so, and tern-device warns).
 *
 * One connection per struct dnet_conn; blocking with timeouts (poll() on a
 * non-blocking socket). Any thread; nothing is global but the SSL_CTX the
 * caller shares (SSL_CTX is thread-safe in OpenSSL 3).
 */

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "osap_dev.h"

/* ADDR:PORT split: host (brackets of an IPv6 literal removed) and port. */
struct dnet_addr {
	char host[256];
	char port[8];
	bool is_ip;          /* host is an IPv4 or IPv6 literal */
};

/**
 * Parse "HOST:PORT", "[V6]:PORT" or "V4:PORT".
 * @return 0, or -EINVAL (no port, a port not 1..65535, host empty or too long).
 */
int dnet_parse_addr(const char *s, struct dnet_addr *a);

/**
 * A TLS client context: TLS 1.2 at least, peer verification on, trust from
 * @p ca_file (PEM) or the default verify paths when NULL.
 * @return the context, or NULL with @p err filled in.
 */
SSL_CTX *dnet_tls_ctx(const char *ca_file, char *err, size_t errlen);

struct dnet_conn {
	int fd;
	SSL *ssl;                /* NULL: plain TCP */
	bool ip_unchecked;       /* TLS to an IP literal accepted without an IP SAN (see above) */
	uint64_t connect_ns;     /* TCP connect */
	uint64_t tls_ns;         /* TLS handshake */
};

/**
 * Connect to @p a within @p timeout_ms (each address getaddrinfo() gives, in
 * turn), then, with @p ctx, run the TLS handshake within @p timeout_ms.
 * @param trust_ca  @p ctx trusts a --ca file (the IP-literal rule above)
 * @return 0, or -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, ... (the socket's
 *         error), -EINVAL (name does not resolve), -EPROTO (TLS handshake or
 *         verification failed: @p err says why). On failure nothing is left open.
 */
int dnet_connect(struct dnet_conn *c, const struct dnet_addr *a, SSL_CTX *ctx, bool trust_ca,
		 int timeout_ms, char *err, size_t errlen);

/** Close the connection (a TLS close_notify is attempted, not waited for). */
void dnet_close(struct dnet_conn *c);

/**
 * A stream over @p c (TLS if c->ssl, else the socket c->fd, which must be
 * non-blocking: dnet_connect() makes it so), frames timed out after
 * @p timeout_ms. Tests may fill in a struct dnet_conn by hand (fd of a
 * socketpair, ssl NULL).
 */
void dnet_stream(struct dnet_conn *c, int timeout_ms, struct osap_stream *st);

#endif
