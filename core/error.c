/* SPDX-License-Identifier: MIT */
/* Error values: a status code plus one human message that names file, row, field and value. */
#include "core.h"

#include <stdio.h>
#include <string.h>

cr_status cr_error_set(cr_error *err, cr_status code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

cr_status cr_error_prefix(cr_error *err, const char *fmt, ...)
{
    if (err == NULL) {
        return CR_EINVAL;
    }
    char prefix[256];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

const char *cr_status_name(cr_status code)
{
    switch (code) {
    case CR_OK:
        return "ok";
    case CR_EINVAL:
        return "invalid";
    case CR_EIO:
        return "io";
    case CR_EPARSE:
        return "parse";
    case CR_EDB:
        return "database";
    case CR_EGEOS:
        return "geos";
    case CR_EPROJ:
        return "proj";
    case CR_ENOMEM:
        return "nomem";
    case CR_ENOTFOUND:
        return "not found";
    case CR_EFORBIDDEN:
        return "forbidden";
    }
    return "unknown";
}
