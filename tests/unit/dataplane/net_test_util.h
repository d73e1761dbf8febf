/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness for the EAL-free dataplane: an lcore whose transmit hooks
 * capture frames, a recording application (listener), and builders for
 * crafted Ethernet/IPv4/TCP/UDP/ARP/ICMP frames with correct checksums.
 * Header-only; included by the dataplane unit tests.
 */
#ifndef NET_TEST_UTIL_H
#define NET_TEST_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "net_int.h"
#include "tcp_int.h"

#define T_MAX_TX	256
#define T_FRAME		2048
#define T_RX_MAX	(1u << 22)

static const uint8_t t_our_mac[6] = { 0x02, 0, 0, 0, 0, 0x05 };
static const uint8_t t_peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

struct t_tx {
	uint8_t frames[T_MAX_TX][T_FRAME];
	uint16_t len[T_MAX_TX];
	unsigned n;
	unsigned fail;			/* refuse the next @fail gets */
	bool wrap;			/* full: start over (bulk tests) */
};

/* What the recording application saw. */
struct t_app {
	uint8_t *rx;			/* concatenated TCP bytes */
	uint32_t rx_len;
	uint32_t take_max;		/* tcp_recv takes at most this */
	unsigned accepts, eofs, closeds, refuse;
	unsigned udp_n;
	uint8_t udp_last[2048];
	uint32_t udp_last_len;
	struct sl_tcp_conn *conn;
	int state;			/* what accept returned points here */
};

static struct t_tx t_tx;
static struct t_app t_app;
static struct sl_lcore t_lc;

static SL_UNUSED uint8_t *
t_tx_get(struct sl_lcore *lc, uint16_t len, void **handle)
{
	if (t_tx.fail) {
		t_tx.fail--;
		return NULL;
	}
	cr_assert(len <= T_FRAME);
	if (t_tx.wrap && t_tx.n == T_MAX_TX)
		t_tx.n = 0;
	cr_assert(t_tx.n < T_MAX_TX, "too many frames sent");
	*handle = t_tx.frames[t_tx.n];
	return t_tx.frames[t_tx.n];
}

static SL_UNUSED void
t_tx_put(struct sl_lcore *lc, void *handle, uint16_t len)
{
	cr_assert(handle == t_tx.frames[t_tx.n]);
	t_tx.len[t_tx.n++] = len;
}

static const struct sl_dp_tx_ops t_tx_ops = {
	.get = t_tx_get,
	.put = t_tx_put,
};

static SL_UNUSED void
t_udp_recv(void *ctx, struct sl_lcore *lc, const struct sl_pkt *pkt,
	   const uint8_t *data, uint32_t len, uint64_t now)
{
	t_app.udp_n++;
	cr_assert(len <= sizeof(t_app.udp_last));
	memcpy(t_app.udp_last, data, len);
	t_app.udp_last_len = len;
}

static SL_UNUSED void *
t_tcp_accept(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	     uint64_t now)
{
	t_app.accepts++;
	if (t_app.refuse)
		return NULL;
	t_app.conn = conn;
	return &t_app.state;
}

static SL_UNUSED uint32_t
t_tcp_recv(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	   const uint8_t *data, uint32_t len, uint64_t now)
{
	uint32_t n = SL_MIN(len, t_app.take_max);

	cr_assert(conn->app == &t_app.state);
	cr_assert(t_app.rx_len + n <= T_RX_MAX);
	memcpy(t_app.rx + t_app.rx_len, data, n);
	t_app.rx_len += n;
	if (t_app.take_max != UINT32_MAX)
		t_app.take_max -= n;
	return n;
}

static SL_UNUSED void
t_tcp_eof(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	  uint64_t now)
{
	t_app.eofs++;
}

static SL_UNUSED void
t_tcp_closed(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	t_app.closeds++;
	t_app.conn = NULL;
}

static const struct sl_net_app_ops t_app_ops = {
	.udp_recv = t_udp_recv,
	.tcp_accept = t_tcp_accept,
	.tcp_recv = t_tcp_recv,
	.tcp_eof = t_tcp_eof,
	.tcp_closed = t_tcp_closed,
};

#define T_OUR_IP	htonl(0x0a000005)	/* 10.0.0.5 */
#define T_PEER_IP	htonl(0x0a000001)	/* 10.0.0.1 */
#define T_PORT		4141
#define T_UDP_PORT	5140

static SL_UNUSED void
t_setup(void)
{
	struct sl_lcore_conf conf = {
		.max_conns = 16,
		.mtu = 1500,
		.cookie_secret = { 0x1234, 0x5678 },
	};

	memcpy(conf.mac, t_our_mac, 6);
	memset(&t_tx, 0, sizeof(t_tx));
	free(t_app.rx);
	memset(&t_app, 0, sizeof(t_app));
	t_app.rx = malloc(T_RX_MAX);
	t_app.take_max = UINT32_MAX;
	cr_assert_eq(sl_lcore_init(&t_lc, &conf, &t_tx_ops), 0);
	cr_assert_eq(sl_lcore_addr_add(&t_lc, T_OUR_IP, htonl(0xffffff00), 0,
				       0), 0);
	cr_assert_eq(sl_lcore_listen(&t_lc, SL_IPPROTO_TCP, T_OUR_IP,
				     htons(T_PORT), &t_app_ops, NULL), 0);
	cr_assert_eq(sl_lcore_listen(&t_lc, SL_IPPROTO_UDP, 0,
				     htons(T_UDP_PORT), &t_app_ops, NULL), 0);
}

static SL_UNUSED void
t_teardown(void)
{
	sl_lcore_fini(&t_lc);
	free(t_app.rx);
	t_app.rx = NULL;
}

/* ---- frame builders ---------------------------------------------------- */

static SL_UNUSED uint16_t
t_eth_ip(uint8_t *f, uint8_t proto, uint16_t l4_len, sl_be32 src,
	 sl_be32 dst)
{
	return sl_net_emit_ipv4(f, t_peer_mac, t_our_mac, false, 0, src, dst,
				proto, l4_len, 7);
}

struct t_seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *opts;
	uint8_t optlen;
	const void *data;
	uint32_t len;
	uint16_t sport;			/* 0: 40000 */
	uint16_t dport;			/* 0: T_PORT */
};

/* Build a TCP segment from the peer to us; returns the frame length. */
static SL_UNUSED uint16_t
t_build_tcp(uint8_t *f, const struct t_seg *s)
{
	uint16_t hl = (uint16_t)(20 + SL_ALIGN_UP(s->optlen, 4u));
	uint16_t l4 = (uint16_t)(hl + s->len);
	uint16_t off = t_eth_ip(f, SL_IPPROTO_TCP, l4, T_PEER_IP, T_OUR_IP);
	uint8_t *t = f + off;
	uint16_t c;

	memset(t, 0, hl);
	sl_put_be16(t, s->sport ? s->sport : 40000);
	sl_put_be16(t + 2, s->dport ? s->dport : T_PORT);
	sl_put_be32(t + 4, s->seq);
	sl_put_be32(t + 8, s->ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = s->flags;
	sl_put_be16(t + 14, s->win ? s->win : 65535);
	if (s->optlen)
		memcpy(t + 20, s->opts, s->optlen);
	if (s->len)
		memcpy(t + hl, s->data, s->len);
	c = sl_net_csum_fold(sl_net_csum_partial(t, l4,
			sl_net_pseudo_sum(T_PEER_IP, T_OUR_IP, SL_IPPROTO_TCP,
					  l4)));
	memcpy(t + 16, &c, 2);
	return (uint16_t)(off + l4);
}

static SL_UNUSED void
t_send_tcp(const struct t_seg *s, uint64_t now)
{
	uint8_t f[T_FRAME];
	uint16_t len = t_build_tcp(f, s);

	sl_lcore_input(&t_lc, f, len, 0, now);
}

/* Parse captured frame @i as TCP (asserting its checksums are right). */
static SL_UNUSED struct sl_pkt
t_tx_tcp(unsigned i)
{
	struct sl_pkt pkt;
	enum sl_drop drop;

	cr_assert(i < t_tx.n, "frame %u was not sent (%u sent)", i, t_tx.n);
	cr_assert_eq(sl_net_parse_eth(&pkt, t_tx.frames[i], t_tx.len[i], 0,
				      &drop), 0);
	cr_assert_eq(pkt.eth_type, SL_ETH_P_IPV4);
	cr_assert_eq(sl_net_parse_ipv4(&pkt, &drop), 0, "bad IPv4 out");
	cr_assert_eq(pkt.ip_proto, SL_IPPROTO_TCP);
	cr_assert_eq(sl_net_parse_tcp(&pkt, &drop), 0, "bad TCP out: %d",
		     drop);
	cr_assert(memcmp(pkt.eth->dst, t_peer_mac, 6) == 0);
	cr_assert_eq(pkt.saddr, T_OUR_IP);
	cr_assert_eq(pkt.daddr, T_PEER_IP);
	return pkt;
}

static const uint8_t t_syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };

/*
 * Handshake with the peer's ISN @isn; returns our ISS + 1 (snd.una). The
 * SYN-ACK is checked: MSS and window scale present.
 */
static SL_UNUSED uint32_t
t_handshake_to(uint16_t port, uint32_t isn, uint64_t now)
{
	struct sl_pkt p;
	uint32_t una;
	unsigned n0 = t_tx.n;

	t_send_tcp(&(struct t_seg){ .seq = isn, .flags = SL_TCP_SYN,
				   .opts = t_syn_opts, .optlen = 8,
				   .dport = port }, now);
	cr_assert_eq(t_tx.n, n0 + 1, "no SYN-ACK");
	p = t_tx_tcp(n0);
	cr_assert_eq(p.tcp_flags, SL_TCP_SYN | SL_TCP_ACK);
	cr_assert_eq(p.ack, isn + 1);
	cr_assert_eq(p.opt_mss, 1460);
	cr_assert_eq(p.opt_wscale, SL_TCP_RCV_WSCALE);
	una = p.seq + 1;
	t_send_tcp(&(struct t_seg){ .seq = isn + 1, .ack = una,
				   .flags = SL_TCP_ACK, .win = 512,
				   .dport = port }, now);
	return una;
}

static SL_UNUSED uint32_t
t_handshake(uint32_t isn, uint64_t now)
{
	uint32_t una = t_handshake_to(T_PORT, isn, now);

	cr_assert_eq(t_app.accepts, 1);
	cr_assert_not_null(t_app.conn);
	return una;
}

static SL_UNUSED void
t_data(uint32_t seq, uint32_t ack, const void *data, uint32_t len,
       uint64_t now)
{
	t_send_tcp(&(struct t_seg){ .seq = seq, .ack = ack,
				   .flags = SL_TCP_ACK | SL_TCP_PSH,
				   .data = data, .len = len, .win = 512 }, now);
}

/* Flush and return the last frame sent, as TCP. */
static SL_UNUSED struct sl_pkt
t_flush_last(uint64_t now)
{
	unsigned n0 = t_tx.n;

	sl_lcore_flush(&t_lc, now);
	cr_assert(t_tx.n > n0, "flush sent nothing");
	return t_tx_tcp(t_tx.n - 1);
}

static SL_UNUSED uint64_t
t_drop(enum sl_drop d)
{
	return t_lc.stats.drop[d];
}

#endif /* NET_TEST_UTIL_H */
