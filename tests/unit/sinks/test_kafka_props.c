/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared Java -> librdkafka property translation (sink, perf tools,
 * `sluice consume`): names librdkafka takes as they are, renamed ones,
 * buffer.memory in kbytes, ignored serializers, librdkafka's own message
 * for unknown names and bad values, "Invalid property" for a missing '=',
 * and .properties files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sl_kafka.h"

static char errstr[512];

static const char *
conf_get(rd_kafka_conf_t *conf, const char *name)
{
	static char buf[256];
	size_t len = sizeof(buf);

	cr_assert_eq(rd_kafka_conf_get(conf, name, buf, &len),
		     RD_KAFKA_CONF_OK, "conf_get %s", name);
	return buf;
}

Test(kafka_props, java_names_librdkafka_knows_pass_through)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char k[128], v[128];

	cr_assert_eq(sl_kafka_prop_translate("linger.ms", "7", k, v,
					    sizeof(k)), SL_KAFKA_PROP_SAME);
	cr_assert_str_eq(k, "linger.ms");
	cr_assert_str_eq(v, "7");
	cr_assert_eq(sl_kafka_prop_set(conf, "acks", "all", errstr,
				      sizeof(errstr)), 0);
	cr_assert_eq(sl_kafka_prop_set(conf, "linger.ms", "7", errstr,
				      sizeof(errstr)), 0);
	cr_assert_eq(sl_kafka_prop_set(conf, "batch.size", "65536", errstr,
				      sizeof(errstr)), 0);
	cr_assert_eq(sl_kafka_prop_set(conf, "bootstrap.servers", "h:1",
				      errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "queue.buffering.max.ms"), "7");
	cr_assert_str_eq(conf_get(conf, "batch.size"), "65536");
	cr_assert_str_eq(conf_get(conf, "bootstrap.servers"), "h:1");
	rd_kafka_conf_destroy(conf);
}

Test(kafka_props, renamed_java_names_reach_librdkafka_names)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	cr_assert_eq(sl_kafka_prop_set(conf, "buffer.memory", "33554432",
				      errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "queue.buffering.max.kbytes"),
			 "32768");
	cr_assert_eq(sl_kafka_prop_set(conf, "max.request.size", "2000000",
				      errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "message.max.bytes"), "2000000");
	cr_assert_eq(sl_kafka_prop_set(conf, "send.buffer.bytes", "131072",
				      errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "socket.send.buffer.bytes"),
			 "131072");
	cr_assert_eq(sl_kafka_prop_set(conf, "fetch.max.wait.ms", "250",
				      errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "fetch.wait.max.ms"), "250");
	cr_assert_eq(sl_kafka_prop_set(conf, "partition.assignment.strategy",
		"org.apache.kafka.clients.consumer.RoundRobinAssignor",
		errstr, sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "partition.assignment.strategy"),
			 "roundrobin");
	rd_kafka_conf_destroy(conf);
}

Test(kafka_props, serializers_are_ignored_and_unknown_names_fail)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	cr_assert_eq(sl_kafka_prop_set(conf, "key.serializer",
		"org.apache.kafka.common.serialization.ByteArraySerializer",
		errstr, sizeof(errstr)), 0);
	cr_assert_eq(sl_kafka_prop_set(conf, "no.such.thing", "1", errstr,
				      sizeof(errstr)), -EINVAL);
	cr_assert_str_eq(errstr,
			 "No such configuration property: \"no.such.thing\"");
	cr_assert_eq(sl_kafka_prop_set(conf, "acks", "sometimes", errstr,
				      sizeof(errstr)), -EINVAL);
	cr_assert(strstr(errstr, "Invalid value for configuration property "
			  "\"request.required.acks\""),
		  "librdkafka's own message: %s", errstr);
	cr_assert_eq(sl_kafka_prop_set(conf, "buffer.memory", "lots", errstr,
				      sizeof(errstr)), -EINVAL);
	cr_assert(strstr(errstr, "\"lots\"") && strstr(errstr,
		  "buffer.memory"), "%s", errstr);
	rd_kafka_conf_destroy(conf);
}

Test(kafka_props, prop_args_need_exactly_one_equals_sign)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	cr_assert_eq(sl_kafka_prop_set_arg(conf, "acks", errstr,
					  sizeof(errstr)), -EINVAL);
	cr_assert_str_eq(errstr, "Invalid property: acks");
	cr_assert_eq(sl_kafka_prop_set_arg(conf, "=1", errstr,
					  sizeof(errstr)), -EINVAL);
	cr_assert_eq(sl_kafka_prop_set_arg(conf, "a=b=c", errstr,
					  sizeof(errstr)), -EINVAL);
	cr_assert_str_eq(errstr, "Invalid property: a=b=c");
	cr_assert_eq(sl_kafka_prop_set_arg(conf, "linger.ms=3", errstr,
					  sizeof(errstr)), 0);
	cr_assert_str_eq(conf_get(conf, "linger.ms"), "3");
	rd_kafka_conf_destroy(conf);
}

static char *
write_tmp(const char *text)
{
	static char path[] = "/tmp/test_kafka_props.XXXXXX";
	int fd;

	strcpy(path, "/tmp/test_kafka_props.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(kafka_props, properties_file_comments_separators_continuations)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char *path = write_tmp("# producer.properties\n"
			       "! old-style comment\n"
			       "\n"
			       "bootstrap.servers = a:1,\\\n"
			       "    b:2\n"
			       "linger.ms: 12\n"
			       "client.id tab\\tid\n"
			       "buffer.memory=1048576\n");

	cr_assert_eq(sl_kafka_props_load(conf, path, errstr, sizeof(errstr)),
		     0, "%s", errstr);
	cr_assert_str_eq(conf_get(conf, "bootstrap.servers"), "a:1,b:2");
	cr_assert_str_eq(conf_get(conf, "linger.ms"), "12");
	cr_assert_str_eq(conf_get(conf, "client.id"), "tab\tid");
	cr_assert_str_eq(conf_get(conf, "queue.buffering.max.kbytes"),
			 "1024");
	unlink(path);
	rd_kafka_conf_destroy(conf);
}

Test(kafka_props, properties_file_error_names_file_and_line)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char *path = write_tmp("acks=1\n# fine\nbogus.key=3\n");
	char want[600];

	cr_assert_eq(sl_kafka_props_load(conf, path, errstr, sizeof(errstr)),
		     -EINVAL);
	snprintf(want, sizeof(want), "%s:3: No such configuration property: "
		 "\"bogus.key\"", path);
	cr_assert_str_eq(errstr, want);
	unlink(path);
	cr_assert_eq(sl_kafka_props_load(conf, path, errstr, sizeof(errstr)),
		     -ENOENT);
	cr_assert(strstr(errstr, path), "%s", errstr);
	rd_kafka_conf_destroy(conf);
}
