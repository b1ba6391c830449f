/* SPDX-License-Identifier: MIT */
/* cmocka needs these before <cmocka.h>. */
#ifndef CR_TESTS_TEST_COMMON_H
#define CR_TESTS_TEST_COMMON_H

// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#endif
