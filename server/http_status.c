/* SPDX-License-Identifier: MIT */
/* The one place a status becomes an HTTP code, and the small helpers handlers share. */
#include "server_internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_http_status(cr_status rc)
{
    return rc == CR_OK           ? MHD_HTTP_OK
           : rc == CR_EINVAL     ? MHD_HTTP_BAD_REQUEST
           : rc == CR_ENOTFOUND  ? MHD_HTTP_NOT_FOUND
           : rc == CR_EFORBIDDEN ? MHD_HTTP_FORBIDDEN
                                 : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

cr_status cr_srv_number_param(const request *req, const char *name, double lo, double hi,
                              double *out, cr_error *err)
{
    const char *v = json_string_value(json_object_get(req->params, name));
    if (v == NULL) {
        return CR_OK;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
        return cr_error_set(err, CR_EINVAL, "%s: '%s' is not a number in [%g, %g]", name, v, lo,
                            hi);
    }
    *out = d;
    return CR_OK;
}

void cr_srv_base_url(const server_state *s, const request *req, char *out, size_t n)
{
    const char *host = req->host;
    if (host == NULL || strlen(host) > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(host)) {
        snprintf(out, n, "http://%s:%d", s->cfg->host, s->cfg->port);
    } else {
        snprintf(out, n, "http://%s", host);
    }
}
