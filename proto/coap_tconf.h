/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_COAP_TCONF_H
#define TERN_PROTO_COAP_TCONF_H

/*
 * Topic properties ("topic configuration") of the CoAP publish-subscribe
 * broker, draft-ietf-core-coap-pubsub section 2.2.1 and the CBOR keys of
 * its section 4 (media type application/core-pubsub+cbor): a CBOR map with
 * integer keys,
 *
 *	0 topic-name           tstr
 *	1 topic-data           tstr (a URI reference)
 *	2 resource-type        tstr
 *	3 topic-content-format uint, 0..65535
 *	4 topic-type           tstr
 *	5 expiration-date      tag 1 (epoch seconds) around a uint
 *	6 max-subscribers      uint, at most UINT32_MAX here
 *	7 observer-check       uint, 1..UINT32_MAX here
 *	8 initialize           bstr
 *
 * Wire code only: no DPDK, no allocation, no global state; every function
 * is safe from any thread. Decoding uses libcbor's streaming decoder and
 * keeps views into the caller's buffer, which must outlive the struct
 * coap_tconf; encoding writes into the caller's buffer. Which properties
 * a request must carry (topic-name and resource-type at creation,
 * topic-content-format with initialize) is for the caller to check.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CBOR keys of the topic properties. */
enum coap_tconf_key {
	COAP_TP_NAME = 0,
	COAP_TP_DATA = 1,
	COAP_TP_RT = 2,
	COAP_TP_CT = 3,
	COAP_TP_TYPE = 4,
	COAP_TP_EXPIRES = 5,
	COAP_TP_MAX_SUBS = 6,
	COAP_TP_OBS_CHECK = 7,
	COAP_TP_INIT = 8,
	COAP_TP_NB
};

#define COAP_TP_BIT(k) (1u << (k))
#define COAP_TP_ALL (COAP_TP_BIT(COAP_TP_NB) - 1)   /* every property */

/* The draft's key of the FETCH conf-filter map ({9: [keys]}, section 2.5.2). */
#define COAP_TP_CONF_FILTER 9

struct coap_tconf {
	uint32_t present;               /* COAP_TP_BIT of each property given */
	const char *name;               /* views, not NUL-terminated */
	size_t name_len;
	const char *data;
	size_t data_len;
	const char *rt;
	size_t rt_len;
	uint16_t ct;
	const char *type;
	size_t type_len;
	uint64_t expires;               /* epoch seconds */
	uint32_t max_subs;
	uint32_t obs_check;
	const uint8_t *init;
	size_t init_len;
};

/**
 * Decode a topic configuration: exactly one CBOR map filling @p len bytes
 * of @p buf. Keys may come in any order; integers need not be in their
 * shortest form. Text strings must be valid UTF-8 (RFC 3629).
 *
 * @return 0, with *out filled: present has COAP_TP_BIT of each property
 *   given, the others are zero; the string views point into @p buf. An
 *   empty map is valid (present 0). On error *out is left untouched:
 *   -EINVAL: not a single well-formed definite-length map (truncated,
 *     trailing bytes, an indefinite-length item anywhere, or an item
 *     libcbor refuses), a key that is not an integer, a value of the
 *     wrong type or out of range (observer-check 0, content-format above
 *     65535, max-subscribers or observer-check above UINT32_MAX,
 *     expiration-date other than tag 1 around an unsigned integer, a text
 *     string that is not UTF-8), or an array or map as a value;
 *   -ENOTSUP: an integer key that is not 0..8 (the draft's registry has
 *     negative and larger keys; tern knows none of them);
 *   -EEXIST: a key given twice.
 *   The first error met reading front to back is the one returned.
 */
int coap_tconf_decode(const uint8_t *buf, size_t len, struct coap_tconf *out);

/**
 * Decode a FETCH filter naming properties: a CBOR array of keys, either
 * bare ([1, 3]) or as the draft's conf-filter map ({9: [1, 3]}, section
 * 2.5.2), filling exactly @p len bytes of @p buf. Duplicates are allowed.
 *
 * @return 0 with *mask set to the COAP_TP_BIT of each key listed (0 for
 *   an empty array); on error *mask is left untouched:
 *   -EINVAL: malformed (as for coap_tconf_decode()), not an array, an
 *     element that is not an integer, a map other than {9: array};
 *   -ENOTSUP: an integer key outside 0..8.
 */
int coap_tconf_keys_decode(const uint8_t *buf, size_t len, uint32_t *mask);

/**
 * Encode the properties of @p c that are both present and in @p mask as
 * one CBOR map, keys ascending, in the deterministic encoding of RFC 8949
 * 4.2.1 (shortest integer and length forms, definite lengths);
 * expiration-date as tag 1 around an unsigned integer. A mask of 0 (or no
 * property present) gives the empty map 0xa0. The caller owns @p buf; a
 * @p cap above INT_MAX counts as INT_MAX.
 *
 * @return the length written, or
 *   -EINVAL: a property to write that coap_tconf_decode() would refuse
 *     (observer-check 0, a text string that is not UTF-8); nothing is
 *     written;
 *   -ENOSPC: it does not fit @p cap (the buffer's contents up to cap are
 *     then unspecified).
 */
int coap_tconf_encode(const struct coap_tconf *c, uint32_t mask, uint8_t *buf, size_t cap);

/**
 * The match of the draft's FETCH on the topic collection (section 2.4.2):
 * true if every property present in @p filter is present in @p c with an
 * equal value (byte-equal strings, equal numbers). An empty filter
 * matches every topic.
 */
bool coap_tconf_match(const struct coap_tconf *c, const struct coap_tconf *filter);

#endif
