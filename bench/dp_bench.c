/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dp_bench: the dataplane's parse-and-frame rate with no network in the
 * way. DPDK's net_pcap vdev replays a capture from bench/pcap_gen in a loop
 * (infinite_rx) into one poll-mode lcore running the real dataplane (EAL
 * backend, TCP/UDP stack, netcat/netcatudp source, framer, fan-out) into a
 * memory channel, drained by a discarding consumer thread. Prints records/s
 * into the channel (the lcore's rate) and out of it (the sink's), beside a
 * plain memcpy of the same record bytes on this machine, and the ratio,
 * with the lcore thread's CPU time per record (robust to a shared machine).
 * `dp_bench rxudp|rxtcp PCAP SECONDS` measures the PMD alone (rx burst and free, no
 * parsing): its per-packet cost, the NIC's part of the lcore's time.
 * Run by bench/dp_run; needs root for the EAL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "dp_int.h"
#include "sl_channel.h"
#include "sl_dataplane.h"
#include "sl_source.h"
#include "sl_time.h"

#define DB_SECRET0	0x5eed5eed5eed5eedull	/* = pcap_gen's */
#define DB_SECRET1	0x0123456789abcdefull

static int db_stop;
static uint64_t db_taken, db_taken_bytes;

static void *
db_consumer(void *arg)
{
	struct sl_chan_consumer *c = arg;

	while (!__atomic_load_n(&db_stop, __ATOMIC_ACQUIRE)) {
		struct sl_take *txn = sl_channel_take(c, 1000);

		if (!txn) {
			sl_time_sleep_ns(20000);
			continue;
		}
		__atomic_store_n(&db_taken, db_taken + txn->nb_evs,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&db_taken_bytes, db_taken_bytes +
				 txn->nb_bytes, __ATOMIC_RELAXED);
		sl_channel_take_commit(c, txn);
	}
	return NULL;
}

/* Records/s of a plain memcpy of @size-byte records into a 64 MiB ring. */
static double
db_memcpy_rate(unsigned size)
{
	const size_t ring = 64u << 20;
	uint8_t *src = malloc(ring), *dst = malloc(ring);
	uint64_t n = 0, t0, t1;
	size_t off = 0;

	memset(src, 'a', ring);
	memset(dst, 0, ring);
	t0 = sl_time_mono_ns();
	do {
		unsigned i;

		for (i = 0; i < 4096; i++) {
			if (off + size > ring)
				off = 0;
			memcpy(dst + off, src + off, size);
			off += (size + 7) & ~7u;
		}
		n += 4096;
		t1 = sl_time_mono_ns();
	} while (t1 - t0 < SL_NS_PER_SEC);
	if (dst[off / 2] != 'a' && dst[0] != 'a')
		fprintf(stderr, "memcpy check failed\n");
	free(src);
	free(dst);
	return (double)n * SL_NS_PER_SEC / (double)(t1 - t0);
}

static void
db_put_u64(struct sl_stats_sink *s, const char *name, uint64_t v,
	   enum sl_stat_kind kind, enum sl_stat_section sec)
{
	if (v)
		fprintf(stderr, " %s=%llu", name, (unsigned long long)v);
}

static void
db_put_str(struct sl_stats_sink *s, const char *name, const char *v,
	   enum sl_stat_section sec)
{
}

static void
db_put_f64(struct sl_stats_sink *s, const char *name, double v,
	   enum sl_stat_section sec)
{
}

static struct sl_prop *
db_prop(struct sl_props *p, const char *k, const char *v)
{
	struct sl_prop *x = &p->v[p->n++];

	x->key = (char *)k;
	x->val = (char *)v;
	x->file = "dp_bench";
	x->line = (int)p->n;
	return x;
}

int
main(int argc, char **argv)
{
	struct sl_prop cv[8], sv[8];
	struct sl_props cprops = { .comp = "c1", .v = cv, .file = "dp_bench" };
	struct sl_props sprops = { .comp = "r1", .v = sv, .file = "dp_bench" };
	struct sl_dp_conf dconf;
	struct sl_diag diag = { 0 };
	struct sl_err err = { 0 };
	const struct sl_channel_ops *ops = &sl_memory_channel_ops;
	struct sl_channel *ch;
	struct sl_chan_consumer *cons;
	struct sl_dataplane *dp;
	struct sl_source *src;
	pthread_t th;
	char eal[1024], maxlen[32];
	uint64_t a0, a1, t0, t1, k0, k1, b0, b1;
	double secs, rate_in, rate_out, mc;
	unsigned size;
	void *set;
	const char *enc;
	bool udp, rx_only;
	struct sl_lcore *lc;
	int64_t c0, c1;
	double cpu_ns;

	if (argc < 4) {
		fprintf(stderr, "usage: dp_bench udp|tcp|rxudp|rxtcp PCAP "
			"SECONDS [SIZE [ENCODING]]\n");
		return 2;
	}
	rx_only = strncmp(argv[1], "rx", 2) == 0;
	udp = strcmp(argv[1], "udp") == 0 || rx_only;
	secs = atof(argv[3]);
	size = argc > 4 ? (unsigned)atoi(argv[4]) : 1024;
	enc = argc > 5 ? argv[5] : "utf-8";

	/* A memory channel with room for a second of records. */
	db_prop(&cprops, "capacity", "200000");
	db_prop(&cprops, "transactionCapacity", "1000");
	db_prop(&cprops, "ringBytes", "268435456");
	set = calloc(1, ops->settings_size);
	if (sl_keys_apply(ops->keys, set, &cprops, &diag) > 0) {
		fprintf(stderr, "dp_bench: %s\n", diag.v[0].text);
		return 1;
	}
	ch = ops->create("c1", set, &cprops, &diag, &err);
	if (!ch) {
		fprintf(stderr, "dp_bench: %s\n", err.msg);
		return 1;
	}
	cons = sl_channel_consumer_open(ch, "bench sink", 1000, 4, &err);
	if (!cons || ops->start(ch) < 0) {
		fprintf(stderr, "dp_bench: %s\n", err.msg);
		return 1;
	}

	memset(&dconf, 0, sizeof(dconf));
	snprintf(eal, sizeof(eal), "-l 0-1 --no-huge -m 512 --no-pci "
		 "--vdev=net_pcap0,rx_pcap=%s,infinite_rx=1", argv[2]);
	dconf.eal = eal;
	dconf.eal_file = "dp_bench";
	dconf.eal_line = 1;
	dconf.nb_ports = 1;
	dconf.ports[0] = (struct sl_dp_port_conf){
		.name = (char *)"p0", .device = (char *)"net_pcap0",
		.addr = 0x0a630005u, .mask = 0xffffff00u, .rx_queues = 1,
		.mtu = 1500, .mbuf_size = 2176, .mbufs = 32768,
		.file = "dp_bench", .line = 1,
	};
	dconf.max_conns = 64;
	dconf.bench_cookie_secret[0] = DB_SECRET0;
	dconf.bench_cookie_secret[1] = DB_SECRET1;
	dconf.bench_clock_zero = true;
	dconf.bench_rx_only = rx_only;
	dp = sl_dataplane_create(&dconf, &err);
	if (!dp) {
		fprintf(stderr, "dp_bench: %s\n", err.msg);
		return 1;
	}
	snprintf(maxlen, sizeof(maxlen), "%u", size * 2);
	db_prop(&sprops, "bind", "10.99.0.5");
	db_prop(&sprops, "port", udp ? "5140" : "4141");
	if (!udp) {
		db_prop(&sprops, "ack-every-event", "false");
		db_prop(&sprops, "max-line-length", maxlen);
		db_prop(&sprops, "encoding", enc);
	}
	src = sl_dp_source_create(dp, udp ? "netcatudp" : "netcat", "r1",
				  &sprops, &ch, 1, &err);
	if (!src) {
		fprintf(stderr, "dp_bench: %s\n", err.msg);
		return 1;
	}
	pthread_create(&th, NULL, db_consumer, cons);
	if (sl_dataplane_start(dp, &err) < 0) {
		fprintf(stderr, "dp_bench: %s\n", err.msg);
		return 1;
	}
	lc = sl_dataplane_lcore(dp, 0, NULL);
	sl_time_sleep_ns(SL_NS_PER_SEC / 2);		/* warm up */
	a0 = rx_only ? sl_stat_read(&lc->stats.rx_pkts) :
	     sl_stat_read(&src->stats.event_accepted_count);
	k0 = __atomic_load_n(&db_taken, __ATOMIC_RELAXED);
	b0 = __atomic_load_n(&db_taken_bytes, __ATOMIC_RELAXED);
	c0 = sl_dataplane_lcore_cpu_ns(dp, 0);
	t0 = sl_time_mono_ns();
	sl_time_sleep_ns((uint64_t)(secs * SL_NS_PER_SEC));
	a1 = rx_only ? sl_stat_read(&lc->stats.rx_pkts) :
	     sl_stat_read(&src->stats.event_accepted_count);
	k1 = __atomic_load_n(&db_taken, __ATOMIC_RELAXED);
	b1 = __atomic_load_n(&db_taken_bytes, __ATOMIC_RELAXED);
	c1 = sl_dataplane_lcore_cpu_ns(dp, 0);
	t1 = sl_time_mono_ns();
	src->ops->stop(src);
	__atomic_store_n(&db_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);

	rate_in = (double)(a1 - a0) * SL_NS_PER_SEC / (double)(t1 - t0);
	rate_out = (double)(k1 - k0) * SL_NS_PER_SEC / (double)(t1 - t0);
	/* The lcore's own CPU time per record: what the rate would be on a
	 * core of its own, whatever else the machine ran meanwhile. */
	cpu_ns = c0 >= 0 && c1 > c0 && a1 > a0 ?
		 (double)(c1 - c0) / (double)(a1 - a0) : 0;
	if (rx_only) {
		printf("dp_pmd_rx_only_%s %.0f pkt/s cpu_ns/pkt=%.1f "
		       "cycles/pkt=%.0f lcore_cpu_share=%.2f\n", argv[1] + 2,
		       rate_in,
		       cpu_ns, cpu_ns * (double)rte_get_tsc_hz() / 1e9,
		       (double)(c1 - c0) / (double)(t1 - t0));
	} else {
		mc = db_memcpy_rate(size);
		printf("dp_replay_%s%s%s %.0f rec/s into_channel %.0f rec/s "
		       "drained %.1f MB/s size=%u memcpy=%.0f rec/s "
		       "ratio=%.3f channel_full_drops=%llu cpu_ns/rec=%.1f "
		       "cycles/rec=%.0f lcore_cpu_share=%.2f\n", argv[1],
		       udp ? "" : "_", udp ? "" : enc, rate_in, rate_out,
		       (double)(b1 - b0) / (double)(t1 - t0) * 1000.0, size,
		       mc, rate_in / mc,
		       (unsigned long long)sl_stat_read(
			       &src->stats.drop[SL_DROP_CHANNEL_FULL]),
		       cpu_ns, cpu_ns * (double)rte_get_tsc_hz() / 1e9,
		       (double)(c1 - c0) / (double)(t1 - t0));
	}
	{
		/* The dataplane's own counters that moved, for the record. */
		struct sl_stats_sink out = { .put_u64 = db_put_u64,
					     .put_str = db_put_str,
					     .put_f64 = db_put_f64 };

		sl_dataplane_stats(dp, &out);
		fputc('\n', stderr);
	}
	src->ops->destroy(src);
	sl_dataplane_destroy(dp);
	return 0;
}
