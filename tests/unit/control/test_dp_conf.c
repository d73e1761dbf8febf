/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `dataplane.*` section of an agent's properties as the plan builder
 * checks it (dataplane/dp_conf.c, control/dataplane.c): a good section,
 * each error with its FILE:LINE line, unknown keys as warnings, which
 * sources run on the dataplane, and a bind inside a port's subnet that is
 * not its address. No EAL.
 */
#include <criterion/criterion.h>
#include <string.h>

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

TestSuite(dp_conf, .fini = fini);

#define BASE								\
	"a1.sources = r1\n"						\
	"a1.channels = c1\n"						\
	"a1.sinks = k1\n"						\
	"a1.sources.r1.type = netcat\n"					\
	"a1.sources.r1.channels = c1\n"					\
	"a1.sources.r1.port = 4141\n"					\
	"a1.channels.c1.type = memory\n"				\
	"a1.sinks.k1.type = null\n"					\
	"a1.sinks.k1.channel = c1\n"					\
	"a1.sources.r1.bind = 127.0.0.1\n"

#define DP								\
	"a1.dataplane.type = dpdk\n"					\
	"a1.dataplane.eal = -l 0-1 --no-huge --no-pci "			\
	"--vdev=net_af_packet0,iface=v0\n"				\
	"a1.dataplane.ports = p0\n"					\
	"a1.dataplane.ports.p0.device = net_af_packet0\n"		\
	"a1.dataplane.ports.p0.address = 10.0.0.5/24\n"

/* Lines 1-10 are BASE, 11-15 DP; a later key replaces an earlier one. */

static int
build(const char *text)
{
	cr_assert_eq(sl_conf_parse_string(&conf, "t.conf", text,
					  strlen(text), &diag), 0);
	return sl_plan_build(&conf, "a1", &plan, &diag);
}

static bool
has_line(const char *text)
{
	size_t i;

	for (i = 0; i < diag.n; i++)
		if (strcmp(diag.v[i].text, text) == 0)
			return true;
	return false;
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

static void
dump(void)
{
	size_t i;

	for (i = 0; i < diag.n; i++)
		cr_log_info("%s", diag.v[i].text);
}

Test(dp_conf, no_section_means_the_kernel_path)
{
	cr_assert_eq(build(BASE "a1.sources.r1.bind = 10.0.0.5\n"), 0);
	cr_expect_null(plan.dp);
	cr_expect_not(sl_plan_source_on_dataplane(&plan, comp("r1")));
}

Test(dp_conf, good_section_is_parsed_and_binds_the_source)
{
	int rc = build(BASE DP "a1.dataplane.ports.p0.gateway = 10.0.0.1\n"
		       "a1.dataplane.ports.p0.rxQueues = 2\n"
		       "a1.sources.r1.bind = 10.0.0.5\n");

	dump();
	cr_assert_eq(rc, 0);
	cr_assert_not_null(plan.dp);
	cr_expect_eq(plan.dp->nb_ports, 1);
	cr_expect_str_eq(plan.dp->ports[0].device, "net_af_packet0");
	cr_expect_eq(plan.dp->ports[0].addr, 0x0a000005u);
	cr_expect_eq(plan.dp->ports[0].mask, 0xffffff00u);
	cr_expect_eq(plan.dp->ports[0].gateway, 0x0a000001u);
	cr_expect_eq(plan.dp->ports[0].rx_queues, 2);
	cr_expect_eq(plan.dp->ports[0].mtu, 1500);
	cr_expect_eq(plan.dp->ports[0].line, 14, "the device key's line");
	cr_expect_eq(plan.dp->eal_line, 12);
	cr_expect(sl_plan_source_on_dataplane(&plan, comp("r1")));
	cr_expect_eq(diag.n, 0);
}

Test(dp_conf, a_source_bound_elsewhere_stays_on_the_kernel)
{
	cr_assert_eq(build(BASE DP "a1.sources.r1.bind = 127.0.0.1\n"), 0);
	cr_expect_not(sl_plan_source_on_dataplane(&plan, comp("r1")));
}

Test(dp_conf, bind_in_the_subnet_but_not_the_address_is_an_error)
{
	cr_assert_eq(build(BASE DP "a1.sources.r1.bind = 10.0.0.6\n"), 1);
	cr_expect(has_line("t.conf:16: a1.sources.r1.bind: 10.0.0.6 is "
			   "inside a dataplane port's subnet but is not a "
			   "port's address (the dataplane owns only its "
			   "ports' addresses)"));
}

Test(dp_conf, missing_keys_are_errors_with_lines)
{
	cr_assert_eq(build(BASE "a1.dataplane.ports = p0\n"
			   "a1.dataplane.ports.p0.mtu = 1500\n"), 4);
	dump();
	cr_expect(has_line("t.conf:11: a1.dataplane: type is required"));
	cr_expect(has_line("t.conf:11: a1.dataplane: eal is required"));
	cr_expect(has_line("t.conf:12: a1.dataplane.ports.p0: device is "
			   "required"));
	cr_expect(has_line("t.conf:12: a1.dataplane.ports.p0: address is "
			   "required"));
}

Test(dp_conf, bad_values_name_the_key_and_line)
{
	int rc = build(BASE "a1.dataplane.type = netmap\n"
		       "a1.dataplane.eal = -l 0-1\n"
		       "a1.dataplane.ports = p0\n"
		       "a1.dataplane.ports.p0.device = x\n"
		       "a1.dataplane.ports.p0.address = 10.0.0.0/24\n"
		       "a1.dataplane.ports.p0.gateway = 192.168.1.1\n"
		       "a1.dataplane.ports.p0.rxQueues = 0\n"
		       "a1.dataplane.ports.p0.mtu = big\n");

	dump();
	cr_expect_eq(rc, 4);
	cr_expect(has_line("t.conf:11: a1.dataplane.type: unknown dataplane "
			   "type 'netmap' (known: dpdk)"));
	cr_expect(has_line("t.conf:15: a1.dataplane.ports.p0.address: "
			   "'10.0.0.0/24' is not an IPv4 host address with a "
			   "prefix length (e.g. 10.0.0.5/24)"));
	cr_expect(has_line("t.conf:17: a1.dataplane.ports.p0.rxQueues: 0 is "
			   "out of range (allowed: 1..64)"));
	cr_expect(has_line("t.conf:18: a1.dataplane.ports.p0.mtu: 'big' is "
			   "not an integer (allowed: 576..9000)"));
}

Test(dp_conf, gateway_outside_the_subnet_is_an_error)
{
	cr_assert_eq(build(BASE DP "a1.dataplane.ports.p0.gateway = "
			   "192.168.1.1\n"), 1);
	cr_expect(has_line("t.conf:16: a1.dataplane.ports.p0.gateway: "
			   "192.168.1.1 is outside the port's subnet "
			   "10.0.0.5/24"));
}

Test(dp_conf, unknown_keys_and_unlisted_ports_are_warnings)
{
	cr_assert_eq(build(BASE DP "a1.dataplane.colour = red\n"
			   "a1.dataplane.ports.p0.speed = 10G\n"
			   "a1.dataplane.ports.p9.device = y\n"), 0);
	dump();
	cr_expect(has_line("t.conf:16: warning: a1.dataplane.colour: unknown "
			   "key (ignored)"));
	cr_expect(has_line("t.conf:17: warning: a1.dataplane.ports.p0.speed: "
			   "unknown key (ignored)"));
	cr_expect(has_line("t.conf:18: warning: a1.dataplane.ports.p9.device:"
			   " port p9 is not listed in a1.dataplane.ports "
			   "(ignored)"));
}
