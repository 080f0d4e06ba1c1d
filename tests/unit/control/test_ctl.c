/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/ctl.c: requests through ctl_execute(), then the real socket on a
 * temporary path, served by an event_base that this process drives with
 * EVLOOP_NONBLOCK between its own client calls. Only this file's test rows
 * are registered, so no data plane is needed.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "control/ctl.h"
#include "tests/unit/tap.h"

/* ------------------------------------------------------------------------ */
/* Test rows */

static int
h_echo(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*result = json_deep_copy(req->args);
	return 0;
}

static int
h_whoami(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*result = json_pack("{s:s, s:i}",
			    "access", req->access == CTL_ACCESS_ADMIN ? "admin" : "read",
			    "uid", (int)req->uid);
	return 0;
}

static int
h_admin(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)req;
	(void)err;
	(void)errlen;
	*result = json_string("done");
	return 0;
}

/* name: string (or argv[0]); count: uint (or argv[1]); flag: bool. */
static int
h_args(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	const char *name = NULL;
	unsigned long count = 0;
	int flag = 0, rc;

	rc = ctl_arg_str(req, "name", 0, &name, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = ctl_arg_uint(req, "count", 1, &count, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = ctl_arg_bool(req, "flag", &flag, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	*result = json_pack("{s:s?, s:I, s:b}", "name", name, "count", (json_int_t)count,
			    "flag", flag);
	return 0;
}

static int
h_fail(const struct ctl_req *req, json_t **result, char *err, size_t errlen)
{
	(void)req;
	(void)result;
	snprintf(err, errlen, "the table is full");
	return -ENOSPC;
}

static const struct ctl_cmd test_cmds[] = {
	{ "test.whoami", h_whoami, CTL_ACCESS_READ, "", "who the server thinks we are" },
	{ "test.echo", h_echo, CTL_ACCESS_READ, "[ANY...]", "return the arguments" },
	{ "test.admin", h_admin, CTL_ACCESS_ADMIN, "", "an admin-only command" },
	{ "test.args", h_args, CTL_ACCESS_READ, "[NAME] [COUNT] [--flag]", "typed arguments" },
	{ "test.fail", h_fail, CTL_ACCESS_READ, "", "always fails with ENOSPC" },
};
#define NB_TEST_CMDS (sizeof(test_cmds) / sizeof(test_cmds[0]))

/* ------------------------------------------------------------------------ */
/* ctl_execute() */

static json_t *
run(const char *line, enum ctl_access access)
{
	return ctl_execute(line, strlen(line), 1000, 42, access);
}

static const char *
err_code(const json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static const char *
err_msg(const json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"),
							  "message"));
	return m ? m : "";
}

/* An error reply with @p code, and id null (want_id < 0) or want_id. */
static void
check_error(const char *line, enum ctl_access access, long long want_id, const char *code,
	    const char *msg_part, const char *what)
{
	json_t *r = run(line, access);
	json_t *id = json_object_get(r, "id");

	ok(json_is_false(json_object_get(r, "ok")), "%s: ok is false", what);
	is_str(err_code(r), code, "%s: code %s", what, code);
	if (want_id < 0)
		ok(json_is_null(id), "%s: id is null", what);
	else
		is_int(json_integer_value(id), want_id, "%s: id echoed", what);
	if (msg_part != NULL && !ok(strstr(err_msg(r), msg_part) != NULL,
				    "%s: message mentions '%s'", what, msg_part))
		printf("#   message: %s\n", err_msg(r));
	json_decref(r);
}

static void
test_execute(void)
{
	json_t *r, *res;

	check_error("not json", CTL_ACCESS_ADMIN, -1, "EINVAL", "parse error", "not JSON");
	check_error("{\"id\":1,", CTL_ACCESS_ADMIN, -1, "EINVAL", "byte", "truncated JSON");
	check_error("[1,2]", CTL_ACCESS_ADMIN, -1, "EINVAL", "object", "array request");
	check_error("\"str\"", CTL_ACCESS_ADMIN, -1, "EINVAL", "object", "string request");
	check_error("{\"cmd\":\"test.echo\"}", CTL_ACCESS_ADMIN, -1, "EINVAL", "id",
		    "missing id");
	check_error("{\"id\":1.5,\"cmd\":\"test.echo\"}", CTL_ACCESS_ADMIN, -1, "EINVAL",
		    "integer or a string", "real id");
	check_error("{\"id\":[1],\"cmd\":\"test.echo\"}", CTL_ACCESS_ADMIN, -1, "EINVAL",
		    "integer or a string", "array id");
	check_error("{\"id\":null,\"cmd\":\"test.echo\"}", CTL_ACCESS_ADMIN, -1, "EINVAL",
		    "integer or a string", "null id");
	check_error("{\"id\":2}", CTL_ACCESS_ADMIN, 2, "EINVAL", "cmd", "missing cmd");
	check_error("{\"id\":3,\"cmd\":7}", CTL_ACCESS_ADMIN, 3, "EINVAL", "cmd",
		    "cmd not a string");
	check_error("{\"id\":4,\"cmd\":\"no.such\"}", CTL_ACCESS_ADMIN, 4, "ENOENT", "help",
		    "unknown command");
	check_error("{\"id\":5,\"cmd\":\"test.echo\",\"args\":[1]}", CTL_ACCESS_ADMIN, 5,
		    "EINVAL", "args", "args an array");
	check_error("{\"id\":6,\"cmd\":\"test.echo\",\"args\":\"x\"}", CTL_ACCESS_ADMIN, 6,
		    "EINVAL", "args", "args a string");
	check_error("{\"id\":7,\"cmd\":\"test.args\",\"args\":{\"name\":5}}", CTL_ACCESS_ADMIN, 7,
		    "EINVAL", "'name'", "string argument of the wrong type");
	check_error("{\"id\":8,\"cmd\":\"test.args\",\"args\":{\"flag\":\"maybe\"}}",
		    CTL_ACCESS_ADMIN, 8, "EINVAL", "'flag'", "bool argument of the wrong type");
	check_error("{\"id\":9,\"cmd\":\"test.args\",\"args\":{\"count\":-1}}", CTL_ACCESS_ADMIN,
		    9, "EINVAL", "'count'", "negative uint");
	check_error("{\"id\":10,\"cmd\":\"test.args\",\"args\":{\"count\":\"12x\"}}",
		    CTL_ACCESS_ADMIN, 10, "EINVAL", "'count'", "uint string with junk");
	check_error("{\"id\":11,\"cmd\":\"test.args\",\"args\":{\"argv\":\"x\"}}",
		    CTL_ACCESS_ADMIN, 11, "EINVAL", "argv", "argv not an array");
	check_error("{\"id\":12,\"cmd\":\"test.fail\"}", CTL_ACCESS_ADMIN, 12, "ENOSPC",
		    "table is full", "handler error passed through");
	check_error("{\"id\":13,\"cmd\":\"test.admin\"}", CTL_ACCESS_READ, 13, "EPERM",
		    "admin", "admin command at read access");

	r = run("{\"id\":\"abc\",\"cmd\":\"test.admin\"}", CTL_ACCESS_ADMIN);
	ok(json_is_true(json_object_get(r, "ok")), "admin command at admin access");
	is_str(json_string_value(json_object_get(r, "id")), "abc", "string id echoed");
	is_str(json_string_value(json_object_get(r, "result")), "done", "result");
	json_decref(r);

	r = run("{\"id\":1,\"cmd\":\"test.echo\"}", CTL_ACCESS_READ);
	res = json_object_get(r, "result");
	ok(json_is_object(res) && json_object_size(res) == 0, "absent args arrive as {}");
	json_decref(r);

	r = run("{\"id\":1,\"cmd\":\"test.args\",\"args\":{\"argv\":[\"x\",\"17\"],"
		"\"flag\":\"1\"}}", CTL_ACCESS_READ);
	res = json_object_get(r, "result");
	is_str(json_string_value(json_object_get(res, "name")), "x", "positional string");
	is_int(json_integer_value(json_object_get(res, "count")), 17, "positional uint string");
	ok(json_is_true(json_object_get(res, "flag")), "bool from \"1\"");
	json_decref(r);

	r = run("{\"id\":1,\"cmd\":\"test.args\",\"args\":{\"argv\":[\"x\"],\"name\":\"y\","
		"\"count\":9,\"flag\":true}}", CTL_ACCESS_READ);
	res = json_object_get(r, "result");
	is_str(json_string_value(json_object_get(res, "name")), "y", "named beats positional");
	is_int(json_integer_value(json_object_get(res, "count")), 9, "uint from an integer");
	ok(json_is_true(json_object_get(res, "flag")), "bool from true");
	json_decref(r);

	static const struct { const char *v; int want; } bools[] = {
		{ "true", 1 }, { "false", 0 }, { "\"true\"", 1 }, { "\"false\"", 0 },
		{ "\"1\"", 1 }, { "\"0\"", 0 }, { "\"yes\"", -1 }, { "1", -1 }, { "null", -1 },
	};
	for (unsigned int i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line),
			 "{\"id\":1,\"cmd\":\"test.args\",\"args\":{\"flag\":%s}}", bools[i].v);
		r = run(line, CTL_ACCESS_READ);
		if (bools[i].want < 0)
			is_str(err_code(r), "EINVAL", "bool %s rejected", bools[i].v);
		else
			is_int(json_is_true(json_object_get(json_object_get(r, "result"), "flag")),
			       bools[i].want, "bool %s", bools[i].v);
		json_decref(r);
	}
	static const struct { const char *v; long long want; } uints[] = {
		{ "0", 0 }, { "\"0\"", 0 }, { "4294967296", 4294967296LL }, { "\"123\"", 123 },
		{ "\"\"", -1 }, { "\"-1\"", -1 }, { "\"+1\"", -1 }, { "1.5", -1 }, { "true", -1 },
		{ "\"99999999999999999999999\"", -1 },
	};
	for (unsigned int i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		char line[128];

		snprintf(line, sizeof(line),
			 "{\"id\":1,\"cmd\":\"test.args\",\"args\":{\"count\":%s}}", uints[i].v);
		r = run(line, CTL_ACCESS_READ);
		if (uints[i].want < 0)
			is_str(err_code(r), "EINVAL", "uint %s rejected", uints[i].v);
		else
			is_int(json_integer_value(json_object_get(json_object_get(r, "result"),
								  "count")),
			       uints[i].want, "uint %s", uints[i].v);
		json_decref(r);
	}
}

static void
test_help(void)
{
	json_t *r, *rows, *row;
	size_t i;
	const char *prev = "";
	bool sorted = true, all_fields = true;
	unsigned int mine = 0;

	ok(ctl_find("help") != NULL, "help is a registered row");
	ok(ctl_find("test.echo") == &test_cmds[1], "ctl_find returns the row");
	ok(ctl_find("test.ech") == NULL && ctl_find("") == NULL && ctl_find("zzz") == NULL,
	   "ctl_find of unknown names");

	r = run("{\"id\":1,\"cmd\":\"help\"}", CTL_ACCESS_READ);
	rows = json_object_get(r, "result");
	is_int(json_array_size(rows), NB_TEST_CMDS + 1, "help lists every row and itself");
	json_array_foreach(rows, i, row) {
		const char *name = json_string_value(json_object_get(row, "name"));
		const char *access = json_string_value(json_object_get(row, "access"));
		const struct ctl_cmd *cmd = name ? ctl_find(name) : NULL;

		if (name == NULL || strcmp(prev, name) >= 0)
			sorted = false;
		prev = name ? name : "";
		if (cmd == NULL || access == NULL ||
		    strcmp(access, cmd->access == CTL_ACCESS_ADMIN ? "admin" : "read") != 0 ||
		    !json_is_string(json_object_get(row, "args")) ||
		    strcmp(json_string_value(json_object_get(row, "help")), cmd->help) != 0)
			all_fields = false;
		if (cmd != NULL && cmd >= test_cmds && cmd < test_cmds + NB_TEST_CMDS)
			mine++;
	}
	ok(sorted, "help rows sorted by name");
	ok(all_fields, "help rows carry name, args, access and help from the table");
	is_int(mine, NB_TEST_CMDS, "help includes every test row");
	json_decref(r);

	r = run("{\"id\":1,\"cmd\":\"help\",\"args\":{\"argv\":[\"test.admin\"]}}",
		CTL_ACCESS_READ);
	row = json_object_get(r, "result");
	is_str(json_string_value(json_object_get(row, "name")), "test.admin", "help CMD");
	is_str(json_string_value(json_object_get(row, "access")), "admin", "help CMD access");
	is_str(json_string_value(json_object_get(row, "help")), "an admin-only command",
	       "help CMD text");
	json_decref(r);
	check_error("{\"id\":2,\"cmd\":\"help\",\"args\":{\"argv\":[\"nope\"]}}", CTL_ACCESS_READ,
		    2, "ENOENT", "nope", "help of an unknown command");
}

/* ------------------------------------------------------------------------ */
/* The socket */

static struct event_base *base;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

struct cli {
	int fd;
	char buf[256 * 1024];
	size_t len;
	bool eof;     /* read returned 0 or ECONNRESET */
};

static void
pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
pump_ms(int ms)
{
	for (int i = 0; i < ms; i++) {
		pump();
		usleep(1000);
	}
	pump();
}

static struct cli *
cli_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cli *c = calloc(1, sizeof(*c));

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		printf("# connect: %s\n", strerror(errno));
	pump();
	return c;
}

static void
cli_close(struct cli *c)
{
	close(c->fd);
	free(c);
	pump_ms(2);
}

static void
cli_recv_some(struct cli *c)
{
	ssize_t n;

	if (c->eof || c->len == sizeof(c->buf))
		return;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (n > 0)
		c->len += n;
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		c->eof = true;
}

/* Send everything, pumping the server (and reading replies) while blocked. */
static void
cli_send(struct cli *c, const char *data, size_t len)
{
	size_t off = 0;

	for (int spins = 0; off < len && spins < 100000; spins++) {
		ssize_t n = send(c->fd, data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			return;
		pump();
		cli_recv_some(c);
		usleep(100);
	}
}

static void
cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Next reply line, parsed; NULL on EOF or after 2 s. */
static json_t *
cli_reply(struct cli *c)
{
	for (int i = 0; i < 2000; i++) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			json_t *r = json_loadb(c->buf, nl - c->buf, 0, NULL);
			size_t used = nl + 1 - c->buf;

			memmove(c->buf, nl + 1, c->len - used);
			c->len -= used;
			return r;
		}
		if (c->eof)
			return NULL;
		pump();
		cli_recv_some(c);
		if (c->len == 0 || !memchr(c->buf, '\n', c->len))
			usleep(1000);
	}
	return NULL;
}

/* True when the server closed the connection (EOF or reset) within 2 s. */
static bool
cli_closed(struct cli *c)
{
	for (int i = 0; i < 2000 && !c->eof; i++) {
		pump();
		c->len = 0;
		cli_recv_some(c);
		if (!c->eof)
			usleep(1000);
	}
	return c->eof;
}

static bool
reply_ok(json_t *r, long long id)
{
	bool good = json_is_true(json_object_get(r, "ok")) &&
		    json_integer_value(json_object_get(r, "id")) == id;

	json_decref(r);
	return good;
}

static bool
reply_err(json_t *r, const char *code)
{
	bool good = r != NULL && json_is_false(json_object_get(r, "ok")) && err_code(r) &&
		    strcmp(err_code(r), code) == 0;

	if (!good && r != NULL)
		printf("#   reply: %s %s\n", err_code(r) ? err_code(r) : "-", err_msg(r));
	json_decref(r);
	return good;
}

/* A line of exactly @p len bytes (plus "\n" when @p newline) that is a valid request. */
static char *
long_request(size_t len, bool newline)
{
	static const char head[] = "{\"id\":77,\"cmd\":\"test.echo\",\"args\":{\"pad\":\"";
	static const char tail[] = "\"}}";
	char *s = malloc(len + 2);

	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'x', len - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(s + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	s[len] = '\n';
	s[len + 1] = '\0';
	if (!newline)
		s[len] = '\0';
	return s;
}

static void
test_socket_requests(void)
{
	static const struct { const char *line; const char *code; } bad[] = {
		{ "not json\n", "EINVAL" },
		{ "[1]\n", "EINVAL" },
		{ "{\"cmd\":\"test.echo\"}\n", "EINVAL" },
		{ "{\"id\":{},\"cmd\":\"test.echo\"}\n", "EINVAL" },
		{ "{\"id\":1}\n", "EINVAL" },
		{ "{\"id\":1,\"cmd\":false}\n", "EINVAL" },
		{ "{\"id\":1,\"cmd\":\"no.such\"}\n", "ENOENT" },
		{ "{\"id\":1,\"cmd\":\"test.echo\",\"args\":5}\n", "EINVAL" },
		{ "{\"id\":1,\"cmd\":\"test.args\",\"args\":{\"count\":\"x\"}}\n", "EINVAL" },
		{ "{\"id\":1,\"cmd\":\"test.fail\"}\n", "ENOSPC" },
	};
	struct cli *c = cli_open();
	json_t *r;
	char *big;

	cli_sends(c, "{\"id\":1,\"cmd\":\"test.whoami\"}\n");
	r = cli_reply(c);
	is_str(json_string_value(json_object_get(json_object_get(r, "result"), "access")),
	       "admin", "own uid gets admin access over the socket");
	is_int(json_integer_value(json_object_get(json_object_get(r, "result"), "uid")),
	       geteuid(), "SO_PEERCRED uid passed to the handler");
	json_decref(r);

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int shown = (int)strlen(bad[i].line) - 1;

		cli_sends(c, bad[i].line);
		ok(reply_err(cli_reply(c), bad[i].code), "socket: %.*s => %s (connection kept)",
		   shown, bad[i].line, bad[i].code);
	}
	cli_sends(c, "{\"id\":2,\"cmd\":\"test.echo\"}\n");
	ok(reply_ok(cli_reply(c), 2), "connection usable after every bad request");

	cli_sends(c, "\n{\"id\":3,\"cmd\":\"test.echo\"}\n{\"id\":4,\"cmd\":\"test.echo\"}\n");
	ok(reply_ok(cli_reply(c), 3), "blank line ignored; pipelined request 1");
	ok(reply_ok(cli_reply(c), 4), "pipelined request 2 answered in order");

	cli_sends(c, "{\"id\":5,\"cmd\":");
	pump_ms(5);
	cli_sends(c, "\"test.echo\"}\r\n");
	ok(reply_ok(cli_reply(c), 5), "request split across writes (CRLF tolerated)");

	big = long_request(65536, true);
	cli_sends(c, big);
	free(big);
	r = cli_reply(c);
	ok(json_is_true(json_object_get(r, "ok")) &&
	   strlen(json_string_value(json_object_get(json_object_get(r, "result"), "pad"))) > 65000,
	   "a line of exactly 65536 bytes is accepted");
	json_decref(r);
	cli_close(c);

	c = cli_open();
	big = long_request(65537, true);
	cli_sends(c, big);
	free(big);
	ok(reply_err(cli_reply(c), "EMSGSIZE"), "a 65537-byte line gets EMSGSIZE");
	ok(cli_closed(c), "... and the connection is closed");
	cli_close(c);

	c = cli_open();
	big = long_request(70000, false);
	cli_sends(c, big);
	free(big);
	ok(reply_err(cli_reply(c), "EMSGSIZE"), "70000 bytes without a newline get EMSGSIZE");
	ok(cli_closed(c), "... and the connection is closed");
	cli_close(c);

	/* A client that half-closes after its request still gets the reply. */
	c = cli_open();
	cli_sends(c, "{\"id\":6,\"cmd\":\"test.echo\"}\n");
	shutdown(c->fd, SHUT_WR);
	ok(reply_ok(cli_reply(c), 6), "reply delivered after the client's EOF");
	ok(cli_closed(c), "... then the server closes");
	cli_close(c);
}

static void
test_socket_clients(void)
{
	struct cli *a = cli_open(), *b = cli_open(), *c = cli_open(), *many[64];
	unsigned int n_ok = 0;
	char *req;
	size_t len;

	/* a and c leave mid-line and mid-request; b must not notice. */
	cli_sends(a, "{\"id\":1,\"cmd\":\"te");
	cli_sends(b, "{\"id\":2,\"cmd\":\"te");
	cli_sends(c, "{\"id\":1,\"cmd\":\"test.echo\",\"args\":{\"x\":1}}\n");
	pump_ms(5);
	cli_close(a);
	cli_close(c);
	cli_sends(b, "st.echo\"}\n");
	ok(reply_ok(cli_reply(b), 2), "a client leaving mid-line does not disturb another");
	cli_close(b);

	/* The connection cap (after the server has seen the closes above). */
	pump_ms(20);
	for (unsigned int i = 0; i < 64; i++)
		many[i] = cli_open();
	pump_ms(5);
	a = cli_open();
	pump_ms(5);
	ok(reply_err(cli_reply(a), "EBUSY"), "the 65th connection gets EBUSY");
	ok(cli_closed(a), "... and is closed");
	cli_close(a);
	for (unsigned int i = 0; i < 64; i++) {
		cli_sends(many[i], "{\"id\":9,\"cmd\":\"test.echo\"}\n");
	}
	for (unsigned int i = 0; i < 64; i++)
		n_ok += reply_ok(cli_reply(many[i]), 9);
	is_int(n_ok, 64, "64 concurrent connections all served");
	cli_close(many[0]);
	a = cli_open();
	cli_sends(a, "{\"id\":10,\"cmd\":\"test.echo\"}\n");
	ok(reply_ok(cli_reply(a), 10), "a slot freed by a close is reusable");
	cli_close(a);
	for (unsigned int i = 1; i < 64; i++)
		cli_close(many[i]);

	/*
	 * A client that writes requests without reading replies until it cannot
	 * write any more: the server must stop reading (its output is large) and
	 * resume once the client reads, losing nothing.
	 */
	a = cli_open();
	req = long_request(1000, true);
	len = strlen(req);
	n_ok = 0;
	for (unsigned int sent = 0, off = 0, blocked = 0, got = 0, spins = 0;
	     got < 3000 && spins < 200000; spins++) {
		json_t *r;
		char *nl;

		if (sent < 3000) {
			ssize_t n = send(a->fd, req + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

			blocked = n > 0 ? 0 : blocked + 1;
			if (n > 0 && (off += n) == len) {
				off = 0;
				sent++;
			}
		}
		pump();
		/* Read only once writing has been stuck for a while, or all is sent. */
		if (blocked < 200 && sent < 3000)
			continue;
		cli_recv_some(a);
		while ((nl = memchr(a->buf, '\n', a->len)) != NULL) {
			r = json_loadb(a->buf, nl - a->buf, 0, NULL);
			n_ok += reply_ok(r, 77);
			got++;
			a->len -= nl + 1 - a->buf;
			memmove(a->buf, nl + 1, a->len);
		}
		if (a->eof)
			break;
	}
	free(req);
	is_int(n_ok, 3000, "3000 requests written before reading any reply: all answered");
	cli_close(a);
}

/* As another user: read access, EPERM for an admin command. Root only. */
static void
test_socket_peercred(void)
{
	char dir[256], *slash;
	int pfd[2];
	pid_t pid;
	char out[4096] = "";
	size_t have = 0;
	int status;
	json_t *r1, *r2;
	char *nl;

	if (geteuid() != 0) {
		ok(1, "# SKIP not root: cannot connect as another user");
		return;
	}
	/* Let uid 65534 reach the socket for this test only. */
	snprintf(dir, sizeof(dir), "%s", sock_path);
	chmod(sock_path, 0666);
	while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (strncmp(dir, "/tmp/", 5) != 0)
			break;
		chmod(dir, 0755);
	}
	if (pipe(pfd) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char req[] = "{\"id\":1,\"cmd\":\"test.whoami\"}\n"
				   "{\"id\":2,\"cmd\":\"test.admin\"}\n";
		char buf[4096];
		ssize_t n;
		int fd;

		close(pfd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(3);
		if (write(fd, req, sizeof(req) - 1) < 0)
			_exit(4);
		shutdown(fd, SHUT_WR);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(pfd[1], buf, n) < 0)
				_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 3000; i++) {
		ssize_t n = read(pfd[0], out + have, sizeof(out) - 1 - have);

		if (n == 0)
			break;
		if (n > 0)
			have += n;
		pump();
		usleep(1000);
	}
	close(pfd[0]);
	waitpid(pid, &status, 0);
	out[have] = '\0';
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "client as uid 65534 ran");
	nl = strchr(out, '\n');
	r1 = json_loadb(out, nl ? (size_t)(nl - out) : 0, 0, NULL);
	r2 = nl ? json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	is_str(json_string_value(json_object_get(json_object_get(r1, "result"), "access")),
	       "read", "another uid gets read access");
	ok(reply_err(r2, "EPERM"), "admin command from a read-only peer => EPERM");
	json_decref(r1);
}

static int
mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static gid_t
gid_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_gid : (gid_t)-1;
}

/* A group other than ours, so that the chown is visible (root only). */
static const struct group *
other_group(void)
{
	const struct group *gr;

	if (geteuid() != 0)
		return getgrgid(getegid());
	setgrent();
	while ((gr = getgrent()) != NULL)
		if (gr->gr_gid != getegid())
			break;
	endgrent();
	return gr ? gr : getgrgid(getegid());
}

static int
bind_socket(const char *path, bool do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (do_listen && listen(fd, 1) < 0))
		printf("# bind %s: %s\n", path, strerror(errno));
	return fd;
}

static void
test_socket(void)
{
	char tmp[] = "/tmp/test_ctl.XXXXXX", d1[64], d2[64], other[96], err[256];
	const struct group *gr;
	char grname[64];
	gid_t gid;
	int fd, rc;

	if (mkdtemp(tmp) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	base = event_base_new();
	gr = other_group();
	snprintf(grname, sizeof(grname), "%s", gr->gr_name);
	gid = gr->gr_gid;
	snprintf(d1, sizeof(d1), "%s/run", tmp);
	snprintf(d2, sizeof(d2), "%s/run/tern", tmp);
	snprintf(sock_path, sizeof(sock_path), "%s/ctl.sock", d2);

	rc = ctl_start(base, sock_path, "no-such-group-tern", err, sizeof(err));
	ok(rc == -ENOENT && strstr(err, "no-such-group-tern"), "unknown group refused: %s", err);

	umask(077); /* the modes must not depend on the umask */
	rc = ctl_start(base, sock_path, grname, err, sizeof(err));
	umask(022);
	if (!ok(rc == 0, "ctl_start on %s (group %s)", sock_path, grname)) {
		printf("#   %d %s\n", rc, err);
		return;
	}
	is_int(mode_of(d1), 0750, "created directory %s is 0750", d1);
	is_int(mode_of(d2), 0750, "created directory %s is 0750", d2);
	is_int(mode_of(tmp), 0700, "an existing directory is left alone");
	is_int(mode_of(sock_path), 0660, "socket is 0660");
	is_int(gid_of(sock_path), gid, "socket belongs to the group");
	is_int(gid_of(d2), gid, "created directory belongs to the group");
	rc = ctl_start(base, sock_path, NULL, err, sizeof(err));
	is_int(rc, -EBUSY, "a second ctl_start is refused");

	test_socket_requests();
	test_socket_clients();
	test_socket_peercred();

	ctl_stop();
	ok(access(sock_path, F_OK) < 0, "ctl_stop removes the socket file");

	/* A stale socket file from a dead ternd is replaced. */
	close(bind_socket(sock_path, false));
	ok(access(sock_path, F_OK) == 0, "stale socket file present");
	rc = ctl_start(base, sock_path, NULL, err, sizeof(err));
	ok(rc == 0, "ctl_start replaces a stale socket: %s", err);
	ctl_stop();

	/* A live one is not. */
	snprintf(other, sizeof(other), "%s/live.sock", d2);
	fd = bind_socket(other, true);
	rc = ctl_start(base, other, NULL, err, sizeof(err));
	ok(rc == -EADDRINUSE && strstr(err, "another ternd"), "a live socket is refused: %s", err);
	ok(access(other, F_OK) == 0, "... and left in place");
	close(fd);
	unlink(other);

	/* Nor is a file that is not a socket. */
	close(open(other, O_CREAT | O_WRONLY, 0600));
	rc = ctl_start(base, other, NULL, err, sizeof(err));
	ok(rc == -EEXIST && strstr(err, "not a socket"), "a regular file is refused: %s", err);
	unlink(other);

	rmdir(d2);
	rmdir(d1);
	rmdir(tmp);
	event_base_free(base);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	ctl_register(test_cmds, NB_TEST_CMDS);
	test_execute();
	test_help();
	test_socket();
	return done_testing();
}
