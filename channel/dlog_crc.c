/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC32C (Castagnoli) for the durable log's records, segment headers and
 * checkpoints: the SSE4.2 crc32 instruction where the CPU has it, a
 * byte-wise table otherwise. Any thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dlog_int.h"

#define CRC32C_POLY	0x82f63b78u	/* reflected */
#define CRC_LONG	8192u
#define CRC_SHORT	256u

static uint32_t crc_table[256];
/* Operators that append CRC_LONG / CRC_SHORT zero bytes to a CRC. */
static uint32_t crc_long[4][256], crc_short[4][256];
static bool crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* GF(2) matrix (32 columns) times a vector. */
static uint32_t
gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void
gf2_square(uint32_t *sq, const uint32_t *mat)
{
	unsigned n;

	for (n = 0; n < 32; n++)
		sq[n] = gf2_times(mat, mat[n]);
}

/*
 * The operator that appends @len zero bytes (a power of two) to a CRC
 * register, as four byte-indexed tables (Mark Adler's crc32c method).
 */
static void
crc_zeros(uint32_t zeros[][256], size_t len)
{
	uint32_t even[32], odd[32], row = 1;
	unsigned n;

	odd[0] = CRC32C_POLY;		/* one zero bit */
	for (n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd);		/* two zero bits */
	gf2_square(odd, even);		/* four zero bits */
	for (;;) {
		gf2_square(even, odd);	/* 1, 4, 16... zero bytes */
		len >>= 1;
		if (!len)
			break;
		gf2_square(odd, even);
		len >>= 1;
		if (!len) {
			memcpy(even, odd, sizeof(even));
			break;
		}
	}
	for (n = 0; n < 256; n++) {
		zeros[0][n] = gf2_times(even, n);
		zeros[1][n] = gf2_times(even, n << 8);
		zeros[2][n] = gf2_times(even, n << 16);
		zeros[3][n] = gf2_times(even, n << 24);
	}
}

static inline uint32_t
crc_shift(uint32_t zeros[][256], uint32_t crc)
{
	return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^
	       zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

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
	crc_zeros(crc_long, CRC_LONG);
	crc_zeros(crc_short, CRC_SHORT);
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2") && !getenv("SL_CRC32C_SW");
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
/*
 * Three independent crc32 streams over three adjacent blocks hide the
 * instruction's latency (3 cycles, one per cycle throughput); the block
 * CRCs are then joined by appending zeros with the tables above.
 */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_x86(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c0 = crc, c1, c2, w0, w1, w2;
	const uint8_t *end;

	while (len && ((uintptr_t)p & 7)) {
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
		len--;
	}
	while (len >= 3 * CRC_LONG) {
		c1 = c2 = 0;
		for (end = p + CRC_LONG; p < end; p += 8) {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + CRC_LONG, 8);
			memcpy(&w2, p + 2 * CRC_LONG, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c0 = crc_shift(crc_long, (uint32_t)c0) ^ (uint32_t)c1;
		c0 = crc_shift(crc_long, (uint32_t)c0) ^ (uint32_t)c2;
		p += 2 * CRC_LONG;
		len -= 3 * CRC_LONG;
	}
	while (len >= 3 * CRC_SHORT) {
		c1 = c2 = 0;
		for (end = p + CRC_SHORT; p < end; p += 8) {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + CRC_SHORT, 8);
			memcpy(&w2, p + 2 * CRC_SHORT, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c0 = crc_shift(crc_short, (uint32_t)c0) ^ (uint32_t)c1;
		c0 = crc_shift(crc_short, (uint32_t)c0) ^ (uint32_t)c2;
		p += 2 * CRC_SHORT;
		len -= 3 * CRC_SHORT;
	}
	while (len >= 8) {
		memcpy(&w0, p, 8);
		c0 = __builtin_ia32_crc32di(c0, w0);
		p += 8;
		len -= 8;
	}
	while (len--)
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
	return (uint32_t)c0;
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

uint32_t
sl_dlog_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_sw(~crc, buf, len);
}
