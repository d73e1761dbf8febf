/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcap_gen: writes the captures bench/dp_bench replays through DPDK's
 * net_pcap vdev. `udp`: N datagrams of S bytes (S includes the final '\n')
 * to 10.99.0.5:5140 from 64 source ports. `tcp`: C connections to
 * 10.99.0.5:4141, each a whole life replayable in a loop: SYN, the
 * handshake's ACK (its cookie made with dp_bench's fixed secret at clock
 * 0), N/C lines of S bytes in MSS-sized segments interleaved across the
 * connections, FIN, and the ACK of the dataplane's FIN. Checksums are
 * real. Run by bench/dp_run; one-shot tool, no threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_int.h"
#include "net_int.h"
#include "tcp_int.h"

#define PG_DP_IP	0x0a630005u	/* 10.99.0.5 */
#define PG_PEER_IP	0x0a630001u	/* 10.99.0.1 */
#define PG_MSS		1460
#define PG_SECRET0	0x5eed5eed5eed5eedull
#define PG_SECRET1	0x0123456789abcdefull

static const uint8_t dp_mac[6] = { 0x02, 0, 0, 0, 0x63, 0x05 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0x63, 0x01 };

static FILE *out;
static uint64_t nb_frames, nb_bytes;

static void
pg_write_header(void)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t zone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };

	fwrite(&h, sizeof(h), 1, out);
}

static void
pg_write_frame(const uint8_t *f, uint32_t len)
{
	struct {
		uint32_t sec, usec, caplen, len;
	} r = { (uint32_t)(nb_frames / 1000000), (uint32_t)(nb_frames % 1000000),
		len, len };

	fwrite(&r, sizeof(r), 1, out);
	fwrite(f, len, 1, out);
	nb_frames++;
	nb_bytes += len;
}

static uint16_t
pg_l4_csum(uint8_t *l4, uint16_t l4_len, uint8_t proto, uint32_t src,
	   uint32_t dst)
{
	return sl_net_csum_fold(sl_net_csum_partial(l4, l4_len,
			sl_net_pseudo_sum(htonl(src), htonl(dst), proto,
					  l4_len)));
}

static void
pg_udp(unsigned long n, unsigned size)
{
	static uint8_t f[10000];
	unsigned long i;

	for (i = 0; i < n; i++) {
		uint16_t l4 = (uint16_t)(8 + size), off, c;
		uint8_t *u;

		off = sl_net_emit_ipv4(f, peer_mac, dp_mac, false, 0,
				       htonl(PG_PEER_IP), htonl(PG_DP_IP),
				       SL_IPPROTO_UDP, l4, (uint16_t)i);
		u = f + off;
		sl_put_be16(u, (uint16_t)(20000 + i % 64));
		sl_put_be16(u + 2, 5140);
		sl_put_be16(u + 4, l4);
		u[6] = u[7] = 0;
		snprintf((char *)u + 8, size, "u%012lu ", i);
		memset(u + 8 + 14, 'a' + (int)(i % 26), size - 15);
		u[8 + size - 1] = '\n';
		c = pg_l4_csum(u, l4, SL_IPPROTO_UDP, PG_PEER_IP, PG_DP_IP);
		memcpy(u + 6, &c, 2);
		pg_write_frame(f, off + l4);
	}
}

static void
pg_udp_filler(unsigned n)
{
	static uint8_t f[128];
	unsigned i;

	for (i = 0; i < n; i++) {
		uint16_t off = sl_net_emit_ipv4(f, peer_mac, dp_mac, false, 0,
				htonl(PG_PEER_IP), htonl(PG_DP_IP),
				SL_IPPROTO_UDP, 8, (uint16_t)i);

		sl_put_be16(f + off, 9);
		sl_put_be16(f + off + 2, 9);
		sl_put_be16(f + off + 4, 8);
		f[off + 6] = f[off + 7] = 0;
		pg_write_frame(f, off + 8u);
	}
}

struct pg_conn {
	uint16_t sport;
	uint32_t isn, seq;	/* the peer's */
	uint32_t iss;		/* ours (the cookie) */
	unsigned long lines, next_line;
	unsigned line_off;	/* bytes of next_line already sent */
	bool done;
};

static void
pg_tcp_seg(struct pg_conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
	   const uint8_t *opts, uint8_t optlen, const uint8_t *data,
	   uint16_t len)
{
	static uint8_t f[10000];
	uint16_t hl = (uint16_t)(20 + optlen), l4 = (uint16_t)(hl + len);
	uint16_t off, cs;
	uint8_t *t;

	off = sl_net_emit_ipv4(f, peer_mac, dp_mac, false, 0,
			       htonl(PG_PEER_IP), htonl(PG_DP_IP),
			       SL_IPPROTO_TCP, l4, (uint16_t)nb_frames);
	t = f + off;
	memset(t, 0, hl);
	sl_put_be16(t, c->sport);
	sl_put_be16(t + 2, 4141);
	sl_put_be32(t + 4, seq);
	sl_put_be32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	sl_put_be16(t + 14, 65535);	/* scaled by 7: plenty for replies */
	if (optlen)
		memcpy(t + 20, opts, optlen);
	if (len)
		memcpy(t + hl, data, len);
	cs = pg_l4_csum(t, l4, SL_IPPROTO_TCP, PG_PEER_IP, PG_DP_IP);
	memcpy(t + 16, &cs, 2);
	pg_write_frame(f, off + l4);
}

/* The line @i of a connection: "c<port> <seq> aaaa...\n", @size bytes. */
static void
pg_line(uint8_t *buf, const struct pg_conn *c, unsigned long i,
	unsigned size)
{
	snprintf((char *)buf, size, "c%05u %012lu ", c->sport, i);
	memset(buf + 20, 'a' + (int)(i % 26), size - 21);
	buf[size - 1] = '\n';
}

static void
pg_tcp(unsigned long n, unsigned size, unsigned nconn)
{
	static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	struct sl_lcore lc;
	struct pg_conn *conns = calloc(nconn, sizeof(*conns));
	uint8_t *line = malloc(size), seg[PG_MSS];
	unsigned k, left = nconn;

	memset(&lc, 0, sizeof(lc));
	lc.conf.cookie_secret[0] = PG_SECRET0;
	lc.conf.cookie_secret[1] = PG_SECRET1;
	for (k = 0; k < nconn; k++) {
		struct pg_conn *c = &conns[k];
		struct sl_pkt p;

		c->sport = (uint16_t)(30000 + k);
		c->isn = 1000u * (k + 1) + 0xfffff000u;	/* near the wrap */
		c->lines = n / nconn + (k < n % nconn);
		memset(&p, 0, sizeof(p));
		p.saddr = htonl(PG_PEER_IP);
		p.daddr = htonl(PG_DP_IP);
		p.sport = htons(c->sport);
		p.dport = htons(4141);
		p.seq = c->isn;
		/* What the dataplane answers at clock 0 (MSS 1460, WS 7). */
		c->iss = sl_tcp_cookie_make(&lc, &p, PG_MSS, 7, 0);
		pg_tcp_seg(c, c->isn, 0, SL_TCP_SYN, syn_opts, 8, NULL, 0);
		pg_tcp_seg(c, c->isn + 1, c->iss + 1, SL_TCP_ACK, NULL, 0,
			   NULL, 0);
		c->seq = c->isn + 1;
	}
	/* Data, one MSS-sized segment per connection in turn. */
	while (left) {
		for (k = 0; k < nconn; k++) {
			struct pg_conn *c = &conns[k];
			uint16_t len = 0;

			if (c->done)
				continue;
			while (len < PG_MSS && c->next_line < c->lines) {
				unsigned take = SL_MIN(size - c->line_off,
						       (unsigned)(PG_MSS - len));

				pg_line(line, c, c->next_line, size);
				memcpy(seg + len, line + c->line_off, take);
				len = (uint16_t)(len + take);
				c->line_off += take;
				if (c->line_off == size) {
					c->line_off = 0;
					c->next_line++;
				}
			}
			if (len) {
				pg_tcp_seg(c, c->seq, c->iss + 1,
					   SL_TCP_ACK | SL_TCP_PSH, NULL, 0,
					   seg, len);
				c->seq += len;
				continue;
			}
			pg_tcp_seg(c, c->seq, c->iss + 1,
				   SL_TCP_ACK | SL_TCP_FIN, NULL, 0, NULL, 0);
			c->done = true;
			left--;
		}
	}
	/*
	 * The ACKs of the dataplane's FINs (its only byte of sequence space
	 * past the SYN) must come in a later rx burst than the FINs, once
	 * its FINs are out: 64 datagrams to a closed port (dropped, counted)
	 * keep them apart. Then each connection is gone, and the next loop
	 * of the capture opens it again with the same cookie.
	 */
	pg_udp_filler(64);
	for (k = 0; k < nconn; k++)
		pg_tcp_seg(&conns[k], conns[k].seq + 1, conns[k].iss + 2,
			   SL_TCP_ACK, NULL, 0, NULL, 0);
	free(conns);
	free(line);
}

int
main(int argc, char **argv)
{
	unsigned long n;
	unsigned size, nconn;

	if (argc < 5 || (strcmp(argv[1], "udp") && strcmp(argv[1], "tcp"))) {
		fprintf(stderr, "usage: pcap_gen udp|tcp OUT.pcap RECORDS "
			"SIZE [CONNS]\n"
			"  udp: RECORDS datagrams of SIZE bytes (newline "
			"included) to 10.99.0.5:5140\n"
			"  tcp: RECORDS lines of SIZE bytes over CONNS "
			"(default 8) replayable connections to "
			"10.99.0.5:4141\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	size = (unsigned)strtoul(argv[4], NULL, 10);
	nconn = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 8;
	if (size < 32 || size > 8000 || !n || !nconn) {
		fprintf(stderr, "pcap_gen: SIZE 32..8000, RECORDS and CONNS "
			"> 0\n");
		return 2;
	}
	out = fopen(argv[2], "wb");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	pg_write_header();
	if (!strcmp(argv[1], "udp"))
		pg_udp(n, size);
	else
		pg_tcp(n, size, nconn);
	if (fclose(out) != 0) {
		perror(argv[2]);
		return 1;
	}
	printf("pcap_gen %s: %s frames=%llu bytes=%llu records=%lu size=%u\n",
	       argv[1], argv[2], (unsigned long long)nb_frames,
	       (unsigned long long)nb_bytes, n, size);
	return 0;
}
