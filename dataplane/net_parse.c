/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Header parsers and checksums: Ethernet/802.1Q, IPv4, UDP, TCP (with its
 * options), and the reply header writer. Every length is checked against
 * the buffer before it is read; a bad frame is a counted drop reason, never
 * a crash. Dataplane core; no EAL.
 */
#include <errno.h>

#include "net_int.h"

/*
 * RFC 1071 sum. The one's complement sum of 64-bit (or 32-bit) words folds
 * to the same 16-bit sum as 16-bit words (RFC 1071 §2(B) "parallel
 * summation"), and byte order does not matter as long as the result is
 * stored as read (§2(A)). The payload checksum of every UDP datagram and
 * TCP segment runs here: with AVX2, 32-bit words widened into four 64-bit
 * lanes, 64 bytes a turn (no lane can overflow below 2^32 words); else
 * 64-bit words into two sums whose carries are counted apart (two
 * independent chains instead of one add-with-carry chain).
 */
static inline uint32_t
csum_fold64(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

/* @len < 8 bytes at @p into @acc (end-around carry kept). */
static inline uint64_t
csum_tail(const uint8_t *p, uint32_t len, uint64_t acc)
{
	uint64_t t = 0;
	uint32_t w32;
	uint16_t w16;

	/* The last bytes as one zero-padded little-endian word, the same
	 * in-memory layout RFC 1071's 16-bit words have; read in 4/2/1
	 * pieces, not memcpy'd into a stack word (a store-forwarding stall
	 * on every IPv4 header). */
	if (len & 4) {
		memcpy(&w32, p, 4);
		t = w32;
		p += 4;
	}
	if (len & 2) {
		memcpy(&w16, p, 2);
		t += (uint64_t)w16 << ((len & 4) * 8);
		p += 2;
	}
	if (len & 1)
		t += (uint64_t)*p << ((len & 6) * 8);
	acc += t;
	return acc + (acc < t);
}

static inline uint64_t
csum_words64(const uint8_t **pp, uint32_t *lenp, uint64_t acc)
{
	const uint8_t *p = *pp;
	uint32_t len = *lenp;
	uint64_t s1 = 0, c0 = 0, c1 = 0, a, b, c, d;

	while (len >= 32) {
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		acc += a;
		c0 += acc < a;
		s1 += b;
		c1 += s1 < b;
		acc += c;
		c0 += acc < c;
		s1 += d;
		c1 += s1 < d;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&a, p, 8);
		acc += a;
		c0 += acc < a;
		p += 8;
		len -= 8;
	}
	acc += s1;
	c0 += acc < s1;
	c0 += c1;		/* carries: at most len / 8, no overflow */
	acc += c0;
	acc += acc < c0;
	*pp = p;
	*lenp = len;
	return acc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CSUM_AVX2 1

__attribute__((target("avx2"))) static uint64_t
csum_avx2(const uint8_t **pp, uint32_t *lenp, uint64_t acc)
{
	const uint8_t *p = *pp;
	uint32_t len = *lenp;
	__m256i z = _mm256_setzero_si256(), a0 = z, a1 = z, x, y;
	uint64_t v[4];
	unsigned i;

	while (len >= 64) {
		x = _mm256_loadu_si256((const __m256i *)(const void *)p);
		y = _mm256_loadu_si256((const __m256i *)(const void *)
				       (p + 32));
		a0 = _mm256_add_epi64(a0, _mm256_add_epi64(
			_mm256_unpacklo_epi32(x, z),
			_mm256_unpackhi_epi32(x, z)));
		a1 = _mm256_add_epi64(a1, _mm256_add_epi64(
			_mm256_unpacklo_epi32(y, z),
			_mm256_unpackhi_epi32(y, z)));
		p += 64;
		len -= 64;
	}
	_mm256_storeu_si256((__m256i *)(void *)v, _mm256_add_epi64(a0, a1));
	for (i = 0; i < 4; i++) {
		acc += v[i];
		acc += acc < v[i];
	}
	*pp = p;
	*lenp = len;
	return acc;
}
#endif

uint32_t
sl_net_csum_partial(const void *buf, uint32_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

#ifdef CSUM_AVX2
	if (len >= 128 && __builtin_cpu_supports("avx2"))
		acc = csum_avx2(&p, &len, acc);
#endif
	acc = csum_words64(&p, &len, acc);
	return csum_fold64(csum_tail(p, len, acc));
}

uint32_t
sl_net_pseudo_sum(sl_be32 saddr, sl_be32 daddr, uint8_t proto,
		  uint16_t l4_len)
{
	/* The four words as they lie in memory, read natively, as
	 * sl_net_csum_partial() reads its buffer (no carry can leave 64
	 * bits here). */
	return csum_fold64((uint64_t)saddr + daddr + htons(proto) +
			   htons(l4_len));
}

/* An IPv4 header's sum (@len 20..60), inline: every frame's header. */
static inline uint16_t
csum_ipv4_hdr(const uint8_t *p, uint32_t len)
{
	uint64_t acc = csum_words64(&p, &len, 0);

	return sl_net_csum_fold(csum_fold64(csum_tail(p, len, acc)));
}

int
sl_net_parse_eth(struct sl_pkt *pkt, const uint8_t *frame, uint32_t len,
		 uint32_t rx_flags, enum sl_drop *drop)
{
	uint16_t off = SL_ETH_HLEN;

	memset(pkt, 0, sizeof(*pkt));
	pkt->frame = frame;
	pkt->frame_len = len;
	pkt->rx_flags = rx_flags;
	pkt->opt_wscale = -1;
	if (SL_UNLIKELY(len < SL_ETH_HLEN)) {
		*drop = SL_DROP_MALFORMED;
		return -EPROTO;
	}
	pkt->eth = (const struct sl_eth_hdr *)frame;
	pkt->eth_type = sl_get_be16(frame + 12);
	if (pkt->eth_type == SL_ETH_P_VLAN) {
		if (SL_UNLIKELY(len < SL_ETH_HLEN + 4)) {
			*drop = SL_DROP_MALFORMED;
			return -EPROTO;
		}
		pkt->has_vlan = true;
		pkt->vlan_tci = sl_get_be16(frame + 14) & 0x0fff;
		pkt->eth_type = sl_get_be16(frame + 16);
		off += 4;
		if (SL_UNLIKELY(pkt->eth_type == SL_ETH_P_VLAN)) {
			*drop = SL_DROP_UNKNOWN_PROTO;	/* QinQ: not ours */
			return -EPROTO;
		}
	}
	pkt->l3_off = off;
	return 0;
}

int
sl_net_parse_ipv4(struct sl_pkt *pkt, enum sl_drop *drop)
{
	uint32_t avail = pkt->frame_len - pkt->l3_off;
	const uint8_t *p = pkt->frame + pkt->l3_off;
	uint16_t hlen, tot, frag;

	if (SL_UNLIKELY(avail < sizeof(struct sl_ipv4_hdr)))
		goto malformed;
	/* RFC 791 §3.1: version 4, IHL >= 5 words, total length covers it. */
	if (SL_UNLIKELY((p[0] >> 4) != 4))
		goto malformed;
	hlen = (uint16_t)((p[0] & 0x0f) * 4);
	tot = sl_get_be16(p + 2);
	if (SL_UNLIKELY(hlen < 20 || hlen > avail || tot < hlen ||
			tot > avail))
		goto malformed;
	if (!(pkt->rx_flags & SL_RX_IP_CSUM_GOOD)) {
		if (SL_UNLIKELY((pkt->rx_flags & SL_RX_IP_CSUM_BAD) ||
				csum_ipv4_hdr(p, hlen))) {
			*drop = SL_DROP_BAD_CSUM;
			return -EPROTO;
		}
	}
	pkt->ip = (const struct sl_ipv4_hdr *)p;
	pkt->ip_hlen = hlen;
	pkt->ip_len = tot;
	pkt->ip_proto = p[9];
	memcpy(&pkt->saddr, p + 12, 4);
	memcpy(&pkt->daddr, p + 16, 4);
	frag = sl_get_be16(p + 6);
	pkt->ip_frag = (frag & (SL_IP_MF | SL_IP_OFFMASK)) != 0;
	/* Frames shorter than 60 bytes arrive padded: the IP length rules. */
	pkt->frame_len = pkt->l3_off + tot;
	pkt->l4 = p + hlen;
	pkt->l4_len = (uint16_t)(tot - hlen);
	return 0;

malformed:
	*drop = SL_DROP_MALFORMED;
	return -EPROTO;
}

static bool
l4_csum_ok(const struct sl_pkt *pkt)
{
	uint32_t sum;

	if (pkt->rx_flags & SL_RX_L4_CSUM_GOOD)
		return true;
	if (pkt->rx_flags & SL_RX_L4_CSUM_BAD)
		return false;
	sum = sl_net_pseudo_sum(pkt->saddr, pkt->daddr, pkt->ip_proto,
				pkt->l4_len);
	return sl_net_csum_fold(sl_net_csum_partial(pkt->l4, pkt->l4_len,
						    sum)) == 0;
}

int
sl_net_parse_udp(struct sl_pkt *pkt, enum sl_drop *drop)
{
	uint16_t ulen;

	if (SL_UNLIKELY(pkt->l4_len < sizeof(struct sl_udp_hdr)))
		goto malformed;
	ulen = sl_get_be16(pkt->l4 + 4);
	/* RFC 768: length covers header and data; IP may carry padding. */
	if (SL_UNLIKELY(ulen < 8 || ulen > pkt->l4_len))
		goto malformed;
	memcpy(&pkt->sport, pkt->l4, 2);
	memcpy(&pkt->dport, pkt->l4 + 2, 2);
	pkt->l4_len = ulen;
	/* A zero checksum means the sender computed none (RFC 768). */
	if (sl_get_be16(pkt->l4 + 6) != 0 && SL_UNLIKELY(!l4_csum_ok(pkt))) {
		*drop = SL_DROP_BAD_CSUM;
		return -EPROTO;
	}
	pkt->payload = pkt->l4 + 8;
	pkt->payload_len = ulen - 8u;
	return 0;

malformed:
	*drop = SL_DROP_MALFORMED;
	return -EPROTO;
}

/*
 * RFC 9293 §3.2 options: EOL, NOP, then kind-length-value. A length below
 * 2 or running past the header ends parsing; the segment is malformed.
 */
static int
tcp_parse_options(struct sl_pkt *pkt, const uint8_t *o, unsigned len)
{
	unsigned i = 0, olen;

	while (i < len) {
		uint8_t kind = o[i];

		if (kind == 0)			/* EOL */
			return 0;
		if (kind == 1) {		/* NOP */
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EPROTO;
		olen = o[i + 1];
		if (olen < 2 || i + olen > len)
			return -EPROTO;
		if (kind == 2 && olen == 4)			/* MSS */
			pkt->opt_mss = sl_get_be16(o + i + 2);
		else if (kind == 3 && olen == 3)		/* WS, RFC 7323 */
			pkt->opt_wscale = (int8_t)SL_MIN(o[i + 2], 14);
		i += olen;
	}
	return 0;
}

int
sl_net_parse_tcp(struct sl_pkt *pkt, enum sl_drop *drop)
{
	const uint8_t *t = pkt->l4;
	unsigned hlen;

	if (SL_UNLIKELY(pkt->l4_len < sizeof(struct sl_tcp_hdr)))
		goto malformed;
	hlen = (t[12] >> 4) * 4u;
	if (SL_UNLIKELY(hlen < 20 || hlen > pkt->l4_len))
		goto malformed;
	memcpy(&pkt->sport, t, 2);
	memcpy(&pkt->dport, t + 2, 2);
	pkt->seq = sl_get_be32(t + 4);
	pkt->ack = sl_get_be32(t + 8);
	pkt->tcp_flags = t[13] & 0x3f;
	pkt->win = sl_get_be16(t + 14);
	pkt->tcp_hlen = (uint8_t)hlen;
	if (SL_UNLIKELY(!l4_csum_ok(pkt))) {
		*drop = SL_DROP_BAD_CSUM;
		return -EPROTO;
	}
	if (hlen > 20 && tcp_parse_options(pkt, t + 20, hlen - 20) < 0)
		goto malformed;
	pkt->payload = t + hlen;
	pkt->payload_len = pkt->l4_len - hlen;
	return 0;

malformed:
	*drop = SL_DROP_MALFORMED;
	return -EPROTO;
}

uint16_t
sl_net_emit_ipv4(uint8_t *buf, const uint8_t *src_mac, const uint8_t *dst_mac,
		 bool vlan, uint16_t vlan_tci, sl_be32 saddr, sl_be32 daddr,
		 uint8_t proto, uint16_t l4_len, uint16_t ip_id)
{
	uint16_t off = SL_ETH_HLEN;
	uint8_t *ip;

	memcpy(buf, dst_mac, SL_ETH_ALEN);
	memcpy(buf + 6, src_mac, SL_ETH_ALEN);
	if (vlan) {
		sl_put_be16(buf + 12, SL_ETH_P_VLAN);
		sl_put_be16(buf + 14, vlan_tci);
		off += 4;
	}
	sl_put_be16(buf + off - 2, SL_ETH_P_IPV4);
	ip = buf + off;
	ip[0] = 0x45;
	ip[1] = 0;
	sl_put_be16(ip + 2, (uint16_t)(20 + l4_len));
	sl_put_be16(ip + 4, ip_id);
	sl_put_be16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[10] = ip[11] = 0;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	{
		uint16_t c = sl_net_csum_fold(sl_net_csum_partial(ip, 20, 0));

		memcpy(ip + 10, &c, 2);
	}
	return (uint16_t)(off + 20);
}
