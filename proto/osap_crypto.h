/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_OSAP_CRYPTO_H
#define TERN_PROTO_OSAP_CRYPTO_H

/*
 * OSAP cryptography over OpenSSL 3 libcrypto: the share key, the ECDH
 * exchange and master key, the AES-128-GCM seal of control-message
 * application payloads, the AES-128-GCM seal of business payloads at the
 * access node, and random keys and DevIDs. docs/osap.md ("Keys" and
 * "Sealing") defines every construction and has test vectors.
 *
 * Nothing here keeps global state. Objects (struct osap_ecdh, struct
 * osap_aead) belong to the caller, who frees them; a thread may use any
 * number of them but one object is not for two threads at once. Every
 * function wipes the secrets it put on its stack, and on failure clears the
 * thread's OpenSSL error queue, so a failed seal cannot confuse a TLS
 * connection's SSL_get_error() on the same thread.
 *
 * Errors are negative errno-style codes:
 *  -EINVAL   an argument out of range (documented per function), or a peer
 *            public key that is not a point of secp384r1
 *  -EBADMSG  a seal did not open: wrong key, or a modified frame or payload
 *  -ENOSPC   the caller's buffer is too small
 *  -EMSGSIZE a sealed payload too short to hold nonce and tag
 *  -ENOMEM   OpenSSL could not allocate
 *  -EIO      any other OpenSSL failure (no random bytes, a provider missing)
 * Constructors return NULL on failure.
 */

#include <stddef.h>
#include <stdint.h>

#include "osap.h"

/* ---- comparison and randomness ---- */

/** 1 if the @p n octets at @p a and @p b are equal, else 0; time independent of the contents. */
int osap_ct_equal(const void *a, const void *b, size_t n);

/** Fill @p buf with @p len octets from OpenSSL's CSPRNG. @return 0 or -EIO. */
int osap_random(uint8_t *buf, size_t len);

/** Length of the DevIDs osap_gen_devid() makes: fits MQTT-SN's 23-character client id. */
#define OSAP_DEVID_GEN_LEN 22

/**
 * A fresh random DevID: OSAP_DEVID_GEN_LEN lowercase hex digits (88 random
 * bits) and a NUL. The caller still checks it is unused in its registry.
 * @return OSAP_DEVID_GEN_LEN, -ENOSPC (@p cap <= OSAP_DEVID_GEN_LEN), -EIO.
 */
int osap_gen_devid(char *buf, size_t cap);

/** A fresh random session key. @return 0 or -EIO. */
int osap_gen_session_key(uint8_t key[OSAP_KEY_LEN]);

/* ---- share key ---- */

/** Default PBKDF2 iteration count; a deployment may configure another. */
#define OSAP_SHARE_KEY_ITER_DEFAULT  10000
#define OSAP_SHARE_KEY_ITER_MIN      1
#define OSAP_SHARE_KEY_ITER_MAX      10000000

/**
 * The share key of a device (docs/osap.md "Share key"):
 *   h1 = hex(MD5(code || serial)), h2 = hex(MD5(h1 || "www.88075998.com")),
 *   h3 = hex(MD5(h2)), key = PBKDF2-HMAC-SHA256(h3, salt = serial,
 *   @p iterations, 16 octets); hex is 32 lowercase digits.
 *
 * @param code, code_len      verification code, UTF-8, 1..OSAP_ID_MAX octets
 * @param serial, serial_len  serial number, UTF-8, 1..OSAP_ID_MAX octets
 * @param iterations          OSAP_SHARE_KEY_ITER_MIN..._MAX
 * @return 0, -EINVAL (a length or the count out of range), -ENOMEM, -EIO.
 *         Costs @p iterations HMAC-SHA256 pairs: the LBS should cache the
 *         result per device rather than derive it per connection.
 */
int osap_share_key(const uint8_t *code, size_t code_len, const uint8_t *serial,
		   size_t serial_len, uint32_t iterations, uint8_t key[OSAP_KEY_LEN]);

/* ---- ECDH over secp384r1 ---- */

/* A secp384r1 key pair (an EVP_PKEY); opaque. */
struct osap_ecdh;

/** A fresh random key pair; NULL on failure. Free with osap_ecdh_free(). */
struct osap_ecdh *osap_ecdh_generate(void);

/**
 * The key pair of a given private scalar (big-endian, 1 <= d < n): for test
 * vectors and reproducible simulations, never for production keys.
 * @return the key pair, or NULL (scalar out of range, or OpenSSL failure).
 */
struct osap_ecdh *osap_ecdh_from_private(const uint8_t priv[OSAP_EC_PRIV_LEN]);

/** Free a key pair (its private key is cleansed by OpenSSL); NULL is a no-op. */
void osap_ecdh_free(struct osap_ecdh *k);

/** The public key as an uncompressed SEC1 point (0x04 || X || Y). @return 0 or -EIO. */
int osap_ecdh_public(const struct osap_ecdh *k, uint8_t pub[OSAP_EC_PUB_LEN]);

/**
 * The ECDH shared secret with a peer: the X coordinate of d * Q_peer.
 * @p peer_pub must be an uncompressed point on secp384r1 (OpenSSL's full
 * public-key check runs on it).
 * @return 0, -EINVAL (not such a point), -ENOMEM, -EIO. On error @p secret
 *         is zeroed.
 */
int osap_ecdh_derive(const struct osap_ecdh *k, const uint8_t peer_pub[OSAP_EC_PUB_LEN],
		     uint8_t secret[OSAP_ECDH_SECRET_LEN]);

/**
 * The master key from an ECDH secret (docs/osap.md "Master key"):
 * HKDF-SHA256(IKM = @p secret, salt = @p share_key, info = "OSAP-1 master key",
 * L = 16).
 * @return 0, -ENOMEM, -EIO.
 */
int osap_master_key(const uint8_t secret[OSAP_ECDH_SECRET_LEN],
		    const uint8_t share_key[OSAP_KEY_LEN], uint8_t master[OSAP_KEY_LEN]);

/**
 * osap_ecdh_derive() then osap_master_key(), the secret never leaving this
 * function. Errors as for those two; on error @p master is zeroed.
 */
int osap_ecdh_master(const struct osap_ecdh *k, const uint8_t peer_pub[OSAP_EC_PUB_LEN],
		     const uint8_t share_key[OSAP_KEY_LEN], uint8_t master[OSAP_KEY_LEN]);

/* ---- AES-128-GCM ---- */

/*
 * A reusable AES-128-GCM context (an EVP_CIPHER_CTX and the fetched cipher):
 * create one per thread (a worker lcore, the control loop) and pass it to
 * every seal and open; then no call allocates. Every function taking one
 * also accepts NULL and then builds and frees a context for that call.
 */
struct osap_aead;

/** A context; NULL on failure. */
struct osap_aead *osap_aead_new(void);

/** Free a context; NULL is a no-op. */
void osap_aead_free(struct osap_aead *a);

/**
 * AES-128-GCM encryption of @p len octets: @p ct gets the ciphertext (it may
 * be @p pt: in place), @p tag the 16-octet tag.
 * @return 0, -ENOMEM, -EIO.
 */
int osap_aead_seal(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
		   const uint8_t nonce[OSAP_NONCE_LEN], const uint8_t *aad, size_t aad_len,
		   const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[OSAP_TAG_LEN]);

/**
 * AES-128-GCM decryption and tag check; @p pt may be @p ct.
 * @return 0, or -EBADMSG if the tag does not match (then @p pt is zeroed:
 *         no unauthenticated plaintext escapes), -ENOMEM, -EIO.
 */
int osap_aead_open(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
		   const uint8_t nonce[OSAP_NONCE_LEN], const uint8_t *aad, size_t aad_len,
		   const uint8_t *ct, size_t len, const uint8_t tag[OSAP_TAG_LEN], uint8_t *pt);

/* ---- sealed control messages ---- */

/**
 * Encode @p m with @p pt sealed as its application payload: the frame gets
 * an application payload of osap_sealed_len(@p pt_len) octets (m->sealed is
 * ignored), nonce || AES-128-GCM(@p key, nonce, AAD = every frame octet
 * before the application payload, @p pt) || tag.
 *
 * @param nonce  NULL for a fresh random nonce (always, in production); a
 *               given one for test vectors
 * @param pt     must not overlap @p buf
 * @return the frame length, or what osap_encode() returns (-ENOSPC,
 *         -EINVAL: e.g. @p pt_len not what the type seals, -EMSGSIZE), or
 *         -EIO, -ENOMEM. On error @p buf holds nothing useful.
 */
int osap_seal_msg(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
		  const uint8_t nonce[OSAP_NONCE_LEN], const struct osap_msg *m,
		  const uint8_t *pt, size_t pt_len, uint8_t *buf, size_t cap);

/**
 * Open the application payload of a frame decoded by osap_decode().
 *
 * @param frame  the frame osap_decode() decoded @p m from (the AAD is its
 *               octets before m->sealed)
 * @param pt     receives osap_sealed_len() - OSAP_SEALED_OVERHEAD octets;
 *               must not overlap @p frame
 * @return the plaintext length, or -EINVAL (@p m has no sealed payload, or
 *         it does not lie inside a frame starting at @p frame), -ENOSPC,
 *         -EBADMSG (wrong key, or the frame was modified), -ENOMEM, -EIO.
 */
int osap_open_msg(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], const uint8_t *frame,
		  const struct osap_msg *m, uint8_t *pt, size_t cap);

/* ---- business payloads (MQTT-SN PUBLISH data at the access node) ---- */

/*
 * A sealed business payload is dir(4) || counter(8) || ciphertext || tag(16):
 * the first 12 octets are the GCM nonce, carried whole. The AAD is empty.
 * docs/osap.md ("Business messages") has the replay rule.
 */
#define OSAP_BIZ_HDR_LEN        OSAP_NONCE_LEN
#define OSAP_BIZ_OVERHEAD       (OSAP_BIZ_HDR_LEN + OSAP_TAG_LEN)

/* Direction words: one counter space per direction under one session key. */
#define OSAP_DIR_UP             0x00000001u   /* device -> access node */
#define OSAP_DIR_DOWN           0x00000002u   /* access node -> device */

/**
 * Seal @p len octets of business payload. @p pt may be
 * @p out + OSAP_BIZ_HDR_LEN (in place); otherwise they must not overlap.
 *
 * @param dir      OSAP_DIR_UP or OSAP_DIR_DOWN: the sender's direction
 * @param counter  1.. and strictly increasing per (session key, direction);
 *                 the caller owns the counter and must never repeat one
 * @return len + OSAP_BIZ_OVERHEAD, or -EINVAL (@p dir unknown, @p counter 0),
 *         -ENOSPC, -ENOMEM, -EIO.
 */
int osap_biz_seal(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], uint32_t dir,
		  uint64_t counter, const uint8_t *pt, size_t len, uint8_t *out, size_t cap);

/**
 * Open a business payload sealed in direction @p dir. @p pt may be
 * @p in + OSAP_BIZ_HDR_LEN (in place); otherwise they must not overlap.
 * Replay is the caller's to check: osap_replay_check() on the counter
 * (osap_biz_counter() reads it without opening), open, then
 * osap_replay_update() only if this returned success.
 *
 * @param counter  if not NULL, receives the payload's counter
 * @return the plaintext length, or -EMSGSIZE (shorter than
 *         OSAP_BIZ_OVERHEAD), -ENOSPC, -EBADMSG (another direction, counter
 *         0, wrong key or modified), -ENOMEM, -EIO.
 */
int osap_biz_open(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], uint32_t dir,
		  const uint8_t *in, size_t len, uint8_t *pt, size_t cap, uint64_t *counter);

/** The counter of a sealed business payload (unauthenticated); 0 if too short. */
uint64_t osap_biz_counter(const uint8_t *in, size_t len);

/*
 * Anti-replay window for one direction of one session key: the highest
 * counter accepted and a bitmap of the OSAP_REPLAY_WINDOW counters at and
 * below it. Zero-initialise (or osap_replay_init()) when the key is issued.
 */
#define OSAP_REPLAY_WINDOW 64

struct osap_replay {
	uint64_t top;    /* highest counter accepted, 0 = none yet */
	uint64_t seen;   /* bit i: counter top - i accepted */
};

static inline void
osap_replay_init(struct osap_replay *r)
{
	r->top = 0;
	r->seen = 0;
}

/**
 * Whether @p counter may be accepted: above the top, or inside the window
 * and not seen yet.
 * @return 0, or -EALREADY (0, seen before, or older than the window).
 */
int osap_replay_check(const struct osap_replay *r, uint64_t counter);

/** Record @p counter as accepted (after osap_replay_check() and a successful open). */
void osap_replay_update(struct osap_replay *r, uint64_t counter);

#endif
