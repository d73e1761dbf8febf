/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fault-injecting dlog_io backend over the io_uring one, for the file
 * channel's fault tests and the sources' tests over a failing channel:
 * EIO on the Nth fdatasync, ENOSPC from writes or fallocate while set;
 * every other call goes through. Header-only; tests include it.
 */
#ifndef FAULT_IO_H
#define FAULT_IO_H

#include "fc_util.h"

struct fault_io {
	struct dlog_io base;
	struct dlog_io *in;
	int fail_sync_at;	/* fail the Nth fdatasync (1-based) with EIO */
	int nb_syncs;
	int enospc_writes;	/* while set, data writes fail with ENOSPC */
	int enospc_falloc;	/* while set, fallocate fails with ENOSPC */
	int nb_enospc;
	int sync_res;		/* the started fdatasync's result */
};

static int
f_open(struct dlog_io *io, const char *p, int fl, mode_t m)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->open(f->in, p, fl, m);
}

static int
f_close(struct dlog_io *io, int fd)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->close(f->in, fd);
}

static int
f_pwrite(struct dlog_io *io, int fd, const void *b, size_t n, uint64_t off)
{
	struct fault_io *f = (struct fault_io *)io;

	if (__atomic_load_n(&f->enospc_writes, __ATOMIC_ACQUIRE) &&
	    n > sizeof(struct dlog_ckpt)) {
		__atomic_fetch_add(&f->nb_enospc, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return f->in->ops->pwrite(f->in, fd, b, n, off);
}

/* Gathered into one buffer and written as one piece. */
static int
f_pwritev(struct dlog_io *io, int fd, const struct iovec *iov,
	  unsigned nb, uint64_t off)
{
	size_t len;
	uint8_t *buf = fcu_gather(iov, nb, &len);
	int rc = f_pwrite(io, fd, buf, len, off);

	free(buf);
	return rc;
}

static ssize_t
f_pread(struct dlog_io *io, int fd, void *b, size_t n, uint64_t off)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->pread(f->in, fd, b, n, off);
}

static int
f_fdatasync(struct dlog_io *io, int fd)
{
	struct fault_io *f = (struct fault_io *)io;
	int n = __atomic_add_fetch(&f->nb_syncs, 1, __ATOMIC_ACQ_REL);

	if (n == __atomic_load_n(&f->fail_sync_at, __ATOMIC_ACQUIRE))
		return -EIO;
	return f->in->ops->fdatasync(f->in, fd);
}

/* The background pair: the sync (and its fault) happens at start. */
static int
f_fdatasync_start(struct dlog_io *io, int fd)
{
	struct fault_io *f = (struct fault_io *)io;

	f->sync_res = f_fdatasync(io, fd);
	return 0;
}

static int
f_fdatasync_wait(struct dlog_io *io)
{
	return ((struct fault_io *)io)->sync_res;
}

static int
f_fallocate(struct dlog_io *io, int fd, uint64_t off, uint64_t len)
{
	struct fault_io *f = (struct fault_io *)io;

	if (__atomic_load_n(&f->enospc_falloc, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&f->nb_enospc, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return f->in->ops->fallocate(f->in, fd, off, len);
}

static int
f_rename(struct dlog_io *io, const char *a, const char *b)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->rename(f->in, a, b);
}

static int
f_unlink(struct dlog_io *io, const char *p)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->unlink(f->in, p);
}

static int
f_fsync_dir(struct dlog_io *io, const char *d)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->fsync_dir(f->in, d);
}

static int
f_avail(struct dlog_io *io, const char *d, uint64_t *b)
{
	struct fault_io *f = (struct fault_io *)io;

	return f->in->ops->avail(f->in, d, b);
}

static void
f_destroy(struct dlog_io *io)
{
	struct fault_io *f = (struct fault_io *)io;

	f->in->ops->destroy(f->in);
	free(f);
}

static const struct dlog_io_ops fault_ops = {
	.open = f_open, .close = f_close, .pwrite = f_pwrite, .pwritev = f_pwritev,
	.pread = f_pread, .fdatasync = f_fdatasync,
	.fallocate = f_fallocate, .rename = f_rename, .unlink = f_unlink,
	.fsync_dir = f_fsync_dir, .avail = f_avail, .destroy = f_destroy,
	.fdatasync_start = f_fdatasync_start,
	.fdatasync_wait = f_fdatasync_wait,
};

static struct fault_io *
fault_io_new(void)
{
	struct fault_io *f = calloc(1, sizeof(*f));
	struct sl_err err = { 0 };

	f->base.ops = &fault_ops;
	f->in = sl_dlog_io_uring_create(false, "test", &err);
	cr_assert_not_null(f->in, "%s", err.msg);
	return f;
}

#endif /* FAULT_IO_H */
