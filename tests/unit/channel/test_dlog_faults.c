/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durable log under faults: a failed fdatasync makes the channel unhealthy
 * and nothing is acknowledged after it; short writes are re-issued; ENOSPC
 * (from the backend, and for real on a small tmpfs) is backpressure that
 * lifts when space frees; and damage at rest (bit flips, a zeroed length,
 * a truncated record, a missing segment, a corrupt checkpoint) is found,
 * counted and quarantined, never delivered and never silently deleted.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fault_io.h"
#include "fc_util.h"
#include "sl_source.h"
#include <netinet/in.h>
#include <sys/socket.h>

static char *dir;

static void
setup(void)
{
	dir = fcu_tmpdir("/dev/shm");
}

static void
teardown(void)
{
	char mnt[600];

	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	umount2(mnt, MNT_DETACH);	/* after a failed test */
	fcu_rmrf(dir);
	free(dir);
}

TestSuite(dlog_faults, .init = setup, .fini = teardown, .timeout = 120);

/* ---- stats helper -------------------------------------------------------- */

static void
pr_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
       enum sl_stat_kind k, enum sl_stat_section sec)
{
	fprintf(stderr, "  %s: %llu\n", name, (unsigned long long)v);
}

static void
dump_stats(struct sl_channel *ch)
{
	struct sl_stats_sink s = { pr_u64, cap_str, cap_f64 };

	sl_channel_stats_emit(ch, &s);
}

/* ---- faults while running -------------------------------------------------- */

Test(dlog_faults, failed_fdatasync_is_never_retried_nor_acknowledged)
{
	struct fault_io *f = fault_io_new();
	struct dlog_test_opts o = { .io = &f->wrap.base };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[64];
	int64_t t;
	size_t n, i;

	fcu_open(&h, dir, NULL, &o);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 2; i++) {
		t = fcu_put_txn(p, i * 4, 4, 64);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	}
	__atomic_store_n(&f->fail_sync_at, f->nb_syncs + 1, __ATOMIC_RELEASE);
	t = fcu_put_txn(p, 8, 4, 64);
	cr_assert_eq(t, 3);
	cr_assert_not(fcu_wait_ack(p, 3, 10000), "never acknowledged");
	cr_assert(sl_file_channel_unhealthy(h.ch));
	cr_assert_eq(sl_channel_producer_acked(p), 2);
	cr_assert_eq(fcu_put_txn(p, 12, 4, 64), -EIO);
	sl_channel_put_begin(p);
	cr_assert_eq(sl_channel_put_commit(p), -EIO, "empty commit probes");
	cr_assert_eq(stat_of(h.ch, "Unhealthy"), 1);
	cr_assert_eq(stat_of(h.ch, "EventPutErrorCount"), 4);
	/* Sinks still get what was durable before the failure, only that. */
	n = fcu_drain(c, ids, 64, 8, 2000);
	cr_assert_eq(n, 8);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	sl_time_sleep_ns(300 * SL_NS_PER_MS);
	cr_assert_eq(sl_channel_producer_acked(p), 2, "still not acked");
	fcu_crash(&h);
	wrap_destroy(&f->wrap.base);
}

/* Read replies from @fd until @n lines came (or 30 s passed); count them. */
static unsigned
read_replies(int fd, unsigned n, unsigned *nb_ok, unsigned *nb_failed,
	     char *last, size_t last_cap)
{
	char buf[16384];
	size_t have = 0;
	unsigned lines = 0;
	uint64_t deadline = sl_time_mono_ns() + 30000 * SL_NS_PER_MS;

	*nb_ok = *nb_failed = 0;
	while (lines < n && sl_time_mono_ns() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		char *nl;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		while ((nl = memchr(buf, '\n', have))) {
			size_t len = (size_t)(nl - buf);

			if (len == 2 && memcmp(buf, "OK", 2) == 0)
				(*nb_ok)++;
			else if (strncmp(buf, "FAILED: ", 8) == 0)
				(*nb_failed)++;
			snprintf(last, last_cap, "%.*s", (int)len, buf);
			lines++;
			memmove(buf, nl + 1, have - len - 1);
			have -= len + 1;
		}
	}
	return lines;
}

/*
 * The netcat source over a file channel whose fdatasync fails: lines
 * already put (their OKs queued, waiting for the sync) get `FAILED:`
 * instead of waiting forever, counted in ChannelWriteFail, and so does
 * every later line.
 */
Test(dlog_faults, netcat_lines_waiting_on_a_failed_sync_get_failed)
{
	struct fault_io *f = fault_io_new();
	struct dlog_test_opts o = { .io = &f->wrap.base };
	const char *kv[] = { "checkpointInterval=600000", NULL };
	const struct sl_source_ops *sops = &sl_netcat_source_ops;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct sl_prop pv[2];
	struct sl_props props = { .comp = "a1.sources.r1", .v = pv, .n = 2,
				  .file = "test", .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	struct sl_source *src;
	struct sl_channel *chs[1];
	struct fc_handle h;
	char port[16], last[256] = "";
	void *set;
	unsigned ok, failed;
	int fd;

	/* A free port: bind to 0, read it back, close. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	close(fd);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	pv[0] = (struct sl_prop){ .key = "bind", .val = "127.0.0.1",
				  .file = "test", .line = 1 };
	pv[1] = (struct sl_prop){ .key = "port", .val = port, .file = "test",
				  .line = 2 };
	set = calloc(1, sops->settings_size);
	cr_assert_eq(sl_keys_apply(sops->keys, set, &props, &diag), 0);
	fcu_open(&h, dir, kv, &o);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	chs[0] = h.ch;
	src = sops->create("r1", set, chs, 1, &err);
	cr_assert_not_null(src, "%s", err.msg);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	cr_assert_eq(sops->start(src, &err), 0, "%s", err.msg);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(send(fd, "a\nb\nc\nd\n", 8, 0), 8);
	cr_assert_eq(read_replies(fd, 4, &ok, &failed, last, sizeof(last)), 4);
	cr_assert_eq(ok, 4, "synced lines get OK");
	/* The next fdatasync fails: lines put now can never be acked. */
	__atomic_store_n(&f->fail_sync_at, f->nb_syncs + 1, __ATOMIC_RELEASE);
	cr_assert_eq(send(fd, "e\nf\ng\nh\ni\n", 10, 0), 10);
	cr_assert_eq(read_replies(fd, 5, &ok, &failed, last, sizeof(last)), 5,
		     "every line answered (none left waiting)");
	cr_assert_eq(ok, 0);
	cr_assert_eq(failed, 5);
	cr_assert_str_eq(last, "FAILED: Unable to put event on required "
			 "channel: c1");
	cr_assert(sl_file_channel_unhealthy(h.ch));
	/* A later line is refused at once. */
	cr_assert_eq(send(fd, "j\n", 2, 0), 2);
	cr_assert_eq(read_replies(fd, 1, &ok, &failed, last, sizeof(last)), 1);
	cr_assert_eq(failed, 1);
	close(fd);
	cr_assert_eq(sl_stat_read(&src->stats.channel_write_fail), 6,
		     "ChannelWriteFail counts every FAILED line");
	cr_assert_eq(sl_stat_read(&src->stats.event_received_count), 10);
	sops->stop(src);
	sops->destroy(src);
	sl_keys_free(sops->keys, set);
	free(set);
	fcu_crash(&h);
	wrap_destroy(&f->wrap.base);
}

Test(dlog_faults, short_writes_are_reissued_whole)
{
	struct sl_err err = { 0 };
	struct dlog_io *io = sl_dlog_io_uring_create(false, "test", &err);
	struct dlog_test_opts o = { .io = io };
	struct fc_handle h;
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t *ids = calloc(4000, sizeof(*ids));
	int64_t t = 0;
	size_t n, i;
	const char *kv[] = { "groupCommitBytes=1048576", NULL };

	cr_assert_not_null(io);
	sl_dlog_io_uring_short_every(io, 2);
	fcu_open(&h, dir, kv, &o);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 100; i++)
		t = fcu_put_txn(p, i * 30, 30, 1000);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	fcu_crash(&h);
	cr_assert_gt(sl_dlog_io_uring_short_every(io, 0), 0,
		     "short completions happened");
	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	n = fcu_drain(c, ids, 4000, 3000, 5000);
	cr_assert_eq(n, 3000);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
	io->ops->destroy(io);
	free(ids);
}

/*
 * The uring backend's background fdatasync runs on a thread of its own:
 * its result, an error included, comes back through fdatasync_wait(),
 * once; one in flight at most; destroy() waits for one still running.
 */
Test(dlog_faults, background_fdatasync_reports_its_result)
{
	struct sl_err err = { 0 };
	struct dlog_io *io = sl_dlog_io_uring_create(false, "test", &err);
	char path[600];
	int fd, gone;

	cr_assert_not_null(io, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	gone = dup(fd);
	cr_assert_geq(gone, 0);
	close(gone);			/* a descriptor that is no more */
	cr_assert_eq(io->ops->fdatasync_wait(io, NULL), -EINVAL, "none started");
	cr_assert_eq(io->ops->fdatasync_start(io, gone), 0);
	cr_assert_eq(io->ops->fdatasync_start(io, fd), -EBUSY);
	cr_assert_eq(io->ops->fdatasync_wait(io, NULL), -EBADF);
	cr_assert_eq(io->ops->fdatasync_wait(io, NULL), -EINVAL, "reaped once");
	cr_assert_eq(pwrite(fd, "x", 1, 0), 1);
	cr_assert_eq(io->ops->fdatasync_start(io, fd), 0);
	cr_assert_eq(io->ops->fdatasync_wait(io, NULL), 0);
	cr_assert_eq(io->ops->fdatasync_start(io, fd), 0);
	io->ops->destroy(io);		/* with that one still in flight */
	close(fd);
}

/*
 * fdatasync_p50_us / p99_us are the fdatasyncs' own time, as the backend
 * measured it, not how long the writer took to collect them (it writes
 * the next group first): a backend that says each took 7,777 us, while
 * every one is long done when collected, is reported at exactly that;
 * and the uring backend's thread times a real one (more than 0).
 */
static int
fixed_fdatasync_wait(struct dlog_io *io, uint64_t *ns)
{
	int rc = wrap_fdatasync_wait(io, NULL);

	if (ns)
		*ns = 7777 * 1000ull;
	return rc;
}

Test(dlog_faults, fdatasync_latency_is_the_syncs_own)
{
	struct dlog_io_ops ops = fault_ops;
	struct fault_io *f = fault_io_new();
	struct dlog_test_opts o = { .io = &f->wrap.base };
	struct sl_err err = { 0 };
	struct dlog_io *io;
	struct fc_handle h;
	struct sl_chan_producer *p;
	char path[600];
	uint64_t ns = 0;
	int64_t t = 0;
	unsigned i;
	int fd;

	ops.fdatasync_wait = fixed_fdatasync_wait;
	f->wrap.base.ops = &ops;
	fcu_open(&h, dir, NULL, &o);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 20; i++) {
		t = fcu_put_txn(p, i * 10, 10, 300);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	}
	cr_assert_geq(stat_of(h.ch, "fdatasyncs"), 20);
	cr_assert_eq(stat_of(h.ch, "fdatasync_p50_us"), 7777);
	cr_assert_eq(stat_of(h.ch, "fdatasync_p99_us"), 7777);
	fcu_close(&h);
	wrap_destroy(&f->wrap.base);

	io = sl_dlog_io_uring_create(false, "test", &err);
	cr_assert_not_null(io, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/timed", dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "x", 1, 0), 1);
	cr_assert_eq(io->ops->fdatasync_start(io, fd), 0);
	cr_assert_eq(io->ops->fdatasync_wait(io, &ns), 0);
	cr_assert_gt(ns, 0);
	io->ops->destroy(io);
	close(fd);
}

/* Poll put commits of one event until one is refused with -ENOSPC. */
static int64_t
put_until_refused(struct sl_chan_producer *p, uint64_t *id, int64_t *last)
{
	uint64_t deadline = sl_time_mono_ns() + 10 * SL_NS_PER_SEC;
	int64_t t;

	while (sl_time_mono_ns() < deadline) {
		t = fcu_put_txn(p, *id, 1, 100);
		if (t == -ENOSPC)
			return t;
		cr_assert_gt(t, 0, "commit: %lld", (long long)t);
		*last = t;
		(*id)++;
		sl_time_sleep_ns(5 * SL_NS_PER_MS);
	}
	return 0;
}

Test(dlog_faults, enospc_from_the_backend_is_backpressure_then_resumes)
{
	struct fault_io *f = fault_io_new();
	struct dlog_test_opts o = { .io = &f->wrap.base };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[2000], id = 0;
	int64_t last = 0, t;
	size_t n, i;

	fcu_open(&h, dir, NULL, &o);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	t = fcu_put_txn(p, id, 5, 100);
	id += 5;
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	__atomic_store_n(&f->enospc_writes, 1, __ATOMIC_RELEASE);
	cr_assert_eq(put_until_refused(p, &id, &last), -ENOSPC);
	cr_assert_gt(f->nb_enospc, 0);
	cr_assert_lt(sl_channel_producer_acked(p), (uint64_t)last,
		     "nothing written while out of space is acknowledged");
	cr_assert_eq(stat_of(h.ch, "space_blocked"), 1);
	cr_assert_gt(stat_of(h.ch, "space_refusals"), 0);
	cr_assert_not(sl_file_channel_unhealthy(h.ch), "ENOSPC is not EIO");
	__atomic_store_n(&f->enospc_writes, 0, __ATOMIC_RELEASE);
	cr_assert(fcu_wait_ack(p, (uint64_t)last, 10000), "resumes");
	t = fcu_put_txn(p, id, 1, 100);
	cr_assert_gt(t, 0);
	id++;
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	n = fcu_drain(c, ids, 2000, id, 5000);
	cr_assert_eq(n, id, "every accepted put arrives once");
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
	wrap_destroy(&f->wrap.base);
}

Test(dlog_faults, enospc_on_a_new_segment_blocks_until_sinks_free_one)
{
	struct fault_io *f = fault_io_new();
	struct dlog_test_opts o = { .io = &f->wrap.base };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t *ids = calloc(20000, sizeof(*ids)), id = 0;
	int64_t last = 0;
	size_t n, i;
	const char *kv[] = { "maxFileSize=65536", NULL };

	fcu_open(&h, dir, kv, &o);
	c = sl_channel_consumer_open(h.ch, "k1", 100, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	__atomic_store_n(&f->enospc_falloc, 1, __ATOMIC_RELEASE);
	cr_assert_eq(put_until_refused(p, &id, &last), -ENOSPC);
	__atomic_store_n(&f->enospc_falloc, 0, __ATOMIC_RELEASE);
	cr_assert(fcu_wait_ack(p, (uint64_t)last, 10000), "resumes");
	n = fcu_drain(c, ids, 20000, id, 5000);
	cr_assert_eq(n, id);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
	wrap_destroy(&f->wrap.base);
	free(ids);
}

Test(dlog_faults, real_enospc_on_a_small_tmpfs_is_backpressure)
{
	char mnt[600];
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	/* Room for every id the put loop below can be given. */
	const size_t max_ids = 20000 * 10 + 10;
	uint64_t *ids = calloc(max_ids, sizeof(*ids)), id = 0, got = 0;
	int64_t last = 0, t;
	size_t n, i;
	/*
	 * A small ring, so that what is accepted while the writer has not yet
	 * met ENOSPC stays small on a slow machine.
	 */
	const char *kv[] = { "maxFileSize=262144", "minimumRequiredSpace=0",
			     "checkpointInterval=100", "ringBytes=262144",
			     NULL };

	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("sluice-test", mnt, "tmpfs", 0, "size=1m") < 0) {
		free(ids);
		cr_skip_test("cannot mount a tmpfs here (%s): needs root or "
			     "CAP_SYS_ADMIN", strerror(errno));
	}
	fcu_open(&h, mnt, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 100, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 20000; i++) {
		t = fcu_put_txn(p, id, 10, 900);
		if (t == -ENOSPC && !sl_file_channel_unhealthy(h.ch) &&
		    stat_of(h.ch, "space_blocked"))
			break;
		if (t > 0) {
			last = t;
			id += 10;
		} else {
			sl_time_sleep_ns(SL_NS_PER_MS);
		}
	}
	cr_assert_lt(i, 20000, "the 1 MiB tmpfs filled up");
	cr_assert_not(sl_file_channel_unhealthy(h.ch));
	/*
	 * Commits accepted before the disk filled wait in the ring: a sink
	 * drains what is durable, a checkpoint frees a segment, the writer
	 * writes them, and they are acknowledged.
	 */
	{
		uint64_t deadline = sl_time_mono_ns() + 20 * SL_NS_PER_SEC;

		while (got < id && sl_time_mono_ns() < deadline)
			got += fcu_drain(c, ids + got, max_ids - got, 0, 0);
	}
	if (got != id)
		dump_stats(h.ch);
	cr_assert_eq(got, id, "got %llu of %llu; segments %llu spares? "
		     "blocked %llu ckpts %llu recycled %llu",
		     (unsigned long long)got, (unsigned long long)id,
		     (unsigned long long)stat_of(h.ch, "segments"),
		     (unsigned long long)stat_of(h.ch, "space_blocked"),
		     (unsigned long long)stat_of(h.ch, "checkpoints"),
		     (unsigned long long)stat_of(h.ch, "segments_recycled"));
	cr_assert_geq(sl_channel_producer_acked(p), (uint64_t)last);
	for (i = 0; i < got; i++)
		cr_assert_eq(ids[i], i);
	{
		uint64_t deadline = sl_time_mono_ns() + 20 * SL_NS_PER_SEC;

		do {
			sl_time_sleep_ns(20 * SL_NS_PER_MS);
			t = fcu_put_txn(p, id, 10, 900);
		} while (t == -ENOSPC && sl_time_mono_ns() < deadline);
	}
	cr_assert_gt(t, 0, "puts accepted again after space freed");
	id += 10;
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	n = fcu_drain(c, ids, max_ids, 10, 5000);
	cr_assert_eq(n, 10);
	cr_assert_eq(ids[0], id - 10);
	fcu_close(&h);
	cr_assert_eq(umount(mnt), 0);
	free(ids);
}

/* ---- damage at rest --------------------------------------------------------- */

/* Fill a closed channel with @nb events (ids 0..) in @nb/10 transactions. */
static void
fill_closed(const char *const *kv, unsigned nb, unsigned body)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	int64_t t = 0;
	unsigned i;

	fcu_open(&h, dir, kv, NULL);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < nb / 10; i++)
		t = fcu_put_txn(p, i * 10, 10, body);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	fcu_close(&h);
}

/* Segment files of DIR/data in log order (ids ascending, no wrap here). */
static unsigned
list_segments(char paths[][700], unsigned max)
{
	char d[600];
	DIR *dh;
	struct dirent *de;
	unsigned n = 0, i, j;

	snprintf(d, sizeof(d), "%s/data", dir);
	dh = opendir(d);
	cr_assert_not_null(dh);
	while ((de = readdir(dh)) && n < max)
		if (strncmp(de->d_name, "log-", 4) == 0 &&
		    strlen(de->d_name) == 12)
			snprintf(paths[n++], 700, "%s/%s", d, de->d_name);
	closedir(dh);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(paths[j], paths[i]) < 0) {
				char t[700];

				memcpy(t, paths[i], 700);
				memcpy(paths[i], paths[j], 700);
				memcpy(paths[j], t, 700);
			}
	return n;
}

/* Offset of the @k-th event record of segment @path. */
static uint64_t
event_offset(const char *path, unsigned k)
{
	int fd = open(path, O_RDONLY);
	uint64_t off = DLOG_DATA_START;
	struct dlog_rec r;
	unsigned i = 0;

	cr_assert_geq(fd, 0);
	for (;;) {
		cr_assert_eq(pread(fd, &r, sizeof(r), (off_t)off),
			     (ssize_t)sizeof(r));
		cr_assert(r.type == DLOG_REC_EVENT || r.type == DLOG_REC_PAD,
			  "record %u of %s", i, path);
		if (r.type == DLOG_REC_EVENT && i++ == k)
			break;
		off += dlog_rec_span(r.len);
	}
	close(fd);
	return off;
}

static void
poke(const char *path, uint64_t off, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static uint8_t
peek_byte(const char *path, uint64_t off)
{
	int fd = open(path, O_RDONLY);
	uint8_t b = 0;

	cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
	close(fd);
	return b;
}

/*
 * Reopen, drain everything and check: bodies intact (fcu_ev_check), ids
 * ascending without repeats, every id in [0, nb) not in [lost_lo,
 * lost_hi) present. Returns the number drained.
 */
static size_t
reopen_check(const char *const *kv, unsigned nb, uint64_t lost_lo,
	     uint64_t lost_hi, struct dlog_recovery *rec)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_consumer *c;
	uint64_t *ids = calloc(nb + 1, sizeof(*ids));
	size_t n, i, j = 0;
	uint64_t id;

	fcu_open(&h, dir, kv, NULL);
	sl_file_channel_recovery(h.ch, rec);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	n = fcu_drain(c, ids, nb + 1, 0, 0);
	for (i = 1; i < n; i++)
		cr_assert_gt(ids[i], ids[i - 1], "ascending, no repeats");
	for (id = 0; id < nb; id++) {
		if (id >= lost_lo && id < lost_hi)
			continue;
		while (j < n && ids[j] < id)
			j++;
		cr_assert(j < n && ids[j] == id, "event %llu is missing",
			  (unsigned long long)id);
	}
	fcu_close(&h);
	free(ids);
	return n;
}

static const char *const small_kv[] = { "maxFileSize=65536", NULL };

Test(dlog_faults, bit_flip_in_a_middle_segment_is_quarantined)
{
	char segs[16][700], q[800];
	struct dlog_recovery rec;
	uint64_t off;
	uint8_t b;
	size_t n;

	fill_closed(small_kv, 600, 400);
	cr_assert_geq(list_segments(segs, 16), 3);
	off = event_offset(segs[0], 20) + DLOG_REC_HDR + 30;
	b = peek_byte(segs[0], off) ^ 0x10;
	poke(segs[0], off, &b, 1);
	/* Events 20.. of the first segment are lost; the rest must come. */
	n = reopen_check(small_kv, 600, 20, 140, &rec);
	cr_assert_eq(rec.corrupt_records, 1);
	cr_assert_eq(rec.quarantined, 1);
	cr_assert_gt(rec.lost_events, 0);
	cr_assert_eq(n + rec.lost_events, 600, "lost counted exactly");
	snprintf(q, sizeof(q), "%s.quarantined", segs[0]);
	cr_assert_eq(access(q, F_OK), 0, "kept as %s", q);
}

Test(dlog_faults, zeroed_length_in_a_middle_segment_is_found)
{
	char segs[16][700];
	struct dlog_recovery rec;
	uint32_t zero = 0;
	size_t n;

	fill_closed(small_kv, 600, 400);
	cr_assert_geq(list_segments(segs, 16), 3);
	poke(segs[1], event_offset(segs[1], 5) +
	     offsetof(struct dlog_rec, len), &zero, 4);
	n = reopen_check(small_kv, 600, 100, 300, &rec);
	cr_assert_eq(rec.corrupt_records, 1);
	cr_assert_eq(n + rec.lost_events, 600);
}

Test(dlog_faults, bit_flip_at_the_tail_is_cut_and_counted)
{
	char segs[16][700], last[700];
	struct dlog_recovery rec;
	unsigned nseg;
	uint64_t off;
	uint8_t b;
	size_t n;

	fill_closed(small_kv, 600, 400);
	nseg = list_segments(segs, 16);
	memcpy(last, segs[nseg - 1], sizeof(last));
	off = event_offset(last, 3) + DLOG_REC_HDR + 7;
	b = peek_byte(last, off) ^ 1;
	poke(last, off, &b, 1);
	n = reopen_check(small_kv, 600, 0, 600, &rec);
	cr_assert_gt(rec.truncated_bytes, 0);
	cr_assert_eq(rec.corrupt_records, 0, "a tail, not a hole");
	cr_assert_lt(n, 600);
	cr_assert_eq(n % 10, 0, "cut back to a whole transaction");
}

Test(dlog_faults, truncated_record_in_the_last_segment_is_cut)
{
	char segs[16][700];
	struct dlog_recovery rec;
	unsigned nseg;
	size_t n;

	fill_closed(small_kv, 600, 400);
	nseg = list_segments(segs, 16);
	cr_assert_eq(truncate(segs[nseg - 1],
			      (off_t)event_offset(segs[nseg - 1], 12) + 40),
		     0);
	n = reopen_check(small_kv, 600, 0, 600, &rec);
	cr_assert_gt(rec.truncated_bytes, 0);
	cr_assert_eq(n % 10, 0, "cut back to a whole transaction");
	cr_assert_lt(n, 600);
}

Test(dlog_faults, missing_segment_is_reported_and_the_rest_replayed)
{
	char segs[16][700];
	struct dlog_recovery rec;
	size_t n;

	fill_closed(small_kv, 600, 400);
	cr_assert_geq(list_segments(segs, 16), 3);
	cr_assert_eq(unlink(segs[1]), 0);
	n = reopen_check(small_kv, 600, 100, 300, &rec);
	cr_assert_eq(rec.missing_segments, 1);
	cr_assert_gt(rec.lost_events, 0);
	cr_assert_eq(n + rec.lost_events, 600);
}

/* Consume the first @k events of a closed channel and close it again. */
static void
consume_closed(const char *const *kv, unsigned k)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_consumer *c;
	unsigned n = 0;

	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 10, 1, &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	while (n < k) {
		struct sl_take *t = sl_channel_take(c, 10);

		cr_assert_not_null(t);
		n += t->nb_evs;
		cr_assert_eq(sl_channel_take_commit(c, t), 0);
	}
	fcu_close(&h);
}

Test(dlog_faults, corrupt_checkpoint_falls_back_to_a_full_scan)
{
	struct dlog_recovery rec;
	char ck[700];
	uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;

	fill_closed(NULL, 300, 100);
	consume_closed(NULL, 100);
	snprintf(ck, sizeof(ck), "%s/ck/checkpoint", dir);
	poke(ck, 8, junk, sizeof(junk));
	/* Nothing after the lost checkpoint's head may be missing. */
	n = reopen_check(NULL, 300, 0, 100, &rec);
	cr_assert_not(rec.used_checkpoint);
	cr_assert_geq(n, 200);
}

Test(dlog_faults, dual_checkpoints_fall_back_to_the_backup)
{
	struct dlog_recovery rec;
	char ck[700], bk[700];
	uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;

	snprintf(bk, sizeof(bk), "backupCheckpointDir=%s/bk", dir);
	{
		const char *kv[] = { "useDualCheckpoints=true", bk, NULL };

		fill_closed(kv, 300, 100);
		consume_closed(kv, 100);
		snprintf(ck, sizeof(ck), "%s/ck/checkpoint", dir);
		poke(ck, 8, junk, sizeof(junk));
		n = reopen_check(kv, 300, 0, 100, &rec);
	}
	cr_assert(rec.used_checkpoint);
	cr_assert(rec.used_backup);
	cr_assert_eq(n, 200, "exactly what was not committed");
}
