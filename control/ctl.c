/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket.
 *
 * Two halves that meet in ctl_execute(): a pure function from one request
 * line to one reply object (dispatch through a sorted table of rows, looked
 * up by binary search), and a small libevent server that cuts the byte
 * stream into lines and writes the replies back. Keeping the first half free
 * of sockets lets the unit tests drive every request case directly, and
 * keeps the server's job to framing, limits and peer credentials.
 *
 * The server must never let one client hurt another or ternd: lines are
 * bounded (CTL_LINE_MAX, enforced through the read high-watermark so a
 * client cannot make us buffer more), connections are bounded
 * (CTL_MAX_CONNS), and a client that does not read its replies stops being
 * read (CTL_OUT_MAX) instead of growing our output buffer forever.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "control/ctl.h"
#include "proto/errcode.h"

#define CTL_LINE_MAX 65536          /* bytes of one request, newline excluded */
#define CTL_MAX_CONNS 64
#define CTL_OUT_MAX (1024 * 1024)   /* pending reply bytes before we stop reading */
#define CTL_DRAIN_MAX (1024 * 1024) /* unread bytes discarded before a close */

/* ------------------------------------------------------------------------ */
/* Command table */

static const struct ctl_cmd **ctl_rows;
static unsigned int ctl_nb_rows, ctl_cap_rows;
static bool ctl_builtins_done;

static void ctl_builtins(void);

static int
ctl_row_cmp(const void *key, const void *elem)
{
	const struct ctl_cmd *const *row = elem;

	return strcmp(key, (*row)->name);
}

/* Index of the first row whose name is >= name. */
static unsigned int
ctl_lower_bound(const char *name)
{
	unsigned int lo = 0, hi = ctl_nb_rows;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (strcmp(ctl_rows[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
ctl_insert(const struct ctl_cmd *cmd)
{
	unsigned int at;

	if (ctl_nb_rows == ctl_cap_rows) {
		unsigned int cap = ctl_cap_rows ? ctl_cap_rows * 2 : 32;
		const struct ctl_cmd **rows = realloc(ctl_rows, cap * sizeof(*rows));

		/* Registration happens once at start-up: no memory is fatal. */
		if (rows == NULL) {
			fprintf(stderr, "ctl: out of memory registering '%s'\n", cmd->name);
			abort();
		}
		ctl_rows = rows;
		ctl_cap_rows = cap;
	}
	at = ctl_lower_bound(cmd->name);
	/* Two modules claiming one name is a programming error, caught at start. */
	if (at < ctl_nb_rows && strcmp(ctl_rows[at]->name, cmd->name) == 0) {
		fprintf(stderr, "ctl: command '%s' registered twice\n", cmd->name);
		abort();
	}
	memmove(&ctl_rows[at + 1], &ctl_rows[at], (ctl_nb_rows - at) * sizeof(*ctl_rows));
	ctl_rows[at] = cmd;
	ctl_nb_rows++;
}

void
ctl_register(const struct ctl_cmd *cmds, unsigned int n)
{
	ctl_builtins();
	for (unsigned int i = 0; i < n; i++)
		ctl_insert(&cmds[i]);
}

const struct ctl_cmd *
ctl_find(const char *name)
{
	const struct ctl_cmd **row;

	ctl_builtins();
	if (ctl_nb_rows == 0)
		return NULL;
	row = bsearch(name, ctl_rows, ctl_nb_rows, sizeof(*ctl_rows), ctl_row_cmp);
	return row ? *row : NULL;
}

/* ------------------------------------------------------------------------ */
/* Argument helpers */

static const json_t *
ctl_arg_get(const struct ctl_req *req, const char *name, int pos, char *err, size_t errlen,
	    int *rc)
{
	const json_t *v, *argv;

	*rc = 0;
	v = json_object_get(req->args, name);
	if (v != NULL)
		return v;
	if (pos < 0) {
		*rc = -ENOENT;
		snprintf(err, errlen, "missing argument '%s'", name);
		return NULL;
	}
	argv = json_object_get(req->args, "argv");
	if (argv != NULL && !json_is_array(argv)) {
		*rc = -EINVAL;
		snprintf(err, errlen, "argument 'argv' must be an array of strings");
		return NULL;
	}
	v = json_array_get(argv, pos);
	if (v == NULL) {
		*rc = -ENOENT;
		snprintf(err, errlen, "missing argument '%s'", name);
	}
	return v;
}

int
ctl_arg_str(const struct ctl_req *req, const char *name, int pos, const char **out,
	    char *err, size_t errlen)
{
	int rc;
	const json_t *v = ctl_arg_get(req, name, pos, err, errlen, &rc);

	if (v == NULL)
		return rc;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "argument '%s' must be a string", name);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int
ctl_arg_bool(const struct ctl_req *req, const char *name, int *out, char *err, size_t errlen)
{
	int rc;
	const json_t *v = ctl_arg_get(req, name, -1, err, errlen, &rc);
	const char *s;

	if (v == NULL)
		return rc;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	/* ternctl sends --name=value as a string. */
	s = json_string_value(v);
	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)) {
		*out = 1;
		return 0;
	}
	if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)) {
		*out = 0;
		return 0;
	}
	snprintf(err, errlen, "argument '%s' must be a boolean (true, false, 1 or 0)", name);
	return -EINVAL;
}

int
ctl_arg_uint(const struct ctl_req *req, const char *name, int pos, unsigned long *out,
	     char *err, size_t errlen)
{
	int rc;
	const json_t *v = ctl_arg_get(req, name, pos, err, errlen, &rc);
	const char *s;

	if (v == NULL)
		return rc;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (unsigned long)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (s != NULL && *s >= '0' && *s <= '9') {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(s, &end, 10);
		if (*end == '\0' && errno == 0) {
			*out = n;
			return 0;
		}
	}
	snprintf(err, errlen, "argument '%s' must be an unsigned integer", name);
	return -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* help: generated from the rows */

static json_t *
ctl_help_row(const struct ctl_cmd *cmd)
{
	return json_pack("{s:s, s:s, s:s, s:s}",
			 "name", cmd->name,
			 "args", cmd->args_help ? cmd->args_help : "",
			 "access", cmd->access == CTL_ACCESS_ADMIN ? "admin" : "read",
			 "help", cmd->help ? cmd->help : "");
}

static int
ctl_cmd_help(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *name;
	const struct ctl_cmd *cmd;
	json_t *rows;
	int rc;

	rc = ctl_arg_str(req, "command", 0, &name, err, errlen);
	if (rc == 0) {
		cmd = ctl_find(name);
		if (cmd == NULL) {
			snprintf(err, errlen, "unknown command '%s'", name);
			return -ENOENT;
		}
		*result = ctl_help_row(cmd);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	rows = json_array();
	for (unsigned int i = 0; i < ctl_nb_rows; i++)
		json_array_append_new(rows, ctl_help_row(ctl_rows[i]));
	*result = rows;
	return 0;
}

static const struct ctl_cmd ctl_builtin_cmds[] = {
	{ "help", ctl_cmd_help, CTL_ACCESS_READ, "[COMMAND]",
	  "list the commands, or describe one" },
};

/* Lazily, so that whichever of ctl_register/ctl_find/ctl_execute runs first sees it. */
static void
ctl_builtins(void)
{
	if (ctl_builtins_done)
		return;
	ctl_builtins_done = true;
	for (unsigned int i = 0; i < sizeof(ctl_builtin_cmds) / sizeof(ctl_builtin_cmds[0]); i++)
		ctl_insert(&ctl_builtin_cmds[i]);
}

/* ------------------------------------------------------------------------ */
/* Request -> reply */

/* Takes the reference to @p id (NULL means null). */
static json_t *
ctl_error_reply(json_t *id, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static json_t *
ctl_error_reply(json_t *id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *reply = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(reply, "id", id ? id : json_null());
	json_object_set_new(reply, "ok", json_false());
	json_object_set_new(reply, "error", json_pack("{s:s, s:s}",
						      "code", tern_errname(code),
						      "message", msg));
	return reply;
}

json_t *
ctl_execute(const char *line, size_t len, uid_t uid, pid_t pid, enum ctl_access access)
{
	json_error_t jerr;
	json_t *req, *id, *cmdv, *args, *result = NULL, *reply;
	const struct ctl_cmd *cmd;
	struct ctl_req r;
	char err[512] = "";
	int rc;

	ctl_builtins();
	req = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (req == NULL)
		return ctl_error_reply(NULL, -EINVAL,
				       "parse error at line %d, column %d (byte %d): %s",
				       jerr.line, jerr.column, jerr.position, jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return ctl_error_reply(NULL, -EINVAL, "a request must be a JSON object");
	}
	id = json_object_get(req, "id");
	if (id == NULL) {
		json_decref(req);
		return ctl_error_reply(NULL, -EINVAL, "missing \"id\"");
	}
	if (!json_is_integer(id) && !json_is_string(id)) {
		json_decref(req);
		return ctl_error_reply(NULL, -EINVAL, "\"id\" must be an integer or a string");
	}
	json_incref(id);
	cmdv = json_object_get(req, "cmd");
	if (!json_is_string(cmdv)) {
		reply = ctl_error_reply(id, -EINVAL, cmdv ? "\"cmd\" must be a string"
						      : "missing \"cmd\"");
		goto out;
	}
	cmd = ctl_find(json_string_value(cmdv));
	if (cmd == NULL) {
		reply = ctl_error_reply(id, -ENOENT, "unknown command '%s' (try 'help')",
					json_string_value(cmdv));
		goto out;
	}
	args = json_object_get(req, "args");
	if (args != NULL && !json_is_object(args)) {
		reply = ctl_error_reply(id, -EINVAL, "\"args\" must be an object");
		goto out;
	}
	if (cmd->access == CTL_ACCESS_ADMIN && access != CTL_ACCESS_ADMIN) {
		reply = ctl_error_reply(id, -EPERM,
					"'%s' needs admin access (root or ternd's own user)",
					cmd->name);
		goto out;
	}

	r.args = args ? args : json_object();
	r.uid = uid;
	r.pid = pid;
	r.access = access;
	rc = cmd->handler(&r, &result, err, sizeof(err));
	if (args == NULL)
		json_decref((json_t *)r.args);
	if (rc < 0) {
		json_decref(result);
		reply = ctl_error_reply(id, rc, "%s", err[0] ? err : tern_strerror(rc));
		goto out;
	}
	reply = json_object();
	json_object_set_new(reply, "id", id);
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "result", result ? result : json_null());
out:
	json_decref(req);
	return reply;
}

/* ------------------------------------------------------------------------ */
/* The server */

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn) next;
	struct bufferevent *bev;
	uid_t uid;
	pid_t pid;
	enum ctl_access access;
	bool closing;    /* close once the output is flushed */
	bool throttled;  /* reading paused until the client reads its replies */
};

static struct {
	struct event_base *base;
	int fd;
	struct event *accept_ev;
	struct event *retry_ev;   /* re-arms accept after EMFILE */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	TAILQ_HEAD(, ctl_conn) conns;
	unsigned int nb_conns;
} ctl_srv = { .fd = -1 };

static int
ctl_dump_cb(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

/* Replies are compact JSON, one line each. */
static void
ctl_send(struct ctl_conn *c, json_t *reply)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	json_dump_callback(reply, ctl_dump_cb, out, JSON_COMPACT);
	evbuffer_add(out, "\n", 1);
	json_decref(reply);
}

/*
 * Closing a Unix stream socket with unread input makes the peer's next read
 * fail with ECONNRESET (possibly before it has read our last reply); discard
 * what is already there so a client sees the reply and then EOF.
 */
static void
ctl_discard_input(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < CTL_DRAIN_MAX && (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += n;
}

static void
ctl_conn_free(struct ctl_conn *c)
{
	ctl_discard_input(bufferevent_getfd(c->bev));
	TAILQ_REMOVE(&ctl_srv.conns, c, next);
	ctl_srv.nb_conns--;
	bufferevent_free(c->bev);
	free(c);
}

static void
ctl_conn_close_after_flush(struct ctl_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		ctl_conn_free(c);
}

/* Answer every complete line in the input. @return false if c was freed. */
static bool
ctl_conn_process(struct ctl_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (!c->closing) {
		size_t eol_len;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len,
							      EVBUFFER_EOL_LF);

		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > CTL_LINE_MAX)
				goto too_long;
			return true;
		}
		if ((size_t)eol.pos > CTL_LINE_MAX)
			goto too_long;
		/* Blank lines (an operator pressing enter in socat) are ignored. */
		if (eol.pos > 0) {
			const char *line = (const char *)evbuffer_pullup(in, eol.pos);

			ctl_send(c, ctl_execute(line, eol.pos, c->uid, c->pid, c->access));
		}
		evbuffer_drain(in, eol.pos + eol_len);
		if (evbuffer_get_length(out) > CTL_OUT_MAX) {
			c->throttled = true;
			bufferevent_disable(c->bev, EV_READ);
			return true;
		}
	}
	return true;

too_long:
	ctl_send(c, ctl_error_reply(NULL, -EMSGSIZE,
				    "request line longer than %d bytes; closing the connection",
				    CTL_LINE_MAX));
	evbuffer_drain(in, evbuffer_get_length(in));
	ctl_conn_close_after_flush(c);
	return false;
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	ctl_conn_process(arg);
}

/* Called when the output has drained completely (low watermark 0). */
static void
ctl_write_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;

	(void)bev;
	if (c->closing) {
		ctl_conn_free(c);
		return;
	}
	if (c->throttled) {
		c->throttled = false;
		bufferevent_enable(c->bev, EV_READ);
		ctl_conn_process(c);
	}
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *c = arg;

	/*
	 * EOF after a complete request (`echo ... | socat`): the reply may still
	 * be queued, so close only once it is written. A partial line is dropped.
	 */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->closing = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	ctl_conn_free(c);
}

/* Over the connection cap: say so without allocating anything, and close. */
static void
ctl_refuse(int fd)
{
	static const char busy[] = "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"EBUSY\","
		"\"message\":\"too many control connections (64); try again later\"}}\n";
	ssize_t n;

	ctl_discard_input(fd);
	n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n; /* a fresh socket has room; if not, the client sees EOF, also a refusal */
	close(fd);
}

static void
ctl_accept_one(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_conn *c;

	if (ctl_srv.nb_conns >= CTL_MAX_CONNS) {
		ctl_refuse(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(ctl_srv.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->access = (cred.uid == 0 || cred.uid == geteuid()) ? CTL_ACCESS_ADMIN
							      : CTL_ACCESS_READ;
	bufferevent_setcb(c->bev, ctl_read_cb, ctl_write_cb, ctl_event_cb, c);
	/*
	 * The high watermark bounds what we buffer of one line: one byte more
	 * than the longest allowed line plus its newline is enough to tell an
	 * over-long line from a legal one.
	 */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&ctl_srv.conns, c, next);
	ctl_srv.nb_conns++;
}

static void
ctl_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_add(ctl_srv.accept_ev, NULL);
}

static void
ctl_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			ctl_accept_one(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Level-triggered: without a pause this would spin. */
			struct timeval tv = { 0, 100 * 1000 };

			event_del(ctl_srv.accept_ev);
			evtimer_add(ctl_srv.retry_ev, &tv);
		}
		return;
	}
}

/* mkdir -p of @p path's parent; directories we create get 0750 and @p gid. */
static int
ctl_make_parent(const char *path, gid_t gid, char *err, size_t errlen)
{
	char dir[sizeof(ctl_srv.path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) == 0) {
			/* Exact bits whatever the umask, and a group that may traverse. */
			if (chmod(dir, 0750) < 0 ||
			    (gid != (gid_t)-1 && chown(dir, (uid_t)-1, gid) < 0)) {
				int e = errno;

				snprintf(err, errlen, "%s: %s", dir, strerror(e));
				return -e;
			}
		} else if (errno != EEXIST || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			int e = errno == EEXIST ? ENOTDIR : errno;

			snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(e));
			return -e;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* A socket file left by a dead ternd is removed; a live one is an error. */
static int
ctl_remove_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (rc == 0 || errno == EAGAIN) {
		close(fd);
		snprintf(err, errlen, "another ternd is answering on %s", sa->sun_path);
		return -EADDRINUSE;
	}
	rc = errno;
	close(fd);
	if (rc != ECONNREFUSED) {
		snprintf(err, errlen, "cannot check %s: %s", sa->sun_path, strerror(rc));
		return -rc;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
		rc = errno;
		snprintf(err, errlen, "cannot remove stale %s: %s", sa->sun_path, strerror(rc));
		return -rc;
	}
	return 0;
}

int
ctl_start(struct event_base *base, const char *path, const char *group,
	  char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	gid_t gid = (gid_t)-1;
	struct stat st;
	mode_t old_mask;
	int rc, fd;

	err[0] = '\0';
	if (ctl_srv.fd >= 0) {
		snprintf(err, errlen, "the control socket is already started");
		return -EBUSY;
	}
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path must be 1..%zu bytes",
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			snprintf(err, errlen, "control socket group '%s' does not exist", group);
			return -ENOENT;
		}
		gid = gr->gr_gid;
	}
	rc = ctl_make_parent(path, gid, err, errlen);
	if (rc < 0)
		return rc;
	rc = ctl_remove_stale(&sa, err, errlen);
	if (rc < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}

	/* A client may write to a socket that just closed: errors, not signals. */
	signal(SIGPIPE, SIG_IGN);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	/* The umask closes the window in which the socket exists with looser bits. */
	old_mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (chmod(path, 0660) < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    stat(path, &st) < 0 || listen(fd, CTL_MAX_CONNS) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return rc;
	}

	ctl_srv.base = base;
	ctl_srv.accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, ctl_accept_cb, NULL);
	ctl_srv.retry_ev = evtimer_new(base, ctl_retry_cb, NULL);
	if (ctl_srv.accept_ev == NULL || ctl_srv.retry_ev == NULL ||
	    event_add(ctl_srv.accept_ev, NULL) < 0) {
		snprintf(err, errlen, "cannot add the control socket to the event loop");
		if (ctl_srv.accept_ev)
			event_free(ctl_srv.accept_ev);
		if (ctl_srv.retry_ev)
			event_free(ctl_srv.retry_ev);
		ctl_srv.accept_ev = ctl_srv.retry_ev = NULL;
		unlink(path);
		close(fd);
		return -ENOMEM;
	}
	ctl_srv.fd = fd;
	memcpy(ctl_srv.path, path, strlen(path) + 1);
	ctl_srv.dev = st.st_dev;
	ctl_srv.ino = st.st_ino;
	TAILQ_INIT(&ctl_srv.conns);
	ctl_srv.nb_conns = 0;
	return 0;
}

void
ctl_stop(void)
{
	struct ctl_conn *c;
	struct stat st;

	if (ctl_srv.fd < 0)
		return;
	/*
	 * Best effort to deliver what is queued (the reply to `shutdown` among
	 * it) before the event loop is gone: one non-blocking write each.
	 */
	while ((c = TAILQ_FIRST(&ctl_srv.conns)) != NULL) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		while (evbuffer_get_length(out) > 0 &&
		       evbuffer_write(out, bufferevent_getfd(c->bev)) > 0)
			;
		ctl_conn_free(c);
	}
	event_free(ctl_srv.accept_ev);
	event_free(ctl_srv.retry_ev);
	ctl_srv.accept_ev = ctl_srv.retry_ev = NULL;
	close(ctl_srv.fd);
	ctl_srv.fd = -1;
	/* Only our own file: a newer ternd may already have replaced it. */
	if (stat(ctl_srv.path, &st) == 0 && st.st_dev == ctl_srv.dev && st.st_ino == ctl_srv.ino)
		unlink(ctl_srv.path);
	ctl_srv.base = NULL;
}
