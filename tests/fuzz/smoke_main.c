/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded, deterministic stand-in for libFuzzer's driver, so every fuzz
 * target also runs in the ordinary (gcc, ASan+UBSan) test build: replays
 * the files of the seed corpus directory given as argv[1], then a fixed
 * number of pseudo-random inputs from a fixed seed. `make fuzz` runs the
 * real fuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMOKE_RUNS	20000
#define SMOKE_MAX	2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t smoke_state = 0x9e3779b97f4a7c15ull;

static uint64_t
smoke_rand(void)
{
	/* xorshift64* */
	smoke_state ^= smoke_state >> 12;
	smoke_state ^= smoke_state << 25;
	smoke_state ^= smoke_state >> 27;
	return smoke_state * 0x2545f4914f6cdd1dull;
}

static int
smoke_replay(const char *dir)
{
	static uint8_t buf[1 << 20];
	struct dirent *de;
	int nb = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[4096];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		nb++;
	}
	closedir(d);
	return nb;
}

int
main(int argc, char **argv)
{
	static uint8_t in[SMOKE_MAX];
	/* Bytes that matter to line framers, to reach deep states often. */
	static const uint8_t alphabet[] = { '\n', '\r', 'a', 0, 0xC3, 0xA9,
					    0xE2, 0x82, 0xAC, 0xF0, 0x9F,
					    0x80, ' ', 'z', 0xFF, '\n' };
	int nb_files = argc > 1 ? smoke_replay(argv[1]) : 0;
	int i;

	for (i = 0; i < SMOKE_RUNS; i++) {
		size_t n = smoke_rand() % SMOKE_MAX, j;
		int skewed = i & 1;

		for (j = 0; j < n; j++) {
			uint64_t r = smoke_rand();

			in[j] = skewed ? alphabet[r % sizeof(alphabet)] :
				(uint8_t)r;
		}
		LLVMFuzzerTestOneInput(in, n);
	}
	printf("smoke: %d corpus files, %d random inputs\n", nb_files,
	       SMOKE_RUNS);
	return 0;
}
