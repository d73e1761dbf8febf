/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sluice ctl`: connects to a running agent's control socket, sends one
 * newline-delimited JSON request per command and prints the reply: stats
 * as a readable table (or Flume's JSON), components, and a graceful stop
 * that waits until the agent is gone. Runs in the `sluice ctl` process.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sl_control.h"
#include "sl_time.h"

/* Exit codes of `sluice ctl`, documented in its --help. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,	/* error reply, or stop not done in time */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3,	/* no socket, permission, refused */
	CTL_EXIT_TIMEOUT = 4,	/* no (valid) reply within --timeout */
};

#define CTL_MAX_REPLY		(64 * 1024 * 1024)
#define CTL_NB_CANDIDATES	3

struct ctl_opts {
	const char *socket;
	const char *name;
	const char *cmd;
	int timeout_ms;
	bool json;
	int watch_s;		/* 0: no --watch */
	long count;		/* --count N refreshes; 0: until Ctrl-C */
	int wait_s;		/* stop: how long to wait for the exit */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char tried[1024];	/* the paths tried, for messages */
};

static volatile sig_atomic_t ctl_interrupted;

static void
ctl_usage(FILE *out)
{
	fputs("usage: sluice ctl [--socket PATH | --name AGENT] "
	      "[--timeout SECONDS] COMMAND\n"
	      "\n"
	      "Talk to a running agent through its control socket.\n"
	      "\n"
	      "Commands:\n"
	      "  stats                 counters per component: '# KIND name "
	      "(type)', then\n"
	      "                        'Name: value kind' lines, Flume's "
	      "names first, then\n"
	      "                        sluice's own under '# sluice'; kind is "
	      "counter (only\n"
	      "                        grows), gauge (goes up and down) or "
	      "info\n"
	      "    --json              Flume's JSON monitoring shape instead\n"
	      "    --watch SECONDS     refresh every SECONDS until Ctrl-C "
	      "(--count N: N times)\n"
	      "  components            the agent's sources, channels and "
	      "sinks (--json: raw)\n"
	      "  stop                  graceful stop: sources stop, channels "
	      "drain into the\n"
	      "                        sinks, the agent exits; waits until its "
	      "socket is gone\n"
	      "    --wait SECONDS      how long to wait for that (default "
	      "120)\n"
	      "\n"
	      "Options:\n"
	      "  -s, --socket PATH     the agent's control socket\n"
	      "  -n, --name AGENT      find the socket by agent name: "
	      "/run/sluice/AGENT.sock,\n"
	      "                        $XDG_RUNTIME_DIR/sluice-AGENT.sock, "
	      "/tmp/sluice-AGENT.sock\n"
	      "                        (default: --name agent1)\n"
	      "  -t, --timeout SECONDS how long to wait for a reply (default "
	      "10)\n"
	      "  -h, --help            this text\n"
	      "\n"
	      "Exit codes: 0 done; 1 the agent answered with an error, or stop "
	      "did not\n"
	      "finish within --wait; 2 usage error; 3 the agent cannot be "
	      "reached (no\n"
	      "socket, permission denied, nothing listening); 4 no valid reply "
	      "within --timeout.\n", out);
}

static void
ctl_errorf(const char *fmt, ...) SL_PRINTF(1, 2);

static void
ctl_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("sluice ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
ctl_on_sigint(int sig)
{
	(void)sig;
	ctl_interrupted = 1;
}

/* ---- connecting -------------------------------------------------------- */

/* Connect to @path; a full backlog is retried until @deadline_ns. */
static int
ctl_connect_path(const char *path, uint64_t deadline_ns)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (errno != EAGAIN || sl_time_mono_ns() >= deadline_ns)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		sl_time_sleep_ns(20 * SL_NS_PER_MS);
	}
}

/*
 * Resolve --socket/--name into o->path and connect. Prints the reason and
 * returns -exit code on failure.
 */
static int
ctl_connect(struct ctl_opts *o)
{
	uint64_t deadline = sl_time_mono_ns() +
			    (uint64_t)o->timeout_ms * SL_NS_PER_MS;
	struct stat st;
	size_t used = 0;
	unsigned i;
	int fd, rc;

	if (o->socket) {
		snprintf(o->path, sizeof(o->path), "%s", o->socket);
		snprintf(o->tried, sizeof(o->tried), "%s", o->socket);
	} else {
		/* The first candidate that exists; else the list tried. */
		o->path[0] = '\0';
		for (i = 0; i < CTL_NB_CANDIDATES; i++) {
			char p[sizeof(o->path)];

			rc = sl_ctl_path_candidate(o->name, i, p, sizeof(p));
			if (rc == -EINVAL) {
				ctl_errorf("--name %s: not a valid agent name",
					   o->name);
				return -CTL_EXIT_USAGE;
			}
			if (rc < 0)
				continue;
			used += (size_t)snprintf(o->tried + used,
						 sizeof(o->tried) - used,
						 "%s%s", used ? ", " : "", p);
			if (used >= sizeof(o->tried))
				used = sizeof(o->tried) - 1;
			if (!o->path[0] && lstat(p, &st) == 0)
				snprintf(o->path, sizeof(o->path), "%s", p);
		}
		if (!o->path[0]) {
			ctl_errorf("no control socket for agent '%s': is the "
				   "agent running? (tried %s)", o->name,
				   o->tried);
			return -CTL_EXIT_UNREACHABLE;
		}
	}
	fd = ctl_connect_path(o->path, deadline);
	if (fd >= 0)
		return fd;
	switch (-fd) {
	case ENOENT:
		ctl_errorf("no control socket at %s: is the agent running? "
			   "(tried %s)", o->path, o->tried);
		break;
	case EACCES:
	case EPERM:
		ctl_errorf("permission denied on %s: the socket is mode 0600; "
			   "run as the agent's user (often root)", o->path);
		break;
	case ECONNREFUSED:
		ctl_errorf("nothing is serving %s: the agent is not running "
			   "(or %s is not a socket)", o->path, o->path);
		break;
	case ETIMEDOUT:
		ctl_errorf("%s: the agent did not accept the connection "
			   "within %d ms", o->path, o->timeout_ms);
		return -CTL_EXIT_TIMEOUT;
	default:
		ctl_errorf("cannot connect to %s: %s", o->path,
			   strerror(-fd));
		break;
	}
	return -CTL_EXIT_UNREACHABLE;
}

/* ---- one request ------------------------------------------------------- */

/*
 * Send @req on @fd and read one reply line within the timeout. Returns the
 * reply (an object) or NULL with the reason printed and *@exit set.
 */
static json_t *
ctl_call_fd(const struct ctl_opts *o, int fd, json_t *req, int *exit_code)
{
	uint64_t deadline = sl_time_mono_ns() +
			    (uint64_t)o->timeout_ms * SL_NS_PER_MS;
	char *line = json_dumps(req, JSON_COMPACT);
	size_t len = line ? strlen(line) : 0, off = 0, cap = 0, got = 0;
	char *buf = NULL, *nl = NULL;
	json_error_t jerr;
	json_t *reply = NULL;

	*exit_code = CTL_EXIT_TIMEOUT;
	if (!line) {
		ctl_errorf("out of memory");
		*exit_code = CTL_EXIT_FAILED;
		return NULL;
	}
	line[len] = '\n';	/* json_dumps' NUL becomes the newline */
	len++;
	while (off < len || !nl) {
		struct pollfd pfd = {
			.fd = fd,
			.events = off < len ? POLLOUT : POLLIN,
		};
		uint64_t now = sl_time_mono_ns();
		ssize_t n;

		if (now >= deadline) {
			ctl_errorf("%s: no reply within %d ms", o->path,
				   o->timeout_ms);
			goto out;
		}
		n = poll(&pfd, 1, (int)((deadline - now) / SL_NS_PER_MS) + 1);
		if (n < 0 && errno == EINTR && ctl_interrupted)
			goto out;
		if (n <= 0)
			continue;
		if (off < len) {
			n = send(fd, line + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				ctl_errorf("%s: send: %s", o->path,
					   strerror(errno));
				*exit_code = CTL_EXIT_UNREACHABLE;
				goto out;
			}
			off += n > 0 ? (size_t)n : 0;
			continue;
		}
		if (got + 4096 > cap) {
			char *b;

			if (cap >= CTL_MAX_REPLY) {
				ctl_errorf("%s: reply longer than %d bytes",
					   o->path, CTL_MAX_REPLY);
				goto out;
			}
			cap = cap ? 2 * cap : 65536;
			b = realloc(buf, cap);
			if (!b) {
				ctl_errorf("out of memory");
				goto out;
			}
			buf = b;
		}
		n = recv(fd, buf + got, cap - got, 0);
		if (n == 0) {
			ctl_errorf("%s: the agent closed the connection "
				   "without a reply", o->path);
			*exit_code = CTL_EXIT_UNREACHABLE;
			goto out;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			ctl_errorf("%s: recv: %s", o->path, strerror(errno));
			*exit_code = CTL_EXIT_UNREACHABLE;
			goto out;
		}
		nl = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
	}
	reply = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
	if (!reply || !json_is_object(reply)) {
		ctl_errorf("%s: the reply is not a JSON object: %s", o->path,
			   reply ? "wrong type" : jerr.text);
		json_decref(reply);
		reply = NULL;
		goto out;
	}
	*exit_code = CTL_EXIT_OK;
out:
	free(line);
	free(buf);
	return reply;
}

/* The reply's "ok" is true; else print its "error". */
static bool
ctl_reply_ok(const struct ctl_opts *o, json_t *reply)
{
	const char *msg;

	if (json_is_true(json_object_get(reply, "ok")))
		return true;
	msg = json_string_value(json_object_get(reply, "error"));
	ctl_errorf("%s: %s", o->cmd, msg ? msg : "the agent refused (no "
		   "error text)");
	return false;
}

/* Connect, send one request, return the ok reply or NULL (exit set). */
static json_t *
ctl_call(struct ctl_opts *o, json_t *req, int *exit_code)
{
	json_t *reply;
	int fd = ctl_connect(o);

	if (fd < 0) {
		*exit_code = -fd;
		return NULL;
	}
	reply = ctl_call_fd(o, fd, req, exit_code);
	close(fd);
	if (reply && !ctl_reply_ok(o, reply)) {
		json_decref(reply);
		*exit_code = CTL_EXIT_FAILED;
		return NULL;
	}
	return reply;
}

/* ---- stats ------------------------------------------------------------- */

struct ctl_row {
	const char *name, *value, *kind;
};

/* "Name: value  kind" lines, names and values aligned. */
static void
ctl_print_rows(FILE *out, const struct ctl_row *rows, size_t n)
{
	size_t i, wn = 0, wv = 0;

	for (i = 0; i < n; i++) {
		wn = SL_MAX(wn, strlen(rows[i].name) + 1);
		if (rows[i].kind && rows[i].kind[0])
			wv = SL_MAX(wv, strlen(rows[i].value));
	}
	for (i = 0; i < n; i++) {
		if (rows[i].kind && rows[i].kind[0])
			fprintf(out, "%s:%*s %*s  %s\n", rows[i].name,
				(int)(wn - strlen(rows[i].name) - 1), "",
				(int)wv, rows[i].value, rows[i].kind);
		else
			fprintf(out, "%s:%*s %s\n", rows[i].name,
				(int)(wn - strlen(rows[i].name) - 1), "",
				rows[i].value);
	}
}

/* Rows of one section ("flume" or "sluice") of a component. */
static size_t
ctl_collect_rows(json_t *rows, const char *section, struct ctl_row *v)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(rows, i, r) {
		const char *sec = json_string_value(json_array_get(r, 3));

		if (!sec || strcmp(sec, section) != 0)
			continue;
		v[n].name = json_string_value(json_array_get(r, 0));
		v[n].value = json_string_value(json_array_get(r, 1));
		v[n].kind = json_string_value(json_array_get(r, 2));
		if (v[n].name && v[n].value)
			n++;
	}
	return n;
}

static int
ctl_print_table(FILE *out, json_t *reply)
{
	json_t *agent = json_object_get(reply, "agent");
	json_t *comps = json_object_get(reply, "components");
	struct ctl_row *v;
	size_t i, n = 0, max = 16;
	const char *key;
	json_t *c, *val;

	json_array_foreach(comps, i, c)
		max = SL_MAX(max, json_array_size(json_object_get(c, "rows")));
	max = SL_MAX(max, json_object_size(agent));
	v = calloc(max, sizeof(*v));
	if (!v)
		return -ENOMEM;
	fprintf(out, "# AGENT %s\n",
		json_string_value(json_object_get(agent, "Name")) ?: "?");
	json_object_foreach(agent, key, val) {
		if (strcmp(key, "Type") == 0 || !json_is_string(val))
			continue;
		v[n].name = key;
		v[n].value = json_string_value(val);
		v[n].kind = strcmp(key, "UptimeMillis") == 0 ? "gauge" : NULL;
		n++;
	}
	ctl_print_rows(out, v, n);
	json_array_foreach(comps, i, c) {
		json_t *rows = json_object_get(c, "rows");

		fprintf(out, "\n# %s %s (%s)\n",
			json_string_value(json_object_get(c, "kind")) ?: "?",
			json_string_value(json_object_get(c, "name")) ?: "?",
			json_string_value(json_object_get(c, "type")) ?: "?");
		n = ctl_collect_rows(rows, "flume", v);
		ctl_print_rows(out, v, n);
		n = ctl_collect_rows(rows, "sluice", v);
		if (n) {
			fputs("# sluice\n", out);
			ctl_print_rows(out, v, n);
		}
	}
	free(v);
	return 0;
}

/* Sleep @s seconds in short steps; false if Ctrl-C came. */
static bool
ctl_watch_sleep(int s)
{
	uint64_t end = sl_time_mono_ns() + (uint64_t)s * SL_NS_PER_SEC;

	while (!ctl_interrupted && sl_time_mono_ns() < end)
		sl_time_sleep_ns(50 * SL_NS_PER_MS);
	return !ctl_interrupted;
}

static int
ctl_cmd_stats(struct ctl_opts *o)
{
	json_t *req = json_pack("{s:s, s:s}", "cmd", "stats", "format",
				o->json ? "flume" : "table");
	bool tty = isatty(STDOUT_FILENO);
	struct sigaction sa = { .sa_handler = ctl_on_sigint };
	long round;
	int rc = CTL_EXIT_OK;

	if (o->watch_s) {
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
	}
	for (round = 0; !ctl_interrupted; round++) {
		json_t *reply = ctl_call(o, req, &rc);
		char *text = NULL;
		size_t len = 0;
		FILE *mem;

		if (!reply)
			break;
		mem = open_memstream(&text, &len);
		if (!mem) {
			json_decref(reply);
			rc = CTL_EXIT_FAILED;
			break;
		}
		if (o->json)
			json_dumpf(json_object_get(reply, "stats"), mem,
				   o->watch_s ? JSON_COMPACT : JSON_INDENT(2));
		else if (ctl_print_table(mem, reply) < 0)
			rc = CTL_EXIT_FAILED;
		if (o->json)
			fputc('\n', mem);
		fclose(mem);
		json_decref(reply);
		/* In place on a terminal; one block after another otherwise. */
		if (o->watch_s && tty && !o->json)
			fputs("\033[H\033[2J", stdout);
		if (o->watch_s && !o->json) {
			time_t now = time(NULL);
			char when[32];

			strftime(when, sizeof(when), "%F %T",
				 localtime(&now));
			printf("Every %ds: sluice ctl stats (%s)   %s\n\n",
			       o->watch_s, o->path, when);
		}
		fwrite(text, 1, len, stdout);
		if (o->watch_s && !o->json && !tty)
			fputc('\n', stdout);
		fflush(stdout);
		free(text);
		if (rc != CTL_EXIT_OK || !o->watch_s ||
		    (o->count && round + 1 >= o->count))
			break;
		if (!ctl_watch_sleep(o->watch_s))
			break;
	}
	json_decref(req);
	/* Ctrl-C is how a --watch ends, not an error. */
	return o->watch_s && ctl_interrupted ? CTL_EXIT_OK : rc;
}

/* ---- components, stop -------------------------------------------------- */

static int
ctl_cmd_components(struct ctl_opts *o)
{
	json_t *req = json_pack("{s:s}", "cmd", "components");
	json_t *reply, *list, *c;
	int rc;
	size_t i;

	reply = ctl_call(o, req, &rc);
	json_decref(req);
	if (!reply)
		return rc;
	list = json_object_get(reply, "components");
	if (o->json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		printf("# AGENT %s\n",
		       json_string_value(json_object_get(reply, "agent")) ?:
		       "?");
		json_array_foreach(list, i, c) {
			const char *ch = json_string_value(
				json_object_get(c, "channel"));

			printf("%-8s %-12s %s%s%s\n",
			       json_string_value(json_object_get(c, "kind")),
			       json_string_value(json_object_get(c, "name")),
			       json_string_value(json_object_get(c, "type")),
			       ch ? " <- " : "", ch ? ch : "");
		}
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}

/*
 * Ask for a stop, then keep the connection open: the agent closes it when
 * it has drained and removed its socket, just before it exits.
 */
static int
ctl_cmd_stop(struct ctl_opts *o)
{
	json_t *req = json_pack("{s:s}", "cmd", "stop");
	uint64_t deadline;
	json_t *reply;
	struct stat st;
	int fd, rc;

	fd = ctl_connect(o);
	if (fd < 0) {
		json_decref(req);
		return -fd;
	}
	reply = ctl_call_fd(o, fd, req, &rc);
	json_decref(req);
	if (!reply || !ctl_reply_ok(o, reply)) {
		json_decref(reply);
		close(fd);
		return reply ? CTL_EXIT_FAILED : rc;
	}
	json_decref(reply);
	printf("stopping the agent at %s: waiting while its sinks drain the "
	       "channels...\n", o->path);
	fflush(stdout);
	deadline = sl_time_mono_ns() + (uint64_t)o->wait_s * SL_NS_PER_SEC;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char buf[256];
		bool closed = false;

		if (poll(&pfd, 1, 100) > 0) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			closed = n == 0 || (n < 0 && errno != EAGAIN &&
					    errno != EINTR);
		}
		if (lstat(o->path, &st) < 0 && errno == ENOENT) {
			printf("stopped\n");
			rc = CTL_EXIT_OK;
			break;
		}
		if (closed) {
			ctl_errorf("the agent closed the connection but %s is "
				   "still there: it may have died without "
				   "cleaning up", o->path);
			rc = CTL_EXIT_FAILED;
			break;
		}
		if (sl_time_mono_ns() >= deadline) {
			ctl_errorf("the agent is still stopping after %d s "
				   "(%s is still there)", o->wait_s, o->path);
			rc = CTL_EXIT_FAILED;
			break;
		}
	}
	close(fd);
	return rc;
}

/* ---- main -------------------------------------------------------------- */

static int
ctl_parse_seconds(const char *opt, const char *arg, int min, int *out)
{
	int64_t v;

	if (sl_parse_int(arg, min, 86400, &v)) {
		ctl_errorf("%s: expected whole seconds, %d..86400 (got '%s')",
			   opt, min, arg);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

int
sl_ctl_main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_WATCH, OPT_COUNT, OPT_WAIT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "watch", required_argument, NULL, OPT_WATCH },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = { .timeout_ms = 10000, .wait_s = 120 };
	bool watch_set = false, wait_set = false;
	int64_t v;
	int c, s;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 't':
			if (ctl_parse_seconds("--timeout", optarg, 1, &s) < 0)
				return CTL_EXIT_USAGE;
			o.timeout_ms = s * 1000;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_WATCH:
			if (ctl_parse_seconds("--watch", optarg, 1,
					      &o.watch_s) < 0)
				return CTL_EXIT_USAGE;
			watch_set = true;
			break;
		case OPT_COUNT:
			if (sl_parse_int(optarg, 1, 1000000000, &v)) {
				ctl_errorf("--count: expected 1..1000000000");
				return CTL_EXIT_USAGE;
			}
			o.count = (long)v;
			break;
		case OPT_WAIT:
			if (ctl_parse_seconds("--wait", optarg, 0,
					      &o.wait_s) < 0)
				return CTL_EXIT_USAGE;
			wait_set = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_errorf("no command (stats, components, stop)");
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		ctl_errorf("unexpected argument '%s'", argv[optind + 1]);
		return CTL_EXIT_USAGE;
	}
	o.cmd = argv[optind];
	if (o.socket && o.name) {
		ctl_errorf("--socket and --name are exclusive");
		return CTL_EXIT_USAGE;
	}
	if (!o.socket && !o.name)
		o.name = "agent1";
	if (strcmp(o.cmd, "stats") != 0 && (watch_set || o.count)) {
		ctl_errorf("--watch and --count go with 'stats'");
		return CTL_EXIT_USAGE;
	}
	if (o.count && !watch_set) {
		ctl_errorf("--count goes with --watch");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(o.cmd, "stop") != 0 && wait_set) {
		ctl_errorf("--wait goes with 'stop'");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(o.cmd, "stats") == 0)
		return ctl_cmd_stats(&o);
	if (strcmp(o.cmd, "components") == 0)
		return ctl_cmd_components(&o);
	if (strcmp(o.cmd, "stop") == 0) {
		if (o.json) {
			ctl_errorf("--json goes with 'stats' and "
				   "'components'");
			return CTL_EXIT_USAGE;
		}
		return ctl_cmd_stop(&o);
	}
	ctl_errorf("unknown command '%s' (stats, components, stop)", o.cmd);
	return CTL_EXIT_USAGE;
}
