/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka sink against librdkafka's mock cluster, in process: the seed's
 * config delivers its lines byte-exact, a large run loses nothing, and
 * under faults (brokers down, pushed retriable errors, leader down past
 * message.timeout.ms, RTT above the timeout, a leader move, a permanent
 * error on one topic) nothing is lost, duplicates stay within what was
 * retried and order holds where the setting promises it. Every load test
 * prints "REPORT name: lost= duplicates= reordered=".
 */
#include <fcntl.h>
#include <unistd.h>

#include "kafka_int.h"
#include "kafka_test.h"

static struct kt_mock mock;
static char dlq_path[128];

static void
setup(void)
{
	snprintf(dlq_path, sizeof(dlq_path), "/tmp/sluice-kt-dlq-%d.jsonl",
		 (int)getpid());
	unlink(dlq_path);
	kt_mock_start(&mock, 3);
}

static void
teardown(void)
{
	kt_mock_stop(&mock);
	unlink(dlq_path);
}

TestSuite(kafka_sink, .init = setup, .fini = teardown, .timeout = 240);

/* An agent a1: memory channel c1 -> Kafka sink k1, plus @extra lines. */
static void
open_agent(struct kt_agent *a, const char *topic, unsigned capacity,
	   const char *extra)
{
	kt_agent_open(a, "a1",
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.channels.c1.capacity = %u\n"
		"a1.channels.c1.transactionCapacity = 100\n"
		"a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
		"a1.sinks.k1.channel = c1\n"
		"a1.sinks.k1.kafka.bootstrap.servers = %s\n"
		"a1.sinks.k1.kafka.topic = %s\n"
		"a1.sinks.k1.flumeBatchSize = 20\n"
		"a1.sinks.k1.deadLetterFile = %s\n"
		"%s", capacity, mock.bootstrap, topic, dlq_path,
		extra ? extra : "");
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static const char *
src_path(const char *rel)
{
	static char buf[1024];
	const char *env = getenv("SLUICE_SRC");

	if (env) {
		snprintf(buf, sizeof(buf), "%s/%s", env, rel);
	} else {
		const char *me = __FILE__, *t = strstr(me, "tests/unit/");

		snprintf(buf, sizeof(buf), "%.*s%s", (int)(t - me), me, rel);
	}
	return buf;
}

static const char *const seed_lines[] = {
	"Hello Flume-Kafka Integration!",
	"User login: user001",
	"User action: view_product",
	"User logout: user001",
};

Test(kafka_sink, seed_config_delivers_the_seed_lines_byte_exact_to_mylog)
{
	char *text = read_file(src_path("deploy/conf/netcat-kafka.conf"));
	const char *old = "m1:9092,m2:9092,m3:9092";
	char *at = strstr(text, old), *conf;
	struct kt_agent a;
	struct kt_verify v;
	uint64_t deadline;
	unsigned i, nb_warn = 0;

	cr_assert_not_null(at, "the seed names brokerList %s", old);
	cr_assert_geq(asprintf(&conf, "%.*s%s%s", (int)(at - text), text,
			       mock.bootstrap, at + strlen(old)), 0);
	/* As the chapter does: mylog with one partition. */
	rd_kafka_mock_topic_create(mock.mc, "mylog", 1, 2);
	kt_agent_open(&a, "agent1", "%s", conf);
	for (i = 0; i < a.diag.n; i++)
		if (strstr(a.diag.v[i].text, "is deprecated, use"))
			nb_warn++;
	cr_expect_eq(nb_warn, 4, "one warning per deprecated name "
		     "(topic, brokerList, requiredAcks, batchSize)");
	kt_verify_start(&v, mock.bootstrap, "mylog", 1, 0, 16);
	/* netcat's events: the line without its newline */
	for (i = 0; i < 4; i++)
		cr_assert_eq(kt_put(&a, seed_lines[i], strlen(seed_lines[i]),
				    NULL, 0), 0);
	deadline = sl_time_mono_ns() + 60 * SL_NS_PER_SEC;
	while (sl_time_mono_ns() < deadline &&
	       (sl_channel_size(a.ch) > 0 ||
		__atomic_load_n(&v.nb_bodies, __ATOMIC_RELAXED) < 4))
		kt_run_once(&a);
	kt_verify_stop(&v);
	cr_assert_eq(v.nb_bodies, 4, "records in mylog: %u", v.nb_bodies);
	for (i = 0; i < 4; i++)
		cr_expect_str_eq(v.bodies[i], seed_lines[i]);
	cr_expect_eq(sl_channel_size(a.ch), 0);
	cr_expect_eq(a.sk->stats.event_drain_success_count, 4);
	cr_expect_eq(a.sk->stats.event_drain_attempt_count, 4);
	kt_verify_free(&v);
	kt_agent_close(&a);
	free(conf);
	free(text);
}

Test(kafka_sink, large_run_loses_nothing_and_counters_add_up)
{
	unsigned n = kt_size(20000);
	struct kt_agent a;
	struct kt_verify v;
	struct sl_sink_stats *st;

	rd_kafka_mock_topic_create(mock.mc, "big", 4, 3);
	open_agent(&a, "big", 10000,
		   "a1.sinks.k1.kafka.producer.statistics.interval.ms = 100\n");
	kt_verify_start(&v, mock.bootstrap, "big", 4, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, NULL, NULL);
	sl_time_sleep_ns(300 * SL_NS_PER_MS);
	kt_run_once(&a);	/* serve the last statistics */
	kt_verify_stop(&v);
	kt_report("large_run_pipelined_acks1", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_eq(v.foreign, 0);
	/* No fault, no retry: nothing may be duplicated or reordered. */
	cr_expect_eq(kt_stat(&a, "event_retries"), 0);
	cr_expect_eq(v.dups, 0);
	cr_expect_eq(v.reordered, 0);
	st = &a.sk->stats;
	cr_expect_eq(st->event_drain_success_count, n);
	cr_expect_eq(st->event_drain_attempt_count, n);
	cr_expect_eq(st->drain_bytes, (uint64_t)n * 1024);
	cr_expect_eq(a.ch->stats.event_take_success_count, n);
	cr_expect_geq(st->batch_complete_count, 1);
	cr_expect_leq(st->batch_complete_count * 20, n);
	cr_expect_eq(kt_stat(&a, "inflight_txns"), 0);
	cr_expect_eq(kt_stat(&a, "inflight_events"), 0);
	cr_expect(kt_stat_has(&a, "KafkaEventSendTimer"));
	cr_expect(kt_stat_has(&a, "broker_1_state"),
		  "broker states come from librdkafka's statistics");
	cr_expect_geq(st->connection_created_count, 1);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/*
 * Keyless takes are placed by the sink, a whole take on one partition
 * (kafka_sticky); with sticky.partitioning.linger.ms = 0 each take moves
 * to another. So every run of consecutive SEQs on one partition is one
 * take: at most flumeBatchSize long, and near it on average. librdkafka's
 * own partitioner, asked per message, would move at every message (runs
 * of ~1.3).
 */
Test(kafka_sink, keyless_takes_go_whole_to_one_partition)
{
	unsigned n = kt_size(4000), i, runs = 0, longest = 0, len = 0;
	unsigned per_part[4] = { 0 };
	struct kt_agent a;
	struct kt_verify v;

	rd_kafka_mock_topic_create(mock.mc, "sticky", 4, 3);
	/* No statistics: the partitions come from the metadata request the
	 * sink makes at start; until it is answered, librdkafka places
	 * them (per message). */
	open_agent(&a, "sticky", 1000, "a1.sinks.k1.kafka.producer."
		   "sticky.partitioning.linger.ms = 0\n"
		   "a1.sinks.k1.kafka.producer.statistics.interval.ms = 0\n");
	cr_assert_eq(kt_run_until_stat(&a, "sticky_partitions", 4, 10000), 4);
	kt_verify_start(&v, mock.bootstrap, "sticky", 4, n, 0);
	kt_load(&a, &mock, &v, n, 64, 120, NULL, NULL);
	kt_verify_stop(&v);
	kt_report("keyless_takes_sticky", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	for (i = 0; i < n; i++) {
		cr_assert(v.seen[i] >= 1 && v.seen[i] <= 4);
		per_part[v.seen[i] - 1]++;
		len = i > 0 && v.seen[i] == v.seen[i - 1] ? len + 1 : 1;
		if (len == 1)
			runs++;
		longest = SL_MAX(longest, len);
	}
	cr_assert_leq(longest, 20, "a run of %u: longer than a take",
		      longest);
	cr_assert_geq(n / runs, 10, "%u runs for %u events: placed per "
		      "message, not per take", runs, n);
	for (i = 0; i < 4; i++)
		cr_expect_gt(per_part[i], 0, "partition %u unused", i);
	cr_expect_eq(kt_stat(&a, "sticky_moves"),
		     kt_stat(&a, "sticky_takes"), "linger 0: every take moves");
	cr_expect_geq(kt_stat(&a, "sticky_takes"), runs);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/*
 * A partition that loses its leader is not placed on any more once
 * librdkafka's metadata says so: librdkafka's partitioner skips it, and so
 * does the sink's own placement (it learns of the loss from librdkafka's
 * statistics), rather than leave
 * takes waiting there for message.timeout.ms while every later take waits
 * to commit behind them.
 */
Test(kafka_sink, keyless_takes_skip_a_partition_without_a_leader)
{
	unsigned n = kt_size(3000);
	struct kt_agent a;
	struct kt_verify v;
	uint64_t t0;

	rd_kafka_mock_topic_create(mock.mc, "noleader", 4, 3);
	open_agent(&a, "noleader", 1000,
		   "a1.sinks.k1.kafka.producer.statistics.interval.ms = 100\n"
		   "a1.sinks.k1.kafka.producer.topic.metadata.refresh."
		   "interval.ms = 200\n"
		   "a1.sinks.k1.kafka.producer.message.timeout.ms = 120000\n"
		   "a1.sinks.k1.kafka.producer.sticky.partitioning.linger.ms ="
		   " 0\n");
	cr_assert_eq(kt_run_until_stat(&a, "sticky_partitions", 4, 10000), 4);
	cr_assert_eq(kt_stat(&a, "sticky_unavailable"), 0);
	rd_kafka_mock_partition_set_leader(mock.mc, "noleader", 2, -1);
	cr_assert_eq(kt_run_until_stat(&a, "sticky_unavailable", 1, 10000), 1);
	cr_assert_eq(kt_stat(&a, "sticky_partitions"), 4);
	kt_verify_start(&v, mock.bootstrap, "noleader", 4, n, 0);
	t0 = sl_time_mono_ns();
	kt_load(&a, &mock, &v, n, 64, 60, NULL, NULL);
	kt_verify_stop(&v);
	kt_report("keyless_takes_skip_leaderless", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u (waiting on the partition without "
		     "a leader?)", n - v.unique);
	cr_expect_eq(v.per_part[2], 0);
	cr_expect_lt(sl_time_mono_ns() - t0, 50 * SL_NS_PER_SEC);
	cr_expect_gt(kt_stat(&a, "sticky_takes"), 0);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/*
 * librdkafka's queue holds 30 messages and a take is 20: a take handed
 * over in one call meets the full queue part way, goes in as a prefix,
 * and the rest follows, before any later take, once reports free room.
 */
Test(kafka_sink, full_librdkafka_queue_mid_take_resumes_where_it_stopped)
{
	unsigned n = 3000;
	struct kt_agent a;
	struct kt_verify v;

	rd_kafka_mock_topic_create(mock.mc, "full", 1, 3);
	open_agent(&a, "full", 1000, "a1.sinks.k1.kafka.producer."
		   "queue.buffering.max.messages = 30\n");
	kt_verify_start(&v, mock.bootstrap, "full", 1, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 120, NULL, NULL);
	kt_verify_stop(&v);
	kt_report("queue_full_mid_take", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_gt(kt_stat(&a, "queue_full"), 0, "the queue never filled");
	cr_expect_eq(v.dups, 0);
	cr_expect_eq(v.reordered, 0, "one partition, no retry: in order");
	cr_expect_eq(kt_stat(&a, "event_retries"), 0);
	cr_expect_eq(a.sk->stats.event_drain_success_count, n);
	cr_expect_eq(kt_stat(&a, "inflight_events"), 0);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/* ---- faults ------------------------------------------------------------ */

/* A fault that starts once @at records went in and lasts @ms. */
struct fault_window {
	unsigned at;
	uint64_t ms;
	int state;		/* 0 before, 1 during, 2 after */
	uint64_t t0;
	uint64_t max_channel;	/* during */
	struct kt_agent *a;
	void (*begin)(struct kt_mock *m, struct fault_window *f);
	void (*end)(struct kt_mock *m, struct fault_window *f);
	int arg;
};

static void
fault_window_step(struct kt_mock *m, unsigned sent, void *arg)
{
	struct fault_window *f = arg;
	uint64_t now = sl_time_mono_ns();

	if (f->state == 0 && sent >= f->at) {
		f->begin(m, f);
		f->state = 1;
		f->t0 = now;
	} else if (f->state == 1) {
		f->max_channel = SL_MAX(f->max_channel,
					sl_channel_size(f->a->ch));
		if (now - f->t0 >= f->ms * SL_NS_PER_MS) {
			if (f->end)
				f->end(m, f);
			f->state = 2;
		}
	}
}

static void
all_down(struct kt_mock *m, struct fault_window *f)
{
	int b;

	for (b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_down(m->mc, b);
}

static void
all_up(struct kt_mock *m, struct fault_window *f)
{
	int b;

	for (b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_up(m->mc, b);
}

/*
 * All brokers down for 3 s, acks=all + idempotence, on topic @topic with
 * @extra; checks nothing is lost or reordered and returns the agent's
 * producer_stalls.
 */
static uint64_t
all_brokers_down_run(const char *topic, const char *report,
		     const char *extra)
{
	unsigned n = kt_size(6000);
	struct fault_window f = { .at = 1500, .ms = 3000, .begin = all_down,
				  .end = all_up };
	struct kt_agent a;
	struct kt_verify v;
	char conf[512];
	uint64_t stalls;

	rd_kafka_mock_topic_create(mock.mc, topic, 3, 3);
	snprintf(conf, sizeof(conf), "a1.sinks.k1.kafka.producer.acks = all\n"
		 "a1.sinks.k1.kafka.producer.enable.idempotence = true\n%s",
		 extra);
	open_agent(&a, topic, 2000, conf);
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, topic, 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report(report, &a, &v);
	cr_assert_eq(f.state, 2, "the outage happened and ended");
	cr_expect_eq(f.max_channel, 2000, "while the brokers were down the "
		     "events stayed in the channel until it was full");
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_eq(v.reordered, 0, "acks=all + idempotence keeps order");
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	stalls = kt_stat(&a, "producer_stalls");
	cr_expect_eq(kt_stat(&a, "producer_restarts"), stalls);
	kt_verify_free(&v);
	kt_agent_close(&a);
	return stalls;
}

Test(kafka_sink, all_brokers_down_then_up_is_backpressure_and_loses_nothing)
{
	cr_expect_eq(all_brokers_down_run("down", "all_brokers_down_idempotent",
					  ""), 0, "3 s is within stallTimeout");
}

/*
 * The same outage with stallTimeout 1: the producer is made again about
 * once a second while nothing answers (2-3 times here), each time with
 * what was in flight rolled back, and still nothing is lost or reordered.
 */
Test(kafka_sink, an_outage_past_stall_timeout_remakes_the_producer_and_loses_nothing)
{
	cr_expect_geq(all_brokers_down_run("down2", "outage_past_stall_timeout",
					   "a1.sinks.k1.stallTimeout = 1\n"),
		      1);
}

static void
push_retriable(struct kt_mock *m, struct fault_window *f)
{
	/* ApiKey 0 = Produce */
	rd_kafka_mock_push_request_errors(m->mc, 0, 9,
		RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
		RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
		RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
		RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
		RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
		RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
		RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
		RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
		RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
}

static void
run_pushed_errors(const char *name, const char *extra, bool promise_order)
{
	unsigned n = kt_size(6000);
	struct fault_window f = { .at = 1000, .ms = 0,
				  .begin = push_retriable };
	struct kt_agent a;
	struct kt_verify v;

	rd_kafka_mock_topic_create(mock.mc, "pushed", 3, 3);
	open_agent(&a, "pushed", 4000, extra);
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, "pushed", 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report(name, &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	if (promise_order)
		cr_expect_eq(v.reordered, 0, "%s promises order", name);
	/*
	 * Without idempotence a retried request may have been written
	 * (REQUEST_TIMED_OUT): librdkafka's own retries can duplicate up
	 * to what was in flight when the errors were injected.
	 */
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/*
 * The mock cannot stand in for a broker's idempotence checks: librdkafka
 * 2.0.2's mock validates producer sequence numbers only for transactional
 * producers (rd_kafka_mock_validate_records() returns at once without a
 * TransactionalId). So when an injected error refuses request N of a
 * partition while N+1 is in flight, the mock appends N+1, where a broker
 * would answer OUT_OF_ORDER_SEQUENCE_NUMBER; and the idempotent producer,
 * seeing a later sequence acknowledged, takes N as persisted and reports
 * it delivered (librdkafka issue #2501). The records of N are then missing
 * although every report succeeded: 2 of 6000 here once in some twenty CI
 * runs, ~530 in leader_move below. With one request in flight per broker
 * connection (and librdkafka draining a partition's requests before it
 * produces to a new leader) no later request of a partition is in flight
 * when one is refused, so these runs test the sink, not the mock; the
 * sink still has many takes in flight.
 */
#define KT_IDEMPOTENT_ON_MOCK \
	"a1.sinks.k1.kafka.producer.acks = all\n" \
	"a1.sinks.k1.kafka.producer.enable.idempotence = true\n" \
	"a1.sinks.k1.kafka.producer.max.in.flight.requests.per.connection" \
	" = 1\n"

Test(kafka_sink, pushed_retriable_errors_keep_order_with_idempotence)
{
	run_pushed_errors("pushed_errors_idempotent", KT_IDEMPOTENT_ON_MOCK,
			  true);
}

Test(kafka_sink, pushed_retriable_errors_keep_order_with_order_per_partition)
{
	run_pushed_errors("pushed_errors_order_per_partition_acks1",
			  "a1.sinks.k1.orderPerPartition = true\n", true);
}

Test(kafka_sink, pushed_retriable_errors_lose_nothing_pipelined_acks1)
{
	/* The default's caveat: order may break around a retried batch. */
	run_pushed_errors("pushed_errors_pipelined_acks1", NULL, false);
}

static void
leader_to_1_down(struct kt_mock *m, struct fault_window *f)
{
	rd_kafka_mock_broker_set_down(m->mc, 1);
}

static void
leader_1_up(struct kt_mock *m, struct fault_window *f)
{
	rd_kafka_mock_broker_set_up(m->mc, 1);
}

Test(kafka_sink, leader_down_longer_than_message_timeout_is_retried)
{
	unsigned n = kt_size(5000);
	struct fault_window f = { .at = 1000, .ms = 4000,
				  .begin = leader_to_1_down,
				  .end = leader_1_up };
	struct kt_agent a;
	struct kt_verify v;
	int p;

	rd_kafka_mock_topic_create(mock.mc, "lead", 2, 3);
	for (p = 0; p < 2; p++)
		rd_kafka_mock_partition_set_leader(mock.mc, "lead", p, 1);
	/* Java's name, translated to message.timeout.ms */
	open_agent(&a, "lead", 2000,
		   "a1.sinks.k1.kafka.producer.delivery.timeout.ms = 1500\n");
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, "lead", 2, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report("leader_down_past_message_timeout", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_gt(kt_stat(&a, "txn_retries"), 0,
		     "the timeouts reached the sink, which retried");
	cr_expect_gt(a.sk->stats.rollback_count, 0);
	cr_expect_gt(kt_stat(&a, "delivery_error__MSG_TIMED_OUT"), 0);
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	kt_verify_free(&v);
	kt_agent_close(&a);
}

Test(kafka_sink, leader_down_keeps_order_with_order_per_partition)
{
	unsigned n = kt_size(5000);
	struct fault_window f = { .at = 1000, .ms = 3000,
				  .begin = leader_to_1_down,
				  .end = leader_1_up };
	struct kt_agent a;
	struct kt_verify v;
	int p;

	rd_kafka_mock_topic_create(mock.mc, "lead1", 3, 3);
	for (p = 0; p < 3; p++)
		rd_kafka_mock_partition_set_leader(mock.mc, "lead1", p,
						   1 + p % 2);
	open_agent(&a, "lead1", 2000,
		   "a1.sinks.k1.orderPerPartition = true\n");
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, "lead1", 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report("leader_down_order_per_partition_acks1", &a, &v);
	cr_assert_eq(f.state, 2);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_eq(v.reordered, 0, "orderPerPartition promises order");
	cr_expect_gt(kt_stat(&a, "partition_waits"), 0,
		     "takes waited for their partition to be acknowledged");
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	kt_verify_free(&v);
	kt_agent_close(&a);
}

static void
raise_fatal(struct kt_mock *m, struct fault_window *f)
{
	cr_assert_eq(kafka_sink_test_fatal(f->a->sk), 0);
}

Test(kafka_sink, fatal_producer_error_makes_a_new_producer_and_loses_nothing)
{
	unsigned n = kt_size(6000);
	struct fault_window f = { .at = 2000, .ms = 0, .begin = raise_fatal };
	struct kt_agent a;
	struct kt_verify v;

	rd_kafka_mock_topic_create(mock.mc, "fatal", 3, 3);
	open_agent(&a, "fatal", 2000,
		   "a1.sinks.k1.kafka.producer.enable.idempotence = true\n");
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, "fatal", 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report("fatal_error_idempotent", &a, &v);
	cr_assert_eq(f.state, 2);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_eq(kt_stat(&a, "producer_restarts"), 1);
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	kt_verify_free(&v);
	kt_agent_close(&a);
}

static void
rtt_high(struct kt_mock *m, struct fault_window *f)
{
	int b;

	for (b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_rtt(m->mc, b, 2500);
}

static void
rtt_low(struct kt_mock *m, struct fault_window *f)
{
	int b;

	for (b = 1; b <= 3; b++)
		rd_kafka_mock_broker_set_rtt(m->mc, b, 0);
}

Test(kafka_sink, rtt_above_the_timeout_duplicates_stay_within_the_retried)
{
	unsigned n = kt_size(4000);
	struct fault_window f = { .at = 1000, .ms = 3000, .begin = rtt_high,
				  .end = rtt_low };
	struct kt_agent a;
	struct kt_verify v;

	rd_kafka_mock_topic_create(mock.mc, "rtt", 2, 3);
	open_agent(&a, "rtt", 2000,
		   "a1.sinks.k1.kafka.producer.delivery.timeout.ms = 1200\n"
		   "a1.sinks.k1.kafka.producer.socket.timeout.ms = 1000\n");
	f.a = &a;
	/*
	 * The RTT is set on every broker, so a verifier reading as the run
	 * goes would suffer it too (it stalled for minutes or skipped
	 * offsets on a loaded machine): the log is read afterwards.
	 * 256-byte records keep even 3n writes (n plus a bound of 4000-6000
	 * duplicates) in one partition under the mock's ~5 MiB.
	 */
	kt_load(&a, &mock, NULL, n, 256, 180, fault_window_step, &f);
	cr_assert_eq(f.state, 2);
	kt_verify_after(&v, mock.bootstrap, "rtt", 2, n, 120);
	kt_report("rtt_above_timeout", &a, &v);
	cr_assert_eq(v.skipped, 0, "the verifier read every offset");
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_leq(v.dups, kt_dup_bound(&a),
		      "duplicates are bounded by what was in flight");
	kt_verify_free(&v);
	kt_agent_close(&a);
}

static void
move_leaders(struct kt_mock *m, struct fault_window *f)
{
	int p;

	for (p = 0; p < 3; p++)
		rd_kafka_mock_partition_set_leader(m->mc, "move", p,
						   1 + (p + 1) % 3);
}

/*
 * Was a flake (3 in ~170 runs, then 0 in ~315): ~530 records missing while
 * the sink had a successful report for every one. The old leader refused a
 * request (NOT_LEADER) while a later one of the same partition was
 * appended without a sequence check: KT_IDEMPOTENT_ON_MOCK above says why
 * and how the run avoids it.
 */
Test(kafka_sink, leader_move_loses_nothing_and_keeps_order)
{
	unsigned n = kt_size(6000);
	struct fault_window f = { .at = 2000, .ms = 0, .begin = move_leaders };
	struct kt_agent a;
	struct kt_verify v;
	int p;

	rd_kafka_mock_topic_create(mock.mc, "move", 3, 3);
	for (p = 0; p < 3; p++)
		rd_kafka_mock_partition_set_leader(mock.mc, "move", p, 1 + p);
	open_agent(&a, "move", 4000, KT_IDEMPOTENT_ON_MOCK);
	f.a = &a;
	kt_verify_start(&v, mock.bootstrap, "move", 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 180, fault_window_step, &f);
	kt_verify_stop(&v);
	kt_report("leader_move_idempotent", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_expect_eq(v.reordered, 0);
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	kt_verify_free(&v);
	kt_agent_close(&a);
}

/*
 * A producer that goes silent: the leaders of partitions 0 and 2 write the
 * first ProduceRequest but hold its response for 10 minutes, within the
 * 15-minute request.timeout.ms set here, while the leader of partition 1
 * refuses 40 requests (retriably); the ordered modes never time a message
 * out, so no report comes. stallTimeout makes the producer again; without
 * it (stallTimeout = 0) the run ends at its 60 s with the takes still held
 * (checked: lost 2033, drained 0, inflight 2000). What the silent producer
 * had written comes again as duplicates; every event rolled back goes to
 * the partition it was on, so none lands after a later one (placed anew,
 * partition 1's takes followed later ones written on 0 and 2: reordered
 * 160-640 of 3000 in 4 of 4 runs with acks=all + idempotence).
 */
static void
silent_producer_run(const char *topic, const char *report, const char *mode)
{
	unsigned n = kt_size(3000);
	struct kt_agent a;
	struct kt_verify v;
	char conf[512];
	int p;

	rd_kafka_mock_topic_create(mock.mc, topic, 3, 3);
	for (p = 0; p < 3; p++)
		rd_kafka_mock_partition_set_leader(mock.mc, topic, p, 1 + p);
	for (p = 1; p <= 3; p += 2)
		cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(
			     mock.mc, p, 0 /* Produce */, 1,
			     RD_KAFKA_RESP_ERR_NO_ERROR, 600000),
			     RD_KAFKA_RESP_ERR_NO_ERROR);
	for (p = 0; p < 40; p++)
		cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(
			     mock.mc, 2, 0 /* Produce */, 1,
			     RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0),
			     RD_KAFKA_RESP_ERR_NO_ERROR);
	snprintf(conf, sizeof(conf), "%s"
		 "a1.sinks.k1.kafka.producer.request.timeout.ms = 900000\n"
		 "a1.sinks.k1.kafka.producer.sticky.partitioning.linger.ms = "
		 "1\n"
		 "a1.sinks.k1.stallTimeout = 2\n", mode);
	open_agent(&a, topic, 2000, conf);
	kt_verify_start(&v, mock.bootstrap, topic, 3, n, 0);
	kt_load(&a, &mock, &v, n, 1024, 60, NULL, NULL);
	kt_verify_stop(&v);
	kt_report(report, &a, &v);
	cr_assert_eq(v.unique, n, "lost %u", n - v.unique);
	cr_assert_geq(kt_stat(&a, "producer_stalls"), 1);
	cr_assert_geq(kt_stat(&a, "producer_restarts"), 1);
	cr_expect_gt(v.dups, 0, "the silent producer had written some");
	cr_expect_leq(v.dups, kt_dup_bound(&a));
	cr_expect_eq(v.reordered, 0, "reordered %u", v.reordered);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

Test(kafka_sink, a_silent_producer_is_made_again_after_stall_timeout)
{
	silent_producer_run("stall", "silent_producer_made_again",
			    "a1.sinks.k1.kafka.producer.acks = all\n"
			    "a1.sinks.k1.kafka.producer.enable.idempotence = "
			    "true\n");
}

/*
 * The same with orderPerPartition (one take per partition in flight): the
 * replay's pins go through the partition claims. Placed anew, round-robin
 * happened to keep order here too (old code: reordered 0 in 4 of 4 runs);
 * this checks that pinned takes are claimed, sent and committed.
 */
Test(kafka_sink, a_silent_producer_keeps_order_per_partition_when_made_again)
{
	silent_producer_run("stall1", "silent_producer_order_per_partition",
			    "a1.sinks.k1.orderPerPartition = true\n");
}

static unsigned
count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

Test(kafka_sink, permanent_error_on_one_topic_does_not_block_another)
{
	unsigned n = 2000, nb_bad = 0, sent = 0, i;
	const char *bad_hdr[] = { "topic", "secret" };
	uint64_t deadline;
	struct kt_agent a;
	struct kt_verify v;
	char body[64];

	rd_kafka_mock_topic_create(mock.mc, "good", 2, 3);
	rd_kafka_mock_topic_create(mock.mc, "secret", 2, 3);
	/*
	 * "secret" lives on broker 3, which refuses every produce with
	 * TOPIC_AUTHORIZATION_FAILED; "good" lives on brokers 1 and 2.
	 */
	for (i = 0; i < 2; i++) {
		rd_kafka_mock_partition_set_leader(mock.mc, "good", (int)i,
						   1 + (int)i);
		rd_kafka_mock_partition_set_leader(mock.mc, "secret", (int)i,
						   3);
	}
	for (i = 0; i < 2000; i++)
		rd_kafka_mock_broker_push_request_error_rtts(mock.mc, 3, 0, 1,
			RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0);
	open_agent(&a, "good", 1000, NULL);
	kt_verify_start(&v, mock.bootstrap, "good", 2, n, 0);
	deadline = sl_time_mono_ns() + 120 * SL_NS_PER_SEC;
	for (i = 0; sl_time_mono_ns() < deadline;) {
		while (i < n + n / 4) {
			/* every fifth event goes to the forbidden topic */
			bool bad = i % 5 == 4;
			int len = bad ? snprintf(body, sizeof(body),
						 "secret %u", nb_bad) :
				  snprintf(body, sizeof(body), "%u|", sent);

			if (kt_put(&a, body, (size_t)len, bad ? bad_hdr : NULL,
				   bad ? 1 : 0) < 0)
				break;
			nb_bad += bad;
			sent += !bad;
			i++;
		}
		kt_run_once(&a);
		if (i == n + n / 4 && sl_channel_size(a.ch) == 0 &&
		    kt_verify_unique(&v) >= n)
			break;
	}
	kt_verify_stop(&v);
	kt_report("permanent_error_other_topic_flows", &a, &v);
	cr_assert_eq(v.unique, n, "lost %u on the good topic", n - v.unique);
	cr_expect_eq(sl_channel_size(a.ch), 0);
	cr_expect_eq(kt_stat(&a, "dead_lettered"), nb_bad);
	cr_expect_eq(count_lines(dlq_path, "TOPIC_AUTHORIZATION_FAILED"),
		     nb_bad, "one dead-letter record per forbidden event");
	cr_expect_eq(a.sk->stats.event_drain_success_count, n + nb_bad,
		     "dead-lettered events are settled, never both dropped "
		     "and lost");
	kt_verify_free(&v);
	kt_agent_close(&a);
}

Test(kafka_sink, oversized_event_goes_to_the_dead_letter_file)
{
	struct kt_agent a;
	struct kt_verify v;
	char *big = malloc(5000);
	uint64_t deadline;

	memset(big, 'B', 5000);
	memcpy(big, "0|", 2);
	rd_kafka_mock_topic_create(mock.mc, "small", 1, 1);
	/* Java's max.request.size becomes librdkafka's message.max.bytes */
	open_agent(&a, "small", 100,
		   "a1.sinks.k1.kafka.producer.max.request.size = 4000\n");
	kt_verify_start(&v, mock.bootstrap, "small", 1, 2, 0);
	cr_assert_eq(kt_put(&a, big, 5000, NULL, 0), 0);
	cr_assert_eq(kt_put(&a, "1|fits", 6, NULL, 0), 0);
	deadline = sl_time_mono_ns() + 60 * SL_NS_PER_SEC;
	while (sl_time_mono_ns() < deadline &&
	       (sl_channel_size(a.ch) > 0 || kt_verify_unique(&v) < 1))
		kt_run_once(&a);
	kt_verify_stop(&v);
	cr_expect_eq(sl_channel_size(a.ch), 0);
	cr_expect_eq(v.unique, 1, "the event that fits arrives");
	cr_expect_eq(kt_stat(&a, "dead_lettered"), 1);
	cr_expect_eq(count_lines(dlq_path, "\"MSG_SIZE_TOO_LARGE\""), 1);
	/* "0|BBB..." in base64 starts with "MHxC" */
	cr_expect_eq(count_lines(dlq_path, "\"body_base64\":\"MHxCQkJC"), 1);
	kt_verify_free(&v);
	kt_agent_close(&a);
	free(big);
}

/* ---- what an event turns into ------------------------------------------ */

struct got_msg {
	int32_t partition;
	char key[32];
	char value[128];
	size_t value_len;
	int64_t ts;
	char hdr[64];
};

static unsigned
consume_all(const char *topic, int parts, struct got_msg *got, unsigned max,
	    unsigned want)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *tp;
	uint64_t deadline = sl_time_mono_ns() + 30 * SL_NS_PER_SEC;
	char errstr[256];
	unsigned n = 0;
	rd_kafka_t *rk;
	int i;

	rd_kafka_conf_set(conf, "bootstrap.servers", mock.bootstrap, errstr,
			  sizeof(errstr));
	rd_kafka_conf_set(conf, "group.id", "kt-fields", errstr,
			  sizeof(errstr));
	rd_kafka_conf_set_log_cb(conf, kt_quiet_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk);
	tp = rd_kafka_topic_partition_list_new(parts);
	for (i = 0; i < parts; i++)
		rd_kafka_topic_partition_list_add(tp, topic, i)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, tp);
	rd_kafka_topic_partition_list_destroy(tp);
	while (n < want && n < max && sl_time_mono_ns() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
		rd_kafka_headers_t *h = NULL;
		const void *hv;
		size_t hs;

		if (!m)
			continue;
		if (!m->err) {
			struct got_msg *g = &got[n++];

			memset(g, 0, sizeof(*g));
			g->partition = m->partition;
			snprintf(g->key, sizeof(g->key), "%.*s",
				 (int)m->key_len, (const char *)m->key);
			g->value_len = SL_MIN(m->len, sizeof(g->value));
			memcpy(g->value, m->payload, g->value_len);
			g->ts = rd_kafka_message_timestamp(m, NULL);
			if (rd_kafka_message_headers(m, &h) == 0 &&
			    rd_kafka_header_get_last(h, "kafka-host", &hv,
						     &hs) == 0)
				snprintf(g->hdr, sizeof(g->hdr), "%.*s",
					 (int)hs, (const char *)hv);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return n;
}

static void
drain(struct kt_agent *a)
{
	uint64_t deadline = sl_time_mono_ns() + 60 * SL_NS_PER_SEC;

	while (sl_channel_size(a->ch) > 0 && sl_time_mono_ns() < deadline)
		kt_run_once(a);
	cr_assert_eq(sl_channel_size(a->ch), 0);
}

Test(kafka_sink, headers_key_partition_timestamp_and_topic_override)
{
	const char *h1[] = { "key", "user42", "host", "web1", "ts",
			     "1700000000123", "part", "2" };
	const char *h2[] = { "topic", "other" };
	struct got_msg got[4];
	struct kt_agent a;

	rd_kafka_mock_topic_create(mock.mc, "fields", 4, 1);
	rd_kafka_mock_topic_create(mock.mc, "other", 1, 1);
	open_agent(&a, "fields", 100,
		   "a1.sinks.k1.partitionIdHeader = part\n"
		   "a1.sinks.k1.timestampHeader = ts\n"
		   "a1.sinks.k1.header.host = kafka-host\n");
	cr_assert_eq(kt_put(&a, "v1", 2, h1, 4), 0);
	cr_assert_eq(kt_put(&a, "v2", 2, h2, 1), 0);
	drain(&a);
	cr_assert_eq(consume_all("fields", 4, got, 4, 1), 1);
	cr_expect_eq(got[0].partition, 2, "partitionIdHeader");
	cr_expect_str_eq(got[0].key, "user42", "the key header");
	cr_expect_eq(got[0].ts, 1700000000123LL, "timestampHeader");
	cr_expect_str_eq(got[0].hdr, "web1", "header.host = kafka-host");
	cr_expect_eq(memcmp(got[0].value, "v1", 2), 0);
	cr_assert_eq(consume_all("other", 1, got, 4, 1), 1,
		     "allowTopicOverride: the topic header wins");
	cr_expect_eq(memcmp(got[0].value, "v2", 2), 0);
	kt_agent_close(&a);
}

/*
 * Without a usable timestampHeader (absent, or not a number) the message's
 * CreateTime is the wall-clock time it was produced, in ms (Flume: the
 * producer's time); the sink reads it once per batch it hands over.
 */
Test(kafka_sink, create_time_is_the_produce_time_without_a_timestamp_header)
{
	const char *bad[] = { "ts", "not-a-number" };
	struct got_msg got[8];
	struct kt_agent a;
	int64_t before, after;
	unsigned i, n;

	rd_kafka_mock_topic_create(mock.mc, "times", 1, 1);
	open_agent(&a, "times", 100, "a1.sinks.k1.timestampHeader = ts\n");
	before = (int64_t)sl_time_wall_ms();
	for (i = 0; i < 3; i++)
		cr_assert_eq(kt_put(&a, "plain", 5, NULL, 0), 0);
	cr_assert_eq(kt_put(&a, "badts", 5, bad, 1), 0);
	drain(&a);
	after = (int64_t)sl_time_wall_ms();
	n = consume_all("times", 1, got, 8, 4);
	cr_assert_eq(n, 4);
	for (i = 0; i < n; i++)
		cr_expect(got[i].ts >= before && got[i].ts <= after,
			  "message %u: CreateTime %lld outside [%lld, %lld]", i,
			  (long long)got[i].ts, (long long)before,
			  (long long)after);
	kt_agent_close(&a);
}

Test(kafka_sink, flume_event_format_is_avro_and_topic_substitution)
{
	const char *h[] = { "app", "web" };
	/* AvroFlumeEvent: map block of 1 (zigzag 2), "app"->"web", end 0,
	 * then bytes "hi" */
	static const uint8_t want[] = { 2, 6, 'a', 'p', 'p', 6, 'w', 'e', 'b',
					0, 4, 'h', 'i' };
	struct got_msg got[2];
	struct kt_agent a;

	rd_kafka_mock_topic_create(mock.mc, "logs-web", 1, 1);
	open_agent(&a, "logs-%{app}", 100,
		   "a1.sinks.k1.useFlumeEventFormat = true\n");
	cr_assert_eq(kt_put(&a, "hi", 2, h, 1), 0);
	drain(&a);
	cr_assert_eq(consume_all("logs-web", 1, got, 2, 1), 1,
		     "kafka.topic %%{app} became logs-web");
	cr_assert_eq(got[0].value_len, sizeof(want));
	cr_expect_eq(memcmp(got[0].value, want, sizeof(want)), 0);
	kt_agent_close(&a);
}

Test(kafka_sink, unknown_topic_is_dead_lettered_after_metadata_propagation)
{
	const char *ghost[] = { "topic", "ghost" };
	struct kt_agent a;
	struct kt_verify v;
	uint64_t deadline;

	rd_kafka_mock_topic_create(mock.mc, "real", 1, 1);
	rd_kafka_mock_topic_set_error(mock.mc, "ghost",
		RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	open_agent(&a, "real", 100,
		   "a1.sinks.k1.kafka.producer.topic.metadata.propagation."
		   "max.ms = 1000\n");
	kt_verify_start(&v, mock.bootstrap, "real", 1, 2, 0);
	cr_assert_eq(kt_put(&a, "0|a", 3, NULL, 0), 0);
	cr_assert_eq(kt_put(&a, "lost?", 5, ghost, 1), 0);
	cr_assert_eq(kt_put(&a, "1|b", 3, NULL, 0), 0);
	deadline = sl_time_mono_ns() + 90 * SL_NS_PER_SEC;
	while (sl_time_mono_ns() < deadline &&
	       (sl_channel_size(a.ch) > 0 || kt_verify_unique(&v) < 2))
		kt_run_once(&a);
	kt_verify_stop(&v);
	cr_expect_eq(v.unique, 2, "the events to the real topic arrive");
	cr_expect_eq(sl_channel_size(a.ch), 0, "nothing stays stuck");
	cr_expect_eq(kt_stat(&a, "dead_lettered"), 1);
	cr_expect_eq(count_lines(dlq_path, "\"topic\":\"ghost\""), 1);
	kt_verify_free(&v);
	kt_agent_close(&a);
}

Test(kafka_sink, retry_policy_keeps_an_undeliverable_event_in_the_channel)
{
	struct kt_agent a;
	char *big = malloc(5000);
	uint64_t end;

	memset(big, 'B', 5000);
	rd_kafka_mock_topic_create(mock.mc, "small2", 1, 1);
	open_agent(&a, "small2", 100,
		   "a1.sinks.k1.kafka.producer.max.request.size = 4000\n"
		   "a1.sinks.k1.deadLetterPolicy = retry\n");
	cr_assert_eq(kt_put(&a, big, 5000, NULL, 0), 0);
	end = sl_time_mono_ns() + 2 * SL_NS_PER_SEC;
	while (sl_time_mono_ns() < end)
		kt_run_once(&a);
	cr_expect_eq(sl_channel_size(a.ch), 1, "never dropped, never acked");
	cr_expect_eq(kt_stat(&a, "dead_lettered"), 0);
	cr_expect_gt(kt_stat(&a, "delivery_error_MSG_SIZE_TOO_LARGE"), 0);
	cr_expect_gt(a.sk->stats.rollback_count, 0);
	cr_expect_eq(a.sk->stats.event_drain_success_count, 0);
	kt_agent_close(&a);
	free(big);
}
