/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for lbs_reg_csv_line(), the line parser of the device
 * registry's CSV import (control/lbs/registry_csv.c).
 *
 * The input is one line. For any bytes the parser must not crash or read
 * outside the input (ASan), and:
 *  - it returns 1, 0 or -EINVAL, and the same again on a second call;
 *  - a bad line has a one-line reason;
 *  - a skipped line is blank, or a comment (first non-blank octet '#');
 *  - a record has a serial of 1..64 and a code of 1..64 printable ASCII
 *    octets, NUL-terminated at the lengths given;
 *  - a record written back quoted ("" for a quote), with a "\r\n" ending,
 *    parses to the same record; so does the unquoted form where the fields
 *    allow it (no comma or quote, no space at either end, serial not
 *    starting with '#').
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * fuzz-sources: control/lbs/registry_csv.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/lbs/registry.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static size_t
put_quoted(char *out, const char *s, size_t n)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			out[o++] = '"';
		out[o++] = s[i];
	}
	out[o++] = '"';
	return o;
}

static int
plain_ok(const char *s, size_t n)
{
	return strpbrk(s, ",\"") == NULL && s[0] != ' ' && s[n - 1] != ' ';
}

/* Parse @p len octets from an exact-size heap copy and compare with @p want. */
static void
same_record(const char *text, size_t len, const struct lbs_reg_csv *want)
{
	struct lbs_reg_csv c;
	char *p = malloc(len);

	CHECK(p != NULL);
	memcpy(p, text, len);
	CHECK(lbs_reg_csv_line(p, len, &c) == 1);
	CHECK(c.serial_len == want->serial_len && c.code_len == want->code_len);
	CHECK(memcmp(c.serial, want->serial, c.serial_len + 1) == 0);
	CHECK(memcmp(c.code, want->code, c.code_len + 1) == 0);
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* each field doubles at most, plus quotes, comma and "\r\n" */
	char line[4 * LBS_REG_SERIAL_MAX + 4 * LBS_REG_CODE_MAX + 16];
	const char *s = (const char *)data;
	struct lbs_reg_csv c, c2;
	size_t n, i;
	int rc;

	rc = lbs_reg_csv_line(s, size, &c);
	CHECK(rc == 1 || rc == 0 || rc == -EINVAL);
	CHECK(lbs_reg_csv_line(s, size, &c2) == rc);

	if (rc < 0) {
		CHECK(c.reason != NULL && c.reason[0] != '\0');
		CHECK(strchr(c.reason, '\n') == NULL);
		return 0;
	}
	if (rc == 0) {
		n = size;
		if (n > 0 && s[n - 1] == '\n')
			n--;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
			;
		CHECK(i == n || s[i] == '#');
		return 0;
	}

	CHECK(c.serial_len >= 1 && c.serial_len <= LBS_REG_SERIAL_MAX);
	CHECK(c.code_len >= 1 && c.code_len <= LBS_REG_CODE_MAX);
	CHECK(strlen(c.serial) == c.serial_len && strlen(c.code) == c.code_len);
	CHECK(printable(c.serial, c.serial_len) && printable(c.code, c.code_len));

	n = put_quoted(line, c.serial, c.serial_len);
	line[n++] = ',';
	n += put_quoted(line + n, c.code, c.code_len);
	memcpy(line + n, "\r\n", 2);
	same_record(line, n + 2, &c);

	if (plain_ok(c.serial, c.serial_len) && c.serial[0] != '#' &&
	    plain_ok(c.code, c.code_len)) {
		n = 0;
		memcpy(line + n, c.serial, c.serial_len);
		n += c.serial_len;
		line[n++] = ',';
		memcpy(line + n, c.code, c.code_len);
		n += c.code_len;
		same_record(line, n, &c);
	}
	return 0;
}
