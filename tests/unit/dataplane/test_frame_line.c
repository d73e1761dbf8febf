/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netcat line framer: lines split at every byte give the same events,
 * CR/NUL/empty lines are kept as Flume keeps them, max-line-length counts
 * the newline, over-long and unterminated tails are counted drops, and a
 * refusing callback stops and resumes without losing or repeating a line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "frame_int.h"
#include "sl_common.h"
#include "sl_drop.h"

#define MAX_EVENTS	64

struct got {
	unsigned nb;
	uint32_t len[MAX_EVENTS];
	uint8_t body[MAX_EVENTS][2048];
	unsigned refuse_at;	/* refuse the event with this index once... */
	unsigned nb_refusals;	/* ...this many times */
};

static int
collect(void *arg, const uint8_t *line, uint32_t len)
{
	struct got *g = arg;

	if (g->nb == g->refuse_at && g->nb_refusals > 0) {
		g->nb_refusals--;
		return -EAGAIN;
	}
	cr_assert_lt(g->nb, MAX_EVENTS);
	cr_assert_leq(len, sizeof(g->body[0]));
	memcpy(g->body[g->nb], line, len);
	g->len[g->nb++] = len;
	return 0;
}

static uint8_t buf[4096];
static uint64_t drop[SL_DROP_MAX];
static struct sl_frame_line fr;

static void
setup(uint32_t max_len, enum sl_frame_units mode)
{
	memset(drop, 0, sizeof(drop));
	cr_assert_leq(sl_frame_line_buf_size(max_len, mode), sizeof(buf));
	sl_frame_line_init(&fr, buf, max_len, mode, drop);
}

/* Feed @s in pieces of at most @step bytes; returns the last feed's rc. */
static int
feed_steps(struct got *g, const void *s, size_t len, size_t step)
{
	const uint8_t *p = s;
	size_t off = 0, used;
	int rc = 0;

	while (off < len) {
		size_t n = SL_MIN(step, len - off);

		rc = sl_frame_line_feed(&fr, p + off, n, &used, collect, g);
		if (rc < 0)
			return rc;
		cr_assert_eq(used, n);
		off += n;
	}
	return rc;
}

static void
expect_event(const struct got *g, unsigned i, const void *body, size_t len)
{
	cr_assert_lt(i, g->nb, "event %u missing (got %u)", i, g->nb);
	cr_expect_eq(g->len[i], len, "event %u: length %u, expected %zu", i,
		     g->len[i], len);
	cr_expect(memcmp(g->body[i], body, len) == 0, "event %u differs", i);
}

Test(frame_line, one_event_per_newline_terminated_line)
{
	static const char in[] = "Hello Flume!\nsecond line\n";
	struct got g = { 0 };

	setup(512, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(feed_steps(&g, in, strlen(in), sizeof(in)), 0);
	cr_assert_eq(g.nb, 2);
	expect_event(&g, 0, "Hello Flume!", 12);
	expect_event(&g, 1, "second line", 11);
	cr_expect_eq(sl_frame_line_pending(&fr), 0);
	cr_expect_eq(sl_frame_line_finish(&fr), 0);
	cr_expect_eq(drop[SL_DROP_UNTERMINATED_TAIL], 0);
}

Test(frame_line, split_at_every_byte_boundary_gives_the_same_events)
{
	static const char in[] = "alpha\r\n\nbeta gamma\n\0nul\0\nlast one\n";
	size_t len = sizeof(in) - 1, cut, cut2;

	for (cut = 0; cut <= len; cut++) {
		for (cut2 = cut; cut2 <= len; cut2++) {
			struct got g = { 0 };
			size_t used;

			setup(64, SL_FRAME_UNITS_BYTES);
			cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)in,
				     cut, &used, collect, &g), 0);
			cr_assert_eq(sl_frame_line_feed(&fr,
				     (const uint8_t *)in + cut, cut2 - cut,
				     &used, collect, &g), 0);
			cr_assert_eq(sl_frame_line_feed(&fr,
				     (const uint8_t *)in + cut2, len - cut2,
				     &used, collect, &g), 0);
			cr_assert_eq(g.nb, 5, "cuts %zu/%zu: %u events", cut,
				     cut2, g.nb);
			expect_event(&g, 0, "alpha\r", 6);
			expect_event(&g, 1, "", 0);
			expect_event(&g, 2, "beta gamma", 10);
			expect_event(&g, 3, "\0nul\0", 5);
			expect_event(&g, 4, "last one", 8);
		}
	}
}

Test(frame_line, one_byte_at_a_time_gives_the_same_events)
{
	static const char in[] = "a\nbb\r\n\n";
	struct got g = { 0 };

	setup(8, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(feed_steps(&g, in, strlen(in), 1), 0);
	cr_assert_eq(g.nb, 3);
	expect_event(&g, 0, "a", 1);
	expect_event(&g, 1, "bb\r", 3);
	expect_event(&g, 2, "", 0);
}

Test(frame_line, carriage_return_alone_does_not_end_a_line)
{
	static const char in[] = "a\rb\r\r\n";
	struct got g = { 0 };

	setup(16, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(feed_steps(&g, in, strlen(in), 2), 0);
	cr_assert_eq(g.nb, 1);
	expect_event(&g, 0, "a\rb\r\r", 5);
}

Test(frame_line, line_at_the_limit_including_newline_is_accepted)
{
	char in[17];
	struct got g = { 0 };
	size_t step;

	memset(in, 'x', 15);
	in[15] = '\n';			/* 16 bytes with the newline */
	for (step = 1; step <= 16; step++) {
		g.nb = 0;
		setup(16, SL_FRAME_UNITS_BYTES);
		cr_assert_eq(feed_steps(&g, in, 16, step), 0, "step %zu",
			     step);
		cr_assert_eq(g.nb, 1);
		expect_event(&g, 0, in, 15);
		cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 0);
	}
}

Test(frame_line, line_one_over_the_limit_is_over_long)
{
	char in[32];
	struct got g = { 0 };
	size_t step, used;

	memcpy(in, "ok\n", 3);
	memset(in + 3, 'y', 16);
	in[19] = '\n';			/* 17 bytes with the newline */
	memcpy(in + 20, "after\n", 6);
	for (step = 1; step <= 26; step++) {
		g.nb = 0;
		setup(16, SL_FRAME_UNITS_BYTES);
		cr_assert_eq(feed_steps(&g, in, 26, step), -EMSGSIZE,
			     "step %zu", step);
		cr_assert_eq(g.nb, 1, "only the line before it is emitted");
		expect_event(&g, 0, "ok", 2);
		cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 1);
		cr_expect(sl_frame_line_dead(&fr));
		/* Dead: nothing more is taken, and nothing is counted twice. */
		cr_expect_eq(sl_frame_line_feed(&fr, (const uint8_t *)"z\n", 2,
						&used, collect, &g),
			     -EMSGSIZE);
		cr_expect_eq(used, 0);
		cr_expect_eq(sl_frame_line_finish(&fr), 0);
		cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 1);
		cr_expect_eq(drop[SL_DROP_UNTERMINATED_TAIL], 0);
	}
}

Test(frame_line, full_buffer_without_newline_is_over_long_before_the_newline)
{
	char in[16];
	struct got g = { 0 };
	size_t used;

	memset(in, 'q', sizeof(in));
	setup(16, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)in, 15, &used,
					collect, &g), 0);
	cr_expect_eq(sl_frame_line_pending(&fr), 15);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)in, 1, &used,
					collect, &g), -EMSGSIZE);
	cr_expect_eq(g.nb, 0);
	cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 1);
}

Test(frame_line, max_line_length_one_allows_only_empty_lines)
{
	struct got g = { 0 };
	size_t used;

	setup(1, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)"\n\n", 2,
					&used, collect, &g), 0);
	cr_expect_eq(g.nb, 2);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)"a", 1, &used,
					collect, &g), -EMSGSIZE);
}

Test(frame_line, unterminated_tail_is_discarded_and_counted_once)
{
	static const char in[] = "done\npartial";
	struct got g = { 0 };

	setup(64, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(feed_steps(&g, in, strlen(in), 3), 0);
	cr_assert_eq(g.nb, 1);
	cr_expect_eq(sl_frame_line_pending(&fr), 7);
	cr_expect_eq(sl_frame_line_finish(&fr), 7);
	cr_expect_eq(drop[SL_DROP_UNTERMINATED_TAIL], 1);
	cr_expect_eq(g.nb, 1, "the tail is not an event");
	/* The framer is empty again and reusable. */
	cr_expect_eq(sl_frame_line_finish(&fr), 0);
	cr_expect_eq(drop[SL_DROP_UNTERMINATED_TAIL], 1);
	cr_assert_eq(feed_steps(&g, "x\n", 2, 2), 0);
	expect_event(&g, 1, "x", 1);
}

Test(frame_line, refused_line_is_not_consumed_and_comes_again)
{
	static const char in[] = "one\ntwo\nthree\n";
	size_t len = strlen(in), split, used;

	/* Refuse "two" whether it lies whole in the data or was split. */
	for (split = 0; split <= len; split++) {
		struct got g = { .refuse_at = 1, .nb_refusals = 2 };
		const uint8_t *p = (const uint8_t *)in;
		size_t off = 0;
		int rc, rounds = 0;

		setup(64, SL_FRAME_UNITS_BYTES);
		rc = sl_frame_line_feed(&fr, p, split, &used, collect, &g);
		if (rc == -EAGAIN) {
			cr_assert_leq(used, split);
			off = used;
			/* Resume from the unconsumed bytes of the first part. */
			while ((rc = sl_frame_line_feed(&fr, p + off,
					split - off, &used, collect, &g)) ==
			       -EAGAIN) {
				off += used;
				cr_assert_lt(++rounds, 5);
			}
			off += used;
		} else {
			cr_assert_eq(rc, 0);
			off = split;
		}
		cr_assert_eq(off, split);
		while ((rc = sl_frame_line_feed(&fr, p + off, len - off,
				&used, collect, &g)) == -EAGAIN) {
			off += used;
			cr_assert_lt(++rounds, 5);
		}
		cr_assert_eq(rc, 0, "split %zu", split);
		cr_assert_eq(g.nb, 3, "split %zu: %u events", split, g.nb);
		cr_expect_eq(g.nb_refusals, 0, "split %zu", split);
		expect_event(&g, 0, "one", 3);
		expect_event(&g, 1, "two", 3);
		expect_event(&g, 2, "three", 5);
	}
}

Test(frame_line, refusal_reports_bytes_consumed_before_the_line)
{
	static const char in[] = "aa\nbbb\ncc\n";
	struct got g = { .refuse_at = 1, .nb_refusals = 1 };
	size_t used;

	setup(64, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)in, strlen(in),
					&used, collect, &g), -EAGAIN);
	cr_expect_eq(used, 3, "only \"aa\\n\" was consumed");
	cr_expect_eq(g.nb, 1);
	cr_assert_eq(sl_frame_line_feed(&fr, (const uint8_t *)in + used,
					strlen(in) - used, &used, collect, &g),
		     0);
	cr_expect_eq(g.nb, 3);
}

Test(frame_line, utf16_mode_counts_characters_as_java_does)
{
	/* "é" is 2 bytes, 1 unit; "€" 3 bytes, 1 unit; U+1F600 4 bytes, 2. */
	static const char five_euro[] = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
					"\xe2\x82\xac\xe2\x82\xac\n";
	static const char smile[] = "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0"
				    "\x9f\x98\x80\n";
	struct got g = { 0 };
	size_t step;

	for (step = 1; step <= sizeof(five_euro); step++) {
		g.nb = 0;
		/* 5 units + newline = 6: fits 6, not 5. */
		setup(6, SL_FRAME_UNITS_UTF16);
		cr_assert_eq(feed_steps(&g, five_euro, strlen(five_euro),
					step), 0, "step %zu", step);
		expect_event(&g, 0, five_euro, 15);
		setup(5, SL_FRAME_UNITS_UTF16);
		cr_assert_eq(feed_steps(&g, five_euro, strlen(five_euro),
					step), -EMSGSIZE, "step %zu", step);
	}
	g.nb = 0;
	setup(7, SL_FRAME_UNITS_UTF16);		/* 3 x 2 units + newline */
	cr_assert_eq(feed_steps(&g, smile, strlen(smile), 5), 0);
	expect_event(&g, 0, smile, 12);
	setup(6, SL_FRAME_UNITS_UTF16);
	cr_assert_eq(feed_steps(&g, smile, strlen(smile), 5), -EMSGSIZE);
	/* Bytes mode counts bytes: 15 + newline does not fit 6. */
	setup(6, SL_FRAME_UNITS_BYTES);
	cr_assert_eq(feed_steps(&g, five_euro, strlen(five_euro), 4),
		     -EMSGSIZE);
}

Test(frame_line, utf16_mode_bounds_malformed_input_by_bytes)
{
	uint8_t in[64];
	struct got g = { 0 };

	/* Continuation bytes alone count no units, but cannot fill more
	 * than the buffer. */
	memset(in, 0x80, sizeof(in));
	setup(4, SL_FRAME_UNITS_UTF16);
	cr_assert_eq(feed_steps(&g, in, sizeof(in), 1), -EMSGSIZE);
	cr_expect_eq(g.nb, 0);
	cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 1);
}

Test(frame_line, null_drop_array_is_allowed)
{
	struct got g = { 0 };
	size_t used;

	sl_frame_line_init(&fr, buf, 4, SL_FRAME_UNITS_BYTES, NULL);
	cr_expect_eq(sl_frame_line_feed(&fr, (const uint8_t *)"abcdef", 6,
					&used, collect, &g), -EMSGSIZE);
	sl_frame_line_init(&fr, buf, 4, SL_FRAME_UNITS_BYTES, NULL);
	cr_expect_eq(sl_frame_line_feed(&fr, (const uint8_t *)"ab", 2, &used,
					collect, &g), 0);
	cr_expect_eq(sl_frame_line_finish(&fr), 2);
}

/*
 * Regression (found by tests/fuzz/fuzz_frame_line.c): in UTF16 mode a
 * pending unterminated line was judged by units alone, so stray 4-byte
 * leads (2 units per byte) made a line over-long when it arrived split but
 * not when it arrived whole. A body whose bytes fit is never over-long.
 */
Test(frame_line, utf16_verdict_does_not_depend_on_the_split)
{
	static const uint8_t in[] = { 0xF0, 0xF0, '\n' };
	struct got g = { 0 };

	setup(4, SL_FRAME_UNITS_UTF16);
	cr_assert_eq(feed_steps(&g, in, sizeof(in), sizeof(in)), 0);
	expect_event(&g, 0, in, 2);
	g.nb = 0;
	setup(4, SL_FRAME_UNITS_UTF16);
	cr_assert_eq(feed_steps(&g, in, sizeof(in), 1), 0);
	expect_event(&g, 0, in, 2);
	cr_expect_eq(drop[SL_DROP_LINE_TOO_LONG], 0);
}
