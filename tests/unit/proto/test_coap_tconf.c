/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topic properties codec against hand-written CBOR.
 *
 * The golden vectors are the payloads of draft-ietf-core-coap-pubsub's
 * examples (sections 2.4.2, 2.4.3, 2.5.1, 2.5.3, 2.5.4, 2.2.1) and a few
 * boundary maps, typed in as bytes following RFC 8949 (head byte = major
 * type << 5 | argument, or 24..27 and 1, 2, 4 or 8 argument bytes), never
 * produced by the encoder. Each is checked both ways, decode(bytes) ==
 * fields and encode(fields) == bytes, then cut at every length (decode:
 * -EINVAL; encode: -ENOSPC). Then the shortest forms, the acceptance of
 * longer ones, every decode error, the key arrays of FETCH, match and
 * seeded round trips. Decoding reads from a heap copy of exactly the
 * input and encoding writes into a heap buffer of exactly the capacity,
 * so an ASan build catches any access past either.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "proto/coap_tconf.h"
#include "tests/unit/tap.h"

/* A string literal as (bytes, length): hex escapes and text in separate literals. */
#define L(s) (const uint8_t *)(s), sizeof(s) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NAME "\x72" "living-room-sensor"         /* tstr, 18 bytes */
#define DATA "\x70" "/ps/data/1bd0d6d"           /* tstr, 16 bytes */
#define RT "\x6c" "core.ps.data"                 /* tstr, 12 bytes */
#define TYPE "\x6b" "temperature"                /* tstr, 11 bytes */
#define FF8 "\xff\xff\xff\xff\xff\xff\xff\xff"

/* ---- helpers ---- */

static uint8_t *
copy_of(const uint8_t *bytes, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (!p)
		abort();
	if (len)
		memcpy(p, bytes, len);
	return p;
}

/* Decode from a heap copy of exactly @p len bytes; *copy keeps it for the views. */
static int
decode_exact(const uint8_t *bytes, size_t len, struct coap_tconf *c, uint8_t **copy)
{
	uint8_t *p = copy_of(bytes, len);
	int r = coap_tconf_decode(p, len, c);

	if (copy)
		*copy = p;
	else
		free(p);
	return r;
}

static int
keys_exact(const uint8_t *bytes, size_t len, uint32_t *mask)
{
	uint8_t *p = copy_of(bytes, len);
	int r = coap_tconf_keys_decode(p, len, mask);

	free(p);
	return r;
}

/* Encode into a heap buffer of exactly @p cap bytes; *out gets a copy of what was written. */
static int
encode_exact(const struct coap_tconf *c, uint32_t mask, size_t cap, uint8_t *out)
{
	uint8_t *p = malloc(cap ? cap : 1);
	int r;

	if (!p)
		abort();
	r = coap_tconf_encode(c, mask, p, cap);
	if (r > 0 && out)
		memcpy(out, p, (size_t)r);
	free(p);
	return r;
}

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The first property in which two configurations differ, or NULL. */
static const char *
tconf_diff(const struct coap_tconf *a, const struct coap_tconf *b)
{
	uint32_t p = a->present;

#define HAS(k) (p & COAP_TP_BIT(COAP_TP_##k))
#define NE(f) !bytes_eq(a->f, a->f##_len, b->f, b->f##_len)
	if (a->present != b->present)
		return "present";
	if (HAS(NAME) && NE(name))
		return "topic-name";
	if (HAS(DATA) && NE(data))
		return "topic-data";
	if (HAS(RT) && NE(rt))
		return "resource-type";
	if (HAS(CT) && a->ct != b->ct)
		return "topic-content-format";
	if (HAS(TYPE) && NE(type))
		return "topic-type";
	if (HAS(EXPIRES) && a->expires != b->expires)
		return "expiration-date";
	if (HAS(MAX_SUBS) && a->max_subs != b->max_subs)
		return "max-subscribers";
	if (HAS(OBS_CHECK) && a->obs_check != b->obs_check)
		return "observer-check";
	if (HAS(INIT) && NE(init))
		return "initialize";
#undef NE
#undef HAS
	return NULL;
}

/* Absent properties are zero, present views lie inside [buf, buf + len). */
static bool
tconf_sane(const struct coap_tconf *c, const uint8_t *buf, size_t len)
{
#define IN(f, n) ((c->present & COAP_TP_BIT(f)) ? \
	(const uint8_t *)(n) >= buf && (const uint8_t *)(n) + (n##_len) <= buf + len : \
	(n) == NULL && (n##_len) == 0)
	return IN(COAP_TP_NAME, c->name) && IN(COAP_TP_DATA, c->data) && IN(COAP_TP_RT, c->rt) &&
	       IN(COAP_TP_TYPE, c->type) && IN(COAP_TP_INIT, c->init) &&
	       ((c->present & COAP_TP_BIT(COAP_TP_CT)) || c->ct == 0) &&
	       ((c->present & COAP_TP_BIT(COAP_TP_EXPIRES)) || c->expires == 0) &&
	       ((c->present & COAP_TP_BIT(COAP_TP_MAX_SUBS)) || c->max_subs == 0) &&
	       ((c->present & COAP_TP_BIT(COAP_TP_OBS_CHECK)) || c->obs_check == 0) &&
	       (c->present & ~COAP_TP_ALL) == 0;
#undef IN
}

#define P(k) COAP_TP_BIT(COAP_TP_##k)
#define STR(f, s) .f = (s), .f##_len = sizeof(s) - 1

/* ---- golden vectors ---- */

struct vector {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	struct coap_tconf c;
};

static const struct vector vectors[] = {
	{ "2.4.3 create request {0: \"living-room-sensor\", 2: \"core.ps.data\"}",
	  L("\xa2" "\x00" NAME "\x02" RT),
	  { .present = P(NAME) | P(RT), STR(name, "living-room-sensor"),
	    STR(rt, "core.ps.data") } },
	{ "2.4.3 2.01 response {0, 1: \"/ps/data/1bd0d6d\", 2}",
	  L("\xa3" "\x00" NAME "\x01" DATA "\x02" RT),
	  { .present = P(NAME) | P(DATA) | P(RT), STR(name, "living-room-sensor"),
	    STR(data, "/ps/data/1bd0d6d"), STR(rt, "core.ps.data") } },
	{ "2.5.1 topic {0, 1, 2, 3: 112, 4: \"temperature\", 5: 1(1680393599), 6: 100}",
	  L("\xa7" "\x00" NAME "\x01" DATA "\x02" RT "\x03\x18\x70" "\x04" TYPE
	    "\x05\xc1\x1a\x64\x28\xc5\x7f" "\x06\x18\x64"),
	  { .present = P(NAME) | P(DATA) | P(RT) | P(CT) | P(TYPE) | P(EXPIRES) | P(MAX_SUBS),
	    STR(name, "living-room-sensor"), STR(data, "/ps/data/1bd0d6d"),
	    STR(rt, "core.ps.data"), .ct = 112, STR(type, "temperature"),
	    .expires = 1680393599, .max_subs = 100 } },
	{ "2.5.3 2.04 response {0..4, 5: 1(1682719199), 6: 100, 7: 86400}",
	  L("\xa8" "\x00" NAME "\x01" DATA "\x02" RT "\x03\x18\x70" "\x04" TYPE
	    "\x05\xc1\x1a\x64\x4c\x41\xdf" "\x06\x18\x64" "\x07\x1a\x00\x01\x51\x80"),
	  { .present = P(NAME) | P(DATA) | P(RT) | P(CT) | P(TYPE) | P(EXPIRES) | P(MAX_SUBS) |
		       P(OBS_CHECK),
	    STR(name, "living-room-sensor"), STR(data, "/ps/data/1bd0d6d"),
	    STR(rt, "core.ps.data"), .ct = 112, STR(type, "temperature"),
	    .expires = 1682719199, .max_subs = 100, .obs_check = 86400 } },
	{ "2.5.4 iPATCH {5: 1(1709164799), 6: 5}",
	  L("\xa2" "\x05\xc1\x1a\x65\xdf\xc8\xff" "\x06\x05"),
	  { .present = P(EXPIRES) | P(MAX_SUBS), .expires = 1709164799, .max_subs = 5 } },
	{ "2.4.2 FETCH filter {0: \"temperature\", 2: \"core.ps.data\"}",
	  L("\xa2" "\x00" TYPE "\x02" RT),
	  { .present = P(NAME) | P(RT), STR(name, "temperature"), STR(rt, "core.ps.data") } },
	{ "2.2.1 initialize <<[]>> with content-format 60 {3: 60, 8: h'80'}",
	  L("\xa2" "\x03\x18\x3c" "\x08\x41\x80"),
	  { .present = P(CT) | P(INIT), .ct = 60, .init = (const uint8_t *)"\x80",
	    .init_len = 1 } },
	{ "empty map", L("\xa0"), { .present = 0 } },
	{ "all nine at their limits, empty strings",
	  L("\xa9" "\x00\x60" "\x01\x60" "\x02\x60" "\x03\x19\xff\xff" "\x04\x60"
	    "\x05\xc1\x1b" FF8 "\x06\x1a\xff\xff\xff\xff" "\x07\x1a\xff\xff\xff\xff" "\x08\x40"),
	  { .present = COAP_TP_ALL, STR(name, ""), STR(data, ""), STR(rt, ""), .ct = 65535,
	    STR(type, ""), .expires = UINT64_MAX, .max_subs = UINT32_MAX,
	    .obs_check = UINT32_MAX, .init = (const uint8_t *)"", .init_len = 0 } },
	{ "smallest values {3: 0, 5: 1(0), 6: 0, 7: 1}",
	  L("\xa4" "\x03\x00" "\x05\xc1\x00" "\x06\x00" "\x07\x01"),
	  { .present = P(CT) | P(EXPIRES) | P(MAX_SUBS) | P(OBS_CHECK), .obs_check = 1 } },
	{ "UTF-8 topic-type \"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\" and a NUL in topic-name",
	  L("\xa2" "\x00\x63" "a\x00" "b" "\x04\x69" "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e"),
	  { .present = P(NAME) | P(TYPE), .name = "a\0b", .name_len = 3,
	    STR(type, "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e") } },
};

static void
test_vectors(void)
{
	uint8_t out[256];
	size_t i, cap, n;

	for (i = 0; i < NELEM(vectors); i++) {
		const struct vector *v = &vectors[i];
		struct coap_tconf c = { 0 }, keep;
		uint8_t *copy;
		const char *d;
		bool all = true;
		int r;

		r = decode_exact(v->bytes, v->len, &c, &copy);
		is_int(r, 0, "decode %s", v->name);
		d = tconf_diff(&c, &v->c);
		if (!ok(d == NULL, "decode %s: fields", v->name))
			printf("#   differs in %s\n", d);
		ok(tconf_sane(&c, copy, v->len), "decode %s: views in the input, absent fields 0",
		   v->name);
		free(copy);

		memset(out, 0xee, sizeof(out));
		r = encode_exact(&v->c, COAP_TP_ALL, v->len, out);
		is_int(r, (long long)v->len, "encode %s: length (exact capacity)", v->name);
		if (r == (int)v->len)
			is_mem(out, v->bytes, v->len, "encode %s: bytes", v->name);
		is_int(coap_tconf_encode(&v->c, COAP_TP_ALL, out, sizeof(out)), (long long)v->len,
		       "encode %s: in a larger buffer", v->name);
		is_int(coap_tconf_encode(&v->c, ~0u, out, sizeof(out)), (long long)v->len,
		       "encode %s: mask bits above 8 are ignored", v->name);

		for (cap = 0; cap < v->len; cap++)
			all &= encode_exact(&v->c, COAP_TP_ALL, cap, NULL) == -ENOSPC;
		ok(all, "encode %s: -ENOSPC at each of the %zu shorter capacities", v->name,
		   v->len);

		/* every cut is truncated, one more byte is trailing; *out stays as it was */
		all = true;
		memset(&keep, 0x5a, sizeof(keep));
		for (n = 0; n < v->len; n++) {
			c = keep;
			all &= decode_exact(v->bytes, n, &c, NULL) == -EINVAL &&
			       memcmp(&c, &keep, sizeof(c)) == 0;
		}
		ok(all, "decode %s: -EINVAL for each of the %zu prefixes, out untouched", v->name,
		   v->len);
		memcpy(out, v->bytes, v->len);
		out[v->len] = 0x00;
		is_int(decode_exact(out, v->len + 1, &c, NULL), -EINVAL, "decode %s: trailing byte",
		       v->name);
	}
}

/* ---- deterministic encoding ---- */

#define OUT_MAX (2 * 65536 + 64)

static void
test_shortest(void)
{
	static const struct {
		uint64_t v;
		const char *hex;        /* the integer as encoded */
		size_t len;
	} ints[] = {
		{ 0, "\x00", 1 },
		{ 23, "\x17", 1 },
		{ 24, "\x18\x18", 2 },
		{ 255, "\x18\xff", 2 },
		{ 256, "\x19\x01\x00", 3 },
		{ 65535, "\x19\xff\xff", 3 },
		{ 65536, "\x1a\x00\x01\x00\x00", 5 },
		{ UINT32_MAX, "\x1a\xff\xff\xff\xff", 5 },
		{ (uint64_t)UINT32_MAX + 1, "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9 },
		{ UINT64_MAX, "\x1b" FF8, 9 },
	};
	static const size_t lens[] = { 0, 1, 23, 24, 255, 256, 65535, 65536 };
	static char text[65536 + 16];
	uint8_t want[32], *out = malloc(OUT_MAX);
	struct coap_tconf c, back;
	size_t i, h;
	int r;

	if (!out)
		abort();
	for (i = 0; i < NELEM(ints); i++) {
		unsigned int k;

		/* as ct (16 bits), max-subscribers (32 bits) and expiration-date (64 bits) */
		for (k = COAP_TP_CT; k <= COAP_TP_MAX_SUBS; k++) {
			size_t w = 0;

			if (k == COAP_TP_TYPE || (k == COAP_TP_CT && ints[i].v > UINT16_MAX) ||
			    (k == COAP_TP_MAX_SUBS && ints[i].v > UINT32_MAX))
				continue;
			memset(&c, 0, sizeof(c));
			c.present = COAP_TP_BIT(k);
			c.ct = (uint16_t)ints[i].v;
			c.expires = ints[i].v;
			c.max_subs = (uint32_t)ints[i].v;
			want[w++] = 0xa1;
			want[w++] = (uint8_t)k;
			if (k == COAP_TP_EXPIRES)
				want[w++] = 0xc1;
			memcpy(want + w, ints[i].hex, ints[i].len);
			w += ints[i].len;
			r = coap_tconf_encode(&c, COAP_TP_ALL, out, 64);
			ok(r == (int)w && memcmp(out, want, w) == 0,
			   "shortest: key %u value %llu is %zu bytes", k,
			   (unsigned long long)ints[i].v, w);
		}
	}

	/* string and byte string heads: 0x60 + n up to 23, then 0x78 n, 0x79 nn, 0x7a nnnn */
	memset(text, 'a', sizeof(text));
	for (i = 0; i < NELEM(lens); i++) {
		size_t n = lens[i];

		memset(&c, 0, sizeof(c));
		c.present = P(TYPE) | P(INIT);
		c.type = text;
		c.type_len = n;
		c.init = (const uint8_t *)text;
		c.init_len = n;
		r = coap_tconf_encode(&c, COAP_TP_ALL, out, OUT_MAX);
		h = n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
		is_int(r, (long long)(3 + 2 * (h + n)), "shortest: %zu-byte strings, length", n);
		if (r <= 0)
			continue;
		ok(out[0] == 0xa2 && out[1] == 0x04 && out[3 + h + n - 1] == 0x08,
		   "shortest: strings of %zu bytes, keys", n);
		if (n < 24)
			ok(out[2] == 0x60 + n && out[3 + n] == 0x08 && out[4 + n] == 0x40 + n,
			   "shortest: %zu bytes, heads 0x%02zx 0x%02zx", n, 0x60 + n, 0x40 + n);
		else if (n < 256)
			ok(out[2] == 0x78 && out[3] == n && out[5 + n] == 0x58 && out[6 + n] == n,
			   "shortest: %zu bytes, heads 0x78 and 0x58 with one length byte", n);
		else if (n < 65536)
			ok(out[2] == 0x79 && out[3] == n >> 8 && out[4] == (n & 0xff) &&
			   out[6 + n] == 0x59, "shortest: %zu bytes, heads 0x79 and 0x59", n);
		else
			ok(memcmp(out + 2, "\x7a\x00\x01\x00\x00", 5) == 0 && out[8 + n] == 0x5a,
			   "shortest: %zu bytes, heads 0x7a and 0x5a", n);
		ok(coap_tconf_decode(out, (size_t)r, &back) == 0 && tconf_diff(&back, &c) == NULL,
		   "shortest: %zu-byte strings decode back", n);
	}
	free(out);

	/* map heads: 0xa0 + count, for any mask */
	{
		uint8_t buf[16];

		memset(&c, 0, sizeof(c));
		c.present = COAP_TP_ALL;
		c.obs_check = 1;
		is_int(coap_tconf_encode(&c, 0, buf, sizeof(buf)), 1, "mask 0: the empty map");
		ok(buf[0] == 0xa0, "mask 0: 0xa0");
		r = coap_tconf_encode(&c, P(CT) | P(OBS_CHECK), buf, sizeof(buf));
		ok(r == 5 && memcmp(buf, "\xa2\x03\x00\x07\x01", 5) == 0,
		   "mask {3, 7}: a2 03 00 07 01, in key order");
		c.present = P(OBS_CHECK);
		r = coap_tconf_encode(&c, P(CT) | P(OBS_CHECK), buf, sizeof(buf));
		ok(r == 3 && memcmp(buf, "\xa1\x07\x01", 3) == 0,
		   "mask {3, 7} with only 7 present: a1 07 01");
	}
}

/* Longer forms than needed decode, and encode back in the shortest. */
static void
test_longer_forms(void)
{
	static const struct {
		const char *name;
		const uint8_t *bytes;
		size_t len;
		const uint8_t *canon;
		size_t clen;
	} cases[] = {
		{ "key 0 as 0x18 0x00", L("\xa1\x18\x00\x60"), L("\xa1\x00\x60") },
		{ "key 8 as 0x1b 00..08", L("\xa1\x1b\x00\x00\x00\x00\x00\x00\x00\x08\x40"),
		  L("\xa1\x08\x40") },
		{ "ct 5 as 0x19 0x00 0x05", L("\xa1\x03\x19\x00\x05"), L("\xa1\x03\x05") },
		{ "map head 0xb8 0x01", L("\xb8\x01\x06\x00"), L("\xa1\x06\x00") },
		{ "empty map as 0xb9 0x00 0x00", L("\xb9\x00\x00"), L("\xa0") },
		{ "string head 0x78 0x01", L("\xa1\x04\x78\x01" "a"), L("\xa1\x04\x61" "a") },
		{ "byte string head 0x5b 00..01",
		  L("\xa1\x08\x5b\x00\x00\x00\x00\x00\x00\x00\x01\x80"),
		  L("\xa1\x08\x41\x80") },
		{ "tag 1 as 0xd8 0x01", L("\xa1\x05\xd8\x01\x1a\x64\x28\xc5\x7f"),
		  L("\xa1\x05\xc1\x1a\x64\x28\xc5\x7f") },
		{ "expires 7 as 0x1b 00..07", L("\xa1\x05\xc1\x1b\x00\x00\x00\x00\x00\x00\x00\x07"),
		  L("\xa1\x05\xc1\x07") },
		{ "keys in descending order", L("\xa3\x07\x01\x04\x60\x00\x60"),
		  L("\xa3\x00\x60\x04\x60\x07\x01") },
	};
	uint8_t out[64], again[64];
	struct coap_tconf c;
	size_t i;
	int r;

	for (i = 0; i < NELEM(cases); i++) {
		is_int(decode_exact(cases[i].bytes, cases[i].len, &c, NULL), 0, "decode %s",
		       cases[i].name);
		/* the views point into the freed copy: re-decode in place for encoding */
		coap_tconf_decode(cases[i].bytes, cases[i].len, &c);
		r = coap_tconf_encode(&c, COAP_TP_ALL, out, sizeof(out));
		ok(r == (int)cases[i].clen && memcmp(out, cases[i].canon, cases[i].clen) == 0,
		   "%s: encodes in the shortest form", cases[i].name);
		ok(r > 0 && coap_tconf_encode(&c, COAP_TP_ALL, again, sizeof(again)) == r &&
		   memcmp(out, again, (size_t)r) == 0, "%s: the encoding is deterministic",
		   cases[i].name);
	}
}

/* ---- decode errors ---- */

static void
test_decode_errors(void)
{
	static const struct {
		const char *name;
		const uint8_t *bytes;
		size_t len;
		int err;
	} cases[] = {
		/* not one well-formed definite-length map */
		{ "empty input", L(""), -EINVAL },
		{ "an unsigned integer", L("\x00"), -EINVAL },
		{ "a text string", L("\x61" "a"), -EINVAL },
		{ "an array", L("\x80"), -EINVAL },
		{ "a tagged map", L("\xc1\xa0"), -EINVAL },
		{ "null", L("\xf6"), -EINVAL },
		{ "a half float", L("\xf9\x00\x00"), -EINVAL },
		{ "indefinite-length empty map", L("\xbf\xff"), -EINVAL },
		{ "indefinite-length map {0: \"\"}", L("\xbf\x00\x60\xff"), -EINVAL },
		{ "a break alone", L("\xff"), -EINVAL },
		{ "two maps", L("\xa0\xa0"), -EINVAL },
		{ "map head cut in its count", L("\xb8"), -EINVAL },
		{ "map of 2 pairs with 1", L("\xa2\x00\x60"), -EINVAL },
		{ "map of 2^64-1 pairs", L("\xbb" FF8), -EINVAL },
		{ "map of 2^32-1 pairs, 2 bytes follow", L("\xba\xff\xff\xff\xff\x00\x60"),
		  -EINVAL },
		{ "map of 5 pairs, 1 follows", L("\xb8\x05\x00\x60"), -EINVAL },
		{ "reserved head 0x1c", L("\x1c"), -EINVAL },
		{ "reserved head 0xbc", L("\xbc"), -EINVAL },
		/* keys */
		{ "text string key", L("\xa1\x61" "a" "\x60"), -EINVAL },
		{ "byte string key", L("\xa1\x41\x00\x60"), -EINVAL },
		{ "float key 0.0", L("\xa1\xf9\x00\x00\x60"), -EINVAL },
		{ "false as key", L("\xa1\xf4\x60"), -EINVAL },
		{ "null as key", L("\xa1\xf6\x60"), -EINVAL },
		{ "tagged key 1(0)", L("\xa1\xc1\x00\x60"), -EINVAL },
		{ "array key", L("\xa1\x80\x60"), -EINVAL },
		{ "map key", L("\xa1\xa0\x60"), -EINVAL },
		{ "break as key", L("\xa1\xff\x60"), -EINVAL },
		{ "key 9 (conf-filter)", L("\xa1\x09\x80"), -ENOTSUP },
		{ "key 24", L("\xa1\x18\x18\x60"), -ENOTSUP },
		{ "key 65535", L("\xa1\x19\xff\xff\x60"), -ENOTSUP },
		{ "key 2^64-1", L("\xa1\x1b" FF8 "\x60"), -ENOTSUP },
		{ "key -1", L("\xa1\x20\x60"), -ENOTSUP },
		{ "key -65537 (private use)", L("\xa1\x3a\x00\x01\x00\x00\x60"), -ENOTSUP },
		{ "key -2^64", L("\xa1\x3b" FF8 "\x60"), -ENOTSUP },
		{ "map of 1 pair cut after an unknown key: the head is met first", L("\xa1\x09"),
		  -EINVAL },
		{ "key 0 twice", L("\xa2\x00\x60\x00\x60"), -EEXIST },
		{ "key 0 twice, second value of a wrong type", L("\xa2\x00\x60\x00\x00"), -EEXIST },
		{ "key 5 twice, not adjacent", L("\xa3\x05\xc1\x00\x06\x00\x05\xc1\x00"), -EEXIST },
		{ "key 0 twice, once as 0x18 0x00", L("\xa2\x00\x60\x18\x00\x60"), -EEXIST },
		{ "first error wins: unknown key, then bad value", L("\xa2\x09\x60\x00\x00"),
		  -ENOTSUP },
		{ "first error wins: bad value, then unknown key", L("\xa2\x00\x00\x09\x60"),
		  -EINVAL },
		{ "first error wins: bad value, then duplicate", L("\xa2\x03\x60\x03\x60"),
		  -EINVAL },
		/* value types */
		{ "topic-name uint", L("\xa1\x00\x00"), -EINVAL },
		{ "topic-name byte string", L("\xa1\x00\x41" "a"), -EINVAL },
		{ "topic-data null", L("\xa1\x01\xf6"), -EINVAL },
		{ "resource-type false", L("\xa1\x02\xf4"), -EINVAL },
		{ "topic-type tagged text 0(\"\")", L("\xa1\x04\xc0\x60"), -EINVAL },
		{ "topic-name indefinite-length text", L("\xa1\x00\x7f\x61" "a" "\xff"), -EINVAL },
		{ "initialize text string", L("\xa1\x08\x60"), -EINVAL },
		{ "initialize indefinite-length bytes", L("\xa1\x08\x5f\x41\x80\xff"), -EINVAL },
		{ "content-format text", L("\xa1\x03\x62" "60"), -EINVAL },
		{ "content-format -1", L("\xa1\x03\x20"), -EINVAL },
		{ "content-format 1.0 (half float)", L("\xa1\x03\xf9\x3c\x00"), -EINVAL },
		{ "content-format true", L("\xa1\x03\xf5"), -EINVAL },
		{ "content-format undefined", L("\xa1\x03\xf7"), -EINVAL },
		{ "max-subscribers -1", L("\xa1\x06\x20"), -EINVAL },
		{ "max-subscribers 100.0 (double)",
		  L("\xa1\x06\xfb\x40\x59\x00\x00\x00\x00\x00\x00"), -EINVAL },
		{ "observer-check null", L("\xa1\x07\xf6"), -EINVAL },
		{ "observer-check 1(86400)", L("\xa1\x07\xc1\x1a\x00\x01\x51\x80"), -EINVAL },
		{ "expiration-date without tag", L("\xa1\x05\x1a\x64\x28\xc5\x7f"), -EINVAL },
		{ "expiration-date tag 0 (text date)", L("\xa1\x05\xc0\x74" "2023-04-01T23:59:59Z"),
		  -EINVAL },
		{ "expiration-date 1(1680393599.5) (double)",
		  L("\xa1\x05\xc1\xfb\x41\xd9\x0a\x31\x5f\xe0\x00\x00"), -EINVAL },
		{ "expiration-date 1(1.0) (single)", L("\xa1\x05\xc1\xfa\x3f\x80\x00\x00"),
		  -EINVAL },
		{ "expiration-date 1(-1)", L("\xa1\x05\xc1\x20"), -EINVAL },
		{ "expiration-date 1(1(0))", L("\xa1\x05\xc1\xc1\x00"), -EINVAL },
		{ "expiration-date 1(\"x\")", L("\xa1\x05\xc1\x61" "x"), -EINVAL },
		{ "expiration-date 2(h'01') (bignum)", L("\xa1\x05\xc2\x41\x01"), -EINVAL },
		{ "expiration-date tag 1 cut", L("\xa1\x05\xc1"), -EINVAL },
		{ "expiration-date 1([])", L("\xa1\x05\xc1\x80"), -EINVAL },
		{ "tag 1 on another property", L("\xa1\x06\xc1\x00"), -EINVAL },
		/* ranges */
		{ "content-format 65536", L("\xa1\x03\x1a\x00\x01\x00\x00"), -EINVAL },
		{ "content-format 2^64-1", L("\xa1\x03\x1b" FF8), -EINVAL },
		{ "max-subscribers 2^32", L("\xa1\x06\x1b\x00\x00\x00\x01\x00\x00\x00\x00"),
		  -EINVAL },
		{ "observer-check 0", L("\xa1\x07\x00"), -EINVAL },
		{ "observer-check 0 as 0x1a 00000000", L("\xa1\x07\x1a\x00\x00\x00\x00"), -EINVAL },
		{ "observer-check 2^32", L("\xa1\x07\x1b\x00\x00\x00\x01\x00\x00\x00\x00"),
		  -EINVAL },
		/* nesting */
		{ "topic-name []", L("\xa1\x00\x80"), -EINVAL },
		{ "topic-name {}", L("\xa1\x00\xa0"), -EINVAL },
		{ "topic-type [[[0]]]", L("\xa1\x04\x81\x81\x81\x00"), -EINVAL },
		{ "topic-type {0: \"\"}", L("\xa1\x04\xa1\x00\x60"), -EINVAL },
		{ "initialize array of 2^64-1", L("\xa1\x08\x9b" FF8), -EINVAL },
		{ "topic-name indefinite array", L("\xa1\x00\x9f\xff"), -EINVAL },
		/* items libcbor 0.8 refuses although well formed */
		{ "tag 6 on a value", L("\xa1\x00\xc6\x60"), -EINVAL },
		{ "simple value 0 (0xe0)", L("\xa1\x00\xe0"), -EINVAL },
		{ "simple value 32 (0xf8 0x20)", L("\xa1\x00\xf8\x20"), -EINVAL },
		/* text strings must be UTF-8 */
		{ "topic-name 0xff", L("\xa1\x00\x61\xff"), -EINVAL },
		{ "topic-name lone continuation 0x80", L("\xa1\x00\x61\x80"), -EINVAL },
		{ "topic-name overlong NUL c0 80", L("\xa1\x00\x62\xc0\x80"), -EINVAL },
		{ "topic-name overlong c1 bf", L("\xa1\x00\x62\xc1\xbf"), -EINVAL },
		{ "topic-name overlong e0 80 80", L("\xa1\x00\x63\xe0\x80\x80"), -EINVAL },
		{ "topic-name overlong f0 80 80 80", L("\xa1\x00\x64\xf0\x80\x80\x80"), -EINVAL },
		{ "topic-name surrogate U+D800", L("\xa1\x00\x63\xed\xa0\x80"), -EINVAL },
		{ "topic-name U+110000", L("\xa1\x00\x64\xf4\x90\x80\x80"), -EINVAL },
		{ "topic-name 5-byte form", L("\xa1\x00\x65\xf8\x88\x80\x80\x80"), -EINVAL },
		{ "topic-name cut sequence e2 82", L("\xa1\x00\x62\xe2\x82"), -EINVAL },
		{ "topic-name bad continuation c3 28", L("\xa1\x00\x62\xc3\x28"), -EINVAL },
		{ "topic-data invalid UTF-8", L("\xa1\x01\x61\xfe"), -EINVAL },
		{ "resource-type invalid UTF-8", L("\xa1\x02\x61\xc2"), -EINVAL },
		{ "topic-type invalid UTF-8", L("\xa1\x04\x61\xf5"), -EINVAL },
	};
	struct coap_tconf c, keep;
	size_t i;

	memset(&keep, 0x5a, sizeof(keep));
	for (i = 0; i < NELEM(cases); i++) {
		c = keep;
		is_int(decode_exact(cases[i].bytes, cases[i].len, &c, NULL), cases[i].err,
		       "decode refuses %s", cases[i].name);
		ok(memcmp(&c, &keep, sizeof(c)) == 0, "decode refuses %s: out untouched",
		   cases[i].name);
	}

	/* valid UTF-8 at the edges of each form */
	{
		static const struct {
			const char *name;
			const uint8_t *bytes;
			size_t len;
		} good[] = {
			{ "U+007F", L("\xa1\x00\x61\x7f") },
			{ "U+0080", L("\xa1\x00\x62\xc2\x80") },
			{ "U+07FF", L("\xa1\x00\x62\xdf\xbf") },
			{ "U+0800", L("\xa1\x00\x63\xe0\xa0\x80") },
			{ "U+D7FF", L("\xa1\x00\x63\xed\x9f\xbf") },
			{ "U+E000", L("\xa1\x00\x63\xee\x80\x80") },
			{ "U+FFFF", L("\xa1\x00\x63\xef\xbf\xbf") },
			{ "U+10000", L("\xa1\x00\x64\xf0\x90\x80\x80") },
			{ "U+10FFFF", L("\xa1\x00\x64\xf4\x8f\xbf\xbf") },
		};

		for (i = 0; i < NELEM(good); i++)
			is_int(decode_exact(good[i].bytes, good[i].len, &c, NULL), 0,
			       "decode takes topic-name %s", good[i].name);
	}

	/* deep nesting and huge declared sizes end at once, bounded by the input */
	{
		size_t n = 100000, pairs = 65535, k;
		uint8_t *deep = malloc(3 + 2 * pairs);

		if (!deep)
			abort();
		deep[0] = 0xa1;
		deep[1] = 0x04;
		memset(deep + 2, 0x81, n);
		deep[n + 2] = 0x00;
		is_int(decode_exact(deep, n + 3, &c, NULL), -EINVAL,
		       "decode refuses topic-type nested 100000 arrays deep");
		memset(deep + 2, 0xa1, n);
		is_int(decode_exact(deep, n + 3, &c, NULL), -EINVAL,
		       "decode refuses topic-type nested 100000 maps deep");
		/* a map of 65535 pairs {0: "", 0: "", ...}: the second pair ends it */
		deep[0] = 0xb9;
		deep[1] = 0xff;
		deep[2] = 0xff;
		for (k = 0; k < pairs; k++) {
			deep[3 + 2 * k] = 0x00;
			deep[3 + 2 * k + 1] = 0x60;
		}
		is_int(decode_exact(deep, 3 + 2 * pairs, &c, NULL), -EEXIST,
		       "decode refuses a map of 65535 pairs {0: \"\", 0: \"\", ...}: -EEXIST");
		is_int(decode_exact(deep, 3 + 2 * pairs - 1, &c, NULL), -EINVAL,
		       "decode refuses the same map one byte short: too short for its size");
		is_int(decode_exact(deep, 3 + 2 * 2, &c, NULL), -EINVAL,
		       "decode refuses a map of 65535 pairs with two: too short for its size");
		free(deep);
	}
}

/* ---- FETCH key arrays ---- */

static void
test_keys(void)
{
	static const struct {
		const char *name;
		const uint8_t *bytes;
		size_t len;
		int err;
		uint32_t mask;
	} cases[] = {
		{ "[]", L("\x80"), 0, 0 },
		{ "[1, 3]", L("\x82\x01\x03"), 0, P(DATA) | P(CT) },
		{ "[0, 1, ..., 8]", L("\x89\x00\x01\x02\x03\x04\x05\x06\x07\x08"), 0, COAP_TP_ALL },
		{ "[8, 0]", L("\x82\x08\x00"), 0, P(INIT) | P(NAME) },
		{ "duplicates [1, 1, 1]", L("\x83\x01\x01\x01"), 0, P(DATA) },
		{ "[2] with key as 0x18 0x02", L("\x81\x18\x02"), 0, P(RT) },
		{ "array head 0x98 0x01", L("\x98\x01\x05"), 0, P(EXPIRES) },
		{ "draft 2.5.2 conf-filter {9: [1, 3]}", L("\xa1\x09\x82\x01\x03"), 0,
		  P(DATA) | P(CT) },
		{ "conf-filter {9: []}", L("\xa1\x09\x80"), 0, 0 },
		{ "[9]", L("\x81\x09"), -ENOTSUP, 0 },
		{ "[-1]", L("\x81\x20"), -ENOTSUP, 0 },
		{ "[1, 24]", L("\x82\x01\x18\x18"), -ENOTSUP, 0 },
		{ "{9: [9]}", L("\xa1\x09\x81\x09"), -ENOTSUP, 0 },
		{ "[9, \"x\"]: first error", L("\x82\x09\x61" "x"), -ENOTSUP, 0 },
		{ "empty input", L(""), -EINVAL, 0 },
		{ "a uint", L("\x00"), -EINVAL, 0 },
		{ "an empty map", L("\xa0"), -EINVAL, 0 },
		{ "a topic map {0: \"\"}", L("\xa1\x00\x60"), -EINVAL, 0 },
		{ "{0: [1]}", L("\xa1\x00\x81\x01"), -EINVAL, 0 },
		{ "{-1: [1]}", L("\xa1\x20\x81\x01"), -EINVAL, 0 },
		{ "{9: 1}", L("\xa1\x09\x01"), -EINVAL, 0 },
		{ "{9: [1], 0: \"\"}", L("\xa2\x09\x81\x01\x00\x60"), -EINVAL, 0 },
		{ "{9: [1]} cut", L("\xa1\x09"), -EINVAL, 0 },
		{ "[\"a\"]", L("\x81\x61" "a"), -EINVAL, 0 },
		{ "[[1]]", L("\x81\x81\x01"), -EINVAL, 0 },
		{ "[{}]", L("\x81\xa0"), -EINVAL, 0 },
		{ "[1(1)]", L("\x81\xc1\x01"), -EINVAL, 0 },
		{ "[1.0]", L("\x81\xf9\x3c\x00"), -EINVAL, 0 },
		{ "[null]", L("\x81\xf6"), -EINVAL, 0 },
		{ "indefinite [_ 1]", L("\x9f\x01\xff"), -EINVAL, 0 },
		{ "[1] cut", L("\x81"), -EINVAL, 0 },
		{ "[1, 2] cut", L("\x82\x01"), -EINVAL, 0 },
		{ "array head cut", L("\x98"), -EINVAL, 0 },
		{ "[] then a byte", L("\x80\x00"), -EINVAL, 0 },
		{ "array of 2^64-1", L("\x9b" FF8), -EINVAL, 0 },
		{ "{9: array of 2^32-1}", L("\xa1\x09\x9a\xff\xff\xff\xff\x01"), -EINVAL, 0 },
	};
	uint32_t mask;
	size_t i;
	int r;

	for (i = 0; i < NELEM(cases); i++) {
		mask = 0xdeadbeef;
		r = keys_exact(cases[i].bytes, cases[i].len, &mask);
		is_int(r, cases[i].err, "keys %s", cases[i].name);
		if (cases[i].err == 0)
			is_int(mask, cases[i].mask, "keys %s: mask", cases[i].name);
		else
			is_int(mask, 0xdeadbeef, "keys %s: mask untouched", cases[i].name);
	}
}

/* ---- matching ---- */

static void
test_match(void)
{
	struct coap_tconf topic, other, f;
	const struct vector *get = &vectors[2], *fetch = &vectors[5];

	topic = get->c;
	ok(coap_tconf_match(&topic, &topic), "match: a topic matches itself");
	memset(&f, 0, sizeof(f));
	ok(coap_tconf_match(&topic, &f), "match: the empty filter matches");
	f.present = ~COAP_TP_ALL;
	ok(coap_tconf_match(&topic, &f), "match: filter bits above 8 are not properties");

	memset(&f, 0, sizeof(f));
	f.present = P(NAME);
	f.name = "living-room-sensor";
	f.name_len = 18;
	ok(coap_tconf_match(&topic, &f), "match: topic-name equal");
	f.name_len = 17;
	ok(!coap_tconf_match(&topic, &f), "match: a prefix of topic-name is not equal");
	f.name = "living-room-sensorX";
	f.name_len = 19;
	ok(!coap_tconf_match(&topic, &f), "match: a longer topic-name is not equal");
	f.name = "Living-room-sensor";
	f.name_len = 18;
	ok(!coap_tconf_match(&topic, &f), "match: strings compare byte for byte (case)");

	/* the draft's 2.4.2 filter: name "temperature" and rt core.ps.data */
	ok(!coap_tconf_match(&topic, &fetch->c), "match: 2.4.2 filter vs living-room-sensor: no");
	other = topic;
	other.name = "temperature";
	other.name_len = 11;
	ok(coap_tconf_match(&other, &fetch->c), "match: 2.4.2 filter vs topic \"temperature\"");
	other.rt = "core.ps.data2";
	other.rt_len = 13;
	ok(!coap_tconf_match(&other, &fetch->c), "match: 2.4.2 filter, rt differs: no");
	other.present &= ~P(RT);
	ok(!coap_tconf_match(&other, &fetch->c), "match: 2.4.2 filter, rt absent: no");

	/* numbers */
	memset(&f, 0, sizeof(f));
	f.present = P(CT);
	f.ct = 112;
	ok(coap_tconf_match(&topic, &f), "match: ct 112");
	f.ct = 113;
	ok(!coap_tconf_match(&topic, &f), "match: ct 113: no");
	f.present = P(EXPIRES);
	f.expires = 1680393599;
	ok(coap_tconf_match(&topic, &f), "match: expiration-date equal");
	f.expires++;
	ok(!coap_tconf_match(&topic, &f), "match: expiration-date one second later: no");
	f.present = P(MAX_SUBS);
	f.max_subs = 100;
	ok(coap_tconf_match(&topic, &f), "match: max-subscribers 100");
	f.max_subs = 0;
	ok(!coap_tconf_match(&topic, &f), "match: max-subscribers 0: no");
	f.present = P(OBS_CHECK);
	f.obs_check = 86400;
	ok(!coap_tconf_match(&topic, &f), "match: observer-check absent in the topic: no");
	ok(coap_tconf_match(&vectors[3].c, &f), "match: observer-check 86400 (2.5.3)");

	/* byte strings, empty values */
	memset(&f, 0, sizeof(f));
	f.present = P(INIT);
	f.init = (const uint8_t *)"\x80";
	f.init_len = 1;
	ok(coap_tconf_match(&vectors[6].c, &f), "match: initialize h'80'");
	f.init = (const uint8_t *)"\x81";
	ok(!coap_tconf_match(&vectors[6].c, &f), "match: initialize h'81': no");
	f.init_len = 0;
	f.init = NULL;
	ok(!coap_tconf_match(&vectors[6].c, &f), "match: initialize h'': no");
	ok(coap_tconf_match(&vectors[8].c, &f), "match: initialize h'' vs h''");
	f.present = P(NAME);
	f.name = NULL;
	f.name_len = 0;
	ok(coap_tconf_match(&vectors[8].c, &f), "match: empty topic-name vs empty topic-name");
	ok(!coap_tconf_match(&vectors[4].c, &f), "match: empty topic-name vs none: no");

	/* a superset never matches a subset */
	ok(coap_tconf_match(&vectors[1].c, &vectors[0].c), "match: {0, 1, 2} has {0, 2}");
	ok(!coap_tconf_match(&vectors[0].c, &vectors[1].c), "match: {0, 2} lacks 1: no");

	/* a filter decoded off the wire */
	{
		static const uint8_t wire[] = "\xa2\x00" NAME "\x06\x18\x64";
		struct coap_tconf w;

		ok(coap_tconf_decode(wire, sizeof(wire) - 1, &w) == 0 &&
		   coap_tconf_match(&topic, &w),
		   "match: decoded filter {0: \"living-room-sensor\", 6: 100}");
	}
}

/* ---- encode errors and round trips ---- */

static void
test_encode_errors(void)
{
	struct coap_tconf c = { 0 };
	uint8_t buf[32];

	c.present = P(OBS_CHECK);
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, buf, sizeof(buf)), -EINVAL,
	       "encode refuses observer-check 0");
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, buf, 0), -EINVAL,
	       "encode refuses observer-check 0 before -ENOSPC");
	is_int(coap_tconf_encode(&c, P(NAME), buf, sizeof(buf)), 1,
	       "encode: observer-check 0 outside the mask is not looked at");
	c.present = P(TYPE);
	c.type = "\xc0\x80";
	c.type_len = 2;
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, buf, sizeof(buf)), -EINVAL,
	       "encode refuses a topic-type that is not UTF-8");
	c.present = P(INIT);
	c.init = (const uint8_t *)"\xc0\x80";
	c.init_len = 2;
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, buf, sizeof(buf)), 5,
	       "encode: initialize is bytes, any bytes");
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, buf, SIZE_MAX), 5,
	       "encode: a capacity above INT_MAX");
	is_int(coap_tconf_encode(&c, COAP_TP_ALL, NULL, 0), -ENOSPC, "encode: NULL, capacity 0");
}

/* xorshift64: the same sequence on every run */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_round_trips(void)
{
	static char text[300];
	static uint8_t bin[300];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	unsigned int i, fails = 0, spc = 0;
	size_t k;

	for (k = 0; k < sizeof(text); k++) {
		text[k] = (char)('a' + k % 26);
		bin[k] = (uint8_t)k;
	}
	for (i = 0; i < 2000; i++) {
		struct coap_tconf c = { 0 }, back;
		uint8_t out[2048], again[2048];
		uint32_t mask = (uint32_t)rnd(&s);
		unsigned int sh = (unsigned int)(rnd(&s) % 64);
		size_t cap;
		int r, r2;

		c.present = (uint32_t)rnd(&s) & COAP_TP_ALL;
		c.name = text + rnd(&s) % 10;
		c.name_len = rnd(&s) % 290;
		c.data = text;
		c.data_len = rnd(&s) % 30;
		c.rt = text + 5;
		c.rt_len = rnd(&s) % 25;
		c.type = text;
		c.type_len = rnd(&s) % 260;
		c.ct = (uint16_t)(rnd(&s) >> sh);
		c.expires = rnd(&s) >> sh;
		c.max_subs = (uint32_t)(rnd(&s) >> sh);
		c.obs_check = (uint32_t)(rnd(&s) >> sh) | 1;
		c.init = bin + rnd(&s) % 4;
		c.init_len = rnd(&s) % 296;

		r = coap_tconf_encode(&c, mask, out, sizeof(out));
		if (r <= 0 || coap_tconf_decode(out, (size_t)r, &back) != 0) {
			fails++;
			continue;
		}
		/* what came back: the properties in the mask, equal */
		{
			struct coap_tconf want = c;

			want.present &= mask;
			if (tconf_diff(&back, &want) != NULL ||
			    !tconf_sane(&back, out, (size_t)r) || !coap_tconf_match(&c, &back))
				fails++;
		}
		r2 = coap_tconf_encode(&back, COAP_TP_ALL, again, sizeof(again));
		if (r2 != r || memcmp(out, again, (size_t)r) != 0)
			fails++;
		cap = rnd(&s) % (size_t)r;
		if (encode_exact(&c, mask, cap, NULL) != -ENOSPC)
			spc++;
	}
	is_int(fails, 0, "2000 seeded configurations: encode, decode, equal, re-encode identical");
	is_int(spc, 0, "2000 seeded configurations: -ENOSPC at a random shorter capacity");
}

int
main(void)
{
	test_vectors();
	test_shortest();
	test_longer_forms();
	test_decode_errors();
	test_keys();
	test_match();
	test_encode_errors();
	test_round_trips();
	return done_testing();
}
