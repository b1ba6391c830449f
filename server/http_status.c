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
    return cr_api_number_param(req->params, name, lo, hi, out, err);
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
