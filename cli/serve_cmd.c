/* SPDX-License-Identifier: MIT */
/* crossriver serve: the HTTP API over a store (see docs/http-api.md). */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "server/server.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver serve [--store PATH] [--host 127.0.0.1] [--port 8080]\n"
            "                        [--threads N] [--cors ORIGIN] [--pid-file PATH]\n"
            "                        [--tokens FILE] [--cache-mb 256] [--poll-ms 1000]\n"
            "                        [--font FILE[:FACE]] [--max-connections 4096]\n"
            "                        [--per-ip 0] [--timeout 30]\n\n"
            "Serve the store over HTTP until SIGINT or SIGTERM: the web map at /, vector\n"
            "tiles /tiles/{z}/{x}/{y}.mvt, /tiles.json, /styles/{name}.json, /api/trace\n"
            "(`crossriver trace` as query parameters), /api/features/{layer}/{id},\n"
            "/api/search?q=, /api/patrol (`crossriver patrol`), POST /api/export/evidence\n"
            "(full tokens only), /api/sections/{id}/readings, /api/quality, /api/alarms,\n"
            "POST /api/alarms/{id}/review (any token, audited), /health and /metrics\n"
            "(docs/http-api.md). --config: the deployment config (alarm rules; default\n"
            "./crossriver.json when present).\n"
            "The store is opened read-only (an evidence export writes its audit row) and\n"
            "polled every --poll-ms for new data: an import drops exactly the cached tiles\n"
            "it touched, a rebuilt network is loaded while requests go on. SIGHUP reloads\n"
            "the layer definitions and --tokens.\n"
            "--tokens: bearer tokens (by SHA-256) and the layers and jurisdictions whose\n"
            "restricted data each opens (docs/operations.md); without it nothing restricted\n"
            "is served. --cache-mb bounds the tile cache (0: none).\n"
            "One access-log line per request on stderr, and a 'restricted' line for every\n"
            "answer that carried restricted data or refused a token.\n"
            "--font: the map labels' font, served as glyphs at /glyphs/ (default Debian's\n"
            "fonts-noto-cjk, Noto Sans CJK SC: face 2 of NotoSansCJK-Regular.ttc).\n"
            "--cors: the origins (comma-separated, or *) whose pages may read the tiles,\n"
            "TileJSON, styles, glyphs and labels, i.e. embed the map; nothing else is shared.\n"
            "--max-connections: open connections at most (more are refused at once);\n"
            "--per-ip: per client address (0: no limit); --timeout: seconds an idle\n"
            "connection is kept.\n"
            "--host defaults to 127.0.0.1 (loopback only); give 0.0.0.0 to listen on all\n"
            "interfaces. --pid-file is written once the socket is listening.\n");
}

static int parse_int(const char *what, const char *s, int lo, int hi, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "crossriver serve: %s wants an integer in [%d, %d], got '%s'\n", what, lo,
                hi, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cr_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"cors", required_argument, NULL, 'c'},
        {"pid-file", required_argument, NULL, 'P'},
        {"tokens", required_argument, NULL, 'T'},
        {"font", required_argument, NULL, 'F'},
        {"config", required_argument, NULL, 'C'},
        {"cache-mb", required_argument, NULL, 'M'},
        {"poll-ms", required_argument, NULL, 'L'},
        {"max-connections", required_argument, NULL, 'X'},
        {"per-ip", required_argument, NULL, 'I'},
        {"timeout", required_argument, NULL, 'O'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    cr_server_config cfg = {0};
    cfg.host = "127.0.0.1";
    cfg.port = 8080;
    cfg.threads = 4;
    cfg.cache_mb = 256;
    cfg.poll_ms = 1000;
    cfg.max_connections = 4096;
    cfg.timeout_s = 30;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'H':
            cfg.host = optarg;
            break;
        case 'p':
            if (!parse_int("--port", optarg, 1, 65535, &cfg.port)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 't':
            if (!parse_int("--threads", optarg, 1, 256, &cfg.threads)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'c':
            cfg.cors_origin = optarg;
            break;
        case 'P':
            cfg.pid_file = optarg;
            break;
        case 'T':
            cfg.tokens_path = optarg;
            break;
        case 'F':
            cr_cli_font(optarg, &cfg.font_path, &cfg.font_face);
            break;
        case 'C':
            cfg.config = optarg;
            break;
        case 'M':
            if (!parse_int("--cache-mb", optarg, 0, 65536, &cfg.cache_mb)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'L':
            if (!parse_int("--poll-ms", optarg, 10, 3600000, &cfg.poll_ms)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'X':
            if (!parse_int("--max-connections", optarg, 1, 1000000, &cfg.max_connections)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'I':
            if (!parse_int("--per-ip", optarg, 0, 1000000, &cfg.per_ip)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'O':
            if (!parse_int("--timeout", optarg, 1, 86400, &cfg.timeout_s)) {
                return CR_EXIT_USAGE;
            }
            break;
        case 'h':
            help(stdout);
            return CR_EXIT_OK;
        default:
            fprintf(stderr, "(crossriver serve --help for usage)\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "crossriver serve: unexpected argument '%s'\n", argv[optind]);
        return CR_EXIT_USAGE;
    }
    if (cfg.config == NULL && access("crossriver.json", R_OK) == 0) {
        cfg.config = "crossriver.json";
    }
    cfg.store_path = common.store_path;
    cfg.layers_dir = common.layers_dir;
    cfg.styles_dir = cr_server_default_styles_dir();
    cfg.web_dir = cr_server_default_web_dir();
    cfg.vendor_dir = cr_server_default_vendor_dir();
    cr_error err = {0};
    if (cr_server_run(&cfg, &err) != CR_OK) {
        fprintf(stderr, "crossriver serve: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    return CR_EXIT_OK;
}
