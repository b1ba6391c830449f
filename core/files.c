/* SPDX-License-Identifier: MIT */
/* Whole-file reads and SHA-256 (OpenSSL EVP) for batch provenance. */
#include "core.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const unsigned char *md, unsigned n, char hex_out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n && i < 32; i++) {
        hex_out[2 * i] = digits[md[i] >> 4];
        hex_out[2 * i + 1] = digits[md[i] & 15];
    }
    hex_out[64] = '\0';
}

static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* OpenSSL 3 looks the algorithm up on every EVP_sha256() digest; fetch it once instead. */
static const EVP_MD *sha256_md(void)
{
    pthread_once(&g_sha256_once, fetch_sha256);
    return g_sha256 ? g_sha256 : EVP_sha256();
}

void cr_sha256_hex(const void *data, size_t n, char hex_out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_Digest(data, n, md, &md_len, sha256_md(), NULL);
    to_hex(md, md_len, hex_out);
}

cr_status cr_sha256_file(const char *path, char hex_out[65], cr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return cr_error_set(err, CR_EIO, "%s: %s", path, strerror(errno));
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, sha256_md(), NULL);
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(ctx, buf, n);
    }
    int failed = ferror(f);
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    if (failed) {
        return cr_error_set(err, CR_EIO, "%s: read error", path);
    }
    to_hex(md, md_len, hex_out);
    return CR_OK;
}

cr_status cr_sha256_files(const char *const *paths, size_t n, char hex_out[65], cr_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, sha256_md(), NULL);
    cr_status rc = CR_OK;
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        char frame[64];
        FILE *f = fopen(paths[i], "rb");
        if (f == NULL) {
            snprintf(frame, sizeof frame, "#%zu:absent;", i);
            EVP_DigestUpdate(ctx, frame, strlen(frame));
            continue;
        }
        fseek(f, 0, SEEK_END);
        snprintf(frame, sizeof frame, "#%zu:%ld;", i, ftell(f));
        fseek(f, 0, SEEK_SET);
        EVP_DigestUpdate(ctx, frame, strlen(frame));
        unsigned char buf[1 << 16];
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
            EVP_DigestUpdate(ctx, buf, got);
        }
        if (ferror(f)) {
            rc = cr_error_set(err, CR_EIO, "%s: read error", paths[i]);
        }
        fclose(f);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    if (rc == CR_OK) {
        to_hex(md, md_len, hex_out);
    }
    return rc;
}

cr_status cr_read_file(const char *path, char **data_out, size_t *len_out, cr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return cr_error_set(err, CR_EIO, "%s: %s", path, strerror(errno));
    }
    cr_strbuf sb = {0};
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        cr_strbuf_append(&sb, buf, n);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        cr_strbuf_cleanup(&sb);
        return cr_error_set(err, CR_EIO, "%s: read error", path);
    }
    *len_out = sb.len;
    *data_out = cr_strbuf_take(&sb);
    return CR_OK;
}

void cr_csv_append_cell(cr_strbuf *b, const char *value, int last)
{
    cr_strbuf_puts(b, "\"");
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '"') {
            cr_strbuf_puts(b, "\"\""); /* a quote is doubled */
        } else {
            cr_strbuf_append(b, p, 1);
        }
    }
    cr_strbuf_puts(b, last ? "\"\n" : "\",");
}

void cr_csv_write_cell(FILE *out, const char *value, int last)
{
    cr_strbuf b = {0};
    cr_csv_append_cell(&b, value, last);
    fwrite(b.data, 1, b.len, out);
    cr_strbuf_cleanup(&b);
}

void cr_xml_append(cr_strbuf *b, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        const char *e = *p == '&'   ? "&amp;"
                        : *p == '<' ? "&lt;"
                        : *p == '>' ? "&gt;"
                        : *p == '"' ? "&quot;"
                                    : NULL;
        if (e) {
            cr_strbuf_puts(b, e);
        } else {
            cr_strbuf_append(b, p, 1);
        }
    }
}
