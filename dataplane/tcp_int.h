/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The receive-side TCP of the dataplane (RFC 9293), written from the RFCs:
 * passive open answered with stateless SYN cookies, in-order delivery to
 * the listener's application straight from the packet, a bounded receive
 * buffer per connection for what the application cannot take yet and for
 * out-of-order segments, the advertised window = the space left in that
 * buffer (a slow sink closes it), FIN/RST, RFC 5961 protections, and a
 * small send queue (netcat's replies) with retransmission. One connection
 * table per lcore; only that core touches it. Time is always a parameter.
 */
#ifndef SL_TCP_INT_H
#define SL_TCP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "net_int.h"

struct sl_lcore;

/* RFC 9293 §3.4: sequence numbers compare modulo 2^32. */
static inline bool
sl_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool
sl_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline bool
sl_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool
sl_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

#define SL_TCP_OOO_SEGS		8	/* disjoint ranges held per conn */
#define SL_TCP_RCVBUF		(64u * 1024)	/* power of two */
#define SL_TCP_SNDBUF		(8u * 1024)	/* power of two */
#define SL_TCP_RCV_WSCALE	7	/* our shift when the peer offers WS */
/* What a SYN-ACK offers (never scaled): the buffer less one scale unit, so
 * rounding a scaled window up can never promise more than it holds. */
#define SL_TCP_SYN_WINDOW	SL_MIN(65535u, SL_TCP_RCVBUF - \
				       (1u << SL_TCP_RCV_WSCALE))
#define SL_TCP_RTO_MIN_NS	(200ull * 1000 * 1000)	/* Linux TCP_RTO_MIN */
#define SL_TCP_RTO_MAX_NS	(60ull * 1000 * 1000 * 1000)
#define SL_TCP_MAX_RETRIES	8
#define SL_TCP_COOKIE_PERIOD_NS	(64ull * 1000 * 1000 * 1000)
#define SL_TCP_NONE		UINT32_MAX

enum sl_tcp_state {
	SL_TCP_CLOSED = 0,
	SL_TCP_ESTABLISHED,
	SL_TCP_CLOSE_WAIT,	/* peer's FIN taken; our FIN after the queue */
	SL_TCP_LAST_ACK,	/* our FIN sent after theirs */
	SL_TCP_FIN_WAIT_1,	/* we closed first (application asked) */
	SL_TCP_FIN_WAIT_2,
};

struct sl_tcp_range {
	uint32_t start, end;	/* [start, end) in sequence space */
};

struct sl_tcp_conn {
	uint32_t next;			/* hash chain or free list */
	uint32_t conn_id;		/* index in the lcore's table */
	sl_be32 laddr, raddr;
	sl_be16 lport, rport;
	uint8_t state;			/* enum sl_tcp_state */
	uint8_t snd_wscale;		/* peer's shift, applied to its windows */
	uint8_t rcv_wscale;		/* our shift */
	bool dirty;			/* on the lcore's flush list */
	bool ack_now;			/* an ACK is owed */
	bool fin_rcvd;			/* the peer's FIN is in sequence */
	bool eof_done;			/* ... and told to the application */
	bool app_closed;		/* application asked to close */
	bool fin_hold;			/* application: replies still owed,
					 * no FIN of ours yet */
	bool fin_sent;
	bool has_vlan;
	uint16_t vlan_tci;
	uint8_t mac[SL_ETH_ALEN];	/* peer (or gateway) MAC */
	uint16_t mss;			/* what we send in */
	uint32_t fin_seq;		/* our FIN's sequence number */

	/* Send sequence variables, RFC 9293 §3.3.1. */
	uint32_t iss, snd_una, snd_nxt, snd_wnd, snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;		/* RFC 5961 §5.2 */
	uint32_t snd_len;		/* bytes queued from snd_una */
	/* Receive sequence variables. */
	uint32_t irs, rcv_nxt;
	uint32_t rcv_adv;		/* right edge we advertised */
	uint32_t rcv_app;		/* next byte for the application:
					 * [rcv_app, rcv_nxt) waits in rcvbuf */
	uint32_t rcv_fin;		/* the peer FIN's sequence number */

	uint64_t last_rx;		/* for the idle limit */
	uint64_t rto_at;		/* 0: no timer */
	uint64_t rto;
	uint8_t retries;

	uint8_t nb_ooo;
	struct sl_tcp_range ooo[SL_TCP_OOO_SEGS];	/* sorted, > rcv_nxt */
	uint8_t *rcvbuf;		/* SL_TCP_RCVBUF, indexed by seq */
	uint8_t *sndbuf;		/* SL_TCP_SNDBUF, indexed by seq */

	const struct sl_net_listener *ln;
	void *app;			/* the application's state */
};

/* Bytes that can still be queued with sl_tcp_send(). */
static inline uint32_t
sl_tcp_sndbuf_free(const struct sl_tcp_conn *conn)
{
	return SL_TCP_SNDBUF - conn->snd_len;
}

/*
 * One connection table per lcore: conns[] preallocated, a chained hash on
 * the 4-tuple, a free list.
 */
struct sl_tcp_table {
	struct sl_tcp_conn *conns;
	uint32_t *buckets;
	uint32_t nb_buckets;		/* power of two */
	uint32_t max_conns;
	uint32_t nb_open;
	uint32_t free_head;
	uint8_t *mem;			/* ooo and send buffers */
	uint32_t *dirty;		/* conn ids to flush */
	uint32_t nb_dirty;
	uint32_t timer_pos;		/* next slot the timer scan visits */
};

/* Connection slots the timer visits per tick (1 ms): a big table is
 * walked in slices, so a tick costs the same whatever maxConnections. */
#define SL_TCP_TIMER_SLICE	1024

int sl_tcp_table_init(struct sl_tcp_table *tt, uint32_t max_conns);
void sl_tcp_table_fini(struct sl_tcp_table *tt);
/* A fresh connection for the 4-tuple, hashed in; NULL when full. */
struct sl_tcp_conn *sl_tcp_conn_alloc(struct sl_tcp_table *tt, sl_be32 laddr,
				      sl_be16 lport, sl_be32 raddr,
				      sl_be16 rport);
/* Unhash and free; the caller has told the application. */
void sl_tcp_conn_release(struct sl_tcp_table *tt, struct sl_tcp_conn *conn);
struct sl_tcp_conn *sl_tcp_lookup(struct sl_tcp_table *tt, sl_be32 laddr,
				  sl_be16 lport, sl_be32 raddr, sl_be16 rport);

/*
 * Segment arrival for a parsed, checksummed TCP segment addressed to one
 * of the lcore's addresses (RFC 9293 §3.10.7). Context: dataplane core.
 */
void sl_tcp_rcv(struct sl_lcore *lc, const struct sl_pkt *pkt, uint64_t now);

/*
 * Queue @len bytes to send on @conn; they leave with the next flush and are
 * retransmitted until acknowledged. 0, or -ENOBUFS (nothing queued) when
 * the send buffer lacks room, -EPIPE when the connection is closing.
 */
int sl_tcp_send(struct sl_lcore *lc, struct sl_tcp_conn *conn,
		const void *data, uint32_t len);

/* Close after the queued bytes (our FIN); further data is discarded. */
void sl_tcp_close(struct sl_lcore *lc, struct sl_tcp_conn *conn);

/*
 * The application may take bytes again: hand it what the receive buffer
 * holds, and advertise the reopened window. Context: dataplane core.
 */
void sl_tcp_window_update(struct sl_lcore *lc, struct sl_tcp_conn *conn);
/* Internal: deliver what waits in the receive buffer (and then EOF). */
void sl_tcp_rcv_drain(struct sl_lcore *lc, struct sl_tcp_conn *conn,
		      uint64_t now);

/* Send what every dirty connection owes (ACKs, data, FIN). */
void sl_tcp_flush(struct sl_lcore *lc, uint64_t now);

/* Retransmission, idle limit, window reopening; call every ~ms. */
void sl_tcp_timers(struct sl_lcore *lc, uint64_t now);

/* Internal to tcp_*.c: replies without a connection, deferred output. */
void sl_tcp_send_reset_reply(struct sl_lcore *lc, const struct sl_pkt *pkt);
void sl_tcp_send_synack(struct sl_lcore *lc, const struct sl_pkt *pkt,
			uint32_t iss, uint16_t mss);
void sl_tcp_send_ack(struct sl_lcore *lc, struct sl_tcp_conn *conn);
void sl_tcp_mark_dirty(struct sl_lcore *lc, struct sl_tcp_conn *conn);
/* How a connection ended, beyond the drop reasons (enum sl_drop). */
#define SL_TCP_END_CLOSE	((unsigned)SL_DROP_MAX)		/* both FINs */
#define SL_TCP_END_RESET	((unsigned)SL_DROP_MAX + 1)	/* peer's RST */

/* Free @conn after telling the application; @reason is an enum sl_drop
 * (counted) or SL_TCP_END_*. */
void sl_tcp_abort(struct sl_lcore *lc, struct sl_tcp_conn *conn,
		  unsigned reason, bool send_rst);

/* SYN cookie (RFC 4987 §3.6): exposed for the tests. */
uint32_t sl_tcp_cookie_make(const struct sl_lcore *lc,
			    const struct sl_pkt *pkt, uint16_t mss,
			    int8_t wscale, uint64_t now);
/* 0 with *mss and *wscale decoded, or -EINVAL. */
int sl_tcp_cookie_check(const struct sl_lcore *lc, const struct sl_pkt *pkt,
			uint64_t now, uint16_t *mss, int8_t *wscale);

#endif /* SL_TCP_INT_H */
