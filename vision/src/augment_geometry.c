/* vision/src/augment_geometry.c — affine, rotate, perspective and elastic warps on the grids
 * torchvision builds, sampled as torch.nn.functional.grid_sample(align_corners=False,
 * padding_mode="zeros") and filled as torchvision's _apply_grid_transform.
 *
 * A grid is (oh, ow, 2) float32 normalised coordinates in [-1, 1] (x then y), computed in float32
 * with torchvision's formulas so that sample positions match to the last bit or so.
 */
#include <string.h>
#include "augment_internal.h"

/* ---- grid sampling ---------------------------------------------------------------------------------------- */
/* Samples plane s (h x w) at grid g (oh * ow * 2) into o; mask (may be NULL) receives the sampled
 * all-ones plane (the coverage torchvision's fill uses). */
static void sample_plane(const float *s, int64_t h, int64_t w, const float *g, int64_t ohw, tv_interp interp, float *o,
                         float *mask) {
  const float sx = (float)w * 0.5f, sy = (float)h * 0.5f;
  for (int64_t k = 0; k < ohw; k++) {
    /* unnormalize: ((coord + 1) * size - 1) / 2, written as ATen's vectorised (coord + 1) * size/2 - 0.5 */
    float x = (g[2 * k] + 1.0f) * sx - 0.5f, y = (g[2 * k + 1] + 1.0f) * sy - 0.5f;
    if (interp == TV_INTERP_NEAREST) {
      float xr = rintf(x), yr = rintf(y);
      bool in = xr >= 0 && xr < (float)w && yr >= 0 && yr < (float)h;
      o[k] = in ? s[(int64_t)yr * w + (int64_t)xr] : 0.0f;
      if (mask) mask[k] = in ? 1.0f : 0.0f;
      continue;
    }
    float x0 = floorf(x), y0 = floorf(y);
    float we = x - x0, ww = 1.0f - we, ws = y - y0, wn = 1.0f - ws; /* weights of the east/west, south/north taps */
    int64_t ix = (int64_t)x0, iy = (int64_t)y0;
    float wts[4] = {wn * ww, wn * we, ws * ww, ws * we};
    int64_t xs[4] = {ix, ix + 1, ix, ix + 1}, ys[4] = {iy, iy, iy + 1, iy + 1};
    float acc = 0, m = 0;
    for (int t = 0; t < 4; t++) {
      if (xs[t] < 0 || xs[t] >= w || ys[t] < 0 || ys[t] >= h) continue;
      acc += wts[t] * s[ys[t] * w + xs[t]];
      m += wts[t];
    }
    o[k] = acc;
    if (mask) mask[k] = m;
  }
}

static tc_status check_fill(const char *fn, const tv_fill *fill, int64_t c) {
  if (fill->n < 0 || fill->n > TV_FILL_MAX || (fill->n > 1 && fill->n != c))
    return tc_set_error(TC_ERR_ARG, "%s: fill has %lld values, the image %lld channels (use 1 or C values)", fn,
                        (long long)fill->n, (long long)c);
  return TC_OK;
}

/* Warps every image of img through grid (oh, ow, 2) with fill, as _apply_grid_transform. */
static tc_tensor *apply_grid(const char *fn, aug_img *a, const float *grid, int64_t oh, int64_t ow, tv_interp interp,
                             const tv_fill *fill) {
  if (interp != TV_INTERP_NEAREST && interp != TV_INTERP_BILINEAR) {
    tc_set_error(TC_ERR_ARG, "%s: interpolation must be nearest or bilinear, got %d", fn, (int)interp);
    return NULL;
  }
  if (check_fill(fn, fill, a->c)) return NULL;
  int64_t ohw = oh * ow, planes = a->n * a->c;
  float *out = tc_malloc(sizeof(float) * (size_t)((planes + 1) * ohw > 0 ? (planes + 1) * ohw : 1));
  if (!out) return NULL;
  float *mask = out + planes * ohw;
  for (int64_t p = 0; p < planes; p++)
    sample_plane(a->px + p * a->h * a->w, a->h, a->w, grid, ohw, interp, out + p * ohw, p == 0 ? mask : NULL);
  if (fill->n > 0) {
    for (int64_t p = 0; p < planes; p++) {
      float fv = (float)fill->v[fill->n == 1 ? 0 : p % a->c], *o = out + p * ohw;
      for (int64_t k = 0; k < ohw; k++) {
        if (interp == TV_INTERP_NEAREST)
          o[k] = mask[k] < 0.5f ? fv : o[k];
        else
          o[k] = (o[k] - fv) * mask[k] + fv;
      }
    }
  }
  tc_tensor *t = aug_store(a, out, a->c, oh, ow, AUG_ROUND);
  tc_free(out);
  return t;
}

/* ---- affine grids ---------------------------------------------------------------------------------------------- */
/* _affine_grid(theta, w, h, ow, oh) in float32 */
static float *affine_grid(const double m[6], int64_t w, int64_t h, int64_t ow, int64_t oh) {
  float *g = tc_malloc(sizeof(float) * (size_t)(2 * ow * oh > 0 ? 2 * ow * oh : 1));
  if (!g) return NULL;
  float hw = 0.5f * (float)w, hh = 0.5f * (float)h;
  float t[6];
  for (int i = 0; i < 6; i++) t[i] = (float)m[i];
  /* rescaled_theta = theta^T / [0.5 w, 0.5 h]: x uses row 0 over 0.5 w, y row 1 over 0.5 h */
  float r0[3] = {t[0] / hw, t[1] / hw, t[2] / hw}, r1[3] = {t[3] / hh, t[4] / hh, t[5] / hh};
  for (int64_t i = 0; i < oh; i++) {
    float by = aug_linspace_f32((1.0f - (float)oh) * 0.5f, ((float)oh - 1.0f) * 0.5f, oh, i);
    for (int64_t j = 0; j < ow; j++) {
      float bx = aug_linspace_f32((1.0f - (float)ow) * 0.5f, ((float)ow - 1.0f) * 0.5f, ow, j);
      g[2 * (i * ow + j)] = bx * r0[0] + by * r0[1] + r0[2];
      g[2 * (i * ow + j) + 1] = bx * r1[0] + by * r1[1] + r1[2];
    }
  }
  return g;
}

static tc_tensor *warp_affine(const char *fn, aug_img *a, const double m[6], int64_t ow, int64_t oh, tv_interp interp,
                              const tv_fill *fill) {
  float *g = affine_grid(m, a->w, a->h, ow, oh);
  if (!g) return NULL;
  tc_tensor *t = apply_grid(fn, a, g, oh, ow, interp, fill);
  tc_free(g);
  return t;
}

tc_tensor *tv_affine(const tc_tensor *img, double angle, double translate_x, double translate_y, double scale,
                     double shear_x, double shear_y, tv_interp interp, tv_fill fill, const double *center) {
  const char *fn = "tv_affine";
  if (!(scale > 0)) {
    tc_set_error(TC_ERR_ARG, "%s: scale should be positive, got %g", fn, scale);
    return NULL;
  }
  aug_img a;
  if (aug_load(fn, img, false, &a)) return NULL;
  double cx = 0, cy = 0; /* pixel center relative to the image center */
  if (center) cx = center[0] - (double)a.w * 0.5, cy = center[1] - (double)a.h * 0.5;
  double m[6];
  aug_inverse_affine_matrix(cx, cy, angle, translate_x, translate_y, scale, shear_x, shear_y, m);
  tc_tensor *t = warp_affine(fn, &a, m, a.w, a.h, interp, &fill);
  aug_free(&a);
  return t;
}

/* ---- rotate ---------------------------------------------------------------------------------------------------- */
/* torch.rot90(img, k, dims=(-2, -1)) for k in 1..3 of the float buffer (output dims swapped for odd k) */
static tc_tensor *rot90(aug_img *a, int k) {
  int64_t h = a->h, w = a->w, oh = k == 2 ? h : w, ow = k == 2 ? w : h;
  float *out = tc_malloc(sizeof(float) * (size_t)(a->n * a->c * h * w > 0 ? a->n * a->c * h * w : 1));
  if (!out) return NULL;
  for (int64_t p = 0; p < a->n * a->c; p++) {
    const float *s = a->px + p * h * w;
    float *o = out + p * h * w;
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++) {
        int64_t si = k == 1 ? j : (k == 2 ? h - 1 - i : h - 1 - j), sj = k == 1 ? w - 1 - i : (k == 2 ? w - 1 - j : i);
        o[i * ow + j] = s[si * w + sj];
      }
  }
  tc_tensor *t = aug_store(a, out, a->c, oh, ow, AUG_TRUNC);
  tc_free(out);
  return t;
}

/* _compute_affine_output_size_tensor in float32: the bounding box of the rotated corners */
void aug_expanded_size(const double m[6], int64_t w, int64_t h, int64_t *ow, int64_t *oh) {
  float hw = 0.5f * (float)w, hh = 0.5f * (float)h;
  float pts[4][2] = {{-hw, -hh}, {-hw, hh}, {hw, hh}, {hw, -hh}};
  float t[6];
  for (int i = 0; i < 6; i++) t[i] = (float)m[i];
  float mn[2] = {INFINITY, INFINITY}, mx[2] = {-INFINITY, -INFINITY};
  for (int p = 0; p < 4; p++)
    for (int d = 0; d < 2; d++) {
      float v = pts[p][0] * t[3 * d] + pts[p][1] * t[3 * d + 1] + t[3 * d + 2];
      mn[d] = fminf(mn[d], v), mx[d] = fmaxf(mx[d], v);
    }
  const float tol = 1e-4f, inv_tol = 1.0f / tol;
  float half[2] = {hw, hh}, size[2];
  for (int d = 0; d < 2; d++) {
    float cmax = ceilf(truncf((mx[d] + half[d]) * inv_tol) * tol);
    float cmin = floorf(truncf((mn[d] + half[d]) * inv_tol) * tol);
    size[d] = cmax - cmin;
  }
  *ow = (int64_t)size[0], *oh = (int64_t)size[1];
}

void aug_rotated_size(int64_t h, int64_t w, double angle, bool expand, const double *center, int64_t *oh, int64_t *ow) {
  angle = fmod(angle, 360.0); /* as tv_rotate below */
  if (angle < 0) angle += 360.0;
  if (angle >= 360.0) angle = 0.0;
  *oh = h, *ow = w;
  if (!expand || (!center && (angle == 0 || angle == 180))) return;
  if (!center && (angle == 90 || angle == 270)) { /* rot90 */
    *oh = w, *ow = h;
    return;
  }
  double cx = 0, cy = 0, m[6];
  if (center) cx = center[0] - (double)w * 0.5, cy = center[1] - (double)h * 0.5;
  aug_inverse_affine_matrix(cx, cy, -angle, 0, 0, 1.0, 0, 0, m);
  aug_expanded_size(m, w, h, ow, oh);
}

tc_tensor *tv_rotate(const tc_tensor *img, double angle, tv_interp interp, bool expand, const double *center,
                     tv_fill fill) {
  const char *fn = "tv_rotate";
  aug_img a;
  if (aug_load(fn, img, false, &a)) return NULL;
  angle = fmod(angle, 360.0); /* Python's angle % 360 */
  if (angle < 0) angle += 360.0;
  if (angle >= 360.0) angle = 0.0;
  tc_tensor *t = NULL;
  bool done = false;
  if (!center) { /* torchvision's exact fast paths */
    if (angle == 0)
      t = aug_store(&a, a.px, a.c, a.h, a.w, AUG_TRUNC), done = true;
    else if (angle == 180)
      t = rot90(&a, 2), done = true;
    else if ((expand || a.h == a.w) && (angle == 90 || angle == 270))
      t = rot90(&a, angle == 90 ? 1 : 3), done = true;
  }
  if (!done) {
    double cx = 0, cy = 0, m[6];
    if (center) cx = center[0] - (double)a.w * 0.5, cy = center[1] - (double)a.h * 0.5;
    aug_inverse_affine_matrix(cx, cy, -angle, 0, 0, 1.0, 0, 0, m);
    int64_t ow = a.w, oh = a.h;
    if (expand) aug_expanded_size(m, a.w, a.h, &ow, &oh);
    t = warp_affine(fn, &a, m, ow, oh, interp, &fill);
  }
  aug_free(&a);
  return t;
}

/* ---- perspective ------------------------------------------------------------------------------------------------ */
tc_status tv_perspective_coeffs(const double startpoints[8], const double endpoints[8], double coeffs[8]) {
  const char *fn = "tv_perspective_coeffs";
  if (!startpoints || !endpoints || !coeffs) return tc_set_error(TC_ERR_ARG, "%s: NULL argument", fn);
  double A[8][9]; /* augmented system: endpoints p1 map to startpoints p2 */
  for (int i = 0; i < 4; i++) {
    double x1 = endpoints[2 * i], y1 = endpoints[2 * i + 1], x2 = startpoints[2 * i], y2 = startpoints[2 * i + 1];
    double r0[9] = {x1, y1, 1, 0, 0, 0, -x2 * x1, -x2 * y1, x2}, r1[9] = {0, 0, 0, x1, y1, 1, -y2 * x1, -y2 * y1, y2};
    memcpy(A[2 * i], r0, sizeof r0);
    memcpy(A[2 * i + 1], r1, sizeof r1);
  }
  for (int c = 0; c < 8; c++) { /* Gaussian elimination with partial pivoting, in double */
    int piv = c;
    for (int r = c + 1; r < 8; r++)
      if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
    if (fabs(A[piv][c]) < 1e-12) return tc_set_error(TC_ERR_ARG, "%s: the corners are degenerate", fn);
    if (piv != c)
      for (int k = 0; k < 9; k++) {
        double tmp = A[c][k];
        A[c][k] = A[piv][k], A[piv][k] = tmp;
      }
    for (int r = 0; r < 8; r++) {
      if (r == c) continue;
      double f = A[r][c] / A[c][c];
      for (int k = c; k < 9; k++) A[r][k] -= f * A[c][k];
    }
  }
  for (int c = 0; c < 8; c++) coeffs[c] = (double)(float)(A[c][8] / A[c][c]); /* .to(torch.float32) */
  return TC_OK;
}

tc_tensor *tv_perspective(const tc_tensor *img, const double coeffs[8], tv_interp interp, tv_fill fill) {
  const char *fn = "tv_perspective";
  if (!coeffs) {
    tc_set_error(TC_ERR_ARG, "%s: coeffs is NULL", fn);
    return NULL;
  }
  aug_img a;
  if (aug_load(fn, img, false, &a)) return NULL;
  int64_t oh = a.h, ow = a.w;
  float *g = tc_malloc(sizeof(float) * (size_t)(2 * oh * ow > 0 ? 2 * oh * ow : 1));
  tc_tensor *t = NULL;
  if (g) {
    float c[8];
    for (int i = 0; i < 8; i++) c[i] = (float)coeffs[i];
    float hw = 0.5f * (float)ow, hh = 0.5f * (float)oh;
    float r0[3] = {c[0] / hw, c[1] / hw, c[2] / hw}, r1[3] = {c[3] / hh, c[4] / hh, c[5] / hh};
    for (int64_t i = 0; i < oh; i++) {
      float by = aug_linspace_f32(0.5f, (float)oh + 0.5f - 1.0f, oh, i);
      for (int64_t j = 0; j < ow; j++) {
        float bx = aug_linspace_f32(0.5f, (float)ow + 0.5f - 1.0f, ow, j);
        float den = bx * c[6] + by * c[7] + 1.0f;
        g[2 * (i * ow + j)] = (bx * r0[0] + by * r0[1] + r0[2]) / den - 1.0f;
        g[2 * (i * ow + j) + 1] = (bx * r1[0] + by * r1[1] + r1[2]) / den - 1.0f;
      }
    }
    t = apply_grid(fn, &a, g, oh, ow, interp, &fill);
    tc_free(g);
  }
  aug_free(&a);
  return t;
}

/* ---- elastic ------------------------------------------------------------------------------------------------------
 */
tc_tensor *tv_elastic(const tc_tensor *img, const tc_tensor *displacement, tv_interp interp, tv_fill fill) {
  const char *fn = "tv_elastic";
  aug_img a;
  if (aug_load(fn, img, false, &a)) return NULL;
  tc_tensor *t = NULL, *d = NULL;
  float *g = NULL;
  if (!displacement || tc_tensor_ndim(displacement) != 4 || tc_tensor_size(displacement, 0) != 1 ||
      tc_tensor_size(displacement, 1) != a.h || tc_tensor_size(displacement, 2) != a.w ||
      tc_tensor_size(displacement, 3) != 2) {
    tc_set_error(TC_ERR_SHAPE, "%s: displacement must be (1, %lld, %lld, 2)", fn, (long long)a.h, (long long)a.w);
    goto done;
  }
  d = tc_contiguous(displacement);
  tc_tensor *df = d ? tc_to_dtype(d, TC_F32) : NULL;
  tc_tensor_release(d);
  d = df;
  g = d ? tc_malloc(sizeof(float) * (size_t)(2 * a.h * a.w > 0 ? 2 * a.h * a.w : 1)) : NULL;
  if (!g) goto done;
  const float *dp = tc_tensor_data(d);
  /* Python computes the ends in double, torch.linspace rounds them to float32 */
  float xs = (float)((1.0 - (double)a.w) / (double)a.w), ys = (float)((1.0 - (double)a.h) / (double)a.h);
  for (int64_t i = 0; i < a.h; i++)
    for (int64_t j = 0; j < a.w; j++) { /* _create_identity_grid + displacement */
      int64_t k = i * a.w + j;
      g[2 * k] = aug_linspace_f32(xs, -xs, a.w, j) + dp[2 * k];
      g[2 * k + 1] = aug_linspace_f32(ys, -ys, a.h, i) + dp[2 * k + 1];
    }
  t = apply_grid(fn, &a, g, a.h, a.w, interp, &fill);
done:
  tc_free(g);
  tc_tensor_release(d);
  aug_free(&a);
  return t;
}
