/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clocks. Protocol and framing code takes time as a parameter (uint64_t now);
 * only loop tops call these. Any thread.
 */
#ifndef SL_TIME_H
#define SL_TIME_H

#include <stdint.h>
#include <time.h>

#define SL_NS_PER_MS	1000000ULL
#define SL_NS_PER_SEC	1000000000ULL

static inline uint64_t
sl_time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
sl_time_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep for @ns; used only by backoff paths, never on the dataplane. */
static inline void
sl_time_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / SL_NS_PER_SEC),
		.tv_nsec = (long)(ns % SL_NS_PER_SEC),
	};

	nanosleep(&ts, NULL);
}

#endif /* SL_TIME_H */
