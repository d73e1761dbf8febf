/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `sluice consume`: what kafka-console-consumer.sh does, for a user checking
 * the pipeline: subscribe, print each record through Kafka's
 * DefaultMessageFormatter layout (--property print.key=true, ...), stop at
 * --max-messages, --timeout-ms of silence or a signal. Main thread only.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>

#include "sl_control.h"
#include "sl_kafka.h"
#include "sl_props.h"
#include "sl_time.h"

#define CONSUME_MAX_PROPS	64

/* Kafka's DefaultMessageFormatter settings. */
struct consume_fmt {
	bool print_timestamp;
	bool print_key;
	bool print_value;
	bool print_partition;
	bool print_offset;
	bool print_headers;
	const char *key_separator;
	const char *line_separator;
	const char *headers_separator;
	const char *null_literal;
};

struct consume_args {
	const char *bootstrap;
	const char *topic;
	const char *group;
	const char *config_file;
	bool from_beginning;
	int64_t max_messages;		/* -1: no limit */
	int64_t partition;		/* -1: subscribe to the topic */
	const char *offset;		/* with --partition: earliest, latest, N */
	int64_t timeout_ms;		/* -1: none */
	const char *cprops[CONSUME_MAX_PROPS];
	size_t nb_cprops;
	struct consume_fmt fmt;
};

static volatile sig_atomic_t consume_stop;

static void
consume_usage(FILE *out)
{
	fputs("usage: sluice consume --bootstrap-server B --topic T "
	      "[OPTIONS]\n"
	      "\n"
	      "Prints the records of a topic like kafka-console-consumer.sh.\n"
	      "\n"
	      "  --bootstrap-server B      REQUIRED: the broker(s) to connect "
	      "to\n"
	      "  --topic T                 REQUIRED: the topic to consume\n"
	      "  --from-beginning          start with the earliest message "
	      "when the group\n"
	      "                            has no committed offset (default: "
	      "latest)\n"
	      "  --max-messages N          exit after N messages\n"
	      "  --partition P             read only partition P (no group "
	      "subscription)\n"
	      "  --offset O                with --partition: earliest, latest "
	      "(default) or\n"
	      "                            an offset number\n"
	      "  --timeout-ms MS           exit when no message arrives for "
	      "MS milliseconds\n"
	      "  --group G                 consumer group id (default: "
	      "console-consumer-NNNNN,\n"
	      "                            without committing offsets)\n"
	      "  --property K=V            formatter: print.key, "
	      "print.timestamp, print.headers,\n"
	      "                            print.partition, print.offset, "
	      "print.value (true|false),\n"
	      "                            key.separator, line.separator, "
	      "headers.separator,\n"
	      "                            null.literal\n"
	      "  --consumer-property K=V   a consumer property (Java or "
	      "librdkafka name)\n"
	      "  --consumer.config FILE    consumer properties file "
	      "(Java .properties)\n", out);
}

static int
consume_usage_error(const char *fmt, const char *arg)
{
	fputs("sluice consume: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	consume_usage(stderr);
	return 2;
}

static int
consume_bool(const char *key, const char *val, bool *out)
{
	if (sl_parse_bool(val, out) == 0)
		return 0;
	fprintf(stderr, "sluice consume: --property %s=%s: expected true or "
		"false\n", key, val);
	return -EINVAL;
}

/* One --property K=V of the formatter; -EINVAL with a message printed. */
static int
consume_fmt_set(struct consume_fmt *f, const char *arg)
{
	static const char *const names[] = {
		"print.timestamp", "print.key", "print.value",
		"print.partition", "print.offset", "print.headers",
	};
	bool *flags[] = {
		&f->print_timestamp, &f->print_key, &f->print_value,
		&f->print_partition, &f->print_offset, &f->print_headers,
	};
	const char *eq = strchr(arg, '=');
	const char *val;
	size_t klen, i;

	if (!eq || eq == arg) {
		fprintf(stderr, "sluice consume: --property %s: expected "
			"key=value\n", arg);
		return -EINVAL;
	}
	klen = (size_t)(eq - arg);
	val = eq + 1;
	for (i = 0; i < SL_ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == klen &&
		    strncmp(arg, names[i], klen) == 0)
			return consume_bool(names[i], val, flags[i]);
#define CONSUME_STR(name, field)					\
	if (klen == strlen(name) && strncmp(arg, name, klen) == 0) {	\
		f->field = val;						\
		return 0;						\
	}
	CONSUME_STR("key.separator", key_separator)
	CONSUME_STR("line.separator", line_separator)
	CONSUME_STR("headers.separator", headers_separator)
	CONSUME_STR("null.literal", null_literal)
#undef CONSUME_STR
	fprintf(stderr, "sluice consume: --property %.*s: unknown property "
		"(known: print.timestamp, print.key, print.value, "
		"print.partition, print.offset, print.headers, key.separator, "
		"line.separator, headers.separator, null.literal)\n",
		(int)klen, arg);
	return -EINVAL;
}

/* Returns 0, 2 on a usage error (printed), or 3 after --help. */
static int
consume_parse_args(int argc, char **argv, struct consume_args *ca)
{
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			consume_usage(stdout);
			return 3;
		} else if (strcmp(a, "--from-beginning") == 0) {
			ca->from_beginning = true;
			continue;
		}
		if ((v = sl_kafka_arg_value(argc, argv, &i,
					   "--bootstrap-server", NULL))) {
			ca->bootstrap = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--topic", NULL))) {
			ca->topic = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--group", NULL))) {
			ca->group = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--consumer.config", NULL))) {
			ca->config_file = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--max-messages", NULL))) {
			if (sl_parse_int(v, 0, INT64_MAX, &ca->max_messages))
				return consume_usage_error("--max-messages "
					"'%s': expected a count >= 0", v);
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--partition", NULL))) {
			if (sl_parse_int(v, 0, INT32_MAX, &ca->partition))
				return consume_usage_error("--partition '%s': "
					"expected a partition number", v);
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--offset", NULL))) {
			int64_t off;

			if (strcmp(v, "earliest") != 0 &&
			    strcmp(v, "latest") != 0 &&
			    sl_parse_int(v, 0, INT64_MAX, &off))
				return consume_usage_error("--offset '%s': "
					"expected earliest, latest or a "
					"non-negative offset", v);
			ca->offset = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--timeout-ms", NULL))) {
			if (sl_parse_int(v, 0, INT32_MAX, &ca->timeout_ms))
				return consume_usage_error("--timeout-ms '%s':"
					" expected milliseconds >= 0", v);
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						  "--property", NULL))) {
			if (consume_fmt_set(&ca->fmt, v) < 0)
				return 2;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
				"--consumer-property", NULL))) {
			if (ca->nb_cprops == CONSUME_MAX_PROPS)
				return consume_usage_error("too many "
					"--consumer-property%s", "");
			ca->cprops[ca->nb_cprops++] = v;
		} else {
			return consume_usage_error("unknown option '%s'", a);
		}
		if (!*v)
			return consume_usage_error("%s needs a value", a);
	}
	if (!ca->bootstrap)
		return consume_usage_error("--bootstrap-server is "
					   "required%s", "");
	if (!ca->topic)
		return consume_usage_error("--topic is required%s", "");
	/* kafka-console-consumer's own checks */
	if (ca->offset && ca->partition < 0)
		return consume_usage_error("The partition is required when "
					   "offset is specified.%s", "");
	if (ca->offset && ca->from_beginning)
		return consume_usage_error("Options from-beginning and offset "
					   "cannot be specified together.%s",
					   "");
	return 0;
}

static void
consume_on_signal(int sig)
{
	(void)sig;
	consume_stop = 1;
}

static int
consume_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char errstr[512];

	if (sl_kafka_prop_set(conf, key, val, errstr, sizeof(errstr)) == 0)
		return 0;
	fprintf(stderr, "sluice consume: %s\n", errstr);
	return -EINVAL;
}

/* A Java .properties file, Java names translated as the sink does. */
static int
consume_conf_load(rd_kafka_conf_t *conf, const char *path)
{
	char errstr[768];
	int rc = sl_kafka_props_load(conf, path, errstr, sizeof(errstr));

	if (rc < 0)
		fprintf(stderr, "sluice consume: %s\n", errstr);
	return rc;
}

static rd_kafka_t *
consume_create(const struct consume_args *ca)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], group[64];
	rd_kafka_t *rk;
	size_t i;

	if (ca->config_file && consume_conf_load(conf, ca->config_file) < 0)
		goto err;
	if (consume_conf_set(conf, "bootstrap.servers", ca->bootstrap) < 0 ||
	    consume_conf_set(conf, "auto.offset.reset",
			     ca->from_beginning ? "earliest" : "latest") < 0)
		goto err;
	if (ca->group) {
		if (consume_conf_set(conf, "group.id", ca->group) < 0)
			goto err;
	} else {
		/* kafka-console-consumer's throwaway group, never committed */
		srandom((unsigned)sl_time_mono_ns());
		snprintf(group, sizeof(group), "console-consumer-%ld",
			 random() % 100000);
		if (consume_conf_set(conf, "group.id", group) < 0 ||
		    consume_conf_set(conf, "enable.auto.commit", "false") < 0)
			goto err;
	}
	for (i = 0; i < ca->nb_cprops; i++) {
		const char *eq = strchr(ca->cprops[i], '=');
		char key[256];

		if (!eq || eq == ca->cprops[i] ||
		    (size_t)(eq - ca->cprops[i]) >= sizeof(key)) {
			fprintf(stderr, "sluice consume: --consumer-property "
				"%s: expected key=value\n", ca->cprops[i]);
			goto err;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - ca->cprops[i]),
			 ca->cprops[i]);
		if (consume_conf_set(conf, key, eq + 1) < 0)
			goto err;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "sluice consume: %s\n", errstr);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	return rk;
err:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static void
consume_sep(const struct consume_fmt *f, bool column, FILE *out)
{
	fputs(column ? f->key_separator : f->line_separator, out);
}

static void
consume_bytes(const struct consume_fmt *f, const void *p, size_t len,
	      FILE *out)
{
	if (p)
		fwrite(p, 1, len, out);
	else
		fputs(f->null_literal, out);
}

/* DefaultMessageFormatter.writeTo(), field by field. */
static void
consume_print(const struct consume_fmt *f, const rd_kafka_message_t *m,
	      FILE *out)
{
	rd_kafka_timestamp_type_t tstype;
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *val;
	size_t size, i;
	int64_t ts;

	if (f->print_timestamp) {
		ts = rd_kafka_message_timestamp(m, &tstype);
		if (tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME)
			fprintf(out, "CreateTime:%lld", (long long)ts);
		else if (tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME)
			fprintf(out, "LogAppendTime:%lld", (long long)ts);
		else
			fputs("NO_TIMESTAMP", out);
		consume_sep(f, f->print_partition || f->print_offset ||
			    f->print_headers || f->print_key ||
			    f->print_value, out);
	}
	if (f->print_partition) {
		fprintf(out, "Partition:%d", (int)m->partition);
		consume_sep(f, f->print_offset || f->print_headers ||
			    f->print_key || f->print_value, out);
	}
	if (f->print_offset) {
		fprintf(out, "Offset:%lld", (long long)m->offset);
		consume_sep(f, f->print_headers || f->print_key ||
			    f->print_value, out);
	}
	if (f->print_headers) {
		if (rd_kafka_message_headers(m, &hdrs) ||
		    rd_kafka_header_cnt(hdrs) == 0) {
			fputs("NO_HEADERS", out);
		} else {
			for (i = 0; !rd_kafka_header_get_all(hdrs, i, &name,
							     &val, &size);
			     i++) {
				if (i)
					fputs(f->headers_separator, out);
				fprintf(out, "%s:", name);
				consume_bytes(f, val, size, out);
			}
		}
		consume_sep(f, f->print_key || f->print_value, out);
	}
	if (f->print_key) {
		consume_bytes(f, m->key, m->key_len, out);
		consume_sep(f, f->print_value, out);
	}
	if (f->print_value) {
		consume_bytes(f, m->payload, m->len, out);
		fputs(f->line_separator, out);
	}
}

/* --offset (or --from-beginning) as librdkafka's start offset. */
static int64_t
consume_start_offset(const struct consume_args *ca)
{
	int64_t off;

	if (ca->from_beginning ||
	    (ca->offset && strcmp(ca->offset, "earliest") == 0))
		return RD_KAFKA_OFFSET_BEGINNING;
	if (!ca->offset || strcmp(ca->offset, "latest") == 0 ||
	    sl_parse_int(ca->offset, 0, INT64_MAX, &off))
		return RD_KAFKA_OFFSET_END;
	return off;
}

int
sl_consume_main(int argc, char **argv)
{
	struct consume_args ca = {
		.max_messages = -1,
		.partition = -1,
		.timeout_ms = -1,
		.fmt = {
			.print_value = true,
			.key_separator = "\t",
			.line_separator = "\n",
			.headers_separator = ",",
			.null_literal = "null",
		},
	};
	struct sigaction sa = { .sa_handler = consume_on_signal };
	rd_kafka_topic_partition_list_t *topics;
	uint64_t nb_msgs = 0, last_ns;
	rd_kafka_message_t *m;
	rd_kafka_resp_err_t err;
	rd_kafka_t *rk;
	int rc;

	rc = consume_parse_args(argc, argv, &ca);
	if (rc)
		return rc == 3 ? 0 : 2;
	rk = consume_create(&ca);
	if (!rk)
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	topics = rd_kafka_topic_partition_list_new(1);
	if (ca.partition >= 0) {
		/* one partition, no group: assign() at the asked offset */
		rd_kafka_topic_partition_list_add(topics, ca.topic,
			(int32_t)ca.partition)->offset =
			consume_start_offset(&ca);
		err = rd_kafka_assign(rk, topics);
	} else {
		rd_kafka_topic_partition_list_add(topics, ca.topic,
						  RD_KAFKA_PARTITION_UA);
		err = rd_kafka_subscribe(rk, topics);
	}
	rd_kafka_topic_partition_list_destroy(topics);
	if (err) {
		fprintf(stderr, "sluice consume: %s %s: %s\n",
			ca.partition >= 0 ? "assign" : "subscribe to",
			ca.topic, rd_kafka_err2str(err));
		rd_kafka_destroy(rk);
		return 1;
	}
	last_ns = sl_time_mono_ns();
	rc = 0;
	while (!consume_stop &&
	       (ca.max_messages < 0 || (int64_t)nb_msgs < ca.max_messages)) {
		m = rd_kafka_consumer_poll(rk, 100);
		if (!m) {
			if (ca.timeout_ms >= 0 && sl_time_mono_ns() - last_ns >
			    (uint64_t)ca.timeout_ms * SL_NS_PER_MS) {
				fprintf(stderr, "ERROR Error processing "
					"message, terminating consumer "
					"process: TimeoutException: no "
					"message for %lld ms\n",
					(long long)ca.timeout_ms);
				break;
			}
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "WARN %s\n",
					rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		last_ns = sl_time_mono_ns();
		consume_print(&ca.fmt, m, stdout);
		rd_kafka_message_destroy(m);
		nb_msgs++;
		if (fflush(stdout) == EOF) {
			/* the reader went away (| head): stop like Java */
			rc = 1;
			break;
		}
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	fprintf(stderr, "Processed a total of %llu messages\n",
		(unsigned long long)nb_msgs);
	return rc;
}
