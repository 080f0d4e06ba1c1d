/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CoAP wire code: RFC 7252 messages, RFC 7959 block values, RFC 7641
 * sequence numbers, RFC 6690 link format.
 *
 * The option encoding is canonical. A delta or a length has exactly one
 * form: 0..12 in the nibble, 13..268 as nibble 13 plus one byte, 269..65804
 * as nibble 14 plus two bytes; the decoder takes no other and the writer
 * writes no other. Option values are kept as the bytes on the wire (an
 * unsigned integer with leading zeros stays as it came), so writing a
 * decoded message back with coap_w_opt() gives the datagram it came from,
 * byte for byte. The fuzz target checks exactly that.
 *
 * The decoder walks the datagram once, options through a cursor whose
 * sticky error means "ran past the end". It stores no more than
 * COAP_MAX_OPTS options but reads on to the end, so TOO_MANY_OPTS is only
 * reported for a datagram that is otherwise well formed: a CON with a
 * format error gets a Reset, one tern merely cannot hold does not have to.
 *
 * The writer has no room for a "payload written" flag, so writing the
 * payload (or its marker) closes the message by shrinking cap to len: any
 * option or payload after it fails with -ENOSPC.
 *
 * The link-format functions measure before they write, so a link that
 * does not fit leaves the document exactly as it was.
 */
#include <errno.h>
#include <string.h>

#include "coap.h"
#include "cursor.h"

/* ---- names ---- */

static const char *const err_names[COAP_ERR_MAX] = {
	[COAP_ERR_NONE] = "coap_err_none",
#define COAP_ERR_NAME(e, n, d) [COAP_ERR_##e] = n,
	FOREACH_COAP_ERR(COAP_ERR_NAME)
#undef COAP_ERR_NAME
};

const char *
coap_err_name(unsigned int err)
{
	return err < COAP_ERR_MAX ? err_names[err] : NULL;
}

/* ---- option delta/length forms (RFC 7252 3.1) ---- */

#define NIB_EXT1 13		/* one extension byte, value - 13 */
#define NIB_EXT2 14		/* two extension bytes, value - 269 */
#define NIB_RESERVED 15
#define EXT1_BASE 13
#define EXT2_BASE 269
#define OPT_VAL_MAX (65535 + EXT2_BASE)
#define OPT_NUM_MAX 65535

static inline unsigned int
ext_nibble(size_t v)
{
	return v < EXT1_BASE ? (unsigned int)v : v < EXT2_BASE ? NIB_EXT1 : NIB_EXT2;
}

static inline size_t
ext_len(size_t v)
{
	return v < EXT1_BASE ? 0 : v < EXT2_BASE ? 1 : 2;
}

static inline uint8_t *
put_ext(uint8_t *p, size_t v)
{
	if (v >= EXT2_BASE) {
		v -= EXT2_BASE;
		*p++ = (uint8_t)(v >> 8);
		*p++ = (uint8_t)v;
	} else if (v >= EXT1_BASE) {
		*p++ = (uint8_t)(v - EXT1_BASE);
	}
	return p;
}

/* The value a nibble 0..14 stands for, reading its extension bytes. */
static inline uint32_t
get_ext(struct cursor *c, unsigned int nib)
{
	if (nib == NIB_EXT1)
		return EXT1_BASE + (uint32_t)cursor_u8(c);
	if (nib == NIB_EXT2)
		return EXT2_BASE + (uint32_t)cursor_be16(c);
	return nib;
}

/* ---- decoding ---- */

static inline int
fail(struct coap_msg *m, enum coap_err e)
{
	m->err = (uint8_t)e;
	return -EINVAL;
}

/*
 * Options from @p c to the payload marker or the end. Numbers are summed
 * in 32 bits: a delta is at most 65804, so the sum of the previous number
 * (<= 65535) and one delta cannot wrap.
 */
static enum coap_err
decode_opts(struct cursor *c, struct coap_msg *m)
{
	uint32_t num = 0, delta, len;
	unsigned int n = 0;
	uint8_t b;

	while (cursor_left(c)) {
		b = cursor_u8(c);
		if (b == COAP_PAYLOAD_MARKER) {
			if (cursor_left(c) == 0)
				return COAP_ERR_EMPTY_PAYLOAD;
			m->payload = cursor_ptr(c);
			m->payload_len = cursor_left(c);
			cursor_skip(c, m->payload_len);
			break;
		}
		if ((b >> 4) == NIB_RESERVED || (b & 0x0f) == NIB_RESERVED)
			return COAP_ERR_OPT_RESERVED;
		delta = get_ext(c, b >> 4);
		len = get_ext(c, b & 0x0f);
		if (c->err)
			return COAP_ERR_TRUNC;
		num += delta;
		if (num > OPT_NUM_MAX)
			return COAP_ERR_OPT_NUMBER;
		/*
		 * A value over 65535 bytes cannot be held in coap_opt.len, and
		 * no UDP datagram (65527 bytes at most) carries one: TRUNC.
		 */
		if (len > cursor_left(c) || len > UINT16_MAX)
			return COAP_ERR_TRUNC;
		if (n < COAP_MAX_OPTS)
			m->opts[n] = (struct coap_opt){
				.num = (uint16_t)num,
				.len = (uint16_t)len,
				.val = cursor_ptr(c),
			};
		n++;
		cursor_skip(c, len);
	}
	m->nb_opts = (uint16_t)(n < COAP_MAX_OPTS ? n : COAP_MAX_OPTS);
	return n > COAP_MAX_OPTS ? COAP_ERR_TOO_MANY_OPTS : COAP_ERR_NONE;
}

/*
 * m->tkl is 0..8 whenever it is set: for a reserved token length (TKL) or
 * a token cut short (TRUNC, EMPTY_FORMAT) it stays 0, so a caller copying
 * m->token[0..tkl) never reads what was not received.
 */
int
coap_decode(const uint8_t *buf, size_t len, struct coap_msg *m)
{
	struct cursor c;
	unsigned int tkl;
	enum coap_err e;

	/* Not memset: opts[] is 512 bytes and only [0..nb_opts) is meaningful. */
	m->type = 0;
	m->code = 0;
	m->tkl = 0;
	m->err = COAP_ERR_NONE;
	m->mid = 0;
	m->nb_opts = 0;
	memset(m->token, 0, sizeof(m->token));
	m->payload = NULL;
	m->payload_len = 0;

	if (len < COAP_HDR_LEN)
		return fail(m, COAP_ERR_SHORT);
	if ((buf[0] >> 6) != COAP_VERSION)
		return fail(m, COAP_ERR_VERSION);
	m->type = (buf[0] >> 4) & 3;
	m->code = buf[1];
	m->mid = (uint16_t)(buf[2] << 8 | buf[3]);
	tkl = buf[0] & 0x0f;
	if (tkl > COAP_TOKEN_MAX)
		return fail(m, COAP_ERR_TKL);
	if (len - COAP_HDR_LEN < tkl)
		return fail(m, m->code == COAP_EMPTY ? COAP_ERR_EMPTY_FORMAT : COAP_ERR_TRUNC);
	m->tkl = (uint8_t)tkl;
	memcpy(m->token, buf + COAP_HDR_LEN, tkl);

	/* RFC 7252 4.1: nothing may follow the Message ID of an Empty message. */
	if (m->code == COAP_EMPTY)
		return len > COAP_HDR_LEN ? fail(m, COAP_ERR_EMPTY_FORMAT) : 0;

	cursor_init(&c, buf + COAP_HDR_LEN + tkl, len - COAP_HDR_LEN - tkl);
	e = decode_opts(&c, m);
	return e == COAP_ERR_NONE ? 0 : fail(m, e);
}

const struct coap_opt *
coap_opt_find(const struct coap_msg *m, uint16_t num)
{
	unsigned int i;

	for (i = 0; i < m->nb_opts; i++)
		if (m->opts[i].num == num)
			return &m->opts[i];
	return NULL;
}

unsigned int
coap_opt_count(const struct coap_msg *m, uint16_t num)
{
	unsigned int i, n = 0;

	for (i = 0; i < m->nb_opts; i++)
		n += m->opts[i].num == num;
	return n;
}

int
coap_opt_uint(const struct coap_opt *o, uint32_t *v)
{
	uint32_t x = 0;
	unsigned int i;

	if (o->len > 4)
		return -EINVAL;
	for (i = 0; i < o->len; i++)
		x = x << 8 | o->val[i];
	*v = x;
	return 0;
}

const struct coap_opt *
coap_unknown_critical(const struct coap_msg *m, const uint16_t *known, unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < m->nb_opts; i++) {
		if (!coap_opt_critical(m->opts[i].num))
			continue;
		for (k = 0; k < n; k++)
			if (known[k] == m->opts[i].num)
				break;
		if (k == n)
			return &m->opts[i];
	}
	return NULL;
}

static bool
path_segment_ok(const struct coap_opt *o)
{
	if (o->len == 1 && o->val[0] == '.')
		return false;
	if (o->len == 2 && o->val[0] == '.' && o->val[1] == '.')
		return false;
	return o->len == 0 ||
	       (memchr(o->val, '/', o->len) == NULL && memchr(o->val, '\0', o->len) == NULL);
}

/* A bad segment is -EINVAL whatever the room: it is checked before the size. */
int
coap_uri_path(const struct coap_msg *m, char *out, size_t cap)
{
	const struct coap_opt *o;
	size_t need = 0, pos = 0;
	unsigned int i, nseg = 0;

	if (cap)
		out[0] = '\0';
	for (i = 0; i < m->nb_opts; i++) {
		o = &m->opts[i];
		if (o->num != COAP_OPT_URI_PATH)
			continue;
		if (!path_segment_ok(o))
			return -EINVAL;
		need += (nseg++ ? 1u : 0u) + (size_t)o->len;
	}
	if (need >= cap)
		return -ENOSPC;
	nseg = 0;
	for (i = 0; i < m->nb_opts; i++) {
		o = &m->opts[i];
		if (o->num != COAP_OPT_URI_PATH)
			continue;
		if (nseg++)
			out[pos++] = '/';
		if (o->len)
			memcpy(out + pos, o->val, o->len);
		pos += o->len;
	}
	out[pos] = '\0';
	return (int)pos;
}

/* ---- encoding ---- */

static inline bool
w_room(struct coap_writer *w, size_t n)
{
	if (w->err)
		return false;
	if (w->cap - w->len < n) {
		w->err = -ENOSPC;
		return false;
	}
	return true;
}

void
coap_w_init(struct coap_writer *w, uint8_t *buf, size_t cap, uint8_t type, uint8_t code,
	    uint16_t mid, const uint8_t *token, uint8_t tkl)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->last_opt = 0;
	w->err = 0;
	if (type > COAP_RST || tkl > COAP_TOKEN_MAX || (tkl && token == NULL)) {
		w->err = -EINVAL;
		return;
	}
	if (!w_room(w, (size_t)COAP_HDR_LEN + tkl))
		return;
	buf[0] = (uint8_t)(COAP_VERSION << 6 | type << 4 | tkl);
	buf[1] = code;
	buf[2] = (uint8_t)(mid >> 8);
	buf[3] = (uint8_t)mid;
	if (tkl)
		memcpy(buf + COAP_HDR_LEN, token, tkl);
	w->len = (size_t)COAP_HDR_LEN + tkl;
}

void
coap_w_opt(struct coap_writer *w, uint16_t num, const void *val, size_t len)
{
	size_t delta, hdr;
	uint8_t *p;

	if (w->err)
		return;
	if (num < w->last_opt || len > OPT_VAL_MAX || (len && val == NULL)) {
		w->err = -EINVAL;
		return;
	}
	delta = (size_t)num - w->last_opt;
	hdr = 1 + ext_len(delta) + ext_len(len);
	if (!w_room(w, hdr + len))
		return;
	p = w->buf + w->len;
	*p++ = (uint8_t)(ext_nibble(delta) << 4 | ext_nibble(len));
	p = put_ext(p, delta);
	p = put_ext(p, len);
	if (len)
		memcpy(p, val, len);
	w->len += hdr + len;
	w->last_opt = num;
}

void
coap_w_opt_uint(struct coap_writer *w, uint16_t num, uint32_t v)
{
	uint8_t b[4];
	size_t n = v > 0xffffff ? 4 : v > 0xffff ? 3 : v > 0xff ? 2 : v ? 1 : 0;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	coap_w_opt(w, num, b, n);
}

void
coap_w_opt_str(struct coap_writer *w, uint16_t num, const char *s)
{
	coap_w_opt(w, num, s, strlen(s));
}

void
coap_w_payload(struct coap_writer *w, const void *p, size_t len)
{
	if (len == 0 || w->err)
		return;
	if (p == NULL) {
		w->err = -EINVAL;
		return;
	}
	/* Two steps: 1 + len could wrap. */
	if (w->cap - w->len < 1 || w->cap - w->len - 1 < len) {
		w->err = -ENOSPC;
		return;
	}
	w->buf[w->len] = COAP_PAYLOAD_MARKER;
	memcpy(w->buf + w->len + 1, p, len);
	w->len += 1 + len;
	w->cap = w->len;	/* closed: see the top of this file */
}

void
coap_w_payload_marker(struct coap_writer *w)
{
	if (!w_room(w, 1))
		return;
	w->buf[w->len++] = COAP_PAYLOAD_MARKER;
	w->cap = w->len;
}

int
coap_w_finish(const struct coap_writer *w)
{
	return w->err ? w->err : (int)w->len;
}

/* ---- Block1 / Block2 ---- */

#define BLOCK_SZX_BERT 7
#define BLOCK_SZX_MAX 6
#define BLOCK_NUM_MASK 0xfffffu

int
coap_block_decode(const struct coap_opt *o, struct coap_block *b)
{
	uint32_t v;

	if (o->len > 3 || coap_opt_uint(o, &v) != 0)
		return -EINVAL;
	if ((v & 7) == BLOCK_SZX_BERT)
		return -EINVAL;
	b->num = v >> 4;
	b->more = (v & 8) != 0;
	b->szx = (uint8_t)(v & 7);
	return 0;
}

uint32_t
coap_block_value(const struct coap_block *b)
{
	return (b->num & BLOCK_NUM_MASK) << 4 | (uint32_t)b->more << 3 | (b->szx & 7u);
}

uint8_t
coap_block_szx_for(size_t bytes)
{
	uint8_t szx = 0;

	while (szx < BLOCK_SZX_MAX && coap_block_size(szx + 1) <= bytes)
		szx++;
	return szx;
}

/* ---- Observe ---- */

#define OBSERVE_HALF (1u << 23)
#define OBSERVE_FRESH_S 128.0

bool
coap_observe_newer(uint32_t v1, double t1, uint32_t v2, double t2)
{
	v1 &= COAP_OBSERVE_MAX;
	v2 &= COAP_OBSERVE_MAX;
	if (v1 < v2 && v2 - v1 < OBSERVE_HALF)
		return true;
	if (v1 > v2 && v1 - v2 > OBSERVE_HALF)
		return true;
	return t2 > t1 + OBSERVE_FRESH_S;
}

/* ---- link format ---- */

/* A sink that only counts while p is NULL: the measuring pass. */
struct sink {
	char *p;
	size_t n;
};

static inline void
sink_c(struct sink *s, char c)
{
	if (s->p)
		s->p[s->n] = c;
	s->n++;
}

static inline void
sink_s(struct sink *s, const char *str)
{
	while (*str)
		sink_c(s, *str++);
}

/* RFC 3986 pchar without pct-encoded: unreserved, sub-delims, ':' and '@'. */
static bool
is_pchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static void
sink_path(struct sink *s, const char *path, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c == '/' || is_pchar(c)) {
			sink_c(s, (char)c);
		} else {
			sink_c(s, '%');
			sink_c(s, hex[c >> 4]);
			sink_c(s, hex[c & 15]);
		}
	}
}

/* A quoted-string (RFC 6690 via RFC 5988/2616): '"' and '\' take a backslash. */
static void
sink_quoted(struct sink *s, const char *v)
{
	sink_c(s, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			sink_c(s, '\\');
		sink_c(s, *v);
	}
	sink_c(s, '"');
}

/* Decimal digits of @p v (>= 0) into @p d, most significant first; returns the count. */
static size_t
dec(char d[12], unsigned int v)
{
	char t[12];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		d[i] = t[n - 1 - i];
	d[n] = '\0';
	return n;
}

static void
sink_link(struct sink *s, const struct coap_link *l)
{
	char d[12];

	if (s->n)
		sink_c(s, ',');
	sink_s(s, "</");
	sink_path(s, l->path, l->path_len);
	sink_c(s, '>');
	if (l->rt) {
		sink_s(s, ";rt=");
		sink_quoted(s, l->rt);
	}
	if (l->ct >= 0) {
		dec(d, (unsigned int)l->ct);
		sink_s(s, ";ct=");
		sink_s(s, d);
	}
	if (l->obs)
		sink_s(s, ";obs");
}

int
coap_link_append(char *buf, size_t cap, size_t *len, const struct coap_link *l)
{
	struct sink s = { NULL, *len };

	if (*len > cap)
		return -ENOSPC;
	sink_link(&s, l);
	if (s.n > cap)
		return -ENOSPC;
	s = (struct sink){ buf, *len };
	sink_link(&s, l);
	*len = s.n;
	return 0;
}

/* RFC 6690 4.1: equal, or a prefix when the pattern ends in '*'. */
static bool
value_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	bool prefix = plen && pat[plen - 1] == '*';

	if (prefix)
		plen--;
	if (prefix ? plen > slen : plen != slen)
		return false;
	return plen == 0 || memcmp(pat, s, plen) == 0;
}

/* "href": the link's target is "/" + path. */
static bool
href_match(const struct coap_link *l, const char *pat, size_t plen)
{
	if (plen == 1 && pat[0] == '*')
		return true;
	if (plen == 0 || pat[0] != '/')
		return false;
	return value_match(pat + 1, plen - 1, l->path, l->path_len);
}

/* rt holds space-separated types (RFC 6690 3.1): any one of them, or the whole, matches. */
static bool
rt_match(const char *rt, const char *pat, size_t plen)
{
	size_t n = strlen(rt), i = 0, j;

	if (value_match(pat, plen, rt, n))
		return true;
	while (i < n) {
		for (j = i; j < n && rt[j] != ' '; j++)
			;
		if (j > i && value_match(pat, plen, rt + i, j - i))
			return true;
		i = j + 1;
	}
	return false;
}

static bool
name_is(const char *q, size_t n, const char *name)
{
	return n == strlen(name) && memcmp(q, name, n) == 0;
}

/*
 * A name without '=' asks for the attribute's presence ("obs" is the usual
 * case). A valueless attribute (obs) has the empty value, so "obs=" and
 * "obs=*" match too.
 */
bool
coap_link_match(const struct coap_link *l, const char *q, size_t qlen)
{
	const char *eq, *v;
	size_t nlen, vlen;
	char d[12];

	if (qlen == 0)
		return true;
	eq = memchr(q, '=', qlen);
	nlen = eq ? (size_t)(eq - q) : qlen;
	v = eq ? eq + 1 : NULL;
	vlen = eq ? qlen - nlen - 1 : 0;

	if (name_is(q, nlen, "href"))
		return v == NULL || href_match(l, v, vlen);
	if (name_is(q, nlen, "rt"))
		return l->rt && (v == NULL || rt_match(l->rt, v, vlen));
	if (name_is(q, nlen, "ct")) {
		if (l->ct < 0)
			return false;
		return v == NULL || value_match(v, vlen, d, dec(d, (unsigned int)l->ct));
	}
	if (name_is(q, nlen, "obs"))
		return l->obs && (v == NULL || value_match(v, vlen, "", 0));
	return false;
}
