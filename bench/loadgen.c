/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen: a TCP/UDP load generator for sluice's sources. Sends N records
 * of S bytes ('\n'-terminated lines) over C connections from one epoll
 * thread, optionally paced (--rate), optionally stamped with a per-record
 * sequence number and send time (--seq), optionally reading netcat's OK
 * replies (--wait-ok, with ack latency percentiles). Prints one result
 * line. Used by bench/run and by tests; bounded by --timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define LG_BATCH_BYTES	(128 * 1024)	/* bytes queued per fill */
#define LG_UDP_BURST	64		/* datagrams per sendmmsg */
#define LG_LINGER_NS	(10 * SL_NS_PER_SEC)

#define LG_CC_NAME_MAX	16	/* the kernel's TCP_CA_NAME_MAX */

struct lg_opts {
	const char *host;
	const char *port;
	const char *name;
	uint64_t records;
	uint64_t size;
	uint64_t conns;
	uint64_t rate;		/* records/s over all connections; 0: max */
	uint64_t timeout_s;
	bool udp;
	bool seq;
	bool wait_ok;
	bool sendfile;
	bool quiet;
	const char *congestion;	/* TCP congestion control; NULL: system's */
};

struct lg_conn {
	int fd;
	uint32_t id;
	uint64_t nb_records;	/* this connection's share */
	uint64_t nb_queued;	/* records put into buf so far */
	uint64_t bytes_total;	/* nb_records * size */
	uint64_t bytes_sent;
	const char *buf;	/* pending bytes: template or own */
	char *own;		/* per-connection buffer (--seq) */
	size_t len, off;
	bool connected;
	bool writable;
	bool finished;		/* all written (and acked with --wait-ok) */
	bool eof;		/* the peer closed */
	uint64_t nb_ok, nb_failed;
	bool line_start;	/* reply parser: at the start of a line */
	uint64_t *sent_ns;	/* --wait-ok: monotonic queue time per record */
};

struct lg {
	struct lg_opts o;
	struct lg_conn *conns;
	int ep;
	char *tmpl;		/* LG batch of identical records */
	int tmpl_fd;		/* --sendfile: tmpl in a memfd; -1 */
	size_t tmpl_records;
	uint64_t t0;		/* monotonic, first send */
	uint64_t t0_wall;
	uint64_t t_done;	/* monotonic, last record written / acked */
	uint64_t t_done_wall;
	char cc[LG_CC_NAME_MAX];	/* the connections' congestion control */
	uint64_t nb_queued;	/* over all connections (pacing) */
	uint64_t nb_finished;
	uint64_t *lat;		/* ack latencies, ns */
	size_t nb_lat;
	uint64_t send_errors;
};

static volatile sig_atomic_t lg_interrupted;

static void
lg_on_signal(int sig)
{
	(void)sig;
	lg_interrupted = 1;
}

static void
lg_usage(FILE *out)
{
	fputs("usage: loadgen --host H --port P --records N --size S "
	      "--connections C\n"
	      "               [--rate R] [--udp] [--seq] [--timeout SEC] "
	      "[--wait-ok] [--name NAME]\n"
	      "\n"
	      "Send N records of S bytes each (S includes the final '\\n') "
	      "over C TCP\n"
	      "connections (or C UDP sockets, one datagram per record), "
	      "spread evenly,\n"
	      "and print one result line.\n"
	      "\n"
	      "  --host H           target address (default 127.0.0.1)\n"
	      "  --port P           target port (required)\n"
	      "  --records N        records in total (default 100000)\n"
	      "  --size S           bytes per record including '\\n' (default "
	      "1024; >= 43 with --seq)\n"
	      "  --connections C    connections / UDP sockets (default 1)\n"
	      "  --rate R           pace to R records/s over all connections "
	      "(default: as fast as\n"
	      "                     the receiver takes them)\n"
	      "  --udp              UDP datagrams instead of TCP lines\n"
	      "  --seq              begin each record with 'CCCCCCCC "
	      "SSSSSSSSSSSS TTTTTTTTTTTTTTTTTTT ':\n"
	      "                     connection id, sequence number in that "
	      "connection (from 0)\n"
	      "                     and CLOCK_REALTIME send time in ns, so "
	      "consumers can check\n"
	      "                     order, loss and latency\n"
	      "  --wait-ok          read netcat's replies ('OK' / 'FAILED: "
	      "...') and finish when\n"
	      "                     every record is answered; reports ack "
	      "latency p50/p99\n"
	      "  --sendfile         TCP without --seq: send the records' pages "
	      "by reference\n"
	      "                     (sendfile from a memfd) instead of "
	      "copying them into the\n"
	      "                     socket, so the sender's copy does not "
	      "take CPU from a\n"
	      "                     receiver on the same machine\n"
	      "  --congestion CC    TCP congestion control of the connections "
	      "(TCP_CONGESTION,\n"
	      "                     one of "
	      "/proc/sys/net/ipv4/tcp_available_congestion_control;\n"
	      "                     default: the system's). Over loopback, "
	      "where no fq qdisc\n"
	      "                     paces and no GRO merges, bbr's own pacing "
	      "cuts the stream\n"
	      "                     into small timed segments; cubic sends "
	      "64 KiB ones\n"
	      "  --timeout SEC      give up after SEC seconds (default 120)\n"
	      "  --name NAME        the first word of the result line "
	      "(default loadgen-tcp/-udp)\n"
	      "  --quiet            only the result line\n"
	      "\n"
	      "Result line (one line on stdout):\n"
	      "  NAME RATE rec/s MBPS MB/s records=N bytes=B size=S conns=C "
	      "elapsed_s=T\n"
	      "  ok=K failed=F p50_us=X p99_us=Y start_ns=W0 end_ns=W1 cc=CC\n"
	      "(MB = 10^6 bytes; elapsed from the first send to the last byte "
	      "written, or the\n"
	      "last reply with --wait-ok; start_ns/end_ns are CLOCK_REALTIME; "
	      "p50/p99 are ack\n"
	      "latencies with --wait-ok, '-' otherwise; cc is the TCP congestion "
	      "control\n"
	      "in use, '-' for UDP.) TCP connections end "
	      "with a FIN and\n"
	      "wait (up to 10 s) for the peer to close, so nothing sent is "
	      "reset away.\n"
	      "\n"
	      "Exit codes: 0 every record sent (and answered OK with "
	      "--wait-ok); 1 error or\n"
	      "timeout (the result line still shows what was done); 2 usage; "
	      "3 some records\n"
	      "were answered FAILED.\n", out);
}

static int
lg_parse(int argc, char **argv, struct lg_opts *o)
{
	enum { O_HOST = 256, O_PORT, O_RECORDS, O_SIZE, O_CONNS, O_RATE,
	       O_UDP, O_SEQ, O_TIMEOUT, O_WAIT_OK, O_NAME, O_QUIET,
	       O_SENDFILE, O_CONGESTION };
	static const struct option opts[] = {
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "connections", required_argument, NULL, O_CONNS },
		{ "rate", required_argument, NULL, O_RATE },
		{ "udp", no_argument, NULL, O_UDP },
		{ "seq", no_argument, NULL, O_SEQ },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "wait-ok", no_argument, NULL, O_WAIT_OK },
		{ "name", required_argument, NULL, O_NAME },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "sendfile", no_argument, NULL, O_SENDFILE },
		{ "congestion", required_argument, NULL, O_CONGESTION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bad = NULL;
	int c;

	o->host = "127.0.0.1";
	o->records = 100000;
	o->size = 1024;
	o->conns = 1;
	o->timeout_s = 120;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_HOST: o->host = optarg; break;
		case O_PORT: o->port = optarg; break;
		case O_RECORDS:
			if (!bench_parse_u64(optarg, 1, UINT64_C(1) << 40,
					     &o->records))
				bad = "--records";
			break;
		case O_SIZE:
			if (!bench_parse_u64(optarg, 1, 65507, &o->size))
				bad = "--size (1..65507)";
			break;
		case O_CONNS:
			if (!bench_parse_u64(optarg, 1, 100000, &o->conns))
				bad = "--connections (1..100000)";
			break;
		case O_RATE:
			if (!bench_parse_u64(optarg, 1, UINT64_C(1) << 40,
					     &o->rate))
				bad = "--rate";
			break;
		case O_TIMEOUT:
			if (!bench_parse_u64(optarg, 1, 86400, &o->timeout_s))
				bad = "--timeout (1..86400)";
			break;
		case O_UDP: o->udp = true; break;
		case O_SEQ: o->seq = true; break;
		case O_WAIT_OK: o->wait_ok = true; break;
		case O_NAME: o->name = optarg; break;
		case O_QUIET: o->quiet = true; break;
		case O_SENDFILE: o->sendfile = true; break;
		case O_CONGESTION:
			if (!*optarg || strlen(optarg) >= LG_CC_NAME_MAX)
				bad = "--congestion";
			o->congestion = optarg;
			break;
		case 'h':
			lg_usage(stdout);
			exit(0);
		default:
			lg_usage(stderr);
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "loadgen: %s: bad value '%s'\n", bad,
				optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->port) {
		fprintf(stderr, "loadgen: --port is required\n");
		return -EINVAL;
	}
	if (o->seq && o->size < BENCH_SEQ_HDR_LEN + 1) {
		fprintf(stderr, "loadgen: --seq needs --size >= %d\n",
			BENCH_SEQ_HDR_LEN + 1);
		return -EINVAL;
	}
	if (o->udp && o->wait_ok) {
		fprintf(stderr, "loadgen: --wait-ok is for TCP (netcat "
			"replies)\n");
		return -EINVAL;
	}
	if (o->sendfile && (o->udp || o->seq)) {
		fprintf(stderr, "loadgen: --sendfile is for TCP without "
			"--seq (one template for every record)\n");
		return -EINVAL;
	}
	if (o->congestion && o->udp) {
		fprintf(stderr, "loadgen: --congestion is for TCP\n");
		return -EINVAL;
	}
	if (!o->name)
		o->name = o->udp ? "loadgen-udp" : "loadgen-tcp";
	return 0;
}

/* @v in @width zero-padded decimal digits at @p (no terminator). */
static void
lg_put_dec(char *p, unsigned width, uint64_t v)
{
	while (width--) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Records @seq.. of @conn into @c's buffer, whose filler and newlines
 * were written once (lg_connect_all): only each header changes, the
 * batch's one formatted and then its sequence field rewritten per
 * record. snprintf per record was most of loadgen's CPU, which the
 * agent under test shares.
 */
static void
lg_batch_fill(const struct lg *lg, char *own, uint32_t conn, uint64_t seq,
	      uint64_t n, uint64_t wall_ns)
{
	char hdr[BENCH_SEQ_HDR_LEN + 1];
	uint64_t i;

	snprintf(hdr, sizeof(hdr), BENCH_SEQ_FMT, conn,
		 (unsigned long long)seq, (unsigned long long)wall_ns);
	for (i = 0; i < n; i++) {
		char *p = own + i * lg->o.size;

		memcpy(p, hdr, BENCH_SEQ_HDR_LEN);
		lg_put_dec(p + BENCH_SEQ_SEQ_AT, BENCH_SEQ_SEQ_LEN, seq + i);
	}
}

/* Records this connection may queue now (pacing). */
static uint64_t
lg_budget(const struct lg *lg, uint64_t now)
{
	uint64_t allowed;

	if (!lg->o.rate)
		return UINT64_MAX;
	/* +1: the first record goes out at t0. */
	allowed = (uint64_t)((double)(now - lg->t0) / 1e9 *
			     (double)lg->o.rate) + 1;
	return allowed > lg->nb_queued ? allowed - lg->nb_queued : 0;
}

/* Queue up to a batch of records into @c's pending buffer. */
static void
lg_conn_fill(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	uint64_t left = c->nb_records - c->nb_queued;
	uint64_t n = SL_MIN(left, (uint64_t)lg->tmpl_records);
	uint64_t i;

	n = SL_MIN(n, lg_budget(lg, now));
	if (n == 0)
		return;
	if (lg->o.seq) {
		lg_batch_fill(lg, c->own, c->id, c->nb_queued, n,
			      bench_wall_ns());
		c->buf = c->own;
	} else {
		c->buf = lg->tmpl;
	}
	if (c->sent_ns)
		for (i = 0; i < n; i++)
			c->sent_ns[c->nb_queued + i] = now;
	c->len = n * lg->o.size;
	c->off = 0;
	c->nb_queued += n;
	lg->nb_queued += n;
}

static void
lg_conn_finish(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	if (c->finished)
		return;
	c->finished = true;
	lg->nb_finished++;
	lg->t_done = now;
	lg->t_done_wall = bench_wall_ns();
	if (!lg->o.udp)
		shutdown(c->fd, SHUT_WR);
}

/* Is everything of @c written (and answered with --wait-ok)? */
static void
lg_conn_check_done(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	if (c->finished || c->bytes_sent < c->bytes_total)
		return;
	if (lg->o.wait_ok && c->nb_ok + c->nb_failed < c->nb_records)
		return;
	lg_conn_finish(lg, c, now);
}

static int
lg_tcp_send(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	while (c->writable && c->bytes_sent < c->bytes_total) {
		ssize_t n;

		if (c->off == c->len) {
			lg_conn_fill(lg, c, now);
			if (c->off == c->len)
				return 0;	/* paced: no budget yet */
		}
		if (lg->tmpl_fd >= 0) {
			off_t off = (off_t)c->off;

			n = sendfile(c->fd, lg->tmpl_fd, &off,
				     c->len - c->off);
		} else {
			n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->writable = false;
				return 0;
			}
			if (errno == EINTR)
				continue;
			fprintf(stderr, "loadgen: connection %u: send: %s\n",
				c->id, strerror(errno));
			return -errno;
		}
		c->off += (size_t)n;
		c->bytes_sent += (uint64_t)n;
	}
	lg_conn_check_done(lg, c, now);
	return 0;
}

static int
lg_udp_send(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	struct mmsghdr msgs[LG_UDP_BURST];
	struct iovec iov[LG_UDP_BURST];

	while (c->writable && c->bytes_sent < c->bytes_total) {
		size_t nb, i, first;
		int n;

		if (c->off == c->len) {
			lg_conn_fill(lg, c, now);
			if (c->off == c->len)
				return 0;
		}
		nb = SL_MIN((c->len - c->off) / lg->o.size,
			    (size_t)LG_UDP_BURST);
		first = c->off;
		memset(msgs, 0, sizeof(msgs[0]) * nb);
		for (i = 0; i < nb; i++) {
			iov[i].iov_base = (char *)c->buf + first +
					  i * lg->o.size;
			iov[i].iov_len = lg->o.size;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(c->fd, msgs, (unsigned)nb, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS) {
				c->writable = false;
				return 0;
			}
			if (errno == EINTR)
				continue;
			/* ECONNREFUSED: an ICMP error from an earlier
			 * datagram; the datagrams are gone, keep going. */
			if (errno == ECONNREFUSED) {
				lg->send_errors++;
				continue;
			}
			fprintf(stderr, "loadgen: socket %u: sendmmsg: %s\n",
				c->id, strerror(errno));
			return -errno;
		}
		c->off += (size_t)n * lg->o.size;
		c->bytes_sent += (uint64_t)n * lg->o.size;
	}
	lg_conn_check_done(lg, c, now);
	return 0;
}

/* Count reply lines: "OK" or anything else (FAILED: ...). */
static void
lg_conn_read(struct lg *lg, struct lg_conn *c, uint64_t now)
{
	char buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		ssize_t i;

		if (n == 0) {
			c->eof = true;
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->eof = true;
			return;
		}
		for (i = 0; i < n; i++) {
			if (c->line_start) {
				uint64_t idx = c->nb_ok + c->nb_failed;

				if (buf[i] == 'O')
					c->nb_ok++;
				else
					c->nb_failed++;
				if (c->sent_ns && idx < c->nb_queued)
					lg->lat[lg->nb_lat++] =
						now - c->sent_ns[idx];
				c->line_start = false;
			}
			if (buf[i] == '\n')
				c->line_start = true;
		}
		lg_conn_check_done(lg, c, now);
	}
}

static int
lg_connect_all(struct lg *lg)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = lg->o.udp ? SOCK_DGRAM : SOCK_STREAM,
	};
	struct addrinfo *ai;
	uint64_t i, per = lg->o.records / lg->o.conns;
	uint64_t extra = lg->o.records % lg->o.conns;
	int rc;

	rc = getaddrinfo(lg->o.host, lg->o.port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "loadgen: %s:%s: %s\n", lg->o.host,
			lg->o.port, gai_strerror(rc));
		return -EINVAL;
	}
	for (i = 0; i < lg->o.conns; i++) {
		struct lg_conn *c = &lg->conns[i];
		struct epoll_event ev = {
			.events = EPOLLIN | EPOLLOUT | EPOLLET,
			.data.u64 = i,
		};
		int one = 1;

		c->id = (uint32_t)i;
		c->nb_records = per + (i < extra);
		c->bytes_total = c->nb_records * lg->o.size;
		c->line_start = true;
		c->fd = socket(ai->ai_family, ai->ai_socktype |
			       SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			fprintf(stderr, "loadgen: socket: %s\n",
				strerror(errno));
			rc = -errno;
			break;
		}
		if (!lg->o.udp)
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		if (lg->o.congestion &&
		    setsockopt(c->fd, IPPROTO_TCP, TCP_CONGESTION,
			       lg->o.congestion,
			       (socklen_t)strlen(lg->o.congestion)) < 0) {
			fprintf(stderr, "loadgen: --congestion %s: %s (see "
				"/proc/sys/net/ipv4/tcp_available_congestion_"
				"control)\n", lg->o.congestion,
				strerror(errno));
			rc = -EINVAL;
			break;
		}
		if (!lg->o.udp && i == 0) {
			socklen_t len = sizeof(lg->cc) - 1;

			if (getsockopt(c->fd, IPPROTO_TCP, TCP_CONGESTION,
				       lg->cc, &len) < 0)
				lg->cc[0] = '\0';
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			fprintf(stderr, "loadgen: connect %s:%s: %s\n",
				lg->o.host, lg->o.port, strerror(errno));
			rc = -errno;
			break;
		}
		if (epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			rc = -errno;
			break;
		}
		if (lg->o.seq) {
			c->own = malloc(lg->tmpl_records * lg->o.size);
			if (!c->own) {
				rc = -ENOMEM;
				break;
			}
			memcpy(c->own, lg->tmpl, lg->tmpl_records * lg->o.size);
		}
		if (lg->o.wait_ok) {
			c->sent_ns = calloc(c->nb_records ? c->nb_records : 1,
					    sizeof(uint64_t));
			if (!c->sent_ns) {
				rc = -ENOMEM;
				break;
			}
		}
	}
	freeaddrinfo(ai);
	return rc;
}

/* --sendfile: the template into a memfd, whose pages the sockets then
 * carry by reference; it is never written again. */
static int
lg_tmpl_memfd(struct lg *lg)
{
	size_t len = lg->tmpl_records * lg->o.size, off = 0;
	int fd = memfd_create("loadgen-template", MFD_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "loadgen: memfd_create: %s\n",
			strerror(errno));
		return -errno;
	}
	while (off < len) {
		ssize_t n = write(fd, lg->tmpl + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "loadgen: memfd write: %s\n",
				strerror(errno));
			close(fd);
			return -EIO;
		}
		off += (size_t)n;
	}
	lg->tmpl_fd = fd;
	return 0;
}

static void
lg_report(struct lg *lg, bool timed_out)
{
	uint64_t records = 0, bytes = 0, ok = 0, failed = 0, i;
	uint64_t end = lg->nb_finished == lg->o.conns ? lg->t_done :
		       sl_time_mono_ns();
	uint64_t end_wall = lg->nb_finished == lg->o.conns ?
			    lg->t_done_wall : bench_wall_ns();
	double secs;
	char p50[32] = "-", p99[32] = "-";

	for (i = 0; i < lg->o.conns; i++) {
		bytes += lg->conns[i].bytes_sent;
		ok += lg->conns[i].nb_ok;
		failed += lg->conns[i].nb_failed;
	}
	records = bytes / lg->o.size;
	secs = lg->t0 && end > lg->t0 ? (double)(end - lg->t0) / 1e9 : 0;
	if (lg->nb_lat) {
		snprintf(p50, sizeof(p50), "%.1f", (double)bench_percentile(
			 lg->lat, lg->nb_lat, 50, false) / 1e3);
		snprintf(p99, sizeof(p99), "%.1f", (double)bench_percentile(
			 lg->lat, lg->nb_lat, 99, true) / 1e3);
	}
	printf("%s %.0f rec/s %.1f MB/s records=%llu bytes=%llu size=%llu "
	       "conns=%llu elapsed_s=%.3f ok=%llu failed=%llu p50_us=%s "
	       "p99_us=%s start_ns=%llu end_ns=%llu cc=%s%s\n",
	       lg->o.name, secs > 0 ? (double)records / secs : 0,
	       secs > 0 ? (double)bytes / secs / 1e6 : 0,
	       (unsigned long long)records, (unsigned long long)bytes,
	       (unsigned long long)lg->o.size,
	       (unsigned long long)lg->o.conns, secs,
	       (unsigned long long)ok, (unsigned long long)failed, p50, p99,
	       (unsigned long long)lg->t0_wall,
	       (unsigned long long)end_wall, lg->cc[0] ? lg->cc : "-",
	       timed_out ? " TIMEOUT" : "");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct lg lg = { 0 };
	struct epoll_event evs[256];
	struct sigaction sa = { .sa_handler = lg_on_signal };
	uint64_t deadline, linger_end = 0, nb_connected = 0, nb_failed = 0, i;
	bool timed_out = false, sending = false;
	int rc = 0;

	if (lg_parse(argc, argv, &lg.o) < 0)
		return 2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	deadline = sl_time_mono_ns() + lg.o.timeout_s * SL_NS_PER_SEC;

	lg.tmpl_records = SL_MAX((size_t)1, LG_BATCH_BYTES / lg.o.size);
	lg.tmpl = malloc(lg.tmpl_records * lg.o.size);
	lg.conns = calloc(lg.o.conns, sizeof(*lg.conns));
	lg.lat = lg.o.wait_ok ? calloc(lg.o.records, sizeof(uint64_t)) : NULL;
	lg.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lg.tmpl || !lg.conns || (lg.o.wait_ok && !lg.lat) || lg.ep < 0) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	for (i = 0; i < lg.o.conns; i++)
		lg.conns[i].fd = -1;
	/* 'x' filler and the final '\n'; --seq writes each header over the
	 * start of a connection's copy (lg_batch_fill). */
	memset(lg.tmpl, 'x', lg.tmpl_records * lg.o.size);
	for (i = 0; i < lg.tmpl_records; i++)
		lg.tmpl[(i + 1) * lg.o.size - 1] = '\n';
	lg.tmpl_fd = -1;
	if (lg.o.sendfile) {
		rc = lg_tmpl_memfd(&lg);
		if (rc < 0)
			goto out;
	}
	rc = lg_connect_all(&lg);
	if (rc < 0)
		goto out;

	for (;;) {
		uint64_t now = sl_time_mono_ns();
		int timeout_ms = 100, n, k;

		if (now >= deadline || lg_interrupted) {
			timed_out = true;
			fprintf(stderr, "loadgen: %s after %llu s: %llu of "
				"%llu connections finished\n",
				lg_interrupted ? "interrupted" : "timeout",
				(unsigned long long)lg.o.timeout_s,
				(unsigned long long)lg.nb_finished,
				(unsigned long long)lg.o.conns);
			break;
		}
		if (lg.nb_finished == lg.o.conns) {
			bool all_eof = true;

			if (lg.o.udp)
				break;
			if (!linger_end)
				linger_end = now + LG_LINGER_NS;
			for (i = 0; i < lg.o.conns; i++)
				all_eof &= lg.conns[i].eof;
			if (all_eof)
				break;
			if (now >= linger_end) {
				fprintf(stderr, "loadgen: the peer did not "
					"close every connection within 10 s "
					"of our FIN\n");
				break;
			}
		}
		if (sending && lg.o.rate)
			timeout_ms = 1;
		n = epoll_wait(lg.ep, evs, SL_ARRAY_SIZE(evs), timeout_ms);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		now = sl_time_mono_ns();
		for (k = 0; k < n; k++) {
			struct lg_conn *c = &lg.conns[evs[k].data.u64];
			uint32_t e = evs[k].events;

			if (!c->connected && (e & (EPOLLOUT | EPOLLERR))) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err,
					   &len);
				if (err) {
					fprintf(stderr, "loadgen: connect "
						"%s:%s: %s\n", lg.o.host,
						lg.o.port, strerror(err));
					rc = -err;
					goto out;
				}
				c->connected = true;
				nb_connected++;
			}
			if (e & EPOLLOUT)
				c->writable = true;
			if (e & (EPOLLIN | EPOLLHUP | EPOLLERR))
				lg_conn_read(&lg, c, now);
		}
		if (!sending && nb_connected == lg.o.conns) {
			sending = true;
			lg.t0 = now;
			lg.t0_wall = bench_wall_ns();
		}
		if (!sending)
			continue;
		for (i = 0; i < lg.o.conns; i++) {
			struct lg_conn *c = &lg.conns[i];

			if (c->finished)
				continue;
			rc = lg.o.udp ? lg_udp_send(&lg, c, now) :
			     lg_tcp_send(&lg, c, now);
			if (rc < 0)
				goto out;
			if (!lg.o.udp && c->eof && !c->finished) {
				fprintf(stderr, "loadgen: connection %u: the "
					"peer closed it after %llu of %llu "
					"bytes\n", c->id,
					(unsigned long long)c->bytes_sent,
					(unsigned long long)c->bytes_total);
				rc = -ECONNRESET;
				goto out;
			}
		}
	}
out:
	lg_report(&lg, timed_out || rc < 0);
	for (i = 0; i < lg.o.conns; i++) {
		nb_failed += lg.conns[i].nb_failed;
		if (lg.conns[i].fd >= 0)
			close(lg.conns[i].fd);
		free(lg.conns[i].own);
		free(lg.conns[i].sent_ns);
	}
	if (lg.send_errors)
		fprintf(stderr, "loadgen: %llu UDP sends refused (no "
			"listener?)\n", (unsigned long long)lg.send_errors);
	free(lg.conns);
	free(lg.tmpl);
	if (lg.tmpl_fd >= 0)
		close(lg.tmpl_fd);
	free(lg.lat);
	close(lg.ep);
	if (rc < 0 || timed_out)
		return 1;
	return nb_failed ? 3 : 0;
}
