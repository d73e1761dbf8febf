/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring sources' shared pieces (uring_io.h): the provided-buffer
 * ring and the I/O thread's lifecycle. Control thread unless said.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sl_log.h"
#include "uring_io.h"

int
sl_uring_bufs_setup(struct io_uring *ring, struct sl_uring_bufs *b,
		    unsigned nb, size_t size, int bgid)
{
	struct io_uring_buf_reg reg = { 0 };
	unsigned i;
	int rc;

	b->nb = nb;
	b->size = size;
	b->br_size = nb * sizeof(struct io_uring_buf);
	b->br = mmap(NULL, b->br_size, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->br == MAP_FAILED) {
		b->br = NULL;
		return -ENOMEM;
	}
	b->mem = malloc((size_t)nb * size);
	if (!b->mem)
		return -ENOMEM;
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = nb;
	reg.bgid = (uint16_t)bgid;
	rc = io_uring_register_buf_ring(ring, &reg, 0);
	if (rc < 0)
		return rc;
	io_uring_buf_ring_init(b->br);
	for (i = 0; i < nb; i++)
		io_uring_buf_ring_add(b->br, sl_uring_bufs_at(b, i),
				      (unsigned)size, (unsigned short)i,
				      io_uring_buf_ring_mask(nb), (int)i);
	io_uring_buf_ring_advance(b->br, (int)nb);
	return 0;
}

void
sl_uring_bufs_free(struct sl_uring_bufs *b)
{
	if (b->br)
		munmap(b->br, b->br_size);
	b->br = NULL;
	free(b->mem);
	b->mem = NULL;
}

int
sl_uring_thread_init(struct sl_uring_thread *t)
{
	t->wake_fd = eventfd(0, EFD_CLOEXEC);
	return t->wake_fd < 0 ? -errno : 0;
}

void
sl_uring_thread_wake_arm(struct io_uring *ring, struct sl_uring_thread *t,
			 uint64_t ud)
{
	struct io_uring_sqe *sqe = sl_uring_sqe(ring);

	io_uring_prep_read(sqe, t->wake_fd, &t->wake_buf, sizeof(t->wake_buf),
			   0);
	io_uring_sqe_set_data64(sqe, ud);
}

int
sl_uring_thread_start(struct sl_uring_thread *t, void *(*fn)(void *),
		      void *arg, const char *name)
{
	int rc = pthread_create(&t->thread, NULL, fn, arg);

	if (rc != 0)
		return -rc;
	sl_thread_name(t->thread, "src", name);
	t->started = true;
	return 0;
}

bool
sl_uring_thread_stop(struct sl_uring_thread *t, const char *who)
{
	uint64_t one = 1;

	if (!t->started)
		return false;
	/* Pairs with the acquire in sl_uring_thread_stopping(). */
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
	if (write(t->wake_fd, &one, sizeof(one)) < 0)
		sl_log(SL_WARN, "%s: wake: %s", who, strerror(errno));
	pthread_join(t->thread, NULL);
	t->started = false;
	return true;
}

void
sl_uring_thread_fini(struct sl_uring_thread *t)
{
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->wake_fd = -1;
}
