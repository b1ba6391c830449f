/* SPDX-License-Identifier: MIT */
/* crossriver trace: upstream/downstream from a reach, a feature or a point; who to notify. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "network/network.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver trace (--reach ID | --feature LAYER:ID | --at LON,LAT)\n"
                 "                        --direction up|down [--mode all|main] [--max-km N]\n"
                 "                        [--max-hours H] [--velocity M_PER_S]\n"
                 "                        [--gates closed=ID,…] [--gates reversed=ID,…]\n"
                 "                        [--gates-at TIME]\n"
                 "                        [--spill-kg M [--spill-hours T] [--dispersion D]]\n"
                 "                        [--stop-at section|boundary] [--exclude-start]\n"
                 "                        [--origin start|inlet|outlet]\n"
                 "                        [--format json|geojson|table] [--store PATH]\n\n"
                 "Follow the network downstream (where does it go, who must know, when does it\n"
                 "arrive) or upstream (where could it come from). Every branch (all) or the\n"
                 "mainstem only (main); bounded by network distance and/or travel time. Reaches\n"
                 "with flow 'both' are followed both ways; a gate scenario closes or reverses the\n"
                 "reaches its gates sit on; --gates-at TIME uses the gate states in force then\n"
                 "by the operations log (layer gate_operations; --gates names override it).\n"
                 "Output: the reaches with distance and time, the\n"
                 "features met, and the jurisdictions entered in order with their contacts.\n"
                 "--spill-kg adds, at each section and intake downstream, the leading edge, peak\n"
                 "time and concentration (mg/L) and trailing edge of M kg released over T hours\n"
                 "(1-D advection-dispersion; see docs/tracing.md).\n"
                 "--stop-at section stops at the first cross-boundary monitoring section on each\n"
                 "path; --stop-at boundary at the first change of jurisdiction.\n"
                 "--max-km 0 / --max-hours 0 are bounds: the start reach, partly. Distances are\n"
                 "from the start (a reach: its outlet upstream, its inlet downstream); --origin\n"
                 "inlet|outlet measures them, and --max-km, from that end of a --reach instead.\n"
                 "--exclude-start leaves the start reach out (only what lies beyond).\n");
}

/* The options, as the request's parameters (their HTTP names), for cr_api_trace_parse. */
static int parse_args(int argc, char **argv, cr_cli_common *common, json_t *params)
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
        {"exclude-start", no_argument, NULL, 'X'},
        {"origin", required_argument, NULL, 'O'},
        {"gates-at", required_argument, NULL, 'G'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int opt;
        const char *param;
    } PARAM[] = {{'r', "reach"},   {'f', "feature"},    {'a', "at"},        {'d', "direction"},
                 {'m', "mode"},    {'k', "max_km"},     {'H', "max_hours"}, {'V', "velocity"},
                 {'F', "format"},  {'D', "dispersion"}, {'S', "spill_kg"},  {'T', "spill_hours"},
                 {'A', "stop_at"}, {'O', "origin"},     {'G', "gates_at"}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        const char *param = NULL;
        for (size_t i = 0; i < sizeof PARAM / sizeof PARAM[0]; i++) {
            param = PARAM[i].opt == opt ? PARAM[i].param : param;
        }
        if (param) {
            json_object_set_new(params, param, json_string(optarg));
        } else if (opt == 'X') {
            json_object_set_new(params, "exclude_start", json_string("1"));
        } else if (opt == 'g' && strncmp(optarg, "closed=", 7) == 0) {
            json_object_set_new(params, "gates_closed", json_string(optarg + 7));
        } else if (opt == 'g' && strncmp(optarg, "reversed=", 9) == 0) {
            json_object_set_new(params, "gates_reversed", json_string(optarg + 9));
        } else if (opt == 'g') {
            fprintf(stderr, "crossriver trace: --gates wants closed=ID,… or reversed=ID,…\n");
            return 0;
        } else if (opt == 'h') {
            help(stdout);
            exit(CR_EXIT_OK);
        } else {
            return 0;
        }
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
    json_t *params = json_object();
    cr_trace_request req;
    cr_error perr = {0};
    if (!parse_args(argc, argv, &common, params)) {
        json_decref(params);
        fprintf(stderr, "(crossriver trace --help for usage)\n");
        return CR_EXIT_USAGE;
    }
    if (cr_api_trace_parse(params, 1, &req, &perr) != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n(crossriver trace --help for usage)\n", perr.msg);
        json_decref(params);
        return CR_EXIT_USAGE;
    }
    req.access = cr_access_all(); /* the operator of the store */
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        json_decref(params);
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    cr_error err = {0};
    cr_graph *g = NULL;
    cr_reach_index *ref = NULL;
    json_t *out = NULL;
    cr_status rc = cr_graph_load(store, &g, &err);
    if (rc == CR_OK && req.at) {
        rc = cr_reach_index_load(store, &ref, &err);
    }
    if (rc == CR_OK) {
        cr_trace_context cx = {store, g, NULL, ref};
        rc = cr_api_trace(&cx, &req, &out, &err);
    }
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver trace: %s\n", err.msg);
        code = rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (req.table) {
        print_table(out);
    } else {
        cr_cli_print_json(out);
    }
    json_decref(out);
    json_decref(params); /* the request's strings were borrowed from it */
    cr_reach_index_free(ref);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
