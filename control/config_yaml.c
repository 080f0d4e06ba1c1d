/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the libyaml pre-pass.
 *
 * libcyaml reports where a mistake is only for what it checks itself, and
 * our own checks run after the load, on plain values. So before libcyaml
 * sees the text, one pass over libyaml's events records the line of every
 * key and sequence entry under its instance path ("ports[1].name"), which
 * every later message looks up, and rejects with a line (and column) what we
 * do not accept: syntax errors, aliases, several documents, complex keys,
 * duplicate keys, NUL characters and absurd nesting.
 */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "control/config_priv.h"

#define CFG_MAX_LOCS       4096        /* key locations remembered for messages */

/* ------------------------------------------------------------------------ */
/* Locations: one pass over libyaml's events */

unsigned int
cfg_line(const struct cfg_ctx *c, const char *path)
{
	for (unsigned int i = 0; i < c->nb_locs; i++)
		if (strcmp(c->locs[i].path, path) == 0)
			return c->locs[i].line;
	return 0;
}

static int
cfg_loc_add(struct cfg_ctx *c, const char *path, unsigned int line)
{
	unsigned int first = cfg_line(c, path);

	if (first)
		return cfg_fail_at(c, path, line, "duplicate key (first at line %u)", first);
	if (c->nb_locs == CFG_MAX_LOCS)
		return 0;  /* only messages lose their line from here on */
	if (c->locs == NULL) {
		c->locs = calloc(CFG_MAX_LOCS, sizeof(*c->locs));
		if (c->locs == NULL)
			return cfg_fail_at(c, NULL, 0, "out of memory");
	}
	c->locs[c->nb_locs].path = strdup(path);
	if (c->locs[c->nb_locs].path == NULL)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	c->locs[c->nb_locs++].line = line;
	return 0;
}

void
cfg_locs_free(struct cfg_ctx *c)
{
	for (unsigned int i = 0; i < c->nb_locs; i++)
		free(c->locs[i].path);
	free(c->locs);
	c->locs = NULL;
	c->nb_locs = 0;
}

unsigned int
cfg_offset_line(const struct cfg_ctx *c, size_t off)
{
	unsigned int line = 1;

	for (size_t i = 0; i < off && i < c->len; i++)
		line += c->yaml[i] == '\n';
	return line;
}

static int
cfg_yaml_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem != NULL ? p->problem : "malformed YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return cfg_fail_at(c, NULL, 0, "out of memory");
	if (p->error == YAML_READER_ERROR)
		return cfg_fail_at(c, NULL, cfg_offset_line(c, p->problem_offset),
				   "YAML syntax error: %s", problem);
	if (p->context != NULL)
		return cfg_fail_at(c, NULL, 0, "line %zu, column %zu: YAML syntax error: %s "
				   "(%s at line %zu)", p->problem_mark.line + 1,
				   p->problem_mark.column + 1, problem, p->context,
				   p->context_mark.line + 1);
	return cfg_fail_at(c, NULL, 0, "line %zu, column %zu: YAML syntax error: %s",
			   p->problem_mark.line + 1, p->problem_mark.column + 1, problem);
}

struct cfg_frame {
	bool map;
	bool want_key;
	unsigned int index;
	size_t plen;
};

/* A node in value position starts: give it its path (sequence entries). */
static int
cfg_scan_value(struct cfg_ctx *c, struct cfg_frame *top, char *path, unsigned int line)
{
	if (top == NULL || top->map)
		return 0;
	snprintf(path + top->plen, CFG_PATH_LEN - top->plen, "[%u]", top->index);
	return cfg_loc_add(c, path, line);
}

/* A node in value position ended: back to the parent's path. */
static void
cfg_scan_done(struct cfg_frame *top, char *path)
{
	if (top == NULL)
		return;
	if (top->map)
		top->want_key = true;
	else
		top->index++;
	path[top->plen] = '\0';
}

int
cfg_scan(struct cfg_ctx *c)
{
	struct cfg_frame st[CFG_MAX_DEPTH];
	char path[CFG_PATH_LEN] = "";
	unsigned int depth = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	bool end = false;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return cfg_fail_at(c, NULL, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->yaml, c->len);
	while (!end && rc == 0) {
		struct cfg_frame *top = depth ? &st[depth - 1] : NULL;
		unsigned int line;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = cfg_yaml_error(c, &p);
			break;
		}
		line = (unsigned int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = cfg_fail_at(c, NULL, line, "more than one YAML document");
			break;
		case YAML_ALIAS_EVENT:
			rc = cfg_fail_at(c, NULL, line, "YAML aliases are not supported");
			break;
		case YAML_SCALAR_EVENT:
			/* "\0" in a quoted scalar would silently cut the C string */
			if (strlen((const char *)ev.data.scalar.value) != ev.data.scalar.length) {
				rc = cfg_fail_at(c, NULL, line, "NUL character in a value");
				break;
			}
			if (top != NULL && top->map && top->want_key) {
				const char *key = (const char *)ev.data.scalar.value;

				snprintf(path + top->plen, CFG_PATH_LEN - top->plen, "%s%.*s",
					 top->plen ? "." : "", CFG_KEY_SHOWN, key);
				top->want_key = false;
				rc = cfg_loc_add(c, path, line);
			} else {
				rc = cfg_scan_value(c, top, path, line);
				cfg_scan_done(top, path);
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (top != NULL && top->map && top->want_key) {
				rc = cfg_fail_at(c, NULL, line,
						 "complex mapping keys are not supported");
				break;
			}
			if (depth == CFG_MAX_DEPTH) {
				rc = cfg_fail_at(c, NULL, line, "nested deeper than %u levels",
						 CFG_MAX_DEPTH);
				break;
			}
			rc = cfg_scan_value(c, top, path, line);
			st[depth++] = (struct cfg_frame){
				.map = ev.type == YAML_MAPPING_START_EVENT,
				.want_key = true,
				.plen = strlen(path),
			};
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			cfg_scan_done(depth ? &st[depth - 1] : NULL, path);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}
