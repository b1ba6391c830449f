/* SPDX-License-Identifier: MIT */
/* Internal to export/: the stages of an evidence package, shared between its files. */
#ifndef CR_EXPORT_EVIDENCE_INTERNAL_H
#define CR_EXPORT_EVIDENCE_INTERNAL_H

#include "evidence.h"

#include <sqlite3.h>
#include <time.h>

#define BAG "evidence"

typedef struct {
    char name[64]; /* under data/ */
    cr_strbuf body;
} payload;

typedef struct {
    payload *items;
    size_t n, cap;
} payloads;

/* Every json_t * and char * returned here is new: the caller frees it (json_decref, free);
 * cr_ev_geom_type returns a static string. */
/* evidence_case.c */
cr_status cr_ev_features(cr_store *store, const cr_evidence_case *c, const json_t *trace,
                         json_t *out, json_t *batch_ids, cr_error *err);
json_t *cr_ev_batches(sqlite3 *db, const json_t *ids);
json_t *cr_ev_case_json(const cr_evidence_case *c);
json_t *cr_ev_boundary_geojson(cr_store *store, const char *pair, cr_error *err);
int cr_ev_store_held_anything(cr_store *store, const char *as_of, char first[32]);
/* evidence_formats.c */
char *cr_ev_dumps(const json_t *j);
void cr_ev_features_csv(const json_t *fs, cr_strbuf *b);
const char *cr_ev_geom_type(const json_t *f);
void cr_ev_features_kml(const json_t *fs, const json_t *trace_geo, cr_strbuf *b);
/* evidence_map.c */
void cr_ev_case_box(const json_t *fs, const json_t *trace_geo, double box[4]);
cr_status cr_ev_case_tiles(cr_store *store, const json_t *fs, const json_t *trace_geo, payloads *ps,
                           json_t *tiles_json, cr_error *err);
void cr_ev_map_svg(sqlite3 *db, const json_t *fs, const json_t *trace_geo, const double in[4],
                   cr_strbuf *b);
/* evidence_readings.c: the readings of the sections in fs known at as_of (a year before it),
 * as CSV rows with batch and source row into csv (its header first), their batches into ids,
 * and per section {name, target, readings, indicators: {code: {n, first, last, max, max_at}},
 * chart (SVG)} into out. Nothing when the store holds no readings. */
cr_status cr_ev_readings(cr_store *store, const json_t *fs, const char *as_of, json_t *ids,
                         cr_strbuf *csv, json_t *out, cr_error *err);
/* evidence_report.c */
void cr_ev_report_html(const json_t *cj, const json_t *fs, const json_t *trace, const char *svg,
                       const json_t *readings, cr_strbuf *b);
/* evidence_gpkg.c */
cr_status cr_ev_write_gpkg(const char *path, const json_t *fs, const json_t *trace_geo,
                           const json_t *boundary, const char *as_of, cr_error *err);
/* bag.c */
int cr_ev_parse_as_of(const char *s, time_t *out);
cr_status cr_ev_write_zip(const char *path, payload *files, size_t n, time_t mtime, cr_error *err);
void cr_ev_add(payloads *ps, const char *name, const char *text, size_t len);
/* The BagIt tag files over the payload so far: bagit.txt, bag-info.txt (issuer, the as-of date,
 * Payload-Oxum), manifest-sha256.txt, then tagmanifest-sha256.txt. */
void cr_ev_bag(payloads *ps, const char *issuer, const char *as_of);
/* The zip at zip_path.partial, renamed into place; nothing left behind on failure. */
cr_status cr_ev_write_zip_atomic(const char *zip_path, const payloads *ps, time_t mtime,
                                 cr_error *err);

#endif
