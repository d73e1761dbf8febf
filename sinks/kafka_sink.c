/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's KafkaSink on librdkafka. The runner thread takes transactions of
 * flumeBatchSize events, hands every event to librdkafka (no copy: the
 * value points into channel memory, valid until the take commits), polls
 * delivery reports without waiting, and commits each take to the channel,
 * in take order, once all its events are delivered. Many takes are in
 * flight at once. A delivery error fences the sink: nothing new is
 * produced, every outstanding report is collected, then the failed take
 * and every later one are rolled back and produced again. Events that can
 * never be delivered go to the dead-letter file and are counted.
 * Created on the control thread; process()/flush() run on the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "kafka_int.h"
#include "sl_log.h"
#include "sl_sink.h"
#include "sl_time.h"

#define KAFKA_DEFAULT_TOPIC	"default-flume-topic"
#define KAFKA_MAX_INFLIGHT	4096
#define KAFKA_AUTO_INFLIGHT_EVENTS 40960	/* auto window, in events */
#define KAFKA_TAKES_PER_CALL	8
#define KAFKA_ERR_MIN		(-200)
#define KAFKA_ERR_SLOTS		400
#define KAFKA_MAX_BROKERS	32
#define KAFKA_MAX_TOPICS	64
#define KAFKA_RETRY_MIN_NS	(100 * SL_NS_PER_MS)
#define KAFKA_RETRY_MAX_NS	(5 * SL_NS_PER_SEC)
#define KAFKA_TOPIC_MAX		249	/* Kafka's own limit */
#define KAFKA_META_TIMEOUT_MS	5000

/* Opaque of one produced message: txn slot, generation, event index. */
#define OPQ_SLOT_SHIFT		48
#define OPQ_GEN_SHIFT		20
#define OPQ_GEN_MASK		0x0FFFFFFFu
#define OPQ_IDX_MASK		0xFFFFFu

enum kafka_dlq_policy {
	KAFKA_DLQ_FILE,		/* append to deadLetterFile, count, commit */
	KAFKA_DLQ_RETRY,	/* never give up: retry like any error */
};

/* One take in flight. */
struct kafka_txn {
	struct sl_take *take;
	uint32_t gen;
	unsigned nb_produced;	/* handed to librdkafka (or settled) */
	unsigned nb_done;	/* delivered or dead-lettered */
	bool failed;
	bool assigned;		/* orderPerPartition: partitions chosen */
	bool pinned;		/* pin[] holds a partition for some event */
	/* The ordered modes, per event: the partition it was handed to
	 * librdkafka with (UA: -1), then the one its report names
	 * (orderPerPartition: the one chosen); and the one it must go to. */
	int32_t *parts;
	int32_t *pin;
	uint16_t *topic_ids;	/* orderPerPartition: per event */
	uint64_t t_first_ns;
	uint64_t t_last_ns;
};

/* orderPerPartition: a topic's partitions and which take holds each. */
struct kafka_topic_state {
	char *name;
	rd_kafka_topic_t *rkt;
	int32_t nb_parts;	/* 0: unknown yet (metadata thread asks) */
	uint32_t *owner;	/* gen + 1 of the take holding it; 0: free */
	uint32_t rr;		/* next partition for keyless events */
};

struct kafka_broker {
	int32_t id;
	char state[16];
	uint64_t rtt_avg_us;
	uint64_t rtt_p99_us;
	bool up;
};

/* sluice's own counters; the runner writes, the control thread reads. */
struct kafka_stats {
	uint64_t send_timer_ms;		/* KafkaEventSendTimer */
	uint64_t inflight_txns;
	uint64_t inflight_events;
	uint64_t txn_retries;
	uint64_t event_retries;
	uint64_t delivery_errors;
	uint64_t dead_lettered;
	uint64_t dead_letter_failures;
	uint64_t stale_reports;
	uint64_t queue_full;
	uint64_t fences;
	uint64_t partition_waits;
	uint64_t producer_restarts;
	uint64_t producer_stalls;
	uint64_t sticky_partitions;	/* kafka_sticky's; 0: librdkafka's */
	uint64_t sticky_unavailable;	/* ... of them without a leader */
	uint64_t sticky_takes;		/* placed whole by kafka_sticky() */
	uint64_t sticky_moves;
};

struct kafka_sink {
	struct sl_sink base;
	rd_kafka_t *rk;
	rd_kafka_conf_t *conf_tmpl;	/* to make the producer again */
	/* The producer must be made again: librdkafka raised a fatal error,
	 * or it gave no report for stallTimeout with events in flight. */
	bool remake;
	bool remake_fenced;
	uint64_t stall_ns;		/* stallTimeout; 0: never */
	uint64_t last_report_ns;	/* poll_ns of the latest report */
	rd_kafka_topic_t *rkt;		/* the fixed topic, or NULL */
	char *topic;			/* kafka.topic (template) */
	bool topic_dynamic;		/* holds %{header} */
	unsigned batch;
	unsigned max_inflight;
	bool flume_format;
	int32_t default_partition;
	char *partition_header;
	bool allow_topic_override;
	char *topic_header;
	char *timestamp_header;
	struct kafka_header_map hmap[KAFKA_MAX_HEADER_MAP];
	int nb_hmap;
	bool order_per_partition;
	char acks[16];
	bool idempotent;
	bool ordered;		/* idempotent or orderPerPartition */

	/* The ordered modes' replay: the partition of every event rolled
	 * back, in channel order, pinned on it when it is taken again
	 * (kafka_replay_save). Runner thread. */
	int32_t *replay, *replay_tmp;
	unsigned replay_cap, replay_len, replay_pos;

	/* Keyless plain takes: the sink's sticky partition (kafka_sticky).
	 * Runner thread (librdkafka's statistics are served there too). */
	bool sticky_ok;			/* false: librdkafka places them */
	uint32_t sticky_seen_gen;	/* sticky_meta_gen last copied */
	int32_t sticky_nb;		/* partitions; 0: not known yet */
	uint8_t *sticky_down;		/* [sticky_nb]: 1 = no leader */
	int32_t sticky_part;		/* -1: choose one */
	uint64_t sticky_until_ns;
	uint64_t sticky_linger_ns;
	uint32_t sticky_rand;

	/* In-flight takes: a ring in take order. Runner thread. */
	struct kafka_txn *txns;
	unsigned head, nb_txns;
	uint32_t next_gen;
	uint64_t nb_outstanding;	/* produced, no report yet */
	uint64_t poll_ns;		/* clock read once per poll */
	bool fence;
	unsigned fence_pos;		/* first take to roll back */
	uint64_t retry_at_ns;
	uint64_t retry_backoff_ns;

	/* Dead letters. */
	enum kafka_dlq_policy dlq_policy;
	char *dlq_path;
	int dlq_fd;

	rd_kafka_message_t *msgs;	/* batch: one take's messages */
	uint8_t *avro_buf;
	size_t avro_size;
	char topic_buf[KAFKA_TOPIC_MAX + 1];
	struct sl_log_ratelimit rl_err;
	struct sl_log_ratelimit rl_dlq;
	struct sl_log_ratelimit rl_retry;
	rd_kafka_resp_err_t last_err;	/* for the retry log line */

	/* orderPerPartition: topics and their partition counts. */
	struct kafka_topic_state topics[KAFKA_MAX_TOPICS];
	unsigned nb_topics;		/* written by the runner only */
	pthread_mutex_t meta_lock;	/* nb_parts, meta_want, meta_stop */
	pthread_cond_t meta_cond;
	pthread_t meta_thread;
	bool meta_running;
	bool meta_stop;
	bool meta_want;
	/* kafka_sticky's first view, from a metadata request (meta_lock):
	 * librdkafka's statistics come only after statistics.interval.ms. */
	bool sticky_meta_want;
	int32_t sticky_meta_nb;
	uint8_t *sticky_meta_down;
	uint32_t sticky_meta_gen;	/* release: meta thread */

	/* Stats. */
	struct kafka_stats st;
	uint64_t err_by_code[KAFKA_ERR_SLOTS];
	pthread_mutex_t brokers_lock;	/* brokers[] from statistics JSON */
	struct kafka_broker brokers[KAFKA_MAX_BROKERS];
	unsigned nb_brokers;
};

#define KOFF(f) offsetof(struct kafka_settings, f)

/*
 * Flume's names (KafkaSinkConstants), deprecated ones mapping to them.
 * `kafka.producer.*` and `header.*` are open families, claimed by
 * kafka_validate(). The last keys are sluice's own.
 */
static const struct sl_key kafka_keys[] = {
	{ "kafka.bootstrap.servers", SL_KEY_STR, NULL, KOFF(bootstrap),
	  .required = true, .help = "host:port[,host:port...] of the "
	  "brokers to bootstrap from" },
	{ "brokerList", SL_KEY_STR, NULL, KOFF(bootstrap),
	  .alias_of = "kafka.bootstrap.servers" },
	{ "kafka.topic", SL_KEY_STR, KAFKA_DEFAULT_TOPIC, KOFF(topic),
	  .help = "topic to publish to; %{header} is replaced by that "
	  "header's value" },
	{ "topic", SL_KEY_STR, NULL, KOFF(topic), .alias_of = "kafka.topic" },
	{ "flumeBatchSize", SL_KEY_INT, "100", KOFF(batch), 1, 1000000,
	  .help = "events per take transaction" },
	{ "kafka.flumeBatchSize", SL_KEY_INT, NULL, KOFF(batch),
	  .alias_of = "flumeBatchSize" },
	{ "batchSize", SL_KEY_INT, NULL, KOFF(batch),
	  .alias_of = "flumeBatchSize" },
	{ "kafka.producer.acks", SL_KEY_STR, "1", KOFF(acks),
	  .help = "acks: 0, 1, all (-1)" },
	{ "requiredAcks", SL_KEY_STR, NULL, KOFF(acks),
	  .alias_of = "kafka.producer.acks" },
	{ "useFlumeEventFormat", SL_KEY_BOOL, "false", KOFF(flume_format),
	  .help = "value is an Avro AvroFlumeEvent (headers and body)" },
	{ "defaultPartitionId", SL_KEY_INT, "-1", KOFF(default_partition),
	  -1, INT32_MAX, .help = "partition for every event (-1: the "
	  "partitioner decides)" },
	{ "partitionIdHeader", SL_KEY_STR, NULL, KOFF(partition_header),
	  .help = "header holding the partition of an event" },
	{ "allowTopicOverride", SL_KEY_BOOL, "true",
	  KOFF(allow_topic_override), .help = "an event's topicHeader "
	  "header overrides kafka.topic" },
	{ "topicHeader", SL_KEY_STR, "topic", KOFF(topic_header),
	  .help = "header naming an event's topic" },
	{ "timestampHeader", SL_KEY_STR, NULL, KOFF(timestamp_header),
	  .help = "header holding the record timestamp (ms since epoch)" },
	{ "maxInflightTransactions", SL_KEY_INT, "0", KOFF(max_inflight), 0,
	  KAFKA_MAX_INFLIGHT, .help = "sluice: takes in flight at once "
	  "(0: min(channel capacity, 40960) / flumeBatchSize)" },
	{ "stallTimeout", SL_KEY_INT, "60", KOFF(stall_timeout), 0, 86400,
	  .help = "sluice: seconds the oldest take in flight may wait with "
	  "no delivery report at all before the producer is made again and "
	  "what was in flight is sent again (0: wait for ever)" },
	{ "orderPerPartition", SL_KEY_BOOL, "false",
	  KOFF(order_per_partition), .help = "sluice: at most one "
	  "unacknowledged take per partition, so acks=1 keeps per-partition "
	  "order (parallel across partitions)" },
	{ "deadLetterPolicy", SL_KEY_STR, "file", KOFF(dlq_policy),
	  .help = "sluice: undeliverable events: file (append to "
	  "deadLetterFile, count, commit) or retry (never give up)" },
	{ "deadLetterFile", SL_KEY_STR, NULL, KOFF(dlq_file),
	  .help = "sluice: dead-letter file, one JSON record per line "
	  "(default $STATE_DIRECTORY, /var/lib/sluice or /tmp, "
	  "deadletter-SINK.jsonl)" },
	SL_KEY_END,
};

static const char *const kafka_aliases[] = {
	"org.apache.flume.sink.kafka.KafkaSink",
	NULL,
};

/* ---- configuration (control thread) ----------------------------------- */

static void
kafka_log_quiet(const rd_kafka_t *rk, int level, const char *fac,
		const char *buf)
{
}

/* Where messages about a librdkafka-wide conflict point. */
static const struct sl_prop *
kafka_first_producer_prop(const struct sl_props *props)
{
	size_t i;

	for (i = 0; i < props->n; i++)
		if (strncmp(props->v[i].key, KAFKA_PRODUCER_PREFIX,
			    strlen(KAFKA_PRODUCER_PREFIX)) == 0)
			return &props->v[i];
	return NULL;
}

static int
kafka_validate(const void *settings, const struct sl_props *props,
	       struct sl_diag *diag)
{
	const struct kafka_settings *set = settings;
	struct kafka_header_map map[KAFKA_MAX_HEADER_MAP];
	const struct sl_prop *at;
	rd_kafka_conf_t *conf;
	char errstr[512];
	rd_kafka_t *rk;
	int nb_errors, n;

	n = kafka_conf_header_map(props, map, diag);
	if (n >= 0)
		kafka_conf_header_map_free(map, n);
	if (set->dlq_policy && strcmp(set->dlq_policy, "file") != 0 &&
	    strcmp(set->dlq_policy, "retry") != 0) {
		at = sl_props_get(props, "deadLetterPolicy");
		sl_diag_add(diag, SL_DIAG_ERROR, at ? at->file : props->file,
			    at ? at->line : props->line, "%s.deadLetterPolicy: "
			    "'%s' is not a policy (allowed: file, retry)",
			    props->comp, set->dlq_policy);
	}
	if (set->topic && (set->topic[0] == '\0' ||
			   strlen(set->topic) > KAFKA_TOPIC_MAX)) {
		at = sl_props_get(props, "kafka.topic");
		if (!at)
			at = sl_props_get(props, "topic");
		sl_diag_add(diag, SL_DIAG_ERROR, at ? at->file : props->file,
			    at ? at->line : props->line, "%s: kafka.topic "
			    "must hold 1 to %d characters", props->comp,
			    KAFKA_TOPIC_MAX);
	}
	conf = kafka_conf_build(set, props, diag, &nb_errors);
	if (nb_errors) {
		rd_kafka_conf_destroy(conf);
		return -EINVAL;
	}
	/*
	 * Conflicts between properties (idempotence with acks=1, ...) only
	 * show when a handle is made. No bootstrap servers: nothing is
	 * resolved or contacted, so `check` works offline.
	 */
	rd_kafka_conf_set_log_cb(conf, kafka_log_quiet);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		at = kafka_first_producer_prop(props);
		sl_diag_add(diag, SL_DIAG_ERROR, at ? at->file : props->file,
			    at ? at->line : props->line, "%s: librdkafka: %s",
			    props->comp, errstr);
		return -EINVAL;
	}
	rd_kafka_destroy(rk);
	return 0;
}

/* ---- callbacks (runner thread, from rd_kafka_poll) -------------------- */

static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
	     const char *buf)
{
	const struct kafka_sink *ks = rd_kafka_opaque(rk);
	enum sl_log_level lvl = level <= 3 ? SL_ERROR : level <= 4 ? SL_WARN :
				level <= 6 ? SL_INFO : SL_DEBUG;

	sl_log(lvl, "sink kafka %s: librdkafka %s: %s",
	       ks ? ks->base.name : "?", fac, buf);
}

static void
kafka_count_err(struct kafka_sink *ks, rd_kafka_resp_err_t err)
{
	int i = (int)err - KAFKA_ERR_MIN;

	ks->last_err = err;
	sl_stat_add(&ks->st.delivery_errors, 1);
	if (i >= 0 && i < KAFKA_ERR_SLOTS)
		sl_stat_add(&ks->err_by_code[i], 1);
}

static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_sink *ks = opaque;
	uint64_t suppressed = 0;

	if (err == RD_KAFKA_RESP_ERR__FATAL && !ks->remake) {
		char why[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why,
								sizeof(why));

		ks->remake = true;
		sl_log(SL_ERROR, "sink kafka %s: fatal producer error %s: %s; "
		       "the producer is made again once what is in flight is "
		       "settled", ks->base.name, rd_kafka_err2name(orig), why);
		return;
	}
	if (err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    err == RD_KAFKA_RESP_ERR__RESOLVE ||
	    err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
		sl_stat_add(&ks->base.stats.connection_failed_count, 1);
	if (sl_log_ratelimit_ok(&ks->rl_err, sl_time_mono_ns(),
				SL_NS_PER_SEC, &suppressed))
		sl_log(SL_WARN, "sink kafka %s: %s: %s (%" PRIu64 " similar "
		       "messages suppressed)", ks->base.name,
		       rd_kafka_err2name(err), reason, suppressed);
}

/*
 * kafka_sticky's view of the fixed topic: @n partitions, @down[i] set for
 * those without a leader. Runner thread; the gauges for `ctl stats`.
 */
static void
kafka_sticky_view(struct kafka_sink *ks, int32_t n, const uint8_t *down)
{
	int32_t nb_down = 0, i;
	uint8_t *v;

	if (n > ks->sticky_nb) {
		v = realloc(ks->sticky_down, (size_t)n);
		if (!v)
			return;		/* keep the old view */
		ks->sticky_down = v;
	}
	for (i = 0; i < n; i++) {
		ks->sticky_down[i] = down[i];
		nb_down += down[i];
	}
	ks->sticky_nb = n;
	__atomic_store_n(&ks->st.sticky_partitions, (uint64_t)n,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&ks->st.sticky_unavailable, (uint64_t)nb_down,
			 __ATOMIC_RELAXED);
}

/* Take the metadata thread's view when it has a new one (once per poll). */
static void
kafka_sticky_sync(struct kafka_sink *ks)
{
	/* Pairs with the release in kafka_meta_sticky(). */
	uint32_t gen = __atomic_load_n(&ks->sticky_meta_gen, __ATOMIC_ACQUIRE);

	if (SL_LIKELY(gen == ks->sticky_seen_gen))
		return;
	pthread_mutex_lock(&ks->meta_lock);
	kafka_sticky_view(ks, ks->sticky_meta_nb, ks->sticky_meta_down);
	pthread_mutex_unlock(&ks->meta_lock);
	ks->sticky_seen_gen = gen;
}

/*
 * The fixed topic's partitions and which have a leader, from librdkafka's
 * statistics (@t: topics.TOPIC, every statistics.interval.ms): librdkafka's
 * own view, the one its partitioner uses. Runner thread.
 */
static void
kafka_sticky_leaders(struct kafka_sink *ks, json_t *t)
{
	json_t *parts = json_object_get(t, "partitions"), *p;
	int32_t n = 0;
	const char *key;
	uint8_t *down;

	json_object_foreach(parts, key, p) {
		json_int_t id = json_integer_value(json_object_get(p,
								   "partition"));

		if (id >= 0 && id < INT32_MAX && id + 1 > n)
			n = (int32_t)(id + 1);
	}
	if (n == 0 || !(down = malloc((size_t)n)))
		return;
	memset(down, 1, (size_t)n);
	json_object_foreach(parts, key, p) {
		json_int_t id = json_integer_value(json_object_get(p,
								   "partition"));
		json_int_t leader = json_integer_value(json_object_get(p,
								       "leader"));

		if (id >= 0 && id < n)
			down[id] = leader < 0 ||
				   json_is_true(json_object_get(p, "unknown"));
	}
	kafka_sticky_view(ks, n, down);
	free(down);
}

/*
 * Broker states and round-trip times from librdkafka's statistics JSON;
 * a broker seen coming up counts as a connection created, going down as
 * one closed (sampled every statistics.interval.ms).
 */
static int
kafka_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka_sink *ks = opaque;
	json_t *root = json_loadb(json, len, 0, NULL), *brokers, *b;
	struct kafka_broker nb[KAFKA_MAX_BROKERS];
	unsigned n = 0, i, j;
	const char *name;

	if (!root)
		return 0;
	brokers = json_object_get(root, "brokers");
	json_object_foreach(brokers, name, b) {
		json_int_t id = json_integer_value(json_object_get(b,
								   "nodeid"));
		json_t *rtt = json_object_get(b, "rtt");
		const char *state = json_string_value(json_object_get(b,
								      "state"));

		if (id < 0 || n == KAFKA_MAX_BROKERS)
			continue;	/* bootstrap entries, internal */
		nb[n] = (struct kafka_broker){ .id = (int32_t)id };
		snprintf(nb[n].state, sizeof(nb[n].state), "%s",
			 state ? state : "?");
		nb[n].up = state && strcmp(state, "UP") == 0;
		nb[n].rtt_avg_us = (uint64_t)json_integer_value(
			json_object_get(rtt, "avg"));
		nb[n].rtt_p99_us = (uint64_t)json_integer_value(
			json_object_get(rtt, "p99"));
		n++;
	}
	if (ks->sticky_ok)
		kafka_sticky_leaders(ks, json_object_get(json_object_get(root,
				     "topics"), ks->topic));
	json_decref(root);
	pthread_mutex_lock(&ks->brokers_lock);
	for (i = 0; i < n; i++) {
		bool was_up = false;

		for (j = 0; j < ks->nb_brokers; j++)
			if (ks->brokers[j].id == nb[i].id)
				was_up = ks->brokers[j].up;
		if (nb[i].up && !was_up)
			sl_stat_add(&ks->base.stats.connection_created_count,
				    1);
		else if (!nb[i].up && was_up)
			sl_stat_add(&ks->base.stats.connection_closed_count,
				    1);
	}
	memcpy(ks->brokers, nb, n * sizeof(nb[0]));
	ks->nb_brokers = n;
	pthread_mutex_unlock(&ks->brokers_lock);
	return 0;
}

/* ---- dead letters ----------------------------------------------------- */

/*
 * Errors no retry can fix: the event itself (too large, bad partition or
 * topic) or the topic's authorization. Everything else is retried.
 */
static bool
kafka_err_permanent(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return true;
	default:
		return false;
	}
}

static int
kafka_dlq_open(struct kafka_sink *ks)
{
	if (ks->dlq_fd >= 0)
		return 0;
	ks->dlq_fd = open(ks->dlq_path, O_WRONLY | O_APPEND | O_CREAT |
			  O_CLOEXEC | O_NOFOLLOW, 0640);
	return ks->dlq_fd < 0 ? -errno : 0;
}

/*
 * Settle @ev, which failed for good with @err, by the dead-letter policy.
 * 0: written (the take may commit); <0: not settled, retry it.
 */
static int
kafka_dead_letter(struct kafka_sink *ks, const struct sl_event *ev,
		  const char *topic, int32_t partition,
		  rd_kafka_resp_err_t err)
{
	uint64_t suppressed = 0;
	size_t len = 0, off = 0;
	char *rec;
	int rc;

	if (ks->dlq_policy == KAFKA_DLQ_RETRY)
		return -EAGAIN;
	rc = kafka_dlq_open(ks);
	rec = rc == 0 ? kafka_dlq_record(ks->base.name, topic, partition,
					 err, ev, sl_time_wall_ms(), &len) :
			NULL;
	if (rc == 0 && !rec)
		rc = -ENOMEM;
	/* O_APPEND: one write() per record keeps records whole. */
	while (rc == 0 && off < len) {
		ssize_t w = write(ks->dlq_fd, rec + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	free(rec);
	if (rc < 0) {
		sl_stat_add(&ks->st.dead_letter_failures, 1);
		if (sl_log_ratelimit_ok(&ks->rl_dlq, sl_time_mono_ns(),
					SL_NS_PER_SEC, &suppressed))
			sl_log(SL_ERROR, "sink kafka %s: cannot write dead "
			       "letter to %s: %s; the event stays in the "
			       "channel (%" PRIu64 " suppressed)",
			       ks->base.name, ks->dlq_path, strerror(-rc),
			       suppressed);
		return rc;
	}
	sl_stat_add(&ks->st.dead_lettered, 1);
	if (sl_log_ratelimit_ok(&ks->rl_dlq, sl_time_mono_ns(),
				SL_NS_PER_SEC, &suppressed))
		sl_log(SL_WARN, "sink kafka %s: event to %s undeliverable "
		       "(%s), written to %s (%" PRIu64 " suppressed)",
		       ks->base.name, topic ? topic : "?",
		       rd_kafka_err2name(err), ks->dlq_path, suppressed);
	return 0;
}

/* ---- transactions ----------------------------------------------------- */

static unsigned
kafka_slot(const struct kafka_sink *ks, unsigned pos)
{
	return (ks->head + pos) % ks->max_inflight;
}

/* Position of @slot in the window, or nb_txns when it holds no take. */
static unsigned
kafka_pos(const struct kafka_sink *ks, unsigned slot)
{
	unsigned pos = (slot + ks->max_inflight - ks->head) % ks->max_inflight;

	return pos < ks->nb_txns ? pos : ks->nb_txns;
}

/* Stop producing; roll back from @pos once every report is in. */
static void
kafka_fence(struct kafka_sink *ks, unsigned pos)
{
	if (!ks->fence) {
		ks->fence = true;
		ks->fence_pos = pos;
		sl_stat_add(&ks->st.fences, 1);
	} else if (pos < ks->fence_pos) {
		ks->fence_pos = pos;
	}
}

static void
kafka_txn_fail(struct kafka_sink *ks, unsigned slot)
{
	ks->txns[slot].failed = true;
	kafka_fence(ks, kafka_pos(ks, slot));
}

static void kafka_parts_release(struct kafka_sink *ks, struct kafka_txn *txn);

static void
kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_sink *ks = opaque;
	uint64_t o = (uint64_t)(uintptr_t)m->_private;
	unsigned slot = (unsigned)(o >> OPQ_SLOT_SHIFT);
	unsigned idx = (unsigned)(o & OPQ_IDX_MASK);
	uint32_t gen = (uint32_t)(o >> OPQ_GEN_SHIFT) & OPQ_GEN_MASK;
	struct kafka_txn *txn;

	ks->nb_outstanding--;
	ks->last_report_ns = ks->poll_ns;
	if (slot >= ks->max_inflight || kafka_pos(ks, slot) == ks->nb_txns ||
	    (ks->txns[slot].gen & OPQ_GEN_MASK) != gen) {
		sl_stat_add(&ks->st.stale_reports, 1);
		return;
	}
	txn = &ks->txns[slot];
	txn->t_last_ns = ks->poll_ns;	/* no clock read per report */
	if (ks->ordered && m->partition >= 0)
		txn->parts[idx] = m->partition;	/* where librdkafka put it */
	if (!m->err) {
		txn->nb_done++;
		return;
	}
	kafka_count_err(ks, m->err);
	if (m->partition == ks->sticky_part)
		ks->sticky_until_ns = 0;	/* another one next take */
	if (kafka_err_permanent(m->err) &&
	    kafka_dead_letter(ks, &txn->take->evs[idx],
			      m->rkt ? rd_kafka_topic_name(m->rkt) : NULL,
			      m->partition, m->err) == 0) {
		txn->nb_done++;
		return;
	}
	kafka_txn_fail(ks, slot);
}

/* ---- producing one event ---------------------------------------------- */

enum kafka_prod {
	KAFKA_PROD_SENT,	/* a report will come */
	KAFKA_PROD_SETTLED,	/* dead-lettered at once */
	KAFKA_PROD_FULL,	/* librdkafka's queue is full: later */
	KAFKA_PROD_FAILED,	/* roll back and retry */
};

static const struct sl_header *
kafka_hdr(const struct sl_event *ev, const char *key)
{
	return key ? sl_event_header_find(ev, key) : NULL;
}

/*
 * kafka.topic with every %{name} replaced by header name's value (empty
 * when absent) into ks->topic_buf. NULL when the result is too long.
 */
static const char *
kafka_topic_subst(struct kafka_sink *ks, const struct sl_event *ev)
{
	const char *s = ks->topic;
	size_t n = 0, cap = sizeof(ks->topic_buf) - 1;

	while (*s) {
		const char *end;

		if (s[0] == '%' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
			const struct sl_header *h = NULL;
			unsigned i;

			for (i = 0; i < ev->nb_headers; i++)
				if (ev->hdrs[i].key_len == end - s - 2 &&
				    memcmp(ev->hdrs[i].key, s + 2,
					   ev->hdrs[i].key_len) == 0)
					h = &ev->hdrs[i];
			if (h) {
				if (n + h->val_len > cap)
					return NULL;
				memcpy(ks->topic_buf + n, h->val, h->val_len);
				n += h->val_len;
			}
			s = end + 1;
			continue;
		}
		if (n == cap)
			return NULL;
		ks->topic_buf[n++] = *s++;
	}
	ks->topic_buf[n] = '\0';
	return ks->topic_buf;
}

/* The topic of @ev: NULL means ks->rkt (the fixed topic). */
static const char *
kafka_event_topic(struct kafka_sink *ks, const struct sl_event *ev,
		  bool *bad)
{
	const struct sl_header *h;

	*bad = false;
	if (ks->allow_topic_override &&
	    (h = kafka_hdr(ev, ks->topic_header)) != NULL)
		return h->val;
	if (!ks->topic_dynamic)
		return NULL;
	if (!kafka_topic_subst(ks, ev) || ks->topic_buf[0] == '\0') {
		*bad = true;
		return NULL;
	}
	return ks->topic_buf;
}

/* The partition of @ev from partitionIdHeader / defaultPartitionId. */
static int
kafka_event_partition(const struct kafka_sink *ks, const struct sl_event *ev,
		      int32_t *part)
{
	const struct sl_header *h = kafka_hdr(ev, ks->partition_header);
	int64_t v;

	*part = ks->default_partition >= 0 ? ks->default_partition :
					     RD_KAFKA_PARTITION_UA;
	if (!h)
		return 0;
	if (sl_parse_int(h->val, 0, INT32_MAX, &v) < 0)
		return -EINVAL;
	*part = (int32_t)v;
	return 0;
}

/*
 * What a produce of @ev to @topic / @part that librdkafka answered with
 * @code (not 0) means: its queue is full (try again later), a retriable
 * error (the take is retried), or a permanent one (dead-lettered).
 */
static enum kafka_prod
kafka_prod_result(struct kafka_sink *ks, const struct sl_event *ev,
		  rd_kafka_resp_err_t code, const char *topic, int32_t part)
{
	if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		sl_stat_add(&ks->st.queue_full, 1);
		return KAFKA_PROD_FULL;
	}
	kafka_count_err(ks, code);
	if (!kafka_err_permanent(code))
		return KAFKA_PROD_FAILED;
	return kafka_dead_letter(ks, ev, topic, part, code) == 0 ?
	       KAFKA_PROD_SETTLED : KAFKA_PROD_FAILED;
}

/* The opaque of event @idx of the take in @slot: its reports find it. */
static inline void *
kafka_opaque(unsigned slot, uint32_t gen, unsigned idx)
{
	return (void *)(uintptr_t)((uint64_t)slot << OPQ_SLOT_SHIFT |
				   (uint64_t)(gen & OPQ_GEN_MASK) <<
				   OPQ_GEN_SHIFT | idx);
}

/*
 * Produce event @idx of @txn. @now_ms is the message's CreateTime unless
 * timestampHeader gives one: read once per batch of events handed to
 * librdkafka, not by librdkafka per message (its clock read for the
 * default timestamp was a tenth of the sink thread's time).
 */
static enum kafka_prod
kafka_produce_event(struct kafka_sink *ks, struct kafka_txn *txn,
		    unsigned slot, unsigned idx, int64_t now_ms)
{
	const struct sl_event *ev = &txn->take->evs[idx];
	rd_kafka_vu_t vu[8 + KAFKA_MAX_HEADER_MAP];
	rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR__INVALID_ARG;
	const struct sl_header *h;
	const char *topic;
	rd_kafka_error_t *error;
	size_t n = 0, vlen;
	int32_t part = RD_KAFKA_PARTITION_UA;
	int64_t ts;
	bool bad;
	int i;

	topic = kafka_event_topic(ks, ev, &bad);
	if (bad || kafka_event_partition(ks, ev, &part) < 0) {
		if (ks->ordered && !txn->assigned)
			txn->parts[idx] = RD_KAFKA_PARTITION_UA;
		goto settle;
	}
	if (txn->assigned) {
		part = txn->parts[idx];
		topic = ks->topics[txn->topic_ids[idx]].name;
	} else if (txn->pinned && txn->pin[idx] >= 0) {
		part = txn->pin[idx];
	}
	if (ks->ordered)
		txn->parts[idx] = part;
	if (topic) {
		vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
		vu[n++].u.cstr = topic;
	} else {
		vu[n].vtype = RD_KAFKA_VTYPE_RKT;
		vu[n++].u.rkt = ks->rkt;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
	vu[n++].u.i32 = part;
	if ((h = kafka_hdr(ev, "key")) != NULL) {
		vu[n].vtype = RD_KAFKA_VTYPE_KEY;
		vu[n].u.mem.ptr = (void *)h->val;
		vu[n++].u.mem.size = h->val_len;
	}
	if ((h = kafka_hdr(ev, ks->timestamp_header)) == NULL ||
	    sl_parse_int(h->val, 0, INT64_MAX, &ts) < 0)
		ts = now_ms;
	vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
	vu[n++].u.i64 = ts;
	for (i = 0; i < ks->nb_hmap; i++) {
		if ((h = kafka_hdr(ev, ks->hmap[i].flume)) == NULL)
			continue;
		vu[n].vtype = RD_KAFKA_VTYPE_HEADER;
		vu[n].u.header.name = ks->hmap[i].kafka;
		vu[n].u.header.val = h->val;
		vu[n++].u.header.size = h->val_len;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
	if (ks->flume_format) {
		vlen = kafka_avro_size(ev);
		if (vlen > ks->avro_size) {
			uint8_t *b = realloc(ks->avro_buf, vlen);

			if (!b)
				return KAFKA_PROD_FULL;	/* try again later */
			ks->avro_buf = b;
			ks->avro_size = vlen;
		}
		vu[n].u.mem.ptr = ks->avro_buf;
		vu[n++].u.mem.size = kafka_avro_encode(ev, ks->avro_buf,
						       ks->avro_size);
		vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
		vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
	} else {
		/* No copy: the body stays in the channel until commit. */
		vu[n].u.mem.ptr = (void *)ev->body;
		vu[n++].u.mem.size = ev->body_len;
		vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
		vu[n++].u.i = 0;
	}
	vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
	vu[n++].u.ptr = kafka_opaque(slot, txn->gen, idx);
	error = rd_kafka_produceva(ks->rk, vu, n);
	if (!error)
		return KAFKA_PROD_SENT;
	code = rd_kafka_error_code(error);
	rd_kafka_error_destroy(error);
	return kafka_prod_result(ks, ev, code, topic ? topic :
				 rd_kafka_topic_name(ks->rkt), part);
settle:
	kafka_count_err(ks, code);
	return kafka_dead_letter(ks, ev, topic ? topic : bad ? ks->topic :
				 rd_kafka_topic_name(ks->rkt), part, code) == 0 ?
	       KAFKA_PROD_SETTLED : KAFKA_PROD_FAILED;
}

/* Account for event @txn->nb_produced's @outcome; false: queue full. */
static bool
kafka_produced(struct kafka_sink *ks, unsigned slot, struct kafka_txn *txn,
	       enum kafka_prod outcome)
{
	switch (outcome) {
	case KAFKA_PROD_SENT:
		ks->nb_outstanding++;
		break;
	case KAFKA_PROD_SETTLED:
		txn->nb_done++;
		break;
	case KAFKA_PROD_FULL:
		return false;
	case KAFKA_PROD_FAILED:
		kafka_txn_fail(ks, slot);
		break;
	}
	txn->nb_produced++;
	return true;
}

/*
 * True when every event of @txn goes as it is to the fixed topic: no
 * header can choose a topic, partition, key, timestamp or Kafka header,
 * and bodies are raw. Events from netcat, syslog lines, most of a log
 * pipeline's traffic.
 */
static bool
kafka_txn_plain(const struct kafka_sink *ks, const struct kafka_txn *txn)
{
	unsigned i;

	if (ks->flume_format || !ks->rkt || txn->assigned || txn->pinned)
		return false;
	for (i = txn->nb_produced; i < txn->take->nb_evs; i++)
		if (txn->take->evs[i].nb_headers)
			return false;
	return true;
}

/*
 * librdkafka places a keyless message with its sticky partitioner: one
 * partition for sticky.partitioning.linger.ms, then another at random
 * among those with a leader. It decides per message, reading the clock
 * twice and taking the partition queue's lock each time: a quarter of the
 * sink thread. For a plain take the sink makes the same choice once and
 * hands librdkafka the take with its partition, which librdkafka then
 * queues in one piece. It knows the partitions and their leaders from a
 * metadata request at start (kafka_meta_sticky), then from librdkafka's
 * statistics (kafka_sticky_leaders); until the first answer, when none
 * has a leader, and under defaultPartitionId or the random partitioner,
 * librdkafka places the messages. A partition a delivery failed on is
 * left at once.
 */
static int32_t
kafka_sticky(struct kafka_sink *ks)
{
	int32_t n = ks->sticky_nb, p = ks->sticky_part, q, i;
	uint64_t now;
	uint32_t x;

	if (n <= 0)
		return RD_KAFKA_PARTITION_UA;
	/* One clock read per take, not the poll's: a backlog drained in
	 * one poll would otherwise all land on one partition. */
	now = sl_time_mono_ns();
	if (p >= 0 && p < n && !ks->sticky_down[p] &&
	    now < ks->sticky_until_ns) {
		sl_stat_add(&ks->st.sticky_takes, 1);
		return p;
	}
	x = ks->sticky_rand;		/* xorshift32 */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	ks->sticky_rand = x;
	/* From a random one, the first with a leader, the last one last
	 * (a failed one must be left). */
	for (i = 0, q = -1; i < n && q < 0; i++) {
		int32_t c = (int32_t)((x + (uint32_t)i) % (uint32_t)n);

		if (!ks->sticky_down[c] && c != p)
			q = c;
	}
	if (q < 0 && p >= 0 && p < n && !ks->sticky_down[p])
		q = p;
	ks->sticky_part = q;
	if (q < 0)
		return RD_KAFKA_PARTITION_UA;	/* none has a leader */
	ks->sticky_until_ns = now + ks->sticky_linger_ns;
	sl_stat_add(&ks->st.sticky_takes, 1);
	sl_stat_add(&ks->st.sticky_moves, 1);
	return q;
}

/*
 * Hand the rest of a plain take (kafka_txn_plain) to librdkafka in one
 * rd_kafka_produce_batch(): it takes the topic and reads the clocks once
 * per call, where produceva does per event (its clock reads alone were a
 * third of the sink thread; the sticky partitioner's own remain).
 * CreateTime is the call's time, as without timestampHeader.
 * A full queue fails every message from the first that met it, so what
 * went in is a prefix and the rest is produced again later.
 */
static bool
kafka_produce_plain(struct kafka_sink *ks, unsigned slot,
		    struct kafka_txn *txn)
{
	unsigned first = txn->nb_produced, n = txn->take->nb_evs - first, i;
	int32_t part = ks->default_partition >= 0 ? ks->default_partition :
						    kafka_sticky(ks);
	rd_kafka_message_t *m = ks->msgs;

	for (i = 0; i < n; i++) {
		const struct sl_event *ev = &txn->take->evs[first + i];

		m[i] = (rd_kafka_message_t){
			.payload = (void *)ev->body,
			.len = ev->body_len,
			._private = kafka_opaque(slot, txn->gen, first + i),
		};
	}
	rd_kafka_produce_batch(ks->rkt, part, 0, m, (int)n);
	if (n && m[0].err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
	    part >= 0 && part == ks->sticky_part) {
		/* The topic has fewer partitions than the sink was told
		 * (deleted and made again): none went in. librdkafka places
		 * these while the sink asks again. */
		ks->sticky_part = -1;
		ks->sticky_nb = 0;
		pthread_mutex_lock(&ks->meta_lock);
		ks->sticky_meta_want = true;
		ks->meta_want = true;
		pthread_cond_signal(&ks->meta_cond);
		pthread_mutex_unlock(&ks->meta_lock);
		for (i = 0; i < n; i++)
			m[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
		part = RD_KAFKA_PARTITION_UA;
		rd_kafka_produce_batch(ks->rkt, part, 0, m, (int)n);
	}
	if (ks->ordered)
		for (i = 0; i < n; i++)
			txn->parts[first + i] = part;
	/* Every message that went in has a report coming: count each. */
	for (i = 0; i < n; i++) {
		const struct sl_event *ev = &txn->take->evs[first + i];
		enum kafka_prod outcome = m[i].err ?
			kafka_prod_result(ks, ev, m[i].err,
					  rd_kafka_topic_name(ks->rkt), part) :
			KAFKA_PROD_SENT;

		if (!kafka_produced(ks, slot, txn, outcome))
			return false;
	}
	return true;
}

/*
 * Hand the rest of the take at @pos to librdkafka. Returns false when
 * librdkafka's queue is full (call again after a poll).
 */
static bool
kafka_produce_txn(struct kafka_sink *ks, unsigned pos)
{
	unsigned slot = kafka_slot(ks, pos);
	struct kafka_txn *txn = &ks->txns[slot];
	int64_t now_ms;

	if (ks->fence || txn->nb_produced == txn->take->nb_evs)
		return true;
	if (kafka_txn_plain(ks, txn))
		return kafka_produce_plain(ks, slot, txn);
	now_ms = (int64_t)sl_time_wall_ms();
	while (txn->nb_produced < txn->take->nb_evs && !ks->fence)
		if (!kafka_produced(ks, slot, txn, kafka_produce_event(ks,
				txn, slot, txn->nb_produced, now_ms)))
			return false;
	return true;
}

/* ---- the metadata thread; orderPerPartition --------------------------- */

/*
 * kafka_sticky's first view: the fixed topic's partitions and leaders from
 * a metadata request, published with sticky_meta_gen. Metadata thread,
 * meta_lock held (dropped around the request). -EAGAIN: ask again later.
 */
static int
kafka_meta_sticky(struct kafka_sink *ks)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t;
	rd_kafka_resp_err_t err;
	uint8_t *down = NULL;
	int32_t n = 0, i;

	pthread_mutex_unlock(&ks->meta_lock);
	err = rd_kafka_metadata(ks->rk, 0, ks->rkt, &md, KAFKA_META_TIMEOUT_MS);
	t = !err && md->topic_cnt == 1 && !md->topics[0].err ?
	    &md->topics[0] : NULL;
	for (i = 0; t && i < t->partition_cnt; i++)
		if (t->partitions[i].id >= 0 && t->partitions[i].id + 1 > n)
			n = t->partitions[i].id + 1;
	if (n > 0 && (down = malloc((size_t)n))) {
		memset(down, 1, (size_t)n);
		for (i = 0; i < t->partition_cnt; i++)
			if (t->partitions[i].id >= 0)
				down[t->partitions[i].id] =
					t->partitions[i].leader < 0;
	}
	if (md)
		rd_kafka_metadata_destroy(md);
	pthread_mutex_lock(&ks->meta_lock);
	if (!down)
		return -EAGAIN;
	free(ks->sticky_meta_down);
	ks->sticky_meta_down = down;
	ks->sticky_meta_nb = n;
	ks->sticky_meta_want = false;
	/* Pairs with the acquire in kafka_sticky_sync(). */
	__atomic_store_n(&ks->sticky_meta_gen, ks->sticky_meta_gen + 1,
			 __ATOMIC_RELEASE);
	return 0;
}

/*
 * The metadata thread: partition counts for the topics orderPerPartition
 * needs, and kafka_sticky's first view (kafka_meta_sticky).
 */
static void *
kafka_meta_main(void *arg)
{
	struct kafka_sink *ks = arg;

	pthread_mutex_lock(&ks->meta_lock);
	while (!ks->meta_stop) {
		unsigned i, nb = __atomic_load_n(&ks->nb_topics,
						 __ATOMIC_ACQUIRE);
		bool missing = false;

		for (i = 0; i < nb && !ks->meta_stop; i++) {
			struct kafka_topic_state *t = &ks->topics[i];
			const struct rd_kafka_metadata *md = NULL;
			rd_kafka_resp_err_t err;
			int32_t cnt = 0;

			if (t->nb_parts > 0)
				continue;
			pthread_mutex_unlock(&ks->meta_lock);
			err = rd_kafka_metadata(ks->rk, 0, t->rkt, &md,
						KAFKA_META_TIMEOUT_MS);
			if (!err && md->topic_cnt == 1 &&
			    !md->topics[0].err)
				cnt = md->topics[0].partition_cnt;
			if (md)
				rd_kafka_metadata_destroy(md);
			pthread_mutex_lock(&ks->meta_lock);
			if (cnt > 0)
				t->nb_parts = cnt;
			else
				missing = true;
		}
		if (ks->sticky_meta_want && !ks->meta_stop &&
		    kafka_meta_sticky(ks) < 0)
			missing = true;
		if (missing && !ks->meta_stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&ks->meta_cond, &ks->meta_lock,
					       &ts);
		} else if (!ks->meta_want && !ks->meta_stop) {
			pthread_cond_wait(&ks->meta_cond, &ks->meta_lock);
		}
		ks->meta_want = false;
	}
	pthread_mutex_unlock(&ks->meta_lock);
	return NULL;
}

/* Index of topic @name, adding it (and waking the metadata thread). */
static int
kafka_topic_id(struct kafka_sink *ks, const char *name)
{
	struct kafka_topic_state *t;
	unsigned i;

	for (i = 0; i < ks->nb_topics; i++)
		if (strcmp(ks->topics[i].name, name) == 0)
			return (int)i;
	if (ks->nb_topics == KAFKA_MAX_TOPICS)
		return -ENOSPC;
	t = &ks->topics[ks->nb_topics];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->rkt = t->name ? rd_kafka_topic_new(ks->rk, name, NULL) : NULL;
	if (!t->rkt) {
		free(t->name);
		return -ENOMEM;
	}
	/* Pairs with the acquire in kafka_meta_main(). */
	__atomic_store_n(&ks->nb_topics, ks->nb_topics + 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ks->meta_lock);
	ks->meta_want = true;
	pthread_cond_signal(&ks->meta_cond);
	pthread_mutex_unlock(&ks->meta_lock);
	return (int)i;
}

static int32_t
kafka_topic_parts(struct kafka_sink *ks, struct kafka_topic_state *t)
{
	int32_t n;

	pthread_mutex_lock(&ks->meta_lock);
	n = t->nb_parts;
	pthread_mutex_unlock(&ks->meta_lock);
	if (n > 0 && !t->owner) {
		t->owner = calloc((size_t)n, sizeof(*t->owner));
		if (!t->owner)
			return 0;
	}
	return n;
}

/*
 * Whether the sink places keyless plain takes itself (kafka_sticky): the
 * fixed topic, librdkafka's sticky placement for keyless messages (any
 * partitioner but random), no defaultPartitionId and not the ordered mode,
 * which places every take itself.
 */
static void
kafka_sticky_init(struct kafka_sink *ks)
{
	char v[64];
	size_t len = sizeof(v);

	ks->sticky_linger_ns = 10 * SL_NS_PER_MS;
	if (rd_kafka_conf_get(ks->conf_tmpl, "sticky.partitioning.linger.ms",
			      v, &len) == RD_KAFKA_CONF_OK)
		ks->sticky_linger_ns = strtoull(v, NULL, 10) * SL_NS_PER_MS;
	len = sizeof(v);
	ks->sticky_ok = ks->rkt && !ks->order_per_partition &&
			ks->default_partition < 0 &&
			!(rd_kafka_conf_get(ks->conf_tmpl, "partitioner", v,
					    &len) == RD_KAFKA_CONF_OK &&
			  strcmp(v, "random") == 0);
	ks->sticky_rand = (uint32_t)sl_time_mono_ns() | 1;
	ks->sticky_meta_want = ks->sticky_ok;
}

static void
kafka_parts_release(struct kafka_sink *ks, struct kafka_txn *txn)
{
	unsigned i;

	if (!txn->assigned)
		return;
	for (i = 0; i < txn->take->nb_evs; i++) {
		struct kafka_topic_state *t = &ks->topics[txn->topic_ids[i]];
		int32_t p = txn->parts[i];

		if (p >= 0 && p < t->nb_parts && t->owner[p] == txn->gen + 1)
			t->owner[p] = 0;
	}
	txn->assigned = false;
}

/*
 * Choose every event's partition for the take at @slot and claim them:
 * explicit partitions as given, keys by murmur2 (Java's placement), keyless
 * events of one topic all to one free partition. Returns 0 when claimed,
 * -EAGAIN when a partition is held by an earlier take or a partition count
 * is not known yet, -EINVAL for an event that names a bad partition or
 * topic (it is produced as is and settled by its report).
 */
static int
kafka_parts_assign(struct kafka_sink *ks, struct kafka_txn *txn)
{
	int32_t sticky[KAFKA_MAX_TOPICS];
	unsigned i, nb = txn->take->nb_evs;
	uint32_t me = txn->gen + 1;

	for (i = 0; i < KAFKA_MAX_TOPICS; i++)
		sticky[i] = -1;
	/* Pass 1: partitions; pass 2: claim, only if all are free. */
	for (i = 0; i < nb; i++) {
		const struct sl_event *ev = &txn->take->evs[i];
		const char *name;
		const struct sl_header *key;
		struct kafka_topic_state *t;
		int32_t part, cnt, k;
		bool bad;
		int id;

		name = kafka_event_topic(ks, ev, &bad);
		if (bad || kafka_event_partition(ks, ev, &part) < 0)
			return -EINVAL;
		id = kafka_topic_id(ks, name ? name : ks->topic);
		if (id < 0)
			return -EINVAL;
		t = &ks->topics[id];
		cnt = kafka_topic_parts(ks, t);
		if (cnt <= 0)
			return -EAGAIN;
		txn->topic_ids[i] = (uint16_t)id;
		key = kafka_hdr(ev, "key");
		if (txn->pinned && txn->pin[i] >= 0) {
			part = txn->pin[i];
		} else if (part == RD_KAFKA_PARTITION_UA && key) {
			part = rd_kafka_msg_partitioner_murmur2(t->rkt,
				key->val, key->val_len, cnt, NULL, NULL);
		} else if (part == RD_KAFKA_PARTITION_UA) {
			if (sticky[id] < 0) {
				for (k = 0; k < cnt; k++) {
					int32_t c = (int32_t)((t->rr + k) %
							      (uint32_t)cnt);

					if (!t->owner[c] || t->owner[c] == me)
						break;
				}
				if (k == cnt)
					return -EAGAIN;
				sticky[id] = (int32_t)((t->rr + k) %
						       (uint32_t)cnt);
			}
			part = sticky[id];
		}
		if (part >= cnt)
			return -EINVAL;
		if (t->owner[part] && t->owner[part] != me)
			return -EAGAIN;
		txn->parts[i] = part;
	}
	for (i = 0; i < nb; i++)
		ks->topics[txn->topic_ids[i]].owner[txn->parts[i]] = me;
	for (i = 0; i < KAFKA_MAX_TOPICS; i++)
		if (sticky[i] >= 0)
			ks->topics[i].rr = (uint32_t)sticky[i] + 1;
	txn->assigned = true;
	return 0;
}

/* ---- the runner's step ------------------------------------------------ */

/* Commit, in order, every take at the head whose events are all settled. */
static int
kafka_commit_ready(struct kafka_sink *ks, bool *progress)
{
	while (ks->nb_txns > 0 && (!ks->fence || ks->fence_pos > 0)) {
		struct kafka_txn *txn = &ks->txns[ks->head];
		unsigned nb = txn->take->nb_evs;

		if (txn->failed || txn->nb_produced < nb || txn->nb_done < nb)
			break;
		kafka_parts_release(ks, txn);
		if (sl_channel_take_commit(ks->base.cons, txn->take) < 0)
			return -EPROTO;
		sl_stat_add(&ks->base.stats.event_drain_success_count, nb);
		sl_stat_add(&ks->base.stats.drain_bytes, txn->take->nb_bytes);
		if (txn->t_last_ns > txn->t_first_ns)
			sl_stat_add(&ks->st.send_timer_ms,
				    (txn->t_last_ns - txn->t_first_ns) /
				    SL_NS_PER_MS);
		txn->take = NULL;
		ks->head = (ks->head + 1) % ks->max_inflight;
		ks->nb_txns--;
		if (ks->fence)
			ks->fence_pos--;
		ks->retry_backoff_ns = 0;
		*progress = true;
	}
	return 0;
}

/*
 * The ordered modes: before the takes from @pos are rolled back, note
 * where each of their events went, so that each goes there again.
 * Placed anew, an event could land after a later one: the failed take
 * T1 was on partition 0, the next take T2 went to partition 1 and was
 * written (or, after a stall, T2's request was written and its answer
 * lost), and T1 sent again to partition 1 would follow T2 there. On its
 * own partition T1 follows only what came before it, as a partition's
 * requests are written in order or not at all. An event no partition
 * had yet (never produced, or still unplaced in librdkafka) is placed
 * freely: nothing after it was placed before it. The replay is the
 * rolled-back events' partitions in channel order, then what an earlier
 * replay had not handed out yet (those events are still in the channel,
 * behind them); kafka_take_one() pins each event taken on the next one.
 */
static void
kafka_replay_save(struct kafka_sink *ks, unsigned pos)
{
	unsigned n = 0, k, i;
	int32_t *t;

	if (!ks->ordered)
		return;
	for (k = pos; k < ks->nb_txns; k++) {
		const struct kafka_txn *txn = &ks->txns[kafka_slot(ks, k)];

		for (i = 0; i < txn->take->nb_evs && n < ks->replay_cap; i++)
			ks->replay_tmp[n++] = i < txn->nb_produced ?
				txn->parts[i] : txn->pinned ? txn->pin[i] : -1;
	}
	for (i = ks->replay_pos; i < ks->replay_len && n < ks->replay_cap; i++)
		ks->replay_tmp[n++] = ks->replay[i];
	t = ks->replay;
	ks->replay = ks->replay_tmp;
	ks->replay_tmp = t;
	ks->replay_len = n;
	ks->replay_pos = 0;
}

/*
 * Once a fence has collected every outstanding report: roll back the
 * failed take and everything after it, and wait a growing pause before
 * producing them again.
 */
static void
kafka_fence_resolve(struct kafka_sink *ks, uint64_t now)
{
	unsigned pos = ks->fence_pos, nb = ks->nb_txns, k;
	struct kafka_txn *first;
	uint64_t suppressed = 0;

	if (pos < ks->nb_txns) {
		kafka_replay_save(ks, pos);
		first = &ks->txns[kafka_slot(ks, pos)];
		sl_channel_take_rollback(ks->base.cons, first->take);
		for (k = pos; k < ks->nb_txns; k++) {
			struct kafka_txn *txn = &ks->txns[kafka_slot(ks, k)];

			kafka_parts_release(ks, txn);
			sl_stat_add(&ks->st.event_retries, txn->take->nb_evs);
			txn->take = NULL;
		}
		sl_stat_add(&ks->base.stats.rollback_count,
			    ks->nb_txns - pos);
		sl_stat_add(&ks->st.txn_retries, ks->nb_txns - pos);
		ks->nb_txns = pos;
	}
	ks->fence = false;
	ks->retry_backoff_ns = ks->retry_backoff_ns ?
		SL_MIN(ks->retry_backoff_ns * 2, KAFKA_RETRY_MAX_NS) :
		KAFKA_RETRY_MIN_NS;
	ks->retry_at_ns = now + ks->retry_backoff_ns;
	if (pos < nb && sl_log_ratelimit_ok(&ks->rl_retry, now, SL_NS_PER_SEC,
					    &suppressed))
		sl_log(SL_WARN, "sink kafka %s: delivery failed (%s), %u takes "
		       "rolled back to the channel, sending them again in %"
		       PRIu64 " ms (%" PRIu64 " similar messages suppressed)",
		       ks->base.name, rd_kafka_err2name(ks->last_err), nb - pos,
		       (uint64_t)(ks->retry_backoff_ns / SL_NS_PER_MS), suppressed);
}

/* Take one transaction into the window; false when there is none. */
static bool
kafka_take_one(struct kafka_sink *ks, uint64_t now)
{
	unsigned slot = kafka_slot(ks, ks->nb_txns);
	struct kafka_txn *txn = &ks->txns[slot];
	struct sl_take *take = sl_channel_take(ks->base.cons, ks->batch);

	sl_sink_count_take(&ks->base, take ? take->nb_evs : 0, ks->batch);
	if (!take)
		return false;
	txn->take = take;
	txn->gen = ks->next_gen++;
	txn->nb_produced = 0;
	txn->nb_done = 0;
	txn->failed = false;
	txn->assigned = false;
	txn->pinned = false;
	if (ks->replay_pos < ks->replay_len) {
		unsigned i;

		for (i = 0; i < take->nb_evs; i++) {
			int32_t p = ks->replay_pos < ks->replay_len ?
				    ks->replay[ks->replay_pos++] : -1;

			txn->pin[i] = p;
			txn->pinned |= p >= 0;
		}
	}
	txn->t_first_ns = now;
	txn->t_last_ns = now;
	ks->nb_txns++;
	return true;
}

static void *kafka_meta_main(void *arg);

/*
 * After a fatal error (the idempotent producer's, for one) the handle is
 * unusable, and after a stall it is not to be trusted: once every
 * outstanding report is in and the failed takes are rolled back, make a
 * new producer from the same configuration. Returns 0 or -EIO. Runner
 * thread.
 */
static int
kafka_restart(struct kafka_sink *ks)
{
	char errstr[512];
	unsigned i;

	if (ks->meta_running) {
		pthread_mutex_lock(&ks->meta_lock);
		ks->meta_stop = true;
		pthread_cond_signal(&ks->meta_cond);
		pthread_mutex_unlock(&ks->meta_lock);
		pthread_join(ks->meta_thread, NULL);
		ks->meta_running = false;
		ks->meta_stop = false;
	}
	for (i = 0; i < ks->nb_topics; i++) {
		rd_kafka_topic_destroy(ks->topics[i].rkt);
		ks->topics[i].rkt = NULL;
	}
	if (ks->rkt)
		rd_kafka_topic_destroy(ks->rkt);
	ks->rkt = NULL;
	rd_kafka_destroy(ks->rk);
	ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_dup(
			      ks->conf_tmpl), errstr, sizeof(errstr));
	if (!ks->rk) {
		sl_log(SL_ERROR, "sink kafka %s: cannot make the producer "
		       "again: %s", ks->base.name, errstr);
		return -EIO;
	}
	if (!ks->topic_dynamic)
		ks->rkt = rd_kafka_topic_new(ks->rk, ks->topic, NULL);
	for (i = 0; i < ks->nb_topics; i++)
		ks->topics[i].rkt = rd_kafka_topic_new(ks->rk,
						       ks->topics[i].name,
						       NULL);
	if ((ks->order_per_partition || ks->sticky_ok) &&
	    pthread_create(&ks->meta_thread, NULL, kafka_meta_main, ks) == 0) {
		sl_thread_name(ks->meta_thread, "meta", ks->base.name);
		ks->meta_running = true;
	}
	ks->remake = false;
	ks->remake_fenced = false;
	sl_stat_add(&ks->st.producer_restarts, 1);
	sl_log(SL_INFO, "sink kafka %s: producer made again", ks->base.name);
	return 0;
}

/*
 * librdkafka retries for ever in the ordered modes (message.timeout.ms 0)
 * and then owes no report: a broker that never answers a request it
 * accepted (within request.timeout.ms), or a producer that stops sending,
 * would hold the take at the window's head, and so the channel, for ever
 * and in silence. When the oldest take has waited stallTimeout and no
 * report at all came in that time, the producer is made again as after a
 * fatal error: what was in flight is rolled back and sent again
 * (duplicates bounded by it, as for any retry). A cluster that is down
 * for longer makes it again every stallTimeout, each time saying so.
 */
static void
kafka_stall_check(struct kafka_sink *ks, uint64_t now)
{
	uint64_t quiet_ns;

	if (!ks->stall_ns || ks->remake || ks->fence || !ks->nb_outstanding ||
	    !ks->nb_txns)
		return;
	/* Since the later of the last report and the oldest take. */
	quiet_ns = now - SL_MAX(ks->last_report_ns,
				ks->txns[kafka_slot(ks, 0)].t_first_ns);
	if (quiet_ns < ks->stall_ns)
		return;
	ks->remake = true;
	sl_stat_add(&ks->st.producer_stalls, 1);
	sl_log(SL_WARN, "sink kafka %s: no delivery report for %" PRIu64
	       " s with %" PRIu64 " events in flight: making the producer "
	       "again and sending them again", ks->base.name,
	       (uint64_t)(quiet_ns / SL_NS_PER_SEC), ks->nb_outstanding);
}

static enum sl_sink_status
kafka_process(struct sl_sink *sk)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	uint64_t before = ks->nb_outstanding;
	bool progress = false;
	unsigned took = 0;
	uint64_t now;
	int rc;

	now = sl_time_mono_ns();
	ks->poll_ns = now;
	rd_kafka_poll(ks->rk, 0);
	kafka_sticky_sync(ks);
	if (ks->nb_outstanding != before)
		progress = true;
	kafka_stall_check(ks, now);
	if (ks->remake && !ks->remake_fenced) {
		/* Stop sending; every outstanding message fails at once. */
		ks->remake_fenced = true;
		kafka_fence(ks, ks->nb_txns);
		rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE |
			       RD_KAFKA_PURGE_F_INFLIGHT |
			       RD_KAFKA_PURGE_F_NON_BLOCKING);
	}
	if (kafka_commit_ready(ks, &progress) < 0)
		return SL_SINK_FATAL;
	if (ks->fence && ks->nb_outstanding == 0) {
		kafka_fence_resolve(ks, now);
		if (ks->remake && kafka_restart(ks) < 0)
			return SL_SINK_FATAL;
		progress = true;
	}
	if (!ks->fence && now >= ks->retry_at_ns) {
		/* Finish a take librdkafka's full queue interrupted. */
		if (ks->nb_txns > 0) {
			struct kafka_txn *last = &ks->txns[
				kafka_slot(ks, ks->nb_txns - 1)];

			if (last->nb_produced < last->take->nb_evs) {
				if (ks->order_per_partition &&
				    !last->assigned) {
					rc = kafka_parts_assign(ks, last);
					if (rc == -EAGAIN) {
						sl_stat_add(
						&ks->st.partition_waits, 1);
						goto out;
					}
				}
				if (!kafka_produce_txn(ks, ks->nb_txns - 1))
					goto out;
				progress = true;
			}
		}
		while (!ks->fence && took < KAFKA_TAKES_PER_CALL &&
		       ks->nb_txns < ks->max_inflight &&
		       kafka_take_one(ks, now)) {
			unsigned pos = ks->nb_txns - 1;
			struct kafka_txn *txn = &ks->txns[kafka_slot(ks, pos)];

			took++;
			progress = true;
			if (ks->order_per_partition) {
				rc = kafka_parts_assign(ks, txn);
				if (rc == -EAGAIN) {
					sl_stat_add(&ks->st.partition_waits,
						    1);
					break;
				}
			}
			if (!kafka_produce_txn(ks, pos))
				break;
		}
	}
out:
	if (kafka_commit_ready(ks, &progress) < 0)
		return SL_SINK_FATAL;
	__atomic_store_n(&ks->st.inflight_txns, ks->nb_txns, __ATOMIC_RELAXED);
	__atomic_store_n(&ks->st.inflight_events, ks->nb_outstanding,
			 __ATOMIC_RELAXED);
	return progress ? SL_SINK_OK : SL_SINK_BACKOFF;
}

/*
 * The runner's wait while process() backs off with events in the channel
 * (window full, a fence waiting for reports, a retry pause): librdkafka's
 * own blocking poll, which returns as soon as a delivery report (or any
 * other event) has been served, instead of a sleep that a report arriving
 * early cannot cut short.
 */
static int
kafka_wait(struct sl_sink *sk, uint64_t timeout_ns)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	/* the runner's pauses are 1-50 ms */
	int ms = (int)SL_MIN((timeout_ns + SL_NS_PER_MS - 1) / SL_NS_PER_MS,
			     (uint64_t)60000);

	return rd_kafka_poll(ks->rk, SL_MAX(ms, 1)) > 0 ? 0 : -ETIMEDOUT;
}

/*
 * Stop: wait (until @deadline_ns) for what is in flight, commit what was
 * delivered, then purge the rest and roll it back to the channel.
 */
static void
kafka_flush(struct sl_sink *sk, uint64_t deadline_ns)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	uint64_t hard;
	bool progress;

	while (ks->nb_txns > 0 && sl_time_mono_ns() < deadline_ns) {
		ks->poll_ns = sl_time_mono_ns();
		rd_kafka_poll(ks->rk, 10);
		if (kafka_commit_ready(ks, &progress) < 0)
			return;
		if (ks->fence && ks->nb_outstanding == 0)
			break;
		/* A take librdkafka never got whole cannot complete. */
		if (ks->nb_outstanding == 0 && ks->nb_txns > 0)
			break;
	}
	if (ks->nb_outstanding > 0)
		rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE |
			       RD_KAFKA_PURGE_F_INFLIGHT);
	hard = sl_time_mono_ns() + 5 * SL_NS_PER_SEC;
	while (ks->nb_outstanding > 0 && sl_time_mono_ns() < hard)
		rd_kafka_poll(ks->rk, 10);
	kafka_commit_ready(ks, &progress);
	if (ks->nb_outstanding == 0 && ks->nb_txns > 0) {
		ks->fence = true;
		ks->fence_pos = 0;
		kafka_fence_resolve(ks, sl_time_mono_ns());
	}
	if (ks->nb_txns > 0)
		sl_log(SL_WARN, "sink kafka %s: stopped with %u takes (%" PRIu64
		       " events) unacknowledged", sk->name, ks->nb_txns,
		       ks->nb_outstanding);
}

/* ---- lifecycle (control thread) --------------------------------------- */

static char *
kafka_default_dlq(const char *sink)
{
	const char *dir = getenv("STATE_DIRECTORY");
	char *path;

	if (!dir || !*dir)
		dir = access("/var/lib/sluice", W_OK) == 0 ? "/var/lib/sluice" :
		      "/tmp";
	if (asprintf(&path, "%s/deadletter-%s.jsonl", dir, sink) < 0)
		return NULL;
	return path;
}

static void kafka_destroy(struct sl_sink *sk);

static struct sl_sink *
kafka_create(const char *name, const void *settings,
	     const struct sl_props *props, struct sl_channel *ch,
	     struct sl_err *err)
{
	const struct kafka_settings *set = settings;
	struct kafka_sink *ks = calloc(1, sizeof(*ks));
	rd_kafka_conf_t *conf = NULL;
	char errstr[512];
	uint64_t cap;
	unsigned i;
	int nb_errors;

	if (!ks) {
		sl_err_set(err, ENOMEM, "sink kafka %s: out of memory", name);
		return NULL;
	}
	ks->base.ops = &sl_kafka_sink_ops;
	ks->dlq_fd = -1;
	pthread_mutex_init(&ks->brokers_lock, NULL);
	pthread_mutex_init(&ks->meta_lock, NULL);
	pthread_cond_init(&ks->meta_cond, NULL);
	ks->sticky_part = -1;
	ks->base.name = strdup(name);
	ks->topic = strdup(set->topic ? set->topic : KAFKA_DEFAULT_TOPIC);
	ks->topic_header = set->topic_header ? strdup(set->topic_header) :
			   NULL;
	ks->partition_header = set->partition_header ?
			       strdup(set->partition_header) : NULL;
	ks->timestamp_header = set->timestamp_header ?
			       strdup(set->timestamp_header) : NULL;
	ks->dlq_path = set->dlq_file ? strdup(set->dlq_file) :
		       kafka_default_dlq(name);
	if (!ks->base.name || !ks->topic || !ks->dlq_path)
		goto err_nomem;
	ks->topic_dynamic = strstr(ks->topic, "%{") != NULL;
	ks->batch = (unsigned)set->batch;
	ks->flume_format = set->flume_format;
	ks->default_partition = (int32_t)set->default_partition;
	ks->allow_topic_override = set->allow_topic_override;
	ks->order_per_partition = set->order_per_partition;
	ks->dlq_policy = set->dlq_policy && strcmp(set->dlq_policy,
						   "retry") == 0 ?
			 KAFKA_DLQ_RETRY : KAFKA_DLQ_FILE;
	snprintf(ks->acks, sizeof(ks->acks), "%s",
		 kafka_effective_acks(set, props));
	ks->idempotent = kafka_idempotent(props);
	ks->nb_hmap = kafka_conf_header_map(props, ks->hmap, NULL);
	if (ks->nb_hmap < 0) {
		ks->nb_hmap = 0;
		sl_err_set(err, EINVAL, "sink kafka %s: bad header mapping",
			   name);
		goto err_free;
	}
	cap = sl_channel_capacity(ch);
	ks->max_inflight = (unsigned)set->max_inflight;
	ks->stall_ns = (uint64_t)set->stall_timeout * SL_NS_PER_SEC;
	/*
	 * Auto: as many takes as fill the channel (events in flight stay in
	 * it), up to 40k events, so small batches still keep the brokers
	 * busy (flumeBatchSize 1 -> 4096 takes of one event). Design note:
	 * the cap was 8k events; with 1 KiB events into one broker that is
	 * 8 batches of librdkafka's 1 MB, and while its broker thread sent
	 * one alone the rest of the pipeline waited: each of two CPUs was
	 * idle 11-16% of a run (perf sched). With 40k, 6.5-11.6%, and 9 of
	 * 10 same-minute pairs faster (bench/README, fifth session).
	 */
	if (!ks->max_inflight)
		ks->max_inflight = (unsigned)SL_MAX(1, SL_MIN(SL_MIN(cap,
			(uint64_t)KAFKA_AUTO_INFLIGHT_EVENTS) / ks->batch,
			(uint64_t)KAFKA_MAX_INFLIGHT));
	ks->txns = calloc(ks->max_inflight, sizeof(*ks->txns));
	ks->msgs = calloc(ks->batch, sizeof(*ks->msgs));
	if (!ks->txns || !ks->msgs)
		goto err_nomem;
	ks->ordered = ks->idempotent || ks->order_per_partition;
	for (i = 0; ks->ordered && i < ks->max_inflight; i++) {
		ks->txns[i].parts = calloc(ks->batch, sizeof(int32_t));
		ks->txns[i].pin = calloc(ks->batch, sizeof(int32_t));
		if (!ks->txns[i].parts || !ks->txns[i].pin)
			goto err_nomem;
		if (ks->order_per_partition &&
		    !(ks->txns[i].topic_ids = calloc(ks->batch,
						     sizeof(uint16_t))))
			goto err_nomem;
	}
	/* A replay holds events from the first uncommitted one to the
	 * furthest ever taken: at most a window apart, as the commit point
	 * only moves forward. */
	if (ks->ordered) {
		ks->replay_cap = ks->max_inflight * ks->batch;
		ks->replay = calloc(ks->replay_cap, sizeof(int32_t));
		ks->replay_tmp = calloc(ks->replay_cap, sizeof(int32_t));
		if (!ks->replay || !ks->replay_tmp)
			goto err_nomem;
	}

	conf = kafka_conf_build(set, props, NULL, &nb_errors);
	if (nb_errors) {
		sl_err_set(err, EINVAL, "sink kafka %s: bad kafka.producer "
			   "properties", name);
		goto err_free;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", set->bootstrap,
			      errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		sl_err_set(err, EINVAL, "sink kafka %s: "
			   "kafka.bootstrap.servers: %s", name, errstr);
		goto err_free;
	}
	rd_kafka_conf_set_opaque(conf, ks);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_stats_cb(conf, kafka_stats_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	ks->conf_tmpl = rd_kafka_conf_dup(conf);
	ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!ks->rk) {
		sl_err_set(err, EINVAL, "sink kafka %s: librdkafka: %s", name,
			   errstr);
		goto err_free;
	}
	conf = NULL;
	if (!ks->topic_dynamic) {
		ks->rkt = rd_kafka_topic_new(ks->rk, ks->topic, NULL);
		if (!ks->rkt) {
			sl_err_set(err, EINVAL, "sink kafka %s: topic %s: %s",
				   name, ks->topic,
				   rd_kafka_err2str(rd_kafka_last_error()));
			goto err_free;
		}
	}
	kafka_sticky_init(ks);
	ks->base.cons = sl_channel_consumer_open(ch, name, ks->batch,
						 ks->max_inflight, err);
	if (!ks->base.cons)
		goto err_free;
	return &ks->base;

err_nomem:
	sl_err_set(err, ENOMEM, "sink kafka %s: out of memory", name);
err_free:
	if (conf)
		rd_kafka_conf_destroy(conf);
	kafka_destroy(&ks->base);
	return NULL;
}

static int
kafka_start(struct sl_sink *sk, struct sl_err *err)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	int rc;

	if (ks->order_per_partition || ks->sticky_ok) {
		rc = pthread_create(&ks->meta_thread, NULL, kafka_meta_main,
				    ks);
		if (rc != 0)
			return sl_err_set(err, rc, "sink kafka %s: cannot "
					  "start its metadata thread: %s",
					  sk->name, strerror(rc));
		sl_thread_name(ks->meta_thread, "meta", sk->name);
		ks->meta_running = true;
	}
	sl_log(SL_INFO, "sink kafka %s: topic %s, acks %s%s, %s, up to %u "
	       "takes of %u events in flight; dead letters to %s", sk->name,
	       ks->topic, ks->acks, ks->idempotent ? " + idempotence" : "",
	       ks->order_per_partition ? "one unacknowledged take per "
	       "partition (ordered)" : ks->idempotent ? "pipelined, ordered" :
	       "pipelined (a retried batch may land after a later one)",
	       ks->max_inflight, ks->batch, ks->dlq_policy == KAFKA_DLQ_FILE ?
	       ks->dlq_path : "nowhere (policy retry)");
	return 0;
}

static void
kafka_stop(struct sl_sink *sk)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;

	if (ks->meta_running) {
		pthread_mutex_lock(&ks->meta_lock);
		ks->meta_stop = true;
		pthread_cond_signal(&ks->meta_cond);
		pthread_mutex_unlock(&ks->meta_lock);
		pthread_join(ks->meta_thread, NULL);
		ks->meta_running = false;
	}
}

static void
kafka_destroy(struct sl_sink *sk)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	unsigned i;

	kafka_stop(sk);
	for (i = 0; i < ks->nb_topics; i++) {
		rd_kafka_topic_destroy(ks->topics[i].rkt);
		free(ks->topics[i].name);
		free(ks->topics[i].owner);
	}
	if (ks->rkt)
		rd_kafka_topic_destroy(ks->rkt);
	if (ks->rk) {
		/* Nothing may still point into channel memory. */
		rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE |
			       RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(ks->rk, 0);
		rd_kafka_destroy(ks->rk);
	}
	free(ks->sticky_down);		/* the statistics may use it until here */
	free(ks->sticky_meta_down);
	if (ks->txns)
		for (i = 0; i < ks->max_inflight; i++) {
			free(ks->txns[i].parts);
			free(ks->txns[i].pin);
			free(ks->txns[i].topic_ids);
		}
	free(ks->txns);
	free(ks->replay);
	free(ks->replay_tmp);
	if (ks->conf_tmpl)
		rd_kafka_conf_destroy(ks->conf_tmpl);
	kafka_conf_header_map_free(ks->hmap, ks->nb_hmap);
	if (ks->dlq_fd >= 0)
		close(ks->dlq_fd);
	pthread_mutex_destroy(&ks->brokers_lock);
	pthread_mutex_destroy(&ks->meta_lock);
	pthread_cond_destroy(&ks->meta_cond);
	free(ks->msgs);
	free(ks->avro_buf);
	free(ks->dlq_path);
	free(ks->timestamp_header);
	free(ks->partition_header);
	free(ks->topic_header);
	free(ks->topic);
	free(ks->base.name);
	free(ks);
}

/* ---- stats (control thread) ------------------------------------------- */

static const struct sl_stat_desc kafka_stat_desc[] = {
	SL_STAT_DESC("KafkaEventSendTimer", struct kafka_stats, send_timer_ms,
		     SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("inflight_txns", struct kafka_stats, inflight_txns,
		     SL_STAT_GAUGE, SL_STAT_SLUICE),
	SL_STAT_DESC("inflight_events", struct kafka_stats, inflight_events,
		     SL_STAT_GAUGE, SL_STAT_SLUICE),
	SL_STAT_DESC("txn_retries", struct kafka_stats, txn_retries,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("event_retries", struct kafka_stats, event_retries,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("delivery_errors", struct kafka_stats, delivery_errors,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("dead_lettered", struct kafka_stats, dead_lettered,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("dead_letter_failures", struct kafka_stats,
		     dead_letter_failures, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("stale_reports", struct kafka_stats, stale_reports,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("queue_full", struct kafka_stats, queue_full,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("fences", struct kafka_stats, fences,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("partition_waits", struct kafka_stats, partition_waits,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("producer_restarts", struct kafka_stats,
		     producer_restarts, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("producer_stalls", struct kafka_stats,
		     producer_stalls, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("sticky_partitions", struct kafka_stats,
		     sticky_partitions, SL_STAT_GAUGE, SL_STAT_SLUICE),
	SL_STAT_DESC("sticky_unavailable", struct kafka_stats,
		     sticky_unavailable, SL_STAT_GAUGE, SL_STAT_SLUICE),
	SL_STAT_DESC("sticky_takes", struct kafka_stats, sticky_takes,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("sticky_moves", struct kafka_stats, sticky_moves,
		     SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC_END,
};

static void
kafka_stats(const struct sl_sink *sk, struct sl_stats_sink *out)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;
	char name[96];
	unsigned i;
	int code;

	sl_stats_emit(out, kafka_stat_desc, &ks->st);
	out->put_u64(out, "max_inflight_txns", ks->max_inflight,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "batch_size", ks->batch, SL_STAT_GAUGE,
		     SL_STAT_SLUICE);
	for (i = 0; i < KAFKA_ERR_SLOTS; i++) {
		uint64_t v = sl_stat_read(&ks->err_by_code[i]);

		if (!v)
			continue;
		code = (int)i + KAFKA_ERR_MIN;
		snprintf(name, sizeof(name), "delivery_error_%s",
			 rd_kafka_err2name((rd_kafka_resp_err_t)code));
		out->put_u64(out, name, v, SL_STAT_COUNTER, SL_STAT_SLUICE);
	}
	pthread_mutex_lock(&ks->brokers_lock);
	for (i = 0; i < ks->nb_brokers; i++) {
		const struct kafka_broker *b = &ks->brokers[i];

		snprintf(name, sizeof(name), "broker_%d_state", b->id);
		out->put_str(out, name, b->state, SL_STAT_SLUICE);
		snprintf(name, sizeof(name), "broker_%d_rtt_avg_us", b->id);
		out->put_u64(out, name, b->rtt_avg_us, SL_STAT_GAUGE,
			     SL_STAT_SLUICE);
		snprintf(name, sizeof(name), "broker_%d_rtt_p99_us", b->id);
		out->put_u64(out, name, b->rtt_p99_us, SL_STAT_GAUGE,
			     SL_STAT_SLUICE);
	}
	pthread_mutex_unlock(&ks->brokers_lock);
}

/* --kafka-mock: point this sink's settings at @bootstrap. */
int
sl_kafka_sink_set_bootstrap(void *settings, const char *bootstrap)
{
	struct kafka_settings *set = settings;
	char *s = strdup(bootstrap);

	if (!s)
		return -ENOMEM;
	free(set->bootstrap);
	set->bootstrap = s;
	return 0;
}

/* The fixed topic a sink's settings name, or NULL (%{header} topics). */
const char *
sl_kafka_sink_topic(const void *settings)
{
	const struct kafka_settings *set = settings;

	return set->topic && !strstr(set->topic, "%{") ? set->topic : NULL;
}

const struct sl_sink_ops sl_kafka_sink_ops = {
	.type = "kafka",
	.aliases = kafka_aliases,
	.keys = kafka_keys,
	.settings_size = sizeof(struct kafka_settings),
	.validate = kafka_validate,
	.create = kafka_create,
	.start = kafka_start,
	.process = kafka_process,
	.flush = kafka_flush,
	.wait = kafka_wait,
	.stop = kafka_stop,
	.destroy = kafka_destroy,
	.stats = kafka_stats,
};

int
kafka_sink_test_fatal(struct sl_sink *sk)
{
	struct kafka_sink *ks = (struct kafka_sink *)sk;

	return rd_kafka_test_fatal_error(ks->rk,
		RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
		"sluice test") ? -EINVAL : 0;
}
