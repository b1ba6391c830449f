/* SPDX-License-Identifier: MIT */
/* crossriver finding: a patrol finding through rectification — each step (rectifying,
 * rectified, verified, closed) a new version with who, when and a note; and crossriver report
 * rectification: the 整改报告 of a period per jurisdiction. Findings arrive by `crossriver
 * ingest --layer findings` (the filled-in checklist, a GPX/KML of waypoints). */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "exit_codes.h"
#include "ops/ops.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver finding step ID --to STATE --who NAME [--note TEXT] [--photo P]\n"
            "                               [--at TIME]\n"
            "       crossriver finding show ID [--json]\n"
            "       crossriver finding list [--status S]\n\n"
            "A finding goes open → rectifying → rectified → verified → closed (销号); from\n"
            "rectified it may go back to rectifying when the check fails. Each step is a new\n"
            "version (batch) with who, when and the note; photos are added to its list.\n"
            "Findings arrive by crossriver ingest --layer findings (the filled-in patrol\n"
            "checklist CSV, or a GPX/KML of waypoints with --field finding_id=name ...).\n");
}

static void report_help(FILE *out)
{
    fprintf(out,
            "usage: crossriver report rectification --period 2025Q3|2025-07|2025 [--as-of DATE]\n"
            "                                       [--format text|html|csv|json] [--out FILE]\n\n"
            "The rectification report (整改报告) per jurisdiction of the findings found in the\n"
            "period: found, rectified, closed (销号), overdue (past the deadline and not yet\n"
            "rectified, as of --as-of, default today), each with its photos. A finding's\n"
            "deadline is its own, else the found time plus the deployment config's\n"
            "findings.deadline_days for its kind (docs/patrol.md).\n");
}

typedef struct {
    const char *to, *who, *note, *photo, *at, *status, *period, *as_of, *format, *out, *config;
} f_args;

static int parse(int argc, char **argv, int first, cr_cli_common *common, f_args *a,
                 void (*h)(FILE *))
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 't'},
        {"who", required_argument, NULL, 'w'},
        {"note", required_argument, NULL, 'n'},
        {"photo", required_argument, NULL, 'p'},
        {"at", required_argument, NULL, 'a'},
        {"status", required_argument, NULL, 's'},
        {"period", required_argument, NULL, 'P'},
        {"as-of", required_argument, NULL, 'A'},
        {"format", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {"config", required_argument, NULL, 'C'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = first;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        const char **slot = opt == 't'   ? &a->to
                            : opt == 'w' ? &a->who
                            : opt == 'n' ? &a->note
                            : opt == 'p' ? &a->photo
                            : opt == 'a' ? &a->at
                            : opt == 's' ? &a->status
                            : opt == 'P' ? &a->period
                            : opt == 'A' ? &a->as_of
                            : opt == 'F' ? &a->format
                            : opt == 'o' ? &a->out
                            : opt == 'C' ? &a->config
                                         : NULL;
        if (slot == NULL) {
            cr_cli_help_exit(opt, h);
            return opt == 'h' ? -1 : 0;
        }
        *slot = optarg;
    }
    return 1;
}

/* The step, as HTTP takes it too (cr_api_finding_step): a new version of the record. */
static int step(cr_store *store, const cr_cli_common *common, const char *id, const f_args *a)
{
    cr_record_result r;
    cr_error e = {0};
    cr_status rc = cr_api_finding_step(store, common->store_path, id, a->to, a->who, a->note,
                                       a->photo, a->at, &r, &e);
    return cr_cli_record_report(common, "finding", id, rc, &r, &e);
}

static void show(cr_store *store, const char *id, int as_json)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT version, status, step_by, step_at, note, valid_from, valid_to, batch_id,"
               " description FROM findings WHERE source_id = ? ORDER BY"
               " version");
    json_t *versions = json_array();
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    }
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            json_object_set_new(o, sqlite3_column_name(st, c),
                                t ? json_string((const char *)t) : json_null());
        }
        json_array_append_new(versions, o);
    }
    if (st) {
        sqlite3_reset(st);
    }
    if (as_json) {
        char *s = json_dumps(versions, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(versions, i, o)
        {
            printf("v%s %-10s %s %s %s\n", json_string_value(json_object_get(o, "version")),
                   json_string_value(json_object_get(o, "status")) ?: "open",
                   json_string_value(json_object_get(o, "step_at")) ?: "",
                   json_string_value(json_object_get(o, "step_by")) ?: "",
                   json_string_value(json_object_get(o, "note")) ?: "");
        }
    }
    json_decref(versions);
}

int cr_cmd_finding(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    const char *sub = argv[1];
    cr_cli_common common;
    cr_cli_common_init(&common);
    f_args a = {0};
    int p = parse(argc, argv, 2, &common, &a, help);
    if (p <= 0) {
        return p < 0 ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    const char *id = optind < argc ? argv[optind] : NULL;
    int is_step = strcmp(sub, "step") == 0, is_show = strcmp(sub, "show") == 0;
    if (!is_step && !is_show && strcmp(sub, "list") != 0) {
        fprintf(stderr, "crossriver finding: unknown action '%s' (step, show, list)\n", sub);
        return CR_EXIT_USAGE;
    }
    if ((is_step || is_show) && id == NULL) {
        fprintf(stderr, "crossriver finding %s: which finding? (an ID)\n", sub);
        return CR_EXIT_USAGE;
    }
    if (is_step && (a.to == NULL || a.who == NULL)) {
        fprintf(stderr, "crossriver finding step: --to STATE and --who NAME are needed\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    if (is_step) {
        code = step(store, &common, id, &a);
    } else if (is_show) {
        show(store, id, common.json);
    } else {
        sqlite3_stmt *st = cr_store_cached(
            store, "SELECT source_id, found_at, kind, status, county_code, description FROM"
                   " findings_current WHERE (?1 IS NULL OR COALESCE(status, 'open') = ?1) ORDER"
                   " BY found_at");
        if (st && a.status) {
            sqlite3_bind_text(st, 1, a.status, -1, SQLITE_TRANSIENT);
        }
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            printf("%s  %s  %-12s %-10s %s  %s\n", sqlite3_column_text(st, 0),
                   sqlite3_column_text(st, 1),
                   sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "",
                   sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "open",
                   sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "",
                   sqlite3_column_text(st, 5));
        }
        if (st) {
            sqlite3_reset(st);
        }
    }
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}

int cr_cmd_report(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "rectification") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            report_help(stdout);
            return CR_EXIT_OK;
        }
        fprintf(stderr, "crossriver report: rectification is the report there is\n");
        report_help(stderr);
        return CR_EXIT_USAGE;
    }
    cr_cli_common common;
    cr_cli_common_init(&common);
    f_args a = {0};
    int p = parse(argc, argv, 2, &common, &a, report_help);
    if (p <= 0) {
        return p < 0 ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    char first[11], last[11], today[11];
    if (a.period == NULL || !cr_ops_period_days(a.period, first, last)) {
        fprintf(stderr, "crossriver report rectification: --period 2025Q3, 2025-07 or 2025\n");
        return CR_EXIT_USAGE;
    }
    if (a.as_of) {
        snprintf(today, sizeof today, "%.10s", a.as_of);
    } else {
        time_t now = time(NULL) + 8 * 3600;
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(today, sizeof today, "%Y-%m-%d", &tm);
    }
    const char *format = common.json ? "json" : a.format ? a.format : "text";
    json_t *conf = cr_cli_load_config("report", a.config);
    if (conf == NULL) {
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        json_decref(conf);
        return CR_EXIT_FAILURE;
    }
    json_t *r = NULL;
    cr_error e = {0};
    int code = CR_EXIT_OK;
    if (cr_ops_rectification_report(store, first, last, today, conf, &r, &e) != CR_OK) {
        fprintf(stderr, "crossriver report: %s\n", e.msg);
        code = CR_EXIT_FAILURE;
    } else if (strcmp(format, "text") == 0) {
        const json_t *t = json_object_get(r, "totals");
        printf("整改报告 %s … %s as of %s: found %lld, rectified %lld, closed %lld, overdue %lld\n",
               first, last, today, (long long)json_integer_value(json_object_get(t, "found")),
               (long long)json_integer_value(json_object_get(t, "rectified")),
               (long long)json_integer_value(json_object_get(t, "closed")),
               (long long)json_integer_value(json_object_get(t, "overdue")));
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(r, "jurisdictions"), i, g)
        {
            printf("  %s %s: found %lld, rectified %lld, closed %lld, overdue %lld\n",
                   json_string_value(json_object_get(g, "county_code")),
                   json_string_value(json_object_get(g, "county_name")),
                   (long long)json_integer_value(json_object_get(g, "found")),
                   (long long)json_integer_value(json_object_get(g, "rectified")),
                   (long long)json_integer_value(json_object_get(g, "closed")),
                   (long long)json_integer_value(json_object_get(g, "overdue")));
        }
    } else {
        cr_strbuf b = {0};
        if (strcmp(format, "html") == 0) {
            cr_ops_rectification_html(r, &b);
        } else if (strcmp(format, "csv") == 0) {
            cr_ops_rectification_csv(r, &b);
        } else {
            char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            cr_strbuf_puts(&b, s);
            cr_strbuf_puts(&b, "\n");
            free(s);
        }
        if (!cr_cli_write_output("report", a.out, b.data, b.len)) {
            code = CR_EXIT_FAILURE;
        }
        cr_strbuf_cleanup(&b);
    }
    json_decref(r);
    json_decref(conf);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
