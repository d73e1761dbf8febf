/* SPDX-License-Identifier: Apache-2.0 */
/*
 * File channel: acknowledged puts survive a crash and come back in order,
 * committed takes do not come back once checkpointed, rollback returns
 * events to the head, segments roll and are recycled, the lock file keeps
 * a second channel out, limits answer with the documented errors, and the
 * counters add up.
 */
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>

#include "fc_util.h"

static char *dir;

static void
setup(void)
{
	dir = fcu_tmpdir("/dev/shm");
}

static void
teardown(void)
{
	fcu_rmrf(dir);
	free(dir);
}

TestSuite(file_channel, .init = setup, .fini = teardown, .timeout = 120);

Test(file_channel, acked_puts_are_taken_in_order_and_counters_add_up)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[100];
	int64_t t = 0;
	size_t n, i;

	fcu_open(&h, dir, NULL, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 4, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert(c && p, "%s", err.msg);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 20; i++) {
		t = fcu_put_txn(p, i * 5, 5, 100);
		cr_assert_eq(t, (int64_t)i + 1, "ticket %lld", (long long)t);
	}
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	cr_assert_eq(sl_channel_size(h.ch), 100);
	n = fcu_drain(c, ids, 100, 100, 10000);
	cr_assert_eq(n, 100);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	cr_assert_eq(sl_channel_size(h.ch), 0);
	cr_assert_eq(stat_of(h.ch, "EventPutSuccessCount"), 100);
	cr_assert_eq(stat_of(h.ch, "EventPutAttemptCount"), 100);
	cr_assert_eq(stat_of(h.ch, "EventTakeSuccessCount"), 100);
	cr_assert_eq(stat_of(h.ch, "Unhealthy"), 0);
	cr_assert_gt(stat_of(h.ch, "fdatasyncs"), 0);
	cr_assert_gt(stat_of(h.ch, "bytes_written"), 100 * 100);
	fcu_close(&h);
}

Test(file_channel, producer_fd_signals_acks_and_empty_commit_probes)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct pollfd pfd;
	int64_t t;

	fcu_open(&h, dir, NULL, NULL);
	cr_assert_not_null(sl_channel_consumer_open(h.ch, "k1", 8, 1, &err));
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	pfd = (struct pollfd){ .fd = sl_channel_producer_fd(p),
			       .events = POLLIN };
	cr_assert_geq(pfd.fd, 0);
	t = fcu_put_txn(p, 1, 3, 50);
	cr_assert_eq(t, 1);
	cr_assert_eq(poll(&pfd, 1, 10000), 1);
	cr_assert(fcu_wait_ack(p, 1, 10000));
	sl_channel_put_begin(p);
	cr_assert_eq(sl_channel_put_commit(p), 1, "empty commit: last ticket");
	fcu_close(&h);
}

Test(file_channel, acked_events_survive_a_crash)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	struct dlog_recovery rec;
	uint64_t ids[600];
	int64_t t = 0;
	size_t n, i;

	fcu_open(&h, dir, (const char *const[]){ "maxFileSize=65536", NULL },
		 NULL);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 50; i++)
		t = fcu_put_txn(p, i * 10, 10, 300);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	fcu_crash(&h);

	fcu_open(&h, dir, (const char *const[]){ "maxFileSize=65536", NULL },
		 NULL);
	sl_file_channel_recovery(h.ch, &rec);
	cr_assert_eq(rec.replayed, 500);
	cr_assert_eq(rec.lost_events, 0);
	cr_assert_eq(sl_channel_size(h.ch), 500);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	n = fcu_drain(c, ids, 600, 500, 10000);
	cr_assert_eq(n, 500);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
}

/* Files in DIR/data whose names start with @prefix. */
static unsigned
count_files(const char *prefix)
{
	char d[600];
	DIR *dh;
	struct dirent *de;
	unsigned n = 0;

	snprintf(d, sizeof(d), "%s/data", dir);
	dh = opendir(d);
	cr_assert_not_null(dh);
	while ((de = readdir(dh)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(dh);
	return n;
}

/*
 * Past half of a segment the writer creates the next one ahead (empty).
 * After a crash recovery recycles it (nothing lost, nothing
 * quarantined); a graceful stop turns it back into a spare itself.
 */
Test(file_channel, a_segment_created_ahead_is_recycled_after_a_crash)
{
	const char *const kv[] = { "maxFileSize=65536", NULL };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	struct dlog_recovery rec;
	uint64_t ids[200];
	int64_t t = 0;
	size_t n, i;

	fcu_open(&h, dir, kv, NULL);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	/* 4 KiB header + 9 groups of 10 x ~400 B: past half of 64 KiB. */
	for (i = 0; i < 9; i++) {
		t = fcu_put_txn(p, i * 10, 10, 360);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	}
	cr_assert_eq(sl_file_channel_segments(h.ch), 1, "one in use");
	cr_assert_eq(count_files("log-"), 2, "and the next created ahead");
	fcu_crash(&h);

	fcu_open(&h, dir, kv, NULL);
	sl_file_channel_recovery(h.ch, &rec);
	cr_expect_eq(rec.replayed, 90);
	cr_expect_eq(rec.lost_events, 0);
	cr_expect_eq(rec.quarantined, 0, "an empty segment is no damage");
	cr_expect_eq(count_files("log-"), 1, "the empty one recycled");
	cr_expect_eq(count_files("spare-"), 1);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	n = fcu_drain(c, ids, 200, 90, 10000);
	cr_assert_eq(n, 90);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	/* A new segment (from the spare), past half again: the next one is
	 * created ahead; a graceful stop gives it back as a spare. */
	for (i = 9; i < 18; i++) {
		t = fcu_put_txn(p, i * 10, 10, 360);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	}
	cr_assert_eq(fcu_drain(c, ids, 200, 90, 10000), 90);
	cr_assert_eq(count_files("log-"), sl_file_channel_segments(h.ch) + 1,
		     "one created ahead");
	fcu_close(&h);
	cr_expect_eq(count_files("log-"), 1, "only the one with the head");
	cr_expect_eq(count_files("spare-"), 2, "the drained one and the one "
		     "created ahead");
}

Test(file_channel, checkpointed_takes_do_not_come_back)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	struct dlog_recovery rec;
	uint64_t ids[400];
	int64_t t = 0;
	size_t n, i;
	const char *kv[] = { "maxFileSize=65536", NULL };

	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 50, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 30; i++)
		t = fcu_put_txn(p, i * 10, 10, 500);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	for (n = 0; n < 200;) {
		struct sl_take *tk = sl_channel_take(c, 50);

		cr_assert_not_null(tk);
		for (i = 0; i < tk->nb_evs; i++)
			cr_assert_eq(fcu_ev_check(&tk->evs[i]), n + i);
		n += tk->nb_evs;
		cr_assert_eq(sl_channel_take_commit(c, tk), 0);
	}
	cr_assert_eq(sl_file_channel_checkpoint(h.ch, 10000), 0);
	cr_assert_gt(stat_of(h.ch, "segments_recycled") +
		     stat_of(h.ch, "segments_deleted"), 0,
		     "consumed segments are recycled after the checkpoint");
	fcu_crash(&h);

	fcu_open(&h, dir, kv, NULL);
	sl_file_channel_recovery(h.ch, &rec);
	cr_assert(rec.used_checkpoint);
	cr_assert_eq(rec.replayed, 100);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	n = fcu_drain(c, ids, 400, 100, 5000);
	cr_assert_eq(n, 100);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], 200 + i);
	fcu_close(&h);
}

Test(file_channel, rollback_returns_this_and_later_takes_to_the_head)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c, *c2;
	struct sl_take *a, *b, *x;
	int64_t t;

	fcu_open(&h, dir, NULL, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 10, 4, &err);
	c2 = sl_channel_consumer_open(h.ch, "k2", 10, 4, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	t = fcu_put_txn(p, 0, 40, 30);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	a = sl_channel_take(c, 10);
	b = sl_channel_take(c, 10);
	x = sl_channel_take(c2, 10);	/* 20..29 held by another sink */
	cr_assert(a && b && x);
	cr_assert_eq(fcu_ev_check(&a->evs[0]), 0);
	cr_assert_eq(fcu_ev_check(&b->evs[0]), 10);
	cr_assert_eq(fcu_ev_check(&x->evs[0]), 20);
	cr_assert_eq(sl_channel_take_commit(c, b), -EINVAL,
		     "commits go in take order");
	sl_channel_take_rollback(c, a);	/* returns 0..19 */
	a = sl_channel_take(c2, 25);	/* capped at 10 per take */
	cr_assert_eq(a->nb_evs, 10);
	cr_assert_eq(fcu_ev_check(&a->evs[0]), 0);
	b = sl_channel_take(c, 10);
	cr_assert_eq(fcu_ev_check(&b->evs[0]), 10);
	cr_assert_eq(b->nb_evs, 10, "stops before the other sink's take");
	cr_assert_eq(sl_channel_take_commit(c2, x), 0);
	cr_assert_eq(sl_channel_take_commit(c2, a), 0);
	cr_assert_eq(sl_channel_take_commit(c, b), 0);
	a = sl_channel_take(c, 10);
	cr_assert_eq(fcu_ev_check(&a->evs[0]), 30);
	cr_assert_eq(sl_channel_take_commit(c, a), 0);
	cr_assert_eq(sl_channel_size(h.ch), 0);
	cr_assert_eq(stat_of(h.ch, "rollback_count"), 2);
	fcu_close(&h);
}

/*
 * A sink with hundreds of takes in flight (the Kafka sink's window): the
 * channel's queue of taken ranges commits at its front and grows at its
 * back, compacting and growing its buffer as it goes; a rollback deep in
 * it returns the tail in order. Every event comes out once, in order.
 */
Test(file_channel, a_long_window_of_takes_commits_and_rolls_back_in_order)
{
	enum { N = 3000, W = 300 };
	struct sl_take *tk[W];
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t next = 0;
	unsigned nb = 0, i, round;
	int64_t t;

	fcu_open(&h, dir, NULL, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 1, W, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert(c && p);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	t = fcu_put_txn(p, 0, N, 30);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	for (round = 0; next < N; round++) {
		/* Fill the window (a short one first, so that it then grows
		 * while commits have moved its front); commit the older two
		 * thirds. */
		unsigned lim = round == 0 ? 40 : W, nc;

		while (nb < lim && (tk[nb] = sl_channel_take(c, 1)) != NULL)
			nb++;
		cr_assert_gt(nb, 0, "round %u: nothing to take", round);
		nc = round == 0 ? 10 : nb * 2 / 3 + 1;
		for (i = 0; i < nc && i < nb; i++) {
			cr_assert_eq(fcu_ev_check(&tk[i]->evs[0]), next,
				     "round %u: event %llu out of order",
				     round, (unsigned long long)next);
			cr_assert_eq(sl_channel_take_commit(c, tk[i]), 0);
			next++;
		}
		memmove(tk, tk + i, (nb - i) * sizeof(tk[0]));
		nb -= i;
		/* Every third round, return the newer half of the rest. */
		if (round % 3 == 2 && nb > 1) {
			sl_channel_take_rollback(c, tk[nb / 2]);
			nb /= 2;
		}
	}
	cr_assert_eq(nb, 0);
	cr_assert_eq(next, N);
	cr_assert_null(sl_channel_take(c, 1));
	cr_assert_eq(sl_channel_size(h.ch), 0);
	cr_assert_eq(stat_of(h.ch, "EventTakeSuccessCount"), N);
	fcu_close(&h);
}

Test(file_channel, limits_answer_with_documented_errors)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct fcu_ev e;
	const char *kv[] = { "capacity=20", "transactionCapacity=10",
			     "maxFileSize=65536", NULL };
	static uint8_t big[70000];
	struct sl_event bev = { .body = big, .body_len = sizeof(big) };
	unsigned i;

	fcu_open(&h, dir, kv, NULL);
	sl_channel_consumer_open(h.ch, "k1", 10, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	sl_channel_put_begin(p);
	for (i = 0; i < 10; i++) {
		fcu_ev_make(&e, i, 40);
		cr_assert_eq(sl_channel_put(p, &e.ev), 0);
	}
	cr_assert_eq(sl_channel_put(p, &e.ev), -E2BIG);
	cr_assert_eq(sl_channel_put_commit(p), 1);
	cr_assert_eq(fcu_put_txn(p, 10, 10, 40), 2);
	cr_assert_eq(fcu_put_txn(p, 20, 1, 40), -ENOSPC, "capacity 20");
	sl_channel_put_begin(p);
	cr_assert_eq(sl_channel_put(p, &bev), -EMSGSIZE);
	sl_channel_put_rollback(p);
	cr_assert_eq(stat_of(h.ch, "put_full_count"), 1);
	cr_assert_eq(stat_of(h.ch, "EventPutSuccessCount"), 20);
	fcu_close(&h);
}

Test(file_channel, a_second_channel_on_the_same_directory_is_refused)
{
	struct fc_handle h, h2;
	struct sl_err err = { 0 };

	fcu_open(&h, dir, NULL, NULL);
	cr_assert_null(fcu_open_err(&h2, dir, NULL, NULL, &err));
	cr_assert_eq(err.code, EBUSY);
	cr_assert(strstr(err.msg, "in use") && strstr(err.msg, "pid"),
		  "%s", err.msg);
	fcu_close(&h);
	cr_assert_not_null(fcu_open_err(&h2, dir, NULL, NULL, &err),
			   "free again after close: %s", err.msg);
	fcu_close(&h2);
}

Test(file_channel, segments_roll_across_data_dirs_and_are_recycled)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	char kd[600], spare[700];
	uint64_t *ids = calloc(5000, sizeof(*ids));
	int64_t t = 0;
	size_t n, i;

	snprintf(kd, sizeof(kd), "dataDirs=%s/d1, %s/d2", dir, dir);
	fcu_open(&h, dir, (const char *const[]){ kd, "maxFileSize=65536",
		 "checkpointInterval=100", NULL }, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 100, 2, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 250; i++) {
		t = fcu_put_txn(p, i * 20, 20, 500);
		cr_assert_gt(t, 0);
		if (i % 50 == 49) {
			cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
			n = fcu_drain(c, ids, 5000, 1000, 10000);
			cr_assert_eq(n, 1000);
			cr_assert_eq(ids[0], (i - 49) * 20);
			cr_assert_eq(ids[999], i * 20 + 19);
			/* Consumed segments become spares for the next. */
			cr_assert_eq(sl_file_channel_checkpoint(h.ch, 10000),
				     0);
		}
	}
	cr_assert_eq(sl_file_channel_checkpoint(h.ch, 10000), 0);
	cr_assert_gt(stat_of(h.ch, "segments_created"), 20);
	cr_assert_leq(stat_of(h.ch, "segments"), 2);
	cr_assert_gt(stat_of(h.ch, "segments_recycled"), 0);
	/* Every spare was opened again but the two per directory left. */
	cr_assert_gt(stat_of(h.ch, "segments_reused"), 0);
	cr_assert_leq(stat_of(h.ch, "segments_reused"),
		      stat_of(h.ch, "segments_recycled"));
	cr_assert_leq(stat_of(h.ch, "segments_recycled") -
		      stat_of(h.ch, "segments_reused"), 4);
	snprintf(spare, sizeof(spare), "%s/d2", dir);
	{
		DIR *dh = opendir(spare);
		struct dirent *de;
		unsigned logs = 0;

		cr_assert_not_null(dh);
		while ((de = readdir(dh)))
			logs += strncmp(de->d_name, "log-", 4) == 0 ||
				strncmp(de->d_name, "spare-", 6) == 0;
		closedir(dh);
		cr_assert_gt(logs, 0, "the second data dir holds segments");
	}
	fcu_close(&h);
	free(ids);
}

Test(file_channel, direct_io_on_a_disk_round_trips)
{
	char *d = fcu_tmpdir("/var/tmp");
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[300];
	int64_t t = 0;
	size_t n, i;
	const char *kv[] = { "directIO=true", "maxFileSize=131072", NULL };

	fcu_open(&h, d, kv, NULL);
	sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 20; i++)
		t = fcu_put_txn(p, i * 10, 10, 700);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	fcu_crash(&h);
	fcu_open(&h, d, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	n = fcu_drain(c, ids, 300, 200, 5000);
	cr_assert_eq(n, 200);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
	fcu_rmrf(d);
	free(d);
}

/* Put ids [first, first + n * 10) as n acknowledged transactions of 10. */
static void
put_acked(struct sl_chan_producer *p, uint64_t first, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		int64_t t = fcu_put_txn(p, first + i * 10, 10, 700);

		cr_assert_gt(t, 0);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	}
}

/*
 * directIO's read cache (an arena of 144 KiB here, groups of up to 32 KiB
 * that use 8): a sink that keeps up reads every event from it; a take
 * held while thirty more groups are synced keeps its group (the events it
 * points to stay as they were), the groups behind it fill the arena, the
 * ones that then find no room are read from the disk, in order, and once
 * the take commits the arena serves new groups again.
 */
/* Can @d take O_DIRECT? If not, say so: the caller has nothing to test. */
static bool
direct_io_ok(const char *d)
{
	char probe[600];
	int fd;

	snprintf(probe, sizeof(probe), "%s/probe", d);
	fd = open(probe, O_CREAT | O_RDWR | O_DIRECT, 0600);
	if (fd < 0) {
		cr_log_warn("%s: no O_DIRECT (%s): nothing to test", d,
			    strerror(errno));
		return false;
	}
	close(fd);
	unlink(probe);
	return true;
}

/*
 * A directIO channel over @d with @kv, a consumer k1 and a producer r1,
 * started; false (said why) when @d has no O_DIRECT.
 */
static bool
direct_start(const char *d, const char *const *kv, struct fc_handle *h,
	     struct sl_chan_consumer **c, struct sl_chan_producer **p)
{
	struct sl_err err = { 0 };

	if (!direct_io_ok(d))
		return false;
	fcu_open(h, d, kv, NULL);
	*c = sl_channel_consumer_open(h->ch, "k1", 64, 4, &err);
	*p = sl_channel_producer_open(h->ch, "r1", &err);
	cr_assert(*c && *p, "%s", err.msg);
	cr_assert_eq(h->ch->ops->start(h->ch), 0);
	return true;
}

Test(file_channel, direct_io_cache_keeps_what_a_take_holds)
{
	char *d = fcu_tmpdir("/var/tmp");
	struct fc_handle h;
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	struct sl_take *held;
	uint64_t ids[400], hits;
	size_t n, i;
	const char *kv[] = { "directIO=true", "groupCommitBytes=32768",
			     "directCacheBytes=147456", "maxFileSize=1048576",
			     NULL };

	if (!direct_start(d, kv, &h, &c, &p)) {
		fcu_rmrf(d);
		free(d);
		return;
	}

	/* A sink that keeps up: all from the cache. */
	for (i = 0; i < 20; i++) {
		put_acked(p, i * 10, 1);
		cr_assert_eq(fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 10, 5000),
			     10);
		cr_assert_eq(ids[0], i * 10);
	}
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), 200);
	cr_assert_eq(stat_of(h.ch, "direct_cache_misses"), 0);
	cr_assert_eq(stat_of(h.ch, "direct_cache_skips"), 0);
	/* Consumed groups stay until their room is needed: the last 8 of
	 * 8 KiB (36 blocks less the 12 the next group is filled in). */
	cr_assert_eq(stat_of(h.ch, "direct_cache_groups"), 8);
	cr_assert_eq(stat_of(h.ch, "direct_cache_bytes"), 8 * 8192);

	/* A take held across thirty more groups. */
	put_acked(p, 200, 1);
	held = sl_channel_take(c, 64);
	cr_assert_not_null(held);
	cr_assert_eq(held->nb_evs, 10);
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), 210);
	put_acked(p, 210, 30);
	for (i = 0; i < held->nb_evs; i++)
		cr_assert_eq(fcu_ev_check(&held->evs[i]), 200 + i);
	/*
	 * The arena is 36 blocks, a group takes 12 to be filled in and keeps
	 * the 2 it used. Behind the held group, seven more fit; the other
	 * 23 found no 12 blocks free. (Buffers of a whole group each, as
	 * before, held three groups: 28 went uncached.) The figures of this
	 * test are what tests/integration/test_arena_model.py, a model of
	 * the allocator, derives for this workload.
	 */
	cr_assert_eq(stat_of(h.ch, "direct_cache_skips"), 23);
	cr_assert_eq(sl_channel_take_commit(c, held), 0);
	n = fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 300, 5000);
	cr_assert_eq(n, 300);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], 210 + i);
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), 280);
	cr_assert_eq(stat_of(h.ch, "direct_cache_misses"), 230);

	/* Nothing held: new groups are cached again. */
	hits = stat_of(h.ch, "direct_cache_hits");
	for (i = 0; i < 5; i++) {
		put_acked(p, 510 + i * 10, 1);
		cr_assert_eq(fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 10, 5000),
			     10);
		cr_assert_eq(ids[0], 510 + i * 10);
	}
	/*
	 * But the group that opened behind the thirtieth, while the take
	 * was held, is in its own buffer: a group's buffer is chosen when it
	 * opens, before producers copy into it. Its 10 are read from disk.
	 */
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), hits + 40);
	cr_assert_eq(stat_of(h.ch, "direct_cache_misses"), 240);
	cr_assert_eq(stat_of(h.ch, "direct_cache_skips"), 24);
	/* Where the arena wraps now leaves room for 7 (the model's). */
	cr_assert_eq(stat_of(h.ch, "direct_cache_groups"), 7);
	cr_assert_eq(stat_of(h.ch, "direct_cache_bytes"), 7 * 8192);
	/*
	 * The two groups' buffers and the cache's arena are registered
	 * with io_uring (as root; a user may lack the locked memory), and
	 * every group went out from one of them: at least one group per
	 * put_acked() above (56), each followed by its fdatasync.
	 */
	if (geteuid() == 0) {
		cr_assert_eq(stat_of(h.ch, "direct_registered_buffers"), 3);
		cr_assert_geq(stat_of(h.ch, "direct_fixed_writes"), 56);
		cr_assert_leq(stat_of(h.ch, "direct_fixed_writes"),
			      stat_of(h.ch, "fdatasyncs"));
	} else {
		cr_log_warn("not root: registered buffers %llu",
			    (unsigned long long)stat_of(h.ch,
					"direct_registered_buffers"));
	}
	fcu_close(&h);
	fcu_rmrf(d);
	free(d);
}

/*
 * directIO: a transaction larger than a group outgrows the group's piece
 * of the arena: it is written from a buffer of the group's own, whole and
 * in order, and read back from the segment (not cached); the groups after
 * it are cached again; after a restart the log reads back whole.
 */
Test(file_channel, direct_io_transaction_larger_than_a_group)
{
	char *d = fcu_tmpdir("/var/tmp");
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	char data[1024];
	DIR *dd;
	struct dirent *de;
	uint64_t ids[256];
	size_t n, i, round;
	int64_t t;
	/* A group: 4 KiB, filled in 20 KiB; a transaction of 40 x 700 B
	 * is about 29 KiB. No checkpoint: the restart scans the whole log,
	 * the first group's segment header (copied as it grew) included. */
	const char *kv[] = { "directIO=true", "groupCommitBytes=4096",
			     "directCacheBytes=1048576", "maxFileSize=1048576",
			     "checkpointOnClose=false",
			     "checkpointInterval=86400000", NULL };

	if (!direct_start(d, kv, &h, &c, &p)) {
		fcu_rmrf(d);
		free(d);
		return;
	}
	for (round = 0; round < 3; round++) {
		uint64_t base = round * 100;

		t = fcu_put_txn(p, base, 40, 700);
		cr_assert_gt(t, 0);
		cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
		n = fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 40, 5000);
		cr_assert_eq(n, 40);
		for (i = 0; i < n; i++)
			cr_assert_eq(ids[i], base + i);
		put_acked(p, base + 40, 1);	/* 10 events, one group */
		n = fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 10, 5000);
		cr_assert_eq(n, 10);
		for (i = 0; i < n; i++)
			cr_assert_eq(ids[i], base + 40 + i);
	}
	/* Each large one from the segment, each small one from the cache. */
	cr_assert_eq(stat_of(h.ch, "direct_cache_skips"), 3);
	cr_assert_eq(stat_of(h.ch, "direct_cache_misses"), 120);
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), 30);
	/* One more large one; with no checkpoint all 190 come back. */
	t = fcu_put_txn(p, 300, 40, 700);
	cr_assert_gt(t, 0);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	snprintf(data, sizeof(data), "%s", sl_file_channel_data_dir(h.ch, 0));
	fcu_close(&h);
	/* Every segment starts with its header, grown groups' too. */
	dd = opendir(data);
	cr_assert_not_null(dd);
	for (n = 0; (de = readdir(dd)) != NULL;) {
		struct dlog_seg_hdr hdr;
		char path[1300];
		int fd;

		if (strncmp(de->d_name, "log-", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", data, de->d_name);
		fd = open(path, O_RDONLY);
		cr_assert_geq(fd, 0);
		cr_assert_eq(pread(fd, &hdr, sizeof(hdr), 0),
			     (ssize_t)sizeof(hdr));
		close(fd);
		cr_assert_eq(hdr.magic, DLOG_SEG_MAGIC, "%s", path);
		n++;
	}
	closedir(dd);
	cr_assert_geq(n, 1);
	fcu_open(&h, d, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 4, &err);
	cr_assert_not_null(c);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	n = fcu_drain(c, ids, SL_ARRAY_SIZE(ids), 190, 5000);
	cr_assert_eq(n, 190);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], (i < 150 ? i / 50 * 100 + i % 50 :
				      300 + i - 150));
	fcu_close(&h);
	fcu_rmrf(d);
	free(d);
}

Test(file_channel, default_directories_name_agent_and_channel)
{
	struct sl_prop pv[1];
	struct sl_props props = { .comp = "fctestagent.channels.c9", .v = pv,
				  .n = 0, .file = "test", .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	void *set = calloc(1, sl_file_channel_ops.settings_size);
	struct sl_channel *ch;
	char *home = fcu_tmpdir("/dev/shm"), want[600], *base = NULL;

	cr_assert_eq(sl_keys_apply(sl_file_channel_ops.keys, set, &props,
				   &diag), 0);
	if (geteuid() != 0)
		setenv("HOME", home, 1);
	unsetenv("XDG_STATE_HOME");
	ch = sl_file_channel_ops.create("c9", set, &props, &diag, &err);
	cr_assert_not_null(ch, "%s", err.msg);
	if (geteuid() == 0)
		base = strdup("/var/lib/sluice/fctestagent/c9");
	else
		cr_assert(asprintf(&base, "%s/.local/state/sluice/fctestagent/"
				   "c9", home) > 0);
	snprintf(want, sizeof(want), "%s/checkpoint", base);
	cr_assert_str_eq(sl_file_channel_checkpoint_dir(ch), want);
	snprintf(want, sizeof(want), "%s/data", base);
	cr_assert_str_eq(sl_file_channel_data_dir(ch, 0), want);
	ch->ops->destroy(ch);
	if (geteuid() == 0)
		fcu_rmrf("/var/lib/sluice/fctestagent");
	sl_keys_free(sl_file_channel_ops.keys, set);
	free(set);
	free(base);
	fcu_rmrf(home);
	free(home);
}

Test(file_channel, sqpoll_and_group_delay_round_trip)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[200];
	int64_t t = 0;
	size_t n, i;
	const char *kv[] = { "sqPoll=true", "groupCommitDelayUs=500", NULL };

	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	for (i = 0; i < 20; i++)
		t = fcu_put_txn(p, i * 5, 5, 80);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	n = fcu_drain(c, ids, 200, 100, 10000);
	cr_assert_eq(n, 100);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], i);
	fcu_close(&h);
}

/*
 * Apply and validate the @n properties @pv of a1.channels.c1 (in @file):
 * @want errors, the first one naming @where and saying @what.
 */
static void
check_props(struct sl_prop *pv, unsigned n, const char *file, int want,
	    const char *where, const char *what)
{
	struct sl_props props = { .comp = "a1.channels.c1", .v = pv, .n = n,
				  .file = file, .line = 5 };
	struct sl_diag diag = { 0 };
	void *set = calloc(1, sl_file_channel_ops.settings_size);

	cr_assert_eq(sl_keys_apply(sl_file_channel_ops.keys, set, &props,
				   &diag), 0);
	cr_assert_eq(sl_file_channel_ops.validate(set, &props, &diag), want);
	cr_assert_eq(diag.n, (unsigned)want);
	if (want)
		cr_assert(strstr(diag.v[0].text, where) &&
			  strstr(diag.v[0].text, what), "%s", diag.v[0].text);
	sl_diag_free(&diag);
	sl_keys_free(sl_file_channel_ops.keys, set);
	free(set);
}

Test(file_channel, config_errors_name_file_and_line)
{
	struct sl_prop pv[3] = {
		{ .key = "useDualCheckpoints", .val = "true", .file = "a.conf",
		  .line = 7 },
		{ .key = "checkpointDir", .val = "/x/ck", .file = "a.conf",
		  .line = 8 },
		{ .key = "backupCheckpointDir", .val = "/x/ck", .file = "a.conf",
		  .line = 9 },
	};

	check_props(pv, 3, "a.conf", 1, "a.conf:9:", "must differ");
}

/* ringBytes: 0 lets directIO choose; any other value holds a ring. */
Test(file_channel, ring_bytes_below_a_ring_is_an_error_at_its_line)
{
	struct sl_prop pv[1] = {
		{ .key = "ringBytes", .val = "4096", .file = "b.conf",
		  .line = 12 },
	};

	check_props(pv, 1, "b.conf", 1, "b.conf:12:",
		    "ringBytes: 4096 is below");
	pv[0].val = "0";
	check_props(pv, 1, "b.conf", 0, NULL, NULL);
	pv[0].val = "65536";
	check_props(pv, 1, "b.conf", 0, NULL, NULL);
}

struct prod_arg {
	struct sl_chan_producer *p;
	unsigned who;
	unsigned ack_every;	/* wait for an ack every so many; 0: never */
	uint64_t sent;
	int64_t last;
};

static void *
prod_main(void *arg)
{
	struct prod_arg *a = arg;
	unsigned i;

	for (i = 0; i < 1500; i++) {
		unsigned n = 1 + i % 5;
		int64_t t;

		/* A full channel or ring: back off and put it again. */
		do {
			t = fcu_put_txn(a->p, ((uint64_t)a->who << 32) + a->sent,
					n, 60 + i % 200);
			if (t == -ENOSPC || t == -EAGAIN)
				sl_time_sleep_ns(100 * 1000);
		} while (t == -ENOSPC || t == -EAGAIN);
		cr_assert_gt(t, 0);
		a->sent += n;
		a->last = t;
		if (a->ack_every && i % a->ack_every == 0)
			cr_assert(fcu_wait_ack(a->p, (uint64_t)t, 10000));
	}
	return NULL;
}

#define CONC_PRODS	3u
#define CONC_EVENTS	(CONC_PRODS * 1500 / 5 * (1 + 2 + 3 + 4 + 5))

/* Start CONC_PRODS producer threads on the channel of @h. */
static void
conc_start(struct fc_handle *h, struct prod_arg *pa, pthread_t *th,
	   unsigned ack_every)
{
	struct sl_err err = { 0 };
	unsigned i;

	for (i = 0; i < CONC_PRODS; i++) {
		pa[i] = (struct prod_arg){ .who = i, .ack_every = ack_every };
		pa[i].p = sl_channel_producer_open(h->ch, "r", &err);
		cr_assert_not_null(pa[i].p, "%s", err.msg);
	}
	cr_assert_eq(h->ch->ops->start(h->ch), 0);
	for (i = 0; i < CONC_PRODS; i++)
		pthread_create(&th[i], NULL, prod_main, &pa[i]);
}

/* Join them; each one's last commit is acknowledged. */
static void
conc_join(struct prod_arg *pa, pthread_t *th)
{
	unsigned i;

	for (i = 0; i < CONC_PRODS; i++) {
		pthread_join(th[i], NULL);
		cr_assert(fcu_wait_ack(pa[i].p, (uint64_t)pa[i].last, 10000));
	}
}

/*
 * Take from @c until CONC_EVENTS arrived (or 60 s passed), checking that
 * each producer's events come in its order, none twice (@next: the next
 * id of each). Returns the events taken.
 */
static uint64_t
conc_drain(struct sl_chan_consumer *c, uint64_t *next)
{
	uint64_t total = 0, deadline = sl_time_mono_ns() + 60 * SL_NS_PER_SEC;
	unsigned k;

	while (total < CONC_EVENTS && sl_time_mono_ns() < deadline) {
		struct sl_take *t = sl_channel_take(c, 100);

		if (!t) {
			sl_time_sleep_ns(200 * 1000);
			continue;
		}
		for (k = 0; k < t->nb_evs; k++) {
			uint64_t id = fcu_ev_check(&t->evs[k]);
			unsigned who = (unsigned)(id >> 32);

			cr_assert_lt(who, CONC_PRODS);
			cr_assert_eq(id & 0xffffffffu, next[who],
				     "producer %u order", who);
			next[who]++;
		}
		total += t->nb_evs;
		cr_assert_eq(sl_channel_take_commit(c, t), 0);
	}
	return total;
}

Test(file_channel, concurrent_producers_keep_their_order_and_lose_nothing)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_consumer *c;
	struct prod_arg pa[CONC_PRODS];
	pthread_t th[CONC_PRODS];
	uint64_t next[CONC_PRODS] = { 0 };
	unsigned i;
	const char *kv[] = { "maxFileSize=262144", "capacity=5000",
			     "checkpointInterval=200", NULL };

	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 100, 3, &err);
	cr_assert_not_null(c, "%s", err.msg);
	conc_start(&h, pa, th, 0);
	cr_assert_eq(conc_drain(c, next), CONC_EVENTS);
	conc_join(pa, th);
	for (i = 0; i < CONC_PRODS; i++)
		cr_assert_eq(next[i], pa[i].sent);
	cr_assert_eq(sl_channel_size(h.ch), 0);
	/* Records wait in the rings until written: 64 MiB each. */
	cr_assert_eq(stat_of(h.ch, "ring_bytes"), 64 << 20);
	fcu_close(&h);
}

/*
 * directIO: producers copy their commits into the open group themselves,
 * and leave them to the writer when the lock is taken, the group is full
 * (16 KiB groups) or the segment (256 KiB) ends: each event counted once
 * by one of the two (with copyOnCommit=false, all by the writer). After a
 * crash every acknowledged event is read back from the segments (the
 * cache is gone), each producer's in its order: no commit went into a
 * group after it was written.
 */
static void
direct_commits_run(bool copy)
{
	char *d = fcu_tmpdir("/var/tmp");
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_consumer *c;
	struct prod_arg pa[CONC_PRODS];
	pthread_t th[CONC_PRODS];
	struct dlog_recovery rec;
	uint64_t next[CONC_PRODS] = { 0 }, by_commit, by_writer;
	unsigned i;
	const char *kv[] = { "maxFileSize=262144", "capacity=20000",
			     "checkpointInterval=200", "directIO=true",
			     "groupCommitBytes=16384",
			     "directCacheBytes=1048576",
			     copy ? "copyOnCommit=true" : "copyOnCommit=false",
			     copy ? NULL : "ringBytes=1048576", NULL };

	if (!direct_io_ok(d)) {
		fcu_rmrf(d);
		free(d);
		return;
	}
	/*
	 * Producers wait for an ack every 25 transactions: run ahead of
	 * the writer, they would leave nearly all in their rings (a group
	 * holds 16 KiB); after the wait the group behind is open.
	 */
	fcu_open(&h, d, kv, NULL);
	conc_start(&h, pa, th, 25);
	conc_join(pa, th);
	by_commit = stat_of(h.ch, "direct_commit_copies");
	by_writer = stat_of(h.ch, "direct_writer_copies");
	cr_log_info("%u events: %llu copied at commit, %llu by the writer",
		    CONC_EVENTS, (unsigned long long)by_commit,
		    (unsigned long long)by_writer);
	cr_assert_eq(by_commit + by_writer, CONC_EVENTS);
	if (copy) {
		cr_assert_gt(by_commit, 0);
		/* The first commit finds no segment open yet, nor a group. */
		cr_assert_gt(by_writer, 0);
		/* A ring only stages a commit: 4 MiB each. */
		cr_assert_eq(stat_of(h.ch, "ring_bytes"), 4 << 20);
	} else {
		cr_assert_eq(by_commit, 0);
		cr_assert_eq(stat_of(h.ch, "ring_bytes"), 1 << 20);
	}
	/* ... and commits met segment ends, which only the writer closes. */
	cr_assert_gt(stat_of(h.ch, "segments_created"), 4);
	fcu_crash(&h);

	fcu_open(&h, d, kv, NULL);
	sl_file_channel_recovery(h.ch, &rec);
	cr_assert_eq(rec.replayed, CONC_EVENTS);
	cr_assert_eq(rec.lost_events, 0);
	c = sl_channel_consumer_open(h.ch, "k1", 100, 3, &err);
	cr_assert_not_null(c, "%s", err.msg);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	cr_assert_eq(conc_drain(c, next), CONC_EVENTS);
	for (i = 0; i < CONC_PRODS; i++)
		cr_assert_eq(next[i], pa[i].sent);
	cr_assert_eq(stat_of(h.ch, "direct_cache_hits"), 0);
	fcu_close(&h);
	fcu_rmrf(d);
	free(d);
}

Test(file_channel, direct_io_commit_copies_are_on_disk_in_order)
{
	direct_commits_run(true);
}

Test(file_channel, direct_io_without_commit_copies_the_writer_copies_all)
{
	struct fc_handle h;
	const char *kv[] = { "directIO=true", "copyOnCommit=false", NULL };

	direct_commits_run(false);
	/* The rings are the default for records that wait: 64 MiB. */
	fcu_open(&h, dir, kv, NULL);
	cr_assert_eq(stat_of(h.ch, "ring_bytes"), 64 << 20);
	fcu_close(&h);
}

Test(file_channel, checkpoint_and_data_may_share_one_directory)
{
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	char ck[600], dd[600];
	uint64_t ids[20];
	int64_t t;

	snprintf(ck, sizeof(ck), "checkpointDir=%s/one", dir);
	snprintf(dd, sizeof(dd), "dataDirs=%s/one", dir);
	fcu_open(&h, dir, (const char *const[]){ ck, dd, NULL }, NULL);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	t = fcu_put_txn(p, 0, 10, 50);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 10000));
	fcu_close(&h);
	fcu_open(&h, dir, (const char *const[]){ ck, dd, NULL }, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 20, 1, &err);
	cr_assert_eq(fcu_drain(c, ids, 20, 10, 5000), 10);
	cr_assert_eq(ids[9], 9);
	fcu_close(&h);
}

/*
 * A producer's ring full only because the writer has not drained it yet is
 * backpressure (-EAGAIN), not a full channel (-ENOSPC): the same put goes
 * through once the writer runs, and no put is counted as refused for it.
 */
Test(file_channel, a_momentarily_full_ring_is_eagain_not_enospc)
{
	const char *kv[] = { "ringBytes=65536", NULL };
	struct fc_handle h;
	struct sl_err err = { 0 };
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c;
	uint64_t ids[256];
	int64_t t = 0;
	unsigned i;

	fcu_open(&h, dir, kv, NULL);
	c = sl_channel_consumer_open(h.ch, "k1", 64, 1, &err);
	p = sl_channel_producer_open(h.ch, "r1", &err);
	cr_assert_not_null(p, "%s", err.msg);
	/* No writer yet: the ring (64 KiB) fills after some 1 KiB events. */
	for (i = 0; i < 256; i++) {
		t = fcu_put_txn(p, i, 1, 1024);
		if (t < 0)
			break;
	}
	cr_assert_eq(t, -EAGAIN, "ring full: %lld after %u", (long long)t, i);
	cr_assert_gt(i, 0);
	cr_assert_lt(i, 64);
	cr_assert_eq(stat_of(h.ch, "put_full_count"), 0);
	cr_assert_eq(stat_of(h.ch, "ring_full"), 1);
	cr_assert_eq(stat_of(h.ch, "ring_bytes"), 65536);
	cr_assert_eq(h.ch->ops->start(h.ch), 0);
	/* The writer drains the ring: the same event goes in now. */
	do {
		t = fcu_put_txn(p, i, 1, 1024);
		if (t == -EAGAIN)
			sl_time_sleep_ns(SL_NS_PER_MS);
	} while (t == -EAGAIN);
	cr_assert_eq(t, (int64_t)i + 1);
	cr_assert(fcu_wait_ack(p, (uint64_t)t, 20000));
	cr_assert_eq(fcu_drain(c, ids, 256, i + 1, 5000), (size_t)i + 1);
	for (unsigned k = 0; k <= i; k++)
		cr_assert_eq(ids[k], k);
	cr_assert_eq(stat_of(h.ch, "put_full_count"), 0);
	fcu_close(&h);
}
