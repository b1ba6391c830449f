/* SPDX-License-Identifier: MIT */
/* quality/alarms: early warning over the readings — the rules (target missed, class worse
 * than the period before, a sudden change in automatic data, repeated anomalies, a silent
 * station), the alarm records they raise, and each alarm's lifecycle (open → reviewed →
 * confirmed or false_alarm → closed), every step with who, when and a note, kept as history.
 * Rule: detection is idempotent — an alarm is keyed by rule, section, indicator and start, so
 * running it again raises nothing twice; parameters come from the deployment config. */
#ifndef CR_QUALITY_ALARMS_H
#define CR_QUALITY_ALARMS_H

#include "quality.h"

typedef struct {
    /* sudden change (automatic series): x against the median of the previous `window` valid
     * values, in robust sigmas (1.4826·MAD, at least min_sigma_rel of the median) */
    int window;            /* values in the rolling baseline (default 42: a week at 4-hourly) */
    int min_window;        /* values needed before judging (default 12) */
    double z;              /* robust z that is an anomaly (default 6) */
    double min_sigma_rel;  /* floor of sigma as a share of the median (default 0.05) */
    double min_change_rel; /* and |x − median| at least this share of the median (default 0.5) */
    int merge_steps;       /* anomalies this many values apart are one event (default 3) */
    char indicators[16][16]; /* indicators watched (default nh3n tp codmn do ph cond turb) */
    size_t n_indicators;
    /* repeated anomalies at one section: count within days (the special-consultation trigger) */
    int repeat_count;   /* default 3 */
    double repeat_days; /* default 90 */
    /* silent station: no automatic reading for longer than this (hours, default 12) */
    double silent_hours;
    /* upstream candidates: travel time looked back (hours, default 24) */
    double lookback_hours;
} cr_wq_alarm_config;

/* Defaults, then the deployment config's "alarms" object over them (NULL: defaults only).
 * CR_EINVAL naming the key on a wrong value. */
cr_status cr_wq_alarm_config_load(const json_t *alarms, cr_wq_alarm_config *out, cr_error *err);

/* Create the alarm tables if missing. */
cr_status cr_wq_alarm_schema(cr_store *store, cr_error *err);

typedef struct cr_wq_detect_result {
    int64_t raised;   /* new alarms */
    int64_t existing; /* found again (already recorded) */
    int64_t by_rule[5];
} cr_wq_detect_result;

/* The rule names, in by_rule order: target_missed, class_worse, sudden_change, repeated,
 * silent. */
extern const char *const CR_WQ_ALARM_RULES[5];

/* Run every rule over the store's readings (its own transaction); as_of "now" for the silent
 * rule: 0 for the newest reading in the store. */
cr_status cr_wq_detect(cr_store *store, const cr_standards *s, const cr_wq_alarm_config *cfg,
                       int64_t as_of, cr_wq_detect_result *out, cr_error *err);

/* Alarms: [{alarm_id, rule, section_id, section_name, indicator, period, start, peak, end,
 * value, baseline, message, state, history: [{state, who, at, note}]}], newest first; state
 * NULL for all, else one state ("open" lists every state before closed). */
cr_status cr_wq_alarms_list(cr_store *store, const char *state, const char *section, json_t **out,
                            cr_error *err);
/* One alarm as in the list. CR_ENOTFOUND when there is none. */
cr_status cr_wq_alarm_get(cr_store *store, int64_t alarm_id, json_t **out, cr_error *err);

/* Move an alarm along its lifecycle: to reviewed, confirmed, false_alarm or closed (reviewed
 * from open; confirmed or false_alarm from open or reviewed; closed from confirmed or
 * false_alarm), recording who, when (now, UTC) and note. CR_EINVAL naming the allowed steps
 * on a wrong one; CR_ENOTFOUND for an unknown alarm. */
cr_status cr_wq_alarm_step(cr_store *store, int64_t alarm_id, const char *to, const char *who,
                           const char *note, cr_error *err);

#endif
