/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session): the netcat source. */
#include <errno.h>
#include "sl_source.h"

static struct sl_source *
netcat_create(const char *name, const void *settings,
	    struct sl_channel *const *chs, unsigned nb_chs, struct sl_err *err)
{
	sl_err_set(err, ENOSYS, "source netcat %s: not built yet", name);
	return NULL;
}

static const struct sl_key netcat_keys[] = {
	{ "port", SL_KEY_INT, NULL, 0, 1, 65535, .required = true,
	  .help = "port" },
	SL_KEY_END,
};

const struct sl_source_ops sl_netcat_source_ops = {
	.type = "netcat",
	.keys = netcat_keys,
	.settings_size = sizeof(int64_t),
	.create = netcat_create,
};
