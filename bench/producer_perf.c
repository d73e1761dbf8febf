/* SPDX-License-Identifier: Apache-2.0 */
/*
 * producer-perf: kafka-producer-perf-test.sh on librdkafka. Same options,
 * same output lines (a window line every 5 s, the final line with
 * percentiles), latency from send to the delivery report. One thread:
 * produce, serve delivery reports with rd_kafka_poll(), throttle.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "sl_common.h"
#include "sl_kafka.h"
#include "sl_props.h"
#include "sl_time.h"

#define PROG			"producer-performance"
#define MAX_PROPS		128
#define REPORT_INTERVAL_MS	5000
#define MAX_LATENCY_SAMPLES	500000
#define MIN_SLEEP_NS		(2 * SL_NS_PER_MS)
#define PAYLOAD_POOL		(4u << 20)
#define MAX_ERRORS_SHOWN	10
#define METRICS_INTERVAL_MS	500

struct perf_args {
	const char *topic;
	int64_t nb_records;
	bool have_nb_records;
	int64_t record_size;		/* 0: not given */
	const char *payload_file;
	const char *payload_delimiter;
	bool payload_monotonic;
	double throughput;
	bool have_throughput;
	const char *props[MAX_PROPS];
	size_t nb_props;
	bool have_props;
	const char *config_file;
	bool print_metrics;
};

/* Kafka's ProducerPerformance.Stats: totals, a 5 s window, sampled latencies. */
struct perf_stats {
	uint64_t start_ns;
	uint64_t window_start_ns;
	int *latencies;
	size_t nb_latency_slots;
	uint64_t sampling;
	uint64_t iteration;
	size_t index;
	uint64_t count;
	uint64_t bytes;
	int max_latency;
	uint64_t total_latency;
	uint64_t window_count;
	int window_max_latency;
	uint64_t window_total_latency;
	uint64_t window_bytes;
	uint64_t nb_failed;
};

/* Aggregated librdkafka statistics for --print-metrics. */
struct perf_metric {
	char name[96];
	double value;
	double weight;		/* for averages: events behind @value */
	enum { METRIC_LAST, METRIC_AVG, METRIC_MAX, METRIC_SUM } how;
};

struct perf_metrics {
	struct perf_metric v[32];
	size_t n;
	uint64_t nb_callbacks;
	char client_id[128];
};

static struct perf_stats stats;
static struct perf_metrics metrics;

static void
usage_short(FILE *out)
{
	fputs("usage: " PROG " [-h] --topic TOPIC --num-records NUM-RECORDS\n"
	      "       (--record-size RECORD-SIZE | --payload-file PAYLOAD-FILE"
	      " | --payload-monotonic)\n"
	      "       [--payload-delimiter PAYLOAD-DELIMITER] --throughput "
	      "THROUGHPUT\n"
	      "       [--producer-props PROP-NAME=PROP-VALUE "
	      "[PROP-NAME=PROP-VALUE ...]]\n"
	      "       [--producer.config CONFIG-FILE] [--print-metrics]\n",
	      out);
}

static void
usage_full(FILE *out)
{
	usage_short(out);
	fputs("\nThis tool is used to verify the producer performance "
	      "(kafka-producer-perf-test.sh\non librdkafka; Java property "
	      "names are translated to librdkafka's).\n\n"
	      "  --topic TOPIC          produce messages to this topic\n"
	      "  --num-records NUM-RECORDS\n"
	      "                         number of messages to produce\n"
	      "  --record-size RECORD-SIZE\n"
	      "                         message size in bytes (random "
	      "letters A-Z)\n"
	      "  --payload-file PAYLOAD-FILE\n"
	      "                         file to read the message payloads "
	      "from; one is picked\n"
	      "                         at random per message\n"
	      "  --payload-monotonic    payload is a monotonically "
	      "increasing integer\n"
	      "  --payload-delimiter PAYLOAD-DELIMITER\n"
	      "                         delimiter of --payload-file "
	      "(default: \\n)\n"
	      "  --throughput THROUGHPUT\n"
	      "                         throttle to about THROUGHPUT "
	      "messages/sec; -1 disables\n"
	      "  --producer-props PROP-NAME=PROP-VALUE ...\n"
	      "                         producer properties "
	      "(bootstrap.servers, acks, ...);\n"
	      "                         they override --producer.config\n"
	      "  --producer.config CONFIG-FILE\n"
	      "                         producer config properties file\n"
	      "  --print-metrics        print out metrics at the end of the "
	      "test\n\n"
	      "Exit status: 0 when every record was delivered, 1 otherwise "
	      "or on a usage error.\n", out);
}

static int
usage_error(const char *fmt, const char *a, const char *b)
{
	usage_short(stderr);
	fprintf(stderr, PROG ": error: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static bool
arg_is(const char *a, const char *name)
{
	return strcmp(a, name) == 0;
}

/* Returns 0, 1 on a usage error (printed), 2 after printing help. */
static int
perf_parse_args(int argc, char **argv, struct perf_args *pa)
{
	const char *v;
	char *end;
	int i;

	if (argc <= 1) {
		usage_full(stdout);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (arg_is(a, "-h") || arg_is(a, "--help")) {
			usage_full(stdout);
			return 2;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--topic", NULL))) {
			if (!*v)
				goto need_value;
			pa->topic = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--num-records", NULL))) {
			if (sl_parse_int(v, INT64_MIN, INT64_MAX,
					 &pa->nb_records) < 0)
				return usage_error("argument --num-records: "
						   "could not convert '%s' to "
						   "Long%s", v, "");
			pa->have_nb_records = true;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--record-size", NULL))) {
			if (sl_parse_int(v, INT32_MIN, INT32_MAX,
					 &pa->record_size) < 0)
				return usage_error("argument --record-size: "
						   "could not convert '%s' to "
						   "Integer%s", v, "");
			if (pa->record_size <= 0)
				return usage_error("--record-size should be "
						   "greater than zero%s%s",
						   "", "");
			if (pa->payload_file || pa->payload_monotonic)
				goto exclusive;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--payload-file", NULL))) {
			if (!*v)
				goto need_value;
			if (pa->record_size || pa->payload_monotonic)
				goto exclusive;
			pa->payload_file = v;
		} else if (arg_is(a, "--payload-monotonic")) {
			if (pa->record_size || pa->payload_file)
				goto exclusive;
			pa->payload_monotonic = true;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
					  "--payload-delimiter", NULL))) {
			pa->payload_delimiter = v;
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
						"--throughput", NULL))) {
			errno = 0;
			pa->throughput = strtod(v, &end);
			if (!*v || *end || errno || isnan(pa->throughput))
				return usage_error("argument --throughput: "
						   "could not convert '%s' to "
						   "Double%s", v, "");
			pa->have_throughput = true;
		} else if (arg_is(a, "--producer-props")) {
			pa->have_props = true;
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
				return usage_error("argument --producer-props: "
						   "expected at least one "
						   "argument%s%s", "", "");
			while (i + 1 < argc &&
			       strncmp(argv[i + 1], "--", 2) != 0) {
				if (pa->nb_props == MAX_PROPS)
					return usage_error("argument "
							   "--producer-props: "
							   "too many%s%s", "",
							   "");
				pa->props[pa->nb_props++] = argv[++i];
			}
		} else if ((v = sl_kafka_arg_value(argc, argv, &i,
					  "--producer.config", NULL))) {
			if (!*v)
				goto need_value;
			pa->config_file = v;
		} else if (arg_is(a, "--print-metrics")) {
			pa->print_metrics = true;
		} else {
			return usage_error("unrecognized arguments: '%s'%s", a,
					   "");
		}
	}
	if (!pa->topic)
		return usage_error("argument --topic is required%s%s", "", "");
	if (!pa->have_nb_records)
		return usage_error("argument --num-records is required%s%s",
				   "", "");
	if (!pa->have_throughput)
		return usage_error("argument --throughput is required%s%s", "",
				   "");
	if (!pa->record_size && !pa->payload_file && !pa->payload_monotonic)
		return usage_error("one of the arguments --record-size "
				   "--payload-file --payload-monotonic is "
				   "required%s%s", "", "");
	if (pa->nb_records <= 0)
		return usage_error("--num-records should be greater than "
				   "zero%s%s", "", "");
	if (pa->throughput == 0)
		return usage_error("--throughput 0 would never send; use a "
				   "positive rate or -1%s%s", "", "");
	if (!pa->have_props && !pa->config_file)
		return usage_error("Either --producer-props or "
				   "--producer.config must be specified.%s%s",
				   "", "");
	return 0;
need_value:
	return usage_error("argument %s: expected one argument%s", argv[i],
			   "");
exclusive:
	return usage_error("argument %s: not allowed with another of "
			   "--record-size --payload-file "
			   "--payload-monotonic%s", argv[i], "");
}

/* ---- payloads ---------------------------------------------------------- */

struct payloads {
	char **v;
	size_t *len;
	size_t n;
	char *pool;		/* --record-size: random letters */
	size_t pool_len;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: payload choice and letters; not for anything secret. */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/*
 * Design note: Kafka's tool fills a fresh random A-Z payload per record.
 * Doing that byte by byte would make this tool measure its own random
 * number generator; instead a 4 MiB pool of random letters is made once
 * and each record starts at a random offset in it, so payloads still
 * differ from record to record (which matters for compression) at the
 * cost of one rng call. librdkafka copies the bytes (RD_KAFKA_MSG_F_COPY).
 */
static int
payload_pool_make(struct payloads *pl, size_t record_size)
{
	size_t i;

	pl->pool_len = PAYLOAD_POOL + record_size;
	pl->pool = malloc(pl->pool_len);
	if (!pl->pool)
		return -ENOMEM;
	for (i = 0; i < pl->pool_len; i++)
		pl->pool[i] = (char)('A' + (rng_next() >> 32) % 26);
	return 0;
}

/* Split @path's bytes on the literal @delim, as Java's Scanner does. */
static int
payload_file_read(struct payloads *pl, const char *path, const char *delim)
{
	char *buf = NULL, *p, *hit, *abs;
	size_t len = 0, dlen = strlen(delim), cap = 0;
	int rc = 0;
	FILE *f;

	abs = realpath(path, NULL);
	printf("Reading payloads from: %s\n", abs ? abs : path);
	free(abs);
	f = fopen(path, "rb");
	if (f) {
		char chunk[65536];
		size_t got;

		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
			p = realloc(buf, len + got + 1);
			if (!p) {
				rc = -ENOMEM;
				break;
			}
			buf = p;
			memcpy(buf + len, chunk, got);
			len += got;
		}
		fclose(f);
	}
	if (rc == 0 && (!f || len == 0)) {
		fprintf(stderr, "Exception in thread \"main\" "
			"java.lang.IllegalArgumentException: File does not "
			"exist or empty file provided.\n");
		rc = -ENOENT;
	}
	if (rc == 0 && dlen == 0) {
		fprintf(stderr, PROG ": error: --payload-delimiter must not "
			"be empty\n");
		rc = -EINVAL;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	pl->pool = buf;
	p = buf;
	while (p < buf + len) {
		hit = memmem(p, (size_t)(buf + len - p), delim, dlen);
		if (pl->n == cap) {
			char **nv;
			size_t *nl;

			cap = cap ? cap * 2 : 64;
			nv = realloc(pl->v, cap * sizeof(*pl->v));
			if (nv)
				pl->v = nv;
			nl = realloc(pl->len, cap * sizeof(*pl->len));
			if (nl)
				pl->len = nl;
			if (!nv || !nl)
				return -ENOMEM;
		}
		pl->v[pl->n] = p;
		pl->len[pl->n] = (hit ? (size_t)(hit - p) :
				  (size_t)(buf + len - p));
		pl->n++;
		if (!hit)
			break;
		p = hit + dlen;
	}
	printf("Number of messages read: %zu\n", pl->n);
	return 0;
}

/* ---- stats (Kafka's ProducerPerformance.Stats) -------------------------- */

static int
stats_init(struct perf_stats *st, uint64_t nb_records, uint64_t now)
{
	st->start_ns = now;
	st->window_start_ns = now;
	st->sampling = nb_records / SL_MIN(nb_records, MAX_LATENCY_SAMPLES);
	st->nb_latency_slots = nb_records / st->sampling + 1;
	st->latencies = calloc(st->nb_latency_slots, sizeof(int));
	return st->latencies ? 0 : -ENOMEM;
}

static void
stats_print_window(struct perf_stats *st, uint64_t now)
{
	double elapsed_ms = (double)(now - st->window_start_ns) / 1e6;

	printf("%llu records sent, %.1f records/sec (%.2f MB/sec), "
	       "%.1f ms avg latency, %.1f ms max latency.\n",
	       (unsigned long long)st->window_count,
	       1000.0 * st->window_count / elapsed_ms,
	       1000.0 * st->window_bytes / elapsed_ms / (1024.0 * 1024.0),
	       (double)st->window_total_latency / (double)st->window_count,
	       (double)st->window_max_latency);
	fflush(stdout);
	st->window_start_ns = now;
	st->window_count = 0;
	st->window_max_latency = 0;
	st->window_total_latency = 0;
	st->window_bytes = 0;
}

static void
stats_record(struct perf_stats *st, int latency, size_t bytes, uint64_t now)
{
	st->count++;
	st->bytes += bytes;
	st->total_latency += (uint64_t)latency;
	st->max_latency = SL_MAX(st->max_latency, latency);
	st->window_count++;
	st->window_bytes += bytes;
	st->window_total_latency += (uint64_t)latency;
	st->window_max_latency = SL_MAX(st->window_max_latency, latency);
	if (st->iteration % st->sampling == 0 &&
	    st->index < st->nb_latency_slots)
		st->latencies[st->index++] = latency;
	if (now - st->window_start_ns >=
	    (uint64_t)REPORT_INTERVAL_MS * SL_NS_PER_MS)
		stats_print_window(st, now);
	st->iteration++;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Java prints NaN where C would print "nan" or "-nan". */
static void
print_fixed(double v, int prec)
{
	if (isnan(v))
		fputs("NaN", stdout);
	else if (isinf(v))
		fputs(v > 0 ? "Infinity" : "-Infinity", stdout);
	else
		printf("%.*f", prec, v);
}

static void
stats_print_total(struct perf_stats *st, uint64_t now)
{
	double elapsed_ms = (double)(now - st->start_ns) / 1e6;
	static const double percs[] = { 0.5, 0.95, 0.99, 0.999 };
	size_t size = SL_MIN(st->index, st->nb_latency_slots), i;
	int values[4];

	qsort(st->latencies, size, sizeof(int), cmp_int);
	for (i = 0; i < 4; i++)
		values[i] = st->latencies[(size_t)(percs[i] * (double)size)];
	printf("%llu records sent, ", (unsigned long long)st->count);
	print_fixed(1000.0 * st->count / elapsed_ms, 6);
	fputs(" records/sec (", stdout);
	print_fixed(1000.0 * st->bytes / elapsed_ms / (1024.0 * 1024.0), 2);
	fputs(" MB/sec), ", stdout);
	print_fixed((double)st->total_latency / (double)st->count, 2);
	printf(" ms avg latency, %.2f ms max latency, %d ms 50th, %d ms "
	       "95th, %d ms 99th, %d ms 99.9th.\n", (double)st->max_latency,
	       values[0], values[1], values[2], values[3]);
	fflush(stdout);
}

/* ---- librdkafka callbacks ---------------------------------------------- */

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	uint64_t now = sl_time_mono_ns();
	uint64_t sent = (uint64_t)(uintptr_t)m->_private;

	(void)rk;
	(void)opaque;
	if (m->err) {
		if (stats.nb_failed++ < MAX_ERRORS_SHOWN)
			fprintf(stderr, "org.apache.kafka.common.KafkaException"
				": delivery to %s [%d] failed: %s\n",
				rd_kafka_topic_name(m->rkt), m->partition,
				rd_kafka_err2str(m->err));
		return;
	}
	stats_record(&stats, (int)((now - sent) / SL_NS_PER_MS), m->len, now);
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	fprintf(stderr, "WARN %s: %s\n",
		rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static struct perf_metric *
metric_get(struct perf_metrics *pm, const char *name, int how)
{
	size_t i;

	for (i = 0; i < pm->n; i++)
		if (strcmp(pm->v[i].name, name) == 0)
			return &pm->v[i];
	if (pm->n == SL_ARRAY_SIZE(pm->v))
		return NULL;
	snprintf(pm->v[pm->n].name, sizeof(pm->v[0].name), "%s", name);
	pm->v[pm->n].how = how;
	return &pm->v[pm->n++];
}

static void
metric_add(struct perf_metrics *pm, const char *name, int how, double v,
	   double weight)
{
	struct perf_metric *m = metric_get(pm, name, how);

	if (!m)
		return;
	switch (how) {
	case METRIC_LAST:
		m->value = v;
		break;
	case METRIC_SUM:
		m->value += v;
		break;
	case METRIC_MAX:
		if (v > m->value)
			m->value = v;
		break;
	case METRIC_AVG:
		if (weight > 0) {
			m->value = (m->value * m->weight + v * weight) /
				   (m->weight + weight);
			m->weight += weight;
		}
		break;
	}
}

static double
jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/*
 * librdkafka's window statistics (rtt, int_latency, batchsize, ...) cover
 * one statistics interval each; they are folded into whole-run averages
 * weighted by their sample counts, and maxima over all windows.
 */
static void
metrics_window(struct perf_metrics *pm, json_t *win, const char *avg_name,
	       const char *max_name, double scale)
{
	double cnt = jnum(win, "cnt");

	if (cnt <= 0)
		return;
	metric_add(pm, avg_name, METRIC_AVG, jnum(win, "avg") * scale, cnt);
	metric_add(pm, max_name, METRIC_MAX, jnum(win, "max") * scale, 0);
}

static int
on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct perf_metrics *pm = opaque;
	json_t *root, *brokers, *topics, *b, *t;
	double retries = 0, up = 0;
	const char *name;

	(void)rk;
	root = json_loadb(json, len, 0, NULL);
	if (!root)
		return 0;
	snprintf(pm->client_id, sizeof(pm->client_id), "%s",
		 json_string_value(json_object_get(root, "client_id")) ?: "");
	metric_add(pm, "record-send-total", METRIC_LAST, jnum(root, "txmsgs"),
		   0);
	metric_add(pm, "outgoing-byte-total", METRIC_LAST,
		   jnum(root, "tx_bytes"), 0);
	metric_add(pm, "incoming-byte-total", METRIC_LAST,
		   jnum(root, "rx_bytes"), 0);
	metric_add(pm, "request-total", METRIC_LAST, jnum(root, "tx"), 0);
	metric_add(pm, "response-total", METRIC_LAST, jnum(root, "rx"), 0);
	brokers = json_object_get(root, "brokers");
	json_object_foreach(brokers, name, b) {
		if (jnum(b, "nodeid") < 0)
			continue;	/* bootstrap placeholders */
		retries += jnum(b, "txretries");
		if (strcmp(json_string_value(json_object_get(b, "state")) ?:
			   "", "UP") == 0)
			up++;
		metrics_window(pm, json_object_get(b, "rtt"),
			       "request-latency-avg", "request-latency-max",
			       1e-3);
		metrics_window(pm, json_object_get(b, "int_latency"),
			       "record-queue-time-avg",
			       "record-queue-time-max", 1e-3);
		metrics_window(pm, json_object_get(b, "throttle"),
			       "produce-throttle-time-avg",
			       "produce-throttle-time-max", 1);
	}
	metric_add(pm, "record-retry-total", METRIC_LAST, retries, 0);
	metric_add(pm, "connection-count", METRIC_LAST, up, 0);
	topics = json_object_get(root, "topics");
	json_object_foreach(topics, name, t) {
		metrics_window(pm, json_object_get(t, "batchsize"),
			       "batch-size-avg", "batch-size-max", 1);
		metrics_window(pm, json_object_get(t, "batchcnt"),
			       "records-per-request-avg",
			       "records-per-request-max", 1);
	}
	json_decref(root);
	pm->nb_callbacks++;
	return 0;
}

static int
cmp_metric(const void *a, const void *b)
{
	return strcmp(((const struct perf_metric *)a)->name,
		      ((const struct perf_metric *)b)->name);
}

/* Kafka's ToolsUtils.printMetrics layout: sorted, names padded, %.3f. */
static void
metrics_print(struct perf_metrics *pm)
{
	char name[256];
	size_t i, w = strlen("Metric Name");
	int n;

	qsort(pm->v, pm->n, sizeof(pm->v[0]), cmp_metric);
	for (i = 0; i < pm->n; i++) {
		n = snprintf(name, sizeof(name),
			     "producer-metrics:%s:{client-id=%s}",
			     pm->v[i].name, pm->client_id);
		w = SL_MAX(w, (size_t)n);
	}
	printf("\n%-*s   %s\n", (int)w, "Metric Name", "Value");
	for (i = 0; i < pm->n; i++) {
		snprintf(name, sizeof(name), "producer-metrics:%s:"
			 "{client-id=%s}", pm->v[i].name, pm->client_id);
		printf("%-*s : %.3f\n", (int)w, name, pm->v[i].value);
	}
}

/* ---- main -------------------------------------------------------------- */

/* Kafka's ThroughputThrottler, on librdkafka's poll so reports keep flowing. */
struct throttler {
	double target;		/* records/s; < 0: unlimited */
	uint64_t start_ns;
	uint64_t sleep_time_ns;
	uint64_t sleep_deficit_ns;
};

static bool
throttle_should(const struct throttler *th, uint64_t amount, uint64_t now)
{
	double elapsed_sec;

	if (th->target < 0)
		return false;
	/* the Java code compares in whole milliseconds */
	elapsed_sec = (double)((now - th->start_ns) / SL_NS_PER_MS) / 1000.0;
	return elapsed_sec > 0 && (double)amount / elapsed_sec > th->target;
}

static void
throttle_wait(struct throttler *th, rd_kafka_t *rk)
{
	uint64_t start, now, left;

	th->sleep_deficit_ns += th->sleep_time_ns;
	if (th->sleep_deficit_ns < MIN_SLEEP_NS)
		return;
	start = sl_time_mono_ns();
	for (now = start; now - start < th->sleep_deficit_ns;
	     now = sl_time_mono_ns()) {
		left = th->sleep_deficit_ns - (now - start);
		/* poll serves delivery reports while we wait */
		if (rd_kafka_poll(rk, (int)((left + SL_NS_PER_MS - 1) /
					   SL_NS_PER_MS - 1)) == 0 &&
		    left < SL_NS_PER_MS)
			sl_time_sleep_ns(left);
	}
	th->sleep_deficit_ns = 0;
}

static rd_kafka_t *
producer_create(const struct perf_args *pa)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;
	size_t i;

	/* Kafka's tool names its client so; props may override it. */
	rd_kafka_conf_set(conf, "client.id", "perf-producer-client", NULL, 0);
	if (pa->config_file &&
	    sl_kafka_props_load(conf, pa->config_file, errstr,
			       sizeof(errstr)) < 0)
		goto err;
	for (i = 0; i < pa->nb_props; i++)
		if (sl_kafka_prop_set_arg(conf, pa->props[i], errstr,
					 sizeof(errstr)) < 0)
			goto err;
	if (pa->print_metrics) {
		char iv[16];

		snprintf(iv, sizeof(iv), "%d", METRICS_INTERVAL_MS);
		if (rd_kafka_conf_set(conf, "statistics.interval.ms", iv,
				      errstr, sizeof(errstr)))
			goto err;
		rd_kafka_conf_set_stats_cb(conf, on_stats);
		rd_kafka_conf_set_opaque(conf, &metrics);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "Exception in thread \"main\" "
			"org.apache.kafka.common.KafkaException: Failed to "
			"construct kafka producer: %s\n", errstr);
		return NULL;
	}
	return rk;
err:
	fprintf(stderr, "Exception in thread \"main\" "
		"org.apache.kafka.common.config.ConfigException: %s\n", errstr);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct perf_args pa = { .payload_delimiter = "\\n" };
	struct payloads pl = { 0 };
	struct throttler th = { 0 };
	rd_kafka_resp_err_t err;
	const char *payload;
	char mono[24];
	size_t len = 0;
	rd_kafka_t *rk;
	uint64_t i, now;
	int rc;

	rc = perf_parse_args(argc, argv, &pa);
	if (rc)
		return rc == 2 ? 0 : 1;
	if (strcmp(pa.payload_delimiter, "\\n") == 0)
		pa.payload_delimiter = "\n";
	if (pa.payload_file) {
		if (payload_file_read(&pl, pa.payload_file,
				      pa.payload_delimiter) < 0) {
			rc = 1;
			goto out;
		}
	} else if (pa.record_size && payload_pool_make(&pl,
						       (size_t)pa.record_size)) {
		fprintf(stderr, PROG ": out of memory\n");
		rc = 1;
		goto out;
	}
	rk = producer_create(&pa);
	if (!rk) {
		rc = 1;
		goto out;
	}
	now = sl_time_mono_ns();
	if (stats_init(&stats, (uint64_t)pa.nb_records, now) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		rd_kafka_destroy(rk);
		rc = 1;
		goto out;
	}
	th.target = pa.throughput;
	th.start_ns = now;
	th.sleep_time_ns = pa.throughput > 0 ?
			   (uint64_t)(1e9 / pa.throughput) : UINT64_MAX;

	for (i = 0; i < (uint64_t)pa.nb_records; i++) {
		if (pl.n) {
			size_t k = rng_next() % pl.n;

			payload = pl.v[k];
			len = pl.len[k];
		} else if (pa.record_size) {
			payload = pl.pool + rng_next() %
				  (pl.pool_len - (size_t)pa.record_size + 1);
			len = (size_t)pa.record_size;
		} else {
			len = (size_t)snprintf(mono, sizeof(mono), "%llu",
					       (unsigned long long)i);
			payload = mono;
		}
		now = sl_time_mono_ns();
		for (;;) {
			err = rd_kafka_producev(rk,
				RD_KAFKA_V_TOPIC(pa.topic),
				RD_KAFKA_V_VALUE((void *)payload, len),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now),
				RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			/* Java blocks in send(); we wait for queue space */
			rd_kafka_poll(rk, 1);
		}
		if (err) {
			if (stats.nb_failed++ < MAX_ERRORS_SHOWN)
				fprintf(stderr, "org.apache.kafka.common."
					"KafkaException: send failed: %s\n",
					rd_kafka_err2str(err));
		}
		rd_kafka_poll(rk, 0);
		if (throttle_should(&th, i, now))
			throttle_wait(&th, rk);
	}
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_poll(rk, 100);
	stats_print_total(&stats, sl_time_mono_ns());
	if (pa.print_metrics) {
		uint64_t seen = metrics.nb_callbacks;
		uint64_t until = sl_time_mono_ns() +
			(METRICS_INTERVAL_MS + 1000) * SL_NS_PER_MS;

		/* one more statistics round, taken after the last delivery */
		while (metrics.nb_callbacks == seen &&
		       sl_time_mono_ns() < until)
			rd_kafka_poll(rk, 50);
		metrics_print(&metrics);
	}
	rd_kafka_destroy(rk);
	if (stats.nb_failed)
		fprintf(stderr, "%llu of %lld records were not delivered\n",
			(unsigned long long)stats.nb_failed,
			(long long)pa.nb_records);
	rc = stats.nb_failed ? 1 : 0;
out:
	free(stats.latencies);
	free(pl.pool);
	free(pl.v);
	free(pl.len);
	return rc;
}
