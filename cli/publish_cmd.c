/* SPDX-License-Identifier: MIT */
/* crossriver publish: a consistent snapshot of the store for read replicas (docs/operations.md,
 * "Scale-out"). SQLite's VACUUM INTO writes the copy as of one read transaction, while imports
 * go on; the copy is synced and renamed over DIR/store.sqlite, so a replica serving that path
 * sees the old file or the new one, never half of one. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver publish --to DIR [--store PATH]\n\n"
                 "Write a consistent snapshot of the store to DIR/store.sqlite for read replicas\n"
                 "(`crossriver serve --store DIR/store.sqlite`, which picks up each new snapshot\n"
                 "by itself, requests going on), and its generation to DIR/generation.json.\n"
                 "The snapshot is made while imports go on (one read transaction), synced, and\n"
                 "renamed into place: a replica never sees half a file. Run it after imports,\n"
                 "from the one machine that writes.\n");
}

static int sync_path(const char *path, int dir)
{
    int fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    int ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

int cr_cmd_publish(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, 't'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *to = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 't') {
            to = optarg;
        } else {
            return cr_cli_help_exit(opt, help);
        }
    }
    if (to == NULL || optind != argc) {
        fprintf(stderr, "crossriver publish: --to DIR is required (--help for usage)\n");
        return CR_EXIT_USAGE;
    }
    if (mkdir(to, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "crossriver publish: cannot create %s: %s\n", to, strerror(errno));
        return CR_EXIT_FAILURE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    double t0 = cr_monotonic_s();
    char tmp[2048], final[2048], gen_tmp[2048], gen_final[2048];
    snprintf(tmp, sizeof tmp, "%s/.store.sqlite.%d.tmp", to, (int)getpid());
    snprintf(final, sizeof final, "%s/store.sqlite", to);
    snprintf(gen_tmp, sizeof gen_tmp, "%s/.generation.json.%d.tmp", to, (int)getpid());
    snprintf(gen_final, sizeof gen_final, "%s/generation.json", to);
    remove(tmp);
    int64_t gen = cr_store_data_generation(store);
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", tmp);
    char *msg = NULL;
    int code = CR_EXIT_OK;
    if (sqlite3_exec(cr_store_db(store), sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "crossriver publish: %s: %s\n", tmp, msg ? msg : "VACUUM INTO failed");
        code = CR_EXIT_FAILURE;
    }
    sqlite3_free(msg);
    sqlite3_free(sql);
    cr_store_close(store);
    cr_layer_set_free(set);
    char now[21];
    cr_now_iso8601(now);
    FILE *f = code == CR_EXIT_OK ? fopen(gen_tmp, "w") : NULL;
    if (code == CR_EXIT_OK && (f == NULL ||
                               fprintf(f, "{\"data_generation\": %lld, \"published_at\": \"%s\"}\n",
                                       (long long)gen, now) < 0 ||
                               fclose(f) != 0 || !sync_path(tmp, 0) || rename(tmp, final) != 0 ||
                               rename(gen_tmp, gen_final) != 0 || !sync_path(to, 1))) {
        fprintf(stderr, "crossriver publish: cannot put the snapshot in place in %s: %s\n", to,
                strerror(errno));
        code = CR_EXIT_FAILURE;
    }
    if (code != CR_EXIT_OK) {
        remove(tmp);
        remove(gen_tmp);
    } else if (!common.quiet) {
        struct stat st;
        stat(final, &st);
        fprintf(stderr, "%s: data generation %lld, %.1f MiB, %.1f s\n", final, (long long)gen,
                (double)st.st_size / 1048576.0, cr_monotonic_s() - t0);
    }
    return code;
}
