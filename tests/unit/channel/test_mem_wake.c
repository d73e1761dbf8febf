/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory channel wakeups: a consumer sleeping on an empty channel is woken
 * by a put (or, waiting for a batch, by the put that completes it), a
 * producer armed for room is signalled by a take commit, the
 * busy path signals nobody, and two-thread stress runs (the consumer
 * sleeping between puts, the producer waiting for room) lose no wakeup:
 * a lost one shows as a wait that ran out (counted, asserted zero).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sl_channel.h"
#include "wake_util.h"

/* Far longer than any wakeup takes: running out means it was lost. */
#define WAIT_NS		(10ull * 1000 * 1000 * 1000)
#define WAIT_MS		10000

static struct sl_channel *
mem_open(void **settings, int capacity, int tx)
{
	const struct sl_channel_ops *ops = &sl_memory_channel_ops;
	char cap[32], txs[32];
	struct sl_prop v[2] = {
		{ .key = "capacity", .val = cap, .file = "t", .line = 1 },
		{ .key = "transactionCapacity", .val = txs, .file = "t",
		  .line = 2 },
	};
	struct sl_props props = { .comp = "c1", .v = v, .n = 2, .file = "t",
				  .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	struct sl_channel *ch;

	snprintf(cap, sizeof(cap), "%d", capacity);
	snprintf(txs, sizeof(txs), "%d", tx);
	*settings = calloc(1, ops->settings_size);
	cr_assert_eq(sl_keys_apply(ops->keys, *settings, &props, &diag), 0);
	ch = ops->create("c1", *settings, &props, &diag, &err);
	cr_assert_not_null(ch, "%s", err.msg);
	sl_diag_free(&diag);
	return ch;
}

static void
mem_close(struct sl_channel *ch, void *settings)
{
	ch->ops->destroy(ch);
	sl_keys_free(sl_memory_channel_ops.keys, settings);
	free(settings);
}

/* Put one event "<seq>" in its own transaction: 0 or the commit's -errno. */
static int64_t
put_seq(struct sl_chan_producer *p, uint64_t seq)
{
	char buf[24];
	struct sl_event ev = { .body = (const uint8_t *)buf };
	int64_t t;
	int rc;

	ev.body_len = (uint32_t)snprintf(buf, sizeof(buf), "%" PRIu64, seq);
	sl_channel_put_begin(p);
	rc = sl_channel_put(p, &ev);
	if (rc < 0) {
		sl_channel_put_rollback(p);
		return rc;
	}
	t = sl_channel_put_commit(p);
	return t < 0 ? t : 0;
}

static uint64_t
seq_of(const struct sl_event *ev)
{
	char buf[24];

	cr_assert(ev->body_len < sizeof(buf));
	memcpy(buf, ev->body, ev->body_len);
	buf[ev->body_len] = '\0';
	return strtoull(buf, NULL, 10);
}

struct waiter {
	struct sl_chan_consumer *c;
	unsigned min_events;
	pid_t tid;
	int rc;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->rc = sl_channel_consumer_wait(w->c, w->min_events, WAIT_NS);
	return NULL;
}

Test(mem_wake, a_put_wakes_the_consumer_sleeping_on_an_empty_channel,
     .timeout = 60)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct waiter w = { .c = c };
	struct sl_take *t;
	pthread_t thr;

	cr_assert(c && p);
	pthread_create(&thr, NULL, waiter_main, &w);
	wait_in_futex(&w.tid);	/* put only once the consumer sleeps */
	cr_assert_eq(put_seq(p, 7), 0);
	pthread_join(thr, NULL);
	cr_expect_eq(w.rc, 0, "woken by the put, not timed out (%d)", w.rc);
	t = sl_channel_take(c, 100);
	cr_assert_not_null(t);
	cr_expect_eq(t->nb_evs, 1);
	cr_expect_eq(seq_of(&t->evs[0]), 7);
	cr_assert_eq(sl_channel_take_commit(c, t), 0);
	mem_close(ch, set);
}

Test(mem_wake, waiting_with_events_already_there_does_not_sleep)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);

	cr_assert_eq(put_seq(p, 1), 0);
	/* A huge timeout: sleeping here would time the test out. */
	cr_expect_eq(sl_channel_consumer_wait(c, 1, 3600 * WAIT_NS), -EAGAIN);
	mem_close(ch, set);
}

Test(mem_wake, an_empty_channel_times_out_without_a_put)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);

	cr_expect_eq(sl_channel_consumer_wait(c, 1, 1000), -ETIMEDOUT);
	mem_close(ch, set);
}

Test(mem_wake, a_batch_wait_sleeps_until_enough_events_are_there)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      2, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_take *t;

	cr_assert_eq(put_seq(p, 1), 0);
	cr_assert_eq(put_seq(p, 2), 0);
	/* Two of the three asked for: no early wake, it runs out. */
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 1000), -ETIMEDOUT);
	/* Any event would do: they are there, it does not sleep. */
	cr_expect_eq(sl_channel_consumer_wait(c, 1, 3600 * WAIT_NS), -EAGAIN);
	cr_assert_eq(put_seq(p, 3), 0);
	/* Three: there already, no sleep (a huge timeout otherwise). */
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 3600 * WAIT_NS), 0);
	/* Events held in flight by this consumer do not count. */
	t = sl_channel_take(c, 100);
	cr_assert_not_null(t);
	cr_assert_eq(t->nb_evs, 3);
	cr_assert_eq(put_seq(p, 4), 0);
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 1000), -ETIMEDOUT);
	/* A request beyond half the capacity is clamped to it. */
	cr_assert_eq(sl_channel_take_commit(c, t), 0);
	mem_close(ch, set);
	ch = mem_open(&set, 4, 4);
	c = sl_channel_consumer_open(ch, "k1", 100, 1, NULL);
	p = sl_channel_producer_open(ch, "r1", NULL);
	cr_assert_eq(put_seq(p, 1), 0);
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 1000), -ETIMEDOUT);
	cr_assert_eq(put_seq(p, 2), 0);
	cr_expect_eq(sl_channel_consumer_wait(c, UINT32_MAX, 3600 * WAIT_NS),
		     0, "2 = capacity / 2 events are enough");
	mem_close(ch, set);
}

struct batch_waiter {
	struct sl_chan_consumer *c;
	struct sl_channel *ch;
	pid_t tid;
	int rc;
	uint64_t size_at_wake;
};

static void *
batch_waiter_main(void *arg)
{
	struct batch_waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->rc = sl_channel_consumer_wait(w->c, 3, WAIT_NS);
	w->size_at_wake = sl_channel_size(w->ch);
	return NULL;
}

Test(mem_wake, the_put_that_completes_a_batch_wakes_the_consumer)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct batch_waiter w = { .c = c, .ch = ch };
	pthread_t thr;
	unsigned i;

	pthread_create(&thr, NULL, batch_waiter_main, &w);
	wait_in_futex(&w.tid);
	for (i = 0; i < 3; i++)
		cr_assert_eq(put_seq(p, i), 0);
	pthread_join(thr, NULL);
	cr_expect_eq(w.rc, 0, "woken by the third put, not timed out (%d)",
		     w.rc);
	cr_expect_eq(w.size_at_wake, 3, "not woken before the third");
	mem_close(ch, set);
}

Test(mem_wake, a_channel_without_the_op_reports_it)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_channel_ops ops = sl_memory_channel_ops;
	const struct sl_channel_ops *real = ch->ops;

	ops.consumer_wait = NULL;
	ops.producer_room_fd = NULL;
	ops.producer_room_arm = NULL;
	ch->ops = &ops;
	cr_expect_eq(sl_channel_consumer_wait(c, 1, WAIT_NS), -EOPNOTSUPP);
	cr_expect_eq(sl_channel_producer_room_fd(p), -1);
	cr_expect_eq(sl_channel_producer_room_arm(p), -EOPNOTSUPP);
	ch->ops = real;
	mem_close(ch, set);
}

Test(mem_wake, a_take_commit_signals_the_producer_armed_for_room)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 2, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 1, 2,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	int fd = sl_channel_producer_room_fd(p);
	struct sl_take *t1, *t2;
	uint64_t v;

	cr_assert_geq(fd, 0);
	cr_assert_eq(put_seq(p, 1), 0);
	cr_assert_eq(sl_channel_producer_room_arm(p), -EAGAIN,
		     "room for one more: no need to wait");
	cr_assert_eq(put_seq(p, 2), 0);
	cr_assert_eq(put_seq(p, 3), -ENOSPC);
	/* Busy path: a commit with nobody armed signals nobody. */
	t1 = sl_channel_take(c, 1);
	cr_assert_not_null(t1);
	cr_assert_eq(sl_channel_take_commit(c, t1), 0);
	cr_expect_not(fd_readable(fd), "nobody was armed");
	cr_assert_eq(put_seq(p, 3), 0);
	cr_assert_eq(put_seq(p, 4), -ENOSPC);
	cr_expect_eq(sl_channel_producer_room_arm(p), 0, "full: armed");
	cr_expect_eq(sl_channel_producer_room_arm(p), 0, "re-arming is fine");
	cr_expect_not(fd_readable(fd));
	/* A take frees nothing until it commits. */
	t1 = sl_channel_take(c, 1);
	t2 = sl_channel_take(c, 1);
	cr_assert(t1 && t2);
	cr_expect_not(fd_readable(fd));
	cr_assert_eq(sl_channel_take_commit(c, t1), 0);
	cr_expect(fd_readable(fd), "the commit freed room");
	cr_assert_eq(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	cr_expect_eq(v, 1, "one signal for one arming");
	/* Signalled once: the second commit does not signal again. */
	cr_assert_eq(sl_channel_take_commit(c, t2), 0);
	cr_expect_not(fd_readable(fd));
	cr_assert_eq(put_seq(p, 4), 0);
	mem_close(ch, set);
}

/*
 * Stress: the producer puts one event, then waits (spinning) until the
 * consumer has taken and committed it, so the consumer finds the channel
 * empty and goes to sleep before nearly every put; every few rounds a
 * burst goes in without waiting. The consumer must see every event in
 * order and never run out a wait.
 */
#define ST_ROUNDS	20000u

struct stress {
	struct sl_channel *ch;
	struct sl_chan_producer *p;
	unsigned put;
	uint64_t full;
};

static void *
stress_producer(void *arg)
{
	struct stress *s = arg;
	unsigned i;

	while (s->put < ST_ROUNDS) {
		unsigned burst = s->put % 16 == 0 ? 5 : 1;

		for (i = 0; i < burst && s->put < ST_ROUNDS; i++) {
			if (put_seq(s->p, s->put) < 0) {
				s->full++;
				sched_yield();
				continue;
			}
			s->put++;
		}
		while (sl_channel_size(s->ch) != 0)
			sched_yield();
	}
	return NULL;
}

Test(mem_wake, no_wakeup_is_lost_when_the_consumer_sleeps_between_puts,
     .timeout = 120)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 100, 100);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	struct stress s = { .ch = ch };
	unsigned timeouts = 0, woken = 0, ready = 0;
	uint64_t next = 0;
	pthread_t thr;

	s.p = sl_channel_producer_open(ch, "r1", NULL);
	cr_assert(c && s.p);
	pthread_create(&thr, NULL, stress_producer, &s);
	while (next < ST_ROUNDS) {
		struct sl_take *t = sl_channel_take(c, 100);
		int rc;

		if (t) {
			take_in_order_commit(c, t, &next, seq_of);
			continue;
		}
		rc = sl_channel_consumer_wait(c, 1, WAIT_NS);
		if (rc == -ETIMEDOUT)
			timeouts++;
		else if (rc == 0)
			woken++;
		else if (rc == -EAGAIN)
			ready++;
		else
			cr_assert_eq(rc, -EINTR, "wait: %d", rc);
	}
	pthread_join(thr, NULL);
	cr_expect_eq(timeouts, 0, "%u wakeups lost", timeouts);
	cr_expect_gt(woken, 0, "the consumer slept and was woken "
		     "(%u woken, %u ready)", woken, ready);
	cr_expect_eq(ch->stats.event_put_success_count, ST_ROUNDS);
	cr_expect_eq(ch->stats.event_take_success_count, ST_ROUNDS);
	cr_expect_eq(sl_channel_size(ch), 0);
	mem_close(ch, set);
}

/* Both wakeups at once (room_stress_run, wake_util.h), capacity 4. */
#define RS_EVENTS	50000u

Test(mem_wake, producer_and_consumer_wakeups_together_lose_nothing,
     .timeout = 120)
{
	void *set;
	struct sl_channel *ch = mem_open(&set, 4, 4);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 3, 2,
							      NULL);
	struct room_stress s = { .put = put_seq, .n = RS_EVENTS,
				 .wait_ns = WAIT_NS };

	s.p = sl_channel_producer_open(ch, "r1", NULL);
	cr_assert(c && s.p);
	room_stress_run(&s, c, seq_of);
	cr_expect_eq(s.bad, 0, "the producer saw %u unexpected results", s.bad);
	cr_expect_eq(s.timeouts, 0, "%u consumer wakeups lost", s.timeouts);
	cr_expect_eq(s.room_timeouts, 0, "%u room wakeups lost (of %u waits)",
		     s.room_timeouts, s.room_waits);
	cr_expect_eq(ch->stats.event_put_success_count, RS_EVENTS);
	cr_expect_eq(ch->stats.event_take_success_count, RS_EVENTS);
	mem_close(ch, set);
}
