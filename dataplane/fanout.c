/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A source thread's puts into all its channels (fanout_int.h): batches
 * bounded by the room the channels had, solo puts for the event that does
 * not fit. Runs on the source's I/O thread; producers are opened on the
 * control thread.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "fanout_int.h"
#include "sl_log.h"
#include "sl_source.h"

int
sl_fanout_selector_validate(const struct sl_props *props,
			    struct sl_diag *diag)
{
	const struct sl_prop *p;
	int nb = 0;
	size_t i;

	p = sl_props_get(props, "selector.type");
	if (p && strcasecmp(p->val, "replicating") != 0 &&
	    strcmp(p->val, "org.apache.flume.channel."
		   "ReplicatingChannelSelector") != 0) {
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.selector.type: '%s' is not supported (sluice "
			    "has the replicating selector only)", props->comp,
			    p->val);
		nb++;
	}
	for (i = 0; i < props->n; i++) {
		p = &props->v[i];
		if (strncmp(p->key, "selector.", 9) != 0 ||
		    strcmp(p->key, "selector.type") == 0)
			continue;
		sl_props_get(props, p->key);	/* claimed: reported here */
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: not supported (sluice puts every event "
			    "into every channel and fails if one refuses)",
			    props->comp, p->key);
		nb++;
	}
	return nb;
}

int
sl_fanout_open(struct sl_fanout *fo, struct sl_channel *const *chs,
	       unsigned nb_chs, const char *who, struct sl_err *err)
{
	unsigned c;

	fo->nb = 0;
	fo->open = false;
	fo->nb_evs = 0;
	fo->any_ack_fd = false;
	if (nb_chs > SL_FANOUT_MAX)
		return sl_err_set(err, E2BIG, "%s: %u channels, at most %u",
				  who, nb_chs, SL_FANOUT_MAX);
	for (c = 0; c < nb_chs; c++) {
		fo->prods[c] = sl_channel_producer_open(chs[c], who, err);
		if (!fo->prods[c])
			return -(err->code ? err->code : EIO);
		fo->ack_fds[c] = sl_channel_producer_fd(fo->prods[c]);
		fo->any_ack_fd |= fo->ack_fds[c] >= 0;
		fo->tickets[c] = 0;
		fo->nb = c + 1;
	}
	return 0;
}

/* Events every channel can still take; a bound for the next batch. */
static uint64_t
fanout_room(const struct sl_fanout *fo)
{
	uint64_t room = UINT64_MAX;
	unsigned c;

	for (c = 0; c < fo->nb; c++) {
		const struct sl_channel *ch = fo->prods[c]->ch;
		uint64_t cap = sl_channel_capacity(ch);
		uint64_t size = sl_channel_size(ch);

		room = SL_MIN(room, size < cap ? cap - size : 0);
	}
	return room;
}

int
sl_fanout_batch_put(struct sl_fanout *fo, const struct sl_event *ev,
		    unsigned *from)
{
	unsigned c;
	int rc;

	if (!fo->open) {
		fo->room = fanout_room(fo);
		if (fo->room == 0)
			return -ENOSPC;
		for (c = 0; c < fo->nb; c++)
			sl_channel_put_begin(fo->prods[c]);
		fo->open = true;
		fo->nb_evs = 0;
	}
	if (fo->nb_evs >= fo->room)
		return -ENOSPC;
	for (c = *from; c < fo->nb; c++) {
		rc = sl_channel_put(fo->prods[c], ev);
		if (rc < 0) {
			*from = c;
			return rc;
		}
	}
	fo->nb_evs++;
	return 0;
}

unsigned
sl_fanout_flush(struct sl_fanout *fo, bool *ok)
{
	unsigned c, nb = fo->nb_evs, nb_ok = 0;
	uint32_t failed = 0;

	*ok = true;
	if (!fo->open)
		return 0;
	for (c = 0; c < fo->nb; c++) {
		int64_t t = sl_channel_put_commit(fo->prods[c]);

		if (t < 0) {
			*ok = false;
			failed |= 1u << c;
		} else {
			fo->tickets[c] = (uint64_t)t;
			nb_ok++;
		}
	}
	/*
	 * A split: some channels hold the batch, these do not. The source
	 * counts the events as failed (or dropped) once; each channel that
	 * missed them counts them too, so `ctl stats` shows which one.
	 */
	for (c = 0; nb_ok && failed && c < fo->nb; c++)
		if (failed & (1u << c))
			sl_stat_add_mt(&fo->prods[c]->ch->stats.drop_channel_full,
				       nb);
	fo->open = false;
	fo->nb_evs = 0;
	return nb;
}

int
sl_fanout_solo(struct sl_fanout *fo, const struct sl_event *ev,
	       unsigned *from)
{
	unsigned c, first = *from, fail = fo->nb;
	int rc = 0;

	SL_ASSERT(!fo->open);
	for (c = first; c < fo->nb; c++)
		sl_channel_put_begin(fo->prods[c]);
	for (c = first; c < fo->nb && rc == 0; c++) {
		rc = sl_channel_put(fo->prods[c], ev);
		if (rc < 0)
			fail = c;
	}
	/* Commit in channel order up to the first refusal, roll back the rest. */
	for (c = first; c < fo->nb; c++) {
		if (c < fail) {
			int64_t t = sl_channel_put_commit(fo->prods[c]);

			if (t >= 0) {
				fo->tickets[c] = (uint64_t)t;
				continue;
			}
			rc = (int)t;
			fail = c;
			continue;
		}
		sl_channel_put_rollback(fo->prods[c]);
	}
	if (rc == -E2BIG)
		rc = -EIO;	/* a one-event transaction cannot be too big */
	*from = rc ? fail : fo->nb;
	return rc;
}

bool
sl_fanout_acked(struct sl_fanout *fo, const uint64_t *tickets)
{
	unsigned c;

	for (c = 0; c < fo->nb; c++)
		if (sl_channel_producer_acked(fo->prods[c]) < tickets[c])
			return false;
	return true;
}

uint64_t
sl_fanout_depth(const struct sl_fanout *fo)
{
	uint64_t sum = 0;
	unsigned c;

	for (c = 0; c < fo->nb; c++) {
		int64_t d = sl_channel_producer_depth(fo->prods[c]);

		if (d > 0)
			sum += (uint64_t)d;
	}
	return sum;
}

void
sl_fanout_log_totals(const struct sl_source *src, const char *type)
{
	const struct sl_source_stats *st = &src->stats;
	char drops[768] = "";
	size_t n = 0;
	unsigned i;

	for (i = 0; i < SL_DROP_MAX && n < sizeof(drops); i++) {
		uint64_t v = sl_stat_read(&st->drop[i]);

		if (v)
			n += (size_t)snprintf(drops + n, sizeof(drops) - n,
					      ", %s=%llu", sl_drop_names[i],
					      (unsigned long long)v);
	}
	sl_log(SL_INFO, "source %s %s: stopped (EventReceivedCount=%llu, "
	       "EventAcceptedCount=%llu, EventReadFail=%llu, "
	       "ChannelWriteFail=%llu, rx_bytes=%llu%s)", type, src->name,
	       (unsigned long long)sl_stat_read(&st->event_received_count),
	       (unsigned long long)sl_stat_read(&st->event_accepted_count),
	       (unsigned long long)sl_stat_read(&st->event_read_fail),
	       (unsigned long long)sl_stat_read(&st->channel_write_fail),
	       (unsigned long long)sl_stat_read(&st->rx_bytes), drops);
}
