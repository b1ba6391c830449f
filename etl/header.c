/* SPDX-License-Identifier: MIT */
/* Finding the header of a spreadsheet as counties send it: title rows above it, a two-row header
 * whose group cells are merged over their sub-columns (坐标 over 经度 / 纬度). The header is the
 * row whose cells name most of the layer's fields; row numbers stay those the sheet shows.
 * Rule: the file's own first row stays the header whenever it names at least two fields. */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

/* Rows searched for a header. */
#define HEADER_SEARCH_ROWS 30
/* A header names at least this many fields (or coordinates). */
#define HEADER_MIN_SCORE 2

static int matches_any(char **aliases, size_t n, const char *own, const char *folded)
{
    for (size_t k = 0; k <= n; k++) {
        const char *name = k < n ? aliases[k] : own;
        if (name == NULL) {
            continue;
        }
        char *f = cr_text_fold(name);
        int hit = strcmp(f, folded) == 0;
        free(f);
        if (hit) {
            return 1;
        }
    }
    return 0;
}

/* 1 when text names a field or coordinate of the layer. */
static int names_field(const cr_layer_def *d, const char *text)
{
    if (text == NULL || *text == '\0') {
        return 0;
    }
    char *folded = cr_text_fold(text);
    int hit = 0;
    for (size_t i = 0; i < d->n_fields && !hit; i++) {
        hit = matches_any(d->fields[i].aliases, d->fields[i].n_aliases, d->fields[i].name, folded);
    }
    for (int k = 0; k < 4 && !hit; k++) {
        hit = matches_any(d->coord_aliases[k], d->n_coord_aliases[k], NULL, folded);
    }
    free(folded);
    return hit;
}

static int score(const cr_layer_def *d, char **cells, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) {
        s += names_field(d, cells[i]);
    }
    return s;
}

static void free_cells(char **cells, int n)
{
    for (int i = 0; cells && i < n; i++) {
        free(cells[i]);
    }
    free(cells);
}

int cr_ingest_header_names_fields(const ingest_ctx *c)
{
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(c->src.layer);
    int n = OGR_FD_GetFieldCount(fd);
    char **cells = cr_xcalloc((size_t)n + 1, sizeof *cells);
    for (int i = 0; i < n; i++) {
        cells[i] = cr_text_trim(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, i)));
    }
    int s = score(c->def, cells, n);
    free_cells(cells, n);
    return s >= HEADER_MIN_SCORE;
}

/* ---- XLSX: the sheet read without headers, rows are features with FID = row number ---- */

static char **row_cells(OGRFeatureH f, int n)
{
    char **cells = cr_xcalloc((size_t)n + 1, sizeof *cells);
    for (int i = 0; i < n; i++) {
        cells[i] = OGR_F_IsFieldSetAndNotNull(f, i) ? cr_text_trim(OGR_F_GetFieldAsString(f, i))
                                                    : cr_xstrdup("");
    }
    return cells;
}

/* A second header row: text only (no numbers), naming at least one field. */
static int is_sub_header(const cr_layer_def *d, char **cells, int n)
{
    int text = 0;
    for (int i = 0; i < n; i++) {
        if (cells[i][0] == '\0') {
            continue;
        }
        double v;
        if (cr_etl_parse_real(cells[i], &v, NULL) == CR_OK) {
            return 0;
        }
        text++;
    }
    return text > 0 && score(d, cells, n) > 0;
}

/* Column names from the header row and the sub-header below it (a sub-cell names the column
 * when it names a field itself, else it is appended to its group's name). */
static void merge_names(const cr_layer_def *d, char **head, char **sub, int n, char ***out)
{
    char **names = cr_xcalloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++) {
        if (sub && sub[i][0] != '\0') {
            cr_strbuf sb = {0};
            if (!names_field(d, sub[i])) {
                cr_strbuf_puts(&sb, head[i]);
            }
            cr_strbuf_puts(&sb, sub[i]);
            names[i] = cr_strbuf_take(&sb);
        } else {
            names[i] = cr_xstrdup(head[i][0] ? head[i] : "");
        }
    }
    *out = names;
}

cr_status cr_ingest_find_sheet_header(ingest_ctx *c, cr_error *err)
{
    OGRLayerH layer = c->src.layer;
    int n = OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(layer));
    int want = c->opt->header_row;
    char **best = NULL;
    int best_score = 0;
    int64_t best_row = 0;
    char **sub = NULL;
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        int64_t row = OGR_F_GetFID(f);
        char **cells = row_cells(f, n);
        OGR_F_Destroy(f);
        if (best && row == best_row + 1 && is_sub_header(c->def, cells, n)) {
            free_cells(sub, n);
            sub = cells;
            continue;
        }
        if (want ? row > want : row > HEADER_SEARCH_ROWS) {
            free_cells(cells, n);
            break;
        }
        int s = score(c->def, cells, n);
        if ((want && row == want) || (!want && s > best_score)) {
            free_cells(best, n);
            free_cells(sub, n);
            sub = NULL;
            best = cells;
            best_score = s;
            best_row = row;
        } else {
            free_cells(cells, n);
        }
    }
    if (best == NULL || (!want && best_score < HEADER_MIN_SCORE)) {
        free_cells(best, n);
        free_cells(sub, n);
        return want ? cr_error_set(err, CR_EINVAL, "%s: --header-row %d: the sheet has no row %d",
                                   c->path, want, want)
                    : cr_error_set(err, CR_EINVAL,
                                   "%s: no header row in the first %d rows names the layer's "
                                   "fields (see: crossriver layers %s); give it with --header-row "
                                   "N",
                                   c->path, HEADER_SEARCH_ROWS, c->def->name);
    }
    merge_names(c->def, best, sub, n, &c->header_names);
    c->n_header_names = n;
    c->data_from_row = best_row + (sub ? 2 : 1);
    free_cells(best, n);
    free_cells(sub, n);
    return CR_OK;
}

/* ---- CSV: title lines above the header are dropped from the UTF-8 copy ---------------- */

/* The fields of one CSV line (commas outside double quotes). */
static char **split_line(const char *line, size_t len, int *n_out)
{
    char **cells = NULL;
    int n = 0;
    cr_strbuf cell = {0};
    int quoted = 0;
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? line[i] : ',';
        if (ch == '"') {
            quoted = !quoted;
        } else if (ch == ',' && !quoted) {
            cells = cr_xrealloc(cells, (size_t)(n + 1) * sizeof *cells);
            char *raw = cr_strbuf_take(&cell);
            cells[n++] = cr_text_trim(raw ? raw : "");
            free(raw);
        } else if (ch != '\r') {
            cr_strbuf_append(&cell, &ch, 1);
        }
    }
    cr_strbuf_cleanup(&cell);
    *n_out = n;
    return cells;
}

cr_status cr_ingest_csv_header(void *user, const char *text, size_t size, size_t *skip_bytes,
                               int64_t *skip_lines, cr_error *err)
{
    const ingest_ctx *c = user;
    int want = c->opt->header_row;
    int best_score = -1;
    int64_t best_line = 0;
    size_t best_at = 0;
    size_t at = 0;
    *skip_bytes = 0;
    *skip_lines = 0;
    for (int64_t line = 1; at < size && line <= (want ? want : HEADER_SEARCH_ROWS); line++) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - text) : size;
        int n = 0;
        char **cells = split_line(text + at, end - at, &n);
        int s = score(c->def, cells, n);
        free_cells(cells, n);
        if ((want && line == want) || (!want && s > best_score)) {
            best_score = s;
            best_line = line;
            best_at = at;
        }
        at = end + 1;
    }
    if (want && best_line != want) {
        return cr_error_set(err, CR_EINVAL, "%s: --header-row %d: the file has no line %d", c->path,
                            want, want);
    }
    if (best_line > 1 && (want || best_score >= HEADER_MIN_SCORE)) {
        *skip_bytes = best_at;
        *skip_lines = best_line - 1;
    }
    return CR_OK; /* else the first line stays the header; map_columns says what is missing */
}
