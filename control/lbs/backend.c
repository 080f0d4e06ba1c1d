/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The backend of the LBS's sessions (struct lbs_backend in session.h):
 * devices from the registry, access nodes from the pool, admissions at
 * this instance (the data plane's admission table) or over the node link.
 *
 * What is written to the registry, and when. The DevID and master key at
 * 0x8, in one transaction, committed before the 0x8 is sent: a
 * re-authentication after a restart (kill -9 included) needs the master
 * key. The session key, its expiry, the node and the last-seen time when
 * the device is admitted, batched: they are queued and committed together
 * every BE_FLUSH_MS (or when BE_PENDING_MAX are waiting), one fsync per
 * batch instead of one per device. They are for the operator (device.show)
 * and lose nothing the protocol needs if a crash drops the last batch: the
 * node holds the admission, and the device's next refresh writes them
 * again. Every device.* command flushes the batch first (lbs_flush()), so
 * what an operator reads includes every admission made before.
 *
 * Per-device throttle (lbs.device_rate): token buckets in a fixed table
 * indexed by a keyed hash of the serial number or DevID, as the
 * per-source limit in service.c; collisions only make it stricter.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <rte_jhash.h>
#include <rte_log.h>

#include "control/lbs/lbs.h"
#include "control/lbs/registry.h"
#include "control/ternd.h"
#include "proto/errcode.h"
#include "dataplane/dp.h"
#include "proto/osap_crypto.h"

#define BE_BUCKETS 4096
#define BE_FLUSH_MS 50
#define BE_PENDING_MAX 1024

/* An admission waiting to be recorded in the registry. */
struct be_record {
	char devid[LBS_REG_DEVID_MAX + 1];
	char node[LBS_NODE_NAME_MAX + 1];
	uint8_t key[OSAP_KEY_LEN];
	int64_t expiry;
};

const char lbs_self_name[] = "self";

struct be_bucket {
	uint64_t last_ms;
	uint32_t tokens_milli;
};

static struct {
	struct lbs_backend b;
	struct lbs_reg *reg;
	struct lbs_pool *pool;
	struct lbs_policy policy;
	uint32_t device_rate;          /* per minute */
	uint32_t hash_key;
	struct be_bucket *buckets;
	char picked[LBS_NODE_NAME_MAX + 1];   /* pick_node() -> admit() */
	uint32_t picked_slot;
	bool self_in_pool;
	struct event *load_timer;
	struct event *flush_timer;
	struct be_record *pending;
	unsigned int nb_pending;
	uint64_t last_publishes;
	uint64_t last_load_ms;
} be;

static uint64_t
be_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t
be_wall_s(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void
be_policy(void *ctx, struct lbs_policy *p)
{
	(void)ctx;
	*p = be.policy;
}

/* A registry failure: internal_error to the device, a counter and a log line. */
static int
reg_failed(const char *what, int rc)
{
	lbs_count(LBS_C_registry_errors);
	TERN_LOG(ERR, "lbs: registry %s: %s (%s)", what, tern_strerror(rc),
		 lbs_reg_errmsg(be.reg));
	return rc;
}

/* An id of the wire (not NUL-terminated) as a C string; false if too long. */
static bool
id_str(char *buf, size_t cap, const uint8_t *id, size_t len)
{
	if (len == 0 || len >= cap || memchr(id, '\0', len) != NULL)
		return false;
	memcpy(buf, id, len);
	buf[len] = '\0';
	return true;
}

static int
be_lookup_serial(void *ctx, const uint8_t *serial, size_t len, struct lbs_dev_rec *rec)
{
	char sn[LBS_REG_SERIAL_MAX + 1];
	struct lbs_reg_device d;
	int rc;

	(void)ctx;
	if (!id_str(sn, sizeof(sn), serial, len))
		return -ENOENT;
	rc = lbs_reg_get(be.reg, sn, &d);
	if (rc == -ENOENT || rc == -EINVAL)
		return -ENOENT;
	if (rc < 0)
		return reg_failed("read", rc);
	memcpy(rec->key, d.share_key, sizeof(rec->key));
	rec->blocked = d.state == LBS_REG_BLOCKED;
	OPENSSL_cleanse(&d, sizeof(d));
	return 0;
}

static int
be_lookup_devid(void *ctx, const uint8_t *devid, size_t len, struct lbs_dev_rec *rec)
{
	char id[LBS_REG_DEVID_MAX + 1];
	struct lbs_reg_device d;
	int rc;

	(void)ctx;
	if (!id_str(id, sizeof(id), devid, len))
		return -ENOENT;
	rc = lbs_reg_get_by_devid(be.reg, id, &d);
	if (rc == -ENOENT || rc == -EINVAL)
		return -ENOENT;
	if (rc < 0)
		return reg_failed("read", rc);
	if (!d.has_master) {
		OPENSSL_cleanse(&d, sizeof(d));
		return -ENOENT;
	}
	memcpy(rec->key, d.master_key, sizeof(rec->key));
	rec->blocked = d.state == LBS_REG_BLOCKED;
	OPENSSL_cleanse(&d, sizeof(d));
	return 0;
}

static int
be_throttle(void *ctx, uint8_t type, const uint8_t *id, size_t len, uint16_t *retry_after)
{
	struct be_bucket *b;
	uint64_t now = be_now_ms(NULL), cap = (uint64_t)be.device_rate * 1000;

	(void)ctx;
	if (be.device_rate == 0)
		return 0;
	b = &be.buckets[rte_jhash(id, (uint32_t)len, be.hash_key ^ type) & (BE_BUCKETS - 1)];
	if (b->last_ms == 0) {
		b->tokens_milli = (uint32_t)cap;
	} else {
		/* device_rate tokens a minute: rate/60000 a millisecond */
		uint64_t t = b->tokens_milli + (now - b->last_ms) * be.device_rate / 60;

		b->tokens_milli = (uint32_t)(t > cap ? cap : t);
	}
	b->last_ms = now;
	if (b->tokens_milli >= 1000) {
		b->tokens_milli -= 1000;
		return 0;
	}
	lbs_count(LBS_C_throttled);
	*retry_after = (uint16_t)((1000 - b->tokens_milli) * 60 / be.device_rate / 1000 + 1);
	return -EAGAIN;
}

static int
be_apply_devid(void *ctx, const uint8_t *serial, size_t serial_len,
	       const uint8_t master_key[OSAP_KEY_LEN], struct lbs_devid *devid)
{
	char sn[LBS_REG_SERIAL_MAX + 1], id[LBS_REG_DEVID_MAX + 1];
	int rc;

	(void)ctx;
	if (!id_str(sn, sizeof(sn), serial, serial_len))
		return -EINVAL;
	rc = lbs_reg_begin(be.reg);
	if (rc < 0)
		return reg_failed("begin", rc);
	rc = lbs_reg_set_devid(be.reg, sn, id, sizeof(id));
	if (rc < 0) {
		lbs_reg_rollback(be.reg);
		return reg_failed("DevID", rc);
	}
	devid->len = (uint8_t)rc;
	memcpy(devid->id, id, (size_t)rc);
	rc = lbs_reg_set_master_key(be.reg, sn, master_key);
	if (rc < 0) {
		lbs_reg_rollback(be.reg);
		return reg_failed("master key", rc);
	}
	rc = lbs_reg_commit(be.reg);
	if (rc < 0)
		return reg_failed("commit", rc);
	return 0;
}

static int
be_store_session_key(void *ctx, const uint8_t *devid, size_t devid_len,
		     const uint8_t key[OSAP_KEY_LEN], int64_t expiry)
{
	/* recorded with the node at admission (see the top of this file) */
	(void)ctx;
	(void)devid;
	(void)devid_len;
	(void)key;
	(void)expiry;
	return 0;
}

static int
be_pick_node(void *ctx, const uint8_t *devid, size_t devid_len, uint8_t family,
	     uint8_t proto_type, uint8_t proto, struct lbs_node_addr *node)
{
	struct lbs_pool_choice ch;
	int rc;

	(void)ctx;
	if (proto_type != OSAP_PROTO_TYPE_MQTTSN)
		return -ENOENT;
	rc = lbs_pool_pick(be.pool, devid, devid_len, family, proto, &ch);
	if (rc < 0)
		return rc;
	node->node = ch.node;
	node->family = ch.family;
	memcpy(node->addr, ch.addr, sizeof(node->addr));
	node->port = ch.port;
	snprintf(be.picked, sizeof(be.picked), "%s", ch.name);
	be.picked_slot = ch.node;
	return 0;
}

/* Commit the admissions waiting to be recorded, in one transaction. */
void
lbs_flush(void)
{
	unsigned int n = be.nb_pending;
	int rc;

	if (n == 0 || be.reg == NULL)
		return;
	be.nb_pending = 0;
	rc = lbs_reg_begin(be.reg);
	for (unsigned int i = 0; i < n; i++) {
		struct be_record *p = &be.pending[i];
		struct lbs_reg_device d;
		int r = rc;

		if (r == 0)
			r = lbs_reg_get_by_devid(be.reg, p->devid, &d);
		/* one commit: key, expiry, node and last seen */
		if (r == 0)
			r = lbs_reg_set_session(be.reg, d.serial, p->key, p->expiry, p->node);
		OPENSSL_cleanse(&d, sizeof(d));
		OPENSSL_cleanse(p, sizeof(*p));
		if (r < 0 && r != -ENOENT)   /* a device removed meanwhile: nothing to record */
			rc = r;
	}
	if (rc == 0)
		rc = lbs_reg_commit(be.reg);
	else
		lbs_reg_rollback(be.reg);
	if (rc < 0)
		(void)reg_failed("sessions", rc);
}

static void
flush_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	lbs_flush();
}

/* Queue the admission for the registry: session key, expiry, node. */
static void
record(const struct lbs_admission *a, const char *node)
{
	struct be_record *p;

	if (a->devid_len == 0 || a->devid_len > LBS_REG_DEVID_MAX)
		return;
	if (be.nb_pending == BE_PENDING_MAX)
		lbs_flush();
	p = &be.pending[be.nb_pending++];
	memcpy(p->devid, a->devid, a->devid_len);
	p->devid[a->devid_len] = '\0';
	snprintf(p->node, sizeof(p->node), "%s", node);
	memcpy(p->key, a->session_key, sizeof(p->key));
	p->expiry = a->key_expiry;
}

static int
be_admit(void *ctx, struct lbs_sess *s, const struct lbs_admission *a)
{
	int64_t left = a->key_expiry - be_wall_s(NULL);
	char err[256];
	int rc;

	(void)ctx;
	if (a->node->node != be.picked_slot || left <= 0)
		return -EINVAL;
	if (strcmp(be.picked, lbs_self_name) == 0) {
		rc = dp_osap_admit(a->devid, a->devid_len, a->session_key, a->lifetime,
				   (uint32_t)left, err, sizeof(err));
		if (rc < 0) {
			lbs_count(LBS_C_admit_failed);
			TERN_LOG(WARNING, "lbs: admission at this node refused: %s", err);
			return rc;
		}
		lbs_count(LBS_C_admit_local);
		lbs_count(LBS_C_addresses);
		record(a, lbs_self_name);
		return 0;
	}
	rc = lbs_link_admit(be.picked, s, a);
	if (rc < 0) {
		lbs_count(LBS_C_admit_failed);
		return rc;
	}
	record(a, be.picked);
	return LBS_ADMIT_PENDING;
}

static void
be_admit_cancel(void *ctx, struct lbs_sess *s)
{
	(void)ctx;
	lbs_link_cancel(s);
}

const struct lbs_backend *
lbs_backend_get(void)
{
	return &be.b;
}

struct lbs_pool *
lbs_pool_get(void)
{
	return be.pool;
}

void
lbs_revoke(const char *devid, const char *node)
{
	if (devid == NULL || devid[0] == '\0')
		return;
	if (be.self_in_pool || node == NULL || node[0] == '\0' ||
	    strcmp(node, lbs_self_name) == 0)
		(void)dp_osap_revoke((const uint8_t *)devid, strlen(devid));
	if (node != NULL && node[0] != '\0' && strcmp(node, lbs_self_name) != 0)
		lbs_link_revoke(node, devid);
}

/* This instance's load, as the node link reports a remote node's. */
static void
self_load(evutil_socket_t fd, short what, void *arg)
{
	struct dp_mqttsn_load ld;
	uint64_t now = be_now_ms(NULL), rate = 0;

	(void)fd;
	(void)what;
	(void)arg;
	if (dp_mqttsn_load(&ld) < 0)
		return;
	if (be.last_load_ms != 0 && now > be.last_load_ms)
		rate = (ld.publish_rx - be.last_publishes) * 1000 / (now - be.last_load_ms);
	be.last_publishes = ld.publish_rx;
	be.last_load_ms = now;
	(void)lbs_pool_load(be.pool, lbs_self_name, ld.sessions,
			    (uint32_t)(rate > UINT32_MAX ? UINT32_MAX : rate));
}

/* With no nodes: this instance, at its first port's address and the MQTT-SN port. */
static int
add_self(struct event_base *base, const struct tern_config *cfg, char *err, size_t errlen)
{
	struct lbs_node_conf nc = { .name = lbs_self_name, .weight = 100 };
	const struct timeval tv = { cfg->node_link.interval, 0 };
	int rc;

	if (!cfg->mqttsn.enabled) {
		snprintf(err, errlen, "lbs: no nodes and mqttsn is disabled: nowhere to send "
			 "devices");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->nb_ports && nc.family == 0; i++) {
		const struct dp_port_params *p = &cfg->ports[i];

		if (p->has_ip4) {
			nc.family = OSAP_FAMILY_IPV4;
			memcpy(nc.addr, p->ip4, 4);
		} else if (p->has_ip6) {
			nc.family = OSAP_FAMILY_IPV6;
			memcpy(nc.addr, p->ip6, 16);
		}
	}
	nc.port = cfg->mqttsn.port;
	rc = lbs_pool_add(be.pool, &nc);
	if (rc < 0) {
		snprintf(err, errlen, "lbs: this instance as a node: %s", tern_strerror(rc));
		return rc;
	}
	be.self_in_pool = true;
	be.load_timer = event_new(base, -1, EV_PERSIST, self_load, NULL);
	if (be.load_timer == NULL || event_add(be.load_timer, &tv) < 0) {
		snprintf(err, errlen, "lbs: out of memory");
		return -ENOMEM;
	}
	return 0;
}

int
lbs_node_conf_from(const struct tern_node *n, struct lbs_node_conf *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->name = n->name;
	nc->family = n->v6 ? OSAP_FAMILY_IPV6 : OSAP_FAMILY_IPV4;
	memcpy(nc->addr, n->addr, sizeof(nc->addr));
	nc->port = n->port;
	nc->weight = n->weight;
	return 0;
}

int
lbs_backend_init(struct event_base *base, const struct tern_config *cfg, struct lbs_reg *reg,
		 char *err, size_t errlen)
{
	int rc;

	memset(&be, 0, sizeof(be));
	be.reg = reg;
	be.device_rate = cfg->lbs.device_rate;
	be.policy = (struct lbs_policy){
		.proto_type = OSAP_PROTO_TYPE_MQTTSN,
		.proto_group = OSAP_PROTO_PLAIN,
		.key_lifetime = cfg->lbs.key_lifetime,
		.admit_lifetime = cfg->lbs.admit_lifetime,
	};
	be.b = (struct lbs_backend){
		.lookup_serial = be_lookup_serial,
		.lookup_devid = be_lookup_devid,
		.throttle = be_throttle,
		.apply_devid = be_apply_devid,
		.store_session_key = be_store_session_key,
		.pick_node = be_pick_node,
		.admit = be_admit,
		.admit_cancel = be_admit_cancel,
		.policy = be_policy,
		.now_ms = be_now_ms,
		.wall_s = be_wall_s,
		.aead = osap_aead_new(),
	};
	if (RAND_bytes((unsigned char *)&be.hash_key, sizeof(be.hash_key)) != 1)
		be.hash_key = (uint32_t)be_now_ms(NULL);
	be.buckets = calloc(BE_BUCKETS, sizeof(*be.buckets));
	be.pending = calloc(BE_PENDING_MAX, sizeof(*be.pending));
	be.pool = lbs_pool_new(NULL);
	be.flush_timer = event_new(base, -1, EV_PERSIST, flush_tick, NULL);
	if (be.buckets == NULL || be.pending == NULL || be.pool == NULL || be.b.aead == NULL ||
	    be.flush_timer == NULL ||
	    event_add(be.flush_timer, &(struct timeval){ 0, BE_FLUSH_MS * 1000 }) < 0) {
		snprintf(err, errlen, "lbs: out of memory");
		return -ENOMEM;
	}
	if (cfg->nb_nodes == 0)
		return add_self(base, cfg, err, errlen);
	for (unsigned int i = 0; i < cfg->nb_nodes; i++) {
		struct lbs_node_conf nc;

		lbs_node_conf_from(&cfg->nodes[i], &nc);
		rc = lbs_pool_add(be.pool, &nc);
		if (rc < 0) {
			snprintf(err, errlen, "nodes[%u]: %s", i, tern_strerror(rc));
			return rc;
		}
		/* down until the node link answers */
		(void)lbs_pool_health(be.pool, nc.name, false);
		rc = lbs_link_node_add(nc.name, &cfg->nodes[i].link);
		if (rc < 0) {
			snprintf(err, errlen, "nodes[%u]: node link: %s", i, tern_strerror(rc));
			return rc;
		}
	}
	return 0;
}

void
lbs_backend_fini(void)
{
	lbs_flush();
	if (be.flush_timer != NULL)
		event_free(be.flush_timer);
	if (be.pending != NULL)
		OPENSSL_cleanse(be.pending, sizeof(*be.pending) * BE_PENDING_MAX);
	free(be.pending);
	if (be.load_timer != NULL)
		event_free(be.load_timer);
	lbs_pool_free(be.pool);
	osap_aead_free(be.b.aead);
	free(be.buckets);
	memset(&be, 0, sizeof(be));
}
