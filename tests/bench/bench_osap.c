/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tern-bench-osap: what one OSAP exchange costs the LBS (docs/benchmarks.md,
 * "OSAP: authentications per control core").
 *
 * The LBS side is the real per-connection state machine
 * (control/lbs/session.c) with one of two backends: the real device registry
 * (control/lbs/registry.h, an SQLite file in a temporary directory, WAL,
 * synchronous=FULL) or the in-memory one of tests/tools/device_loop.c. The
 * device side is tests/tools/osap_dev.c, in the same thread, over the
 * in-process stream. Only the LBS's work is measured: every call into the
 * session (lbs_sess_new(), lbs_sess_input() with the backend callbacks it
 * makes, lbs_sess_free()) goes through a BENCH_LBS function that reads the
 * thread's CPU clock and the monotonic clock around it. The device's ECDH,
 * seals and checks are outside. "LBS ops/s" is 1 / (LBS CPU time per
 * exchange): what one control core could do if it did nothing else;
 * the wall figure adds the time the thread sleeps in fsync().
 *
 * An exchange is what a device does on one connection: first
 * authentication (0x1/0x2, 0x7/0x8, 0x9) or re-authentication (0x4/0x6),
 * then one get address (0xA/0xB). Instructions: run under callgrind with
 * --toggle-collect='bench_lbs_*' (scripts/bench does).
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "control/lbs/registry.h"
#include "proto/osap_crypto.h"
#include "tests/tools/device_loop.h"
#include "tests/tools/osap_dev.h"

#if defined(__clang__)
#define BENCH_LBS __attribute__((noinline))
#else
#define BENCH_LBS __attribute__((noinline, noipa))
#endif

#define CODE "BENCH-CODE"

static struct {
	uint64_t cpu_ns, wall_ns;
} acc;

static uint64_t
clk(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the measured LBS calls ---- */

BENCH_LBS int
bench_lbs_input(struct lbs_sess *s, const uint8_t *buf, size_t len, struct lbs_sess_out *out)
{
	uint64_t c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
	int rc = lbs_sess_input(s, buf, len, out);

	acc.wall_ns += clk(CLOCK_MONOTONIC) - w0;
	acc.cpu_ns += clk(CLOCK_THREAD_CPUTIME_ID) - c0;
	return rc;
}

BENCH_LBS int
bench_lbs_open(struct dloop *l, const struct lbs_backend *b, struct osap_stream *st)
{
	uint64_t c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);
	int rc;

	l->input = bench_lbs_input;
	rc = dloop_open(l, b, st);
	acc.wall_ns += clk(CLOCK_MONOTONIC) - w0;
	acc.cpu_ns += clk(CLOCK_THREAD_CPUTIME_ID) - c0;
	return rc;
}

BENCH_LBS void
bench_lbs_close(struct dloop *l)
{
	uint64_t c0 = clk(CLOCK_THREAD_CPUTIME_ID), w0 = clk(CLOCK_MONOTONIC);

	dloop_close(l);
	acc.wall_ns += clk(CLOCK_MONOTONIC) - w0;
	acc.cpu_ns += clk(CLOCK_THREAD_CPUTIME_ID) - c0;
}

/* ---- the registry backend ---- */

static struct lbs_reg *reg;

static int
cstr(const uint8_t *p, size_t len, char *out)
{
	if (len == 0 || len > OSAP_ID_MAX)
		return -EINVAL;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int
reg_lookup_serial(void *ctx, const uint8_t *serial, size_t len, struct lbs_dev_rec *rec)
{
	struct lbs_reg_device d;
	char sn[OSAP_ID_MAX + 1];
	int rc;

	(void)ctx;
	if (cstr(serial, len, sn) < 0)
		return -ENOENT;
	rc = lbs_reg_get(reg, sn, &d);
	if (rc == 0) {
		memcpy(rec->key, d.share_key, OSAP_KEY_LEN);
		rec->blocked = d.state == LBS_REG_BLOCKED;
	}
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

static int
reg_lookup_devid(void *ctx, const uint8_t *devid, size_t len, struct lbs_dev_rec *rec)
{
	struct lbs_reg_device d;
	char id[OSAP_ID_MAX + 1];
	int rc;

	(void)ctx;
	if (cstr(devid, len, id) < 0)
		return -ENOENT;
	rc = lbs_reg_get_by_devid(reg, id, &d);
	if (rc == 0 && !d.has_master)
		rc = -ENOENT;
	if (rc == 0) {
		memcpy(rec->key, d.master_key, OSAP_KEY_LEN);
		rec->blocked = d.state == LBS_REG_BLOCKED;
	}
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

static int
reg_apply_devid(void *ctx, const uint8_t *serial, size_t serial_len,
		const uint8_t master_key[OSAP_KEY_LEN], struct lbs_devid *devid)
{
	char sn[OSAP_ID_MAX + 1], id[OSAP_ID_MAX + 1];
	int n;

	(void)ctx;
	if (cstr(serial, serial_len, sn) < 0)
		return -EINVAL;
	/* as ternd (control/lbs/backend.c): DevID and master key, one commit */
	n = lbs_reg_begin(reg);
	if (n == 0)
		n = lbs_reg_set_devid(reg, sn, id, sizeof(id));
	if (n >= 0)
		n = lbs_reg_set_master_key(reg, sn, master_key);
	if (n < 0) {
		lbs_reg_rollback(reg);
		return n;
	}
	n = lbs_reg_commit(reg);
	if (n < 0)
		return n;
	devid->len = (uint8_t)strlen(id);
	memcpy(devid->id, id, devid->len);
	return 0;
}

static int
reg_store_session_key(void *ctx, const uint8_t *devid, size_t devid_len,
		      const uint8_t key[OSAP_KEY_LEN], int64_t expiry)
{
	/* as ternd: nothing at 0x8/0x6; the admission is recorded, batched */
	(void)ctx;
	(void)devid;
	(void)devid_len;
	(void)key;
	(void)expiry;
	return 0;
}

/*
 * As ternd records admissions: queued, committed in batches (ternd: every
 * 50 ms or 1024 waiting; here every BATCH, the batch a 50 ms tick holds at
 * about 5000 exchanges/s). The commit runs inside admit(), so it is timed.
 */
#define BATCH 256
static struct {
	char devid[OSAP_ID_MAX + 1];
	uint8_t key[OSAP_KEY_LEN];
	int64_t expiry;
} batch[BATCH];
static unsigned int nb_batch;
static int (*mem_admit)(void *ctx, struct lbs_sess *s, const struct lbs_admission *a);

static int
reg_flush(void)
{
	int rc = nb_batch ? lbs_reg_begin(reg) : 0;

	for (unsigned int i = 0; rc == 0 && i < nb_batch; i++) {
		struct lbs_reg_device d;

		rc = lbs_reg_get_by_devid(reg, batch[i].devid, &d);
		if (rc == 0)
			rc = lbs_reg_set_session(reg, d.serial, batch[i].key, batch[i].expiry,
						 "bench-node");
		OPENSSL_cleanse(&d, sizeof(d));
	}
	if (nb_batch)
		rc = rc == 0 ? lbs_reg_commit(reg) : (lbs_reg_rollback(reg), rc);
	OPENSSL_cleanse(batch, sizeof(batch));
	nb_batch = 0;
	return rc;
}

static int
reg_admit(void *ctx, struct lbs_sess *s, const struct lbs_admission *a)
{
	int rc = mem_admit(ctx, s, a);

	if (rc < 0 || cstr(a->devid, a->devid_len, batch[nb_batch].devid) < 0)
		return rc;
	memcpy(batch[nb_batch].key, a->session_key, OSAP_KEY_LEN);
	batch[nb_batch].expiry = a->key_expiry;
	if (++nb_batch == BATCH && reg_flush() < 0)
		return -EIO;
	return rc;
}

/* ---- workloads ---- */

struct result {
	const char *workload;
	unsigned long ops, failed;
	double cpu_us, wall_us, dev_us;   /* per exchange */
};

/*
 * @p n exchanges of @p devs (copies), first or re-authentication, on backend
 * @p b; through the BENCH_LBS functions if @p measured (a set-up run is not,
 * so callgrind does not count it).
 */
static int
run(const char *name, const struct lbs_backend *b, struct osap_dev *devs, unsigned int ndev,
    bool reauth, unsigned long n, bool measured, struct result *res)
{
	uint64_t t0 = clk(CLOCK_MONOTONIC);
	unsigned long i;

	memset(&acc, 0, sizeof(acc));
	memset(res, 0, sizeof(*res));
	res->workload = name;
	for (i = 0; i < n; i++) {
		struct osap_dev *base = &devs[i % ndev];
		struct osap_dev d = *base;
		struct osap_dev_result r;
		struct osap_stream st;
		struct dloop l = { 0 };
		int rc;

		if ((measured ? bench_lbs_open(&l, b, &st) : dloop_open(&l, b, &st)) < 0)
			return -ENOMEM;
		osap_dev_result_init(&r);
		rc = reauth ? osap_dev_reauth(&d, &st, &r) : osap_dev_first_auth(&d, &st, &r);
		if (rc == 0)
			rc = osap_dev_get_address(&d, &st, &r);
		if (measured)
			bench_lbs_close(&l);
		else
			dloop_close(&l);
		if (rc < 0) {
			char buf[16];

			if (res->failed++ == 0)
				fprintf(stderr, "tern-bench-osap: %s: %s failed: %s\n", name,
					base->serial, osap_dev_error_name(&r, buf, sizeof(buf)));
		} else if (!reauth) {
			/* keep DevID and master key for the re-authentications */
			*base = d;
		}
		osap_dev_wipe(&d);
	}
	res->ops = n;
	res->cpu_us = (double)acc.cpu_ns / 1e3 / (double)n;
	res->wall_us = (double)acc.wall_ns / 1e3 / (double)n;
	res->dev_us = ((double)(clk(CLOCK_MONOTONIC) - t0) - (double)acc.wall_ns) / 1e3 /
		      (double)n;
	return res->failed ? -EPROTO : 0;
}

/* What the LBS's ECDH costs by itself: a key pair and a derive per first authentication. */
static void
run_ecdh(unsigned long n, struct result *gen_derive, struct result *derive)
{
	struct osap_ecdh *peer = osap_ecdh_generate(), *k;
	uint8_t pub[OSAP_EC_PUB_LEN], z[OSAP_ECDH_SECRET_LEN];
	uint64_t c0;

	osap_ecdh_public(peer, pub);
	memset(gen_derive, 0, sizeof(*gen_derive));
	memset(derive, 0, sizeof(*derive));
	gen_derive->workload = "ecdh-keygen+derive";
	derive->workload = "ecdh-derive";
	c0 = clk(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned long i = 0; i < n; i++) {
		k = osap_ecdh_generate();
		if (k == NULL || osap_ecdh_derive(k, pub, z) < 0)
			gen_derive->failed++;
		osap_ecdh_free(k);
	}
	gen_derive->cpu_us = (double)(clk(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3 / (double)n;
	k = osap_ecdh_generate();
	c0 = clk(CLOCK_THREAD_CPUTIME_ID);
	for (unsigned long i = 0; i < n; i++)
		if (osap_ecdh_derive(k, pub, z) < 0)
			derive->failed++;
	derive->cpu_us = (double)(clk(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3 / (double)n;
	gen_derive->ops = derive->ops = n;
	gen_derive->wall_us = gen_derive->cpu_us;
	derive->wall_us = derive->cpu_us;
	osap_ecdh_free(k);
	osap_ecdh_free(peer);
	OPENSSL_cleanse(z, sizeof(z));
}

static void
print(const struct result *r, bool json)
{
	if (json)
		printf("{\"workload\":\"%s\",\"ops\":%lu,\"failed\":%lu,\"lbs_cpu_us\":%.2f,"
		       "\"lbs_wall_us\":%.2f,\"lbs_ops_per_s_cpu\":%.1f,\"lbs_ops_per_s_wall\":%.1f,"
		       "\"device_us\":%.2f}\n", r->workload, r->ops, r->failed, r->cpu_us,
		       r->wall_us, 1e6 / r->cpu_us, 1e6 / r->wall_us, r->dev_us);
	else
		printf("%-20s %8lu ops %6lu failed  LBS %9.2f us CPU (%9.1f/s)  %9.2f us wall "
		       "(%9.1f/s)  device %8.2f us\n", r->workload, r->ops, r->failed, r->cpu_us,
		       1e6 / r->cpu_us, r->wall_us, 1e6 / r->wall_us, r->dev_us);
	fflush(stdout);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: tern-bench-osap [--workload all|first-mem|reauth-mem|first-reg|"
		"reauth-reg|ecdh]\n"
		"                       [--first N] [--reauth N] [--devices N] [--iterations N]"
		" [--json]\n"
		"  --first N    first authentications per workload (default 500)\n"
		"  --reauth N   re-authentications per workload (default 5000)\n"
		"  --devices N  distinct devices (default 100)\n"
		"  --iterations N  PBKDF2 count of the share keys (set-up only; default 1000)\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "first", required_argument, NULL, 'f' },
		{ "reauth", required_argument, NULL, 'r' },
		{ "devices", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *wl = "all";
	unsigned long nfirst = 500, nre = 5000;
	unsigned int ndev = 100, iter = 1000;
	bool json = false, mem_on, reg_on;
	char dir[] = "/tmp/tern-bench-osap-XXXXXX", path[256], err[256];
	struct osap_dev *devs;
	struct lbs_backend bmem, breg;
	struct dmem mem;
	struct result r;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'w': wl = optarg; break;
		case 'f': nfirst = strtoul(optarg, NULL, 0); break;
		case 'r': nre = strtoul(optarg, NULL, 0); break;
		case 'd': ndev = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'i': iter = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (nfirst == 0 || nre == 0 || ndev == 0 || iter == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(wl, "ecdh") == 0 || strcmp(wl, "all") == 0) {
		struct result g, d;

		run_ecdh(nfirst, &g, &d);
		print(&g, json);
		print(&d, json);
		if (strcmp(wl, "ecdh") == 0)
			return 0;
	}
	mem_on = strcmp(wl, "all") == 0 || strstr(wl, "-mem") != NULL;
	reg_on = strcmp(wl, "all") == 0 || strstr(wl, "-reg") != NULL;
	if (!mem_on && !reg_on) {
		usage(stderr);
		return 2;
	}

	/* Devices, their share keys, and both backends: set-up, not measured. */
	devs = calloc(ndev, sizeof(*devs));
	if (devs == NULL || dmem_init(&mem, ndev, OSAP_PROTO_KNOWN, 1883) < 0)
		return 1;
	dmem_backend(&mem, &bmem);
	breg = bmem;
	breg.lookup_serial = reg_lookup_serial;
	breg.lookup_devid = reg_lookup_devid;
	breg.apply_devid = reg_apply_devid;
	breg.store_session_key = reg_store_session_key;
	mem_admit = bmem.admit;
	breg.admit = reg_admit;
	if (reg_on) {
		if (mkdtemp(dir) == NULL) {
			perror("tern-bench-osap: mkdtemp");
			return 1;
		}
		snprintf(path, sizeof(path), "%s/registry.db", dir);
		reg = lbs_reg_open(path, err, sizeof(err));
		if (reg == NULL) {
			fprintf(stderr, "tern-bench-osap: %s\n", err);
			return 1;
		}
	}
	for (unsigned int i = 0; i < ndev; i++) {
		char sn[32];

		snprintf(sn, sizeof(sn), "BENCH%u", i);
		if (osap_dev_init(&devs[i], sn, CODE, iter) < 0 ||
		    dmem_add(&mem, sn, CODE, iter, false) == NULL ||
		    (reg_on && lbs_reg_add(reg, sn, CODE, iter) < 0)) {
			fprintf(stderr, "tern-bench-osap: set-up of %s failed\n", sn);
			return 1;
		}
	}

	if (mem_on && (strcmp(wl, "all") == 0 || strcmp(wl, "first-mem") == 0 ||
		       strcmp(wl, "reauth-mem") == 0)) {
		bool setup = strcmp(wl, "reauth-mem") == 0;

		rc |= run("first-mem", &bmem, devs, ndev, false, setup ? ndev : nfirst, !setup, &r);
		if (strcmp(wl, "reauth-mem") != 0)
			print(&r, json);
		if (strcmp(wl, "first-mem") != 0) {
			rc |= run("reauth-mem", &bmem, devs, ndev, true, nre, true, &r);
			print(&r, json);
		}
	}
	if (reg_on) {
		bool setup = strcmp(wl, "reauth-reg") == 0;

		rc |= run("first-reg", &breg, devs, ndev, false, setup ? ndev : nfirst, !setup, &r);
		if (strcmp(wl, "reauth-reg") != 0)
			print(&r, json);
		if (strcmp(wl, "first-reg") != 0) {
			rc |= run("reauth-reg", &breg, devs, ndev, true, nre, true, &r);
			print(&r, json);
		}
		reg_flush();
		lbs_reg_close(reg);
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			fprintf(stderr, "tern-bench-osap: could not remove %s\n", dir);
	}
	for (unsigned int i = 0; i < ndev; i++)
		osap_dev_wipe(&devs[i]);
	free(devs);
	dmem_fini(&mem);
	return rc ? 1 : 0;
}
