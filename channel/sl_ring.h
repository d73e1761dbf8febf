/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A single-producer single-consumer ring of variable-length records, the
 * hand-off between one producer thread (a source's I/O thread or a PMD
 * lcore) and one consumer (a sink runner or the file channel's writer).
 *
 * The producer reserves contiguous space for a record, fills it, and
 * publishes any number of reserved records at once (a put transaction);
 * unpublished reservations can be withdrawn (rollback). The consumer peeks
 * records at its own read cursor without consuming them, and releases space
 * up to a position once it is done with everything before it (a take
 * commit); moving the read cursor back to the released head re-reads the
 * same records in order (a take rollback). Positions are byte offsets that
 * only grow (64 bits do not wrap in practice).
 *
 * No locks: the producer owns tail, the consumer owns head; each reads the
 * other's with acquire and caches it (DPDK rte_ring's head/tail split).
 */
#ifndef SL_RING_H
#define SL_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define SL_RING_HAVE_STREAM 1
#endif

#include "sl_common.h"

#define SL_RING_ALIGN	8u

struct sl_ring {
	/* Producer's line: written only by the producer. */
	uint64_t tail SL_CACHE_ALIGNED;	/* published; release pairs with
					 * the consumer's acquire in peek */
	uint64_t ptail;			/* reserved, not yet published */
	uint64_t head_cache;		/* producer's last view of head */

	/* Consumer's line: written only by the consumer. */
	uint64_t head SL_CACHE_ALIGNED;	/* released; release pairs with
					 * the producer's acquire in reserve */
	uint64_t tail_cache;		/* consumer's last view of tail */

	/* Read-only after creation. */
	uint64_t size SL_CACHE_ALIGNED;	/* bytes, a power of two */
	uint64_t mask;
	uint8_t *data;
};

/* A record starts with this; len covers header and payload, 8-aligned. */
struct sl_ring_rec {
	uint32_t len;		/* SL_RING_PAD: skip to the end of the buffer */
	uint32_t payload_len;
};

#define SL_RING_PAD	0xffffffffu

/* How many records a consumer's walk prefetches ahead (sl_ring_peek()). */
#define SL_RING_PREFETCH_AHEAD	8u

/*
 * Create a ring of at least @size bytes (rounded up to a power of two).
 * Returns NULL on ENOMEM. Context: control thread.
 */
struct sl_ring *sl_ring_create(uint64_t size);
void sl_ring_free(struct sl_ring *r);

/*
 * Fault every page of @r in now rather than on the put path, where each
 * 4 KiB of records would take a page fault and a cleared page (a third of
 * a put's cost on a fresh ring; in a VM the first touch of a page can also
 * cost the hypervisor's fault, ~13 us here). Positions only grow, so any
 * sustained load touches the whole ring anyway: the RSS is the same, only
 * paid at the start. Best effort: returns 0, -EOPNOTSUPP (Linux before
 * 5.14: pages fault in as before) or -errno (-ENOMEM, logged as a
 * warning of channel @who). Context: control thread.
 */
int sl_ring_prefault(struct sl_ring *r, const char *who);

/* The largest payload sl_ring_reserve() can ever accept on @r. */
static inline uint32_t
sl_ring_max_payload(const struct sl_ring *r)
{
	return (uint32_t)SL_MIN(r->size / 4, (uint64_t)UINT32_MAX / 2);
}

/*
 * Reserve contiguous space for a record with @payload_len bytes. Returns a
 * pointer to the payload, or NULL when the ring has no room now.
 * Context: the producer.
 */
static inline void *
sl_ring_reserve(struct sl_ring *r, uint32_t payload_len)
{
	uint64_t len = SL_ALIGN_UP((uint64_t)payload_len +
				   sizeof(struct sl_ring_rec), SL_RING_ALIGN);
	uint64_t off = r->ptail & r->mask;
	uint64_t pad = 0;
	struct sl_ring_rec *rec;

	/* A record never wraps: pad to the end and start at offset 0. */
	if (off + len > r->size)
		pad = r->size - off;
	if (r->ptail + pad + len - r->head_cache > r->size) {
		r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (r->ptail + pad + len - r->head_cache > r->size)
			return NULL;
	}
	if (pad) {
		rec = (struct sl_ring_rec *)(r->data + off);
		rec->len = SL_RING_PAD;
		r->ptail += pad;
		off = 0;
	}
	rec = (struct sl_ring_rec *)(r->data + off);
	rec->len = (uint32_t)len;
	rec->payload_len = payload_len;
	r->ptail += len;
	return rec + 1;
}

/* Make every reserved record visible to the consumer. Context: producer. */
static inline void
sl_ring_publish(struct sl_ring *r)
{
	/* Pairs with the acquire of tail in sl_ring_peek(). */
	__atomic_store_n(&r->tail, r->ptail, __ATOMIC_RELEASE);
}

/*
 * Copy @len bytes into reserved space at @dst with non-temporal stores
 * (x86-64 SSE2; memcpy elsewhere): for a ring holding more than the
 * caches, a record is evicted before the consumer reads it anyway, and
 * ordinary stores would first read each destination line from memory.
 * The caller runs sl_ring_stream_fence() before sl_ring_publish() (the
 * release store does not order non-temporal stores). Context: producer.
 */
static inline void
sl_ring_copy_stream(void *dst, const void *src, size_t len)
{
#ifdef SL_RING_HAVE_STREAM
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t head = SL_MIN((size_t)(-(uintptr_t)d) & 63, len);

	memcpy(d, s, head);		/* up to a cache line boundary */
	d += head;
	s += head;
	len -= head;
	for (; len >= 64; d += 64, s += 64, len -= 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)s);
		__m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
		__m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
		__m128i e = _mm_loadu_si128((const __m128i *)(s + 48));

		_mm_stream_si128((__m128i *)d, a);
		_mm_stream_si128((__m128i *)(d + 16), b);
		_mm_stream_si128((__m128i *)(d + 32), c);
		_mm_stream_si128((__m128i *)(d + 48), e);
	}
	memcpy(d, s, len);
#else
	memcpy(dst, src, len);
#endif
}

/* Order sl_ring_copy_stream()'s stores before a publish. Producer. */
static inline void
sl_ring_stream_fence(void)
{
#ifdef SL_RING_HAVE_STREAM
	_mm_sfence();
#endif
}

/*
 * Bytes reserved and not yet released (reads the consumer's head: once
 * per transaction, not per record). Context: the producer.
 */
static inline uint64_t
sl_ring_producer_used(struct sl_ring *r)
{
	r->head_cache = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	return r->ptail - r->head_cache;
}

/* Withdraw every reserved, unpublished record. Context: producer. */
static inline void
sl_ring_unreserve(struct sl_ring *r)
{
	r->ptail = r->tail;
}

/*
 * The record at consumer position *@pos, or NULL when none is published
 * there. On success *@pos moves past it and *@len is its payload length.
 * Context: the consumer.
 */
static inline const void *
sl_ring_peek(struct sl_ring *r, uint64_t *pos, uint32_t *len)
{
	const struct sl_ring_rec *rec;
	uint64_t ahead;

	if (*pos == r->tail_cache) {
		r->tail_cache = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (*pos == r->tail_cache)
			return NULL;
	}
	rec = (const struct sl_ring_rec *)(r->data + (*pos & r->mask));
	if (rec->len == SL_RING_PAD) {
		*pos += r->size - (*pos & r->mask);
		rec = (const struct sl_ring_rec *)r->data;
	}
	*pos += rec->len;
	/*
	 * Prefetch the header SL_RING_PREFETCH_AHEAD records on, supposing
	 * the records between are as long as this one (log lines of one
	 * source mostly are; a wrong guess wastes one prefetch). Walking a
	 * ring that holds more than the caches otherwise waits for memory
	 * once per record: each header's address depends on the length in
	 * the one before. Only below the published tail, where the producer
	 * is done writing.
	 */
	ahead = *pos + (uint64_t)(SL_RING_PREFETCH_AHEAD - 1) * rec->len;
	if (ahead < r->tail_cache)
		__builtin_prefetch(r->data + (ahead & r->mask));
	*len = rec->payload_len;
	return rec + 1;
}

/* Free the space of every record before @pos. Context: the consumer. */
static inline void
sl_ring_release(struct sl_ring *r, uint64_t pos)
{
	/* Pairs with the acquire of head in sl_ring_reserve(). */
	__atomic_store_n(&r->head, pos, __ATOMIC_RELEASE);
}

/* Bytes published and not yet released; any thread (approximate). */
static inline uint64_t
sl_ring_used(const struct sl_ring *r)
{
	return __atomic_load_n(&r->tail, __ATOMIC_RELAXED) -
	       __atomic_load_n(&r->head, __ATOMIC_RELAXED);
}

#endif /* SL_RING_H */
