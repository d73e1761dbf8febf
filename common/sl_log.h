/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: sl_log(LEVEL, "<component> <instance>: ...") to stderr, one line
 * per call, with a timestamp and level like Flume's console appender.
 * Any thread. Dataplane code uses SL_LOG_RATELIMIT, never plain sl_log.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_common.h"

enum sl_log_level {
	SL_LOG_ERROR,
	SL_LOG_WARN,
	SL_LOG_INFO,
	SL_LOG_DEBUG,
};

#define SL_ERROR	SL_LOG_ERROR
#define SL_WARN		SL_LOG_WARN
#define SL_INFO		SL_LOG_INFO
#define SL_DEBUG	SL_LOG_DEBUG

void sl_log_set_level(enum sl_log_level level);
enum sl_log_level sl_log_get_level(void);

/*
 * Parse a level name as log4j spells it (ERROR, WARN, INFO, DEBUG, TRACE,
 * case-insensitive). Returns 0 or -EINVAL.
 */
int sl_log_level_parse(const char *name, enum sl_log_level *level);

void sl_log_write(enum sl_log_level level, const char *fmt, ...)
	SL_PRINTF(2, 3);

#define sl_log(level, ...)						\
	do {								\
		if ((level) <= sl_log_get_level())			\
			sl_log_write((level), __VA_ARGS__);		\
	} while (0)

/*
 * Rate limit state for one log site: at most one line per @interval_ns;
 * the next line that gets through says how many were suppressed.
 */
struct sl_log_ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};

bool sl_log_ratelimit_ok(struct sl_log_ratelimit *rl, uint64_t now_ns,
			 uint64_t interval_ns, uint64_t *suppressed);

#endif /* SL_LOG_H */
