/* vision/src/transforms_geometry.c — crop, center crop, pad, flips, resized crop, five/ten crop as
 * torchvision.transforms.v2.functional does them on tensors.
 *
 * All of them are one gather: output pixel (y, x) of each plane takes input (iy[y], ix[x]), or the
 * plane's fill value where an index is -1. Crops, pads of every mode and flips only differ in how
 * the two index maps are built, so one kernel serves all dtypes (it copies element bytes) and
 * results are exact.
 */
#include <string.h>
#include "transforms_internal.h"

/* ---- the gather kernel --------------------------------------------------------------------------------- */
typedef struct remap_ctx {
  const char *src; /* n planes x H x W */
  char *dst;       /* n planes x OH x OW */
  const int64_t *iy, *ix;
  int64_t H, W, OH, OW, C;
  size_t es;
  const char *fill; /* C elements of the image dtype */
  int cols;         /* ix is: 0 any map, 1 a run ix[x] = ix[0] + x (crops), 2 reversed, ix[x] = ix[0] - x */
} remap_ctx;

/* What kind of column map ix (OW entries) is: see remap_ctx.cols. */
static int column_kind(const int64_t *ix, int64_t OW) {
  if (OW == 0 || ix[0] < 0 || ix[OW - 1] < 0) return 0;
  bool run = true, rev = true;
  for (int64_t x = 1; x < OW && (run || rev); x++) {
    run = run && ix[x] == ix[0] + x;
    rev = rev && ix[x] == ix[0] - x;
  }
  return run ? 1 : rev ? 2 : 0;
}

/* one row of a reversed column map, byte elements (a horizontal flip of uint8 images) */
static void reversed_row_u8(uint8_t *restrict d, const uint8_t *restrict s, int64_t n) {
  for (int64_t x = 0; x < n; x++) d[x] = s[-x];
}

static void remap_rows(int64_t b, int64_t e, void *vc) {
  const remap_ctx *c = vc;
  const size_t es = c->es;
  for (int64_t r = b; r < e; r++) {
    int64_t plane = r / c->OH, y = r % c->OH;
    const char *f = c->fill + (size_t)(plane % c->C) * es;
    char *d = c->dst + (size_t)(r * c->OW) * es;
    const char *s = c->iy[y] < 0 ? NULL : c->src + (size_t)((plane * c->H + c->iy[y]) * c->W) * es;
    if (s && c->cols == 1) {
      memcpy(d, s + (size_t)c->ix[0] * es, (size_t)c->OW * es);
      continue;
    }
    if (s && c->cols == 2 && es == 1) {
      reversed_row_u8((uint8_t *)d, (const uint8_t *)s + c->ix[0], c->OW);
      continue;
    }
    if (es == 1) {
      for (int64_t x = 0; x < c->OW; x++) d[x] = s && c->ix[x] >= 0 ? s[c->ix[x]] : f[0];
      continue;
    }
    for (int64_t x = 0; x < c->OW; x++) {
      const char *from = s && c->ix[x] >= 0 ? s + (size_t)c->ix[x] * es : f;
      memcpy(d + (size_t)x * es, from, es);
    }
  }
}

/* fill (n = 1 or C values; NULL = 0) converted to img's dtype as torch converts a float tensor. */
static tc_tensor *fill_values(const char *fn, const tc_tensor *img, int64_t C, const double *fill, int64_t nfill) {
  if (fill && nfill != 1 && nfill != C) {
    tc_set_error(TC_ERR_ARG, "%s: fill has %lld values for an image of %lld channels (expected 1 or %lld)", fn,
                 (long long)nfill, (long long)C, (long long)C);
    return NULL;
  }
  int64_t n = C > 0 ? C : 1;
  tc_tensor *f = tc_empty(&n, 1, TC_OPTS(.dtype = TC_F64));
  if (!f) return NULL;
  double *p = tc_tensor_data(f);
  for (int64_t i = 0; i < n; i++) p[i] = fill ? fill[nfill == 1 ? 0 : i] : 0.0;
  tc_tensor *r = tc_to_dtype(f, tc_tensor_dtype(img));
  tc_tensor_release(f);
  return r;
}

/* img gathered through (iy, ix) into an (OH, OW) image; -1 takes the fill. */
static tc_tensor *remap(const char *fn, const tc_tensor *img, int64_t OH, int64_t OW, const int64_t *iy,
                        const int64_t *ix, const double *fill, int64_t nfill) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  tc_tensor *out = tv__empty_image(img, OH, OW);
  tc_tensor *fv = out ? fill_values(fn, img, pl.c, fill, nfill) : NULL;
  tc_tensor *x = fv ? tc_contiguous(img) : NULL;
  if (!x) {
    tc_tensor_release(out);
    tc_tensor_release(fv);
    return NULL;
  }
  if (pl.n > 0 && OH > 0 && OW > 0) {
    remap_ctx c = {
        tc_tensor_data(x), tc_tensor_data(out), iy, ix, pl.h, pl.w, OH, OW, pl.c, tc_dtype_size(tc_tensor_dtype(img)),
        tc_tensor_data(fv), column_kind(ix, OW)};
    int64_t grain = OW > 0 ? 65536 / OW : 1;
    tc_parallel_for(pl.n * OH, grain < 1 ? 1 : grain, remap_rows, &c);
  }
  tc_tensor_release(x);
  tc_tensor_release(fv);
  return out;
}

/* Two index maps in one allocation: *iy gets ny entries, *ix nx. */
static int64_t *alloc_maps(int64_t ny, int64_t nx, int64_t **ix) {
  int64_t *m = tc_malloc((size_t)(ny + nx + 1) * sizeof(int64_t));
  if (m) *ix = m + ny;
  return m;
}

/* ---- crops ---------------------------------------------------------------------------------------------- */
static void crop_map(int64_t *m, int64_t start, int64_t len, int64_t size) {
  for (int64_t i = 0; i < len; i++) m[i] = start + i >= 0 && start + i < size ? start + i : -1;
}

static tc_tensor *crop_impl(const char *fn, const tc_tensor *img, int64_t top, int64_t left, int64_t h, int64_t w) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  if (h < 0 || w < 0) {
    tc_set_error(TC_ERR_ARG, "%s: crop size must be non-negative, got (%lld, %lld)", fn, (long long)h, (long long)w);
    return NULL;
  }
  int64_t *ix, *iy = alloc_maps(h, w, &ix);
  if (!iy) return NULL;
  crop_map(iy, top, h, pl.h);
  crop_map(ix, left, w, pl.w);
  tc_tensor *r = remap(fn, img, h, w, iy, ix, NULL, 0);
  tc_free(iy);
  return r;
}

tc_tensor *tv_crop(const tc_tensor *img, int64_t top, int64_t left, int64_t h, int64_t w) {
  return crop_impl("tv_crop", img, top, left, h, w);
}

/* torchvision: pad by ((crop - size) // 2, (crop - size + 1) // 2) when the crop is larger, then take
 * the window at round((size - crop) / 2): both are one crop at a (possibly negative) offset. */
int64_t tv__center_offset(int64_t size, int64_t crop) {
  return crop > size ? -((crop - size) / 2) : tv__round_half_even((double)(size - crop) / 2.0);
}

static tc_tensor *center_crop_impl(const char *fn, const tc_tensor *img, int64_t h, int64_t w) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  if (h < 1 || w < 1) {
    tc_set_error(TC_ERR_ARG, "%s: crop size must be positive, got (%lld, %lld)", fn, (long long)h, (long long)w);
    return NULL;
  }
  return crop_impl(fn, img, tv__center_offset(pl.h, h), tv__center_offset(pl.w, w), h, w);
}

tc_tensor *tv_center_crop(const tc_tensor *img, int64_t h, int64_t w) {
  return center_crop_impl("tv_center_crop", img, h, w);
}

/* ---- pad ------------------------------------------------------------------------------------------------- */
/* Source index of padded position o (o - before in the image's frame) for a dim of n pixels. */
static int64_t pad_source(int64_t s, int64_t n, tv_pad_mode mode) {
  if (s >= 0 && s < n) return s;
  switch (mode) {
    case TV_PAD_EDGE:
      return s < 0 ? 0 : n - 1;
    case TV_PAD_REFLECT:
      return s < 0 ? -s : 2 * (n - 1) - s;
    case TV_PAD_SYMMETRIC:
      return s < 0 ? -s - 1 : 2 * n - 1 - s;
    default:
      return -1;
  }
}

static tc_status check_pad(const char *fn, const int64_t ltrb[4], int64_t H, int64_t W, tv_pad_mode mode) {
  if ((int)mode < TV_PAD_CONSTANT || mode > TV_PAD_SYMMETRIC)
    return tc_set_error(TC_ERR_ARG, "%s: unknown padding mode %d", fn, (int)mode);
  for (int i = 0; i < 4; i++) {
    int64_t n = i % 2 ? H : W, p = ltrb[i];
    if (p < 0 && mode != TV_PAD_CONSTANT)
      return tc_set_error(TC_ERR_ARG, "%s: negative padding %lld needs padding_mode constant", fn, (long long)p);
    if (p > 0 && mode != TV_PAD_CONSTANT && n == 0)
      return tc_set_error(TC_ERR_SHAPE, "%s: cannot pad an empty dim in %s mode", fn, tv__pad_mode_name(mode));
    if ((mode == TV_PAD_REFLECT && p >= n && p > 0) || (mode == TV_PAD_SYMMETRIC && p > n))
      return tc_set_error(TC_ERR_SHAPE, "%s: padding %lld is too large for a dim of size %lld in %s mode", fn,
                          (long long)p, (long long)n, tv__pad_mode_name(mode));
  }
  if (H + ltrb[1] + ltrb[3] < 0 || W + ltrb[0] + ltrb[2] < 0)
    return tc_set_error(TC_ERR_SHAPE, "%s: negative padding larger than the image", fn);
  return TC_OK;
}

static tc_tensor *pad_impl(const char *fn, const tc_tensor *img, const int64_t ltrb[4], tv_pad_mode mode,
                           const double *fill, int64_t nfill) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl) || check_pad(fn, ltrb, pl.h, pl.w, mode)) return NULL;
  int64_t OH = pl.h + ltrb[1] + ltrb[3], OW = pl.w + ltrb[0] + ltrb[2];
  int64_t *ix, *iy = alloc_maps(OH, OW, &ix);
  if (!iy) return NULL;
  for (int64_t y = 0; y < OH; y++) iy[y] = pad_source(y - ltrb[1], pl.h, mode);
  for (int64_t x = 0; x < OW; x++) ix[x] = pad_source(x - ltrb[0], pl.w, mode);
  tc_tensor *r = remap(fn, img, OH, OW, iy, ix, mode == TV_PAD_CONSTANT ? fill : NULL, nfill);
  tc_free(iy);
  return r;
}

tc_tensor *tv_pad(const tc_tensor *img, const int64_t *padding, int64_t npadding, tv_pad_mode mode, const double *fill,
                  int64_t nfill) {
  int64_t ltrb[4];
  if (tv__parse_padding("tv_pad", padding, npadding, ltrb)) return NULL;
  return pad_impl("tv_pad", img, ltrb, mode, fill, nfill);
}

/* ---- flips ------------------------------------------------------------------------------------------------ */
static tc_tensor *flip_impl(const char *fn, const tc_tensor *img, bool horizontal) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  int64_t *ix, *iy = alloc_maps(pl.h, pl.w, &ix);
  if (!iy) return NULL;
  for (int64_t y = 0; y < pl.h; y++) iy[y] = horizontal ? y : pl.h - 1 - y;
  for (int64_t x = 0; x < pl.w; x++) ix[x] = horizontal ? pl.w - 1 - x : x;
  tc_tensor *r = remap(fn, img, pl.h, pl.w, iy, ix, NULL, 0);
  tc_free(iy);
  return r;
}

tc_tensor *tv_horizontal_flip(const tc_tensor *img) { return flip_impl("tv_horizontal_flip", img, true); }
tc_tensor *tv_vertical_flip(const tc_tensor *img) { return flip_impl("tv_vertical_flip", img, false); }

/* ---- resized crop, five / ten crop ---------------------------------------------------------------------- */
tc_tensor *tv_resized_crop(const tc_tensor *img, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                           int64_t out_w, tv_interp interp, bool antialias) {
  tc_tensor *c = crop_impl("tv_resized_crop", img, top, left, h, w);
  if (!c) return NULL;
  tc_tensor *r = tv_resize(c, out_h, out_w, interp, antialias);
  tc_tensor_release(c);
  return r;
}

/* The five crops of img (tl, tr, bl, br, center) into crops[0..5). */
static tc_status five_crops(const char *fn, const tc_tensor *img, int64_t h, int64_t w, tc_tensor **crops) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return tc_last_status();
  if (h < 1 || w < 1 || h > pl.h || w > pl.w)
    return tc_set_error(TC_ERR_SHAPE, "%s: requested crop size (%lld, %lld) is bigger than input size (%lld, %lld)", fn,
                        (long long)h, (long long)w, (long long)pl.h, (long long)pl.w);
  const int64_t at[4][2] = {{0, 0}, {0, pl.w - w}, {pl.h - h, 0}, {pl.h - h, pl.w - w}};
  for (int k = 0; k < 4; k++) crops[k] = crop_impl(fn, img, at[k][0], at[k][1], h, w);
  crops[4] = center_crop_impl(fn, img, h, w);
  for (int k = 0; k < 5; k++)
    if (!crops[k]) return tc_last_status();
  return TC_OK;
}

static tc_tensor *n_crop(const char *fn, const tc_tensor *img, int64_t h, int64_t w, bool ten, bool vflip) {
  tc_tensor *crops[10] = {0}, *flipped = NULL, *r = NULL;
  if (five_crops(fn, img, h, w, crops)) goto done;
  if (ten) {
    flipped = flip_impl(fn, img, !vflip);
    if (!flipped || five_crops(fn, flipped, h, w, crops + 5)) goto done;
  }
  r = tc_stack((const tc_tensor *const *)crops, ten ? 10 : 5, 0);
done:
  for (int k = 0; k < 10; k++) tc_tensor_release(crops[k]);
  tc_tensor_release(flipped);
  return r;
}

tc_tensor *tv_five_crop(const tc_tensor *img, int64_t h, int64_t w) {
  return n_crop("tv_five_crop", img, h, w, false, false);
}

tc_tensor *tv_ten_crop(const tc_tensor *img, int64_t h, int64_t w, bool vertical_flip) {
  return n_crop("tv_ten_crop", img, h, w, true, vertical_flip);
}
