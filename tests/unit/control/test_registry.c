/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSAP device registry (control/lbs/registry.c) on a real SQLite file
 * in a temporary directory.
 *
 * Every function and its errors; the share key against docs/osap.md's test
 * vector (14.2); what a second connection sees of the file (WAL, schema
 * version, mode 0600, no verification code anywhere); persistence across
 * close and reopen; DevIDs that stay put; the CSV line parser and the
 * import (header, comments, quoting, a bad line named by number, all or
 * nothing, skip_existing); and a crash: a child that adds devices and
 * reports each acknowledged one over a pipe is killed with SIGKILL, and
 * every reported device must be there after reopening.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "control/lbs/registry.h"
#include "proto/osap_crypto.h"
#include "tests/unit/tap.h"

#define ITER 1  /* cheap share keys where the count does not matter */

static char dir[] = "/tmp/tern-test-registry.XXXXXX";
static char db_path[256];

static const char *
tmp_path(const char *name)
{
	static char p[4][256];
	static unsigned int i;
	char *s = p[i++ % 4];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static const char *
write_file(const char *name, const char *text)
{
	const char *p = tmp_path(name);
	FILE *f = fopen(p, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
	return p;
}

static void
remove_db(void)
{
	char p[300];

	unlink(db_path);
	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
}

static struct lbs_reg *
open_db(void)
{
	char err[256] = "";
	struct lbs_reg *r = lbs_reg_open(db_path, err, sizeof(err));

	if (r == NULL) {
		printf("# lbs_reg_open: %s\n", err);
		exit(1);
	}
	return r;
}

/* One value of a query on a second, plain SQLite connection (a text copy). */
static void
sql_value(const char *path, const char *sql, char *out, size_t cap)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static int
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* 1 if the file at @p path holds the octets of @p s (0 if it cannot be read). */
static int
file_has(const char *path, const char *s)
{
	static char buf[1 << 22];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, n, s, strlen(s)) != NULL;
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* ---- open ---- */

static void
test_open(void)
{
	char err[256], v[64];
	struct lbs_reg *r;
	struct stat sb;
	const char *p;

	remove_db();
	r = lbs_reg_open(db_path, err, sizeof(err));
	ok(r != NULL, "open creates a registry");
	is_int(lbs_reg_count(r), 0, "a new registry is empty");
	ok(stat(db_path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the file is mode 0600");
	sql_value(db_path, "PRAGMA journal_mode", v, sizeof(v));
	is_str(v, "wal", "journal mode WAL");
	sql_value(db_path, "PRAGMA user_version", v, sizeof(v));
	is_int(atoi(v), LBS_REG_SCHEMA_VERSION, "user_version is the schema version");
	lbs_reg_close(r);
	lbs_reg_close(NULL);
	ok(1, "close, and close(NULL)");

	r = lbs_reg_open(db_path, err, sizeof(err));
	ok(r != NULL, "an existing registry opens again");
	lbs_reg_close(r);

	err[0] = '\0';
	p = tmp_path("no/such/dir/reg.db");
	ok(lbs_reg_open(p, err, sizeof(err)) == NULL, "missing parent directory: NULL");
	ok(strstr(err, p) && strstr(err, "No such file"), "... with a message: %s", err);

	err[0] = '\0';
	ok(lbs_reg_open("", err, sizeof(err)) == NULL && err[0], "empty path: NULL, message");

	p = write_file("garbage.db", "this is not an SQLite database, not at all, no.\n"
				     "0123456789012345678901234567890123456789\n");
	err[0] = '\0';
	ok(lbs_reg_open(p, err, sizeof(err)) == NULL, "not a database: NULL");
	ok(strstr(err, p) && strstr(err, "not a database"), "... with a message: %s", err);

	p = tmp_path("future.db");
	ok(sql_exec(p, "CREATE TABLE device (x); PRAGMA user_version = 99;") == 0,
	   "a database of schema version 99");
	err[0] = '\0';
	ok(lbs_reg_open(p, err, sizeof(err)) == NULL, "unknown schema version: NULL");
	ok(strstr(err, "schema version 99") && strstr(err, p), "... with a message: %s", err);

	p = tmp_path("other.db");
	ok(sql_exec(p, "CREATE TABLE t (x);") == 0, "a database of someone else");
	err[0] = '\0';
	ok(lbs_reg_open(p, err, sizeof(err)) == NULL, "tables but no version: NULL");
	ok(strstr(err, "not a tern device registry") != NULL, "... with a message: %s", err);
}

/* ---- single devices ---- */

static void
test_add_get(struct lbs_reg *r)
{
	/* docs/osap.md 14.2 */
	static const uint8_t sk[OSAP_KEY_LEN] = {
		0xd0, 0x8d, 0x4d, 0xdd, 0x87, 0x85, 0x38, 0x00,
		0xd8, 0x48, 0x65, 0x62, 0xd9, 0x0a, 0xcc, 0x44,
	};
	char long_id[LBS_REG_SERIAL_MAX + 2], max_id[LBS_REG_SERIAL_MAX + 1], wal_path[300];
	struct lbs_reg_device d;
	time_t t0 = time(NULL);

	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	memset(long_id, 'A', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memset(max_id, 'M', sizeof(max_id) - 1);
	max_id[sizeof(max_id) - 1] = '\0';

	is_int(lbs_reg_add(r, "SN0123456789", "ABCDEF", OSAP_SHARE_KEY_ITER_DEFAULT), 0,
	       "add the test-vector device");
	is_int(lbs_reg_get(r, "SN0123456789", &d), 0, "get it");
	is_str(d.serial, "SN0123456789", "serial");
	is_mem(d.share_key, sk, sizeof(sk), "share key = docs/osap.md 14.2");
	is_int(d.iterations, OSAP_SHARE_KEY_ITER_DEFAULT, "iteration count kept");
	is_int(d.state, LBS_REG_ACTIVE, "state active");
	is_str(d.devid, "", "no DevID yet");
	is_str(d.node, "", "no node");
	ok(!d.has_master && is_zero(d.master_key, OSAP_KEY_LEN), "no master key");
	ok(d.session_expiry == 0 && is_zero(d.session_key, OSAP_KEY_LEN), "no session key");
	ok(d.created >= t0 && d.created <= time(NULL), "created is now");
	is_int(d.last_seen, 0, "never seen");

	ok(!file_has(db_path, "ABCDEF") && !file_has(wal_path, "ABCDEF"),
	   "the verification code is nowhere in the database or its WAL");

	is_int(lbs_reg_add(r, "SN0123456789", "OTHER", ITER), -EEXIST, "add twice: -EEXIST");
	ok(strstr(lbs_reg_errmsg(r), "UNIQUE") != NULL, "... errmsg: %s", lbs_reg_errmsg(r));
	is_int(lbs_reg_add(r, "", "c", ITER), -EINVAL, "empty serial: -EINVAL");
	is_int(lbs_reg_add(r, NULL, "c", ITER), -EINVAL, "NULL serial: -EINVAL");
	is_int(lbs_reg_add(r, long_id, "c", ITER), -EINVAL, "65-octet serial: -EINVAL");
	is_int(lbs_reg_add(r, "S1", "", ITER), -EINVAL, "empty code: -EINVAL");
	is_int(lbs_reg_add(r, "S1", long_id, ITER), -EINVAL, "65-octet code: -EINVAL");
	is_int(lbs_reg_add(r, "S1", "c", 0), -EINVAL, "0 iterations: -EINVAL");
	is_int(lbs_reg_add(r, "S1", "c", OSAP_SHARE_KEY_ITER_MAX + 1), -EINVAL,
	       "too many iterations: -EINVAL");
	is_int(lbs_reg_add(r, max_id, max_id, ITER), 0, "64-octet serial and code");
	is_int(lbs_reg_get(r, max_id, &d), 0, "... found");
	is_int(lbs_reg_add(r, "\xc3\xa9t\xc3\xa9", "c", ITER), 0, "UTF-8 serial");
	is_int(lbs_reg_count(r), 3, "count 3");

	memset(&d, 0xa5, sizeof(d));
	is_int(lbs_reg_get(r, "nope", &d), -ENOENT, "get unknown: -ENOENT");
	ok(is_zero(&d, sizeof(d)), "... and out zeroed");
	is_int(lbs_reg_get(r, long_id, &d), -EINVAL, "get 65-octet serial: -EINVAL");
	is_int(lbs_reg_get(r, "", &d), -EINVAL, "get empty serial: -EINVAL");
	is_int(lbs_reg_get(r, "sn0123456789", &d), -ENOENT, "serials are case sensitive");
}

static void
test_state(struct lbs_reg *r)
{
	struct lbs_reg_device d;

	is_int(lbs_reg_block(r, "SN0123456789"), 0, "block");
	lbs_reg_get(r, "SN0123456789", &d);
	is_int(d.state, LBS_REG_BLOCKED, "... blocked");
	is_int(lbs_reg_block(r, "SN0123456789"), 0, "block again: 0");
	is_int(lbs_reg_unblock(r, "SN0123456789"), 0, "unblock");
	lbs_reg_get(r, "SN0123456789", &d);
	is_int(d.state, LBS_REG_ACTIVE, "... active");
	is_int(lbs_reg_unblock(r, "SN0123456789"), 0, "unblock again: 0");
	is_int(lbs_reg_block(r, "nope"), -ENOENT, "block unknown: -ENOENT");
	is_int(lbs_reg_unblock(r, "nope"), -ENOENT, "unblock unknown: -ENOENT");
	is_int(lbs_reg_block(r, ""), -EINVAL, "block empty: -EINVAL");
}

static char saved_devid[LBS_REG_DEVID_MAX + 1];

static void
test_devid(struct lbs_reg *r)
{
	char id[LBS_REG_DEVID_MAX + 1], id2[LBS_REG_DEVID_MAX + 1], small[8];
	struct lbs_reg_device d;
	int n;

	is_int(lbs_reg_get_by_devid(r, "5f0c3e9a7b21d48e6a0b13", &d), -ENOENT,
	       "get_by_devid before any: -ENOENT");
	is_int(lbs_reg_set_devid(r, "SN0123456789", small, sizeof(small)), -ENOSPC,
	       "set_devid, buffer too small: -ENOSPC");
	lbs_reg_get(r, "SN0123456789", &d);
	is_str(d.devid, "", "... and none granted");

	n = lbs_reg_set_devid(r, "SN0123456789", id, sizeof(id));
	is_int(n, OSAP_DEVID_GEN_LEN, "set_devid grants a %d-digit DevID", OSAP_DEVID_GEN_LEN);
	is_int(strlen(id), OSAP_DEVID_GEN_LEN, "... NUL-terminated");
	ok(strspn(id, "0123456789abcdef") == OSAP_DEVID_GEN_LEN, "... lowercase hex: %s", id);
	is_int(lbs_reg_set_devid(r, "SN0123456789", id2, sizeof(id2)), n, "set_devid again");
	is_str(id2, id, "... keeps the DevID");
	is_int(lbs_reg_set_devid(r, "SN0123456789", small, sizeof(small)), -ENOSPC,
	       "... into a small buffer: -ENOSPC");
	is_int(lbs_reg_get_by_devid(r, id, &d), 0, "get_by_devid");
	is_str(d.serial, "SN0123456789", "... the device");
	is_str(d.devid, id, "... its DevID");
	is_int(lbs_reg_get_by_devid(r, "", &d), -EINVAL, "get_by_devid empty: -EINVAL");
	ok(is_zero(&d, sizeof(d)), "... out zeroed");

	lbs_reg_set_devid(r, "\xc3\xa9t\xc3\xa9", id2, sizeof(id2));
	ok(strcmp(id, id2) != 0, "another device, another DevID (%s)", id2);
	is_int(lbs_reg_set_devid(r, "nope", id2, sizeof(id2)), -ENOENT, "unknown: -ENOENT");
	is_int(lbs_reg_set_devid(r, "", id2, sizeof(id2)), -EINVAL, "empty serial: -EINVAL");
	is_int(lbs_reg_set_devid(r, "SN0123456789", NULL, 0), -EINVAL, "NULL buffer: -EINVAL");
	snprintf(saved_devid, sizeof(saved_devid), "%s", id);
}

static void
test_keys(struct lbs_reg *r)
{
	uint8_t mk[OSAP_KEY_LEN], ks[OSAP_KEY_LEN];
	char node[LBS_REG_NODE_MAX + 2];
	struct lbs_reg_device d;
	time_t t0 = time(NULL);

	for (int i = 0; i < OSAP_KEY_LEN; i++) {
		mk[i] = (uint8_t)(0xa0 + i);
		ks[i] = (uint8_t)i;
	}
	is_int(lbs_reg_set_master_key(r, "SN0123456789", mk), 0, "set master key");
	lbs_reg_get(r, "SN0123456789", &d);
	ok(d.has_master, "... has one");
	is_mem(d.master_key, mk, OSAP_KEY_LEN, "... the one set");
	is_int(lbs_reg_set_master_key(r, "nope", mk), -ENOENT, "master key, unknown: -ENOENT");
	is_int(lbs_reg_set_master_key(r, "SN0123456789", NULL), -EINVAL, "NULL key: -EINVAL");

	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1700000000, "node-a"), 0,
	       "set session key, expiry, node");
	lbs_reg_get(r, "SN0123456789", &d);
	is_mem(d.session_key, ks, OSAP_KEY_LEN, "... session key");
	is_int(d.session_expiry, 1700000000, "... expiry");
	is_str(d.node, "node-a", "... node");
	is_str(d.devid, saved_devid, "... DevID untouched");
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1700000300, NULL), 0, "node NULL");
	lbs_reg_get(r, "SN0123456789", &d);
	ok(d.node[0] == '\0' && d.session_expiry == 1700000300, "... no node, new expiry");
	is_int(lbs_reg_set_session(r, "SN0123456789", NULL, 0, "node-b"), 0, "clear the key");
	lbs_reg_get(r, "SN0123456789", &d);
	ok(d.session_expiry == 0 && is_zero(d.session_key, OSAP_KEY_LEN), "... no session key");
	is_str(d.node, "node-b", "... node kept");
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 0, NULL), -EINVAL,
	       "a key without expiry: -EINVAL");
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1, ""), -EINVAL, "empty node: -EINVAL");
	memset(node, 'n', sizeof(node) - 1);
	node[sizeof(node) - 1] = '\0';
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1, node), -EINVAL,
	       "65-octet node: -EINVAL");
	node[LBS_REG_NODE_MAX] = '\0';
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1, node), 0, "64-octet node");
	is_int(lbs_reg_set_session(r, "nope", ks, 1, NULL), -ENOENT, "unknown: -ENOENT");
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1700000000, "node-a"), 0,
	       "session again (kept for the reopen check)");

	is_int(lbs_reg_touch(r, "SN0123456789"), 0, "touch");
	lbs_reg_get(r, "SN0123456789", &d);
	ok(d.last_seen >= t0 && d.last_seen <= time(NULL), "... last seen now");
	is_int(lbs_reg_touch(r, "nope"), -ENOENT, "touch unknown: -ENOENT");
	is_int(lbs_reg_touch(r, NULL), -EINVAL, "touch NULL: -EINVAL");
	ok(lbs_reg_errmsg(r) != NULL, "errmsg is a string");

	/* set_session with a key sets last seen too; clearing does not */
	{
		struct lbs_reg_device e;

		ok(sql_exec(db_path, "UPDATE device SET last_seen = 0") == 0,
		   "last seen set to 0 from a second connection");
		is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1700000000, "node-a"), 0,
		       "session with a key");
		lbs_reg_get(r, "SN0123456789", &e);
		ok(e.last_seen >= t0 && e.last_seen <= time(NULL), "... last seen now too");
		OPENSSL_cleanse(&e, sizeof(e));
	}

	/* transactions: all or nothing */
	is_int(lbs_reg_begin(r), 0, "begin");
	is_int(lbs_reg_set_master_key(r, "SN0123456789", ks), 0, "... a new master key");
	is_int(lbs_reg_set_session(r, "SN0123456789", mk, 1700009999, "node-t"), 0,
	       "... and a session");
	lbs_reg_rollback(r);
	lbs_reg_get(r, "SN0123456789", &d);
	ok(memcmp(d.master_key, mk, OSAP_KEY_LEN) == 0 && d.session_expiry == 1700000000,
	   "rollback: neither change stays");
	is_int(lbs_reg_begin(r), 0, "begin again");
	is_int(lbs_reg_set_master_key(r, "SN0123456789", ks), 0, "... a new master key");
	is_int(lbs_reg_set_session(r, "SN0123456789", mk, 1700009999, "node-t"), 0,
	       "... and a session");
	is_int(lbs_reg_commit(r), 0, "commit");
	lbs_reg_get(r, "SN0123456789", &d);
	ok(memcmp(d.master_key, ks, OSAP_KEY_LEN) == 0 && d.session_expiry == 1700009999 &&
	   strcmp(d.node, "node-t") == 0, "commit: both changes stay");
	lbs_reg_rollback(r);   /* outside a transaction: a no-op */
	is_int(lbs_reg_set_master_key(r, "SN0123456789", mk), 0, "master key back");
	is_int(lbs_reg_set_session(r, "SN0123456789", ks, 1700000000, "node-a"), 0,
	       "session back (kept for the reopen check)");
	OPENSSL_cleanse(&d, sizeof(d));
}

/* ---- list ---- */

struct list_acc {
	char seen[512];
	int n;
	int stop_at;
};

static int
list_cb(const struct lbs_reg_device *d, void *arg)
{
	struct list_acc *a = arg;
	size_t l = strlen(a->seen);

	snprintf(a->seen + l, sizeof(a->seen) - l, "%s%s", l ? " " : "", d->serial);
	if (++a->n == a->stop_at)
		return 42;
	return 0;
}

static void
test_list(struct lbs_reg *r)
{
	static const char *const add[] = { "B2", "A1", "B10", "C", "B", "Bz", "B\xff", "A" };
	char long_id[LBS_REG_SERIAL_MAX + 2], want[200];
	struct list_acc a;
	struct lbs_reg *e;
	int base = lbs_reg_count(r);

	for (unsigned int i = 0; i < sizeof(add) / sizeof(add[0]); i++)
		lbs_reg_add(r, add[i], "c", ITER);
	is_int(lbs_reg_count(r), base + 8, "count after 8 more");

	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, "B", list_cb, &a), 0, "list prefix B");
	ok(strcmp(a.seen, "B B10 B2 Bz B\xff") == 0, "... B B10 B2 Bz B\\xff, in octet order");
	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, "B\xff", list_cb, &a), 0, "list prefix B\\xff");
	ok(strcmp(a.seen, "B\xff") == 0, "... only B\\xff (no upper bound past 0xff)");
	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, "A", list_cb, &a), 0, "list prefix A");
	is_str(a.seen, "A A1", "... A A1");
	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, "Q", list_cb, &a), 0, "list prefix Q");
	is_int(a.n, 0, "... nothing");
	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, NULL, list_cb, &a), 0, "list all");
	is_int(a.n, base + 8, "... every device");
	snprintf(want, sizeof(want), "A A1 B B10 B2 Bz B\xff C %s SN0123456789 \xc3\xa9t\xc3\xa9",
		 "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM");
	ok(strcmp(a.seen, want) == 0, "... in octet order");
	memset(&a, 0, sizeof(a));
	is_int(lbs_reg_list(r, "", list_cb, &a), 0, "list \"\"");
	is_int(a.n, base + 8, "... every device");
	memset(&a, 0, sizeof(a));
	a.stop_at = 2;
	is_int(lbs_reg_list(r, NULL, list_cb, &a), 42, "callback stops: its value returned");
	is_str(a.seen, "A A1", "... after two");
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	is_int(lbs_reg_list(r, long_id, list_cb, &a), -EINVAL, "65-octet prefix: -EINVAL");
	is_int(lbs_reg_list(r, NULL, NULL, NULL), -EINVAL, "no callback: -EINVAL");

	is_int(lbs_reg_remove(r, "Bz"), 0, "remove");
	is_int(lbs_reg_remove(r, "Bz"), -ENOENT, "remove again: -ENOENT");
	is_int(lbs_reg_remove(r, ""), -EINVAL, "remove empty: -EINVAL");
	is_int(lbs_reg_count(r), base + 7, "count one less");

	/* a removed device's DevID is free and its row gone for good */
	e = r;
	{
		char id[LBS_REG_DEVID_MAX + 1];
		struct lbs_reg_device d;

		lbs_reg_set_devid(e, "C", id, sizeof(id));
		is_int(lbs_reg_remove(e, "C"), 0, "remove a device with a DevID");
		is_int(lbs_reg_get_by_devid(e, id, &d), -ENOENT, "... its DevID finds nothing");
		is_int(lbs_reg_add(e, "C", "c", ITER), 0, "... the serial can be added again");
		lbs_reg_get(e, "C", &d);
		is_str(d.devid, "", "... as a new device without DevID");
	}
}

static void
test_reopen(void)
{
	struct lbs_reg *r = open_db();
	struct lbs_reg_device d;
	char id[LBS_REG_DEVID_MAX + 1];
	uint8_t ks[OSAP_KEY_LEN];

	for (int i = 0; i < OSAP_KEY_LEN; i++)
		ks[i] = (uint8_t)i;
	is_int(lbs_reg_count(r), 10, "after reopen: every device");
	is_int(lbs_reg_get(r, "SN0123456789", &d), 0, "the test-vector device");
	is_str(d.devid, saved_devid, "... its DevID");
	is_mem(d.session_key, ks, OSAP_KEY_LEN, "... session key");
	is_int(d.session_expiry, 1700000000, "... expiry");
	is_str(d.node, "node-a", "... node");
	ok(d.has_master && d.last_seen > 0, "... master key and last seen");
	is_int(lbs_reg_set_devid(r, "SN0123456789", id, sizeof(id)), OSAP_DEVID_GEN_LEN,
	       "set_devid after reopen");
	is_str(id, saved_devid, "... the same DevID (sticky across restarts)");
	is_int(lbs_reg_get_by_devid(r, saved_devid, &d), 0, "get_by_devid after reopen");
	lbs_reg_close(r);
}

/* ---- CSV ---- */

/* @p s with control and non-ASCII octets as \\xNN, for a one-line test name. */
static const char *
esc(const char *s)
{
	static char out[256];
	size_t o = 0;

	for (; *s && o + 5 < sizeof(out); s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f)
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", ch);
	}
	out[o] = '\0';
	return out;
}

struct csv_case {
	const char *line;
	int rc;
	const char *serial;
	const char *code;
};

static void
test_csv_line(void)
{
	static const struct csv_case cases[] = {
		{ "SN1,CODE1", 1, "SN1", "CODE1" },
		{ "SN1,CODE1\n", 1, "SN1", "CODE1" },
		{ "SN1,CODE1\r\n", 1, "SN1", "CODE1" },
		{ "  SN1 ,\tCODE1  ", 1, "SN1", "CODE1" },
		{ "\"SN1\",\"CO,DE\"", 1, "SN1", "CO,DE" },
		{ " \"a \"\"b\"\"\" , \" x \" ", 1, "a \"b\"", " x " },
		{ "\"\"\"\",c", 1, "\"", "c" },
		{ "S N,c d", 1, "S N", "c d" },
		{ "s,#c", 1, "s", "#c" },
		{ "", 0, NULL, NULL },
		{ "\n", 0, NULL, NULL },
		{ "  \t \r\n", 0, NULL, NULL },
		{ "# a comment, with commas", 0, NULL, NULL },
		{ "   # indented comment", 0, NULL, NULL },
		{ "SN1", -EINVAL, NULL, NULL },
		{ "SN1,", -EINVAL, NULL, NULL },
		{ ",c", -EINVAL, NULL, NULL },
		{ "\"\",c", -EINVAL, NULL, NULL },
		{ "a,b,c", -EINVAL, NULL, NULL },
		{ "a,b,", -EINVAL, NULL, NULL },
		{ "\"a,b", -EINVAL, NULL, NULL },
		{ "\"a\"x,b", -EINVAL, NULL, NULL },
		{ "a\"b,c", -EINVAL, NULL, NULL },
		{ "a\tb,c", -EINVAL, NULL, NULL },
		{ "a,b\x7f", -EINVAL, NULL, NULL },
		{ "\xc3\xa9,b", -EINVAL, NULL, NULL },
		{ "a,b\rc", -EINVAL, NULL, NULL },
	};
	struct lbs_reg_csv c;
	char line[200];
	int rc;

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct csv_case *t = &cases[i];

		rc = lbs_reg_csv_line(t->line, strlen(t->line), &c);
		is_int(rc, t->rc, "csv \"%s\" -> %d%s%s", esc(t->line), t->rc,
		       rc < 0 ? ": " : "", rc < 0 && c.reason ? c.reason : "");
		if (t->rc == 1) {
			ok(strcmp(c.serial, t->serial) == 0 && strcmp(c.code, t->code) == 0 &&
			   c.serial_len == strlen(t->serial) && c.code_len == strlen(t->code),
			   "... [%s] [%s]", c.serial, esc(c.code));
		}
		if (t->rc < 0)
			ok(c.reason != NULL && c.reason[0], "... has a reason");
	}

	/* not NUL-terminated, and an embedded NUL */
	is_int(lbs_reg_csv_line("ab,cdXX", 5, &c), 1, "length, not NUL, ends the line");
	is_str(c.code, "cd", "... code cd");
	is_int(lbs_reg_csv_line("a\0b,c", 5, &c), -EINVAL, "embedded NUL: -EINVAL");

	/* limits */
	memset(line, 'S', 64);
	memcpy(line + 64, ",", 2);
	memset(line + 65, 'C', 64);
	line[129] = '\0';
	is_int(lbs_reg_csv_line(line, strlen(line), &c), 1, "64-octet serial and code");
	ok(c.serial_len == 64 && c.code_len == 64 && strlen(c.serial) == 64, "... lengths 64");
	memset(line, 'S', 65);
	line[65] = ',';
	line[66] = 'c';
	line[67] = '\0';
	is_int(lbs_reg_csv_line(line, strlen(line), &c), -EINVAL, "65-octet serial: -EINVAL");
	ok(strstr(c.reason, "serial number longer") != NULL, "... %s", c.reason);
	snprintf(line, sizeof(line), "s,\"%065d\"", 0);
	is_int(lbs_reg_csv_line(line, strlen(line), &c), -EINVAL, "65-octet quoted code");
	ok(strstr(c.reason, "verification code longer") != NULL, "... %s", c.reason);
}

static void
test_import(void)
{
	struct lbs_reg *r;
	struct lbs_reg_device d;
	unsigned int skipped = 99;
	char err[512];
	const char *p;
	uint8_t sk[OSAP_KEY_LEN];
	int base;

	remove_db();
	r = open_db();

	p = write_file("good.csv",
		       "Serial,Code\n"
		       "# provisioning batch 7\n"
		       "\n"
		       "SN0123456789,ABCDEF\n"
		       "  GW-0001 , code one \r\n"
		       "\"GW,0002\",\"say \"\"hi\"\"\"\n"
		       "GW-0003,x");
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, ITER, 0, &skipped, err, sizeof(err)), 4,
	       "import a good file: 4 devices %s", err);
	is_int(skipped, 0, "... none skipped");
	is_int(lbs_reg_count(r), 4, "... count 4");
	is_int(lbs_reg_get(r, "GW,0002", &d), 0, "... quoted serial");
	osap_share_key((const uint8_t *)"say \"hi\"", 8, (const uint8_t *)"GW,0002", 7, ITER, sk);
	is_mem(d.share_key, sk, sizeof(sk), "... share key of the unquoted code");
	is_int(d.iterations, ITER, "... iteration count");
	lbs_reg_get(r, "GW-0001", &d);
	osap_share_key((const uint8_t *)"code one", 8, (const uint8_t *)"GW-0001", 7, ITER, sk);
	is_mem(d.share_key, sk, sizeof(sk), "... trimmed fields");

	p = write_file("bad.csv", "serial,code\nN-1,a\nN-2\nN-3,c\n");
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, ITER, 0, NULL, err, sizeof(err)), -EINVAL,
	       "a bad line: -EINVAL");
	ok(strstr(err, "bad.csv:3: no verification code") != NULL, "... line 3 named: %s", err);
	is_int(lbs_reg_get(r, "N-1", &d), -ENOENT, "... line 2 not imported");

	p = write_file("bad5.csv", "A-1,a\nA-2,b\nA-3,\"c\nA-4,d\nA-5,e\n");
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, ITER, 0, NULL, err, sizeof(err)), -EINVAL,
	       "line 3 of 5 bad: -EINVAL");
	ok(strstr(err, ":3: unterminated quoted field") != NULL, "... %s", err);
	is_int(lbs_reg_count(r), 4, "... nothing imported (all or nothing)");
	is_int(lbs_reg_get(r, "A-1", &d), -ENOENT, "... not even line 1");

	p = write_file("dup.csv", "NEW-1,a\nGW-0001,b\nNEW-2,c\n");
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, ITER, 0, NULL, err, sizeof(err)), -EEXIST,
	       "a registered serial: -EEXIST");
	ok(strstr(err, "dup.csv:2: serial number \"GW-0001\" is already registered") != NULL,
	   "... %s", err);
	is_int(lbs_reg_count(r), 4, "... nothing imported");

	lbs_reg_get(r, "GW-0001", &d);
	memcpy(sk, d.share_key, sizeof(sk));
	skipped = 99;
	is_int(lbs_reg_import_csv(r, p, ITER, LBS_REG_IMPORT_SKIP_EXISTING, &skipped, err,
				  sizeof(err)), 2, "skip_existing: 2 imported");
	is_int(skipped, 1, "... 1 skipped");
	is_int(lbs_reg_count(r), 6, "... count 6");
	lbs_reg_get(r, "GW-0001", &d);
	is_mem(d.share_key, sk, sizeof(sk), "... the registered device is unchanged");

	p = write_file("twice.csv", "T-1,a\nT-2,b\nT-1,c\n");
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, ITER, LBS_REG_IMPORT_SKIP_EXISTING, NULL, err,
				  sizeof(err)), -EEXIST, "a serial twice in the file: -EEXIST");
	ok(strstr(err, "twice.csv:3:") && strstr(err, "earlier line"), "... %s", err);
	is_int(lbs_reg_get(r, "T-1", &d), -ENOENT, "... nothing imported");

	p = write_file("empty.csv", "# nothing here\n\n");
	is_int(lbs_reg_import_csv(r, p, ITER, 0, NULL, err, sizeof(err)), 0,
	       "only comments: 0 imported");
	p = write_file("hdr2.csv", "X-1,a\nserial,code\n");
	is_int(lbs_reg_import_csv(r, p, ITER, 0, NULL, err, sizeof(err)), 2,
	       "serial,code after the first record is a device");
	is_int(lbs_reg_get(r, "serial", &d), 0, "... named serial");

	base = lbs_reg_count(r);
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, tmp_path("missing.csv"), ITER, 0, NULL, err, sizeof(err)),
	       -ENOENT, "missing file: -ENOENT");
	ok(strstr(err, "missing.csv") != NULL, "... %s", err);
	err[0] = '\0';
	is_int(lbs_reg_import_csv(r, p, 0, 0, NULL, err, sizeof(err)), -EINVAL,
	       "0 iterations: -EINVAL");
	ok(err[0] != '\0', "... %s", err);
	is_int(lbs_reg_count(r), base, "... nothing changed");

	/* the registry still takes single adds after failed imports (no open transaction) */
	is_int(lbs_reg_add(r, "AFTER", "a", ITER), 0, "add after the imports");
	lbs_reg_close(r);
	r = open_db();
	is_int(lbs_reg_count(r), base + 1, "reopen: imports and the add persisted");
	lbs_reg_close(r);
}

/* ---- crash ---- */

#define CRASH_N 200
#define CRASH_KILL_AT 60

static void __attribute__((noreturn))
crash_child(int wfd)
{
	char err[256], serial[32];
	struct lbs_reg *r = lbs_reg_open(db_path, err, sizeof(err));

	if (r == NULL)
		_exit(2);
	for (int i = 0; i < CRASH_N; i++) {
		snprintf(serial, sizeof(serial), "CRASH-%04d", i);
		if (lbs_reg_add(r, serial, "code", ITER) != 0)
			_exit(3);
		/* lbs_reg_add() returned: committed; say so */
		if (write(wfd, &i, sizeof(i)) != sizeof(i))
			_exit(4);
	}
	for (;;)
		pause();
}

static void
test_crash(void)
{
	struct lbs_reg_device d;
	struct lbs_reg *r;
	int fds[2], i, last = -1, missing = 0, status, n;
	pid_t pid;
	char serial[32];

	remove_db();
	if (pipe(fds) != 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		crash_child(fds[1]);
	}
	close(fds[1]);
	while (read(fds[0], &i, sizeof(i)) == sizeof(i)) {
		last = i;
		if (i + 1 == CRASH_KILL_AT)
			break;
	}
	kill(pid, SIGKILL);
	/* the adds the child reported between our last read and the kill */
	while (read(fds[0], &i, sizeof(i)) == sizeof(i))
		last = i;
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child died of SIGKILL");
	ok(last + 1 >= CRASH_KILL_AT, "it reported %d acknowledged adds", last + 1);
	printf("# killed after %d of %d adds\n", last + 1, CRASH_N);

	r = open_db();
	for (i = 0; i <= last; i++) {
		snprintf(serial, sizeof(serial), "CRASH-%04d", i);
		if (lbs_reg_get(r, serial, &d) != 0)
			missing++;
	}
	is_int(missing, 0, "every acknowledged device is there after kill -9");
	n = lbs_reg_count(r);
	ok(n == last + 1 || n == last + 2, "count %d: the reported, maybe one in flight", n);
	is_int(lbs_reg_add(r, "AFTER-CRASH", "c", ITER), 0, "the registry takes adds again");
	lbs_reg_close(r);
}

int
main(void)
{
	struct lbs_reg *r;
	char cmd[300];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/registry.db", dir);

	test_open();
	r = open_db();
	test_add_get(r);
	test_state(r);
	test_devid(r);
	test_keys(r);
	test_list(r);
	lbs_reg_close(r);
	test_reopen();
	test_csv_line();
	test_import();
	test_crash();

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
