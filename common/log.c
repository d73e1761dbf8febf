/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log: one line per call on stderr, "YYYY-MM-DD HH:MM:SS,mmm LEVEL msg"
 * like Flume's console appender, written with a single write(2) so lines
 * from different threads never interleave. Any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sl_log.h"

static enum sl_log_level log_level = SL_LOG_INFO;

static const char *const log_level_names[] = {
	[SL_LOG_ERROR] = "ERROR",
	[SL_LOG_WARN] = "WARN",
	[SL_LOG_INFO] = "INFO",
	[SL_LOG_DEBUG] = "DEBUG",
};

void
sl_log_set_level(enum sl_log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum sl_log_level
sl_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
sl_log_level_parse(const char *name, enum sl_log_level *level)
{
	size_t i;

	for (i = 0; i < SL_ARRAY_SIZE(log_level_names); i++) {
		if (strcasecmp(name, log_level_names[i]) == 0) {
			*level = (enum sl_log_level)i;
			return 0;
		}
	}
	/* log4j spellings with no level of their own here */
	if (strcasecmp(name, "TRACE") == 0 || strcasecmp(name, "ALL") == 0) {
		*level = SL_LOG_DEBUG;
		return 0;
	}
	if (strcasecmp(name, "FATAL") == 0 || strcasecmp(name, "OFF") == 0) {
		*level = SL_LOG_ERROR;
		return 0;
	}
	return -EINVAL;
}

void
sl_log_write(enum sl_log_level level, const char *fmt, ...)
{
	static __thread char line[1 << 16];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;
	int r;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ",%03ld %-5s ",
		     (long)(tv.tv_usec / 1000), log_level_names[level]);
	n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A short write to stderr is not worth a retry loop. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

bool
sl_log_ratelimit_ok(struct sl_log_ratelimit *rl, uint64_t now_ns,
		    uint64_t interval_ns, uint64_t *suppressed)
{
	if (rl->last_ns != 0 && now_ns - rl->last_ns < interval_ns) {
		rl->suppressed++;
		return false;
	}
	rl->last_ns = now_ns;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
