/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane/-internal: putting a source thread's events into every channel
 * it is wired to (Flume's replicating selector), one producer per channel,
 * in batched put transactions. Used by the netcat and netcatudp sources;
 * one struct sl_fanout per source thread, touched only by that thread.
 *
 * Batching follows Flume's per-event outcome: a batch never holds more
 * events than the channels had room for when it began, so it commits
 * whole; an event that does not fit a batch is put alone ("solo") so its
 * own outcome is known at once. As in Flume's ChannelProcessor, channels
 * are filled in order: when channel k refuses an event, channels before k
 * keep it (the caller resumes or reports from k).
 */
#ifndef SL_FANOUT_INT_H
#define SL_FANOUT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_channel.h"

#define SL_FANOUT_MAX	16	/* channels per source */

struct sl_fanout {
	struct sl_chan_producer *prods[SL_FANOUT_MAX];
	int ack_fds[SL_FANOUT_MAX];	/* -1: acks at commit */
	unsigned nb;
	bool any_ack_fd;
	bool open;		/* a batch is open on every channel */
	unsigned nb_evs;	/* events in the open batch */
	uint64_t room;		/* events the batch may hold */
	uint64_t tickets[SL_FANOUT_MAX];	/* last commit per channel */
};

/*
 * Check the source's `selector.*` keys: Flume's replicating selector (the
 * default, the only one sluice has) is accepted, anything else (multiplexing,
 * optional channels, a custom class) is an error naming the line. Claims
 * the keys it reads. Returns the number of errors added to @diag.
 * Context: control thread (a source type's validate hook).
 */
int sl_fanout_selector_validate(const struct sl_props *props,
				struct sl_diag *diag);

/*
 * Open one producer on each of @chs for the thread @who. 0, or -errno with
 * @err filled (too many channels, a producer cannot be opened).
 * Context: control thread, before the source thread starts.
 */
int sl_fanout_open(struct sl_fanout *fo, struct sl_channel *const *chs,
		   unsigned nb_chs, const char *who, struct sl_err *err);

/*
 * Add @ev to the open batch (opening one if needed), into channels
 * [*from, nb). 0: it is in the batch. Negative: it is not fully in the
 * batch (-ENOSPC the batch holds what the channels had room for, or a
 * channel refused: -ENOSPC, -E2BIG, -EMSGSIZE, -EIO); *@from is then the
 * first channel without it. Flush, then put the event solo from *@from.
 */
int sl_fanout_batch_put(struct sl_fanout *fo, const struct sl_event *ev,
			unsigned *from);

/*
 * Commit the open batch on every channel. Returns the number of events the
 * batch held (0 when none was open) and sets *@ok: false when a channel
 * refused the commit (another producer took the room first), in which case
 * those events are not in that channel. When other channels did commit
 * them, each refusing channel adds them to its drop_channel_full counter
 * (the source counts them once, as failed or dropped).
 */
unsigned sl_fanout_flush(struct sl_fanout *fo, bool *ok);

/*
 * Put @ev alone into channels [*from, nb) and commit each at once. 0 when
 * every channel holds it; else the -errno of the refusal (-ENOSPC full,
 * -EMSGSIZE never fits, -EIO unhealthy) with *@from the refusing channel:
 * channels before it hold the event, channels from it on do not.
 */
int sl_fanout_solo(struct sl_fanout *fo, const struct sl_event *ev,
		   unsigned *from);

/* True when every channel acknowledged up to @tickets (a copy of
 * fo->tickets taken after a commit). */
bool sl_fanout_acked(struct sl_fanout *fo, const uint64_t *tickets);

/*
 * Ring depth of the thread's producers: the sum of
 * sl_channel_producer_depth() over its channels (those without the op add
 * nothing). A gauge for `ctl stats`; any thread.
 */
uint64_t sl_fanout_depth(const struct sl_fanout *fo);

/*
 * Log a stopped source's totals as Flume's sources do, one INFO line:
 * "source TYPE NAME: stopped (EventReceivedCount=..., ..., drop_x=...)",
 * the drops that are not zero included. Context: control thread, after the
 * source's thread has exited.
 */
struct sl_source;
void sl_fanout_log_totals(const struct sl_source *src, const char *type);

#endif /* SL_FANOUT_INT_H */
