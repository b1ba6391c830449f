/* SPDX-License-Identifier: MIT */
/* crossriver ingest: parse options, call cr_etl_ingest_file per file, print the summary. */
#include "after_import.h"
#include "cli_common.h"
#include "commands.h"
#include "etl/etl.h"
#include "etl/generalise.h"
#include "etl/join.h"
#include "exit_codes.h"
#include "network/network.h"
#include "quality/quality.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver ingest --layer LAYER [OPTIONS] FILE...\n\n"
            "Import each FILE (CSV/TXT, XLSX, Shapefile, GeoJSON, GPKG, KML) into LAYER as one\n"
            "batch and one transaction. Every row is stored or rejected with its reason;\n"
            "importing the same file again changes nothing.\n\n"
            "  --layer L            target layer (see: crossriver layers)\n"
            "  --crs CRS            source CRS: EPSG code (4326, 4490, 4528, 4549, 32651, ...),\n"
            "                       gcj02, bd09; default: the file's own, else EPSG:4490\n"
            "  --encoding ENC       force the text encoding (GBK, GB18030, UTF-8, ...);\n"
            "                       default: BOM, else strict UTF-8, else GB18030\n"
            "  --field T=S          map source column S to field T (also lon, lat, x, y);\n"
            "                       repeatable\n"
            "  --source-layer NAME  sheet or layer to read (default: the first)\n"
            "  --region W,S,E,N     coordinates must fall inside (default: deployment config\n"
            "                       'region', else the Taihu basin 118.8,29.6,122.2,32.4)\n"
            "  --config FILE        deployment config JSON (default ./crossriver.json if present)\n"
            "  --valid-from DATE    survey date for history (default: now)\n"
            "  --full-survey        the file lists every current feature of its scope:\n"
            "                       features there that it no longer lists are closed\n"
            "                       (valid_to set, history kept)\n"
            "  --scope S            full survey scope: county=CODE[,CODE...] or all;\n"
            "                       default: the counties the file's rows lie in\n"
            "  --max-close-share F  refuse a full survey that would close more than this\n"
            "                       share of the in-scope features (default: config\n"
            "                       full_survey.max_close_share, else 0.2)\n"
            "  --force              go on where a safety check refuses (a full survey that\n"
            "                       closes too much or stores nothing, a file with no rows)\n"
            "  --dry-run            read and check everything, print what would be added,\n"
            "                       updated and closed, store nothing\n"
            "  --set F=VALUE        a constant for field F on rows that have no value (e.g.\n"
            "                       --set reach_class=tributary for a foreign dataset)\n"
            "  --header-row N       spreadsheets: the header is on row N (default: found)\n"
            "  --party P            readings: who sampled when the file has no column for it\n"
            "                       (upstream, downstream, joint)\n"
            "  --method M           readings: manual (default) or automatic (a station's\n"
            "                       export) when the file has no 监测方式 column\n"
            "  --rejects FILE.csv   also write rejected rows as UTF-8 CSV with BOM\n"
            "  --no-join            do not run the joins afterwards (crossriver join does); for\n"
            "                       readings: not the map's classes and the alarm rules either\n"
            "                       (crossriver alarms --detect runs them)\n"
            "  --store PATH         store file (default ./crossriver.sqlite)\n"
            "  --json               print the summary as JSON\n"
            "  --quiet              no progress and no summary\n\n"
            "--layer readings takes water-quality results, wide (a column per indicator, units\n"
            "in the headers: 氨氮(mg/L)) or long (断面编码, 监测时间, 监测项目, 监测值, 单位,\n"
            "数据标识); see docs/monitoring.md.\n\n"
            "Exit codes: 0 all stored, 3 some rejected, 2 usage, 1 failure (nothing stored).\n");
}

typedef struct {
    const char *layer;
    cr_ingest_options opt;
    cr_field_map maps[64];
    cr_field_map constants[64];
    const char *config;
    const char *rejects;
    int region_given;
    int no_join;
} ingest_args;

static int parse_region(const char *s, double r[4])
{
    char tail;
    if (sscanf(s, "%lf,%lf,%lf,%lf%c", &r[0], &r[1], &r[2], &r[3], &tail) != 4 || r[0] >= r[2] ||
        r[1] >= r[3]) {
        return 0;
    }
    return 1;
}

static int load_config(ingest_args *a)
{
    json_t *root = cr_cli_load_config("ingest", a->config);
    if (root == NULL) {
        return 0;
    }
    /* checked: region [W, S, E, N], full_survey.max_close_share in (0, 1] */
    json_t *region = json_object_get(root, "region");
    json_t *share = json_object_get(json_object_get(root, "full_survey"), "max_close_share");
    if (share && a->opt.max_close_share == 0) {
        a->opt.max_close_share = json_number_value(share);
    }
    for (size_t i = 0; region && !a->region_given && i < 4; i++) {
        a->opt.region[i] = json_number_value(json_array_get(region, i));
    }
    json_decref(root);
    return 1;
}

/* NAME=VALUE into the next free entry of pairs (at most 64). */
static int parse_pair(const char *option, const char *form, char *arg, cr_field_map *pairs,
                      size_t *n)
{
    char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || eq[1] == '\0' || *n == 64) {
        fprintf(stderr, "crossriver ingest: %s wants %s, got '%s'\n", option, form, arg);
        return 0;
    }
    *eq = '\0';
    pairs[*n].target = arg;
    pairs[(*n)++].source = eq + 1;
    return 1;
}

/* --scope: 1 when it parses (the ingest parses it again), else 0 having said why. */
static int check_scope(const char *arg)
{
    cr_scope sc;
    cr_error e = {0};
    if (cr_etl_parse_scope(arg, &sc, &e) != CR_OK) {
        fprintf(stderr, "crossriver ingest: %s\n", e.msg);
        return 0;
    }
    cr_scope_cleanup(&sc);
    return 1;
}

/* --header-row: a whole row number 1–1000. */
static int parse_header_row(const char *arg, int *out)
{
    double row = 0;
    if (!cr_cli_number("ingest", "--header-row", arg, 1, 1000, &row)) {
        return 0;
    }
    if (row != (int)row) {
        fprintf(stderr, "crossriver ingest: --header-row wants a whole row number, got '%s'\n",
                arg);
        return 0;
    }
    *out = (int)row;
    return 1;
}

/* One ingest option into a: 1, or 0 after printing why it is wrong. */
static int ingest_option(ingest_args *a, int opt, char *arg)
{
    switch (opt) {
    case 'l':
        a->layer = arg;
        break;
    case 'c':
        a->opt.crs = arg;
        break;
    case 'e':
        a->opt.encoding = arg;
        break;
    case 'f':
        if (!parse_pair("--field", "TARGET=SOURCE", arg, a->maps, &a->opt.n_maps)) {
            return 0;
        }
        break;
    case 'T':
        if (!parse_pair("--set", "FIELD=VALUE", arg, a->constants, &a->opt.n_constants)) {
            return 0;
        }
        break;
    case 'S':
        if (!check_scope(arg)) {
            return 0;
        }
        a->opt.scope = arg;
        break;
    case 'M':
        if (!cr_cli_number("ingest", "--max-close-share", arg, 1e-9, 1, &a->opt.max_close_share)) {
            return 0;
        }
        break;
    case 'X':
        a->opt.force = 1;
        break;
    case 'D':
        a->opt.dry_run = 1;
        break;
    case 'H':
        return parse_header_row(arg, &a->opt.header_row);
    case 's':
        a->opt.source_layer = arg;
        break;
    case 'r':
        if (!parse_region(arg, a->opt.region)) {
            fprintf(stderr,
                    "crossriver ingest: --region wants W,S,E,N with W<E and S<N, got "
                    "'%s'\n",
                    arg);
            return 0;
        }
        a->region_given = 1;
        break;
    case 'C':
        a->config = arg;
        break;
    case 'V': {
        static char date[20];
        cr_error e = {0};
        if (cr_etl_parse_datetime(arg, date, &e) != CR_OK) {
            fprintf(stderr, "crossriver ingest: --valid-from '%s': %s\n", arg, e.msg);
            return 0;
        }
        a->opt.valid_from = date;
        break;
    }
    case 'F':
        a->opt.full_survey = 1;
        break;
    case 'R':
        a->rejects = arg;
        break;
    case 'J':
        a->no_join = 1;
        break;
    case 'W':
        a->opt.method = cr_wq_method_parse(arg);
        if (a->opt.method == NULL) {
            fprintf(stderr, "crossriver ingest: --method: manual or automatic, got '%s'\n", arg);
            return 0;
        }
        break;
    case 'P':
        a->opt.party = cr_wq_party_parse(arg);
        if (a->opt.party == NULL) {
            fprintf(stderr, "crossriver ingest: --party: upstream, downstream or joint, got '%s'\n",
                    arg);
            return 0;
        }
        break;
    case 'h':
        help(stdout);
        exit(CR_EXIT_OK);
    default:
        return 0;
    }
    return 1;
}

static int parse_args(int argc, char **argv, cr_cli_common *common, ingest_args *a)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'},
        {"crs", required_argument, NULL, 'c'},
        {"encoding", required_argument, NULL, 'e'},
        {"field", required_argument, NULL, 'f'},
        {"source-layer", required_argument, NULL, 's'},
        {"region", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'C'},
        {"valid-from", required_argument, NULL, 'V'},
        {"full-survey", no_argument, NULL, 'F'},
        {"rejects", required_argument, NULL, 'R'},
        {"no-join", no_argument, NULL, 'J'},
        {"scope", required_argument, NULL, 'S'},
        {"max-close-share", required_argument, NULL, 'M'},
        {"force", no_argument, NULL, 'X'},
        {"dry-run", no_argument, NULL, 'D'},
        {"set", required_argument, NULL, 'T'},
        {"header-row", required_argument, NULL, 'H'},
        {"party", required_argument, NULL, 'P'},
        {"method", required_argument, NULL, 'W'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        if (!ingest_option(a, opt, optarg)) {
            return 0;
        }
    }
    if ((a->opt.scope || a->opt.max_close_share > 0) && !a->opt.full_survey) {
        fprintf(stderr, "crossriver ingest: --scope and --max-close-share go with "
                        "--full-survey\n");
        return 0;
    }
    if (a->layer == NULL || optind >= argc) {
        fprintf(stderr, "crossriver ingest: %s\n",
                a->layer == NULL ? "--layer is required" : "no FILE given");
        return 0;
    }
    return load_config(a);
}

static json_t *result_json(const char *path, const char *layer, const cr_ingest_result *r)
{
    json_t *reasons = json_object();
    for (size_t i = 0; i < r->n_reasons; i++) {
        json_object_set_new(reasons, r->reasons[i].code, json_integer(r->reasons[i].count));
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, "
                          "s:s, s:s, s:s, s:f, s:o}",
                          "file", path, "layer", layer, "batch_id", (json_int_t)r->batch_id,
                          "already_imported", r->already_imported, "rows_in",
                          (json_int_t)r->rows_in, "stored", (json_int_t)r->stored, "inserted",
                          (json_int_t)r->inserted, "updated", (json_int_t)r->updated, "unchanged",
                          (json_int_t)r->unchanged, "closed", (json_int_t)r->closed, "rejected",
                          (json_int_t)r->rejected, "repaired", (json_int_t)r->repaired, "encoding",
                          r->encoding, "crs", r->crs, "sha256", r->sha256, "source_layer",
                          r->source_layer, "seconds", r->seconds, "rejected_by_reason", reasons);
    json_object_set_new(o, "reopened", json_integer(r->reopened));
    json_object_set_new(o, "superseded_batch",
                        r->superseded ? json_integer(r->superseded) : json_null());
    json_object_set_new(o, "dry_run", json_boolean(r->dry_run));
    if (strcmp(layer, "readings") == 0) {
        json_object_set_new(o, "values", json_integer(r->values_stored));
        json_object_set_new(o, "series", json_integer(r->series_touched));
        json_object_set_new(o, "format", json_string(r->crs));
        json_object_del(o, "crs");
    }
    if (r->scope[0]) {
        json_object_set_new(o, "scope",
                            json_pack("{s:s, s:I, s:I}", "jurisdictions", r->scope, "in_scope",
                                      (json_int_t)r->in_scope, "out_of_scope",
                                      (json_int_t)r->out_of_scope));
    }
    if (r->dry_run) {
        json_t *ch = json_array();
        for (size_t i = 0; i < r->n_changes; i++) {
            json_array_append_new(
                ch, json_pack("{s:s, s:s}", "change", r->changes[i].what, "id", r->changes[i].id));
        }
        json_object_set_new(o, "changes", ch);
    }
    return o;
}

/* A dry run's changes, a line per kind with the first IDs. */
static void print_changes(const cr_ingest_result *r)
{
    static const char *kinds[] = {"add", "update", "close"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = 0;
        for (size_t i = 0; i < r->n_changes; i++) {
            if (strcmp(r->changes[i].what, kinds[k]) != 0) {
                continue;
            }
            printf("%s%s", n == 0 ? "  would " : n < 12 ? ", " : "", n == 0 ? kinds[k] : "");
            if (n == 0) {
                printf(": %s", r->changes[i].id);
            } else if (n < 12) {
                printf("%s", r->changes[i].id);
            }
            n++;
        }
        if (n > 12) {
            printf(", … (%zu in all; --json lists every one)", n);
        }
        if (n > 0) {
            printf("\n");
        }
    }
}

static void print_first_rejects(cr_store *store, int64_t batch_id, const char *path)
{
    json_t *rows = NULL;
    if (cr_store_list_rejects(store, batch_id, 8, &rows, NULL) != CR_OK) {
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        printf("    %s:%s: %s\n", path, json_string_value(json_object_get(r, "row")),
               json_string_value(json_object_get(r, "reason")));
    }
    json_decref(rows);
}

static void print_summary(cr_store *store, const char *path, const char *layer,
                          const cr_ingest_result *r)
{
    if (r->already_imported) {
        printf("%s → %s: already imported as batch %lld (same SHA-256 %.12s…); nothing "
               "changed\n",
               path, layer, (long long)r->batch_id, r->sha256);
        return;
    }
    if (r->dry_run) {
        printf("%s → %s  (dry run: nothing was stored)\n", path, layer);
    } else {
        printf("%s → %s  (batch %lld)\n", path, layer, (long long)r->batch_id);
    }
    if (strcmp(layer, "readings") == 0) {
        printf("  encoding %s · %s format · sheet/layer %s\n", r->encoding, r->crs,
               r->source_layer);
        printf("  rows in %lld = stored %lld + rejected %lld; values %lld (new %lld, corrected "
               "%lld (old versions kept), unchanged %lld) in %lld series\n",
               (long long)r->rows_in, (long long)r->stored, (long long)r->rejected,
               (long long)r->values_stored, (long long)r->inserted, (long long)r->updated,
               (long long)r->unchanged, (long long)r->series_touched);
    } else {
        printf("  encoding %s · CRS %s · sheet/layer %s\n", r->encoding, r->crs, r->source_layer);
        printf("  rows in %lld = stored %lld (new %lld, updated %lld, unchanged %lld) + "
               "rejected %lld\n",
               (long long)r->rows_in, (long long)r->stored, (long long)r->inserted,
               (long long)r->updated, (long long)r->unchanged, (long long)r->rejected);
    }
    if (r->superseded) {
        printf("  supersedes batch %lld (the same file imported with other options): its %lld "
               "versions closed, %lld it had closed made current again\n",
               (long long)r->superseded, (long long)r->closed, (long long)r->reopened);
    }
    if (r->scope[0]) {
        printf("  full survey of %s: %lld current features there, %lld closed as no longer "
               "listed; %lld elsewhere left alone\n",
               r->scope, (long long)r->in_scope, (long long)r->closed, (long long)r->out_of_scope);
    }
    if (r->repaired) {
        printf("  geometries repaired %lld\n", (long long)r->repaired);
    }
    if (r->dry_run) {
        print_changes(r);
    }
    if (r->rejected) {
        printf("  rejected by reason:");
        for (size_t i = 0; i < r->n_reasons; i++) {
            printf("%s %s %lld", i ? "," : "", r->reasons[i].code, (long long)r->reasons[i].count);
        }
        printf("\n");
        if (!r->dry_run) {
            print_first_rejects(store, r->batch_id, path);
        }
        if (r->rejected > 8) {
            printf("    … all of them: crossriver batches --rejects %lld > rejects.csv\n",
                   (long long)r->batch_id);
        }
    }
    printf("  %.2f s, %.0f rows/s · sha256 %s\n", r->seconds,
           r->seconds > 0 ? (double)r->rows_in / r->seconds : 0.0, r->sha256);
}

static FILE *open_rejects(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "crossriver ingest: --rejects %s: cannot create\n", path);
        return NULL;
    }
    fputs(CR_REJECTS_CSV_HEADER, f);
    return f;
}

int cr_cmd_ingest(int argc, char **argv)
{
    cr_cli_common common;
    cr_cli_common_init(&common);
    ingest_args a = {0};
    memcpy(a.opt.region, CR_REGION_TAIHU, sizeof a.opt.region);
    a.opt.maps = a.maps;
    a.opt.constants = a.constants;
    if (!parse_args(argc, argv, &common, &a)) {
        fprintf(stderr, "(crossriver ingest --help for usage)\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    const cr_layer_def *def = cr_layer_set_find(set, a.layer);
    int exit_code = CR_EXIT_OK;
    int readings = strcmp(a.layer, "readings") == 0;
    cr_standards *std = NULL;
    if (readings) {
        cr_error serr = {0};
        if (cr_standards_load(NULL, &std, &serr) != CR_OK) {
            fprintf(stderr, "crossriver ingest: %s\n", serr.msg);
            cr_store_close(store);
            cr_layer_set_free(set);
            return CR_EXIT_FAILURE;
        }
        def = cr_layer_set_find(set, "monitoring_sections");
    }
    int64_t batches[256]; /* the batches this run stored */
    size_t n_batches = 0;
    json_t *all = json_array();
    if (def == NULL) {
        fprintf(stderr, "crossriver ingest: unknown layer '%s' (see: crossriver layers)\n",
                a.layer);
        exit_code = CR_EXIT_USAGE;
        goto done;
    }
    if (a.rejects && (a.opt.rejects_csv = open_rejects(a.rejects)) == NULL) {
        exit_code = CR_EXIT_FAILURE;
        goto done;
    }
    for (int i = optind; i < argc; i++) {
        cr_cli_progress_state prog = {argv[i], cr_monotonic_s(), 0, 0};
        a.opt.progress = common.quiet ? NULL : cr_cli_progress;
        a.opt.progress_user = &prog;
        cr_ingest_result res;
        cr_error err = {0};
        cr_status rc = readings ? cr_etl_ingest_readings(store, std, argv[i], &a.opt, &res, &err)
                                : cr_etl_ingest_file(store, def, argv[i], &a.opt, &res, &err);
        cr_cli_progress_end(&prog);
        if (rc != CR_OK) {
            fprintf(stderr, "crossriver ingest: %s\n  nothing from this file was stored\n",
                    err.msg);
            json_array_append_new(all, json_pack("{s:s, s:s, s:s}", "file", argv[i], "layer",
                                                 a.layer, "error", err.msg));
            exit_code = CR_EXIT_FAILURE;
            continue;
        }
        if (res.rejected > 0 && !res.already_imported && exit_code == CR_EXIT_OK) {
            exit_code = CR_EXIT_REJECTED;
        }
        if (!res.already_imported && !res.dry_run && n_batches < 256) {
            batches[n_batches++] = res.batch_id;
        }
        json_array_append_new(all, result_json(argv[i], a.layer, &res));
        if (!common.json && !common.quiet) {
            print_summary(store, argv[i], a.layer, &res);
        }
        cr_ingest_result_cleanup(&res);
    }
    if (n_batches > 0 && readings && !a.no_join) {
        if (cr_cli_after_readings(store, std, a.config, !common.json && !common.quiet) !=
            CR_EXIT_OK) {
            exit_code = CR_EXIT_FAILURE;
        }
    } else if (n_batches > 0 && !readings) {
        cr_cli_after_import after = {"ingest",  a.layer,   batches,
                                     n_batches, a.no_join, !common.json && !common.quiet};
        if (cr_cli_after_import_run(store, &after) != CR_EXIT_OK) {
            exit_code = CR_EXIT_FAILURE;
        }
    }
    if (common.json) {
        json_t *out = json_array_size(all) == 1 ? json_array_get(all, 0) : all;
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    }
done:
    if (a.opt.rejects_csv) {
        fclose(a.opt.rejects_csv);
    }
    json_decref(all);
    cr_standards_free(std);
    cr_store_close(store);
    cr_layer_set_free(set);
    return exit_code;
}
