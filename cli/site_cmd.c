/* SPDX-License-Identifier: MIT */
/* crossriver site: the public web map as static files for object storage or a CDN — the page,
 * the styles, the label glyphs, the catalog, the labels and a PMTiles archive of the tiles
 * (docs/operations.md, "Scale-out"). No crossriver process serves it: the page reads the
 * archive with range requests. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "quality/quality.h"
#include "server/server.h"
#include "tiler/glyphs.h"
#include "tiler/tile.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver site --out DIR [--zoom MIN-MAX] [--bbox W,S,E,N]\n"
                 "                       [--font FILE[:FACE]] [--store PATH]\n\n"
                 "Write the public web map as static files into DIR, for nginx, object storage or\n"
                 "a CDN: index.html and its scripts, the styles, the label glyphs (every range of\n"
                 "the font), the legend's catalog, the labels, and tiles.pmtiles (a PMTiles v3\n"
                 "archive of the public tiles of the bbox, default the store's extent, at zooms\n"
                 "MIN-MAX, default 4-14) that the page reads with HTTP range requests. Serve DIR\n"
                 "as it is; no crossriver process is needed. Public data only: no token opens\n"
                 "anything here. The API's panels (search, traces, patrols, water quality,\n"
                 "records) need `crossriver serve` and are left out of the page.\n");
}

static int write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "crossriver site: cannot write %s\n", path);
    }
    return ok;
}

static int write_json(const char *dir, const char *name, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    int ok = text && write_file(dir, name, text, strlen(text));
    free(text);
    return ok;
}

static int make_dir(const char *dir, const char *sub)
{
    char path[2048];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "crossriver site: cannot create %s: %s\n", path, strerror(errno));
        return 0;
    }
    return 1;
}

/* Copy from/name to dir/to_name, the text replaced where replace[] pairs say (NULL-ended). */
static int copy_file(const char *from, const char *name, const char *dir, const char *to_name,
                     const char *const *replace)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", from, name);
    char *data = NULL;
    size_t len = 0;
    cr_error err = {0};
    if (cr_read_file(path, &data, &len, &err) != CR_OK) {
        fprintf(stderr, "crossriver site: %s\n", err.msg);
        return 0;
    }
    cr_strbuf out = {0};
    cr_strbuf_append(&out, data, len);
    for (size_t i = 0; replace && replace[i]; i += 2) {
        cr_strbuf next = {0};
        const char *p = out.data ? out.data : "";
        for (const char *hit; (hit = strstr(p, replace[i])) != NULL; p = hit + strlen(replace[i])) {
            cr_strbuf_append(&next, p, (size_t)(hit - p));
            cr_strbuf_puts(&next, replace[i + 1]);
        }
        cr_strbuf_puts(&next, p);
        cr_strbuf_cleanup(&out);
        out = next;
    }
    int ok = write_file(dir, to_name ? to_name : name, out.data ? out.data : "", out.len);
    cr_strbuf_cleanup(&out);
    free(data);
    return ok;
}

/* Every file of from whose name ends in one of the suffixes. */
static int copy_dir(const char *from, const char *dir, const char *const *suffixes)
{
    DIR *d = opendir(from);
    if (d == NULL) {
        fprintf(stderr, "crossriver site: cannot read %s\n", from);
        return 0;
    }
    int ok = 1;
    for (struct dirent *e; ok && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        for (size_t i = 0; suffixes[i]; i++) {
            size_t k = strlen(suffixes[i]);
            if (n > k && strcmp(e->d_name + n - k, suffixes[i]) == 0) {
                ok = copy_file(from, e->d_name, dir, NULL, NULL);
            }
        }
    }
    closedir(d);
    return ok;
}

/* Every 256-code-point range of the font under glyphs/FAMILY/. */
static int write_glyphs(const char *dir, const char *font, int face)
{
    cr_glyphs *g = NULL;
    cr_error err = {0};
    if (cr_glyphs_open(font, face, &g, &err) != CR_OK) {
        fprintf(stderr, "crossriver site: %s\n", err.msg);
        return 0;
    }
    char sub[512];
    snprintf(sub, sizeof sub, "%s/glyphs/%s", dir, cr_glyphs_family(g));
    int ok = make_dir(sub, NULL);
    for (unsigned start = 0; ok && start < 65536; start += 256) {
        char *data = NULL, name[32];
        size_t len = 0;
        ok = cr_glyphs_range(g, cr_glyphs_family(g), start, &data, &len, &err) == CR_OK;
        snprintf(name, sizeof name, "%u-%u.pbf", start, start + 255);
        ok = ok && write_file(sub, name, data, len);
        free(data);
    }
    if (!ok && err.msg[0]) {
        fprintf(stderr, "crossriver site: %s\n", err.msg);
    }
    cr_glyphs_free(g);
    return ok;
}

typedef struct {
    cr_cli_common common;
    const char *out, *font;
    int face;
    cr_cli_area area;
} site_args;

static int parse_args(int argc, char **argv, site_args *a)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        CR_CLI_AREA_LONGOPTS,
        {"font", required_argument, NULL, 'F'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common_init(&a->common);
    a->area.zmin = 4;
    a->area.zmax = 14;
    a->font = CR_GLYPHS_DEFAULT_FONT;
    a->face = CR_GLYPHS_DEFAULT_FACE;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&a->common, opt, optarg)) {
            continue;
        }
        int area = cr_cli_area_option("site", opt, optarg, &a->area);
        if (area != 0) {
            if (area < 0) {
                return CR_EXIT_USAGE;
            }
            continue;
        }
        switch (opt) {
        case 'o':
            a->out = optarg;
            break;
        case 'F':
            cr_cli_font(optarg, &a->font, &a->face);
            break;
        case 'h':
            help(stdout);
            return CR_EXIT_OK;
        default:
            fprintf(stderr, "(crossriver site --help for usage)\n");
            return CR_EXIT_USAGE;
        }
    }
    if (a->out == NULL || optind != argc) {
        fprintf(stderr, "crossriver site: --out DIR is required (--help for usage)\n");
        return CR_EXIT_USAGE;
    }
    return -1;
}

/* The page, its scripts and styles, the vendored libraries: paths made relative (the site may
 * live under any prefix), the static marker that turns the page to the archive. */
static int write_page(const char *out)
{
    static const char *const PAGE[] = {
        "\"/vendor/",
        "\"vendor/",
        "\"/web/",
        "\"web/",
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n<meta name=\"crossriver-static\" content=\"tiles.pmtiles\">\n"
        "<script src=\"vendor/pmtiles.js\"></script>",
        NULL};
    static const char *const WEB[] = {".mjs", ".css", NULL};
    const char *web = cr_server_default_web_dir(), *vendor = cr_server_default_vendor_dir();
    char uplot[1100], pm[1100];
    snprintf(uplot, sizeof uplot, "%s/../../uplot/dist", vendor);
    snprintf(pm, sizeof pm, "%s/../../pmtiles/dist", vendor);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/web", out);
    int ok = copy_file(web, "index.html", out, NULL, PAGE) && copy_dir(web, sub, WEB);
    snprintf(sub, sizeof sub, "%s/vendor", out);
    ok = ok && copy_file(vendor, "maplibre-gl.js", sub, NULL, NULL) &&
         copy_file(vendor, "maplibre-gl.css", sub, NULL, NULL) &&
         copy_file(uplot, "uPlot.iife.min.js", sub, NULL, NULL) &&
         copy_file(uplot, "uPlot.min.css", sub, NULL, NULL) &&
         copy_file(pm, "pmtiles.js", sub, NULL, NULL);
    if (!ok) {
        fprintf(stderr, "crossriver site: the page needs MapLibre GL JS, uPlot and pmtiles from "
                        "npm: run `npm ci` in the source tree\n");
    }
    return ok;
}

/* tiles.json, api/catalog, api/labels and the styles (their vector source the archive). */
static int write_data(cr_store *store, const cr_layer_set *set, const char *out,
                      const json_t *tilejson)
{
    static const char *const STYLE[] = {"\"{base}/tiles.json\"",
                                        "\"pmtiles://{base}/tiles.pmtiles\"", NULL};
    static const char *const JSON_FILES[] = {".json", NULL};
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/api", out);
    cr_error err = {0};
    json_t *divisions = cr_standards_file(NULL, "divisions.json", &err);
    json_t *catalog = divisions ? cr_api_catalog(set, divisions) : NULL;
    json_t *labels = NULL;
    int ok = catalog && cr_api_labels(store, &labels, &err) == CR_OK &&
             write_json(out, "tiles.json", tilejson) && write_json(sub, "catalog", catalog) &&
             write_json(sub, "labels", labels);
    if (!ok && err.msg[0]) {
        fprintf(stderr, "crossriver site: %s\n", err.msg);
    }
    json_decref(divisions);
    json_decref(catalog);
    json_decref(labels);
    const char *styles = cr_server_default_styles_dir();
    snprintf(sub, sizeof sub, "%s/styles", out);
    DIR *d = ok ? opendir(styles) : NULL;
    for (struct dirent *e; d && ok && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, JSON_FILES[0]) == 0) {
            ok = copy_file(styles, e->d_name, sub, NULL, STYLE);
        }
    }
    if (d) {
        closedir(d);
    }
    return ok;
}

int cr_cmd_site(int argc, char **argv)
{
    site_args a = {0};
    int parsed = parse_args(argc, argv, &a);
    if (parsed >= 0) {
        return parsed;
    }
    static const char *const DIRS[] = {NULL, "web", "vendor", "styles", "api", "glyphs"};
    for (size_t i = 0; i < sizeof DIRS / sizeof DIRS[0]; i++) {
        if (!make_dir(a.out, DIRS[i])) {
            return CR_EXIT_FAILURE;
        }
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&a.common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    cr_error err = {0};
    json_t *tj = NULL;
    cr_api_tilejson(store, "", &tj, &err);
    cr_cli_area_bounds(&a.area, tj);
    char archive[1100];
    snprintf(archive, sizeof archive, "%s/tiles.pmtiles", a.out);
    cr_cli_progress_state prog = {archive, cr_monotonic_s(), 0, 0};
    cr_seed_options so = {archive,
                          {a.area.b[0], a.area.b[1], a.area.b[2], a.area.b[3]},
                          a.area.zmin,
                          a.area.zmax,
                          NULL,
                          json_object_get(tj, "vector_layers"),
                          a.common.quiet ? NULL : cr_cli_progress,
                          &prog};
    cr_seed_stats st;
    int code = CR_EXIT_OK;
    if (cr_tiler_seed_pmtiles(store, &so, &st, &err) != CR_OK) {
        cr_cli_progress_end(&prog);
        fprintf(stderr, "crossriver site: %s\n", err.msg);
        code = CR_EXIT_FAILURE;
    } else {
        cr_cli_progress_end(&prog);
    }
    if (code == CR_EXIT_OK && !(write_data(store, set, a.out, tj) && write_page(a.out) &&
                                write_glyphs(a.out, a.font, a.face))) {
        code = CR_EXIT_FAILURE;
    }
    if (code == CR_EXIT_OK && !a.common.quiet) {
        fprintf(stderr,
                "%s: the web map as static files; tiles.pmtiles %llu tiles, %.1f MiB, z%d-%d "
                "(%.1f s). Serve the directory as it is (range requests for the archive).\n",
                a.out, (unsigned long long)st.stored, (double)st.bytes / 1048576.0, a.area.zmin,
                a.area.zmax, cr_monotonic_s() - prog.t0);
    }
    json_decref(tj);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
