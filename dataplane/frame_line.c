/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session): line framing. */
#include "sl_source.h"
