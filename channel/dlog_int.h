/* SPDX-License-Identifier: Apache-2.0 */
/*
 * channel/-internal: the durable log under the file channel. On-disk
 * formats (segment header, record, checkpoint), CRC32C, the small I/O
 * backend interface every disk operation goes through (io_uring in
 * production, recording and fault-injecting backends in tests), and the
 * recovery scan. The channel's writer thread owns all I/O after start; the
 * control thread owns it before (recovery) and after (stop).
 */
#ifndef SL_DLOG_INT_H
#define SL_DLOG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "sl_channel.h"

/*
 * Segment file `log-XXXXXXXX` (id in hex): a 4 KiB header block, then
 * 8-aligned records up to the preallocated size. The header is written with
 * the segment's first group, so a spare file renamed into place but never
 * written still carries its old id and is recognised as empty.
 */
#define DLOG_BLOCK		4096u
#define DLOG_SEG_MAGIC		0x534c4731u	/* "SLG1" */
#define DLOG_SEG_VERSION	1u
#define DLOG_DATA_START		DLOG_BLOCK
#define DLOG_REC_ALIGN		8u
#define DLOG_SEG_MIN		(64u * 1024u)

struct dlog_seg_hdr {
	uint32_t crc;		/* CRC32C of the bytes after this field */
	uint32_t magic;
	uint32_t version;
	uint32_t seg_id;
	uint64_t first_seq;	/* seq of the first event record */
	uint64_t created_ms;
};

/*
 * A record: header then payload (the chan_int.h event encoding). The CRC
 * covers everything after it, payload included; seg_id ties a record to its
 * file so stale bytes of a recycled segment never pass as records, and seq
 * (one per event, consecutive) makes a stale or misplaced record visible
 * even when its CRC holds.
 */
enum dlog_rec_type {
	DLOG_REC_EVENT = 1,
	DLOG_REC_PAD = 2,	/* filler up to a block boundary (O_DIRECT) */
	DLOG_REC_END = 3,	/* the segment ends here; go to the next */
};

#define DLOG_F_TXN_END	0x1u	/* last event of a put transaction */

struct dlog_rec {
	uint32_t crc;
	uint16_t type;
	uint16_t flags;
	uint32_t len;		/* payload bytes */
	uint32_t seg_id;
	uint64_t seq;		/* EVENT: its seq; PAD/END: the next seq */
};

#define DLOG_REC_HDR	((uint32_t)sizeof(struct dlog_rec))

static inline uint64_t
dlog_rec_span(uint32_t len)
{
	return SL_ALIGN_UP((uint64_t)DLOG_REC_HDR + len,
			   (uint64_t)DLOG_REC_ALIGN);
}

/* Sequence and segment numbers wrap; compare them as TCP does. */
static inline bool
dlog_seq_lt(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

static inline bool
dlog_id_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Checkpoint file: where the oldest event not yet committed by a sink is. */
#define DLOG_CKPT_MAGIC		0x534c4331u	/* "SLC1" */
#define DLOG_CKPT_NAME		"checkpoint"

struct dlog_ckpt {
	uint32_t crc;
	uint32_t magic;
	uint32_t version;
	uint32_t head_seg;	/* segment id of the head */
	uint64_t head_off;	/* offset of the head record in it */
	uint64_t head_seq;	/* seq of the head event */
	uint64_t written_ms;
	uint64_t nb_events;	/* events in the channel when written (info) */
};

/* CRC32C (Castagnoli), hardware-accelerated where the CPU has it. */
uint32_t sl_dlog_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same by table, byte by byte: the reference tests compare against. */
uint32_t sl_dlog_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* Fill the CRC of a record whose header fields and payload are set. */
void sl_dlog_rec_seal(struct dlog_rec *rec);
/* True when @rec (followed by its payload) carries a good CRC. */
bool sl_dlog_rec_crc_ok(const struct dlog_rec *rec);

/* ---- the I/O backend ---------------------------------------------------- */

/*
 * Every disk operation of the durable log. All return 0 (or a count where
 * the name says so) or -errno; pwrite writes every byte or fails (a short
 * write is re-issued by the backend, never returned). Paths are absolute or
 * relative to the cwd. One thread uses a backend at a time.
 */
struct dlog_io;

struct dlog_io_ops {
	int (*open)(struct dlog_io *io, const char *path, int flags,
		    mode_t mode);				/* fd */
	int (*close)(struct dlog_io *io, int fd);
	int (*pwrite)(struct dlog_io *io, int fd, const void *buf, size_t len,
		      uint64_t off);
	/* The same from @nb_iov pieces written back to back from @off. */
	int (*pwritev)(struct dlog_io *io, int fd, const struct iovec *iov,
		       unsigned nb_iov, uint64_t off);
	ssize_t (*pread)(struct dlog_io *io, int fd, void *buf, size_t len,
			 uint64_t off);				/* bytes */
	int (*fdatasync)(struct dlog_io *io, int fd);
	int (*fallocate)(struct dlog_io *io, int fd, uint64_t off,
			 uint64_t len);
	int (*rename)(struct dlog_io *io, const char *from, const char *to);
	int (*unlink)(struct dlog_io *io, const char *path);
	int (*fsync_dir)(struct dlog_io *io, const char *dir);
	int (*avail)(struct dlog_io *io, const char *dir, uint64_t *bytes);
	void (*destroy)(struct dlog_io *io);
	/*
	 * Optional pair: start an fdatasync of @fd and return at once (0 or
	 * -errno), then collect its result with fdatasync_wait() (0 or
	 * -errno) and, in *@ns when not NULL, how long the fdatasync itself
	 * took (not how long it waited to be collected). At most one in
	 * flight; other ops may run in between. The writer uses it to write
	 * the next group while the last one syncs; without it, it syncs in
	 * line.
	 */
	int (*fdatasync_start)(struct dlog_io *io, int fd);
	int (*fdatasync_wait)(struct dlog_io *io, uint64_t *ns);
	/*
	 * Optional pair: register @nb buffers once (0 or -errno: the caller
	 * goes on with pwrite), then pwrite from within buffer @idx without
	 * the kernel pinning its pages for every write (O_DIRECT). A
	 * registered buffer must stay allocated while the backend lives.
	 */
	int (*register_bufs)(struct dlog_io *io, const struct iovec *iov,
			     unsigned nb);
	int (*pwrite_fixed)(struct dlog_io *io, int fd, const void *buf,
			    size_t len, uint64_t off, unsigned idx);
};

struct dlog_io {
	const struct dlog_io_ops *ops;
};

/*
 * The production backend: writes, fdatasync, fallocate, renameat and
 * unlinkat as io_uring SQEs (a large write goes out as several SQEs in one
 * submit; short completions are re-issued), open/fstatvfs as syscalls.
 * @sqpoll asks for a kernel submission thread (falls back without, with a
 * warning in @note). Returns NULL and fills @err.
 */
struct dlog_io *sl_dlog_io_uring_create(bool sqpoll, const char *who,
					struct sl_err *err);

/* Test hook of the io_uring backend: submit every @n-th write SQE with half
 * its length, so the kernel completes it short and the re-issue path runs.
 * 0 turns it off. Returns the number of short completions re-issued. */
uint64_t sl_dlog_io_uring_short_every(struct dlog_io *io, unsigned n);

/* What the last start found on disk (tests read it; stats print it). */
struct dlog_recovery {
	uint64_t replayed;		/* events after the checkpoint */
	uint64_t truncated_bytes;	/* torn tail cut off */
	uint64_t lost_events;		/* in corrupt or missing segments */
	uint64_t quarantined;		/* segments renamed *.quarantined */
	uint64_t missing_segments;
	uint64_t corrupt_records;
	bool used_checkpoint;		/* false: full scan */
	bool used_backup;		/* backup checkpoint was the good one */
	bool fresh;			/* nothing on disk: a new log */
	uint64_t restart_ms;
};

/* ---- segments and checkpoints (dlog_seg.c, dlog_ckpt.c) ---------------- */

/* One segment file, mapped read-only for the sinks. */
struct dlog_seg {
	uint32_t id;
	unsigned dir;		/* index into the data dirs */
	int fd;
	const uint8_t *map;	/* PROT_READ, MAP_SHARED, @size bytes */
	uint64_t size;
	uint64_t first_seq;
	uint64_t end_off;	/* sealed: where its records end (END/torn) */
	bool sealed;
	bool quarantined;	/* renamed *.quarantined: never deleted */
	bool from_spare;	/* writer: a recycled spare, written whole */
	uint64_t zeroed_to;	/* writer: bytes known written (not holes) */
	char *path;
};

/*
 * The segments in log order. Positions are absolute (base + index) so a
 * locator stays valid while old segments are reclaimed at the front.
 */
struct dlog_segtab {
	struct dlog_seg *v;
	size_t n, cap;
	uint64_t base;
};

static inline struct dlog_seg *
dlog_segtab_at(const struct dlog_segtab *t, uint64_t pos)
{
	return pos >= t->base && pos - t->base < t->n ?
	       &t->v[pos - t->base] : NULL;
}

int sl_dlog_segtab_push(struct dlog_segtab *t, const struct dlog_seg *s);
/* Unmap and close @s (its file stays); frees its path. */
void sl_dlog_seg_close(struct dlog_seg *s);

/* A position in the log: the record of event @seq at @off of segment @seg. */
struct dlog_loc {
	uint64_t seg;		/* absolute table position */
	uint64_t off;
	uint64_t seq;
};

/* "DIR/log-0000002a" */
int sl_dlog_seg_path(char *buf, size_t size, const char *dir, uint32_t id);

/* Fill and CRC a segment header for @id starting at @first_seq. */
void sl_dlog_seg_hdr_init(struct dlog_seg_hdr *h, uint32_t id,
			  uint64_t first_seq, uint64_t now_ms);

/*
 * Write @ck to DIR/checkpoint: a temporary file written and synced, renamed
 * over the old one, and the directory synced. 0 or -errno.
 */
int sl_dlog_ckpt_write(struct dlog_io *io, const char *dir,
		       const struct dlog_ckpt *ck);
/* Load and verify DIR/checkpoint. 0, -ENOENT (none) or -EBADMSG. */
int sl_dlog_ckpt_load(struct dlog_io *io, const char *dir,
		      struct dlog_ckpt *ck);

/* What recovery needs to know and what it hands back. */
struct dlog_recover_args {
	struct dlog_io *io;
	const char *const *dirs;
	unsigned nb_dirs;
	const char *ckpt_dir;
	const char *backup_dir;		/* NULL: no dual checkpoints */
	const char *who;		/* "channel file c1" for messages */
	unsigned max_spares;
	uint32_t first_seg_id;		/* for an empty log */
	uint64_t first_seq;
};

struct dlog_recover_out {
	struct dlog_segtab tab;
	struct dlog_loc head;		/* oldest event not committed */
	uint64_t next_seq;
	uint32_t next_seg_id;
	uint64_t nb_events;		/* between head and the end */
	unsigned nb_spares[16];		/* per data dir */
	struct dlog_recovery rec;
};

/*
 * Load the checkpoint (backup if the primary is bad, a full scan if both
 * are), scan every segment from its head verifying CRCs and sequence
 * numbers, seal the last one at its last whole transaction (a torn tail is
 * cut off and counted), quarantine corrupt segments, and recycle the ones
 * the checkpoint has passed. 0 or -errno with @err filled.
 * Context: control thread, before the writer starts.
 */
int sl_dlog_recover(const struct dlog_recover_args *a,
		    struct dlog_recover_out *out, struct sl_err *err);

/* ---- channel construction for tests ------------------------------------ */

/* Start numbers of a fresh log (tests start them near wrap points). */
struct dlog_test_opts {
	struct dlog_io *io;	/* NULL: io_uring; else borrowed */
	uint32_t first_seg_id;
	uint64_t first_seq;
	bool set_first;
};

/*
 * Create a file channel as sl_file_channel_ops.create() does, with a
 * backend and start numbers chosen by a test. Control thread.
 */
struct sl_channel *sl_file_channel_create_opts(const char *name,
					       const void *settings,
					       const struct sl_props *props,
					       const struct dlog_test_opts *o,
					       struct sl_err *err);

void sl_file_channel_recovery(const struct sl_channel *ch,
			      struct dlog_recovery *out);
bool sl_file_channel_unhealthy(const struct sl_channel *ch);
/* Wait (up to @timeout_ms) until the writer is idle: rings drained and
 * every write synced or failed. 0 or -ETIMEDOUT. Tests only. */
int sl_file_channel_quiesce(struct sl_channel *ch, uint64_t timeout_ms);
/* Stop the writer at once (no drain, no checkpoint) and free the channel,
 * leaving the disk as a kill -9 would. Tests only. */
void sl_file_channel_crash(struct sl_channel *ch);
/* Ask the writer for a checkpoint now and wait for it; 0 or -errno. */
int sl_file_channel_checkpoint(struct sl_channel *ch, uint64_t timeout_ms);
/* Print the take-side state (ranges, cursor, segments). Debugging aid. */
void sl_file_channel_dump(struct sl_channel *ch, FILE *out);
/* Paths the channel resolved (defaults applied). */
const char *sl_file_channel_data_dir(const struct sl_channel *ch,
				     unsigned i);
const char *sl_file_channel_checkpoint_dir(const struct sl_channel *ch);
uint64_t sl_file_channel_segments(const struct sl_channel *ch);

#endif /* SL_DLOG_INT_H */
