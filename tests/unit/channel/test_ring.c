/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPSC record ring: reserve/publish/unreserve, peek/release, wrap-around
 * with padding, full and empty, prefaulting, and a two-thread stress run
 * that checks every record arrives once, in order, intact.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sl_ring.h"

static void
put_rec(struct sl_ring *r, uint32_t len, uint8_t fill)
{
	uint8_t *p = sl_ring_reserve(r, len);

	cr_assert_not_null(p);
	memset(p, fill, len);
}

Test(ring, empty_ring_peeks_nothing)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;

	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_free(r);
}

Test(ring, unpublished_records_are_invisible_until_publish)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;
	const uint8_t *p;

	put_rec(r, 10, 0xab);
	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_publish(r);
	p = sl_ring_peek(r, &pos, &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 10);
	cr_assert_eq(p[0], 0xab);
	cr_assert_eq(p[9], 0xab);
	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_free(r);
}

Test(ring, unreserve_withdraws_the_open_transaction)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;
	const uint8_t *p;

	put_rec(r, 8, 1);
	sl_ring_publish(r);
	put_rec(r, 8, 2);
	put_rec(r, 8, 3);
	sl_ring_unreserve(r);
	put_rec(r, 8, 4);
	sl_ring_publish(r);
	p = sl_ring_peek(r, &pos, &len);
	cr_assert_eq(p[0], 1);
	p = sl_ring_peek(r, &pos, &len);
	cr_assert_eq(p[0], 4);
	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_free(r);
}

Test(ring, reserve_stops_at_capacity_and_release_frees_space)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;
	unsigned n = 0;

	/* 56 payload + 8 header = 64 bytes each: exactly 64 fit. */
	while (sl_ring_reserve(r, 56))
		n++;
	cr_assert_eq(n, 4096 / 64);
	sl_ring_publish(r);
	cr_assert_not_null(sl_ring_peek(r, &pos, &len));
	cr_assert_null(sl_ring_reserve(r, 56), "peek alone frees nothing");
	sl_ring_release(r, pos);
	cr_assert_not_null(sl_ring_reserve(r, 56));
	cr_assert_null(sl_ring_reserve(r, 56));
	sl_ring_free(r);
}

Test(ring, records_never_straddle_the_end_of_the_buffer)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;
	unsigned i;

	/* Fill most of the ring, consume it, then force a wrap. */
	for (i = 0; i < 60; i++)
		put_rec(r, 56, (uint8_t)i);
	sl_ring_publish(r);
	for (i = 0; i < 60; i++) {
		const uint8_t *p = sl_ring_peek(r, &pos, &len);

		cr_assert_eq(p[0], (uint8_t)i);
	}
	sl_ring_release(r, pos);
	/* 256 bytes left before the end: a 1000-byte record pads and wraps */
	put_rec(r, 1000, 0x5a);
	sl_ring_publish(r);
	{
		const uint8_t *p = sl_ring_peek(r, &pos, &len);

		cr_assert_eq(len, 1000);
		cr_assert_eq((const uint8_t *)p - r->data, 8,
			     "the record starts at the buffer's start");
		for (i = 0; i < 1000; i++)
			cr_assert_eq(p[i], 0x5a);
	}
	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_free(r);
}

Test(ring, rereading_from_the_released_head_repeats_records_in_order)
{
	struct sl_ring *r = sl_ring_create(4096);
	uint64_t pos = 0;
	uint32_t len;
	unsigned i;

	for (i = 0; i < 5; i++)
		put_rec(r, 16, (uint8_t)i);
	sl_ring_publish(r);
	for (i = 0; i < 5; i++)
		cr_assert_eq(((const uint8_t *)sl_ring_peek(r, &pos, &len))[0],
			     i);
	pos = r->head;		/* a take rollback */
	for (i = 0; i < 5; i++)
		cr_assert_eq(((const uint8_t *)sl_ring_peek(r, &pos, &len))[0],
			     i);
	sl_ring_free(r);
}

#define STRESS_RECORDS	2000000u

static void *
stress_producer(void *arg)
{
	struct sl_ring *r = arg;
	uint32_t seq = 0;

	while (seq < STRESS_RECORDS) {
		/* variable sizes exercise padding at every offset */
		uint32_t len = 4 + (seq * 7) % 300;
		uint8_t *p = sl_ring_reserve(r, len);

		if (!p) {
			sl_ring_publish(r);
			continue;
		}
		memcpy(p, &seq, 4);
		memset(p + 4, (uint8_t)seq, len - 4);
		seq++;
		if (seq % 16 == 0)
			sl_ring_publish(r);
	}
	sl_ring_publish(r);
	return NULL;
}

Test(ring, two_threads_pass_every_record_once_in_order, .timeout = 120)
{
	struct sl_ring *r = sl_ring_create(1 << 16);
	pthread_t thr;
	uint64_t pos = 0;
	uint32_t expect = 0, len;

	cr_assert_eq(pthread_create(&thr, NULL, stress_producer, r), 0);
	while (expect < STRESS_RECORDS) {
		const uint8_t *p = sl_ring_peek(r, &pos, &len);
		uint32_t seq, i, bad = 0;

		if (!p)
			continue;
		memcpy(&seq, p, 4);
		if (seq != expect)
			cr_assert_fail("record %u arrived as %u", expect, seq);
		if (len != 4 + (seq * 7) % 300)
			cr_assert_fail("record %u has length %u", seq, len);
		for (i = 4; i < len; i++)
			bad |= p[i] ^ (uint8_t)seq;
		if (bad)
			cr_assert_fail("record %u is corrupt", seq);
		expect++;
		if (expect % 8 == 0)
			sl_ring_release(r, pos);
	}
	sl_ring_release(r, pos);
	pthread_join(thr, NULL);
	cr_assert_null(sl_ring_peek(r, &pos, &len));
	sl_ring_free(r);
}

Test(ring, copy_stream_is_byte_exact_at_every_length_and_alignment)
{
	static uint8_t src[600], dst[700];
	size_t len, off, i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (off = 0; off < 64; off++) {
		for (len = 0; len <= 520; len += (len < 140 ? 1 : 13)) {
			memset(dst, 0xEE, sizeof(dst));
			sl_ring_copy_stream(dst + off, src + (off % 5), len);
			sl_ring_stream_fence();
			cr_assert_eq(memcmp(dst + off, src + (off % 5), len), 0,
				     "len %zu at offset %zu", len, off);
			for (i = 0; i < off; i++)
				cr_assert_eq(dst[i], 0xEE, "wrote before");
			for (i = off + len; i < sizeof(dst); i++)
				cr_assert_eq(dst[i], 0xEE, "wrote after");
		}
	}
}

/* Pages of @r resident in memory (mincore). */
static size_t
ring_resident_pages(const struct sl_ring *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t nb = r->size / page, i, n = 0;
	unsigned char *vec = malloc(nb);

	cr_assert_not_null(vec);
	cr_assert_eq(mincore(r->data, r->size, vec), 0, "%s",
		     strerror(errno));
	for (i = 0; i < nb; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

Test(ring, prefault_makes_every_page_resident_before_the_first_put)
{
	struct sl_ring *r = sl_ring_create(4u << 20);
	size_t pages = r->size / (size_t)sysconf(_SC_PAGESIZE);
	int rc;

	cr_assert_eq(ring_resident_pages(r), 0, "a fresh ring costs no memory");
	rc = sl_ring_prefault(r, "test");
	if (rc == -EOPNOTSUPP) {
		sl_ring_free(r);
		cr_skip_test("MADV_POPULATE_WRITE needs Linux 5.14");
	}
	cr_assert_eq(rc, 0, "%s", strerror(-rc));
	cr_assert_eq(ring_resident_pages(r), pages);
	sl_ring_free(r);
}
