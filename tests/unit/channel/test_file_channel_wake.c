/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File channel wakeups: a consumer sleeping on the channel is woken when
 * the writer publishes a synced group (not by the put: events are not
 * takeable before their fdatasync), or once a batch's worth is takeable,
 * or by another consumer's rollback; a producer armed for room is
 * signalled by a take commit, by the writer draining its full ring, and
 * by the channel turning unhealthy; and a two-thread stress (each side
 * waiting on the other) loses no wakeup: a lost one shows as a wait that
 * ran out (counted, asserted zero).
 */
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "wake_util.h"
#include "wrap_io.h"

/* Far longer than any wakeup takes: running out means it was lost. */
#define WAIT_NS		(20ull * 1000 * 1000 * 1000)
#define WAIT_MS		20000

static char *dir;

static void
setup(void)
{
	dir = fcu_tmpdir("/dev/shm");
}

static void
teardown(void)
{
	fcu_rmrf(dir);
	free(dir);
}

TestSuite(fc_wake, .init = setup, .fini = teardown, .timeout = 240);

/* ---- a backend whose fdatasync waits at a gate (or fails) --------------- */

struct gate_io {
	struct wrap_io wrap;
	int closed;		/* fdatasync waits while set */
	int fail;		/* fdatasync returns -EIO while set */
	int waiting;		/* syncs parked at the gate now */
};

/* No fdatasync_start: the writer syncs in line and parks here. */
static int
g_fdatasync(struct dlog_io *io, int fd)
{
	struct gate_io *g = (struct gate_io *)io;

	__atomic_fetch_add(&g->waiting, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&g->closed, __ATOMIC_ACQUIRE))
		usleep(200);
	__atomic_fetch_sub(&g->waiting, 1, __ATOMIC_ACQ_REL);
	if (__atomic_load_n(&g->fail, __ATOMIC_ACQUIRE))
		return -EIO;
	return wrap_fdatasync(io, fd);
}

static const struct dlog_io_ops gate_ops = {
	.open = wrap_open, .close = wrap_close, .pwrite = wrap_pwrite,
	.pwritev = wrap_pwritev, .pread = wrap_pread,
	.fdatasync = g_fdatasync, .fallocate = wrap_fallocate,
	.rename = wrap_rename, .unlink = wrap_unlink,
	.fsync_dir = wrap_fsync_dir, .avail = wrap_avail,
	.destroy = wrap_destroy,
};

/* ---- helpers ------------------------------------------------------------ */

static const char *const kv_default[] = { "minimumRequiredSpace=0", NULL };

static int64_t
put_one(struct sl_chan_producer *p, uint64_t id)
{
	return fcu_put_txn(p, id, 1, 64);
}

/* The id an fcu_ev_make() body carries; UINT64_MAX when it has none. */
static uint64_t
id_of(const struct sl_event *ev)
{
	char tmp[24];
	uint64_t id;

	if (ev->body_len < 20)
		return UINT64_MAX;
	memcpy(tmp, ev->body, 20);
	tmp[20] = '\0';
	return sscanf(tmp, "ev:%16" SCNx64 ":", &id) == 1 ? id : UINT64_MAX;
}

/* ---- consumer side ------------------------------------------------------ */

struct waiter {
	struct sl_chan_consumer *c;
	unsigned min_events;
	pid_t tid;
	int rc;
	unsigned taken;		/* events one take got right after waking */
	uint64_t ids[64];
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct sl_take *t;
	unsigned i;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->rc = sl_channel_consumer_wait(w->c, w->min_events, WAIT_NS);
	t = sl_channel_take(w->c, 64);
	if (t) {
		w->taken = t->nb_evs;
		/* No asserts off the main thread: the ids are checked there. */
		for (i = 0; i < t->nb_evs; i++)
			w->ids[i] = id_of(&t->evs[i]);
		sl_channel_take_commit(w->c, t);
	}
	return NULL;
}

Test(fc_wake, a_synced_group_wakes_the_consumer_sleeping_on_it)
{
	struct gate_io *g = wrap_io_new(sizeof(*g), &gate_ops);
	struct dlog_test_opts o = { .io = &g->wrap.base };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv_default, &o);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 64, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct waiter w = { .c = c, .min_events = 1 };
	pthread_t thr;

	cr_assert(c && p);
	cr_assert_eq(ch->ops->start(ch), 0);
	__atomic_store_n(&g->closed, 1, __ATOMIC_RELEASE);
	pthread_create(&thr, NULL, waiter_main, &w);
	wait_in_futex(&w.tid);
	cr_assert_eq(put_one(p, 7), 1);
	/* The put alone makes nothing takeable: its sync is held. */
	while (!__atomic_load_n(&g->waiting, __ATOMIC_ACQUIRE))
		usleep(200);
	cr_expect_null(sl_channel_take(c, 64), "not takeable before its "
		       "fdatasync");
	__atomic_store_n(&g->closed, 0, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	cr_expect_eq(w.rc, 0, "woken by the group's sync, not timed out "
		     "(%d)", w.rc);
	cr_expect_eq(w.taken, 1);
	cr_expect_eq(w.ids[0], 7);
	fcu_close(&h);
	wrap_destroy(&g->wrap.base);
}

Test(fc_wake, waiting_with_takeable_events_does_not_sleep)
{
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv_default, NULL);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 64, 2,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_take *t;

	cr_assert(c && p);
	cr_assert_eq(ch->ops->start(ch), 0);
	cr_expect_eq(sl_channel_consumer_wait(c, 1, 1000), -ETIMEDOUT,
		     "empty: it runs out");
	cr_assert_eq(put_one(p, 1), 1);
	cr_assert_eq(put_one(p, 2), 2);
	cr_assert(fcu_wait_ack(p, 2, WAIT_MS));
	/* A huge timeout: sleeping here would time the test out. */
	cr_expect_eq(sl_channel_consumer_wait(c, 1, 3600 * WAIT_NS), -EAGAIN);
	/* Two of the three asked for: no early wake, it runs out. */
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 1000), -ETIMEDOUT);
	cr_assert_eq(put_one(p, 3), 3);
	cr_assert(fcu_wait_ack(p, 3, WAIT_MS));
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 3600 * WAIT_NS), 0);
	/* Taken events are not takeable any more. */
	t = sl_channel_take(c, 64);
	cr_assert_not_null(t);
	cr_assert_eq(t->nb_evs, 3);
	cr_expect_eq(sl_channel_consumer_wait(c, 1, 1000), -ETIMEDOUT);
	/* Rolled back, they are again. */
	sl_channel_take_rollback(c, t);
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 3600 * WAIT_NS), 0);
	fcu_close(&h);
}

Test(fc_wake, a_batch_wait_is_clamped_to_half_the_capacity)
{
	const char *const kv[] = { "minimumRequiredSpace=0", "capacity=4",
				   "transactionCapacity=4", NULL };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv, NULL);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 64, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);

	cr_assert(c && p);
	cr_assert_eq(ch->ops->start(ch), 0);
	cr_assert_eq(put_one(p, 1), 1);
	cr_assert(fcu_wait_ack(p, 1, WAIT_MS));
	cr_expect_eq(sl_channel_consumer_wait(c, 3, 1000), -ETIMEDOUT);
	cr_assert_eq(put_one(p, 2), 2);
	cr_assert(fcu_wait_ack(p, 2, WAIT_MS));
	cr_expect_eq(sl_channel_consumer_wait(c, UINT32_MAX, 3600 * WAIT_NS),
		     0, "2 = capacity / 2 events are enough");
	fcu_close(&h);
}

Test(fc_wake, the_group_that_completes_a_batch_wakes_the_consumer)
{
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv_default, NULL);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 64, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct waiter w = { .c = c, .min_events = 3 };
	pthread_t thr;
	unsigned i;

	cr_assert(c && p);
	cr_assert_eq(ch->ops->start(ch), 0);
	pthread_create(&thr, NULL, waiter_main, &w);
	wait_in_futex(&w.tid);
	/* One group per event, each synced before the next is put: a
	 * waiter woken early would take fewer than three. */
	for (i = 0; i < 3; i++) {
		cr_assert_eq(put_one(p, 10 + i), i + 1);
		cr_assert(fcu_wait_ack(p, i + 1, WAIT_MS));
	}
	pthread_join(thr, NULL);
	cr_expect_eq(w.rc, 0, "woken by the third group (%d)", w.rc);
	cr_expect_eq(w.taken, 3, "not woken before the third (took %u)",
		     w.taken);
	fcu_close(&h);
}

Test(fc_wake, a_rollback_wakes_another_consumer)
{
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv_default, NULL);
	struct sl_chan_consumer *c1 = sl_channel_consumer_open(ch, "k1", 64, 1,
							       NULL);
	struct sl_chan_consumer *c2 = sl_channel_consumer_open(ch, "k2", 64, 1,
							       NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct waiter w = { .c = c2, .min_events = 1 };
	struct sl_take *t;
	pthread_t thr;

	cr_assert(c1 && c2 && p);
	cr_assert_eq(ch->ops->start(ch), 0);
	cr_assert_eq(fcu_put_txn(p, 100, 5, 64), 1);
	cr_assert(fcu_wait_ack(p, 1, WAIT_MS));
	t = sl_channel_take(c1, 64);
	cr_assert_not_null(t);
	cr_assert_eq(t->nb_evs, 5);
	pthread_create(&thr, NULL, waiter_main, &w);
	wait_in_futex(&w.tid);
	sl_channel_take_rollback(c1, t);
	pthread_join(thr, NULL);
	cr_expect_eq(w.rc, 0, "woken by the rollback (%d)", w.rc);
	cr_expect_eq(w.taken, 5, "the other consumer got them all");
	cr_expect_eq(w.ids[0], 100);
	cr_expect_eq(w.ids[4], 104);
	fcu_close(&h);
}

/* ---- producer side ------------------------------------------------------ */

Test(fc_wake, a_take_commit_signals_the_producer_armed_for_room)
{
	const char *const kv[] = { "minimumRequiredSpace=0", "capacity=2",
				   "transactionCapacity=2", NULL };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv, NULL);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 1, 2,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	int fd = sl_channel_producer_room_fd(p);
	struct sl_take *t1, *t2;
	uint64_t v;

	cr_assert(c && p);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ch->ops->start(ch), 0);
	cr_assert_eq(put_one(p, 1), 1);
	cr_assert_eq(sl_channel_producer_room_arm(p), -EAGAIN,
		     "room for one more: no need to wait");
	cr_assert_eq(put_one(p, 2), 2);
	cr_assert_eq(put_one(p, 3), -ENOSPC);
	cr_assert(fcu_wait_ack(p, 2, WAIT_MS));
	/* Busy path: a commit with nobody armed signals nobody. */
	t1 = sl_channel_take(c, 1);
	cr_assert_not_null(t1);
	cr_assert_eq(sl_channel_take_commit(c, t1), 0);
	cr_expect_not(fd_readable(fd), "nobody was armed");
	cr_assert_eq(put_one(p, 3), 3);
	cr_assert_eq(put_one(p, 4), -ENOSPC);
	cr_assert(fcu_wait_ack(p, 3, WAIT_MS));
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
	cr_assert_eq(put_one(p, 4), 4);
	fcu_close(&h);
}

Test(fc_wake, the_writer_draining_a_full_ring_signals_the_producer)
{
	const char *const kv[] = { "minimumRequiredSpace=0",
				   "ringBytes=65536", NULL };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct pollfd pfd = { .events = POLLIN };
	int64_t t, last = 0;
	uint64_t id = 0, v;

	cr_assert_not_null(p);
	pfd.fd = sl_channel_producer_room_fd(p);
	cr_assert_geq(pfd.fd, 0);
	/* Not started: nothing drains the ring, so it fills. */
	while ((t = fcu_put_txn(p, id, 4, 512)) >= 0) {
		last = t;
		id += 4;
		cr_assert_lt(id, 100000, "the ring never filled");
	}
	cr_assert_eq(t, -EAGAIN, "a full ring is -EAGAIN (%lld)",
		     (long long)t);
	cr_assert_gt(last, 0);
	cr_expect_eq(sl_channel_producer_room_arm(p), 0, "ring full: armed");
	cr_expect_not(fd_readable(pfd.fd));
	cr_assert_eq(ch->ops->start(ch), 0);
	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "the writer's drain "
		     "signalled room");
	cr_assert_eq(read(pfd.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	cr_assert_geq(fcu_put_txn(p, id, 4, 512), 0, "room again");
	cr_assert(fcu_wait_ack(p, (uint64_t)last + 1, WAIT_MS));
	fcu_close(&h);
}

Test(fc_wake, an_unhealthy_channel_signals_armed_producers)
{
	const char *const kv[] = { "minimumRequiredSpace=0", "capacity=1",
				   "transactionCapacity=1", NULL };
	struct gate_io *g = wrap_io_new(sizeof(*g), &gate_ops);
	struct dlog_test_opts o = { .io = &g->wrap.base };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv, &o);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct pollfd pfd = { .events = POLLIN };

	cr_assert_not_null(p);
	pfd.fd = sl_channel_producer_room_fd(p);
	cr_assert_eq(ch->ops->start(ch), 0);
	__atomic_store_n(&g->closed, 1, __ATOMIC_RELEASE);
	cr_assert_eq(put_one(p, 1), 1);
	cr_assert_eq(put_one(p, 2), -ENOSPC, "capacity 1");
	cr_expect_eq(sl_channel_producer_room_arm(p), 0, "full: armed");
	while (!__atomic_load_n(&g->waiting, __ATOMIC_ACQUIRE))
		usleep(200);
	__atomic_store_n(&g->fail, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&g->closed, 0, __ATOMIC_RELEASE);
	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "the failure signalled the "
		     "waiting producer");
	cr_expect(sl_file_channel_unhealthy(ch));
	cr_expect_eq(put_one(p, 2), -EIO, "its retry gets the answer");
	cr_expect_eq(sl_channel_producer_acked(p), 0, "nothing acked");
	fcu_close(&h);
	wrap_destroy(&g->wrap.base);
}

/* Both wakeups at once (room_stress_run, wake_util.h), capacity 4. */
#define RS_EVENTS	20000u

Test(fc_wake, producer_and_consumer_wakeups_together_lose_nothing)
{
	const char *const kv[] = { "minimumRequiredSpace=0", "capacity=4",
				   "transactionCapacity=4", NULL };
	struct fc_handle h;
	struct sl_channel *ch = fcu_open(&h, dir, kv, NULL);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 3, 2,
							      NULL);
	struct room_stress s = { .put = put_one, .n = RS_EVENTS,
				 .wait_ns = WAIT_NS };

	s.p = sl_channel_producer_open(ch, "r1", NULL);
	cr_assert(c && s.p);
	cr_assert_eq(ch->ops->start(ch), 0);
	room_stress_run(&s, c, fcu_ev_check);
	cr_expect_eq(s.bad, 0, "the producer saw %u unexpected results", s.bad);
	cr_expect_eq(s.timeouts, 0, "%u consumer wakeups lost", s.timeouts);
	cr_expect_eq(s.room_timeouts, 0, "%u room wakeups lost (of %u waits)",
		     s.room_timeouts, s.room_waits);
	cr_expect_gt(s.room_waits, 0, "the producer waited for room (else "
		     "this proves nothing)");
	cr_expect_eq(ch->stats.event_put_success_count, RS_EVENTS);
	cr_expect_eq(ch->stats.event_take_success_count, RS_EVENTS);
	cr_expect_eq(sl_channel_size(ch), 0);
	fcu_close(&h);
}
