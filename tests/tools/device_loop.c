/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The LBS in-process (see device_loop.h).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "proto/osap_crypto.h"
#include "device_loop.h"

/* ---- the in-memory backend ---- */

int
dmem_init(struct dmem *m, unsigned int cap, uint8_t group, uint16_t port)
{
	memset(m, 0, sizeof(*m));
	m->dev = calloc(cap ? cap : 1, sizeof(*m->dev));
	if (m->dev == NULL)
		return -ENOMEM;
	m->cap = cap;
	m->policy = (struct lbs_policy){
		.proto_type = OSAP_PROTO_TYPE_MQTTSN,
		.proto_group = group,
		.key_lifetime = 86400,
		.admit_lifetime = 300,
	};
	m->node = (struct lbs_node_addr){
		.node = 1,
		.family = OSAP_FAMILY_IPV4,
		.addr = { 127, 0, 0, 1 },
		.port = port,
	};
	return 0;
}

void
dmem_fini(struct dmem *m)
{
	if (m->dev != NULL) {
		OPENSSL_cleanse(m->dev, m->cap * sizeof(*m->dev));
		free(m->dev);
	}
	memset(m, 0, sizeof(*m));
}

struct dmem_dev *
dmem_find(struct dmem *m, const char *serial)
{
	for (unsigned int i = 0; i < m->ndev; i++)
		if (strcmp(m->dev[i].serial, serial) == 0)
			return &m->dev[i];
	return NULL;
}

struct dmem_dev *
dmem_add(struct dmem *m, const char *serial, const char *code, uint32_t iterations,
	 bool blocked)
{
	struct dmem_dev *d;
	size_t n = strlen(serial);

	if (m->ndev >= m->cap || n == 0 || n > OSAP_ID_MAX)
		return NULL;
	d = &m->dev[m->ndev];
	memset(d, 0, sizeof(*d));
	memcpy(d->serial, serial, n);
	d->blocked = blocked;
	if (osap_share_key((const uint8_t *)code, strlen(code), (const uint8_t *)serial, n,
			   iterations, d->share_key) < 0)
		return NULL;
	m->ndev++;
	return d;
}

static struct dmem_dev *
by_serial(struct dmem *m, const uint8_t *p, size_t len)
{
	for (unsigned int i = 0; i < m->ndev; i++)
		if (strlen(m->dev[i].serial) == len && memcmp(m->dev[i].serial, p, len) == 0)
			return &m->dev[i];
	return NULL;
}

static struct dmem_dev *
by_devid(struct dmem *m, const uint8_t *p, size_t len)
{
	for (unsigned int i = 0; i < m->ndev; i++)
		if (m->dev[i].devid[0] && strlen(m->dev[i].devid) == len &&
		    memcmp(m->dev[i].devid, p, len) == 0)
			return &m->dev[i];
	return NULL;
}

static int
mem_lookup_serial(void *ctx, const uint8_t *serial, size_t len, struct lbs_dev_rec *rec)
{
	struct dmem_dev *d = by_serial(ctx, serial, len);

	if (d == NULL)
		return -ENOENT;
	memcpy(rec->key, d->share_key, OSAP_KEY_LEN);
	rec->blocked = d->blocked;
	return 0;
}

static int
mem_lookup_devid(void *ctx, const uint8_t *devid, size_t len, struct lbs_dev_rec *rec)
{
	struct dmem_dev *d = by_devid(ctx, devid, len);

	if (d == NULL || !d->has_master)
		return -ENOENT;
	memcpy(rec->key, d->master_key, OSAP_KEY_LEN);
	rec->blocked = d->blocked;
	return 0;
}

static int
mem_apply_devid(void *ctx, const uint8_t *serial, size_t serial_len,
		const uint8_t master_key[OSAP_KEY_LEN], struct lbs_devid *devid)
{
	struct dmem_dev *d = by_serial(ctx, serial, serial_len);

	if (d == NULL)
		return -EIO;
	if (d->devid[0] == '\0' && osap_gen_devid(d->devid, sizeof(d->devid)) < 0)
		return -EIO;
	memcpy(d->master_key, master_key, OSAP_KEY_LEN);
	d->has_master = true;
	devid->len = (uint8_t)strlen(d->devid);
	memcpy(devid->id, d->devid, devid->len);
	return 0;
}

static int
mem_store_session_key(void *ctx, const uint8_t *devid, size_t devid_len,
		      const uint8_t key[OSAP_KEY_LEN], int64_t expiry)
{
	struct dmem_dev *d = by_devid(ctx, devid, devid_len);

	if (d == NULL)
		return -EIO;
	memcpy(d->session_key, key, OSAP_KEY_LEN);
	d->session_expiry = expiry;
	return 0;
}

static int
mem_pick_node(void *ctx, const uint8_t *devid, size_t devid_len, uint8_t family,
	      uint8_t proto_type, uint8_t proto, struct lbs_node_addr *node)
{
	struct dmem *m = ctx;

	(void)devid, (void)devid_len, (void)proto_type, (void)proto;
	if (m->no_node || (family != OSAP_FAMILY_ANY && family != m->node.family))
		return -ENOENT;
	*node = m->node;
	return 0;
}

static int
mem_admit(void *ctx, struct lbs_sess *s, const struct lbs_admission *a)
{
	struct dmem *m = ctx;

	(void)s, (void)a;
	m->admitted++;
	return 0;
}

static void
mem_policy(void *ctx, struct lbs_policy *p)
{
	*p = ((struct dmem *)ctx)->policy;
}

static uint64_t
mem_now_ms(void *ctx)
{
	struct dmem *m = ctx;
	struct timespec ts;

	if (m->now_ms)
		return m->now_ms;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t
mem_wall_s(void *ctx)
{
	struct dmem *m = ctx;

	return m->wall_s ? m->wall_s : (int64_t)time(NULL);
}

void
dmem_backend(struct dmem *m, struct lbs_backend *b)
{
	*b = (struct lbs_backend){
		.ctx = m,
		.lookup_serial = mem_lookup_serial,
		.lookup_devid = mem_lookup_devid,
		.apply_devid = mem_apply_devid,
		.store_session_key = mem_store_session_key,
		.pick_node = mem_pick_node,
		.admit = mem_admit,
		.policy = mem_policy,
		.now_ms = mem_now_ms,
		.wall_s = mem_wall_s,
	};
}

/* ---- the in-process stream ---- */

static int
loop_write(void *ctx, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct dloop *l = ctx;
	dloop_input_fn input = l->input ? l->input : lbs_sess_input;
	size_t off = 0;

	(void)timeout_ms;
	if (l->closed)
		return -EPIPE;
	l->writes++;
	do {
		struct lbs_sess_out out;
		int rc;

		/* compact the queue so a whole answer always fits */
		if (l->q_off > 0) {
			memmove(l->q, l->q + l->q_off, l->q_len - l->q_off);
			l->q_len -= l->q_off;
			l->q_off = 0;
		}
		out = (struct lbs_sess_out){ .buf = l->q, .cap = sizeof(l->q), .len = l->q_len };
		rc = input(l->s, buf + off, len - off, &out);
		if (rc < 0)
			return -EIO;
		l->q_len = out.len;
		off += out.consumed;
		if (rc == LBS_SESS_CLOSE) {
			l->closed = true;
			l->reason = out.reason;
			return 0;   /* the rest is lost, as on a socket the peer closed */
		}
		if (rc == LBS_SESS_WAIT)
			return -EIO;   /* dmem admits synchronously: never here */
	} while (off < len);
	return 0;
}

static int
loop_read(void *ctx, uint8_t *buf, size_t len, int timeout_ms)
{
	struct dloop *l = ctx;
	size_t avail = l->q_len - l->q_off;

	(void)timeout_ms;
	if (l->truncate > 0) {
		size_t left = l->truncate > l->delivered ? l->truncate - l->delivered : 0;

		if (avail > left)
			avail = left;
	}
	if (avail == 0)
		return l->closed ? 0 : -ETIMEDOUT;
	if (len > avail)
		len = avail;
	memcpy(buf, l->q + l->q_off, len);
	l->q_off += len;
	l->delivered += len;
	return (int)len;
}

int
dloop_open(struct dloop *l, const struct lbs_backend *b, struct osap_stream *st)
{
	dloop_input_fn input = l->input;
	size_t truncate = l->truncate;

	memset(l, 0, sizeof(*l));
	l->input = input;
	l->truncate = truncate;
	l->s = lbs_sess_new(b, NULL);
	if (l->s == NULL)
		return -ENOMEM;
	*st = (struct osap_stream){
		.ctx = l,
		.read = loop_read,
		.write = loop_write,
		.timeout_ms = 1000,
	};
	return 0;
}

void
dloop_close(struct dloop *l)
{
	lbs_sess_free(l->s);
	l->s = NULL;
}
