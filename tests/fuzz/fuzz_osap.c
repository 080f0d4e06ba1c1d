/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the OSAP codec (proto/osap.c).
 *
 * The input is what a TCP read may hold: the start of a stream. It is
 * decoded from a heap copy of exactly its length (so ASan sees any read past
 * it), and checked:
 *  - osap_decode() agrees with osap_frame_len(): -EAGAIN exactly when the
 *    frame is not all there, the varint errors with the same codes, and a
 *    decoded frame's length is the one osap_frame_len() announced;
 *  - any other error is the code osap_err_code() gives for m.err, in one of
 *    the three classes;
 *  - a decoded frame lies in OSAP_FRAME_MIN..OSAP_FRAME_MAX, its views lie
 *    inside it, and one octet less of it is -EAGAIN;
 *  - it re-encodes to exactly its own octets (osap_encoded_len() predicts
 *    the length, one octet less of room is -ENOSPC), and the encoding
 *    decodes and encodes again to the same octets;
 *  - opening its sealed part under a key nobody used fails cleanly
 *    (-EBADMSG), so the AAD and tag arithmetic never reach outside the frame;
 *  - the input read as each sealed plaintext (key grant, address query,
 *    address grant) either fails or re-encodes to itself, and read as a
 *    business payload it never opens.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * It needs only proto/ (scripts/fuzz links every source file there), and
 * calls libcrypto through osap_crypto.h itself:
 * fuzz-libs: libcrypto
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/osap.h"
#include "proto/osap_crypto.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const uint8_t zero_key[OSAP_KEY_LEN];

static int
view_in(struct osap_view v, const uint8_t *buf, size_t len)
{
	return v.len == 0 || (v.p >= buf && v.len <= len && v.p - buf <= (ptrdiff_t)(len - v.len));
}

static void
check_views(const struct osap_msg *m, const uint8_t *buf, size_t len)
{
	CHECK(view_in(m->sealed, buf, len));
	switch (m->type) {
	case OSAP_AUTH_ECDH_REQ:
		CHECK(view_in(m->ecdh_req.serial, buf, len));
		CHECK(m->ecdh_req.serial.len >= 1 && m->ecdh_req.serial.len <= OSAP_ID_MAX);
		break;
	case OSAP_REFRESH_REQ:
		CHECK(view_in(m->refresh_req.devid, buf, len));
		CHECK(m->refresh_req.devid.len >= 1 && m->refresh_req.devid.len <= OSAP_ID_MAX);
		break;
	case OSAP_DEVID_CFM:
		CHECK(view_in(m->devid_cfm.devid, buf, len));
		CHECK(m->devid_cfm.devid.len >= 1 && m->devid_cfm.devid.len <= OSAP_ID_MAX);
		break;
	case OSAP_ERROR:
		CHECK(view_in(m->error.reason, buf, len));
		CHECK(m->error.reason.len <= OSAP_REASON_MAX);
		CHECK(m->error.code != OSAP_ST_OK);
		break;
	default:
		break;
	}
}

/* The frame's sealed part under a key nobody sealed with. */
static void
check_open(struct osap_aead *a, const uint8_t *frame, const struct osap_msg *m)
{
	uint8_t pt[OSAP_FRAME_MAX];
	int r = osap_open_msg(a, zero_key, frame, m, pt, sizeof(pt));

	if (m->sealed.len == 0)
		CHECK(r == -EINVAL);
	else
		CHECK(r == -EBADMSG);
}

/* The input as each sealed plaintext: refused, or re-encoded to itself. */
static void
check_plaintexts(const uint8_t *in, size_t len)
{
	struct osap_key_grant g;
	struct osap_addr_query q;
	struct osap_addr_grant ag;
	uint8_t out[OSAP_KEY_GRANT_MAX];
	int n;

	if (osap_decode_key_grant(in, len, &g) == 0) {
		CHECK(view_in(g.devid, in, len));
		n = osap_encode_key_grant(out, sizeof(out), &g);
		CHECK(n > 0 && (size_t)n == len && memcmp(out, in, len) == 0);
	}
	if (osap_decode_addr_query(in, len, &q) == 0) {
		n = osap_encode_addr_query(out, sizeof(out), &q);
		CHECK(n > 0 && (size_t)n == len && memcmp(out, in, len) == 0);
	}
	if (osap_decode_addr_grant(in, len, &ag) == 0) {
		n = osap_encode_addr_grant(out, sizeof(out), &ag);
		CHECK(n > 0 && (size_t)n == len && memcmp(out, in, len) == 0);
	}
}

static void
check_biz(struct osap_aead *a, const uint8_t *in, size_t len)
{
	uint8_t pt[OSAP_FRAME_MAX];
	int r;

	if (len > sizeof(pt) + OSAP_BIZ_OVERHEAD)
		return;
	r = osap_biz_open(a, zero_key, OSAP_DIR_UP, in, len, pt, sizeof(pt), NULL);
	CHECK(r == (len < OSAP_BIZ_OVERHEAD ? -EMSGSIZE : -EBADMSG));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct osap_aead *aead;
	struct osap_msg m, m2;
	uint8_t *in, *out, *out2;
	int r, fl, n;

	if (aead == NULL) {
		aead = osap_aead_new();
		CHECK(aead != NULL);
	}
	in = malloc(len ? len : 1);
	CHECK(in != NULL);
	if (len)
		memcpy(in, data, len);

	check_plaintexts(in, len);
	check_biz(aead, in, len);

	fl = osap_frame_len(in, len);
	r = osap_decode(in, len, &m);
	CHECK(osap_err_name((enum osap_err)m.err) != NULL);
	if (fl == -EAGAIN || (fl > 0 && (size_t)fl > len)) {
		CHECK(r == -EAGAIN && m.err == OSAP_ERR_NONE);
		goto out;
	}
	if (fl == -EINVAL)
		CHECK(r == -EINVAL && m.err == OSAP_ERR_VARINT);
	else if (fl == -EMSGSIZE)
		CHECK(r == -EMSGSIZE && m.err == OSAP_ERR_TOO_LONG);
	else
		CHECK(fl >= 2 && fl <= OSAP_FRAME_MAX);
	if (r < 0) {
		CHECK(r == -EMSGSIZE || r == -EPROTONOSUPPORT || r == -EINVAL);
		CHECK(m.err != OSAP_ERR_NONE && r == osap_err_code((enum osap_err)m.err));
		goto out;
	}

	/* A frame. */
	CHECK(r == fl && r >= OSAP_FRAME_MIN && r <= OSAP_FRAME_MAX);
	CHECK(m.err == OSAP_ERR_NONE);
	CHECK(osap_type_name(m.type) != NULL && osap_peek_type(in, len) == m.type);
	CHECK((m.flags & OSAP_FLAG_RESERVED) == 0);
	check_views(&m, in, (size_t)r);
	CHECK(osap_decode(in, (size_t)r - 1, &m2) == -EAGAIN);
	check_open(aead, in, &m);

	n = osap_encoded_len(&m);
	CHECK(n == r);
	out = malloc((size_t)n);
	out2 = malloc((size_t)n);
	CHECK(out != NULL && out2 != NULL);
	CHECK(osap_encode(out, (size_t)n - 1, &m) == -ENOSPC);
	CHECK(osap_encode(out, (size_t)n, &m) == n);
	CHECK(memcmp(out, in, (size_t)n) == 0);
	CHECK(osap_decode(out, (size_t)n, &m2) == n);
	CHECK(m2.type == m.type && m2.flags == m.flags);
	CHECK(osap_msg_status(&m2) == osap_msg_status(&m));
	CHECK(osap_encode(out2, (size_t)n, &m2) == n && memcmp(out, out2, (size_t)n) == 0);
	free(out2);
	free(out);
out:
	free(in);
	return 0;
}
