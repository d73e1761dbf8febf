/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DPDK backend of the dataplane (built only when meson finds libdpdk):
 * EAL init from the config, one mempool per port, RX/TX queues with RSS and
 * checksum offloads when the port has them, one poll-mode lcore per RX
 * queue running the loop (clock once, rx burst, parse/frame, commit, tx
 * burst, timers), UDP reassembly with rte_ip_frag, and the counters
 * `ctl stats` shows. Setup and stats on the control thread; the loop on
 * the worker lcores.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dp_int.h"
#include "sl_dataplane.h"
#include "sl_log.h"
#include "sl_time.h"

#define DP_BURST		32
#define DP_RX_DESC		1024
#define DP_TX_DESC		1024
#define DP_TX_MAX		256	/* frames queued per loop turn */
#define DP_PREFETCH_AHEAD	3
#define DP_IDLE_POLLS		1000
#define DP_FRAG_BUCKETS		256
#define DP_FRAG_ENTRIES		8
#define DP_FRAG_TTL_MS		2000
#define DP_SCRATCH		(64u * 1024 + 64)
#define DP_MAX_ARGS		64

struct dp_core {
	struct sl_lcore lc;		/* first: the loop's own state */
	struct sl_dataplane *dp;
	unsigned lcore_id;
	uint16_t port_id;
	uint16_t queue_id;
	unsigned port_idx;
	struct rte_mempool *mp;
	struct rte_mbuf *tx[DP_TX_MAX];
	unsigned nb_tx;
	struct rte_ip_frag_tbl *frag;
	struct rte_ip_frag_death_row dr;
	struct rte_mbuf *cur;		/* the frame being processed */
	bool cur_taken;			/* ... kept by the reassembly table */
	uint64_t tsc_hz;
	uint64_t tsc0;			/* clock origin (0, or bench start) */
	uint8_t *scratch;		/* linearised multi-segment frames */
	clockid_t cpu_clock;		/* the lcore thread's CPU clock ... */
	int cpu_clock_ok;		/* ... once set (release/acquire) */
};

struct dp_port {
	uint16_t port_id;
	struct rte_mempool *mp;
	unsigned nb_q;
	bool started;
	struct rte_ether_addr mac;
	const struct sl_dp_port_conf *pc;
};

struct sl_dataplane {
	struct sl_dp_conf *conf;	/* own copy */
	struct dp_port ports[SL_DP_MAX_PORTS];
	unsigned nb_ports;
	struct dp_core *cores[RTE_MAX_LCORE];
	unsigned nb_cores;
	int stop;			/* written by control, read by lcores */
	bool launched;
};

static bool eal_done;			/* the EAL initialises once a process */
static bool own_prefix;			/* we chose --file-prefix */

/* ---- the loop ---------------------------------------------------------- */

static inline uint64_t
dp_now(const struct dp_core *dc)
{
	return (uint64_t)((unsigned __int128)(rte_rdtsc() - dc->tsc0) *
			  SL_NS_PER_SEC / dc->tsc_hz);
}

static void
dp_tx_flush(struct dp_core *dc)
{
	uint16_t sent = 0;
	unsigned tries = 0, i;

	while (sent < dc->nb_tx && tries++ < 4)
		sent += rte_eth_tx_burst(dc->port_id, dc->queue_id,
					 dc->tx + sent,
					 (uint16_t)(dc->nb_tx - sent));
	for (i = sent; i < dc->nb_tx; i++) {
		rte_pktmbuf_free(dc->tx[i]);
		sl_lcore_drop(&dc->lc, SL_DROP_TX_FULL);
	}
	dc->nb_tx = 0;
}

static uint8_t *
dp_tx_get(struct sl_lcore *lc, uint16_t len, void **handle)
{
	struct dp_core *dc = (struct dp_core *)lc;
	struct rte_mbuf *m;
	char *p;

	if (dc->nb_tx == DP_TX_MAX)
		dp_tx_flush(dc);
	m = rte_pktmbuf_alloc(dc->mp);
	if (SL_UNLIKELY(!m))
		return NULL;
	p = rte_pktmbuf_append(m, len);
	if (SL_UNLIKELY(!p)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	*handle = m;
	return (uint8_t *)p;
}

static void
dp_tx_put(struct sl_lcore *lc, void *handle, uint16_t len)
{
	struct dp_core *dc = (struct dp_core *)lc;
	struct rte_mbuf *m = handle;

	m->data_len = len;
	m->pkt_len = len;
	dc->tx[dc->nb_tx++] = m;
}

static const struct sl_dp_tx_ops dp_tx_ops = {
	.get = dp_tx_get,
	.put = dp_tx_put,
};

/*
 * An IPv4 fragment of a UDP datagram: into the core's reassembly table
 * (bounded: DP_FRAG_BUCKETS x DP_FRAG_ENTRIES datagrams, DP_FRAG_TTL_MS);
 * a completed datagram is linearised and delivered as one event.
 */
static void
dp_frag_input(struct sl_lcore *lc, const struct sl_pkt *pkt, uint64_t now)
{
	struct dp_core *dc = (struct dp_core *)lc;
	struct rte_mbuf *m = dc->cur, *r;
	struct rte_ipv4_hdr *ip;

	if (!dc->frag || !m || m->nb_segs != 1) {
		sl_lcore_drop(lc, SL_DROP_FRAG_NO_MEM);
		return;
	}
	/* Trim Ethernet padding: the library takes the IP length as is. */
	if (m->pkt_len > pkt->l3_off + pkt->ip_len)
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - pkt->l3_off -
					       pkt->ip_len));
	m->l2_len = pkt->l3_off;
	m->l3_len = pkt->ip_hlen;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pkt->l3_off);
	dc->cur_taken = true;
	r = rte_ipv4_frag_reassemble_packet(dc->frag, &dc->dr, m, rte_rdtsc(),
					    ip);
	if (!r)
		return;			/* held, or freed to the death row */
	sl_stat_add(&lc->stats.frags_reassembled, 1);
	if (r->pkt_len <= DP_SCRATCH) {
		const uint8_t *f = rte_pktmbuf_read(r, 0, r->pkt_len,
						    dc->scratch);

		sl_lcore_input_reassembled(lc, f, r->pkt_len, now);
	} else {
		sl_lcore_drop(lc, SL_DROP_MALFORMED);
	}
	rte_pktmbuf_free(r);
}

static uint32_t
dp_rx_flags(const struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags;
	uint32_t r = 0;

	if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		r |= SL_RX_IP_CSUM_GOOD;
	else if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
		 RTE_MBUF_F_RX_IP_CKSUM_BAD)
		r |= SL_RX_IP_CSUM_BAD;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		r |= SL_RX_L4_CSUM_GOOD;
	else if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
		 RTE_MBUF_F_RX_L4_CKSUM_BAD)
		r |= SL_RX_L4_CSUM_BAD;
	return r;
}

static void
dp_core_idle(const struct dp_core *dc)
{
	sl_time_sleep_ns(dc->dp->conf->idle_sleep_us * 1000);
}

/* bench_rx_only: receive and free, nothing else (the PMD's own cost). */
static int
dp_core_rx_only(struct dp_core *dc)
{
	struct rte_mbuf *m[DP_BURST];
	uint16_t nb;

	while (!__atomic_load_n(&dc->dp->stop, __ATOMIC_RELAXED)) {
		nb = rte_eth_rx_burst(dc->port_id, dc->queue_id, m, DP_BURST);
		if (!nb)
			continue;
		sl_stat_add(&dc->lc.stats.rx_pkts, nb);
		rte_pktmbuf_free_bulk(m, nb);
	}
	return 0;
}

static int
dp_core_main(void *arg)
{
	struct dp_core *dc = arg;
	struct sl_lcore *lc = &dc->lc;
	struct sl_dataplane *dp = dc->dp;
	struct rte_mbuf *m[DP_BURST], *done[DP_BURST];
	unsigned idle = 0, nb_done;
	uint64_t now;
	uint16_t nb, i;

	if (pthread_getcpuclockid(pthread_self(), &dc->cpu_clock) == 0)
		__atomic_store_n(&dc->cpu_clock_ok, 1, __ATOMIC_RELEASE);
	if (dp->conf->bench_rx_only)
		return dp_core_rx_only(dc);
	now = dp_now(dc);
	/* Learn the gateway's MAC early (one core per port asks). */
	if (dc->queue_id == 0 && lc->nb_addrs && lc->addrs[0].gateway)
		sl_arp_request(lc, lc->addrs[0].addr, lc->addrs[0].gateway);
	dp_tx_flush(dc);

	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		now = dp_now(dc);		/* the clock, once per turn */
		nb = rte_eth_rx_burst(dc->port_id, dc->queue_id, m, DP_BURST);
		nb_done = 0;
		for (i = 0; i < nb; i++) {
			struct rte_mbuf *mb = m[i];

			if (i + DP_PREFETCH_AHEAD < nb)
				rte_prefetch0(rte_pktmbuf_mtod(
					m[i + DP_PREFETCH_AHEAD], void *));
			dc->cur = mb;
			dc->cur_taken = false;
			if (SL_LIKELY(mb->nb_segs == 1)) {
				sl_lcore_input(lc, rte_pktmbuf_mtod(mb,
						uint8_t *), mb->data_len,
					       dp_rx_flags(mb), now);
			} else {
				const uint8_t *f = mb->pkt_len <= DP_SCRATCH ?
					rte_pktmbuf_read(mb, 0, mb->pkt_len,
							 dc->scratch) : NULL;

				dc->cur = NULL;	/* not for reassembly */
				if (f)
					sl_lcore_input(lc, f, mb->pkt_len,
						       dp_rx_flags(mb), now);
				else
					sl_lcore_drop(lc, SL_DROP_MALFORMED);
			}
			if (!dc->cur_taken)
				done[nb_done++] = mb;
		}
		/* The burst's frames back to the pool at once (the stack copied
		 * what it keeps: records into the channel, bytes into a TCP
		 * receive buffer; the reassembly table owns what it took). */
		if (nb_done)
			rte_pktmbuf_free_bulk(done, nb_done);
		dc->cur = NULL;
		sl_lcore_flush(lc, now);
		if (dc->dr.cnt) {
			/* Fragments the table gave up on: expired or no
			 * room; counted as fragment timeouts. */
			sl_stat_add(&lc->stats.drop[SL_DROP_FRAG_TIMEOUT],
				    dc->dr.cnt);
			rte_ip_frag_free_death_row(&dc->dr, 3);
		}
		if (dc->nb_tx)
			dp_tx_flush(dc);
		if (nb == 0 && dp->conf->idle_sleep_us) {
			if (++idle >= DP_IDLE_POLLS)
				dp_core_idle(dc);
		} else {
			idle = 0;
		}
	}
	/* Commit what the applications batched and send what is owed. */
	sl_lcore_flush(lc, dp_now(dc));
	dp_tx_flush(dc);
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

static struct sl_dp_conf *
dp_conf_copy(const struct sl_dp_conf *c)
{
	struct sl_dp_conf *n = calloc(1, sizeof(*n));
	unsigned i;

	if (!n)
		return NULL;
	*n = *c;
	n->eal = c->eal ? strdup(c->eal) : NULL;
	for (i = 0; i < c->nb_ports; i++) {
		n->ports[i].name = c->ports[i].name ? strdup(c->ports[i].name)
						    : NULL;
		n->ports[i].device = c->ports[i].device
				     ? strdup(c->ports[i].device) : NULL;
	}
	return n;
}

static bool
dp_has_arg(char **argv, int argc, const char *prefix)
{
	int i;

	for (i = 0; i < argc; i++)
		if (strncmp(argv[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

static int
dp_eal_init(const struct sl_dp_conf *conf, struct sl_err *err)
{
	char *copy = strdup(conf->eal ? conf->eal : ""), *save = NULL, *tok;
	char *argv[DP_MAX_ARGS + 4], prefix[64];
	int argc = 0, rc;
	cpu_set_t cpus;
	bool have_cpus;

	if (!copy)
		return sl_err_set(err, ENOMEM, "dataplane: out of memory");
	argv[argc++] = (char *)"sluice";
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (argc >= DP_MAX_ARGS) {
			free(copy);
			return sl_err_set(err, E2BIG, "%s:%d: dataplane.eal: "
					  "more than %d arguments",
					  conf->eal_file, conf->eal_line,
					  DP_MAX_ARGS);
		}
		argv[argc++] = tok;
	}
	/* One runtime directory per process unless asked: agents (tests)
	 * run side by side. (--in-memory cannot go with --no-huge.) */
	if (!dp_has_arg(argv, argc, "--file-prefix") &&
	    !dp_has_arg(argv, argc, "--in-memory")) {
		snprintf(prefix, sizeof(prefix), "--file-prefix=sluice-%ld",
			 (long)getpid());
		argv[argc++] = prefix;
		own_prefix = true;
	}
	if (!dp_has_arg(argv, argc, "--log-level"))
		argv[argc++] = (char *)"--log-level=notice";
	argv[argc] = NULL;
	/* The EAL pins the calling thread to the main lcore; the agent's
	 * other threads (sinks, control) keep the CPUs they had. */
	have_cpus = pthread_getaffinity_np(pthread_self(), sizeof(cpus),
					   &cpus) == 0;
	rc = rte_eal_init(argc, argv);
	if (have_cpus)
		pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	free(copy);
	if (rc < 0)
		return sl_err_set(err, rte_errno ? rte_errno : EINVAL,
				  "%s:%d: dataplane.eal: EAL initialisation "
				  "failed: %s", conf->eal_file,
				  conf->eal_line, rte_strerror(rte_errno));
	eal_done = true;
	return 0;
}

static void
dp_devices(char *buf, size_t size)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t off = 0;
	uint16_t pid;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(pid) {
		if (rte_eth_dev_get_name_by_port(pid, name) != 0)
			continue;
		off += (size_t)snprintf(buf + off, size - SL_MIN(off, size),
					"%s%s", off ? ", " : "", name);
		if (off >= size)
			break;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static int
dp_port_setup(struct sl_dataplane *dp, struct dp_port *p,
	      const struct sl_dp_port_conf *pc, struct sl_err *err)
{
	struct rte_eth_conf econf;
	struct rte_eth_dev_info info;
	char name[64], list[512];
	unsigned q, nb_mbufs;
	int rc;

	p->pc = pc;
	if (rte_eth_dev_get_port_by_name(pc->device, &p->port_id) != 0) {
		dp_devices(list, sizeof(list));
		return sl_err_set(err, ENODEV, "%s:%d: dataplane.ports.%s."
				  "device: no DPDK device '%s' (devices: %s)",
				  pc->file, pc->line, pc->name, pc->device,
				  list);
	}
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc < 0)
		return sl_err_set(err, -rc, "dataplane: port %s: %s", pc->name,
				  rte_strerror(-rc));
	if (pc->rx_queues > info.max_rx_queues ||
	    pc->rx_queues > info.max_tx_queues)
		return sl_err_set(err, EINVAL, "%s:%d: dataplane.ports.%s."
				  "rxQueues: %u queues, device %s has at most "
				  "%u", pc->file, pc->line, pc->name,
				  pc->rx_queues, pc->device,
				  SL_MIN(info.max_rx_queues,
					 info.max_tx_queues));
	p->nb_q = pc->rx_queues;
	memset(&econf, 0, sizeof(econf));
	if (p->nb_q > 1 && info.flow_type_rss_offloads) {
		econf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		econf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	}
	econf.rxmode.offloads = info.rx_offload_capa &
		(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
		 RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
	nb_mbufs = pc->mbufs ? pc->mbufs :
		   p->nb_q * (DP_RX_DESC + DP_TX_DESC + DP_TX_MAX +
			      DP_FRAG_BUCKETS * DP_FRAG_ENTRIES / 4 + 512);
	snprintf(name, sizeof(name), "sl_mp_%u", p->port_id);
	p->mp = rte_pktmbuf_pool_create(name, nb_mbufs, 256, 0,
			(uint16_t)SL_MAX(pc->mbuf_size,
					 pc->mtu + 18u + RTE_PKTMBUF_HEADROOM),
			(int)rte_eth_dev_socket_id(p->port_id));
	if (!p->mp)
		return sl_err_set(err, rte_errno, "dataplane: port %s: no "
				  "mempool of %u mbufs: %s (raise -m in "
				  "dataplane.eal)", pc->name, nb_mbufs,
				  rte_strerror(rte_errno));
	rc = rte_eth_dev_configure(p->port_id, (uint16_t)p->nb_q,
				   (uint16_t)p->nb_q, &econf);
	if (rc < 0)
		return sl_err_set(err, -rc, "dataplane: port %s (%s): "
				  "configure failed: %s", pc->name,
				  pc->device, rte_strerror(-rc));
	for (q = 0; q < p->nb_q; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, (uint16_t)q,
				DP_RX_DESC, (unsigned)rte_eth_dev_socket_id(
					p->port_id), NULL, p->mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->port_id, (uint16_t)q,
				DP_TX_DESC, (unsigned)rte_eth_dev_socket_id(
					p->port_id), NULL);
		if (rc < 0)
			return sl_err_set(err, -rc, "dataplane: port %s: "
					  "queue %u setup failed: %s",
					  pc->name, q, rte_strerror(-rc));
	}
	rc = rte_eth_dev_set_mtu(p->port_id, (uint16_t)pc->mtu);
	if (rc < 0 && rc != -ENOTSUP)
		sl_log(SL_WARN, "dataplane: port %s: cannot set MTU %u: %s",
		       pc->name, pc->mtu, rte_strerror(-rc));
	rte_eth_macaddr_get(p->port_id, &p->mac);
	return 0;
}

static int
dp_core_setup(struct sl_dataplane *dp, unsigned lcore_id, unsigned port_idx,
	      unsigned q, struct sl_err *err)
{
	struct dp_port *p = &dp->ports[port_idx];
	const struct sl_dp_port_conf *pc = p->pc;
	struct sl_lcore_conf lconf = {
		.max_conns = (uint32_t)dp->conf->max_conns,
		.idle_timeout_ns = dp->conf->idle_timeout_s * SL_NS_PER_SEC,
		.mtu = (uint16_t)pc->mtu,
	};
	struct dp_core *dc;
	int rc;

	dc = aligned_alloc(SL_CACHE_LINE, SL_ALIGN_UP(sizeof(*dc),
						      (size_t)SL_CACHE_LINE));
	if (!dc)
		return sl_err_set(err, ENOMEM, "dataplane: out of memory");
	memset(dc, 0, sizeof(*dc));
	dp->cores[dp->nb_cores++] = dc;
	memcpy(lconf.mac, p->mac.addr_bytes, SL_ETH_ALEN);
	if (dp->conf->bench_cookie_secret[0] ||
	    dp->conf->bench_cookie_secret[1])
		memcpy(lconf.cookie_secret, dp->conf->bench_cookie_secret,
		       sizeof(lconf.cookie_secret));
	else if (getentropy(lconf.cookie_secret,
			    sizeof(lconf.cookie_secret)) < 0)
		return sl_err_set(err, errno, "dataplane: no entropy for the "
				  "SYN cookie secret");
	rc = sl_lcore_init(&dc->lc, &lconf, &dp_tx_ops);
	if (rc < 0)
		return sl_err_set(err, -rc, "dataplane: lcore %u: no memory "
				  "for %u connections", lcore_id,
				  lconf.max_conns);
	dc->dp = dp;
	dc->lcore_id = lcore_id;
	dc->port_id = p->port_id;
	dc->queue_id = (uint16_t)q;
	dc->port_idx = port_idx;
	dc->mp = p->mp;
	dc->tsc_hz = rte_get_tsc_hz();
	dc->lc.lcore_id = lcore_id;
	dc->lc.port_id = p->port_id;
	dc->lc.queue_id = (uint16_t)q;
	dc->lc.backend = dc;
	dc->lc.frag_input = dp_frag_input;
	dc->scratch = malloc(DP_SCRATCH);
	dc->frag = rte_ip_frag_table_create(DP_FRAG_BUCKETS, DP_FRAG_ENTRIES,
			DP_FRAG_BUCKETS * DP_FRAG_ENTRIES,
			dc->tsc_hz * DP_FRAG_TTL_MS / 1000,
			(int)rte_lcore_to_socket_id(lcore_id));
	if (!dc->scratch || !dc->frag)
		return sl_err_set(err, ENOMEM, "dataplane: lcore %u: no memory"
				  " for reassembly", lcore_id);
	sl_lcore_addr_add(&dc->lc, htonl(pc->addr), htonl(pc->mask),
			  htonl(pc->gateway), p->port_id);
	return 0;
}

/* Release the EAL and, when the runtime directory is this process's own
 * (--file-prefix=sluice-PID), remove its files too. */
static void
dp_eal_cleanup(void)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	eal_done = false;
	if (!own_prefix || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

struct sl_dataplane *
sl_dataplane_create(const struct sl_dp_conf *conf, struct sl_err *err)
{
	struct sl_dataplane *dp;
	unsigned i, q, lcore_id, need = 0, have = 0;

	if (eal_done) {
		sl_err_set(err, EALREADY, "dataplane: the EAL runs once per "
			   "process");
		return NULL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp || !(dp->conf = dp_conf_copy(conf))) {
		free(dp);
		sl_err_set(err, ENOMEM, "dataplane: out of memory");
		return NULL;
	}
	if (dp_eal_init(dp->conf, err) < 0)
		goto err_destroy;
	for (i = 0; i < dp->conf->nb_ports; i++)
		need += dp->conf->ports[i].rx_queues;
	RTE_LCORE_FOREACH_WORKER(lcore_id)
		have++;
	if (need > have) {
		sl_err_set(err, EINVAL, "%s:%d: dataplane.eal: %u RX queues "
			   "need %u worker lcores, the EAL has %u (give more "
			   "in -l; the first is the main lcore)",
			   dp->conf->eal_file, dp->conf->eal_line, need, need,
			   have);
		goto err_destroy;
	}
	for (i = 0; i < dp->conf->nb_ports; i++) {
		if (dp_port_setup(dp, &dp->ports[i], &dp->conf->ports[i],
				  err) < 0)
			goto err_destroy;
		dp->nb_ports = i + 1;
	}
	lcore_id = rte_get_next_lcore(-1, 1, 0);
	for (i = 0; i < dp->nb_ports; i++) {
		for (q = 0; q < dp->ports[i].nb_q; q++) {
			if (dp_core_setup(dp, lcore_id, i, q, err) < 0)
				goto err_destroy;
			lcore_id = rte_get_next_lcore(lcore_id, 1, 0);
		}
	}
	for (i = 0; i < dp->nb_ports; i++) {
		int rc = rte_eth_dev_start(dp->ports[i].port_id);

		if (rc < 0) {
			sl_err_set(err, -rc, "dataplane: port %s: start "
				   "failed: %s", dp->ports[i].pc->name,
				   rte_strerror(-rc));
			goto err_destroy;
		}
		dp->ports[i].started = true;
		sl_log(SL_INFO, "dataplane: port %s (%s) up, %u queue(s), "
		       "address %s", dp->ports[i].pc->name,
		       dp->ports[i].pc->device, dp->ports[i].nb_q,
		       inet_ntoa((struct in_addr){
				.s_addr = htonl(dp->ports[i].pc->addr) }));
	}
	return dp;

err_destroy:
	sl_dataplane_destroy(dp);
	return NULL;
}

int
sl_dataplane_start(struct sl_dataplane *dp, struct sl_err *err)
{
	unsigned i;
	int rc;

	__atomic_store_n(&dp->stop, 0, __ATOMIC_RELAXED);
	for (i = 0; i < dp->nb_cores; i++)
		if (dp->conf->bench_clock_zero)
			dp->cores[i]->tsc0 = rte_rdtsc();
	for (i = 0; i < dp->nb_cores; i++) {
		rc = rte_eal_remote_launch(dp_core_main, dp->cores[i],
					   dp->cores[i]->lcore_id);
		if (rc < 0) {
			sl_dataplane_stop(dp);
			return sl_err_set(err, -rc, "dataplane: cannot launch "
					  "lcore %u: %s",
					  dp->cores[i]->lcore_id,
					  rte_strerror(-rc));
		}
		dp->launched = true;
	}
	return 0;
}

void
sl_dataplane_stop(struct sl_dataplane *dp)
{
	unsigned i;

	if (!dp || !dp->launched)
		return;
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < dp->nb_cores; i++)
		rte_eal_wait_lcore(dp->cores[i]->lcore_id);
	dp->launched = false;
}

void
sl_dataplane_destroy(struct sl_dataplane *dp)
{
	unsigned i;

	if (!dp)
		return;
	sl_dataplane_stop(dp);
	for (i = 0; i < dp->nb_ports; i++) {
		if (dp->ports[i].started)
			rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
	}
	for (i = 0; i < dp->nb_cores; i++) {
		struct dp_core *dc = dp->cores[i];

		if (dc->frag)
			rte_ip_frag_table_destroy(dc->frag);
		rte_ip_frag_free_death_row(&dc->dr, 0);
		sl_lcore_fini(&dc->lc);
		free(dc->scratch);
		free(dc);
	}
	for (i = 0; i < dp->nb_ports; i++)
		rte_mempool_free(dp->ports[i].mp);
	sl_dp_conf_free(dp->conf);
	free(dp);
	/* The EAL cannot be initialised again in this process either way;
	 * cleaning up releases its memory and runtime files. */
	if (eal_done)
		dp_eal_cleanup();
}

struct sl_lcore *
sl_dataplane_lcore(struct sl_dataplane *dp, unsigned i, uint32_t *addr)
{
	if (i >= dp->nb_cores)
		return NULL;
	if (addr)
		*addr = dp->ports[dp->cores[i]->port_idx].pc->addr;
	return &dp->cores[i]->lc;
}

/* ---- stats ------------------------------------------------------------- */

int64_t
sl_dataplane_lcore_cpu_ns(const struct sl_dataplane *dp, unsigned i)
{
	struct timespec ts;

	if (i >= dp->nb_cores ||
	    !__atomic_load_n(&dp->cores[i]->cpu_clock_ok, __ATOMIC_ACQUIRE) ||
	    clock_gettime(dp->cores[i]->cpu_clock, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * (int64_t)SL_NS_PER_SEC + ts.tv_nsec;
}

/* Forwards to another sink with "prefix." before every name. */
struct dp_prefix_sink {
	struct sl_stats_sink base;
	struct sl_stats_sink *out;
	const char *prefix;
};

static void
dp_prefix_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
	      enum sl_stat_kind kind, enum sl_stat_section sec)
{
	struct dp_prefix_sink *ps = (struct dp_prefix_sink *)s;
	char buf[128];

	snprintf(buf, sizeof(buf), "%s.%s", ps->prefix, name);
	ps->out->put_u64(ps->out, buf, v, kind, sec);
}

static void
dp_prefix_str(struct sl_stats_sink *s, const char *name, const char *v,
	      enum sl_stat_section sec)
{
	struct dp_prefix_sink *ps = (struct dp_prefix_sink *)s;
	char buf[128];

	snprintf(buf, sizeof(buf), "%s.%s", ps->prefix, name);
	ps->out->put_str(ps->out, buf, v, sec);
}

static void
dp_prefix_f64(struct sl_stats_sink *s, const char *name, double v,
	      enum sl_stat_section sec)
{
	struct dp_prefix_sink *ps = (struct dp_prefix_sink *)s;
	char buf[128];

	snprintf(buf, sizeof(buf), "%s.%s", ps->prefix, name);
	ps->out->put_f64(ps->out, buf, v, sec);
}

void
sl_dataplane_stats(const struct sl_dataplane *dp, struct sl_stats_sink *out)
{
	struct dp_prefix_sink ps = {
		.base = { dp_prefix_u64, dp_prefix_str, dp_prefix_f64 },
		.out = out,
	};
	char prefix[64];
	unsigned i;

	for (i = 0; i < dp->nb_ports; i++) {
		struct rte_eth_stats es;

		if (rte_eth_stats_get(dp->ports[i].port_id, &es) != 0)
			continue;
		snprintf(prefix, sizeof(prefix), "port.%s",
			 dp->ports[i].pc->name);
		ps.prefix = prefix;
		ps.base.put_u64(&ps.base, "nic_rx_pkts", es.ipackets,
				SL_STAT_COUNTER, SL_STAT_SLUICE);
		ps.base.put_u64(&ps.base, "nic_tx_pkts", es.opackets,
				SL_STAT_COUNTER, SL_STAT_SLUICE);
		ps.base.put_u64(&ps.base, "nic_missed", es.imissed,
				SL_STAT_COUNTER, SL_STAT_SLUICE);
		ps.base.put_u64(&ps.base, "nic_nombuf", es.rx_nombuf,
				SL_STAT_COUNTER, SL_STAT_SLUICE);
		ps.base.put_u64(&ps.base, "nic_rx_errors", es.ierrors,
				SL_STAT_COUNTER, SL_STAT_SLUICE);
	}
	for (i = 0; i < dp->nb_cores; i++) {
		snprintf(prefix, sizeof(prefix), "lcore%u",
			 dp->cores[i]->lcore_id);
		ps.prefix = prefix;
		sl_lcore_stats_emit(&dp->cores[i]->lc.stats, &ps.base);
		ps.base.put_u64(&ps.base, "ring_depth_bytes",
				sl_lcore_ring_depth(&dp->cores[i]->lc),
				SL_STAT_GAUGE, SL_STAT_SLUICE);
	}
}
