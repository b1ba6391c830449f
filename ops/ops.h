/* SPDX-License-Identifier: MIT */
/* ops: the work of joint prevention and control on top of the network — what a trace means
 * for people (the features met, who to notify in order, a spill's arrival, the candidate
 * sources upstream) and joint patrols (ops/patrol.h). Rule: network/ is topology, graph and
 * trace; everything that reads outfalls, reports or contacts for people lives here. */
#ifndef CR_OPS_OPS_H
#define CR_OPS_OPS_H

#include "network/network.h"
#include "ops/patrol.h"

/* The trace as JSON for people and programs: {reaches: [{reach_id, distance_km, time_h, …}],
 * features: [{layer, id, name, distance_km, time_h, …}] (joined point features on the covered
 * parts and protection zones covering a reached reach, by distance), jurisdictions:
 * [{code, name, distance_km, time_h, contacts}] in the order the trace enters them — the
 * notification list}. Restricted contact fields only where access opens the contacts layer in that
 * jurisdiction (NULL: none). Caller frees with json_decref. */
json_t *cr_trace_report(cr_store *store, const cr_graph *g, const cr_trace_result *res,
                        const cr_access *access);
/* Add a spill estimate to every monitoring section, drinking-water intake and protection zone
 * of a downstream report: {spill: {leading_edge_h, peak_h, peak_mg_l, trailing_edge_h,
 * discharge_m3s, mixed_lake_residence_h (below a mixed lake)}}. */
void cr_trace_add_spill(json_t *report, const cr_graph *g, const cr_trace_result *res,
                        const cr_trace_options *opt, double mass_kg, double release_h);
/* Source attribution (追踪溯源) from an upstream trace's report: the candidate outfalls, ranked
 * by network distance (then travel time), grouped by the county they are in, groups in the
 * order of their nearest candidate: [{county_code, county_name, outfalls: [{id, name, kind,
 * distance_km, time_h, …}]}]. New reference; caller frees with json_decref. */
json_t *cr_trace_attribution(cr_store *store, const json_t *report);

/* The n emergency stockpiles nearest (lon, lat) by straight-line (geodesic) distance, nearest
 * first: [{id, name, contents, operator, duty_phone, address, county_code, distance_km, lon,
 * lat}]; empty when the store has none. Caller frees with json_decref. */
json_t *cr_ops_nearest_stockpiles(cr_store *store, double lon, double lat, size_t n);

/* Patrol findings (layer findings): a status's place in open → rectifying → rectified →
 * verified → closed (0…4; no status is open), and whether a step from → to is allowed (to
 * rectifying or rectified from open, rectified from rectifying, verified from rectified, back to
 * rectifying from rectified when the check fails, closed — 销号 — from verified). */
int cr_ops_finding_state(const char *status);
int cr_ops_finding_step_allowed(const char *from, const char *to);
/* The rectification report (整改报告) of the findings found from first_day to last_day
 * (YYYY-MM-DD, inclusive), as of today: {from, to, as_of, totals {found, rectified, closed,
 * overdue}, jurisdictions: [{county_code, county_name, found, rectified, closed, overdue,
 * findings: [{finding_id, …, deadline, deadline_source, overdue, versions}]}]}. A deadline is
 * the finding's own, else found_at plus conf's findings.deadline_days for its kind (defaults:
 * discharge, hyacinth, garbage 7; outfall 30; encroachment 60; others 15). */
cr_status cr_ops_rectification_report(cr_store *store, const char *first_day, const char *last_day,
                                      const char *today, const json_t *conf, json_t **out,
                                      cr_error *err);
/* A period as its first and last day (YYYY-MM-DD): 2025Q3, 2025-07 or 2025; 0 when it is
 * none of these. */
int cr_ops_period_days(const char *period, char first[11], char last[11]);
/* The report as a printable HTML page (Chinese) or a CSV (UTF-8 with BOM), appended to b. */
void cr_ops_rectification_html(const json_t *report, cr_strbuf *b);
void cr_ops_rectification_csv(const json_t *report, cr_strbuf *b);

#endif
