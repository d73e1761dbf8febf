/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP input: RFC 9293 §3.10.7 "SEGMENT ARRIVES" for the states a receiving
 * server needs, with the RFC 5961 mitigations (challenge ACKs for in-window
 * RSTs and for SYNs on a synchronized connection, the ACK acceptability
 * test), SYN cookies for the passive open, and the receive queue: in-order
 * bytes go straight to the application, out-of-order ones wait in a bounded
 * per-connection buffer. Dataplane core.
 */
#include <errno.h>
#include <string.h>

#include "dp_int.h"
#include "tcp_int.h"

#define SL_NS_PER_SEC_	1000000000ull

/* RFC 5961 §7: at most SL_DP_CHALLENGE_ACKS challenge ACKs per second. */
static void
tcp_challenge_ack(struct sl_lcore *lc, struct sl_tcp_conn *conn, uint64_t now)
{
	uint64_t sec = now / SL_NS_PER_SEC_;

	if (sec != lc->challenge_sec) {
		lc->challenge_sec = sec;
		lc->challenge_left = SL_DP_CHALLENGE_ACKS;
	}
	if (!lc->challenge_left) {
		sl_stat_add(&lc->stats.challenge_acks_limited, 1);
		return;
	}
	lc->challenge_left--;
	sl_stat_add(&lc->stats.challenge_acks, 1);
	sl_tcp_send_ack(lc, conn);
}

/* Hand in-order bytes to the application; returns how many it took. */
static uint32_t
tcp_deliver(struct sl_lcore *lc, struct sl_tcp_conn *conn,
	    const uint8_t *data, uint32_t len, uint64_t now)
{
	uint32_t n;

	if (conn->app_closed) {
		/* Closing on the application's request: the bytes are
		 * acknowledged and discarded, and counted. */
		sl_lcore_drop(lc, SL_DROP_TCP_AFTER_CLOSE);
		n = len;
	} else {
		n = conn->ln->ops->tcp_recv(conn->ln->ctx, lc, conn, data,
					    len, now);
		if (n > len)
			n = len;
	}
	conn->rcv_app += n;
	sl_stat_add(&lc->stats.tcp_rx_bytes, n);
	return n;
}

/* Copy [seq, seq + len) into the receive buffer (indexed by seq). */
static void
tcp_rcvbuf_put(struct sl_tcp_conn *conn, uint32_t seq, const uint8_t *data,
	       uint32_t len)
{
	const uint32_t mask = SL_TCP_RCVBUF - 1;
	uint32_t pos = seq & mask, first = SL_MIN(len, SL_TCP_RCVBUF - pos);

	memcpy(conn->rcvbuf + pos, data, first);
	memcpy(conn->rcvbuf, data + first, len - first);
}

void
sl_tcp_rcv_drain(struct sl_lcore *lc, struct sl_tcp_conn *conn, uint64_t now)
{
	const uint32_t mask = SL_TCP_RCVBUF - 1;
	uint32_t end = conn->fin_rcvd ? conn->rcv_fin : conn->rcv_nxt;

	while (conn->app && sl_seq_lt(conn->rcv_app, end)) {
		uint32_t pos = conn->rcv_app & mask;
		uint32_t k = SL_MIN(end - conn->rcv_app, SL_TCP_RCVBUF - pos);

		if (tcp_deliver(lc, conn, conn->rcvbuf + pos, k, now) < k)
			return;		/* the rest waits for the app */
	}
	/* Everything before the FIN is delivered: now the end of stream. */
	if (conn->fin_rcvd && !conn->eof_done && conn->rcv_app == end) {
		conn->eof_done = true;
		sl_tcp_mark_dirty(lc, conn);	/* our FIN may go now */
		if (conn->app && !conn->app_closed && conn->ln->ops->tcp_eof)
			conn->ln->ops->tcp_eof(conn->ln->ctx, lc, conn, now);
	}
}

/*
 * Hold [seq, seq+len) until the gap before it is filled (RFC 9293 §3.10.7.4
 * seventh: "segments with higher beginning sequence numbers may be held
 * for later processing"). The bytes go into the receive buffer (inside the
 * window, so they fit); SL_TCP_OOO_SEGS disjoint ranges at most, the
 * excess is counted, not stored.
 */
static void
sl_tcp_ofo_queue(struct sl_lcore *lc, struct sl_tcp_conn *conn, uint32_t seq,
		 const uint8_t *data, uint32_t len)
{
	uint32_t end = seq + len;
	struct sl_tcp_range v[SL_TCP_OOO_SEGS + 1], r;
	unsigned i, n = 0, nb_old = conn->nb_ooo;
	bool placed = false;

	/* Copying before the range check is harmless: bytes outside every
	 * held range are never read, and bytes inside one are the same. */
	tcp_rcvbuf_put(conn, seq, data, len);
	r.start = seq;
	r.end = end;
	for (i = 0; i < conn->nb_ooo; i++) {
		const struct sl_tcp_range *x = &conn->ooo[i];

		if (sl_seq_lt(x->end, r.start)) {
			v[n++] = *x;
		} else if (sl_seq_gt(x->start, r.end)) {
			if (!placed) {
				v[n++] = r;
				placed = true;
			}
			v[n++] = *x;
		} else {
			if (sl_seq_lt(x->start, r.start))
				r.start = x->start;
			if (sl_seq_gt(x->end, r.end))
				r.end = x->end;
		}
		if (n > SL_TCP_OOO_SEGS)
			break;
	}
	if (!placed && n <= SL_TCP_OOO_SEGS)
		v[n++] = r;
	if (n > SL_TCP_OOO_SEGS) {
		sl_lcore_drop(lc, SL_DROP_OOO_OVERFLOW);
		return;
	}
	memcpy(conn->ooo, v, n * sizeof(v[0]));
	conn->nb_ooo = (uint8_t)n;
	sl_stat_add(&lc->stats.tcp_ooo_queued, 1);
	sl_stat_add(&lc->stats.tcp_ooo_segments,
		    (uint64_t)((int64_t)n - (int64_t)nb_old));
}

/* Segment text, RFC 9293 §3.10.7.4 seventh, after acceptability. */
static void
tcp_data_queue(struct sl_lcore *lc, struct sl_tcp_conn *conn, uint32_t seq,
	       const uint8_t *data, uint32_t len, uint64_t now)
{
	uint32_t skip, n = 0;

	/* Retransmitted or overlapping bytes before rcv_nxt are trimmed. */
	if (sl_seq_lt(seq, conn->rcv_nxt)) {
		skip = conn->rcv_nxt - seq;
		if (skip >= len) {
			sl_lcore_drop(lc, SL_DROP_TCP_DUPLICATE);
			return;
		}
		data += skip;
		len -= skip;
		seq = conn->rcv_nxt;
	}
	/* Bytes past the window we advertised are trimmed as well (the
	 * window never reaches past the receive buffer). */
	if (sl_seq_gt(seq + len, conn->rcv_adv)) {
		if (sl_seq_leq(conn->rcv_adv, seq)) {
			sl_lcore_drop(lc, SL_DROP_TCP_OUT_OF_WINDOW);
			return;
		}
		len = conn->rcv_adv - seq;
		sl_lcore_drop(lc, SL_DROP_TCP_OUT_OF_WINDOW);
	}
	if (seq != conn->rcv_nxt) {
		sl_tcp_ofo_queue(lc, conn, seq, data, len);
		return;
	}
	/* In order. Nothing waiting before it: straight from the packet
	 * (the one copy, into the channel); what the application does not
	 * take waits in the receive buffer. */
	if (conn->rcv_app == conn->rcv_nxt)
		n = tcp_deliver(lc, conn, data, len, now);
	if (n < len)
		tcp_rcvbuf_put(conn, seq + n, data + n, len - n);
	conn->rcv_nxt += len;
	/* Out-of-order ranges the new bytes reach become in order. */
	while (conn->nb_ooo && sl_seq_leq(conn->ooo[0].start, conn->rcv_nxt)) {
		if (sl_seq_gt(conn->ooo[0].end, conn->rcv_nxt))
			conn->rcv_nxt = conn->ooo[0].end;
		memmove(&conn->ooo[0], &conn->ooo[1],
			(size_t)(conn->nb_ooo - 1) * sizeof(conn->ooo[0]));
		conn->nb_ooo--;
		sl_stat_add(&lc->stats.tcp_ooo_segments, (uint64_t)-1);
	}
	if (conn->rcv_app != conn->rcv_nxt && n == len)
		sl_tcp_rcv_drain(lc, conn, now);
}

/* RFC 9293 §3.10.7.4 first: is the segment acceptable? */
static bool
tcp_sequence_ok(const struct sl_tcp_conn *conn, uint32_t seq,
		uint32_t seg_len)
{
	uint32_t wnd = sl_seq_gt(conn->rcv_adv, conn->rcv_nxt)
		       ? conn->rcv_adv - conn->rcv_nxt : 0;
	uint32_t nxt = conn->rcv_nxt;

	if (seg_len == 0) {
		if (wnd == 0)
			return seq == nxt;
		return sl_seq_leq(nxt, seq) && sl_seq_lt(seq, nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return (sl_seq_leq(nxt, seq) && sl_seq_lt(seq, nxt + wnd)) ||
	       (sl_seq_leq(nxt, seq + seg_len - 1) &&
		sl_seq_lt(seq + seg_len - 1, nxt + wnd));
}

/* RFC 9293 §3.10.7.4 fifth (ACK), with RFC 5961 §5.2's bounds. */
static int
tcp_ack(struct sl_lcore *lc, struct sl_tcp_conn *conn,
	const struct sl_pkt *pkt, uint64_t now)
{
	uint32_t ack = pkt->ack, acked, data;

	if (sl_seq_lt(ack, conn->snd_una - conn->max_snd_wnd) ||
	    sl_seq_gt(ack, conn->snd_nxt)) {
		sl_lcore_drop(lc, SL_DROP_TCP_BAD_ACK);
		sl_tcp_send_ack(lc, conn);
		return -EPROTO;
	}
	if (sl_seq_gt(ack, conn->snd_una)) {
		acked = ack - conn->snd_una;
		data = SL_MIN(acked, conn->snd_len);
		conn->snd_len -= data;
		conn->snd_una = ack;
		conn->retries = 0;
		conn->rto = SL_TCP_RTO_MIN_NS;
		conn->rto_at = conn->snd_una == conn->snd_nxt ? 0
			       : now + conn->rto;
		if (conn->snd_len && conn->snd_nxt == conn->snd_una)
			sl_tcp_mark_dirty(lc, conn);
		/* Room for replies: what waits may go up now. */
		if (conn->rcv_app != conn->rcv_nxt)
			sl_tcp_rcv_drain(lc, conn, now);
	}
	/* Window update: only from a newer segment (snd_wl1/snd_wl2). */
	if (sl_seq_lt(conn->snd_wl1, pkt->seq) ||
	    (conn->snd_wl1 == pkt->seq && sl_seq_leq(conn->snd_wl2, ack))) {
		uint32_t old = conn->snd_wnd;

		conn->snd_wnd = (uint32_t)pkt->win << conn->snd_wscale;
		conn->snd_wl1 = pkt->seq;
		conn->snd_wl2 = ack;
		if (conn->snd_wnd > conn->max_snd_wnd)
			conn->max_snd_wnd = conn->snd_wnd;
		if (conn->snd_wnd > old && conn->snd_len)
			sl_tcp_mark_dirty(lc, conn);
	}
	return 0;
}

static bool
tcp_fin_acked(const struct sl_tcp_conn *conn)
{
	return conn->fin_sent && sl_seq_gt(conn->snd_una, conn->fin_seq);
}

static void
tcp_rcv_state(struct sl_lcore *lc, struct sl_tcp_conn *conn,
	      const struct sl_pkt *pkt, uint64_t now)
{
	uint8_t fl = pkt->tcp_flags;
	uint32_t seg_len = pkt->payload_len + !!(fl & SL_TCP_FIN);

	conn->last_rx = now;
	/* RFC 5961 §4.2: a SYN on a synchronized connection, whatever its
	 * sequence number, gets a (rate-limited) challenge ACK. */
	if (fl & SL_TCP_SYN) {
		sl_lcore_drop(lc, SL_DROP_TCP_BAD_SYN);
		if (!(fl & SL_TCP_RST))
			tcp_challenge_ack(lc, conn, now);
		return;
	}
	if (!tcp_sequence_ok(conn, pkt->seq, seg_len)) {
		if (fl & SL_TCP_RST) {
			/* RFC 5961 §3.2: out of window: silently dropped */
			sl_lcore_drop(lc, SL_DROP_TCP_BAD_RST);
			return;
		}
		if (conn->rcv_adv == conn->rcv_nxt) {
			/* Our window is zero: a window probe (Linux sends
			 * snd_una - 1, others one byte), answered with our
			 * window; its byte comes again once it opens. */
			sl_stat_add(&lc->stats.tcp_window_probes, 1);
		} else if (sl_seq_leq(pkt->seq + seg_len, conn->rcv_nxt)) {
			sl_lcore_drop(lc, SL_DROP_TCP_DUPLICATE);
		} else {
			sl_lcore_drop(lc, SL_DROP_TCP_OUT_OF_WINDOW);
		}
		conn->ack_now = true;
		sl_tcp_mark_dirty(lc, conn);
		return;
	}
	if (fl & SL_TCP_RST) {
		/* RFC 5961 §3.2: only an exact match resets. */
		if (pkt->seq == conn->rcv_nxt) {
			sl_tcp_abort(lc, conn, SL_TCP_END_RESET, false);
			return;
		}
		sl_lcore_drop(lc, SL_DROP_TCP_BAD_RST);
		tcp_challenge_ack(lc, conn, now);
		return;
	}
	if (!(fl & SL_TCP_ACK)) {
		sl_lcore_drop(lc, SL_DROP_TCP_BAD_ACK);
		return;
	}
	if (tcp_ack(lc, conn, pkt, now) < 0)
		return;
	if (conn->state == SL_TCP_LAST_ACK && tcp_fin_acked(conn)) {
		sl_tcp_abort(lc, conn, SL_TCP_END_CLOSE, false);
		return;
	}
	if (conn->state == SL_TCP_FIN_WAIT_1 && tcp_fin_acked(conn))
		conn->state = SL_TCP_FIN_WAIT_2;

	if (pkt->payload_len) {
		if (conn->fin_rcvd) {
			sl_lcore_drop(lc, SL_DROP_TCP_AFTER_CLOSE);
		} else {
			tcp_data_queue(lc, conn, pkt->seq, pkt->payload,
				       pkt->payload_len, now);
		}
		conn->ack_now = true;
		sl_tcp_mark_dirty(lc, conn);
	}
	/* RFC 9293 §3.10.7.4 eighth: a FIN counts once everything before
	 * it has arrived; an early FIN is left for the retransmission. */
	if ((fl & SL_TCP_FIN) && !conn->fin_rcvd &&
	    pkt->seq + pkt->payload_len == conn->rcv_nxt) {
		conn->rcv_fin = conn->rcv_nxt;
		conn->rcv_nxt++;
		conn->fin_rcvd = true;
		sl_tcp_rcv_drain(lc, conn, now);	/* EOF once drained */
		conn->ack_now = true;
		sl_tcp_mark_dirty(lc, conn);
		if (conn->state == SL_TCP_ESTABLISHED) {
			conn->state = SL_TCP_CLOSE_WAIT;
		} else if (conn->state == SL_TCP_FIN_WAIT_2 ||
			   (conn->state == SL_TCP_FIN_WAIT_1 &&
			    tcp_fin_acked(conn))) {
			/* Both FINs done. Design note: no TIME-WAIT; our ISS
			 * comes from a time-slotted cookie, and a stray
			 * segment of this 4-tuple meets a cookie check. */
			sl_tcp_send_ack(lc, conn);
			sl_tcp_abort(lc, conn, SL_TCP_END_CLOSE, false);
		}
	}
}

/* No connection: LISTEN (RFC 9293 §3.10.7.2) answered with SYN cookies. */
static void
tcp_rcv_listen(struct sl_lcore *lc, const struct sl_pkt *pkt, uint64_t now)
{
	const struct sl_net_listener *ln;
	struct sl_tcp_conn *conn;
	uint8_t fl = pkt->tcp_flags;
	uint16_t mss;
	int8_t ws;
	void *app;

	ln = sl_lcore_listener_find(lc, SL_IPPROTO_TCP, pkt->daddr,
				    pkt->dport);
	if (!ln) {
		sl_lcore_drop(lc, SL_DROP_NO_LISTENER);
		sl_tcp_send_reset_reply(lc, pkt);
		return;
	}
	if (fl & SL_TCP_RST) {
		sl_lcore_drop(lc, SL_DROP_TCP_NO_CONN);
		return;
	}
	if ((fl & (SL_TCP_SYN | SL_TCP_ACK)) == SL_TCP_SYN) {
		if (lc->tcp.nb_open >= lc->tcp.max_conns) {
			sl_lcore_drop(lc, SL_DROP_CONN_LIMIT);
			return;
		}
		mss = pkt->opt_mss ? pkt->opt_mss : 536;  /* RFC 9293 §3.7.1 */
		mss = SL_MIN(mss, lc->mss);
		sl_tcp_send_synack(lc, pkt,
				   sl_tcp_cookie_make(lc, pkt, mss,
						      pkt->opt_wscale, now),
				   lc->mss);
		return;
	}
	if ((fl & (SL_TCP_SYN | SL_TCP_ACK)) != SL_TCP_ACK) {
		sl_lcore_drop(lc, SL_DROP_TCP_NO_CONN);
		if (fl & SL_TCP_SYN)
			sl_tcp_send_reset_reply(lc, pkt);
		return;
	}
	/* The handshake's ACK (maybe with data): the cookie is the state. */
	if (sl_tcp_cookie_check(lc, pkt, now, &mss, &ws) < 0) {
		sl_lcore_drop(lc, SL_DROP_SYN_COOKIE_FAIL);
		sl_tcp_send_reset_reply(lc, pkt);
		return;
	}
	conn = sl_tcp_conn_alloc(&lc->tcp, pkt->daddr, pkt->dport, pkt->saddr,
				 pkt->sport);
	if (!conn) {
		sl_lcore_drop(lc, SL_DROP_CONN_LIMIT);
		sl_tcp_send_reset_reply(lc, pkt);
		return;
	}
	conn->state = SL_TCP_ESTABLISHED;
	conn->ln = ln;
	memcpy(conn->mac, pkt->eth->src, SL_ETH_ALEN);
	conn->has_vlan = pkt->has_vlan;
	conn->vlan_tci = pkt->vlan_tci;
	conn->mss = SL_MIN(mss, lc->mss);
	conn->snd_wscale = ws < 0 ? 0 : (uint8_t)ws;
	conn->rcv_wscale = ws < 0 ? 0 : SL_TCP_RCV_WSCALE;
	conn->irs = pkt->seq - 1;
	conn->rcv_nxt = pkt->seq;
	conn->rcv_app = conn->rcv_nxt;
	conn->rcv_adv = conn->rcv_nxt + SL_TCP_SYN_WINDOW; /* the SYN-ACK's */
	conn->iss = pkt->ack - 1;
	conn->snd_una = conn->snd_nxt = pkt->ack;
	conn->snd_wl1 = pkt->seq - 1;		/* take this segment's window */
	conn->snd_wl2 = pkt->ack;
	conn->rto = SL_TCP_RTO_MIN_NS;
	conn->last_rx = now;
	sl_stat_add(&lc->stats.tcp_conns_open, 1);
	sl_stat_add(&lc->stats.tcp_conns_accepted, 1);
	app = ln->ops->tcp_accept(ln->ctx, lc, conn, now);
	if (!app) {
		sl_tcp_abort(lc, conn, SL_DROP_CONN_LIMIT, true);
		return;
	}
	conn->app = app;
	tcp_rcv_state(lc, conn, pkt, now);
}

void
sl_tcp_rcv(struct sl_lcore *lc, const struct sl_pkt *pkt, uint64_t now)
{
	struct sl_tcp_conn *conn;

	conn = sl_tcp_lookup(&lc->tcp, pkt->daddr, pkt->dport, pkt->saddr,
			     pkt->sport);
	if (!conn) {
		tcp_rcv_listen(lc, pkt, now);
		return;
	}
	tcp_rcv_state(lc, conn, pkt, now);
}
