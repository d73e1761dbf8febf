/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The source interface. A source owns its I/O thread(s) (or DPDK lcores),
 * frames bytes into events and puts them into every channel it is wired to
 * (Flume's replicating selector), through one producer per channel per
 * thread. Created and started by control/ on the control thread.
 */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include "sl_channel.h"
#include "sl_drop.h"
#include "sl_err.h"
#include "sl_props.h"
#include "sl_stats.h"

/* Flume's source counters plus sluice's byte and drop counters. */
struct sl_source_stats {
	uint64_t event_received_count;
	uint64_t event_accepted_count;
	uint64_t append_batch_received_count;
	uint64_t append_batch_accepted_count;
	uint64_t open_connection_count;		/* gauge */
	uint64_t event_read_fail;
	uint64_t channel_write_fail;
	uint64_t generic_processing_fail;
	uint64_t rx_bytes;
	uint64_t connections_accepted;
	uint64_t connections_closed;
	uint64_t drop[SL_DROP_MAX];
};

struct sl_source;

struct sl_source_ops {
	const char *type;		/* Flume's short type: "netcat" */
	const char *const *aliases;	/* NULL-terminated; Flume class names */
	const struct sl_key *keys;
	size_t settings_size;

	/* Optional cross-key checks after the key table. */
	int (*validate)(const void *settings, const struct sl_props *props,
			struct sl_diag *diag);
	/*
	 * Create the source; it opens its producers on @chs itself (one per
	 * channel per I/O thread). NULL with @err filled on failure.
	 */
	struct sl_source *(*create)(const char *name, const void *settings,
				    struct sl_channel *const *chs,
				    unsigned nb_chs, struct sl_err *err);
	/* Bind and start the I/O thread; 0 or -errno with @err filled. */
	int (*start)(struct sl_source *src, struct sl_err *err);
	/* Stop accepting and reading; returns once the thread has exited. */
	void (*stop)(struct sl_source *src);
	void (*destroy)(struct sl_source *src);
	/* Optional: values beyond struct sl_source_stats. */
	void (*stats)(const struct sl_source *src, struct sl_stats_sink *out);
};

/* Every source implementation begins with this. */
struct sl_source {
	const struct sl_source_ops *ops;
	char *name;
	struct sl_source_stats stats;	/* written by the source's thread */
};

/* Emit Flume's counters, the drops and the implementation's own. */
void sl_source_stats_emit(const struct sl_source *src,
			  struct sl_stats_sink *out);

extern const struct sl_source_ops sl_netcat_source_ops;
extern const struct sl_source_ops sl_netcatudp_source_ops;

#endif /* SL_SOURCE_H */
