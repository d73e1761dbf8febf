/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every source shares: its Flume counters and drops as `ctl stats`
 * shows them. Control thread.
 */
#include "sl_source.h"

static const struct sl_stat_desc source_stat_desc[] = {
	SL_STAT_DESC("EventReceivedCount", struct sl_source_stats,
		     event_received_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventAcceptedCount", struct sl_source_stats,
		     event_accepted_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("AppendBatchReceivedCount", struct sl_source_stats,
		     append_batch_received_count, SL_STAT_COUNTER,
		     SL_STAT_FLUME),
	SL_STAT_DESC("AppendBatchAcceptedCount", struct sl_source_stats,
		     append_batch_accepted_count, SL_STAT_COUNTER,
		     SL_STAT_FLUME),
	SL_STAT_DESC("OpenConnectionCount", struct sl_source_stats,
		     open_connection_count, SL_STAT_GAUGE, SL_STAT_FLUME),
	SL_STAT_DESC("EventReadFail", struct sl_source_stats,
		     event_read_fail, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("ChannelWriteFail", struct sl_source_stats,
		     channel_write_fail, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("GenericProcessingFail", struct sl_source_stats,
		     generic_processing_fail, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("rx_bytes", struct sl_source_stats,
		     rx_bytes, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("connections_accepted", struct sl_source_stats,
		     connections_accepted, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("connections_closed", struct sl_source_stats,
		     connections_closed, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC_END,
};

void
sl_source_stats_emit(const struct sl_source *src, struct sl_stats_sink *out)
{
	unsigned i;

	sl_stats_emit(out, source_stat_desc, &src->stats);
	for (i = 0; i < SL_DROP_MAX; i++)
		out->put_u64(out, sl_drop_names[i],
			     sl_stat_read(&src->stats.drop[i]),
			     SL_STAT_COUNTER, SL_STAT_SLUICE);
	if (src->ops->stats)
		src->ops->stats(src, out);
}
