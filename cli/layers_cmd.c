/* SPDX-License-Identifier: MIT */
/* crossriver layers: what each layer holds and which source headers map to its fields. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"

#include <getopt.h>
#include <stdlib.h>

int cr_cmd_layers(int argc, char **argv)
{
    static const struct option longopts[] = {CR_CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    cr_cli_common common;
    cr_cli_common_init(&common);
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        printf("usage: crossriver layers [--json] [--layers DIR]\n\n"
               "List the layer definitions with their fields, types and header aliases.\n");
        return opt == 'h' ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_error err = {0};
    if (cr_layer_set_load(common.layers_dir, &set, &err) != CR_OK) {
        fprintf(stderr, "crossriver layers: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        if (common.json) {
            json_array_append(arr, d->json);
            continue;
        }
        printf("%s — %s (%s, %s, id: %s)\n", d->name, d->title, cr_geom_kind_name(d->geom),
               d->restricted ? "restricted" : "public", d->id_field);
        for (size_t f = 0; f < d->n_fields; f++) {
            const cr_field_def *fd = &d->fields[f];
            printf("  %-20s %-8s%s%s  ", fd->name, cr_field_type_name(fd->type),
                   fd->required ? " required" : "", fd->restricted ? " restricted" : "");
            for (size_t k = 0; k < fd->n_aliases && k < 5; k++) {
                printf("%s%s", k ? ", " : "", fd->aliases[k]);
            }
            printf("\n");
        }
    }
    if (common.json) {
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    }
    json_decref(arr);
    cr_layer_set_free(set);
    return CR_EXIT_OK;
}
