/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-device's single-device commands: auth, reauth, publish, subscribe.
 *
 * publish and subscribe go on from the LBS to the access node with the
 * MQTT-SN client of tern-mqttsn (mqttsn_client.h): the client id is the
 * DevID the LBS granted, and PUBLISH data is sealed under the session key
 * (docs/osap.md section 11). tern-device speaks plain MQTT-SN over UDP only,
 * so it offers group 0x01 unless told otherwise, and refuses a node whose
 * granted protocol is DTLS.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mqttsn_client.h"
#include "proto/osap_crypto.h"
#include "tern_device.h"

/* ---- getting a session key ---- */

/*
 * Set up @p d from the options (and the state file), then run the
 * exchange: re-authentication when the state file has a master key and
 * @p allow_reauth, falling back to a first authentication if the LBS no
 * longer knows the DevID (unknown_device, auth_failed) and a code was given.
 * Prints the result (JSON unless @p quiet_json: the caller adds fields).
 * @return the exit status.
 */
static int
obtain(const struct tdev_opts *o, struct osap_dev *d, struct tdev_run *run, bool allow_reauth,
       bool force_reauth, uint8_t caps, bool open_json)
{
	char serial[OSAP_ID_MAX + 1] = "", buf[32];
	const char *error, *sn;
	bool reauth = false;
	int rc;

	if (o->state != NULL) {
		struct osap_dev tmp;

		memset(&tmp, 0, sizeof(tmp));
		rc = tdev_state_load(o->state, &tmp, serial, sizeof(serial));
		if (rc < 0 || (rc == 0 && force_reauth)) {
			if (rc == 0)
				tdev_warn("%s: no such file (run auth --state %s first)", o->state,
					  o->state);
			osap_dev_wipe(&tmp);
			return TDEV_EXIT_USAGE;
		}
		reauth = rc == 1 && (allow_reauth || force_reauth);
		sn = o->serial ? o->serial : serial;
		if (sn[0] == '\0' && !reauth) {
			osap_dev_wipe(&tmp);
			return TDEV_EXIT_USAGE;
		}
		rc = osap_dev_init(d, sn[0] ? sn : tmp.devid, o->code, o->iterations);
		if (rc == 0 && reauth) {
			memcpy(d->devid, tmp.devid, sizeof(d->devid));
			memcpy(d->master_key, tmp.master_key, OSAP_KEY_LEN);
			d->has_master = true;
		}
		osap_dev_wipe(&tmp);
	} else {
		rc = osap_dev_init(d, o->serial, o->code, o->iterations);
	}
	if (rc < 0) {
		tdev_warn("cannot derive the share key: %s", strerror(-rc));
		return TDEV_EXIT_USAGE;
	}
	d->proto_group = o->group;
	d->family = o->family;

	rc = tdev_exchange(o, d, reauth, caps, run);
	if (rc != 0 && reauth && !force_reauth && d->has_share_key &&
	    run->r.err == OSAP_DEV_E_REFUSED &&
	    (run->r.status == OSAP_ST_UNKNOWN_DEVICE || run->r.status == OSAP_ST_AUTH_FAILED)) {
		if (!o->json)
			printf("re-authentication refused (%s): first authentication\n",
			       osap_status_name(run->r.status));
		d->devid[0] = '\0';
		rc = tdev_exchange(o, d, false, caps, run);
	}
	error = tdev_run_error(run, buf, sizeof(buf));
	if (rc == 0 && o->state != NULL && tdev_state_save(o->state, o, d) < 0)
		rc = TDEV_EXIT_PROTO;
	if (o->json) {
		tdev_json_run(stdout, o->cmd, d, run, error);
		if (!open_json || rc != 0)
			tdev_json_end(stdout);
	} else {
		tdev_print_run(o->cmd, d, run, error);
	}
	return rc;
}

int
tdev_cmd_auth(const struct tdev_opts *o)
{
	struct osap_dev d;
	struct tdev_run run;
	int rc = obtain(o, &d, &run, false, false, OSAP_PROTO_KNOWN, false);

	osap_dev_wipe(&d);
	return rc;
}

int
tdev_cmd_reauth(const struct tdev_opts *o)
{
	struct osap_dev d;
	struct tdev_run run;
	int rc = obtain(o, &d, &run, true, true, OSAP_PROTO_KNOWN, false);

	osap_dev_wipe(&d);
	return rc;
}

/* ---- MQTT-SN at the access node ---- */

struct mq_sess {
	const struct tdev_opts *o;
	struct osap_dev *d;
	struct osap_aead *aead;
	struct osap_replay replay;
	char topic[256];             /* the subscribed name (its id from the SUBACK) */
	uint16_t topic_id;
	struct {
		uint16_t id;
		char name[256];
	} reg[32];                   /* ids the node REGISTERed (wildcard subscriptions) */
	unsigned int nreg;
	unsigned long received, refused;
	bool done;
};

/* The exit class of a tmq_* failure: timeouts are the network's. */
static int
mq_exit(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -ENETUNREACH ||
	       rc == -EHOSTUNREACH ? TDEV_EXIT_NET : TDEV_EXIT_PROTO;
}

static const char *
mq_error(int rc, const char *what)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "mqttsn_%s_%s", what,
		 rc == -ETIMEDOUT ? "timeout" : rc == -EPROTO ? "rejected" : "failed");
	return buf;
}

static const char *
topic_of(const struct mq_sess *s, uint16_t id)
{
	if (id == s->topic_id && s->topic_id != 0)
		return s->topic;
	for (unsigned int i = 0; i < s->nreg; i++)
		if (s->reg[i].id == id)
			return s->reg[i].name;
	return NULL;
}

/* One received PUBLISH: open it (direction down, replay checked), print it or the refusal. */
static void
mq_deliver(struct mq_sess *s, const struct mqttsn_msg *m)
{
	uint8_t pt[MQTTSN_MAX_LEN];
	const char *topic = topic_of(s, m->topic_id), *why = NULL;
	char idname[16];
	uint64_t ctr = osap_biz_counter(m->data.p, m->data.len);
	int n = -EBADMSG;

	if (topic == NULL) {
		snprintf(idname, sizeof(idname), "id:%u", m->topic_id);
		topic = idname;
	}
	if (m->data.len < OSAP_BIZ_OVERHEAD)
		why = "too_short";
	else if (osap_replay_check(&s->replay, ctr) < 0)
		why = "replayed";
	else if ((n = osap_biz_open(s->aead, s->d->session_key, OSAP_DIR_DOWN, m->data.p,
				    m->data.len, pt, sizeof(pt), &ctr)) < 0)
		why = "bad_seal";
	if (why != NULL) {
		s->refused++;
		if (s->o->json) {
			fputs("{\"topic\":", stdout);
			tdev_json_str(stdout, topic, strlen(topic));
			printf(",\"error\":\"%s\",\"length\":%zu,\"counter\":%llu}\n", why,
			       m->data.len, (unsigned long long)ctr);
		} else {
			printf("error: %s: payload of %zu bytes refused: %s\n", topic, m->data.len,
			       why);
		}
		fflush(stdout);
		return;
	}
	osap_replay_update(&s->replay, ctr);
	s->received++;
	if (s->o->json) {
		fputs("{\"topic\":", stdout);
		tdev_json_str(stdout, topic, strlen(topic));
		fputs(",\"payload\":", stdout);
		tmq_json_str(stdout, pt, (size_t)n);
		printf(",\"counter\":%llu,\"qos\":%d}\n", (unsigned long long)ctr,
		       mqttsn_flags_qos(m->flags));
	} else {
		fputs(topic, stdout);
		fputc(' ', stdout);
		tmq_text_bytes(stdout, pt, (size_t)n);
		fputc('\n', stdout);
	}
	fflush(stdout);
	OPENSSL_cleanse(pt, (size_t)n);
	if (s->o->count > 0 && s->received >= s->o->count)
		s->done = true;
}

static int
mq_on_msg(struct tmq_client *c, const struct mqttsn_msg *m, void *arg)
{
	struct mq_sess *s = arg;
	struct mqttsn_msg r = { .msg_id = m->msg_id, .topic_id = m->topic_id,
				.return_code = MQTTSN_RC_ACCEPTED };
	size_t n;
	int rc;

	switch (m->type) {
	case MQTTSN_REGISTER:
		if (s->nreg < 32) {
			n = m->topic_name.len < 255 ? m->topic_name.len : 255;
			s->reg[s->nreg].id = m->topic_id;
			memcpy(s->reg[s->nreg].name, m->topic_name.p, n);
			s->reg[s->nreg].name[n] = '\0';
			s->nreg++;
		}
		r.type = MQTTSN_REGACK;
		return tmq_send(c, &r);
	case MQTTSN_PUBLISH:
		if (!s->done)
			mq_deliver(s, m);
		if (mqttsn_flags_qos(m->flags) == 1) {
			r.type = MQTTSN_PUBACK;
			rc = tmq_send(c, &r);
			if (rc < 0)
				return rc;
		}
		return s->done;
	case MQTTSN_DISCONNECT:
		tmq_error(c, "the node sent DISCONNECT: session closed");
		return -ECONNRESET;
	default:
		return 0;
	}
}

/* Open the MQTT-SN client at the node of @p run and CONNECT as the DevID. */
static int
mq_start(struct tmq_client *c, struct mq_sess *s, const struct tdev_opts *o,
	 const struct tdev_run *run, const char **error)
{
	char host[64], port[8];
	int rc;

	if (run->r.node_proto != OSAP_PROTO_PLAIN) {
		tdev_warn("the node speaks MQTT-SN over DTLS (protocol %s); tern-device speaks "
			  "plain MQTT-SN only: offer --group 1", tdev_proto_name(run->r.node_proto));
		*error = "dtls_not_supported";
		return -EPROTONOSUPPORT;
	}
	osap_dev_node_str(&run->r, host, sizeof(host));
	snprintf(port, sizeof(port), "%u", run->r.node_port);
	memset(c, 0, sizeof(*c));
	c->client_id = s->d->devid;
	c->timeout_ms = o->timeout_ms < 3000 ? o->timeout_ms : 3000;
	c->retries = 2;
	c->verbose = o->verbose;
	c->keepalive_ms = 60000;
	c->on_msg = mq_on_msg;
	c->arg = s;
	rc = tmq_open(c, host, port);
	if (rc < 0) {
		*error = "mqttsn_socket_failed";
		return rc;
	}
	rc = tmq_connect(c, 60, true);
	if (rc < 0)
		*error = mq_error(rc, "connect");
	return rc;
}

/* Close the JSON result (or print the human summary) with the MQTT-SN outcome. */
static int
mq_finish(const struct tdev_opts *o, const char *error, int rc, const char *fields)
{
	if (o->json) {
		fputs(fields, stdout);
		fputs(",\"mqttsn_error\":", stdout);
		if (error != NULL)
			tdev_json_str(stdout, error, strlen(error));
		else
			fputs("null", stdout);
		tdev_json_end(stdout);
	} else if (error != NULL) {
		tdev_warn("%s: %s", o->cmd, error);
	}
	return rc;
}

int
tdev_cmd_publish(const struct tdev_opts *o)
{
	uint8_t sealed[MQTTSN_MAX_LEN];
	struct osap_dev d;
	struct tdev_run run;
	struct tmq_client c = { .fd = -1 };
	struct mq_sess s;
	const char *error = NULL;
	char fields[128];
	uint16_t topic_id = 0;
	uint64_t t0;
	int rc, n;

	rc = obtain(o, &d, &run, true, false, OSAP_PROTO_PLAIN, true);
	if (rc != 0)
		goto out;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.d = &d;
	t0 = tmq_now_ns();
	rc = mq_start(&c, &s, o, &run, &error);
	if (rc == 0) {
		rc = tmq_register(&c, o->topic, &topic_id);
		if (rc < 0)
			error = mq_error(rc, "register");
	}
	if (rc == 0) {
		n = osap_biz_seal(NULL, d.session_key, OSAP_DIR_UP, 1, (const uint8_t *)o->message,
				  strlen(o->message), sealed, sizeof(sealed));
		if (n < 0) {
			error = "seal_failed";
			rc = n;
		} else {
			struct mqttsn_msg pub = {
				.type = MQTTSN_PUBLISH,
				.flags = MQTTSN_FLAG_QOS(o->qos) | MQTTSN_TOPIC_NORMAL,
				.topic_id = topic_id,
				.msg_id = o->qos ? tmq_msg_id(&c) : 0,
				.data = { sealed, (size_t)n },
			};
			struct mqttsn_msg ack;

			if (o->qos == 0) {
				rc = tmq_send(&c, &pub);
			} else {
				rc = tmq_request(&c, "PUBLISH", &pub, MQTTSN_PUBACK, -1, true,
						 &ack);
				if (rc == 0 && ack.return_code != MQTTSN_RC_ACCEPTED) {
					tmq_error(&c, "PUBLISH rejected: %s",
						  tmq_rc_name(ack.return_code));
					rc = -EPROTO;
				}
			}
			if (rc < 0)
				error = mq_error(rc, "publish");
		}
	}
	if (rc == 0) {
		rc = tmq_disconnect(&c, false, 0);
		if (rc < 0)
			error = mq_error(rc, "disconnect");
	}
	tmq_close(&c);
	snprintf(fields, sizeof(fields), ",\"topic_id\":%u,\"published\":%d,\"counter\":1,"
		 "\"mqttsn_ms\":%.3f", topic_id, error == NULL || strstr(error, "disconnect") ?
		 1 : 0, (double)(tmq_now_ns() - t0) / 1e6);
	if (!o->json && error == NULL)
		printf("published %zu bytes to %s (topic id %u, QoS %d, sealed: %zu bytes, "
		       "counter 1)\n", strlen(o->message), o->topic, topic_id, o->qos,
		       strlen(o->message) + OSAP_BIZ_OVERHEAD);
	rc = mq_finish(o, error, rc < 0 ? (rc == -EPROTONOSUPPORT ? TDEV_EXIT_PROTO :
					   mq_exit(rc)) : 0, fields);
out:
	OPENSSL_cleanse(sealed, sizeof(sealed));
	osap_dev_wipe(&d);
	return rc;
}

int
tdev_cmd_subscribe(const struct tdev_opts *o)
{
	struct osap_dev d;
	struct tdev_run run;
	struct tmq_client c = { .fd = -1 };
	struct mq_sess *s = calloc(1, sizeof(*s));
	struct mqttsn_msg suback;
	const char *error = NULL;
	char fields[128];
	uint64_t until;
	int rc;

	if (s == NULL)
		return TDEV_EXIT_PROTO;
	/* the authentication's result is a line of its own: messages follow it */
	rc = obtain(o, &d, &run, true, false, OSAP_PROTO_PLAIN, false);
	if (rc != 0)
		goto out;
	s->o = o;
	s->d = &d;
	s->aead = osap_aead_new();
	osap_replay_init(&s->replay);
	snprintf(s->topic, sizeof(s->topic), "%s", o->topic);
	rc = mq_start(&c, s, o, &run, &error);
	if (rc == 0) {
		rc = tmq_subscribe(&c, o->qos, MQTTSN_TOPIC_NORMAL, o->topic, 0, &suback);
		if (rc < 0)
			error = mq_error(rc, "subscribe");
		else
			s->topic_id = suback.topic_id;
	}
	if (rc == 0) {
		if (!o->json)
			fprintf(stderr, "subscribed to %s (topic id %u, QoS %d)\n", o->topic,
				s->topic_id, mqttsn_flags_qos(suback.flags));
		until = o->wait_s > 0 ? tmq_now_ns() + (uint64_t)(o->wait_s * 1e9) : UINT64_MAX;
		rc = tmq_pump(&c, until);
		if (rc < 0)
			error = mq_error(rc, "receive");
		else
			rc = 0;
		if (rc == 0 && tmq_disconnect(&c, false, 0) < 0 && !o->json)
			tdev_warn("no DISCONNECT from the node");
		if (rc == 0 && o->count > 0 && s->received < o->count)
			error = "count_not_reached";
	}
	tmq_close(&c);
	snprintf(fields, sizeof(fields), ",\"topic_id\":%u,\"received\":%lu,\"refused\":%lu",
		 s->topic_id, s->received, s->refused);
	if (!o->json && error == NULL)
		printf("received %lu, refused %lu\n", s->received, s->refused);
	if (o->json)   /* then a closing line: what the subscription received */
		fputs("{\"command\":\"subscribe\",\"summary\":true", stdout);
	rc = mq_finish(o, error, rc < 0 ? (rc == -EPROTONOSUPPORT ? TDEV_EXIT_PROTO :
					   mq_exit(rc)) : error ? TDEV_EXIT_PROTO : 0, fields);
out:
	osap_aead_free(s->aead);
	free(s);
	osap_dev_wipe(&d);
	return rc;
}
