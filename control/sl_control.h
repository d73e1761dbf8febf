/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control/'s internal interfaces: the Flume properties loader, the component
 * registry, the wired plan that `check` prints and the agent builds, the
 * agent lifecycle and the control socket. Control thread unless noted.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "sl_channel.h"
#include "sl_dataplane.h"
#include "sl_props.h"
#include "sl_sink.h"
#include "sl_source.h"

/* ---- properties files (conf_parse.c) ---------------------------------- */

/* The raw key/value pairs of all files, later files overriding earlier. */
struct sl_conf {
	struct sl_prop *v;	/* in file order; overridden keys removed */
	size_t n, cap;
	char **files;		/* owned copies of the file names */
	size_t nb_files;
};

/*
 * Parse one properties file with java.util.Properties grammar and append its
 * pairs to @conf (a key seen again replaces the earlier value, keeping the
 * new file:line). `${env:VAR}` is substituted in values. Problems go to
 * @diag as "FILE:LINE: ...". Returns 0, or -errno when the file cannot be
 * read (also reported in @diag).
 */
int sl_conf_parse_file(struct sl_conf *conf, const char *path,
		       struct sl_diag *diag);
/* Same, from memory (tests); @name is used as FILE in messages. */
int sl_conf_parse_string(struct sl_conf *conf, const char *name,
			 const char *text, size_t len, struct sl_diag *diag);
void sl_conf_free(struct sl_conf *conf);

enum sl_comp_kind {
	SL_COMP_SOURCE,
	SL_COMP_CHANNEL,
	SL_COMP_SINK,
};

/* ---- registry (registry.c) -------------------------------------------- */

/*
 * One component type. The three ops tables share their leading fields
 * (type, aliases, keys, settings_size, validate); @ops points at the real
 * table. A type that is known but not built yet has ops == NULL and says
 * why in @unbuilt.
 */
struct sl_type {
	enum sl_comp_kind kind;
	const char *type;
	const char *const *aliases;
	const struct sl_key *keys;
	size_t settings_size;
	int (*validate)(const void *settings, const struct sl_props *props,
			struct sl_diag *diag);
	const void *ops;
	const char *unbuilt;
};

/* Type lookup: case-insensitive on the short name and on every alias. */
const struct sl_type *sl_registry_find(enum sl_comp_kind kind,
				       const char *type);
/* "logger, null, org.apache.flume.sink.kafka.KafkaSink" for messages. */
void sl_registry_known(enum sl_comp_kind kind, char *buf, size_t size);
const char *sl_comp_kind_name(enum sl_comp_kind kind);	/* "source"... */
const char *sl_comp_kind_upper(enum sl_comp_kind kind); /* "SOURCE"... */

/* ---- the wired plan (conf_build.c) ------------------------------------ */

struct sl_plan_comp {
	enum sl_comp_kind kind;
	char *name;			/* "r1" */
	const struct sl_type *type;	/* resolved */
	void *settings;			/* parsed by type->keys */
	struct sl_props props;		/* "a1.sources.r1." stripped */
	unsigned *chan_idx;		/* sources: channels; sinks: one */
	unsigned nb_chans;
};

struct sl_plan {
	char *agent;
	struct sl_plan_comp *comps;	/* channels first, then sinks, then
					 * sources: the order of building */
	size_t nb_comps;
	struct sl_props agent_props;	/* other a1.* keys (dataplane...) */
	struct sl_dp_conf *dp;		/* the dataplane section, or NULL */
};

/*
 * Validate the agent named @agent in @conf and resolve it into @plan: types
 * looked up, keys parsed, wiring checked. Every problem becomes one diag
 * line; unknown keys are warnings. Returns the number of errors (0 = the
 * agent may start).
 */
int sl_plan_build(const struct sl_conf *conf, const char *agent,
		  struct sl_plan *plan, struct sl_diag *diag);
void sl_plan_free(struct sl_plan *plan);
/* What `sluice check` prints: sources -> channels -> sinks, settings. */
void sl_plan_print(const struct sl_plan *plan, FILE *out);

/* ---- the DPDK dataplane (dataplane.c) ----------------------------------- */

/* Parse the plan's dataplane.* keys into plan->dp and check the sources'
 * binds against its ports; returns the number of errors added. */
int sl_plan_dataplane_check(struct sl_plan *plan, struct sl_diag *diag);
/* Whether source @pc runs on the dataplane (its bind is a port address). */
bool sl_plan_source_on_dataplane(const struct sl_plan *plan,
				 const struct sl_plan_comp *pc);

/* ---- the agent (agent.c) ---------------------------------------------- */

struct sl_agent_opts {
	const char *control_socket;	/* NULL: the default path */
	uint64_t drain_timeout_ms;	/* graceful stop bound */
	const char *kafka_bootstrap;	/* set by --kafka-mock */
};

struct sl_agent_comp {
	enum sl_comp_kind kind;
	const char *name;
	const char *type;
	union {
		struct sl_channel *ch;
		struct sl_source *src;
		struct sl_sink *sk;
	};
};

struct sl_agent;

struct sl_agent *sl_agent_create(const struct sl_plan *plan,
				 const struct sl_agent_opts *opts,
				 struct sl_err *err);
/* Start channels, sinks (runner threads), then sources. 0 or -errno. */
int sl_agent_start(struct sl_agent *ag, struct sl_err *err);
/*
 * Graceful stop: stop sources, let sinks drain the channels until empty or
 * the drain timeout, stop sinks. Any thread may request it; the wait
 * happens in sl_agent_run().
 */
void sl_agent_request_stop(struct sl_agent *ag);
/* Serve the control socket until a stop is requested, then stop. */
int sl_agent_run(struct sl_agent *ag);
void sl_agent_destroy(struct sl_agent *ag);

const char *sl_agent_name(const struct sl_agent *ag);
size_t sl_agent_nb_comps(const struct sl_agent *ag);
const struct sl_agent_comp *sl_agent_comp(const struct sl_agent *ag,
					  size_t i);
/* Extra key/value lines shown under "# agent" (kafka bootstrap...). */
const char *sl_agent_info(const struct sl_agent *ag, const char *key);
/* The @i-th extra key and its value in *@val; NULL past the end. */
const char *sl_agent_info_at(const struct sl_agent *ag, size_t i,
			     const char **val);
/* The control socket path the agent serves ("" before it starts). */
const char *sl_agent_ctl_path(const struct sl_agent *ag);
uint64_t sl_agent_uptime_ms(const struct sl_agent *ag);
/* The agent's DPDK dataplane, or NULL when it runs on kernel sockets. */
const struct sl_dataplane *sl_agent_dataplane(const struct sl_agent *ag);

/* ---- stats as JSON (ctl_server.c) ------------------------------------- */

/*
 * Flume's monitoring shape: {"SOURCE.r1": {"Type": "SOURCE",
 * "EventReceivedCount": "10", ...}, "CHANNEL.c1": {...}, ...}; values are
 * strings as in Flume's JSON reporting. sluice's own counters go under the
 * same object in a nested "sluice" object.
 */
json_t *sl_agent_stats_json(const struct sl_agent *ag);

/* ---- control socket (ctl_server.c, ctl_client.c) ---------------------- */

/* Default socket path for @agent: /run/sluice/AGENT.sock, else
 * $XDG_RUNTIME_DIR/sluice-AGENT.sock, else /tmp/sluice-AGENT.sock. */
int sl_ctl_default_path(const char *agent, char *buf, size_t size);
/*
 * The @i-th place an agent's socket may be (0 /run/sluice, 1
 * $XDG_RUNTIME_DIR, 2 /tmp), for `ctl --name`. 0; -ENOENT when that place
 * does not apply (no XDG_RUNTIME_DIR, @i past the end); -EINVAL for an
 * agent name with '/'; -ENAMETOOLONG.
 */
int sl_ctl_path_candidate(const char *agent, unsigned i, char *buf,
			  size_t size);

struct sl_ctl_server;

/* Bind @path (mode 0600, no symlink following). NULL with @err. */
struct sl_ctl_server *sl_ctl_server_open(struct sl_agent *ag,
					 const char *path, struct sl_err *err);
/* Serve requests for up to @timeout_ms; returns 0 or -errno. */
int sl_ctl_server_poll(struct sl_ctl_server *srv, int timeout_ms);
void sl_ctl_server_close(struct sl_ctl_server *srv);

/* `sluice ctl ...`; returns the process exit code. */
int sl_ctl_main(int argc, char **argv);

/* `sluice consume ...` (kafka-console-consumer); returns the exit code. */
int sl_consume_main(int argc, char **argv);

/* ---- embedded Kafka (kafka_mock.c) ------------------------------------ */

/* librdkafka's mock cluster on 127.0.0.1 ports; its own thread serves it. */
struct sl_kafka_mock;

/* Start @nb_brokers (1..16) brokers. NULL with @err. Control thread. */
struct sl_kafka_mock *sl_kafka_mock_start(int nb_brokers, struct sl_err *err);
/* "127.0.0.1:p1,127.0.0.1:p2,...": what clients bootstrap from. */
const char *sl_kafka_mock_bootstrap(const struct sl_kafka_mock *km);
/* Create @topic with @partitions (replication min(brokers, 3)). 0/-errno. */
int sl_kafka_mock_topic_create(struct sl_kafka_mock *km, const char *topic,
			       int partitions, struct sl_err *err);
/*
 * --kafka-mock: point every Kafka sink of @plan at the mock and create
 * their fixed topics (one partition, as the seed creates mylog). 0/-errno.
 */
int sl_kafka_mock_point_plan(struct sl_kafka_mock *km, struct sl_plan *plan,
			     struct sl_err *err);
/*
 * One fault command ({"cmd":"broker_down","broker":1}, ...; see
 * `sluice kafka-mock --help`); returns the reply object (caller decrefs),
 * sets *@stop on {"cmd":"stop"}.
 */
json_t *sl_kafka_mock_command(struct sl_kafka_mock *km, const json_t *req,
			      bool *stop);
/* Stop and free; NULL is fine. */
void sl_kafka_mock_stop(struct sl_kafka_mock *km);
/* `sluice kafka-mock ...`; returns the process exit code. */
int sl_kafka_mock_main(int argc, char **argv);

#endif /* SL_CONTROL_H */
