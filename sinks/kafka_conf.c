/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka sink's configuration helpers: `kafka.producer.*` (the Java
 * client's property names, as Flume passes them through) set on librdkafka
 * through the shared translation (kafka_props.c), sluice's defaults for
 * what the user left unset, `header.*` mappings, the Avro encoding of
 * useFlumeEventFormat and the dead-letter record. Called by kafka_sink.c
 * on the control thread (configuration) and the runner thread (encoding).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kafka_int.h"
#include "sl_kafka.h"

/*
 * Names the sink itself refuses or ignores whatever librdkafka would do
 * with them (its own settings cover them); every other name goes through
 * the shared Java -> librdkafka table (sl_kafka.h), whose IGNORE names the
 * sink warns about and whose UNSUPPORTED names fail the load.
 */
static const struct {
	const char *java;
	bool warn_only;
	const char *why;
} kafka_sink_names[] = {
	{ "bootstrap.servers", true,
	  "kafka.bootstrap.servers sets the brokers" },
	{ "transactional.id", false,
	  "the sink commits Flume transactions itself; Kafka transactions "
	  "are not used" },
};

/* One property into @conf; 0 or -EINVAL after a diag line. */
static int
kafka_conf_set_one(rd_kafka_conf_t *conf, const struct sl_props *props,
		   const struct sl_prop *p, const char *java,
		   struct sl_diag *diag)
{
	char errstr[512], name[256], val[512];
	bool warn_only = false;
	const char *why = NULL;
	size_t i;
	int kind;

	for (i = 0; i < SL_ARRAY_SIZE(kafka_sink_names); i++)
		if (strcmp(kafka_sink_names[i].java, java) == 0) {
			warn_only = kafka_sink_names[i].warn_only;
			why = kafka_sink_names[i].why;
		}
	kind = why ? SL_KAFKA_PROP_UNSUPPORTED :
	       sl_kafka_prop_translate(java, p->val, name, val, sizeof(name));
	if (kind < 0) {
		if (diag)
			sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
				    "%s.%s: '%s' is not a number of bytes",
				    props->comp, p->key, p->val);
		return -EINVAL;
	}
	if (kind == SL_KAFKA_PROP_IGNORE)
		warn_only = true;
	if (kind == SL_KAFKA_PROP_IGNORE || kind == SL_KAFKA_PROP_UNSUPPORTED) {
		if (diag)
			sl_diag_add(diag, warn_only ? SL_DIAG_WARN :
				    SL_DIAG_ERROR, p->file, p->line,
				    "%s.%s: %s: %s", props->comp, p->key,
				    warn_only ? "ignored" : "not supported",
				    why ? why : val);
		return warn_only ? 0 : -EINVAL;
	}
	errstr[0] = '\0';
	if (rd_kafka_conf_set(conf, name, val, errstr, sizeof(errstr)) ==
	    RD_KAFKA_CONF_OK)
		return 0;
	if (diag)
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: librdkafka%s%s%s: %s", props->comp, p->key,
			    kind != SL_KAFKA_PROP_SAME ? " (as " : "",
			    kind != SL_KAFKA_PROP_SAME ? name : "",
			    kind != SL_KAFKA_PROP_SAME ? ")" : "", errstr);
	return -EINVAL;
}

int
kafka_conf_apply_producer(rd_kafka_conf_t *conf, const struct sl_props *props,
			  const char *acks, struct sl_diag *diag)
{
	size_t plen = strlen(KAFKA_PRODUCER_PREFIX), i;
	struct sl_prop *ap;
	int nb_errors = 0;

	for (i = 0; i < props->n; i++) {
		struct sl_prop *p = &props->v[i];

		if (strncmp(p->key, KAFKA_PRODUCER_PREFIX, plen) != 0 ||
		    strcmp(p->key + plen, "acks") == 0)
			continue;
		p->used = true;
		if (p->key[plen] == '\0' || p->val[0] == '\0') {
			if (diag)
				sl_diag_add(diag, SL_DIAG_ERROR, p->file,
					    p->line, "%s.%s: empty %s",
					    props->comp, p->key,
					    p->key[plen] ? "value" : "name");
			nb_errors++;
			continue;
		}
		if (kafka_conf_set_one(conf, props, p, p->key + plen,
				       diag) < 0)
			nb_errors++;
	}
	/* acks comes from the key table (it has the requiredAcks alias). */
	ap = sl_props_get(props, KAFKA_PRODUCER_PREFIX "acks");
	if (!ap)
		ap = sl_props_get(props, "requiredAcks");
	if (acks && ap) {
		struct sl_prop tmp = *ap;

		tmp.val = (char *)acks;
		if (kafka_conf_set_one(conf, props, &tmp, "acks", diag) < 0)
			nb_errors++;
	} else if (acks) {
		char errstr[256];

		if (rd_kafka_conf_set(conf, "acks", acks, errstr,
				      sizeof(errstr)) != RD_KAFKA_CONF_OK)
			nb_errors++;
	}
	return nb_errors;
}

bool
kafka_conf_user_set(const struct sl_props *props, const char *name)
{
	size_t plen = strlen(KAFKA_PRODUCER_PREFIX), i;

	for (i = 0; i < props->n; i++) {
		const char *k = props->v[i].key;
		char rd_key[256], rd_val[512];
		int kind;

		if (strncmp(k, KAFKA_PRODUCER_PREFIX, plen) != 0)
			continue;
		k += plen;
		kind = sl_kafka_prop_translate(k, props->v[i].val, rd_key,
					       rd_val, sizeof(rd_key));
		if (strcmp(k, name) == 0 ||
		    ((kind == SL_KAFKA_PROP_RENAME ||
		      kind == SL_KAFKA_PROP_KBYTES) &&
		     strcmp(rd_key, name) == 0))
			return true;
	}
	return false;
}

int
kafka_conf_header_map(const struct sl_props *props,
		      struct kafka_header_map *map, struct sl_diag *diag)
{
	size_t plen = strlen(KAFKA_HEADER_PREFIX), i;
	int n = 0;

	for (i = 0; i < props->n; i++) {
		struct sl_prop *p = &props->v[i];

		if (strncmp(p->key, KAFKA_HEADER_PREFIX, plen) != 0)
			continue;
		p->used = true;
		if (p->key[plen] == '\0' || p->val[0] == '\0') {
			if (diag)
				sl_diag_add(diag, SL_DIAG_ERROR, p->file,
					    p->line, "%s.%s: empty %s",
					    props->comp, p->key,
					    p->key[plen] ? "value" :
					    "header name");
			goto err;
		}
		if (n == KAFKA_MAX_HEADER_MAP) {
			if (diag)
				sl_diag_add(diag, SL_DIAG_ERROR, p->file,
					    p->line, "%s.%s: at most %d "
					    "header mappings (an event has at "
					    "most %d headers)", props->comp,
					    p->key, KAFKA_MAX_HEADER_MAP,
					    SL_EVENT_MAX_HEADERS);
			goto err;
		}
		map[n].flume = strdup(p->key + plen);
		map[n].kafka = strdup(p->val);
		n++;
		if (!map[n - 1].flume || !map[n - 1].kafka)
			goto err;
	}
	return n;
err:
	kafka_conf_header_map_free(map, n);
	return -EINVAL;
}

void
kafka_conf_header_map_free(struct kafka_header_map *map, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(map[i].flume);
		free(map[i].kafka);
		map[i].flume = map[i].kafka = NULL;
	}
}

/* ---- Avro: AvroFlumeEvent {headers: map<string,string>, body: bytes} -- */

/* Avro long: zig-zag then base-128 varint. */
static size_t
avro_long(uint8_t *out, int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;

	while (z >= 0x80) {
		out[n++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	out[n++] = (uint8_t)z;
	return n;
}

size_t
kafka_avro_size(const struct sl_event *ev)
{
	size_t n = 10 + 10 + 10 + ev->body_len;
	unsigned i;

	for (i = 0; i < ev->nb_headers; i++)
		n += 10 + ev->hdrs[i].key_len + 10 + ev->hdrs[i].val_len;
	return n;
}

size_t
kafka_avro_encode(const struct sl_event *ev, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned i;

	if (size < kafka_avro_size(ev))
		return 0;
	/* One map block holding every header, then the 0 end marker. */
	if (ev->nb_headers) {
		n += avro_long(out + n, ev->nb_headers);
		for (i = 0; i < ev->nb_headers; i++) {
			const struct sl_header *h = &ev->hdrs[i];

			n += avro_long(out + n, h->key_len);
			memcpy(out + n, h->key, h->key_len);
			n += h->key_len;
			n += avro_long(out + n, h->val_len);
			memcpy(out + n, h->val, h->val_len);
			n += h->val_len;
		}
	}
	n += avro_long(out + n, 0);
	n += avro_long(out + n, ev->body_len);
	memcpy(out + n, ev->body, ev->body_len);
	return n + ev->body_len;
}

/* ---- dead-letter records ---------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
base64(const uint8_t *p, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

char *
kafka_dlq_record(const char *sink, const char *topic, int32_t partition,
		 rd_kafka_resp_err_t err, const struct sl_event *ev,
		 uint64_t now_ms, size_t *len)
{
	json_t *rec = json_object(), *hdrs = json_object();
	json_t *binhdrs = json_array();
	char *body = base64(ev->body, ev->body_len), *line = NULL, *out;
	unsigned i;

	if (!rec || !hdrs || !body)
		goto out;
	for (i = 0; i < ev->nb_headers; i++) {
		json_t *v = json_stringn(ev->hdrs[i].val, ev->hdrs[i].val_len);
		char *k64;

		/* Not UTF-8 (key or value): keep it, base64, marked so. */
		if (v && json_object_set_new(hdrs, ev->hdrs[i].key, v) == 0)
			continue;
		k64 = base64((const uint8_t *)ev->hdrs[i].key,
			     ev->hdrs[i].key_len);
		v = json_string(k64 ? k64 : "");
		free(k64);
		k64 = base64((const uint8_t *)ev->hdrs[i].val,
			     ev->hdrs[i].val_len);
		json_object_set_new(rec, "has_binary_headers", json_true());
		json_array_append_new(binhdrs, json_pack("{s:o, s:s}",
			"key_base64", v, "val_base64", k64 ? k64 : ""));
		free(k64);
	}
	json_object_set_new(rec, "time_ms", json_integer((json_int_t)now_ms));
	json_object_set_new(rec, "sink", json_string(sink));
	json_object_set_new(rec, "topic", json_string(topic ? topic : ""));
	json_object_set_new(rec, "partition", json_integer(partition));
	json_object_set_new(rec, "error", json_string(rd_kafka_err2name(err)));
	json_object_set_new(rec, "reason", json_string(rd_kafka_err2str(err)));
	json_object_set(rec, "headers", hdrs);
	if (json_array_size(binhdrs))
		json_object_set(rec, "binary_headers", binhdrs);
	json_object_set_new(rec, "body_base64", json_string(body));
	line = json_dumps(rec, JSON_COMPACT);
	if (!line)
		goto out;
	*len = strlen(line) + 1;
	out = realloc(line, *len + 1);
	if (!out) {
		free(line);
		line = NULL;
		goto out;
	}
	line = out;
	line[*len - 1] = '\n';
	line[*len] = '\0';
out:
	free(body);
	json_decref(binhdrs);
	json_decref(hdrs);
	json_decref(rec);
	return line;
}

/* Normalise Flume's acks spellings to what librdkafka and we compare. */
static const char *
kafka_acks_norm(const char *acks)
{
	if (strcmp(acks, "-1") == 0 || strcasecmp(acks, "all") == 0)
		return "all";
	return acks;
}

bool
kafka_idempotent(const struct sl_props *props)
{
	const struct sl_prop *p = NULL;
	bool v = false;
	size_t i;

	for (i = 0; i < props->n; i++)
		if (strcmp(props->v[i].key, KAFKA_PRODUCER_PREFIX
			   "enable.idempotence") == 0)
			p = &props->v[i];
	return p && sl_parse_bool(p->val, &v) == 0 && v;
}

static bool
kafka_acks_set(const struct sl_props *props)
{
	size_t i;

	for (i = 0; i < props->n; i++)
		if (strcmp(props->v[i].key, "kafka.producer.acks") == 0 ||
		    strcmp(props->v[i].key, "requiredAcks") == 0)
			return true;
	return false;
}

const char *
kafka_effective_acks(const struct kafka_settings *set,
		     const struct sl_props *props)
{
	if (kafka_idempotent(props) && !kafka_acks_set(props))
		return "all";
	return kafka_acks_norm(set->acks);
}

rd_kafka_conf_t *
kafka_conf_build(const struct kafka_settings *set,
		 const struct sl_props *props, struct sl_diag *diag,
		 int *nb_errors)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	bool ordered = set->order_per_partition || kafka_idempotent(props);
	char errstr[256], num[32];

	*nb_errors = kafka_conf_apply_producer(conf, props,
		kafka_effective_acks(set, props), diag);
	/* Java's default partitioner places keys with murmur2. */
	if (!kafka_conf_user_set(props, "partitioner"))
		rd_kafka_conf_set(conf, "partitioner", "murmur2_random",
				  errstr, sizeof(errstr));
	if (!kafka_conf_user_set(props, "statistics.interval.ms"))
		rd_kafka_conf_set(conf, "statistics.interval.ms", "5000",
				  errstr, sizeof(errstr));
	/*
	 * Design note: the ordered modes let librdkafka retry for ever
	 * (it retries in order) instead of surfacing a timeout the sink
	 * would retry behind later batches; a dead cluster is then
	 * backpressure. The pipelined default keeps Java's 120 s.
	 */
	if (!kafka_conf_user_set(props, "message.timeout.ms"))
		rd_kafka_conf_set(conf, "message.timeout.ms",
				  ordered ? "0" : "120000", errstr,
				  sizeof(errstr));
	/*
	 * Bodies reach librdkafka without a copy: they stay in the channel
	 * until their delivery reports. Past this size librdkafka also
	 * sends them from there (an iovec each) instead of copying each
	 * into its request buffer: one copy of every body fewer, a tenth
	 * of the agent's CPU at 1 KiB. Smaller bodies are cheaper copied.
	 */
	if (!kafka_conf_user_set(props, "message.copy.max.bytes"))
		rd_kafka_conf_set(conf, "message.copy.max.bytes",
				  KAFKA_COPY_MAX_BYTES, errstr,
				  sizeof(errstr));
	if (set->order_per_partition) {
		if (!kafka_conf_user_set(props,
					 "max.in.flight.requests.per.connection"))
			rd_kafka_conf_set(conf,
				"max.in.flight.requests.per.connection", "1",
				errstr, sizeof(errstr));
		snprintf(num, sizeof(num), "%" PRId64,
			 SL_MAX(set->batch, (int64_t)10000));
		if (!kafka_conf_user_set(props, "batch.num.messages"))
			rd_kafka_conf_set(conf, "batch.num.messages", num,
					  errstr, sizeof(errstr));
	}
	return conf;
}
