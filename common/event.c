/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Event header lookup. Any thread.
 */
#include <string.h>

#include "sl_event.h"

const struct sl_header *
sl_event_header_find(const struct sl_event *ev, const char *key)
{
	size_t len = strlen(key);
	unsigned i;

	for (i = 0; i < ev->nb_headers; i++) {
		const struct sl_header *h = &ev->hdrs[i];

		if (h->key_len == len && memcmp(h->key, key, len) == 0)
			return h;
	}
	return NULL;
}
