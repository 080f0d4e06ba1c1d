/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DTLS as ternd runs it: see service.h and docs/dtls.md.
 *
 * Each tick (1 ms, the control plane's) takes what the workers queued:
 * datagrams from peers (records) and messages the nodes sent to peers
 * (plaintext), at most TICK_BUDGET of each so the control socket and the
 * LBS keep their turn. The sessions' deadlines (handshake, idle, OpenSSL's
 * retransmission) are checked by a sweep that goes round all of them every
 * SWEEP_MS, a slice per tick, so a million sessions cost each tick a
 * hundredth of them rather than one long pause; the cookie secret is
 * rotated on the way. A peer is (router port, address, UDP port, our DTLS port): the
 * same octets key the session table and bind the cookie.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <openssl/err.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "control/config.h"
#include "control/dtls/service.h"
#include "control/ternd.h"
#include "dataplane/dp.h"

#define TICK_BUDGET 2048
#define SWEEP_MS 100         /* a deadline is seen at most this late */
#define DGRAM_MAX 2048
#define OUT_CAP (4 * 1500)

const char *const dsvc_counter_names[DSVC_C_MAX] = {
#define DSVC_NAME(e, n, d) n,
	FOREACH_DSVC_COUNTER(DSVC_NAME)
#undef DSVC_NAME
};

const char *const dsvc_counter_descs[DSVC_C_MAX] = {
#define DSVC_DESC(e, n, d) d,
	FOREACH_DSVC_COUNTER(DSVC_DESC)
#undef DSVC_DESC
};

/* The table's key: the peer as the data plane sees it; also the cookie's binding. */
struct peer_key {
	uint8_t addr[16];
	uint16_t port;
	uint16_t lport;
	uint8_t v6;
	uint8_t pidx;
	uint8_t rsvd[2];
};

struct svc_sess {
	TAILQ_ENTRY(svc_sess) link;
	struct dtls_sess *s;
	struct peer_key key;
	struct dp_dgram to;            /* where its datagrams go (MAC and VLAN of the last) */
	uint64_t created_ms;
	uint64_t last_rx_ms;
	uint64_t rx_msgs, rx_bytes, tx_msgs, tx_bytes;
};

TAILQ_HEAD(sess_list, svc_sess);

static struct {
	bool running;
	struct dtls_engine *e;
	struct rte_hash *by_peer;
	struct sess_list all;
	struct svc_sess *cursor;         /* the sweep's next session; NULL: start again */
	uint64_t last_sweep;             /* when the sweep last went past the end */
	uint64_t c[DSVC_C_MAX];
	uint64_t base_engine[DTLS_C_MAX];   /* stats --reset: subtracted on read */
	uint64_t base_svc[DSVC_C_MAX];
	uint8_t buf[DGRAM_MAX];
	uint8_t out_buf[OUT_CAP];
	uint8_t app_buf[DGRAM_MAX];
} svc;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
key_of(const struct dp_dgram *d, struct peer_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, d->peer.addr, 16);
	k->port = d->peer.port;
	k->lport = d->peer.lport;
	k->v6 = d->peer.v6;
	k->pidx = (uint8_t)d->pidx;
}

static struct svc_sess *
find(const struct peer_key *k)
{
	void *data;

	return rte_hash_lookup_data(svc.by_peer, k, &data) >= 0 ? data : NULL;
}

static void
sess_free(struct svc_sess *ss)
{
	if (svc.cursor == ss)
		svc.cursor = TAILQ_NEXT(ss, link);
	rte_hash_del_key(svc.by_peer, &ss->key);
	TAILQ_REMOVE(&svc.all, ss, link);
	dtls_sess_free(ss->s);
	free(ss);
}

/* Send what a call wrote; hand decrypted messages to the node. */
static void
deliver(struct svc_sess *ss, struct dtls_out *o)
{
	size_t off = 0;

	for (unsigned int i = 0; i < o->n_dgram; i++) {
		if (dp_dtls_send(&ss->to, o->buf + off, o->dgram_len[i]) < 0)
			svc.c[DSVC_C_SEND_FAILED]++;
		off += o->dgram_len[i];
	}
	off = 0;
	for (unsigned int i = 0; i < o->n_msg; i++) {
		ss->rx_msgs++;
		ss->rx_bytes += o->msg_len[i];
		if (dp_dtls_inject(&ss->to, o->identity, o->app + off, o->msg_len[i]) < 0)
			svc.c[DSVC_C_INJECT_FAILED]++;
		off += o->msg_len[i];
	}
}

static struct dtls_out
out_init(void)
{
	return DTLS_OUT_INIT(svc.out_buf, sizeof(svc.out_buf), svc.app_buf, sizeof(svc.app_buf));
}

/* A session whose handshake just finished: can the nodes keep its identity? */
static bool
identity_ok(struct svc_sess *ss, struct dtls_out *o)
{
	if (strlen(dtls_sess_identity(ss->s)) <= DP_DTLS_IDENTITY_MAX)
		return true;
	svc.c[DSVC_C_IDENTITY_TOO_LONG]++;
	o->n_msg = 0;
	dtls_sess_close(ss->s, o);
	return false;
}

/* A record (or several) from a peer. */
static void
from_peer(const struct dp_dgram *d, const uint8_t *data, size_t len, uint64_t now)
{
	struct peer_key k;
	struct svc_sess *ss, *old;
	struct dtls_sess *s = NULL;
	struct dtls_out o = out_init();
	int rc;

	key_of(d, &k);
	ss = find(&k);
	/*
	 * An open session gets a ClientHello (content type 22, epoch 0,
	 * handshake type 1; a retransmitted last flight has no ClientHello): the
	 * client started again from the same address and port (RFC 6347
	 * 4.2.8). Only a ClientHello with a good cookie replaces the session.
	 */
	if (ss != NULL && len >= 14 && data[0] == 22 && data[3] == 0 && data[4] == 0 &&
	    data[13] == 1 && dtls_sess_open(ss->s)) {
		old = ss;
		ss = NULL;
	} else {
		old = NULL;
	}
	if (ss != NULL) {
		ss->to = *d;
		ss->last_rx_ms = now;
		rc = dtls_sess_input(ss->s, data, len, now, &o);
		if (rc == DTLS_CONTINUE && o.n_msg > 0 && !identity_ok(ss, &o))
			rc = DTLS_CLOSE;
		deliver(ss, &o);
		if (rc == DTLS_CLOSE)
			sess_free(ss);
		return;
	}
	rc = dtls_engine_accept(svc.e, (const uint8_t *)&k, sizeof(k), data, len, now, &o, &s);
	if (rc == DTLS_ACCEPT_HVR) {
		struct svc_sess tmp = { .to = *d };

		deliver(&tmp, &o);
		return;
	}
	if (rc != DTLS_ACCEPT_NEW)
		return;
	if (old != NULL) {
		svc.c[DSVC_C_REPLACED]++;
		sess_free(old);
	}
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL || rte_hash_add_key_data(svc.by_peer, &k, ss) < 0) {
		svc.c[DSVC_C_SESS_TABLE_FULL]++;
		free(ss);
		dtls_sess_free(s);
		return;
	}
	ss->s = s;
	ss->key = k;
	ss->to = *d;
	ss->created_ms = now;
	ss->last_rx_ms = now;
	TAILQ_INSERT_TAIL(&svc.all, ss, link);
	deliver(ss, &o);
	if (dtls_sess_reason(s) != DTLS_SESS_R_OK)
		sess_free(ss);
}

/* A message a node sent to a DTLS peer. */
static void
to_peer(const struct dp_dgram *d, const uint8_t *data, size_t len)
{
	struct peer_key k;
	struct svc_sess *ss;
	struct dtls_out o = out_init();
	int rc;

	key_of(d, &k);
	ss = find(&k);
	if (ss == NULL || !dtls_sess_open(ss->s)) {
		svc.c[DSVC_C_OUT_NO_SESSION]++;
		return;
	}
	rc = dtls_sess_send(ss->s, data, len, &o);
	if (rc < 0) {
		svc.c[DSVC_C_OUT_FAILED]++;
		return;
	}
	ss->tx_msgs++;
	ss->tx_bytes += len;
	deliver(ss, &o);
}

/*
 * One tick's slice of the sweep: enough sessions that the whole list is
 * done in about SWEEP_MS ticks (at least 16 a tick), and the list once
 * more from the top only after SWEEP_MS.
 */
static void
sweep(uint64_t now)
{
	uint32_t n = dtls_engine_sessions(svc.e);
	uint32_t budget = n / SWEEP_MS + 16;
	struct svc_sess *ss;

	if (svc.cursor == NULL) {
		if (now - svc.last_sweep < SWEEP_MS)
			return;
		svc.last_sweep = now;
		dtls_engine_tick(svc.e, now);
		svc.cursor = TAILQ_FIRST(&svc.all);
	}
	while ((ss = svc.cursor) != NULL && budget-- > 0) {
		struct dtls_out o = out_init();

		svc.cursor = TAILQ_NEXT(ss, link);
		if (now < dtls_sess_deadline(ss->s))
			continue;
		if (dtls_sess_tick(ss->s, now, &o) == DTLS_CLOSE) {
			deliver(ss, &o);
			sess_free(ss);
		} else {
			deliver(ss, &o);
		}
	}
}

void
dtls_svc_poll(void)
{
	struct dp_dgram d;
	uint64_t now;
	int rc;

	if (!svc.running)
		return;
	now = now_ms();
	for (unsigned int i = 0; i < TICK_BUDGET; i++) {
		rc = dp_dtls_recv(&d, svc.buf, sizeof(svc.buf));
		if (rc == 0)
			break;
		if (rc < 0)
			svc.c[DSVC_C_RX_BAD]++;
		else
			from_peer(&d, svc.buf, d.len, now);
	}
	for (unsigned int i = 0; i < TICK_BUDGET; i++) {
		rc = dp_dtls_next_out(&d, svc.buf, sizeof(svc.buf));
		if (rc == 0)
			break;
		if (rc < 0)
			svc.c[DSVC_C_OUT_FAILED]++;
		else
			to_peer(&d, svc.buf, d.len);
	}
	sweep(now);
}

int
dtls_svc_start(const struct tern_config *cfg, char *err, size_t errlen)
{
	const struct tern_dtls *c = &cfg->dtls;
	struct dp_dtls_params dp_p = { .coap_port = c->coap_port, .mqttsn_port = c->mqttsn_port };
	struct dtls_conf conf = {
		.cert_file = c->cert,
		.key_file = c->key,
		.ca_file = c->ca,
		.verify_client = (enum dtls_verify)c->verify_client,
		.max_sessions = c->max_sessions,
		.max_handshakes = c->max_handshakes,
		.handshake_ms = c->handshake_timeout * 1000,
		.idle_ms = c->idle_timeout * 1000,
		.cookie_rotate_ms = c->cookie_rotate * 1000,
		.mtu = c->mtu,
	};
	struct rte_hash_parameters hp = {
		.name = "tern_dtls_peers",
		.entries = c->max_sessions < 64 ? 128 : c->max_sessions * 2,
		.key_len = sizeof(struct peer_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
	};
	unsigned long e;
	int rc;

	if (c->coap_port == 0 && c->mqttsn_port == 0)
		return 0;
	TAILQ_INIT(&svc.all);
	svc.e = dtls_engine_new(&conf, now_ms());
	if (svc.e == NULL) {
		e = ERR_peek_last_error();
		snprintf(err, errlen, "dtls: cannot set up the engine%s%s: %s",
			 c->cert != NULL ? " with " : "", c->cert != NULL ? c->cert : "",
			 e != 0 ? ERR_reason_error_string(e) : "no memory");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < c->nb_psk; i++) {
		rc = dtls_psk_add(svc.e, (const uint8_t *)c->psk[i].identity,
				  strlen(c->psk[i].identity), c->psk[i].key, c->psk[i].key_len);
		if (rc < 0) {
			snprintf(err, errlen, "dtls.psk[%u]: %s", i, strerror(-rc));
			dtls_svc_stop();
			return rc;
		}
	}
	svc.by_peer = rte_hash_create(&hp);
	if (svc.by_peer == NULL) {
		snprintf(err, errlen, "dtls: cannot create the peer table (%u entries)",
			 hp.entries);
		dtls_svc_stop();
		return -ENOMEM;
	}
	rc = dp_dtls_setup(&dp_p, err, errlen);
	if (rc < 0) {
		dtls_svc_stop();
		return rc;
	}
	svc.running = true;
	TERN_LOG(NOTICE, "dtls: coaps on %u, MQTT-SN over DTLS on %u, %u PSK(s)%s%s",
		 c->coap_port, c->mqttsn_port, c->nb_psk, c->cert ? ", certificate " : "",
		 c->cert ? c->cert : "");
	return 0;
}

void
dtls_svc_stop(void)
{
	struct svc_sess *ss;

	while ((ss = TAILQ_FIRST(&svc.all)) != NULL && svc.e != NULL) {
		struct dtls_out o = out_init();

		dtls_sess_close(ss->s, &o);
		if (svc.running)
			deliver(ss, &o);
		sess_free(ss);
	}
	rte_hash_free(svc.by_peer);
	svc.by_peer = NULL;
	dtls_engine_free(svc.e);
	svc.e = NULL;
	svc.running = false;
}

bool
dtls_svc_running(void)
{
	return svc.running;
}

void
dtls_svc_stats_get(struct dtls_svc_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!svc.running)
		return;
	for (unsigned int i = 0; i < DTLS_C_MAX; i++)
		out->engine[i] = dtls_counter(svc.e, i) - svc.base_engine[i];
	for (unsigned int i = 0; i < DSVC_C_MAX; i++)
		out->svc[i] = svc.c[i] - svc.base_svc[i];
	out->sessions = dtls_engine_sessions(svc.e);
	out->handshakes = dtls_engine_handshakes(svc.e);
	out->psks = (uint32_t)dtls_psk_list(svc.e, NULL, NULL);
}

void
dtls_svc_stats_reset(void)
{
	if (!svc.running)
		return;
	for (unsigned int i = 0; i < DTLS_C_MAX; i++)
		svc.base_engine[i] = dtls_counter(svc.e, i);
	memcpy(svc.base_svc, svc.c, sizeof(svc.c));
}

static void
peer_str(const struct peer_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(k->v6 ? AF_INET6 : AF_INET, k->addr, a, sizeof(a));
	snprintf(buf, len, k->v6 ? "[%s]:%u" : "%s:%u", a, k->port);
}

unsigned int
dtls_svc_sessions(void (*fn)(void *arg, const struct dtls_svc_sess_info *s), void *arg)
{
	uint64_t now = now_ms();
	struct svc_sess *ss;
	unsigned int n = 0;

	if (!svc.running)
		return 0;
	TAILQ_FOREACH(ss, &svc.all, link) {
		struct dtls_svc_sess_info i = {
			.local_port = ss->key.lport,
			.identity = dtls_sess_identity(ss->s),
			.cipher = dtls_sess_cipher(ss->s),
			.open = dtls_sess_open(ss->s),
			.age_ms = now - ss->created_ms,
			.idle_ms = now - ss->last_rx_ms,
			.rx_msgs = ss->rx_msgs, .rx_bytes = ss->rx_bytes,
			.tx_msgs = ss->tx_msgs, .tx_bytes = ss->tx_bytes,
		};
		struct dp_port_info pi;

		peer_str(&ss->key, i.peer, sizeof(i.peer));
		i.port_name = dp_port_info(ss->key.pidx, &pi) == 0 ? pi.name : "?";
		fn(arg, &i);
		n++;
	}
	return n;
}

int
dtls_svc_kick(const char *peer, const char *identity)
{
	struct svc_sess *ss, *next;
	char want[64] = "", have[64];
	int n = 0;

	if (!svc.running)
		return 0;
	if (peer != NULL)
		snprintf(want, sizeof(want), "%s", peer);
	for (ss = TAILQ_FIRST(&svc.all); ss != NULL; ss = next) {
		struct dtls_out o = out_init();

		next = TAILQ_NEXT(ss, link);
		peer_str(&ss->key, have, sizeof(have));
		if (!((peer != NULL && strcmp(have, want) == 0) ||
		      (identity != NULL && strcmp(dtls_sess_identity(ss->s), identity) == 0)))
			continue;
		dtls_sess_close(ss->s, &o);
		deliver(ss, &o);
		sess_free(ss);
		svc.c[DSVC_C_KICKED]++;
		n++;
	}
	return n;
}

int
dtls_svc_psk_add(const char *identity, const uint8_t *key, size_t key_len)
{
	if (!svc.running)
		return -ENOTCONN;
	return dtls_psk_add(svc.e, (const uint8_t *)identity, strlen(identity), key, key_len);
}

int
dtls_svc_psk_remove(const char *identity)
{
	if (!svc.running)
		return -ENOTCONN;
	return dtls_psk_remove(svc.e, (const uint8_t *)identity, strlen(identity));
}

size_t
dtls_svc_psk_list(void (*fn)(void *arg, const uint8_t *id, size_t id_len), void *arg)
{
	if (!svc.running)
		return 0;
	return dtls_psk_list(svc.e, fn, arg);
}
