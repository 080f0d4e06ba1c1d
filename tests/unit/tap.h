/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_TESTS_TAP_H
#define TERN_TESTS_TAP_H

/*
 * Minimal TAP output for the unit tests: ok()/is_int()/is_mem() print one
 * "ok N - what" or "not ok N - what" line each; done_testing() prints the
 * plan and returns the exit status (non-zero if anything failed).
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static inline int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

#define is_int(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!ok(g_ == w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__)) \
		printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define is_mem(got, want, n, ...) do { \
	const unsigned char *g_ = (const unsigned char *)(got), *w_ = (const unsigned char *)(want); \
	size_t n_ = (n); \
	if (!ok(memcmp(g_, w_, n_) == 0, __VA_ARGS__)) { \
		for (size_t i_ = 0; i_ < n_; i_++) \
			if (g_[i_] != w_[i_]) { \
				printf("#   first difference at byte %zu: got %02x, want %02x\n", \
				       i_, g_[i_], w_[i_]); \
				break; \
			} \
	} \
} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
