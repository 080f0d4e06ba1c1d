/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OSAP devices at the MQTT-SN node (dataplane/osap_access.c): admissions,
 * the binding rule, OPEN and OSAP admission modes, expiry, sealed PUBLISH
 * data both ways, replay and bad seals, re-admission, revocation, and the
 * mbuf pool back at its baseline. The node runs on the ring fixture with two
 * workers, all driven by hand from this thread (as tests/bench does).
 */

#include <arpa/inet.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "dataplane/mqttsn_priv.h"
#include "proto/osap_crypto.h"
#include "tests/unit/dataplane/frames.h"
#include "tests/unit/dataplane/ring_fixture.h"
#include "tests/unit/tap.h"

#define MQ_PORT 1883
#define MAX_MSG 128

static struct ring_fixture fx;

static const uint8_t k1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t k2[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

/* A message the node sent: to which client port, its type and fields, its data copied. */
struct out {
	uint16_t dport;
	uint8_t type, rc, flags;
	uint16_t topic_id, msg_id;
	uint8_t data[256];
	size_t len;
};

static struct out outs[64];
static unsigned int nb_outs;

static uint64_t
total(unsigned int cnt)
{
	struct dp_counters c;
	uint64_t sum = 0;

	for (unsigned int w = 0; w < dp.nb_workers; w++) {
		dp_counters_get(0, w, &c);
		sum += c.v[cnt];
	}
	return sum;
}

static void
send_msg(uint16_t sport, const struct mqttsn_msg *msg)
{
	uint8_t payload[512], frame[600];
	int len = mqttsn_encode(payload, sizeof(payload), msg);
	struct rte_mbuf *m;

	if (len < 0) {
		ok(0, "encode a message (%d)", len);
		return;
	}
	m = fx_frame(frame, fr_udp4_data(frame, sport, MQ_PORT, payload, (size_t)len));
	if (m == NULL || rte_ring_enqueue(fx.rx, m) != 0) {
		rte_pktmbuf_free(m);
		ok(0, "inject a frame");
	}
}

/* Run the workers and the control plane a while; collect what the node sent. */
static void
settle(void)
{
	nb_outs = 0;
	for (unsigned int round = 0; round < 16; round++) {
		for (unsigned int i = 0; i < fx.nb_workers; i++) {
			dp_worker_poll(dp.worker[i]);
			rcu_quiescent_state();
		}
		mqttsn_control_poll();
		rcu_quiescent_state();
		for (unsigned int i = 0; i < fx.nb_workers; i++) {
			struct rte_mbuf *m[32];
			unsigned int n = fx_take(fx.tx[i], m, 32);

			for (unsigned int j = 0; j < n; j++) {
				const uint8_t *f = rte_pktmbuf_mtod(m[j], const uint8_t *);
				struct mqttsn_msg msg;

				if (m[j]->nb_segs == 1 && m[j]->data_len > 42 &&
				    mqttsn_decode(f + 42, m[j]->data_len - 42u, &msg) == 0 &&
				    nb_outs < RTE_DIM(outs)) {
					struct out *o = &outs[nb_outs++];

					o->dport = (uint16_t)(f[36] << 8 | f[37]);
					o->type = msg.type;
					o->rc = msg.return_code;
					o->flags = msg.flags;
					o->topic_id = msg.topic_id;
					o->msg_id = msg.msg_id;
					o->len = 0;
					if (msg.type == MQTTSN_PUBLISH && msg.data.len <= 256) {
						memcpy(o->data, msg.data.p, msg.data.len);
						o->len = msg.data.len;
					}
				} else {
					ok(0, "a frame the node sent decodes");
				}
				rte_pktmbuf_free(m[j]);
			}
		}
	}
}

/* The @p nth message of @p type sent to @p port, or NULL. */
static const struct out *
find(uint16_t port, uint8_t type, unsigned int nth)
{
	for (unsigned int i = 0; i < nb_outs; i++)
		if (outs[i].dport == port && outs[i].type == type && nth-- == 0)
			return &outs[i];
	return NULL;
}

static unsigned int
count(uint16_t port, uint8_t type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nb_outs; i++)
		n += outs[i].dport == port && outs[i].type == type;
	return n;
}

/* CONNECT @p id from @p port; the CONNACK's return code, or -1 if none came. */
static int
connect_as(uint16_t port, const char *id, bool clean)
{
	struct mqttsn_msg c = { .type = MQTTSN_CONNECT, .protocol_id = MQTTSN_PROTOCOL_ID,
				.flags = clean ? MQTTSN_FLAG_CLEAN : 0, .duration = 600 };
	const struct out *a;

	c.client_id.p = (const uint8_t *)id;
	c.client_id.len = strlen(id);
	send_msg(port, &c);
	settle();
	a = find(port, MQTTSN_CONNACK, 0);
	return a != NULL ? a->rc : -1;
}

/* REGISTER or SUBSCRIBE (QoS 0) @p name from @p port: the topic id answered, 0 if none. */
static uint16_t
topic_op(uint16_t port, uint8_t type, const char *name)
{
	struct mqttsn_msg r = { .type = type, .msg_id = 7 };
	const struct out *a;

	r.topic_name.p = (const uint8_t *)name;
	r.topic_name.len = strlen(name);
	send_msg(port, &r);
	settle();
	a = find(port, type == MQTTSN_REGISTER ? MQTTSN_REGACK : MQTTSN_SUBACK, 0);
	return a != NULL && a->rc == MQTTSN_RC_ACCEPTED ? a->topic_id : 0;
}

static void
publish(uint16_t port, uint16_t topic_id, int qos, uint16_t msg_id, const uint8_t *data,
	size_t len)
{
	struct mqttsn_msg p = { .type = MQTTSN_PUBLISH, .topic_id = topic_id, .msg_id = msg_id,
				.flags = (uint8_t)(MQTTSN_FLAG_QOS(qos) | MQTTSN_TOPIC_NORMAL) };

	p.data.p = data;
	p.data.len = len;
	send_msg(port, &p);
	settle();
}

static size_t
seal_up(const uint8_t *key, uint64_t ctr, const char *text, uint8_t *out)
{
	int n = osap_biz_seal(NULL, key, OSAP_DIR_UP, ctr, (const uint8_t *)text, strlen(text),
			      out, 256);

	return n < 0 ? 0 : (size_t)n;
}

static int
admit(const char *id, const uint8_t *key, uint32_t conn, uint32_t life)
{
	char err[128];

	return dp_osap_admit((const uint8_t *)id, strlen(id), key, conn, life, err, sizeof(err));
}

struct listing {
	const char *id;
	struct dp_osap_admission a;
	unsigned int n;
};

static int
list_cb(const struct dp_osap_admission *a, void *arg)
{
	struct listing *l = arg;

	l->n++;
	if (strcmp(a->devid, l->id) == 0)
		l->a = *a;
	return 0;
}

int
main(void)
{
	const struct fx_opts fo = {
		.pool_size = 4095,
		.priv_size = RTE_ALIGN(sizeof(struct mq_pubmeta), RTE_MBUF_PRIV_ALIGN),
	};
	const struct dp_mqttsn_params mp = {
		.enabled = true, .port = MQ_PORT, .max_clients = 16, .max_topics = 64,
		.max_subscriptions = 64, .max_registered_ids = 8,
		.max_subscriptions_per_client = 4, .max_inflight = 4, .max_sleep_buffer = 4,
		.max_message_size = MAX_MSG, .retry_ms = 100000, .retries = 2,
		.keepalive_tolerance_pct = 150, .admission = DP_ADMISSION_OPEN,
	};
	enum { PLAIN = 40001, DEV1 = 40010, DEV1B = 40011, NOBODY = 40020, DEV2 = 40030,
	       DEV3 = 40040, DEV4 = 40050, DEV5 = 40060 };
	uint8_t sealed[256], pt[256], bad[256];
	uint64_t baseline, c, pub_before;
	struct dp_mqttsn_load load;
	struct listing l = { 0 };
	const struct out *o;
	uint16_t up_id, down_id, sub_up, sub_down;
	char err[256];
	size_t n;
	int r;

	if (fx_eal_init("test_osap_access") < 0 || fx_setup_opts(&fx, 2, &fo) < 0 ||
	    (baseline = rte_mempool_in_use_count(dp.pool), false) ||
	    mqttsn_setup(&mp, err, sizeof(err)) < 0) {
		printf("not ok 1 - data plane fixture with the MQTT-SN node\n");
		return 1;
	}
	dp.mqttsn = true;
	dp.mqttsn_port = MQ_PORT;

	/* ---- admissions and CONNECT ---- */
	is_int(connect_as(PLAIN, "plain1", true), MQTTSN_RC_ACCEPTED,
	       "OPEN mode: a client id without admission connects as a plain client");
	is_int(admit("dev1", k1, 60, 3600), 0, "dev1 admitted");
	is_int(admit("", k1, 60, 3600), -EINVAL, "an empty DevID is refused");
	is_int(admit("dev1", k1, 0, 3600), -EINVAL, "a zero connect lifetime is refused");
	is_int(connect_as(DEV1, "dev1", true), MQTTSN_RC_ACCEPTED, "admitted dev1 connects");
	is_int(total(DP_CNT_OSAP_SESSIONS), 1, "osap_sessions counted");
	c = total(DP_CNT_OSAP_CONNECT_REFUSED);
	is_int(connect_as(DEV1B, "dev1", true), MQTTSN_RC_NOT_SUPPORTED,
	       "dev1 from a second address is refused (0x03)");
	is_int(total(DP_CNT_OSAP_CONNECT_REFUSED), c + 1, "osap_connect_refused counted");
	is_int(connect_as(DEV1, "dev1", false), MQTTSN_RC_ACCEPTED,
	       "dev1 from its bound address connects again");
	is_int(total(DP_CNT_OSAP_SESSIONS), 1, "a reconnect with the same key is no new key");
	mq->p.admission = DP_ADMISSION_OSAP;
	is_int(connect_as(NOBODY, "nobody", true), MQTTSN_RC_NOT_SUPPORTED,
	       "OSAP mode: a client id without admission is refused");
	is_int(total(DP_CNT_OSAP_CONNECT_REFUSED), c + 2, "and counted");
	mq->p.admission = DP_ADMISSION_OPEN;
	is_int(connect_as(NOBODY, "dev1", true), MQTTSN_RC_NOT_SUPPORTED,
	       "OPEN mode: an admitted client id is still held to its binding");

	l.id = "dev1";
	is_int(dp_osap_admissions(list_cb, &l), 0, "admissions listed");
	is_int(l.n, 1, "one admission");
	ok(l.a.bound && l.a.port == DEV1 && memcmp(l.a.addr, fr_client4, 4) == 0 && !l.a.v6,
	   "dev1 is bound to its first CONNECT's address and port");
	ok(l.a.connected && l.a.worker >= 0 && l.a.worker < 2, "dev1 connected, on a worker");
	ok(l.a.key_left_s > 3500 && l.a.key_left_s <= 3600 && l.a.connect_left_s <= 60,
	   "seconds left (key %u, connect %u)", l.a.key_left_s, l.a.connect_left_s);

	/* ---- sealed PUBLISH up, plaintext to a plain subscriber ---- */
	sub_up = topic_op(PLAIN, MQTTSN_SUBSCRIBE, "t/up");
	up_id = topic_op(DEV1, MQTTSN_REGISTER, "t/up");
	ok(sub_up != 0 && up_id != 0, "plain1 subscribed to t/up, dev1 registered it");
	pub_before = (dp_mqttsn_load(&load), load.publish_rx);
	n = seal_up(k1, 1, "21.5", sealed);
	publish(DEV1, up_id, 1, 11, sealed, n);
	o = find(PLAIN, MQTTSN_PUBLISH, 0);
	ok(o != NULL && o->len == 4 && memcmp(o->data, "21.5", 4) == 0,
	   "a sealed PUBLISH reaches the plain subscriber as plaintext");
	o = find(DEV1, MQTTSN_PUBACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED && o->msg_id == 11, "QoS 1: PUBACK accepted");
	is_int(total(DP_CNT_OSAP_OPENED), 1, "osap_opened counted");

	publish(DEV1, up_id, 1, 12, sealed, n);
	is_int(count(PLAIN, MQTTSN_PUBLISH), 0, "a replay is not delivered again");
	o = find(DEV1, MQTTSN_PUBACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED, "a replay is still acknowledged");
	is_int(total(DP_CNT_OSAP_REPLAY), 1, "osap_replay counted");

	n = seal_up(k1, 5, "21.5", bad);
	bad[n - 1] ^= 1;
	publish(DEV1, up_id, 1, 13, bad, n);
	o = find(DEV1, MQTTSN_PUBACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_NOT_SUPPORTED && o->msg_id == 13,
	   "a bad tag at QoS 1: PUBACK 0x03");
	n = seal_up(k2, 2, "21.6", sealed);
	publish(DEV1, up_id, 1, 14, sealed, n);
	publish(DEV1, up_id, 0, 0, (const uint8_t *)"short", 5);
	is_int(count(PLAIN, MQTTSN_PUBLISH), 0, "bad tag, wrong key, too short: nothing delivered");
	is_int(total(DP_CNT_OSAP_BAD_SEAL), 3, "osap_bad_seal counted thrice");
	n = seal_up(k1, 3, "21.7", sealed);
	publish(DEV1, up_id, 0, 0, sealed, n);
	o = find(PLAIN, MQTTSN_PUBLISH, 0);
	ok(o != NULL && o->len == 4 && memcmp(o->data, "21.7", 4) == 0,
	   "after them a fresh counter is delivered");
	dp_mqttsn_load(&load);
	is_int(load.publish_rx - pub_before, 6, "dp_mqttsn_load: PUBLISH received counted");
	ok(load.sessions >= 2 && load.osap_sessions == 1 && load.admissions == 1,
	   "dp_mqttsn_load: %u sessions, %u OSAP, %u admissions", load.sessions,
	   load.osap_sessions, load.admissions);

	/* ---- plaintext PUBLISH down, sealed to the OSAP subscriber ---- */
	sub_down = topic_op(DEV1, MQTTSN_SUBSCRIBE, "t/down");
	down_id = topic_op(PLAIN, MQTTSN_REGISTER, "t/down");
	ok(sub_down != 0 && down_id != 0, "dev1 subscribed to t/down, plain1 registered it");
	for (unsigned int i = 0; i < 3; i++) {
		static const char *const txt[3] = { "a", "bb", "ccc" };
		uint64_t ctr = 0;

		publish(PLAIN, down_id, 0, 0, (const uint8_t *)txt[i], strlen(txt[i]));
		o = find(DEV1, MQTTSN_PUBLISH, 0);
		r = o != NULL ? osap_biz_open(NULL, k1, OSAP_DIR_DOWN, o->data, o->len, pt,
					      sizeof(pt), &ctr) : -1;
		ok(r == (int)strlen(txt[i]) && memcmp(pt, txt[i], (size_t)r) == 0 && ctr == i + 1,
		   "delivery %u to dev1 is sealed under its key, DOWN counter %u", i + 1, i + 1);
	}
	is_int(total(DP_CNT_OSAP_SEALED), 3, "osap_sealed counted");
	memset(pt, 'z', 110);
	publish(PLAIN, down_id, 0, 0, pt, 110);
	is_int(count(DEV1, MQTTSN_PUBLISH), 0, "too big once sealed: not delivered");
	is_int(total(DP_CNT_OSAP_SEAL_TOO_BIG), 1, "osap_seal_too_big counted");

	/* ---- re-admission with a new key: the other address takes over ---- */
	is_int(admit("dev1", k2, 60, 3600), 0, "dev1 admitted again with a new key");
	is_int(connect_as(DEV1B, "dev1", false), MQTTSN_RC_ACCEPTED,
	       "after re-admission dev1 connects from the other address");
	is_int(count(DEV1, MQTTSN_DISCONNECT), 1, "the old session hears DISCONNECT");
	is_int(total(DP_CNT_MQTTSN_TAKEOVERS), 1, "a takeover");
	publish(PLAIN, down_id, 0, 0, (const uint8_t *)"new", 3);
	o = find(DEV1B, MQTTSN_PUBLISH, 0);
	{
		uint64_t ctr = 0;

		r = o != NULL ? osap_biz_open(NULL, k2, OSAP_DIR_DOWN, o->data, o->len, pt,
					      sizeof(pt), &ctr) : -1;
		ok(r == 3 && memcmp(pt, "new", 3) == 0 && ctr == 1,
		   "the subscription moved; sealed under the new key, its DOWN counter at 1");
	}
	n = seal_up(k1, 9, "old", sealed);
	publish(DEV1B, up_id, 0, 0, sealed, n);
	is_int(total(DP_CNT_OSAP_BAD_SEAL), 4, "the old key no longer opens");
	n = seal_up(k2, 1, "22.0", sealed);
	publish(DEV1B, up_id, 0, 0, sealed, n);
	o = find(PLAIN, MQTTSN_PUBLISH, 0);
	ok(o != NULL && o->len == 4 && memcmp(o->data, "22.0", 4) == 0,
	   "the new key's counter 1 is accepted (a new replay window)");
	is_int(connect_as(DEV1, "dev1", true), MQTTSN_RC_NOT_SUPPORTED,
	       "now the first address is refused");

	/* ---- expiry: the connect window, the key's lifetime ---- */
	is_int(admit("dev2", k1, 1, 3600), 0, "dev2 admitted, 1 s to connect");
	is_int(admit("dev3", k2, 60, 1), 0, "dev3 admitted, a key of 1 s");
	is_int(connect_as(DEV3, "dev3", true), MQTTSN_RC_ACCEPTED, "dev3 connects");
	usleep(1200 * 1000);
	c = total(DP_CNT_OSAP_EXPIRED);
	is_int(connect_as(DEV2, "dev2", true), MQTTSN_RC_NOT_SUPPORTED,
	       "dev2 after its connect window: refused");
	is_int(total(DP_CNT_OSAP_EXPIRED), c + 1, "osap_expired counted");
	for (unsigned int i = 0; i < 8; i++)
		settle();
	is_int(total(DP_CNT_OSAP_KEY_EXPIRED), 1, "dev3's session ended with its key");
	is_int(connect_as(DEV3, "dev3", true), MQTTSN_RC_NOT_SUPPORTED,
	       "dev3 after its key's lifetime: refused");

	/* ---- an admission for a plain session's client id ends it ---- */
	is_int(connect_as(DEV4, "dev4", true), MQTTSN_RC_ACCEPTED, "dev4 connects plain");
	c = total(DP_CNT_OSAP_ENDED);
	is_int(admit("dev4", k1, 60, 3600), 0, "dev4 admitted");
	settle();
	is_int(count(DEV4, MQTTSN_DISCONNECT), 1, "its plain session hears DISCONNECT");
	is_int(total(DP_CNT_OSAP_ENDED), c + 1, "osap_ended counted");

	/* ---- revocation ---- */
	c = total(DP_CNT_OSAP_ENDED);
	is_int(dp_osap_revoke((const uint8_t *)"dev1", 4), 0, "dev1 revoked");
	is_int(dp_osap_revoke((const uint8_t *)"dev1", 4), -ENOENT, "once");
	settle();
	is_int(count(DEV1B, MQTTSN_DISCONNECT), 1, "dev1's session hears DISCONNECT");
	is_int(total(DP_CNT_OSAP_ENDED), c + 1, "osap_ended counted");
	c = total(DP_CNT_MQTTSN_NO_SESSION);
	n = seal_up(k2, 2, "x", sealed);
	publish(DEV1B, up_id, 1, 20, sealed, n);
	is_int(total(DP_CNT_MQTTSN_NO_SESSION), c + 1, "its PUBLISH finds no session");
	dp_mqttsn_load(&load);
	is_int(load.osap_sessions, 0, "no OSAP session left");

	/* ---- an admission admits one session: its key's counters end with it ---- */
	is_int(admit("dev5", k1, 60, 3600), 0, "dev5 admitted");
	is_int(connect_as(DEV5, "dev5", true), MQTTSN_RC_ACCEPTED, "dev5 connects");
	{
		struct mqttsn_msg d = { .type = MQTTSN_DISCONNECT };

		send_msg(DEV5, &d);
		settle();
	}
	c = total(DP_CNT_OSAP_CONNECT_REFUSED);
	is_int(connect_as(DEV5, "dev5", true), MQTTSN_RC_NOT_SUPPORTED,
	       "after its session ended, dev5 is refused from its own address too "
	       "(a new session would restart the key's counters)");
	is_int(total(DP_CNT_OSAP_CONNECT_REFUSED), c + 1, "and counted");
	is_int(admit("dev5", k2, 60, 3600), 0, "dev5 admitted again with a new key");
	is_int(connect_as(DEV5, "dev5", true), MQTTSN_RC_ACCEPTED, "and connects");

	/* ---- the end: everything released ---- */
	for (const char *id = "dev2"; id != NULL; id = strcmp(id, "dev2") == 0 ? "dev3" :
			strcmp(id, "dev3") == 0 ? "dev4" : strcmp(id, "dev4") == 0 ? "dev5" : NULL)
		dp_osap_revoke((const uint8_t *)id, strlen(id));
	{
		struct mqttsn_msg d = { .type = MQTTSN_DISCONNECT };

		send_msg(PLAIN, &d);
		settle();
	}
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_drain(dp.worker[i]);
	fx_drain(&fx);
	is_int(rte_mempool_in_use_count(dp.pool), baseline, "mbuf pool back at its baseline");
	mqttsn_teardown();
	fx_eal_cleanup();
	return done_testing();
}
