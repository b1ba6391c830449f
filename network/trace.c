/* SPDX-License-Identifier: MIT */
/* Upstream/downstream tracing on the CSR graph: Dijkstra over nodes by network distance, so
 * loops, braids and lakes terminate and every reach is reported once, at its shortest
 * distance. Rule: reads the graph only; all state is per call (thread-safe on a shared graph). */
#include "core/heap.h"
#include "network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

double cr_trace_default_velocity(cr_reach_class c)
{
    /* slow plain-network rivers; documented in docs/tracing.md */
    switch (c) {
    case CR_CLASS_MAINSTEM:
        return 0.30;
    case CR_CLASS_TRIBUTARY:
        return 0.20;
    case CR_CLASS_CANAL:
        return 0.15;
    case CR_CLASS_LAKE_LINK:
        return 0.05;
    case CR_CLASS_OTHER:
        break;
    }
    return 0.20;
}

double cr_trace_default_dispersion(cr_reach_class c)
{
    /* order of magnitude for slow lowland rivers and canals (Fischer et al. 1979 ranges) */
    switch (c) {
    case CR_CLASS_MAINSTEM:
        return 30.0;
    case CR_CLASS_TRIBUTARY:
        return 10.0;
    case CR_CLASS_CANAL:
        return 5.0;
    case CR_CLASS_LAKE_LINK:
        return 50.0;
    case CR_CLASS_OTHER:
        break;
    }
    return 10.0;
}

double cr_trace_default_discharge(cr_reach_class c)
{
    switch (c) {
    case CR_CLASS_MAINSTEM:
        return 100.0;
    case CR_CLASS_TRIBUTARY:
        return 10.0;
    case CR_CLASS_CANAL:
        return 30.0;
    case CR_CLASS_LAKE_LINK:
        return 50.0;
    case CR_CLASS_OTHER:
        break;
    }
    return 10.0;
}

/* Everything a trace reads and keeps per node, in one place: a trace that jumps to a node finds
 * its reaches' ranges, its lake and its state on the same cache line. */
typedef struct {
    double dist;    /* metres from the start (valid when the stamp is this trace's) */
    double hours;   /* travel time */
    double var;     /* temporal variance of a pulse arriving (s²) */
    float tau;      /* residence time of the largest mixed lake passed (s), 0 when none; single
                       precision as the result keeps it */
    uint32_t stamp; /* bits 1-31: the trace that last reached it (others' values are stale, so
                       nothing is reset between traces); bit 0: settled (Dijkstra) or queued
                       (FIFO) */
    int32_t down0, down1; /* the graph's down_reach[down0 .. down1): reaches leaving it */
    int32_t up0, up1;     /* up_reach[up0 .. up1): reaches arriving at it */
    int32_t lake;         /* the graph's node_lake */
    uint8_t both;         /* 1: a leaving reach flows both ways; 2: an arriving one does */
} node_state;

/* What a trace reads per reach, together (one cache line, not six arrays' worth). */
typedef struct {
    double len;   /* metres */
    double inv_u; /* seconds per metre (1/u), for this workspace's velocity override */
    double var_m; /* temporal variance gathered per metre, 2D/u³ (s²/m) */
    int32_t from, to;
    uint8_t flow; /* cr_flow */
} reach_hot;

typedef struct {
    const cr_graph *g;
    const cr_trace_options *opt;
    double max_m, max_h;        /* bounds (INFINITY when none) */
    node_state *ns;             /* per node */
    int32_t *via;               /* per node: the reach it was reached through (main mode only) */
    int gates;                  /* the scenario closes or reverses something */
    const reach_hot *rh;        /* per reach */
    const cr_trace_stop *stops; /* sorted by reach; with stop_first: where each reach's begin */
    double cur_tau;             /* the lake mixing carried by the part being recorded (s) */
    int32_t *stop_first;        /* per reach: first index in stops, or -1 (only with stops) */
    unsigned char *blocked;     /* per reach: closed gate */
    unsigned char *reversed;    /* per reach: gate reverses its flow */
    int32_t *slot;              /* per reach: index in out, or -1 */
    int32_t start_mainstem;
    cr_trace_result *out;
    size_t cap; /* reaches allocated in out */
    cr_heap h;
    struct cr_trace_workspace *ws;
    uint32_t gen;   /* this trace's stamp (bit 0 clear) */
    int fifo;       /* unbounded: label-correcting with a FIFO queue */
    int32_t *queue; /* ring of nodes (fifo), n_nodes + 1 */
    size_t q_head, q_len, q_cap;
} tracer;

struct cr_trace_workspace {
    int32_t n_nodes, n_reaches; /* the graph it was built for */
    node_state *ns;             /* per node */
    int32_t *via;               /* per node, allocated on the first main-mode trace */
    unsigned char *blocked;     /* per reach */
    unsigned char *reversed;    /* per reach */
    int32_t *slot;              /* per reach */
    uint32_t gen;               /* the last trace's stamp */
    reach_hot *rh;              /* per reach; the rates for rates_u, rates_d */
    double rates_u, rates_d;    /* the velocity/dispersion overrides the rates were made for */
    int rates_ready;
    int32_t *queue;        /* FIFO ring for unbounded traces, allocated on first use */
    cr_trace_reach *spare; /* a recycled basin-sized result buffer (cr_trace_result_recycle) */
    size_t spare_room;
    cr_heap h;
};

static double reach_velocity(const cr_graph *g, const cr_trace_options *opt, int32_t r)
{
    if (opt->velocity_ms > 0) {
        return opt->velocity_ms;
    }
    double v = g->velocity_ms[r];
    return isfinite(v) && v > 0 ? v : cr_trace_default_velocity((cr_reach_class)g->reach_class[r]);
}

static double reach_dispersion(const cr_graph *g, const cr_trace_options *opt, int32_t r)
{
    return opt->dispersion_m2s > 0 ? opt->dispersion_m2s
                                   : cr_trace_default_dispersion((cr_reach_class)g->reach_class[r]);
}

static double velocity(const tracer *t, int32_t r)
{
    return reach_velocity(t->g, t->opt, r);
}

/* Temporal variance a pulse gathers over len metres of reach r: σx² = 2Dt, σt² = σx²/u². */
static double variance_over(const tracer *t, int32_t r, double len)
{
    double u = velocity(t, r);
    return 2.0 * reach_dispersion(t->g, t->opt, r) * len / (u * u * u);
}

/* Room for more reaches in the result. Small results double on the heap; one that outgrows
 * 2 MiB moves once to room for every reach of the graph (each is reported at most once), on
 * transparent huge pages where the system has them: a basin-wide trace then takes a few dozen
 * page faults instead of twenty thousand, and is never copied again. Untouched room costs no
 * memory. Freed with free() like any result. */
enum { HUGE_BYTES = 2u << 20 };

static void grow_out(tracer *t)
{
    enum { HUGE = HUGE_BYTES };
    struct cr_trace_workspace *ws = t->ws;
    size_t size = sizeof *t->out->reaches;
    size_t all = (size_t)t->g->n_reaches + 1;
    size_t next = t->cap ? t->cap * 2 : 256;
    if (next * size < HUGE || next >= all) {
        t->cap = next < all || t->cap == 0 ? next : all;
        t->out->reaches = cr_xrealloc(t->out->reaches, t->cap * size);
        return;
    }
    size_t bytes = (all * size + HUGE - 1) / HUGE * HUGE;
    void *p = NULL;
    if (ws->spare != NULL && ws->spare_room >= all) {
        p = ws->spare; /* the last basin-sized result's pages, still mapped */
        bytes = ws->spare_room * size;
        ws->spare = NULL;
        ws->spare_room = 0;
    } else if (posix_memalign(&p, HUGE, bytes) != 0) {
        t->cap = next;
        t->out->reaches = cr_xrealloc(t->out->reaches, t->cap * size);
        return;
    } else {
#ifdef MADV_HUGEPAGE
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without it, ordinary pages */
#endif
    }
    memcpy(p, t->out->reaches, t->out->n * size);
    free(t->out->reaches);
    t->out->reaches = p;
    t->cap = bytes / size;
}

/* The time and variance where the water leaves a reach it crossed whole. */
typedef struct {
    double h, var;
} far_end;

/* Report reach r entered at entry_m (d0 m and h0 hours from the start, variance var0) towards
 * exit_m, cut by the bounds and stops. 1 when the water crosses it whole: then *exit (when not
 * NULL) gets its far end, in full precision for the next reach. */
static int record(tracer *t, int32_t r, double entry_m, double exit_m, double d0, double h0,
                  double var0, far_end *exit)
{
    double len = fabs(exit_m - entry_m);
    int stopped = 0;
    if (t->stop_first && t->stop_first[r] >= 0) {
        /* the nearest stop ahead on this reach, in the direction of travel */
        double dir_ = exit_m >= entry_m ? 1 : -1;
        for (size_t k = (size_t)t->stop_first[r]; k < t->opt->n_stops && t->stops[k].reach == r;
             k++) {
            double ahead = (t->stops[k].m - entry_m) * dir_;
            if (ahead >= 0 && ahead <= len) {
                len = ahead;
                stopped = 1;
            }
        }
        exit_m = entry_m + dir_ * len;
    }
    const reach_hot *rh = &t->rh[r];
    double inv_u = rh->inv_u;
    double room_m =
        isfinite(t->max_h) ? fmin(t->max_m - d0, (t->max_h - h0) * 3600.0 / inv_u) : t->max_m - d0;
    int whole = room_m >= len && !stopped;
    double covered = room_m >= len ? len : room_m > 0 ? room_m : 0;
    double dir = exit_m >= entry_m ? 1 : -1;
    double exit_h = h0 + covered * inv_u * (1.0 / 3600.0);
    double exit_var = var0 + covered * rh->var_m;
    if (exit) {
        *exit = (far_end){exit_h, exit_var};
    }
    if (t->slot[r] >= 0 && t->out->reaches[t->slot[r]].entry_km * 1000.0 <= d0) {
        return whole; /* already reported nearer */
    }
    if (t->slot[r] < 0) {
        if (t->out->n == t->cap) {
            grow_out(t);
        }
        t->slot[r] = (int32_t)t->out->n++;
    }
    cr_trace_reach *tr = &t->out->reaches[t->slot[r]];
    tr->reach = r;
    tr->entry_m = entry_m;
    tr->exit_m = entry_m + dir * covered;
    tr->entry_km = d0 / 1000.0;
    tr->exit_km = (d0 + covered) / 1000.0;
    tr->entry_h = h0;
    tr->exit_h = exit_h;
    tr->entry_var_s2 = (float)var0;
    tr->exit_var_s2 = (float)exit_var;
    tr->mix_tau_s = (float)t->cur_tau;
    tr->bidirectional = rh->flow == CR_FLOW_BOTH;
    tr->against = dir < 0;
    tr->partial = room_m < len;
    tr->stopped = stopped && room_m >= len;
    tr->gated = rh->flow == CR_FLOW_GATED;
    return whole;
}

/* A lake node's residence time in seconds (0 when not a lake or unknown). A lake is a
 * well-mixed volume (a continuously stirred tank): what enters is at its outlet at once,
 * diluted by the lake's volume, and leaves over several residence times — it mixes the cloud
 * instead of delaying it, so it adds no travel time. */
static double lake_tau_s(const tracer *t, int32_t v)
{
    int32_t l = t->ns[v].lake;
    if (l < 0) {
        return 0;
    }
    double h = t->g->lake_residence_h[l];
    return isfinite(h) && h > 0 ? h * 3600.0 : 0;
}

static int node_done(const node_state *n)
{
    return (int)(n->stamp & 1u);
}

static void reach_node(tracer *t, int32_t w, double d, double h, double var, int32_t via)
{
    node_state *n = &t->ns[w];
    if ((n->stamp & ~1u) != t->gen) {
        n->stamp = t->gen; /* first reached in this trace: no distance yet, not done */
    } else if (d >= n->dist || (!t->fifo && node_done(n))) {
        /* Dijkstra never improves a settled node; in FIFO mode `done` means queued instead */
        return;
    }
    n->dist = d;
    n->hours = h;
    n->var = var;
    n->tau = (float)t->cur_tau;
    if (t->via) {
        t->via[w] = via;
    }
    if (!t->fifo) {
        cr_heap_push(&t->h, d, w);
    } else if (!node_done(n)) {
        n->stamp |= 1u;
        t->queue[(t->q_head + t->q_len++) & (t->q_cap - 1)] = w;
    }
}

/* In main mode, may the trace continue from node v (reached via reach `via`) into reach s?
 * Downstream: the reach carrying the same mainstem, else (a tributary ending in a river) the
 * leaving reach of highest order. Upstream: the start reach's mainstem only. A mainstem is the
 * data's main-river key (level path) where it has one, across name changes; minor paths at
 * splits are never taken. */
static int main_allows(const tracer *t, int32_t v, int32_t via, int32_t s)
{
    const cr_graph *g = t->g;
    if (g->minor[s]) {
        return 0; /* a minor path at a split is never the main one */
    }
    if (t->opt->direction == CR_TRACE_UP) {
        return g->mainstem[s] == t->start_mainstem;
    }
    int32_t ms = via >= 0 ? g->mainstem[via] : t->start_mainstem;
    int32_t best = -1;
    for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
        int32_t c = g->down_reach[k];
        if (t->blocked[c] || t->reversed[c] || g->minor[c]) {
            continue;
        }
        if (g->mainstem[c] == ms) {
            return c == s;
        }
        if (best < 0 || g->strahler[c] > g->strahler[best]) {
            best = c;
        }
    }
    return best == s;
}

/* Follow reach s out of node v: forward (v is its from-node) or backward (v its to-node). */
static void follow(tracer *t, int32_t v, int32_t s, int forward)
{
    if ((t->gates && t->blocked[s]) || (t->opt->main_only && !main_allows(t, v, t->via[v], s))) {
        return;
    }
    const node_state *n = &t->ns[v];
    double d0 = n->dist;
    double h0 = n->hours;
    double lake_tau = n->lake >= 0 ? lake_tau_s(t, v) : 0;
    t->cur_tau = n->tau > lake_tau ? n->tau : lake_tau; /* neither is NaN */
    double len = t->rh[s].len;
    double var0 = n->var;
    far_end e;
    if (forward ? record(t, s, 0, len, d0, h0, var0, &e) : record(t, s, len, 0, d0, h0, var0, &e)) {
        reach_node(t, forward ? t->rh[s].to : t->rh[s].from, d0 + len, e.h, e.var, s);
    }
}

/* Reaches a trace may take out of node v, and in which direction:
 *  down: reaches leaving v that flow on (down, gated, both), reaches arriving at v that can
 *        flow back (both) or whose flow a gate reverses;
 *  up:   the mirror image, against the flow. */
static void expand(tracer *t, int32_t v)
{
    const cr_graph *g = t->g;
    int down = t->opt->direction == CR_TRACE_DOWN;
    const node_state *n = &t->ns[v];
    /* against its direction a reach is taken only when it flows both ways or a gate reverses
     * it: without either at this node, that side's list is not even read */
    int32_t down0 = down || t->gates || (n->both & 1) ? n->down0 : n->down1;
    int32_t up1 = !down || t->gates || (n->both & 2) ? n->up1 : n->up0;
    int32_t down1 = n->down1, up0 = n->up0;
    for (int32_t k = down0; k < down1; k++) {
        int32_t s = g->down_reach[k]; /* digitised away from v */
        int rev = t->gates && t->reversed[s];
        int flows_away = !rev;
        int flows_in = rev || t->rh[s].flow == CR_FLOW_BOTH;
        if ((down && flows_away) || (!down && flows_in)) {
            follow(t, v, s, 1);
        }
    }
    for (int32_t k = up0; k < up1; k++) {
        int32_t s = g->up_reach[k]; /* digitised into v */
        int rev = t->gates && t->reversed[s];
        int flows_in = !rev;
        int flows_away = down && (rev || t->rh[s].flow == CR_FLOW_BOTH);
        if ((down && flows_away) || (!down && flows_in)) {
            follow(t, v, s, 0);
        }
    }
}

/* The start reach: the part from start_m in the direction(s) the water can go. */
static void start_from(tracer *t, int32_t s, double start_m)
{
    const cr_graph *g = t->g;
    double len = g->length_m[s];
    int down = t->opt->direction == CR_TRACE_DOWN;
    int along = !t->reversed[s]; /* flows as digitised */
    int both = g->flow[s] == CR_FLOW_BOTH;
    /* downstream follows the flow; upstream goes against it */
    int forward = down ? (along || both) : (!along || both);
    int backward = down ? (!along || both) : (along || both);
    t->cur_tau = 0;
    if (t->blocked[s]) {
        record(t, s, start_m, start_m, 0, 0, 0, NULL);
        return;
    }
    far_end e;
    if (forward && record(t, s, start_m, len, 0, 0, 0, &e)) {
        reach_node(t, g->to_node[s], len - start_m, e.h, e.var, s);
    }
    if (backward) {
        /* a second part of the same reach: report the nearer, traverse both */
        double room = start_m;
        double v = velocity(t, s);
        if (!forward) {
            record(t, s, start_m, 0, 0, 0, 0, NULL);
        }
        if (room <= t->max_m && room / v / 3600.0 <= t->max_h) {
            reach_node(t, g->from_node[s], room, room / v / 3600.0, variance_over(t, s, room), s);
        }
    }
}

cr_trace_workspace *cr_trace_workspace_new(const cr_graph *g)
{
    cr_trace_workspace *ws = cr_xcalloc(1, sizeof *ws);
    size_t nn = (size_t)g->n_nodes + 1;
    size_t nr = (size_t)g->n_reaches + 1;
    ws->n_nodes = g->n_nodes;
    ws->n_reaches = g->n_reaches;
    ws->ns = cr_xcalloc(nn, sizeof *ws->ns);
    for (int32_t v = 0; v < g->n_nodes; v++) {
        node_state *n = &ws->ns[v];
        n->down0 = g->down_start[v];
        n->down1 = g->down_start[v + 1];
        n->up0 = g->up_start[v];
        n->up1 = g->up_start[v + 1];
        n->lake = g->node_lake[v];
        for (int32_t k = n->down0; k < n->down1; k++) {
            n->both |= g->flow[g->down_reach[k]] == CR_FLOW_BOTH ? 1 : 0;
        }
        for (int32_t k = n->up0; k < n->up1; k++) {
            n->both |= g->flow[g->up_reach[k]] == CR_FLOW_BOTH ? 2 : 0;
        }
    }
    ws->ns[g->n_nodes].lake = -1;
    ws->rh = cr_xcalloc(nr, sizeof *ws->rh);
    for (int32_t r = 0; r < g->n_reaches; r++) {
        ws->rh[r] = (reach_hot){.len = g->length_m[r],
                                .from = g->from_node[r],
                                .to = g->to_node[r],
                                .flow = g->flow[r]};
    }
    ws->blocked = cr_xcalloc(nr, 1);
    ws->reversed = cr_xcalloc(nr, 1);
    ws->slot = cr_xmalloc(nr * sizeof *ws->slot);
    for (size_t r = 0; r < nr; r++) {
        ws->slot[r] = -1;
    }
    return ws;
}

void cr_trace_workspace_free(cr_trace_workspace *ws)
{
    if (ws == NULL) {
        return;
    }
    free(ws->ns);
    free(ws->via);
    free(ws->blocked);
    free(ws->reversed);
    free(ws->slot);
    free(ws->queue);
    free(ws->rh);
    free(ws->h.a);
    free(ws->spare);
    free(ws);
}

/* Per-reach rates for this run's velocity/dispersion overrides, kept while they stay the same
 * (a workspace serves one thread, which rarely changes them). */
static void prepare_rates(cr_trace_workspace *ws, const cr_graph *g, const cr_trace_options *opt)
{
    if (ws->rates_ready && ws->rates_u == opt->velocity_ms && ws->rates_d == opt->dispersion_m2s) {
        return;
    }
    for (int32_t r = 0; r < g->n_reaches; r++) {
        double u = reach_velocity(g, opt, r);
        ws->rh[r].inv_u = 1.0 / u;
        ws->rh[r].var_m = 2.0 * reach_dispersion(g, opt, r) / (u * u * u);
    }
    ws->rates_u = opt->velocity_ms;
    ws->rates_d = opt->dispersion_m2s;
    ws->rates_ready = 1;
}

/* Put back what a trace changed. */
static void workspace_reset(cr_trace_workspace *ws, const cr_trace_options *opt,
                            const cr_trace_result *out)
{
    if (out->n > (size_t)ws->n_reaches / 16) {
        /* a large trace: one pass over the slots beats reading back the whole result */
        memset(ws->slot, 0xff, ((size_t)ws->n_reaches + 1) * sizeof *ws->slot);
    } else {
        for (size_t i = 0; i < out->n; i++) {
            ws->slot[out->reaches[i].reach] = -1;
        }
    }
    for (size_t i = 0; i < opt->n_closed; i++) {
        ws->blocked[opt->closed[i]] = 0;
    }
    for (size_t i = 0; i < opt->n_reversed; i++) {
        ws->reversed[opt->reversed[i]] = 0;
    }
    ws->h.n = 0;
}

/* The tracer for one run: bounds, rates, stops by reach, gates, and the FIFO ring when the
 * run is unbounded. */
static cr_status tracer_init(tracer *t, const cr_graph *g, cr_trace_workspace *ws,
                             const cr_trace_options *opt, cr_trace_result *out, cr_error *err)
{
    t->g = g;
    t->opt = opt;
    t->out = out;
    t->ws = ws;
    ws->gen += 2;
    if (ws->gen == 0) { /* wrapped after 2³¹ traces: forget every stamp once */
        for (int32_t v = 0; v <= g->n_nodes; v++) {
            ws->ns[v].stamp = 0;
        }
        ws->gen = 2;
    }
    t->gen = ws->gen;
    /* a bound given as 0 is a bound: the start reach, partly (zero means zero) */
    t->max_m = opt->max_km > 0 || opt->has_max_km ? fmax(opt->max_km, 0) * 1000.0 : INFINITY;
    t->max_h = opt->max_hours > 0 || opt->has_max_hours ? fmax(opt->max_hours, 0) : INFINITY;
    t->ns = ws->ns;
    if (opt->main_only) {
        if (ws->via == NULL) {
            ws->via = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *ws->via);
        }
        t->via = ws->via;
    }
    t->gates = opt->n_closed > 0 || opt->n_reversed > 0;
    prepare_rates(ws, g, opt);
    t->rh = ws->rh;
    if (opt->n_stops > 0) {
        for (size_t k = 1; k < opt->n_stops; k++) {
            if (opt->stops[k].reach < opt->stops[k - 1].reach) {
                return cr_error_set(err, CR_EINVAL, "trace: stops must be sorted by reach");
            }
        }
        t->stops = opt->stops;
        t->stop_first = cr_xmalloc(((size_t)g->n_reaches + 1) * sizeof *t->stop_first);
        for (int32_t r = 0; r < g->n_reaches; r++) {
            t->stop_first[r] = -1;
        }
        for (size_t k = opt->n_stops; k-- > 0;) {
            t->stop_first[opt->stops[k].reach] = (int32_t)k;
        }
    }
    t->blocked = ws->blocked;
    t->reversed = ws->reversed;
    t->slot = ws->slot;
    t->h = ws->h;
    for (size_t i = 0; i < opt->n_closed; i++) {
        t->blocked[opt->closed[i]] = 1;
    }
    for (size_t i = 0; i < opt->n_reversed; i++) {
        t->reversed[opt->reversed[i]] = 1;
    }
    /* Without bounds nothing needs nodes in order of distance: label-correcting with a FIFO
     * queue gives the same shortest distances once the queue is empty, in near-linear time on
     * river networks (braids are few), and the result is sorted once at the end. */
    t->fifo = !isfinite(t->max_m) && !isfinite(t->max_h);
    if (t->fifo) {
        size_t cap = 1;
        while (cap < (size_t)g->n_nodes + 1) {
            cap <<= 1; /* a power of two: the ring wraps with a mask */
        }
        if (ws->queue == NULL) {
            ws->queue = cr_xmalloc(cap * sizeof *ws->queue);
        }
        t->queue = ws->queue;
        t->q_cap = cap;
    }
    return CR_OK;
}

cr_status cr_trace_run_ws(const cr_graph *g, cr_trace_workspace *ws, int32_t start, double start_m,
                          const cr_trace_options *opt, cr_trace_result *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    if (start < 0 || start >= g->n_reaches) {
        return cr_error_set(err, CR_EINVAL, "trace: no reach %d in the network", start);
    }
    if (ws->n_nodes != g->n_nodes || ws->n_reaches != g->n_reaches) {
        return cr_error_set(err, CR_EINVAL, "trace: workspace built for another graph");
    }
    tracer t = {0};
    cr_status rc = tracer_init(&t, g, ws, opt, out, err);
    if (rc != CR_OK) {
        return rc;
    }
    t.start_mainstem = g->mainstem[start];
    start_m = fmin(fmax(start_m, 0), g->length_m[start]);
    start_from(&t, start, start_m);
    while (t.fifo && t.q_len > 0) {
        int32_t v = t.queue[t.q_head];
        t.q_head = (t.q_head + 1) & (t.q_cap - 1);
        t.q_len--;
        t.ns[v].stamp &= ~1u;
        expand(&t, v);
    }
    while (!t.fifo && t.h.n > 0) {
        cr_heap_item it = cr_heap_pop(&t.h);
        if (node_done(&t.ns[it.node]) || it.d > t.ns[it.node].dist) {
            continue;
        }
        t.ns[it.node].stamp |= 1u;
        if (t.ns[it.node].dist >= t.max_m || t.ns[it.node].hours >= t.max_h) {
            continue;
        }
        expand(&t, it.node);
    }
    /* reaches stay in traversal order: the report sorts what people read */
    free(t.stop_first);
    out->room = t.cap;
    ws->h = t.h;
    workspace_reset(ws, opt, out);
    if (opt->exclude_start) {
        size_t k = 0;
        for (size_t i = 0; i < out->n; i++) {
            if (out->reaches[i].reach != start) {
                out->reaches[k++] = out->reaches[i];
            }
        }
        out->n = k;
    }
    return CR_OK;
}

cr_status cr_trace_run(const cr_graph *g, int32_t start, double start_m,
                       const cr_trace_options *opt, cr_trace_result *out, cr_error *err)
{
    cr_trace_workspace *ws = cr_trace_workspace_new(g);
    cr_status rc = cr_trace_run_ws(g, ws, start, start_m, opt, out, err);
    cr_trace_workspace_free(ws);
    return rc;
}

void cr_trace_result_cleanup(cr_trace_result *r)
{
    free(r->reaches);
    memset(r, 0, sizeof *r);
}

void cr_trace_result_recycle(cr_trace_workspace *ws, cr_trace_result *r)
{
    if (ws == NULL || r->reaches == NULL || r->room * sizeof *r->reaches < HUGE_BYTES ||
        r->room < ws->spare_room) {
        cr_trace_result_cleanup(r);
        return;
    }
#ifdef MADV_FREE
    /* the kernel may take the pages back under memory pressure (they then read as zero, and
     * a trace writes before it reads); until then they stay mapped for the next trace */
    size_t bytes = r->room * sizeof *r->reaches / HUGE_BYTES * HUGE_BYTES;
    (void)madvise(r->reaches, bytes, MADV_FREE);
#endif
    free(ws->spare);
    ws->spare = r->reaches;
    ws->spare_room = r->room;
    memset(r, 0, sizeof *r);
}

void cr_spill_estimate(const cr_graph *g, const cr_trace_options *opt, const cr_trace_reach *tr,
                       double m, double mass_kg, double release_h, cr_spill_at *out)
{
    int32_t r = tr->reach;
    double span = fabs(tr->exit_m - tr->entry_m);
    double f = span > 0 ? fmin(fabs(m - tr->entry_m) / span, 1.0) : 0;
    double tau_h = tr->entry_h + f * (tr->exit_h - tr->entry_h);
    double var = tr->entry_var_s2 + f * (tr->exit_var_s2 - tr->entry_var_s2);
    double sigma_s = sqrt(fmax(var, 1e-9));
    double q = isfinite(g->discharge_m3s[r]) && g->discharge_m3s[r] > 0
                   ? g->discharge_m3s[r]
                   : cr_trace_default_discharge((cr_reach_class)g->reach_class[r]);
    double release_s = fmax(release_h, 0) * 3600.0;
    /* mass flux through the place integrates to the mass: C(t) = (M/T)/Q ·
     * [Φ((t−τ)/σ) − Φ((t−τ−T)/σ)], whose peak at t = τ + T/2 is (M/(TQ)) · erf(T/(2√2σ));
     * as T → 0 this tends to M / (Q σ √(2π)). 1 kg/m³ = 1000 mg/L. */
    double peak_kg_m3;
    if (release_s < 1e-6 * sigma_s) {
        peak_kg_m3 = mass_kg / (q * sigma_s * sqrt(2.0 * M_PI));
    } else {
        peak_kg_m3 = mass_kg / (release_s * q) * erf(release_s / (2.0 * sqrt(2.0) * sigma_s));
    }
    (void)opt;
    out->arrival_h = tau_h;
    out->sigma_h = sigma_s / 3600.0;
    out->lake_tau_h = tr->mix_tau_s / 3600.0;
    /* edges at ±3σ: outside them the concentration is below ~1 % of the peak */
    out->leading_edge_h = fmax(tau_h - 3.0 * out->sigma_h, 0);
    out->peak_h = tau_h + release_s / 7200.0;
    out->trailing_edge_h = tau_h + release_s / 3600.0 + 3.0 * out->sigma_h;
    if (tr->mix_tau_s > 0) {
        /* below a well-mixed lake (volume V = Q·τ): a release of M over T leaves it as
         * C(t) = M/(T·Q) · (1 − e^(−t/τ)) while it lasts, then decays as e^(−(t−T)/τ); the peak,
         * at the end of the release, is M/(T·Q) · (1 − e^(−T/τ)) — M/V for an instant release.
         * Dispersion below the lake only lowers it further: the smaller of the two bounds. The
         * tail lasts until the outflow is 1 % of its peak, ln(100)·τ after the release. */
        double tau_s = tr->mix_tau_s;
        double cstr = release_s > 1e-6 * tau_s
                          ? mass_kg / (release_s * q) * (1.0 - exp(-release_s / tau_s))
                          : mass_kg / (q * tau_s);
        peak_kg_m3 = fmin(peak_kg_m3, cstr);
        out->peak_h = tau_h + release_s / 3600.0;
        out->trailing_edge_h =
            tau_h + (release_s + log(100.0) * tau_s) / 3600.0 + 3.0 * out->sigma_h;
    }
    out->peak_mg_l = peak_kg_m3 * 1000.0;
    out->discharge_m3s = q;
}
