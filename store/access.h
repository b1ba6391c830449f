/* SPDX-License-Identifier: MIT */
/* access: who may see restricted layers and fields. A token file lists bearer tokens (by their
 * SHA-256, never in clear), each with the layers whose restricted data it opens and the
 * jurisdictions (county codes) it opens them in. A NULL cr_access is the public: nothing
 * restricted. Rule: every decision about restricted data goes through cr_access_layer and
 * cr_access_code, so there is one place to read and to test. */
#ifndef CR_STORE_ACCESS_H
#define CR_STORE_ACCESS_H

#include "core/core.h"

typedef struct cr_access cr_access;
typedef struct cr_access_list cr_access_list;

/* Parse a token file (docs/operations.md): {"tokens": [{"name", "token_sha256", "layers",
 * "jurisdictions", "expires"?}]}. Errors name the file, the entry and the key. Caller frees *out
 * with cr_access_list_free. */
cr_status cr_access_load(const char *path, cr_access_list **out, cr_error *err);
void cr_access_list_free(cr_access_list *list);
size_t cr_access_count(const cr_access_list *list);

/* The entry whose token this is, or NULL (unknown or expired; today is YYYY-MM-DD, UTC).
 * Compares hashes in constant time. Borrowed from the list: valid until it is freed. */
const cr_access *cr_access_find(const cr_access_list *list, const char *token, const char *today);
/* Everything, everywhere: the store's operator at the command line (static; never freed). */
const cr_access *cr_access_all(void);
/* The entry's name for logs ("-" for NULL); borrowed from the entry. */
const char *cr_access_name(const cr_access *a);
/* May a see the restricted fields (or the whole restricted layer) of layer? 0 for NULL. */
int cr_access_layer(const cr_access *a, const char *layer);
/* Does a open restricted data in jurisdiction code? A NULL code (not joined) only for "*". */
int cr_access_code(const cr_access *a, const char *code);
/* 1 when a opens every jurisdiction (no per-feature check needed). */
int cr_access_all_codes(const cr_access *a);

#endif
