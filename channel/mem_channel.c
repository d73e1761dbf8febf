/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory channel (Flume's `memory`): one SPSC record ring per
 * (producer, consumer) pair, so neither put nor take takes a lock. A put
 * transaction reserves records in one ring and publishes them at commit; a
 * take walks the consumer's rings round-robin; a take commit releases ring
 * space. The only shared write is one atomic add per transaction on the
 * channel's event (and byte) count, which is what enforces `capacity`.
 *
 * Producers and consumers are opened on the control thread before start;
 * each producer thread then owns its mem_producer, each sink runner its
 * mem_consumer.
 *
 * Wakeups: a consumer with nothing to take sleeps on a futex (its
 * `sleeping` word), a producer refused for want of room on an eventfd its
 * source polls. Each side flags itself before sleeping and looks again
 * after a full barrier; the other side runs a barrier after publishing (or
 * freeing room) and reads the flag, so no wakeup is lost and a busy
 * channel makes no syscall (the kernel's prepare_to_wait()/waitqueue_active
 * pairing). Design note: a futex word bumped on every commit would wake
 * without a flag, but it is a shared write per transaction.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "chan_int.h"
#include "sl_channel.h"
#include "sl_log.h"
#include "sl_ring.h"
#include "sl_time.h"

#define MEM_MAX_PRODUCERS	128
#define MEM_MAX_CONSUMERS	16
#define MEM_RING_MIN		(1ull << 20)
#define MEM_RING_MAX		(1ull << 30)
#define MEM_RING_PER_EVENT	2048u	/* bytes of ring per unit of capacity */
/*
 * A put copies bodies of MEM_STREAM_MIN_BODY bytes or more into a ring
 * holding MEM_STREAM_USED or more with non-temporal stores: that far
 * behind, the consumer would find them evicted from the caches anyway (a
 * full channel of 1 KiB events is ~100 MB), and ordinary stores read
 * every line of the cold destination first. A ring that is nearly empty
 * (the sink keeps up) gets ordinary stores, so the consumer reads the
 * records from the cache.
 */
#define MEM_STREAM_USED		(16ull << 20)
#define MEM_STREAM_MIN_BODY	256u

struct mem_settings {
	int64_t capacity;
	int64_t tx_capacity;
	uint64_t byte_capacity;
	int64_t byte_buffer_pct;
	int64_t keep_alive;
	uint64_t ring_bytes;
};

struct mem_producer {
	struct sl_chan_producer base;
	struct mem_channel *mc;
	unsigned id;
	struct sl_ring *rings[MEM_MAX_CONSUMERS];	/* one per consumer */
	struct sl_ring *txn_ring;
	unsigned txn_cons;		/* consumer id of txn_ring */
	unsigned rr;
	uint32_t txn_events;
	uint32_t txn_attempts;
	uint64_t txn_bytes;
	bool txn_stream;		/* copy bodies with sl_ring_copy_stream */
	uint64_t ticket;
	int room_fd;			/* eventfd: room again */
	uint32_t room_wait;		/* 1: armed; a take commit clears it */
};

struct mem_take {
	struct sl_take pub;
	unsigned nr;			/* rings that existed at take time */
	uint64_t end[MEM_MAX_PRODUCERS];
};

struct mem_consumer {
	struct sl_chan_consumer base;
	struct mem_channel *mc;
	unsigned id;
	unsigned max_txn_events;
	unsigned max_inflight;
	unsigned first;			/* oldest take in flight */
	unsigned nb_inflight;
	uint64_t inflight_events;	/* taken, not yet committed */
	unsigned next_ring;
	struct sl_ring *rings[MEM_MAX_PRODUCERS];	/* [producer id] */
	uint64_t read_pos[MEM_MAX_PRODUCERS];
	struct mem_take *txns;
	struct sl_event *evs;

	/* Futex word, 1 while the consumer sleeps; producers read it on
	 * every commit, so it has a line the busy consumer never writes. */
	uint32_t sleeping SL_CACHE_ALIGNED;
	uint64_t wake_size;	/* wake once the channel holds this many */
};

struct mem_channel {
	struct sl_channel base;
	struct mem_settings set;
	uint64_t byte_limit;		/* 0: none */
	uint64_t ring_bytes;

	/* Shared by every producer and consumer: one add per transaction. */
	uint64_t size SL_CACHE_ALIGNED;
	uint64_t bytes;
	uint32_t room_waiters;		/* producers armed for room */

	pthread_mutex_t open_lock;	/* control plane only */
	struct mem_producer *prods[MEM_MAX_PRODUCERS];
	unsigned nb_prods;		/* release: consumers read rings */
	struct mem_consumer *cons[MEM_MAX_CONSUMERS];
	unsigned nb_cons;
};

#define MEM_OFF(f) offsetof(struct mem_settings, f)

static const struct sl_key mem_keys[] = {
	{ "capacity", SL_KEY_INT, "100", MEM_OFF(capacity), 1, INT32_MAX,
	  .help = "most events the channel holds" },
	{ "transactionCapacity", SL_KEY_INT, "100", MEM_OFF(tx_capacity),
	  1, INT32_MAX, .help = "most events one put or take transaction holds" },
	{ "byteCapacity", SL_KEY_BYTES, "0", MEM_OFF(byte_capacity), 0,
	  INT64_MAX, .help = "most body bytes held (0: bounded only by the "
	  "ring memory, where Flume uses 80% of the JVM heap)" },
	{ "byteCapacityBufferPercentage", SL_KEY_INT, "20",
	  MEM_OFF(byte_buffer_pct), 0, 99,
	  .help = "share of byteCapacity kept for headers" },
	{ "keep-alive", SL_KEY_INT, "3", MEM_OFF(keep_alive), 0, 86400,
	  .help = "seconds Flume waits for space; sluice never blocks a "
	  "source thread: a full channel is backpressure at once" },
	{ "ringBytes", SL_KEY_BYTES, "0", MEM_OFF(ring_bytes), 0,
	  (int64_t)MEM_RING_MAX, .help = "sluice: bytes of ring per "
	  "producer and sink (0: 2 KiB x capacity, 1 MiB..1 GiB)" },
	SL_KEY_END,
};

static const char *const mem_aliases[] = {
	"org.apache.flume.channel.MemoryChannel",
	NULL,
};

static struct sl_channel *
mem_create(const char *name, const void *settings,
	   const struct sl_props *props, struct sl_diag *diag,
	   struct sl_err *err)
{
	const struct mem_settings *set = settings;
	struct mem_channel *mc;

	if (posix_memalign((void **)&mc, SL_CACHE_LINE, sizeof(*mc)) != 0) {
		sl_err_set(err, ENOMEM, "channel memory %s: out of memory",
			   name);
		return NULL;
	}
	memset(mc, 0, sizeof(*mc));
	mc->base.ops = &sl_memory_channel_ops;
	mc->base.name = strdup(name);
	mc->set = *set;
	if (set->byte_capacity)
		mc->byte_limit = set->byte_capacity *
				 (uint64_t)(100 - set->byte_buffer_pct) / 100;
	mc->ring_bytes = set->ring_bytes;
	if (!mc->ring_bytes) {
		mc->ring_bytes = (uint64_t)set->capacity * MEM_RING_PER_EVENT;
		mc->ring_bytes = SL_MAX(mc->ring_bytes, MEM_RING_MIN);
		mc->ring_bytes = SL_MIN(mc->ring_bytes, MEM_RING_MAX);
	}
	pthread_mutex_init(&mc->open_lock, NULL);
	return &mc->base;
}

/* Attach the ring of (@mp, @mcon); called with open_lock held. */
static int
mem_ring_attach(struct mem_channel *mc, struct mem_producer *mp,
		struct mem_consumer *mcon)
{
	struct sl_ring *r = sl_ring_create(mc->ring_bytes);

	if (!r)
		return -ENOMEM;
	sl_ring_prefault(r, mc->base.name);
	mp->rings[mcon->id] = r;
	mcon->rings[mp->id] = r;
	return 0;
}

static struct sl_chan_producer *
mem_producer_open(struct sl_channel *ch, const char *who, struct sl_err *err)
{
	struct mem_channel *mc = (struct mem_channel *)ch;
	struct mem_producer *mp = NULL;
	unsigned i;

	pthread_mutex_lock(&mc->open_lock);
	if (mc->nb_prods == MEM_MAX_PRODUCERS) {
		sl_err_set(err, ENFILE, "channel memory %s: more than %u "
			   "producers (%s)", ch->name, MEM_MAX_PRODUCERS, who);
		goto err_unlock;
	}
	mp = calloc(1, sizeof(*mp));
	if (!mp)
		goto err_nomem;
	mp->base.ch = ch;
	mp->mc = mc;
	mp->id = mc->nb_prods;
	mp->room_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mp->room_fd < 0) {
		sl_err_set(err, errno, "channel memory %s: eventfd for %s: %s",
			   ch->name, who, strerror(errno));
		free(mp);
		goto err_unlock;
	}
	for (i = 0; i < mc->nb_cons; i++)
		if (mem_ring_attach(mc, mp, mc->cons[i]) < 0)
			goto err_nomem;
	mc->prods[mp->id] = mp;
	/* Pairs with the acquire in mem_take(): rings[] are set first. */
	__atomic_store_n(&mc->nb_prods, mp->id + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&mc->open_lock);
	return &mp->base;

err_nomem:
	sl_err_set(err, ENOMEM, "channel memory %s: cannot allocate a ring "
		   "of %llu bytes for %s", ch->name,
		   (unsigned long long)mc->ring_bytes, who);
	if (mp) {
		for (i = 0; i < mc->nb_cons; i++) {
			if (mp->rings[i]) {
				mc->cons[i]->rings[mp->id] = NULL;
				sl_ring_free(mp->rings[i]);
			}
		}
		close(mp->room_fd);
		free(mp);
	}
err_unlock:
	pthread_mutex_unlock(&mc->open_lock);
	return NULL;
}

static struct sl_chan_consumer *
mem_consumer_open(struct sl_channel *ch, const char *who,
		  unsigned max_txn_events, unsigned max_inflight,
		  struct sl_err *err)
{
	struct mem_channel *mc = (struct mem_channel *)ch;
	struct mem_consumer *mcon;
	unsigned i;

	if (max_txn_events == 0 || max_inflight == 0) {
		sl_err_set(err, EINVAL, "channel memory %s: %s asked for an "
			   "empty take", ch->name, who);
		return NULL;
	}
	pthread_mutex_lock(&mc->open_lock);
	if (mc->nb_prods > 0 || mc->nb_cons == MEM_MAX_CONSUMERS) {
		/* Rings are per (producer, consumer): sinks come first. */
		sl_err_set(err, EBUSY, "channel memory %s: %s must be opened "
			   "before any source and at most %u sinks", ch->name,
			   who, MEM_MAX_CONSUMERS);
		pthread_mutex_unlock(&mc->open_lock);
		return NULL;
	}
	if (posix_memalign((void **)&mcon, SL_CACHE_LINE, sizeof(*mcon)) != 0)
		mcon = NULL;
	if (!mcon)
		goto err_nomem;
	memset(mcon, 0, sizeof(*mcon));
	mcon->base.ch = ch;
	mcon->mc = mc;
	mcon->id = mc->nb_cons;
	mcon->max_txn_events = max_txn_events;
	mcon->max_inflight = max_inflight;
	mcon->txns = calloc(max_inflight, sizeof(*mcon->txns));
	mcon->evs = calloc((size_t)max_inflight * max_txn_events,
			   sizeof(*mcon->evs));
	if (!mcon->txns || !mcon->evs)
		goto err_nomem;
	for (i = 0; i < max_inflight; i++)
		mcon->txns[i].pub.evs = mcon->evs + (size_t)i * max_txn_events;
	mc->cons[mc->nb_cons++] = mcon;
	pthread_mutex_unlock(&mc->open_lock);
	return &mcon->base;

err_nomem:
	if (mcon) {
		free(mcon->txns);
		free(mcon->evs);
		free(mcon);
	}
	pthread_mutex_unlock(&mc->open_lock);
	sl_err_set(err, ENOMEM, "channel memory %s: out of memory for %s",
		   ch->name, who);
	return NULL;
}

static int
mem_start(struct sl_channel *ch)
{
	(void)ch;
	return 0;
}

static void
mem_stop(struct sl_channel *ch)
{
	(void)ch;
}

static void
mem_destroy(struct sl_channel *ch)
{
	struct mem_channel *mc = (struct mem_channel *)ch;
	unsigned i, j;

	for (i = 0; i < mc->nb_prods; i++) {
		for (j = 0; j < mc->nb_cons; j++)
			sl_ring_free(mc->prods[i]->rings[j]);
		close(mc->prods[i]->room_fd);
		free(mc->prods[i]);
	}
	for (j = 0; j < mc->nb_cons; j++) {
		free(mc->cons[j]->txns);
		free(mc->cons[j]->evs);
		free(mc->cons[j]);
	}
	pthread_mutex_destroy(&mc->open_lock);
	free(mc->base.name);
	free(mc);
}

/*
 * Pick the ring for a new put transaction: the emptiest of the consumers'
 * rings, so a stalled sink's ring is not filled further while another
 * sink has room.
 */
static int
mem_put_begin(struct sl_chan_producer *p)
{
	struct mem_producer *mp = (struct mem_producer *)p;
	unsigned nb = mp->mc->nb_cons, i, best;
	uint64_t best_used = UINT64_MAX;

	mp->txn_events = 0;
	mp->txn_attempts = 0;
	mp->txn_bytes = 0;
	mp->txn_ring = NULL;
	if (nb == 0)
		return 0;
	best = mp->rr % nb;
	for (i = 0; i < nb && nb > 1; i++) {
		unsigned k = (mp->rr + i) % nb;
		uint64_t used = sl_ring_used(mp->rings[k]);

		if (used < best_used) {
			best_used = used;
			best = k;
		}
	}
	mp->rr++;
	mp->txn_ring = mp->rings[best];
	mp->txn_cons = best;
	mp->txn_stream = sl_ring_producer_used(mp->txn_ring) >= MEM_STREAM_USED;
	return 0;
}

static int
mem_put(struct sl_chan_producer *p, const struct sl_event *ev)
{
	struct mem_producer *mp = (struct mem_producer *)p;
	uint32_t len;
	void *buf;

	/*
	 * -E2BIG ("commit first") is how a batching source learns the
	 * transaction is full; the event is put again in the next one, so
	 * it is not an attempt of its own (Flume's sources never overfill a
	 * transaction, and their EventPutAttemptCount equals the events put).
	 */
	if (SL_UNLIKELY(mp->txn_events >= mp->mc->set.tx_capacity))
		return -E2BIG;
	mp->txn_attempts++;
	if (SL_UNLIKELY(!mp->txn_ring))
		return -ENOSPC;		/* no sink drains this channel */
	len = sl_chan_event_size(ev);
	if (SL_UNLIKELY(len > sl_ring_max_payload(mp->txn_ring)))
		return -EMSGSIZE;
	buf = sl_ring_reserve(mp->txn_ring, len);
	if (!buf)
		return -ENOSPC;
	if (mp->txn_stream && ev->body_len >= MEM_STREAM_MIN_BODY) {
		sl_ring_copy_stream(sl_chan_event_encode_meta(buf, ev),
				    ev->body, ev->body_len);
	} else {
		sl_chan_event_encode(buf, ev);
	}
	mp->txn_events++;
	mp->txn_bytes += ev->body_len;
	return 0;
}

/* Claim @n units of @counter up to @limit; all or nothing. *@now gets
 * the counter's value after the claim. */
static bool
mem_claim(uint64_t *counter, uint64_t n, uint64_t limit, uint64_t *now)
{
	uint64_t old = __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);

	*now = old + n;
	if (old + n <= limit)
		return true;
	__atomic_fetch_sub(counter, n, __ATOMIC_RELAXED);
	return false;
}

/*
 * Wake @mcon if it sleeps and the channel now holds what it waits for
 * (@size: the channel's size after our claim); called right after
 * publishing into its ring.
 */
static void
mem_wake_consumer(struct mem_consumer *mcon, uint64_t size)
{
	/*
	 * Pairs with the fence in mem_consumer_wait(): the tail store is
	 * ordered before the flag is read, the consumer's flag store before
	 * it reads tails, so one of the two sides sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (SL_LIKELY(!__atomic_load_n(&mcon->sleeping, __ATOMIC_RELAXED)))
		return;
	if (size < __atomic_load_n(&mcon->wake_size, __ATOMIC_RELAXED))
		return;
	sl_chan_wake_sleeper(&mcon->sleeping);
}

static int64_t
mem_put_commit(struct sl_chan_producer *p)
{
	struct mem_producer *mp = (struct mem_producer *)p;
	struct mem_channel *mc = mp->mc;
	struct sl_channel_stats *st = &mc->base.stats;
	uint64_t size, bytes;

	sl_stat_add_mt(&st->event_put_attempt_count, mp->txn_attempts);
	mp->txn_attempts = 0;
	if (mp->txn_events == 0)
		return (int64_t)mp->ticket;
	if (!mem_claim(&mc->size, mp->txn_events, (uint64_t)mc->set.capacity,
		       &size))
		goto full;
	if (mc->byte_limit &&
	    !mem_claim(&mc->bytes, mp->txn_bytes, mc->byte_limit, &bytes)) {
		__atomic_fetch_sub(&mc->size, mp->txn_events, __ATOMIC_RELAXED);
		goto full;
	}
	if (mp->txn_stream)
		sl_ring_stream_fence();	/* once per transaction */
	sl_ring_publish(mp->txn_ring);
	mem_wake_consumer(mc->cons[mp->txn_cons], size);
	sl_stat_add_mt(&st->event_put_success_count, mp->txn_events);
	sl_stat_add_mt(&st->put_bytes, mp->txn_bytes);
	mp->txn_events = 0;
	mp->txn_bytes = 0;
	return (int64_t)++mp->ticket;

full:
	sl_ring_unreserve(mp->txn_ring);
	sl_stat_add_mt(&st->put_full_count, 1);
	mp->txn_events = 0;
	mp->txn_bytes = 0;
	return -ENOSPC;
}

static void
mem_put_rollback(struct sl_chan_producer *p)
{
	struct mem_producer *mp = (struct mem_producer *)p;

	sl_stat_add_mt(&mp->mc->base.stats.event_put_attempt_count,
		       mp->txn_attempts);
	if (mp->txn_ring)
		sl_ring_unreserve(mp->txn_ring);
	mp->txn_events = 0;
	mp->txn_attempts = 0;
	mp->txn_bytes = 0;
}

static bool
mem_has_room(const struct mem_channel *mc)
{
	if (__atomic_load_n(&mc->size, __ATOMIC_RELAXED) >=
	    (uint64_t)mc->set.capacity)
		return false;
	return !mc->byte_limit ||
	       __atomic_load_n(&mc->bytes, __ATOMIC_RELAXED) < mc->byte_limit;
}

static int
mem_producer_room_fd(struct sl_chan_producer *p)
{
	return ((struct mem_producer *)p)->room_fd;
}

static int
mem_producer_room_arm(struct sl_chan_producer *p)
{
	struct mem_producer *mp = (struct mem_producer *)p;
	struct mem_channel *mc = mp->mc;

	/* The waker is mem_take_commit(). */
	sl_chan_room_arm(&mp->room_wait, &mc->room_waiters);
	if (!mem_has_room(mc))
		return 0;
	sl_chan_room_disarm(&mp->room_wait, &mc->room_waiters);
	return -EAGAIN;
}

/* A take commit freed room: signal every producer armed for it. */
static void
mem_wake_producers(struct mem_channel *mc)
{
	unsigned nb = __atomic_load_n(&mc->nb_prods, __ATOMIC_ACQUIRE), i;

	for (i = 0; i < nb; i++) {
		struct mem_producer *mp = mc->prods[i];
		int rc = sl_chan_room_signal(&mp->room_wait, &mc->room_waiters,
					     mp->room_fd);

		if (rc < 0)
			sl_log(SL_WARN, "channel memory %s: room eventfd: %s",
			       mc->base.name, strerror(-rc));
	}
}

/* The memory channel acknowledges a put as soon as it commits. */
static uint64_t
mem_producer_acked(struct sl_chan_producer *p)
{
	return ((struct mem_producer *)p)->ticket;
}

static struct sl_take *
mem_take(struct sl_chan_consumer *c, unsigned max)
{
	struct mem_consumer *mcon = (struct mem_consumer *)c;
	struct mem_take *t;
	unsigned nr, k, n = 0;
	uint64_t bytes = 0;

	if (mcon->nb_inflight == mcon->max_inflight)
		return NULL;
	/* A take never holds more than transactionCapacity (Flume). */
	max = SL_MIN(max, mcon->max_txn_events);
	max = SL_MIN(max, (unsigned)mcon->mc->set.tx_capacity);
	/* Pairs with the release in mem_producer_open(). */
	nr = __atomic_load_n(&mcon->mc->nb_prods, __ATOMIC_ACQUIRE);
	t = &mcon->txns[(mcon->first + mcon->nb_inflight) %
			mcon->max_inflight];
	for (k = 0; k < nr && n < max; k++) {
		unsigned ri = (mcon->next_ring + k) % nr;
		struct sl_ring *r = mcon->rings[ri];
		const void *rec;
		uint32_t len;

		while (n < max &&
		       (rec = sl_ring_peek(r, &mcon->read_pos[ri], &len))) {
			struct sl_event *ev = &t->pub.evs[n];

			/* Our own encoding, in our own memory. */
			SL_VERIFY(sl_chan_event_decode(rec, len, ev) == 0);
			bytes += ev->body_len;
			n++;
		}
	}
	if (nr)
		mcon->next_ring = (mcon->next_ring + 1) % nr;
	/* Flume counts one attempt per take() call, the failed one too. */
	sl_stat_add_mt(&mcon->mc->base.stats.event_take_attempt_count,
		       n + (n < max));
	if (n == 0)
		return NULL;
	t->nr = nr;
	memcpy(t->end, mcon->read_pos, nr * sizeof(t->end[0]));
	t->pub.nb_evs = n;
	t->pub.nb_bytes = bytes;
	mcon->nb_inflight++;
	mcon->inflight_events += n;
	return &t->pub;
}

static int
mem_take_commit(struct sl_chan_consumer *c, struct sl_take *txn)
{
	struct mem_consumer *mcon = (struct mem_consumer *)c;
	struct mem_channel *mc = mcon->mc;
	struct mem_take *t = (struct mem_take *)txn;
	struct sl_channel_stats *st = &mc->base.stats;
	unsigned r;

	if (mcon->nb_inflight == 0 || t != &mcon->txns[mcon->first])
		return -EINVAL;		/* commits go in take order */
	for (r = 0; r < t->nr; r++)
		sl_ring_release(mcon->rings[r], t->end[r]);
	__atomic_fetch_sub(&mc->size, txn->nb_evs, __ATOMIC_RELAXED);
	if (mc->byte_limit)
		__atomic_fetch_sub(&mc->bytes, txn->nb_bytes,
				   __ATOMIC_RELAXED);
	sl_stat_add_mt(&st->event_take_success_count, txn->nb_evs);
	sl_stat_add_mt(&st->take_bytes, txn->nb_bytes);
	mcon->first = (mcon->first + 1) % mcon->max_inflight;
	mcon->nb_inflight--;
	mcon->inflight_events -= txn->nb_evs;
	/* Pairs with the fence in mem_producer_room_arm(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (SL_UNLIKELY(__atomic_load_n(&mc->room_waiters, __ATOMIC_ACQUIRE)))
		mem_wake_producers(mc);
	return 0;
}

/* Events published into @mcon's rings that it has not taken yet? */
static bool
mem_consumer_ready(struct mem_consumer *mcon)
{
	unsigned nr = __atomic_load_n(&mcon->mc->nb_prods, __ATOMIC_ACQUIRE);
	unsigned r;

	for (r = 0; r < nr; r++)
		if (__atomic_load_n(&mcon->rings[r]->tail, __ATOMIC_ACQUIRE) !=
		    mcon->read_pos[r])
			return true;
	return false;
}

/*
 * Design note: waking the sink on every commit made a sink that keeps up
 * with its source sleep and wake once per small put transaction (two
 * syscalls and two context switches each); with @min_events the runner
 * first waits for a worthwhile batch (its take size, at most half the
 * capacity) for a short time, and only an idle sink is woken by any put.
 */
static int
mem_consumer_wait(struct sl_chan_consumer *c, unsigned min_events,
		  uint64_t timeout_ns)
{
	struct mem_consumer *mcon = (struct mem_consumer *)c;
	struct mem_channel *mc = mcon->mc;
	uint64_t want = sl_chan_wait_want(min_events, mcon->max_txn_events,
					  mc->set.tx_capacity,
					  mc->set.capacity);

	/* 0: any publish wakes us; else the channel's size to wait for
	 * (what this consumer holds in flight is part of it). */
	want = want > 1 ? mcon->inflight_events + want : 0;
	__atomic_store_n(&mcon->wake_size, want, __ATOMIC_RELAXED);
	/* Pairs with the fence in mem_wake_consumer(). */
	sl_chan_sleep_begin(&mcon->sleeping);
	if (want == 0 && mem_consumer_ready(mcon)) {
		sl_chan_sleep_cancel(&mcon->sleeping);
		return -EAGAIN;
	}
	if (want && __atomic_load_n(&mc->size, __ATOMIC_RELAXED) >= want) {
		sl_chan_sleep_cancel(&mcon->sleeping);
		return 0;
	}
	return sl_chan_sleep(&mcon->sleeping, timeout_ns);
}

/*
 * Return @txn and every later take of this consumer to the head: each
 * ring's read cursor goes back to where @txn started reading it, which is
 * where the take before it ended (or the released head).
 */
static void
mem_take_rollback(struct sl_chan_consumer *c, struct sl_take *txn)
{
	struct mem_consumer *mcon = (struct mem_consumer *)c;
	struct mem_take *t = (struct mem_take *)txn;
	struct mem_take *prev = NULL;
	unsigned k, r, nr;

	for (k = 0; k < mcon->nb_inflight; k++)
		if (&mcon->txns[(mcon->first + k) % mcon->max_inflight] == t)
			break;
	SL_VERIFY(k < mcon->nb_inflight);
	if (k > 0)
		prev = &mcon->txns[(mcon->first + k - 1) % mcon->max_inflight];
	nr = __atomic_load_n(&mcon->mc->nb_prods, __ATOMIC_ACQUIRE);
	for (r = 0; r < nr; r++)
		mcon->read_pos[r] = prev && r < prev->nr ? prev->end[r] :
				    mcon->rings[r]->head;
	sl_stat_add_mt(&mcon->mc->base.stats.rollback_count,
		       mcon->nb_inflight - k);
	for (r = k; r < mcon->nb_inflight; r++)
		mcon->inflight_events -= mcon->txns[(mcon->first + r) %
						    mcon->max_inflight].pub.nb_evs;
	mcon->nb_inflight = k;
}

static uint64_t
mem_size(const struct sl_channel *ch)
{
	const struct mem_channel *mc = (const struct mem_channel *)ch;

	return __atomic_load_n(&mc->size, __ATOMIC_RELAXED);
}

static uint64_t
mem_capacity(const struct sl_channel *ch)
{
	return (uint64_t)((const struct mem_channel *)ch)->set.capacity;
}

/*
 * Bytes in this producer's rings, one per consumer (their set is fixed
 * once a producer exists). Any thread.
 */
static int64_t
mem_producer_depth(const struct sl_chan_producer *p)
{
	const struct mem_producer *mp = (const struct mem_producer *)p;
	uint64_t used = 0;
	unsigned j;

	for (j = 0; j < mp->mc->nb_cons; j++)
		used += sl_ring_used(mp->rings[j]);
	return (int64_t)used;
}

static void
mem_stats(const struct sl_channel *ch, struct sl_stats_sink *out)
{
	const struct mem_channel *mc = (const struct mem_channel *)ch;
	uint64_t ring_used = 0;
	unsigned i, j;

	for (i = 0; i < __atomic_load_n(&mc->nb_prods, __ATOMIC_ACQUIRE); i++)
		for (j = 0; j < mc->nb_cons; j++)
			ring_used += sl_ring_used(mc->prods[i]->rings[j]);
	out->put_u64(out, "byte_size", __atomic_load_n(&mc->bytes,
		     __ATOMIC_RELAXED), SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "ring_bytes_used", ring_used, SL_STAT_GAUGE,
		     SL_STAT_SLUICE);
	out->put_u64(out, "rings", (uint64_t)mc->nb_prods * mc->nb_cons,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
}

const struct sl_channel_ops sl_memory_channel_ops = {
	.type = "memory",
	.aliases = mem_aliases,
	.keys = mem_keys,
	.settings_size = sizeof(struct mem_settings),
	.create = mem_create,
	.producer_open = mem_producer_open,
	.consumer_open = mem_consumer_open,
	.start = mem_start,
	.stop = mem_stop,
	.destroy = mem_destroy,
	.put_begin = mem_put_begin,
	.put = mem_put,
	.put_commit = mem_put_commit,
	.put_rollback = mem_put_rollback,
	.producer_acked = mem_producer_acked,
	.producer_room_fd = mem_producer_room_fd,
	.producer_room_arm = mem_producer_room_arm,
	.take = mem_take,
	.take_commit = mem_take_commit,
	.take_rollback = mem_take_rollback,
	.consumer_wait = mem_consumer_wait,
	.size = mem_size,
	.capacity = mem_capacity,
	.stats = mem_stats,
	.producer_depth = mem_producer_depth,
};
