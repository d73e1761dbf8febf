/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fault-injecting dlog_io backend over the io_uring one, for the file
 * channel's fault tests and the sources' tests over a failing channel:
 * EIO on the Nth fdatasync, ENOSPC from writes or fallocate while set;
 * every other call goes through. Header-only; tests include it.
 */
#ifndef FAULT_IO_H
#define FAULT_IO_H

#include "wrap_io.h"

struct fault_io {
	struct wrap_io wrap;
	int fail_sync_at;	/* fail the Nth fdatasync (1-based) with EIO */
	int nb_syncs;
	int enospc_writes;	/* while set, data writes fail with ENOSPC */
	int enospc_falloc;	/* while set, fallocate fails with ENOSPC */
	int nb_enospc;
};

static int
f_pwrite(struct dlog_io *io, int fd, const void *b, size_t n, uint64_t off)
{
	struct fault_io *f = (struct fault_io *)io;

	if (__atomic_load_n(&f->enospc_writes, __ATOMIC_ACQUIRE) &&
	    n > sizeof(struct dlog_ckpt)) {
		__atomic_fetch_add(&f->nb_enospc, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return wrap_pwrite(io, fd, b, n, off);
}

static int
f_fdatasync(struct dlog_io *io, int fd)
{
	struct fault_io *f = (struct fault_io *)io;
	int n = __atomic_add_fetch(&f->nb_syncs, 1, __ATOMIC_ACQ_REL);

	if (n == __atomic_load_n(&f->fail_sync_at, __ATOMIC_ACQUIRE))
		return -EIO;
	return wrap_fdatasync(io, fd);
}

static int
f_fallocate(struct dlog_io *io, int fd, uint64_t off, uint64_t len)
{
	struct fault_io *f = (struct fault_io *)io;

	if (__atomic_load_n(&f->enospc_falloc, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&f->nb_enospc, 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	return wrap_fallocate(io, fd, off, len);
}

/* Writes go as one piece; the background sync (and its fault) at start. */
static const struct dlog_io_ops fault_ops = {
	.open = wrap_open, .close = wrap_close, .pwrite = f_pwrite,
	.pwritev = wrap_pwritev_gathered, .pread = wrap_pread,
	.fdatasync = f_fdatasync, .fallocate = f_fallocate,
	.rename = wrap_rename, .unlink = wrap_unlink,
	.fsync_dir = wrap_fsync_dir, .avail = wrap_avail,
	.destroy = wrap_destroy,
	.fdatasync_start = wrap_fdatasync_start,
	.fdatasync_wait = wrap_fdatasync_wait,
};

static struct fault_io *
fault_io_new(void)
{
	return wrap_io_new(sizeof(struct fault_io), &fault_ops);
}

#endif /* FAULT_IO_H */
