/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The OSAP device registry in SQLite (registry.h).
 *
 * Durability is the point of this module: when a function returns 0 the
 * change is on disk, because the LBS acts on it straight away (it tells the
 * device its DevID, a node its session key). Every change is therefore its
 * own transaction, except the CSV import, which is one transaction so that
 * a bad line leaves the registry as it was. The database runs in WAL mode
 * with synchronous=FULL (see reg_pragmas()), and the file is created 0600
 * before SQLite sees it, since it holds every device's share key; SQLite
 * gives its -wal and -shm files the database file's mode.
 *
 * The schema is one STRICT table whose CHECK constraints repeat the limits
 * of registry.h, so that a row edited by hand in the sqlite3 shell cannot
 * overflow a struct lbs_reg_device. PRAGMA user_version holds the schema
 * version; an unknown version is refused at open, never guessed at.
 *
 * Every statement is prepared once at open (SQLITE_PREPARE_PERSISTENT) and
 * reset after each use. Secrets are bound SQLITE_STATIC, so SQLite does not
 * copy them, and the bindings are cleared before the caller's buffer goes.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "control/lbs/registry.h"
#include "proto/errcode.h"
#include "proto/osap_crypto.h"

#define REG_STR_(x) #x
#define REG_STR(x) REG_STR_(x)

/* A line longer than this in an import file is refused, not read on. */
#define REG_CSV_LINE_MAX 4096
/* osap_gen_devid() draws this often before giving up on collisions (88 random bits). */
#define REG_DEVID_TRIES 4

static const char reg_schema[] =
	"CREATE TABLE device (\n"
	"  serial TEXT PRIMARY KEY NOT NULL\n"
	"    CHECK (length(CAST(serial AS BLOB)) BETWEEN 1 AND " REG_STR(LBS_REG_SERIAL_MAX) "),\n"
	"  share_key BLOB NOT NULL CHECK (length(share_key) = " REG_STR(OSAP_KEY_LEN) "),\n"
	"  iterations INTEGER NOT NULL CHECK (iterations BETWEEN "
	REG_STR(OSAP_SHARE_KEY_ITER_MIN) " AND " REG_STR(OSAP_SHARE_KEY_ITER_MAX) "),\n"
	"  devid TEXT UNIQUE\n"
	"    CHECK (length(CAST(devid AS BLOB)) BETWEEN 1 AND " REG_STR(LBS_REG_DEVID_MAX) "),\n"
	"  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked')),\n"
	"  master_key BLOB CHECK (length(master_key) = " REG_STR(OSAP_KEY_LEN) "),\n"
	"  session_key BLOB CHECK (length(session_key) = " REG_STR(OSAP_KEY_LEN) "),\n"
	"  session_expiry INTEGER NOT NULL DEFAULT 0,\n"
	"  node TEXT\n"
	"    CHECK (length(CAST(node AS BLOB)) BETWEEN 1 AND " REG_STR(LBS_REG_NODE_MAX) "),\n"
	"  created INTEGER NOT NULL,\n"
	"  last_seen INTEGER NOT NULL DEFAULT 0\n"
	") STRICT;\n"
	"PRAGMA user_version = " REG_STR(LBS_REG_SCHEMA_VERSION) ";\n";

/* The columns reg_row() reads, in its order. */
#define REG_COLS "serial, devid, node, state, iterations, share_key, master_key, " \
	"session_key, session_expiry, created, last_seen"

#define FOREACH_REG_STMT(X) \
	X(ADD, "INSERT INTO device (serial, share_key, iterations, created)" \
	       " VALUES (?1, ?2, ?3, ?4)") \
	X(REMOVE, "DELETE FROM device WHERE serial = ?1") \
	X(STATE, "UPDATE device SET state = ?2 WHERE serial = ?1") \
	X(GET, "SELECT " REG_COLS " FROM device WHERE serial = ?1") \
	X(GET_DEVID, "SELECT " REG_COLS " FROM device WHERE devid = ?1") \
	X(DEVID_OF, "SELECT devid FROM device WHERE serial = ?1") \
	X(GRANT_DEVID, "UPDATE device SET devid = ?2 WHERE serial = ?1 AND devid IS NULL") \
	X(MASTER, "UPDATE device SET master_key = ?2 WHERE serial = ?1") \
	X(SESSION, "UPDATE device SET session_key = ?2, session_expiry = ?3, node = ?4," \
		   " last_seen = CASE WHEN ?2 IS NULL THEN last_seen" \
		   " ELSE CAST(strftime('%s', 'now') AS INTEGER) END WHERE serial = ?1") \
	X(TOUCH, "UPDATE device SET last_seen = ?2 WHERE serial = ?1") \
	X(LIST_FROM, "SELECT " REG_COLS " FROM device WHERE serial >= ?1 ORDER BY serial") \
	X(LIST_RANGE, "SELECT " REG_COLS " FROM device WHERE serial >= ?1 AND serial < ?2" \
		      " ORDER BY serial") \
	X(COUNT, "SELECT count(*) FROM device") \
	X(ROWID, "SELECT rowid FROM device WHERE serial = ?1") \
	X(MAX_ROWID, "SELECT coalesce(max(rowid), 0) FROM device") \
	X(BEGIN, "BEGIN IMMEDIATE") \
	X(COMMIT, "COMMIT") \
	X(ROLLBACK, "ROLLBACK")

enum reg_stmt {
#define REG_ENUM(name, sql) REG_##name,
	FOREACH_REG_STMT(REG_ENUM)
#undef REG_ENUM
	REG_NB_STMT
};

static const char *const reg_sql[REG_NB_STMT] = {
#define REG_SQL(name, sql) [REG_##name] = sql,
	FOREACH_REG_STMT(REG_SQL)
#undef REG_SQL
};

struct lbs_reg {
	sqlite3 *db;
	sqlite3_stmt *st[REG_NB_STMT];
	char msg[256];  /* lbs_reg_errmsg() */
};

/* ---- errors and small helpers ---- */

/* Our code for SQLite's @p rc (an extended code), keeping SQLite's message. */
static int
reg_err(struct lbs_reg *r, int rc)
{
	snprintf(r->msg, sizeof(r->msg), "%s", sqlite3_errmsg(r->db));
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return -EEXIST;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Reset a statement for its next use; bindings go too (they may point at secrets). */
static void
reg_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step a statement that returns no row; 0 or an error. Resets it. */
static int
reg_done(struct lbs_reg *r, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int ret = rc == SQLITE_DONE ? 0 : reg_err(r, rc);

	reg_reset(st);
	return ret;
}

/* The length of @p s if it is 1..@p max octets, else -EINVAL. */
static int
reg_len(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return -EINVAL;
	n = strnlen(s, max + 1);
	return n == 0 || n > max ? -EINVAL : (int)n;
}

static int
reg_bind_text(sqlite3_stmt *st, int idx, const char *s, int len)
{
	return sqlite3_bind_text(st, idx, s, len, SQLITE_STATIC);
}

/* Copy text column @p col into @p dst of @p cap octets ("" for NULL). */
static void
reg_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (t == NULL) {
		dst[0] = '\0';
		return;
	}
	if (n > cap - 1)
		n = cap - 1;  /* the schema's CHECKs make this unreachable */
	memcpy(dst, t, n);
	dst[n] = '\0';
}

/* Copy a key column; 1 if it held exactly one key, else 0 and @p key zeroed. */
static int
reg_col_key(sqlite3_stmt *st, int col, uint8_t key[OSAP_KEY_LEN])
{
	const void *b = sqlite3_column_blob(st, col);

	if (b == NULL || sqlite3_column_bytes(st, col) != OSAP_KEY_LEN) {
		memset(key, 0, OSAP_KEY_LEN);
		return 0;
	}
	memcpy(key, b, OSAP_KEY_LEN);
	return 1;
}

/* Fill @p d from the current row of a REG_COLS statement. */
static void
reg_row(sqlite3_stmt *st, struct lbs_reg_device *d)
{
	const unsigned char *state;

	memset(d, 0, sizeof(*d));
	reg_col_text(st, 0, d->serial, sizeof(d->serial));
	reg_col_text(st, 1, d->devid, sizeof(d->devid));
	reg_col_text(st, 2, d->node, sizeof(d->node));
	state = sqlite3_column_text(st, 3);
	d->state = state != NULL && strcmp((const char *)state, "blocked") == 0 ?
		LBS_REG_BLOCKED : LBS_REG_ACTIVE;
	d->iterations = (uint32_t)sqlite3_column_int64(st, 4);
	reg_col_key(st, 5, d->share_key);
	d->has_master = reg_col_key(st, 6, d->master_key);
	if (reg_col_key(st, 7, d->session_key))
		d->session_expiry = sqlite3_column_int64(st, 8);
	d->created = sqlite3_column_int64(st, 9);
	d->last_seen = sqlite3_column_int64(st, 10);
}

/* ---- open and close ---- */

/* One pragma (or other statement) whose result, if any, goes to @p out. */
static int
reg_exec1(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL)
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
reg_pragmas(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char v[32];
	int rc;

	/*
	 * WAL: readers (the sqlite3 shell, a backup) do not block the LBS, and a
	 * commit is one append. synchronous=FULL: in WAL mode NORMAL syncs only
	 * at checkpoints, which survives a killed process but not a power cut or
	 * a kernel crash, after which the last commits would be gone although
	 * the LBS already acted on them (a DevID told to a device, a session key
	 * pushed to a node). FULL syncs the WAL on every commit.
	 */
	rc = reg_exec1(db, "PRAGMA journal_mode = WAL", v, sizeof(v));
	if (rc == SQLITE_OK && strcmp(v, "wal") != 0) {
		snprintf(err, errlen, "registry %s: cannot use WAL mode (journal mode %s)",
			 path, v);
		return -EIO;
	}
	if (rc == SQLITE_OK)
		rc = reg_exec1(db, "PRAGMA synchronous = FULL", NULL, 0);
	/* deleted devices' share keys do not linger in free pages */
	if (rc == SQLITE_OK)
		rc = reg_exec1(db, "PRAGMA secure_delete = ON", NULL, 0);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "registry %s: %s", path, sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/* Read user_version; create the schema in an empty database. */
static int
reg_schema_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char v[32] = "", tables[32] = "";
	long ver;
	int rc;

	rc = reg_exec1(db, "BEGIN IMMEDIATE", NULL, 0);
	if (rc == SQLITE_OK)
		rc = reg_exec1(db, "PRAGMA user_version", v, sizeof(v));
	if (rc == SQLITE_OK)
		rc = reg_exec1(db, "SELECT count(*) FROM sqlite_schema", tables, sizeof(tables));
	if (rc != SQLITE_OK)
		goto sql_error;
	ver = strtol(v, NULL, 10);
	if (ver == 0 && strcmp(tables, "0") == 0) {
		rc = sqlite3_exec(db, reg_schema, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto sql_error;
	} else if (ver == 0) {
		snprintf(err, errlen, "registry %s: not a tern device registry"
			 " (a database with tables but no schema version)", path);
		goto rollback;
	} else if (ver != LBS_REG_SCHEMA_VERSION) {
		snprintf(err, errlen, "registry %s: schema version %ld is unknown to this"
			 " ternd (it knows version %d); use the ternd that wrote it",
			 path, ver, LBS_REG_SCHEMA_VERSION);
		goto rollback;
	}
	rc = reg_exec1(db, "COMMIT", NULL, 0);
	if (rc != SQLITE_OK)
		goto sql_error;
	return 0;

sql_error:
	snprintf(err, errlen, "registry %s: %s", path, sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		reg_exec1(db, "ROLLBACK", NULL, 0);
	return -EIO;
rollback:
	reg_exec1(db, "ROLLBACK", NULL, 0);
	return -EPROTONOSUPPORT;
}

struct lbs_reg *
lbs_reg_open(const char *path, char *err, size_t errlen)
{
	struct lbs_reg *r;
	int fd, rc, i;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "registry: no path");
		return NULL;
	}
	/* Create it 0600 ourselves: SQLite would use 0644 less the umask. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "registry %s: %s", path, strerror(errno));
		return NULL;
	}
	close(fd);

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		snprintf(err, errlen, "registry %s: out of memory", path);
		return NULL;
	}
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "registry %s: %s", path,
			 r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, LBS_REG_BUSY_MS);
	if (reg_pragmas(r->db, path, err, errlen) < 0 ||
	    reg_schema_check(r->db, path, err, errlen) < 0)
		goto fail;
	for (i = 0; i < REG_NB_STMT; i++) {
		rc = sqlite3_prepare_v3(r->db, reg_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&r->st[i], NULL);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "registry %s: %s", path, sqlite3_errmsg(r->db));
			goto fail;
		}
	}
	return r;

fail:
	lbs_reg_close(r);
	return NULL;
}

void
lbs_reg_close(struct lbs_reg *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < REG_NB_STMT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

const char *
lbs_reg_errmsg(const struct lbs_reg *r)
{
	return r->msg;
}

/* ---- devices ---- */

/* Derive the share key and insert the row (inside or outside a transaction). */
static int
reg_insert(struct lbs_reg *r, const char *serial, int n, const char *code, int cn,
	   uint32_t iterations)
{
	sqlite3_stmt *st = r->st[REG_ADD];
	uint8_t sk[OSAP_KEY_LEN];
	int rc;

	rc = osap_share_key((const uint8_t *)code, (size_t)cn, (const uint8_t *)serial,
			    (size_t)n, iterations, sk);
	if (rc < 0) {
		snprintf(r->msg, sizeof(r->msg), "share key: %s", tern_strerror(rc));
		return rc;
	}
	if (reg_bind_text(st, 1, serial, n) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, sk, sizeof(sk), SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, iterations) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL)) != SQLITE_OK)
		rc = reg_err(r, sqlite3_errcode(r->db));
	else
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : reg_err(r, sqlite3_errcode(r->db));
	reg_reset(st);
	OPENSSL_cleanse(sk, sizeof(sk));
	return rc;
}

int
lbs_reg_add(struct lbs_reg *r, const char *serial, const char *code, uint32_t iterations)
{
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);
	int cn = reg_len(code, LBS_REG_CODE_MAX);

	if (n < 0 || cn < 0 || iterations < OSAP_SHARE_KEY_ITER_MIN ||
	    iterations > OSAP_SHARE_KEY_ITER_MAX)
		return -EINVAL;
	return reg_insert(r, serial, n, code, cn, iterations);
}

/*
 * Run an UPDATE or DELETE whose ?1 is the serial number and whose other
 * parameters are bound; -ENOENT if it touched no row.
 */
static int
reg_change(struct lbs_reg *r, sqlite3_stmt *st, const char *serial, int n)
{
	int rc;

	if (reg_bind_text(st, 1, serial, n) != SQLITE_OK) {
		rc = reg_err(r, sqlite3_errcode(r->db));
		reg_reset(st);
		return rc;
	}
	rc = reg_done(r, st);
	if (rc == 0 && sqlite3_changes(r->db) == 0)
		return -ENOENT;
	return rc;
}

int
lbs_reg_begin(struct lbs_reg *r)
{
	return reg_done(r, r->st[REG_BEGIN]);
}

int
lbs_reg_commit(struct lbs_reg *r)
{
	int rc = reg_done(r, r->st[REG_COMMIT]);

	if (rc < 0 && !sqlite3_get_autocommit(r->db))
		reg_done(r, r->st[REG_ROLLBACK]);
	return rc;
}

void
lbs_reg_rollback(struct lbs_reg *r)
{
	if (!sqlite3_get_autocommit(r->db))
		reg_done(r, r->st[REG_ROLLBACK]);
}

int
lbs_reg_remove(struct lbs_reg *r, const char *serial)
{
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);

	if (n < 0)
		return n;
	return reg_change(r, r->st[REG_REMOVE], serial, n);
}

static int
reg_set_state(struct lbs_reg *r, const char *serial, const char *state)
{
	sqlite3_stmt *st = r->st[REG_STATE];
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);

	if (n < 0)
		return n;
	if (reg_bind_text(st, 2, state, -1) != SQLITE_OK) {
		reg_reset(st);
		return -ENOMEM;
	}
	/* an UPDATE to the same value still counts as a changed row */
	return reg_change(r, st, serial, n);
}

int
lbs_reg_block(struct lbs_reg *r, const char *serial)
{
	return reg_set_state(r, serial, "blocked");
}

int
lbs_reg_unblock(struct lbs_reg *r, const char *serial)
{
	return reg_set_state(r, serial, "active");
}

/* One row of a REG_COLS statement whose ?1 is @p key. */
static int
reg_get(struct lbs_reg *r, sqlite3_stmt *st, const char *key, size_t max,
	struct lbs_reg_device *out)
{
	int n = reg_len(key, max), rc;

	memset(out, 0, sizeof(*out));
	if (n < 0)
		return n;
	if (reg_bind_text(st, 1, key, n) != SQLITE_OK) {
		rc = reg_err(r, sqlite3_errcode(r->db));
		reg_reset(st);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		reg_row(st, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = reg_err(r, rc);
	}
	reg_reset(st);
	return rc;
}

int
lbs_reg_get(struct lbs_reg *r, const char *serial, struct lbs_reg_device *out)
{
	return reg_get(r, r->st[REG_GET], serial, LBS_REG_SERIAL_MAX, out);
}

int
lbs_reg_get_by_devid(struct lbs_reg *r, const char *devid, struct lbs_reg_device *out)
{
	return reg_get(r, r->st[REG_GET_DEVID], devid, LBS_REG_DEVID_MAX, out);
}

/* The device's DevID into @p devid: its length, 0 if it has none, or an error. */
static int
reg_devid_of(struct lbs_reg *r, const char *serial, int n, char *devid, size_t cap)
{
	sqlite3_stmt *st = r->st[REG_DEVID_OF];
	int rc, len = 0;

	if (reg_bind_text(st, 1, serial, n) != SQLITE_OK) {
		rc = reg_err(r, sqlite3_errcode(r->db));
		reg_reset(st);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		rc = 0;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			len = sqlite3_column_bytes(st, 0);
			if ((size_t)len >= cap)
				rc = -ENOSPC;
			else
				reg_col_text(st, 0, devid, cap);
		}
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = reg_err(r, rc);
	}
	reg_reset(st);
	return rc < 0 ? rc : len;
}

int
lbs_reg_set_devid(struct lbs_reg *r, const char *serial, char *devid, size_t cap)
{
	sqlite3_stmt *st = r->st[REG_GRANT_DEVID];
	char id[OSAP_DEVID_GEN_LEN + 1];
	int n = reg_len(serial, LBS_REG_SERIAL_MAX), rc, tries;

	if (n < 0 || devid == NULL)
		return -EINVAL;
	for (tries = 0; tries < REG_DEVID_TRIES; tries++) {
		rc = reg_devid_of(r, serial, n, devid, cap);
		if (rc != 0)
			return rc;  /* it has one (sticky), or an error */
		if (cap <= OSAP_DEVID_GEN_LEN)
			return -ENOSPC;
		rc = osap_gen_devid(id, sizeof(id));
		if (rc < 0)
			return rc;
		if (reg_bind_text(st, 1, serial, n) != SQLITE_OK ||
		    reg_bind_text(st, 2, id, rc) != SQLITE_OK) {
			rc = reg_err(r, sqlite3_errcode(r->db));
			reg_reset(st);
			return rc;
		}
		rc = reg_done(r, st);
		if (rc == -EEXIST)
			continue;  /* another device has it: draw again */
		if (rc < 0)
			return rc;
		if (sqlite3_changes(r->db) == 1) {
			memcpy(devid, id, sizeof(id));
			return OSAP_DEVID_GEN_LEN;
		}
		/* another process granted one (or removed the device) meanwhile: look again */
	}
	snprintf(r->msg, sizeof(r->msg), "no unused DevID in %d draws", REG_DEVID_TRIES);
	return -EIO;
}

int
lbs_reg_set_master_key(struct lbs_reg *r, const char *serial, const uint8_t key[OSAP_KEY_LEN])
{
	sqlite3_stmt *st = r->st[REG_MASTER];
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);

	if (n < 0 || key == NULL)
		return -EINVAL;
	if (sqlite3_bind_blob(st, 2, key, OSAP_KEY_LEN, SQLITE_STATIC) != SQLITE_OK) {
		reg_reset(st);
		return -ENOMEM;
	}
	return reg_change(r, st, serial, n);
}

int
lbs_reg_set_session(struct lbs_reg *r, const char *serial, const uint8_t key[OSAP_KEY_LEN],
		    int64_t expiry, const char *node)
{
	sqlite3_stmt *st = r->st[REG_SESSION];
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);
	int nn = node ? reg_len(node, LBS_REG_NODE_MAX) : 0;
	int rc;

	if (n < 0 || nn < 0 || (key != NULL && expiry <= 0))
		return -EINVAL;
	if (key == NULL)
		expiry = 0;
	rc = key ? sqlite3_bind_blob(st, 2, key, OSAP_KEY_LEN, SQLITE_STATIC) :
		sqlite3_bind_null(st, 2);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, expiry);
	if (rc == SQLITE_OK)
		rc = node ? reg_bind_text(st, 4, node, nn) : sqlite3_bind_null(st, 4);
	if (rc != SQLITE_OK) {
		reg_reset(st);
		return -ENOMEM;
	}
	return reg_change(r, st, serial, n);
}

int
lbs_reg_touch(struct lbs_reg *r, const char *serial)
{
	sqlite3_stmt *st = r->st[REG_TOUCH];
	int n = reg_len(serial, LBS_REG_SERIAL_MAX);

	if (n < 0)
		return n;
	if (sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
		reg_reset(st);
		return -ENOMEM;
	}
	return reg_change(r, st, serial, n);
}

int
lbs_reg_list(struct lbs_reg *r, const char *prefix, lbs_reg_list_fn fn, void *arg)
{
	char hi[LBS_REG_SERIAL_MAX + 1];
	struct lbs_reg_device d;
	sqlite3_stmt *st;
	size_t n = 0, h;
	int rc, ret = 0;

	if (fn == NULL)
		return -EINVAL;
	if (prefix == NULL)
		prefix = "";
	n = strnlen(prefix, LBS_REG_SERIAL_MAX + 1);
	if (n > LBS_REG_SERIAL_MAX)
		return -EINVAL;
	/*
	 * The serials starting with the prefix are those in [prefix, hi), hi
	 * being the prefix with its last octet below 0xff incremented (and what
	 * follows it dropped): a range the primary key's index walks in order.
	 */
	memcpy(hi, prefix, n);
	for (h = n; h > 0 && (unsigned char)hi[h - 1] == 0xff; h--)
		;
	if (h > 0) {
		hi[h - 1] = (char)((unsigned char)hi[h - 1] + 1);
		st = r->st[REG_LIST_RANGE];
		rc = reg_bind_text(st, 2, hi, (int)h);
	} else {
		st = r->st[REG_LIST_FROM];
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = reg_bind_text(st, 1, prefix, (int)n);
	if (rc != SQLITE_OK) {
		ret = reg_err(r, rc);
		reg_reset(st);
		return ret;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		reg_row(st, &d);
		ret = fn(&d, arg);
		if (ret != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = reg_err(r, rc);
	reg_reset(st);
	OPENSSL_cleanse(&d, sizeof(d));
	return ret;
}

int
lbs_reg_count(struct lbs_reg *r)
{
	sqlite3_stmt *st = r->st[REG_COUNT];
	sqlite3_int64 c;
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW) {
		rc = reg_err(r, rc);
		reg_reset(st);
		return rc;
	}
	c = sqlite3_column_int64(st, 0);
	reg_reset(st);
	return c > INT_MAX ? INT_MAX : (int)c;
}

/* ---- CSV import ---- */

/* A single-value query bound with the serial: its integer, 0 if no row, or an error. */
static int64_t
reg_rowid(struct lbs_reg *r, enum reg_stmt which, const char *serial, int n)
{
	sqlite3_stmt *st = r->st[which];
	int64_t v = 0;
	int rc = SQLITE_OK;

	if (serial != NULL)
		rc = reg_bind_text(st, 1, serial, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		v = reg_err(r, rc == SQLITE_OK ? sqlite3_errcode(r->db) : rc);
	reg_reset(st);
	return v;
}

/*
 * One record of the import. A registered serial is told apart from one
 * this import added by its rowid: SQLite gives a new row the largest rowid
 * plus one, so everything above @p base came from this file.
 */
static int
reg_import_one(struct lbs_reg *r, const struct lbs_reg_csv *c, uint32_t iterations,
	       unsigned int flags, int64_t base, const char *where, char *err, size_t errlen)
{
	int64_t id = reg_rowid(r, REG_ROWID, c->serial, (int)c->serial_len);
	int rc;

	if (id < 0) {
		snprintf(err, errlen, "%s: %s", where, r->msg);
		return (int)id;
	}
	if (id > base) {
		snprintf(err, errlen, "%s: serial number \"%s\" is on an earlier line too",
			 where, c->serial);
		return -EEXIST;
	}
	if (id > 0) {
		if (flags & LBS_REG_IMPORT_SKIP_EXISTING)
			return 0;
		snprintf(err, errlen, "%s: serial number \"%s\" is already registered",
			 where, c->serial);
		return -EEXIST;
	}
	rc = reg_insert(r, c->serial, (int)c->serial_len, c->code, (int)c->code_len,
			iterations);
	if (rc < 0) {
		snprintf(err, errlen, "%s: serial number \"%s\": %s", where, c->serial, r->msg);
		return rc;
	}
	return 1;
}

int
lbs_reg_import_csv(struct lbs_reg *r, const char *path, uint32_t iterations,
		   unsigned int flags, unsigned int *skipped, char *err, size_t errlen)
{
	struct lbs_reg_csv c;
	char where[300];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0, added = 0, skips = 0, records = 0;
	int64_t base;
	FILE *f;
	int rc = 0;

	if (skipped != NULL)
		*skipped = 0;
	if (path == NULL || iterations < OSAP_SHARE_KEY_ITER_MIN ||
	    iterations > OSAP_SHARE_KEY_ITER_MAX) {
		snprintf(err, errlen, "import: iterations %" PRIu32 " out of range (%u..%u)",
			 iterations, OSAP_SHARE_KEY_ITER_MIN, OSAP_SHARE_KEY_ITER_MAX);
		return -EINVAL;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	rc = reg_done(r, r->st[REG_BEGIN]);
	base = rc < 0 ? rc : reg_rowid(r, REG_MAX_ROWID, NULL, 0);
	if (base < 0) {
		rc = (int)base;
		snprintf(err, errlen, "%s: %s", path, r->msg);
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (len > REG_CSV_LINE_MAX) {
			snprintf(err, errlen, "%s: line longer than %d octets", where,
				 REG_CSV_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		rc = lbs_reg_csv_line(line, (size_t)len, &c);
		if (rc < 0) {
			snprintf(err, errlen, "%s: %s", where, c.reason);
			break;
		}
		if (rc == 0)
			continue;
		if (records++ == 0 && strcasecmp(c.serial, "serial") == 0 &&
		    strcasecmp(c.code, "code") == 0)
			continue;  /* the header */
		rc = reg_import_one(r, &c, iterations, flags, base, where, err, errlen);
		if (rc < 0)
			break;
		if (rc == 0)
			skips++;
		else
			added++;
		rc = 0;
	}
	if (rc == 0 && ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error after line %u", path, lineno);
	}
	if (rc == 0) {
		rc = reg_done(r, r->st[REG_COMMIT]);
		if (rc < 0)
			snprintf(err, errlen, "%s: commit: %s", path, r->msg);
	}
out:
	if (rc < 0 && !sqlite3_get_autocommit(r->db))
		reg_done(r, r->st[REG_ROLLBACK]);
	OPENSSL_cleanse(&c, sizeof(c));
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	if (rc < 0)
		return rc;
	if (skipped != NULL)
		*skipped = skips;
	return (int)added;
}
