/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every sink shares: its Flume counters as `ctl stats` shows them.
 * Control thread.
 */
#include "sl_sink.h"

static const struct sl_stat_desc sink_stat_desc[] = {
	SL_STAT_DESC("EventDrainAttemptCount", struct sl_sink_stats,
		     event_drain_attempt_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventDrainSuccessCount", struct sl_sink_stats,
		     event_drain_success_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("BatchCompleteCount", struct sl_sink_stats,
		     batch_complete_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("BatchEmptyCount", struct sl_sink_stats,
		     batch_empty_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("BatchUnderflowCount", struct sl_sink_stats,
		     batch_underflow_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("ConnectionCreatedCount", struct sl_sink_stats,
		     connection_created_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("ConnectionClosedCount", struct sl_sink_stats,
		     connection_closed_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("ConnectionFailedCount", struct sl_sink_stats,
		     connection_failed_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("RollbackCount", struct sl_sink_stats,
		     rollback_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("drain_bytes", struct sl_sink_stats,
		     drain_bytes, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC_END,
};

void
sl_sink_stats_emit(const struct sl_sink *sk, struct sl_stats_sink *out)
{
	sl_stats_emit(out, sink_stat_desc, &sk->stats);
	if (sk->ops->stats)
		sk->ops->stats(sk, out);
}

/*
 * Account one take of up to @max events that returned @nb, the way Flume's
 * sinks count: an empty take, a short one (underflow) or a full one.
 */
void
sl_sink_count_take(struct sl_sink *sk, unsigned nb, unsigned max)
{
	struct sl_sink_stats *st = &sk->stats;

	sl_stat_add(&st->event_drain_attempt_count, nb);
	if (nb == 0)
		sl_stat_add(&st->batch_empty_count, 1);
	else if (nb < max)
		sl_stat_add(&st->batch_underflow_count, 1);
	else
		sl_stat_add(&st->batch_complete_count, 1);
}

enum sl_sink_status
sl_sink_commit_drained(struct sl_sink *sk, struct sl_take *txn)
{
	unsigned nb = txn->nb_evs;
	uint64_t bytes = txn->nb_bytes;

	if (sl_channel_take_commit(sk->cons, txn) < 0)
		return SL_SINK_FATAL;
	sl_stat_add(&sk->stats.event_drain_success_count, nb);
	sl_stat_add(&sk->stats.drain_bytes, bytes);
	return SL_SINK_OK;
}
