/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-mqttsn load: many clients in one thread around one poll().
 *
 * Set-up is sequential and uses the same request/response exchanges as the
 * other subcommands (so a gateway that refuses a client is reported like
 * anywhere else). The run is open-loop: publications leave on a schedule
 * (sequence number s at start + s / rate) whatever the gateway does, and
 * QoS 1/2 acknowledgements are counted, never waited for or retransmitted,
 * so a slow gateway shows up as loss and latency instead of slowing the
 * offered load down.
 *
 * Each payload carries the sequence number, the send time and the topic;
 * every subscriber keeps a bitmap of the sequence numbers it saw, which
 * gives received, duplicates and (against sent x fan-out) lost.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mqttsn_client.h"
#include "tern_mqttsn.h"

#define LOAD_MAGIC 0x544c4431u          /* "TLD1" */
#define LOAD_PAYLOAD_LEN 24             /* magic, topic, seq, send time */
#define LOAD_LAT_MAX (8u * 1024 * 1024) /* latency samples kept */
#define LOAD_SWEEP_NS 100000000u        /* keep-alive check every 100 ms */

struct load_client {
	struct tmq_client c;
	char id[64];
	bool subscriber;
	bool gone;              /* the gateway sent DISCONNECT */
	bool bye;               /* our DISCONNECT was answered */
	unsigned int topic;     /* subscriber: its topic */
	uint16_t *topic_ids;    /* publisher: id of each topic */
	uint8_t *seen;          /* subscriber: bitmap over sequence numbers */
};

struct load {
	const struct tmq_opts *o;
	struct load_client *cl;
	unsigned int ncl;
	unsigned int nsub;
	struct pollfd *pfd;
	uint64_t total;         /* publications planned */
	unsigned long long sent, acked, rejected, received, dups, foreign, gone;
	uint32_t *lat;          /* microseconds */
	size_t nlat;
};

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, v >> 32);
	put_u32(p + 4, (uint32_t)v);
}

static uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void
raise_fd_limit(unsigned int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 16) {
		rl.rlim_cur = rl.rlim_max < need + 16 ? rl.rlim_max : need + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
setup(struct load *l)
{
	const struct tmq_opts *o = l->o;
	char prefix[32], name[32];
	unsigned int i, t;

	if (o->id_given)
		snprintf(prefix, sizeof(prefix), "%s", o->client_id);
	else
		snprintf(prefix, sizeof(prefix), "tl%d", (int)getpid());
	for (i = 0; i < l->ncl; i++) {
		struct load_client *lc = &l->cl[i];
		struct tmq_client *c = &lc->c;

		lc->subscriber = i < l->nsub;
		snprintf(lc->id, sizeof(lc->id), "%s-%c%u", prefix, lc->subscriber ? 's' : 'p',
			 lc->subscriber ? i : i - l->nsub);
		c->client_id = lc->id;
		c->tag = lc->id;
		c->timeout_ms = o->timeout_ms;
		c->retries = o->retries;
		c->verbose = o->verbose;
		c->json = o->json;
		c->tr = o->tr;
		c->tr_conf = o->tr_conf;
		if (tmq_open(c, o->host, o->port) < 0 ||
		    tmq_connect(c, (uint16_t)o->keepalive, true) < 0)
			return -1;
		l->pfd[i] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		if (lc->subscriber) {
			struct mqttsn_msg suback;

			lc->topic = i % o->topics;
			snprintf(name, sizeof(name), "load/%u", lc->topic);
			if (tmq_subscribe(c, o->qos, MQTTSN_TOPIC_NORMAL, name, 0, &suback) < 0)
				return -1;
			lc->seen = calloc(l->total / 8 + 1, 1);
			if (lc->seen == NULL)
				return -1;
		} else {
			lc->topic_ids = calloc(o->topics, sizeof(*lc->topic_ids));
			if (lc->topic_ids == NULL)
				return -1;
			for (t = 0; t < o->topics; t++) {
				snprintf(name, sizeof(name), "load/%u", t);
				if (tmq_register(c, name, &lc->topic_ids[t]) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int
publish(struct load *l, uint64_t seq)
{
	unsigned int npub = l->ncl - l->nsub;
	struct load_client *lc = &l->cl[l->nsub + seq % npub];
	unsigned int topic = (seq / npub) % l->o->topics;
	uint8_t payload[LOAD_PAYLOAD_LEN];
	struct mqttsn_msg m = {
		.type = MQTTSN_PUBLISH,
		.flags = MQTTSN_FLAG_QOS(l->o->qos) | MQTTSN_TOPIC_NORMAL,
		.topic_id = lc->topic_ids[topic],
		.msg_id = l->o->qos > 0 ? tmq_msg_id(&lc->c) : 0,
		.data = { payload, sizeof(payload) },
	};

	put_u32(payload, LOAD_MAGIC);
	put_u32(payload + 4, topic);
	put_u64(payload + 8, seq);
	put_u64(payload + 16, tmq_now_ns());
	return tmq_send(&lc->c, &m);
}

static void
received(struct load *l, struct load_client *lc, const struct mqttsn_msg *m, uint64_t now)
{
	const uint8_t *p = m->data.p;
	uint64_t seq, ts;

	if (m->data.len != LOAD_PAYLOAD_LEN || get_u32(p) != LOAD_MAGIC ||
	    get_u32(p + 4) != lc->topic || (seq = get_u64(p + 8)) >= l->sent) {
		l->foreign++;
		return;
	}
	if (lc->seen[seq / 8] & (1u << (seq % 8))) {
		l->dups++;
		return;
	}
	lc->seen[seq / 8] |= 1u << (seq % 8);
	l->received++;
	ts = get_u64(p + 16);
	if (l->nlat < LOAD_LAT_MAX && now >= ts)
		l->lat[l->nlat++] = (uint32_t)((now - ts) / 1000 > UINT32_MAX ? UINT32_MAX :
					       (now - ts) / 1000);
}

/* Everything one client receives; answers at once, never waits. */
static void
handle(struct load *l, struct load_client *lc, const struct mqttsn_msg *m, uint64_t now)
{
	struct mqttsn_msg r = { .msg_id = m->msg_id };
	int qos;

	switch (m->type) {
	case MQTTSN_PUBLISH:
		received(l, lc, m, now);
		qos = mqttsn_flags_qos(m->flags);
		if (qos == 1) {
			r.type = MQTTSN_PUBACK;
			r.topic_id = m->topic_id;
		} else if (qos == 2) {
			r.type = MQTTSN_PUBREC;
		} else {
			return;
		}
		break;
	case MQTTSN_PUBREL:
		r.type = MQTTSN_PUBCOMP;
		break;
	case MQTTSN_REGISTER:
		r.type = MQTTSN_REGACK;
		r.topic_id = m->topic_id;
		break;
	case MQTTSN_PINGREQ:
		r.type = MQTTSN_PINGRESP;
		break;
	case MQTTSN_PUBACK:
		if (m->return_code == MQTTSN_RC_ACCEPTED)
			l->acked++;
		else if (l->rejected++ == 0)
			tmq_error(&lc->c, "PUBLISH rejected: %s (counting further rejects)",
				  tmq_rc_name(m->return_code));
		return;
	case MQTTSN_PUBREC:
		r.type = MQTTSN_PUBREL;
		break;
	case MQTTSN_PUBCOMP:
		l->acked++;
		return;
	case MQTTSN_DISCONNECT:
		if (lc->bye)
			return;
		if (l->gone++ == 0)
			tmq_error(&lc->c, "the gateway sent DISCONNECT (counting further ones)");
		lc->gone = lc->bye = true;
		return;
	default:
		return;
	}
	tmq_send(&lc->c, &r);
}

/* Receive on every socket until @p until, publishing on schedule if @p publishing. */
static void
run(struct load *l, uint64_t start, uint64_t until, bool publishing, bool disconnecting)
{
	uint64_t next_sweep = 0;
	double ns_per_msg = 1e9 / l->o->rate;
	unsigned int i;
	bool pending;
	int rc;

	for (;;) {
		uint64_t now = tmq_now_ns();
		int wait = 100;

		if (now >= until || tmq_interrupted)
			return;
		while (publishing && l->sent < l->total &&
		       start + (uint64_t)((double)l->sent * ns_per_msg) <= now) {
			publish(l, l->sent);
			l->sent++;
		}
		if (publishing && l->sent < l->total) {
			uint64_t due = start + (uint64_t)((double)l->sent * ns_per_msg);

			wait = due > now ? (int)((due - now) / 1000000) : 0;
		} else if (publishing) {
			return;
		}
		if (!publishing && !disconnecting && l->received == l->sent * l->o->fanout &&
		    (l->o->qos == 0 || l->acked + l->rejected >= l->sent))
			return;
		if (now >= next_sweep && !disconnecting) {
			next_sweep = now + LOAD_SWEEP_NS;
			for (i = 0; i < l->ncl; i++) {
				struct tmq_client *c = &l->cl[i].c;
				struct mqttsn_msg ping = { .type = MQTTSN_PINGREQ };

				if (!l->cl[i].gone && l->o->keepalive > 0 &&
				    now - c->last_tx_ns >= (uint64_t)l->o->keepalive * 1000000000u)
					tmq_send(c, &ping);
			}
		}
		/* DTLS: records left over from a burst or a datagram do not wake poll(). */
		pending = false;
		for (i = 0; i < l->ncl && !pending; i++)
			pending = tmq_pending(&l->cl[i].c);
		rc = poll(l->pfd, l->ncl, pending ? 0 : wait);
		if (rc < 0 || (rc == 0 && !pending))
			continue;
		now = tmq_now_ns();
		for (i = 0; i < l->ncl; i++) {
			struct mqttsn_msg m;
			unsigned int burst;

			if (!(l->pfd[i].revents & POLLIN) && !tmq_pending(&l->cl[i].c))
				continue;
			for (burst = 0; burst < 64 && tmq_recv(&l->cl[i].c, &m, 0) > 0; burst++) {
				if (disconnecting && m.type == MQTTSN_DISCONNECT)
					l->cl[i].bye = true;
				else
					handle(l, &l->cl[i], &m, now);
			}
		}
		if (disconnecting) {
			for (i = 0; i < l->ncl && l->cl[i].bye; i++)
				;
			if (i == l->ncl)
				return;
		}
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t
pct(const struct load *l, double q)
{
	size_t k;

	if (l->nlat == 0)
		return 0;
	k = (size_t)(q * (double)l->nlat + 0.999999);
	return l->lat[k == 0 ? 0 : k - 1];
}

static void
report(const struct load *l)
{
	const struct tmq_opts *o = l->o;
	unsigned long long expected = l->sent * o->fanout;
	unsigned long long lost = expected > l->received ? expected - l->received : 0;

	if (o->json) {
		printf("{\"publishers\":%u,\"subscribers\":%u,\"topics\":%u,\"fanout\":%u,"
		       "\"qos\":%d,\"rate\":%g,\"duration_s\":%g,\"sent\":%llu,\"acked\":%llu,"
		       "\"rejected\":%llu,\"expected\":%llu,\"received\":%llu,\"lost\":%llu,"
		       "\"duplicates\":%llu,\"foreign\":%llu,\"disconnected\":%llu,"
		       "\"latency_us\":{\"samples\":%zu,\"p50\":%u,\"p90\":%u,\"p99\":%u,"
		       "\"max\":%u}}\n",
		       l->ncl - l->nsub, l->nsub, o->topics, o->fanout, o->qos, o->rate,
		       o->duration_s, l->sent, l->acked, l->rejected, expected, l->received, lost,
		       l->dups, l->foreign, l->gone, l->nlat, pct(l, 0.5), pct(l, 0.9),
		       pct(l, 0.99), pct(l, 1.0));
	} else {
		printf("publishers %u, subscribers %u (%u topics x %u), QoS %d, "
		       "%g msg/s for %g s\n",
		       l->ncl - l->nsub, l->nsub, o->topics, o->fanout, o->qos, o->rate,
		       o->duration_s);
		printf("sent %llu (acked %llu, rejected %llu)\n", l->sent, l->acked, l->rejected);
		printf("expected %llu, received %llu, lost %llu, duplicates %llu, foreign %llu, "
		       "disconnected %llu\n", expected, l->received, lost, l->dups, l->foreign,
		       l->gone);
		printf("latency us (%zu samples): p50 %u, p90 %u, p99 %u, max %u\n", l->nlat,
		       pct(l, 0.5), pct(l, 0.9), pct(l, 0.99), pct(l, 1.0));
	}
	fflush(stdout);
}

static int
load_free(struct load *l, int status)
{
	unsigned int i;

	for (i = 0; i < l->ncl; i++) {
		tmq_close(&l->cl[i].c);
		free(l->cl[i].seen);
		free(l->cl[i].topic_ids);
	}
	free(l->cl);
	free(l->pfd);
	free(l->lat);
	return status;
}

int
tmq_cmd_load(const struct tmq_opts *o)
{
	struct load l = { .o = o };
	uint64_t start, drain;
	double total = o->rate * o->duration_s;
	unsigned int i;

	if (o->qos < 0 || total < 1 || total > 1e9) {
		fprintf(stderr, "tern-mqttsn: load needs QoS 0..2 and 1 to 1e9 publications "
			"(rate x duration)\n");
		return TMQ_EXIT_USAGE;
	}
	l.total = (uint64_t)total;
	l.nsub = o->topics * o->fanout;
	l.ncl = l.nsub + o->clients;
	raise_fd_limit(l.ncl);
	l.cl = calloc(l.ncl, sizeof(*l.cl));
	l.pfd = calloc(l.ncl, sizeof(*l.pfd));
	l.lat = malloc(sizeof(*l.lat) * (l.total * o->fanout < LOAD_LAT_MAX ?
					  l.total * o->fanout + 1 : LOAD_LAT_MAX));
	if (l.cl == NULL || l.pfd == NULL || l.lat == NULL) {
		fprintf(stderr, "tern-mqttsn: out of memory\n");
		return load_free(&l, TMQ_EXIT_FAIL);
	}
	for (i = 0; i < l.ncl; i++)
		l.cl[i].c.fd = -1;
	if (setup(&l) < 0)
		return load_free(&l, TMQ_EXIT_FAIL);

	start = tmq_now_ns();
	run(&l, start, start + (uint64_t)(o->duration_s * 1e9) + 1000000000u, true, false);
	/* Drain: what is still in flight gets one response timeout to arrive. */
	drain = tmq_now_ns() + (uint64_t)o->timeout_ms * 1000000u;
	run(&l, start, drain, false, false);
	qsort(l.lat, l.nlat, sizeof(*l.lat), cmp_u32);
	report(&l);

	for (i = 0; i < l.ncl; i++) {
		struct mqttsn_msg bye = { .type = MQTTSN_DISCONNECT };

		if (!l.cl[i].gone)
			tmq_send(&l.cl[i].c, &bye);
	}
	run(&l, start, tmq_now_ns() + (uint64_t)o->timeout_ms * 1000000u, false, true);
	return load_free(&l, TMQ_EXIT_OK);
}
