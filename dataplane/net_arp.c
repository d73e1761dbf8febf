/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ARP (RFC 826) and ICMP echo (RFC 792) for the lcore's own addresses: a
 * request for one of them is answered, what senders say about themselves
 * goes into a small neighbour table (the gateway is resolved through it),
 * echo requests are mirrored back. Dataplane core; replies go out through
 * the backend's transmit hooks.
 */
#include <string.h>

#include "dp_int.h"

#define ARP_HTYPE_ETHER	1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2
#define ICMP_ECHO_REPLY	0
#define ICMP_ECHO	8

static const uint8_t bcast_mac[SL_ETH_ALEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

void
sl_neigh_update(struct sl_lcore *lc, sl_be32 addr, const uint8_t *mac,
		uint64_t now)
{
	struct sl_neigh *slot = NULL, *oldest = &lc->neigh[0];
	unsigned i;

	for (i = 0; i < SL_DP_NEIGH_SIZE; i++) {
		struct sl_neigh *n = &lc->neigh[i];

		if (n->updated && n->addr == addr) {
			slot = n;
			break;
		}
		if (!slot && !n->updated)
			slot = n;
		if (n->updated < oldest->updated)
			oldest = n;
	}
	if (!slot)
		slot = oldest;		/* small table: evict the stalest */
	slot->addr = addr;
	memcpy(slot->mac, mac, SL_ETH_ALEN);
	slot->updated = now ? now : 1;
}

const uint8_t *
sl_neigh_lookup(const struct sl_lcore *lc, sl_be32 addr)
{
	unsigned i;

	for (i = 0; i < SL_DP_NEIGH_SIZE; i++)
		if (lc->neigh[i].updated && lc->neigh[i].addr == addr)
			return lc->neigh[i].mac;
	return NULL;
}

static void
arp_emit(struct sl_lcore *lc, uint16_t op, const uint8_t *dst_mac,
	 bool vlan, uint16_t tci, sl_be32 spa, const uint8_t *tha,
	 sl_be32 tpa)
{
	uint16_t l2 = sl_net_l2_len(vlan), len = (uint16_t)(l2 + 28);
	struct sl_arp_hdr arp;
	void *h;
	uint8_t *buf = lc->tx->get(lc, SL_MAX(len, 60), &h);

	if (!buf) {
		sl_lcore_drop(lc, SL_DROP_NO_MBUF);
		return;
	}
	memcpy(buf, dst_mac, SL_ETH_ALEN);
	memcpy(buf + 6, lc->conf.mac, SL_ETH_ALEN);
	if (vlan) {
		sl_put_be16(buf + 12, SL_ETH_P_VLAN);
		sl_put_be16(buf + 14, tci);
	}
	sl_put_be16(buf + l2 - 2, SL_ETH_P_ARP);
	arp.htype = htons(ARP_HTYPE_ETHER);
	arp.ptype = htons(SL_ETH_P_IPV4);
	arp.hlen = SL_ETH_ALEN;
	arp.plen = 4;
	arp.op = htons(op);
	memcpy(arp.sha, lc->conf.mac, SL_ETH_ALEN);
	arp.spa = spa;
	memcpy(arp.tha, tha, SL_ETH_ALEN);
	arp.tpa = tpa;
	memcpy(buf + l2, &arp, sizeof(arp));
	/* Pad to the Ethernet minimum (60 bytes without the FCS). */
	if (len < 60) {
		memset(buf + len, 0, 60u - len);
		len = 60;
	}
	lc->tx->put(lc, h, len);
	sl_stat_add(&lc->stats.tx_pkts, 1);
	sl_stat_add(&lc->stats.tx_bytes, len);
}

void
sl_arp_request(struct sl_lcore *lc, sl_be32 src, sl_be32 addr)
{
	static const uint8_t zero_mac[SL_ETH_ALEN];

	arp_emit(lc, ARP_OP_REQUEST, bcast_mac, false, 0, src, zero_mac,
		 addr);
}

void
sl_arp_input(struct sl_lcore *lc, const struct sl_pkt *pkt, uint64_t now)
{
	struct sl_arp_hdr arp;
	uint16_t op;

	if (pkt->frame_len - pkt->l3_off < sizeof(arp)) {
		sl_lcore_drop(lc, SL_DROP_MALFORMED);
		return;
	}
	memcpy(&arp, pkt->frame + pkt->l3_off, sizeof(arp));
	if (ntohs(arp.htype) != ARP_HTYPE_ETHER ||
	    ntohs(arp.ptype) != SL_ETH_P_IPV4 || arp.hlen != SL_ETH_ALEN ||
	    arp.plen != 4) {
		sl_lcore_drop(lc, SL_DROP_MALFORMED);
		return;
	}
	op = ntohs(arp.op);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY) {
		sl_lcore_drop(lc, SL_DROP_MALFORMED);
		return;
	}
	/* RFC 826 "merge": only for packets addressed to us, and never
	 * for a broadcast or multicast sender address. */
	if (!sl_lcore_addr_find(lc, arp.tpa)) {
		sl_lcore_drop(lc, SL_DROP_NOT_FOR_US);
		return;
	}
	if (!(arp.sha[0] & 1) && arp.spa)
		sl_neigh_update(lc, arp.spa, arp.sha, now);
	if (op == ARP_OP_REQUEST) {
		arp_emit(lc, ARP_OP_REPLY, arp.sha, pkt->has_vlan,
			 pkt->vlan_tci, arp.tpa, arp.sha, arp.spa);
		sl_stat_add(&lc->stats.arp_replies, 1);
	}
}

void
sl_icmp_input(struct sl_lcore *lc, const struct sl_pkt *pkt)
{
	uint16_t len = pkt->l4_len, l4off;
	uint8_t *buf;
	uint16_t c;
	void *h;

	if (len < sizeof(struct sl_icmp_hdr) ||
	    sl_net_csum_fold(sl_net_csum_partial(pkt->l4, len, 0))) {
		sl_lcore_drop(lc, len < 8 ? SL_DROP_MALFORMED
					  : SL_DROP_BAD_CSUM);
		return;
	}
	if (pkt->l4[0] != ICMP_ECHO || pkt->l4[1] != 0) {
		sl_lcore_drop(lc, SL_DROP_UNKNOWN_PROTO);
		return;
	}
	buf = lc->tx->get(lc, (uint16_t)(sl_net_l2_len(pkt->has_vlan) + 20 +
					 len), &h);
	if (!buf) {
		sl_lcore_drop(lc, SL_DROP_NO_MBUF);
		return;
	}
	l4off = sl_net_emit_ipv4(buf, lc->conf.mac, pkt->eth->src,
				 pkt->has_vlan, pkt->vlan_tci, pkt->daddr,
				 pkt->saddr, SL_IPPROTO_ICMP, len,
				 lc->ip_id++);
	memcpy(buf + l4off, pkt->l4, len);
	buf[l4off] = ICMP_ECHO_REPLY;
	buf[l4off + 2] = buf[l4off + 3] = 0;
	c = sl_net_csum_fold(sl_net_csum_partial(buf + l4off, len, 0));
	memcpy(buf + l4off + 2, &c, 2);
	lc->tx->put(lc, h, (uint16_t)(l4off + len));
	sl_stat_add(&lc->stats.icmp_echo_replies, 1);
	sl_stat_add(&lc->stats.tx_pkts, 1);
	sl_stat_add(&lc->stats.tx_bytes, (uint64_t)l4off + len);
}
