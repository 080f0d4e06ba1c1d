/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OSAP cryptography over OpenSSL 3.
 *
 * Three rules shape this file.
 *
 * No hidden allocation on the data path. A business payload is opened on a
 * worker lcore per PUBLISH, so struct osap_aead keeps an EVP_CIPHER_CTX
 * initialised once with a fetched AES-128-GCM; each operation only rekeys it
 * (EVP_CipherInit_ex2 with a NULL cipher), which allocates nothing. Passing
 * the cipher again would make OpenSSL free and rebuild the provider context
 * every time. The slow-path helpers (share key, ECDH, HKDF) allocate freely.
 *
 * No state outside the caller's objects. Nothing is fetched or cached in a
 * static; two threads with two contexts never share anything.
 *
 * No leftovers. Stack copies of secrets are wiped with OPENSSL_cleanse, a
 * failed open zeroes its output, and a failure clears the thread's OpenSSL
 * error queue: the TLS listener on the same thread reads that queue through
 * SSL_get_error(), and a stale entry from a refused seal would be blamed on
 * its connection.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "osap_crypto.h"

#define MD5_LEN 16
#define HEX_LEN (2 * MD5_LEN)

/* The draft's constant in the MD5 chain, as printed. */
static const char share_key_pepper[] = "www.88075998.com";
/* HKDF info of the master key. */
static const char master_info[] = "OSAP-1 master key";
static const char curve_name[] = "secp384r1";

/* Clear the thread's OpenSSL error queue and return @p err. */
static int
ossl_fail(int err)
{
	ERR_clear_error();
	return err;
}

/* ---- comparison and randomness ---- */

int
osap_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
osap_random(uint8_t *buf, size_t len)
{
	if (len > INT_MAX)
		return -EINVAL;
	if (len && RAND_bytes(buf, (int)len) != 1)
		return ossl_fail(-EIO);
	return 0;
}

static void
hex_lower(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
}

int
osap_gen_devid(char *buf, size_t cap)
{
	uint8_t rnd[OSAP_DEVID_GEN_LEN / 2];
	int r;

	if (cap <= OSAP_DEVID_GEN_LEN)
		return -ENOSPC;
	r = osap_random(rnd, sizeof(rnd));
	if (r)
		return r;
	hex_lower(buf, rnd, sizeof(rnd));
	buf[OSAP_DEVID_GEN_LEN] = '\0';
	return OSAP_DEVID_GEN_LEN;
}

int
osap_gen_session_key(uint8_t key[OSAP_KEY_LEN])
{
	return osap_random(key, OSAP_KEY_LEN);
}

/* ---- share key ---- */

/* hex(MD5(a || b)) into @p out (HEX_LEN characters, no NUL). */
static int
md5_hex(char out[HEX_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t in[HEX_LEN + 2 * OSAP_ID_MAX], md[MD5_LEN];
	unsigned int mdlen = 0;
	int r = 0;

	if (alen + blen > sizeof(in))
		return -EINVAL;
	memcpy(in, a, alen);
	if (blen)
		memcpy(in + alen, b, blen);
	if (EVP_Digest(in, alen + blen, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != MD5_LEN)
		r = ossl_fail(-EIO);
	else
		hex_lower(out, md, MD5_LEN);
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

int
osap_share_key(const uint8_t *code, size_t code_len, const uint8_t *serial, size_t serial_len,
	       uint32_t iterations, uint8_t key[OSAP_KEY_LEN])
{
	char h1[HEX_LEN], h2[HEX_LEN], h3[HEX_LEN];
	int r;

	if (code_len == 0 || code_len > OSAP_ID_MAX || serial_len == 0 ||
	    serial_len > OSAP_ID_MAX || iterations < OSAP_SHARE_KEY_ITER_MIN ||
	    iterations > OSAP_SHARE_KEY_ITER_MAX)
		return -EINVAL;
	r = md5_hex(h1, code, code_len, serial, serial_len);
	if (!r)
		r = md5_hex(h2, h1, HEX_LEN, share_key_pepper, sizeof(share_key_pepper) - 1);
	if (!r)
		r = md5_hex(h3, h2, HEX_LEN, NULL, 0);
	if (!r && PKCS5_PBKDF2_HMAC(h3, HEX_LEN, serial, (int)serial_len, (int)iterations,
				    EVP_sha256(), OSAP_KEY_LEN, key) != 1)
		r = ossl_fail(-EIO);
	OPENSSL_cleanse(h1, sizeof(h1));
	OPENSSL_cleanse(h2, sizeof(h2));
	OPENSSL_cleanse(h3, sizeof(h3));
	if (r)
		OPENSSL_cleanse(key, OSAP_KEY_LEN);
	return r;
}

/* ---- ECDH ---- */

struct osap_ecdh {
	EVP_PKEY *pkey;
};

/* The order n of secp384r1 (SEC 2, 2.5.1), big-endian. */
static const uint8_t p384_order[OSAP_EC_PRIV_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2,
	0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};

static struct osap_ecdh *
wrap_pkey(EVP_PKEY *pkey)
{
	struct osap_ecdh *k;

	if (pkey == NULL) {
		ERR_clear_error();
		return NULL;
	}
	k = OPENSSL_zalloc(sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return NULL;
	}
	k->pkey = pkey;
	/* Export points uncompressed (OpenSSL's default, made explicit). */
	if (EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					   "uncompressed") != 1) {
		osap_ecdh_free(k);
		ERR_clear_error();
		return NULL;
	}
	return k;
}

struct osap_ecdh *
osap_ecdh_generate(void)
{
	return wrap_pkey(EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_name));
}

struct osap_ecdh *
osap_ecdh_from_private(const uint8_t priv[OSAP_EC_PRIV_LEN])
{
	/*
	 * A SEC1 ECPrivateKey without its optional public key: OpenSSL's
	 * decoder computes d * G itself, which EVP_PKEY_fromdata() in 3.0
	 * does not, and no deprecated EC_KEY call is needed.
	 *   SEQUENCE { INTEGER 1, OCTET STRING d, [0] OID secp384r1 }
	 */
	static const uint8_t head[] = { 0x30, 0x3e, 0x02, 0x01, 0x01, 0x04, 0x30 };
	static const uint8_t tail[] = { 0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const uint8_t zero[OSAP_EC_PRIV_LEN];
	uint8_t der[sizeof(head) + OSAP_EC_PRIV_LEN + sizeof(tail)];
	const uint8_t *p = der;
	EVP_PKEY *pkey;

	/* Big-endian and equal length: memcmp orders them as numbers. */
	if (memcmp(priv, zero, OSAP_EC_PRIV_LEN) == 0 ||
	    memcmp(priv, p384_order, OSAP_EC_PRIV_LEN) >= 0)
		return NULL;
	memcpy(der, head, sizeof(head));
	memcpy(der + sizeof(head), priv, OSAP_EC_PRIV_LEN);
	memcpy(der + sizeof(head) + OSAP_EC_PRIV_LEN, tail, sizeof(tail));
	pkey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(der));
	OPENSSL_cleanse(der, sizeof(der));
	return wrap_pkey(pkey);
}

void
osap_ecdh_free(struct osap_ecdh *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	OPENSSL_free(k);
}

int
osap_ecdh_public(const struct osap_ecdh *k, uint8_t pub[OSAP_EC_PUB_LEN])
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
					    OSAP_EC_PUB_LEN, &len) != 1 ||
	    len != OSAP_EC_PUB_LEN || pub[0] != 0x04)
		return ossl_fail(-EIO);
	return 0;
}

/* A peer's public key; NULL if it is not an uncompressed point on the curve. */
static EVP_PKEY *
peer_key(const uint8_t pub[OSAP_EC_PUB_LEN])
{
	char group[sizeof(curve_name)];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *peer = NULL;

	if (pub[0] != 0x04)
		return NULL;
	memcpy(group, curve_name, sizeof(group));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      (void *)(uintptr_t)pub, OSAP_EC_PUB_LEN);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(ctx);
	return peer;
}

int
osap_ecdh_derive(const struct osap_ecdh *k, const uint8_t peer_pub[OSAP_EC_PUB_LEN],
		 uint8_t secret[OSAP_ECDH_SECRET_LEN])
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer;
	size_t len = OSAP_ECDH_SECRET_LEN;
	int r = 0;

	peer = peer_key(peer_pub);
	if (peer == NULL) {
		r = -EINVAL;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (ctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_PKEY_derive_init(ctx) != 1) {
		r = -EIO;
		goto out;
	}
	/*
	 * The point must be on the curve and not the point at infinity: the
	 * quick check. P-384's cofactor is 1, so every point on the curve is in
	 * the prime-order group and the full check's extra scalar
	 * multiplication by the order (as costly as the derive itself) adds
	 * nothing.
	 */
	{
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
		int ok = pc != NULL && EVP_PKEY_public_check_quick(pc) == 1;

		EVP_PKEY_CTX_free(pc);
		if (!ok || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1) {
			r = -EINVAL;
			goto out;
		}
	}
	if (EVP_PKEY_derive(ctx, secret, &len) != 1 || len != OSAP_ECDH_SECRET_LEN)
		r = -EIO;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	if (r) {
		OPENSSL_cleanse(secret, OSAP_ECDH_SECRET_LEN);
		ERR_clear_error();
	}
	return r;
}

int
osap_master_key(const uint8_t secret[OSAP_ECDH_SECRET_LEN], const uint8_t share_key[OSAP_KEY_LEN],
		uint8_t master[OSAP_KEY_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[5];
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf;
	int r = 0;

	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		return ossl_fail(-EIO);
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (ctx == NULL)
		return ossl_fail(-ENOMEM);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						      (void *)(uintptr_t)secret,
						      OSAP_ECDH_SECRET_LEN);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)(uintptr_t)share_key, OSAP_KEY_LEN);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						      (void *)(uintptr_t)master_info,
						      sizeof(master_info) - 1);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, master, OSAP_KEY_LEN, params) != 1) {
		OPENSSL_cleanse(master, OSAP_KEY_LEN);
		r = ossl_fail(-EIO);
	}
	EVP_KDF_CTX_free(ctx);
	return r;
}

int
osap_ecdh_master(const struct osap_ecdh *k, const uint8_t peer_pub[OSAP_EC_PUB_LEN],
		 const uint8_t share_key[OSAP_KEY_LEN], uint8_t master[OSAP_KEY_LEN])
{
	uint8_t secret[OSAP_ECDH_SECRET_LEN];
	int r;

	r = osap_ecdh_derive(k, peer_pub, secret);
	if (!r)
		r = osap_master_key(secret, share_key, master);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (r)
		OPENSSL_cleanse(master, OSAP_KEY_LEN);
	return r;
}

/* ---- AES-128-GCM ---- */

struct osap_aead {
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *cipher;
};

void
osap_aead_free(struct osap_aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	EVP_CIPHER_free(a->cipher);
	OPENSSL_free(a);
}

struct osap_aead *
osap_aead_new(void)
{
	struct osap_aead *a = OPENSSL_zalloc(sizeof(*a));

	if (a == NULL)
		goto fail;
	a->cipher = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	a->ctx = EVP_CIPHER_CTX_new();
	if (a->cipher == NULL || a->ctx == NULL)
		goto fail;
	/* Bind the cipher once, no key yet; every operation only rekeys. */
	if (EVP_CipherInit_ex2(a->ctx, a->cipher, NULL, NULL, 1, NULL) != 1)
		goto fail;
	return a;
fail:
	osap_aead_free(a);
	ERR_clear_error();
	return NULL;
}

/* The caller's context, or a temporary one in *tmp (freed by aead_put()). */
static struct osap_aead *
aead_get(struct osap_aead *a, struct osap_aead **tmp)
{
	*tmp = NULL;
	if (a)
		return a;
	*tmp = osap_aead_new();
	return *tmp;
}

static void
aead_put(struct osap_aead *tmp)
{
	osap_aead_free(tmp);
}

int
osap_aead_seal(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
	       const uint8_t nonce[OSAP_NONCE_LEN], const uint8_t *aad, size_t aad_len,
	       const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[OSAP_TAG_LEN])
{
	struct osap_aead *tmp;
	EVP_CIPHER_CTX *ctx;
	int outl, r = 0;

	if (len > INT_MAX || aad_len > INT_MAX)
		return -EINVAL;
	a = aead_get(a, &tmp);
	if (a == NULL)
		return -ENOMEM;
	ctx = a->ctx;
	if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, 1, NULL) != 1 ||
	    (aad_len && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    (len && EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, ct + len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, OSAP_TAG_LEN, tag) != 1)
		r = ossl_fail(-EIO);
	aead_put(tmp);
	return r;
}

int
osap_aead_open(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
	       const uint8_t nonce[OSAP_NONCE_LEN], const uint8_t *aad, size_t aad_len,
	       const uint8_t *ct, size_t len, const uint8_t tag[OSAP_TAG_LEN], uint8_t *pt)
{
	uint8_t t[OSAP_TAG_LEN];
	struct osap_aead *tmp;
	EVP_CIPHER_CTX *ctx;
	int outl, r = 0;

	if (len > INT_MAX || aad_len > INT_MAX)
		return -EINVAL;
	a = aead_get(a, &tmp);
	if (a == NULL)
		return -ENOMEM;
	ctx = a->ctx;
	/* The ctrl wants a writable tag; the caller's may sit in a const frame. */
	memcpy(t, tag, OSAP_TAG_LEN);
	if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, 0, NULL) != 1 ||
	    (aad_len && EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1) ||
	    (len && EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, OSAP_TAG_LEN, t) != 1) {
		r = -EIO;
	} else if (EVP_DecryptFinal_ex(ctx, pt + len, &outl) != 1) {
		r = -EBADMSG;
	}
	if (r) {
		if (len)
			OPENSSL_cleanse(pt, len);
		ERR_clear_error();
	}
	aead_put(tmp);
	return r;
}

/* ---- sealed control messages ---- */

int
osap_seal_msg(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN],
	      const uint8_t nonce[OSAP_NONCE_LEN], const struct osap_msg *m, const uint8_t *pt,
	      size_t pt_len, uint8_t *buf, size_t cap)
{
	struct osap_msg t = *m;
	size_t off;
	int n, r;

	if (pt_len > OSAP_FRAME_MAX)
		return -EMSGSIZE;
	t.sealed = (struct osap_view){ NULL, osap_sealed_len(pt_len) };
	n = osap_encode(buf, cap, &t);
	if (n < 0)
		return n;
	off = (size_t)n - t.sealed.len;
	if (nonce)
		memcpy(buf + off, nonce, OSAP_NONCE_LEN);
	else if ((r = osap_random(buf + off, OSAP_NONCE_LEN)) != 0)
		goto fail;
	r = osap_aead_seal(a, key, buf + off, buf, off, pt, pt_len, buf + off + OSAP_NONCE_LEN,
			   buf + (size_t)n - OSAP_TAG_LEN);
	if (r)
		goto fail;
	return n;
fail:
	memset(buf, 0, (size_t)n);
	return r;
}

int
osap_open_msg(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], const uint8_t *frame,
	      const struct osap_msg *m, uint8_t *pt, size_t cap)
{
	const uint8_t *s = m->sealed.p;
	size_t ct_len, off;
	int r;

	if (s == NULL || m->sealed.len < OSAP_SEALED_OVERHEAD || (uintptr_t)s < (uintptr_t)frame)
		return -EINVAL;
	off = (size_t)((uintptr_t)s - (uintptr_t)frame);
	if (off > OSAP_FRAME_MAX || m->sealed.len > OSAP_FRAME_MAX - off)
		return -EINVAL;
	ct_len = m->sealed.len - OSAP_SEALED_OVERHEAD;
	if (cap < ct_len)
		return -ENOSPC;
	r = osap_aead_open(a, key, s, frame, off, s + OSAP_NONCE_LEN, ct_len,
			   s + OSAP_NONCE_LEN + ct_len, pt);
	return r ? r : (int)ct_len;
}

/* ---- business payloads ---- */

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
osap_biz_seal(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], uint32_t dir,
	      uint64_t counter, const uint8_t *pt, size_t len, uint8_t *out, size_t cap)
{
	int r;

	if ((dir != OSAP_DIR_UP && dir != OSAP_DIR_DOWN) || counter == 0)
		return -EINVAL;
	if (len > INT_MAX - OSAP_BIZ_OVERHEAD)
		return -EINVAL;
	if (cap < len + OSAP_BIZ_OVERHEAD)
		return -ENOSPC;
	/* The header goes before the plaintext, so an in-place pt survives it. */
	put_be32(out, dir);
	put_be32(out + 4, (uint32_t)(counter >> 32));
	put_be32(out + 8, (uint32_t)counter);
	r = osap_aead_seal(a, key, out, NULL, 0, pt, len, out + OSAP_BIZ_HDR_LEN,
			   out + OSAP_BIZ_HDR_LEN + len);
	return r ? r : (int)(len + OSAP_BIZ_OVERHEAD);
}

uint64_t
osap_biz_counter(const uint8_t *in, size_t len)
{
	if (len < OSAP_BIZ_HDR_LEN)
		return 0;
	return (uint64_t)get_be32(in + 4) << 32 | get_be32(in + 8);
}

int
osap_biz_open(struct osap_aead *a, const uint8_t key[OSAP_KEY_LEN], uint32_t dir,
	      const uint8_t *in, size_t len, uint8_t *pt, size_t cap, uint64_t *counter)
{
	uint64_t ctr;
	size_t ct_len;
	int r;

	if (len < OSAP_BIZ_OVERHEAD)
		return -EMSGSIZE;
	if (len > INT_MAX)
		return -EMSGSIZE;
	ct_len = len - OSAP_BIZ_OVERHEAD;
	if (cap < ct_len)
		return -ENOSPC;
	ctr = osap_biz_counter(in, len);
	if (get_be32(in) != dir || ctr == 0)
		return -EBADMSG;
	r = osap_aead_open(a, key, in, NULL, 0, in + OSAP_BIZ_HDR_LEN, ct_len,
			   in + OSAP_BIZ_HDR_LEN + ct_len, pt);
	if (r)
		return r;
	if (counter)
		*counter = ctr;
	return (int)ct_len;
}

/* ---- anti-replay ---- */

int
osap_replay_check(const struct osap_replay *r, uint64_t counter)
{
	uint64_t age;

	if (counter == 0)
		return -EALREADY;
	if (counter > r->top)
		return 0;
	age = r->top - counter;
	if (age >= OSAP_REPLAY_WINDOW)
		return -EALREADY;
	return (r->seen >> age) & 1 ? -EALREADY : 0;
}

void
osap_replay_update(struct osap_replay *r, uint64_t counter)
{
	uint64_t shift;

	if (counter > r->top) {
		shift = counter - r->top;
		r->seen = shift >= OSAP_REPLAY_WINDOW ? 1 : (r->seen << shift) | 1;
		r->top = counter;
	} else if (r->top - counter < OSAP_REPLAY_WINDOW) {
		r->seen |= (uint64_t)1 << (r->top - counter);
	}
}
