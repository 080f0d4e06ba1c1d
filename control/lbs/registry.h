/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_LBS_REGISTRY_H
#define TERN_CONTROL_LBS_REGISTRY_H

/*
 * The device registry of the OSAP load-balancing service (docs/osap.md): one
 * row per device, keyed by serial number, in an SQLite database that survives
 * a restart or a kill -9 with every acknowledged change (WAL journal,
 * synchronous=FULL: a function that returned 0 has committed to disk).
 *
 * Per device it keeps the share key (derived with osap_share_key() from the
 * verification code at registration; the code itself is never stored) and
 * the PBKDF2 iteration count used, the DevID once granted (sticky: a device
 * that authenticates again keeps it), the state (active or blocked), the
 * master key of the last first authentication, the session key and its
 * expiry, the access node the device was sent to, and when it was registered
 * and last seen. Serial numbers and DevIDs are 1..OSAP_ID_MAX octets, compared
 * octet by octet; each is unique.
 *
 * Threads: a registry is used by one thread, the control plane's event loop
 * (the main lcore). There is no locking inside; SQLite is opened without its
 * mutexes. Another process may open the same file (the sqlite3 shell, say):
 * writers wait for each other up to LBS_REG_BUSY_MS, then -EBUSY.
 *
 * Calls block on disk I/O (an fsync per change) and lbs_reg_add() and
 * lbs_reg_import_csv() cost the PBKDF2 iterations per device.
 *
 * Errors are negative errno-style codes (tern_strerror()):
 *  -EINVAL   an argument out of range (documented per function)
 *  -ENOENT   no such device
 *  -EEXIST   the serial number is already registered
 *  -EBUSY    the database stayed locked by another process for LBS_REG_BUSY_MS
 *  -ENOSPC   the disk is full
 *  -EROFS    the database cannot be written
 *  -ENOMEM   out of memory
 *  -EIO      any other SQLite or OpenSSL failure; lbs_reg_errmsg() has SQLite's text
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/osap.h"

/** Longest serial number, in octets (docs/osap.md "Framing"). */
#define LBS_REG_SERIAL_MAX      OSAP_ID_MAX
/** Longest DevID, in octets. */
#define LBS_REG_DEVID_MAX       OSAP_ID_MAX
/** Longest verification code, in octets: osap_share_key()'s limit. */
#define LBS_REG_CODE_MAX        OSAP_ID_MAX
/** Longest access node name, in octets. */
#define LBS_REG_NODE_MAX        64
/** How long a call waits for another process's lock before -EBUSY. */
#define LBS_REG_BUSY_MS         5000
/** The schema this code reads and writes (PRAGMA user_version). */
#define LBS_REG_SCHEMA_VERSION  1

/* An open registry; opaque. */
struct lbs_reg;

enum lbs_reg_state {
	LBS_REG_ACTIVE,   /* may authenticate */
	LBS_REG_BLOCKED,  /* refused after its seal opened (device_blocked) */
};

/*
 * A device as lbs_reg_get() and friends fill it in: fixed-size fields, every
 * string NUL-terminated. It holds secrets (share, master and session keys):
 * the caller wipes it (OPENSSL_cleanse) when done with them.
 */
struct lbs_reg_device {
	char serial[LBS_REG_SERIAL_MAX + 1];
	char devid[LBS_REG_DEVID_MAX + 1];     /* "" until lbs_reg_set_devid() */
	char node[LBS_REG_NODE_MAX + 1];       /* "" when none assigned */
	enum lbs_reg_state state;
	uint32_t iterations;                   /* PBKDF2 count of share_key */
	uint8_t share_key[OSAP_KEY_LEN];
	bool has_master;                       /* master_key valid */
	uint8_t master_key[OSAP_KEY_LEN];
	uint8_t session_key[OSAP_KEY_LEN];     /* valid when session_expiry != 0 */
	int64_t session_expiry;                /* epoch seconds; 0: no session key */
	int64_t created;                       /* epoch seconds */
	int64_t last_seen;                     /* epoch seconds; 0: never */
};

/**
 * Open the registry at @p path, creating the file (mode 0600: it holds
 * keys) and the schema when missing. The parent directory must exist.
 * Sets WAL mode, synchronous=FULL, busy_timeout LBS_REG_BUSY_MS.
 *
 * @param err, errlen  on failure, a one-line message for the operator
 *                     naming @p path and the cause (a missing directory, not
 *                     a database, a schema version this ternd does not know)
 * @return the registry (free with lbs_reg_close()), or NULL.
 */
struct lbs_reg *lbs_reg_open(const char *path, char *err, size_t errlen);

/** Close @p r (checkpointing the WAL into the database file); NULL is a no-op. */
void lbs_reg_close(struct lbs_reg *r);

/**
 * The detail behind the last storage error (or failed share key derivation)
 * on @p r, SQLite's message mostly, for a log line next to tern_strerror().
 * Argument errors and -ENOENT do not set it. Valid until the next call on @p r.
 */
const char *lbs_reg_errmsg(const struct lbs_reg *r);

/**
 * Register a device: derives its share key with osap_share_key(@p code,
 * @p serial, @p iterations) and stores it with @p iterations, state active,
 * created now. @p code is not kept.
 *
 * @param serial      1..LBS_REG_SERIAL_MAX octets
 * @param code        verification code, 1..LBS_REG_CODE_MAX octets
 * @param iterations  OSAP_SHARE_KEY_ITER_MIN..OSAP_SHARE_KEY_ITER_MAX
 * @return 0 once committed, -EINVAL, -EEXIST, or a storage error.
 */
int lbs_reg_add(struct lbs_reg *r, const char *serial, const char *code, uint32_t iterations);

/**
 * Group changes into one transaction, and so one commit (one fsync): every
 * lbs_reg_* change between lbs_reg_begin() and lbs_reg_commit() lands
 * together or not at all. lbs_reg_commit() rolls back if the commit fails;
 * lbs_reg_rollback() abandons the changes (a no-op outside a transaction).
 * Not nested; lbs_reg_import_csv() must not run inside one.
 * @return 0 or a storage error.
 */
int lbs_reg_begin(struct lbs_reg *r);
int lbs_reg_commit(struct lbs_reg *r);
void lbs_reg_rollback(struct lbs_reg *r);

/**
 * Delete a device and everything kept for it (its DevID becomes free).
 * Revoking an admission at an access node is the caller's.
 * @return 0, -EINVAL (bad serial length), -ENOENT, or a storage error.
 */
int lbs_reg_remove(struct lbs_reg *r, const char *serial);

/**
 * Set a device's state to blocked (lbs_reg_block) or active
 * (lbs_reg_unblock); setting the state it already has is not an error. Keys,
 * DevID and session stay; the LBS refuses a blocked device and revokes its
 * admission itself.
 * @return 0, -EINVAL, -ENOENT, or a storage error.
 */
int lbs_reg_block(struct lbs_reg *r, const char *serial);
int lbs_reg_unblock(struct lbs_reg *r, const char *serial);

/**
 * Copy the device with serial number @p serial into @p out.
 * @return 0, -EINVAL (bad length), -ENOENT, or a storage error; on error
 *         @p out is zeroed.
 */
int lbs_reg_get(struct lbs_reg *r, const char *serial, struct lbs_reg_device *out);

/** As lbs_reg_get(), by DevID (1..LBS_REG_DEVID_MAX octets). */
int lbs_reg_get_by_devid(struct lbs_reg *r, const char *devid, struct lbs_reg_device *out);

/**
 * The DevID of a device, granting one if it has none: a fresh
 * osap_gen_devid() (OSAP_DEVID_GEN_LEN lowercase hex digits, drawn again on
 * the unlikely collision with another device's). A device that has a DevID
 * keeps it for good (docs/osap.md: DevIDs are sticky).
 *
 * @param devid, cap  receives the DevID and a NUL; cap > LBS_REG_DEVID_MAX
 *                    always suffices
 * @return the DevID's length, -EINVAL (bad serial), -ENOENT, -ENOSPC (@p cap
 *         too small; nothing granted), -EIO (no random bytes), or a storage
 *         error.
 */
int lbs_reg_set_devid(struct lbs_reg *r, const char *serial, char *devid, size_t cap);

/**
 * Store the master key of a first authentication (replacing the previous
 * one), which a later re-authentication (0x4) needs after a restart.
 * @return 0, -EINVAL, -ENOENT, or a storage error.
 */
int lbs_reg_set_master_key(struct lbs_reg *r, const char *serial,
			   const uint8_t key[OSAP_KEY_LEN]);

/**
 * Store a device's session key, its expiry and the access node it is sent to;
 * with a key, the last-seen time becomes now as well (one commit).
 *
 * @param key     the session key; NULL clears key and expiry
 * @param expiry  epoch seconds, > 0 when @p key is given (ignored otherwise)
 * @param node    access node name, 1..LBS_REG_NODE_MAX octets, or NULL: none
 * @return 0, -EINVAL, -ENOENT, or a storage error.
 */
int lbs_reg_set_session(struct lbs_reg *r, const char *serial, const uint8_t key[OSAP_KEY_LEN],
			int64_t expiry, const char *node);

/**
 * Set a device's last-seen time to now (wall clock).
 * @return 0, -EINVAL, -ENOENT, or a storage error.
 */
int lbs_reg_touch(struct lbs_reg *r, const char *serial);

/*
 * Called per device by lbs_reg_list(). @p d is valid during the call only.
 * Return 0 to go on, anything else to stop the walk (lbs_reg_list() returns
 * it). The callback must not call lbs_reg_* functions on the same registry.
 */
typedef int (*lbs_reg_list_fn)(const struct lbs_reg_device *d, void *arg);

/**
 * Call @p fn for each device whose serial number starts with @p prefix
 * (NULL or "": every device), in serial number order (octet by octet).
 * @return 0 after the last device, @p fn's non-zero value if it stopped the
 *         walk, -EINVAL (@p prefix longer than LBS_REG_SERIAL_MAX), or a
 *         storage error.
 */
int lbs_reg_list(struct lbs_reg *r, const char *prefix, lbs_reg_list_fn fn, void *arg);

/** @return the number of devices (INT_MAX if more), or a storage error. */
int lbs_reg_count(struct lbs_reg *r);

/* lbs_reg_import_csv() flags */
#define LBS_REG_IMPORT_SKIP_EXISTING  (1u << 0)  /* registered serials: skip, not fail */

/**
 * Register the devices of a CSV file, all or nothing, in one transaction.
 *
 * The file has one device per line, `serial,code` (lbs_reg_csv_line() gives
 * the syntax), with an optional header line `serial,code` (any case) as its
 * first record. Blank lines and lines starting with `#` are skipped. A
 * serial number registered before is an error unless
 * LBS_REG_IMPORT_SKIP_EXISTING is set (then it is counted in *@p skipped,
 * and the registered device is left as it is); one that appears twice in the
 * file is always an error.
 *
 * @param iterations  PBKDF2 count for every share key, as for lbs_reg_add()
 * @param skipped     if not NULL, receives the number of skipped serials
 * @param err, errlen on failure, "PATH:LINE: reason" (or "PATH: reason")
 * @return the number of devices registered, or -EINVAL (a bad line, or
 *         @p iterations out of range), -EEXIST (a registered or repeated
 *         serial), -ENOENT / -EACCES / ... (the file cannot be read), or a
 *         storage error. On error nothing was registered.
 */
int lbs_reg_import_csv(struct lbs_reg *r, const char *path, uint32_t iterations,
		       unsigned int flags, unsigned int *skipped, char *err, size_t errlen);

/* ---- the CSV line parser (pure: no SQLite, no allocation; fuzzed) ---- */

struct lbs_reg_csv {
	char serial[LBS_REG_SERIAL_MAX + 1];
	char code[LBS_REG_CODE_MAX + 1];
	size_t serial_len;
	size_t code_len;
	const char *reason;  /* a bad line: why, a static string */
};

/**
 * Parse one line of an import file. @p line need not be NUL-terminated and
 * may end in "\n" or "\r\n". Two comma-separated fields, serial number then
 * verification code, each trimmed of surrounding spaces and tabs; a field
 * may be quoted ("..."; "" is a quote inside), and then keeps its inner
 * spaces and commas. Both fields must be non-empty printable ASCII
 * (0x20..0x7e), the serial at most LBS_REG_SERIAL_MAX octets, the code at
 * most LBS_REG_CODE_MAX. A line that is blank or whose first non-blank
 * character is `#` is skipped. Any thread.
 *
 * @return 1 with @p out's serial and code set (NUL-terminated), 0 for a
 *         skipped line, or -EINVAL with out->reason set.
 */
int lbs_reg_csv_line(const char *line, size_t len, struct lbs_reg_csv *out);

#endif
