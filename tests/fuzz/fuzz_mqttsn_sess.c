/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the MQTT-SN node's session state machine
 * (dataplane/mqttsn_*.c), fed with message sequences.
 *
 * The data plane runs for real, driven by hand from the fuzzing thread: one
 * port (a net_ring vdev: its TX queues are rings we read back), two workers
 * and the control plane, all on lcore 0, never launched. Every datagram
 * enters through worker 0's fast path (dp_worker_rx()), which steers it to
 * the worker owning the client's flow, as without RSS. Small limits (8
 * sessions, 4 topic ids, 3 in flight, 2 sleep slots, 16 topics) make the
 * edges reachable.
 *
 * An input is a sequence of steps, [op][arguments], read until the input
 * ends (a short argument reads as zeros). The op byte: bits 0-3 the kind,
 * bits 4-6 a variant, bit 7 "settle afterwards" (run workers and control
 * plane until nothing moves). A client byte c names a client: host
 * k = c & 3 (its own MAC, 192.0.2.16+k, 2001:db8::10+k), IPv6 if c & 4, UDP
 * port 50000 + (c >> 3 & 3); c & 0x20 tags its frames with VLAN 100 (the
 * same client by another path); c & 0x40 puts it behind a forwarder: its
 * messages are encapsulated with wireless node id 1 + (c >> 7).
 *
 *   0 RAW          c len body[len]         the body as is (variant 1: len + 256;
 *                                          variant 2: from 0.0.0.0 or ::, port 0)
 *   1 CONNECT      c flags dur16 n id[n]   n % 32; 0: the client's own ("cl<index>");
 *                                          variant 1: a bad protocol id; variant 2: n
 *                                          names a DevID (n & 3, no id[]), see OSAP
 *   2 REGISTER     c msgid16 n name[n]     n % 64; 0: a stock name (variant)
 *   3 SUBSCRIBE    c flags msgid16 then n name[n] (normal: as REGISTER) or topic16
 *   4 UNSUBSCRIBE  as SUBSCRIBE
 *   5 PUBLISH      c flags topic16 msgid16 n data[n]
 *                                          variant 1: c flags topic16 msgid16 sel ctr16
 *                                          n data[n], data sealed as a device would
 *   6 ACK          c msgid16 topic16 rc    variant % 5: REGACK PUBACK PUBREC PUBREL PUBCOMP
 *   7 ANSWER       c rc                    acknowledge one of the last 4 REGISTER, PUBLISH
 *                                          (QoS 1/2) or PUBREL the router sent to c
 *                                          (variant & 3: which); rc & 0x80: rc & 3, else 0;
 *                                          a QoS 2 PUBLISH with rc & 0x40 gets a PUBACK
 *   8 DISCONNECT   c [dur16]               variant 1: with a duration (sleep)
 *   9 PINGREQ      c [n id[n]]             variant 1: with a client id (a sleeper wakes)
 *  10 WILLTOPIC    c flags n topic[n]      variant 1: WILLTOPICUPD; n = 0: variant 2 the
 *                                          empty form, else a stock name (flags & 7)
 *  11 WILLMSG      c n msg[n]              variant 1: WILLMSGUPD
 *  12 POLL                                 worker (variant & 1), both if variant & 2
 *  13 CONTROL                              the control plane's share, once;
 *                                          variant 1: ADMIT d cw kl, 2: REVOKE d,
 *                                          3: MODE m, 4: LIST (see OSAP)
 *  14 ADVANCE      units                   time passes (variant 1: units * 256)
 *  15 SETTLE
 * Structured messages take the fuzzer's fields and only fix what the
 * encoder (proto/mqttsn.h) refuses; RAW covers everything else.
 *
 * OSAP devices (docs/mqttsn.md "OSAP devices"). Four DevIDs, d & 3:
 * "dev0", "dev1", "cl0", "cl1" (the last two are clients 0 and 1's own
 * client ids, so a plain CONNECT of theirs meets an admission). ADMIT
 * calls dp_osap_admit() for DevID d with a connect window of cw * 10 s and
 * a key lifetime of kl * 10 s (0: refused, -EINVAL) and a key of its own:
 * every admission of an input has a different fixed key (up to MAX_ADM
 * admissions, later ones are skipped). REVOKE calls dp_osap_revoke(), MODE
 * sets mqttsn.admission (m & 1: osap, else open), LIST walks
 * dp_osap_admissions() and dp_mqttsn_load(). A sealed PUBLISH's sel byte:
 * DevID sel & 3, sealed under its latest admission's key (sel & 4: the one
 * before; none in this input: a key never admitted), direction UP (sel & 8:
 * DOWN), counter ctr16 (sel & 0x20: ctr16 << 20; 0: a zero counter field
 * on a seal made with 1), then sel & 0x10 flips a tag bit and sel & 0x40 a
 * counter bit. So the fuzzer gets valid seals, replays, old keys and bad
 * tags from one byte.
 *
 * Time. The node reads the TSC (rte_get_tsc_cycles(), inline): it cannot
 * be faked, so the node is configured so that real time never matters
 * (retry_ms = 10000, keep-alive tolerance 1000%: a retransmission is due
 * 10 s after its send, a client of keep-alive d is lost after 10*d s) and
 * ADVANCE moves time instead: it pulls every deadline the sessions hold
 * (keep-alive expiry, retransmission) earlier by units * 10 s of TSC, which
 * is what the clock moving forward would do. The timer scan itself runs on
 * the next POLL. ADVANCE pulls the OSAP deadlines as well: each session's
 * key lifetime and each admission's connect window and key lifetime
 * (through struct adm_mirror, a copy of osap_access.c's private struct
 * mq_adm that every ADMIT checks against what it gave dp_osap_admit()).
 * An input runs for far less than 10 s, so the outcome of an input does
 * not depend on how fast it runs (FUZZ_MQTTSN_SESS_TRACE=1 in the
 * environment prints every message the router sends, and the OSAP
 * counters of each input).
 *
 * Checked after every step, abort() on failure:
 *  - every frame the router sends is a well-formed UDP datagram (checksums
 *    verified by net_classify()) from the router's address and port to one
 *    of the clients (no VLAN tag but theirs), carrying one MQTT-SN message
 *    that decodes, of a type a gateway sends, with sane fields;
 *  - the session tables agree with themselves: active count, free-slot
 *    stack, address hash, each session's limits, held messages own an mbuf;
 *    a free slot's OSAP key state is wiped, only OSAP sessions have a key,
 *    it is the key of one of this input's admissions, nb_osap counts them;
 *  - a PUBLISH to a session with a key installed that opens under that key
 *    (direction DOWN) never reuses a DOWN counter of that key for another
 *    payload (a retransmission repeats the same bytes): AES-GCM nonces are
 *    never reused (docs/osap.md 11, "Nonce uniqueness");
 *  - a sealed PUBLISH step that settles (from a quiet data plane) opens at
 *    most once, only if its seal is genuine (an admission's key, UP, not
 *    modified, counter > 0), and never for an (admission, counter) opened
 *    before in this input: a replay never gets through;
 *  - ADMIT, REVOKE and LIST answer as the admissions made say.
 * Two switches in the environment let fuzzing go on past what the node is
 * known to get wrong: FUZZ_MQTTSN_SESS_PER_SESSION=1 holds the two counter
 * checks to each session rather than to the key (key_holder()),
 * FUZZ_MQTTSN_SESS_ALIGN_IDS=1 8-aligns CONNECT client ids (align_ids).
 * After the input: every admission made is revoked and the admission mode
 * is open again, every session is ended (a kick through the control
 * plane's KICK op for those active, a DISCONNECT from the client for the
 * rest; none may survive), the workers and control plane settle, and
 *  - the admission table is empty, no session holds a key;
 *  - nothing is left in flight: rings, buffers, ops, backlog;
 *  - the topic table holds no subscription and no session, the client id
 *    map (when there is one) no entry;
 *  - the mbuf pool is back at its baseline and the op pool empty.
 * Then the state is reset for the next input: topic table rebuilt, slots
 * handed out from the lowest again, timer cursors at 0. LeakSanitizer's
 * per-input check is off unless asked for (quiet_leak_checks()).
 *
 * fuzz-sources names every dataplane file (dp.c needs port.c, port.c exc.c).
 * tests/fuzz/gen_mqttsn_sess.py writes the seed corpus.
 */
// fuzz-sources: dataplane/*.c
// fuzz-libs: libdpdk liburcu-qsbr liburcu-cds
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "dataplane/mqttsn_priv.h"
#include "dataplane/topic_table.h"
#include "proto/mqttsn.h"
#include "proto/net.h"
#include "proto/osap_crypto.h"

#define CHECK(cond) do { if (!(cond)) failed(#cond, __LINE__); } while (0)

#define NB_WORKERS 2
#define MQ_PORT 1883
#define CLIENT_PORT0 50000
#define NB_CLIENTS 96                 /* (host, family, port, forwarder node) */
#define VLAN_TCI 100
#define POOL_SIZE 4095
#define MAX_STEPS 1024
#define SETTLE_ROUNDS 64
#define HIST 4                        /* remembered messages per client */
#define VDEV "net_ring_fz0"
#define REAPERS 8
#define DEAD_MAX 64
#define NB_DEVIDS 4
#define MAX_ADM 16                    /* admissions per input */
#define DOWN_SEEN 256                 /* DOWN counters remembered per admission */
#define UP_SEEN 256                   /* (admission, UP counter) pairs opened per input */

static const struct dp_mqttsn_params params = {
	.enabled = true,
	.port = MQ_PORT,
	.max_clients = 8,                 /* 4 per worker */
	.max_topics = 16,
	.max_subscriptions = 32,
	.max_registered_ids = 4,
	.max_subscriptions_per_client = 3,
	.max_inflight = 3,
	.max_sleep_buffer = 2,
	.max_message_size = 256,
	.retry_ms = 10000,
	.retries = 2,
	.keepalive_tolerance_pct = 1000,
	.qos_minus_one = true,
};

static const uint8_t router_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x01 };
static const uint8_t router_ip4[4] = { 192, 0, 2, 1 };
static const uint8_t router_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

/* Topic names a step gets when it brings none. */
static const char *const stock[8] = { "a", "a/b", "a/+", "#", "s/1", "ab", "w/x", "$SYS/x" };

static struct rte_ring *txr[NB_WORKERS];      /* what each worker sent */
static struct rte_hash *cid_map;              /* the control plane's, if it has one */
static uint64_t baseline;                     /* mbufs in use after set-up */
static uint64_t unit;                         /* ADVANCE: TSC cycles per unit */
/* LeakSanitizer does not scan DPDK memory, where mq lives: the table's root for it */
static struct topic_table *topics_root;
/* ... and for what osap_access.c keeps there: the admission table, the workers' AEAD contexts */
static struct cds_lfht *adm_root;
static struct osap_aead *aead_root[NB_WORKERS];
static bool trace;                            /* FUZZ_MQTTSN_SESS_TRACE: print what is sent */
/*
 * FUZZ_MQTTSN_SESS_ALIGN_IDS: the client id of a CONNECT is 8-aligned in
 * its mbuf. osap_access.c hashes the id where it lies in the frame with
 * rte_hash_crc(), whose 8-octet loads UBSan stops at when it is not
 * aligned; this lets fuzzing go on past that.
 */
static bool align_ids;
static size_t align_off = SIZE_MAX;           /* offset in the datagram to align; none */

static const char *const devids[NB_DEVIDS] = { "dev0", "dev1", "cl0", "cl1" };

/*
 * A copy of osap_access.c's struct mq_adm (private there), so that ADVANCE
 * can move an admission's deadlines: they are TSC values compared with the
 * clock. adm_verify() checks it against every admission made: if the two
 * drift apart, the first ADMIT fails loudly.
 */
struct adm_mirror {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint32_t gen;
	uint8_t len;
	char devid[DP_OSAP_DEVID_MAX + 1];
	uint8_t key[OSAP_KEY_LEN];
	uint64_t connect_deadline;
	uint64_t key_deadline;
	bool bound;
	struct mq_key src;
};

/* The OSAP side of an input: what was admitted, and what the checks remember. */
static struct {
	struct {
		uint8_t d;
		uint8_t key[OSAP_KEY_LEN];
		uint64_t down_used[DOWN_SEEN / 64];         /* DOWN counters seen */
		uint8_t down_tag[DOWN_SEEN][OSAP_TAG_LEN];  /* the tag each was sent with */
		uint64_t holder;                            /* the last session with the key */
	} a[MAX_ADM];
	unsigned int nb_adm;
	int cur[NB_DEVIDS], prev[NB_DEVIDS];            /* a DevID's last two admissions */
	bool listed[NB_DEVIDS];                         /* in the admission table */
	struct {
		unsigned int adm;
		uint64_t ctr;
	} up[UP_SEEN];
	unsigned int nb_up;
	struct osap_aead *aead;
	uint64_t down_opened;                           /* for the trace */
	bool per_session;                               /* FUZZ_MQTTSN_SESS_PER_SESSION */
} ox;

/* A sealed PUBLISH step being watched (step() and up_check()). */
struct up_watch {
	bool on;
	bool genuine;             /* should open: an admission's key, UP, intact, counter > 0 */
	int adm;                  /* -1: a key never admitted */
	uint64_t ctr;
	uint64_t opened;          /* osap_opened before */
};

/* The last messages the router sent each client that it wants acknowledged. */
static struct {
	struct {
		uint8_t type, qos;
		uint16_t msg_id, topic_id;
	} m[HIST];
	unsigned int n;
} hist[NB_CLIENTS];

/*
 * Old topic tables waiting for their reapers. topic_table_free() waits for
 * the call_rcu thread (rcu_barrier()), which batches its work every 10 ms:
 * a free per input would cap the rate at 100 inputs/s. The reapers free
 * tables nobody uses any more in parallel (their barriers share a batch),
 * so the live table is new at once and the dead ones go in the background.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more, less;
	struct topic_table *q[DEAD_MAX];    /* also LeakSanitizer's root for them */
	unsigned int head, n;
} dead = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER };

/* The frame check_frame() is looking at, for failed(). */
static const uint8_t *cur_frame;
static size_t cur_len;

static void __attribute__((noreturn))
failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_mqttsn_sess.c:%d: check failed: %s\n", line, what);
	if (cur_frame != NULL) {
		fprintf(stderr, "in the frame the router sent:");
		for (size_t i = 0; i < cur_len; i++)
			fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", cur_frame[i]);
		fprintf(stderr, "\n");
	}
	abort();
}

/* ---- input ---- */

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
u8(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t
u16(struct in *in)
{
	uint16_t hi = u8(in);

	return (uint16_t)(hi << 8 | u8(in));
}

/* Up to @p want bytes of the input as a view (fewer if it ends). */
static struct mqttsn_view
take(struct in *in, size_t want)
{
	struct mqttsn_view v = { in->p, want < in->n ? want : in->n };

	in->p += v.len;
	in->n -= v.len;
	return v;
}

static struct mqttsn_view
view_str(const char *s)
{
	return (struct mqttsn_view){ (const uint8_t *)s, strlen(s) };
}

/* ---- clients ---- */

static void
client_if(unsigned int k, struct net_if *nif)
{
	static const uint8_t mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x53, 0x10 };

	memset(nif, 0, sizeof(*nif));
	memcpy(nif->mac, mac, 6);
	nif->mac[5] = (uint8_t)(0x10 + k);
	nif->has_ip4 = nif->has_ip6 = true;
	nif->ip4[0] = 192;
	nif->ip4[2] = 2;
	nif->ip4[3] = (uint8_t)(0x10 + k);
	memcpy(nif->ip6, router_ip6, 16);
	nif->ip6[15] = (uint8_t)(0x10 + k);
	nif->ip4_prefix = 24;
}

/* RCU: a worker is online while it polls, as dp_worker_main() has it. */
static void
worker_rx(struct rte_mbuf *m)
{
	rcu_thread_online();
	dp_worker_rx(dp.worker[0], 0, &m, 1);
	rcu_thread_offline();
}

/* A datagram from @p src (its MAC and addresses) to the router's MQTT-SN port. */
static void
send_from(const struct net_if *src, bool v6, bool vlan, uint16_t tci, uint16_t sport,
	  const uint8_t *body, size_t len)
{
	struct net_peer to = { .v6 = v6, .has_vlan = vlan, .vlan_tci = tci, .port = MQ_PORT };
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	size_t hl;
	uint8_t *buf;

	CHECK(m != NULL);
	memcpy(to.mac, router_mac, 6);
	memcpy(to.addr, v6 ? router_ip6 : router_ip4, v6 ? 16 : 4);
	hl = net_udp_header_len(&to);
	if (align_off != SIZE_MAX)
		m->data_off = (uint16_t)(m->data_off +
					 (8 - (m->data_off + hl + align_off) % 8) % 8);
	CHECK(hl + len <= rte_pktmbuf_tailroom(m));
	buf = rte_pktmbuf_mtod(m, uint8_t *);
	if (len > 0)
		memcpy(buf + hl, body, len);
	CHECK(net_udp_header(buf, hl, src, &to, sport, len, net_cksum_add(0, buf + hl, len)) ==
	      (int)hl);
	m->data_len = (uint16_t)(hl + len);
	m->pkt_len = m->data_len;
	m->port = dp.ports[0].port_id;
	worker_rx(m);
}

static void
send_body(uint8_t c, const uint8_t *body, size_t len)
{
	struct net_if nif;

	client_if(c & 3, &nif);
	send_from(&nif, c & 4, c & 0x20, VLAN_TCI, (uint16_t)(CLIENT_PORT0 + (c >> 3 & 3)), body,
		  len);
}

/* From the unspecified address (0.0.0.0 or ::), port 0: spoofed, or a broken stack. */
static void
send_unspec(uint8_t c, const uint8_t *body, size_t len)
{
	struct net_if nif;

	client_if(c & 3, &nif);
	memset(nif.ip4, 0, sizeof(nif.ip4));
	memset(nif.ip6, 0, sizeof(nif.ip6));
	send_from(&nif, c & 4, c & 0x20, VLAN_TCI, 0, body, len);
}

/* The client c's slot in hist[]: through a forwarder it is another client. */
static unsigned int
client_index(uint8_t c)
{
	return (c & 31u) | (c & 0x40 ? ((c >> 7) + 1u) << 5 : 0u);
}

/* Client c sends @p m, encapsulated by a forwarder with node id 1 or 2 if c & 0x40. */
static void
send_msg(uint8_t c, const struct mqttsn_msg *m)
{
	struct mqttsn_msg e = *m;
	uint8_t buf[1024], node = (uint8_t)((c >> 7) + 1);
	int len;

	if (c & 0x40) {
		e.encap.present = true;
		e.encap.node_id = (struct mqttsn_view){ &node, 1 };
	}
	len = mqttsn_encode(buf, sizeof(buf), &e);
	if (len <= 0)
		return;
	/* a CONNECT ends with its client id */
	if (align_ids && m->type == MQTTSN_CONNECT)
		align_off = (size_t)len - m->client_id.len;
	send_body(c, buf, (size_t)len);
	align_off = SIZE_MAX;
}

/* ---- OSAP devices ---- */

static uint64_t
total(enum dp_cnt cnt)
{
	struct dp_counters c;
	uint64_t sum = 0;

	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		dp_counters_get(0, j, &c);
		sum += c.v[cnt];
	}
	return sum;
}

/* The key of this input's admission @p i (of DevID @p d); i = MAX_ADM: a key never admitted. */
static void
adm_key(unsigned int i, unsigned int d, uint8_t key[OSAP_KEY_LEN])
{
	for (unsigned int j = 0; j < OSAP_KEY_LEN; j++)
		key[j] = (uint8_t)(0x5a ^ j * 29);
	key[0] = (uint8_t)i;
	key[1] = (uint8_t)d;
}

/* Which admission of this input gave @p key; -1 if none. */
static int
adm_of_key(const uint8_t *key)
{
	for (unsigned int i = 0; i < ox.nb_adm; i++)
		if (memcmp(ox.a[i].key, key, OSAP_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

/*
 * @p fn on every entry of the admission table (this thread is its writer).
 * Not cds_lfht_for_each_entry(): at the end of the table it takes
 * caa_container_of() of NULL, which UBSan reports (pointer-overflow).
 */
static unsigned int
adm_each(void (*fn)(struct adm_mirror *, void *), void *arg)
{
	struct cds_lfht_node *n;
	struct cds_lfht_iter it;
	unsigned int nb = 0;

	rcu_thread_online();
	rcu_read_lock();
	for (cds_lfht_first(mq->adm, &it); (n = cds_lfht_iter_get_node(&it)) != NULL;
	     cds_lfht_next(mq->adm, &it)) {
		if (fn != NULL)
			fn(caa_container_of(n, struct adm_mirror, node), arg);
		nb++;
	}
	rcu_read_unlock();
	rcu_thread_offline();
	return nb;
}

struct adm_expect {
	const char *devid;
	const uint8_t *key;
	uint64_t t0, t1, connect, life;     /* TSC */
	unsigned int found;
};

static void
adm_verify_one(struct adm_mirror *a, void *arg)
{
	struct adm_expect *e = arg;
	size_t len = strlen(e->devid);

	if (a->len != len || memcmp(a->devid, e->devid, len) != 0)
		return;
	e->found++;
	if (a->gen != mq->adm_gen || memcmp(a->key, e->key, OSAP_KEY_LEN) != 0 || a->bound ||
	    a->connect_deadline < e->t0 + e->connect || a->connect_deadline > e->t1 + e->connect ||
	    a->key_deadline < e->t0 + e->life || a->key_deadline > e->t1 + e->life)
		failed("struct adm_mirror matches osap_access.c's struct mq_adm", __LINE__);
}

/* Time passes for an admission: its deadlines come @p arg TSC cycles closer. */
static void
adm_advance_one(struct adm_mirror *a, void *arg)
{
	uint64_t d = *(const uint64_t *)arg;

	a->connect_deadline = a->connect_deadline > d + 1 ? a->connect_deadline - d : 1;
	a->key_deadline = a->key_deadline > d + 1 ? a->key_deadline - d : 1;
}

static void
osap_admit(uint8_t d, uint8_t cw, uint8_t kl)
{
	uint32_t cs = cw * 10u, ks = kl * 10u;
	uint64_t hz = rte_get_tsc_hz();
	struct adm_expect e = { .devid = devids[d & 3], .connect = cs * hz, .life = ks * hz };
	unsigned int i = ox.nb_adm;
	uint8_t key[OSAP_KEY_LEN];
	char err[128];
	int rc;

	d &= 3;
	if (i == MAX_ADM)
		return;
	adm_key(i, d, key);
	e.key = key;
	e.t0 = rte_get_tsc_cycles();
	rc = dp_osap_admit((const uint8_t *)devids[d], strlen(devids[d]), key, cs, ks, err,
			   sizeof(err));
	e.t1 = rte_get_tsc_cycles();
	if (cs == 0 || ks == 0) {
		CHECK(rc == -EINVAL);
		return;
	}
	CHECK(rc == 0);
	adm_each(adm_verify_one, &e);
	CHECK(e.found == 1);
	memcpy(ox.a[i].key, key, OSAP_KEY_LEN);
	ox.a[i].d = d;
	memset(ox.a[i].down_used, 0, sizeof(ox.a[i].down_used));
	ox.a[i].holder = 0;
	ox.prev[d] = ox.cur[d];
	ox.cur[d] = (int)i;
	ox.listed[d] = true;
	ox.nb_adm++;
}

static void
osap_revoke(uint8_t d)
{
	int rc;

	d &= 3;
	rc = dp_osap_revoke((const uint8_t *)devids[d], strlen(devids[d]));
	CHECK(rc == (ox.listed[d] ? 0 : -ENOENT));
	ox.listed[d] = false;
}

static unsigned int
nb_listed(void)
{
	unsigned int n = 0;

	for (unsigned int d = 0; d < NB_DEVIDS; d++)
		n += ox.listed[d];
	return n;
}

/*
 * dp_osap_admissions() walks with cds_lfht_for_each_entry(), whose step
 * past the last entry (or start on an empty table) is caa_container_of(NULL),
 * which UBSan stops at: the walk is stopped at the last entry we expect
 * (returning 1), and not started on an empty table.
 */
static int
list_one(const struct dp_osap_admission *a, void *arg)
{
	unsigned int *n = arg, d;

	for (d = 0; d < NB_DEVIDS; d++)
		if (strcmp(a->devid, devids[d]) == 0)
			break;
	CHECK(d < NB_DEVIDS && ox.listed[d]);
	CHECK(a->devid_len == strlen(a->devid));
	CHECK(!a->connected || (a->worker >= 0 && a->worker < NB_WORKERS));
	CHECK(a->connected || a->worker == -1);
	CHECK(!a->bound || a->port == 0 ||
	      (a->port >= CLIENT_PORT0 && a->port < CLIENT_PORT0 + 4));
	(*n)++;
	return *n == nb_listed();
}

static void
osap_list(void)
{
	struct dp_mqttsn_load ld;
	unsigned int n = 0, keyed = 0;

	CHECK(adm_each(NULL, NULL) == nb_listed());
	if (nb_listed() > 0) {
		CHECK(dp_osap_admissions(list_one, &n) == 1);
		CHECK(n == nb_listed());
	}
	CHECK(dp_mqttsn_load(&ld) == 0);
	CHECK(ld.admissions == nb_listed());
	for (unsigned int j = 0; j < NB_WORKERS; j++)
		keyed += mq->w[j]->nb_osap;
	CHECK(ld.admissions == n && ld.osap_sessions == keyed);
	CHECK(ld.sessions == mq->w[0]->nb_active + mq->w[1]->nb_active);
}

/*
 * Seal @p pt into @p out as DevID sel & 3 would (see the top of the file),
 * and say in @p w what should come of it.
 */
static size_t
seal(uint8_t sel, uint64_t ctr, struct mqttsn_view pt, uint8_t *out, size_t cap,
     struct up_watch *w)
{
	unsigned int d = sel & 3;
	int i = sel & 4 ? ox.prev[d] : ox.cur[d];
	uint32_t dir = sel & 8 ? OSAP_DIR_DOWN : OSAP_DIR_UP;
	uint8_t key[OSAP_KEY_LEN];
	int r;

	if (sel & 0x20)
		ctr <<= 20;
	adm_key(i >= 0 ? (unsigned int)i : MAX_ADM, d, key);
	r = osap_biz_seal(ox.aead, key, dir, ctr != 0 ? ctr : 1, pt.p, pt.len, out, cap);
	CHECK(r >= OSAP_BIZ_OVERHEAD);
	if (ctr == 0)
		memset(out + 4, 0, 8);
	if (sel & 0x10)
		out[r - 1] ^= 0x01;
	if (sel & 0x40)
		out[OSAP_BIZ_HDR_LEN - 1] ^= 0x02;
	w->adm = i;
	w->ctr = ctr;
	w->genuine = i >= 0 && dir == OSAP_DIR_UP && !(sel & 0x50) && ctr != 0;
	return (size_t)r;
}

/* After a sealed PUBLISH step that settled: did it open, and should it have? */
static void
up_check(const struct up_watch *w)
{
	uint64_t opened = total(DP_CNT_OSAP_OPENED) - w->opened;

	CHECK(opened <= 1);
	if (opened == 0)
		return;
	if (!w->genuine)
		failed("only a genuine seal opens (the admission's key, UP, intact, counter > 0)",
		       __LINE__);
	for (unsigned int i = 0; i < ox.nb_up; i++)
		if (ox.up[i].adm == (unsigned int)w->adm && ox.up[i].ctr == w->ctr)
			failed("an UP counter opens once per key: a replay got through", __LINE__);
	if (ox.nb_up < UP_SEEN) {
		ox.up[ox.nb_up].adm = (unsigned int)w->adm;
		ox.up[ox.nb_up].ctr = w->ctr;
		ox.nb_up++;
	}
}

/*
 * Session (worker @p j, slot @p slot, generation @p gen) holds the key of
 * admission @p a. The checks hold counters to the key, whatever session
 * uses it; FUZZ_MQTTSN_SESS_PER_SESSION=1 in the environment holds them to
 * the session instead (what a session under a key used before remembers of
 * it is then forgotten), so that fuzzing can go on past a node that starts
 * a key's counters again in each session.
 */
static void
key_holder(int a, unsigned int j, uint32_t slot, uint32_t gen)
{
	uint64_t id = (uint64_t)(j + 1) << 48 | (uint64_t)slot << 32 | gen;

	if (ox.a[a].holder == id)
		return;
	if (ox.per_session && ox.a[a].holder != 0) {
		unsigned int k = 0;

		memset(ox.a[a].down_used, 0, sizeof(ox.a[a].down_used));
		for (unsigned int i = 0; i < ox.nb_up; i++)
			if (ox.up[i].adm != (unsigned int)a)
				ox.up[k++] = ox.up[i];
		ox.nb_up = k;
	}
	ox.a[a].holder = id;
}

/* Admission @p a's DOWN counter @p ctr went out with @p tag: never with another one. */
static void
down_seen(int a, uint64_t ctr, const uint8_t *tag)
{
	ox.down_opened++;
	if (trace)
		fprintf(stderr, "     sealed: admission %d DOWN counter %" PRIu64 "\n", a, ctr);
	if (ctr >= DOWN_SEEN)
		return;
	if (!(ox.a[a].down_used[ctr / 64] & 1ull << ctr % 64)) {
		ox.a[a].down_used[ctr / 64] |= 1ull << ctr % 64;
		memcpy(ox.a[a].down_tag[ctr], tag, OSAP_TAG_LEN);
	} else if (memcmp(ox.a[a].down_tag[ctr], tag, OSAP_TAG_LEN) != 0) {
		fprintf(stderr, "admission %d (DevID %s), DOWN counter %" PRIu64 "\n", a,
			devids[ox.a[a].d], ctr);
		failed("a DOWN counter seals one payload per key (no GCM nonce reuse)", __LINE__);
	}
}

/*
 * A PUBLISH the router sent to @p dst (v6 or not) port @p port, through
 * node @p wnid (0: none): if a session there holds a key under which the
 * data opens (DOWN), its counter must not have carried another payload.
 */
static void
down_check(const uint8_t *dst, bool v6, uint16_t port, unsigned int wnid, struct mqttsn_view data)
{
	static const uint8_t down[4] = { 0, 0, 0, 2 };
	uint8_t pt[RTE_MBUF_DEFAULT_DATAROOM];

	if (data.len < OSAP_BIZ_OVERHEAD || memcmp(data.p, down, 4) != 0)
		return;
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		const struct mq_worker *mw = mq->w[j];

		for (uint32_t i = 0; i < mw->nb_slots; i++) {
			const struct mq_sess *s = &mw->sess[i];
			const struct mq_osap *o = &mw->osap[i];
			const uint8_t *tag = data.p + data.len - OSAP_TAG_LEN;
			uint64_t ctr;
			int a;

			if (s->state == MQ_FREE || o->gen == 0 || s->peer.v6 != v6 ||
			    s->peer.port != port || memcmp(s->peer.addr, dst, v6 ? 16 : 4) != 0 ||
			    (wnid == 0 ? s->key.wnid_len != 0 :
					 s->key.wnid_len != 1 || s->key.wnid[0] != wnid))
				continue;
			if (osap_biz_open(ox.aead, o->key, OSAP_DIR_DOWN, data.p, data.len, pt,
					  sizeof(pt), &ctr) < 0)
				continue;
			a = adm_of_key(o->key);
			CHECK(a >= 0 && ctr != 0);
			key_holder(a, j, i, s->gen);
			down_seen(a, ctr, tag);
			return;
		}
	}
}

/* The next input starts with no admission, in the open mode. */
static void
osap_reset(void)
{
	for (unsigned int d = 0; d < NB_DEVIDS; d++) {
		ox.cur[d] = ox.prev[d] = -1;
		ox.listed[d] = false;
	}
	ox.nb_adm = 0;
	ox.nb_up = 0;
	ox.down_opened = 0;
}

static const enum dp_cnt osap_cnt[] = {
	DP_CNT_OSAP_SESSIONS, DP_CNT_OSAP_CONNECT_REFUSED, DP_CNT_OSAP_EXPIRED,
	DP_CNT_OSAP_KEY_EXPIRED, DP_CNT_OSAP_ENDED, DP_CNT_OSAP_OPENED, DP_CNT_OSAP_BAD_SEAL,
	DP_CNT_OSAP_REPLAY, DP_CNT_OSAP_SEALED, DP_CNT_OSAP_SEAL_TOO_BIG, DP_CNT_OSAP_STALE,
};
static uint64_t osap_cnt0[RTE_DIM(osap_cnt)];

/* FUZZ_MQTTSN_SESS_TRACE: what this input made the OSAP counters do. */
static void
osap_trace(bool start)
{
	if (!trace)
		return;
	if (!start)
		fprintf(stderr, "  osap:");
	for (unsigned int i = 0; i < RTE_DIM(osap_cnt); i++) {
		uint64_t v = total(osap_cnt[i]);

		if (start)
			osap_cnt0[i] = v;
		else if (v != osap_cnt0[i])
			fprintf(stderr, " %s %" PRIu64, dp_cnt_name(osap_cnt[i]), v - osap_cnt0[i]);
	}
	if (!start)
		fprintf(stderr, "; DOWN seals checked %" PRIu64 "\n", ox.down_opened);
}

/* ---- what the router sends ---- */

static bool
gateway_type(uint8_t t)
{
	switch (t) {
	case MQTTSN_ADVERTISE:
	case MQTTSN_GWINFO:
	case MQTTSN_CONNACK:
	case MQTTSN_WILLTOPICREQ:
	case MQTTSN_WILLMSGREQ:
	case MQTTSN_REGISTER:
	case MQTTSN_REGACK:
	case MQTTSN_PUBLISH:
	case MQTTSN_PUBACK:
	case MQTTSN_PUBCOMP:
	case MQTTSN_PUBREC:
	case MQTTSN_PUBREL:
	case MQTTSN_SUBACK:
	case MQTTSN_UNSUBACK:
	case MQTTSN_PINGRESP:
	case MQTTSN_DISCONNECT:
	case MQTTSN_WILLTOPICRESP:
	case MQTTSN_WILLMSGRESP:
		return true;
	default:
		return false;
	}
}

static void
remember(unsigned int client, const struct mqttsn_msg *msg)
{
	unsigned int i = hist[client].n++ % HIST;

	hist[client].m[i].type = msg->type;
	hist[client].m[i].qos = (uint8_t)mqttsn_flags_qos(msg->flags);
	hist[client].m[i].msg_id = msg->msg_id;
	hist[client].m[i].topic_id = msg->topic_id;
}

static void
check_frame(struct rte_mbuf *m)
{
	uint8_t copy[RTE_MBUF_DEFAULT_DATAROOM];
	const uint8_t *f, *ip;
	struct mqttsn_msg msg;
	struct net_pkt pk;
	struct net_if nif;
	enum net_fate fate;
	unsigned int k, node;
	bool v6, unspec = false;
	int qos;

	CHECK(m->pkt_len >= NET_ETH_HLEN && m->pkt_len <= sizeof(copy));
	f = rte_pktmbuf_read(m, 0, m->pkt_len, copy);
	CHECK(f != NULL);
	cur_frame = f;
	cur_len = m->pkt_len;
	/* to one of the clients, from the router */
	CHECK(f[0] == 0x02 && f[1] == 0x00 && f[2] == 0x5e && f[3] == 0x00 && f[4] == 0x53 &&
	      f[5] >= 0x10 && f[5] < 0x14);
	CHECK(memcmp(f + 6, router_mac, 6) == 0);
	k = f[5] - 0x10u;
	client_if(k, &nif);
	fate = net_classify(f, m->pkt_len, &nif, 0, &pk);
	if (fate != NET_UDP4 && fate != NET_UDP6) {
		/* to a client that sent from the unspecified address (send_unspec()) */
		memset(nif.ip4, 0, sizeof(nif.ip4));
		memset(nif.ip6, 0, sizeof(nif.ip6));
		fate = net_classify(f, m->pkt_len, &nif, 0, &pk);
		unspec = true;
	}
	CHECK(fate == NET_UDP4 || fate == NET_UDP6);
	v6 = fate == NET_UDP6;
	CHECK(pk.frame_len == m->pkt_len);
	CHECK(!pk.has_vlan || pk.vlan_tci == VLAN_TCI);
	ip = f + pk.l3_off;
	CHECK(v6 ? memcmp(ip + 8, router_ip6, 16) == 0 : memcmp(ip + 12, router_ip4, 4) == 0);
	CHECK(pk.src_port == MQ_PORT);
	CHECK(unspec ? pk.dst_port == 0 :
		       pk.dst_port >= CLIENT_PORT0 && pk.dst_port < CLIENT_PORT0 + 4);

	CHECK(mqttsn_decode(f + pk.l4_off + 8, pk.l4_len - 8u, &msg) == 0);
	CHECK(gateway_type(msg.type));
	qos = mqttsn_flags_qos(msg.flags);
	if (trace)
		fprintf(stderr, "  -> %s%u:%u%s: %s qos %d topic %u msg %u rc %u len %zu\n",
			v6 ? "v6 " : "", k, pk.dst_port, msg.encap.present ? " (forwarded)" : "",
			mqttsn_type_name(msg.type), qos, msg.topic_id, msg.msg_id, msg.return_code,
			msg.data.len);
	switch (msg.type) {
	case MQTTSN_PUBLISH:
		/* the router publishes by registered or predefined id, QoS 0..2 */
		CHECK(qos >= 0);
		CHECK((msg.flags & MQTTSN_FLAG_TOPIC_MASK) != MQTTSN_TOPIC_SHORT);
		CHECK((msg.flags & MQTTSN_FLAG_TOPIC_MASK) != MQTTSN_TOPIC_NORMAL ||
		      (msg.topic_id >= 1 && msg.topic_id <= params.max_registered_ids));
		CHECK((qos > 0) == (msg.msg_id != 0));
		CHECK(msg.data.len <= params.max_message_size);
		break;
	case MQTTSN_REGISTER:
		CHECK(msg.topic_id >= 1 && msg.topic_id <= params.max_registered_ids);
		CHECK(msg.msg_id != 0);
		break;
	case MQTTSN_PUBREL:
		CHECK(msg.msg_id != 0);
		break;
	default:
		break;
	}
	/* what a client of ours may acknowledge (ANSWER) */
	node = !msg.encap.present ? 0 :
	       msg.encap.node_id.len == 1 && msg.encap.node_id.p[0] >= 1 &&
	       msg.encap.node_id.p[0] <= 2 ? msg.encap.node_id.p[0] : 3;
	if (msg.type == MQTTSN_PUBLISH && node < 3)
		down_check(ip + (v6 ? 24 : 16), v6, pk.dst_port, node, msg.data);
	if (!unspec && node < 3 && (msg.type == MQTTSN_REGISTER || msg.type == MQTTSN_PUBREL ||
				  (msg.type == MQTTSN_PUBLISH && qos > 0)))
		remember(k | (v6 ? 4u : 0u) | (unsigned int)(pk.dst_port - CLIENT_PORT0) << 3 |
			 node << 5, &msg);
	cur_frame = NULL;
}

static void
drain_tx(void)
{
	struct rte_mbuf *m[64];
	unsigned int n;

	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		while ((n = rte_ring_dequeue_burst(txr[j], (void **)m, 64, NULL)) > 0) {
			for (unsigned int i = 0; i < n; i++) {
				check_frame(m[i]);
				rte_pktmbuf_free(m[i]);
			}
		}
	}
}

/* ---- driving the data plane ---- */

static void
poll_worker(unsigned int j)
{
	rcu_thread_online();
	dp_worker_poll(dp.worker[j]);
	rcu_thread_offline();
	drain_tx();
}

/* Nothing in flight anywhere: rings, buffers, ops (the op pool is all back). */
static bool
quiet(void)
{
	if (rte_ring_count(mq->ops) != 0 || rte_mempool_in_use_count(mq->op_pool) != 0)
		return false;
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		const struct dp_worker *w = dp.worker[j];
		const struct mq_worker *mw = mq->w[j];

		if (rte_ring_count(mw->done) || rte_ring_count(mw->deliv) ||
		    rte_ring_count(w->steer_ring) || w->tx[0].n || w->exc_tx[0].n)
			return false;
		for (unsigned int c = 0; c < NB_WORKERS; c++)
			if (w->steer[c].n || mw->fwd[c].n)
				return false;
	}
	return true;
}

/* Run the workers and the control plane until nothing moves. */
static void
settle(void)
{
	for (unsigned int r = 0; r < SETTLE_ROUNDS; r++) {
		for (unsigned int j = 0; j < NB_WORKERS; j++)
			poll_worker(j);
		dp_control_poll();
		if (quiet())
			return;
	}
	/* a livelock, or an op that never comes back */
	failed("the data plane settles", __LINE__);
}

/*
 * Time passes: every deadline the sessions hold comes @p units units closer,
 * and so do the admissions'.
 */
static void
advance(unsigned int units)
{
	uint64_t d = unit * units;

	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		struct mq_worker *mw = mq->w[j];

		for (uint32_t i = 0; i < mw->nb_slots; i++) {
			struct mq_sess *s = &mw->sess[i];
			struct mq_osap *o = &mw->osap[i];

			if (s->state == MQ_FREE)
				continue;
			if (o->gen != 0)
				o->key_expire = o->key_expire > d + 1 ? o->key_expire - d : 1;
			if (s->expire != 0)
				s->expire = s->expire > d + 1 ? s->expire - d : 1;
			for (uint16_t o = 0; o < params.max_inflight; o++)
				if (mq_out_retransmits(s->out[o].kind))
					s->out[o].deadline = s->out[o].deadline > d + 1 ?
							     s->out[o].deadline - d : 1;
		}
	}
	adm_each(adm_advance_one, &d);
}

/* ---- the steps ---- */

enum {
	OP_RAW, OP_CONNECT, OP_REGISTER, OP_SUBSCRIBE, OP_UNSUBSCRIBE, OP_PUBLISH, OP_ACK,
	OP_ANSWER, OP_DISCONNECT, OP_PINGREQ, OP_WILLTOPIC, OP_WILLMSG, OP_POLL, OP_CONTROL,
	OP_ADVANCE, OP_SETTLE,
};

/* A client id from the input, or the client's own. */
static struct mqttsn_view
client_id(struct in *in, uint8_t c, char *own)
{
	size_t n = u8(in) % 32;

	if (n > 0)
		return take(in, n);
	snprintf(own, 8, "cl%u", client_index(c));
	return view_str(own);
}

static struct mqttsn_view
topic_name(struct in *in, unsigned int var)
{
	size_t n = u8(in) % 64;

	return n > 0 ? take(in, n) : view_str(stock[var & 7]);
}

static void
answer(uint8_t c, unsigned int sel, uint8_t rcb)
{
	unsigned int client = client_index(c), n = hist[client].n;
	uint8_t rc = rcb & 0x80 ? rcb & 3 : MQTTSN_RC_ACCEPTED;
	struct mqttsn_msg a = { 0 };

	if (n == 0)
		return;
	n = n < HIST ? n : HIST;
	sel %= n;
	/* the most recent first */
	sel = (hist[client].n - 1 - sel) % HIST;
	a.msg_id = hist[client].m[sel].msg_id;
	a.topic_id = hist[client].m[sel].topic_id;
	a.return_code = rc;
	switch (hist[client].m[sel].type) {
	case MQTTSN_REGISTER:
		a.type = MQTTSN_REGACK;
		break;
	case MQTTSN_PUBREL:
		a.type = MQTTSN_PUBCOMP;
		break;
	default:
		a.type = hist[client].m[sel].qos == 2 && !(rcb & 0x40) ? MQTTSN_PUBREC :
									MQTTSN_PUBACK;
		break;
	}
	send_msg(c, &a);
}

static void
step(uint8_t op, struct in *in)
{
	static const uint8_t acks[5] = { MQTTSN_REGACK, MQTTSN_PUBACK, MQTTSN_PUBREC,
					 MQTTSN_PUBREL, MQTTSN_PUBCOMP };
	unsigned int var = op >> 4 & 7;
	struct mqttsn_msg m = { 0 };
	struct up_watch up = { .on = false };
	uint8_t sealed[320];
	char own[8];
	uint8_t c, tt;
	size_t n;

	switch (op & 15) {
	case OP_RAW:
		c = u8(in);
		n = u8(in) + (var & 1 ? 256u : 0u);
		m.data = take(in, n);
		if (var & 2)
			send_unspec(c, m.data.p, m.data.len);
		else
			send_body(c, m.data.p, m.data.len);
		break;
	case OP_CONNECT:
		c = u8(in);
		m.type = MQTTSN_CONNECT;
		m.flags = u8(in);
		m.duration = u16(in);
		m.protocol_id = var & 1 ? 0x02 : MQTTSN_PROTOCOL_ID;
		if (var & 2)
			m.client_id = view_str(devids[u8(in) & 3]);
		else
			m.client_id = client_id(in, c, own);
		send_msg(c, &m);
		break;
	case OP_REGISTER:
		c = u8(in);
		m.type = MQTTSN_REGISTER;
		m.msg_id = u16(in);
		m.topic_name = topic_name(in, var);
		send_msg(c, &m);
		break;
	case OP_SUBSCRIBE:
	case OP_UNSUBSCRIBE:
		c = u8(in);
		m.type = (op & 15) == OP_SUBSCRIBE ? MQTTSN_SUBSCRIBE : MQTTSN_UNSUBSCRIBE;
		m.flags = u8(in);
		if ((m.flags & MQTTSN_FLAG_TOPIC_MASK) == 3)
			m.flags &= (uint8_t)~MQTTSN_FLAG_TOPIC_MASK;
		if (mqttsn_flags_qos(m.flags) < 0)
			m.flags &= (uint8_t)~MQTTSN_FLAG_QOS(1);     /* -1 -> 2 */
		m.msg_id = u16(in);
		if ((m.flags & MQTTSN_FLAG_TOPIC_MASK) == MQTTSN_TOPIC_NORMAL)
			m.topic_name = topic_name(in, var);
		else
			m.topic_id = u16(in);
		send_msg(c, &m);
		break;
	case OP_PUBLISH:
		c = u8(in);
		m.type = MQTTSN_PUBLISH;
		m.flags = u8(in);
		tt = m.flags & MQTTSN_FLAG_TOPIC_MASK;
		if (tt == 3 || (tt == MQTTSN_TOPIC_NORMAL && mqttsn_flags_qos(m.flags) < 0))
			m.flags = (uint8_t)((m.flags & ~MQTTSN_FLAG_TOPIC_MASK) |
					    MQTTSN_TOPIC_SHORT);
		m.topic_id = u16(in);
		m.msg_id = u16(in);
		if (var & 1) {
			uint8_t sel = u8(in);
			uint64_t ctr = u16(in);

			m.data = take(in, u8(in));
			m.data.len = seal(sel, ctr, m.data, sealed, sizeof(sealed), &up);
			m.data.p = sealed;
			/* what happens to it is known after the settle, if nothing else moves */
			up.on = (op & 0x80) && quiet();
			if (up.on)
				up.opened = total(DP_CNT_OSAP_OPENED);
		} else {
			m.data = take(in, u8(in));
		}
		send_msg(c, &m);
		break;
	case OP_ACK:
		c = u8(in);
		m.type = acks[var % 5];
		m.msg_id = u16(in);
		m.topic_id = u16(in);
		m.return_code = u8(in) & 3;
		send_msg(c, &m);
		break;
	case OP_ANSWER:
		c = u8(in);
		answer(c, var & 3, u8(in));
		break;
	case OP_DISCONNECT:
		c = u8(in);
		m.type = MQTTSN_DISCONNECT;
		if (var & 1) {
			m.has_duration = true;
			m.duration = u16(in);
		}
		send_msg(c, &m);
		break;
	case OP_PINGREQ:
		c = u8(in);
		m.type = MQTTSN_PINGREQ;
		if (var & 1)
			m.client_id = client_id(in, c, own);
		send_msg(c, &m);
		break;
	case OP_WILLTOPIC:
		c = u8(in);
		m.type = var & 1 ? MQTTSN_WILLTOPICUPD : MQTTSN_WILLTOPIC;
		m.flags = u8(in);
		n = u8(in) % 64;
		if (n > 0)
			m.will_topic = take(in, n);
		else if (!(var & 2))
			m.will_topic = view_str(stock[m.flags & 7]);
		if (m.will_topic.len == 0)
			m.flags = 0;
		else if (mqttsn_flags_qos(m.flags) < 0)
			m.flags &= (uint8_t)~MQTTSN_FLAG_QOS_MASK;
		send_msg(c, &m);
		break;
	case OP_WILLMSG:
		c = u8(in);
		m.type = var & 1 ? MQTTSN_WILLMSGUPD : MQTTSN_WILLMSG;
		m.will_msg = take(in, u8(in));
		send_msg(c, &m);
		break;
	case OP_POLL:
		if (var & 2) {
			poll_worker(0);
			poll_worker(1);
		} else {
			poll_worker(var & 1);
		}
		break;
	case OP_CONTROL:
		switch (var) {
		case 1:
			c = u8(in);
			tt = u8(in);
			osap_admit(c, tt, u8(in));
			break;
		case 2:
			osap_revoke(u8(in));
			break;
		case 3:
			mq->p.admission = u8(in) & 1 ? DP_ADMISSION_OSAP : DP_ADMISSION_OPEN;
			break;
		case 4:
			osap_list();
			break;
		default:
			dp_control_poll();
			break;
		}
		break;
	case OP_ADVANCE:
		n = u8(in);
		advance((unsigned int)(var & 1 ? n << 8 : n));
		break;
	case OP_SETTLE:
		settle();
		break;
	}
	if (op & 0x80)
		settle();
	drain_tx();
	if (up.on)
		up_check(&up);
}

/* ---- invariants ---- */

static void
check_sessions(void)
{
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		struct mq_worker *mw = mq->w[j];
		uint32_t nfree = mw->nb_slots - mw->nb_active, active = 0, keyed;
		uint8_t seen[64] = { 0 };

		CHECK(mw->nb_active <= mw->nb_slots && mw->nb_slots <= sizeof(seen));
		CHECK((uint32_t)rte_hash_count(mw->by_addr) == mw->nb_active);
		keyed = 0;
		for (uint32_t i = 0; i < nfree; i++) {
			uint32_t slot = mw->free[i];

			CHECK(slot < mw->nb_slots && !seen[slot] &&
			      mw->sess[slot].state == MQ_FREE);
			seen[slot] = 1;
		}
		for (uint32_t i = 0; i < mw->nb_slots; i++) {
			struct mq_sess *s = &mw->sess[i];
			const struct mq_osap *o = &mw->osap[i];
			void *data;

			/* a key is installed only for an OSAP session, one of ours */
			if (o->gen != 0) {
				int a = adm_of_key(o->key);

				CHECK(s->state != MQ_FREE && s->osap && a >= 0);
				key_holder(a, j, i, s->gen);
				keyed++;
			}
			if (s->state == MQ_FREE) {
				static const struct mq_osap wiped;

				/* keys at rest: wiped when the session ends */
				CHECK(memcmp(o, &wiped, sizeof(wiped)) == 0 && !s->osap);
				CHECK(s->nb_sleep == 0);
				for (uint16_t o = 0; o < params.max_inflight; o++)
					CHECK(s->out[o].kind == MQ_OUT_FREE &&
					      s->out[o].pkt == NULL);
				continue;
			}
			active++;
			CHECK(rte_hash_lookup_data(mw->by_addr, &s->key, &data) >= 0 &&
			      (uintptr_t)data == i);
			CHECK(s->client_id_len <= MQTTSN_CLIENT_ID_SPEC_MAX);
			CHECK(s->nb_ids <= params.max_registered_ids);
			CHECK(s->nb_subs <= params.max_subscriptions_per_client);
			CHECK(s->nb_sleep <= params.max_sleep_buffer);
			CHECK((uint32_t)s->will_topic_len + s->will_msg_len <=
			      params.max_message_size);
			for (uint16_t o = 0; o < params.max_inflight; o++) {
				const struct mq_out *e = &s->out[o];

				CHECK(e->kind <= MQ_OUT_QOS2_REL);
				CHECK((e->kind == MQ_OUT_FREE) == (e->pkt == NULL));
				if (e->kind == MQ_OUT_FREE)
					continue;
				CHECK(rte_mbuf_refcnt_read(e->pkt) >= 1);
				if (mq_out_retransmits(e->kind))
					CHECK(e->msg_id != 0);
				if (e->kind == MQ_OUT_REGISTER || e->kind == MQ_OUT_HOLD)
					CHECK(e->topic_id >= 1 && e->topic_id <= s->nb_ids);
			}
			for (uint16_t q = 0; q < s->nb_sleep; q++)
				CHECK(s->sleepq[q].kind == MQ_OUT_HOLD && s->sleepq[q].pkt != NULL);
		}
		CHECK(active == mw->nb_active);
		CHECK(keyed == mw->nb_osap);
	}
}

/* ---- one input ---- */

static void *
reaper(void *arg)
{
	(void)arg;
	/* topic_table_free() wants a registered thread; offline, as the writer is */
	rcu_register_thread();
	rcu_thread_offline();
	for (;;) {
		struct topic_table *t;

		pthread_mutex_lock(&dead.lock);
		while (dead.n == 0)
			pthread_cond_wait(&dead.more, &dead.lock);
		t = dead.q[dead.head];
		dead.head = (dead.head + 1) % DEAD_MAX;
		dead.n--;
		pthread_cond_signal(&dead.less);
		pthread_mutex_unlock(&dead.lock);
		topic_table_free(t);
	}
	return NULL;
}

/* A new, empty topic table; the old one goes to the reapers. */
static void
renew_topics(void)
{
	const struct topic_table_params tp = {
		.max_topics = params.max_topics,
		.max_subs = params.max_subscriptions,
	};
	struct topic_table *old = mq->topics;

	mq->topics = topic_table_create(&tp);
	CHECK(mq->topics != NULL);
	topics_root = mq->topics;
	pthread_mutex_lock(&dead.lock);
	while (dead.n == DEAD_MAX)
		pthread_cond_wait(&dead.less, &dead.lock);
	dead.q[(dead.head + dead.n) % DEAD_MAX] = old;
	dead.n++;
	pthread_cond_signal(&dead.more);
	pthread_mutex_unlock(&dead.lock);
}

/* End every session: kick those active (the control plane's KICK op), DISCONNECT the rest. */
static void
end_sessions(void)
{
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		struct mq_worker *mw = mq->w[j];

		for (uint32_t i = 0; i < mw->nb_slots; i++) {
			const struct mq_sess *s = &mw->sess[i];
			struct mq_op *op;

			if (s->state != MQ_ACTIVE || s->client_id_len == 0)
				continue;
			CHECK(rte_mempool_get(mq->op_pool, (void **)&op) == 0);
			memset(op, 0, sizeof(*op));
			/* gen 0: no request waits for the answer, it is freed on arrival */
			op->kind = MQ_OP_KICK;
			op->worker = (uint16_t)j;
			op->session = 0;
			op->name_len = s->client_id_len;
			memcpy(op->name, s->client_id, s->client_id_len);
			CHECK(rte_ring_enqueue(mw->done, op) == 0);
		}
	}
	settle();
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		struct mq_worker *mw = mq->w[j];

		for (uint32_t i = 0; i < mw->nb_slots; i++) {
			const struct mq_sess *s = &mw->sess[i];
			struct mqttsn_msg bye = { .type = MQTTSN_DISCONNECT };
			struct net_if nif = { .has_ip4 = true, .has_ip6 = true };
			uint8_t buf[64];
			int len;

			if (s->state == MQ_FREE)
				continue;
#ifdef MQ_WNID_MAX
			/* a client behind a forwarder: its node id is part of its key */
			if (s->key.wnid_len > 0) {
				bye.encap.present = true;
				bye.encap.node_id = (struct mqttsn_view){ s->key.wnid,
									  s->key.wnid_len };
			}
#endif
			len = mqttsn_encode(buf, sizeof(buf), &bye);
			CHECK(len > 0);
			memcpy(nif.mac, s->peer.mac, 6);
			memcpy(nif.ip4, s->peer.addr, 4);
			memcpy(nif.ip6, s->peer.addr, 16);
			send_from(&nif, s->peer.v6, s->peer.has_vlan, s->peer.vlan_tci,
				  s->peer.port, buf, (size_t)len);
		}
	}
	settle();
	/* DISCONNECT without a duration ends a session, whatever its state */
	for (unsigned int j = 0; j < NB_WORKERS; j++)
		CHECK(mq->w[j]->nb_active == 0);
}

static void
finish(void)
{
	struct topic_table_stats st;

	/* the admissions go first: their sessions hear DISCONNECT (osap_ended) */
	for (unsigned int d = 0; d < NB_DEVIDS; d++)
		if (ox.listed[d])
			osap_revoke((uint8_t)d);
	mq->p.admission = params.admission;
	settle();
	end_sessions();
	check_sessions();
	CHECK(quiet());
	drain_tx();
	topic_table_stats(mq->topics, &st);
	/* the sessions took their subscriptions (and their client ids) with them */
	CHECK(st.subs == 0 && st.sessions == 0);
	if (cid_map != NULL && rte_hash_count(cid_map) != 0) {
		const void *key;
		void *val;
		uint32_t it = 0;

		while (rte_hash_iterate(cid_map, &key, &val, &it) >= 0) {
			fprintf(stderr, "client id map entry left:");
			for (int i = 0; i < MQTTSN_CLIENT_ID_SPEC_MAX; i++)
				fprintf(stderr, " %02x", ((const uint8_t *)key)[i]);
			fprintf(stderr, " -> %#" PRIxPTR "\n", (uintptr_t)val);
		}
		failed("the client id map is empty once every session ended", __LINE__);
	}
	CHECK(rte_mempool_in_use_count(mq->op_pool) == 0);
	CHECK(rte_mempool_in_use_count(dp.pool) == baseline);
	CHECK(mq->nb_adm == 0 && adm_each(NULL, NULL) == 0);
	osap_trace(false);
	osap_reset();

	/* the next input starts from scratch */
	if (st.topics > 0 || st.wild_filters > 0 || st.retained > 0)
		renew_topics();
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		struct mq_worker *mw = mq->w[j];

		mw->scan = 0;
		for (uint32_t i = 0; i < mw->nb_slots; i++)
			mw->free[i] = mw->nb_slots - 1 - i;
	}
	memset(hist, 0, sizeof(hist));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct in in = { data, len };

	osap_trace(true);
	for (unsigned int n = 0; in.n > 0 && n < MAX_STEPS; n++) {
		step(u8(&in), &in);
		check_sessions();
	}
	finish();
	return 0;
}

/* ---- set-up ---- */

static void
setup_port(void)
{
	struct dp_port *p = &dp.ports[0];
	struct rte_eth_conf conf;
	uint16_t pid;
	char name[RTE_RING_NAMESIZE];

	CHECK(rte_eth_dev_get_port_by_name(VDEV, &pid) == 0);
	memset(&conf, 0, sizeof(conf));
	CHECK(rte_eth_dev_configure(pid, 1, NB_WORKERS, &conf) == 0);
	CHECK(rte_eth_rx_queue_setup(pid, 0, 1024, rte_socket_id(), NULL, dp.pool) == 0);
	for (uint16_t q = 0; q < NB_WORKERS; q++)
		CHECK(rte_eth_tx_queue_setup(pid, q, 1024, rte_socket_id(), NULL) == 0);
	CHECK(rte_eth_dev_start(pid) == 0);
	/* the ring PMD's own rings: TX queue q is ring q (nobody reads its RX queue) */
	for (unsigned int q = 0; q < NB_WORKERS; q++) {
		snprintf(name, sizeof(name), "ETH_RXTX%u_%s", q, VDEV);
		txr[q] = rte_ring_lookup(name);
		CHECK(txr[q] != NULL);
	}

	snprintf(p->params.name, sizeof(p->params.name), "p0");
	p->params.has_ip4 = p->params.has_ip6 = true;
	memcpy(p->params.ip4, router_ip4, 4);
	p->params.ip4_prefix = 24;
	memcpy(p->params.ip6, router_ip6, 16);
	p->params.ip6_prefix = 64;
	memcpy(p->nif.mac, router_mac, 6);
	p->nif.has_ip4 = p->nif.has_ip6 = true;
	memcpy(p->nif.ip4, router_ip4, 4);
	p->nif.ip4_prefix = 24;
	memcpy(p->nif.ip6, router_ip6, 16);
	p->port_id = pid;
	p->nb_rxq = 1;
	p->nb_txq = NB_WORKERS;
	dp.port_idx_of[pid] = 0;
	dp.nb_ports = 1;
}

/*
 * libFuzzer checks for leaks after an input that allocated more than it
 * freed, and the topic table frees through call_rcu 10 ms later: nearly
 * every input would pay for a full LeakSanitizer pass. Unless the command
 * line says otherwise, -detect_leaks=0 (libFuzzer reads its flags after this
 * function). What LeakSanitizer cannot see, mbufs and ops, finish() counts
 * after every input; a malloc leak still shows in the check at exit.
 */
static void
quiet_leak_checks(int *argc, char ***argv)
{
	static char flag[] = "-detect_leaks=0";
	static char **args;

	for (int i = 1; i < *argc; i++)
		if (strncmp((*argv)[i], "-detect_leaks=", 14) == 0)
			return;
	args = calloc((size_t)*argc + 2, sizeof(*args));
	CHECK(args != NULL);
	memcpy(args, *argv, (size_t)*argc * sizeof(*args));
	args[(*argc)++] = flag;
	*argv = args;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64], err[256];
	char *eal[] = { "fuzz_mqttsn_sess", "--no-huge", "--no-pci", "-m", "256", "--no-shconf",
			"--no-telemetry", "--file-prefix", prefix, "-l", "0", "--log-level",
			"error", "--vdev", VDEV, NULL };

	quiet_leak_checks(argc, argv);
	/* libFuzzer's -jobs/-fork run several at once: a prefix of their own */
	snprintf(prefix, sizeof(prefix), "fuzz-mqttsn-sess-%d", (int)getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "fuzz_mqttsn_sess: EAL initialisation failed\n");
		abort();
	}
	/* no shared config, no telemetry: the runtime directory stays empty */
	rmdir(rte_eal_get_runtime_dir());

	dp.pool = rte_pktmbuf_pool_create("fuzz_pool", POOL_SIZE, 32,
					  RTE_ALIGN(sizeof(struct mq_pubmeta), RTE_MBUF_PRIV_ALIGN),
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	CHECK(dp.pool != NULL);
	setup_port();
	dp.nb_workers = NB_WORKERS;
	for (unsigned int j = 0; j < NB_WORKERS; j++) {
		dp.worker[j] = dp_worker_create(j, rte_lcore_id());
		CHECK(dp.worker[j] != NULL);
	}
	/* as dp_setup() does; registers this thread with RCU, offline */
	if (mqttsn_setup(&params, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_mqttsn_sess: %s\n", err);
		abort();
	}
	dp.mqttsn = true;
	dp.mqttsn_port = MQ_PORT;
	topics_root = mq->topics;
	adm_root = mq->adm;
	for (unsigned int j = 0; j < NB_WORKERS; j++)
		aead_root[j] = mq->w[j]->aead;
	for (unsigned int i = 0; i < REAPERS; i++) {
		pthread_t tid;

		CHECK(pthread_create(&tid, NULL, reaper, NULL) == 0);
		pthread_detach(tid);
	}
	cid_map = rte_hash_find_existing("tern_mq_cids");
	/* 10 s of TSC per unit: the node's timers are 10 s per retry or keep-alive second */
	unit = rte_get_tsc_hz() * 10;
	baseline = rte_mempool_in_use_count(dp.pool);
	trace = getenv("FUZZ_MQTTSN_SESS_TRACE") != NULL;
	ox.aead = osap_aead_new();
	CHECK(ox.aead != NULL);
	ox.per_session = getenv("FUZZ_MQTTSN_SESS_PER_SESSION") != NULL;
	align_ids = getenv("FUZZ_MQTTSN_SESS_ALIGN_IDS") != NULL;
	osap_reset();
	return 0;
}
