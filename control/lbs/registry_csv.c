/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The line parser of the registry's CSV import (lbs_reg_csv_line()). It is
 * apart from registry.c so that its fuzz target links without SQLite.
 *
 * The dialect is the common one (RFC 4180 quoting) cut down to what a
 * provisioning sheet needs: exactly two fields, no field spanning lines.
 * Whatever is not valid is refused with a reason rather than guessed at: an
 * operator importing keys wants to hear about a stray quote, not to find a
 * device registered under a serial number nobody typed.
 */

#include <errno.h>
#include <string.h>

#include "control/lbs/registry.h"

#define CSV_FIELDS 2

/* The reasons below spell the limits out. */
_Static_assert(LBS_REG_SERIAL_MAX == 64 && LBS_REG_CODE_MAX == 64, "update the reason texts");

static int
csv_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
csv_bad(struct lbs_reg_csv *out, const char *reason)
{
	out->serial[0] = '\0';
	out->code[0] = '\0';
	out->serial_len = 0;
	out->code_len = 0;
	out->reason = reason;
	return -EINVAL;
}

/*
 * Copy one field starting at @p *pos into @p dst (at most @p max octets,
 * then a NUL), leaving @p *pos on the comma or at @p len. Lengths beyond
 * @p max are still counted into *@p flen so that the caller can say "too
 * long" rather than truncate.
 */
static const char *
csv_field(const char *s, size_t len, size_t *pos, char *dst, size_t max, size_t *flen)
{
	size_t i = *pos, n = 0, end;

	while (i < len && csv_blank(s[i]))
		i++;
	if (i < len && s[i] == '"') {
		for (i++;; i++) {
			if (i >= len)
				return "unterminated quoted field";
			if (s[i] == '"') {
				if (i + 1 < len && s[i + 1] == '"')
					i++;
				else
					break;
			}
			if (n < max)
				dst[n] = s[i];
			n++;
		}
		for (i++; i < len && csv_blank(s[i]); i++)
			;
		if (i < len && s[i] != ',')
			return "text after a closing quote";
	} else {
		size_t start = i;

		while (i < len && s[i] != ',') {
			if (s[i] == '"')
				return "quote inside an unquoted field";
			i++;
		}
		for (end = i; end > start && csv_blank(s[end - 1]); end--)
			;
		n = end - start;
		memcpy(dst, s + start, n < max ? n : max);
	}
	*pos = i;
	dst[n < max ? n : max] = '\0';
	*flen = n;
	return NULL;
}

/* 1 if the @p n octets at @p f are printable ASCII. */
static int
csv_printable(const char *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || (unsigned char)f[i] > 0x7e)
			return 0;
	return 1;
}

int
lbs_reg_csv_line(const char *line, size_t len, struct lbs_reg_csv *out)
{
	char *dst[CSV_FIELDS] = { out->serial, out->code };
	size_t max[CSV_FIELDS] = { LBS_REG_SERIAL_MAX, LBS_REG_CODE_MAX };
	size_t flen[CSV_FIELDS] = { 0, 0 };
	size_t pos = 0, i;
	unsigned int nf;
	const char *why;

	out->reason = NULL;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && csv_blank(line[i]); i++)
		;
	if (i == len || line[i] == '#') {
		out->serial[0] = '\0';
		out->code[0] = '\0';
		out->serial_len = 0;
		out->code_len = 0;
		return 0;
	}

	for (nf = 0;; nf++) {
		if (nf == CSV_FIELDS)
			return csv_bad(out, "more than two fields (serial,code)");
		why = csv_field(line, len, &pos, dst[nf], max[nf], &flen[nf]);
		if (why != NULL)
			return csv_bad(out, why);
		if (pos == len)
			break;
		pos++;  /* the comma */
	}
	if (nf + 1 < CSV_FIELDS)
		return csv_bad(out, "no verification code (want serial,code)");

	if (flen[0] == 0)
		return csv_bad(out, "empty serial number");
	if (flen[1] == 0)
		return csv_bad(out, "empty verification code");
	if (flen[0] > LBS_REG_SERIAL_MAX)
		return csv_bad(out, "serial number longer than 64 octets");
	if (flen[1] > LBS_REG_CODE_MAX)
		return csv_bad(out, "verification code longer than 64 octets");
	if (!csv_printable(out->serial, flen[0]))
		return csv_bad(out, "serial number has a non-printable or non-ASCII character");
	if (!csv_printable(out->code, flen[1]))
		return csv_bad(out, "verification code has a non-printable or non-ASCII character");
	out->serial_len = flen[0];
	out->code_len = flen[1];
	return 1;
}
