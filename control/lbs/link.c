/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node link (docs/osap.md, "Node link"): TLS between tern instances,
 * both sides presenting a certificate that chains to node_link.ca. The LBS
 * is the client: one connection per node, reopened when lost. Requests and
 * answers are JSON objects, one per line:
 *
 *   LBS -> node  {"op":"admit","seq":7,"devid":"..","key":"<32 hex>","connect":300,"lifetime":86400}
 *                {"op":"revoke","seq":8,"devid":".."}
 *                {"op":"load","seq":9}
 *   node -> LBS  {"seq":7,"ok":true}   {"seq":7,"ok":false,"error":"..."}
 *                {"seq":9,"ok":true,"sessions":12,"osap_sessions":3,"msg_rate":40}
 *
 * Health: the LBS asks every node_link.interval seconds for the load; a
 * node that answered nothing for node_link.timeout seconds (or whose
 * connection is lost) is down in the pool until it answers again, and the
 * admissions waiting on it fail (the devices get no_access_node and
 * authenticate again, landing elsewhere). The peer is trusted as far as
 * its certificate chains to the CA: the CA should issue node-link
 * certificates only, since the host name is not checked.
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
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <rte_log.h>

#include "control/lbs/lbs.h"
#include "control/ternd.h"
#include "proto/errcode.h"
#include "dataplane/dp.h"
#include "proto/osap.h"

#define LINK_LINE_MAX     4096      /* longest request or answer */
#define LINK_MAX_NODES    1024

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };

static const char *const link_state_names[] = {
	[LINK_DOWN] = "down", [LINK_CONNECTING] = "connecting", [LINK_UP] = "up",
};

struct link_pending {
	struct link_pending *next;
	uint64_t seq;
	uint64_t sent_ms;
	struct lbs_sess *sess;
};

/* The LBS's side of one node. */
struct link_node {
	char name[LBS_NODE_NAME_MAX + 1];
	struct tern_endpoint ep;
	struct bufferevent *bev;
	enum link_state state;
	bool healthy;               /* what the pool was last told */
	uint64_t seq;
	uint64_t last_answer_ms;
	uint64_t connect_ms;
	struct link_pending *pending;
};

/* One connection the node side accepted from an LBS. */
struct link_peer {
	struct link_peer *next, *prev;
	struct bufferevent *bev;
	char addr[INET6_ADDRSTRLEN + 8];
	uint64_t last_publishes;
	uint64_t last_ms;
};

static struct {
	struct event_base *base;
	SSL_CTX *client;
	SSL_CTX *server;
	struct evconnlistener *listener;
	struct link_peer *peers;
	struct link_node *nodes[LINK_MAX_NODES];
	unsigned int nb_nodes;
	struct event *tick;
	uint32_t interval_ms;
	uint32_t timeout_ms;
} lk;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
send_json(struct bufferevent *bev, json_t *o)
{
	char *s;

	if (o == NULL)
		return;
	s = json_dumps(o, JSON_COMPACT);
	if (s != NULL) {
		bufferevent_write(bev, s, strlen(s));
		bufferevent_write(bev, "\n", 1);
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
	json_decref(o);
}

/* Read whole lines; false when the peer sent a line over LINK_LINE_MAX. */
static bool
each_line(struct bufferevent *bev, void (*fn)(void *arg, json_t *msg), void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		json_t *m = n <= LINK_LINE_MAX ? json_loadb(line, n, 0, NULL) : NULL;

		OPENSSL_cleanse(line, n);
		free(line);
		if (m == NULL || !json_is_object(m)) {
			json_decref(m);
			return false;
		}
		fn(arg, m);
		json_decref(m);
	}
	return evbuffer_get_length(in) <= LINK_LINE_MAX;
}

/* ------------------------------------------------------------------------ */
/* Node side: admissions from an LBS */

static void
peer_free(struct link_peer *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		lk.peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	bufferevent_free(p->bev);
	free(p);
}

static int
hex_key(const char *s, uint8_t key[OSAP_KEY_LEN])
{
	if (s == NULL || strlen(s) != 2 * OSAP_KEY_LEN)
		return -EINVAL;
	for (unsigned int i = 0; i < OSAP_KEY_LEN; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		key[i] = (uint8_t)v;
	}
	return 0;
}

static void
peer_request(void *arg, json_t *m)
{
	struct link_peer *p = arg;
	json_t *seq = json_object_get(m, "seq");
	const char *op = json_string_value(json_object_get(m, "op"));
	const char *devid = json_string_value(json_object_get(m, "devid"));
	char err[256] = "";
	int rc = -EINVAL;

	if (op != NULL && strcmp(op, "admit") == 0 && devid != NULL) {
		uint8_t key[OSAP_KEY_LEN];
		json_int_t conn = json_integer_value(json_object_get(m, "connect"));
		json_int_t life = json_integer_value(json_object_get(m, "lifetime"));

		if (hex_key(json_string_value(json_object_get(m, "key")), key) < 0 || conn <= 0 ||
		    life <= 0 || conn > UINT32_MAX || life > UINT32_MAX) {
			snprintf(err, sizeof(err), "bad admit request");
		} else {
			rc = dp_osap_admit((const uint8_t *)devid, strlen(devid), key,
					   (uint32_t)conn, (uint32_t)life, err, sizeof(err));
			if (rc == 0)
				TERN_LOG(INFO, "node link: %s admitted %.64s", p->addr, devid);
		}
		OPENSSL_cleanse(key, sizeof(key));
	} else if (op != NULL && strcmp(op, "revoke") == 0 && devid != NULL) {
		rc = dp_osap_revoke((const uint8_t *)devid, strlen(devid));
		if (rc == -ENOENT)
			rc = 0;
		if (rc < 0)
			snprintf(err, sizeof(err), "%s", tern_strerror(rc));
	} else if (op != NULL && strcmp(op, "load") == 0) {
		struct dp_mqttsn_load ld;
		uint64_t now = now_ms(), rate = 0;

		rc = dp_mqttsn_load(&ld);
		if (rc == 0) {
			if (p->last_ms != 0 && now > p->last_ms)
				rate = (ld.publish_rx - p->last_publishes) * 1000 / (now - p->last_ms);
			p->last_publishes = ld.publish_rx;
			p->last_ms = now;
			send_json(p->bev, json_pack("{s:O, s:b, s:I, s:I, s:I}", "seq", seq, "ok", 1,
						    "sessions", (json_int_t)ld.sessions,
						    "osap_sessions", (json_int_t)ld.osap_sessions,
						    "msg_rate", (json_int_t)rate));
			return;
		}
		snprintf(err, sizeof(err), "%s", tern_strerror(rc));
	} else {
		snprintf(err, sizeof(err), "unknown request");
	}
	if (rc == 0)
		send_json(p->bev, json_pack("{s:O, s:b}", "seq", seq, "ok", 1));
	else
		send_json(p->bev, json_pack("{s:O, s:b, s:s}", "seq", seq, "ok", 0, "error", err));
}

static void
peer_read(struct bufferevent *bev, void *arg)
{
	struct link_peer *p = arg;

	if (!each_line(bev, peer_request, p)) {
		TERN_LOG(WARNING, "node link: %s sent a malformed request: closed", p->addr);
		peer_free(p);
	}
}

static void
peer_event(struct bufferevent *bev, short what, void *arg)
{
	struct link_peer *p = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(bev);

	if (what & BEV_EVENT_CONNECTED) {
		TERN_LOG(INFO, "node link: LBS %s connected", p->addr);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (ssl != NULL && !SSL_is_init_finished(ssl)) {
			unsigned long e = bufferevent_get_openssl_error(bev);

			TERN_LOG(WARNING, "node link: %s: TLS handshake failed: %s", p->addr,
				 e != 0 ? ERR_reason_error_string(e) : "connection closed");
		}
		peer_free(p);
	}
}

static void
link_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	    void *arg)
{
	struct link_peer *p = calloc(1, sizeof(*p));
	char host[INET6_ADDRSTRLEN] = "?";
	SSL *ssl;

	(void)l;
	(void)salen;
	(void)arg;
	ssl = p != NULL ? SSL_new(lk.server) : NULL;
	if (p != NULL && ssl != NULL)
		p->bev = bufferevent_openssl_socket_new(lk.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							BEV_OPT_CLOSE_ON_FREE);
	if (p == NULL || p->bev == NULL) {
		if (ssl != NULL)
			SSL_free(ssl);
		free(p);
		close(fd);
		return;
	}
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	snprintf(p->addr, sizeof(p->addr), "%s", host);
	p->next = lk.peers;
	if (lk.peers != NULL)
		lk.peers->prev = p;
	lk.peers = p;
	bufferevent_setcb(p->bev, peer_read, NULL, peer_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------------------ */
/* LBS side: one client connection per node */

static struct link_node *
node_find(const char *name)
{
	for (unsigned int i = 0; i < lk.nb_nodes; i++)
		if (strcmp(lk.nodes[i]->name, name) == 0)
			return lk.nodes[i];
	return NULL;
}

static void
set_health(struct link_node *n, bool up)
{
	struct lbs_pool *pool = lbs_pool_get();

	if (n->healthy == up)
		return;
	n->healthy = up;
	if (pool != NULL)
		(void)lbs_pool_health(pool, n->name, up);
	if (up)
		TERN_LOG(NOTICE, "node link: node %s is up", n->name);
	else
		TERN_LOG(WARNING, "node link: node %s is down", n->name);
}

/* Fail every admission waiting on @p n (or only those older than @p before). */
static void
fail_pending(struct link_node *n, uint64_t before)
{
	struct link_pending **pp = &n->pending;

	while (*pp != NULL) {
		struct link_pending *q = *pp;

		if (before != 0 && q->sent_ms >= before) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		lbs_count(LBS_C_admit_failed);
		lbs_conn_admitted(q->sess, false);
		free(q);
	}
}

static void
node_close(struct link_node *n, const char *why)
{
	if (n->bev != NULL) {
		bufferevent_free(n->bev);
		n->bev = NULL;
	}
	if (n->state != LINK_DOWN && why != NULL)
		TERN_LOG(WARNING, "node link: node %s: %s", n->name, why);
	n->state = LINK_DOWN;
	set_health(n, false);
	fail_pending(n, 0);
}

static void
node_answer(void *arg, json_t *m)
{
	struct link_node *n = arg;
	json_int_t seq = json_integer_value(json_object_get(m, "seq"));
	bool ok = json_is_true(json_object_get(m, "ok"));
	json_t *sessions = json_object_get(m, "sessions");
	struct link_pending **pp;

	n->last_answer_ms = now_ms();
	if (sessions != NULL) {
		struct lbs_pool *pool = lbs_pool_get();
		json_int_t s = json_integer_value(sessions);
		json_int_t r = json_integer_value(json_object_get(m, "msg_rate"));

		set_health(n, ok);
		if (pool != NULL && ok)
			(void)lbs_pool_load(pool, n->name, (uint32_t)(s < 0 ? 0 : s),
					    (uint32_t)(r < 0 ? 0 : r));
		return;
	}
	for (pp = &n->pending; *pp != NULL; pp = &(*pp)->next) {
		struct link_pending *q = *pp;

		if (q->seq != (uint64_t)seq)
			continue;
		*pp = q->next;
		if (ok) {
			lbs_count(LBS_C_admit_remote);
		} else {
			lbs_count(LBS_C_admit_failed);
			TERN_LOG(WARNING, "node link: node %s refused an admission: %s", n->name,
				 json_string_value(json_object_get(m, "error")) ?: "?");
		}
		lbs_conn_admitted(q->sess, ok);
		free(q);
		return;
	}
}

static void
node_read(struct bufferevent *bev, void *arg)
{
	struct link_node *n = arg;

	if (!each_line(bev, node_answer, n))
		node_close(n, "malformed answer: link closed");
}

static void
node_event(struct bufferevent *bev, short what, void *arg)
{
	struct link_node *n = arg;

	if (what & BEV_EVENT_CONNECTED) {
		n->state = LINK_UP;
		n->last_answer_ms = now_ms();
		TERN_LOG(INFO, "node link: connected to node %s", n->name);
		/* health comes with the first load answer */
		send_json(bev, json_pack("{s:s, s:I}", "op", "load", "seq", (json_int_t)++n->seq));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char why[256];

		snprintf(why, sizeof(why), "%s", e != 0 ? ERR_reason_error_string(e) :
				  (what & BEV_EVENT_EOF) ? "connection closed" :
				  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		node_close(n, why);
	}
}

static void
node_connect(struct link_node *n)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	SSL *ssl = SSL_new(lk.client);

	if (ssl == NULL)
		return;
	n->bev = bufferevent_openssl_socket_new(lk.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (n->bev == NULL) {
		SSL_free(ssl);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (n->ep.v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, n->ep.addr, 16);
		s6->sin6_port = htons(n->ep.port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, n->ep.addr, 4);
		s4->sin_port = htons(n->ep.port);
		sl = sizeof(*s4);
	}
	bufferevent_setcb(n->bev, node_read, NULL, node_event, n);
	bufferevent_enable(n->bev, EV_READ | EV_WRITE);
	n->state = LINK_CONNECTING;
	n->connect_ms = now_ms();
	if (bufferevent_socket_connect(n->bev, (struct sockaddr *)&ss, (int)sl) < 0)
		node_close(n, NULL);
}

static void
link_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	for (unsigned int i = 0; i < lk.nb_nodes; i++) {
		struct link_node *n = lk.nodes[i];

		switch (n->state) {
		case LINK_DOWN:
			node_connect(n);
			break;
		case LINK_CONNECTING:
			if (now - n->connect_ms > lk.timeout_ms)
				node_close(n, "connect timed out");
			break;
		case LINK_UP:
			if (now - n->last_answer_ms > lk.timeout_ms) {
				node_close(n, "no answer within node_link.timeout");
				break;
			}
			fail_pending(n, now - lk.timeout_ms);
			send_json(n->bev, json_pack("{s:s, s:I}", "op", "load", "seq",
						    (json_int_t)++n->seq));
			break;
		}
	}
}

int
lbs_link_node_add(const char *name, const struct tern_endpoint *ep)
{
	struct link_node *n;

	if (lk.client == NULL)
		return -ENOTSUP;
	if (lk.nb_nodes == LINK_MAX_NODES)
		return -ENOSPC;
	if (node_find(name) != NULL)
		return -EEXIST;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->ep = *ep;
	n->healthy = true;   /* the pool's default: set_health(false) below tells it */
	set_health(n, false);
	lk.nodes[lk.nb_nodes++] = n;
	node_connect(n);
	return 0;
}

void
lbs_link_node_remove(const char *name)
{
	for (unsigned int i = 0; i < lk.nb_nodes; i++) {
		struct link_node *n = lk.nodes[i];

		if (strcmp(n->name, name) != 0)
			continue;
		node_close(n, NULL);
		lk.nodes[i] = lk.nodes[--lk.nb_nodes];
		free(n);
		return;
	}
}

int
lbs_link_admit(const char *name, struct lbs_sess *s, const struct lbs_admission *a)
{
	struct link_node *n = node_find(name);
	struct link_pending *q;
	char devid[OSAP_ID_MAX + 1], key[2 * OSAP_KEY_LEN + 1];

	if (n == NULL || n->state != LINK_UP)
		return -ENOTCONN;
	if (a->devid_len == 0 || a->devid_len > OSAP_ID_MAX)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	memcpy(devid, a->devid, a->devid_len);
	devid[a->devid_len] = '\0';
	for (unsigned int i = 0; i < OSAP_KEY_LEN; i++)
		snprintf(key + 2 * i, 3, "%02x", a->session_key[i]);
	q->seq = ++n->seq;
	q->sent_ms = now_ms();
	q->sess = s;
	q->next = n->pending;
	n->pending = q;
	send_json(n->bev, json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "op", "admit", "seq",
				    (json_int_t)q->seq, "devid", devid, "key", key, "connect",
				    (json_int_t)a->lifetime, "lifetime",
				    (json_int_t)(a->key_expiry - (int64_t)time(NULL))));
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

void
lbs_link_cancel(struct lbs_sess *s)
{
	for (unsigned int i = 0; i < lk.nb_nodes; i++) {
		struct link_pending **pp = &lk.nodes[i]->pending;

		for (; *pp != NULL; pp = &(*pp)->next) {
			struct link_pending *q = *pp;

			if (q->sess == s) {
				*pp = q->next;
				free(q);
				return;
			}
		}
	}
}

void
lbs_link_revoke(const char *name, const char *devid)
{
	struct link_node *n = node_find(name);

	if (n == NULL || n->state != LINK_UP)
		return;
	send_json(n->bev, json_pack("{s:s, s:I, s:s}", "op", "revoke", "seq",
				    (json_int_t)++n->seq, "devid", devid));
}

const char *
lbs_link_state(const char *name)
{
	struct link_node *n = node_find(name);

	return n != NULL ? link_state_names[n->state] : NULL;
}

/* ------------------------------------------------------------------------ */

int
lbs_link_start(struct event_base *base, const struct tern_config *cfg, char *err, size_t errlen)
{
	const struct tern_node_link *l = &cfg->node_link;
	char msg[384];

	memset(&lk, 0, sizeof(lk));
	lk.base = base;
	lk.interval_ms = l->interval * 1000;
	lk.timeout_ms = l->timeout * 1000;
	if (l->cert != NULL && l->key != NULL && l->ca != NULL) {
		const struct timeval tv = { l->interval, 0 };

		lk.client = lbs_tls_ctx(false, l->cert, l->key, l->ca, msg, sizeof(msg));
		if (lk.client == NULL) {
			snprintf(err, errlen, "node_link: %s", msg);
			return -EINVAL;
		}
		lk.tick = event_new(base, -1, EV_PERSIST, link_tick, NULL);
		if (lk.tick == NULL || event_add(lk.tick, &tv) < 0) {
			snprintf(err, errlen, "node_link: out of memory");
			return -ENOMEM;
		}
	}
	if (l->listening) {
		struct sockaddr_storage ss;
		socklen_t sl;
		int fd, one = 1;

		lk.server = lbs_tls_ctx(true, l->cert, l->key, l->ca, msg, sizeof(msg));
		if (lk.server == NULL) {
			snprintf(err, errlen, "node_link: %s", msg);
			return -EINVAL;
		}
		memset(&ss, 0, sizeof(ss));
		if (l->listen.v6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, l->listen.addr, 16);
			s6->sin6_port = htons(l->listen.port);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, l->listen.addr, 4);
			s4->sin_port = htons(l->listen.port);
			sl = sizeof(*s4);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0) {
			snprintf(err, errlen, "node_link.address: port %u: %s", l->listen.port,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return -EADDRNOTAVAIL;
		}
		lk.listener = evconnlistener_new(base, link_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1,
						 fd);
		if (lk.listener == NULL) {
			close(fd);
			snprintf(err, errlen, "node_link: out of memory");
			return -ENOMEM;
		}
		TERN_LOG(INFO, "node link: taking admissions on port %u", l->listen.port);
	}
	return 0;
}

void
lbs_link_stop(void)
{
	while (lk.nb_nodes > 0)
		lbs_link_node_remove(lk.nodes[0]->name);
	while (lk.peers != NULL)
		peer_free(lk.peers);
	if (lk.listener != NULL)
		evconnlistener_free(lk.listener);
	if (lk.tick != NULL)
		event_free(lk.tick);
	SSL_CTX_free(lk.client);
	SSL_CTX_free(lk.server);
	memset(&lk, 0, sizeof(lk));
}
