/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_COAP_H
#define TERN_PROTO_COAP_H

/*
 * CoAP over UDP (RFC 7252) wire code: the message header, token, options
 * with their delta/length encoding (including the 13 and 14 extended
 * forms), payload; Block1/Block2 values (RFC 7959); Observe (RFC 7641)
 * values; CoRE link format (RFC 6690) output and query filtering.
 *
 * Pure wire code: no DPDK, no allocation, safe from any thread. A decoded
 * message points into the caller's buffer (options and payload are views);
 * the buffer must outlive the struct coap_msg.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COAP_VERSION 1
#define COAP_HDR_LEN 4
#define COAP_TOKEN_MAX 8
#define COAP_MAX_OPTS 32         /* options kept by the decoder; more: an error */
#define COAP_PAYLOAD_MARKER 0xff

enum coap_type {
	COAP_CON = 0,
	COAP_NON = 1,
	COAP_ACK = 2,
	COAP_RST = 3,
};

/* Codes: class (3 bits) . detail (5 bits). */
#define COAP_CODE(c, d) ((uint8_t)((c) << 5 | (d)))
#define COAP_CODE_CLASS(code) ((code) >> 5)
#define COAP_CODE_DETAIL(code) ((code) & 0x1f)

enum coap_code {
	COAP_EMPTY = 0,
	COAP_GET = 1,
	COAP_POST = 2,
	COAP_PUT = 3,
	COAP_DELETE = 4,
	COAP_FETCH = 5,
	COAP_PATCH = 6,
	COAP_IPATCH = 7,
	COAP_CREATED = COAP_CODE(2, 1),
	COAP_DELETED = COAP_CODE(2, 2),
	COAP_VALID = COAP_CODE(2, 3),
	COAP_CHANGED = COAP_CODE(2, 4),
	COAP_CONTENT = COAP_CODE(2, 5),
	COAP_CONTINUE = COAP_CODE(2, 31),
	COAP_BAD_REQUEST = COAP_CODE(4, 0),
	COAP_UNAUTHORIZED = COAP_CODE(4, 1),
	COAP_BAD_OPTION = COAP_CODE(4, 2),
	COAP_FORBIDDEN = COAP_CODE(4, 3),
	COAP_NOT_FOUND = COAP_CODE(4, 4),
	COAP_METHOD_NOT_ALLOWED = COAP_CODE(4, 5),
	COAP_NOT_ACCEPTABLE = COAP_CODE(4, 6),
	COAP_REQUEST_ENTITY_INCOMPLETE = COAP_CODE(4, 8),
	COAP_CONFLICT = COAP_CODE(4, 9),
	COAP_PRECONDITION_FAILED = COAP_CODE(4, 12),
	COAP_REQUEST_ENTITY_TOO_LARGE = COAP_CODE(4, 13),
	COAP_UNSUPPORTED_CONTENT_FORMAT = COAP_CODE(4, 15),
	COAP_TOO_MANY_REQUESTS = COAP_CODE(4, 29),   /* RFC 8516 */
	COAP_INTERNAL_SERVER_ERROR = COAP_CODE(5, 0),
	COAP_NOT_IMPLEMENTED = COAP_CODE(5, 1),
	COAP_SERVICE_UNAVAILABLE = COAP_CODE(5, 3),
	COAP_PROXYING_NOT_SUPPORTED = COAP_CODE(5, 5),
};

/* Option numbers (RFC 7252 12.2, RFC 7641, RFC 7959, RFC 7967). */
enum coap_option {
	COAP_OPT_IF_MATCH = 1,
	COAP_OPT_URI_HOST = 3,
	COAP_OPT_ETAG = 4,
	COAP_OPT_IF_NONE_MATCH = 5,
	COAP_OPT_OBSERVE = 6,
	COAP_OPT_URI_PORT = 7,
	COAP_OPT_LOCATION_PATH = 8,
	COAP_OPT_URI_PATH = 11,
	COAP_OPT_CONTENT_FORMAT = 12,
	COAP_OPT_MAX_AGE = 14,
	COAP_OPT_URI_QUERY = 15,
	COAP_OPT_ACCEPT = 17,
	COAP_OPT_LOCATION_QUERY = 20,
	COAP_OPT_BLOCK2 = 23,
	COAP_OPT_BLOCK1 = 27,
	COAP_OPT_SIZE2 = 28,
	COAP_OPT_PROXY_URI = 35,
	COAP_OPT_PROXY_SCHEME = 39,
	COAP_OPT_SIZE1 = 60,
	COAP_OPT_NO_RESPONSE = 258,
};

/* Content-Formats tern names (RFC 7252 12.3 and the IANA registry). */
enum coap_format {
	COAP_FMT_TEXT = 0,            /* text/plain;charset=utf-8 */
	COAP_FMT_LINK = 40,           /* application/link-format */
	COAP_FMT_XML = 41,
	COAP_FMT_OCTETS = 42,         /* application/octet-stream */
	COAP_FMT_EXI = 47,
	COAP_FMT_JSON = 50,
	COAP_FMT_CBOR = 60,
	/*
	 * application/core-pubsub+cbor, topic properties
	 * (draft-ietf-core-coap-pubsub 6.2): the draft asks IANA for 606
	 * ("TBD606"), which is not assigned yet.
	 */
	COAP_FMT_PUBSUB = 606,
};

/* Option properties (RFC 7252 5.4.6): from the number alone. */
static inline bool
coap_opt_critical(uint16_t num)
{
	return (num & 1) != 0;
}

static inline bool
coap_opt_unsafe(uint16_t num)
{
	return (num & 2) != 0;
}

static inline bool
coap_opt_no_cache_key(uint16_t num)
{
	return (num & 0x1e) == 0x1c;
}

/* ---- decode errors ---- */

/*
 * Every reason coap_decode() refuses a datagram: enum suffix, counter name,
 * description. Order is the counter order. RFC 7252 4.2/4.3: a CON with a
 * format error is answered with RST, a NON is dropped (the caller decides;
 * m->type/mid/tkl/token are filled when the 4-byte header was readable).
 */
#define FOREACH_COAP_ERR(_) \
	_(SHORT,      "coap_err_short",      "datagram shorter than the 4-byte CoAP header") \
	_(VERSION,    "coap_err_version",    "CoAP version other than 1") \
	_(TKL,        "coap_err_tkl",        "token length 9-15 (reserved)") \
	_(TRUNC,      "coap_err_trunc",      "token or option runs past the end of the datagram") \
	_(EMPTY_FORMAT, "coap_err_empty_format", "empty message (code 0.00) with a token, options or payload") \
	_(OPT_RESERVED, "coap_err_opt_reserved", "option delta or length nibble 15 (reserved) outside the payload marker") \
	_(OPT_NUMBER, "coap_err_opt_number", "option number above 65535") \
	_(TOO_MANY_OPTS, "coap_err_too_many_opts", "more options than tern keeps (32)") \
	_(EMPTY_PAYLOAD, "coap_err_empty_payload", "payload marker followed by no payload")

enum coap_err {
	COAP_ERR_NONE = 0,
#define COAP_ERR_ENUM(e, n, d) COAP_ERR_##e,
	FOREACH_COAP_ERR(COAP_ERR_ENUM)
#undef COAP_ERR_ENUM
	COAP_ERR_MAX
};

/** Counter name of @p err ("coap_err_short"), "coap_err_none" for 0, NULL out of range. */
const char *coap_err_name(unsigned int err);

/* ---- messages ---- */

struct coap_opt {
	uint16_t num;
	uint16_t len;
	const uint8_t *val;     /* len bytes in the decoded buffer */
};

struct coap_msg {
	uint8_t type;           /* enum coap_type */
	uint8_t code;
	uint8_t tkl;            /* token length, 0..8 */
	uint8_t err;            /* decode: enum coap_err; 0 on success */
	uint16_t mid;           /* message id, host order */
	uint16_t nb_opts;
	uint8_t token[COAP_TOKEN_MAX];
	struct coap_opt opts[COAP_MAX_OPTS];   /* in wire order: non-decreasing numbers */
	const uint8_t *payload; /* NULL when none */
	size_t payload_len;
};

/**
 * Decode one CoAP message filling exactly @p len bytes of @p buf.
 * @return 0, or -EINVAL with m->err set (enum coap_err). On error the
 *   header fields are valid whenever err is not COAP_ERR_SHORT or
 *   COAP_ERR_VERSION, so the caller can answer a CON with RST.
 */
int coap_decode(const uint8_t *buf, size_t len, struct coap_msg *m);

/** The first option @p num of @p m, or NULL. Repeated options follow it in m->opts. */
const struct coap_opt *coap_opt_find(const struct coap_msg *m, uint16_t num);

/** Number of occurrences of option @p num in @p m. */
unsigned int coap_opt_count(const struct coap_msg *m, uint16_t num);

/**
 * An option's value as an unsigned integer (RFC 7252 3.2: big-endian,
 * leading zeros allowed, empty = 0). @return 0, or -EINVAL if longer than
 * 4 bytes.
 */
int coap_opt_uint(const struct coap_opt *o, uint32_t *v);

/**
 * The first critical option of @p m whose number is not in @p known[0..n)
 * (RFC 7252 5.4.1: a request with one gets 4.02 Bad Option), or NULL.
 */
const struct coap_opt *coap_unknown_critical(const struct coap_msg *m, const uint16_t *known,
					     unsigned int n);

/**
 * Join the Uri-Path options of @p m into "seg1/seg2/..." (no leading '/')
 * in @p out (NUL-terminated). @return the length, -ENOSPC if it does not
 * fit @p cap, -EINVAL if a segment contains '/' or NUL (it could not be
 * told from a separator) or is "." or "..". No Uri-Path: "" (length 0).
 */
int coap_uri_path(const struct coap_msg *m, char *out, size_t cap);

/* ---- encoding ---- */

/*
 * A message is written in order: header and token, options in
 * non-decreasing number order, then the payload (or only its marker when
 * the payload follows in another buffer). Errors are sticky: w->err is
 * the first one (-ENOSPC, -EINVAL), checked once by coap_w_finish().
 *
 *	struct coap_writer w;
 *	coap_w_init(&w, buf, cap, COAP_ACK, COAP_CONTENT, mid, token, tkl);
 *	coap_w_opt_uint(&w, COAP_OPT_OBSERVE, seq);
 *	coap_w_opt_uint(&w, COAP_OPT_CONTENT_FORMAT, COAP_FMT_TEXT);
 *	coap_w_payload(&w, data, n);
 *	len = coap_w_finish(&w);
 */
struct coap_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint16_t last_opt;
	int err;
};

void coap_w_init(struct coap_writer *w, uint8_t *buf, size_t cap, uint8_t type, uint8_t code,
		 uint16_t mid, const uint8_t *token, uint8_t tkl);
/** An option; -EINVAL (sticky) if @p num is below the previous one or len > 65535 + 269. */
void coap_w_opt(struct coap_writer *w, uint16_t num, const void *val, size_t len);
/** An unsigned integer option in its shortest form (0 is the empty value). */
void coap_w_opt_uint(struct coap_writer *w, uint16_t num, uint32_t v);
/** A string option (strlen bytes). */
void coap_w_opt_str(struct coap_writer *w, uint16_t num, const char *s);
/** The payload marker and @p len bytes of payload; nothing when len is 0. */
void coap_w_payload(struct coap_writer *w, const void *p, size_t len);
/** The payload marker only: the payload goes in another buffer after this one. */
void coap_w_payload_marker(struct coap_writer *w);
/** @return the message length, or the first error (-ENOSPC, -EINVAL). */
int coap_w_finish(const struct coap_writer *w);

/* ---- Block1 / Block2 (RFC 7959) ---- */

struct coap_block {
	uint32_t num;           /* block number, < 2^20 */
	bool more;
	uint8_t szx;            /* size = 16 << szx; 0..6 (7 is BERT, TCP only) */
};

static inline size_t
coap_block_size(uint8_t szx)
{
	return (size_t)16 << szx;
}

/** Decode a Block1/Block2 option value. @return 0, -EINVAL (longer than 3 bytes, szx 7). */
int coap_block_decode(const struct coap_opt *o, struct coap_block *b);
/** The option's unsigned integer value for @p b (to coap_w_opt_uint()). */
uint32_t coap_block_value(const struct coap_block *b);
/** The largest szx whose block size is <= @p bytes (at least 16): 0..6. */
uint8_t coap_block_szx_for(size_t bytes);

/* ---- Observe (RFC 7641) ---- */

#define COAP_OBSERVE_REGISTER 0
#define COAP_OBSERVE_DEREGISTER 1
#define COAP_OBSERVE_MAX 0xffffff   /* sequence numbers are 24 bits */

/**
 * RFC 7641 3.4: is notification sequence @p v2 (received at @p t2, seconds)
 * newer than @p v1 (received at @p t1)? Wraps at 2^24; after 128 s any
 * later notification is newer.
 */
bool coap_observe_newer(uint32_t v1, double t1, uint32_t v2, double t2);

/* ---- CoRE link format (RFC 6690) ---- */

/* One link's target and the attributes tern writes. */
struct coap_link {
	const char *path;       /* "ps/a/b" (no leading '/'; written as </ps/a/b>) */
	size_t path_len;
	const char *rt;         /* resource type, NULL: none */
	int ct;                 /* content format, < 0: none */
	bool obs;               /* observable */
};

/**
 * Append @p l to the link-format document in @p buf (@p *len bytes used,
 * a ',' first unless it is empty): </path>;rt="...";ct=N;obs. Characters of
 * the path that are not allowed in a URI path segment are percent-encoded.
 * @return 0, or -ENOSPC (nothing appended).
 */
int coap_link_append(char *buf, size_t cap, size_t *len, const struct coap_link *l);

/**
 * Does @p l pass the query filter @p q[0..qlen) (one Uri-Query, RFC 6690
 * 4.1: "href=...", "rt=...", "ct=...", "obs" or another attribute name,
 * a value ending in '*' is a prefix match)? An empty query passes;
 * an attribute tern does not write never matches.
 */
bool coap_link_match(const struct coap_link *l, const char *q, size_t qlen);

#endif
