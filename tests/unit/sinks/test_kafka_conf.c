/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka sink's properties through the real loader: Flume's names and
 * the deprecated ones (one warning each, the new name winning), the
 * `kafka.producer.*` pass-through with the Java names translated, and bad
 * values failing the load as FILE:LINE with librdkafka's own message.
 * Nothing here contacts a broker.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sl_control.h"
#include "kafka_int.h"

static struct sl_conf conf;
static struct sl_plan plan;
static struct sl_diag diag;

static void
reset(void)
{
	memset(&conf, 0, sizeof(conf));
	memset(&plan, 0, sizeof(plan));
	memset(&diag, 0, sizeof(diag));
}

static void
cleanup(void)
{
	sl_plan_free(&plan);
	sl_conf_free(&conf);
	sl_diag_free(&diag);
}

TestSuite(kafka_conf, .init = reset, .fini = cleanup);

/*
 * Load a1 (memory channel c1, Kafka sink k1 on line 6 onwards) with the
 * sink lines @sink_lines appended. Returns the number of errors.
 */
static int
load(const char *sink_lines)
{
	char *text;
	int n;

	n = asprintf(&text,
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.type = kafka\n"
		"a1.sinks.k1.channel = c1\n"
		"%s", sink_lines);
	cr_assert_geq(n, 0);
	cr_assert_eq(sl_conf_parse_string(&conf, "k.conf", text, strlen(text),
					  &diag), 0);
	free(text);
	return sl_plan_build(&conf, "a1", &plan, &diag);
}

static const struct kafka_settings *
sink_settings(void)
{
	size_t i;

	for (i = 0; i < plan.nb_comps; i++)
		if (plan.comps[i].kind == SL_COMP_SINK)
			return plan.comps[i].settings;
	cr_assert_fail("no sink in the plan");
	return NULL;
}

/* True if some diag line equals @want exactly. */
static bool
has_line(const char *want)
{
	size_t i;

	for (i = 0; i < diag.n; i++)
		if (strcmp(diag.v[i].text, want) == 0)
			return true;
	return false;
}

static bool
has_prefix(const char *want)
{
	size_t i;

	for (i = 0; i < diag.n; i++)
		if (strncmp(diag.v[i].text, want, strlen(want)) == 0)
			return true;
	return false;
}

static void
dump(void)
{
	size_t i;

	for (i = 0; i < diag.n; i++)
		cr_log_info("diag: %s", diag.v[i].text);
}

Test(kafka_conf, flume_names_and_defaults)
{
	const struct kafka_settings *s;

	cr_assert_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b1:9092\n"),
		     0);
	s = sink_settings();
	cr_expect_str_eq(s->bootstrap, "b1:9092");
	cr_expect_str_eq(s->topic, "default-flume-topic");
	cr_expect_eq(s->batch, 100);
	cr_expect_str_eq(s->acks, "1");
	cr_expect_eq(s->flume_format, false);
	cr_expect_eq(s->default_partition, -1);
	cr_expect_eq(s->allow_topic_override, true);
	cr_expect_str_eq(s->topic_header, "topic");
	cr_expect_eq(diag.nb_warnings, 0);
}

Test(kafka_conf, deprecated_names_map_with_one_warning_each)
{
	const struct kafka_settings *s;

	cr_assert_eq(load("a1.sinks.k1.topic = mylog\n"
			  "a1.sinks.k1.brokerList = m1:9092,m2:9092\n"
			  "a1.sinks.k1.requiredAcks = 1\n"
			  "a1.sinks.k1.batchSize = 20\n"), 0);
	dump();
	s = sink_settings();
	cr_expect_str_eq(s->topic, "mylog");
	cr_expect_str_eq(s->bootstrap, "m1:9092,m2:9092");
	cr_expect_str_eq(s->acks, "1");
	cr_expect_eq(s->batch, 20);
	cr_expect_eq(diag.nb_warnings, 4);
	cr_expect(has_line("k.conf:6: warning: a1.sinks.k1.topic is "
			   "deprecated, use kafka.topic"));
	cr_expect(has_line("k.conf:7: warning: a1.sinks.k1.brokerList is "
			   "deprecated, use kafka.bootstrap.servers"));
	cr_expect(has_line("k.conf:8: warning: a1.sinks.k1.requiredAcks is "
			   "deprecated, use kafka.producer.acks"));
	cr_expect(has_line("k.conf:9: warning: a1.sinks.k1.batchSize is "
			   "deprecated, use flumeBatchSize"));
}

Test(kafka_conf, new_name_wins_over_the_deprecated_one)
{
	const struct kafka_settings *s;

	cr_assert_eq(load("a1.sinks.k1.brokerList = old:9092\n"
			  "a1.sinks.k1.kafka.bootstrap.servers = new:9092\n"
			  "a1.sinks.k1.batchSize = 20\n"
			  "a1.sinks.k1.flumeBatchSize = 50\n"
			  "a1.sinks.k1.topic = old\n"
			  "a1.sinks.k1.kafka.topic = new\n"), 0);
	s = sink_settings();
	cr_expect_str_eq(s->bootstrap, "new:9092");
	cr_expect_eq(s->batch, 50);
	cr_expect_str_eq(s->topic, "new");
	cr_expect(has_line("k.conf:6: warning: a1.sinks.k1.brokerList is "
			   "deprecated and ignored, kafka.bootstrap.servers "
			   "is set"));
	cr_expect(has_line("k.conf:8: warning: a1.sinks.k1.batchSize is "
			   "deprecated and ignored, flumeBatchSize is set"));
}

Test(kafka_conf, guide_spelling_kafka_flume_batch_size_is_accepted)
{
	cr_assert_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.flumeBatchSize = 20\n"), 0);
	cr_expect_eq(sink_settings()->batch, 20);
}

Test(kafka_conf, bootstrap_servers_are_required)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.topic = t\n"), 1);
	dump();
	cr_expect(has_line("k.conf:4: a1.sinks.k1: kafka.bootstrap.servers "
			   "is required"));
}

Test(kafka_conf, bad_batch_size_and_batch_over_transaction_capacity)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.flumeBatchSize = twenty\n"), 1);
	cr_expect(has_prefix("k.conf:7: a1.sinks.k1.flumeBatchSize: 'twenty' "
			     "is not an integer"));
	cleanup();
	reset();
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.batchSize = 500\n"), 1);
	dump();
	cr_expect(has_prefix("k.conf:7: a1.sinks.k1: flumeBatchSize 500 "
			     "(from batchSize) is greater than "
			     "transactionCapacity 100"));
}

Test(kafka_conf, producer_properties_go_to_librdkafka)
{
	rd_kafka_conf_t *rc = rd_kafka_conf_new();
	char v[64];
	size_t n = sizeof(v);
	const struct sl_plan_comp *pc;

	cr_assert_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.linger.ms = 7\n"
			  "a1.sinks.k1.kafka.producer.compression.type = lz4\n"
			  "a1.sinks.k1.kafka.producer.delivery.timeout.ms = "
			  "45000\n"
			  "a1.sinks.k1.kafka.producer.buffer.memory = "
			  "33554432\n"
			  "a1.sinks.k1.kafka.producer.max.request.size = "
			  "2000000\n"
			  "a1.sinks.k1.kafka.producer.acks = all\n"), 0);
	dump();
	cr_expect_eq(diag.nb_warnings, 0, "every key was claimed");
	pc = &plan.comps[1];
	cr_assert_eq(pc->kind, SL_COMP_SINK);
	cr_assert_eq(kafka_conf_apply_producer(rc, &pc->props, "all", NULL), 0);
	cr_assert_eq(rd_kafka_conf_get(rc, "linger.ms", v, &n),
		     RD_KAFKA_CONF_OK);
	cr_expect_str_eq(v, "7");
	n = sizeof(v);
	rd_kafka_conf_get(rc, "message.timeout.ms", v, &n);
	cr_expect_str_eq(v, "45000", "delivery.timeout.ms is translated");
	n = sizeof(v);
	rd_kafka_conf_get(rc, "queue.buffering.max.kbytes", v, &n);
	cr_expect_str_eq(v, "32768", "buffer.memory bytes become KiB");
	n = sizeof(v);
	rd_kafka_conf_get(rc, "message.max.bytes", v, &n);
	cr_expect_str_eq(v, "2000000");
	n = sizeof(v);
	rd_kafka_conf_get(rc, "acks", v, &n);
	cr_expect_str_eq(v, "-1", "acks=all");
	rd_kafka_conf_destroy(rc);
}

/* librdkafka's value of @name in @rc (a static buffer). */
static const char *
rc_get(const rd_kafka_conf_t *rc, const char *name)
{
	static char v[64];
	size_t n = sizeof(v);

	cr_assert_eq(rd_kafka_conf_get(rc, name, v, &n), RD_KAFKA_CONF_OK,
		     "%s", name);
	return v;
}

/* kafka_conf_build() on the loaded sink's properties. */
static rd_kafka_conf_t *
build(bool order_per_partition)
{
	struct kafka_settings set = {
		.acks = "1", .batch = 20,
		.order_per_partition = order_per_partition,
	};
	rd_kafka_conf_t *rc;
	int nb_errors = -1;

	rc = kafka_conf_build(&set, &plan.comps[1].props, NULL, &nb_errors);
	cr_assert_not_null(rc);
	cr_assert_eq(nb_errors, 0);
	return rc;
}

Test(kafka_conf, sluice_defaults_fill_only_what_the_user_left_unset)
{
	rd_kafka_conf_t *rc;

	cr_assert_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"), 0);
	rc = build(false);
	cr_expect_str_eq(rc_get(rc, "partitioner"), "murmur2_random");
	cr_expect_str_eq(rc_get(rc, "statistics.interval.ms"), "5000");
	cr_expect_str_eq(rc_get(rc, "message.timeout.ms"), "120000");
	cr_expect_str_eq(rc_get(rc, "message.copy.max.bytes"),
			 KAFKA_COPY_MAX_BYTES, "1 KiB bodies go zero-copy");
	cr_expect_str_neq(rc_get(rc, "message.copy.max.bytes"), "65535");
	cr_expect_str_eq(rc_get(rc, "max.in.flight.requests.per.connection"),
			 "1000000", "pipelined: librdkafka's own");
	rd_kafka_conf_destroy(rc);
	rc = build(true);
	cr_expect_str_eq(rc_get(rc, "message.timeout.ms"), "0",
			 "ordered modes retry for ever");
	cr_expect_str_eq(rc_get(rc, "max.in.flight.requests.per.connection"),
			 "1");
	cr_expect_str_eq(rc_get(rc, "batch.num.messages"), "10000");
	rd_kafka_conf_destroy(rc);
	cleanup();
	reset();
	cr_assert_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.message.copy.max.bytes"
			  " = 65535\n"
			  "a1.sinks.k1.kafka.producer.partitioner = random\n"
			  "a1.sinks.k1.kafka.producer.delivery.timeout.ms ="
			  " 30000\n"), 0);
	rc = build(true);
	cr_expect_str_eq(rc_get(rc, "message.copy.max.bytes"), "65535");
	cr_expect_str_eq(rc_get(rc, "partitioner"), "random");
	cr_expect_str_eq(rc_get(rc, "message.timeout.ms"), "30000",
			 "the Java name counts as set");
	rd_kafka_conf_destroy(rc);
}

Test(kafka_conf, bad_producer_value_fails_with_librdkafkas_message)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.linger.ms = soon\n"), 1);
	dump();
	cr_expect(has_line("k.conf:7: a1.sinks.k1.kafka.producer.linger.ms: "
			   "librdkafka: Invalid value for configuration "
			   "property \"queue.buffering.max.ms\""));
}

Test(kafka_conf, unknown_producer_property_fails_the_load)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.lingr.ms = 5\n"), 1);
	cr_expect(has_line("k.conf:7: a1.sinks.k1.kafka.producer.lingr.ms: "
			   "librdkafka: No such configuration property: "
			   "\"lingr.ms\""));
}

Test(kafka_conf, bad_acks_fails_the_load)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.requiredAcks = most\n"), 1);
	dump();
	cr_expect(has_prefix("k.conf:7: a1.sinks.k1.requiredAcks: librdkafka"));
}

Test(kafka_conf, java_only_names_are_refused_or_ignored_with_a_reason)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.partitioner.class = "
			  "com.x.P\n"
			  "a1.sinks.k1.kafka.producer.key.serializer = "
			  "org.apache.kafka.common.serialization."
			  "ByteArraySerializer\n"), 1);
	dump();
	cr_expect(has_prefix("k.conf:7: a1.sinks.k1.kafka.producer."
			     "partitioner.class: not supported: Java classes "
			     "cannot be loaded"));
	cr_expect(has_prefix("k.conf:8: warning: a1.sinks.k1.kafka.producer."
			     "key.serializer: ignored"));
}

Test(kafka_conf, conflicting_producer_settings_fail_at_load)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.enable.idempotence = "
			  "true\n"
			  "a1.sinks.k1.kafka.producer.acks = 1\n"), 1);
	dump();
	cr_expect(has_line("k.conf:7: a1.sinks.k1: librdkafka: `acks` must be "
			   "set to `all` when `enable.idempotence` is true"));
}

Test(kafka_conf, idempotence_without_acks_means_acks_all)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.kafka.producer.enable.idempotence = "
			  "true\n"), 0);
}

Test(kafka_conf, header_mappings_and_bad_policy)
{
	cr_expect_eq(load("a1.sinks.k1.kafka.bootstrap.servers = b:1\n"
			  "a1.sinks.k1.header.host = kafka-host\n"
			  "a1.sinks.k1.header.empty =\n"
			  "a1.sinks.k1.deadLetterPolicy = drop\n"), 2);
	dump();
	cr_expect(has_line("k.conf:8: a1.sinks.k1.header.empty: empty value"));
	cr_expect(has_line("k.conf:9: a1.sinks.k1.deadLetterPolicy: 'drop' is "
			   "not a policy (allowed: file, retry)"));
}

Test(kafka_conf, avro_encoding_of_a_flume_event)
{
	struct sl_event ev = { .body = (const uint8_t *)"body",
			       .body_len = 4, .nb_headers = 0 };
	static const uint8_t want[] = { 0, 8, 'b', 'o', 'd', 'y' };
	uint8_t out[64];

	cr_assert_eq(kafka_avro_encode(&ev, out, sizeof(out)), sizeof(want));
	cr_expect_eq(memcmp(out, want, sizeof(want)), 0);
	cr_expect_eq(kafka_avro_encode(&ev, out, 3), 0, "too small");
}

Test(kafka_conf, dead_letter_record_is_one_json_line)
{
	struct sl_event ev = { .body = (const uint8_t *)"ab\ncd",
			       .body_len = 5, .nb_headers = 1 };
	size_t len = 0;
	char *rec;

	ev.hdrs[0] = (struct sl_header){ "host", "h1", 4, 2 };
	rec = kafka_dlq_record("k1", "t", 3,
			       RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, &ev, 1000,
			       &len);
	cr_assert_not_null(rec);
	cr_expect_eq(strlen(rec), len);
	cr_expect_eq(rec[len - 1], '\n');
	cr_expect_null(memchr(rec, '\n', len - 1), "one line");
	cr_expect_not_null(strstr(rec, "\"body_base64\":\"YWIKY2Q=\""));
	cr_expect_not_null(strstr(rec, "\"headers\":{\"host\":\"h1\"}"));
	cr_expect_not_null(strstr(rec, "\"error\":\"MSG_SIZE_TOO_LARGE\""));
	free(rec);
}

Test(kafka_conf, dead_letter_record_keeps_non_utf8_headers_in_base64)
{
	struct sl_event ev = { .body = (const uint8_t *)"x", .body_len = 1,
			       .nb_headers = 1 };
	size_t len = 0;
	char *rec;

	ev.hdrs[0] = (struct sl_header){ "bin", "\xff\xfe", 3, 2 };
	rec = kafka_dlq_record("k1", "t", 0, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
			       &ev, 1, &len);
	cr_assert_not_null(rec);
	cr_expect_not_null(strstr(rec, "\"binary_headers\":[{"), "%s", rec);
	cr_expect_not_null(strstr(rec, "\"val_base64\":\"//4=\""), "%s", rec);
	cr_expect_not_null(strstr(rec, "\"key_base64\":\"Ymlu\""), "%s", rec);
	free(rec);
}
