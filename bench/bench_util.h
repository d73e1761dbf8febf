/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers the bench tools share: wall-clock time, strict number
 * parsing for options, percentiles, and the --seq record header layout
 * (written by loadgen, checked by sockread and other consumers).
 * Header only; single-threaded tools.
 */
#ifndef SL_BENCH_UTIL_H
#define SL_BENCH_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_common.h"
#include "sl_time.h"

/*
 * --seq record header: "CCCCCCCC SSSSSSSSSSSS TTTTTTTTTTTTTTTTTTT " =
 * connection id (8 digits), sequence number within that connection (12
 * digits, from 0), CLOCK_REALTIME send time in ns (19 digits), each
 * followed by a space; then 'x' padding and the final '\n'.
 */
#define BENCH_SEQ_HDR_LEN	42
#define BENCH_SEQ_FMT		"%08u %012llu %019llu "
#define BENCH_SEQ_SEQ_AT	9	/* where the sequence field starts */
#define BENCH_SEQ_SEQ_LEN	12	/* ... and its digits */

static inline uint64_t
bench_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Whole number in [min, max]; false on junk or out of range. */
static inline bool
bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static inline int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v in place; the p-th percentile (0..100), 0 if empty. */
static inline uint64_t
bench_percentile(uint64_t *v, size_t n, double p, bool sorted)
{
	size_t i;

	if (n == 0)
		return 0;
	if (!sorted)
		qsort(v, n, sizeof(*v), bench_cmp_u64);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/*
 * Parse a --seq header at @p (at least BENCH_SEQ_HDR_LEN bytes); false if
 * it is not one.
 */
static inline bool
bench_seq_parse(const char *p, uint32_t *conn, uint64_t *seq, uint64_t *ts)
{
	uint64_t v[3] = { 0, 0, 0 };
	static const int width[3] = { 8, 12, 19 };
	int f, i, o = 0;

	for (f = 0; f < 3; f++) {
		for (i = 0; i < width[f]; i++, o++) {
			if (p[o] < '0' || p[o] > '9')
				return false;
			v[f] = v[f] * 10 + (uint64_t)(p[o] - '0');
		}
		if (p[o++] != ' ')
			return false;
	}
	*conn = (uint32_t)v[0];
	*seq = v[1];
	*ts = v[2];
	return true;
}

#endif /* SL_BENCH_UTIL_H */
