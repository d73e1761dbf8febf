/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's `netcatudp` source on io_uring: one event per datagram, the body
 * up to the first '\n', the sender as a header ("/ip:port", as Flume's
 * InetSocketAddress.toString() prints it). One I/O thread per source reads
 * with multishot recvmsg into a provided-buffer ring (one-shot recvmsg on
 * kernels without it) and puts each reaped round of datagrams into every
 * wired channel in one batch (fanout.c). UDP has no backpressure: a full
 * channel is a counted drop; so is every datagram the kernel dropped on the
 * socket (drop_socket_overflow: the socket's own total, kept current by a
 * timer). Created and started on the control thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fanout_int.h"
#include "sl_log.h"
#include "sl_source.h"
#include "sl_time.h"
#include "uring_io.h"

#define NU_RING_ENTRIES		256
#define NU_NB_BUFS		64u		/* power of two */
#define NU_BGID			9
/* Room for SO_RXQ_OVFL: the kernel's count of datagrams it dropped. */
#define NU_CTRL_LEN		CMSG_SPACE(sizeof(uint32_t))
#define NU_HDR_ROOM		(sizeof(struct io_uring_recvmsg_out) + \
				 sizeof(struct sockaddr_storage) + NU_CTRL_LEN)
#define NU_ADDR_MAX		(INET6_ADDRSTRLEN + 32)
/* How often the I/O thread reads the socket's drop total (SO_MEMINFO). */
#define NU_DROPS_PERIOD_NS	(100 * SL_NS_PER_MS)

enum nu_op {
	NU_OP_RECV = 1,
	NU_OP_WAKE,
	NU_OP_CANCEL,
};

struct nu_settings {
	char *bind;
	int64_t port;
	char *header;
	int64_t max_size;
};

struct nu_source {
	struct sl_source base;
	struct nu_settings set;
	struct sl_fanout fo;

	struct io_uring ring;
	bool ring_ok;
	bool multishot;
	struct sl_uring_bufs bufs;
	uint8_t *plain;		/* one-shot fallback buffer */
	struct msghdr msg;	/* template: name and control lengths */
	struct sockaddr_storage plain_name;
	uint64_t plain_ctrl[(NU_CTRL_LEN + 7) / 8];
	uint32_t ovfl_seen;	/* the kernel's cumulative drop count */
	uint64_t drops_at;	/* when SO_MEMINFO was last read */
	uint64_t nobufs;	/* multishot ends: the buffer ring ran dry */
	struct iovec plain_iov;
	int fd;
	bool recv_armed;

	struct sl_uring_thread io;
};

#define NU_OFF(f) offsetof(struct nu_settings, f)

static const struct sl_key nu_keys[] = {
	{ "bind", SL_KEY_STR, "0.0.0.0", NU_OFF(bind),
	  .help = "host name or IP address to listen on" },
	{ "port", SL_KEY_INT, NULL, NU_OFF(port), 0, 65535, .required = true,
	  .help = "UDP port to listen on (0: any free port, logged)" },
	{ "remoteAddressHeader", SL_KEY_STR, "REMOTE_ADDRESS",
	  NU_OFF(header), .help = "header that carries the sender as "
	  "/ip:port (Flume's default name)" },
	{ "remoteAddress", SL_KEY_STR, NULL, NU_OFF(header),
	  .alias_of = "remoteAddressHeader",
	  .help = "the name Flume's code reads for remoteAddressHeader" },
	{ "max-datagram-size", SL_KEY_INT, "65536", NU_OFF(max_size),
	  1, 65536, .help = "sluice: largest datagram taken whole (Flume: "
	  "64k); a larger one is dropped and counted" },
	SL_KEY_END,
};

static const char *const nu_aliases[] = {
	"org.apache.flume.source.NetcatUdpSource",
	NULL,
};

static int
nu_validate(const void *settings, const struct sl_props *props,
	    struct sl_diag *diag)
{
	return sl_fanout_selector_validate(props, diag);
}

static inline uint64_t
nu_ud(enum nu_op op)
{
	return (uint64_t)op;
}

static void
nu_recv_arm(struct nu_source *nu)
{
	struct io_uring_sqe *sqe = sl_uring_sqe(&nu->ring);

	if (nu->multishot) {
		io_uring_prep_recvmsg_multishot(sqe, nu->fd, &nu->msg, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = NU_BGID;
	} else {
		nu->msg.msg_name = &nu->plain_name;
		nu->msg.msg_namelen = sizeof(nu->plain_name);
		nu->msg.msg_control = nu->plain_ctrl;
		nu->msg.msg_controllen = sizeof(nu->plain_ctrl);
		nu->msg.msg_iov = &nu->plain_iov;
		nu->msg.msg_iovlen = 1;
		io_uring_prep_recvmsg(sqe, nu->fd, &nu->msg, 0);
	}
	io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_RECV));
	nu->recv_armed = true;
}

/*
 * "/ip:port" as Java prints the sender's InetSocketAddress: dotted quad for
 * IPv4 (and IPv4-mapped IPv6), eight uncompressed hex groups for IPv6
 * (Inet6Address.getHostAddress()), "%scope" when there is one.
 */
static uint16_t
nu_format_addr(const struct sockaddr *sa, socklen_t len, char *out)
{
	char host[INET6_ADDRSTRLEN + 16] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const uint8_t *a = s6->sin6_addr.s6_addr;
		int n = 0, i;

		port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, a + 12, host, sizeof(host));
		} else {
			for (i = 0; i < 16; i += 2)
				n += snprintf(host + n, sizeof(host) - (size_t)n,
					      "%s%x", i ? ":" : "",
					      (unsigned)(a[i] << 8 | a[i + 1]));
			if (s6->sin6_scope_id)
				snprintf(host + n, sizeof(host) - (size_t)n,
					 "%%%u", (unsigned)s6->sin6_scope_id);
		}
	}
	return (uint16_t)snprintf(out, NU_ADDR_MAX, "/%s:%u", host, port);
}

/* Commit the round's batch; a commit lost to another producer is counted. */
static void
nu_flush(struct nu_source *nu)
{
	struct sl_source_stats *st = &nu->base.stats;
	bool ok;
	unsigned nb = sl_fanout_flush(&nu->fo, &ok);

	if (nb == 0)
		return;
	if (ok) {
		sl_stat_add(&st->event_accepted_count, nb);
		return;
	}
	sl_stat_add(&st->channel_write_fail, nb);
	sl_stat_add(&st->drop[SL_DROP_CHANNEL_FULL], nb);
}

/*
 * drop_socket_overflow is the socket's drop total (sk_drops: what
 * SO_MEMINFO's SK_MEMINFO_DROPS, SO_RXQ_OVFL and the last column of
 * /proc/net/udp all report), counted from the socket's creation. Readings
 * arrive out of order (a datagram's SO_RXQ_OVFL is the total when it was
 * queued, maybe before an SO_MEMINFO read), so only a newer total counts.
 */
static void
nu_drops_update(struct nu_source *nu, uint32_t total)
{
	/* Modulo 2^32, as sk_drops wraps. */
	int32_t delta = (int32_t)(total - nu->ovfl_seen);

	if (delta <= 0)
		return;
	nu->ovfl_seen = total;
	sl_stat_add(&nu->base.stats.drop[SL_DROP_SOCKET_OVERFLOW],
		    (uint64_t)delta);
}

/* SO_RXQ_OVFL: the total when this datagram was queued (no syscall). */
static void
nu_overflow(struct nu_source *nu, const struct cmsghdr *cm)
{
	uint32_t v;

	if (!cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SO_RXQ_OVFL ||
	    cm->cmsg_len < CMSG_LEN(sizeof(uint32_t)))
		return;
	memcpy(&v, CMSG_DATA(cm), sizeof(v));
	nu_drops_update(nu, v);
}

/*
 * SO_RXQ_OVFL only tells drops with a datagram queued after them: those
 * at the end of a burst would wait for the next datagram. The socket's
 * total (SO_MEMINFO), read on a timer and at stop, counts them.
 */
static void
nu_drops_read(struct nu_source *nu)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	nu->drops_at = sl_time_mono_ns();
	if (getsockopt(nu->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
	    len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1))
		return;
	nu_drops_update(nu, mi[SK_MEMINFO_DROPS]);
}

/* One datagram: an event into the open batch, or a counted drop. */
static void
nu_datagram(struct nu_source *nu, const uint8_t *data, uint32_t len,
	    bool truncated, const struct sockaddr *sa, socklen_t salen)
{
	struct sl_source_stats *st = &nu->base.stats;
	char addr[NU_ADDR_MAX];
	const uint8_t *nl;
	struct sl_event ev = { 0 };
	unsigned from = 0;
	int rc;

	sl_stat_add(&st->rx_bytes, len);
	if (truncated || len > (uint64_t)nu->set.max_size) {
		sl_stat_add(&st->drop[SL_DROP_DGRAM_TRUNCATED], 1);
		sl_stat_add(&st->event_read_fail, 1);
		return;
	}
	nl = memchr(data, '\n', len);
	ev.body = data;
	ev.body_len = nl ? (uint32_t)(nl - data) : len;
	ev.nb_headers = 1;
	ev.hdrs[0].key = nu->set.header;
	ev.hdrs[0].key_len = (uint16_t)strlen(nu->set.header);
	ev.hdrs[0].val = addr;
	ev.hdrs[0].val_len = nu_format_addr(sa, salen, addr);
	sl_stat_add(&st->event_received_count, 1);
	if (sl_fanout_batch_put(&nu->fo, &ev, &from) == 0)
		return;
	/* Not in the batch: commit it, then this datagram on its own. */
	nu_flush(nu);
	rc = sl_fanout_solo(&nu->fo, &ev, &from);
	if (rc == 0) {
		sl_stat_add(&st->event_accepted_count, 1);
		return;
	}
	sl_stat_add(&st->channel_write_fail, 1);
	sl_stat_add(&st->drop[rc == -ENOSPC || rc == -EAGAIN ?
			      SL_DROP_CHANNEL_FULL :
			      SL_DROP_CHANNEL_ERROR], 1);
}

static void
nu_on_recv(struct nu_source *nu, const struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		nu->recv_armed = false;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		uint8_t *buf = sl_uring_bufs_at(&nu->bufs, bid);
		struct io_uring_recvmsg_out *o;

		o = io_uring_recvmsg_validate(buf, cqe->res, &nu->msg);
		if (o) {
			struct cmsghdr *cm;

			for (cm = io_uring_recvmsg_cmsg_firsthdr(o, &nu->msg);
			     cm; cm = io_uring_recvmsg_cmsg_nexthdr(o,
							&nu->msg, cm))
				nu_overflow(nu, cm);
		}
		if (o)
			nu_datagram(nu, io_uring_recvmsg_payload(o, &nu->msg),
				    io_uring_recvmsg_payload_length(o,
					cqe->res, &nu->msg),
				    o->flags & MSG_TRUNC,
				    io_uring_recvmsg_name(o),
				    (socklen_t)o->namelen);
		else if (cqe->res >= 0)
			sl_stat_add(&nu->base.stats.drop[SL_DROP_MALFORMED],
				    1);
		sl_uring_bufs_recycle(&nu->bufs, bid);
	} else if (cqe->res >= 0 && !nu->multishot) {
		struct cmsghdr *cm;

		for (cm = CMSG_FIRSTHDR(&nu->msg); cm;
		     cm = CMSG_NXTHDR(&nu->msg, cm))
			nu_overflow(nu, cm);
		nu_datagram(nu, nu->plain, (uint32_t)cqe->res,
			    nu->msg.msg_flags & MSG_TRUNC,
			    (const struct sockaddr *)&nu->plain_name,
			    nu->msg.msg_namelen);
	} else if (cqe->res == -EINVAL && nu->multishot) {
		nu->multishot = false;	/* an older kernel: one-shot */
	} else if (cqe->res == -ENOBUFS) {
		/*
		 * Every provided buffer was in use: the kernel picks the
		 * buffer before it reads, so the datagram stays queued in
		 * the socket (or, if the socket fills meanwhile, is a
		 * kernel drop, counted above). Re-armed after this round.
		 */
		nu->nobufs++;
	}
}

/*
 * Stop: the datagrams the kernel already completed into our buffers are
 * put; those still waiting in the socket buffer are counted
 * (drop_source_stopped), never silently lost.
 */
static void
nu_finish(struct nu_source *nu)
{
	struct io_uring_sqe *sqe;
	char b;
	int i;

	if (nu->recv_armed) {
		sqe = sl_uring_sqe(&nu->ring);
		io_uring_prep_cancel64(sqe, nu_ud(NU_OP_RECV), 0);
		io_uring_sqe_set_data64(sqe, nu_ud(NU_OP_CANCEL));
	}
	while (nu->recv_armed) {
		struct io_uring_cqe *cqe;
		unsigned head, nb = 0;

		if (io_uring_submit_and_wait(&nu->ring, 1) < 0)
			break;
		io_uring_for_each_cqe(&nu->ring, head, cqe) {
			if (cqe->user_data == nu_ud(NU_OP_RECV))
				nu_on_recv(nu, cqe);
			nb++;
		}
		io_uring_cq_advance(&nu->ring, nb);
	}
	nu_flush(nu);
	for (i = 0; i < 1 << 20; i++) {
		uint64_t ctrl[(NU_CTRL_LEN + 7) / 8];
		struct iovec iov = { .iov_base = &b, .iov_len = 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctrl,
				    .msg_controllen = sizeof(ctrl) };
		struct cmsghdr *cm;
		ssize_t n = recvmsg(nu->fd, &m, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0)
			break;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			nu_overflow(nu, cm);
		sl_stat_add(&nu->base.stats.rx_bytes, (uint64_t)n);
		sl_stat_add(&nu->base.stats.drop[SL_DROP_SOURCE_STOPPED], 1);
	}
	nu_drops_read(nu);
	if (nu->nobufs)
		sl_log(SL_INFO, "source netcatudp %s: the multishot recvmsg "
		       "ran out of its %u buffers %llu times and was re-armed "
		       "(the datagrams waited in the socket)", nu->base.name,
		       NU_NB_BUFS, (unsigned long long)nu->nobufs);
}

static void *
nu_thread_main(void *arg)
{
	struct nu_source *nu = arg;

	sl_uring_thread_wake_arm(&nu->ring, &nu->io, nu_ud(NU_OP_WAKE));
	nu_recv_arm(nu);
	nu->drops_at = sl_time_mono_ns();
	while (!sl_uring_thread_stopping(&nu->io)) {
		struct __kernel_timespec ts = {
			.tv_nsec = (long long)NU_DROPS_PERIOD_NS };
		struct io_uring_cqe *cqe;
		unsigned head, nb = 0;
		int rc;

		/* The wait's timeout is the drop-count timer. */
		rc = io_uring_submit_and_wait_timeout(&nu->ring, &cqe, 1, &ts,
						      NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
			sl_log(SL_ERROR, "source netcatudp %s: io_uring wait: "
			       "%s", nu->base.name, strerror(-rc));
		io_uring_for_each_cqe(&nu->ring, head, cqe) {
			if (cqe->user_data == nu_ud(NU_OP_RECV))
				nu_on_recv(nu, cqe);
			nb++;
		}
		io_uring_cq_advance(&nu->ring, nb);
		/* One put transaction per reaped round of datagrams. */
		nu_flush(nu);
		if (!nu->recv_armed)
			nu_recv_arm(nu);
		if (sl_time_mono_ns() - nu->drops_at >= NU_DROPS_PERIOD_NS)
			nu_drops_read(nu);
	}
	nu_finish(nu);
	return NULL;
}

static struct sl_source *
nu_create(const char *name, const void *settings,
	  struct sl_channel *const *chs, unsigned nb_chs, struct sl_err *err)
{
	const struct nu_settings *set = settings;
	struct nu_source *nu = calloc(1, sizeof(*nu));
	char who[128];

	if (!nu)
		goto err_nomem;
	nu->base.ops = &sl_netcatudp_source_ops;
	nu->base.name = strdup(name);
	nu->set = *set;
	nu->set.bind = strdup(set->bind ? set->bind : "0.0.0.0");
	nu->set.header = strdup(set->header ? set->header :
				"REMOTE_ADDRESS");
	nu->fd = -1;
	nu->io.wake_fd = -1;
	if (!nu->base.name || !nu->set.bind || !nu->set.header)
		goto err_nomem;
	if (strlen(nu->set.header) > UINT16_MAX) {
		sl_err_set(err, EINVAL, "source netcatudp %s: "
			   "remoteAddressHeader is too long", name);
		goto err_free;
	}
	snprintf(who, sizeof(who), "source netcatudp %s", name);
	if (sl_fanout_open(&nu->fo, chs, nb_chs, who, err) < 0)
		goto err_free;
	return &nu->base;

err_nomem:
	sl_err_set(err, ENOMEM, "source netcatudp %s: out of memory", name);
err_free:
	if (nu) {
		free(nu->set.bind);
		free(nu->set.header);
		free(nu->base.name);
		free(nu);
	}
	return NULL;
}

static int
nu_bind(struct nu_source *nu, struct sl_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[16], addr[NU_ADDR_MAX];
	int fd = -1, rc, saved = 0, rcvbuf = 4 << 20, one = 1;

	snprintf(port, sizeof(port), "%lld", (long long)nu->set.port);
	rc = getaddrinfo(nu->set.bind, port, &hints, &res);
	if (rc != 0)
		return sl_err_set(err, EADDRNOTAVAIL, "source netcatudp %s: "
				  "bind %s: %s", nu->base.name, nu->set.bind,
				  gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return sl_err_set(err, saved ? saved : EADDRNOTAVAIL,
				  "source netcatudp %s: cannot bind %s:%lld: %s",
				  nu->base.name, nu->set.bind,
				  (long long)nu->set.port, strerror(saved));
	/* Bursts wait in the kernel while the thread commits a batch; what
	 * the kernel still drops, it tells us (SO_RXQ_OVFL, SO_MEMINFO). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	nu->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		nu_format_addr((struct sockaddr *)&ss, sl, addr);
		sl_log(SL_INFO, "source netcatudp %s: listening on %s",
		       nu->base.name, addr + 1);
	}
	return 0;
}

static int
nu_start(struct sl_source *src, struct sl_err *err)
{
	struct nu_source *nu = (struct nu_source *)src;
	const char *force = getenv("SLUICE_NETCAT_RECV");
	int rc;

	rc = nu_bind(nu, err);
	if (rc < 0)
		return rc;
	rc = sl_uring_thread_init(&nu->io);
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcatudp %s: eventfd: "
				  "%s", src->name, strerror(-rc));
	rc = io_uring_queue_init(NU_RING_ENTRIES, &nu->ring, 0);
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcatudp %s: io_uring: "
				  "%s", src->name, strerror(-rc));
	nu->ring_ok = true;
	/*
	 * One byte more than max-datagram-size, so a larger datagram shows
	 * as MSG_TRUNC or as an over-size length, never as a silent cut.
	 */
	nu->msg.msg_namelen = sizeof(struct sockaddr_storage);
	nu->msg.msg_controllen = NU_CTRL_LEN;
	nu->multishot = !(force && strcmp(force, "plain") == 0) &&
			sl_uring_bufs_setup(&nu->ring, &nu->bufs, NU_NB_BUFS,
				SL_ALIGN_UP(NU_HDR_ROOM +
					    (size_t)nu->set.max_size + 1,
					    (size_t)SL_CACHE_LINE),
				NU_BGID) == 0;
	if (!nu->multishot) {
		nu->plain = malloc((size_t)nu->set.max_size + 1);
		if (!nu->plain)
			return sl_err_set(err, ENOMEM, "source netcatudp %s: "
					  "out of memory", src->name);
		nu->plain_iov.iov_base = nu->plain;
		nu->plain_iov.iov_len = (size_t)nu->set.max_size + 1;
	}
	sl_log(SL_INFO, "source netcatudp %s: io_uring, %s recvmsg",
	       src->name, nu->multishot ? "multishot" : "plain");
	rc = sl_uring_thread_start(&nu->io, nu_thread_main, nu, src->name);
	if (rc < 0)
		return sl_err_set(err, -rc, "source netcatudp %s: thread: %s",
				  src->name, strerror(-rc));
	return 0;
}

static void
nu_stop(struct sl_source *src)
{
	struct nu_source *nu = (struct nu_source *)src;
	char who[160];

	snprintf(who, sizeof(who), "source netcatudp %s", src->name);
	if (!sl_uring_thread_stop(&nu->io, who))
		return;
	close(nu->fd);
	nu->fd = -1;
	sl_fanout_log_totals(&nu->base, "netcatudp");
}

static void
nu_destroy(struct sl_source *src)
{
	struct nu_source *nu = (struct nu_source *)src;

	nu_stop(src);
	if (nu->ring_ok)
		io_uring_queue_exit(&nu->ring);
	if (nu->fd >= 0)
		close(nu->fd);
	sl_uring_thread_fini(&nu->io);
	sl_uring_bufs_free(&nu->bufs);
	free(nu->plain);
	free(nu->set.bind);
	free(nu->set.header);
	free(src->name);
	free(nu);
}

/* Bytes of this source in its channels' rings, not yet released. */
static void
nu_stats(const struct sl_source *src, struct sl_stats_sink *out)
{
	const struct nu_source *nu = (const struct nu_source *)src;

	out->put_u64(out, "ring_depth_bytes", sl_fanout_depth(&nu->fo),
		     SL_STAT_GAUGE, SL_STAT_SLUICE);
}

const struct sl_source_ops sl_netcatudp_source_ops = {
	.type = "netcatudp",
	.aliases = nu_aliases,
	.keys = nu_keys,
	.settings_size = sizeof(struct nu_settings),
	.validate = nu_validate,
	.create = nu_create,
	.start = nu_start,
	.stop = nu_stop,
	.destroy = nu_destroy,
	.stats = nu_stats,
};
