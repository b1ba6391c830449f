/* SPDX-License-Identifier: MIT */
/* evidence: a boundary-dispute evidence package (纠纷调处 / 生态环境损害赔偿取证) as a BagIt bag
 * (RFC 8493) in one zip: data/ holds the features in scope (GeoJSON and CSV, with the join
 * results, the raw source coordinates beside the stored ones and the provenance of every row),
 * the trace for incident cases, and case.json (the case, the software, the as-of time and
 * every import batch the features came from, with file name, encoding, CRS and SHA-256).
 * Rule: everything in the package is decided by the store, the case and the as-of time — the
 * same three give the same bytes — so the package's hash can be cited. */
#ifndef CR_EXPORT_EVIDENCE_H
#define CR_EXPORT_EVIDENCE_H

#include "api/api.h"

typedef struct {
    const char *boundary;   /* "A:B": the stretch of boundary between two county codes, or */
    double buffer_km;       /*   with it: features this close to that boundary (default 2) */
    int has_trace;          /* an incident point, reach or section, traced (trace below) */
    cr_trace_request trace; /* start, direction, bounds */
    const char *from_date;  /* time window on events — hyacinth reports, ship observations —
                               (YYYY-MM-DD, inclusive), or NULL; the inventory is never cut */
    const char *to_date;
    int include_personal; /* 1: contact persons and phones too (audited); else left out */
    const char *as_of;    /* YYYY-MM-DDTHH:MM:SSZ: the versions valid then, the batches dated by
                             then, and the package's timestamps (required) */
    const char *issuer;   /* the issuing jurisdiction (bag-info Source-Organization) */
} cr_evidence_case;

/* Write the package to zip_path (replaced atomically) and record it in the store's
 * evidence_exports audit table (who, when, the case, the package's SHA-256) unless audit_by is
 * NULL. sha_out gets the package's SHA-256; *summary (summary may be NULL) counts what is in it;
 * caller frees it with json_decref. */
cr_status cr_evidence_export(const cr_trace_context *cx, const cr_evidence_case *c,
                             const char *zip_path, const char *audit_by, char sha_out[65],
                             json_t **summary, cr_error *err);

/* Check a package: every file in the manifests has its SHA-256, no payload file is missing or
 * extra, the Payload-Oxum holds. *report: {ok, bag, files: [{path, ok}], problems: [...]}.
 * CR_OK even when tampered (see ok); errors only when the file is no zip or no bag. Caller frees
 * *report with json_decref. */
cr_status cr_evidence_verify(const char *zip_path, json_t **report, cr_error *err);

/* Where lon/lat falls on the package's SVG map (900 × 600 px, Web Mercator) whose data-bbox
 * is box (west, south, east, north). */
void cr_evidence_map_xy(const double box[4], double lon, double lat, double *x, double *y);

/* A case from JSON shaped like case.json ({case: {boundary?, buffer_km?, trace?: {reach?,
 * feature?, at?: [lon, lat], direction, mode?, max_km?, …}, from_date?, to_date?,
 * personal_data?}, as_of, issuer?}); strings are borrowed from j. The trace is validated as
 * every trace request is (cr_api_trace_parse): CR_EINVAL naming what is wrong. */
cr_status cr_evidence_case_from_json(const json_t *j, cr_evidence_case *c, cr_error *err);

/* The case a package was made for, from its case.json (caller frees). */
cr_status cr_evidence_read_case(const char *zip_path, json_t **case_json, cr_error *err);

#endif
