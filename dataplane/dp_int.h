/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-core state of the dataplane (struct sl_lcore) and the EAL-free
 * input path every PMD lcore runs: frame in, ARP / ICMP / UDP / TCP, replies
 * out through the backend's transmit hooks, payload up to the listening
 * application (a netcat or netcatudp source). The DPDK backend (dp_eal.c)
 * wraps this with mbufs and rx/tx bursts; unit tests and the fuzz target
 * drive it with crafted frames and their own clock.
 */
#ifndef SL_DP_INT_H
#define SL_DP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "net_int.h"
#include "sl_channel.h"
#include "sl_props.h"
#include "sl_source.h"
#include "sl_drop.h"
#include "sl_stats.h"
#include "tcp_int.h"

#define SL_DP_MAX_ADDRS		8
#define SL_DP_MAX_LISTENERS	16
#define SL_DP_NEIGH_SIZE	16
#define SL_DP_CHALLENGE_ACKS	100	/* per second, RFC 5961 §7 */

/* Per-lcore counters: written by the lcore, read with relaxed loads. */
struct sl_lcore_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t arp_replies;
	uint64_t icmp_echo_replies;
	uint64_t udp_datagrams;
	uint64_t tcp_segments;
	uint64_t tcp_conns_open;	/* gauge */
	uint64_t tcp_conns_accepted;
	uint64_t tcp_conns_closed;
	uint64_t tcp_conns_reset;
	uint64_t tcp_rx_bytes;		/* delivered in order */
	uint64_t tcp_ooo_segments;	/* gauge: ranges held */
	uint64_t tcp_ooo_queued;
	uint64_t syn_cookies_sent;
	uint64_t challenge_acks;
	uint64_t challenge_acks_limited;
	uint64_t tcp_retransmits;
	uint64_t tcp_window_probes;	/* answered with window 0 */
	uint64_t tcp_zero_windows;	/* segments sent with window 0 */
	uint64_t tcp_window_updates;
	uint64_t frags_reassembled;
	uint64_t drop[SL_DROP_MAX];
};

struct sl_lcore;
struct sl_tcp_conn;

/*
 * What a listening application (a source) gives the stack. All callbacks
 * run on the lcore that owns the traffic.
 */
struct sl_net_app_ops {
	/* One UDP datagram (one event). */
	void (*udp_recv)(void *ctx, struct sl_lcore *lc,
			 const struct sl_pkt *pkt, const uint8_t *data,
			 uint32_t len, uint64_t now);
	/* A connection completed its handshake: its app state, or NULL to
	 * refuse it (reset, counted as a connection-limit drop). */
	void *(*tcp_accept)(void *ctx, struct sl_lcore *lc,
			    struct sl_tcp_conn *conn, uint64_t now);
	/* In-order bytes; returns how many it took: the rest waits in the
	 * connection's receive buffer (its window shrinks) and is offered
	 * again on the timer, or after sl_tcp_window_update(). */
	uint32_t (*tcp_recv)(void *ctx, struct sl_lcore *lc,
			     struct sl_tcp_conn *conn, const uint8_t *data,
			     uint32_t len, uint64_t now);
	/* The peer's FIN, in order: no more bytes will come. */
	void (*tcp_eof)(void *ctx, struct sl_lcore *lc,
			struct sl_tcp_conn *conn, uint64_t now);
	/* The connection is gone (closed, reset, timed out): free app state. */
	void (*tcp_closed)(void *ctx, struct sl_lcore *lc,
			   struct sl_tcp_conn *conn);
	/* Optional: end of an rx burst (commit batches, send replies). */
	void (*burst_end)(void *ctx, struct sl_lcore *lc, uint64_t now);
	/* Optional: bytes this app put into its channels' rings from this
	 * lcore that are not released yet (sl_fanout_depth()). Any thread. */
	uint64_t (*ring_depth)(const void *ctx);
};

struct sl_net_listener {
	sl_be32 addr;			/* 0: any of the lcore's addresses */
	sl_be16 port;
	uint8_t proto;			/* SL_IPPROTO_TCP or _UDP */
	const struct sl_net_app_ops *ops;
	void *ctx;
};

struct sl_neigh {
	sl_be32 addr;
	uint8_t mac[SL_ETH_ALEN];
	uint64_t updated;		/* 0: empty slot */
};

/* One local address on one port. */
struct sl_dp_addr {
	sl_be32 addr;
	sl_be32 mask;
	sl_be32 gateway;		/* 0: none */
	uint16_t port_id;
};

/*
 * Transmit hooks of the backend: get a buffer of at least @len bytes for one
 * frame (NULL when none: counted), then queue it with its final length.
 */
struct sl_dp_tx_ops {
	uint8_t *(*get)(struct sl_lcore *lc, uint16_t len, void **handle);
	void (*put)(struct sl_lcore *lc, void *handle, uint16_t len);
};

struct sl_lcore_conf {
	uint32_t max_conns;		/* TCP connections on this lcore */
	uint64_t idle_timeout_ns;	/* 0: none */
	uint16_t mtu;
	uint64_t cookie_secret[2];
	uint8_t mac[SL_ETH_ALEN];
};

struct sl_lcore {
	unsigned lcore_id;
	uint16_t port_id;
	uint16_t queue_id;
	struct sl_lcore_conf conf;
	uint16_t mss;			/* ours: mtu - 40 */
	uint16_t ip_id;

	struct sl_dp_addr addrs[SL_DP_MAX_ADDRS];
	unsigned nb_addrs;
	struct sl_net_listener listeners[SL_DP_MAX_LISTENERS];
	unsigned nb_listeners;
	struct sl_neigh neigh[SL_DP_NEIGH_SIZE];

	struct sl_tcp_table tcp;
	uint64_t challenge_sec;		/* RFC 5961 §7 rate limit window */
	uint32_t challenge_left;
	uint64_t next_timer;

	const struct sl_dp_tx_ops *tx;
	void *backend;			/* the backend's own per-core state */

	/* Optional: IPv4 fragments go here (the DPDK backend reassembles
	 * UDP with rte_ip_frag); NULL drops them, counted. */
	void (*frag_input)(struct sl_lcore *lc, const struct sl_pkt *pkt,
			   uint64_t now);

	struct sl_lcore_stats stats SL_CACHE_ALIGNED;
} SL_CACHE_ALIGNED;

static inline void
sl_lcore_drop(struct sl_lcore *lc, enum sl_drop reason)
{
	sl_stat_add(&lc->stats.drop[reason], 1);
}

/*
 * Initialise @lc with @conf (tables allocated here, before the loop).
 * 0 or -ENOMEM. Context: control thread.
 */
int sl_lcore_init(struct sl_lcore *lc, const struct sl_lcore_conf *conf,
		  const struct sl_dp_tx_ops *tx);
void sl_lcore_fini(struct sl_lcore *lc);
int sl_lcore_addr_add(struct sl_lcore *lc, sl_be32 addr, sl_be32 mask,
		      sl_be32 gateway, uint16_t port_id);
/* 0, -ENOSPC (table full), -EADDRINUSE. Context: before the loop. */
int sl_lcore_listen(struct sl_lcore *lc, uint8_t proto, sl_be32 addr,
		    sl_be16 port, const struct sl_net_app_ops *ops, void *ctx);

/*
 * Process one received frame. Replies go out through lc->tx; payload goes
 * to the listener. Context: the lcore.
 */
void sl_lcore_input(struct sl_lcore *lc, const uint8_t *frame, uint32_t len,
		    uint32_t rx_flags, uint64_t now);
/* One whole UDP datagram (after reassembly); @pkt's IPv4 fields valid. */
void sl_lcore_udp_input(struct sl_lcore *lc, const struct sl_pkt *pkt,
			const uint8_t *data, uint32_t len, uint64_t now);
/* A reassembled IPv4 datagram (Ethernet header first, IP checksum left
 * zero by the reassembly): its UDP payload is one event. */
void sl_lcore_input_reassembled(struct sl_lcore *lc, const uint8_t *frame,
				uint32_t len, uint64_t now);
/* End of a burst: the applications' burst_end, then the ACKs and data owed,
 * then the timers when due. */
void sl_lcore_flush(struct sl_lcore *lc, uint64_t now);

/* The local address entry for @addr, or NULL. */
const struct sl_dp_addr *sl_lcore_addr_find(const struct sl_lcore *lc,
					    sl_be32 addr);
const struct sl_net_listener *sl_lcore_listener_find(const struct sl_lcore *lc,
						     uint8_t proto,
						     sl_be32 addr,
						     sl_be16 port);
/* ARP: remember @addr at @mac; look it up (NULL if unknown). */
void sl_neigh_update(struct sl_lcore *lc, sl_be32 addr, const uint8_t *mac,
		     uint64_t now);
const uint8_t *sl_neigh_lookup(const struct sl_lcore *lc, sl_be32 addr);
/* Send an ARP request for @addr from local @src. */
void sl_arp_request(struct sl_lcore *lc, sl_be32 src, sl_be32 addr);
void sl_arp_input(struct sl_lcore *lc, const struct sl_pkt *pkt,
		  uint64_t now);
void sl_icmp_input(struct sl_lcore *lc, const struct sl_pkt *pkt);

/* Emit the lcore's counters (for `ctl stats`). Any thread. */
void sl_lcore_stats_emit(const struct sl_lcore_stats *st,
			 struct sl_stats_sink *out);
/*
 * Ring depth of @lc: the sum of its listeners' ring_depth, the bytes its
 * sources published into their channels' rings and the channels have not
 * released yet (0 once the sinks caught up). Any thread, relaxed reads;
 * listeners are fixed before the lcore starts.
 */
uint64_t sl_lcore_ring_depth(const struct sl_lcore *lc);

struct sl_dataplane;
/* The @i-th lcore of @dp and its port's address (host order) in *@addr;
 * NULL past the end. Context: control thread, before start. */
struct sl_lcore *sl_dataplane_lcore(struct sl_dataplane *dp, unsigned i,
				    uint32_t *addr);

/* sl_dp_source_create() on explicit lcores (@dp may be NULL: tests). */
struct sl_source *sl_dp_source_create_on(struct sl_lcore *const *lcs,
					 unsigned nb_lcs,
					 struct sl_dataplane *dp,
					 const char *type, const char *name,
					 const struct sl_props *props,
					 struct sl_channel *const *chs,
					 unsigned nb_chs, struct sl_err *err);

/* Keyed hash (SipHash-2-4) for SYN cookies and RSS-free hashing. */
uint64_t sl_siphash(const uint64_t key[2], const void *data, size_t len);

#endif /* SL_DP_INT_H */
