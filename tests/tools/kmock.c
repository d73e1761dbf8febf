/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only stand-in for `sluice kafka-mock` (same options, same first
 * stdout line: the bootstrap list) until that command lands: librdkafka's
 * mock cluster in the foreground until SIGTERM/SIGINT. Main thread only.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_conf_t *conf;
	char errstr[256], *colon;
	int i, nb_brokers = 1;
	rd_kafka_t *rk;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
			nb_brokers = atoi(argv[++i]);
	if (nb_brokers < 1) {
		fprintf(stderr, "kmock: --brokers must be >= 1\n");
		return 2;
	}
	conf = rd_kafka_conf_new();
	/* no bootstrap.servers here: silence that notice */
	rd_kafka_conf_set(conf, "log_level", "4", NULL, 0);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kmock: %s\n", errstr);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, nb_brokers);
	if (!mc) {
		fprintf(stderr, "kmock: cannot create the mock cluster\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--topic") != 0 || i + 1 >= argc)
			continue;
		colon = strchr(argv[++i], ':');
		if (colon)
			*colon = '\0';
		rd_kafka_mock_topic_create(mc, argv[i],
					   colon ? atoi(colon + 1) : 1,
					   nb_brokers < 3 ? nb_brokers : 3);
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!stop)
		pause();
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
