/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded Kafka: librdkafka's mock cluster (a real Kafka protocol
 * server on 127.0.0.1 ports) for development, demos and tests.
 * `sluice kafka-mock` runs one in the foreground with a control socket
 * taking fault commands (broker down/up, RTT, pushed request errors,
 * partition leaders); `sluice agent --kafka-mock N` starts one inside the
 * agent and points every Kafka sink at it. Control thread; the cluster
 * runs on librdkafka's own thread.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sl_control.h"
#include "sl_log.h"

#define KM_MAX_BROKERS		16
#define KM_MAX_CLIENTS		16
#define KM_MAX_REQUEST		(64 * 1024)
#define KM_MAX_TOPICS		64
#define KM_MAX_PUSH		1000

struct sl_kafka_mock {
	rd_kafka_t *rk;			/* the handle the cluster hangs on */
	rd_kafka_mock_cluster_t *mc;
	int nb_brokers;
	char *bootstrap;
};

static void
km_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	sl_log(level <= 3 ? SL_WARN : SL_DEBUG, "kafka-mock: librdkafka %s: "
	       "%s", fac, buf);
}

struct sl_kafka_mock *
sl_kafka_mock_start(int nb_brokers, struct sl_err *err)
{
	struct sl_kafka_mock *km = calloc(1, sizeof(*km));
	rd_kafka_conf_t *conf;
	char errstr[256];

	if (!km) {
		sl_err_set(err, ENOMEM, "kafka-mock: out of memory");
		return NULL;
	}
	if (nb_brokers < 1 || nb_brokers > KM_MAX_BROKERS) {
		sl_err_set(err, EINVAL, "kafka-mock: %d brokers: expected 1 to "
			   "%d", nb_brokers, KM_MAX_BROKERS);
		goto err_free;
	}
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, km_log_cb);
	/* This handle never connects anywhere: it only hosts the cluster. */
	rd_kafka_conf_set(conf, "log.connection.close", "false", errstr,
			  sizeof(errstr));
	km->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!km->rk) {
		rd_kafka_conf_destroy(conf);
		sl_err_set(err, EINVAL, "kafka-mock: librdkafka: %s", errstr);
		goto err_free;
	}
	km->mc = rd_kafka_mock_cluster_new(km->rk, nb_brokers);
	if (!km->mc) {
		sl_err_set(err, EIO, "kafka-mock: cannot start a mock cluster "
			   "of %d brokers (see the log)", nb_brokers);
		goto err_free;
	}
	km->nb_brokers = nb_brokers;
	km->bootstrap = strdup(rd_kafka_mock_cluster_bootstraps(km->mc));
	if (!km->bootstrap) {
		sl_err_set(err, ENOMEM, "kafka-mock: out of memory");
		goto err_free;
	}
	return km;

err_free:
	sl_kafka_mock_stop(km);
	return NULL;
}

const char *
sl_kafka_mock_bootstrap(const struct sl_kafka_mock *km)
{
	return km->bootstrap;
}

int
sl_kafka_mock_topic_create(struct sl_kafka_mock *km, const char *topic,
			   int partitions, struct sl_err *err)
{
	rd_kafka_resp_err_t e;

	if (partitions < 1)
		return sl_err_set(err, EINVAL, "kafka-mock: topic %s: %d "
				  "partitions", topic, partitions);
	e = rd_kafka_mock_topic_create(km->mc, topic, partitions,
				       SL_MIN(km->nb_brokers, 3));
	if (e)
		return sl_err_set(err, EINVAL, "kafka-mock: topic %s: %s",
				  topic, rd_kafka_err2str(e));
	return 0;
}

void
sl_kafka_mock_stop(struct sl_kafka_mock *km)
{
	if (!km)
		return;
	if (km->mc)
		rd_kafka_mock_cluster_destroy(km->mc);
	if (km->rk)
		rd_kafka_destroy(km->rk);
	free(km->bootstrap);
	free(km);
}

/*
 * --kafka-mock: every Kafka sink of @plan sends to the mock, and each
 * fixed topic exists with one partition, as the seed chapter creates
 * `mylog` (kafka-topics.sh --create --partitions 1).
 */
int
sl_kafka_mock_point_plan(struct sl_kafka_mock *km, struct sl_plan *plan,
			 struct sl_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < plan->nb_comps; i++) {
		struct sl_plan_comp *pc = &plan->comps[i];
		const char *topic;

		if (pc->kind != SL_COMP_SINK ||
		    pc->type->ops != &sl_kafka_sink_ops)
			continue;
		if (sl_kafka_sink_set_bootstrap(pc->settings, km->bootstrap))
			return sl_err_set(err, ENOMEM, "kafka-mock: out of "
					  "memory");
		topic = sl_kafka_sink_topic(pc->settings);
		if (topic) {
			rc = sl_kafka_mock_topic_create(km, topic, 1, err);
			if (rc < 0)
				return rc;
		}
		sl_log(SL_INFO, "kafka-mock: sink %s now sends to %s%s%s",
		       pc->name, km->bootstrap, topic ? ", topic " : "",
		       topic ? topic : "");
	}
	return 0;
}

/* ---- fault commands ---------------------------------------------------- */

/* "NOT_LEADER_FOR_PARTITION", "RD_KAFKA_RESP_ERR_..." or a number. */
static int
km_err_parse(const json_t *v, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *descs;
	const char *s = json_string_value(v);
	size_t n, i;

	if (json_is_integer(v)) {
		*out = (rd_kafka_resp_err_t)json_integer_value(v);
		return 0;
	}
	if (!s)
		return -EINVAL;
	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;
	rd_kafka_get_err_descs(&descs, &n);
	for (i = 0; i < n; i++) {
		if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
			*out = descs[i].code;
			return 0;
		}
	}
	return -EINVAL;
}

/* Kafka API keys by name (the ones tests inject errors into). */
static int
km_api_parse(const json_t *v, int16_t *out)
{
	static const char *const names[] = {
		"Produce", "Fetch", "ListOffsets", "Metadata", NULL, NULL,
		NULL, NULL, "OffsetCommit", "OffsetFetch", "FindCoordinator",
		"JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", NULL, NULL,
		NULL, "ApiVersions", NULL, NULL, NULL, "InitProducerId",
	};
	const char *s = json_string_value(v);
	size_t i;

	if (!v) {
		*out = 0;		/* Produce */
		return 0;
	}
	if (json_is_integer(v)) {
		*out = (int16_t)json_integer_value(v);
		return 0;
	}
	for (i = 0; s && i < SL_ARRAY_SIZE(names); i++) {
		if (names[i] && strcasecmp(names[i], s) == 0) {
			*out = (int16_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

static json_t *
km_fail(const char *fmt, const char *arg)
{
	char msg[640];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *
km_done(rd_kafka_resp_err_t e)
{
	if (e)
		return km_fail("%s", rd_kafka_err2str(e));
	return json_pack("{s:b}", "ok", 1);
}

/* The brokers a command names: "broker": id, or all when absent. */
static int
km_brokers(const struct sl_kafka_mock *km, const json_t *req, int *first,
	   int *last)
{
	const json_t *b = json_object_get(req, "broker");

	if (!b || (json_is_string(b) &&
		   strcmp(json_string_value(b), "all") == 0)) {
		*first = 1;
		*last = km->nb_brokers;
		return 0;
	}
	if (!json_is_integer(b) || json_integer_value(b) < 1 ||
	    json_integer_value(b) > km->nb_brokers)
		return -EINVAL;
	*first = *last = (int)json_integer_value(b);
	return 0;
}

json_t *
sl_kafka_mock_command(struct sl_kafka_mock *km, const json_t *req, bool *stop)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *topic = json_string_value(json_object_get(req, "topic"));
	rd_kafka_resp_err_t e = 0, errs[KM_MAX_PUSH];
	const json_t *arr, *v;
	int b, first, last;
	int16_t api;
	size_t i, n;

	if (!cmd)
		return km_fail("missing \"cmd\" (info, broker_down, broker_up, "
			       "rtt, push_errors, clear_errors, leader, "
			       "topic_create, topic_error, stop)%s", NULL);
	if (strcmp(cmd, "info") == 0)
		return json_pack("{s:b, s:s, s:i}", "ok", 1, "bootstrap",
				 km->bootstrap, "brokers", km->nb_brokers);
	if (strcmp(cmd, "stop") == 0) {
		*stop = true;
		return km_done(0);
	}
	if (strcmp(cmd, "broker_down") == 0 || strcmp(cmd, "broker_up") == 0 ||
	    strcmp(cmd, "rtt") == 0) {
		json_int_t ms = json_integer_value(json_object_get(req, "ms"));

		if (km_brokers(km, req, &first, &last) < 0)
			return km_fail("\"broker\": expected 1..N or \"all\"%s",
				       NULL);
		if (strcmp(cmd, "rtt") == 0 &&
		    (!json_is_integer(json_object_get(req, "ms")) || ms < 0 ||
		     ms > 600000))
			return km_fail("\"ms\": expected 0..600000%s", NULL);
		for (b = first; b <= last && !e; b++) {
			if (strcmp(cmd, "broker_down") == 0)
				e = rd_kafka_mock_broker_set_down(km->mc, b);
			else if (strcmp(cmd, "broker_up") == 0)
				e = rd_kafka_mock_broker_set_up(km->mc, b);
			else
				e = rd_kafka_mock_broker_set_rtt(km->mc, b,
								 (int)ms);
		}
		return km_done(e);
	}
	if (strcmp(cmd, "push_errors") == 0 ||
	    strcmp(cmd, "clear_errors") == 0) {
		if (km_api_parse(json_object_get(req, "api"), &api) < 0)
			return km_fail("\"api\": unknown API (Produce, Fetch, "
				       "Metadata, ... or a number)%s", NULL);
		if (cmd[0] == 'c') {
			rd_kafka_mock_clear_request_errors(km->mc, api);
			return km_done(0);
		}
		arr = json_object_get(req, "errors");
		if (!json_is_array(arr) || json_array_size(arr) == 0 ||
		    json_array_size(arr) > KM_MAX_PUSH)
			return km_fail("\"errors\": expected a list of 1 to "
				       "1000 error names%s", NULL);
		json_array_foreach(arr, i, v)
			if (km_err_parse(v, &errs[i]) < 0)
				return km_fail("unknown error %s",
					       json_string_value(v));
		n = json_array_size(arr);
		if (!json_object_get(req, "broker")) {
			rd_kafka_mock_push_request_errors_array(km->mc, api, n,
								errs);
			return km_done(0);
		}
		if (km_brokers(km, req, &first, &last) < 0)
			return km_fail("\"broker\": expected 1..N%s", NULL);
		for (i = 0; i < n && !e; i++)
			e = rd_kafka_mock_broker_push_request_error_rtts(
				km->mc, first, api, 1, errs[i], 0);
		return km_done(e);
	}
	if (strcmp(cmd, "leader") == 0) {
		v = json_object_get(req, "partition");
		if (!topic || !json_is_integer(v) ||
		    km_brokers(km, req, &first, &last) < 0 || first != last)
			return km_fail("leader needs \"topic\", \"partition\" "
				       "and \"broker\"%s", NULL);
		return km_done(rd_kafka_mock_partition_set_leader(km->mc,
			topic, (int32_t)json_integer_value(v), first));
	}
	if (strcmp(cmd, "topic_create") == 0) {
		json_int_t parts = json_integer_value(json_object_get(
			req, "partitions"));
		struct sl_err err = { 0 };

		if (!topic)
			return km_fail("topic_create needs \"topic\"%s", NULL);
		if (sl_kafka_mock_topic_create(km, topic, parts ? (int)parts :
					       1, &err) < 0)
			return km_fail("%s", err.msg);
		return km_done(0);
	}
	if (strcmp(cmd, "topic_error") == 0) {
		if (!topic || km_err_parse(json_object_get(req, "error"),
					   &e) < 0)
			return km_fail("topic_error needs \"topic\" and a "
				       "known \"error\"%s", NULL);
		rd_kafka_mock_topic_set_error(km->mc, topic, e);
		return km_done(0);
	}
	return km_fail("unknown cmd '%s'", cmd);
}

/* ---- `sluice kafka-mock` ----------------------------------------------- */

static volatile sig_atomic_t km_stop_signal;

static void
km_on_signal(int sig)
{
	(void)sig;
	km_stop_signal = 1;
}

struct km_client {
	int fd;
	char *buf;
	size_t len;
};

static int
km_listen(const char *path, struct sl_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sl_err_set(err, ENAMETOOLONG, "kafka-mock: control "
				  "socket path too long: %s", path);
	/* Replace a stale socket, never anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sl_err_set(err, EEXIST, "kafka-mock: %s exists "
					  "and is not a socket", path);
		unlink(path);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sl_err_set(err, errno, "kafka-mock: socket: %s",
				  strerror(errno));
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = errno;
		close(fd);
		return sl_err_set(err, rc, "kafka-mock: cannot listen on %s: "
				  "%s", path, strerror(rc));
	}
	return fd;
}

/* Serve the complete lines in @c's buffer; false to drop the client. */
static bool
km_client_serve(struct sl_kafka_mock *km, struct km_client *c, bool *stop)
{
	char *nl;

	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t line = (size_t)(nl - c->buf);
		json_error_t jerr;
		json_t *req = json_loadb(c->buf, line, 0, &jerr), *rep;
		char *out;

		if (!req || !json_is_object(req))
			rep = km_fail("malformed request: %s", req ?
				      "expected a JSON object" : jerr.text);
		else
			rep = sl_kafka_mock_command(km, req, stop);
		json_decref(req);
		out = json_dumps(rep, JSON_COMPACT);
		json_decref(rep);
		if (out) {
			size_t n = strlen(out);

			out[n] = '\n';
			if (write(c->fd, out, n + 1) < 0) {
				free(out);
				return false;
			}
			free(out);
		}
		memmove(c->buf, nl + 1, c->len - line - 1);
		c->len -= line + 1;
	}
	if (c->len >= KM_MAX_REQUEST) {
		static const char msg[] = "{\"ok\":false,\"error\":\"request "
					  "too large\"}\n";

		if (write(c->fd, msg, sizeof(msg) - 1) < 0)
			return false;
		return false;
	}
	return true;
}

static void
km_usage(FILE *out)
{
	fputs("usage: sluice kafka-mock [--brokers N] [--topic NAME[:PARTITIONS]]"
	      "... [--control-socket PATH]\n"
	      "\n"
	      "Runs librdkafka's mock Kafka cluster on 127.0.0.1 in the "
	      "foreground and\n"
	      "prints its bootstrap list as the first line on stdout. Any "
	      "Kafka client\n"
	      "(kcat -b BOOTSTRAP ...) can talk to it. SIGTERM or SIGINT stops "
	      "it.\n"
	      "\n"
	      "  --brokers N              brokers (default 3)\n"
	      "  --topic NAME[:PARTS]     create a topic (default 1 partition); "
	      "repeat\n"
	      "                           (others are created on first use "
	      "with 4)\n"
	      "  --control-socket PATH    fault commands, one JSON object per "
	      "line:\n"
	      "      {\"cmd\":\"info\"}\n"
	      "      {\"cmd\":\"broker_down\",\"broker\":1}   "
	      "{\"cmd\":\"broker_up\",\"broker\":\"all\"}\n"
	      "      {\"cmd\":\"rtt\",\"broker\":2,\"ms\":500}\n"
	      "      {\"cmd\":\"push_errors\",\"api\":\"Produce\","
	      "\"errors\":[\"NOT_LEADER_FOR_PARTITION\"],\n"
	      "       \"broker\":1 (optional)}   "
	      "{\"cmd\":\"clear_errors\",\"api\":\"Produce\"}\n"
	      "      {\"cmd\":\"leader\",\"topic\":\"t\",\"partition\":0,"
	      "\"broker\":2}\n"
	      "      {\"cmd\":\"topic_create\",\"topic\":\"t\","
	      "\"partitions\":3}\n"
	      "      {\"cmd\":\"topic_error\",\"topic\":\"t\","
	      "\"error\":\"TOPIC_AUTHORIZATION_FAILED\"}\n"
	      "      {\"cmd\":\"stop\"}\n"
	      "    each answered by {\"ok\":true} or "
	      "{\"ok\":false,\"error\":\"...\"}\n"
	      "\n"
	      "The mock keeps only ~5 MiB / 100,000 message sets per "
	      "partition: consume\n"
	      "while a long run goes on, not after.\n", out);
}

int
sl_kafka_mock_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "control-socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *topics[KM_MAX_TOPICS], *sock = NULL;
	struct km_client clients[KM_MAX_CLIENTS];
	struct pollfd pfd[1 + KM_MAX_CLIENTS];
	struct sigaction sa = { .sa_handler = km_on_signal };
	struct sl_kafka_mock *km;
	struct sl_err err = { 0 };
	int nb_topics = 0, lfd = -1, c, i, rc = 0;
	int64_t brokers = 3, parts;
	bool stop = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (sl_parse_int(optarg, 1, KM_MAX_BROKERS, &brokers)) {
				fprintf(stderr, "sluice kafka-mock: --brokers: "
					"expected 1..%d\n", KM_MAX_BROKERS);
				return 2;
			}
			break;
		case 't':
			if (nb_topics == KM_MAX_TOPICS) {
				fprintf(stderr, "sluice kafka-mock: at most %d "
					"--topic\n", KM_MAX_TOPICS);
				return 2;
			}
			topics[nb_topics++] = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			km_usage(stdout);
			return 0;
		default:
			km_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice kafka-mock: unexpected argument '%s'\n",
			argv[optind]);
		km_usage(stderr);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	km = sl_kafka_mock_start((int)brokers, &err);
	if (!km) {
		fprintf(stderr, "sluice %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < nb_topics; i++) {
		char name[256];
		const char *colon = strrchr(topics[i], ':');
		size_t len = colon ? (size_t)(colon - topics[i]) :
			     strlen(topics[i]);

		parts = 1;
		if (len == 0 || len >= sizeof(name) ||
		    (colon && sl_parse_int(colon + 1, 1, 100000, &parts))) {
			fprintf(stderr, "sluice kafka-mock: --topic %s: "
				"expected NAME[:PARTITIONS]\n", topics[i]);
			rc = 2;
			goto out;
		}
		memcpy(name, topics[i], len);
		name[len] = '\0';
		if (sl_kafka_mock_topic_create(km, name, (int)parts,
					       &err) < 0) {
			fprintf(stderr, "sluice %s\n", err.msg);
			rc = 1;
			goto out;
		}
	}
	if (sock) {
		lfd = km_listen(sock, &err);
		if (lfd < 0) {
			fprintf(stderr, "sluice %s\n", err.msg);
			rc = 1;
			goto out;
		}
	}
	printf("%s\n", km->bootstrap);
	fflush(stdout);
	sl_log(SL_INFO, "kafka-mock: %d brokers at %s%s%s", (int)brokers,
	       km->bootstrap, sock ? "; control socket " : "",
	       sock ? sock : "");
	for (i = 0; i < KM_MAX_CLIENTS; i++)
		clients[i] = (struct km_client){ .fd = -1 };
	while (!km_stop_signal && !stop) {
		int nfds = 0;

		if (lfd >= 0)
			pfd[nfds++] = (struct pollfd){ lfd, POLLIN, 0 };
		for (i = 0; i < KM_MAX_CLIENTS; i++)
			if (clients[i].fd >= 0)
				pfd[nfds++] = (struct pollfd){ clients[i].fd,
							       POLLIN, 0 };
		if (poll(pfd, (nfds_t)nfds, 200) <= 0)
			continue;
		if (lfd >= 0 && (pfd[0].revents & POLLIN)) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			for (i = 0; fd >= 0 && i < KM_MAX_CLIENTS; i++)
				if (clients[i].fd < 0)
					break;
			if (fd >= 0 && i == KM_MAX_CLIENTS) {
				close(fd);	/* too many clients */
			} else if (fd >= 0) {
				clients[i].fd = fd;
				clients[i].len = 0;
				clients[i].buf = malloc(KM_MAX_REQUEST);
				if (!clients[i].buf) {
					close(fd);
					clients[i].fd = -1;
				}
			}
		}
		for (i = 0; i < KM_MAX_CLIENTS; i++) {
			struct km_client *cl = &clients[i];
			ssize_t n;

			if (cl->fd < 0)
				continue;
			n = recv(cl->fd, cl->buf + cl->len,
				 KM_MAX_REQUEST - cl->len, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n > 0) {
				cl->len += (size_t)n;
				if (km_client_serve(km, cl, &stop))
					continue;
			}
			close(cl->fd);
			free(cl->buf);
			cl->fd = -1;
		}
	}
	for (i = 0; i < KM_MAX_CLIENTS; i++) {
		if (clients[i].fd >= 0) {
			close(clients[i].fd);
			free(clients[i].buf);
		}
	}
	sl_log(SL_INFO, "kafka-mock: stopping");
out:
	if (lfd >= 0) {
		close(lfd);
		unlink(sock);
	}
	sl_kafka_mock_stop(km);
	return rc;
}
