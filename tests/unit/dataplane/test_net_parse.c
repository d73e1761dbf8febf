/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dataplane's packet path without EAL: Ethernet and 802.1Q, ARP
 * request -> reply and the neighbour table, ICMP echo, IPv4 validation,
 * UDP delivery, and malformed frames (every truncation, bad lengths, bad
 * options, random corruption) that must be counted drops, never a crash.
 */
#include "net_test_util.h"

#define T0	(1000ull * 1000 * 1000)

TestSuite(net, .init = t_setup, .fini = t_teardown);

static uint16_t
t_build_arp(uint8_t *f, uint16_t op, sl_be32 tpa, bool vlan)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint16_t off = vlan ? 18 : 14;
	sl_be32 spa = T_PEER_IP;

	memcpy(f, bcast, 6);
	memcpy(f + 6, t_peer_mac, 6);
	if (vlan) {
		sl_put_be16(f + 12, SL_ETH_P_VLAN);
		sl_put_be16(f + 14, 42);
	}
	sl_put_be16(f + off - 2, SL_ETH_P_ARP);
	sl_put_be16(f + off, 1);
	sl_put_be16(f + off + 2, SL_ETH_P_IPV4);
	f[off + 4] = 6;
	f[off + 5] = 4;
	sl_put_be16(f + off + 6, op);
	memcpy(f + off + 8, t_peer_mac, 6);
	memcpy(f + off + 14, &spa, 4);
	memset(f + off + 18, 0, 6);
	memcpy(f + off + 24, &tpa, 4);
	return (uint16_t)(off + 28);
}

Test(net, arp_request_for_our_address_is_answered)
{
	uint8_t f[128];
	uint16_t len = t_build_arp(f, 1, T_OUR_IP, false);
	const uint8_t *r;
	sl_be32 a;

	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 1);
	cr_assert_eq(t_tx.len[0], 60, "padded to the Ethernet minimum");
	r = t_tx.frames[0];
	cr_assert(memcmp(r, t_peer_mac, 6) == 0);
	cr_assert(memcmp(r + 6, t_our_mac, 6) == 0);
	cr_assert_eq(sl_get_be16(r + 12), SL_ETH_P_ARP);
	cr_assert_eq(sl_get_be16(r + 14 + 6), 2, "op = reply");
	cr_assert(memcmp(r + 14 + 8, t_our_mac, 6) == 0, "sha = our mac");
	memcpy(&a, r + 14 + 14, 4);
	cr_assert_eq(a, T_OUR_IP);
	cr_assert(memcmp(r + 14 + 18, t_peer_mac, 6) == 0);
	memcpy(&a, r + 14 + 24, 4);
	cr_assert_eq(a, T_PEER_IP);
	cr_assert_eq(t_lc.stats.arp_replies, 1);
	/* The asker is now a known neighbour. */
	cr_assert_not_null(sl_neigh_lookup(&t_lc, T_PEER_IP));
	cr_assert(memcmp(sl_neigh_lookup(&t_lc, T_PEER_IP), t_peer_mac, 6) ==
		  0);
}

Test(net, arp_on_a_vlan_is_answered_on_that_vlan)
{
	uint8_t f[128];
	uint16_t len = t_build_arp(f, 1, T_OUR_IP, true);

	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 1);
	cr_assert_eq(sl_get_be16(t_tx.frames[0] + 12), SL_ETH_P_VLAN);
	cr_assert_eq(sl_get_be16(t_tx.frames[0] + 14), 42);
	cr_assert_eq(sl_get_be16(t_tx.frames[0] + 16), SL_ETH_P_ARP);
}

Test(net, arp_for_another_address_is_not_answered)
{
	uint8_t f[128];
	uint16_t len = t_build_arp(f, 1, htonl(0x0a000009), false);

	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 0);
	cr_assert_eq(t_drop(SL_DROP_NOT_FOR_US), 1);
	cr_assert_null(sl_neigh_lookup(&t_lc, T_PEER_IP));
}

Test(net, arp_reply_fills_the_neighbour_table)
{
	uint8_t f[128];
	uint16_t len = t_build_arp(f, 2, T_OUR_IP, false);

	sl_arp_request(&t_lc, T_OUR_IP, T_PEER_IP);	/* e.g. the gateway */
	cr_assert_eq(t_tx.n, 1);
	cr_assert_eq(sl_get_be16(t_tx.frames[0] + 14 + 6), 1);
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 1, "a reply is not answered");
	cr_assert_not_null(sl_neigh_lookup(&t_lc, T_PEER_IP));
}

Test(net, neighbour_table_evicts_the_stalest)
{
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 0 };
	unsigned i;

	for (i = 0; i < SL_DP_NEIGH_SIZE + 1; i++) {
		mac[5] = (uint8_t)i;
		sl_neigh_update(&t_lc, htonl(0x0a000100 + i), mac, T0 + i);
	}
	cr_assert_null(sl_neigh_lookup(&t_lc, htonl(0x0a000100)));
	cr_assert_eq(sl_neigh_lookup(&t_lc,
				     htonl(0x0a000100 + SL_DP_NEIGH_SIZE))[5],
		     SL_DP_NEIGH_SIZE);
}

static uint16_t
t_build_icmp(uint8_t *f, const char *payload, uint16_t plen)
{
	uint16_t off = t_eth_ip(f, SL_IPPROTO_ICMP, (uint16_t)(8 + plen),
				T_PEER_IP, T_OUR_IP);
	uint8_t *ic = f + off;
	uint16_t c;

	ic[0] = 8;
	ic[1] = 0;
	ic[2] = ic[3] = 0;
	sl_put_be16(ic + 4, 0x77);
	sl_put_be16(ic + 6, 3);
	memcpy(ic + 8, payload, plen);
	c = sl_net_csum_fold(sl_net_csum_partial(ic, 8u + plen, 0));
	memcpy(ic + 2, &c, 2);
	return (uint16_t)(off + 8 + plen);
}

Test(net, icmp_echo_is_mirrored)
{
	uint8_t f[256];
	uint16_t len = t_build_icmp(f, "ping payload", 12);
	struct sl_pkt pkt;
	enum sl_drop drop;

	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 1);
	cr_assert_eq(sl_net_parse_eth(&pkt, t_tx.frames[0], t_tx.len[0], 0,
				      &drop), 0);
	cr_assert_eq(sl_net_parse_ipv4(&pkt, &drop), 0);
	cr_assert_eq(pkt.ip_proto, SL_IPPROTO_ICMP);
	cr_assert_eq(pkt.saddr, T_OUR_IP);
	cr_assert_eq(pkt.daddr, T_PEER_IP);
	cr_assert_eq(pkt.l4[0], 0, "echo reply");
	cr_assert_eq(sl_get_be16(pkt.l4 + 4), 0x77);
	cr_assert_eq(sl_get_be16(pkt.l4 + 6), 3);
	cr_assert(memcmp(pkt.l4 + 8, "ping payload", 12) == 0);
	cr_assert_eq(sl_net_csum_fold(sl_net_csum_partial(pkt.l4, pkt.l4_len,
							  0)), 0);
	cr_assert_eq(t_lc.stats.icmp_echo_replies, 1);
}

Test(net, icmp_with_bad_checksum_is_dropped)
{
	uint8_t f[256];
	uint16_t len = t_build_icmp(f, "ping", 4);

	f[len - 1] ^= 0xff;
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_tx.n, 0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 1);
}

Test(net, bad_ip_header_checksum_is_dropped_unless_offloaded_good)
{
	uint8_t f[256];
	uint16_t len = t_build_icmp(f, "ping", 4);

	f[14 + 10] ^= 0x01;
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 1);
	cr_assert_eq(t_tx.n, 0);
	/* The NIC said it checked it: believed. */
	sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_GOOD, T0);
	cr_assert_eq(t_tx.n, 1);
	/* The NIC said it is bad: dropped without looking. */
	len = t_build_icmp(f, "ping", 4);
	sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_BAD, T0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 2);
}

Test(net, packet_for_another_address_is_not_for_us)
{
	uint8_t f[256];
	uint16_t off = t_eth_ip(f, SL_IPPROTO_ICMP, 8, T_PEER_IP,
				htonl(0x0a000063));

	memset(f + off, 0, 8);
	sl_lcore_input(&t_lc, f, off + 8u, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_NOT_FOR_US), 1);
}

static uint16_t
t_build_udp(uint8_t *f, uint16_t dport, const void *data, uint16_t len,
	    bool csum)
{
	uint16_t l4 = (uint16_t)(8 + len);
	uint16_t off = t_eth_ip(f, SL_IPPROTO_UDP, l4, T_PEER_IP, T_OUR_IP);
	uint8_t *u = f + off;
	uint16_t c;

	sl_put_be16(u, 33333);
	sl_put_be16(u + 2, dport);
	sl_put_be16(u + 4, l4);
	u[6] = u[7] = 0;
	memcpy(u + 8, data, len);
	if (csum) {
		c = sl_net_csum_fold(sl_net_csum_partial(u, l4,
			sl_net_pseudo_sum(T_PEER_IP, T_OUR_IP, SL_IPPROTO_UDP,
					  l4)));
		memcpy(u + 6, &c, 2);
	}
	return (uint16_t)(off + l4);
}

Test(net, udp_datagram_is_one_delivery)
{
	uint8_t f[256];
	uint16_t len = t_build_udp(f, T_UDP_PORT, "log line\n", 9, true);

	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_app.udp_n, 1);
	cr_assert_eq(t_app.udp_last_len, 9);
	cr_assert(memcmp(t_app.udp_last, "log line\n", 9) == 0);
	/* No checksum (0) is allowed by RFC 768. */
	len = t_build_udp(f, T_UDP_PORT, "x", 1, false);
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_app.udp_n, 2);
	cr_assert_eq(t_lc.stats.udp_datagrams, 2);
}

Test(net, udp_with_bad_checksum_or_no_listener_is_dropped)
{
	uint8_t f[256];
	uint16_t len = t_build_udp(f, T_UDP_PORT, "abc", 3, true);

	f[len - 1] ^= 0x40;
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 1);
	len = t_build_udp(f, 9, "abc", 3, true);
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_NO_LISTENER), 1);
	cr_assert_eq(t_app.udp_n, 0);
}

Test(net, ethernet_padding_is_not_payload)
{
	uint8_t f[256];
	uint16_t len = t_build_udp(f, T_UDP_PORT, "ab", 2, true);

	memset(f + len, 0xee, 20);
	sl_lcore_input(&t_lc, f, len + 20u, 0, T0);
	cr_assert_eq(t_app.udp_n, 1);
	cr_assert_eq(t_app.udp_last_len, 2);
}

Test(net, tcp_fragments_are_dropped_and_counted)
{
	uint8_t f[T_FRAME];
	uint16_t len = t_build_tcp(f, &(struct t_seg){ .seq = 1,
						      .flags = SL_TCP_SYN });
	uint16_t c;

	sl_put_be16(f + 14 + 6, SL_IP_MF);
	f[14 + 10] = f[14 + 11] = 0;
	c = sl_net_csum_fold(sl_net_csum_partial(f + 14, 20, 0));
	memcpy(f + 14 + 10, &c, 2);
	sl_lcore_input(&t_lc, f, len, 0, T0);
	cr_assert_eq(t_drop(SL_DROP_TCP_FRAGMENT), 1);
	cr_assert_eq(t_tx.n, 0);
}

Test(net, ipv6_and_other_ethertypes_are_counted)
{
	uint8_t f[64] = { 0 };

	sl_put_be16(f + 12, 0x86dd);
	sl_lcore_input(&t_lc, f, sizeof(f), 0, T0);
	cr_assert_eq(t_drop(SL_DROP_UNKNOWN_PROTO), 1);
}

/* RFC 1071 the plain way: 16-bit words, one at a time. */
static uint16_t
t_csum_ref(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

Test(net, checksum_matches_the_plain_rfc1071_sum)
{
	static uint8_t buf[3000];
	uint32_t x = 7, len, off, i;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	memset(buf + 100, 0xff, 600);	/* carries galore */
	for (len = 0; len < 1100; len += 1 + len / 7) {
		for (off = 0; off < 4; off++) {
			uint16_t got = sl_net_csum_fold(
				sl_net_csum_partial(buf + off, len, 0));

			cr_assert_eq(ntohs(got), t_csum_ref(buf + off, len),
				     "len %u off %u", len, off);
		}
	}
}

/* Every length up to 2 KiB and offset mod 8 (both the wide loops and the
 * tails), all-ones data up to 64 KiB (every carry), and a sum chained from
 * one buffer into the next, against the plain 16-bit sum. */
Test(net, checksum_matches_the_plain_sum_at_every_length_and_chained)
{
	static uint8_t buf[65536 + 8];
	uint32_t x = 11, len, off, i;

	for (i = 0; i < 4096; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (len = 0; len <= 2100; len++) {
		for (off = 0; off < 8; off++) {
			uint16_t got = sl_net_csum_fold(
				sl_net_csum_partial(buf + off, len, 0));

			cr_assert_eq(ntohs(got), t_csum_ref(buf + off, len),
				     "len %u off %u", len, off);
		}
	}
	for (len = 2; len < 1500; len += 2) {
		uint32_t part = sl_net_csum_partial(buf + 3, len, 0);
		uint16_t got = sl_net_csum_fold(
			sl_net_csum_partial(buf + 3 + len, 1600 - len, part));

		cr_assert_eq(ntohs(got), t_csum_ref(buf + 3, 1600),
			     "split at %u", len);
	}
	memset(buf, 0xff, sizeof(buf));
	for (len = 60000; len <= 65536; len += 509) {
		uint16_t got = sl_net_csum_fold(
			sl_net_csum_partial(buf + 1, len, 0xffff));

		/* Even: ~0 plus words of ~0 folds to ~0, checksum 0. */
		if (len % 2 == 0)
			cr_assert_eq(got, 0, "len %u", len);
		cr_assert_eq(ntohs(sl_net_csum_fold(
			sl_net_csum_partial(buf + 1, len, 0))),
			t_csum_ref(buf + 1, len), "len %u", len);
	}
}

/* The pseudo-header sum and IPv4 headers of every length (options) against
 * the plain sum of their bytes, not against the code under test; a UDP
 * datagram with a wrong checksum passes only when the NIC vouched for it. */
Test(net, pseudo_header_and_ip_options_checksums_are_the_plain_sum)
{
	static const uint32_t addrs[][2] = {
		{ 0x0a000001u, 0x0a000005u }, { 0xffffffffu, 0xffffffffu },
		{ 0x00000000u, 0x00000001u }, { 0xc0a80101u, 0x7f0000ffu },
	};
	uint8_t ph[12], f[256];
	uint16_t len;
	unsigned i, l4, hl;

	for (i = 0; i < 4; i++) {
		for (l4 = 8; l4 < 65536; l4 = l4 * 3 + 1) {
			sl_be32 sa = htonl(addrs[i][0]), da = htonl(addrs[i][1]);
			uint32_t sum = sl_net_pseudo_sum(sa, da, SL_IPPROTO_UDP,
							 (uint16_t)l4);

			memcpy(ph, &sa, 4);
			memcpy(ph + 4, &da, 4);
			ph[8] = 0;
			ph[9] = SL_IPPROTO_UDP;
			sl_put_be16(ph + 10, (uint16_t)l4);
			cr_assert_eq(ntohs(sl_net_csum_fold(sum)),
				     t_csum_ref(ph, 12), "%u %u", i, l4);
		}
	}
	for (hl = 20; hl <= 60; hl += 4) {
		uint8_t *ip = f + 14;
		uint16_t c;

		len = t_build_udp(f, T_UDP_PORT, "opt", 3, false);
		memmove(ip + hl, ip + 20, 11);
		memset(ip + 20, 1, hl - 20);		/* NOP options */
		ip[0] = (uint8_t)(0x40 | hl / 4);
		sl_put_be16(ip + 2, (uint16_t)(hl + 11));
		ip[10] = ip[11] = 0;
		c = htons(t_csum_ref(ip, hl));
		memcpy(ip + 10, &c, 2);
		sl_lcore_input(&t_lc, f, 14 + hl + 11, 0, T0);
		cr_assert_eq(t_app.udp_n, (hl - 20) / 4 * 2 + 1, "hl %u", hl);
		ip[hl - 1] ^= 0x10;
		sl_lcore_input(&t_lc, f, 14 + hl + 11, 0, T0);
		cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), (hl - 20) / 4 + 1);
		ip[hl - 1] ^= 0x10;
		sl_lcore_input(&t_lc, f, 14 + hl + 11, 0, T0);
	}
	/* A wrong UDP checksum: dropped, unless the NIC checked it good. */
	len = t_build_udp(f, T_UDP_PORT, "abc", 3, true);
	f[len - 1] ^= 0x40;
	sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_GOOD, T0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 12);
	sl_lcore_input(&t_lc, f, len, SL_RX_L4_CSUM_GOOD, T0);
	cr_assert_eq(t_app.udp_n, 23);
	f[len - 1] ^= 0x40;
	sl_lcore_input(&t_lc, f, len, SL_RX_L4_CSUM_BAD, T0);
	cr_assert_eq(t_drop(SL_DROP_BAD_CSUM), 13);
	cr_assert_eq(t_app.udp_n, 23);
}

/* Every drop and every delivery adds up to the frames given. */
static uint64_t
t_outcomes(void)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < SL_DROP_MAX; i++)
		n += t_lc.stats.drop[i];
	return n;
}

Test(net, every_truncation_of_a_frame_is_a_counted_drop)
{
	uint8_t f[T_FRAME], g[T_FRAME];
	uint16_t len = t_build_tcp(f, &(struct t_seg){ .seq = 1,
			.flags = SL_TCP_SYN, .opts = t_syn_opts, .optlen = 8,
			.data = "abc", .len = 3 });
	uint16_t cut;

	for (cut = 0; cut < len; cut++) {
		uint64_t before = t_outcomes();

		/* A copy of exactly @cut bytes, so ASan sees any overread. */
		uint8_t *h = malloc(cut ? cut : 1);

		memcpy(h, f, cut);
		sl_lcore_input(&t_lc, h, cut, 0, T0);
		free(h);
		cr_assert_eq(t_outcomes(), before + 1,
			     "cut at %u was not counted", cut);
	}
	cr_assert_eq(t_tx.n, 0);
	memcpy(g, f, len);
	sl_lcore_input(&t_lc, g, len, 0, T0);
	cr_assert_eq(t_tx.n, 1, "the whole frame is a good SYN");
}

Test(net, bad_ip_lengths_are_malformed)
{
	uint8_t f[T_FRAME];
	uint16_t len;
	static const uint8_t vihl[] = { 0x44, 0x65, 0x4f, 0x40 };
	unsigned i;

	for (i = 0; i < SL_ARRAY_SIZE(vihl); i++) {
		len = t_build_tcp(f, &(struct t_seg){ .seq = 1,
						      .flags = SL_TCP_SYN });
		f[14] = vihl[i];
		sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_GOOD, T0);
	}
	/* tot_len beyond the frame, and below the header. */
	len = t_build_tcp(f, &(struct t_seg){ .seq = 1, .flags = SL_TCP_SYN });
	sl_put_be16(f + 16, 1500);
	sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_GOOD, T0);
	sl_put_be16(f + 16, 10);
	sl_lcore_input(&t_lc, f, len, SL_RX_IP_CSUM_GOOD, T0);
	cr_assert_eq(t_drop(SL_DROP_MALFORMED), SL_ARRAY_SIZE(vihl) + 2);
	cr_assert_eq(t_tx.n, 0);
}

Test(net, bad_tcp_options_are_malformed_and_never_hang)
{
	static const uint8_t zero_len[] = { 2, 0, 0, 0 };
	static const uint8_t one_len[] = { 3, 1, 0, 0 };
	static const uint8_t past_end[] = { 1, 1, 2, 9 };
	static const uint8_t kind_at_end[] = { 1, 1, 1, 2 };
	static const uint8_t eol_then_junk[] = { 0, 0xff, 0xff, 0xff };
	const uint8_t *bad[] = { zero_len, one_len, past_end, kind_at_end };
	unsigned i;

	for (i = 0; i < SL_ARRAY_SIZE(bad); i++)
		t_send_tcp(&(struct t_seg){ .seq = 1, .flags = SL_TCP_SYN,
					   .opts = bad[i], .optlen = 4 }, T0);
	cr_assert_eq(t_drop(SL_DROP_MALFORMED), SL_ARRAY_SIZE(bad));
	cr_assert_eq(t_tx.n, 0);
	/* EOL ends the list: what follows is ignored. */
	t_send_tcp(&(struct t_seg){ .seq = 1, .flags = SL_TCP_SYN,
				   .opts = eol_then_junk, .optlen = 4 }, T0);
	cr_assert_eq(t_tx.n, 1);
}

Test(net, data_offset_below_five_or_past_the_segment_is_malformed)
{
	uint8_t f[T_FRAME];
	uint16_t len;

	len = t_build_tcp(f, &(struct t_seg){ .seq = 1, .flags = SL_TCP_SYN });
	f[34 + 12] = 0x40;
	sl_lcore_input(&t_lc, f, len, SL_RX_L4_CSUM_GOOD, T0);
	f[34 + 12] = 0xf0;
	sl_lcore_input(&t_lc, f, len, SL_RX_L4_CSUM_GOOD, T0);
	cr_assert_eq(t_drop(SL_DROP_MALFORMED), 2);
}

Test(net, random_corruption_never_crashes)
{
	uint8_t f[T_FRAME];
	uint16_t len;
	uint32_t x = 12345;
	unsigned i, k;

	for (i = 0; i < 20000; i++) {
		len = t_build_tcp(f, &(struct t_seg){ .seq = i,
				.flags = (uint8_t)(i & 0x3f),
				.opts = t_syn_opts, .optlen = 8,
				.data = "payload\n", .len = 8 });
		for (k = 0; k < 1 + i % 4; k++) {
			x = x * 1103515245u + 12345u;
			f[(x >> 8) % len] = (uint8_t)(x >> 24);
		}
		sl_lcore_input(&t_lc, f, len, (i & 1) ? SL_RX_IP_CSUM_GOOD |
				SL_RX_L4_CSUM_GOOD : 0, T0 + i);
		sl_lcore_flush(&t_lc, T0 + i);
		t_tx.n = 0;
	}
	cr_assert(t_lc.stats.rx_pkts == 20000);
}
