/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sources' channel fan-out over real memory channels: batches bounded
 * by the room the channels had, solo puts with Flume's per-channel order
 * (channels before the refusing one keep the event), transactionCapacity,
 * a commit lost to another producer (counted by the channel that missed
 * it when another kept it), acks, and the selector keys.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fanout_int.h"

#define NB_CH	2

static struct sl_channel *chs[NB_CH];
static void *settings[NB_CH];
static struct sl_chan_consumer *cons[NB_CH];

static struct sl_channel *
mem_open(const char *name, int capacity, int tx_capacity, void **set)
{
	const struct sl_channel_ops *ops = &sl_memory_channel_ops;
	char cap[32], tx[32];
	struct sl_prop v[2] = {
		{ .key = "capacity", .val = cap, .file = "t", .line = 1 },
		{ .key = "transactionCapacity", .val = tx, .file = "t",
		  .line = 2 },
	};
	struct sl_props props = { .comp = name, .v = v, .n = 2, .file = "t",
				  .line = 1 };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	struct sl_channel *ch;

	snprintf(cap, sizeof(cap), "%d", capacity);
	snprintf(tx, sizeof(tx), "%d", tx_capacity);
	*set = calloc(1, ops->settings_size);
	cr_assert_eq(sl_keys_apply(ops->keys, *set, &props, &diag), 0);
	ch = ops->create(name, *set, &props, &diag, &err);
	cr_assert_not_null(ch, "%s", err.msg);
	sl_diag_free(&diag);
	return ch;
}

/* Two channels, each with a consumer (a sink) opened before producers. */
static void
open_two(int cap0, int cap1, int tx)
{
	struct sl_err err = { 0 };
	unsigned c;

	chs[0] = mem_open("c1", cap0, tx, &settings[0]);
	chs[1] = mem_open("c2", cap1, tx, &settings[1]);
	for (c = 0; c < NB_CH; c++) {
		cons[c] = sl_channel_consumer_open(chs[c], "k", 1000, 1, &err);
		cr_assert_not_null(cons[c], "%s", err.msg);
	}
}

static void
close_all(void)
{
	unsigned c;

	for (c = 0; c < NB_CH; c++) {
		if (!chs[c])
			continue;
		chs[c]->ops->destroy(chs[c]);
		sl_keys_free(sl_memory_channel_ops.keys, settings[c]);
		free(settings[c]);
		chs[c] = NULL;
	}
}

static struct sl_event
ev_of(const char *s)
{
	return (struct sl_event){ .body = (const uint8_t *)s,
				  .body_len = (uint32_t)strlen(s) };
}

/* Take everything from channel @c; returns the bodies joined by ','. */
static const char *
drain(unsigned c)
{
	static char out[4096];
	struct sl_take *t;
	size_t n = 0;
	unsigned i;

	out[0] = '\0';
	while ((t = sl_channel_take(cons[c], 1000))) {
		for (i = 0; i < t->nb_evs; i++)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s",
					      n ? "," : "",
					      (int)t->evs[i].body_len,
					      (const char *)t->evs[i].body);
		cr_assert_eq(sl_channel_take_commit(cons[c], t), 0);
	}
	return out;
}

TestSuite(fanout, .fini = close_all);

Test(fanout, batch_holds_what_the_channels_had_room_for)
{
	struct sl_fanout fo;
	struct sl_err err = { 0 };
	struct sl_event ev;
	unsigned from = 0, nb;
	bool ok;

	open_two(5, 3, 100);
	cr_assert_eq(sl_fanout_open(&fo, chs, NB_CH, "r1", &err), 0);
	ev = ev_of("a");
	cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), 0);
	ev = ev_of("b");
	cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), 0);
	ev = ev_of("c");
	cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), 0);
	/* c2 had room for 3: the fourth does not join the batch. */
	ev = ev_of("d");
	cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), -ENOSPC);
	nb = sl_fanout_flush(&fo, &ok);
	cr_expect_eq(nb, 3);
	cr_expect(ok);
	/* Alone, "d" fits c1 but not c2: c1 keeps it, as in Flume. */
	from = 0;
	cr_expect_eq(sl_fanout_solo(&fo, &ev, &from), -ENOSPC);
	cr_expect_eq(from, 1, "c2 refused");
	cr_expect_str_eq(drain(0), "a,b,c,d");
	cr_expect_str_eq(drain(1), "a,b,c");
	/* Resuming from the refusing channel completes the event. */
	cr_expect_eq(sl_fanout_solo(&fo, &ev, &from), 0);
	cr_expect_eq(from, NB_CH);
	cr_expect_str_eq(drain(0), "");
	cr_expect_str_eq(drain(1), "d");
}

Test(fanout, transaction_capacity_ends_a_batch_without_failing_it)
{
	struct sl_fanout fo;
	struct sl_err err = { 0 };
	struct sl_event ev;
	unsigned from = 0, i;
	bool ok;
	char body[4][2] = { "0", "1", "2", "3" };

	open_two(100, 100, 3);
	cr_assert_eq(sl_fanout_open(&fo, chs, NB_CH, "r1", &err), 0);
	for (i = 0; i < 3; i++) {
		ev = ev_of(body[i]);
		cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), 0);
	}
	ev = ev_of(body[3]);
	cr_expect_eq(sl_fanout_batch_put(&fo, &ev, &from), -E2BIG);
	cr_expect_eq(from, 0);
	cr_expect_eq(sl_fanout_flush(&fo, &ok), 3);
	cr_expect(ok);
	cr_expect_eq(sl_fanout_solo(&fo, &ev, &from), 0);
	cr_expect_str_eq(drain(0), "0,1,2,3");
	cr_expect_str_eq(drain(1), "0,1,2,3");
	cr_expect(sl_fanout_acked(&fo, fo.tickets),
		  "the memory channel acknowledges at commit");
	cr_expect_not(fo.any_ack_fd);
}

Test(fanout, commit_lost_to_another_producer_is_reported)
{
	struct sl_fanout fa, fb;
	struct sl_err err = { 0 };
	struct sl_event ev = ev_of("x");
	unsigned from = 0, i;
	bool ok;

	open_two(4, 100, 100);
	cr_assert_eq(sl_fanout_open(&fa, chs, NB_CH, "r1", &err), 0);
	cr_assert_eq(sl_fanout_open(&fb, chs, NB_CH, "r2", &err), 0);
	for (i = 0; i < 3; i++)
		cr_expect_eq(sl_fanout_batch_put(&fa, &ev, &from), 0);
	/* r2 takes the room r1's batch counted on. */
	for (i = 0; i < 2; i++) {
		from = 0;
		cr_expect_eq(sl_fanout_solo(&fb, &ev, &from), 0);
	}
	cr_expect_eq(sl_fanout_flush(&fa, &ok), 3);
	cr_expect_not(ok, "c1 refused the commit");
	cr_expect_eq(sl_channel_size(chs[0]), 2);
	cr_expect_eq(sl_channel_size(chs[1]), 5);
	/* c2 holds r1's 3 events, c1 does not: c1 counts the split. */
	cr_expect_eq(chs[0]->stats.drop_channel_full, 3);
	cr_expect_eq(chs[1]->stats.drop_channel_full, 0);
	cr_expect_eq(chs[1]->stats.event_put_success_count -
		     chs[0]->stats.event_put_success_count,
		     chs[0]->stats.drop_channel_full,
		     "what c1 is missing is exactly what it counted");
}

Test(fanout, a_commit_refused_by_every_channel_is_no_split)
{
	struct sl_fanout fa, fb;
	struct sl_err err = { 0 };
	struct sl_event ev = ev_of("x");
	unsigned from = 0, i;
	bool ok;

	open_two(3, 3, 100);
	cr_assert_eq(sl_fanout_open(&fa, chs, NB_CH, "r1", &err), 0);
	cr_assert_eq(sl_fanout_open(&fb, chs, NB_CH, "r2", &err), 0);
	for (i = 0; i < 2; i++)
		cr_expect_eq(sl_fanout_batch_put(&fa, &ev, &from), 0);
	for (i = 0; i < 2; i++) {
		from = 0;
		cr_expect_eq(sl_fanout_solo(&fb, &ev, &from), 0);
	}
	cr_expect_eq(sl_fanout_flush(&fa, &ok), 2);
	cr_expect_not(ok);
	/* No channel holds them: the source's count alone tells it. */
	cr_expect_eq(chs[0]->stats.drop_channel_full, 0);
	cr_expect_eq(chs[1]->stats.drop_channel_full, 0);
	cr_expect_str_eq(drain(0), "x,x");
	cr_expect_str_eq(drain(1), "x,x");
}

Test(fanout, more_channels_than_supported_is_an_error)
{
	struct sl_channel *many[SL_FANOUT_MAX + 1] = { 0 };
	struct sl_fanout fo;
	struct sl_err err = { 0 };

	cr_expect_eq(sl_fanout_open(&fo, many, SL_FANOUT_MAX + 1, "r1", &err),
		     -E2BIG);
	cr_expect_neq(strstr(err.msg, "channels"), NULL, "%s", err.msg);
}

Test(fanout, only_the_replicating_selector_is_accepted)
{
	struct sl_prop v[3] = {
		{ .key = "selector.type", .val = "REPLICATING", .file = "f",
		  .line = 3 },
		{ .key = "port", .val = "1", .file = "f", .line = 4 },
	};
	struct sl_props props = { .comp = "a1.sources.r1", .v = v, .n = 2,
				  .file = "f", .line = 1 };
	struct sl_diag diag = { 0 };

	cr_expect_eq(sl_fanout_selector_validate(&props, &diag), 0);
	cr_expect(v[0].used, "the selector key is claimed");
	cr_expect_not(v[1].used);
	v[0].val = "multiplexing";
	v[2] = (struct sl_prop){ .key = "selector.optional", .val = "c2",
				 .file = "f", .line = 5 };
	props.n = 3;
	cr_expect_eq(sl_fanout_selector_validate(&props, &diag), 2);
	cr_assert_eq(diag.n, 2);
	cr_expect_str_eq(diag.v[0].text, "f:3: a1.sources.r1.selector.type: "
			 "'multiplexing' is not supported (sluice has the "
			 "replicating selector only)");
	cr_expect_str_eq(diag.v[1].text, "f:5: a1.sources.r1.selector."
			 "optional: not supported (sluice puts every event "
			 "into every channel and fails if one refuses)");
	sl_diag_free(&diag);
}
