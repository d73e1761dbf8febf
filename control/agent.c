/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent: builds the components of a plan (channels, then sinks, then
 * sources, so every sink's consumer exists before any producer), starts
 * them, runs one runner thread per sink, serves the control socket on the
 * control thread, and stops gracefully: sources first, then sinks drain
 * their channels up to a deadline, then sinks and channels stop.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sl_control.h"
#include "sl_log.h"
#include "sl_time.h"

#define RUNNER_BACKOFF_MIN_NS	(1 * SL_NS_PER_MS)
#define RUNNER_BACKOFF_MAX_NS	(50 * SL_NS_PER_MS)
#define AGENT_MAX_INFO		8

struct sink_runner {
	struct sl_agent *ag;
	struct sl_sink *sk;
	struct sl_channel *ch;
	pthread_t thread;
	bool running;
	int stop;		/* 1: stop now; written by the control thread */
	int drain;		/* 1: stop once the channel is empty */
	int exited;		/* 1: the thread is done (release/acquire) */
	uint64_t drain_deadline_ns;
};

struct sl_agent {
	char *name;
	struct sl_agent_comp *comps;
	size_t nb_comps;
	struct sink_runner *runners;
	size_t nb_runners;
	struct sl_agent_opts opts;
	struct sl_ctl_server *ctl;
	char ctl_path[256];
	int stop_requested;
	uint64_t start_ms;
	const char *info_key[AGENT_MAX_INFO];
	char *info_val[AGENT_MAX_INFO];
	size_t nb_info;
	struct sl_dataplane *dp;	/* NULL: kernel sockets only */
};

void
sl_agent_request_stop(struct sl_agent *ag)
{
	__atomic_store_n(&ag->stop_requested, 1, __ATOMIC_RELEASE);
}

static bool
agent_stop_requested(const struct sl_agent *ag)
{
	return __atomic_load_n(&ag->stop_requested, __ATOMIC_ACQUIRE);
}

/*
 * One sink's runner: call process() while it has work. When it backs off,
 * wait on the channel (sl_channel_consumer_wait: first up to 1 ms for a
 * batch's worth, then for any put, which wakes it at once) for a bounded
 * time growing up to RUNNER_BACKOFF_MAX_NS, so an idle sink
 * costs no core and stop requests and drain deadlines are still seen. A
 * sink that backs off with events waiting (the Kafka sink's window is full,
 * or it waits for delivery reports) waits in its own wait op for as long,
 * woken by what it waits for; a sink without one, or a channel without
 * the wakeup, sleeps the same bounded, growing pause instead. In drain mode it exits
 * once the channel is empty.
 */
static void *
sink_runner_main(void *arg)
{
	struct sink_runner *run = arg;
	struct sl_sink *sk = run->sk;
	uint64_t backoff = RUNNER_BACKOFF_MIN_NS;
	int rc;

	while (!__atomic_load_n(&run->stop, __ATOMIC_ACQUIRE)) {
		enum sl_sink_status st = sk->ops->process(sk);

		if (st == SL_SINK_OK) {
			backoff = RUNNER_BACKOFF_MIN_NS;
			continue;
		}
		if (st == SL_SINK_FATAL) {
			sl_log(SL_ERROR, "sink %s %s: fatal error, sink "
			       "stopped", sk->ops->type, sk->name);
			break;
		}
		if (__atomic_load_n(&run->drain, __ATOMIC_ACQUIRE)) {
			if (sl_channel_size(run->ch) == 0 ||
			    sl_time_mono_ns() >= run->drain_deadline_ns)
				break;
			backoff = RUNNER_BACKOFF_MIN_NS;
		}
		/*
		 * Just gone idle: wait (briefly) for a worthwhile batch, so
		 * a sink that keeps up with its source is not woken per
		 * small put. Idle for longer: any put wakes it.
		 */
		rc = sk->cons ? sl_channel_consumer_wait(sk->cons,
			backoff == RUNNER_BACKOFF_MIN_NS ? UINT_MAX : 1,
			backoff) : -EOPNOTSUPP;
		/*
		 * -EAGAIN: events are there, the sink backs off for its own
		 * reasons: wait on the sink where it can say when they
		 * change (a delivery report), else pause; -EOPNOTSUPP: no
		 * wakeup, pause.
		 */
		if (rc == -EAGAIN && sk->ops->wait) {
			if (sk->ops->wait(sk, backoff) == 0) {
				backoff = RUNNER_BACKOFF_MIN_NS;
				continue;
			}
		} else if (rc != 0 && rc != -ETIMEDOUT && rc != -EINTR) {
			sl_time_sleep_ns(backoff);
		}
		backoff = SL_MIN(backoff * 2, RUNNER_BACKOFF_MAX_NS);
	}
	if (sk->ops->flush)
		sk->ops->flush(sk, run->drain_deadline_ns);
	/* Pairs with the acquire in agent_stop_all(). */
	__atomic_store_n(&run->exited, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct sl_channel *
agent_channel(struct sl_agent *ag, const struct sl_plan *plan, unsigned idx)
{
	(void)plan;
	return ag->comps[idx].ch;
}

static int
agent_build_comp(struct sl_agent *ag, const struct sl_plan *plan, size_t i,
		 struct sl_err *err)
{
	const struct sl_plan_comp *pc = &plan->comps[i];
	struct sl_agent_comp *c = &ag->comps[i];
	struct sl_channel *chs[64];
	struct sl_diag diag = { 0 };
	unsigned k;

	c->kind = pc->kind;
	c->name = pc->name;
	c->type = pc->type->type;
	switch (pc->kind) {
	case SL_COMP_CHANNEL: {
		const struct sl_channel_ops *ops = pc->type->ops;

		c->ch = ops->create(pc->name, pc->settings, &pc->props, &diag,
				    err);
		sl_diag_free(&diag);
		return c->ch ? 0 : -err->code;
	}
	case SL_COMP_SINK: {
		const struct sl_sink_ops *ops = pc->type->ops;

		c->sk = ops->create(pc->name, pc->settings, &pc->props,
				    agent_channel(ag, plan, pc->chan_idx[0]),
				    err);
		return c->sk ? 0 : -err->code;
	}
	case SL_COMP_SOURCE: {
		const struct sl_source_ops *ops = pc->type->ops;

		if (pc->nb_chans > SL_ARRAY_SIZE(chs))
			return sl_err_set(err, E2BIG, "source %s: too many "
					  "channels", pc->name);
		for (k = 0; k < pc->nb_chans; k++)
			chs[k] = agent_channel(ag, plan, pc->chan_idx[k]);
		if (ag->dp && sl_plan_source_on_dataplane(plan, pc))
			c->src = sl_dp_source_create(ag->dp, pc->type->type,
						     pc->name, &pc->props,
						     chs, pc->nb_chans, err);
		else
			c->src = ops->create(pc->name, pc->settings, chs,
					     pc->nb_chans, err);
		return c->src ? 0 : -err->code;
	}
	}
	return sl_err_set(err, EINVAL, "component %s: unknown kind",
			  pc->name);
}

/* A source with thousands of connections needs thousands of fds. */
static void
agent_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			sl_log(SL_WARN, "agent: cannot raise the open file "
			       "limit: %s", strerror(errno));
	}
}

struct sl_agent *
sl_agent_create(const struct sl_plan *plan, const struct sl_agent_opts *opts,
		struct sl_err *err)
{
	struct sl_agent *ag = calloc(1, sizeof(*ag));
	size_t i;

	if (!ag) {
		sl_err_set(err, ENOMEM, "agent: out of memory");
		return NULL;
	}
	ag->name = strdup(plan->agent);
	ag->opts = *opts;
	ag->comps = calloc(plan->nb_comps ? plan->nb_comps : 1,
			   sizeof(*ag->comps));
	ag->runners = calloc(plan->nb_comps ? plan->nb_comps : 1,
			     sizeof(*ag->runners));
	if (!ag->name || !ag->comps || !ag->runners) {
		sl_err_set(err, ENOMEM, "agent: out of memory");
		goto err_destroy;
	}
	agent_raise_nofile();
	if (plan->dp && !(ag->dp = sl_dataplane_create(plan->dp, err)))
		goto err_destroy;
	for (i = 0; i < plan->nb_comps; i++) {
		if (agent_build_comp(ag, plan, i, err) < 0)
			goto err_destroy;
		ag->nb_comps = i + 1;
		if (plan->comps[i].kind == SL_COMP_SINK) {
			struct sink_runner *run = &ag->runners[ag->nb_runners++];

			run->ag = ag;
			run->sk = ag->comps[i].sk;
			run->ch = ag->comps[plan->comps[i].chan_idx[0]].ch;
		}
	}
	if (opts->kafka_bootstrap) {
		ag->info_key[ag->nb_info] = "kafka.bootstrap";
		ag->info_val[ag->nb_info++] = strdup(opts->kafka_bootstrap);
	}
	return ag;

err_destroy:
	sl_agent_destroy(ag);
	return NULL;
}

int
sl_agent_start(struct sl_agent *ag, struct sl_err *err)
{
	const char *path = ag->opts.control_socket;
	size_t i;
	int rc;

	if (!path) {
		if (sl_ctl_default_path(ag->name, ag->ctl_path,
					sizeof(ag->ctl_path)) < 0)
			return sl_err_set(err, ENAMETOOLONG, "agent %s: no "
					  "usable control socket path",
					  ag->name);
	} else {
		snprintf(ag->ctl_path, sizeof(ag->ctl_path), "%s", path);
	}
	ag->ctl = sl_ctl_server_open(ag, ag->ctl_path, err);
	if (!ag->ctl)
		return -err->code;
	ag->start_ms = sl_time_wall_ms();

	for (i = 0; i < ag->nb_comps; i++) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_CHANNEL) {
			rc = c->ch->ops->start(c->ch);
			if (rc < 0)
				return sl_err_set(err, -rc, "channel %s: "
						  "cannot start: %s", c->name,
						  strerror(-rc));
		} else if (c->kind == SL_COMP_SINK) {
			rc = c->sk->ops->start(c->sk, err);
			if (rc < 0)
				return rc;
		}
	}
	for (i = 0; i < ag->nb_runners; i++) {
		struct sink_runner *run = &ag->runners[i];

		rc = pthread_create(&run->thread, NULL, sink_runner_main, run);
		if (rc != 0)
			return sl_err_set(err, rc, "sink %s: cannot start its "
					  "runner: %s", run->sk->name,
					  strerror(rc));
		sl_thread_name(run->thread, "sink", run->sk->name);
		run->running = true;
	}
	for (i = 0; i < ag->nb_comps; i++) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_SOURCE) {
			rc = c->src->ops->start(c->src, err);
			if (rc < 0)
				return rc;
		}
	}
	if (ag->dp && (rc = sl_dataplane_start(ag->dp, err)) < 0)
		return rc;
	sl_log(SL_INFO, "agent %s: started; control socket %s", ag->name,
	       ag->ctl_path);
	return 0;
}

/* Stop sources, drain the channels into the sinks, stop the sinks. */
static void
agent_stop_all(struct sl_agent *ag)
{
	uint64_t deadline = sl_time_mono_ns() +
			    ag->opts.drain_timeout_ms * SL_NS_PER_MS;
	size_t i;

	sl_log(SL_INFO, "agent %s: stopping (drain timeout %llu ms)",
	       ag->name, (unsigned long long)ag->opts.drain_timeout_ms);
	for (i = 0; i < ag->nb_comps; i++)
		if (ag->comps[i].kind == SL_COMP_SOURCE)
			ag->comps[i].src->ops->stop(ag->comps[i].src);
	sl_dataplane_stop(ag->dp);
	for (i = 0; i < ag->nb_runners; i++) {
		ag->runners[i].drain_deadline_ns = deadline;
		__atomic_store_n(&ag->runners[i].drain, 1, __ATOMIC_RELEASE);
	}
	for (i = 0; i < ag->nb_runners; i++) {
		struct sink_runner *run = &ag->runners[i];

		if (!run->running)
			continue;
		/* Keep answering `ctl stats` while the sinks drain. */
		while (!__atomic_load_n(&run->exited, __ATOMIC_ACQUIRE))
			sl_ctl_server_poll(ag->ctl, 20);
		pthread_join(run->thread, NULL);
		run->running = false;
		if (sl_channel_size(run->ch) != 0)
			sl_log(SL_WARN, "sink %s: stopped with %llu events "
			       "left in channel %s", run->sk->name,
			       (unsigned long long)sl_channel_size(run->ch),
			       run->ch->name);
	}
	for (i = 0; i < ag->nb_comps; i++) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_SINK)
			c->sk->ops->stop(c->sk);
	}
	for (i = 0; i < ag->nb_comps; i++) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_CHANNEL)
			c->ch->ops->stop(c->ch);
	}
	sl_log(SL_INFO, "agent %s: stopped", ag->name);
}

int
sl_agent_run(struct sl_agent *ag)
{
	while (!agent_stop_requested(ag)) {
		int rc = sl_ctl_server_poll(ag->ctl, 100);

		if (rc < 0 && rc != -EINTR) {
			sl_log(SL_ERROR, "agent %s: control socket: %s",
			       ag->name, strerror(-rc));
			sl_time_sleep_ns(100 * SL_NS_PER_MS);
		}
	}
	agent_stop_all(ag);
	return 0;
}

void
sl_agent_destroy(struct sl_agent *ag)
{
	size_t i;

	if (!ag)
		return;
	/* A failed start leaves runners to stop and sources to halt. */
	for (i = 0; i < ag->nb_runners; i++) {
		if (ag->runners[i].running) {
			__atomic_store_n(&ag->runners[i].stop, 1,
					 __ATOMIC_RELEASE);
			pthread_join(ag->runners[i].thread, NULL);
		}
	}
	sl_dataplane_stop(ag->dp);
	/* Reverse build order: sources, sinks, then channels. */
	for (i = ag->nb_comps; i-- > 0;) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_SOURCE && c->src)
			c->src->ops->destroy(c->src);
	}
	sl_dataplane_destroy(ag->dp);
	for (i = ag->nb_comps; i-- > 0;) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_SINK && c->sk)
			c->sk->ops->destroy(c->sk);
	}
	for (i = ag->nb_comps; i-- > 0;) {
		struct sl_agent_comp *c = &ag->comps[i];

		if (c->kind == SL_COMP_CHANNEL && c->ch)
			c->ch->ops->destroy(c->ch);
	}
	if (ag->ctl)
		sl_ctl_server_close(ag->ctl);
	for (i = 0; i < ag->nb_info; i++)
		free(ag->info_val[i]);
	free(ag->runners);
	free(ag->comps);
	free(ag->name);
	free(ag);
}

const char *
sl_agent_name(const struct sl_agent *ag)
{
	return ag->name;
}

size_t
sl_agent_nb_comps(const struct sl_agent *ag)
{
	return ag->nb_comps;
}

const struct sl_agent_comp *
sl_agent_comp(const struct sl_agent *ag, size_t i)
{
	return i < ag->nb_comps ? &ag->comps[i] : NULL;
}

const char *
sl_agent_info(const struct sl_agent *ag, const char *key)
{
	size_t i;

	for (i = 0; i < ag->nb_info; i++)
		if (strcmp(ag->info_key[i], key) == 0)
			return ag->info_val[i];
	return NULL;
}

const char *
sl_agent_info_at(const struct sl_agent *ag, size_t i, const char **val)
{
	if (i >= ag->nb_info)
		return NULL;
	*val = ag->info_val[i];
	return ag->info_key[i];
}

const char *
sl_agent_ctl_path(const struct sl_agent *ag)
{
	return ag->ctl_path;
}

const struct sl_dataplane *
sl_agent_dataplane(const struct sl_agent *ag)
{
	return ag->dp;
}

uint64_t
sl_agent_uptime_ms(const struct sl_agent *ag)
{
	return ag->start_ms ? sl_time_wall_ms() - ag->start_ms : 0;
}
