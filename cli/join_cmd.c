/* SPDX-License-Identifier: MIT */
/* crossriver join: (re)join features to reaches, admin units, zones and boundaries. */
#include "cli_common.h"
#include "commands.h"
#include "etl/join.h"
#include "exit_codes.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver join [--layer L]... [--store PATH] [--json]\n\n"
            "Join every current feature of the joined layers (default: all of them) to the\n"
            "nearest reach within the layer's tolerance (measure, offset, bank), the county and\n"
            "town containing it, the strictest protection zone, and the nearest jurisdiction\n"
            "boundary; protection zones get the reaches they cover and the counties they span.\n"
            "Results are stored on the rows; suspicious joins are flagged in join_flags.\n"
            "Runs automatically after `crossriver ingest`.\n");
}

static json_t *stats_json(const char *layer, const cr_join_stats *s)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f}", "layer", layer, "features",
                     (json_int_t)s->features, "matched", (json_int_t)s->matched, "unmatched",
                     (json_int_t)s->unmatched, "flagged", (json_int_t)s->flagged, "outside",
                     (json_int_t)s->outside, "seconds", s->seconds);
}

static int has_joins(const cr_layer_def *d)
{
    return cr_layer_joins_points(d) || cr_layer_joins_coverage(d) || cr_layer_joins_segments(d);
}

/* 1 when every --layer names a layer with joins; else 0, having said which does not. */
static int known_layers(const cr_layer_set *set, const char *const *layers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cr_layer_def *d = cr_layer_set_find(set, layers[i]);
        if (d == NULL || !has_joins(d)) {
            fprintf(stderr, "crossriver join: layer '%s' %s\n", layers[i],
                    d ? "has no joins" : "is unknown");
            return 0;
        }
    }
    return 1;
}

int cr_cmd_join(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *layers[32];
    size_t n_layers = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 'l' && n_layers < 32) {
            layers[n_layers++] = optarg;
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    cr_error err = {0};
    cr_join_ref *ref = NULL;
    json_t *out = json_array();
    if (!known_layers(set, layers, n_layers)) {
        code = CR_EXIT_USAGE;
        goto done;
    }
    if (cr_join_ref_load(store, &ref, &err) != CR_OK) {
        fprintf(stderr, "crossriver join: %s\n", err.msg);
        code = CR_EXIT_FAILURE;
        goto done;
    }
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        int wanted = n_layers == 0;
        for (size_t k = 0; k < n_layers; k++) {
            wanted |= strcmp(layers[k], d->name) == 0;
        }
        if (!wanted || !has_joins(d)) {
            continue;
        }
        cr_join_stats s;
        if (cr_join_layer(store, ref, d, &s, &err) != CR_OK) {
            fprintf(stderr, "crossriver join: %s\n", err.msg);
            code = CR_EXIT_FAILURE;
            break;
        }
        json_array_append_new(out, stats_json(d->name, &s));
        if (!common.json && !common.quiet) {
            printf("%-20s %7lld features: %lld on a reach or in a lake, %lld unmatched, %lld "
                   "flagged for review, %lld outside the counties (%.2f s)\n",
                   d->name, (long long)s.features, (long long)s.matched, (long long)s.unmatched,
                   (long long)s.flagged, (long long)s.outside, s.seconds);
        }
    }
    if (common.json) {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    }
done:
    json_decref(out);
    cr_join_ref_free(ref);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
