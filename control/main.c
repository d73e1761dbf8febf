/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice: the program. Dispatches the commands (agent, check, ctl, ...),
 * parses flume-ng's spellings of the agent options, loads the properties
 * files and runs the agent on the control (main) thread.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_control.h"
#include "sl_log.h"

#define MAX_CONF_FILES	16

struct agent_args {
	const char *files[MAX_CONF_FILES];
	size_t nb_files;
	const char *name;
	const char *conf_dir;
	const char *control_socket;
	uint64_t drain_timeout_ms;
	int kafka_mock;		/* --kafka-mock N: brokers, 0: none */
};

static struct sl_agent *running_agent;

static void
usage_main(FILE *out)
{
	fputs("usage: sluice COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  agent    run an agent from a Flume properties file\n"
	      "  check    validate a properties file and print the wired "
	      "graph\n"
	      "  ctl      talk to a running agent (stats, components, stop)\n"
	      "  consume  print a Kafka topic's records "
	      "(kafka-console-consumer)\n"
	      "  kafka-mock  run an embedded Kafka (librdkafka's mock "
	      "cluster)\n"
	      "  version  print the version\n"
	      "\n"
	      "`sluice COMMAND --help` describes a command's options.\n",
	      out);
}

static void
usage_agent(FILE *out, const char *cmd)
{
	fprintf(out,
		"usage: sluice %s --conf-file FILE --name AGENT [OPTIONS]\n"
		"\n"
		"  -f, --conf-file FILE     Flume properties file; repeat to "
		"layer files\n"
		"                           (later files override earlier "
		"keys)\n"
		"  -n, --name AGENT         the agent to run (the key prefix, "
		"e.g. agent1)\n"
		"  -c, --conf DIR           flume-ng's conf directory "
		"(accepted, unused)\n"
		"  -Dkey=value              flume.root.logger=LEVEL,console "
		"sets the log\n"
		"                           level; other keys are ignored\n"
		"      --no-reload-conf     accepted: sluice never reloads "
		"on its own\n",
		cmd);
	if (strcmp(cmd, "agent") == 0)
		fputs("      --control-socket PATH  the control socket "
		      "(default /run/sluice/AGENT.sock)\n"
		      "      --drain-timeout SECONDS  how long a graceful "
		      "stop drains (default 30)\n"
		      "      --kafka-mock N       start an embedded Kafka of N "
		      "brokers and point\n"
		      "                           every Kafka sink at it\n", out);
}

/* -Dflume.root.logger=INFO,console and friends. */
static int
agent_define(const char *def)
{
	const char *eq = strchr(def, '=');
	enum sl_log_level level;
	char lvl[32];

	if (!eq) {
		fprintf(stderr, "sluice: -D%s: expected -Dkey=value\n", def);
		return -EINVAL;
	}
	if (strncmp(def, "flume.root.logger=", 18) == 0) {
		size_t n = strcspn(eq + 1, ",");

		snprintf(lvl, sizeof(lvl), "%.*s", (int)n, eq + 1);
		if (sl_log_level_parse(lvl, &level) < 0) {
			fprintf(stderr, "sluice: -D%s: unknown log level "
				"'%s'\n", def, lvl);
			return -EINVAL;
		}
		sl_log_set_level(level);
		return 0;
	}
	sl_log(SL_DEBUG, "agent: ignoring -D%s", def);
	return 0;
}

/* Returns 0, 1 on a usage error (message printed), or 2 for --help. */
static int
agent_parse_args(int argc, char **argv, struct agent_args *a, bool is_agent)
{
	enum { OPT_SOCKET = 256, OPT_NO_RELOAD, OPT_DRAIN, OPT_KAFKA_MOCK };
	static const struct option opts[] = {
		{ "conf-file", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "conf", required_argument, NULL, 'c' },
		{ "control-socket", required_argument, NULL, OPT_SOCKET },
		{ "no-reload-conf", no_argument, NULL, OPT_NO_RELOAD },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
		{ "kafka-mock", required_argument, NULL, OPT_KAFKA_MOCK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t v;
	int c;

	a->drain_timeout_ms = 30000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:n:c:D:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (a->nb_files == MAX_CONF_FILES) {
				fprintf(stderr, "sluice: at most %d "
					"--conf-file\n", MAX_CONF_FILES);
				return 1;
			}
			a->files[a->nb_files++] = optarg;
			break;
		case 'n':
			a->name = optarg;
			break;
		case 'c':
			a->conf_dir = optarg;
			break;
		case 'D':
			if (agent_define(optarg) < 0)
				return 1;
			break;
		case OPT_SOCKET:
			if (!is_agent)
				goto bad;
			a->control_socket = optarg;
			break;
		case OPT_NO_RELOAD:
			break;
		case OPT_DRAIN:
			if (!is_agent || sl_parse_int(optarg, 0, 86400, &v)) {
				fprintf(stderr, "sluice: --drain-timeout: "
					"expected seconds, 0..86400\n");
				return 1;
			}
			a->drain_timeout_ms = (uint64_t)v * 1000;
			break;
		case OPT_KAFKA_MOCK:
			if (!is_agent || sl_parse_int(optarg, 1, 16, &v)) {
				fprintf(stderr, "sluice: --kafka-mock: "
					"expected brokers, 1..16\n");
				return 1;
			}
			a->kafka_mock = (int)v;
			break;
		case 'h':
			return 2;
		default:
			goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice: unexpected argument '%s'\n",
			argv[optind]);
		goto bad;
	}
	if (a->nb_files == 0 || !a->name) {
		fprintf(stderr, "sluice: --conf-file and --name are "
			"required\n");
		goto bad;
	}
	if (a->conf_dir)
		sl_log(SL_DEBUG, "agent: conf directory %s (unused)",
		       a->conf_dir);
	return 0;
bad:
	usage_agent(stderr, is_agent ? "agent" : "check");
	return 1;
}

/* Load the files and build the plan; prints every diag line. */
static int
load_plan(const struct agent_args *a, struct sl_conf *conf,
	  struct sl_plan *plan)
{
	struct sl_diag diag = { 0 };
	int nb_errors = 0;
	size_t i;

	for (i = 0; i < a->nb_files; i++)
		if (sl_conf_parse_file(conf, a->files[i], &diag) < 0)
			nb_errors++;
	if (nb_errors == 0 && diag.nb_errors == 0)
		nb_errors = sl_plan_build(conf, a->name, plan, &diag);
	for (i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.v[i].text);
	nb_errors += (int)diag.nb_errors;
	sl_diag_free(&diag);
	return nb_errors;
}

static int
cmd_check(int argc, char **argv)
{
	struct agent_args a = { 0 };
	struct sl_conf conf = { 0 };
	struct sl_plan plan = { 0 };
	int rc = agent_parse_args(argc, argv, &a, false);

	if (rc) {
		if (rc == 2)
			usage_agent(stdout, "check");
		return rc == 2 ? 0 : 2;
	}
	rc = load_plan(&a, &conf, &plan) ? 1 : 0;
	if (rc == 0)
		sl_plan_print(&plan, stdout);
	else
		fprintf(stderr, "sluice: %s: configuration has errors\n",
			a.name);
	sl_plan_free(&plan);
	sl_conf_free(&conf);
	return rc;
}

static void
on_stop_signal(int sig)
{
	(void)sig;
	if (running_agent)
		sl_agent_request_stop(running_agent);
}

static void
install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int
cmd_agent(int argc, char **argv)
{
	struct agent_args a = { 0 };
	struct sl_conf conf = { 0 };
	struct sl_plan plan = { 0 };
	struct sl_agent_opts opts = { 0 };
	struct sl_agent *ag = NULL;
	struct sl_kafka_mock *km = NULL;
	struct sl_err err = { 0 };
	int rc = agent_parse_args(argc, argv, &a, true);

	if (rc) {
		if (rc == 2)
			usage_agent(stdout, "agent");
		return rc == 2 ? 0 : 2;
	}
	sl_log(SL_INFO, "sluice %s: starting agent %s", SL_VERSION, a.name);
	if (load_plan(&a, &conf, &plan)) {
		sl_log(SL_ERROR, "agent %s: configuration has errors, not "
		       "starting", a.name);
		rc = 1;
		goto out;
	}
	if (a.kafka_mock) {
		km = sl_kafka_mock_start(a.kafka_mock, &err);
		if (!km || sl_kafka_mock_point_plan(km, &plan, &err) < 0) {
			sl_log(SL_ERROR, "%s", err.msg);
			rc = 1;
			goto out;
		}
		opts.kafka_bootstrap = sl_kafka_mock_bootstrap(km);
		printf("kafka bootstrap: %s\n", opts.kafka_bootstrap);
		fflush(stdout);
	}
	opts.control_socket = a.control_socket;
	opts.drain_timeout_ms = a.drain_timeout_ms;
	/* Signals must be routed before any thread starts. */
	install_signals();
	ag = sl_agent_create(&plan, &opts, &err);
	if (!ag || sl_agent_start(ag, &err) < 0) {
		sl_log(SL_ERROR, "%s", err.msg);
		rc = 1;
		goto out;
	}
	__atomic_store_n(&running_agent, ag, __ATOMIC_RELEASE);
	rc = sl_agent_run(ag) < 0 ? 1 : 0;
	__atomic_store_n(&running_agent, NULL, __ATOMIC_RELEASE);
out:
	sl_agent_destroy(ag);
	sl_kafka_mock_stop(km);
	sl_plan_free(&plan);
	sl_conf_free(&conf);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_main(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("sluice %s\n", SL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(cmd, "ctl") == 0)
		return sl_ctl_main(argc - 1, argv + 1);
	if (strcmp(cmd, "consume") == 0)
		return sl_consume_main(argc - 1, argv + 1);
	if (strcmp(cmd, "kafka-mock") == 0)
		return sl_kafka_mock_main(argc - 1, argv + 1);
	fprintf(stderr, "sluice: unknown command '%s'\n", cmd);
	usage_main(stderr);
	return 2;
}
