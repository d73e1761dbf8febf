/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dataplane/-internal: the replies of Flume's netcat protocol, shared by the
 * io_uring netcat source and the DPDK one so the wording lives in one place.
 * Any thread; formats into the caller's buffer, no allocation.
 */
#ifndef SL_NETCAT_INT_H
#define SL_NETCAT_INT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "sl_common.h"

/* Flume's MemoryChannel message for a full channel (ChannelFullException). */
#define SL_NC_MSG_FULL	"Space for commit to queue couldn't be acquired. " \
			"Sinks are likely not keeping up with sources, or " \
			"the buffer size is too tight"
#define SL_NC_MSG_BROKEN "Unable to put event on required channel: "

/* Clamp snprintf's @n to @size and keep the reply newline-terminated. */
static inline size_t
sl_nc_reply_end(char *buf, size_t size, int n)
{
	size_t len = n < 0 ? 0 : SL_MIN((size_t)n, size - 1);

	if (len)
		buf[len - 1] = '\n';
	return len;
}

/*
 * "FAILED: <why>\n" for a put refused with @rc: Flume's full-channel text
 * for -ENOSPC, else the channel @chan that could not take it. Returns the
 * reply's length (at most @size - 1).
 */
static inline size_t
sl_nc_reply_failed(char *buf, size_t size, int rc, const char *chan)
{
	int n;

	if (rc == -ENOSPC)
		n = snprintf(buf, size, "FAILED: %s\n", SL_NC_MSG_FULL);
	else
		n = snprintf(buf, size, "FAILED: %s%s\n", SL_NC_MSG_BROKEN,
			     chan);
	return sl_nc_reply_end(buf, size, n);
}

/* Flume's reply to a line over max-line-length (@max counts the newline). */
static inline size_t
sl_nc_reply_too_long(char *buf, size_t size, uint32_t max)
{
	int n = snprintf(buf, size, "FAILED: Event exceeds the maximum length "
			 "(%u chars, including newline)\n", (unsigned)max);

	return sl_nc_reply_end(buf, size, n);
}

#endif /* SL_NETCAT_INT_H */
