/* SPDX-License-Identifier: Apache-2.0 */
/*
 * micro_bench: issue 6's micro-benchmarks, each beside its physical bound
 * measured in the same process, one line per case (bench/run parses them):
 * the netcat line framer (dataplane/frame_line.c) over 1 KiB lines in an
 * in-memory buffer vs a memcpy of the same bytes, and the SPSC ring
 * (channel/sl_ring.h) carrying 1 KiB records between two threads vs a
 * memcpy of 1 KiB records. A case whose record count is short is FAILED.
 *
 *   micro_bench [-t SECONDS_PER_CASE] [-r RECORD_BYTES]
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame_int.h"
#include "sl_ring.h"

#define MB_BUF		(32u << 20)	/* framer input / memcpy source */
#define FEED_BYTES	(64u << 10)	/* one socket read's worth */
#define RING_BYTES	(4u << 20)
#define RING_BATCH	32u		/* records per publish / release */

static double secs_per_case = 1.0;
static unsigned rec_bytes = 1024;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
line(const char *name, double rate, double bound, const char *status)
{
	printf("micro case=%s rate=%.0f bound=%.0f ratio=%.3f unit=rec/s "
	       "status=%s\n", name, rate, bound, bound > 0 ? rate / bound : 0,
	       status);
	fflush(stdout);
}

/* A memcpy of @len-byte records from @src (@total bytes) to @dst (its
 * first @dst_total bytes, wrapping), repeated for secs_per_case: records/s. */
static double
memcpy_rate(uint8_t *dst, size_t dst_total, const uint8_t *src, size_t total,
	    size_t len)
{
	uint64_t n = 0;
	double t0 = now_s(), t;

	do {
		size_t off;

		for (off = 0; off + len <= total; off += len)
			memcpy(dst + off % (dst_total - dst_total % len),
			       src + off, len);
		n += total / len;
		__asm__ volatile("" : : "r"(dst) : "memory");
		t = now_s() - t0;
	} while (t < secs_per_case);
	return (double)n / t;
}

struct frame_count {
	uint64_t lines;
	uint64_t bytes;
};

static int
frame_take(void *arg, const uint8_t *ln, uint32_t len)
{
	struct frame_count *c = arg;

	c->lines++;
	(void)ln;
	c->bytes += len;
	return 0;
}

static int
bench_frame(const char *name, enum sl_frame_units mode, uint8_t *in,
	    uint8_t *out)
{
	size_t per = MB_BUF / rec_bytes, total = per * rec_bytes;
	size_t bufsz = sl_frame_line_buf_size(rec_bytes + 1, mode);
	uint8_t *fbuf = malloc(bufsz);
	struct sl_frame_line fr;
	struct frame_count c = { 0, 0 };
	uint64_t passes = 0;
	double t0, t, bound, rate;
	bool ok = true;

	if (!fbuf)
		return -1;
	sl_frame_line_init(&fr, fbuf, rec_bytes + 1, mode, NULL);
	bound = memcpy_rate(out, total, in, total, rec_bytes);
	t0 = now_s();
	do {
		size_t off, used;

		/* Feeds of 64 KiB split lines across feeds, as reads do. */
		for (off = 0; off < total; off += FEED_BYTES) {
			size_t len = total - off < FEED_BYTES ? total - off :
				     FEED_BYTES;

			if (sl_frame_line_feed(&fr, in + off, len, &used,
					       frame_take, &c) < 0 ||
			    used != len)
				ok = false;
		}
		passes++;
		t = now_s() - t0;
	} while (t < secs_per_case && ok);
	rate = (double)c.lines / t;
	if (c.lines != passes * per ||
	    c.bytes != passes * per * (rec_bytes - 1) ||
	    sl_frame_line_pending(&fr) != 0)
		ok = false;
	line(name, rate, bound, ok ? "ok" : "FAILED");
	free(fbuf);
	return ok ? 0 : -1;
}

struct ring_arg {
	struct sl_ring *ring;
	uint64_t records;	/* to carry */
	uint64_t got;		/* consumer: records taken */
	uint64_t bad;		/* consumer: wrong length or sequence */
	const uint8_t *src;
};

static void *
ring_consumer(void *p)
{
	struct ring_arg *a = p;
	uint8_t sink[4096];
	uint64_t pos = 0, n = 0;
	unsigned since = 0;

	while (n < a->records) {
		uint32_t len;
		const uint8_t *rec = sl_ring_peek(a->ring, &pos, &len);
		uint64_t seq;

		if (!rec) {
			if (since) {
				sl_ring_release(a->ring, pos);
				since = 0;
			}
			sched_yield();
			continue;
		}
		/* The take copies the record out, as a sink's batch does. */
		memcpy(sink, rec, len);
		memcpy(&seq, sink, sizeof(seq));
		if (len != rec_bytes || seq != n)
			a->bad++;
		n++;
		if (++since == RING_BATCH) {
			sl_ring_release(a->ring, pos);
			since = 0;
		}
	}
	sl_ring_release(a->ring, pos);
	a->got = n;
	return NULL;
}

static int
bench_ring(uint8_t *in, uint8_t *out)
{
	size_t per = MB_BUF / rec_bytes, total = per * rec_bytes;
	struct ring_arg a = { 0 };
	pthread_t th;
	double bound, t0, t, rate;
	uint64_t n;
	unsigned pending = 0;
	bool ok;

	/* The bound: the same copy into a ring-sized (cache-warm) area. */
	bound = memcpy_rate(out, RING_BYTES, in, total, rec_bytes);
	a.ring = sl_ring_create(RING_BYTES);
	if (!a.ring)
		return -1;
	/* As many records as the memcpy bound moves in the case's time,
	 * so the ring case takes about as long or longer. */
	a.records = (uint64_t)(bound * secs_per_case / 2) + 1;
	t0 = now_s();
	if (pthread_create(&th, NULL, ring_consumer, &a) != 0)
		return -1;
	for (n = 0; n < a.records; n++) {
		uint8_t *dst;

		while (!(dst = sl_ring_reserve(a.ring, rec_bytes))) {
			if (pending) {
				sl_ring_publish(a.ring);
				pending = 0;
			}
			sched_yield();
		}
		/* The put copies the record in, as a source's put does. */
		memcpy(dst, in + (n % per) * rec_bytes, rec_bytes);
		memcpy(dst, &n, sizeof(n));
		if (++pending == RING_BATCH) {
			sl_ring_publish(a.ring);
			pending = 0;
		}
	}
	sl_ring_publish(a.ring);
	pthread_join(th, NULL);
	t = now_s() - t0;
	rate = (double)a.got / t;
	ok = a.got == a.records && a.bad == 0;
	line("ring-put-take", rate, bound, ok ? "ok" : "FAILED");
	sl_ring_free(a.ring);
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	uint8_t *in, *out;
	size_t i;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "t:r:h")) != -1) {
		switch (opt) {
		case 't': secs_per_case = atof(optarg); break;
		case 'r': rec_bytes = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: micro_bench [-t SECONDS] "
				"[-r RECORD_BYTES]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (rec_bytes < 16 || rec_bytes > 4096 || secs_per_case <= 0) {
		fprintf(stderr, "micro_bench: -r must be 16..4096, -t > 0\n");
		return 2;
	}
	in = malloc(MB_BUF);
	out = malloc(MB_BUF);
	if (!in || !out)
		return 1;
	/* 1 KiB lines: printable ASCII, '\n' last; touch out as well. */
	for (i = 0; i < MB_BUF; i++)
		in[i] = (i + 1) % rec_bytes == 0 ? '\n' :
			(uint8_t)('a' + (i * 7) % 26);
	memset(out, 0, MB_BUF);
	if (bench_frame("frame-utf8", SL_FRAME_UNITS_UTF16, in, out) < 0)
		rc = 1;
	if (bench_frame("frame-ascii", SL_FRAME_UNITS_BYTES, in, out) < 0)
		rc = 1;
	if (bench_ring(in, out) < 0)
		rc = 1;
	free(in);
	free(out);
	return rc;
}
