/* SPDX-License-Identifier: MIT */
/* Records written over HTTP — incidents, their updates and notifications, patrol findings and
 * their steps, gate operations — and the findings read back. Every write is token-gated (the
 * route table), serialised within the server, recorded as a batch like an import (its record
 * file kept in STORE.records/) on a writable connection of its own, and audited under the
 * token's name and the person the body names. */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_TYPE "application/json; charset=utf-8"

static const char *param(const request *req, const char *name)
{
    return json_string_value(json_object_get(req->params, name));
}

static cr_status body_object(const request *req, json_t **out, cr_error *err)
{
    json_error_t je;
    *out = req->body ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return cr_error_set(err, CR_EINVAL, "the body is a JSON object%s%s",
                            req->body ? ": " : " (none was sent)", req->body ? je.text : "");
    }
    return CR_OK;
}

/* "token name / person" for the audit table. */
static void who_of(const request *req, const char *person, char who[192])
{
    snprintf(who, 192, "%s%s%s", cr_access_name(req->access), person ? " / " : "",
             person ? person : "");
}

/* A write: one at a time in this server (SQLite's busy timeout orders it against others),
 * on a writable connection of its own. */
static cr_status open_writer(server_state *s, worker *w, cr_store **rw, cr_error *err)
{
    pthread_mutex_lock(&s->write_lock);
    cr_status rc = cr_store_open(s->cfg->store_path, w->snap->set, rw, err);
    if (rc != CR_OK) {
        pthread_mutex_unlock(&s->write_lock);
    }
    return rc;
}

static void close_writer(server_state *s, cr_store *rw)
{
    cr_store_close(rw);
    pthread_mutex_unlock(&s->write_lock);
}

static json_t *record_json(const char *id, const cr_record_result *r)
{
    const char *slash = strrchr(r->path, '/');
    return json_pack("{s:s, s:I, s:s, s:s}", "id", id, "batch_id", (json_int_t)r->batch_id,
                     "outcome",
                     r->inserted  ? "recorded"
                     : r->updated ? "updated"
                                  : "unchanged",
                     "record_file", slash ? slash + 1 : r->path);
}

/* An ID from the path after prefix, up to the next '/'; *tail gets what follows it. */
static cr_status path_id(const char *path, const char *prefix, char id[96], const char **tail,
                         const char *usage, cr_error *err)
{
    const char *rest = path + strlen(prefix);
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n > 95) {
        return cr_error_set(err, CR_ENOTFOUND, "%s", usage);
    }
    snprintf(id, 96, "%.*s", (int)n, rest);
    *tail = slash ? slash + 1 : "";
    return CR_OK;
}

/* The body's fields are among known (NULL-terminated) and strings; else CR_EINVAL naming the
 * field and what is known. */
static cr_status string_fields(const json_t *body, const char *const *known, const char *what,
                               cr_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0) {
            i++;
        }
        if (known[i] == NULL || !json_is_string(v)) {
            cr_strbuf b = {0};
            for (size_t k = 0; known[k]; k++) {
                cr_strbuf_printf(&b, "%s%s", k ? ", " : "", known[k]);
            }
            cr_error_set(err, CR_EINVAL, "'%s' is not a %s field or not a string (%s)", key, what,
                         b.data);
            cr_strbuf_cleanup(&b);
            return CR_EINVAL;
        }
    }
    return CR_OK;
}

/* One write: the call on its own writable connection, what it recorded audited as action
 * (NULL: the call audits itself), the answer (the call's, else the record's). */
typedef struct {
    const json_t *body;
    const char *path_id; /* the ID in the path, or NULL */
    const char *who;     /* "token name / person" */
    char id[96];         /* the record's ID, set by the call */
    cr_record_result r;
    json_t *answer; /* set by the call, or NULL */
} write_call;

typedef cr_status (*write_fn)(cr_store *rw, const char *store_path, write_call *c, cr_error *err);

static cr_status audited_write(server_state *s, worker *w, const request *req, response *res,
                               write_call *c, const char *person, const char *action, write_fn fn,
                               cr_error *err)
{
    char who[192];
    who_of(req, person, who);
    c->who = who;
    cr_store *rw = NULL;
    cr_status rc = open_writer(s, w, &rw, err);
    if (rc != CR_OK) {
        return rc;
    }
    rc = fn(rw, s->cfg->store_path, c, err);
    if (rc == CR_OK && action) {
        char what[192];
        snprintf(what, sizeof what, "%s %s (batch %lld)", action, c->id, (long long)c->r.batch_id);
        rc = cr_store_audit(rw, who, action, what, err);
    }
    if (rc == CR_OK) {
        res->body = c->answer ? c->answer : record_json(c->id, &c->r);
        c->answer = NULL;
        res->content_type = JSON_TYPE;
    }
    json_decref(c->answer);
    close_writer(s, rw);
    return rc;
}

static cr_status do_incident_open(cr_store *rw, const char *store_path, write_call *c,
                                  cr_error *err)
{
    cr_incident_input in;
    cr_status rc = cr_api_incident_input_json(c->body, &in, err);
    char id[64] = "";
    if (rc == CR_OK) {
        rc = cr_api_incident_open(rw, store_path, &in, id, &c->r, err);
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    return rc;
}

static cr_status do_incident_update(cr_store *rw, const char *store_path, write_call *c,
                                    cr_error *err)
{
    json_t *fields = json_deep_copy(c->body);
    json_object_del(fields, "who");
    cr_incident_input in;
    cr_status rc = cr_api_incident_input_json(fields, &in, err);
    if (rc == CR_OK && (in.at || in.feature || in.reach || in.id)) {
        rc = cr_error_set(err, CR_EINVAL,
                          "an update keeps the place and the ID (open a new incident for "
                          "another place)");
    }
    if (rc == CR_OK) {
        in.id = c->path_id;
        rc = cr_api_incident_update(rw, store_path, &in, &c->r, err);
    }
    snprintf(c->id, sizeof c->id, "%s", c->path_id);
    json_decref(fields);
    return rc;
}

static const char *field(const write_call *c, const char *name)
{
    return json_string_value(json_object_get(c->body, name));
}

static cr_status do_notify(cr_store *rw, const char *store_path, write_call *c, cr_error *err,
                           int gate)
{
    (void)store_path;
    cr_notification_input n = {c->path_id,       gate ? "notification" : field(c, "kind"),
                               field(c, "to"),   field(c, "channel"),
                               field(c, "sent"), field(c, "acknowledged"),
                               c->who,           field(c, "note")};
    snprintf(c->id, sizeof c->id, "%s", c->path_id);
    return gate ? cr_api_gate_notify(rw, &n, &c->answer, err)
                : cr_api_incident_notify(rw, &n, &c->answer, err);
}

static cr_status do_incident_notify(cr_store *rw, const char *store_path, write_call *c,
                                    cr_error *err)
{
    return do_notify(rw, store_path, c, err, 0);
}

static cr_status do_gate_notify(cr_store *rw, const char *store_path, write_call *c, cr_error *err)
{
    return do_notify(rw, store_path, c, err, 1);
}

static cr_status do_finding_new(cr_store *rw, const char *store_path, write_call *c, cr_error *err)
{
    snprintf(c->id, sizeof c->id, "%s", field(c, "finding_id") ? field(c, "finding_id") : "");
    return cr_api_finding_new(rw, store_path, c->body, &c->r, err);
}

static cr_status do_finding_step(cr_store *rw, const char *store_path, write_call *c, cr_error *err)
{
    snprintf(c->id, sizeof c->id, "%s", c->path_id);
    cr_status rc =
        cr_api_finding_step(rw, store_path, c->path_id, field(c, "to"), c->who, field(c, "note"),
                            field(c, "photo"), field(c, "at"), &c->r, err);
    if (rc == CR_OK) {
        rc = cr_api_finding(rw, c->path_id, &c->answer, err);
    }
    if (rc == CR_OK) {
        json_object_set_new(c->answer, "record", record_json(c->id, &c->r));
    }
    return rc;
}

static cr_status do_gate_operation(cr_store *rw, const char *store_path, write_call *c,
                                   cr_error *err)
{
    json_t *fields = json_deep_copy(c->body);
    json_object_del(fields, "who");
    char id[64] = "";
    cr_status rc = cr_api_gate_operation_record(rw, store_path, fields, id, &c->r, err);
    snprintf(c->id, sizeof c->id, "%s", id);
    json_decref(fields);
    return rc;
}

/* A new record from the body's fields, audited under its reporter. */
static cr_status post_new(server_state *s, worker *w, const request *req, response *res,
                          const char *action, write_fn fn, cr_error *err)
{
    json_t *body = NULL;
    cr_status rc = body_object(req, &body, err);
    write_call c = {body, NULL, NULL, "", {0}, NULL};
    if (rc == CR_OK) {
        rc = audited_write(s, w, req, res, &c, json_string_value(json_object_get(body, "reporter")),
                           action, fn, err);
    }
    json_decref(body);
    return rc;
}

/* POST /api/incidents {the incident's fields}: a new incident. */
cr_status cr_res_incident_open(server_state *s, worker *w, const request *req, response *res,
                               cr_error *err)
{
    return post_new(s, w, req, res, "incident_open", do_incident_open, err);
}

/* POST /api/incidents/{id} {fields to change, "who"}: a new version; POST
 * /api/incidents/{id}/notifications {to, channel, sent, acknowledged, kind, who, note}: a
 * notification sent. */
cr_status cr_res_incident_write(server_state *s, worker *w, const request *req, response *res,
                                cr_error *err)
{
    static const char *const NOTIFY[] = {"kind",         "to",  "channel", "sent",
                                         "acknowledged", "who", "note",    NULL};
    const char *usage = "POST /api/incidents/{id} (an update) or /api/incidents/{id}/notifications";
    char id[96];
    const char *tail = "";
    cr_status rc = path_id(req->path, "/api/incidents/", id, &tail, usage, err);
    if (rc == CR_OK && strcmp(tail, "") && strcmp(tail, "notifications")) {
        rc = cr_error_set(err, CR_ENOTFOUND, "%s", usage);
    }
    json_t *body = NULL;
    if (rc == CR_OK) {
        rc = body_object(req, &body, err);
    }
    int notify = tail[0] == 'n';
    if (rc == CR_OK && notify) {
        rc = string_fields(body, NOTIFY, "notification", err);
    }
    const char *person = json_string_value(json_object_get(body, "who"));
    if (rc == CR_OK && person == NULL) {
        rc =
            cr_error_set(err, CR_EINVAL, "who: the person %s", notify ? "who sent it" : "updating");
    }
    write_call c = {body, id, NULL, "", {0}, NULL};
    if (rc == CR_OK) {
        rc = audited_write(s, w, req, res, &c, person, notify ? NULL : "incident_update",
                           notify ? do_incident_notify : do_incident_update, err);
    }
    json_decref(body);
    return rc;
}

/* GET /api/findings[?status=S]: the current findings. */
cr_status cr_res_findings(server_state *s, worker *w, const request *req, response *res,
                          cr_error *err)
{
    (void)s;
    const char *status = param(req, "status");
    static const char *const STATES[] = {"open", "rectifying", "rectified", "verified", "closed"};
    int known = status == NULL;
    for (int i = 0; i < 5 && !known; i++) {
        known = strcmp(status, STATES[i]) == 0;
    }
    if (!known) {
        return cr_error_set(err, CR_EINVAL,
                            "status: open, rectifying, rectified, verified or closed, not '%s'",
                            status);
    }
    json_t *a = NULL;
    cr_status rc = cr_api_findings(w->store, status, &a, err);
    if (rc == CR_OK) {
        res->body = json_pack("{s:o}", "findings", a);
        res->content_type = JSON_TYPE;
    }
    return rc;
}

/* GET /api/findings/{id}: one with its versions; GET /api/findings/report?period=2025Q3
 * [&as_of=DATE][&format=json|html|csv]: the 整改报告. */
cr_status cr_res_finding(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    char id[96];
    const char *tail = "";
    cr_status rc = path_id(req->path, "/api/findings/", id, &tail,
                           "GET /api/findings/{id} or /api/findings/report?period=2025Q3", err);
    if (rc == CR_OK && tail[0]) {
        rc = cr_error_set(err, CR_ENOTFOUND, "GET /api/findings/{id} or /api/findings/report");
    }
    if (rc != CR_OK) {
        return rc;
    }
    if (strcmp(id, "report") != 0) {
        if (param(req, "period") || param(req, "as_of")) {
            return cr_error_set(err, CR_EINVAL, "period and as_of are for /api/findings/report");
        }
        json_t *f = NULL;
        rc = cr_api_finding(w->store, id, &f, err);
        if (rc == CR_OK) {
            res->body = f;
            res->content_type = JSON_TYPE;
        }
        return rc;
    }
    char first[11], last[11], today[11];
    const char *period = param(req, "period");
    if (period == NULL || !cr_ops_period_days(period, first, last)) {
        return cr_error_set(err, CR_EINVAL, "period: 2025Q3, 2025-07 or 2025");
    }
    if (param(req, "as_of")) {
        snprintf(today, sizeof today, "%.10s", param(req, "as_of"));
    } else {
        time_t t = time(NULL) + 8 * 3600;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(today, sizeof today, "%Y-%m-%d", &tm);
    }
    const char *format = param(req, "format") ? param(req, "format") : "json";
    if (strcmp(format, "json") && strcmp(format, "html") && strcmp(format, "csv")) {
        return cr_error_set(err, CR_EINVAL, "format: json, html or csv");
    }
    const json_t *conf = w->snap->config;
    json_t *r = NULL;
    rc = cr_ops_rectification_report(w->store, first, last, today, conf, &r, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (strcmp(format, "json") == 0) {
        res->body = r;
        res->content_type = JSON_TYPE;
        return CR_OK;
    }
    cr_strbuf b = {0};
    if (format[0] == 'h') {
        cr_ops_rectification_html(r, &b);
        res->content_type = "text/html; charset=utf-8";
    } else {
        cr_ops_rectification_csv(r, &b);
        res->content_type = "text/csv; charset=utf-8";
    }
    json_decref(r);
    res->raw_len = b.len;
    res->raw = cr_strbuf_take(&b);
    res->raw_set = 1;
    return CR_OK;
}

/* POST /api/findings {the finding's fields}: a new finding, open. */
cr_status cr_res_finding_new(server_state *s, worker *w, const request *req, response *res,
                             cr_error *err)
{
    return post_new(s, w, req, res, "finding_new", do_finding_new, err);
}

/* POST /api/findings/{id}/step {to, who, note, photo, at}: the finding's next step. */
cr_status cr_res_finding_step(server_state *s, worker *w, const request *req, response *res,
                              cr_error *err)
{
    static const char *const STEP[] = {"to", "who", "note", "photo", "at", NULL};
    char id[96];
    const char *tail = "";
    cr_status rc =
        path_id(req->path, "/api/findings/", id, &tail, "POST /api/findings/{id}/step", err);
    if (rc == CR_OK && strcmp(tail, "step") != 0) {
        rc = cr_error_set(err, CR_ENOTFOUND, "POST /api/findings/{id}/step");
    }
    json_t *body = NULL;
    if (rc == CR_OK) {
        rc = body_object(req, &body, err);
    }
    if (rc == CR_OK) {
        rc = string_fields(body, STEP, "step", err);
    }
    const char *person = json_string_value(json_object_get(body, "who"));
    if (rc == CR_OK && person == NULL) {
        rc = cr_error_set(err, CR_EINVAL, "who: the person who took the step");
    }
    write_call c = {body, id, NULL, "", {0}, NULL};
    if (rc == CR_OK) {
        rc = audited_write(s, w, req, res, &c, person, "finding_step", do_finding_step, err);
    }
    json_decref(body);
    return rc;
}

/* ---- gate operations -------------------------------------------------------------------- */

/* GET /api/gate-states?at=TIME: each gate's state in force then. */
cr_status cr_res_gate_states(server_state *s, worker *w, const request *req, response *res,
                             cr_error *err)
{
    (void)s;
    json_t *out = NULL;
    cr_status rc = cr_api_gate_states(w->store, param(req, "at"), &out, err);
    if (rc == CR_OK) {
        res->body = out;
        res->content_type = JSON_TYPE;
    }
    return rc;
}

/* GET /api/gate-operations: the log, newest first. */
cr_status cr_res_gate_operations(server_state *s, worker *w, const request *req, response *res,
                                 cr_error *err)
{
    (void)s;
    (void)req;
    json_t *out = NULL;
    cr_status rc = cr_api_gate_operations(w->store, &out, err);
    if (rc == CR_OK) {
        res->body = json_pack("{s:o}", "operations", out);
        res->content_type = JSON_TYPE;
    }
    return rc;
}

/* GET /api/gate-operations/{id}: its advance notice report; …/notice: the text. */
cr_status cr_res_gate_operation(server_state *s, worker *w, const request *req, response *res,
                                cr_error *err)
{
    char id[96];
    const char *tail = "";
    const char *usage = "GET /api/gate-operations/{id} or /api/gate-operations/{id}/notice";
    cr_status rc = path_id(req->path, "/api/gate-operations/", id, &tail, usage, err);
    if (rc == CR_OK && strcmp(tail, "") && strcmp(tail, "notice")) {
        rc = cr_error_set(err, CR_ENOTFOUND, "%s", usage);
    }
    if (rc != CR_OK) {
        return rc;
    }
    const json_t *conf = w->snap->config;
    cr_trace_context cx = {w->store, w->snap->net->graph, w->ws, w->snap->net->ref};
    json_t *r = NULL;
    rc = cr_api_gate_notice(&cx, id, conf, &r, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (tail[0]) {
        cr_strbuf b = {0};
        cr_strbuf_puts(&b, json_string_value(json_object_get(r, "notice")));
        json_decref(r);
        res->raw_len = b.len;
        res->raw = cr_strbuf_take(&b);
        res->raw_set = 1;
        res->content_type = "text/plain; charset=utf-8";
    } else {
        res->body = r;
        res->content_type = JSON_TYPE;
    }
    return CR_OK;
}

/* POST /api/gate-operations {the operation's fields, "who"}: record or change an operation. */
cr_status cr_res_gate_operation_record(server_state *s, worker *w, const request *req,
                                       response *res, cr_error *err)
{
    json_t *body = NULL;
    cr_status rc = body_object(req, &body, err);
    const char *person = json_string_value(json_object_get(body, "who"));
    if (rc == CR_OK && person == NULL) {
        rc = cr_error_set(err, CR_EINVAL, "who: the person recording the operation");
    }
    write_call c = {body, NULL, NULL, "", {0}, NULL};
    if (rc == CR_OK) {
        rc = audited_write(s, w, req, res, &c, person, "gate_operation", do_gate_operation, err);
    }
    json_decref(body);
    return rc;
}

/* POST /api/gate-operations/{id}/notifications {to, channel, sent, acknowledged, who, note}:
 * an advance notice sent. */
cr_status cr_res_gate_notify(server_state *s, worker *w, const request *req, response *res,
                             cr_error *err)
{
    static const char *const NOTICE[] = {"to",  "channel", "sent", "acknowledged",
                                         "who", "note",    NULL};
    char id[96];
    const char *tail = "";
    const char *usage = "POST /api/gate-operations/{id}/notifications";
    cr_status rc = path_id(req->path, "/api/gate-operations/", id, &tail, usage, err);
    if (rc == CR_OK && strcmp(tail, "notifications") != 0) {
        rc = cr_error_set(err, CR_ENOTFOUND, "%s", usage);
    }
    json_t *body = NULL;
    if (rc == CR_OK) {
        rc = body_object(req, &body, err);
    }
    if (rc == CR_OK) {
        rc = string_fields(body, NOTICE, "notice", err);
    }
    const char *person = json_string_value(json_object_get(body, "who"));
    if (rc == CR_OK && person == NULL) {
        rc = cr_error_set(err, CR_EINVAL, "who: the person who sent it");
    }
    write_call c = {body, id, NULL, "", {0}, NULL};
    if (rc == CR_OK) {
        rc = audited_write(s, w, req, res, &c, person, NULL, do_gate_notify, err);
    }
    json_decref(body);
    return rc;
}
