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

/* The place of an incident as longitude/latitude text (the record file's columns): --at as
 * given; a feature's or a reach's point from the store. */
static int place_of(cr_store *store, const inc_args *a, char lon[64], char lat[64])
{
    if (a->at) {
        const char *comma = strchr(a->at, ',');
        if (comma == NULL) {
            fprintf(stderr, "crossriver incident: --at wants LON,LAT\n");
            return 0;
        }
        snprintf(lon, 64, "%.*s", (int)(comma - a->at), a->at);
        snprintf(lat, 64, "%s", comma + 1);
        return 1;
    }
    sqlite3_stmt *st = NULL;
    sqlite3 *db = cr_store_db(store);
    if (a->feature) {
        const char *colon = strchr(a->feature, ':');
        if (colon == NULL) {
            fprintf(stderr, "crossriver incident: --feature wants LAYER:ID\n");
            return 0;
        }
        char *layer = cr_xstrndup(a->feature, (size_t)(colon - a->feature));
        char *sql = sqlite3_mprintf("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface("
                                    "geom)) FROM \"%w_current\" WHERE source_id = ?",
                                    layer);
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_free(sql);
        free(layer);
        if (st) {
            sqlite3_bind_text(st, 1, colon + 1, -1, SQLITE_TRANSIENT);
        }
    } else if (a->reach) {
        sqlite3_prepare_v2(db,
                           "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Line_Interpolate_Point(geom,"
                           " MIN(1, MAX(0, CASE WHEN ?2 < 0 THEN 0.5 ELSE ?2 /"
                           " ST_Length(geom, 1) END))) AS p FROM reaches_current WHERE"
                           " source_id = ?1)",
                           -1, &st, NULL);
        if (st) {
            sqlite3_bind_text(st, 1, a->reach, -1, SQLITE_TRANSIENT);
            sqlite3_bind_double(st, 2, a->has_measure ? a->measure : -1);
        }
    }
    int ok = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (ok) {
        snprintf(lon, 64, "%.7f", sqlite3_column_double(st, 0));
        snprintf(lat, 64, "%.7f", sqlite3_column_double(st, 1));
    } else {
        fprintf(stderr, "crossriver incident: %s '%s' is not in the store\n",
                a->feature ? "--feature" : "--reach", a->feature ? a->feature : a->reach);
    }
    sqlite3_finalize(st);
    return ok;
}

/* The record file of an incident: its fields as given, imported as a batch of its own. */
static int record(cr_store *store, const cr_cli_common *common, const inc_args *a, const char *id,
                  const char *lon, const char *lat)
{
    const char *names[16], *values[16];
    char amount[32], release[32];
    size_t n = 0;
#define COL(name, value)                                                                           \
    do {                                                                                           \
        const char *v_ = (value);                                                                  \
        if (v_) {                                                                                  \
            names[n] = name;                                                                       \
            values[n++] = v_;                                                                      \
        }                                                                                          \
    } while (0)
    COL("incident_id", id);
    COL("occurred_at", a->time);
    COL("substance", a->substance);
    if (a->has_amount) {
        snprintf(amount, sizeof amount, "%g", a->amount);
        COL("amount_kg", amount);
    }
    if (a->has_release) {
        snprintf(release, sizeof release, "%g", a->release);
        COL("release_hours", release);
    }
    COL("reporter", a->reporter);
    COL("place", a->place);
    COL("cause", a->cause);
    COL("response", a->response);
    COL("status", a->status);
    COL("note", a->note);
    COL("经度", lon);
    COL("纬度", lat);
#undef COL
    return cr_cli_record(store, common, "incidents", id, names, values, n, a->crs, "incident");
}

static int current_exists(cr_store *store, const char *id);

/* An update is the current record with the changes given: a new version of the whole record
 * (the place as stored, WGS84), so the record file reads on its own. */
static int update(cr_store *store, const cr_cli_common *common, inc_args *a)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT occurred_at, substance, amount_kg, release_hours, reporter, place, cause,"
               " response, status, note, ST_X(geom), ST_Y(geom) FROM incidents_current WHERE"
               " source_id = ?");
    if (st == NULL) {
        fprintf(stderr, "crossriver incident: %s\n", sqlite3_errmsg(cr_store_db(store)));
        return CR_EXIT_FAILURE;
    }
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return CR_EXIT_USAGE;
    }
    char *kept[10] = {0};
    for (int i = 0; i < 10; i++) {
        const unsigned char *v = sqlite3_column_text(st, i);
        kept[i] = v ? cr_xstrdup((const char *)v) : NULL;
    }
    char lon[64], lat[64];
    snprintf(lon, sizeof lon, "%.8f", sqlite3_column_double(st, 10));
    snprintf(lat, sizeof lat, "%.8f", sqlite3_column_double(st, 11));
    sqlite3_reset(st);
    inc_args m = *a;
    const char **slots[] = {&m.time,  &m.substance, NULL,        NULL,      &m.reporter,
                            &m.place, &m.cause,     &m.response, &m.status, &m.note};
    for (int i = 0; i < 10; i++) {
        if (slots[i] && *slots[i] == NULL) {
            *slots[i] = kept[i];
        }
    }
    if (!m.has_amount && kept[2]) {
        m.amount = strtod(kept[2], NULL);
        m.has_amount = 1;
    }
    if (!m.has_release && kept[3]) {
        m.release = strtod(kept[3], NULL);
        m.has_release = 1;
    }
    m.crs = "EPSG:4326";
    int code = record(store, common, &m, a->id, lon, lat);
    for (int i = 0; i < 10; i++) {
        free(kept[i]);
    }
    return code;
}

static int current_exists(cr_store *store, const char *id)
{
    sqlite3_stmt *st = cr_store_cached(store, "SELECT 1 FROM incidents_current WHERE source_id=?");
    int found = 0;
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
    }
    return found;
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
    if (!a->to || !a->channel || !a->sent || !a->who) {
        fprintf(stderr, "crossriver incident notify: --to, --channel, --sent and --who are "
                        "needed\n");
        return CR_EXIT_USAGE;
    }
    const char *kind = a->kind ? a->kind : "notification";
    if (strcmp(kind, "notification") && strcmp(kind, "information") && strcmp(kind, "press")) {
        fprintf(stderr, "crossriver incident notify: --kind notification, information or press\n");
        return CR_EXIT_USAGE;
    }
    char sent[20] = "", ack[20] = "";
    cr_error e = {0};
    if (cr_etl_parse_datetime(a->sent, sent, &e) != CR_OK ||
        (a->ack && cr_etl_parse_datetime(a->ack, ack, &e) != CR_OK)) {
        fprintf(stderr, "crossriver incident notify: a time: %s\n", e.msg);
        return CR_EXIT_USAGE;
    }
    char name[128] = "";
    const char *level = strlen(a->to) == 9 ? "town" : "county";
    sqlite3_stmt *q = cr_store_cached(store, "SELECT name, level FROM admin_units_current WHERE"
                                             " code = ?");
    if (q) {
        sqlite3_bind_text(q, 1, a->to, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) == SQLITE_ROW) {
            snprintf(name, sizeof name, "%s", sqlite3_column_text(q, 0));
        }
        sqlite3_reset(q);
    }
    if (strcmp(a->to + strlen(a->to) - 2, "00") == 0 && strlen(a->to) == 6) {
        level = strcmp(a->to + 2, "0000") == 0 ? "province" : "city";
    }
    char now[21];
    cr_now_iso8601(now);
    cr_status rc = cr_store_exec(
        store,
        "CREATE TABLE IF NOT EXISTS incident_notifications (incident_id TEXT NOT NULL, seq INTEGER"
        " NOT NULL, kind TEXT NOT NULL, to_code TEXT NOT NULL, to_name TEXT, level TEXT, channel"
        " TEXT NOT NULL, sent_at TEXT NOT NULL, acknowledged_at TEXT, who TEXT NOT NULL, note"
        " TEXT, recorded_at TEXT NOT NULL, PRIMARY KEY (incident_id, seq)) WITHOUT ROWID;"
        " BEGIN IMMEDIATE",
        &e);
    sqlite3_stmt *st =
        rc == CR_OK ? cr_store_cached(store, "INSERT INTO incident_notifications SELECT ?1,"
                                             " COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6,"
                                             " ?7, ?8, ?9, ?10, ?11 FROM incident_notifications"
                                             " WHERE incident_id = ?1")
                    : NULL;
    if (rc == CR_OK && st == NULL) {
        rc = cr_error_set(&e, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc == CR_OK) {
        const char *v[] = {a->id,  kind,       a->to, name,
                           level,  a->channel, sent,  a->ack ? ack : NULL,
                           a->who, a->note,    now};
        for (int i = 0; i < 11; i++) {
            if (v[i]) {
                sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(st, i + 1);
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(&e, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
        }
        sqlite3_reset(st);
    }
    if (rc == CR_OK) {
        char detail[256];
        snprintf(detail, sizeof detail, "incident %s: %s to %s by %s at %s", a->id, kind, a->to,
                 a->channel, sent);
        rc = cr_store_audit(store, a->who, "incident_notification", detail, &e);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", &e);
    }
    if (rc != CR_OK) {
        cr_store_exec(store, "ROLLBACK", NULL);
        fprintf(stderr, "crossriver incident notify: %s\n", e.msg);
        return CR_EXIT_FAILURE;
    }
    printf("incident %s: %s to %s %s (%s) recorded\n", a->id, kind, a->to, name, level);
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
    if (strcmp(sub, "open") == 0) {
        char lon[64], lat[64], idbuf[64];
        int places = (a.at != NULL) + (a.feature != NULL) + (a.reach != NULL);
        if (places != 1 || !a.time || !a.substance) {
            fprintf(stderr, "crossriver incident open: one place (--at, --feature or --reach), "
                            "--time and --substance are needed\n");
            code = CR_EXIT_USAGE;
        } else if (!place_of(store, &a, lon, lat)) {
            code = CR_EXIT_USAGE;
        } else {
            if (a.id == NULL) {
                char day[11];
                cr_error e = {0};
                if (cr_etl_parse_date(a.time, day, &e) != CR_OK) {
                    snprintf(day, sizeof day, "%.10s", a.time);
                }
                int n = 1;
                do {
                    snprintf(idbuf, sizeof idbuf, "INC-%.4s%.2s%.2s-%02d", day, day + 5, day + 8,
                             n++);
                } while (current_exists(store, idbuf) && n < 100);
                a.id = idbuf;
            }
            if (current_exists(store, a.id)) {
                fprintf(stderr,
                        "crossriver incident open: %s is recorded already (incident "
                        "update changes it)\n",
                        a.id);
                code = CR_EXIT_USAGE;
            } else {
                if (a.status == NULL) {
                    a.status = "open";
                }
                code = record(store, &common, &a, a.id, lon, lat);
            }
        }
    } else if (strcmp(sub, "update") == 0) {
        if (!current_exists(store, a.id)) {
            fprintf(stderr, "crossriver incident update: no incident %s\n", a.id);
            code = CR_EXIT_USAGE;
        } else {
            code = update(store, &common, &a);
        }
    } else if (strcmp(sub, "notify") == 0) {
        code = current_exists(store, a.id) ? notify(store, &a) : CR_EXIT_USAGE;
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
            char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
            printf("%s\n", s);
            free(s);
        } else if (code == CR_EXIT_OK) {
            print_report(r);
        }
        json_decref(r);
    }
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
