/* SPDX-License-Identifier: MIT */
/* Tracing on hand-built networks with known answers: distances and times, partial reaches cut
 * at a bound, upstream and downstream, braids, a bidirectional reach, gate scenarios, a cycle,
 * a lake mixing the cloud (a continuously stirred tank), and mainstem-only traces. */
#include "network/network.h"
#include "test_common.h"
#include "test_store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *id, *name, *flow, *coords;
    double velocity_ms;
    double discharge_m3s; /* 0: none in the data */
} spec;

static test_store *g_t;
static cr_graph *g_g;

static void load(const spec *r, size_t n, const char *lakes)
{
    g_t = test_store_new();
    if (lakes) {
        test_store_ingest(g_t, "lakes", "lakes.geojson", lakes, NULL);
    }
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < n; i++) {
        cr_strbuf_printf(&sb,
                         "%s{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"%s\","
                         "\"name\":\"%s\",\"reach_class\":\"支流\",\"flow\":\"%s\","
                         "\"velocity_ms\":%g,\"discharge_m3s\":%g},\"geometry\":{\"type\":"
                         "\"LineString\",\"coordinates\":%s}}",
                         i ? "," : "", r[i].id, r[i].name, r[i].flow, r[i].velocity_ms,
                         r[i].discharge_m3s > 0 ? r[i].discharge_m3s : 50.0, r[i].coords);
    }
    cr_strbuf_puts(&sb, "]}");
    test_store_ingest(g_t, "reaches", "reaches.geojson", sb.data, NULL);
    cr_strbuf_cleanup(&sb);
    test_store_network(g_t);
    cr_error e = {0};
    assert_int_equal(cr_graph_load(g_t->store, &g_g, &e), CR_OK);
}

static void unload(void)
{
    cr_graph_free(g_g);
    test_store_free(g_t);
}

static const cr_trace_reach *find(const cr_trace_result *res, const char *id)
{
    for (size_t i = 0; i < res->n; i++) {
        if (strcmp(g_g->reach_id[res->reaches[i].reach], id) == 0) {
            return &res->reaches[i];
        }
    }
    return NULL;
}

static void trace(const char *from, double at_m, const cr_trace_options *o, cr_trace_result *res)
{
    cr_error e = {0};
    assert_int_equal(cr_trace_run(g_g, cr_graph_find_reach(g_g, from), at_m, o, res, &e), CR_OK);
}

static void near(double got, double want, const char *what)
{
    if (fabs(got - want) > 0.002 * fabs(want) + 1e-9) {
        fail_msg("%s: %.6f, want %.6f", what, got, want);
    }
}

/* A → B → C east along 31°N, 1 centidegree each; velocities 0.5, 0.25, 0.5 m/s. */
static const spec LINE[] = {
    {"A", "河", "顺流", "[[120.50,31.0],[120.51,31.0]]", 0.5, 0},
    {"B", "河", "顺流", "[[120.51,31.0],[120.52,31.0]]", 0.25, 0},
    {"C", "河", "顺流", "[[120.52,31.0],[120.53,31.0]]", 0.5, 0},
};

static void test_down_and_up_distances_times_and_partial_cuts(void **state)
{
    (void)state;
    load(LINE, 3, NULL);
    /* each reach is 0.01° of longitude at 31°N: its geodesic length is the unit here */
    const double km = g_g->length_m[cr_graph_find_reach(g_g, "A")] / 1000.0;
    near(g_g->length_m[cr_graph_find_reach(g_g, "B")] / 1000.0, km, "equal reaches");
    cr_trace_options o = {CR_TRACE_DOWN, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    cr_trace_result res;
    trace("A", km * 500, &o, &res); /* from the middle of A */
    assert_int_equal(res.n, 3);
    const cr_trace_reach *a = find(&res, "A");
    const cr_trace_reach *b = find(&res, "B");
    const cr_trace_reach *c = find(&res, "C");
    near(a->entry_m, km * 500, "A entry measure");
    near(a->exit_km, km / 2, "A exit");
    near(b->entry_km, km / 2, "B entry");
    near(c->entry_km, km * 1.5, "C entry");
    near(c->exit_km, km * 2.5, "C exit");
    /* hours: half of A at 0.5 m/s, B at 0.25, C at 0.5 */
    near(c->entry_h, (km * 500 / 0.5 + km * 1000 / 0.25) / 3600, "C entry time");
    assert_true(res.reaches[0].reach == a->reach); /* the start reach comes first */
    cr_trace_result_cleanup(&res);

    o.max_km = km * 1.0; /* half of A, then half of B */
    trace("A", km * 500, &o, &res);
    assert_int_equal(res.n, 2);
    b = find(&res, "B");
    assert_true(b->partial);
    near(b->exit_km, km, "B cut at the bound");
    near(b->exit_m, km * 500, "B cut measure");
    assert_null(find(&res, "C"));
    cr_trace_result_cleanup(&res);

    o.max_km = 0;
    o.max_hours = (km * 500 / 0.5 + km * 250 / 0.25) / 3600; /* time for half A + quarter B */
    trace("A", km * 500, &o, &res);
    b = find(&res, "B");
    assert_true(b->partial);
    near(b->exit_m, km * 250, "B cut by time");
    cr_trace_result_cleanup(&res);

    /* a stop point 300 m into B: the trace reaches it and goes no further */
    cr_trace_stop stop = {cr_graph_find_reach(g_g, "B"), 300.0};
    cr_trace_options st = {CR_TRACE_DOWN, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, &stop, 1, 0, 0, 0};
    trace("A", 0, &st, &res);
    b = find(&res, "B");
    assert_true(b->stopped && !b->partial);
    near(b->exit_m, 300.0, "stopped at the stop point");
    assert_null(find(&res, "C"));
    cr_trace_result_cleanup(&res);

    cr_trace_options up = {CR_TRACE_UP, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    trace("C", km * 250, &up, &res);
    assert_int_equal(res.n, 3);
    c = find(&res, "C");
    a = find(&res, "A");
    assert_true(c->against);
    near(c->exit_m, 0, "C left at its upstream end");
    near(a->entry_km, km * 1.25, "A reached upstream");
    cr_trace_result_cleanup(&res);
    unload();
}

static void test_braid_bidirectional_gates_and_cycle(void **state)
{
    (void)state;
    const spec net[] = {
        {"S", "主河", "顺流", "[[120.50,31.0],[120.51,31.0]]", 0.3, 0},
        {"L", "主河", "顺流", "[[120.51,31.0],[120.52,31.005],[120.53,31.0]]", 0.3, 0},
        {"R", "汊河", "顺流", "[[120.51,31.0],[120.52,30.995],[120.53,31.0]]", 0.3, 0},
        {"T", "主河", "闸控", "[[120.53,31.0],[120.54,31.0]]", 0.3, 0},
        /* a tidal side channel digitised towards the braid's join */
        {"X", "潮河", "双向", "[[120.53,31.02],[120.53,31.0]]", 0.3, 0},
        /* a one-way loop hanging off T's end */
        {"Y1", "环", "顺流", "[[120.54,31.0],[120.55,31.0]]", 0.3, 0},
        {"Y2", "环", "顺流", "[[120.55,31.0],[120.55,31.01]]", 0.3, 0},
        {"Y3", "环", "顺流", "[[120.55,31.01],[120.54,31.0]]", 0.3, 0},
    };
    load(net, 8, NULL);
    cr_trace_options o = {CR_TRACE_DOWN, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    cr_trace_result res;
    trace("S", 0, &o, &res);
    /* every reach once: both braid branches, the tidal channel (backwards, flagged), the
     * gated reach, and the loop, which terminates */
    assert_int_equal(res.n, 8);
    const cr_trace_reach *x = find(&res, "X");
    assert_true(x->bidirectional && x->against);
    assert_true(find(&res, "T")->gated);
    near(find(&res, "L")->entry_km, find(&res, "R")->entry_km, "both branches from the split");
    cr_trace_result_cleanup(&res);

    /* a closed gate on T stops the trace there; X still takes the tide upstream */
    int32_t t_reach = cr_graph_find_reach(g_g, "T");
    o.closed = &t_reach;
    o.n_closed = 1;
    trace("S", 0, &o, &res);
    assert_null(find(&res, "T"));
    assert_null(find(&res, "Y1"));
    assert_non_null(find(&res, "X"));
    cr_trace_result_cleanup(&res);

    /* a gate reversing T: nothing passes downstream through it, and an upstream trace from the
     * loop now goes up through T towards the braid */
    o.closed = NULL;
    o.n_closed = 0;
    o.reversed = &t_reach;
    o.n_reversed = 1;
    trace("S", 0, &o, &res);
    assert_null(find(&res, "Y1"));
    cr_trace_result_cleanup(&res);
    cr_trace_options up = {CR_TRACE_UP, 0, 0, 0, 0, 0, NULL, 0, &t_reach, 1, NULL, 0, 0, 0, 0};
    trace("L", 100, &up, &res);
    assert_null(find(&res, "T")); /* reversed T flows out of L's end, not into it */
    cr_trace_result_cleanup(&res);

    /* mainstem only: the 主河 path, not the 汊河 branch nor the tidal channel */
    cr_trace_options m = {CR_TRACE_DOWN, 1, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    trace("S", 0, &m, &res);
    assert_non_null(find(&res, "L"));
    assert_null(find(&res, "R"));
    assert_non_null(find(&res, "T"));
    cr_trace_result_cleanup(&res);
    unload();
}

/* A lake is a continuously stirred tank: the leading edge leaves it at once (no residence
 * delay), and a spill below it peaks at the closed-form CSTR outflow, M/(T·Q)·(1 − e^(−T/τ)),
 * at the end of the release, its tail lasting ln(100)·τ more. */
static void test_lake_mixes_instead_of_delaying(void **state)
{
    (void)state;
    const spec net[] = {
        {"IN", "入", "顺流", "[[120.50,31.01],[120.605,31.01]]", 1.0, 0},
        {"OUT", "出", "顺流", "[[120.635,31.015],[120.70,31.015]]", 1.0, 0},
    };
    load(net, 2,
         "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
         "{\"lake_id\":\"L\",\"name\":\"湖\",\"residence_days\":2},\"geometry\":{\"type\":"
         "\"Polygon\",\"coordinates\":[[[120.60,31.00],[120.64,31.00],[120.64,31.03],"
         "[120.60,31.03],[120.60,31.00]]]}}]}");
    cr_trace_options o = {CR_TRACE_DOWN, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    o.dispersion_m2s = 1e-3; /* next to no dispersion: the lake's response alone */
    cr_trace_result res;
    trace("IN", 0, &o, &res);
    const cr_trace_reach *in = find(&res, "IN");
    const cr_trace_reach *out = find(&res, "OUT");
    assert_non_null(out);
    near(out->entry_h, in->exit_h, "the leading edge leaves the lake at once");
    near(out->entry_km, in->exit_km, "the lake adds neither time nor distance");
    near(out->mix_tau_s, 2 * 86400.0, "the lake's residence time is carried downstream");
    near(in->mix_tau_s, 0, "above the lake nothing is mixed");
    /* 1,000 kg over 6 h just below the lake: the closed form with Q the discharge used */
    const cr_graph *g = g_g;
    double mass = 1000, t_rel = 6 * 3600.0, tau = 2 * 86400.0;
    cr_spill_at at;
    cr_spill_estimate(g, &o, out, out->entry_m, mass, 6, &at);
    double q = at.discharge_m3s;
    assert_true(q > 0);
    double want = mass / (t_rel * q) * (1 - exp(-t_rel / tau)) * 1000; /* mg/L */
    if (fabs(at.peak_mg_l - want) > 1e-6 * want) {
        fail_msg("peak below the lake %.9g mg/L, the CSTR gives %.9g", at.peak_mg_l, want);
    }
    near(at.peak_h, out->entry_h + 6, "the peak at the end of the release");
    near(at.trailing_edge_h, out->entry_h + 6 + log(100) * 48 + 3 * at.sigma_h,
         "the tail: 1 % of the peak, ln(100) residence times after the release");
    near(at.lake_tau_h, 48, "the residence time in hours");
    /* an instantaneous release: M/V, V = Q·τ */
    cr_spill_estimate(g, &o, out, out->entry_m, mass, 0, &at);
    want = mass / (q * tau) * 1000;
    if (fabs(at.peak_mg_l - want) > 1e-6 * want) {
        fail_msg("instant release below the lake %.9g mg/L, M/V is %.9g", at.peak_mg_l, want);
    }
    /* above the lake the ordinary advection–dispersion estimate: M/(T·Q), about 1/(1 − e^(−T/τ))
     * = 8.5 times the diluted peak below it */
    cr_spill_at above;
    cr_spill_estimate(g, &o, in, in->exit_m, mass, 6, &above);
    assert_true(above.peak_mg_l > 5 * at.peak_mg_l);
    cr_trace_result_cleanup(&res);
    unload();
}

/* The exact 1-D advection–dispersion solution in a uniform channel (velocity u, dispersion D,
 * cross-section A = Q/u): an instantaneous release of M at x = 0, t = 0 gives
 * C(x, t) = M / (A √(4πDt)) · exp(−(x − ut)² / (4Dt)); a release spread evenly over T is the
 * same integrated over the release time. Returns kg/m³. */
static double exact(double x, double t, double u, double d, double q, double mass, double release)
{
    double a = q / u;
    if (release <= 0) {
        return t <= 0 ? 0
                      : mass / (a * sqrt(4 * M_PI * d * t)) *
                            exp(-(x - u * t) * (x - u * t) / (4 * d * t));
    }
    const int n = 400;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double s0 = (i + 0.5) * release / n; /* midpoint rule over the release */
        sum += exact(x, t - s0, u, d, q, mass / n, 0);
    }
    return sum;
}

static void test_spill_matches_the_closed_form_on_a_uniform_channel(void **state)
{
    (void)state;
    const spec net[] = {
        {"U1", "渠", "顺流", "[[120.50,31.0],[120.55,31.0]]", 0.3, 80},
        {"U2", "渠", "顺流", "[[120.55,31.0],[120.60,31.0]]", 0.3, 80},
        {"U3", "渠", "顺流", "[[120.60,31.0],[120.65,31.0]]", 0.3, 80},
        {"U4", "渠", "顺流", "[[120.65,31.0],[120.70,31.0]]", 0.3, 80},
        {"U5", "渠", "顺流", "[[120.70,31.0],[120.75,31.0]]", 0.3, 80},
    };
    load(net, 5, NULL);
    const double u = 0.3, d = 30.0, q = 80.0, mass = 1000.0;
    cr_trace_options o = {CR_TRACE_DOWN, 0, 0, 0, 0, d, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    cr_trace_result res;
    trace("U1", 0, &o, &res);
    const cr_trace_reach *u4 = find(&res, "U4");
    double m = 2000.0; /* 2 km into the fourth reach */
    double x = u4->entry_km * 1000.0 + m;
    const double releases_h[] = {0, 2.0};
    for (int k = 0; k < 2; k++) {
        cr_spill_at at;
        cr_spill_estimate(g_g, &o, u4, m, mass, releases_h[k], &at);
        near(at.discharge_m3s, q, "discharge used");
        near(at.arrival_h * 3600.0, x / u, "advective arrival");
        /* the exact peak, by scanning time in 10 s steps */
        double best = 0;
        double best_t = 0;
        for (double t = 60; t < 3 * x / u; t += 10) {
            double c = exact(x, t, u, d, q, mass, releases_h[k] * 3600.0);
            if (c > best) {
                best = c, best_t = t;
            }
        }
        double peak_mg_l = best * 1000.0;
        /* the Gaussian-in-time cloud is exact as the Péclet number grows (here ux/D ≈ 160) */
        if (fabs(at.peak_mg_l - peak_mg_l) > 0.03 * peak_mg_l) {
            fail_msg("release %g h: peak %.5f mg/L, exact %.5f", releases_h[k], at.peak_mg_l,
                     peak_mg_l);
        }
        if (fabs(at.peak_h * 3600.0 - best_t) > 0.02 * best_t) {
            fail_msg("release %g h: peak at %.0f s, exact %.0f s", releases_h[k],
                     at.peak_h * 3600.0, best_t);
        }
        /* the cloud has essentially passed by the trailing edge, and not arrived before the
         * leading edge (a few percent: the exact cloud is slightly skewed) */
        double tail = exact(x, at.trailing_edge_h * 3600.0, u, d, q, mass, releases_h[k] * 3600.0);
        assert_true(tail < 0.05 * best);
        assert_true(exact(x, at.leading_edge_h * 3600.0, u, d, q, mass, releases_h[k] * 3600.0) <
                    0.05 * best);
        assert_true(at.leading_edge_h < at.peak_h && at.peak_h < at.trailing_edge_h);
    }
    cr_trace_result_cleanup(&res);
    unload();
}

/* Issue 17: zero means zero — max_km 0 or max_hours 0 is the start reach alone, partly; an
 * absent bound stays unbounded; exclude_start leaves the start reach out. */
static void test_zero_bounds_mean_zero(void **state)
{
    (void)state;
    load(LINE, 3, NULL);
    cr_trace_result res;
    cr_trace_options o = {.direction = CR_TRACE_DOWN, .max_km = 0, .has_max_km = 1};
    trace("A", 100, &o, &res);
    assert_int_equal(res.n, 1);
    assert_non_null(find(&res, "A"));
    assert_true(find(&res, "A")->partial);
    near(find(&res, "A")->exit_km, 0, "nothing covered");
    cr_trace_result_cleanup(&res);
    cr_trace_options h = {.direction = CR_TRACE_UP, .max_hours = 0, .has_max_hours = 1};
    trace("C", g_g->length_m[cr_graph_find_reach(g_g, "C")], &h, &res);
    assert_int_equal(res.n, 1);
    assert_non_null(find(&res, "C"));
    cr_trace_result_cleanup(&res);
    cr_trace_options none = {.direction = CR_TRACE_DOWN};
    trace("A", 0, &none, &res);
    assert_int_equal(res.n, 3);
    cr_trace_result_cleanup(&res);
    cr_trace_options beyond = {.direction = CR_TRACE_DOWN, .exclude_start = 1};
    trace("A", 0, &beyond, &res);
    assert_int_equal(res.n, 2);
    assert_null(find(&res, "A"));
    assert_non_null(find(&res, "B"));
    cr_trace_result_cleanup(&res);
    unload();
}

/* A basin-sized result (a chain of 40,000 reaches, far past the 2 MiB where a result moves to
 * room for every reach) traced three times on one workspace, recycling in between: the same
 * reaches at the same distances each time, a short trace in between unaffected, and nothing
 * leaked (the recycled buffer is the workspace's to free). */
static void test_basin_sized_results_recycled(void **state)
{
    (void)state;
    enum { N = 40000 };
    cr_graph *g = cr_xcalloc(1, sizeof *g);
    g->n_reaches = N;
    g->n_nodes = N + 1;
    g->reach_id = cr_xcalloc(N, sizeof *g->reach_id);
    g->id_order = cr_xcalloc(N, sizeof *g->id_order);
    g->reach_fid = cr_xcalloc(N, sizeof *g->reach_fid);
    g->from_node = cr_xcalloc(N, sizeof *g->from_node);
    g->to_node = cr_xcalloc(N, sizeof *g->to_node);
    g->length_m = cr_xcalloc(N, sizeof *g->length_m);
    g->velocity_ms = cr_xcalloc(N, sizeof *g->velocity_ms);
    g->discharge_m3s = cr_xcalloc(N, sizeof *g->discharge_m3s);
    g->flow = cr_xcalloc(N, sizeof *g->flow);
    g->strahler = cr_xcalloc(N, sizeof *g->strahler);
    g->reach_class = cr_xcalloc(N, sizeof *g->reach_class);
    g->minor = cr_xcalloc(N, sizeof *g->minor);
    g->mainstem = cr_xcalloc(N, sizeof *g->mainstem);
    g->n_mainstems = 1;
    g->mainstem_name = cr_xcalloc(1, sizeof *g->mainstem_name);
    g->mainstem_name[0] = cr_xstrdup("chain");
    g->down_start = cr_xcalloc(N + 2, sizeof *g->down_start);
    g->down_reach = cr_xcalloc(N, sizeof *g->down_reach);
    g->up_start = cr_xcalloc(N + 2, sizeof *g->up_start);
    g->up_reach = cr_xcalloc(N, sizeof *g->up_reach);
    g->node_lon = cr_xcalloc(N + 1, sizeof *g->node_lon);
    g->node_lat = cr_xcalloc(N + 1, sizeof *g->node_lat);
    g->node_lake = cr_xcalloc(N + 1, sizeof *g->node_lake);
    for (int32_t r = 0; r < N; r++) {
        char id[16];
        snprintf(id, sizeof id, "R%06d", r);
        g->reach_id[r] = cr_xstrdup(id);
        g->id_order[r] = r;
        g->from_node[r] = r; /* reach r flows from node r to node r + 1 */
        g->to_node[r] = r + 1;
        g->length_m[r] = 100.0;
        g->velocity_ms[r] = 0.5;
        g->discharge_m3s[r] = NAN;
        g->flow[r] = CR_FLOW_DOWN;
        g->reach_class[r] = CR_CLASS_TRIBUTARY;
        g->down_reach[r] = r; /* leaving node r */
        g->up_reach[r] = r;   /* arriving at node r + 1 */
    }
    for (int32_t v = 0; v <= N + 1; v++) {
        g->down_start[v] = v < N ? v : N;
        g->up_start[v] = v == 0 ? 0 : v - 1 < N ? v - 1 : N;
    }
    for (int32_t v = 0; v <= N; v++) {
        g->node_lake[v] = -1;
    }
    assert_true(cr_graph_check(g));
    cr_trace_workspace *ws = cr_trace_workspace_new(g);
    cr_trace_options up = {.direction = CR_TRACE_UP};
    cr_trace_options near_by = {.direction = CR_TRACE_UP, .max_km = 0.25};
    cr_error e = {0};
    for (int round = 0; round < 3; round++) {
        cr_trace_result res;
        assert_int_equal(cr_trace_run_ws(g, ws, N - 1, 100.0, &up, &res, &e), CR_OK);
        assert_int_equal(res.n, N);
        assert_true(res.room >= (size_t)N);
        double far = 0;
        for (size_t i = 0; i < res.n; i++) {
            const cr_trace_reach *t = &res.reaches[i];
            /* reach r is entered (N - 1 - r) reaches of 100 m above the start */
            near(t->entry_km, (N - 1 - t->reach) * 0.1, "distance along the chain");
            far = fmax(far, t->exit_km);
        }
        near(far, N * 0.1, "the whole chain");
        cr_trace_result_recycle(ws, &res);
        assert_null(res.reaches);
        cr_trace_result small;
        assert_int_equal(cr_trace_run_ws(g, ws, N - 1, 100.0, &near_by, &small, &e), CR_OK);
        assert_int_equal(small.n, 3); /* 100 m of the start reach, then 100 m and 50 m more */
        cr_trace_result_recycle(ws, &small); /* a small one is simply freed */
    }
    cr_trace_workspace_free(ws);
    cr_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_bounds_mean_zero),
        cmocka_unit_test(test_basin_sized_results_recycled),
        cmocka_unit_test(test_down_and_up_distances_times_and_partial_cuts),
        cmocka_unit_test(test_braid_bidirectional_gates_and_cycle),
        cmocka_unit_test(test_lake_mixes_instead_of_delaying),
        cmocka_unit_test(test_spill_matches_the_closed_form_on_a_uniform_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
