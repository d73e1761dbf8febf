/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small macros every folder uses: cache alignment, branch hints, asserts,
 * counters, thread names.
 * Header only; no thread or core owns anything here.
 */
#ifndef SL_COMMON_H
#define SL_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SL_CACHE_LINE		64
#define SL_CACHE_ALIGNED	__attribute__((aligned(SL_CACHE_LINE)))
#define SL_LIKELY(x)		__builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x)		__builtin_expect(!!(x), 0)
#define SL_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)		((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)		((a) > (b) ? (a) : (b))
#define SL_ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define SL_UNUSED		__attribute__((unused))
#define SL_PRINTF(f, a)		__attribute__((format(printf, f, a)))

/*
 * Name thread @t "ROLE:NAME" (cut to the kernel's 15 characters), so that
 * top -H, perf and /proc tell sluice's threads apart. Best effort.
 */
static inline void
sl_thread_name(pthread_t t, const char *role, const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s:%s", role, name);
	pthread_setname_np(t, buf);
}

/* Aborts in every build: for states that mean memory is already corrupt. */
#define SL_VERIFY(cond)							\
	do {								\
		if (SL_UNLIKELY(!(cond))) {				\
			fprintf(stderr, "%s:%d: SL_VERIFY(%s) failed\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#ifdef NDEBUG
#define SL_ASSERT(cond)		((void)0)
#else
#define SL_ASSERT(cond)		SL_VERIFY(cond)
#endif

/* Relaxed counter helpers: one writer, any number of readers. */
static inline void
sl_stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* For counters that several threads bump (control plane, rare paths). */
static inline void
sl_stat_add_mt(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline uint64_t
sl_stat_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif /* SL_COMMON_H */
