/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drop reasons: one X-macro generates the enum and the names `ctl stats`
 * shows. Every discard site bumps stats.drop[SL_DROP_<REASON>]; drops are
 * data, never per-record log lines.
 */
#ifndef SL_DROP_H
#define SL_DROP_H

#define SL_DROP_REASONS(X)						\
	X(LINE_TOO_LONG,	"drop_line_too_long")			\
	X(UNTERMINATED_TAIL,	"drop_unterminated_tail")		\
	X(CHANNEL_FULL,		"drop_channel_full")			\
	X(CHANNEL_ERROR,	"drop_channel_error")			\
	X(DGRAM_TRUNCATED,	"drop_dgram_truncated")			\
	X(CONN_LIMIT,		"drop_conn_limit")			\
	X(BAD_CSUM,		"drop_bad_csum")			\
	X(MALFORMED,		"drop_malformed")			\
	X(NO_LISTENER,		"drop_no_listener")			\
	X(RING_FULL,		"drop_ring_full")			\
	X(OOO_OVERFLOW,		"drop_ooo_overflow")			\
	X(FRAG_TIMEOUT,		"drop_frag_timeout")			\
	X(TCP_FRAGMENT,		"drop_tcp_fragment")			\
	X(SYN_COOKIE_FAIL,	"drop_syn_cookie_fail")			\
	X(SOURCE_STOPPED,	"drop_source_stopped")			\
	X(UNKNOWN_PROTO,	"drop_unknown_proto")			\
	X(NOT_FOR_US,		"drop_not_for_us")			\
	X(TCP_NO_CONN,		"drop_tcp_no_conn")			\
	X(TCP_OUT_OF_WINDOW,	"drop_tcp_out_of_window")		\
	X(TCP_DUPLICATE,	"drop_tcp_duplicate")			\
	X(TCP_BAD_RST,		"drop_tcp_bad_rst")			\
	X(TCP_BAD_SYN,		"drop_tcp_bad_syn")			\
	X(TCP_BAD_ACK,		"drop_tcp_bad_ack")			\
	X(TCP_NO_ROOM,		"drop_tcp_no_room")			\
	X(TCP_AFTER_CLOSE,	"drop_tcp_after_close")			\
	X(TCP_IDLE_TIMEOUT,	"drop_tcp_idle_timeout")		\
	X(TCP_RETRANS_TIMEOUT,	"drop_tcp_retrans_timeout")		\
	X(TCP_SNDBUF_FULL,	"drop_tcp_sndbuf_full")			\
	X(FRAG_NO_MEM,		"drop_frag_no_mem")			\
	X(NO_MBUF,		"drop_no_mbuf")				\
	X(TX_FULL,		"drop_tx_full")				\
	X(SOCKET_OVERFLOW,	"drop_socket_overflow")			\
	X(PEER_GONE,		"drop_peer_gone")

enum sl_drop {
#define SL_DROP_ENUM(e, n) SL_DROP_##e,
	SL_DROP_REASONS(SL_DROP_ENUM)
#undef SL_DROP_ENUM
	SL_DROP_MAX,
};

extern const char *const sl_drop_names[SL_DROP_MAX];

#endif /* SL_DROP_H */
