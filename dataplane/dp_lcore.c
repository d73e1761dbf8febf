/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The EAL-free half of a PMD lcore: per-core state set up before the loop,
 * and the input path each received frame takes (Ethernet -> ARP | IPv4 ->
 * ICMP | UDP | TCP), dropping and counting whatever is not for us. The DPDK
 * backend calls sl_lcore_input() per frame and sl_lcore_flush() per burst;
 * the unit tests and the fuzz target call them directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "sl_time.h"

#define DP_TIMER_PERIOD_NS	(1ull * 1000 * 1000)

int
sl_lcore_init(struct sl_lcore *lc, const struct sl_lcore_conf *conf,
	      const struct sl_dp_tx_ops *tx)
{
	int rc;

	memset(lc, 0, sizeof(*lc));
	lc->conf = *conf;
	if (!lc->conf.mtu)
		lc->conf.mtu = 1500;
	if (!lc->conf.max_conns)
		lc->conf.max_conns = 1024;
	lc->mss = (uint16_t)(SL_MIN(lc->conf.mtu, 9000) - 40);
	lc->tx = tx;
	rc = sl_tcp_table_init(&lc->tcp, lc->conf.max_conns);
	if (rc < 0)
		return rc;
	return 0;
}

void
sl_lcore_fini(struct sl_lcore *lc)
{
	sl_tcp_table_fini(&lc->tcp);
}

int
sl_lcore_addr_add(struct sl_lcore *lc, sl_be32 addr, sl_be32 mask,
		  sl_be32 gateway, uint16_t port_id)
{
	if (lc->nb_addrs == SL_DP_MAX_ADDRS)
		return -ENOSPC;
	lc->addrs[lc->nb_addrs++] = (struct sl_dp_addr){
		.addr = addr, .mask = mask, .gateway = gateway,
		.port_id = port_id,
	};
	return 0;
}

int
sl_lcore_listen(struct sl_lcore *lc, uint8_t proto, sl_be32 addr,
		sl_be16 port, const struct sl_net_app_ops *ops, void *ctx)
{
	unsigned i;

	for (i = 0; i < lc->nb_listeners; i++) {
		const struct sl_net_listener *ln = &lc->listeners[i];

		if (ln->proto == proto && ln->port == port &&
		    (ln->addr == addr || !ln->addr || !addr))
			return -EADDRINUSE;
	}
	if (lc->nb_listeners == SL_DP_MAX_LISTENERS)
		return -ENOSPC;
	lc->listeners[lc->nb_listeners++] = (struct sl_net_listener){
		.addr = addr, .port = port, .proto = proto, .ops = ops,
		.ctx = ctx,
	};
	return 0;
}

const struct sl_dp_addr *
sl_lcore_addr_find(const struct sl_lcore *lc, sl_be32 addr)
{
	unsigned i;

	for (i = 0; i < lc->nb_addrs; i++)
		if (lc->addrs[i].addr == addr)
			return &lc->addrs[i];
	return NULL;
}

const struct sl_net_listener *
sl_lcore_listener_find(const struct sl_lcore *lc, uint8_t proto,
		       sl_be32 addr, sl_be16 port)
{
	unsigned i;

	for (i = 0; i < lc->nb_listeners; i++) {
		const struct sl_net_listener *ln = &lc->listeners[i];

		if (ln->proto == proto && ln->port == port &&
		    (!ln->addr || ln->addr == addr))
			return ln;
	}
	return NULL;
}

void
sl_lcore_udp_input(struct sl_lcore *lc, const struct sl_pkt *pkt,
		   const uint8_t *data, uint32_t len, uint64_t now)
{
	const struct sl_net_listener *ln;

	ln = sl_lcore_listener_find(lc, SL_IPPROTO_UDP, pkt->daddr,
				    pkt->dport);
	if (SL_UNLIKELY(!ln || !ln->ops->udp_recv)) {
		sl_lcore_drop(lc, SL_DROP_NO_LISTENER);
		return;
	}
	sl_stat_add(&lc->stats.udp_datagrams, 1);
	ln->ops->udp_recv(ln->ctx, lc, pkt, data, len, now);
}

static void
lcore_ipv4_input(struct sl_lcore *lc, struct sl_pkt *pkt, uint64_t now)
{
	enum sl_drop drop;

	if (sl_net_parse_ipv4(pkt, &drop) < 0)
		goto drop;
	if (SL_UNLIKELY(!sl_lcore_addr_find(lc, pkt->daddr))) {
		drop = SL_DROP_NOT_FOR_US;
		goto drop;
	}
	if (SL_UNLIKELY(pkt->ip_frag)) {
		/* TCP never needs fragments from a sane peer (we send DF and
		 * an MSS); UDP datagrams are reassembled by the backend. */
		if (pkt->ip_proto == SL_IPPROTO_TCP) {
			drop = SL_DROP_TCP_FRAGMENT;
			goto drop;
		}
		if (pkt->ip_proto != SL_IPPROTO_UDP || !lc->frag_input) {
			drop = SL_DROP_FRAG_NO_MEM;
			goto drop;
		}
		lc->frag_input(lc, pkt, now);
		return;
	}
	switch (pkt->ip_proto) {
	case SL_IPPROTO_TCP:
		if (sl_net_parse_tcp(pkt, &drop) < 0)
			goto drop;
		sl_stat_add(&lc->stats.tcp_segments, 1);
		sl_tcp_rcv(lc, pkt, now);
		return;
	case SL_IPPROTO_UDP:
		if (sl_net_parse_udp(pkt, &drop) < 0)
			goto drop;
		sl_lcore_udp_input(lc, pkt, pkt->payload, pkt->payload_len,
				   now);
		return;
	case SL_IPPROTO_ICMP:
		sl_icmp_input(lc, pkt);
		return;
	default:
		drop = SL_DROP_UNKNOWN_PROTO;
		goto drop;
	}

drop:
	sl_lcore_drop(lc, drop);
}

void
sl_lcore_input(struct sl_lcore *lc, const uint8_t *frame, uint32_t len,
	       uint32_t rx_flags, uint64_t now)
{
	struct sl_pkt pkt;
	enum sl_drop drop;

	sl_stat_add(&lc->stats.rx_pkts, 1);
	sl_stat_add(&lc->stats.rx_bytes, len);
	if (SL_UNLIKELY(sl_net_parse_eth(&pkt, frame, len, rx_flags,
					 &drop) < 0)) {
		sl_lcore_drop(lc, drop);
		return;
	}
	switch (pkt.eth_type) {
	case SL_ETH_P_IPV4:
		lcore_ipv4_input(lc, &pkt, now);
		return;
	case SL_ETH_P_ARP:
		sl_arp_input(lc, &pkt, now);
		return;
	default:
		sl_lcore_drop(lc, SL_DROP_UNKNOWN_PROTO);
		return;
	}
}

void
sl_lcore_input_reassembled(struct sl_lcore *lc, const uint8_t *frame,
			   uint32_t len, uint64_t now)
{
	struct sl_pkt pkt;
	enum sl_drop drop;

	if (sl_net_parse_eth(&pkt, frame, len, SL_RX_IP_CSUM_GOOD, &drop) < 0 ||
	    sl_net_parse_ipv4(&pkt, &drop) < 0 ||
	    sl_net_parse_udp(&pkt, &drop) < 0) {
		sl_lcore_drop(lc, drop);
		return;
	}
	sl_lcore_udp_input(lc, &pkt, pkt.payload, pkt.payload_len, now);
}

void
sl_lcore_flush(struct sl_lcore *lc, uint64_t now)
{
	unsigned i;

	for (i = 0; i < lc->nb_listeners; i++)
		if (lc->listeners[i].ops->burst_end)
			lc->listeners[i].ops->burst_end(lc->listeners[i].ctx,
							lc, now);
	sl_tcp_flush(lc, now);
	if (now >= lc->next_timer) {
		lc->next_timer = now + DP_TIMER_PERIOD_NS;
		sl_tcp_timers(lc, now);
		sl_tcp_flush(lc, now);
	}
}

/* ---- SipHash-2-4 (Aumasson & Bernstein), for SYN cookies ---------------- */

static inline uint64_t
rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND(v0, v1, v2, v3)					\
	do {								\
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0;		\
		v0 = rotl64(v0, 32);					\
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;		\
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;		\
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2;		\
		v2 = rotl64(v2, 32);					\
	} while (0)

uint64_t
sl_siphash(const uint64_t key[2], const void *data, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	const uint8_t *p = data;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)p[len - left + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- stats ------------------------------------------------------------- */

#define LC_STAT(n, k) \
	SL_STAT_DESC(#n, struct sl_lcore_stats, n, k, SL_STAT_SLUICE)

static const struct sl_stat_desc lcore_stat_desc[] = {
	LC_STAT(rx_pkts, SL_STAT_COUNTER),
	LC_STAT(rx_bytes, SL_STAT_COUNTER),
	LC_STAT(tx_pkts, SL_STAT_COUNTER),
	LC_STAT(tx_bytes, SL_STAT_COUNTER),
	LC_STAT(arp_replies, SL_STAT_COUNTER),
	LC_STAT(icmp_echo_replies, SL_STAT_COUNTER),
	LC_STAT(udp_datagrams, SL_STAT_COUNTER),
	LC_STAT(tcp_segments, SL_STAT_COUNTER),
	LC_STAT(tcp_conns_open, SL_STAT_GAUGE),
	LC_STAT(tcp_conns_accepted, SL_STAT_COUNTER),
	LC_STAT(tcp_conns_closed, SL_STAT_COUNTER),
	LC_STAT(tcp_conns_reset, SL_STAT_COUNTER),
	LC_STAT(tcp_rx_bytes, SL_STAT_COUNTER),
	LC_STAT(tcp_ooo_segments, SL_STAT_GAUGE),
	LC_STAT(tcp_ooo_queued, SL_STAT_COUNTER),
	LC_STAT(syn_cookies_sent, SL_STAT_COUNTER),
	LC_STAT(challenge_acks, SL_STAT_COUNTER),
	LC_STAT(challenge_acks_limited, SL_STAT_COUNTER),
	LC_STAT(tcp_retransmits, SL_STAT_COUNTER),
	LC_STAT(tcp_window_probes, SL_STAT_COUNTER),
	LC_STAT(tcp_zero_windows, SL_STAT_COUNTER),
	LC_STAT(tcp_window_updates, SL_STAT_COUNTER),
	LC_STAT(frags_reassembled, SL_STAT_COUNTER),
	SL_STAT_DESC_END,
};

uint64_t
sl_lcore_ring_depth(const struct sl_lcore *lc)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < lc->nb_listeners; i++) {
		const struct sl_net_listener *ln = &lc->listeners[i];

		if (ln->ops->ring_depth)
			sum += ln->ops->ring_depth(ln->ctx);
	}
	return sum;
}

void
sl_lcore_stats_emit(const struct sl_lcore_stats *st, struct sl_stats_sink *out)
{
	unsigned i;

	sl_stats_emit(out, lcore_stat_desc, st);
	for (i = 0; i < SL_DROP_MAX; i++)
		out->put_u64(out, sl_drop_names[i], sl_stat_read(&st->drop[i]),
			     SL_STAT_COUNTER, SL_STAT_SLUICE);
}
