/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flume's `logger` sink: logs each event at INFO as Flume's LoggerSink does,
 * "Event: { headers:{k=v} body: 48 65 6C 6C 6F          Hello }": a
 * commons-io hex dump of the first maxBytesToLog bytes with its leading
 * offset removed. Where Flume's dump of more than 16 bytes spans several
 * lines, sluice joins them with a space: one event, one line. Runner thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "sl_sink.h"

#define LOGGER_BATCH	100	/* clamped by the channel's transactionCapacity */

struct logger_settings {
	int64_t max_bytes;
};

struct logger_sink {
	struct sl_sink base;
	unsigned max_bytes;
	char *line;		/* one formatted event, reused */
	size_t line_size;
};

static const struct sl_key logger_keys[] = {
	{ "maxBytesToLog", SL_KEY_INT, "16",
	  offsetof(struct logger_settings, max_bytes), 0, 1 << 20,
	  .help = "body bytes shown per event" },
	SL_KEY_END,
};

static const char *const logger_aliases[] = {
	"org.apache.flume.sink.LoggerSink",
	NULL,
};

static const char logger_hex[] = "0123456789ABCDEF";

/*
 * Format @ev into @out (room for logger_line_size() bytes), as Flume's
 * EventHelper.dumpEvent(). Returns the length.
 */
static size_t
logger_format(char *out, const struct sl_event *ev, unsigned max_bytes)
{
	uint32_t n = SL_MIN(ev->body_len, max_bytes), j, k;
	char *p = out;
	unsigned i;

	p += sprintf(p, "Event: { headers:{");
	for (i = 0; i < ev->nb_headers; i++) {
		const struct sl_header *h = &ev->hdrs[i];

		p += sprintf(p, "%s%.*s=%.*s", i ? ", " : "", h->key_len,
			     h->key, h->val_len, h->val);
	}
	p += sprintf(p, "} body:");
	for (j = 0; j < n; j += 16) {
		uint32_t chunk = SL_MIN(n - j, 16u);

		if (j > 0)
			p += sprintf(p, " %08X", j);
		*p++ = ' ';
		for (k = 0; k < 16; k++) {
			if (k < chunk) {
				*p++ = logger_hex[ev->body[j + k] >> 4];
				*p++ = logger_hex[ev->body[j + k] & 15];
			} else {
				*p++ = ' ';
				*p++ = ' ';
			}
			*p++ = ' ';
		}
		for (k = 0; k < chunk; k++) {
			uint8_t c = ev->body[j + k];

			*p++ = c >= ' ' && c < 127 ? (char)c : '.';
		}
	}
	p += sprintf(p, " }");
	return (size_t)(p - out);
}

static size_t
logger_line_size(unsigned max_bytes)
{
	/* per 16 bytes: offset 9 + hex 48 + ascii 16 + space */
	return 64 + (size_t)SL_EVENT_MAX_HEADERS * 2 * (65535 + 2) +
	       ((size_t)max_bytes / 16 + 1) * 80;
}

static struct sl_sink *
logger_create(const char *name, const void *settings,
	      const struct sl_props *props, struct sl_channel *ch,
	      struct sl_err *err)
{
	const struct logger_settings *set = settings;
	struct logger_sink *ls = calloc(1, sizeof(*ls));

	if (!ls)
		goto err_nomem;
	ls->base.ops = &sl_logger_sink_ops;
	ls->base.name = strdup(name);
	ls->max_bytes = (unsigned)set->max_bytes;
	ls->line_size = logger_line_size(ls->max_bytes);
	ls->line = malloc(ls->line_size);
	if (!ls->base.name || !ls->line)
		goto err_nomem;
	ls->base.cons = sl_channel_consumer_open(ch, name, LOGGER_BATCH, 1,
						 err);
	if (!ls->base.cons)
		goto err_free;
	return &ls->base;

err_nomem:
	sl_err_set(err, ENOMEM, "sink logger %s: out of memory", name);
err_free:
	if (ls) {
		free(ls->line);
		free(ls->base.name);
		free(ls);
	}
	return NULL;
}

static int
logger_start(struct sl_sink *sk, struct sl_err *err)
{
	return 0;
}

static enum sl_sink_status
logger_process(struct sl_sink *sk)
{
	struct logger_sink *ls = (struct logger_sink *)sk;
	struct sl_take *txn = sl_channel_take(sk->cons, LOGGER_BATCH);
	unsigned i, nb = txn ? txn->nb_evs : 0;

	sl_sink_count_take(sk, nb, LOGGER_BATCH);
	if (!txn)
		return SL_SINK_BACKOFF;
	for (i = 0; i < nb; i++) {
		size_t len = logger_format(ls->line, &txn->evs[i],
					   ls->max_bytes);

		sl_log(SL_INFO, "sink logger %s: %.*s", sk->name, (int)len,
		       ls->line);
	}
	return sl_sink_commit_drained(sk, txn);
}

static void
logger_stop(struct sl_sink *sk)
{
}

static void
logger_destroy(struct sl_sink *sk)
{
	struct logger_sink *ls = (struct logger_sink *)sk;

	free(ls->line);
	free(sk->name);
	free(ls);
}

const struct sl_sink_ops sl_logger_sink_ops = {
	.type = "logger",
	.aliases = logger_aliases,
	.keys = logger_keys,
	.settings_size = sizeof(struct logger_settings),
	.create = logger_create,
	.start = logger_start,
	.process = logger_process,
	.stop = logger_stop,
	.destroy = logger_destroy,
};
