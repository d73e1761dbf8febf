/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netcat line framer (frame_int.h): bytes of a stream in, one callback
 * per '\n'-terminated line out, Flume's max-line-length enforced. Called by
 * the io_uring netcat source and the DPDK TCP stack on the thread or lcore
 * that owns the connection.
 *
 * A line that lies whole inside the fed bytes is handed out in place; only
 * a line split across feeds is copied, into the connection's buffer.
 */
#include <errno.h>
#include <string.h>

#include "frame_int.h"
#include "sl_common.h"
#include "sl_drop.h"

/*
 * UTF-16 code units of UTF-8 bytes: every byte that starts a character
 * counts one, a 4-byte lead (a supplementary character, a surrogate pair
 * in Java) one more, continuation bytes none.
 */
static uint32_t
frame_line_utf16_units(const uint8_t *p, size_t n)
{
	uint32_t u = 0;
	size_t i;

	for (i = 0; i < n; i++)
		u += ((p[i] & 0xC0) != 0x80) + (p[i] >= 0xF0);
	return u;
}

size_t
sl_frame_line_buf_size(uint32_t max_len, enum sl_frame_units mode)
{
	if (max_len == 0)
		max_len = 1;
	/* Valid UTF-8 needs at most 3 bytes per unit (BMP characters). */
	return mode == SL_FRAME_UNITS_UTF16 ? (size_t)max_len * 3 : max_len;
}

void
sl_frame_line_init(struct sl_frame_line *fr, uint8_t *buf, uint32_t max_len,
		   enum sl_frame_units mode, uint64_t *drop)
{
	memset(fr, 0, sizeof(*fr));
	fr->buf = buf;
	fr->max_len = max_len ? max_len : 1;
	fr->mode = mode;
	fr->buf_size = (uint32_t)sl_frame_line_buf_size(fr->max_len, mode);
	fr->drop = drop;
}

/*
 * Would the pending line plus @seg more bytes be over-long? The body is
 * over-long once it holds max_len units: with its newline it would exceed
 * max-line-length, and without one Flume's buffer is full. *@add_units
 * gets the units of @seg when the caller needs them (UTF16 mode).
 */
static bool
frame_line_too_long(const struct sl_frame_line *fr, const uint8_t *seg,
		    size_t seg_len, bool need_units, uint32_t *add_units)
{
	size_t bytes = (size_t)fr->len + seg_len;

	*add_units = 0;
	if (fr->mode == SL_FRAME_UNITS_BYTES)
		return bytes >= fr->max_len;
	if (bytes >= fr->buf_size)
		return true;
	if (need_units || bytes >= fr->max_len)
		*add_units = frame_line_utf16_units(seg, seg_len);
	/* A body whose bytes fit is never over-long, whatever it holds. */
	return bytes >= fr->max_len &&
	       (uint64_t)fr->units + *add_units >= fr->max_len;
}

int
sl_frame_line_feed(struct sl_frame_line *fr, const uint8_t *data, size_t len,
		   size_t *consumed, sl_frame_fn fn, void *arg)
{
	const uint8_t *p = data, *end = data + len;
	uint32_t add_units;
	int rc;

	*consumed = 0;
	if (SL_UNLIKELY(fr->dead))
		return -EMSGSIZE;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = (size_t)((nl ? nl : end) - p);

		if (fr->len == 0 && nl) {
			/* The whole line is in @data: hand it out in place. */
			if (SL_UNLIKELY(frame_line_too_long(fr, p, seg, false,
							    &add_units)))
				goto too_long;
			rc = fn(arg, p, (uint32_t)seg);
			if (rc < 0)
				goto refused;
			p = nl + 1;
			continue;
		}
		/* The line started in an earlier feed, or ends in a later one. */
		if (SL_UNLIKELY(frame_line_too_long(fr, p, seg, !nl,
						    &add_units)))
			goto too_long;
		memcpy(fr->buf + fr->len, p, seg);
		if (!nl) {
			fr->len += (uint32_t)seg;
			fr->units += add_units;
			break;
		}
		rc = fn(arg, fr->buf, fr->len + (uint32_t)seg);
		if (rc < 0)
			goto refused;	/* fr->len unchanged: bytes re-fed */
		fr->len = 0;
		fr->units = 0;
		p = nl + 1;
	}
	*consumed = len;
	return 0;

refused:
	*consumed = (size_t)(p - data);
	return rc;

too_long:
	fr->dead = true;
	if (fr->drop)
		sl_stat_add(&fr->drop[SL_DROP_LINE_TOO_LONG], 1);
	*consumed = (size_t)(p - data);
	return -EMSGSIZE;
}

uint32_t
sl_frame_line_finish(struct sl_frame_line *fr)
{
	uint32_t tail = fr->dead ? 0 : fr->len;

	if (tail && fr->drop)
		sl_stat_add(&fr->drop[SL_DROP_UNTERMINATED_TAIL], 1);
	fr->len = 0;
	fr->units = 0;
	fr->dead = false;
	return tail;
}
