/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Component properties and key tables: sl_keys_apply() turns the properties
 * of one component into its settings struct (types, defaults, ranges,
 * required keys, deprecated aliases); struct sl_diag collects one
 * "FILE:LINE: what is wrong" line per problem. Called by control/'s plan
 * builder and by components' validate hooks. Control thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "sl_props.h"

/* ---- properties -------------------------------------------------------- */

/* Lookup that does not claim the property (for alias bookkeeping). */
static struct sl_prop *
props_find(const struct sl_props *props, const char *key)
{
	size_t i;

	for (i = 0; i < props->n; i++)
		if (strcmp(props->v[i].key, key) == 0)
			return &props->v[i];
	return NULL;
}

struct sl_prop *
sl_props_get(const struct sl_props *props, const char *key)
{
	struct sl_prop *p = props_find(props, key);

	if (p)
		p->used = true;
	return p;
}

void
sl_props_warn_unused(const struct sl_props *props, struct sl_diag *diag)
{
	size_t i;

	for (i = 0; i < props->n; i++) {
		const struct sl_prop *p = &props->v[i];

		if (!p->used)
			sl_diag_add(diag, SL_DIAG_WARN, p->file, p->line,
				    "%s.%s: unknown key (ignored)", props->comp,
				    p->key);
	}
}

/* ---- diagnostics ------------------------------------------------------- */

static int
diag_grow(struct sl_diag *d)
{
	size_t cap = d->cap ? d->cap * 2 : 16;
	struct sl_diag_line *v = realloc(d->v, cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	d->v = v;
	d->cap = cap;
	return 0;
}

/*
 * "FILE:LINE: msg", "FILE: msg" when @line is 0 (about the whole file), and
 * "warning: " after the location for warnings. Out of memory loses the text
 * but never the count, so a broken config still refuses to start.
 */
void
sl_diag_add(struct sl_diag *d, enum sl_diag_sev sev, const char *file,
	    int line, const char *fmt, ...)
{
	const char *kind = sev == SL_DIAG_WARN ? "warning: " : "";
	char *msg, *text;
	va_list ap;
	int rc;

	if (sev == SL_DIAG_ERROR)
		d->nb_errors++;
	else
		d->nb_warnings++;
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return;
	if (file && line > 0)
		rc = asprintf(&text, "%s:%d: %s%s", file, line, kind, msg);
	else if (file)
		rc = asprintf(&text, "%s: %s%s", file, kind, msg);
	else
		rc = asprintf(&text, "%s%s", kind, msg);
	free(msg);
	if (rc < 0)
		return;
	if (d->n == d->cap && diag_grow(d) < 0) {
		free(text);
		return;
	}
	d->v[d->n++] = (struct sl_diag_line){
		.sev = sev, .text = text, .file = file, .line = line,
	};
}

void
sl_diag_free(struct sl_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- value parsers ----------------------------------------------------- */

/*
 * Decimal digits after an optional sign, as Java's Long.parseLong reads
 * them (no hex, no spaces, no "1k"). Sets *@neg and the magnitude; a
 * magnitude beyond UINT64_MAX is -ERANGE, but only once every character is
 * known to be a digit, so "99999999999999999999x" is -EINVAL.
 */
static int
parse_decimal(const char *s, bool *neg, uint64_t *mag)
{
	bool overflow = false;
	uint64_t v = 0;

	*neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
	}
	*mag = v;
	return overflow ? -ERANGE : 0;
}

int
sl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag;
	int64_t v;
	bool neg;
	int rc = parse_decimal(s, &neg, &mag);

	if (rc < 0)
		return rc;
	if (mag > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	/* -(INT64_MIN) does not exist: negate in unsigned arithmetic. */
	v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	if (min < max && (v < min || v > max))
		return -ERANGE;
	*out = v;
	return 0;
}

static int
parse_uint(const char *s, int64_t min, int64_t max, uint64_t *out)
{
	uint64_t mag;
	bool neg;
	int rc = parse_decimal(s, &neg, &mag);

	if (rc < 0)
		return rc;
	if (neg && mag != 0)
		return -ERANGE;
	if (min < max && ((min > 0 && mag < (uint64_t)min) ||
			  max < 0 || mag > (uint64_t)max))
		return -ERANGE;
	*out = mag;
	return 0;
}

/* Flume's Boolean.parseBoolean makes any typo false; sluice refuses it. */
int
sl_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* ---- key tables -------------------------------------------------------- */

/* Store @val into @settings per @k; 0, -EINVAL, -ERANGE or -ENOMEM. */
static int
key_store(const struct sl_key *k, void *settings, const char *val)
{
	void *field = (char *)settings + k->offset;
	char *copy;

	switch (k->type) {
	case SL_KEY_STR:
		copy = strdup(val);
		if (!copy)
			return -ENOMEM;
		*(char **)field = copy;
		return 0;
	case SL_KEY_INT:
		return sl_parse_int(val, k->min, k->max, field);
	case SL_KEY_UINT:
	case SL_KEY_BYTES:
		return parse_uint(val, k->min, k->max, field);
	case SL_KEY_BOOL:
		return sl_parse_bool(val, field);
	}
	return -EINVAL;
}

/* "0..65535": the range a message offers for a numeric key. */
static void
key_range(const struct sl_key *k, char *buf, size_t size)
{
	if (k->type == SL_KEY_INT) {
		if (k->min < k->max)
			snprintf(buf, size, "%" PRId64 "..%" PRId64, k->min,
				 k->max);
		else
			snprintf(buf, size, "%" PRId64 "..%" PRId64,
				 INT64_MIN, INT64_MAX);
	} else if (k->min < k->max) {
		snprintf(buf, size, "%" PRId64 "..%" PRId64,
			 SL_MAX(k->min, (int64_t)0), k->max);
	} else {
		snprintf(buf, size, "0..%" PRIu64, UINT64_MAX);
	}
}

/* One diag line for a value @k refused with @rc; @p is what the file said. */
static void
key_report(const struct sl_key *k, const struct sl_props *props,
	   const struct sl_prop *p, int rc, struct sl_diag *diag)
{
	char range[64];

	key_range(k, range, sizeof(range));
	if (rc == -ENOMEM)
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: out of memory", props->comp, p->key);
	else if (k->type == SL_KEY_BOOL)
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: '%s' is not a boolean (allowed: true, "
			    "false)", props->comp, p->key, p->val);
	else if (rc == -ERANGE)
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: %s is out of range (allowed: %s)",
			    props->comp, p->key, p->val, range);
	else
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: '%s' is not an integer (allowed: %s)",
			    props->comp, p->key, p->val, range);
}

/*
 * The property that sets @k: its own name, else the first deprecated alias
 * present (one warning: use the new name). An alias present beside the new
 * name loses and says so. Every alias present is claimed either way.
 */
static struct sl_prop *
key_pick(const struct sl_key *tbl, const struct sl_key *k,
	 const struct sl_props *props, struct sl_diag *diag)
{
	struct sl_prop *p = sl_props_get(props, k->name);
	const struct sl_key *a;
	struct sl_prop *ap;

	for (a = tbl; a->name; a++) {
		if (!a->alias_of || strcmp(a->alias_of, k->name) != 0)
			continue;
		ap = sl_props_get(props, a->name);
		if (!ap)
			continue;
		if (p) {
			sl_diag_add(diag, SL_DIAG_WARN, ap->file, ap->line,
				    "%s.%s is deprecated and ignored, %s is "
				    "set", props->comp, a->name, k->name);
			continue;
		}
		sl_diag_add(diag, SL_DIAG_WARN, ap->file, ap->line,
			    "%s.%s is deprecated, use %s", props->comp,
			    a->name, k->name);
		p = ap;
	}
	return p;
}

/* Apply one (non-alias) key: the file's value, else the default. */
static void
key_apply(const struct sl_key *tbl, const struct sl_key *k, void *settings,
	  const struct sl_props *props, struct sl_diag *diag)
{
	struct sl_prop *p = key_pick(tbl, k, props, diag);
	int rc;

	if (p && p->val[0] == '\0') {
		sl_diag_add(diag, SL_DIAG_ERROR, p->file, p->line,
			    "%s.%s: empty value", props->comp, p->key);
	} else if (p) {
		rc = key_store(k, settings, p->val);
		if (rc == 0)
			return;
		key_report(k, props, p, rc, diag);
	} else if (k->required) {
		sl_diag_add(diag, SL_DIAG_ERROR, props->file, props->line,
			    "%s: %s is required", props->comp, k->name);
		return;
	}
	/*
	 * Not set, or set badly: the default keeps the settings sane so the
	 * validate hook that runs next does not pile up follow-on errors.
	 */
	if (k->def && key_store(k, settings, k->def) < 0)
		sl_diag_add(diag, SL_DIAG_ERROR, props->file, props->line,
			    "%s: internal error: bad default '%s' for %s",
			    props->comp, k->def, k->name);
}

int
sl_keys_apply(const struct sl_key *tbl, void *settings,
	      const struct sl_props *props, struct sl_diag *diag)
{
	size_t nb_errors = diag->nb_errors;
	const struct sl_key *k;

	/* Aliases are applied through the key they stand for. */
	for (k = tbl; k->name; k++)
		if (!k->alias_of)
			key_apply(tbl, k, settings, props, diag);
	return (int)(diag->nb_errors - nb_errors);
}

void
sl_keys_free(const struct sl_key *tbl, void *settings)
{
	const struct sl_key *k;
	char **field;

	if (!settings)
		return;
	for (k = tbl; k->name; k++) {
		if (k->type != SL_KEY_STR || k->alias_of)
			continue;
		field = (void *)((char *)settings + k->offset);
		free(*field);
		*field = NULL;
	}
}
