/* SPDX-License-Identifier: MIT */
/* crossriver export evidence | verify: boundary-dispute evidence packages (docs/evidence.md). */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "export/evidence.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver export evidence --out FILE.zip --as-of YYYY-MM-DDTHH:MM:SSZ\n"
            "           [--issuer NAME] (--boundary A:B [--buffer-km 2] |\n"
            "           (--at LON,LAT | --reach ID | --feature LAYER:ID) --direction up|down\n"
            "           [--max-km N] [--spill-kg KG --spill-hours H]) [--from YYYY-MM-DD]\n"
            "           [--to YYYY-MM-DD] [--include-personal] [--store PATH]\n"
            "       crossriver export verify FILE.zip [--store PATH]\n\n"
            "evidence: a BagIt bag in one zip with the features in scope (GeoJSON, CSV with\n"
            "join results, raw source coordinates and provenance), the trace of an incident\n"
            "case, and case.json with every import batch they came from. The same store, case\n"
            "and --as-of give the same bytes. --as-of T: the versions valid at T (surveys dated\n"
            "by T, not yet closed then) and only the batches dated by T; --from/--to cut the\n"
            "events (hyacinth reports, ship observations), never the standing inventory.\n"
            "Contact persons and phones are left out unless --include-personal (audited).\n"
            "Each export is recorded in evidence_exports.\n"
            "verify: re-checks every SHA-256 and the payload (intact or not); with --store,\n"
            "also makes the package again from its case.json as of its own time and says\n"
            "whether the store still reproduces it (a later back-dated import may not).\n"
            "Exit codes: 0 intact, 1 failure, 2 usage, 4 tampered.\n");
}

typedef struct {
    cr_graph *g;
    cr_reach_index *ref;
    cr_trace_workspace *ws;
} network;

static int load_network(cr_store *store, network *n, cr_error *err)
{
    if (cr_graph_load(store, &n->g, err) != CR_OK ||
        cr_reach_index_load(store, &n->ref, err) != CR_OK) {
        return 0;
    }
    n->ws = cr_trace_workspace_new(n->g);
    return 1;
}

static void free_network(network *n)
{
    cr_trace_workspace_free(n->ws);
    cr_reach_index_free(n->ref);
    cr_graph_free(n->g);
}

static int verify(int argc, char **argv, cr_cli_common *common, int store_given)
{
    if (optind >= argc) {
        fprintf(stderr, "crossriver export verify: which package?\n");
        return CR_EXIT_USAGE;
    }
    const char *path = argv[optind];
    json_t *report = NULL;
    cr_error err = {0};
    if (cr_evidence_verify(path, &report, &err) != CR_OK) {
        fprintf(stderr, "crossriver export verify: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    int ok = json_is_true(json_object_get(report, "ok"));
    if (ok && store_given) { /* make it again from its case, as of its own time, and compare */
        json_t *cj = NULL;
        cr_layer_set *set = NULL;
        cr_store *store = NULL;
        network n = {0};
        char again[1100], sha[65];
        snprintf(again, sizeof again, "%s.again.zip", path);
        int made = cr_evidence_read_case(path, &cj, &err) == CR_OK &&
                   cr_cli_open(common, &set, &store) == 0 && load_network(store, &n, &err);
        cr_evidence_case c = {0};
        if (made) {
            made = cr_evidence_case_from_json(cj, &c, &err) == CR_OK;
        }
        if (made) {
            json_object_set(report, "as_of", json_object_get(cj, "as_of"));
            cr_trace_context cx = {store, n.g, n.ws, n.ref};
            made = cr_evidence_export(&cx, &c, again, NULL, sha, NULL, &err) == CR_OK;
        }
        json_t *rerun = NULL;
        if (made && cr_evidence_verify(again, &rerun, &err) == CR_OK) {
            /* the same store, case and as-of: the same bytes */
            char sha_a[65] = "", sha_b[65] = "";
            int same = cr_sha256_file(path, sha_a, &err) == CR_OK &&
                       cr_sha256_file(again, sha_b, &err) == CR_OK && strcmp(sha_a, sha_b) == 0;
            json_object_set_new(report, "store_rerun", json_string(same ? "same" : "different"));
            json_object_set_new(report, "reproduced", json_boolean(same));
            json_decref(rerun);
        } else {
            json_object_set_new(report, "store_rerun", json_string(err.msg));
            json_object_set_new(report, "reproduced", json_false());
        }
        remove(again);
        free_network(&n);
        cr_store_close(store);
        cr_layer_set_free(set);
        json_decref(cj);
    }
    json_object_set_new(report, "ok", json_boolean(ok));
    if (common->json) {
        char *s = json_dumps(report, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    } else {
        size_t i;
        json_t *p;
        printf("%s: %s\n", path, ok ? "intact" : "NOT INTACT");
        json_array_foreach(json_object_get(report, "problems"), i, p)
        {
            printf("  %s\n", json_string_value(p));
        }
        if (json_object_get(report, "store_rerun")) {
            int same = json_is_true(json_object_get(report, "reproduced"));
            printf("  made again from its case on the store, as of %s: %s\n",
                   json_string_value(json_object_get(report, "as_of"))
                       ? json_string_value(json_object_get(report, "as_of"))
                       : "its own time",
                   same ? "the same bytes: the store still reproduces it"
                        : "different: the store no longer reproduces it (the package is intact; "
                          "the store changed its past since, e.g. a back-dated import or a "
                          "revert)");
            if (!same && strcmp(json_string_value(json_object_get(report, "store_rerun")),
                                "different") != 0) {
                printf("    %s\n", json_string_value(json_object_get(report, "store_rerun")));
            }
        }
    }
    json_decref(report);
    return ok ? CR_EXIT_OK : 4;
}

/* The trace-request parameter an option sets. */
static const char *trace_param(int opt)
{
    switch (opt) {
    case 'p':
        return "at";
    case 'r':
        return "reach";
    case 'f':
        return "feature";
    case 'd':
        return "direction";
    case 'k':
        return "max_km";
    case 'S':
        return "spill_kg";
    default:
        return "spill_hours";
    }
}

/* One export option into the case, the trace parameters or *out: -1 to go on, else the exit
 * code. */
static int export_option(cr_evidence_case *c, json_t *tparams, const char **out, int opt,
                         const char *arg)
{
    switch (opt) {
    case 'o':
        *out = arg;
        break;
    case 'a':
        c->as_of = arg;
        break;
    case 'i':
        c->issuer = arg;
        break;
    case 'b':
        c->boundary = arg;
        break;
    case 'B':
        if (!cr_cli_number("export", "--buffer-km", arg, 0.001, 100, &c->buffer_km)) {
            return CR_EXIT_USAGE;
        }
        break;
    case 'p':
    case 'r':
    case 'f':
    case 'd':
    case 'k':
        json_object_set_new(tparams, trace_param(opt), json_string(arg));
        break;
    case 'F':
        c->from_date = arg;
        break;
    case 'S':
    case 'H':
        json_object_set_new(tparams, trace_param(opt), json_string(arg));
        break;
    case 'T':
        c->to_date = arg;
        break;
    case 'P':
        c->include_personal = 1;
        break;
    case 'h':
        help(stdout);
        return CR_EXIT_OK;
    default:
        fprintf(stderr, "(crossriver export --help for usage)\n");
        return CR_EXIT_USAGE;
    }
    return -1;
}

/* Make the package and say what is in it. */
static int export_evidence(const cr_cli_common *common, const cr_evidence_case *c, const char *out)
{
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    network n = {0};
    cr_error err = {0};
    char sha[65];
    json_t *summary = NULL;
    const char *who = getenv("USER");
    int rc = CR_EXIT_OK;
    int loaded = !c->has_trace || load_network(store, &n, &err);
    cr_trace_context cx = {store, n.g, n.ws, n.ref};
    if (!loaded || cr_evidence_export(&cx, c, out, who && *who ? who : "unknown", sha, &summary,
                                      &err) != CR_OK) {
        fprintf(stderr, "crossriver export evidence: %s\n", err.msg);
        rc = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (!common->quiet) {
        printf("%s: %lld features%s, SHA-256 %s (recorded in evidence_exports)\n", out,
               (long long)json_integer_value(json_object_get(summary, "features")),
               json_is_true(json_object_get(summary, "trace")) ? " and the trace" : "", sha);
    }
    json_decref(summary);
    free_network(&n);
    cr_store_close(store);
    cr_layer_set_free(set);
    return rc;
}

/* The command, with tparams (owned by the caller) collecting the case's trace parameters. */
static int export_main(int argc, char **argv, json_t *tparams)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    const char *what = argv[1];
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"as-of", required_argument, NULL, 'a'},
        {"issuer", required_argument, NULL, 'i'},
        {"boundary", required_argument, NULL, 'b'},
        {"buffer-km", required_argument, NULL, 'B'},
        {"at", required_argument, NULL, 'p'},
        {"reach", required_argument, NULL, 'r'},
        {"feature", required_argument, NULL, 'f'},
        {"direction", required_argument, NULL, 'd'},
        {"max-km", required_argument, NULL, 'k'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"spill-kg", required_argument, NULL, 'S'},
        {"spill-hours", required_argument, NULL, 'H'},
        {"include-personal", no_argument, NULL, 'P'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    cr_evidence_case c = {0};
    const char *out = NULL;
    int opt, store_given = 0;
    cr_error nerr = {0};
    optind = 2;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        store_given |= opt == 1001;
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        int rc = export_option(&c, tparams, &out, opt, optarg);
        if (rc >= 0) {
            return rc;
        }
    }
    if (strcmp(what, "verify") == 0) {
        return verify(argc, argv, &common, store_given);
    }
    if (strcmp(what, "evidence") != 0) {
        fprintf(stderr, "crossriver export: evidence or verify, not '%s'\n", what);
        return CR_EXIT_USAGE;
    }
    c.has_trace = json_object_size(tparams) > 0;
    if (out == NULL) {
        fprintf(stderr, "crossriver export evidence: --out is required\n");
        return CR_EXIT_USAGE;
    }
    if (c.has_trace && cr_api_trace_parse(tparams, 1, &c.trace, &nerr) != CR_OK) {
        fprintf(stderr, "crossriver export evidence: %s\n", nerr.msg);
        return CR_EXIT_USAGE;
    }
    return export_evidence(&common, &c, out);
}

int cr_cmd_export(int argc, char **argv)
{
    json_t *tparams = json_object(); /* the case's trace, as trace-request parameters */
    int code = export_main(argc, argv, tparams);
    json_decref(tparams);
    return code;
}
