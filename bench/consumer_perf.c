/* SPDX-License-Identifier: Apache-2.0 */
/*
 * consumer-perf: kafka-consumer-perf-test.sh on librdkafka. Same options,
 * same comma-separated header and summary line (and the per-interval lines
 * of --show-detailed-stats). One thread: a subscribed consumer polled in a
 * loop, group join time measured from the rebalance callback.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "sl_common.h"
#include "sl_kafka.h"
#include "sl_props.h"
#include "sl_time.h"

#define PROG		"consumer-performance"

struct cperf_args {
	const char *bootstrap;
	const char *topic;
	const char *group;
	int64_t fetch_size;
	int64_t socket_buffer_size;
	bool from_latest;
	int64_t timeout_ms;
	int64_t nb_messages;
	bool have_messages;
	int64_t reporting_interval_ms;
	const char *date_format;
	bool show_detailed_stats;
	bool hide_header;
	bool print_metrics;
	const char *config_file;
};

/* Join time bookkeeping, as Kafka's ConsumerPerfRebListener keeps it. */
struct cperf_rebalance {
	int nb_assigned;
	uint64_t join_start_ms;
	uint64_t join_time_ms;
	uint64_t join_time_round_ms;
};

static struct cperf_rebalance reb;

static void
usage(FILE *out)
{
	fputs("This tool is used to verify the consumer performance "
	      "(kafka-consumer-perf-test.sh\non librdkafka; Java property "
	      "names in --consumer.config are translated).\n\n"
	      "Option                                 Description\n"
	      "------                                 -----------\n"
	      "--bootstrap-server <server to connect  REQUIRED: The server(s)"
	      " to connect to.\n  to>\n"
	      "--consumer.config <config file>        Consumer config "
	      "properties file.\n"
	      "--date-format <date format>            The date format to use "
	      "for formatting\n"
	      "                                         the time field "
	      "(yyyy MM dd HH mm ss\n"
	      "                                         SSS). (default: "
	      "yyyy-MM-dd HH:mm:ss:SSS)\n"
	      "--fetch-size <Integer: size>           The amount of data to "
	      "fetch in a\n"
	      "                                         single request. "
	      "(default: 1048576)\n"
	      "--from-latest                          If the consumer does not"
	      " already have\n"
	      "                                         an established offset "
	      "to consume\n"
	      "                                         from, start with the "
	      "latest message\n"
	      "                                         present in the log "
	      "rather than the\n"
	      "                                         earliest message.\n"
	      "--group <gid>                          The group id to consume "
	      "on. (default:\n"
	      "                                         perf-consumer-NNNNN)\n"
	      "--help                                 Print usage "
	      "information.\n"
	      "--hide-header                          If set, skips printing "
	      "the header for\n"
	      "                                         the stats\n"
	      "--messages <Long: count>               REQUIRED: The number of "
	      "messages to\n"
	      "                                         consume.\n"
	      "--print-metrics                        Print out the metrics: "
	      "librdkafka's\n"
	      "                                         last statistics "
	      "JSON.\n"
	      "--reporting-interval <Long:            Interval in milliseconds"
	      " at which to\n  interval_ms>                           print "
	      "progress info. (default: 5000)\n"
	      "--show-detailed-stats                  If set, stats are "
	      "reported for each\n"
	      "                                         reporting interval as "
	      "configured by\n"
	      "                                         reporting-interval\n"
	      "--socket-buffer-size <Integer: size>   The size of the tcp "
	      "RECV size.\n"
	      "                                         (default: 2097152)\n"
	      "--timeout [Long: milliseconds]         The maximum allowed time"
	      " in\n"
	      "                                         milliseconds between "
	      "returned\n"
	      "                                         records. (default: "
	      "10000)\n"
	      "--topic <topic>                        The topic to consume "
	      "from.\n\n"
	      "Exit status: 0 when --messages were consumed, 1 otherwise or "
	      "on a usage error.\n", out);
}

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, msg, arg);
	fputc('\n', stderr);
	usage(stderr);
	return 1;
}

static int
parse_num(const char *opt, const char *v, int64_t min, int64_t max,
	  int64_t *out)
{
	if (sl_parse_int(v, min, max, out) == 0)
		return 0;
	fprintf(stderr, "Cannot parse argument '%s' of option %s\n", v, opt);
	usage(stderr);
	return 1;
}

static int
cperf_parse_args(int argc, char **argv, struct cperf_args *ca)
{
	bool missing = false;
	const char *v;
	int i;

	if (argc <= 1)
		return usage_error("This tool is used to verify the consumer "
				   "performance.%s", "");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 2;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--bootstrap-server",
					  &missing))) {
			ca->bootstrap = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i, "--topic",
					  &missing))) {
			ca->topic = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i, "--group",
					  &missing))) {
			ca->group = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--fetch-size",
					  &missing))) {
			if (!missing && parse_num(a, v, 1, INT32_MAX,
						  &ca->fetch_size))
				return 1;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
					  "--socket-buffer-size", &missing))) {
			if (!missing && parse_num(a, v, 1, INT32_MAX,
						  &ca->socket_buffer_size))
				return 1;
		} else if (strcmp(a, "--from-latest") == 0) {
			ca->from_latest = true;
		} else if (strcmp(a, "--timeout") == 0 &&
			   (i + 1 >= argc || argv[i + 1][0] == '-')) {
			/* optional argument: keeps the default */
		} else if ((v = sl_kafka_arg_value(argc, argv, &i, "--timeout",
					  &missing))) {
			if (parse_num(a, v, 0, INT64_MAX, &ca->timeout_ms))
				return 1;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i, "--messages",
					  &missing))) {
			if (!missing && parse_num(a, v, INT64_MIN, INT64_MAX,
						  &ca->nb_messages))
				return 1;
			ca->have_messages = true;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
					  "--reporting-interval", &missing))) {
			if (!missing && parse_num(a, v, 0, INT64_MAX,
						  &ca->reporting_interval_ms))
				return 1;
			if (!missing && ca->reporting_interval_ms <= 0)
				return usage_error("Reporting interval must be "
						   "greater than 0.%s", "");
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--date-format",
					  &missing))) {
			ca->date_format = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--consumer.config",
					  &missing))) {
			ca->config_file = v;
		} else if (strcmp(a, "--show-detailed-stats") == 0) {
			ca->show_detailed_stats = true;
		} else if (strcmp(a, "--hide-header") == 0) {
			ca->hide_header = true;
		} else if (strcmp(a, "--print-metrics") == 0) {
			ca->print_metrics = true;
		} else {
			return usage_error("%s is not a recognized option", a);
		}
		if (missing)
			return usage_error("Option %s requires an argument", a);
	}
	if (!ca->have_messages)
		return usage_error("Missing required argument "
				   "\"[messages]\"%s", "");
	if (!ca->bootstrap)
		return usage_error("Missing required argument "
				   "\"[bootstrap-server]\"%s", "");
	if (!ca->topic || !*ca->topic)
		return usage_error("Exactly one of the following arguments "
				   "is required: [topic]%s", "");
	return 0;
}

/* SimpleDateFormat's yyyy MM dd HH mm ss SSS, in local time. */
static void
format_date(char *out, size_t len, const char *fmt, uint64_t wall_ms)
{
	time_t sec = (time_t)(wall_ms / 1000);
	struct tm tm;
	size_t o = 0;

	localtime_r(&sec, &tm);
	while (*fmt && o + 8 < len) {
		if (strncmp(fmt, "yyyy", 4) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%04d",
					      tm.tm_year + 1900);
			fmt += 4;
		} else if (strncmp(fmt, "SSS", 3) == 0) {
			o += (size_t)snprintf(out + o, len - o, "%03u",
					      (unsigned)(wall_ms % 1000));
			fmt += 3;
		} else if (strncmp(fmt, "MM", 2) == 0 ||
			   strncmp(fmt, "dd", 2) == 0 ||
			   strncmp(fmt, "HH", 2) == 0 ||
			   strncmp(fmt, "mm", 2) == 0 ||
			   strncmp(fmt, "ss", 2) == 0) {
			int v = fmt[0] == 'M' ? tm.tm_mon + 1 :
				fmt[0] == 'd' ? tm.tm_mday :
				fmt[0] == 'H' ? tm.tm_hour :
				fmt[0] == 'm' ? tm.tm_min : tm.tm_sec;

			o += (size_t)snprintf(out + o, len - o, "%02d", v);
			fmt += 2;
		} else {
			out[o++] = *fmt++;
		}
	}
	out[o] = '\0';
}

static uint64_t
now_ms(void)
{
	return sl_time_wall_ms();
}

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
	     rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	uint64_t elapsed;

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (reb.nb_assigned == 0) {
			elapsed = now_ms() - reb.join_start_ms;
			reb.join_time_ms += elapsed;
			reb.join_time_round_ms += elapsed;
		}
		reb.nb_assigned += parts->cnt;
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk,
									   parts));
		else
			rd_kafka_assign(rk, parts);
	} else {
		reb.nb_assigned = coop ? reb.nb_assigned - parts->cnt : 0;
		if (reb.nb_assigned <= 0) {
			reb.nb_assigned = 0;
			reb.join_start_ms = now_ms();
		}
		if (coop)
			rd_kafka_error_destroy(
				rd_kafka_incremental_unassign(rk, parts));
		else
			rd_kafka_assign(rk, NULL);
	}
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	fprintf(stderr, "WARN %s: %s\n",
		rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	char **last = opaque;

	(void)rk;
	free(*last);
	*last = strndup(json, len);
	return 0;
}

static rd_kafka_t *
consumer_create(const struct cperf_args *ca, char **stats_json)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], num[32], group[64];
	rd_kafka_t *rk;

	if (ca->config_file &&
	    sl_kafka_props_load(conf, ca->config_file, errstr,
			       sizeof(errstr)) < 0)
		goto err;
	if (!ca->group) {
		srandom((unsigned)sl_time_mono_ns());
		snprintf(group, sizeof(group), "perf-consumer-%ld",
			 random() % 100000);
	}
	/* the same properties Kafka's ConsumerPerfOptions.props() sets */
	if (rd_kafka_conf_set(conf, "bootstrap.servers", ca->bootstrap, errstr,
			      sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "group.id", ca->group ? ca->group : group,
			      errstr, sizeof(errstr)))
		goto err;
	snprintf(num, sizeof(num), "%lld", (long long)ca->socket_buffer_size);
	if (rd_kafka_conf_set(conf, "socket.receive.buffer.bytes", num, errstr,
			      sizeof(errstr)))
		goto err;
	snprintf(num, sizeof(num), "%lld", (long long)ca->fetch_size);
	if (rd_kafka_conf_set(conf, "max.partition.fetch.bytes", num, errstr,
			      sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "auto.offset.reset",
			      ca->from_latest ? "latest" : "earliest", errstr,
			      sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "check.crcs", "false", errstr,
			      sizeof(errstr)))
		goto err;
	if (rd_kafka_conf_get(conf, "client.id", num, &(size_t){ sizeof(num) })
	    != RD_KAFKA_CONF_OK || strcmp(num, "rdkafka") == 0)
		rd_kafka_conf_set(conf, "client.id", "perf-consumer-client",
				  NULL, 0);
	if (ca->print_metrics) {
		rd_kafka_conf_set(conf, "statistics.interval.ms", "1000", NULL,
				  0);
		rd_kafka_conf_set_stats_cb(conf, on_stats);
		rd_kafka_conf_set_opaque(conf, stats_json);
	}
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "%s\n", errstr);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
err:
	fprintf(stderr, "%s\n", errstr);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static void
print_progress(const struct cperf_args *ca, uint64_t bytes,
	       uint64_t last_bytes, uint64_t msgs, uint64_t last_msgs,
	       uint64_t start_ms, uint64_t end_ms, uint64_t join_round_ms)
{
	double elapsed_ms = (double)(end_ms - start_ms);
	double mb = bytes / (1024.0 * 1024.0);
	double interval_mb = (bytes - last_bytes) / (1024.0 * 1024.0);
	int64_t fetch_ms = (int64_t)(end_ms - start_ms) - (int64_t)join_round_ms;
	char date[128];

	format_date(date, sizeof(date), ca->date_format, end_ms);
	printf("%s, %d, %.4f, %.4f, %llu, %.4f", date, 0, mb,
	       1000.0 * interval_mb / elapsed_ms, (unsigned long long)msgs,
	       ((double)(msgs - last_msgs) / elapsed_ms) * 1000.0);
	printf(", %llu, %lld, %.4f, %.4f\n", (unsigned long long)join_round_ms,
	       (long long)fetch_ms,
	       fetch_ms <= 0 ? 0.0 : 1000.0 * interval_mb / (double)fetch_ms,
	       fetch_ms <= 0 ? 0.0 : 1000.0 * (double)(msgs - last_msgs) /
				     (double)fetch_ms);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct cperf_args ca = {
		.fetch_size = 1024 * 1024,
		.socket_buffer_size = 2 * 1024 * 1024,
		.timeout_ms = 10000,
		.reporting_interval_ms = 5000,
		.date_format = "yyyy-MM-dd HH:mm:ss:SSS",
	};
	uint64_t bytes = 0, msgs = 0, last_bytes = 0, last_msgs = 0;
	uint64_t start_ms, end_ms, cur_ms, last_report_ms, last_consumed_ms;
	rd_kafka_topic_partition_list_t *topics;
	rd_kafka_message_t *m;
	char *stats_json = NULL;
	char d1[128], d2[128];
	double elapsed_sec, mb;
	int64_t fetch_ms;
	rd_kafka_t *rk;
	int rc;

	rc = cperf_parse_args(argc, argv, &ca);
	if (rc)
		return rc == 2 ? 0 : 1;
	if (!ca.hide_header) {
		if (!ca.show_detailed_stats)
			printf("start.time, end.time, data.consumed.in.MB, "
			       "MB.sec, data.consumed.in.nMsg, nMsg.sec");
		else
			printf("time, threadId, data.consumed.in.MB, MB.sec, "
			       "data.consumed.in.nMsg, nMsg.sec");
		printf(", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, "
		       "fetch.nMsg.sec\n");
		fflush(stdout);
	}
	rk = consumer_create(&ca, &stats_json);
	if (!rk)
		return 1;
	start_ms = now_ms();
	reb.join_start_ms = start_ms;

	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, ca.topic,
					  RD_KAFKA_PARTITION_UA);
	rc = rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (rc) {
		fprintf(stderr, "subscribe to %s failed: %s\n", ca.topic,
			rd_kafka_err2str((rd_kafka_resp_err_t)rc));
		rd_kafka_destroy(rk);
		return 1;
	}
	cur_ms = now_ms();
	last_report_ms = cur_ms;
	last_consumed_ms = cur_ms;
	while ((int64_t)msgs < ca.nb_messages &&
	       cur_ms - last_consumed_ms <= (uint64_t)ca.timeout_ms) {
		m = rd_kafka_consumer_poll(rk, 100);
		cur_ms = now_ms();
		if (!m)
			continue;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "WARN %s\n",
					rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		last_consumed_ms = cur_ms;
		msgs++;
		bytes += m->key_len + m->len;
		rd_kafka_message_destroy(m);
		if (cur_ms - last_report_ms >=
		    (uint64_t)ca.reporting_interval_ms) {
			if (ca.show_detailed_stats)
				print_progress(&ca, bytes, last_bytes, msgs,
					       last_msgs, last_report_ms,
					       cur_ms, reb.join_time_round_ms);
			reb.join_time_round_ms = 0;
			last_report_ms = cur_ms;
			last_msgs = msgs;
			last_bytes = bytes;
		}
	}
	if ((int64_t)msgs < ca.nb_messages)
		printf("WARNING: Exiting before consuming the expected number "
		       "of messages: timeout (%lld ms) exceeded. You can use "
		       "the --timeout option to increase the timeout.\n",
		       (long long)ca.timeout_ms);
	end_ms = now_ms();
	rd_kafka_consumer_close(rk);

	elapsed_sec = (double)(end_ms - start_ms) / 1000.0;
	fetch_ms = (int64_t)(end_ms - start_ms) - (int64_t)reb.join_time_ms;
	if (!ca.show_detailed_stats) {
		mb = bytes / (1024.0 * 1024.0);
		format_date(d1, sizeof(d1), ca.date_format, start_ms);
		format_date(d2, sizeof(d2), ca.date_format, end_ms);
		printf("%s, %s, %.4f, %.4f, %llu, %.4f, %llu, %lld, %.4f, "
		       "%.4f\n", d1, d2, mb, mb / elapsed_sec,
		       (unsigned long long)msgs, (double)msgs / elapsed_sec,
		       (unsigned long long)reb.join_time_ms,
		       (long long)fetch_ms, mb / ((double)fetch_ms / 1000.0),
		       (double)msgs / ((double)fetch_ms / 1000.0));
	}
	if (ca.print_metrics && stats_json)
		printf("\n%s\n", stats_json);
	fflush(stdout);
	free(stats_json);
	rd_kafka_destroy(rk);
	return (int64_t)msgs < ca.nb_messages ? 1 : 0;
}
