/* SPDX-License-Identifier: MIT */
/* quality/section_table: the joint monitoring section table (联合监测断面信息表) — each
 * section's frequency, indicators, responsible party and method — and the reconciliation of
 * the two sides' results where both measured the same sample. */
#ifndef CR_QUALITY_SECTION_TABLE_H
#define CR_QUALITY_SECTION_TABLE_H

#include "quality.h"

/* Every current section: [{section_id, name, river, section_kind, boundary, …, frequency,
 * indicators, responsible, sampling_parties, lon, lat, reach_id, county_code, series,
 * latest_reading}]. Caller frees with json_decref. */
cr_status cr_wq_section_table(cr_store *store, json_t **out, cr_error *err);
/* The table as CSV (UTF-8 with BOM, Chinese headers) or a printable HTML page, appended. */
void cr_wq_section_table_csv(const json_t *rows, cr_strbuf *b);
void cr_wq_section_table_html(const json_t *rows, cr_strbuf *b);

typedef struct {
    double relative;  /* |a − b| / mean above this is a difference (default 0.15) */
    json_t *absolute; /* code → absolute tolerance in the canonical unit (default: the
                         indicator's detection limit), owned */
} cr_wq_tolerance;

/* The deployment config's "reconciliation" object ({relative, absolute: {code: tol}}) over
 * the defaults. Free out->absolute with json_decref. */
cr_status cr_wq_tolerance_load(const json_t *conf, cr_wq_tolerance *out, cr_error *err);

/* Every sample both sides measured (the upstream and the downstream party's series of one
 * section, indicator and method at the same time), of one section or all (NULL):
 * [{section_id, indicator, time, upstream: {value, censored, batch_id, source_row},
 * downstream: {…}, difference, relative, flagged}]; flagged when the relative difference is
 * above the tolerance and the absolute one above its tolerance (both below detection agree). */
cr_status cr_wq_compare_parties(cr_store *store, const cr_standards *s, const cr_wq_tolerance *tol,
                                const char *section, json_t **out, cr_error *err);

#endif
