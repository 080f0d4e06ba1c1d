/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TOOLS_DEVICE_LOOP_H
#define TERN_TOOLS_DEVICE_LOOP_H

/*
 * The LBS in-process, for tests and benchmarks of the device side
 * (osap_dev.h): a struct osap_stream whose other end is a real
 * control/lbs/session.c session, and an in-memory backend for it.
 *
 * The stream: what the device writes goes straight into lbs_sess_input();
 * what the session answers is queued and read back by the device. A read
 * with nothing queued returns 0 (end of stream) once the session closed,
 * otherwise -ETIMEDOUT at once (in one thread nothing more can arrive).
 * dloop.truncate cuts the LBS's output after that many octets, to test a
 * device facing a truncated stream.
 *
 * The backend (struct dmem): devices by serial number with their share key,
 * DevIDs granted with osap_gen_devid(), master and session keys kept in
 * memory, one access node, admission always synchronous and accepted unless
 * dmem.no_node. Linear lookups: for tens of devices.
 *
 * Single-threaded; links with the control library (control/lbs/session.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/lbs/session.h"
#include "osap_dev.h"

/* ---- the in-memory backend ---- */

struct dmem_dev {
	char serial[OSAP_ID_MAX + 1];
	uint8_t share_key[OSAP_KEY_LEN];
	bool blocked;
	char devid[OSAP_ID_MAX + 1];
	bool has_master;
	uint8_t master_key[OSAP_KEY_LEN];
	uint8_t session_key[OSAP_KEY_LEN];
	int64_t session_expiry;
};

struct dmem {
	struct dmem_dev *dev;
	unsigned int ndev, cap;
	struct lbs_policy policy;     /* served type and group, lifetimes */
	struct lbs_node_addr node;    /* the one access node */
	bool no_node;                 /* pick_node() finds none: no_access_node */
	unsigned int admitted;        /* admissions accepted */
	uint64_t now_ms;              /* 0: the real monotonic clock */
	int64_t wall_s;               /* 0: the real wall clock */
};

/**
 * An empty backend for up to @p cap devices: serves type MQTT-SN, group
 * @p group, key lifetime 86400 s, admission 300 s, node 127.0.0.1:@p port.
 * @return 0 or -ENOMEM.
 */
int dmem_init(struct dmem *m, unsigned int cap, uint8_t group, uint16_t port);

/** Free and wipe the devices. */
void dmem_fini(struct dmem *m);

/**
 * Register @p serial with @p code (share key with @p iterations).
 * @return the device, or NULL (full, or osap_share_key() refused).
 */
struct dmem_dev *dmem_add(struct dmem *m, const char *serial, const char *code,
			  uint32_t iterations, bool blocked);

/** The device of @p serial, or NULL. */
struct dmem_dev *dmem_find(struct dmem *m, const char *serial);

/** Fill @p b with the backend's callbacks, ctx = @p m. */
void dmem_backend(struct dmem *m, struct lbs_backend *b);

/* ---- the in-process stream ---- */

/* What the stream calls instead of lbs_sess_input() (a benchmark times it). */
typedef int (*dloop_input_fn)(struct lbs_sess *s, const uint8_t *buf, size_t len,
			      struct lbs_sess_out *out);

struct dloop {
	struct lbs_sess *s;
	dloop_input_fn input;         /* NULL: lbs_sess_input */
	uint8_t q[4 * OSAP_FRAME_MAX];   /* the session's answers not yet read */
	size_t q_len, q_off;
	bool closed;                  /* the session asked to close */
	enum lbs_sess_reason reason;  /* why */
	size_t truncate;              /* > 0: deliver at most this many octets in all */
	size_t delivered;
	int writes;                   /* frames (writes) the device made */
};

/**
 * A new connection: a fresh session on backend @p b (must outlive it).
 * @p st receives the stream (ctx = @p l, timeout_ms 1000).
 * @return 0, or -ENOMEM (lbs_sess_new() failed).
 */
int dloop_open(struct dloop *l, const struct lbs_backend *b, struct osap_stream *st);

/** Free the connection's session. */
void dloop_close(struct dloop *l);

#endif
