/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the netcat line framer (dataplane/frame_line.c).
 * Differential: the input is fed in fuzzer-chosen pieces with
 * fuzzer-chosen refusals (backpressure), and the events, the over-long
 * verdict and the tail must equal what a one-pass reference framer of the
 * same rules gives for the whole stream. Built by `make fuzz` (clang) and,
 * as a bounded smoke run, by the ordinary test build.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame_int.h"
#include "sl_drop.h"

#define FZ_MAX_LEN	96u
#define FZ_MAX_EVENTS	4096u

struct fz_events {
	uint32_t nb;
	uint32_t off[FZ_MAX_EVENTS];	/* body offset in the stream */
	uint32_t len[FZ_MAX_EVENTS];
	uint8_t bytes[1 << 16];		/* bodies, concatenated */
	uint32_t used;
};

struct fz_feed {
	struct fz_events *ev;
	const uint8_t *ctl;		/* refusal pattern */
	size_t ctl_len, ctl_pos;
};

static struct fz_events got, want;

static void
fz_abort_unless(int cond)
{
	if (!cond)
		abort();
}

static int
fz_add(struct fz_events *e, const uint8_t *line, uint32_t len)
{
	fz_abort_unless(e->nb < FZ_MAX_EVENTS &&
			e->used + len <= sizeof(e->bytes));
	e->off[e->nb] = e->used;
	e->len[e->nb++] = len;
	memcpy(e->bytes + e->used, line, len);
	e->used += len;
	return 0;
}

static int
fz_collect(void *arg, const uint8_t *line, uint32_t len)
{
	struct fz_feed *f = arg;

	/* Refuse when the control stream says so; never twice in a row
	 * forever: the pattern runs out. */
	if (f->ctl_pos < f->ctl_len && (f->ctl[f->ctl_pos++] & 3) == 0)
		return -EAGAIN;
	return fz_add(f->ev, line, len);
}

static uint32_t
fz_units(const uint8_t *p, size_t n, enum sl_frame_units mode)
{
	uint32_t u = 0;
	size_t i;

	if (mode == SL_FRAME_UNITS_BYTES)
		return (uint32_t)n;
	for (i = 0; i < n; i++)
		u += ((p[i] & 0xC0) != 0x80) + (p[i] >= 0xF0);
	return u;
}

/* The rule of frame_int.h, applied to a whole body at once. */
static int
fz_too_long(const uint8_t *p, size_t n, uint32_t max_len,
	    enum sl_frame_units mode)
{
	if (mode == SL_FRAME_UNITS_BYTES)
		return n >= max_len;
	if (n >= (size_t)max_len * 3)
		return 1;
	return n >= max_len && fz_units(p, n, mode) >= max_len;
}

/* Reference: returns 1 if the stream hits an over-long line. */
static int
fz_reference(const uint8_t *s, size_t n, uint32_t max_len,
	     enum sl_frame_units mode, uint32_t *tail)
{
	size_t start = 0, i;

	*tail = 0;
	for (i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		if (fz_too_long(s + start, i - start, max_len, mode))
			return 1;
		fz_add(&want, s + start, (uint32_t)(i - start));
		start = i + 1;
	}
	/* An unterminated rest is over-long as soon as it would be. */
	if (fz_too_long(s + start, n - start, max_len, mode))
		return 1;
	*tail = (uint32_t)(n - start);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FZ_MAX_LEN * 3];
	uint64_t drop[SL_DROP_MAX] = { 0 };
	struct sl_frame_line fr;
	struct fz_feed f = { .ev = &got };
	enum sl_frame_units mode;
	const uint8_t *stream, *cuts;
	size_t stream_len, nb_cuts, off = 0, k = 0;
	uint32_t max_len, tail, want_tail;
	int want_dead, rc = 0, rounds = 0;

	if (size < 4)
		return 0;
	max_len = 1 + data[0] % FZ_MAX_LEN;
	mode = (data[1] & 1) ? SL_FRAME_UNITS_UTF16 : SL_FRAME_UNITS_BYTES;
	nb_cuts = data[2] % 16;
	if (size < 3 + 2 * nb_cuts)
		return 0;
	cuts = data + 3;
	f.ctl = data + 3 + nb_cuts;
	f.ctl_len = nb_cuts;
	stream = data + 3 + 2 * nb_cuts;
	stream_len = size - 3 - 2 * nb_cuts;
	if (stream_len > sizeof(got.bytes))
		return 0;

	got.nb = got.used = 0;
	want.nb = want.used = 0;
	want_dead = fz_reference(stream, stream_len, max_len, mode,
				 &want_tail);

	sl_frame_line_init(&fr, buf, max_len, mode, drop);
	while (off < stream_len) {
		/* Next piece: up to the next cut (cuts are piece lengths). */
		size_t piece = k < nb_cuts ? 1 + cuts[k++] % 64 :
			       stream_len - off;
		size_t used;

		piece = piece < stream_len - off ? piece : stream_len - off;
		rc = sl_frame_line_feed(&fr, stream + off, piece, &used,
					fz_collect, &f);
		fz_abort_unless(used <= piece);
		off += used;
		if (rc == -EMSGSIZE)
			break;
		fz_abort_unless(rc == 0 || rc == -EAGAIN);
		fz_abort_unless(rc != 0 || used == piece);
		/* A refusal is retried; the control pattern is finite. */
		fz_abort_unless(++rounds < 1 << 20);
	}
	fz_abort_unless((rc == -EMSGSIZE) == want_dead);
	fz_abort_unless(sl_frame_line_dead(&fr) == want_dead);
	fz_abort_unless(drop[SL_DROP_LINE_TOO_LONG] == (uint64_t)want_dead);
	fz_abort_unless(got.nb == want.nb && got.used == want.used);
	fz_abort_unless(memcmp(got.len, want.len, got.nb * 4) == 0);
	fz_abort_unless(memcmp(got.bytes, want.bytes, got.used) == 0);
	tail = sl_frame_line_finish(&fr);
	fz_abort_unless(tail == (want_dead ? 0 : want_tail));
	fz_abort_unless(drop[SL_DROP_UNTERMINATED_TAIL] == (tail > 0));
	return 0;
}
