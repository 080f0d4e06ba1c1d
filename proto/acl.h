/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_ACL_H
#define TERN_PROTO_ACL_H

/*
 * Topic access rules: who may publish to a topic name, who may subscribe to
 * a topic filter.
 *
 * A rule set is an ordered list of rules, each (client pattern, topic
 * filter, operations, allow or deny). A check tries the rules in order and
 * the first rule that applies decides; when none applies the answer is no.
 * An empty set (or none at all) allows everything, so a router without
 * rules stays open. A rule applies to a check when it names the operation,
 * its client pattern (fnmatch(3), no flags) matches the client id, and its
 * topic filter relates to the topic the right way round:
 *
 *  - allow: the rule's filter covers the topic (topic_filter_covers()):
 *    every name a subscription could ever deliver is allowed, so "a/+"
 *    allows subscribing to "a/b" but not to "a/#";
 *  - deny: the rule's filter intersects the topic
 *    (topic_filters_intersect()): anything forbidden within reach denies,
 *    so a deny on "a/secret" refuses a subscription to "a/#".
 *
 * For a topic name both relations are plain topic_match(), so publishing
 * is checked with the same code; a name holding wildcards (invalid, the
 * caller should have refused it) is then judged like a subscription. It
 * follows that a subscription allowed to a client is never a way to
 * receive a name it could not subscribe to on its own.
 *
 * A topic level that is exactly "%c" stands for the client id, so
 * "devices/%c/#" gives every client its own subtree ("a%c" is just a
 * literal level). Only ids that fit in one level can take part: an id
 * holding '/', '+', '#' or NUL, or longer than ACL_CLIENT_MAX, never
 * matches a rule using "%c". Apart from that, an id longer than
 * ACL_CLIENT_MAX or holding NUL (which no glob can spell, and cutting it
 * there would let "admin\0x" pass for "admin") only meets the pattern "*"
 * written exactly so. The id is substituted as given: a client called
 * "$SYS" is matched by "%c/#" on "$SYS/..." names.
 *
 * A built set is one immutable allocation; checks read it only and
 * allocate nothing, so any number of threads may check one set at once.
 * Rebuilding is the way to change it (swap the pointer, free the old set
 * once no reader can hold it).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACL_CLIENT_MAX 64       /* longest client pattern, longest id "%c" takes */

enum acl_op { ACL_PUBLISH = 1, ACL_SUBSCRIBE = 2 };   /* bits; a rule's ops is a mask */

/*
 * Or'ed into acl_check()'s op: the client id is an identity the client
 * proved over DTLS (a PSK identity, a certificate subject), not a name it
 * chose. Rules can be limited to one kind of client (acl_transport), so a
 * plain client naming itself after a DTLS identity gets none of its rights.
 */
#define ACL_OVER_DTLS 0x80u

/* Which clients a rule is for. */
enum acl_transport {
	ACL_TRANSPORT_ANY = 0,      /* every client */
	ACL_TRANSPORT_DTLS = 1,     /* only clients checked with ACL_OVER_DTLS */
	ACL_TRANSPORT_PLAIN = 2,    /* only the others */
};

/* A rule as the configuration gives it (strings NUL-terminated). */
struct acl_rule_spec {
	const char *client;   /* client id pattern: fnmatch(3) glob, no flags ("*" any, "sensor-?" ...); NULL = "*" */
	const char *topic;    /* topic filter; a level that is exactly "%c" stands for the client id */
	uint8_t ops;          /* ACL_PUBLISH | ACL_SUBSCRIBE, non-zero */
	bool allow;
	uint8_t transport;    /* enum acl_transport; 0: any client */
};

struct acl;   /* immutable compiled rule set: ONE allocation (malloc) holding the rules and copies of their strings */

/**
 * Build a rule set from @p n specs (n may be 0: an empty set allows
 * everything; @p specs may then be NULL). The specs are copied; the caller
 * keeps its own.
 * Validates every spec: client pattern 1..ACL_CLIENT_MAX printable ASCII
 * characters (0x20..0x7e); topic a valid filter per topic_filter_check()
 * ("%c" levels are ordinary levels to it); ops in 1..3.
 * @return the set, to be released with acl_free(); NULL on error, with
 *   errno EINVAL and a message naming the rule index in @p err (when
 *   @p errlen > 0), e.g. "rule 2: topic \"a/#/b\" is not a valid topic
 *   filter"; or errno ENOMEM ("out of memory").
 * Any thread; allocates with malloc().
 */
struct acl *acl_build(const struct acl_rule_spec *specs, unsigned int n, char *err, size_t errlen);

/** Release a set from acl_build(); NULL is fine. No check may still be reading it. */
void acl_free(struct acl *a);

/** Number of rules; NULL -> 0. */
unsigned int acl_count(const struct acl *a);

/**
 * Rule @p i as built (strings owned by @p a, valid until acl_free(); a NULL
 * client reads back as "*"); for listing. NULL if @p i >= acl_count(a).
 */
const struct acl_rule_spec *acl_rule(const struct acl *a, unsigned int i);

/**
 * May @p client (client id, @p clen bytes, not NUL-terminated, may be
 * empty) do @p op on @p topic (@p tlen bytes)? ACL_PUBLISH: @p topic is a
 * topic name. ACL_SUBSCRIBE: @p topic is a topic filter. With
 * ACL_OVER_DTLS or'ed into @p op, @p client is a DTLS identity: rules for
 * ACL_TRANSPORT_PLAIN do not apply, else rules for ACL_TRANSPORT_DTLS do not.
 * NULL or empty set: true. Otherwise the first rule that applies decides
 * (see the top of this file) and none applying means false; an @p op other
 * than ACL_PUBLISH or ACL_SUBSCRIBE is false too.
 * Does not validate @p topic; reads only within the two buffers whatever
 * they hold.
 * No allocation, no locks: any thread, any number at once on a built set.
 */
bool acl_check(const struct acl *a, const char *client, size_t clen, unsigned int op,
	       const char *topic, size_t tlen);

#endif
