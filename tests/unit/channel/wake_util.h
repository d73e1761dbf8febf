/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the channels' wakeup tests share: is an eventfd readable, is a
 * thread asleep in a futex (to order the other side's action after the
 * sleep began, never as a clock), and the stress run of both wakeups at
 * once.
 */
#ifndef WAKE_UTIL_H
#define WAKE_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sl_channel.h"

static inline bool
fd_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* True once thread @tid sits in a futex wait (/proc/self/task/TID/syscall
 * starts with the futex syscall number). */
static inline bool
in_futex(pid_t tid)
{
	char path[64], buf[64];
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		yes = strtol(buf, NULL, 10) == SYS_futex;
	fclose(f);
	return yes;
}

/* Wait until the thread that publishes its id in *@tidp sleeps (or /proc
 * cannot tell: 10 s). */
static inline void
wait_in_futex(pid_t *tidp)
{
	pid_t tid;
	int i;

	while (!(tid = __atomic_load_n(tidp, __ATOMIC_ACQUIRE)))
		sched_yield();
	for (i = 0; i < 10000 && !in_futex(tid); i++)
		usleep(1000);
}

/*
 * Both wakeups at once, on a small channel: a producer thread puts events
 * 0..n-1, one per transaction, and whenever the channel is full arms its
 * room fd and waits on it; the test's thread takes 1-3 at a time, checks
 * they come in order, and waits on the channel whenever nothing is
 * takeable. A wait that runs out is a lost wakeup: counted (the caller
 * asserts the counts), and the run stops at the consumer's first.
 */
struct room_stress {
	struct sl_chan_producer *p;
	/* put event @seq in its own transaction: >= 0 or a negative errno */
	int64_t (*put)(struct sl_chan_producer *p, uint64_t seq);
	uint64_t n;
	uint64_t wait_ns;	/* far longer than any wakeup takes */
	int stop;
	/* the producer's results (no asserts off the main thread) */
	unsigned bad;		/* unexpected put or eventfd results */
	unsigned room_timeouts;
	unsigned room_waits;
	/* the consumer's */
	unsigned timeouts;
};

static inline void *
room_stress_producer(void *arg)
{
	struct room_stress *s = arg;
	int fd = sl_channel_producer_room_fd(s->p);
	uint64_t seq = 0, v;

	while (seq < s->n && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t rc = s->put(s->p, seq);

		if (rc >= 0) {
			seq++;
			continue;
		}
		if (rc != -ENOSPC) {
			s->bad++;
			break;
		}
		if (sl_channel_producer_room_arm(s->p) == -EAGAIN)
			continue;	/* room came back already */
		s->room_waits++;
		if (poll(&pfd, 1, (int)(s->wait_ns / 1000000)) != 1) {
			s->room_timeouts++;
			continue;
		}
		if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
			s->bad++;
	}
	return NULL;
}

/*
 * Check that take @t holds the events numbered *@next on, in order, none
 * missing (@seq_of reads a number back), and commit it.
 */
static inline void
take_in_order_commit(struct sl_chan_consumer *c, struct sl_take *t,
		     uint64_t *next,
		     uint64_t (*seq_of)(const struct sl_event *ev))
{
	unsigned i;

	for (i = 0; i < t->nb_evs; i++)
		cr_assert_eq(seq_of(&t->evs[i]), (*next)++,
			     "in order, none missing");
	cr_assert_eq(sl_channel_take_commit(c, t), 0);
}

/* Run @s (p, put, n, wait_ns set) against consumer @c of a started
 * channel; @seq_of reads an event's number back. */
static inline void
room_stress_run(struct room_stress *s, struct sl_chan_consumer *c,
		uint64_t (*seq_of)(const struct sl_event *ev))
{
	uint64_t next = 0;
	unsigned rounds = 0;
	pthread_t thr;

	cr_assert_eq(pthread_create(&thr, NULL, room_stress_producer, s), 0);
	while (next < s->n && s->timeouts == 0) {
		struct sl_take *t = sl_channel_take(c, 1 + rounds++ % 3);

		if (t) {
			take_in_order_commit(c, t, &next, seq_of);
			continue;
		}
		if (sl_channel_consumer_wait(c, 1, s->wait_ns) == -ETIMEDOUT)
			s->timeouts++;
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
}

#endif /* WAKE_UTIL_H */
