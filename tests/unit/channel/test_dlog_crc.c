/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRC32C of the durable log: the check value of the standard, and the
 * accelerated path (three interleaved streams joined by zero-append
 * tables) equal to the byte-wise table at every length and alignment.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dlog_int.h"

Test(dlog_crc, check_value_of_123456789)
{
	cr_assert_eq(sl_dlog_crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(sl_dlog_crc32c_sw(0, "123456789", 9), 0xe3069283u);
}

Test(dlog_crc, accelerated_equals_bytewise_at_every_length_and_alignment)
{
	size_t max = 3 * 8192 * 2 + 777, len, off;
	uint8_t *buf = malloc(max + 16);
	uint32_t seed = 12345;
	size_t i;

	for (i = 0; i < max + 16; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (len = 0; len < 2000; len++)
		for (off = 0; off < 8; off += 3)
			cr_assert_eq(sl_dlog_crc32c(7, buf + off, len),
				     sl_dlog_crc32c_sw(7, buf + off, len),
				     "len %zu off %zu", len, off);
	for (len = 3 * 256 - 9; len < max; len += 4093)
		for (off = 0; off < 8; off++)
			cr_assert_eq(sl_dlog_crc32c(0, buf + off, len),
				     sl_dlog_crc32c_sw(0, buf + off, len),
				     "len %zu off %zu", len, off);
	/* A CRC continued across calls equals one call. */
	cr_assert_eq(sl_dlog_crc32c(sl_dlog_crc32c(0, buf, 30000), buf + 30000,
				    max - 30000),
		     sl_dlog_crc32c(0, buf, max));
	free(buf);
}
