/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Component configuration below the control plane: the properties of one
 * component (key prefix stripped, with file:line of each), a key table that
 * parses them into a settings struct, and the diagnostics list that collects
 * one "FILE:LINE: what is wrong" line per problem. Control thread only.
 */
#ifndef SL_PROPS_H
#define SL_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_common.h"

/* One property of one component, e.g. key "port" of "a1.sources.r1.port". */
struct sl_prop {
	char *key;		/* component-relative key */
	char *val;		/* after unescaping and ${env:} substitution */
	const char *file;	/* the file it came from (owned by the conf) */
	int line;		/* 1-based line of the key */
	bool used;		/* claimed by a key table or a component */
};

struct sl_props {
	const char *comp;	/* "a1.sources.r1": prefix used in messages */
	struct sl_prop *v;
	size_t n;
	const char *file;	/* where the component was declared */
	int line;
};

/* Returns the property named @key (exact match) or NULL; marks it used. */
struct sl_prop *sl_props_get(const struct sl_props *props, const char *key);

enum sl_diag_sev {
	SL_DIAG_ERROR,
	SL_DIAG_WARN,
};

struct sl_diag_line {
	enum sl_diag_sev sev;
	char *text;		/* "FILE:LINE: what is wrong" */
	const char *file;	/* as given to sl_diag_add(); not owned */
	int line;		/* 0: about the whole file */
};

/* A list of problems found while loading a config; errors block start. */
struct sl_diag {
	struct sl_diag_line *v;
	size_t n, cap;
	size_t nb_errors;
	size_t nb_warnings;
};

void sl_diag_add(struct sl_diag *d, enum sl_diag_sev sev, const char *file,
		 int line, const char *fmt, ...) SL_PRINTF(5, 6);
void sl_diag_free(struct sl_diag *d);

/*
 * Key table: every config key of a component is declared once, with its
 * type, default, offset into the settings struct, range and help. Deprecated
 * keys name their replacement in @alias_of: the value goes to that key when
 * the new key is absent, with one warning.
 */
enum sl_key_type {
	SL_KEY_STR,		/* char * (strdup'ed; freed by sl_keys_free) */
	SL_KEY_INT,		/* int64_t */
	SL_KEY_UINT,		/* uint64_t */
	SL_KEY_BOOL,		/* bool: true/false, case-insensitive */
	SL_KEY_BYTES,		/* uint64_t; plain number of bytes */
};

struct sl_key {
	const char *name;
	enum sl_key_type type;
	const char *def;	/* default as text; NULL = no default */
	size_t offset;
	int64_t min, max;	/* for INT/UINT/BYTES when min < max */
	bool required;
	const char *alias_of;	/* deprecated name for this key */
	const char *help;
};

#define SL_KEY_END { .name = NULL }

/*
 * Apply @tbl to @props, writing @settings. Problems go to @diag, one line
 * each, and the call returns the number of errors added (0 when usable).
 * Properties claimed by the table are marked used.
 */
int sl_keys_apply(const struct sl_key *tbl, void *settings,
		  const struct sl_props *props, struct sl_diag *diag);

/* Free the strings that sl_keys_apply() strdup'ed into @settings. */
void sl_keys_free(const struct sl_key *tbl, void *settings);

/* Warn (as diag warnings) about properties no table or component claimed. */
void sl_props_warn_unused(const struct sl_props *props, struct sl_diag *diag);

/* Parse helpers shared with the config loader; return 0 or -EINVAL/-ERANGE. */
int sl_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
int sl_parse_bool(const char *s, bool *out);

#endif /* SL_PROPS_H */
