/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Simulated power loss. A recording backend passes every operation of a
 * workload (appends, group syncs, checkpoints, segment rolls and recycling,
 * a graceful close and a reopen) to io_uring and logs it. Then, for every
 * crash point k, the disk is rebuilt in a fresh directory from the first k
 * operations, three ways: everything issued reached the disk; the same with
 * the last write torn at 512 B and at 4 KiB; only what an fdatasync covered
 * reached it. Each rebuilt disk must recover with every acknowledged,
 * uncommitted event present, nothing corrupt or repeated, and take a new
 * append.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "wrap_io.h"

enum rop { R_OPEN, R_CLOSE, R_WRITE, R_SYNC, R_FALLOC, R_RENAME, R_UNLINK };

struct rec_op {
	enum rop op;
	int fd;
	int flags;
	char *path;
	char *path2;
	uint64_t off;
	uint64_t len;
	uint8_t *data;
};

struct rec_io {
	struct wrap_io wrap;
	pthread_mutex_t mu;
	struct rec_op *ops;
	size_t n, cap;
	const char *root;
	size_t root_len;
};

static const char *
rel(struct rec_io *r, const char *p)
{
	cr_assert(strncmp(p, r->root, r->root_len) == 0, "path %s", p);
	return p + r->root_len;
}

static void
rec_push(struct rec_io *r, const struct rec_op *op)
{
	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->ops = realloc(r->ops, r->cap * sizeof(*r->ops));
	}
	r->ops[r->n] = *op;
	__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->mu);
}

static size_t
rec_count(struct rec_io *r)
{
	return __atomic_load_n(&r->n, __ATOMIC_ACQUIRE);
}

static int
r_open(struct dlog_io *io, const char *p, int fl, mode_t m)
{
	struct rec_io *r = (struct rec_io *)io;
	int fd = wrap_open(io, p, fl, m);

	if (fd >= 0)
		rec_push(r, &(struct rec_op){ .op = R_OPEN, .fd = fd,
			 .flags = fl, .path = strdup(rel(r, p)) });
	return fd;
}

static int
r_close(struct dlog_io *io, int fd)
{
	struct rec_io *r = (struct rec_io *)io;

	rec_push(r, &(struct rec_op){ .op = R_CLOSE, .fd = fd });
	return wrap_close(io, fd);
}

static int
r_pwrite(struct dlog_io *io, int fd, const void *b, size_t n, uint64_t off)
{
	struct rec_io *r = (struct rec_io *)io;
	int rc = wrap_pwrite(io, fd, b, n, off);
	uint8_t *copy;

	if (rc == 0) {
		copy = malloc(n);
		memcpy(copy, b, n);
		rec_push(r, &(struct rec_op){ .op = R_WRITE, .fd = fd,
			 .off = off, .len = n, .data = copy });
	}
	return rc;
}

static int
r_fdatasync(struct dlog_io *io, int fd)
{
	struct rec_io *r = (struct rec_io *)io;
	int rc = wrap_fdatasync(io, fd);

	if (rc == 0)
		rec_push(r, &(struct rec_op){ .op = R_SYNC, .fd = fd });
	return rc;
}

static int
r_fallocate(struct dlog_io *io, int fd, uint64_t off, uint64_t len)
{
	struct rec_io *r = (struct rec_io *)io;
	int rc = wrap_fallocate(io, fd, off, len);

	if (rc == 0)
		rec_push(r, &(struct rec_op){ .op = R_FALLOC, .fd = fd,
			 .off = off, .len = len });
	return rc;
}

static int
r_rename(struct dlog_io *io, const char *a, const char *b)
{
	struct rec_io *r = (struct rec_io *)io;
	int rc = wrap_rename(io, a, b);

	if (rc == 0)
		rec_push(r, &(struct rec_op){ .op = R_RENAME,
			 .path = strdup(rel(r, a)), .path2 = strdup(rel(r, b)) });
	return rc;
}

static int
r_unlink(struct dlog_io *io, const char *p)
{
	struct rec_io *r = (struct rec_io *)io;
	int rc = wrap_unlink(io, p);

	if (rc == 0)
		rec_push(r, &(struct rec_op){ .op = R_UNLINK,
			 .path = strdup(rel(r, p)) });
	return rc;
}

static void
r_destroy(struct dlog_io *io)
{
}

/*
 * Writes go as one piece; a background sync is recorded when started: it
 * covers what was written before it.
 */
static const struct dlog_io_ops rec_ops = {
	.open = r_open, .close = r_close, .pwrite = r_pwrite,
	.pwritev = wrap_pwritev_gathered, .pread = wrap_pread,
	.fdatasync = r_fdatasync, .fallocate = r_fallocate,
	.rename = r_rename, .unlink = r_unlink,
	.fsync_dir = wrap_fsync_dir, .avail = wrap_avail,
	.destroy = r_destroy,
	.fdatasync_start = wrap_fdatasync_start,
	.fdatasync_wait = wrap_fdatasync_wait,
};

/* ---- rebuilding a disk ---------------------------------------------------- */

#define MAX_FD	4096
#define MAX_INO	4096

enum mode { M_ALL, M_TORN512, M_TORN4K, M_SYNCED };

/* Which file (inode) each recorded op touches: names, renames, unlinks. */
struct names {
	char *name[MAX_INO];	/* current name of each inode, or NULL */
	int n;
	int fd_ino[MAX_FD];
};

static int
names_lookup(struct names *nm, const char *path)
{
	int i;

	for (i = 0; i < nm->n; i++)
		if (nm->name[i] && strcmp(nm->name[i], path) == 0)
			return i;
	return -1;
}

/* Inode touched by each of the first @k ops (-1: none). */
static void
resolve_inodes(const struct rec_io *r, size_t k, int *ino)
{
	struct names nm = { .n = 0 };
	size_t i;
	int j;

	for (i = 0; i < k; i++) {
		const struct rec_op *op = &r->ops[i];

		ino[i] = -1;
		switch (op->op) {
		case R_OPEN:
			j = names_lookup(&nm, op->path);
			if (j < 0) {
				cr_assert_lt(nm.n, MAX_INO);
				j = nm.n++;
				nm.name[j] = op->path;
			}
			cr_assert_lt(op->fd, MAX_FD);
			nm.fd_ino[op->fd] = j;
			ino[i] = j;
			break;
		case R_WRITE:
		case R_SYNC:
		case R_FALLOC:
		case R_CLOSE:
			ino[i] = nm.fd_ino[op->fd];
			break;
		case R_RENAME:
			j = names_lookup(&nm, op->path2);
			if (j >= 0)
				nm.name[j] = NULL;
			j = names_lookup(&nm, op->path);
			if (j >= 0)
				nm.name[j] = op->path2;
			break;
		case R_UNLINK:
			j = names_lookup(&nm, op->path);
			if (j >= 0)
				nm.name[j] = NULL;
			break;
		}
	}
}

/* Rebuild the disk of crash point @k under @root. */
static void
rebuild(const struct rec_io *r, size_t k, enum mode mode, const char *root)
{
	static int fdmap[MAX_FD];
	static bool live[MAX_FD];
	int *ino = calloc(k + 1, sizeof(*ino));
	bool *synced = calloc(k + 1, sizeof(*synced));
	char p[1024], p2[1024];
	size_t i, j;

	resolve_inodes(r, k, ino);
	/* A write survives SYNCED mode if a later sync of its inode ran. */
	for (i = 0; i < k; i++) {
		if (r->ops[i].op != R_WRITE)
			continue;
		for (j = i + 1; j < k && !synced[i]; j++)
			if (r->ops[j].op == R_SYNC && ino[j] == ino[i])
				synced[i] = true;
	}
	snprintf(p, sizeof(p), "%s/ck", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/data", root);
	mkdir(p, 0700);
	for (i = 0; i < k; i++) {
		const struct rec_op *op = &r->ops[i];
		uint64_t len;

		switch (op->op) {
		case R_OPEN:
			/* Closed behind the backend's back (munmap+close). */
			if (live[op->fd])
				close(fdmap[op->fd]);
			live[op->fd] = true;
			snprintf(p, sizeof(p), "%s%s", root, op->path);
			fdmap[op->fd] = open(p, (op->flags & ~O_DIRECT) |
					     O_CLOEXEC, 0644);
			cr_assert_geq(fdmap[op->fd], 0, "replay open %s", p);
			break;
		case R_CLOSE:
			close(fdmap[op->fd]);
			live[op->fd] = false;
			break;
		case R_WRITE:
			if (mode == M_SYNCED && !synced[i])
				break;
			len = op->len;
			if (i + 1 == k && (mode == M_TORN512 ||
					   mode == M_TORN4K)) {
				uint64_t sec = mode == M_TORN512 ? 512 : 4096;
				uint64_t cut = (op->off + len / 2) / sec * sec;

				len = cut > op->off ? cut - op->off : 0;
			}
			if (len)
				cr_assert_eq(pwrite(fdmap[op->fd], op->data, len,
						    (off_t)op->off),
					     (ssize_t)len);
			break;
		case R_SYNC:
			break;
		case R_FALLOC:
			cr_assert_eq(fallocate(fdmap[op->fd], 0,
					       (off_t)op->off,
					       (off_t)op->len), 0);
			break;
		case R_RENAME:
			snprintf(p, sizeof(p), "%s%s", root, op->path);
			snprintf(p2, sizeof(p2), "%s%s", root, op->path2);
			cr_assert_eq(rename(p, p2), 0, "replay rename %s", p);
			break;
		case R_UNLINK:
			snprintf(p, sizeof(p), "%s%s", root, op->path);
			cr_assert_eq(unlink(p), 0, "replay unlink %s", p);
			break;
		}
	}
	/* Close what the crash left open. */
	for (i = 0; i < MAX_FD; i++) {
		if (live[i])
			close(fdmap[i]);
		live[i] = false;
	}
	free(ino);
	free(synced);
}

/* ---- the workload ---------------------------------------------------------- */

#define NB_IDS	4096

struct truth {
	size_t ack_at[NB_IDS];		/* ops count when seen acked */
	size_t commit_at[NB_IDS];	/* ops count just before commit */
	uint64_t nb_ids;
};

static const char *const crash_kv[] = {
	"maxFileSize=65536", "checkpointInterval=86400000",
	"groupCommitBytes=16384", "ringBytes=1048576", NULL,
};

static void
ack_ids(struct rec_io *r, struct truth *tr, uint64_t upto_id)
{
	size_t now = rec_count(r);
	uint64_t i;

	for (i = 0; i < upto_id; i++)
		if (!tr->ack_at[i])
			tr->ack_at[i] = now;
}

static void
workload(struct rec_io *r, const char *root, struct truth *tr)
{
	struct dlog_test_opts o = { .io = &r->wrap.base };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t id = 0;
	int64_t t;
	unsigned round, phase, i;

	memset(tr, 0, sizeof(*tr));
	for (phase = 0; phase < 2; phase++) {
		fcu_open(&h, root, crash_kv, &o);
		c = sl_channel_consumer_open(h.ch, "k1", 16, 2, &err);
		p = sl_channel_producer_open(h.ch, "r1", &err);
		cr_assert(c && p, "%s", err.msg);
		cr_assert_eq(h.ch->ops->start(h.ch), 0);
		for (round = 0; round < 70; round++) {
			unsigned nb = 1 + (round * 7 + phase) % 8;

			t = fcu_put_txn(p, id, nb, 200 + (round % 5) * 300);
			cr_assert_gt(t, 0);
			id += nb;
			/* Sometimes two transactions share one group. */
			if (round % 4 != 1) {
				cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
				ack_ids(r, tr, id);
			}
			if (round % 3 == 2) {
				struct sl_take *tk = sl_channel_take(c, 16);
				size_t before = rec_count(r);

				for (i = 0; tk && i < tk->nb_evs; i++)
					tr->commit_at[fcu_ev_check(
						&tk->evs[i])] = before;
				if (tk)
					cr_assert_eq(sl_channel_take_commit(
						c, tk), 0);
			}
			if (round % 11 == 10)
				cr_assert_eq(sl_file_channel_checkpoint(h.ch,
					     10000), 0);
		}
		if (phase == 0)
			fcu_close(&h);
		else
			fcu_crash(&h);
	}
	tr->nb_ids = id;
	cr_assert_lt(id, NB_IDS);
}

/* Recover @root and check it against @tr at crash point @k. */
static void
check_recovery(const char *root, const struct truth *tr, size_t k,
	       const char *what)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_consumer *c;
	struct sl_chan_producer *p;
	static uint64_t ids[NB_IDS + 8];
	static bool seen[NB_IDS + 8];
	size_t n, i;
	int64_t t;

	fcu_open_err(&h, root, crash_kv, NULL, &err);
	cr_assert_not_null(h.ch, "%s k=%zu: %s", what, k, err.msg);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	n = fcu_drain(c, ids, NB_IDS + 8, 0, 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		cr_assert_lt(ids[i], tr->nb_ids, "%s k=%zu: unknown id",
			     what, k);
		cr_assert_not(seen[ids[i]], "%s k=%zu: id %llu twice", what,
			      k, (unsigned long long)ids[i]);
		seen[ids[i]] = true;
		if (i)
			cr_assert_gt(ids[i], ids[i - 1], "%s k=%zu: order",
				     what, k);
	}
	for (i = 0; i < tr->nb_ids; i++) {
		bool acked = tr->ack_at[i] && tr->ack_at[i] <= k;
		bool committed = tr->commit_at[i] && tr->commit_at[i] < k;

		cr_assert(!acked || committed || seen[i], "%s k=%zu: acked "
			  "event %zu lost (acked at op %zu)", what, k, i,
			  tr->ack_at[i]);
	}
	/* The next append works. */
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	t = fcu_put_txn(p, NB_IDS, 2, 100);
	cr_assert_gt(t, 0, "%s k=%zu: append %lld", what, k, (long long)t);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000), "%s k=%zu", what, k);
	n = fcu_drain(c, ids, NB_IDS + 8, 2, 5000);
	cr_assert_eq(n, 2, "%s k=%zu", what, k);
	cr_assert_eq(ids[0], NB_IDS);
	fcu_close(&h);
}

Test(dlog_crash, every_crash_point_recovers_every_acked_event,
     .timeout = 600)
{
	char *root = fcu_tmpdir("/dev/shm");
	struct rec_io r = { .wrap.base.ops = &rec_ops };
	struct sl_err err = { 0 };
	struct truth *tr = calloc(1, sizeof(*tr));
	size_t k, i, nb_writes = 0, nb_checks = 0;
	static const char *const names[] = { "all", "torn512", "torn4k",
					     "synced" };

	pthread_mutex_init(&r.mu, NULL);
	r.wrap.in = sl_dlog_io_uring_create(false, "test", &err);
	cr_assert_not_null(r.wrap.in);
	r.root = root;
	r.root_len = strlen(root);
	workload(&r, root, tr);
	for (i = 0; i < r.n; i++)
		nb_writes += r.ops[i].op == R_WRITE;
	cr_assert_gt(nb_writes, 100, "a workload worth crashing");
	for (k = 0; k <= r.n; k++) {
		enum mode m;

		for (m = M_ALL; m <= M_SYNCED; m++) {
			char *d;

			if ((m == M_TORN512 || m == M_TORN4K) &&
			    (k == 0 || r.ops[k - 1].op != R_WRITE))
				continue;
			d = fcu_tmpdir("/dev/shm");
			rebuild(&r, k, m, d);
			check_recovery(d, tr, k, names[m]);
			fcu_rmrf(d);
			free(d);
			nb_checks++;
		}
	}
	cr_log_info("%zu ops, %zu writes, %zu crash states recovered", r.n,
		    nb_writes, nb_checks);
	for (i = 0; i < r.n; i++) {
		free(r.ops[i].path);
		free(r.ops[i].path2);
		free(r.ops[i].data);
	}
	free(r.ops);
	r.wrap.in->ops->destroy(r.wrap.in);
	fcu_rmrf(root);
	free(root);
	free(tr);
}
