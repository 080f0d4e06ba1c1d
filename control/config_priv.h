/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_CONFIG_PRIV_H
#define TERN_CONTROL_CONFIG_PRIV_H

/*
 * Internals of the configuration module, shared by its files only:
 *
 *   config_schema.c  the key table cfg_keys[], stores/shows, the Markdown
 *   config_types.c   value types (parse and range functions)
 *   config_yaml.c    libyaml pre-pass: key lines, syntax errors, aliases
 *   config_cyaml.c   libcyaml: schema built from the table, load, messages
 *   config.c         public interface: conversion, checks, JSON
 *
 * Everything here runs on the thread calling tern_config_parse(); nothing
 * is shared between parses.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/config.h"

#define CFG_MAX_DEPTH      16          /* the schema is 3 deep; deeper is a mistake */
#define CFG_MAX_CHILDREN   32          /* keys per mapping in the table */
#define CFG_MAX_KEYS       160         /* rows in the table (checked at build time) */
#define CFG_PATH_LEN       1024
#define CFG_KEY_SHOWN      64          /* longer keys are cut in paths and messages */
#define CFG_DIM(a)         (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* The table (config_schema.c) */

enum cfg_kind {
	CFG_MAP,       /* mapping of further keys */
	CFG_LIST,      /* sequence of mappings (ports) */
	CFG_STRLIST,   /* sequence of strings (dpdk.args) */
	CFG_LEAF,      /* one scalar */
};

#define CFG_F_REQUIRED 1u

struct cfg_key;
struct cfg_ctx;

union cfg_val {
	bool b;
	unsigned long u;
	const char *s;
	struct {
		uint8_t addr[16];
		uint8_t prefix;
	} ip;
	struct {
		char *const *v;
		unsigned int n;
	} list;
};

struct cfg_type {
	const char *name;  /* the docs' Type column and "expected ..." messages */
	/* Convert and check @s; on error write what is wrong (no path) to @msg. */
	int (*parse)(const struct cfg_key *k, const char *s, union cfg_val *v,
		     char *msg, size_t len);
	/* The docs' Values column, from the key's min/max/allowed. */
	void (*range)(const struct cfg_key *k, char *buf, size_t len);
};

struct cfg_key {
	const char *path;              /* "ports[].ipv4": "[]" marks a list entry */
	enum cfg_kind kind;
	const struct cfg_type *type;   /* CFG_LEAF only */
	unsigned int flags;
	const char *def;               /* CFG_LEAF default as YAML text; NULL none */
	const char *const *def_list;   /* CFG_STRLIST default, NULL-terminated */
	const char *def_doc;           /* default as the docs say it, when computed */
	unsigned long min, max;        /* value, length or entry count bounds */
	const char *const *allowed;    /* enum values, NULL-terminated */
	int (*store)(struct cfg_ctx *c, const union cfg_val *v);
	json_t *(*show)(const struct tern_config *cfg, unsigned int idx);
	unsigned int (*count)(const struct tern_config *cfg);   /* CFG_LIST: its entries */
	const char *doc;
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nb_keys;

/* "ports[].name" -> "name" */
const char *cfg_leaf_name(const char *path);
/* Whether @k is a direct child of the table path @parent (@plen bytes). */
bool cfg_is_child(const struct cfg_key *k, const char *parent, size_t plen);
/* The row of an instance path: "ports[3].name" -> "ports[].name"; NULL none. */
const struct cfg_key *cfg_key_find(const char *path);

/* ------------------------------------------------------------------------ */
/* Value types (config_types.c) */

extern const struct cfg_type cfg_t_name;
extern const struct cfg_type cfg_t_device;
extern const struct cfg_type cfg_t_ipv4;
extern const struct cfg_type cfg_t_ipv6;
extern const struct cfg_type cfg_t_queues;
extern const struct cfg_type cfg_t_uint;
extern const struct cfg_type cfg_t_bool;
extern const struct cfg_type cfg_t_ifname;
extern const struct cfg_type cfg_t_path;
extern const struct cfg_type cfg_t_group;
extern const struct cfg_type cfg_t_enum;
extern const struct cfg_type cfg_t_text;
extern const struct cfg_type cfg_t_hex;
extern const struct cfg_type cfg_t_advaddr;
extern const struct cfg_type cfg_t_addr;

/* @s quoted, escaped and cut short for a message, in @buf; returns @buf. */
const char *cfg_quote(const char *s, char *buf, size_t len);

#define CFG_Q(s) cfg_quote((s), (char[96]){0}, 96)

/* The NULL-terminated @v, each in @quote, separated by @sep, into @buf. */
void cfg_join(const char *const *v, const char *quote, const char *sep, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Parse context and messages */

struct cfg_loc {
	char *path;
	unsigned int line;
};

struct cfg_ctx {
	char *err;
	size_t errlen;
	bool failed;
	const char *yaml;
	size_t len;
	struct cfg_loc *locs;
	unsigned int nb_locs;
	struct tern_config *cfg;
	unsigned int idx;              /* list entry being converted */
	char cylog[2048];              /* libcyaml's messages, captured */
	size_t cylog_len;
};

/* Every mapping loads into this: slot i holds the table's i-th child. */
struct cfg_slot {
	void *ptr;
	uint32_t count;
};

struct cfg_raw {
	struct cfg_slot slot[CFG_MAX_CHILDREN];
};

/* Record the first failure (config.c); returns -EINVAL. */
int cfg_fail_at(struct cfg_ctx *c, const char *path, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define cfg_fail(c, path, ...) cfg_fail_at((c), (path), cfg_line((c), (path)), __VA_ARGS__)

static inline int
cfg_dup(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst == NULL ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------------ */
/* Locations (config_yaml.c) */

/*
 * Check the YAML syntax and what we refuse (aliases, several documents, deep
 * nesting, duplicate keys, NUL in a value), recording the line of every key
 * and sequence entry. 0, or -EINVAL with the message recorded.
 */
int cfg_scan(struct cfg_ctx *c);
/* The line of an instance path ("ports[1].name"), 0 if unknown. */
unsigned int cfg_line(const struct cfg_ctx *c, const char *path);
/* The line of a byte offset in the text. */
unsigned int cfg_offset_line(const struct cfg_ctx *c, size_t off);
void cfg_locs_free(struct cfg_ctx *c);

/* ------------------------------------------------------------------------ */
/* libcyaml (config_cyaml.c) */

/*
 * Load the text into raw mappings through the schema built from the table.
 * 0 with *raw set (NULL for an empty document), or -EINVAL with the message
 * recorded. Free *raw with cfg_cyaml_free().
 */
int cfg_cyaml_load(struct cfg_ctx *c, struct cfg_raw **raw);
void cfg_cyaml_free(struct cfg_raw *raw);

#endif
