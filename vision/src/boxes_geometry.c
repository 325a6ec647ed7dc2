/* vision/src/boxes_geometry.c — bounding boxes through the geometric transforms
 * (ctorch/vision_boxes.h), as torchvision.transforms.v2.functional's *_bounding_boxes kernels.
 *
 * Every function loads the boxes as an (n, 4) array of doubles, works on it, and stores it back
 * in the input's shape and dtype (tc_to_dtype: integers truncate, as torchvision's .to()). The
 * corner-mapping ops (affine, perspective, elastic) work in XYXY: the four corners of each box
 * are mapped and their bounding box taken, then clamped, then converted back to the format.
 */
#include <math.h>
#include <string.h>
#include "ctorch/vision_augment.h"
#include "ctorch/vision_boxes.h"
#include "augment_internal.h"

/* ---- load and store ------------------------------------------------------------------------------ */
typedef struct {
  double *b; /* n x 4, owned */
  int64_t n;
  const tc_tensor *like; /* shape and dtype of the result */
} box_buf;

static tc_status box_load(const char *fn, const tc_tensor *boxes, tv_box_format fmt, box_buf *o) {
  memset(o, 0, sizeof *o);
  if (!boxes) return tc_set_error(TC_ERR_ARG, "%s: boxes is NULL", fn);
  if ((int)fmt < TV_BOX_XYXY || fmt > TV_BOX_CXCYWH)
    return tc_set_error(TC_ERR_ARG, "%s: unknown box format %d", fn, (int)fmt);
  int64_t nd = tc_tensor_ndim(boxes);
  if (nd < 1 || tc_tensor_shape(boxes)[nd - 1] != 4)
    return tc_set_error(TC_ERR_SHAPE, "%s: boxes must be (..., 4), got %lld dims with last size %lld", fn,
                        (long long)nd, (long long)(nd ? tc_tensor_shape(boxes)[nd - 1] : 0));
  tc_dtype dt = tc_tensor_dtype(boxes);
  if (dt == TC_BOOL || dt == TC_C64)
    return tc_set_error(TC_ERR_DTYPE, "%s: boxes must be a real number tensor, got %s", fn, tc_dtype_name(dt));
  tc_tensor *d = tc_to_dtype(boxes, TC_F64), *c = d ? tc_contiguous(d) : NULL;
  tc_tensor_release(d);
  if (!c) return tc_last_status();
  int64_t numel = tc_tensor_numel(c);
  o->n = numel / 4;
  o->b = tc_malloc(sizeof(double) * (size_t)(numel > 0 ? numel : 1));
  if (o->b && numel > 0) memcpy(o->b, tc_tensor_data(c), sizeof(double) * (size_t)numel);
  tc_tensor_release(c);
  if (!o->b) return tc_set_error(TC_ERR_NOMEM, "%s: out of memory for %lld boxes", fn, (long long)o->n);
  o->like = boxes;
  return TC_OK;
}

/* The boxes of o as a tensor like o->like; frees o's buffer. */
static tc_tensor *box_store(box_buf *o) {
  tc_tensor *f = tc_tensor_from_data(o->b, tc_tensor_shape(o->like), tc_tensor_ndim(o->like), TC_F64);
  tc_free(o->b);
  o->b = NULL;
  if (!f) return NULL;
  tc_tensor *r = tc_to_dtype(f, tc_tensor_dtype(o->like));
  tc_tensor_release(f);
  return r;
}

/* ---- formats (torchvision's _meta.py conversions) ------------------------------------------------- */
static void to_xyxy(double *b, int64_t n, tv_box_format fmt) {
  for (int64_t i = 0; i < n; i++, b += 4) {
    if (fmt == TV_BOX_XYWH) {
      b[2] += b[0], b[3] += b[1];
    } else if (fmt == TV_BOX_CXCYWH) {
      double cx = b[0], cy = b[1], hw = 0.5 * b[2], hh = 0.5 * b[3];
      b[0] = cx - hw, b[1] = cy - hh, b[2] = cx + hw, b[3] = cy + hh;
    }
  }
}

static void from_xyxy(double *b, int64_t n, tv_box_format fmt) {
  for (int64_t i = 0; i < n; i++, b += 4) {
    if (fmt == TV_BOX_XYWH) {
      b[2] -= b[0], b[3] -= b[1];
    } else if (fmt == TV_BOX_CXCYWH) {
      double x1 = b[0], y1 = b[1], x2 = b[2], y2 = b[3];
      b[0] = (x1 + x2) / 2, b[1] = (y1 + y2) / 2, b[2] = x2 - x1, b[3] = y2 - y1;
    }
  }
}

/* clamp_bounding_boxes: in XYXY, x to [0, W] and y to [0, H] */
static void clamp_xyxy(double *b, int64_t n, int64_t H, int64_t W) {
  for (int64_t i = 0; i < n; i++, b += 4)
    for (int k = 0; k < 4; k++) {
      double hi = (double)(k % 2 ? H : W);
      b[k] = b[k] < 0 ? 0 : b[k] > hi ? hi : b[k];
    }
}

static void clamp_fmt(double *b, int64_t n, tv_box_format fmt, int64_t H, int64_t W) {
  to_xyxy(b, n, fmt);
  clamp_xyxy(b, n, H, W);
  from_xyxy(b, n, fmt);
}

static bool bad_canvas(const char *fn, int64_t h, int64_t w) {
  if (h >= 0 && w >= 0) return false;
  tc_set_error(TC_ERR_ARG, "%s: the canvas size must not be negative, got (%lld, %lld)", fn, (long long)h,
               (long long)w);
  return true;
}

/* ---- clamp, flips, resize, crop, pad --------------------------------------------------------------- */
tc_tensor *tv_boxes_clamp(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w) {
  const char *fn = "tv_boxes_clamp";
  box_buf o;
  if (bad_canvas(fn, canvas_h, canvas_w) || box_load(fn, boxes, fmt, &o)) return NULL;
  clamp_fmt(o.b, o.n, fmt, canvas_h, canvas_w);
  return box_store(&o);
}

/* x (vertical: y) -> extent - x: XYXY swaps the two edges, XYWH moves the origin by the width */
static tc_tensor *flip(const char *fn, const tc_tensor *boxes, tv_box_format fmt, int64_t extent, int axis) {
  box_buf o;
  if (bad_canvas(fn, extent, extent) || box_load(fn, boxes, fmt, &o)) return NULL;
  const double E = (double)extent;
  for (int64_t i = 0; i < o.n; i++) {
    double *b = o.b + 4 * i;
    if (fmt == TV_BOX_XYXY) {
      double lo = b[axis], hi = b[axis + 2];
      b[axis] = -(hi - E), b[axis + 2] = -(lo - E);
    } else if (fmt == TV_BOX_XYWH) {
      b[axis] = -((b[axis] + b[axis + 2]) - E);
    } else {
      b[axis] = -(b[axis] - E);
    }
  }
  return box_store(&o);
}

tc_tensor *tv_boxes_horizontal_flip(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_w) {
  return flip("tv_boxes_horizontal_flip", boxes, fmt, canvas_w, 0);
}

tc_tensor *tv_boxes_vertical_flip(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h) {
  return flip("tv_boxes_vertical_flip", boxes, fmt, canvas_h, 1);
}

tc_tensor *tv_boxes_resize(const tc_tensor *boxes, int64_t h, int64_t w, int64_t new_h, int64_t new_w) {
  const char *fn = "tv_boxes_resize";
  if (h <= 0 || w <= 0 || new_h <= 0 || new_w <= 0) {
    tc_set_error(TC_ERR_ARG, "%s: sizes must be positive, got (%lld, %lld) -> (%lld, %lld)", fn, (long long)h,
                 (long long)w, (long long)new_h, (long long)new_w);
    return NULL;
  }
  box_buf o;
  if (box_load(fn, boxes, TV_BOX_XYXY, &o)) return NULL;
  if (new_h == h && new_w == w) return box_store(&o); /* torchvision returns the boxes as they are */
  /* the ratios as torchvision's float32 tensor of Python floats */
  const double rw = (double)(float)((double)new_w / (double)w), rh = (double)(float)((double)new_h / (double)h);
  /* integer boxes: torchvision's product is a float32 tensor, rounded before .to() truncates it */
  const bool f32_product = !tc_dtype_is_floating(tc_tensor_dtype(boxes));
  for (int64_t i = 0; i < o.n; i++) {
    double *b = o.b + 4 * i;
    b[0] *= rw, b[1] *= rh, b[2] *= rw, b[3] *= rh;
  }
  /* (a separate pass: GCC 12 at -O3 vectorised a conditional rounding inside the loop above as an
   * unconditional one) */
  if (f32_product)
    for (int64_t e = 0; e < 4 * o.n; e++) o.b[e] = (double)(float)o.b[e];
  return box_store(&o);
}

/* moves the boxes by (dx, dy) (both corners in XYXY, the origin in the other formats) */
static void translate(double *b, int64_t n, tv_box_format fmt, double dx, double dy) {
  for (int64_t i = 0; i < n; i++, b += 4) {
    b[0] += dx, b[1] += dy;
    if (fmt == TV_BOX_XYXY) b[2] += dx, b[3] += dy;
  }
}

tc_tensor *tv_boxes_crop(const tc_tensor *boxes, tv_box_format fmt, int64_t top, int64_t left, int64_t h, int64_t w) {
  const char *fn = "tv_boxes_crop";
  box_buf o;
  if (bad_canvas(fn, h, w) || box_load(fn, boxes, fmt, &o)) return NULL;
  translate(o.b, o.n, fmt, -(double)left, -(double)top);
  clamp_fmt(o.b, o.n, fmt, h, w);
  return box_store(&o);
}

tc_tensor *tv_boxes_resized_crop(const tc_tensor *boxes, tv_box_format fmt, int64_t top, int64_t left, int64_t h,
                                 int64_t w, int64_t out_h, int64_t out_w) {
  tc_tensor *c = tv_boxes_crop(boxes, fmt, top, left, h, w);
  tc_tensor *r = c ? tv_boxes_resize(c, h, w, out_h, out_w) : NULL;
  tc_tensor_release(c);
  return r;
}

tc_tensor *tv_boxes_pad(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                        const int64_t ltrb[4]) {
  const char *fn = "tv_boxes_pad";
  if (!ltrb) {
    tc_set_error(TC_ERR_ARG, "%s: padding is NULL", fn);
    return NULL;
  }
  box_buf o;
  if (bad_canvas(fn, canvas_h, canvas_w) || box_load(fn, boxes, fmt, &o)) return NULL;
  translate(o.b, o.n, fmt, (double)ltrb[0], (double)ltrb[1]);
  clamp_fmt(o.b, o.n, fmt, canvas_h + ltrb[1] + ltrb[3], canvas_w + ltrb[0] + ltrb[2]);
  return box_store(&o);
}

/* ---- corner mappings ------------------------------------------------------------------------------ */
/* Each XYXY box's corners (x1, y1), (x2, y1), (x2, y2), (x1, y2) through map, then their bounding box. */
typedef void (*point_map)(const void *ctx, double x, double y, double *ox, double *oy);

static void map_corners(double *b, int64_t n, point_map map, const void *ctx) {
  for (int64_t i = 0; i < n; i++, b += 4) {
    const double px[4] = {b[0], b[2], b[2], b[0]}, py[4] = {b[1], b[1], b[3], b[3]};
    double mnx = INFINITY, mny = INFINITY, mxx = -INFINITY, mxy = -INFINITY;
    for (int k = 0; k < 4; k++) {
      double x, y;
      map(ctx, px[k], py[k], &x, &y);
      mnx = fmin(mnx, x), mny = fmin(mny, y), mxx = fmax(mxx, x), mxy = fmax(mxy, y);
    }
    b[0] = mnx, b[1] = mny, b[2] = mxx, b[3] = mxy;
  }
}

static void affine_map(const void *ctx, double x, double y, double *ox, double *oy) {
  const double *m = ctx;
  *ox = x * m[0] + y * m[1] + m[2];
  *oy = x * m[3] + y * m[4] + m[5];
}

/* _get_inverse_affine_matrix(..., inverted=False): T * C * RotateScaleShear * C^-1 */
static void forward_affine_matrix(double cx, double cy, double angle, double tx, double ty, double scale, double shx,
                                  double shy, double m[6]) {
  const double deg = 3.14159265358979323846 / 180.0;
  double rot = angle * deg, sx = shx * deg, sy = shy * deg;
  double a = cos(rot - sy) / cos(sy), b = -(a * tan(sx) + sin(rot));
  double c = sin(rot - sy) / cos(sy), d = cos(rot) - c * tan(sx);
  m[0] = a * scale, m[1] = b * scale, m[2] = 0.0;
  m[3] = c * scale, m[4] = d * scale, m[5] = 0.0;
  m[2] += cx + tx - m[0] * cx - m[1] * cy;
  m[5] += cy + ty - m[3] * cx - m[4] * cy;
}

tc_tensor *tv_boxes_affine(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w, double angle,
                           double translate_x, double translate_y, double scale, double shear_x, double shear_y,
                           const double *center, bool expand, int64_t *out_h, int64_t *out_w) {
  const char *fn = "tv_boxes_affine";
  if (!(scale > 0)) {
    tc_set_error(TC_ERR_ARG, "%s: scale should be positive, got %g", fn, scale);
    return NULL;
  }
  box_buf o;
  if (bad_canvas(fn, canvas_h, canvas_w) || box_load(fn, boxes, fmt, &o)) return NULL;
  const double cx = center ? center[0] : (double)canvas_w * 0.5, cy = center ? center[1] : (double)canvas_h * 0.5;
  double m[6];
  forward_affine_matrix(cx, cy, angle, translate_x, translate_y, scale, shear_x, shear_y, m);
  to_xyxy(o.b, o.n, fmt);
  map_corners(o.b, o.n, affine_map, m);
  int64_t H = canvas_h, W = canvas_w;
  if (expand) { /* the canvas corners' minimum becomes the origin; the size is the image's rule */
    const double px[4] = {0, 0, (double)W, (double)W}, py[4] = {0, (double)H, (double)H, 0};
    double mnx = INFINITY, mny = INFINITY;
    for (int k = 0; k < 4; k++) {
      double x, y;
      affine_map(m, px[k], py[k], &x, &y);
      mnx = fmin(mnx, x), mny = fmin(mny, y);
    }
    translate(o.b, o.n, TV_BOX_XYXY, -mnx, -mny);
    double inv[6];
    aug_inverse_affine_matrix(cx, cy, angle, translate_x, translate_y, scale, shear_x, shear_y, inv);
    aug_expanded_size(inv, canvas_w, canvas_h, &W, &H);
  }
  clamp_xyxy(o.b, o.n, H, W);
  from_xyxy(o.b, o.n, fmt);
  if (out_h) *out_h = H;
  if (out_w) *out_w = W;
  return box_store(&o);
}

tc_tensor *tv_boxes_rotate(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w, double angle,
                           bool expand, const double *center, int64_t *out_h, int64_t *out_w) {
  return tv_boxes_affine(boxes, fmt, canvas_h, canvas_w, -angle, 0, 0, 1.0, 0, 0, center, expand, out_h, out_w);
}

/* the inverse of the perspective mapping coeffs (output -> input): input point -> output point */
static void perspective_map(const void *ctx, double x, double y, double *ox, double *oy) {
  const double *t = ctx; /* theta1 (2 x 3) then the denominator row */
  double den = t[6] * x + t[7] * y + 1.0;
  *ox = (t[0] * x + t[1] * y + t[2]) / den;
  *oy = (t[3] * x + t[4] * y + t[5]) / den;
}

tc_tensor *tv_boxes_perspective(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                                const double coeffs[8]) {
  const char *fn = "tv_boxes_perspective";
  if (!coeffs) {
    tc_set_error(TC_ERR_ARG, "%s: coeffs is NULL", fn);
    return NULL;
  }
  const double *c = coeffs;
  double denom = c[0] * c[4] - c[1] * c[3];
  if (denom == 0) {
    tc_set_error(TC_ERR_ARG, "%s: the perspective coefficients cannot be inverted (c0*c4 - c1*c3 = 0)", fn);
    return NULL;
  }
  box_buf o;
  if (bad_canvas(fn, canvas_h, canvas_w) || box_load(fn, boxes, fmt, &o)) return NULL;
  const double inv[8] = {(c[4] - c[5] * c[7]) / denom,         (-c[1] + c[2] * c[7]) / denom,
                         (c[1] * c[5] - c[2] * c[4]) / denom,  (-c[3] + c[5] * c[6]) / denom,
                         (c[0] - c[2] * c[6]) / denom,         (-c[0] * c[5] + c[2] * c[3]) / denom,
                         (-c[4] * c[6] + c[3] * c[7]) / denom, (-c[0] * c[7] + c[1] * c[6]) / denom};
  to_xyxy(o.b, o.n, fmt);
  map_corners(o.b, o.n, perspective_map, inv);
  clamp_xyxy(o.b, o.n, canvas_h, canvas_w);
  from_xyxy(o.b, o.n, fmt);
  return box_store(&o);
}

typedef struct {
  const float *d; /* displacement (H, W, 2) */
  int64_t H, W;
} elastic_ctx;

/* the corner rounded up to a pixel (clamped into the canvas) moves to the approximate inverse grid
 * (identity - displacement), back in pixel units */
static void elastic_map(const void *vctx, double x, double y, double *ox, double *oy) {
  const elastic_ctx *e = vctx;
  double cxr = ceil(x), cyr = ceil(y);
  int64_t ix = (int64_t)cxr, iy = (int64_t)cyr;
  ix = ix < 0 ? 0 : ix > e->W - 1 ? e->W - 1 : ix;
  iy = iy < 0 ? 0 : iy > e->H - 1 ? e->H - 1 : iy;
  /* identity grid: linspace((-n + 1) / n, (n - 1) / n, n) */
  double gx = e->W > 1 ? (-(double)e->W + 1) / (double)e->W + (double)ix * (2.0 / (double)e->W) : 0.0;
  double gy = e->H > 1 ? (-(double)e->H + 1) / (double)e->H + (double)iy * (2.0 / (double)e->H) : 0.0;
  const float *dp = e->d + (iy * e->W + ix) * 2;
  *ox = (gx - (double)dp[0] + 1.0) * (0.5 * (double)e->W) - 0.5;
  *oy = (gy - (double)dp[1] + 1.0) * (0.5 * (double)e->H) - 0.5;
}

tc_tensor *tv_boxes_elastic(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                            const tc_tensor *displacement) {
  const char *fn = "tv_boxes_elastic";
  if (!displacement) {
    tc_set_error(TC_ERR_ARG, "%s: displacement is NULL", fn);
    return NULL;
  }
  const int64_t *ds = tc_tensor_shape(displacement);
  if (tc_tensor_ndim(displacement) != 4 || ds[0] != 1 || ds[1] != canvas_h || ds[2] != canvas_w || ds[3] != 2) {
    tc_set_error(TC_ERR_SHAPE, "%s: displacement must be (1, %lld, %lld, 2) for a %lld x %lld canvas", fn,
                 (long long)canvas_h, (long long)canvas_w, (long long)canvas_h, (long long)canvas_w);
    return NULL;
  }
  box_buf o;
  if (bad_canvas(fn, canvas_h, canvas_w) || box_load(fn, boxes, fmt, &o)) return NULL;
  tc_tensor *df = tc_to_dtype(displacement, TC_F32), *dc = df ? tc_contiguous(df) : NULL;
  tc_tensor_release(df);
  if (!dc) {
    tc_free(o.b);
    return NULL;
  }
  elastic_ctx e = {tc_tensor_data(dc), canvas_h, canvas_w};
  to_xyxy(o.b, o.n, fmt);
  if (canvas_h > 0 && canvas_w > 0) map_corners(o.b, o.n, elastic_map, &e);
  clamp_xyxy(o.b, o.n, canvas_h, canvas_w);
  from_xyxy(o.b, o.n, fmt);
  tc_tensor_release(dc);
  return box_store(&o);
}
