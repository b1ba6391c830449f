/* SPDX-License-Identifier: MIT */
/* crossriver batches: the import history, and one batch's rejects as Excel-friendly CSV. */
#include "after_import.h"
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "exit_codes.h"
#include "quality/quality.h"

#include <getopt.h>
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

static int print_rejects(cr_store *store, int64_t batch)
{
    json_t *rows = NULL;
    cr_error err = {0};
    if (cr_store_list_rejects(store, batch, 0, &rows, &err) != CR_OK) {
        fprintf(stderr, "crossriver batches: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    static const char *const KEYS[] = {"file", "row",    "source_id", "field",
                                       "code", "reason", "raw_record"};
    fputs(CR_REJECTS_CSV_HEADER, stdout);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        for (int k = 0; k < 7; k++) {
            cr_csv_write_cell(stdout, json_string_value(json_object_get(r, KEYS[k])), k == 6);
        }
    }
    json_decref(rows);
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
    if (strcmp(r.layer, "readings") == 0) {
        if (no_join) {
            return CR_EXIT_OK;
        }
        cr_standards *std = NULL;
        cr_error serr = {0};
        if (cr_standards_load(NULL, &std, &serr) != CR_OK) {
            fprintf(stderr, "crossriver batches: %s\n", serr.msg);
            return CR_EXIT_FAILURE;
        }
        int code = cr_cli_after_readings(store, std, NULL, !common->json && !common->quiet);
        cr_standards_free(std);
        return code;
    }
    cr_cli_after_import after = {"batches", r.layer, &r.batch_id,
                                 1,         no_join, !common->json && !common->quiet};
    return cr_cli_after_import_run(store, &after);
}

static const char *text(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static int list(cr_store *store, const char *layer, int as_json)
{
    json_t *arr = NULL;
    cr_error err = {0};
    if (cr_store_list_batches(store, layer, &arr, &err) != CR_OK) {
        fprintf(stderr, "crossriver batches: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    if (as_json) {
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(arr);
        return CR_EXIT_OK;
    }
    printf("%-6s %-18s %8s %8s %8s  %-20s %-16s %-17s %s\n", "batch", "layer", "rows_in", "stored",
           "rejected", "started", "encoding", "state", "file");
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b)
    {
        printf("%-6lld %-18s %8lld %8lld %8lld  %-20s %-16s %-17s %s\n",
               (long long)json_integer_value(json_object_get(b, "batch_id")), text(b, "layer"),
               (long long)json_integer_value(json_object_get(b, "rows_in")),
               (long long)json_integer_value(json_object_get(b, "stored")),
               (long long)json_integer_value(json_object_get(b, "rejected")), text(b, "started_at"),
               text(b, "encoding"), text(b, "state"), text(b, "file"));
        if (*text(b, "flags")) {
            printf("       ! %s: %s\n", text(b, "flags"), text(b, "flag_note"));
        }
    }
    json_decref(arr);
    return CR_EXIT_OK;
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
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    if (rejects > 0) {
        code = print_rejects(store, rejects);
    } else if (revert_batch > 0) {
        code = revert(store, (int64_t)revert_batch, &common, no_join);
    } else {
        code = list(store, layer, common.json);
    }
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
