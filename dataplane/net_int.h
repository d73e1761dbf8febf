/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire formats and the packet parsers of the dataplane: Ethernet (802.1Q),
 * ARP, IPv4, ICMP, UDP, TCP headers and options, internet checksums. No EAL
 * here: parsers read plain byte buffers so unit tests and the fuzz target
 * feed them crafted frames. Called by the PMD lcore that received the frame.
 */
#ifndef SL_NET_INT_H
#define SL_NET_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include "sl_common.h"
#include "sl_drop.h"

typedef uint16_t sl_be16;	/* network byte order; convert at the edge */
typedef uint32_t sl_be32;

#define SL_ETH_ALEN		6
#define SL_ETH_HLEN		14
#define SL_ETH_P_IPV4		0x0800
#define SL_ETH_P_ARP		0x0806
#define SL_ETH_P_VLAN		0x8100
#define SL_IPPROTO_ICMP		1
#define SL_IPPROTO_TCP		6
#define SL_IPPROTO_UDP		17
#define SL_IP_MF		0x2000
#define SL_IP_OFFMASK		0x1fff

#define SL_TCP_FIN		0x01
#define SL_TCP_SYN		0x02
#define SL_TCP_RST		0x04
#define SL_TCP_PSH		0x08
#define SL_TCP_ACK		0x10
#define SL_TCP_URG		0x20

struct sl_eth_hdr {
	uint8_t dst[SL_ETH_ALEN];
	uint8_t src[SL_ETH_ALEN];
	sl_be16 type;
} __attribute__((packed));

struct sl_vlan_hdr {
	sl_be16 tci;
	sl_be16 type;
} __attribute__((packed));

struct sl_arp_hdr {
	sl_be16 htype;
	sl_be16 ptype;
	uint8_t hlen;
	uint8_t plen;
	sl_be16 op;
	uint8_t sha[SL_ETH_ALEN];
	sl_be32 spa;
	uint8_t tha[SL_ETH_ALEN];
	sl_be32 tpa;
} __attribute__((packed));

struct sl_ipv4_hdr {
	uint8_t ver_ihl;
	uint8_t tos;
	sl_be16 tot_len;
	sl_be16 id;
	sl_be16 frag_off;
	uint8_t ttl;
	uint8_t proto;
	sl_be16 csum;
	sl_be32 saddr;
	sl_be32 daddr;
} __attribute__((packed));

struct sl_icmp_hdr {
	uint8_t type;
	uint8_t code;
	sl_be16 csum;
	sl_be16 id;
	sl_be16 seq;
} __attribute__((packed));

struct sl_udp_hdr {
	sl_be16 sport;
	sl_be16 dport;
	sl_be16 len;
	sl_be16 csum;
} __attribute__((packed));

struct sl_tcp_hdr {
	sl_be16 sport;
	sl_be16 dport;
	sl_be32 seq;
	sl_be32 ack;
	uint8_t doff;		/* data offset in the high nibble */
	uint8_t flags;
	sl_be16 win;
	sl_be16 csum;
	sl_be16 urg;
} __attribute__((packed));

/* Receive offload results the backend passes in (from mbuf ol_flags). */
#define SL_RX_IP_CSUM_GOOD	0x1u
#define SL_RX_IP_CSUM_BAD	0x2u
#define SL_RX_L4_CSUM_GOOD	0x4u
#define SL_RX_L4_CSUM_BAD	0x8u

/*
 * One parsed frame. Pointers point into the caller's buffer; lengths are
 * already checked against it. Addresses and ports stay in network order
 * (compared and hashed as they come), the rest is host order.
 */
struct sl_pkt {
	const uint8_t *frame;
	uint32_t frame_len;
	uint32_t rx_flags;		/* SL_RX_* */
	const struct sl_eth_hdr *eth;
	uint16_t eth_type;
	bool has_vlan;
	uint16_t vlan_tci;
	uint16_t l3_off;
	/* IPv4 */
	const struct sl_ipv4_hdr *ip;
	uint16_t ip_hlen;
	uint16_t ip_len;		/* tot_len: header + payload */
	uint8_t ip_proto;
	bool ip_frag;			/* MF set or offset != 0 */
	sl_be32 saddr, daddr;
	/* L4 */
	const uint8_t *l4;
	uint16_t l4_len;		/* header + payload */
	sl_be16 sport, dport;
	const uint8_t *payload;
	uint32_t payload_len;
	/* TCP */
	uint32_t seq, ack;
	uint16_t win;
	uint8_t tcp_flags;
	uint8_t tcp_hlen;
	uint16_t opt_mss;		/* 0: absent */
	int8_t opt_wscale;		/* -1: absent */
};

/* Internet checksum (RFC 1071) helpers. */
uint32_t sl_net_csum_partial(const void *buf, uint32_t len, uint32_t sum);
static inline uint16_t
sl_net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
/* Partial sum of the IPv4 pseudo-header for @proto and @l4_len. */
uint32_t sl_net_pseudo_sum(sl_be32 saddr, sl_be32 daddr, uint8_t proto,
			   uint16_t l4_len);

/*
 * Parse Ethernet (and one 802.1Q tag). 0 with pkt->eth_type set, or
 * -EPROTO with *@drop set. Context: dataplane core.
 */
int sl_net_parse_eth(struct sl_pkt *pkt, const uint8_t *frame, uint32_t len,
		     uint32_t rx_flags, enum sl_drop *drop);
/*
 * Validate the IPv4 header at pkt->l3_off: version, IHL, total length,
 * header checksum (unless the NIC vouched for it). Trims Ethernet padding.
 * 0 or -EPROTO with *@drop set.
 */
int sl_net_parse_ipv4(struct sl_pkt *pkt, enum sl_drop *drop);
/* UDP header, length and checksum (0 = none). 0 or -EPROTO. */
int sl_net_parse_udp(struct sl_pkt *pkt, enum sl_drop *drop);
/* TCP header, options (MSS, window scale), checksum. 0 or -EPROTO. */
int sl_net_parse_tcp(struct sl_pkt *pkt, enum sl_drop *drop);

/*
 * Write Ethernet (+ VLAN tag when @vlan) and IPv4 headers at @buf for a
 * reply; returns the offset of the L4 header. @l4_len is what follows.
 */
uint16_t sl_net_emit_ipv4(uint8_t *buf, const uint8_t *src_mac,
			  const uint8_t *dst_mac, bool vlan, uint16_t vlan_tci,
			  sl_be32 saddr, sl_be32 daddr, uint8_t proto,
			  uint16_t l4_len, uint16_t ip_id);

static inline uint16_t
sl_net_l2_len(bool vlan)
{
	return SL_ETH_HLEN + (vlan ? 4 : 0);
}

static inline uint16_t
sl_get_be16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

static inline uint32_t
sl_get_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static inline void
sl_put_be16(void *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

static inline void
sl_put_be32(void *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

#endif /* SL_NET_INT_H */
