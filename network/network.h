/* SPDX-License-Identifier: MIT */
/* network: the river network built from reach endpoints (topology, validation, Strahler order,
 * upstream length, mainstem), stored on the reaches, and loaded as a read-only CSR graph.
 * Rule: a loaded cr_graph is immutable and may be shared between threads. */
#ifndef CR_NETWORK_NETWORK_H
#define CR_NETWORK_NETWORK_H

#include "store/store.h"

typedef enum { CR_FLOW_DOWN = 0, CR_FLOW_BOTH = 1, CR_FLOW_GATED = 2 } cr_flow;

/* The stored flow value ("down", "both", "gated") as a cr_flow; anything else is "down". */
cr_flow cr_flow_parse(const char *text);

typedef struct {
    double snap_tolerance_m; /* endpoints closer than this are one node */
    double dangle_check_m;   /* a dangling end this close to another reach is reported */
} cr_network_options;

/* One validation finding. */
typedef struct {
    char kind[24];    /* "disconnected", "dangling", "cycle", "zero_length", "duplicate" */
    char detail[480]; /* reach IDs, node, distance */
} cr_network_issue;

typedef struct {
    int64_t reaches;          /* reaches in the network */
    int64_t nodes;            /* nodes after snapping */
    int64_t components;       /* weakly connected components */
    int64_t lakes;            /* lake nodes used */
    int64_t gates;            /* gates placed on reaches */
    int64_t max_strahler;     /* highest order */
    cr_network_issue *issues; /* owned; free with cr_network_report_cleanup */
    size_t n_issues;
    double seconds;
} cr_network_report;

/* Build the topology from the current reaches (and lakes, gates) and store it: reaches get
 * from_node, to_node, length_m, strahler, upstream_length_m, mainstem, component, gate_ids;
 * network_nodes is rewritten. One transaction. */
cr_status cr_network_build(cr_store *store, const cr_network_options *opt,
                           cr_network_report *report, cr_error *err);
void cr_network_report_cleanup(cr_network_report *report);

/* The graph in compressed sparse rows. Reach r flows (as digitised) from from_node[r] to
 * to_node[r]; down_start/down_reach list, per node, the reaches leaving it; up_start/up_reach
 * the reaches arriving at it. */
typedef struct {
    int32_t n_nodes;
    int32_t n_reaches;
    char **reach_id;    /* per reach */
    int64_t *reach_fid; /* per reach: row in the store */
    int32_t *from_node, *to_node;
    double *length_m;
    double *velocity_ms; /* NaN where the data has none */
    uint8_t *flow;       /* cr_flow */
    int32_t *strahler;
    int32_t *down_start; /* n_nodes + 1 offsets into down_reach */
    int32_t *down_reach;
    int32_t *up_start; /* n_nodes + 1 offsets into up_reach */
    int32_t *up_reach;
    double *node_lon, *node_lat;
    int32_t *node_lake;       /* index into lake_id, or -1 */
    char **lake_id;           /* lakes met by nodes */
    double *lake_residence_h; /* per lake, NaN when unknown */
    int32_t n_lakes;
} cr_graph;

/* Load the stored topology (run cr_network_build first). Free with cr_graph_free. */
cr_status cr_graph_load(cr_store *store, cr_graph **out, cr_error *err);
void cr_graph_free(cr_graph *g);
/* Index of a reach by ID, or -1 (binary search; IDs are loaded sorted). */
int32_t cr_graph_find_reach(const cr_graph *g, const char *reach_id);
/* 1 when the CSR arrays are consistent (for assert()). */
int cr_graph_check(const cr_graph *g);

#endif
