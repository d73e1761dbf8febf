/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER (being written this session). */
#include <criterion/criterion.h>
