/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session): the control socket server. */
#include <errno.h>
#include <stdlib.h>
#include "sl_control.h"
#include "sl_time.h"

int
sl_ctl_default_path(const char *agent, char *buf, size_t size)
{
	return snprintf(buf, size, "/tmp/sluice-%s.sock", agent) < (int)size ?
	       0 : -ENAMETOOLONG;
}

struct sl_ctl_server *
sl_ctl_server_open(struct sl_agent *ag, const char *path, struct sl_err *err)
{
	return calloc(1, 1);
}

int
sl_ctl_server_poll(struct sl_ctl_server *srv, int timeout_ms)
{
	sl_time_sleep_ns((uint64_t)timeout_ms * 1000000);
	return 0;
}

void
sl_ctl_server_close(struct sl_ctl_server *srv)
{
	free(srv);
}

json_t *
sl_agent_stats_json(const struct sl_agent *ag)
{
	return json_object();
}
