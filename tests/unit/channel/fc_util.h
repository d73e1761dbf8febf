/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the file channel's unit tests: temporary directories,
 * opening a channel from "key=value" pairs through its key table, events
 * that carry their own id and checksum, and draining a channel.
 */
#ifndef FC_UTIL_H
#define FC_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dlog_int.h"
#include "sl_channel.h"
#include "sl_time.h"

#define FC_MAX_KV	24

struct fc_handle {
	struct sl_channel *ch;
	void *settings;
};

static inline int
fcu_rm_one(const char *path, const struct stat *sb, int flag,
	   struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void
fcu_rmrf(const char *dir)
{
	nftw(dir, fcu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under @base ("/dev/shm" is fast; "/tmp" is a disk). */
static inline char *
fcu_tmpdir(const char *base)
{
	char *d = NULL;

	if (access(base, W_OK) != 0)
		base = "/tmp";
	cr_assert(asprintf(&d, "%s/sl-fc-XXXXXX", base) > 0);
	cr_assert_not_null(mkdtemp(d));
	return d;
}

/*
 * Open a file channel on @dir (checkpointDir DIR/ck, dataDirs DIR/data
 * unless @kv sets them) with @kv extra keys; NULL-terminated list.
 */
/*
 * For test backends that see writes as one piece: @nb iovecs gathered
 * into one malloc'd buffer (free it) of *@len bytes.
 */
static inline uint8_t *
fcu_gather(const struct iovec *iov, unsigned nb, size_t *len)
{
	size_t n = 0, at = 0;
	uint8_t *buf;
	unsigned i;

	for (i = 0; i < nb; i++)
		n += iov[i].iov_len;
	buf = malloc(n ? n : 1);
	cr_assert_not_null(buf);
	for (i = 0; i < nb; i++) {
		memcpy(buf + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	*len = n;
	return buf;
}

static inline struct sl_channel *
fcu_open_err(struct fc_handle *h, const char *dir, const char *const *kv,
	     const struct dlog_test_opts *o, struct sl_err *err)
{
	const struct sl_channel_ops *ops = &sl_file_channel_ops;
	struct sl_prop pv[FC_MAX_KV];
	struct sl_props props = { .comp = "a1.channels.c1", .v = pv,
				  .file = "test", .line = 1 };
	struct sl_diag diag = { 0 };
	char ck[512], data[512];
	bool has_ck = false, has_data = false, has_size = false;
	size_t i, n = 0;

	for (i = 0; kv && kv[i]; i++) {
		if (strncmp(kv[i], "checkpointDir=", 14) == 0)
			has_ck = true;
		if (strncmp(kv[i], "dataDirs=", 9) == 0)
			has_data = true;
		if (strncmp(kv[i], "maxFileSize=", 12) == 0)
			has_size = true;
	}
	snprintf(ck, sizeof(ck), "checkpointDir=%s/ck", dir);
	snprintf(data, sizeof(data), "dataDirs=%s/data", dir);
	{
		const char *all[FC_MAX_KV];
		size_t m = 0;

		if (!has_ck)
			all[m++] = ck;
		if (!has_data)
			all[m++] = data;
		/* Not Flume's 2 GiB: tests live on tmpfs. */
		if (!has_size)
			all[m++] = "maxFileSize=1048576";
		for (i = 0; kv && kv[i]; i++)
			all[m++] = kv[i];
		cr_assert(m <= FC_MAX_KV);
		for (i = 0; i < m; i++) {
			const char *eq = strchr(all[i], '=');

			pv[n++] = (struct sl_prop){
				.key = strndup(all[i], (size_t)(eq - all[i])),
				.val = strdup(eq + 1), .file = "test",
				.line = (int)i + 1 };
		}
	}
	props.n = n;
	h->settings = calloc(1, ops->settings_size);
	cr_assert_eq(sl_keys_apply(ops->keys, h->settings, &props, &diag), 0,
		     "%s", diag.n ? diag.v[0].text : "?");
	sl_diag_free(&diag);
	h->ch = sl_file_channel_create_opts("c1", h->settings, &props, o, err);
	for (i = 0; i < n; i++) {
		free(pv[i].key);
		free(pv[i].val);
	}
	if (!h->ch) {
		sl_keys_free(ops->keys, h->settings);
		free(h->settings);
		h->settings = NULL;
	}
	return h->ch;
}

static inline struct sl_channel *
fcu_open(struct fc_handle *h, const char *dir, const char *const *kv,
	 const struct dlog_test_opts *o)
{
	struct sl_err err = { 0 };

	fcu_open_err(h, dir, kv, o, &err);
	cr_assert_not_null(h->ch, "open: %s", err.msg);
	return h->ch;
}

static inline void
fcu_free_settings(struct fc_handle *h)
{
	sl_keys_free(sl_file_channel_ops.keys, h->settings);
	free(h->settings);
	h->settings = NULL;
	h->ch = NULL;
}

/* Graceful close (drain + checkpoint). */
static inline void
fcu_close(struct fc_handle *h)
{
	h->ch->ops->stop(h->ch);
	h->ch->ops->destroy(h->ch);
	fcu_free_settings(h);
}

/* kill -9: nothing drained, no checkpoint. */
static inline void
fcu_crash(struct fc_handle *h)
{
	sl_file_channel_crash(h->ch);
	fcu_free_settings(h);
}

/* Event bodies: "ev:<id>:<crc>:<filler>" so every copy can be checked. */
struct fcu_ev {
	char buf[2048];
	struct sl_event ev;
};

static inline void
fcu_ev_make(struct fcu_ev *e, uint64_t id, unsigned body_len)
{
	unsigned i, n;

	n = (unsigned)snprintf(e->buf, sizeof(e->buf), "ev:%016" PRIx64 ":",
			       id);
	for (i = n; i < body_len && i < sizeof(e->buf); i++)
		e->buf[i] = (char)('a' + (id + i) % 26);
	if (body_len < n)
		body_len = n;
	e->ev = (struct sl_event){ .body = (const uint8_t *)e->buf,
				   .body_len = body_len };
	if (id % 3 == 0) {
		e->ev.nb_headers = 1;
		e->ev.hdrs[0] = (struct sl_header){ .key = "k", .key_len = 1,
						    .val = "v", .val_len = 1 };
	}
}

/* The id of @ev after checking every byte; aborts the test if wrong. */
static inline uint64_t
fcu_ev_check(const struct sl_event *ev)
{
	char tmp[40];
	uint64_t id;
	unsigned i;

	cr_assert(ev->body_len >= 20, "short body %u", ev->body_len);
	memcpy(tmp, ev->body, 20);
	tmp[20] = '\0';
	cr_assert_eq(sscanf(tmp, "ev:%16" SCNx64 ":", &id), 1, "body %s",
		     tmp);
	for (i = 20; i < ev->body_len; i++)
		cr_assert_eq(ev->body[i], (uint8_t)('a' + (id + i) % 26),
			     "event %" PRIu64 " byte %u", id, i);
	cr_assert_eq(ev->nb_headers, id % 3 == 0 ? 1 : 0);
	return id;
}

/* Put ids [first, first+n) as one transaction; the commit's result. */
static inline int64_t
fcu_put_txn(struct sl_chan_producer *p, uint64_t first, unsigned n,
	    unsigned body_len)
{
	struct fcu_ev e;
	unsigned i;
	int rc;

	sl_channel_put_begin(p);
	for (i = 0; i < n; i++) {
		fcu_ev_make(&e, first + i, body_len);
		rc = sl_channel_put(p, &e.ev);
		if (rc < 0) {
			sl_channel_put_rollback(p);
			return rc;
		}
	}
	return sl_channel_put_commit(p);
}

/* Wait until @p's acks reach @ticket (or the channel fails). */
static inline bool
fcu_wait_ack(struct sl_chan_producer *p, uint64_t ticket, uint64_t ms)
{
	uint64_t deadline = sl_time_mono_ns() + ms * SL_NS_PER_MS;

	while (sl_channel_producer_acked(p) < ticket) {
		if (sl_file_channel_unhealthy(p->ch) ||
		    sl_time_mono_ns() > deadline)
			return false;
		sl_time_sleep_ns(100 * 1000);
	}
	return true;
}

/*
 * Take and commit everything visible (waiting up to @ms for more while
 * fewer than @expect arrived); ids go to @ids (room for @cap).
 */
static inline size_t
fcu_drain(struct sl_chan_consumer *c, uint64_t *ids, size_t cap,
	  size_t expect, uint64_t ms)
{
	uint64_t deadline = sl_time_mono_ns() + ms * SL_NS_PER_MS;
	size_t n = 0;
	unsigned i;

	for (;;) {
		struct sl_take *t = sl_channel_take(c, 64);

		if (!t) {
			if (n >= expect || sl_time_mono_ns() > deadline)
				break;
			sl_time_sleep_ns(200 * 1000);
			continue;
		}
		for (i = 0; i < t->nb_evs; i++) {
			cr_assert_lt(n, cap);
			ids[n++] = fcu_ev_check(&t->evs[i]);
		}
		cr_assert_eq(sl_channel_take_commit(c, t), 0);
	}
	return n;
}

/* One stat of @ch by its shown name; fails the test when it is absent. */
struct stat_cap {
	struct sl_stats_sink base;
	const char *want;
	uint64_t val;
	bool found;
};

static inline void
cap_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
	enum sl_stat_kind k, enum sl_stat_section sec)
{
	struct stat_cap *c = (struct stat_cap *)s;

	if (strcmp(name, c->want) == 0) {
		c->val = v;
		c->found = true;
	}
}

static inline void
cap_str(struct sl_stats_sink *s, const char *n, const char *v,
	enum sl_stat_section sec)
{
}

static inline void
cap_f64(struct sl_stats_sink *s, const char *n, double v,
	enum sl_stat_section sec)
{
}

static inline uint64_t
stat_of(struct sl_channel *ch, const char *name)
{
	struct stat_cap c = { { cap_u64, cap_str, cap_f64 }, name, 0, false };

	sl_channel_stats_emit(ch, &c.base);
	cr_assert(c.found, "no stat %s", name);
	return c.val;
}

#endif /* FC_UTIL_H */
