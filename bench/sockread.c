/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session). */
#include <stdio.h>

int
main(void)
{
	fputs("not built yet\n", stderr);
	return 1;
}
