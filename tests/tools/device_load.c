/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-device load: many devices authenticating at a given rate.
 *
 * Open loop with a bounded number of connections: exchange k is due at
 * t0 + k / rate; T threads take the next k in turn, sleep until it is due
 * and run it (connect, TLS, first or re-authentication, get address) on
 * their own copy of device k mod N. When every thread is busy past a due
 * time the exchange starts late, so the achieved rate falls below the asked
 * one: that is what the report shows. Latency is the whole exchange as the
 * device sees it, from connect to the address. Each thread keeps its own
 * counts and latencies; they are merged at the end, nothing is shared per
 * exchange but the job counter.
 */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mqttsn_client.h"
#include "tern_device.h"

#define LOAD_REASONS 24

struct reason_count {
	char name[32];
	unsigned long n;
	int cls;
};

struct load_stats {
	unsigned long attempted, ok;
	uint64_t *lat;               /* ns of each successful exchange */
	size_t nlat, caplat;
	struct reason_count why[LOAD_REASONS];
	unsigned int nwhy;
};

struct load {
	const struct tdev_opts *o;
	struct osap_dev *dev;        /* the N devices: serial, share key (+ DevID, master key) */
	unsigned int ndev;
	uint64_t t0, end;            /* monotonic ns: first due time, no job due after */
	double rate;
	bool reauth;                 /* the timed exchanges are re-authentications */
	int phase;                   /* 0 set-up (share keys), 1 first auth of each, 2 timed */
	atomic_ulong next;
	struct load_stats st[256];   /* per thread */
	struct load_stats setup;     /* phase 1, merged */
};

struct worker {
	struct load *l;
	unsigned int id;
	pthread_t th;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
count_reason(struct load_stats *s, const char *name, int cls, unsigned long n)
{
	unsigned int i;

	for (i = 0; i < s->nwhy; i++)
		if (strcmp(s->why[i].name, name) == 0)
			break;
	if (i == s->nwhy) {
		if (s->nwhy == LOAD_REASONS)
			i = LOAD_REASONS - 1;   /* the last slot collects the rest */
		else
			s->nwhy++;
		snprintf(s->why[i].name, sizeof(s->why[i].name), "%s", name);
		s->why[i].cls = cls;
	}
	s->why[i].n += n;
}

static void
add_lat(struct load_stats *s, uint64_t ns)
{
	if (s->nlat == s->caplat) {
		size_t cap = s->caplat ? 2 * s->caplat : 1024;
		uint64_t *p = realloc(s->lat, cap * sizeof(*p));

		if (p == NULL)
			return;
		s->lat = p;
		s->caplat = cap;
	}
	s->lat[s->nlat++] = ns;
}

/* One exchange for device @p i; @return true on success (@p base updated if @p keep). */
static bool
one(struct load *l, struct load_stats *s, unsigned int i, bool reauth, bool keep)
{
	struct osap_dev d = l->dev[i];
	struct tdev_run run;
	char buf[32];
	int rc;

	rc = tdev_exchange(l->o, &d, reauth, OSAP_PROTO_KNOWN, &run);
	s->attempted++;
	if (rc == 0) {
		s->ok++;
		add_lat(s, run.t.total);
		if (keep)
			l->dev[i] = d;
	} else {
		count_reason(s, tdev_run_error(&run, buf, sizeof(buf)), rc, 1);
		if (l->o->verbose)
			tdev_print_run(l->o->cmd, &d, &run, tdev_run_error(&run, buf, sizeof(buf)));
	}
	osap_dev_wipe(&d);
	return rc == 0;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct load *l = w->l;
	struct load_stats *s = &l->st[w->id];
	unsigned long k;

	while (!tmq_interrupted) {
		k = atomic_fetch_add(&l->next, 1);
		if (l->phase == 0) {
			char sn[OSAP_ID_MAX + 1];

			if (k >= l->ndev)
				break;
			snprintf(sn, sizeof(sn), "%s%lu", l->o->serial, k);
			if (osap_dev_init(&l->dev[k], sn, l->o->code, l->o->iterations) < 0)
				count_reason(s, "local_error", 1, 1);
			l->dev[k].proto_group = l->o->group;
			l->dev[k].family = l->o->family;
		} else if (l->phase == 1) {
			if (k >= l->ndev)
				break;
			one(l, s, (unsigned int)k, false, true);
		} else {
			uint64_t due = l->t0 + (uint64_t)((double)k * 1e9 / l->rate);
			uint64_t now = now_ns();

			if (due >= l->end)
				break;
			if (due > now) {
				struct timespec ts = {
					.tv_sec = (time_t)((due - now) / 1000000000u),
					.tv_nsec = (long)((due - now) % 1000000000u),
				};

				nanosleep(&ts, NULL);
			}
			if (l->reauth && !l->dev[k % l->ndev].has_master)
				continue;   /* its first authentication failed: not counted */
			one(l, s, (unsigned int)(k % l->ndev), l->reauth, false);
		}
	}
	return NULL;
}

/* Run phase @p phase on @p nth threads; @return 0 or -errno. */
static int
run_phase(struct load *l, int phase, unsigned int nth)
{
	struct worker w[256];
	unsigned int i, started = 0;
	int rc = 0;

	l->phase = phase;
	atomic_store(&l->next, 0);
	for (i = 0; i < nth; i++) {
		w[i] = (struct worker){ .l = l, .id = i };
		rc = -pthread_create(&w[i].th, NULL, work, &w[i]);
		if (rc < 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Merge the per-thread stats into @p out and clear them. */
static void
merge(struct load *l, unsigned int nth, struct load_stats *out)
{
	for (unsigned int t = 0; t < nth; t++) {
		struct load_stats *s = &l->st[t];

		out->attempted += s->attempted;
		out->ok += s->ok;
		for (size_t i = 0; i < s->nlat; i++)
			add_lat(out, s->lat[i]);
		for (unsigned int i = 0; i < s->nwhy; i++)
			count_reason(out, s->why[i].name, s->why[i].cls, s->why[i].n);
		free(s->lat);
		memset(s, 0, sizeof(*s));
	}
}

static double
pct(const struct load_stats *s, double p)
{
	size_t i;

	if (s->nlat == 0)
		return 0;
	i = (size_t)(p * (double)(s->nlat - 1) + 0.5);
	return (double)s->lat[i] / 1e6;
}

static void
print_reasons(const struct load_stats *s, bool json)
{
	for (unsigned int i = 0; i < s->nwhy; i++) {
		if (json)
			printf("%s\"%s\":%lu", i ? "," : "", s->why[i].name, s->why[i].n);
		else
			printf("%s%s %lu", i ? ", " : "", s->why[i].name, s->why[i].n);
	}
}

int
tdev_cmd_load(const struct tdev_opts *o)
{
	struct load *l = calloc(1, sizeof(*l));
	struct load_stats res = { 0 };
	unsigned int nth = o->threads;
	uint64_t start, done;
	double elapsed;
	int rc = TDEV_EXIT_OK;

	if (l == NULL)
		return TDEV_EXIT_PROTO;
	l->o = o;
	l->ndev = o->devices;
	l->rate = o->rate;
	l->reauth = o->reauth;
	l->dev = calloc(l->ndev, sizeof(*l->dev));
	if (l->dev == NULL) {
		free(l);
		return TDEV_EXIT_PROTO;
	}
	if (!o->json)
		printf("load: %u devices %s0..%s%u, %s at %.1f/s for %.1f s, %u threads, %s\n",
		       l->ndev, o->serial, o->serial, l->ndev - 1,
		       o->reauth ? "re-authentications" : "first authentications", o->rate,
		       o->duration_s, nth, o->tls ? "TLS" : "plain TCP");
	run_phase(l, 0, nth < l->ndev ? nth : l->ndev);
	merge(l, nth, &l->setup);
	if (o->reauth) {
		run_phase(l, 1, nth < l->ndev ? nth : l->ndev);
		merge(l, nth, &l->setup);
		if (!o->json) {
			printf("set-up: %lu first authentications, %lu ok", l->setup.attempted,
			       l->setup.ok);
			if (l->setup.nwhy) {
				printf(" (failed: ");
				print_reasons(&l->setup, false);
				printf(")");
			}
			printf("\n");
		}
	}
	start = now_ns();
	l->t0 = start;
	l->end = start + (uint64_t)(o->duration_s * 1e9);
	run_phase(l, 2, nth);
	done = now_ns();
	merge(l, nth, &res);
	elapsed = (double)(done - start) / 1e9;
	qsort(res.lat, res.nlat, sizeof(*res.lat), cmp_u64);

	if (o->json) {
		printf("{\"command\":\"load\",\"devices\":%u,\"rate\":%.3f,\"duration\":%.3f,"
		       "\"reauth\":%s,\"threads\":%u,\"tls\":%s,\"attempted\":%lu,\"ok\":%lu,"
		       "\"failed\":{", l->ndev, o->rate, o->duration_s,
		       o->reauth ? "true" : "false", nth, o->tls ? "true" : "false",
		       res.attempted, res.ok);
		print_reasons(&res, true);
		printf("},\"elapsed_s\":%.3f,\"ok_per_s\":%.2f,\"latency_ms\":{\"p50\":%.3f,"
		       "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", elapsed,
		       (double)res.ok / elapsed, pct(&res, 0.5), pct(&res, 0.9), pct(&res, 0.99),
		       pct(&res, 1.0));
		if (o->reauth) {
			printf(",\"setup\":{\"attempted\":%lu,\"ok\":%lu,\"failed\":{",
			       l->setup.attempted, l->setup.ok);
			print_reasons(&l->setup, true);
			printf("}}");
		}
		printf(",\"error\":%s}\n", res.attempted > res.ok || res.ok == 0 ?
		       "\"failures\"" : "null");
	} else {
		printf("attempted %lu, ok %lu, failed %lu", res.attempted, res.ok,
		       res.attempted - res.ok);
		if (res.nwhy) {
			printf(" (");
			print_reasons(&res, false);
			printf(")");
		}
		printf("\nachieved %.1f ok/s over %.2f s (asked %.1f/s)\n",
		       (double)res.ok / elapsed, elapsed, o->rate);
		printf("latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", pct(&res, 0.5),
		       pct(&res, 0.9), pct(&res, 0.99), pct(&res, 1.0));
	}
	fflush(stdout);
	if (res.attempted > res.ok || res.ok == 0) {
		rc = TDEV_EXIT_NET;
		for (unsigned int i = 0; i < res.nwhy; i++)
			if (res.why[i].cls != TDEV_EXIT_NET)
				rc = TDEV_EXIT_PROTO;
		if (res.nwhy == 0)
			rc = TDEV_EXIT_PROTO;
	}
	free(res.lat);
	free(l->setup.lat);
	OPENSSL_cleanse(l->dev, l->ndev * sizeof(*l->dev));
	free(l->dev);
	free(l);
	return rc;
}
