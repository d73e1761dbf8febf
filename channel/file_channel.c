/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable channel (Flume's `file`): producers put into their own SPSC
 * rings; one writer thread drains the rings into an append-only log of
 * preallocated, recycled segment files through io_uring, one fdatasync per
 * group of writes (group commit), and only then makes the records visible
 * to sinks and advances the producers' acks (eventfd). Sinks read records
 * straight from the mapped segments (with directIO, from the synced group
 * buffers the writer keeps while it can, fc_cache_add, since O_DIRECT
 * leaves nothing in the page cache); their take commits move the head that
 * the writer checkpoints, and a segment is recycled only once a durable
 * checkpoint has passed it. A sink sleeping in consumer_wait() is woken by
 * the writer's publish; a producer armed for room by a take commit or by
 * the writer draining its ring. Threads: producers (put), sink runners
 * (take), the writer (all disk I/O), the control thread (create, stats,
 * stop).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan_int.h"
#include "dlog_int.h"
#include "sl_log.h"
#include "sl_ring.h"
#include "sl_time.h"

#define FC_MAX_PRODUCERS	128
#define FC_MAX_CONSUMERS	16
#define FC_MAX_DIRS		16
#define FC_FIXED_BUF_MAX	((size_t)1 << 30)	/* io_uring's limit */
#define FC_PREFIX		8u	/* ring record: u64 ticket | TXN_END */
#define FC_RING_MIN		(1u << 16)
#define FC_RING_BUFFERED	(64u << 20)	/* ringBytes 0: records wait
						 * there until written */
#define FC_RING_DIRECT		(4u << 20)	/* ... until copied at commit */
#define FC_TXN_END_BIT		(1ull << 63)
#define FC_LAT_SAMPLES		1024u
#define FC_SPARES		2u
#define FC_IDLE_MS		100
#define FC_SPACE_CHECK_NS	(1000 * SL_NS_PER_MS)
#define FC_BLOCKED_RETRY_NS	(100 * SL_NS_PER_MS)
#define FC_RECLAIM_CKPT_NS	(200 * SL_NS_PER_MS)
#define FC_DEFAULT_BASE		"/var/lib/sluice"
#define FC_ZONE			(4u << 20)	/* zeroed ahead of the data */
#define FC_ZONE_MAX_GROUP	(256u << 10)	/* ... for groups below this */

struct fc_settings {
	char *checkpoint_dir;
	char *data_dirs;
	int64_t capacity;
	int64_t tx_capacity;
	uint64_t max_file_size;
	uint64_t min_required_space;
	int64_t keep_alive;
	int64_t checkpoint_interval;
	bool use_dual;
	char *backup_dir;
	bool checkpoint_on_close;
	bool fsync_per_txn;
	int64_t fsync_interval;
	bool replay_v1;
	bool fast_replay;
	uint64_t group_bytes;
	int64_t group_delay_us;
	bool direct_io;
	bool copy_on_commit;
	uint64_t direct_cache_bytes;
	bool sqpoll;
	uint64_t ring_bytes;
};

#define FC_OFF(f) offsetof(struct fc_settings, f)

static const struct sl_key fc_keys[] = {
	{ "checkpointDir", SL_KEY_STR, NULL, FC_OFF(checkpoint_dir),
	  .help = "checkpoint directory (default /var/lib/sluice/AGENT/"
	  "CHANNEL/checkpoint; a per-user directory when not root)" },
	{ "dataDirs", SL_KEY_STR, NULL, FC_OFF(data_dirs),
	  .help = "comma-separated log directories; segments rotate across "
	  "them (default .../CHANNEL/data)" },
	{ "capacity", SL_KEY_INT, "1000000", FC_OFF(capacity), 1, INT32_MAX,
	  .help = "most events the channel holds" },
	{ "transactionCapacity", SL_KEY_INT, "10000", FC_OFF(tx_capacity),
	  1, INT32_MAX, .help = "most events one put or take transaction "
	  "holds" },
	{ "maxFileSize", SL_KEY_BYTES, "2146435071", FC_OFF(max_file_size),
	  DLOG_SEG_MIN, (int64_t)1 << 40, .help = "segment file size "
	  "(preallocated; rounded down to 4 KiB)" },
	{ "minimumRequiredSpace", SL_KEY_BYTES, "524288000",
	  FC_OFF(min_required_space), 0, INT64_MAX, .help = "below this "
	  "much free space puts are refused (backpressure)" },
	{ "keep-alive", SL_KEY_INT, "3", FC_OFF(keep_alive), 0, 86400,
	  .help = "accepted; sluice never blocks a source thread: a full "
	  "channel is backpressure at once" },
	{ "checkpointInterval", SL_KEY_INT, "30000",
	  FC_OFF(checkpoint_interval), 100, 86400000, .help = "ms between "
	  "checkpoints (also taken when a segment can be recycled)" },
	{ "useDualCheckpoints", SL_KEY_BOOL, "false", FC_OFF(use_dual),
	  .help = "also write the checkpoint to backupCheckpointDir" },
	{ "backupCheckpointDir", SL_KEY_STR, NULL, FC_OFF(backup_dir),
	  .help = "second checkpoint directory (default .../CHANNEL/"
	  "backup)" },
	{ "checkpointOnClose", SL_KEY_BOOL, "true",
	  FC_OFF(checkpoint_on_close), .help = "checkpoint on graceful "
	  "stop" },
	{ "fsyncPerTransaction", SL_KEY_BOOL, "true", FC_OFF(fsync_per_txn),
	  .help = "accepted; sluice always syncs before acknowledging, in "
	  "groups (see groupCommitBytes)" },
	{ "fsyncInterval", SL_KEY_INT, "5", FC_OFF(fsync_interval), 1, 86400,
	  .help = "accepted; see fsyncPerTransaction" },
	{ "use-log-replay-v1", SL_KEY_BOOL, "false", FC_OFF(replay_v1),
	  .help = "accepted; one replay format" },
	{ "use-fast-replay", SL_KEY_BOOL, "false", FC_OFF(fast_replay),
	  .help = "accepted; replay is always a sequential scan" },
	{ "groupCommitBytes", SL_KEY_BYTES, "4194304", FC_OFF(group_bytes),
	  4096, (int64_t)1 << 30, .help = "sluice: most bytes written per "
	  "fdatasync (a transaction is never split)" },
	{ "groupCommitDelayUs", SL_KEY_INT, "0", FC_OFF(group_delay_us), 0,
	  1000000, .help = "sluice: how long the writer waits for a group "
	  "to fill before syncing a smaller one (0: never waits)" },
	{ "directIO", SL_KEY_BOOL, "false", FC_OFF(direct_io),
	  .help = "sluice: write segments with O_DIRECT (groups padded to "
	  "4 KiB)" },
	{ "copyOnCommit", SL_KEY_BOOL, "true", FC_OFF(copy_on_commit),
	  .help = "sluice, with directIO: a producer copies its commit into "
	  "the open group itself (false: the writer copies it from the "
	  "ring, for producers whose CPU is scarcer than the writer's)" },
	{ "directCacheBytes", SL_KEY_BYTES, "134217728",
	  FC_OFF(direct_cache_bytes), 0, (int64_t)1 << 40, .help = "sluice: "
	  "with directIO, the synced groups kept in memory (up to this "
	  "much) so that sinks read them there and not from the disk; a "
	  "group is dropped once no take holds it; 0: none" },
	{ "sqPoll", SL_KEY_BOOL, "false", FC_OFF(sqpoll),
	  .help = "sluice: io_uring with a kernel submission thread" },
	{ "ringBytes", SL_KEY_BYTES, "0", FC_OFF(ring_bytes),
	  0, 1 << 30, .help = "sluice: bytes of ring per producer "
	  "between it and the writer; a full ring refuses puts (-EAGAIN) "
	  "while a slow fdatasync runs (0: 64 MiB, 4 MiB with directIO; "
	  "else at least 64 KiB)" },
	SL_KEY_END,
};

/* Cross-key checks, reported as FILE:LINE before anything is created. */
static int
fc_validate(const void *settings, const struct sl_props *props,
	    struct sl_diag *diag)
{
	const struct fc_settings *set = settings;
	const struct sl_prop *p;
	int nb = 0;

	if (set->data_dirs && strspn(set->data_dirs, ", \t") ==
	    strlen(set->data_dirs)) {
		p = sl_props_get(props, "dataDirs");
		sl_diag_add(diag, SL_DIAG_ERROR, p ? p->file : props->file,
			    p ? p->line : props->line, "%s.dataDirs: names no "
			    "directory", props->comp);
		nb++;
	}
	if (set->use_dual && set->backup_dir && set->checkpoint_dir &&
	    strcmp(set->backup_dir, set->checkpoint_dir) == 0) {
		p = sl_props_get(props, "backupCheckpointDir");
		sl_diag_add(diag, SL_DIAG_ERROR, p ? p->file : props->file,
			    p ? p->line : props->line, "%s.backupCheckpointDir:"
			    " must differ from checkpointDir (%s)", props->comp,
			    set->checkpoint_dir);
		nb++;
	}
	if (set->ring_bytes != 0 && set->ring_bytes < FC_RING_MIN) {
		p = sl_props_get(props, "ringBytes");
		sl_diag_add(diag, SL_DIAG_ERROR, p ? p->file : props->file,
			    p ? p->line : props->line, "%s.ringBytes: %llu is "
			    "below the least a ring holds, %u (0: chosen by "
			    "directIO)", props->comp,
			    (unsigned long long)set->ring_bytes, FC_RING_MIN);
		nb++;
	}
	return nb;
}

static const char *const fc_aliases[] = {
	"org.apache.flume.channel.file.FileChannel",
	NULL,
};

struct fc_producer {
	struct sl_chan_producer base;
	struct file_channel *fc;
	unsigned id;
	struct sl_ring *ring;
	int efd;
	int room_fd;			/* eventfd: room again */
	uint32_t room_wait;		/* armed; cleared by whoever signals */
	uint64_t ticket;		/* last committed; producer's */
	uint8_t *last_prefix;
	uint32_t txn_events;
	uint32_t txn_attempts;
	uint64_t txn_bytes;
	uint64_t txn_log_bytes;
	/* Written by the writer with release; read with acquire. */
	uint64_t acked SL_CACHE_ALIGNED;
	/* The consumer's place in the ring: the writer's, or with directIO
	 * the producer's while it copies its commit (fill_lock held). */
	uint64_t w_pos SL_CACHE_ALIGNED;
	uint64_t w_acked;
	bool ack_wake;		/* writer: acked moved, eventfd not yet */
};

/*
 * A group commit: records bound for one segment, written with one or more
 * SQEs and then made durable by one fdatasync. Two alternate: one is
 * filled (with directIO, open to producers' commits) while the other is
 * written; once written its fdatasync runs in the background, the group
 * kept as syncg, and its buffer is the next group's.
 */
struct fc_group {
	uint8_t *buf;			/* DLOG_BLOCK-aligned */
	size_t cap;
	int buf_idx;			/* registered with the backend; -1 */
	/* buf is either the group's own buffer or, with directIO's cache,
	 * a piece of the cache's arena (fc_arena_take) */
	uint8_t *own_buf;
	size_t own_cap;
	int own_idx;
	bool in_arena;			/* buf is the arena's, from arena_off */
	size_t arena_off;
	size_t len;
	uint64_t base;			/* file offset of buf[0] */
	uint64_t end_off;		/* >0: an END record closes the segment */
	uint64_t seg;			/* table position of its segment */
	uint32_t seg_id;
	uint64_t limit;			/* where its segment's END goes */
	int fd;
	uint64_t first_seq;		/* next_seq when it was begun */
	uint64_t txn_end_seq;		/* durable_seq once it is synced */
	uint64_t events;
	bool direct;			/* filled as a copy in buf */
	bool ready;			/* padded, due to be written */
	bool written;			/* written whole, sync not yet done */
	/* Buffered mode: the group is pieces: its records in the producers'
	 * rings, released once written, plus side records in buf. */
	struct iovec *iov;
	unsigned nb_iov, cap_iov;
	size_t side;			/* bytes of buf used by side records */
	uint64_t rel[FC_MAX_PRODUCERS];	/* ring position to release */
	uint64_t pend[FC_MAX_PRODUCERS];	/* ticket acked per producer */
};

/*
 * directIO's read cache: a synced group, bytes [base, base + len) of
 * segment @seg, left where the writer copied them, at @off in the
 * cache's arena, for the sinks (fc_cache_add); an O_DIRECT write leaves
 * nothing in the page cache, so reading it from the segment is a disk
 * read.
 */
struct fc_cbuf {
	size_t off;			/* in the arena */
	uint64_t seg;			/* table position */
	uint64_t base, len;
	uint64_t first_seq, end_seq;	/* the events it holds */
};

enum fc_range_state {
	FC_R_TAKEN,
	FC_R_RETURNED,
	FC_R_DONE,
};

/* A run of events between the head and the read cursor, in log order. */
struct fc_range {
	uint64_t id;
	struct dlog_loc start, end;
	uint32_t nb_evs;
	uint64_t nb_bytes;
	enum fc_range_state state;
};

struct fc_take {
	struct sl_take pub;
	uint64_t range_id;
};

struct fc_consumer {
	struct sl_chan_consumer base;
	struct file_channel *fc;
	unsigned max_txn_events;
	unsigned max_inflight;
	unsigned first;
	unsigned nb_inflight;
	struct fc_take *txns;
	struct sl_event *evs;
	/* consumer_wait(): the futex word, 1 while it sleeps, and the
	 * events it waits for (takeable: durable, not taken). */
	uint32_t sleeping SL_CACHE_ALIGNED;
	uint64_t wake_want;
};

/* sluice's own counters; the writer writes, the control thread reads. */
struct fc_stats {
	uint64_t bytes_written;
	uint64_t fdatasyncs;
	uint64_t group_events;
	uint64_t group_bytes;
	uint64_t checkpoints;
	uint64_t ckpt_errors;
	uint64_t ckpt_backup_errors;
	uint64_t segments_created;
	uint64_t segments_reused;	/* ... of which were spares */
	uint64_t segments_recycled;	/* consumed, kept as a spare */
	uint64_t segments_deleted;
	uint64_t space_refusals;
	uint64_t ring_full;	/* puts told -EAGAIN: the writer lags */
	uint64_t cache_hits;	/* events taken from directIO's cache */
	uint64_t commit_copied;	/* events producers copied at commit */
	uint64_t writer_copied;	/* events the writer copied from rings */
	uint64_t cache_misses;	/* ... from the segment (the disk) */
	uint64_t cache_skips;	/* groups synced and not cached */
	uint64_t fixed_writes;	/* groups written from registered buffers */
	uint64_t lat_n;
	uint32_t lat_us[FC_LAT_SAMPLES];
};

struct file_channel {
	struct sl_channel base;
	struct fc_settings set;
	char *ckpt_dir;
	char *backup_dir;		/* NULL unless useDualCheckpoints */
	char *dirs[FC_MAX_DIRS];
	unsigned nb_dirs;
	int lock_fds[FC_MAX_DIRS + 2];
	unsigned nb_locks;
	struct dlog_io *io;
	bool own_io;
	uint8_t **fixed_bufs;		/* registered, by index: owned here */
	unsigned nb_fixed_bufs;
	bool direct;
	uint64_t seg_size;

	/* Shared: relaxed counters and flags, one write per transaction. */
	uint64_t size SL_CACHE_ALIGNED;
	uint64_t durable_seq SL_CACHE_ALIGNED;	/* release: writer */
	int unhealthy;
	int space_blocked;
	int space_low;
	int writer_sleeping;
	int wfd;
	uint32_t room_waiters;		/* producers armed for room */

	/* Take side mirrors for lock-free waits: written under lock. */
	uint64_t cursor_seq SL_CACHE_ALIGNED;	/* cursor.seq */
	uint64_t returned_evs;		/* events in RETURNED ranges */

	/* Take side and the segment table, under lock (once per take). */
	pthread_mutex_t lock;
	struct dlog_segtab tab;
	struct dlog_loc cursor;
	struct fc_range *ranges;	/* ranges_off entries into its buffer */
	size_t nb_ranges, cap_ranges, ranges_off;
	uint64_t next_range_id;
	/*
	 * directIO's cache, also under lock: cached groups in log order (a
	 * FIFO of cache_cap from cache_first), each where it lies in the
	 * arena, a ring of directCacheBytes the writer copies groups into
	 * one after the other (fc_arena_take). The arena's live bytes run
	 * from the oldest cached group's to arena_head (writer only),
	 * wrapping at arena_size; cache_cap is more entries than the arena
	 * can hold groups (each is at least a block), so the FIFO never
	 * fills.
	 */
	struct fc_cbuf *cache;
	unsigned cache_cap, cache_first, cache_n;
	uint64_t cache_bytes;		/* the cached groups' */
	uint8_t *arena;
	size_t arena_size, arena_head;
	int arena_idx;			/* registered buffer index, or -1 */
	size_t grp_cap;			/* a group's own buffer's size */

	pthread_mutex_t open_lock;	/* control plane only */
	struct fc_producer *prods[FC_MAX_PRODUCERS];
	unsigned nb_prods;		/* release: the writer reads prods */
	struct fc_consumer *cons[FC_MAX_CONSUMERS];
	unsigned nb_cons;

	/* The writer's state. */
	pthread_t writer;
	bool writer_running;
	int stop;			/* 1: drain and stop; 2: crash */
	int ckpt_req;
	uint64_t ckpt_gen;		/* bumped after each checkpoint */
	int ckpt_rc;
	struct fc_group grp[2];		/* filling/writing, and the next */
	unsigned cur;			/* grp[cur] is being filled */
	/* The group whose fdatasync is in flight (syncing), as it was when
	 * written: what publishing it needs. Its buffer is free again. */
	struct fc_group syncg;
	/*
	 * directIO: the group open for filling, which producers copy their
	 * commits into themselves while their records are still in their
	 * caches (fc_commit_copy); NULL when none is. It and what a fill
	 * changes (the open group, next_seq, each producer's w_pos and ring
	 * head) are under fill_lock; the writer holds it to fill and to
	 * close the group, producers only try it.
	 */
	pthread_mutex_t fill_lock;
	struct fc_group *filling;
	bool syncing;			/* syncg's fdatasync in flight */
	bool wake_due;			/* published: wakeups owed (writer) */
	uint64_t next_seq;
	uint32_t next_seg_id;
	uint64_t wpos;
	uint64_t active;		/* table position; UINT64_MAX: none */
	struct dlog_seg next;		/* created ahead (has_next) */
	bool has_next;
	unsigned next_dir;
	unsigned rr;			/* producer the next fill starts at */
	unsigned nb_spares[FC_MAX_DIRS];
	uint64_t next_ckpt_ns;
	uint64_t last_ckpt_ns;
	uint64_t next_space_ns;
	struct sl_log_ratelimit rl;

	struct dlog_recovery rec;
	struct fc_stats st;
};

static void fc_destroy(struct sl_channel *ch);

/* ---- directories and locks ---------------------------------------------- */

static int
mkdir_p(const char *path)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The agent's name is the first part of "a1.channels.c1" (props->comp), so
 * the default directories need no change to the channel interface.
 */
static char *
fc_default_base(const char *name, const struct sl_props *props)
{
	const char *comp = props && props->comp ? props->comp : NULL;
	const char *dot = comp ? strstr(comp, ".channels.") : NULL;
	int alen = dot ? (int)(dot - comp) : 7;
	const char *agent = dot ? comp : "default";
	const char *home = getenv("HOME"), *xdg = getenv("XDG_STATE_HOME");
	char *s = NULL;
	int rc = -1;

	if (geteuid() == 0)
		rc = asprintf(&s, "%s/%.*s/%s", FC_DEFAULT_BASE, alen, agent,
			      name);
	else if (xdg && *xdg)
		rc = asprintf(&s, "%s/sluice/%.*s/%s", xdg, alen, agent, name);
	else if (home && *home)
		rc = asprintf(&s, "%s/.local/state/sluice/%.*s/%s", home,
			      alen, agent, name);
	else
		rc = asprintf(&s, "/tmp/sluice-%u/%.*s/%s",
			      (unsigned)geteuid(), alen, agent, name);
	return rc < 0 ? NULL : s;
}

/* Take DIR/in_use.lock (Flume's name), saying who holds it. */
static int
fc_lock_dir(struct file_channel *fc, const char *dir, struct sl_err *err)
{
	char path[4096], who[256];
	unsigned i;
	int fd, n;

	for (i = 0; i < fc->nb_locks; i++) {
		char other[4096];
		ssize_t m;

		snprintf(other, sizeof(other), "/proc/self/fd/%d",
			 fc->lock_fds[i]);
		m = readlink(other, path, sizeof(path) - 1);
		if (m > 0) {
			path[m] = '\0';
			snprintf(other, sizeof(other), "%s/in_use.lock", dir);
			if (strcmp(path, other) == 0)
				return 0;	/* one directory, two roles */
		}
	}
	if (snprintf(path, sizeof(path), "%s/in_use.lock", dir) >=
	    (int)sizeof(path))
		return sl_err_set(err, ENAMETOOLONG, "channel file %s: "
				  "directory name too long: %s",
				  fc->base.name, dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_err_set(err, errno, "channel file %s: cannot create "
				  "%s: %s", fc->base.name, path,
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)pread(fd, who, sizeof(who) - 1, 0);
		who[n > 0 ? n : 0] = '\0';
		who[strcspn(who, "\n")] = '\0';
		close(fd);
		return sl_err_set(err, EBUSY, "channel file %s: %s is in use "
				  "by another channel (%s; lock file %s)",
				  fc->base.name, dir, who[0] ? who : "unknown",
				  path);
	}
	n = snprintf(who, sizeof(who), "pid %d channel %s\n", (int)getpid(),
		     fc->base.name);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, who, (size_t)n, 0) < 0)
		sl_log(SL_WARN, "channel file %s: cannot write %s: %s",
		       fc->base.name, path, strerror(errno));
	fc->lock_fds[fc->nb_locks++] = fd;
	return 0;
}

static int
fc_resolve_dirs(struct file_channel *fc, const struct fc_settings *set,
		const struct sl_props *props, struct sl_err *err)
{
	char *base = NULL, *list = NULL, *tok, *save = NULL;
	int rc = 0;
	unsigned i;

	if (!set->checkpoint_dir || !set->data_dirs ||
	    (set->use_dual && !set->backup_dir)) {
		base = fc_default_base(fc->base.name, props);
		if (!base)
			return sl_err_set(err, ENOMEM, "channel file %s: out "
					  "of memory", fc->base.name);
	}
	if (set->checkpoint_dir)
		fc->ckpt_dir = strdup(set->checkpoint_dir);
	else if (asprintf(&fc->ckpt_dir, "%s/checkpoint", base) < 0)
		fc->ckpt_dir = NULL;
	if (set->use_dual) {
		if (set->backup_dir)
			fc->backup_dir = strdup(set->backup_dir);
		else if (asprintf(&fc->backup_dir, "%s/backup", base) < 0)
			fc->backup_dir = NULL;
		if (!fc->backup_dir)
			goto err_nomem;
	}
	if (set->data_dirs)
		list = strdup(set->data_dirs);
	else if (asprintf(&list, "%s/data", base) < 0)
		list = NULL;
	if (!fc->ckpt_dir || !list)
		goto err_nomem;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		tok[strcspn(tok, " \t")] = '\0';
		if (!*tok)
			continue;
		if (fc->nb_dirs == FC_MAX_DIRS) {
			rc = sl_err_set(err, E2BIG, "channel file %s: more "
					"than %u dataDirs", fc->base.name,
					FC_MAX_DIRS);
			goto out;
		}
		fc->dirs[fc->nb_dirs] = strdup(tok);
		if (!fc->dirs[fc->nb_dirs])
			goto err_nomem;
		fc->nb_dirs++;
	}
	if (fc->nb_dirs == 0) {
		rc = sl_err_set(err, EINVAL, "channel file %s: dataDirs names "
				"no directory", fc->base.name);
		goto out;
	}
	if (fc->backup_dir && strcmp(fc->backup_dir, fc->ckpt_dir) == 0) {
		rc = sl_err_set(err, EINVAL, "channel file %s: "
				"backupCheckpointDir must differ from "
				"checkpointDir (%s)", fc->base.name,
				fc->ckpt_dir);
		goto out;
	}
	{
		const char *all[FC_MAX_DIRS + 2];
		unsigned n = 0;

		all[n++] = fc->ckpt_dir;
		if (fc->backup_dir)
			all[n++] = fc->backup_dir;
		for (i = 0; i < fc->nb_dirs; i++)
			all[n++] = fc->dirs[i];
		for (i = 0; i < n; i++) {
			rc = mkdir_p(all[i]);
			if (rc < 0) {
				sl_err_set(err, -rc, "channel file %s: cannot "
					   "create %s: %s", fc->base.name,
					   all[i], strerror(-rc));
				goto out;
			}
			rc = fc_lock_dir(fc, all[i], err);
			if (rc < 0)
				goto out;
		}
	}
	goto out;

err_nomem:
	rc = sl_err_set(err, ENOMEM, "channel file %s: out of memory",
			fc->base.name);
out:
	free(list);
	free(base);
	return rc;
}

/* ---- create and destroy ------------------------------------------------- */

/*
 * directIO's cache: an arena of directCacheBytes (whole blocks), faulted
 * in now (the agent's RSS from the start, as the rings'). None without
 * directIO, or when that is less than one group.
 */
static int
fc_cache_init(struct file_channel *fc, const struct fc_settings *set)
{
	size_t size = set->direct_io ? (size_t)SL_ALIGN_UP(
		set->direct_cache_bytes, (uint64_t)DLOG_BLOCK) : 0;

	if (size < fc->grp_cap)
		return 0;
	fc->cache_cap = (unsigned)SL_MIN(size / DLOG_BLOCK + 2,
					 (size_t)UINT32_MAX);
	fc->cache = calloc(fc->cache_cap, sizeof(*fc->cache));
	if (!fc->cache || posix_memalign((void **)&fc->arena, DLOG_BLOCK,
					 size) != 0) {
		fc->arena = NULL;
		return -ENOMEM;
	}
	memset(fc->arena, 0, size);
	fc->arena_size = size;
	return 0;
}

/*
 * directIO: register the groups' own buffers and the cache's arena with
 * the backend once, so an O_DIRECT write does not pin their pages again
 * each time (10 % of the writer thread). io_uring takes buffers of up to
 * 1 GiB: a larger arena is written unregistered. Where the backend
 * cannot (no such op, or the locked-memory limit of a user without
 * CAP_IPC_LOCK), writes pin as before.
 */
static void
fc_register_bufs(struct file_channel *fc, const char *who)
{
	bool arena = fc->arena && fc->arena_size <= FC_FIXED_BUF_MAX;
	unsigned i, n = 2 + arena;
	struct iovec iov[3];
	int rc;

	if (!fc->direct || !fc->io->ops->register_bufs ||
	    !fc->io->ops->pwrite_fixed)
		return;
	fc->fixed_bufs = calloc(2, sizeof(*fc->fixed_bufs));
	if (!fc->fixed_bufs)
		return;
	for (i = 0; i < 2; i++)
		iov[i] = (struct iovec){ fc->grp[i].own_buf,
					 fc->grp[i].own_cap };
	if (arena)
		iov[2] = (struct iovec){ fc->arena, fc->arena_size };
	rc = fc->io->ops->register_bufs(fc->io, iov, n);
	if (rc < 0) {
		sl_log(SL_INFO, "%s: directIO buffers not registered with "
		       "io_uring (%s): each write pins its pages", who,
		       strerror(-rc));
		free(fc->fixed_bufs);
		fc->fixed_bufs = NULL;
		return;
	}
	for (i = 0; i < 2; i++) {
		fc->fixed_bufs[i] = fc->grp[i].own_buf;
		fc->grp[i].own_idx = (int)i;
		fc->grp[i].buf_idx = (int)i;
	}
	if (arena)
		fc->arena_idx = 2;
	fc->nb_fixed_bufs = n;
}

struct sl_channel *
sl_file_channel_create_opts(const char *name, const void *settings,
			    const struct sl_props *props,
			    const struct dlog_test_opts *o,
			    struct sl_err *err)
{
	const struct fc_settings *set = settings;
	struct dlog_recover_out out;
	struct dlog_recover_args ra;
	struct file_channel *fc;
	char who[256];
	unsigned i;

	if (posix_memalign((void **)&fc, SL_CACHE_LINE, sizeof(*fc)) != 0) {
		sl_err_set(err, ENOMEM, "channel file %s: out of memory",
			   name);
		return NULL;
	}
	memset(fc, 0, sizeof(*fc));
	fc->base.ops = &sl_file_channel_ops;
	fc->base.name = strdup(name);
	fc->set = *set;
	/* The plan owns the strings of @settings. */
	fc->set.checkpoint_dir = NULL;
	fc->set.data_dirs = NULL;
	fc->set.backup_dir = NULL;
	fc->wfd = -1;
	fc->active = UINT64_MAX;
	pthread_mutex_init(&fc->lock, NULL);
	pthread_mutex_init(&fc->open_lock, NULL);
	pthread_mutex_init(&fc->fill_lock, NULL);
	fc->seg_size = set->max_file_size & ~(uint64_t)(DLOG_BLOCK - 1);
	if (!fc->base.name) {
		sl_err_set(err, ENOMEM, "channel file %s: out of memory",
			   name);
		goto err_destroy;
	}
	if (fc_resolve_dirs(fc, set, props, err) < 0)
		goto err_destroy;
	snprintf(who, sizeof(who), "channel file %s", name);
	if (o && o->io) {
		fc->io = o->io;
	} else {
		fc->io = sl_dlog_io_uring_create(set->sqpoll, who, err);
		if (!fc->io)
			goto err_destroy;
		fc->own_io = true;
	}
	fc->direct = set->direct_io;
	fc->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fc->arena_idx = -1;
	fc->grp_cap = SL_ALIGN_UP(set->group_bytes, (uint64_t)DLOG_BLOCK) +
		      4 * DLOG_BLOCK;
	for (i = 0; i < 2; i++) {
		struct fc_group *g = &fc->grp[i];

		g->own_idx = -1;
		if (posix_memalign((void **)&g->own_buf, DLOG_BLOCK,
				   fc->grp_cap)) {
			g->own_buf = NULL;
			break;
		}
		g->own_cap = fc->grp_cap;
		g->buf = g->own_buf;
		g->cap = g->own_cap;
		g->buf_idx = -1;
	}
	if (fc->wfd < 0 || !fc->grp[0].own_buf || !fc->grp[1].own_buf ||
	    fc_cache_init(fc, set) < 0) {
		sl_err_set(err, ENOMEM, "%s: out of memory", who);
		goto err_destroy;
	}
	fc_register_bufs(fc, who);

	ra = (struct dlog_recover_args){
		.io = fc->io, .dirs = (const char *const *)fc->dirs,
		.nb_dirs = fc->nb_dirs, .ckpt_dir = fc->ckpt_dir,
		.backup_dir = fc->backup_dir, .who = who,
		.max_spares = FC_SPARES,
		.first_seg_id = o && o->set_first ? o->first_seg_id : 0,
		.first_seq = o && o->set_first ? o->first_seq : 0,
	};
	if (sl_dlog_recover(&ra, &out, err) < 0)
		goto err_destroy;
	fc->tab = out.tab;
	fc->cursor = out.head;
	fc->cursor_seq = out.head.seq;
	fc->size = out.nb_events;
	fc->durable_seq = out.next_seq;
	fc->next_seq = out.next_seq;
	fc->next_seg_id = out.next_seg_id;
	fc->rec = out.rec;
	for (i = 0; i < fc->nb_dirs; i++)
		fc->nb_spares[i] = out.nb_spares[i];
	if (out.nb_events > (uint64_t)set->capacity)
		sl_log(SL_WARN, "%s: replayed %llu events, more than capacity "
		       "%lld: puts wait until sinks drain it", who,
		       (unsigned long long)out.nb_events,
		       (long long)set->capacity);
	sl_log(SL_INFO, "%s: started from %s in %llu ms: %llu events to "
	       "replay, %llu segments, %llu torn bytes cut, %llu events lost, "
	       "%llu segments quarantined", who, fc->rec.fresh ? "a new log" :
	       fc->rec.used_checkpoint ? (fc->rec.used_backup ?
	       "the backup checkpoint" : "the checkpoint") : "a full scan",
	       (unsigned long long)fc->rec.restart_ms,
	       (unsigned long long)fc->rec.replayed,
	       (unsigned long long)fc->tab.n,
	       (unsigned long long)fc->rec.truncated_bytes,
	       (unsigned long long)fc->rec.lost_events,
	       (unsigned long long)fc->rec.quarantined);
	return &fc->base;

err_destroy:
	fc_destroy(&fc->base);
	return NULL;
}

static struct sl_channel *
fc_create(const char *name, const void *settings, const struct sl_props *props,
	  struct sl_diag *diag, struct sl_err *err)
{
	return sl_file_channel_create_opts(name, settings, props, NULL, err);
}

static void fc_writer_stop(struct file_channel *fc, int how);

static void
fc_destroy(struct sl_channel *ch)
{
	struct file_channel *fc = (struct file_channel *)ch;
	unsigned i;

	if (fc->writer_running)
		fc_writer_stop(fc, 1);
	for (i = 0; i < fc->nb_prods; i++) {
		sl_ring_free(fc->prods[i]->ring);
		if (fc->prods[i]->efd >= 0)
			close(fc->prods[i]->efd);
		if (fc->prods[i]->room_fd >= 0)
			close(fc->prods[i]->room_fd);
		free(fc->prods[i]);
	}
	for (i = 0; i < fc->nb_cons; i++) {
		free(fc->cons[i]->txns);
		free(fc->cons[i]->evs);
		free(fc->cons[i]);
	}
	for (i = 0; i < fc->tab.n; i++)
		sl_dlog_seg_close(&fc->tab.v[i]);
	if (fc->has_next)
		sl_dlog_seg_close(&fc->next);
	free(fc->tab.v);
	if (fc->ranges)
		free(fc->ranges - fc->ranges_off);
	if (fc->own_io && fc->io)
		fc->io->ops->destroy(fc->io);
	for (i = 0; i < fc->nb_locks; i++)
		close(fc->lock_fds[i]);
	for (i = 0; i < fc->nb_dirs; i++)
		free(fc->dirs[i]);
	if (fc->wfd >= 0)
		close(fc->wfd);
	/* The groups' first buffers are fixed_bufs' once registered (a
	 * group that outgrew one keeps it there), the others their group's. */
	for (i = 0; i < 2; i++)
		if (fc->grp[i].own_idx < 0)
			free(fc->grp[i].own_buf);
	for (i = 0; fc->fixed_bufs && i < 2; i++)
		free(fc->fixed_bufs[i]);
	free(fc->fixed_bufs);
	free(fc->cache);
	free(fc->arena);
	free(fc->grp[0].iov);
	free(fc->grp[1].iov);
	free(fc->ckpt_dir);
	free(fc->backup_dir);
	pthread_mutex_destroy(&fc->lock);
	pthread_mutex_destroy(&fc->open_lock);
	pthread_mutex_destroy(&fc->fill_lock);
	free(fc->base.name);
	free(fc);
}

/* ---- producers and consumers -------------------------------------------- */

/*
 * A producer's ring: ringBytes, or by default small with directIO (and
 * copyOnCommit), where each commit is copied out of it at once
 * (fc_commit_copy()) and a small ring stays in the producer's caches;
 * else records wait there until the writer copies or writes them.
 */
static uint64_t
fc_ring_bytes(const struct file_channel *fc)
{
	if (fc->set.ring_bytes)
		return fc->set.ring_bytes;
	return __atomic_load_n(&fc->direct, __ATOMIC_RELAXED) &&
	       fc->set.copy_on_commit ? FC_RING_DIRECT : FC_RING_BUFFERED;
}

static struct sl_chan_producer *
fc_producer_open(struct sl_channel *ch, const char *who, struct sl_err *err)
{
	struct file_channel *fc = (struct file_channel *)ch;
	struct fc_producer *p = NULL;

	pthread_mutex_lock(&fc->open_lock);
	if (fc->nb_prods == FC_MAX_PRODUCERS) {
		sl_err_set(err, ENFILE, "channel file %s: more than %u "
			   "producers (%s)", ch->name, FC_MAX_PRODUCERS, who);
		goto err_unlock;
	}
	if (posix_memalign((void **)&p, SL_CACHE_LINE, sizeof(*p)) != 0) {
		p = NULL;
		goto err_nomem;
	}
	memset(p, 0, sizeof(*p));
	p->base.ch = ch;
	p->fc = fc;
	p->id = fc->nb_prods;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->room_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->ring = sl_ring_create(fc_ring_bytes(fc));
	if (p->efd < 0 || p->room_fd < 0 || !p->ring)
		goto err_nomem;
	sl_ring_prefault(p->ring, ch->name);
	fc->prods[p->id] = p;
	/* Pairs with the acquire in the writer's drain loop. */
	__atomic_store_n(&fc->nb_prods, p->id + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->open_lock);
	return &p->base;

err_nomem:
	sl_err_set(err, ENOMEM, "channel file %s: out of memory for %s",
		   ch->name, who);
	if (p) {
		if (p->efd >= 0)
			close(p->efd);
		if (p->room_fd >= 0)
			close(p->room_fd);
		sl_ring_free(p->ring);
		free(p);
	}
err_unlock:
	pthread_mutex_unlock(&fc->open_lock);
	return NULL;
}

static struct sl_chan_consumer *
fc_consumer_open(struct sl_channel *ch, const char *who,
		 unsigned max_txn_events, unsigned max_inflight,
		 struct sl_err *err)
{
	struct file_channel *fc = (struct file_channel *)ch;
	struct fc_consumer *c;
	unsigned i;

	if (max_txn_events == 0 || max_inflight == 0) {
		sl_err_set(err, EINVAL, "channel file %s: %s asked for an "
			   "empty take", ch->name, who);
		return NULL;
	}
	pthread_mutex_lock(&fc->open_lock);
	if (fc->nb_cons == FC_MAX_CONSUMERS) {
		pthread_mutex_unlock(&fc->open_lock);
		sl_err_set(err, ENFILE, "channel file %s: more than %u sinks "
			   "(%s)", ch->name, FC_MAX_CONSUMERS, who);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto err_nomem;
	c->base.ch = ch;
	c->fc = fc;
	c->max_txn_events = max_txn_events;
	c->max_inflight = max_inflight;
	c->txns = calloc(max_inflight, sizeof(*c->txns));
	c->evs = calloc((size_t)max_inflight * max_txn_events,
			sizeof(*c->evs));
	if (!c->txns || !c->evs)
		goto err_nomem;
	for (i = 0; i < max_inflight; i++)
		c->txns[i].pub.evs = c->evs + (size_t)i * max_txn_events;
	fc->cons[fc->nb_cons] = c;
	/* Pairs with the acquire in fc_wake_consumers() (the writer). */
	__atomic_store_n(&fc->nb_cons, fc->nb_cons + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc->open_lock);
	return &c->base;

err_nomem:
	if (c) {
		free(c->txns);
		free(c->evs);
		free(c);
	}
	pthread_mutex_unlock(&fc->open_lock);
	sl_err_set(err, ENOMEM, "channel file %s: out of memory for %s",
		   ch->name, who);
	return NULL;
}

/* ---- put side ------------------------------------------------------------ */

static int
fc_put_begin(struct sl_chan_producer *pp)
{
	struct fc_producer *p = (struct fc_producer *)pp;

	p->txn_events = 0;
	p->txn_attempts = 0;
	p->txn_bytes = 0;
	p->txn_log_bytes = 0;
	p->last_prefix = NULL;
	return 0;
}

static int
fc_put(struct sl_chan_producer *pp, const struct sl_event *ev)
{
	struct fc_producer *p = (struct fc_producer *)pp;
	struct file_channel *fc = p->fc;
	uint32_t len = sl_chan_event_size(ev);
	uint64_t span = dlog_rec_span(len);
	uint64_t ticket = p->ticket + 1;
	struct dlog_rec *rec;
	uint8_t *buf;

	p->txn_attempts++;
	if (SL_UNLIKELY(p->txn_events >= fc->set.tx_capacity))
		return -E2BIG;
	/* A transaction never spans two segments. */
	if (SL_UNLIKELY(span + FC_PREFIX > sl_ring_max_payload(p->ring) ||
			span + 2 * DLOG_BLOCK > fc->seg_size - DLOG_DATA_START))
		return -EMSGSIZE;
	if (SL_UNLIKELY(p->txn_log_bytes + span + 2 * DLOG_BLOCK >
			fc->seg_size - DLOG_DATA_START))
		return -E2BIG;
	/* The record is laid out as the log holds it; the writer fills in
	 * its place (segment, sequence number, CRC) and writes it from here. */
	buf = sl_ring_reserve(p->ring, (uint32_t)span + FC_PREFIX);
	if (!buf) {
		/*
		 * The writer has not drained the ring yet: backpressure;
		 * while it waits for disk space that is the reason (as
		 * commit says), not a moment's lag.
		 */
		if (__atomic_load_n(&fc->space_blocked, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&fc->space_low, __ATOMIC_RELAXED)) {
			sl_stat_add_mt(&fc->st.space_refusals, 1);
			return -ENOSPC;
		}
		sl_stat_add_mt(&fc->st.ring_full, 1);
		return -EAGAIN;
	}
	memcpy(buf, &ticket, FC_PREFIX);
	rec = (struct dlog_rec *)(buf + FC_PREFIX);
	*rec = (struct dlog_rec){ .type = DLOG_REC_EVENT, .len = len };
	sl_chan_event_encode((uint8_t *)(rec + 1), ev);
	memset((uint8_t *)(rec + 1) + len, 0, span - DLOG_REC_HDR - len);
	p->last_prefix = buf;
	p->txn_events++;
	p->txn_bytes += ev->body_len;
	p->txn_log_bytes += span;
	return 0;
}

static bool
fc_claim(uint64_t *counter, uint64_t n, uint64_t limit)
{
	uint64_t old = __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);

	if (old + n <= limit)
		return true;
	__atomic_fetch_sub(counter, n, __ATOMIC_RELAXED);
	return false;
}

static void
fc_put_reset(struct fc_producer *p)
{
	sl_ring_unreserve(p->ring);
	p->txn_events = 0;
	p->txn_bytes = 0;
	p->txn_log_bytes = 0;
	p->last_prefix = NULL;
}

static int
fc_producer_failed(struct sl_chan_producer *pp)
{
	struct fc_producer *p = (struct fc_producer *)pp;

	/* Pairs with the exchange in fc_set_unhealthy(), which the writer
	 * runs after its last ack store: acked() is final once seen. */
	return __atomic_load_n(&p->fc->unhealthy, __ATOMIC_ACQUIRE) ? -EIO : 0;
}

static void fc_commit_copy(struct file_channel *fc, struct fc_producer *p);

static int64_t
fc_put_commit(struct sl_chan_producer *pp)
{
	struct fc_producer *p = (struct fc_producer *)pp;
	struct file_channel *fc = p->fc;
	struct sl_channel_stats *st = &fc->base.stats;
	uint64_t prefix;

	sl_stat_add_mt(&st->event_put_attempt_count, p->txn_attempts);
	p->txn_attempts = 0;
	if (SL_UNLIKELY(__atomic_load_n(&fc->unhealthy, __ATOMIC_ACQUIRE))) {
		sl_stat_add_mt(&st->event_put_error_count, p->txn_events);
		fc_put_reset(p);
		return -EIO;
	}
	if (p->txn_events == 0)
		return (int64_t)p->ticket;
	if (SL_UNLIKELY(__atomic_load_n(&fc->space_blocked, __ATOMIC_RELAXED) ||
			__atomic_load_n(&fc->space_low, __ATOMIC_RELAXED))) {
		sl_stat_add_mt(&st->event_put_error_count, p->txn_events);
		sl_stat_add_mt(&fc->st.space_refusals, 1);
		fc_put_reset(p);
		return -ENOSPC;
	}
	if (!fc_claim(&fc->size, p->txn_events, (uint64_t)fc->set.capacity)) {
		sl_stat_add_mt(&st->put_full_count, 1);
		fc_put_reset(p);
		return -ENOSPC;
	}
	memcpy(&prefix, p->last_prefix, FC_PREFIX);
	prefix |= FC_TXN_END_BIT;
	memcpy(p->last_prefix, &prefix, FC_PREFIX);
	sl_ring_publish(p->ring);
	if (fc->set.copy_on_commit &&
	    __atomic_load_n(&fc->direct, __ATOMIC_RELAXED))
		fc_commit_copy(fc, p);
	sl_stat_add_mt(&st->event_put_success_count, p->txn_events);
	sl_stat_add_mt(&st->put_bytes, p->txn_bytes);
	p->txn_events = 0;
	p->txn_bytes = 0;
	p->txn_log_bytes = 0;
	p->last_prefix = NULL;
	/*
	 * Wake the writer only if it sleeps: the fence orders our publish
	 * before the load of writer_sleeping, as the writer's fence orders
	 * its store of writer_sleeping before its look at our tail.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&fc->writer_sleeping, __ATOMIC_RELAXED)) {
		uint64_t one = 1;

		if (write(fc->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			sl_log(SL_ERROR, "channel file %s: cannot wake the "
			       "writer: %s", fc->base.name, strerror(errno));
	}
	return (int64_t)++p->ticket;
}

static void
fc_put_rollback(struct sl_chan_producer *pp)
{
	struct fc_producer *p = (struct fc_producer *)pp;

	sl_stat_add_mt(&p->fc->base.stats.event_put_attempt_count,
		       p->txn_attempts);
	p->txn_attempts = 0;
	fc_put_reset(p);
}

static uint64_t
fc_producer_acked(struct sl_chan_producer *pp)
{
	/* Pairs with the release in writer_publish(). */
	return __atomic_load_n(&((struct fc_producer *)pp)->acked,
			       __ATOMIC_ACQUIRE);
}

static int
fc_producer_fd(struct sl_chan_producer *pp)
{
	return ((struct fc_producer *)pp)->efd;
}

/* ---- wakeups (sl_channel.h's optional ops) ------------------------------- */

/*
 * Room for @p: below capacity, not refused for disk space, and its ring at
 * most half full (a put refused -EAGAIN found it nearly full; waking at
 * half gives a paused source a run of puts, not one). An unhealthy channel
 * counts as room: the retry gets -EIO at once, the answer it is due.
 */
static bool
fc_has_room(const struct fc_producer *p)
{
	const struct file_channel *fc = p->fc;

	if (__atomic_load_n(&fc->unhealthy, __ATOMIC_ACQUIRE))
		return true;
	if (__atomic_load_n(&fc->space_blocked, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&fc->space_low, __ATOMIC_RELAXED))
		return false;
	if (__atomic_load_n(&fc->size, __ATOMIC_RELAXED) >=
	    (uint64_t)fc->set.capacity)
		return false;
	return sl_ring_used(p->ring) <= p->ring->size / 2;
}

static int
fc_producer_room_fd(struct sl_chan_producer *pp)
{
	return ((struct fc_producer *)pp)->room_fd;
}

static int
fc_producer_room_arm(struct sl_chan_producer *pp)
{
	struct fc_producer *p = (struct fc_producer *)pp;
	struct file_channel *fc = p->fc;

	/* The waker is fc_wake_room(). */
	sl_chan_room_arm(&p->room_wait, &fc->room_waiters);
	if (!fc_has_room(p))
		return 0;
	sl_chan_room_disarm(&p->room_wait, &fc->room_waiters);
	return -EAGAIN;
}

/*
 * Something that makes room just happened (a take commit lowered the
 * size, the writer released ring space or found disk space again, the
 * channel turned unhealthy): signal each armed producer that has room
 * now, once. No armed producer (the busy path): a fence and one load.
 */
static void
fc_wake_room(struct file_channel *fc)
{
	unsigned i, nb;

	/* Pairs with sl_chan_room_arm()'s fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (SL_LIKELY(!__atomic_load_n(&fc->room_waiters, __ATOMIC_ACQUIRE)))
		return;
	nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	for (i = 0; i < nb; i++) {
		struct fc_producer *p = fc->prods[i];
		int rc;

		/* Room is per producer here (its ring): only those with. */
		if (!__atomic_load_n(&p->room_wait, __ATOMIC_RELAXED) ||
		    !fc_has_room(p))
			continue;
		rc = sl_chan_room_signal(&p->room_wait, &fc->room_waiters,
					 p->room_fd);
		if (rc < 0)
			sl_log(SL_WARN, "channel file %s: room eventfd: %s",
			       fc->base.name, strerror(-rc));
	}
}

/* Events a take could return now: durable and not taken, or returned. */
static uint64_t
fc_takeable(const struct file_channel *fc)
{
	/* Pairs with the release in fc_publish(). */
	uint64_t durable = __atomic_load_n(&fc->durable_seq, __ATOMIC_ACQUIRE);
	uint64_t cur = __atomic_load_n(&fc->cursor_seq, __ATOMIC_RELAXED);
	uint64_t n = __atomic_load_n(&fc->returned_evs, __ATOMIC_RELAXED);

	/* A take may have moved the cursor past our view of durable. */
	if (dlog_seq_lt(cur, durable))
		n += durable - cur;
	return n;
}

/*
 * The writer published a group (or a rollback returned events): wake
 * each sleeping consumer that now has what it waits for. Once per group,
 * never per put; a syscall only for a consumer that sleeps.
 */
static void
fc_wake_consumers(struct file_channel *fc)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_cons, __ATOMIC_ACQUIRE);

	/*
	 * Pairs with the fence in fc_consumer_wait(): our durable_seq (or
	 * range) store is ordered before the flag is read, its flag store
	 * before it reads durable_seq, so one side sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (i = 0; i < nb; i++) {
		struct fc_consumer *c = fc->cons[i];

		if (SL_LIKELY(!__atomic_load_n(&c->sleeping,
					       __ATOMIC_RELAXED)))
			continue;
		if (fc_takeable(fc) <
		    __atomic_load_n(&c->wake_want, __ATOMIC_RELAXED))
			continue;
		sl_chan_wake_sleeper(&c->sleeping);
	}
}

/*
 * sl_channel_consumer_wait(): events become takeable when the writer
 * publishes a synced group, so a sink is woken once per group (or once
 * @min_events are takeable), not per put.
 */
static int
fc_consumer_wait(struct sl_chan_consumer *cc, unsigned min_events,
		 uint64_t timeout_ns)
{
	struct fc_consumer *c = (struct fc_consumer *)cc;
	struct file_channel *fc = c->fc;
	uint64_t want = sl_chan_wait_want(min_events, c->max_txn_events,
					  fc->set.tx_capacity,
					  fc->set.capacity);

	want = SL_MAX(want, 1);
	__atomic_store_n(&c->wake_want, want, __ATOMIC_RELAXED);
	/* Pairs with the fence in fc_wake_consumers(). */
	sl_chan_sleep_begin(&c->sleeping);
	if (fc_takeable(fc) >= want) {
		sl_chan_sleep_cancel(&c->sleeping);
		return min_events <= 1 ? -EAGAIN : 0;
	}
	return sl_chan_sleep(&c->sleeping, timeout_ns);
}

/* ---- take side ------------------------------------------------------------ */

/*
 * Read up to @max events at *@loc, stopping at @end_seq; lock held. The
 * events point into the mapped segment, valid until the segment is
 * recycled, which waits for a checkpoint past the take's commit.
 */
static const struct fc_cbuf *
fc_cache_find(const struct file_channel *fc, const struct dlog_loc *loc)
{
	unsigned i;

	/* Newest first: sinks mostly read what was just synced. */
	for (i = fc->cache_n; i-- > 0;) {
		const struct fc_cbuf *b =
			&fc->cache[(fc->cache_first + i) % fc->cache_cap];

		if (b->seg == loc->seg && loc->off >= b->base &&
		    loc->off - b->base < b->len)
			return b;
	}
	return NULL;
}

static unsigned
fc_read(struct file_channel *fc, struct dlog_loc *loc, uint64_t end_seq,
	unsigned max, struct sl_event *evs, uint64_t *bytes)
{
	const struct fc_cbuf *b = NULL;
	unsigned n = 0, hits = 0;

	while (n < max && dlog_seq_lt(loc->seq, end_seq)) {
		struct dlog_seg *s = dlog_segtab_at(&fc->tab, loc->seg);
		const struct dlog_rec *r;
		uint64_t lim;

		if (!s && loc->seg < fc->tab.base && fc->tab.n > 0) {
			/*
			 * We sat at the END of a segment that a checkpoint
			 * has since recycled: go on at the oldest one left.
			 */
			s = &fc->tab.v[0];
			*loc = (struct dlog_loc){ .seg = fc->tab.base,
						  .off = DLOG_DATA_START,
						  .seq = s->first_seq };
		}
		if (!s)
			break;
		if (s->sealed && loc->off >= s->end_off) {
			struct dlog_seg *nx = dlog_segtab_at(&fc->tab,
							     loc->seg + 1);

			if (!nx)
				break;
			/* A gap left by a lost segment skips its numbers. */
			*loc = (struct dlog_loc){ .seg = loc->seg + 1,
						  .off = DLOG_DATA_START,
						  .seq = nx->first_seq };
			continue;
		}
		/* directIO: from the cached group when it is still there. */
		if (fc->cache_n && !(b && b->seg == loc->seg &&
				     loc->off >= b->base &&
				     loc->off - b->base < b->len))
			b = fc_cache_find(fc, loc);
		lim = b ? b->base + b->len : s->size;
		r = loc->off + DLOG_REC_HDR > lim ? NULL : b ?
		    (const struct dlog_rec *)(fc->arena + b->off +
					      (loc->off - b->base)) :
		    (const struct dlog_rec *)(s->map + loc->off);
		if (r && r->type == DLOG_REC_PAD) {
			loc->off += dlog_rec_span(r->len);
			continue;
		}
		/*
		 * Each header's address depends on the length before it, and
		 * a sink reads far behind the writer: ask for the header
		 * SL_RING_PREFETCH_AHEAD records on, guessing they are as
		 * long as this one, as sl_ring_peek() does (a prefetch never
		 * faults).
		 */
		if (r)
			__builtin_prefetch((const uint8_t *)r +
					   SL_RING_PREFETCH_AHEAD *
					   dlog_rec_span(r->len));
		if (!r || r->type != DLOG_REC_EVENT || r->seq != loc->seq ||
		    r->len > lim - loc->off - DLOG_REC_HDR ||
		    sl_chan_event_decode((const uint8_t *)(r + 1), r->len,
					 &evs[n]) < 0) {
			/* The file changed under us since it was verified. */
			uint64_t sup;

			sl_stat_add_mt(&fc->base.stats.event_take_error_count,
				       1);
			if (sl_log_ratelimit_ok(&fc->rl, sl_time_mono_ns(),
						SL_NS_PER_SEC, &sup))
				sl_log(SL_ERROR, "channel file %s: %s: bad "
				       "record at offset %llu", fc->base.name,
				       s->path, (unsigned long long)loc->off);
			break;
		}
		*bytes += evs[n].body_len;
		hits += b != NULL;
		n++;
		loc->off += dlog_rec_span(r->len);
		loc->seq++;
	}
	if (fc->cache_cap) {
		sl_stat_add_mt(&fc->st.cache_hits, hits);
		sl_stat_add_mt(&fc->st.cache_misses, n - hits);
	}
	return n;
}

static struct fc_range *
fc_range_find(struct file_channel *fc, uint64_t id, size_t *idx)
{
	size_t i;

	for (i = 0; i < fc->nb_ranges; i++) {
		if (fc->ranges[i].id == id) {
			*idx = i;
			return &fc->ranges[i];
		}
	}
	return NULL;
}

/*
 * The ranges are a queue in log order, committed at the front (every take
 * commit) and taken at the back: the front moves up its buffer
 * (ranges_off), which is compacted once it is half behind us, so neither
 * end costs a move of the whole queue (a thousand takes in flight made
 * that the sink thread's largest copy).
 */
static int
fc_range_insert(struct file_channel *fc, size_t at, const struct fc_range *r)
{
	struct fc_range *base = fc->ranges ? fc->ranges - fc->ranges_off :
					     NULL;

	if (fc->ranges_off + fc->nb_ranges == fc->cap_ranges) {
		if (fc->ranges_off >= fc->cap_ranges / 2 && fc->ranges_off) {
			memmove(base, fc->ranges,
				fc->nb_ranges * sizeof(*base));
		} else {
			size_t cap = fc->cap_ranges ? fc->cap_ranges * 2 : 64;
			struct fc_range *v = realloc(base, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			base = v;
			fc->cap_ranges = cap;
			v += fc->ranges_off;
			memmove(base, v, fc->nb_ranges * sizeof(*base));
		}
		fc->ranges = base;
		fc->ranges_off = 0;
	}
	memmove(&fc->ranges[at + 1], &fc->ranges[at],
		(fc->nb_ranges - at) * sizeof(*r));
	fc->ranges[at] = *r;
	fc->nb_ranges++;
	return 0;
}

static void
fc_range_remove(struct file_channel *fc, size_t at)
{
	if (at == 0) {
		fc->ranges++;
		fc->ranges_off++;
	} else {
		memmove(&fc->ranges[at], &fc->ranges[at + 1],
			(fc->nb_ranges - at - 1) * sizeof(fc->ranges[0]));
	}
	fc->nb_ranges--;
}

/*
 * Take the lowest events not taken: first a run returned by a rollback,
 * else new ones at the read cursor up to what is durable. One lock per take
 * (not per event).
 *
 * Design note: the memory channel gives each (producer, sink) pair its own
 * ring and needs no lock. Here every sink reads one shared log, a rollback
 * must return events to that shared head, and the checkpoint needs the
 * lowest uncommitted position across sinks; per-sink partitions were
 * rejected because they would make both of those a merge across sinks.
 */
static struct sl_take *
fc_take(struct sl_chan_consumer *cc, unsigned max)
{
	struct fc_consumer *c = (struct fc_consumer *)cc;
	struct file_channel *fc = c->fc;
	struct fc_take *t;
	struct fc_range nr = { 0 }, *r = NULL;
	uint64_t bytes = 0;
	unsigned n = 0;
	size_t i;

	if (c->nb_inflight == c->max_inflight)
		return NULL;
	max = SL_MIN(max, c->max_txn_events);
	max = SL_MIN(max, (unsigned)fc->set.tx_capacity);
	t = &c->txns[(c->first + c->nb_inflight) % c->max_inflight];
	pthread_mutex_lock(&fc->lock);
	for (i = 0; fc->returned_evs && i < fc->nb_ranges; i++) {
		if (fc->ranges[i].state == FC_R_RETURNED) {
			r = &fc->ranges[i];
			break;
		}
	}
	if (r) {
		struct dlog_loc loc = r->start;

		n = fc_read(fc, &loc, r->end.seq, SL_MIN(max, r->nb_evs),
			    t->pub.evs, &bytes);
		if (n > 0 && n < r->nb_evs) {
			nr = (struct fc_range){
				.id = fc->next_range_id++, .start = loc,
				.end = r->end, .nb_evs = r->nb_evs - n,
				.nb_bytes = r->nb_bytes - bytes,
				.state = FC_R_RETURNED,
			};
			r->end = loc;
			r->nb_evs = n;
			r->nb_bytes = bytes;
			if (fc_range_insert(fc, i + 1, &nr) < 0) {
				/* Undo the split: take nothing this time. */
				r = &fc->ranges[i];
				r->end = nr.end;
				r->nb_evs += nr.nb_evs;
				r->nb_bytes = bytes + nr.nb_bytes;
				n = 0;
			}
			r = &fc->ranges[i];
		}
		if (n > 0) {
			r->state = FC_R_TAKEN;
			t->range_id = r->id;
			__atomic_store_n(&fc->returned_evs,
					 fc->returned_evs - n,
					 __ATOMIC_RELAXED);
		}
	} else {
		struct dlog_loc loc = fc->cursor;
		/* Pairs with the release in writer_publish(). */
		uint64_t durable = __atomic_load_n(&fc->durable_seq,
						   __ATOMIC_ACQUIRE);

		n = fc_read(fc, &loc, durable, max, t->pub.evs, &bytes);
		if (n > 0) {
			nr = (struct fc_range){
				.id = fc->next_range_id++, .start = fc->cursor,
				.end = loc, .nb_evs = n, .nb_bytes = bytes,
				.state = FC_R_TAKEN,
			};
			if (fc_range_insert(fc, fc->nb_ranges, &nr) < 0) {
				n = 0;
			} else {
				fc->cursor = loc;
				__atomic_store_n(&fc->cursor_seq, loc.seq,
						 __ATOMIC_RELAXED);
				t->range_id = nr.id;
			}
		}
	}
	pthread_mutex_unlock(&fc->lock);
	/* Flume counts one attempt per take() call, the failed one too. */
	sl_stat_add_mt(&fc->base.stats.event_take_attempt_count,
		       n + (n < max));
	if (n == 0)
		return NULL;
	t->pub.nb_evs = n;
	t->pub.nb_bytes = bytes;
	c->nb_inflight++;
	return &t->pub;
}

static int
fc_take_commit(struct sl_chan_consumer *cc, struct sl_take *txn)
{
	struct fc_consumer *c = (struct fc_consumer *)cc;
	struct file_channel *fc = c->fc;
	struct fc_take *t = (struct fc_take *)txn;
	struct sl_channel_stats *st = &fc->base.stats;
	struct fc_range *r;
	size_t i;

	if (c->nb_inflight == 0 || t != &c->txns[c->first])
		return -EINVAL;		/* commits go in take order */
	pthread_mutex_lock(&fc->lock);
	r = fc_range_find(fc, t->range_id, &i);
	SL_VERIFY(r && r->state == FC_R_TAKEN);
	r->state = FC_R_DONE;
	while (fc->nb_ranges > 0 && fc->ranges[0].state == FC_R_DONE)
		fc_range_remove(fc, 0);
	pthread_mutex_unlock(&fc->lock);
	__atomic_fetch_sub(&fc->size, txn->nb_evs, __ATOMIC_RELAXED);
	sl_stat_add_mt(&st->event_take_success_count, txn->nb_evs);
	sl_stat_add_mt(&st->take_bytes, txn->nb_bytes);
	c->first = (c->first + 1) % c->max_inflight;
	c->nb_inflight--;
	fc_wake_room(fc);
	return 0;
}

/*
 * Return @txn and every later take of this consumer: their ranges become
 * RETURNED, neighbours merge, and a returned run at the very end moves the
 * read cursor back, so the next take starts at the lowest returned event.
 */
static void
fc_take_rollback(struct sl_chan_consumer *cc, struct sl_take *txn)
{
	struct fc_consumer *c = (struct fc_consumer *)cc;
	struct file_channel *fc = c->fc;
	struct fc_take *t = (struct fc_take *)txn;
	uint64_t returned;
	unsigned k, j;
	size_t i;

	for (k = 0; k < c->nb_inflight; k++)
		if (&c->txns[(c->first + k) % c->max_inflight] == t)
			break;
	SL_VERIFY(k < c->nb_inflight);
	pthread_mutex_lock(&fc->lock);
	for (j = k; j < c->nb_inflight; j++) {
		struct fc_take *tj = &c->txns[(c->first + j) %
					      c->max_inflight];
		struct fc_range *r = fc_range_find(fc, tj->range_id, &i);

		SL_VERIFY(r && r->state == FC_R_TAKEN);
		r->state = FC_R_RETURNED;
	}
	for (i = 0; i + 1 < fc->nb_ranges;) {
		struct fc_range *a = &fc->ranges[i], *b = &fc->ranges[i + 1];

		if (a->state == FC_R_RETURNED && b->state == FC_R_RETURNED) {
			a->end = b->end;
			a->nb_evs += b->nb_evs;
			a->nb_bytes += b->nb_bytes;
			fc_range_remove(fc, i + 1);
			continue;
		}
		i++;
	}
	if (fc->nb_ranges > 0 &&
	    fc->ranges[fc->nb_ranges - 1].state == FC_R_RETURNED) {
		fc->cursor = fc->ranges[fc->nb_ranges - 1].start;
		fc->nb_ranges--;
		__atomic_store_n(&fc->cursor_seq, fc->cursor.seq,
				 __ATOMIC_RELAXED);
	}
	returned = 0;
	for (i = 0; i < fc->nb_ranges; i++)
		if (fc->ranges[i].state == FC_R_RETURNED)
			returned += fc->ranges[i].nb_evs;
	__atomic_store_n(&fc->returned_evs, returned, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fc->lock);
	sl_stat_add_mt(&fc->base.stats.rollback_count, c->nb_inflight - k);
	c->nb_inflight = k;
	/* The events are takeable again, by any consumer. */
	fc_wake_consumers(fc);
}

static uint64_t
fc_size(const struct sl_channel *ch)
{
	return __atomic_load_n(&((const struct file_channel *)ch)->size,
			       __ATOMIC_RELAXED);
}

static uint64_t
fc_capacity(const struct sl_channel *ch)
{
	return (uint64_t)((const struct file_channel *)ch)->set.capacity;
}

/* ---- the writer ------------------------------------------------------------ */

static void
fc_set_unhealthy(struct file_channel *fc, const char *what, int rc)
{
	pthread_mutex_lock(&fc->fill_lock);
	fc->filling = NULL;	/* its events are never written */
	pthread_mutex_unlock(&fc->fill_lock);
	if (__atomic_exchange_n(&fc->unhealthy, 1, __ATOMIC_ACQ_REL))
		return;
	sl_log(SL_ERROR, "channel file %s: %s failed: %s; the channel is "
	       "unhealthy and refuses puts; nothing written since the last "
	       "good sync is acknowledged (restart the agent to recover "
	       "from disk)", fc->base.name, what, strerror(-rc));
}

static void
fc_wake_producers(struct file_channel *fc)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	for (i = 0; i < nb; i++)
		if (write(fc->prods[i]->efd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			sl_log(SL_ERROR, "channel file %s: eventfd: %s",
			       fc->base.name, strerror(errno));
	fc_wake_room(fc);
}

static void
fc_space_check(struct file_channel *fc, uint64_t now)
{
	uint64_t avail, least = UINT64_MAX;
	unsigned i;
	int low;

	fc->next_space_ns = now + FC_SPACE_CHECK_NS;
	if (fc->set.min_required_space == 0) {
		__atomic_store_n(&fc->space_low, 0, __ATOMIC_RELAXED);
		return;
	}
	for (i = 0; i < fc->nb_dirs; i++)
		if (fc->io->ops->avail(fc->io, fc->dirs[i], &avail) == 0)
			least = SL_MIN(least, avail);
	low = least < fc->set.min_required_space;
	if (low != __atomic_load_n(&fc->space_low, __ATOMIC_RELAXED))
		sl_log(low ? SL_WARN : SL_INFO, "channel file %s: %s (%llu "
		       "bytes free, minimumRequiredSpace %llu)", fc->base.name,
		       low ? "disk space low, refusing puts" :
		       "disk space back, accepting puts",
		       (unsigned long long)least,
		       (unsigned long long)fc->set.min_required_space);
	__atomic_store_n(&fc->space_low, low, __ATOMIC_RELAXED);
	if (!low)
		fc_wake_room(fc);
}

/* Find one spare-* file in data dir @d; 0 and its path, or -ENOENT. */
static int
fc_find_spare(struct file_channel *fc, unsigned d, char *buf, size_t size)
{
	DIR *dh = opendir(fc->dirs[d]);
	struct dirent *de;
	int rc = -ENOENT;

	if (!dh)
		return -errno;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, "spare-", 6) == 0) {
			snprintf(buf, size, "%s/%s", fc->dirs[d], de->d_name);
			rc = 0;
			break;
		}
	}
	closedir(dh);
	return rc;
}

/*
 * Create the file of the next segment (id next_seg_id, the next data dir):
 * a recycled spare renamed into place when there is one, else a new file;
 * preallocated, its directory synced, mapped. Not in the table yet. A
 * crash before its first group leaves an empty file that recovery
 * recycles (its header is zeros or a spare's old one).
 */
static int
fc_seg_create(struct file_channel *fc, struct dlog_seg *out)
{
	struct dlog_io *io = fc->io;
	unsigned d = fc->next_dir % fc->nb_dirs;
	struct dlog_seg s = { .fd = -1 };
	char path[4096], spare[4096];
	bool reused = false;
	uint64_t avail;
	int flags = O_RDWR, fd, rc;

	rc = sl_dlog_seg_path(path, sizeof(path), fc->dirs[d],
			      fc->next_seg_id);
	if (rc < 0)
		return rc;
	if (fc->nb_spares[d] > 0 &&
	    fc_find_spare(fc, d, spare, sizeof(spare)) == 0 &&
	    io->ops->rename(io, spare, path) == 0) {
		fc->nb_spares[d]--;
		reused = true;
	} else {
		fc->nb_spares[d] = 0;
		flags |= O_CREAT | O_EXCL;
		if (io->ops->avail(io, fc->dirs[d], &avail) == 0 &&
		    avail < fc->seg_size + fc->set.min_required_space)
			return -ENOSPC;
	}
	if (fc->direct)
		flags |= O_DIRECT;
	fd = io->ops->open(io, path, flags, 0644);
	if (fd == -EINVAL && fc->direct) {
		sl_log(SL_WARN, "channel file %s: %s does not support "
		       "O_DIRECT; writing through the page cache",
		       fc->base.name, fc->dirs[d]);
		__atomic_store_n(&fc->direct, false, __ATOMIC_RELAXED);
		fd = io->ops->open(io, path, flags & ~O_DIRECT, 0644);
	}
	if (fd < 0)
		return fd;
	rc = io->ops->fallocate(io, fd, 0, fc->seg_size);
	if (rc == 0)
		rc = io->ops->fsync_dir(io, fc->dirs[d]);
	if (rc == 0) {
		s.map = mmap(NULL, fc->seg_size, PROT_READ, MAP_SHARED, fd, 0);
		if (s.map == MAP_FAILED) {
			s.map = NULL;
			rc = -errno;
		}
	}
	if (rc == 0) {
		s.path = strdup(path);
		if (!s.path) {
			munmap((void *)s.map, fc->seg_size);
			rc = -ENOMEM;
		}
	}
	if (rc < 0) {
		io->ops->close(io, fd);
		if (!reused)
			io->ops->unlink(io, path);
		else
			io->ops->rename(io, path, spare);
		if (reused)
			fc->nb_spares[d]++;
		return rc;
	}
	s.from_spare = reused;
	s.id = fc->next_seg_id;
	s.dir = d;
	s.fd = fd;
	s.size = fc->seg_size;
	/* A recycled segment was written end to end; a new one is a hole. */
	s.zeroed_to = reused ? fc->seg_size : 0;
	*out = s;
	return 0;
}

/*
 * Once the active segment is half full, create the next one ahead
 * (fallocate and a directory sync, a few hundred microseconds on a disk),
 * here where the writer would otherwise wait for a group's fdatasync,
 * rather than in line between the segment's END and the next group. Only
 * an optimisation: a failure here is left to fc_roll() to meet and report.
 */
static void
fc_seg_prepare(struct file_channel *fc)
{
	if (fc->has_next || fc->active == UINT64_MAX ||
	    fc->wpos < fc->seg_size / 2 ||
	    __atomic_load_n(&fc->space_blocked, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&fc->space_low, __ATOMIC_RELAXED))
		return;
	if (fc_seg_create(fc, &fc->next) == 0)
		fc->has_next = true;
}

/*
 * A graceful stop: the segment created ahead goes back to the spares (or
 * away), so the directory holds only segments with records.
 */
static void
fc_seg_unprepare(struct file_channel *fc)
{
	struct dlog_seg *s = &fc->next;
	char spare[4096];
	char *path = s->path;
	unsigned d = s->dir;

	if (!fc->has_next)
		return;
	fc->has_next = false;
	s->path = NULL;
	sl_dlog_seg_close(s);
	if (fc->nb_spares[d] < FC_SPARES &&
	    snprintf(spare, sizeof(spare), "%s/spare-%08x", fc->dirs[d],
		     s->id) < (int)sizeof(spare) &&
	    fc->io->ops->rename(fc->io, path, spare) == 0)
		fc->nb_spares[d]++;
	else
		fc->io->ops->unlink(fc->io, path);
	fc->io->ops->fsync_dir(fc->io, fc->dirs[d]);
	free(path);
}

/* Open the next segment (the one created ahead, if any). */
static int
fc_roll(struct file_channel *fc)
{
	struct dlog_seg s;
	int rc;

	if (fc->has_next) {
		s = fc->next;
		fc->has_next = false;
	} else {
		rc = fc_seg_create(fc, &s);
		if (rc < 0)
			return rc;
	}
	s.first_seq = fc->next_seq;
	pthread_mutex_lock(&fc->lock);
	rc = sl_dlog_segtab_push(&fc->tab, &s);
	if (rc == 0)
		fc->active = fc->tab.base + fc->tab.n - 1;
	pthread_mutex_unlock(&fc->lock);
	if (rc < 0) {
		/* Left on disk as an empty segment: recovery recycles it. */
		sl_dlog_seg_close(&s);
		return rc;
	}
	fc->next_seg_id++;
	fc->next_dir++;
	fc->wpos = 0;
	sl_stat_add(&fc->st.segments_created, 1);
	if (s.from_spare)
		sl_stat_add(&fc->st.segments_reused, 1);
	return 0;
}

/*
 * Can directIO's oldest cached group go? Sinks point into what lies
 * between the first range (the lowest event taken or returned and not
 * committed) and the read cursor; committed events before it and events
 * not taken yet after it are read again from the segment if need be.
 * Lock held.
 */
static bool
fc_cache_evictable(const struct file_channel *fc, const struct fc_cbuf *b)
{
	uint64_t lo = fc->nb_ranges ? fc->ranges[0].start.seq :
		      fc->cursor.seq;

	return !dlog_seq_lt(lo, b->end_seq) ||
	       !dlog_seq_lt(b->first_seq, fc->cursor.seq);
}

/*
 * Grow a directIO group to @need bytes (a transaction larger than
 * groupCommitBytes): into a larger buffer of its own, which it keeps. A
 * piece of the arena goes back (it is the newest); a registered buffer
 * stays allocated (fc->fixed_bufs owns it; the backend holds its pages)
 * and its successor is written plain.
 */
static int
fc_group_reserve(struct file_channel *fc, struct fc_group *g, size_t need)
{
	size_t cap = g->cap;
	uint8_t *nb;

	if (need <= cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (posix_memalign((void **)&nb, DLOG_BLOCK, cap) != 0)
		return -ENOMEM;
	memcpy(nb, g->buf, g->len);
	if (g->in_arena) {
		fc->arena_head = g->arena_off;
		g->in_arena = false;
	}
	if (g->own_idx < 0)
		free(g->own_buf);
	g->own_buf = nb;
	g->own_cap = cap;
	g->own_idx = -1;
	g->buf = nb;
	g->cap = cap;
	g->buf_idx = -1;
	return 0;
}

/*
 * The offset of the arena's oldest live byte: the oldest cached group's,
 * else the syncing group's, else the written group's when they lie there
 * (the group taking its piece is not there yet). False when nothing in
 * the arena is live. Writer thread.
 */
static bool
fc_arena_tail(const struct file_channel *fc, size_t *tail)
{
	unsigned i;

	if (fc->cache_n) {
		*tail = fc->cache[fc->cache_first].off;
		return true;
	}
	if (fc->syncg.in_arena) {	/* reset once published */
		*tail = fc->syncg.arena_off;
		return true;
	}
	for (i = 0; i < 2; i++) {
		if (fc->grp[i].in_arena) {
			*tail = fc->grp[i].arena_off;
			return true;
		}
	}
	return false;
}

/* Where @need contiguous free bytes start in the arena, or false. */
static bool
fc_arena_fits(const struct file_channel *fc, size_t need, size_t *at)
{
	size_t head = fc->arena_head, tail;

	if (!fc_arena_tail(fc, &tail)) {
		*at = 0;
		return need <= fc->arena_size;
	}
	if (tail < head) {		/* live: [tail, head) */
		*at = head + need <= fc->arena_size ? head : 0;
		return *at == head || need <= tail;
	}
	*at = head;			/* live: [tail, end) and [0, head) */
	return need <= tail - head;
}

/*
 * A new directIO group's buffer: the next grp_cap bytes of the arena,
 * after the groups copied there before it, making room by dropping the
 * oldest cached groups no take holds; or, when they are held, the
 * group's own buffer (the group is then read from the segment, counted
 * in direct_cache_skips). fc_arena_trim() gives back what it did not
 * fill. Writer thread.
 */
static void
fc_arena_take(struct file_channel *fc, struct fc_group *g)
{
	size_t at = 0;
	bool ok = false;

	SL_VERIFY(!g->in_arena);
	if (fc->arena) {
		pthread_mutex_lock(&fc->lock);
		while (!(ok = fc_arena_fits(fc, fc->grp_cap, &at)) &&
		       fc->cache_n &&
		       fc_cache_evictable(fc, &fc->cache[fc->cache_first])) {
			fc->cache_bytes -= fc->cache[fc->cache_first].len;
			fc->cache_first = (fc->cache_first + 1) %
					  fc->cache_cap;
			fc->cache_n--;
		}
		pthread_mutex_unlock(&fc->lock);
	}
	if (ok) {
		g->buf = fc->arena + at;
		g->cap = fc->grp_cap;
		g->buf_idx = fc->arena_idx;
		g->in_arena = true;
		g->arena_off = at;
		fc->arena_head = at + fc->grp_cap;
	} else {
		g->buf = g->own_buf;
		g->cap = g->own_cap;
		g->buf_idx = g->own_idx;
	}
}

/*
 * The group @g is complete (padded to whole blocks): the arena keeps only
 * its bytes. It is the newest piece. Writer thread.
 */
static void
fc_arena_trim(struct file_channel *fc, struct fc_group *g)
{
	if (g->in_arena)
		fc->arena_head = g->arena_off + g->len;
}

/* Walk the transaction at @pos of @r: its log bytes and events. */
static bool
fc_txn_peek(struct sl_ring *r, uint64_t pos, uint64_t *log_bytes,
	    unsigned *nb)
{
	const uint8_t *rec;
	uint64_t prefix;
	uint32_t len;

	*log_bytes = 0;
	*nb = 0;
	while ((rec = sl_ring_peek(r, &pos, &len))) {
		memcpy(&prefix, rec, FC_PREFIX);
		*log_bytes += len - FC_PREFIX;
		(*nb)++;
		if (prefix & FC_TXN_END_BIT)
			return true;
	}
	return false;
}

/* Append @n bytes of piece @p to a buffered-mode group. */
static int
fc_group_iov(struct fc_group *g, void *p, size_t n)
{
	if (g->nb_iov == g->cap_iov) {
		unsigned cap = g->cap_iov ? g->cap_iov * 2 : 1024;
		struct iovec *v = realloc(g->iov, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->iov = v;
		g->cap_iov = cap;
	}
	/* Pieces that touch are one piece. */
	if (g->nb_iov && (uint8_t *)g->iov[g->nb_iov - 1].iov_base +
	    g->iov[g->nb_iov - 1].iov_len == (uint8_t *)p)
		g->iov[g->nb_iov - 1].iov_len += n;
	else
		g->iov[g->nb_iov++] = (struct iovec){ .iov_base = p,
						      .iov_len = n };
	return 0;
}

/*
 * Room for @n bytes of the group made by the writer itself (the segment
 * header, END and PAD records): contiguous in buf with O_DIRECT, else a
 * piece of its own.
 */
static uint8_t *
fc_group_side(struct file_channel *fc, struct fc_group *g, size_t n)
{
	uint8_t *p;

	if (g->direct) {
		p = g->buf + g->len;
	} else {
		if (g->side + n > g->cap || fc_group_iov(g, g->buf + g->side,
							 n) < 0)
			return NULL;
		p = g->buf + g->side;
		g->side += n;
	}
	g->len += n;
	return p;
}

static void
fc_put_rec(struct file_channel *fc, struct fc_group *g, uint32_t seg_id,
	   uint16_t type, uint64_t seq, uint32_t len)
{
	uint64_t span = dlog_rec_span(len);
	struct dlog_rec *rec = (struct dlog_rec *)fc_group_side(fc, g, span);

	SL_VERIFY(rec);		/* side room is reserved up front */
	*rec = (struct dlog_rec){ .type = type, .len = len, .seg_id = seg_id,
				  .seq = seq };
	memset(rec + 1, 0, span - DLOG_REC_HDR);
	sl_dlog_rec_seal(rec);
}

/*
 * Begin group @g at file offset @base of the active segment: with
 * directIO its buffer (fc_arena_take), and the segment's header when it
 * is the first. With directIO the group is then open: producers copy
 * their commits into it until the writer closes it. fill_lock held.
 */
static bool
fc_group_open(struct file_channel *fc, struct fc_group *g, uint64_t base)
{
	unsigned nb_prods = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	struct dlog_seg *s = dlog_segtab_at(&fc->tab, fc->active);

	g->base = base;
	g->seg = fc->active;
	g->seg_id = s->id;
	g->limit = s->size - DLOG_REC_HDR - DLOG_BLOCK;
	g->fd = s->fd;
	g->len = 0;
	g->events = 0;
	g->end_off = 0;
	g->nb_iov = 0;
	g->side = 0;
	if (fc->direct)
		fc_arena_take(fc, g);
	memset(g->pend, 0, nb_prods * sizeof(g->pend[0]));
	memset(g->rel, 0, nb_prods * sizeof(g->rel[0]));
	/*
	 * What this group makes durable when it holds no event (a segment's
	 * END alone): everything before it, never an older group's figure,
	 * which would take visibility back.
	 */
	g->txn_end_seq = fc->next_seq;
	g->first_seq = fc->next_seq;
	g->direct = fc->direct;
	if (base == 0) {
		struct dlog_seg_hdr h;
		uint8_t *blk = fc_group_side(fc, g, DLOG_BLOCK);

		if (!blk)
			return false;
		sl_dlog_seg_hdr_init(&h, s->id, fc->next_seq,
				     sl_time_wall_ms());
		memset(blk, 0, DLOG_BLOCK);
		memcpy(blk, &h, sizeof(h));
	}
	if (fc->direct)
		fc->filling = g;
	return true;
}

/* What fc_fill_txn() did with a producer's next transaction. */
enum fc_fill_rc {
	FC_FILL_NONE,		/* the producer has no whole one */
	FC_FILL_ADDED,		/* it is in the group */
	FC_FILL_FULL,		/* it does not fit: the group is done */
};

/*
 * Copy (directIO) or point to (buffered) @p's next committed transaction
 * in @g, giving its records their segment, sequence numbers and CRC. The
 * writer may close the segment for it (an END record) and grow the group;
 * a producer copying its own commit (@by_writer false) does neither, and
 * leaves the transaction to the writer. fill_lock held with directIO.
 */
static enum fc_fill_rc
fc_fill_txn(struct file_channel *fc, struct fc_group *g,
	    struct fc_producer *p, bool by_writer)
{
	uint64_t log_bytes, pos = p->w_pos, prefix = 0;
	unsigned nb, i;

	if (!fc_txn_peek(p->ring, pos, &log_bytes, &nb))
		return FC_FILL_NONE;
	if (g->base + g->len + log_bytes > g->limit) {
		if (!by_writer)
			return FC_FILL_FULL;
		/* Close this segment; the transaction opens the next. */
		g->end_off = g->base + g->len;
		fc_put_rec(fc, g, g->seg_id, DLOG_REC_END, fc->next_seq, 0);
		return FC_FILL_FULL;
	}
	if (g->len > DLOG_BLOCK && g->len + log_bytes > fc->set.group_bytes)
		return FC_FILL_FULL;
	if (g->direct && (by_writer ?
			   fc_group_reserve(fc, g, g->len + log_bytes +
					    2 * DLOG_BLOCK) != 0 :
			   g->len + log_bytes + 2 * DLOG_BLOCK > g->cap))
		return FC_FILL_FULL;
	for (i = 0; i < nb; i++) {
		const uint8_t *r;
		struct dlog_rec *rec;
		uint32_t len;

		r = sl_ring_peek(p->ring, &pos, &len);
		memcpy(&prefix, r, FC_PREFIX);
		len -= FC_PREFIX;
		/*
		 * The consumer owns a published record until it releases
		 * it: it is completed in place, then (directIO) copied.
		 * Sealed before the copy: the CRC reads the ring, where a
		 * producer copying its commit just wrote the record, not
		 * the copy, whose stores it would wait for.
		 */
		rec = (struct dlog_rec *)(uintptr_t)(r + FC_PREFIX);
		rec->flags = (prefix & FC_TXN_END_BIT) ? DLOG_F_TXN_END : 0;
		rec->seg_id = g->seg_id;
		rec->seq = fc->next_seq++;
		sl_dlog_rec_seal(rec);
		if (g->direct)
			memcpy(g->buf + g->len, rec, len);
		else if (fc_group_iov(g, rec, len) < 0)
			SL_VERIFY(0);	/* cannot grow: no memory */
		g->len += len;
	}
	/* Copied: free now; in place: once the write completed. */
	if (g->direct)
		sl_ring_release(p->ring, pos);
	else
		g->rel[p->id] = pos;
	__atomic_store_n(&p->w_pos, pos, __ATOMIC_RELAXED);
	g->pend[p->id] = prefix & ~FC_TXN_END_BIT;
	g->txn_end_seq = fc->next_seq;
	g->events += nb;
	return FC_FILL_ADDED;
}

/*
 * Fill the group from the producers' rings: whole transactions,
 * round-robin, up to groupCommitBytes, and no further than the segment
 * holds (then an END record closes it). Returns the events added.
 * fill_lock held with directIO.
 */
static uint64_t
fc_fill(struct file_channel *fc, struct fc_group *g)
{
	unsigned nb_prods = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	uint64_t before = g->events, added;
	unsigned k, idle = 0;

	if (fc->filling != g && g->len == 0 && !fc_group_open(fc, g, fc->wpos))
		return 0;
	/* Round-robin from where the last group stopped: no producer waits
	 * behind a busy one for more than one transaction per turn. */
	for (k = fc->rr; nb_prods && idle < nb_prods && !g->end_off; k++) {
		enum fc_fill_rc rc = fc_fill_txn(fc, g, fc->prods[k % nb_prods],
						 true);

		if (rc == FC_FILL_FULL)
			break;
		if (rc == FC_FILL_NONE)
			idle++;
		else
			idle = 0;
	}
	fc->rr = nb_prods ? k % nb_prods : 0;
	added = g->events - before;
	if (g->direct)
		sl_stat_add(&fc->st.writer_copied, added);
	return added;
}

/* O_DIRECT writes whole blocks: pad the group with a PAD record. */
static void
fc_pad(struct file_channel *fc, struct fc_group *g)
{
	size_t rem = (size_t)((g->base + g->len) % DLOG_BLOCK);

	if (!g->direct || rem == 0)
		return;
	rem = DLOG_BLOCK - rem;
	if (g->end_off) {
		memset(g->buf + g->len, 0, rem);
		g->len += rem;
		return;
	}
	if (rem < DLOG_REC_HDR)
		rem += DLOG_BLOCK;
	fc_put_rec(fc, g, g->seg_id, DLOG_REC_PAD, fc->next_seq,
		   (uint32_t)(rem - DLOG_REC_HDR));
}

/*
 * The group is complete: padded, due to be written, and with directIO no
 * longer open. With directIO the next group opens right behind it in the
 * other buffer (free: the group that used it last is synced or syncing
 * from syncg) unless the segment ends, so producers copy their commits
 * into it while this one is written and the last one synced. fill_lock
 * held.
 */
static void
fc_group_close(struct file_channel *fc, struct fc_group *g)
{
	fc->filling = NULL;
	fc_pad(fc, g);
	g->ready = true;
	fc_arena_trim(fc, g);
	if (fc->direct && !g->end_off)
		fc_group_open(fc, &fc->grp[fc->cur ^ 1], g->base + g->len);
}


/*
 * directIO: the transaction @p just committed goes into the open group
 * now, copied and sealed by this thread while its records are still in
 * its caches; the writer, a group later, would read them from memory.
 * Its older transactions still in the ring go first (a commit that found
 * the lock taken or no group open left them there). Never waiting: while
 * the writer holds the lock, or when the group has no room, the writer
 * copies them later.
 */
static void
fc_commit_copy(struct file_channel *fc, struct fc_producer *p)
{
	struct fc_group *g;
	uint64_t before;

	if (pthread_mutex_trylock(&fc->fill_lock) != 0)
		return;
	g = fc->filling;
	if (g) {
		before = g->events;
		while (fc_fill_txn(fc, g, p, false) == FC_FILL_ADDED)
			;
		sl_stat_add(&fc->st.commit_copied, g->events - before);
	}
	pthread_mutex_unlock(&fc->fill_lock);
}

static void
fc_lat_add(struct file_channel *fc, uint64_t ns)
{
	uint64_t n = fc->st.lat_n;

	__atomic_store_n(&fc->st.lat_us[n % FC_LAT_SAMPLES],
			 (uint32_t)SL_MIN(ns / 1000, (uint64_t)UINT32_MAX),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&fc->st.lat_n, n + 1, __ATOMIC_RELAXED);
}

static void
fc_group_reset(struct fc_group *g)
{
	g->len = 0;
	g->nb_iov = 0;
	g->side = 0;
	g->events = 0;
	g->end_off = 0;
	g->ready = false;
	g->written = false;
	/* Its piece of the arena is the cache's now, or a gap. */
	g->in_arena = false;
}

/*
 * The synced group joins the cache, in log order, where it lies in the
 * arena; a group in its own buffer is read from the segment. Writer
 * thread, before the group becomes visible.
 */
static void
fc_cache_add(struct file_channel *fc, struct fc_group *g)
{
	if (!g->in_arena) {
		sl_stat_add(&fc->st.cache_skips, 1);
		return;
	}
	pthread_mutex_lock(&fc->lock);
	SL_VERIFY(fc->cache_n < fc->cache_cap);
	fc->cache[(fc->cache_first + fc->cache_n) % fc->cache_cap] =
		(struct fc_cbuf){ .off = g->arena_off,
				  .seg = g->seg, .base = g->base,
				  .len = g->len, .first_seq = g->first_seq,
				  .end_seq = g->txn_end_seq };
	fc->cache_n++;
	fc->cache_bytes += g->len;
	pthread_mutex_unlock(&fc->lock);
}

/* Make the synced group visible and acknowledge its producers. */
static void
fc_publish(struct file_channel *fc, struct fc_group *g)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);

	sl_stat_add(&fc->st.bytes_written, g->len);
	sl_stat_add(&fc->st.group_events, g->events);
	sl_stat_add(&fc->st.group_bytes, g->len);
	if (g->end_off) {
		struct dlog_seg *s;

		pthread_mutex_lock(&fc->lock);
		s = dlog_segtab_at(&fc->tab, g->seg);
		s->end_off = g->end_off;
		s->sealed = true;
		pthread_mutex_unlock(&fc->lock);
	}
	if (g->direct && fc->cache_cap && g->events)
		fc_cache_add(fc, g);
	/* Pairs with the acquire in fc_take(). */
	__atomic_store_n(&fc->durable_seq, g->txn_end_seq, __ATOMIC_RELEASE);
	fc->wake_due = true;
	for (i = 0; i < nb; i++) {
		struct fc_producer *p = fc->prods[i];

		if (!g->pend[i] || g->pend[i] == p->w_acked)
			continue;
		p->w_acked = g->pend[i];
		/* Pairs with the acquire in fc_producer_acked(). */
		__atomic_store_n(&p->acked, g->pend[i], __ATOMIC_RELEASE);
		p->ack_wake = true;
	}
	fc_group_reset(g);
}

/*
 * The wakeups fc_publish() left for its caller: sinks waiting for events,
 * then each producer whose acknowledgement moved (its eventfd). The
 * writer makes them after it has handed the next group's fdatasync to
 * the kernel: a woken thread may take the writer's CPU, and the disk
 * should not wait for it.
 */
static void
fc_publish_wake(struct file_channel *fc)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	if (!fc->wake_due)
		return;
	fc->wake_due = false;
	fc_wake_consumers(fc);
	for (i = 0; i < nb; i++) {
		struct fc_producer *p = fc->prods[i];

		if (!p->ack_wake)
			continue;
		p->ack_wake = false;
		if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			sl_log(SL_ERROR, "channel file %s: eventfd: %s",
			       fc->base.name, strerror(errno));
	}
}

/*
 * fallocate leaves unwritten extents: the first fdatasync over each part of
 * a new segment must also commit the extent conversion to the journal,
 * which costs more than the data. Writing zeros a zone ahead of the data
 * (with the same group, before its fdatasync) pays that once per zone
 * instead of once per group; recycled segments need none, and groups of
 * FC_ZONE_MAX_GROUP or more pay the conversion once for many bytes. Zeros
 * past the data read as "no record", which is where recovery stops.
 */
static int
fc_zero_ahead(struct file_channel *fc, struct fc_group *g)
{
	static const uint8_t zeros[1 << 20] __attribute__((aligned(4096)));
	struct dlog_seg *s = dlog_segtab_at(&fc->tab, g->seg);
	uint64_t end = g->base + g->len, to;
	int rc;

	if (s->zeroed_to < end)
		s->zeroed_to = end;
	/* A large group amortises its one conversion; zeros would double
	 * its bandwidth instead. */
	if (g->len >= FC_ZONE_MAX_GROUP || s->zeroed_to >= s->size ||
	    s->zeroed_to - end >= FC_ZONE / 2)
		return 0;
	to = SL_MIN(s->size, end + FC_ZONE);
	if (g->direct)
		to = SL_ALIGN_UP(to, (uint64_t)DLOG_BLOCK);
	while (s->zeroed_to < to) {
		uint64_t off = s->zeroed_to, n;

		if (g->direct)
			off = SL_ALIGN_UP(off, (uint64_t)DLOG_BLOCK);
		n = SL_MIN((uint64_t)sizeof(zeros), to - off);
		if (n == 0)
			break;
		/* In this thread (the backend's pwritev), O_DIRECT or not:
		 * the writer waits for it either way. */
		rc = fc->io->ops->pwritev(fc->io, g->fd,
					  &(struct iovec){ (void *)zeros, n },
					  1, off);
		if (rc == -ENOSPC || rc == -EDQUOT)
			return 0;	/* only an optimisation */
		if (rc < 0)
			return rc;
		s->zeroed_to = off + n;
	}
	return 0;
}

/*
 * Write the group whole (every completion reaped, short ones re-issued).
 * A write that fails for space keeps the group to retry; any other
 * failure makes the channel unhealthy. 0, -ENOSPC or -EIO.
 */
static int
fc_group_write(struct file_channel *fc, struct fc_group *g)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);
	int rc;

	if (g->direct && g->buf_idx >= 0) {
		rc = fc->io->ops->pwrite_fixed(fc->io, g->fd, g->buf, g->len,
					       g->base, (unsigned)g->buf_idx);
		sl_stat_add(&fc->st.fixed_writes, 1);
	} else if (g->direct) {
		rc = fc->io->ops->pwrite(fc->io, g->fd, g->buf, g->len,
					 g->base);
	} else {
		rc = fc->io->ops->pwritev(fc->io, g->fd, g->iov, g->nb_iov,
					  g->base);
	}

	if (rc == -ENOSPC || rc == -EDQUOT) {
		if (!__atomic_exchange_n(&fc->space_blocked, 1,
					 __ATOMIC_RELAXED))
			sl_log(SL_WARN, "channel file %s: no space to write "
			       "(%s): refusing puts until space frees",
			       fc->base.name, strerror(-rc));
		return -ENOSPC;
	}
	if (rc < 0) {
		fc_set_unhealthy(fc, "write", rc);
		fc_wake_producers(fc);
		return -EIO;
	}
	/* Written from the rings: their space is free now. */
	for (i = 0; i < nb && !g->direct; i++)
		if (g->rel[i])
			sl_ring_release(fc->prods[i]->ring, g->rel[i]);
	if (!g->direct)
		fc_wake_room(fc);
	rc = fc_zero_ahead(fc, g);
	if (rc < 0) {
		fc_set_unhealthy(fc, "write", rc);
		fc_wake_producers(fc);
		return -EIO;
	}
	g->written = true;
	fc->wpos = g->base + g->len;
	if (g->end_off)
		fc->active = UINT64_MAX;	/* the next group rolls */
	if (__atomic_load_n(&fc->space_blocked, __ATOMIC_RELAXED)) {
		__atomic_store_n(&fc->space_blocked, 0, __ATOMIC_RELAXED);
		sl_log(SL_INFO, "channel file %s: space again, accepting puts",
		       fc->base.name);
		fc_wake_room(fc);
	}
	return 0;
}

/*
 * A failed fdatasync is never retried: Linux may have dropped the dirty
 * pages and marked them clean, so a second fdatasync would "succeed" over
 * lost data. The channel turns unhealthy and acknowledges nothing more.
 */
static void
fc_sync_failed(struct file_channel *fc, int rc)
{
	fc_set_unhealthy(fc, "fdatasync", rc);
	fc_wake_producers(fc);
	fc_group_reset(&fc->grp[0]);
	fc_group_reset(&fc->grp[1]);
	fc_group_reset(&fc->syncg);
}

/*
 * Collect the background fdatasync of the previous group; publish it,
 * the wakeups left to fc_publish_wake().
 */
static void
fc_sync_reap(struct file_channel *fc)
{
	struct fc_group *g = &fc->syncg;
	uint64_t ns;
	int rc;

	if (!fc->syncing)
		return;
	rc = fc->io->ops->fdatasync_wait(fc->io, &ns);
	fc->syncing = false;
	/* The sync's own time: the writer may collect it much later. */
	fc_lat_add(fc, ns);
	sl_stat_add(&fc->st.fdatasyncs, 1);
	if (rc < 0) {
		fc_sync_failed(fc, rc);
		return;
	}
	if (!__atomic_load_n(&fc->unhealthy, __ATOMIC_ACQUIRE))
		fc_publish(fc, g);
}

/* The same, and its wakeups at once. */
static void
fc_sync_finish(struct file_channel *fc)
{
	fc_sync_reap(fc);
	fc_publish_wake(fc);
}

/*
 * The current group is synced or syncing: fill the other one, which may
 * be open already (fc_group_close()).
 */
static void
fc_group_next(struct file_channel *fc)
{
	fc->cur ^= 1;
	if (fc->filling != &fc->grp[fc->cur])
		fc_group_reset(&fc->grp[fc->cur]);
}

/*
 * Sync the written current group: in the background when the backend
 * can (the next group is written meanwhile), else in line.
 */
static void
fc_sync_start(struct file_channel *fc)
{
	struct fc_group *g = &fc->grp[fc->cur];
	uint64_t t0 = sl_time_mono_ns();
	int rc;

	if (fc->io->ops->fdatasync_start) {
		rc = fc->io->ops->fdatasync_start(fc->io, g->fd);
		if (rc == 0) {
			/* Its buffer is written: free for the group after. */
			fc->syncg = *g;
			fc->syncing = true;
			fc_group_reset(g);
			fc_group_next(fc);
			return;
		}
	} else {
		rc = fc->io->ops->fdatasync(fc->io, g->fd);
	}
	fc_lat_add(fc, sl_time_mono_ns() - t0);
	sl_stat_add(&fc->st.fdatasyncs, 1);
	if (rc < 0) {
		fc_sync_failed(fc, rc);
		return;
	}
	fc_publish(fc, g);
	fc_group_next(fc);
}

/* Recycle (or delete) segments wholly before @upto; writer thread. */
static void
fc_reclaim(struct file_channel *fc, uint64_t upto)
{
	struct dlog_seg old[64];
	unsigned n = 0, i;
	bool dirty[FC_MAX_DIRS] = { false };

	pthread_mutex_lock(&fc->lock);
	while (fc->tab.n > 0 && fc->tab.base < upto && n < 64 &&
	       fc->tab.base != fc->active) {
		old[n++] = fc->tab.v[0];
		memmove(&fc->tab.v[0], &fc->tab.v[1],
			(fc->tab.n - 1) * sizeof(fc->tab.v[0]));
		fc->tab.n--;
		fc->tab.base++;
	}
	pthread_mutex_unlock(&fc->lock);
	for (i = 0; i < n; i++) {
		struct dlog_seg *s = &old[i];
		char *path = s->path;
		char spare[4096];

		s->path = NULL;
		sl_dlog_seg_close(s);
		if (s->quarantined) {
			free(path);
			continue;
		}
		if (fc->nb_spares[s->dir] < FC_SPARES &&
		    snprintf(spare, sizeof(spare), "%s/spare-%08x",
			     fc->dirs[s->dir], s->id) < (int)sizeof(spare) &&
		    fc->io->ops->rename(fc->io, path, spare) == 0) {
			fc->nb_spares[s->dir]++;
			sl_stat_add(&fc->st.segments_recycled, 1);
		} else if (fc->io->ops->unlink(fc->io, path) == 0) {
			sl_stat_add(&fc->st.segments_deleted, 1);
		}
		dirty[s->dir] = true;
		free(path);
	}
	for (i = 0; i < fc->nb_dirs; i++)
		if (dirty[i])
			fc->io->ops->fsync_dir(fc->io, fc->dirs[i]);
}

/*
 * Checkpoint the head (the oldest event not committed by a sink), then
 * recycle what lies before it. With dual checkpoints both must be durable
 * first: recovery may fall back to either.
 */
static int
fc_checkpoint(struct file_channel *fc, uint64_t now)
{
	struct dlog_ckpt ck = { 0 };
	struct dlog_loc head;
	struct dlog_seg *s;
	int rc;

	fc->last_ckpt_ns = now;
	fc->next_ckpt_ns = now + (uint64_t)fc->set.checkpoint_interval *
			   SL_NS_PER_MS;
	pthread_mutex_lock(&fc->lock);
	head = fc->nb_ranges ? fc->ranges[0].start : fc->cursor;
	if (head.seg < fc->tab.base && fc->tab.n > 0) {
		/* At the END of a segment already recycled: the next one. */
		s = &fc->tab.v[0];
		head = (struct dlog_loc){ .seg = fc->tab.base,
					  .off = DLOG_DATA_START,
					  .seq = s->first_seq };
	}
	/* Past the END of a segment: the head is the next one's start. */
	s = dlog_segtab_at(&fc->tab, head.seg);
	while (s && s->sealed && head.off >= s->end_off &&
	       dlog_segtab_at(&fc->tab, head.seg + 1)) {
		head.seg++;
		s = dlog_segtab_at(&fc->tab, head.seg);
		head.off = DLOG_DATA_START;
		head.seq = s->first_seq;
	}
	if (!s && fc->tab.n > 0) {
		/* Not yet opened: point at the END of the last segment. */
		head.seg = fc->tab.base + fc->tab.n - 1;
		s = dlog_segtab_at(&fc->tab, head.seg);
		head.off = s->end_off;
	}
	if (s) {
		ck.head_seg = s->id;
		ck.head_off = head.off;
	} else {
		ck.head_seg = fc->next_seg_id - 1;
		ck.head_off = DLOG_DATA_START;
	}
	ck.head_seq = head.seq;
	pthread_mutex_unlock(&fc->lock);
	ck.written_ms = sl_time_wall_ms();
	ck.nb_events = fc_size(&fc->base);
	rc = sl_dlog_ckpt_write(fc->io, fc->ckpt_dir, &ck);
	if (rc < 0) {
		sl_stat_add(&fc->st.ckpt_errors, 1);
		sl_log(SL_ERROR, "channel file %s: checkpoint to %s failed: "
		       "%s", fc->base.name, fc->ckpt_dir, strerror(-rc));
		return rc;
	}
	if (fc->backup_dir) {
		rc = sl_dlog_ckpt_write(fc->io, fc->backup_dir, &ck);
		if (rc < 0) {
			sl_stat_add(&fc->st.ckpt_backup_errors, 1);
			sl_log(SL_ERROR, "channel file %s: backup checkpoint "
			       "to %s failed: %s", fc->base.name,
			       fc->backup_dir, strerror(-rc));
			return rc;
		}
	}
	sl_stat_add(&fc->st.checkpoints, 1);
	if (s)
		fc_reclaim(fc, head.seg);
	return 0;
}

/* True when sinks have moved past a whole segment: worth a checkpoint. */
static bool
fc_reclaimable(struct file_channel *fc)
{
	uint64_t head;

	pthread_mutex_lock(&fc->lock);
	head = fc->nb_ranges ? fc->ranges[0].start.seg : fc->cursor.seg;
	pthread_mutex_unlock(&fc->lock);
	return head > fc->tab.base;
}

static bool
fc_rings_pending(struct file_channel *fc)
{
	unsigned i, nb = __atomic_load_n(&fc->nb_prods, __ATOMIC_ACQUIRE);

	for (i = 0; i < nb; i++)
		if (__atomic_load_n(&fc->prods[i]->ring->tail,
				    __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(&fc->prods[i]->w_pos, __ATOMIC_RELAXED))
			return true;
	return false;
}

/*
 * Events for the writer: committed in a ring, or copied by a producer into
 * the open group.
 */
static bool
fc_input_pending(struct file_channel *fc)
{
	bool open;

	if (fc_rings_pending(fc))
		return true;
	pthread_mutex_lock(&fc->fill_lock);
	open = fc->filling && fc->filling->events;
	pthread_mutex_unlock(&fc->fill_lock);
	return open;
}

static void
fc_idle_wait(struct file_channel *fc, int timeout_ms)
{
	struct pollfd pfd = { .fd = fc->wfd, .events = POLLIN };
	uint64_t v;

	__atomic_store_n(&fc->writer_sleeping, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!fc_input_pending(fc) &&
	    !__atomic_load_n(&fc->stop, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&fc->ckpt_req, __ATOMIC_ACQUIRE))
		poll(&pfd, 1, timeout_ms);
	__atomic_store_n(&fc->writer_sleeping, 0, __ATOMIC_RELAXED);
	if (read(fc->wfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sl_log(SL_ERROR, "channel file %s: eventfd: %s",
		       fc->base.name, strerror(errno));
}

static void
fc_do_checkpoint_request(struct file_channel *fc, uint64_t now)
{
	int rc = fc_checkpoint(fc, now);

	__atomic_store_n(&fc->ckpt_rc, rc, __ATOMIC_RELAXED);
	__atomic_store_n(&fc->ckpt_req, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&fc->ckpt_gen, 1, __ATOMIC_RELEASE);
}

/*
 * Fill the current group from the rings (waiting groupCommitDelayUs for
 * more, if set) and close it if it holds anything: its events then (the
 * writer's and those producers copied), else 0; @added: the writer's.
 */
static uint64_t
fc_group_fill(struct file_channel *fc, struct fc_group *g, uint64_t *added)
{
	uint64_t closed = 0;

	pthread_mutex_lock(&fc->fill_lock);
	*added = fc_fill(fc, g);
	pthread_mutex_unlock(&fc->fill_lock);
	if (fc->set.group_delay_us > 0 && *added && !g->end_off &&
	    g->len < fc->set.group_bytes) {
		sl_time_sleep_ns((uint64_t)fc->set.group_delay_us * 1000);
		pthread_mutex_lock(&fc->fill_lock);
		*added += fc_fill(fc, g);
		pthread_mutex_unlock(&fc->fill_lock);
	}
	if (g->direct && *added)
		fc_wake_room(fc);	/* copied out: ring space is free */
	pthread_mutex_lock(&fc->fill_lock);
	if (g->events || g->end_off) {
		closed = g->events;
		fc_group_close(fc, g);
	} else if (!fc->direct) {
		g->len = 0;		/* header only: nothing yet */
	}
	pthread_mutex_unlock(&fc->fill_lock);
	return closed;
}

static void *
fc_writer_main(void *arg)
{
	struct file_channel *fc = arg;
	uint64_t now = sl_time_mono_ns();

	fc->next_ckpt_ns = now + (uint64_t)fc->set.checkpoint_interval *
			   SL_NS_PER_MS;
	fc->last_ckpt_ns = now;
	fc_space_check(fc, now);
	for (;;) {
		int stop = __atomic_load_n(&fc->stop, __ATOMIC_ACQUIRE);
		struct fc_group *g;
		uint64_t added = 0, closed = 0;
		bool blocked;

		now = sl_time_mono_ns();
		if (stop == 2)
			break;		/* a crash: leave any sync in flight */
		if (__atomic_load_n(&fc->unhealthy, __ATOMIC_ACQUIRE)) {
			if (__atomic_load_n(&fc->ckpt_req, __ATOMIC_ACQUIRE)) {
				__atomic_store_n(&fc->ckpt_rc, -EIO,
						 __ATOMIC_RELAXED);
				__atomic_store_n(&fc->ckpt_req, 0,
						 __ATOMIC_RELAXED);
				__atomic_fetch_add(&fc->ckpt_gen, 1,
						   __ATOMIC_RELEASE);
			}
			if (stop)
				break;
			fc_idle_wait(fc, FC_IDLE_MS);
			continue;
		}
		if (now >= fc->next_space_ns)
			fc_space_check(fc, now);
		blocked = __atomic_load_n(&fc->space_blocked,
					  __ATOMIC_RELAXED);
		g = &fc->grp[fc->cur];
		/* Blocked for space: keep trying, as sinks may free some. */
		if (!g->ready && fc->active == UINT64_MAX &&
		    (blocked || fc_rings_pending(fc))) {
			int rc = fc_roll(fc);

			if (rc == 0 && blocked) {
				__atomic_store_n(&fc->space_blocked, 0,
						 __ATOMIC_RELAXED);
				blocked = false;
				sl_log(SL_INFO, "channel file %s: space for a "
				       "new segment again, accepting puts",
				       fc->base.name);
				fc_wake_room(fc);
			} else if (rc == -ENOSPC || rc == -EDQUOT) {
				if (!__atomic_exchange_n(&fc->space_blocked, 1,
							 __ATOMIC_RELAXED))
					sl_log(SL_WARN, "channel file %s: no "
					       "space for a new segment: "
					       "refusing puts until sinks "
					       "free some", fc->base.name);
				blocked = true;
			} else if (rc < 0) {
				fc_sync_finish(fc);
				fc_set_unhealthy(fc, "opening a segment", rc);
				fc_wake_producers(fc);
				continue;
			}
		}
		if (!g->ready && fc->active != UINT64_MAX)
			closed = fc_group_fill(fc, g, &added);
		/* A group kept after a failed write is retried as is. */
		if (g->ready && !g->written)
			fc_group_write(fc, g);
		/* Before waiting for the sync in flight: the next segment. */
		fc_seg_prepare(fc);
		/* One sync in flight at most: the last group's, then ours;
		 * the last group's readers are woken once ours is issued. */
		fc_sync_reap(fc);
		if (g->written && !__atomic_load_n(&fc->unhealthy,
						   __ATOMIC_ACQUIRE))
			fc_sync_start(fc);
		fc_publish_wake(fc);
		blocked = __atomic_load_n(&fc->space_blocked,
					  __ATOMIC_RELAXED);
		if (__atomic_load_n(&fc->ckpt_req, __ATOMIC_ACQUIRE)) {
			fc_do_checkpoint_request(fc, now);
		} else if (now >= fc->next_ckpt_ns ||
			   (now >= fc->last_ckpt_ns + FC_RECLAIM_CKPT_NS &&
			    (blocked || fc_reclaimable(fc)))) {
			fc_checkpoint(fc, now);
		}
		if (added || closed)
			continue;
		if (blocked) {
			fc_sync_finish(fc);
			if (stop)
				break;
			sl_time_sleep_ns(FC_BLOCKED_RETRY_NS);
			fc_space_check(fc, sl_time_mono_ns());
			continue;
		}
		if (fc->syncing)
			continue;	/* collect it before sleeping */
		if (stop && !fc_input_pending(fc) && !fc->grp[fc->cur].ready)
			break;
		fc_idle_wait(fc, FC_IDLE_MS);
	}
	if (__atomic_load_n(&fc->stop, __ATOMIC_ACQUIRE) == 1)
		fc_sync_finish(fc);
	if (__atomic_load_n(&fc->stop, __ATOMIC_ACQUIRE) == 1 &&
	    !__atomic_load_n(&fc->unhealthy, __ATOMIC_ACQUIRE) &&
	    fc->set.checkpoint_on_close)
		fc_checkpoint(fc, sl_time_mono_ns());
	if (__atomic_load_n(&fc->stop, __ATOMIC_ACQUIRE) == 1)
		fc_seg_unprepare(fc);
	return NULL;
}

static void
fc_writer_stop(struct file_channel *fc, int how)
{
	uint64_t one = 1;

	if (!fc->writer_running)
		return;
	__atomic_store_n(&fc->stop, how, __ATOMIC_RELEASE);
	if (write(fc->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sl_log(SL_ERROR, "channel file %s: eventfd: %s",
		       fc->base.name, strerror(errno));
	pthread_join(fc->writer, NULL);
	fc->writer_running = false;
}

static int
fc_start(struct sl_channel *ch)
{
	struct file_channel *fc = (struct file_channel *)ch;
	int rc;

	if (fc->writer_running)
		return 0;
	__atomic_store_n(&fc->stop, 0, __ATOMIC_RELEASE);
	rc = pthread_create(&fc->writer, NULL, fc_writer_main, fc);
	if (rc != 0)
		return -rc;
	sl_thread_name(fc->writer, "chan", fc->base.name);
	fc->writer_running = true;
	return 0;
}

/* Graceful: write out what the rings hold, then a last checkpoint. */
static void
fc_stop(struct sl_channel *ch)
{
	fc_writer_stop((struct file_channel *)ch, 1);
}

/* ---- stats ------------------------------------------------------------------ */

/*
 * directIO's cache now: the groups it holds and their bytes (of the
 * arena's directCacheBytes). Any thread.
 */
static void
fc_cache_usage(const struct file_channel *cfc, uint64_t *groups,
	       uint64_t *bytes)
{
	struct file_channel *fc = (struct file_channel *)cfc;

	pthread_mutex_lock(&fc->lock);
	*groups = fc->cache_n;
	*bytes = fc->cache_bytes;
	pthread_mutex_unlock(&fc->lock);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
fc_stats(const struct sl_channel *ch, struct sl_stats_sink *out)
{
	const struct file_channel *fc = (const struct file_channel *)ch;
	const struct fc_stats *st = &fc->st;
	uint32_t lat[FC_LAT_SAMPLES];
	uint64_t n = sl_stat_read(&st->lat_n), syncs, cached, cached_bytes;
	unsigned i, m = (unsigned)SL_MIN(n, (uint64_t)FC_LAT_SAMPLES);

	out->put_u64(out, "Unhealthy", (uint64_t)__atomic_load_n(
		     &fc->unhealthy, __ATOMIC_RELAXED), SL_STAT_GAUGE,
		     SL_STAT_FLUME);
	out->put_u64(out, "CheckpointWriteErrorCount",
		     sl_stat_read(&st->ckpt_errors), SL_STAT_COUNTER,
		     SL_STAT_FLUME);
	out->put_u64(out, "CheckpointBackupWriteErrorCount",
		     sl_stat_read(&st->ckpt_backup_errors), SL_STAT_COUNTER,
		     SL_STAT_FLUME);
	syncs = sl_stat_read(&st->fdatasyncs);
	out->put_u64(out, "bytes_written", sl_stat_read(&st->bytes_written),
		     SL_STAT_COUNTER, SL_STAT_SLUICE);
	out->put_u64(out, "fdatasyncs", syncs, SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "group_events_avg", syncs ?
		     sl_stat_read(&st->group_events) / syncs : 0,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "group_bytes_avg", syncs ?
		     sl_stat_read(&st->group_bytes) / syncs : 0,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	for (i = 0; i < m; i++)
		lat[i] = __atomic_load_n(&st->lat_us[i], __ATOMIC_RELAXED);
	qsort(lat, m, sizeof(lat[0]), u32_cmp);
	out->put_u64(out, "fdatasync_p50_us", m ? lat[m / 2] : 0,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "fdatasync_p99_us", m ? lat[(m * 99) / 100] : 0,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "segments", sl_file_channel_segments(ch),
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "segments_created",
		     sl_stat_read(&st->segments_created), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "segments_recycled",
		     sl_stat_read(&st->segments_recycled), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "segments_reused",
		     sl_stat_read(&st->segments_reused), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "segments_deleted",
		     sl_stat_read(&st->segments_deleted), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "checkpoints", sl_stat_read(&st->checkpoints),
		     SL_STAT_COUNTER, SL_STAT_SLUICE);
	out->put_u64(out, "space_refusals", sl_stat_read(&st->space_refusals),
		     SL_STAT_COUNTER, SL_STAT_SLUICE);
	out->put_u64(out, "ring_full", sl_stat_read(&st->ring_full),
		     SL_STAT_COUNTER, SL_STAT_SLUICE);
	out->put_u64(out, "ring_bytes", fc_ring_bytes(fc), SL_STAT_GAUGE,
		     SL_STAT_SLUICE);
	if (fc->cache_cap) {
		out->put_u64(out, "direct_cache_hits",
			     sl_stat_read(&st->cache_hits), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
		out->put_u64(out, "direct_cache_misses",
			     sl_stat_read(&st->cache_misses), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
		out->put_u64(out, "direct_cache_skips",
			     sl_stat_read(&st->cache_skips), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
		fc_cache_usage(fc, &cached, &cached_bytes);
		out->put_u64(out, "direct_cache_groups", cached,
			     SL_STAT_GAUGE, SL_STAT_SLUICE);
		out->put_u64(out, "direct_cache_bytes", cached_bytes,
			     SL_STAT_GAUGE, SL_STAT_SLUICE);
	}
	if (__atomic_load_n(&fc->direct, __ATOMIC_RELAXED)) {
		out->put_u64(out, "direct_commit_copies",
			     sl_stat_read(&st->commit_copied), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
		out->put_u64(out, "direct_writer_copies",
			     sl_stat_read(&st->writer_copied), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
		/* 0 registered: each O_DIRECT write pins its buffer's pages */
		out->put_u64(out, "direct_registered_buffers",
			     fc->nb_fixed_bufs, SL_STAT_GAUGE, SL_STAT_SLUICE);
		out->put_u64(out, "direct_fixed_writes",
			     sl_stat_read(&st->fixed_writes), SL_STAT_COUNTER,
			     SL_STAT_SLUICE);
	}
	out->put_u64(out, "space_blocked", (uint64_t)(__atomic_load_n(
		     &fc->space_blocked, __ATOMIC_RELAXED) |
		     __atomic_load_n(&fc->space_low, __ATOMIC_RELAXED)),
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "replayed_on_start", fc->rec.replayed,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "truncated_bytes_on_start",
		     fc->rec.truncated_bytes, SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "lost_events_on_start", fc->rec.lost_events,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "missing_segments_on_start",
		     fc->rec.missing_segments, SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "quarantined_segments", fc->rec.quarantined,
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "restart_ms", fc->rec.restart_ms, SL_STAT_GAUGE,
		     SL_STAT_SLUICE);
	out->put_str(out, "started_from", fc->rec.fresh ? "new log" :
		     fc->rec.used_checkpoint ? (fc->rec.used_backup ?
		     "backup checkpoint" : "checkpoint") : "full scan",
		     SL_STAT_SLUICE);
}

/* ---- test and tool hooks (dlog_int.h) --------------------------------------- */

void
sl_file_channel_recovery(const struct sl_channel *ch,
			 struct dlog_recovery *out)
{
	*out = ((const struct file_channel *)ch)->rec;
}

bool
sl_file_channel_unhealthy(const struct sl_channel *ch)
{
	return __atomic_load_n(&((const struct file_channel *)ch)->unhealthy,
			       __ATOMIC_ACQUIRE);
}

int
sl_file_channel_quiesce(struct sl_channel *ch, uint64_t timeout_ms)
{
	struct file_channel *fc = (struct file_channel *)ch;
	uint64_t deadline = sl_time_mono_ns() + timeout_ms * SL_NS_PER_MS;

	for (;;) {
		unsigned i, nb = __atomic_load_n(&fc->nb_prods,
						 __ATOMIC_ACQUIRE);
		bool done = true;

		for (i = 0; i < nb; i++)
			if (fc_producer_acked(&fc->prods[i]->base) !=
			    fc->prods[i]->ticket)
				done = false;
		if (done || sl_file_channel_unhealthy(ch))
			return 0;
		if (sl_time_mono_ns() >= deadline)
			return -ETIMEDOUT;
		sl_time_sleep_ns(200 * 1000);
	}
}

int
sl_file_channel_checkpoint(struct sl_channel *ch, uint64_t timeout_ms)
{
	struct file_channel *fc = (struct file_channel *)ch;
	uint64_t gen = __atomic_load_n(&fc->ckpt_gen, __ATOMIC_ACQUIRE);
	uint64_t deadline = sl_time_mono_ns() + timeout_ms * SL_NS_PER_MS;
	uint64_t one = 1;

	if (!fc->writer_running)
		return -ESRCH;
	__atomic_store_n(&fc->ckpt_req, 1, __ATOMIC_RELEASE);
	if (write(fc->wfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	while (__atomic_load_n(&fc->ckpt_gen, __ATOMIC_ACQUIRE) == gen) {
		if (sl_time_mono_ns() >= deadline)
			return -ETIMEDOUT;
		sl_time_sleep_ns(200 * 1000);
	}
	return __atomic_load_n(&fc->ckpt_rc, __ATOMIC_RELAXED);
}

void
sl_file_channel_crash(struct sl_channel *ch)
{
	struct file_channel *fc = (struct file_channel *)ch;

	fc_writer_stop(fc, 2);
	fc_destroy(ch);
}

const char *
sl_file_channel_data_dir(const struct sl_channel *ch, unsigned i)
{
	const struct file_channel *fc = (const struct file_channel *)ch;

	return i < fc->nb_dirs ? fc->dirs[i] : NULL;
}

const char *
sl_file_channel_checkpoint_dir(const struct sl_channel *ch)
{
	return ((const struct file_channel *)ch)->ckpt_dir;
}

uint64_t
sl_file_channel_segments(const struct sl_channel *ch)
{
	struct file_channel *fc = (struct file_channel *)ch;
	uint64_t n;

	pthread_mutex_lock(&fc->lock);
	n = fc->tab.n;
	pthread_mutex_unlock(&fc->lock);
	return n;
}

/* Bytes in this producer's ring not yet written to the log. Any thread. */
static int64_t
fc_producer_depth(const struct sl_chan_producer *p)
{
	return (int64_t)sl_ring_used(((const struct fc_producer *)p)->ring);
}

const struct sl_channel_ops sl_file_channel_ops = {
	.type = "file",
	.aliases = fc_aliases,
	.keys = fc_keys,
	.settings_size = sizeof(struct fc_settings),
	.validate = fc_validate,
	.create = fc_create,
	.producer_open = fc_producer_open,
	.consumer_open = fc_consumer_open,
	.start = fc_start,
	.stop = fc_stop,
	.destroy = fc_destroy,
	.put_begin = fc_put_begin,
	.put = fc_put,
	.put_commit = fc_put_commit,
	.put_rollback = fc_put_rollback,
	.producer_acked = fc_producer_acked,
	.producer_fd = fc_producer_fd,
	.producer_failed = fc_producer_failed,
	.producer_room_fd = fc_producer_room_fd,
	.producer_room_arm = fc_producer_room_arm,
	.take = fc_take,
	.take_commit = fc_take_commit,
	.take_rollback = fc_take_rollback,
	.consumer_wait = fc_consumer_wait,
	.size = fc_size,
	.capacity = fc_capacity,
	.stats = fc_stats,
	.producer_depth = fc_producer_depth,
};

void
sl_file_channel_dump(struct sl_channel *ch, FILE *out)
{
	struct file_channel *fc = (struct file_channel *)ch;
	size_t i;

	pthread_mutex_lock(&fc->lock);
	fprintf(out, "cursor seg %llu off %llu seq %llu; durable %llu; "
		"table base %llu n %zu active %llu\n",
		(unsigned long long)fc->cursor.seg,
		(unsigned long long)fc->cursor.off,
		(unsigned long long)fc->cursor.seq,
		(unsigned long long)fc->durable_seq,
		(unsigned long long)fc->tab.base, fc->tab.n,
		(unsigned long long)fc->active);
	for (i = 0; i < fc->nb_ranges; i++) {
		const struct fc_range *r = &fc->ranges[i];

		fprintf(out, "  range %llu %d nb %u: %llu/%llu/%llu .. "
			"%llu/%llu/%llu\n", (unsigned long long)r->id,
			r->state, r->nb_evs,
			(unsigned long long)r->start.seg,
			(unsigned long long)r->start.off,
			(unsigned long long)r->start.seq,
			(unsigned long long)r->end.seg,
			(unsigned long long)r->end.off,
			(unsigned long long)r->end.seq);
	}
	for (i = 0; i < fc->tab.n; i++) {
		const struct dlog_seg *s = &fc->tab.v[i];

		fprintf(out, "  seg %08x first %llu end %llu sealed %d\n",
			s->id, (unsigned long long)s->first_seq,
			(unsigned long long)s->end_off, s->sealed);
	}
	pthread_mutex_unlock(&fc->lock);
}
