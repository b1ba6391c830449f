/* SPDX-License-Identifier: MIT */
/* crossriver: one program, one subcommand per job; the command table is the only dispatch. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define CR_VERSION "0.1.0"

typedef struct {
    const char *name;                  /* subcommand */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
    const char *summary;               /* one line for --help */
} command;

static const command COMMANDS[] = {
    {"ingest", cr_cmd_ingest,
     "import inventories (CSV, XLSX, SHP, GeoJSON, GPKG, KML) or readings into a layer"},
    {"join", cr_cmd_join, "join features to reaches, counties, towns, zones and boundaries"},
    {"network", cr_cmd_network, "build the river network topology and validate it"},
    {"trace", cr_cmd_trace, "trace up/downstream: reaches, features met, who to notify"},
    {"accumulate", cr_cmd_accumulate, "sum a quantity over everything upstream of every reach"},
    {"generalise", cr_cmd_generalise, "rebuild polygon and line layers' low-zoom generalisations"},
    {"export", cr_cmd_export, "boundary-dispute evidence: a BagIt package, and its verification"},
    {"patrol", cr_cmd_patrol, "plan a joint river patrol: route, stops, legs, GPX/KML/checklist"},
    {"tile", cr_cmd_tile, "render one vector tile (MVT) from the store"},
    {"seed", cr_cmd_seed, "pre-render tiles of a bbox and zooms into MBTiles or PMTiles"},
    {"site", cr_cmd_site, "the public web map as static files with a PMTiles archive"},
    {"publish", cr_cmd_publish, "a consistent snapshot of the store for read replicas"},
    {"serve", cr_cmd_serve, "serve the HTTP API (health, tracing, vector tiles) over the store"},
    {"batches", cr_cmd_batches,
     "import history; one batch's rejects as CSV; undo a batch (--revert)"},
    {"quality", cr_cmd_quality, "water-quality class of sections by GB 3838-2002, per period"},
    {"alarms", cr_cmd_alarms,
     "water-quality alarms: detect, list with upstream/downstream, review"},
    {"compensation", cr_cmd_compensation, "eco-compensation statement of a rule file for a period"},
    {"sections", cr_cmd_sections,
     "the joint monitoring section table; both sides' results compared"},
    {"gate", cr_cmd_gate, "gate operations: the log, states at a time, advance notices"},
    {"incident", cr_cmd_incident,
     "record an incident; threatened intakes, whom to notify, the plan"},
    {"finding", cr_cmd_finding, "a patrol finding through rectification: step, show, list"},
    {"report", cr_cmd_report, "reports: the rectification report (整改报告) of a period"},
    {"review", cr_cmd_review, "rows and batches flagged for review, with their flags"},
    {"layers", cr_cmd_layers, "list the layer definitions: fields, types, header aliases"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: crossriver COMMAND [OPTIONS]\n\n"
                 "Joint river pollution prevention and control: ingest, store and serve the\n"
                 "shared inventories of neighbouring jurisdictions.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        fprintf(out, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    }
    fprintf(out, "\nEvery command takes --store PATH (default ./crossriver.sqlite), --json and "
                 "--help.\nExit codes: 0 ok, 1 failure, 2 usage, 3 some rows rejected.\n");
}

int main(int argc, char **argv)
{
    cr_store_global_init();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("crossriver %s\n", CR_VERSION);
        return CR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            return COMMANDS[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "crossriver: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CR_EXIT_USAGE;
}
