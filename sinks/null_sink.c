/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's `null` sink: takes batches and discards them. The discarding end
 * of benchmarks, and the sink tests use to drain a channel. Runner thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_sink.h"

struct null_settings {
	int64_t batch_size;
};

struct null_sink {
	struct sl_sink base;
	unsigned batch;
};

static const struct sl_key null_keys[] = {
	{ "batchSize", SL_KEY_INT, "100",
	  offsetof(struct null_settings, batch_size), 1, 1000000,
	  .help = "events per take transaction" },
	SL_KEY_END,
};

static const char *const null_aliases[] = {
	"org.apache.flume.sink.NullSink",
	NULL,
};

static struct sl_sink *
null_create(const char *name, const void *settings,
	    const struct sl_props *props, struct sl_channel *ch,
	    struct sl_err *err)
{
	const struct null_settings *set = settings;
	struct null_sink *ns = calloc(1, sizeof(*ns));

	if (!ns) {
		sl_err_set(err, ENOMEM, "sink null %s: out of memory", name);
		return NULL;
	}
	ns->base.ops = &sl_null_sink_ops;
	ns->base.name = strdup(name);
	ns->batch = (unsigned)set->batch_size;
	ns->base.cons = sl_channel_consumer_open(ch, name, ns->batch, 1, err);
	if (!ns->base.cons) {
		free(ns->base.name);
		free(ns);
		return NULL;
	}
	return &ns->base;
}

static int
null_start(struct sl_sink *sk, struct sl_err *err)
{
	return 0;
}

static enum sl_sink_status
null_process(struct sl_sink *sk)
{
	struct null_sink *ns = (struct null_sink *)sk;
	struct sl_take *txn = sl_channel_take(sk->cons, ns->batch);
	unsigned nb = txn ? txn->nb_evs : 0;

	sl_sink_count_take(sk, nb, ns->batch);
	if (!txn)
		return SL_SINK_BACKOFF;
	return sl_sink_commit_drained(sk, txn);
}

static void
null_stop(struct sl_sink *sk)
{
}

static void
null_destroy(struct sl_sink *sk)
{
	free(sk->name);
	free(sk);
}

const struct sl_sink_ops sl_null_sink_ops = {
	.type = "null",
	.aliases = null_aliases,
	.keys = null_keys,
	.settings_size = sizeof(struct null_settings),
	.create = null_create,
	.start = null_start,
	.process = null_process,
	.stop = null_stop,
	.destroy = null_destroy,
};
