/* SPDX-License-Identifier: MIT */
/* crossriver compensation: the eco-compensation statement of a rule file for a year or a
 * month — text, JSON, printable HTML or CSV with BOM, citing every reading and flow used. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "quality/compensation.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver compensation --rule FILE --period 2025|2025-07\n"
            "                               [--format text|json|html|csv] [--out FILE]\n\n"
            "Settle an eco-compensation agreement (a rule file, rules/compensation/*.json):\n"
            "per tonne of exceedance, a weighted index or tiers by exceedance multiple, month\n"
            "by month per boundary section, with the section's flow (its flow series where\n"
            "ingested, else the reach discharge — the statement says which). A positive amount\n"
            "is paid by the upstream party, a negative one by the downstream party. The HTML\n"
            "and CSV cite every reading (batch and source row) and flow value used.\n"
            "--json is --format json.\n");
}

static void print_text(const json_t *st)
{
    printf("%s (%s) · %s · form %s\n", json_string_value(json_object_get(st, "agreement")),
           json_string_value(json_object_get(st, "version")),
           json_string_value(json_object_get(st, "period")),
           json_string_value(json_object_get(st, "form")));
    size_t i, k;
    json_t *sec, *m;
    json_array_foreach(json_object_get(st, "sections"), i, sec)
    {
        printf("%s %s (target %s)\n", json_string_value(json_object_get(sec, "section_id")),
               json_string_value(json_object_get(sec, "name")),
               json_string_value(json_object_get(sec, "target")));
        json_array_foreach(json_object_get(sec, "months"), k, m)
        {
            printf("  %s %-4s %12.0f 元  %s\n", json_string_value(json_object_get(m, "month")),
                   json_string_value(json_object_get(m, "class")) ?: "—",
                   json_number_value(json_object_get(m, "amount_yuan")),
                   json_string_value(json_object_get(m, "computation")));
        }
    }
    double total = json_number_value(json_object_get(st, "total_yuan"));
    printf("total %.0f 元: %s pays %s · %zu readings cited (--format csv or html lists them)\n",
           total < 0 ? -total : total, json_string_value(json_object_get(st, "payer")),
           json_string_value(json_object_get(st, "payee")),
           json_array_size(json_object_get(st, "citations")));
}

int cr_cmd_compensation(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rule", required_argument, NULL, 'r'},
        {"period", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *rule_path = NULL, *period = NULL, *format = "text", *out_path = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 'r') {
            rule_path = optarg;
        } else if (opt == 'p') {
            period = optarg;
        } else if (opt == 'f') {
            format = optarg;
        } else if (opt == 'o') {
            out_path = optarg;
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    if (common.json) {
        format = "json";
    }
    if (rule_path == NULL || period == NULL) {
        fprintf(stderr, "crossriver compensation: --rule FILE and --period are required\n");
        return CR_EXIT_USAGE;
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "html") &&
        strcmp(format, "csv")) {
        fprintf(stderr, "crossriver compensation: --format: text, json, html or csv\n");
        return CR_EXIT_USAGE;
    }
    cr_error err = {0};
    cr_period p;
    if (cr_wq_period_parse(period, &p, &err) != CR_OK) {
        fprintf(stderr, "crossriver compensation: --period: %s\n", err.msg);
        return CR_EXIT_USAGE;
    }
    cr_standards *std = NULL;
    json_t *rule = NULL;
    if (cr_standards_load(NULL, &std, &err) != CR_OK ||
        cr_wq_rule_load(rule_path, std, &rule, &err) != CR_OK) {
        fprintf(stderr, "crossriver compensation: %s\n", err.msg);
        cr_standards_free(std);
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        json_decref(rule);
        cr_standards_free(std);
        return CR_EXIT_FAILURE;
    }
    json_t *st = NULL;
    int code = CR_EXIT_OK;
    if (!cr_wq_has_tables(store)) {
        fprintf(stderr, "crossriver compensation: the store holds no readings\n");
        code = CR_EXIT_USAGE;
    } else if (cr_wq_compensation(store, std, rule, rule_path, &p, &st, &err) != CR_OK) {
        fprintf(stderr, "crossriver compensation: %s\n", err.msg);
        code = CR_EXIT_FAILURE;
    } else if (strcmp(format, "text") == 0) {
        print_text(st);
    } else {
        cr_strbuf b = {0};
        if (strcmp(format, "json") == 0) {
            char *s =
                json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            cr_strbuf_puts(&b, s);
            cr_strbuf_puts(&b, "\n");
            free(s);
        } else if (strcmp(format, "html") == 0) {
            cr_wq_compensation_html(st, &b);
        } else {
            cr_wq_compensation_csv(st, &b);
        }
        if (!cr_cli_write_output("compensation", out_path, b.data, b.len)) {
            code = CR_EXIT_FAILURE;
        }
        cr_strbuf_cleanup(&b);
    }
    json_decref(st);
    json_decref(rule);
    cr_store_close(store);
    cr_layer_set_free(set);
    cr_standards_free(std);
    return code;
}
