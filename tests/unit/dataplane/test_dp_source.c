/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's netcat and netcatudp sources on the dataplane (dp_source.c),
 * no EAL: an lcore fed crafted frames, a real memory channel behind the
 * source. Lines become events and OK replies; an over-long line gets
 * Flume's FAILED and the connection closes; a full channel answers FAILED
 * (ack-every-event) or holds the bytes in the TCP receive buffer and loses
 * nothing (ack-every-event = false); a datagram is one event up to its
 * first newline, with the sender in remoteAddressHeader. Over a file
 * channel whose fdatasync fails (the fault backend of the channel's own
 * tests), lines waiting for the sync get FAILED instead of waiting forever.
 */
#include "net_test_util.h"

#include "../channel/fault_io.h"

#include "chan_int.h"
#include "sl_channel.h"
#include "sl_dataplane.h"
#include "sl_ring.h"

#define MS	(1000ull * 1000)
#define T0	(1000ull * 1000 * 1000)
#define NC_PORT	4142
#define NU_PORT	5141

static struct sl_channel *ch;
static struct sl_chan_consumer *cons;
static struct sl_source *src;
static void *ch_set;

static void
props_add(struct sl_props *p, struct sl_prop *v, const char *k,
	  const char *val)
{
	v[p->n] = (struct sl_prop){ .key = (char *)k, .val = (char *)val,
				    .file = "t", .line = (int)p->n + 1 };
	p->n++;
}

static void
chan_open(const char *capacity)
{
	const struct sl_channel_ops *ops = &sl_memory_channel_ops;
	struct sl_prop v[4];
	struct sl_props p = { .comp = "c1", .v = v, .file = "t" };
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };

	props_add(&p, v, "capacity", capacity);
	props_add(&p, v, "transactionCapacity", capacity);
	ch_set = calloc(1, ops->settings_size);
	cr_assert_eq(sl_keys_apply(ops->keys, ch_set, &p, &diag), 0);
	ch = ops->create("c1", ch_set, &p, &diag, &err);
	cr_assert_not_null(ch, "%s", err.msg);
	cons = sl_channel_consumer_open(ch, "test", 100, 4, &err);
	cr_assert_not_null(cons);
	cr_assert_eq(ops->start(ch), 0);
	sl_diag_free(&diag);
}

static void
source_open(const char *type, const char *const *kv)
{
	struct sl_prop v[16];
	struct sl_props p = { .comp = "r1", .v = v, .file = "t" };
	struct sl_lcore *lc = &t_lc;
	struct sl_err err = { 0 };
	size_t i;

	for (i = 0; kv[i]; i += 2)
		props_add(&p, v, kv[i], kv[i + 1]);
	src = sl_dp_source_create_on(&lc, 1, NULL, type, "r1", &p, &ch, 1,
				     &err);
	cr_assert_not_null(src, "%s", err.msg);
}

static void
setup(void)
{
	t_setup();
}

static void
teardown(void)
{
	if (src)
		src->ops->destroy(src);
	src = NULL;
	t_teardown();
	if (ch) {
		ch->ops->stop(ch);
		ch->ops->destroy(ch);
	}
	ch = NULL;
	free(ch_set);
	ch_set = NULL;
}

TestSuite(dp_source, .init = setup, .fini = teardown);

/* Take up to @max events; their bodies joined with '|' into @out. */
static unsigned
take_events(char *out, size_t size, unsigned max)
{
	struct sl_take *txn = sl_channel_take(cons, max);
	size_t off = 0;
	unsigned i, n;

	out[0] = '\0';
	if (!txn)
		return 0;
	for (i = 0; i < txn->nb_evs; i++)
		off += (size_t)snprintf(out + off, size - off, "%s%.*s",
					i ? "|" : "", (int)txn->evs[i].body_len,
					(const char *)txn->evs[i].body);
	n = txn->nb_evs;
	cr_assert_eq(sl_channel_take_commit(cons, txn), 0);
	return n;
}

/* Ring bytes the memory channel uses for @ev (what ring depth counts). */
static uint64_t
ring_bytes(const struct sl_event *ev)
{
	return SL_ALIGN_UP(sizeof(struct sl_ring_rec) + sl_chan_event_size(ev),
			   SL_RING_ALIGN);
}

/* Every payload byte we sent since frame @from, concatenated. */
static size_t
replies(unsigned from, char *out, size_t size)
{
	size_t off = 0;
	unsigned i;

	for (i = from; i < t_tx.n; i++) {
		struct sl_pkt p = t_tx_tcp(i);

		cr_assert(off + p.payload_len < size);
		memcpy(out + off, p.payload, p.payload_len);
		off += p.payload_len;
	}
	out[off] = '\0';
	return off;
}

static void
nc_data(uint32_t seq, uint32_t una, const char *s, uint64_t now)
{
	t_send_tcp(&(struct t_seg){ .seq = seq, .ack = una,
				   .flags = SL_TCP_ACK | SL_TCP_PSH,
				   .data = s, .len = (uint32_t)strlen(s),
				   .win = 512, .dport = NC_PORT }, now);
}

Test(dp_source, lines_become_events_and_ok_replies)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "4142",
					  NULL };
	char ev[256], rep[256];
	uint32_t una;
	unsigned n0;

	chan_open("100");
	source_open("netcat", kv);
	una = t_handshake_to(NC_PORT, 500, T0);
	n0 = t_tx.n;
	nc_data(501, una, "first\r\nsec", T0);
	nc_data(511, una, "ond\n\n", T0);
	sl_lcore_flush(&t_lc, T0);
	/* the lcore's ring depth: the three events, until the sink commits */
	cr_expect_eq(sl_lcore_ring_depth(&t_lc),
		     ring_bytes(&(struct sl_event){ .body_len = 6 }) +
		     ring_bytes(&(struct sl_event){ .body_len = 6 }) +
		     ring_bytes(&(struct sl_event){ .body_len = 0 }));
	cr_assert_eq(take_events(ev, sizeof(ev), 10), 3);
	cr_expect_str_eq(ev, "first\r|second|");
	cr_expect_eq(sl_lcore_ring_depth(&t_lc), 0, "drained");
	replies(n0, rep, sizeof(rep));
	cr_expect_str_eq(rep, "OK\nOK\nOK\n");
	cr_expect_eq(src->stats.event_received_count, 3);
	cr_expect_eq(src->stats.event_accepted_count, 3);
	cr_expect_eq(src->stats.rx_bytes, 15);
	cr_expect_eq(src->stats.open_connection_count, 1);
}

Test(dp_source, over_long_line_gets_failed_then_fin)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "4142",
					  "max-line-length", "8", NULL };
	char ev[256], rep[512];
	struct sl_pkt p;
	uint32_t una;
	unsigned n0;

	chan_open("100");
	source_open("netcat", kv);
	una = t_handshake_to(NC_PORT, 500, T0);
	n0 = t_tx.n;
	nc_data(501, una, "1234567\n123456789\nafter\n", T0);
	sl_lcore_flush(&t_lc, T0);
	cr_assert_eq(take_events(ev, sizeof(ev), 10), 1);
	cr_expect_str_eq(ev, "1234567");
	replies(n0, rep, sizeof(rep));
	cr_expect_str_eq(rep, "OK\nFAILED: Event exceeds the maximum length "
			 "(8 chars, including newline)\n");
	p = t_tx_tcp(t_tx.n - 1);
	cr_expect(p.tcp_flags & SL_TCP_FIN, "the connection is closed");
	cr_expect_eq(src->stats.drop[SL_DROP_LINE_TOO_LONG], 1);
	cr_expect_eq(src->stats.event_read_fail, 1);
}

Test(dp_source, full_channel_with_acks_answers_failed)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "4142",
					  NULL };
	char ev[256], rep[1024];
	uint32_t una;
	unsigned n0;

	chan_open("2");
	source_open("netcat", kv);
	una = t_handshake_to(NC_PORT, 500, T0);
	n0 = t_tx.n;
	nc_data(501, una, "a\nb\nc\n", T0);
	sl_lcore_flush(&t_lc, T0);
	replies(n0, rep, sizeof(rep));
	cr_expect_str_eq(rep, "OK\nOK\nFAILED: Space for commit to queue "
			 "couldn't be acquired. Sinks are likely not keeping "
			 "up with sources, or the buffer size is too tight\n");
	cr_assert_eq(take_events(ev, sizeof(ev), 10), 2);
	cr_expect_str_eq(ev, "a|b");
	cr_expect_eq(src->stats.event_received_count, 3);
	cr_expect_eq(src->stats.event_accepted_count, 2);
	cr_expect_eq(src->stats.channel_write_fail, 1);
}

Test(dp_source, full_channel_without_acks_loses_nothing)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "4142",
					  "ack-every-event", "false", NULL };
	char ev[256], all[256] = "";
	uint32_t una;
	uint64_t now = T0;
	unsigned got = 0, i;

	chan_open("2");
	source_open("netcat", kv);
	una = t_handshake_to(NC_PORT, 500, T0);
	nc_data(501, una, "l1\nl2\nl3\nl4\nl5\n", now);
	sl_lcore_flush(&t_lc, now);
	/* The sink drains two at a time; the rest waits in TCP's buffer
	 * and is offered again on the timer. */
	for (i = 0; i < 10 && got < 5; i++) {
		unsigned n = take_events(ev, sizeof(ev), 10);

		if (n) {
			strcat(all, got ? "|" : "");
			strcat(all, ev);
		}
		got += n;
		now += 5 * MS;
		sl_lcore_flush(&t_lc, now);
	}
	cr_expect_eq(got, 5);
	cr_expect_str_eq(all, "l1|l2|l3|l4|l5");
	cr_expect_eq(src->stats.drop[SL_DROP_CHANNEL_FULL], 0);
	cr_expect_eq(src->stats.event_accepted_count, 5);
	/* Two stalls: l3 waited for the first take, l5 for the second. */
	cr_expect_eq(src->stats.channel_write_fail, 2, "one per stall: %llu",
		     (unsigned long long)src->stats.channel_write_fail);
}

/* One UDP datagram from @saddr:@sport to the netcatudp port, body @body. */
static void
udp_send(sl_be32 saddr, uint16_t sport, const char *body)
{
	uint8_t f[256];
	uint16_t l4 = (uint16_t)(8 + strlen(body)), off, c;
	uint8_t *u;

	off = t_eth_ip(f, SL_IPPROTO_UDP, l4, saddr, T_OUR_IP);
	u = f + off;
	sl_put_be16(u, sport);
	sl_put_be16(u + 2, NU_PORT);
	sl_put_be16(u + 4, l4);
	u[6] = u[7] = 0;
	memcpy(u + 8, body, strlen(body));
	c = sl_net_csum_fold(sl_net_csum_partial(u, l4,
		sl_net_pseudo_sum(saddr, T_OUR_IP, SL_IPPROTO_UDP, l4)));
	memcpy(u + 6, &c, 2);
	sl_lcore_input(&t_lc, f, off + l4, 0, T0);
}

Test(dp_source, udp_datagram_is_one_event_with_the_sender_header)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "5141",
					  "remoteAddressHeader", "from", NULL };
	uint8_t f[256];
	struct sl_take *txn;
	uint16_t l4 = 8 + 10, off, c;
	uint8_t *u;

	chan_open("100");
	source_open("netcatudp", kv);
	off = t_eth_ip(f, SL_IPPROTO_UDP, l4, T_PEER_IP, T_OUR_IP);
	u = f + off;
	sl_put_be16(u, 33333);
	sl_put_be16(u + 2, NU_PORT);
	sl_put_be16(u + 4, l4);
	u[6] = u[7] = 0;
	memcpy(u + 8, "hello\nrest", 10);
	c = sl_net_csum_fold(sl_net_csum_partial(u, l4,
		sl_net_pseudo_sum(T_PEER_IP, T_OUR_IP, SL_IPPROTO_UDP, l4)));
	memcpy(u + 6, &c, 2);
	sl_lcore_input(&t_lc, f, off + l4, 0, T0);
	cr_assert_null(sl_channel_take(cons, 10), "committed at burst end");
	cr_expect_eq(sl_lcore_ring_depth(&t_lc), 0, "not published yet");
	sl_lcore_flush(&t_lc, T0);
	txn = sl_channel_take(cons, 10);
	cr_assert_not_null(txn);
	cr_expect_eq(sl_lcore_ring_depth(&t_lc), ring_bytes(&txn->evs[0]),
		     "taken, not committed: still in the ring");
	cr_assert_eq(txn->nb_evs, 1);
	cr_expect_eq(txn->evs[0].body_len, 5);
	cr_expect(memcmp(txn->evs[0].body, "hello", 5) == 0);
	cr_assert_eq(txn->evs[0].nb_headers, 1);
	cr_expect_str_eq(txn->evs[0].hdrs[0].key, "from");
	cr_expect_str_eq(txn->evs[0].hdrs[0].val, "/10.0.0.1:33333");
	sl_channel_take_commit(cons, txn);
	cr_expect_eq(sl_lcore_ring_depth(&t_lc), 0, "released");
	cr_expect_eq(src->stats.event_accepted_count, 1);
	cr_expect_eq(src->stats.rx_bytes, 10);
}

Test(dp_source, udp_sender_header_matches_inet_ntop_for_every_digit_count)
{
	static const char *const kv[] = { "bind", "10.0.0.5", "port", "5141",
					  NULL };
	static const struct { uint32_t ip; uint16_t port; } from[] = {
		{ 0x00000000u, 1 }, { 0x0a000001u, 9 }, { 0x09630a00u, 10 },
		{ 0x7f000001u, 99 }, { 0xc0a80164u, 100 },
		{ 0xac10fe0au, 1000 }, { 0x01020304u, 10000 },
		{ 0xffffffffu, 65535 }, { 0x64c8fa05u, 54321 },
	};
	const unsigned n = sizeof(from) / sizeof(from[0]);
	struct sl_take *txn;
	unsigned i;

	chan_open("100");
	source_open("netcatudp", kv);
	for (i = 0; i < n; i++)
		udp_send(htonl(from[i].ip), from[i].port, "x");
	sl_lcore_flush(&t_lc, T0);
	txn = sl_channel_take(cons, 100);
	cr_assert_not_null(txn);
	cr_assert_eq(txn->nb_evs, n);
	for (i = 0; i < n; i++) {
		struct in_addr a = { .s_addr = htonl(from[i].ip) };
		char ip[INET_ADDRSTRLEN], want[32];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(want, sizeof(want), "/%s:%u", ip,
			 (unsigned)from[i].port);
		cr_assert_eq(txn->evs[i].nb_headers, 1);
		cr_expect_str_eq(txn->evs[i].hdrs[0].key, "REMOTE_ADDRESS");
		cr_expect_str_eq(txn->evs[i].hdrs[0].val, want);
		cr_expect_eq(txn->evs[i].hdrs[0].val_len, strlen(want));
	}
	sl_channel_take_commit(cons, txn);
	cr_expect_eq(src->stats.event_accepted_count, n);
}

/* ---- over a file channel whose fdatasync fails ---------------------------- */

struct peer {
	uint16_t sport;
	uint32_t seq;			/* our next byte as the peer */
	uint32_t una;			/* the dataplane's ISS + 1 */
	uint32_t rcv;			/* next reply byte expected */
	char rep[65536];		/* replies, in sequence order */
	size_t len;
	bool fin;			/* the dataplane's FIN came */
};

static struct peer *peers[4];
static unsigned nb_peers;

static void
peer_open(struct peer *pe, uint16_t sport, uint64_t now)
{
	struct sl_pkt p;
	unsigned n0 = t_tx.n;

	memset(pe, 0, sizeof(*pe));
	pe->sport = sport;
	cr_assert(nb_peers < 4);
	peers[nb_peers++] = pe;
	t_send_tcp(&(struct t_seg){ .seq = 1000, .flags = SL_TCP_SYN,
				   .opts = t_syn_opts, .optlen = 8,
				   .sport = sport, .dport = NC_PORT }, now);
	cr_assert_eq(t_tx.n, n0 + 1, "no SYN-ACK");
	p = t_tx_tcp(n0);
	pe->una = pe->rcv = p.seq + 1;
	pe->seq = 1001;
	t_send_tcp(&(struct t_seg){ .seq = pe->seq, .ack = pe->una,
				   .flags = SL_TCP_ACK, .win = 512,
				   .sport = sport, .dport = NC_PORT }, now);
}

static void
peer_send(struct peer *pe, const char *data, size_t len, uint8_t flags,
	  uint64_t now)
{
	t_send_tcp(&(struct t_seg){ .seq = pe->seq, .ack = pe->rcv,
				   .flags = SL_TCP_ACK | flags, .data = data,
				   .len = (uint32_t)len, .win = 512,
				   .sport = pe->sport, .dport = NC_PORT }, now);
	pe->seq += (uint32_t)len + (flags & SL_TCP_FIN ? 1 : 0);
}

static unsigned
count_lines(const char *s, size_t len, const char *line)
{
	size_t i = 0, l = line ? strlen(line) : 0;
	unsigned n = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t k = nl ? (size_t)(nl - (s + i)) : len - i;

		if (!line || (k == l && memcmp(s + i, line, l) == 0))
			n++;
		i += k + 1;
	}
	return n;
}

/*
 * Be the peers while the channel's writer works on its own thread: burst
 * ends (the clock stays put: no retransmission), our replies collected per
 * peer in sequence order and acknowledged, until @pe has @want reply lines
 * in all, or its FIN came (or 30 s of real time passed). Returns its lines
 * so far.
 */
static unsigned
peer_pump(struct peer *pe, unsigned want, uint64_t now)
{
	uint64_t deadline = sl_time_mono_ns() + 30 * SL_NS_PER_SEC;
	unsigned lines;

	for (;;) {
		bool got[4] = { false }, any = false;
		unsigned i, k;

		sl_lcore_flush(&t_lc, now);
		for (i = 0; i < t_tx.n; i++) {
			struct sl_pkt p = t_tx_tcp(i);
			struct peer *q;

			for (k = 0; k < nb_peers; k++)
				if (ntohs(p.dport) == peers[k]->sport)
					break;
			if (k == nb_peers)
				continue;
			q = peers[k];
			if (p.seq == q->rcv && p.payload_len) {
				cr_assert(q->len + p.payload_len <
					  sizeof(q->rep));
				memcpy(q->rep + q->len, p.payload,
				       p.payload_len);
				q->len += p.payload_len;
				q->rcv += p.payload_len;
				got[k] = any = true;
			}
			if ((p.tcp_flags & SL_TCP_FIN) && !q->fin &&
			    p.seq + p.payload_len == q->rcv) {
				q->fin = true;
				q->rcv++;
				got[k] = any = true;
			}
		}
		t_tx.n = 0;		/* all seen: room for more */
		for (k = 0; k < nb_peers; k++)
			if (got[k])
				t_send_tcp(&(struct t_seg){
					.seq = peers[k]->seq,
					.ack = peers[k]->rcv,
					.flags = SL_TCP_ACK, .win = 512,
					.sport = peers[k]->sport,
					.dport = NC_PORT }, now);
		lines = count_lines(pe->rep, pe->len, NULL);
		if (lines >= want || pe->fin || sl_time_mono_ns() > deadline)
			return lines;
		if (!any)
			sl_time_sleep_ns(SL_NS_PER_MS);
	}
}

static struct fault_io *fio;
static struct fc_handle fch;
static char *fdir;

/* The netcat source (ack-every-event) on the lcore over a file channel
 * with the fault backend under it; @extra: more key/value pairs or NULL. */
static void
faulty_open_kv(const char *const *extra)
{
	const char *kv[16] = { "bind", "10.0.0.5", "port", "4142" };
	static const char *const fkv[] = { "checkpointInterval=600000", NULL };
	struct sl_err err = { 0 };
	unsigned n = 4;

	while (extra && *extra && n < 14)
		kv[n++] = *extra++;
	kv[n] = NULL;
	nb_peers = 0;
	t_tx.n = 0;
	fio = fault_io_new();
	fdir = fcu_tmpdir("/dev/shm");
	fcu_open(&fch, fdir, fkv,
		 &(struct dlog_test_opts){ .io = &fio->wrap.base });
	cons = sl_channel_consumer_open(fch.ch, "k1", 64, 1, &err);
	cr_assert_not_null(cons, "%s", err.msg);
	ch = fch.ch;
	source_open("netcat", kv);
	ch = NULL;			/* closed here, not by teardown */
	cr_assert_eq(fch.ch->ops->start(fch.ch), 0);
}

static void
faulty_open(void)
{
	faulty_open_kv(NULL);
}

static void
faulty_close(void)
{
	src->ops->destroy(src);
	src = NULL;
	fcu_crash(&fch);
	wrap_destroy(&fio->wrap.base);
	fcu_rmrf(fdir);
	free(fdir);
}

#define FAILED_EIO "FAILED: Unable to put event on required channel: c1"

/*
 * Lines put while the next fdatasync fails can never be acknowledged:
 * their OKs (held for the sync) become FAILED, the connection reads on,
 * and a later line is refused at once with the same words; every FAILED
 * line counted in ChannelWriteFail. A peer that sent its FIN behind such
 * lines gets their FAILED, then our FIN: nobody hangs.
 */
Test(dp_source, lines_waiting_on_a_failed_sync_get_failed)
{
	static struct peer a, b;

	faulty_open();
	peer_open(&a, 40001, T0);
	peer_send(&a, "a\nb\nc\nd\n", 8, SL_TCP_PSH, T0);
	cr_assert_eq(peer_pump(&a, 4, T0), 4);
	cr_assert_eq(count_lines(a.rep, a.len, "OK"), 4, "synced: OK");

	/* The next fdatasync fails. */
	__atomic_store_n(&fio->fail_sync_at, fio->nb_syncs + 1,
			 __ATOMIC_RELEASE);
	peer_open(&b, 40002, T0);
	peer_send(&b, "x\ny\n", 4, SL_TCP_PSH | SL_TCP_FIN, T0);
	peer_send(&a, "e\nf\ng\nh\ni\n", 10, SL_TCP_PSH, T0);
	cr_assert_eq(peer_pump(&a, 9, T0), 9, "every line answered: %.*s",
		     (int)a.len, a.rep);
	cr_assert_eq(count_lines(a.rep, a.len, FAILED_EIO), 5, "%.*s",
		     (int)a.len, a.rep);
	cr_assert(sl_file_channel_unhealthy(fch.ch));
	/* Connection b: FAILED for both lines, then the FIN it waited for. */
	cr_assert_eq(peer_pump(&b, 2, T0), 2);
	cr_assert_eq(count_lines(b.rep, b.len, FAILED_EIO), 2, "%.*s",
		     (int)b.len, b.rep);
	cr_assert(b.fin, "our FIN after the replies");
	/* A later line is refused at once, in the same words. */
	peer_send(&a, "j\n", 2, SL_TCP_PSH, T0);
	cr_assert_eq(peer_pump(&a, 10, T0), 10);
	cr_assert_eq(count_lines(a.rep, a.len, FAILED_EIO), 6);
	sl_lcore_flush(&t_lc, T0);	/* merge the core's counters */
	cr_expect_eq(src->stats.event_received_count, 12);
	/* e..i and x, y failed either at their commit (the channel already
	 * unhealthy) or after it (their sync failed), as the writer thread
	 * raced: counted once either way; j always at its commit. */
	cr_expect_geq(src->stats.event_accepted_count, 4);
	cr_expect_leq(src->stats.event_accepted_count, 11);
	cr_expect_eq(src->stats.channel_write_fail, 8,
		     "ChannelWriteFail counts every FAILED line once");
	faulty_close();
}

/*
 * More replies owed than the send queue holds (600 one-byte lines, 8 KiB
 * of send buffer, ~52 bytes per FAILED): they go out as the peer
 * acknowledges, in order, all of them, and the lines after them are read
 * only then (FAILED too, behind).
 */
Test(dp_source, owed_failed_replies_larger_than_the_send_queue_all_arrive)
{
	static struct peer a;
	static char lines[1200 + 200];
	unsigned i;

	faulty_open();
	peer_open(&a, 40003, T0);
	for (i = 0; i < 600; i++)
		memcpy(lines + 2 * i, "x\n", 2);
	__atomic_store_n(&fio->fail_sync_at, fio->nb_syncs + 1,
			 __ATOMIC_RELEASE);
	peer_send(&a, lines, 1200, SL_TCP_PSH, T0);
	cr_assert_eq(peer_pump(&a, 600, T0), 600, "%zu bytes of replies",
		     a.len);
	cr_assert_eq(count_lines(a.rep, a.len, FAILED_EIO), 600);
	cr_assert_gt(a.len, SL_TCP_SNDBUF, "more than one send queue");
	peer_send(&a, lines, 200, SL_TCP_PSH | SL_TCP_FIN, T0);
	cr_assert_eq(peer_pump(&a, 700, T0), 700);
	cr_assert_eq(count_lines(a.rep, a.len, FAILED_EIO), 700);
	cr_assert(a.fin);
	sl_lcore_flush(&t_lc, T0);
	cr_expect_eq(src->stats.channel_write_fail, 700);
	cr_expect_eq(src->stats.drop[SL_DROP_TCP_SNDBUF_FULL], 0);
	faulty_close();
}

/*
 * An over-long line behind lines waiting for their sync: its FAILED and
 * the close come after their OKs, in order, none lost to the close.
 */
Test(dp_source, over_long_line_behind_held_oks_is_answered_after_them)
{
	static const char *const kv[] = { "max-line-length", "8", NULL };
	static const char in[] = "ab\ncd\n123456789\nnever\n";
	static struct peer a;

	faulty_open_kv(kv);
	peer_open(&a, 40004, T0);
	peer_send(&a, in, strlen(in), SL_TCP_PSH, T0);
	cr_assert_eq(peer_pump(&a, 3, T0), 3, "%.*s", (int)a.len, a.rep);
	cr_assert_eq(a.len, strlen("OK\nOK\nFAILED: Event exceeds the "
				   "maximum length (8 chars, including "
				   "newline)\n"));
	cr_assert(memcmp(a.rep, "OK\nOK\nFAILED: Event exceeds the maximum "
			 "length (8 chars, including newline)\n", a.len) == 0,
		  "%.*s", (int)a.len, a.rep);
	peer_pump(&a, 4, T0);		/* until our FIN (or 30 s) */
	cr_assert(a.fin, "closed after the replies");
	sl_lcore_flush(&t_lc, T0);
	cr_expect_eq(src->stats.event_accepted_count, 2);
	cr_expect_eq(src->stats.event_read_fail, 1);
	cr_expect_eq(src->stats.drop[SL_DROP_TCP_AFTER_CLOSE], 0);
	cr_expect_eq(t_lc.stats.drop[SL_DROP_TCP_AFTER_CLOSE], 0);
	faulty_close();
}

/*
 * Without acks nothing waits for the sync: once the channel is unhealthy
 * every later line is refused at its commit and counted as a channel
 * error (not as channel full), the connection reads on and closes cleanly.
 */
Test(dp_source, without_acks_lines_refused_by_an_unhealthy_channel_are_counted)
{
	static const char *const kv[] = { "ack-every-event", "false", NULL };
	static struct peer a;
	uint64_t deadline = sl_time_mono_ns() + 30 * SL_NS_PER_SEC;

	faulty_open_kv(kv);
	peer_open(&a, 40005, T0);
	__atomic_store_n(&fio->fail_sync_at, fio->nb_syncs + 1,
			 __ATOMIC_RELEASE);
	peer_send(&a, "a\nb\n", 4, SL_TCP_PSH, T0);
	while (!sl_file_channel_unhealthy(fch.ch) &&
	       sl_time_mono_ns() < deadline) {
		sl_lcore_flush(&t_lc, T0);
		sl_time_sleep_ns(SL_NS_PER_MS);
	}
	cr_assert(sl_file_channel_unhealthy(fch.ch));
	peer_send(&a, "c\nd\ne\n", 6, SL_TCP_PSH | SL_TCP_FIN, T0);
	peer_pump(&a, 1, T0);		/* until our FIN */
	cr_assert(a.fin, "closed, not hung");
	cr_assert_eq(a.len, 0, "no replies without acks");
	sl_lcore_flush(&t_lc, T0);
	cr_expect_eq(src->stats.event_received_count, 5);
	cr_expect_eq(src->stats.event_accepted_count, 2);
	cr_expect_eq(src->stats.channel_write_fail, 3);
	cr_expect_eq(src->stats.drop[SL_DROP_CHANNEL_ERROR], 3);
	cr_expect_eq(src->stats.drop[SL_DROP_CHANNEL_FULL], 0);
	faulty_close();
}
