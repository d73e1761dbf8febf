/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's netcat and netcatudp sources on the dataplane: the same keys,
 * framing (frame_line.c) and channel fan-out (fanout.c) as the kernel
 * sources, fed by the lcores' TCP/UDP stack instead of sockets. One
 * struct dps_core per (source, lcore), touched only by that lcore; the
 * Flume counters are summed into the source once per burst. Created on
 * the control thread before the lcores start; no EAL here.
 *
 * Backpressure: a line the channel refuses is answered FAILED
 * (ack-every-event) or left unread (ack-every-event = false), as on the
 * kernel path; unread bytes wait in the connection's TCP receive buffer,
 * whose free space is the advertised window, so a slow sink closes it.
 * Lines also wait while the connection's replies do not fit its send
 * queue, or while a durable channel has not acknowledged its events. If
 * the channel reports those acks will never come (sl_channel_producer_
 * failed: a failed fdatasync), the OKs owed become Flume's `FAILED: ...`
 * replies instead, as on the kernel path, counted in ChannelWriteFail.
 * Owed replies are counts, not buffers: they go out in order as the send
 * queue has room, and the connection reads again once all are out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dp_int.h"
#include "fanout_int.h"
#include "frame_int.h"
#include "netcat_int.h"
#include "sl_dataplane.h"

#define DPS_MAX_CORES		64
#define DPS_REPLY_MAX		224

struct dps_settings {
	char *bind;
	int64_t port;
	int64_t max_line_length;
	bool ack_every_event;
	char *encoding;
	int64_t max_connections;
	char *remote_address_header;
	int64_t max_datagram_size;
};

struct dps_core;

struct dps_conn {
	struct dps_core *pc;
	struct sl_tcp_conn *conn;
	uint32_t idx;
	unsigned ch_from;
	bool stalled;
	bool waiting_ack;		/* on the core's ack_wait list */
	bool resolved;			/* ok_owed decided: being sent */
	bool ok_failed;			/* ... as FAILED (ack never came) */
	uint8_t ok_fail_ch;		/* the channel that failed them */
	uint8_t fail_ch;		/* fail_owed's channel and errno */
	int fail_rc;
	uint32_t ok_owed;		/* OK replies held for a durable ack */
	uint32_t fail_owed;		/* FAILED replies queued behind them */
	bool close_owed;		/* then the over-long reply, and close */
	uint64_t tickets[SL_FANOUT_MAX];
	struct sl_frame_line fr;
	uint8_t buf[];
};

struct dps_source;

struct dps_core {
	struct dps_source *src;
	struct sl_lcore *lc;
	struct sl_fanout fo;
	struct sl_source_stats st;	/* this core's, merged per burst */
	uint8_t *conn_mem;
	size_t conn_size;
	uint32_t *free_idx;
	uint32_t nb_free, max_conns;
	struct dps_conn **ack_wait;	/* conns owing OKs until an ack */
	uint32_t nb_ack_wait;
	unsigned udp_batch;		/* events in the open UDP batch */
};

struct dps_source {
	struct sl_source base;
	struct dps_settings set;
	bool udp;
	enum sl_frame_units units;
	uint32_t bind;			/* host order */
	uint16_t hdr_key_len;		/* strlen(remote_address_header) */
	struct sl_dataplane *dp;
	struct dps_core *cores[DPS_MAX_CORES];
	unsigned nb_cores;
};

#define DPS_OFF(f) offsetof(struct dps_settings, f)

static const struct sl_key dps_tcp_keys[] = {
	{ "bind", SL_KEY_STR, NULL, DPS_OFF(bind), .required = true },
	{ "port", SL_KEY_INT, NULL, DPS_OFF(port), 1, 65535,
	  .required = true },
	{ "max-line-length", SL_KEY_INT, "512", DPS_OFF(max_line_length),
	  1, 1 << 20 },
	{ "ack-every-event", SL_KEY_BOOL, "true", DPS_OFF(ack_every_event) },
	{ "encoding", SL_KEY_STR, "utf-8", DPS_OFF(encoding) },
	{ "max-connections", SL_KEY_INT, "10000", DPS_OFF(max_connections),
	  1, 1000000 },
	SL_KEY_END,
};

static const struct sl_key dps_udp_keys[] = {
	{ "bind", SL_KEY_STR, NULL, DPS_OFF(bind), .required = true },
	{ "port", SL_KEY_INT, NULL, DPS_OFF(port), 1, 65535,
	  .required = true },
	{ "remoteAddressHeader", SL_KEY_STR, "REMOTE_ADDRESS",
	  DPS_OFF(remote_address_header) },
	{ "remoteAddress", SL_KEY_STR, NULL, DPS_OFF(remote_address_header),
	  .alias_of = "remoteAddressHeader" },
	{ "max-datagram-size", SL_KEY_INT, "65536",
	  DPS_OFF(max_datagram_size), 1, 65536 },
	SL_KEY_END,
};

static const struct sl_source_ops dps_netcat_ops;
static const struct sl_source_ops dps_netcatudp_ops;

/* ---- per-burst bookkeeping --------------------------------------------- */

#define DPS_MERGE(f)							\
	do {								\
		if (pc->st.f) {						\
			sl_stat_add_mt(&gs->f, pc->st.f);		\
			pc->st.f = 0;					\
		}							\
	} while (0)

/* Add this core's counters to the source's; one atomic add per counter
 * that moved, once per burst (never per packet). */
static void
dps_stats_merge(struct dps_core *pc)
{
	struct sl_source_stats *gs = &pc->src->base.stats;
	unsigned i;

	DPS_MERGE(event_received_count);
	DPS_MERGE(event_accepted_count);
	DPS_MERGE(append_batch_received_count);
	DPS_MERGE(append_batch_accepted_count);
	DPS_MERGE(open_connection_count);	/* a gauge: deltas add up */
	DPS_MERGE(event_read_fail);
	DPS_MERGE(channel_write_fail);
	DPS_MERGE(generic_processing_fail);
	DPS_MERGE(rx_bytes);
	DPS_MERGE(connections_accepted);
	DPS_MERGE(connections_closed);
	for (i = 0; i < SL_DROP_MAX; i++)
		DPS_MERGE(drop[i]);
}

/* ---- TCP: netcat -------------------------------------------------------- */

static void
dps_reply(struct dps_conn *c, const char *s, size_t len)
{
	/* Room was checked before the line was taken (dps_on_line); a
	 * connection already closing cannot take replies any more. */
	int rc = sl_tcp_send(c->pc->lc, c->conn, s, (uint32_t)len);

	if (rc == -ENOBUFS)
		c->pc->st.drop[SL_DROP_TCP_SNDBUF_FULL]++;
	else if (rc < 0)
		c->pc->st.drop[SL_DROP_TCP_AFTER_CLOSE]++;
}

/* Flume's FAILED reply for a put refused with @rc by channel @ch. */
static size_t
dps_failed_msg(struct dps_core *pc, char *msg, int rc, unsigned ch)
{
	return sl_nc_reply_failed(msg, DPS_REPLY_MAX, rc,
				  pc->fo.prods[SL_MIN(ch, pc->fo.nb - 1)]->ch->name);
}

/* A line refused by channel @ch with @rc: its FAILED reply now, or, while
 * OKs before it wait for a durable ack, queued behind them. */
static void
dps_fail_line(struct dps_conn *c, int rc, unsigned ch)
{
	char msg[DPS_REPLY_MAX];

	if (c->waiting_ack) {
		c->fail_owed++;
		c->fail_rc = rc;
		c->fail_ch = (uint8_t)ch;
		return;
	}
	dps_reply(c, msg, dps_failed_msg(c->pc, msg, rc, ch));
}

static void
dps_reply_failed(struct dps_conn *c, int rc)
{
	dps_fail_line(c, rc, c->ch_from);
}

/* Flume's reply to an over-long line, then our FIN. */
static void
dps_close_too_long(struct dps_conn *c)
{
	char msg[DPS_REPLY_MAX];

	dps_reply(c, msg, sl_nc_reply_too_long(msg, sizeof(msg),
		  (uint32_t)c->pc->src->set.max_line_length));
	sl_tcp_close(c->pc->lc, c->conn);
}

/*
 * Why a batch commit was refused: a channel that reports its acks failed
 * (unhealthy: -EIO, named), else a full channel (-ENOSPC).
 */
static int
dps_commit_rc(struct dps_core *pc, unsigned *ch)
{
	unsigned k;

	for (k = 0; k < pc->fo.nb; k++)
		if (sl_channel_producer_failed(pc->fo.prods[k]) < 0) {
			*ch = k;
			return -EIO;
		}
	*ch = 0;
	return -ENOSPC;
}

static void
dps_oks(struct dps_conn *c, uint32_t nb)
{
	static const char oks[] = "OK\nOK\nOK\nOK\nOK\nOK\nOK\nOK\n";

	while (nb) {
		uint32_t k = SL_MIN(nb, 8u);

		dps_reply(c, oks, 3u * k);
		nb -= k;
	}
}

static void
dps_ack_wait(struct dps_conn *c, uint32_t nb)
{
	struct dps_core *pc = c->pc;

	c->ok_owed += nb;
	memcpy(c->tickets, pc->fo.tickets, sizeof(c->tickets));
	if (!c->waiting_ack) {
		c->waiting_ack = true;
		pc->ack_wait[pc->nb_ack_wait++] = c;
	}
}

/* Commit the open batch: its lines become OK replies, or FAILED when
 * another producer took the channel's room first. */
static void
dps_commit(struct dps_conn *c)
{
	struct dps_core *pc = c->pc;
	bool ok;
	unsigned i, nb = sl_fanout_flush(&pc->fo, &ok);

	if (nb == 0)
		return;
	if (ok) {
		pc->st.event_accepted_count += nb;
		if (!pc->src->set.ack_every_event)
			return;
		if (pc->fo.any_ack_fd)
			dps_ack_wait(c, nb);
		else
			dps_oks(c, nb);
		return;
	}
	pc->st.channel_write_fail += nb;
	if (pc->src->set.ack_every_event) {
		unsigned ch;
		int rc = dps_commit_rc(pc, &ch);

		for (i = 0; i < nb; i++)
			dps_fail_line(c, rc, ch);
	} else {
		unsigned ch;

		pc->st.drop[dps_commit_rc(pc, &ch) == -EIO ?
			    SL_DROP_CHANNEL_ERROR : SL_DROP_CHANNEL_FULL] += nb;
	}
}

/* The framer's callback, Flume's NetcatSource per line (as src_netcat.c). */
static int
dps_on_line(void *arg, const uint8_t *line, uint32_t len)
{
	struct dps_conn *c = arg;
	struct dps_core *pc = c->pc;
	struct sl_event ev = { .body = line, .body_len = len };
	bool ack = pc->src->set.ack_every_event;
	unsigned from = c->ch_from;
	int rc;

	/* FAILED replies queue behind OKs waiting for a durable ack: take
	 * no line after them until all are out (replies stay in order). */
	if (c->fail_owed)
		return -EAGAIN;
	if (ack && sl_tcp_sndbuf_free(c->conn) <
		   DPS_REPLY_MAX * (pc->fo.nb_evs + 2u)) {
		/* Each batched line may still become a FAILED reply. */
		dps_commit(c);
		if (sl_tcp_sndbuf_free(c->conn) < 2 * DPS_REPLY_MAX)
			return -ENOBUFS;
	}
	rc = sl_fanout_batch_put(&pc->fo, &ev, &from);
	if (rc == 0) {
		c->ch_from = 0;
		c->stalled = false;
		pc->st.event_received_count++;
		return 0;
	}
	dps_commit(c);
	c->ch_from = from;
	rc = sl_fanout_solo(&pc->fo, &ev, &from);
	c->ch_from = from;
	if (rc == 0) {
		c->ch_from = 0;
		c->stalled = false;
		pc->st.event_received_count++;
		pc->st.event_accepted_count++;
		if (ack && pc->fo.any_ack_fd)
			dps_ack_wait(c, 1);
		else if (ack)
			dps_oks(c, 1);
		return 0;
	}
	if (rc == -EAGAIN || (!ack && rc == -ENOSPC)) {
		/* Backpressure: the line stays unread; TCP brings it again
		 * (-EAGAIN: a file channel's ring is momentarily full). */
		if (!c->stalled)
			pc->st.channel_write_fail++;
		c->stalled = true;
		return -EAGAIN;
	}
	pc->st.event_received_count++;
	pc->st.channel_write_fail++;
	if (ack)
		dps_reply_failed(c, rc);
	else
		pc->st.drop[rc == -ENOSPC ? SL_DROP_CHANNEL_FULL
					  : SL_DROP_CHANNEL_ERROR]++;
	c->ch_from = 0;
	return 0;
}

static void *
dps_tcp_accept(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	       uint64_t now)
{
	struct dps_core *pc = ctx;
	struct dps_conn *c;
	uint32_t idx;

	if (!pc->nb_free) {
		pc->st.drop[SL_DROP_CONN_LIMIT]++;
		return NULL;
	}
	idx = pc->free_idx[--pc->nb_free];
	c = (struct dps_conn *)(pc->conn_mem + pc->conn_size * idx);
	memset(c, 0, sizeof(*c));
	c->pc = pc;
	c->conn = conn;
	c->idx = idx;
	sl_frame_line_init(&c->fr, c->buf,
			   (uint32_t)pc->src->set.max_line_length,
			   pc->src->units, pc->st.drop);
	pc->st.connections_accepted++;
	pc->st.open_connection_count++;
	return c;
}

static uint32_t
dps_tcp_recv(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	     const uint8_t *data, uint32_t len, uint64_t now)
{
	struct dps_conn *c = conn->app;
	struct dps_core *pc = c->pc;
	size_t used = 0;
	int rc;

	if (c->waiting_ack)
		return 0;
	rc = sl_frame_line_feed(&c->fr, data, len, &used, dps_on_line, c);
	dps_commit(c);
	pc->st.rx_bytes += used;
	if (rc == -EMSGSIZE) {
		pc->st.event_read_fail++;
		pc->st.rx_bytes += len - used;
		if (c->waiting_ack)
			c->close_owed = true;	/* after the owed replies */
		else
			dps_close_too_long(c);
		return len;
	}
	return (uint32_t)used;
}

static void
dps_tcp_eof(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	    uint64_t now)
{
	struct dps_conn *c = conn->app;

	/* The unterminated tail is discarded and counted by the framer.
	 * OKs still waiting for a durable channel go out before our FIN. */
	sl_frame_line_finish(&c->fr);
	if (c->waiting_ack)
		conn->fin_hold = true;
}

static void
dps_tcp_closed(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	struct dps_core *pc = ctx;
	struct dps_conn *c = conn->app;
	uint32_t i;

	if (c->waiting_ack) {
		for (i = 0; i < pc->nb_ack_wait; i++)
			if (pc->ack_wait[i] == c) {
				pc->ack_wait[i] =
					pc->ack_wait[--pc->nb_ack_wait];
				break;
			}
	}
	if (sl_frame_line_pending(&c->fr))
		sl_frame_line_finish(&c->fr);
	pc->st.connections_closed++;
	pc->st.open_connection_count--;
	pc->free_idx[pc->nb_free++] = c->idx;
}

/*
 * Decide the OKs @c waits for: acknowledged, or never to be (a channel
 * reports failed acks and has not acked @c's ticket: sl_channel.h says to
 * ask failed() before reading acked(), which is final by then). *@failed
 * caches the channels' failed() per burst (-1: not asked yet). True when
 * decided.
 */
static bool
dps_ack_resolve(struct dps_core *pc, struct dps_conn *c, int *failed)
{
	unsigned k;

	if (*failed < 0) {
		*failed = 0;
		for (k = 0; k < pc->fo.nb; k++)
			if (sl_channel_producer_failed(pc->fo.prods[k]) < 0)
				*failed |= 1 << k;
	}
	if (sl_fanout_acked(&pc->fo, c->tickets)) {
		c->resolved = true;
		c->ok_failed = false;
		return true;
	}
	for (k = 0; *failed && k < pc->fo.nb; k++) {
		if (!(*failed & (1 << k)) ||
		    sl_channel_producer_acked(pc->fo.prods[k]) >= c->tickets[k])
			continue;
		/* Counted accepted when the channel took them; now failed. */
		c->resolved = true;
		c->ok_failed = true;
		c->ok_fail_ch = (uint8_t)k;
		pc->st.channel_write_fail += c->ok_owed;
		return true;
	}
	return false;
}

/* Send *@owed FAILED replies for @rc from channel @ch as room allows. */
static void
dps_failed_push(struct dps_conn *c, uint32_t *owed, int rc, unsigned ch)
{
	char msg[DPS_REPLY_MAX];
	uint32_t len;

	if (!*owed)
		return;
	len = (uint32_t)dps_failed_msg(c->pc, msg, rc, ch);
	while (*owed && sl_tcp_sndbuf_free(c->conn) >= len) {
		dps_reply(c, msg, len);
		(*owed)--;
	}
}

/*
 * Send @c's owed replies in order (its OKs or their FAILED, then the
 * FAILED queued behind, then an over-long line's reply and the close) as
 * far as its send queue has room. True when none is left.
 */
static bool
dps_owed_push(struct dps_conn *c)
{
	uint32_t n;

	if (c->ok_owed && !c->ok_failed) {
		n = SL_MIN(c->ok_owed, sl_tcp_sndbuf_free(c->conn) / 3);
		dps_oks(c, n);
		c->ok_owed -= n;
	}
	if (c->ok_failed)
		dps_failed_push(c, &c->ok_owed, -EIO, c->ok_fail_ch);
	if (c->ok_owed)
		return false;
	dps_failed_push(c, &c->fail_owed, c->fail_rc, c->fail_ch);
	if (c->fail_owed)
		return false;
	if (c->close_owed) {
		if (sl_tcp_sndbuf_free(c->conn) < DPS_REPLY_MAX)
			return false;
		c->close_owed = false;
		dps_close_too_long(c);
	}
	return true;
}

static void
dps_burst_end(void *ctx, struct sl_lcore *lc, uint64_t now)
{
	struct dps_core *pc = ctx;
	uint32_t i = 0;
	int failed = -1;
	bool ok;

	if (pc->src->udp && pc->fo.open) {
		unsigned nb = sl_fanout_flush(&pc->fo, &ok);

		if (ok) {
			pc->st.event_accepted_count += nb;
		} else {
			pc->st.channel_write_fail += nb;
			pc->st.drop[SL_DROP_CHANNEL_FULL] += nb;
		}
	}
	/* Durable channels: OKs go out once the channel acknowledged,
	 * FAILED once it says the acks will never come. */
	while (i < pc->nb_ack_wait) {
		struct dps_conn *c = pc->ack_wait[i];

		if (!c->resolved && !dps_ack_resolve(pc, c, &failed)) {
			i++;
			continue;
		}
		if (!dps_owed_push(c)) {
			i++;		/* the rest when the send queue drains */
			continue;
		}
		c->waiting_ack = false;
		c->resolved = false;
		if (c->conn->fin_hold) {
			c->conn->fin_hold = false;
			sl_tcp_mark_dirty(lc, c->conn);
		}
		sl_tcp_window_update(lc, c->conn);
		pc->ack_wait[i] = pc->ack_wait[--pc->nb_ack_wait];
	}
	dps_stats_merge(pc);
}

/* ---- UDP: netcatudp ----------------------------------------------------- */

/* Decimal digits of @v at @p; returns how many. */
static inline unsigned
dps_put_dec(char *p, unsigned v)
{
	char t[10];
	unsigned n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

/*
 * The sender as Flume's InetSocketAddress.toString() prints it,
 * "/a.b.c.d:port" (what inet_ntop and "%u" give, without stdio: this runs
 * per datagram). @out has room for 22 bytes; returns the length.
 */
static uint16_t
dps_fmt_addr(char *out, sl_be32 saddr, sl_be16 sport)
{
	const uint8_t *a = (const uint8_t *)&saddr;
	unsigned n = 0, i;

	out[n++] = '/';
	for (i = 0; i < 4; i++) {
		n += dps_put_dec(out + n, a[i]);
		out[n++] = i < 3 ? '.' : ':';
	}
	n += dps_put_dec(out + n, ntohs(sport));
	return (uint16_t)n;
}

static void
dps_udp_recv(void *ctx, struct sl_lcore *lc, const struct sl_pkt *pkt,
	     const uint8_t *data, uint32_t len, uint64_t now)
{
	struct dps_core *pc = ctx;
	struct sl_event ev;	/* not zeroed whole: 200 bytes per datagram */
	const uint8_t *nl = memchr(data, '\n', len);
	char addr[32];
	unsigned from = 0;
	bool ok;
	int rc;

	pc->st.rx_bytes += len;
	if (len > (uint64_t)pc->src->set.max_datagram_size) {
		pc->st.drop[SL_DROP_DGRAM_TRUNCATED]++;
		pc->st.event_read_fail++;
		return;
	}
	/* One event per datagram, its body up to the first newline, the
	 * sender as Flume's InetSocketAddress.toString() prints it, as on
	 * the kernel path (src_netcatudp.c). */
	ev.body = data;
	ev.body_len = nl ? (uint32_t)(nl - data) : len;
	ev.nb_headers = 1;
	ev.hdrs[0].key = pc->src->set.remote_address_header;
	ev.hdrs[0].key_len = pc->src->hdr_key_len;
	ev.hdrs[0].val = addr;
	ev.hdrs[0].val_len = dps_fmt_addr(addr, pkt->saddr, pkt->sport);
	pc->st.event_received_count++;
	rc = sl_fanout_batch_put(&pc->fo, &ev, &from);
	if (rc == 0)
		return;
	/* The batch is full or a channel refused: commit, then alone. */
	{
		unsigned nb = sl_fanout_flush(&pc->fo, &ok);

		if (ok) {
			pc->st.event_accepted_count += nb;
		} else {
			pc->st.channel_write_fail += nb;
			pc->st.drop[SL_DROP_CHANNEL_FULL] += nb;
		}
	}
	rc = sl_fanout_solo(&pc->fo, &ev, &from);
	if (rc == 0) {
		pc->st.event_accepted_count++;
		return;
	}
	pc->st.channel_write_fail++;
	pc->st.drop[rc == -ENOSPC || rc == -EAGAIN ? SL_DROP_CHANNEL_FULL
				  : SL_DROP_CHANNEL_ERROR]++;
}

/* This core's producers' ring depth, for the dataplane's stats. */
static uint64_t
dps_ring_depth(const void *ctx)
{
	return sl_fanout_depth(&((const struct dps_core *)ctx)->fo);
}

static const struct sl_net_app_ops dps_tcp_app = {
	.tcp_accept = dps_tcp_accept,
	.tcp_recv = dps_tcp_recv,
	.tcp_eof = dps_tcp_eof,
	.tcp_closed = dps_tcp_closed,
	.burst_end = dps_burst_end,
	.ring_depth = dps_ring_depth,
};

static const struct sl_net_app_ops dps_udp_app = {
	.udp_recv = dps_udp_recv,
	.burst_end = dps_burst_end,
	.ring_depth = dps_ring_depth,
};

/* ---- create / destroy --------------------------------------------------- */

static void
dps_core_free(struct dps_core *pc)
{
	if (!pc)
		return;
	free(pc->conn_mem);
	free(pc->free_idx);
	free(pc->ack_wait);
	free(pc);
}

static void
dps_destroy(struct sl_source *src)
{
	struct dps_source *s = (struct dps_source *)src;
	unsigned i;

	for (i = 0; i < s->nb_cores; i++)
		dps_core_free(s->cores[i]);
	sl_keys_free(s->udp ? dps_udp_keys : dps_tcp_keys, &s->set);
	free(s->base.name);
	free(s);
}

static int
dps_units(const char *enc, enum sl_frame_units *units)
{
	if (!enc || !strcasecmp(enc, "utf-8") || !strcasecmp(enc, "utf8")) {
		*units = SL_FRAME_UNITS_UTF16;
		return 0;
	}
	if (!strcasecmp(enc, "us-ascii") || !strcasecmp(enc, "ascii") ||
	    !strcasecmp(enc, "iso646-us")) {
		*units = SL_FRAME_UNITS_BYTES;
		return 0;
	}
	return -EINVAL;
}

static int
dps_core_add(struct dps_source *s, struct sl_lcore *lc,
	     struct sl_channel *const *chs, unsigned nb_chs,
	     struct sl_err *err)
{
	struct dps_core *pc;
	char who[160];
	uint32_t i;
	int rc;

	if (s->nb_cores == DPS_MAX_CORES)
		return sl_err_set(err, E2BIG, "source %s: more than %u lcores",
				  s->base.name, DPS_MAX_CORES);
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return sl_err_set(err, ENOMEM, "source %s: out of memory",
				  s->base.name);
	s->cores[s->nb_cores++] = pc;
	pc->src = s;
	pc->lc = lc;
	snprintf(who, sizeof(who), "source %s %s lcore %u",
		 s->base.ops->type, s->base.name, lc->lcore_id);
	if (sl_fanout_open(&pc->fo, chs, nb_chs, who, err) < 0)
		return -err->code;
	if (!s->udp) {
		pc->max_conns = (uint32_t)SL_MIN((uint64_t)s->set.max_connections,
						 (uint64_t)lc->tcp.max_conns);
		pc->conn_size = SL_ALIGN_UP(sizeof(struct dps_conn) +
			sl_frame_line_buf_size(
				(uint32_t)s->set.max_line_length, s->units),
			(size_t)SL_CACHE_LINE);
		pc->conn_mem = calloc(pc->max_conns, pc->conn_size);
		pc->free_idx = calloc(pc->max_conns, sizeof(*pc->free_idx));
		pc->ack_wait = calloc(pc->max_conns, sizeof(*pc->ack_wait));
		if (!pc->conn_mem || !pc->free_idx || !pc->ack_wait)
			return sl_err_set(err, ENOMEM, "source %s: no memory "
					  "for %u connections", s->base.name,
					  pc->max_conns);
		for (i = 0; i < pc->max_conns; i++)
			pc->free_idx[i] = pc->max_conns - 1 - i;
		pc->nb_free = pc->max_conns;
	}
	rc = sl_lcore_listen(lc, s->udp ? SL_IPPROTO_UDP : SL_IPPROTO_TCP,
			     htonl(s->bind), htons((uint16_t)s->set.port),
			     s->udp ? &dps_udp_app : &dps_tcp_app, pc);
	if (rc < 0)
		return sl_err_set(err, -rc, "source %s: cannot listen on "
				  "%s:%u on lcore %u: %s", s->base.name,
				  s->set.bind, (unsigned)s->set.port,
				  lc->lcore_id, strerror(-rc));
	return 0;
}

struct sl_source *
sl_dp_source_create_on(struct sl_lcore *const *lcs, unsigned nb_lcs,
		       struct sl_dataplane *dp, const char *type,
		       const char *name, const struct sl_props *props,
		       struct sl_channel *const *chs, unsigned nb_chs,
		       struct sl_err *err)
{
	struct sl_diag diag = { 0 };
	struct dps_source *s;
	struct in_addr a;
	unsigned i;

	if (!sl_dp_source_type_ok(type)) {
		sl_err_set(err, ENOTSUP, "source %s: type %s does not run on "
			   "the dataplane (netcat, netcatudp do)", name, type);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->base.name = strdup(name))) {
		free(s);
		sl_err_set(err, ENOMEM, "source %s: out of memory", name);
		return NULL;
	}
	s->udp = strcasecmp(type, "netcatudp") == 0 ||
		 strcmp(type, "org.apache.flume.source.NetcatUdpSource") == 0;
	s->base.ops = s->udp ? &dps_netcatudp_ops : &dps_netcat_ops;
	s->dp = dp;
	if (sl_keys_apply(s->udp ? dps_udp_keys : dps_tcp_keys, &s->set,
			  props, &diag) > 0) {
		sl_err_set(err, EINVAL, "%s", diag.n ? diag.v[0].text :
			   "bad settings");
		sl_diag_free(&diag);
		goto err_destroy;
	}
	sl_diag_free(&diag);
	if (dps_units(s->set.encoding, &s->units) < 0) {
		sl_err_set(err, EINVAL, "source %s: encoding '%s' is not "
			   "supported", name, s->set.encoding);
		goto err_destroy;
	}
	if (inet_pton(AF_INET, s->set.bind, &a) != 1) {
		sl_err_set(err, EINVAL, "source %s: bind '%s' is not an IPv4 "
			   "address of the dataplane", name, s->set.bind);
		goto err_destroy;
	}
	s->bind = ntohl(a.s_addr);
	if (s->udp)
		s->hdr_key_len = (uint16_t)strnlen(
			s->set.remote_address_header, UINT16_MAX);
	for (i = 0; i < nb_lcs; i++)
		if (dps_core_add(s, lcs[i], chs, nb_chs, err) < 0)
			goto err_destroy;
	if (!s->nb_cores) {
		sl_err_set(err, EADDRNOTAVAIL, "source %s: no lcore serves "
			   "%s", name, s->set.bind);
		goto err_destroy;
	}
	return &s->base;

err_destroy:
	dps_destroy(&s->base);
	return NULL;
}

struct sl_source *
sl_dp_source_create(struct sl_dataplane *dp, const char *type,
		    const char *name, const struct sl_props *props,
		    struct sl_channel *const *chs, unsigned nb_chs,
		    struct sl_err *err)
{
	struct sl_lcore *lcs[DPS_MAX_CORES], *lc;
	const struct sl_prop *bp = sl_props_get(props, "bind");
	struct in_addr a;
	unsigned i, n = 0;
	uint32_t addr;

	if (!bp || inet_pton(AF_INET, bp->val, &a) != 1) {
		sl_err_set(err, EINVAL, "source %s: bind is not an IPv4 "
			   "address of the dataplane", name);
		return NULL;
	}
	for (i = 0; (lc = sl_dataplane_lcore(dp, i, &addr)); i++)
		if (addr == ntohl(a.s_addr) && n < DPS_MAX_CORES)
			lcs[n++] = lc;
	return sl_dp_source_create_on(lcs, n, dp, type, name, props, chs,
				      nb_chs, err);
}

bool
sl_dp_source_type_ok(const char *type)
{
	return !strcasecmp(type, "netcat") || !strcasecmp(type, "netcatudp") ||
	       !strcmp(type, "org.apache.flume.source.NetcatSource") ||
	       !strcmp(type, "org.apache.flume.source.NetcatUdpSource");
}

static int
dps_start(struct sl_source *src, struct sl_err *err)
{
	/* The listeners are in place; the lcores start with the dataplane. */
	return 0;
}

static void
dps_stop(struct sl_source *src)
{
	struct dps_source *s = (struct dps_source *)src;

	/* The lcores commit what they batched as they stop; after this no
	 * lcore touches the channels. */
	if (s->dp)
		sl_dataplane_stop(s->dp);
}

static const struct sl_source_ops dps_netcat_ops = {
	.type = "netcat",
	.keys = dps_tcp_keys,
	.settings_size = sizeof(struct dps_settings),
	.start = dps_start,
	.stop = dps_stop,
	.destroy = dps_destroy,
};

static const struct sl_source_ops dps_netcatudp_ops = {
	.type = "netcatudp",
	.keys = dps_udp_keys,
	.settings_size = sizeof(struct dps_settings),
	.start = dps_start,
	.stop = dps_stop,
	.destroy = dps_destroy,
};
