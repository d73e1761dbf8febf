/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness for the Kafka sink: an in-process librdkafka mock cluster,
 * an agent plan built from Flume properties text (the real config path),
 * the memory channel fed by the test itself as the source, the sink's
 * process() driven by the test as its runner, and a verifying consumer
 * thread that reads every partition while the run goes on (the mock keeps
 * only the last ~5 MiB per partition) and counts lost, duplicated and
 * reordered records.
 */
#ifndef KAFKA_TEST_H
#define KAFKA_TEST_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sl_control.h"
#include "sl_log.h"
#include "sl_time.h"

#define KT_MAX_PARTS	16

struct kt_mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	const char *bootstrap;
};

static void
kt_quiet_log(const rd_kafka_t *rk, int level, const char *fac,
	     const char *buf)
{
}

static void
kt_mock_start(struct kt_mock *m, int brokers)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];

	rd_kafka_conf_set_log_cb(conf, kt_quiet_log);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(m->rk, "%s", errstr);
	m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
	cr_assert_not_null(m->mc);
	m->bootstrap = rd_kafka_mock_cluster_bootstraps(m->mc);
}

static void
kt_mock_stop(struct kt_mock *m)
{
	rd_kafka_mock_cluster_destroy(m->mc);
	rd_kafka_destroy(m->rk);
}

/* ---- the agent under test: memory channel + Kafka sink ----------------- */

struct kt_agent {
	struct sl_conf conf;
	struct sl_plan plan;
	struct sl_diag diag;
	struct sl_channel *ch;
	struct sl_sink *sk;
	struct sl_chan_producer *prod;
};

/* Build agent @agent from @fmt (printf-style); asserts it has no errors. */
static void SL_PRINTF(3, 4)
kt_agent_open(struct kt_agent *a, const char *agent, const char *fmt, ...)
{
	struct sl_err err = { 0 };
	const struct sl_sink_ops *sops;
	const struct sl_channel_ops *cops;
	struct sl_plan_comp *pch = NULL, *psk = NULL;
	const char *dbg;
	char *text;
	va_list ap;
	size_t i;

	memset(a, 0, sizeof(*a));
	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&text, fmt, ap), 0);
	va_end(ap);
	/* KT_DEBUG=eos,broker,...: librdkafka's debug contexts for sink k1,
	 * logged at DEBUG (to tell a flake's cause from its log). */
	if ((dbg = getenv("KT_DEBUG")) && *dbg) {
		char *more;

		cr_assert_geq(asprintf(&more, "%s%s.sinks.k1.kafka.producer."
				       "debug = %s\n", text, agent, dbg), 0);
		free(text);
		text = more;
		sl_log_set_level(SL_DEBUG);
	}
	cr_assert_eq(sl_conf_parse_string(&a->conf, "test.conf", text,
					  strlen(text), &a->diag), 0);
	free(text);
	cr_assert_eq(sl_plan_build(&a->conf, agent, &a->plan, &a->diag), 0,
		     "%s", a->diag.n ? a->diag.v[0].text : "");
	for (i = 0; i < a->plan.nb_comps; i++) {
		if (a->plan.comps[i].kind == SL_COMP_CHANNEL)
			pch = &a->plan.comps[i];
		if (a->plan.comps[i].kind == SL_COMP_SINK)
			psk = &a->plan.comps[i];
	}
	cr_assert(pch && psk);
	cops = pch->type->ops;
	sops = psk->type->ops;
	a->ch = cops->create(pch->name, pch->settings, &pch->props, &a->diag,
			     &err);
	cr_assert_not_null(a->ch, "%s", err.msg);
	a->sk = sops->create(psk->name, psk->settings, &psk->props, a->ch,
			     &err);
	cr_assert_not_null(a->sk, "%s", err.msg);
	cr_assert_eq(sops->start(a->sk, &err), 0, "%s", err.msg);
	a->prod = sl_channel_producer_open(a->ch, "test", &err);
	cr_assert_not_null(a->prod, "%s", err.msg);
}

static void
kt_agent_close(struct kt_agent *a)
{
	a->sk->ops->stop(a->sk);
	a->sk->ops->destroy(a->sk);
	a->ch->ops->destroy(a->ch);
	sl_plan_free(&a->plan);
	sl_conf_free(&a->conf);
	sl_diag_free(&a->diag);
}

/* One step of the runner; sleeps a little when the sink backs off. */
static enum sl_sink_status
kt_run_once(struct kt_agent *a)
{
	enum sl_sink_status st = a->sk->ops->process(a->sk);

	cr_assert_neq(st, SL_SINK_FATAL);
	if (st == SL_SINK_BACKOFF)
		sl_time_sleep_ns(SL_NS_PER_MS);
	return st;
}

/* Put one event (body @body, optional headers k=v); -ENOSPC when full. */
static int
kt_put(struct kt_agent *a, const void *body, size_t len,
       const char *const *hdrs, unsigned nb_hdrs)
{
	struct sl_event ev = { .body = body, .body_len = (uint32_t)len };
	unsigned i;
	int rc;

	for (i = 0; i < nb_hdrs; i++) {
		ev.hdrs[i].key = hdrs[2 * i];
		ev.hdrs[i].key_len = (uint16_t)strlen(hdrs[2 * i]);
		ev.hdrs[i].val = hdrs[2 * i + 1];
		ev.hdrs[i].val_len = (uint16_t)strlen(hdrs[2 * i + 1]);
	}
	ev.nb_headers = (uint16_t)nb_hdrs;
	sl_channel_put_begin(a->prod);
	rc = sl_channel_put(a->prod, &ev);
	if (rc < 0) {
		sl_channel_put_rollback(a->prod);
		return rc;
	}
	return sl_channel_put_commit(a->prod) < 0 ? -ENOSPC : 0;
}

/* Read one of the sink's stats by name (0 when absent). */
struct kt_stat_find {
	struct sl_stats_sink base;
	const char *name;
	uint64_t v;
	char str[64];
	bool found;
};

static void
kt_stat_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
	    enum sl_stat_kind kind, enum sl_stat_section sec)
{
	struct kt_stat_find *f = (struct kt_stat_find *)s;

	if (strcmp(name, f->name) == 0) {
		f->v = v;
		f->found = true;
	}
}

static void
kt_stat_str(struct sl_stats_sink *s, const char *name, const char *v,
	    enum sl_stat_section sec)
{
	struct kt_stat_find *f = (struct kt_stat_find *)s;

	if (strcmp(name, f->name) == 0) {
		snprintf(f->str, sizeof(f->str), "%s", v);
		f->found = true;
	}
}

static void
kt_stat_f64(struct sl_stats_sink *s, const char *name, double v,
	    enum sl_stat_section sec)
{
}

static uint64_t
kt_stat(const struct kt_agent *a, const char *name)
{
	struct kt_stat_find f = {
		.base = { kt_stat_u64, kt_stat_str, kt_stat_f64 },
		.name = name,
	};

	sl_sink_stats_emit(a->sk, &f.base);
	return f.v;
}

static bool
kt_stat_has(const struct kt_agent *a, const char *name)
{
	struct kt_stat_find f = {
		.base = { kt_stat_u64, kt_stat_str, kt_stat_f64 },
		.name = name,
	};

	sl_sink_stats_emit(a->sk, &f.base);
	return f.found;
}

/* Run the sink (nothing to take) until stat @name is @want, up to @ms. */
static uint64_t
kt_run_until_stat(struct kt_agent *a, const char *name, uint64_t want,
		  unsigned ms)
{
	unsigned i;

	for (i = 0; i < ms / 10 && kt_stat(a, name) != want; i++) {
		kt_run_once(a);
		sl_time_sleep_ns(10 * SL_NS_PER_MS);
	}
	return kt_stat(a, name);
}

/* ---- the verifying consumer -------------------------------------------- */

/*
 * Records carry "SEQ|" (decimal) at the start of the body, then filler
 * that depends on SEQ (kt_fill_byte). Per partition the verifier keeps
 * the highest sequence seen: a first-seen sequence below it is reordered;
 * a sequence seen before is a duplicate; a body whose filler is not the
 * one its SEQ gives is corrupt (the sink hands librdkafka pointers into
 * the channel, so a body overwritten before its delivery shows here).
 */
struct kt_verify {
	const char *bootstrap;
	const char *topic;
	int nb_parts;
	unsigned nb_expect;
	pthread_t thread;
	int stop;
	/* results (read after join) */
	uint8_t *seen;		/* by SEQ: 0, or 1 + its (first) partition */
	unsigned unique, dups, reordered, foreign, corrupt;
	/* log offsets the verifier never got (dropped unread, or jumped) */
	uint64_t skipped;
	int64_t next_offset[KT_MAX_PARTS];
	int64_t max_seq[KT_MAX_PARTS];
	uint64_t per_part[KT_MAX_PARTS];
	/* optional: keep bodies in arrival order (small runs) */
	char **bodies;
	unsigned nb_bodies, cap_bodies;
};

/* Byte @j of the filler after "SEQ|". */
static inline char
kt_fill_byte(unsigned long seq, size_t j)
{
	return (char)('a' + (seq + j) % 26);
}

static void
kt_verify_record(struct kt_verify *v, const rd_kafka_message_t *m)
{
	const char *body = m->payload;
	unsigned long seq;
	char tmp[24], *end;
	size_t n = SL_MIN(m->len, sizeof(tmp) - 1), j, fill;
	int p = m->partition;

	if (p >= 0 && p < KT_MAX_PARTS) {
		if (m->offset > v->next_offset[p])
			v->skipped += (uint64_t)(m->offset - v->next_offset[p]);
		if (m->offset >= v->next_offset[p])
			v->next_offset[p] = m->offset + 1;
	}
	if (v->bodies && v->nb_bodies < v->cap_bodies)
		v->bodies[v->nb_bodies++] = strndup(m->payload, m->len);
	memcpy(tmp, m->payload, n);
	tmp[n] = '\0';
	seq = strtoul(tmp, &end, 10);
	if (end == tmp || *end != '|' || seq >= v->nb_expect || p < 0 ||
	    p >= KT_MAX_PARTS) {
		v->foreign++;
		return;
	}
	v->per_part[p]++;
	fill = (size_t)(end - tmp) + 1;
	for (j = 0; fill + j < m->len; j++)
		if (body[fill + j] != kt_fill_byte(seq, j)) {
			v->corrupt++;
			break;
		}
	if (v->seen[seq]) {
		v->dups++;
		return;
	}
	v->seen[seq] = (uint8_t)(p + 1);	/* the partition it is on, + 1 */
	__atomic_store_n(&v->unique, v->unique + 1, __ATOMIC_RELAXED);
	if ((int64_t)seq < v->max_seq[p])
		v->reordered++;
	else
		v->max_seq[p] = (int64_t)seq;
}

static void *
kt_verify_main(void *arg)
{
	struct kt_verify *v = arg;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts;
	char errstr[256];
	rd_kafka_t *rk;
	int i;

	rd_kafka_conf_set(conf, "bootstrap.servers", v->bootstrap, errstr,
			  sizeof(errstr));
	rd_kafka_conf_set(conf, "group.id", "kt-verify", errstr,
			  sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
			  sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.partition.eof", "false", errstr,
			  sizeof(errstr));
	rd_kafka_conf_set_log_cb(conf, kt_quiet_log);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk)
		return NULL;
	parts = rd_kafka_topic_partition_list_new(v->nb_parts);
	for (i = 0; i < v->nb_parts; i++)
		rd_kafka_topic_partition_list_add(parts, v->topic, i)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (!m)
			continue;
		if (!m->err)
			kt_verify_record(v, m);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return NULL;
}

static void
kt_verify_start(struct kt_verify *v, const char *bootstrap, const char *topic,
		int nb_parts, unsigned nb_expect, unsigned keep_bodies)
{
	int i;

	memset(v, 0, sizeof(*v));
	v->bootstrap = bootstrap;
	v->topic = topic;
	v->nb_parts = nb_parts;
	v->nb_expect = nb_expect;
	v->seen = calloc(nb_expect ? nb_expect : 1, 1);
	for (i = 0; i < KT_MAX_PARTS; i++)
		v->max_seq[i] = -1;
	if (keep_bodies) {
		v->bodies = calloc(keep_bodies, sizeof(char *));
		v->cap_bodies = keep_bodies;
	}
	cr_assert_eq(pthread_create(&v->thread, NULL, kt_verify_main, v), 0);
}

static void
kt_verify_stop(struct kt_verify *v)
{
	__atomic_store_n(&v->stop, 1, __ATOMIC_RELEASE);
	pthread_join(v->thread, NULL);
}

static void
kt_verify_free(struct kt_verify *v)
{
	unsigned i;

	for (i = 0; i < v->nb_bodies; i++)
		free(v->bodies[i]);
	free(v->bodies);
	free(v->seen);
}

static unsigned
kt_verify_unique(struct kt_verify *v)
{
	/* The consumer thread writes; a relaxed read is enough to poll. */
	return __atomic_load_n(&v->unique, __ATOMIC_RELAXED);
}

/* ---- a load run --------------------------------------------------------- */

typedef void (*kt_fault_fn)(struct kt_mock *m, unsigned sent, void *arg);

/*
 * Put @n records of @size bytes ("SEQ|" then filler) through the sink,
 * calling @fault (may be NULL) as records go in, until the channel is
 * empty and the verifier has seen every record, or @timeout_s passes.
 * With @v NULL (see kt_verify_after()) until the sink has committed all
 * @n records instead: nothing is in the channel or in flight.
 */
static void
kt_load(struct kt_agent *a, struct kt_mock *m, struct kt_verify *v,
	unsigned n, unsigned size, unsigned timeout_s, kt_fault_fn fault,
	void *arg)
{
	uint64_t deadline = sl_time_mono_ns() + timeout_s * SL_NS_PER_SEC;
	char *buf = malloc(size + 1);
	unsigned sent = 0;

	cr_assert(size >= 16);
	while (sl_time_mono_ns() < deadline) {
		unsigned burst = 0;

		/*
		 * Stay within ~4 MiB of what the verifier has read: the
		 * mock keeps only the newest ~5 MiB of each partition.
		 */
		while (sent < n && burst < 256 &&
		       (!v ||
			sent - kt_verify_unique(v) < (4u << 20) / size)) {
			int len = snprintf(buf, 16, "%u|", sent), j;

			for (j = len; j < (int)size; j++)
				buf[j] = kt_fill_byte(sent, (size_t)(j - len));
			if (kt_put(a, buf, size, NULL, 0) < 0)
				break;
			sent++;
			burst++;
			if (fault)
				fault(m, sent, arg);
		}
		kt_run_once(a);
		if (fault)
			fault(m, sent, arg);
		if (sent == n && sl_channel_size(a->ch) == 0 &&
		    (v ? kt_verify_unique(v) >= n :
		     kt_stat(a, "inflight_txns") == 0))
			break;
	}
	free(buf);
	/* Let late duplicates arrive before the counts are read. */
	if (v)
		sl_time_sleep_ns(300 * SL_NS_PER_MS);
	cr_log_info("sent %u, channel %llu", sent,
		    (unsigned long long)sl_channel_size(a->ch));
}

/*
 * Read the whole log of a run made with kt_load(v = NULL): start @v and
 * wait (up to @timeout_s) until it has seen all its records, then a little
 * more for duplicates behind them. For faults the verifying consumer must
 * not go through itself: with RTT above every timeout on all brokers, what
 * a consumer does (reads late, stalls for minutes, or jumps offsets)
 * depends on whether it had bootstrapped before the fault began, which a
 * loaded machine decides. The run must fit the mock's ~5 MiB per partition
 * (it is read only afterwards): the caller keeps n x size small.
 */
static void
kt_verify_after(struct kt_verify *v, const char *bootstrap, const char *topic,
		int nb_parts, unsigned n, unsigned timeout_s)
{
	uint64_t deadline = sl_time_mono_ns() + timeout_s * SL_NS_PER_SEC;

	kt_verify_start(v, bootstrap, topic, nb_parts, n, 0);
	while (kt_verify_unique(v) < n && sl_time_mono_ns() < deadline)
		sl_time_sleep_ns(10 * SL_NS_PER_MS);
	sl_time_sleep_ns(300 * SL_NS_PER_MS);
	kt_verify_stop(v);
}

/*
 * The duplicates a run may show: every event the sink itself produced
 * again, plus what librdkafka may have written twice on its own (a
 * request written but unanswered when a broker dropped), which is at most
 * the in-flight window at the fault.
 */
static uint64_t
kt_dup_bound(const struct kt_agent *a)
{
	return kt_stat(a, "event_retries") +
	       kt_stat(a, "max_inflight_txns") * kt_stat(a, "batch_size");
}

/*
 * The report every load test gives; lost must be 0 (each test says so)
 * and no delivered body may differ from what was put.
 */
static void
kt_report(const char *name, const struct kt_agent *a,
	  const struct kt_verify *v)
{
	unsigned lost = v->nb_expect - v->unique;

	cr_log_info("%s: expected %u, delivered %u, lost %u, duplicates %u, "
		    "reordered %u, txn_retries %llu, event_retries %llu, "
		    "delivery_errors %llu", name, v->nb_expect, v->unique,
		    lost, v->dups, v->reordered,
		    (unsigned long long)kt_stat(a, "txn_retries"),
		    (unsigned long long)kt_stat(a, "event_retries"),
		    (unsigned long long)kt_stat(a, "delivery_errors"));
	/*
	 * The sink's own side too, so that a loss tells whose it is: drained
	 * = N with nothing left in the channel or in flight means Kafka
	 * acknowledged every record and the verifier missed some.
	 */
	fprintf(stderr, "REPORT %s: records=%u lost=%u duplicates=%u (bound "
		"%llu) reordered=%u corrupt=%u event_retries=%llu "
		"skipped=%llu drained=%llu channel=%llu inflight=%llu\n", name,
		v->nb_expect, lost, v->dups,
		(unsigned long long)kt_dup_bound(a), v->reordered, v->corrupt,
		(unsigned long long)kt_stat(a, "event_retries"),
		(unsigned long long)v->skipped,
		(unsigned long long)kt_stat(a, "EventDrainSuccessCount"),
		(unsigned long long)sl_channel_size(a->ch),
		(unsigned long long)kt_stat(a, "inflight_events"));
	cr_expect_eq(v->corrupt, 0, "%s: %u bodies differ from what was put",
		     name, v->corrupt);
}

/* Test size: SLUICE_SOAK=1 runs the full 100,000 records. */
static unsigned
kt_size(unsigned normal)
{
	const char *soak = getenv("SLUICE_SOAK");

	return soak && *soak == '1' ? 100000 : normal;
}

#endif /* KAFKA_TEST_H */
