/* SPDX-License-Identifier: MIT */
/* crossriver patrol: plan a joint river patrol (docs/patrol.md). */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver patrol (--river NAMES | --preset yihe-sanhu | --reaches IDS)\n"
            "                         [--date YYYY-MM-DD] [--mode boat|foot] [--from LON,LAT]\n"
            "                         [--to LON,LAT] [--speed KMH] [--dwell MIN] [--radius M]\n"
            "                         [--stops hyacinth,outfall,section,finding]\n"
            "                         [--day-hours H]\n"
            "                         [--format json|geojson|gpx|kml|csv|html] [--out FILE]\n"
            "                         [--include-personal] [--store PATH]\n\n"
            "Plan a joint river patrol (联合巡河): an ordered route along the network over the\n"
            "reaches whose name contains one of NAMES (comma-separated; --preset yihe-sanhu is\n"
            "一河三湖: 太浦河,淀山湖,元荡,汾湖) or the given reach IDs, with stops at the open\n"
            "issues on the way as they stood on --date (default today): hyacinth reports not\n"
            "cleared, outfalls under rectification, in a protection zone or unmatched (the\n"
            "inventory in force that day), cross-boundary sections, patrol findings not yet\n"
            "verified (--stops keeps only some kinds); legs by jurisdiction with the lead agency "
            "and its duty phone (the\n"
            "liaison's name and mobile only with --include-personal, recorded in the store's\n"
            "audit_log); length and time by boat (10 km/h) or on foot (4 km/h) plus --dwell\n"
            "minutes per stop (10). --from/--to start and end the route at the nearest\n"
            "network node within 2 km, else at the nearer end of the nearest reach within\n"
            "2 km (a point on a long reach). --day-hours H splits the route into days of at\n"
            "most H hours (a stop stays with its dwell), each from where the last ended.\n"
            "--format gpx/kml for GPS units and field viewers, csv/html for the printable\n"
            "checklist with a blank findings column. To standard output or --out FILE.\n");
}

static int parse_point(const char *what, const char *s, double p[2])
{
    if (!cr_api_parse_point(s, &p[0], &p[1])) {
        fprintf(stderr, "crossriver patrol: %s wants LON,LAT in degrees, got '%s'\n", what, s);
        return 0;
    }
    return 1;
}

typedef struct {
    cr_cli_common common;
    cr_patrol_request req;
    const char *format, *out_path;
    int personal; /* --include-personal */
} patrol_args;

/* One patrol option into a: -1 to go on, else the exit code. */
static int patrol_option(patrol_args *a, int opt, const char *arg)
{
    switch (opt) {
    case 'r':
        a->req.rivers = arg;
        break;
    case 'P':
        if (strcmp(arg, "yihe-sanhu") != 0 && strcmp(arg, "一河三湖") != 0) {
            fprintf(stderr, "crossriver patrol: --preset: yihe-sanhu (一河三湖)\n");
            return CR_EXIT_USAGE;
        }
        a->req.rivers = CR_PATROL_YIHE_SANHU;
        break;
    case 'R':
        a->req.reaches = arg;
        break;
    case 'd':
        a->req.date = arg;
        break;
    case 'm':
        if (strcmp(arg, "boat") != 0 && strcmp(arg, "foot") != 0) {
            fprintf(stderr, "crossriver patrol: --mode: boat or foot\n");
            return CR_EXIT_USAGE;
        }
        a->req.on_foot = strcmp(arg, "foot") == 0;
        break;
    case 'f':
        if (!parse_point("--from", arg, a->req.from)) {
            return CR_EXIT_USAGE;
        }
        a->req.has_from = 1;
        break;
    case 't':
        if (!parse_point("--to", arg, a->req.to)) {
            return CR_EXIT_USAGE;
        }
        a->req.has_to = 1;
        break;
    case 's':
        if (!cr_cli_number("patrol", "--speed", arg, 0.1, 100, &a->req.speed_kmh)) {
            return CR_EXIT_USAGE;
        }
        break;
    case 'w':
        if (!cr_cli_number("patrol", "--dwell", arg, 0, 600, &a->req.dwell_min)) {
            return CR_EXIT_USAGE;
        }
        break;
    case 'a':
        if (!cr_cli_number("patrol", "--radius", arg, 1, 20000, &a->req.radius_m)) {
            return CR_EXIT_USAGE;
        }
        break;
    case 'K':
        a->req.stop_kinds = arg;
        break;
    case 'D':
        if (!cr_cli_number("patrol", "--day-hours", arg, 0.5, 24, &a->req.day_hours)) {
            return CR_EXIT_USAGE;
        }
        break;
    case 'F':
        a->format = arg;
        break;
    case 'I':
        a->personal = 1;
        break;
    case 'o':
        a->out_path = arg;
        break;
    case 'h':
        help(stdout);
        return CR_EXIT_OK;
    default:
        fprintf(stderr, "(crossriver patrol --help for usage)\n");
        return CR_EXIT_USAGE;
    }
    return -1;
}

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, patrol_args *a)
{
    static const struct option longopts[] = {
        {"river", required_argument, NULL, 'r'},
        {"preset", required_argument, NULL, 'P'},
        {"reaches", required_argument, NULL, 'R'},
        {"date", required_argument, NULL, 'd'},
        {"mode", required_argument, NULL, 'm'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"speed", required_argument, NULL, 's'},
        {"dwell", required_argument, NULL, 'w'},
        {"radius", required_argument, NULL, 'a'},
        {"stops", required_argument, NULL, 'K'},
        {"day-hours", required_argument, NULL, 'D'},
        {"include-personal", no_argument, NULL, 'I'},
        {"format", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common_init(&a->common);
    a->req.dwell_min = -1;
    a->format = "json";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&a->common, opt, optarg)) {
            continue;
        }
        int rc = patrol_option(a, opt, optarg);
        if (rc >= 0) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "crossriver patrol: unexpected argument '%s'\n", argv[optind]);
        return CR_EXIT_USAGE;
    }
    return -1;
}

/* The plan to out_path, or to standard output with a final newline. */
static int write_output(const cr_strbuf *out, const char *out_path)
{
    int rc = CR_EXIT_OK;
    FILE *f = out_path ? fopen(out_path, "wb") : stdout;
    if (f == NULL || fwrite(out->data ? out->data : "", 1, out->len, f) != out->len) {
        fprintf(stderr, "crossriver patrol: cannot write %s\n", out_path ? out_path : "-");
        rc = CR_EXIT_FAILURE;
    }
    if (f && f != stdout) {
        fclose(f);
    }
    if (f == stdout && out->len && out->data[out->len - 1] != '\n') {
        fputc('\n', stdout);
    }
    return rc;
}

int cr_cmd_patrol(int argc, char **argv)
{
    patrol_args a = {0};
    int parsed = parse_args(argc, argv, &a);
    if (parsed >= 0) {
        return parsed;
    }
    /* the operator of the store sees everything, but prints personal data only when asked */
    a.req.access = a.personal ? cr_access_all() : NULL;
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&a.common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    cr_graph *g = NULL;
    cr_error err = {0};
    cr_strbuf out = {0};
    int rc = CR_EXIT_OK;
    if (cr_graph_load(store, &g, &err) != CR_OK ||
        cr_api_patrol(store, g, &a.req, a.format, &out, NULL, &err) != CR_OK) {
        fprintf(stderr, "crossriver patrol: %s\n", err.msg);
        rc = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else if (a.personal &&
               cr_store_audit(store, getenv("USER") ? getenv("USER") : "operator",
                              "patrol plan with personal data",
                              a.out_path ? a.out_path : "(standard output)", &err) != CR_OK) {
        fprintf(stderr, "crossriver patrol: %s\n", err.msg);
        rc = CR_EXIT_FAILURE;
    } else {
        rc = write_output(&out, a.out_path);
    }
    cr_strbuf_cleanup(&out);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return rc;
}
