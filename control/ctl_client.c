/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session): `sluice ctl`. */
#include "sl_control.h"

int
sl_ctl_main(int argc, char **argv)
{
	fprintf(stderr, "sluice ctl: not built yet\n");
	return 1;
}
