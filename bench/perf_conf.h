/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka client properties for the perf tools: Java client names (as users
 * pass them to kafka-producer-perf-test.sh) translated to librdkafka's, and
 * Java .properties files loaded through the same translation. Main thread
 * of producer-perf / consumer-perf only.
 */
#ifndef SL_PERF_CONF_H
#define SL_PERF_CONF_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* What the Java name becomes in librdkafka. */
enum sl_perf_prop_kind {
	SL_PERF_PROP_SAME,	/* librdkafka takes the name as is */
	SL_PERF_PROP_RENAME,	/* another name, same value */
	SL_PERF_PROP_KBYTES,	/* another name, value bytes -> kbytes */
	SL_PERF_PROP_IGNORE,	/* meaningless here (serializers): dropped */
	SL_PERF_PROP_UNSUPPORTED, /* no librdkafka equivalent: warned, dropped */
};

/*
 * Translate one Java client property. @rd_key / @rd_val (each @len bytes)
 * receive the librdkafka name and value when the kind is SAME, RENAME or
 * KBYTES. Names not in the table are SAME: librdkafka judges them.
 * Returns the kind, or -EINVAL for a KBYTES value that is not a number
 * (message in @rd_val).
 * Context: any.
 */
int sl_perf_prop_translate(const char *key, const char *val, char *rd_key,
			   char *rd_val, size_t len);

/*
 * Translate and set @key=@val on @conf. On a bad name or value returns
 * -EINVAL with librdkafka's own message in @errstr ("No such configuration
 * property: ..."); 0 otherwise (unsupported names print one warning line
 * on stderr).
 * Context: main thread.
 */
int sl_perf_prop_set(rd_kafka_conf_t *conf, const char *key, const char *val,
		     char *errstr, size_t errlen);

/*
 * Set one "key=value" argument (--producer-props style). A missing '=' or
 * an empty key is -EINVAL ("Invalid property: ARG").
 * Context: main thread.
 */
int sl_perf_prop_set_arg(rd_kafka_conf_t *conf, const char *arg,
			 char *errstr, size_t errlen);

/*
 * Load a Java .properties file (key=value or key: value, '#'/'!' comments,
 * trailing-backslash continuation) through sl_perf_prop_set(). Errors read
 * "FILE:LINE: ..." in @errstr and return -EINVAL, or -errno when the file
 * cannot be read.
 * Context: main thread.
 */
int sl_perf_props_load(rd_kafka_conf_t *conf, const char *path,
		       char *errstr, size_t errlen);

#endif /* SL_PERF_CONF_H */
