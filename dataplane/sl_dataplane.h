/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The DPDK dataplane as control/ sees it: the `dataplane.*` section of an
 * agent's properties, the dataplane object (EAL, ports, one poll-mode lcore
 * per RX queue) and the network sources that run on it instead of on
 * kernel sockets. All functions here run on the control thread.
 */
#ifndef SL_DATAPLANE_H
#define SL_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "sl_err.h"
#include "sl_props.h"
#include "sl_source.h"
#include "sl_stats.h"

#define SL_DP_MAX_PORTS		8

struct sl_dp_port_conf {
	char *name;			/* "p0" */
	char *device;			/* "net_af_packet0" or a PCI address */
	uint32_t addr;			/* host order */
	uint32_t mask;			/* host order */
	uint32_t gateway;		/* host order; 0: none */
	unsigned rx_queues;
	unsigned mtu;
	unsigned mbuf_size;		/* data room of an mbuf */
	unsigned mbufs;			/* mempool size; 0: from the queues */
	const char *file;		/* where the port's keys are */
	int line;			/* the device key's line */
};

struct sl_dp_conf {
	char *eal;			/* EAL arguments, space separated */
	const char *eal_file;
	int eal_line;
	struct sl_dp_port_conf ports[SL_DP_MAX_PORTS];
	unsigned nb_ports;
	uint64_t max_conns;		/* per lcore */
	uint64_t idle_timeout_s;	/* 0: none */
	uint64_t idle_sleep_us;		/* 0: poll without pause */
	/* Not from the file: bench/dp_bench replays captures whose TCP
	 * handshakes carry cookies made with a known secret at clock 0. */
	uint64_t bench_cookie_secret[2];	/* 0,0: random */
	bool bench_clock_zero;		/* the lcore clock starts at 0 */
	/* bench/dp_bench only: the lcores receive and free bursts, nothing
	 * else (the PMD's own cost per packet, e.g. net_pcap's copy). */
	bool bench_rx_only;
};

/*
 * Parse the `dataplane.*` keys of @agent_props (agent prefix stripped).
 * Returns the number of errors added to @diag; *@out is NULL when the file
 * has no dataplane section (the kernel path is used), else a conf to free
 * with sl_dp_conf_free().
 */
int sl_dp_conf_parse(const struct sl_props *agent_props,
		     struct sl_dp_conf **out, struct sl_diag *diag);
void sl_dp_conf_free(struct sl_dp_conf *conf);

/*
 * The port whose address is @addr (host order), or NULL. *@in_subnet (may
 * be NULL) tells whether @addr is at least inside a port's subnet.
 */
const struct sl_dp_port_conf *sl_dp_conf_port_of(const struct sl_dp_conf *conf,
						 uint32_t addr,
						 bool *in_subnet);

struct sl_dataplane;

/*
 * Initialise the EAL from conf->eal and set up every port (mempool, queues,
 * offloads); nothing polls yet. NULL with @err filled ("FILE:LINE: ..." for
 * a bad device or queue count, the EAL's own message for an EAL failure).
 * Without DPDK in the build it fails with ENOTSUP.
 */
struct sl_dataplane *sl_dataplane_create(const struct sl_dp_conf *conf,
					 struct sl_err *err);
/* Launch the poll-mode lcores. 0 or -errno with @err filled. */
int sl_dataplane_start(struct sl_dataplane *dp, struct sl_err *err);
/* Stop the lcores (returns once they have exited) and the ports. */
void sl_dataplane_stop(struct sl_dataplane *dp);
void sl_dataplane_destroy(struct sl_dataplane *dp);
/*
 * CPU time in ns the @i-th lcore's thread has used so far (its thread CPU
 * clock), or -1 before it runs or without DPDK. Any thread (benchmarks:
 * CPU per record on a shared machine).
 */
int64_t sl_dataplane_lcore_cpu_ns(const struct sl_dataplane *dp, unsigned i);
/* Per-lcore counters, drops by reason, port counters: `ctl stats`. */
void sl_dataplane_stats(const struct sl_dataplane *dp,
			struct sl_stats_sink *out);

/*
 * Create a source of Flume @type ("netcat", "netcatudp") on the dataplane,
 * from the component's properties (the same keys as the kernel source).
 * NULL with @err filled; ENOTSUP for a type the dataplane does not run.
 */
struct sl_source *sl_dp_source_create(struct sl_dataplane *dp,
				      const char *type, const char *name,
				      const struct sl_props *props,
				      struct sl_channel *const *chs,
				      unsigned nb_chs, struct sl_err *err);
/* Whether the dataplane runs sources of Flume type @type. */
bool sl_dp_source_type_ok(const char *type);

#endif /* SL_DATAPLANE_H */
