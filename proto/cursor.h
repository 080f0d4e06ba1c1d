/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_CURSOR_H
#define TERN_PROTO_CURSOR_H

/*
 * A bounds-checked read/write cursor over a caller's buffer with a sticky
 * error. After the first overrun every read yields zero, every write is
 * ignored, and the error stays set, so a parser reads a whole header field by
 * field and checks cur.err once at the end instead of after every field.
 *
 * Nothing here allocates; the cursor never owns the buffer. Safe from any
 * thread on a cursor that thread owns.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	uint8_t *base;   /* start of the buffer (const-cast for readers) */
	size_t len;      /* total length */
	size_t pos;      /* next byte */
	int err;         /* 0, or a negative errno-style code, sticky */
};

/** Start reading @p len bytes at @p buf. */
static inline void
cursor_init(struct cursor *c, const uint8_t *buf, size_t len)
{
	c->base = (uint8_t *)(uintptr_t)buf;
	c->len = len;
	c->pos = 0;
	c->err = 0;
}

/** Bytes left to read or write; 0 once an error is set. */
static inline size_t
cursor_left(const struct cursor *c)
{
	return c->err ? 0 : c->len - c->pos;
}

/** Pointer to the next byte (valid for cursor_left() bytes). */
static inline const uint8_t *
cursor_ptr(const struct cursor *c)
{
	return c->base + c->pos;
}

/* Set the sticky error if fewer than @p n bytes remain; returns true if ok. */
static inline int
cursor_need(struct cursor *c, size_t n)
{
	if (c->err)
		return 0;
	if (c->len - c->pos < n) {
		c->err = -EMSGSIZE;
		return 0;
	}
	return 1;
}

static inline void
cursor_skip(struct cursor *c, size_t n)
{
	if (cursor_need(c, n))
		c->pos += n;
}

static inline uint8_t
cursor_u8(struct cursor *c)
{
	if (!cursor_need(c, 1))
		return 0;
	return c->base[c->pos++];
}

/** Read a big-endian (network order) 16-bit value. */
static inline uint16_t
cursor_be16(struct cursor *c)
{
	if (!cursor_need(c, 2))
		return 0;
	uint16_t v = (uint16_t)(c->base[c->pos] << 8 | c->base[c->pos + 1]);
	c->pos += 2;
	return v;
}

static inline uint32_t
cursor_be32(struct cursor *c)
{
	if (!cursor_need(c, 4))
		return 0;
	uint32_t hi = cursor_be16(c);
	uint32_t lo = cursor_be16(c);
	return hi << 16 | lo;
}

/** Copy @p n bytes out; on overrun @p dst is zero-filled. */
static inline void
cursor_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cursor_need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->base + c->pos, n);
	c->pos += n;
}

static inline void
cursor_put_u8(struct cursor *c, uint8_t v)
{
	if (cursor_need(c, 1))
		c->base[c->pos++] = v;
}

static inline void
cursor_put_be16(struct cursor *c, uint16_t v)
{
	if (!cursor_need(c, 2))
		return;
	c->base[c->pos] = (uint8_t)(v >> 8);
	c->base[c->pos + 1] = (uint8_t)v;
	c->pos += 2;
}

static inline void
cursor_put_be32(struct cursor *c, uint32_t v)
{
	if (!cursor_need(c, 4))
		return;
	cursor_put_be16(c, (uint16_t)(v >> 16));
	cursor_put_be16(c, (uint16_t)v);
}

static inline void
cursor_put(struct cursor *c, const void *src, size_t n)
{
	if (!cursor_need(c, n))
		return;
	memcpy(c->base + c->pos, src, n);
	c->pos += n;
}

#endif
