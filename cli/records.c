/* SPDX-License-Identifier: MIT */
/* Records entered at the command line become files and batches like any import
 * (cr_api_record): the record file is kept beside the store, so what was entered, when, is
 * evidence of its own. */
#include "api/api.h"
#include "cli_common.h"
#include "exit_codes.h"

#include <string.h>

int cr_cli_record_report(const cr_cli_common *common, const char *what, const char *id,
                         cr_status rc, const cr_record_result *r, const cr_error *e)
{
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver %s: %s\n", what, e->msg);
        return rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    }
    if (!common->quiet && !common->json) {
        printf("%s %s: %s as batch %lld (record %s)\n", what, id,
               r->inserted  ? "recorded"
               : r->updated ? "updated (a new version)"
                            : "unchanged",
               (long long)r->batch_id, r->path);
    }
    return CR_EXIT_OK;
}

int cr_cli_record(cr_store *store, const cr_cli_common *common, const char *layer, const char *id,
                  const char *const *names, const char *const *values, size_t n, const char *crs,
                  const char *what)
{
    cr_record_result r;
    cr_error e = {0};
    cr_status rc =
        cr_api_record(store, common->store_path, layer, id, names, values, n, crs, &r, &e);
    return cr_cli_record_report(common, what, id, rc, &r, &e);
}
