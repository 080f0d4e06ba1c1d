/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSAP codec and crypto against the vectors of docs/osap.md.
 *
 * The vectors were computed by an independent implementation (Python's
 * hashlib and the cryptography package, and the openssl command line for the
 * key derivations), not by this code; each is checked both ways here: the
 * bytes decode (and open) to the fields, and the fields encode (and seal,
 * with the vector's nonce) to the bytes. Then every decode error class is
 * reached by crafted frames, every proper prefix of every vector is decoded
 * from a heap copy of exactly that length (so ASan sees any overread), every
 * bit of every sealed vector is flipped to show the AAD and the tag cover the
 * whole frame, and a device and a service run the whole exchange with fresh
 * keys.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "proto/errcode.h"
#include "proto/osap.h"
#include "proto/osap_crypto.h"
#include "tests/unit/tap.h"

#define V(s) ((struct osap_view){ (const uint8_t *)(s), sizeof(s) - 1 })

/* Hex (no separators) into @p out; aborts on a malformed test string. */
static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2, i;

	if (strlen(s) % 2 || n > cap)
		abort();
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			abort();
		out[i] = (uint8_t)b;
	}
	return n;
}

/* Decode from a heap copy of exactly @p len bytes, so ASan sees any overread. */
static int
decode_exact(const uint8_t *bytes, size_t len, struct osap_msg *m, uint8_t **copy)
{
	uint8_t *p = malloc(len ? len : 1);
	int r;

	if (!p)
		abort();
	if (len)
		memcpy(p, bytes, len);
	r = osap_decode(p, len, m);
	if (copy)
		*copy = p;
	else
		free(p);
	return r;
}

static int
view_is(struct osap_view v, struct osap_view want)
{
	return v.len == want.len && (v.len == 0 || memcmp(v.p, want.p, v.len) == 0);
}

/* ---- the fixed inputs of docs/osap.md "Test vectors" ---- */

static const char serial[] = "SN0123456789";
static const char code[] = "ABCDEF";
static const char devid[] = "5f0c3e9a7b21d48e6a0b13";

static const char share_key_hex[] = "d08d4ddd87853800d8486562d90acc44";
static const char dev_pub_hex[] =
	"04c76f2283dda95cd49b0ed9e733d2904474e37216f124e13d2c9ab4cf01021c49"
	"ad9cabb3d0b97499aef2f0ab313fa02826bc1f83451b5c8962a75caff73588d4400a"
	"6296436154fb343c393e91048a6c7bcbadc83cd8a5f26feae883156f92a1";
static const char lbs_pub_hex[] =
	"04db89855d1980b2aacdec0752249bea9e0630c16b69c095f6c752b2547b520d8109"
	"511d908881491780594f03cfee8a0a8ca0eb1e634971e4c6fc551ca684edc32994c9"
	"068fc83964eb7ada3bbb9b1f2469d57da6460ba7462d4d3b9e9a4fe421";
static const char secret_hex[] =
	"9fafc5903b2f873ed24fffa1c5d44d75bf047179b13b3b3ea3681cfb329e80477e17"
	"aaa98ab10bff8265a0a6e9da74aa";
static const char master_hex[] = "e89fd694c5545c305109ea4df7f56301";
static const char ks_hex[] = "00112233445566778899aabbccddeeff";
static const char ks2_hex[] = "ffeeddccbbaa99887766554433221100";

/* Private scalars 01 02 .. 30 (device) and 31 32 .. 60 (service). */
static void
test_privs(uint8_t dev[OSAP_EC_PRIV_LEN], uint8_t lbs[OSAP_EC_PRIV_LEN])
{
	for (int i = 0; i < OSAP_EC_PRIV_LEN; i++) {
		dev[i] = (uint8_t)(0x01 + i);
		lbs[i] = (uint8_t)(0x31 + i);
	}
}

/* Challenge 16 octets counting up from @p start. */
static void
challenge(uint8_t c[OSAP_CHALLENGE_LEN], uint8_t start)
{
	for (int i = 0; i < OSAP_CHALLENGE_LEN; i++)
		c[i] = (uint8_t)(start + i);
}

/* ---- names and negotiation ---- */

static void
test_names(void)
{
	is_str(osap_type_name(OSAP_AUTH_ECDH_REQ), "auth_ecdh_req", "type name 0x1");
	is_str(osap_type_name(OSAP_ERROR), "error", "type name 0xC");
	ok(osap_type_name(0x3) == NULL && osap_type_name(0x0) == NULL &&
	   osap_type_name(0xf) == NULL && osap_type_name(99) == NULL,
	   "reserved types have no name");
	is_int(osap_type_index(OSAP_AUTH_ECDH_REQ), 0, "type index of 0x1");
	is_int(osap_type_index(OSAP_ERROR), OSAP_NTYPES - 1, "type index of 0xC");
	is_int(osap_type_index(0x5), -1, "type index of reserved 0x5");
	is_str(osap_status_name(OSAP_ST_NO_ACCESS_NODE), "no_access_node", "status name 0x08");
	is_str(osap_status_name(OSAP_ST_OK), "ok", "status name 0x00");
	ok(osap_status_name(0x0d) == NULL && osap_status_desc(0xff) == NULL &&
	   osap_status_name(300) == NULL, "reserved statuses have no name");
	ok(osap_status_desc(OSAP_ST_RATE_LIMITED) != NULL, "status description");
	is_str(osap_err_name(OSAP_ERR_NONE), "ok", "err name NONE");
	is_str(osap_err_name(OSAP_ERR_SEALED), "err_sealed", "err name SEALED");
	ok(osap_err_name(OSAP_ERR_MAX) == NULL, "err name out of range");
	is_int(osap_err_code(OSAP_ERR_TYPE), -EPROTONOSUPPORT, "err code TYPE");
	is_int(osap_err_code(OSAP_ERR_TRUNCATED), -EMSGSIZE, "err code TRUNCATED");
	is_int(osap_err_code(OSAP_ERR_VARINT), -EINVAL, "err code VARINT");

	is_int(osap_select_protocol(0x03, 0x03), OSAP_PROTO_SECURE, "both: the secure one");
	is_int(osap_select_protocol(0x0f, 0x01), OSAP_PROTO_PLAIN, "server plain only");
	is_int(osap_select_protocol(0x01, 0x02), 0, "nothing in common: inconsistent");
	is_int(osap_select_protocol(0xfc, 0xff), 0, "unknown bits are never chosen");
	is_int(osap_select_protocol(0x0e, 0x03), OSAP_PROTO_SECURE, "draft's (2,4,8) vs (1,2)");
}

/* ---- share key ---- */

static void
test_share_key(void)
{
	uint8_t key[OSAP_KEY_LEN], want[OSAP_KEY_LEN], other[OSAP_KEY_LEN];
	const uint8_t *c = (const uint8_t *)code, *s = (const uint8_t *)serial;

	unhex(share_key_hex, want, sizeof(want));
	is_int(osap_share_key(c, 6, s, 12, OSAP_SHARE_KEY_ITER_DEFAULT, key), 0, "share key");
	is_mem(key, want, OSAP_KEY_LEN, "share key: the vector");
	is_int(osap_share_key(c, 6, s, 12, 1000, other), 0, "share key, 1000 iterations");
	ok(memcmp(key, other, OSAP_KEY_LEN) != 0, "the iteration count matters");
	is_int(osap_share_key(c, 0, s, 12, 1000, other), -EINVAL, "empty code: -EINVAL");
	is_int(osap_share_key(c, 6, s, 0, 1000, other), -EINVAL, "empty serial: -EINVAL");
	is_int(osap_share_key(c, OSAP_ID_MAX + 1, s, 12, 1000, other), -EINVAL,
	       "code too long: -EINVAL");
	is_int(osap_share_key(c, 6, s, 12, 0, other), -EINVAL, "0 iterations: -EINVAL");
	is_int(osap_share_key(c, 6, s, 12, OSAP_SHARE_KEY_ITER_MAX + 1, other), -EINVAL,
	       "too many iterations: -EINVAL");
}

/* ---- ECDH and master key ---- */

static void
test_ecdh(void)
{
	uint8_t dpriv[OSAP_EC_PRIV_LEN], lpriv[OSAP_EC_PRIV_LEN], priv[OSAP_EC_PRIV_LEN];
	uint8_t dpub[OSAP_EC_PUB_LEN], lpub[OSAP_EC_PUB_LEN], want[OSAP_EC_PUB_LEN];
	uint8_t bad[OSAP_EC_PUB_LEN];
	uint8_t z1[OSAP_ECDH_SECRET_LEN], z2[OSAP_ECDH_SECRET_LEN], zw[OSAP_ECDH_SECRET_LEN];
	uint8_t sk[OSAP_KEY_LEN], mk[OSAP_KEY_LEN], mk2[OSAP_KEY_LEN], mkw[OSAP_KEY_LEN];
	struct osap_ecdh *d, *l, *a, *b, *k;

	test_privs(dpriv, lpriv);
	unhex(share_key_hex, sk, sizeof(sk));
	d = osap_ecdh_from_private(dpriv);
	l = osap_ecdh_from_private(lpriv);
	ok(d != NULL && l != NULL, "key pairs from the vector scalars");
	if (d == NULL || l == NULL)
		abort();
	is_int(osap_ecdh_public(d, dpub), 0, "device public key");
	unhex(dev_pub_hex, want, sizeof(want));
	is_mem(dpub, want, OSAP_EC_PUB_LEN, "device public key: the vector");
	is_int(osap_ecdh_public(l, lpub), 0, "service public key");
	unhex(lbs_pub_hex, want, sizeof(want));
	is_mem(lpub, want, OSAP_EC_PUB_LEN, "service public key: the vector");

	unhex(secret_hex, zw, sizeof(zw));
	is_int(osap_ecdh_derive(d, lpub, z1), 0, "device derives");
	is_int(osap_ecdh_derive(l, dpub, z2), 0, "service derives");
	is_mem(z1, zw, sizeof(zw), "device's shared secret: the vector");
	is_mem(z2, zw, sizeof(zw), "service's shared secret: the vector");
	unhex(master_hex, mkw, sizeof(mkw));
	is_int(osap_master_key(z1, sk, mk), 0, "master key");
	is_mem(mk, mkw, OSAP_KEY_LEN, "master key: the vector");
	is_int(osap_ecdh_master(l, dpub, sk, mk2), 0, "ecdh_master");
	is_mem(mk2, mkw, OSAP_KEY_LEN, "ecdh_master: the vector");

	/* Two fresh pairs agree, and differ from the vector's. */
	a = osap_ecdh_generate();
	b = osap_ecdh_generate();
	ok(a != NULL && b != NULL, "two generated key pairs");
	if (a == NULL || b == NULL)
		abort();
	osap_ecdh_public(a, dpub);
	osap_ecdh_public(b, lpub);
	is_int(dpub[0], 0x04, "generated public key is uncompressed");
	is_int(osap_ecdh_derive(a, lpub, z1), 0, "generated: a derives");
	is_int(osap_ecdh_derive(b, dpub, z2), 0, "generated: b derives");
	is_mem(z1, z2, sizeof(z1), "generated: both sides agree");
	ok(memcmp(z1, zw, sizeof(zw)) != 0, "generated: not the vector's secret");

	/* Peer keys that are no uncompressed point of the curve. */
	memcpy(bad, lpub, sizeof(bad));
	bad[0] = 0x02;
	is_int(osap_ecdh_derive(a, bad, z1), -EINVAL, "compressed prefix: -EINVAL");
	memcpy(bad, lpub, sizeof(bad));
	bad[OSAP_EC_PUB_LEN - 1] ^= 1;
	is_int(osap_ecdh_derive(a, bad, z1), -EINVAL, "point off the curve: -EINVAL");
	ok(z1[0] == 0 && memcmp(z1, z1 + 1, sizeof(z1) - 1) == 0, "secret zeroed on error");
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x04;
	is_int(osap_ecdh_derive(a, bad, z1), -EINVAL, "(0, 0): -EINVAL");
	is_int(osap_ecdh_master(a, bad, sk, mk), -EINVAL, "ecdh_master with a bad point: -EINVAL");
	ok(mk[0] == 0 && memcmp(mk, mk + 1, sizeof(mk) - 1) == 0, "master zeroed on error");

	/* Scalars: 0 and n are refused, n - 1 is a key. */
	memset(priv, 0, sizeof(priv));
	ok(osap_ecdh_from_private(priv) == NULL, "scalar 0 refused");
	unhex("ffffffffffffffffffffffffffffffffffffffffffffffff"
	      "c7634d81f4372ddf581a0db248b0a77aecec196accc52973", priv, sizeof(priv));
	ok(osap_ecdh_from_private(priv) == NULL, "scalar n refused");
	priv[OSAP_EC_PRIV_LEN - 1]--;
	k = osap_ecdh_from_private(priv);
	ok(k != NULL, "scalar n - 1 accepted");
	osap_ecdh_free(k);
	osap_ecdh_free(NULL);

	osap_ecdh_free(a);
	osap_ecdh_free(b);
	osap_ecdh_free(d);
	osap_ecdh_free(l);
}

/* ---- AES-128-GCM ---- */

static void
test_gcm(void)
{
	static const uint8_t pt[] = "hello, tern";
	uint8_t key[16], nonce[12], ct[11], tag[16], out[11], want_ct[11], want_tag[16];
	struct osap_aead *a = osap_aead_new();
	uint8_t buf[11];
	int i;

	ok(a != NULL, "aead context");
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 12; i++)
		nonce[i] = (uint8_t)(0x10 + i);
	unhex("ac4b6fc36063969b72af33", want_ct, sizeof(want_ct));
	unhex("1086b0259e38dcdc2809073f0be9b858", want_tag, sizeof(want_tag));

	is_int(osap_aead_seal(a, key, nonce, (const uint8_t *)"header", 6, pt, 11, ct, tag), 0,
	       "gcm seal");
	is_mem(ct, want_ct, sizeof(ct), "gcm: ciphertext vector");
	is_mem(tag, want_tag, sizeof(tag), "gcm: tag vector");
	is_int(osap_aead_seal(NULL, key, nonce, (const uint8_t *)"header", 6, pt, 11, ct, tag), 0,
	       "gcm seal without a context");
	is_mem(tag, want_tag, sizeof(tag), "gcm without a context: same tag");
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out), 0,
	       "gcm open");
	is_mem(out, pt, 11, "gcm open: the plaintext");

	/* In place, both ways. */
	memcpy(buf, pt, 11);
	osap_aead_seal(a, key, nonce, (const uint8_t *)"header", 6, buf, 11, buf, tag);
	is_mem(buf, want_ct, 11, "gcm seal in place");
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, buf, 11, tag, buf), 0,
	       "gcm open in place");
	is_mem(buf, pt, 11, "gcm open in place: the plaintext");

	/* Tampering: ciphertext, tag, AAD, nonce, key. */
	ct[3] ^= 0x01;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out),
	       -EBADMSG, "gcm: a flipped ciphertext bit fails");
	ok(out[0] == 0 && memcmp(out, out + 1, sizeof(out) - 1) == 0,
	   "gcm: a failed open leaves no plaintext");
	ct[3] ^= 0x01;
	tag[15] ^= 0x80;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out),
	       -EBADMSG, "gcm: a flipped tag bit fails");
	tag[15] ^= 0x80;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"headeR", 6, ct, 11, tag, out),
	       -EBADMSG, "gcm: changed AAD fails");
	nonce[0] ^= 1;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out),
	       -EBADMSG, "gcm: another nonce fails");
	nonce[0] ^= 1;
	key[0] ^= 1;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out),
	       -EBADMSG, "gcm: another key fails");
	key[0] ^= 1;
	is_int(osap_aead_open(a, key, nonce, (const uint8_t *)"header", 6, ct, 11, tag, out), 0,
	       "gcm: the context still works after failures");
	osap_aead_free(a);
	osap_aead_free(NULL);
}

/* ---- frames ---- */

struct frame_vec {
	const char *name;
	const char *hex;
	const char *key_hex;        /* NULL: nothing sealed */
	struct osap_msg m;          /* sealed left empty: filled from the bytes */
	uint8_t pt[128];            /* the sealed plaintext */
	size_t pt_len;
};

static struct frame_vec fv[12];
static size_t nfv;

/* Sealed plaintexts of the vectors. */
static size_t
key_grant_pt(uint8_t *out, uint8_t ch, const char *ks_hex_)
{
	struct osap_key_grant g = { .lifetime = 86400, .devid = V(devid) };

	challenge(g.challenge, ch);
	unhex(ks_hex_, g.session_key, sizeof(g.session_key));
	return (size_t)osap_encode_key_grant(out, 128, &g);
}

static void
add(const char *name, const char *hex, const char *key_hex, const struct osap_msg *m,
    const uint8_t *pt, size_t pt_len)
{
	struct frame_vec *v = &fv[nfv++];

	v->name = name;
	v->hex = hex;
	v->key_hex = key_hex;
	v->m = *m;
	if (pt_len)
		memcpy(v->pt, pt, pt_len);
	v->pt_len = pt_len;
}

static void
build_vectors(void)
{
	uint8_t pt[128];
	struct osap_msg m;
	size_t n;

	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.ecdh_req = (struct osap_ecdh_req){ OSAP_PROTO_TYPE_MQTTSN, 0x03, V(serial) };
	unhex(dev_pub_hex, pt, sizeof(pt));
	add("0x1 auth_ecdh_req",
	    "1190010103000f010100534e30313233343536373839010101010101010101010101512de5281f1f"
	    "e2b3d7dc8752e22aeabc5ad2f7639ed46d2cefa954fca56cb7003ffc9f503f44c05973a22b0b460a"
	    "2ce61acf308cabcf6cfa7052ee6d02b04e2286e0b32157fbafb92915c34e1a46304e7b508f03edc7"
	    "2f5ab528bfded7b03dbf576e6c9b7ee201001d629e121baa3f6a23",
	    share_key_hex, &m, pt, OSAP_EC_PUB_LEN);

	osap_msg_init(&m, OSAP_AUTH_ECDH_RSP);
	m.ecdh_rsp = (struct osap_ecdh_rsp){ OSAP_ST_OK, OSAP_PROTO_TYPE_MQTTSN,
					     OSAP_PROTO_SECURE };
	unhex(lbs_pub_hex, pt, sizeof(pt));
	add("0x2 auth_ecdh_rsp",
	    "21850100010200030101000202020202020202020202025b56512bed215efe05ab9a40623c574ed8"
	    "ab74621c81a657c574f9d055c723cf26a04f84578f26c44afae9f51aa7400e512ff307dcdb9fe607"
	    "7631bd53e80043d9834ab094271357bbaecec877ab29bce09023937ce099f085e3d53b3a652723e1"
	    "70a1da762a2d144fdfe761379823b823",
	    share_key_hex, &m, pt, OSAP_EC_PUB_LEN);

	osap_msg_init(&m, OSAP_AUTH_ECDH_RSP);
	m.ecdh_rsp = (struct osap_ecdh_rsp){ OSAP_ST_UNSUPPORTED_PROTOCOL, OSAP_PROTO_TYPE_MQTTSN,
					     0x03 };
	add("0x2 auth_ecdh_rsp, inconsistent", "21080201030003010100", NULL, &m, NULL, 0);

	osap_msg_init(&m, OSAP_REFRESH_REQ);
	m.refresh_req = (struct osap_refresh_req){ OSAP_PROTO_TYPE_MQTTSN, 0x03, V(devid) };
	challenge(pt, 0xe0);
	add("0x4 refresh_req",
	    "4149010300190101003566306333653961376232316434386536613062313304040404040404040404"
	    "040484c1563b8e579e7453bf292bea701d3b70d441ef3227f46e22abcb955e228e05",
	    master_hex, &m, pt, OSAP_CHALLENGE_LEN);

	osap_msg_init(&m, OSAP_REFRESH_RSP);
	m.refresh_rsp = (struct osap_refresh_rsp){ OSAP_ST_OK, OSAP_PROTO_TYPE_MQTTSN,
						   OSAP_PROTO_SECURE };
	n = key_grant_pt(pt, 0xe0, ks2_hex);
	add("0x6 refresh_rsp",
	    "615f000102000301010006060606060606060606060658b9c2dde0820f4becbb1a5dc55c7d6db30b86"
	    "30095c76ae94ae6ae6842355054edd01a68abbc2a776c6af072af94d71fb63564ba0ea61b8ddc0b433"
	    "643b6adc4c177a018e5bf502df2839",
	    master_hex, &m, pt, n);

	osap_msg_init(&m, OSAP_DEVID_REQ);
	challenge(pt, 0xc0);
	add("0x7 devid_req",
	    "71310003010100070707070707070707070707cb9146851597567b9f82a02a73bf7465eba26d5a9771"
	    "c5ccf2ed48e3eb2c0478",
	    master_hex, &m, pt, OSAP_CHALLENGE_LEN);

	osap_msg_init(&m, OSAP_DEVID_RSP);
	n = key_grant_pt(pt, 0xc0, ks_hex);
	add("0x8 devid_rsp",
	    "815d000003010100080808080808080808080808b9767e9beabf530560d8ddc24a5ad827a70e08d95a"
	    "9b46d0b88b1d92405a6d475e331b91d8ba859bcc82d9738eebb121692343dcda61286ddc3747a9182f"
	    "bfd94359a45b0a8c8654ebc56b",
	    master_hex, &m, pt, n);

	osap_msg_init(&m, OSAP_DEVID_CFM);
	m.devid_cfm.devid = V(devid);
	challenge(pt, 0xc0);
	add("0x9 devid_cfm",
	    "91470019010100356630633365396137623231643438653661306231330909090909090909090909095c"
	    "b4715c173a381701e5f95ebfdb1c44d926b9a25cf5959476da5bb6aa72f65a",
	    ks_hex, &m, pt, OSAP_CHALLENGE_LEN);

	osap_msg_init(&m, OSAP_ADDR_REQ);
	challenge(pt, 0xd0);
	pt[OSAP_CHALLENGE_LEN] = OSAP_FAMILY_ANY;
	add("0xA addr_req",
	    "a13200030101000a0a0a0a0a0a0a0a0a0a0a0a0088560fb7578fe5856e188fcd74f20116e567b2bb62"
	    "6d97d1c3f94efb3b92811c",
	    ks_hex, &m, pt, OSAP_ADDR_QUERY_LEN);

	osap_msg_init(&m, OSAP_ADDR_RSP);
	{
		struct osap_addr_grant g = {
			.family = OSAP_FAMILY_IPV4, .addr = { 192, 0, 2, 10 }, .port = 8883,
			.proto_type = OSAP_PROTO_TYPE_MQTTSN, .proto = OSAP_PROTO_SECURE,
			.lifetime = 300,
		};

		challenge(g.challenge, 0xd0);
		n = (size_t)osap_encode_addr_grant(pt, sizeof(pt), &g);
	}
	add("0xB addr_rsp",
	    "b13f0000030101000b0b0b0b0b0b0b0b0b0b0b0b5d6406633e22ec5e4873836a9b4c3063e15ae0ef5f"
	    "6d3ac4bef29fea2853923a53db6192ebfb23861750d2f93c",
	    ks_hex, &m, pt, n);

	osap_msg_init(&m, OSAP_ADDR_RSP);
	m.addr_rsp.status = OSAP_ST_NO_ACCESS_NODE;
	add("0xB addr_rsp, no access node", "b106080003010100", NULL, &m, NULL, 0);

	osap_msg_init(&m, OSAP_ERROR);
	m.error = (struct osap_error){ OSAP_ST_RATE_LIMITED, 30, V("slow down") };
	add("0xC error", "c11106001e000c010100736c6f7720646f776e", NULL, &m, NULL, 0);
}

/* The first field in which two messages differ (sealed, err aside), or NULL. */
static const char *
msg_diff(const struct osap_msg *a, const struct osap_msg *b)
{
	if (a->type != b->type)
		return "type";
	if (a->flags != b->flags)
		return "flags";
	if (memcmp(&a->version, &b->version, sizeof(a->version)) != 0)
		return "version";
	switch (a->type) {
	case OSAP_AUTH_ECDH_REQ:
		if (a->ecdh_req.proto_type != b->ecdh_req.proto_type ||
		    a->ecdh_req.proto_group != b->ecdh_req.proto_group)
			return "negotiation";
		return view_is(a->ecdh_req.serial, b->ecdh_req.serial) ? NULL : "serial";
	case OSAP_REFRESH_REQ:
		if (a->refresh_req.proto_type != b->refresh_req.proto_type ||
		    a->refresh_req.proto_group != b->refresh_req.proto_group)
			return "negotiation";
		return view_is(a->refresh_req.devid, b->refresh_req.devid) ? NULL : "devid";
	case OSAP_AUTH_ECDH_RSP:
		return memcmp(&a->ecdh_rsp, &b->ecdh_rsp, sizeof(a->ecdh_rsp)) ? "ecdh_rsp" : NULL;
	case OSAP_REFRESH_RSP:
		return memcmp(&a->refresh_rsp, &b->refresh_rsp, sizeof(a->refresh_rsp)) ?
		       "refresh_rsp" : NULL;
	case OSAP_DEVID_RSP:
	case OSAP_ADDR_RSP:
		return osap_msg_status(a) != osap_msg_status(b) ? "status" : NULL;
	case OSAP_DEVID_CFM:
		return view_is(a->devid_cfm.devid, b->devid_cfm.devid) ? NULL : "devid";
	case OSAP_ERROR:
		if (a->error.code != b->error.code || a->error.retry_after != b->error.retry_after)
			return "error code";
		return view_is(a->error.reason, b->error.reason) ? NULL : "reason";
	default:
		return NULL;
	}
}

static void
test_frame_vectors(void)
{
	struct osap_aead *a = osap_aead_new();
	uint8_t bytes[256], buf[256], pt[256], key[OSAP_KEY_LEN] = { 0 };
	size_t i, n, k;

	for (i = 0; i < nfv; i++) {
		const struct frame_vec *v = &fv[i];
		struct osap_msg m, m2;
		uint8_t *copy;
		const char *d;
		int r;

		n = unhex(v->hex, bytes, sizeof(bytes));
		r = decode_exact(bytes, n, &m, &copy);
		is_int(r, (long long)n, "%s: decodes, whole frame consumed", v->name);
		d = msg_diff(&m, &v->m);
		if (!ok(d == NULL, "%s: fields", v->name))
			printf("#   differs in %s (err %s)\n", d, osap_err_name(m.err));
		is_int(osap_peek_type(bytes, n), v->m.type, "%s: peek_type", v->name);
		is_int(osap_frame_len(bytes, bytes[1] & 0x80 ? 3 : 2), (long long)n,
		       "%s: frame_len from the fixed header alone", v->name);
		is_int(m.sealed.len, v->key_hex ? (long long)osap_sealed_len(v->pt_len) : 0,
		       "%s: sealed length", v->name);

		/* Re-encoding the decoded fields gives the bytes back. */
		is_int(osap_encoded_len(&m), (long long)n, "%s: encoded_len", v->name);
		memset(buf, 0xee, sizeof(buf));
		is_int(osap_encode(buf, sizeof(buf), &m), (long long)n, "%s: encode", v->name);
		is_mem(buf, bytes, n, "%s: encode gives the bytes", v->name);
		is_int(buf[n], 0xee, "%s: nothing written past the frame", v->name);
		is_int(osap_encode(buf, n - 1, &m), -ENOSPC, "%s: one octet short", v->name);

		if (v->key_hex == NULL) {
			is_int(osap_encode(buf, sizeof(buf), &v->m), (long long)n,
			       "%s: encode from the fields", v->name);
			is_mem(buf, bytes, n, "%s: the fields encode to the bytes", v->name);
			is_int(osap_open_msg(a, key, copy, &m, pt, sizeof(pt)), -EINVAL,
			       "%s: nothing to open", v->name);
			free(copy);
			continue;
		}
		unhex(v->key_hex, key, sizeof(key));

		/* Open: the plaintext of the vector. */
		r = osap_open_msg(a, key, copy, &m, pt, sizeof(pt));
		is_int(r, (long long)v->pt_len, "%s: opens", v->name);
		is_mem(pt, v->pt, v->pt_len, "%s: the plaintext", v->name);
		is_int(osap_open_msg(a, key, copy, &m, pt, v->pt_len - 1), -ENOSPC,
		       "%s: open into a short buffer", v->name);

		/* Seal: the fields, the key, the vector's nonce -> the bytes. */
		r = osap_seal_msg(a, key, m.sealed.p, &v->m, v->pt, v->pt_len, buf, sizeof(buf));
		is_int(r, (long long)n, "%s: seal_msg length", v->name);
		is_mem(buf, bytes, n, "%s: seal_msg gives the bytes", v->name);
		is_int(osap_seal_msg(a, key, m.sealed.p, &v->m, v->pt, v->pt_len, buf, n - 1),
		       -ENOSPC, "%s: seal_msg one octet short", v->name);
		is_int(osap_seal_msg(a, key, NULL, &v->m, v->pt, 0, buf, sizeof(buf)),
		       -EINVAL, "%s: seal_msg of a plaintext the type does not carry", v->name);

		/* A random nonce: another frame, same header, still opens. */
		r = osap_seal_msg(a, key, NULL, &v->m, v->pt, v->pt_len, buf, sizeof(buf));
		is_int(r, (long long)n, "%s: seal_msg with a random nonce", v->name);
		is_int(osap_decode(buf, n, &m2), (long long)n, "%s: which decodes", v->name);
		is_int(osap_open_msg(NULL, key, buf, &m2, pt, sizeof(pt)), (long long)v->pt_len,
		       "%s: and opens", v->name);
		ok(memcmp(buf, bytes, n) != 0, "%s: and differs", v->name);

		/*
		 * Every bit of the frame matters: each flip is refused by the
		 * decoder or by the tag (the AAD is the whole header).
		 */
		{
			int bad = 0;

			for (k = 0; k < n * 8; k++) {
				memcpy(buf, bytes, n);
				buf[k / 8] ^= (uint8_t)(1u << (k % 8));
				if (osap_decode(buf, n, &m2) == (int)n &&
				    osap_open_msg(a, key, buf, &m2, pt, sizeof(pt)) != -EBADMSG)
					bad++;
			}
			is_int(bad, 0, "%s: all %zu single-bit flips refused", v->name, n * 8);
		}
		key[0] ^= 1;
		is_int(osap_open_msg(a, key, copy, &m, pt, sizeof(pt)), -EBADMSG,
		       "%s: another key fails", v->name);
		free(copy);
	}

	/* Every proper prefix asks for more, without reading past it. */
	for (i = 0; i < nfv; i++) {
		size_t fixed;
		int bad = 0;

		n = unhex(fv[i].hex, bytes, sizeof(bytes));
		fixed = bytes[1] & 0x80 ? 3 : 2;
		for (k = 0; k < n; k++) {
			struct osap_msg m;

			if (decode_exact(bytes, k, &m, NULL) != -EAGAIN || m.err != OSAP_ERR_NONE)
				bad++;
			if (osap_frame_len(bytes, k) != (k < fixed ? -EAGAIN : (int)n))
				bad++;
		}
		is_int(bad, 0, "every prefix of %s is -EAGAIN", fv[i].name);
	}
	osap_aead_free(a);
}

/* Two frames back to back in a stream buffer: one at a time. */
static void
test_stream(void)
{
	uint8_t buf[256];
	struct osap_msg m;
	size_t n1, n2;

	n1 = unhex(fv[2].hex, buf, sizeof(buf));
	n2 = unhex(fv[11].hex, buf + n1, sizeof(buf) - n1);
	is_int(osap_decode(buf, n1 + n2, &m), (long long)n1, "stream: first frame consumed");
	is_int(m.type, OSAP_AUTH_ECDH_RSP, "stream: first frame's type");
	is_int(osap_decode(buf + n1, n2, &m), (long long)n2, "stream: second frame consumed");
	is_int(m.type, OSAP_ERROR, "stream: second frame's type");
	is_int(osap_decode(buf + n1, n2 - 1, &m), -EAGAIN, "stream: second frame incomplete");
}

/* ---- malformed frames ---- */

struct bad_vec {
	const char *name;
	const char *hex;
	int ret;
	enum osap_err err;
};

static const struct bad_vec bad[] = {
	{ "remaining length not minimal (80 00)", "218000", -EINVAL, OSAP_ERR_VARINT },
	{ "remaining length in 5 octets", "21ffffffff01", -EINVAL, OSAP_ERR_VARINT },
	{ "remaining length 1024: frame 1027", "218008", -EMSGSIZE, OSAP_ERR_TOO_LONG },
	{ "reserved type 0x0", "01050003010100", -EPROTONOSUPPORT, OSAP_ERR_TYPE },
	{ "reserved type 0x3", "31050003010100", -EPROTONOSUPPORT, OSAP_ERR_TYPE },
	{ "reserved type 0x5", "51050003010100", -EPROTONOSUPPORT, OSAP_ERR_TYPE },
	{ "reserved type 0xD", "d1050003010100", -EPROTONOSUPPORT, OSAP_ERR_TYPE },
	{ "reserved type 0xF", "f1050003010100", -EPROTONOSUPPORT, OSAP_ERR_TYPE },
	{ "reserved flag 0x2", "b306080003010100", -EINVAL, OSAP_ERR_FLAGS },
	{ "reserved flag 0x8", "b906080003010100", -EINVAL, OSAP_ERR_FLAGS },
	{ "remaining length 0", "b100", -EMSGSIZE, OSAP_ERR_TRUNCATED },
	{ "no version", "b1030800 03", -EMSGSIZE, OSAP_ERR_TRUNCATED },
	{ "LEN 2", "b106080002010100", -EMSGSIZE, OSAP_ERR_GENERAL_LEN },
	{ "LEN past the frame", "b106080004010100", -EMSGSIZE, OSAP_ERR_TRUNCATED },
	{ "content in a type that has none", "b1070800040101007a", -EINVAL, OSAP_ERR_ID },
	{ "empty serial", "110701030003010100", -EINVAL, OSAP_ERR_ID },
	{ "error code 0", "c1080000000003010100", -EINVAL, OSAP_ERR_CODE },
	{ "failed answer with a sealed part", "b10708000301010000", -EMSGSIZE, OSAP_ERR_SEALED },
	{ "successful answer without one", "b106000003010100", -EMSGSIZE, OSAP_ERR_SEALED },
	{ "inconsistent answer ok: type/group passed through", "21080201ff0003010100", 10,
	  OSAP_ERR_NONE },
	{ "ECDH bit clear: decoded, the service decides", "b006080003010100", 8, OSAP_ERR_NONE },
	{ "version 9.9.9: reported, not refused", "b106080003090909", 8, OSAP_ERR_NONE },
	{ "unknown status: passed through", "b106ee0003010100", 8, OSAP_ERR_NONE },
};

#define NBAD (sizeof(bad) / sizeof(bad[0]))

/* A frame with hex spaces removed (for readability above). */
static size_t
unhex_sp(const char *s, uint8_t *out, size_t cap)
{
	char t[512];
	size_t j = 0;

	for (; *s && j + 1 < sizeof(t); s++)
		if (!isspace((unsigned char)*s))
			t[j++] = *s;
	t[j] = '\0';
	return unhex(t, out, cap);
}

static void
test_malformed(void)
{
	uint8_t buf[2048], in[256];
	struct osap_msg m;
	size_t i, n;
	int r;

	for (i = 0; i < NBAD; i++) {
		n = unhex_sp(bad[i].hex, buf, sizeof(buf));
		r = decode_exact(buf, n, &m, NULL);
		is_int(r, bad[i].ret, "%s: return", bad[i].name);
		if (!ok(m.err == bad[i].err, "%s: reason %s", bad[i].name,
			osap_err_name(bad[i].err)))
			printf("#   got %s\n", osap_err_name((enum osap_err)m.err));
		if (r < 0)
			is_int(r, osap_err_code((enum osap_err)m.err), "%s: code matches reason",
			       bad[i].name);
	}

	/* Successful negotiation answers name exactly one known protocol. */
	n = unhex(fv[1].hex, in, sizeof(in));
	for (i = 0; i < 3; i++) {
		static const uint8_t groups[] = { 0x03, 0x04, 0x00 };

		memcpy(buf, in, n);
		buf[5] = groups[i];    /* after the 2-octet remaining length */
		is_int(decode_exact(buf, n, &m, NULL), -EINVAL, "0x2 ok with group %02x",
		       groups[i]);
		is_int(m.err, OSAP_ERR_GROUP, "0x2 ok with group %02x: err_group", groups[i]);
	}

	/* Sealed part one octet short or long. */
	n = unhex(fv[5].hex, in, sizeof(in));
	memcpy(buf, in, n);
	buf[1]--;
	is_int(decode_exact(buf, n - 1, &m, NULL), -EMSGSIZE, "0x7 sealed part one short");
	is_int(m.err, OSAP_ERR_SEALED, "0x7 sealed part one short: err_sealed");
	memcpy(buf, in, n);
	buf[1]++;
	buf[n] = 0;
	is_int(decode_exact(buf, n + 1, &m, NULL), -EMSGSIZE, "0x7 sealed part one long");

	/* A serial of OSAP_ID_MAX octets is fine, one more is not. */
	{
		char s[OSAP_ID_MAX + 1];
		struct osap_msg e;

		memset(s, 'S', sizeof(s));
		osap_msg_init(&e, OSAP_AUTH_ECDH_REQ);
		e.ecdh_req = (struct osap_ecdh_req){ 1, 1, { (const uint8_t *)s, OSAP_ID_MAX } };
		e.sealed = (struct osap_view){ NULL, osap_sealed_len(OSAP_EC_PUB_LEN) };
		r = osap_encode(buf, sizeof(buf), &e);
		ok(r > 0, "serial of %d octets encodes", OSAP_ID_MAX);
		is_int(decode_exact(buf, (size_t)r, &m, NULL), r, "and decodes");
		e.ecdh_req.serial.len++;
		is_int(osap_encode(buf, sizeof(buf), &e), -EMSGSIZE, "serial of %d: -EMSGSIZE",
		       OSAP_ID_MAX + 1);
		/* Grow the serial by one: remaining length c4 01 -> c5 01, LEN 67 -> 68. */
		buf[1] = (uint8_t)(buf[1] + 1);
		buf[6] = (uint8_t)(buf[6] + 1);
		memmove(buf + 10 + OSAP_ID_MAX + 1, buf + 10 + OSAP_ID_MAX,
			osap_sealed_len(OSAP_EC_PUB_LEN));
		buf[10 + OSAP_ID_MAX] = 'S';
		is_int(decode_exact(buf, (size_t)r + 1, &m, NULL), -EINVAL,
		       "serial of %d octets refused", OSAP_ID_MAX + 1);
		is_int(m.err, OSAP_ERR_ID, "serial too long: err_id");
	}

	/* frame_len limits: 1024 octets in all is the largest frame. */
	is_int(osap_frame_len((const uint8_t[]){ 0xc1, 0xfd, 0x07 }, 3), 1024,
	       "frame_len: remaining 1021 -> 1024");
	is_int(osap_frame_len((const uint8_t[]){ 0xc1, 0xfe, 0x07 }, 3), -EMSGSIZE,
	       "frame_len: remaining 1022 -> too long");
	is_int(osap_frame_len((const uint8_t[]){ 0xc1, 0x80 }, 2), -EAGAIN,
	       "frame_len: varint continues");
	is_int(osap_frame_len((const uint8_t[]){ 0xc1, 0x7f }, 2), 129, "frame_len: 127");
	is_int(osap_frame_len((const uint8_t[]){ 0xc1, 0x80, 0x01 }, 3), 131, "frame_len: 128");
	is_int(osap_frame_len((const uint8_t[]){ 0xc1 }, 1), -EAGAIN, "frame_len: one octet");
	is_int(osap_peek_type(buf, 0), -EAGAIN, "peek_type of nothing");

	/* Encoder refusals. */
	{
		struct osap_msg e;

		osap_msg_init(&e, OSAP_ERROR);
		e.error.code = OSAP_ST_OK;
		is_int(osap_encode(buf, sizeof(buf), &e), -EINVAL, "encode: error code 0");
		e.error.code = OSAP_ST_MALFORMED;
		e.flags = 0x3;
		is_int(osap_encode(buf, sizeof(buf), &e), -EINVAL, "encode: reserved flag");
		e.flags = OSAP_FLAG_ECDH;
		e.type = 0x5;
		is_int(osap_encode(buf, sizeof(buf), &e), -EINVAL, "encode: reserved type");
		e.type = 0x1f;
		is_int(osap_encoded_len(&e), -EINVAL, "encode: type over 15");
		osap_msg_init(&e, OSAP_ERROR);
		e.error.code = OSAP_ST_MALFORMED;
		memset(in, 'r', sizeof(in));
		e.error.reason = (struct osap_view){ in, OSAP_REASON_MAX + 1 };
		is_int(osap_encode(buf, sizeof(buf), &e), -EMSGSIZE, "encode: reason too long");
		e.error.reason.len = OSAP_REASON_MAX;
		r = osap_encode(buf, sizeof(buf), &e);
		is_int(r, 1 + 2 + 3 + 5 + OSAP_REASON_MAX, "encode: longest reason");
		if (r > 0)
			is_int(decode_exact(buf, (size_t)r, &m, NULL), r, "longest reason decodes");
		osap_msg_init(&e, OSAP_DEVID_CFM);
		e.sealed = (struct osap_view){ NULL, osap_sealed_len(OSAP_CHALLENGE_LEN) };
		is_int(osap_encode(buf, sizeof(buf), &e), -EINVAL, "encode: empty DevID");
		osap_msg_init(&e, OSAP_DEVID_REQ);
		is_int(osap_encode(buf, sizeof(buf), &e), -EINVAL, "encode: request without seal");
		e.sealed.len = 100000;
		is_int(osap_encode(buf, sizeof(buf), &e), -EMSGSIZE, "encode: huge sealed part");
		is_int(osap_msg_status(&e), -1, "msg_status of a request");
	}
}

/* ---- sealed plaintexts ---- */

static void
test_plaintexts(void)
{
	struct osap_key_grant g = { .lifetime = 86400, .devid = V(devid) }, g2;
	struct osap_addr_query q = { .family = OSAP_FAMILY_IPV6 }, q2;
	struct osap_addr_grant a = {
		.family = OSAP_FAMILY_IPV6, .port = 1883, .proto_type = OSAP_PROTO_TYPE_MQTTSN,
		.proto = OSAP_PROTO_PLAIN, .lifetime = 60,
	}, a2;
	uint8_t buf[128], want[128];
	size_t n;

	challenge(g.challenge, 0xc0);
	unhex(ks_hex, g.session_key, sizeof(g.session_key));
	n = unhex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf00112233445566778899aabbccddeeff0001518016"
		  "35663063336539613762323164343865366130623133", want, sizeof(want));
	is_int(osap_encode_key_grant(buf, sizeof(buf), &g), (long long)n, "key grant length");
	is_mem(buf, want, n, "key grant bytes");
	is_int(osap_encode_key_grant(buf, n - 1, &g), -ENOSPC, "key grant: -ENOSPC");
	is_int(osap_decode_key_grant(want, n, &g2), 0, "key grant decodes");
	ok(memcmp(g2.challenge, g.challenge, 16) == 0 &&
	   memcmp(g2.session_key, g.session_key, 16) == 0 && g2.lifetime == 86400 &&
	   view_is(g2.devid, g.devid), "key grant fields");
	is_int(osap_decode_key_grant(want, n - 1, &g2), -EMSGSIZE, "key grant one short");
	is_int(osap_decode_key_grant(want, 36, &g2), -EMSGSIZE, "key grant without DevID length");
	memcpy(buf, want, n);
	buf[36] = 0;
	is_int(osap_decode_key_grant(buf, 37, &g2), -EINVAL, "key grant with an empty DevID");
	buf[36] = OSAP_ID_MAX + 1;
	is_int(osap_decode_key_grant(buf, n, &g2), -EINVAL, "key grant DevID over 64");
	g.devid.len = 0;
	is_int(osap_encode_key_grant(buf, sizeof(buf), &g), -EINVAL, "encode: empty DevID");

	challenge(q.challenge, 0xd0);
	is_int(osap_encode_addr_query(buf, sizeof(buf), &q), OSAP_ADDR_QUERY_LEN, "addr query");
	is_int(buf[16], 2, "addr query family octet");
	is_int(osap_decode_addr_query(buf, OSAP_ADDR_QUERY_LEN, &q2), 0, "addr query decodes");
	ok(memcmp(&q, &q2, sizeof(q)) == 0, "addr query fields");
	is_int(osap_decode_addr_query(buf, OSAP_ADDR_QUERY_LEN + 1, &q2), -EMSGSIZE,
	       "addr query too long");
	buf[16] = 4;
	is_int(osap_decode_addr_query(buf, OSAP_ADDR_QUERY_LEN, &q2), -EINVAL,
	       "addr query family 4 (not IANA's IPv4 number)");
	q.family = 3;
	is_int(osap_encode_addr_query(buf, sizeof(buf), &q), -EINVAL, "encode: family 3");
	q.family = 0;
	is_int(osap_encode_addr_query(buf, 16, &q), -ENOSPC, "addr query -ENOSPC");

	/* IPv6 grant: 2001:db8::1 port 1883. */
	challenge(a.challenge, 0xd0);
	a.addr[0] = 0x20;
	a.addr[1] = 0x01;
	a.addr[2] = 0x0d;
	a.addr[3] = 0xb8;
	a.addr[15] = 0x01;
	n = unhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf0220010db800000000000000000000000107"
		  "5b01010000003c", want, sizeof(want));
	is_int(osap_encode_addr_grant(buf, sizeof(buf), &a), OSAP_ADDR_GRANT_V6_LEN,
	       "addr grant IPv6 length");
	is_mem(buf, want, n, "addr grant IPv6 bytes");
	is_int(osap_decode_addr_grant(want, n, &a2), 0, "addr grant IPv6 decodes");
	ok(memcmp(&a, &a2, sizeof(a)) == 0, "addr grant IPv6 fields");
	is_int(osap_decode_addr_grant(want, OSAP_ADDR_GRANT_V4_LEN, &a2), -EMSGSIZE,
	       "IPv6 family with an IPv4 length");
	is_int(osap_encode_addr_grant(buf, OSAP_ADDR_GRANT_V6_LEN - 1, &a), -ENOSPC,
	       "addr grant -ENOSPC");
	a.proto = OSAP_PROTO_KNOWN;
	is_int(osap_encode_addr_grant(buf, sizeof(buf), &a), -EINVAL, "grant: two protocols");
	a.proto = OSAP_PROTO_PLAIN;
	a.port = 0;
	is_int(osap_encode_addr_grant(buf, sizeof(buf), &a), -EINVAL, "grant: port 0");
	a.port = 1883;
	a.family = OSAP_FAMILY_ANY;
	is_int(osap_encode_addr_grant(buf, sizeof(buf), &a), -EINVAL, "grant: family any");
	memcpy(buf, want, n);
	buf[34] = 0;    /* port low octet: port 0x0700 stays, make it 0 */
	buf[33] = 0;
	is_int(osap_decode_addr_grant(buf, n, &a2), -EINVAL, "grant with port 0 refused");

	/* IPv4 grant of the 0xB vector. */
	a = (struct osap_addr_grant){ .family = OSAP_FAMILY_IPV4, .addr = { 192, 0, 2, 10 },
				      .port = 8883, .proto_type = 1, .proto = 2, .lifetime = 300 };
	challenge(a.challenge, 0xd0);
	n = unhex("d0d1d2d3d4d5d6d7d8d9dadbdcdddedf01c000020a22b3010200000" "12c", want,
		  sizeof(want));
	is_int(osap_encode_addr_grant(buf, sizeof(buf), &a), OSAP_ADDR_GRANT_V4_LEN,
	       "addr grant IPv4 length");
	is_mem(buf, want, n, "addr grant IPv4 bytes");
	is_int(osap_decode_addr_grant(want, n, &a2), 0, "addr grant IPv4 decodes");
	ok(memcmp(&a, &a2, sizeof(a)) == 0, "addr grant IPv4 fields (addr[4..15] zero)");
}

/* ---- business payloads ---- */

static void
test_biz(void)
{
	struct osap_aead *a = osap_aead_new();
	uint8_t ks[16], want[64], out[64], pt[64];
	struct osap_replay rw;
	uint64_t ctr = 0;
	size_t n;
	int r;

	unhex(ks_hex, ks, sizeof(ks));
	n = unhex("000000010000000000000001493ca9d3cf529678081b6efd87c17fbf66bf1b2d", want,
		  sizeof(want));
	r = osap_biz_seal(a, ks, OSAP_DIR_UP, 1, (const uint8_t *)"21.5", 4, out, sizeof(out));
	is_int(r, (long long)n, "biz seal: 4 + 28 octets");
	is_mem(out, want, n, "biz seal: the vector");
	is_int(osap_biz_counter(out, n), 1, "biz counter");
	is_int(osap_biz_counter(out, 11), 0, "biz counter of a short payload");
	r = osap_biz_open(a, ks, OSAP_DIR_UP, want, n, pt, sizeof(pt), &ctr);
	is_int(r, 4, "biz open");
	ok(memcmp(pt, "21.5", 4) == 0 && ctr == 1, "biz open: plaintext and counter");
	is_int(osap_biz_open(a, ks, OSAP_DIR_DOWN, want, n, pt, sizeof(pt), NULL), -EBADMSG,
	       "biz open in the other direction fails");
	out[n - 1] ^= 1;
	is_int(osap_biz_open(a, ks, OSAP_DIR_UP, out, n, pt, sizeof(pt), NULL), -EBADMSG,
	       "biz: a flipped tag bit fails");
	memcpy(out, want, n);
	out[11] = 2;    /* the counter is the nonce: changing it breaks the tag */
	is_int(osap_biz_open(a, ks, OSAP_DIR_UP, out, n, pt, sizeof(pt), NULL), -EBADMSG,
	       "biz: a changed counter fails");
	out[11] = 0;
	is_int(osap_biz_open(a, ks, OSAP_DIR_UP, out, n, pt, sizeof(pt), NULL), -EBADMSG,
	       "biz: counter 0 fails");
	is_int(osap_biz_open(a, ks, OSAP_DIR_UP, want, OSAP_BIZ_OVERHEAD - 1, pt, sizeof(pt),
			     NULL), -EMSGSIZE, "biz: too short");
	is_int(osap_biz_open(a, ks, OSAP_DIR_UP, want, n, pt, 3, NULL), -ENOSPC, "biz: -ENOSPC");
	is_int(osap_biz_seal(a, ks, OSAP_DIR_UP, 0, pt, 4, out, sizeof(out)), -EINVAL,
	       "biz seal with counter 0");
	is_int(osap_biz_seal(a, ks, 3, 1, pt, 4, out, sizeof(out)), -EINVAL,
	       "biz seal with an unknown direction");
	is_int(osap_biz_seal(a, ks, OSAP_DIR_UP, 1, pt, 4, out, 31), -ENOSPC, "biz seal -ENOSPC");

	/* In place: plaintext at out + 12. */
	memcpy(out + OSAP_BIZ_HDR_LEN, "21.5", 4);
	r = osap_biz_seal(a, ks, OSAP_DIR_UP, 1, out + OSAP_BIZ_HDR_LEN, 4, out, sizeof(out));
	is_mem(out, want, n, "biz seal in place");
	r = osap_biz_open(a, ks, OSAP_DIR_UP, out, n, out + OSAP_BIZ_HDR_LEN, 4, NULL);
	ok(r == 4 && memcmp(out + OSAP_BIZ_HDR_LEN, "21.5", 4) == 0, "biz open in place");
	r = osap_biz_seal(a, ks, OSAP_DIR_DOWN, 0x0102030405060708ull, NULL, 0, out, sizeof(out));
	is_int(r, OSAP_BIZ_OVERHEAD, "biz seal of nothing");
	is_int(osap_biz_counter(out, (size_t)r), 0x0102030405060708ll, "64-bit counter");
	is_int(osap_biz_open(NULL, ks, OSAP_DIR_DOWN, out, (size_t)r, pt, 0, NULL), 0,
	       "biz open of nothing");

	/* The replay window. */
	osap_replay_init(&rw);
	is_int(osap_replay_check(&rw, 0), -EALREADY, "replay: 0 never");
	is_int(osap_replay_check(&rw, 1), 0, "replay: 1 first");
	osap_replay_update(&rw, 1);
	is_int(osap_replay_check(&rw, 1), -EALREADY, "replay: 1 again");
	is_int(osap_replay_check(&rw, 5), 0, "replay: 5 ahead");
	osap_replay_update(&rw, 5);
	is_int(osap_replay_check(&rw, 3), 0, "replay: 3 late but new");
	osap_replay_update(&rw, 3);
	is_int(osap_replay_check(&rw, 3), -EALREADY, "replay: 3 again");
	is_int(osap_replay_check(&rw, 4), 0, "replay: 4 still new");
	osap_replay_update(&rw, 100);
	is_int(osap_replay_check(&rw, 37), 0, "replay: 37 in the window (100 - 63)");
	is_int(osap_replay_check(&rw, 36), -EALREADY, "replay: 36 out of the window");
	is_int(osap_replay_check(&rw, 5), -EALREADY, "replay: 5 far behind");
	osap_replay_update(&rw, 37);
	is_int(osap_replay_check(&rw, 37), -EALREADY, "replay: 37 seen");
	osap_replay_update(&rw, 1000);
	is_int(osap_replay_check(&rw, 100), -EALREADY, "replay: after a jump the old top is old");
	is_int(osap_replay_check(&rw, 999), 0, "replay: 999 below the new top");
	osap_aead_free(a);
}

/* ---- randomness ---- */

static void
test_random(void)
{
	char id1[OSAP_DEVID_GEN_LEN + 1], id2[OSAP_DEVID_GEN_LEN + 1];
	uint8_t k1[16], k2[16];
	int hex = 1;

	is_int(osap_gen_devid(id1, sizeof(id1)), OSAP_DEVID_GEN_LEN, "gen_devid");
	is_int(osap_gen_devid(id2, sizeof(id2)), OSAP_DEVID_GEN_LEN, "gen_devid again");
	is_int(strlen(id1), OSAP_DEVID_GEN_LEN, "DevID is NUL-terminated");
	for (int i = 0; i < OSAP_DEVID_GEN_LEN; i++)
		hex &= isdigit((unsigned char)id1[i]) || (id1[i] >= 'a' && id1[i] <= 'f');
	ok(hex, "DevID is lowercase hex");
	ok(strcmp(id1, id2) != 0, "two DevIDs differ");
	is_int(osap_gen_devid(id1, OSAP_DEVID_GEN_LEN), -ENOSPC, "gen_devid: no room for the NUL");
	is_int(osap_gen_session_key(k1), 0, "session key");
	is_int(osap_gen_session_key(k2), 0, "session key again");
	ok(memcmp(k1, k2, 16) != 0, "two session keys differ");
	ok(osap_ct_equal(k1, k1, 16) && !osap_ct_equal(k1, k2, 16), "ct_equal");
	ok(osap_ct_equal(k1, k2, 0), "ct_equal of nothing");
}

/* ---- the whole exchange, device and service, fresh keys ---- */

/* Decode a frame that must be of @p type and open it. */
static int
recv_open(struct osap_aead *a, const uint8_t *key, const uint8_t *frame, int len,
	  uint8_t type, struct osap_msg *m, uint8_t *pt, size_t cap)
{
	if (len <= 0 || osap_decode(frame, (size_t)len, m) != len || m->type != type)
		return -EPROTO;
	return osap_open_msg(a, key, frame, m, pt, cap);
}

static void
test_flow(void)
{
	const uint8_t *c = (const uint8_t *)code, *s = (const uint8_t *)serial;
	struct osap_aead *dev_a = osap_aead_new(), *lbs_a = osap_aead_new();
	uint8_t dev_sk[16], lbs_sk[16], dev_mk[16], lbs_mk[16], ks[16], dev_ks[16];
	uint8_t ch[16], frame[OSAP_FRAME_MAX], pt[256], pub[OSAP_EC_PUB_LEN];
	struct osap_ecdh *dk, *lk;
	struct osap_key_grant g;
	struct osap_addr_query q = { .family = OSAP_FAMILY_ANY };
	struct osap_addr_grant ag;
	struct osap_msg m, r;
	char id[OSAP_DEVID_GEN_LEN + 1];
	uint8_t chosen;
	int n, p;

	/* Device: share key, key pair, 0x1 offering both protocols. */
	osap_share_key(c, 6, s, 12, 1000, dev_sk);
	dk = osap_ecdh_generate();
	osap_ecdh_public(dk, pub);
	osap_msg_init(&m, OSAP_AUTH_ECDH_REQ);
	m.ecdh_req = (struct osap_ecdh_req){ OSAP_PROTO_TYPE_MQTTSN, OSAP_PROTO_KNOWN, V(serial) };
	n = osap_seal_msg(dev_a, dev_sk, NULL, &m, pub, sizeof(pub), frame, sizeof(frame));
	ok(n > 0, "flow: device sends 0x1");

	/* Service: serial -> code -> share key; negotiate; open; answer 0x2. */
	is_int(osap_decode(frame, (size_t)n, &r), n, "flow: service decodes 0x1");
	osap_share_key(c, 6, r.ecdh_req.serial.p, r.ecdh_req.serial.len, 1000, lbs_sk);
	chosen = osap_select_protocol(r.ecdh_req.proto_group, OSAP_PROTO_KNOWN);
	is_int(chosen, OSAP_PROTO_SECURE, "flow: the most secure protocol is chosen");
	p = osap_open_msg(lbs_a, lbs_sk, frame, &r, pt, sizeof(pt));
	is_int(p, OSAP_EC_PUB_LEN, "flow: service opens the device key");
	lk = osap_ecdh_generate();
	is_int(osap_ecdh_master(lk, pt, lbs_sk, lbs_mk), 0, "flow: service master key");
	osap_ecdh_public(lk, pub);
	osap_msg_init(&m, OSAP_AUTH_ECDH_RSP);
	m.ecdh_rsp = (struct osap_ecdh_rsp){ OSAP_ST_OK, OSAP_PROTO_TYPE_MQTTSN, chosen };
	n = osap_seal_msg(lbs_a, lbs_sk, NULL, &m, pub, sizeof(pub), frame, sizeof(frame));

	/* Device: open 0x2, master key, 0x7. */
	p = recv_open(dev_a, dev_sk, frame, n, OSAP_AUTH_ECDH_RSP, &r, pt, sizeof(pt));
	is_int(p, OSAP_EC_PUB_LEN, "flow: device opens the service key");
	is_int(osap_ecdh_master(dk, pt, dev_sk, dev_mk), 0, "flow: device master key");
	is_mem(dev_mk, lbs_mk, 16, "flow: both master keys agree");
	osap_random(ch, sizeof(ch));
	osap_msg_init(&m, OSAP_DEVID_REQ);
	n = osap_seal_msg(dev_a, dev_mk, NULL, &m, ch, sizeof(ch), frame, sizeof(frame));

	/* Service: 0x7 -> DevID, session key -> 0x8. */
	p = recv_open(lbs_a, lbs_mk, frame, n, OSAP_DEVID_REQ, &r, pt, sizeof(pt));
	is_int(p, OSAP_CHALLENGE_LEN, "flow: service opens 0x7");
	osap_gen_devid(id, sizeof(id));
	memcpy(g.challenge, pt, 16);
	osap_gen_session_key(ks);
	memcpy(g.session_key, ks, 16);
	g.lifetime = 3600;
	g.devid = (struct osap_view){ (const uint8_t *)id, strlen(id) };
	p = osap_encode_key_grant(pt, sizeof(pt), &g);
	osap_msg_init(&m, OSAP_DEVID_RSP);
	n = osap_seal_msg(lbs_a, lbs_mk, NULL, &m, pt, (size_t)p, frame, sizeof(frame));
	ok(n > 0, "flow: service sends 0x8");

	/* Device: open 0x8, check the challenge, keep DevID and key, 0x9, 0xA. */
	p = recv_open(dev_a, dev_mk, frame, n, OSAP_DEVID_RSP, &r, pt, sizeof(pt));
	is_int(osap_decode_key_grant(pt, (size_t)p, &g), 0, "flow: device reads the key grant");
	ok(osap_ct_equal(g.challenge, ch, 16), "flow: the challenge comes back");
	memcpy(dev_ks, g.session_key, 16);
	is_mem(dev_ks, ks, 16, "flow: the session key arrived");
	osap_msg_init(&m, OSAP_DEVID_CFM);
	m.devid_cfm.devid = (struct osap_view){ (const uint8_t *)id, strlen(id) };
	n = osap_seal_msg(dev_a, dev_ks, NULL, &m, ch, sizeof(ch), frame, sizeof(frame));
	p = recv_open(lbs_a, ks, frame, n, OSAP_DEVID_CFM, &r, pt, sizeof(pt));
	ok(p == 16 && osap_ct_equal(pt, ch, 16), "flow: service accepts the confirmation");

	osap_random(q.challenge, sizeof(q.challenge));
	p = osap_encode_addr_query(pt, sizeof(pt), &q);
	osap_msg_init(&m, OSAP_ADDR_REQ);
	n = osap_seal_msg(dev_a, dev_ks, NULL, &m, pt, (size_t)p, frame, sizeof(frame));
	p = recv_open(lbs_a, ks, frame, n, OSAP_ADDR_REQ, &r, pt, sizeof(pt));
	is_int(osap_decode_addr_query(pt, (size_t)p, &q), 0, "flow: service reads the query");
	ag = (struct osap_addr_grant){ .family = OSAP_FAMILY_IPV4, .addr = { 198, 51, 100, 7 },
				       .port = 1883, .proto_type = OSAP_PROTO_TYPE_MQTTSN,
				       .proto = chosen, .lifetime = 120 };
	memcpy(ag.challenge, q.challenge, 16);
	p = osap_encode_addr_grant(pt, sizeof(pt), &ag);
	osap_msg_init(&m, OSAP_ADDR_RSP);
	n = osap_seal_msg(lbs_a, ks, NULL, &m, pt, (size_t)p, frame, sizeof(frame));
	p = recv_open(dev_a, dev_ks, frame, n, OSAP_ADDR_RSP, &r, pt, sizeof(pt));
	is_int(osap_decode_addr_grant(pt, (size_t)p, &ag), 0, "flow: device reads the address");
	ok(ag.port == 1883 && ag.addr[3] == 7 && ag.proto == chosen &&
	   osap_ct_equal(ag.challenge, q.challenge, 16), "flow: the address and the challenge");

	/* Re-authentication on a new connection: 0x4 / 0x6 under the master key. */
	osap_random(ch, sizeof(ch));
	osap_msg_init(&m, OSAP_REFRESH_REQ);
	m.refresh_req = (struct osap_refresh_req){ OSAP_PROTO_TYPE_MQTTSN, OSAP_PROTO_PLAIN,
						   { (const uint8_t *)id, strlen(id) } };
	n = osap_seal_msg(dev_a, dev_mk, NULL, &m, ch, sizeof(ch), frame, sizeof(frame));
	p = recv_open(lbs_a, lbs_mk, frame, n, OSAP_REFRESH_REQ, &r, pt, sizeof(pt));
	is_int(p, 16, "flow: service opens 0x4");
	ok(view_is(r.refresh_req.devid, m.refresh_req.devid), "flow: 0x4 names the DevID");
	memcpy(g.challenge, pt, 16);
	osap_gen_session_key(ks);
	memcpy(g.session_key, ks, 16);
	p = osap_encode_key_grant(pt, sizeof(pt), &g);
	osap_msg_init(&m, OSAP_REFRESH_RSP);
	m.refresh_rsp = (struct osap_refresh_rsp){
		OSAP_ST_OK, OSAP_PROTO_TYPE_MQTTSN,
		osap_select_protocol(r.refresh_req.proto_group, OSAP_PROTO_KNOWN) };
	n = osap_seal_msg(lbs_a, lbs_mk, NULL, &m, pt, (size_t)p, frame, sizeof(frame));
	p = recv_open(dev_a, dev_mk, frame, n, OSAP_REFRESH_RSP, &r, pt, sizeof(pt));
	is_int(osap_decode_key_grant(pt, (size_t)p, &g), 0, "flow: device reads the new key");
	ok(osap_ct_equal(g.challenge, ch, 16) && memcmp(g.session_key, dev_ks, 16) != 0 &&
	   r.refresh_rsp.proto_group == OSAP_PROTO_PLAIN,
	   "flow: fresh key, challenge echoed, protocol renegotiated");

	/* A business message each way under the new key. */
	memcpy(dev_ks, g.session_key, 16);
	n = osap_biz_seal(dev_a, dev_ks, OSAP_DIR_UP, 1, (const uint8_t *)"on", 2, frame,
			  sizeof(frame));
	is_int(osap_biz_open(lbs_a, ks, OSAP_DIR_UP, frame, (size_t)n, pt, sizeof(pt), NULL), 2,
	       "flow: node opens the device's payload");
	n = osap_biz_seal(lbs_a, ks, OSAP_DIR_DOWN, 1, (const uint8_t *)"ack", 3, frame,
			  sizeof(frame));
	is_int(osap_biz_open(dev_a, dev_ks, OSAP_DIR_DOWN, frame, (size_t)n, pt, sizeof(pt), NULL),
	       3, "flow: device opens the node's payload");

	osap_ecdh_free(dk);
	osap_ecdh_free(lk);
	osap_aead_free(dev_a);
	osap_aead_free(lbs_a);
}

int
main(void)
{
	build_vectors();
	test_names();
	test_share_key();
	test_ecdh();
	test_gcm();
	test_frame_vectors();
	test_stream();
	test_malformed();
	test_plaintexts();
	test_biz();
	test_random();
	test_flow();
	return done_testing();
}
