/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sockread: a plain socket sink that only reads. Accepts TCP connections
 * (or receives UDP datagrams) on one epoll thread, counts lines/datagrams
 * and bytes, optionally checks loadgen's --seq headers (order, loss,
 * latency), and prints one result line: the ceiling a source on this
 * machine's kernel sockets can reach. Used by bench/run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define SR_BUF_BYTES	(256 * 1024)
#define SR_UDP_BURST	64
#define SR_UDP_MAX	65536
#define SR_MAX_LAT	(4 * 1000 * 1000)	/* latency samples kept */
#define SR_MAX_IDS	(1u << 20)		/* --seq connection ids */
#define SR_LINGER_NS	(10 * SL_NS_PER_SEC)

struct sr_opts {
	const char *bind;
	uint64_t port;
	uint64_t records;	/* stop after this many; 0: when all close */
	uint64_t conns;		/* with records == 0: stop after C closed */
	uint64_t timeout_s;
	bool udp;
	bool check_seq;
	const char *name;
};

struct sr_conn {
	struct sr_conn *prev, *next;	/* open connections */
	int fd;
	bool line_start;
	char hdr[BENCH_SEQ_HDR_LEN];
	unsigned hdr_len;
};

struct sr {
	struct sr_opts o;
	int lfd, ep;
	char *buf;
	uint64_t records, bytes;
	uint64_t t_first, t_first_wall, t_last, t_last_wall;
	uint64_t nb_accepted, nb_closed, nb_open;
	struct sr_conn *open;		/* list head */
	/* --check-seq */
	uint64_t *next_seq;	/* per connection id */
	uint64_t seq_ok, seq_gaps, seq_dups, seq_bad;
	uint64_t *lat;
	size_t nb_lat;
};

static volatile sig_atomic_t sr_interrupted;

static void
sr_on_signal(int sig)
{
	(void)sig;
	sr_interrupted = 1;
}

static void
sr_usage(FILE *out)
{
	fputs("usage: sockread [--bind ADDR] [--port P] [--udp] "
	      "[--records N | --connections C]\n"
	      "                [--check-seq] [--timeout SEC] [--name NAME]\n"
	      "\n"
	      "A socket sink that only reads: counts '\\n'-terminated lines "
	      "(TCP) or datagrams\n"
	      "(UDP) and bytes. First prints 'listening ADDR PORT' (with "
	      "--port 0, the\n"
	      "port the kernel chose), then one result line when done.\n"
	      "\n"
	      "  --bind ADDR        IPv4 address to listen on (default "
	      "127.0.0.1)\n"
	      "  --port P           port (default 0: any free port)\n"
	      "  --udp              receive UDP datagrams (one record each)\n"
	      "  --records N        done once N records arrived\n"
	      "  --connections C    without --records: done once C TCP "
	      "connections were\n"
	      "                     accepted and closed again (default 1)\n"
	      "  --check-seq        check loadgen --seq headers: per "
	      "connection order, gaps,\n"
	      "                     duplicates; latency from the embedded "
	      "send time\n"
	      "  --timeout SEC      give up after SEC seconds (default 120)\n"
	      "  --name NAME        first word of the result line (default "
	      "sockread-tcp/-udp)\n"
	      "\n"
	      "Result line:\n"
	      "  NAME RATE rec/s MBPS MB/s records=N bytes=B elapsed_s=T "
	      "start_ns=W0 end_ns=W1\n"
	      "  [seq_ok=K seq_gaps=G seq_dups=D seq_bad=X p50_us=P p99_us=Q]\n"
	      "(elapsed from the first byte to the last record; MB = 10^6 "
	      "bytes; *_ns are\n"
	      "CLOCK_REALTIME.) Exit codes: 0 done; 1 error or timeout; 2 "
	      "usage; 3 --check-seq\n"
	      "found gaps, duplicates or malformed headers.\n", out);
}

static int
sr_parse(int argc, char **argv, struct sr_opts *o)
{
	enum { O_BIND = 256, O_PORT, O_UDP, O_RECORDS, O_CONNS, O_SEQ,
	       O_TIMEOUT, O_NAME };
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, O_BIND },
		{ "port", required_argument, NULL, O_PORT },
		{ "udp", no_argument, NULL, O_UDP },
		{ "records", required_argument, NULL, O_RECORDS },
		{ "connections", required_argument, NULL, O_CONNS },
		{ "check-seq", no_argument, NULL, O_SEQ },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "name", required_argument, NULL, O_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bad = NULL;
	int c;

	o->bind = "127.0.0.1";
	o->conns = 1;
	o->timeout_s = 120;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_BIND: o->bind = optarg; break;
		case O_PORT:
			if (!bench_parse_u64(optarg, 0, 65535, &o->port))
				bad = "--port";
			break;
		case O_UDP: o->udp = true; break;
		case O_RECORDS:
			if (!bench_parse_u64(optarg, 1, UINT64_C(1) << 40,
					     &o->records))
				bad = "--records";
			break;
		case O_CONNS:
			if (!bench_parse_u64(optarg, 1, 1000000, &o->conns))
				bad = "--connections";
			break;
		case O_SEQ: o->check_seq = true; break;
		case O_TIMEOUT:
			if (!bench_parse_u64(optarg, 1, 86400, &o->timeout_s))
				bad = "--timeout";
			break;
		case O_NAME: o->name = optarg; break;
		case 'h':
			sr_usage(stdout);
			exit(0);
		default:
			sr_usage(stderr);
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "sockread: %s: bad value '%s'\n", bad,
				optarg);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockread: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->udp && !o->records) {
		fprintf(stderr, "sockread: --udp needs --records N\n");
		return -EINVAL;
	}
	if (!o->name)
		o->name = o->udp ? "sockread-udp" : "sockread-tcp";
	return 0;
}

/* One --seq header: order and loss per connection id, latency. */
static void
sr_seq_check(struct sr *sr, const char *hdr, uint64_t now_wall)
{
	uint32_t conn;
	uint64_t seq, ts;

	if (!bench_seq_parse(hdr, &conn, &seq, &ts) || conn >= SR_MAX_IDS) {
		sr->seq_bad++;
		return;
	}
	if (seq == sr->next_seq[conn]) {
		sr->seq_ok++;
		sr->next_seq[conn] = seq + 1;
	} else if (seq > sr->next_seq[conn]) {
		sr->seq_gaps += seq - sr->next_seq[conn];
		sr->next_seq[conn] = seq + 1;
	} else {
		sr->seq_dups++;
	}
	if (sr->nb_lat < SR_MAX_LAT && now_wall >= ts)
		sr->lat[sr->nb_lat++] = now_wall - ts;
}

static void
sr_count(struct sr *sr, uint64_t nb_records, uint64_t nb_bytes)
{
	uint64_t now;

	if (!nb_bytes)
		return;
	now = sl_time_mono_ns();
	if (!sr->t_first) {
		sr->t_first = now;
		sr->t_first_wall = bench_wall_ns();
	}
	sr->bytes += nb_bytes;
	if (nb_records) {
		sr->records += nb_records;
		sr->t_last = now;
		sr->t_last_wall = bench_wall_ns();
	}
}

/* Lines in @p[0..n) of @conn; headers checked with --check-seq. */
static uint64_t
sr_scan(struct sr *sr, struct sr_conn *conn, const char *p, size_t n)
{
	const char *end = p + n, *nl;
	uint64_t lines = 0, now_wall = 0;

	if (!sr->o.check_seq) {
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			lines++;
			p = nl + 1;
		}
		return lines;
	}
	now_wall = bench_wall_ns();
	while (p < end) {
		if (conn->line_start && conn->hdr_len < BENCH_SEQ_HDR_LEN) {
			size_t take = SL_MIN((size_t)(end - p),
					     BENCH_SEQ_HDR_LEN - conn->hdr_len);
			const char *stop = memchr(p, '\n', take);

			if (stop) {
				/* A line shorter than a header. */
				sr->seq_bad++;
				conn->hdr_len = 0;
				lines++;
				p = stop + 1;
				continue;
			}
			memcpy(conn->hdr + conn->hdr_len, p, take);
			conn->hdr_len += (unsigned)take;
			p += take;
			if (conn->hdr_len < BENCH_SEQ_HDR_LEN)
				break;
			sr_seq_check(sr, conn->hdr, now_wall);
			conn->line_start = false;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		lines++;
		p = nl + 1;
		conn->line_start = true;
		conn->hdr_len = 0;
	}
	return lines;
}

static int
sr_listen(struct sr *sr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1, bufsz = 16 << 20;

	if (inet_pton(AF_INET, sr->o.bind, &sa.sin_addr) != 1) {
		fprintf(stderr, "sockread: --bind %s: not an IPv4 address\n",
			sr->o.bind);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)sr->o.port);
	sr->lfd = socket(AF_INET, (sr->o.udp ? SOCK_DGRAM : SOCK_STREAM) |
			 SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sr->lfd < 0)
		return -errno;
	setsockopt(sr->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sr->o.udp)
		setsockopt(sr->lfd, SOL_SOCKET, SO_RCVBUF, &bufsz,
			   sizeof(bufsz));
	if (bind(sr->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (!sr->o.udp && listen(sr->lfd, 4096) < 0) ||
	    getsockname(sr->lfd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "sockread: %s:%llu: %s\n", sr->o.bind,
			(unsigned long long)sr->o.port, strerror(errno));
		return -errno;
	}
	printf("listening %s %u\n", sr->o.bind, ntohs(sa.sin_port));
	fflush(stdout);
	return 0;
}

static void
sr_accept(struct sr *sr)
{
	for (;;) {
		int fd = accept4(sr->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
		struct sr_conn *conn;

		if (fd < 0)
			return;
		conn = calloc(1, sizeof(*conn));
		if (!conn) {
			close(fd);
			continue;
		}
		conn->fd = fd;
		conn->line_start = true;
		ev.data.ptr = conn;
		if (epoll_ctl(sr->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(conn);
			continue;
		}
		conn->next = sr->open;
		if (sr->open)
			sr->open->prev = conn;
		sr->open = conn;
		sr->nb_accepted++;
		sr->nb_open++;
	}
}

static void
sr_conn_close(struct sr *sr, struct sr_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		sr->open = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	close(conn->fd);
	free(conn);
	sr->nb_open--;
}

/* Read @conn until EAGAIN; closes and frees it at EOF. */
static void
sr_conn_read(struct sr *sr, struct sr_conn *conn)
{
	for (;;) {
		ssize_t n = recv(conn->fd, sr->buf, SR_BUF_BYTES, 0);

		if (n > 0) {
			sr_count(sr, sr_scan(sr, conn, sr->buf, (size_t)n),
				 (uint64_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		sr_conn_close(sr, conn);
		sr->nb_closed++;
		return;
	}
}

static void
sr_udp_read(struct sr *sr)
{
	struct mmsghdr msgs[SR_UDP_BURST];
	struct iovec iov[SR_UDP_BURST];
	int i, n;

	for (i = 0; i < SR_UDP_BURST; i++) {
		iov[i].iov_base = sr->buf + (size_t)i * SR_UDP_MAX;
		iov[i].iov_len = SR_UDP_MAX;
	}
	for (;;) {
		uint64_t bytes = 0, now_wall = 0;

		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < SR_UDP_BURST; i++) {
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(sr->lfd, msgs, SR_UDP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		if (sr->o.check_seq)
			now_wall = bench_wall_ns();
		for (i = 0; i < n; i++) {
			bytes += msgs[i].msg_len;
			if (!sr->o.check_seq)
				continue;
			if (msgs[i].msg_len < BENCH_SEQ_HDR_LEN)
				sr->seq_bad++;
			else
				sr_seq_check(sr, iov[i].iov_base, now_wall);
		}
		sr_count(sr, (uint64_t)n, bytes);
	}
}

static bool
sr_done(const struct sr *sr)
{
	if (sr->o.records)
		return sr->records >= sr->o.records;
	return sr->nb_closed >= sr->o.conns && sr->nb_open == 0;
}

int
main(int argc, char **argv)
{
	struct sr sr = { .lfd = -1 };
	struct sigaction sa = { .sa_handler = sr_on_signal };
	struct epoll_event evs[256];
	struct epoll_event lev = { .events = EPOLLIN | EPOLLET };
	uint64_t deadline, linger_end = 0;
	bool timed_out = false;
	char p50[32] = "-", p99[32] = "-";
	double secs;
	int rc = 0;

	if (sr_parse(argc, argv, &sr.o) < 0)
		return 2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sr.buf = malloc(sr.o.udp ? (size_t)SR_UDP_BURST * SR_UDP_MAX :
			SR_BUF_BYTES);
	sr.ep = epoll_create1(EPOLL_CLOEXEC);
	if (sr.o.check_seq) {
		sr.next_seq = calloc(SR_MAX_IDS, sizeof(uint64_t));
		sr.lat = calloc(SR_MAX_LAT, sizeof(uint64_t));
	}
	if (!sr.buf || sr.ep < 0 ||
	    (sr.o.check_seq && (!sr.next_seq || !sr.lat))) {
		fprintf(stderr, "sockread: out of memory\n");
		return 1;
	}
	if (sr_listen(&sr) < 0)
		return 1;
	lev.data.ptr = NULL;
	epoll_ctl(sr.ep, EPOLL_CTL_ADD, sr.lfd, &lev);
	deadline = sl_time_mono_ns() + sr.o.timeout_s * SL_NS_PER_SEC;
	for (;;) {
		uint64_t now = sl_time_mono_ns();
		int n, k;

		if (sr_interrupted || now >= deadline) {
			timed_out = true;
			fprintf(stderr, "sockread: %s with %llu records\n",
				sr_interrupted ? "interrupted" : "timeout",
				(unsigned long long)sr.records);
			break;
		}
		/*
		 * Done counting: for TCP also let the senders close first
		 * (bounded), so none of them sees a reset.
		 */
		if (sr_done(&sr)) {
			if (sr.o.udp || sr.nb_open == 0)
				break;
			if (!linger_end)
				linger_end = now + SR_LINGER_NS;
			if (now >= linger_end)
				break;
		}
		n = epoll_wait(sr.ep, evs, SL_ARRAY_SIZE(evs), 100);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		for (k = 0; k < n; k++) {
			if (!evs[k].data.ptr) {
				if (sr.o.udp)
					sr_udp_read(&sr);
				else
					sr_accept(&sr);
				continue;
			}
			sr_conn_read(&sr, evs[k].data.ptr);
		}
	}
	secs = sr.t_last > sr.t_first ? (double)(sr.t_last - sr.t_first) /
	       1e9 : 0;
	printf("%s %.0f rec/s %.1f MB/s records=%llu bytes=%llu "
	       "elapsed_s=%.3f start_ns=%llu end_ns=%llu",
	       sr.o.name, secs > 0 ? (double)sr.records / secs : 0,
	       secs > 0 ? (double)sr.bytes / secs / 1e6 : 0,
	       (unsigned long long)sr.records, (unsigned long long)sr.bytes,
	       secs, (unsigned long long)sr.t_first_wall,
	       (unsigned long long)sr.t_last_wall);
	if (sr.o.check_seq) {
		if (sr.nb_lat) {
			snprintf(p50, sizeof(p50), "%.1f", (double)
				 bench_percentile(sr.lat, sr.nb_lat, 50,
						  false) / 1e3);
			snprintf(p99, sizeof(p99), "%.1f", (double)
				 bench_percentile(sr.lat, sr.nb_lat, 99,
						  true) / 1e3);
		}
		printf(" seq_ok=%llu seq_gaps=%llu seq_dups=%llu seq_bad=%llu "
		       "p50_us=%s p99_us=%s",
		       (unsigned long long)sr.seq_ok,
		       (unsigned long long)sr.seq_gaps,
		       (unsigned long long)sr.seq_dups,
		       (unsigned long long)sr.seq_bad, p50, p99);
	}
	printf("%s\n", timed_out ? " TIMEOUT" : "");
	fflush(stdout);
	while (sr.open) {
		sr_conn_close(&sr, sr.open);
		sr.nb_closed++;
	}
	close(sr.lfd);
	close(sr.ep);
	free(sr.buf);
	free(sr.next_seq);
	free(sr.lat);
	if (rc < 0 || timed_out)
		return 1;
	if (sr.o.check_seq && (sr.seq_gaps || sr.seq_dups || sr.seq_bad))
		return 3;
	return 0;
}
