/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the channels' wakeup tests share: is an eventfd readable, is a
 * thread asleep in a futex (to order the other side's action after the
 * sleep began, never as a clock).
 */
#ifndef WAKE_UTIL_H
#define WAKE_UTIL_H

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

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

#endif /* WAKE_UTIL_H */
