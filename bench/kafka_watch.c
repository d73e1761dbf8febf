/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kafka-watch: what bench/run needs to see in a Kafka topic.
 *   hwm      wait until the topic's summed high watermarks grow by N and
 *            print when (CLOCK_REALTIME): the end of a throughput run.
 *   latency  read every record (no group: all partitions from the start),
 *            take loadgen's --seq header apart and measure now - send time,
 *            count lost and duplicate records, print percentiles.
 * Single-threaded (librdkafka's own threads aside).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "bench_util.h"

#define WATCH_MAX_PARTS		1024
#define WATCH_BATCH		1024

struct watch_args {
	const char *bootstrap;
	const char *topic;
	uint64_t nb_records;
	uint64_t timeout_s;
	uint64_t interval_ms;
	uint64_t nb_conns;
	const char *cdf_path;
	bool once;
	bool from_beginning;
	bool progress;		/* hwm: a line each time the watermark grows */
	uint64_t sample;	/* read only this many partitions; 0: all */
};

static volatile sig_atomic_t watch_stop;

static void
watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static void
watch_usage(FILE *out)
{
	fputs("usage: kafka-watch hwm --bootstrap-server B --topic T "
	      "--records N\n"
	      "                     [--timeout SEC] [--interval-ms MS] "
	      "[--once] [--progress]\n"
	      "       kafka-watch latency --bootstrap-server B --topic T "
	      "--records N\n"
	      "                     --connections C [--timeout SEC] "
	      "[--cdf FILE]\n"
	      "                     [--from-beginning] [--sample K]\n"
	      "\n"
	      "hwm: prints 'baseline S' (the summed high watermarks now), "
	      "then waits until\n"
	      "they reach S+N and prints 'reached records=N hwm=H "
	      "end_ns=T polls=K'\n"
	      "(T: CLOCK_REALTIME of the first poll that saw it; default "
	      "poll every 2 ms).\n"
	      "--once: print the baseline line and exit. --progress: also "
	      "'at T hwm=H' each\n"
	      "time the watermark grows (H counted from the baseline).\n"
	      "latency: reads what is added to the topic from now on (no "
	      "group), parses loadgen --seq\n"
	      "headers and prints 'latency records=R p50_us= p99_us= "
	      "p999_us= max_us=\n"
	      "lost= dup= bad= [FELL-BEHIND]': receive time minus send "
	      "time; FELL-BEHIND:\n"
	      "records left the log before they were read. --cdf writes "
	      "'percentile,us'\n"
	      "lines. --sample K reads only K of the partitions (every "
	      "P/K-th), a random\n"
	      "sample of the records under librdkafka's partitioners, and "
	      "runs until SIGTERM,\n"
	      "then reads up to those partitions' high watermarks and "
	      "prints (no lost count).\n"
	      "lines. Exit 0 when N distinct records arrived, 1 otherwise, "
	      "2 on usage.\n", out);
}

static int
watch_parse(int argc, char **argv, struct watch_args *wa)
{
	int i;

	wa->timeout_s = 300;
	wa->interval_ms = 2;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = v != NULL;

		if (strcmp(a, "--help") == 0) {
			watch_usage(stdout);
			exit(0);
		} else if (strcmp(a, "--once") == 0) {
			wa->once = true;
			continue;
		} else if (strcmp(a, "--from-beginning") == 0) {
			wa->from_beginning = true;
			continue;
		} else if (strcmp(a, "--progress") == 0) {
			wa->progress = true;
			continue;
		} else if (strcmp(a, "--bootstrap-server") == 0) {
			wa->bootstrap = v;
		} else if (strcmp(a, "--topic") == 0) {
			wa->topic = v;
		} else if (strcmp(a, "--records") == 0) {
			ok = bench_parse_u64(v, 1, UINT64_MAX / 2,
					     &wa->nb_records);
		} else if (strcmp(a, "--timeout") == 0) {
			ok = bench_parse_u64(v, 1, 86400, &wa->timeout_s);
		} else if (strcmp(a, "--interval-ms") == 0) {
			ok = bench_parse_u64(v, 0, 10000, &wa->interval_ms);
		} else if (strcmp(a, "--connections") == 0) {
			ok = bench_parse_u64(v, 1, 1000000, &wa->nb_conns);
		} else if (strcmp(a, "--sample") == 0) {
			ok = bench_parse_u64(v, 1, WATCH_MAX_PARTS, &wa->sample);
		} else if (strcmp(a, "--cdf") == 0) {
			wa->cdf_path = v;
		} else {
			fprintf(stderr, "kafka-watch: unknown option '%s'\n",
				a);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "kafka-watch: %s: bad or missing "
				"value\n", a);
			return 2;
		}
		i++;
	}
	if (wa->once && !wa->nb_records)
		wa->nb_records = 1;
	if (!wa->bootstrap || !wa->topic || !wa->nb_records) {
		fprintf(stderr, "kafka-watch: --bootstrap-server, --topic and "
			"--records are required\n");
		watch_usage(stderr);
		return 2;
	}
	return 0;
}

static rd_kafka_t *
watch_client(const struct watch_args *wa, bool tune_fetch)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", wa->bootstrap,
			      errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "client.id", "sluice-kafka-watch", errstr,
			      sizeof(errstr)) ||
	    (tune_fetch &&
	     /* assign() only, but the consumer API wants a group id */
	     (rd_kafka_conf_set(conf, "group.id", "sluice-kafka-watch", errstr,
				sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
				sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", errstr,
				sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "fetch.error.backoff.ms", "5", errstr,
				sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "max.partition.fetch.bytes", "8388608",
				errstr, sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "fetch.max.bytes", "134217728", errstr,
				sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "receive.message.max.bytes",
				"200000000", errstr, sizeof(errstr)) ||
	      rd_kafka_conf_set(conf, "enable.partition.eof", "false", errstr,
				sizeof(errstr)) ||
	      /* records gone before we read them: say so, do not skip */
	      rd_kafka_conf_set(conf, "auto.offset.reset", "error", errstr,
				sizeof(errstr))))) {
		fprintf(stderr, "kafka-watch: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		fprintf(stderr, "kafka-watch: %s\n", errstr);
	return rk;
}

/* The topic's partition count, waiting for it to exist; <0 on timeout. */
static int
watch_partitions(rd_kafka_t *rk, const char *topic, uint64_t deadline_ns)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int n = -ETIMEDOUT;

	while (sl_time_mono_ns() < deadline_ns && !watch_stop) {
		if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
		    RD_KAFKA_RESP_ERR_NO_ERROR) {
			if (md->topic_cnt == 1 && !md->topics[0].err &&
			    md->topics[0].partition_cnt > 0)
				n = md->topics[0].partition_cnt;
			rd_kafka_metadata_destroy(md);
			if (n > 0)
				break;
		}
		sl_time_sleep_ns(100 * SL_NS_PER_MS);
	}
	rd_kafka_topic_destroy(rkt);
	return n > WATCH_MAX_PARTS ? WATCH_MAX_PARTS : n;
}

static int
watch_hwm_sum(rd_kafka_t *rk, const char *topic, int nb_parts, int64_t *sum)
{
	int64_t lo, hi, s = 0;
	rd_kafka_resp_err_t err;
	int p;

	for (p = 0; p < nb_parts; p++) {
		err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi,
						       5000);
		if (err)
			return -EIO;
		s += hi;
	}
	*sum = s;
	return 0;
}

static int
watch_hwm(const struct watch_args *wa)
{
	uint64_t deadline = sl_time_mono_ns() + wa->timeout_s * SL_NS_PER_SEC;
	int64_t base = -1, sum = 0;
	uint64_t polls = 0, end_ns;
	rd_kafka_t *rk;
	int nb_parts;

	rk = watch_client(wa, false);
	if (!rk)
		return 2;
	nb_parts = watch_partitions(rk, wa->topic, deadline);
	if (nb_parts < 0) {
		fprintf(stderr, "kafka-watch: topic %s has no partitions "
			"(does it exist?)\n", wa->topic);
		rd_kafka_destroy(rk);
		return 1;
	}
	while (base < 0 && sl_time_mono_ns() < deadline && !watch_stop)
		if (watch_hwm_sum(rk, wa->topic, nb_parts, &base) < 0) {
			base = -1;
			sl_time_sleep_ns(50 * SL_NS_PER_MS);
		}
	printf("baseline %lld partitions=%d\n", (long long)base, nb_parts);
	fflush(stdout);
	if (wa->once) {
		rd_kafka_destroy(rk);
		return base >= 0 ? 0 : 1;
	}
	sum = base;
	while (sl_time_mono_ns() < deadline && !watch_stop && base >= 0) {
		int64_t prev = sum;

		polls++;
		if (watch_hwm_sum(rk, wa->topic, nb_parts, &sum) < 0) {
			sum = prev;
		} else if (wa->progress && sum != prev) {
			printf("at %llu hwm=%lld\n",
			       (unsigned long long)bench_wall_ns(),
			       (long long)(sum - base));
			fflush(stdout);
		}
		if ((uint64_t)(sum - base) >= wa->nb_records) {
			end_ns = bench_wall_ns();
			printf("reached records=%llu hwm=%lld end_ns=%llu "
			       "polls=%llu\n",
			       (unsigned long long)wa->nb_records,
			       (long long)(sum - base),
			       (unsigned long long)end_ns,
			       (unsigned long long)polls);
			rd_kafka_destroy(rk);
			return 0;
		}
		if (wa->interval_ms)
			sl_time_sleep_ns(wa->interval_ms * SL_NS_PER_MS);
	}
	printf("%s records=%lld of %llu polls=%llu\n",
	       watch_stop ? "stopped" : "timeout",
	       (long long)(sum - (base < 0 ? 0 : base)),
	       (unsigned long long)wa->nb_records,
	       (unsigned long long)polls);
	rd_kafka_destroy(rk);
	return 1;
}

static void
watch_write_cdf(const char *path, uint64_t *lat, size_t n)
{
	static const double tail[] = { 99.5, 99.9, 99.95, 99.99, 100.0 };
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f) {
		fprintf(stderr, "kafka-watch: %s: %s\n", path,
			strerror(errno));
		return;
	}
	fprintf(f, "percentile,latency_us\n");
	for (i = 0; i <= 99; i++)
		fprintf(f, "%zu,%.1f\n", i,
			bench_percentile(lat, n, (double)i, true) / 1e3);
	for (i = 0; i < SL_ARRAY_SIZE(tail); i++)
		fprintf(f, "%g,%.1f\n", tail[i],
			bench_percentile(lat, n, tail[i], true) / 1e3);
	fclose(f);
}

/* One record: distinct (its latency kept), duplicate or not loadgen's. */
static void
watch_account(const struct watch_args *wa, const rd_kafka_message_t *m,
	      uint64_t per_conn, uint8_t *seen, uint64_t *lat, uint64_t *got,
	      uint64_t *dup, uint64_t *bad, uint64_t now)
{
	uint64_t seq, ts, bit;
	uint32_t conn;

	if (m->len < BENCH_SEQ_HDR_LEN ||
	    !bench_seq_parse(m->payload, &conn, &seq, &ts) ||
	    conn >= wa->nb_conns || seq >= per_conn) {
		(*bad)++;
		return;
	}
	bit = conn * per_conn + seq;
	if (seen[bit / 8] & (1u << (bit % 8))) {
		(*dup)++;
		return;
	}
	seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
	lat[(*got)++] = now > ts ? now - ts : 0;
}

static int
watch_latency(const struct watch_args *wa)
{
	uint64_t deadline = sl_time_mono_ns() + wa->timeout_s * SL_NS_PER_SEC;
	uint64_t per_conn, nb_slots, now, got = 0, dup = 0, bad = 0;
	rd_kafka_message_t *batch[WATCH_BATCH];
	rd_kafka_queue_t *rkqu;
	uint64_t nb_errors = 0;
	bool fell_behind = false, sampled = wa->sample > 0, draining = false;
	int64_t *next_off = calloc(WATCH_MAX_PARTS, sizeof(int64_t));
	int64_t *target = calloc(WATCH_MAX_PARTS, sizeof(int64_t));
	rd_kafka_topic_partition_list_t *parts;
	int step = 1;
	uint8_t *seen = NULL;
	uint64_t *lat = NULL;
	rd_kafka_message_t *m;
	rd_kafka_t *rk;
	int nb_parts, p, rc = 1;

	if (!wa->nb_conns) {
		fprintf(stderr, "kafka-watch: latency needs --connections\n");
		return 2;
	}
	per_conn = (wa->nb_records + wa->nb_conns - 1) / wa->nb_conns;
	nb_slots = per_conn * wa->nb_conns;
	seen = calloc((nb_slots + 7) / 8, 1);
	lat = malloc(wa->nb_records * sizeof(*lat));
	rk = watch_client(wa, true);
	if (!seen || !lat || !rk || !next_off || !target)
		goto out;
	nb_parts = watch_partitions(rk, wa->topic, deadline);
	if (nb_parts < 0) {
		fprintf(stderr, "kafka-watch: topic %s has no partitions\n",
			wa->topic);
		goto out;
	}
	/*
	 * Start each partition at its high watermark now (the records this
	 * run will add; a used topic is fine), resolved here rather than by
	 * the consumer, so fetching starts the moment we say "assigned".
	 */
	step = wa->sample && wa->sample < (uint64_t)nb_parts ?
	       nb_parts / (int)wa->sample : 1;
	parts = rd_kafka_topic_partition_list_new(nb_parts);
	for (p = 0; p < nb_parts; p += step) {
		int64_t lo, hi;

		if (rd_kafka_query_watermark_offsets(rk, wa->topic, p, &lo, &hi,
						     10000)) {
			fprintf(stderr, "kafka-watch: cannot read the "
				"watermarks of %s [%d]\n", wa->topic, p);
			rd_kafka_topic_partition_list_destroy(parts);
			goto out;
		}
		next_off[p] = wa->from_beginning ? lo : hi;
		rd_kafka_topic_partition_list_add(parts, wa->topic, p)->offset =
			next_off[p];
	}
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	/* let the fetchers connect before the load starts */
	for (p = 0; p < 3 && !wa->from_beginning; p++) {
		m = rd_kafka_consumer_poll(rk, 100);
		if (m) {
			if (!m->err)
				bad++;	/* nothing should be there yet */
			rd_kafka_message_destroy(m);
		}
	}
	printf("assigned partitions=%d of %d\n", (nb_parts + step - 1) / step,
	       nb_parts);
	fflush(stdout);

	/* batches off the consumer queue: one call per up to 1024 records */
	rkqu = rd_kafka_queue_get_consumer(rk);
	while (!fell_behind && sl_time_mono_ns() < deadline) {
		ssize_t nb, i;

		if (!sampled && (got >= wa->nb_records || watch_stop))
			break;
		if (sampled && watch_stop && !draining) {
			/* the load is over: read up to where it ended */
			for (p = 0; p < nb_parts; p += step) {
				int64_t lo;

				if (rd_kafka_query_watermark_offsets(rk,
						wa->topic, p, &lo,
						&target[p], 10000))
					target[p] = -1;
			}
			draining = true;
			deadline = SL_MIN(deadline, sl_time_mono_ns() +
					  10 * SL_NS_PER_SEC);
		}
		if (draining) {
			for (p = 0; p < nb_parts; p += step)
				if (next_off[p] < target[p])
					break;
			if (p >= nb_parts)
				break;
		}
		nb = rd_kafka_consume_batch_queue(rkqu, 100, batch,
						  WATCH_BATCH);

		now = bench_wall_ns();
		for (i = 0; i < nb; i++) {
			m = batch[i];
			if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
				if (!fell_behind)
					fprintf(stderr, "kafka-watch: records "
						"left the log before they were "
						"read (the reader fell behind): "
						"%s\n",
						rd_kafka_message_errstr(m));
				fell_behind = true;
			} else if (m->err) {
				if (nb_errors++ < 10)
					fprintf(stderr, "kafka-watch: %s\n",
						rd_kafka_message_errstr(m));
			} else if (got < wa->nb_records) {
				if (m->partition >= 0 &&
				    m->partition < nb_parts)
					next_off[m->partition] = m->offset + 1;
				watch_account(wa, m, per_conn, seen, lat, &got,
					      &dup, &bad, now);
			}
			rd_kafka_message_destroy(m);
		}
	}
	rd_kafka_queue_destroy(rkqu);
	qsort(lat, got, sizeof(*lat), bench_cmp_u64);
	printf("latency records=%llu p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "max_us=%.1f lost=%llu dup=%llu bad=%llu sampled=%d/%d%s\n",
	       (unsigned long long)got,
	       bench_percentile(lat, got, 50, true) / 1e3,
	       bench_percentile(lat, got, 99, true) / 1e3,
	       bench_percentile(lat, got, 99.9, true) / 1e3,
	       (got ? lat[got - 1] : 0) / 1e3,
	       (unsigned long long)(sampled ? 0 : wa->nb_records - got),
	       (unsigned long long)dup, (unsigned long long)bad,
	       (nb_parts + step - 1) / step, nb_parts,
	       fell_behind ? " FELL-BEHIND" : "");
	if (wa->cdf_path && got)
		watch_write_cdf(wa->cdf_path, lat, got);
	rc = (sampled ? got > 0 && !fell_behind : got == wa->nb_records) ?
	     0 : 1;
out:
	free(next_off);
	free(target);
	if (rk) {
		rd_kafka_consumer_close(rk);
		rd_kafka_destroy(rk);
	}
	free(seen);
	free(lat);
	return rc;
}

int
main(int argc, char **argv)
{
	struct watch_args wa = { 0 };
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		watch_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	rc = watch_parse(argc, argv, &wa);
	if (rc)
		return rc;
	signal(SIGTERM, watch_on_signal);
	signal(SIGINT, watch_on_signal);
	if (strcmp(argv[1], "hwm") == 0)
		return watch_hwm(&wa);
	if (strcmp(argv[1], "latency") == 0)
		return watch_latency(&wa);
	fprintf(stderr, "kafka-watch: unknown mode '%s' (hwm, latency)\n",
		argv[1]);
	return 2;
}
