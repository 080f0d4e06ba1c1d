/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ternctl: the command line over ternd's control socket (docs/control.md).
 *
 * It knows no command: it turns its arguments into one request, sends it,
 * and renders whatever JSON comes back by shape (objects of scalars as
 * aligned key/value lines, arrays of objects as tables, nested objects as
 * indented sections). New commands in ternd therefore need no change here.
 */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define TERNCTL_DEFAULT_SOCKET "/run/tern/ternctl.sock"
#define TERNCTL_REPLY_MAX (64 * 1024 * 1024)

enum {
	EXIT_OK = 0,
	EXIT_ERROR_REPLY = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: ternctl [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Send one command to ternd over its control socket and print the reply.\n"
		"\n"
		"Options (before COMMAND):\n"
		"  -s, --socket PATH   control socket (default: $TERN_SOCKET, else %s)\n"
		"      --json          print the raw JSON reply line instead of text\n"
		"      --timeout SEC   give up waiting for ternd after SEC seconds (default 10)\n"
		"  -h, --help          show this help\n"
		"      --version       show the version\n"
		"\n"
		"Arguments (after COMMAND):\n"
		"  --NAME=VALUE        named argument NAME with the string VALUE\n"
		"  --NAME              named argument NAME set to true\n"
		"  WORD                positional argument (sent in args.argv)\n"
		"  --                  everything after it is positional\n"
		"\n"
		"Examples:\n"
		"  ternctl help              list the commands ternd knows\n"
		"  ternctl help stats        describe one command\n"
		"  ternctl stats --port=p0 --nonzero\n"
		"  ternctl --json status\n"
		"\n"
		"Exit status: 0 success, 1 ternd replied with an error, 2 usage error,\n"
		"3 ternd not reachable (no socket, refused, closed or timed out).\n",
		TERNCTL_DEFAULT_SOCKET);
}

/* ------------------------------------------------------------------------ */
/* Request */

static json_t *
build_request(int argc, char **argv)
{
	json_t *args = json_object(), *pos = json_array();
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
		} else if (!only_pos && strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a + 2, '=');
			char *name = eq ? strndup(a + 2, eq - (a + 2)) : strdup(a + 2);

			if (name[0] == '\0' || strcmp(name, "argv") == 0) {
				fprintf(stderr, "ternctl: bad argument '%s'\n", a);
				free(name);
				json_decref(args);
				json_decref(pos);
				return NULL;
			}
			json_object_set_new(args, name, eq ? json_string(eq + 1) : json_true());
			free(name);
		} else {
			json_array_append_new(pos, json_string(a));
		}
	}
	if (json_array_size(pos) > 0)
		json_object_set_new(args, "argv", pos);
	else
		json_decref(pos);
	return json_pack("{s:i, s:s, s:o}", "id", 1, "cmd", argv[0], "args", args);
}

/* ------------------------------------------------------------------------ */
/* Transport */

static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct timespec now;
	struct pollfd pfd = { .fd = fd, .events = events };
	long ms;
	int rc;

	do {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		     (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return 0;
		rc = poll(&pfd, 1, ms > 1000000 ? 1000000 : (int)ms);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

/*
 * Send the request and read one reply line into *reply (malloc'd).
 * @return 0, or an exit status with a message already printed.
 */
static int
exchange(const char *path, const char *req, double timeout, char **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec deadline;
	size_t len = strlen(req), off = 0, cap = 4096, have = 0;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ternctl: socket path too long: %s\n", path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, "ternctl: cannot connect to %s: %s%s\n", path, strerror(e),
			e == EACCES || e == EPERM ? " (is this user in the socket's group?)"
						  : " (is ternd running?)");
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout;
	deadline.tv_nsec += (long)((timeout - (time_t)timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}

	while (off < len) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, &deadline) <= 0)
			goto timeout;
		n = send(fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			/* ternd may have refused us (EBUSY) and closed: read why below. */
			break;
		}
		off += n;
	}

	buf = malloc(cap);
	for (;;) {
		ssize_t n;
		char *nl;

		if (have + 1 >= cap) {
			if (cap >= TERNCTL_REPLY_MAX) {
				fprintf(stderr, "ternctl: reply from %s too long\n", path);
				free(buf);
				close(fd);
				return EXIT_UNREACHABLE;
			}
			cap *= 2;
			buf = realloc(buf, cap);
		}
		if (wait_fd(fd, POLLIN, &deadline) <= 0) {
			free(buf);
			goto timeout;
		}
		n = recv(fd, buf + have, cap - have - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			fprintf(stderr, "ternctl: %s closed the connection without a reply%s%s\n",
				path, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			free(buf);
			close(fd);
			return EXIT_UNREACHABLE;
		}
		have += n;
		buf[have] = '\0';
		nl = memchr(buf, '\n', have);
		if (nl != NULL) {
			*nl = '\0';
			break;
		}
	}
	close(fd);
	*reply = buf;
	return 0;

timeout:
	fprintf(stderr, "ternctl: no reply from %s within %g s\n", path, timeout);
	close(fd);
	return EXIT_UNREACHABLE;
}

/* ------------------------------------------------------------------------ */
/* Rendering by shape */

static bool
is_scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static bool
is_scalar_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, e)
		if (!is_scalar(e))
			return false;
	return true;
}

static bool
is_object_array(const json_t *v)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_object(e))
			return false;
	return true;
}

/*
 * Columns a string takes on a terminal: one per UTF-8 character (topic names
 * and other values need not be ASCII), so tables stay aligned.
 */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Print @p s padded with spaces to @p width columns. */
static void
print_padded(const char *s, size_t width)
{
	size_t w = text_width(s);

	fputs(s, stdout);
	if (w < width)
		printf("%*s", (int)(width - w), "");
}

/* Text of a value shown in one cell or after a key; caller frees. */
static char *
cell(const json_t *v)
{
	char *s = NULL;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			s = NULL;
		return s;
	case JSON_REAL:
		if (asprintf(&s, "%.3f", json_real_value(v)) < 0)
			s = NULL;
		return s;
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_NULL:
		return strdup("-");
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return strdup("-");
		if (is_scalar_array(v)) {
			size_t i, len = 0;
			json_t *e;

			json_array_foreach(v, i, e) {
				char *c = cell(e);
				size_t cl = strlen(c);

				s = realloc(s, len + cl + 3);
				if (i > 0) {
					memcpy(s + len, ", ", 2);
					len += 2;
				}
				memcpy(s + len, c, cl + 1);
				len += cl;
				free(c);
			}
			return s;
		}
		/* fall through */
	default:
		return json_dumps(v, JSON_COMPACT);
	}
}

static void render(const json_t *v, int indent);

static void
render_table(const json_t *rows, int indent)
{
	json_t *cols = json_array(), *row, *val;
	size_t nr = json_array_size(rows), nc, i, j;
	const char *key;
	size_t *width;
	char ***cells;

	/* Columns: the union of the rows' keys, in first-seen order. */
	json_array_foreach(rows, i, row) {
		json_object_foreach(row, key, val) {
			bool seen = false;

			for (j = 0; j < json_array_size(cols); j++)
				if (strcmp(json_string_value(json_array_get(cols, j)), key) == 0)
					seen = true;
			if (!seen)
				json_array_append_new(cols, json_string(key));
		}
	}
	nc = json_array_size(cols);
	width = calloc(nc, sizeof(*width));
	cells = calloc(nr, sizeof(*cells));
	for (j = 0; j < nc; j++)
		width[j] = strlen(json_string_value(json_array_get(cols, j)));
	for (i = 0; i < nr; i++) {
		row = json_array_get(rows, i);
		cells[i] = calloc(nc, sizeof(**cells));
		for (j = 0; j < nc; j++) {
			val = json_object_get(row, json_string_value(json_array_get(cols, j)));
			cells[i][j] = val ? cell(val) : strdup("");
			if (text_width(cells[i][j]) > width[j])
				width[j] = text_width(cells[i][j]);
		}
	}
	printf("%*s", indent, "");
	for (j = 0; j < nc; j++) {
		const char *h = json_string_value(json_array_get(cols, j));

		for (const char *p = h; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		if (j + 1 < nc)
			printf("%*s", (int)(width[j] - strlen(h) + 2), "");
	}
	putchar('\n');
	for (i = 0; i < nr; i++) {
		printf("%*s", indent, "");
		for (j = 0; j < nc; j++) {
			if (j + 1 < nc) {
				print_padded(cells[i][j], width[j]);
				fputs("  ", stdout);
			} else {
				fputs(cells[i][j], stdout);
			}
			free(cells[i][j]);
		}
		putchar('\n');
		free(cells[i]);
	}
	free(cells);
	free(width);
	json_decref(cols);
}

static void
render_object(const json_t *o, int indent)
{
	const char *key;
	json_t *val;
	size_t w = 0;

	/* Scalars first, aligned; then one indented section per nested value. */
	json_object_foreach((json_t *)o, key, val)
		if ((is_scalar(val) || is_scalar_array(val)) && text_width(key) > w)
			w = text_width(key);
	json_object_foreach((json_t *)o, key, val) {
		if (is_scalar(val) || is_scalar_array(val)) {
			char *c = cell(val);

			printf("%*s", indent, "");
			print_padded(key, w);
			printf("  %s\n", c);
			free(c);
		}
	}
	json_object_foreach((json_t *)o, key, val) {
		if (is_scalar(val) || is_scalar_array(val))
			continue;
		printf("%*s%s:\n", indent, "", key);
		if ((json_is_object(val) && json_object_size(val) == 0))
			printf("%*s-\n", indent + 2, "");
		else
			render(val, indent + 2);
	}
}

static void
render(const json_t *v, int indent)
{
	size_t i;
	json_t *e;

	if (json_is_object(v)) {
		render_object(v, indent);
	} else if (is_object_array(v)) {
		render_table(v, indent);
	} else if (json_is_array(v) && !is_scalar_array(v)) {
		json_array_foreach(v, i, e) {
			printf("%*s- [%zu]\n", indent, "", i);
			render(e, indent + 2);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			char *c = cell(e);

			printf("%*s%s\n", indent, "", c);
			free(c);
		}
	} else if (!json_is_null(v)) {
		char *c = cell(v);

		printf("%*s%s\n", indent, "", c);
		free(c);
	}
}

/* ------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("TERN_SOCKET");
	double timeout = 10;
	bool raw = false;
	json_t *req, *reply, *err;
	json_error_t jerr;
	char *line, *text, *end;
	int opt, rc;

	if (path == NULL || path[0] == '\0')
		path = TERNCTL_DEFAULT_SOCKET;
	/* '+': stop at COMMAND, so the command's own --args are not ours. */
	while ((opt = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end != '\0' || !(timeout > 0) || timeout > 86400) {
				fprintf(stderr,
					"ternctl: --timeout wants seconds, 0 < SEC <= 86400\n");
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ternctl %s\n", TERN_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ternctl: no command given (try 'ternctl help')\n\n");
		usage(stderr);
		return EXIT_USAGE;
	}

	req = build_request(argc - optind, argv + optind);
	if (req == NULL)
		return EXIT_USAGE;
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	line = malloc(strlen(text) + 2);
	sprintf(line, "%s\n", text);
	free(text);
	rc = exchange(path, line, timeout, &text);
	free(line);
	if (rc != 0)
		return rc;

	reply = json_loads(text, 0, &jerr);
	if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok"))) {
		fprintf(stderr, "ternctl: malformed reply from %s: %s\n", path, text);
		free(text);
		json_decref(reply);
		return EXIT_UNREACHABLE;
	}
	if (raw)
		printf("%s\n", text);
	free(text);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		err = json_object_get(reply, "error");
		fprintf(stderr, "error: %s: %s\n",
			json_string_value(json_object_get(err, "code")) ?: "EIO",
			json_string_value(json_object_get(err, "message")) ?: "(no message)");
		json_decref(reply);
		return EXIT_ERROR_REPLY;
	}
	if (!raw)
		render(json_object_get(reply, "result"), 0);
	json_decref(reply);
	return EXIT_OK;
}
