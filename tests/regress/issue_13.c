/* SPDX-License-Identifier: MIT */
/* Issue 13, joint work as records: an incident recorded through the command line with its
 * history; what it threatens downstream; notification by level in the
 * order the water arrives, with the reporting line and the deadlines; the joint monitoring
 * plan's times inside each point's plume window; the nearest stockpiles; places as a phone or
 * a form gives them (DMS, GCJ-02, swapped coordinates refused); a finding through its
 * lifecycle to the rectification report; gates as operated (states at a time, traces on them,
 * advance notices); patrol plan options. On the samples store. */
#include "quality/quality.h"
#include "test_common.h"
#include "test_store.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-i13-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    test_samples_store(g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* Run the crossriver program with args; its exit code, its stdout in g_dir/out.txt. */
static int cli(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" %s --store %s/s.sqlite > %s/out.txt 2> %s/err.txt", args, g_dir,
             g_dir, g_dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *file_text(const char *name);

/* cli(args) that must succeed: its stderr in the failure message otherwise. */
static void cli_ok(const char *args)
{
    int rc = cli(args);
    if (rc != 0) {
        char *err = file_text("err.txt");
        fail_msg("crossriver %s: exit %d: %s", args, rc, err);
    }
}

static char *file_text(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    char *data = NULL;
    size_t len = 0;
    cr_error e = {0};
    assert_int_equal(cr_read_file(path, &data, &len, &e), CR_OK);
    return data;
}

static json_t *show(const char *id)
{
    char args[128];
    snprintf(args, sizeof args, "incident show %s --json", id);
    assert_int_equal(cli(args), 0);
    char *text = file_text("out.txt");
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

/* The first column of the first row of sql on the samples store. */
static int64_t count(const char *sql)
{
    sqlite3 *db;
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void codes_of(const json_t *list, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", i ? "," : "", str(x, key));
    }
}

static void codes(const json_t *list, char *out, size_t n)
{
    codes_of(list, "code", out, n);
}

static void test_an_incident_from_report_to_plan(void **state)
{
    (void)state;
    /* a place in DMS on the Taipu River in Wujiang, 06:00, 2 t of ammonia water over 8 h */
    assert_int_equal(cli("incident open --id INC-A --at \"120°52'45\\\"E,31°1'30\\\"N\" --time "
                         "\"2025-08-12 06:00\" --substance 氨水 --amount-kg 1500 --release-hours 8"
                         " --reporter 巡河员 --place 太浦河黎里段"),
                     0);
    assert_int_equal(cli("incident update INC-A --amount-kg 2000 --response 关停排口"), 0);
    /* the record and its history: two versions, each a batch of layer incidents */
    assert_int_equal(count("SELECT count(*) FROM incidents WHERE source_id='INC-A'"), 2);
    assert_int_equal(count("SELECT count(*) FROM incidents WHERE source_id='INC-A' AND"
                           " valid_to IS NULL AND amount_kg = 2000"),
                     1);
    assert_int_equal(count("SELECT count(*) FROM import_batches WHERE layer='incidents' AND"
                           " file_name LIKE '%incidents-INC-A-%'"),
                     2);

    json_t *r = show("INC-A");
    /* the update's values, the earlier ones carried over, the join's county */
    const json_t *inc = json_object_get(r, "incident");
    assert_string_equal(str(inc, "response"), "关停排口");
    assert_string_equal(str(inc, "reporter"), "巡河员");
    assert_string_equal(str(inc, "county_code"), "320509");
    /* threatened downstream, by leading edge; the Jinze intake among them, edges in order */
    const json_t *thr = json_object_get(r, "threatened");
    double last = -1;
    int jinze = 0;
    size_t i, k;
    json_t *x, *t;
    json_array_foreach(thr, i, x)
    {
        double lead = json_number_value(json_object_get(x, "leading_edge_h"));
        double peak = json_number_value(json_object_get(x, "peak_h"));
        double trail = json_number_value(json_object_get(x, "trailing_edge_h"));
        assert_true(lead >= last);
        assert_true(lead <= peak && peak <= trail);
        last = lead;
        jinze |= strcmp(str(x, "id"), "SK-JZ-01") == 0;
    }
    assert_true(jinze);
    /* notification by level, in the order the water arrives; the reporting line up */
    const json_t *no = json_object_get(r, "notification");
    char got[256];
    codes(json_object_get(no, "county"), got, sizeof got);
    assert_string_equal(got, "320509,310118,310117,330421");
    codes(json_object_get(no, "city"), got, sizeof got);
    assert_string_equal(got, "320500,310000,330400");
    codes(json_object_get(no, "province"), got, sizeof got);
    assert_string_equal(got, "320000,310000,330000");
    const json_t *line = json_object_get(no, "reporting_line");
    assert_int_equal(json_array_size(line), 3);
    assert_string_equal(json_string_value(json_array_get(line, 1)), "苏州市");
    assert_string_equal(json_string_value(json_array_get(line, 2)), "江苏省");
    assert_true(json_array_size(json_object_get(no, "towns")) >= 2); /* 金泽镇, … */
    /* arrivals grow along each list */
    const char *levels[] = {"county", "city", "province", "towns"};
    for (int l = 0; l < 4; l++) {
        const char *prev = "";
        json_array_foreach(json_object_get(no, levels[l]), i, x)
        {
            assert_true(strcmp(str(x, "arrival"), prev) >= 0);
            prev = str(x, "arrival");
        }
    }
    /* the monitoring plan: every time within the point's window (a background sample up to
     * an hour before the front), ammonia measured for ammonia water */
    const json_t *plan = json_object_get(r, "monitoring_plan");
    assert_true(json_array_size(plan) >= 3);
    json_array_foreach(plan, i, x)
    {
        const json_t *thr_x = NULL;
        json_t *y;
        json_array_foreach(thr, k, y)
        {
            if (strcmp(str(y, "id"), str(x, "id")) == 0) {
                thr_x = y;
            }
        }
        assert_non_null(thr_x);
        const char *lead = str(thr_x, "leading_edge"), *trail = str(thr_x, "trailing_edge");
        int before = 0;
        json_array_foreach(json_object_get(x, "times"), k, t)
        {
            const char *when = json_string_value(t);
            assert_true(strcmp(when, trail) <= 0);
            before += strcmp(when, lead) < 0;
        }
        assert_true(before <= 1); /* only the background sample comes before the front */
        assert_string_equal(str(json_array_get(json_object_get(x, "indicators"), 0), "name"),
                            "氨氮");
        assert_true(json_array_size(json_object_get(x, "responsible")) >= 1);
    }
    /* deadlines: information within 5 h, a press conference within 24 h */
    const json_t *dl = json_object_get(r, "deadlines");
    assert_string_equal(str(json_array_get(dl, 0), "due"), "2025-08-12T11:00:00");
    assert_string_equal(str(json_array_get(dl, 1), "due"), "2025-08-13T06:00:00");
    assert_true(json_is_true(json_object_get(json_array_get(dl, 0), "overdue")));
    /* the nearest stockpile, straight line */
    const json_t *sp = json_object_get(r, "stockpiles");
    assert_string_equal(str(sp, "distance"), "straight line");
    assert_string_equal(str(json_array_get(json_object_get(sp, "nearest"), 0), "id"), "YJ-QP-01");
    json_decref(r);
    /* notifications recorded; information published in time clears its deadline */
    assert_int_equal(cli("incident notify INC-A --to 310118 --channel phone --sent \"2025-08-12 "
                         "06:20\" --acknowledged \"2025-08-12 06:25\" --who 值班员"),
                     0);
    assert_int_equal(cli("incident notify INC-A --kind information --to 320500 --channel web"
                         " --sent \"2025-08-12 10:30\" --who 宣传科"),
                     0);
    r = show("INC-A");
    assert_int_equal(json_array_size(json_object_get(r, "notifications_sent")), 2);
    dl = json_object_get(r, "deadlines");
    assert_true(json_is_false(json_object_get(json_array_get(dl, 0), "overdue")));
    assert_string_equal(str(json_array_get(dl, 0), "done_at"), "2025-08-12T10:30:00");
    /* the 通报 names the place, the substance and the Jinze intake */
    const char *notice = str(r, "notice");
    assert_non_null(strstr(notice, "关于太浦河黎里段氨水污染事件的通报"));
    assert_non_null(strstr(notice, "金泽水库太浦河取水泵站"));
    assert_non_null(strstr(notice, "关停排口"));
    json_decref(r);
    /* the plan as CSV (BOM) and GeoJSON */
    assert_int_equal(cli("incident plan INC-A --format csv"), 0);
    char *csv = file_text("out.txt");
    assert_memory_equal(csv, "\xEF\xBB\xBF", 3);
    assert_non_null(strstr(csv, "SK-JZ-01"));
    free(csv);
    assert_int_equal(cli("incident plan INC-A --format geojson"), 0);
    char *gj = file_text("out.txt");
    json_t *fc = json_loads(gj, 0, NULL);
    free(gj);
    assert_string_equal(str(fc, "type"), "FeatureCollection");
    assert_true(json_array_size(json_object_get(fc, "features")) >= 3);
    json_decref(fc);
}

/* Places as they come: a phone's map (GCJ-02) is converted; swapped longitude and latitude
 * are refused with the reason; an unknown incident is a usage error. */
static void test_places_as_they_come(void **state)
{
    (void)state;
    assert_int_equal(cli("incident open --id INC-G --at 120.8838,31.0228 --crs gcj02 --time"
                         " \"2025-09-01 10:00\" --substance 柴油"),
                     0);
    /* the point as the phone gave it is kept; the stored one is converted from GCJ-02 */
    assert_int_equal(count("SELECT count(*) FROM incidents_current WHERE source_id='INC-G' AND"
                           " raw_x='120.8838' AND coord_method LIKE '%GCJ%'"),
                     1);
    assert_int_equal(cli("incident open --id INC-S --at 31.0228,120.8838 --time \"2025-09-01"
                         " 10:00\" --substance 柴油"),
                     2);
    char *err = file_text("err.txt");
    assert_non_null(strstr(err, "swapped"));
    free(err);
    assert_int_equal(cli("incident show NOPE"), 2);
    /* oil is monitored as 石油类 */
    json_t *r = show("INC-G");
    const json_t *p = json_array_get(json_object_get(r, "monitoring_plan"), 0);
    assert_string_equal(str(json_array_get(json_object_get(p, "indicators"), 0), "name"), "石油类");
    json_decref(r);
}

/* A finding's whole lifecycle to its report: the sample checklist's findings are in the store
 * (the manifest); a finding goes rectifying → rectified → verified → closed, a wrong step is
 * refused naming the allowed ones, each step is a version with who and when; a GPX waypoint
 * from a patrol app arrives with its UTC time in CST; the 整改报告 counts per jurisdiction,
 * overdue as of its date. */
static void test_a_finding_to_its_report(void **state)
{
    (void)state;
    assert_int_equal(count("SELECT count(*) FROM findings_current"), 6);
    assert_int_equal(cli("finding step XH-2025-07-02 --to rectifying --who 吴江区水务局 --at"
                         " \"2025-07-09 08:00\" --note 安排打捞船"),
                     0);
    assert_int_equal(cli("finding step XH-2025-07-02 --to closed --who 河长办"), 2);
    char *err = file_text("err.txt");
    assert_non_null(strstr(err, "it can go to rectified"));
    free(err);
    assert_int_equal(cli("finding step XH-2025-07-02 --to rectified --who 吴江区水务局 --at"
                         " \"2025-07-11 17:00\" --photo IMG_0711_after.jpg"),
                     0);
    assert_int_equal(cli("finding step XH-2025-07-02 --to verified --who 河长办 --at \"2025-07-12"
                         " 10:00\""),
                     0);
    assert_int_equal(cli("finding step XH-2025-07-02 --to closed --who 河长办 --at \"2025-07-12"
                         " 10:05\" --note 销号"),
                     0);
    /* five versions, the last closed by 河长办 with both photos; the earlier note not carried */
    assert_int_equal(count("SELECT count(*) FROM findings WHERE source_id='XH-2025-07-02'"), 5);
    assert_int_equal(count("SELECT count(*) FROM findings_current WHERE source_id='XH-2025-07-02'"
                           " AND status='closed' AND step_by='河长办' AND step_at="
                           "'2025-07-12T10:05:00' AND note='销号' AND photos LIKE"
                           " '%IMG_0703.jpg%IMG_0711_after.jpg%'"),
                     1);
    assert_int_equal(count("SELECT count(*) FROM findings WHERE source_id='XH-2025-07-02' AND"
                           " version=3 AND status='rectified' AND note IS NULL"),
                     1);
    /* a waypoint from a patrol app (GPX, time in UTC) */
    char gpx[128];
    snprintf(gpx, sizeof gpx, "%s/wp.gpx", g_dir);
    FILE *f = fopen(gpx, "w");
    assert_non_null(f);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"app\""
          " xmlns=\"http://www.topografix.com/GPX/1/1\"><wpt lat=\"31.0330\" lon=\"120.9050\">"
          "<time>2025-09-18T02:30:00Z</time><name>XH-2025-09-02</name><desc>取水口附近发现油膜"
          "</desc></wpt></gpx>\n",
          f);
    fclose(f);
    char args[512];
    snprintf(args, sizeof args,
             "ingest --layer findings --field finding_id=name --field description=desc --field"
             " found_at=time %s",
             gpx);
    assert_int_equal(cli(args), 0);
    assert_int_equal(count("SELECT count(*) FROM findings_current WHERE source_id='XH-2025-09-02'"
                           " AND found_at='2025-09-18T10:30:00' AND county_code='310118' AND"
                           " reach_id='TPH-04'"),
                     1);
    /* the report of Q3 as of 2025-10-15 */
    assert_int_equal(cli("report rectification --period 2025Q3 --as-of 2025-10-15 --json"), 0);
    char *text = file_text("out.txt");
    json_t *r = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(r);
    const json_t *t = json_object_get(r, "totals");
    assert_int_equal(json_integer_value(json_object_get(t, "found")), 7);
    assert_int_equal(json_integer_value(json_object_get(t, "rectified")), 1);
    assert_int_equal(json_integer_value(json_object_get(t, "closed")), 1);
    /* overdue on 10-15, by hand: the 07-08 outfall (30 days: 08-07), the 07-08 garbage (7:
     * 07-15), the 08-12 discharge (its own 08-19), the 09-10 outfall (10-10), the 09-18
     * waypoint (no kind, 15 days: 10-03); not the 08-20 encroachment (60 days: 10-19) nor the
     * closed hyacinth */
    assert_int_equal(json_integer_value(json_object_get(t, "overdue")), 5);
    size_t i, k;
    json_t *g, *x;
    int seen = 0;
    json_array_foreach(json_object_get(r, "jurisdictions"), i, g)
    {
        json_array_foreach(json_object_get(g, "findings"), k, x)
        {
            if (strcmp(str(x, "finding_id"), "XH-2025-08-01") == 0) {
                assert_string_equal(str(x, "deadline"), "2025-08-19"); /* its own */
                assert_string_equal(str(x, "deadline_source"), "given");
                seen++;
            }
            if (strcmp(str(x, "finding_id"), "XH-2025-07-01") == 0) {
                assert_string_equal(str(x, "deadline"), "2025-08-07"); /* outfall: 30 days */
                seen++;
            }
        }
    }
    assert_int_equal(seen, 2);
    json_decref(r);
    /* as of 2025-07-20 the outfall of 07-08 is not yet overdue */
    assert_int_equal(cli("report rectification --period 2025-07 --as-of 2025-07-20 --format"
                         " html"),
                     0);
    char *html = file_text("out.txt");
    assert_non_null(strstr(html, "巡河问题整改报告 2025-07-01 至 2025-07-31"));
    assert_non_null(strstr(html, "已销号"));
    free(html);
}

static json_t *cli_json(const char *args)
{
    cli_ok(args);
    char *text = file_text("out.txt");
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    if (j == NULL) {
        fail_msg("crossriver %s: not JSON", args);
    }
    return j;
}

static const json_t *gate_in(const json_t *states, const char *id)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(states, "gates"), i, g)
    {
        if (strcmp(str(g, "gate_id"), id) == 0) {
            return g;
        }
    }
    fail_msg("gate %s not listed", id);
    return NULL;
}

static int trace_reaches(const char *extra, const char *reach)
{
    char args[512];
    snprintf(args, sizeof args,
             "trace --feature outfalls:WJ-TPH-0007 --direction down --max-hours 72 %s", extra);
    json_t *r = cli_json(args);
    int found = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "reaches"), i, x)
    {
        found |= strcmp(str(x, "reach_id"), reach) == 0;
    }
    json_decref(r);
    return found;
}

/* The gate operations log (the sample dispatch log): states at a time, the trace on them, the
 * advance notice of a planned emergency release and its deadline, a change as a version. */
static void test_gates_as_operated(void **state)
{
    (void)state;
    assert_int_equal(count("SELECT count(*) FROM gate_operations_current"), 5);
    /* 2025-08-12 09:00: 芦墟闸 closed by DD-2025-044 (07:30 → 08-14 18:00); the rest normal */
    json_t *st = cli_json("gate states --at \"2025-08-12 09:00\" --json");
    assert_string_equal(str(gate_in(st, "G-LXZ"), "state"), "closed");
    assert_string_equal(str(gate_in(st, "G-LXZ"), "op_id"), "DD-2025-044");
    assert_string_equal(str(gate_in(st, "G-TPZ"), "state"), "open");
    assert_string_equal(str(gate_in(st, "G-TPZ"), "source"), "normal state");
    assert_string_equal(str(st, "closed"), "G-LXZ");
    json_decref(st);
    /* 07:29, before the closure; 08-14 18:00, its end (not in force any more) */
    st = cli_json("gate states --at \"2025-08-12 07:29\" --json");
    assert_string_equal(str(gate_in(st, "G-LXZ"), "state"), "open");
    json_decref(st);
    st = cli_json("gate states --at \"2025-08-14 18:00\" --json");
    assert_string_equal(str(gate_in(st, "G-LXZ"), "state"), "open");
    json_decref(st);
    /* 08-21: 大舜枢纽 reversed; 09-10 07:00: 拦路港 stays open (its closure was cancelled) */
    st = cli_json("gate states --at 2025-08-21T00:00 --json");
    assert_string_equal(str(gate_in(st, "G-DSSN"), "state"), "reversed");
    assert_string_equal(str(st, "reversed"), "G-DSSN");
    json_decref(st);
    st = cli_json("gate states --at \"2025-09-10 07:00\" --json");
    assert_string_equal(str(gate_in(st, "G-LLG"), "state"), "open");
    json_decref(st);
    assert_int_equal(cli("gate states --at yesterday"), 2);

    /* the trace from 工矿企业7号排口 reaches 芦墟塘 (LXT-FH) unless 芦墟闸 is closed then; a
     * gate the request names says, over the log */
    assert_true(trace_reaches("", "LXT-FH"));
    assert_false(trace_reaches("--gates-at \"2025-08-12 09:00\"", "LXT-FH"));
    assert_true(trace_reaches("--gates-at \"2025-08-12 07:00\"", "LXT-FH"));
    assert_true(trace_reaches("--gates-at \"2025-08-12 09:00\" --gates reversed=G-LXZ", "FH-01") ==
                trace_reaches("--gates reversed=G-LXZ", "FH-01"));

    /* an incident's report runs on the gates as they stood when it occurred: at 09:00 芦墟闸
     * is closed and 汾湖大桥 (on FH-02, beyond 芦墟塘) is not threatened; INC-A at 06:00 is */
    cli_ok("incident open --id INC-GATE --feature outfalls:WJ-TPH-0007 --time \"2025-08-12 09:00\""
           " --substance 氨水 --amount-kg 500");
    char ids[1024];
    json_t *rep = show("INC-GATE");
    json_t *in_force = json_pack("{s:O}", "gates", json_object_get(rep, "gates_in_force"));
    assert_string_equal(str(gate_in(in_force, "G-LXZ"), "state"), "closed");
    json_decref(in_force);
    codes_of(json_object_get(rep, "threatened"), "id", ids, sizeof ids);
    assert_null(strstr(ids, "SEC-FH-DQ"));
    assert_non_null(strstr(ids, "SK-JZ-01"));
    json_decref(rep);
    rep = show("INC-A");
    codes_of(json_object_get(rep, "threatened"), "id", ids, sizeof ids);
    assert_non_null(strstr(ids, "SEC-FH-DQ"));
    json_decref(rep);

    /* the planned emergency release of 太浦闸 (DD-2025-060, 09-10 08:00): due 2 h before */
    json_t *n = cli_json("gate notice DD-2025-060 --json");
    const json_t *an = json_object_get(n, "advance_notice");
    assert_string_equal(str(an, "due"), "2025-09-10T06:00:00");
    assert_true(json_is_true(json_object_get(an, "emergency")));
    assert_true(json_is_true(json_object_get(an, "overdue"))); /* none sent */
    const json_t *county = json_object_get(json_object_get(n, "notification"), "county");
    assert_true(json_array_size(county) >= 3);
    assert_string_equal(str(json_array_get(county, 0), "code"), "320509"); /* Wujiang first */
    double last = -1;
    size_t i;
    json_t *x;
    json_array_foreach(county, i, x)
    {
        double h = json_number_value(json_object_get(x, "time_h"));
        assert_true(h >= last); /* in order of arrival */
        last = h;
    }
    /* each place's arrival is the start plus its travel time */
    int intake = 0;
    json_array_foreach(json_object_get(n, "reached"), i, x)
    {
        double h = json_number_value(json_object_get(x, "time_h"));
        char want[20];
        int64_t t = cr_wq_time_from_fields(2025, 9, 10, 8, 0, 0) + (int64_t)llround(h * 3600);
        cr_wq_time_format(t, want);
        assert_string_equal(str(x, "arrival"), want);
        intake |= strcmp(str(x, "id"), "SK-JZ-01") == 0;
    }
    assert_true(intake); /* the Jinze reservoir's intake downstream */
    assert_non_null(strstr(str(n, "notice"), "关于太浦闸开闸（泵）下泄的预通报"));
    assert_non_null(strstr(str(n, "notice"), "太湖调〔2025〕60号"));
    assert_non_null(strstr(str(n, "notice"), "流量约500立方米每秒"));
    json_decref(n);
    /* a notice sent at 05:30 meets the deadline */
    assert_int_equal(cli("gate notify DD-2025-060 --to 330421 --channel 传真 --sent \"2025-09-10"
                         " 05:30\" --who 调度值班员"),
                     0);
    n = cli_json("gate notice DD-2025-060 --json");
    an = json_object_get(n, "advance_notice");
    assert_string_equal(str(an, "done_at"), "2025-09-10T05:30:00");
    assert_false(json_is_true(json_object_get(an, "overdue")));
    json_decref(n);
    assert_int_equal(count("SELECT count(*) FROM audit_log WHERE action ="
                           " 'gate_operation_notification' AND who = '调度值班员'"),
                     1);
    /* carried out: a new version, the other fields kept */
    assert_int_equal(cli("gate operate --id DD-2025-060 --status actual"), 0);
    assert_int_equal(count("SELECT count(*) FROM gate_operations WHERE source_id='DD-2025-060'"),
                     2);
    assert_int_equal(count("SELECT count(*) FROM gate_operations_current WHERE source_id ="
                           " 'DD-2025-060' AND status='actual' AND flow_m3s=500 AND"
                           " authority='太湖流域管理局' AND emergency=1"),
                     1);
    /* a new one gets the next ID of its day; an unknown gate is refused */
    assert_int_equal(cli("gate operate --gate G-LLG --action close --status planned --start"
                         " \"2025-10-01 06:00\" --authority 青浦区水务局"),
                     0);
    assert_int_equal(count("SELECT count(*) FROM gate_operations_current WHERE source_id ="
                           " 'DD-20251001-01' AND action='close'"),
                     1);
    assert_int_equal(cli("gate operate --gate G-NONE --action close --status planned --start"
                         " \"2025-10-01 06:00\""),
                     2);
    char *err = file_text("err.txt");
    assert_non_null(strstr(err, "no gate 'G-NONE'"));
    free(err);
    assert_int_equal(cli("gate operate --gate G-LLG --action close --status planned --start"
                         " \"2025-10-02 06:00\" --end \"2025-10-01 06:00\""),
                     2);
    err = file_text("err.txt");
    assert_non_null(strstr(err, "is not after start_at"));
    free(err);
}

static json_t *plan(const char *args)
{
    char a[256];
    snprintf(a, sizeof a, "patrol --preset yihe-sanhu %s", args);
    return cli_json(a);
}

/* The IDs of a plan's stops, comma-joined. */
static void stop_ids(const json_t *p, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(p, "stops"), i, s)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s:%s", i ? "," : "", str(s, "id"), str(s, "issue"));
    }
}

/* Patrol plans: stops of some kinds only, in the state of the plan's date (findings by their
 * steps, the outfall inventory in force), split into days. Runs after the finding test
 * (XH-2025-07-02 rectifying 07-09, rectified 07-11, verified and closed 07-12). */
static void test_patrol_plan_options(void **state)
{
    (void)state;
    char ids[2048];
    json_t *p = plan("--date 2025-07-10 --stops finding");
    stop_ids(p, ids, sizeof ids);
    json_decref(p);
    assert_string_equal(ids, "XH-2025-07-01:finding_open,XH-2025-07-02:finding_rectifying,"
                             "XH-2025-07-03:finding_open");
    p = plan("--date 2025-07-11 --stops finding");
    stop_ids(p, ids, sizeof ids);
    json_decref(p);
    assert_non_null(strstr(ids, "XH-2025-07-02:finding_rectified"));
    p = plan("--date 2025-07-12 --stops finding");
    stop_ids(p, ids, sizeof ids);
    json_decref(p);
    assert_null(strstr(ids, "XH-2025-07-02"));
    assert_int_equal(cli("patrol --preset yihe-sanhu --stops finding,ducks"), 2);
    char *err = file_text("err.txt");
    assert_non_null(strstr(err, "'ducks' is not a stop kind"));
    free(err);
    /* the outfalls as the inventory stood: the Q3 update (in force from 09-15) not yet on
     * 09-01, and on 09-30 */
    p = plan("--date 2025-09-01 --stops outfall");
    assert_true(json_array_size(json_object_get(p, "stops")) > 0);
    char *s = json_dumps(json_object_get(p, "stops"), 0);
    assert_null(strstr(s, "inventory of 2025-09-15"));
    free(s);
    json_decref(p);
    p = plan("--date 2025-09-30 --stops outfall");
    s = json_dumps(json_object_get(p, "stops"), 0);
    assert_non_null(strstr(s, "inventory of 2025-09-15"));
    free(s);
    json_decref(p);

    /* days of at most 3 h: contiguous, each within the bound, every stop once, in order,
     * consecutive dates, the times adding up to the plan's */
    p = plan("--date 2025-09-30 --day-hours 3");
    const json_t *days = json_object_get(p, "days");
    size_t n_stops = json_array_size(json_object_get(p, "stops"));
    assert_true(json_array_size(days) > 1);
    double at_km = 0, total = 0;
    size_t next = 1, i, k;
    json_t *d, *q;
    json_array_foreach(days, i, d)
    {
        assert_true(fabs(json_number_value(json_object_get(d, "from_km")) - at_km) < 0.002);
        at_km = json_number_value(json_object_get(d, "to_km"));
        double h = json_number_value(json_object_get(d, "time_h"));
        assert_true(h <= 3.0 + 1e-6);
        total += h;
        char want[11];
        snprintf(want, sizeof want, i < 1 ? "2025-09-30" : "2025-10-%02d", (int)i);
        assert_string_equal(str(d, "date"), want);
        json_array_foreach(json_object_get(d, "stops"), k, q)
        {
            assert_int_equal(json_integer_value(q), next++);
        }
    }
    assert_int_equal(next - 1, n_stops);
    assert_true(fabs(at_km - json_number_value(json_object_get(p, "length_km"))) < 0.002);
    assert_true(fabs(total - json_number_value(json_object_get(p, "time_h"))) < 0.01);
    double length = json_number_value(json_object_get(p, "length_km"));
    json_decref(p);
    /* no dwell: the days are the length over 3 h × 10 km/h, by hand ceil(L / 30) */
    p = plan("--date 2025-09-30 --day-hours 3 --dwell 0");
    assert_int_equal(json_array_size(json_object_get(p, "days")), (size_t)ceil(length / 30.0));
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_incident_from_report_to_plan),
        cmocka_unit_test(test_places_as_they_come),
        cmocka_unit_test(test_a_finding_to_its_report),
        cmocka_unit_test(test_gates_as_operated),
        cmocka_unit_test(test_patrol_plan_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
