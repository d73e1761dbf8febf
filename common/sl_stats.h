/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stats descriptors: a component's counters live in a plain struct of
 * uint64_t written by one thread (sl_stat_add) and read by the control thread
 * (sl_stat_read). A descriptor table names each field once: the name shown
 * by `ctl stats` (Flume's own name for Flume counters), its offset, and
 * whether it is a counter or a gauge.
 */
#ifndef SL_STATS_H
#define SL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "sl_common.h"

enum sl_stat_kind {
	SL_STAT_COUNTER,
	SL_STAT_GAUGE,
};

enum sl_stat_section {
	SL_STAT_FLUME,		/* Flume's monitoring names */
	SL_STAT_SLUICE,		/* sluice's own, shown in their own section */
};

struct sl_stat_desc {
	const char *name;
	size_t offset;
	enum sl_stat_kind kind;
	enum sl_stat_section section;
};

#define SL_STAT_DESC(n, type, field, k, sec) \
	{ .name = (n), .offset = offsetof(type, field), .kind = (k), .section = (sec) }
#define SL_STAT_DESC_END { .name = NULL }

/* One named value, as handed to the control plane. */
struct sl_stat_value {
	const char *name;
	uint64_t value;
	enum sl_stat_kind kind;
	enum sl_stat_section section;
};

/*
 * Component stats are gathered through a callback so a component can add
 * derived values (ChannelFillPercentage) and strings (broker states).
 */
struct sl_stats_sink {
	void (*put_u64)(struct sl_stats_sink *s, const char *name, uint64_t v,
			enum sl_stat_kind kind, enum sl_stat_section sec);
	void (*put_str)(struct sl_stats_sink *s, const char *name,
			const char *v, enum sl_stat_section sec);
	void (*put_f64)(struct sl_stats_sink *s, const char *name, double v,
			enum sl_stat_section sec);
};

/* Emit every field of @base described by @desc into @out. */
void sl_stats_emit(struct sl_stats_sink *out, const struct sl_stat_desc *desc,
		   const void *base);

#endif /* SL_STATS_H */
