/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dlog_bench: the file channel alone. For each group size G, a producer
 * appends 1 KiB records in transactions of G and commits them (a sink
 * thread takes and commits behind it) until TOTAL bytes are acknowledged;
 * beside it, the ceiling on the same disk: a plain loop of one write of
 * G records + fdatasync, appending to a new file (plain) and overwriting a
 * file written beforehand (plain-prealloc, data-only syncs). One line per
 * case: records/s, MB/s, fdatasync p50/p99, and the channel's share of
 * both ceilings' MB/s.
 *
 *   dlog_bench [-d DIR] [-m MB_PER_CASE] [-g G1,G2,...] [-r RECORD_BYTES]
 *              [-s SEGMENT_MB] [-n REPEATS] [-R RESTART_RECORDS]
 *              [-o] (O_DIRECT for both) [-k pac] (the cases to run: p plain,
 *              a plain-prealloc, c the channel; default all three)
 * Each case runs REPEATS times, plain and channel interleaved; the median
 * run of each is printed, and the channel's line adds the median of the
 * REPEATS pairs' own ratios (vs_plain_pairs). Then the restart time of a channel holding
 * RESTART_RECORDS records (default 262144; 0 skips it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sl_channel.h"
#include "sl_time.h"

static unsigned seg_mb = 16;

struct result {
	double secs;
	uint64_t records;
	uint64_t bytes;
	uint64_t p50_us, p99_us;
	uint64_t syncs;
	uint64_t cpu_us;	/* user + system, every thread of the process */
	uint64_t fresh;		/* channel: segments new, not from a spare */
};

static uint64_t
cpu_now_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The ceiling: write G records, fdatasync, repeat. @prealloc: into a file
 * written whole (and synced) beforehand, so each fdatasync flushes data
 * only (no size or extent change): the strictest ceiling.
 */
static int
run_plain(const char *dir, unsigned group, unsigned rec, uint64_t total,
	  bool direct, bool prealloc, struct result *res)
{
	char path[1200];
	size_t len = (size_t)group * rec;
	uint64_t nb = total / len, i, off = 0, t0, t;
	uint64_t *lat = calloc(nb ? nb : 1, sizeof(*lat));
	uint8_t *buf;
	int fd;

	if (snprintf(path, sizeof(path), "%s/plain.bench", dir) >=
	    (int)sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0),
		  0644);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, len) != 0) {
		fprintf(stderr, "dlog_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(buf, 'x', len);
	for (i = 0; prealloc && i < nb; i++)
		if (pwrite(fd, buf, len, (off_t)(i * len)) != (ssize_t)len) {
			perror("dlog_bench: prealloc");
			return -1;
		}
	if (prealloc && fsync(fd) < 0) {
		perror("dlog_bench: fsync");
		return -1;
	}
	res->cpu_us = cpu_now_us();
	t0 = sl_time_mono_ns();
	for (i = 0; i < nb; i++) {
		if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) {
			perror("dlog_bench: write");
			return -1;
		}
		off += len;
		t = sl_time_mono_ns();
		if (fdatasync(fd) < 0) {
			perror("dlog_bench: fdatasync");
			return -1;
		}
		lat[i] = (sl_time_mono_ns() - t) / 1000;
	}
	res->secs = (double)(sl_time_mono_ns() - t0) / 1e9;
	res->cpu_us = cpu_now_us() - res->cpu_us;
	res->records = nb * group;
	res->bytes = nb * len;
	res->syncs = nb;
	qsort(lat, nb, sizeof(*lat), u64_cmp);
	res->p50_us = nb ? lat[nb / 2] : 0;
	res->p99_us = nb ? lat[nb * 99 / 100] : 0;
	close(fd);
	unlink(path);
	free(lat);
	free(buf);
	return 0;
}

struct stat_pick {
	struct sl_stats_sink base;
	const char *want;
	uint64_t val;
};

static void
pick_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
	 enum sl_stat_kind k, enum sl_stat_section sec)
{
	struct stat_pick *p = (struct stat_pick *)s;

	if (strcmp(name, p->want) == 0)
		p->val = v;
}

static void
pick_str(struct sl_stats_sink *s, const char *n, const char *v,
	 enum sl_stat_section sec)
{
}

static void
pick_f64(struct sl_stats_sink *s, const char *n, double v,
	 enum sl_stat_section sec)
{
}

struct drainer {
	struct sl_chan_consumer *c;
	int stop;
};

static void *
drain_main(void *arg)
{
	struct drainer *d = arg;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		struct sl_take *t = sl_channel_take(d->c, 1000);

		if (!t) {
			/* Woken by the writer's publish (1 ms: sees stop). */
			int rc = sl_channel_consumer_wait(d->c, 1,
							  SL_NS_PER_MS);

			if (rc != 0 && rc != -ETIMEDOUT && rc != -EINTR)
				sl_time_sleep_ns(100 * 1000);
			continue;
		}
		sl_channel_take_commit(d->c, t);
	}
	return NULL;
}

static struct sl_channel *
open_channel(const char *dir, unsigned group, unsigned rec, bool direct,
	     unsigned seg, void **settings)
{
	const struct sl_channel_ops *ops = &sl_file_channel_ops;
	char kv[8][1300];
	struct sl_prop pv[8];
	struct sl_props props = { .comp = "bench.channels.c1", .v = pv,
				  .file = "dlog_bench", .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	struct sl_channel *ch;
	unsigned i, n = 0;

	if (snprintf(kv[n++], 1300, "checkpointDir=%s/ck", dir) >= 1300 ||
	    snprintf(kv[n++], 1300, "dataDirs=%s/data", dir) >= 1300)
		return NULL;
	snprintf(kv[n++], 1300, "groupCommitBytes=%u",
		 group * (rec + 64) + 8192);
	snprintf(kv[n++], 1300, "maxFileSize=%u", seg << 20);
	snprintf(kv[n++], 1300, "transactionCapacity=%u", group);
	snprintf(kv[n++], 1300, "directIO=%s", direct ? "true" : "false");
	snprintf(kv[n++], 1300, "ringBytes=%u", 64u << 20);
	snprintf(kv[n++], 1300, "minimumRequiredSpace=0");
	for (i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');

		*eq = '\0';
		pv[i] = (struct sl_prop){ .key = kv[i], .val = eq + 1,
					  .file = "dlog_bench" };
	}
	props.n = n;
	*settings = calloc(1, ops->settings_size);
	if (sl_keys_apply(ops->keys, *settings, &props, &diag) != 0) {
		fprintf(stderr, "dlog_bench: %s\n", diag.v[0].text);
		return NULL;
	}
	sl_diag_free(&diag);
	ch = ops->create("c1", *settings, &props, &diag, &err);
	if (!ch)
		fprintf(stderr, "dlog_bench: %s\n", err.msg);
	return ch;
}

/*
 * The ring is full: wait as a source does, for the writer's "room again"
 * (its ring half drained), rather than re-copying a transaction's records
 * every few microseconds only to roll them back.
 */
static int
wait_room(struct sl_chan_producer *p)
{
	struct pollfd pfd = { .fd = sl_channel_producer_room_fd(p),
			      .events = POLLIN };
	uint64_t n;

	if (sl_channel_producer_room_arm(p) != 0)
		return 0;	/* room already: retry */
	/* 10 ms: the safety net sl_channel.h asks for. */
	if (poll(&pfd, 1, 10) > 0 && read(pfd.fd, &n, sizeof(n)) < 0 &&
	    errno != EAGAIN) {
		perror("dlog_bench: room eventfd");
		return -1;
	}
	return 0;
}

/* A file channel with one producer and a sink thread behind it. */
struct chan_run {
	struct sl_channel *ch;
	struct sl_chan_producer *p;
	struct drainer d;
	pthread_t th;
	void *settings;
	uint8_t *body;
	struct sl_event ev;
	unsigned group;
	int64_t ticket;
};

static uint64_t
stat_get(struct sl_channel *ch, const char *name)
{
	struct stat_pick pick = { { pick_u64, pick_str, pick_f64 } };

	pick.want = name;
	sl_channel_stats_emit(ch, &pick.base);
	return pick.val;
}

/* Open and start; @drain: a sink thread takes and commits behind. */
static int
chan_open(struct chan_run *cr, const char *dir, unsigned group, unsigned rec,
	  bool direct, unsigned seg, bool drain)
{
	struct sl_err err = { 0 };

	*cr = (struct chan_run){ .group = group };
	cr->ch = open_channel(dir, group, rec, direct, seg, &cr->settings);
	if (!cr->ch)
		return -1;
	if (drain)
		cr->d.c = sl_channel_consumer_open(cr->ch, "drain", 1000, 1,
						   &err);
	cr->p = sl_channel_producer_open(cr->ch, "bench", &err);
	if ((drain && !cr->d.c) || !cr->p || cr->ch->ops->start(cr->ch) < 0) {
		fprintf(stderr, "dlog_bench: %s\n", err.msg);
		return -1;
	}
	/* A body of rec bytes encodes to rec + 8 bytes in the log. */
	cr->body = malloc(rec);
	memset(cr->body, 'x', rec);
	cr->ev = (struct sl_event){ .body = cr->body, .body_len = rec - 8 };
	if (drain)
		pthread_create(&cr->th, NULL, drain_main, &cr->d);
	return 0;
}

/* Put @nb transactions and wait until the last is acknowledged. */
static int
chan_batch(struct chan_run *cr, uint64_t nb)
{
	uint64_t i;
	unsigned k;
	int64_t t;

	for (i = 0; i < nb; i++) {
		do {
			sl_channel_put_begin(cr->p);
			for (k = 0; k < cr->group; k++)
				if (sl_channel_put(cr->p, &cr->ev) < 0)
					break;
			if (k < cr->group) {
				sl_channel_put_rollback(cr->p);
				t = -ENOSPC;
			} else {
				t = sl_channel_put_commit(cr->p);
			}
			if (t == -ENOSPC && wait_room(cr->p) < 0)
				return -1;
		} while (t == -ENOSPC);
		if (t < 0) {
			fprintf(stderr, "dlog_bench: commit: %s\n",
				strerror((int)-t));
			return -1;
		}
		cr->ticket = t;
	}
	/* Woken by the writer's eventfd at each acknowledged group. */
	while (sl_channel_producer_acked(cr->p) < (uint64_t)cr->ticket) {
		struct pollfd pfd = { .fd = sl_channel_producer_fd(cr->p),
				      .events = POLLIN };
		uint64_t n;

		if (poll(&pfd, 1, 10) > 0 && read(pfd.fd, &n, sizeof(n)) < 0 &&
		    errno != EAGAIN) {
			perror("dlog_bench: eventfd");
			return -1;
		}
	}
	return 0;
}

/* One timed batch of @total bytes in transactions of the group size. */
static int
chan_measure(struct chan_run *cr, unsigned rec, uint64_t total,
	     struct result *res)
{
	uint64_t nb = total / ((uint64_t)cr->group * rec), t0;
	uint64_t created = stat_get(cr->ch, "segments_created");
	uint64_t reused = stat_get(cr->ch, "segments_reused");
	uint64_t syncs = stat_get(cr->ch, "fdatasyncs");

	res->cpu_us = cpu_now_us();
	t0 = sl_time_mono_ns();
	if (chan_batch(cr, nb) < 0)
		return -1;
	res->secs = (double)(sl_time_mono_ns() - t0) / 1e9;
	res->cpu_us = cpu_now_us() - res->cpu_us;
	res->records = nb * cr->group;
	res->bytes = nb * cr->group * (uint64_t)rec;
	/* The last 1024 syncs' percentiles: this batch's, or most of them. */
	res->p50_us = stat_get(cr->ch, "fdatasync_p50_us");
	res->p99_us = stat_get(cr->ch, "fdatasync_p99_us");
	res->syncs = stat_get(cr->ch, "fdatasyncs") - syncs;
	res->fresh = (stat_get(cr->ch, "segments_created") - created) -
		     (stat_get(cr->ch, "segments_reused") - reused);
	return 0;
}

static void
chan_close(struct chan_run *cr)
{
	__atomic_store_n(&cr->d.stop, 1, __ATOMIC_RELEASE);
	if (cr->d.c)
		pthread_join(cr->th, NULL);
	cr->ch->ops->stop(cr->ch);
	cr->ch->ops->destroy(cr->ch);
	sl_keys_free(sl_file_channel_ops.keys, cr->settings);
	free(cr->settings);
	free(cr->body);
}

/* A new channel: transactions of G records into new segments. */
static int
run_channel(const char *dir, unsigned group, unsigned rec, uint64_t total,
	    bool direct, struct result *res)
{
	struct chan_run cr;
	int rc;

	if (chan_open(&cr, dir, group, rec, direct, seg_mb, true) < 0)
		return -1;
	rc = chan_measure(&cr, rec, total, res);
	chan_close(&cr);
	return rc;
}

/*
 * A channel that has been running: its consumed segments checkpointed and
 * kept as spares (two), which the next batch writes into again. Segments
 * are sized so that one batch fits in the two; the warm-up writes three.
 */
static unsigned
steady_seg_mb(uint64_t total)
{
	return SL_MAX(seg_mb, (unsigned)((total >> 20) + 1) / 2 + 1);
}

static int
steady_open(struct chan_run *cr, const char *dir, unsigned group,
	    unsigned rec, uint64_t total, bool direct)
{
	unsigned seg = steady_seg_mb(total);

	if (chan_open(cr, dir, group, rec, direct, seg, true) < 0 ||
	    chan_batch(cr, ((uint64_t)seg << 20) * 3 /
			   ((uint64_t)group * rec)) < 0)
		return -1;
	return 0;
}

/* Wait (up to 5 s) for two spares: the sink's checkpoint recycles them. */
static void
steady_wait_spares(struct chan_run *cr)
{
	uint64_t deadline = sl_time_mono_ns() + 5 * SL_NS_PER_SEC;

	while (stat_get(cr->ch, "segments_recycled") -
	       stat_get(cr->ch, "segments_reused") < 2 &&
	       sl_time_mono_ns() < deadline)
		sl_time_sleep_ns(10 * SL_NS_PER_MS);
}

static double
rate(const struct result *r)
{
	return (double)r->bytes / r->secs;
}

/* By throughput, for the median. */
static int
res_cmp(const void *a, const void *b)
{
	double rx = rate(a), ry = rate(b);

	return rx < ry ? -1 : rx > ry;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Drop @dir's files from the page cache, so a restart reads the disk. */
static void
drop_cache(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char path[1400];

	while (dh && (de = readdir(dh))) {
		int fd;

		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	if (dh)
		closedir(dh);
}

/*
 * Restart time of a full channel: @nb records put and acknowledged, a
 * graceful stop (the checkpoint still at the first event), the segments
 * dropped from the page cache, then the time create() takes to verify and
 * index them all.
 */
static int
run_restart(const char *dir, unsigned rec, uint64_t nb)
{
	struct chan_run cr;
	struct sl_channel *ch;
	char data[1200];
	void *settings;
	uint64_t t0, ms;

	/* No sink: the checkpoint stays at the first event. */
	nb = (nb + 999) / 1000 * 1000;	/* whole transactions of 1000 */
	if (chan_open(&cr, dir, 1000, rec, false, seg_mb, false) < 0 ||
	    chan_batch(&cr, nb / 1000) < 0)
		return -1;
	chan_close(&cr);
	if (snprintf(data, sizeof(data), "%s/data", dir) >= (int)sizeof(data))
		return -1;
	drop_cache(data);
	t0 = sl_time_mono_ns();
	ch = open_channel(dir, 1000, rec, false, seg_mb, &settings);
	if (!ch)
		return -1;
	ms = (sl_time_mono_ns() - t0) / SL_NS_PER_MS;
	printf("dlog_bench case=restart        records=%llu MB=%.0f "
	       "replayed=%llu restart_ms=%llu (cold page cache, full scan of "
	       "every record's CRC)\n", (unsigned long long)nb,
	       (double)nb * rec / 1e6,
	       (unsigned long long)sl_channel_size(ch),
	       (unsigned long long)ms);
	ch->ops->destroy(ch);
	sl_keys_free(sl_file_channel_ops.keys, settings);
	free(settings);
	return 0;
}

/*
 * One case's line; a channel's (@pairs_name set) adds its share of the
 * @plain and @pre medians' MB/s where they ran (non-NULL), and the median
 * of its pairs' ratios.
 */
static void
print(const char *name, unsigned group, const struct result *r,
      const struct result *plain, const struct result *pre,
      const char *pairs_name, double pairs)
{
	printf("dlog_bench case=%-19s group=%-5u records/s=%-9.0f "
	       "MB/s=%-7.1f syncs=%-6llu fdatasync_p50_us=%-6llu "
	       "fdatasync_p99_us=%-6llu cpu_us/MB=%-5.0f",
	       name, group, (double)r->records / r->secs,
	       (double)r->bytes / r->secs / 1e6, (unsigned long long)r->syncs,
	       (unsigned long long)r->p50_us, (unsigned long long)r->p99_us,
	       (double)r->cpu_us / ((double)r->bytes / 1e6));
	if (pairs_name) {
		printf(" fresh_segments=%llu", (unsigned long long)r->fresh);
		if (plain)
			printf(" vs_plain=%.0f%%", rate(r) / rate(plain) * 100);
		if (pre)
			printf(" vs_prealloc=%.0f%%", rate(r) / rate(pre) * 100);
		if (pairs >= 0)
			printf(" %s=%.0f%%", pairs_name, pairs * 100);
	}
	printf("\n");
	fflush(stdout);
}

/* The median of the pairs' ratios @a[k] / @b[k]; -1 without pairs. */
static double
pairs_median(const struct result *a, const struct result *b, unsigned reps)
{
	double v[16];
	unsigned k;

	for (k = 0; k < reps; k++)
		v[k] = rate(&a[k]) / rate(&b[k]);
	qsort(v, reps, sizeof(v[0]), dbl_cmp);
	return v[reps / 2];
}

int
main(int argc, char **argv)
{
	const char *base = "/var/tmp", *groups = "16,64,256,1024";
	unsigned rec = 1024, mb = 64, reps = 3;
	uint64_t restart_records = 262144;
	bool direct = false, do_plain = true, do_pre = true, do_chan = true;
	bool do_steady = true;
	char dir[1024], *list, *tok, *save = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "d:m:g:r:s:n:R:ok:h")) != -1) {
		switch (opt) {
		case 's': seg_mb = (unsigned)atoi(optarg); break;
		case 'n': reps = (unsigned)atoi(optarg); break;
		case 'R':
			restart_records = strtoull(optarg, NULL, 0);
			break;
		case 'd': base = optarg; break;
		case 'm': mb = (unsigned)atoi(optarg); break;
		case 'g': groups = optarg; break;
		case 'r': rec = (unsigned)atoi(optarg); break;
		case 'o': direct = true; break;
		case 'k':
			do_plain = strchr(optarg, 'p') != NULL;
			do_pre = strchr(optarg, 'a') != NULL;
			do_chan = strchr(optarg, 'c') != NULL;
			do_steady = strchr(optarg, 's') != NULL;
			break;
		default:
			fprintf(stderr, "usage: dlog_bench [-d DIR] [-m MB] "
				"[-g G1,G2,..] [-r RECORD_BYTES] [-s SEGMENT_MB] [-n REPEATS] [-R RESTART_RECORDS] "
				"[-o] [-k pacs]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (reps < 1 || reps > 16) {
		fprintf(stderr, "dlog_bench: -n must be 1..16\n");
		return 2;
	}
	if (rec < 64) {
		fprintf(stderr, "dlog_bench: -r must be >= 64\n");
		return 2;
	}
	if (snprintf(dir, sizeof(dir), "%s/dlog-bench-XXXXXX", base) >=
	    (int)sizeof(dir) || !mkdtemp(dir)) {
		perror("dlog_bench: mkdtemp");
		return 1;
	}
	list = strdup(groups);
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned g = (unsigned)atoi(tok), k;
		uint64_t total = (uint64_t)mb << 20;
		struct result plain[16] = { 0 }, pre[16] = { 0 },
			      chan[16] = { 0 }, steady[16] = { 0 };
		const struct result *mp, *ma;
		double pc = -1, ps = -1;
		struct chan_run st;
		char sub[1100];

		if (g == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/g%u.steady", dir, g) >=
		    (int)sizeof(sub) ||
		    (do_steady && steady_open(&st, sub, g, rec, total,
					      direct) < 0))
			return 1;
		/* Interleaved repeats; the median of each is reported. */
		for (k = 0; k < reps; k++) {
			if ((do_plain && run_plain(dir, g, rec, total, direct,
						   false, &plain[k]) < 0) ||
			    (do_pre && run_plain(dir, g, rec, total, direct,
						 true, &pre[k]) < 0))
				return 1;
			if (snprintf(sub, sizeof(sub), "%s/g%u.%u", dir, g,
				     k) >= (int)sizeof(sub))
				return 1;
			if (do_chan && run_channel(sub, g, rec, total, direct,
						   &chan[k]) < 0)
				return 1;
			if (do_steady) {
				steady_wait_spares(&st);
				if (chan_measure(&st, rec, total,
						 &steady[k]) < 0)
					return 1;
			}
		}
		if (do_steady)
			chan_close(&st);
		/*
		 * Each pair ran seconds apart, on the same disk's mood: the
		 * median of their ratios. A new channel is paired with the
		 * plain loop (both allocate as they go), a running one with
		 * plain-prealloc (both overwrite written blocks).
		 */
		if (do_chan && do_plain)
			pc = pairs_median(chan, plain, reps);
		if (do_steady && do_pre)
			ps = pairs_median(steady, pre, reps);
		qsort(plain, reps, sizeof(plain[0]), res_cmp);
		qsort(pre, reps, sizeof(pre[0]), res_cmp);
		qsort(chan, reps, sizeof(chan[0]), res_cmp);
		qsort(steady, reps, sizeof(steady[0]), res_cmp);
		mp = do_plain ? &plain[reps / 2] : NULL;
		ma = do_pre ? &pre[reps / 2] : NULL;
		if (mp)
			print("plain", g, mp, NULL, NULL, NULL, -1);
		if (ma)
			print("plain-prealloc", g, ma, NULL, NULL, NULL, -1);
		if (do_chan)
			print("file_channel", g, &chan[reps / 2], mp, ma,
			      "vs_plain_pairs", pc);
		if (do_steady)
			print("file_channel-steady", g, &steady[reps / 2], mp,
			      ma, "vs_prealloc_pairs", ps);
	}
	free(list);
	if (restart_records) {
		char sub[1100];

		if (snprintf(sub, sizeof(sub), "%s/restart", dir) >=
		    (int)sizeof(sub) || run_restart(sub, rec,
						    restart_records) < 0) {
			fprintf(stderr, "dlog_bench: restart case failed\n");
			return 1;
		}
	}
	{
		char cmd[1100];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "dlog_bench: cannot remove %s\n", dir);
	}
	return 0;
}
