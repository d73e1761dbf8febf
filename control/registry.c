/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The component registry: Flume `type` strings (short names and class
 * names, case-insensitive) to the ops tables compiled into sluice. Types
 * Flume has and sluice does not build yet are listed too, so a config that
 * names one gets "known but not built" instead of "unknown".
 * Adding a component: one ops table in its folder, one line here.
 */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "sl_control.h"

#define SRC(o)  { SL_COMP_SOURCE, .ops = &(o), .src = &(o) }
#define CHAN(o) { SL_COMP_CHANNEL, .ops = &(o), .chan = &(o) }
#define SINK(o) { SL_COMP_SINK, .ops = &(o), .sink = &(o) }
#define UNBUILT(k, t, why) { k, .type = (t), .unbuilt = (why) }

/* What a registry line names; sl_type is filled from it at first use. */
struct registry_line {
	enum sl_comp_kind kind;
	const void *ops;
	const struct sl_source_ops *src;
	const struct sl_channel_ops *chan;
	const struct sl_sink_ops *sink;
	const char *type;
	const char *unbuilt;
};

#define NOT_YET "not implemented in sluice yet"

static const struct registry_line registry_lines[] = {
	SRC(sl_netcat_source_ops),
	SRC(sl_netcatudp_source_ops),
	CHAN(sl_memory_channel_ops),
	CHAN(sl_file_channel_ops),
	SINK(sl_logger_sink_ops),
	SINK(sl_null_sink_ops),
	SINK(sl_kafka_sink_ops),

	UNBUILT(SL_COMP_SOURCE, "avro", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "thrift", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "exec", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "spooldir", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "TAILDIR", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "http", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "syslogtcp", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "multiport_syslogtcp", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "syslogudp", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "seq", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "jms", NOT_YET),
	UNBUILT(SL_COMP_SOURCE, "org.apache.flume.source.kafka.KafkaSource",
		NOT_YET),
	UNBUILT(SL_COMP_CHANNEL, "jdbc", NOT_YET),
	UNBUILT(SL_COMP_CHANNEL, "SPILLABLEMEMORY", NOT_YET),
	UNBUILT(SL_COMP_CHANNEL, "org.apache.flume.channel.kafka.KafkaChannel",
		NOT_YET),
	UNBUILT(SL_COMP_SINK, "hdfs", NOT_YET),
	UNBUILT(SL_COMP_SINK, "hive", NOT_YET),
	UNBUILT(SL_COMP_SINK, "avro", NOT_YET),
	UNBUILT(SL_COMP_SINK, "thrift", NOT_YET),
	UNBUILT(SL_COMP_SINK, "file_roll", NOT_YET),
	UNBUILT(SL_COMP_SINK, "hbase", NOT_YET),
	UNBUILT(SL_COMP_SINK, "hbase2", NOT_YET),
	UNBUILT(SL_COMP_SINK, "asynchbase", NOT_YET),
	UNBUILT(SL_COMP_SINK, "org.apache.flume.sink.elasticsearch."
		"ElasticSearchSink", NOT_YET),
	UNBUILT(SL_COMP_SINK, "http", NOT_YET),
};

#define NB_TYPES SL_ARRAY_SIZE(registry_lines)

static struct sl_type registry_types[NB_TYPES];
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* The three ops tables share their leading fields; copy them once. */
static void
registry_init(void)
{
	size_t i;

	for (i = 0; i < NB_TYPES; i++) {
		const struct registry_line *l = &registry_lines[i];
		struct sl_type *t = &registry_types[i];

		t->kind = l->kind;
		t->ops = l->ops;
		t->type = l->type;
		t->unbuilt = l->unbuilt;
		if (l->src) {
			t->type = l->src->type;
			t->aliases = l->src->aliases;
			t->keys = l->src->keys;
			t->settings_size = l->src->settings_size;
			t->validate = l->src->validate;
		} else if (l->chan) {
			t->type = l->chan->type;
			t->aliases = l->chan->aliases;
			t->keys = l->chan->keys;
			t->settings_size = l->chan->settings_size;
			t->validate = l->chan->validate;
		} else if (l->sink) {
			t->type = l->sink->type;
			t->aliases = l->sink->aliases;
			t->keys = l->sink->keys;
			t->settings_size = l->sink->settings_size;
			t->validate = l->sink->validate;
		}
	}
}

const struct sl_type *
sl_registry_find(enum sl_comp_kind kind, const char *type)
{
	const char *const *a;
	size_t i;

	pthread_once(&registry_once, registry_init);
	for (i = 0; i < NB_TYPES; i++) {
		const struct sl_type *t = &registry_types[i];

		if (t->kind != kind)
			continue;
		if (strcasecmp(t->type, type) == 0)
			return t;
		for (a = t->aliases; a && *a; a++)
			if (strcasecmp(*a, type) == 0)
				return t;
	}
	return NULL;
}

void
sl_registry_known(enum sl_comp_kind kind, char *buf, size_t size)
{
	size_t i, n = 0;

	pthread_once(&registry_once, registry_init);
	buf[0] = '\0';
	for (i = 0; i < NB_TYPES && n < size; i++) {
		const struct sl_type *t = &registry_types[i];

		if (t->kind != kind || !t->ops)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "%s%s",
				      n ? ", " : "", t->type);
	}
}

const char *
sl_comp_kind_name(enum sl_comp_kind kind)
{
	static const char *const names[] = { "source", "channel", "sink" };

	return names[kind];
}

const char *
sl_comp_kind_upper(enum sl_comp_kind kind)
{
	static const char *const names[] = { "SOURCE", "CHANNEL", "SINK" };

	return names[kind];
}
