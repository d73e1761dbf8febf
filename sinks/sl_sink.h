/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sink interface. Each sink has one runner thread (control/) that calls
 * process() in a loop: OK means "call again now", BACKOFF means "nothing to
 * do, the runner waits a little (bounded, growing)", FATAL stops the sink.
 * process() never sleeps waiting for a peer. The sink takes from its channel
 * through the consumer the runner opened for it.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include "sl_channel.h"
#include "sl_err.h"
#include "sl_props.h"
#include "sl_stats.h"

enum sl_sink_status {
	SL_SINK_OK,
	SL_SINK_BACKOFF,
	SL_SINK_FATAL,
};

/* Flume's sink counters. */
struct sl_sink_stats {
	uint64_t event_drain_attempt_count;
	uint64_t event_drain_success_count;
	uint64_t batch_complete_count;
	uint64_t batch_empty_count;
	uint64_t batch_underflow_count;
	uint64_t connection_created_count;
	uint64_t connection_closed_count;
	uint64_t connection_failed_count;
	uint64_t rollback_count;
	uint64_t drain_bytes;
};

struct sl_sink;

struct sl_sink_ops {
	const char *type;		/* "logger", "null", "kafka"... */
	const char *const *aliases;	/* NULL-terminated; Flume class names */
	const struct sl_key *keys;
	size_t settings_size;

	int (*validate)(const void *settings, const struct sl_props *props,
			struct sl_diag *diag);
	/*
	 * Create the sink reading from @ch. The sink opens its consumer with
	 * the batch size and in-flight depth it needs.
	 */
	struct sl_sink *(*create)(const char *name, const void *settings,
				  const struct sl_props *props,
				  struct sl_channel *ch, struct sl_err *err);
	int (*start)(struct sl_sink *sk, struct sl_err *err);
	/* One step: take/deliver/commit. Context: the sink's runner thread. */
	enum sl_sink_status (*process)(struct sl_sink *sk);
	/*
	 * Optional: finish what is in flight (commit or roll back every open
	 * take) before @deadline_ns (monotonic). Runner thread.
	 */
	void (*flush)(struct sl_sink *sk, uint64_t deadline_ns);
	/*
	 * Optional: process() backed off with events in the channel for a
	 * reason of the sink's own (the Kafka sink's window is full of takes
	 * waiting for delivery reports): wait up to @timeout_ns for that to
	 * change, returning 0 as soon as it may have (call process() again)
	 * or -ETIMEDOUT. Without it the runner sleeps the whole pause.
	 * Runner thread.
	 */
	int (*wait)(struct sl_sink *sk, uint64_t timeout_ns);
	void (*stop)(struct sl_sink *sk);
	void (*destroy)(struct sl_sink *sk);
	void (*stats)(const struct sl_sink *sk, struct sl_stats_sink *out);
};

/* Every sink implementation begins with this. */
struct sl_sink {
	const struct sl_sink_ops *ops;
	char *name;
	struct sl_chan_consumer *cons;
	struct sl_sink_stats stats;	/* written by the runner thread */
};

void sl_sink_stats_emit(const struct sl_sink *sk, struct sl_stats_sink *out);

/*
 * Count a take of @max events that returned @nb as Flume's sinks do:
 * EventDrainAttemptCount += nb, and one of BatchEmptyCount (nb == 0),
 * BatchUnderflowCount (nb < max) or BatchCompleteCount.
 * Context: the sink's runner thread.
 */
void sl_sink_count_take(struct sl_sink *sk, unsigned nb, unsigned max);

/*
 * Commit @txn, every event of which the sink has delivered, and count
 * them drained (EventDrainSuccessCount, drain bytes). SL_SINK_OK, or
 * SL_SINK_FATAL when the channel refuses the commit.
 * Context: the sink's runner thread.
 */
enum sl_sink_status sl_sink_commit_drained(struct sl_sink *sk,
					   struct sl_take *txn);

extern const struct sl_sink_ops sl_logger_sink_ops;
extern const struct sl_sink_ops sl_null_sink_ops;
extern const struct sl_sink_ops sl_kafka_sink_ops;

/*
 * Kafka sink settings (parsed by its key table), for `--kafka-mock`:
 * point them at @bootstrap (0 or -ENOMEM), and read the fixed topic they
 * name (NULL when it holds %{header}). Control thread.
 */
int sl_kafka_sink_set_bootstrap(void *settings, const char *bootstrap);
const char *sl_kafka_sink_topic(const void *settings);

#endif /* SL_SINK_H */
