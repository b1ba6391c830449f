/* SPDX-License-Identifier: MIT */
#include "handlers.h"

#include <cpl_error.h>
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>

static void on_error(const char *message, void *user)
{
    cr_geos_messages *m = user;
    snprintf(m->last, sizeof m->last, "%s", message);
    cr_log(m->level, m->module, "GEOS: %s", message);
}

static void on_notice(const char *message, void *user)
{
    cr_geos_messages *m = user;
    cr_log(CR_LOG_DEBUG, m->module, "GEOS notice: %s", message);
}

GEOSContextHandle_t cr_geos_init(cr_geos_messages *m, const char *module, cr_log_level errors)
{
    m->module = module;
    m->level = errors;
    m->last[0] = '\0';
    GEOSContextHandle_t h = GEOS_init_r();
    if (h != NULL) {
        GEOSContext_setErrorMessageHandler_r(h, on_error, m);
        GEOSContext_setNoticeMessageHandler_r(h, on_notice, m);
    }
    return h;
}

static void CPL_STDCALL gdal_message(CPLErr cls, CPLErrorNum num, const char *msg)
{
    cr_log_level level = cls >= CE_Failure   ? CR_LOG_ERROR
                         : cls == CE_Warning ? CR_LOG_WARN
                                             : CR_LOG_DEBUG;
    cr_log(level, "gdal", "GDAL (%d): %s", (int)num, msg);
}

static void gdal_once(void)
{
    GDALAllRegister();
    CPLSetErrorHandler(gdal_message);
}

void cr_gdal_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gdal_once);
}
