/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dataplane without DPDK in the build (meson found no libdpdk): a
 * config with a dataplane section is refused with a clear message; the
 * parsers, the TCP stack and their tests are built all the same. Control
 * thread.
 */
#include <errno.h>

#include "dp_int.h"
#include "sl_dataplane.h"

struct sl_dataplane *
sl_dataplane_create(const struct sl_dp_conf *conf, struct sl_err *err)
{
	sl_err_set(err, ENOTSUP, "%s:%d: dataplane: this sluice was built "
		   "without DPDK (install libdpdk-dev and rebuild)",
		   conf->eal_file ? conf->eal_file : "?", conf->eal_line);
	return NULL;
}

int
sl_dataplane_start(struct sl_dataplane *dp, struct sl_err *err)
{
	return sl_err_set(err, ENOTSUP, "dataplane: built without DPDK");
}

void
sl_dataplane_stop(struct sl_dataplane *dp)
{
}

void
sl_dataplane_destroy(struct sl_dataplane *dp)
{
}

void
sl_dataplane_stats(const struct sl_dataplane *dp, struct sl_stats_sink *out)
{
}

struct sl_lcore *
sl_dataplane_lcore(struct sl_dataplane *dp, unsigned i, uint32_t *addr)
{
	return NULL;
}

int64_t
sl_dataplane_lcore_cpu_ns(const struct sl_dataplane *dp, unsigned i)
{
	return -1;
}
