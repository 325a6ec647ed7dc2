/* vision/src/utils_text.c — label text for draw_bounding_boxes with FreeType (see font_internal.h).
 *
 * A font holds its own FT_Library, so fonts opened by different threads share nothing (FreeType
 * objects are not thread-safe across one library). HarfBuzz shapes the UTF-8 text (invalid bytes
 * become U+FFFD) into glyphs and 26.6 positions; each glyph's bitmap goes at the rounded pen plus
 * its offset and bitmap_left, and ascender - bitmap_top.
 */
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_BITMAP_H
#include <hb-ft.h>
#include <hb.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "font_internal.h"
#include "ctorch/memory.h"

struct tv__font {
  FT_Library lib;
  FT_Face face;
  hb_font_t *hb; /* HarfBuzz's view of face: shaping (kerning, ligatures, marks) as PIL's raqm layout */
  int64_t ascender; /* pixels, rounded as PIL's PIXEL() */
};

/* PIL's PIXEL(x): 26.6 fixed point rounded to whole pixels */
static int64_t pixel(FT_Pos v) { return (int64_t)(((v + 32) & -64) >> 6); }

tv__font *tv__font_open(const char *path, int64_t pixels) {
  if (!path) path = TV__DEFAULT_FONT;
  if (pixels < 1 || pixels > 4096) {
    tc_set_error(TC_ERR_ARG, "font size must be 1 to 4096 pixels, got %lld", (long long)pixels);
    return NULL;
  }
  tv__font *f = tc_calloc(sizeof *f);
  if (!f) return NULL;
  if (FT_Init_FreeType(&f->lib)) {
    tc_free(f);
    tc_set_error(TC_ERR_NOMEM, "could not start FreeType");
    return NULL;
  }
  FT_Error e = FT_New_Face(f->lib, path, 0, &f->face);
  if (!e) e = FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixels);
  if (e) {
    tv__font_close(f);
    tc_set_error(TC_ERR_IO, "%s: cannot load it as a TrueType/OpenType font (FreeType error %d)", path, (int)e);
    return NULL;
  }
  f->ascender = pixel(f->face->size->metrics.ascender);
  if (!(f->hb = hb_ft_font_create_referenced(f->face))) {
    tv__font_close(f);
    tc_set_error(TC_ERR_NOMEM, "could not start HarfBuzz for %s", path);
    return NULL;
  }
  /* hb-ft's default load flags (no hinting): unhinted advances, as PIL's raqm layout gets them */
  return f;
}

void tv__font_close(tv__font *f) {
  if (!f) return;
  if (f->hb) hb_font_destroy(f->hb);
  if (f->face) FT_Done_Face(f->face);
  if (f->lib) FT_Done_FreeType(f->lib);
  tc_free(f);
}

/* Lays out text and calls fn for each rendered glyph bitmap at its top-left pixel. */
typedef void (*glyph_fn)(const FT_Bitmap *b, int64_t left, int64_t top, void *ctx);

static tc_status layout(tv__font *f, const char *text, int64_t x, int64_t y, glyph_fn fn, void *ctx,
                        int64_t *advance) {
  hb_buffer_t *buf = hb_buffer_create();
  hb_buffer_add_utf8(buf, text, -1, 0, -1); /* invalid UTF-8 becomes U+FFFD */
  hb_buffer_guess_segment_properties(buf);
  hb_shape(f->hb, buf, NULL, 0);
  unsigned n = 0;
  const hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &n);
  const hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, &n);
  tc_status st = hb_buffer_allocation_successful(buf) ? TC_OK : tc_set_error(TC_ERR_NOMEM, "out of memory shaping text");
  FT_Pos px = 0, py = 0; /* the pen, 26.6 */
  for (unsigned i = 0; i < n && !st; i++) {
    FT_Error e = FT_Load_Glyph(f->face, info[i].codepoint, FT_LOAD_DEFAULT);
    if (!e) e = FT_Render_Glyph(f->face->glyph, FT_RENDER_MODE_NORMAL);
    if (e) {
      st = tc_set_error(TC_ERR_CORRUPT, "the font cannot render glyph %u (FreeType error %d)", info[i].codepoint,
                        (int)e);
      break;
    }
    FT_GlyphSlot g = f->face->glyph;
    int64_t gx = pixel(px + pos[i].x_offset), gy = pixel(py + pos[i].y_offset);
    const FT_Bitmap *bm = &g->bitmap;
    FT_Bitmap gray;
    FT_Bitmap_Init(&gray);
    if (bm->pixel_mode != FT_PIXEL_MODE_GRAY) { /* a font's embedded mono/2/4-bit strike: to 8-bit coverage */
      if (FT_Bitmap_Convert(f->lib, bm, &gray, 1)) {
        st = tc_set_error(TC_ERR_CORRUPT, "the font's glyph %u has a bitmap that cannot be converted", info[i].codepoint);
        FT_Bitmap_Done(f->lib, &gray);
        break;
      }
      unsigned top = gray.num_grays > 1 ? gray.num_grays - 1 : 1;
      for (unsigned r = 0; r < gray.rows; r++)
        for (unsigned c = 0; c < gray.width; c++) {
          unsigned char *v = gray.buffer + (size_t)r * (size_t)(gray.pitch < 0 ? -gray.pitch : gray.pitch) + c;
          *v = (unsigned char)(*v * 255u / top);
        }
      bm = &gray;
    }
    fn(bm, x + gx + g->bitmap_left, y + f->ascender - gy - g->bitmap_top, ctx);
    FT_Bitmap_Done(f->lib, &gray);
    px += pos[i].x_advance;
    py += pos[i].y_advance;
  }
  if (advance) *advance = pixel(px);
  hb_buffer_destroy(buf);
  return st;
}

/* Row r (top to bottom) of an 8-bit bitmap: a negative pitch stores the rows bottom-up. */
static const unsigned char *row_of(const FT_Bitmap *b, unsigned r) {
  ptrdiff_t pitch = b->pitch;
  return pitch >= 0 ? b->buffer + (ptrdiff_t)r * pitch : b->buffer + (ptrdiff_t)(b->rows - 1 - r) * -pitch;
}

static void grow_box(const FT_Bitmap *b, int64_t left, int64_t top, void *ctx) {
  int64_t *box = ctx;
  if (b->width == 0 || b->rows == 0) return;
  int64_t r = left + (int64_t)b->width, bt = top + (int64_t)b->rows;
  if (box[2] <= box[0] && box[3] <= box[1]) { /* still empty */
    box[0] = left, box[1] = top, box[2] = r, box[3] = bt;
    return;
  }
  box[0] = left < box[0] ? left : box[0], box[1] = top < box[1] ? top : box[1];
  box[2] = r > box[2] ? r : box[2], box[3] = bt > box[3] ? bt : box[3];
}

tc_status tv__font_bbox(tv__font *f, const char *text, int64_t x, int64_t y, int64_t box[4]) {
  box[0] = box[2] = x, box[1] = box[3] = y;
  int64_t adv = 0;
  tc_status st = layout(f, text, x, y, grow_box, box, &adv);
  if (x + adv > box[2]) box[2] = x + adv; /* PIL's box reaches the pen's end too */
  return st;
}

typedef struct {
  uint8_t *rgb;
  int64_t h, w;
  const uint8_t *color;
} paint;

/* PIL's BLEND(mask, in1, in2) = DIV255(in1 * (255 - mask) + in2 * mask) per channel */
static void blend_glyph(const FT_Bitmap *b, int64_t left, int64_t top, void *ctx) {
  const paint *p = ctx;
  for (unsigned r = 0; r < b->rows; r++) {
    int64_t yy = top + (int64_t)r;
    if (yy < 0 || yy >= p->h) continue;
    const unsigned char *src = row_of(b, r);
    for (unsigned c = 0; c < b->width; c++) {
      int64_t xx = left + (int64_t)c;
      unsigned a = src[c];
      if (xx < 0 || xx >= p->w || a == 0) continue;
      for (int k = 0; k < 3; k++) {
        uint8_t *o = p->rgb + (k * p->h + yy) * p->w + xx;
        unsigned t = (unsigned)*o * (255 - a) + (unsigned)p->color[k] * a + 128;
        *o = (uint8_t)(((t >> 8) + t) >> 8);
      }
    }
  }
}

tc_status tv__font_draw(tv__font *f, const char *text, int64_t x, int64_t y, const uint8_t color[3], uint8_t *rgb,
                        int64_t h, int64_t w) {
  paint p = {rgb, h, w, color};
  return layout(f, text, x, y, blend_glyph, &p, NULL);
}
