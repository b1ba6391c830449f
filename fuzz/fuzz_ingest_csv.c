/* SPDX-License-Identifier: MIT */
/* A CSV file as a county sends it, through the whole import into the outfalls layer (encoding
 * detection, title lines, header mapping by the Chinese aliases, each row's values and
 * coordinates; cr_etl_ingest_file as a dry run, so the store stays as it was). Invariants:
 * nothing is lost — an import that goes through stores or rejects every row it read
 * (rows_in == stored + rejected, every reject with its reason code); an import refused says
 * why and names the file; the store is unchanged. */
#include "etl/etl.h"
#include "store/store.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cr_store *g_store;
static cr_layer_set *g_set;
static char g_dir[64], g_file[128];

static void setup(void)
{
    cr_error e = {0};
    snprintf(g_dir, sizeof g_dir, "/tmp/fuzz-ingest-XXXXXX");
    assert(mkdtemp(g_dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/f.sqlite", g_dir);
    snprintf(g_file, sizeof g_file, "%s/county.csv", g_dir);
    cr_log_set_level(CR_LOG_OFF);
    cr_store_global_init();
    assert(cr_layer_set_load(cr_layers_default_dir(), &g_set, &e) == CR_OK);
    assert(cr_store_open(path, g_set, &g_store, &e) == CR_OK);
}

static int64_t batches(void)
{
    sqlite3_stmt *st = cr_store_cached(g_store, "SELECT count(*) FROM import_batches");
    assert(st && sqlite3_step(st) == SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_store == NULL) {
        setup();
    }
    FILE *f = fopen(g_file, "wb");
    assert(f != NULL);
    fwrite(data, 1, size, f);
    fclose(f);
    const cr_layer_def *layer = cr_layer_set_find(g_set, "outfalls");
    cr_ingest_options opt = {0};
    memcpy(opt.region, CR_REGION_TAIHU, sizeof opt.region);
    opt.dry_run = 1;
    cr_ingest_result r = {0};
    cr_error e = {0};
    int64_t before = batches();
    cr_status rc = cr_etl_ingest_file(g_store, layer, g_file, &opt, &r, &e);
    if (rc == CR_OK) {
        assert(r.dry_run && r.rows_in >= 0);
        assert(r.rows_in == r.stored + r.rejected);
        int64_t coded = 0;
        for (size_t i = 0; i < r.n_reasons; i++) {
            assert(r.reasons[i].code[0] != '\0' && r.reasons[i].count > 0);
            coded += r.reasons[i].count;
        }
        assert(coded == r.rejected || r.n_reasons == CR_INGEST_MAX_REASONS);
    } else {
        assert(e.msg[0] != '\0');
    }
    assert(batches() == before); /* a dry run stores nothing */
    cr_ingest_result_cleanup(&r);
    return 0;
}
