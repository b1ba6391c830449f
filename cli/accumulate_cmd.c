/* SPDX-License-Identifier: MIT */
/* crossriver accumulate: a quantity summed over everything upstream of every reach, stored for
 * tiles and traces (docs/network.md). */
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
            "usage: crossriver accumulate --field F [--split main|fraction:FIELD] [--reach ID]\n"
            "                             [--store PATH] [--json]\n\n"
            "Sum F over everything upstream of every reach, the reach itself included: a reach\n"
            "field (discharge_m3s, an area) or LAYER.FIELD summed over the point features\n"
            "joined to each reach (outfalls.discharge_m3d, a pollutant load). At a split the\n"
            "upstream total goes to the main path (not a minor divergence; the mainstem of the\n"
            "largest inflow, else the highest order), or with fraction:FIELD by each leaving\n"
            "reach's share in FIELD (equal shares where a reach has none). One-way cycles are\n"
            "cut where they close. The totals are stored (reach_accumulations): tiles show them\n"
            "as attribute accumulated.F where a layer lists it, traces report them. --reach\n"
            "prints one reach's total; otherwise the five largest.\n");
}

static void print(const cr_graph *g, const double *v, const char *field, const char *reach,
                  const cr_accumulate_report *rep, int json)
{
    json_t *top = json_array();
    int32_t pick = reach ? cr_graph_find_reach(g, reach) : -1;
    int32_t best[5] = {-1, -1, -1, -1, -1};
    for (int32_t r = 0; r < g->n_reaches && pick < 0; r++) {
        for (int k = 0; k < 5; k++) {
            if (best[k] < 0 || v[r] > v[best[k]]) {
                memmove(best + k + 1, best + k, (size_t)(4 - k) * sizeof *best);
                best[k] = r;
                break;
            }
        }
    }
    for (int k = 0; k < 5; k++) {
        int32_t r = pick >= 0 ? (k == 0 ? pick : -1) : best[k];
        if (r >= 0) {
            json_array_append_new(
                top, json_pack("{s:s, s:f}", "reach_id", g->reach_id[r], "total", v[r]));
        }
    }
    if (json) {
        json_t *o =
            json_pack("{s:s, s:I, s:I, s:f, s:I, s:f, s:o}", "field", field, "reaches",
                      (json_int_t)rep->reaches, "sources", (json_int_t)rep->sources, "at_outlets",
                      rep->at_outlets, "in_cycles", (json_int_t)rep->in_cycles, "seconds",
                      rep->seconds, "reaches_top", top);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
        return;
    }
    printf("%s accumulated over %lld reaches from %lld values: %.6g leaves the network; %lld "
           "reaches on one-way cycles (%.2f s)\n",
           field, (long long)rep->reaches, (long long)rep->sources, rep->at_outlets,
           (long long)rep->in_cycles, rep->seconds);
    size_t i;
    json_t *t;
    json_array_foreach(top, i, t)
    {
        printf("  %-20s %.6g\n", json_string_value(json_object_get(t, "reach_id")),
               json_real_value(json_object_get(t, "total")));
    }
    json_decref(top);
}

int cr_cmd_accumulate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"field", required_argument, NULL, 'f'},
        {"split", required_argument, NULL, 's'},
        {"reach", required_argument, NULL, 'r'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    cr_accumulate_options opt = {0};
    const char *reach = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, c, optarg)) {
            continue;
        }
        if (c == 'f') {
            opt.field = optarg;
        } else if (c == 's' && strcmp(optarg, "main") == 0) {
            opt.split = CR_SPLIT_MAIN;
        } else if (c == 's' && strncmp(optarg, "fraction:", 9) == 0 && optarg[9]) {
            opt.split = CR_SPLIT_FRACTION;
            opt.fraction_field = optarg + 9;
        } else if (c == 's') {
            fprintf(stderr,
                    "crossriver accumulate: --split is main or fraction:FIELD, not "
                    "'%s'\n",
                    optarg);
            return CR_EXIT_USAGE;
        } else if (c == 'r') {
            reach = optarg;
        } else if (c == 'h') {
            help(stdout);
            return CR_EXIT_OK;
        } else {
            help(stderr);
            return CR_EXIT_USAGE;
        }
    }
    if (opt.field == NULL) {
        fprintf(stderr, "crossriver accumulate: --field is required\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    cr_graph *g = NULL;
    cr_error err = {0};
    double *v = NULL;
    cr_accumulate_report rep;
    int code = CR_EXIT_OK;
    if (cr_graph_load(store, &g, &err) != CR_OK ||
        cr_network_accumulate(store, g, &opt, &v, &rep, &err) != CR_OK) {
        fprintf(stderr, "crossriver accumulate: %s\n", err.msg);
        code = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (reach && cr_graph_find_reach(g, reach) < 0) {
        fprintf(stderr, "crossriver accumulate: no reach %s in the network\n", reach);
        code = CR_EXIT_USAGE;
    } else if (!common.quiet) {
        print(g, v, opt.field, reach, &rep, common.json);
    }
    free(v);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
