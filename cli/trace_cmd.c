/* SPDX-License-Identifier: MIT */
/* crossriver trace: upstream/downstream from a reach, a feature or a point; who to notify. */
#include "cli_common.h"
#include "commands.h"
#include "etl/join.h"
#include "exit_codes.h"
#include "network/network.h"

#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver trace (--reach ID | --feature LAYER:ID | --at LON,LAT)\n"
                 "                        --direction up|down [--mode all|main] [--max-km N]\n"
                 "                        [--max-hours H] [--velocity M_PER_S]\n"
                 "                        [--gates closed=ID,…] [--gates reversed=ID,…]\n"
                 "                        [--spill-kg M [--spill-hours T] [--dispersion D]]\n"
                 "                        [--stop-at section|boundary]\n"
                 "                        [--format json|geojson|table] [--store PATH]\n\n"
                 "Follow the network downstream (where does it go, who must know, when does it\n"
                 "arrive) or upstream (where could it come from). Every branch (all) or the\n"
                 "mainstem only (main); bounded by network distance and/or travel time. Reaches\n"
                 "with flow 'both' are followed both ways; a gate scenario closes or reverses the\n"
                 "reaches its gates sit on. Output: the reaches with distance and time, the\n"
                 "features met, and the jurisdictions entered in order with their contacts.\n"
                 "--spill-kg adds, at each section and intake downstream, the leading edge, peak\n"
                 "time and concentration (mg/L) and trailing edge of M kg released over T hours\n"
                 "(1-D advection-dispersion; see docs/tracing.md).\n"
                 "--stop-at section stops at the first cross-boundary monitoring section on each\n"
                 "path; --stop-at boundary at the first change of jurisdiction.\n");
}

typedef struct {
    const char *reach, *feature, *at, *format;
    int direction; /* -1 unset */
    int main_only;
    double max_km, max_hours, velocity, dispersion;
    double spill_kg, spill_hours; /* spill estimate (downstream), kg over hours */
    const char *stop_at;          /* "section" or "boundary" */
    char *gates[2];               /* closed, reversed: comma lists */
} trace_args;

static int parse_number(const char *what, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "crossriver trace: %s wants a number in [%g, %g], got '%s'\n", what, lo, hi,
                s);
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_args(int argc, char **argv, cr_cli_common *common, trace_args *a)
{
    static const struct option longopts[] = {
        {"reach", required_argument, NULL, 'r'},
        {"feature", required_argument, NULL, 'f'},
        {"at", required_argument, NULL, 'a'},
        {"direction", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'm'},
        {"max-km", required_argument, NULL, 'k'},
        {"max-hours", required_argument, NULL, 'H'},
        {"velocity", required_argument, NULL, 'V'},
        {"gates", required_argument, NULL, 'g'},
        {"format", required_argument, NULL, 'F'},
        {"dispersion", required_argument, NULL, 'D'},
        {"spill-kg", required_argument, NULL, 'S'},
        {"spill-hours", required_argument, NULL, 'T'},
        {"stop-at", required_argument, NULL, 'A'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'r':
            a->reach = optarg;
            break;
        case 'f':
            a->feature = optarg;
            break;
        case 'a':
            a->at = optarg;
            break;
        case 'd':
            a->direction = strcmp(optarg, "down") == 0 ? CR_TRACE_DOWN
                           : strcmp(optarg, "up") == 0 ? CR_TRACE_UP
                                                       : -2;
            if (a->direction == -2) {
                fprintf(stderr, "crossriver trace: --direction is up or down, not '%s'\n", optarg);
                return 0;
            }
            break;
        case 'm':
            if (strcmp(optarg, "all") != 0 && strcmp(optarg, "main") != 0) {
                fprintf(stderr, "crossriver trace: --mode is all or main, not '%s'\n", optarg);
                return 0;
            }
            a->main_only = strcmp(optarg, "main") == 0;
            break;
        case 'k':
            if (!parse_number("--max-km", optarg, 0, 1e5, &a->max_km)) {
                return 0;
            }
            break;
        case 'H':
            if (!parse_number("--max-hours", optarg, 0, 1e6, &a->max_hours)) {
                return 0;
            }
            break;
        case 'V':
            if (!parse_number("--velocity", optarg, 0.001, 10, &a->velocity)) {
                return 0;
            }
            break;
        case 'A':
            if (strcmp(optarg, "section") != 0 && strcmp(optarg, "boundary") != 0) {
                fprintf(stderr, "crossriver trace: --stop-at is section or boundary\n");
                return 0;
            }
            a->stop_at = optarg;
            break;
        case 'D':
            if (!parse_number("--dispersion", optarg, 0.001, 1e4, &a->dispersion)) {
                return 0;
            }
            break;
        case 'S':
            if (!parse_number("--spill-kg", optarg, 1e-9, 1e9, &a->spill_kg)) {
                return 0;
            }
            break;
        case 'T':
            if (!parse_number("--spill-hours", optarg, 0, 1e4, &a->spill_hours)) {
                return 0;
            }
            break;
        case 'g':
            if (strncmp(optarg, "closed=", 7) == 0) {
                a->gates[0] = optarg + 7;
            } else if (strncmp(optarg, "reversed=", 9) == 0) {
                a->gates[1] = optarg + 9;
            } else {
                fprintf(stderr, "crossriver trace: --gates wants closed=ID,… or reversed=ID,…\n");
                return 0;
            }
            break;
        case 'F':
            a->format = optarg;
            if (strcmp(optarg, "json") && strcmp(optarg, "geojson") && strcmp(optarg, "table")) {
                fprintf(stderr, "crossriver trace: --format is json, geojson or table\n");
                return 0;
            }
            break;
        case 'h':
            help(stdout);
            exit(CR_EXIT_OK);
        default:
            return 0;
        }
    }
    if (a->spill_kg > 0 && a->direction != CR_TRACE_DOWN) {
        fprintf(stderr, "crossriver trace: a spill estimate goes downstream (--direction down)\n");
        return 0;
    }
    if ((a->reach != NULL) + (a->feature != NULL) + (a->at != NULL) != 1 || a->direction < 0) {
        fprintf(stderr, "crossriver trace: give one of --reach, --feature, --at, and "
                        "--direction\n");
        return 0;
    }
    return 1;
}

/* The start: reach index and measure (metres from its upstream end). */
static int find_start(cr_store *store, const cr_graph *g, const trace_args *a, int32_t *reach,
                      double *measure, json_t *start)
{
    sqlite3 *db = cr_store_db(store);
    if (a->reach) {
        *reach = cr_graph_find_reach(g, a->reach);
        *measure = 0;
        json_object_set_new(start, "reach_id", json_string(a->reach));
        if (*reach < 0) {
            fprintf(stderr, "crossriver trace: no reach '%s' in the network\n", a->reach);
            return 0;
        }
        /* downstream from a whole reach starts at its upstream end; upstream at its outlet */
        return 1;
    }
    if (a->feature) {
        const char *colon = strchr(a->feature, ':');
        const cr_layer_def *d =
            colon ? cr_layer_set_find(cr_store_layers(store),
                                      cr_xstrndup(a->feature, (size_t)(colon - a->feature)))
                  : NULL;
        if (d == NULL || !cr_layer_joins_points(d)) {
            fprintf(stderr,
                    "crossriver trace: --feature wants LAYER:ID with a joined point layer "
                    "(outfalls, monitoring_sections, gates, …), got '%s'\n",
                    a->feature);
            return 0;
        }
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT reach_id, measure_m, lake_id FROM \"%s_current\" WHERE source_id = ?",
                 d->name);
        sqlite3_stmt *st;
        int ok = 0;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, colon + 1, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                *reach = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
                *measure = sqlite3_column_double(st, 1);
                ok = *reach >= 0;
            } else {
                fprintf(stderr, "crossriver trace: %s is %s\n", a->feature,
                        sqlite3_column_type(st, 0) == SQLITE_NULL && sqlite3_column_text(st, 2)
                            ? "in a lake, not on a reach: trace from a reach of the lake"
                            : "unknown or not joined to a reach (crossriver join)");
            }
            sqlite3_finalize(st);
        }
        json_object_set_new(start, "feature", json_string(a->feature));
        return ok;
    }
    double lon;
    double lat;
    char tail;
    if (sscanf(a->at, "%lf,%lf%c", &lon, &lat, &tail) != 2) {
        fprintf(stderr, "crossriver trace: --at wants LON,LAT, got '%s'\n", a->at);
        return 0;
    }
    cr_join_ref *ref = NULL;
    cr_error err = {0};
    if (cr_join_ref_load(store, &ref, &err) != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        return 0;
    }
    cr_join_point p;
    cr_join_point_compute(ref, lon, lat, 2000, NULL, NULL, &p);
    cr_join_ref_free(ref);
    if (p.reach_id[0] == '\0') {
        fprintf(stderr, "crossriver trace: no reach within 2 km of %s\n", a->at);
        return 0;
    }
    *reach = cr_graph_find_reach(g, p.reach_id);
    *measure = p.measure_m;
    json_object_set_new(start, "at", json_pack("[f, f]", lon, lat));
    json_object_set_new(start, "snapped_m", json_real(round(p.offset_m * 10) / 10));
    return *reach >= 0;
}

/* Reaches carrying the listed gates (joined to them), appended to *out. */
static int gate_reaches(cr_store *store, const cr_graph *g, char *list, int32_t **out, size_t *n)
{
    sqlite3 *db = cr_store_db(store);
    for (char *save = NULL, *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        sqlite3_stmt *st;
        int32_t r = -1;
        if (sqlite3_prepare_v2(db, "SELECT reach_id FROM gates_current WHERE source_id = ?", -1,
                               &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
            }
            sqlite3_finalize(st);
        }
        if (r < 0) {
            fprintf(stderr, "crossriver trace: gate '%s' is unknown or on no reach\n", id);
            return 0;
        }
        *out = cr_xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = r;
    }
    return 1;
}

static void print_table(const json_t *report)
{
    size_t i;
    json_t *v;
    printf("jurisdictions, in the order the trace enters them (notify in this order):\n");
    json_array_foreach(json_object_get(report, "jurisdictions"), i, v)
    {
        printf("  %8.2f km %8.1f h  %-8s %s\n", json_real_value(json_object_get(v, "distance_km")),
               json_real_value(json_object_get(v, "time_h")),
               json_string_value(json_object_get(v, "code")),
               json_string_value(json_object_get(v, "name")));
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(v, "contacts"), k, c)
        {
            const char *phone = json_string_value(json_object_get(c, "duty_phone"));
            printf("                          %s %s\n",
                   json_string_value(json_object_get(c, "agency")), phone ? phone : "");
        }
    }
    printf("features met:\n");
    json_array_foreach(json_object_get(report, "features"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "name"));
        printf("  %8.2f km %8.1f h  %-18s %-16s %s\n",
               json_real_value(json_object_get(v, "distance_km")),
               json_real_value(json_object_get(v, "time_h")),
               json_string_value(json_object_get(v, "layer")),
               json_string_value(json_object_get(v, "id")), name ? name : "");
        json_t *sp = json_object_get(v, "spill");
        if (sp) {
            printf("                          spill: from %.1f h, peak %.4g mg/L at %.1f h, "
                   "passed by %.1f h\n",
                   json_real_value(json_object_get(sp, "leading_edge_h")),
                   json_real_value(json_object_get(sp, "peak_mg_l")),
                   json_real_value(json_object_get(sp, "peak_h")),
                   json_real_value(json_object_get(sp, "trailing_edge_h")));
        }
    }
    json_t *attribution = json_object_get(report, "attribution");
    if (attribution) {
        printf("candidate sources upstream, by jurisdiction:\n");
        json_array_foreach(attribution, i, v)
        {
            printf("  %s %s\n", json_string_value(json_object_get(v, "county_code")),
                   json_string_value(json_object_get(v, "county_name")));
            size_t k;
            json_t *o;
            json_array_foreach(json_object_get(v, "outfalls"), k, o)
            {
                const char *name = json_string_value(json_object_get(o, "name"));
                printf("    %8.2f km %8.1f h  %-16s %s\n",
                       json_real_value(json_object_get(o, "distance_km")),
                       json_real_value(json_object_get(o, "time_h")),
                       json_string_value(json_object_get(o, "id")), name ? name : "");
            }
        }
    }
    printf("reaches: %zu\n", json_array_size(json_object_get(report, "reaches")));
    json_array_foreach(json_object_get(report, "reaches"), i, v)
    {
        printf("  %8.2f km %8.1f h  %-16s%s%s\n",
               json_real_value(json_object_get(v, "distance_km")),
               json_real_value(json_object_get(v, "time_h")),
               json_string_value(json_object_get(v, "reach_id")),
               json_is_true(json_object_get(v, "partial")) ? " (partial)" : "",
               json_is_true(json_object_get(v, "bidirectional")) ? " (both ways)" : "");
    }
}

/* GeoJSON: the covered part of each reach (with its distance and time) and the features. */
static json_t *to_geojson(cr_store *store, const cr_graph *g, const json_t *report)
{
    sqlite3 *db = cr_store_db(store);
    json_t *features = json_array();
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "SELECT AsGeoJSON(ST_Line_Substring(geom, ?, ?), 7) FROM reaches"
                       " WHERE fid = ?",
                       -1, &st, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(report, "reaches"), i, v)
    {
        int32_t r = cr_graph_find_reach(g, json_string_value(json_object_get(v, "reach_id")));
        double len = g->length_m[r] > 0 ? g->length_m[r] : 1;
        double f0 = json_real_value(json_object_get(v, "from_m")) / len;
        double f1 = json_real_value(json_object_get(v, "to_m")) / len;
        sqlite3_reset(st);
        sqlite3_bind_double(st, 1, fmin(fmax(f0, 0), 1));
        sqlite3_bind_double(st, 2, fmin(fmax(f1, 0), 1));
        sqlite3_bind_int64(st, 3, g->reach_fid[r]);
        json_t *geom = NULL;
        if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            geom = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        }
        json_t *props = json_deep_copy(v);
        json_object_set_new(props, "kind", json_string("reach"));
        json_array_append_new(features,
                              json_pack("{s:s, s:o, s:o}", "type", "Feature", "properties", props,
                                        "geometry", geom ? geom : json_null()));
    }
    sqlite3_finalize(st);
    json_array_foreach(json_object_get(report, "features"), i, v)
    {
        json_t *props = json_deep_copy(v);
        json_object_set_new(props, "kind", json_string("feature"));
        json_array_append_new(features, json_pack("{s:s, s:o, s:n}", "type", "Feature",
                                                  "properties", props, "geometry"));
    }
    return json_pack("{s:s, s:o, s:O, s:O}", "type", "FeatureCollection", "features", features,
                     "jurisdictions", json_object_get(report, "jurisdictions"), "start",
                     json_object_get(report, "start"));
}

static int compare_stops(const void *a, const void *b)
{
    const cr_trace_stop *x = a;
    const cr_trace_stop *y = b;
    if (x->reach != y->reach) {
        return x->reach < y->reach ? -1 : 1;
    }
    return x->m < y->m ? -1 : x->m > y->m;
}

static void add_stop(cr_trace_stop **stops, size_t *n, int32_t reach, double m)
{
    *stops = cr_xrealloc(*stops, (*n + 1) * sizeof **stops);
    (*stops)[(*n)++] = (cr_trace_stop){reach, m};
}

/* Stop points: the joined cross-boundary sections, or the edges of every county segment that
 * is not the start's county (the first change of jurisdiction). A stop at the start itself is
 * left out, so a trace from a section or a line still leaves it. */
static int collect_stops(cr_store *store, const cr_graph *g, const char *what, int32_t start,
                         double start_m, cr_trace_stop **stops, size_t *n)
{
    sqlite3 *db = cr_store_db(store);
    sqlite3_stmt *st;
    int sections = strcmp(what, "section") == 0;
    const char *sql = sections ? "SELECT reach_id, measure_m FROM monitoring_sections_current"
                                 " WHERE section_kind = 'cross_boundary' AND reach_id IS NOT NULL"
                               : "SELECT reach_id, segments FROM reach_jurisdictions";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "crossriver trace: --stop-at %s needs %s (crossriver join): %s\n", what,
                sections ? "joined sections" : "reach jurisdictions", sqlite3_errmsg(db));
        return 0;
    }
    char start_county[32] = "";
    json_t **segs = cr_xcalloc((size_t)g->n_reaches + 1, sizeof *segs);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int32_t r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
        if (r < 0) {
            continue;
        }
        if (sections) {
            double m = sqlite3_column_double(st, 1);
            if (!(r == start && fabs(m - start_m) < 1.0)) {
                add_stop(stops, n, r, m);
            }
        } else {
            segs[r] = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        }
    }
    sqlite3_finalize(st);
    if (!sections) {
        size_t i;
        json_t *seg;
        json_array_foreach(segs[start], i, seg)
        {
            double a = json_number_value(json_array_get(seg, 1));
            double b = json_number_value(json_array_get(seg, 2));
            if (start_m >= a && start_m <= b) {
                snprintf(start_county, sizeof start_county, "%s",
                         json_string_value(json_array_get(seg, 0)));
            }
        }
        for (int32_t r = 0; r < g->n_reaches; r++) {
            json_array_foreach(segs[r], i, seg)
            {
                if (strcmp(json_string_value(json_array_get(seg, 0)), start_county) == 0) {
                    continue;
                }
                for (int e = 1; e <= 2; e++) {
                    double m = json_number_value(json_array_get(seg, (size_t)e));
                    if (!(r == start && fabs(m - start_m) < 1.0)) {
                        add_stop(stops, n, r, m);
                    }
                }
            }
            json_decref(segs[r]);
        }
    }
    free(segs);
    if (*n > 1) {
        qsort(*stops, *n, sizeof **stops, compare_stops);
    }
    return 1;
}

int cr_cmd_trace(int argc, char **argv)
{
    cr_cli_common common;
    cr_cli_common_init(&common);
    trace_args a = {0};
    a.direction = -1;
    a.format = "json";
    if (!parse_args(argc, argv, &common, &a)) {
        fprintf(stderr, "(crossriver trace --help for usage)\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_FAILURE;
    cr_error err = {0};
    cr_graph *g = NULL;
    json_t *start = json_object();
    int32_t *closed = NULL;
    int32_t *reversed = NULL;
    size_t n_closed = 0;
    size_t n_reversed = 0;
    int32_t reach = -1;
    double measure = 0;
    if (cr_graph_load(store, &g, &err) != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        goto done;
    }
    if (!find_start(store, g, &a, &reach, &measure, start) ||
        (a.gates[0] && !gate_reaches(store, g, a.gates[0], &closed, &n_closed)) ||
        (a.gates[1] && !gate_reaches(store, g, a.gates[1], &reversed, &n_reversed))) {
        code = CR_EXIT_USAGE;
        goto done;
    }
    if (a.reach && a.direction == CR_TRACE_UP) {
        measure = g->length_m[reach];
    }
    cr_trace_options opt = {(cr_trace_direction)a.direction,
                            a.main_only,
                            a.max_km,
                            a.max_hours,
                            a.velocity,
                            a.dispersion,
                            closed,
                            n_closed,
                            reversed,
                            n_reversed,
                            NULL,
                            0};
    cr_trace_stop *stops = NULL;
    size_t n_stops = 0;
    if (a.stop_at && !collect_stops(store, g, a.stop_at, reach, measure, &stops, &n_stops)) {
        code = CR_EXIT_USAGE;
        goto done;
    }
    opt.stops = stops;
    opt.n_stops = n_stops;
    cr_trace_result res;
    cr_status trc = cr_trace_run(g, reach, measure, &opt, &res, &err);
    free(stops);
    if (trc != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        goto done;
    }
    json_t *report = cr_trace_report(store, g, &res, 1);
    json_object_set_new(start, "reach_id", json_string(g->reach_id[reach]));
    json_object_set_new(start, "measure_m", json_real(round(measure * 10) / 10));
    json_object_set_new(report, "start", json_incref(start));
    json_object_set_new(report, "direction",
                        json_string(a.direction == CR_TRACE_DOWN ? "down" : "up"));
    json_object_set_new(report, "mode", json_string(a.main_only ? "main" : "all"));
    json_object_set_new(report, "stop_at", a.stop_at ? json_string(a.stop_at) : json_null());
    json_object_set_new(report, "max_km", a.max_km > 0 ? json_real(a.max_km) : json_null());
    json_object_set_new(report, "max_hours",
                        a.max_hours > 0 ? json_real(a.max_hours) : json_null());
    if (a.spill_kg > 0) {
        cr_trace_add_spill(report, g, &res, &opt, a.spill_kg, a.spill_hours);
        json_object_set_new(report, "spill",
                            json_pack("{s:f, s:f, s:f}", "mass_kg", a.spill_kg, "release_h",
                                      a.spill_hours, "dispersion_m2s", a.dispersion));
    }
    if (a.direction == CR_TRACE_UP) {
        /* upstream: the candidate sources, for a joint investigation (追踪溯源) */
        json_object_set_new(report, "attribution", cr_trace_attribution(store, report));
    }
    if (strcmp(a.format, "table") == 0) {
        print_table(report);
    } else {
        json_t *out =
            strcmp(a.format, "geojson") == 0 ? to_geojson(store, g, report) : json_incref(report);
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        printf("%s\n", s);
        free(s);
        json_decref(out);
    }
    json_decref(report);
    cr_trace_result_cleanup(&res);
    code = CR_EXIT_OK;
done:
    free(closed);
    free(reversed);
    json_decref(start);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
