/* vision/src/ops_roi.c — roi_align and roi_pool, as torchvision's CPU kernels.
 *
 * Both take input (B, C, H, W) and rois (K, 5) = (batch index, x1, y1, x2, y2) and produce
 * (K, C, PH, PW). The arithmetic is done in the input's dtype in torchvision's order (bin geometry,
 * sample positions, bilinear weights, accumulation), so float32 results agree to the last bits in
 * nearly every element. roi_align's gradient comes from a second formulation made of differentiable
 * core ops (see tv_roi_align in the header).
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "ctorch/vision_ops.h"
#include "ops_common.h"

/* ---- argument checks --------------------------------------------------------------------------- */

static tc_status check_roi_args(const char *fn, const tc_tensor *input, const tc_tensor *rois, int64_t ph,
                                int64_t pw) {
  if (!input || !rois) return tc_last_status() ? tc_last_status() : tc_set_error(TC_ERR_ARG, "%s: NULL tensor", fn);
  tc_dtype d = tc_tensor_dtype(input);
  if (tc_tensor_ndim(input) != 4) return tc_set_error(TC_ERR_SHAPE, "%s: input must be (B, C, H, W), got %lld dims",
                                                      fn, (long long)tc_tensor_ndim(input));
  if (d != TC_F32 && d != TC_F64)
    return tc_set_error(TC_ERR_DTYPE, "%s: input must be float32 or float64, got %s", fn, tc_dtype_name(d));
  if (tc_tensor_ndim(rois) != 2 || tc_tensor_shape(rois)[1] != 5)
    return tc_set_error(TC_ERR_SHAPE, "%s: rois must be (K, 5) rows (batch index, x1, y1, x2, y2)", fn);
  if (tc_tensor_dtype(rois) != d)
    return tc_set_error(TC_ERR_DTYPE, "%s: rois are %s but input is %s", fn, tc_dtype_name(tc_tensor_dtype(rois)),
                        tc_dtype_name(d));
  if (ph <= 0 || pw <= 0)
    return tc_set_error(TC_ERR_ARG, "%s: output size (%lld, %lld) must be positive", fn, (long long)ph, (long long)pw);
  return TC_OK;
}

/* rois as doubles (exact for f32/f64) with batch indices checked; tc_malloc'd, NULL on error */
static double *load_rois(const char *fn, const tc_tensor *rois, int64_t batch) {
  int64_t k = tc_tensor_shape(rois)[0];
  double *r = tc_malloc((size_t)(k ? k : 1) * 5 * sizeof *r);
  tc_tensor *d = r ? tc_to_dtype(rois, TC_F64) : NULL;
  if (!d || tc_tensor_copy_to_buffer(d, r, (size_t)k * 5 * sizeof *r)) goto fail;
  for (int64_t i = 0; i < k; i++) {
    double b = r[5 * i];
    if (!(b >= 0 && (int64_t)b < batch)) { /* torchvision truncates the index to int */
      tc_set_error(TC_ERR_ARG, "%s: roi %lld has batch index %g outside [0, %lld)", fn, (long long)i, b,
                   (long long)batch);
      goto fail;
    }
  }
  tc_tensor_release(d);
  return r;
fail:
  tc_tensor_release(d);
  tc_free(r);
  return NULL;
}

/* ---- roi_align geometry -----------------------------------------------------------------------------
 * For one roi: its bins' sample points, each with four corner offsets (y * W + x into one channel
 * plane) and bilinear weights, torchvision's pre_calc_for_bilinear_interpolate. pos/wt hold
 * PH * PW * gh * gw * 4 entries, ordered (ph, pw, iy, ix, corner). */
#define DEFINE_ROI_ALIGN(T, SUF, CEIL)                                                                          \
  typedef struct {                                                                                              \
    T start_h, start_w, bin_h, bin_w;                                                                           \
    int gh, gw;                                                                                                 \
  } geom_##SUF;                                                                                                 \
                                                                                                                \
  static geom_##SUF roi_geom_##SUF(const double *r, T scale, int64_t PH, int64_t PW, int64_t sr, bool aligned) { \
    geom_##SUF g;                                                                                               \
    T off = aligned ? (T)0.5 : (T)0.0;                                                                          \
    g.start_w = (T)r[1] * scale - off;                                                                          \
    g.start_h = (T)r[2] * scale - off;                                                                          \
    T end_w = (T)r[3] * scale - off, end_h = (T)r[4] * scale - off;                                             \
    T rw = end_w - g.start_w, rh = end_h - g.start_h;                                                           \
    if (!aligned) { /* legacy: rois at least one pixel */                                                     \
      rw = rw > (T)1 ? rw : (T)1;                                                                               \
      rh = rh > (T)1 ? rh : (T)1;                                                                               \
    }                                                                                                           \
    g.bin_h = rh / (T)PH;                                                                                       \
    g.bin_w = rw / (T)PW;                                                                                       \
    g.gh = sr > 0 ? (int)sr : (int)CEIL(rh / (T)PH);                                                            \
    g.gw = sr > 0 ? (int)sr : (int)CEIL(rw / (T)PW);                                                            \
    g.gh = g.gh > 0 ? g.gh : 0; /* an inverted aligned roi samples nothing (output 0, as torchvision) */        \
    g.gw = g.gw > 0 ? g.gw : 0;                                                                                 \
    return g;                                                                                                   \
  }                                                                                                             \
                                                                                                                \
  static void precalc_##SUF(const geom_##SUF *g, int64_t H, int64_t W, int64_t PH, int64_t PW, int64_t *pos,    \
                            T *wt) {                                                                            \
    int64_t k = 0;                                                                                              \
    for (int64_t ph = 0; ph < PH; ph++)                                                                         \
      for (int64_t pw = 0; pw < PW; pw++)                                                                       \
        for (int iy = 0; iy < g->gh; iy++) {                                                                    \
          T yy = g->start_h + (T)ph * g->bin_h + (T)(iy + .5f) * g->bin_h / (T)g->gh;                           \
          for (int ix = 0; ix < g->gw; ix++, k += 4) {                                                          \
            T x = g->start_w + (T)pw * g->bin_w + (T)(ix + .5f) * g->bin_w / (T)g->gw, y = yy;                  \
            if (y < -1.0 || y > H || x < -1.0 || x > W) { /* outside: contributes 0 */                          \
              memset(pos + k, 0, 4 * sizeof *pos);                                                              \
              wt[k] = wt[k + 1] = wt[k + 2] = wt[k + 3] = 0;                                                    \
              continue;                                                                                         \
            }                                                                                                   \
            if (y <= 0) y = 0;                                                                                  \
            if (x <= 0) x = 0;                                                                                  \
            int64_t y_lo = (int64_t)y, x_lo = (int64_t)x, y_hi, x_hi;                                           \
            if (y_lo >= H - 1) y_hi = y_lo = H - 1, y = (T)y_lo;                                                \
            else y_hi = y_lo + 1;                                                                               \
            if (x_lo >= W - 1) x_hi = x_lo = W - 1, x = (T)x_lo;                                                \
            else x_hi = x_lo + 1;                                                                               \
            T ly = y - (T)y_lo, lx = x - (T)x_lo, hy = (T)1 - ly, hx = (T)1 - lx;                               \
            pos[k] = y_lo * W + x_lo, pos[k + 1] = y_lo * W + x_hi;                                             \
            pos[k + 2] = y_hi * W + x_lo, pos[k + 3] = y_hi * W + x_hi;                                         \
            wt[k] = hy * hx, wt[k + 1] = hy * lx, wt[k + 2] = ly * hx, wt[k + 3] = ly * lx;                     \
          }                                                                                                     \
        }                                                                                                       \
  }                                                                                                             \
                                                                                                                \
  /* out (K, C, PH, PW) from x (B, C, H, W) contiguous; pos/wt scratch for the largest roi grid */             \
  static void roi_align_fwd_##SUF(const T *x, const double *rois, int64_t K, int64_t C, int64_t H, int64_t W,   \
                                  int64_t PH, int64_t PW, T scale, int64_t sr, bool aligned, int64_t *pos,      \
                                  T *wt, T *out) {                                                              \
    for (int64_t n = 0; n < K; n++) {                                                                           \
      const double *r = rois + 5 * n;                                                                           \
      geom_##SUF g = roi_geom_##SUF(r, scale, PH, PW, sr, aligned);                                             \
      precalc_##SUF(&g, H, W, PH, PW, pos, wt);                                                                 \
      T count = (T)(g.gh * g.gw > 1 ? g.gh * g.gw : 1);                                                         \
      int64_t ns = (int64_t)g.gh * g.gw;                                                                        \
      for (int64_t c = 0; c < C; c++) {                                                                         \
        const T *plane = x + ((int64_t)r[0] * C + c) * H * W;                                                   \
        T *o = out + (n * C + c) * PH * PW;                                                                     \
        for (int64_t b = 0, k = 0; b < PH * PW; b++) {                                                          \
          T acc = 0;                                                                                            \
          for (int64_t s = 0; s < ns; s++, k += 4)                                                              \
            acc += wt[k] * plane[pos[k]] + wt[k + 1] * plane[pos[k + 1]] + wt[k + 2] * plane[pos[k + 2]] +      \
                   wt[k + 3] * plane[pos[k + 3]];                                                               \
          o[b] = acc / count;                                                                                   \
        }                                                                                                       \
      }                                                                                                         \
    }                                                                                                           \
  }

DEFINE_ROI_ALIGN(float, f32, ceilf)
DEFINE_ROI_ALIGN(double, f64, ceil)

/* the largest sample grid (gh * gw) over the rois, to size the scratch buffers */
static int64_t max_grid(const double *rois, int64_t K, bool f32, double scale, int64_t PH, int64_t PW, int64_t sr,
                        bool aligned) {
  int64_t m = 1;
  for (int64_t n = 0; n < K; n++) {
    int64_t s;
    if (f32) {
      geom_f32 g = roi_geom_f32(rois + 5 * n, (float)scale, PH, PW, sr, aligned);
      s = (int64_t)g.gh * g.gw;
    } else {
      geom_f64 g = roi_geom_f64(rois + 5 * n, scale, PH, PW, sr, aligned);
      s = (int64_t)g.gh * g.gw;
    }
    if (s > m) m = s;
  }
  return m;
}

/* Composite, differentiable form: out[k, c, bin] = sum over samples and corners of w * x[b_k, c, pos]
 * as index_select over the (B * H * W, C) rows of x, a weighted sum, and a permute. */
static tc_tensor *roi_align_autograd(const tc_tensor *input, const double *rois, int64_t K, int64_t PH, int64_t PW,
                                     double scale, int64_t sr, bool aligned, int64_t S) {
  const int64_t *sz = tc_tensor_shape(input);
  int64_t B = sz[0], C = sz[1], H = sz[2], W = sz[3], L = K * PH * PW * S * 4;
  int64_t *idx = tc_calloc((size_t)L * sizeof *idx), *pos = tc_malloc((size_t)PH * PW * S * 4 * sizeof *pos);
  double *w = tc_calloc((size_t)L * sizeof *w), *wt = tc_malloc((size_t)PH * PW * S * 4 * sizeof *wt);
  tc_tensor *r = NULL;
  if (!idx || !pos || !w || !wt) goto done;
  for (int64_t n = 0; n < K; n++) {
    geom_f64 g = roi_geom_f64(rois + 5 * n, scale, PH, PW, sr, aligned);
    precalc_f64(&g, H, W, PH, PW, pos, wt);
    int64_t ns = (int64_t)g.gh * g.gw;
    double count = (double)(ns > 1 ? ns : 1);
    for (int64_t b = 0; b < PH * PW; b++)
      for (int64_t j = 0; j < ns * 4; j++) {
        int64_t o = ((n * PH * PW + b) * S) * 4 + j, src = b * ns * 4 + j;
        idx[o] = (int64_t)rois[5 * n] * H * W + pos[src];
        w[o] = wt[src] / count;
      }
  }
  tc_scope_push();
  tc_tensor *it = tc_tensor_from_data(idx, (const int64_t[]){L}, 1, TC_I64);
  tc_tensor *wd = tc_tensor_from_data(w, (const int64_t[]){L, 1}, 2, TC_F64);
  tc_tensor *wc = wd ? tc_to_dtype(wd, tc_tensor_dtype(input)) : NULL;
  tc_tensor *rows = tc_reshape(tc_permute(input, (const int64_t[]){0, 2, 3, 1}, 4), (const int64_t[]){B * H * W, C}, 2);
  tc_tensor *g = tc_mul(tc_index_select(rows, 0, it), wc); /* (L, C) */
  tc_tensor *s = tc_sum(tc_reshape(g, (const int64_t[]){K, PH, PW, S * 4, C}, 5), (const int64_t[]){3}, 1, false);
  r = tv__scope_return(tc_contiguous(tc_permute(s, (const int64_t[]){0, 3, 1, 2}, 4)));
done:
  tc_free(idx), tc_free(pos), tc_free(w), tc_free(wt);
  return r;
}

tc_tensor *tv_roi_align(const tc_tensor *input, const tc_tensor *rois, int64_t PH, int64_t PW, double spatial_scale,
                        int64_t sampling_ratio, bool aligned) {
  if (check_roi_args("tv_roi_align", input, rois, PH, PW)) return NULL;
  const int64_t *sz = tc_tensor_shape(input);
  int64_t B = sz[0], C = sz[1], H = sz[2], W = sz[3], K = tc_tensor_shape(rois)[0];
  bool f32 = tc_tensor_dtype(input) == TC_F32;
  double *r = load_rois("tv_roi_align", rois, B);
  if (!r) return NULL;
  int64_t S = max_grid(r, K, f32, spatial_scale, PH, PW, sampling_ratio, aligned);
  tc_tensor *out = NULL;
  if (K > 0 && H > 0 && W > 0 && tc_is_grad_enabled() && tc_tensor_requires_grad(input)) {
    out = roi_align_autograd(input, r, K, PH, PW, spatial_scale, sampling_ratio, aligned, S);
    tc_free(r);
    return out;
  }
  size_t esz = f32 ? sizeof(float) : sizeof(double);
  int64_t *pos = tc_malloc((size_t)PH * PW * S * 4 * sizeof *pos);
  void *wt = tc_malloc((size_t)PH * PW * S * 4 * esz);
  tc_tensor *x = tc_contiguous(input);
  const int64_t shape[4] = {K, C, PH, PW};
  out = (pos && wt && x) ? tc_zeros(shape, 4, TC_OPTS(.dtype = tc_tensor_dtype(input))) : NULL;
  if (out && H > 0 && W > 0) {
    if (f32)
      roi_align_fwd_f32(tc_tensor_data(x), r, K, C, H, W, PH, PW, (float)spatial_scale, sampling_ratio, aligned, pos,
                        wt, tc_tensor_data(out));
    else
      roi_align_fwd_f64(tc_tensor_data(x), r, K, C, H, W, PH, PW, spatial_scale, sampling_ratio, aligned, pos, wt,
                        tc_tensor_data(out));
  }
  tc_tensor_release(x);
  tc_free(pos), tc_free(wt), tc_free(r);
  return out;
}

/* ---- roi_pool ------------------------------------------------------------------------------------------ */
#define DEFINE_ROI_POOL(T, SUF, ROUND, FLOOR, CEIL)                                                           \
  static void roi_pool_fwd_##SUF(const T *x, const double *rois, int64_t K, int64_t C, int64_t H, int64_t W, \
                                 int64_t PH, int64_t PW, T scale, T *out, int64_t *amax) {                  \
    for (int64_t n = 0; n < K; n++) {                                                                       \
      const double *r = rois + 5 * n;                                                                       \
      int64_t sw = (int64_t)ROUND((T)r[1] * scale), sh = (int64_t)ROUND((T)r[2] * scale);                   \
      int64_t ew = (int64_t)ROUND((T)r[3] * scale), eh = (int64_t)ROUND((T)r[4] * scale);                   \
      int64_t rw = ew - sw + 1 > 1 ? ew - sw + 1 : 1, rh = eh - sh + 1 > 1 ? eh - sh + 1 : 1;               \
      T bh = (T)rh / (T)PH, bw = (T)rw / (T)PW;                                                             \
      for (int64_t ph = 0; ph < PH; ph++)                                                                   \
        for (int64_t pw = 0; pw < PW; pw++) {                                                               \
          int64_t hs = (int64_t)FLOOR((T)ph * bh) + sh, ws = (int64_t)FLOOR((T)pw * bw) + sw;               \
          int64_t he = (int64_t)CEIL((T)(ph + 1) * bh) + sh, we = (int64_t)CEIL((T)(pw + 1) * bw) + sw;     \
          hs = hs < 0 ? 0 : hs > H ? H : hs, he = he < 0 ? 0 : he > H ? H : he;                             \
          ws = ws < 0 ? 0 : ws > W ? W : ws, we = we < 0 ? 0 : we > W ? W : we;                             \
          bool empty = he <= hs || we <= ws;                                                                \
          for (int64_t c = 0; c < C; c++) {                                                                 \
            const T *plane = x + ((int64_t)r[0] * C + c) * H * W;                                          \
            T m = empty ? (T)0 : (T)-FLT_MAX;                                                               \
            int64_t mi = -1;                                                                                \
            for (int64_t h = hs; h < he; h++)                                                               \
              for (int64_t w = ws; w < we; w++)                                                             \
                if (plane[h * W + w] > m) m = plane[h * W + w], mi = h * W + w;                             \
            int64_t o = ((n * C + c) * PH + ph) * PW + pw;                                                  \
            out[o] = m;                                                                                     \
            amax[o] = mi;                                                                                   \
          }                                                                                                 \
        }                                                                                                   \
    }                                                                                                       \
  }
DEFINE_ROI_POOL(float, f32, roundf, floorf, ceilf)
DEFINE_ROI_POOL(double, f64, round, floor, ceil)

/* Composite, differentiable form of a computed roi_pool: out[k, c, bin] = x[b_k, c, argmax] as an
 * index_select over the flattened input (its backward adds grad_out at the argmax pixels, as
 * torchvision's roi_pool backward does), and out's own value where a bin has no maximum (argmax -1).
 * Same values as `out`. */
static tc_tensor *roi_pool_autograd(const tc_tensor *input, const double *rois, const tc_tensor *am,
                                    const tc_tensor *out) {
  const int64_t *sz = tc_tensor_shape(input), *os = tc_tensor_shape(am);
  int64_t C = sz[1], HW = sz[2] * sz[3], K = os[0], per = os[1] * os[2] * os[3], L = K * per;
  tc_scope_push();
  tc_tensor *idx = tc_empty((const int64_t[]){L}, 1, TC_OPTS(.dtype = TC_I64));
  tc_tensor *keep = tc_empty((const int64_t[]){L}, 1, TC_OPTS(.dtype = TC_BOOL));
  if (!idx || !keep) return tv__scope_return(NULL);
  const int64_t *a = tc_tensor_data(am);
  int64_t *ix = tc_tensor_data(idx);
  bool *kp = tc_tensor_data(keep);
  for (int64_t n = 0; n < K; n++)
    for (int64_t e = 0; e < per; e++) {
      int64_t o = n * per + e, c = e / (per / C);
      kp[o] = a[o] >= 0;
      ix[o] = kp[o] ? ((int64_t)rois[5 * n] * C + c) * HW + a[o] : 0;
    }
  tc_tensor *flat = tc_reshape(input, (const int64_t[]){-1}, 1);
  tc_tensor *v = flat && tc_tensor_numel(flat) > 0 ? tc_index_select(flat, 0, idx) : NULL;
  /* bins without a maximum keep the kernel's value: 0 when empty, -FLT_MAX when all -inf or NaN */
  tc_tensor *rest = v ? tc_reshape(out, (const int64_t[]){-1}, 1) : NULL;
  tc_tensor *r = rest ? tc_where(keep, v, rest) : NULL;
  return tv__scope_return(r ? tc_reshape(r, os, 4) : NULL);
}

tc_tensor *tv_roi_pool(const tc_tensor *input, const tc_tensor *rois, int64_t PH, int64_t PW, double spatial_scale,
                       tc_tensor **argmax) {
  if (argmax) *argmax = NULL;
  if (check_roi_args("tv_roi_pool", input, rois, PH, PW)) return NULL;
  const int64_t *sz = tc_tensor_shape(input);
  int64_t B = sz[0], C = sz[1], H = sz[2], W = sz[3], K = tc_tensor_shape(rois)[0];
  double *r = load_rois("tv_roi_pool", rois, B);
  if (!r) return NULL;
  const int64_t shape[4] = {K, C, PH, PW};
  tc_tensor *x = tc_contiguous(input);
  tc_tensor *out = x ? tc_empty(shape, 4, TC_OPTS(.dtype = tc_tensor_dtype(input))) : NULL;
  tc_tensor *am = out ? tc_empty(shape, 4, TC_OPTS(.dtype = TC_I64)) : NULL;
  if (am) {
    if (tc_tensor_dtype(input) == TC_F32)
      roi_pool_fwd_f32(tc_tensor_data(x), r, K, C, H, W, PH, PW, (float)spatial_scale, tc_tensor_data(out),
                       tc_tensor_data(am));
    else
      roi_pool_fwd_f64(tc_tensor_data(x), r, K, C, H, W, PH, PW, spatial_scale, tc_tensor_data(out),
                       tc_tensor_data(am));
  } else {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor_release(x);
  if (out && K > 0 && H > 0 && W > 0 && C > 0 && tc_is_grad_enabled() && tc_tensor_requires_grad(input)) {
    tc_tensor *d = roi_pool_autograd(input, r, am, out);
    tc_tensor_release(out);
    out = d;
  }
  tc_free(r);
  if (out && argmax) *argmax = am;
  else tc_tensor_release(am);
  return out;
}

tc_tensor *tv_boxes_to_rois(const tc_tensor *const *boxes, int64_t n) {
  if (!boxes || n <= 0) {
    tc_set_error(TC_ERR_ARG, "tv_boxes_to_rois: need at least one box tensor (got %lld)", (long long)n);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (tv__check_boxes("tv_boxes_to_rois", "boxes[i]", boxes[i], true)) return NULL;
  tc_scope_push();
  tc_tensor **parts = tc_malloc((size_t)n * sizeof *parts);
  tc_tensor *r = NULL;
  if (parts) {
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
      /* (Ki, 1) filled with i, then (Ki, 5) = [i, box] */
      tc_tensor *id = tc_full((const int64_t[]){tc_tensor_shape(boxes[i])[0], 1}, 2, (double)i,
                              TC_OPTS(.dtype = tc_tensor_dtype(boxes[i])));
      parts[i] = id ? tc_cat((const tc_tensor *const[]){id, boxes[i]}, 2, 1) : NULL;
      ok = parts[i] != NULL;
    }
    if (ok) r = tc_cat((const tc_tensor *const *)parts, n, 0);
    tc_free(parts);
  }
  return tv__scope_return(r);
}
