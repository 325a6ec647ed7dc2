/* vision/src/utils_grid.c — torchvision.utils.make_grid and draw_bounding_boxes.
 *
 * make_grid reproduces torchvision's channel expansion, normalisation (clamp, subtract, divide in
 * the images' dtype) and layout. draw_bounding_boxes reproduces what torchvision gets from PIL's
 * ImageDraw.rectangle: integer corners, `width` outline rows/columns inside the box, and for fill
 * PIL's RGBA-over-RGB blend (DIV255 rounding) at alpha 100.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "font_internal.h"
#include "ctorch/vision_ops.h"
#include "ctorch/vision_io.h"

/* ---- make_grid ------------------------------------------------------------------------------------- */

/* (B, C, H, W) with one-channel images tripled, as torchvision's preamble; a new reference */
static tc_tensor *as_batch(const tc_tensor *t) {
  int64_t nd = tc_tensor_ndim(t);
  tc_tensor *b = NULL;
  if (nd == 2) b = tc_view(t, (const int64_t[]){1, 1, tc_tensor_shape(t)[0], tc_tensor_shape(t)[1]}, 4);
  else if (nd == 3) b = tc_unsqueeze(t, 0);
  else b = tc_tensor_retain((tc_tensor *)t);
  if (!b || tc_tensor_shape(b)[1] != 1) return b;
  tc_tensor *c = tc_cat((const tc_tensor *const[]){b, b, b}, 3, 1);
  tc_tensor_release(b);
  return c;
}

/* img[i] = (clamp(img[i], lo, hi) - lo) / max(hi - lo, 1e-5) in T; lo/hi from the data when !range */
#define DEFINE_NORM(T, SUF)                                                                       \
  static void norm_##SUF(T *p, int64_t n, const double *range) {                                  \
    double lo, hi;                                                                                \
    if (range) {                                                                                  \
      lo = range[0], hi = range[1];                                                               \
    } else {                                                                                      \
      T mn = p[0], mx = p[0]; /* NaN anywhere makes both NaN, as torch.min/max */                 \
      for (int64_t i = 0; i < n; i++) {                                                           \
        if (isnan(p[i])) {                                                                        \
          mn = mx = p[i];                                                                         \
          break;                                                                                  \
        }                                                                                         \
        mn = p[i] < mn ? p[i] : mn;                                                               \
        mx = p[i] > mx ? p[i] : mx;                                                               \
      }                                                                                           \
      lo = mn, hi = mx;                                                                           \
    }                                                                                             \
    T l = (T)lo, h = (T)hi, d = (T)(hi - lo > 1e-5 ? hi - lo : 1e-5);                             \
    for (int64_t i = 0; i < n; i++) {                                                             \
      T v = p[i];                                                                                 \
      if (!isnan(v)) v = v < l ? l : v > h ? h : v;                                               \
      v = v - l;                                                                                  \
      p[i] = v / d;                                                                               \
    }                                                                                             \
  }
DEFINE_NORM(float, f32)
DEFINE_NORM(double, f64)

/* normalises b (contiguous, owned) in place: per image when scale_each, else as a whole */
static tc_status normalize(tc_tensor *b, const double *range, bool scale_each) {
  tc_dtype d = tc_tensor_dtype(b);
  if (d != TC_F32 && d != TC_F64)
    return tc_set_error(TC_ERR_DTYPE, "tv_make_grid: normalize needs float32 or float64 images, got %s",
                        tc_dtype_name(d));
  int64_t n = tc_tensor_numel(b), per = scale_each ? n / tc_tensor_shape(b)[0] : n;
  if (n == 0) return TC_OK;
  for (int64_t off = 0; off < n; off += per) {
    if (d == TC_F32) norm_f32((float *)tc_tensor_data(b) + off, per, range);
    else norm_f64((double *)tc_tensor_data(b) + off, per, range);
  }
  return TC_OK;
}

/* the images of b (B, C, H, W) into a padded nrow-wide grid */
static tc_tensor *lay_out(const tc_tensor *b, int64_t nrow, int64_t padding, double pad_value) {
  const int64_t *s = tc_tensor_shape(b);
  int64_t nmaps = s[0], xmaps = nrow < nmaps ? nrow : nmaps, ymaps = (nmaps + xmaps - 1) / xmaps;
  int64_t h = s[2] + padding, w = s[3] + padding;
  tc_tensor *grid = tc_full((const int64_t[]){s[1], h * ymaps + padding, w * xmaps + padding}, 3, pad_value,
                            TC_OPTS(.dtype = tc_tensor_dtype(b)));
  for (int64_t k = 0; grid && k < nmaps; k++) {
    int64_t y = k / xmaps, x = k % xmaps;
    tc_tensor *rows = tc_narrow(grid, 1, y * h + padding, h - padding);
    tc_tensor *cell = rows ? tc_narrow(rows, 2, x * w + padding, w - padding) : NULL;
    tc_tensor *img = cell ? tc_select(b, 0, k) : NULL;
    tc_status st = img ? tc_copy_inplace(cell, img) : tc_last_status();
    tc_tensor_release(rows), tc_tensor_release(cell), tc_tensor_release(img);
    if (st) {
      tc_tensor_release(grid);
      grid = NULL;
    }
  }
  return grid;
}

tc_tensor *tv_make_grid(const tc_tensor *images, int64_t nrow, int64_t padding, bool normalize_, const double *range,
                        bool scale_each, double pad_value) {
  if (!images) {
    if (!tc_last_status()) tc_set_error(TC_ERR_ARG, "tv_make_grid: images is NULL");
    return NULL;
  }
  int64_t nd = tc_tensor_ndim(images);
  if (nd < 2 || nd > 4 || nrow <= 0 || padding < 0) {
    tc_set_error(TC_ERR_ARG, "tv_make_grid: need (B, C, H, W), (C, H, W) or (H, W) images, nrow > 0 and padding >= 0 "
                 "(got %lld dims, nrow %lld, padding %lld)", (long long)nd, (long long)nrow, (long long)padding);
    return NULL;
  }
  tc_tensor *b = as_batch(images);
  if (b && normalize_) {
    tc_tensor *c = tc_clone(b); /* normalisation never touches the caller's images */
    tc_tensor_release(b);
    b = c;
    if (b && normalize(b, range, scale_each)) {
      tc_tensor_release(b);
      return NULL;
    }
  }
  if (!b) return NULL;
  if (tc_tensor_shape(b)[0] == 1) { /* one image: returned as is, without padding */
    tc_tensor *r = tc_select(b, 0, 0);
    tc_tensor_release(b);
    return r;
  }
  if (tc_tensor_shape(b)[0] == 0) {
    tc_tensor_release(b);
    tc_set_error(TC_ERR_ARG, "tv_make_grid: no images");
    return NULL;
  }
  tc_tensor *g = lay_out(b, nrow, padding, pad_value);
  tc_tensor_release(b);
  return g;
}

/* ---- draw_bounding_boxes ------------------------------------------------------------------------------ */

typedef struct {
  uint8_t *p;     /* (3, H, W) uint8, contiguous */
  int64_t h, w;
  uint8_t rgb[3];
  int alpha;      /* 255: plain set; else PIL's blend */
} canvas;

static void put(canvas *c, int64_t x, int64_t y) {
  if (x < 0 || x >= c->w || y < 0 || y >= c->h) return;
  for (int k = 0; k < 3; k++) {
    uint8_t *o = c->p + (k * c->h + y) * c->w + x;
    if (c->alpha == 255) {
      *o = c->rgb[k];
    } else { /* BLEND(mask, in1, in2) = DIV255(in1 * (255 - mask) + in2 * mask) */
      unsigned t = (unsigned)*o * (unsigned)(255 - c->alpha) + (unsigned)c->rgb[k] * (unsigned)c->alpha + 128;
      *o = (uint8_t)(((t >> 8) + t) >> 8);
    }
  }
}

/* PIL's hline: x0..x1 inclusive on row y */
static void hline(canvas *c, int64_t x0, int64_t y, int64_t x1) {
  if (x0 > x1) { int64_t t = x0; x0 = x1; x1 = t; }
  for (int64_t x = x0; x <= x1; x++) put(c, x, y);
}

/* PIL's vertical line: |y1 - y0| pixels from y0 towards y1 (y1 itself excluded) */
static void vline(canvas *c, int64_t x, int64_t y0, int64_t y1) {
  int64_t step = y1 >= y0 ? 1 : -1, n = y1 >= y0 ? y1 - y0 : y0 - y1;
  for (int64_t i = 0; i < n; i++, y0 += step) put(c, x, y0);
}

/* ImagingDrawRectangle: filled rows y0..y1, or a `width` outline inside the box */
static void rectangle(canvas *c, int64_t x0, int64_t y0, int64_t x1, int64_t y1, bool fill, int64_t width) {
  if (fill) {
    if (y0 < 0) y0 = 0;
    else if (y0 >= c->h) return;
    if (y1 < 0) return;
    if (y1 > c->h) y1 = c->h;
    for (int64_t y = y0; y <= y1; y++) hline(c, x0, y, x1);
    return;
  }
  for (int64_t i = 0; i < width; i++) {
    hline(c, x0, y0 + i, x1);
    hline(c, x0, y1 - i, x1);
    vline(c, x1 - i, y0 + width, y1 - width + 1);
    vline(c, x0 + i, y0 + width, y1 - width + 1);
  }
}

/* (N, 4) boxes truncated to int64 (torchvision's boxes.to(torch.int64)), checked x1 <= x2, y1 <= y2 */
static int64_t *box_corners(const tc_tensor *boxes) {
  int64_t n = tc_tensor_shape(boxes)[0];
  double *d = tc_malloc((size_t)(n ? n : 1) * 4 * sizeof *d);
  int64_t *r = tc_malloc((size_t)(n ? n : 1) * 4 * sizeof *r);
  tc_tensor *f = d && r ? tc_to_dtype(boxes, TC_F64) : NULL;
  bool ok = f && !tc_tensor_copy_to_buffer(f, d, (size_t)n * 4 * sizeof *d);
  for (int64_t i = 0; ok && i < n; i++) {
    if (d[4 * i] > d[4 * i + 2] || d[4 * i + 1] > d[4 * i + 3] || !isfinite(d[4 * i]) || !isfinite(d[4 * i + 1]) ||
        !isfinite(d[4 * i + 2]) || !isfinite(d[4 * i + 3])) {
      tc_set_error(TC_ERR_ARG, "tv_draw_bounding_boxes: box %lld (%g, %g, %g, %g) is not finite (x1, y1, x2, y2) with "
                   "x1 <= x2 and y1 <= y2 (tv_box_convert converts other formats)", (long long)i, d[4 * i],
                   d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]);
      ok = false;
    }
    for (int k = 0; ok && k < 4; k++) r[4 * i + k] = (int64_t)d[4 * i + k];
  }
  tc_tensor_release(f);
  tc_free(d);
  if (!ok) {
    tc_free(r);
    return NULL;
  }
  return r;
}

/* the image as a new contiguous (3, H, W) uint8 tensor */
static tc_tensor *rgb_copy(const tc_tensor *image) {
  if (tc_tensor_shape(image)[0] == 3) return tc_clone(image);
  return tc_cat((const tc_tensor *const[]){image, image, image}, 3, 0);
}

/* The color of box i: colors (1 or n triples), or torchvision's palette when NULL. */
static void box_color(const uint8_t *colors, int64_t ncolors, int64_t i, uint8_t rgb[3]) {
  if (colors) {
    memcpy(rgb, colors + 3 * (ncolors == 1 ? 0 : i), 3);
    return;
  }
  const int64_t pal[3] = {(1 << 25) - 1, (1 << 15) - 1, (1 << 21) - 1}; /* i * (2^25-1, 2^15-1, 2^21-1) mod 255 */
  for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)((i * pal[k]) % 255);
}

/* Label i at the box's corner plus the outline width and a margin of 1, as torchvision: on a
 * background of its box's extent plus 1 (fill_labels), then the text. */
static tc_status draw_label(canvas *c, tv__font *f, const char *text, const int64_t *b, int64_t width,
                            const uint8_t color[3], const uint8_t *bg) {
  int64_t x = b[0] + width + 1, y = b[1] + width + 1;
  if (bg) {
    int64_t box[4];
    tc_status st = tv__font_bbox(f, text, x, y, box);
    if (st) return st;
    canvas back = *c; /* the same pixels, painted opaque in bg */
    memcpy(back.rgb, bg, 3);
    back.alpha = 255;
    rectangle(&back, box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1, true, 0);
  }
  return tv__font_draw(f, text, x, y, color, c->p, c->h, c->w);
}

tc_tensor *tv_draw_bounding_boxes(const tc_tensor *image, const tc_tensor *boxes, const uint8_t *colors,
                                  int64_t ncolors, int64_t width, bool fill) {
  return tv_draw_bounding_boxes_labeled(image, boxes, colors, ncolors, width, fill, NULL, NULL, 0, NULL, 0, false);
}

tc_tensor *tv_draw_bounding_boxes_labeled(const tc_tensor *image, const tc_tensor *boxes, const uint8_t *colors,
                                          int64_t ncolors, int64_t width, bool fill, const char *const *labels,
                                          const char *font, int64_t font_size, const uint8_t *label_colors,
                                          int64_t nlabel_colors, bool fill_labels) {
  if (!image || !boxes) {
    if (!tc_last_status()) tc_set_error(TC_ERR_ARG, "tv_draw_bounding_boxes: NULL tensor");
    return NULL;
  }
  if (tc_tensor_dtype(image) != TC_U8 || tc_tensor_ndim(image) != 3 ||
      (tc_tensor_shape(image)[0] != 1 && tc_tensor_shape(image)[0] != 3)) {
    tc_set_error(TC_ERR_ARG, "tv_draw_bounding_boxes: image must be uint8 (1, H, W) or (3, H, W)");
    return NULL;
  }
  if (tc_tensor_ndim(boxes) != 2 || tc_tensor_shape(boxes)[1] != 4) {
    tc_set_error(TC_ERR_SHAPE, "tv_draw_bounding_boxes: boxes must be (N, 4)");
    return NULL;
  }
  int64_t n = tc_tensor_shape(boxes)[0];
  if (width < 0 || (colors && ncolors != 1 && ncolors != n)) {
    tc_set_error(TC_ERR_ARG, "tv_draw_bounding_boxes: width %lld must be >= 0 and ncolors (%lld) 1 or the number of "
                 "boxes (%lld)", (long long)width, (long long)ncolors, (long long)n);
    return NULL;
  }
  if (label_colors && nlabel_colors != 1 && nlabel_colors != n) {
    tc_set_error(TC_ERR_ARG, "tv_draw_bounding_boxes: nlabel_colors (%lld) must be 1 or the number of boxes (%lld)",
                 (long long)nlabel_colors, (long long)n);
    return NULL;
  }
  bool any_label = false;
  for (int64_t i = 0; labels && i < n; i++) any_label = any_label || (labels[i] && labels[i][0]);
  tv__font *f = NULL;
  if (any_label && !(f = tv__font_open(font, font_size > 0 ? font_size : 10))) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tc_last_error()); /* (the message is rewritten below) */
    tc_set_error(tc_last_status(), "tv_draw_bounding_boxes: %s", msg);
    return NULL;
  }
  int64_t *xy = box_corners(boxes);
  tc_tensor *out = xy ? rgb_copy(image) : NULL;
  if (!out) {
    tc_free(xy);
    tv__font_close(f);
    return NULL;
  }
  canvas c = {tc_tensor_data(out), tc_tensor_shape(out)[1], tc_tensor_shape(out)[2], {0, 0, 0}, 255};
  tc_status st = TC_OK;
  for (int64_t i = 0; i < n && !st; i++) {
    const int64_t *b = xy + 4 * i;
    box_color(colors, ncolors, i, c.rgb);
    if (fill) {
      c.alpha = 100;
      rectangle(&c, b[0], b[1], b[2], b[3], true, 0);
      c.alpha = 255;
    }
    if (width != 0) rectangle(&c, b[0], b[1], b[2], b[3], false, width);
    if (f && labels[i] && labels[i][0]) {
      uint8_t lc[3];
      if (label_colors) memcpy(lc, label_colors + 3 * (nlabel_colors == 1 ? 0 : i), 3);
      else memcpy(lc, c.rgb, 3);
      st = draw_label(&c, f, labels[i], b, width, lc, fill_labels ? c.rgb : NULL); /* background: the box color */
    }
  }
  tc_free(xy);
  tv__font_close(f);
  if (st) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    tc_set_error(st, "tv_draw_bounding_boxes: %s", msg);
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_status tv_save_image(const tc_tensor *images, const char *path, int64_t nrow, int64_t padding, bool normalize,
                        const double *value_range, bool scale_each, double pad_value) {
  if (!images || !path) return tc_set_error(TC_ERR_ARG, "tv_save_image: %s is NULL", images ? "path" : "images");
  if (!tc_dtype_is_floating(tc_tensor_dtype(images)))
    return tc_set_error(TC_ERR_DTYPE, "tv_save_image: expected floating-point images in [0, 1], got %s",
                        tc_dtype_name(tc_tensor_dtype(images)));
  tc_scope_push();
  tc_tensor *grid = tv_make_grid(images, nrow, padding, normalize, value_range, scale_each, pad_value);
  tc_tensor *u8 = grid ? tc_to_dtype(tc_clamp(tc_add_scalar(tc_mul_scalar(grid, 255.0), 0.5), 0.0, 255.0), TC_U8)
                       : NULL;
  tc_status st = u8 ? tv_write_png(u8, path, 6) : tc_last_status();
  tc_scope_pop();
  return st;
}
