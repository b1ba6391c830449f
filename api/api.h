/* SPDX-License-Identifier: MIT */
/* api: requests as people and programs make them (the command line and HTTP), turned into
 * library calls and JSON answers. Rule: no printing; errors come back as cr_error, with
 * CR_EINVAL for a bad request and CR_ENOTFOUND for something named that does not exist. */
#ifndef CR_API_API_H
#define CR_API_API_H

#include "network/network.h"
#include "ops/ops.h"
#include "quality/alarms.h"

/* Where distances are measured from: the start point (a reach start: the end the trace enters
 * it by, its outlet upstream and its inlet downstream), or a named end of the start reach. */
typedef enum { CR_ORIGIN_START = 0, CR_ORIGIN_INLET, CR_ORIGIN_OUTLET } cr_trace_origin;

typedef struct {
    const char *reach;   /* start: a reach ID, */
    const char *feature; /* or LAYER:ID of a joined point feature, */
    int at;              /* or (at = 1) a point, snapped to a reach within 2 km */
    double lon, lat;
    cr_trace_direction direction;
    int main_only;              /* mainstem only */
    double max_km, max_hours;   /* bounds where has_max_*, else (and <= 0) none */
    int has_max_km;             /* 1: max_km is a bound (0 = the start reach, partly) */
    int has_max_hours;          /* 1: max_hours is a bound */
    int exclude_start;          /* 1: report only what lies beyond the start reach */
    cr_trace_origin origin;     /* where distances are measured from */
    double velocity_ms;         /* > 0: override */
    double dispersion_m2s;      /* > 0: override */
    const char *gates_closed;   /* comma list of gate IDs, or NULL */
    const char *gates_reversed; /* comma list of gate IDs, or NULL */
    const char *gates_at;       /* a time (CST): the gate states in force then (the operations
                                   log), under the two lists above; or NULL */
    const char *stop_at;        /* "section", "boundary" or NULL */
    double spill_kg;            /* > 0: spill estimate (downstream only) */
    double spill_hours;         /* release duration */
    int geojson;                /* answer as a GeoJSON FeatureCollection */
    int table;                  /* the command line's table (format=table, CLI only) */
    const cr_access *access;    /* contacts' liaison and mobile phone where it opens them */
} cr_trace_request;

/* What a trace runs on; every member is borrowed for the call. */
typedef struct {
    cr_store *store;
    const cr_graph *graph;
    cr_trace_workspace *ws;        /* the calling thread's workspace, or NULL: one per call */
    const cr_reach_index *reaches; /* for snapping points; may be NULL when no request has one */
} cr_trace_context;

/* Run a trace request: *out gets the report (reaches, features, jurisdictions, attribution
 * upstream, spill, start, parameters) or its GeoJSON. Caller frees *out with json_decref. */
cr_status cr_api_trace(const cr_trace_context *cx, const cr_trace_request *req, json_t **out,
                       cr_error *err);

/* Turn a trace request's parameters — an object of strings (HTTP query, the command line's
 * options by their HTTP names) or of JSON values (an evidence case: numbers, "at": [lon, lat])
 * — into *req, validated: reach | feature | at (exactly one), direction (required), mode,
 * max_km, max_hours (0 is a bound), velocity, dispersion, gates_closed, gates_reversed,
 * stop_at, spill_kg, spill_hours, exclude_start (0/1), origin (start|inlet|outlet), format.
 * Messages name parameters as HTTP does (max_km) or, with cli_names, as options (--max-km).
 * Strings in *req are borrowed from params. CR_EINVAL with the message on a bad request. */
cr_status cr_api_trace_parse(const json_t *params, int cli_names, cr_trace_request *req,
                             cr_error *err);

/* Parse one number of a trace request by its HTTP name (max_km, max_hours, velocity,
 * dispersion, spill_kg, spill_hours) within its bounds, the same for the CLI and HTTP.
 * shown_as names it in the error (e.g. "--max-km"). CR_EINVAL when malformed or out of range. */
cr_status cr_api_trace_number(const char *param, const char *shown_as, const char *text,
                              double *out, cr_error *err);

/* "LON,LAT" in degrees (longitude within ±180, latitude within ±90, nothing after): 1 and the
 * point, else 0. The same for every option and parameter that takes a point. */
int cr_api_parse_point(const char *text, double *lon, double *lat);

/* TileJSON 3.0.0 for the store's tiled layers (every one, empty ones included); tiles_url is
 * the template, e.g. http://host/tiles/{z}/{x}/{y}.mvt. Caller frees *out with json_decref. */
cr_status cr_api_tilejson(cr_store *store, const char *tiles_url, json_t **out, cr_error *err);
/* One current feature as a GeoJSON Feature: public fields, provenance and join results, and
 * restricted fields where access opens the layer in the feature's county (*restricted_out set
 * when any were given). CR_ENOTFOUND for an unknown layer or ID, or a restricted layer access
 * does not open. Caller frees *out with json_decref. */
cr_status cr_api_feature(cr_store *store, const char *layer, const char *id,
                         const cr_access *access, json_t **out, int *restricted_out, cr_error *err);
/* Features whose ID or name contains q (case-insensitive for Latin letters; Chinese as
 * written), at most limit, ordered by layer then ID: [{layer, id, name, lon, lat}]. Restricted
 * layers only when access opens them in every jurisdiction. Caller frees *out with
 * json_decref. */
cr_status cr_api_search(cr_store *store, const char *q, int limit, const cr_access *access,
                        json_t **out, cr_error *err);

/* A patrol plan (ops/patrol.h) in a format: json, geojson, gpx, kml, csv (the checklist,
 * UTF-8 with BOM) or html (the printable checklist), appended to out (the caller's buffer:
 * caller frees it with cr_strbuf_cleanup, also after an error); the plan itself in *plan_out
 * when not NULL (caller frees with json_decref). Errors: a bad format or date, nothing asked
 * (CR_EINVAL), nothing found (CR_ENOTFOUND), the store. */
cr_status cr_api_patrol(cr_store *store, const cr_graph *g, const cr_patrol_request *req,
                        const char *format, cr_strbuf *out, json_t **plan_out, cr_error *err);
/* A query parameter as a number within [lo, hi] into *out; absent: *out as it was. CR_EINVAL
 * naming the parameter otherwise. */
cr_status cr_api_number_param(const json_t *params, const char *name, double lo, double hi,
                              double *out, cr_error *err);
/* A patrol plan's query parameters (river, preset, reaches, date, mode, from, to, speed_kmh,
 * dwell_min, radius_m, stops, day_hours) into *pr (strings borrowed from params; access and
 * reach_index left for the caller). CR_EINVAL naming the parameter. */
cr_status cr_api_patrol_parse(const json_t *params, cr_patrol_request *pr, cr_error *err);
/* A search's q (1–100 bytes, borrowed) and limit (1–200, default 20). */
cr_status cr_api_search_parse(const json_t *params, const char **q, int *limit, cr_error *err);
/* The Content-Type of a patrol format (a static string), or NULL for an unknown one. */
const char *cr_api_patrol_content_type(const char *format);

/* An alarm (one object of cr_wq_alarms_list) for the people who act on it: adds "upstream"
 * (the trace up from its section over cfg's lookback: automatic stations on the way and
 * whether they stayed clean, candidate sources ranked by how their travel time fits the rise
 * and by relevance_table (standards/source_relevance.json), screened off beyond a clean
 * station) and "downstream" (sections, intakes and gates reached within 72 h with arrival
 * times, and the jurisdictions to notify in order with their contacts). */
cr_status cr_api_alarm_detail(const cr_trace_context *cx, const json_t *relevance_table,
                              const cr_wq_alarm_config *cfg, json_t *alarm, cr_error *err);
/* An incident (layer incidents, by ID) for the people who respond: {incident, lonlat,
 * threatened: [intakes, zones and sections downstream with travel_h, leading_edge, peak,
 * trailing_edge (CST times), peak_mg_l], notification: {county, city, province (each in order
 * of arrival, the first notifying), reporting_line, towns}, notifications_sent, deadlines
 * [{kind, what, within_h, due, done_at, overdue}], attribution (upstream), stockpiles
 * (straight line), monitoring_plan [{kind, id, name, lonlat, county_code, indicators, times,
 * window, responsible}], notice (the 通报 text)}. config: the deployment config
 * ({"incidents": {"deadlines": {information_h, press_conference_h}, "trace":
 * {downstream_hours, upstream_hours}}}), may be NULL. CR_ENOTFOUND for an unknown incident. */
cr_status cr_api_incident_report(const cr_trace_context *cx, const char *incident_id,
                                 const json_t *config, json_t **out, cr_error *err);
/* The current incidents, newest first: [{incident_id, occurred_at, substance, amount_kg,
 * status, county_code, reach_id, place, lon, lat}]. Caller frees *out with json_decref. */
cr_status cr_api_incidents(cr_store *store, json_t **out, cr_error *err);
/* The report's monitoring plan as CSV (UTF-8 with BOM, a row per sample), a printable HTML
 * page, or GeoJSON (a point per sampling place). */
void cr_api_incident_plan_csv(const json_t *report, cr_strbuf *b);
void cr_api_incident_plan_html(const json_t *report, cr_strbuf *b);
json_t *cr_api_incident_plan_geojson(const json_t *report);
/* A SQLite column as JSON: integer, real, text, or null (blobs are null); a new reference the
 * caller frees with json_decref (or hands to json_object_set_new). */
json_t *cr_api_column_json(sqlite3_stmt *st, int column);
/* The words of the layer definitions for people: {layers: {LAYER: {title, geometry, fields:
 * {FIELD: {zh (its first Chinese header), en (its name), restricted, values?: {canonical:
 * its Chinese word}}}}}, divisions: {code: name}} (divisions: standards/divisions.json). */
json_t *cr_api_catalog(const cr_layer_set *set, const json_t *divisions);
/* Label points: one per feature of every polygon layer with tile.label (its point on the
 * surface, so a county is named once, not once per tile), as GeoJSON {name, kind (the level
 * where the layer has levels: county, town; else the layer), layer, id}. */
cr_status cr_api_labels(cr_store *store, json_t **out, cr_error *err);
/* Every row the (bound) statement gives, as an array of objects keyed by names (one per
 * column) or, names NULL, by the columns' names; the statement is reset. */
json_t *cr_api_rows_json(sqlite3_stmt *st, const char *const *names);

/* ---- records people enter (api/records_api.c) ---------------------------------------- */

/* What recording did: its batch, inserted (new) or updated (a new version; neither:
 * unchanged), the record file kept in STORE.records/, and the reject reason when refused. */
typedef struct cr_record_result {
    int64_t batch_id;
    int inserted, updated;
    char path[1400];
    char reject[512];
} cr_record_result;

/* Whether layer has a current feature with this ID. */
int cr_api_current_exists(cr_store *store, const char *layer, const char *id);

/* One record (names/values, one CSV row) written to STORE.records/LAYER-ID-TIME.csv and
 * imported as a batch of layer with its joins (history, provenance and rejects as for any
 * import). crs: the coordinates' CRS, or NULL. A rejected row is CR_EINVAL with the reason. */
cr_status cr_api_record(cr_store *store, const char *store_path, const char *layer, const char *id,
                        const char *const *names, const char *const *values, size_t n,
                        const char *crs, cr_record_result *out, cr_error *err);

/* An incident as entered: exactly one place (at "LON,LAT" in decimal or DMS in crs — gcj02
 * for a phone's map — or a feature LAYER:ID, or a reach with an optional measure), the time
 * and the substance; the rest optional. Strings are borrowed. */
typedef struct {
    const char *id, *at, *crs, *feature, *reach, *time, *substance, *reporter, *place, *cause,
        *response, *status, *note;
    double amount_kg, release_hours, measure_m;
    int has_amount, has_release, has_measure;
    char at_buf[96]; /* "at" given as [lon, lat] */
} cr_incident_input;

/* Record a new incident (status open unless given); id_out gets its ID (in->id, or the next
 * INC-YYYYMMDD-NN of its day). CR_EINVAL when it is incomplete or recorded already. */
cr_status cr_api_incident_open(cr_store *store, const char *store_path, cr_incident_input *in,
                               char id_out[64], cr_record_result *out, cr_error *err);
/* A new version of incident in->id: the current record with the fields given changed
 * (status open|contained|closed). CR_ENOTFOUND for an unknown incident. */
cr_status cr_api_incident_update(cr_store *store, const char *store_path,
                                 const cr_incident_input *in, cr_record_result *out, cr_error *err);
/* A JSON body ({"at": "LON,LAT" | [lon, lat], "crs", "feature", "reach", "measure_m", "time",
 * "substance", "amount_kg", "release_hours", "reporter", "place", "cause", "response",
 * "status", "note", "id"}) as an incident input, strings borrowed from body; an unknown or
 * mistyped field is CR_EINVAL naming it. */
cr_status cr_api_incident_input_json(const json_t *body, cr_incident_input *in, cr_error *err);

/* A notification sent for an incident: kind notification (to a neighbour), information (the
 * published information) or press (the press conference); to: the jurisdiction's code; the
 * channel (phone, fax, 政务微信 …); sent and acknowledged times (CST); who sent it. */
typedef struct {
    const char *subject_id, *kind, *to, *channel, *sent, *acknowledged, *who, *note;
} cr_notification_input;
/* Record it (table incident_notifications, with the audit row, in one transaction); *out gets
 * the row as recorded {subject_id, kind, to_code, to_name, level, sent_at, …}. The same for a
 * gate operation's advance notice (table gate_notifications). CR_ENOTFOUND for an unknown
 * incident or operation. */
cr_status cr_api_incident_notify(cr_store *store, const cr_notification_input *n, json_t **out,
                                 cr_error *err);
cr_status cr_api_gate_notify(cr_store *store, const cr_notification_input *n, json_t **out,
                             cr_error *err);

/* A new patrol finding from a JSON object of its fields (finding_id, found_at, lon, lat
 * required; crs optional), status open. CR_EINVAL naming a field it does not know. */
cr_status cr_api_finding_new(cr_store *store, const char *store_path, const json_t *body,
                             cr_record_result *out, cr_error *err);
/* A finding's step to state to (open → rectifying → rectified → verified → closed; rectified
 * may go back to rectifying) by who, with a note and a photo added to its list, at a time
 * (NULL: now, CST): a new version. CR_EINVAL for a step its state does not allow. */
cr_status cr_api_finding_step(cr_store *store, const char *store_path, const char *id,
                              const char *to, const char *who, const char *note, const char *photo,
                              const char *at, cr_record_result *out, cr_error *err);
/* ---- gates as operated (api/gate_api.c) ---------------------------------------------- */

/* The gate states in force at a time (CST): {at, gates: [{gate_id, name, reach_id, state
 * open|closed|reversed, source "operation" (op_id, action, status planned|actual, since,
 * until, authority, order_ref, flow_m3s) | "normal state"}], closed, reversed (comma lists of
 * the gates on a reach, for a trace), operations_of_unknown_gates}. Per gate the operation
 * started by then, not ended and not cancelled, the latest start first, an actual one over a
 * planned one; else its normal state (常闭 closed, else open as digitised). */
cr_status cr_api_gate_states(cr_store *store, const char *at, json_t **out, cr_error *err);
/* The operations log, newest first: [{op_id, gate_id, gate_name, action, status, start_at,
 * end_at, flow_m3s, authority, order_ref, emergency, reason, note}]. */
cr_status cr_api_gate_operations(cr_store *store, json_t **out, cr_error *err);
/* The advance notice of an operation (调度预通报): {operation, gates_in_force, reached
 * (intakes, zones, sections and gates downstream within the horizon, with arrival times from
 * the start), notification (by level, in order of arrival), notifications_sent, advance_notice
 * {lead_h, emergency, due, done_at, overdue}, notice (the text)}. config: {"gate_operations":
 * {advance_notice_h (24), emergency_advance_notice_h (2), horizon_h (72)}}, may be NULL. */
cr_status cr_api_gate_notice(const cr_trace_context *cx, const char *op_id, const json_t *config,
                             json_t **out, cr_error *err);
/* Record an operation from a JSON object of its fields (gate_id, action, status, start_at
 * required; op_id: the next DD-YYYYMMDD-NN when absent; an op_id recorded already is changed:
 * the current record with the fields given, a new version). id_out gets its ID. */
cr_status cr_api_gate_operation_record(cr_store *store, const char *store_path, const json_t *body,
                                       char id_out[64], cr_record_result *out, cr_error *err);

/* The current findings (status NULL: all; else that status), newest first: [{finding_id,
 * found_at, kind, status, county_code, description, responsible, deadline, reach_id, lon,
 * lat}]; and one finding as that with its versions [{version, status, step_by, step_at, note,
 * photos, valid_from, valid_to, batch_id}] (CR_ENOTFOUND for an unknown one). */
cr_status cr_api_findings(cr_store *store, const char *status, json_t **out, cr_error *err);
cr_status cr_api_finding(cr_store *store, const char *id, json_t **out, cr_error *err);

/* ---- the deployment config ------------------------------------------------------------- */

/* Check a deployment config (crossriver.json: region, full_survey, alarms, incidents,
 * gate_operations; docs/operations.md): every key known, every value of its kind and range.
 * CR_EINVAL naming the key path otherwise. */
cr_status cr_api_config_check(const json_t *root, cr_error *err);
/* Read and check the deployment config at path; *out owned by the caller. Errors name the
 * file (and the line and column of a JSON syntax error). */
cr_status cr_api_config_load(const char *path, json_t **out, cr_error *err);

#endif
