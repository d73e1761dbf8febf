/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wired plan: one agent's keys of a parsed conf resolved as Flume wires
 * them (a1.sources / a1.channels / a1.sinks lists, each component's type,
 * a source's `channels`, a sink's `channel`), every component's keys run
 * through its type's key table, and the cross-component checks. Also what
 * `sluice check` prints. Called by main.c and the tests; control thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "sl_control.h"

#define NB_KINDS	3
#define MAX_FILES_SHOWN	16

/* "sources", "channels", "sinks": the key words of Flume's wiring. */
static const char *const kind_words[NB_KINDS] = {
	[SL_COMP_SOURCE] = "sources",
	[SL_COMP_CHANNEL] = "channels",
	[SL_COMP_SINK] = "sinks",
};

static const struct sl_key no_keys[] = { SL_KEY_END };

/* One `a1.sources = r1 r2` list. */
struct build_list {
	const struct sl_prop *p;	/* NULL: the key is absent */
	char **names;
	size_t n;
	size_t first;			/* plan index of names[0] */
};

/* A component's wiring keys, taken out of its props. */
struct build_wiring {
	const struct sl_prop *type;
	const struct sl_prop *chans;	/* sources: channels; sinks: channel */
	bool ok;			/* type, keys and validate all fine */
};

struct build {
	const struct sl_conf *conf;
	const char *agent;
	size_t agent_len;
	struct sl_plan *plan;
	struct sl_diag *diag;
	struct build_list lists[NB_KINDS];
	struct build_wiring *wiring;	/* [plan index] */
	char **unlisted;		/* names already warned about */
	size_t nb_unlisted;
};

/* ---- small helpers ----------------------------------------------------- */

static const char *
build_rest(const struct build *bd, const char *key)
{
	if (strncmp(key, bd->agent, bd->agent_len) != 0 ||
	    key[bd->agent_len] != '.')
		return NULL;
	return key + bd->agent_len + 1;
}

/* If @s starts with "@word." return what follows, else NULL. */
static const char *
after_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(s, word, n) != 0 || s[n] != '.')
		return NULL;
	return s + n + 1;
}

static int
props_push(struct sl_props *props, const char *key, const struct sl_prop *src)
{
	struct sl_prop *v = realloc(props->v, (props->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	props->v = v;
	v[props->n] = (struct sl_prop){
		.key = strdup(key), .val = strdup(src->val),
		.file = src->file, .line = src->line,
	};
	if (!v[props->n].key || !v[props->n].val) {
		free(v[props->n].key);
		free(v[props->n].val);
		return -ENOMEM;
	}
	props->n++;
	return 0;
}

static void
props_free(struct sl_props *props)
{
	size_t i;

	for (i = 0; i < props->n; i++) {
		free(props->v[i].key);
		free(props->v[i].val);
	}
	free(props->v);
	free((char *)props->comp);
	memset(props, 0, sizeof(*props));
}

/* Non-claiming lookup, for printing and cross checks. */
static const struct sl_prop *
props_peek(const struct sl_props *props, const char *key)
{
	size_t i;

	for (i = 0; i < props->n; i++)
		if (strcmp(props->v[i].key, key) == 0)
			return &props->v[i];
	return NULL;
}

static void
nomem(struct build *bd)
{
	sl_diag_add(bd->diag, SL_DIAG_ERROR, NULL, 0, "out of memory");
}

/*
 * Split a Flume space-separated list ("r1 r2"). Flume keeps the names in a
 * set; a repeated name is dropped here with a warning. -ENOMEM or 0.
 */
static int
split_names(struct build *bd, const struct sl_prop *p, const char *what,
	    char ***names, size_t *n)
{
	const char *s = p->val, *end;
	char **v, *name;
	size_t i, len;

	for (;;) {
		s += strspn(s, " \t\f\r\n");
		if (*s == '\0')
			return 0;
		len = strcspn(s, " \t\f\r\n");
		end = s + len;
		for (i = 0; i < *n; i++)
			if (strlen((*names)[i]) == len &&
			    strncmp((*names)[i], s, len) == 0)
				break;
		if (i < *n) {
			sl_diag_add(bd->diag, SL_DIAG_WARN, p->file, p->line,
				    "%s: %.*s is listed twice", what,
				    (int)len, s);
		} else {
			name = strndup(s, len);
			v = realloc(*names, (*n + 1) * sizeof(*v));
			if (!name || !v) {
				free(name);
				if (v)
					*names = v;
				return -ENOMEM;
			}
			v[(*n)++] = name;
			*names = v;
		}
		s = end;
	}
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- step 1: the agent exists ------------------------------------------ */

/*
 * No key names the agent: list the agents the file does name (the part
 * before the first dot), in the order they first appear.
 */
static void
report_no_agent(struct build *bd)
{
	const struct sl_conf *conf = bd->conf;
	char list[512] = "";
	size_t i, j, n = 0, len;

	for (i = 0; i < conf->n && n < sizeof(list); i++) {
		const char *k = conf->v[i].key, *dot = strchr(k, '.');

		if (!dot || dot == k)
			continue;
		len = (size_t)(dot - k);
		for (j = 0; j < i; j++)
			if (strncmp(conf->v[j].key, k, len + 1) == 0)
				break;
		if (j == i)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
					      "%s%.*s", n ? ", " : "",
					      (int)len, k);
	}
	sl_diag_add(bd->diag, SL_DIAG_ERROR,
		    conf->nb_files ? conf->files[0] : NULL, 0,
		    "no configuration for agent '%s' (agents in this file: "
		    "%s)", bd->agent, n ? list : "none");
}

static bool
agent_present(const struct build *bd)
{
	size_t i;

	for (i = 0; i < bd->conf->n; i++)
		if (build_rest(bd, bd->conf->v[i].key))
			return true;
	return false;
}

/* ---- step 2: agent-level keys ------------------------------------------ */

static int
kind_of_word(const char *rest)
{
	int k;

	for (k = 0; k < NB_KINDS; k++)
		if (strcmp(rest, kind_words[k]) == 0)
			return k;
	return -1;
}

static bool
is_component_key(const char *rest)
{
	int k;

	for (k = 0; k < NB_KINDS; k++)
		if (after_word(rest, kind_words[k]))
			return true;
	return false;
}

/*
 * Sort the agent's own keys: the three lists, sinkgroups (one warning),
 * component keys (later steps) and the rest, which goes to agent_props for
 * whoever owns it (the dataplane section, ...).
 */
static int
scan_agent_keys(struct build *bd)
{
	struct sl_props *ap = &bd->plan->agent_props;
	bool warned_groups = false;
	const char *rest;
	size_t i;
	int kind;

	for (i = 0; i < bd->conf->n; i++) {
		const struct sl_prop *p = &bd->conf->v[i];

		rest = build_rest(bd, p->key);
		if (!rest || is_component_key(rest))
			continue;
		kind = kind_of_word(rest);
		if (kind >= 0) {
			bd->lists[kind].p = p;
		} else if (strcmp(rest, "sinkgroups") == 0 ||
			   after_word(rest, "sinkgroups")) {
			if (!warned_groups)
				sl_diag_add(bd->diag, SL_DIAG_WARN, p->file,
					    p->line, "sink groups are not "
					    "supported yet; each sink runs on "
					    "its own");
			warned_groups = true;
		} else {
			if (!ap->file) {
				ap->file = p->file;
				ap->line = p->line;
			}
			if (props_push(ap, rest, p) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int
split_lists(struct build *bd)
{
	char what[256];
	int k;

	for (k = 0; k < NB_KINDS; k++) {
		struct build_list *l = &bd->lists[k];

		if (!l->p)
			continue;
		if (l->p->val[0] == '\0') {
			sl_diag_add(bd->diag, SL_DIAG_ERROR, l->p->file,
				    l->p->line, "%s.%s: empty value",
				    bd->agent, kind_words[k]);
			continue;
		}
		snprintf(what, sizeof(what), "%s.%s", bd->agent,
			 kind_words[k]);
		if (split_names(bd, l->p, what, &l->names, &l->n) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The agent must have channels, and sources or sinks (as Flume checks). */
static void
check_agent_shape(struct build *bd)
{
	const char *file = bd->conf->files[0];

	if (!bd->lists[SL_COMP_CHANNEL].p)
		sl_diag_add(bd->diag, SL_DIAG_ERROR, file, 0, "agent '%s' has "
			    "no channels (%s.channels is not set)", bd->agent,
			    bd->agent);
	if (!bd->lists[SL_COMP_SOURCE].p && !bd->lists[SL_COMP_SINK].p)
		sl_diag_add(bd->diag, SL_DIAG_ERROR, file, 0, "agent '%s' has "
			    "no sources and no sinks (%s.sources and "
			    "%s.sinks are not set)", bd->agent, bd->agent,
			    bd->agent);
}

/* ---- step 3: each listed component's keys ------------------------------ */

/*
 * The listed name @rest ("r1.port" after "a1.sources.") belongs to, or -1.
 * The longest listed name wins, so a name with a dot in it still works.
 */
static int
listed_owner(const struct build_list *l, const char *rest)
{
	size_t i, len, best_len = 0;
	int best = -1;

	for (i = 0; i < l->n; i++) {
		len = strlen(l->names[i]);
		if (strncmp(rest, l->names[i], len) == 0 &&
		    rest[len] == '.' && len >= best_len) {
			best = (int)i;
			best_len = len;
		}
	}
	return best;
}

/* Flume ignores a configured component its list does not name. */
static int
warn_unlisted(struct build *bd, enum sl_comp_kind kind, const char *rest,
	      const struct sl_prop *p)
{
	size_t len = strcspn(rest, "."), i;
	char *name, **v;

	if (rest[len] != '.') {
		sl_diag_add(bd->diag, SL_DIAG_WARN, p->file, p->line,
			    "%s: unknown key (ignored)", p->key);
		return 0;
	}
	if (asprintf(&name, "%s.%s.%.*s", bd->agent, kind_words[kind],
		     (int)len, rest) < 0)
		return -ENOMEM;
	for (i = 0; i < bd->nb_unlisted; i++) {
		if (strcmp(bd->unlisted[i], name) == 0) {
			free(name);
			return 0;	/* one warning per component */
		}
	}
	v = realloc(bd->unlisted, (bd->nb_unlisted + 1) * sizeof(*v));
	if (!v) {
		free(name);
		return -ENOMEM;
	}
	bd->unlisted = v;
	v[bd->nb_unlisted++] = name;
	sl_diag_add(bd->diag, SL_DIAG_WARN, p->file, p->line,
		    "%s: configured but not listed in %s.%s (ignored)", name,
		    bd->agent, kind_words[kind]);
	return 0;
}

static bool
is_wiring_key(enum sl_comp_kind kind, const char *key)
{
	return strcmp(key, "type") == 0 ||
	       (kind == SL_COMP_SOURCE && strcmp(key, "channels") == 0) ||
	       (kind == SL_COMP_SINK && strcmp(key, "channel") == 0);
}

/* Route one "a1.<kind>s.<name>.<key>" property to its component. */
static int
route_component_key(struct build *bd, enum sl_comp_kind kind,
		    const char *rest, const struct sl_prop *p)
{
	struct build_list *l = &bd->lists[kind];
	int i = listed_owner(l, rest);
	size_t idx;
	const char *key;

	if (i < 0)
		return warn_unlisted(bd, kind, rest, p);
	idx = l->first + (size_t)i;
	key = rest + strlen(l->names[i]) + 1;
	if (is_wiring_key(kind, key)) {
		if (strcmp(key, "type") == 0)
			bd->wiring[idx].type = p;
		else
			bd->wiring[idx].chans = p;
		return 0;
	}
	return props_push(&bd->plan->comps[idx].props, key, p);
}

/* "a1.sources.r1": how messages name a component. */
static char *
comp_path(const struct build *bd, enum sl_comp_kind kind, const char *name)
{
	char *s;

	if (asprintf(&s, "%s.%s.%s", bd->agent, kind_words[kind], name) < 0)
		return NULL;
	return s;
}

/*
 * Create a plan slot for every listed name (channels first, then sinks,
 * then sources: the build order) and hand each its keys.
 */
static int
collect_components(struct build *bd)
{
	static const enum sl_comp_kind order[NB_KINDS] = {
		SL_COMP_CHANNEL, SL_COMP_SINK, SL_COMP_SOURCE,
	};
	struct sl_plan *plan = bd->plan;
	size_t i, j, n = 0;
	const char *rest;
	int k;

	for (k = 0; k < NB_KINDS; k++)
		n += bd->lists[k].n;
	plan->comps = calloc(n ? n : 1, sizeof(*plan->comps));
	bd->wiring = calloc(n ? n : 1, sizeof(*bd->wiring));
	if (!plan->comps || !bd->wiring)
		return -ENOMEM;
	for (k = 0; k < NB_KINDS; k++) {
		struct build_list *l = &bd->lists[order[k]];

		l->first = plan->nb_comps;
		for (j = 0; j < l->n; j++) {
			struct sl_plan_comp *pc = &plan->comps[plan->nb_comps];

			plan->nb_comps++;
			pc->kind = order[k];
			pc->name = strdup(l->names[j]);
			if (!pc->name)
				return -ENOMEM;
			pc->props.comp = comp_path(bd, order[k], pc->name);
			if (!pc->props.comp)
				return -ENOMEM;
		}
	}
	for (i = 0; i < bd->conf->n; i++) {
		const struct sl_prop *p = &bd->conf->v[i];

		rest = build_rest(bd, p->key);
		for (k = 0; rest && k < NB_KINDS; k++) {
			const char *r = after_word(rest, kind_words[k]);

			if (r && route_component_key(bd, k, r, p) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- step 4: types and keys -------------------------------------------- */

/* Where a component is declared: its type line, else its first key. */
static void
comp_set_origin(struct build *bd, size_t idx)
{
	struct sl_plan_comp *pc = &bd->plan->comps[idx];
	const struct build_wiring *w = &bd->wiring[idx];
	const struct sl_prop *p = w->type;

	if (!p && pc->props.n)
		p = &pc->props.v[0];
	if (!p)
		p = w->chans;
	if (!p)
		p = bd->lists[pc->kind].p;
	pc->props.file = p->file;
	pc->props.line = p->line;
}

/* Resolve the type; false (after one diag line) when it cannot be built. */
static bool
comp_resolve_type(struct build *bd, size_t idx)
{
	struct sl_plan_comp *pc = &bd->plan->comps[idx];
	const struct sl_prop *tp = bd->wiring[idx].type;
	const char *comp = pc->props.comp;
	const struct sl_type *t;
	char known[512];

	if (!tp) {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, pc->props.file,
			    pc->props.line, "%s: no type (%s.type is not set)",
			    comp, comp);
		return false;
	}
	if (tp->val[0] == '\0') {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, tp->file, tp->line,
			    "%s.type: empty value", comp);
		return false;
	}
	t = sl_registry_find(pc->kind, tp->val);
	if (!t) {
		sl_registry_known(pc->kind, known, sizeof(known));
		sl_diag_add(bd->diag, SL_DIAG_ERROR, tp->file, tp->line,
			    "%s: unknown %s type '%s' (known: %s)", comp,
			    sl_comp_kind_name(pc->kind), tp->val, known);
		return false;
	}
	if (!t->ops) {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, tp->file, tp->line,
			    "%s: type %s is known but not built in this "
			    "sluice: %s", comp, tp->val, t->unbuilt);
		return false;
	}
	pc->type = t;
	return true;
}

static const struct sl_key *
comp_keys(const struct sl_plan_comp *pc)
{
	return pc->type && pc->type->keys ? pc->type->keys : no_keys;
}

/*
 * Key table, then the type's validate hook (which may claim open-ended
 * families such as kafka.producer.*), then unknown-key warnings for
 * whatever is left unclaimed.
 */
static int
comp_configure(struct build *bd, size_t idx)
{
	struct sl_plan_comp *pc = &bd->plan->comps[idx];
	size_t nb_errors = bd->diag->nb_errors;
	bool typed = comp_resolve_type(bd, idx);
	int rc;

	if (typed) {
		pc->settings = calloc(1, pc->type->settings_size ?
				      pc->type->settings_size : 1);
		if (!pc->settings)
			return -ENOMEM;
		sl_keys_apply(comp_keys(pc), pc->settings, &pc->props,
			      bd->diag);
		if (pc->type->validate) {
			rc = pc->type->validate(pc->settings, &pc->props,
						bd->diag);
			if (rc < 0 && bd->diag->nb_errors == nb_errors)
				sl_diag_add(bd->diag, SL_DIAG_ERROR,
					    pc->props.file, pc->props.line,
					    "%s: invalid (%s)", pc->props.comp,
					    strerror(-rc));
		}
		sl_props_warn_unused(&pc->props, bd->diag);
	}
	bd->wiring[idx].ok = typed && bd->diag->nb_errors == nb_errors;
	return 0;
}

/* ---- step 5: wiring ---------------------------------------------------- */

/* The plan index of channel @name, or -1 after one diag line. */
static int
wire_channel(struct build *bd, const struct sl_prop *p, const char *comp,
	     const char *key, const char *name)
{
	const struct build_list *l = &bd->lists[SL_COMP_CHANNEL];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return (int)(l->first + i);
	sl_diag_add(bd->diag, SL_DIAG_ERROR, p->file, p->line,
		    "%s.%s: channel '%s' is not listed in %s.channels", comp,
		    key, name, bd->agent);
	return -1;
}

static int
wire_source(struct build *bd, size_t idx)
{
	struct sl_plan_comp *pc = &bd->plan->comps[idx];
	const struct sl_prop *p = bd->wiring[idx].chans;
	const char *comp = pc->props.comp;
	char what[300], **names = NULL;
	size_t n = 0, i;
	int ci, rc;

	if (!p) {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, pc->props.file,
			    pc->props.line, "%s: no channels (%s.channels is "
			    "not set)", comp, comp);
		return 0;
	}
	if (p->val[0] == '\0') {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.channels: empty value", comp);
		return 0;
	}
	snprintf(what, sizeof(what), "%s.channels", comp);
	rc = split_names(bd, p, what, &names, &n);
	pc->chan_idx = calloc(n ? n : 1, sizeof(*pc->chan_idx));
	if (rc < 0 || !pc->chan_idx) {
		free_names(names, n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		ci = wire_channel(bd, p, comp, "channels", names[i]);
		if (ci >= 0)
			pc->chan_idx[pc->nb_chans++] = (unsigned)ci;
	}
	free_names(names, n);
	return 0;
}

static int
wire_sink(struct build *bd, size_t idx)
{
	struct sl_plan_comp *pc = &bd->plan->comps[idx];
	const struct sl_prop *p = bd->wiring[idx].chans;
	const char *comp = pc->props.comp;
	int ci;

	if (!p) {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, pc->props.file,
			    pc->props.line, "%s: no channel (%s.channel is not "
			    "set)", comp, comp);
		return 0;
	}
	if (p->val[0] == '\0') {
		sl_diag_add(bd->diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.channel: empty value", comp);
		return 0;
	}
	ci = wire_channel(bd, p, comp, "channel", p->val);
	if (ci < 0)
		return 0;
	pc->chan_idx = malloc(sizeof(*pc->chan_idx));
	if (!pc->chan_idx)
		return -ENOMEM;
	pc->chan_idx[0] = (unsigned)ci;
	pc->nb_chans = 1;
	return 0;
}

/* A listed component with no key at all has nothing to build from. */
static bool
comp_configured(const struct build *bd, size_t idx)
{
	const struct build_wiring *w = &bd->wiring[idx];

	return w->type || w->chans || bd->plan->comps[idx].props.n;
}

static int
build_components(struct build *bd)
{
	struct sl_plan *plan = bd->plan;
	const struct build_list *l;
	size_t i;
	int rc = 0;

	for (i = 0; i < plan->nb_comps && rc == 0; i++) {
		struct sl_plan_comp *pc = &plan->comps[i];

		l = &bd->lists[pc->kind];
		comp_set_origin(bd, i);
		if (!comp_configured(bd, i)) {
			sl_diag_add(bd->diag, SL_DIAG_ERROR, l->p->file,
				    l->p->line, "%s: listed in %s.%s but not "
				    "configured", pc->props.comp, bd->agent,
				    kind_words[pc->kind]);
			continue;
		}
		rc = comp_configure(bd, i);
		if (rc == 0 && pc->kind == SL_COMP_SOURCE)
			rc = wire_source(bd, i);
		else if (rc == 0 && pc->kind == SL_COMP_SINK)
			rc = wire_sink(bd, i);
	}
	return rc;
}

/* ---- step 6: checks across keys and components ------------------------- */

/* A key of @tbl by name, followed to the key it stands for if an alias. */
static const struct sl_key *
table_key(const struct sl_key *tbl, const char *name)
{
	const struct sl_key *k;

	for (k = tbl; k->name; k++)
		if (strcmp(k->name, name) == 0)
			break;
	if (k->name && k->alias_of)
		return table_key(tbl, k->alias_of);
	return k->name ? k : NULL;
}

/* A numeric setting read through the table's offset (UINT clamped). */
static bool
key_number(const struct sl_key *k, const void *settings, int64_t *v)
{
	const char *field = (const char *)settings + k->offset;
	uint64_t u;

	switch (k->type) {
	case SL_KEY_INT:
		memcpy(v, field, sizeof(*v));
		return true;
	case SL_KEY_UINT:
	case SL_KEY_BYTES:
		memcpy(&u, field, sizeof(u));
		*v = u > INT64_MAX ? INT64_MAX : (int64_t)u;
		return true;
	default:
		return false;
	}
}

/*
 * Where @k's value came from, as `check` shows it: the file (NULL note),
 * a deprecated alias ("(from brokerList)"), the default, or nowhere.
 * *@p is the property that set it, if any.
 */
static const char *
key_origin(const struct sl_key *tbl, const struct sl_key *k,
	   const struct sl_props *props, const struct sl_prop **p,
	   char *buf, size_t size)
{
	const struct sl_key *a;

	*p = props_peek(props, k->name);
	if (*p)
		return NULL;
	for (a = tbl; a->name; a++) {
		if (!a->alias_of || strcmp(a->alias_of, k->name) != 0)
			continue;
		*p = props_peek(props, a->name);
		if (*p) {
			snprintf(buf, size, "(from %s)", a->name);
			return buf;
		}
	}
	return k->def ? "(default)" : "(not set)";
}

/* One side of a comparison: its value, and where a message should point. */
struct cmp_side {
	const struct sl_key *k;
	int64_t v;
	const struct sl_prop *p;	/* NULL: not set in the file */
	char note[96];			/* " (default)" or "" */
};

static bool
cmp_side_get(struct cmp_side *s, const struct sl_plan_comp *pc,
	     const char *name)
{
	const struct sl_key *tbl = comp_keys(pc);
	char buf[80];
	const char *o;

	s->k = table_key(tbl, name);
	if (!s->k || !key_number(s->k, pc->settings, &s->v))
		return false;
	o = key_origin(tbl, s->k, &pc->props, &s->p, buf, sizeof(buf));
	snprintf(s->note, sizeof(s->note), "%s%s", o ? " " : "", o ? o : "");
	return true;
}

/* Flume: a sink's batch must fit in one transaction of its channel. */
static void
check_sink_batch(struct build *bd, size_t idx)
{
	static const char *const batch_keys[] = {
		"batchSize", "flumeBatchSize", "batch-size",
	};
	const struct sl_plan_comp *sk = &bd->plan->comps[idx], *ch;
	struct cmp_side b = { 0 }, t = { 0 };
	const struct sl_prop *at;
	size_t i;

	if (!bd->wiring[idx].ok || sk->nb_chans != 1 ||
	    !bd->wiring[sk->chan_idx[0]].ok)
		return;
	ch = &bd->plan->comps[sk->chan_idx[0]];
	for (i = 0; i < SL_ARRAY_SIZE(batch_keys); i++)
		if (table_key(comp_keys(sk), batch_keys[i]))
			break;
	if (i == SL_ARRAY_SIZE(batch_keys) ||
	    !cmp_side_get(&b, sk, batch_keys[i]) ||
	    !cmp_side_get(&t, ch, "transactionCapacity") || b.v <= t.v)
		return;
	at = b.p;
	sl_diag_add(bd->diag, SL_DIAG_ERROR,
		    at ? at->file : sk->props.file, at ? at->line :
		    sk->props.line, "%s: %s %" PRId64 "%s is greater than "
		    "transactionCapacity %" PRId64 "%s of channel %s",
		    sk->props.comp, b.k->name, b.v, b.note, t.v, t.note,
		    ch->name);
}

/*
 * Every channel type with both keys gets Flume's memory-channel rule: one
 * transaction cannot hold more than the whole channel.
 */
static void
check_channel_capacity(struct build *bd, size_t idx)
{
	const struct sl_plan_comp *ch = &bd->plan->comps[idx];
	struct cmp_side c = { 0 }, t = { 0 };
	const struct sl_prop *at;

	if (!bd->wiring[idx].ok || !cmp_side_get(&c, ch, "capacity") ||
	    !cmp_side_get(&t, ch, "transactionCapacity") || t.v <= c.v)
		return;
	at = t.p ? t.p : c.p;
	sl_diag_add(bd->diag, SL_DIAG_ERROR,
		    at ? at->file : ch->props.file, at ? at->line :
		    ch->props.line, "%s: transactionCapacity %" PRId64 "%s is "
		    "greater than capacity %" PRId64 "%s", ch->props.comp,
		    t.v, t.note, c.v, c.note);
}

/*
 * Flume keeps a channel nothing uses; it is almost always a typo. A
 * channel that sources put into but no sink takes from refuses every put
 * here (its events are kept per sink), where Flume's would fill first.
 */
static void
check_channel_used(struct build *bd, size_t idx)
{
	const struct sl_plan *plan = bd->plan;
	const struct sl_plan_comp *ch = &plan->comps[idx];
	unsigned nb_by[SL_COMP_SINK + 1] = { 0 };	/* by kind */
	size_t i, j;

	if (!bd->wiring[idx].ok)
		return;
	for (i = 0; i < plan->nb_comps; i++)
		for (j = 0; j < plan->comps[i].nb_chans; j++)
			if (plan->comps[i].chan_idx[j] == idx)
				nb_by[plan->comps[i].kind]++;
	if (!nb_by[SL_COMP_SOURCE] && !nb_by[SL_COMP_SINK])
		sl_diag_add(bd->diag, SL_DIAG_WARN, ch->props.file,
			    ch->props.line, "%s: no source or sink uses this "
			    "channel", ch->props.comp);
	else if (!nb_by[SL_COMP_SINK])
		sl_diag_add(bd->diag, SL_DIAG_WARN, ch->props.file,
			    ch->props.line, "%s: no sink takes from this "
			    "channel: its sources' events are refused "
			    "(ChannelWriteFail) until one does", ch->props.comp);
}

static void
check_across(struct build *bd)
{
	size_t i;

	for (i = 0; i < bd->plan->nb_comps; i++) {
		switch (bd->plan->comps[i].kind) {
		case SL_COMP_CHANNEL:
			check_channel_capacity(bd, i);
			check_channel_used(bd, i);
			break;
		case SL_COMP_SINK:
			check_sink_batch(bd, i);
			break;
		case SL_COMP_SOURCE:
			break;
		}
	}
}

/* ---- step 7: messages in file order ------------------------------------ */

static size_t
file_rank(const struct sl_conf *conf, const char *file)
{
	size_t i;

	for (i = 0; file && i < conf->nb_files; i++)
		if (file == conf->files[i] || strcmp(file, conf->files[i]) == 0)
			return i;
	return conf->nb_files;
}

static bool
diag_before(const struct sl_conf *conf, const struct sl_diag_line *a,
	    const struct sl_diag_line *b)
{
	size_t fa = file_rank(conf, a->file), fb = file_rank(conf, b->file);

	return fa < fb || (fa == fb && a->line < b->line);
}

/*
 * The steps above report component by component; the reader wants them in
 * the order of the file. Stable insertion sort: few lines, and lines of
 * the same place keep the order they were found in.
 */
static void
diag_sort(const struct sl_conf *conf, struct sl_diag *d, size_t from)
{
	struct sl_diag_line tmp;
	size_t i, j;

	for (i = from + 1; i < d->n; i++) {
		tmp = d->v[i];
		for (j = i; j > from && diag_before(conf, &tmp, &d->v[j - 1]);
		     j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = tmp;
	}
}

/* ---- the plan ---------------------------------------------------------- */

static int
build_run(struct build *bd)
{
	if (!agent_present(bd)) {
		report_no_agent(bd);
		return 0;
	}
	bd->plan->agent = strdup(bd->agent);
	bd->plan->agent_props.comp = strdup(bd->agent);
	if (!bd->plan->agent || !bd->plan->agent_props.comp ||
	    scan_agent_keys(bd) < 0 || split_lists(bd) < 0)
		return -ENOMEM;
	check_agent_shape(bd);
	if (collect_components(bd) < 0 || build_components(bd) < 0)
		return -ENOMEM;
	check_across(bd);
	sl_plan_dataplane_check(bd->plan, bd->diag);
	return 0;
}

int
sl_plan_build(const struct sl_conf *conf, const char *agent,
	      struct sl_plan *plan, struct sl_diag *diag)
{
	struct build bd = {
		.conf = conf, .agent = agent, .agent_len = strlen(agent),
		.plan = plan, .diag = diag,
	};
	size_t nb_errors = diag->nb_errors, first = diag->n;
	int k;

	memset(plan, 0, sizeof(*plan));
	if (build_run(&bd) < 0)
		nomem(&bd);
	diag_sort(conf, diag, first);
	for (k = 0; k < NB_KINDS; k++)
		free_names(bd.lists[k].names, bd.lists[k].n);
	free_names(bd.unlisted, bd.nb_unlisted);
	free(bd.wiring);
	return (int)(diag->nb_errors - nb_errors);
}

void
sl_plan_free(struct sl_plan *plan)
{
	size_t i;

	for (i = 0; plan->comps && i < plan->nb_comps; i++) {
		struct sl_plan_comp *pc = &plan->comps[i];

		if (pc->settings)
			sl_keys_free(comp_keys(pc), pc->settings);
		free(pc->settings);
		free(pc->name);
		free(pc->chan_idx);
		props_free(&pc->props);
	}
	free(plan->comps);
	free(plan->agent);
	props_free(&plan->agent_props);
	sl_dp_conf_free(plan->dp);
	memset(plan, 0, sizeof(*plan));
}

/* ---- sluice check ------------------------------------------------------ */

static void
print_value(const struct sl_key *k, const void *settings, FILE *out)
{
	const char *field = (const char *)settings + k->offset;
	const char *s;
	uint64_t u;
	int64_t v;
	bool b;

	switch (k->type) {
	case SL_KEY_STR:
		memcpy(&s, field, sizeof(s));
		fputs(s ? s : "", out);
		break;
	case SL_KEY_BOOL:
		memcpy(&b, field, sizeof(b));
		fputs(b ? "true" : "false", out);
		break;
	case SL_KEY_INT:
		memcpy(&v, field, sizeof(v));
		fprintf(out, "%" PRId64, v);
		break;
	case SL_KEY_UINT:
	case SL_KEY_BYTES:
		memcpy(&u, field, sizeof(u));
		fprintf(out, "%" PRIu64, u);
		break;
	}
}

static bool
is_table_key(const struct sl_key *tbl, const char *name)
{
	const struct sl_key *k;

	for (k = tbl; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return true;
	return false;
}

/*
 * Every key of the table with its effective value; aliases only through
 * "(from OLDNAME)". Then what the validate hook claimed beyond the table
 * (kafka.producer.*, ...), as written.
 */
static void
print_settings(const struct sl_plan_comp *pc, FILE *out)
{
	const struct sl_key *tbl = comp_keys(pc), *k;
	const struct sl_prop *p;
	const char *note;
	char buf[80];
	size_t i;

	for (k = tbl; k->name; k++) {
		if (k->alias_of)
			continue;
		note = key_origin(tbl, k, &pc->props, &p, buf, sizeof(buf));
		fprintf(out, "    %s = ", k->name);
		if (note && strcmp(note, "(not set)") == 0) {
			fprintf(out, "%s\n", note);
			continue;
		}
		print_value(k, pc->settings, out);
		fprintf(out, "%s%s\n", note ? " " : "", note ? note : "");
	}
	for (i = 0; i < pc->props.n; i++) {
		p = &pc->props.v[i];
		if (p->used && !is_table_key(tbl, p->key))
			fprintf(out, "    %s = %s\n", p->key, p->val);
	}
}

static void
print_comp(const struct sl_plan *plan, const struct sl_plan_comp *pc,
	   FILE *out)
{
	unsigned j;

	fprintf(out, "  %s %s (%s)", sl_comp_kind_name(pc->kind), pc->name,
		pc->type ? pc->type->type : "?");
	if (pc->nb_chans)
		fputs(pc->kind == SL_COMP_SOURCE ? " ->" : " <-", out);
	for (j = 0; j < pc->nb_chans; j++)
		fprintf(out, "%s %s", j ? "," : "",
			plan->comps[pc->chan_idx[j]].name);
	if (sl_plan_source_on_dataplane(plan, pc))
		fputs("  [on the DPDK dataplane]", out);
	fputc('\n', out);
	if (pc->settings)
		print_settings(pc, out);
}

/* The files the plan came from, first seen first: "a.conf, b.conf". */
static void
print_header(const struct sl_plan *plan, FILE *out)
{
	const char *files[MAX_FILES_SHOWN];
	size_t nb = 0, i, j, f;

	if (plan->agent_props.file)
		files[nb++] = plan->agent_props.file;
	for (i = 0; i < plan->nb_comps; i++) {
		const struct sl_props *props = &plan->comps[i].props;

		for (j = 0; j <= props->n; j++) {
			const char *file = j < props->n ? props->v[j].file :
				props->file;

			for (f = 0; f < nb && file; f++)
				if (strcmp(files[f], file) == 0)
					break;
			if (file && f == nb && nb < MAX_FILES_SHOWN)
				files[nb++] = file;
		}
	}
	fprintf(out, "agent %s (", plan->agent);
	for (f = 0; f < nb; f++)
		fprintf(out, "%s%s", f ? ", " : "", files[f]);
	fputs(")\n", out);
}

void
sl_plan_print(const struct sl_plan *plan, FILE *out)
{
	static const enum sl_comp_kind order[NB_KINDS] = {
		SL_COMP_SOURCE, SL_COMP_CHANNEL, SL_COMP_SINK,
	};
	size_t i;
	int k;

	if (!plan->agent)
		return;
	print_header(plan, out);
	for (k = 0; k < NB_KINDS; k++)
		for (i = 0; i < plan->nb_comps; i++)
			if (plan->comps[i].kind == order[k])
				print_comp(plan, &plan->comps[i], out);
	if (plan->agent_props.n)
		fputs("  other agent keys\n", out);
	for (i = 0; i < plan->agent_props.n; i++)
		fprintf(out, "    %s = %s\n", plan->agent_props.v[i].key,
			plan->agent_props.v[i].val);
}
