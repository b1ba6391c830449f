/* SPDX-License-Identifier: MIT */
/* GEOS and GDAL with message handlers, so that neither ever prints to stderr.
 *
 * One way to open a GEOS context: it never prints to stderr. Each error is kept as the last
 * message (for the caller's own cr_error or reject reason) and logged under the caller's module
 * at the caller's level — debug where the caller reports it, warn where nobody else would;
 * notices are logged at debug. */
#ifndef CR_GEO_HANDLERS_H
#define CR_GEO_HANDLERS_H

#include "core/core.h"

#include <geos_c.h>

typedef struct {
    const char *module; /* the cr_log module name, e.g. "tiler" */
    cr_log_level level; /* errors are logged at this level */
    char last[256];     /* the last GEOS error, "" when none */
} cr_geos_messages;

/* A context whose handlers write into *m (which must outlive it). Caller ends it with
 * GEOS_finish_r. NULL when GEOS cannot allocate one. */
GEOSContextHandle_t cr_geos_init(cr_geos_messages *m, const char *module, cr_log_level errors);

/* Register GDAL's drivers and route GDAL's messages to cr_log under "gdal" (failures as
 * errors, warnings as warnings, debug as debug), once per process; thread-safe, idempotent.
 * Code that wants a message for its own cr_error pushes its own handler around the call
 * (CPLPushErrorHandlerEx), which takes precedence on that thread. */
void cr_gdal_init(void);

#endif
