/* SPDX-License-Identifier: MIT */
/* crossriver network: build the river network topology and print its validation report. */
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
            "usage: crossriver network [--topology geometry|attributes] [--snap M] [--dangle M]\n"
            "                          [--store PATH] [--json]\n"
            "       crossriver network --load [--store PATH] [--json]\n\n"
            "Build the river network from the current reaches: reach ends within --snap metres\n"
            "(default: the reaches layer's snap_tolerance_m, else 5) become one node; ends left\n"
            "alone inside a lake join the lake's node; gates joined to a reach are placed on it.\n"
            "Stores from/to nodes, length, Strahler order, upstream length, mainstem and\n"
            "component on each reach, the nodes in network_nodes, and the reach index's input\n"
            "for joins and servers (reach_index_saved). Reports disconnected\n"
            "components, dangling ends within --dangle metres (default 50) of another reach,\n"
            "cycles among one-way reaches, zero-length and duplicate reaches.\n"
            "--topology attributes takes the nodes from the reaches' own from/to node IDs or\n"
            "NEXT_DOWN (mapped with ingest --field) instead of snapping, and reports where the\n"
            "geometry disagrees (ends joined that lie apart, ends touching but not joined); the\n"
            "choice is kept and used by later rebuilds (default: the last one, else geometry).\n"
            "--load reads the stored network into memory as the tracer and server do (CSR\n"
            "arrays), checks its invariants and reports the time; nothing is rebuilt.\n"
            "Exit codes: 0 built (issues are reported, not fatal), 1 failure, 2 usage.\n");
}

static void print_report(const cr_network_report *r, int json)
{
    if (json) {
        json_t *issues = json_array();
        for (size_t i = 0; i < r->n_issues; i++) {
            json_array_append_new(issues, json_pack("{s:s, s:s}", "kind", r->issues[i].kind,
                                                    "detail", r->issues[i].detail));
        }
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "reaches",
                              (json_int_t)r->reaches, "nodes", (json_int_t)r->nodes, "components",
                              (json_int_t)r->components, "lake_nodes", (json_int_t)r->lakes,
                              "gates", (json_int_t)r->gates, "max_strahler",
                              (json_int_t)r->max_strahler, "seconds", r->seconds, "issues", issues);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    printf("network: %lld reaches, %lld nodes (%lld in lakes), %lld component%s, %lld gates "
           "placed, highest Strahler order %lld (%.2f s)\n",
           (long long)r->reaches, (long long)r->nodes, (long long)r->lakes,
           (long long)r->components, r->components == 1 ? "" : "s", (long long)r->gates,
           (long long)r->max_strahler, r->seconds);
    if (r->n_issues == 0) {
        printf("validation: no issues\n");
    }
    for (size_t i = 0; i < r->n_issues; i++) {
        printf("  %-12s %s\n", r->issues[i].kind, r->issues[i].detail);
    }
}

/* Load the CSR graph, check it, report the time. */
static int load_graph(cr_store *store, int json)
{
    cr_error err = {0};
    cr_graph *g = NULL;
    double t0 = cr_monotonic_s();
    if (cr_graph_load(store, &g, &err) != CR_OK) {
        fprintf(stderr, "crossriver network: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    double seconds = cr_monotonic_s() - t0;
    int ok = cr_graph_check(g);
    if (json) {
        printf("{\"reaches\": %d, \"nodes\": %d, \"lakes\": %d, \"load_seconds\": %.3f, "
               "\"consistent\": %s}\n",
               g->n_reaches, g->n_nodes, g->n_lakes, seconds, ok ? "true" : "false");
    } else {
        printf("graph: %d reaches, %d nodes, %d lakes loaded in %.3f s; CSR %s\n", g->n_reaches,
               g->n_nodes, g->n_lakes, seconds, ok ? "consistent" : "INCONSISTENT");
    }
    cr_graph_free(g);
    return ok ? CR_EXIT_OK : CR_EXIT_FAILURE;
}

int cr_cmd_network(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"snap", required_argument, NULL, 's'},
        {"dangle", required_argument, NULL, 'd'},
        {"load", no_argument, NULL, 'L'},
        {"topology", required_argument, NULL, 'T'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    cr_network_options opt = {-1, 50.0, 0};
    int load_only = 0;
    const char *topology = NULL;
    int opt_c;
    optind = 1;
    while ((opt_c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt_c, optarg)) {
            continue;
        }
        char *end = NULL;
        if (opt_c == 's' || opt_c == 'd') {
            double v = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || v < 0 || v > 10000) {
                fprintf(stderr, "crossriver network: --%s wants metres (0–10000), got '%s'\n",
                        opt_c == 's' ? "snap" : "dangle", optarg);
                return CR_EXIT_USAGE;
            }
            *(opt_c == 's' ? &opt.snap_tolerance_m : &opt.dangle_check_m) = v;
        } else if (opt_c == 'L') {
            load_only = 1;
        } else if (opt_c == 'T') {
            if (strcmp(optarg, "attributes") != 0 && strcmp(optarg, "geometry") != 0) {
                fprintf(stderr,
                        "crossriver network: --topology is geometry or attributes, not "
                        "'%s'\n",
                        optarg);
                return CR_EXIT_USAGE;
            }
            topology = optarg;
        } else if (opt_c == 'h') {
            help(stdout);
            return CR_EXIT_OK;
        } else {
            help(stderr);
            return CR_EXIT_USAGE;
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    if (load_only) {
        int code = load_graph(store, common.json);
        cr_store_close(store);
        cr_layer_set_free(set);
        return code;
    }
    cr_network_options defaults;
    cr_network_options_for(store, &defaults);
    opt.snap_tolerance_m =
        opt.snap_tolerance_m < 0 ? defaults.snap_tolerance_m : opt.snap_tolerance_m;
    opt.from_attributes = topology ? strcmp(topology, "attributes") == 0 : defaults.from_attributes;
    cr_network_report rep;
    cr_error err = {0};
    int code = CR_EXIT_OK;
    if (cr_network_build(store, &opt, &rep, &err) != CR_OK) {
        fprintf(stderr, "crossriver network: %s\n", err.msg);
        code = CR_EXIT_FAILURE;
    } else if (!common.quiet) {
        print_report(&rep, common.json);
    }
    cr_network_report_cleanup(&rep);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
