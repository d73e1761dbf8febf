/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Flume properties loader and the wired plan: every rule of the
 * java.util.Properties grammar with exact line numbers, ${env:} values,
 * overriding by later files, every validation error as its exact
 * "FILE:LINE: message", the printed plan, and the seed configs loading.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "sl_control.h"

static struct sl_conf conf;
static struct sl_diag diag;
static struct sl_plan plan;

static void
fini(void)
{
	sl_plan_free(&plan);
	sl_conf_free(&conf);
	sl_diag_free(&diag);
}

TestSuite(conf, .fini = fini);
TestSuite(plan, .fini = fini);

static void
parse(const char *name, const char *text)
{
	cr_assert_eq(sl_conf_parse_string(&conf, name, text, strlen(text),
					  &diag), 0);
}

static const struct sl_prop *
prop(const char *key)
{
	size_t i;

	for (i = 0; i < conf.n; i++)
		if (strcmp(conf.v[i].key, key) == 0)
			return &conf.v[i];
	cr_assert_fail("key '%s' not in the conf", key);
	return NULL;
}

/* @key has value @val and was read at @line. */
static void
expect_prop(const char *key, const char *val, int line)
{
	const struct sl_prop *p = prop(key);

	cr_expect_str_eq(p->val, val, "value of '%s'", key);
	cr_expect_eq(p->line, line, "line of '%s': %d, expected %d", key,
		     p->line, line);
}

/* The diag holds exactly these lines (NULL-terminated), in this order. */
static void
expect_lines(const char *first, ...)
{
	const char *l = first;
	size_t i = 0;
	va_list ap;

	va_start(ap, first);
	for (; l; l = va_arg(ap, const char *), i++) {
		cr_assert_lt(i, diag.n, "missing diag line %zu: %s", i, l);
		cr_expect_str_eq(diag.v[i].text, l);
	}
	va_end(ap);
	cr_expect_eq(diag.n, i, "%zu diag lines, expected %zu (first extra: "
		     "%s)", diag.n, i, diag.n > i ? diag.v[i].text : "");
}

/* Only the error lines, for configs whose source adds its own warnings. */
static void
expect_errors(const char *first, ...)
{
	const char *l = first;
	size_t i, n = 0;
	va_list ap;

	va_start(ap, first);
	for (i = 0; i < diag.n; i++) {
		if (diag.v[i].sev != SL_DIAG_ERROR)
			continue;
		cr_assert_not_null(l, "extra error: %s", diag.v[i].text);
		cr_expect_str_eq(diag.v[i].text, l);
		l = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	cr_expect_null(l, "missing error line: %s", l);
	cr_expect_eq(diag.nb_errors, n);
}

/* ---- grammar ----------------------------------------------------------- */

Test(conf, comment_lines_start_with_hash_or_bang_after_whitespace)
{
	parse("t.conf", "# one\n  ! two\n\t#three\nkey = v\n  # a = b\n");
	cr_expect_eq(conf.n, 1);
	expect_prop("key", "v", 4);
	cr_expect_eq(diag.n, 0);
}

Test(conf, comment_line_ending_in_backslash_does_not_continue)
{
	parse("t.conf", "# comment \\\nb = 2\n");
	cr_expect_eq(conf.n, 1);
	expect_prop("b", "2", 2);
}

Test(conf, hash_inside_a_value_is_not_a_comment)
{
	parse("t.conf", "a = x # y\n");
	expect_prop("a", "x # y", 1);
}

Test(conf, key_and_value_separated_by_equals_colon_or_whitespace)
{
	parse("t.conf", "a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t \f6\ng  =  7\n");
	expect_prop("a", "1", 1);
	expect_prop("b", "2", 2);
	expect_prop("c", "3", 3);
	expect_prop("d", "4", 4);
	expect_prop("e", "5", 5);
	expect_prop("f", "6", 6);
	expect_prop("g", "7", 7);
	cr_expect_eq(diag.n, 0);
}

Test(conf, only_one_separator_char_is_taken)
{
	parse("t.conf", "a == 1\nb = : 2\nc : = 3\nd 4 = 5\n");
	expect_prop("a", "= 1", 1);
	expect_prop("b", ": 2", 2);
	expect_prop("c", "= 3", 3);
	expect_prop("d", "4 = 5", 4);
}

Test(conf, key_ends_at_the_first_unescaped_separator)
{
	parse("t.conf", "a\\=b = c\nx\\ y = z\np:q=r\nk\\:1:v\n");
	expect_prop("a=b", "c", 1);
	expect_prop("x y", "z", 2);
	expect_prop("p", "q=r", 3);
	expect_prop("k:1", "v", 4);
}

Test(conf, key_alone_has_an_empty_value)
{
	parse("t.conf", "lonely\nalso =\nthird :   \n");
	expect_prop("lonely", "", 1);
	expect_prop("also", "", 2);
	expect_prop("third", "", 3);
}

Test(conf, line_without_key_is_ignored_with_a_warning)
{
	parse("t.conf", "a = 1\n= 2\n");
	cr_expect_eq(conf.n, 1);
	expect_lines("t.conf:2: warning: line has no key (ignored)", NULL);
}

Test(conf, leading_and_trailing_whitespace_of_values_is_dropped)
{
	/* Java keeps the trailing blanks; sluice drops unescaped ones. */
	parse("t.conf", "a =   memory \t \nb = v\\ \nc = v\\\\ \n"
		"d = in  side\n");
	expect_prop("a", "memory", 1);
	expect_prop("b", "v ", 2);
	expect_prop("c", "v\\", 3);
	expect_prop("d", "in  side", 4);
}

Test(conf, backslash_continues_a_line_without_the_next_lines_indent)
{
	parse("t.conf", "a = one \\\n    two\\\n\tthree\nb = x\n");
	expect_prop("a", "one twothree", 1);
	expect_prop("b", "x", 4);
}

Test(conf, continued_key_and_hash_on_a_continuation_line)
{
	parse("t.conf", "\nlong\\\n   key = v\nh = a\\\n  #b\n");
	expect_prop("longkey", "v", 2);
	expect_prop("h", "a#b", 4);
	cr_expect_eq(conf.n, 2);
}

Test(conf, even_backslashes_do_not_continue)
{
	parse("t.conf", "c = x\\\\\nd = y\n");
	expect_prop("c", "x\\", 1);
	expect_prop("d", "y", 2);
}

Test(conf, continuation_into_a_blank_line_ends_the_value)
{
	parse("t.conf", "e = x\\\n\nf = 1\ng = z\\");
	expect_prop("e", "x", 1);
	expect_prop("f", "1", 3);
	expect_prop("g", "z", 4);
}

Test(conf, escapes_as_java_reads_them)
{
	parse("t.conf", "a = \\tT\\nN\\rR\\fF\\\\B\\q\\=\\:\\#\\!\\ x\n");
	expect_prop("a", "\tT\nN\rR\fF\\Bq=:#! x", 1);
}

Test(conf, unicode_escapes_become_utf8)
{
	parse("t.conf", "u = \\u0041\\u00e9\\u4E2D\\uD83D\\uDE00\n"
		"\\u006Bey = 1\n");
	expect_prop("u", "A\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 1);
	expect_prop("key", "1", 2);
}

Test(conf, malformed_unicode_escapes_are_errors_with_their_line)
{
	parse("t.conf", "ok = 1\nbad = \\u12G4\nshort = \\u12\n"
		"lone = \\uD800x\nnul = \\u0000\n");
	expect_lines("t.conf:2: malformed \\uXXXX escape",
		     "t.conf:3: malformed \\uXXXX escape",
		     "t.conf:4: malformed \\uXXXX escape",
		     "t.conf:5: \\u0000 is not allowed", NULL);
	cr_expect_eq(conf.n, 1);
	cr_expect_eq(diag.nb_errors, 4);
}

Test(conf, crlf_and_lone_cr_end_lines)
{
	parse("t.conf", "a = 1\r\nb = 2\r\n\r\nc = 3\rd = x\\\r\n  y\r\n"
		"e = 5\r\n");
	expect_prop("a", "1", 1);
	expect_prop("b", "2", 2);
	expect_prop("c", "3", 4);
	expect_prop("d", "xy", 5);
	expect_prop("e", "5", 7);
}

Test(conf, utf8_comments_and_values_pass_through)
{
	parse("t.conf", "\xef\xbb\xbf# \xe9\x85\x8d\xe7\xbd\xae Source\n"
		"a = \xe5\x80\xbc\n");
	expect_prop("a", "\xe5\x80\xbc", 2);
	cr_expect_eq(conf.n, 1);
	cr_expect_eq(diag.n, 0);
}

Test(conf, a_repeated_key_overrides_and_moves_to_its_new_place)
{
	parse("t.conf", "a = 1\nb = 2\na = 3\n");
	cr_assert_eq(conf.n, 2);
	cr_expect_str_eq(conf.v[0].key, "b");
	cr_expect_str_eq(conf.v[1].key, "a");
	expect_prop("a", "3", 3);
}

Test(conf, a_later_file_overrides_with_its_own_file_and_line)
{
	parse("base.conf", "a = 1\nb = 2\n");
	parse("over.conf", "\n\na = 9\n");
	cr_expect_eq(conf.n, 2);
	expect_prop("a", "9", 3);
	cr_expect_str_eq(prop("a")->file, "over.conf");
	cr_expect_str_eq(prop("b")->file, "base.conf");
	cr_expect_eq(conf.nb_files, 2);
}

Test(conf, env_variables_are_substituted_in_values)
{
	setenv("SLUICE_T_HOST", "m1:9092", 1);
	setenv("SLUICE_T_RAW", "a\\tb", 1);
	parse("t.conf", "a = x-${env:SLUICE_T_HOST}-${env:SLUICE_T_HOST}\n"
		"b = ${env:SLUICE_T_RAW}\nc = ${HOME} ${env:SLUICE_T_HOST\n");
	expect_prop("a", "x-m1:9092-m1:9092", 1);
	/* The environment's text is taken as is, never unescaped. */
	expect_prop("b", "a\\tb", 2);
	expect_lines("t.conf:3: unterminated ${env:...} in value", NULL);
}

Test(conf, unset_env_variable_is_an_error_at_the_keys_line)
{
	unsetenv("SLUICE_T_UNSET");
	parse("t.conf", "a = 1\n\nb = \\\n  ${env:SLUICE_T_UNSET}\n");
	expect_lines("t.conf:3: environment variable SLUICE_T_UNSET is not "
		     "set", NULL);
	cr_expect_eq(conf.n, 1);
}

Test(conf, unreadable_file_is_named)
{
	cr_expect_eq(sl_conf_parse_file(&conf, "/nonexistent/x.conf", &diag),
		     -ENOENT);
	expect_lines("/nonexistent/x.conf: cannot read: No such file or "
		     "directory", NULL);
}

/* ---- the plan ---------------------------------------------------------- */

/* A valid channel + sink pair; tests append to it or replace parts. */
#define BASE \
	"a1.channels = c1\n"			/* 1 */ \
	"a1.sinks = k1\n"			/* 2 */ \
	"a1.channels.c1.type = memory\n"	/* 3 */ \
	"a1.sinks.k1.type = null\n"		/* 4 */ \
	"a1.sinks.k1.channel = c1\n"		/* 5 */

static int
build(const char *text)
{
	parse("t.conf", text);
	return sl_plan_build(&conf, "a1", &plan, &diag);
}

static const struct sl_plan_comp *
comp(const char *name)
{
	size_t i;

	for (i = 0; i < plan.nb_comps; i++)
		if (strcmp(plan.comps[i].name, name) == 0)
			return &plan.comps[i];
	cr_assert_fail("no component %s", name);
	return NULL;
}

/* "1..2147483647": the range a key of a registered type allows. */
static const char *
range_of(enum sl_comp_kind kind, const char *type, const char *key)
{
	static char buf[64];
	const struct sl_type *t = sl_registry_find(kind, type);
	const struct sl_key *k;

	cr_assert_not_null(t);
	for (k = t->keys; k && k->name; k++)
		if (strcmp(k->name, key) == 0)
			break;
	cr_assert(k && k->name && k->min < k->max, "%s has no range", key);
	snprintf(buf, sizeof(buf), "%" PRId64 "..%" PRId64,
		 k->type == SL_KEY_INT ? k->min : SL_MAX(k->min, (int64_t)0),
		 k->max);
	return buf;
}

static char *
fmt(const char *f, ...)
{
	static char bufs[4][512];
	static int n;
	char *b = bufs[n++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return b;
}

Test(plan, channels_then_sinks_then_sources_with_channel_indexes)
{
	cr_assert_eq(build(
		"a1.sources = r1\n"
		"a1.sinks = k1 k2\n"
		"a1.channels = c1 c2\n"
		"a1.sources.r1.type = netcat\n"
		"a1.sources.r1.bind = 127.0.0.1\n"
		"a1.sources.r1.port = 4141\n"
		"a1.sources.r1.channels = c1 c2\n"
		"a1.sinks.k1.type = logger\n"
		"a1.sinks.k1.channel = c1\n"
		"a1.sinks.k2.type = org.apache.flume.sink.LoggerSink\n"
		"a1.sinks.k2.channel = c2\n"
		"a1.channels.c1.type = memory\n"
		"a1.channels.c2.type = MEMORY\n"), 0);
	cr_assert_eq(plan.nb_comps, 5);
	cr_expect_str_eq(plan.agent, "a1");
	cr_expect_str_eq(plan.comps[0].name, "c1");
	cr_expect_str_eq(plan.comps[1].name, "c2");
	cr_expect_str_eq(plan.comps[2].name, "k1");
	cr_expect_str_eq(plan.comps[3].name, "k2");
	cr_expect_str_eq(plan.comps[4].name, "r1");
	cr_expect_eq(plan.comps[3].nb_chans, 1);
	cr_expect_eq(plan.comps[3].chan_idx[0], 1);
	cr_expect_eq(plan.comps[4].nb_chans, 2);
	cr_expect_eq(plan.comps[4].chan_idx[0], 0);
	cr_expect_eq(plan.comps[4].chan_idx[1], 1);
	cr_expect_eq(plan.comps[3].type,
		     sl_registry_find(SL_COMP_SINK, "logger"));
	cr_expect_str_eq(plan.comps[4].props.comp, "a1.sources.r1");
	cr_expect_eq(plan.comps[4].props.line, 4);
	/* Wiring keys are consumed by the plan, the rest is the type's. */
	cr_expect_eq(plan.comps[4].props.n, 2);
}

Test(plan, component_keys_reach_their_settings)
{
	const struct sl_plan_comp *c;

	cr_assert_eq(build(BASE "a1.channels.c1.capacity = 5000\n"), 0);
	c = comp("c1");
	cr_expect_eq(c->props.n, 1);
	cr_expect_str_eq(c->props.v[0].key, "capacity");
	cr_expect_str_eq(c->props.v[0].val, "5000");
	cr_expect_eq(c->props.v[0].line, 6);
	cr_expect(c->props.v[0].used);
	cr_expect_not_null(c->settings);
	cr_expect_eq(diag.n, 0);
}

Test(plan, other_agent_keys_go_to_agent_props_silently)
{
	cr_assert_eq(build(BASE "a1.other.ports = 0\nb1.x = y\n"), 0);
	cr_assert_eq(plan.agent_props.n, 1);
	cr_expect_str_eq(plan.agent_props.comp, "a1");
	cr_expect_str_eq(plan.agent_props.v[0].key, "other.ports");
	cr_expect_str_eq(plan.agent_props.v[0].val, "0");
	cr_expect_eq(diag.n, 0);
}

Test(plan, no_key_for_the_agent_names_the_agents_the_file_has)
{
	parse("t.conf", "x = 1\nb2.sources = r\na1x.y = 2\nb2.z = 3\n"
	      "a1.sinks = k\n");
	cr_expect_eq(sl_plan_build(&conf, "a9", &plan, &diag), 1);
	expect_lines("t.conf: no configuration for agent 'a9' (agents in this"
		     " file: b2, a1x, a1)", NULL);
}

Test(plan, unknown_type_lists_the_known_types_of_its_kind)
{
	char known[512];

	sl_registry_known(SL_COMP_SINK, known, sizeof(known));
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.type = hdfs2\n"
		"a1.sinks.k1.channel = c1\n"
		"a1.sinks.k1.hdfs.path = /x\n"), 1);
	expect_lines(fmt("t.conf:4: a1.sinks.k1: unknown sink type 'hdfs2' "
			 "(known: %s)", known), NULL);
}

Test(plan, known_but_unbuilt_type_says_why)
{
	const struct sl_type *t = sl_registry_find(SL_COMP_CHANNEL, "jdbc");

	cr_assert_not_null(t);
	if (t->ops)
		cr_skip_test("the jdbc channel is built now");
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = jdbc\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channel = c1\n"), 1);
	expect_lines(fmt("t.conf:3: a1.channels.c1: type jdbc is known but "
			 "not built in this sluice: %s", t->unbuilt), NULL);
}

Test(plan, missing_type_points_at_the_components_first_key)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.channel = c1\n"), 1);
	expect_lines("t.conf:4: a1.sinks.k1: no type (a1.sinks.k1.type is not "
		     "set)", NULL);
}

Test(plan, empty_type_is_an_empty_value)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type =\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channel = c1\n"), 1);
	expect_lines("t.conf:3: a1.channels.c1.type: empty value", NULL);
}

Test(plan, missing_required_keys_point_at_the_type_line)
{
	const struct sl_type *t = sl_registry_find(SL_COMP_SOURCE, "netcat");
	const struct sl_key *k;
	int nb_required = 0;
	size_t i = 0;

	cr_assert_not_null(t);
	for (k = t->keys; k && k->name; k++)
		nb_required += k->required && !k->alias_of;
	if (nb_required == 0)
		cr_skip_test("netcat has no required key");
	cr_expect_eq(build(BASE
		"a1.sources = r1\n"			/* 6 */
		"a1.sources.r1.channels = c1\n"		/* 7 */
		"a1.sources.r1.type = netcat\n"),	/* 8 */
		nb_required);
	for (k = t->keys; k->name; k++) {
		if (!k->required || k->alias_of)
			continue;
		cr_assert_lt(i, diag.n);
		cr_expect_str_eq(diag.v[i].text, fmt("t.conf:8: a1.sources.r1:"
			" %s is required", k->name));
		i++;
	}
	cr_expect_eq(diag.n, i);
}

Test(plan, empty_value_of_a_key_is_an_error)
{
	cr_expect_eq(build(BASE "a1.channels.c1.capacity =\n"), 1);
	expect_lines("t.conf:6: a1.channels.c1.capacity: empty value", NULL);
}

Test(plan, non_numeric_value_names_key_value_and_range)
{
	cr_expect_eq(build(BASE "a1.channels.c1.capacity = 1k\n"), 1);
	expect_lines(fmt("t.conf:6: a1.channels.c1.capacity: '1k' is not an "
			 "integer (allowed: %s)", range_of(SL_COMP_CHANNEL,
			 "memory", "capacity")), NULL);
}

Test(plan, out_of_range_value_names_key_value_and_range)
{
	cr_expect_eq(build(BASE "a1.channels.c1.capacity = 0\n"), 1);
	expect_lines(fmt("t.conf:6: a1.channels.c1.capacity: 0 is out of "
			 "range (allowed: %s)", range_of(SL_COMP_CHANNEL,
			 "memory", "capacity")), NULL);
}

Test(plan, sink_naming_an_undefined_channel)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channel = c9\n"), 1);
	expect_lines("t.conf:3: warning: a1.channels.c1: no source or sink "
		     "uses this channel",
		     "t.conf:5: a1.sinks.k1.channel: channel 'c9' is not "
		     "listed in a1.channels", NULL);
}

Test(plan, sink_without_a_channel)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channels = c1\n"
		"a1.channels.c1.type = memory\n"), 1);
	expect_lines("t.conf:3: a1.sinks.k1: no channel (a1.sinks.k1.channel "
		     "is not set)",
		     "t.conf:4: warning: a1.sinks.k1.channels: unknown key "
		     "(ignored)",
		     "t.conf:5: warning: a1.channels.c1: no source or sink "
		     "uses this channel", NULL);
}

/* Events are kept per sink: a channel no sink takes from refuses them. */
Test(plan, channel_that_no_sink_takes_from)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sources = r1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sources.r1.type = netcat\n"
		"a1.sources.r1.bind = 127.0.0.1\n"
		"a1.sources.r1.port = 4141\n"
		"a1.sources.r1.channels = c1\n"), 0);
	expect_lines("t.conf:3: warning: a1.channels.c1: no sink takes from "
		     "this channel: its sources' events are refused "
		     "(ChannelWriteFail) until one does", NULL);
}

Test(plan, source_without_channels)
{
	cr_expect_eq(build(BASE
		"a1.sources = r1\n"
		"a1.sources.r1.type = netcat\n"		/* 7 */
		"a1.sources.r1.bind = 127.0.0.1\n"
		"a1.sources.r1.port = 4141\n"), 1);
	expect_errors("t.conf:7: a1.sources.r1: no channels "
		      "(a1.sources.r1.channels is not set)", NULL);
}

Test(plan, source_naming_an_undefined_channel)
{
	cr_expect_eq(build(BASE
		"a1.sources = r1\n"
		"a1.sources.r1.type = netcat\n"
		"a1.sources.r1.bind = 127.0.0.1\n"
		"a1.sources.r1.port = 4141\n"
		"a1.sources.r1.channels = c1 c2\n"), 1);	/* 10 */
	expect_errors("t.conf:10: a1.sources.r1.channels: channel 'c2' is not"
		      " listed in a1.channels", NULL);
	cr_expect_eq(comp("r1")->nb_chans, 1);
}

Test(plan, sink_batch_larger_than_channel_transaction_capacity)
{
	cr_expect_eq(build(BASE
		"a1.channels.c1.transactionCapacity = 100\n"
		"a1.sinks.k1.batchSize = 500\n"), 1);
	expect_lines("t.conf:7: a1.sinks.k1: batchSize 500 is greater than "
		     "transactionCapacity 100 of channel c1", NULL);
}

Test(plan, default_sink_batch_larger_than_transaction_capacity)
{
	cr_expect_eq(build(BASE
		"a1.channels.c1.transactionCapacity = 10\n"), 1);
	expect_lines("t.conf:4: a1.sinks.k1: batchSize 100 (default) is "
		     "greater than transactionCapacity 10 of channel c1", NULL);
}

Test(plan, transaction_capacity_larger_than_capacity)
{
	cr_expect_eq(build(BASE
		"a1.channels.c1.transactionCapacity = 2000\n"
		"a1.channels.c1.capacity = 1000\n"
		"a1.sinks.k1.batchSize = 10\n"), 1);
	expect_lines("t.conf:6: a1.channels.c1: transactionCapacity 2000 is "
		     "greater than capacity 1000", NULL);
}

Test(plan, unknown_keys_are_warnings_only)
{
	cr_expect_eq(build(BASE "a1.sinks.k1.batchsize = 10\n"
			   "a1.channels.c1.selector.type = x\n"), 0);
	expect_lines("t.conf:6: warning: a1.sinks.k1.batchsize: unknown key "
		     "(ignored)",
		     "t.conf:7: warning: a1.channels.c1.selector.type: unknown "
		     "key (ignored)", NULL);
}

Test(plan, sink_groups_get_one_warning)
{
	cr_expect_eq(build(BASE "a1.sinkgroups = g1\n"
			   "a1.sinkgroups.g1.sinks = k1\n"), 0);
	expect_lines("t.conf:6: warning: sink groups are not supported yet; "
		     "each sink runs on its own", NULL);
	cr_expect_eq(plan.agent_props.n, 0);
}

Test(plan, listed_but_never_configured)
{
	cr_expect_eq(build(
		"a1.channels = c1\n"
		"a1.sinks = k1 k2\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channel = c1\n"), 1);
	expect_lines("t.conf:2: a1.sinks.k2: listed in a1.sinks but not "
		     "configured", NULL);
}

Test(plan, configured_but_not_listed_is_ignored_with_one_warning)
{
	cr_expect_eq(build(BASE
		"a1.sinks.k9.type = nonsense\n"
		"a1.sinks.k9.channel = c7\n"
		"a1.sinks.k1 = odd\n"), 0);
	expect_lines("t.conf:6: warning: a1.sinks.k9: configured but not "
		     "listed in a1.sinks (ignored)",
		     "t.conf:8: warning: a1.sinks.k1: unknown key (ignored)",
		     NULL);
	cr_expect_eq(plan.nb_comps, 2);
}

Test(plan, name_listed_twice_is_kept_once)
{
	cr_expect_eq(build(
		"a1.channels = c1 c1\n"
		"a1.sinks = k1\n"
		"a1.channels.c1.type = memory\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.channel = c1\n"), 0);
	expect_lines("t.conf:1: warning: a1.channels: c1 is listed twice",
		     NULL);
	cr_expect_eq(plan.nb_comps, 2);
}

Test(plan, agent_without_channels_or_with_nothing_to_run)
{
	cr_expect_eq(build("a1.foo = 1\n"), 2);
	expect_lines("t.conf: agent 'a1' has no channels (a1.channels is not "
		     "set)",
		     "t.conf: agent 'a1' has no sources and no sinks "
		     "(a1.sources and a1.sinks are not set)", NULL);
}

Test(plan, messages_follow_file_order_across_components_and_files)
{
	parse("base.conf",
		"a1.sinks = k1\n"
		"a1.sinks.k1.type = null\n"
		"a1.sinks.k1.batchSize = big\n"		/* 3 */
		"a1.sinks.k1.channel = c1\n"
		"a1.channels = c1\n"
		"a1.channels.c1.type = memory\n"
		"a1.channels.c1.capacity = -1\n");	/* 7 */
	parse("over.conf",
		"a1.channels.c1.keep-alive = x\n"	/* 1 */
		"a1.sinks.k1.nope = 1\n");		/* 2 */
	cr_expect_eq(sl_plan_build(&conf, "a1", &plan, &diag), 3);
	cr_assert_eq(diag.n, 4);
	cr_expect(strncmp(diag.v[0].text, "base.conf:3: ", 13) == 0);
	cr_expect(strncmp(diag.v[1].text, "base.conf:7: ", 13) == 0);
	cr_expect(strncmp(diag.v[2].text, "over.conf:1: ", 13) == 0);
	cr_expect_str_eq(diag.v[3].text, "over.conf:2: warning: "
			 "a1.sinks.k1.nope: unknown key (ignored)");
}

Test(plan, a_later_file_overrides_a_component_key)
{
	parse("base.conf", BASE "a1.channels.c1.capacity = 1000\n");
	parse("over.conf", "\na1.channels.c1.capacity = many\n");
	cr_expect_eq(sl_plan_build(&conf, "a1", &plan, &diag), 1);
	expect_lines(fmt("over.conf:2: a1.channels.c1.capacity: 'many' is not"
			 " an integer (allowed: %s)", range_of(
			 SL_COMP_CHANNEL, "memory", "capacity")), NULL);
}

/* ---- sluice check's print ---------------------------------------------- */

struct fake_set {
	int64_t batch;
	char *servers;
	bool sync;
	char *topic;
};

static const struct sl_key fake_keys[] = {
	{ "flumeBatchSize", SL_KEY_INT, "100",
	  offsetof(struct fake_set, batch), 1, 1000 },
	{ "batchSize", SL_KEY_INT, NULL, offsetof(struct fake_set, batch),
	  .alias_of = "flumeBatchSize" },
	{ "kafka.bootstrap.servers", SL_KEY_STR, NULL,
	  offsetof(struct fake_set, servers) },
	{ "brokerList", SL_KEY_STR, NULL, offsetof(struct fake_set, servers),
	  .alias_of = "kafka.bootstrap.servers" },
	{ "sync", SL_KEY_BOOL, "false", offsetof(struct fake_set, sync) },
	{ "kafka.topic", SL_KEY_STR, NULL, offsetof(struct fake_set, topic) },
	SL_KEY_END,
};

static const struct sl_type fake_sink = {
	.kind = SL_COMP_SINK, .type = "fakekafka", .keys = fake_keys,
	.settings_size = sizeof(struct fake_set),
};

static const struct sl_type fake_chan = {
	.kind = SL_COMP_CHANNEL, .type = "fakemem", .keys = fake_keys + 4,
	.settings_size = sizeof(struct fake_set),
};

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	cr_assert_not_null(d);
	return d;
}

/* A plan built by hand, so the print is tested on a known key table. */
static void
fake_plan(void)
{
	struct sl_plan_comp *c = calloc(2, sizeof(*c));
	struct sl_prop *p = calloc(3, sizeof(*p));
	struct sl_diag d = { 0 };

	cr_assert(c && p);
	plan.agent = xstrdup("a1");
	plan.agent_props.comp = xstrdup("a1");
	plan.agent_props.file = "f.conf";
	plan.comps = c;
	plan.nb_comps = 2;
	c[0] = (struct sl_plan_comp){
		.kind = SL_COMP_CHANNEL, .name = xstrdup("c1"),
		.type = &fake_chan, .settings = calloc(1, sizeof(struct
							       fake_set)),
		.props = { .comp = xstrdup("a1.channels.c1"), .file = "f.conf",
			   .line = 1 },
	};
	c[1] = (struct sl_plan_comp){
		.kind = SL_COMP_SINK, .name = xstrdup("k1"),
		.type = &fake_sink, .settings = calloc(1, sizeof(struct
							       fake_set)),
		.props = { .comp = xstrdup("a1.sinks.k1"), .v = p, .n = 3,
			   .file = "f.conf", .line = 2 },
		.chan_idx = calloc(1, sizeof(unsigned)), .nb_chans = 1,
	};
	p[0] = (struct sl_prop){ xstrdup("brokerList"), xstrdup("m1:9092"),
				 "f.conf", 3 };
	p[1] = (struct sl_prop){ xstrdup("sync"), xstrdup("true"), "g.conf",
				 4 };
	p[2] = (struct sl_prop){ xstrdup("kafka.producer.acks"),
				 xstrdup("all"), "f.conf", 5 };
	cr_assert_eq(sl_keys_apply(fake_keys, c[1].settings, &c[1].props, &d),
		     0);
	cr_assert_eq(sl_keys_apply(fake_chan.keys, c[0].settings,
				   &c[0].props, &d), 0);
	p[2].used = true;	/* as a validate hook claims a key family */
	sl_diag_free(&d);
}

Test(plan, print_shows_every_key_with_where_its_value_came_from)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	fake_plan();
	sl_plan_print(&plan, f);
	fclose(f);
	cr_expect_str_eq(out,
		"agent a1 (f.conf, g.conf)\n"
		"  channel c1 (fakemem)\n"
		"    sync = false (default)\n"
		"    kafka.topic = (not set)\n"
		"  sink k1 (fakekafka) <- c1\n"
		"    flumeBatchSize = 100 (default)\n"
		"    kafka.bootstrap.servers = m1:9092 (from brokerList)\n"
		"    sync = true\n"
		"    kafka.topic = (not set)\n"
		"    kafka.producer.acks = all\n");
	free(out);
}

/* ---- the seed configs -------------------------------------------------- */

/*
 * The source tree: $SLUICE_SRC when set, else from this file's path, which
 * meson gives relative to the build root (the test binary's parent dir).
 */
static const char *
src_path(const char *rel)
{
	static char buf[PATH_MAX];
	const char *me = __FILE__, *env = getenv("SLUICE_SRC");
	const char *tail = "tests/unit/control/test_conf.c";
	size_t root_len = strlen(me) - strlen(tail);
	char exe[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(buf, sizeof(buf), "%s/%s", env, rel);
		return buf;
	}
	cr_assert(strcmp(me + root_len, tail) == 0);
	if (me[0] == '/') {
		snprintf(buf, sizeof(buf), "%.*s%s", (int)root_len, me, rel);
		return buf;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	snprintf(buf, sizeof(buf), "%s/../%.*s%s", dirname(exe),
		 (int)root_len, me, rel);
	return buf;
}

Test(plan, seed_netcat_logger_loads_unchanged)
{
	const char *path = src_path("deploy/conf/netcat-logger.conf");
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(sl_conf_parse_file(&conf, path, &diag), 0, "%s", path);
	cr_expect_eq(sl_plan_build(&conf, "agent1", &plan, &diag), 0);
	cr_expect_eq(diag.n, 0, "first: %s", diag.n ? diag.v[0].text : "");
	cr_assert_eq(plan.nb_comps, 3);
	f = open_memstream(&out, &len);
	cr_assert_not_null(f);
	sl_plan_print(&plan, f);
	fclose(f);
	cr_expect(strncmp(out, fmt("agent agent1 (%s)\n  source r1 (netcat) "
		  "-> c1\n", path), strlen(fmt("agent agent1 (%s)\n  source "
		  "r1 (netcat) -> c1\n", path))) == 0, "%s", out);
	cr_expect_not_null(strstr(out, "    bind = 0.0.0.0\n"
				  "    port = 4141\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\n  channel c1 (memory)\n"
				  "    capacity = 1000\n"
				  "    transactionCapacity = 100\n"),
			   "%s", out);
	cr_expect_not_null(strstr(out, "\n  sink k1 (logger) <- c1\n"
				  "    maxBytesToLog = 16 (default)\n"),
			   "%s", out);
	free(out);
}

/*
 * Until the Kafka sink is built the registry marks it unbuilt and the seed
 * gets exactly that one error; once it is built, the seed loads with none.
 */
Test(plan, seed_netcat_kafka_loads_or_names_the_unbuilt_sink)
{
	const char *path = src_path("deploy/conf/netcat-kafka.conf");
	const struct sl_type *t = sl_registry_find(SL_COMP_SINK,
		"org.apache.flume.sink.kafka.KafkaSink");
	int nb_errors;

	cr_assert_not_null(t);
	cr_assert_eq(sl_conf_parse_file(&conf, path, &diag), 0, "%s", path);
	nb_errors = sl_plan_build(&conf, "agent1", &plan, &diag);
	if (t->ops) {
		cr_expect_eq(nb_errors, 0, "first: %s",
			     diag.n ? diag.v[0].text : "");
		/* topic, brokerList, requiredAcks, batchSize: old names */
		cr_expect_eq(diag.nb_warnings, 4, "one warning per deprecated "
			     "KafkaSink name");
		expect_lines(fmt("%s:14: warning: agent1.sinks.k1.topic is "
				 "deprecated, use kafka.topic", path),
			     fmt("%s:15: warning: agent1.sinks.k1.brokerList "
				 "is deprecated, use kafka.bootstrap.servers",
				 path),
			     fmt("%s:16: warning: agent1.sinks.k1.requiredAcks "
				 "is deprecated, use kafka.producer.acks", path),
			     fmt("%s:17: warning: agent1.sinks.k1.batchSize is "
				 "deprecated, use flumeBatchSize", path), NULL);
		return;
	}
	cr_expect_eq(nb_errors, 1);
	expect_lines(fmt("%s:13: agent1.sinks.k1: type org.apache.flume.sink."
			 "kafka.KafkaSink is known but not built in this "
			 "sluice: %s", path, t->unbuilt), NULL);
}
