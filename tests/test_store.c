/* SPDX-License-Identifier: MIT */
/* Test helpers: temporary stores and literal inputs. */
#include "test_store.h"

#include "test_common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

test_store *test_store_new(void)
{
    test_store *t = calloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/crossriver-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->store_path, sizeof t->store_path, "%s/store.sqlite", t->dir);
    cr_error e = {0};
    assert_int_equal(cr_layer_set_load(cr_layers_default_dir(), &t->set, &e), CR_OK);
    assert_int_equal(cr_store_open(t->store_path, t->set, &t->store, &e), CR_OK);
    return t;
}

void test_store_free(test_store *t)
{
    cr_store_close(t->store);
    cr_layer_set_free(t->set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
}

void test_store_ingest(test_store *t, const char *layer, const char *name, const char *text,
                       const char *crs)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    o.crs = crs;
    cr_ingest_result r;
    cr_error e = {0};
    if (cr_etl_ingest_file(t->store, cr_layer_set_find(t->set, layer), path, &o, &r, &e) != CR_OK) {
        fail_msg("%s: %s", name, e.msg);
    }
    if (r.rejected != 0) {
        fail_msg("%s: %lld rows rejected", name, (long long)r.rejected);
    }
}

void test_store_network(test_store *t)
{
    cr_network_options o = {5.0, 50.0, 0};
    cr_network_report rep;
    cr_error e = {0};
    if (cr_network_build(t->store, &o, &rep, &e) != CR_OK) {
        fail_msg("network: %s", e.msg);
    }
    cr_network_report_cleanup(&rep);
}

int64_t test_store_count(test_store *t, const char *sql)
{
    return test_db_count(t->store, sql);
}

int64_t test_db_count(cr_store *store, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store), sql, -1, &st, NULL) != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(cr_store_db(store)));
    }
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

void test_store_text(test_store *t, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(t->store), sql, -1, &st, NULL) != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(cr_store_db(t->store)));
    }
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

void test_samples_store(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd \"$CROSSRIVER_SOURCE\" && while IFS='\t' read -r layer file opts; do"
             " case \"$layer\" in ''|'#'*) continue ;; esac;"
             " \"$CROSSRIVER_BIN\" ingest --quiet --store %1$s/s.sqlite --layer \"$layer\" $opts"
             " \"data-samples/$file\" --rejects %1$s/rejects.csv > /dev/null;"
             " rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ] || exit $rc; done < data-samples/manifest.tsv",
             dir);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fail_msg("building the samples store in %s failed (%d)", dir, st);
    }
}

int64_t test_store_reach_int(test_store *t, const char *id, const char *column)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM reaches_current WHERE source_id='%s'", column, id);
    return test_store_count(t, sql);
}

int test_network_has_issue(const cr_network_report *rep, const char *kind, const char *needle)
{
    for (size_t i = 0; i < rep->n_issues; i++) {
        if (strcmp(rep->issues[i].kind, kind) == 0 && strstr(rep->issues[i].detail, needle)) {
            return 1;
        }
    }
    return 0;
}
