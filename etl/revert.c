/* SPDX-License-Identifier: MIT */
/* Undoing a batch: a revert is a batch of its own that closes what the batch left current and
 * makes current again what it closed. Rule: refused while a later batch changed the same
 * features, so history never forks. */
#include "etl.h"

#include <string.h>

cr_status cr_etl_revert_batch(cr_store *store, int64_t batch_id, cr_revert_result *out,
                              cr_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = cr_monotonic_s();
    cr_batch_summary b;
    cr_status rc = cr_store_get_batch(store, batch_id, &b, err);
    if (rc != CR_OK) {
        return rc;
    }
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), b.layer);
    int readings = strcmp(b.layer, "readings") == 0;
    if (def == NULL && !readings) {
        rc = cr_error_set(err, CR_EINVAL, "batch %lld: layer %s is not defined any more",
                          (long long)batch_id, b.layer);
    } else if (b.reverted_by) {
        rc = cr_error_set(err, CR_EINVAL, "batch %lld was already undone by batch %lld",
                          (long long)batch_id, (long long)b.reverted_by);
    } else if (b.superseded_by) {
        rc = cr_error_set(err, CR_EINVAL,
                          "batch %lld was superseded by batch %lld (the same file with other "
                          "options); revert that one instead",
                          (long long)batch_id, (long long)b.superseded_by);
    }
    snprintf(out->layer, sizeof out->layer, "%s", b.layer);
    char name[160];
    snprintf(name, sizeof name, "revert of batch %lld", (long long)batch_id);
    cr_batch_info info = {b.layer, name, "", "", "", "", "{}", NULL, "revert", batch_id};
    if (rc == CR_OK) {
        rc = cr_store_begin_batch(store, &info, &out->batch_id, err);
    }
    if (rc == CR_OK && readings) {
        rc = cr_etl_revert_readings(store, batch_id, out->batch_id, &out->closed, &out->reopened,
                                    err);
    } else if (rc == CR_OK) {
        rc = cr_store_revert_rows(store, def, batch_id, out->batch_id, &out->closed, &out->reopened,
                                  err);
    }
    if (rc == CR_OK) {
        cr_batch_counts n = {0};
        n.closed = out->closed;
        n.reopened = out->reopened;
        n.seconds = cr_monotonic_s() - t0;
        rc = cr_store_commit_batch(store, out->batch_id, &n, err);
    }
    if (rc != CR_OK) {
        cr_store_rollback(store);
    }
    cr_batch_summary_cleanup(&b);
    return rc;
}
