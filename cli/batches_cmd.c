/* SPDX-License-Identifier: MIT */
/* crossriver batches: the import history, and one batch's rejects as Excel-friendly CSV. */
#include "after_import.h"
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "exit_codes.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver batches [--layer L] [--json] [--store PATH]\n"
            "       crossriver batches --rejects BATCH_ID > rejects.csv\n"
            "       crossriver batches --revert BATCH_ID [--no-join]\n\n"
            "List import batches (file, SHA-256, encoding, CRS, rows in/stored/rejected, what\n"
            "superseded or reverted them, review flags), print the rejected rows of one batch\n"
            "as UTF-8 CSV with BOM, or undo a batch: the versions it left current are closed,\n"
            "the versions it closed are current again, history keeps all, and the revert is a\n"
            "batch of its own (refused while a later batch changed the same features).\n");
}

static int print_rejects(sqlite3 *db, long long batch)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT b.file_name, r.source_row, r.source_id, r.field, r.code,"
                           " r.reason, r.raw_record FROM rejects r JOIN import_batches b"
                           " USING (batch_id) WHERE batch_id=? ORDER BY r.source_row",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "crossriver batches: %s\n", sqlite3_errmsg(db));
        return CR_EXIT_FAILURE;
    }
    sqlite3_bind_int64(st, 1, batch);
    fputs(CR_REJECTS_CSV_HEADER, stdout);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < 7; i++) {
            cr_csv_write_cell(stdout, (const char *)sqlite3_column_text(st, i), i == 6);
        }
    }
    sqlite3_finalize(st);
    return CR_EXIT_OK;
}

static int revert(cr_store *store, int64_t batch, const cr_cli_common *common, int no_join)
{
    cr_revert_result r;
    cr_error err = {0};
    if (cr_etl_revert_batch(store, batch, &r, &err) != CR_OK) {
        fprintf(stderr, "crossriver batches: --revert %lld: %s\n  nothing was changed\n",
                (long long)batch, err.msg);
        return CR_EXIT_FAILURE;
    }
    if (common->json) {
        json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:I}", "revert_batch", (json_int_t)r.batch_id,
                              "reverted", (json_int_t)batch, "layer", r.layer, "closed",
                              (json_int_t)r.closed, "reopened", (json_int_t)r.reopened);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else if (!common->quiet) {
        printf("batch %lld (%s) undone by batch %lld: %lld versions it had left current closed, "
               "%lld it had closed current again; history keeps them all\n",
               (long long)batch, r.layer, (long long)r.batch_id, (long long)r.closed,
               (long long)r.reopened);
    }
    cr_cli_after_import after = {"batches", r.layer, &r.batch_id,
                                 1,         no_join, !common->json && !common->quiet};
    return cr_cli_after_import_run(store, &after);
}

/* What became of a batch, in words, for the listing. */
static void batch_state(sqlite3_stmt *st, char *out, size_t n)
{
    const char *kind = (const char *)sqlite3_column_text(st, 11);
    int64_t target = sqlite3_column_int64(st, 12);
    int64_t superseded = sqlite3_column_int64(st, 13);
    int64_t reverted = sqlite3_column_int64(st, 14);
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

int cr_cmd_batches(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'},
        {"rejects", required_argument, NULL, 'r'},
        {"revert", required_argument, NULL, 'R'},
        {"no-join", no_argument, NULL, 'J'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *layer = NULL;
    long long rejects = 0;
    double revert_batch = 0;
    int no_join = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 'l') {
            layer = optarg;
        } else if (opt == 'r') {
            rejects = strtoll(optarg, NULL, 10);
        } else if (opt == 'R') {
            if (!cr_cli_number("batches", "--revert", optarg, 1, 9e15, &revert_batch) ||
                revert_batch != (double)(int64_t)revert_batch) {
                return CR_EXIT_USAGE;
            }
        } else if (opt == 'J') {
            no_join = 1;
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
    sqlite3 *db = cr_store_db(store);
    int code = CR_EXIT_OK;
    if (rejects > 0) {
        code = print_rejects(db, rejects);
        goto done;
    }
    if (revert_batch > 0) {
        code = revert(store, (int64_t)revert_batch, &common, no_join);
        goto done;
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT batch_id, layer, file_name, sha256, encoding, crs, started_at,"
                       " rows_in, stored, rejected, seconds, kind, target_batch, superseded_by,"
                       " reverted_by, flags, flag_note, closed, reopened FROM import_batches"
                       " WHERE (?1 IS NULL OR layer=?1) AND finished_at IS NOT NULL"
                       " ORDER BY batch_id",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
    json_t *arr = json_array();
    if (!common.json) {
        printf("%-6s %-18s %8s %8s %8s  %-20s %-16s %-17s %s\n", "batch", "layer", "rows_in",
               "stored", "rejected", "started", "encoding", "state", "file");
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *txt[17];
        for (int i = 0; i < 17; i++) {
            txt[i] = (const char *)sqlite3_column_text(st, i);
            txt[i] = txt[i] ? txt[i] : "";
        }
        char state[48];
        batch_state(st, state, sizeof state);
        if (common.json) {
            json_t *o =
                json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "batch_id",
                          (json_int_t)sqlite3_column_int64(st, 0), "layer", txt[1], "file", txt[2],
                          "sha256", txt[3], "encoding", txt[4], "crs", txt[5], "started_at", txt[6],
                          "rows_in", (json_int_t)sqlite3_column_int64(st, 7), "stored",
                          (json_int_t)sqlite3_column_int64(st, 8), "rejected",
                          (json_int_t)sqlite3_column_int64(st, 9));
            json_object_set_new(o, "kind", json_string(txt[11][0] ? txt[11] : "import"));
            json_object_set_new(o, "state", json_string(state));
            json_object_set_new(o, "closed", json_integer(sqlite3_column_int64(st, 17)));
            json_object_set_new(o, "reopened", json_integer(sqlite3_column_int64(st, 18)));
            json_object_set_new(o, "flags", txt[15][0] ? json_string(txt[15]) : json_null());
            json_object_set_new(o, "flag_note", txt[16][0] ? json_string(txt[16]) : json_null());
            json_array_append_new(arr, o);
        } else {
            printf("%-6s %-18s %8s %8s %8s  %-20s %-16s %-17s %s\n", txt[0], txt[1], txt[7], txt[8],
                   txt[9], txt[6], txt[4], state, txt[2]);
            if (txt[15][0]) {
                printf("       ! %s: %s\n", txt[15], txt[16]);
            }
        }
    }
    sqlite3_finalize(st);
    if (common.json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    }
    json_decref(arr);
done:
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
