/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key tables and diagnostics: defaults, required keys, integer and boolean
 * parsing with ranges, empty values, deprecated aliases (alone, beside the
 * new key), unknown-key warnings and the exact text of every message.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sl_props.h"

struct t_settings {
	char *name;
	int64_t port;
	uint64_t size;
	uint64_t bytes;
	bool flag;
	char *servers;
	int64_t delta;
};

#define T_OFF(f) offsetof(struct t_settings, f)

static const struct sl_key t_keys[] = {
	{ "name", SL_KEY_STR, "anon", T_OFF(name) },
	{ "port", SL_KEY_INT, NULL, T_OFF(port), 1, 65535, .required = true },
	{ "size", SL_KEY_UINT, "10", T_OFF(size), 1, 1000 },
	{ "bytes", SL_KEY_BYTES, "0", T_OFF(bytes) },
	{ "flag", SL_KEY_BOOL, "false", T_OFF(flag) },
	{ "kafka.bootstrap.servers", SL_KEY_STR, NULL, T_OFF(servers) },
	{ "brokerList", SL_KEY_STR, NULL, T_OFF(servers),
	  .alias_of = "kafka.bootstrap.servers" },
	{ "metadata.broker.list", SL_KEY_STR, NULL, T_OFF(servers),
	  .alias_of = "kafka.bootstrap.servers" },
	{ "delta", SL_KEY_INT, "-5", T_OFF(delta) },
	SL_KEY_END,
};

/* "key=value" pairs at lines 5, 6, 7...; the component is declared at 3. */
static struct sl_prop t_prop_v[16];
static struct sl_props t_props = {
	.comp = "a1.sinks.k1", .v = t_prop_v, .file = "t.conf", .line = 3,
};
static struct t_settings set;
static struct sl_diag diag;

static void
props_set(const char *const *kv)
{
	size_t i;

	for (i = 0; kv[2 * i]; i++) {
		t_prop_v[i] = (struct sl_prop){
			.key = (char *)kv[2 * i], .val = (char *)kv[2 * i + 1],
			.file = "t.conf", .line = 5 + (int)i,
		};
	}
	t_props.n = i;
}

static int
apply(const char *const *kv)
{
	props_set(kv);
	return sl_keys_apply(t_keys, &set, &t_props, &diag);
}

static void
fini(void)
{
	sl_keys_free(t_keys, &set);
	sl_diag_free(&diag);
}

static void
expect_lines(const char *const *lines)
{
	size_t i;

	for (i = 0; lines[i]; i++) {
		cr_assert_lt(i, diag.n, "missing diag line %zu: %s", i,
			     lines[i]);
		cr_expect_str_eq(diag.v[i].text, lines[i]);
	}
	cr_assert_eq(diag.n, i, "%zu diag lines, expected %zu (first extra:"
		     " %s)", diag.n, i, diag.n > i ? diag.v[i].text : "");
}

/*
 * One bad value for @key, set at line 6 after a good port at line 5 (or at
 * line 5 when @key is the port): exactly one error line, @text.
 */
static void
expect_one_error(const char *key, const char *val, const char *text)
{
	const char *with_port[] = { "port", "80", key, val, NULL };
	const char *alone[] = { key, val, NULL };
	const char *lines[] = { text, NULL };

	cr_expect_eq(apply(strcmp(key, "port") ? with_port : alone), 1);
	expect_lines(lines);
	cr_expect_eq(diag.nb_errors, 1);
}

TestSuite(props, .fini = fini);

Test(props, defaults_fill_every_key_the_file_does_not_set)
{
	const char *kv[] = { "port", "8080", NULL };

	cr_assert_eq(apply(kv), 0);
	cr_expect_str_eq(set.name, "anon");
	cr_expect_eq(set.port, 8080);
	cr_expect_eq(set.size, 10);
	cr_expect_eq(set.bytes, 0);
	cr_expect_eq(set.flag, false);
	cr_expect_null(set.servers);
	cr_expect_eq(set.delta, -5);
	cr_expect_eq(diag.n, 0);
	cr_expect(t_prop_v[0].used);
}

Test(props, values_from_the_file_replace_the_defaults)
{
	const char *kv[] = { "name", "svc", "port", "+1", "size", "1000",
			     "bytes", "18446744073709551615", "flag", "TRUE",
			     "delta", "-9223372036854775808", NULL };

	cr_assert_eq(apply(kv), 0);
	cr_expect_str_eq(set.name, "svc");
	cr_expect_eq(set.port, 1);
	cr_expect_eq(set.size, 1000);
	cr_expect_eq(set.bytes, UINT64_MAX);
	cr_expect_eq(set.flag, true);
	cr_expect_eq(set.delta, INT64_MIN);
	cr_expect_eq(diag.n, 0);
}

Test(props, booleans_are_true_or_false_in_any_case)
{
	const char *kv[] = { "port", "1", "flag", "fAlSe", NULL };

	set.flag = true;
	cr_assert_eq(apply(kv), 0);
	cr_expect_eq(set.flag, false);
}

Test(props, missing_required_key_points_at_the_component_declaration)
{
	const char *kv[] = { "name", "x", NULL };
	const char *lines[] = { "t.conf:3: a1.sinks.k1: port is required",
				NULL };

	cr_expect_eq(apply(kv), 1);
	expect_lines(lines);
}

Test(props, integer_out_of_range_names_key_value_and_range)
{
	expect_one_error("port", "65536", "t.conf:5: a1.sinks.k1.port: 65536 "
			 "is out of range (allowed: 1..65535)");
}

Test(props, integer_below_range_is_out_of_range)
{
	expect_one_error("port", "0", "t.conf:5: a1.sinks.k1.port: 0 is out "
			 "of range (allowed: 1..65535)");
}

Test(props, integer_accepts_decimal_only)
{
	expect_one_error("port", "0x50", "t.conf:5: a1.sinks.k1.port: '0x50' "
			 "is not an integer (allowed: 1..65535)");
}

Test(props, integer_with_a_unit_suffix_is_not_an_integer)
{
	expect_one_error("size", "10k", "t.conf:6: a1.sinks.k1.size: '10k' is "
			 "not an integer (allowed: 1..1000)");
}

Test(props, sign_alone_is_not_an_integer)
{
	expect_one_error("delta", "-", "t.conf:6: a1.sinks.k1.delta: '-' is "
			 "not an integer (allowed: "
			 "-9223372036854775808..9223372036854775807)");
}

Test(props, integer_overflow_without_range_is_out_of_range)
{
	expect_one_error("delta", "9223372036854775808", "t.conf:6: "
			 "a1.sinks.k1.delta: 9223372036854775808 is out of "
			 "range (allowed: "
			 "-9223372036854775808..9223372036854775807)");
}

Test(props, negative_unsigned_is_out_of_range)
{
	expect_one_error("size", "-1", "t.conf:6: a1.sinks.k1.size: -1 is out "
			 "of range (allowed: 1..1000)");
}

Test(props, bytes_beyond_64_bits_are_out_of_range)
{
	expect_one_error("bytes", "18446744073709551616", "t.conf:6: "
			 "a1.sinks.k1.bytes: 18446744073709551616 is out of "
			 "range (allowed: 0..18446744073709551615)");
}

Test(props, boolean_other_than_true_or_false_is_an_error)
{
	expect_one_error("flag", "yes", "t.conf:6: a1.sinks.k1.flag: 'yes' is "
			 "not a boolean (allowed: true, false)");
}

Test(props, empty_value_is_an_error)
{
	expect_one_error("name", "", "t.conf:6: a1.sinks.k1.name: empty "
			 "value");
}

Test(props, bad_value_leaves_the_default_in_place)
{
	const char *kv[] = { "port", "1", "size", "lots", NULL };

	cr_expect_eq(apply(kv), 1);
	cr_expect_eq(set.size, 10);
}

Test(props, errors_are_counted_and_returned)
{
	const char *kv[] = { "size", "0", "flag", "1", NULL };
	const char *lines[] = {
		"t.conf:3: a1.sinks.k1: port is required",
		"t.conf:5: a1.sinks.k1.size: 0 is out of range (allowed: "
		"1..1000)",
		"t.conf:6: a1.sinks.k1.flag: '1' is not a boolean (allowed: "
		"true, false)",
		NULL,
	};

	cr_expect_eq(apply(kv), 3);
	cr_expect_eq(diag.nb_errors, 3);
	cr_expect_eq(diag.nb_warnings, 0);
	/* Table order: port, size, flag. */
	expect_lines(lines);
}

Test(props, deprecated_alias_alone_sets_the_new_key_with_one_warning)
{
	const char *kv[] = { "port", "1", "brokerList", "m1:9092", NULL };
	const char *lines[] = {
		"t.conf:6: warning: a1.sinks.k1.brokerList is deprecated, use "
		"kafka.bootstrap.servers",
		NULL,
	};

	cr_assert_eq(apply(kv), 0);
	cr_expect_str_eq(set.servers, "m1:9092");
	expect_lines(lines);
	cr_expect_eq(diag.nb_warnings, 1);
	cr_expect(t_prop_v[1].used);
}

Test(props, new_key_wins_over_the_alias_and_the_alias_is_ignored)
{
	const char *kv[] = { "brokerList", "old:1", "port", "1",
			     "kafka.bootstrap.servers", "new:2", NULL };
	const char *lines[] = {
		"t.conf:5: warning: a1.sinks.k1.brokerList is deprecated and "
		"ignored, kafka.bootstrap.servers is set",
		NULL,
	};

	cr_assert_eq(apply(kv), 0);
	cr_expect_str_eq(set.servers, "new:2");
	expect_lines(lines);
	cr_expect(t_prop_v[0].used);
}

Test(props, first_alias_in_table_order_wins_when_only_aliases_are_set)
{
	const char *kv[] = { "metadata.broker.list", "b:2", "port", "1",
			     "brokerList", "a:1", NULL };
	const char *lines[] = {
		"t.conf:7: warning: a1.sinks.k1.brokerList is deprecated, use "
		"kafka.bootstrap.servers",
		"t.conf:5: warning: a1.sinks.k1.metadata.broker.list is "
		"deprecated and ignored, kafka.bootstrap.servers is set",
		NULL,
	};

	cr_assert_eq(apply(kv), 0);
	cr_expect_str_eq(set.servers, "a:1");
	expect_lines(lines);
}

Test(props, unclaimed_keys_are_unknown_key_warnings)
{
	const char *kv[] = { "port", "1", "prot", "2", NULL };
	const char *lines[] = {
		"t.conf:6: warning: a1.sinks.k1.prot: unknown key (ignored)",
		NULL,
	};

	cr_assert_eq(apply(kv), 0);
	sl_props_warn_unused(&t_props, &diag);
	expect_lines(lines);
	cr_expect_eq(diag.nb_errors, 0);
	cr_expect_eq(diag.nb_warnings, 1);
}

Test(props, props_get_claims_the_key)
{
	const char *kv[] = { "port", "1", "kafka.producer.acks", "all", NULL };
	struct sl_prop *p;

	props_set(kv);
	p = sl_props_get(&t_props, "kafka.producer.acks");
	cr_assert_not_null(p);
	cr_expect_str_eq(p->val, "all");
	cr_expect(p->used);
	cr_expect_null(sl_props_get(&t_props, "kafka.producer"));
	cr_expect_not(t_prop_v[0].used);
}

Test(props, keys_free_releases_strings_and_clears_them)
{
	const char *kv[] = { "port", "1", "brokerList", "x", NULL };

	cr_assert_eq(apply(kv), 0);
	sl_keys_free(t_keys, &set);
	cr_expect_null(set.name);
	cr_expect_null(set.servers);
}

Test(props, parse_int_checks_the_range_only_when_min_is_below_max)
{
	int64_t v = 7;

	cr_expect_eq(sl_parse_int("007", 0, 10, &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(sl_parse_int("11", 0, 10, &v), -ERANGE);
	cr_expect_eq(v, 7);
	cr_expect_eq(sl_parse_int("-11", 0, 0, &v), 0);
	cr_expect_eq(v, -11);
	cr_expect_eq(sl_parse_int("", 0, 0, &v), -EINVAL);
	cr_expect_eq(sl_parse_int("+", 0, 0, &v), -EINVAL);
	cr_expect_eq(sl_parse_int(" 1", 0, 0, &v), -EINVAL);
	cr_expect_eq(sl_parse_int("1 ", 0, 0, &v), -EINVAL);
	cr_expect_eq(sl_parse_int("99999999999999999999x", 0, 0, &v),
		     -EINVAL);
	cr_expect_eq(sl_parse_int("-9223372036854775809", 0, 0, &v),
		     -ERANGE);
}

Test(props, parse_bool_refuses_what_java_would_make_false)
{
	bool b = true;

	cr_expect_eq(sl_parse_bool("False", &b), 0);
	cr_expect_eq(b, false);
	cr_expect_eq(sl_parse_bool("TRUE", &b), 0);
	cr_expect_eq(b, true);
	cr_expect_eq(sl_parse_bool("no", &b), -EINVAL);
	cr_expect_eq(sl_parse_bool("", &b), -EINVAL);
	cr_expect_eq(sl_parse_bool("true ", &b), -EINVAL);
}

Test(props, diag_formats_file_line_and_warning_prefix)
{
	const char *lines[] = {
		"a.conf:12: bad thing 7",
		"a.conf: whole file",
		"b.conf:1: warning: odd thing",
		"no file",
		NULL,
	};

	sl_diag_add(&diag, SL_DIAG_ERROR, "a.conf", 12, "bad thing %d", 7);
	sl_diag_add(&diag, SL_DIAG_ERROR, "a.conf", 0, "whole file");
	sl_diag_add(&diag, SL_DIAG_WARN, "b.conf", 1, "odd thing");
	sl_diag_add(&diag, SL_DIAG_ERROR, NULL, 0, "no file");
	expect_lines(lines);
	cr_expect_eq(diag.nb_errors, 3);
	cr_expect_eq(diag.nb_warnings, 1);
	cr_expect_eq(diag.v[2].sev, SL_DIAG_WARN);
	cr_expect_eq(diag.v[0].line, 12);
}
