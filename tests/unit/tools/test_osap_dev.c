/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device side of OSAP (tests/tools/osap_dev.c) against the real LBS
 * session (control/lbs/session.c) in-process with an in-memory backend
 * (tests/tools/device_loop.c): first authentication to an address,
 * re-authentication with the master key it returned, the negotiation retry
 * after an inconsistent answer, every refusal mapped to its name, answers
 * the device must not believe (a seal under another key), and truncated or
 * silent streams ending in a timeout, over the loop and over a real socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/osap.h"
#include "proto/osap_crypto.h"
#include "tests/tools/device_loop.h"
#include "tests/tools/device_net.h"
#include "tests/tools/osap_dev.h"
#include "tests/unit/tap.h"

#define ITER 1000   /* PBKDF2 count of this test's share keys */

static struct dmem mem;
static struct lbs_backend be;

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

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A fresh LBS: serves type 1 group @p group; SN-A (ABCDEF) and SN-BLK (blocked). */
static void
lbs_reset(uint8_t group)
{
	dmem_fini(&mem);
	if (dmem_init(&mem, 8, group, 1883) < 0 ||
	    dmem_add(&mem, "SN-A", "ABCDEF", ITER, false) == NULL ||
	    dmem_add(&mem, "SN-BLK", "XYZ", ITER, true) == NULL)
		abort();
	dmem_backend(&mem, &be);
}

static void
dev_new(struct osap_dev *d, const char *serial, const char *code)
{
	if (osap_dev_init(d, serial, code, ITER) < 0)
		abort();
}

static void
test_first_auth(void)
{
	struct osap_dev d;
	struct osap_dev_result r;
	struct osap_stream st;
	struct dloop l = { 0 };
	struct dmem_dev *md;
	char addr[64];
	int rc;

	lbs_reset(OSAP_PROTO_KNOWN);
	dev_new(&d, "SN-A", "ABCDEF");
	ok(d.has_share_key && d.proto_group == OSAP_PROTO_PLAIN &&
	   d.proto_type == OSAP_PROTO_TYPE_MQTTSN, "first: defaults: share key, type 1, plain");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, 0, "first: 0x1 .. 0x9 succeed");
	is_str(osap_dev_err_name(r.err), "ok", "first: no failure");
	md = dmem_find(&mem, "SN-A");
	is_int(strlen(d.devid), OSAP_DEVID_GEN_LEN, "first: a DevID of 22 characters");
	is_str(d.devid, md->devid, "first: the DevID the LBS stored");
	ok(d.has_master && md->has_master && memcmp(d.master_key, md->master_key, 16) == 0,
	   "first: both sides derived the same master key");
	ok(d.has_session && memcmp(d.session_key, md->session_key, 16) == 0,
	   "first: the session key the LBS stored");
	is_int(d.key_lifetime, 86400, "first: the key lifetime of the grant");
	is_int(d.proto, OSAP_PROTO_PLAIN, "first: negotiated the plain protocol offered");
	is_int(r.offer_type, OSAP_PROTO_TYPE_MQTTSN, "first: 0x2 type recorded");
	is_int(l.writes, 3, "first: 0x1, 0x7 and 0x9 sent");
	is_int(lbs_sess_state(l.s), LBS_SESS_SESSION, "first: the 0x9 confirmed (SESSION)");
	ok(r.auth_ns > 0, "first: auth time measured");

	rc = osap_dev_get_address(&d, &st, &r);
	is_int(rc, 0, "first: 0xA / 0xB succeed");
	is_int(r.node_family, OSAP_FAMILY_IPV4, "first: IPv4 node");
	is_str(osap_dev_node_str(&r, addr, sizeof(addr)), "127.0.0.1", "first: node address");
	is_int(r.node_port, 1883, "first: node port");
	ok(r.node_proto_type == OSAP_PROTO_TYPE_MQTTSN && r.node_proto == OSAP_PROTO_PLAIN,
	   "first: node protocol MQTT-SN plain");
	is_int(r.admit_lifetime, 300, "first: admission lifetime");
	is_int(mem.admitted, 1, "first: admitted at the node");
	ok(r.addr_ns > 0, "first: address time measured");
	rc = osap_dev_get_address(&d, &st, &r);
	is_int(rc, 0, "first: a second 0xA on the connection");
	is_int(mem.admitted, 2, "first: admitted again");
	dloop_close(&l);

	/* Without 0x9: the 0xA confirms; the DevID is sticky. */
	char devid1[OSAP_ID_MAX + 1];

	strcpy(devid1, d.devid);
	d.no_cfm = true;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	ok(osap_dev_first_auth(&d, &st, &r) == 0 && osap_dev_get_address(&d, &st, &r) == 0,
	   "no 0x9: first authentication and address");
	is_int(l.writes, 3, "no 0x9: 0x1, 0x7, 0xA sent");
	is_str(d.devid, devid1, "no 0x9: the serial keeps its DevID");
	dloop_close(&l);

	osap_dev_wipe(&d);
	ok(!d.has_master && d.devid[0] == 0 && d.master_key[0] == 0 && d.session_key[5] == 0 &&
	   d.share_key[3] == 0, "wipe: keys and DevID cleared");
	uint8_t zero[sizeof(d)] = { 0 };

	is_mem(&d, zero, sizeof(d), "wipe: the whole struct is zero");
}

static void
test_reauth(void)
{
	struct osap_dev d, re;
	struct osap_dev_result r;
	struct osap_stream st;
	struct dloop l = { 0 };
	uint8_t old_ks[16];
	int rc;

	lbs_reset(OSAP_PROTO_KNOWN);
	dev_new(&d, "SN-A", "ABCDEF");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	ok(osap_dev_first_auth(&d, &st, &r) == 0, "reauth: first authentication");
	dloop_close(&l);

	/* What a state file keeps: DevID and master key, no code. */
	osap_dev_init(&re, "SN-A", NULL, ITER);
	ok(!re.has_share_key, "reauth: no code, no share key");
	strcpy(re.devid, d.devid);
	memcpy(re.master_key, d.master_key, 16);
	re.has_master = true;
	memcpy(old_ks, d.session_key, 16);
	osap_dev_result_init(&r);
	is_int(osap_dev_first_auth(&re, &st, &r), -EINVAL, "reauth: no first auth without a code");

	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_reauth(&re, &st, &r);
	is_int(rc, 0, "reauth: 0x4 / 0x6 succeed");
	ok(re.has_session && memcmp(re.session_key, old_ks, 16) != 0,
	   "reauth: a new session key");
	ok(memcmp(re.session_key, dmem_find(&mem, "SN-A")->session_key, 16) == 0,
	   "reauth: the session key the LBS stored");
	is_int(re.proto, OSAP_PROTO_PLAIN, "reauth: negotiated again");
	is_int(osap_dev_get_address(&re, &st, &r), 0, "reauth: 0xA / 0xB under the new key");
	is_int(r.node_port, 1883, "reauth: node port");
	is_int(lbs_sess_state(l.s), LBS_SESS_SESSION, "reauth: SESSION");
	dloop_close(&l);

	/* A DevID the LBS does not know. */
	strcpy(re.devid, "no-such-devid");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_reauth(&re, &st, &r);
	is_int(rc, -EPROTO, "reauth: unknown DevID refused");
	is_int(r.status, OSAP_ST_UNKNOWN_DEVICE, "reauth: status unknown_device");
	is_str(osap_dev_error_name(&r, NULL, 0), "unknown_device", "reauth: named");
	is_int(r.stage, OSAP_REFRESH_REQ, "reauth: at 0x4");
	ok(!re.has_session, "reauth: no session key after a refusal");
	dloop_close(&l);

	/* A wrong master key: the LBS's seal check. */
	strcpy(re.devid, d.devid);
	re.master_key[0] ^= 1;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	is_int(osap_dev_reauth(&re, &st, &r), -EPROTO, "reauth: wrong master key refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "auth_failed", "reauth: auth_failed");
	dloop_close(&l);
	is_int(osap_dev_get_address(&re, &st, &r), -EINVAL, "reauth: no address without a key");
	osap_dev_wipe(&re);
	osap_dev_wipe(&d);
}

static void
test_negotiation(void)
{
	struct osap_dev d;
	struct osap_dev_result r;
	struct osap_stream st;
	struct dloop l = { 0 };
	int rc;

	/* The LBS serves only the secure protocol; the device offers plain. */
	lbs_reset(OSAP_PROTO_SECURE);
	dev_new(&d, "SN-A", "ABCDEF");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EPROTO, "negotiation: no common protocol refused");
	is_int(r.err, OSAP_DEV_E_REFUSED, "negotiation: a refusal");
	is_str(osap_dev_error_name(&r, NULL, 0), "unsupported_protocol",
	       "negotiation: unsupported_protocol");
	ok(r.offer_type == OSAP_PROTO_TYPE_MQTTSN && r.offer_group == OSAP_PROTO_SECURE,
	   "negotiation: the LBS's offer returned (type 1, group 02)");
	ok(!r.in_error && r.stage == OSAP_AUTH_ECDH_REQ, "negotiation: in the 0x2");
	ok(l.closed, "negotiation: the LBS closed");
	ok(d.devid[0] == 0 && !d.has_master, "negotiation: no DevID, no master key");
	dloop_close(&l);

	/* Reconnect with the offer, as tern-device does. */
	d.proto_type = r.offer_type;
	d.proto_group = r.offer_group;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, 0, "negotiation: the retry with the offer succeeds");
	is_int(d.proto, OSAP_PROTO_SECURE, "negotiation: secure chosen");
	is_int(osap_dev_get_address(&d, &st, &r), 0, "negotiation: address after the retry");
	is_int(r.node_proto, OSAP_PROTO_SECURE, "negotiation: the node's secure protocol");
	dloop_close(&l);

	/* Type 2 (MQTT) is not served: the same answer, carrying type 1. */
	d.proto_type = OSAP_PROTO_TYPE_MQTT;
	d.proto_group = 0x0f;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_reauth(&d, &st, &r);
	ok(rc == -EPROTO && r.status == OSAP_ST_UNSUPPORTED_PROTOCOL &&
	   r.offer_type == OSAP_PROTO_TYPE_MQTTSN && r.offer_group == OSAP_PROTO_SECURE,
	   "negotiation: type 2 in a 0x4: inconsistent, the server's type and group");
	dloop_close(&l);
	osap_dev_wipe(&d);
}

static void
test_refusals(void)
{
	struct osap_dev d;
	struct osap_dev_result r;
	struct osap_stream st;
	struct dloop l = { 0 };
	int rc;

	lbs_reset(OSAP_PROTO_KNOWN);
	dev_new(&d, "SN-A", "WRONG");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EPROTO, "wrong code: refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "auth_failed", "wrong code: auth_failed");
	ok(d.devid[0] == 0 && !d.has_master && !d.has_session,
	   "wrong code: no DevID, no keys");
	is_int(osap_dev_err_class(r.err), 1, "wrong code: a protocol failure (exit 1)");
	dloop_close(&l);
	osap_dev_wipe(&d);

	dev_new(&d, "SN-NOBODY", "ABCDEF");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	ok(rc == -EPROTO && r.status == OSAP_ST_AUTH_FAILED && d.devid[0] == 0,
	   "unknown serial: auth_failed too, no DevID");
	dloop_close(&l);
	osap_dev_wipe(&d);

	dev_new(&d, "SN-BLK", "XYZ");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EPROTO, "blocked: refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "device_blocked", "blocked: device_blocked");
	ok(d.devid[0] == 0, "blocked: no DevID");
	dloop_close(&l);
	osap_dev_wipe(&d);

	/* No access node: the 0xB refusal. */
	mem.no_node = true;
	dev_new(&d, "SN-A", "ABCDEF");
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	ok(osap_dev_first_auth(&d, &st, &r) == 0, "no node: authentication succeeds");
	rc = osap_dev_get_address(&d, &st, &r);
	is_int(rc, -EPROTO, "no node: 0xB refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "no_access_node", "no node: no_access_node");
	ok(r.stage == OSAP_ADDR_REQ && r.node_port == 0, "no node: at 0xA, no address");
	dloop_close(&l);
	osap_dev_wipe(&d);
	mem.no_node = false;

	/* Every status has its name; a reserved one a made-up one. */
	bool all = true;
	char buf[16];

#define CHECK_NAME(e, v, n, ds) \
	r.err = OSAP_DEV_E_REFUSED; \
	r.status = v; \
	if (strcmp(osap_dev_error_name(&r, buf, sizeof(buf)), n) != 0) \
		all = false;
	FOREACH_OSAP_STATUS(CHECK_NAME)
#undef CHECK_NAME
	ok(all, "names: every status maps to docs/osap.md's name");
	r.status = 0x2a;
	is_str(osap_dev_error_name(&r, buf, sizeof(buf)), "status_0x2a", "names: reserved");
	r.err = OSAP_DEV_E_TIMEOUT;
	is_str(osap_dev_error_name(&r, buf, sizeof(buf)), "timeout", "names: device side");
	is_int(osap_dev_err_class(OSAP_DEV_E_TIMEOUT), 3, "names: timeout is a network failure");
}

/* ---- canned answers ---- */

struct canned {
	uint8_t b[1024];
	size_t len, off;
	bool eof;    /* after the bytes: end of stream (else silence: -ETIMEDOUT) */
};

static int
canned_read(void *ctx, uint8_t *buf, size_t len, int timeout_ms)
{
	struct canned *c = ctx;

	(void)timeout_ms;
	if (c->off == c->len)
		return c->eof ? 0 : -ETIMEDOUT;
	if (len > c->len - c->off)
		len = c->len - c->off;
	memcpy(buf, c->b + c->off, len);
	c->off += len;
	return (int)len;
}

static int
canned_write(void *ctx, const uint8_t *buf, size_t len, int timeout_ms)
{
	(void)ctx, (void)buf, (void)len, (void)timeout_ms;
	return 0;
}

static void
test_canned(void)
{
	struct canned c = { 0 };
	struct osap_stream st = { &c, canned_read, canned_write, 1000 };
	struct osap_dev d;
	struct osap_dev_result r;
	int rc;

	/* docs/osap.md 14.7: ERROR rate_limited, retry after 30 s, "slow down". */
	dev_new(&d, "SN-A", "ABCDEF");
	c.len = unhex("c11106001e000c010100736c6f7720646f776e", c.b, sizeof(c.b));
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EPROTO, "ERROR: a refusal");
	ok(r.in_error && r.status == OSAP_ST_RATE_LIMITED && r.retry_after == 30,
	   "ERROR: code rate_limited, retry after 30");
	is_str(r.reason, "slow down", "ERROR: reason text");
	is_str(osap_dev_error_name(&r, NULL, 0), "rate_limited", "ERROR: named");
	osap_dev_wipe(&d);

	/*
	 * docs/osap.md 14.7's 0x2 ok is sealed under the share key of
	 * SN0123456789 / ABCDEF: a device with another code must not believe it.
	 */
	static const char *rsp2 =
		"21850100010200030101000202020202020202020202025b56512bed215efe05"
		"ab9a40623c574ed8ab74621c81a657c574f9d055c723cf26a04f84578f26c44a"
		"fae9f51aa7400e512ff307dcdb9fe6077631bd53e80043d9834ab094271357bb"
		"aecec877ab29bce09023937ce099f085e3d53b3a652723e170a1da762a2d144f"
		"dfe761379823b823";

	osap_dev_init(&d, "SN0123456789", "ABCDEG", OSAP_SHARE_KEY_ITER_DEFAULT);
	memset(&c, 0, sizeof(c));
	c.len = unhex(rsp2, c.b, sizeof(c.b));
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EBADMSG, "bad seal: refused by the device");
	is_str(osap_dev_error_name(&r, NULL, 0), "bad_seal", "bad seal: named");
	ok(!d.has_master, "bad seal: no master key");
	osap_dev_wipe(&d);

	/*
	 * With the right code the seal opens, and the LBS key of the vector
	 * gives a master key; the 0x7's answer is then missing: a timeout.
	 */
	osap_dev_init(&d, "SN0123456789", "ABCDEF", OSAP_SHARE_KEY_ITER_DEFAULT);
	c.off = 0;
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -EBADMSG, "choice not offered: the vector chose 02, the device offered 01");
	is_str(osap_dev_error_name(&r, NULL, 0), "bad_choice", "choice not offered: named");
	ok(!d.has_master, "choice not offered: no master key");
	d.proto_group = OSAP_PROTO_KNOWN;
	c.off = 0;
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -ETIMEDOUT, "silence after 0x7: timeout");
	ok(d.has_master && r.stage == OSAP_DEVID_REQ, "silence after 0x7: keyed, at 0x7");
	osap_dev_wipe(&d);

	/* An answer of the wrong type: the 0xB no_access_node vector to a 0x1. */
	dev_new(&d, "SN-A", "ABCDEF");
	memset(&c, 0, sizeof(c));
	c.len = unhex("b106080003010100", c.b, sizeof(c.b));
	osap_dev_result_init(&r);
	is_int(osap_dev_first_auth(&d, &st, &r), -EBADMSG, "wrong type: refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "unexpected_answer", "wrong type: named");

	/* Garbage: a remaining length that is not minimal. */
	memset(&c, 0, sizeof(c));
	c.len = unhex("2180000000", c.b, sizeof(c.b));
	osap_dev_result_init(&r);
	is_int(osap_dev_first_auth(&d, &st, &r), -EBADMSG, "garbage: refused");
	is_str(osap_dev_error_name(&r, NULL, 0), "malformed_answer", "garbage: named");
	osap_dev_wipe(&d);
}

static void
test_truncated(void)
{
	struct osap_dev d;
	struct osap_dev_result r;
	struct osap_stream st;
	struct dloop l = { 0 };
	uint64_t t0;
	int rc;

	/* Half of the 0x2, then silence. */
	lbs_reset(OSAP_PROTO_KNOWN);
	dev_new(&d, "SN-A", "ABCDEF");
	l.truncate = 60;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -ETIMEDOUT, "truncated: timeout");
	ok(r.err == OSAP_DEV_E_TIMEOUT && r.stage == OSAP_AUTH_ECDH_REQ,
	   "truncated: named timeout, at 0x1");
	is_int(l.delivered, 60, "truncated: the 60 octets were read");
	dloop_close(&l);

	/* Half of the inconsistent answer, then the LBS closes: closed mid-frame. */
	lbs_reset(OSAP_PROTO_SECURE);
	l.truncate = 5;
	dloop_open(&l, &be, &st);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -ECONNRESET, "closed mid-frame: an error");
	is_str(osap_dev_error_name(&r, NULL, 0), "connection_closed", "closed mid-frame: named");
	dloop_close(&l);
	l.truncate = 0;
	osap_dev_wipe(&d);

	/* A real socket: the peer sends 3 octets of a 0x2 and stays silent. */
	struct dnet_conn c = { 0 };
	int sv[2];
	uint8_t junk[512];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	if (write(sv[1], "\x21\x85\x01", 3) != 3)
		abort();
	c.fd = sv[0];
	dnet_stream(&c, 300, &st);
	dev_new(&d, "SN-A", "ABCDEF");
	osap_dev_result_init(&r);
	t0 = now_ms();
	rc = osap_dev_first_auth(&d, &st, &r);
	is_int(rc, -ETIMEDOUT, "socket: truncated frame times out");
	ok(now_ms() - t0 >= 250 && now_ms() - t0 < 3000,
	   "socket: after the 300 ms timeout, not a hang (%llu ms)",
	   (unsigned long long)(now_ms() - t0));
	ok(read(sv[1], junk, sizeof(junk)) == 139, "socket: the device had sent its 0x1 (139 octets)");

	/* The peer closes: end of stream before any answer. */
	close(sv[1]);
	osap_dev_result_init(&r);
	rc = osap_dev_first_auth(&d, &st, &r);
	ok(rc == -ECONNRESET || rc == -EIO, "socket: peer closed: an error, not a hang");
	ok(r.err == OSAP_DEV_E_CLOSED || r.err == OSAP_DEV_E_IO, "socket: named %s",
	   osap_dev_err_name(r.err));
	close(sv[0]);
	osap_dev_wipe(&d);
}

static void
test_addr_parse(void)
{
	struct dnet_addr a;

	ok(dnet_parse_addr("127.0.0.1:8443", &a) == 0 && strcmp(a.host, "127.0.0.1") == 0 &&
	   strcmp(a.port, "8443") == 0 && a.is_ip, "addr: IPv4:port");
	ok(dnet_parse_addr("[::1]:8443", &a) == 0 && strcmp(a.host, "::1") == 0 && a.is_ip,
	   "addr: [IPv6]:port");
	ok(dnet_parse_addr("lbs.example:1", &a) == 0 && !a.is_ip, "addr: name:port");
	ok(dnet_parse_addr("::1:8443", &a) < 0, "addr: IPv6 without brackets refused");
	ok(dnet_parse_addr("host", &a) < 0 && dnet_parse_addr("host:0", &a) < 0 &&
	   dnet_parse_addr("host:65536", &a) < 0 && dnet_parse_addr(":80", &a) < 0,
	   "addr: no port, port 0, port too big, no host refused");
}

int
main(void)
{
	test_first_auth();
	test_reauth();
	test_negotiation();
	test_refusals();
	test_canned();
	test_truncated();
	test_addr_parse();
	dmem_fini(&mem);
	return done_testing();
}
