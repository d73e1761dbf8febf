/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The durable log's checkpoint: where the oldest event not yet committed by
 * a sink lives. Written as a temporary file, synced, renamed over the old
 * one, then the directory synced, so a crash leaves the old or the new
 * checkpoint and never half of one. The writer thread writes; the control
 * thread loads during recovery.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "dlog_int.h"

#define CKPT_VERSION	1u

static uint32_t
ckpt_crc(const struct dlog_ckpt *ck)
{
	return sl_dlog_crc32c(0, (const uint8_t *)ck + 4, sizeof(*ck) - 4);
}

int
sl_dlog_ckpt_write(struct dlog_io *io, const char *dir,
		   const struct dlog_ckpt *ck_in)
{
	char tmp[4096], path[4096];
	struct dlog_ckpt ck = *ck_in;
	int fd, rc, rc2;

	if (snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, DLOG_CKPT_NAME) >=
	    (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, DLOG_CKPT_NAME) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	ck.magic = DLOG_CKPT_MAGIC;
	ck.version = CKPT_VERSION;
	ck.crc = ckpt_crc(&ck);
	fd = io->ops->open(io, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fd;
	rc = io->ops->pwrite(io, fd, &ck, sizeof(ck), 0);
	if (rc == 0)
		rc = io->ops->fdatasync(io, fd);
	rc2 = io->ops->close(io, fd);
	if (rc == 0)
		rc = rc2;
	if (rc == 0)
		rc = io->ops->rename(io, tmp, path);
	if (rc == 0)
		rc = io->ops->fsync_dir(io, dir);
	return rc;
}

int
sl_dlog_ckpt_load(struct dlog_io *io, const char *dir, struct dlog_ckpt *ck)
{
	char path[4096];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, DLOG_CKPT_NAME) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = io->ops->open(io, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	n = io->ops->pread(io, fd, ck, sizeof(*ck), 0);
	io->ops->close(io, fd);
	if (n != (ssize_t)sizeof(*ck) || ck->magic != DLOG_CKPT_MAGIC ||
	    ck->version != CKPT_VERSION || ck->crc != ckpt_crc(ck))
		return -EBADMSG;
	return 0;
}
