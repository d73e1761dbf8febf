/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct sl_err: the error of a constructor or control-plane call, an errno
 * code plus a readable message naming the key, the file:line and the cause.
 * Control thread only; the dataplane never formats strings.
 */
#ifndef SL_ERR_H
#define SL_ERR_H

#include "sl_common.h"

struct sl_err {
	int code;		/* positive errno value, 0 when no error */
	char msg[512];
};

/* Fill @err (may be NULL) with @code and a formatted message; returns -code. */
int sl_err_set(struct sl_err *err, int code, const char *fmt, ...)
	SL_PRINTF(3, 4);

static inline void
sl_err_clear(struct sl_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

#endif /* SL_ERR_H */
