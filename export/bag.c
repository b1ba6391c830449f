/* SPDX-License-Identifier: MIT */
/* BagIt in a zip: the payload list, the zip written in a fixed order with fixed times, and
 * verification of a package. */
#include "evidence_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

int cr_ev_parse_as_of(const char *s, time_t *out)
{
    struct tm tm = {0};
    char tail;
    if (s == NULL || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &tail) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* Write the bag into a zip at path: entries in a fixed order, each with the as-of time. */
cr_status cr_ev_write_zip(const char *path, payload *files, size_t n, time_t mtime, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EIO, "%s: cannot create the zip (libzip error %d)", path, zerr);
    }
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s/%s", BAG, files[i].name);
        zip_source_t *src = zip_source_buffer(za, files[i].body.data ? files[i].body.data : "",
                                              files[i].body.len, 0);
        zip_int64_t idx = src ? zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            zip_source_free(src);
            zip_discard(za);
            return cr_error_set(err, CR_EIO, "%s: cannot add %s", path, name);
        }
        zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9);
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0);
    }
    if (zip_close(za) != 0) {
        cr_status rc = cr_error_set(err, CR_EIO, "%s: %s", path, zip_strerror(za));
        zip_discard(za);
        return rc;
    }
    return CR_OK;
}

void cr_ev_add(payloads *ps, const char *name, const char *text, size_t len)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->items = cr_xrealloc(ps->items, ps->cap * sizeof *ps->items);
    }
    payload *p = &ps->items[ps->n++];
    snprintf(p->name, sizeof p->name, "%s", name);
    memset(&p->body, 0, sizeof p->body);
    cr_strbuf_append(&p->body, text ? text : "", len);
}

/* The whole of one entry, or NULL. */
static char *read_entry(zip_t *za, zip_int64_t idx, size_t *len)
{
    zip_stat_t sb;
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0) {
        return NULL;
    }
    zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (f == NULL) {
        return NULL;
    }
    char *buf = cr_xmalloc(sb.size + 1);
    zip_int64_t got = zip_fread(f, buf, sb.size);
    zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != sb.size) {
        free(buf);
        return NULL;
    }
    buf[sb.size] = '\0';
    *len = sb.size;
    return buf;
}

static char *read_named(zip_t *za, const char *name, size_t *len)
{
    char full[256];
    snprintf(full, sizeof full, "%s/%s", BAG, name);
    zip_int64_t idx = zip_name_locate(za, full, 0);
    return idx < 0 ? NULL : read_entry(za, idx, len);
}

/* Check the lines of a manifest; 1 when all hold. */
static int check_manifest(zip_t *za, const char *manifest, json_t *files, json_t *problems,
                          json_t *listed)
{
    size_t len = 0;
    char *text = read_named(za, manifest, &len);
    if (text == NULL) {
        json_array_append_new(problems, json_sprintf("%s is missing", manifest));
        return 0;
    }
    int ok = 1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char hex[65], path[200];
        if (sscanf(line, "%64s  %199[^\n]", hex, path) != 2) {
            json_array_append_new(problems, json_sprintf("%s: bad line '%.80s'", manifest, line));
            ok = 0;
            continue;
        }
        json_object_set_new(listed, path, json_true());
        size_t n = 0;
        char *body = read_named(za, path, &n);
        char got[65] = "";
        if (body) {
            cr_sha256_hex(body, n, got);
        }
        int same = body && strcmp(got, hex) == 0;
        json_array_append_new(files, json_pack("{s:s, s:b}", "path", path, "ok", same));
        if (!same) {
            json_array_append_new(
                problems, body
                              ? json_sprintf("%s: SHA-256 %s, the manifest says %s", path, got, hex)
                              : json_sprintf("%s: listed in %s but missing", path, manifest));
            ok = 0;
        }
        free(body);
    }
    free(text);
    return ok;
}

cr_status cr_evidence_verify(const char *zip_path, json_t **report, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: not a zip file (libzip error %d)", zip_path, zerr);
    }
    json_t *files = json_array(), *problems = json_array(), *listed = json_object();
    size_t len = 0;
    char *bagit = read_named(za, "bagit.txt", &len);
    if (bagit == NULL || strstr(bagit, "BagIt-Version:") == NULL) {
        free(bagit);
        zip_discard(za);
        json_decref(files);
        json_decref(problems);
        json_decref(listed);
        return cr_error_set(err, CR_EINVAL, "%s: no BagIt bag (%s/bagit.txt) inside", zip_path,
                            BAG);
    }
    free(bagit);
    int ok = check_manifest(za, "manifest-sha256.txt", files, problems, listed);
    ok &= check_manifest(za, "tagmanifest-sha256.txt", files, problems, listed);
    /* every payload file is in the manifest; the Payload-Oxum adds up */
    size_t bytes = 0, count = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        zip_stat_t sb;
        if (name && strncmp(name, BAG "/data/", strlen(BAG "/data/")) == 0 &&
            zip_stat_index(za, (zip_uint64_t)i, 0, &sb) == 0) {
            bytes += sb.size;
            count++;
            if (json_object_get(listed, name + strlen(BAG "/")) == NULL) {
                json_array_append_new(problems, json_sprintf("%s is not in the manifest", name));
                ok = 0;
            }
        }
    }
    char *info = read_named(za, "bag-info.txt", &len);
    size_t ob = 0, oc = 0;
    const char *ox = info ? strstr(info, "Payload-Oxum: ") : NULL;
    if (ox == NULL || sscanf(ox, "Payload-Oxum: %zu.%zu", &ob, &oc) != 2 || ob != bytes ||
        oc != count) {
        json_array_append_new(problems, json_sprintf("Payload-Oxum %zu.%zu, the payload is "
                                                     "%zu.%zu",
                                                     ob, oc, bytes, count));
        ok = 0;
    }
    free(info);
    zip_discard(za);
    json_decref(listed);
    *report = json_pack("{s:b, s:s, s:o, s:o}", "ok", ok, "bag", BAG, "files", files, "problems",
                        problems);
    return CR_OK;
}

cr_status cr_evidence_read_case(const char *zip_path, json_t **case_out, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: not a zip file", zip_path);
    }
    size_t len = 0;
    char *text = read_named(za, "data/case.json", &len);
    zip_discard(za);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (j == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: no readable data/case.json", zip_path);
    }
    *case_out = j;
    return CR_OK;
}

void cr_ev_bag(payloads *ps, const char *issuer, const char *as_of)
{
    /* BagIt: the manifest over data/, then the tag files and their manifest */
    cr_strbuf man = {0};
    size_t oxum_bytes = 0, n_payload = ps->n;
    for (size_t i = 0; i < ps->n; i++) {
        char hex[65];
        cr_sha256_hex(ps->items[i].body.data ? ps->items[i].body.data : "", ps->items[i].body.len,
                      hex);
        cr_strbuf_printf(&man, "%s  %s\n", hex, ps->items[i].name);
        oxum_bytes += ps->items[i].body.len;
    }
    const char *bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    cr_strbuf info = {0};
    cr_strbuf_printf(&info,
                     "Source-Organization: %s\nBagging-Date: %.10s\nPayload-Oxum: %zu.%zu\n"
                     "External-Description: crossriver evidence package; see "
                     "data/case.json\n",
                     issuer ? issuer : "unknown", as_of, oxum_bytes, n_payload);
    cr_ev_add(ps, "bagit.txt", bagit, strlen(bagit));
    cr_ev_add(ps, "bag-info.txt", info.data, info.len);
    cr_ev_add(ps, "manifest-sha256.txt", man.data, man.len);
    cr_strbuf tag = {0};
    for (size_t i = ps->n - 3; i < ps->n; i++) {
        char hex[65];
        cr_sha256_hex(ps->items[i].body.data, ps->items[i].body.len, hex);
        cr_strbuf_printf(&tag, "%s  %s\n", hex, ps->items[i].name);
    }
    cr_ev_add(ps, "tagmanifest-sha256.txt", tag.data, tag.len);
    cr_strbuf_cleanup(&man);
    cr_strbuf_cleanup(&info);
    cr_strbuf_cleanup(&tag);
}

cr_status cr_ev_write_zip_atomic(const char *zip_path, const payloads *ps, time_t mtime,
                                 cr_error *err)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.partial", zip_path);
    cr_status rc = cr_ev_write_zip(tmp, ps->items, ps->n, mtime, err);
    if (rc == CR_OK && rename(tmp, zip_path) != 0) {
        rc = cr_error_set(err, CR_EIO, "%s: cannot rename into place", zip_path);
    }
    if (rc != CR_OK) {
        unlink(tmp);
    }
    return rc;
}
