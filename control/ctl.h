/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_CONTROL_CTL_H
#define TERN_CONTROL_CTL_H

/*
 * The control socket (docs/control.md): a Unix stream socket, one JSON object
 * per line each way.
 *
 *   request: {"id":1,"cmd":"stats","args":{"reset":true}}
 *   reply:   {"id":1,"ok":true,"result":{...}}
 *            {"id":1,"ok":false,"error":{"code":"ENOENT","message":"..."}}
 *
 * Commands are rows of tables (struct ctl_cmd) that each module registers at
 * start-up; dispatch and `help` are generated from the rows. Positional
 * arguments from ternctl arrive as args.argv (an array of strings); named
 * ones as args.NAME. Everything here runs on the main lcore's event loop.
 */

#include <event2/event.h>
#include <jansson.h>
#include <sys/types.h>

enum ctl_access {
	CTL_ACCESS_READ,   /* any peer allowed to connect (socket group) */
	CTL_ACCESS_ADMIN,  /* root or ternd's own uid */
};

struct ctl_req {
	const json_t *args;    /* always an object (empty when absent) */
	uid_t uid;             /* peer credentials (SO_PEERCRED) */
	pid_t pid;
	enum ctl_access access;
};

/*
 * A command handler. On success it sets *result (a new reference, may be
 * json_null()) and returns 0; on failure it returns a negative errno-style
 * code and writes a message into err.
 */
typedef int (*ctl_handler_fn)(const struct ctl_req *req, json_t **result,
			      char *err, size_t errlen);

struct ctl_cmd {
	const char *name;      /* "port.list" */
	ctl_handler_fn handler;
	enum ctl_access access;
	const char *args_help; /* "[LEVEL]", "" when none */
	const char *help;      /* one line */
};

/**
 * Add a module's rows (the array must outlive the process). Start-up only;
 * a name registered twice is a programming error and aborts.
 */
void ctl_register(const struct ctl_cmd *cmds, unsigned int n);

/** Look a command up by name; NULL if unknown. */
const struct ctl_cmd *ctl_find(const char *name);

/**
 * Create the socket at @p path (0660, in a 0750 directory created when
 * missing), owned by @p group when not NULL, and serve it on @p base.
 * A stale socket file is replaced; if a process answers on it, -EADDRINUSE.
 * Sets SIGPIPE to ignored (process-wide): a client may vanish mid-reply.
 * @return 0 or a negative errno-style code with a message in @p err.
 */
int ctl_start(struct event_base *base, const char *path, const char *group,
	      char *err, size_t errlen);

/**
 * Close every connection (queued replies get one non-blocking write first)
 * and remove the socket file if it is still the one ctl_start() created.
 */
void ctl_stop(void);

/**
 * Run one request line (without the newline) as a peer with @p access would,
 * and return the reply object (caller owns it). The socket server and the
 * unit tests both go through this.
 */
json_t *ctl_execute(const char *line, size_t len, uid_t uid, pid_t pid,
		    enum ctl_access access);

/*
 * Argument helpers for handlers: the argument called @p name, or else
 * positional argument @p pos of args.argv (pos < 0: no positional form).
 * @return 0 and *out set; -ENOENT when absent; -EINVAL when of the wrong
 *         type (a message naming the argument is in err).
 */
int ctl_arg_str(const struct ctl_req *req, const char *name, int pos, const char **out,
		char *err, size_t errlen);
int ctl_arg_bool(const struct ctl_req *req, const char *name, int *out,
		 char *err, size_t errlen);
int ctl_arg_uint(const struct ctl_req *req, const char *name, int pos, unsigned long *out,
		 char *err, size_t errlen);

#endif
