/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCP output on the lcore: segments built straight into the backend's
 * transmit buffers (ACKs with the window the application can take, the
 * send queue's bytes, FIN, RST, SYN-ACK), the window rules of RFC 9293
 * §3.8.6 and RFC 7323 §2, and the timers (retransmission per RFC 6298 with
 * Linux's 200 ms floor, idle limit, window reopening). Dataplane core.
 */
#include <errno.h>
#include <string.h>

#include "dp_int.h"
#include "tcp_int.h"

#define TCP_FIN_TIMEOUT_NS	(60ull * 1000 * 1000 * 1000)

struct tcp_seg {
	const uint8_t *dst_mac;
	bool vlan;
	uint16_t tci;
	sl_be32 saddr, daddr;
	sl_be16 sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t opts[8];
	uint8_t optlen;
	const uint8_t *d1, *d2;		/* payload, in up to two pieces */
	uint32_t l1, l2;
};

static void
tcp_emit(struct sl_lcore *lc, const struct tcp_seg *s)
{
	uint16_t hl = (uint16_t)(20 + s->optlen);
	uint16_t l4_len = (uint16_t)(hl + s->l1 + s->l2), off, len;
	uint8_t *buf, *t;
	uint32_t sum;
	uint16_t c;
	void *h;

	len = (uint16_t)(sl_net_l2_len(s->vlan) + 20 + l4_len);
	buf = lc->tx->get(lc, SL_MAX(len, 60), &h);
	if (SL_UNLIKELY(!buf)) {
		sl_lcore_drop(lc, SL_DROP_NO_MBUF);
		return;
	}
	off = sl_net_emit_ipv4(buf, lc->conf.mac, s->dst_mac, s->vlan, s->tci,
			       s->saddr, s->daddr, SL_IPPROTO_TCP, l4_len,
			       lc->ip_id++);
	t = buf + off;
	memcpy(t, &s->sport, 2);
	memcpy(t + 2, &s->dport, 2);
	sl_put_be32(t + 4, s->seq);
	sl_put_be32(t + 8, s->ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = s->flags;
	sl_put_be16(t + 14, s->win);
	t[16] = t[17] = t[18] = t[19] = 0;
	memcpy(t + 20, s->opts, s->optlen);
	if (s->l1)
		memcpy(t + hl, s->d1, s->l1);
	if (s->l2)
		memcpy(t + hl + s->l1, s->d2, s->l2);
	sum = sl_net_pseudo_sum(s->saddr, s->daddr, SL_IPPROTO_TCP, l4_len);
	c = sl_net_csum_fold(sl_net_csum_partial(t, l4_len, sum));
	memcpy(t + 16, &c, 2);
	if (len < 60) {			/* Ethernet minimum */
		memset(buf + len, 0, 60u - len);
		len = 60;
	}
	lc->tx->put(lc, h, len);
	sl_stat_add(&lc->stats.tx_pkts, 1);
	sl_stat_add(&lc->stats.tx_bytes, len);
}

/* A segment answering @pkt without a connection (RST, SYN-ACK). */
static void
tcp_seg_reply(struct tcp_seg *s, const struct sl_pkt *pkt)
{
	memset(s, 0, sizeof(*s));
	s->dst_mac = pkt->eth->src;
	s->vlan = pkt->has_vlan;
	s->tci = pkt->vlan_tci;
	s->saddr = pkt->daddr;
	s->daddr = pkt->saddr;
	s->sport = pkt->dport;
	s->dport = pkt->sport;
}

void
sl_tcp_send_reset_reply(struct sl_lcore *lc, const struct sl_pkt *pkt)
{
	struct tcp_seg s;
	uint32_t seg_len = pkt->payload_len +
			   !!(pkt->tcp_flags & SL_TCP_SYN) +
			   !!(pkt->tcp_flags & SL_TCP_FIN);

	if (pkt->tcp_flags & SL_TCP_RST)
		return;			/* never answer a RST */
	tcp_seg_reply(&s, pkt);
	/* RFC 9293 §3.10.7.1 */
	if (pkt->tcp_flags & SL_TCP_ACK) {
		s.seq = pkt->ack;
		s.flags = SL_TCP_RST;
	} else {
		s.seq = 0;
		s.ack = pkt->seq + seg_len;
		s.flags = SL_TCP_RST | SL_TCP_ACK;
	}
	tcp_emit(lc, &s);
}

void
sl_tcp_send_synack(struct sl_lcore *lc, const struct sl_pkt *pkt,
		   uint32_t iss, uint16_t mss)
{
	struct tcp_seg s;

	tcp_seg_reply(&s, pkt);
	s.seq = iss;
	s.ack = pkt->seq + 1;
	s.flags = SL_TCP_SYN | SL_TCP_ACK;
	/* RFC 7323 §2.2: the window of a SYN is never scaled. */
	s.win = SL_TCP_SYN_WINDOW;
	s.opts[0] = 2;
	s.opts[1] = 4;
	sl_put_be16(s.opts + 2, mss);
	s.optlen = 4;
	if (pkt->opt_wscale >= 0) {
		s.opts[4] = 1;		/* NOP */
		s.opts[5] = 3;
		s.opts[6] = 3;
		s.opts[7] = SL_TCP_RCV_WSCALE;
		s.optlen = 8;
	}
	tcp_emit(lc, &s);
	sl_stat_add(&lc->stats.syn_cookies_sent, 1);
}

void
sl_tcp_mark_dirty(struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	if (!conn->dirty) {
		conn->dirty = true;
		lc->tcp.dirty[lc->tcp.nb_dirty++] = conn->conn_id;
	}
}

/* Receive buffer space past rcv_nxt, less one scale unit of slack. */
static uint32_t
tcp_rcv_space(const struct sl_tcp_conn *conn)
{
	uint32_t used = conn->rcv_nxt - conn->rcv_app;
	uint32_t cap = SL_TCP_RCVBUF - (1u << conn->rcv_wscale);

	return used < cap ? cap - used : 0;
}

/*
 * The window to advertise: the receive buffer's free space (what waits for
 * a slow application fills it, down to 0), scaled. The right edge is not
 * moved left (RFC 9293 §3.8.6.2.2: a receiver should not shrink the
 * window) beyond what scaling forces: the field is rounded down, so the
 * edge shown may sit up to 2^shift - 1 bytes left of an earlier one
 * (RFC 7323 §2.4); rcv_adv keeps the furthest edge ever shown, and the
 * buffer holds everything up to it.
 */
static uint16_t
tcp_select_window(struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	uint32_t room = tcp_rcv_space(conn), cur = 0, field, edge;
	uint32_t phys = conn->rcv_app + SL_TCP_RCVBUF - conn->rcv_nxt;

	if (sl_seq_gt(conn->rcv_adv, conn->rcv_nxt))
		cur = conn->rcv_adv - conn->rcv_nxt;
	if (room < cur)
		room = cur;
	room = SL_MIN(room, phys);
	field = SL_MIN(room >> conn->rcv_wscale, 65535u);
	edge = conn->rcv_nxt + (field << conn->rcv_wscale);
	if (sl_seq_gt(edge, conn->rcv_adv))
		conn->rcv_adv = edge;
	if (!field)
		sl_stat_add(&lc->stats.tcp_zero_windows, 1);
	return (uint16_t)field;
}

static void
tcp_seg_conn(struct sl_lcore *lc, struct sl_tcp_conn *conn, struct tcp_seg *s,
	     uint8_t flags, uint32_t seq)
{
	memset(s, 0, sizeof(*s));
	s->dst_mac = conn->mac;
	s->vlan = conn->has_vlan;
	s->tci = conn->vlan_tci;
	s->saddr = conn->laddr;
	s->daddr = conn->raddr;
	s->sport = conn->lport;
	s->dport = conn->rport;
	s->seq = seq;
	s->flags = flags;
	if (flags & SL_TCP_ACK) {
		s->ack = conn->rcv_nxt;
		s->win = tcp_select_window(lc, conn);
	}
}

/* Send a bare ACK now (not deferred to the flush). */
void
sl_tcp_send_ack(struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	struct tcp_seg s;

	tcp_seg_conn(lc, conn, &s, SL_TCP_ACK, conn->snd_nxt);
	tcp_emit(lc, &s);
	conn->ack_now = false;
}

/*
 * Drop a connection: tell the application, optionally reset the peer, and
 * free the slot. @reason counts why (see SL_TCP_END_*).
 */
void
sl_tcp_abort(struct sl_lcore *lc, struct sl_tcp_conn *conn, unsigned reason,
	     bool send_rst)
{
	struct tcp_seg s;

	if (send_rst) {
		tcp_seg_conn(lc, conn, &s, SL_TCP_RST | SL_TCP_ACK,
			     conn->snd_nxt);
		tcp_emit(lc, &s);
	}
	if (reason < SL_DROP_MAX) {
		sl_lcore_drop(lc, (enum sl_drop)reason);
		sl_stat_add(&lc->stats.tcp_conns_reset, 1);
	} else if (reason == SL_TCP_END_RESET) {
		sl_stat_add(&lc->stats.tcp_conns_reset, 1);
	} else {
		sl_stat_add(&lc->stats.tcp_conns_closed, 1);
	}
	if (conn->nb_ooo)
		sl_stat_add(&lc->stats.tcp_ooo_segments,
			    (uint64_t)-(int64_t)conn->nb_ooo);
	if (conn->app && conn->ln->ops->tcp_closed)
		conn->ln->ops->tcp_closed(conn->ln->ctx, lc, conn);
	conn->app = NULL;
	sl_tcp_conn_release(&lc->tcp, conn);
	sl_stat_add(&lc->stats.tcp_conns_open, (uint64_t)-1);
}

int
sl_tcp_send(struct sl_lcore *lc, struct sl_tcp_conn *conn, const void *data,
	    uint32_t len)
{
	uint32_t pos, first;

	if (conn->state != SL_TCP_ESTABLISHED &&
	    conn->state != SL_TCP_CLOSE_WAIT)
		return -EPIPE;
	if (conn->app_closed)
		return -EPIPE;
	if (len > sl_tcp_sndbuf_free(conn))
		return -ENOBUFS;
	pos = (conn->snd_una + conn->snd_len) & (SL_TCP_SNDBUF - 1);
	first = SL_MIN(len, SL_TCP_SNDBUF - pos);
	memcpy(conn->sndbuf + pos, data, first);
	memcpy(conn->sndbuf, (const uint8_t *)data + first, len - first);
	conn->snd_len += len;
	sl_tcp_mark_dirty(lc, conn);
	return 0;
}

void
sl_tcp_close(struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	if (conn->app_closed || conn->state == SL_TCP_CLOSED)
		return;
	conn->app_closed = true;
	sl_tcp_mark_dirty(lc, conn);
}

/* Whether the window grew enough to tell the peer now (RFC 9293
 * §3.8.6.2.2: by at least min(buffer / 2, MSS) past what it knows). */
static bool
tcp_window_grew(const struct sl_lcore *lc, const struct sl_tcp_conn *conn)
{
	uint32_t cur = sl_seq_gt(conn->rcv_adv, conn->rcv_nxt)
		       ? conn->rcv_adv - conn->rcv_nxt : 0;
	uint32_t space = tcp_rcv_space(conn);

	return space > cur &&
	       space - cur >= SL_MIN(SL_TCP_RCVBUF / 2, (uint32_t)lc->mss);
}

void
sl_tcp_window_update(struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	if (conn->rcv_app != conn->rcv_nxt || (conn->fin_rcvd &&
					       !conn->eof_done))
		sl_tcp_rcv_drain(lc, conn, conn->last_rx);
	if (conn->state != SL_TCP_CLOSED && tcp_window_grew(lc, conn)) {
		conn->ack_now = true;
		sl_stat_add(&lc->stats.tcp_window_updates, 1);
		sl_tcp_mark_dirty(lc, conn);
	}
}

/* Our FIN is wanted once the send queue is out. */
static bool
tcp_fin_wanted(const struct sl_tcp_conn *conn)
{
	return conn->app_closed ||
	       (conn->state == SL_TCP_CLOSE_WAIT && conn->eof_done &&
		!conn->fin_hold) ||
	       conn->state == SL_TCP_LAST_ACK ||
	       conn->state == SL_TCP_FIN_WAIT_1;
}

/* Send queued data the peer's window allows, then FIN, then an owed ACK. */
static void
tcp_output(struct sl_lcore *lc, struct sl_tcp_conn *conn, uint64_t now)
{
	uint32_t end = conn->snd_una + conn->snd_len, wnd_end;
	struct tcp_seg s;
	bool sent = false;

	if (conn->state == SL_TCP_CLOSED)
		return;
	wnd_end = conn->snd_una + SL_MAX(conn->snd_wnd, 1u);
	while (sl_seq_lt(conn->snd_nxt, end) &&
	       sl_seq_lt(conn->snd_nxt, wnd_end)) {
		uint32_t n = end - conn->snd_nxt, pos;

		n = SL_MIN(n, wnd_end - conn->snd_nxt);
		n = SL_MIN(n, conn->mss);
		tcp_seg_conn(lc, conn, &s, SL_TCP_ACK | SL_TCP_PSH,
			     conn->snd_nxt);
		pos = conn->snd_nxt & (SL_TCP_SNDBUF - 1);
		s.d1 = conn->sndbuf + pos;
		s.l1 = SL_MIN(n, SL_TCP_SNDBUF - pos);
		s.d2 = conn->sndbuf;
		s.l2 = n - s.l1;
		tcp_emit(lc, &s);
		conn->snd_nxt += n;
		sent = true;
	}
	if (tcp_fin_wanted(conn) && conn->snd_nxt == end &&
	    (!conn->fin_sent || conn->snd_nxt == conn->fin_seq)) {
		tcp_seg_conn(lc, conn, &s, SL_TCP_ACK | SL_TCP_FIN,
			     conn->snd_nxt);
		tcp_emit(lc, &s);
		conn->fin_seq = conn->snd_nxt;
		conn->snd_nxt++;
		conn->fin_sent = true;
		if (conn->state == SL_TCP_CLOSE_WAIT)
			conn->state = SL_TCP_LAST_ACK;
		else if (conn->state == SL_TCP_ESTABLISHED)
			conn->state = SL_TCP_FIN_WAIT_1;
		sent = true;
	}
	if (conn->ack_now && !sent)
		sl_tcp_send_ack(lc, conn);
	conn->ack_now = false;
	if (conn->snd_nxt != conn->snd_una && !conn->rto_at)
		conn->rto_at = now + conn->rto;
}

void
sl_tcp_flush(struct sl_lcore *lc, uint64_t now)
{
	struct sl_tcp_table *tt = &lc->tcp;
	uint32_t i;

	for (i = 0; i < tt->nb_dirty; i++) {
		struct sl_tcp_conn *conn = &tt->conns[tt->dirty[i]];

		conn->dirty = false;
		tcp_output(lc, conn, now);
	}
	tt->nb_dirty = 0;
}

void
sl_tcp_timers(struct sl_lcore *lc, uint64_t now)
{
	struct sl_tcp_table *tt = &lc->tcp;
	uint32_t n = SL_MIN(tt->max_conns, (uint32_t)SL_TCP_TIMER_SLICE), k;

	if (!tt->nb_open)
		return;
	for (k = 0; k < n; k++) {
		struct sl_tcp_conn *conn = &tt->conns[tt->timer_pos];
		bool closing;

		if (++tt->timer_pos == tt->max_conns)
			tt->timer_pos = 0;

		if (conn->state == SL_TCP_CLOSED)
			continue;
		closing = conn->state != SL_TCP_ESTABLISHED &&
			  conn->state != SL_TCP_CLOSE_WAIT;
		if (lc->conf.idle_timeout_ns &&
		    now - conn->last_rx > lc->conf.idle_timeout_ns) {
			sl_tcp_abort(lc, conn, SL_DROP_TCP_IDLE_TIMEOUT,
				     true);
			continue;
		}
		if (closing && now - conn->last_rx > TCP_FIN_TIMEOUT_NS) {
			sl_tcp_abort(lc, conn, SL_DROP_TCP_IDLE_TIMEOUT,
				     true);
			continue;
		}
		if (conn->rto_at && now >= conn->rto_at) {
			/* RFC 6298 §5.4-5.6: retransmit from snd_una, back
			 * off, give up after a bounded number of tries. */
			if (++conn->retries > SL_TCP_MAX_RETRIES) {
				sl_tcp_abort(lc, conn,
					     SL_DROP_TCP_RETRANS_TIMEOUT, true);
				continue;
			}
			conn->snd_nxt = conn->snd_una;
			conn->rto = SL_MIN(conn->rto * 2, SL_TCP_RTO_MAX_NS);
			conn->rto_at = 0;
			sl_stat_add(&lc->stats.tcp_retransmits, 1);
			sl_tcp_mark_dirty(lc, conn);
			continue;
		}
		/* Bytes the application could not take are offered
		 * again; a window that closed reopens as they go. */
		if (conn->rcv_app != conn->rcv_nxt ||
		    (conn->fin_rcvd && !conn->eof_done)) {
			sl_tcp_rcv_drain(lc, conn, now);
			if (conn->state != SL_TCP_CLOSED &&
			    tcp_window_grew(lc, conn)) {
				conn->ack_now = true;
				sl_stat_add(&lc->stats.tcp_window_updates, 1);
				sl_tcp_mark_dirty(lc, conn);
			}
		}
	}
}
