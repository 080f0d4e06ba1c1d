/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for tern_config_parse().
 *
 * The input is a configuration file. It is parsed with a fixed name and a
 * 512-byte message buffer, and checked:
 *  - the result is NULL exactly when a message was written, and the message
 *    is one line (ternd prints it as one, ternctl sends it as one);
 *  - a configuration renders as JSON (tern_config_to_json), and that JSON,
 *    being YAML too, parses again into a configuration whose JSON is the
 *    same: the effective configuration ternd shows can be fed back to it.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * fuzz-sources: control/config.c control/config_cyaml.c control/config_schema.c
 * fuzz-sources: control/config_types.c control/config_yaml.c
 * fuzz-libs: libcyaml yaml-0.1 jansson
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/config.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* One parse and its contract; returns the configuration or NULL. */
static struct tern_config *
parse(const char *text, size_t len)
{
	char err[512];
	struct tern_config *cfg;

	memset(err, 'x', sizeof(err));  /* a message must be written, not left over */
	cfg = tern_config_parse(text, len, "fuzz", err, sizeof(err));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	CHECK((cfg == NULL) == (err[0] != '\0'));
	CHECK(strchr(err, '\n') == NULL);
	return cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tern_config *cfg, *again;
	json_t *j, *j2;
	char *text;

	cfg = parse((const char *)data, len);
	if (cfg == NULL)
		return 0;
	j = tern_config_to_json(cfg);
	CHECK(j != NULL);
	text = json_dumps(j, JSON_ENSURE_ASCII);
	CHECK(text != NULL);
	again = parse(text, strlen(text));
	CHECK(again != NULL);
	j2 = tern_config_to_json(again);
	CHECK(j2 != NULL && json_equal(j, j2));

	json_decref(j2);
	json_decref(j);
	free(text);
	tern_config_free(again);
	tern_config_free(cfg);
	return 0;
}
