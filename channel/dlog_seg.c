/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Segment files of the durable log and the recovery scan that runs when a
 * file channel opens: find the segments, order them by their first sequence
 * number, start at the checkpoint (or scan everything when it is bad),
 * verify every record's CRC and sequence number, cut a torn tail back to
 * the last whole transaction and seal it, quarantine corrupt segments and
 * recycle the ones the checkpoint has passed. Control thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan_int.h"
#include "dlog_int.h"
#include "sl_log.h"
#include "sl_time.h"

#define TORN_SEQ_WINDOW	(1ull << 24)

int
sl_dlog_segtab_push(struct dlog_segtab *t, const struct dlog_seg *s)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct dlog_seg *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *s;
	return 0;
}

void
sl_dlog_seg_close(struct dlog_seg *s)
{
	if (s->map)
		munmap((void *)s->map, s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	s->map = NULL;
	s->fd = -1;
	s->path = NULL;
}

int
sl_dlog_seg_path(char *buf, size_t size, const char *dir, uint32_t id)
{
	int n = snprintf(buf, size, "%s/log-%08x", dir, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void
sl_dlog_seg_hdr_init(struct dlog_seg_hdr *h, uint32_t id, uint64_t first_seq,
		     uint64_t now_ms)
{
	*h = (struct dlog_seg_hdr){
		.magic = DLOG_SEG_MAGIC, .version = DLOG_SEG_VERSION,
		.seg_id = id, .first_seq = first_seq, .created_ms = now_ms,
	};
	h->crc = sl_dlog_crc32c(0, (const uint8_t *)h + 4, sizeof(*h) - 4);
}

/* A segment file found on disk. */
struct cand {
	struct dlog_seg s;
	bool valid;		/* header (or first record) says it is ours */
	bool stale;		/* a good header of another id: a spare */
};

/* The record at @off of @s if it is whole, ours and carries @seq. */
static const struct dlog_rec *
rec_at(const struct dlog_seg *s, uint64_t off, uint64_t seq)
{
	const struct dlog_rec *r;
	struct sl_event ev;

	if (off + DLOG_REC_HDR > s->size)
		return NULL;
	r = (const struct dlog_rec *)(s->map + off);
	if (r->type < DLOG_REC_EVENT || r->type > DLOG_REC_END ||
	    r->seg_id != s->id || r->seq != seq ||
	    r->len > s->size - off - DLOG_REC_HDR || !sl_dlog_rec_crc_ok(r))
		return NULL;
	if (r->type == DLOG_REC_EVENT &&
	    sl_chan_event_decode((const uint8_t *)(r + 1), r->len, &ev) < 0)
		return NULL;
	return r;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	while (n && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

/* Open, map and classify one log-XXXXXXXX file. */
static int
cand_open(const struct dlog_recover_args *a, struct cand *c)
{
	const struct dlog_seg_hdr *h;
	const struct dlog_rec *r;
	struct stat st;

	c->s.fd = a->io->ops->open(a->io, c->s.path, O_RDWR, 0);
	if (c->s.fd < 0)
		return c->s.fd;
	if (fstat(c->s.fd, &st) < 0)
		return -errno;
	c->s.size = (uint64_t)st.st_size;
	if (c->s.size < DLOG_DATA_START + DLOG_REC_HDR)
		return 0;			/* never written: empty */
	c->s.map = mmap(NULL, c->s.size, PROT_READ, MAP_SHARED, c->s.fd, 0);
	if (c->s.map == MAP_FAILED) {
		c->s.map = NULL;
		return -errno;
	}
	h = (const struct dlog_seg_hdr *)c->s.map;
	if (h->magic == DLOG_SEG_MAGIC && h->version == DLOG_SEG_VERSION &&
	    h->crc == sl_dlog_crc32c(0, (const uint8_t *)h + 4,
				     sizeof(*h) - 4)) {
		if (h->seg_id == c->s.id) {
			c->valid = true;
			c->s.first_seq = h->first_seq;
		} else {
			c->stale = true;	/* a recycled spare */
		}
		return 0;
	}
	/* A damaged header: the first record still names the segment. */
	r = (const struct dlog_rec *)(c->s.map + DLOG_DATA_START);
	if (r->seg_id == c->s.id && r->type >= DLOG_REC_EVENT &&
	    r->type <= DLOG_REC_END &&
	    r->len <= c->s.size - DLOG_DATA_START - DLOG_REC_HDR &&
	    sl_dlog_rec_crc_ok(r)) {
		sl_log(SL_WARN, "%s: %s: damaged header, first record "
		       "intact: replaying it", a->who, c->s.path);
		c->valid = true;
		c->s.first_seq = r->seq;
	} else if (all_zero(c->s.map, DLOG_BLOCK)) {
		c->stale = true;		/* created, never written */
	}
	return 0;
}

static int
cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->s.first_seq == b->s.first_seq)
		return dlog_id_lt(a->s.id, b->s.id) ? -1 : 1;
	return dlog_seq_lt(a->s.first_seq, b->s.first_seq) ? -1 : 1;
}

/* Turn a passed or empty segment into a spare, or delete it. */
static int
recycle_path(const struct dlog_recover_args *a, struct dlog_recover_out *out,
	     unsigned dir, const char *path, uint32_t id)
{
	char spare[4096];
	int rc;

	if (out->nb_spares[dir] < a->max_spares &&
	    snprintf(spare, sizeof(spare), "%s/spare-%08x", a->dirs[dir], id) <
	    (int)sizeof(spare)) {
		rc = a->io->ops->rename(a->io, path, spare);
		if (rc == 0) {
			out->nb_spares[dir]++;
			return 0;
		}
	}
	return a->io->ops->unlink(a->io, path);
}

static int
quarantine(const struct dlog_recover_args *a, struct dlog_seg *s)
{
	char q[4096];
	int rc;

	if (snprintf(q, sizeof(q), "%s.quarantined", s->path) >=
	    (int)sizeof(q))
		return -ENAMETOOLONG;
	rc = a->io->ops->rename(a->io, s->path, q);
	if (rc < 0)
		return rc;
	free(s->path);
	s->path = strdup(q);
	s->quarantined = true;
	sl_log(SL_ERROR, "%s: corrupt segment quarantined as %s (kept, "
	       "never deleted)", a->who, q);
	return a->io->ops->fsync_dir(a->io, a->dirs[s->dir]);
}

/*
 * Bytes of a torn tail at @off: records that carry this segment's id and a
 * sequence number just ahead, followed as long as they look like ours, or
 * the rest of the block when the first header is garbage but not zero.
 */
static uint64_t
torn_bytes(const struct dlog_seg *s, uint64_t off, uint64_t seq)
{
	uint64_t start = off;

	while (off + DLOG_REC_HDR <= s->size) {
		const struct dlog_rec *r =
			(const struct dlog_rec *)(s->map + off);

		if (r->seg_id != s->id || r->type < DLOG_REC_EVENT ||
		    r->type > DLOG_REC_END || r->seq - seq > TORN_SEQ_WINDOW)
			break;
		off += SL_MIN(dlog_rec_span(r->len), s->size - off);
	}
	if (off == start && off < s->size) {
		uint64_t end = SL_MIN(SL_ALIGN_UP(off + 1, (uint64_t)DLOG_BLOCK),
				      s->size);

		if (!all_zero(s->map + off, end - off))
			off = end;
	}
	return off - start;
}

/* Write an END record at @off of @s and sync it. */
static int
seal(const struct dlog_recover_args *a, struct dlog_seg *s, uint64_t off,
     uint64_t seq)
{
	uint64_t block = off & ~(uint64_t)(DLOG_BLOCK - 1);
	size_t len = (size_t)SL_MIN((uint64_t)2 * DLOG_BLOCK, s->size - block);
	struct dlog_rec end = {
		.type = DLOG_REC_END, .seg_id = s->id, .seq = seq,
	};
	uint8_t *buf;
	int rc;

	if (off + DLOG_REC_HDR > s->size)
		return 0;		/* full: the scan stops there anyway */
	if (posix_memalign((void **)&buf, DLOG_BLOCK, 2 * DLOG_BLOCK) != 0)
		return -ENOMEM;
	memset(buf, 0, 2 * DLOG_BLOCK);
	memcpy(buf, s->map + block, off - block);
	sl_dlog_rec_seal(&end);
	memcpy(buf + (off - block), &end, sizeof(end));
	rc = a->io->ops->pwrite(a->io, s->fd, buf, len, block);
	if (rc == 0)
		rc = a->io->ops->fdatasync(a->io, s->fd);
	free(buf);
	return rc;
}

/*
 * Scan segment @s from @off expecting @seq. Returns the position after the
 * last good record; *@clean is set when an END record closed it; *@txn_off
 * and *@txn_seq give the position after the last whole transaction.
 */
static uint64_t
scan(const struct dlog_seg *s, uint64_t off, uint64_t *seq, bool *clean,
     uint64_t *nb_events, uint64_t *txn_off, uint64_t *txn_seq,
     uint64_t *txn_events)
{
	const struct dlog_rec *r;

	*clean = false;
	*txn_off = off;
	*txn_seq = *seq;
	*txn_events = *nb_events;
	while ((r = rec_at(s, off, *seq))) {
		if (r->type == DLOG_REC_END) {
			*clean = true;
			break;
		}
		if (r->type == DLOG_REC_PAD && *txn_off == off) {
			/* Padding after a whole transaction keeps it whole. */
			off += dlog_rec_span(r->len);
			*txn_off = off;
			continue;
		}
		off += dlog_rec_span(r->len);
		if (r->type == DLOG_REC_EVENT) {
			(*seq)++;
			(*nb_events)++;
			if (r->flags & DLOG_F_TXN_END) {
				*txn_off = off;
				*txn_seq = *seq;
				*txn_events = *nb_events;
			}
		}
	}
	return off;
}

static int
list_dir(const struct dlog_recover_args *a, unsigned d,
	 struct dlog_recover_out *out, struct cand **cv, size_t *nc)
{
	DIR *dh = opendir(a->dirs[d]);
	struct dirent *de;

	if (!dh)
		return -errno;
	while ((de = readdir(dh))) {
		const char *nm = de->d_name;
		struct cand *c;
		char *end;
		unsigned long id;

		if (strncmp(nm, "spare-", 6) == 0) {
			out->nb_spares[d]++;
			continue;
		}
		if (strncmp(nm, "log-", 4) != 0 || strlen(nm) != 12)
			continue;
		id = strtoul(nm + 4, &end, 16);
		if (*end != '\0')
			continue;
		c = realloc(*cv, (*nc + 1) * sizeof(**cv));
		if (!c) {
			closedir(dh);
			return -ENOMEM;
		}
		*cv = c;
		c = &(*cv)[(*nc)++];
		memset(c, 0, sizeof(*c));
		c->s.id = (uint32_t)id;
		c->s.dir = d;
		c->s.fd = -1;
		if (asprintf(&c->s.path, "%s/%s", a->dirs[d], nm) < 0) {
			c->s.path = NULL;
			closedir(dh);
			return -ENOMEM;
		}
	}
	closedir(dh);
	return 0;
}

/* Load the primary checkpoint, else the backup. */
static bool
load_ckpt(const struct dlog_recover_args *a, struct dlog_recover_out *out,
	  struct dlog_ckpt *ck)
{
	int rc = sl_dlog_ckpt_load(a->io, a->ckpt_dir, ck);

	if (rc == 0)
		return true;
	if (rc != -ENOENT)
		sl_log(SL_WARN, "%s: checkpoint in %s is unreadable (%s)",
		       a->who, a->ckpt_dir, strerror(-rc));
	if (a->backup_dir) {
		int rc2 = sl_dlog_ckpt_load(a->io, a->backup_dir, ck);

		if (rc2 == 0) {
			sl_log(SL_WARN, "%s: using the backup checkpoint in "
			       "%s", a->who, a->backup_dir);
			out->rec.used_backup = true;
			return true;
		}
	}
	return false;
}

int
sl_dlog_recover(const struct dlog_recover_args *a,
		struct dlog_recover_out *out, struct sl_err *err)
{
	uint64_t t0 = sl_time_mono_ns(), seq = 0, off = DLOG_DATA_START, nb = 0;
	struct cand *cv = NULL;
	size_t nc = 0, nv = 0, i, start = 0;
	struct dlog_ckpt ck;
	bool have_ck, clean;
	int rc = 0;
	unsigned d;

	memset(out, 0, sizeof(*out));
	for (d = 0; d < a->nb_dirs; d++) {
		rc = list_dir(a, d, out, &cv, &nc);
		if (rc < 0) {
			sl_err_set(err, -rc, "%s: cannot list %s: %s", a->who,
				   a->dirs[d], strerror(-rc));
			goto out_free;
		}
	}
	for (i = 0; i < nc; i++) {
		rc = cand_open(a, &cv[i]);
		if (rc < 0) {
			sl_err_set(err, -rc, "%s: cannot open %s: %s", a->who,
				   cv[i].s.path, strerror(-rc));
			goto out_free;
		}
	}
	/* Ours first, in log order; the rest are spares or damaged. */
	for (i = 0; i < nc; i++) {
		if (cv[i].valid) {
			struct cand t = cv[nv];

			cv[nv++] = cv[i];
			cv[i] = t;
		}
	}
	if (nv > 1)
		qsort(cv, nv, sizeof(*cv), cand_cmp);
	for (i = nv; i < nc; i++) {
		struct dlog_seg *s = &cv[i].s;
		char *path = s->path;
		unsigned dir = s->dir;
		uint32_t id = s->id;

		if (!cv[i].stale && s->map) {
			/* Neither ours nor empty: keep it for a human. */
			sl_log(SL_ERROR, "%s: %s has no readable header",
			       a->who, path);
			quarantine(a, s);
			out->rec.quarantined++;
			sl_dlog_seg_close(s);
			continue;
		}
		s->path = NULL;
		sl_dlog_seg_close(s);
		recycle_path(a, out, dir, path, id);
		free(path);
	}

	have_ck = load_ckpt(a, out, &ck);
	if (have_ck) {
		for (i = 0; i < nv && cv[i].s.id != ck.head_seg; i++)
			;
		if (i < nv) {
			start = i;
			off = ck.head_off;
			seq = ck.head_seq;
			out->rec.used_checkpoint = true;
		} else if (nv > 0) {
			sl_log(SL_WARN, "%s: checkpoint names segment %08x, "
			       "which is gone: scanning every segment", a->who,
			       ck.head_seg);
			have_ck = false;
		}
	} else if (nv > 0) {
		sl_log(SL_WARN, "%s: no usable checkpoint: scanning every "
		       "segment", a->who);
	}
	if (!out->rec.used_checkpoint && nv > 0) {
		start = 0;
		off = DLOG_DATA_START;
		seq = cv[0].s.first_seq;
	}
	/* Segments before the checkpoint's were consumed: recycle them. */
	for (i = 0; i < start; i++) {
		char *path = cv[i].s.path;

		cv[i].s.path = NULL;
		sl_dlog_seg_close(&cv[i].s);
		recycle_path(a, out, cv[i].s.dir, path, cv[i].s.id);
		free(path);
	}
	out->head = (struct dlog_loc){ .seg = 0, .off = off, .seq = seq };
	for (i = start; i < nv; i++) {
		struct dlog_seg *s = &cv[i].s;
		uint64_t txn_off, txn_seq, txn_nb, end;
		bool last = i + 1 == nv;

		if (i > start) {
			const struct dlog_seg *p = &cv[i - 1].s;

			if (s->id != p->id + 1) {
				out->rec.missing_segments += s->id - p->id - 1;
				sl_log(SL_ERROR, "%s: segments %08x..%08x are "
				       "missing", a->who, p->id + 1, s->id - 1);
			}
			if (dlog_seq_lt(seq, s->first_seq)) {
				out->rec.lost_events += s->first_seq - seq;
				sl_log(SL_ERROR, "%s: %llu events before "
				       "segment %08x are lost", a->who,
				       (unsigned long long)(s->first_seq - seq),
				       s->id);
			}
			seq = s->first_seq;
			off = DLOG_DATA_START;
		}
		end = scan(s, off, &seq, &clean, &nb, &txn_off, &txn_seq,
			   &txn_nb);
		s->sealed = true;
		s->end_off = end;
		if (clean || end + DLOG_REC_HDR > s->size)
			continue;
		if (!last) {
			out->rec.corrupt_records++;
			out->rec.quarantined++;
			sl_log(SL_ERROR, "%s: %s: bad record at offset %llu",
			       a->who, s->path, (unsigned long long)end);
			quarantine(a, s);
			continue;
		}
		/* The torn tail, back to the last whole transaction. */
		out->rec.truncated_bytes += torn_bytes(s, end, seq) +
					    (end - txn_off);
		nb = txn_nb;
		seq = txn_seq;
		s->end_off = txn_off;
		rc = seal(a, s, txn_off, txn_seq);
		if (rc < 0) {
			sl_err_set(err, -rc, "%s: cannot seal %s: %s", a->who,
				   s->path, strerror(-rc));
			goto out_free;
		}
		if (out->rec.truncated_bytes)
			sl_log(SL_WARN, "%s: %s: cut a torn tail of %llu "
			       "bytes at offset %llu", a->who, s->path,
			       (unsigned long long)out->rec.truncated_bytes,
			       (unsigned long long)txn_off);
	}
	for (i = start; i < nv; i++) {
		rc = sl_dlog_segtab_push(&out->tab, &cv[i].s);
		if (rc < 0) {
			sl_err_set(err, ENOMEM, "%s: out of memory", a->who);
			goto out_free;
		}
		cv[i].s.path = NULL;
		cv[i].s.map = NULL;
		cv[i].s.fd = -1;
	}
	out->nb_events = nb;
	out->next_seq = seq;
	if (nv > start)
		out->next_seg_id = cv[nv - 1].s.id + 1;
	else if (have_ck)
		out->next_seg_id = ck.head_seg + 1;
	else
		out->next_seg_id = a->first_seg_id;
	if (nv == start) {
		/* Nothing to replay: continue the numbering. */
		out->next_seq = have_ck ? ck.head_seq : a->first_seq;
		out->head = (struct dlog_loc){ .seg = 0,
					       .off = DLOG_DATA_START,
					       .seq = out->next_seq };
	}
	for (d = 0; d < a->nb_dirs; d++)
		a->io->ops->fsync_dir(a->io, a->dirs[d]);
	out->rec.fresh = nc == 0 && !have_ck;
	out->rec.replayed = nb;
	out->rec.restart_ms = (sl_time_mono_ns() - t0) / SL_NS_PER_MS;
	rc = 0;
out_free:
	for (i = 0; i < nc; i++)
		sl_dlog_seg_close(&cv[i].s);
	free(cv);
	if (rc < 0) {
		for (i = 0; i < out->tab.n; i++)
			sl_dlog_seg_close(&out->tab.v[i]);
		free(out->tab.v);
		memset(&out->tab, 0, sizeof(out->tab));
	}
	return rc;
}
