/* SPDX-License-Identifier: MIT */
/* crossriver quality: a section's (or every section's) GB 3838-2002 class in a period, with
 * the deciding indicators, their values and exceedance multiples. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "quality/quality.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver quality [--section ID] (--period P | --latest) [--json]\n\n"
                 "The water-quality class of a section (or of every section) by GB 3838-2002's\n"
                 "single-factor rule: the worst indicator decides, beyond V is 劣V; the target\n"
                 "class and whether it is met; the deciding indicators with their values and\n"
                 "exceedance multiples over the target's limit; the main pollutants when worse\n"
                 "than III. Period values are means of the valid samples (censored values as half\n"
                 "their detection limit); the manual results are the basis where the period has\n"
                 "them, else the automatic station's.\n\n"
                 "  --section ID   one section (default: every section)\n"
                 "  --period P     2025 (year), 2025-07 (month), 2025-07-14 (day) or\n"
                 "                 2025-07-14T08:00 (one sample)\n"
                 "  --latest       each indicator's latest valid value\n"
                 "  --step month   with --period YEAR: every section's class month by month\n"
                 "                 (a section × month table)\n"
                 "  --store PATH   store (default ./crossriver.sqlite)\n"
                 "  --json         JSON instead of the table\n");
}

static const char *text(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "—";
}

static void print_one(const json_t *o)
{
    const json_t *met = json_object_get(o, "met");
    printf("%s %s · %s · %s · %lld samples\n", text(o, "section_id"), text(o, "name"),
           json_is_string(json_object_get(o, "period")) ? text(o, "period") : text(o, "latest"),
           strcmp(text(o, "water_body"), "lake") == 0 ? "lake/reservoir" : "river",
           (long long)json_integer_value(json_object_get(o, "samples")));
    printf("  class %s (target %s): %s\n", text(o, "class"), text(o, "target"),
           json_is_true(met)    ? "target met"
           : json_is_false(met) ? "TARGET MISSED"
                                : "no verdict");
    size_t i;
    json_t *x;
    printf("  %-14s %12s %-6s %5s %6s %10s %9s\n", "indicator", "value", "unit", "n", "class",
           "tgt limit", "multiple");
    json_array_foreach(json_object_get(o, "indicators"), i, x)
    {
        char v[32], lim[32] = "—", mul[32] = "—";
        snprintf(v, sizeof v, "%s%.4g", json_is_true(json_object_get(x, "censored")) ? "<" : "",
                 json_real_value(json_object_get(x, "value")));
        const char *kind = text(x, "limit_kind");
        if (json_is_number(json_object_get(x, "limit_target")) && strcmp(kind, "range") == 0) {
            snprintf(lim, sizeof lim, "%.4g–%.4g",
                     json_number_value(json_object_get(x, "limit_target")),
                     json_number_value(json_object_get(x, "limit_target_high")));
        } else if (json_is_number(json_object_get(x, "limit_target"))) {
            snprintf(lim, sizeof lim, "%s%.4g", strcmp(kind, "min") == 0 ? "≥" : "≤",
                     json_number_value(json_object_get(x, "limit_target")));
        }
        if (json_is_number(json_object_get(x, "multiple_target"))) {
            snprintf(mul, sizeof mul, "%.2f",
                     json_number_value(json_object_get(x, "multiple_target")));
        }
        printf("  %-14s %12s %-6s %5lld %6s %10s %9s%s\n", text(x, "name"), v, text(x, "unit"),
               (long long)json_integer_value(json_object_get(x, "n")), text(x, "class"), lim, mul,
               json_is_true(json_object_get(x, "exceeds_target")) ? "  worse than target" : "");
    }
    const char *labels[] = {"deciding", "main_pollutants"};
    for (int k = 0; k < 2; k++) {
        const json_t *arr = json_object_get(o, labels[k]);
        if (json_array_size(arr) == 0) {
            continue;
        }
        printf("  %s:", k == 0 ? "deciding indicators" : "main pollutants (worse than III)");
        json_array_foreach(arr, i, x)
        {
            printf("%s %s", i ? "," : "", json_string_value(x));
        }
        printf("\n");
    }
}

/* A section × month table of classes; a trailing '*' marks a missed target. */
static void print_months(const cr_wq_class_row *rows, size_t n, const char *only)
{
    printf("%-14s", "section");
    for (int m = 1; m <= 12; m++) {
        printf(" %5d", m);
    }
    printf("\n");
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        const char *cells[12] = {0};
        int missed[12] = {0};
        while (j < n && strcmp(rows[j].section_id, rows[i].section_id) == 0) {
            int m = rows[j].month % 100 - 1;
            if (m >= 0 && m < 12) {
                cells[m] = cr_wq_class_name(rows[j].cls);
                missed[m] = rows[j].met == 0;
            }
            j++;
        }
        if (only == NULL || strcmp(only, rows[i].section_id) == 0) {
            printf("%-14s", rows[i].section_id);
            for (int m = 0; m < 12; m++) {
                char cell[16];
                snprintf(cell, sizeof cell, "%s%s", cells[m] ? cells[m] : "—",
                         missed[m] ? "*" : "");
                /* pad to 5 columns on a terminal: 劣 is 3 bytes and 2 columns, — 3 bytes and 1 */
                int pad = cells[m] == NULL ? 7 : strncmp(cells[m], "劣", 3) == 0 ? 6 : 5;
                printf(" %*s", pad, cell);
            }
            printf("\n");
        }
        i = j;
    }
    printf("(* target missed)\n");
}

int cr_cmd_quality(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"section", required_argument, NULL, 's'},
        {"period", required_argument, NULL, 'p'},
        {"latest", no_argument, NULL, 'L'},
        {"step", required_argument, NULL, 'S'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *section = NULL, *period = NULL, *step = NULL;
    int latest = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 's') {
            section = optarg;
        } else if (opt == 'p') {
            period = optarg;
        } else if (opt == 'L') {
            latest = 1;
        } else if (opt == 'S') {
            step = optarg;
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    cr_period p;
    cr_error err = {0};
    if ((period == NULL) == (latest == 0)) {
        fprintf(stderr, "crossriver quality: give --period P or --latest\n");
        return CR_EXIT_USAGE;
    }
    if (period && cr_wq_period_parse(period, &p, &err) != CR_OK) {
        fprintf(stderr, "crossriver quality: --period: %s\n", err.msg);
        return CR_EXIT_USAGE;
    }
    if (step && (strcmp(step, "month") != 0 || period == NULL || p.kind != CR_PERIOD_YEAR)) {
        fprintf(stderr, "crossriver quality: --step month goes with --period YEAR\n");
        return CR_EXIT_USAGE;
    }
    cr_standards *std = NULL;
    if (cr_standards_load(NULL, &std, &err) != CR_OK) {
        fprintf(stderr, "crossriver quality: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        cr_standards_free(std);
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    json_t *out = NULL;
    cr_status rc = cr_wq_has_tables(store)
                       ? CR_OK
                       : cr_error_set(&err, CR_ENOTFOUND,
                                      "the store holds no readings (crossriver ingest --layer "
                                      "readings FILE)");
    if (rc == CR_OK && step) {
        cr_wq_class_row *rows = NULL;
        size_t n = 0;
        rc = cr_wq_monthly_table(store, std, atoi(p.label), &rows, &n, &err);
        if (rc == CR_OK && common.json) {
            out = cr_wq_class_rows_json(rows, n, 1);
        } else if (rc == CR_OK) {
            print_months(rows, n, section);
        }
        free(rows);
        if (out == NULL && rc == CR_OK) {
            out = json_array(); /* the table is printed already */
        }
    } else if (rc == CR_OK && latest) {
        rc = cr_wq_latest_classes(store, std, &out, &err);
    } else if (rc == CR_OK && section == NULL) {
        rc = cr_wq_all_classes(store, std, &p, &out, &err);
    } else if (rc == CR_OK) {
        cr_wq_section sec;
        cr_wq_result r;
        int64_t n = 0;
        rc = cr_wq_section_get(store, section, &sec, &err);
        if (rc == CR_OK) {
            rc = cr_wq_section_class(store, std, &sec, &p, &r, &n, &err);
        }
        if (rc == CR_OK) {
            out = json_array();
            json_array_append_new(out, cr_wq_result_json(std, &sec, &p, &r, n));
        }
    }
    if (rc == CR_OK && section && latest) {
        /* --latest --section: keep that one */
        json_t *keep = json_array();
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o)
        {
            if (strcmp(text(o, "section_id"), section) == 0) {
                json_array_append(keep, o);
            }
        }
        json_decref(out);
        out = keep;
    }
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver quality: %s\n", err.msg);
        code = rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (common.json) {
        json_t *doc = section && json_array_size(out) == 1 ? json_array_get(out, 0) : out;
        cr_cli_print_json(doc);
    } else if (!step) {
        size_t i;
        json_t *o;
        json_array_foreach(out, i, o)
        {
            print_one(o);
        }
        printf("(%s)\n", std->standard);
    }
    json_decref(out);
    cr_store_close(store);
    cr_layer_set_free(set);
    cr_standards_free(std);
    return code;
}
