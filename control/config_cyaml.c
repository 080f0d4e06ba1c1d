/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the libcyaml glue.
 *
 * libcyaml loads every scalar as a string into generic "raw" mappings (an
 * array of slots, one per child key, in table order), through a schema built
 * here from cfg_keys[]. Typing is ours, done by the table's type functions
 * after the load: that way a value such as rx_queues ("auto" or a number)
 * needs no special schema, and defaults are parsed by the same code as user
 * values.
 *
 * libcyaml's own complaints arrive through its log callback as a message
 * plus a backtrace of mapping fields and sequence entries; they are captured
 * (nothing is printed) and rewritten into a path and a line.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "control/config_priv.h"

/* ------------------------------------------------------------------------ */
/* The libcyaml schema, built from the table */

struct cfg_schema {
	cyaml_schema_value_t top;
	cyaml_schema_value_t entry[CFG_MAX_KEYS];
	cyaml_schema_field_t fields[2 * CFG_MAX_KEYS + 2];
	unsigned int used;
	bool too_wide;                 /* a mapping has more keys than struct cfg_raw */
};

#define CFG_CY_OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
/* null and empty scalars load as NULL: absent, the default applies */
#define CFG_CY_NULL_OPT (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)

static const cyaml_schema_value_t cfg_cy_arg = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t *
cfg_schema_map(struct cfg_schema *s, const char *prefix, size_t plen)
{
	cyaml_schema_field_t *fields = &s->fields[s->used];
	unsigned int n = 0;

	for (size_t i = 0; i < cfg_nb_keys; i++)
		n += cfg_is_child(&cfg_keys[i], prefix, plen);
	if (n > CFG_MAX_CHILDREN) {
		/* a table edit, caught by the first test run rather than by memory */
		s->too_wide = true;
		return fields;
	}
	s->used += n + 1;  /* and the zeroed end marker */

	n = 0;
	for (size_t i = 0; i < cfg_nb_keys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		cyaml_schema_field_t *f;

		if (!cfg_is_child(k, prefix, plen))
			continue;
		f = &fields[n];
		f->key = cfg_leaf_name(k->path);
		f->data_offset = offsetof(struct cfg_raw, slot) + n * sizeof(struct cfg_slot) +
				 offsetof(struct cfg_slot, ptr);
		switch (k->kind) {
		case CFG_LEAF:
			f->value = (cyaml_schema_value_t){
				CYAML_VALUE_STRING(CFG_CY_NULL_OPT, char, 0, CYAML_UNLIMITED),
			};
			break;
		case CFG_MAP:
			f->value = (cyaml_schema_value_t){
				CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER_NULL | CYAML_FLAG_OPTIONAL,
						    struct cfg_raw,
						    cfg_schema_map(s, k->path, strlen(k->path))),
			};
			break;
		case CFG_LIST:
		case CFG_STRLIST:
			f->count_offset = offsetof(struct cfg_raw, slot) +
					  n * sizeof(struct cfg_slot) +
					  offsetof(struct cfg_slot, count);
			f->count_size = sizeof(uint32_t);
			if (k->kind == CFG_LIST) {
				s->entry[i] = (cyaml_schema_value_t){
					CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct cfg_raw,
							    cfg_schema_map(s, k->path,
									   strlen(k->path))),
				};
				f->value = (cyaml_schema_value_t){
					CYAML_VALUE_SEQUENCE(CFG_CY_OPT, struct cfg_raw,
							     &s->entry[i], (uint32_t)k->min,
							     (uint32_t)k->max),
				};
			} else {
				f->value = (cyaml_schema_value_t){
					CYAML_VALUE_SEQUENCE(CFG_CY_OPT, char *, &cfg_cy_arg,
							     (uint32_t)k->min, (uint32_t)k->max),
				};
			}
			break;
		}
		n++;
	}
	return fields;
}

static void
cfg_schema_build(struct cfg_schema *s)
{
	memset(s, 0, sizeof(*s));
	s->top = (cyaml_schema_value_t){
		CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct cfg_raw, cfg_schema_map(s, "", 0)),
	};
}

/* ------------------------------------------------------------------------ */
/* libcyaml's messages, rewritten */

static void
cfg_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct cfg_ctx *c = ctx;
	int r;

	(void)level;
	if (c->cylog_len >= sizeof(c->cylog) - 1)
		return;
	r = vsnprintf(c->cylog + c->cylog_len, sizeof(c->cylog) - c->cylog_len, fmt, args);
	if (r > 0)
		c->cylog_len += (size_t)r;
	if (c->cylog_len > sizeof(c->cylog) - 1)
		c->cylog_len = sizeof(c->cylog) - 1;
}

static unsigned int
cfg_edit_distance(const char *a, const char *b)
{
	unsigned int la = (unsigned int)strlen(a), lb = (unsigned int)strlen(b);
	unsigned int d[CFG_KEY_SHOWN + 1];

	if (la > CFG_KEY_SHOWN || lb > CFG_KEY_SHOWN)
		return ~0u;
	for (unsigned int j = 0; j <= lb; j++)
		d[j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = d[0];

		d[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = d[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			diag = up;
			d[j] = best;
		}
	}
	return d[lb];
}

static int
cfg_unknown_key(struct cfg_ctx *c, const char *parent, unsigned int pline, const char *key)
{
	const struct cfg_key *pk = parent[0] != '\0' ? cfg_key_find(parent) : NULL;
	const char *ptab = pk != NULL ? pk->path : "";
	char path[CFG_PATH_LEN], hint[96] = "";
	unsigned int line;

	snprintf(path, sizeof(path), "%.*s%s%.*s", CFG_PATH_LEN - CFG_KEY_SHOWN - 2, parent,
		 parent[0] ? "." : "", CFG_KEY_SHOWN, key);
	line = cfg_line(c, path);
	for (size_t i = 0; i < cfg_nb_keys; i++) {
		const char *name = cfg_leaf_name(cfg_keys[i].path);

		if (cfg_is_child(&cfg_keys[i], ptab, strlen(ptab)) &&
		    cfg_edit_distance(key, name) <= 2) {
			snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", name);
			break;
		}
	}
	if (parent[0] == '\0')
		return cfg_fail_at(c, NULL, line ? line : pline, "unknown key %s at top level%s",
				   CFG_Q(key), hint);
	return cfg_fail_at(c, NULL, line ? line : pline, "unknown key %s in %s%s", CFG_Q(key),
			   parent, hint);
}

static const char *
cfg_expected(const char *path)
{
	const struct cfg_key *k = cfg_key_find(path);
	size_t n = strlen(path);

	if (path[0] == '\0')
		return "a mapping";
	if (k == NULL && n > 0 && path[n - 1] == ']') {
		/* an entry: of a list of mappings or of strings */
		char parent[CFG_PATH_LEN];

		snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(path, '[') - path), path);
		k = cfg_key_find(parent);
		return k != NULL && k->kind == CFG_LIST ? "a mapping" : "a string";
	}
	if (k == NULL)
		return "something else";
	switch (k->kind) {
	case CFG_MAP:
		return "a mapping";
	case CFG_LIST:
		return "a sequence of mappings";
	case CFG_STRLIST:
		return "a sequence of strings";
	case CFG_LEAF:
		return k->type->name;
	}
	return "something else";
}

static const char *
cfg_event_name(const char *ev)
{
	if (strncmp(ev, "SCALAR", 6) == 0)
		return "a scalar";
	if (strncmp(ev, "SEQUENCE_START", 14) == 0)
		return "a sequence";
	if (strncmp(ev, "MAPPING_START", 13) == 0)
		return "a mapping";
	return ev;
}

static int
cfg_cyaml_error(struct cfg_ctx *c, cyaml_err_t e)
{
	struct {
		char key[CFG_KEY_SHOWN + 1];
		unsigned int entry;  /* 1-based; 0 = a mapping field or the mapping */
		unsigned int line;
	} fr[CFG_MAX_DEPTH * 2];
	char path[CFG_PATH_LEN] = "", msg[256] = "", *save = NULL;
	unsigned int nfr = 0, inner = 0, line = 0;
	const struct cfg_key *k;

	c->cylog[c->cylog_len] = '\0';
	for (char *l = strtok_r(c->cylog, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		unsigned int u, ln, col;
		char key[CFG_KEY_SHOWN + 1];

		if (nfr < CFG_DIM(fr) &&
		    sscanf(l, " in mapping field '%64[^']' (line: %u, column: %u)", key, &ln,
			   &col) == 3) {
			snprintf(fr[nfr].key, sizeof(fr[nfr].key), "%s", key);
			fr[nfr].entry = 0;
			fr[nfr++].line = ln;
		} else if (nfr < CFG_DIM(fr) &&
			   sscanf(l, " in sequence entry '%u' (line: %u, column: %u)", &u, &ln,
				  &col) == 3) {
			fr[nfr].key[0] = '\0';
			fr[nfr].entry = u;
			fr[nfr++].line = ln;
		} else if (nfr < CFG_DIM(fr) &&
			   sscanf(l, " in mapping (line: %u, column: %u)", &ln, &col) == 2) {
			fr[nfr].key[0] = '\0';
			fr[nfr].entry = 0;
			fr[nfr++].line = ln;
		} else if (strncmp(l, "Load: ", 6) == 0 && strcmp(l, "Load: Backtrace:") != 0 &&
			   msg[0] == '\0') {
			snprintf(msg, sizeof(msg), "%s", l + 6);
		}
	}
	/* Entry counts in a too-long/short sequence name the count, not an entry. */
	if ((strncmp(msg, "Excessive", 9) == 0 || strncmp(msg, "Insufficient", 12) == 0) &&
	    nfr > 0 && fr[0].entry)
		inner = 1;
	if (nfr > inner)
		line = fr[inner].line;
	for (unsigned int i = nfr; i-- > inner;) {
		size_t o = strlen(path);

		if (fr[i].key[0] != '\0')
			snprintf(path + o, sizeof(path) - o, "%s%s", o ? "." : "", fr[i].key);
		else if (fr[i].entry)
			snprintf(path + o, sizeof(path) - o, "[%u]", fr[i].entry - 1);
	}
	k = cfg_key_find(path);

	if (strncmp(msg, "Unexpected key: ", 16) == 0)
		return cfg_unknown_key(c, path, line, msg + 16);
	if (strncmp(msg, "Expecting ", 10) == 0 && strstr(msg, "got event: ") != NULL) {
		const char *got = cfg_event_name(strstr(msg, "got event: ") + 11);

		if (path[0] == '\0')
			return cfg_fail_at(c, NULL, line, "the configuration must be a mapping, "
					   "got %s", got);
		return cfg_fail_at(c, path, line, "expected %s, got %s", cfg_expected(path), got);
	}
	if (strncmp(msg, "Mapping field already seen", 26) == 0)
		return cfg_fail_at(c, path, line, "duplicate key");
	if (strncmp(msg, "Excessive", 9) == 0 && k != NULL)
		return cfg_fail_at(c, path, line, "too many entries (at most %lu)", k->max);
	if (strncmp(msg, "Insufficient", 12) == 0 && k != NULL)
		return cfg_fail_at(c, path, line, "too few entries (at least %lu)", k->min);
	if (e == CYAML_ERR_OOM)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	return cfg_fail_at(c, path, line, "%s", msg[0] != '\0' ? msg : cyaml_strerror(e));
}

/* ------------------------------------------------------------------------ */
/* Load and free */

int
cfg_cyaml_load(struct cfg_ctx *c, struct cfg_raw **raw)
{
	const cyaml_config_t cy = {
		.log_fn = cfg_cyaml_log,
		.log_ctx = c,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_NO_ALIAS,
	};
	struct cfg_schema schema;
	cyaml_err_t e;

	*raw = NULL;
	cfg_schema_build(&schema);
	if (schema.too_wide)
		return cfg_fail_at(c, NULL, 0, "internal error: a mapping has more than %u keys",
				   CFG_MAX_CHILDREN);
	e = cyaml_load_data((const uint8_t *)c->yaml, c->len, &cy, &schema.top,
			    (cyaml_data_t **)raw, NULL);
	if (e != CYAML_OK) {
		cfg_cyaml_error(c, e);
		if (*raw != NULL)
			cyaml_free(&cy, &schema.top, *raw, 0);
		*raw = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The schema is rebuilt rather than kept: it is a few hundred bytes of
 * table walk, and keeping it would put libcyaml's types in every file. */
void
cfg_cyaml_free(struct cfg_raw *raw)
{
	const cyaml_config_t cy = {
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_NO_ALIAS,
	};
	struct cfg_schema schema;

	if (raw == NULL)
		return;
	cfg_schema_build(&schema);
	cyaml_free(&cy, &schema.top, raw, 0);
}
