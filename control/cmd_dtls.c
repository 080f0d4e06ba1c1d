/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DTLS commands (docs/control.md, docs/dtls.md): dtls.stats, dtls.sessions,
 * dtls.kick, psk.add, psk.remove, psk.list. PSK changes last until ternd
 * restarts (the configuration's `dtls.psk` is the table a start begins
 * with); keys are never shown.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "control/ctl.h"
#include "control/dtls/service.h"
#include "control/ternd.h"

static int
need_dtls(char *err, size_t errlen)
{
	if (dtls_svc_running())
		return 0;
	snprintf(err, errlen, "DTLS is not enabled on this instance (dtls.coap_port and "
		 "dtls.mqttsn_port are 0)");
	return -ENOTSUP;
}

static int
cmd_dtls_stats(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	struct dtls_svc_stats st;
	json_t *c;

	(void)req;
	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	dtls_svc_stats_get(&st);
	c = json_object();
	if (c == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < DTLS_C_MAX; i++)
		json_object_set_new(c, dtls_counter_name(i), json_integer((json_int_t)st.engine[i]));
	for (unsigned int i = 0; i < DSVC_C_MAX; i++)
		json_object_set_new(c, dsvc_counter_names[i], json_integer((json_int_t)st.svc[i]));
	*result = json_pack("{s:i, s:i, s:i, s:o}", "sessions", (int)st.sessions, "handshakes",
			    (int)st.handshakes, "psks", (int)st.psks, "counters", c);
	return *result != NULL ? 0 : -ENOMEM;
}

static void
sess_one(void *arg, const struct dtls_svc_sess_info *s)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I}",
			      "peer", s->peer, "local_port", s->local_port, "port",
			      s->port_name, "identity", s->identity, "cipher", s->cipher,
			      "state", s->open ? "open" : "handshake",
			      "age_s", (double)s->age_ms / 1000.0,
			      "idle_s", (double)s->idle_ms / 1000.0,
			      "rx_msgs", (json_int_t)s->rx_msgs, "rx_bytes",
			      (json_int_t)s->rx_bytes, "tx_msgs", (json_int_t)s->tx_msgs,
			      "tx_bytes", (json_int_t)s->tx_bytes);

	if (o != NULL)
		json_array_append_new(arg, o);
}

static int
cmd_dtls_sessions(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	json_t *a;

	(void)req;
	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	a = json_array();
	if (a == NULL)
		return -ENOMEM;
	dtls_svc_sessions(sess_one, a);
	*result = json_pack("{s:i, s:o}", "total", (int)json_array_size(a), "sessions", a);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_dtls_kick(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *peer = NULL, *identity = NULL;
	int n;

	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	if (ctl_arg_str(req, "peer", 0, &peer, err, errlen) == -EINVAL ||
	    ctl_arg_str(req, "identity", -1, &identity, err, errlen) == -EINVAL)
		return -EINVAL;
	if ((peer == NULL) == (identity == NULL)) {
		snprintf(err, errlen, "usage: dtls.kick ADDR:PORT | dtls.kick --identity ID");
		return -EINVAL;
	}
	n = dtls_svc_kick(peer, identity);
	if (n == 0) {
		snprintf(err, errlen, "no DTLS session %s %.128s", peer != NULL ? "with peer" :
			 "with identity", peer != NULL ? peer : identity);
		return -ENOENT;
	}
	*result = json_pack("{s:i}", "closed", n);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
hex_decode(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 != 0 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
			return -EINVAL;
		sscanf(s + i, "%2hhx", &out[i / 2]);
	}
	*len = n / 2;
	return 0;
}

static int
cmd_psk_add(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *id, *key;
	uint8_t k[DTLS_PSK_KEY_MAX];
	size_t klen;
	int hex = 0, rc;

	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	if (ctl_arg_str(req, "identity", 0, &id, err, errlen) < 0 ||
	    ctl_arg_str(req, "key", 1, &key, err, errlen) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "usage: psk.add IDENTITY KEY [--hex]");
		return -EINVAL;
	}
	if (ctl_arg_bool(req, "hex", &hex, err, errlen) == -EINVAL)
		return -EINVAL;
	if (strlen(id) == 0 || strlen(id) > DTLS_PSK_ID_MAX) {
		snprintf(err, errlen, "psk.add: the identity must be 1..%u octets", DTLS_PSK_ID_MAX);
		return -EINVAL;
	}
	if (hex) {
		if (hex_decode(key, k, sizeof(k), &klen) < 0) {
			snprintf(err, errlen, "psk.add --hex: the key must be 1..%u octets as an even "
				 "number of hexadecimal digits", DTLS_PSK_KEY_MAX);
			return -EINVAL;
		}
	} else {
		klen = strlen(key);
		if (klen == 0 || klen > sizeof(k)) {
			snprintf(err, errlen, "psk.add: the key must be 1..%u octets",
				 DTLS_PSK_KEY_MAX);
			return -EINVAL;
		}
		memcpy(k, key, klen);
	}
	rc = dtls_svc_psk_add(id, k, klen);
	OPENSSL_cleanse(k, sizeof(k));
	if (rc < 0) {
		snprintf(err, errlen, "psk.add: %s", strerror(-rc));
		return rc;
	}
	*result = json_pack("{s:s, s:i}", "identity", id, "key_octets", (int)klen);
	return *result != NULL ? 0 : -ENOMEM;
}

static int
cmd_psk_remove(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *id;
	int rc;

	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	if (ctl_arg_str(req, "identity", 0, &id, err, errlen) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "usage: psk.remove IDENTITY");
		return -EINVAL;
	}
	rc = dtls_svc_psk_remove(id);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "no PSK with identity %.128s", id);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "psk.remove: %s", strerror(-rc));
		return rc;
	}
	*result = json_pack("{s:s}", "removed", id);
	return *result != NULL ? 0 : -ENOMEM;
}

static void
psk_one(void *arg, const uint8_t *id, size_t len)
{
	json_array_append_new(arg, json_pack("{s:s%}", "identity", (const char *)id, len));
}

static int
cmd_psk_list(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	json_t *a;

	(void)req;
	if (need_dtls(err, errlen) < 0)
		return -ENOTSUP;
	a = json_array();
	if (a == NULL)
		return -ENOMEM;
	dtls_svc_psk_list(psk_one, a);
	*result = json_pack("{s:i, s:o}", "total", (int)json_array_size(a), "psks", a);
	return *result != NULL ? 0 : -ENOMEM;
}

static const struct ctl_cmd cmd_dtls_cmds[] = {
	{ "dtls.stats", cmd_dtls_stats, CTL_ACCESS_READ, "",
	  "DTLS sessions, handshakes, and every counter (cookies, drops by reason, limits)" },
	{ "dtls.sessions", cmd_dtls_sessions, CTL_ACCESS_READ, "",
	  "the DTLS sessions: peer, identity, cipher, state, age, messages each way" },
	{ "dtls.kick", cmd_dtls_kick, CTL_ACCESS_ADMIN, "ADDR:PORT | --identity ID",
	  "close DTLS sessions (close_notify) by peer, as dtls.sessions shows it, or by identity" },
	{ "psk.add", cmd_psk_add, CTL_ACCESS_ADMIN, "IDENTITY KEY [--hex]",
	  "add or replace a pre-shared key (KEY as text, or hexadecimal with --hex)" },
	{ "psk.remove", cmd_psk_remove, CTL_ACCESS_ADMIN, "IDENTITY",
	  "remove a pre-shared key (open sessions keep theirs)" },
	{ "psk.list", cmd_psk_list, CTL_ACCESS_READ, "",
	  "the PSK identities (never the keys)" },
};

void
cmd_dtls_register(void)
{
	ctl_register(cmd_dtls_cmds, sizeof(cmd_dtls_cmds) / sizeof(cmd_dtls_cmds[0]));
}
