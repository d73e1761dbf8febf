/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The channel interface: what sources put into and sinks take from.
 *
 * Producers (one per source thread) and consumers (one per sink runner) are
 * opened on the control thread before the agent starts; after that, put and
 * take run without locks. Put side: begin, put one or more events (copied
 * once, into channel memory), commit or rollback. Take side: a take returns
 * a transaction of up to n events whose pointers stay valid until that
 * transaction is committed or rolled back; a consumer may hold several take
 * transactions at once (the Kafka sink keeps many in flight), and commits
 * them in the order they were taken. Rolling one back returns its events,
 * and those of every later transaction of that consumer, to the head of the
 * channel in order.
 *
 * Durability: sl_channel_put_commit() returns a ticket. A put is
 * acknowledged (safe to tell the sender) once sl_channel_producer_acked()
 * reaches its ticket; the memory channel acknowledges at once, the file
 * channel after its group fdatasync, and then signals the producer's
 * eventfd.
 *
 * Wakeups (optional ops; the memory and file channels have them): a
 * consumer that found nothing to take may sleep in
 * sl_channel_consumer_wait() until a producer publishes (the file
 * channel: until its writer publishes a synced group); a producer refused
 * for want of room may arm
 * sl_channel_producer_room_arm() and poll sl_channel_producer_room_fd()
 * until a consumer's take commit frees some. Both sides signal only a peer
 * that flagged itself as waiting, so a busy channel makes no syscall.
 */
#ifndef SL_CHANNEL_H
#define SL_CHANNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "sl_err.h"
#include "sl_event.h"
#include "sl_props.h"
#include "sl_stats.h"

struct sl_channel;
struct sl_chan_producer;
struct sl_chan_consumer;

/* One take transaction: events are valid until commit or rollback. */
struct sl_take {
	struct sl_event *evs;
	unsigned nb_evs;
	uint64_t nb_bytes;	/* sum of body lengths */
	void *priv;		/* channel-private */
};

/*
 * Flume's channel counters, plus sluice's. Put-side fields are written by
 * the channel on behalf of producers with relaxed atomic adds (one per
 * transaction, never per event); take-side fields by consumers.
 */
struct sl_channel_stats {
	uint64_t event_put_attempt_count;
	uint64_t event_put_success_count;
	uint64_t event_take_attempt_count;
	uint64_t event_take_success_count;
	uint64_t event_put_error_count;
	uint64_t event_take_error_count;
	uint64_t put_full_count;	/* puts refused: channel full */
	uint64_t put_bytes;
	uint64_t take_bytes;
	uint64_t rollback_count;
	/*
	 * Events this channel refused at a batch commit while the source's
	 * other channels kept them (another producer took the room the
	 * batch counted on): the replicating fan-out split, counted here
	 * by the source (fanout.c) because the channel cannot see it.
	 */
	uint64_t drop_channel_full;
};

struct sl_channel_ops {
	const char *type;		/* Flume's short type, e.g. "memory" */
	const char *const *aliases;	/* NULL-terminated; Flume class names */
	const struct sl_key *keys;
	size_t settings_size;

	/* Create from parsed @settings; cross-key checks go to @diag. */
	struct sl_channel *(*create)(const char *name, const void *settings,
				     const struct sl_props *props,
				     struct sl_diag *diag, struct sl_err *err);
	/* Optional: extra validation after the key table (e.g. tx <= cap). */
	int (*validate)(const void *settings, const struct sl_props *props,
			struct sl_diag *diag);

	struct sl_chan_producer *(*producer_open)(struct sl_channel *ch,
						  const char *who,
						  struct sl_err *err);
	struct sl_chan_consumer *(*consumer_open)(struct sl_channel *ch,
						  const char *who,
						  unsigned max_txn_events,
						  unsigned max_inflight,
						  struct sl_err *err);

	int (*start)(struct sl_channel *ch);
	void (*stop)(struct sl_channel *ch);
	void (*destroy)(struct sl_channel *ch);

	int (*put_begin)(struct sl_chan_producer *p);
	int (*put)(struct sl_chan_producer *p, const struct sl_event *ev);
	int64_t (*put_commit)(struct sl_chan_producer *p);
	void (*put_rollback)(struct sl_chan_producer *p);
	uint64_t (*producer_acked)(struct sl_chan_producer *p);
	int (*producer_fd)(struct sl_chan_producer *p);	/* optional */
	int (*producer_failed)(struct sl_chan_producer *p);	/* optional */
	int (*producer_room_fd)(struct sl_chan_producer *p);	/* optional */
	int (*producer_room_arm)(struct sl_chan_producer *p);	/* optional */

	struct sl_take *(*take)(struct sl_chan_consumer *c, unsigned max);
	int (*take_commit)(struct sl_chan_consumer *c, struct sl_take *txn);
	void (*take_rollback)(struct sl_chan_consumer *c, struct sl_take *txn);
	int (*consumer_wait)(struct sl_chan_consumer *c, unsigned min_events,
			     uint64_t timeout_ns);	/* optional */

	uint64_t (*size)(const struct sl_channel *ch);	/* events held */
	uint64_t (*capacity)(const struct sl_channel *ch);
	void (*stats)(const struct sl_channel *ch, struct sl_stats_sink *out);
	/* Optional: see sl_channel_producer_depth(). */
	int64_t (*producer_depth)(const struct sl_chan_producer *p);
};

/* Every channel implementation begins with this. */
struct sl_channel {
	const struct sl_channel_ops *ops;
	char *name;
	struct sl_channel_stats stats;
};

/* Every producer and consumer implementation begins with these. */
struct sl_chan_producer {
	struct sl_channel *ch;
};

struct sl_chan_consumer {
	struct sl_channel *ch;
};

/*
 * Functions below dispatch through the ops table.
 *
 * sl_channel_put_begin(): open a put transaction. 0.
 * sl_channel_put(): copy @ev into the channel inside the open transaction.
 *   0; -ENOSPC the channel (or its byte capacity) is full, or the file
 *   channel's ring is full while its writer waits for disk space; -EAGAIN a
 *   buffer between the producer and the channel is momentarily full (the
 *   file channel's ring, until its writer drains it): backpressure, not a
 *   refusal, so retry the event shortly (a source with acks stops reading
 *   that connection) rather than failing it; -E2BIG the transaction
 *   already holds transactionCapacity events; -EMSGSIZE @ev can never fit.
 * sl_channel_put_commit(): make the transaction's events visible to sinks.
 *   Returns the ticket (>= 0) or -ENOSPC (full, or the file channel is out
 *   of disk space / below minimumRequiredSpace: nothing was stored) or
 *   -EIO (the channel is unhealthy). Tickets of a producer are consecutive
 *   (an empty commit returns the last one again); the file channel makes
 *   the events visible to sinks only once they are acknowledged.
 * sl_channel_take(): up to @max events; NULL when empty or when the
 *   consumer already holds max_inflight transactions.
 */
static inline struct sl_chan_producer *
sl_channel_producer_open(struct sl_channel *ch, const char *who,
			 struct sl_err *err)
{
	return ch->ops->producer_open(ch, who, err);
}

static inline struct sl_chan_consumer *
sl_channel_consumer_open(struct sl_channel *ch, const char *who,
			 unsigned max_txn_events, unsigned max_inflight,
			 struct sl_err *err)
{
	return ch->ops->consumer_open(ch, who, max_txn_events, max_inflight,
				      err);
}

static inline int
sl_channel_put_begin(struct sl_chan_producer *p)
{
	return p->ch->ops->put_begin(p);
}

static inline int
sl_channel_put(struct sl_chan_producer *p, const struct sl_event *ev)
{
	return p->ch->ops->put(p, ev);
}

static inline int64_t
sl_channel_put_commit(struct sl_chan_producer *p)
{
	return p->ch->ops->put_commit(p);
}

static inline void
sl_channel_put_rollback(struct sl_chan_producer *p)
{
	p->ch->ops->put_rollback(p);
}

static inline uint64_t
sl_channel_producer_acked(struct sl_chan_producer *p)
{
	return p->ch->ops->producer_acked(p);
}

/*
 * An eventfd that becomes readable when this producer's acks advance, or -1
 * when acks are immediate (memory channel: a ticket is acked the moment
 * put_commit returns it). The file channel writes to it after each group
 * fdatasync that covered one of this producer's transactions, and once
 * more when the channel turns unhealthy. A source polls it (it is
 * non-blocking), drains it with read(), then calls
 * sl_channel_producer_acked() and answers every transaction whose ticket is
 * <= that value; wakeups coalesce, so one readable event may cover many
 * tickets, and a wakeup may find nothing new. If the channel turns
 * unhealthy, acks stop for good: tickets not acked by then never will be,
 * and every later put_commit (an empty transaction included, which makes a
 * cheap probe) returns -EIO. Context: the producer's thread.
 */
static inline int
sl_channel_producer_fd(struct sl_chan_producer *p)
{
	return p->ch->ops->producer_fd ? p->ch->ops->producer_fd(p) : -1;
}

/*
 * 0 while tickets above sl_channel_producer_acked() may still be acked;
 * a negative errno (-EIO) once they never will be (the file channel
 * turned unhealthy: a failed fdatasync). Call it before reading acked():
 * once it reports the failure, acked() is final, and a source must answer
 * every line of a ticket above it as failed (netcat: `FAILED: ...`).
 * Channels without the op (memory: acks are immediate) never fail acks.
 * Context: the producer's thread.
 */
static inline int
sl_channel_producer_failed(struct sl_chan_producer *p)
{
	return p->ch->ops->producer_failed ? p->ch->ops->producer_failed(p)
					   : 0;
}

/*
 * Producer side of the "room again" wakeup. sl_channel_producer_room_fd():
 * a non-blocking eventfd that becomes readable after sl_channel_producer_
 * room_arm() returned 0 and a consumer's take commit then freed room, or
 * -1 when the channel has no such wakeup (retry on a timer instead).
 * sl_channel_producer_room_arm(): flag this producer as waiting for room,
 * then look again (after a full barrier, so a take commit racing with it
 * either sees the flag or is seen here). 0: armed, the fd will be
 * signalled once (drain it with read(); it may find room taken again by
 * another producer, so re-arm and wait again); -EAGAIN: there is room now,
 * retry the put instead of waiting (the flag is cleared); -EOPNOTSUPP: no
 * wakeup. Arming an armed producer is cheap and returns 0. Room means
 * events below capacity (and bytes below byteCapacity); a put can still
 * fail for ring space, so keep a slow timer as a safety net.
 * Context: the producer's thread.
 */
static inline int
sl_channel_producer_room_fd(struct sl_chan_producer *p)
{
	return p->ch->ops->producer_room_fd ? p->ch->ops->producer_room_fd(p)
					    : -1;
}

static inline int
sl_channel_producer_room_arm(struct sl_chan_producer *p)
{
	return p->ch->ops->producer_room_arm ?
	       p->ch->ops->producer_room_arm(p) : -EOPNOTSUPP;
}

/*
 * Ring depth: bytes this producer published into the channel's ring(s)
 * that the channel has not released yet (memory channel: not yet taken
 * and committed by a consumer; file channel: not yet written to the log
 * by its writer). Counts ring bytes: each record with its header and
 * alignment, padding skipped at a ring's end included, so it is a gauge
 * of how full the producer's rings are, not an event count. 0 when the
 * consumers are caught up. Relaxed reads of the ring positions: any
 * thread (`ctl stats`), an approximate value while the producer runs.
 * Returns the byte count (>= 0), or -EOPNOTSUPP when the channel has no
 * such op.
 */
static inline int64_t
sl_channel_producer_depth(const struct sl_chan_producer *p)
{
	return p->ch->ops->producer_depth ? p->ch->ops->producer_depth(p) :
	       -EOPNOTSUPP;
}

/*
 * Sleep until a producer publishes events this consumer can take, or
 * @timeout_ns passes (bounded, so a caller still sees stop requests and
 * deadlines). @min_events 0 or 1: any publish wakes it. More: wake only
 * once about that many events wait (clamped to the consumer's take size
 * and half the channel's capacity), so a sink that keeps up is not woken
 * per small put transaction; pair it with a short timeout, which bounds
 * the latency of a last few events. The consumer flags itself as
 * sleeping, then looks again after a full barrier (pairs with the barrier
 * a producer's commit runs before reading the flag), so a publish is
 * never missed; only a commit that finds the flag set (and the channel
 * holding what the consumer waits for) makes a syscall (a futex wake).
 * Returns 0 when woken or when what it waits for is there already (a
 * wakeup may find nothing to take: another consumer took it, or it was
 * spurious), -EAGAIN when, waiting for any event, events are already there
 * (it did not sleep: if the caller backed off anyway, it is for another
 * reason and it should pause on its own), -ETIMEDOUT, -EINTR, or
 * -EOPNOTSUPP when the channel has no wakeup (sleep on your own).
 * Context: the consumer's thread (the sink runner).
 */
static inline int
sl_channel_consumer_wait(struct sl_chan_consumer *c, unsigned min_events,
			 uint64_t timeout_ns)
{
	return c->ch->ops->consumer_wait ?
	       c->ch->ops->consumer_wait(c, min_events, timeout_ns) :
	       -EOPNOTSUPP;
}

static inline struct sl_take *
sl_channel_take(struct sl_chan_consumer *c, unsigned max)
{
	return c->ch->ops->take(c, max);
}

static inline int
sl_channel_take_commit(struct sl_chan_consumer *c, struct sl_take *txn)
{
	return c->ch->ops->take_commit(c, txn);
}

static inline void
sl_channel_take_rollback(struct sl_chan_consumer *c, struct sl_take *txn)
{
	c->ch->ops->take_rollback(c, txn);
}

static inline uint64_t
sl_channel_size(const struct sl_channel *ch)
{
	return ch->ops->size(ch);
}

static inline uint64_t
sl_channel_capacity(const struct sl_channel *ch)
{
	return ch->ops->capacity(ch);
}

/* Emit the channel's Flume counters and the implementation's own. */
void sl_channel_stats_emit(const struct sl_channel *ch,
			   struct sl_stats_sink *out);

extern const struct sl_channel_ops sl_memory_channel_ops;
extern const struct sl_channel_ops sl_file_channel_ops;

#endif /* SL_CHANNEL_H */
