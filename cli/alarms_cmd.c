/* SPDX-License-Identifier: MIT */
/* crossriver alarms: run the early-warning rules, list the alarms (with each one's upstream
 * candidates and downstream consequence), and move an alarm along its lifecycle. */
#include "after_import.h"
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "network/network.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver alarms [--state S|all] [--section ID] [--id N] [--json]\n"
            "       crossriver alarms --detect [--as-of TIME]\n"
            "       crossriver alarms --review N --to STATE --who NAME [--note TEXT]\n\n"
            "Early warning over the readings: a boundary section missing its target, a class\n"
            "worse than the month before, a sudden change in automatic data (rolling median\n"
            "and MAD), repeated anomalies at one section (the trigger for a special\n"
            "consultation), a silent automatic station. Rule parameters: the deployment\n"
            "config's \"alarms\" object (docs/monitoring.md). Imports of readings run the\n"
            "rules; --detect runs them again (nothing is raised twice).\n\n"
            "  --state S      open (default: open, reviewed, confirmed), reviewed, confirmed,\n"
            "                 false_alarm, closed, or all\n"
            "  --section ID   one section's alarms\n"
            "  --id N         one alarm, with its upstream candidates and downstream reach\n"
            "  --detail       every listed alarm with them (as --id)\n"
            "  --detect       run the rules now\n"
            "  --as-of TIME   the silent rule's now (default: the newest reading)\n"
            "  --review N     move alarm N: --to reviewed|confirmed|false_alarm|closed,\n"
            "                 --who the person, --note what was found\n"
            "  --config FILE  deployment config (default ./crossriver.json if present)\n"
            "  --store PATH   store (default ./crossriver.sqlite)\n"
            "  --json         JSON\n");
}

static const char *text(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static void print_alarm(const json_t *a, int detail)
{
    printf("#%lld %-13s %-9s %s\n  %s\n",
           (long long)json_integer_value(json_object_get(a, "alarm_id")), text(a, "rule"),
           text(a, "state"), text(a, "start"), text(a, "message"));
    if (!detail) {
        return;
    }
    const json_t *up = json_object_get(a, "upstream");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(up, "stations"), i, x)
    {
        printf("  upstream station %s %s: %.1f h, %s\n", text(x, "id"), text(x, "name"),
               json_number_value(json_object_get(x, "travel_h")),
               json_is_true(json_object_get(x, "clean")) ? "stayed clean" : "no clean record");
    }
    json_array_foreach(json_object_get(up, "candidates"), i, x)
    {
        if (i >= 8) {
            printf("  … %zu candidates in all (--json lists every one)\n",
                   json_array_size(json_object_get(up, "candidates")));
            break;
        }
        printf("  %2zu. %.3f %-16s %-14s %s\n      %s\n", i + 1,
               json_number_value(json_object_get(x, "score")), text(x, "layer"), text(x, "id"),
               text(x, "name"), text(x, "why"));
    }
    const json_t *down = json_object_get(a, "downstream");
    json_array_foreach(json_object_get(down, "reaches_next"), i, x)
    {
        printf("  downstream %-18s %-14s %-20s arrives %s (+%.1f h)\n", text(x, "layer"),
               text(x, "id"), text(x, "name"), text(x, "arrival"),
               json_number_value(json_object_get(x, "travel_h")));
    }
    json_array_foreach(json_object_get(json_object_get(a, "stockpiles"), "nearest"), i, x)
    {
        printf("  stockpile %s %s, %.1f km (straight line): %s\n", text(x, "id"), text(x, "name"),
               json_number_value(json_object_get(x, "distance_km")), text(x, "contents"));
    }
    json_array_foreach(json_object_get(down, "notify"), i, x)
    {
        printf("  notify %zu: %s %s (water arrives %s)\n", i + 1, text(x, "code"), text(x, "name"),
               text(x, "arrival"));
    }
}

typedef struct {
    const char *state, *section, *as_of, *to, *who, *note, *config;
    double id, review;
    int detect, detail;
} alarm_args;

static int detail_all(cr_store *store, const cr_wq_alarm_config *cfg, json_t *list)
{
    cr_error err = {0};
    json_t *rel = cr_standards_file(NULL, "source_relevance.json", &err);
    if (rel == NULL) {
        fprintf(stderr, "crossriver alarms: %s\n", err.msg);
        return 0;
    }
    cr_graph *g = NULL;
    if (cr_graph_load(store, &g, &err) != CR_OK) {
        fprintf(stderr, "crossriver alarms: %s\n", err.msg);
        json_decref(rel);
        return 0;
    }
    cr_trace_context cx = {store, g, NULL, NULL};
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        cr_api_alarm_detail(&cx, rel, cfg, a, &err);
    }
    cr_graph_free(g);
    json_decref(rel);
    return 1;
}

int cr_cmd_alarms(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 'S'},
        {"section", required_argument, NULL, 's'},
        {"id", required_argument, NULL, 'i'},
        {"detail", no_argument, NULL, 'd'},
        {"detect", no_argument, NULL, 'D'},
        {"as-of", required_argument, NULL, 'a'},
        {"review", required_argument, NULL, 'r'},
        {"to", required_argument, NULL, 't'},
        {"who", required_argument, NULL, 'w'},
        {"note", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'C'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    alarm_args a = {.state = "open"};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'S':
            a.state = strcmp(optarg, "all") == 0 ? NULL : optarg;
            break;
        case 's':
            a.section = optarg;
            break;
        case 'i':
            if (!cr_cli_number("alarms", "--id", optarg, 1, 9e15, &a.id)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'r':
            if (!cr_cli_number("alarms", "--review", optarg, 1, 9e15, &a.review)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'd':
            a.detail = 1;
            break;
        case 'D':
            a.detect = 1;
            break;
        case 'a':
            a.as_of = optarg;
            break;
        case 't':
            a.to = optarg;
            break;
        case 'w':
            a.who = optarg;
            break;
        case 'n':
            a.note = optarg;
            break;
        case 'C':
            a.config = optarg;
            break;
        default:
            return cr_cli_help_exit(opt, help);
        }
    }
    if (a.review && (a.to == NULL || a.who == NULL)) {
        fprintf(stderr, "crossriver alarms: --review needs --to STATE and --who NAME\n");
        return CR_EXIT_USAGE;
    }
    json_t *conf = cr_cli_load_config("alarms", a.config);
    cr_wq_alarm_config cfg;
    cr_error err = {0};
    if (conf == NULL ||
        cr_wq_alarm_config_load(json_object_get(conf, "alarms"), &cfg, &err) != CR_OK) {
        if (conf) {
            fprintf(stderr, "crossriver alarms: %s\n", err.msg);
        }
        json_decref(conf);
        return CR_EXIT_USAGE;
    }
    json_decref(conf);
    int64_t as_of = 0;
    if (a.as_of) {
        cr_period p;
        if (cr_wq_period_parse(a.as_of, &p, &err) != CR_OK) {
            fprintf(stderr, "crossriver alarms: --as-of: %s\n", err.msg);
            return CR_EXIT_USAGE;
        }
        as_of = p.kind == CR_PERIOD_SAMPLE ? p.t : (p.last_day + 1) * 86400;
    }
    cr_standards *std = NULL;
    if (cr_standards_load(NULL, &std, &err) != CR_OK) {
        fprintf(stderr, "crossriver alarms: %s\n", err.msg);
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
    cr_status rc = CR_OK;
    if (a.detect) {
        cr_wq_detect_result r;
        /* the map's classes first (an import with --no-join left them), then the rules */
        rc = cr_wq_refresh_status(store, std, cr_layer_set_find(set, "monitoring_sections"), &err);
        if (rc == CR_OK) {
            rc = cr_wq_detect(store, std, &cfg, as_of, &r, &err);
        }
        if (rc == CR_OK && !common.quiet && !common.json) {
            cr_cli_print_detect(&r);
        }
    } else if (a.review) {
        rc = cr_wq_alarm_step(store, (int64_t)a.review, a.to, a.who, a.note, &err);
        if (rc == CR_OK) {
            rc = cr_wq_alarm_get(store, (int64_t)a.review, &out, &err);
        }
        if (rc == CR_OK) {
            char detail[256];
            snprintf(detail, sizeof detail, "alarm %lld → %s", (long long)a.review, a.to);
            rc = cr_store_audit(store, a.who, "alarm_review", detail, &err);
        }
        if (rc == CR_OK && !common.json) {
            print_alarm(out, 0);
        }
    } else if (a.id) {
        json_t *one = NULL;
        rc = cr_wq_alarm_get(store, (int64_t)a.id, &one, &err);
        if (rc == CR_OK) {
            out = json_array();
            json_array_append_new(out, one);
            detail_all(store, &cfg, out);
        }
    } else {
        rc = cr_wq_alarms_list(store, a.state, a.section, &out, &err);
        if (rc == CR_OK && a.detail) {
            detail_all(store, &cfg, out);
        }
    }
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver alarms: %s\n", err.msg);
        code = rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (out && common.json) {
        cr_cli_print_json(out);
    } else if (out && !a.review) {
        size_t i;
        json_t *x;
        json_array_foreach(out, i, x)
        {
            print_alarm(x, a.detail || a.id);
        }
        printf("%zu alarm%s\n", json_array_size(out), json_array_size(out) == 1 ? "" : "s");
    }
    json_decref(out);
    cr_store_close(store);
    cr_layer_set_free(set);
    cr_standards_free(std);
    return code;
}
