/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket: a Unix stream socket (mode 0600, never through a
 * symlink) serving newline-delimited JSON requests ({"cmd":"stats"},
 * "components", "stop") to many clients with poll() and bounded per-client
 * buffers, and the agent's stats in Flume's JSON monitoring shape.
 * Control (main) thread only; counters are read with relaxed loads.
 *
 * Protocol, one JSON object per line each way, answered in order:
 *   {"cmd":"stats"}                 -> {"ok":true,"stats":{Flume shape}}
 *   {"cmd":"stats","format":"table"} -> {"ok":true,"agent":{...},
 *        "components":[{"kind","name","type","rows":[[name,value,
 *        "counter"|"gauge"|"info","flume"|"sluice"],...]}]}
 *   {"cmd":"components"}            -> {"ok":true,"agent":NAME,
 *        "components":[{"kind","name","type"[,"channel"]}]}
 *   {"cmd":"stop"}                  -> {"ok":true,"stopping":true}; the
 *        connection is closed when the agent has drained and exits
 * An "id" in a request is echoed in its reply. Any problem answers
 * {"ok":false,"error":"..."}: malformed JSON, not an object, no "cmd",
 * unknown command or format, an empty line, more than CTL_MAX_REQUEST
 * bytes without a newline, more than CTL_MAX_CLIENTS clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sl_control.h"
#include "sl_log.h"
#include "sl_time.h"

#define CTL_MAX_CLIENTS		64
#define CTL_MAX_REQUEST		(64 * 1024)	/* bytes before the '\n' */
#define CTL_OUT_HIGH		(64 * 1024)	/* pause requests above this */
#define CTL_OUT_MAX		(16 * 1024 * 1024)	/* one reply, at most */
#define CTL_BACKLOG		32
#define CTL_RUN_DIR		"/run/sluice"

struct ctl_client {
	int fd;
	char *in;		/* CTL_MAX_REQUEST bytes */
	size_t in_len;
	bool discarding;	/* skipping an oversized request to its '\n' */
	bool eof;		/* the client shut down its sending side */
	bool broken;		/* read/write error: close now */
	char *out;
	size_t out_len, out_off, out_cap;
};

struct sl_ctl_server {
	struct sl_agent *ag;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;		/* identity of the socket we bound, so close */
	ino_t ino;		/* never unlinks another agent's socket */
	struct ctl_client clients[CTL_MAX_CLIENTS];
	unsigned nb_clients;
	uint64_t nb_refused;	/* connections over CTL_MAX_CLIENTS */
};

/* ---- socket paths ------------------------------------------------------ */

/* /run/sluice exists (created if we may) as a real directory. */
static bool
ctl_run_dir_ready(void)
{
	struct stat st;

	if (mkdir(CTL_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return false;
	return lstat(CTL_RUN_DIR, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == 0;
}

int
sl_ctl_path_candidate(const char *agent, unsigned i, char *buf, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (!agent[0] || strchr(agent, '/'))
		return -EINVAL;
	switch (i) {
	case 0:
		n = snprintf(buf, size, CTL_RUN_DIR "/%s.sock", agent);
		break;
	case 1:
		if (!xdg || xdg[0] != '/')
			return -ENOENT;
		n = snprintf(buf, size, "%s/sluice-%s.sock", xdg, agent);
		break;
	case 2:
		n = snprintf(buf, size, "/tmp/sluice-%s.sock", agent);
		break;
	default:
		return -ENOENT;
	}
	return n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int
sl_ctl_default_path(const char *agent, char *buf, size_t size)
{
	unsigned i = 2;

	if (geteuid() == 0 && ctl_run_dir_ready())
		i = 0;
	else if (sl_ctl_path_candidate(agent, 1, buf, size) != -ENOENT)
		i = 1;
	return sl_ctl_path_candidate(agent, i, buf, size);
}

/*
 * Is something serving @path? 0: yes; -ECONNREFUSED: a stale socket that
 * nobody listens on; another -errno: cannot tell.
 */
static int
ctl_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* EAGAIN: a listener whose backlog is full is still a listener. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EAGAIN && errno != EINPROGRESS)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * Make @path free for bind(): nothing there, or a stale socket of a dead
 * agent (removed). A live agent, a symlink or any other file is refused.
 * Design note: neither lstat(), unlink() nor bind() follows a final
 * symlink, so the only race left is two agents starting on one path at
 * the same instant; bind() then fails for the loser with EADDRINUSE.
 */
static int
ctl_path_clear(const char *path, struct sl_err *err)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return sl_err_set(err, errno, "control socket %s: %s", path,
				  strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return sl_err_set(err, ELOOP, "control socket %s: is a "
				  "symbolic link; refusing to follow or "
				  "replace it", path);
	if (!S_ISSOCK(st.st_mode))
		return sl_err_set(err, EEXIST, "control socket %s: exists and "
				  "is not a socket; refusing to replace it",
				  path);
	rc = ctl_probe(path);
	if (rc == 0)
		return sl_err_set(err, EADDRINUSE, "control socket %s: "
				  "another agent is serving it (stop it, or "
				  "give this agent its own --control-socket)",
				  path);
	if (rc != -ECONNREFUSED)
		return sl_err_set(err, -rc, "control socket %s: cannot tell "
				  "whether it is in use: %s", path,
				  strerror(-rc));
	if (unlink(path) < 0 && errno != ENOENT)
		return sl_err_set(err, errno, "control socket %s: cannot "
				  "remove the stale socket: %s", path,
				  strerror(errno));
	sl_log(SL_INFO, "control socket %s: replaced a stale socket", path);
	return 0;
}

struct sl_ctl_server *
sl_ctl_server_open(struct sl_agent *ag, const char *path, struct sl_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sl_ctl_server *srv;
	struct stat st;
	mode_t old_mask;
	int rc;

	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		sl_err_set(err, ENAMETOOLONG, "control socket '%s': a socket "
			   "path must be 1..%zu bytes", path,
			   sizeof(sa.sun_path) - 1);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		sl_err_set(err, ENOMEM, "control socket %s: out of memory",
			   path);
		return NULL;
	}
	srv->ag = ag;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (ctl_path_clear(path, err) < 0)
		goto err_free;
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (srv->fd < 0) {
		sl_err_set(err, errno, "control socket %s: socket: %s", path,
			   strerror(errno));
		goto err_free;
	}
	/*
	 * The socket node is born 0600: a chmod() after bind() would leave a
	 * window and would follow a symlink swapped in meanwhile. umask is
	 * per process, but no other thread of ours runs yet (the agent opens
	 * the socket before starting any component).
	 */
	old_mask = umask(0177);
	rc = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc < 0) {
		if (errno == EADDRINUSE)
			sl_err_set(err, EADDRINUSE, "control socket %s: "
				   "the path was taken while starting "
				   "(another agent starting on it?)", path);
		else
			sl_err_set(err, errno, "control socket %s: bind: %s",
				   path, strerror(errno));
		goto err_close;
	}
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    (st.st_mode & 0777) != 0600) {
		sl_err_set(err, EPERM, "control socket %s: not a mode 0600 "
			   "socket after bind", path);
		goto err_close;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	if (listen(srv->fd, CTL_BACKLOG) < 0) {
		sl_err_set(err, errno, "control socket %s: listen: %s", path,
			   strerror(errno));
		goto err_unlink;
	}
	return srv;

err_unlink:
	unlink(path);
err_close:
	close(srv->fd);
err_free:
	free(srv);
	return NULL;
}

/* ---- clients ----------------------------------------------------------- */

static void
ctl_client_free(struct ctl_client *cl)
{
	close(cl->fd);
	free(cl->in);
	free(cl->out);
}

/* Append one reply line; a reply over CTL_OUT_MAX becomes an error. */
static void
ctl_client_reply(struct ctl_client *cl, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len = text ? strlen(text) : 0;
	size_t need;

	if (!text || len + 1 > CTL_OUT_MAX) {
		free(text);
		text = strdup(text ? "{\"ok\":false,\"error\":\"reply too "
			      "large\"}" : "{\"ok\":false,\"error\":\"out of "
			      "memory\"}");
		if (!text) {
			cl->broken = true;
			return;
		}
		len = strlen(text);
	}
	if (cl->out_off == cl->out_len)
		cl->out_off = cl->out_len = 0;
	need = cl->out_len + len + 1;
	if (need > cl->out_cap) {
		size_t cap = SL_MAX(need, 2 * cl->out_cap);
		char *out = realloc(cl->out, cap);

		if (!out) {
			free(text);
			cl->broken = true;
			return;
		}
		cl->out = out;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, text, len);
	cl->out[cl->out_len + len] = '\n';
	cl->out_len += len + 1;
	free(text);
}

static void
ctl_client_error(struct ctl_client *cl, json_t *id, const char *fmt, ...)
	SL_PRINTF(3, 4);

static void
ctl_client_error(struct ctl_client *cl, json_t *id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *reply;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	if (reply && id)
		json_object_set(reply, "id", id);
	if (reply)
		ctl_client_reply(cl, reply);
	else
		cl->broken = true;
	json_decref(reply);
}

static void
ctl_client_flush(struct ctl_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off,
				 cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->broken = true;
			return;
		}
		cl->out_off += (size_t)n;
	}
	cl->out_off = cl->out_len = 0;
}

/* ---- stats ------------------------------------------------------------- */

/*
 * Java's Double.toString, which Flume's JSON reporting uses for
 * ChannelFillPercentage: the shortest digits that read back to the same
 * double, positional for 1e-3 <= |v| < 1e7 ("50.0"), else "1.0E-4".
 */
static void
ctl_fmt_double(double v, char *buf, size_t size)
{
	char tmp[40], digits[24];
	const char *sign = signbit(v) ? "-" : "";
	size_t nd = 0, i;
	int p, exp10;
	char *e;

	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, "%sInfinity", sign);
		return;
	}
	if (v == 0) {
		snprintf(buf, size, "%s0.0", sign);
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, fabs(v));
		if (strtod(tmp, NULL) == fabs(v))
			break;
	}
	e = strchr(tmp, 'e');
	exp10 = atoi(e + 1);
	for (i = 0; tmp + i < e; i++)
		if (tmp[i] != '.')
			digits[nd++] = tmp[i];
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (fabs(v) >= 1e-3 && fabs(v) < 1e7) {
		char out[48];
		size_t o = 0;
		int pos;

		if (exp10 < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (pos = -1; pos > exp10; pos--)
				out[o++] = '0';
			memcpy(out + o, digits, nd);
			o += nd;
		} else {
			for (pos = 0; pos <= exp10; pos++)
				out[o++] = (size_t)pos < nd ? digits[pos] : '0';
			out[o++] = '.';
			if ((size_t)exp10 + 1 < nd) {
				memcpy(out + o, digits + exp10 + 1,
				       nd - (size_t)exp10 - 1);
				o += nd - (size_t)exp10 - 1;
			} else {
				out[o++] = '0';
			}
		}
		out[o] = '\0';
		snprintf(buf, size, "%s%s", sign, out);
	} else {
		snprintf(buf, size, "%s%c.%s%sE%d", sign, digits[0],
			 nd > 1 ? digits + 1 : "0", "", exp10);
	}
}

/*
 * A stats sink that fills a component's Flume object ("Name": "value",
 * sluice's own under "sluice") and, for `ctl stats` tables, a list of
 * [name, value, kind, section] rows keeping the counter/gauge kind.
 */
struct ctl_stats_sink {
	struct sl_stats_sink base;
	json_t *flume;
	json_t *sluice;
	json_t *rows;		/* NULL: Flume shape only */
};

static void
ctl_stats_put(struct ctl_stats_sink *s, const char *name, const char *v,
	      const char *kind, enum sl_stat_section sec)
{
	json_object_set_new(sec == SL_STAT_FLUME ? s->flume : s->sluice,
			    name, json_string(v));
	if (s->rows)
		json_array_append_new(s->rows, json_pack("[s,s,s,s]", name, v,
				      kind, sec == SL_STAT_FLUME ? "flume" :
				      "sluice"));
}

static void
ctl_stats_put_u64(struct sl_stats_sink *out, const char *name, uint64_t v,
		  enum sl_stat_kind kind, enum sl_stat_section sec)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	ctl_stats_put((struct ctl_stats_sink *)out, name, buf,
		      kind == SL_STAT_GAUGE ? "gauge" : "counter", sec);
}

static void
ctl_stats_put_str(struct sl_stats_sink *out, const char *name, const char *v,
		  enum sl_stat_section sec)
{
	ctl_stats_put((struct ctl_stats_sink *)out, name, v, "info", sec);
}

static void
ctl_stats_put_f64(struct sl_stats_sink *out, const char *name, double v,
		  enum sl_stat_section sec)
{
	char buf[48];

	ctl_fmt_double(v, buf, sizeof(buf));
	ctl_stats_put((struct ctl_stats_sink *)out, name, buf, "gauge", sec);
}

static void
ctl_comp_emit(const struct sl_agent_comp *c, struct sl_stats_sink *out)
{
	switch (c->kind) {
	case SL_COMP_SOURCE:
		sl_source_stats_emit(c->src, out);
		break;
	case SL_COMP_CHANNEL:
		sl_channel_stats_emit(c->ch, out);
		break;
	case SL_COMP_SINK:
		sl_sink_stats_emit(c->sk, out);
		break;
	}
}

/* One component's Flume object; its table rows go to @rows if not NULL. */
static json_t *
ctl_comp_stats(const struct sl_agent *ag, const struct sl_agent_comp *c,
	       uint64_t start_ms, json_t *rows)
{
	struct ctl_stats_sink s = {
		.base = {
			.put_u64 = ctl_stats_put_u64,
			.put_str = ctl_stats_put_str,
			.put_f64 = ctl_stats_put_f64,
		},
		.flume = json_object(),
		.sluice = json_object(),
		.rows = rows,
	};
	char buf[24];

	json_object_set_new(s.flume, "Type",
			    json_string(sl_comp_kind_upper(c->kind)));
	ctl_comp_emit(c, &s.base);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)start_ms);
	json_object_set_new(s.flume, "StartTime", json_string(buf));
	json_object_set_new(s.flume, "StopTime", json_string("0"));
	json_object_set_new(s.sluice, "type", json_string(c->type));
	json_object_set_new(s.flume, "sluice", s.sluice);
	return s.flume;
}

/* The dataplane's counters (per lcore, per port), all sluice's own. */
static json_t *
ctl_dataplane_stats(const struct sl_dataplane *dp, json_t *rows)
{
	struct ctl_stats_sink s = {
		.base = {
			.put_u64 = ctl_stats_put_u64,
			.put_str = ctl_stats_put_str,
			.put_f64 = ctl_stats_put_f64,
		},
		.flume = json_object(),
		.sluice = json_object(),
		.rows = rows,
	};

	json_object_set_new(s.flume, "Type", json_string("DATAPLANE"));
	sl_dataplane_stats(dp, &s.base);
	json_object_set_new(s.sluice, "type", json_string("dpdk"));
	json_object_set_new(s.flume, "sluice", s.sluice);
	return s.flume;
}

/* The "AGENT" entry: name, version, pid, times, socket, info keys. */
static json_t *
ctl_agent_stats(const struct sl_agent *ag, uint64_t start_ms)
{
	json_t *o = json_object();
	const char *key, *val;
	char buf[24];
	size_t i;

	json_object_set_new(o, "Type", json_string("AGENT"));
	json_object_set_new(o, "Name", json_string(sl_agent_name(ag)));
	json_object_set_new(o, "Version", json_string(SL_VERSION));
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	json_object_set_new(o, "Pid", json_string(buf));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)start_ms);
	json_object_set_new(o, "StartTime", json_string(buf));
	snprintf(buf, sizeof(buf), "%llu",
		 (unsigned long long)sl_agent_uptime_ms(ag));
	json_object_set_new(o, "UptimeMillis", json_string(buf));
	json_object_set_new(o, "ControlSocket",
			    json_string(sl_agent_ctl_path(ag)));
	for (i = 0; (key = sl_agent_info_at(ag, i, &val)); i++)
		json_object_set_new(o, key, json_string(val ? val : ""));
	return o;
}

static uint64_t
ctl_start_ms(const struct sl_agent *ag)
{
	return sl_time_wall_ms() - sl_agent_uptime_ms(ag);
}

json_t *
sl_agent_stats_json(const struct sl_agent *ag)
{
	uint64_t start_ms = ctl_start_ms(ag);
	json_t *root = json_object();
	char key[256];
	size_t i;

	if (!root)
		return NULL;
	json_object_set_new(root, "AGENT", ctl_agent_stats(ag, start_ms));
	for (i = 0; i < sl_agent_nb_comps(ag); i++) {
		const struct sl_agent_comp *c = sl_agent_comp(ag, i);

		snprintf(key, sizeof(key), "%s.%s",
			 sl_comp_kind_upper(c->kind), c->name);
		json_object_set_new(root, key,
				    ctl_comp_stats(ag, c, start_ms, NULL));
	}
	if (sl_agent_dataplane(ag))
		json_object_set_new(root, "DATAPLANE.dpdk",
				    ctl_dataplane_stats(sl_agent_dataplane(ag),
							NULL));
	return root;
}

/*
 * The table form `sluice ctl stats` prints: the agent, then per component
 * {"kind", "name", "type", "rows": [[name, value, kind, section], ...]}
 * in build order, Flume's names before sluice's own.
 */
static json_t *
ctl_stats_table(const struct sl_agent *ag)
{
	uint64_t start_ms = ctl_start_ms(ag);
	json_t *comps = json_array();
	size_t i;

	for (i = 0; i < sl_agent_nb_comps(ag); i++) {
		const struct sl_agent_comp *c = sl_agent_comp(ag, i);
		json_t *rows = json_array();

		json_decref(ctl_comp_stats(ag, c, start_ms, rows));
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:o}",
				      "kind", sl_comp_kind_upper(c->kind),
				      "name", c->name, "type", c->type,
				      "rows", rows));
	}
	if (sl_agent_dataplane(ag)) {
		json_t *rows = json_array();

		json_decref(ctl_dataplane_stats(sl_agent_dataplane(ag), rows));
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:o}",
				      "kind", "DATAPLANE", "name", "dpdk",
				      "type", "dpdk", "rows", rows));
	}
	return json_pack("{s:b, s:o, s:o}", "ok", 1,
			 "agent", ctl_agent_stats(ag, start_ms),
			 "components", comps);
}

static json_t *
ctl_components(const struct sl_agent *ag)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; i < sl_agent_nb_comps(ag); i++) {
		const struct sl_agent_comp *c = sl_agent_comp(ag, i);
		json_t *o = json_pack("{s:s, s:s, s:s}",
				      "kind", sl_comp_kind_upper(c->kind),
				      "name", c->name, "type", c->type);

		if (c->kind == SL_COMP_SINK && c->sk->cons)
			json_object_set_new(o, "channel",
					    json_string(c->sk->cons->ch->name));
		json_array_append_new(list, o);
	}
	return json_pack("{s:b, s:s, s:o}", "ok", 1,
			 "agent", sl_agent_name(ag), "components", list);
}

/* ---- requests ---------------------------------------------------------- */

static void
ctl_handle_request(struct sl_ctl_server *srv, struct ctl_client *cl,
		   const char *line, size_t len)
{
	json_t *req, *id = NULL, *reply = NULL;
	const char *cmd, *format = NULL;
	json_error_t jerr;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
		       line[len - 1] == '\t'))
		len--;
	if (len == 0) {
		ctl_client_error(cl, NULL, "empty request; send one JSON "
				 "object per line, e.g. {\"cmd\":\"stats\"}");
		return;
	}
	req = json_loadb(line, len, 0, &jerr);
	if (!req) {
		ctl_client_error(cl, NULL, "malformed request: %s (column %d);"
				 " send one JSON object per line, e.g. "
				 "{\"cmd\":\"stats\"}", jerr.text,
				 jerr.column);
		return;
	}
	if (!json_is_object(req)) {
		ctl_client_error(cl, NULL, "malformed request: not a JSON "
				 "object; e.g. {\"cmd\":\"stats\"}");
		goto out;
	}
	id = json_object_get(req, "id");
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd) {
		ctl_client_error(cl, id, "malformed request: no \"cmd\" "
				 "string; e.g. {\"cmd\":\"stats\"}");
		goto out;
	}
	if (strcmp(cmd, "stats") == 0) {
		json_t *f = json_object_get(req, "format");

		format = f ? json_string_value(f) : "flume";
		if (format && strcmp(format, "flume") == 0)
			reply = json_pack("{s:b, s:o}", "ok", 1, "stats",
					  sl_agent_stats_json(srv->ag));
		else if (format && strcmp(format, "table") == 0)
			reply = ctl_stats_table(srv->ag);
		else {
			ctl_client_error(cl, id, "stats: unknown format "
					 "(known: flume, table)");
			goto out;
		}
	} else if (strcmp(cmd, "components") == 0) {
		reply = ctl_components(srv->ag);
	} else if (strcmp(cmd, "stop") == 0) {
		sl_log(SL_INFO, "agent %s: stop requested on the control "
		       "socket", sl_agent_name(srv->ag));
		sl_agent_request_stop(srv->ag);
		reply = json_pack("{s:b, s:b}", "ok", 1, "stopping", 1);
	} else {
		ctl_client_error(cl, id, "unknown command '%.64s' (known: "
				 "stats, components, stop)", cmd);
		goto out;
	}
	if (!reply) {
		ctl_client_error(cl, id, "%s: out of memory", cmd);
		goto out;
	}
	if (id)
		json_object_set(reply, "id", id);
	ctl_client_reply(cl, reply);
	json_decref(reply);
out:
	json_decref(req);
}

/*
 * Handle the complete lines in the input buffer while the output is below
 * CTL_OUT_HIGH (a client that does not read its replies stops being
 * served, not buffered without bound). A buffer full without a newline is
 * an oversized request: one error reply, then its bytes are skipped up to
 * the next newline.
 */
static void
ctl_client_process(struct sl_ctl_server *srv, struct ctl_client *cl)
{
	size_t start = 0;

	while (cl->out_len - cl->out_off < CTL_OUT_HIGH && !cl->broken) {
		char *nl = memchr(cl->in + start, '\n', cl->in_len - start);

		if (!nl)
			break;
		if (cl->discarding)
			cl->discarding = false;
		else
			ctl_handle_request(srv, cl, cl->in + start,
					   (size_t)(nl - (cl->in + start)));
		start = (size_t)(nl - cl->in) + 1;
	}
	if (start) {
		memmove(cl->in, cl->in + start, cl->in_len - start);
		cl->in_len -= start;
	}
	if (cl->in_len == CTL_MAX_REQUEST &&
	    !memchr(cl->in, '\n', cl->in_len)) {
		if (!cl->discarding)
			ctl_client_error(cl, NULL, "request too long: more "
					 "than %d bytes without a newline",
					 CTL_MAX_REQUEST);
		cl->discarding = true;
		cl->in_len = 0;
	}
	/* At EOF an unterminated last request is still answered. */
	if (cl->eof && cl->in_len && cl->out_len == cl->out_off &&
	    !memchr(cl->in, '\n', cl->in_len)) {
		if (!cl->discarding)
			ctl_handle_request(srv, cl, cl->in, cl->in_len);
		cl->in_len = 0;
	}
}

static void
ctl_client_read(struct ctl_client *cl)
{
	ssize_t n;

	do {
		n = recv(cl->fd, cl->in + cl->in_len,
			 CTL_MAX_REQUEST - cl->in_len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		cl->in_len += (size_t)n;
	else if (n == 0)
		cl->eof = true;
	else if (errno != EAGAIN && errno != EWOULDBLOCK)
		cl->broken = true;
}

static void
ctl_accept(struct sl_ctl_server *srv)
{
	struct ctl_client *cl;
	int fd;

	for (;;) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				sl_log(SL_WARN, "control socket %s: accept: "
				       "%s", srv->path, strerror(errno));
			return;
		}
		if (srv->nb_clients == CTL_MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":"
				"\"too many control clients\"}\n";

			if (send(fd, busy, sizeof(busy) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				sl_log(SL_DEBUG, "control socket: refused a "
				       "client: %s", strerror(errno));
			if (srv->nb_refused++ == 0)
				sl_log(SL_WARN, "control socket %s: more than "
				       "%d clients; refusing the extra ones",
				       srv->path, CTL_MAX_CLIENTS);
			close(fd);
			continue;
		}
		cl = &srv->clients[srv->nb_clients];
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->in = malloc(CTL_MAX_REQUEST);
		if (!cl->in) {
			close(fd);
			continue;
		}
		srv->nb_clients++;
	}
}

int
sl_ctl_server_poll(struct sl_ctl_server *srv, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 1];
	unsigned i, n = 0;

	pfd[n++] = (struct pollfd){ .fd = srv->fd, .events = POLLIN };
	for (i = 0; i < srv->nb_clients; i++) {
		struct ctl_client *cl = &srv->clients[i];
		short ev = 0;

		if (!cl->eof && cl->out_len - cl->out_off < CTL_OUT_HIGH)
			ev |= POLLIN;
		if (cl->out_len > cl->out_off)
			ev |= POLLOUT;
		pfd[n++] = (struct pollfd){ .fd = cl->fd, .events = ev };
	}
	if (poll(pfd, n, timeout_ms) < 0)
		return -errno;
	/*
	 * Backwards, so removing client i by moving the last one into its
	 * slot only moves a client already served in this turn.
	 */
	for (i = srv->nb_clients; i-- > 0;) {
		struct ctl_client *cl = &srv->clients[i];
		short rev = pfd[i + 1].revents;

		if (rev & (POLLIN | POLLHUP | POLLERR) && !cl->eof &&
		    cl->out_len - cl->out_off < CTL_OUT_HIGH)
			ctl_client_read(cl);
		ctl_client_process(srv, cl);
		ctl_client_flush(cl);
		/* Replies may have unblocked more buffered requests. */
		ctl_client_process(srv, cl);
		ctl_client_flush(cl);
		if (cl->broken || (rev & POLLERR) ||
		    (cl->eof && cl->out_off == cl->out_len &&
		     cl->in_len == 0)) {
			ctl_client_free(cl);
			*cl = srv->clients[--srv->nb_clients];
		}
	}
	if (pfd[0].revents & POLLIN)
		ctl_accept(srv);
	return 0;
}

void
sl_ctl_server_close(struct sl_ctl_server *srv)
{
	struct stat st;
	unsigned i;

	if (!srv)
		return;
	/* Unlink first: a client that sees EOF finds the path gone. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
	    st.st_ino == srv->ino)
		unlink(srv->path);
	close(srv->fd);
	for (i = 0; i < srv->nb_clients; i++) {
		ctl_client_flush(&srv->clients[i]);
		ctl_client_free(&srv->clients[i]);
	}
	free(srv);
}
