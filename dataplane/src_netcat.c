/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's `netcat` source on io_uring: one I/O thread per source accepts
 * connections (multishot accept), receives into a provided-buffer ring
 * (multishot recv), frames lines (frame_line.c) and puts them into every
 * wired channel (fanout.c), answering "OK\n" per event when
 * ack-every-event is on. Created and started on the control thread; all
 * connection state is owned by the I/O thread.
 *
 * Backpressure: a connection stops being read (its recv is cancelled and
 * what was already received is held: in the receive buffers themselves,
 * or copied aside once paused connections keep 28 of the 32) while the
 * channel is full (ack-every-event = false; retried when the channel
 * signals room again, or on a timer where it cannot), while its replies
 * do not fit its output buffer, or while a durable channel has not
 * acknowledged its events yet. Nothing is dropped silently: every discard
 * is counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fanout_int.h"
#include "frame_int.h"
#include "netcat_int.h"
#include "sl_log.h"
#include "sl_source.h"
#include "sl_time.h"
#include "uring_io.h"

#define NC_RING_ENTRIES		1024
/*
 * Provided buffers: 128 KiB each (a completion carries what the socket
 * holds up to the buffer's size: two 64 KiB loopback segments where a
 * 64 KiB buffer took one, so half the completions, framer calls and
 * window updates; the netcat thread's CPU per 1 KiB record fell 0.67-0.75
 * -> 0.60-0.62 us, bench/README, sixth session), and few of them (4 MiB):
 * they are reused while still in cache, and one io_uring_enter cannot
 * pull more than that out of the sockets of connections that are pausing.
 * What a paused connection has received stays in its buffers, chained to
 * it, until the channel has room: up to NC_BUFS_HOLD_MAX of them in all,
 * so the others keep every connection reading; past that it is copied
 * aside (nc_conn_hold). The chain is what the copy was before it: a
 * quarter of the bytes at full load (the sink slower than the source),
 * each copied once more and into buffers that grew by realloc, faulting.
 */
#define NC_BUF_SIZE		(128u * 1024)	/* one provided buffer */
#define NC_NB_BUFS		32u		/* power of two */
#define NC_BUFS_HOLD_MAX	(NC_NB_BUFS - 4)	/* kept by paused conns */
#define NC_BGID			7
#define NC_PLAIN_BUF_SIZE	(16u * 1024)	/* per connection, fallback */
#define NC_OUT_SIZE		8192u		/* replies per connection */
#define NC_HOLD_MIN		(64u * 1024)	/* first held buffer */
#define NC_HOLD_KEEP		(16u << 20)	/* held buffers kept, all conns */
#define NC_RETRY_MIN_NS		(50 * 1000ull)
#define NC_RETRY_MAX_NS		(1 * SL_NS_PER_MS)
#define NC_RETRY_SAFETY_NS	(10 * SL_NS_PER_MS)	/* room wakeup armed */
#define NC_ACCEPT_RETRY_NS	(100 * SL_NS_PER_MS)
#define NC_STOP_GRACE_NS	(2 * SL_NS_PER_SEC)
#define NC_LOG_INTERVAL_NS	(10 * SL_NS_PER_SEC)

#define NC_REPLY_MAX	(sizeof("FAILED: " SL_NC_MSG_FULL "\n") + 8)

enum nc_op {
	NC_OP_ACCEPT = 1,
	NC_OP_RECV,
	NC_OP_SEND,
	NC_OP_CANCEL,
	NC_OP_WAKE,
	NC_OP_ACKFD,
	NC_OP_ROOMFD,
};

enum nc_pause {
	NC_PAUSE_NONE,
	NC_PAUSE_OUT,		/* replies do not fit: wait for a send */
	NC_PAUSE_CHANNEL,	/* channel full: retry when it has room */
	NC_PAUSE_ACK,		/* durable channel: wait for its ack */
};

/* How connections are read; chosen at start from what the kernel has. */
enum nc_recv_mode {
	NC_RECV_MULTISHOT,	/* multishot recv, provided buffer ring */
	NC_RECV_SELECT,		/* one-shot recv, provided buffer ring */
	NC_RECV_PLAIN,		/* one-shot recv into a per-connection buffer */
};

struct nc_settings {
	char *bind;
	int64_t port;
	int64_t max_line_length;
	bool ack_every_event;
	char *encoding;
	int64_t max_connections;
};

struct nc_source;
struct nc_conn;

/* A FIFO of paused connections, so retries go round-robin. */
struct nc_wait {
	struct nc_conn *head;
	struct nc_conn *tail;
	uint64_t nb;		/* gauge: `ctl stats` reads it (relaxed) */
};

struct nc_conn {
	struct nc_source *ns;
	struct nc_conn *next_wait;	/* channel or ack wait list */
	int fd;
	uint32_t idx;
	uint32_t gen;
	bool recv_armed;
	bool cancel_sent;
	bool send_inflight;
	bool send_failed;
	bool eof;
	bool stop_read;		/* the source is stopping: no new reads */
	bool closing;
	bool waiting;		/* on a wait list */
	bool stalled;		/* ChannelWriteFail counted for this stall */
	bool committed;		/* a commit since the last ack check */
	enum nc_pause pause;
	unsigned ch_from;	/* first channel still missing the next line */
	/* Received, not yet consumed: first the chain of provided buffers
	 * (the head's from chain_off), then the copy held[held_off,
	 * held_len); a receive is chained only while nothing is copied. */
	uint16_t chain_head, chain_tail;	/* buffer ids, when nb_chained */
	uint16_t nb_chained;
	uint32_t chain_off;
	uint8_t *held;
	uint32_t held_len, held_off;	/* held_len 0: nothing copied */
	uint32_t held_cap;		/* bytes allocated */
	uint32_t out_len;
	uint32_t out_mark;	/* out[0, out_mark) may go before the ack */
	uint8_t *owed;		/* replies rewritten after a failed ack, */
	uint32_t owed_len, owed_off;	/* still to go into out */
	uint8_t *rbuf;		/* NC_RECV_PLAIN only */
	uint64_t tickets[SL_FANOUT_MAX];
	struct sl_frame_line fr;
	uint8_t out[NC_OUT_SIZE];
	uint8_t frame_buf[];
};

struct nc_source {
	struct sl_source base;
	struct nc_settings set;
	enum sl_frame_units units;
	struct sl_fanout fo;

	struct io_uring ring;
	bool ring_ok;
	enum nc_recv_mode mode;
	const char *mode_name;		/* for `ctl stats` (atomic) */
	struct sl_uring_bufs bufs;
	int lfd;
	bool accept_armed;
	bool accept_multishot;
	uint64_t accept_retry_at;

	struct sl_uring_thread io;
	bool stopping;
	uint64_t stop_deadline;

	struct nc_conn **conns;		/* [max_connections] */
	uint32_t *free_idx;
	uint32_t nb_free;
	uint32_t nb_conns;
	uint32_t gen;
	struct nc_wait chan_wait;	/* paused on a full channel */
	uint64_t retry_ns;		/* current retry interval */
	struct nc_wait ack_wait;	/* paused for a durable ack */
	uint64_t next_retry;
	int room_fds[SL_FANOUT_MAX];	/* -1: the channel has no wakeup */
	bool room_armed[SL_FANOUT_MAX];	/* armed, its fd not yet seen */
	uint64_t room_safety_at;	/* the timer's next tick while armed */
	uint64_t room_wakeups;		/* `ctl stats` reads it (relaxed) */
	uint64_t held_alloc;		/* bytes of every conn's held buffer */
	uint64_t held_bytes;		/* received, copied aside (relaxed) */
	uint64_t held_inplace_bytes;	/* received, kept in place (relaxed) */
	unsigned bufs_chained;		/* provided buffers on conn chains */
	uint16_t buf_next[NC_NB_BUFS];	/* chain links, by buffer id */
	uint32_t buf_len[NC_NB_BUFS];	/* bytes received into each */

	struct sl_log_ratelimit rl_accept;
	struct sl_log_ratelimit rl_limit;
};

static const char *
nc_mode_name(enum nc_recv_mode mode)
{
	return mode == NC_RECV_MULTISHOT ? "multishot" :
	       mode == NC_RECV_SELECT ? "provided-buffer" : "plain";
}

#define NC_OFF(f) offsetof(struct nc_settings, f)

static const struct sl_key nc_keys[] = {
	{ "bind", SL_KEY_STR, NULL, NC_OFF(bind), .required = true,
	  .help = "host name or IP address to listen on" },
	{ "port", SL_KEY_INT, NULL, NC_OFF(port), 0, 65535, .required = true,
	  .help = "TCP port to listen on (0: any free port, logged)" },
	{ "max-line-length", SL_KEY_INT, "512", NC_OFF(max_line_length),
	  1, 1 << 20, .help = "most characters per line, newline included; "
	  "a longer line gets FAILED and the connection is closed" },
	{ "ack-every-event", SL_KEY_BOOL, "true", NC_OFF(ack_every_event),
	  .help = "reply OK per event once it is committed (and, for a "
	  "durable channel, acknowledged); false: a full channel stops "
	  "reading instead of replying FAILED" },
	{ "encoding", SL_KEY_STR, "utf-8", NC_OFF(encoding),
	  .help = "character set of the lines (UTF-8 or US-ASCII); "
	  "max-line-length counts its characters" },
	{ "max-connections", SL_KEY_INT, "10000", NC_OFF(max_connections),
	  1, 1000000, .help = "sluice: most open connections; more are "
	  "closed at once and counted in drop_conn_limit" },
	SL_KEY_END,
};

static const char *const nc_aliases[] = {
	"org.apache.flume.source.NetcatSource",
	NULL,
};

static int
nc_encoding_units(const char *enc, enum sl_frame_units *units)
{
	static const char *const utf8[] = { "utf-8", "utf8" };
	static const char *const ascii[] = { "us-ascii", "ascii",
					     "iso646-us" };
	size_t i;

	for (i = 0; i < SL_ARRAY_SIZE(utf8); i++)
		if (strcasecmp(enc, utf8[i]) == 0) {
			*units = SL_FRAME_UNITS_UTF16;
			return 0;
		}
	for (i = 0; i < SL_ARRAY_SIZE(ascii); i++)
		if (strcasecmp(enc, ascii[i]) == 0) {
			*units = SL_FRAME_UNITS_BYTES;
			return 0;
		}
	return -EINVAL;
}

static int
nc_validate(const void *settings, const struct sl_props *props,
	    struct sl_diag *diag)
{
	const struct nc_settings *set = settings;
	enum sl_frame_units units;
	const struct sl_prop *p;
	int nb = sl_fanout_selector_validate(props, diag);

	if (!set->encoding || nc_encoding_units(set->encoding, &units) == 0)
		return nb;
	p = sl_props_get(props, "encoding");
	sl_diag_add(diag, SL_DIAG_ERROR, p ? p->file : props->file,
		    p ? p->line : props->line, "%s.encoding: '%s' is not "
		    "supported (allowed: UTF-8, US-ASCII)", props->comp,
		    set->encoding);
	return nb + 1;
}

/* ---- io_uring plumbing ------------------------------------------------- */

static inline uint64_t
nc_ud(enum nc_op op, uint32_t idx, uint32_t gen)
{
	return (uint64_t)op << 56 | (uint64_t)(idx & 0xffffff) << 32 | gen;
}

static inline enum nc_op
nc_ud_op(uint64_t ud)
{
	return (enum nc_op)(ud >> 56);
}

static inline uint32_t
nc_ud_idx(uint64_t ud)
{
	return (uint32_t)(ud >> 32) & 0xffffff;
}

static void
nc_accept_arm(struct nc_source *ns)
{
	struct io_uring_sqe *sqe = sl_uring_sqe(&ns->ring);

	if (ns->accept_multishot)
		io_uring_prep_multishot_accept(sqe, ns->lfd, NULL, NULL,
					       SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, ns->lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_ACCEPT, 0, 0));
	ns->accept_armed = true;
}

/*
 * Watch a durable channel's ack eventfd with a multishot poll; the handler
 * clears it with one read. (A read SQE would spin on -EAGAIN: the channel
 * makes its eventfds non-blocking.)
 */
static void
nc_ackfd_arm(struct nc_source *ns, unsigned c)
{
	struct io_uring_sqe *sqe = sl_uring_sqe(&ns->ring);

	io_uring_prep_poll_multishot(sqe, ns->fo.ack_fds[c], POLLIN);
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_ACKFD, c, 0));
}

/* Watch channel @c's "room again" eventfd (multishot, as the ack fd). */
static void
nc_roomfd_arm(struct nc_source *ns, unsigned c)
{
	struct io_uring_sqe *sqe = sl_uring_sqe(&ns->ring);

	io_uring_prep_poll_multishot(sqe, ns->room_fds[c], POLLIN);
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_ROOMFD, c, 0));
}

static void
nc_recv_arm(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;
	struct io_uring_sqe *sqe = sl_uring_sqe(&ns->ring);

	switch (ns->mode) {
	case NC_RECV_MULTISHOT:
		io_uring_prep_recv_multishot(sqe, conn->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = NC_BGID;
		break;
	case NC_RECV_SELECT:
		io_uring_prep_recv(sqe, conn->fd, NULL, NC_BUF_SIZE, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = NC_BGID;
		break;
	case NC_RECV_PLAIN:
		io_uring_prep_recv(sqe, conn->fd, conn->rbuf,
				   NC_PLAIN_BUF_SIZE, 0);
		break;
	}
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_RECV, conn->idx, conn->gen));
	conn->recv_armed = true;
	conn->cancel_sent = false;
}

/* Stop reading @conn: what the kernel already completed still arrives. */
static void
nc_recv_cancel(struct nc_conn *conn)
{
	struct io_uring_sqe *sqe;

	if (!conn->recv_armed || conn->cancel_sent)
		return;
	sqe = sl_uring_sqe(&conn->ns->ring);
	io_uring_prep_cancel64(sqe, nc_ud(NC_OP_RECV, conn->idx, conn->gen),
			       0);
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_CANCEL, 0, 0));
	conn->cancel_sent = true;
}

static void
nc_send_kick(struct nc_conn *conn)
{
	struct io_uring_sqe *sqe;

	if (conn->send_inflight || conn->send_failed || conn->out_len == 0 ||
	    conn->pause == NC_PAUSE_ACK)
		return;
	sqe = sl_uring_sqe(&conn->ns->ring);
	io_uring_prep_send(sqe, conn->fd, conn->out, conn->out_len,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_SEND, conn->idx, conn->gen));
	conn->send_inflight = true;
}

/* ---- replies ------------------------------------------------------------ */

static void
nc_reply(struct nc_conn *conn, const char *s, size_t len)
{
	/* Room is reserved before a line is taken (nc_on_line). */
	SL_VERIFY(conn->out_len + len <= NC_OUT_SIZE);
	memcpy(conn->out + conn->out_len, s, len);
	conn->out_len += (uint32_t)len;
}

static void
nc_reply_failed(struct nc_conn *conn, int rc)
{
	struct nc_source *ns = conn->ns;
	char msg[NC_REPLY_MAX];

	nc_reply(conn, msg, sl_nc_reply_failed(msg, sizeof(msg), rc,
		 ns->fo.prods[SL_MIN(conn->ch_from, ns->fo.nb - 1)]->ch->name));
}

/* ---- acks that can no longer come ----------------------------------------- */

static void nc_conn_close(struct nc_conn *conn);

static void
nc_owed_free(struct nc_conn *conn)
{
	free(conn->owed);
	conn->owed = NULL;
	conn->owed_len = conn->owed_off = 0;
}

/*
 * Move owed replies into the reply buffer as room allows. Returns true
 * when none is left (the connection may read again).
 */
static bool
nc_owed_push(struct nc_conn *conn)
{
	uint32_t n;

	if (!conn->owed)
		return true;
	n = SL_MIN(conn->owed_len - conn->owed_off,
		   NC_OUT_SIZE - conn->out_len);
	memcpy(conn->out + conn->out_len, conn->owed + conn->owed_off, n);
	conn->out_len += n;
	conn->owed_off += n;
	if (conn->owed_off < conn->owed_len)
		return false;
	nc_owed_free(conn);
	return true;
}

/*
 * @conn waits for acks of the replies out[out_mark, out_len). If a channel
 * reports that they can no longer come (sl_channel_producer_failed: the
 * file channel turned unhealthy), every `OK` among them becomes `FAILED:
 * <reason>` (counted in ChannelWriteFail; such a line was counted accepted
 * when the channel took it) and the connection goes on, its later lines
 * refused by the channel. A rare path: the rewrite is allocated, and goes
 * out as the reply buffer drains (the connection reads nothing meanwhile).
 * Returns true when it handled a failure (@conn is off the ack wait).
 */
static bool
nc_ack_failed(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;
	char msg[NC_REPLY_MAX];
	uint32_t i, o = 0, start = conn->out_mark, nb_ok = 0;
	unsigned c;
	int n;

	for (c = 0; c < ns->fo.nb; c++)
		if (sl_channel_producer_failed(ns->fo.prods[c]) < 0 &&
		    sl_channel_producer_acked(ns->fo.prods[c]) <
		    conn->tickets[c])
			break;
	if (c == ns->fo.nb)
		return false;
	n = (int)sl_nc_reply_failed(msg, sizeof(msg), -EIO,
				    ns->fo.prods[c]->ch->name);
	for (i = start; i + 3 <= conn->out_len; i++)
		if (memcmp(conn->out + i, "OK\n", 3) == 0 &&
		    (i == start || conn->out[i - 1] == '\n'))
			nb_ok++;
	SL_VERIFY(!conn->owed);
	conn->owed = malloc((size_t)(conn->out_len - start) +
			    (size_t)nb_ok * (size_t)n);
	if (!conn->owed) {
		/* Cannot say it line by line: the peer sees the close. */
		sl_stat_add(&ns->base.stats.channel_write_fail, nb_ok);
		conn->out_len = start;
		conn->pause = NC_PAUSE_NONE;
		nc_conn_close(conn);	/* freed once its recv ends */
		return true;
	}
	for (i = start; i < conn->out_len;) {
		uint8_t *nl = memchr(conn->out + i, '\n', conn->out_len - i);
		uint32_t len = nl ? (uint32_t)(nl - (conn->out + i)) + 1 :
			       conn->out_len - i;

		if (len == 3 && memcmp(conn->out + i, "OK\n", 3) == 0) {
			memcpy(conn->owed + o, msg, (size_t)n);
			o += (uint32_t)n;
		} else {
			memcpy(conn->owed + o, conn->out + i, len);
			o += len;
		}
		i += len;
	}
	conn->owed_len = o;
	conn->owed_off = 0;
	conn->out_len = start;
	conn->out_mark = 0;
	sl_stat_add(&ns->base.stats.channel_write_fail, nb_ok);
	conn->pause = NC_PAUSE_OUT;	/* until the FAILED replies are out */
	nc_owed_push(conn);
	nc_send_kick(conn);
	return true;
}

/* ---- wait lists --------------------------------------------------------- */

static void
nc_wait_add(struct nc_wait *w, struct nc_conn *conn)
{
	SL_ASSERT(!conn->waiting);
	conn->next_wait = NULL;
	if (w->tail)
		w->tail->next_wait = conn;
	else
		w->head = conn;
	w->tail = conn;
	sl_stat_add(&w->nb, 1);
	conn->waiting = true;
}

static struct nc_conn *
nc_wait_pop(struct nc_wait *w)
{
	struct nc_conn *conn = w->head;

	if (!conn)
		return NULL;
	w->head = conn->next_wait;
	if (!w->head)
		w->tail = NULL;
	sl_stat_add(&w->nb, (uint64_t)-1);
	conn->next_wait = NULL;
	conn->waiting = false;
	return conn;
}

static void
nc_wait_remove(struct nc_wait *w, struct nc_conn *conn)
{
	struct nc_conn *prev = NULL, *c;

	for (c = w->head; c; prev = c, c = c->next_wait) {
		if (c != conn)
			continue;
		if (prev)
			prev->next_wait = c->next_wait;
		else
			w->head = c->next_wait;
		if (w->tail == c)
			w->tail = prev;
		sl_stat_add(&w->nb, (uint64_t)-1);
		conn->next_wait = NULL;
		conn->waiting = false;
		return;
	}
}

/* ---- putting lines ------------------------------------------------------ */

/*
 * Commit the open batch: its lines become OK replies (ack-every-event) or
 * accepted events; a commit lost to another producer fails them all.
 */
static void
nc_flush(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;
	struct sl_source_stats *st = &ns->base.stats;
	bool ok;
	unsigned i, nb = sl_fanout_flush(&ns->fo, &ok);

	if (nb == 0)
		return;
	conn->committed = true;
	if (ok) {
		sl_stat_add(&st->event_accepted_count, nb);
		if (ns->set.ack_every_event)
			for (i = 0; i < nb; i++)
				nc_reply(conn, "OK\n", 3);
		return;
	}
	sl_stat_add(&st->channel_write_fail, nb);
	if (ns->set.ack_every_event) {
		for (i = 0; i < nb; i++)
			nc_reply_failed(conn, -ENOSPC);
	} else {
		sl_stat_add(&st->drop[SL_DROP_CHANNEL_FULL], nb);
	}
}

/*
 * The framer's callback: one line of @conn. Returns 0 when the line is
 * decided (stored, or answered FAILED, or counted as dropped), or a
 * negative errno to pause the connection with the line kept.
 */
static int
nc_on_line(void *arg, const uint8_t *line, uint32_t len)
{
	struct nc_conn *conn = arg;
	struct nc_source *ns = conn->ns;
	struct sl_source_stats *st = &ns->base.stats;
	struct sl_event ev = { .body = line, .body_len = len };
	unsigned from = conn->ch_from;
	int rc;

	if (ns->set.ack_every_event &&
	    conn->out_len + NC_REPLY_MAX * (ns->fo.nb_evs + 2) >
	    NC_OUT_SIZE) {
		/* Each batched line may still become a FAILED reply. */
		nc_flush(conn);
		if (conn->out_len + 2 * NC_REPLY_MAX > NC_OUT_SIZE) {
			conn->pause = NC_PAUSE_OUT;
			return -ENOBUFS;
		}
	}
	rc = sl_fanout_batch_put(&ns->fo, &ev, &from);
	if (rc == 0)
		goto stored_in_batch;
	/* Not in the batch: commit the batch, then the line on its own. */
	nc_flush(conn);
	conn->ch_from = from;
	rc = sl_fanout_solo(&ns->fo, &ev, &from);
	conn->ch_from = from;
	if (rc == 0) {
		conn->committed = true;
		conn->ch_from = 0;
		conn->stalled = false;
		sl_stat_add(&st->event_received_count, 1);
		sl_stat_add(&st->event_accepted_count, 1);
		if (ns->set.ack_every_event)
			nc_reply(conn, "OK\n", 3);
		return 0;
	}
	if (rc == -EAGAIN || (!ns->set.ack_every_event && rc == -ENOSPC)) {
		/* Backpressure: keep the line, stop reading, retry later (a
		 * ring momentarily full is no failure: not counted). */
		if (!conn->stalled && rc == -ENOSPC)
			sl_stat_add(&st->channel_write_fail, 1);
		conn->stalled = true;
		conn->pause = NC_PAUSE_CHANNEL;
		return -EAGAIN;
	}
	/* Flume: the channel's exception becomes the reply. */
	sl_stat_add(&st->event_received_count, 1);
	sl_stat_add(&st->channel_write_fail, 1);
	if (ns->set.ack_every_event)
		nc_reply_failed(conn, rc);
	else
		sl_stat_add(&st->drop[rc == -ENOSPC ? SL_DROP_CHANNEL_FULL :
				      SL_DROP_CHANNEL_ERROR], 1);
	conn->ch_from = 0;
	return 0;

stored_in_batch:
	conn->ch_from = 0;
	conn->stalled = false;
	sl_stat_add(&st->event_received_count, 1);
	return 0;
}

static void nc_conn_close(struct nc_conn *conn);

/*
 * Feed @len bytes of @conn to its framer and commit what it framed.
 * Returns the bytes consumed; fewer than @len when the connection paused
 * or was closed for an over-long line.
 */
static size_t
nc_conn_feed(struct nc_conn *conn, const uint8_t *data, size_t len)
{
	struct nc_source *ns = conn->ns;
	uint32_t mark = conn->out_len;	/* replies before are acked */
	size_t used = 0;
	int rc;

	rc = sl_frame_line_feed(&conn->fr, data, len, &used, nc_on_line,
				conn);
	nc_flush(conn);
	if (rc == -EMSGSIZE) {
		char msg[NC_REPLY_MAX];

		sl_stat_add(&ns->base.stats.event_read_fail, 1);
		nc_reply(conn, msg, sl_nc_reply_too_long(msg, sizeof(msg),
			 (uint32_t)ns->set.max_line_length));
		nc_conn_close(conn);
	}
	if (conn->committed && ns->set.ack_every_event && ns->fo.any_ack_fd) {
		conn->committed = false;
		if (!sl_fanout_acked(&ns->fo, ns->fo.tickets)) {
			memcpy(conn->tickets, ns->fo.tickets,
			       sizeof(conn->tickets));
			if (conn->pause == NC_PAUSE_NONE ||
			    conn->pause == NC_PAUSE_OUT ||
			    conn->pause == NC_PAUSE_CHANNEL) {
				/* The ack wait covers the OUT wait too, and a
				 * ring momentarily full (-EAGAIN): the writer
				 * drains it before it acks; meanwhile the OKs
				 * queued must not go out. */
				conn->pause = NC_PAUSE_ACK;
				conn->out_mark = mark;
				if (!nc_ack_failed(conn))
					nc_wait_add(&ns->ack_wait, conn);
			}
		}
	}
	conn->committed = false;
	if (conn->pause == NC_PAUSE_CHANNEL && !conn->waiting) {
		if (!ns->chan_wait.head) {
			/* A fresh stall: look again soon (nc_retry). */
			ns->retry_ns = NC_RETRY_MIN_NS;
			ns->next_retry = sl_time_mono_ns() + NC_RETRY_MIN_NS;
		}
		nc_wait_add(&ns->chan_wait, conn);
	}
	nc_send_kick(conn);
	return used;
}

/*
 * Keep @len bytes the connection could not consume yet. The buffer grows
 * by doubling (a paused connection holds one receive after another, and
 * growing it by each of them made every hold a realloc: for a large
 * buffer an mremap, whose TLB shootdown interrupts the other core too),
 * and outlives the hold while the source's held buffers total at most
 * NC_HOLD_KEEP (a fresh mmap'd buffer per pause faulted in every page).
 */
static int
nc_conn_hold(struct nc_conn *conn, const uint8_t *data, size_t len)
{
	uint32_t keep = conn->held_len - conn->held_off;
	size_t need = (size_t)keep + len, cap = conn->held_cap;
	uint8_t *p;

	if (need > UINT32_MAX)
		return -ENOMEM;
	if (conn->held_off) {
		memmove(conn->held, conn->held + conn->held_off, keep);
		conn->held_off = 0;
		conn->held_len = keep;
	}
	if (need > cap) {
		cap = SL_MAX(cap * 2, (size_t)NC_HOLD_MIN);
		while (cap < need)
			cap *= 2;
		cap = SL_MIN(cap, (size_t)UINT32_MAX);
		p = realloc(conn->held, cap);
		if (!p)
			return -ENOMEM;
		conn->ns->held_alloc += cap - conn->held_cap;
		conn->held = p;
		conn->held_cap = (uint32_t)cap;
	}
	memcpy(conn->held + keep, data, len);
	conn->held_len = (uint32_t)need;
	sl_stat_add(&conn->ns->held_bytes, len);
	return 0;
}

/* Nothing held any more; the buffer goes too with @release or when the
 * source keeps too much. */
static void
nc_conn_drop_held(struct nc_conn *conn, bool release)
{
	struct nc_source *ns = conn->ns;

	conn->held_len = conn->held_off = 0;
	if (!release && ns->held_alloc <= NC_HOLD_KEEP)
		return;
	ns->held_alloc -= conn->held_cap;
	free(conn->held);
	conn->held = NULL;
	conn->held_cap = 0;
}

static bool
nc_conn_holds(const struct nc_conn *conn)
{
	return conn->nb_chained || conn->held_len;
}

/* Chain provided buffer @bid, @len bytes received, to @conn from @off. */
static void
nc_conn_chain(struct nc_conn *conn, unsigned bid, uint32_t off, uint32_t len)
{
	struct nc_source *ns = conn->ns;

	ns->buf_len[bid] = len;
	if (conn->nb_chained++ == 0) {
		conn->chain_head = (uint16_t)bid;
		conn->chain_off = off;
	} else {
		ns->buf_next[conn->chain_tail] = (uint16_t)bid;
	}
	conn->chain_tail = (uint16_t)bid;
	ns->bufs_chained++;
	sl_stat_add(&ns->held_inplace_bytes, len - off);
}

/* The chain's head is consumed: hand its buffer back to the kernel. */
static void
nc_conn_unchain(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;
	unsigned bid = conn->chain_head;

	conn->chain_head = ns->buf_next[bid];
	conn->chain_off = 0;
	conn->nb_chained--;
	ns->bufs_chained--;
	sl_uring_bufs_recycle(&ns->bufs, bid);
}

/*
 * Keep [@off, @len) of a receive @conn could not consume: in its provided
 * buffer @bid when it has one and may (1: the buffer is the connection's
 * now), else a copy (0, or -ENOMEM).
 */
static int
nc_conn_keep(struct nc_conn *conn, bool has_buf, unsigned bid,
	     const uint8_t *data, size_t off, size_t len)
{
	if (has_buf && conn->held_len == 0 &&
	    conn->ns->bufs_chained < NC_BUFS_HOLD_MAX) {
		nc_conn_chain(conn, bid, (uint32_t)off, (uint32_t)len);
		return 1;
	}
	return nc_conn_hold(conn, data + off, len - off);
}

/*
 * Count the lines a closing connection never got to put: the source is
 * stopping, or the peer stopped taking its replies (a send failed).
 */
static int
nc_count_unsent(void *arg, const uint8_t *line, uint32_t len)
{
	struct nc_conn *conn = arg;

	sl_stat_add(&conn->ns->base.stats.drop[conn->send_failed &&
		    !conn->ns->stopping ? SL_DROP_PEER_GONE :
		    SL_DROP_SOURCE_STOPPED], 1);
	return 0;
}

/*
 * Feed bytes a closing connection will never put, only to count them: its
 * lines, and an over-long line as the source counts one (EventReadFail).
 * Returns the framer's result.
 */
static int
nc_count_feed(struct nc_conn *conn, const uint8_t *data, size_t len)
{
	size_t used;
	int rc = sl_frame_line_feed(&conn->fr, data, len, &used,
				    nc_count_unsent, conn);

	if (rc == -EMSGSIZE)
		sl_stat_add(&conn->ns->base.stats.event_read_fail, 1);
	return rc;
}

/* Drop what @conn holds; lines not yet put are counted, never silent. */
static void
nc_conn_discard_held(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;

	while (conn->nb_chained) {
		unsigned bid = conn->chain_head;

		if (!sl_frame_line_dead(&conn->fr))
			nc_count_feed(conn, sl_uring_bufs_at(&ns->bufs, bid) +
				      conn->chain_off,
				      ns->buf_len[bid] - conn->chain_off);
		nc_conn_unchain(conn);
	}
	if (conn->held_off < conn->held_len && !sl_frame_line_dead(&conn->fr))
		nc_count_feed(conn, conn->held + conn->held_off,
			      conn->held_len - conn->held_off);
	nc_conn_drop_held(conn, false);
}

static void nc_conn_try_free(struct nc_conn *conn);

/*
 * Run @conn forward: consume what it holds, and when nothing holds it
 * back, read again (or finish the stream at EOF).
 */
static void
nc_conn_run(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;

	while (conn->pause == NC_PAUSE_NONE && !conn->closing &&
	       conn->nb_chained) {
		unsigned bid = conn->chain_head;
		uint32_t left = ns->buf_len[bid] - conn->chain_off;
		size_t used = nc_conn_feed(conn,
					   sl_uring_bufs_at(&ns->bufs, bid) +
					   conn->chain_off, left);

		conn->chain_off += (uint32_t)used;
		if (used < left)
			break;		/* paused again, or closing */
		nc_conn_unchain(conn);
	}
	while (conn->pause == NC_PAUSE_NONE && !conn->closing &&
	       !conn->nb_chained && conn->held_off < conn->held_len) {
		size_t used = nc_conn_feed(conn, conn->held + conn->held_off,
					   conn->held_len - conn->held_off);

		conn->held_off += (uint32_t)used;
		if (used == 0)
			break;
	}
	if (conn->closing)
		nc_conn_discard_held(conn);
	else if (conn->held_len && conn->held_off == conn->held_len)
		nc_conn_drop_held(conn, false);
	if (conn->closing || conn->pause != NC_PAUSE_NONE ||
	    nc_conn_holds(conn))
		goto out;
	if (conn->eof || conn->stop_read) {
		sl_frame_line_finish(&conn->fr);
		nc_conn_close(conn);
	} else if (!conn->recv_armed) {
		nc_recv_arm(conn);
	}
out:
	nc_conn_try_free(conn);
}

static void
nc_conn_resume(struct nc_conn *conn)
{
	conn->pause = NC_PAUSE_NONE;
	nc_conn_run(conn);
}

/* ---- connection lifetime ------------------------------------------------ */

static void
nc_conn_close(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;

	if (conn->closing)
		return;
	conn->closing = true;
	if (conn->pause == NC_PAUSE_CHANNEL) {
		nc_wait_remove(&ns->chan_wait, conn);
		conn->pause = NC_PAUSE_NONE;
	}
	if (conn->pause == NC_PAUSE_OUT)
		conn->pause = NC_PAUSE_NONE;
	nc_recv_cancel(conn);
}

/*
 * Stopping: lines the kernel already holds for @conn will never be put;
 * read them (bounded, without blocking) only to count them. The reply
 * buffer is free by now and serves as scratch.
 */
static void
nc_conn_drain_kernel(struct nc_conn *conn)
{
	int i;

	for (i = 0; i < 1024; i++) {
		ssize_t n = recv(conn->fd, conn->out, sizeof(conn->out),
				 MSG_DONTWAIT);

		if (n <= 0)
			break;
		sl_stat_add(&conn->ns->base.stats.rx_bytes, (uint64_t)n);
		if (nc_count_feed(conn, conn->out, (size_t)n) < 0)
			break;
	}
}

/* Free @conn once nothing of it is in flight and its replies are out. */
static void
nc_conn_try_free(struct nc_conn *conn)
{
	struct nc_source *ns = conn->ns;
	struct sl_source_stats *st = &ns->base.stats;

	if (!conn->closing || conn->recv_armed || conn->send_inflight ||
	    conn->pause == NC_PAUSE_ACK)
		return;
	if ((conn->out_len || conn->owed) && !conn->send_failed) {
		nc_owed_push(conn);
		nc_send_kick(conn);
		return;
	}
	nc_conn_discard_held(conn);
	if (ns->stopping && !sl_frame_line_dead(&conn->fr))
		nc_conn_drain_kernel(conn);
	sl_frame_line_finish(&conn->fr);	/* counts a tail left at stop */
	close(conn->fd);
	ns->conns[conn->idx] = NULL;
	ns->free_idx[ns->nb_free++] = conn->idx;
	ns->nb_conns--;
	sl_stat_add(&st->open_connection_count, (uint64_t)-1);
	sl_stat_add(&st->connections_closed, 1);
	free(conn->rbuf);
	nc_conn_drop_held(conn, true);
	nc_owed_free(conn);
	free(conn);
}

static void
nc_conn_new(struct nc_source *ns, int fd, uint64_t now)
{
	struct sl_source_stats *st = &ns->base.stats;
	size_t fbuf = sl_frame_line_buf_size((uint32_t)ns->set.max_line_length,
					     ns->units);
	struct nc_conn *conn;
	uint64_t sup;

	if (ns->stopping) {
		close(fd);	/* accepted just before the listener stopped */
		return;
	}
	if (ns->nb_free == 0) {
		sl_stat_add(&st->drop[SL_DROP_CONN_LIMIT], 1);
		if (sl_log_ratelimit_ok(&ns->rl_limit, now,
					NC_LOG_INTERVAL_NS, &sup))
			sl_log(SL_WARN, "source netcat %s: max-connections "
			       "(%lld) reached, closing new connections "
			       "(%llu more suppressed)", ns->base.name,
			       (long long)ns->set.max_connections,
			       (unsigned long long)sup);
		close(fd);
		return;
	}
	conn = calloc(1, sizeof(*conn) + fbuf);
	if (conn && ns->mode == NC_RECV_PLAIN) {
		conn->rbuf = malloc(NC_PLAIN_BUF_SIZE);
		if (!conn->rbuf) {
			free(conn);
			conn = NULL;
		}
	}
	if (!conn) {
		sl_stat_add(&st->generic_processing_fail, 1);
		close(fd);
		return;
	}
	conn->ns = ns;
	conn->fd = fd;
	conn->idx = ns->free_idx[--ns->nb_free];
	conn->gen = ++ns->gen;
	sl_frame_line_init(&conn->fr, conn->frame_buf,
			   (uint32_t)ns->set.max_line_length, ns->units,
			   st->drop);
	ns->conns[conn->idx] = conn;
	ns->nb_conns++;
	sl_stat_add(&st->connections_accepted, 1);
	sl_stat_add(&st->open_connection_count, 1);
	nc_recv_arm(conn);
}

/* ---- completions -------------------------------------------------------- */

static void
nc_on_accept(struct nc_source *ns, const struct io_uring_cqe *cqe,
	     uint64_t now)
{
	uint64_t sup;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		ns->accept_armed = false;
	if (cqe->res >= 0) {
		nc_conn_new(ns, cqe->res, now);
	} else if (cqe->res == -EINVAL && ns->accept_multishot) {
		ns->accept_multishot = false;	/* an older kernel */
	} else if (cqe->res != -ECANCELED && cqe->res != -EINTR &&
		   cqe->res != -ECONNABORTED) {
		if (sl_log_ratelimit_ok(&ns->rl_accept, now,
					NC_LOG_INTERVAL_NS, &sup))
			sl_log(SL_WARN, "source netcat %s: accept: %s (%llu "
			       "more suppressed)", ns->base.name,
			       strerror(-cqe->res), (unsigned long long)sup);
		/* Out of fds: retry later instead of spinning. */
		if (!ns->accept_armed)
			ns->accept_retry_at = now + NC_ACCEPT_RETRY_NS;
	}
	if (!ns->accept_armed && !ns->stopping && !ns->accept_retry_at)
		nc_accept_arm(ns);
}

static void
nc_on_recv(struct nc_source *ns, const struct io_uring_cqe *cqe)
{
	struct nc_conn *conn = ns->conns[nc_ud_idx(cqe->user_data)];
	bool has_buf = cqe->flags & IORING_CQE_F_BUFFER;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	const uint8_t *data = NULL;
	int res = cqe->res, kept = 0;

	if (SL_UNLIKELY(!conn || conn->gen != (uint32_t)cqe->user_data)) {
		/* Cannot happen (a connection outlives its requests); never
		 * crash on it, never lose the buffer. */
		sl_stat_add(&ns->base.stats.generic_processing_fail, 1);
		if (has_buf)
			sl_uring_bufs_recycle(&ns->bufs, bid);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		conn->recv_armed = false;
	if (has_buf)
		data = sl_uring_bufs_at(&ns->bufs, bid);
	else if (ns->mode == NC_RECV_PLAIN)
		data = conn->rbuf;
	if (res > 0 && data) {
		sl_stat_add(&ns->base.stats.rx_bytes, (uint64_t)res);
		if (conn->closing) {
			/* Stopping, or the peer is gone: lines that arrive
			 * now are counted as not put; after an over-long line
			 * the framer is dead and the rest is not read. */
			if (!sl_frame_line_dead(&conn->fr))
				nc_count_feed(conn, data, (size_t)res);
		} else {
			size_t used = 0;

			if (!nc_conn_holds(conn) &&
			    conn->pause == NC_PAUSE_NONE)
				used = nc_conn_feed(conn, data, (size_t)res);
			if (used < (size_t)res && !conn->closing)
				kept = nc_conn_keep(conn, has_buf, bid, data,
						    used, (size_t)res);
			if (kept < 0) {
				sl_stat_add(&ns->base.stats.
					    generic_processing_fail, 1);
				nc_conn_close(conn);
			}
		}
	} else if (res == 0 || (res < 0 && res != -ENOBUFS &&
				res != -ECANCELED && res != -EINTR &&
				res != -EAGAIN && res != -EINVAL)) {
		/* EOF, or the peer is gone (reset): the stream has ended. */
		conn->eof = true;
	} else if (res == -EINVAL && ns->mode == NC_RECV_MULTISHOT) {
		ns->mode = NC_RECV_SELECT;	/* no multishot recv here */
		__atomic_store_n(&ns->mode_name, nc_mode_name(ns->mode),
				 __ATOMIC_RELAXED);
	}
	if (has_buf && kept <= 0)
		sl_uring_bufs_recycle(&ns->bufs, bid);
	if (conn->pause != NC_PAUSE_NONE || nc_conn_holds(conn))
		nc_recv_cancel(conn);
	if (conn->pause == NC_PAUSE_NONE && !conn->recv_armed)
		nc_conn_run(conn);
	else
		nc_conn_try_free(conn);
}

static void
nc_on_send(struct nc_source *ns, const struct io_uring_cqe *cqe)
{
	struct nc_conn *conn = ns->conns[nc_ud_idx(cqe->user_data)];

	if (SL_UNLIKELY(!conn || conn->gen != (uint32_t)cqe->user_data)) {
		sl_stat_add(&ns->base.stats.generic_processing_fail, 1);
		return;
	}
	conn->send_inflight = false;
	if (cqe->res < 0) {
		/* The peer is gone; its replies cannot be delivered. */
		conn->send_failed = true;
		conn->out_len = 0;
		nc_owed_free(conn);
		nc_conn_close(conn);
	} else {
		uint32_t n = (uint32_t)cqe->res;

		memmove(conn->out, conn->out + n, conn->out_len - n);
		conn->out_len -= n;
		conn->out_mark -= SL_MIN(n, conn->out_mark);
		nc_owed_push(conn);
		nc_send_kick(conn);	/* the tail of a short send */
	}
	if (conn->owed && !nc_owed_push(conn))
		return;		/* more FAILED replies to go first */
	if (conn->pause == NC_PAUSE_OUT)
		nc_conn_resume(conn);
	else
		nc_conn_try_free(conn);
}

static void
nc_on_ack(struct nc_source *ns)
{
	uint64_t n = ns->ack_wait.nb;
	struct nc_conn *conn;

	while (n-- > 0 && (conn = nc_wait_pop(&ns->ack_wait))) {
		if (nc_ack_failed(conn))
			continue;
		if (!sl_fanout_acked(&ns->fo, conn->tickets)) {
			nc_wait_add(&ns->ack_wait, conn);
			continue;
		}
		conn->pause = NC_PAUSE_NONE;
		nc_send_kick(conn);
		nc_conn_run(conn);
	}
}

/*
 * A retry round: connections paused on a full channel try again, oldest
 * first; the first one that finds the channel still full ends the round
 * (it went back to the tail), so a full channel costs one attempt a round.
 * Rounds run when the channel signals room (NC_OP_ROOMFD, see
 * nc_room_arm) and on a timer: only a safety net while the wakeup is
 * armed; for a channel without one the tick adapts, 50 us while rounds
 * make progress (a sink is draining, so room comes back fast), doubling up
 * to 1 ms while they do not (a stalled sink costs next to nothing).
 */
static void
nc_retry(struct nc_source *ns, uint64_t now)
{
	const uint64_t *received = &ns->base.stats.event_received_count;
	uint64_t n = ns->chan_wait.nb, before = *received;
	struct nc_conn *conn;

	while (n-- > 0 && (conn = nc_wait_pop(&ns->chan_wait))) {
		nc_conn_resume(conn);
		if (ns->chan_wait.tail == conn)
			break;
	}
	if (*received != before)
		ns->retry_ns = NC_RETRY_MIN_NS;
	else
		ns->retry_ns = SL_MIN(ns->retry_ns * 2, NC_RETRY_MAX_NS);
	if (ns->accept_retry_at && now >= ns->accept_retry_at) {
		ns->accept_retry_at = 0;
		if (!ns->accept_armed && !ns->stopping)
			nc_accept_arm(ns);
	}
	ns->next_retry = now + ns->retry_ns;
}

/*
 * Before sleeping with connections paused on a full channel: arm the room
 * wakeup of the channel the oldest of them waits for (a retry round starts
 * with it), so a take commit there signals us and the timer only stands
 * by. No syscall: arming sets a flag the consumer reads. When the channel
 * has room already, or no wakeup, the adaptive timer of nc_retry() runs.
 */
static void
nc_room_arm(struct nc_source *ns, uint64_t now)
{
	unsigned c = SL_MIN(ns->chan_wait.head->ch_from, ns->fo.nb - 1);

	if (ns->room_fds[c] < 0)
		return;
	if (!ns->room_armed[c]) {
		if (sl_channel_producer_room_arm(ns->fo.prods[c]) < 0)
			return;
		ns->room_armed[c] = true;
		ns->room_safety_at = now + NC_RETRY_SAFETY_NS;
	} else if (now >= ns->room_safety_at) {
		ns->room_safety_at = now + NC_RETRY_SAFETY_NS;	/* next tick */
	}
	/* A fixed deadline: a busy loop must not push the tick on forever. */
	ns->next_retry = SL_MAX(ns->next_retry, ns->room_safety_at);
}

/*
 * Stop: no new connections and no new reads. What a connection already
 * received is still put (a paused one keeps retrying) until the grace
 * period ends; then nc_count_left() counts the rest.
 */
static void
nc_begin_stop(struct nc_source *ns, uint64_t now)
{
	uint32_t i;

	ns->stopping = true;
	ns->stop_deadline = now + NC_STOP_GRACE_NS;
	if (ns->accept_armed) {
		struct io_uring_sqe *sqe = sl_uring_sqe(&ns->ring);

		io_uring_prep_cancel64(sqe, nc_ud(NC_OP_ACCEPT, 0, 0), 0);
		io_uring_sqe_set_data64(sqe, nc_ud(NC_OP_CANCEL, 0, 0));
	}
	for (i = 0; i < (uint32_t)ns->set.max_connections; i++) {
		struct nc_conn *conn = ns->conns[i];

		if (!conn)
			continue;
		conn->stop_read = true;
		nc_recv_cancel(conn);
		if (conn->pause == NC_PAUSE_NONE && !conn->recv_armed)
			nc_conn_run(conn);	/* may free conn */
	}
}

static void nc_conn_drain_kernel(struct nc_conn *conn);

/* The grace period is over: count what was received but not put. */
static void
nc_count_left(struct nc_source *ns)
{
	uint32_t i;

	for (i = 0; i < (uint32_t)ns->set.max_connections; i++) {
		struct nc_conn *conn = ns->conns[i];

		if (!conn)
			continue;
		nc_conn_discard_held(conn);
		/* The reply buffer is scratch only when no send reads it. */
		if (!conn->send_inflight && !sl_frame_line_dead(&conn->fr))
			nc_conn_drain_kernel(conn);
		sl_frame_line_finish(&conn->fr);
	}
}

static void
nc_handle_cqe(struct nc_source *ns, const struct io_uring_cqe *cqe,
	      uint64_t now)
{
	uint64_t ud = cqe->user_data;

	switch (nc_ud_op(ud)) {
	case NC_OP_ACCEPT:
		nc_on_accept(ns, cqe, now);
		break;
	case NC_OP_RECV:
		nc_on_recv(ns, cqe);
		break;
	case NC_OP_SEND:
		nc_on_send(ns, cqe);
		break;
	case NC_OP_WAKE:
		if (!sl_uring_thread_stopping(&ns->io))
			sl_uring_thread_wake_arm(&ns->ring, &ns->io, nc_ud(NC_OP_WAKE, 0, 0));
		break;
	case NC_OP_ACKFD: {
		unsigned c = nc_ud_idx(ud);
		uint64_t v;

		if (read(ns->fo.ack_fds[c], &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			sl_log(SL_WARN, "source netcat %s: ack eventfd: %s",
			       ns->base.name, strerror(errno));
		if (!(cqe->flags & IORING_CQE_F_MORE) && !ns->stopping)
			nc_ackfd_arm(ns, c);
		nc_on_ack(ns);
		break;
	}
	case NC_OP_ROOMFD: {
		unsigned c = nc_ud_idx(ud);
		uint64_t v;

		if (read(ns->room_fds[c], &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			sl_log(SL_WARN, "source netcat %s: room eventfd: %s",
			       ns->base.name, strerror(errno));
		if (!(cqe->flags & IORING_CQE_F_MORE) && !ns->stopping)
			nc_roomfd_arm(ns, c);
		/* The channel cleared our flag when it signalled. */
		ns->room_armed[c] = false;
		sl_stat_add(&ns->room_wakeups, 1);
		ns->next_retry = now;	/* a retry round in this turn */
		break;
	}
	case NC_OP_CANCEL:
		break;
	}
}

static void *
nc_thread_main(void *arg)
{
	struct nc_source *ns = arg;
	struct __kernel_timespec ts = { 0 };
	unsigned c;

	sl_uring_thread_wake_arm(&ns->ring, &ns->io, nc_ud(NC_OP_WAKE, 0, 0));
	for (c = 0; c < ns->fo.nb; c++) {
		if (ns->fo.ack_fds[c] >= 0)
			nc_ackfd_arm(ns, c);
		if (ns->room_fds[c] >= 0)
			nc_roomfd_arm(ns, c);
	}
	nc_accept_arm(ns);
	ns->retry_ns = NC_RETRY_MAX_NS;
	ns->next_retry = sl_time_mono_ns() + ns->retry_ns;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, nb = 0;
		bool timed = ns->chan_wait.nb || ns->accept_retry_at ||
			     ns->stopping;
		uint64_t now, wait_ns = ns->retry_ns;
		int rc;

		if (ns->chan_wait.nb) {
			now = sl_time_mono_ns();
			nc_room_arm(ns, now);
			wait_ns = ns->next_retry > now ?
				  ns->next_retry - now : 0;
		}
		ts.tv_sec = (long long)(wait_ns / SL_NS_PER_SEC);
		ts.tv_nsec = (long long)(wait_ns % SL_NS_PER_SEC);
		rc = io_uring_submit_and_wait_timeout(&ns->ring, &cqe, 1,
						      timed ? &ts : NULL,
						      NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
			sl_log(SL_ERROR, "source netcat %s: io_uring wait: %s",
			       ns->base.name, strerror(-rc));
		now = sl_time_mono_ns();
		io_uring_for_each_cqe(&ns->ring, head, cqe) {
			nc_handle_cqe(ns, cqe, now);
			nb++;
		}
		io_uring_cq_advance(&ns->ring, nb);
		if (now >= ns->next_retry)
			nc_retry(ns, now);
		if (!ns->stopping &&
		    sl_uring_thread_stopping(&ns->io))
			nc_begin_stop(ns, now);
		if (ns->stopping &&
		    (ns->nb_conns == 0 || now >= ns->stop_deadline))
			break;
	}
	if (ns->nb_conns) {
		sl_log(SL_WARN, "source netcat %s: %u connections still "
		       "busy at stop; closing them", ns->base.name,
		       ns->nb_conns);
		nc_count_left(ns);
	}
	return NULL;
}

/* ---- ops ---------------------------------------------------------------- */

static struct sl_source *
nc_create(const char *name, const void *settings,
	  struct sl_channel *const *chs, unsigned nb_chs, struct sl_err *err)
{
	const struct nc_settings *set = settings;
	struct nc_source *ns = calloc(1, sizeof(*ns));
	char who[128];
	uint32_t i;

	if (!ns)
		goto err_nomem;
	ns->base.ops = &sl_netcat_source_ops;
	ns->base.name = strdup(name);
	ns->set = *set;
	ns->set.bind = set->bind ? strdup(set->bind) : NULL;
	ns->set.encoding = NULL;
	ns->lfd = -1;
	ns->io.wake_fd = -1;
	if (!ns->base.name || (set->bind && !ns->set.bind))
		goto err_nomem;
	if (nc_encoding_units(set->encoding ? set->encoding : "utf-8",
			      &ns->units) < 0) {
		sl_err_set(err, EINVAL, "source netcat %s: encoding '%s' is "
			   "not supported", name, set->encoding);
		goto err_free;
	}
	ns->conns = calloc((size_t)set->max_connections, sizeof(*ns->conns));
	ns->free_idx = calloc((size_t)set->max_connections,
			      sizeof(*ns->free_idx));
	if (!ns->conns || !ns->free_idx)
		goto err_nomem;
	for (i = 0; i < (uint32_t)set->max_connections; i++)
		ns->free_idx[i] = (uint32_t)set->max_connections - 1 - i;
	ns->nb_free = (uint32_t)set->max_connections;
	snprintf(who, sizeof(who), "source netcat %s", name);
	if (sl_fanout_open(&ns->fo, chs, nb_chs, who, err) < 0)
		goto err_free;
	for (i = 0; i < ns->fo.nb; i++)
		ns->room_fds[i] = sl_channel_producer_room_fd(ns->fo.prods[i]);
	return &ns->base;

err_nomem:
	sl_err_set(err, ENOMEM, "source netcat %s: out of memory", name);
err_free:
	if (ns) {
		free(ns->conns);
		free(ns->free_idx);
		free(ns->set.bind);
		free(ns->base.name);
		free(ns);
	}
	return NULL;
}

static int
nc_listen(struct nc_source *ns, struct sl_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[16], host[INET6_ADDRSTRLEN] = "?";
	int fd = -1, one = 1, rc, saved = 0;

	snprintf(port, sizeof(port), "%lld", (long long)ns->set.port);
	rc = getaddrinfo(ns->set.bind, port, &hints, &res);
	if (rc != 0)
		return sl_err_set(err, EADDRNOTAVAIL, "source netcat %s: "
				  "bind %s: %s", ns->base.name, ns->set.bind,
				  gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* Flume sets SO_REUSEADDR on its server socket too. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 4096) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return sl_err_set(err, saved ? saved : EADDRNOTAVAIL,
				  "source netcat %s: cannot listen on %s:%lld:"
				  " %s", ns->base.name, ns->set.bind,
				  (long long)ns->set.port, strerror(saved));
	ns->lfd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		unsigned p = 0;

		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			p = ntohs(s4->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, host,
				  sizeof(host));
			p = ntohs(s6->sin6_port);
		}
		sl_log(SL_INFO, "source netcat %s: listening on %s port %u",
		       ns->base.name, host, p);
	}
	return 0;
}

static int
nc_start(struct sl_source *src, struct sl_err *err)
{
	struct nc_source *ns = (struct nc_source *)src;
	struct io_uring_params p = { 0 };
	const char *force = getenv("SLUICE_NETCAT_RECV");
	int rc;

	rc = nc_listen(ns, err);
	if (rc < 0)
		return rc;
	rc = sl_uring_thread_init(&ns->io);
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcat %s: eventfd: %s",
				  src->name, strerror(-rc));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
		  IORING_SETUP_COOP_TASKRUN;
	p.cq_entries = NC_RING_ENTRIES * 8;
	rc = io_uring_queue_init_params(NC_RING_ENTRIES, &ns->ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		rc = io_uring_queue_init_params(NC_RING_ENTRIES, &ns->ring,
						&p);
	}
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcat %s: io_uring: %s",
				  src->name, strerror(-rc));
	ns->ring_ok = true;
	/*
	 * Multishot recv into a provided-buffer ring (Linux 6.0) needs no
	 * buffer per idle connection; older kernels read one-shot.
	 * SLUICE_NETCAT_RECV=plain|select forces a fallback (tests).
	 */
	ns->mode = NC_RECV_MULTISHOT;
	ns->accept_multishot = true;
	if (force && strcmp(force, "select") == 0)
		ns->mode = NC_RECV_SELECT;
	if ((force && strcmp(force, "plain") == 0) ||
	    sl_uring_bufs_setup(&ns->ring, &ns->bufs, NC_NB_BUFS, NC_BUF_SIZE,
				NC_BGID) < 0) {
		ns->mode = NC_RECV_PLAIN;
		ns->accept_multishot = false;
	}
	__atomic_store_n(&ns->mode_name, nc_mode_name(ns->mode),
			 __ATOMIC_RELAXED);
	sl_log(SL_INFO, "source netcat %s: io_uring, %s recv, %s accept",
	       src->name, ns->mode_name,
	       ns->accept_multishot ? "multishot" : "one-shot");
	rc = sl_uring_thread_start(&ns->io, nc_thread_main, ns, src->name);
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcat %s: thread: %s",
				  src->name, strerror(-rc));
	return 0;
}

static void
nc_stop(struct sl_source *src)
{
	struct nc_source *ns = (struct nc_source *)src;
	char who[160];

	snprintf(who, sizeof(who), "source netcat %s", src->name);
	if (!sl_uring_thread_stop(&ns->io, who))
		return;
	sl_fanout_log_totals(&ns->base, "netcat");
	/* Like Flume, stop listening once the source has stopped. */
	close(ns->lfd);
	ns->lfd = -1;
}

static void
nc_destroy(struct sl_source *src)
{
	struct nc_source *ns = (struct nc_source *)src;
	uint32_t i;

	nc_stop(src);
	if (ns->ring_ok)
		io_uring_queue_exit(&ns->ring);
	for (i = 0; ns->conns && i < (uint32_t)ns->set.max_connections; i++) {
		struct nc_conn *conn = ns->conns[i];

		if (!conn)
			continue;
		close(conn->fd);
		free(conn->rbuf);
		free(conn->held);
		free(conn);
	}
	if (ns->lfd >= 0)
		close(ns->lfd);
	sl_uring_thread_fini(&ns->io);
	sl_uring_bufs_free(&ns->bufs);
	free(ns->conns);
	free(ns->free_idx);
	free(ns->set.bind);
	free(src->name);
	free(ns);
}

/* Backpressure at a glance: who is paused, and how the source reads. */
static void
nc_stats(const struct sl_source *src, struct sl_stats_sink *out)
{
	const struct nc_source *ns = (const struct nc_source *)src;
	const char *mode = __atomic_load_n(&ns->mode_name, __ATOMIC_RELAXED);

	out->put_u64(out, "conns_paused_channel_full",
		     sl_stat_read(&ns->chan_wait.nb), SL_STAT_GAUGE,
		     SL_STAT_SLUICE);
	out->put_u64(out, "conns_waiting_ack", sl_stat_read(&ns->ack_wait.nb),
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
	out->put_u64(out, "channel_room_wakeups",
		     sl_stat_read(&ns->room_wakeups), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	/* Read ahead of a full channel and held until it has room: in the
	 * receive buffers, or copied aside past NC_BUFS_HOLD_MAX of them. */
	out->put_u64(out, "held_inplace_bytes",
		     sl_stat_read(&ns->held_inplace_bytes), SL_STAT_COUNTER,
		     SL_STAT_SLUICE);
	out->put_u64(out, "held_bytes", sl_stat_read(&ns->held_bytes),
		     SL_STAT_COUNTER, SL_STAT_SLUICE);
	out->put_str(out, "recv_mode", mode ? mode : "not started",
		     SL_STAT_SLUICE);
	out->put_u64(out, "ring_depth_bytes", sl_fanout_depth(&ns->fo),
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
}

const struct sl_source_ops sl_netcat_source_ops = {
	.type = "netcat",
	.aliases = nc_aliases,
	.keys = nc_keys,
	.settings_size = sizeof(struct nc_settings),
	.validate = nc_validate,
	.create = nc_create,
	.start = nc_start,
	.stop = nc_stop,
	.destroy = nc_destroy,
	.stats = nc_stats,
};
