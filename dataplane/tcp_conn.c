/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-lcore TCP connection table (preallocated connections, their
 * receive and send buffers, a chained hash on the 4-tuple, a free
 * list) and the SYN cookies that make a passive open stateless until the
 * handshake's ACK (RFC 4987 §3.6). Tables are set up on the control thread;
 * everything else runs on the owning lcore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "tcp_int.h"

int
sl_tcp_table_init(struct sl_tcp_table *tt, uint32_t max_conns)
{
	size_t per = SL_TCP_RCVBUF + SL_TCP_SNDBUF;
	uint32_t i;

	memset(tt, 0, sizeof(*tt));
	tt->max_conns = max_conns;
	tt->nb_buckets = 16;
	while (tt->nb_buckets < max_conns * 2)
		tt->nb_buckets <<= 1;
	tt->conns = calloc(max_conns, sizeof(*tt->conns));
	tt->buckets = malloc(tt->nb_buckets * sizeof(*tt->buckets));
	tt->dirty = malloc(max_conns * sizeof(*tt->dirty));
	tt->mem = malloc(per * max_conns);
	if (!tt->conns || !tt->buckets || !tt->dirty || !tt->mem) {
		sl_tcp_table_fini(tt);
		return -ENOMEM;
	}
	for (i = 0; i < tt->nb_buckets; i++)
		tt->buckets[i] = SL_TCP_NONE;
	for (i = 0; i < max_conns; i++) {
		struct sl_tcp_conn *conn = &tt->conns[i];

		conn->conn_id = i;
		conn->next = i + 1 < max_conns ? i + 1 : SL_TCP_NONE;
		conn->rcvbuf = tt->mem + per * i;
		conn->sndbuf = conn->rcvbuf + SL_TCP_RCVBUF;
	}
	tt->free_head = 0;
	return 0;
}

void
sl_tcp_table_fini(struct sl_tcp_table *tt)
{
	free(tt->conns);
	free(tt->buckets);
	free(tt->dirty);
	free(tt->mem);
	memset(tt, 0, sizeof(*tt));
}

static uint32_t
tcp_bucket(const struct sl_tcp_table *tt, sl_be32 laddr, sl_be16 lport,
	   sl_be32 raddr, sl_be16 rport)
{
	uint32_t h = raddr * 0x9e3779b1u;

	h ^= ((uint32_t)rport << 16 | lport) * 0x85ebca6bu;
	h ^= laddr * 0xc2b2ae35u;
	h ^= h >> 15;
	return h & (tt->nb_buckets - 1);
}

struct sl_tcp_conn *
sl_tcp_lookup(struct sl_tcp_table *tt, sl_be32 laddr, sl_be16 lport,
	      sl_be32 raddr, sl_be16 rport)
{
	uint32_t id = tt->buckets[tcp_bucket(tt, laddr, lport, raddr, rport)];

	while (id != SL_TCP_NONE) {
		struct sl_tcp_conn *conn = &tt->conns[id];

		if (conn->raddr == raddr && conn->rport == rport &&
		    conn->lport == lport && conn->laddr == laddr)
			return conn;
		id = conn->next;
	}
	return NULL;
}

struct sl_tcp_conn *
sl_tcp_conn_alloc(struct sl_tcp_table *tt, sl_be32 laddr, sl_be16 lport,
	       sl_be32 raddr, sl_be16 rport)
{
	struct sl_tcp_conn *conn;
	uint32_t b, id = tt->free_head;
	uint8_t *ooo, *snd;
	bool dirty;

	if (id == SL_TCP_NONE)
		return NULL;
	conn = &tt->conns[id];
	tt->free_head = conn->next;
	ooo = conn->rcvbuf;
	snd = conn->sndbuf;
	/* A released connection may still sit on this burst's dirty list:
	 * keep the flag so the id is never listed twice. */
	dirty = conn->dirty;
	memset(conn, 0, sizeof(*conn));
	conn->conn_id = id;
	conn->rcvbuf = ooo;
	conn->sndbuf = snd;
	conn->dirty = dirty;
	conn->laddr = laddr;
	conn->lport = lport;
	conn->raddr = raddr;
	conn->rport = rport;
	b = tcp_bucket(tt, laddr, lport, raddr, rport);
	conn->next = tt->buckets[b];
	tt->buckets[b] = id;
	tt->nb_open++;
	return conn;
}

void
sl_tcp_conn_release(struct sl_tcp_table *tt, struct sl_tcp_conn *conn)
{
	uint32_t *link = &tt->buckets[tcp_bucket(tt, conn->laddr, conn->lport,
						 conn->raddr, conn->rport)];

	while (*link != SL_TCP_NONE && *link != conn->conn_id)
		link = &tt->conns[*link].next;
	SL_VERIFY(*link == conn->conn_id);
	*link = conn->next;
	conn->state = SL_TCP_CLOSED;
	conn->next = tt->free_head;
	tt->free_head = conn->conn_id;
	tt->nb_open--;
}

/* ---- SYN cookies -------------------------------------------------------- */

/*
 * Layout of our ISS: 5 bits of the 64 s time slot, 3 bits MSS index, 4 bits
 * the peer's window scale (15: none), 20 bits of SipHash over the 4-tuple,
 * the peer's ISN, the slot and the encoded values. A cookie is good for the
 * slot it was made in and the next one.
 */
static const uint16_t cookie_mss[8] = {
	536, 1200, 1300, 1360, 1400, 1440, 1460, 8960,
};

struct cookie_in {
	sl_be32 saddr, daddr;
	sl_be16 sport, dport;
	uint32_t irs;
	uint32_t slot;
	uint32_t enc;
};

static uint32_t
cookie_hash(const struct sl_lcore *lc, const struct sl_pkt *pkt,
	    uint32_t irs, uint32_t slot, uint32_t enc)
{
	struct cookie_in in;

	memset(&in, 0, sizeof(in));
	in.saddr = pkt->saddr;
	in.daddr = pkt->daddr;
	in.sport = pkt->sport;
	in.dport = pkt->dport;
	in.irs = irs;
	in.slot = slot;
	in.enc = enc;
	return (uint32_t)sl_siphash(lc->conf.cookie_secret, &in, sizeof(in)) &
	       0xfffffu;
}

uint32_t
sl_tcp_cookie_make(const struct sl_lcore *lc, const struct sl_pkt *pkt,
		   uint16_t mss, int8_t wscale, uint64_t now)
{
	uint32_t slot = (uint32_t)(now / SL_TCP_COOKIE_PERIOD_NS);
	uint32_t idx = 0, ws = wscale < 0 ? 15u : (uint32_t)wscale, enc, i;

	for (i = 0; i < SL_ARRAY_SIZE(cookie_mss); i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	enc = (slot & 31) << 7 | idx << 4 | ws;
	return enc << 20 | cookie_hash(lc, pkt, pkt->seq, slot, enc);
}

int
sl_tcp_cookie_check(const struct sl_lcore *lc, const struct sl_pkt *pkt,
		    uint64_t now, uint16_t *mss, int8_t *wscale)
{
	uint32_t cookie = pkt->ack - 1, enc = cookie >> 20;
	uint32_t slot = (uint32_t)(now / SL_TCP_COOKIE_PERIOD_NS), d;

	for (d = 0; d < 2 && d <= slot; d++) {
		uint32_t s = slot - d;

		if ((s & 31) != enc >> 7)
			continue;
		if (cookie_hash(lc, pkt, pkt->seq - 1, s, enc) !=
		    (cookie & 0xfffffu))
			return -EINVAL;
		*mss = cookie_mss[(enc >> 4) & 7];
		*wscale = (enc & 15) == 15 ? -1 : (int8_t)(enc & 15);
		if (*wscale > 14)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}
