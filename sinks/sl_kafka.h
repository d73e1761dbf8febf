/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Java Kafka client property names -> librdkafka's, shared by the Kafka
 * sink (kafka.producer.*), the perf tools and `sluice consume`: one table
 * of the names librdkafka spells differently or cannot honour, a Java
 * .properties loader that sets what it reads through that table, and the
 * tools' "--name value" option reader.
 * Context: any thread for translation; the loaders are the caller's own.
 */
#ifndef SL_KAFKA_H
#define SL_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

/* What a Java client property becomes in librdkafka. */
enum sl_kafka_prop_kind {
	SL_KAFKA_PROP_SAME,	/* librdkafka takes the name as is */
	SL_KAFKA_PROP_RENAME,	/* another name, same value */
	SL_KAFKA_PROP_KBYTES,	/* another name, value bytes -> KiB */
	SL_KAFKA_PROP_IGNORE,	/* meaningless here: dropped with a warning */
	SL_KAFKA_PROP_UNSUPPORTED, /* no librdkafka equivalent */
};

/*
 * Translate one Java client property. @rd_key / @rd_val (each @len bytes)
 * receive the librdkafka name and value when the kind is SAME, RENAME or
 * KBYTES; for IGNORE and UNSUPPORTED @rd_val receives the reason. Names
 * not in the table are SAME (librdkafka judges them); Java assignor class
 * names of partition.assignment.strategy become librdkafka's. Returns the
 * kind, or -EINVAL for a KBYTES value that is not a number of bytes
 * (message in @rd_val).
 */
int sl_kafka_prop_translate(const char *key, const char *val, char *rd_key,
			    char *rd_val, size_t len);

/*
 * The tools' policy: translate and set @key=@val on @conf; IGNORE and
 * UNSUPPORTED names print one "WARN ignoring ..." line on stderr and are
 * dropped. On a bad name or value returns -EINVAL with librdkafka's own
 * message in @errstr ("No such configuration property: ..."); else 0.
 */
int sl_kafka_prop_set(rd_kafka_conf_t *conf, const char *key, const char *val,
		      char *errstr, size_t errlen);

/*
 * Set one "key=value" argument (--producer-props style) through
 * sl_kafka_prop_set(). A missing '=', an empty key or a second '=' is
 * -EINVAL ("Invalid property: ARG").
 */
int sl_kafka_prop_set_arg(rd_kafka_conf_t *conf, const char *arg,
			  char *errstr, size_t errlen);

/*
 * Load a Java .properties file (key=value, key: value or key value;
 * '#'/'!' comments, trailing-backslash continuation, \t \n \uXXXX escapes)
 * through sl_kafka_prop_set(). Errors read "FILE:LINE: ..." in @errstr and
 * return -EINVAL, or -errno when the file cannot be read.
 */
int sl_kafka_props_load(rd_kafka_conf_t *conf, const char *path,
			char *errstr, size_t errlen);

/*
 * The Kafka tools' command line (producer-perf, consumer-perf, sluice
 * consume): the value of option @name at argv[*i], given as "--name value"
 * (*i moves past the value) or "--name=value"; NULL when argv[*i] is
 * another option. A "--name" that ends argv gives "" and sets *@missing
 * (@missing may be NULL).
 */
const char *sl_kafka_arg_value(int argc, char **argv, int *i,
			       const char *name, bool *missing);

#endif /* SL_KAFKA_H */
