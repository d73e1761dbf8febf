/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SPSC record ring: creation and teardown (the fast paths are inline in
 * sl_ring.h). Control thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sl_log.h"
#include "sl_ring.h"

struct sl_ring *
sl_ring_create(uint64_t size)
{
	struct sl_ring *r;
	uint64_t sz = 4096;

	while (sz < size)
		sz <<= 1;
	if (posix_memalign((void **)&r, SL_CACHE_LINE, sizeof(*r)) != 0)
		return NULL;
	*r = (struct sl_ring){ .size = sz, .mask = sz - 1 };
	/* mmap so untouched parts of a large ring cost no memory. */
	r->data = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->data == MAP_FAILED) {
		free(r);
		return NULL;
	}
	return r;
}

int
sl_ring_prefault(struct sl_ring *r, const char *who)
{
	int rc = 0;

	if (madvise(r->data, r->size, MADV_POPULATE_WRITE) < 0)
		/* EINVAL: a kernel before 5.14 does not know the advice. */
		rc = errno == EINVAL ? -EOPNOTSUPP : -errno;
	if (rc < 0 && rc != -EOPNOTSUPP)
		sl_log(SL_WARN, "channel %s: cannot prefault a %llu-byte "
		       "ring: %s", who, (unsigned long long)r->size,
		       strerror(-rc));
	return rc;
}

void
sl_ring_free(struct sl_ring *r)
{
	if (!r)
		return;
	munmap(r->data, r->size);
	free(r);
}
