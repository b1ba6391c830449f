/* SPDX-License-Identifier: MIT */
/* crossriver review: the rows and batches flagged for review (cr_etl_review), printed. */
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "exit_codes.h"

#include <getopt.h>
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

static const char *text(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static void print(const json_t *out)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(out, "batches"), i, v)
    {
        printf("batch %lld (%s, %s) %s: %s\n",
               (long long)json_integer_value(json_object_get(v, "batch_id")), text(v, "layer"),
               text(v, "file"), text(v, "flags"), text(v, "note"));
    }
    const json_t *rows = json_object_get(out, "rows");
    json_array_foreach(rows, i, v)
    {
        printf("%-18s %-16s %-24s batch %-4lld row %-6lld %s\n", text(v, "layer"), text(v, "id"),
               text(v, "name"), (long long)json_integer_value(json_object_get(v, "batch_id")),
               (long long)json_integer_value(json_object_get(v, "source_row")), text(v, "flags"));
    }
    size_t n = json_array_size(rows);
    printf("%zu flagged row%s\n", n, n == 1 ? "" : "s");
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
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    json_t *out = NULL;
    cr_error err = {0};
    int code = CR_EXIT_OK;
    if (cr_etl_review(store, layer, (int64_t)batch, &out, &err) != CR_OK) {
        fprintf(stderr, "crossriver review: %s\n", err.msg);
        code = CR_EXIT_USAGE;
    } else if (common.json) {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    } else {
        print(out);
    }
    json_decref(out);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
