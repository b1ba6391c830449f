/* SPDX-License-Identifier: MIT */
/* Batches over time: which import of a file is in force, closing what a full survey no longer
 * lists, and undoing a batch (revert, supersede). Rule: nothing is deleted; every change is a
 * version written or closed by a batch of its own. */
#include "store.h"
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

static void copy_text(char *out, size_t n, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(out, n, "%s", v ? v : "");
}

cr_status cr_store_get_batch(cr_store *s, int64_t batch_id, cr_batch_summary *out, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT rows_in, stored, rejected, encoding, crs, source_layer, layer,"
                           " valid_from, options, kind, target_batch, superseded_by, reverted_by"
                           " FROM import_batches WHERE batch_id=?",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "import_batches");
    }
    sqlite3_bind_int64(st, 1, batch_id);
    cr_status rc = CR_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->batch_id = batch_id;
        out->rows_in = sqlite3_column_int64(st, 0);
        out->stored = sqlite3_column_int64(st, 1);
        out->rejected = sqlite3_column_int64(st, 2);
        copy_text(out->encoding, sizeof out->encoding, st, 3);
        copy_text(out->crs, sizeof out->crs, st, 4);
        copy_text(out->source_layer, sizeof out->source_layer, st, 5);
        copy_text(out->layer, sizeof out->layer, st, 6);
        copy_text(out->valid_from, sizeof out->valid_from, st, 7);
        const char *opts = (const char *)sqlite3_column_text(st, 8);
        out->options = opts ? cr_xstrdup(opts) : NULL;
        copy_text(out->kind, sizeof out->kind, st, 9);
        out->target_batch = sqlite3_column_int64(st, 10);
        out->superseded_by = sqlite3_column_int64(st, 11);
        out->reverted_by = sqlite3_column_int64(st, 12);
    } else {
        rc = cr_error_set(err, CR_EINVAL, "no import batch %lld", (long long)batch_id);
    }
    sqlite3_finalize(st);
    return rc;
}

void cr_batch_summary_cleanup(cr_batch_summary *b)
{
    free(b->options);
    b->options = NULL;
}

int64_t cr_store_find_active_batch(cr_store *s, const char *layer, const char *sha256)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT batch_id FROM import_batches WHERE layer=? AND sha256=?"
                           " AND finished_at IS NOT NULL AND kind='import'"
                           " AND superseded_by IS NULL AND reverted_by IS NULL"
                           " ORDER BY batch_id DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sha256, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return id;
}

cr_status cr_store_mark_target(cr_store *s, int64_t batch_id, cr_error *err)
{
    /* a revert marks its target reverted; a superseding import marks its target superseded;
     * undoing either (a revert of it) puts its own target back in force */
    static const char *SQL =
        "UPDATE import_batches SET reverted_by = ?1 WHERE batch_id ="
        " (SELECT target_batch FROM import_batches WHERE batch_id = ?1 AND kind = 'revert');"
        "UPDATE import_batches SET superseded_by = ?1 WHERE batch_id ="
        " (SELECT target_batch FROM import_batches WHERE batch_id = ?1 AND kind = 'import');"
        "UPDATE import_batches SET reverted_by = NULL, superseded_by = NULL WHERE batch_id ="
        " (SELECT u.target_batch FROM import_batches r JOIN import_batches u"
        " ON u.batch_id = r.target_batch WHERE r.batch_id = ?1 AND r.kind = 'revert')";
    const char *tail = SQL;
    cr_status rc = CR_OK;
    while (rc == CR_OK && tail && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK) {
            return cr_store_db_error(s, err, "marking the batch's target");
        }
        if (st == NULL) {
            break;
        }
        sqlite3_bind_int64(st, 1, batch_id);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_store_db_error(s, err, "marking the batch's target");
        }
        sqlite3_finalize(st);
    }
    return rc;
}

cr_status cr_store_close_where(cr_store *s, const cr_layer_def *d, int64_t batch_id,
                               int (*visit)(void *user, const char *source_id, const double *point),
                               void *user, int64_t *closed_out, cr_error *err)
{
    layer_stmts *ls;
    cr_status rc = cr_store_prepare_layer(s, d, &ls, err);
    if (rc != CR_OK) {
        return rc;
    }
    char *sql =
        d->geom == CR_GEOM_NONE
            ? sqlite3_mprintf("SELECT fid, source_id FROM \"%w\" WHERE valid_to IS NULL", d->name)
        : d->geom == CR_GEOM_POINT
            ? sqlite3_mprintf("SELECT fid, source_id, ST_X(geom), ST_Y(geom) FROM \"%w\""
                              " WHERE valid_to IS NULL",
                              d->name)
            : sqlite3_mprintf("SELECT fid, source_id, ST_X(p), ST_Y(p) FROM (SELECT fid,"
                              " source_id, ST_PointOnSurface(geom) AS p FROM \"%w\""
                              " WHERE valid_to IS NULL)",
                              d->name);
    sqlite3_stmt *st;
    int prepared = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_free(sql);
    if (!prepared) {
        return cr_store_db_error(s, err, d->name);
    }
    int64_t *fids = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double pt[2] = {sqlite3_column_double(st, 2), sqlite3_column_double(st, 3)};
        int has_point = d->geom != CR_GEOM_NONE && sqlite3_column_type(st, 2) != SQLITE_NULL;
        if (visit(user, (const char *)sqlite3_column_text(st, 1), has_point ? pt : NULL)) {
            fids = cr_xrealloc(fids, (n + 1) * sizeof *fids);
            fids[n++] = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        rc = cr_store_close_fid(s, ls, batch_id, fids[i], err);
    }
    free(fids);
    if (rc == CR_OK) {
        *closed_out = (int64_t)n;
    }
    return rc;
}

/* Run one statement with ?1 = target and ?2 = batch; *changes_out gets the rows it changed. */
static cr_status run_bound(cr_store *s, const char *sql, int64_t target, int64_t batch,
                           int64_t *changes_out, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "revert");
    }
    sqlite3_bind_int64(st, 1, target);
    if (sqlite3_bind_parameter_count(st) >= 2) {
        sqlite3_bind_int64(st, 2, batch);
    }
    if (sqlite3_bind_parameter_count(st) >= 3) {
        sqlite3_bind_text(st, 3, s->valid_from, -1, SQLITE_STATIC);
    }
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        return cr_store_db_error(s, err, "revert");
    }
    if (changes_out) {
        *changes_out = sqlite3_changes(s->db);
    }
    return CR_OK;
}

/* Later batches (other than the open one) that changed features target touched: 0 when none,
 * else their count, with the first few listed in which. */
static int64_t later_changes(cr_store *s, const cr_layer_def *d, int64_t target, int64_t batch,
                             char which[128])
{
    char *sql = sqlite3_mprintf(
        "SELECT count(DISTINCT l.source_id), group_concat(DISTINCT b) FROM (SELECT source_id,"
        " CASE WHEN batch_id > ?1 AND batch_id != ?2 THEN batch_id ELSE closed_by_batch END AS b"
        " FROM \"%w\" WHERE (batch_id > ?1 AND batch_id != ?2) OR (closed_by_batch > ?1 AND"
        " closed_by_batch != ?2)) l WHERE l.source_id IN (SELECT source_id FROM"
        " temp.revert_ids)",
        d->name);
    sqlite3_stmt *st;
    int64_t n = 0;
    which[0] = '\0';
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, target);
        sqlite3_bind_int64(st, 2, batch);
        if (sqlite3_step(st) == SQLITE_ROW) {
            n = sqlite3_column_int64(st, 0);
            copy_text(which, 128, st, 1);
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

/* The column list every version carries (after fid), for copying a version. */
static void version_columns(const cr_layer_def *d, cr_strbuf *sb)
{
    cr_strbuf_puts(sb, "content_sha256");
    for (size_t i = 0; i < d->n_fields; i++) {
        cr_strbuf_printf(sb, ", \"%s\"", d->fields[i].name);
    }
    cr_strbuf_puts(sb, ", raw_x, raw_y, coord_method, extra");
    if (d->geom != CR_GEOM_NONE) {
        cr_strbuf_puts(sb, ", geom");
    }
}

cr_status cr_store_revert_rows(cr_store *s, const cr_layer_def *d, int64_t target, int64_t batch_id,
                               int64_t *closed_out, int64_t *reopened_out, cr_error *err)
{
    layer_stmts *ls;
    cr_status rc = cr_store_prepare_layer(s, d, &ls, err);
    if (rc != CR_OK) {
        return rc;
    }
    /* the new versions get R*Tree entries at commit, like an import's */
    ls->checked_in_batch = batch_id;
    ls->empty_in_batch = 0;
    char *sql = sqlite3_mprintf(
        "DROP TABLE IF EXISTS temp.revert_ids;"
        "CREATE TEMP TABLE revert_ids (source_id TEXT PRIMARY KEY, last_version INTEGER);"
        "INSERT INTO temp.revert_ids SELECT source_id, max(version) FROM \"%w\""
        " WHERE batch_id = %lld OR closed_by_batch = %lld GROUP BY source_id;",
        d->name, (long long)target, (long long)target);
    rc = cr_store_exec(s, sql, err);
    sqlite3_free(sql);
    char which[128];
    int64_t later = rc == CR_OK ? later_changes(s, d, target, batch_id, which) : 0;
    if (later > 0) {
        rc = cr_error_set(err, CR_EINVAL,
                          "batch %lld cannot be undone: later batch%s %s changed %lld of its "
                          "features since (undo %s first, newest first: crossriver batches "
                          "--revert N)",
                          (long long)target, strchr(which, ',') ? "es" : "", which,
                          (long long)later, strchr(which, ',') ? "them" : "it");
    }
    /* close what target left current, then bring back what it closed as new versions */
    if (rc == CR_OK) {
        sql = sqlite3_mprintf("UPDATE \"%w\" SET valid_to = ?3, closed_by_batch = ?2"
                              " WHERE batch_id = ?1 AND valid_to IS NULL",
                              d->name);
        rc = run_bound(s, sql, target, batch_id, closed_out, err);
        sqlite3_free(sql);
    }
    if (rc == CR_OK) {
        cr_strbuf cols = {0};
        version_columns(d, &cols);
        sql = sqlite3_mprintf(
            "INSERT INTO \"%w\" (source_id, version, valid_from, batch_id, source_row, notes, %s)"
            " SELECT l.source_id, r.last_version + 1, ?3, ?2, l.source_row,"
            " 'restored by batch ' || ?2 || ' (undoing batch ' || ?1 || '): version ' ||"
            " l.version || ' of batch ' || l.batch_id, %s FROM \"%w\" l JOIN temp.revert_ids r"
            " USING (source_id) WHERE l.closed_by_batch = ?1 AND NOT EXISTS (SELECT 1 FROM"
            " \"%w\" c WHERE c.source_id = l.source_id AND c.valid_to IS NULL)",
            d->name, cols.data, cols.data, d->name, d->name);
        cr_strbuf_cleanup(&cols);
        rc = run_bound(s, sql, target, batch_id, reopened_out, err);
        sqlite3_free(sql);
    }
    cr_store_exec(s, "DROP TABLE IF EXISTS temp.revert_ids", NULL);
    return rc;
}

cr_status cr_store_audit(cr_store *s, const char *who, const char *action, const char *detail,
                         cr_error *err)
{
    char now[21];
    cr_now_iso8601(now);
    char *sql =
        sqlite3_mprintf("CREATE TABLE IF NOT EXISTS audit_log (audit_id INTEGER PRIMARY KEY,"
                        " at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,"
                        " detail TEXT);"
                        "INSERT INTO audit_log (at, who, action, detail) VALUES"
                        " (%Q, %Q, %Q, %Q);",
                        now, who, action, detail);
    cr_status rc = cr_store_exec(s, sql, err);
    sqlite3_free(sql);
    return rc;
}

/* The view of one layer as of as_of (see cr_store_as_of_begin). */
static cr_status as_of_view(cr_store *s, const cr_layer_def *d, const char *as_of, cr_error *err)
{
    cr_strbuf cols = {0};
    char *info = sqlite3_mprintf("SELECT name FROM pragma_table_info('%q')", d->name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, info, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            /* open at as_of by construction: not yet closed then */
            int open = strcmp(name, "valid_to") == 0 || strcmp(name, "closed_by_batch") == 0;
            cr_strbuf_printf(&cols, "%s%s\"%s\"", cols.len ? ", " : "", open ? "NULL AS " : "l.",
                             name);
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(info);
    size_t n_derived = 0;
    const cr_derived_column *dc = cr_layer_derived_columns(d, &n_derived);
    for (size_t i = 0; i < n_derived; i++) {
        cr_strbuf_printf(&cols, ", x.\"%s\"", dc[i].name);
    }
    /* an event is there once it happened and its batch was in: both by as_of */
    char *event = d->event_field ? sqlite3_mprintf(" AND (l.\"%w\" IS NULL OR substr(l.\"%w\", 1,"
                                                   " 19) <= substr(%Q, 1, 19))",
                                                   d->event_field, d->event_field, as_of)
                                 : sqlite3_mprintf("%s", "");
    char *sql = sqlite3_mprintf(
        "CREATE TEMP VIEW \"%w_current\" AS SELECT %s FROM main.\"%w\" l%s%s%s WHERE"
        " substr(l.valid_from, 1, 19) <= substr(%Q, 1, 19) AND (l.valid_to IS NULL OR"
        " substr(l.valid_to, 1, 19) > substr(%Q, 1, 19))%s",
        d->name, cols.data, d->name, n_derived ? " LEFT JOIN main.\"" : "",
        n_derived ? d->name : "", n_derived ? "_derived\" x ON x.fid = l.fid" : "", as_of, as_of,
        event);
    cr_status rc = cr_store_exec(s, sql, err);
    sqlite3_free(sql);
    sqlite3_free(event);
    cr_strbuf_cleanup(&cols);
    return rc;
}

cr_status cr_store_as_of_begin(cr_store *s, const char *as_of, cr_error *err)
{
    cr_status rc = CR_OK;
    for (size_t k = 0; rc == CR_OK && k < s->set->n_layers; k++) {
        const cr_layer_def *d = s->set->layers[k];
        if (d->history != CR_HISTORY_REFERENCE) {
            rc = as_of_view(s, d, as_of, err);
        }
    }
    if (rc != CR_OK) {
        cr_store_as_of_end(s);
    }
    s->as_of = rc == CR_OK;
    return rc;
}

int cr_store_reads_as_of(const cr_store *s)
{
    return s->as_of;
}

void cr_store_as_of_end(cr_store *s)
{
    s->as_of = 0;
    for (size_t k = 0; k < s->set->n_layers; k++) {
        char *sql =
            sqlite3_mprintf("DROP VIEW IF EXISTS temp.\"%w_current\"", s->set->layers[k]->name);
        sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
    }
}

/* What became of a batch, in words. */
static void batch_state(const char *kind, int64_t target, int64_t superseded, int64_t reverted,
                        char *out, size_t n)
{
    if (reverted) {
        snprintf(out, n, "reverted by %lld", (long long)reverted);
    } else if (superseded) {
        snprintf(out, n, "superseded by %lld", (long long)superseded);
    } else if (kind && strcmp(kind, "revert") == 0) {
        snprintf(out, n, "reverts %lld", (long long)target);
    } else if (target) {
        snprintf(out, n, "supersedes %lld", (long long)target);
    } else {
        snprintf(out, n, "in force");
    }
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v && *v ? json_string(v) : json_null();
}

cr_status cr_store_list_batches(cr_store *s, const char *layer, json_t **out, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT batch_id, layer, file_name, sha256, encoding, crs, started_at,"
                           " rows_in, stored, rejected, seconds, kind, target_batch, superseded_by,"
                           " reverted_by, flags, flag_note, closed, reopened FROM import_batches"
                           " WHERE (?1 IS NULL OR layer=?1) AND finished_at IS NOT NULL"
                           " ORDER BY batch_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "import_batches");
    }
    sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 11);
        char state[48];
        batch_state(kind, sqlite3_column_int64(st, 12), sqlite3_column_int64(st, 13),
                    sqlite3_column_int64(st, 14), state, sizeof state);
        json_t *o = json_object();
        json_object_set_new(o, "batch_id", json_integer(sqlite3_column_int64(st, 0)));
        static const char *const TEXT[] = {"layer",    "file", "sha256",
                                           "encoding", "crs",  "started_at"};
        for (int i = 0; i < 6; i++) {
            const char *v = (const char *)sqlite3_column_text(st, 1 + i);
            json_object_set_new(o, TEXT[i], json_string(v ? v : ""));
        }
        json_object_set_new(o, "rows_in", json_integer(sqlite3_column_int64(st, 7)));
        json_object_set_new(o, "stored", json_integer(sqlite3_column_int64(st, 8)));
        json_object_set_new(o, "rejected", json_integer(sqlite3_column_int64(st, 9)));
        json_object_set_new(o, "kind", json_string(kind && *kind ? kind : "import"));
        json_object_set_new(o, "state", json_string(state));
        json_object_set_new(o, "closed", json_integer(sqlite3_column_int64(st, 17)));
        json_object_set_new(o, "reopened", json_integer(sqlite3_column_int64(st, 18)));
        json_object_set_new(o, "flags", text_or_null(st, 15));
        json_object_set_new(o, "flag_note", text_or_null(st, 16));
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(st);
    *out = arr;
    return CR_OK;
}

cr_status cr_store_list_rejects(cr_store *s, int64_t batch_id, int limit, json_t **out,
                                cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT b.file_name, r.source_row, r.source_id, r.field, r.code,"
                           " r.reason, r.raw_record FROM rejects r JOIN import_batches b"
                           " USING (batch_id) WHERE batch_id = ?1 ORDER BY r.source_row"
                           " LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "rejects");
    }
    sqlite3_bind_int64(st, 1, batch_id);
    sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
    static const char *const KEYS[] = {"file", "row",    "source_id", "field",
                                       "code", "reason", "raw_record"};
    json_t *arr = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < 7; i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            json_object_set_new(o, KEYS[i], v ? json_string(v) : json_null());
        }
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(st);
    *out = arr;
    return CR_OK;
}
