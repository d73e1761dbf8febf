/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory channel: Flume's transaction semantics (capacity,
 * transactionCapacity, byteCapacity, rollback order), several takes in
 * flight committed in order, and counters that add up.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chan_int.h"
#include "sl_channel.h"
#include "sl_ring.h"

struct fixture {
	struct sl_channel *ch;
	void *settings;
};

/* Build a memory channel from "key=value" pairs through its key table. */
static struct sl_channel *
mem_open(void **settings, const char *const *kv, size_t n)
{
	const struct sl_channel_ops *ops = &sl_memory_channel_ops;
	struct sl_prop props_v[8];
	struct sl_props props = { .comp = "a1.channels.c1", .v = props_v,
				  .n = n, .file = "test", .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	struct sl_channel *ch;
	size_t i;

	cr_assert(n <= 8);
	for (i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');

		props_v[i] = (struct sl_prop){
			.key = strndup(kv[i], (size_t)(eq - kv[i])),
			.val = strdup(eq + 1), .file = "test",
			.line = (int)i + 1 };
	}
	*settings = calloc(1, ops->settings_size);
	cr_assert_eq(sl_keys_apply(ops->keys, *settings, &props, &diag), 0);
	sl_diag_free(&diag);
	for (i = 0; i < n; i++) {
		free(props_v[i].key);
		free(props_v[i].val);
	}
	ch = ops->create("c1", *settings, &props, &diag, &err);
	cr_assert_not_null(ch, "%s", err.msg);
	return ch;
}

static void
mem_close(struct sl_channel *ch, void *settings)
{
	ch->ops->destroy(ch);
	sl_keys_free(sl_memory_channel_ops.keys, settings);
	free(settings);
}

static struct sl_event
ev_of(const char *s)
{
	return (struct sl_event){ .body = (const uint8_t *)s,
				  .body_len = (uint32_t)strlen(s) };
}

static int
put_one(struct sl_chan_producer *p, const char *s)
{
	struct sl_event ev = ev_of(s);
	int rc;

	sl_channel_put_begin(p);
	rc = sl_channel_put(p, &ev);
	if (rc < 0) {
		sl_channel_put_rollback(p);
		return rc;
	}
	return sl_channel_put_commit(p) < 0 ? -ENOSPC : 0;
}

/* Parse "id:seq" from a body that is not NUL-terminated. */
static int
parse_id_seq(const struct sl_event *ev, unsigned *id, unsigned *seq)
{
	char tmp[32];

	if (ev->body_len >= sizeof(tmp))
		return -1;
	memcpy(tmp, ev->body, ev->body_len);
	tmp[ev->body_len] = '\0';
	return sscanf(tmp, "%u:%u", id, seq) == 2 ? 0 : -1;
}

static void
assert_body(const struct sl_event *ev, const char *s)
{
	cr_assert_eq(ev->body_len, strlen(s));
	cr_assert_eq(memcmp(ev->body, s, ev->body_len), 0, "got %.*s want %s",
		     (int)ev->body_len, ev->body, s);
}

Test(mem_channel, capacity_refuses_the_commit_that_would_overflow)
{
	static const char *const kv[] = { "capacity=3",
					  "transactionCapacity=3" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 10, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_take *t;

	cr_assert_eq(put_one(p, "a"), 0);
	cr_assert_eq(put_one(p, "b"), 0);
	cr_assert_eq(put_one(p, "c"), 0);
	cr_assert_eq(put_one(p, "d"), -ENOSPC);
	cr_assert_eq(sl_channel_size(ch), 3);
	t = sl_channel_take(c, 10);
	cr_assert_eq(t->nb_evs, 3);
	assert_body(&t->evs[2], "c");
	cr_assert_eq(put_one(p, "d"), -ENOSPC,
		     "taken but uncommitted events still hold capacity");
	cr_assert_eq(sl_channel_take_commit(c, t), 0);
	cr_assert_eq(put_one(p, "d"), 0);
	cr_assert_eq(ch->stats.event_put_success_count, 4);
	cr_assert_eq(ch->stats.put_full_count, 2);
	cr_assert_eq(ch->stats.event_take_success_count, 3);
	mem_close(ch, set);
}

Test(mem_channel, put_beyond_transaction_capacity_is_refused)
{
	static const char *const kv[] = { "capacity=100",
					  "transactionCapacity=2" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_event ev = ev_of("x");
	struct sl_take *t;
	int i;

	sl_channel_put_begin(p);
	cr_assert_eq(sl_channel_put(p, &ev), 0);
	cr_assert_eq(sl_channel_put(p, &ev), 0);
	cr_assert_eq(sl_channel_put(p, &ev), -E2BIG);
	cr_assert_geq(sl_channel_put_commit(p), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(put_one(p, "y"), 0);
	t = sl_channel_take(c, 100);
	cr_assert_eq(t->nb_evs, 2, "a take holds at most transactionCapacity");
	mem_close(ch, set);
}

Test(mem_channel, rollback_returns_events_to_the_head_in_order)
{
	static const char *const kv[] = { "capacity=100" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 2, 4,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	static const char *const want[] = { "1", "2", "3", "4", "5" };
	struct sl_take *t1, *t2, *t3;
	unsigned i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(put_one(p, want[i]), 0);
	t1 = sl_channel_take(c, 2);
	t2 = sl_channel_take(c, 2);
	assert_body(&t2->evs[0], "3");
	/* rolling back t1 returns t1 and t2: 1..4 come again, in order */
	sl_channel_take_rollback(c, t1);
	t1 = sl_channel_take(c, 2);
	assert_body(&t1->evs[0], "1");
	assert_body(&t1->evs[1], "2");
	cr_assert_eq(sl_channel_take_commit(c, t1), 0);
	t2 = sl_channel_take(c, 2);
	t3 = sl_channel_take(c, 2);
	assert_body(&t2->evs[0], "3");
	assert_body(&t3->evs[0], "5");
	cr_assert_eq(t3->nb_evs, 1);
	/* roll back only the newest: 5 comes again, 3-4 stay taken */
	sl_channel_take_rollback(c, t3);
	t3 = sl_channel_take(c, 2);
	assert_body(&t3->evs[0], "5");
	cr_assert_eq(sl_channel_take_commit(c, t3), -EINVAL,
		     "commits go in take order");
	cr_assert_eq(sl_channel_take_commit(c, t2), 0);
	cr_assert_eq(sl_channel_take_commit(c, t3), 0);
	cr_assert_eq(sl_channel_size(ch), 0);
	cr_assert_null(sl_channel_take(c, 2));
	cr_assert_eq(ch->stats.event_take_success_count, 5);
	cr_assert_eq(ch->stats.rollback_count, 3);
	mem_close(ch, set);
}

/* Ring bytes of one header-less event: ring record, event header, body. */
static int64_t
rec_bytes(size_t body_len)
{
	return (int64_t)SL_ALIGN_UP(sizeof(struct sl_ring_rec) +
				    SL_CHAN_EV_HDR + body_len, SL_RING_ALIGN);
}

Test(mem_channel, producer_depth_counts_published_bytes_until_take_commit)
{
	static const char *const kv[] = { "capacity=100" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 2, 4,
							      NULL);
	struct sl_chan_producer *p1 = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_chan_producer *p2 = sl_channel_producer_open(ch, "r2", NULL);
	struct sl_event ev;
	struct sl_take *t1, *t2;
	int64_t three = rec_bytes(3) + rec_bytes(5) + rec_bytes(1);

	cr_assert_eq(sl_channel_producer_depth(p1), 0);
	/* reserved, not committed: not in the ring yet */
	sl_channel_put_begin(p1);
	ev = ev_of("abc");
	cr_assert_eq(sl_channel_put(p1, &ev), 0);
	cr_assert_eq(sl_channel_producer_depth(p1), 0);
	sl_channel_put_rollback(p1);
	cr_assert_eq(sl_channel_producer_depth(p1), 0);

	cr_assert_eq(put_one(p1, "abc"), 0);
	cr_assert_eq(sl_channel_producer_depth(p1), rec_bytes(3));
	sl_channel_put_begin(p1);
	ev = ev_of("hello");
	cr_assert_eq(sl_channel_put(p1, &ev), 0);
	ev = ev_of("x");
	cr_assert_eq(sl_channel_put(p1, &ev), 0);
	cr_assert_geq(sl_channel_put_commit(p1), 0);
	cr_assert_eq(sl_channel_producer_depth(p1), three);
	/* another producer's ring is its own */
	cr_assert_eq(put_one(p2, "0123456789abcdef"), 0);
	cr_assert_eq(sl_channel_producer_depth(p2), rec_bytes(16));
	cr_assert_eq(sl_channel_producer_depth(p1), three);

	/* taken but not committed: still held; a rollback keeps it held */
	t1 = sl_channel_take(c, 2);
	cr_assert_not_null(t1);
	cr_assert_eq(sl_channel_producer_depth(p1) +
		     sl_channel_producer_depth(p2), three + rec_bytes(16));
	sl_channel_take_rollback(c, t1);
	cr_assert_eq(sl_channel_producer_depth(p1), three);

	/* drain: each commit releases exactly what it took */
	while ((t2 = sl_channel_take(c, 2))) {
		int64_t before = sl_channel_producer_depth(p1) +
				 sl_channel_producer_depth(p2);
		int64_t taken = 0;
		unsigned i;

		for (i = 0; i < t2->nb_evs; i++)
			taken += rec_bytes(t2->evs[i].body_len);
		cr_assert_eq(sl_channel_take_commit(c, t2), 0);
		cr_assert_eq(sl_channel_producer_depth(p1) +
			     sl_channel_producer_depth(p2), before - taken);
	}
	cr_assert_eq(sl_channel_producer_depth(p1), 0);
	cr_assert_eq(sl_channel_producer_depth(p2), 0);
	cr_assert_eq(ch->stats.event_take_success_count, 4);
	mem_close(ch, set);
}

Test(mem_channel, producer_depth_is_eopnotsupp_without_the_op)
{
	struct sl_channel_ops ops = { .type = "none" };
	struct sl_channel ch = { .ops = &ops };
	struct sl_chan_producer p = { .ch = &ch };

	cr_assert_eq(sl_channel_producer_depth(&p), -EOPNOTSUPP);
}

Test(mem_channel, takes_in_flight_are_bounded_by_max_inflight)
{
	static const char *const kv[] = { "capacity=100" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 1, 2,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_take *t1;
	int i;

	for (i = 0; i < 5; i++)
		cr_assert_eq(put_one(p, "e"), 0);
	t1 = sl_channel_take(c, 1);
	cr_assert_not_null(sl_channel_take(c, 1));
	cr_assert_null(sl_channel_take(c, 1));
	cr_assert_eq(sl_channel_take_commit(c, t1), 0);
	cr_assert_not_null(sl_channel_take(c, 1));
	mem_close(ch, set);
}

Test(mem_channel, byte_capacity_counts_body_bytes_less_the_buffer)
{
	/* 100 bytes less 20%: 80 body bytes fit */
	static const char *const kv[] = { "capacity=100", "byteCapacity=100" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 10, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	char body[41];
	struct sl_take *t;

	memset(body, 'b', 40);
	body[40] = '\0';
	cr_assert_eq(put_one(p, body), 0);
	cr_assert_eq(put_one(p, body), 0);
	cr_assert_eq(put_one(p, "z"), -ENOSPC);
	t = sl_channel_take(c, 10);
	cr_assert_eq(sl_channel_take_commit(c, t), 0);
	cr_assert_eq(put_one(p, "z"), 0);
	mem_close(ch, set);
}

Test(mem_channel, headers_survive_the_ring)
{
	static const char *const kv[] = { "capacity=10" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 10, 1,
							      NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	struct sl_event ev = ev_of("body");
	const struct sl_header *h;
	struct sl_take *t;

	ev.nb_headers = 2;
	ev.hdrs[0] = (struct sl_header){ "host", "10.0.0.1", 4, 8 };
	ev.hdrs[1] = (struct sl_header){ "key", "", 3, 0 };
	sl_channel_put_begin(p);
	cr_assert_eq(sl_channel_put(p, &ev), 0);
	cr_assert_geq(sl_channel_put_commit(p), 1);
	t = sl_channel_take(c, 10);
	cr_assert_eq(t->evs[0].nb_headers, 2);
	h = sl_event_header_find(&t->evs[0], "host");
	cr_assert_not_null(h);
	cr_assert_str_eq(h->val, "10.0.0.1");
	h = sl_event_header_find(&t->evs[0], "key");
	cr_assert_str_eq(h->val, "");
	assert_body(&t->evs[0], "body");
	mem_close(ch, set);
}

/*
 * Once the ring holds 16 MiB or more, large bodies are copied in with
 * non-temporal stores: events put then (and small ones beside them, and
 * ones with headers) come out byte-exact and in order.
 */
Test(mem_channel, bodies_copied_into_a_deep_ring_come_out_intact)
{
	static const char *const kv[] = { "capacity=40000",
					  "transactionCapacity=1000" };
	enum { BIG = 1000, NB = 24000 };	/* ~24 MiB of records */
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 1000,
							      1, NULL);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);
	static uint8_t body[BIG + 64];
	unsigned i, got = 0;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 13 + 5);
	for (i = 0; i < NB; i++) {
		struct sl_event ev = {
			.body = body + i % 64,
			.body_len = i % 10 == 3 ? 17 : BIG - i % 61,
		};

		if (i % 1000 == 0)
			sl_channel_put_begin(p);
		if (i % 7 == 0) {
			ev.nb_headers = 1;
			ev.hdrs[0] = (struct sl_header){ "n", "v", 1, 1 };
		}
		cr_assert_eq(sl_channel_put(p, &ev), 0);
		if (i % 1000 == 999)
			cr_assert_geq(sl_channel_put_commit(p), 1);
	}
	while (got < NB) {
		struct sl_take *t = sl_channel_take(c, 1000);

		cr_assert_not_null(t, "after %u of %u", got, NB);
		for (i = 0; i < t->nb_evs; i++, got++) {
			const struct sl_event *ev = &t->evs[i];
			uint32_t want = got % 10 == 3 ? 17 : BIG - got % 61;

			cr_assert_eq(ev->body_len, want, "event %u", got);
			cr_assert_eq(memcmp(ev->body, body + got % 64, want), 0,
				     "event %u", got);
			cr_assert_eq(ev->nb_headers, got % 7 == 0 ? 1 : 0);
		}
		cr_assert_eq(sl_channel_take_commit(c, t), 0);
	}
	cr_assert_eq(sl_channel_size(ch), 0);
	mem_close(ch, set);
}

Test(mem_channel, put_without_a_sink_is_refused_as_full)
{
	static const char *const kv[] = { "capacity=10" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);

	cr_assert_eq(put_one(p, "lost?"), -ENOSPC);
	cr_assert_null(sl_channel_consumer_open(ch, "late", 10, 1, NULL),
		       "sinks must be opened before sources");
	mem_close(ch, set);
}

#define MT_PRODUCERS	3
#define MT_EVENTS	200000u

struct mt_arg {
	struct sl_chan_producer *p;
	unsigned id;
	uint64_t full;
};

static void *
mt_producer(void *arg)
{
	struct mt_arg *a = arg;
	char buf[32];
	unsigned seq = 0;

	while (seq < MT_EVENTS) {
		unsigned n;

		sl_channel_put_begin(a->p);
		for (n = 0; n < 7 && seq + n < MT_EVENTS; n++) {
			struct sl_event ev;

			snprintf(buf, sizeof(buf), "%u:%u", a->id, seq + n);
			ev = ev_of(buf);
			if (sl_channel_put(a->p, &ev) < 0)
				break;
		}
		if (n == 0 || sl_channel_put_commit(a->p) < 0) {
			if (n == 0)
				sl_channel_put_rollback(a->p);
			a->full++;
			continue;
		}
		seq += n;
	}
	return NULL;
}

Test(mem_channel, producers_and_a_consumer_on_threads_lose_nothing,
     .timeout = 120)
{
	static const char *const kv[] = { "capacity=1000",
					  "transactionCapacity=50" };
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 2);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 50, 4,
							      NULL);
	struct mt_arg args[MT_PRODUCERS];
	pthread_t thr[MT_PRODUCERS];
	unsigned next[MT_PRODUCERS] = { 0 };
	uint64_t total = 0;
	unsigned i, rounds = 0;

	for (i = 0; i < MT_PRODUCERS; i++) {
		args[i] = (struct mt_arg){
			.p = sl_channel_producer_open(ch, "r", NULL), .id = i };
		cr_assert_not_null(args[i].p);
	}
	for (i = 0; i < MT_PRODUCERS; i++)
		pthread_create(&thr[i], NULL, mt_producer, &args[i]);
	while (total < (uint64_t)MT_PRODUCERS * MT_EVENTS) {
		struct sl_take *t = sl_channel_take(c, 50);

		if (!t)
			continue;
		for (i = 0; i < t->nb_evs; i++) {
			unsigned id, seq;

			if (parse_id_seq(&t->evs[i], &id, &seq) < 0 ||
			    id >= MT_PRODUCERS ||
			    seq != next[id])
				cr_assert_fail("event %.*s out of order",
					       (int)t->evs[i].body_len,
					       t->evs[i].body);
			next[id]++;
		}
		total += t->nb_evs;
		/* exercise rollback now and then: the events come again */
		if (++rounds % 97 == 0) {
			for (i = 0; i < t->nb_evs; i++) {
				unsigned id, seq;

				parse_id_seq(&t->evs[i], &id, &seq);
				next[id]--;
			}
			total -= t->nb_evs;
			sl_channel_take_rollback(c, t);
			continue;
		}
		cr_assert_eq(sl_channel_take_commit(c, t), 0);
	}
	for (i = 0; i < MT_PRODUCERS; i++)
		pthread_join(thr[i], NULL);
	cr_assert_eq(sl_channel_size(ch), 0);
	cr_assert_eq(ch->stats.event_put_success_count,
		     (uint64_t)MT_PRODUCERS * MT_EVENTS);
	cr_assert_eq(ch->stats.event_take_success_count,
		     (uint64_t)MT_PRODUCERS * MT_EVENTS);
	mem_close(ch, set);
}

/* This process's resident bytes (/proc/self/statm). */
static uint64_t
rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

Test(mem_channel, rings_are_faulted_in_when_producer_and_sink_open)
{
	/* 4096 x 2 KiB: one 8 MiB ring for the one (producer, sink) pair. */
	static const char *const kv[] = { "capacity=4096" };
	const uint64_t ring = 4096ull * 2048;
	void *set;
	struct sl_channel *ch = mem_open(&set, kv, 1);
	struct sl_chan_consumer *c = sl_channel_consumer_open(ch, "k1", 100,
							      1, NULL);
	uint64_t before = rss_bytes();
	struct sl_chan_producer *p = sl_channel_producer_open(ch, "r1", NULL);

	cr_assert_not_null(c);
	cr_assert_not_null(p);
	/* Resident before any put, so no put takes a page fault. */
	cr_assert_geq(rss_bytes() - before, ring, "RSS grew %llu of %llu",
		      (unsigned long long)(rss_bytes() - before),
		      (unsigned long long)ring);
	cr_assert_eq(put_one(p, "one"), 0);
	mem_close(ch, set);
}
