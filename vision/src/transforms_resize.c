/* vision/src/transforms_resize.c — Resize as torchvision.transforms.v2.functional.resize on CPU
 * tensors, which calls torch.nn.functional.interpolate (PyTorch's aten/src/ATen/native/cpu/
 * UpSampleKernel.cpp and UpSampleKernelAVXAntialias.h). The arithmetic is reproduced, not just the
 * maths, so results agree to the bit for uint8 and to float rounding for float32:
 *
 *  - bilinear / bicubic are separable: a horizontal pass (width) into a temporary, then a vertical
 *    pass (height); a pass whose size does not change is skipped. Each output index has a list of
 *    (source index, weight) taps precomputed once per axis ("plan").
 *  - antialias=True (PIL's filter support, scaled by in/out when downscaling): taps over
 *    [xmin, xmin + xsize), weights filter((j + xmin - center + 0.5) / scale) normalised to sum 1;
 *    triangle filter for bilinear, Keys cubic a = -0.5 for bicubic.
 *  - antialias=False: bilinear two taps (i0, i1 = i0 + 1 clamped) with lambda; bicubic four clamped
 *    taps with a = -0.75 (OpenCV's), computed from src = scale * (dst + 0.5) - 0.5.
 *  - float32: weights and sums in float (PyTorch's scalar_t / opmath for float).
 *  - uint8: weights in double, rescaled to int16 with the largest precision that keeps the largest
 *    weight below 2^15; each pass sums pixel * weight in int32 starting from 2^(prec-1) and stores
 *    clamp(sum >> prec, 0, 255). This is PyTorch's uint8 path (its AVX2 kernel for C <= 4, the
 *    generic separable kernel otherwise: the same integer arithmetic). Without antialias, taps that
 *    fall outside the image are folded into the border tap, as PyTorch's uint8 weights do.
 *  - nearest: src = min(floor(dst * s), in - 1) in float, s = (float)in / out; nearest-exact:
 *    floor((dst + 0.5) * s), with the two formulas PyTorch's two kernels use (which one depends on
 *    out_h + out_w <= 128, as PyTorch chooses). Float64 images use double index maths, as PyTorch.
 *
 * Images (..., C, H, W) are processed as N = numel / (H * W) contiguous planes, rows in parallel.
 */
#include <math.h>
#include <string.h>
#if defined(__SSE4_1__)
#include <immintrin.h>
#endif
#include "transforms_internal.h"

/* ---- per-axis plans --------------------------------------------------------------------------------- */
typedef struct axis_plan {
  int64_t in, out;
  int taps;     /* taps per output index (weights/indices are out x taps) */
  int32_t *cnt; /* out: taps used (<= taps) */
  int32_t *idx; /* out x taps: source indices */
  float *wf;    /* out x taps: float32 weights (float images) */
  int16_t *wi;  /* out x taps: fixed-point weights (uint8 images) */
  double *wd;   /* out x taps: double weights (scratch for the uint8 path) */
  int prec;     /* fixed-point precision of wi */
} axis_plan;

static void plan_free(axis_plan *p) {
  tc_free(p->cnt);
  tc_free(p->idx);
  tc_free(p->wf);
  tc_free(p->wi);
  tc_free(p->wd);
  memset(p, 0, sizeof *p);
}

static tc_status plan_alloc(axis_plan *p, int64_t in, int64_t out, int taps, bool fixed) {
  memset(p, 0, sizeof *p);
  p->in = in, p->out = out, p->taps = taps;
  size_t n = (size_t)out * (size_t)taps;
  p->cnt = tc_calloc((size_t)out * sizeof(int32_t));
  p->idx = tc_calloc(n * sizeof(int32_t));
  if (fixed) {
    p->wd = tc_calloc(n * sizeof(double));
    p->wi = tc_calloc(n * sizeof(int16_t));
  } else {
    p->wf = tc_calloc(n * sizeof(float));
  }
  if (!p->cnt || !p->idx || (fixed ? !p->wd || !p->wi : !p->wf)) {
    plan_free(p);
    return TC_ERR_NOMEM;
  }
  return TC_OK;
}

/* PIL's filters as PyTorch writes them: triangle, and Keys' cubic convolution with parameter a. */
static float tri_f(float x) {
  x = fabsf(x);
  return x < 1.0f ? 1.0f - x : 0.0f;
}
static double tri_d(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
static float cubic_f(float x, float a) {
  x = fabsf(x);
  if (x < 1.0f) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0f) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0f;
}
static double cubic_d(double x, double a) {
  x = fabs(x);
  if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

/* Antialiased taps in float32 (PyTorch's _compute_indices_min_size_weights_aa<float>); the casts
 * reproduce C++'s promotions there (int64 - float is float, + 0.5 is double). */
static tc_status plan_aa_f32(axis_plan *p, int64_t in, int64_t out, bool cubic) {
  const int isz = cubic ? 4 : 2;
  const float scale = (float)in / (float)out;
  const float support = scale >= 1.0f ? (float)((isz * 0.5) * scale) : (float)(isz * 0.5);
  const int taps = (int)ceilf(support) * 2 + 1;
  if (plan_alloc(p, in, out, taps, false)) return TC_ERR_NOMEM;
  const float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
  for (int64_t i = 0; i < out; i++) {
    float center = (float)(scale * (i + 0.5));
    int64_t xmin = (int64_t)((double)(center - support) + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = (int64_t)((double)(center + support) + 0.5);
    int64_t xsize = (xmax < in ? xmax : in) - xmin;
    xsize = xsize < 0 ? 0 : xsize > taps ? taps : xsize;
    float *w = p->wf + i * taps, total = 0.0f;
    for (int64_t j = 0; j < xsize; j++) {
      float x = (float)(((double)((float)(j + xmin) - center) + 0.5) * invscale);
      w[j] = cubic ? cubic_f(x, -0.5f) : tri_f(x);
      total += w[j];
    }
    for (int64_t j = 0; total != 0.0f && j < xsize; j++) w[j] /= total;
    for (int64_t j = 0; j < taps; j++) p->idx[i * taps + j] = (int32_t)(j < xsize ? xmin + j : xmin);
    p->cnt[i] = xsize > 0 ? (int32_t)xsize : 1; /* an empty window reads one pixel with weight 0 */
  }
  return TC_OK;
}

/* Antialiased taps in double (the uint8 path); returns the largest weight in *wmax. */
static tc_status plan_aa_f64(axis_plan *p, int64_t in, int64_t out, bool cubic, double *wmax) {
  const int isz = cubic ? 4 : 2;
  const double scale = (double)in / (double)out;
  const double support = scale >= 1.0 ? (isz * 0.5) * scale : isz * 0.5;
  const int taps = (int)ceil(support) * 2 + 1;
  if (plan_alloc(p, in, out, taps, true)) return TC_ERR_NOMEM;
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  *wmax = 0.0;
  for (int64_t i = 0; i < out; i++) {
    double center = scale * (i + 0.5);
    int64_t xmin = (int64_t)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = (int64_t)(center + support + 0.5);
    int64_t xsize = (xmax < in ? xmax : in) - xmin;
    xsize = xsize < 0 ? 0 : xsize > taps ? taps : xsize;
    double *w = p->wd + i * taps, total = 0.0;
    for (int64_t j = 0; j < xsize; j++) {
      double x = ((double)(j + xmin) - center + 0.5) * invscale;
      w[j] = cubic ? cubic_d(x, -0.5) : tri_d(x);
      total += w[j];
    }
    for (int64_t j = 0; total != 0.0 && j < xsize; j++) {
      w[j] /= total;
      if (w[j] > *wmax) *wmax = w[j];
    }
    for (int64_t j = 0; j < taps; j++) p->idx[i * taps + j] = (int32_t)(j < xsize ? xmin + j : xmin);
    p->cnt[i] = xsize > 0 ? (int32_t)xsize : 1;
  }
  return TC_OK;
}

/* floor(real) clamped to in - 1 and the fraction clamped to [0, 1] (PyTorch's guard_index_and_lambda,
 * whose floorf narrows a double argument to float). */
static void guard_d(double real, int64_t in, int64_t *index, double *lambda) {
  int64_t k = (int64_t)floorf((float)real);
  *index = k < in - 1 ? k : in - 1;
  double l = real - (double)*index;
  *lambda = l < 0.0 ? 0.0 : l > 1.0 ? 1.0 : l;
}

/* Taps without antialias in double (uint8 path; PyTorch's _compute_indices_min_size_weights): a
 * contiguous window of up to isz taps, weights of out-of-image taps added to the border tap. */
static tc_status plan_plain_f64(axis_plan *p, int64_t in, int64_t out, bool cubic, double *wmax) {
  const int taps = cubic ? 4 : 2;
  if (plan_alloc(p, in, out, taps, true)) return TC_ERR_NOMEM;
  const double scale = (double)in / (double)out;
  const int64_t support = taps / 2;
  *wmax = 0.0;
  for (int64_t i = 0; i < out; i++) {
    double real = scale * (i + 0.5) - 0.5, lambda;
    if (!cubic && real < 0.0) real = 0.0;
    int64_t index;
    guard_d(real, in, &index, &lambda);
    int64_t umin = index - support + 1, umax = index + support + 1;
    int64_t imin = umin > 0 ? umin : 0;
    int64_t isize = (umax < in ? umax : in) - imin;
    isize = isize < 0 ? 0 : isize > taps ? taps : isize;
    double *w = p->wd + i * taps;
    int64_t wk = 0;
    for (int64_t j = 0; j < taps; j++) {
      double x = (double)(j + 1 - support) - lambda;
      double v = cubic ? cubic_d(x, -0.75) : tri_d(x);
      if (umin + j <= 0)
        wk = 0;
      else if (umin + j >= in - 1)
        wk = isize - 1;
      w[wk] += v;
      if (w[wk] > *wmax) *wmax = w[wk];
      wk++;
    }
    for (int64_t j = 0; j < taps; j++) p->idx[i * taps + j] = (int32_t)(j < isize ? imin + j : imin);
    p->cnt[i] = isize > 0 ? (int32_t)isize : 1;
  }
  return TC_OK;
}

/* Re-lays a uint8 plan with T >= taps slots per output (the extra weights 0). */
static tc_status plan_widen(axis_plan *p, int T) {
  int32_t *idx = tc_calloc((size_t)p->out * T * sizeof(int32_t));
  double *wd = tc_calloc((size_t)p->out * T * sizeof(double));
  int16_t *wi = tc_calloc((size_t)p->out * T * sizeof(int16_t));
  if (!idx || !wd || !wi) {
    tc_free(idx), tc_free(wd), tc_free(wi);
    return TC_ERR_NOMEM;
  }
  for (int64_t o = 0; o < p->out; o++)
    for (int k = 0; k < T; k++) {
      idx[o * T + k] = k < p->taps ? p->idx[o * p->taps + k] : p->idx[o * p->taps];
      wd[o * T + k] = k < p->taps ? p->wd[o * p->taps + k] : 0.0;
    }
  tc_free(p->idx), tc_free(p->wd), tc_free(p->wi);
  p->idx = idx, p->wd = wd, p->wi = wi, p->taps = T;
  return TC_OK;
}

/* Gives every window of a uint8 plan the same length L = min(taps, in), moving a window's start left
 * where it would run past the end and padding with zero weights: sums are unchanged (the extra taps
 * add 0), and the horizontal kernel then runs a fixed-length, unrolled tap loop. */
static void plan_fixed_windows(axis_plan *p) {
  const int64_t L = p->taps < p->in ? p->taps : p->in;
  /* the SIMD kernel reads 8 pixels per window: windows of 8 (zero-padded) when they fit */
  for (int64_t o = 0; o < p->out; o++) {
    int32_t *id = p->idx + o * p->taps;
    double *w = p->wd + o * p->taps;
    int64_t start = id[0], n = p->cnt[o], shift = start + L > p->in ? start + L - p->in : 0;
    for (int64_t k = L - 1; k >= 0; k--) { /* move the n weights right by `shift`, zeros around them */
      int64_t from = k - shift;
      w[k] = from >= 0 && from < n ? w[from] : 0.0;
    }
    for (int64_t k = 0; k < p->taps; k++) id[k] = (int32_t)(start - shift + (k < L ? k : 0));
    p->cnt[o] = (int32_t)L;
  }
}

/* Double weights -> int16 with the precision PyTorch picks from the largest weight. */
static void plan_to_fixed(axis_plan *p, double wmax) {
  int prec;
  for (prec = 0; prec < 22; ++prec) {
    int next = (int)(0.5 + wmax * (1 << (prec + 1)));
    if (next >= (1 << 15)) break;
  }
  p->prec = prec;
  for (int64_t k = 0; k < p->out * p->taps; k++) {
    double v = p->wd[k] * (1 << prec);
    p->wi[k] = (int16_t)(v < 0 ? (int)(-0.5 + v) : (int)(0.5 + v));
  }
}

/* Taps without antialias in float32 (PyTorch's generic kernel: HelperInterpLinear / Cubic). */
static tc_status plan_plain_f32(axis_plan *p, int64_t in, int64_t out, bool cubic) {
  const int taps = cubic ? 4 : 2;
  if (plan_alloc(p, in, out, taps, false)) return TC_ERR_NOMEM;
  const float scale = (float)in / (float)out;
  for (int64_t i = 0; i < out; i++) {
    float real = scale * ((float)i + 0.5f) - 0.5f;
    if (!cubic && real < 0.0f) real = 0.0f;
    int64_t k = (int64_t)floorf(real), index = k < in - 1 ? k : in - 1;
    float lambda = real - (float)index;
    lambda = lambda < 0.0f ? 0.0f : lambda > 1.0f ? 1.0f : lambda;
    int32_t *id = p->idx + i * taps;
    float *w = p->wf + i * taps;
    p->cnt[i] = taps;
    if (!cubic) {
      id[0] = (int32_t)index;
      id[1] = (int32_t)(index + (index < in - 1 ? 1 : 0));
      w[0] = 1.0f - lambda;
      w[1] = lambda;
      continue;
    }
    const float a = -0.75f, x2 = (float)(1.0 - lambda);
    w[0] = cubic_f(lambda + 1.0f, a);
    w[1] = cubic_f(lambda, a);
    w[2] = cubic_f(x2, a);
    w[3] = cubic_f(x2 + 1.0f, a);
    for (int j = 0; j < 4; j++) {
      int64_t s = index + j - 1;
      id[j] = (int32_t)(s < 0 ? 0 : s > in - 1 ? in - 1 : s);
    }
  }
  return TC_OK;
}

/* The plan of one axis for (interp, antialias, uint8?). Antialias only matters when downscaling's
 * filter support differs, which the formulas handle (for upscaling support = isz / 2). */
static tc_status plan_make(axis_plan *p, int64_t in, int64_t out, tv_interp m, bool aa, bool u8, bool horiz) {
  bool cubic = m == TV_INTERP_BICUBIC;
  if (!u8) return aa ? plan_aa_f32(p, in, out, cubic) : plan_plain_f32(p, in, out, cubic);
  double wmax = 0.0;
  tc_status st = aa ? plan_aa_f64(p, in, out, cubic, &wmax) : plan_plain_f64(p, in, out, cubic, &wmax);
  int T = p->taps <= 8 ? 8 : 16; /* the SIMD kernel's window lengths */
  if (!st && horiz && p->taps <= 16 && p->taps < T && in >= T) st = plan_widen(p, T);
  if (!st && horiz) plan_fixed_windows(p);
  if (!st) plan_to_fixed(p, wmax);
  return st;
}

/* ---- separable passes -------------------------------------------------------------------------------- */
typedef struct pass_ctx {
  const axis_plan *p;
  const void *src; /* planes x in_h x in_w */
  void *dst;       /* planes x out_h x out_w */
  int64_t in_h, in_w, out_h, out_w;
} pass_ctx;

static inline uint8_t clamp_u8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* rows [b, e) of all planes: out row r = taps along the width of in row r. */
static void hpass_f32(int64_t b, int64_t e, void *vc) {
  const pass_ctx *c = vc;
  const axis_plan *p = c->p;
  for (int64_t r = b; r < e; r++) {
    const float *s = (const float *)c->src + r * c->in_w;
    float *d = (float *)c->dst + r * c->out_w;
    for (int64_t o = 0; o < c->out_w; o++) {
      const int32_t *id = p->idx + o * p->taps;
      const float *w = p->wf + o * p->taps;
      float acc = s[id[0]] * w[0];
      for (int32_t k = 1; k < p->cnt[o]; k++) acc += s[id[k]] * w[k];
      d[o] = acc;
    }
  }
}

/* Two uint8 output rows from two input rows, L taps per output (windows were made equally long in
 * plan_fixed_windows). L is a literal in each instance so the tap loop unrolls; the restrict
 * pointers keep the compiler from reloading the plan after every byte stored. */
#define HROW_U8(L)                                                                                                     \
  static void hrow_u8_##L(const uint8_t *restrict s0, const uint8_t *restrict s1, uint8_t *restrict d0,                \
                          uint8_t *restrict d1, const int32_t *restrict idx, const int16_t *restrict wi, int64_t taps, \
                          int prec, int64_t ow, int n) {                                                               \
    const int32_t half = 1 << (prec - 1);                                                                              \
    for (int64_t o = 0; o < ow; o++) {                                                                                 \
      const int64_t x = idx[o * taps];                                                                                 \
      const int16_t *restrict w = wi + o * taps;                                                                       \
      int32_t a0 = half, a1 = half;                                                                                    \
      for (int k = 0; k < (L); k++) a0 += (int32_t)s0[x + k] * w[k], a1 += (int32_t)s1[x + k] * w[k];                  \
      d0[o] = clamp_u8(a0 >> prec);                                                                                    \
      if (n > 1) d1[o] = clamp_u8(a1 >> prec);                                                                         \
    }                                                                                                                  \
  }
HROW_U8(2)
HROW_U8(3)
HROW_U8(4)
HROW_U8(5)
HROW_U8(6)
HROW_U8(7)
HROW_U8(8)
HROW_U8(9)
/* the same for any window length */
static void hrow_any(const uint8_t *restrict s0, const uint8_t *restrict s1, uint8_t *restrict d0, uint8_t *restrict d1,
                     const int32_t *restrict idx, const int16_t *restrict wi, int64_t taps, int prec, int64_t ow, int n,
                     int L) {
  const int32_t half = 1 << (prec - 1);
  for (int64_t o = 0; o < ow; o++) {
    const int64_t x = idx[o * taps];
    const int16_t *restrict w = wi + o * taps;
    int32_t a0 = half, a1 = half;
    for (int k = 0; k < L; k++) a0 += (int32_t)s0[x + k] * w[k], a1 += (int32_t)s1[x + k] * w[k];
    d0[o] = clamp_u8(a0 >> prec);
    if (n > 1) d1[o] = clamp_u8(a1 >> prec);
  }
}

typedef void (*hrow_u8_fn)(const uint8_t *restrict, const uint8_t *restrict, uint8_t *restrict, uint8_t *restrict,
                           const int32_t *restrict, const int16_t *restrict, int64_t, int, int64_t, int);

#if defined(__SSE4_1__)
/* One window of T = 8 or 16 taps: pixels widened to int16, pmaddwd with the weights -> 4 int32 lanes. */
static inline __m128i madd_window(const uint8_t *sp, const int16_t *w, const int T) {
  __m128i px = _mm_loadl_epi64((const __m128i *)sp);
  __m128i m = _mm_madd_epi16(_mm_cvtepu8_epi16(px), _mm_loadu_si128((const __m128i *)w));
  if (T == 16) {
    __m128i hi = _mm_loadl_epi64((const __m128i *)(sp + 8));
    m = _mm_add_epi32(m, _mm_madd_epi16(_mm_cvtepu8_epi16(hi), _mm_loadu_si128((const __m128i *)(w + 8))));
  }
  return m;
}

/* T-tap windows with SSE4.1, four outputs at a time: their lanes summed with two hadds, then the
 * same rounding, shift and saturation as the scalar code; exactly the scalar integer sum. */
static inline void hrow_u8_simd(const uint8_t *restrict s, uint8_t *restrict d, const int32_t *restrict idx,
                                const int16_t *restrict wi, int prec, int64_t ow, const int SIMD_TAPS) {
  const __m128i half = _mm_set1_epi32(1 << (prec - 1));
  const __m128i shift = _mm_cvtsi32_si128(prec);
  int64_t o = 0;
  for (; o + 4 <= ow; o += 4) {
    __m128i m[4];
    for (int q = 0; q < 4; q++) m[q] = madd_window(s + idx[(o + q) * SIMD_TAPS], wi + (o + q) * SIMD_TAPS, SIMD_TAPS);
    __m128i sum = _mm_hadd_epi32(_mm_hadd_epi32(m[0], m[1]), _mm_hadd_epi32(m[2], m[3]));
    sum = _mm_sra_epi32(_mm_add_epi32(sum, half), shift);
    __m128i packed = _mm_packus_epi16(_mm_packs_epi32(sum, sum), _mm_setzero_si128());
    int32_t four = _mm_cvtsi128_si32(packed);
    memcpy(d + o, &four, 4);
  }
  for (; o < ow; o++) {
    const uint8_t *sp = s + idx[o * SIMD_TAPS];
    const int16_t *w = wi + o * SIMD_TAPS;
    int32_t acc = 1 << (prec - 1);
    for (int k = 0; k < SIMD_TAPS; k++) acc += (int32_t)sp[k] * w[k];
    d[o] = clamp_u8(acc >> prec);
  }
}
#endif

#if defined(__AVX2__)
/* 8-tap windows with AVX2, eight outputs at a time: two windows per 256-bit register (outputs o
 * and o + 1, whose 16 weights lie next to each other), pmaddwd, two rounds of hadd leaving outputs
 * (0, 2, 4, 6 | 1, 3, 5, 7), then a lane permutation back into order. The same integer sums as the
 * scalar code. */
static void hrow_u8_avx2_8(const uint8_t *restrict s, uint8_t *restrict d, const int32_t *restrict idx,
                           const int16_t *restrict wi, int prec, int64_t ow) {
  const __m256i half = _mm256_set1_epi32(1 << (prec - 1));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  int64_t o = 0;
  for (; o + 8 <= ow; o += 8) {
    __m256i m[4];
    for (int q = 0; q < 4; q++) {
      int64_t a = o + 2 * q;
      __m128i px = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)(s + idx[a * 8])),
                                      _mm_loadl_epi64((const __m128i *)(const void *)(s + idx[(a + 1) * 8])));
      m[q] = _mm256_madd_epi16(_mm256_cvtepu8_epi16(px), _mm256_loadu_si256((const __m256i *)(const void *)(wi + a * 8)));
    }
    /* m[q] lanes: (o+2q: 4 partial sums | o+2q+1: 4 partial sums) */
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
    h = _mm256_permutevar8x32_epi32(h, order);
    h = _mm256_srai_epi32(_mm256_add_epi32(h, half), prec);
    __m128i v16 = _mm_packs_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    _mm_storel_epi64((__m128i *)(void *)(d + o), _mm_packus_epi16(v16, v16));
  }
  for (; o < ow; o++) {
    const uint8_t *sp = s + idx[o * 8];
    const int16_t *w = wi + o * 8;
    int32_t acc = 1 << (prec - 1);
    for (int k = 0; k < 8; k++) acc += (int32_t)sp[k] * w[k];
    d[o] = clamp_u8(acc >> prec);
  }
}
#endif

static void hpass_u8(int64_t b, int64_t e, void *vc) {
  const pass_ctx *c = vc;
  const axis_plan *p = c->p;
  static const hrow_u8_fn fixed[10] = {NULL,      NULL,      hrow_u8_2, hrow_u8_3, hrow_u8_4,
                                       hrow_u8_5, hrow_u8_6, hrow_u8_7, hrow_u8_8, hrow_u8_9};
  const int L = p->cnt[0]; /* every window has cnt[0] taps */
  hrow_u8_fn fn = L >= 2 && L <= 9 ? fixed[L] : NULL;
#if defined(__SSE4_1__)
  if (L == p->taps && (L == 8 || L == 16)) {
    for (int64_t r = b; r < e; r++) {
      const uint8_t *src = (const uint8_t *)c->src + r * c->in_w;
      uint8_t *dst = (uint8_t *)c->dst + r * c->out_w;
      if (L == 8)
#if defined(__AVX2__)
        hrow_u8_avx2_8(src, dst, p->idx, p->wi, p->prec, c->out_w);
#else
        hrow_u8_simd(src, dst, p->idx, p->wi, p->prec, c->out_w, 8);
#endif
      else
        hrow_u8_simd(src, dst, p->idx, p->wi, p->prec, c->out_w, 16);
    }
    return;
  }
#endif
  for (int64_t r = b; r < e; r += 2) {
    int n = e - r >= 2 ? 2 : 1;
    const uint8_t *s0 = (const uint8_t *)c->src + r * c->in_w, *s1 = n > 1 ? s0 + c->in_w : s0;
    uint8_t *d0 = (uint8_t *)c->dst + r * c->out_w, *d1 = d0 + c->out_w;
    if (fn)
      fn(s0, s1, d0, d1, p->idx, p->wi, p->taps, p->prec, c->out_w, n);
    else
      hrow_any(s0, s1, d0, d1, p->idx, p->wi, p->taps, p->prec, c->out_w, n, L);
  }
}

/* output rows [b, e) over all planes: out row = taps of whole input rows (vectorizes along x). */
static void vpass_f32(int64_t b, int64_t e, void *vc) {
  const pass_ctx *c = vc;
  const axis_plan *p = c->p;
  const int64_t W = c->out_w;
  for (int64_t r = b; r < e; r++) {
    int64_t plane = r / c->out_h, o = r % c->out_h;
    const float *base = (const float *)c->src + plane * c->in_h * W;
    const int32_t *id = p->idx + o * p->taps;
    const float *w = p->wf + o * p->taps;
    float *d = (float *)c->dst + r * W;
    const float *s0 = base + (int64_t)id[0] * W;
    for (int64_t x = 0; x < W; x++) d[x] = s0[x] * w[0];
    for (int32_t k = 1; k < p->cnt[o]; k++) {
      const float *sk = base + (int64_t)id[k] * W;
      const float wk = w[k];
      for (int64_t x = 0; x < W; x++) d[x] += sk[x] * wk;
    }
  }
}

#if defined(__AVX2__)
/* 16 outputs of one vertical pass row: the taps two at a time, their rows' bytes interleaved as
 * 16-bit pairs and multiplied-added with the weight pair (pmaddwd): the scalar code's exact integer
 * sums. Returns the outputs done (a multiple of 16). */
static int64_t vrow_u8_avx2(const uint8_t *restrict base, int64_t W, const int32_t *restrict id,
                            const int16_t *restrict w, int cnt, int prec, uint8_t *restrict d) {
  const __m256i half = _mm256_set1_epi32(1 << (prec - 1));
  int64_t x = 0;
  for (; x + 16 <= W; x += 16) {
    __m256i lo = half, hi = half;
    for (int k = 0; k < cnt; k += 2) {
      const uint8_t *r0 = base + (int64_t)id[k] * W + x;
      const uint8_t *r1 = k + 1 < cnt ? base + (int64_t)id[k + 1] * W + x : r0;
      int16_t w1 = k + 1 < cnt ? w[k + 1] : 0;
      __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)r0));
      __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)r1));
      __m256i wp = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)w1 << 16) | (uint16_t)w[k]));
      lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wp));
      hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wp));
    }
    lo = _mm256_srai_epi32(lo, prec);
    hi = _mm256_srai_epi32(hi, prec);
    __m256i s16 = _mm256_packs_epi32(lo, hi); /* per 128-bit lane: outputs 0-7, then 8-15 */
    __m128i u8 = _mm_packus_epi16(_mm256_castsi256_si128(s16), _mm256_extracti128_si256(s16, 1));
    _mm_storeu_si128((__m128i *)(void *)(d + x), u8);
  }
  return x;
}
#endif

#define VCHUNK 512
static void vpass_u8(int64_t b, int64_t e, void *vc) {
  const pass_ctx *c = vc;
  const axis_plan *p = c->p;
  const int64_t W = c->out_w;
  const int32_t half = 1 << (p->prec - 1);
  int32_t acc[VCHUNK];
  for (int64_t r = b; r < e; r++) {
    int64_t plane = r / c->out_h, o = r % c->out_h;
    const uint8_t *base = (const uint8_t *)c->src + plane * c->in_h * W;
    const int32_t *id = p->idx + o * p->taps;
    const int16_t *w = p->wi + o * p->taps;
    uint8_t *d = (uint8_t *)c->dst + r * W;
    int64_t done = 0;
#if defined(__AVX2__)
    done = vrow_u8_avx2(base, W, id, w, p->cnt[o], p->prec, d);
#endif
    for (int64_t x0 = done; x0 < W; x0 += VCHUNK) {
      int64_t n = W - x0 < VCHUNK ? W - x0 : VCHUNK;
      for (int64_t x = 0; x < n; x++) acc[x] = half;
      for (int32_t k = 0; k < p->cnt[o]; k++) {
        const uint8_t *sk = base + (int64_t)id[k] * W + x0;
        const int32_t wk = w[k];
        for (int64_t x = 0; x < n; x++) acc[x] += (int32_t)sk[x] * wk;
      }
      for (int64_t x = 0; x < n; x++) d[x0 + x] = clamp_u8(acc[x] >> p->prec);
    }
  }
}

/* Rows per task so that a task does at least ~32k multiply-adds. */
static int64_t grain_for(int64_t row_len, int taps) {
  int64_t work = row_len * (taps > 0 ? taps : 1);
  int64_t g = work > 0 ? 32768 / work : 1;
  return g < 1 ? 1 : g;
}

/* Bilinear/bicubic of n contiguous planes src (H x W) into dst (OH x OW). */
static tc_status resize_separable(const void *src, void *dst, int64_t n, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                  tv_interp m, bool aa, bool u8) {
  axis_plan ph = {0}, pv = {0};
  void *tmp = NULL;
  size_t es = u8 ? 1 : sizeof(float);
  bool need_h = OW != W, need_v = OH != H;
  tc_status st = TC_OK;
  if ((need_h && (st = plan_make(&ph, W, OW, m, aa, u8, true))) ||
      (need_v && (st = plan_make(&pv, H, OH, m, aa, u8, false))))
    goto done;
  if (need_h && need_v && !(tmp = tc_malloc((size_t)n * (size_t)H * (size_t)OW * es))) {
    st = TC_ERR_NOMEM;
    goto done;
  }
  if (need_h) {
    pass_ctx c = {&ph, src, need_v ? tmp : dst, H, W, H, OW};
    tc_parallel_for(n * H, grain_for(OW, ph.taps), u8 ? hpass_u8 : hpass_f32, &c);
  }
  if (need_v) {
    pass_ctx c = {&pv, need_h ? tmp : src, dst, H, OW, OH, OW};
    tc_parallel_for(n * OH, grain_for(OW, pv.taps), u8 ? vpass_u8 : vpass_f32, &c);
  }
done:
  tc_free(tmp);
  plan_free(&ph);
  plan_free(&pv);
  return st;
}

/* ---- the same in steps (see transforms_internal.h) ----------------------------------------------------- */
struct tv__resize_stream {
  axis_plan ph, pv;
  int64_t C, H, W, OH, OW;
  uint8_t *tmp;  /* C x H x OW: the horizontal pass */
  int64_t *need; /* OH: source rows output row o and those before it need (a running maximum) */
};

tv__resize_stream *tv__resize_stream_create(int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, tv_interp m,
                                            bool antialias) {
  if (OH == H || OW == W || C < 1 || H < 1 || W < 1 || OH < 1 || OW < 1 || m == TV_INTERP_NEAREST ||
      m == TV_INTERP_NEAREST_EXACT) {
    tc_set_error(TC_ERR_ARG, "tv__resize_stream_create: both axes must be resized, by a separable filter");
    return NULL;
  }
  tv__resize_stream *s = tc_calloc(sizeof *s);
  if (!s) return NULL;
  *s = (tv__resize_stream){.C = C, .H = H, .W = W, .OH = OH, .OW = OW};
  if (plan_make(&s->ph, W, OW, m, antialias, true, true) || plan_make(&s->pv, H, OH, m, antialias, true, false) ||
      !(s->tmp = tc_malloc((size_t)(C * H * OW))) || !(s->need = tc_malloc(sizeof(int64_t) * (size_t)OH))) {
    tv__resize_stream_destroy(s);
    return NULL;
  }
  int64_t mx = 0;
  for (int64_t o = 0; o < OH; o++) {
    const int32_t *id = s->pv.idx + o * s->pv.taps;
    for (int32_t k = 0; k < s->pv.cnt[o]; k++) mx = id[k] + 1 > mx ? id[k] + 1 : mx;
    s->need[o] = mx;
  }
  return s;
}

void tv__resize_stream_rows(tv__resize_stream *s, const uint8_t *src, int64_t r0, int64_t r1) {
  pass_ctx c = {&s->ph, src, s->tmp, s->H, s->W, s->H, s->OW};
  for (int64_t p = 0; p < s->C && r1 > r0; p++) hpass_u8(p * s->H + r0, p * s->H + r1, &c);
}

int64_t tv__resize_stream_ready(const tv__resize_stream *s, int64_t rows) {
  int64_t o = 0;
  while (o < s->OH && s->need[o] <= rows) o++; /* need is non-decreasing */
  return o;
}

void tv__resize_stream_out(tv__resize_stream *s, uint8_t *dst, int64_t o0, int64_t o1) {
  pass_ctx c = {&s->pv, s->tmp, dst, s->H, s->OW, s->OH, s->OW};
  for (int64_t p = 0; p < s->C && o1 > o0; p++) vpass_u8(p * s->OH + o0, p * s->OH + o1, &c);
}

void tv__resize_stream_destroy(tv__resize_stream *s) {
  if (!s) return;
  plan_free(&s->ph);
  plan_free(&s->pv);
  tc_free(s->tmp);
  tc_free(s->need);
  tc_free(s);
}

/* ---- nearest ------------------------------------------------------------------------------------------- */
/* Source indices of one axis. `channels_last` selects the formula of PyTorch's vectorized kernel
 * (nearest_idx / nearest_exact_idx), otherwise the generic kernel's; dbl: float64 images. */
static void nearest_index(int64_t *ix, int64_t in, int64_t out, bool exact, bool channels_last, bool dbl) {
  const float s = (float)in / (float)out;
  const double sd = (double)in / (double)out;
  for (int64_t i = 0; i < out; i++) {
    int64_t k;
    if (channels_last) { /* float scale whatever the dtype; (i + 0.5) * s is a double product */
      k = exact           ? (int64_t)floorf((float)((i + 0.5) * s))
          : out == in     ? i
          : out == 2 * in ? i >> 1
                          : (int64_t)floorf((float)i * s);
    } else if (dbl) { /* opmath double; floorf still narrows to float */
      double r = exact ? fmax(sd * (i + 0.5) - 0.5, 0.0) + 0.5 : sd * (double)i;
      k = (int64_t)floorf((float)r);
    } else if (exact) {
      float r = s * ((float)i + 0.5f) - 0.5f;
      k = (int64_t)floorf((float)((double)(r < 0.0f ? 0.0f : r) + 0.5));
    } else {
      k = (int64_t)floorf((float)i * s);
    }
    ix[i] = k < in - 1 ? k : in - 1;
  }
}

typedef struct near_ctx {
  const char *src;
  char *dst;
  const int64_t *iy, *ix;
  int64_t H, W, OH, OW;
  size_t es;
} near_ctx;

static void nearest_rows(int64_t b, int64_t e, void *vc) {
  const near_ctx *c = vc;
  for (int64_t r = b; r < e; r++) {
    int64_t plane = r / c->OH, o = r % c->OH;
    const char *s = c->src + ((plane * c->H + c->iy[o]) * c->W) * (int64_t)c->es;
    char *d = c->dst + r * c->OW * (int64_t)c->es;
    switch (c->es) {
      case 1:
        for (int64_t x = 0; x < c->OW; x++) d[x] = s[c->ix[x]];
        break;
      case 4:
        for (int64_t x = 0; x < c->OW; x++) memcpy(d + 4 * x, s + 4 * c->ix[x], 4);
        break;
      default:
        for (int64_t x = 0; x < c->OW; x++) memcpy(d + (int64_t)c->es * x, s + (int64_t)c->es * c->ix[x], c->es);
    }
  }
}

static tc_status resize_nearest(const void *src, void *dst, int64_t n, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                size_t es, bool exact, bool dbl) {
  int64_t *iy = tc_malloc((size_t)(OH + OW) * sizeof(int64_t));
  if (!iy) return TC_ERR_NOMEM;
  int64_t *ix = iy + OH;
  bool cl = OH + OW <= 128; /* PyTorch's _use_vectorized_kernel_cond_2d for channels-first images */
  nearest_index(iy, H, OH, exact, cl, dbl);
  nearest_index(ix, W, OW, exact, cl, dbl);
  near_ctx c = {src, dst, iy, ix, H, W, OH, OW, es};
  tc_parallel_for(n * OH, grain_for(OW, 1), nearest_rows, &c);
  tc_free(iy);
  return TC_OK;
}

/* ---- public API ----------------------------------------------------------------------------------------- */
static const char *interp_label(tv_interp m) {
  switch (m) {
    case TV_INTERP_NEAREST:
      return "nearest";
    case TV_INTERP_NEAREST_EXACT:
      return "nearest-exact";
    case TV_INTERP_BILINEAR:
      return "bilinear";
    case TV_INTERP_BICUBIC:
      return "bicubic";
  }
  return "?";
}

static tc_tensor *resize_impl(const char *fn, const tc_tensor *img, int64_t oh, int64_t ow, tv_interp m, bool aa) {
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  if ((int)m < TV_INTERP_NEAREST || m > TV_INTERP_BICUBIC) {
    tc_set_error(TC_ERR_ARG, "%s: unknown interpolation mode %d", fn, (int)m);
    return NULL;
  }
  if (oh < 1 || ow < 1) {
    tc_set_error(TC_ERR_ARG, "%s: the output size must be positive, got (%lld, %lld)", fn, (long long)oh,
                 (long long)ow);
    return NULL;
  }
  if (oh > INT32_MAX || ow > INT32_MAX || pl.h > INT32_MAX || pl.w > INT32_MAX) {
    tc_set_error(TC_ERR_ARG, "%s: sizes beyond 2^31 are not supported", fn);
    return NULL;
  }
  tc_dtype dt = tc_tensor_dtype(img);
  bool nearest = m == TV_INTERP_NEAREST || m == TV_INTERP_NEAREST_EXACT;
  if (!nearest && dt != TC_U8 && dt != TC_F32) {
    tc_set_error(TC_ERR_DTYPE, "%s: %s interpolation supports uint8 and float32 images, got %s", fn, interp_label(m),
                 tc_dtype_name(dt));
    return NULL;
  }
  if (nearest && (dt == TC_C64 || tc_dtype_size(dt) == 0)) {
    tc_set_error(TC_ERR_DTYPE, "%s: cannot resize %s images", fn, tc_dtype_name(dt));
    return NULL;
  }
  if (oh == pl.h && ow == pl.w) return tc_tensor_retain((tc_tensor *)img);
  tc_tensor *out = tv__empty_image(img, oh, ow);
  if (!out || pl.n == 0 || pl.h == 0 || pl.w == 0) return out;
  tc_tensor *x = tc_contiguous(img);
  if (!x) {
    tc_tensor_release(out);
    return NULL;
  }
  tc_status st =
      nearest ? resize_nearest(tc_tensor_data(x), tc_tensor_data(out), pl.n, pl.h, pl.w, oh, ow, tc_dtype_size(dt),
                               m == TV_INTERP_NEAREST_EXACT, dt == TC_F64)
              : resize_separable(tc_tensor_data(x), tc_tensor_data(out), pl.n, pl.h, pl.w, oh, ow, m, aa, dt == TC_U8);
  tc_tensor_release(x);
  if (st) {
    tc_tensor_release(out);
    tc_set_error(st, "%s: out of memory", fn);
    return NULL;
  }
  return out;
}

tc_tensor *tv_resize(const tc_tensor *img, int64_t h, int64_t w, tv_interp interp, bool antialias) {
  return resize_impl("tv_resize", img, h, w, interp, antialias);
}

tc_status tv_resize_shorter_size(int64_t in_h, int64_t in_w, int64_t size, int64_t max_size, int64_t *out_h,
                                 int64_t *out_w) {
  const char *fn = "tv_resize_shorter_size";
  if (!out_h || !out_w) return tc_set_error(TC_ERR_ARG, "%s: out_h/out_w is NULL", fn);
  if (size < 1) return tc_set_error(TC_ERR_ARG, "%s: size must be positive, got %lld", fn, (long long)size);
  if (in_h < 1 || in_w < 1)
    return tc_set_error(TC_ERR_SHAPE, "%s: cannot resize an empty %lldx%lld image by its shorter edge", fn,
                        (long long)in_h, (long long)in_w);
  if (max_size < 0 || (max_size > 0 && max_size <= size))
    return tc_set_error(TC_ERR_ARG,
                        "%s: max_size = %lld must be strictly greater than the requested size for the smaller "
                        "edge size = %lld",
                        fn, (long long)max_size, (long long)size);
  bool wide = in_w > in_h; /* torchvision: short = w when w <= h */
  int64_t sh = wide ? in_h : in_w, lg = wide ? in_w : in_h;
  int64_t new_short = size, new_long = (int64_t)((double)(size * lg) / (double)sh);
  if (max_size > 0 && new_long > max_size) {
    new_short = (int64_t)((double)(max_size * new_short) / (double)new_long);
    new_long = max_size;
  }
  *out_h = wide ? new_short : new_long;
  *out_w = wide ? new_long : new_short;
  return TC_OK;
}

tc_tensor *tv_resize_shorter(const tc_tensor *img, int64_t size, int64_t max_size, tv_interp interp, bool antialias) {
  const char *fn = "tv_resize_shorter";
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  int64_t oh, ow;
  if (tv_resize_shorter_size(pl.h, pl.w, size, max_size, &oh, &ow)) return NULL;
  return resize_impl(fn, img, oh, ow, interp, antialias);
}
