/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the dataplane's packet parsers and TCP input
 * (dataplane/net_parse.c, net_arp.c, dp_lcore.c, tcp_*.c), no EAL. Each
 * input drives a fresh lcore: a handshake is made first (so TCP input past
 * LISTEN is reached), then the input is read as records: raw frames given
 * as is, or TCP segments the harness completes with valid headers and
 * checksums from fuzzer-chosen flags, sequence offsets, window, options
 * and payload, with the clock advanced by fuzzer-chosen steps and the
 * application's appetite chosen too. Checked after every record:
 * the bytes the application got equal what TCP counted as delivered, the
 * queues stay inside their bounds. Built by `make fuzz` (clang) and as a
 * bounded smoke run by the ordinary test build.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "net_int.h"
#include "tcp_int.h"

#define FZ_TX		64
#define FZ_FRAME	2048

static uint8_t fz_tx[FZ_TX][FZ_FRAME];
static uint16_t fz_tx_len[FZ_TX];
static unsigned fz_nb_tx;
static uint64_t fz_app_bytes;
static uint32_t fz_take;
static struct sl_tcp_conn *fz_conn;

static void
fz_check(int cond)
{
	if (!cond)
		abort();
}

static uint8_t *
fz_tx_get(struct sl_lcore *lc, uint16_t len, void **h)
{
	fz_check(len <= FZ_FRAME);
	if (fz_nb_tx == FZ_TX)
		fz_nb_tx = 0;		/* keep the last ones */
	*h = fz_tx[fz_nb_tx];
	return fz_tx[fz_nb_tx];
}

static void
fz_tx_put(struct sl_lcore *lc, void *h, uint16_t len)
{
	fz_check(h == fz_tx[fz_nb_tx]);
	fz_tx_len[fz_nb_tx++] = len;
}

static const struct sl_dp_tx_ops fz_tx_ops = { fz_tx_get, fz_tx_put };

static int fz_app_state;

static void
fz_udp(void *ctx, struct sl_lcore *lc, const struct sl_pkt *pkt,
       const uint8_t *d, uint32_t len, uint64_t now)
{
	fz_check(d >= pkt->frame && d + len <= pkt->frame + pkt->frame_len);
}

static void *
fz_accept(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	  uint64_t now)
{
	fz_conn = conn;
	return &fz_app_state;
}

static uint32_t
fz_recv(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn,
	const uint8_t *d, uint32_t len, uint64_t now)
{
	uint32_t n = SL_MIN(len, fz_take);
	volatile uint8_t sink = 0;
	uint32_t i;

	for (i = 0; i < n; i++)	/* ASan checks every byte handed up */
		sink ^= d[i];
	(void)sink;
	fz_app_bytes += n;
	if (n && (d[0] & 7) == 0)
		sl_tcp_send(lc, conn, "OK\n", 3);
	if (n && d[0] == 'C')
		sl_tcp_close(lc, conn);
	return n;
}

static void
fz_closed(void *ctx, struct sl_lcore *lc, struct sl_tcp_conn *conn)
{
	if (conn == fz_conn)
		fz_conn = NULL;
}

static const struct sl_net_app_ops fz_app = {
	.udp_recv = fz_udp,
	.tcp_accept = fz_accept,
	.tcp_recv = fz_recv,
	.tcp_closed = fz_closed,
};

static const uint8_t our_mac[6] = { 2, 0, 0, 0, 0, 5 };
static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 0, 1 };
#define FZ_OUR	htonl(0x0a000005)
#define FZ_PEER	htonl(0x0a000001)

/* A valid TCP segment from the peer with the given fields. */
static uint16_t
fz_segment(uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags,
	   uint16_t win, const uint8_t *opts, uint8_t optlen,
	   const uint8_t *data, uint16_t len)
{
	uint16_t hl = (uint16_t)(20 + ((optlen + 3u) & ~3u));
	uint16_t l4 = (uint16_t)(hl + len), off, c;
	uint8_t *t;

	off = sl_net_emit_ipv4(f, peer_mac, our_mac, false, 0, FZ_PEER,
			       FZ_OUR, SL_IPPROTO_TCP, l4, 1);
	t = f + off;
	memset(t, 0, hl);
	sl_put_be16(t, 40000);
	sl_put_be16(t + 2, 4141);
	sl_put_be32(t + 4, seq);
	sl_put_be32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	sl_put_be16(t + 14, win);
	if (optlen)
		memcpy(t + 20, opts, optlen);
	if (len)
		memcpy(t + hl, data, len);
	c = sl_net_csum_fold(sl_net_csum_partial(t, l4,
			sl_net_pseudo_sum(FZ_PEER, FZ_OUR, SL_IPPROTO_TCP,
					  l4)));
	memcpy(t + 16, &c, 2);
	return (uint16_t)(off + l4);
}

static void
fz_invariants(const struct sl_lcore *lc)
{
	/* Bytes TCP delivered = bytes the application took, but for those
	 * discarded after the application closed (counted as drops). */
	fz_check(lc->stats.tcp_rx_bytes >= fz_app_bytes);
	if (!lc->stats.drop[SL_DROP_TCP_AFTER_CLOSE])
		fz_check(lc->stats.tcp_rx_bytes == fz_app_bytes);
	if (fz_conn) {
		fz_check(fz_conn->snd_len <= SL_TCP_SNDBUF);
		fz_check(fz_conn->nb_ooo <= SL_TCP_OOO_SEGS);
		fz_check(sl_seq_leq(fz_conn->snd_una, fz_conn->snd_nxt));
		/* What waits, and what the window promised, fit the buffer. */
		fz_check(fz_conn->rcv_nxt - fz_conn->rcv_app <=
			 SL_TCP_RCVBUF);
		fz_check(fz_conn->rcv_adv - fz_conn->rcv_app <=
			 SL_TCP_RCVBUF);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t syn_opts[] = { 2, 4, 5, 0xb4, 1, 3, 3, 7 };
	struct sl_lcore_conf conf = {
		.max_conns = 4, .mtu = 1500, .idle_timeout_ns = 0,
		.cookie_secret = { 1, 2 },
	};
	static struct sl_lcore lc;
	static uint8_t f[FZ_FRAME];
	uint64_t now = 1000000000ull;
	uint32_t isn = 0, iss = 0;
	size_t pos = 0;
	struct sl_pkt p;
	enum sl_drop drop;
	uint16_t len;

	memcpy(conf.mac, our_mac, 6);
	fz_nb_tx = 0;
	fz_app_bytes = 0;
	fz_take = UINT32_MAX;
	fz_conn = NULL;
	if (sl_lcore_init(&lc, &conf, &fz_tx_ops) < 0)
		abort();
	sl_lcore_addr_add(&lc, FZ_OUR, htonl(0xffffff00), 0, 0);
	sl_lcore_listen(&lc, SL_IPPROTO_TCP, FZ_OUR, htons(4141), &fz_app,
			NULL);
	sl_lcore_listen(&lc, SL_IPPROTO_UDP, 0, htons(5140), &fz_app, NULL);

	if (size >= 4) {
		memcpy(&isn, data, 4);
		pos = 4;
	}
	/* Handshake, so the records below reach established TCP. */
	len = fz_segment(f, isn, 0, SL_TCP_SYN, 65535, syn_opts, 8, NULL, 0);
	sl_lcore_input(&lc, f, len, 0, now);
	fz_check(fz_nb_tx == 1);
	fz_check(sl_net_parse_eth(&p, fz_tx[0], fz_tx_len[0], 0, &drop) == 0 &&
		 sl_net_parse_ipv4(&p, &drop) == 0 &&
		 sl_net_parse_tcp(&p, &drop) == 0);
	iss = p.seq;
	len = fz_segment(f, isn + 1, iss + 1, SL_TCP_ACK, 512, NULL, 0, NULL,
			 0);
	sl_lcore_input(&lc, f, len, 0, now);
	fz_check(fz_conn != NULL);

	while (pos + 2 <= size) {
		uint8_t kind = data[pos], n8 = data[pos + 1];

		pos += 2;
		if (kind & 0x80) {
			/* A raw frame of n8 * 8 bytes (or what is left). */
			size_t n = SL_MIN((size_t)n8 * 8, size - pos);
			uint8_t *copy = malloc(n ? n : 1);

			memcpy(copy, data + pos, n);
			sl_lcore_input(&lc, copy, (uint32_t)n, kind & 0x0c,
				       now);
			free(copy);
			pos += n;
		} else if (kind & 0x40) {
			/* The clock and the application's appetite. */
			now += (uint64_t)n8 * ((kind & 1) ? 1000000000ull
							  : 1000000ull);
			fz_take = (kind & 4) ? n8 : UINT32_MAX;
			sl_lcore_flush(&lc, now);
		} else {
			/* A TCP segment: flags, offsets, window, options,
			 * payload, all relative to the connection. */
			uint8_t hdr[8] = { 0 }, optlen;
			size_t h = SL_MIN((size_t)8, size - pos);
			uint32_t seq, ack;
			uint16_t plen;

			memcpy(hdr, data + pos, h);
			pos += h;
			seq = isn + 1 + (uint32_t)(int16_t)sl_get_be16(hdr);
			seq += (uint32_t)hdr[6] << 16;
			ack = iss + 1 + (uint32_t)(int8_t)hdr[2];
			optlen = (uint8_t)SL_MIN(hdr[3] & 0x1f,
						 (unsigned)(size - pos));
			optlen = SL_MIN(optlen, (uint8_t)40);
			plen = (uint16_t)SL_MIN((size_t)n8 * 6,
						size - pos - optlen);
			len = fz_segment(f, seq, ack, (uint8_t)(kind & 0x3f),
					 sl_get_be16(hdr + 4), data + pos,
					 optlen, data + pos + optlen, plen);
			pos += optlen + plen;
			sl_lcore_input(&lc, f, len, 0, now);
			if (hdr[7] & 1)
				sl_lcore_flush(&lc, now);
		}
		fz_invariants(&lc);
	}
	sl_lcore_flush(&lc, now + 3600ull * 1000000000ull);
	fz_invariants(&lc);
	sl_lcore_fini(&lc);
	return 0;
}
