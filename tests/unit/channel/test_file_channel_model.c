/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model-based test of the file channel: random sequences of put, commit,
 * put rollback, take (two sinks, several takes in flight), take commit,
 * take rollback, waiting for acks, checkpoints, crash and reopen, run
 * against the real channel and against a small in-memory model, which must
 * agree after every step. Segment ids and sequence numbers start just
 * before their wrap points so both wrap during the run. A take's events
 * are checked again, byte for byte, when it is committed or rolled back:
 * they must stay valid until then. The run is made twice: through the
 * page cache, and with directIO and a read cache of ten groups, so that
 * groups are cached, dropped and skipped while takes hold them.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "fc_util.h"

#define NB_STEPS	100000u
#define CAP		3000u
#define TXCAP		50u
#define MAX_LOG		40000u
#define NB_CONS		2u
#define INFLIGHT	4u

enum ev_state { AVAIL, TAKEN, DONE };

struct model {
	uint64_t id[MAX_LOG];		/* log order */
	uint8_t state[MAX_LOG];
	bool txn_end[MAX_LOG];
	size_t n;			/* committed puts in the log */
	size_t vis;			/* [0, vis) known visible */
	size_t ckpt_lb;			/* a durable checkpoint is >= this */
	uint64_t ticket_end[MAX_LOG];	/* log length after ticket t */
	uint64_t nb_tickets;
	/* in-flight takes per consumer, oldest first: log index + count */
	size_t tk_first[NB_CONS][INFLIGHT];
	size_t tk_nb[NB_CONS][INFLIGHT];
	struct sl_take *tk[NB_CONS][INFLIGHT];
	unsigned nb_tk[NB_CONS];
	bool end_of[1u << 20];		/* id -> was the end of its txn */
};

static struct model M;
static char hist[64][96];
static unsigned nb_hist;

#define HIST(...) snprintf(hist[nb_hist++ % 64], 96, __VA_ARGS__)

static void
hist_dump(void)
{
	unsigned i = nb_hist > 64 ? nb_hist - 64 : 0;

	for (; i < nb_hist; i++)
		fprintf(stderr, "  %s\n", hist[i % 64]);
}
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

static size_t
model_size(void)
{
	size_t i, s = 0;

	for (i = 0; i < M.n; i++)
		s += M.state[i] != DONE;
	return s;
}

static size_t
model_head(void)
{
	size_t i;

	for (i = 0; i < M.n && M.state[i] == DONE; i++)
		;
	return i;
}

/* Drop the DONE prefix so the arrays stay small. */
static void
model_compact(void)
{
	size_t h = SL_MIN(model_head(), M.ckpt_lb), c, k;
	uint64_t t;

	if (h < 4096)
		return;
	memmove(M.id, M.id + h, (M.n - h) * sizeof(M.id[0]));
	memmove(M.state, M.state + h, (M.n - h) * sizeof(M.state[0]));
	memmove(M.txn_end, M.txn_end + h, (M.n - h) * sizeof(M.txn_end[0]));
	M.n -= h;
	M.vis -= SL_MIN(M.vis, h);
	M.ckpt_lb -= h;
	for (t = 0; t <= M.nb_tickets; t++)
		M.ticket_end[t] -= SL_MIN(M.ticket_end[t], h);
	for (c = 0; c < NB_CONS; c++)
		for (k = 0; k < M.nb_tk[c]; k++)
			M.tk_first[c][k] -= h;
}

struct rig {
	struct fc_handle h;
	struct sl_chan_producer *p;
	struct sl_chan_consumer *c[NB_CONS];
	struct sl_chan_consumer *verify;
};

static const char *const model_kv[] = {
	"maxFileSize=65536", "capacity=3000", "transactionCapacity=50",
	"checkpointInterval=86400000", "groupCommitBytes=32768",
	"ringBytes=1048576", NULL,
};

/*
 * Groups of up to 32 KiB (48 KiB with room for the writer's own records)
 * in an arena of 96 KiB: two at their largest, many more small ones, so
 * that held takes leave groups uncached (direct_cache_skips).
 */
static const char *const model_direct_kv[] = {
	"maxFileSize=65536", "capacity=3000", "transactionCapacity=50",
	"checkpointInterval=86400000", "groupCommitBytes=32768",
	"ringBytes=1048576", "directIO=true", "directCacheBytes=98304",
	NULL,
};

static const char *const *rig_kv = model_kv;

static void
rig_open(struct rig *r, const char *dir, bool fresh)
{
	struct dlog_test_opts o = {
		.set_first = fresh, .first_seg_id = UINT32_MAX - 2,
		.first_seq = UINT64_MAX - 1000,
	};
	struct sl_err err = { 0 };
	unsigned i;

	fcu_open(&r->h, dir, rig_kv, &o);
	for (i = 0; i < NB_CONS; i++) {
		r->c[i] = sl_channel_consumer_open(r->h.ch, "k", 8, INFLIGHT,
						   &err);
		cr_assert_not_null(r->c[i]);
	}
	r->verify = sl_channel_consumer_open(r->h.ch, "v", TXCAP, 200, &err);
	r->p = sl_channel_producer_open(r->h.ch, "r", &err);
	cr_assert(r->verify && r->p);
	cr_assert_eq(r->h.ch->ops->start(r->h.ch), 0);
}

/*
 * After a reopen the channel holds L[h..e) of the old log for some h in
 * [ckpt_lb, head] and some e at a transaction end in [vis, n]. Take it all
 * with the verifier, check, roll it back, and make that the new model.
 */
static void
check_reopen(struct rig *r, size_t step)
{
	static uint64_t got[MAX_LOG];
	struct sl_take *first = NULL, *t;
	size_t n = 0, i, h, head = model_head(), e;

	uint64_t deadline = sl_time_mono_ns() + 5 * SL_NS_PER_SEC;

	while ((t = sl_channel_take(r->verify, TXCAP)) ||
	       (n < sl_channel_size(r->h.ch) &&
		sl_time_mono_ns() < deadline)) {
		if (!t)
			continue;
		if (!first)
			first = t;
		for (i = 0; i < t->nb_evs; i++) {
			cr_assert_lt(n, MAX_LOG);
			got[n++] = fcu_ev_check(&t->evs[i]);
		}
	}
	cr_assert_eq(n, sl_channel_size(r->h.ch), "step %zu: all visible",
		     step);
	if (n == 0) {
		/* Empty: every acknowledged event had been committed. */
		cr_assert_leq(M.vis, head, "step %zu: acked events lost",
			      step);
	} else {
		for (h = M.ckpt_lb; h <= head && h < M.n; h++)
			if (M.id[h] == got[0])
				break;
		cr_assert(h <= head && h < M.n && M.id[h] == got[0],
			  "step %zu: recovered head %" PRIu64 " not in "
			  "[lb %zu, head %zu]", step, got[0], M.ckpt_lb, head);
		for (i = 0; i < n; i++)
			cr_assert(h + i < M.n && M.id[h + i] == got[i],
				  "step %zu: recovered event %zu is %" PRIu64,
				  step, i, got[i]);
		e = h + n;
		cr_assert_geq(e, M.vis, "step %zu: acked events lost", step);
		cr_assert(M.txn_end[e - 1], "step %zu: ends mid-transaction",
			  step);
	}
	if (first)
		sl_channel_take_rollback(r->verify, first);
	/* The new model: what came back, all available and visible. */
	for (i = 0; i < n; i++) {
		M.id[i] = got[i];
		M.state[i] = AVAIL;
		M.txn_end[i] = M.end_of[got[i]];
	}
	M.n = n;
	M.vis = n;
	M.ckpt_lb = 0;
	M.nb_tickets = 0;
	M.ticket_end[0] = n;
	memset(M.nb_tk, 0, sizeof(M.nb_tk));
}

/* Lowest available event and the length of its run. */
static size_t
avail_run(size_t *start)
{
	size_t i = 0, n = 0;

	while (i < M.n && M.state[i] != AVAIL)
		i++;
	*start = i;
	while (i + n < M.n && M.state[i + n] == AVAIL)
		n++;
	return n;
}

static void
step_take(struct rig *r, unsigned c, size_t step)
{
	unsigned max = 1 + (unsigned)rnd(8), i;
	size_t start, run = avail_run(&start), lo, hi;
	struct sl_take *t;
	uint64_t acked = sl_channel_producer_acked(r->p);

	M.vis = SL_MAX(M.vis, M.ticket_end[acked]);
	t = sl_channel_take(r->c[c], max);
	if (M.nb_tk[c] == INFLIGHT) {
		cr_assert_null(t, "step %zu: take beyond max_inflight", step);
		return;
	}
	hi = SL_MIN(run, (size_t)max);
	lo = start < M.vis ? SL_MIN(hi, M.vis - start) : 0;
	if (!t) {
		cr_assert_eq(lo, 0, "step %zu: take found nothing, expected "
			     ">= %zu", step, lo);
		return;
	}
	HIST("%zu take c%u max %u -> %u at %zu (run %zu)", step, c, max,
	     t->nb_evs, start, run);
	cr_assert(t->nb_evs >= lo && t->nb_evs <= hi, "step %zu: took %u, "
		  "expected %zu..%zu", step, t->nb_evs, lo, hi);
	for (i = 0; i < t->nb_evs; i++) {
		uint64_t got = fcu_ev_check(&t->evs[i]);

		if (got != M.id[start + i]) {
			size_t j;

			hist_dump();
			sl_file_channel_dump(r->h.ch, stderr);
			for (j = 0; j < M.n && M.id[j] != got; j++)
				;
			cr_assert_fail("step %zu: take event %u is %" PRIu64
				       " (model index %zu, state %d), expected "
				       "%" PRIu64 " at %zu; run %zu, n %zu, vis "
				       "%zu, took %u", step, i, got, j,
				       j < M.n ? M.state[j] : -1,
				       M.id[start + i], start + i, run, M.n,
				       M.vis, t->nb_evs);
		}
		M.state[start + i] = TAKEN;
	}
	M.vis = SL_MAX(M.vis, start + t->nb_evs);
	M.tk_first[c][M.nb_tk[c]] = start;
	M.tk_nb[c][M.nb_tk[c]] = t->nb_evs;
	M.tk[c][M.nb_tk[c]] = t;
	M.nb_tk[c]++;
}

/* The events of consumer @c's take @k are still what was taken. */
static void
take_recheck(unsigned c, unsigned k, size_t step)
{
	const struct sl_take *t = M.tk[c][k];
	unsigned i;

	for (i = 0; i < t->nb_evs; i++)
		cr_assert_eq(fcu_ev_check(&t->evs[i]),
			     M.id[M.tk_first[c][k] + i], "step %zu: a held "
			     "take's event %u changed", step, i);
}

static void
step_commit(struct rig *r, unsigned c, size_t step)
{
	size_t i, k;

	if (!M.nb_tk[c])
		return;
	take_recheck(c, 0, step);
	HIST("%zu commit c%u %zu+%zu", step, c, M.tk_first[c][0],
	     M.tk_nb[c][0]);
	cr_assert_eq(sl_channel_take_commit(r->c[c], M.tk[c][0]), 0);
	for (i = 0; i < M.tk_nb[c][0]; i++)
		M.state[M.tk_first[c][0] + i] = DONE;
	for (k = 1; k < M.nb_tk[c]; k++) {
		M.tk_first[c][k - 1] = M.tk_first[c][k];
		M.tk_nb[c][k - 1] = M.tk_nb[c][k];
		M.tk[c][k - 1] = M.tk[c][k];
	}
	M.nb_tk[c]--;
	(void)step;
}

static void
step_rollback(struct rig *r, unsigned c)
{
	unsigned k, j;
	size_t i;

	if (!M.nb_tk[c])
		return;
	k = (unsigned)rnd(M.nb_tk[c]);
	HIST("rollback c%u k %u of %u (%zu+%zu)", c, k, M.nb_tk[c],
	     M.tk_first[c][k], M.tk_nb[c][k]);
	for (j = k; j < M.nb_tk[c]; j++)
		take_recheck(c, j, 0);
	sl_channel_take_rollback(r->c[c], M.tk[c][k]);
	for (j = k; j < M.nb_tk[c]; j++)
		for (i = 0; i < M.tk_nb[c][j]; i++)
			M.state[M.tk_first[c][j] + i] = AVAIL;
	M.nb_tk[c] = k;
}

static uint64_t next_id;

static void
step_put(struct rig *r, size_t step)
{
	unsigned n = 1 + (unsigned)rnd(5), i;
	bool rollback = rnd(20) == 0;
	struct fcu_ev e;
	int64_t t;

	sl_channel_put_begin(r->p);
	for (i = 0; i < n; i++) {
		fcu_ev_make(&e, next_id + i, 20 + (unsigned)rnd(400));
		cr_assert_eq(sl_channel_put(r->p, &e.ev), 0);
	}
	if (rollback) {
		sl_channel_put_rollback(r->p);
		return;
	}
	t = sl_channel_put_commit(r->p);
	if (model_size() + n > CAP) {
		cr_assert_eq(t, -ENOSPC, "step %zu: over capacity", step);
		return;
	}
	cr_assert_eq(t, (int64_t)M.nb_tickets + 1, "step %zu: commit %lld",
		     step, (long long)t);
	cr_assert_lt(M.n + n, MAX_LOG);
	for (i = 0; i < n; i++) {
		M.id[M.n] = next_id + i;
		M.state[M.n] = AVAIL;
		M.txn_end[M.n] = i + 1 == n;
		M.end_of[next_id + i] = i + 1 == n;
		M.n++;
	}
	next_id += n;
	M.ticket_end[++M.nb_tickets] = M.n;
}

/* directIO's cache counters, summed over the channel's lives. */
static uint64_t tally_hits, tally_misses, tally_skips;

static void
direct_tally(struct rig *r)
{
	if (rig_kv != model_direct_kv)
		return;
	tally_hits += stat_of(r->h.ch, "direct_cache_hits");
	tally_misses += stat_of(r->h.ch, "direct_cache_misses");
	tally_skips += stat_of(r->h.ch, "direct_cache_skips");
}

static void
model_run(const char *dir)
{
	struct rig r;
	size_t step, crashes = 0, ckpts = 0;

	memset(&M, 0, sizeof(M));
	if (getenv("SL_MODEL_SEED"))
		rng = strtoull(getenv("SL_MODEL_SEED"), NULL, 0) | 1;
	cr_log_info("seed %#" PRIx64 " (set SL_MODEL_SEED to repeat)", rng);
	rig_open(&r, dir, true);
	for (step = 0; step < NB_STEPS; step++) {
		uint64_t w = rnd(1000);
		unsigned c = (unsigned)rnd(NB_CONS);

		cr_assert_lt(next_id, (uint64_t)SL_ARRAY_SIZE(M.end_of));
		if (w < 300) {
			step_put(&r, step);
		} else if (w < 600) {
			step_take(&r, c, step);
		} else if (w < 880) {
			step_commit(&r, c, step);
		} else if (w < 940) {
			step_rollback(&r, c);
		} else if (w < 960) {
			cr_assert_eq(sl_file_channel_quiesce(r.h.ch, 10000), 0);
			M.vis = M.n;
		} else if (w < 990) {
			cr_assert_eq(sl_file_channel_checkpoint(r.h.ch, 10000),
				     0);
			M.ckpt_lb = model_head();
			HIST("%zu checkpoint head %zu", step, M.ckpt_lb);
			ckpts++;
		} else if (w < 993) {
			uint64_t acked = sl_channel_producer_acked(r.p);

			M.vis = SL_MAX(M.vis, M.ticket_end[acked]);
			direct_tally(&r);
			fcu_crash(&r.h);
			rig_open(&r, dir, false);
			check_reopen(&r, step);
			HIST("%zu reopen -> %zu events", step, M.n);
			crashes++;
		}
		cr_assert_eq(sl_channel_size(r.h.ch), model_size(),
			     "step %zu: size", step);
		model_compact();
	}
	cr_assert_gt(crashes, 100);
	cr_log_info("%u steps, %zu crashes, %zu checkpoints, %" PRIu64
		    " events", NB_STEPS, crashes, ckpts, next_id);
	direct_tally(&r);
	fcu_close(&r.h);
}

Test(file_channel_model, agrees_with_a_model_over_100k_random_steps,
     .timeout = 900)
{
	char *dir = fcu_tmpdir("/dev/shm");

	model_run(dir);
	fcu_rmrf(dir);
	free(dir);
}

/*
 * The same with directIO: takes read the cached groups, which must not be
 * given to new groups while a take holds them (take_recheck), and what
 * was not cached or was dropped is read from the segments.
 */
Test(file_channel_model, agrees_with_a_model_with_direct_io_and_its_cache,
     .timeout = 900)
{
	char *dir = fcu_tmpdir("/dev/shm"), probe[600];
	int fd;

	snprintf(probe, sizeof(probe), "%s/probe", dir);
	fd = open(probe, O_CREAT | O_RDWR | O_DIRECT, 0600);
	if (fd < 0) {
		cr_log_warn("%s: no O_DIRECT here (%s): the channel writes "
			    "through the page cache and has no cache to test",
			    dir, strerror(errno));
	} else {
		close(fd);
		unlink(probe);
	}
	rig_kv = model_direct_kv;
	model_run(dir);
	cr_log_info("direct cache: %" PRIu64 " events read from it, %" PRIu64
		    " from the segments, %" PRIu64 " groups not cached",
		    tally_hits, tally_misses, tally_skips);
	if (fd >= 0) {
		cr_assert_gt(tally_hits, 0);
		cr_assert_gt(tally_misses, 0);
		cr_assert_gt(tally_skips, 0);
	}
	fcu_rmrf(dir);
	free(dir);
}
