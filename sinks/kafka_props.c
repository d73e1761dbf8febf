/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Java Kafka client property names -> librdkafka's: the one table the
 * Kafka sink, producer-perf / consumer-perf and `sluice consume` share,
 * and the tools' Java .properties loader and option reader. librdkafka
 * already accepts most Java names as aliases (acks, linger.ms, batch.size,
 * ...); the table lists only those that differ.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_kafka.h"
#include "sl_props.h"

struct kafka_prop_map {
	const char *java;
	enum sl_kafka_prop_kind kind;
	const char *rd;		/* RENAME/KBYTES: librdkafka name; else why */
};

static const char serializer_why[] = "sluice sends keys and values as "
	"bytes, as ByteArraySerializer does";

static const struct kafka_prop_map kafka_prop_table[] = {
	{ "delivery.timeout.ms", SL_KAFKA_PROP_RENAME, "message.timeout.ms" },
	{ "max.request.size", SL_KAFKA_PROP_RENAME, "message.max.bytes" },
	{ "buffer.memory", SL_KAFKA_PROP_KBYTES,
	  "queue.buffering.max.kbytes" },
	{ "send.buffer.bytes", SL_KAFKA_PROP_RENAME,
	  "socket.send.buffer.bytes" },
	{ "receive.buffer.bytes", SL_KAFKA_PROP_RENAME,
	  "socket.receive.buffer.bytes" },
	{ "fetch.max.wait.ms", SL_KAFKA_PROP_RENAME, "fetch.wait.max.ms" },
	{ "sasl.mechanism", SL_KAFKA_PROP_RENAME, "sasl.mechanisms" },
	{ "key.serializer", SL_KAFKA_PROP_IGNORE, serializer_why },
	{ "value.serializer", SL_KAFKA_PROP_IGNORE, serializer_why },
	{ "key.deserializer", SL_KAFKA_PROP_IGNORE, serializer_why },
	{ "value.deserializer", SL_KAFKA_PROP_IGNORE, serializer_why },
	{ "max.block.ms", SL_KAFKA_PROP_IGNORE,
	  "librdkafka never blocks in produce(): a full producer queue is "
	  "backpressure (the sink's channel, the tools' wait for room)" },
	{ "metric.reporters", SL_KAFKA_PROP_IGNORE,
	  "Java classes cannot be loaded; use `sluice ctl stats` (the sink's "
	  "stats hold librdkafka's statistics)" },
	{ "partitioner.class", SL_KAFKA_PROP_UNSUPPORTED,
	  "Java classes cannot be loaded; partitioner takes librdkafka's "
	  "partitioners (murmur2_random, sluice's default, places keys as "
	  "Java's default partitioner does)" },
	{ "interceptor.classes", SL_KAFKA_PROP_UNSUPPORTED,
	  "Java classes cannot be loaded" },
	{ "max.poll.records", SL_KAFKA_PROP_UNSUPPORTED,
	  "librdkafka returns one message per poll" },
	{ "sasl.jaas.config", SL_KAFKA_PROP_UNSUPPORTED,
	  "use sasl.username / sasl.password (librdkafka names)" },
	{ "ssl.truststore.location", SL_KAFKA_PROP_UNSUPPORTED,
	  "use ssl.ca.location (a PEM file)" },
	{ "ssl.keystore.location", SL_KAFKA_PROP_UNSUPPORTED,
	  "use ssl.certificate.location and ssl.key.location (PEM files)" },
};

/* Java assignor class names -> librdkafka's strategy names. */
static const char *const kafka_assignors[][2] = {
	{ "org.apache.kafka.clients.consumer.RangeAssignor", "range" },
	{ "org.apache.kafka.clients.consumer.RoundRobinAssignor",
	  "roundrobin" },
	{ "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
	  "cooperative-sticky" },
};

static const struct kafka_prop_map *
kafka_prop_lookup(const char *key)
{
	size_t i;

	for (i = 0; i < SL_ARRAY_SIZE(kafka_prop_table); i++)
		if (strcmp(kafka_prop_table[i].java, key) == 0)
			return &kafka_prop_table[i];
	return NULL;
}

int
sl_kafka_prop_translate(const char *key, const char *val, char *rd_key,
			char *rd_val, size_t len)
{
	const struct kafka_prop_map *m = kafka_prop_lookup(key);
	int64_t bytes;
	size_t i;

	if (!m) {
		snprintf(rd_key, len, "%s", key);
		snprintf(rd_val, len, "%s", val);
		if (strcmp(key, "partition.assignment.strategy") == 0)
			for (i = 0; i < SL_ARRAY_SIZE(kafka_assignors); i++)
				if (strcmp(val, kafka_assignors[i][0]) == 0)
					snprintf(rd_val, len, "%s",
						 kafka_assignors[i][1]);
		return SL_KAFKA_PROP_SAME;
	}
	switch (m->kind) {
	case SL_KAFKA_PROP_RENAME:
		snprintf(rd_key, len, "%s", m->rd);
		snprintf(rd_val, len, "%s", val);
		break;
	case SL_KAFKA_PROP_KBYTES:
		if (sl_parse_int(val, 1, INT64_MAX, &bytes) < 0) {
			snprintf(rd_val, len, "Invalid value \"%s\" for "
				 "configuration property \"%s\": expected a "
				 "number of bytes", val, key);
			return -EINVAL;
		}
		snprintf(rd_key, len, "%s", m->rd);
		snprintf(rd_val, len, "%lld",
			 (long long)SL_MAX(bytes / 1024, (int64_t)1));
		break;
	default:
		snprintf(rd_key, len, "%s", key);
		snprintf(rd_val, len, "%s", m->rd);
		break;
	}
	return m->kind;
}

int
sl_kafka_prop_set(rd_kafka_conf_t *conf, const char *key, const char *val,
		  char *errstr, size_t errlen)
{
	char rd_key[512], rd_val[512];
	int kind;

	kind = sl_kafka_prop_translate(key, val, rd_key, rd_val,
				       sizeof(rd_val));
	if (kind < 0) {
		snprintf(errstr, errlen, "%s", rd_val);
		return kind;
	}
	if (kind == SL_KAFKA_PROP_IGNORE ||
	    kind == SL_KAFKA_PROP_UNSUPPORTED) {
		fprintf(stderr, "WARN ignoring %s=%s: %s\n", key, val,
			rd_val);
		return 0;
	}
	if (rd_kafka_conf_set(conf, rd_key, rd_val, errstr, errlen) !=
	    RD_KAFKA_CONF_OK)
		return -EINVAL;
	return 0;
}

int
sl_kafka_prop_set_arg(rd_kafka_conf_t *conf, const char *arg, char *errstr,
		      size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char key[256];

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key) ||
	    strchr(eq + 1, '=')) {
		snprintf(errstr, errlen, "Invalid property: %s", arg);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	return sl_kafka_prop_set(conf, key, eq + 1, errstr, errlen);
}

/* java.util.Properties escapes: \t \n \r \f, \uXXXX (ASCII only), \x = x. */
static void
kafka_props_unescape(char *s)
{
	char *w = s;
	unsigned int u;

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*w++ = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 't': *w++ = '\t'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 'f': *w++ = '\f'; break;
		case 'u':
			if (sscanf(s + 1, "%4x", &u) == 1 && u < 0x80) {
				*w++ = (char)u;
				s += 4;
				break;
			}
			*w++ = 'u';
			break;
		default: *w++ = *s; break;
		}
	}
	*w = '\0';
}

static char *
kafka_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\f')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\f' ||
			 e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Index of the first unescaped '=' / ':' (or blank) ending the key. */
static size_t
kafka_props_key_end(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1]) {
			i++;
			continue;
		}
		if (s[i] == '=' || s[i] == ':' || s[i] == ' ' || s[i] == '\t')
			break;
	}
	return i;
}

int
sl_kafka_props_load(rd_kafka_conf_t *conf, const char *path, char *errstr,
		    size_t errlen)
{
	char *line = NULL, *logical = NULL, *p, *key, *val;
	size_t cap = 0, llen = 0, n, k;
	int lineno = 0, start_line = 0, rc = 0;
	char msg[512];
	ssize_t got;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while ((got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		p = kafka_trim(line);
		if (!logical) {
			if (*p == '\0' || *p == '#' || *p == '!')
				continue;
			start_line = lineno;
		}
		n = strlen(p);
		/* an odd number of trailing backslashes continues the line */
		k = 0;
		while (k < n && p[n - 1 - k] == '\\')
			k++;
		p = strdup(p);
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		if (k % 2)
			p[--n] = '\0';
		key = realloc(logical, llen + n + 1);
		if (!key) {
			free(p);
			rc = -ENOMEM;
			goto out;
		}
		logical = key;
		memcpy(logical + llen, p, n + 1);
		llen += n;
		free(p);
		if (k % 2)
			continue;

		key = logical;
		k = kafka_props_key_end(key);
		val = key + k;
		if (*val) {
			*val++ = '\0';
			val = kafka_trim(val);
			if (*val == '=' || *val == ':')
				val = kafka_trim(val + 1);
		}
		kafka_props_unescape(key);
		kafka_props_unescape(val);
		if (sl_kafka_prop_set(conf, key, val, msg, sizeof(msg)) < 0) {
			snprintf(errstr, errlen, "%s:%d: %s", path,
				 start_line, msg);
			rc = -EINVAL;
			goto out;
		}
		free(logical);
		logical = NULL;
		llen = 0;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(errstr, errlen, "%s: read error", path);
	}
out:
	free(logical);
	free(line);
	fclose(f);
	return rc;
}

const char *
sl_kafka_arg_value(int argc, char **argv, int *i, const char *name,
		   bool *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		if (missing)
			*missing = true;
		return "";
	}
	return argv[++*i];
}
