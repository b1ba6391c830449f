/* SPDX-License-Identifier: MIT */
/* crossriver gate: gates and pumps as operated — record an operation (planned or actual open,
 * close, reverse; each a batch of layer gate_operations, the record file kept beside the store),
 * list the log, the states in force at a time, and a planned release's advance notice to
 * downstream (调度预通报) with whom to notify by level and by when; record each notice sent. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: crossriver gate operate --gate ID --action open|close|reverse\n"
            "                               --status planned|actual|cancelled --start TIME\n"
            "                               [--end TIME] [--flow M3S] [--authority A]\n"
            "                               [--order-ref R] [--emergency] [--reason TEXT]\n"
            "                               [--note TEXT] [--id OP]\n"
            "       crossriver gate log [--json]          the operations, newest first\n"
            "       crossriver gate states --at TIME [--json]\n"
            "                                             each gate's state in force then\n"
            "       crossriver gate notice OP [--json]    the advance notice to downstream\n"
            "       crossriver gate notify OP --to CODE --channel C --sent TIME --who NAME\n"
            "                               [--acknowledged TIME] [--note TEXT]\n\n"
            "An operation with --id of one recorded already changes it (planned → actual,\n"
            "cancelled, a new end): a new version. Operations also arrive by crossriver ingest\n"
            "--layer gate_operations (the dispatch log as CSV/XLSX). crossriver trace\n"
            "--gates-at TIME runs on the states in force then. The notice is due\n"
            "advance_notice_h (24 h; emergency_advance_notice_h, 2 h, for an emergency\n"
            "operation) before the start: the deployment config's \"gate_operations\"\n"
            "(docs/incidents.md). Times are China Standard Time as written.\n");
}

typedef struct {
    const char *gate, *action, *status, *start, *end, *flow, *authority, *order_ref, *reason, *note,
        *id, *at, *to, *channel, *sent, *ack, *who, *config;
    int emergency;
} gate_args;

static int parse(int argc, char **argv, cr_cli_common *common, gate_args *a)
{
    static const struct option longopts[] = {
        {"gate", required_argument, NULL, 'g'},
        {"action", required_argument, NULL, 'a'},
        {"status", required_argument, NULL, 's'},
        {"start", required_argument, NULL, 'S'},
        {"end", required_argument, NULL, 'E'},
        {"flow", required_argument, NULL, 'q'},
        {"authority", required_argument, NULL, 'A'},
        {"order-ref", required_argument, NULL, 'R'},
        {"reason", required_argument, NULL, 'r'},
        {"note", required_argument, NULL, 'n'},
        {"id", required_argument, NULL, 'i'},
        {"at", required_argument, NULL, 't'},
        {"to", required_argument, NULL, 'T'},
        {"channel", required_argument, NULL, 'c'},
        {"sent", required_argument, NULL, 'x'},
        {"acknowledged", required_argument, NULL, 'k'},
        {"who", required_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'C'},
        {"emergency", no_argument, NULL, 'e'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 2;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(common, opt, optarg)) {
            continue;
        }
        if (opt == 'e') {
            a->emergency = 1;
            continue;
        }
        const char **slot = opt == 'g'   ? &a->gate
                            : opt == 'a' ? &a->action
                            : opt == 's' ? &a->status
                            : opt == 'S' ? &a->start
                            : opt == 'E' ? &a->end
                            : opt == 'q' ? &a->flow
                            : opt == 'A' ? &a->authority
                            : opt == 'R' ? &a->order_ref
                            : opt == 'r' ? &a->reason
                            : opt == 'n' ? &a->note
                            : opt == 'i' ? &a->id
                            : opt == 't' ? &a->at
                            : opt == 'T' ? &a->to
                            : opt == 'c' ? &a->channel
                            : opt == 'x' ? &a->sent
                            : opt == 'k' ? &a->ack
                            : opt == 'w' ? &a->who
                            : opt == 'C' ? &a->config
                                         : NULL;
        if (slot == NULL) {
            cr_cli_help_exit(opt, help);
            return opt == 'h' ? -1 : 0;
        }
        *slot = optarg;
    }
    if (optind < argc && a->id == NULL) {
        a->id = argv[optind];
    }
    return 1;
}

static int operate(cr_store *store, const cr_cli_common *common, const gate_args *a)
{
    json_t *body = json_object();
    const struct {
        const char *name, *value;
    } F[] = {{"op_id", a->id},
             {"gate_id", a->gate},
             {"action", a->action},
             {"status", a->status},
             {"start_at", a->start},
             {"end_at", a->end},
             {"authority", a->authority},
             {"order_ref", a->order_ref},
             {"reason", a->reason},
             {"note", a->note}};
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        if (F[i].value) {
            json_object_set_new(body, F[i].name, json_string(F[i].value));
        }
    }
    if (a->flow) {
        char *end;
        double q = strtod(a->flow, &end);
        if (*end || end == a->flow) {
            fprintf(stderr, "crossriver gate: --flow '%s' is not a number (m³/s)\n", a->flow);
            json_decref(body);
            return CR_EXIT_USAGE;
        }
        json_object_set_new(body, "flow_m3s", json_real(q));
    }
    if (a->emergency) {
        json_object_set_new(body, "emergency", json_true());
    }
    char id[64] = "";
    cr_record_result r;
    cr_error e = {0};
    cr_status rc = cr_api_gate_operation_record(store, common->store_path, body, id, &r, &e);
    json_decref(body);
    return cr_cli_record_report(common, "gate operation", id[0] ? id : a->id, rc, &r, &e);
}

static void print_notice(const json_t *r)
{
    const json_t *an = json_object_get(r, "advance_notice");
    printf("%s", json_string_value(json_object_get(r, "notice")));
    printf("\n— advance notice due %s (%.0f h before the start%s): %s\n",
           json_string_value(json_object_get(an, "due")),
           json_number_value(json_object_get(an, "lead_h")),
           json_is_true(json_object_get(an, "emergency")) ? ", emergency" : "",
           json_is_string(json_object_get(an, "done_at"))
               ? json_string_value(json_object_get(an, "done_at"))
           : json_is_true(json_object_get(an, "overdue")) ? "OVERDUE, none sent"
                                                          : "not yet sent");
    const char *levels[] = {"county", "city", "province"};
    for (int l = 0; l < 3; l++) {
        printf("  notify (%s):", levels[l]);
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(json_object_get(r, "notification"), levels[l]), i, v)
        {
            printf(" %s%s (%s)", i ? "→ " : "", json_string_value(json_object_get(v, "name")),
                   json_string_value(json_object_get(v, "arrival")));
        }
        printf("\n");
    }
}

int cr_cmd_gate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? CR_EXIT_USAGE : CR_EXIT_OK;
    }
    const char *sub = argv[1];
    static const char *const SUBS[] = {"operate", "log", "states", "notice", "notify"};
    int known = 0;
    for (size_t i = 0; i < 5; i++) {
        known |= strcmp(sub, SUBS[i]) == 0;
    }
    if (!known) {
        fprintf(stderr,
                "crossriver gate: unknown action '%s' (operate, log, states, notice, notify)\n",
                sub);
        return CR_EXIT_USAGE;
    }
    cr_cli_common common;
    cr_cli_common_init(&common);
    gate_args a = {0};
    int p = parse(argc, argv, &common, &a);
    if (p <= 0) {
        return p < 0 ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    if ((strcmp(sub, "notice") == 0 || strcmp(sub, "notify") == 0) && a.id == NULL) {
        fprintf(stderr, "crossriver gate %s: which operation? (its ID)\n", sub);
        return CR_EXIT_USAGE;
    }
    if (strcmp(sub, "states") == 0 && a.at == NULL) {
        fprintf(stderr, "crossriver gate states: --at TIME is needed\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int code = CR_EXIT_OK;
    cr_error e = {0};
    cr_status rc = CR_OK;
    json_t *out = NULL;
    if (strcmp(sub, "operate") == 0) {
        code = operate(store, &common, &a);
    } else if (strcmp(sub, "notify") == 0) {
        cr_notification_input n = {a.id,   "notification", a.to,  a.channel,
                                   a.sent, a.ack,          a.who, a.note};
        rc = cr_api_gate_notify(store, &n, &out, &e);
        if (rc == CR_OK) {
            printf("gate operation %s: notice to %s %s (%s) recorded\n", a.id, a.to,
                   json_string_value(json_object_get(out, "to_name")),
                   json_string_value(json_object_get(out, "level")));
        }
    } else if (strcmp(sub, "log") == 0) {
        rc = cr_api_gate_operations(store, &out, &e);
        size_t i;
        json_t *o;
        if (rc == CR_OK && common.json) {
            cr_cli_print_json(out);
        }
        json_array_foreach(common.json ? NULL : out, i, o)
        {
            printf("%s  %s %-10s %-8s %-9s %s … %s%s\n",
                   json_string_value(json_object_get(o, "op_id")),
                   json_string_value(json_object_get(o, "gate_id")),
                   json_string_value(json_object_get(o, "gate_name"))
                       ? json_string_value(json_object_get(o, "gate_name"))
                       : "(unknown gate)",
                   json_string_value(json_object_get(o, "action")),
                   json_string_value(json_object_get(o, "status")),
                   json_string_value(json_object_get(o, "start_at")),
                   json_string_value(json_object_get(o, "end_at"))
                       ? json_string_value(json_object_get(o, "end_at"))
                       : "",
                   json_is_true(json_object_get(o, "emergency")) ? "  应急" : "");
        }
    } else if (strcmp(sub, "states") == 0) {
        rc = cr_api_gate_states(store, a.at, &out, &e);
        if (rc == CR_OK && common.json) {
            cr_cli_print_json(out);
        } else if (rc == CR_OK) {
            size_t i;
            json_t *g;
            printf("gate states at %s:\n", json_string_value(json_object_get(out, "at")));
            json_array_foreach(json_object_get(out, "gates"), i, g)
            {
                printf("  %-8s %-16s %-9s %s%s%s\n",
                       json_string_value(json_object_get(g, "gate_id")),
                       json_string_value(json_object_get(g, "name")),
                       json_string_value(json_object_get(g, "state")),
                       json_string_value(json_object_get(g, "source")),
                       json_object_get(g, "op_id") ? " " : "",
                       json_object_get(g, "op_id") ? json_string_value(json_object_get(g, "op_id"))
                                                   : "");
            }
        }
    } else {
        json_t *conf = cr_cli_load_config("gate", a.config);
        cr_graph *g = NULL;
        cr_reach_index *ref = NULL;
        rc = conf ? cr_graph_load(store, &g, &e) : cr_error_set(&e, CR_EINVAL, "the config");
        if (rc == CR_OK) {
            rc = cr_reach_index_load(store, &ref, &e);
        }
        if (rc == CR_OK) {
            cr_trace_context cx = {store, g, NULL, ref};
            rc = cr_api_gate_notice(&cx, a.id, conf, &out, &e);
        }
        if (rc == CR_OK) {
            common.json ? cr_cli_print_json(out) : print_notice(out);
        }
        cr_reach_index_free(ref);
        cr_graph_free(g);
        json_decref(conf);
    }
    if (rc != CR_OK) {
        fprintf(stderr, "crossriver gate %s: %s\n", sub, e.msg);
        code = rc == CR_EINVAL || rc == CR_ENOTFOUND ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    }
    json_decref(out);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
