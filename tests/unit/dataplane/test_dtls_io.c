/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's DTLS plumbing (dataplane/dtls_io.c and its parts of
 * worker.c): records to a DTLS port go to the control plane untouched,
 * decrypted messages reach the MQTT-SN node with the peer's identity, the
 * node's answers to a DTLS peer come back to the control plane instead of
 * the port, records the control plane sends go out the port, and the mbuf
 * pool is back at its baseline after all of it. The node runs on the ring
 * fixture with two workers, all driven by hand from this thread.
 */

#include <arpa/inet.h>

#include <urcu-qsbr.h>

#include "dataplane/mqttsn_priv.h"
#include "tests/unit/dataplane/frames.h"
#include "tests/unit/dataplane/ring_fixture.h"
#include "tests/unit/tap.h"

#define MQ_PORT 1883
#define DTLS_PORT 1884
#define MAX_MSG 128

enum { CLI = 40001, PLAIN2 = 40002, OTHER = 40003 };

static struct ring_fixture fx;

/* A message the node sent, out the port or to the control plane (dtls). */
struct out {
	bool dtls;
	struct dp_dgram d;             /* dtls: what dp_dtls_next_out() said */
	uint16_t sport, dport;         /* UDP ports: the router's, the client's */
	uint8_t type, rc;
	uint16_t topic_id, msg_id;
	uint8_t raw[256];              /* the MQTT-SN message as sent */
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

/* Every MQTT-SN counter (the node's own, per type, per error, OSAP's) summed. */
static uint64_t
mqttsn_total(void)
{
	uint64_t sum = 0;

	for (unsigned int i = DP_CNT_MQTTSN_SESSIONS; i < DP_CNT_COAP_RX; i++)
		sum += total(i);
	return sum;
}

static unsigned int
tx_frames(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < fx.nb_workers; i++)
		n += rte_ring_count(fx.tx[i]) + rte_ring_count(fx.exc_tx[i]);
	return n;
}

/* The DTLS peer: the fixture's client, from port @p port, to our DTLS port. */
static struct dp_dgram
peer_of(uint16_t port)
{
	struct dp_dgram d = { .pidx = 0, .peer = { .port = port, .lport = DTLS_PORT } };

	memcpy(d.peer.mac, fr_client_mac, 6);
	memcpy(d.peer.addr, fr_client4, 4);
	return d;
}

/* A message as the control plane decrypted it from @p port with @p identity. */
static int
inject(uint16_t port, const char *identity, const struct mqttsn_msg *msg)
{
	struct dp_dgram d = peer_of(port);
	uint8_t payload[512];
	int len = mqttsn_encode(payload, sizeof(payload), msg);

	if (len < 0)
		return len;
	return dp_dtls_inject(&d, identity, payload, (size_t)len);
}

/* A plain datagram from the client's @p sport to @p dport, read by worker 0. */
static void
send_plain(uint16_t sport, uint16_t dport, const void *payload, size_t len)
{
	uint8_t frame[600];
	struct rte_mbuf *m = fx_frame(frame, fr_udp4_data(frame, sport, dport, payload, len));

	if (m == NULL || rte_ring_enqueue(fx.rx, m) != 0) {
		rte_pktmbuf_free(m);
		ok(0, "inject a frame");
	}
}

static void
send_msg(uint16_t sport, const struct mqttsn_msg *msg)
{
	uint8_t payload[512];
	int len = mqttsn_encode(payload, sizeof(payload), msg);

	if (len < 0) {
		ok(0, "encode a message (%d)", len);
		return;
	}
	send_plain(sport, MQ_PORT, payload, (size_t)len);
}

static void
record(bool dtls, const struct dp_dgram *d, uint16_t sport, uint16_t dport, const uint8_t *p,
       size_t len)
{
	struct mqttsn_msg msg;
	struct out *o;

	if (mqttsn_decode(p, len, &msg) != 0 || len > sizeof(o->raw) ||
	    nb_outs == RTE_DIM(outs)) {
		ok(0, "a message the node sent decodes");
		return;
	}
	o = &outs[nb_outs++];
	o->dtls = dtls;
	if (d != NULL)
		o->d = *d;
	o->sport = sport;
	o->dport = dport;
	o->type = msg.type;
	o->rc = msg.return_code;
	o->topic_id = msg.topic_id;
	o->msg_id = msg.msg_id;
	memcpy(o->raw, p, len);
	o->len = len;
}

/* Run the workers and the control plane a while; collect what the node sent. */
static void
settle(void)
{
	nb_outs = 0;
	for (unsigned int round = 0; round < 16; round++) {
		struct dp_dgram d;
		uint8_t buf[512];
		int r;

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

				if (m[j]->nb_segs == 1 && m[j]->data_len > 42)
					record(false, NULL, (uint16_t)(f[34] << 8 | f[35]),
					       (uint16_t)(f[36] << 8 | f[37]), f + 42,
					       m[j]->data_len - 42u);
				else
					ok(0, "a frame the node sent is one segment");
				rte_pktmbuf_free(m[j]);
			}
		}
		while ((r = dp_dtls_next_out(&d, buf, sizeof(buf))) != 0) {
			if (r < 0) {
				ok(0, "dp_dtls_next_out: %d", r);
				continue;
			}
			record(true, &d, d.peer.lport, d.peer.port, buf, d.len);
		}
	}
}

/* The @p nth message of @p type sent to client port @p port, dtls or not; NULL if none. */
static const struct out *
find(bool dtls, uint16_t port, uint8_t type, unsigned int nth)
{
	for (unsigned int i = 0; i < nb_outs; i++)
		if (outs[i].dtls == dtls && outs[i].dport == port && outs[i].type == type &&
		    nth-- == 0)
			return &outs[i];
	return NULL;
}

static unsigned int
count(bool dtls, uint8_t type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nb_outs; i++)
		n += outs[i].dtls == dtls && outs[i].type == type;
	return n;
}

static struct mqttsn_msg
connect_msg(const char *id)
{
	struct mqttsn_msg c = { .type = MQTTSN_CONNECT, .protocol_id = MQTTSN_PROTOCOL_ID,
				.flags = MQTTSN_FLAG_CLEAN, .duration = 600 };

	c.client_id.p = (const uint8_t *)id;
	c.client_id.len = strlen(id);
	return c;
}

static struct mqttsn_msg
register_msg(const char *name, uint16_t msg_id)
{
	struct mqttsn_msg r = { .type = MQTTSN_REGISTER, .msg_id = msg_id };

	r.topic_name.p = (const uint8_t *)name;
	r.topic_name.len = strlen(name);
	return r;
}

static struct mqttsn_msg
publish_msg(uint16_t topic_id, uint16_t msg_id)
{
	struct mqttsn_msg p = { .type = MQTTSN_PUBLISH, .topic_id = topic_id, .msg_id = msg_id,
				.flags = (uint8_t)(MQTTSN_FLAG_QOS(1) | MQTTSN_TOPIC_NORMAL) };

	p.data.p = (const uint8_t *)"21.5";
	p.data.len = 4;
	return p;
}

/* REGISTER "a/x" then PUBLISH QoS 1 to it, over DTLS (@p identity) or plain; the PUBACK's rc. */
static int
register_publish(bool dtls, uint16_t port, const char *identity, uint16_t msg_id)
{
	struct mqttsn_msg r = register_msg("a/x", msg_id), p;
	const struct out *o;

	if (dtls)
		is_int(inject(port, identity, &r), 0, "REGISTER a/x injected");
	else
		send_msg(port, &r);
	settle();
	o = find(dtls, port, MQTTSN_REGACK, 0);
	if (!ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED && o->topic_id != 0,
		"REGACK accepted (%s)", dtls ? "DTLS" : "plain"))
		return -1;
	p = publish_msg(o->topic_id, (uint16_t)(msg_id + 1));
	if (dtls)
		is_int(inject(port, identity, &p), 0, "PUBLISH injected");
	else
		send_msg(port, &p);
	settle();
	o = find(dtls, port, MQTTSN_PUBACK, 0);
	return o != NULL && o->msg_id == msg_id + 1 ? o->rc : -1;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
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
	static const uint8_t record1[] = { 0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3,
					   'a', 'b', 'c' };
	static const uint8_t record2[] = "another record, a bit longer than the first";
	static const uint8_t out_rec[] = { 0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7, 0, 5,
					   1, 2, 3, 4, 5 };
	struct dp_dtls_params dtp = { .coap_port = 5684, .mqttsn_port = DTLS_PORT };
	struct mqttsn_msg ping = { .type = MQTTSN_PINGREQ }, msg;
	uint64_t baseline, c_in, c_dec, c_out, c_tx, c_mq, c_new;
	char err[256], ident[DP_DTLS_IDENTITY_MAX + 2];
	uint8_t buf[512], connack[8];
	const struct out *o;
	struct dp_dgram d;
	int r;

	if (fx_eal_init("test_dtls_io") < 0 || fx_setup_opts(&fx, 2, &fo) < 0 ||
	    (baseline = rte_mempool_in_use_count(dp.pool), false) ||
	    mqttsn_setup(&mp, err, sizeof(err)) < 0) {
		printf("not ok 1 - data plane fixture with the MQTT-SN node\n");
		return 1;
	}
	dp.mqttsn = true;
	dp.mqttsn_port = MQ_PORT;

	/* ---- setup ---- */
	err[0] = '\0';
	is_int(dp_dtls_setup(&dtp, err, sizeof(err)), -EINVAL,
	       "dp_dtls_setup: a coap_port without the CoAP node is refused");
	ok(strstr(err, "CoAP") != NULL, "the message names the CoAP node (\"%s\")", err);
	ok(!dp_dtls_enabled(), "nothing set up after the refusal");
	dtp.coap_port = 0;
	is_int(dp_dtls_setup(&dtp, err, sizeof(err)), 0, "dp_dtls_setup: mqttsn_port 1884");
	ok(dp_dtls_enabled(), "DTLS enabled");
	is_int(dp_dtls_recv(&d, buf, sizeof(buf)), 0, "dp_dtls_recv: nothing yet");
	is_int(dp_dtls_next_out(&d, buf, sizeof(buf)), 0, "dp_dtls_next_out: nothing yet");

	/* ---- 1. records from a peer: to the control plane, not the node ---- */
	c_mq = mqttsn_total();
	for (unsigned int wi = 0; wi < 2; wi++) {
		const uint8_t *rec = wi == 0 ? record1 : record2;
		size_t len = wi == 0 ? sizeof(record1) : sizeof(record2);
		struct rte_mbuf *m;
		uint8_t frame[600];

		c_in = total(DP_CNT_DTLS_IN);
		m = fx_frame(frame, fr_udp4_data(frame, CLI, DTLS_PORT, rec, len));
		if (m == NULL) {
			ok(0, "an mbuf");
			continue;
		}
		dp_worker_rx(dp.worker[wi], 0, &m, 1);
		dp_worker_flush(dp.worker[wi]);
		memset(&d, 0xee, sizeof(d));
		memset(buf, 0, sizeof(buf));
		is_int(dp_dtls_recv(&d, buf, sizeof(buf)), 1,
		       "worker %u: a datagram to port 1884 comes out of dp_dtls_recv", wi);
		ok(d.pidx == 0 && !d.peer.v6 && !d.peer.has_vlan &&
		   memcmp(d.peer.addr, fr_client4, 4) == 0 && d.peer.port == CLI &&
		   memcmp(d.peer.mac, fr_client_mac, 6) == 0 && d.peer.lport == DTLS_PORT,
		   "worker %u: port 0, peer 192.0.2.2:%u (its MAC), lport %u", wi,
		   d.peer.port, d.peer.lport);
		ok(d.len == len && memcmp(buf, rec, len) == 0, "worker %u: payload (%u octets)",
		   wi, d.len);
		is_int(total(DP_CNT_DTLS_IN), c_in + 1, "worker %u: dtls_in counted", wi);
		is_int(dp_dtls_recv(&d, buf, sizeof(buf)), 0, "dp_dtls_recv: empty again");
	}
	is_int(mqttsn_total(), c_mq, "the MQTT-SN node saw none of them");
	is_int(tx_frames(), 0, "nothing went out the port or to the host stack");
	{
		uint8_t frame[600];
		struct rte_mbuf *m = fx_frame(frame, fr_udp4_data(frame, CLI, DTLS_PORT, record2,
								   sizeof(record2)));

		if (m != NULL) {
			dp_worker_rx(dp.worker[0], 0, &m, 1);
			dp_worker_flush(dp.worker[0]);
		}
		is_int(dp_dtls_recv(&d, buf, 8), -EMSGSIZE,
		       "dp_dtls_recv: a datagram longer than cap is -EMSGSIZE (and freed)");
	}

	/* ---- 2. a decrypted CONNECT: the node answers through the control plane ---- */
	c_dec = total(DP_CNT_DTLS_DECRYPTED);
	c_out = total(DP_CNT_DTLS_OUT);
	msg = connect_msg("other");
	is_int(inject(CLI, "sensor-1", &msg), 0, "dp_dtls_inject: CONNECT as sensor-1");
	settle();
	o = find(true, CLI, MQTTSN_CONNACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED, "CONNACK accepted, out of dp_dtls_next_out");
	is_int(count(false, MQTTSN_CONNACK), 0, "no CONNACK on the port's TX rings");
	{
		struct mqttsn_msg a = { .type = MQTTSN_CONNACK, .return_code = MQTTSN_RC_ACCEPTED };
		int n = mqttsn_encode(connack, sizeof(connack), &a);

		ok(o != NULL && o->d.pidx == 0 && !o->d.peer.v6 &&
		   memcmp(o->d.peer.addr, fr_client4, 4) == 0 && o->d.peer.port == CLI &&
		   memcmp(o->d.peer.mac, fr_client_mac, 6) == 0 && o->d.peer.lport == DTLS_PORT,
		   "its peer: 192.0.2.2:%u (its MAC) from our port 1884", CLI);
		ok(o != NULL && n > 0 && o->len == (size_t)n && memcmp(o->raw, connack, o->len) == 0,
		   "its payload: the CONNACK's octets");
	}
	is_int(total(DP_CNT_DTLS_DECRYPTED), c_dec + 1, "dtls_decrypted counted");
	is_int(total(DP_CNT_DTLS_OUT), c_out + 1, "dtls_out counted");
	is_int(inject(CLI, "sensor-1", &ping), 0, "PINGREQ injected");
	settle();
	ok(find(true, CLI, MQTTSN_PINGRESP, 0) != NULL, "the session exists: PINGRESP back");
	is_int(total(DP_CNT_DTLS_DECRYPTED), c_dec + 2, "dtls_decrypted counted again");
	is_int(total(DP_CNT_DTLS_OUT), c_out + 2, "dtls_out counted again");
	is_int(nb_outs, 1, "and nothing else was sent");

	/* ---- 3. the same address and port in plain: another session ---- */
	msg = connect_msg("plain");
	send_msg(CLI, &msg);
	settle();
	o = find(false, CLI, MQTTSN_CONNACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED && o->sport == MQ_PORT,
	   "a plain CONNECT from 192.0.2.2:%u: CONNACK out the port from 1883", CLI);
	is_int(nb_outs, 1, "nothing else sent, nothing to the control plane");
	is_int(inject(CLI, "sensor-1", &ping), 0, "PINGREQ over DTLS again");
	settle();
	ok(find(true, CLI, MQTTSN_PINGRESP, 0) != NULL && count(false, MQTTSN_PINGRESP) == 0,
	   "the DTLS session is still there, separate");

	/* ---- 4. access rules see the identity, not the client id ---- */
	{
		const struct dp_mqttsn_access rules[] = {
			{ .client = "sensor-1", .topic = "a/#", .ops = 1, .allow = true },
		};

		is_int(dp_mqttsn_access_set(rules, 1, err, sizeof(err)), 0,
		       "access rule: sensor-1 may publish to a/#, nothing else");
	}
	is_int(register_publish(true, CLI, "sensor-1", 10), MQTTSN_RC_ACCEPTED,
	       "DTLS sensor-1, client id \"other\": PUBLISH a/x accepted");
	c_new = total(DP_CNT_MQTTSN_DTLS_NEW_IDENTITY);
	msg = connect_msg("other");
	is_int(inject(CLI, "sensor-2", &msg), 0, "CONNECT from the same peer as sensor-2");
	settle();
	is_int(total(DP_CNT_MQTTSN_DTLS_NEW_IDENTITY), c_new + 1,
	       "mqttsn_dtls_new_identity: the old session ended");
	o = find(true, CLI, MQTTSN_CONNACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED, "sensor-2's CONNACK");
	is_int(register_publish(true, CLI, "sensor-2", 20), MQTTSN_RC_NOT_SUPPORTED,
	       "DTLS sensor-2, client id \"other\": PUBLISH a/x refused (0x03)");
	msg = connect_msg("other");
	send_msg(PLAIN2, &msg);
	settle();
	o = find(false, PLAIN2, MQTTSN_CONNACK, 0);
	ok(o != NULL && o->rc == MQTTSN_RC_ACCEPTED, "plain CONNECT with client id \"other\"");
	is_int(register_publish(false, PLAIN2, NULL, 30), MQTTSN_RC_NOT_SUPPORTED,
	       "plain, client id \"other\": PUBLISH a/x refused (0x03)");
	msg = connect_msg("sensor-1");
	send_msg(OTHER, &msg);
	settle();
	is_int(register_publish(false, OTHER, NULL, 40), MQTTSN_RC_ACCEPTED,
	       "plain, client id \"sensor-1\": PUBLISH a/x accepted (the rule works in plain)");
	is_int(dp_mqttsn_access_set(NULL, 0, err, sizeof(err)), 0, "access rules removed");

	/* ---- 5. records from the control plane: out the port ---- */
	c_tx = total(DP_CNT_DTLS_TX);
	d = peer_of(CLI);
	is_int(dp_dtls_send(&d, out_rec, sizeof(out_rec)), 0, "dp_dtls_send: a record");
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_poll(dp.worker[i]);
	is_int(tx_frames(), 1, "one frame on the port's TX rings");
	for (unsigned int i = 0; i < fx.nb_workers; i++) {
		struct rte_mbuf *m;

		while (fx_take(fx.tx[i], &m, 1) == 1) {
			uint8_t f[600];
			size_t fl = rte_pktmbuf_pkt_len(m);
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(void *)(f + 14);
			struct rte_udp_hdr *u = (struct rte_udp_hdr *)(void *)(f + 34);
			const void *p = NULL;
			uint16_t ck;

			if (fl == 42 + sizeof(out_rec))
				p = rte_pktmbuf_read(m, 0, (uint32_t)fl, f);
			if (!ok(p != NULL, "the frame: 42 + %zu octets (%zu)", sizeof(out_rec), fl)) {
				rte_pktmbuf_free(m);
				continue;
			}
			if (p != f)
				memcpy(f, p, fl);
			ok(memcmp(f, fr_client_mac, 6) == 0 && memcmp(f + 6, fr_router_mac, 6) == 0 &&
			   rd16(f + 12) == 0x0800, "Ethernet: to the client's MAC from ours, IPv4");
			ok(memcmp(f + 26, fr_router4, 4) == 0 && memcmp(f + 30, fr_client4, 4) == 0 &&
			   f[23] == IPPROTO_UDP && rd16(f + 16) == fl - 14,
			   "IPv4: 192.0.2.1 -> 192.0.2.2, UDP, total length");
			ok((f[14] & 0x0f) == 5 && rte_raw_cksum(ip, 20) == 0xffff,
			   "IPv4 header (20 octets) checksum valid");
			ok(rd16(f + 34) == DTLS_PORT && rd16(f + 36) == CLI &&
			   rd16(f + 38) == 8 + sizeof(out_rec),
			   "UDP: from 1884 to %u, length %zu", CLI, 8 + sizeof(out_rec));
			ck = u->dgram_cksum;
			u->dgram_cksum = 0;
			ok(ck != 0 && ck == rte_ipv4_udptcp_cksum(ip, u),
			   "UDP checksum valid (%04x)", ntohs(ck));
			ok(memcmp(f + 42, out_rec, sizeof(out_rec)) == 0, "payload: the record");
			rte_pktmbuf_free(m);
		}
	}
	is_int(total(DP_CNT_DTLS_TX), c_tx + 1, "dtls_tx counted");
	d.pidx = 5;
	is_int(dp_dtls_send(&d, out_rec, sizeof(out_rec)), -ENOBUFS,
	       "dp_dtls_send to a port that does not exist: -ENOBUFS");

	/* ---- 6. errors ---- */
	memset(ident, 'i', sizeof(ident));
	ident[DP_DTLS_IDENTITY_MAX + 1] = '\0';
	d = peer_of(CLI);
	is_int(dp_dtls_inject(&d, ident, (const uint8_t *)"\x02\x16", 2), -EINVAL,
	       "dp_dtls_inject: a 256-octet identity is -EINVAL");
	is_int(dp_dtls_inject(&d, "sensor-1", (const uint8_t *)"\x02\x16", 0), -EINVAL,
	       "dp_dtls_inject: len 0 is -EINVAL");
	ident[DP_DTLS_IDENTITY_MAX] = '\0';
	c_dec = total(DP_CNT_DTLS_DECRYPTED);
	r = inject(OTHER, ident, &ping);
	is_int(r, 0, "dp_dtls_inject: a 255-octet identity is fine");
	settle();
	is_int(total(DP_CNT_DTLS_DECRYPTED), c_dec + 1, "and reaches the node");

	/* ---- 7. the end: everything released ---- */
	for (unsigned int i = 0; i < 4; i++)
		settle();
	for (unsigned int i = 0; i < fx.nb_workers; i++)
		dp_worker_drain(dp.worker[i]);
	dp_dtls_drain();
	fx_drain(&fx);
	is_int(rte_mempool_in_use_count(dp.pool), baseline, "mbuf pool back at its baseline");
	dp_dtls_teardown();
	ok(!dp_dtls_enabled(), "dp_dtls_teardown: DTLS off");
	mqttsn_teardown();
	fx_eal_cleanup();
	return done_testing();
}
