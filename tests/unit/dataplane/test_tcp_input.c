/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dataplane's TCP receive side, driven with crafted frames and an
 * injected clock, no EAL: SYN cookie handshake, in-order and out-of-order
 * delivery, duplicates and overlaps, an ISN straddling 2^32, the zero
 * window and its reopening, FIN, the RFC 5961 RST/SYN rules, the send
 * queue and its retransmission, limits.
 */
#include "net_test_util.h"

#define MS	(1000ull * 1000)
#define T0	(1000ull * 1000 * 1000)

TestSuite(tcp, .init = t_setup, .fini = t_teardown);

Test(tcp, syn_is_answered_with_a_cookie_and_no_state)
{
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 100, .flags = SL_TCP_SYN,
				   .opts = t_syn_opts, .optlen = 8 }, T0);
	cr_assert_eq(t_tx.n, 1);
	p = t_tx_tcp(0);
	cr_assert_eq(p.tcp_flags, SL_TCP_SYN | SL_TCP_ACK);
	cr_assert_eq(p.ack, 101);
	cr_assert_eq(p.win, SL_TCP_SYN_WINDOW);
	cr_assert_eq(p.opt_mss, 1460);
	cr_assert_eq(p.opt_wscale, 7);
	cr_assert_eq(t_lc.tcp.nb_open, 0, "a SYN must cost no state");
	cr_assert_eq(t_lc.stats.syn_cookies_sent, 1);
}

Test(tcp, syn_without_window_scale_gets_none_back)
{
	static const uint8_t mss_only[] = { 2, 4, 0x02, 0x18 };	/* 536 */
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 5, .flags = SL_TCP_SYN,
				   .opts = mss_only, .optlen = 4 }, T0);
	p = t_tx_tcp(0);
	cr_assert_eq(p.opt_wscale, -1);
	t_send_tcp(&(struct t_seg){ .seq = 6, .ack = p.seq + 1,
				   .flags = SL_TCP_ACK, .win = 1000 }, T0);
	cr_assert_not_null(t_app.conn);
	cr_assert_eq(t_app.conn->rcv_wscale, 0);
	cr_assert_eq(t_app.conn->snd_wscale, 0);
	cr_assert_eq(t_app.conn->mss, 536);
	cr_assert_eq(t_app.conn->snd_wnd, 1000);
}

Test(tcp, handshake_opens_a_connection)
{
	uint32_t una = t_handshake(1000, T0);

	cr_assert_eq(t_lc.tcp.nb_open, 1);
	cr_assert_eq(t_lc.stats.tcp_conns_open, 1);
	cr_assert_eq(t_app.conn->state, SL_TCP_ESTABLISHED);
	cr_assert_eq(t_app.conn->rcv_nxt, 1001);
	cr_assert_eq(t_app.conn->snd_una, una);
	cr_assert_eq(t_app.conn->snd_wnd, 512u << 7);
}

Test(tcp, forged_ack_fails_the_cookie_and_is_reset)
{
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 100, .flags = SL_TCP_SYN }, T0);
	p = t_tx_tcp(0);
	t_send_tcp(&(struct t_seg){ .seq = 101, .ack = p.seq + 2,
				   .flags = SL_TCP_ACK }, T0);
	cr_assert_eq(t_lc.tcp.nb_open, 0);
	cr_assert_eq(t_drop(SL_DROP_SYN_COOKIE_FAIL), 1);
	p = t_tx_tcp(1);
	cr_assert_eq(p.tcp_flags, SL_TCP_RST);
	/* Another ISN in the ACK (the cookie hashes the peer's ISN). */
	p = t_tx_tcp(0);
	t_send_tcp(&(struct t_seg){ .seq = 201, .ack = p.seq + 1,
				   .flags = SL_TCP_ACK }, T0);
	cr_assert_eq(t_drop(SL_DROP_SYN_COOKIE_FAIL), 2);
	cr_assert_eq(t_app.accepts, 0);
}

Test(tcp, cookie_expires_after_two_time_slots)
{
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 100, .flags = SL_TCP_SYN }, T0);
	p = t_tx_tcp(0);
	t_send_tcp(&(struct t_seg){ .seq = 101, .ack = p.seq + 1,
				   .flags = SL_TCP_ACK },
		   T0 + 3 * SL_TCP_COOKIE_PERIOD_NS);
	cr_assert_eq(t_drop(SL_DROP_SYN_COOKIE_FAIL), 1);
	/* Within the next slot it is still good. */
	t_send_tcp(&(struct t_seg){ .seq = 101, .ack = p.seq + 1,
				   .flags = SL_TCP_ACK },
		   T0 + SL_TCP_COOKIE_PERIOD_NS);
	cr_assert_eq(t_app.accepts, 1);
}

Test(tcp, in_order_data_is_delivered_and_acked_once_per_flush)
{
	uint32_t una = t_handshake(1000, T0);
	struct sl_pkt p;
	unsigned n0;

	t_data(1001, una, "hello\n", 6, T0);
	t_data(1007, una, "world\n", 6, T0);
	n0 = t_tx.n;
	p = t_flush_last(T0);
	cr_assert_eq(t_tx.n, n0 + 1, "one ACK for the burst");
	cr_assert_eq(p.tcp_flags, SL_TCP_ACK);
	cr_assert_eq(p.ack, 1013);
	cr_assert_eq(t_app.rx_len, 12);
	cr_assert(memcmp(t_app.rx, "hello\nworld\n", 12) == 0);
	cr_assert_eq(t_lc.stats.tcp_rx_bytes, 12);
}

Test(tcp, out_of_order_is_held_until_the_gap_fills)
{
	uint32_t una = t_handshake(1000, T0);
	struct sl_pkt p;

	t_data(1011, una, "CCCCC", 5, T0);
	t_data(1006, una, "BBBBB", 5, T0);
	cr_assert_eq(t_app.rx_len, 0);
	cr_assert_eq(t_lc.stats.tcp_ooo_segments, 1, "merged into one range");
	p = t_flush_last(T0);
	cr_assert_eq(p.ack, 1001, "duplicate ACK for the gap");
	t_data(1001, una, "AAAAA", 5, T0);
	cr_assert_eq(t_app.rx_len, 15);
	cr_assert(memcmp(t_app.rx, "AAAAABBBBBCCCCC", 15) == 0);
	cr_assert_eq(t_lc.stats.tcp_ooo_segments, 0);
	p = t_flush_last(T0);
	cr_assert_eq(p.ack, 1016);
}

Test(tcp, duplicates_and_overlaps_are_trimmed)
{
	uint32_t una = t_handshake(1000, T0);

	t_data(1001, una, "0123456789", 10, T0);
	t_data(1001, una, "0123456789", 10, T0);		/* duplicate */
	cr_assert_eq(t_drop(SL_DROP_TCP_DUPLICATE), 1);
	t_data(1006, una, "56789abcde", 10, T0);		/* overlaps */
	t_data(1019, una, "ij", 2, T0);			/* ooo */
	t_data(1018, una, "hij", 3, T0);			/* ooo overlap */
	t_data(1015, una, "efgh", 4, T0);		/* fills, overlaps */
	cr_assert_eq(t_app.rx_len, 20);
	cr_assert(memcmp(t_app.rx, "0123456789abcdefghij", 20) == 0);
	cr_assert_eq(t_app.conn->rcv_nxt, 1021);
}

Test(tcp, isn_near_2_to_the_32_straddles_the_wrap)
{
	uint32_t isn = 0xffffffffu - 1000 + 1;	/* 2^32 - 1000 */
	uint32_t una = t_handshake(isn, T0);
	static uint8_t buf[3000];
	uint32_t i, seq = isn + 1;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* Out of order across the wrap first, then the head. */
	t_data(seq + 1400, una, buf + 1400, 1400, T0);
	t_data(seq + 2800, una, buf + 2800, 200, T0);
	t_data(seq, una, buf, 1400, T0);
	t_data(seq + 900, una, buf + 900, 200, T0);	/* dup across wrap */
	cr_assert_eq(t_app.rx_len, sizeof(buf));
	cr_assert(memcmp(t_app.rx, buf, sizeof(buf)) == 0);
	cr_assert_eq(t_app.conn->rcv_nxt, seq + 3000);
	cr_assert(t_app.conn->rcv_nxt < 4000, "wrapped past zero");
	cr_assert_eq(t_flush_last(T0).ack, seq + 3000);
}

Test(tcp, slow_application_fills_the_buffer_and_closes_the_window)
{
	uint32_t una = t_handshake(1000, T0), seq = 1001;
	const uint32_t edge = 1001 + SL_TCP_SYN_WINDOW;
	uint32_t total;
	static uint8_t chunk[1400];
	struct sl_pkt p = { 0 };
	uint64_t now = T0;
	uint32_t i;

	/* The application takes nothing: every byte is acknowledged into
	 * the receive buffer and the window shrinks to 0. */
	t_app.take_max = 0;
	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)('a' + i % 26);
	/* The peer may fill what the SYN-ACK promised. */
	while (seq != edge) {
		uint32_t n = SL_MIN(edge - seq, (uint32_t)sizeof(chunk)), e2;

		t_data(seq, una, chunk, n, now);
		seq += n;
		p = t_flush_last(now);
		cr_assert_eq(p.ack, seq, "buffered bytes are acknowledged");
		e2 = p.ack + ((uint32_t)p.win << 7);
		cr_assert(sl_seq_leq(e2, edge), "the window grew while full");
		cr_assert(edge - e2 < 128, "shown edge off by more than "
			  "scaling's rounding");
		(void)e2;
	}
	cr_assert_eq(p.win, 0);
	cr_assert_eq(t_app.rx_len, 0);
	total = seq - 1001;
	/* A zero-window probe (Linux: snd.una - 1, no data) is answered. */
	t_send_tcp(&(struct t_seg){ .seq = seq - 1, .ack = una,
				   .flags = SL_TCP_ACK }, now);
	p = t_flush_last(now);
	cr_assert_eq(p.win, 0);
	cr_assert_eq(p.ack, seq);
	cr_assert_eq(t_lc.stats.tcp_window_probes, 1);
	/* A one-byte probe is not taken while the window is closed. */
	t_data(seq, una, "A", 1, now);
	cr_assert_eq(t_lc.stats.tcp_window_probes, 2);
	p = t_flush_last(now);
	cr_assert_eq(p.win, 0);
	cr_assert(t_lc.stats.tcp_zero_windows >= 2);
	/* The application takes again: the timer hands it the buffer and
	 * sends a window update by itself. */
	t_app.take_max = UINT32_MAX;
	now += 10 * MS;
	p = t_flush_last(now);
	cr_assert_eq(t_app.rx_len, total);
	for (i = 0; i < total; i++)
		if (t_app.rx[i] != (uint8_t)('a' + (i % 1400) % 26))
			break;
	cr_assert_eq(i, total, "buffered bytes intact, in order");
	cr_assert_eq(p.ack, seq);
	cr_assert(p.win > 0);
	cr_assert_eq(t_lc.stats.tcp_window_updates, 1);
	t_data(seq, una, "ABCDEF", 6, now);
	cr_assert_eq(t_app.rx_len, total + 6);
	cr_assert(memcmp(t_app.rx + total, "ABCDEF", 6) == 0);
}

Test(tcp, partial_take_keeps_the_rest_for_later_and_eof_waits)
{
	uint32_t una = t_handshake(1000, T0);

	t_app.take_max = 4;
	t_send_tcp(&(struct t_seg){ .seq = 1001, .ack = una,
				   .flags = SL_TCP_ACK | SL_TCP_FIN,
				   .data = "abcdefgh", .len = 8 }, T0);
	cr_assert_eq(t_app.rx_len, 4);
	cr_assert_eq(t_app.eofs, 0, "EOF only after every byte");
	cr_assert_eq(t_app.conn->rcv_nxt, 1010, "data and FIN acknowledged");
	sl_lcore_flush(&t_lc, T0);
	cr_assert(!(t_tx_tcp(t_tx.n - 1).tcp_flags & SL_TCP_FIN),
		  "no FIN of ours before the application saw the end");
	t_app.take_max = UINT32_MAX;
	sl_lcore_flush(&t_lc, T0 + 10 * MS);
	cr_assert_eq(t_app.rx_len, 8);
	cr_assert(memcmp(t_app.rx, "abcdefgh", 8) == 0);
	cr_assert_eq(t_app.eofs, 1);
	cr_assert(t_tx_tcp(t_tx.n - 1).tcp_flags & SL_TCP_FIN);
}

Test(tcp, fin_mid_line_reaches_the_application_after_the_bytes)
{
	uint32_t una = t_handshake(1000, T0);
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 1001, .ack = una,
				   .flags = SL_TCP_ACK | SL_TCP_FIN,
				   .data = "line\ntail", .len = 9 }, T0);
	cr_assert_eq(t_app.rx_len, 9);
	cr_assert_eq(t_app.eofs, 1);
	cr_assert_eq(t_app.conn->state, SL_TCP_CLOSE_WAIT);
	p = t_flush_last(T0);
	/* Our FIN goes with the ACK of theirs (nothing queued to send). */
	cr_assert_eq(p.tcp_flags, SL_TCP_ACK | SL_TCP_FIN);
	cr_assert_eq(p.ack, 1011);
	cr_assert_eq(p.seq, una);
	cr_assert_eq(t_app.conn->state, SL_TCP_LAST_ACK);
	t_send_tcp(&(struct t_seg){ .seq = 1011, .ack = una + 1,
				   .flags = SL_TCP_ACK }, T0);
	cr_assert_eq(t_app.closeds, 1);
	cr_assert_eq(t_lc.tcp.nb_open, 0);
	cr_assert_eq(t_lc.stats.tcp_conns_closed, 1);
	cr_assert_eq(t_lc.stats.tcp_conns_open, 0);
}

Test(tcp, early_fin_waits_for_the_gap)
{
	uint32_t una = t_handshake(1000, T0);

	t_send_tcp(&(struct t_seg){ .seq = 1004, .ack = una,
				   .flags = SL_TCP_ACK | SL_TCP_FIN,
				   .data = "def", .len = 3 }, T0);
	cr_assert_eq(t_app.eofs, 0);
	t_data(1001, una, "abc", 3, T0);
	cr_assert_eq(t_app.rx_len, 6);
	cr_assert_eq(t_app.eofs, 0, "FIN not held: comes again");
	t_send_tcp(&(struct t_seg){ .seq = 1007, .ack = una,
				   .flags = SL_TCP_ACK | SL_TCP_FIN }, T0);
	cr_assert_eq(t_app.eofs, 1);
}

Test(tcp, exact_rst_resets)
{
	uint32_t una = t_handshake(1000, T0);

	t_send_tcp(&(struct t_seg){ .seq = 1001, .ack = una,
				   .flags = SL_TCP_RST }, T0);
	cr_assert_eq(t_app.closeds, 1);
	cr_assert_eq(t_lc.tcp.nb_open, 0);
	cr_assert_eq(t_lc.stats.tcp_conns_reset, 1);
}

Test(tcp, in_window_rst_gets_a_challenge_ack)
{
	uint32_t una = t_handshake(1000, T0);
	unsigned n0 = t_tx.n;
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 1500, .flags = SL_TCP_RST }, T0);
	cr_assert_eq(t_app.closeds, 0, "RFC 5961: not reset");
	cr_assert_eq(t_tx.n, n0 + 1);
	p = t_tx_tcp(n0);
	cr_assert_eq(p.tcp_flags, SL_TCP_ACK);
	cr_assert_eq(p.ack, 1001);
	cr_assert_eq(p.seq, una);
	cr_assert_eq(t_lc.stats.challenge_acks, 1);
	cr_assert_eq(t_drop(SL_DROP_TCP_BAD_RST), 1);
}

Test(tcp, out_of_window_rst_is_silently_dropped)
{
	t_handshake(1000, T0);
	unsigned n0 = t_tx.n;

	t_send_tcp(&(struct t_seg){ .seq = 1001 + 200000,
				   .flags = SL_TCP_RST }, T0);
	t_send_tcp(&(struct t_seg){ .seq = 900, .flags = SL_TCP_RST }, T0);
	cr_assert_eq(t_tx.n, n0);
	cr_assert_eq(t_app.closeds, 0);
	cr_assert_eq(t_drop(SL_DROP_TCP_BAD_RST), 2);
}

Test(tcp, syn_on_established_gets_a_challenge_ack)
{
	uint32_t una = t_handshake(1000, T0);
	unsigned n0 = t_tx.n;
	struct sl_pkt p;

	t_send_tcp(&(struct t_seg){ .seq = 5555, .flags = SL_TCP_SYN }, T0);
	cr_assert_eq(t_tx.n, n0 + 1);
	p = t_tx_tcp(n0);
	cr_assert_eq(p.tcp_flags, SL_TCP_ACK);
	cr_assert_eq(p.ack, 1001);
	cr_assert_eq(p.seq, una);
	cr_assert_eq(t_app.conn->state, SL_TCP_ESTABLISHED);
	cr_assert_eq(t_drop(SL_DROP_TCP_BAD_SYN), 1);
}

Test(tcp, challenge_acks_are_rate_limited)
{
	unsigned i, n0;

	t_handshake(1000, T0);
	n0 = t_tx.n;
	for (i = 0; i < SL_DP_CHALLENGE_ACKS + 50; i++)
		t_send_tcp(&(struct t_seg){ .seq = 1500,
					   .flags = SL_TCP_RST }, T0);
	cr_assert_eq(t_tx.n - n0, SL_DP_CHALLENGE_ACKS);
	cr_assert_eq(t_lc.stats.challenge_acks_limited, 50);
	/* The next second brings a fresh allowance. */
	t_send_tcp(&(struct t_seg){ .seq = 1500, .flags = SL_TCP_RST },
		   T0 + 1000 * MS);
	cr_assert_eq(t_tx.n - n0, SL_DP_CHALLENGE_ACKS + 1);
}

Test(tcp, ack_beyond_snd_nxt_is_answered_and_dropped)
{
	uint32_t una = t_handshake(1000, T0);

	t_data(1001, una + 10, "xyz", 3, T0);
	cr_assert_eq(t_app.rx_len, 0);
	cr_assert_eq(t_drop(SL_DROP_TCP_BAD_ACK), 1);
}

Test(tcp, replies_are_sent_acked_and_retransmitted)
{
	uint32_t una = t_handshake(1000, T0);
	struct sl_pkt p;
	unsigned n0;

	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, "OK\n", 3), 0);
	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, "OK\n", 3), 0);
	p = t_flush_last(T0);
	cr_assert_eq(p.seq, una);
	cr_assert_eq(p.payload_len, 6);
	cr_assert(memcmp(p.payload, "OK\nOK\n", 6) == 0);
	/* Lost: after the RTO it comes again, whole. */
	n0 = t_tx.n;
	sl_lcore_flush(&t_lc, T0 + 100 * MS);
	cr_assert_eq(t_tx.n, n0, "not before the RTO");
	p = t_flush_last(T0 + 300 * MS);
	cr_assert_eq(p.seq, una);
	cr_assert_eq(p.payload_len, 6);
	cr_assert_eq(t_lc.stats.tcp_retransmits, 1);
	/* Acknowledged: nothing more is sent. */
	t_send_tcp(&(struct t_seg){ .seq = 1001, .ack = una + 6,
				   .flags = SL_TCP_ACK }, T0 + 301 * MS);
	cr_assert_eq(t_app.conn->snd_len, 0);
	n0 = t_tx.n;
	sl_lcore_flush(&t_lc, T0 + 5000 * MS);
	cr_assert_eq(t_tx.n, n0);
}

Test(tcp, send_buffer_full_is_refused)
{
	static uint8_t big[SL_TCP_SNDBUF];

	t_handshake(1000, T0);
	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, big, sizeof(big)), 0);
	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, "x", 1), -ENOBUFS);
}

Test(tcp, peer_that_never_acks_is_reset_after_retries)
{
	uint64_t now = T0;
	unsigned i;

	t_handshake(1000, T0);
	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, "OK\n", 3), 0);
	sl_lcore_flush(&t_lc, now);
	for (i = 0; i < 40 && t_app.closeds == 0; i++) {
		now += SL_TCP_RTO_MAX_NS;
		t_tx.n = 0;
		sl_lcore_flush(&t_lc, now);
	}
	cr_assert_eq(t_app.closeds, 1);
	cr_assert_eq(t_drop(SL_DROP_TCP_RETRANS_TIMEOUT), 1);
}

Test(tcp, idle_connection_is_reset)
{
	t_lc.conf.idle_timeout_ns = 5000 * MS;
	t_handshake(1000, T0);
	sl_lcore_flush(&t_lc, T0 + 4000 * MS);
	cr_assert_eq(t_app.closeds, 0);
	sl_lcore_flush(&t_lc, T0 + 5001 * MS);
	cr_assert_eq(t_app.closeds, 1);
	cr_assert_eq(t_drop(SL_DROP_TCP_IDLE_TIMEOUT), 1);
	cr_assert_eq(t_tx_tcp(t_tx.n - 1).tcp_flags, SL_TCP_RST | SL_TCP_ACK);
}

Test(tcp, connection_limit_stops_answering_syns)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		struct sl_pkt p;
		unsigned n0 = t_tx.n;

		t_send_tcp(&(struct t_seg){ .seq = 10, .flags = SL_TCP_SYN,
					   .sport = (uint16_t)(1000 + i) }, T0);
		p = t_tx_tcp(n0);
		t_send_tcp(&(struct t_seg){ .seq = 11, .ack = p.seq + 1,
					   .flags = SL_TCP_ACK,
					   .sport = (uint16_t)(1000 + i) }, T0);
	}
	cr_assert_eq(t_lc.tcp.nb_open, 16);
	i = t_tx.n;
	t_send_tcp(&(struct t_seg){ .seq = 10, .flags = SL_TCP_SYN,
				   .sport = 3000 }, T0);
	cr_assert_eq(t_tx.n, i);
	cr_assert_eq(t_drop(SL_DROP_CONN_LIMIT), 1);
}

Test(tcp, application_close_sends_fin_after_the_queue)
{
	uint32_t una = t_handshake(1000, T0);
	struct sl_pkt p;

	cr_assert_eq(sl_tcp_send(&t_lc, t_app.conn, "FAILED\n", 7), 0);
	sl_tcp_close(&t_lc, t_app.conn);
	sl_lcore_flush(&t_lc, T0);
	p = t_tx_tcp(t_tx.n - 2);
	cr_assert_eq(p.payload_len, 7);
	p = t_tx_tcp(t_tx.n - 1);
	cr_assert(p.tcp_flags & SL_TCP_FIN);
	cr_assert_eq(p.seq, una + 7);
	cr_assert_eq(t_app.conn->state, SL_TCP_FIN_WAIT_1);
	/* Data after the close is acknowledged and discarded, counted. */
	t_data(1001, una + 8, "more\n", 5, T0);
	cr_assert_eq(t_app.rx_len, 0);
	cr_assert_eq(t_drop(SL_DROP_TCP_AFTER_CLOSE), 1);
	cr_assert_eq(t_app.conn->state, SL_TCP_FIN_WAIT_2);
	t_send_tcp(&(struct t_seg){ .seq = 1006, .ack = una + 8,
				   .flags = SL_TCP_ACK | SL_TCP_FIN }, T0);
	cr_assert_eq(t_app.closeds, 1);
	cr_assert_eq(t_lc.tcp.nb_open, 0);
}

Test(tcp, ooo_queue_is_bounded_and_counts_the_excess)
{
	uint32_t una = t_handshake(1000, T0);
	unsigned i;

	/* Nine disjoint ranges: the ninth does not fit. */
	for (i = 0; i < SL_TCP_OOO_SEGS + 1; i++)
		t_data(1001 + 10 + 20 * i, una, "x", 1, T0);
	cr_assert_eq(t_app.conn->nb_ooo, SL_TCP_OOO_SEGS);
	cr_assert_eq(t_drop(SL_DROP_OOO_OVERFLOW), 1);
	/* Beyond the window (and so the buffer): not acceptable. */
	t_data(1001 + SL_TCP_RCVBUF + 10, una, "y", 1, T0);
	cr_assert_eq(t_drop(SL_DROP_OOO_OVERFLOW), 1);
	cr_assert_eq(t_drop(SL_DROP_TCP_OUT_OF_WINDOW), 1);
}

Test(tcp, segment_to_a_closed_port_is_reset)
{
	uint8_t f[T_FRAME];
	uint16_t len;
	struct sl_pkt p;

	len = t_build_tcp(f, &(struct t_seg){ .seq = 7, .flags = SL_TCP_SYN });
	sl_put_be16(f + 14 + 20 + 2, 9999);	/* dport */
	/* fix the checksum for the new port */
	f[14 + 20 + 16] = f[14 + 20 + 17] = 0;
	{
		uint16_t c = sl_net_csum_fold(sl_net_csum_partial(f + 34,
				len - 34u, sl_net_pseudo_sum(T_PEER_IP,
				T_OUR_IP, SL_IPPROTO_TCP,
				(uint16_t)(len - 34))));
		memcpy(f + 34 + 16, &c, 2);
	}
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_NO_LISTENER), 1);
	p = t_tx_tcp(0);
	cr_assert_eq(p.tcp_flags, SL_TCP_RST | SL_TCP_ACK);
	cr_assert_eq(p.ack, 8);
}

Test(tcp, timers_walk_a_big_table_in_slices)
{
	struct sl_lcore_conf conf = {
		.max_conns = 2500, .mtu = 1500, .cookie_secret = { 3, 4 },
		.idle_timeout_ns = 1000 * MS,
	};
	unsigned i, ticks;
	uint64_t now;

	sl_lcore_fini(&t_lc);
	t_tx.wrap = true;
	memcpy(conf.mac, t_our_mac, 6);
	cr_assert_eq(sl_lcore_init(&t_lc, &conf, &t_tx_ops), 0);
	sl_lcore_addr_add(&t_lc, T_OUR_IP, htonl(0xffffff00), 0, 0);
	sl_lcore_listen(&t_lc, SL_IPPROTO_TCP, T_OUR_IP, htons(T_PORT),
			&t_app_ops, NULL);
	/* 2100 connections: slots 0..2099, two slices and a bit. */
	for (i = 0; i < 2100; i++) {
		struct sl_pkt p;

		t_tx.n = 0;
		t_send_tcp(&(struct t_seg){ .seq = 10, .flags = SL_TCP_SYN,
					   .sport = (uint16_t)(1024 + i) }, T0);
		p = t_tx_tcp(0);
		t_send_tcp(&(struct t_seg){ .seq = 11, .ack = p.seq + 1,
					   .flags = SL_TCP_ACK,
					   .sport = (uint16_t)(1024 + i) }, T0);
	}
	cr_assert_eq(t_lc.tcp.nb_open, 2100);
	/* Past the idle limit, each 1 ms tick visits 1024 slots: all 2100
	 * go within three ticks, none before the limit. */
	t_tx.n = 0;
	sl_lcore_flush(&t_lc, T0 + 999 * MS);
	cr_assert_eq(t_app.closeds, 0);
	now = T0 + 1001 * MS;
	t_tx.n = 0;
	sl_lcore_flush(&t_lc, now);
	cr_assert_eq(t_lc.tcp.nb_open, 2100 - SL_TCP_TIMER_SLICE,
		     "one slice per tick: %u open", t_lc.tcp.nb_open);
	now += MS;
	for (ticks = 1; ticks < 3 && t_lc.tcp.nb_open; ticks++) {
		t_tx.n = 0;
		sl_lcore_flush(&t_lc, now);
		now += MS;
	}
	cr_assert_eq(t_lc.tcp.nb_open, 0, "%u left", t_lc.tcp.nb_open);
	cr_assert_eq(t_app.closeds, 2100);
	cr_assert_eq(t_drop(SL_DROP_TCP_IDLE_TIMEOUT), 2100);
}
