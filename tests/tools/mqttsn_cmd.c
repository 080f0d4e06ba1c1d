/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pub, sub and sleep subcommands of tern-mqttsn: one client each, one
 * exchange at a time (spec 6.13: a client has at most one message awaiting
 * an acknowledgement), every wait bounded by --timeout and --retries.
 *
 * Whatever the gateway sends that we did not wait for goes through one
 * handler, on_msg(): it answers REGISTER, acknowledges deliveries at their
 * QoS, completes QoS 2 on PUBREL and prints publications, so a publication
 * that arrives while we wait for a SUBACK or a PINGRESP is not lost.
 *
 * sub --resume subscribes to nothing: it CONNECTs without CleanSession and
 * receives on the session the gateway kept for its client id, whose topic
 * ids were registered with an earlier process. Such an id is not an error
 * then: it prints as id:ID.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqttsn_client.h"
#include "tern_mqttsn.h"

/* QoS 2 deliveries between PUBREC and PUBREL remembered for de-duplication. */
#define QOS2_PENDING_MAX 256

struct topic_entry {
	uint16_t id;
	char *name;             /* NULL: unknown id, already warned about */
};

struct session {
	const struct tmq_opts *o;
	bool print;              /* print publications (sub, sleep) */
	struct topic_entry *topics;
	size_t ntopics;
	uint16_t qos2[QOS2_PENDING_MAX];
	unsigned int nqos2;
	unsigned long received;  /* publications printed */
	bool done;               /* -c COUNT reached: acknowledge, stop printing */
};

static struct topic_entry *
topic_find(struct session *s, uint16_t id)
{
	size_t i;

	for (i = 0; i < s->ntopics; i++)
		if (s->topics[i].id == id)
			return &s->topics[i];
	return NULL;
}

static void
topic_set(struct session *s, uint16_t id, const uint8_t *name, size_t len)
{
	struct topic_entry *t = topic_find(s, id);
	char *copy = NULL;

	if (name != NULL) {
		copy = malloc(len + 1);
		if (copy == NULL)
			return;
		memcpy(copy, name, len);
		copy[len] = '\0';
	}
	if (t == NULL) {
		t = realloc(s->topics, (s->ntopics + 1) * sizeof(*t));
		if (t == NULL) {
			free(copy);
			return;
		}
		s->topics = t;
		t = &s->topics[s->ntopics++];
	} else {
		free(t->name);
	}
	t->id = id;
	t->name = copy;
}

static void
session_free(struct session *s)
{
	size_t i;

	for (i = 0; i < s->ntopics; i++)
		free(s->topics[i].name);
	free(s->topics);
}

static bool
qos2_pending(const struct session *s, uint16_t msg_id)
{
	unsigned int i;

	for (i = 0; i < s->nqos2; i++)
		if (s->qos2[i] == msg_id)
			return true;
	return false;
}

static void
qos2_forget(struct session *s, uint16_t msg_id)
{
	unsigned int i;

	for (i = 0; i < s->nqos2; i++) {
		if (s->qos2[i] == msg_id) {
			s->qos2[i] = s->qos2[--s->nqos2];
			return;
		}
	}
}

static void
qos2_add(struct session *s, uint16_t msg_id)
{
	if (s->nqos2 == QOS2_PENDING_MAX)
		s->nqos2--; /* a gateway that never sends PUBREL: forget one */
	s->qos2[s->nqos2++] = msg_id;
}

static void
print_publication(struct tmq_client *c, struct session *s, const struct mqttsn_msg *m)
{
	unsigned int tt = m->flags & MQTTSN_FLAG_TOPIC_MASK;
	static const char *const types[] = { "normal", "predefined", "short", "reserved" };
	char buf[32];
	const char *name = NULL;
	size_t name_len = 0;
	FILE *f = stdout;

	if (tt == MQTTSN_TOPIC_SHORT) {
		buf[0] = (char)(m->topic_id >> 8);
		buf[1] = (char)(m->topic_id & 0xff);
		name = buf;
		name_len = 2;
	} else if (tt == MQTTSN_TOPIC_NORMAL) {
		struct topic_entry *t = topic_find(s, m->topic_id);

		if (t == NULL) {
			if (!s->o->resume)
				tmq_error(c, "PUBLISH with topic id %u, which the gateway never "
					  "registered", m->topic_id);
			topic_set(s, m->topic_id, NULL, 0);
		} else if (t->name != NULL) {
			name = t->name;
			name_len = strlen(name);
		}
	}
	if (s->o->json) {
		fputs("{\"topic\":", f);
		if (name != NULL)
			tmq_json_str(f, (const uint8_t *)name, name_len);
		else
			fputs("null", f);
		fprintf(f, ",\"topic_id\":%u,\"topic_type\":\"%s\",\"qos\":%d,\"retain\":%s,"
			"\"dup\":%s,\"payload\":", m->topic_id, types[tt],
			mqttsn_flags_qos(m->flags),
			m->flags & MQTTSN_FLAG_RETAIN ? "true" : "false",
			m->flags & MQTTSN_FLAG_DUP ? "true" : "false");
		tmq_json_str(f, m->data.p, m->data.len);
		if (!tmq_utf8_valid(m->data.p, m->data.len)) {
			size_t i;

			fputs(",\"payload_hex\":\"", f);
			for (i = 0; i < m->data.len; i++)
				fprintf(f, "%02x", m->data.p[i]);
			fputc('"', f);
		}
		fputs("}\n", f);
	} else {
		if (name != NULL) {
			tmq_text_bytes(f, (const uint8_t *)name, name_len);
		} else {
			fprintf(f, "%s:%u", tt == MQTTSN_TOPIC_PREDEFINED ? "predefined" : "id",
				m->topic_id);
		}
		fputc(' ', f);
		tmq_text_bytes(f, m->data.p, m->data.len);
		fputc('\n', f);
	}
	fflush(f);
}

/* A publication from the gateway: print it once, acknowledge it at its QoS. */
static int
deliver(struct tmq_client *c, struct session *s, const struct mqttsn_msg *m)
{
	int qos = mqttsn_flags_qos(m->flags);
	struct mqttsn_msg ack = { .msg_id = m->msg_id };
	int rc;

	if (qos == 2 && qos2_pending(s, m->msg_id)) {
		/* Our PUBREC was lost: the gateway retransmits; answer, do not print again. */
		ack.type = MQTTSN_PUBREC;
		return tmq_send(c, &ack);
	}
	if (s->print && !s->done) {
		print_publication(c, s, m);
		s->received++;
		if (s->o->count > 0 && s->received >= s->o->count)
			s->done = true;
	}
	if (qos == 1) {
		ack.type = MQTTSN_PUBACK;
		ack.topic_id = m->topic_id;
		ack.return_code = MQTTSN_RC_ACCEPTED;
	} else if (qos == 2) {
		ack.type = MQTTSN_PUBREC;
		qos2_add(s, m->msg_id);
	} else {
		return s->done && s->nqos2 == 0;
	}
	rc = tmq_send(c, &ack);
	if (rc < 0)
		return rc;
	return s->done && s->nqos2 == 0;
}

static int
on_msg(struct tmq_client *c, const struct mqttsn_msg *m, void *arg)
{
	struct session *s = arg;
	struct mqttsn_msg r = { .msg_id = m->msg_id };
	int rc;

	switch (m->type) {
	case MQTTSN_REGISTER:
		/* The gateway names a topic id before it publishes on it (spec 6.10). */
		topic_set(s, m->topic_id, m->topic_name.p, m->topic_name.len);
		r.type = MQTTSN_REGACK;
		r.topic_id = m->topic_id;
		r.return_code = MQTTSN_RC_ACCEPTED;
		return tmq_send(c, &r);
	case MQTTSN_PUBLISH:
		return deliver(c, s, m);
	case MQTTSN_PUBREL:
		qos2_forget(s, m->msg_id);
		r.type = MQTTSN_PUBCOMP;
		rc = tmq_send(c, &r);
		return rc < 0 ? rc : s->done && s->nqos2 == 0;
	case MQTTSN_PUBACK:
		/* Not the PUBACK of a QoS 1/2 exchange: the reject of a QoS 0 PUBLISH. */
		if (m->return_code != MQTTSN_RC_ACCEPTED) {
			tmq_error(c, "PUBLISH rejected: %s", tmq_rc_name(m->return_code));
			return -EPROTO;
		}
		return 0;
	case MQTTSN_DISCONNECT:
		tmq_error(c, "the gateway sent DISCONNECT: session closed");
		return -ECONNRESET;
	default:
		return 0;
	}
}

static int
client_start(struct tmq_client *c, const struct tmq_opts *o, struct session *s)
{
	memset(c, 0, sizeof(*c));
	memset(s, 0, sizeof(*s));
	s->o = o;
	c->client_id = o->client_id;
	c->bind_port = o->bind_port;
	c->timeout_ms = o->timeout_ms;
	c->retries = o->retries;
	c->verbose = o->verbose;
	c->json = o->json;
	c->on_msg = on_msg;
	c->arg = s;
	c->tr = o->tr;
	c->tr_conf = o->tr_conf;
	return tmq_open(c, o->host, o->port);
}

static int
finish(struct tmq_client *c, struct session *s, int status)
{
	tmq_close(c);
	session_free(s);
	return status;
}

int
tmq_cmd_pub(const struct tmq_opts *o)
{
	struct tmq_client c;
	struct session s;
	struct mqttsn_msg m, r;
	uint16_t topic_id = o->topic_id;
	unsigned long i, n = o->count ? o->count : 1, sent = 0;
	bool connected = o->qos != -1;
	uint64_t start;
	int rc;

	if (client_start(&c, o, &s) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	/* QoS -1 (spec 6.8): no connection, so no registration either. */
	if (connected && tmq_connect(&c, (uint16_t)o->keepalive, o->clean) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	if (o->topic_type == MQTTSN_TOPIC_NORMAL && tmq_register(&c, o->topic, &topic_id) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	c.keepalive_ms = connected ? o->keepalive * 1000 : 0;
	start = tmq_now_ns();
	for (i = 0; i < n && !tmq_interrupted; i++) {
		if (i > 0 && o->interval_ms > 0) {
			rc = tmq_pump(&c, start + (uint64_t)i * o->interval_ms * 1000000u);
			if (rc < 0)
				return finish(&c, &s, TMQ_EXIT_FAIL);
			if (tmq_interrupted)
				break;
		}
		m = (struct mqttsn_msg){
			.type = MQTTSN_PUBLISH,
			.flags = MQTTSN_FLAG_QOS(o->qos) | (uint8_t)o->topic_type |
				 (o->retain ? MQTTSN_FLAG_RETAIN : 0),
			.topic_id = topic_id,
			.msg_id = o->qos > 0 ? tmq_msg_id(&c) : 0,
			.data = { (const uint8_t *)o->message, strlen(o->message) },
		};
		if (o->qos <= 0) {
			rc = tmq_send(&c, &m);
		} else {
			int want = o->qos == 1 ? MQTTSN_PUBACK : MQTTSN_PUBREC;

			rc = tmq_request(&c, "PUBLISH", &m, want, MQTTSN_PUBACK, true, &r);
			if (rc == 0 && r.type == MQTTSN_PUBACK && r.return_code != 0) {
				tmq_error(&c, "PUBLISH rejected: %s", tmq_rc_name(r.return_code));
				rc = -EPROTO;
			} else if (rc == 0 && o->qos == 2 && r.type == MQTTSN_PUBACK) {
				tmq_error(&c, "PUBACK instead of PUBREC for a QoS 2 PUBLISH");
				rc = -EPROTO;
			} else if (rc == 0 && o->qos == 2) {
				struct mqttsn_msg rel = {
					.type = MQTTSN_PUBREL,
					.msg_id = m.msg_id,
				};

				rc = tmq_request(&c, "PUBREL", &rel, MQTTSN_PUBCOMP, -1, true, &r);
			}
		}
		if (rc < 0)
			return finish(&c, &s, TMQ_EXIT_FAIL);
		sent++;
	}
	if (connected && tmq_disconnect(&c, false, 0) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	if (o->json) {
		printf("{\"published\":%lu,\"qos\":%d,\"topic_id\":%u}\n", sent, o->qos, topic_id);
		fflush(stdout);
	}
	return finish(&c, &s, tmq_interrupted ? TMQ_EXIT_FAIL : TMQ_EXIT_OK);
}

static void
report_suback(const struct tmq_opts *o, const struct mqttsn_msg *m)
{
	if (o->json)
		fprintf(stderr, "{\"suback\":{\"granted_qos\":%d,\"topic_id\":%u,\"rc\":\"%s\"}}\n",
			mqttsn_flags_qos(m->flags), m->topic_id, tmq_rc_name(m->return_code));
	else
		fprintf(stderr, "subscribed: granted QoS %d, topic id %u\n",
			mqttsn_flags_qos(m->flags), m->topic_id);
}

/* CONNECT and SUBSCRIBE, for sub and sleep; sub --resume only CONNECTs. */
static int
subscribe(struct tmq_client *c, struct session *s, const struct tmq_opts *o)
{
	struct mqttsn_msg suback;

	s->print = true;
	if (tmq_connect(c, (uint16_t)o->keepalive, o->clean && !o->resume) < 0)
		return -1;
	if (o->resume) {
		if (o->json)
			fputs("{\"resumed\":true}\n", stderr);
		else
			fputs("resumed: connected without CleanSession, no SUBSCRIBE\n", stderr);
		return 0;
	}
	if (tmq_subscribe(c, o->qos, o->topic_type, o->topic, o->topic_id, &suback) < 0)
		return -1;
	report_suback(o, &suback);
	/* A filter without wildcards names one topic: SUBACK carries its id. */
	if (o->topic_type == MQTTSN_TOPIC_NORMAL && suback.topic_id != 0 &&
	    strpbrk(o->topic, "+#") == NULL)
		topic_set(s, suback.topic_id, (const uint8_t *)o->topic, strlen(o->topic));
	return 0;
}

int
tmq_cmd_sub(const struct tmq_opts *o)
{
	struct tmq_client c;
	struct session s;
	uint64_t until = UINT64_MAX;
	int rc = 0;

	if (client_start(&c, o, &s) < 0 || subscribe(&c, &s, o) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	if (o->wait_s > 0)
		until = tmq_now_ns() + (uint64_t)(o->wait_s * 1e9);
	c.keepalive_ms = o->keepalive * 1000;
	if (!(s.done && s.nqos2 == 0))
		rc = tmq_pump(&c, until);
	if (rc < 0 || tmq_disconnect(&c, false, 0) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	if (o->count > 0 && s.received < o->count) {
		tmq_error(&c, "%s: received %lu of %lu publications",
			  tmq_interrupted ? "interrupted" : "timeout", s.received, o->count);
		return finish(&c, &s, TMQ_EXIT_FAIL);
	}
	return finish(&c, &s, TMQ_EXIT_OK);
}

int
tmq_cmd_sleep(const struct tmq_opts *o)
{
	struct tmq_client c;
	struct session s;
	uint16_t duration = (uint16_t)o->duration_s;
	uint64_t sleep_ns = (uint64_t)duration * 1000000000u;
	unsigned int cycle;

	/*
	 * Wake a little before the sleep timer runs out (spec 6.14: a client not
	 * heard from when it expires is lost): 10% early, at most 1 s.
	 */
	sleep_ns -= sleep_ns / 10 < 1000000000u ? sleep_ns / 10 : 1000000000u;
	if (client_start(&c, o, &s) < 0 || subscribe(&c, &s, o) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	for (cycle = 1; cycle <= o->cycles && !tmq_interrupted; cycle++) {
		struct mqttsn_msg ping = {
			.type = MQTTSN_PINGREQ,
			.client_id = { (const uint8_t *)o->client_id, strlen(o->client_id) },
		};
		struct mqttsn_msg resp;
		unsigned long before;

		if (tmq_disconnect(&c, true, duration) < 0 ||
		    tmq_pump(&c, tmq_now_ns() + sleep_ns) < 0)
			return finish(&c, &s, TMQ_EXIT_FAIL);
		if (tmq_interrupted)
			break;
		/* Awake: the gateway flushes what it buffered, then PINGRESP (spec 6.14). */
		before = s.received;
		if (tmq_request(&c, "PINGREQ", &ping, MQTTSN_PINGRESP, -1, false, &resp) < 0)
			return finish(&c, &s, TMQ_EXIT_FAIL);
		if (o->json)
			fprintf(stderr, "{\"cycle\":%u,\"received\":%lu}\n", cycle,
				s.received - before);
		else
			fprintf(stderr, "cycle %u/%u: %lu publication(s) while asleep\n", cycle,
				o->cycles, s.received - before);
	}
	if (tmq_disconnect(&c, false, 0) < 0)
		return finish(&c, &s, TMQ_EXIT_FAIL);
	return finish(&c, &s, tmq_interrupted ? TMQ_EXIT_FAIL : TMQ_EXIT_OK);
}
