/* vision/src/font_internal.h — text for draw_bounding_boxes' labels (utils_text.c), rendered with
 * FreeType from a TrueType/OpenType file the way PIL's ImageDraw.text draws it with its raqm
 * layout: pixel size set with FT_Set_Pixel_Sizes, the text shaped by HarfBuzz (kerning,
 * ligatures; advances of the hinted glyphs), hinted glyphs (FT_LOAD_DEFAULT) rendered antialiased
 * at the rounded pen positions, the anchor at the left of the text and its ascender line ("la"),
 * and each pixel blended towards the color by the glyph's coverage (PIL's BLEND). Internal (tv__
 * prefix).
 *
 *   tv__font *f = tv__font_open(path, 10);   // NULL + TC_ERR_IO naming the file
 *   tv__font_draw(f, "cat", x, y, rgb, planes, H, W);
 *   tv__font_close(f);
 */
#ifndef CTORCH_VISION_FONT_INTERNAL_H
#define CTORCH_VISION_FONT_INTERNAL_H

#include <stdint.h>
#include "ctorch/status.h"

/* The font draw_bounding_boxes uses when none is given: DejaVu Sans (Debian's fonts-dejavu-core). */
#define TV__DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

typedef struct tv__font tv__font;

/* Opens the font file at `pixels` pixels per em; NULL with TC_ERR_IO (unreadable or not a font)
 * or TC_ERR_ARG (pixels < 1) and a message naming the file. */
tv__font *tv__font_open(const char *path, int64_t pixels);
void tv__font_close(tv__font *f);

/* The box {left, top, right, bottom} (right and bottom exclusive) of UTF-8 `text` anchored at
 * (x, y), as PIL's textbbox: the glyphs' ink, widened to the pen's end; an empty text gives
 * {x, y, x, y}. */
tc_status tv__font_bbox(tv__font *f, const char *text, int64_t x, int64_t y, int64_t box[4]);

/* Blends `text` anchored at (x, y) into the three planes of rgb ((3, h, w) uint8, contiguous),
 * clipped to the image. */
tc_status tv__font_draw(tv__font *f, const char *text, int64_t x, int64_t y, const uint8_t color[3], uint8_t *rgb,
                        int64_t h, int64_t w);

#endif
