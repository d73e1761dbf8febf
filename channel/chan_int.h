/* SPDX-License-Identifier: Apache-2.0 */
/*
 * channel/-internal helpers: the encoding of an event inside a ring record
 * (and a log record), shared by the memory and file channels.
 *
 *   u16 nb_headers | u16 0 | u32 body_len |
 *   nb_headers x (u16 key_len | u16 val_len | key NUL | val NUL) | body
 *
 * Host byte order: rings never leave the machine.
 */
#ifndef SL_CHAN_INT_H
#define SL_CHAN_INT_H

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sl_event.h"

#define SL_CHAN_EV_HDR	8u

/* Bytes needed to encode @ev. */
static inline uint32_t
sl_chan_event_size(const struct sl_event *ev)
{
	uint32_t n = SL_CHAN_EV_HDR + ev->body_len;
	unsigned i;

	for (i = 0; i < ev->nb_headers; i++)
		n += 4u + ev->hdrs[i].key_len + 1u + ev->hdrs[i].val_len + 1u;
	return n;
}

/*
 * Encode all of @ev but its body into @buf, which holds
 * sl_chan_event_size(ev) bytes; returns where the body_len bytes of the
 * body go (the memory channel copies large bodies its own way).
 */
static inline uint8_t *
sl_chan_event_encode_meta(uint8_t *buf, const struct sl_event *ev)
{
	uint16_t nb = ev->nb_headers, zero = 0;
	unsigned i;

	memcpy(buf, &nb, 2);
	memcpy(buf + 2, &zero, 2);
	memcpy(buf + 4, &ev->body_len, 4);
	buf += SL_CHAN_EV_HDR;
	for (i = 0; i < nb; i++) {
		const struct sl_header *h = &ev->hdrs[i];

		memcpy(buf, &h->key_len, 2);
		memcpy(buf + 2, &h->val_len, 2);
		buf += 4;
		memcpy(buf, h->key, h->key_len);
		buf[h->key_len] = '\0';
		buf += h->key_len + 1;
		memcpy(buf, h->val, h->val_len);
		buf[h->val_len] = '\0';
		buf += h->val_len + 1;
	}
	return buf;
}

/* Encode @ev into @buf, which holds sl_chan_event_size(ev) bytes. */
static inline void
sl_chan_event_encode(uint8_t *buf, const struct sl_event *ev)
{
	memcpy(sl_chan_event_encode_meta(buf, ev), ev->body, ev->body_len);
}

/*
 * Decode the @len bytes at @buf into the view @ev (pointers into @buf).
 * Returns 0 or -EBADMSG when the bytes do not hold a whole event (the file
 * channel decodes bytes read back from disk).
 */
static inline int
sl_chan_event_decode(const uint8_t *buf, uint32_t len, struct sl_event *ev)
{
	const uint8_t *p = buf + SL_CHAN_EV_HDR, *end = buf + len;
	uint16_t nb;
	unsigned i;

	if (len < SL_CHAN_EV_HDR)
		return -EBADMSG;
	memcpy(&nb, buf, 2);
	memcpy(&ev->body_len, buf + 4, 4);
	if (nb > SL_EVENT_MAX_HEADERS)
		return -EBADMSG;
	ev->nb_headers = nb;
	for (i = 0; i < nb; i++) {
		struct sl_header *h = &ev->hdrs[i];

		if (end - p < 4)
			return -EBADMSG;
		memcpy(&h->key_len, p, 2);
		memcpy(&h->val_len, p + 2, 2);
		p += 4;
		if (end - p < (long)h->key_len + h->val_len + 2)
			return -EBADMSG;
		h->key = (const char *)p;
		p += h->key_len + 1;
		h->val = (const char *)p;
		p += h->val_len + 1;
	}
	if ((uint64_t)(end - p) != ev->body_len)
		return -EBADMSG;
	ev->body = p;
	return 0;
}

/*
 * "Room again" wakeups of paused producers (the optional ops
 * producer_room_fd / producer_room_arm), one protocol for every channel:
 * a producer arms its flag, counts itself in the channel's waiters and
 * fences, then looks for room again (found: disarm, go on). Whoever frees
 * room fences, and only when someone is counted signals each armed
 * producer with room, once, through its eventfd.
 */
static inline void
sl_chan_room_arm(uint32_t *armed, uint32_t *waiters)
{
	if (!__atomic_load_n(armed, __ATOMIC_RELAXED)) {
		__atomic_store_n(armed, 1, __ATOMIC_RELAXED);
		/* Pairs with the acquire of the waker that counts us. */
		__atomic_fetch_add(waiters, 1, __ATOMIC_RELEASE);
	}
	/* Pairs with the waker's fence: either it sees our flag, or we see
	 * the room it freed. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Armed, then found room after all: the producer goes on. */
static inline void
sl_chan_room_disarm(uint32_t *armed, uint32_t *waiters)
{
	if (__atomic_exchange_n(armed, 0, __ATOMIC_RELAXED))
		__atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
}

/*
 * Signal one producer if it is (still) armed: 1 when signalled, 0 when
 * not armed, -errno when its eventfd could not be written (the caller
 * logs). Non-blocking: a full counter already reads as "readable".
 */
static inline int
sl_chan_room_signal(uint32_t *armed, uint32_t *waiters, int fd)
{
	uint64_t one = 1;

	if (!__atomic_load_n(armed, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(armed, 0, __ATOMIC_RELAXED))
		return 0;
	__atomic_fetch_sub(waiters, 1, __ATOMIC_RELAXED);
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 1;
}

/*
 * consumer_wait(): a sink sleeps on the futex word @sleeping of its
 * consumer, one protocol for every channel. The consumer stores what it
 * waits for, then sl_chan_sleep_begin() (flag up, fence), then looks
 * again: ready, sl_chan_sleep_cancel(); not, sl_chan_sleep(). A producer
 * (or writer) that made events takeable fences, and wakes only a consumer
 * whose flag is up and whose wait is met (sl_chan_wake_sleeper): either
 * it sees the flag, or the consumer sees its events.
 */

/* @min_events as far as a take of @max_txn (of a channel of @tx_capacity
 * and @capacity) can ever get: a batch no take returns would never come. */
static inline uint64_t
sl_chan_wait_want(unsigned min_events, uint64_t max_txn, int64_t tx_capacity,
		  int64_t capacity)
{
	uint64_t want = min_events;

	want = want < max_txn ? want : max_txn;
	want = want < (uint64_t)tx_capacity ? want : (uint64_t)tx_capacity;
	return want < (uint64_t)capacity / 2 ? want : (uint64_t)capacity / 2;
}

static inline long
sl_chan_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static inline void
sl_chan_sleep_begin(uint32_t *sleeping)
{
	__atomic_store_n(sleeping, 1, __ATOMIC_RELAXED);
	/* Pairs with the fence of the waker. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline void
sl_chan_sleep_cancel(uint32_t *sleeping)
{
	__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
}

/* Sleep up to @timeout_ns: 0 when woken (or the waker came first), else
 * -ETIMEDOUT or -EINTR. */
static inline int
sl_chan_sleep(uint32_t *sleeping, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000ull),
		.tv_nsec = (long)(timeout_ns % 1000000000ull),
	};
	long rc = sl_chan_futex(sleeping, FUTEX_WAIT_PRIVATE, 1, &ts);
	int e = rc < 0 ? errno : 0;

	sl_chan_sleep_cancel(sleeping);
	/* EAGAIN: the waker cleared the flag before we slept. */
	return rc == 0 || e == EAGAIN ? 0 : -e;
}

/* The waker's side, after its fence, for a consumer whose wait is met. */
static inline void
sl_chan_wake_sleeper(uint32_t *sleeping)
{
	if (__atomic_exchange_n(sleeping, 0, __ATOMIC_RELAXED))
		sl_chan_futex(sleeping, FUTEX_WAKE_PRIVATE, 1, NULL);
}

#endif /* SL_CHAN_INT_H */
