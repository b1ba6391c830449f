/* SPDX-License-Identifier: MIT */
/* Gates and pumps as they are operated: the operations log (layer gate_operations: planned and
 * actual open, close and reverse with times and the authority that ordered them), the states in
 * force at a time — which a trace for that time runs on — and the advance notice a planned
 * release owes downstream (调度预通报): who, by level in order of arrival, by when. */
#include "api.h"
#include "etl/etl.h"
#include "notify.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static double gate_config(const json_t *conf, const char *key, double dflt)
{
    json_t *v = json_object_get(json_object_get(conf, "gate_operations"), key);
    return json_is_number(v) && json_number_value(v) >= 0 ? json_number_value(v) : dflt;
}

static void append_id(cr_strbuf *b, const char *id)
{
    if (b->len) {
        cr_strbuf_puts(b, ",");
    }
    cr_strbuf_puts(b, id);
}

cr_status cr_api_gate_states(cr_store *store, const char *at, json_t **out, cr_error *err)
{
    *out = NULL;
    char t[20];
    cr_error e = {0};
    if (at == NULL || cr_etl_parse_datetime(at, t, &e) != CR_OK) {
        return cr_error_set(err, CR_EINVAL, "gates_at: a time (CST), e.g. 2025-08-12T08:00: %s",
                            at ? e.msg : "none given");
    }
    /* per gate, the operation in force at t: started by t, not yet ended, not cancelled; the
     * latest start wins, an actual one over a planned one */
    sqlite3_stmt *st = cr_store_cached(
        store,
        "SELECT g.source_id, g.name, g.reach_id, g.normal_state, o.source_id, o.action,"
        " o.status, o.start_at, o.end_at, o.authority, o.order_ref, o.flow_m3s FROM"
        " gates_current g LEFT JOIN gate_operations_current o ON o.source_id = (SELECT"
        " x.source_id FROM gate_operations_current x WHERE x.gate_id = g.source_id AND"
        " x.status <> 'cancelled' AND x.start_at <= ?1 AND (x.end_at IS NULL OR x.end_at > ?1)"
        " ORDER BY x.start_at DESC, x.status = 'actual' DESC LIMIT 1) ORDER BY g.source_id");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, t, -1, SQLITE_TRANSIENT);
    json_t *gates = json_array();
    cr_strbuf closed = {0}, reversed = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *normal = (const char *)sqlite3_column_text(st, 3);
        const char *action = (const char *)sqlite3_column_text(st, 5);
        const char *state = action ? (strcmp(action, "close") == 0     ? "closed"
                                      : strcmp(action, "reverse") == 0 ? "reversed"
                                                                       : "open")
                            : normal && strcmp(normal, "closed") == 0 ? "closed"
                                                                      : "open";
        json_t *g = json_pack("{s:s, s:o, s:o, s:s, s:s}", "gate_id", id, "name",
                              cr_api_column_json(st, 1), "reach_id", cr_api_column_json(st, 2),
                              "state", state, "source", action ? "operation" : "normal state");
        if (action) {
            static const char *const K[] = {"op_id", "action",    "status",    "since",
                                            "until", "authority", "order_ref", "flow_m3s"};
            for (int c = 4; c < 12; c++) {
                json_object_set_new(g, K[c - 4], cr_api_column_json(st, c));
            }
        } else {
            json_object_set_new(g, "normal_state", cr_api_column_json(st, 3));
        }
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            if (strcmp(state, "closed") == 0) {
                append_id(&closed, id);
            } else if (strcmp(state, "reversed") == 0) {
                append_id(&reversed, id);
            }
        }
        json_array_append_new(gates, g);
    }
    sqlite3_reset(st);
    /* operations naming no known gate are said, not dropped */
    json_t *unknown = json_array();
    st = cr_store_cached(store, "SELECT source_id, gate_id FROM gate_operations_current o WHERE"
                                " NOT EXISTS (SELECT 1 FROM gates_current g WHERE g.source_id ="
                                " o.gate_id) ORDER BY source_id");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(unknown, json_pack("{s:s, s:s}", "op_id", sqlite3_column_text(st, 0),
                                                 "gate_id", sqlite3_column_text(st, 1)));
    }
    if (st) {
        sqlite3_reset(st);
    }
    *out = json_pack("{s:s, s:o, s:s, s:s, s:o}", "at", t, "gates", gates, "closed",
                     closed.data ? closed.data : "", "reversed", reversed.data ? reversed.data : "",
                     "operations_of_unknown_gates", unknown);
    cr_strbuf_cleanup(&closed);
    cr_strbuf_cleanup(&reversed);
    return CR_OK;
}

cr_status cr_api_gate_operations(cr_store *store, json_t **out, cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT o.source_id, o.gate_id, g.name, o.action, o.status, o.start_at, o.end_at,"
               " o.flow_m3s, o.authority, o.order_ref, o.emergency, o.reason, o.note FROM"
               " gate_operations_current o LEFT JOIN gates_current g ON g.source_id = o.gate_id"
               " ORDER BY o.start_at DESC, o.source_id");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    static const char *const K[] = {"op_id",     "gate_id", "gate_name", "action",    "status",
                                    "start_at",  "end_at",  "flow_m3s",  "authority", "order_ref",
                                    "emergency", "reason",  "note"};
    json_t *a = cr_api_rows_json(st, K);
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o)
    {
        json_object_set_new(o, "emergency",
                            json_boolean(json_integer_value(json_object_get(o, "emergency")) != 0));
    }
    *out = a;
    return CR_OK;
}

/* "2025-09-10T21:18:22" as "2025-09-10 21:18" for the printed notice. */
static const char *readable(const char *iso, char out[20])
{
    snprintf(out, 20, "%.10s %.5s", iso, strlen(iso) > 11 ? iso + 11 : "00:00");
    return out;
}

/* The 预通报 in Chinese from the operation and its report. */
static char *notice_text(const json_t *op, const json_t *r)
{
    static const struct {
        const char *action, *zh;
    } A[] = {{"open", "开闸（泵）下泄"}, {"close", "关闸（停泵）"}, {"reverse", "反向调度"}};
    const char *act = str(op, "action"), *zh = act;
    for (size_t i = 0; i < 3; i++) {
        zh = strcmp(A[i].action, act) == 0 ? A[i].zh : zh;
    }
    cr_strbuf b = {0};
    cr_strbuf_printf(&b, "关于%s%s的%s通报\n\n", str(op, "gate_name"), zh,
                     strcmp(str(op, "status"), "planned") == 0 ? "预" : "");
    cr_strbuf_puts(&b, "下游各相关单位：\n");
    cr_strbuf_printf(&b, "    根据%s%s%s，%s",
                     str(op, "authority")[0] ? str(op, "authority") : "调度单位",
                     str(op, "order_ref")[0] ? "调度指令" : "安排",
                     str(op, "order_ref")[0] ? str(op, "order_ref") : "", str(op, "gate_name"));
    char t1[20];
    cr_strbuf_printf(&b, "%s于%s%s", strcmp(str(op, "status"), "planned") == 0 ? "拟" : "已",
                     readable(str(op, "start_at"), t1), zh);
    double q = json_number_value(json_object_get(op, "flow_m3s"));
    if (q > 0) {
        cr_strbuf_printf(&b, "，流量约%.0f立方米每秒", q);
    }
    if (str(op, "end_at")[0]) {
        cr_strbuf_printf(&b, "，预计持续至%s", readable(str(op, "end_at"), t1));
    }
    if (str(op, "reason")[0]) {
        cr_strbuf_printf(&b, "（原因：%s）", str(op, "reason"));
    }
    cr_strbuf_puts(&b, "。\n    预计影响：");
    size_t i, said = 0;
    json_t *x;
    json_array_foreach(json_object_get(r, "reached"), i, x)
    {
        const char *layer = str(x, "layer");
        if ((strcmp(layer, "intakes") && strcmp(layer, "monitoring_sections")) || said >= 6) {
            continue;
        }
        cr_strbuf_printf(&b, "%s%s%s约%s到达", said++ ? "；" : "",
                         strcmp(layer, "intakes") == 0 ? "饮用水取水口" : "监测断面",
                         str(x, "name"), readable(str(x, "arrival"), t1));
    }
    if (said == 0) {
        cr_strbuf_puts(&b, "下游72小时内未涉及饮用水取水口和监测断面");
    }
    cr_strbuf_puts(&b, "（按河网流速估算，以实际为准）。\n");
    cr_strbuf_puts(&b, "    请下游各单位提前做好取水口防护、水质监测和船舶航行安全等准备。\n\n");
    cr_strbuf_printf(&b, "%s\n", str(op, "authority")[0] ? str(op, "authority") : "");
    return cr_strbuf_take(&b);
}

cr_status cr_api_gate_notice(const cr_trace_context *cx, const char *op_id, const json_t *config,
                             json_t **out, cr_error *err)
{
    *out = NULL;
    json_t *ops = NULL;
    cr_status rc = cr_api_gate_operations(cx->store, &ops, err);
    json_t *op = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(ops, i, o)
    {
        if (rc == CR_OK && strcmp(str(o, "op_id"), op_id) == 0) {
            op = json_incref(o);
        }
    }
    json_decref(ops);
    if (rc == CR_OK && op == NULL) {
        return cr_error_set(err, CR_ENOTFOUND, "no gate operation %s", op_id);
    }
    if (rc != CR_OK) {
        return rc;
    }
    if (json_is_null(json_object_get(op, "gate_name"))) {
        json_decref(op);
        return cr_error_set(err, CR_EINVAL,
                            "gate operation %s names gate '%s', which is not in "
                            "the gates layer",
                            op_id, str(op, "gate_id"));
    }
    json_t *divs = cr_standards_file(NULL, "divisions.json", err);
    if (divs == NULL) {
        json_decref(op);
        return err->code;
    }
    /* downstream of the gate with the gate states in force as the operation starts (this one
     * included: a trace at its start sees it) */
    char feature[160];
    snprintf(feature, sizeof feature, "gates:%s", str(op, "gate_id"));
    cr_trace_request req = {0};
    req.feature = feature;
    req.direction = CR_TRACE_DOWN;
    req.max_hours = gate_config(config, "horizon_h", 72);
    req.has_max_hours = 1;
    req.gates_at = str(op, "start_at");
    json_t *down = NULL;
    rc = cr_api_trace(cx, &req, &down, err);
    if (rc != CR_OK) {
        json_decref(op);
        json_decref(divs);
        return rc;
    }
    int64_t t0 = cr_api_cst_of(str(op, "start_at"));
    json_t *reached = json_array();
    json_t *f;
    json_array_foreach(json_object_get(down, "features"), i, f)
    {
        const char *layer = str(f, "layer");
        if (strcmp(layer, "intakes") && strcmp(layer, "monitoring_sections") &&
            strcmp(layer, "protection_zones") && strcmp(layer, "gates")) {
            continue;
        }
        if (strcmp(layer, "gates") == 0 && strcmp(str(f, "id"), str(op, "gate_id")) == 0) {
            continue;
        }
        double h = json_number_value(json_object_get(f, "time_h"));
        json_array_append_new(reached,
                              json_pack("{s:s, s:s, s:O?, s:O?, s:f, s:o}", "layer", layer, "id",
                                        str(f, "id"), "name", json_object_get(f, "name"),
                                        "county_code", json_object_get(f, "county_code"), "time_h",
                                        h, "arrival", cr_api_at_time(t0, h)));
    }
    int emergency = json_is_true(json_object_get(op, "emergency"));
    double lead = emergency ? gate_config(config, "emergency_advance_notice_h", 2)
                            : gate_config(config, "advance_notice_h", 24);
    json_t *sent = cr_api_sent_notifications(cx->store, "gate_notifications", op_id);
    const char *done = NULL;
    json_t *s;
    json_array_foreach(sent, i, s)
    {
        if (done == NULL || strcmp(str(s, "sent_at"), done) < 0) {
            done = str(s, "sent_at");
        }
    }
    char due[20], now_s[20];
    cr_wq_time_format(t0 - (int64_t)(lead * 3600), due);
    int64_t now = (int64_t)time(NULL) + 8 * 3600;
    cr_wq_time_format(now, now_s);
    int overdue = done ? strcmp(done, due) > 0 : now > t0 - (int64_t)(lead * 3600);
    json_t *r = json_object();
    json_object_set_new(r, "operation", op);
    json_object_set(r, "gates_in_force", json_object_get(down, "gates_in_force"));
    json_object_set_new(r, "reached", reached);
    json_object_set_new(r, "notification",
                        cr_api_notification_by_level(cx->store, divs,
                                                     json_object_get(down, "jurisdictions"),
                                                     json_object_get(down, "features"), t0));
    json_object_set_new(r, "notifications_sent", sent);
    json_object_set_new(r, "advance_notice",
                        json_pack("{s:f, s:b, s:s, s:o, s:b}", "lead_h", lead, "emergency",
                                  emergency, "due", due, "done_at",
                                  done ? json_string(done) : json_null(), "overdue", overdue));
    json_object_set_new(r, "now", json_string(now_s));
    json_object_set_new(r, "horizon_h", json_real(req.max_hours));
    char *text = notice_text(op, r);
    json_object_set_new(r, "notice", json_string(text));
    free(text);
    json_decref(down);
    json_decref(divs);
    *out = r;
    return CR_OK;
}

static cr_status gate_record(cr_store *store, const char *store_path, const json_t *body,
                             const char *const *F, size_t NF, char id_out[64],
                             cr_record_result *out, cr_error *err);

cr_status cr_api_gate_operation_record(cr_store *store, const char *store_path, const json_t *body,
                                       char id_out[64], cr_record_result *out, cr_error *err)
{
    static const char *const F[] = {"op_id",     "gate_id",   "action",   "status",
                                    "start_at",  "end_at",    "flow_m3s", "authority",
                                    "order_ref", "emergency", "reason",   "note"};
    enum { NF = sizeof F / sizeof F[0] };
    if (!json_is_object(body)) {
        return cr_error_set(err, CR_EINVAL, "the body is a JSON object of the operation's fields");
    }
    /* a change to a recorded operation (planned → actual, cancelled, a new end) is the current
     * record with the fields given changed: a new version that reads on its own */
    json_t *rec = json_object();
    const char *given = json_string_value(json_object_get(body, "op_id"));
    sqlite3_stmt *cur = given ? cr_store_cached(store, "SELECT op_id, gate_id, action, status,"
                                                       " start_at, end_at, flow_m3s, authority,"
                                                       " order_ref, emergency, reason, note FROM"
                                                       " gate_operations_current WHERE"
                                                       " source_id = ?")
                              : NULL;
    if (cur) {
        sqlite3_bind_text(cur, 1, given, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(cur) == SQLITE_ROW) {
            for (int c = 0; c < NF; c++) {
                if (sqlite3_column_type(cur, c) != SQLITE_NULL) {
                    json_object_set_new(rec, F[c],
                                        c == 9 ? json_boolean(sqlite3_column_int(cur, c))
                                               : cr_api_column_json(cur, c));
                }
            }
        }
        sqlite3_reset(cur);
    }
    json_object_update(rec, (json_t *)body);
    cr_status rc = gate_record(store, store_path, rec, F, NF, id_out, out, err);
    json_decref(rec);
    return rc;
}

static cr_status gate_record(cr_store *store, const char *store_path, const json_t *body,
                             const char *const *F, size_t NF, char id_out[64],
                             cr_record_result *out, cr_error *err)
{
    const char *names[16], *values[16];
    char nums[2][32];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (i < NF && strcmp(F[i], key) != 0) {
            i++;
        }
        if (i == NF) {
            return cr_error_set(err, CR_EINVAL,
                                "'%s' is not a gate operation field (op_id, gate_id, action, "
                                "status, start_at, end_at, flow_m3s, authority, order_ref, "
                                "emergency, reason, note)",
                                key);
        }
        names[n] = F[i];
        if (json_is_number(v) && i == 6) {
            snprintf(nums[0], sizeof nums[0], "%g", json_number_value(v));
            values[n++] = nums[0];
        } else if (json_is_boolean(v) && i == 9) {
            snprintf(nums[1], sizeof nums[1], "%s", json_is_true(v) ? "yes" : "no");
            values[n++] = nums[1];
        } else if (json_is_string(v)) {
            values[n++] = json_string_value(v);
        } else {
            return cr_error_set(err, CR_EINVAL, "%s: %s wanted", key,
                                i == 6   ? "a number (m³/s)"
                                : i == 9 ? "true or false"
                                         : "a string");
        }
    }
    const char *id = json_string_value(json_object_get(body, "op_id"));
    const char *gate = json_string_value(json_object_get(body, "gate_id"));
    const char *start = json_string_value(json_object_get(body, "start_at"));
    if (gate == NULL || start == NULL || json_object_get(body, "action") == NULL ||
        json_object_get(body, "status") == NULL) {
        return cr_error_set(err, CR_EINVAL,
                            "a gate operation needs gate_id, action, status and "
                            "start_at");
    }
    const char *end = json_string_value(json_object_get(body, "end_at"));
    char t0[20], t1[20];
    cr_error pe = {0};
    if (end && cr_etl_parse_datetime(start, t0, &pe) == CR_OK &&
        cr_etl_parse_datetime(end, t1, &pe) == CR_OK && strcmp(t1, t0) <= 0) {
        return cr_error_set(err, CR_EINVAL, "end_at %s is not after start_at %s", t1, t0);
    }
    int known = cr_api_current_exists(store, "gates", gate);
    if (!known) {
        return cr_error_set(err, CR_EINVAL, "gate_id: no gate '%s' in the gates layer", gate);
    }
    if (id == NULL) {
        char day[20];
        cr_error e = {0};
        if (cr_etl_parse_datetime(start, day, &e) != CR_OK) {
            return cr_error_set(err, CR_EINVAL, "start_at: %s", e.msg);
        }
        sqlite3_stmt *st =
            cr_store_cached(store, "SELECT 1 FROM gate_operations WHERE source_id = ?");
        int k = 1, taken = 1;
        while (taken && k < 100 && st) {
            snprintf(id_out, 64, "DD-%.4s%.2s%.2s-%02d", day, day + 5, day + 8, k++);
            sqlite3_bind_text(st, 1, id_out, -1, SQLITE_TRANSIENT);
            taken = sqlite3_step(st) == SQLITE_ROW;
            sqlite3_reset(st);
        }
        names[n] = "op_id";
        values[n++] = id_out;
    } else {
        snprintf(id_out, 64, "%s", id);
    }
    return cr_api_record(store, store_path, "gate_operations", id_out, names, values, n, NULL, out,
                         err);
}
