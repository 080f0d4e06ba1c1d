/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Topic table lookup cost: the cds_lfht name lookup plus a read of the
 * delivery set, at 1k and 1M topics (or the sizes given as arguments),
 * with names looked up in a random order so the caches are as cold as the
 * table is big. Prints ns and cycles (TSC) per lookup; no EAL.
 *
 *   tern-bench-topic [N...]
 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#include "dataplane/topic_table.h"

#define LOOKUPS 2000000u

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
bench(uint32_t n)
{
	struct topic_table_params p = { .max_topics = n, .max_subs = n };
	struct topic_table *t = topic_table_create(&p);
	struct topic_sub_ref ref = { .core = 0, .qos = 1, .session = 1, .gen = 1 };
	uint32_t *order = malloc(LOOKUPS * sizeof(*order));
	char name[32];
	unsigned long found = 0, refs = 0;
	uint64_t c0, c1;
	double t0, t1, build;

	if (t == NULL || order == NULL)
		exit(1);
	t0 = now();
	for (uint32_t i = 0; i < n; i++) {
		int len = snprintf(name, sizeof(name), "dev/%u/temp", i);

		ref.session = i;
		if (topic_subscribe(t, name, (size_t)len, &ref) < 0)
			exit(1);
		if (i % 4096 == 0)
			rcu_quiescent_state();
	}
	build = now() - t0;
	srand(1);
	for (uint32_t i = 0; i < LOOKUPS; i++)
		order[i] = (uint32_t)(((uint64_t)rand() << 16 ^ (uint64_t)rand()) % n);
	t0 = now();
	c0 = __rdtsc();
	for (uint32_t i = 0; i < LOOKUPS; i++) {
		int len = snprintf(name, sizeof(name), "dev/%u/temp", order[i]);
		struct topic *node = topic_lookup(t, name, (size_t)len);

		if (node != NULL) {
			found++;
			refs += topic_dset(node)->nb_refs;
		}
	}
	c1 = __rdtsc();
	t1 = now();
	printf("topics %8u: build %.2f s (%.0f ns/subscribe), lookup+dset %.0f ns, "
	       "%.0f TSC cycles (incl. ~snprintf), found %lu/%u, refs %lu\n",
	       n, build, build * 1e9 / n, (t1 - t0) * 1e9 / LOOKUPS,
	       (double)(c1 - c0) / LOOKUPS, found, LOOKUPS, refs);
	/* the snprintf share, to subtract */
	t0 = now();
	for (uint32_t i = 0; i < LOOKUPS; i++)
		refs += (unsigned long)snprintf(name, sizeof(name), "dev/%u/temp", order[i]);
	printf("                 (snprintf alone: %.0f ns)\n", (now() - t0) * 1e9 / LOOKUPS);
	free(order);
	topic_table_free(t);
}

int
main(int argc, char **argv)
{
	rcu_register_thread();
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			bench((uint32_t)strtoul(argv[i], NULL, 0));
	else {
		bench(1000);
		bench(1000000);
	}
	rcu_thread_offline();
	rcu_unregister_thread();
	return 0;
}
