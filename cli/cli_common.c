/* SPDX-License-Identifier: MIT */
/* Shared command-line plumbing: common options, store opening, terminal progress. */
#include "cli_common.h"

#include "api/api.h"
#include "exit_codes.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cr_cli_common_init(cr_cli_common *c)
{
    c->store_path = "crossriver.sqlite";
    c->layers_dir = cr_layers_default_dir();
    c->json = 0;
    c->quiet = 0;
}

int cr_cli_common_option(cr_cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case 1001:
        c->store_path = arg;
        return 1;
    case 1002:
        c->json = 1;
        return 1;
    case 1003:
        c->layers_dir = arg;
        return 1;
    case 1004:
        c->quiet = 1;
        return 1;
    case 'v':
        cr_log_set_level(cr_log_get_level() > CR_LOG_DEBUG ? cr_log_get_level() - 1 : CR_LOG_DEBUG);
        return 1;
    default:
        return 0;
    }
}

int cr_cli_open(const cr_cli_common *c, cr_layer_set **set, cr_store **store)
{
    cr_error err = {0};
    if (cr_layer_set_load(c->layers_dir, set, &err) != CR_OK) {
        fprintf(stderr, "crossriver: %s\n", err.msg);
        return 1;
    }
    if (cr_store_open(c->store_path, *set, store, &err) != CR_OK) {
        fprintf(stderr, "crossriver: %s\n", err.msg);
        cr_layer_set_free(*set);
        *set = NULL;
        return 1;
    }
    return 0;
}

void cr_cli_progress(void *user, uint64_t done, uint64_t total)
{
    cr_cli_progress_state *p = user;
    double now = cr_monotonic_s();
    if (!isatty(STDERR_FILENO) || (now - p->last < 0.2 && done != total)) {
        return;
    }
    p->last = now;
    double rate = now > p->t0 ? (double)done / (now - p->t0) : 0;
    if (total > 0) {
        fprintf(stderr, "\r\033[K%s: %llu / %llu rows (%.0f%%), %.0f rows/s", p->label,
                (unsigned long long)done, (unsigned long long)total,
                100.0 * (double)done / (double)total, rate);
    } else {
        fprintf(stderr, "\r\033[K%s: %llu rows, %.0f rows/s", p->label, (unsigned long long)done,
                rate);
    }
    p->drawn = 1;
}

void cr_cli_progress_end(cr_cli_progress_state *p)
{
    if (p->drawn) {
        fprintf(stderr, "\r\033[K");
        p->drawn = 0;
    }
}

int cr_cli_number(const char *cmd, const char *option, const char *text, double lo, double hi,
                  double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "crossriver %s: %s wants a number in [%g, %g], got '%s'\n", cmd, option, lo,
                hi, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cr_cli_help_exit(int opt, void (*help)(FILE *))
{
    help(opt == 'h' ? stdout : stderr);
    return opt == 'h' ? CR_EXIT_OK : CR_EXIT_USAGE;
}

json_t *cr_cli_load_config(const char *cmd, const char *path)
{
    const char *p = path ? path : "crossriver.json";
    FILE *probe = fopen(p, "r");
    if (probe == NULL) {
        if (path) {
            fprintf(stderr, "crossriver %s: --config %s: cannot open\n", cmd, path);
            return NULL;
        }
        return json_object();
    }
    fclose(probe);
    json_t *root = NULL;
    cr_error err = {0};
    if (cr_api_config_load(p, &root, &err) != CR_OK) {
        fprintf(stderr, "crossriver %s: %s\n", cmd, err.msg);
    }
    return root;
}

void cr_cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    printf("%s\n", s ? s : "null");
    free(s);
}

int cr_cli_write_output(const char *cmd, const char *path, const char *text, size_t len)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        fwrite(text, 1, len, stdout);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(text, 1, len, f) != len) {
        fprintf(stderr, "crossriver %s: cannot write %s\n", cmd, path);
        if (f) {
            fclose(f);
        }
        return 0;
    }
    return fclose(f) == 0;
}

int cr_cli_zoom_range(const char *cmd, const char *text, int *zmin, int *zmax)
{
    char tail;
    if (sscanf(text, "%d-%d%c", zmin, zmax, &tail) != 2 || *zmin < 0 || *zmax < *zmin ||
        *zmax > 22) {
        fprintf(stderr, "crossriver %s: --zoom is MIN-MAX within 0-22, not '%s'\n", cmd, text);
        return 0;
    }
    return 1;
}

int cr_cli_bbox(const char *cmd, const char *text, double b[4])
{
    char tail;
    if (sscanf(text, "%lf,%lf,%lf,%lf%c", &b[0], &b[1], &b[2], &b[3], &tail) != 4 ||
        !(b[0] < b[2] && b[1] < b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90)) {
        fprintf(stderr, "crossriver %s: --bbox is W,S,E,N in degrees, not '%s'\n", cmd, text);
        return 0;
    }
    return 1;
}

int cr_cli_area_option(const char *cmd, int opt, const char *arg, cr_cli_area *a)
{
    if (opt == 'z') {
        return cr_cli_zoom_range(cmd, arg, &a->zmin, &a->zmax) ? 1 : -1;
    }
    if (opt == 'b') {
        a->have_bbox = 1;
        return cr_cli_bbox(cmd, arg, a->b) ? 1 : -1;
    }
    return 0;
}

void cr_cli_area_bounds(cr_cli_area *a, const json_t *tilejson)
{
    for (int i = 0; i < 4 && !a->have_bbox; i++) {
        a->b[i] = json_real_value(json_array_get(json_object_get(tilejson, "bounds"), (size_t)i));
    }
}

void cr_cli_font(char *arg, const char **path, int *face)
{
    char *colon = strrchr(arg, ':');
    *face = 0;
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        *colon = '\0';
        *face = atoi(colon + 1);
    }
    *path = arg;
}
