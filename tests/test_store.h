/* SPDX-License-Identifier: MIT */
/* Test helpers: a store in a temporary directory, ingesting literal text into a layer. */
#ifndef CR_TESTS_TEST_STORE_H
#define CR_TESTS_TEST_STORE_H

#include "etl/etl.h"
#include "network/network.h"

typedef struct {
    char dir[64];        /* temporary directory */
    char store_path[96]; /* the store inside it */
    cr_layer_set *set;
    cr_store *store;
} test_store;

/* Create (fails the test on error). Free with test_store_free. */
test_store *test_store_new(void);
void test_store_free(test_store *t);
/* Write text to dir/name and ingest it into layer with default options and crs (may be
 * NULL); fails the test unless every row is stored. */
void test_store_ingest(test_store *t, const char *layer, const char *name, const char *text,
                       const char *crs);
/* Build the network of what the store holds (snap 5 m, lakes 50 m); fails the test on error. */
void test_store_network(test_store *t);
/* First column of the first row of sql as an integer. */
int64_t test_store_count(test_store *t, const char *sql);
/* The same on any store. */
int64_t test_db_count(cr_store *store, const char *sql);
/* A reach's column (an integer) in reaches_current, by the reach's ID. */
int64_t test_store_reach_int(test_store *t, const char *id, const char *column);
/* 1 when the network report has an issue of kind whose detail contains needle. */
int test_network_has_issue(const cr_network_report *rep, const char *kind, const char *needle);
/* First column of the first row of sql as text into out (size n), "" for NULL. */
void test_store_text(test_store *t, const char *sql, char *out, size_t n);

/* Build dir/s.sqlite from every file of data-samples/manifest.tsv with the crossriver program,
 * exactly as scripts/demo.sh does (imports run the joins and the network build); fails the
 * test on any error other than rows rejected on purpose. */
void test_samples_store(const char *dir);

#endif
