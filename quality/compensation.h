/* SPDX-License-Identifier: MIT */
/* quality/compensation: the eco-compensation ledger — agreements are versioned rule files
 * (JSON, never code) in three forms used in practice: per tonne of exceedance, a weighted
 * index, tiers by exceedance multiple; settled monthly and for the year per boundary section,
 * with the section's flow (a flow series where ingested, else the reach discharge, said so),
 * citing every reading and flow value used. */
#ifndef CR_QUALITY_COMPENSATION_H
#define CR_QUALITY_COMPENSATION_H

#include "quality.h"

/* Load and check a rule file: form per_tonne | weighted_index | tiers, sections, parties and
 * the form's parameters. Errors name the file and key. Caller frees *out with json_decref. */
cr_status cr_wq_rule_load(const char *path, const cr_standards *s, json_t **out, cr_error *err);

/* The statement of rule over period (a year or a month): {agreement, version, rule_file,
 * rule_sha256, form, period, sections: [{section_id, name, target, flow_source, months:
 * [{month, values: {code: mean}, n, flow_m3s, computation, amount_yuan, payer, payee}],
 * total_yuan, payer, payee}], total_yuan, citations: [{section_id, indicator, time, value,
 * censored, flag, batch_id, source_row, basis}], flows: [...]}. A positive amount is paid by
 * the upstream party to the downstream party, a negative one the other way. */
cr_status cr_wq_compensation(cr_store *store, const cr_standards *s, const json_t *rule,
                             const char *rule_path, const cr_period *period, json_t **out,
                             cr_error *err);

/* The statement as a printable HTML page or a CSV (UTF-8 with BOM: the monthly lines, then
 * the citations), appended to b. */
void cr_wq_compensation_html(const json_t *statement, cr_strbuf *b);
void cr_wq_compensation_csv(const json_t *statement, cr_strbuf *b);

#endif
