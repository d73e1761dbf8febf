/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC32C (Castagnoli) for the durable log's records, segment headers and
 * checkpoints: the SSE4.2 crc32 instruction where the CPU has it, a
 * byte-wise table otherwise. Any thread.
 */
#include <pthread.h>
#include <string.h>

#include "dlog_int.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected */

static uint32_t crc_table[256];
static bool crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
		crc_table[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t
crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_x86(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc, w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t
sl_dlog_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_hw_x86(crc, buf, len);
#endif
	return ~crc_sw(crc, buf, len);
}

void
sl_dlog_rec_seal(struct dlog_rec *rec)
{
	rec->crc = sl_dlog_crc32c(0, (const uint8_t *)rec + 4,
				  DLOG_REC_HDR - 4 + (size_t)rec->len);
}

bool
sl_dlog_rec_crc_ok(const struct dlog_rec *rec)
{
	return rec->crc == sl_dlog_crc32c(0, (const uint8_t *)rec + 4,
					  DLOG_REC_HDR - 4 + (size_t)rec->len);
}
