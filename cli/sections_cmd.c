/* SPDX-License-Identifier: MIT */
/* crossriver sections: the joint monitoring section table (联合监测断面信息表), and where both
 * sides measured the same sample, their results compared for reconciliation. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "quality/section_table.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver sections --table [--format csv|html|json] [--out FILE]\n"
            "       crossriver sections --compare [--section ID] [--all] [--json]\n\n"
            "--table: every section with its kind, boundary, target, method, frequency,\n"
            "indicators, responsible party and sampling parties (CSV is UTF-8 with BOM).\n"
            "--compare: samples both sides measured (upstream and downstream party, same\n"
            "time): differences beyond the tolerance are flagged for reconciliation (deployment\n"
            "config \"reconciliation\": {relative, absolute: {code: tol}}; default 15 %% and the\n"
            "indicator's detection limit); --all lists the agreeing ones too.\n");
}

int cr_cmd_sections(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"table", no_argument, NULL, 't'},
        {"compare", no_argument, NULL, 'c'},
        {"section", required_argument, NULL, 's'},
        {"all", no_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'C'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    int table = 0, compare = 0, all = 0, opt;
    const char *section = NULL, *format = "csv", *out_path = NULL, *config = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 't':
            table = 1;
            break;
        case 'c':
            compare = 1;
            break;
        case 's':
            section = optarg;
            break;
        case 'a':
            all = 1;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'C':
            config = optarg;
            break;
        default:
            return cr_cli_help_exit(opt, help);
        }
    }
    if (table == compare) {
        fprintf(stderr, "crossriver sections: give --table or --compare\n");
        return CR_EXIT_USAGE;
    }
    if (common.json) {
        format = "json";
    }
    if (strcmp(format, "csv") && strcmp(format, "html") && strcmp(format, "json")) {
        fprintf(stderr, "crossriver sections: --format: csv, html or json\n");
        return CR_EXIT_USAGE;
    }
    json_t *conf = cr_cli_load_config("sections", config);
    if (conf == NULL) {
        return CR_EXIT_USAGE;
    }
    cr_error err = {0};
    cr_standards *std = NULL;
    if (cr_standards_load(NULL, &std, &err) != CR_OK) {
        fprintf(stderr, "crossriver sections: %s\n", err.msg);
        json_decref(conf);
        return CR_EXIT_FAILURE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        cr_standards_free(std);
        json_decref(conf);
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    json_t *out = NULL;
    cr_wq_tolerance tol = {0};
    cr_status rc = CR_OK;
    if (table) {
        rc = cr_wq_section_table(store, &out, &err);
    } else {
        rc = cr_wq_tolerance_load(json_object_get(conf, "reconciliation"), &tol, &err);
        if (rc == CR_OK) {
            rc = cr_wq_compare_parties(store, std, &tol, section, &out, &err);
        }
    }
    cr_strbuf b = {0};
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver sections: %s\n", err.msg);
        code = CR_EXIT_FAILURE;
    } else if (compare && !common.json) {
        size_t i, flagged = 0;
        json_t *o;
        json_array_foreach(out, i, o)
        {
            int f = json_is_true(json_object_get(o, "flagged"));
            flagged += f;
            if (f || all) {
                printf(
                    "%s %-12s %-6s %s  upstream %.4g (batch %lld row %lld)  downstream %.4g "
                    "(batch %lld row %lld)  Δ %.4g (%.0f %%)\n",
                    f ? "DIFF" : "ok  ", json_string_value(json_object_get(o, "section_id")),
                    json_string_value(json_object_get(o, "indicator")),
                    json_string_value(json_object_get(o, "time")),
                    json_number_value(json_object_get(json_object_get(o, "upstream"), "value")),
                    (long long)json_integer_value(
                        json_object_get(json_object_get(o, "upstream"), "batch_id")),
                    (long long)json_integer_value(
                        json_object_get(json_object_get(o, "upstream"), "source_row")),
                    json_number_value(json_object_get(json_object_get(o, "downstream"), "value")),
                    (long long)json_integer_value(
                        json_object_get(json_object_get(o, "downstream"), "batch_id")),
                    (long long)json_integer_value(
                        json_object_get(json_object_get(o, "downstream"), "source_row")),
                    json_number_value(json_object_get(o, "difference")),
                    100 * json_number_value(json_object_get(o, "relative")));
            }
        }
        printf("%zu values measured by both sides, %zu beyond the tolerance (%.0f %% relative)\n",
               json_array_size(out), flagged, 100 * tol.relative);
    } else {
        if (strcmp(format, "json") == 0) {
            char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            cr_strbuf_puts(&b, s);
            cr_strbuf_puts(&b, "\n");
            free(s);
        } else if (strcmp(format, "html") == 0) {
            cr_wq_section_table_html(out, &b);
        } else {
            cr_wq_section_table_csv(out, &b);
        }
        if (!cr_cli_write_output("sections", out_path, b.data, b.len)) {
            code = CR_EXIT_FAILURE;
        }
    }
    cr_strbuf_cleanup(&b);
    json_decref(tol.absolute);
    json_decref(out);
    json_decref(conf);
    cr_store_close(store);
    cr_layer_set_free(set);
    cr_standards_free(std);
    return code;
}
