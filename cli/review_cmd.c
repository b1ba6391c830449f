/* SPDX-License-Identifier: MIT */
/* crossriver review: the rows the joins flagged for review, and the batches flagged as a whole
 * (a CRS that looks wrong), so a clerk can check them one by one. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver review [--layer L] [--batch N] [--json] [--store PATH]\n\n"
            "List current rows whose joins raised review flags (unmatched, river_mismatch,\n"
            "gcj02_shift_suspect, outside_jurisdictions, on_boundary, province_mismatch), with\n"
            "their batch and source row, and batches flagged as a whole (crs_suspect).\n"
            "--batch N keeps the rows that batch wrote; --layer L one layer.\n");
}

static int has_flags_column(sqlite3 *db, const char *layer)
{
    char *sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info('%q_current') WHERE"
                                " name = 'join_flags'",
                                layer);
    sqlite3_stmt *st;
    int found =
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return found;
}

/* The flagged rows of one layer, printed or appended to arr; returns how many. */
static int64_t layer_rows(sqlite3 *db, const cr_layer_def *d, int64_t batch, json_t *arr)
{
    int has_name = cr_layer_def_field_index(d, "name") >= 0;
    char *sql = sqlite3_mprintf("SELECT source_id, %s, batch_id, source_row, join_flags FROM"
                                " \"%w_current\" WHERE coalesce(join_flags, '') != '' AND"
                                " (?1 = 0 OR batch_id = ?1) ORDER BY batch_id, source_row",
                                has_name ? "name" : "NULL", d->name);
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            const char *name = (const char *)sqlite3_column_text(st, 1);
            const char *flags = (const char *)sqlite3_column_text(st, 4);
            if (arr) {
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:s?, s:I, s:I, s:s}", "layer", d->name, "id", id,
                                   "name", name, "batch_id",
                                   (json_int_t)sqlite3_column_int64(st, 2), "source_row",
                                   (json_int_t)sqlite3_column_int64(st, 3), "flags", flags));
            } else {
                printf("%-18s %-16s %-24s batch %-4lld row %-6lld %s\n", d->name, id,
                       name ? name : "", (long long)sqlite3_column_int64(st, 2),
                       (long long)sqlite3_column_int64(st, 3), flags);
            }
            n++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

static void flagged_batches(sqlite3 *db, const char *layer, int64_t batch, json_t *arr)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT batch_id, layer, file_name, flags, flag_note FROM import_batches"
                           " WHERE flags IS NOT NULL AND (?1 IS NULL OR layer = ?1) AND"
                           " (?2 = 0 OR batch_id = ?2) AND superseded_by IS NULL AND"
                           " reverted_by IS NULL ORDER BY batch_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, batch);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t[5];
        for (int i = 0; i < 5; i++) {
            t[i] = (const char *)sqlite3_column_text(st, i);
        }
        if (arr) {
            json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s}", "batch_id",
                                                 (json_int_t)sqlite3_column_int64(st, 0), "layer",
                                                 t[1], "file", t[2], "flags", t[3], "note", t[4]));
        } else {
            printf("batch %s (%s, %s) %s: %s\n", t[0], t[1], t[2], t[3], t[4]);
        }
    }
    sqlite3_finalize(st);
}

int cr_cmd_review(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'},
        {"batch", required_argument, NULL, 'b'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *layer = NULL;
    double batch = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 'l') {
            layer = optarg;
        } else if (opt == 'b') {
            if (!cr_cli_number("review", "--batch", optarg, 1, 9e15, &batch)) {
                return CR_EXIT_USAGE;
            }
        } else if (opt == 'h') {
            help(stdout);
            return CR_EXIT_OK;
        } else {
            help(stderr);
            return CR_EXIT_USAGE;
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    if (layer && cr_layer_set_find(set, layer) == NULL) {
        fprintf(stderr, "crossriver review: unknown layer '%s' (see: crossriver layers)\n", layer);
        code = CR_EXIT_USAGE;
        goto done;
    }
    sqlite3 *db = cr_store_db(store);
    json_t *batches = common.json ? json_array() : NULL;
    json_t *rows = common.json ? json_array() : NULL;
    flagged_batches(db, layer, (int64_t)batch, batches);
    int64_t n = 0;
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        if ((layer == NULL || strcmp(layer, d->name) == 0) && has_flags_column(db, d->name)) {
            n += layer_rows(db, d, (int64_t)batch, rows);
        }
    }
    if (common.json) {
        json_t *o = json_pack("{s:o, s:o}", "batches", batches, "rows", rows);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("%lld flagged row%s\n", (long long)n, n == 1 ? "" : "s");
    }
done:
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
