/* SPDX-License-Identifier: MIT */
/* Token file parsing and the two access questions (layer, jurisdiction). */
#include "access.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct cr_access {
    char *name;
    char sha256[65];
    char **layers; /* NULL with all_layers */
    size_t n_layers;
    int all_layers;
    char **codes; /* NULL with all_codes */
    size_t n_codes;
    int all_codes;
    char expires[11]; /* YYYY-MM-DD, or "" for never */
};

struct cr_access_list {
    cr_access *items;
    size_t n;
};

static const cr_access ALL = {"operator", "", NULL, 0, 1, NULL, 0, 1, ""};

const cr_access *cr_access_all(void)
{
    return &ALL;
}

/* "*" or an array of non-empty strings; 0 when neither. */
static int string_list(const json_t *v, char ***out, size_t *n, int *all)
{
    if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) {
        *all = 1;
        return 1;
    }
    if (!json_is_array(v)) {
        return 0;
    }
    *n = json_array_size(v);
    *out = cr_xcalloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (s == NULL || *s == '\0') {
            return 0;
        }
        (*out)[i] = cr_xstrdup(s);
    }
    return 1;
}

static int is_date(const char *s)
{
    int y, m, d;
    char tail;
    return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && m >= 1 &&
           m <= 12 && d >= 1 && d <= 31 && s[4] == '-' && s[7] == '-';
}

static cr_status parse_entry(const char *path, size_t i, const json_t *e, cr_access *a,
                             cr_error *err)
{
    static const char *const keys[] = {"name", "token_sha256", "layers", "jurisdictions",
                                       "expires"};
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)e, key, val)
    {
        int known = 0;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            known |= strcmp(key, keys[k]) == 0;
        }
        if (!known) {
            return cr_error_set(err, CR_EINVAL, "%s: tokens[%zu]: unknown key '%s'", path, i, key);
        }
    }
    const char *name = json_string_value(json_object_get(e, "name"));
    const char *hash = json_string_value(json_object_get(e, "token_sha256"));
    const char *expires = json_string_value(json_object_get(e, "expires"));
    if (name == NULL || *name == '\0' || strlen(name) > 64) {
        return cr_error_set(err, CR_EINVAL, "%s: tokens[%zu]: name: a name of 1–64 bytes is needed",
                            path, i);
    }
    a->name = cr_xstrdup(name);
    if (hash == NULL || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: tokens[%zu] (%s): token_sha256: 64 lower-case hex digits (the "
                            "SHA-256 of the token, e.g. printf %%s TOKEN | sha256sum)",
                            path, i, name);
    }
    memcpy(a->sha256, hash, 65);
    if (!string_list(json_object_get(e, "layers"), &a->layers, &a->n_layers, &a->all_layers)) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: tokens[%zu] (%s): layers: \"*\" or a list of layer names", path, i,
                            name);
    }
    if (!string_list(json_object_get(e, "jurisdictions"), &a->codes, &a->n_codes, &a->all_codes)) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: tokens[%zu] (%s): jurisdictions: \"*\" or a list of county codes",
                            path, i, name);
    }
    if (json_object_get(e, "expires") && (expires == NULL || !is_date(expires))) {
        return cr_error_set(err, CR_EINVAL, "%s: tokens[%zu] (%s): expires: YYYY-MM-DD", path, i,
                            name);
    }
    snprintf(a->expires, sizeof a->expires, "%s", expires ? expires : "");
    return CR_OK;
}

cr_status cr_access_load(const char *path, cr_access_list **out, cr_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        return cr_error_set(err, CR_EPARSE, "%s: line %d: %s", path, je.line, je.text);
    }
    const json_t *tokens = json_object_get(root, "tokens");
    if (!json_is_array(tokens) || json_object_size(root) != 1) {
        json_decref(root);
        return cr_error_set(err, CR_EINVAL, "%s: want {\"tokens\": [...]} and nothing else", path);
    }
    cr_access_list *l = cr_xcalloc(1, sizeof *l);
    l->items = cr_xcalloc(json_array_size(tokens) + 1, sizeof *l->items);
    cr_status rc = CR_OK;
    for (size_t i = 0; i < json_array_size(tokens) && rc == CR_OK; i++) {
        const json_t *e = json_array_get(tokens, i);
        if (!json_is_object(e)) {
            rc = cr_error_set(err, CR_EINVAL, "%s: tokens[%zu]: not an object", path, i);
            break;
        }
        rc = parse_entry(path, i, e, &l->items[l->n], err);
        l->n++;
        for (size_t j = 0; rc == CR_OK && j + 1 < l->n; j++) {
            if (strcmp(l->items[j].name, l->items[l->n - 1].name) == 0 ||
                strcmp(l->items[j].sha256, l->items[l->n - 1].sha256) == 0) {
                rc = cr_error_set(err, CR_EINVAL,
                                  "%s: tokens[%zu] (%s): name or token repeats "
                                  "tokens[%zu]",
                                  path, i, l->items[l->n - 1].name, j);
            }
        }
    }
    json_decref(root);
    if (rc != CR_OK) {
        cr_access_list_free(l);
        return rc;
    }
    *out = l;
    return CR_OK;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void cr_access_list_free(cr_access_list *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free_list(l->items[i].layers, l->items[i].n_layers);
        free_list(l->items[i].codes, l->items[i].n_codes);
    }
    free(l->items);
    free(l);
}

size_t cr_access_count(const cr_access_list *l)
{
    return l ? l->n : 0;
}

const cr_access *cr_access_find(const cr_access_list *l, const char *token, const char *today)
{
    if (l == NULL || token == NULL || *token == '\0') {
        return NULL;
    }
    char hex[65];
    cr_sha256_hex(token, strlen(token), hex);
    const cr_access *found = NULL;
    for (size_t i = 0; i < l->n; i++) {
        unsigned diff = 0;
        for (size_t k = 0; k < 64; k++) { /* constant time: no early exit */
            diff |= (unsigned)(hex[k] ^ l->items[i].sha256[k]);
        }
        if (diff == 0) {
            found = &l->items[i];
        }
    }
    if (found && found->expires[0] && today && strcmp(today, found->expires) > 0) {
        return NULL;
    }
    return found;
}

const char *cr_access_name(const cr_access *a)
{
    return a ? a->name : "-";
}

static int listed(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

int cr_access_layer(const cr_access *a, const char *layer)
{
    return a != NULL && (a->all_layers || listed(a->layers, a->n_layers, layer));
}

int cr_access_code(const cr_access *a, const char *code)
{
    return a != NULL && (a->all_codes || (code != NULL && listed(a->codes, a->n_codes, code)));
}

int cr_access_all_codes(const cr_access *a)
{
    return a != NULL && a->all_codes;
}
