/* SPDX-License-Identifier: MIT */
/* Map label glyphs as MapLibre asks for them: ranges of 256 code points as signed distance
 * fields in the glyphs.proto format, rendered with FreeType from a font installed on the
 * machine (Noto Sans CJK from Debian: Chinese and Latin alike), so labels need nothing from the
 * internet and look the same whatever fonts the reader's machine has. Conventions of the
 * format: 24 px em, a 3 px border, SDF radius 8 px with the edge at 0.75 (value 191), "top"
 * measured from an origin 27 px above the baseline as the renderer places its own glyphs. */
#include "glyphs.h"

#include "pb.h"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    EM_PX = 24,      /* the size glyphs are rendered at */
    BORDER = 3,      /* around each bitmap */
    RADIUS = 8,      /* distances beyond this saturate */
    TOP_ORIGIN = 27, /* "top" is from 27 px above the baseline */
    N_RANGES = 256   /* the Basic Multilingual Plane */
};
static const double CUTOFF = 0.25; /* the edge at 255 × (1 − 0.25) */
static const double FAR = 1e20;    /* "no edge yet": finite, so differences stay numbers */

struct cr_glyphs {
    pthread_mutex_t lock;
    FT_Library lib;
    FT_Face face;
    char family[128];
    char *range[N_RANGES]; /* encoded ranges, made on first request */
    size_t range_len[N_RANGES];
};

cr_status cr_glyphs_open(const char *font_path, int face_index, cr_glyphs **out, cr_error *err)
{
    *out = NULL;
    cr_glyphs *g = cr_xcalloc(1, sizeof *g);
    if (FT_Init_FreeType(&g->lib) != 0) {
        free(g);
        return cr_error_set(err, CR_EIO, "FreeType does not start");
    }
    if (FT_New_Face(g->lib, font_path, face_index, &g->face) != 0) {
        FT_Done_FreeType(g->lib);
        free(g);
        return cr_error_set(err, CR_EIO,
                            "%s (face %d): not a font FreeType can open (install fonts-noto-cjk, "
                            "or give another font)",
                            font_path, face_index);
    }
    FT_Set_Pixel_Sizes(g->face, 0, EM_PX);
    snprintf(g->family, sizeof g->family, "%s %s", g->face->family_name ? g->face->family_name : "",
             g->face->style_name ? g->face->style_name : "");
    pthread_mutex_init(&g->lock, NULL);
    *out = g;
    return CR_OK;
}

void cr_glyphs_free(cr_glyphs *g)
{
    if (g == NULL) {
        return;
    }
    for (int i = 0; i < N_RANGES; i++) {
        free(g->range[i]);
    }
    FT_Done_Face(g->face);
    FT_Done_FreeType(g->lib);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

const char *cr_glyphs_family(const cr_glyphs *g)
{
    return g->family;
}

/* One-dimensional squared Euclidean distance transform of f (n values, stride apart), in
 * place (Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions"). */
static void edt1d(double *grid, size_t offset, size_t stride, size_t n, double *f, double *z,
                  size_t *v)
{
    for (size_t q = 0; q < n; q++) {
        f[q] = grid[offset + q * stride];
    }
    size_t k = 0;
    v[0] = 0;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (size_t q = 1; q < n; q++) {
        double s;
        do {
            size_t r = v[k];
            s = (f[q] - f[r] + (double)q * q - (double)r * r) / (2.0 * ((double)q - (double)r));
        } while (s <= z[k] && k-- > 0);
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (size_t q = 0; q < n; q++) {
        while (z[k + 1] < (double)q) {
            k++;
        }
        size_t r = v[k];
        grid[offset + q * stride] = f[r] + ((double)q - (double)r) * ((double)q - (double)r);
    }
}

static void edt(double *grid, size_t w, size_t h, double *f, double *z, size_t *v)
{
    for (size_t x = 0; x < w; x++) {
        edt1d(grid, x, w, h, f, z, v);
    }
    for (size_t y = 0; y < h; y++) {
        edt1d(grid, y * w, 1, w, f, z, v);
    }
}

/* The signed distance field of an antialiased coverage bitmap (w × h, coverage 0…255), with
 * the border added: out is (w + 2B) × (h + 2B). Distances to the edge both ways, the coverage
 * of edge pixels taken as where the edge lies within them (as MapLibre's own TinySDF does). */
static void sdf(const unsigned char *cov, int w, int h, int pitch, unsigned char *out)
{
    size_t W = (size_t)w + 2 * BORDER, H = (size_t)h + 2 * BORDER, n = W * H;
    size_t m = W > H ? W : H;
    double *outer = cr_xmalloc(n * sizeof *outer), *inner = cr_xmalloc(n * sizeof *inner);
    double *f = cr_xmalloc(m * sizeof *f), *z = cr_xmalloc((m + 1) * sizeof *z);
    size_t *v = cr_xmalloc(m * sizeof *v);
    for (size_t y = 0; y < H; y++) {
        for (size_t x = 0; x < W; x++) {
            long sx = (long)x - BORDER, sy = (long)y - BORDER;
            double a = sx >= 0 && sy >= 0 && sx < w && sy < h ? cov[sy * pitch + sx] / 255.0 : 0;
            size_t i = y * W + x;
            if (a >= 1) {
                outer[i] = 0;
                inner[i] = FAR;
            } else if (a <= 0) {
                outer[i] = FAR;
                inner[i] = 0;
            } else {
                double d = 0.5 - a;
                outer[i] = d > 0 ? d * d : 0;
                inner[i] = d < 0 ? d * d : 0;
            }
        }
    }
    edt(outer, W, H, f, z, v);
    edt(inner, W, H, f, z, v);
    for (size_t i = 0; i < n; i++) {
        double d = sqrt(outer[i]) - sqrt(inner[i]);
        double val = 255.0 - 255.0 * (d / RADIUS + CUTOFF);
        out[i] = (unsigned char)(val < 0 ? 0 : val > 255 ? 255 : lround(val));
    }
    free(outer);
    free(inner);
    free(f);
    free(z);
    free(v);
}

/* One glyph message for code point cp, appended to stack (nothing when the font has none). */
static void glyph(cr_glyphs *g, unsigned cp, cr_strbuf *stack)
{
    FT_UInt index = FT_Get_Char_Index(g->face, cp);
    if (index == 0 || FT_Load_Glyph(g->face, index, FT_LOAD_NO_HINTING) != 0 ||
        FT_Render_Glyph(g->face->glyph, FT_RENDER_MODE_NORMAL) != 0) {
        return;
    }
    FT_GlyphSlot s = g->face->glyph;
    int w = (int)s->bitmap.width, h = (int)s->bitmap.rows;
    cr_strbuf m = {0};
    cr_pb_uint(&m, 1, cp);
    if (w > 0 && h > 0) {
        size_t n = (size_t)(w + 2 * BORDER) * (size_t)(h + 2 * BORDER);
        unsigned char *bits = cr_xcalloc(n, 1);
        sdf(s->bitmap.buffer, w, h, s->bitmap.pitch, bits);
        cr_pb_bytes(&m, 2, (const char *)bits, n);
        free(bits);
    }
    cr_pb_uint(&m, 3, (uint64_t)w);
    cr_pb_uint(&m, 4, (uint64_t)h);
    cr_pb_uint(&m, 5, cr_pb_zigzag32(s->bitmap_left));
    cr_pb_uint(&m, 6, cr_pb_zigzag32(s->bitmap_top - TOP_ORIGIN));
    cr_pb_uint(&m, 7, (uint64_t)lround(s->advance.x / 64.0));
    cr_pb_bytes(stack, 3, m.data, m.len);
    cr_strbuf_cleanup(&m);
}

cr_status cr_glyphs_range(cr_glyphs *g, const char *fontstack, unsigned start, char **data,
                          size_t *len, cr_error *err)
{
    *data = NULL;
    *len = 0;
    if (start % 256 != 0 || start / 256 >= N_RANGES) {
        return cr_error_set(err, CR_ENOTFOUND,
                            "glyph ranges are 256 code points of the BMP: 0-255, 256-511, … "
                            "65280-65535");
    }
    unsigned r = start / 256;
    pthread_mutex_lock(&g->lock);
    if (g->range[r] == NULL) {
        cr_strbuf stack = {0};
        char range[24];
        snprintf(range, sizeof range, "%u-%u", start, start + 255);
        cr_pb_bytes(&stack, 1, g->family, strlen(g->family));
        cr_pb_bytes(&stack, 2, range, strlen(range));
        for (unsigned cp = start; cp < start + 256; cp++) {
            glyph(g, cp, &stack);
        }
        cr_strbuf msg = {0};
        cr_pb_bytes(&msg, 1, stack.data, stack.len);
        cr_strbuf_cleanup(&stack);
        g->range_len[r] = msg.len;
        g->range[r] = cr_strbuf_take(&msg);
    }
    /* the fontstack name the client asked for is its own business: the one font answers */
    (void)fontstack;
    *data = cr_xmalloc(g->range_len[r] ? g->range_len[r] : 1);
    memcpy(*data, g->range[r], g->range_len[r]);
    *len = g->range_len[r];
    pthread_mutex_unlock(&g->lock);
    return CR_OK;
}
