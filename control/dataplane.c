/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the DPDK dataplane: the `dataplane.*` section checked
 * with the rest of the plan (FILE:LINE lines, also for `sluice check`),
 * which network sources run on it (a netcat or netcatudp source whose
 * `bind` is a dataplane port's address), and its lifecycle beside the
 * agent's. Control thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "sl_control.h"
#include "sl_dataplane.h"

/* The bind of a network source, as an IPv4 address; false if none. */
static bool
plan_source_bind(const struct sl_plan_comp *pc, uint32_t *addr,
		 const struct sl_prop **bp)
{
	struct in_addr a;

	if (pc->kind != SL_COMP_SOURCE ||
	    !sl_dp_source_type_ok(pc->type->type))
		return false;
	*bp = sl_props_get(&pc->props, "bind");
	if (!*bp || inet_pton(AF_INET, (*bp)->val, &a) != 1)
		return false;
	*addr = ntohl(a.s_addr);
	return true;
}

int
sl_plan_dataplane_check(struct sl_plan *plan, struct sl_diag *diag)
{
	size_t nb_errors = diag->nb_errors, i;
	const struct sl_dp_port_conf *port;
	const struct sl_prop *bp;
	uint32_t addr;
	bool in_subnet;

	sl_dp_conf_parse(&plan->agent_props, &plan->dp, diag);
	if (!plan->dp)
		return 0;
	for (i = 0; i < plan->nb_comps; i++) {
		const struct sl_plan_comp *pc = &plan->comps[i];

		if (!pc->type || !plan_source_bind(pc, &addr, &bp))
			continue;
		port = sl_dp_conf_port_of(plan->dp, addr, &in_subnet);
		if (!port && in_subnet)
			sl_diag_add(diag, SL_DIAG_ERROR, bp->file, bp->line,
				    "%s.sources.%s.bind: %s is inside a "
				    "dataplane port's subnet but is not a "
				    "port's address (the dataplane owns only "
				    "its ports' addresses)", plan->agent,
				    pc->name, bp->val);
	}
	return (int)(diag->nb_errors - nb_errors);
}

bool
sl_plan_source_on_dataplane(const struct sl_plan *plan,
			    const struct sl_plan_comp *pc)
{
	const struct sl_prop *bp;
	uint32_t addr;

	return plan->dp && plan_source_bind(pc, &addr, &bp) &&
	       sl_dp_conf_port_of(plan->dp, addr, NULL);
}
