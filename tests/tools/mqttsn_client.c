/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One MQTT-SN client session over UDP (see mqttsn_client.h).
 *
 * The socket is connect()ed to the gateway, so the kernel drops datagrams
 * from anyone else and reports an ICMP port unreachable as ECONNREFUSED.
 * That error is remembered but not fatal: a gateway that is still starting
 * looks the same, and the retransmission timer decides when to give up.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/errcode.h"
#include "mqttsn_client.h"

/* Single-threaded tool: one receive buffer, one transmit buffer. */
static uint8_t rx_buf[MQTTSN_MAX_LEN + 1];
static uint8_t tx_buf[MQTTSN_MAX_LEN];

volatile sig_atomic_t tmq_interrupted;

uint64_t
tmq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
tmq_error(const struct tmq_client *c, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (c != NULL && c->tag != NULL)
		fprintf(stderr, "tern-mqttsn: %s: %s\n", c->tag, text);
	else
		fprintf(stderr, "tern-mqttsn: %s\n", text);
	if (c != NULL && c->json) {
		fputs("{\"error\":", stdout);
		tmq_json_str(stdout, (const uint8_t *)text, strlen(text));
		fputs("}\n", stdout);
		fflush(stdout);
	}
}

const char *
tmq_rc_name(unsigned int rc)
{
	/* The names of spec 5.3.10, Table 5. */
	switch (rc) {
	case MQTTSN_RC_ACCEPTED: return "accepted";
	case MQTTSN_RC_CONGESTION: return "congestion";
	case MQTTSN_RC_INVALID_TOPIC_ID: return "invalid topic ID";
	case MQTTSN_RC_NOT_SUPPORTED: return "not supported";
	default: return "reserved";
	}
}

const char *
tmq_type_upper(unsigned int type)
{
	switch (type) {
#define TMQ_TYPE_CASE(e, v, n) case v: return #e;
	FOREACH_MQTTSN_TYPE(TMQ_TYPE_CASE)
#undef TMQ_TYPE_CASE
	default: return "UNKNOWN";
	}
}

int
tmq_open(struct tmq_client *c, const char *host, const char *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	struct addrinfo *res, *ai;
	int rc, err = 0;

	c->fd = -1;
	if (c->next_msg_id == 0)
		c->next_msg_id = 1;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		/* AI_ADDRCONFIG hides ::1 on a host with only loopback IPv6. */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0) {
		tmq_error(c, "%s port %s: %s", host, port, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (fd < 0) {
			err = errno;
			continue;
		}
		if (c->bind_port != 0 && tmq_bind_any(fd, ai->ai_family, c->bind_port) < 0) {
			err = errno;
			close(fd);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			c->fd = fd;
			break;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		if (c->bind_port != 0)
			tmq_error(c, "%s port %s from local port %u: %s", host, port,
				  c->bind_port, strerror(err));
		else
			tmq_error(c, "%s port %s: %s", host, port, strerror(err));
		return -err;
	}
	if (c->tr != NULL) {
		int rc = c->tr->open(c);

		if (rc < 0) {
			close(c->fd);
			c->fd = -1;
			return rc;
		}
	}
	return 0;
}

int
tmq_bind_any(int fd, int family, uint16_t port)
{
	struct sockaddr_in6 a6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	struct sockaddr_in a4 = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};

	if (family == AF_INET6)
		return bind(fd, (struct sockaddr *)&a6, sizeof(a6));
	return bind(fd, (struct sockaddr *)&a4, sizeof(a4));
}

void
tmq_close(struct tmq_client *c)
{
	if (c->tr != NULL && c->tr_sess != NULL)
		c->tr->close(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

uint16_t
tmq_msg_id(struct tmq_client *c)
{
	uint16_t id = c->next_msg_id++;

	if (c->next_msg_id == 0)
		c->next_msg_id = 1;
	return id == 0 ? tmq_msg_id(c) : id;
}

/* tx_buf's first @p len octets as one datagram (or DTLS record). @return 0 or -errno. */
static int
send_one(struct tmq_client *c, int len)
{
	if (c->tr != NULL)
		return c->tr->send(c, tx_buf, (size_t)len);
	return send(c->fd, tx_buf, (size_t)len, 0) < 0 ? -errno : 0;
}

int
tmq_send(struct tmq_client *c, const struct mqttsn_msg *m)
{
	int len = mqttsn_encode(tx_buf, sizeof(tx_buf), m);
	int rc;

	if (len < 0) {
		tmq_error(c, "cannot encode %s: %s", tmq_type_upper(m->type), tern_strerror(len));
		return len;
	}
	if (c->verbose)
		tmq_print_msg(c, stderr, "tx", m);
	rc = send_one(c, len);
	if (rc == -ECONNREFUSED) {
		/* An earlier datagram's ICMP error; this one may go through. */
		c->refused = true;
		rc = send_one(c, len);
	}
	if (rc < 0) {
		tmq_error(c, "send %s: %s", tmq_type_upper(m->type), strerror(-rc));
		return rc;
	}
	c->last_tx_ns = tmq_now_ns();
	return 0;
}

bool
tmq_pending(const struct tmq_client *c)
{
	return c->tr != NULL && c->tr->pending(c);
}

/* One datagram (or DTLS record) out of rx_buf. @return its length or -errno. */
static int
recv_one(struct tmq_client *c)
{
	ssize_t n;

	if (c->tr != NULL)
		return c->tr->recv(c, rx_buf, sizeof(rx_buf));
	n = recv(c->fd, rx_buf, sizeof(rx_buf), MSG_DONTWAIT);
	return n < 0 ? -errno : (int)n;
}

int
tmq_recv(struct tmq_client *c, struct mqttsn_msg *m, int timeout_ms)
{
	uint64_t until = tmq_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now = tmq_now_ns();
		int wait = now >= until ? 0 : (int)((until - now + 999999) / 1000000);
		int n, rc;

		/* A DTLS datagram may hold several records: the rest is above the socket. */
		if (!tmq_pending(c)) {
			rc = poll(&pfd, 1, wait);
			if (rc < 0) {
				if (errno == EINTR)
					return 0;
				return -errno;
			}
			if (rc == 0)
				return 0;
		}
		n = recv_one(c);
		if (n < 0) {
			if (n == -ECONNREFUSED) {
				c->refused = true;
				continue;
			}
			/* DTLS: a record that was not a message (a handshake retransmission). */
			if (n == -EAGAIN || n == -EINTR)
				continue;
			return n;
		}
		rc = mqttsn_decode(rx_buf, (size_t)n, m);
		if (rc == 0)
			break;
		if (c->verbose)
			fprintf(stderr, "%s%s< undecodable datagram of %d bytes: %s (%s)\n",
				c->tag ? c->tag : "", c->tag ? ": " : "", n,
				mqttsn_err_name(m->err), mqttsn_err_desc(m->err));
	}
	if (c->verbose)
		tmq_print_msg(c, stderr, "rx", m);
	return 1;
}

/* The PINGRESP of our own keep-alive PINGREQ is the pump's business, not the caller's. */
static int
dispatch(struct tmq_client *c, const struct mqttsn_msg *m)
{
	if (m->type == MQTTSN_PINGRESP && c->ping_out) {
		c->ping_out = false;
		c->ping_tries = 0;
		return 0;
	}
	if (m->type == MQTTSN_PINGREQ) {
		/* The gateway may supervise us too (spec 6.10). */
		struct mqttsn_msg r = { .type = MQTTSN_PINGRESP };

		return tmq_send(c, &r);
	}
	return c->on_msg != NULL ? c->on_msg(c, m, c->arg) : 0;
}

int
tmq_request(struct tmq_client *c, const char *what, struct mqttsn_msg *req, int want,
	    int alt, bool match_id, struct mqttsn_msg *resp)
{
	unsigned int attempt;
	int rc;

	for (attempt = 0; attempt <= c->retries; attempt++) {
		uint64_t until;

		if (attempt > 0 && (req->type == MQTTSN_PUBLISH || req->type == MQTTSN_SUBSCRIBE))
			req->flags |= MQTTSN_FLAG_DUP;
		rc = tmq_send(c, req);
		if (rc < 0)
			return rc;
		until = tmq_now_ns() + (uint64_t)c->timeout_ms * 1000000u;
		for (;;) {
			uint64_t now = tmq_now_ns();

			if (now >= until)
				break;
			rc = tmq_recv(c, resp, (int)((until - now + 999999) / 1000000));
			if (rc < 0) {
				tmq_error(c, "receive: %s", strerror(-rc));
				return rc;
			}
			if (rc == 0)
				continue;
			if ((resp->type == want || (alt >= 0 && resp->type == alt)) &&
			    (!match_id || resp->msg_id == req->msg_id))
				return 0;
			rc = dispatch(c, resp);
			if (rc < 0)
				return rc;
		}
	}
	tmq_error(c, "timeout: no %s to %s after %u attempt%s of %d ms%s", tmq_type_upper(want),
		  what, c->retries + 1, c->retries ? "s" : "", c->timeout_ms,
		  c->refused ? " (ICMP port unreachable received: nothing listens there)" : "");
	return -ETIMEDOUT;
}

int
tmq_pump(struct tmq_client *c, uint64_t until_ns)
{
	struct mqttsn_msg m;
	int rc;

	for (;;) {
		uint64_t now = tmq_now_ns();
		uint64_t next = until_ns;

		if (tmq_interrupted)
			return 0;
		if (c->keepalive_ms > 0) {
			uint64_t ka = (uint64_t)c->keepalive_ms * 1000000u;
			uint64_t to = (uint64_t)c->timeout_ms * 1000000u;

			if (c->ping_out && now >= c->ping_ns + to) {
				if (c->ping_tries > c->retries) {
					tmq_error(c, "timeout: no PINGRESP after %u attempts "
						  "of %d ms: gateway lost", c->ping_tries,
						  c->timeout_ms);
					return -ETIMEDOUT;
				}
				c->ping_out = false;
			}
			if (!c->ping_out && (now >= c->last_tx_ns + ka || c->ping_tries > 0)) {
				struct mqttsn_msg ping = { .type = MQTTSN_PINGREQ };

				rc = tmq_send(c, &ping);
				if (rc < 0)
					return rc;
				c->ping_out = true;
				c->ping_ns = c->last_tx_ns;
				c->ping_tries++;
			}
			if (c->ping_out && c->ping_ns + to < next)
				next = c->ping_ns + to;
			else if (!c->ping_out && c->last_tx_ns + ka < next)
				next = c->last_tx_ns + ka;
		}
		now = tmq_now_ns();
		if (now >= until_ns)
			return 0;
		rc = tmq_recv(c, &m, next > now ? (int)((next - now + 999999) / 1000000) : 0);
		if (rc < 0) {
			tmq_error(c, "receive: %s", strerror(-rc));
			return rc;
		}
		if (rc == 0)
			continue;
		rc = dispatch(c, &m);
		if (rc != 0)
			return rc;
	}
}

static int
rejected(struct tmq_client *c, const char *what, unsigned int rc)
{
	tmq_error(c, "%s rejected: %s", what, tmq_rc_name(rc));
	return -EPROTO;
}

int
tmq_connect(struct tmq_client *c, uint16_t keepalive_s, bool clean)
{
	struct mqttsn_msg req = {
		.type = MQTTSN_CONNECT,
		.flags = clean ? MQTTSN_FLAG_CLEAN : 0,
		.protocol_id = MQTTSN_PROTOCOL_ID,
		.duration = keepalive_s,
		.client_id = { (const uint8_t *)c->client_id, strlen(c->client_id) },
	};
	struct mqttsn_msg resp;
	int rc = tmq_request(c, "CONNECT", &req, MQTTSN_CONNACK, -1, false, &resp);

	if (rc < 0)
		return rc;
	if (resp.return_code != MQTTSN_RC_ACCEPTED)
		return rejected(c, "CONNECT", resp.return_code);
	return 0;
}

int
tmq_register(struct tmq_client *c, const char *name, uint16_t *topic_id)
{
	struct mqttsn_msg req = {
		.type = MQTTSN_REGISTER,
		.msg_id = tmq_msg_id(c),
		.topic_name = { (const uint8_t *)name, strlen(name) },
	};
	struct mqttsn_msg resp;
	int rc = tmq_request(c, "REGISTER", &req, MQTTSN_REGACK, -1, true, &resp);

	if (rc < 0)
		return rc;
	if (resp.return_code != MQTTSN_RC_ACCEPTED)
		return rejected(c, "REGISTER", resp.return_code);
	*topic_id = resp.topic_id;
	return 0;
}

int
tmq_subscribe(struct tmq_client *c, int qos, int topic_type, const char *name,
	      uint16_t topic_id, struct mqttsn_msg *suback)
{
	struct mqttsn_msg req = {
		.type = MQTTSN_SUBSCRIBE,
		.flags = MQTTSN_FLAG_QOS(qos) | (uint8_t)topic_type,
		.msg_id = tmq_msg_id(c),
	};
	int rc;

	if (topic_type == MQTTSN_TOPIC_NORMAL)
		req.topic_name = (struct mqttsn_view){ (const uint8_t *)name, strlen(name) };
	else
		req.topic_id = topic_id;
	rc = tmq_request(c, "SUBSCRIBE", &req, MQTTSN_SUBACK, -1, true, suback);
	if (rc < 0)
		return rc;
	if (suback->return_code != MQTTSN_RC_ACCEPTED)
		return rejected(c, "SUBSCRIBE", suback->return_code);
	return 0;
}

int
tmq_disconnect(struct tmq_client *c, bool sleep, uint16_t duration)
{
	struct mqttsn_msg req = {
		.type = MQTTSN_DISCONNECT,
		.has_duration = sleep,
		.duration = duration,
	};
	struct mqttsn_msg resp;

	return tmq_request(c, "DISCONNECT", &req, MQTTSN_DISCONNECT, -1, false, &resp);
}
