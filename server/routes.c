/* SPDX-License-Identifier: MIT */
/* The route table: every route the server answers, with what it takes and how it is served.
 * Rule: a route not here does not exist (404); a path here with another method is 405. */
#include "server_internal.h"

static const char *const NONE[] = {NULL};
static const char *const TILE_PARAMS[] = {"layers", NULL};
static const char *const SEARCH_PARAMS[] = {"q", "limit", NULL};
static const char *const READINGS_PARAMS[] = {"indicator", "from", "to", "step", "format", NULL};
static const char *const QUALITY_PARAMS[] = {"period", "step", "detail", NULL};
static const char *const ALARM_PARAMS[] = {"state", "section", "detail", NULL};
static const char *const FORMAT_PARAMS[] = {"format", NULL};
static const char *const FINDINGS_PARAMS[] = {"status", NULL};
static const char *const REPORT_PARAMS[] = {"period", "as_of", "format", NULL};
static const char *const AT_PARAMS[] = {"at", NULL};
static const char *const PATROL_PARAMS[] = {
    "river",     "preset",    "reaches",  "date",   "mode",  "from",      "to",
    "speed_kmh", "dwell_min", "radius_m", "format", "stops", "day_hours", NULL};

const cr_route CR_ROUTES[] = {
    {"GET", "/health", cr_res_health, 0, NONE, NULL},
    {"GET", "/api/trace", cr_res_trace, CR_ROUTE_ANY_PARAMS, NULL, NULL},
    {"GET", "/api/patrol", cr_res_patrol, 0, PATROL_PARAMS, NULL},
    {"POST", "/api/export/evidence", cr_res_export, CR_ROUTE_FULL_TOKEN, NONE, NULL},
    {"GET", "/tiles/", cr_res_tile,
     CR_ROUTE_PREFIX | CR_ROUTE_ETAG | CR_ROUTE_TILE_METRICS | CR_ROUTE_CORS, TILE_PARAMS,
     "tiles take layers=a,b"},
    {"GET", "/tiles.json", cr_res_tilejson, CR_ROUTE_CORS, NONE, NULL},
    {"GET", "/api/features/", cr_res_feature, CR_ROUTE_PREFIX, NONE, NULL},
    {"GET", "/api/search", cr_res_search, 0, SEARCH_PARAMS, NULL},
    {"GET", "/api/labels", cr_res_labels, CR_ROUTE_CORS, NONE, NULL},
    {"GET", "/api/catalog", cr_res_catalog, 0, NONE, NULL},
    {"GET", "/api/sections/", cr_res_section, CR_ROUTE_PREFIX, READINGS_PARAMS,
     "readings take indicator, from, to, step=raw|day|month, format=json|csv"},
    {"GET", "/api/quality", cr_res_quality, 0, QUALITY_PARAMS, NULL},
    {"GET", "/api/alarms", cr_res_alarms, 0, ALARM_PARAMS, NULL},
    {"GET", "/api/alarms/", cr_res_alarm, CR_ROUTE_PREFIX, NONE, NULL},
    {"POST", "/api/alarms/", cr_res_alarm_review, CR_ROUTE_PREFIX | CR_ROUTE_TOKEN, NONE, NULL},
    {"GET", "/api/incidents", cr_res_incidents, 0, NONE, NULL},
    {"GET", "/api/incidents/", cr_res_incident, CR_ROUTE_PREFIX, FORMAT_PARAMS,
     "an incident's plan takes format=json|geojson|csv|html"},
    {"POST", "/api/incidents", cr_res_incident_open, CR_ROUTE_TOKEN, NONE, NULL},
    {"POST", "/api/incidents/", cr_res_incident_write, CR_ROUTE_PREFIX | CR_ROUTE_TOKEN, NONE,
     NULL},
    {"GET", "/api/findings", cr_res_findings, 0, FINDINGS_PARAMS, NULL},
    {"GET", "/api/findings/", cr_res_finding, CR_ROUTE_PREFIX, REPORT_PARAMS,
     "the report takes period, as_of and format=json|html|csv"},
    {"POST", "/api/findings", cr_res_finding_new, CR_ROUTE_TOKEN, NONE, NULL},
    {"POST", "/api/findings/", cr_res_finding_step, CR_ROUTE_PREFIX | CR_ROUTE_TOKEN, NONE, NULL},
    {"GET", "/api/gate-states", cr_res_gate_states, 0, AT_PARAMS, NULL},
    {"GET", "/api/gate-operations", cr_res_gate_operations, 0, NONE, NULL},
    {"GET", "/api/gate-operations/", cr_res_gate_operation, CR_ROUTE_PREFIX, NONE, NULL},
    {"POST", "/api/gate-operations", cr_res_gate_operation_record, CR_ROUTE_TOKEN, NONE, NULL},
    {"POST", "/api/gate-operations/", cr_res_gate_notify, CR_ROUTE_PREFIX | CR_ROUTE_TOKEN, NONE,
     NULL},
    {"GET", "/metrics", cr_res_metrics, 0, NONE, NULL},
    {"GET", "/styles/", cr_res_style, CR_ROUTE_PREFIX | CR_ROUTE_NO_STORE | CR_ROUTE_CORS, NONE,
     NULL},
    {"GET", "/glyphs/", cr_res_glyphs, CR_ROUTE_PREFIX | CR_ROUTE_NO_STORE | CR_ROUTE_CORS, NONE,
     NULL},
    {"GET", "/", cr_res_index, CR_ROUTE_NO_STORE, NONE, NULL},
    {"GET", "/web/", cr_res_web, CR_ROUTE_PREFIX | CR_ROUTE_NO_STORE, NONE, NULL},
    {"GET", "/vendor/", cr_res_vendor, CR_ROUTE_PREFIX | CR_ROUTE_NO_STORE, NONE, NULL},
};
const size_t CR_N_ROUTES = sizeof CR_ROUTES / sizeof CR_ROUTES[0];
_Static_assert(sizeof CR_ROUTES / sizeof CR_ROUTES[0] <= CR_MAX_ROUTES, "raise CR_MAX_ROUTES");
