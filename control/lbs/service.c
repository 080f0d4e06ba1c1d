/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LBS's listeners and connections (docs/osap.md section 1).
 *
 * Each accepted TCP connection gets a bufferevent (with OpenSSL under it
 * unless lbs.tls is false) and one state machine of session.h; the bytes
 * read go into lbs_sess_input() and what it appends is written back. This
 * file owns nothing of the protocol: only transport, limits and timers.
 *
 * Limits are checked at accept, before any TLS or protocol state exists:
 * lbs.max_connections open at once (a flood of half-open connections holds
 * at most that many sessions, each closed by the handshake deadline) and a
 * token bucket per source address (lbs.source_rate). The buckets live in a
 * fixed table indexed by a keyed hash of the address: two sources that
 * collide share a bucket, which can only make the limit stricter, and the
 * table never grows however many sources there are.
 *
 * One timer per connection follows lbs_sess_deadline(): the handshake
 * deadline covers the TLS handshake too, since the session starts at
 * accept.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <rte_jhash.h>
#include <rte_log.h>

#include "control/lbs/lbs.h"
#include "control/ternd.h"

#define LBS_MAX_LISTENERS       (2 * DP_MAX_PORTS + 16)
#define LBS_BUCKETS             4096        /* source-rate buckets; a power of 2 */
#define LBS_READ_CHUNK          2048

const char *const lbs_counter_names[LBS_C_MAX] = {
#define LBS_COUNTER_NAME(n, d) #n,
	FOREACH_LBS_COUNTER(LBS_COUNTER_NAME)
#undef LBS_COUNTER_NAME
};

const char *const lbs_counter_descs[LBS_C_MAX] = {
#define LBS_COUNTER_DESC(n, d) d,
	FOREACH_LBS_COUNTER(LBS_COUNTER_DESC)
#undef LBS_COUNTER_DESC
};

struct lbs_conn {
	struct lbs_conn *next, *prev;
	struct bufferevent *bev;
	struct event *timer;
	struct lbs_sess *sess;
	SSL *ssl;                   /* NULL on plain TCP */
	bool closing;               /* the last answer is being written */
	bool waiting;               /* an admission is pending */
	char peer[INET6_ADDRSTRLEN + 8];
};

struct lbs_bucket {
	uint64_t last_ms;
	uint32_t tokens_milli;      /* tokens x 1000 */
};

static struct {
	bool running;
	struct event_base *base;
	struct evconnlistener *listeners[LBS_MAX_LISTENERS];
	unsigned int nb_listeners;
	SSL_CTX *tls;
	struct lbs_conn *conns;
	struct lbs_sess_limits limits;
	uint32_t max_conns;
	uint32_t source_rate;
	uint32_t hash_key;
	struct lbs_bucket *buckets;
	struct lbs_stats st;
} svc;

void
lbs_count(enum lbs_counter c)
{
	svc.st.c[c]++;
}

bool
lbs_running(void)
{
	return svc.running;
}

void
lbs_stats_get(struct lbs_stats *out)
{
	*out = svc.st;
}

void
lbs_stats_reset(void)
{
	memset(svc.st.c, 0, sizeof(svc.st.c));
	memset(svc.st.closed, 0, sizeof(svc.st.closed));
	svc.st.peak = svc.st.open;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- per-source rate ---- */

static bool
source_allowed(const struct sockaddr *sa)
{
	const void *key;
	size_t len;
	struct lbs_bucket *b;
	uint64_t now = mono_ms(), cap;

	if (svc.source_rate == 0)
		return true;
	if (sa->sa_family == AF_INET6) {
		key = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		len = 16;
	} else {
		key = &((const struct sockaddr_in *)sa)->sin_addr;
		len = 4;
	}
	b = &svc.buckets[rte_jhash(key, (uint32_t)len, svc.hash_key) & (LBS_BUCKETS - 1)];
	cap = (uint64_t)svc.source_rate * 2 * 1000;
	if (b->last_ms == 0) {
		b->tokens_milli = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
	} else {
		uint64_t t = b->tokens_milli + (now - b->last_ms) * svc.source_rate;

		b->tokens_milli = (uint32_t)(t > cap ? cap : t);
	}
	b->last_ms = now;
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

/* ---- connections ---- */

static void
conn_free(struct lbs_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		svc.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	lbs_sess_free(c->sess);   /* cancels a pending admission */
	if (c->waiting)
		svc.st.admitting--;
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);   /* frees the SSL and closes the socket */
	svc.st.open--;
	free(c);
}

static void
conn_arm(struct lbs_conn *c)
{
	uint64_t now = mono_ms(), at = lbs_sess_deadline(c->sess);
	uint64_t d = at > now ? at - now : 0;
	struct timeval tv = { (time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* What the session said: write its output, and close or wait accordingly. */
static void
conn_apply(struct lbs_conn *c, int act, const struct lbs_sess_out *o)
{
	if (o->len > 0)
		bufferevent_write(c->bev, o->buf, o->len);
	if (act < 0 || act == LBS_SESS_CLOSE) {
		enum lbs_sess_reason r = act < 0 ? LBS_SESS_R_INTERNAL : o->reason;

		if (r != LBS_SESS_R_OK)
			svc.st.closed[r]++;
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		evtimer_del(c->timer);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			conn_free(c);
		return;   /* the write callback frees it once the answer is out */
	}
	if (act == LBS_SESS_WAIT && !c->waiting) {
		c->waiting = true;
		svc.st.admitting++;
		bufferevent_disable(c->bev, EV_READ);
	}
	conn_arm(c);
}

/* Feed what is buffered; false if the connection is gone or waiting. */
static void
conn_feed(struct lbs_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint8_t out[4 * LBS_SESS_RSP_MAX];

	for (;;) {
		size_t n = evbuffer_get_length(in);
		struct lbs_sess_out o = { .buf = out, .cap = sizeof(out) };
		enum lbs_sess_state before = lbs_sess_state(c->sess), after;
		uint8_t *p = NULL;
		int act;

		if (n > LBS_READ_CHUNK)
			n = LBS_READ_CHUNK;
		if (n > 0)
			p = evbuffer_pullup(in, (ssize_t)n);
		act = lbs_sess_input(c->sess, p, n, &o);
		if (act >= 0)
			evbuffer_drain(in, o.consumed);
		after = lbs_sess_state(c->sess);
		if (before == LBS_SESS_KEYED && after != LBS_SESS_KEYED &&
		    after != LBS_SESS_CLOSED)
			lbs_count(LBS_C_first_auth);
		else if (before == LBS_SESS_START &&
			 (after == LBS_SESS_SESSION || after == LBS_SESS_ADMITTING))
			lbs_count(LBS_C_reauth);
		conn_apply(c, act, &o);
		if (act != LBS_SESS_CONTINUE || n == 0 || o.consumed == 0)
			return;
		if (c->closing)
			return;
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_feed(arg);
}

static void
conn_write(struct bufferevent *bev, void *arg)
{
	struct lbs_conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct lbs_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->ssl != NULL && !SSL_is_init_finished(c->ssl)) {
			unsigned long e = bufferevent_get_openssl_error(bev);

			lbs_count(LBS_C_tls_failed);
			TERN_LOG(INFO, "lbs: %s: TLS handshake failed: %s", c->peer,
				 e != 0 ? ERR_reason_error_string(e) : "connection closed");
		} else if (!c->closing) {
			lbs_count(LBS_C_peer_closed);
		}
		conn_free(c);
	}
}

static void
conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lbs_conn *c = arg;
	uint8_t out[LBS_SESS_RSP_MAX];
	struct lbs_sess_out o = { .buf = out, .cap = sizeof(out) };
	int act;

	(void)fd;
	(void)what;
	act = lbs_sess_tick(c->sess, &o);
	if (act == LBS_SESS_CLOSE)
		TERN_LOG(INFO, "lbs: %s: %s", c->peer,
			 lbs_sess_reason_desc(lbs_sess_reason(c->sess)));
	conn_apply(c, act, &o);
}

void
lbs_conn_admitted(struct lbs_sess *s, bool ok)
{
	uint8_t out[4 * LBS_SESS_RSP_MAX];
	struct lbs_sess_out o = { .buf = out, .cap = sizeof(out) };
	struct lbs_conn *c;
	int act;

	for (c = svc.conns; c != NULL && c->sess != s; c = c->next)
		;
	if (c == NULL)
		return;
	c->waiting = false;
	svc.st.admitting--;
	act = lbs_sess_admitted(s, ok, &o);
	if (ok && act >= 0)
		lbs_count(LBS_C_addresses);
	conn_apply(c, act, &o);
	if (act == LBS_SESS_CONTINUE && !c->closing) {
		bufferevent_enable(c->bev, EV_READ);
		conn_feed(c);   /* anything the device sent meanwhile */
	}
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	  void *arg)
{
	struct lbs_conn *c;
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port;

	(void)l;
	(void)salen;
	(void)arg;
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	}
	if (svc.st.open >= svc.max_conns) {
		lbs_count(LBS_C_refused_busy);
		close(fd);
		return;
	}
	if (!source_allowed(sa)) {
		lbs_count(LBS_C_refused_rate);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	snprintf(c->peer, sizeof(c->peer), sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 host, port);
	c->sess = lbs_sess_new(lbs_backend_get(), &svc.limits);
	c->timer = evtimer_new(svc.base, conn_timer, c);
	if (svc.tls != NULL) {
		c->ssl = SSL_new(svc.tls);
		if (c->ssl != NULL)
			c->bev = bufferevent_openssl_socket_new(svc.base, fd, c->ssl,
								BUFFEREVENT_SSL_ACCEPTING,
								BEV_OPT_CLOSE_ON_FREE);
	} else {
		c->bev = bufferevent_socket_new(svc.base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	svc.st.open++;
	if (svc.st.open > svc.st.peak)
		svc.st.peak = svc.st.open;
	c->next = svc.conns;
	if (svc.conns != NULL)
		svc.conns->prev = c;
	svc.conns = c;
	if (c->sess == NULL || c->timer == NULL || c->bev == NULL) {
		if (c->bev == NULL) {
			if (c->ssl != NULL)
				SSL_free(c->ssl);
			close(fd);
		}
		TERN_LOG(ERR, "lbs: %s: out of memory", c->peer);
		conn_free(c);
		return;
	}
	lbs_count(LBS_C_accepted);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm(c);
}

/* ---- listeners ---- */

static int
listen_on(bool v6, const uint8_t *addr, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[INET6_ADDRSTRLEN];
	struct evconnlistener *l;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, addr, 16);
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, addr, 4);
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	}
	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, host, sizeof(host));
	if (svc.nb_listeners == LBS_MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners");
		return -ENOSPC;
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the router's address appears on the exception interface a moment later */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 512) < 0)
		goto fail;
	l = evconnlistener_new(svc.base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (l == NULL) {
		close(fd);
		snprintf(err, errlen, "%s port %u: out of memory", host, port);
		return -ENOMEM;
	}
	svc.listeners[svc.nb_listeners++] = l;
	TERN_LOG(INFO, "lbs: listening on %s%s%s:%u (%s)", v6 ? "[" : "", host, v6 ? "]" : "",
		 port, svc.tls != NULL ? "TLS" : "plain TCP");
	return 0;
fail:
	{
		int e = errno;

		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s port %u: %s", host, port, strerror(e));
		return -e;
	}
}

/* Mozilla's "intermediate" configuration (TLS 1.2 and 1.3). */
static const char tls12_ciphers[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

SSL_CTX *
lbs_tls_ctx(bool server, const char *cert, const char *key, const char *ca, char *err,
	    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	const char *what = "the TLS context";

	if (ctx == NULL)
		goto fail;
	what = "the TLS policy";
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, tls12_ciphers) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384"))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (cert != NULL) {
		what = cert;
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
			goto fail;
		what = key;
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)
			goto fail;
	}
	if (ca != NULL) {
		what = ca;
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	{
		unsigned long e = ERR_get_error();

		snprintf(err, errlen, "%s: %s", what,
			 e != 0 ? ERR_reason_error_string(e) : "out of memory");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
}

int
lbs_start(struct event_base *base, const struct tern_config *cfg, struct lbs_reg *reg,
	  char *err, size_t errlen)
{
	const struct tern_lbs *l = &cfg->lbs;
	char msg[384];
	int rc;

	if (!l->enabled)
		return 0;
	memset(&svc, 0, sizeof(svc));
	svc.base = base;
	svc.max_conns = l->max_connections;
	svc.source_rate = l->source_rate;
	svc.limits.handshake_ms = l->handshake_timeout * 1000;
	svc.limits.idle_ms = l->idle_timeout * 1000;
	if (RAND_bytes((unsigned char *)&svc.hash_key, sizeof(svc.hash_key)) != 1)
		svc.hash_key = (uint32_t)mono_ms();
	svc.buckets = calloc(LBS_BUCKETS, sizeof(*svc.buckets));
	if (svc.buckets == NULL) {
		snprintf(err, errlen, "lbs: out of memory");
		return -ENOMEM;
	}
	if (l->tls) {
		svc.tls = lbs_tls_ctx(true, l->cert, l->key, NULL, msg, sizeof(msg));
		if (svc.tls == NULL) {
			snprintf(err, errlen, "lbs.cert/lbs.key: %s", msg);
			rc = -EINVAL;
			goto fail;
		}
	}
	rc = lbs_backend_init(base, cfg, reg, err, errlen);
	if (rc < 0)
		goto fail;
	svc.running = true;
	for (unsigned int i = 0; l->port != 0 && i < cfg->nb_ports; i++) {
		const struct dp_port_params *p = &cfg->ports[i];

		if (!p->exception) {
			TERN_LOG(WARNING, "lbs: port %s has no exception interface: no LBS there",
				 p->name);
			continue;
		}
		if (p->has_ip4 && (rc = listen_on(false, p->ip4, l->port, msg, sizeof(msg))) < 0)
			goto fail_listen;
		if (p->has_ip6 && (rc = listen_on(true, p->ip6, l->port, msg, sizeof(msg))) < 0)
			goto fail_listen;
	}
	for (unsigned int i = 0; i < l->nb_listen; i++) {
		rc = listen_on(l->listen[i].v6, l->listen[i].addr, l->listen[i].port, msg,
			       sizeof(msg));
		if (rc < 0) {
			snprintf(err, errlen, "lbs.listen[%u]: %s", i, msg);
			lbs_stop();
			return rc;
		}
	}
	return 0;
fail_listen:
	snprintf(err, errlen, "lbs.port: %s", msg);
	lbs_stop();
	return rc;
fail:
	lbs_stop();
	return rc;
}

void
lbs_stop(void)
{
	while (svc.conns != NULL)
		conn_free(svc.conns);
	for (unsigned int i = 0; i < svc.nb_listeners; i++)
		evconnlistener_free(svc.listeners[i]);
	svc.nb_listeners = 0;
	if (svc.running)
		lbs_backend_fini();
	SSL_CTX_free(svc.tls);
	svc.tls = NULL;
	free(svc.buckets);
	svc.buckets = NULL;
	svc.running = false;
}
