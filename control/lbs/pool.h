/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_LBS_POOL_H
#define TERN_CONTROL_LBS_POOL_H

/*
 * The access-node pool of the LBS (DESIGN.md section 5, docs/osap.md
 * section 4.9): the tern instances devices are redirected to, their state,
 * and the choice of one for a device.
 *
 * A node has a name, one address (IPv4 or IPv6), the UDP port where it
 * serves MQTT-SN in clear (group bit OSAP_PROTO_PLAIN) and the one where it
 * serves MQTT-SN over DTLS (OSAP_PROTO_SECURE), either 0 when not served, and
 * a weight (1..LBS_POOL_WEIGHT_MAX): its capacity relative to the others.
 * Its state has two independent parts: the operator drains and undrains it,
 * and the node link reports its health (up or down). It is
 *   LBS_NODE_DOWN      when its health is down (whether drained or not),
 *   LBS_NODE_DRAINING  when it is up and drained: it keeps its devices but
 *                      gets no new ones,
 *   LBS_NODE_UP        otherwise; only these are picked.
 * A node is up when added.
 *
 * Load and weight. The node link reports each node's sessions (devices
 * connected) and message rate (messages per second). A node's load, in
 * sessions, is
 *
 *   load = sessions + picks since its last report + msg_rate / rate_unit
 *
 * (integer division; rate_unit from struct lbs_pool_params, 0 leaves the
 * rate out): the picks since the report count the devices sent there that
 * the next report will include, so a burst of picks between two reports
 * spreads instead of all landing on the node that looked emptiest. The pick
 * is the node with the least load per unit of weight: a beats b when
 *   load_a * weight_b < load_b * weight_a
 * (exact, in 64 bits); ties go to the node added first. So two idle nodes a
 * and b of weights 1 and 3, with no report in between, get eight picks as
 * a b b b a b b b.
 *
 * Stickiness. A DevID that was given a node gets the same node again while
 * that node stays up and undrained and serves what is asked (family and
 * protocol): a device reconnecting after a refresh finds its session state
 * where it left it. The map is a fixed table allocated with the pool (set
 * associative, 4 entries a set, least recently used out), so it stays
 * bounded and a pick allocates nothing; a DevID pushed out just gets the
 * least loaded node. Draining a node, or it going down, forgets every
 * DevID's tie to it at once (each node carries an epoch that changes then,
 * and an entry of an older epoch is void), so those devices are spread anew
 * even if the node comes back before they return.
 *
 * Threads: the pool belongs to one thread (the LBS event loop); nothing is
 * locked. Errors are negative errno-style codes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lbs_pool;

/* Longest node name, without the NUL. */
#define LBS_NODE_NAME_MAX       31
#define LBS_POOL_WEIGHT_MAX     10000

#define LBS_POOL_MAX_NODES_DEFAULT      64
#define LBS_POOL_STICKY_DEFAULT         16384

/* Sizes of a pool; 0 in a field means its default. */
struct lbs_pool_params {
	uint32_t max_nodes;        /* nodes it can hold; default 64 */
	uint32_t sticky_entries;   /* DevIDs it remembers (up to a power of 2); default 16384 */
	uint32_t rate_unit;        /* messages/s weighing as one session; 0: rate ignored */
};

enum lbs_node_state {
	LBS_NODE_UP,
	LBS_NODE_DRAINING,
	LBS_NODE_DOWN,
};

/** "up", "draining", "down"; NULL if out of range. */
const char *lbs_node_state_name(enum lbs_node_state st);

/* A node as the operator configures it (lbs_pool_add()). */
struct lbs_node_conf {
	const char *name;          /* 1..LBS_NODE_NAME_MAX octets, unique in the pool */
	uint8_t family;            /* OSAP_FAMILY_IPV4 or OSAP_FAMILY_IPV6 */
	uint8_t addr[16];          /* 4 or 16 octets used, network order */
	uint16_t port;             /* MQTT-SN over UDP (OSAP_PROTO_PLAIN); 0: not served */
	uint16_t dtls_port;        /* MQTT-SN over DTLS (OSAP_PROTO_SECURE); 0: not served */
	uint32_t weight;           /* 1..LBS_POOL_WEIGHT_MAX */
};

/* A node as node.list shows it. */
struct lbs_node_info {
	char name[LBS_NODE_NAME_MAX + 1];
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint16_t dtls_port;
	uint32_t weight;
	enum lbs_node_state state;
	bool healthy;              /* last health report (true until one says down) */
	bool draining;             /* drained by the operator */
	uint32_t sessions;         /* last load report */
	uint32_t msg_rate;
	uint32_t recent;           /* picks since the last load report */
	uint64_t picks;            /* picks since it was added */
};

/* The node lbs_pool_pick() chose. */
struct lbs_pool_choice {
	uint32_t node;             /* its slot, stable while it stays in the pool */
	const char *name;          /* valid until it is removed */
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;             /* the port of the protocol asked for */
	bool sticky;               /* the DevID's node from before */
};

/**
 * A pool; @p p NULL for the defaults. Allocates the node slots and the
 * stickiness table (88 octets a DevID) once.
 * @return the pool, or NULL (no memory, max_nodes over 65535, or
 *         sticky_entries over 2^28).
 */
struct lbs_pool *lbs_pool_new(const struct lbs_pool_params *p);

/** Free a pool; NULL is a no-op. */
void lbs_pool_free(struct lbs_pool *pool);

/**
 * Add a node, up and undrained, with no load.
 * @return 0, -EINVAL (a field out of range, or neither port set), -EEXIST
 *         (the name is taken), -ENOSPC (max_nodes reached).
 */
int lbs_pool_add(struct lbs_pool *pool, const struct lbs_node_conf *c);

/** Remove a node; its devices' stickiness goes with it. @return 0 or -ENOENT. */
int lbs_pool_remove(struct lbs_pool *pool, const char *name);

/** Stop giving a node new devices. @return 0 (also if drained already) or -ENOENT. */
int lbs_pool_drain(struct lbs_pool *pool, const char *name);

/** Give a drained node new devices again. @return 0 or -ENOENT. */
int lbs_pool_undrain(struct lbs_pool *pool, const char *name);

/** The node link's health report. @return 0 or -ENOENT. */
int lbs_pool_health(struct lbs_pool *pool, const char *name, bool up);

/**
 * The node link's load report: sessions and messages per second now. Resets
 * the picks counted since the last report. @return 0 or -ENOENT.
 */
int lbs_pool_load(struct lbs_pool *pool, const char *name, uint32_t sessions, uint32_t msg_rate);

/**
 * Choose a node for a device: its sticky node if that is up, undrained and
 * serves @p family and @p proto; else the up, undrained node serving them
 * with the least load per weight (see the top of this file), which becomes
 * the DevID's sticky node. Counts one pick on the node chosen. Allocates
 * nothing.
 *
 * @param devid, len  1..64 octets (OSAP_ID_MAX)
 * @param family      OSAP_FAMILY_ANY, _IPV4 or _IPV6
 * @param proto       OSAP_PROTO_PLAIN (port) or OSAP_PROTO_SECURE (dtls_port)
 * @return 0 with @p out filled in, or -EINVAL (an argument out of range),
 *         -ENOENT (no node serves that family and protocol), -EHOSTDOWN
 *         (some do, but each is down or draining).
 */
int lbs_pool_pick(struct lbs_pool *pool, const uint8_t *devid, size_t len, uint8_t family,
		  uint8_t proto, struct lbs_pool_choice *out);

/**
 * The nodes, in the order they were added (for `ternctl node.list`): fills
 * up to @p max entries of @p out.
 * @return the number of nodes in the pool (may exceed @p max).
 */
unsigned int lbs_pool_list(const struct lbs_pool *pool, struct lbs_node_info *out,
			   unsigned int max);

#endif
