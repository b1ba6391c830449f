/* SPDX-License-Identifier: MIT */
/* network: the river network built from reach endpoints (topology, validation, Strahler order,
 * upstream length, mainstem), stored on the reaches, and loaded as a read-only CSR graph.
 * Rule: a loaded cr_graph is immutable and may be shared between threads. */
#ifndef CR_NETWORK_NETWORK_H
#define CR_NETWORK_NETWORK_H

#include "geo/geo.h"
#include "store/access.h"
#include "store/store.h"

typedef enum { CR_FLOW_DOWN = 0, CR_FLOW_BOTH = 1, CR_FLOW_GATED = 2 } cr_flow;

typedef enum {
    CR_CLASS_MAINSTEM = 0,
    CR_CLASS_TRIBUTARY,
    CR_CLASS_CANAL,
    CR_CLASS_LAKE_LINK,
    CR_CLASS_OTHER
} cr_reach_class;

/* The stored flow value ("down", "both", "gated") as a cr_flow; anything else is "down". */
cr_flow cr_flow_parse(const char *text);

typedef struct {
    double snap_tolerance_m; /* endpoints closer than this are one node */
    double dangle_check_m;   /* a dangling end this close to another reach is reported */
    int from_attributes;     /* 1: nodes from the reaches' from/to node IDs or NEXT_DOWN (the
                                dataset's own topology), reporting where the geometry disagrees;
                                0: from snapping the geometry */
} cr_network_options;

/* One validation finding. */
typedef struct {
    char kind[24];    /* "disconnected", "dangling", "cycle", "zero_length", "duplicate",
                         "topology" (attributes missing), "topology_mismatch" */
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
/* 1 when the store's network was last built from the reaches' attributes (meta
 * network_topology), so a rebuild after an import keeps that choice. */
int cr_network_topology_from_attributes(cr_store *store);
/* The options a rebuild uses: the reaches layer's join.network.snap_tolerance_m (else 5 m),
 * a 50 m dangle check, and the store's last topology choice. */
void cr_network_options_for(cr_store *store, cr_network_options *out);

/* The graph in compressed sparse rows. Reach r flows (as digitised) from from_node[r] to
 * to_node[r]; down_start/down_reach list, per node, the reaches leaving it; up_start/up_reach
 * the reaches arriving at it. */
typedef struct {
    int32_t n_nodes;
    int32_t n_reaches;
    char **reach_id;    /* per reach */
    int32_t *id_order;  /* reach indices sorted by reach_id (cr_graph_find_reach) */
    int64_t *reach_fid; /* per reach: row in the store */
    int32_t *from_node, *to_node;
    double *length_m;
    double *velocity_ms;   /* NaN where the data has none */
    double *discharge_m3s; /* NaN where the data has none */
    uint8_t *flow;         /* cr_flow */
    int32_t *strahler;
    uint8_t *reach_class; /* CR_CLASS_* for default velocities */
    uint8_t *minor;       /* 1: a minor path at a split (the data's divergence): main skips it */
    int32_t *mainstem;    /* index into mainstem_name */
    char **mainstem_name;
    int32_t n_mainstems;
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
/* Index of a reach by ID, or -1 (binary search over id_order). Reaches and nodes are numbered
 * breadth-first upstream from the outlets, the order a basin-wide trace walks them, so such a
 * trace reads the arrays nearly in sequence. */
int32_t cr_graph_find_reach(const cr_graph *g, const char *reach_id);
/* 1 when the CSR arrays are consistent (for assert()). */
int cr_graph_check(const cr_graph *g);

/* ---- the reach index -------------------------------------------------------------------- */

/* One reach of the index: its row, ID, folded name and vertices (in cr_reach_index.coords). */
typedef struct {
    int64_t fid;
    char *id;     /* reach_id */
    char *folded; /* name folded (cr_text_fold), for river-name matches */
    size_t first; /* first vertex in coords (lon,lat pairs) */
    size_t n;     /* vertices */
} cr_indexed_reach;

/* The current reaches on the segment grid; read-only after loading (any thread may query). */
typedef struct {
    cr_indexed_reach *reaches; /* sorted by ID */
    size_t n;
    double *coords; /* every vertex, lon,lat pairs */
    size_t n_coords;
    cr_segindex *ix; /* owner = index into reaches */
    char *text;      /* every reach's id and folded name, NUL-terminated (one allocation) */
    int from_saved;  /* read from the saved copy */
} cr_reach_index;

typedef struct {
    int32_t reach;    /* index into reaches */
    const char *id;   /* borrowed from the index */
    double dist_m;    /* from the point */
    double measure_m; /* along the reach from its first vertex */
    int side;         /* > 0 left, < 0 right (looking along the reach), 0 on it */
} cr_reach_hit;

/* Load the index of the current reaches. Free with cr_reach_index_free. It reads the saved
 * copy (cr_reach_index_save) when no batch has changed the reaches since it was saved and the
 * table's highest row ID is the same (rows change only in batches, never in place: an edit or
 * an undo closes rows and adds new ones), and otherwise reads the reaches table. */
cr_status cr_reach_index_load(cr_store *store, cr_reach_index **out, cr_error *err);
/* 1 when the last load of *rx came from the saved copy. */
int cr_reach_index_from_saved(const cr_reach_index *rx);

/* One saved part read as a whole saved copy of `reaches` reaches with `coords` vertices and
 * `text` bytes of IDs and names (the fuzz driver's way in): the index, built, or NULL when the
 * part is not one. */
cr_reach_index *cr_reach_index_from_part(const unsigned char *data, size_t len, size_t reaches,
                                         size_t coords, size_t text);

/* One reach as the saver gets it: ID, name, row and vertices (lon,lat pairs). */
typedef struct {
    int64_t fid;
    const char *id;
    const char *name;
    const double *coords;
    size_t n;
} cr_reach_line;
/* Save the index's input (every current reach with a line of 2+ vertices, ascending by ID:
 * line(user, i, &out) fills reach i of n) in the store, with the reaches' last batch and
 * highest row ID (inside the caller's transaction: the network build does it). */
cr_status cr_reach_index_save(cr_store *store, size_t n,
                              void (*line)(void *user, size_t i, cr_reach_line *out), void *user,
                              cr_error *err);
void cr_reach_index_free(cr_reach_index *rx);
/* The nearest reach within max_m of lon,lat (named like river when river is not NULL or ""):
 * 1 and *out, else 0. Thread-safe. */
int cr_reach_index_nearest(const cr_reach_index *rx, double lon, double lat, double max_m,
                           const char *river, cr_reach_hit *out);
/* 1 when one folded name contains the other (a record's river and a reach's name). */
int cr_reach_names_match(const char *a_folded, const char *b_folded);

/* ---- upstream accumulation ------------------------------------------------------------ */

typedef enum { CR_SPLIT_MAIN = 0, CR_SPLIT_FRACTION } cr_split_rule;

typedef struct {
    const char *field;          /* a reach field (discharge_m3s) or LAYER.FIELD summed over the
                                   point features joined to each reach (outfalls.discharge_m3d) */
    cr_split_rule split;        /* at a split: all to the main path, or by fraction_field */
    const char *fraction_field; /* reaches: the share of a split a leaving reach takes */
} cr_accumulate_options;

typedef struct {
    int64_t reaches;   /* reaches accumulated */
    int64_t sources;   /* values found (reaches with the field, or features) */
    double at_outlets; /* the totals leaving the network */
    int64_t in_cycles; /* reaches on one-way cycles, cut where each closes */
    double seconds;
} cr_accumulate_report;

/* Sum opt->field over everything upstream of every reach (the reach itself included), in flow
 * order, splitting by opt->split; the totals are stored in reach_accumulations (field,
 * reach_fid, value), where tiles (attribute "accumulated.FIELD") and traces find them, and the
 * reaches' tiles are invalidated. *values_out (may be NULL) gets them per graph reach (caller
 * frees with free()). CR_EINVAL for a field that is not a number. */
cr_status cr_network_accumulate(cr_store *store, const cr_graph *g,
                                const cr_accumulate_options *opt, double **values_out,
                                cr_accumulate_report *report, cr_error *err);
/* Store totals per graph reach under field (one transaction; replaces that field's). */
cr_status cr_network_store_accumulation(cr_store *store, const cr_graph *g, const char *field,
                                        const double *total, cr_error *err);

/* ---- tracing ------------------------------------------------------------------------- */

typedef enum { CR_TRACE_DOWN = 0, CR_TRACE_UP = 1 } cr_trace_direction;

/* A point the trace may reach but not pass (a cross-boundary section, a jurisdiction line). */
typedef struct {
    int32_t reach; /* graph index */
    double m;      /* measure from the reach's upstream end */
} cr_trace_stop;

typedef struct {
    cr_trace_direction direction; /* with the flow, or against it */
    int main_only;                /* mainstem only (else every branch, minor paths included) */
    double max_km;                /* network distance bound (has_max_km), else <= 0 for none */
    double max_hours;             /* travel time bound (has_max_hours), else <= 0 for none */
    double velocity_ms;           /* > 0: use for every reach (overrides data and defaults) */
    double dispersion_m2s;        /* > 0: longitudinal dispersion for every reach, else by class */
    const int32_t *closed;        /* reaches a closed gate blocks */
    size_t n_closed;
    const int32_t *reversed; /* reaches whose flow a gate reverses */
    size_t n_reversed;
    const cr_trace_stop *stops; /* the trace goes no further than these points (by reach) */
    size_t n_stops;
    int has_max_km;    /* 1: max_km bounds the trace even when 0 (the start reach, partly) */
    int has_max_hours; /* 1: max_hours bounds it even when 0 */
    int exclude_start; /* 1: the start reach is left out of the result */
} cr_trace_options;

/* One reach reached: the part covered, where the trace entered and left it. The variances and
 * the lake's residence time are kept in single precision (they come from a dispersion model
 * and a residence estimate good to a few per cent); a basin-wide result is 72 bytes a reach. */
typedef struct {
    int32_t reach;            /* graph index */
    uint8_t bidirectional;    /* the reach's flow is "both" */
    uint8_t against;          /* traversed against its digitised direction */
    uint8_t partial;          /* cut by a bound */
    uint8_t gated;            /* a gated reach (open in this scenario) */
    uint8_t stopped;          /* cut at a stop point */
    float mix_tau_s;          /* the residence time (s) of the largest well-mixed lake the water
                                 passed on the way here, 0 when none: a lake mixes, it does not
                                 delay (cr_spill_estimate dilutes and lengthens the cloud) */
    float entry_var_s2;       /* temporal variance a pulse has gathered when it enters (s²) */
    float exit_var_s2;        /* … when it leaves the covered part */
    double entry_m, exit_m;   /* measures (from the reach's upstream end) where the trace entered
                                 and left; exit < entry when traversed against its digitisation */
    double entry_km, exit_km; /* network distance from the start */
    double entry_h, exit_h;   /* travel time from the start */
} cr_trace_reach;

typedef struct {
    cr_trace_reach *reaches; /* each reach once, in traversal order (by distance when bounded) */
    size_t n;
    double lake_hours; /* residence time added crossing lakes on the farthest path */
    size_t room;       /* reaches allocated (cr_trace_result_recycle keeps large ones) */
} cr_trace_result;

/* Per-thread scratch space sized to a graph, reused across traces: only what a trace touched
 * is reset, so a short trace costs nothing in proportion to the network. Caller frees it with
 * cr_trace_workspace_free, before the graph. */
typedef struct cr_trace_workspace cr_trace_workspace;
cr_trace_workspace *cr_trace_workspace_new(const cr_graph *g);
void cr_trace_workspace_free(cr_trace_workspace *ws);

/* Default velocity (m/s) by reach class, used where the data has none. */
double cr_trace_default_velocity(cr_reach_class c);
/* Default longitudinal dispersion coefficient (m²/s) and discharge (m³/s) by reach class. */
double cr_trace_default_dispersion(cr_reach_class c);
double cr_trace_default_discharge(cr_reach_class c);

/* A spill at the start of a downstream trace, seen at one place on the path. */
typedef struct {
    double arrival_h;       /* advective travel time to the place */
    double sigma_h;         /* spread (standard deviation) of the pulse there */
    double leading_edge_h;  /* arrival − 3σ: concentrations start to rise */
    double peak_h;          /* arrival + release/2 (below a mixed lake: + release) */
    double peak_mg_l;       /* peak concentration */
    double trailing_edge_h; /* arrival + release + 3σ (+ ln(100)·τ below a mixed lake) */
    double discharge_m3s;   /* the dilution used */
    double lake_tau_h;      /* residence time of the mixed lake passed, 0 when none */
} cr_spill_at;

/* One-dimensional advection–dispersion (a Gaussian cloud in time, variances added reach by
 * reach): mass_kg released evenly over release_h hours (0: instantaneous), seen at measure m
 * of reached reach tr. */
void cr_spill_estimate(const cr_graph *g, const cr_trace_options *opt, const cr_trace_reach *tr,
                       double m, double mass_kg, double release_h, cr_spill_at *out);
/* Trace from reach start at start_m metres from its upstream end. Terminates on any network
 * (cycles, braids, bidirectional reaches); each reach is reported once, at its shortest
 * network distance. Thread-safe on a shared graph. Free with cr_trace_result_cleanup. */
cr_status cr_trace_run(const cr_graph *g, int32_t start, double start_m,
                       const cr_trace_options *opt, cr_trace_result *out, cr_error *err);
/* The same with a caller's workspace (one per thread; built for this graph). */
cr_status cr_trace_run_ws(const cr_graph *g, cr_trace_workspace *ws, int32_t start, double start_m,
                          const cr_trace_options *opt, cr_trace_result *out, cr_error *err);
void cr_trace_result_cleanup(cr_trace_result *r);
/* The same as cleanup, but a basin-sized result's memory stays with the workspace for its next
 * large trace (released to the system lazily, MADV_FREE), so a thread tracing whole basins
 * again does not fault and zero the pages anew. ws may be NULL (then it is cleanup). */
void cr_trace_result_recycle(cr_trace_workspace *ws, cr_trace_result *r);

#endif
