/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Walk a stats descriptor table and hand each value to a stats sink.
 * Control thread; reads counters other threads write (relaxed).
 */
#include "sl_stats.h"

void
sl_stats_emit(struct sl_stats_sink *out, const struct sl_stat_desc *desc,
	      const void *base)
{
	const struct sl_stat_desc *d;

	for (d = desc; d->name; d++) {
		const uint64_t *p = (const uint64_t *)
			((const char *)base + d->offset);

		out->put_u64(out, d->name, sl_stat_read(p), d->kind,
			     d->section);
	}
}
