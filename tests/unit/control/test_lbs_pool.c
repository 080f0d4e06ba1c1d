/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The access-node pool (control/lbs/pool.c): node management, the least
 * loaded pick with weights and message rate, draining and down nodes
 * skipped, stickiness by DevID and its loss when the node drains or goes
 * down, the bounded stickiness table, and the reasons for no node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/lbs/pool.h"
#include "proto/osap.h"
#include "tests/unit/tap.h"

static struct lbs_node_conf
conf(const char *name, uint8_t last, uint32_t weight)
{
	return (struct lbs_node_conf){
		.name = name,
		.family = OSAP_FAMILY_IPV4,
		.addr = { 192, 0, 2, last },
		.port = 1883,
		.dtls_port = 8883,
		.weight = weight,
	};
}

/* The node picked for DevID "dev<i>", or NULL with *err set. */
static const char *
pick_i(struct lbs_pool *p, int i, uint8_t family, uint8_t proto, int *err)
{
	struct lbs_pool_choice c;
	char id[32];
	int n = snprintf(id, sizeof(id), "dev%d", i);
	int r = lbs_pool_pick(p, (const uint8_t *)id, (size_t)n, family, proto, &c);

	if (err)
		*err = r;
	return r == 0 ? c.name : NULL;
}

static const char *
pick(struct lbs_pool *p, int i)
{
	return pick_i(p, i, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, NULL);
}

static void
test_manage(void)
{
	struct lbs_pool_params pp = { .max_nodes = 2 };
	struct lbs_pool *p = lbs_pool_new(&pp);
	struct lbs_node_conf c = conf("a", 1, 1);
	struct lbs_node_info info[4];

	ok(p != NULL, "pool");
	is_int(lbs_pool_add(p, &c), 0, "add a");
	is_int(lbs_pool_add(p, &c), -EEXIST, "add a twice: -EEXIST");
	c = conf("b", 2, 0);
	is_int(lbs_pool_add(p, &c), -EINVAL, "weight 0: -EINVAL");
	c.weight = LBS_POOL_WEIGHT_MAX + 1;
	is_int(lbs_pool_add(p, &c), -EINVAL, "weight over the maximum: -EINVAL");
	c = conf("", 2, 1);
	is_int(lbs_pool_add(p, &c), -EINVAL, "empty name: -EINVAL");
	c = conf("a-name-that-is-much-too-long-for-it", 2, 1);
	is_int(lbs_pool_add(p, &c), -EINVAL, "name too long: -EINVAL");
	c = conf("b", 2, 1);
	c.port = c.dtls_port = 0;
	is_int(lbs_pool_add(p, &c), -EINVAL, "no port: -EINVAL");
	c = conf("b", 2, 1);
	c.family = OSAP_FAMILY_ANY;
	is_int(lbs_pool_add(p, &c), -EINVAL, "family any: -EINVAL");
	c = conf("b", 2, 1);
	is_int(lbs_pool_add(p, &c), 0, "add b");
	c = conf("c", 3, 1);
	is_int(lbs_pool_add(p, &c), -ENOSPC, "a third node in a pool of 2: -ENOSPC");

	is_int(lbs_pool_drain(p, "nope"), -ENOENT, "drain unknown: -ENOENT");
	is_int(lbs_pool_undrain(p, "nope"), -ENOENT, "undrain unknown: -ENOENT");
	is_int(lbs_pool_health(p, "nope", true), -ENOENT, "health of unknown: -ENOENT");
	is_int(lbs_pool_load(p, "nope", 1, 1), -ENOENT, "load of unknown: -ENOENT");
	is_int(lbs_pool_remove(p, "nope"), -ENOENT, "remove unknown: -ENOENT");

	is_int(lbs_pool_drain(p, "a"), 0, "drain a");
	is_int(lbs_pool_health(p, "b", false), 0, "b down");
	is_int(lbs_pool_load(p, "a", 7, 70), 0, "load of a");
	is_int(lbs_pool_list(p, info, 4), 2, "two nodes listed");
	is_str(info[0].name, "a", "list: a first");
	is_str(lbs_node_state_name(info[0].state), "draining", "list: a draining");
	ok(info[0].draining && info[0].healthy && info[0].sessions == 7 && info[0].msg_rate == 70,
	   "list: a's flags and load");
	is_str(lbs_node_state_name(info[1].state), "down", "list: b down");
	is_int(lbs_pool_drain(p, "b"), 0, "drain b too");
	is_int(lbs_pool_list(p, info, 4), 2, "still two");
	is_str(lbs_node_state_name(info[1].state), "down", "down and drained: down");
	is_int(lbs_pool_list(p, info, 1), 2, "list with room for one: the count");
	ok(lbs_node_state_name(LBS_NODE_UP) && lbs_node_state_name(3) == NULL, "state names");

	is_int(lbs_pool_remove(p, "a"), 0, "remove a");
	c = conf("c", 3, 1);
	is_int(lbs_pool_add(p, &c), 0, "c takes a's slot");
	is_int(lbs_pool_list(p, info, 4), 2, "two nodes");
	ok(strcmp(info[0].name, "b") == 0 && strcmp(info[1].name, "c") == 0,
	   "list in the order added: b, c");
	ok(info[1].addr[3] == 3 && info[1].port == 1883 && info[1].dtls_port == 8883 &&
	   info[1].weight == 1 && info[1].state == LBS_NODE_UP, "list: c's fields, up when added");
	lbs_pool_free(p);
	lbs_pool_free(NULL);
}

static void
test_weights(void)
{
	struct lbs_pool *p = lbs_pool_new(NULL);
	struct lbs_node_conf a = conf("a", 1, 1), b = conf("b", 2, 3);
	char seq[9] = "";
	int i;

	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	for (i = 0; i < 8; i++)
		seq[i] = pick(p, i)[0];
	is_str(seq, "abbbabbb", "weights 1 and 3, no reports: a b b b a b b b");

	/* Reports replace the picks counted since. */
	lbs_pool_load(p, "a", 10, 0);
	lbs_pool_load(p, "b", 33, 0);
	is_str(pick(p, 99), "a", "10/1 against 33/3: a");
	lbs_pool_load(p, "a", 12, 0);
	is_str(pick(p, 100), "b", "12/1 against 33/3: b");
	lbs_pool_load(p, "b", 31, 0);
	lbs_pool_load(p, "a", 11, 0);
	is_str(pick(p, 101), "b", "11/1 against 31/3: b");
	lbs_pool_load(p, "b", 36, 0);
	is_str(pick(p, 102), "a", "11/1 against 36/3: a");
	lbs_pool_load(p, "a", 12, 0);
	lbs_pool_load(p, "b", 36, 0);
	is_str(pick(p, 103), "a", "12/1 against 36/3, a tie: the node added first");
	lbs_pool_free(p);

	/* Message rate, in sessions of rate_unit messages per second. */
	struct lbs_pool_params pp = { .rate_unit = 10 };

	p = lbs_pool_new(&pp);
	a = conf("a", 1, 1);
	b = conf("b", 2, 1);
	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	lbs_pool_load(p, "a", 5, 100);
	lbs_pool_load(p, "b", 10, 0);
	is_str(pick(p, 1), "b", "rate: a = 5 + 100/10 = 15 > b = 10");
	lbs_pool_load(p, "a", 5, 49);
	lbs_pool_load(p, "b", 10, 0);
	is_str(pick(p, 2), "a", "rate: a = 5 + 4 = 9 < 10");
	lbs_pool_free(p);

	p = lbs_pool_new(NULL);
	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	lbs_pool_load(p, "a", 5, 1000000);
	lbs_pool_load(p, "b", 10, 0);
	is_str(pick(p, 3), "a", "rate_unit 0: the rate is ignored");
	lbs_pool_free(p);
}

static void
test_skip_and_none(void)
{
	struct lbs_pool *p = lbs_pool_new(NULL);
	struct lbs_node_conf a = conf("a", 1, 1), b = conf("b", 2, 1), v6 = conf("v6", 0, 1);
	int err, i;

	is_int((pick_i(p, 0, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &err), err), -ENOENT,
	       "empty pool: -ENOENT");
	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	lbs_pool_load(p, "b", 1000, 0);
	lbs_pool_drain(p, "a");
	for (i = 0; i < 5; i++)
		if (strcmp(pick(p, i), "b") != 0)
			break;
	is_int(i, 5, "a draining: every pick goes to b, however loaded");
	lbs_pool_health(p, "b", false);
	is_int((pick_i(p, 9, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &err), err), -EHOSTDOWN,
	       "a draining, b down: -EHOSTDOWN");
	lbs_pool_undrain(p, "a");
	is_str(pick(p, 9), "a", "a undrained: a");
	lbs_pool_health(p, "b", true);
	lbs_pool_load(p, "b", 0, 0);
	lbs_pool_load(p, "a", 5, 0);
	is_str(pick(p, 10), "b", "b up again and idle: b");

	/* Family and protocol. */
	is_int((pick_i(p, 11, OSAP_FAMILY_IPV6, OSAP_PROTO_PLAIN, &err), err), -ENOENT,
	       "no IPv6 node: -ENOENT");
	v6.family = OSAP_FAMILY_IPV6;
	v6.addr[0] = 0x20;
	v6.addr[1] = 0x01;
	v6.addr[15] = 1;
	v6.dtls_port = 0;
	lbs_pool_add(p, &v6);
	lbs_pool_load(p, "v6", 1000, 0);
	is_str(pick_i(p, 11, OSAP_FAMILY_IPV6, OSAP_PROTO_PLAIN, &err), "v6",
	       "IPv6 asked: the only IPv6 node, however loaded");
	is_int((pick_i(p, 12, OSAP_FAMILY_IPV6, OSAP_PROTO_SECURE, &err), err), -ENOENT,
	       "IPv6 with DTLS: nobody serves it");
	is_str(pick_i(p, 13, OSAP_FAMILY_IPV4, OSAP_PROTO_SECURE, &err), "b",
	       "IPv4 with DTLS: b");
	lbs_pool_health(p, "v6", false);
	is_int((pick_i(p, 11, OSAP_FAMILY_IPV6, OSAP_PROTO_PLAIN, &err), err), -EHOSTDOWN,
	       "the IPv6 node down: -EHOSTDOWN");

	struct lbs_pool_choice c;

	lbs_pool_health(p, "v6", true);
	is_int(lbs_pool_pick(p, (const uint8_t *)"x", 1, OSAP_FAMILY_IPV6, OSAP_PROTO_PLAIN, &c), 0,
	       "pick into a choice");
	ok(c.family == OSAP_FAMILY_IPV6 && c.addr[0] == 0x20 && c.addr[15] == 1 && c.port == 1883 &&
	   strcmp(c.name, "v6") == 0 && !c.sticky, "the choice: address, port, name");
	is_int(lbs_pool_pick(p, (const uint8_t *)"x", 1, OSAP_FAMILY_ANY, OSAP_PROTO_SECURE, &c), 0,
	       "DTLS for x");
	ok(c.port == 8883 && c.family == OSAP_FAMILY_IPV4 && !c.sticky,
	   "x's node has no DTLS: another one, its DTLS port");
	is_int(lbs_pool_pick(p, (const uint8_t *)"x", 0, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c),
	       -EINVAL, "empty DevID: -EINVAL");
	is_int(lbs_pool_pick(p, (const uint8_t *)"x", 1, 7, OSAP_PROTO_PLAIN, &c), -EINVAL,
	       "unknown family: -EINVAL");
	is_int(lbs_pool_pick(p, (const uint8_t *)"x", 1, OSAP_FAMILY_ANY, 0x03, &c), -EINVAL,
	       "two protocols: -EINVAL");
	lbs_pool_free(p);
}

static void
test_sticky(void)
{
	struct lbs_pool *p = lbs_pool_new(NULL);
	struct lbs_node_conf a = conf("a", 1, 1), b = conf("b", 2, 1);
	struct lbs_node_info info[2];
	struct lbs_pool_choice c;
	const uint8_t *d = (const uint8_t *)"dev-sticky";
	int i;

	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	is_str(c.name, "a", "first pick: a");
	ok(!c.sticky, "not sticky the first time");
	lbs_pool_load(p, "a", 100, 0);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "a") == 0 && c.sticky, "again: a, sticky, although a is much busier");
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_SECURE, &c);
	ok(strcmp(c.name, "a") == 0 && c.sticky && c.port == 8883,
	   "sticky for the other protocol too, with its port");
	lbs_pool_pick(p, d, 9, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	is_str(c.name, "b", "a prefix of the DevID is another device");

	/* Drained: the tie is forgotten, and stays forgotten after undrain. */
	lbs_pool_drain(p, "a");
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "b") == 0 && !c.sticky, "a drained: b");
	lbs_pool_undrain(p, "a");
	lbs_pool_load(p, "a", 0, 0);
	lbs_pool_load(p, "b", 50, 0);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "b") == 0 && c.sticky, "a back and idle: the device stays on b");

	/* Down, then up before the device returns: the tie is gone all the same. */
	lbs_pool_health(p, "b", false);
	lbs_pool_health(p, "b", true);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "a") == 0 && !c.sticky, "b went down and up: the device is spread anew");

	/* Drained and undrained between two picks: forgotten too. */
	lbs_pool_drain(p, "a");
	lbs_pool_undrain(p, "a");
	lbs_pool_load(p, "a", 0, 0);
	lbs_pool_load(p, "b", 0, 0);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "a") == 0 && !c.sticky, "drain + undrain: a fresh pick (a, the tie)");

	/* Removed, and a new node in its slot: no inherited tie. */
	lbs_pool_remove(p, "a");
	a = conf("a2", 9, 1);
	lbs_pool_add(p, &a);
	lbs_pool_load(p, "b", 10, 0);
	lbs_pool_pick(p, d, 10, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(strcmp(c.name, "a2") == 0 && !c.sticky, "a removed, a2 in its slot: not sticky");

	/* Many devices: each keeps its node while the table holds them. */
	lbs_pool_load(p, "b", 0, 0);
	lbs_pool_load(p, "a2", 0, 0);
	char first[200];

	for (i = 0; i < 200; i++)
		first[i] = pick(p, i)[0];
	lbs_pool_load(p, "b", 0, 1000);
	for (i = 0; i < 200; i++)
		if (pick(p, i)[0] != first[i])
			break;
	is_int(i, 200, "200 devices: each gets its node again");
	lbs_pool_list(p, info, 2);
	ok(info[0].picks == 200 + 3 && info[1].picks == 200 + 1, "picks counted per node");
	lbs_pool_free(p);
}

static void
test_bounded(void)
{
	struct lbs_pool_params pp = { .sticky_entries = 8 };
	struct lbs_pool *p = lbs_pool_new(&pp);
	struct lbs_node_conf a = conf("a", 1, 1), b = conf("b", 2, 1);
	struct lbs_pool_choice c;
	char id[16];
	int i, n, hits = 0;

	lbs_pool_add(p, &a);
	lbs_pool_add(p, &b);
	for (i = 0; i < 1000; i++) {
		n = snprintf(id, sizeof(id), "dev%d", i);
		lbs_pool_pick(p, (const uint8_t *)id, (size_t)n, OSAP_FAMILY_ANY,
			      OSAP_PROTO_PLAIN, &c);
	}
	for (i = 0; i < 1000; i++) {
		n = snprintf(id, sizeof(id), "dev%d", i);
		lbs_pool_pick(p, (const uint8_t *)id, (size_t)n, OSAP_FAMILY_ANY,
			      OSAP_PROTO_PLAIN, &c);
		hits += c.sticky;
	}
	ok(hits <= 8, "a table of 8 remembers at most 8 of 1000 devices (%d)", hits);
	lbs_pool_pick(p, (const uint8_t *)"latest", 6, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	lbs_pool_pick(p, (const uint8_t *)"latest", 6, OSAP_FAMILY_ANY, OSAP_PROTO_PLAIN, &c);
	ok(c.sticky, "the DevID used last is remembered");
	lbs_pool_free(p);

	pp.sticky_entries = 1;
	p = lbs_pool_new(&pp);
	lbs_pool_add(p, &a);
	is_str(pick(p, 1), "a", "a table of 1 (rounded to one set) works");
	lbs_pool_free(p);
	pp.max_nodes = 70000;
	ok(lbs_pool_new(&pp) == NULL, "more than 65535 nodes: NULL");
}

int
main(void)
{
	test_manage();
	test_weights();
	test_skip_and_none();
	test_sticky();
	test_bounded();
	return done_testing();
}
