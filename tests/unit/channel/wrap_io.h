/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the test backends that wrap the io_uring one share (the faults of
 * fault_io.h, the recorder of test_dlog_crash.c, the fdatasync gate of
 * test_file_channel_wake.c): each embeds a struct wrap_io first and takes
 * the wrap_* ops below for every call it passes through unchanged.
 * Header-only; tests include it.
 */
#ifndef WRAP_IO_H
#define WRAP_IO_H

#include "fc_util.h"

struct wrap_io {
	struct dlog_io base;
	struct dlog_io *in;	/* the io_uring backend underneath */
	int sync_res;		/* what wrap_fdatasync_start() got */
	uint64_t sync_ns;	/* ... and how long it took */
};

static inline struct dlog_io *
wrap_in(struct dlog_io *io)
{
	return ((struct wrap_io *)io)->in;
}

static inline int
wrap_open(struct dlog_io *io, const char *p, int fl, mode_t m)
{
	return wrap_in(io)->ops->open(wrap_in(io), p, fl, m);
}

static inline int
wrap_close(struct dlog_io *io, int fd)
{
	return wrap_in(io)->ops->close(wrap_in(io), fd);
}

static inline int
wrap_pwrite(struct dlog_io *io, int fd, const void *b, size_t n,
	    uint64_t off)
{
	return wrap_in(io)->ops->pwrite(wrap_in(io), fd, b, n, off);
}

static inline int
wrap_pwritev(struct dlog_io *io, int fd, const struct iovec *iov,
	     unsigned nb, uint64_t off)
{
	return wrap_in(io)->ops->pwritev(wrap_in(io), fd, iov, nb, off);
}

/* Gathered into one buffer and written by @io's own pwrite as one piece. */
static inline int
wrap_pwritev_gathered(struct dlog_io *io, int fd, const struct iovec *iov,
		      unsigned nb, uint64_t off)
{
	size_t len;
	uint8_t *buf = fcu_gather(iov, nb, &len);
	int rc = io->ops->pwrite(io, fd, buf, len, off);

	free(buf);
	return rc;
}

static inline ssize_t
wrap_pread(struct dlog_io *io, int fd, void *b, size_t n, uint64_t off)
{
	return wrap_in(io)->ops->pread(wrap_in(io), fd, b, n, off);
}

static inline int
wrap_fdatasync(struct dlog_io *io, int fd)
{
	return wrap_in(io)->ops->fdatasync(wrap_in(io), fd);
}

/* The background pair as @io's own fdatasync, in line at start. */
static inline int
wrap_fdatasync_start(struct dlog_io *io, int fd)
{
	struct wrap_io *w = (struct wrap_io *)io;
	uint64_t t0 = sl_time_mono_ns();

	w->sync_res = io->ops->fdatasync(io, fd);
	w->sync_ns = sl_time_mono_ns() - t0;
	return 0;
}

static inline int
wrap_fdatasync_wait(struct dlog_io *io, uint64_t *ns)
{
	if (ns)
		*ns = ((struct wrap_io *)io)->sync_ns;
	return ((struct wrap_io *)io)->sync_res;
}

static inline int
wrap_fallocate(struct dlog_io *io, int fd, uint64_t off, uint64_t len)
{
	return wrap_in(io)->ops->fallocate(wrap_in(io), fd, off, len);
}

static inline int
wrap_rename(struct dlog_io *io, const char *a, const char *b)
{
	return wrap_in(io)->ops->rename(wrap_in(io), a, b);
}

static inline int
wrap_unlink(struct dlog_io *io, const char *p)
{
	return wrap_in(io)->ops->unlink(wrap_in(io), p);
}

static inline int
wrap_fsync_dir(struct dlog_io *io, const char *d)
{
	return wrap_in(io)->ops->fsync_dir(wrap_in(io), d);
}

static inline int
wrap_avail(struct dlog_io *io, const char *d, uint64_t *b)
{
	return wrap_in(io)->ops->avail(wrap_in(io), d, b);
}

/* The io_uring backend underneath goes too. */
static inline void
wrap_destroy(struct dlog_io *io)
{
	wrap_in(io)->ops->destroy(wrap_in(io));
	free(io);
}

/*
 * A zeroed backend of @size bytes (a struct wrap_io first) with @ops, over
 * a new io_uring backend.
 */
static inline void *
wrap_io_new(size_t size, const struct dlog_io_ops *ops)
{
	struct wrap_io *w = calloc(1, size);
	struct sl_err err = { 0 };

	cr_assert_not_null(w);
	w->base.ops = ops;
	w->in = sl_dlog_io_uring_create(false, "test", &err);
	cr_assert_not_null(w->in, "%s", err.msg);
	return w;
}

#endif /* WRAP_IO_H */
