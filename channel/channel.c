/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every channel shares: its Flume counters as `ctl stats` shows them.
 * Control thread.
 */
#include <float.h>

#include "sl_channel.h"

static const struct sl_stat_desc channel_stat_desc[] = {
	SL_STAT_DESC("EventPutAttemptCount", struct sl_channel_stats,
		     event_put_attempt_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventPutSuccessCount", struct sl_channel_stats,
		     event_put_success_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventTakeAttemptCount", struct sl_channel_stats,
		     event_take_attempt_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventTakeSuccessCount", struct sl_channel_stats,
		     event_take_success_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventPutErrorCount", struct sl_channel_stats,
		     event_put_error_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("EventTakeErrorCount", struct sl_channel_stats,
		     event_take_error_count, SL_STAT_COUNTER, SL_STAT_FLUME),
	SL_STAT_DESC("put_full_count", struct sl_channel_stats,
		     put_full_count, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("put_bytes", struct sl_channel_stats,
		     put_bytes, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("take_bytes", struct sl_channel_stats,
		     take_bytes, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("rollback_count", struct sl_channel_stats,
		     rollback_count, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC("drop_channel_full", struct sl_channel_stats,
		     drop_channel_full, SL_STAT_COUNTER, SL_STAT_SLUICE),
	SL_STAT_DESC_END,
};

void
sl_channel_stats_emit(const struct sl_channel *ch, struct sl_stats_sink *out)
{
	uint64_t size = sl_channel_size(ch);
	uint64_t cap = sl_channel_capacity(ch);

	out->put_u64(out, "ChannelSize", size, SL_STAT_GAUGE, SL_STAT_FLUME);
	out->put_u64(out, "ChannelCapacity", cap, SL_STAT_GAUGE,
		     SL_STAT_FLUME);
	/* As Flume's ChannelCounter: divide first, MAX_VALUE if cap is 0. */
	out->put_f64(out, "ChannelFillPercentage",
		     cap ? ((double)size / (double)cap) * 100 : DBL_MAX,
		     SL_STAT_FLUME);
	sl_stats_emit(out, channel_stat_desc, &ch->stats);
	if (ch->ops->stats)
		ch->ops->stats(ch, out);
}
