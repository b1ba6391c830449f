/* SPDX-License-Identifier: MIT */
/* Records entered at the command line become files and batches like any import: the record
 * file is kept beside the store, so what was entered, when, is evidence of its own. */
#include "after_import.h"
#include "cli_common.h"
#include "etl/etl.h"
#include "exit_codes.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cr_cli_record(cr_store *store, const cr_cli_common *common, const char *layer, const char *id,
                  const char *const *names, const char *const *values, size_t n, const char *crs,
                  const char *what)
{
    char dir[1100], path[1400];
    snprintf(dir, sizeof dir, "%s.records", common->store_path);
    mkdir(dir, 0755);
    char stamp[21];
    cr_now_iso8601(stamp);
    for (char *p = stamp; *p; p++) {
        *p = *p == ':' ? '-' : *p;
    }
    snprintf(path, sizeof path, "%s/%s-%s-%s.csv", dir, layer, id, stamp);
    /* two records within a second: the later one gets a number, none is overwritten */
    struct stat seen;
    for (int k = 2; stat(path, &seen) == 0 && k < 1000; k++) {
        snprintf(path, sizeof path, "%s/%s-%s-%s-%d.csv", dir, layer, id, stamp, k);
    }
    cr_strbuf b = {0};
    cr_csv_begin(&b);
    cr_csv_row(&b, names, n);
    cr_csv_row(&b, values, n);
    int ok = cr_cli_write_output(what, path, b.data, b.len);
    cr_strbuf_cleanup(&b);
    if (!ok) {
        return CR_EXIT_FAILURE;
    }
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), layer);
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    o.crs = crs;
    cr_ingest_result r;
    cr_error e = {0};
    if (def == NULL || cr_etl_ingest_file(store, def, path, &o, &r, &e) != CR_OK) {
        fprintf(stderr, "crossriver %s: %s\n", what, def ? e.msg : "the layer is not defined");
        return CR_EXIT_FAILURE;
    }
    if (r.rejected > 0) {
        json_t *rows = NULL;
        cr_store_list_rejects(store, r.batch_id, 4, &rows, NULL);
        fprintf(stderr, "crossriver %s: not recorded: %s\n", what,
                json_string_value(json_object_get(json_array_get(rows, 0), "reason")));
        json_decref(rows);
        return CR_EXIT_USAGE;
    }
    cr_cli_after_import after = {what, layer, &r.batch_id, 1, 0, 0};
    int code = cr_cli_after_import_run(store, &after);
    if (code == CR_EXIT_OK && !common->quiet && !common->json) {
        printf("%s %s: %s as batch %lld (record %s)\n", what, id,
               r.inserted  ? "recorded"
               : r.updated ? "updated (a new version)"
                           : "unchanged",
               (long long)r.batch_id, path);
    }
    return code;
}
