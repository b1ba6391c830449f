/* SPDX-License-Identifier: MIT */
/* crossriver batches: the import history, and one batch's rejects as Excel-friendly CSV. */
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
    fprintf(out, "usage: crossriver batches [--layer L] [--json] [--store PATH]\n"
                 "       crossriver batches --rejects BATCH_ID > rejects.csv\n\n"
                 "List import batches (file, SHA-256, encoding, CRS, rows in/stored/rejected),\n"
                 "or print the rejected rows of one batch as UTF-8 CSV with BOM.\n");
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

int cr_cmd_batches(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'},
        {"rejects", required_argument, NULL, 'r'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *layer = NULL;
    long long rejects = 0;
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
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT batch_id, layer, file_name, sha256, encoding, crs, started_at,"
                       " rows_in, stored, rejected, seconds FROM import_batches"
                       " WHERE ?1 IS NULL OR layer=?1 ORDER BY batch_id",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
    json_t *arr = json_array();
    if (!common.json) {
        printf("%-6s %-18s %8s %8s %8s  %-20s %-16s %s\n", "batch", "layer", "rows_in", "stored",
               "rejected", "started", "encoding", "file");
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *txt[11];
        for (int i = 0; i < 11; i++) {
            txt[i] = (const char *)sqlite3_column_text(st, i);
            txt[i] = txt[i] ? txt[i] : "";
        }
        if (common.json) {
            json_array_append_new(arr,
                                  json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
                                            "batch_id", (json_int_t)sqlite3_column_int64(st, 0),
                                            "layer", txt[1], "file", txt[2], "sha256", txt[3],
                                            "encoding", txt[4], "crs", txt[5], "started_at", txt[6],
                                            "rows_in", (json_int_t)sqlite3_column_int64(st, 7),
                                            "stored", (json_int_t)sqlite3_column_int64(st, 8),
                                            "rejected", (json_int_t)sqlite3_column_int64(st, 9)));
        } else {
            printf("%-6s %-18s %8s %8s %8s  %-20s %-16s %s\n", txt[0], txt[1], txt[7], txt[8],
                   txt[9], txt[6], txt[4], txt[2]);
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
