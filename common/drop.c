/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names of the drop reasons, generated from the X-macro in sl_drop.h.
 */
#include "sl_drop.h"

const char *const sl_drop_names[SL_DROP_MAX] = {
#define SL_DROP_NAME(e, n) [SL_DROP_##e] = n,
	SL_DROP_REASONS(SL_DROP_NAME)
#undef SL_DROP_NAME
};
