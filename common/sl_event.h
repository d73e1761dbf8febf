/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event: a few key/value headers and a body of bytes. A struct sl_event
 * is a view: its pointers point into a packet or socket buffer on the source
 * side and into channel memory on the sink side. Bodies are copied once,
 * into the channel; never again on the memory path.
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <stdint.h>

#define SL_EVENT_MAX_HEADERS	8

struct sl_header {
	const char *key;	/* NUL-terminated on the sink side */
	const char *val;	/* NUL-terminated on the sink side */
	uint16_t key_len;
	uint16_t val_len;
};

struct sl_event {
	const uint8_t *body;
	uint32_t body_len;
	uint16_t nb_headers;
	struct sl_header hdrs[SL_EVENT_MAX_HEADERS];
};

/* Returns the value of header @key or NULL. */
const struct sl_header *sl_event_header_find(const struct sl_event *ev,
					     const char *key);

#endif /* SL_EVENT_H */
