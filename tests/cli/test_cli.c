/* SPDX-License-Identifier: MIT */
/* The crossriver program as scripts use it: exit codes, --json, the rejects CSV, messages. */
#include "test_common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int code;        /* exit code */
    char out[16384]; /* stdout */
    char err[4096];  /* stderr */
} run_result;

static char g_dir[64];

/* Run "crossriver ARGS" (ARGS is a shell fragment) in g_dir. */
static void run(const char *args, run_result *r)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s > out.txt 2> err.txt", g_dir,
             getenv("CROSSRIVER_BIN"), args);
    int status = system(cmd);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    char path[128];
    snprintf(path, sizeof path, "%s/out.txt", g_dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(r->out, 1, sizeof r->out - 1, f) : 0;
    r->out[n] = '\0';
    if (f) {
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/err.txt", g_dir);
    f = fopen(path, "r");
    n = f ? fread(r->err, 1, sizeof r->err - 1, f) : 0;
    r->err[n] = '\0';
    if (f) {
        fclose(f);
    }
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-cli-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    write_file("good.csv", "排污口编码,排污口名称,排污口类型,经度,纬度\nA,一号,工业,120.7,30.9\n");
    write_file("mixed.csv", "排污口编码,排污口名称,排污口类型,经度,纬度\nB,二号,工业,120.7,30.9\n"
                            "C,三号,工厂,120.7,30.9\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd);
}

static void test_exit_codes_scripts_can_trust(void **state)
{
    (void)state;
    run_result r;
    run("ingest --store s.sqlite --layer outfalls good.csv", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "rows in 1 = stored 1 (new 1, updated 0, unchanged 0) + "
                                  "rejected 0"));
    run("ingest --store s.sqlite --layer outfalls --rejects rej.csv mixed.csv", &r);
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.out, "mixed.csv:3: 排污口类型 '工厂': not one of"));
    run("ingest --store s.sqlite --layer outfalls good.csv", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "good.csv → outfalls: already imported as batch 1"));
    assert_non_null(strstr(r.out, "nothing changed"));
    run("ingest --store s.sqlite --layer nosuch good.csv", &r);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "unknown layer 'nosuch'"));
    run("ingest --store s.sqlite good.csv", &r);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--layer is required"));
    run("ingest --store s.sqlite --layer outfalls --region 1,2,3 good.csv", &r);
    assert_int_equal(r.code, 2);
    run("ingest --store s.sqlite --layer outfalls --header-row 1.5 good.csv", &r);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--header-row wants a whole row number, got '1.5'"));
    run("ingest --store s.sqlite --layer outfalls missing.csv", &r);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "missing.csv: No such file or directory"));
    assert_non_null(strstr(r.err, "nothing from this file was stored"));
    run("frobnicate", &r);
    assert_int_equal(r.code, 2);
    run("--help", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "ingest"));
}

static void test_rejects_csv_opens_in_excel(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/rej.csv", g_dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_memory_equal(buf, "\xEF\xBB\xBF\"file\",\"row\",\"source_id\"", 23);
    assert_non_null(strstr(buf, "\"mixed.csv\",\"3\",\"C\",\"kind\",\"enum\","));
    /* the raw record is one CSV cell with its quotes doubled */
    assert_non_null(strstr(buf, "\"{\"\"排污口编码\"\":\"\"C\"\""));
    run_result r;
    run("batches --store s.sqlite --rejects 2", &r);
    assert_int_equal(r.code, 0);
    assert_memory_equal(r.out, "\xEF\xBB\xBF", 3);
    assert_non_null(strstr(r.out, "\"mixed.csv\",\"3\",\"C\",\"kind\",\"enum\","));
}

static void test_json_summary_has_the_promised_keys(void **state)
{
    (void)state;
    write_file("j.csv", "排污口编码,排污口名称,排污口类型,经度,纬度\nJ,一号,工业,120.7,30.9\n"
                        "K,二号,工业,200,30.9\n");
    run_result r;
    run("ingest --json --store s.sqlite --layer outfalls j.csv", &r);
    assert_int_equal(r.code, 3);
    json_error_t je;
    json_t *o = json_loads(r.out, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "rows_in")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "stored")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "rejected")), 1);
    assert_true(json_integer_value(json_object_get(o, "batch_id")) > 0);
    assert_string_equal(json_string_value(json_object_get(o, "encoding")), "UTF-8");
    assert_string_equal(json_string_value(json_object_get(o, "crs")),
                        "EPSG:4490 (default: the file names none)");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(o, "rejected_by_reason"), "coordinates")),
                     1);
    json_decref(o);
    run("batches --json --store s.sqlite", &r);
    assert_int_equal(r.code, 0);
    o = json_loads(r.out, 0, &je);
    assert_true(json_is_array(o));
    assert_int_equal(json_array_size(o), 3);
    json_decref(o);
}

/* A store with points but no reaches yet: joins, network build and load all work (this path
 * once handed qsort a NULL array; the sanitizer build runs it). */
static void test_join_and_network_on_a_store_without_reaches(void **state)
{
    (void)state;
    run_result r;
    run("ingest --store empty.sqlite --layer outfalls good.csv", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "joined 1 features: 0 on a reach or in a lake, 1 unmatched"));
    run("network --store empty.sqlite", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "network: 0 reaches, 0 nodes"));
    run("network --load --json --store empty.sqlite", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"reaches\": 0"));
    run("join --store empty.sqlite --layer reaches", &r);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "reaches                    0 features"));
    run("join --store empty.sqlite --layer contacts", &r);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "layer 'contacts' has no joins"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes_scripts_can_trust),
        cmocka_unit_test(test_rejects_csv_opens_in_excel),
        cmocka_unit_test(test_json_summary_has_the_promised_keys),
        cmocka_unit_test(test_join_and_network_on_a_store_without_reaches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
