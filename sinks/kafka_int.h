/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sinks/-internal parts of the Kafka sink: its settings, the translation of
 * Flume's `kafka.producer.*` (Java client names) into librdkafka properties,
 * and the dead-letter record format. Control thread for the configuration
 * half; the sink's runner thread for the rest.
 */
#ifndef SL_KAFKA_INT_H
#define SL_KAFKA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "sl_event.h"
#include "sl_props.h"

#define KAFKA_PRODUCER_PREFIX	"kafka.producer."
#define KAFKA_HEADER_PREFIX	"header."
#define KAFKA_MAX_HEADER_MAP	SL_EVENT_MAX_HEADERS

/* Parsed by the key table (kafka_sink.c). */
struct kafka_settings {
	char *bootstrap;		/* kafka.bootstrap.servers */
	char *topic;			/* kafka.topic, may hold %{header} */
	int64_t batch;			/* flumeBatchSize */
	char *acks;			/* kafka.producer.acks */
	bool flume_format;		/* useFlumeEventFormat */
	int64_t default_partition;	/* defaultPartitionId, -1: none */
	char *partition_header;		/* partitionIdHeader */
	bool allow_topic_override;	/* allowTopicOverride */
	char *topic_header;		/* topicHeader */
	char *timestamp_header;		/* timestampHeader */
	int64_t max_inflight;		/* maxInflightTransactions, 0: auto */
	bool order_per_partition;	/* orderPerPartition */
	int64_t stall_timeout;		/* stallTimeout, seconds; 0: off */
	char *dlq_policy;		/* deadLetterPolicy */
	char *dlq_file;			/* deadLetterFile */
};

/*
 * Apply every `kafka.producer.*` property of @props (and `acks` from
 * @acks) to @conf, translating the Java client's names that librdkafka
 * spells differently and refusing the ones it cannot honour. Each problem
 * goes to @diag as "FILE:LINE: a1.sinks.k1.kafka.producer.X: ..." with
 * librdkafka's own message; properties seen are marked used. @diag may be
 * NULL (create() re-applies what validate() accepted). Returns the number
 * of errors. Control thread.
 */
int kafka_conf_apply_producer(rd_kafka_conf_t *conf,
			      const struct sl_props *props, const char *acks,
			      struct sl_diag *diag);

/*
 * True if the librdkafka property @name (after translation) was set by
 * the user in @props; used so sluice's own defaults never override them.
 */
bool kafka_conf_user_set(const struct sl_props *props, const char *name);

/* True when the user set kafka.producer.enable.idempotence = true. */
bool kafka_idempotent(const struct sl_props *props);

/* The acks the producer will use: idempotence without acks means all. */
const char *kafka_effective_acks(const struct kafka_settings *set,
				 const struct sl_props *props);

/* sluice's message.copy.max.bytes unless the user sets one. */
#define KAFKA_COPY_MAX_BYTES	"511"

/*
 * The librdkafka configuration of a sink: the user's kafka.producer.*
 * (kafka_conf_apply_producer), then sluice's defaults for what the user
 * left unset (partitioner, statistics interval, message timeout per
 * ordering mode, message.copy.max.bytes, the order-per-partition window).
 * Problems go to @diag (may be NULL), their number to *@nb_errors.
 * Control thread.
 */
rd_kafka_conf_t *kafka_conf_build(const struct kafka_settings *set,
				  const struct sl_props *props,
				  struct sl_diag *diag, int *nb_errors);

/* One header mapping: `header.<flume> = <kafka>`. */
struct kafka_header_map {
	char *flume;
	char *kafka;
};

/*
 * Collect the `header.*` properties of @props into @map (at most
 * KAFKA_MAX_HEADER_MAP); problems go to @diag (may be NULL). Returns the
 * number of mappings, or -EINVAL after a diag line.
 */
int kafka_conf_header_map(const struct sl_props *props,
			  struct kafka_header_map *map, struct sl_diag *diag);
void kafka_conf_header_map_free(struct kafka_header_map *map, int n);

/*
 * Avro binary encoding of Flume's AvroFlumeEvent {headers: map<string,
 * string>, body: bytes} (what useFlumeEventFormat = true writes), into
 * @out of @size bytes. Returns the length, or 0 when @size is too small
 * (kafka_avro_size() gives the size needed).
 */
size_t kafka_avro_size(const struct sl_event *ev);
size_t kafka_avro_encode(const struct sl_event *ev, uint8_t *out,
			 size_t size);

/*
 * Format one dead-letter record (a JSON object on one line, '\n'
 * included) for @ev that failed with @err on @topic into a malloc'ed
 * string. NULL when out of memory.
 */
char *kafka_dlq_record(const char *sink, const char *topic,
		       int32_t partition, rd_kafka_resp_err_t err,
		       const struct sl_event *ev, uint64_t now_ms,
		       size_t *len);

struct sl_sink;

/*
 * Tests only: make librdkafka raise a fatal error on the sink's producer
 * (the idempotent producer's kind), as a broker fencing it would.
 * 0 or -EINVAL (idempotence not enabled).
 */
int kafka_sink_test_fatal(struct sl_sink *sk);

#endif /* SL_KAFKA_INT_H */
