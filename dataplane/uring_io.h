/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane/-internal: what the io_uring sources (netcat, netcatudp) share:
 * an SQE even when the submission queue is full, a ring of provided receive
 * buffers, and their I/O thread's start and stop (a flag, and an eventfd on
 * which the thread keeps a read armed so that stop wakes it).
 */
#ifndef SL_URING_IO_H
#define SL_URING_IO_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An SQE; when the submission queue is full, submit it first. */
static inline struct io_uring_sqe *
sl_uring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	while (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Provided buffers (Linux 6.0): @nb (a power of two) of @size bytes. */
struct sl_uring_bufs {
	struct io_uring_buf_ring *br;
	size_t br_size;
	uint8_t *mem;
	size_t size;
	unsigned nb;
};

/* Map and register them as group @bgid of @ring. 0 or -errno (the caller
 * falls back to plain receives; sl_uring_bufs_free() still applies). */
int sl_uring_bufs_setup(struct io_uring *ring, struct sl_uring_bufs *b,
			unsigned nb, size_t size, int bgid);
void sl_uring_bufs_free(struct sl_uring_bufs *b);

static inline uint8_t *
sl_uring_bufs_at(const struct sl_uring_bufs *b, unsigned bid)
{
	return b->mem + (size_t)bid * b->size;
}

/* Hand buffer @bid back to the kernel. I/O thread. */
static inline void
sl_uring_bufs_recycle(struct sl_uring_bufs *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, sl_uring_bufs_at(b, bid),
			      (unsigned)b->size, (unsigned short)bid,
			      io_uring_buf_ring_mask(b->nb), 0);
	io_uring_buf_ring_advance(b->br, 1);
}

struct sl_uring_thread {
	pthread_t thread;
	bool started;
	int stop;		/* set by sl_uring_thread_stop() */
	int wake_fd;		/* -1 until sl_uring_thread_init() */
	uint64_t wake_buf;
};

/* The wake eventfd. 0 or -errno. */
int sl_uring_thread_init(struct sl_uring_thread *t);
/* Arm the read of the wake eventfd (user data @ud). I/O thread. */
void sl_uring_thread_wake_arm(struct io_uring *ring,
			      struct sl_uring_thread *t, uint64_t ud);
int sl_uring_thread_start(struct sl_uring_thread *t, void *(*fn)(void *),
			  void *arg, const char *name);

/* In the I/O thread: has stop been asked? */
static inline bool
sl_uring_thread_stopping(const struct sl_uring_thread *t)
{
	/* Pairs with the release in sl_uring_thread_stop(). */
	return __atomic_load_n(&t->stop, __ATOMIC_ACQUIRE);
}

/* Ask the thread to stop, wake it and join it; false if it never ran.
 * @who names the source in a warning. */
bool sl_uring_thread_stop(struct sl_uring_thread *t, const char *who);
void sl_uring_thread_fini(struct sl_uring_thread *t);

#endif /* SL_URING_IO_H */
