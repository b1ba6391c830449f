/* SPDX-License-Identifier: MIT */
/* Exit codes scripts can trust; mapped here once. */
#ifndef CR_CLI_EXIT_CODES_H
#define CR_CLI_EXIT_CODES_H

enum {
    CR_EXIT_OK = 0,      /* everything stored / done */
    CR_EXIT_FAILURE = 1, /* nothing or not everything done: see the message */
    CR_EXIT_USAGE = 2,   /* bad command line */
    CR_EXIT_REJECTED = 3 /* done, but some rows were rejected */
};

#endif
