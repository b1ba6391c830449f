/* SPDX-License-Identifier: MIT */
/* Records people enter — an incident and its updates, a patrol finding and its steps, a gate
 * operation — as the command line and HTTP take them: each becomes a one-row CSV file kept in
 * STORE.records/ and is imported as a batch of its layer, so it has history, provenance, joins
 * and rejects like any import, and the file is evidence of what was entered and when. */
#include "api.h"
#include "etl/after_import.h"
#include "etl/etl.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

cr_status cr_api_record(cr_store *store, const char *store_path, const char *layer, const char *id,
                        const char *const *names, const char *const *values, size_t n,
                        const char *crs, cr_record_result *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), layer);
    if (def == NULL) {
        return cr_error_set(err, CR_EINVAL, "the layer %s is not defined", layer);
    }
    char dir[1100];
    snprintf(dir, sizeof dir, "%s.records", store_path);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return cr_error_set(err, CR_EIO, "%s: %s", dir, strerror(errno));
    }
    char stamp[21];
    cr_now_iso8601(stamp);
    for (char *p = stamp; *p; p++) {
        *p = *p == ':' ? '-' : *p;
    }
    /* an ID is a file name part here: nothing that leaves the directory */
    char safe[96];
    size_t k = 0;
    for (const char *p = id; *p && k + 1 < sizeof safe; p++) {
        int bad = *p == '/' || *p == '\\' || (*p == '.' && k == 0);
        safe[k++] = bad ? '_' : *p;
    }
    safe[k] = '\0';
    snprintf(out->path, sizeof out->path, "%s/%s-%s-%s.csv", dir, layer, safe, stamp);
    /* two records within a second: the later one gets a number, none is overwritten */
    struct stat seen;
    for (int i = 2; stat(out->path, &seen) == 0 && i < 1000; i++) {
        snprintf(out->path, sizeof out->path, "%s/%s-%s-%s-%d.csv", dir, layer, safe, stamp, i);
    }
    cr_strbuf b = {0};
    cr_csv_begin(&b);
    cr_csv_row(&b, names, n);
    cr_csv_row(&b, values, n);
    FILE *f = fopen(out->path, "wx");
    int written = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f && fclose(f) != 0) {
        written = 0;
    }
    cr_strbuf_cleanup(&b);
    if (!written) {
        return cr_error_set(err, CR_EIO, "%s: %s", out->path, strerror(errno));
    }
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    o.crs = crs;
    cr_ingest_result r;
    cr_status rc = cr_etl_ingest_file(store, def, out->path, &o, &r, err);
    if (rc != CR_OK) {
        return rc;
    }
    out->batch_id = r.batch_id;
    out->inserted = r.inserted > 0;
    out->updated = r.updated > 0;
    if (r.rejected > 0) {
        json_t *rows = NULL;
        cr_store_list_rejects(store, r.batch_id, 4, &rows, NULL);
        const char *why = json_string_value(json_object_get(json_array_get(rows, 0), "reason"));
        snprintf(out->reject, sizeof out->reject, "%s", why ? why : "rejected");
        json_decref(rows);
        cr_ingest_result_cleanup(&r);
        return cr_error_set(err, CR_EINVAL, "not recorded: %s", out->reject);
    }
    cr_ingest_result_cleanup(&r);
    cr_after_import call = {layer, &out->batch_id, 1, 0};
    cr_after_import_report rep;
    rc = cr_etl_after_import(store, &call, &rep, err);
    if (rc != CR_OK) {
        cr_error_set(err, rc, "the record is stored as batch %lld, but the %s failed: %s",
                     (long long)out->batch_id, rep.failed_step ? rep.failed_step : "join",
                     err->msg);
    }
    cr_after_import_report_cleanup(&rep);
    return rc;
}

/* ---- incidents -------------------------------------------------------------------------- */

int cr_api_current_exists(cr_store *store, const char *layer, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s_current\" WHERE source_id = ?", layer);
    sqlite3_stmt *st = cr_store_cached(store, sql);
    int found = 0;
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    return found;
}

static int incident_exists(cr_store *store, const char *id)
{
    return cr_api_current_exists(store, "incidents", id);
}

/* The place as longitude/latitude text (the record file's columns): at as given (decimal or
 * DMS, in its CRS; the import checks and converts it), a feature's or a reach's point. */
static cr_status place_of(cr_store *store, const cr_incident_input *in, char lon[64], char lat[64],
                          cr_error *err)
{
    if (in->at) {
        const char *comma = strchr(in->at, ',');
        if (comma == NULL) {
            return cr_error_set(err, CR_EINVAL, "at: LON,LAT wanted, got '%s'", in->at);
        }
        snprintf(lon, 64, "%.*s", (int)(comma - in->at), in->at);
        snprintf(lat, 64, "%s", comma + 1);
        return CR_OK;
    }
    sqlite3_stmt *st = NULL;
    sqlite3 *db = cr_store_db(store);
    if (in->feature) {
        const char *colon = strchr(in->feature, ':');
        if (colon == NULL) {
            return cr_error_set(err, CR_EINVAL, "feature: LAYER:ID wanted, got '%s'", in->feature);
        }
        char *layer = cr_xstrndup(in->feature, (size_t)(colon - in->feature));
        if (cr_layer_set_find(cr_store_layers(store), layer) == NULL) {
            cr_error_set(err, CR_ENOTFOUND, "feature: no layer '%s'", layer);
            free(layer);
            return CR_ENOTFOUND;
        }
        char *sql = sqlite3_mprintf("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface("
                                    "geom)) FROM \"%w_current\" WHERE source_id = ?",
                                    layer);
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_free(sql);
        free(layer);
        if (st) {
            sqlite3_bind_text(st, 1, colon + 1, -1, SQLITE_TRANSIENT);
        }
    } else {
        sqlite3_prepare_v2(db,
                           "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Line_Interpolate_Point(geom,"
                           " MIN(1, MAX(0, CASE WHEN ?2 < 0 THEN 0.5 ELSE ?2 /"
                           " ST_Length(geom, 1) END))) AS p FROM reaches_current WHERE"
                           " source_id = ?1)",
                           -1, &st, NULL);
        if (st) {
            sqlite3_bind_text(st, 1, in->reach, -1, SQLITE_TRANSIENT);
            sqlite3_bind_double(st, 2, in->has_measure ? in->measure_m : -1);
        }
    }
    int ok = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (ok) {
        snprintf(lon, 64, "%.7f", sqlite3_column_double(st, 0));
        snprintf(lat, 64, "%.7f", sqlite3_column_double(st, 1));
    }
    sqlite3_finalize(st);
    if (!ok) {
        return cr_error_set(err, CR_ENOTFOUND, "%s '%s' is not in the store",
                            in->feature ? "feature" : "reach",
                            in->feature ? in->feature : in->reach);
    }
    return CR_OK;
}

static cr_status incident_record(cr_store *store, const char *store_path,
                                 const cr_incident_input *in, const char *lon, const char *lat,
                                 cr_record_result *out, cr_error *err)
{
    const char *names[16], *values[16];
    char amount[32], release[32];
    size_t n = 0;
#define COL(name, value)                                                                           \
    do {                                                                                           \
        const char *v_ = (value);                                                                  \
        if (v_) {                                                                                  \
            names[n] = name;                                                                       \
            values[n++] = v_;                                                                      \
        }                                                                                          \
    } while (0)
    COL("incident_id", in->id);
    COL("occurred_at", in->time);
    COL("substance", in->substance);
    if (in->has_amount) {
        snprintf(amount, sizeof amount, "%g", in->amount_kg);
        COL("amount_kg", amount);
    }
    if (in->has_release) {
        snprintf(release, sizeof release, "%g", in->release_hours);
        COL("release_hours", release);
    }
    COL("reporter", in->reporter);
    COL("place", in->place);
    COL("cause", in->cause);
    COL("response", in->response);
    COL("status", in->status);
    COL("note", in->note);
    COL("经度", lon);
    COL("纬度", lat);
#undef COL
    return cr_api_record(store, store_path, "incidents", in->id, names, values, n, in->crs, out,
                         err);
}

cr_status cr_api_incident_open(cr_store *store, const char *store_path, cr_incident_input *in,
                               char id_out[64], cr_record_result *out, cr_error *err)
{
    int places = (in->at != NULL) + (in->feature != NULL) + (in->reach != NULL);
    if (places != 1 || in->time == NULL || in->substance == NULL) {
        return cr_error_set(err, CR_EINVAL,
                            "one place (at, feature or reach), the time and the substance are "
                            "needed");
    }
    char lon[64], lat[64];
    cr_status rc = place_of(store, in, lon, lat, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (in->id == NULL || in->id[0] == '\0') {
        char day[20];
        cr_error e = {0};
        if (cr_etl_parse_datetime(in->time, day, &e) != CR_OK &&
            cr_etl_parse_date(in->time, day, &e) != CR_OK) {
            return cr_error_set(err, CR_EINVAL, "time: %s", e.msg);
        }
        int k = 1;
        do {
            snprintf(id_out, 64, "INC-%.4s%.2s%.2s-%02d", day, day + 5, day + 8, k++);
        } while (incident_exists(store, id_out) && k < 100);
    } else {
        snprintf(id_out, 64, "%s", in->id);
    }
    if (incident_exists(store, id_out)) {
        return cr_error_set(err, CR_EINVAL, "%s is recorded already (an update changes it)",
                            id_out);
    }
    cr_incident_input m = *in;
    m.id = id_out;
    m.status = in->status ? in->status : "open";
    return incident_record(store, store_path, &m, lon, lat, out, err);
}

/* An update is the current record with the changes given: a new version of the whole record
 * (the place as stored, WGS84), so the record file reads on its own. */
cr_status cr_api_incident_update(cr_store *store, const char *store_path,
                                 const cr_incident_input *in, cr_record_result *out, cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT occurred_at, substance, amount_kg, release_hours, reporter, place, cause,"
               " response, status, note, ST_X(geom), ST_Y(geom) FROM incidents_current WHERE"
               " source_id = ?");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, in->id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return cr_error_set(err, CR_ENOTFOUND, "no incident %s", in->id);
    }
    char *kept[10] = {0};
    for (int i = 0; i < 10; i++) {
        const unsigned char *v = sqlite3_column_text(st, i);
        kept[i] = v ? cr_xstrdup((const char *)v) : NULL;
    }
    char lon[64], lat[64];
    snprintf(lon, sizeof lon, "%.8f", sqlite3_column_double(st, 10));
    snprintf(lat, sizeof lat, "%.8f", sqlite3_column_double(st, 11));
    sqlite3_reset(st);
    cr_incident_input m = *in;
    const char **slots[] = {&m.time,  &m.substance, NULL,        NULL,      &m.reporter,
                            &m.place, &m.cause,     &m.response, &m.status, &m.note};
    for (int i = 0; i < 10; i++) {
        if (slots[i] && *slots[i] == NULL) {
            *slots[i] = kept[i];
        }
    }
    if (!m.has_amount && kept[2]) {
        m.amount_kg = strtod(kept[2], NULL);
        m.has_amount = 1;
    }
    if (!m.has_release && kept[3]) {
        m.release_hours = strtod(kept[3], NULL);
        m.has_release = 1;
    }
    m.crs = "EPSG:4326";
    cr_status rc = CR_OK;
    if (m.status && strcmp(m.status, "open") != 0 && strcmp(m.status, "contained") != 0 &&
        strcmp(m.status, "closed") != 0) {
        rc = cr_error_set(err, CR_EINVAL, "status: open, contained or closed, not '%s'", m.status);
    }
    if (rc == CR_OK) {
        rc = incident_record(store, store_path, &m, lon, lat, out, err);
    }
    for (int i = 0; i < 10; i++) {
        free(kept[i]);
    }
    return rc;
}

cr_status cr_api_incident_input_json(const json_t *body, cr_incident_input *in, cr_error *err)
{
    memset(in, 0, sizeof *in);
    if (!json_is_object(body)) {
        return cr_error_set(err, CR_EINVAL,
                            "the body is a JSON object of the incident's fields "
                            "(docs/incidents.md)");
    }
    static const char *const known[] = {
        "id",    "at",        "crs",       "feature",       "reach",    "measure_m",
        "time",  "substance", "amount_kg", "release_hours", "reporter", "place",
        "cause", "response",  "status",    "note"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0) {
            i++;
        }
        if (i == sizeof known / sizeof known[0]) {
            return cr_error_set(err, CR_EINVAL,
                                "'%s' is not an incident field (id, at, crs, "
                                "feature, reach, measure_m, time, substance, "
                                "amount_kg, release_hours, reporter, place, "
                                "cause, response, status, note)",
                                key);
        }
        int numeric = strcmp(key, "measure_m") == 0 || strcmp(key, "amount_kg") == 0 ||
                      strcmp(key, "release_hours") == 0;
        if (strcmp(key, "at") == 0 && json_is_array(v)) {
            /* [lon, lat], as a map click gives it */
            json_t *x = json_array_get(v, 0), *y = json_array_get(v, 1);
            if (json_array_size(v) != 2 || !json_is_number(x) || !json_is_number(y) ||
                !(fabs(json_number_value(x)) <= 180) || !(fabs(json_number_value(y)) <= 90)) {
                return cr_error_set(err, CR_EINVAL,
                                    "at: \"LON,LAT\" or [lon, lat] in degrees wanted (lon within "
                                    "±180, lat within ±90)");
            }
            snprintf(in->at_buf, sizeof in->at_buf, "%.8f,%.8f", json_number_value(x),
                     json_number_value(y));
            continue;
        }
        if (numeric ? !json_is_number(v) || json_number_value(v) < 0 : !json_is_string(v)) {
            return cr_error_set(err, CR_EINVAL, "%s: %s wanted", key,
                                numeric ? "a number ≥ 0" : "a string");
        }
    }
    const char **slots[] = {&in->id,    &in->at,       &in->crs,      &in->feature,
                            &in->reach, NULL,          &in->time,     &in->substance,
                            NULL,       NULL,          &in->reporter, &in->place,
                            &in->cause, &in->response, &in->status,   &in->note};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        json_t *f = json_object_get(body, known[i]);
        if (f && slots[i]) {
            *slots[i] = json_string_value(f);
        }
    }
    if (in->at_buf[0]) {
        in->at = in->at_buf;
    }
    json_t *m = json_object_get(body, "measure_m");
    json_t *a = json_object_get(body, "amount_kg");
    json_t *h = json_object_get(body, "release_hours");
    in->has_measure = m != NULL;
    in->measure_m = m ? json_number_value(m) : 0;
    in->has_amount = a != NULL;
    in->amount_kg = a ? json_number_value(a) : 0;
    in->has_release = h != NULL;
    in->release_hours = h ? json_number_value(h) : 0;
    return CR_OK;
}

/* A notification of subject (an incident, a gate operation) into table, with its audit row. */
static cr_status notify_into(cr_store *store, const char *table, const char *subject,
                             const cr_notification_input *n, json_t **out, cr_error *err)
{
    *out = NULL;
    if (!n->subject_id || !n->to || !n->channel || !n->sent || !n->who) {
        return cr_error_set(err, CR_EINVAL,
                            "a notification needs to (the jurisdiction's code), channel, sent "
                            "and who");
    }
    const char *kind = n->kind ? n->kind : "notification";
    if (strcmp(kind, "notification") && strcmp(kind, "information") && strcmp(kind, "press")) {
        return cr_error_set(err, CR_EINVAL, "kind: notification, information or press, not '%s'",
                            kind);
    }
    char sent[20] = "", ack[20] = "";
    cr_error e = {0};
    if (cr_etl_parse_datetime(n->sent, sent, &e) != CR_OK) {
        return cr_error_set(err, CR_EINVAL, "sent: %s", e.msg);
    }
    if (n->acknowledged && cr_etl_parse_datetime(n->acknowledged, ack, &e) != CR_OK) {
        return cr_error_set(err, CR_EINVAL, "acknowledged: %s", e.msg);
    }
    char name[128] = "";
    size_t len = strlen(n->to);
    const char *level = len == 9 ? "town" : "county";
    sqlite3_stmt *q = cr_store_cached(store, "SELECT name FROM admin_units_current WHERE code = ?");
    if (q) {
        sqlite3_bind_text(q, 1, n->to, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) == SQLITE_ROW) {
            snprintf(name, sizeof name, "%s", sqlite3_column_text(q, 0));
        }
        sqlite3_reset(q);
    }
    if (len == 6 && strcmp(n->to + 4, "00") == 0) {
        level = strcmp(n->to + 2, "0000") == 0 ? "province" : "city";
    }
    char now[21];
    cr_now_iso8601(now);
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS %s (subject_id TEXT NOT NULL, seq INTEGER NOT NULL, kind"
             " TEXT NOT NULL, to_code TEXT NOT NULL, to_name TEXT, level TEXT, channel TEXT NOT"
             " NULL, sent_at TEXT NOT NULL, acknowledged_at TEXT, who TEXT NOT NULL, note TEXT,"
             " recorded_at TEXT NOT NULL, PRIMARY KEY (subject_id, seq)) WITHOUT ROWID;"
             " BEGIN IMMEDIATE",
             table);
    cr_status rc = cr_store_exec(store, sql, err);
    snprintf(sql, sizeof sql,
             "INSERT INTO %s SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
             " ?9, ?10, ?11 FROM %s WHERE subject_id = ?1",
             table, table);
    sqlite3_stmt *st = rc == CR_OK ? cr_store_cached(store, sql) : NULL;
    if (rc == CR_OK && st == NULL) {
        rc = cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc == CR_OK) {
        const char *v[] = {n->subject_id, kind,       n->to, name[0] ? name : NULL,
                           level,         n->channel, sent,  n->acknowledged ? ack : NULL,
                           n->who,        n->note,    now};
        for (int i = 0; i < 11; i++) {
            if (v[i]) {
                sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(st, i + 1);
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
        }
        sqlite3_reset(st);
    }
    if (rc == CR_OK) {
        char detail[256];
        char action[64];
        snprintf(detail, sizeof detail, "%s %s: %s to %s by %s at %s", subject, n->subject_id, kind,
                 n->to, n->channel, sent);
        snprintf(action, sizeof action, "%s_notification", subject);
        rc = cr_store_audit(store, n->who, action, detail, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        cr_store_exec(store, "ROLLBACK", NULL);
        return rc;
    }
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s*, s:s*}", "subject_id", n->subject_id,
                     "kind", kind, "to_code", n->to, "to_name", name, "level", level, "sent_at",
                     sent, "acknowledged_at", n->acknowledged ? ack : NULL, "note", n->note);
    return CR_OK;
}

cr_status cr_api_incident_notify(cr_store *store, const cr_notification_input *n, json_t **out,
                                 cr_error *err)
{
    *out = NULL;
    if (n->subject_id && !incident_exists(store, n->subject_id)) {
        return cr_error_set(err, CR_ENOTFOUND, "no incident %s", n->subject_id);
    }
    return notify_into(store, "incident_notifications", "incident", n, out, err);
}

cr_status cr_api_gate_notify(cr_store *store, const cr_notification_input *n, json_t **out,
                             cr_error *err)
{
    *out = NULL;
    int found = n->subject_id && cr_api_current_exists(store, "gate_operations", n->subject_id);
    if (n->subject_id && !found) {
        return cr_error_set(err, CR_ENOTFOUND, "no gate operation %s", n->subject_id);
    }
    return notify_into(store, "gate_notifications", "gate_operation", n, out, err);
}

/* ---- findings ------------------------------------------------------------------------- */

static const char *const FINDING_FIELDS[] = {
    "finding_id",  "patrol_id", "found_at", "kind",    "description", "photos", "reporter",
    "responsible", "deadline",  "status",   "step_by", "step_at",     "note",   "county"};
enum { N_FINDING_FIELDS = sizeof FINDING_FIELDS / sizeof FINDING_FIELDS[0] };

cr_status cr_api_finding_new(cr_store *store, const char *store_path, const json_t *body,
                             cr_record_result *out, cr_error *err)
{
    if (!json_is_object(body)) {
        return cr_error_set(err, CR_EINVAL,
                            "the body is a JSON object of the finding's fields "
                            "(docs/patrol.md)");
    }
    const char *names[N_FINDING_FIELDS + 2], *values[N_FINDING_FIELDS + 2];
    char lon[64] = "", lat[64] = "";
    size_t n = 0;
    const char *key, *crs = NULL;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (i < N_FINDING_FIELDS && strcmp(FINDING_FIELDS[i], key) != 0) {
            i++;
        }
        int place = strcmp(key, "lon") == 0 || strcmp(key, "lat") == 0;
        if (place && json_is_number(v)) {
            snprintf(key[1] == 'o' ? lon : lat, 64, "%.8f", json_number_value(v));
        } else if (place && json_is_string(v)) {
            snprintf(key[1] == 'o' ? lon : lat, 64, "%s", json_string_value(v));
        } else if (strcmp(key, "crs") == 0 && json_is_string(v)) {
            crs = json_string_value(v);
        } else if (i < N_FINDING_FIELDS && i != 9 && i != 10 && i != 11 && json_is_string(v)) {
            names[n] = key;
            values[n++] = json_string_value(v);
        } else {
            return cr_error_set(err, CR_EINVAL,
                                "'%s' is not a field of a new finding or not a string (finding_id, "
                                "patrol_id, found_at, kind, description, photos, reporter, "
                                "responsible, deadline, note, county, lon, lat, crs; it starts "
                                "open, its steps are POST /api/findings/{id}/step)",
                                key);
        }
    }
    const char *id = json_string_value(json_object_get(body, "finding_id"));
    if (id == NULL || !lon[0] || !lat[0]) {
        return cr_error_set(err, CR_EINVAL, "a finding needs finding_id, found_at, lon and lat");
    }
    if (cr_api_current_exists(store, "findings", id)) {
        return cr_error_set(err, CR_EINVAL,
                            "finding %s is recorded already (its steps are POST "
                            "/api/findings/%s/step)",
                            id, id);
    }
    names[n] = "status";
    values[n++] = "open";
    names[n] = "经度";
    values[n++] = lon;
    names[n] = "纬度";
    values[n++] = lat;
    return cr_api_record(store, store_path, "findings", id, names, values, n, crs, out, err);
}

cr_status cr_api_finding_step(cr_store *store, const char *store_path, const char *id,
                              const char *to, const char *who, const char *note, const char *photo,
                              const char *at, cr_record_result *out, cr_error *err)
{
    if (to == NULL || who == NULL) {
        return cr_error_set(err, CR_EINVAL, "a step needs the state it goes to and who took it");
    }
    cr_strbuf sql = {0};
    cr_strbuf_puts(&sql, "SELECT ");
    for (size_t i = 0; i < N_FINDING_FIELDS; i++) {
        cr_strbuf_printf(&sql, "%s, ", FINDING_FIELDS[i]);
    }
    cr_strbuf_puts(&sql, "ST_X(geom), ST_Y(geom) FROM findings_current WHERE source_id = ?");
    sqlite3_stmt *st = cr_store_cached(store, sql.data);
    cr_strbuf_cleanup(&sql);
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return cr_error_set(err, CR_ENOTFOUND, "no finding %s", id);
    }
    char *v[N_FINDING_FIELDS] = {0};
    for (size_t i = 0; i < N_FINDING_FIELDS; i++) {
        const unsigned char *t = sqlite3_column_text(st, (int)i);
        v[i] = t ? cr_xstrdup((const char *)t) : NULL;
    }
    char lon[64], lat[64];
    snprintf(lon, sizeof lon, "%.8f", sqlite3_column_double(st, N_FINDING_FIELDS));
    snprintf(lat, sizeof lat, "%.8f", sqlite3_column_double(st, N_FINDING_FIELDS + 1));
    sqlite3_reset(st);
    const char *from = v[9] ? v[9] : "open";
    cr_status rc = CR_OK;
    if (!cr_ops_finding_step_allowed(from, to)) {
        rc = cr_error_set(err, CR_EINVAL, "%s is %s: it can go to %s, not to '%s'", id, from,
                          strcmp(from, "open") == 0         ? "rectifying or rectified"
                          : strcmp(from, "rectifying") == 0 ? "rectified"
                          : strcmp(from, "rectified") == 0  ? "verified, or back to rectifying"
                          : strcmp(from, "verified") == 0   ? "closed"
                                                            : "nothing (it is closed)",
                          to);
    }
    char when[20], photos[1024];
    cr_error e = {0};
    if (rc == CR_OK && at) {
        if (cr_etl_parse_datetime(at, when, &e) != CR_OK) {
            rc = cr_error_set(err, CR_EINVAL, "at: %s", e.msg);
        }
    } else if (rc == CR_OK) {
        time_t now = time(NULL) + 8 * 3600;
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    }
    if (rc == CR_OK) {
        snprintf(photos, sizeof photos, "%s%s%s", v[5] ? v[5] : "", v[5] && photo ? "；" : "",
                 photo ? photo : "");
        const char *names[N_FINDING_FIELDS + 2], *values[N_FINDING_FIELDS + 2];
        size_t n = 0;
        for (size_t i = 0; i < N_FINDING_FIELDS; i++) {
            const char *val = i == 5    ? (photos[0] ? photos : NULL)
                              : i == 9  ? to
                              : i == 10 ? who
                              : i == 11 ? when
                              : i == 12 ? (note ? note : "")
                                        : v[i];
            if (val) {
                names[n] = FINDING_FIELDS[i];
                values[n++] = val;
            }
        }
        names[n] = "经度";
        values[n++] = lon;
        names[n] = "纬度";
        values[n++] = lat;
        rc = cr_api_record(store, store_path, "findings", id, names, values, n, "EPSG:4326", out,
                           err);
    }
    for (size_t i = 0; i < N_FINDING_FIELDS; i++) {
        free(v[i]);
    }
    return rc;
}

cr_status cr_api_findings(cr_store *store, const char *status, json_t **out, cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT source_id, found_at, kind, COALESCE(status, 'open'), county_code,"
               " description, responsible, deadline, reach_id, ST_X(geom), ST_Y(geom) FROM"
               " findings_current WHERE (?1 IS NULL OR COALESCE(status, 'open') = ?1) ORDER BY"
               " found_at DESC, source_id");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (status) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    }
    static const char *const names[] = {"finding_id",  "found_at",    "kind",        "status",
                                        "county_code", "description", "responsible", "deadline",
                                        "reach_id",    "lon",         "lat"};
    *out = cr_api_rows_json(st, names);
    return CR_OK;
}

cr_status cr_api_finding(cr_store *store, const char *id, json_t **out, cr_error *err)
{
    *out = NULL;
    json_t *list = NULL;
    cr_status rc = cr_api_findings(store, NULL, &list, err);
    json_t *current = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "finding_id")), id) == 0) {
            current = json_incref(o);
        }
    }
    json_decref(list);
    if (rc == CR_OK && current == NULL) {
        return cr_error_set(err, CR_ENOTFOUND, "no finding %s", id);
    }
    sqlite3_stmt *st = rc == CR_OK ? cr_store_cached(store, "SELECT version, COALESCE(status,"
                                                            " 'open'), step_by, step_at, note,"
                                                            " photos, valid_from, valid_to,"
                                                            " batch_id FROM findings WHERE"
                                                            " source_id = ? ORDER BY version")
                                   : NULL;
    if (rc == CR_OK && st == NULL) {
        rc = cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc != CR_OK) {
        json_decref(current);
        return rc;
    }
    static const char *const names[] = {"version", "status",     "step_by",  "step_at", "note",
                                        "photos",  "valid_from", "valid_to", "batch_id"};
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    json_t *versions = cr_api_rows_json(st, names);
    json_object_set_new(current, "versions", versions);
    *out = current;
    return CR_OK;
}
