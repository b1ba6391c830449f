/* SPDX-License-Identifier: MIT */
/* Internal to api/: what incidents and gate operations share — CST times, the notification
 * list by level, the notifications recorded. */
#ifndef CR_API_NOTIFY_H
#define CR_API_NOTIFY_H

#include "api.h"

/* "YYYY-MM-DDTHH:MM:SS" (CST as written) as seconds (the readings' clock); 0 when it is not. */
int64_t cr_api_cst_of(const char *iso);
/* t0 plus hours as "YYYY-MM-DDTHH:MM:SS" (a new JSON string). */
json_t *cr_api_at_time(int64_t t0, double hours);
/* Whom to notify by level from a downstream trace's jurisdictions (in order of arrival) and
 * features (their towns): {county, city, province, reporting_line, towns}, arrivals from t0. */
json_t *cr_api_notification_by_level(cr_store *store, const json_t *divisions, const json_t *juris,
                                     const json_t *features, int64_t t0);
/* The notifications recorded in table for subject id, in order: [{seq, kind, to_code, …}]. */
json_t *cr_api_sent_notifications(cr_store *store, const char *table, const char *id);

#endif
