/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for proto/coap_tconf.c: the topic properties of
 * draft-ietf-core-coap-pubsub in CBOR (coap_tconf_decode(),
 * coap_tconf_encode(), coap_tconf_keys_decode(), coap_tconf_match()).
 *
 * The input is the CBOR payload itself. Checked:
 *  - decode returns 0, -EINVAL, -ENOTSUP or -EEXIST and, on error, leaves
 *    its output as it was; on success every present view lies inside the
 *    input, every absent property is zero, no bit above key 8 is set;
 *  - what decodes encodes (mask of all bits) in at most as many bytes as
 *    the input, exactly that many fit and one fewer is -ENOSPC (into a
 *    heap buffer of exactly the capacity, so ASan sees any write past
 *    it), the encoding decodes to equal properties and encodes again to
 *    the same bytes;
 *  - a partial mask taken from the input encodes the properties in the
 *    mask only, and the topic matches that part of itself as a filter
 *    (and the part matches the whole only if nothing was left out);
 *  - the key-array decoder returns 0, -EINVAL or -ENOTSUP, a mask of keys
 *    0..8 only, leaves the mask alone on error, and never accepts what
 *    the map decoder accepts.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * proto/ links with libcbor:
 * fuzz-libs: libcbor
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/coap_tconf.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Equal properties (present ones only; both sides present the same). */
static bool
same(const struct coap_tconf *a, const struct coap_tconf *b)
{
	uint32_t p = a->present;

#define HAS(k) (p & COAP_TP_BIT(COAP_TP_##k))
#define EQ(f) bytes_eq(a->f, a->f##_len, b->f, b->f##_len)
	return a->present == b->present &&
	       (!HAS(NAME) || EQ(name)) && (!HAS(DATA) || EQ(data)) && (!HAS(RT) || EQ(rt)) &&
	       (!HAS(CT) || a->ct == b->ct) && (!HAS(TYPE) || EQ(type)) &&
	       (!HAS(EXPIRES) || a->expires == b->expires) &&
	       (!HAS(MAX_SUBS) || a->max_subs == b->max_subs) &&
	       (!HAS(OBS_CHECK) || a->obs_check == b->obs_check) && (!HAS(INIT) || EQ(init));
#undef EQ
#undef HAS
}

/* Views inside [buf, buf + len), absent properties zero, observer-check not 0. */
static bool
sane(const struct coap_tconf *c, const uint8_t *buf, size_t len)
{
#define IN(k, f) ((c->present & COAP_TP_BIT(COAP_TP_##k)) ? \
	(const uint8_t *)c->f >= buf && (const uint8_t *)c->f + c->f##_len <= buf + len : \
	c->f == NULL && c->f##_len == 0)
#define ZERO(k, f) ((c->present & COAP_TP_BIT(COAP_TP_##k)) || c->f == 0)
	return (c->present & ~COAP_TP_ALL) == 0 &&
	       IN(NAME, name) && IN(DATA, data) && IN(RT, rt) && IN(TYPE, type) && IN(INIT, init) &&
	       ZERO(CT, ct) && ZERO(EXPIRES, expires) && ZERO(MAX_SUBS, max_subs) &&
	       ZERO(OBS_CHECK, obs_check) &&
	       (!(c->present & COAP_TP_BIT(COAP_TP_OBS_CHECK)) || c->obs_check != 0);
#undef ZERO
#undef IN
}

/* Encode into a heap buffer of exactly @p cap bytes (returned through *out, or freed). */
static int
encode_exact(const struct coap_tconf *c, uint32_t mask, size_t cap, uint8_t **out)
{
	uint8_t *p = malloc(cap ? cap : 1);
	int r;

	CHECK(p != NULL);
	r = coap_tconf_encode(c, mask, p, cap);
	if (out)
		*out = p;
	else
		free(p);
	return r;
}

static void
check_tconf(const struct coap_tconf *c, const uint8_t *data, size_t len)
{
	struct coap_tconf back, part;
	uint8_t *enc, *again, *penc;
	uint32_t mask;
	int n, r;

	CHECK(sane(c, data, len));
	CHECK(coap_tconf_match(c, c));

	/* the shortest forms take no more room than whatever forms came in */
	n = encode_exact(c, COAP_TP_ALL, len, &enc);
	CHECK(n > 0 && (size_t)n <= len);
	free(enc);
	CHECK(encode_exact(c, COAP_TP_ALL, (size_t)n, &enc) == n);
	CHECK(encode_exact(c, COAP_TP_ALL, (size_t)n - 1, NULL) == -ENOSPC);
	CHECK(coap_tconf_decode(enc, (size_t)n, &back) == 0);
	CHECK(sane(&back, enc, (size_t)n) && same(&back, c));
	CHECK(encode_exact(&back, COAP_TP_ALL, (size_t)n, &again) == n);
	CHECK(memcmp(enc, again, (size_t)n) == 0);
	free(again);

	/* a part of it, chosen by the input */
	mask = (uint32_t)(data[0] | data[len - 1] << 8 | len << 16);
	r = encode_exact(c, mask, (size_t)n, &penc);
	CHECK(r > 0 && r <= n);
	CHECK(coap_tconf_decode(penc, (size_t)r, &part) == 0);
	CHECK(part.present == (c->present & mask));
	CHECK(coap_tconf_match(c, &part) && coap_tconf_match(&back, &part));
	CHECK(coap_tconf_match(&part, c) == (part.present == c->present));
	free(penc);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct coap_tconf c, keep;
	uint32_t mask = 0xdeadbeef;
	int r, rk;

	memset(&keep, 0x5a, sizeof(keep));
	c = keep;
	r = coap_tconf_decode(data, len, &c);
	CHECK(r == 0 || r == -EINVAL || r == -ENOTSUP || r == -EEXIST);
	if (r == 0)
		check_tconf(&c, data, len);
	else
		CHECK(memcmp(&c, &keep, sizeof(c)) == 0);

	rk = coap_tconf_keys_decode(data, len, &mask);
	CHECK(rk == 0 || rk == -EINVAL || rk == -ENOTSUP);
	if (rk == 0)
		CHECK((mask & ~COAP_TP_ALL) == 0);
	else
		CHECK(mask == 0xdeadbeef);
	CHECK(!(r == 0 && rk == 0));
	return 0;
}
