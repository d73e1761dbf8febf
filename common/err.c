/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct sl_err helpers. Control thread.
 */
#include <stdarg.h>

#include "sl_err.h"

int
sl_err_set(struct sl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}
