/* SPDX-License-Identifier: MIT */
/* crossriver trace: upstream/downstream from a reach, a feature or a point; who to notify. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
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

/* A number of the request, within the bounds the HTTP API uses too. */
static int parse_number(const char *param, const char *option, const char *s, double *out)
{
    cr_error err = {0};
    if (cr_api_trace_number(param, option, s, out, &err) != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        return 0;
    }
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
            if (!parse_number("max_km", "--max-km", optarg, &a->max_km)) {
                return 0;
            }
            break;
        case 'H':
            if (!parse_number("max_hours", "--max-hours", optarg, &a->max_hours)) {
                return 0;
            }
            break;
        case 'V':
            if (!parse_number("velocity", "--velocity", optarg, &a->velocity)) {
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
            if (!parse_number("dispersion", "--dispersion", optarg, &a->dispersion)) {
                return 0;
            }
            break;
        case 'S':
            if (!parse_number("spill_kg", "--spill-kg", optarg, &a->spill_kg)) {
                return 0;
            }
            break;
        case 'T':
            if (!parse_number("spill_hours", "--spill-hours", optarg, &a->spill_hours)) {
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
    cr_trace_request req = {0};
    req.reach = a.reach;
    req.feature = a.feature;
    if (a.at) {
        if (!cr_api_parse_point(a.at, &req.lon, &req.lat)) {
            fprintf(stderr, "crossriver trace: --at wants LON,LAT in degrees, got '%s'\n", a.at);
            return CR_EXIT_USAGE;
        }
        req.at = 1;
    }
    req.direction = (cr_trace_direction)a.direction;
    req.main_only = a.main_only;
    req.max_km = a.max_km;
    req.max_hours = a.max_hours;
    req.velocity_ms = a.velocity;
    req.dispersion_m2s = a.dispersion;
    req.gates_closed = a.gates[0];
    req.gates_reversed = a.gates[1];
    req.stop_at = a.stop_at;
    req.spill_kg = a.spill_kg;
    req.spill_hours = a.spill_hours;
    req.geojson = strcmp(a.format, "geojson") == 0;
    req.access = cr_access_all(); /* the operator of the store */
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    cr_error err = {0};
    cr_graph *g = NULL;
    cr_join_ref *ref = NULL;
    json_t *out = NULL;
    cr_status rc = cr_graph_load(store, &g, &err);
    if (rc == CR_OK && req.at) {
        rc = cr_join_ref_load(store, &ref, &err);
    }
    if (rc == CR_OK) {
        rc = cr_api_trace(store, g, NULL, ref, &req, &out, &err);
    }
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        code = rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (strcmp(a.format, "table") == 0) {
        print_table(out);
    } else {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        printf("%s\n", s);
        free(s);
    }
    json_decref(out);
    cr_join_ref_free(ref);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
