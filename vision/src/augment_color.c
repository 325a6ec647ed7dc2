/* vision/src/augment_color.c — the photometric functional ops (torchvision.transforms.v2.functional
 * _color.py and gaussian_blur), computed in float32 like torchvision's tensor kernels.
 *
 * Buffers are (n, c, h, w) floats (see augment_internal.h); "plane" below is one h x w channel.
 */
#include <string.h>
#include "augment_internal.h"

typedef tc_status (*img_kernel)(aug_img *a, float *out, const void *ctx);

/* Loads img, runs kernel into a same-shaped buffer, stores with rounding r. */
static tc_tensor *run_same_shape(const char *fn, const tc_tensor *img, bool c13, img_kernel k, const void *ctx,
                                 aug_rounding r) {
  aug_img a;
  if (aug_load(fn, img, c13, &a)) return NULL;
  int64_t numel = a.n * a.c * a.h * a.w;
  float *out = tc_malloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
  tc_tensor *t = NULL;
  if (out && k(&a, out, ctx) == TC_OK) t = aug_store(&a, out, a.c, a.h, a.w, r);
  tc_free(out);
  aug_free(&a);
  return t;
}

/* l = 0.2989 r + 0.587 g + 0.114 b in float, as r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114):
 * ATen's vectorised add with alpha is one fused multiply-add, so fmaf rounds exactly as it does. */
static inline float gray_of(float r, float g, float b) { return fmaf(b, 0.114f, fmaf(g, 0.587f, r * 0.2989f)); }

/* gray plane of image i of a 3-channel buffer; floor for integer images (torchvision floors there) */
static void gray_plane(const aug_img *a, int64_t i, float *dst) {
  int64_t hw = a->h * a->w;
  const float *p = a->px + i * 3 * hw;
  for (int64_t j = 0; j < hw; j++) {
    float l = gray_of(p[j], p[hw + j], p[2 * hw + j]);
    dst[j] = a->dt == TC_U8 ? floorf(l) : l;
  }
}

/* _blend: x.mul(ratio).add_(y, alpha=1 - ratio).clamp_(0, bound); ratio and alpha = (float)(1.0 - ratio)
 * (Python computes 1 - ratio in double) come from blend_coefs */
static inline float blend(float x, float y, float ratio, float alpha, float bound) {
  return aug_clampf(fmaf(y, alpha, x * ratio), 0.0f, bound);
}

static tc_status check_factor(const char *fn, const char *what, double f) {
  if (f >= 0) return TC_OK;
  return tc_set_error(TC_ERR_ARG, "%s: %s (%g) is not non-negative", fn, what, f);
}

/* ---- brightness ---------------------------------------------------------------------------------------- */
static tc_status k_brightness(aug_img *a, float *out, const void *ctx) {
  float f = (float)*(const double *)ctx, bound = aug_bound(a->dt);
  int64_t numel = a->n * a->c * a->h * a->w;
  for (int64_t i = 0; i < numel; i++) out[i] = aug_clampf(a->px[i] * f, 0.0f, bound);
  return TC_OK;
}

tc_tensor *tv_adjust_brightness(const tc_tensor *img, double factor) {
  if (check_factor("tv_adjust_brightness", "brightness_factor", factor)) return NULL;
  return run_same_shape("tv_adjust_brightness", img, true, k_brightness, &factor, AUG_TRUNC);
}

/* ---- saturation ------------------------------------------------------------------------------------------ */
static tc_status k_saturation(aug_img *a, float *out, const void *ctx) {
  double fd = *(const double *)ctx;
  float f = (float)fd, alpha = (float)(1.0 - fd), bound = aug_bound(a->dt);
  int64_t hw = a->h * a->w;
  if (a->c == 1) { /* PIL's behaviour: unchanged */
    memcpy(out, a->px, sizeof(float) * (size_t)(a->n * hw));
    return TC_OK;
  }
  float *g = tc_malloc(sizeof(float) * (size_t)(hw > 0 ? hw : 1));
  if (!g) return tc_last_status();
  for (int64_t i = 0; i < a->n; i++) {
    gray_plane(a, i, g);
    for (int64_t ch = 0; ch < 3; ch++) {
      const float *p = a->px + (i * 3 + ch) * hw;
      float *o = out + (i * 3 + ch) * hw;
      for (int64_t j = 0; j < hw; j++) o[j] = blend(p[j], g[j], f, alpha, bound);
    }
  }
  tc_free(g);
  return TC_OK;
}

tc_tensor *tv_adjust_saturation(const tc_tensor *img, double factor) {
  if (check_factor("tv_adjust_saturation", "saturation_factor", factor)) return NULL;
  return run_same_shape("tv_adjust_saturation", img, true, k_saturation, &factor, AUG_TRUNC);
}

/* ---- contrast ------------------------------------------------------------------------------------------- */
static tc_status k_contrast(aug_img *a, float *out, const void *ctx) {
  double fd = *(const double *)ctx;
  float f = (float)fd, alpha = (float)(1.0 - fd), bound = aug_bound(a->dt);
  int64_t hw = a->h * a->w, chw = a->c * hw;
  float *g = tc_malloc(sizeof(float) * (size_t)(hw > 0 ? hw : 1));
  if (!g) return tc_last_status();
  for (int64_t i = 0; i < a->n; i++) {
    if (a->c == 3)
      gray_plane(a, i, g);
    else
      memcpy(g, a->px + i * chw, sizeof(float) * (size_t)hw);
    double sum = 0; /* torch.mean in float32 sums pairwise; double keeps us within an ulp of it */
    for (int64_t j = 0; j < hw; j++) sum += g[j];
    float mean = hw > 0 ? (float)(sum / (double)hw) : 0.0f;
    for (int64_t j = 0; j < chw; j++) out[i * chw + j] = blend(a->px[i * chw + j], mean, f, alpha, bound);
  }
  tc_free(g);
  return TC_OK;
}

tc_tensor *tv_adjust_contrast(const tc_tensor *img, double factor) {
  if (check_factor("tv_adjust_contrast", "contrast_factor", factor)) return NULL;
  return run_same_shape("tv_adjust_contrast", img, true, k_contrast, &factor, AUG_TRUNC);
}

/* ---- sharpness ------------------------------------------------------------------------------------------ */
static tc_status k_sharpness(aug_img *a, float *out, const void *ctx) {
  float alpha = (float)(1.0 - *(const double *)ctx), bound = aug_bound(a->dt);
  int64_t h = a->h, w = a->w, planes = a->n * a->c;
  memcpy(out, a->px, sizeof(float) * (size_t)(planes * h * w));
  if (h <= 2 || w <= 2) return TC_OK;
  const float ka = (float)(1.0 / 13.0), kb = (float)(5.0 / 13.0);
  for (int64_t p = 0; p < planes; p++) {
    const float *s = a->px + p * h * w;
    float *o = out + p * h * w;
    for (int64_t y = 1; y < h - 1; y++)
      for (int64_t x = 1; x < w - 1; x++) {
        float acc = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++) acc += s[(y + dy) * w + x + dx] * (dy == 0 && dx == 0 ? kb : ka);
        if (a->dt == TC_U8) acc = rintf(acc);
        float v = s[y * w + x];
        o[y * w + x] = fmaf(acc - v, alpha, v); /* view.add_(blurred.sub_(view), alpha=1 - factor) */
      }
    for (int64_t j = 0; j < h * w; j++) o[j] = aug_clampf(o[j], 0.0f, bound);
  }
  return TC_OK;
}

tc_tensor *tv_adjust_sharpness(const tc_tensor *img, double factor) {
  if (check_factor("tv_adjust_sharpness", "sharpness_factor", factor)) return NULL;
  return run_same_shape("tv_adjust_sharpness", img, true, k_sharpness, &factor, AUG_TRUNC);
}

/* ---- hue ---------------------------------------------------------------------------------------------------- */
/* torch.remainder for a positive divisor */
static inline float rem1(float x) {
  float m = fmodf(x, 1.0f);
  return (m != 0.0f && m < 0.0f) ? m + 1.0f : m;
}

/* _rgb_to_hsv, value for value (the masks become branches; x * 0 terms vanish) */
static void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v) {
  float maxc = fmaxf(r, fmaxf(g, b)), minc = fminf(r, fminf(g, b));
  bool eqc = maxc == minc;
  float cr = maxc - minc;
  *s = cr / (eqc ? 1.0f : maxc);
  float div = eqc ? 1.0f : cr;
  float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  float hr = maxc == r ? bc - gc : 0.0f;
  float hg = (maxc == g && maxc != r) ? (rc + 2.0f) - bc : 0.0f;
  float hb = (maxc != r && maxc != g) ? (gc + 4.0f) - rc : 0.0f;
  float hh = (hr + hg) + hb;
  *h = fmodf(hh * (float)(1.0 / 6.0) + 1.0f, 1.0f);
  *v = maxc;
}

static void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b) {
  float h6 = h * 6.0f, fi = floorf(h6), f = h6 - fi;
  int i = (int)fi % 6;
  if (i < 0) i += 6;
  float sxf = s * f, oms = 1.0f - s;
  float q = aug_clampf((1.0f - sxf) * v, 0.0f, 1.0f);
  float t = aug_clampf((sxf + oms) * v, 0.0f, 1.0f);
  float p = aug_clampf(oms * v, 0.0f, 1.0f);
  const float vpqt[4] = {v, p, q, t};
  static const int sel[3][6] = {{0, 2, 1, 1, 3, 0}, {3, 0, 0, 2, 1, 1}, {1, 1, 3, 0, 0, 2}};
  *r = vpqt[sel[0][i]], *g = vpqt[sel[1][i]], *b = vpqt[sel[2][i]];
}

static tc_status k_hue(aug_img *a, float *out, const void *ctx) {
  float hf = (float)*(const double *)ctx;
  int64_t hw = a->h * a->w;
  bool u8 = a->dt == TC_U8;
  const float to01 = (float)(1.0 / 255.0), to255 = 255.0f + 1.0f - 1e-3f;
  if (a->c == 1) {
    memcpy(out, a->px, sizeof(float) * (size_t)(a->n * hw));
    return TC_OK;
  }
  for (int64_t i = 0; i < a->n; i++) {
    const float *p = a->px + i * 3 * hw;
    float *o = out + i * 3 * hw;
    for (int64_t j = 0; j < hw; j++) {
      float r = p[j], g = p[hw + j], b = p[2 * hw + j], h, s, v;
      if (u8) r *= to01, g *= to01, b *= to01; /* to_dtype(float32, scale=True) */
      rgb_to_hsv(r, g, b, &h, &s, &v);
      h = rem1(h + hf);
      hsv_to_rgb(h, s, v, &r, &g, &b);
      if (u8) r *= to255, g *= to255, b *= to255; /* to_dtype(uint8, scale=True), truncated by the store */
      o[j] = r, o[hw + j] = g, o[2 * hw + j] = b;
    }
  }
  return TC_OK;
}

tc_tensor *tv_adjust_hue(const tc_tensor *img, double hue_factor) {
  if (!(hue_factor >= -0.5 && hue_factor <= 0.5)) {
    tc_set_error(TC_ERR_ARG, "tv_adjust_hue: hue_factor (%g) is not in [-0.5, 0.5]", hue_factor);
    return NULL;
  }
  return run_same_shape("tv_adjust_hue", img, true, k_hue, &hue_factor, AUG_TRUNC);
}

/* ---- grayscale ------------------------------------------------------------------------------------------- */
tc_tensor *tv_rgb_to_grayscale(const tc_tensor *img, int64_t num_output_channels) {
  const char *fn = "tv_rgb_to_grayscale";
  if (num_output_channels != 1 && num_output_channels != 3) {
    tc_set_error(TC_ERR_ARG, "%s: num_output_channels must be 1 or 3, got %lld", fn, (long long)num_output_channels);
    return NULL;
  }
  aug_img a;
  if (aug_load(fn, img, true, &a)) return NULL;
  int64_t hw = a.h * a.w, oc = num_output_channels;
  float *out = tc_malloc(sizeof(float) * (size_t)(a.n * oc * hw > 0 ? a.n * oc * hw : 1));
  tc_tensor *t = NULL;
  if (out) {
    for (int64_t i = 0; i < a.n; i++) {
      const float *p = a.px + i * a.c * hw;
      float *o = out + i * oc * hw;
      for (int64_t j = 0; j < hw; j++) {
        float l = a.c == 1 ? p[j] : gray_of(p[j], p[hw + j], p[2 * hw + j]);
        if (a.dt == TC_U8) l = truncf(l); /* .to(image.dtype) before the channel expand */
        for (int64_t ch = 0; ch < oc; ch++) o[ch * hw + j] = l;
      }
    }
    t = aug_store(&a, out, oc, a.h, a.w, AUG_TRUNC);
  }
  tc_free(out);
  aug_free(&a);
  return t;
}

/* ---- invert, posterize, solarize --------------------------------------------------------------------------- */
static tc_status k_invert(aug_img *a, float *out, const void *ctx) {
  (void)ctx;
  float bound = aug_bound(a->dt);
  int64_t numel = a->n * a->c * a->h * a->w;
  for (int64_t i = 0; i < numel; i++) out[i] = bound - a->px[i];
  return TC_OK;
}

tc_tensor *tv_invert(const tc_tensor *img) {
  return run_same_shape("tv_invert", img, false, k_invert, NULL, AUG_TRUNC);
}

static tc_status k_posterize(aug_img *a, float *out, const void *ctx) {
  int64_t bits = *(const int64_t *)ctx, numel = a->n * a->c * a->h * a->w;
  if (a->dt == TC_U8) {
    unsigned mask = bits >= 8 ? 0xffu : ((1u << bits) - 1u) << (8 - bits);
    for (int64_t i = 0; i < numel; i++) out[i] = (float)((unsigned)a->px[i] & mask);
    return TC_OK;
  }
  float levels = (float)(1 << bits), inv = (float)(1.0 / (double)(1 << bits));
  for (int64_t i = 0; i < numel; i++) out[i] = aug_clampf(floorf(a->px[i] * levels), 0.0f, levels - 1.0f) * inv;
  return TC_OK;
}

tc_tensor *tv_posterize(const tc_tensor *img, int64_t bits) {
  if (bits < 0 || bits > 8) {
    tc_set_error(TC_ERR_ARG, "tv_posterize: bits must be in [0, 8], got %lld", (long long)bits);
    return NULL;
  }
  return run_same_shape("tv_posterize", img, false, k_posterize, &bits, AUG_TRUNC);
}

static tc_status k_solarize(aug_img *a, float *out, const void *ctx) {
  float thr = (float)*(const double *)ctx, bound = aug_bound(a->dt);
  int64_t numel = a->n * a->c * a->h * a->w;
  for (int64_t i = 0; i < numel; i++) out[i] = a->px[i] >= thr ? bound - a->px[i] : a->px[i];
  return TC_OK;
}

tc_tensor *tv_solarize(const tc_tensor *img, double threshold) {
  if (img && threshold > (tc_tensor_dtype(img) == TC_U8 ? 255.0 : 1.0)) {
    tc_set_error(TC_ERR_ARG, "tv_solarize: threshold (%g) exceeds the maximum value of %s images", threshold,
                 tc_dtype_name(tc_tensor_dtype(img)));
    return NULL;
  }
  return run_same_shape("tv_solarize", img, false, k_solarize, &threshold, AUG_TRUNC);
}

/* ---- autocontrast ------------------------------------------------------------------------------------------- */
static tc_status k_autocontrast(aug_img *a, float *out, const void *ctx) {
  (void)ctx;
  float bound = aug_bound(a->dt), inv_bound = (float)(1.0 / (double)bound);
  int64_t hw = a->h * a->w;
  for (int64_t p = 0; p < a->n * a->c; p++) {
    const float *s = a->px + p * hw;
    float *o = out + p * hw, mn = INFINITY, mx = -INFINITY;
    for (int64_t j = 0; j < hw; j++) mn = fminf(mn, s[j]), mx = fmaxf(mx, s[j]);
    float inv_scale = (mx - mn) * inv_bound;
    if (mx == mn) mn = 0.0f, inv_scale = 1.0f;
    for (int64_t j = 0; j < hw; j++) o[j] = aug_clampf((s[j] - mn) / inv_scale, 0.0f, bound);
  }
  return TC_OK;
}

tc_tensor *tv_autocontrast(const tc_tensor *img) {
  return run_same_shape("tv_autocontrast", img, true, k_autocontrast, NULL, AUG_TRUNC);
}

/* ---- equalize ------------------------------------------------------------------------------------------------- */
/* One uint8 plane q (hw values) through PIL's equalisation LUT into o. */
static void equalize_plane(const uint8_t *q, int64_t hw, uint8_t *o) {
  int64_t hist[256] = {0}, cum[256];
  for (int64_t j = 0; j < hw; j++) hist[q[j]]++;
  int64_t acc = 0, last = 0;
  for (int k = 0; k < 256; k++) {
    acc += hist[k];
    cum[k] = acc;
    if (hist[k]) last = k; /* the first bin where the cumulative histogram reaches its maximum */
  }
  int64_t step = (hw - hist[last]) / 255;
  if (step == 0) { /* nothing to equalise: the plane as it is */
    memcpy(o, q, (size_t)hw);
    return;
  }
  uint8_t lut[256];
  lut[0] = 0;
  for (int k = 1; k < 256; k++) {
    int64_t v = (cum[k - 1] + step / 2) / step;
    lut[k] = (uint8_t)(v > 255 ? 255 : v);
  }
  for (int64_t j = 0; j < hw; j++) o[j] = lut[q[j]];
}

static tc_status k_equalize(aug_img *a, float *out, const void *ctx) {
  (void)ctx;
  int64_t hw = a->h * a->w;
  uint8_t *q = tc_malloc((size_t)(2 * hw > 0 ? 2 * hw : 1));
  if (!q) return tc_last_status();
  const float to255 = 255.0f + 1.0f - 1e-3f, to01 = (float)(1.0 / 255.0);
  for (int64_t p = 0; p < a->n * a->c; p++) {
    const float *s = a->px + p * hw;
    for (int64_t j = 0; j < hw; j++) /* to_dtype(uint8, scale=True) for float images */
      q[j] = (uint8_t)(a->dt == TC_U8 ? s[j] : aug_clampf(truncf(s[j] * to255), 0.0f, 255.0f));
    equalize_plane(q, hw, q + hw);
    for (int64_t j = 0; j < hw; j++) out[p * hw + j] = a->dt == TC_U8 ? (float)q[hw + j] : (float)q[hw + j] * to01;
  }
  tc_free(q);
  return TC_OK;
}

tc_tensor *tv_equalize(const tc_tensor *img) {
  return run_same_shape("tv_equalize", img, false, k_equalize, NULL, AUG_TRUNC);
}

/* ---- gaussian blur ------------------------------------------------------------------------------------------ */
typedef struct {
  int64_t kx, ky;
  double sx, sy;
} blur_args;

/* _get_gaussian_kernel1d in float32: softmax(-(linspace(-lim, lim, k) / sigma)^2) */
static void gaussian_kernel1d(int64_t k, double sigma, float *out) {
  float lim = (float)((double)(k - 1) / (2.0 * sqrt(2.0))), s = (float)sigma, mx = -INFINITY;
  for (int64_t i = 0; i < k; i++) {
    float x = aug_linspace_f32(-lim, lim, k, i) / s;
    out[i] = -(x * x);
    mx = fmaxf(mx, out[i]);
  }
  float sum = 0;
  for (int64_t i = 0; i < k; i++) sum += out[i] = expf(out[i] - mx);
  for (int64_t i = 0; i < k; i++) out[i] /= sum;
}

/* reflect index (no edge repeat), valid for |overshoot| < n */
static inline int64_t reflect(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

static tc_status k_blur(aug_img *a, float *out, const void *ctx) {
  const blur_args *b = ctx;
  int64_t h = a->h, w = a->w, rx = b->kx / 2, ry = b->ky / 2;
  float *kx = tc_malloc(sizeof(float) * (size_t)(b->kx + b->ky + b->kx * b->ky));
  if (!kx) return tc_last_status();
  float *ky = kx + b->kx, *k2 = ky + b->ky;
  gaussian_kernel1d(b->kx, b->sx, kx);
  gaussian_kernel1d(b->ky, b->sy, ky);
  for (int64_t i = 0; i < b->ky; i++)
    for (int64_t j = 0; j < b->kx; j++) k2[i * b->kx + j] = ky[i] * kx[j];
  for (int64_t p = 0; p < a->n * a->c; p++) {
    const float *s = a->px + p * h * w;
    float *o = out + p * h * w;
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        float acc = 0;
        for (int64_t i = 0; i < b->ky; i++) {
          const float *row = s + reflect(y + i - ry, h) * w;
          for (int64_t j = 0; j < b->kx; j++) acc += row[reflect(x + j - rx, w)] * k2[i * b->kx + j];
        }
        o[y * w + x] = acc;
      }
  }
  tc_free(kx);
  return TC_OK;
}

tc_tensor *tv_gaussian_blur(const tc_tensor *img, int64_t kernel_x, int64_t kernel_y, double sigma_x, double sigma_y) {
  const char *fn = "tv_gaussian_blur";
  if (kernel_x <= 0 || kernel_y <= 0 || kernel_x % 2 == 0 || kernel_y % 2 == 0) {
    tc_set_error(TC_ERR_ARG, "%s: kernel sizes must be odd and positive, got [%lld, %lld]", fn, (long long)kernel_x,
                 (long long)kernel_y);
    return NULL;
  }
  blur_args b = {kernel_x, kernel_y, sigma_x > 0 ? sigma_x : (double)kernel_x * 0.15 + 0.35,
                 sigma_y > 0 ? sigma_y : (double)kernel_y * 0.15 + 0.35};
  if (img && tc_tensor_ndim(img) >= 3) {
    int64_t h = tc_tensor_size(img, -2), w = tc_tensor_size(img, -1);
    if (h * w > 0 && (kernel_x / 2 >= w || kernel_y / 2 >= h)) {
      tc_set_error(TC_ERR_SHAPE, "%s: reflect padding of [%lld, %lld] needs an image larger than that, got %lld x %lld",
                   fn, (long long)(kernel_x / 2), (long long)(kernel_y / 2), (long long)h, (long long)w);
      return NULL;
    }
  }
  return run_same_shape(fn, img, false, k_blur, &b, AUG_ROUND);
}
