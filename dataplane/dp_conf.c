/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `dataplane.*` section of an agent's properties: one key table for
 * the section and one per port, run over the agent's leftover keys (what
 * conf_build.c leaves in plan->agent_props), with a FILE:LINE line per
 * problem. Called by control/ on the control thread, for `sluice check`
 * and before the agent starts. No EAL here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_dataplane.h"

struct dp_set {
	char *type;
	char *eal;
	char *ports;
	int64_t max_conns;
	int64_t idle_timeout;
	int64_t idle_sleep_us;
};

struct dp_port_set {
	char *device;
	char *address;
	char *gateway;
	int64_t rx_queues;
	int64_t mtu;
	int64_t mbuf_size;
	int64_t mbufs;
};

#define DP_OFF(f) offsetof(struct dp_set, f)
#define DPP_OFF(f) offsetof(struct dp_port_set, f)

static const struct sl_key dp_keys[] = {
	{ "type", SL_KEY_STR, NULL, DP_OFF(type), .required = true,
	  .help = "dataplane kind: dpdk" },
	{ "eal", SL_KEY_STR, NULL, DP_OFF(eal), .required = true,
	  .help = "DPDK EAL arguments, e.g. -l 0-1 --no-huge -m 512 "
	  "--no-pci --vdev=net_af_packet0,iface=veth0" },
	{ "ports", SL_KEY_STR, NULL, DP_OFF(ports), .required = true,
	  .help = "space-separated port names; each has ports.NAME.* keys" },
	{ "maxConnections", SL_KEY_INT, "1024", DP_OFF(max_conns), 1,
	  1 << 20, .help = "sluice: TCP connections per lcore (memory for "
	  "each is preallocated)" },
	{ "idleTimeout", SL_KEY_INT, "300", DP_OFF(idle_timeout), 0,
	  86400, .help = "sluice: seconds a TCP connection may stay silent "
	  "before it is reset (0: never)" },
	{ "idleSleepUs", SL_KEY_INT, "0", DP_OFF(idle_sleep_us), 0, 100000,
	  .help = "sluice: microseconds an lcore sleeps after 1000 empty "
	  "polls (0: poll without pause, the appliance setting)" },
	SL_KEY_END,
};

static const struct sl_key dp_port_keys[] = {
	{ "device", SL_KEY_STR, NULL, DPP_OFF(device), .required = true,
	  .help = "DPDK device name (net_af_packet0, a PCI address...)" },
	{ "address", SL_KEY_STR, NULL, DPP_OFF(address), .required = true,
	  .help = "the port's IPv4 address and prefix, e.g. 10.0.0.5/24" },
	{ "gateway", SL_KEY_STR, NULL, DPP_OFF(gateway),
	  .help = "optional IPv4 gateway inside the port's subnet" },
	{ "rxQueues", SL_KEY_INT, "1", DPP_OFF(rx_queues), 1, 64,
	  .help = "RX queues, one poll-mode lcore each, RSS across them" },
	{ "mtu", SL_KEY_INT, "1500", DPP_OFF(mtu), 576, 9000,
	  .help = "IP MTU of the port" },
	{ "mbufSize", SL_KEY_INT, "2176", DPP_OFF(mbuf_size), 1024, 65535,
	  .help = "sluice: bytes of data room per mbuf (headroom included); "
	  "raise it to the largest frame the device hands over, e.g. "
	  "net_af_packet's framesz, whose kernel fanout reassembles IP "
	  "fragments before DPDK sees them" },
	{ "mbufs", SL_KEY_INT, "0", DPP_OFF(mbufs), 0, 1 << 24,
	  .help = "sluice: mbufs in the port's mempool (0: sized from the "
	  "queues; net_pcap with infinite_rx needs one per captured frame "
	  "more)" },
	SL_KEY_END,
};

/* The sub-properties under @prefix ("dataplane.", "dataplane.ports.p0."). */
static int
dp_sub_props(const struct sl_props *ap, const char *prefix, const char *comp,
	     struct sl_props *out)
{
	size_t i, n = strlen(prefix);

	memset(out, 0, sizeof(*out));
	out->comp = comp;
	out->v = calloc(ap->n ? ap->n : 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (i = 0; i < ap->n; i++) {
		const struct sl_prop *p = &ap->v[i];

		if (strncmp(p->key, prefix, n) != 0)
			continue;
		out->v[out->n] = *p;
		out->v[out->n].key = p->key + n;
		out->v[out->n].used = false;
		if (!out->file) {
			out->file = p->file;
			out->line = p->line;
		}
		out->n++;
	}
	return 0;
}

/* Mark @key claimed in @ap (so nothing calls it unknown). */
static void
dp_claim(const struct sl_props *ap, const char *key)
{
	sl_props_get(ap, key);
}

static int
dp_parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

/* "10.0.0.5/24" -> address, mask. */
static int
dp_parse_cidr(const char *s, uint32_t *addr, uint32_t *mask)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	uint32_t a, m;
	int64_t plen;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (dp_parse_ipv4(buf, &a) < 0)
		return -EINVAL;
	if (sl_parse_int(slash + 1, 1, 32, &plen) < 0)
		return -EINVAL;
	m = plen == 32 ? 0xffffffffu : ~(0xffffffffu >> plen);
	if (plen < 31 && ((a & ~m) == 0 || (a | m) == 0xffffffffu))
		return -EINVAL;		/* network or broadcast address */
	*addr = a;
	*mask = m;
	return 0;
}

static void
dp_port_parse(const struct sl_props *ap, const char *agent,
	      const char *name, const struct sl_prop *ports_p,
	      struct sl_dp_port_conf *pc, struct sl_diag *diag)
{
	struct dp_port_set set = { 0 };
	char prefix[160], comp[200];
	struct sl_props sub;
	struct sl_prop *p;
	size_t i;

	snprintf(prefix, sizeof(prefix), "dataplane.ports.%s.", name);
	snprintf(comp, sizeof(comp), "%s.dataplane.ports.%s", agent, name);
	if (dp_sub_props(ap, prefix, comp, &sub) < 0) {
		sl_diag_add(diag, SL_DIAG_ERROR, NULL, 0, "out of memory");
		return;
	}
	if (!sub.file) {
		sub.file = ports_p->file;
		sub.line = ports_p->line;
	}
	pc->name = strdup(name);
	pc->file = sub.file;
	pc->line = sub.line;
	sl_keys_apply(dp_port_keys, &set, &sub, diag);
	if ((p = sl_props_get(&sub, "device"))) {
		pc->file = p->file;
		pc->line = p->line;
	}
	pc->device = set.device ? strdup(set.device) : NULL;
	pc->rx_queues = (unsigned)set.rx_queues;
	pc->mtu = (unsigned)set.mtu;
	pc->mbuf_size = (unsigned)set.mbuf_size;
	pc->mbufs = (unsigned)set.mbufs;
	if (set.address && dp_parse_cidr(set.address, &pc->addr,
					 &pc->mask) < 0) {
		p = sl_props_get(&sub, "address");
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.address: '%s' is not an IPv4 host address "
			    "with a prefix length (e.g. 10.0.0.5/24)", comp,
			    set.address);
	}
	if (set.gateway) {
		p = sl_props_get(&sub, "gateway");
		if (dp_parse_ipv4(set.gateway, &pc->gateway) < 0)
			sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
				    "%s.gateway: '%s' is not an IPv4 address",
				    comp, set.gateway);
		else if (pc->mask && ((pc->gateway ^ pc->addr) & pc->mask))
			sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
				    "%s.gateway: %s is outside the port's "
				    "subnet %s", comp, set.gateway,
				    set.address);
	}
	/* Claim the port's keys in the agent props, warn about the rest. */
	for (i = 0; i < sub.n; i++) {
		char key[256];

		snprintf(key, sizeof(key), "%s%s", prefix, sub.v[i].key);
		dp_claim(ap, key);
	}
	sl_props_warn_unused(&sub, diag);
	sl_keys_free(dp_port_keys, &set);
	free(sub.v);
}

int
sl_dp_conf_parse(const struct sl_props *ap, struct sl_dp_conf **out,
		 struct sl_diag *diag)
{
	size_t nb_errors = diag->nb_errors, i, j;
	struct dp_set set = { 0 };
	struct sl_dp_conf *conf;
	struct sl_props sub;
	const struct sl_prop *ports_p;
	char comp[160];
	const char *s;

	*out = NULL;
	snprintf(comp, sizeof(comp), "%s.dataplane", ap->comp ? ap->comp : "");
	if (dp_sub_props(ap, "dataplane.", comp, &sub) < 0) {
		sl_diag_add(diag, SL_DIAG_ERROR, NULL, 0, "out of memory");
		return 1;
	}
	if (sub.n == 0) {
		free(sub.v);
		return 0;		/* no section: the kernel path */
	}
	conf = calloc(1, sizeof(*conf));
	if (!conf) {
		free(sub.v);
		sl_diag_add(diag, SL_DIAG_ERROR, NULL, 0, "out of memory");
		return 1;
	}
	sl_keys_apply(dp_keys, &set, &sub, diag);
	if (set.type && strcasecmp(set.type, "dpdk") != 0) {
		const struct sl_prop *p = sl_props_get(&sub, "type");

		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.type: unknown dataplane type '%s' (known: "
			    "dpdk)", comp, set.type);
	}
	if (set.eal) {
		const struct sl_prop *p = sl_props_get(&sub, "eal");

		conf->eal = strdup(set.eal);
		conf->eal_file = p->file;
		conf->eal_line = p->line;
	}
	conf->max_conns = (uint64_t)set.max_conns;
	conf->idle_timeout_s = (uint64_t)set.idle_timeout;
	conf->idle_sleep_us = (uint64_t)set.idle_sleep_us;
	ports_p = sl_props_get(&sub, "ports");
	for (s = set.ports; s && *s;) {
		char name[128];
		size_t len;

		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (!len)
			break;
		if (len >= sizeof(name) || conf->nb_ports == SL_DP_MAX_PORTS) {
			sl_diag_add(diag, SL_DIAG_ERROR, ports_p->file,
				    ports_p->line, "%s.ports: at most %u ports "
				    "with names under %zu characters", comp,
				    SL_DP_MAX_PORTS, sizeof(name));
			break;
		}
		memcpy(name, s, len);
		name[len] = '\0';
		s += len;
		dp_port_parse(ap, ap->comp ? ap->comp : "", name, ports_p,
			      &conf->ports[conf->nb_ports++], diag);
	}
	/* Two ports with one address cannot both own it. */
	for (i = 0; i < conf->nb_ports; i++)
		for (j = i + 1; j < conf->nb_ports; j++)
			if (conf->ports[i].addr &&
			    conf->ports[i].addr == conf->ports[j].addr)
				sl_diag_add(diag, SL_DIAG_ERROR,
					    conf->ports[j].file,
					    conf->ports[j].line, "%s.ports.%s:"
					    " same address as port %s", comp,
					    conf->ports[j].name,
					    conf->ports[i].name);
	/* Keys of the section itself (ports.X.* were checked per port). */
	for (i = 0; i < sub.n; i++) {
		if (strncmp(sub.v[i].key, "ports.", 6) == 0) {
			char key[256];

			snprintf(key, sizeof(key), "dataplane.%s",
				 sub.v[i].key);
			if (sl_props_get(ap, key) && !sub.v[i].used) {
				/* a port not listed in `ports` */
				const char *rest = sub.v[i].key + 6;
				size_t k, nl = strcspn(rest, ".");

				for (k = 0; k < conf->nb_ports; k++)
					if (strlen(conf->ports[k].name) == nl &&
					    !strncmp(conf->ports[k].name, rest,
						     nl))
						break;
				if (k == conf->nb_ports)
					sl_diag_add(diag, SL_DIAG_WARN,
						    sub.v[i].file,
						    sub.v[i].line, "%s.%s: "
						    "port %.*s is not listed "
						    "in %s.ports (ignored)",
						    comp, sub.v[i].key,
						    (int)nl, rest, comp);
			}
			sub.v[i].used = true;
			continue;
		}
		if (sub.v[i].used) {
			char key[256];

			snprintf(key, sizeof(key), "dataplane.%s",
				 sub.v[i].key);
			dp_claim(ap, key);
		}
	}
	sl_props_warn_unused(&sub, diag);
	sl_keys_free(dp_keys, &set);
	free(sub.v);
	*out = conf;
	return (int)(diag->nb_errors - nb_errors);
}

void
sl_dp_conf_free(struct sl_dp_conf *conf)
{
	unsigned i;

	if (!conf)
		return;
	for (i = 0; i < conf->nb_ports; i++) {
		free(conf->ports[i].name);
		free(conf->ports[i].device);
	}
	free(conf->eal);
	free(conf);
}

const struct sl_dp_port_conf *
sl_dp_conf_port_of(const struct sl_dp_conf *conf, uint32_t addr,
		   bool *in_subnet)
{
	unsigned i;

	if (in_subnet)
		*in_subnet = false;
	for (i = 0; i < conf->nb_ports; i++) {
		const struct sl_dp_port_conf *pc = &conf->ports[i];

		if (pc->addr == addr)
			return pc;
		if (in_subnet && pc->mask && ((pc->addr ^ addr) & pc->mask) == 0)
			*in_subnet = true;
	}
	return NULL;
}
