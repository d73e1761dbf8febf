/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane/-internal: the netcat line framer. One small state per TCP
 * connection; the io_uring netcat source and the DPDK TCP stack feed it the
 * bytes of a stream in any split and get back one callback per line, with
 * Flume's NetcatSource semantics. Runs on whichever thread or lcore owns
 * the connection; no locks, no allocation, no clock.
 */
#ifndef SL_FRAME_INT_H
#define SL_FRAME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Flume semantics, which this framer follows:
 *  - one event per '\n'-terminated line; the body excludes the '\n' and
 *    keeps everything else, a '\r' before the '\n' and NUL bytes included;
 *    an empty line is an empty event;
 *  - max-line-length counts the line including its newline: a body of
 *    max_len - 1 units plus '\n' is accepted, a body of max_len units is
 *    over-long. The stream is over-long as soon as max_len units are
 *    pending without a newline (Flume's CharBuffer is full), so an
 *    over-long line is reported before its newline arrives;
 *  - after an over-long line the connection is dead (netcat replies
 *    "FAILED: Event exceeds the maximum length (N chars, including
 *    newline)\n" and closes it);
 *  - bytes left without a newline at EOF are discarded.
 *
 * Units: SL_FRAME_UNITS_BYTES counts bytes. SL_FRAME_UNITS_UTF16 counts
 * what Java counts for UTF-8 input: UTF-16 code units (1 per character of
 * the BMP, 2 per supplementary character), so a line of 3-byte characters
 * may hold 3 x (max_len - 1) bytes. A line whose byte length alone fits is
 * always accepted, and malformed UTF-8 can never hold more than
 * sl_frame_line_buf_size() bytes; bodies are passed through unchanged
 * (Flume would replace malformed sequences with U+FFFD).
 */
enum sl_frame_units {
	SL_FRAME_UNITS_BYTES,
	SL_FRAME_UNITS_UTF16,
};

/*
 * Called once per complete line, in stream order. @line (without the
 * '\n') is valid only during the call: it points into the caller's data
 * or into the framer's buffer. Return 0 when the line is taken, or a
 * negative errno to refuse it (backpressure): the framer then stops, the
 * line counts as not consumed, and the same line is emitted again when
 * the caller feeds the unconsumed bytes later.
 */
typedef int (*sl_frame_fn)(void *arg, const uint8_t *line, uint32_t len);

/* Per-connection state; treat the fields as private. */
struct sl_frame_line {
	uint8_t *buf;		/* the unterminated line so far */
	uint32_t buf_size;
	uint32_t len;		/* bytes pending in buf */
	uint32_t units;		/* their units (UTF16 mode) */
	uint32_t max_len;	/* max-line-length, newline included */
	enum sl_frame_units mode;
	bool dead;		/* an over-long line was reported */
	uint64_t *drop;		/* caller's drop[SL_DROP_MAX]; may be NULL */
};

/* Bytes of buffer a connection needs for @max_len (>= 1) in @mode. */
size_t sl_frame_line_buf_size(uint32_t max_len, enum sl_frame_units mode);

/*
 * Set up @fr over @buf, which holds sl_frame_line_buf_size(max_len, mode)
 * bytes and belongs to the caller (allocated once per connection). @drop
 * (may be NULL) is the caller's drop counter array: the framer bumps
 * SL_DROP_LINE_TOO_LONG and SL_DROP_UNTERMINATED_TAIL there itself.
 * Context: the connection's thread or lcore.
 */
void sl_frame_line_init(struct sl_frame_line *fr, uint8_t *buf,
			uint32_t max_len, enum sl_frame_units mode,
			uint64_t *drop);

/*
 * Feed @len bytes of the stream. Calls @fn for every complete line, in
 * order; *@consumed is set to the number of bytes of @data the framer has
 * taken (lines handed to @fn plus an unterminated tail it buffered).
 * Returns:
 *   0          all @len bytes consumed;
 *   -EMSGSIZE  an over-long line: counted in drop[SL_DROP_LINE_TOO_LONG]
 *              once; the lines before it were emitted; every later feed
 *              returns -EMSGSIZE consuming nothing. Reply and close;
 *   < 0        the value @fn returned to refuse a line: feed the bytes from
 *              @data + *@consumed again later (the framer's own buffered
 *              part of that line is kept).
 * Context: the connection's thread or lcore.
 */
int sl_frame_line_feed(struct sl_frame_line *fr, const uint8_t *data,
		       size_t len, size_t *consumed, sl_frame_fn fn,
		       void *arg);

/*
 * End of stream: discard the unterminated tail, if any, counting it once in
 * drop[SL_DROP_UNTERMINATED_TAIL]. Returns the number of bytes discarded
 * (0: nothing was pending, or the stream was already dead). The framer is
 * empty afterwards and may be reused for a new stream.
 */
uint32_t sl_frame_line_finish(struct sl_frame_line *fr);

/* True once an over-long line was reported. */
static inline bool
sl_frame_line_dead(const struct sl_frame_line *fr)
{
	return fr->dead;
}

/* Bytes of an unterminated line currently buffered. */
static inline uint32_t
sl_frame_line_pending(const struct sl_frame_line *fr)
{
	return fr->len;
}

#endif /* SL_FRAME_INT_H */
