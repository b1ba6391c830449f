/* SPDX-License-Identifier: MIT */
/* A full survey's scope and what it closes: the counties it covers (its rows' counties, or an
 * explicit --scope), the current features there that it no longer lists, and the safety checks
 * that refuse a survey which would close too much. Rule: a feature outside the scope is never
 * closed. */
#include "ingest_internal.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

cr_status cr_etl_parse_scope(const char *text, cr_scope *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || strcmp(text, "all") == 0) {
        out->all = text != NULL;
        return CR_OK;
    }
    if (strncmp(text, "county=", 7) != 0 || text[7] == '\0') {
        return cr_error_set(err, CR_EINVAL,
                            "--scope '%s': want all or county=CODE[,CODE…] (6-digit "
                            "administrative codes, e.g. county=330421)",
                            text);
    }
    const char *p = text + 7;
    while (*p) {
        size_t len = strcspn(p, ",");
        int digits = len == 6;
        for (size_t i = 0; i < len && digits; i++) {
            digits = isdigit((unsigned char)p[i]);
        }
        if (!digits) {
            cr_scope_cleanup(out);
            return cr_error_set(err, CR_EINVAL, "--scope '%s': '%.*s' is not a 6-digit county code",
                                text, (int)(len > 40 ? 40 : len), p);
        }
        out->codes = cr_xrealloc(out->codes, (out->n + 1) * sizeof *out->codes);
        snprintf(out->codes[out->n++], 32, "%.*s", (int)len, p);
        p += len;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                cr_scope_cleanup(out);
                return cr_error_set(err, CR_EINVAL, "--scope '%s': trailing comma", text);
            }
        }
    }
    return CR_OK;
}

void cr_scope_cleanup(cr_scope *scope)
{
    free(scope->codes);
    memset(scope, 0, sizeof *scope);
}

/* The county (code and name) containing lon,lat among the current admin units; 0 if none. */
static int county_at(cr_store *store, double lon, double lat, char code[32], char name[64])
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT code, name FROM admin_units WHERE valid_to IS NULL AND level = 'county'"
               " AND fid IN (SELECT pkid FROM idx_admin_units_geom WHERE xmin <= ?1 AND"
               " xmax >= ?1 AND ymin <= ?2 AND ymax >= ?2)"
               " AND ST_Intersects(geom, MakePoint(?1, ?2, 4326)) = 1 ORDER BY code LIMIT 1");
    if (st == NULL) {
        return 0;
    }
    sqlite3_bind_double(st, 1, lon);
    sqlite3_bind_double(st, 2, lat);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        snprintf(code, 32, "%s", (const char *)sqlite3_column_text(st, 0));
        if (name) {
            const char *n = (const char *)sqlite3_column_text(st, 1);
            snprintf(name, 64, "%s", n ? n : "");
        }
    }
    sqlite3_reset(st);
    return found;
}

static int scope_has(const cr_scope *sc, const char *code)
{
    for (size_t i = 0; i < sc->n; i++) {
        if (strcmp(sc->codes[i], code) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The name of a county code among the current admin units, or NULL when there is none. */
static char *county_name(cr_store *store, const char *code)
{
    sqlite3_stmt *st = cr_store_cached(store, "SELECT name FROM admin_units WHERE valid_to IS NULL"
                                              " AND level = 'county' AND code = ?");
    char *name = NULL;
    if (st != NULL) {
        sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 0);
            name = cr_xstrdup(n ? n : "");
        }
        sqlite3_reset(st);
    }
    return name;
}

static void describe_scope(ingest_ctx *c, const cr_scope *sc)
{
    cr_strbuf sb = {0};
    if (sc->all) {
        cr_strbuf_puts(&sb, "the whole layer (--scope all)");
    }
    for (size_t i = 0; i < sc->n && !sc->all; i++) {
        char *name = county_name(c->store, sc->codes[i]);
        cr_strbuf_printf(&sb, "%s%s%s%s", i ? ", " : "county ", sc->codes[i], name ? " " : "",
                         name ? name : "");
        free(name);
    }
    snprintf(c->res->scope, sizeof c->res->scope, "%s", sb.data ? sb.data : "none");
    cr_strbuf_cleanup(&sb);
}

/* The scope: explicit, or the counties of the rows the file stored. */
static cr_status settle_scope(ingest_ctx *c, cr_scope *sc, cr_error *err)
{
    cr_status rc = cr_etl_parse_scope(c->opt->scope, sc, err);
    if (rc != CR_OK || sc->all) {
        return rc;
    }
    if (c->def->geom == CR_GEOM_NONE) {
        cr_scope_cleanup(sc);
        return cr_error_set(err, CR_EINVAL,
                            "%s: a full survey of %s (a layer without geometry) cannot be scoped "
                            "by county: give --scope all to close what the file does not list",
                            c->path, c->def->name);
    }
    for (size_t i = 0; i < sc->n; i++) {
        char *name = county_name(c->store, sc->codes[i]);
        if (name == NULL) {
            cr_error_set(err, CR_EINVAL,
                         "%s: --scope county=%s: no such county among the admin units "
                         "(crossriver layers; import them first)",
                         c->path, sc->codes[i]);
            cr_scope_cleanup(sc);
            return CR_EINVAL;
        }
        free(name);
    }
    if (sc->n > 0) {
        return CR_OK;
    }
    char code[32];
    for (size_t i = 0; i < c->n_points; i++) {
        if (county_at(c->store, c->points[i][0], c->points[i][1], code, NULL) &&
            !scope_has(sc, code)) {
            sc->codes = cr_xrealloc(sc->codes, (sc->n + 1) * sizeof *sc->codes);
            snprintf(sc->codes[sc->n++], 32, "%s", code);
        }
    }
    if (sc->n == 0 && c->n_points > 0) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: full survey: none of its %zu rows lies in a county of the "
                            "store, so its scope is unknown; import the counties (admin_units), "
                            "or give --scope county=CODE or --scope all",
                            c->path, c->n_points);
    }
    return CR_OK;
}

typedef struct {
    ingest_ctx *c;
    const cr_scope *scope;
} close_user;

static int close_if_unlisted(void *user, const char *source_id, const double *pt)
{
    close_user *u = user;
    ingest_ctx *c = u->c;
    char code[32];
    int in = u->scope->all ||
             (pt && county_at(c->store, pt[0], pt[1], code, NULL) && scope_has(u->scope, code));
    if (!in) {
        c->res->out_of_scope++;
        return 0;
    }
    c->res->in_scope++;
    if (cr_ingest_idset_contains(&c->ids, source_id)) {
        return 0;
    }
    cr_ingest_record_change(c, "close", source_id);
    return 1;
}

cr_status cr_ingest_close_unlisted(ingest_ctx *c, cr_error *err)
{
    cr_scope sc;
    cr_status rc = settle_scope(c, &sc, err);
    if (rc != CR_OK) {
        return rc;
    }
    describe_scope(c, &sc);
    cr_ingest_result *res = c->res;
    if (res->stored == 0 && !c->opt->force) {
        cr_scope_cleanup(&sc);
        return cr_error_set(err, CR_EINVAL,
                            "%s: a full survey that stores no row (%lld rows in, %lld rejected) "
                            "would close every feature in its scope; nothing was changed (give "
                            "--force if that is meant)",
                            c->path, (long long)res->rows_in, (long long)res->rejected);
    }
    close_user u = {c, &sc};
    if (sc.all || sc.n > 0) {
        rc = cr_store_close_where(c->store, c->def, res->batch_id, close_if_unlisted, &u,
                                  &res->closed, err);
    }
    double limit =
        c->opt->max_close_share > 0 ? c->opt->max_close_share : CR_INGEST_MAX_CLOSE_SHARE;
    if (rc == CR_OK && !c->opt->force && res->closed > 0 &&
        (double)res->closed > limit * (double)res->in_scope) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: full survey of %s would close %lld of its %lld current %s (%.0f%%, "
                          "more than the %.0f%% allowed); nothing was changed. Check that the "
                          "file is complete (--dry-run lists what would change), or give --force",
                          c->path, res->scope, (long long)res->closed, (long long)res->in_scope,
                          c->def->name, 100.0 * (double)res->closed / (double)res->in_scope,
                          100.0 * limit);
    }
    cr_scope_cleanup(&sc);
    return rc;
}
