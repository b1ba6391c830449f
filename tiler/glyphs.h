/* SPDX-License-Identifier: MIT */
/* Map label glyphs: 256-code-point ranges of signed distance fields (glyphs.proto), rendered
 * with FreeType from one font file (docs/styles.md#labels). */
#ifndef CR_TILER_GLYPHS_H
#define CR_TILER_GLYPHS_H

#include "core/core.h"

typedef struct cr_glyphs cr_glyphs;

/* The default font: Debian's fonts-noto-cjk, Noto Sans CJK SC (face 2 of the collection). */
#define CR_GLYPHS_DEFAULT_FONT "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
#define CR_GLYPHS_DEFAULT_FACE 2

/* Open a font (face_index within a collection); CR_EIO naming the file when it cannot. */
cr_status cr_glyphs_open(const char *font_path, int face_index, cr_glyphs **out, cr_error *err);
void cr_glyphs_free(cr_glyphs *g);
/* "Noto Sans CJK SC Regular": the family and style of the font. */
const char *cr_glyphs_family(const cr_glyphs *g);
/* The encoded range of code points start … start + 255 (start a multiple of 256, below
 * 65536; else CR_ENOTFOUND), made once and kept; thread-safe. *data is the caller's to free. */
cr_status cr_glyphs_range(cr_glyphs *g, const char *fontstack, unsigned start, char **data,
                          size_t *len, cr_error *err);

#endif
