/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topic properties of draft-ietf-core-coap-pubsub in CBOR, without
 * allocating: libcbor's streaming decoder in, libcbor's cbor_encode_*
 * functions out.
 *
 * cbor_stream_decode() reads one data item per call, and for an array, a
 * map or a tag only its head: it calls one callback and says how many
 * bytes it read, or that it needs more (NEDATA) or cannot go on (ERROR).
 * So the decoder is a loop over items with a small state machine in the
 * callback context rather than a walk of a tree. Every callback of the
 * bundle funnels into one step function with the item's kind, its
 * argument (an integer's value, a string's or container's length, a tag
 * number) and, for strings, a view of the bytes. The loop stops at the
 * first error a step reports, so an array or a map where a value belongs
 * is refused at its head: nothing nests, nothing recurses, and the depth
 * of what follows is never looked at.
 *
 * The loop reads at least one byte per item and stops at the end of the
 * input, so a container's declared size never drives it; a size that
 * cannot fit in the bytes after the head (a pair takes two at least, an
 * array element one) is refused at the head all the same.
 *
 * libcbor 0.8 refuses some well-formed items outright (tags 6..20, the
 * unassigned simple values): they are CBOR_DECODER_ERROR, hence -EINVAL,
 * which no topic property could have been anyway. Its callbacks.h has the
 * comments of the definite and indefinite string, array and map callbacks
 * swapped; the code (streaming.c) is what the names below follow.
 *
 * The encoder writes the deterministic encoding of RFC 8949 4.2.1, which
 * cbor_encode_uint() and the *_start() functions already produce (the
 * shortest head for each argument); it only has to write keys in order.
 * Anything the decoder accepts, whatever its integer forms, encodes to at
 * most as many bytes, and the encoding decodes to the same properties.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <cbor.h>

#include "coap_tconf.h"

/* ---- text strings ---- */

/* RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF. */
static bool
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0, k, j;
	uint32_t cp, min;

	while (i < n) {
		uint8_t b = s[i];

		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			k = 1;
			cp = b & 0x1f;
			min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			k = 2;
			cp = b & 0x0f;
			min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			k = 3;
			cp = b & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < k)
			return false;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* ---- the property table ---- */

enum item {
	IT_UINT,
	IT_NINT,
	IT_TSTR,
	IT_BSTR,
	IT_ARRAY,
	IT_MAP,
	IT_TAG,
	IT_OTHER,       /* floats, simple values, indefinite lengths, break */
};

/* What each key's value is: its item kind and, for integers and tags, the range. */
static const struct {
	enum item item;
	uint64_t min;
	uint64_t max;
} props[COAP_TP_NB] = {
	[COAP_TP_NAME] = { IT_TSTR, 0, UINT64_MAX },
	[COAP_TP_DATA] = { IT_TSTR, 0, UINT64_MAX },
	[COAP_TP_RT] = { IT_TSTR, 0, UINT64_MAX },
	[COAP_TP_CT] = { IT_UINT, 0, UINT16_MAX },
	[COAP_TP_TYPE] = { IT_TSTR, 0, UINT64_MAX },
	[COAP_TP_EXPIRES] = { IT_TAG, 1, 1 },    /* then any uint: epoch seconds */
	[COAP_TP_MAX_SUBS] = { IT_UINT, 0, UINT32_MAX },
	[COAP_TP_OBS_CHECK] = { IT_UINT, 1, UINT32_MAX },
	[COAP_TP_INIT] = { IT_BSTR, 0, UINT64_MAX },
};

static void
str_get(const struct coap_tconf *c, unsigned int k, const char **s, size_t *len)
{
	switch (k) {
	case COAP_TP_NAME:
		*s = c->name;
		*len = c->name_len;
		break;
	case COAP_TP_DATA:
		*s = c->data;
		*len = c->data_len;
		break;
	case COAP_TP_RT:
		*s = c->rt;
		*len = c->rt_len;
		break;
	default:
		*s = c->type;
		*len = c->type_len;
		break;
	}
}

static void
str_set(struct coap_tconf *c, unsigned int k, const char *s, size_t len)
{
	switch (k) {
	case COAP_TP_NAME:
		c->name = s;
		c->name_len = len;
		break;
	case COAP_TP_DATA:
		c->data = s;
		c->data_len = len;
		break;
	case COAP_TP_RT:
		c->rt = s;
		c->rt_len = len;
		break;
	default:
		c->type = s;
		c->type_len = len;
		break;
	}
}

/* ---- decoding ---- */

enum state {
	ST_TOP,         /* the outer item */
	ST_KEY,         /* a map key, or the end of the map */
	ST_VAL,         /* the value of key d->key */
	ST_EPOCH,       /* the integer inside expiration-date's tag 1 */
	ST_FKEY,        /* the key of {9: [...]} */
	ST_FARRAY,      /* its array */
	ST_KEYS,        /* an element of the key array, or its end */
};

struct dec {
	int (*step)(struct dec *d, enum item it, uint64_t v, const uint8_t *p);
	enum state state;
	enum state final;       /* in this state with todo 0, the item is complete */
	const uint8_t *at;      /* the current item */
	size_t left;            /* bytes from it to the end */
	uint64_t todo;          /* map pairs or array elements still to come */
	unsigned int key;
	int err;
	struct coap_tconf c;
	uint32_t mask;
};

static void
item(void *ctx, enum item it, uint64_t v, const uint8_t *p)
{
	struct dec *d = ctx;

	d->err = d->step(d, it, v, p);
}

/* One callback per libcbor signature and item kind; the argument is widened to 64 bits. */
#define CB(name, type, kind) \
static void \
name(void *d, type v) \
{ \
	item(d, kind, v, NULL); \
}
CB(cb_uint8, uint8_t, IT_UINT)
CB(cb_uint16, uint16_t, IT_UINT)
CB(cb_uint32, uint32_t, IT_UINT)
CB(cb_uint64, uint64_t, IT_UINT)
CB(cb_nint8, uint8_t, IT_NINT)
CB(cb_nint16, uint16_t, IT_NINT)
CB(cb_nint32, uint32_t, IT_NINT)
CB(cb_nint64, uint64_t, IT_NINT)
CB(cb_array, size_t, IT_ARRAY)
CB(cb_map, size_t, IT_MAP)
CB(cb_tag, uint64_t, IT_TAG)
#undef CB

static void
cb_tstr(void *d, cbor_data s, size_t n)
{
	item(d, IT_TSTR, n, s);
}

static void
cb_bstr(void *d, cbor_data s, size_t n)
{
	item(d, IT_BSTR, n, s);
}

static void
cb_other(void *d)
{
	item(d, IT_OTHER, 0, NULL);
}

static void
cb_float(void *d, float v)
{
	(void)v;
	item(d, IT_OTHER, 0, NULL);
}

static void
cb_double(void *d, double v)
{
	(void)v;
	item(d, IT_OTHER, 0, NULL);
}

static void
cb_bool(void *d, bool v)
{
	(void)v;
	item(d, IT_OTHER, 0, NULL);
}

/* Every member set: cbor_stream_decode() calls them without a NULL check. */
static const struct cbor_callbacks callbacks = {
	.uint8 = cb_uint8,
	.uint16 = cb_uint16,
	.uint32 = cb_uint32,
	.uint64 = cb_uint64,
	.negint8 = cb_nint8,
	.negint16 = cb_nint16,
	.negint32 = cb_nint32,
	.negint64 = cb_nint64,
	.byte_string = cb_bstr,                 /* definite */
	.byte_string_start = cb_other,          /* indefinite */
	.string = cb_tstr,                      /* definite */
	.string_start = cb_other,               /* indefinite */
	.array_start = cb_array,                /* definite */
	.indef_array_start = cb_other,
	.map_start = cb_map,                    /* definite */
	.indef_map_start = cb_other,
	.tag = cb_tag,
	.float2 = cb_float,
	.float4 = cb_float,
	.float8 = cb_double,
	.undefined = cb_other,
	.null = cb_other,
	.boolean = cb_bool,
	.indef_break = cb_other,
};

/*
 * A map of @p n pairs or an array of @p n elements fits in the bytes after
 * its head? A head is 1, 2, 3, 5 or 9 bytes (argument 0..23, 24..27);
 * libcbor has already read it, so it is there.
 */
static bool
fits(const struct dec *d, enum item it, uint64_t n)
{
	unsigned int ai = d->at[0] & 0x1f;
	size_t after = d->left - (ai < 24 ? 1 : 1 + ((size_t)1 << (ai - 24)));

	return it == IT_MAP ? n <= after / 2 : n <= after;
}

static int
pair_done(struct dec *d)
{
	d->c.present |= COAP_TP_BIT(d->key);
	d->todo--;
	d->state = ST_KEY;
	return 0;
}

static int
tconf_value(struct dec *d, enum item it, uint64_t v, const uint8_t *p)
{
	unsigned int k = d->key;

	if (it != props[k].item)
		return -EINVAL;
	if ((it == IT_UINT || it == IT_TAG) && (v < props[k].min || v > props[k].max))
		return -EINVAL;
	switch (k) {
	case COAP_TP_CT:
		d->c.ct = (uint16_t)v;
		break;
	case COAP_TP_EXPIRES:
		d->state = ST_EPOCH;
		return 0;
	case COAP_TP_MAX_SUBS:
		d->c.max_subs = (uint32_t)v;
		break;
	case COAP_TP_OBS_CHECK:
		d->c.obs_check = (uint32_t)v;
		break;
	case COAP_TP_INIT:
		d->c.init = p;
		d->c.init_len = (size_t)v;
		break;
	default:
		if (!utf8_valid(p, (size_t)v))
			return -EINVAL;
		str_set(&d->c, k, (const char *)p, (size_t)v);
		break;
	}
	return pair_done(d);
}

static int
tconf_step(struct dec *d, enum item it, uint64_t v, const uint8_t *p)
{
	switch (d->state) {
	case ST_TOP:
		if (it != IT_MAP || !fits(d, it, v))
			return -EINVAL;
		d->todo = v;
		d->state = ST_KEY;
		return 0;
	case ST_KEY:
		if (it == IT_NINT || (it == IT_UINT && v >= COAP_TP_NB))
			return -ENOTSUP;
		if (it != IT_UINT)
			return -EINVAL;
		if (d->c.present & COAP_TP_BIT(v))
			return -EEXIST;
		d->key = (unsigned int)v;
		d->state = ST_VAL;
		return 0;
	case ST_VAL:
		return tconf_value(d, it, v, p);
	case ST_EPOCH:
		if (it != IT_UINT)
			return -EINVAL;
		d->c.expires = v;
		return pair_done(d);
	default:
		return -EINVAL;
	}
}

static int
keys_array(struct dec *d, enum item it, uint64_t v)
{
	if (it != IT_ARRAY || !fits(d, it, v))
		return -EINVAL;
	d->todo = v;
	d->state = ST_KEYS;
	return 0;
}

static int
keys_step(struct dec *d, enum item it, uint64_t v, const uint8_t *p)
{
	(void)p;
	switch (d->state) {
	case ST_TOP:
		if (it == IT_MAP && v == 1) {
			d->state = ST_FKEY;
			return 0;
		}
		return keys_array(d, it, v);
	case ST_FARRAY:
		return keys_array(d, it, v);
	case ST_FKEY:
		if (it != IT_UINT || v != COAP_TP_CONF_FILTER)
			return -EINVAL;
		d->state = ST_FARRAY;
		return 0;
	case ST_KEYS:
		if (it == IT_NINT || (it == IT_UINT && v >= COAP_TP_NB))
			return -ENOTSUP;
		if (it != IT_UINT)
			return -EINVAL;
		d->mask |= COAP_TP_BIT(v);
		d->todo--;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * One item per cbor_stream_decode() call until the outer item is complete,
 * which must be exactly at the end of the input.
 */
static int
run(struct dec *d, const uint8_t *buf, size_t len)
{
	struct cbor_decoder_result r;
	size_t pos = 0;

	do {
		if (pos == len)
			return -EINVAL;
		d->at = buf + pos;
		d->left = len - pos;
		r = cbor_stream_decode(buf + pos, len - pos, &callbacks, d);
		/* NEDATA: truncated; ERROR: malformed or refused by libcbor */
		if (r.status != CBOR_DECODER_FINISHED)
			return -EINVAL;
		if (d->err)
			return d->err;
		pos += r.read;
	} while (d->state != d->final || d->todo != 0);
	return pos == len ? 0 : -EINVAL;
}

int
coap_tconf_decode(const uint8_t *buf, size_t len, struct coap_tconf *out)
{
	struct dec d = { .step = tconf_step, .state = ST_TOP, .final = ST_KEY };
	int r;

	r = run(&d, buf, len);
	if (r == 0)
		*out = d.c;
	return r;
}

int
coap_tconf_keys_decode(const uint8_t *buf, size_t len, uint32_t *mask)
{
	struct dec d = { .step = keys_step, .state = ST_TOP, .final = ST_KEYS };
	int r;

	r = run(&d, buf, len);
	if (r == 0)
		*mask = d.mask;
	return r;
}

/* ---- encoding ---- */

/* The caller's buffer with a sticky -ENOSPC: each put is skipped after the first. */
struct enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

/* A cbor_encode_*() result: 0 means it did not fit. */
static void
took(struct enc *e, size_t n)
{
	if (n == 0)
		e->err = -ENOSPC;
	else
		e->len += n;
}

/* Room for a head (1 byte at least) at all? Spares libcbor an empty buffer. */
static bool
room(struct enc *e)
{
	if (e->err == 0 && e->len == e->cap)
		e->err = -ENOSPC;
	return e->err == 0;
}

static void
put_uint(struct enc *e, uint64_t v)
{
	if (room(e))
		took(e, cbor_encode_uint(v, e->buf + e->len, e->cap - e->len));
}

static void
put_bytes(struct enc *e, bool text, const void *s, size_t n)
{
	if (!room(e))
		return;
	if (text)
		took(e, cbor_encode_string_start(n, e->buf + e->len, e->cap - e->len));
	else
		took(e, cbor_encode_bytestring_start(n, e->buf + e->len, e->cap - e->len));
	if (e->err)
		return;
	if (e->cap - e->len < n) {
		e->err = -ENOSPC;
		return;
	}
	if (n)
		memcpy(e->buf + e->len, s, n);
	e->len += n;
}

int
coap_tconf_encode(const struct coap_tconf *c, uint32_t mask, uint8_t *buf, size_t cap)
{
	struct enc e = { .buf = buf, .cap = cap < INT_MAX ? cap : INT_MAX };
	uint32_t todo = c->present & mask & COAP_TP_ALL;
	const char *s;
	size_t n;
	unsigned int k;

	for (k = 0; k < COAP_TP_NB; k++) {
		if (!(todo & COAP_TP_BIT(k)) || props[k].item != IT_TSTR)
			continue;
		str_get(c, k, &s, &n);
		if (!utf8_valid((const uint8_t *)s, n))
			return -EINVAL;
	}
	if ((todo & COAP_TP_BIT(COAP_TP_OBS_CHECK)) && c->obs_check == 0)
		return -EINVAL;

	if (room(&e))
		took(&e, cbor_encode_map_start((size_t)__builtin_popcount(todo), e.buf, e.cap));
	for (k = 0; k < COAP_TP_NB; k++) {
		if (!(todo & COAP_TP_BIT(k)))
			continue;
		put_uint(&e, k);
		switch (k) {
		case COAP_TP_CT:
			put_uint(&e, c->ct);
			break;
		case COAP_TP_EXPIRES:
			if (room(&e))
				took(&e, cbor_encode_tag(1, e.buf + e.len, e.cap - e.len));
			put_uint(&e, c->expires);
			break;
		case COAP_TP_MAX_SUBS:
			put_uint(&e, c->max_subs);
			break;
		case COAP_TP_OBS_CHECK:
			put_uint(&e, c->obs_check);
			break;
		case COAP_TP_INIT:
			put_bytes(&e, false, c->init, c->init_len);
			break;
		default:
			str_get(c, k, &s, &n);
			put_bytes(&e, true, s, n);
			break;
		}
	}
	return e.err ? e.err : (int)e.len;
}

/* ---- matching ---- */

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool
prop_eq(const struct coap_tconf *a, const struct coap_tconf *b, unsigned int k)
{
	const char *as, *bs;
	size_t al, bl;

	switch (k) {
	case COAP_TP_CT:
		return a->ct == b->ct;
	case COAP_TP_EXPIRES:
		return a->expires == b->expires;
	case COAP_TP_MAX_SUBS:
		return a->max_subs == b->max_subs;
	case COAP_TP_OBS_CHECK:
		return a->obs_check == b->obs_check;
	case COAP_TP_INIT:
		return bytes_eq(a->init, a->init_len, b->init, b->init_len);
	default:
		str_get(a, k, &as, &al);
		str_get(b, k, &bs, &bl);
		return bytes_eq(as, al, bs, bl);
	}
}

bool
coap_tconf_match(const struct coap_tconf *c, const struct coap_tconf *filter)
{
	uint32_t want = filter->present & COAP_TP_ALL;
	unsigned int k;

	if ((c->present & want) != want)
		return false;
	for (k = 0; k < COAP_TP_NB; k++)
		if ((want & COAP_TP_BIT(k)) && !prop_eq(c, filter, k))
			return false;
	return true;
}
