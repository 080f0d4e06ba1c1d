/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_MQTTSN_DTLS_H
#define TERN_TOOLS_MQTTSN_DTLS_H

/*
 * MQTT-SN over DTLS 1.2 for tern-mqttsn --dtls (OpenSSL 3): a struct
 * tmq_transport that makes each message one DTLS application record on the
 * client's connected UDP socket. tmq_open() runs the handshake, tmq_close()
 * sends close_notify. Single-threaded, like the rest of the tool.
 */

#include <stddef.h>
#include <stdint.h>

#include "mqttsn_client.h"

/* What the command line says about DTLS; the strings belong to argv. */
struct tmq_dtls_conf {
	const char *psk_identity;   /* NULL: no PSK */
	uint8_t psk[64];
	size_t psk_len;
	const char *ca;             /* NULL: the server certificate is not verified */
	const char *cert;           /* client certificate, with key; NULL: none */
	const char *key;
	const char *cipher;         /* NULL: the default list of tmq_dtls_ctx_new() */
};

/* The transport: set c->tr to it and c->tr_conf to tmq_dtls_ctx_new()'s result. */
extern const struct tmq_transport tmq_dtls_transport;

/**
 * Build the DTLS 1.2 client context all clients of the run share: PSK
 * and/or certificates as @p conf says, the cipher list, verification.
 * The context keeps a pointer to @p conf, which must outlive it.
 * @return the context (an SSL_CTX; free it with tmq_dtls_ctx_free()), or
 *         NULL with the reason printed (a file that does not load, a cipher
 *         list OpenSSL rejects).
 */
void *tmq_dtls_ctx_new(const struct tmq_dtls_conf *conf);

/** Free what tmq_dtls_ctx_new() returned; NULL is allowed. */
void tmq_dtls_ctx_free(void *ctx);

/**
 * Parse a PSK given as hex (an optional "0x", then pairs of digits) into
 * @p conf. @return 0, or -EINVAL if it is not hex, empty or too long.
 */
int tmq_dtls_psk_hex(struct tmq_dtls_conf *conf, const char *hex);

/** Take a PSK given as text. @return 0, or -EINVAL if it is empty or too long. */
int tmq_dtls_psk_text(struct tmq_dtls_conf *conf, const char *text);

#endif
