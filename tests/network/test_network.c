/* SPDX-License-Identifier: MIT */
/* The river network on small hand-built networks with known answers: a braid, a lake in the
 * middle, a bidirectional reach, a cycle, a disconnected piece, dangling ends, snapping. */
#include "etl/etl.h"
#include "network/network.h"
#include "test_common.h"
#include "test_store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *id;
    const char *name;
    const char *flow;   /* 顺流 / 双向 / 闸控 */
    const char *coords; /* "[[lon,lat],...]" */
} reach_spec;

static void ingest_reaches(test_store *t, const reach_spec *r, size_t n)
{
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < n; i++) {
        cr_strbuf_printf(&sb,
                         "%s{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"%s\","
                         "\"name\":\"%s\",\"reach_class\":\"支流\",\"flow\":\"%s\"},"
                         "\"geometry\":{\"type\":\"LineString\",\"coordinates\":%s}}",
                         i ? "," : "", r[i].id, r[i].name, r[i].flow, r[i].coords);
    }
    cr_strbuf_puts(&sb, "]}");
    test_store_ingest(t, "reaches", "reaches.geojson", sb.data, NULL);
    cr_strbuf_cleanup(&sb);
}

static void build(test_store *t, cr_network_report *rep)
{
    cr_network_options o = {5.0, 50.0, 0};
    cr_error e = {0};
    if (cr_network_build(t->store, &o, rep, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
}

/* A → split → B1 and B2 (a braid) → join → C. */
static void test_braid_orders_lengths_and_mainstem(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"A", "主河", "顺流", "[[120.50,31.00],[120.51,31.00]]"},
        {"B1", "主河", "顺流", "[[120.51,31.00],[120.52,31.002],[120.53,31.00]]"},
        {"B2", "汊河", "顺流", "[[120.51,31.00],[120.52,30.998],[120.53,31.00]]"},
        {"C", "主河", "顺流", "[[120.53,31.00],[120.55,31.00]]"},
        {"T", "", "顺流", "[[120.53,31.02],[120.53,31.00]]"},
    };
    ingest_reaches(t, r, 5);
    cr_network_report rep;
    build(t, &rep);
    assert_int_equal(rep.reaches, 5);
    assert_int_equal(rep.nodes, 5); /* source A, split, join, outlet, source T */
    assert_int_equal(rep.components, 1);
    assert_int_equal((int)rep.n_issues, 0);
    assert_int_equal(test_store_reach_int(t, "B1", "from_node"),
                     test_store_reach_int(t, "B2", "from_node"));
    assert_int_equal(test_store_reach_int(t, "B1", "to_node"),
                     test_store_reach_int(t, "C", "from_node"));
    /* a split passes order 1 on to both branches; three order-1 reaches meet before C */
    assert_int_equal(test_store_reach_int(t, "B1", "strahler"), 1);
    assert_int_equal(test_store_reach_int(t, "B2", "strahler"), 1);
    assert_int_equal(test_store_reach_int(t, "C", "strahler"), 2);
    /* upstream length: the longest path, A + B1 + C (B1 and B2 are the same length) */
    double want = test_store_reach_int(t, "A", "length_m") +
                  test_store_reach_int(t, "B1", "length_m") +
                  test_store_reach_int(t, "C", "length_m");
    assert_true(fabs((double)test_store_reach_int(t, "C", "upstream_length_m") - want) <= 3.0);
    char ms[64];
    test_store_text(t, "SELECT mainstem FROM reaches_current WHERE source_id='B1'", ms, sizeof ms);
    assert_string_equal(ms, "主河"); /* the name continues through B1, not the 汊河 branch */
    test_store_text(t, "SELECT mainstem FROM reaches_current WHERE source_id='B2'", ms, sizeof ms);
    assert_string_equal(ms, "汊河");
    test_store_text(t, "SELECT mainstem FROM reaches_current WHERE source_id='T'", ms, sizeof ms);
    assert_string_equal(ms, "T"); /* unnamed, not the continuation: its own ID */
    test_store_text(t,
                    "SELECT kind FROM network_nodes WHERE node_id = (SELECT from_node FROM"
                    " reaches_current WHERE source_id='B1')",
                    ms, sizeof ms);
    assert_string_equal(ms, "split");
    cr_network_report_cleanup(&rep);

    cr_graph *g = NULL;
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    assert_true(cr_graph_check(g));
    int32_t a = cr_graph_find_reach(g, "A");
    int32_t c = cr_graph_find_reach(g, "C");
    int32_t split = g->to_node[a];
    assert_int_equal(g->down_start[split + 1] - g->down_start[split], 2);
    int32_t join = g->from_node[c];
    assert_int_equal(g->up_start[join + 1] - g->up_start[join], 3); /* B1, B2, T */
    assert_int_equal(cr_graph_find_reach(g, "nope"), -1);
    cr_graph_free(g);
    test_store_free(t);
}

/* In → lake ← (ends inside) ; Out leaves from inside the lake; a path through it. */
static void test_lake_in_the_middle_is_one_node(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    test_store_ingest(t, "lakes", "lakes.geojson",
                      "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                      "\"properties\":{\"lake_id\":\"L1\",\"name\":\"湖\",\"residence_days\":30},"
                      "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[120.60,31.00],"
                      "[120.64,31.00],[120.64,31.03],[120.60,31.03],[120.60,31.00]]]}}]}",
                      NULL);
    const reach_spec r[] = {
        {"IN1", "入湖河", "顺流", "[[120.55,31.01],[120.605,31.01]]"},
        {"IN2", "入湖河二", "顺流", "[[120.62,31.06],[120.62,31.025]]"},
        {"OUT", "出湖河", "顺流", "[[120.635,31.015],[120.70,31.015]]"},
        {"PATH", "湖区", "顺流", "[[120.605,31.01],[120.635,31.015]]"},
    };
    ingest_reaches(t, r, 4);
    cr_network_report rep;
    build(t, &rep);
    assert_int_equal(rep.components, 1);
    assert_int_equal(rep.lakes, 1);
    assert_int_equal((int)rep.n_issues, 0); /* the path is a loop on the lake node, not a cycle */
    assert_int_equal(test_store_reach_int(t, "IN1", "to_node"),
                     test_store_reach_int(t, "OUT", "from_node"));
    assert_int_equal(test_store_reach_int(t, "IN2", "to_node"),
                     test_store_reach_int(t, "OUT", "from_node"));
    assert_int_equal(test_store_reach_int(t, "PATH", "from_node"),
                     test_store_reach_int(t, "PATH", "to_node"));
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM network_nodes WHERE kind='lake'"
                                         " AND lake_id='L1' AND n_in = 3 AND n_out = 2"),
                     1);
    assert_int_equal(test_store_reach_int(t, "OUT", "strahler"), 2);
    cr_network_report_cleanup(&rep);
    cr_graph *g = NULL;
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    int32_t out = cr_graph_find_reach(g, "OUT");
    int32_t lake = g->node_lake[g->from_node[out]];
    assert_true(lake >= 0);
    assert_string_equal(g->lake_id[lake], "L1");
    assert_true(fabs(g->lake_residence_h[lake] - 720.0) < 1e-9);
    cr_graph_free(g);
    test_store_free(t);
}

static void test_one_way_cycle_is_reported_and_both_ways_is_not(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"X", "环", "顺流", "[[120.50,31.00],[120.51,31.00]]"},
        {"Y", "环", "顺流", "[[120.51,31.00],[120.51,31.01]]"},
        {"Z", "环", "顺流", "[[120.51,31.01],[120.50,31.00]]"},
        {"P", "潮", "顺流", "[[120.60,31.00],[120.61,31.00]]"},
        {"Q", "潮", "双向", "[[120.61,31.00],[120.60,31.00]]"},
        {"R", "出", "顺流", "[[120.51,31.01],[120.60,31.00]]"},
    };
    ingest_reaches(t, r, 6);
    cr_network_report rep;
    build(t, &rep);
    assert_true(test_network_has_issue(&rep, "cycle", "X, Y, Z"));
    assert_false(test_network_has_issue(&rep, "cycle", "P"));
    assert_int_equal(rep.components, 1);
    /* orders terminate and are defined on the cycle */
    assert_true(test_store_reach_int(t, "X", "strahler") >= 1 &&
                test_store_reach_int(t, "Z", "strahler") >= 1);
    char flow[16];
    test_store_text(t, "SELECT flow FROM reaches_current WHERE source_id='Q'", flow, sizeof flow);
    assert_string_equal(flow, "both");
    cr_network_report_cleanup(&rep);
    test_store_free(t);
}

static void test_disconnected_dangling_duplicate_and_snapping(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"M1", "干", "顺流", "[[120.50,31.00],[120.52,31.00]]"},
        /* starts 3 m (east) from M1's end: snaps */
        {"M2", "干", "顺流", "[[120.5200315,31.00],[120.54,31.00]]"},
        /* ends 10 m north of M2's middle: dangling */
        {"D1", "支", "顺流", "[[120.53,31.01],[120.53,31.00009]]"},
        /* a copy of M1 in reverse: duplicate */
        {"M1b", "干", "顺流", "[[120.52,31.00],[120.50,31.00]]"},
        /* far away: a second component */
        {"F1", "远", "顺流", "[[120.80,31.20],[120.81,31.20]]"},
        /* starts 8 m from M2's end: does not snap at 5 m */
        {"S8", "近", "顺流", "[[120.5400840,31.00],[120.56,31.00]]"},
    };
    ingest_reaches(t, r, 6);
    cr_network_report rep;
    build(t, &rep);
    assert_int_equal(test_store_reach_int(t, "M1", "to_node"),
                     test_store_reach_int(t, "M2", "from_node"));
    assert_int_not_equal(test_store_reach_int(t, "M2", "to_node"),
                         test_store_reach_int(t, "S8", "from_node"));
    assert_true(test_network_has_issue(&rep, "dangling", "reach D1 downstream end"));
    assert_true(test_network_has_issue(&rep, "dangling", "from reach M2 but not connected"));
    assert_true(test_network_has_issue(&rep, "duplicate", "reaches M1 and M1b"));
    assert_true(test_network_has_issue(&rep, "disconnected", "(F1)"));
    assert_true(test_network_has_issue(&rep, "disconnected", "(S8)"));
    assert_true(test_network_has_issue(&rep, "dangling", "reach S8 upstream end"));
    assert_int_equal(rep.components, 4); /* main, D1, F1, S8 */
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM network_issues"),
                     (int64_t)rep.n_issues);
    cr_network_report_cleanup(&rep);
    test_store_free(t);
}

/* Issue 17: a 1 m reach between two long ones keeps its place in the chain (its two ends are
 * never one node), so the validator sees no zero-length reach and no cycle, and a downstream
 * mainstem trace goes A → S → B. */
static void test_a_short_reach_never_folds_onto_itself(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"A", "河", "顺流", "[[120.50,31.00],[120.52,31.00]]"},
        /* 1 m long (0.0000105° of longitude at 31°N), well inside the 5 m tolerance */
        {"S", "河", "顺流", "[[120.52,31.00],[120.5200105,31.00]]"},
        {"B", "河", "顺流", "[[120.5200105,31.00],[120.54,31.00]]"},
        /* a side branch leaving at S's end: the mainstem must not take it */
        {"X", "支", "顺流", "[[120.5200105,31.00],[120.53,30.99]]"},
    };
    ingest_reaches(t, r, 4);
    cr_network_report rep;
    build(t, &rep);
    assert_int_equal(test_store_reach_int(t, "A", "to_node"),
                     test_store_reach_int(t, "S", "from_node"));
    assert_int_equal(test_store_reach_int(t, "S", "to_node"),
                     test_store_reach_int(t, "B", "from_node"));
    assert_int_not_equal(test_store_reach_int(t, "S", "from_node"),
                         test_store_reach_int(t, "S", "to_node"));
    assert_int_equal(rep.nodes, 5);
    assert_false(test_network_has_issue(&rep, "zero_length", "S"));
    assert_false(test_network_has_issue(&rep, "cycle", "S"));
    cr_graph *g = NULL;
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    cr_trace_options o = {.direction = CR_TRACE_DOWN, .main_only = 1};
    cr_trace_result res;
    assert_int_equal(cr_trace_run(g, cr_graph_find_reach(g, "A"), 0, &o, &res, &e), CR_OK);
    char order[64] = "";
    for (size_t i = 0; i < res.n; i++) {
        strcat(order, g->reach_id[res.reaches[i].reach]);
    }
    assert_string_equal(order, "ASB");
    cr_trace_result_cleanup(&res);
    cr_graph_free(g);
    cr_network_report_cleanup(&rep);
    test_store_free(t);
}

typedef struct {
    const cr_graph *g; /* shared, read-only */
    int32_t start;     /* reach */
    int32_t reached;   /* out: reaches downstream of start, start included */
} walk;

/* Count reaches reachable downstream over the CSR arrays (read-only). */
static void *walk_down(void *arg)
{
    walk *w = arg;
    const cr_graph *g = w->g;
    unsigned char *seen = calloc((size_t)g->n_reaches, 1);
    int32_t *stack = malloc((size_t)g->n_reaches * sizeof *stack);
    int32_t sp = 0;
    stack[sp++] = w->start;
    seen[w->start] = 1;
    w->reached = 0;
    while (sp > 0) {
        int32_t r = stack[--sp];
        w->reached++;
        int32_t node = g->to_node[r];
        for (int32_t k = g->down_start[node]; k < g->down_start[node + 1]; k++) {
            int32_t s = g->down_reach[k];
            if (!seen[s]) {
                seen[s] = 1;
                stack[sp++] = s;
            }
        }
    }
    free(seen);
    free(stack);
    return NULL;
}

static void test_graph_is_shared_read_only_between_threads(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"A", "主河", "顺流", "[[120.50,31.00],[120.51,31.00]]"},
        {"B1", "主河", "顺流", "[[120.51,31.00],[120.52,31.002],[120.53,31.00]]"},
        {"B2", "汊河", "顺流", "[[120.51,31.00],[120.52,30.998],[120.53,31.00]]"},
        {"C", "主河", "顺流", "[[120.53,31.00],[120.55,31.00]]"},
    };
    ingest_reaches(t, r, 4);
    cr_network_report rep;
    build(t, &rep);
    cr_network_report_cleanup(&rep);
    cr_graph *g = NULL;
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    walk w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (walk){g, cr_graph_find_reach(g, "A"), 0};
        assert_int_equal(pthread_create(&th[i], NULL, walk_down, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].reached, 4); /* A, B1, B2, C */
    }
    assert_true(cr_graph_check(g));
    cr_graph_free(g);
    test_store_free(t);
}

/* Two loads of the reach index agree reach by reach (row, ID, folded name, vertices, box). */
static void assert_same_index(const cr_reach_index *a, const cr_reach_index *b, int same_rows)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_coords, b->n_coords);
    for (size_t i = 0; i < a->n; i++) {
        const cr_indexed_reach *x = &a->reaches[i];
        const cr_indexed_reach *y = &b->reaches[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->folded, y->folded);
        if (same_rows) {
            assert_int_equal(x->fid, y->fid);
        }
        assert_int_equal(x->n, y->n);
        assert_memory_equal(a->coords + 2 * x->first, b->coords + 2 * y->first,
                            2 * x->n * sizeof(double));
    }
}

static cr_reach_index *load_index(test_store *t, int from_saved)
{
    cr_reach_index *rx = NULL;
    cr_error e = {0};
    assert_int_equal(cr_reach_index_load(t->store, &rx, &e), CR_OK);
    assert_int_equal(cr_reach_index_from_saved(rx), from_saved);
    return rx;
}

/* The network build saves the reach index's input; a load reads it back only while the current
 * reaches are exactly those it was saved from, and then equals a load from the table. */
static void test_saved_reach_index_is_read_only_while_current(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    reach_spec r[] = {
        {"R3", "太浦河", "顺流", "[[120.53,31.00],[120.55,31.00]]"},
        {"R1", "太浦河", "顺流", "[[120.50,31.00],[120.51,31.00]]"},
        {"R2", "Ｔａｉｐｕ  River", "顺流", "[[120.51,31.00],[120.52,31.002],[120.53,31.00]]"},
        {"R4", "", "双向", "[[120.53,31.02],[120.53,31.00]]"},
    };
    ingest_reaches(t, r, 4);
    cr_reach_index *table = load_index(t, 0); /* nothing saved yet */
    test_store_network(t);
    cr_reach_index *saved = load_index(t, 1);
    assert_same_index(saved, table, 1);
    assert_string_equal(saved->reaches[0].id, "R1"); /* by ID, whatever the table's order */
    cr_reach_hit h;
    assert_true(cr_reach_index_nearest(saved, 120.52, 31.0025, 500, "taipu", &h));
    assert_string_equal(h.id, "R2"); /* the folded name came back folded */
    cr_reach_index_free(table);

    /* one reach moved: a new version, the saved copy is not the current reaches any more */
    r[0].coords = "[[120.53,31.00],[120.55,31.01]]";
    ingest_reaches(t, r, 4);
    cr_reach_index *moved = load_index(t, 0);
    assert_true(cr_reach_index_nearest(moved, 120.55, 31.01, 50, NULL, &h));
    assert_string_equal(h.id, "R3");
    cr_reach_index_free(moved);
    /* undone: the old geometry is current again, as a new version (new row IDs) */
    int64_t batch = test_store_count(t, "SELECT max(batch_id) FROM import_batches");
    cr_revert_result rv;
    cr_error e = {0};
    assert_int_equal(cr_etl_revert_batch(t->store, batch, &rv, &e), CR_OK);
    cr_reach_index *reverted = load_index(t, 0);
    assert_same_index(reverted, saved, 0);
    cr_reach_index_free(reverted);
    test_store_network(t);
    cr_reach_index_free(load_index(t, 1));

    /* a damaged copy is not believed: the table is read and the answer is the same */
    assert_int_equal(
        cr_store_exec(t->store, "UPDATE reach_index_saved SET data = substr(data, 1, 40)", &e),
        CR_OK);
    cr_reach_index *damaged = load_index(t, 0);
    assert_same_index(damaged, saved, 0);
    cr_reach_index_free(damaged);
    cr_reach_index_free(saved);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_braid_orders_lengths_and_mainstem),
        cmocka_unit_test(test_lake_in_the_middle_is_one_node),
        cmocka_unit_test(test_one_way_cycle_is_reported_and_both_ways_is_not),
        cmocka_unit_test(test_disconnected_dangling_duplicate_and_snapping),
        cmocka_unit_test(test_graph_is_shared_read_only_between_threads),
        cmocka_unit_test(test_a_short_reach_never_folds_onto_itself),
        cmocka_unit_test(test_saved_reach_index_is_read_only_while_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
