/* SPDX-License-Identifier: MIT */
/* Snapshots and workers: what requests read besides the store (layer definitions, tokens, the
 * network), swapped whole on SIGHUP or a rebuilt network without dropping a request, and each
 * worker thread's store connection and trace workspace following the current snapshot. */
#include "server_internal.h"
#include "tiler/tile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

snapshot *cr_srv_snapshot_acquire(server_state *s)
{
    pthread_mutex_lock(&s->snap_lock);
    snapshot *p = s->snap;
    p->refs++;
    pthread_mutex_unlock(&s->snap_lock);
    return p;
}

void cr_srv_snapshot_release(server_state *s, snapshot *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&s->snap_lock);
    int last = --p->refs == 0;
    int last_net = last && p->net && --p->net->refs == 0;
    pthread_mutex_unlock(&s->snap_lock);
    if (last_net) {
        cr_reach_index_free(p->net->ref);
        cr_graph_free(p->net->graph);
        free(p->net);
    }
    if (last) {
        cr_access_list_free(p->tokens);
        cr_layer_set_free(p->set);
        cr_standards_free(p->std);
        json_decref(p->relevance);
        json_decref(p->config);
        free(p);
    }
}

/* Make next current; requests already using the old one finish with it. */
void cr_srv_snapshot_install(server_state *s, snapshot *next)
{
    next->refs = 1;
    pthread_mutex_lock(&s->snap_lock);
    snapshot *old = s->snap;
    next->id = old ? old->id + 1 : 1;
    s->snap = next;
    atomic_store(&s->snap_id, next->id);
    pthread_mutex_unlock(&s->snap_lock);
    cr_srv_snapshot_release(s, old);
}

typedef struct {
    server_state *s;
    worker w;
} worker_slot;

void cr_srv_free_worker(void *p)
{
    worker_slot *ws = p;
    if (ws) {
        cr_trace_workspace_free(ws->w.ws);
        cr_store_close(ws->w.store);
        cr_srv_snapshot_release(ws->s, ws->w.snap);
        free(ws);
    }
}

/* This thread's worker on the current snapshot: its store connection is reopened when the
 * layer definitions changed, its trace workspace remade when the network did. */
worker *cr_srv_this_worker(server_state *s, int with_store, cr_error *err)
{
    worker_slot *slot = pthread_getspecific(s->worker_key);
    if (slot && slot->w.snap && slot->w.snap->id == atomic_load(&s->snap_id) &&
        (!with_store || slot->w.store)) {
        return &slot->w;
    }
    if (slot == NULL) {
        slot = cr_xcalloc(1, sizeof *slot);
        slot->s = s;
        pthread_setspecific(s->worker_key, slot);
    }
    worker *w = &slot->w;
    snapshot *now = cr_srv_snapshot_acquire(s);
    if (with_store && (w->snap == NULL || w->snap->set != now->set || w->store == NULL)) {
        cr_store_close(w->store);
        w->store = NULL;
        if (cr_store_open_readonly(s->cfg->store_path, now->set, &w->store, err) != CR_OK) {
            cr_srv_snapshot_release(s, now);
            return NULL;
        }
    }
    if (with_store && (w->snap == NULL || w->snap->net != now->net || w->ws == NULL)) {
        cr_trace_workspace_free(w->ws);
        w->ws = cr_trace_workspace_new(now->net->graph);
    }
    cr_srv_snapshot_release(s, w->snap);
    w->snap = now;
    return w;
}

static void network_release(server_state *s, network *net)
{
    pthread_mutex_lock(&s->snap_lock);
    int last = --net->refs == 0;
    pthread_mutex_unlock(&s->snap_lock);
    if (last) {
        cr_reach_index_free(net->ref);
        cr_graph_free(net->graph);
        free(net);
    }
}

/* A snapshot from the files (layer definitions, tokens) and either share (whose reference the
 * caller took and hands over) or, when share is NULL, the network loaded from the store. */
static cr_status load_snapshot(server_state *s, network *share, snapshot **out, cr_error *err)
{
    const cr_server_config *cfg = s->cfg;
    snapshot *p = cr_xcalloc(1, sizeof *p);
    p->net = share;
    cr_status rc = cr_layer_set_load(cfg->layers_dir, &p->set, err);
    if (rc == CR_OK && cfg->tokens_path) {
        rc = cr_access_load(cfg->tokens_path, &p->tokens, err);
    }
    if (rc == CR_OK) {
        rc = cr_standards_load(NULL, &p->std, err);
    }
    if (rc == CR_OK &&
        (p->relevance = cr_standards_file(NULL, "source_relevance.json", err)) == NULL) {
        rc = err->code;
    }
    if (rc == CR_OK) {
        /* a config that does not check is refused (at start, or on SIGHUP: the previous stays) */
        rc = cfg->config ? cr_api_config_load(cfg->config, &p->config, err)
                         : ((p->config = json_object()) != NULL ? CR_OK : CR_ENOMEM);
    }
    if (rc == CR_OK) {
        rc = cr_wq_alarm_config_load(json_object_get(p->config, "alarms"), &p->alarms, err);
    }
    if (rc == CR_OK && share == NULL) {
        network *net = p->net = cr_xcalloc(1, sizeof *net);
        net->refs = 1;
        cr_store *store = NULL;
        rc = cr_store_open_readonly(cfg->store_path, p->set, &store, err);
        if (rc == CR_OK) {
            /* the generation first: a rebuild committed meanwhile is seen on the next poll */
            net->generation = cr_store_meta_int(store, "network_generation");
            rc = cr_graph_load(store, &net->graph, err);
        }
        if (rc == CR_OK) {
            rc = cr_reach_index_load(store, &net->ref, err);
        }
        cr_store_close(store);
    }
    if (rc != CR_OK) {
        if (p->net) {
            network_release(s, p->net);
        }
        cr_access_list_free(p->tokens);
        cr_layer_set_free(p->set);
        cr_standards_free(p->std);
        json_decref(p->relevance);
        json_decref(p->config);
        free(p);
        return rc;
    }
    *out = p;
    return CR_OK;
}

/* SIGHUP (config: layer definitions and tokens, the network kept) or a network rebuilt in the
 * store: load and install a new snapshot while requests go on with the old one; on failure the
 * old one stays and the error is logged. */
void cr_srv_reload(server_state *s, int config)
{
    network *share = NULL;
    if (config) {
        pthread_mutex_lock(&s->snap_lock);
        share = s->snap->net;
        share->refs++;
        pthread_mutex_unlock(&s->snap_lock);
    }
    double t0 = cr_monotonic_s();
    cr_error err = {0};
    snapshot *next = NULL;
    if (load_snapshot(s, share, &next, &err) != CR_OK) {
        atomic_fetch_add(&s->m.reload_failures, 1);
        cr_log(CR_LOG_ERROR, "server", "reload refused, still serving the previous %s: %s",
               config ? "configuration" : "network", err.msg);
        return;
    }
    if (config) {
        /* tiles depend on the layer definitions: start the cache afresh */
        cr_tile_cache_clear(s->cache, cr_tile_cache_generation(s->cache));
    }
    cr_srv_snapshot_install(s, next);
    atomic_fetch_add(&s->m.reloads, 1);
    cr_log(CR_LOG_WARN, "server",
           "reloaded %s in %.2f s: %zu layer definitions, %zu tokens, %d reaches (network "
           "generation %lld)",
           config ? "layer definitions and tokens" : "the network", cr_monotonic_s() - t0,
           next->set->n_layers, cr_access_count(next->tokens), next->net->graph->n_reaches,
           (long long)next->net->generation);
}

/* Has the store moved on? Drop the tiles its changes touch, and reload the network when it was
 * rebuilt. Runs on the main thread between signals. */
void cr_srv_poll_store(server_state *s, cr_store *store)
{
    int64_t gen = cr_store_data_generation(store);
    if (gen == s->data_generation) {
        return;
    }
    cr_store_change *changes = NULL;
    size_t n = 0;
    int complete = 0;
    cr_error err = {0};
    if (cr_store_changes_since(store, s->data_generation, &changes, &n, &complete, &err) != CR_OK) {
        cr_log(CR_LOG_ERROR, "server", "reading tile changes: %s", err.msg);
    }
    snapshot *cur = cr_srv_snapshot_acquire(s);
    size_t dropped = 0;
    if (!complete) {
        dropped = cr_tile_cache_clear(s->cache, gen);
    } else {
        cr_tile_change *tc = cr_xcalloc(n ? n : 1, sizeof *tc);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const cr_layer_def *d = cr_layer_set_find(cur->set, changes[i].layer);
            if (d == NULL || cr_tile_settings(d) == NULL) {
                continue; /* untiled layers change no tile */
            }
            tc[k].layer = changes[i].layer;
            memcpy(tc[k].box, changes[i].box, sizeof tc[k].box);
            cr_tile_zoom_range(cr_tile_settings(d), &tc[k].minz, &tc[k].maxz);
            k++;
        }
        /* changes committed after gen was read are in the list too: dropping them early is
         * harmless, and they are dropped again when their generation is seen */
        dropped = cr_tile_cache_invalidate(s->cache, tc, k, gen);
        free(tc);
    }
    int network_changed = cr_store_meta_int(store, "network_generation") != cur->net->generation;
    cr_srv_snapshot_release(s, cur);
    cr_log(CR_LOG_WARN, "server",
           "data generation %lld → %lld: %zu change boxes, %zu cached tiles dropped%s",
           (long long)s->data_generation, (long long)gen, n, dropped,
           complete ? "" : " (changes not recorded: the whole cache)");
    free(changes);
    s->data_generation = gen;
    if (network_changed) {
        cr_srv_reload(s, 0);
    }
}

cr_status cr_srv_load_snapshot(server_state *s, snapshot **out, cr_error *err)
{
    return load_snapshot(s, NULL, out, err);
}

uint64_t cr_srv_store_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? ((uint64_t)st.st_dev << 40) ^ (uint64_t)st.st_ino : 0;
}

void cr_srv_store_replaced(server_state *s, cr_store **poll_db, const cr_layer_set *poll_set)
{
    uint64_t file = cr_srv_store_file(s->cfg->store_path);
    cr_store *next = NULL;
    cr_error err = {0};
    if (file == 0 || cr_store_open_readonly(s->cfg->store_path, poll_set, &next, &err) != CR_OK) {
        cr_log(CR_LOG_ERROR, "server", "the store was replaced but cannot be read: %s", err.msg);
        s->store_file = file; /* said once; the next replacement is tried again */
        return;
    }
    uint64_t reloads = atomic_load(&s->m.reloads);
    cr_srv_reload(s, 0); /* workers reopen the path (a new definition set): the new file */
    if (atomic_load(&s->m.reloads) == reloads) {
        cr_store_close(next);
        s->store_file = file;
        return;
    }
    int64_t gen = cr_store_data_generation(next);
    size_t dropped = cr_tile_cache_clear(s->cache, gen);
    cr_store_close(*poll_db);
    *poll_db = next;
    s->store_file = file;
    s->data_generation = gen;
    cr_log(CR_LOG_WARN, "server",
           "the store was replaced (a published snapshot): data generation %lld, %zu cached tiles "
           "dropped",
           (long long)gen, dropped);
}
