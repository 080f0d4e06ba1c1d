/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_TOPIC_TABLE_H
#define TERN_DATAPLANE_TOPIC_TABLE_H

/*
 * The topic table: every topic known to the router, each with the set of
 * subscriptions a publication to it must reach, precomputed.
 *
 * Threads and RCU (liburcu QSBR flavour)
 *   - Exactly one writer thread (the control plane, main lcore) calls the
 *     functions marked "writer". Nothing here locks, so two writer threads
 *     would corrupt the table. The writer must be a registered RCU thread
 *     (rcu_register_thread()); each writer call brings the thread online for
 *     its duration if it was offline and restores the previous state, so the
 *     writer may stay offline between calls. A writer that stays online must
 *     report quiescent states (rcu_quiescent_state()) like any reader, or
 *     grace periods, and with them the freeing of old versions, stall.
 *   - Readers are worker lcores (and test threads): registered RCU threads
 *     that report a quiescent state once per loop iteration. They call the
 *     functions marked "reader" between two quiescent states and never
 *     write. A pointer to a delivery set or a retained message is valid only
 *     until the reader's next quiescent state.
 *   - Topic nodes (struct topic) are created by the writer and never freed
 *     while the table lives: topic deletion is out of scope for now. A reader
 *     may keep node pointers across quiescent states (a session's topic-id
 *     table, a descriptor sent to another core).
 *   - Every change is published as a new immutable version
 *     (rcu_assign_pointer); the old one is freed by the liburcu call_rcu
 *     thread after a grace period. Nobody waits for a grace period, except
 *     topic_table_free() (rcu_barrier) and the writer on allocation failure.
 *
 * Delivery sets
 *   A topic's delivery set lists each subscription reaching the topic once:
 *   exact subscriptions to its name plus every wildcard subscription whose
 *   filter matches it, computed when a subscription or the topic is created
 *   (never per message). A subscriber (core, session, gen) that reaches a
 *   topic through several filters appears once, with the highest QoS of
 *   those subscriptions and the bitwise OR of their flags: MQTT 3.1.1
 *   section 3.3.5 lets a server deliver one copy at the maximum QoS, and one
 *   copy is what an MQTT-SN client with no subscription identifiers expects.
 *
 *   Refs are sorted by (core, session, gen) and grouped in runs, one per
 *   core that has subscribers. A publishing worker reads the header, walks
 *   its own run and sends one descriptor per other run to that run's core:
 *
 *	const struct topic_dset *d = topic_dset(node);
 *	for (i = 0; i < d->nb_runs; i++)
 *		if (d->runs[i].core == me)
 *			deliver(topic_dset_refs(d) + d->runs[i].start,
 *				topic_dset_run_len(d, i));
 *		else
 *			send_descriptor(d->runs[i].core, node, ...);
 *
 *   Layout: an 8-byte header, the runs (8 bytes each), then the 12-byte refs,
 *   in one 64-byte aligned block: up to four subscribers on one core, or
 *   three on two cores, fit one cache line.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "proto/topic.h"

/** The longest topic-type a topic keeps (struct topic_conf). */
#define TOPIC_CONF_TYPE_MAX 64

struct topic_table;
struct topic_books;     /* writer-private: the subscriptions behind a node's set */

/** One subscription as the table knows it: a session owned by a worker core. */
struct topic_sub_ref {
	uint16_t core;      /* worker index owning the session */
	uint8_t qos;        /* 0..2 */
	uint8_t flags;      /* caller-defined bits; ORed when refs merge */
	uint32_t session;   /* session slot index on that core */
	uint32_t gen;       /* slot generation: a reused slot is another session */
};

/** The refs of one core inside a delivery set. */
struct topic_run {
	uint16_t core;
	uint16_t rsvd;
	uint32_t start;     /* index of the run's first ref */
};

/** An immutable delivery set (see the top of this file). */
struct topic_dset {
	uint32_t nb_refs;
	uint16_t nb_runs;
	uint16_t rsvd;
	struct topic_run runs[];   /* sorted by core; the refs follow */
};

/** A retained message: immutable, replaced as a whole. */
struct topic_retained {
	uint32_t len;       /* payload bytes, > 0 */
	uint8_t flags;      /* caller-defined (e.g. the QoS it was published with) */
	uint8_t rsvd;
	uint16_t fmt;       /* caller-defined (CoAP Content-Format + 1; 0: unknown) */
	uint32_t etag;      /* 1, 2, ... table-wide: a new one for each new message (CoAP ETag) */
	uint8_t payload[];
};

/*
 * A topic's properties (draft-ietf-core-coap-pubsub section 2.2.1) beyond
 * its name: immutable, replaced as a whole. A node without one has the
 * defaults: any content format, no expiry, no subscriber limit, the node's
 * own observer check, and it exists.
 */
struct topic_conf {
	uint64_t expires;           /* epoch seconds; 0: never */
	uint32_t max_subs;          /* CoAP observers at most; UINT32_MAX: no limit */
	uint32_t obs_check;         /* seconds between CON notifications; 0: the default */
	int32_t ct;                 /* topic-content-format; -1: any */
	uint8_t deleted;            /* the topic resource was deleted (hidden until re-created) */
	uint8_t type_len;
	char type[TOPIC_CONF_TYPE_MAX];   /* topic-type, not NUL-terminated */
};

/*
 * A topic node, 64-byte aligned: a lookup's chain walk, the name compare (for
 * names up to 7 bytes) and the delivery set pointer share one cache line.
 * Readers may read every field but books; @c name is NUL-terminated.
 */
struct topic {
	struct cds_lfht_node lfht_node;         /* in the name hash table */
	struct topic_dset *dset;                /* RCU; never NULL; immutable */
	struct topic_retained *retained;        /* RCU; NULL if none; immutable */
	uint32_t number;        /* stable, 1, 2, ... in creation order */
	uint16_t len;           /* name length in bytes */
	uint16_t rsvd;
	struct topic_books *books;              /* writer only */
	struct topic_conf *conf;                /* RCU; NULL: the defaults; immutable */
	char name[];
};

/** Table limits; a zero field takes the default shown. */
struct topic_table_params {
	uint32_t max_topics;        /* 65536 */
	uint32_t max_subs;          /* 1048576: (ref, filter) pairs, exact and wildcard */
	uint32_t max_wild;          /* 4096: distinct wildcard filters */
	uint16_t max_name_len;      /* TOPIC_NAME_MAX */
};

/** Counts for ternctl (writer). */
struct topic_table_stats {
	uint32_t topics;
	uint32_t subs;              /* (ref, filter) pairs */
	uint32_t exact_subs;
	uint32_t wild_subs;
	uint32_t wild_filters;      /* distinct wildcard filters */
	uint32_t sessions;          /* distinct (core, session, gen) with a subscription */
	uint32_t retained;          /* topics with a retained message */
	uint64_t retained_bytes;
	uint64_t dsets_published;   /* delivery sets published since creation */
};

/* ---- lifetime (writer) ---- */

/**
 * Create an empty table. @p params may be NULL for the defaults. The calling
 * thread need not be registered with RCU.
 * @return the table, or NULL with errno set (EINVAL, ENOMEM).
 */
struct topic_table *topic_table_create(const struct topic_table_params *params);

/**
 * Free the table, every node, set and retained message, and wait
 * (rcu_barrier()) until the versions retired earlier are freed. No reader may
 * use the table or any node any more (workers stopped, or they dropped every
 * pointer and a grace period passed). Writer thread, registered with RCU.
 */
void topic_table_free(struct topic_table *t);

/* ---- writer: the control plane thread only ---- */

/**
 * Find or create the topic @p name[0..len).
 * A new topic's delivery set already holds every wildcard subscription
 * matching it when the topic becomes visible to readers.
 * @return the node (new or existing), or NULL with errno: EINVAL (not a valid
 *   name, or longer than max_name_len), ENOSPC (max_topics), ENOMEM.
 */
struct topic *topic_create(struct topic_table *t, const char *name, size_t len);

/**
 * Subscribe @p ref through @p filter[0..len): a plain name adds the ref to that
 * topic (creating it); a wildcard filter adds it to every topic the filter
 * matches now and to every topic created later. Subscribing a ref again
 * through the same filter replaces its QoS and flags.
 * @return 0 for a new subscription, 1 if an existing one was updated;
 *   -EINVAL (bad filter, QoS > 2), -ENOSPC (max_subs, max_topics or max_wild),
 *   -ENOMEM. On -EINVAL and -ENOSPC nothing changed. On -ENOMEM the topic
 *   may have been created, and either the subscription was not recorded or
 *   it was but some delivery sets could not be rebuilt: those keep their
 *   previous version until a later writer call rebuilds them.
 */
int topic_subscribe(struct topic_table *t, const char *filter, size_t len,
		    const struct topic_sub_ref *ref);

/**
 * Remove the subscription of (ref->core, ref->session, ref->gen) through
 * @p filter (QoS and flags of @p ref are ignored).
 * @return 0, -ENOENT if there was none, -EINVAL for a bad filter.
 */
int topic_unsubscribe(struct topic_table *t, const char *filter, size_t len,
		      const struct topic_sub_ref *ref);

/**
 * Remove every subscription of session (@p core, @p session, @p gen), e.g. a
 * lost session. Cost: that session's subscriptions, not the table's size.
 * @return the number of subscriptions removed.
 */
int topic_unsubscribe_all(struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen);

/**
 * Move every subscription of session (@p core, @p session, @p gen) to the
 * ref @p to (its core, session and gen; QoS and flags are each
 * subscription's own), e.g. a session taken over on another worker.
 * Subscriptions @p to already has through the same filters are updated.
 * @return the number of subscriptions @p to got, or -ENOMEM (then some may
 *   have moved; the old session has none left either way, unless -ENOMEM
 *   came before anything changed).
 */
int topic_move_session(struct topic_table *t, uint16_t core, uint32_t session, uint32_t gen,
		       const struct topic_sub_ref *to);

/**
 * Set the retained message of @p node to a copy of @p payload[0..len) with
 * @p flags, replacing any previous one; @p len == 0 deletes it.
 * @return 0, -EINVAL (len > UINT32_MAX), -ENOMEM.
 */
int topic_set_retained(struct topic_table *t, struct topic *node, const void *payload,
		       size_t len, uint8_t flags);

/** topic_set_retained() with a format tag @p fmt kept in the retained message. */
int topic_set_retained_fmt(struct topic_table *t, struct topic *node, const void *payload,
			   size_t len, uint8_t flags, uint16_t fmt);

/**
 * Set the properties of @p node to a copy of @p conf (NULL: back to the
 * defaults), replacing the previous ones; readers see the old or the new
 * version whole.
 * @return 0, -ENOMEM (then nothing changed).
 */
int topic_set_conf(struct topic_table *t, struct topic *node, const struct topic_conf *conf);

/** The topic @p name[0..len) if it exists (never creates one), or NULL. */
struct topic *topic_find(struct topic_table *t, const char *name, size_t len);

/** The topic with stable number @p number, or NULL. */
struct topic *topic_by_number(const struct topic_table *t, uint32_t number);

/**
 * Call @p cb for each topic in creation order until it returns non-zero;
 * @return that value, or 0. @p cb must not change the table.
 */
int topic_foreach(const struct topic_table *t, int (*cb)(const struct topic *node, void *arg),
		  void *arg);

/**
 * Call @p cb for each subscription behind @p node's delivery set: its exact
 * subscriptions (@p filter NULL) and those of each matching wildcard filter.
 * @return as topic_foreach().
 */
int topic_foreach_sub(const struct topic_table *t, const struct topic *node,
		      int (*cb)(const char *filter, size_t flen, const struct topic_sub_ref *ref,
				void *arg),
		      void *arg);

/** Fill @p st with the table's counts. */
void topic_table_stats(const struct topic_table *t, struct topic_table_stats *st);

/* ---- reader: any registered RCU thread, between quiescent states ---- */

/**
 * Find the topic @p name[0..len) (no validation: a bad name is simply not
 * found). Hashes the name: use it on REGISTER, SUBSCRIBE and CoAP requests;
 * registered topic ids should resolve through the session's own table.
 * @return the node (valid for the table's lifetime), or NULL.
 */
struct topic *topic_lookup(const struct topic_table *t, const char *name, size_t len);

/** The current delivery set of @p node; valid until the next quiescent state. */
static inline const struct topic_dset *
topic_dset(const struct topic *node)
{
	return rcu_dereference(node->dset);
}

/** The first ref of a delivery set (refs of run i start at refs + runs[i].start). */
static inline const struct topic_sub_ref *
topic_dset_refs(const struct topic_dset *d)
{
	return (const struct topic_sub_ref *)&d->runs[d->nb_runs];
}

/** Number of refs in run @p i of @p d. */
static inline uint32_t
topic_dset_run_len(const struct topic_dset *d, unsigned int i)
{
	uint32_t end = i + 1u < d->nb_runs ? d->runs[i + 1].start : d->nb_refs;

	return end - d->runs[i].start;
}

/**
 * The refs of @p core in @p d: returns the first and stores their number in
 * *@p n (0 and NULL if the core has none).
 */
static inline const struct topic_sub_ref *
topic_dset_run(const struct topic_dset *d, uint16_t core, uint32_t *n)
{
	for (unsigned int i = 0; i < d->nb_runs; i++) {
		if (d->runs[i].core == core) {
			*n = topic_dset_run_len(d, i);
			return topic_dset_refs(d) + d->runs[i].start;
		}
		if (d->runs[i].core > core)
			break;
	}
	*n = 0;
	return NULL;
}

/** The retained message of @p node or NULL; valid until the next quiescent state. */
static inline const struct topic_retained *
topic_retained_get(const struct topic *node)
{
	return rcu_dereference(node->retained);
}

/** The properties of @p node or NULL (the defaults); valid until the next quiescent state. */
static inline const struct topic_conf *
topic_conf_get(const struct topic *node)
{
	return rcu_dereference(node->conf);
}

#endif
