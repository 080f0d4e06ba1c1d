/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Gateway discovery (spec 6.1), the search and listen subcommands of
 * tern-mqttsn: search sends SEARCHGW and waits for a GWINFO, listen prints
 * the ADVERTISE messages gateways broadcast.
 *
 * Unlike a session, neither can use a connected socket: a SEARCHGW may go
 * to a broadcast or multicast address and be answered from the gateway's
 * own, and an ADVERTISE comes from whoever sends it. So both keep an
 * unconnected socket and report who sent what. Datagrams still go through
 * the codec only (proto/mqttsn.h), and -v prints them as the other
 * subcommands do.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/errcode.h"
#include "mqttsn_client.h"
#include "tern_mqttsn.h"

static uint8_t rx_buf[MQTTSN_MAX_LEN + 1];
static uint8_t tx_buf[MQTTSN_MAX_LEN];

struct peer_addr {
	struct sockaddr_storage sa;
	socklen_t len;
};

/* The tmq_client of a discovery command: only its output settings are used. */
static void
disc_client(struct tmq_client *c, const struct tmq_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->verbose = o->verbose;
	c->json = o->json;
	c->timeout_ms = o->timeout_ms;
	c->retries = o->retries;
}

/* Resolve @p host and @p port as tmq_open() does; the caller frees *res. */
static int
resolve(struct tmq_client *c, const char *host, const char *port, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	int rc = getaddrinfo(host, port, &hints, res);

	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, res);
	}
	if (rc != 0) {
		tmq_error(c, "%s port %s: %s", host, port, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/* Numeric host and port of @p a. */
static void
addr_str(const struct peer_addr *a, char *host, size_t hlen, unsigned int *port)
{
	char serv[16];

	if (getnameinfo((const struct sockaddr *)&a->sa, a->len, host, (socklen_t)hlen, serv,
			sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, hlen, "?");
		serv[0] = '\0';
	}
	*port = (unsigned int)strtoul(serv, NULL, 10);
}

static int
disc_send(struct tmq_client *c, const struct mqttsn_msg *m, const struct addrinfo *to)
{
	int len = mqttsn_encode(tx_buf, sizeof(tx_buf), m);

	if (len < 0) {
		tmq_error(c, "cannot encode %s: %s", tmq_type_upper(m->type), tern_strerror(len));
		return len;
	}
	if (c->verbose)
		tmq_print_msg(c, stderr, "tx", m);
	if (sendto(c->fd, tx_buf, (size_t)len, 0, to->ai_addr, to->ai_addrlen) < 0) {
		int err = errno;

		tmq_error(c, "send %s: %s", tmq_type_upper(m->type), strerror(err));
		return -err;
	}
	return 0;
}

/*
 * Wait until @p until_ns (UINT64_MAX: no limit) for one decodable message.
 * @return 1 with @p m and @p from filled, 0 on timeout or signal, negative
 *         on a socket error (printed).
 */
static int
disc_recv(struct tmq_client *c, struct mqttsn_msg *m, struct peer_addr *from, uint64_t until_ns)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		uint64_t now = tmq_now_ns();
		int wait = -1;
		ssize_t n;
		int rc;

		if (tmq_interrupted)
			return 0;
		if (until_ns != UINT64_MAX) {
			if (now >= until_ns)
				return 0;
			wait = (until_ns - now) / 1000000 > 3600000 ? 3600000 :
				(int)((until_ns - now + 999999) / 1000000);
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno == EINTR)
			return 0;
		if (rc < 0) {
			tmq_error(c, "poll: %s", strerror(errno));
			return -errno;
		}
		if (rc == 0)
			continue;
		from->len = sizeof(from->sa);
		n = recvfrom(c->fd, rx_buf, sizeof(rx_buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from->sa, &from->len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNREFUSED)
				continue;
			tmq_error(c, "receive: %s", strerror(errno));
			return -errno;
		}
		if (mqttsn_decode(rx_buf, (size_t)n, m) == 0)
			break;
		if (c->verbose)
			fprintf(stderr, "< undecodable datagram of %zd bytes: %s (%s)\n", n,
				mqttsn_err_name(m->err), mqttsn_err_desc(m->err));
	}
	if (c->verbose)
		tmq_print_msg(c, stderr, "rx", m);
	return 1;
}

static void
print_gwinfo(const struct tmq_client *c, const struct mqttsn_msg *m, const struct peer_addr *a)
{
	char host[NI_MAXHOST];
	unsigned int port;
	size_t i;

	addr_str(a, host, sizeof(host), &port);
	if (c->json) {
		printf("{\"type\":\"gwinfo\",\"gw_id\":%u,\"from\":", m->gw_id);
		tmq_json_str(stdout, (const uint8_t *)host, strlen(host));
		printf(",\"port\":%u", port);
		if (m->gw_addr.len > 0) {
			fputs(",\"gw_addr\":\"", stdout);
			for (i = 0; i < m->gw_addr.len; i++)
				printf("%02x", m->gw_addr.p[i]);
			fputc('"', stdout);
		}
		fputs("}\n", stdout);
	} else {
		printf("gateway %u from %s port %u", m->gw_id, host, port);
		if (m->gw_addr.len > 0) {
			fputs(" gw_addr ", stdout);
			for (i = 0; i < m->gw_addr.len; i++)
				printf("%02x", m->gw_addr.p[i]);
		}
		fputc('\n', stdout);
	}
	fflush(stdout);
}

int
tmq_cmd_search(const struct tmq_opts *o)
{
	struct mqttsn_msg req = { .type = MQTTSN_SEARCHGW, .radius = 0 };
	struct tmq_client c;
	struct addrinfo *res, *ai;
	unsigned int attempt;
	int one = 1, err = 0;

	disc_client(&c, o);
	if (resolve(&c, o->host, o->port, &res) < 0)
		return TMQ_EXIT_FAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c.fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (c.fd < 0) {
			err = errno;
			continue;
		}
		/* a broadcast SEARCHGW needs it; a unicast one does not mind */
		if (ai->ai_family == AF_INET)
			setsockopt(c.fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
		if (o->bind_port == 0 || tmq_bind_any(c.fd, ai->ai_family, o->bind_port) == 0)
			break;
		err = errno;
		close(c.fd);
		c.fd = -1;
	}
	if (c.fd < 0) {
		tmq_error(&c, "%s port %s: %s", o->host, o->port, strerror(err));
		freeaddrinfo(res);
		return TMQ_EXIT_FAIL;
	}
	for (attempt = 0; attempt <= c.retries && !tmq_interrupted; attempt++) {
		uint64_t until;

		if (disc_send(&c, &req, ai) < 0)
			break;
		until = tmq_now_ns() + (uint64_t)c.timeout_ms * 1000000u;
		for (;;) {
			struct mqttsn_msg m;
			struct peer_addr from;
			int rc = disc_recv(&c, &m, &from, until);

			if (rc < 0)
				goto fail;
			if (rc == 0)
				break;
			if (m.type == MQTTSN_GWINFO) {
				print_gwinfo(&c, &m, &from);
				freeaddrinfo(res);
				close(c.fd);
				return TMQ_EXIT_OK;
			}
		}
	}
	if (tmq_interrupted)
		tmq_error(&c, "interrupted: no GWINFO");
	else if (attempt > c.retries)
		tmq_error(&c, "timeout: no GWINFO to SEARCHGW after %u attempt%s of %d ms",
			  c.retries + 1, c.retries ? "s" : "", c.timeout_ms);
fail:
	freeaddrinfo(res);
	close(c.fd);
	return TMQ_EXIT_FAIL;
}

/* ff01::1 or ff02::1: every node is in it already. */
static bool
all_nodes6(const struct in6_addr *a)
{
	static const uint8_t tail[14] = { [13] = 1 };

	return a->s6_addr[0] == 0xff && (a->s6_addr[1] & 0x0f) <= 2 &&
	       memcmp(a->s6_addr + 2, tail, sizeof(tail)) == 0;
}

/*
 * Join the group listen was told to listen on (best effort: a warning if it
 * fails); the all-nodes and all-hosts groups need no join.
 */
static void
join_group(struct tmq_client *c, const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ai->ai_addr;
		struct ipv6_mreq mr = { .ipv6mr_interface = a->sin6_scope_id };

		if (!IN6_IS_ADDR_MULTICAST(&a->sin6_addr) || all_nodes6(&a->sin6_addr))
			return;
		mr.ipv6mr_multiaddr = a->sin6_addr;
		if (setsockopt(c->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0)
			fprintf(stderr, "tern-mqttsn: warning: cannot join the group: %s\n",
				strerror(errno));
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ai->ai_addr;
		struct ip_mreq mr = { .imr_interface.s_addr = htonl(INADDR_ANY) };

		if (!IN_MULTICAST(ntohl(a->sin_addr.s_addr)) ||
		    ntohl(a->sin_addr.s_addr) == INADDR_ALLHOSTS_GROUP)
			return;
		mr.imr_multiaddr = a->sin_addr;
		if (setsockopt(c->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
			fprintf(stderr, "tern-mqttsn: warning: cannot join the group: %s\n",
				strerror(errno));
	}
}

static void
print_advertise(const struct tmq_client *c, const struct mqttsn_msg *m,
		const struct peer_addr *a)
{
	char host[NI_MAXHOST];
	unsigned int port;

	addr_str(a, host, sizeof(host), &port);
	if (c->json) {
		printf("{\"type\":\"advertise\",\"gw_id\":%u,\"duration\":%u,\"from\":", m->gw_id,
		       m->duration);
		tmq_json_str(stdout, (const uint8_t *)host, strlen(host));
		printf(",\"port\":%u}\n", port);
	} else {
		printf("gateway %u duration %u from %s port %u\n", m->gw_id, m->duration, host,
		       port);
	}
	fflush(stdout);
}

int
tmq_cmd_listen(const struct tmq_opts *o)
{
	struct tmq_client c;
	struct addrinfo *res;
	uint64_t until = UINT64_MAX;
	unsigned long n = 0;
	int one = 1, family, rc = 0;
	uint16_t port;

	disc_client(&c, o);
	if (resolve(&c, o->host, o->port, &res) < 0)
		return TMQ_EXIT_FAIL;
	family = res->ai_family;
	port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)res->ai_addr)->sin6_port :
					  ((struct sockaddr_in *)res->ai_addr)->sin_port);
	c.fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0) {
		tmq_error(&c, "socket: %s", strerror(errno));
		freeaddrinfo(res);
		return TMQ_EXIT_FAIL;
	}
	/* several listeners (or a gateway) on one host each get every broadcast */
	setsockopt(c.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(c.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (tmq_bind_any(c.fd, family, port) < 0) {
		tmq_error(&c, "bind %s port %u: %s", family == AF_INET6 ? "[::]" : "0.0.0.0", port,
			  strerror(errno));
		freeaddrinfo(res);
		close(c.fd);
		return TMQ_EXIT_FAIL;
	}
	join_group(&c, res);
	freeaddrinfo(res);
	if (o->wait_s > 0)
		until = tmq_now_ns() + (uint64_t)(o->wait_s * 1e9);
	while (o->count == 0 || n < o->count) {
		struct mqttsn_msg m;
		struct peer_addr from;

		rc = disc_recv(&c, &m, &from, until);
		if (rc <= 0)
			break;
		if (m.type != MQTTSN_ADVERTISE)
			continue;
		print_advertise(&c, &m, &from);
		n++;
	}
	close(c.fd);
	if (rc < 0)
		return TMQ_EXIT_FAIL;
	if (o->count > 0 && n < o->count) {
		tmq_error(&c, "%s: received %lu of %lu ADVERTISE messages",
			  tmq_interrupted ? "interrupted" : "timeout", n, o->count);
		return TMQ_EXIT_FAIL;
	}
	return TMQ_EXIT_OK;
}
