/* SPDX-License-Identifier: MIT */
/* crossriver incident: record a pollution incident and its updates (each a batch of layer
 * incidents, its record file kept beside the store), and answer for it: what it threatens
 * downstream, whom to notify by level, the deadlines, the 通报, the emergency monitoring plan;
 * record every notification sent. */
#include "after_import.h"
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "exit_codes.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void help(FILE *out)
{
    fprintf(
        out,
        "usage: crossriver incident open (--at LON,LAT [--crs gcj02] | --feature LAYER:ID |\n"
        "                                 --reach ID [--measure M]) --time T --substance S\n"
        "                                [--amount-kg X] [--release-hours H] [--reporter R]\n"
        "                                [--place TEXT] [--cause TEXT] [--response TEXT] [--id "
        "ID]\n"
        "       crossriver incident update ID [--amount-kg X] [--status contained|closed]\n"
        "                                [--cause TEXT] [--response TEXT] [--note TEXT]\n"
        "       crossriver incident show ID [--json]     threatened intakes and sections, whom\n"
        "                                                to notify by level, deadlines\n"
        "       crossriver incident notice ID            the 通报 text, to print or paste\n"
        "       crossriver incident plan ID --format csv|html|geojson [--out FILE]\n"
        "       crossriver incident notify ID --to CODE --channel C --sent T [--acknowledged T]\n"
        "                                --who NAME [--kind notification|information|press]\n"
        "       crossriver incident list\n\n"
        "--at takes decimal degrees or DMS (120°53'12.5\"E); --crs gcj02 for a phone's map\n"
        "location; swapped longitude/latitude are diagnosed. Each open and update is a batch\n"
        "of layer incidents (history kept; crossriver batches lists them); the record files\n"
        "are kept in STORE.records/. Deadlines (information within 5 h, a press conference\n"
        "within 24 h) and trace horizons come from the deployment config's \"incidents\"\n"
        "(docs/incidents.md). Times are China Standard Time as written.\n");
}

typedef struct {
    const char *id, *at, *crs, *feature, *reach, *time, *substance, *reporter, *place, *cause,
        *response, *status, *note, *format, *out, *to, *channel, *sent, *ack, *who, *kind, *config;
    double amount, release, measure;
    int has_amount, has_release, has_measure;
} inc_args;

static int parse(int argc, char **argv, cr_cli_common *common, inc_args *a)
{
    static const struct option longopts[] = {
        {"id", required_argument, NULL, 'i'},
        {"at", required_argument, NULL, 'a'},
        {"crs", required_argument, NULL, 'c'},
        {"feature", required_argument, NULL, 'f'},
        {"reach", required_argument, NULL, 'r'},
        {"measure", required_argument, NULL, 'm'},
        {"time", required_argument, NULL, 't'},
        {"substance", required_argument, NULL, 's'},
        {"amount-kg", required_argument, NULL, 'k'},
        {"release-hours", required_argument, NULL, 'H'},
        {"reporter", required_argument, NULL, 'p'},
        {"place", required_argument, NULL, 'P'},
        {"cause", required_argument, NULL, 'C'},
        {"response", required_argument, NULL, 'R'},
        {"status", required_argument, NULL, 'S'},
        {"note", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {"to", required_argument, NULL, 'T'},
        {"channel", required_argument, NULL, 'h' + 256},
        {"sent", required_argument, NULL, 'e'},
        {"acknowledged", required_argument, NULL, 'A'},
        {"who", required_argument, NULL, 'w'},
        {"kind", required_argument, NULL, 'K'},
        {"config", required_argument, NULL, 'G'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 2;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'i':
            a->id = optarg;
            break;
        case 'a':
            a->at = optarg;
            break;
        case 'c':
            a->crs = optarg;
            break;
        case 'f':
            a->feature = optarg;
            break;
        case 'r':
            a->reach = optarg;
            break;
        case 'm':
            if (!cr_cli_number("incident", "--measure", optarg, 0, 1e7, &a->measure)) {
                return 0;
            }
            a->has_measure = 1;
            break;
        case 't':
            a->time = optarg;
            break;
        case 's':
            a->substance = optarg;
            break;
        case 'k':
            if (!cr_cli_number("incident", "--amount-kg", optarg, 0, 1e9, &a->amount)) {
                return 0;
            }
            a->has_amount = 1;
            break;
        case 'H':
            if (!cr_cli_number("incident", "--release-hours", optarg, 0, 1e4, &a->release)) {
                return 0;
            }
            a->has_release = 1;
            break;
        case 'p':
            a->reporter = optarg;
            break;
        case 'P':
            a->place = optarg;
            break;
        case 'C':
            a->cause = optarg;
            break;
        case 'R':
            a->response = optarg;
            break;
        case 'S':
            a->status = optarg;
            break;
        case 'n':
            a->note = optarg;
            break;
        case 'F':
            a->format = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'T':
            a->to = optarg;
            break;
        case 'h' + 256:
            a->channel = optarg;
            break;
        case 'e':
            a->sent = optarg;
            break;
        case 'A':
            a->ack = optarg;
            break;
        case 'w':
            a->who = optarg;
            break;
        case 'K':
            a->kind = optarg;
            break;
        case 'G':
            a->config = optarg;
            break;
        default:
            cr_cli_help_exit(opt, help);
            return opt == 'h' ? -1 : 0;
        }
    }
    if (optind < argc && a->id == NULL) {
        a->id = argv[optind];
    }
    return 1;
}

/* The options as the incident input the command line and HTTP share. */
static cr_incident_input input_of(const inc_args *a)
{
    cr_incident_input in = {0};
    in.id = a->id;
    in.at = a->at;
    in.crs = a->crs;
    in.feature = a->feature;
    in.reach = a->reach;
    in.time = a->time;
    in.substance = a->substance;
    in.reporter = a->reporter;
    in.place = a->place;
    in.cause = a->cause;
    in.response = a->response;
    in.status = a->status;
    in.note = a->note;
    in.amount_kg = a->amount;
    in.has_amount = a->has_amount;
    in.release_hours = a->release;
    in.has_release = a->has_release;
    in.measure_m = a->measure;
    in.has_measure = a->has_measure;
    return in;
}

static int with_report(cr_store *store, const char *id, const char *config, json_t **out)
{
    cr_error err = {0};
    cr_graph *g = NULL;
    cr_reach_index *ref = NULL;
    json_t *conf = cr_cli_load_config("incident", config);
    if (conf == NULL) {
        return CR_EXIT_USAGE;
    }
    cr_status rc = cr_graph_load(store, &g, &err);
    if (rc == CR_OK) {
        rc = cr_reach_index_load(store, &ref, &err);
    }
    if (rc == CR_OK) {
        cr_trace_context cx = {store, g, NULL, ref};
        rc = cr_api_incident_report(&cx, id, conf, out, &err);
    }
    cr_reach_index_free(ref);
    cr_graph_free(g);
    json_decref(conf);
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver incident: %s\n", err.msg);
        return rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    }
    return CR_EXIT_OK;
}

static void print_report(const json_t *r)
{
    const json_t *inc = json_object_get(r, "incident");
    printf("%s · %s · %s %s · status %s\n", json_string_value(json_object_get(inc, "incident_id")),
           json_string_value(json_object_get(inc, "occurred_at")),
           json_string_value(json_object_get(inc, "substance")),
           json_is_number(json_object_get(inc, "amount_kg")) ? "(amount given)" : "(no amount)",
           json_string_value(json_object_get(inc, "status")) ?: "open");
    printf("threatened downstream (within %.0f h), by leading edge:\n",
           json_number_value(json_object_get(r, "horizon_h")));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "gates_in_force"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "state")), "open") != 0) {
            printf("  (on the gates as they stood: %s %s %s, %s)\n",
                   json_string_value(json_object_get(x, "gate_id")),
                   json_string_value(json_object_get(x, "name")) ?: "",
                   json_string_value(json_object_get(x, "state")),
                   json_string_value(json_object_get(x, "op_id")) ?: "normal state");
        }
    }
    json_array_foreach(json_object_get(r, "threatened"), i, x)
    {
        printf("  %-18s %-12s %-22s front %s  peak %s  passed %s\n",
               json_string_value(json_object_get(x, "layer")),
               json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "name")) ?: "",
               json_string_value(json_object_get(x, "leading_edge")),
               json_string_value(json_object_get(x, "peak")),
               json_string_value(json_object_get(x, "trailing_edge")));
    }
    const json_t *no = json_object_get(r, "notification");
    const char *levels[] = {"county", "city", "province", "towns"};
    const char *titles[] = {"county to county", "city to city", "province to province",
                            "town river chiefs on the way"};
    for (int l = 0; l < 4; l++) {
        printf("notify, %s:\n", titles[l]);
        json_array_foreach(json_object_get(no, levels[l]), i, x)
        {
            const json_t *c = json_array_get(json_object_get(x, "contacts"), 0);
            printf("  %zu. %s %s  water arrives %s  %s %s\n", i + 1,
                   json_string_value(json_object_get(x, "code")),
                   json_string_value(json_object_get(x, "name")),
                   json_string_value(json_object_get(x, "arrival")),
                   c ? json_string_value(json_object_get(c, "agency")) ?: "" : "",
                   c ? json_string_value(json_object_get(c, "duty_phone")) ?: "" : "");
        }
    }
    printf("reporting line:");
    json_array_foreach(json_object_get(no, "reporting_line"), i, x)
    {
        printf("%s %s", i ? " →" : "", json_string_value(x));
    }
    printf("\n");
    json_array_foreach(json_object_get(r, "deadlines"), i, x)
    {
        printf("deadline: %s by %s%s\n", json_string_value(json_object_get(x, "what")),
               json_string_value(json_object_get(x, "due")),
               json_is_true(json_object_get(x, "overdue"))     ? "  OVERDUE"
               : json_is_string(json_object_get(x, "done_at")) ? "  done"
                                                               : "");
    }
    json_array_foreach(json_object_get(json_object_get(r, "stockpiles"), "nearest"), i, x)
    {
        printf("stockpile %s %s, %.1f km (straight line): %s\n",
               json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "name")),
               json_number_value(json_object_get(x, "distance_km")),
               json_string_value(json_object_get(x, "contents")) ?: "");
    }
}

static int notify(cr_store *store, const inc_args *a)
{
    cr_notification_input n = {a->id, a->kind, a->to, a->channel, a->sent, a->ack, a->who, a->note};
    cr_error e = {0};
    json_t *row = NULL;
    cr_status rc = cr_api_incident_notify(store, &n, &row, &e);
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver incident notify: %s\n", e.msg);
        return rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    }
    printf("incident %s: %s to %s %s (%s) recorded\n", a->id,
           json_string_value(json_object_get(row, "kind")), a->to,
           json_string_value(json_object_get(row, "to_name")),
           json_string_value(json_object_get(row, "level")));
    json_decref(row);
    return CR_EXIT_OK;
}

int cr_cmd_incident(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    const char *sub = argv[1];
    cr_cli_common common;
    cr_cli_common_init(&common);
    inc_args a = {0};
    int p = parse(argc, argv, &common, &a);
    if (p <= 0) {
        return p < 0 ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    int known = strcmp(sub, "open") == 0 || strcmp(sub, "update") == 0 ||
                strcmp(sub, "show") == 0 || strcmp(sub, "notice") == 0 ||
                strcmp(sub, "plan") == 0 || strcmp(sub, "notify") == 0 || strcmp(sub, "list") == 0;
    if (!known) {
        fprintf(stderr,
                "crossriver incident: unknown action '%s' (open, update, show, notice, "
                "plan, notify, list)\n",
                sub);
        return CR_EXIT_USAGE;
    }
    if (strcmp(sub, "list") != 0 && strcmp(sub, "open") != 0 && a.id == NULL) {
        fprintf(stderr, "crossriver incident %s: which incident? (an ID)\n", sub);
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    if (strcmp(sub, "open") == 0 || strcmp(sub, "update") == 0) {
        cr_incident_input in = input_of(&a);
        cr_record_result r;
        cr_error e = {0};
        char id[64] = "";
        cr_status rc = sub[0] == 'o'
                           ? cr_api_incident_open(store, common.store_path, &in, id, &r, &e)
                           : cr_api_incident_update(store, common.store_path, &in, &r, &e);
        code = cr_cli_record_report(&common, "incident", sub[0] == 'o' ? id : a.id, rc, &r, &e);
    } else if (strcmp(sub, "notify") == 0) {
        code = notify(store, &a);
    } else if (strcmp(sub, "list") == 0) {
        sqlite3_stmt *st = cr_store_cached(store, "SELECT source_id, occurred_at, substance,"
                                                  " status, county_code FROM incidents_current"
                                                  " ORDER BY occurred_at DESC");
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            printf("%s  %s  %s  %s  %s\n", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                   sqlite3_column_text(st, 2),
                   sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "",
                   sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
        }
        if (st) {
            sqlite3_reset(st);
        }
    } else {
        json_t *r = NULL;
        code = with_report(store, a.id, a.config, &r);
        if (code == CR_EXIT_OK && strcmp(sub, "notice") == 0) {
            printf("%s", json_string_value(json_object_get(r, "notice")));
        } else if (code == CR_EXIT_OK && strcmp(sub, "plan") == 0) {
            const char *fmt = a.format ? a.format : "csv";
            cr_strbuf b = {0};
            if (strcmp(fmt, "csv") == 0) {
                cr_api_incident_plan_csv(r, &b);
            } else if (strcmp(fmt, "html") == 0) {
                cr_api_incident_plan_html(r, &b);
            } else if (strcmp(fmt, "geojson") == 0) {
                json_t *g = cr_api_incident_plan_geojson(r);
                char *s = json_dumps(g, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
                cr_strbuf_puts(&b, s);
                cr_strbuf_puts(&b, "\n");
                free(s);
                json_decref(g);
            } else {
                fprintf(stderr, "crossriver incident plan: --format csv, html or geojson\n");
                code = CR_EXIT_USAGE;
            }
            if (code == CR_EXIT_OK && !cr_cli_write_output("incident", a.out, b.data, b.len)) {
                code = CR_EXIT_FAILURE;
            }
            cr_strbuf_cleanup(&b);
        } else if (code == CR_EXIT_OK && common.json) {
            cr_cli_print_json(r);
        } else if (code == CR_EXIT_OK) {
            print_report(r);
        }
        json_decref(r);
    }
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
