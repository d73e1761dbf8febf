/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable log's production I/O backend on io_uring. A large write goes
 * out as several SQEs in one submit and is reaped whole (short completions
 * re-issued) before the caller may issue the fdatasync: io_uring does not
 * order an fsync after writes still in flight. pwritev runs in the calling
 * thread and the background fdatasync on a thread of the backend's own
 * (see each). Used by one thread at a time: the control thread during
 * recovery, then the channel's writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dlog_int.h"
#include "sl_log.h"
#include "sl_time.h"

#define URING_QD	64u
#define URING_CHUNK	(1u << 20)	/* bytes per write SQE */
#define URING_ONE_TAG	URING_QD		/* a single synchronous op */

struct uring_chunk {
	const uint8_t *buf;
	size_t len;
	uint64_t off;
	int fixed;		/* registered buffer index; -1: none */
};

#define URING_IOV_MAX	1024u	/* IOV_MAX: pieces per pwritev(2) */

struct uring_io {
	struct dlog_io base;
	struct io_uring ring;
	unsigned short_every;	/* test hook; 0: off */
	uint64_t nb_writes;
	uint64_t nb_short;
	struct iovec *viov;	/* pwritev: a copy we may advance */
	size_t viov_cap;
	bool sync_inflight;	/* a background fdatasync was started */
	struct uring_chunk chunks[URING_QD];
	/* The background fdatasync's thread and its one request. */
	pthread_t sync_th;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_req_cv, sync_done_cv;
	enum { SYNC_IDLE, SYNC_REQ, SYNC_DONE, SYNC_EXIT } sync_state;
	int sync_fd;
	int sync_res;
	uint64_t sync_ns;		/* how long sync_res's fdatasync took */
};

static int
uring_open(struct dlog_io *io, const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags | O_CLOEXEC, mode);

	return fd < 0 ? -errno : fd;
}

static int
uring_close(struct dlog_io *io, int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

/*
 * Submit what is queued and wait for one completion: 0 with its result in
 * *@res, or -errno when the ring itself failed.
 */
static int
uring_wait_one(struct uring_io *u, uint64_t *user_data, int *res)
{
	struct io_uring_cqe *cqe;
	uint64_t ud;
	int rc;

	for (;;) {
		do {
			rc = io_uring_submit_and_wait(&u->ring, 1);
		} while (rc == -EINTR);
		if (rc < 0)
			return rc;
		do {
			rc = io_uring_wait_cqe(&u->ring, &cqe);
		} while (rc == -EINTR);
		if (rc < 0)
			return rc;
		ud = cqe->user_data;
		*res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		if (user_data)
			*user_data = ud;
		return 0;
	}
}

/* Run the one SQE just prepared; its result. */
static int
uring_run_one(struct uring_io *u, struct io_uring_sqe *sqe)
{
	int rc, res;

	io_uring_sqe_set_data64(sqe, URING_ONE_TAG);
	rc = uring_wait_one(u, NULL, &res);
	if (rc < 0)
		return rc;
	return res < 0 ? res : 0;
}

static struct io_uring_sqe *
uring_sqe(struct uring_io *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void
uring_queue_chunk(struct uring_io *u, int fd, unsigned i)
{
	struct uring_chunk *c = &u->chunks[i];
	struct io_uring_sqe *sqe = uring_sqe(u);
	size_t len = c->len;

	/* Test hook: ask for half, the completion comes back short. */
	if (u->short_every && ++u->nb_writes % u->short_every == 0) {
		size_t half = (len / 2) & ~(size_t)(DLOG_BLOCK - 1);

		if (half)
			len = half;
	}
	if (c->fixed >= 0)
		io_uring_prep_write_fixed(sqe, fd, c->buf, (unsigned)len,
					  c->off, c->fixed);
	else
		io_uring_prep_write(sqe, fd, c->buf, (unsigned)len, c->off);
	io_uring_sqe_set_data64(sqe, i);
}

/*
 * Write @len bytes in chunks, up to URING_QD SQEs in flight; re-issue the
 * rest of any short completion; return only when nothing is in flight.
 */
static int
uring_pwrite_chunks(struct dlog_io *io, int fd, const void *buf, size_t len,
		    uint64_t off, int fixed)
{
	struct uring_io *u = (struct uring_io *)io;
	const uint8_t *p = buf;
	unsigned inflight = 0, i;
	int err = 0;

	while (len > 0 || inflight > 0) {
		/* Fill free slots with new chunks (no new ones after an error). */
		for (i = 0; i < URING_QD && len > 0 && !err; i++) {
			struct uring_chunk *c = &u->chunks[i];
			size_t n = SL_MIN(len, (size_t)URING_CHUNK);

			if (c->len)
				continue;
			*c = (struct uring_chunk){ .buf = p, .len = n,
						   .off = off,
						   .fixed = fixed };
			uring_queue_chunk(u, fd, i);
			inflight++;
			p += n;
			off += n;
			len -= n;
		}
		if (err && len > 0)
			len = 0;
		if (inflight == 0)
			break;
		{
			uint64_t ud = 0;
			int res = 0, rc = uring_wait_one(u, &ud, &res);
			struct uring_chunk *c;

			if (rc < 0)
				return rc;	/* the ring itself broke */
			SL_VERIFY(ud < URING_QD);
			c = &u->chunks[ud];
			if (res < 0 || (res == 0 && c->len)) {
				if (!err)
					err = res < 0 ? res : -EIO;
				c->len = 0;
				inflight--;
				continue;
			}
			if ((size_t)res < c->len) {
				c->buf += res;
				c->off += (uint64_t)res;
				c->len -= (size_t)res;
				u->nb_short++;
				if (err) {
					c->len = 0;
					inflight--;
				} else {
					uring_queue_chunk(u, fd, (unsigned)ud);
				}
				continue;
			}
			c->len = 0;
			inflight--;
		}
	}
	for (i = 0; i < URING_QD; i++)
		u->chunks[i].len = 0;
	return err;
}

static int
uring_pwrite(struct dlog_io *io, int fd, const void *buf, size_t len,
	     uint64_t off)
{
	return uring_pwrite_chunks(io, fd, buf, len, off, -1);
}

static int
uring_register_bufs(struct dlog_io *io, const struct iovec *iov, unsigned nb)
{
	struct uring_io *u = (struct uring_io *)io;

	return io_uring_register_buffers(&u->ring, iov, nb);
}

static int
uring_pwrite_fixed(struct dlog_io *io, int fd, const void *buf, size_t len,
		   uint64_t off, unsigned idx)
{
	return uring_pwrite_chunks(io, fd, buf, len, off, (int)idx);
}

/*
 * Write @nb pieces back to back from @off, in this thread: pwritev(2),
 * short writes re-issued from where they stopped. The writer's groups
 * through the page cache come here: a buffered write is a copy into the
 * page cache, which io_uring cannot do without blocking on ext4 and hands
 * to an io-wq worker while the writer waits for it, two context switches
 * per group for nothing. (So do the zeros written ahead, O_DIRECT or not.)
 * The O_DIRECT groups go out on the ring (pwrite, pwrite_fixed).
 */
static int
uring_pwritev(struct dlog_io *io, int fd, const struct iovec *iov,
	      unsigned nb, uint64_t off)
{
	struct uring_io *u = (struct uring_io *)io;
	struct iovec *v;

	if (nb > u->viov_cap) {
		v = realloc(u->viov, nb * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->viov = v;
		u->viov_cap = nb;
	}
	v = u->viov;
	memcpy(v, iov, nb * sizeof(*iov));
	while (nb > 0) {
		unsigned n = SL_MIN(nb, URING_IOV_MAX), k;
		size_t want = 0, cut = 0;
		ssize_t w;

		/* Test hook: the last piece's second half is left out, so the
		 * write comes back short in the middle of a piece. */
		if (u->short_every && ++u->nb_writes % u->short_every == 0 &&
		    v[n - 1].iov_len > 1) {
			cut = v[n - 1].iov_len - v[n - 1].iov_len / 2;
			v[n - 1].iov_len -= cut;
		}
		for (k = 0; k < n; k++)
			want += v[k].iov_len;
		w = pwritev(fd, v, (int)n, (off_t)off);
		v[n - 1].iov_len += cut;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0 && want > 0)
			return -EIO;
		if (cut || (size_t)w < want)
			u->nb_short++;
		off += (uint64_t)w;
		/* Skip what was written; the rest goes again. */
		while (nb > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			nb--;
		}
		if (w > 0) {
			v->iov_base = (uint8_t *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static ssize_t
uring_pread(struct dlog_io *io, int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, (off_t)off);

	return n < 0 ? -errno : n;
}

static int
uring_fdatasync(struct dlog_io *io, int fd)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = uring_sqe(u);
	int res;

	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	res = uring_run_one(u, sqe);
	return res;
}

/*
 * The background fdatasync runs on a thread of the backend's own, not on
 * the ring. io_uring has no non-blocking fsync: it runs each one on an
 * io-wq worker, and there (Linux 6.18, ext4 on virtio-blk) the same
 * fdatasync of 1 MiB took 30-50 % longer than from a plain thread, in line
 * or overlapped with the next write (bench/README.md, ninth session). One
 * request at a time, handed over under a mutex: a lock per group, not per
 * record.
 */
static void *
uring_sync_main(void *arg)
{
	struct uring_io *u = arg;
	uint64_t t0, ns;
	int fd, rc;

	pthread_mutex_lock(&u->sync_mu);
	for (;;) {
		while (u->sync_state != SYNC_REQ && u->sync_state != SYNC_EXIT)
			pthread_cond_wait(&u->sync_req_cv, &u->sync_mu);
		if (u->sync_state == SYNC_EXIT)
			break;
		fd = u->sync_fd;
		pthread_mutex_unlock(&u->sync_mu);
		t0 = sl_time_mono_ns();
		rc = fdatasync(fd) < 0 ? -errno : 0;
		ns = sl_time_mono_ns() - t0;
		pthread_mutex_lock(&u->sync_mu);
		u->sync_res = rc;
		u->sync_ns = ns;
		u->sync_state = SYNC_DONE;
		pthread_cond_signal(&u->sync_done_cv);
	}
	pthread_mutex_unlock(&u->sync_mu);
	return NULL;
}

static int
uring_fdatasync_start(struct dlog_io *io, int fd)
{
	struct uring_io *u = (struct uring_io *)io;

	if (u->sync_inflight)
		return -EBUSY;
	pthread_mutex_lock(&u->sync_mu);
	u->sync_fd = fd;
	u->sync_state = SYNC_REQ;
	pthread_cond_signal(&u->sync_req_cv);
	pthread_mutex_unlock(&u->sync_mu);
	u->sync_inflight = true;
	return 0;
}

static int
uring_fdatasync_wait(struct dlog_io *io, uint64_t *ns)
{
	struct uring_io *u = (struct uring_io *)io;
	int res;

	if (!u->sync_inflight)
		return -EINVAL;
	pthread_mutex_lock(&u->sync_mu);
	while (u->sync_state != SYNC_DONE)
		pthread_cond_wait(&u->sync_done_cv, &u->sync_mu);
	res = u->sync_res;
	if (ns)
		*ns = u->sync_ns;
	u->sync_state = SYNC_IDLE;
	pthread_mutex_unlock(&u->sync_mu);
	u->sync_inflight = false;
	return res;
}

static int
uring_fallocate(struct dlog_io *io, int fd, uint64_t off, uint64_t len)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = uring_sqe(u);
	int res;

	io_uring_prep_fallocate(sqe, fd, 0, (off_t)off, (off_t)len);
	res = uring_run_one(u, sqe);
	return res;
}

static int
uring_rename(struct dlog_io *io, const char *from, const char *to)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = uring_sqe(u);
	int res;

	io_uring_prep_renameat(sqe, AT_FDCWD, from, AT_FDCWD, to, 0);
	res = uring_run_one(u, sqe);
	return res;
}

static int
uring_unlink(struct dlog_io *io, const char *path)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe = uring_sqe(u);
	int res;

	io_uring_prep_unlinkat(sqe, AT_FDCWD, path, 0);
	res = uring_run_one(u, sqe);
	return res;
}

static int
uring_fsync_dir(struct dlog_io *io, const char *dir)
{
	struct uring_io *u = (struct uring_io *)io;
	struct io_uring_sqe *sqe;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), res;

	if (fd < 0)
		return -errno;
	sqe = uring_sqe(u);
	io_uring_prep_fsync(sqe, fd, 0);
	res = uring_run_one(u, sqe);
	close(fd);
	return res;
}

static int
uring_avail(struct dlog_io *io, const char *dir, uint64_t *bytes)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return -errno;
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static void
uring_destroy(struct dlog_io *io)
{
	struct uring_io *u = (struct uring_io *)io;

	if (u->sync_inflight)
		uring_fdatasync_wait(io, NULL);
	pthread_mutex_lock(&u->sync_mu);
	u->sync_state = SYNC_EXIT;
	pthread_cond_signal(&u->sync_req_cv);
	pthread_mutex_unlock(&u->sync_mu);
	pthread_join(u->sync_th, NULL);
	pthread_cond_destroy(&u->sync_req_cv);
	pthread_cond_destroy(&u->sync_done_cv);
	pthread_mutex_destroy(&u->sync_mu);
	io_uring_queue_exit(&u->ring);
	free(u->viov);
	free(u);
}

static const struct dlog_io_ops uring_ops = {
	.open = uring_open,
	.close = uring_close,
	.pwrite = uring_pwrite,
	.pwritev = uring_pwritev,
	.pread = uring_pread,
	.fdatasync = uring_fdatasync,
	.fallocate = uring_fallocate,
	.rename = uring_rename,
	.unlink = uring_unlink,
	.fsync_dir = uring_fsync_dir,
	.avail = uring_avail,
	.destroy = uring_destroy,
	.fdatasync_start = uring_fdatasync_start,
	.fdatasync_wait = uring_fdatasync_wait,
	.register_bufs = uring_register_bufs,
	.pwrite_fixed = uring_pwrite_fixed,
};

struct dlog_io *
sl_dlog_io_uring_create(bool sqpoll, const char *who, struct sl_err *err)
{
	struct uring_io *u = calloc(1, sizeof(*u));
	struct io_uring_params p = { 0 };
	int rc = -EINVAL;

	if (!u) {
		sl_err_set(err, ENOMEM, "%s: out of memory", who);
		return NULL;
	}
	u->base.ops = &uring_ops;
	if (sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 50;	/* ms before the kernel thread sleeps */
		rc = io_uring_queue_init_params(URING_QD * 2, &u->ring, &p);
		if (rc < 0)
			sl_log(SL_WARN, "%s: io_uring SQPOLL unavailable (%s); "
			       "submitting from the writer thread", who,
			       strerror(-rc));
	}
	if (rc < 0) {
		rc = io_uring_queue_init(URING_QD * 2, &u->ring, 0);
		if (rc < 0) {
			sl_err_set(err, -rc, "%s: io_uring_queue_init: %s",
				   who, strerror(-rc));
			free(u);
			return NULL;
		}
	}
	pthread_mutex_init(&u->sync_mu, NULL);
	pthread_cond_init(&u->sync_req_cv, NULL);
	pthread_cond_init(&u->sync_done_cv, NULL);
	rc = pthread_create(&u->sync_th, NULL, uring_sync_main, u);
	if (rc != 0) {
		sl_err_set(err, rc, "%s: fdatasync thread: %s", who,
			   strerror(rc));
		pthread_cond_destroy(&u->sync_req_cv);
		pthread_cond_destroy(&u->sync_done_cv);
		pthread_mutex_destroy(&u->sync_mu);
		io_uring_queue_exit(&u->ring);
		free(u);
		return NULL;
	}
	pthread_setname_np(u->sync_th, "fdatasync");
	return &u->base;
}

uint64_t
sl_dlog_io_uring_short_every(struct dlog_io *io, unsigned n)
{
	struct uring_io *u = (struct uring_io *)io;

	u->short_every = n;
	return u->nb_short;
}
