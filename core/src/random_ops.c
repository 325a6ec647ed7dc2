/* core/src/random_ops.c — random tensors (rand, randn, randint, randperm, *_like) and the random
 * in-place fills (uniform_, normal_, bernoulli_), number for number as PyTorch's CPU kernels
 * (aten/src/ATen/native/cpu/DistributionTemplates.h, TensorFactories.cpp) in a build with AVX2 or
 * AVX-512 kernels, which is what the x86-64 wheels run.
 *
 * Every op holds its generator (NULL = the default one, locked) for the whole op and draws:
 *  - in TensorIterator's element order: dims sorted by stride, innermost first, so a permuted
 *    tensor is filled in memory order, not logical order. Values are produced into a contiguous
 *    buffer in that order (the tensor's own memory when that order is its layout) and copied out;
 *  - rand / uniform_: float, f16 and bf16 from 24 bits of one 32-bit draw (computed in float, then
 *    rounded), f64 from 53 bits of one 64-bit draw; `from + x * (to - from)` fused as PyTorch's
 *    compiled kernels do; a value that rounds up to `to` becomes `from`;
 *  - randn / normal_: a contiguous tensor of >= 16 elements goes through normal_fill: all uniforms
 *    first, Box-Muller in blocks of 16 (u[0..8) with u[8..16)), and when numel % 16 != 0 the last 16
 *    elements are redrawn and recomputed (f16/bf16 draw block by block into a float buffer).
 *    Float blocks use the Cephes-style log/sincos of PyTorch's avx_mathfun.h, with the FMAs the
 *    compiler formed there; double blocks use libm. Other tensors draw per element from
 *    normal_distribution<double>, which caches the second Box-Muller sample in the generator;
 *  - randint: (draw % range) + low with a 32-bit draw when range < 2^28, else a 64-bit draw;
 *  - randperm: the swap shuffle with 32-bit draws for n < 2^32 / 20, inside-out Fisher-Yates with
 *    64-bit draws above;
 *  - bernoulli_(p): one 53-bit uniform per element (u < p); bernoulli(p tensor): a 24-bit uniform
 *    per element for float/f16/bf16 probabilities, 53-bit for double.
 * Complex tensors are filled as their (re, im) float view, as PyTorch (randn's std / sqrt(2)).
 *
 * Tensors on a device are drawn on the host from the same generator, in the order the CPU visits
 * a tensor of the same layout, and copied over: one seed gives the same numbers on every device
 * (PyTorch's CUDA generator is a separate stream; dropout's masks come from the device's own
 * counter-based generator, nn/dropout.c).
 */
#include <math.h>
#include <string.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define TC__BM_AVX2 1
#endif
#include "random_internal.h"

/* ==== Box-Muller for float: PyTorch's NormalFill16<float> (AVX2) =============================== */

/* Cephes single-precision coefficients (Julien Pommier's sse_mathfun / avx_mathfun), converted
 * from the double literals exactly as the float constant arrays there are. */
#define LOG_SQRTHF ((float)0.707106781186547524)
#define LOG_Q1 ((float)-2.12194440e-4)
#define LOG_Q2 ((float)0.693359375)
static const float LOG_P[9] = {(float)7.0376836292E-2,  (float)-1.1514610310E-1, (float)1.1676998740E-1,
                               (float)-1.2420140846E-1, (float)1.4249322787E-1,  (float)-1.6668057665E-1,
                               (float)2.0000714765E-1,  (float)-2.4999993993E-1, (float)3.3333331174E-1};
#define SC_DP1 ((float)-0.78515625)
#define SC_DP2 ((float)-2.4187564849853515625e-4)
#define SC_DP3 ((float)-3.77489497744594108e-8)
#define SIN_P0 ((float)-1.9515295891E-4)
#define SIN_P1 ((float)8.3321608736E-3)
#define SIN_P2 ((float)-1.6666654611E-1)
#define COS_P0 ((float)2.443315711809948E-005)
#define COS_P1 ((float)-1.388731625493765E-003)
#define COS_P2 ((float)4.166664568298827E-002)
#define FOUR_OVER_PI ((float)1.27323954473516)
#define TWO_PI_F ((float)(2.0 * M_PI))

static inline uint32_t f2u(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static inline float u2f(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* One lane of log256_ps: the operations (and fused multiply-adds) of the vector code, in order.
 * This file is compiled as ISO C, so the compiler forms no FMA other than the fmaf() calls. */
static inline float cephes_logf(float x) {
  bool invalid = x <= 0.0f;
  x = x > u2f(0x00800000u) ? x : u2f(0x00800000u); /* _mm256_max_ps(x, FLT_MIN) */
  int32_t ex = (int32_t)(f2u(x) >> 23) - 0x7f;
  x = u2f((f2u(x) & ~0x7f800000u) | f2u(0.5f));
  float e = (float)ex + 1.0f;
  bool small = x < LOG_SQRTHF;
  float tmp = small ? x : 0.0f;
  x = x - 1.0f;
  e = e - (small ? 1.0f : 0.0f);
  x = x + tmp;
  float z = x * x;
  float y = LOG_P[0];
  for (int k = 1; k < 9; k++) y = fmaf(y, x, LOG_P[k]);
  y = y * x;
  y = fmaf(y, z, e * LOG_Q1);
  y = fmaf(-z, 0.5f, y);
  x = x + y;
  x = fmaf(e, LOG_Q2, x);
  return invalid ? u2f(0xffffffffu) : x;
}

/* One lane of sincos256_ps. */
static inline void cephes_sincosf(float xin, float *s, float *c) {
  uint32_t sign_sin = f2u(xin) & 0x80000000u;
  float x = u2f(f2u(xin) & 0x7fffffffu);
  float y = x * FOUR_OVER_PI;
  /* cvttps: truncation; out of range or NaN gives INT32_MIN */
  uint32_t j = (y < 2147483648.0f) ? (uint32_t)(int32_t)y : 0x80000000u;
  j = (j + 1u) & ~1u;
  y = (float)(int32_t)j;
  uint32_t swap_sin = (j & 4u) << 29;
  bool poly_sin = (j & 2u) == 0;
  x = fmaf(y, SC_DP1, x);
  x = fmaf(y, SC_DP2, x);
  x = fmaf(y, SC_DP3, x);
  uint32_t sign_cos = (~(j - 2u) & 4u) << 29;
  sign_sin ^= swap_sin;
  float z = x * x;
  float yc = fmaf(COS_P0, z, COS_P1);
  yc = fmaf(yc, z, COS_P2);
  yc = yc * z;
  yc = fmaf(yc, z, -(z * 0.5f));
  yc = yc + 1.0f;
  float ys = fmaf(SIN_P0, z, SIN_P1);
  ys = fmaf(ys, z, SIN_P2);
  ys = ys * z;
  ys = fmaf(ys, x, x);
  float ysin2 = poly_sin ? ys : 0.0f, ysin1 = poly_sin ? 0.0f : yc;
  ys = ys - ysin2;
  yc = yc - ysin1;
  *s = u2f(f2u(ysin1 + ysin2) ^ sign_sin);
  *c = u2f(f2u(yc + ys) ^ sign_cos);
}

static void bm16_scalar(float *d, float mean, float std) {
  for (int j = 0; j < 8; j++) {
    float u1 = 1.0f - d[j], u2 = d[j + 8];
    float radius = sqrtf(-2.0f * cephes_logf(u1));
    float s, c;
    cephes_sincosf(TWO_PI_F * u2, &s, &c);
    d[j] = fmaf(radius * c, std, mean);
    d[j + 8] = fmaf(radius * s, std, mean);
  }
}

#ifdef TC__BM_AVX2
static inline __m256 log8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 invalid = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OS);
  x = _mm256_max_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x00800000)));
  __m256i ex = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_castps_si256(x), 23), _mm256_set1_epi32(0x7f));
  x = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(~0x7f800000)));
  x = _mm256_or_ps(x, _mm256_set1_ps(0.5f));
  __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(ex), one);
  __m256 small = _mm256_cmp_ps(x, _mm256_set1_ps(LOG_SQRTHF), _CMP_LT_OS);
  __m256 tmp = _mm256_and_ps(x, small);
  x = _mm256_sub_ps(x, one);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
  x = _mm256_add_ps(x, tmp);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(LOG_P[0]);
  for (int k = 1; k < 9; k++) y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(LOG_P[k]));
  y = _mm256_mul_ps(y, x);
  y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(e, _mm256_set1_ps(LOG_Q1)));
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  x = _mm256_add_ps(x, y);
  x = _mm256_fmadd_ps(e, _mm256_set1_ps(LOG_Q2), x);
  return _mm256_or_ps(x, invalid);
}

static inline void sincos8(__m256 x, __m256 *s, __m256 *c) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
  __m256 sign_sin = _mm256_and_ps(x, sign);
  x = _mm256_andnot_ps(sign, x);
  __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(FOUR_OVER_PI)));
  j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
  __m256 y = _mm256_cvtepi32_ps(j);
  __m256 swap_sin = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, _mm256_set1_epi32(4)), 29));
  __m256 poly_sin =
      _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), _mm256_setzero_si256()));
  x = _mm256_fmadd_ps(y, _mm256_set1_ps(SC_DP1), x);
  x = _mm256_fmadd_ps(y, _mm256_set1_ps(SC_DP2), x);
  x = _mm256_fmadd_ps(y, _mm256_set1_ps(SC_DP3), x);
  __m256i jc = _mm256_andnot_si256(_mm256_sub_epi32(j, _mm256_set1_epi32(2)), _mm256_set1_epi32(4));
  __m256 sign_cos = _mm256_castsi256_ps(_mm256_slli_epi32(jc, 29));
  sign_sin = _mm256_xor_ps(sign_sin, swap_sin);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 yc = _mm256_fmadd_ps(_mm256_set1_ps(COS_P0), z, _mm256_set1_ps(COS_P1));
  yc = _mm256_fmadd_ps(yc, z, _mm256_set1_ps(COS_P2));
  yc = _mm256_mul_ps(yc, z);
  yc = _mm256_fmsub_ps(yc, z, _mm256_mul_ps(z, _mm256_set1_ps(0.5f)));
  yc = _mm256_add_ps(yc, _mm256_set1_ps(1.0f));
  __m256 ys = _mm256_fmadd_ps(_mm256_set1_ps(SIN_P0), z, _mm256_set1_ps(SIN_P1));
  ys = _mm256_fmadd_ps(ys, z, _mm256_set1_ps(SIN_P2));
  ys = _mm256_mul_ps(ys, z);
  ys = _mm256_fmadd_ps(ys, x, x);
  __m256 ysin2 = _mm256_and_ps(poly_sin, ys), ysin1 = _mm256_andnot_ps(poly_sin, yc);
  ys = _mm256_sub_ps(ys, ysin2);
  yc = _mm256_sub_ps(yc, ysin1);
  *s = _mm256_xor_ps(_mm256_add_ps(ysin1, ysin2), sign_sin);
  *c = _mm256_xor_ps(_mm256_add_ps(yc, ys), sign_cos);
}

static inline void bm16_avx2(float *d, __m256 mean, __m256 std) {
  __m256 u1 = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_loadu_ps(d));
  __m256 u2 = _mm256_loadu_ps(d + 8);
  __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), log8(u1)));
  __m256 s, c;
  sincos8(_mm256_mul_ps(_mm256_set1_ps(TWO_PI_F), u2), &s, &c);
  _mm256_storeu_ps(d, _mm256_fmadd_ps(_mm256_mul_ps(radius, c), std, mean));
  _mm256_storeu_ps(d + 8, _mm256_fmadd_ps(_mm256_mul_ps(radius, s), std, mean));
}
#endif

void tc__box_muller16_f32(float *d, float mean, float std, bool force_scalar) {
#ifdef TC__BM_AVX2
  if (!force_scalar) {
    bm16_avx2(d, _mm256_set1_ps(mean), _mm256_set1_ps(std));
    return;
  }
#endif
  (void)force_scalar;
  bm16_scalar(d, mean, std);
}

/* Box-Muller over blocks [b0, b1) of 16 floats. */
typedef struct {
  float *d;
  float mean, std;
} bm_ctx;

static void bm_blocks_f32(int64_t b0, int64_t b1, void *p) {
  const bm_ctx *c = p;
#ifdef TC__BM_AVX2
  __m256 mean = _mm256_set1_ps(c->mean), std = _mm256_set1_ps(c->std);
  for (int64_t b = b0; b < b1; b++) bm16_avx2(c->d + 16 * b, mean, std);
#else
  for (int64_t b = b0; b < b1; b++) bm16_scalar(c->d + 16 * b, c->mean, c->std);
#endif
}

/* PyTorch's NormalFill16<double>: libm log/cos/sin and an explicit fma. */
static void bm16_f64(double *d, double mean, double std) {
  for (int j = 0; j < 8; j++) {
    double u1 = 1 - d[j], u2 = d[j + 8];
    double radius = sqrt(-2 * log(u1));
    double theta = (2.0 * M_PI) * u2;
    d[j] = fma(radius * cos(theta), std, mean);
    d[j + 8] = fma(radius * sin(theta), std, mean);
  }
}

typedef struct {
  double *d;
  double mean, std;
} bm64_ctx;

static void bm_blocks_f64(int64_t b0, int64_t b1, void *p) {
  const bm64_ctx *c = p;
  for (int64_t b = b0; b < b1; b++) bm16_f64(c->d + 16 * b, c->mean, c->std);
}

/* Blocks per parallel task: the transform is pure (no generator), so any split gives the same bits. */
#define BM_GRAIN 4096

/* ==== value generators: n values of dtype dt, in iteration order, into contiguous `out` ======== */

/* What a fill produces; parameters by kind. */
typedef enum { GEN_UNIFORM, GEN_NORMAL, GEN_BERNOULLI, GEN_BERNOULLI_T, GEN_RANDINT } gen_kind;

typedef struct {
  gen_kind kind;
  double a, b;       /* uniform: from, to; normal: mean, std; bernoulli: p */
  uint64_t range;    /* randint */
  int64_t base;      /* randint */
  const void *probs; /* bernoulli tensor: probabilities in iteration order */
  bool probs_f64;    /* ... as double (else float) */
  bool normal_fill;  /* normal: the contiguous >= 16 path */
} gen_spec;

/* Writes k int64 values (0/1, or integers in the dtype's range) converted to dt. */
static void put_i64(char *out, tc_dtype dt, const int64_t *v, int64_t k) {
  switch (dt) {
    case TC_I64:
      memcpy(out, v, (size_t)k * sizeof *v);
      break;
    case TC_I32:
      for (int64_t i = 0; i < k; i++) ((int32_t *)(void *)out)[i] = (int32_t)v[i];
      break;
    case TC_I16:
      for (int64_t i = 0; i < k; i++) ((int16_t *)(void *)out)[i] = (int16_t)v[i];
      break;
    case TC_I8:
      for (int64_t i = 0; i < k; i++) ((int8_t *)(void *)out)[i] = (int8_t)v[i];
      break;
    case TC_U8:
      for (int64_t i = 0; i < k; i++) ((uint8_t *)(void *)out)[i] = (uint8_t)v[i];
      break;
    case TC_U16:
      for (int64_t i = 0; i < k; i++) ((uint16_t *)(void *)out)[i] = (uint16_t)v[i];
      break;
    case TC_BOOL:
      for (int64_t i = 0; i < k; i++) ((bool *)(void *)out)[i] = v[i] != 0;
      break;
    case TC_F32:
      for (int64_t i = 0; i < k; i++) ((float *)(void *)out)[i] = (float)v[i];
      break;
    case TC_F64:
      for (int64_t i = 0; i < k; i++) ((double *)(void *)out)[i] = (double)v[i];
      break;
    case TC_F16:
      for (int64_t i = 0; i < k; i++) ((uint16_t *)(void *)out)[i] = tc_float_to_half((float)v[i]);
      break;
    case TC_BF16:
      for (int64_t i = 0; i < k; i++) ((uint16_t *)(void *)out)[i] = tc_float_to_bf16((float)v[i]);
      break;
    default:
      TC_ASSERT(0 && "put_i64: dtype");
  }
}

static inline uint16_t to_half(tc_dtype dt, float v) {
  return dt == TC_F16 ? tc_float_to_half(v) : tc_float_to_bf16(v);
}
static inline float from_half(tc_dtype dt, uint16_t h) {
  return dt == TC_F16 ? tc_half_to_float(h) : tc_bf16_to_float(h);
}

enum { CHUNK = 1024 };

static void gen_uniform(tc_generator *g, char *out, tc_dtype dt, int64_t n, double from_, double to_) {
  if (dt == TC_F64) {
    double *o = (double *)(void *)out, from = from_, to = to_, span = to - from;
    tc__gen_fill_uniform_f64(g, o, n);
    for (int64_t i = 0; i < n; i++) {
      double v = fma(o[i], span, from);
      o[i] = v == to ? from : v;
    }
    return;
  }
  float from = (float)from_, to = (float)to_, span = to - from;
  if (dt == TC_F32) {
    float *o = (float *)(void *)out;
    tc__gen_fill_uniform_f32(g, o, n);
    for (int64_t i = 0; i < n; i++) {
      float v = fmaf(o[i], span, from);
      o[i] = v == to ? from : v;
    }
    return;
  }
  /* f16/bf16: computed in float, rounded, then clamped in the narrow type */
  uint16_t *o = (uint16_t *)(void *)out;
  uint16_t from_h = to_half(dt, from);
  float to_r = from_half(dt, to_half(dt, to));
  float buf[CHUNK];
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
    tc__gen_fill_uniform_f32(g, buf, k);
    for (int64_t i = 0; i < k; i++) {
      uint16_t h = to_half(dt, fmaf(buf[i], span, from));
      o[i0 + i] = from_half(dt, h) == to_r ? from_h : h;
    }
  }
}

/* Per element normal_distribution<double>(mean, std), cast to dt (f16/bf16 through float). */
static void gen_normal_scalar(tc_generator *g, char *out, tc_dtype dt, int64_t n, double mean, double std) {
  for (int64_t i = 0; i < n; i++) {
    double v = fma(tc__gen_normal_f64(g), std, mean);
    switch (dt) {
      case TC_F64:
        ((double *)(void *)out)[i] = v;
        break;
      case TC_F32:
        ((float *)(void *)out)[i] = (float)v;
        break;
      default:
        ((uint16_t *)(void *)out)[i] = to_half(dt, (float)v);
        break;
    }
  }
}

/* normal_fill (n >= 16). */
static void gen_normal_fill(tc_generator *g, char *out, tc_dtype dt, int64_t n, double mean, double std) {
  int64_t nb = n / 16;
  if (dt == TC_F32) {
    float *d = (float *)(void *)out;
    tc__gen_fill_uniform_f32(g, d, n);
    bm_ctx c = {d, (float)mean, (float)std};
    tc_parallel_for(nb, BM_GRAIN, bm_blocks_f32, &c);
    if (n % 16) {
      c.d = d + n - 16;
      tc__gen_fill_uniform_f32(g, c.d, 16);
      bm_blocks_f32(0, 1, &c);
    }
  } else if (dt == TC_F64) {
    double *d = (double *)(void *)out;
    tc__gen_fill_uniform_f64(g, d, n);
    bm64_ctx c = {d, mean, std};
    tc_parallel_for(nb, BM_GRAIN / 4, bm_blocks_f64, &c);
    if (n % 16) {
      c.d = d + n - 16;
      tc__gen_fill_uniform_f64(g, c.d, 16);
      bm_blocks_f64(0, 1, &c);
    }
  } else {
    /* f16/bf16: each block drawn into a float buffer, transformed, rounded */
    uint16_t *d = (uint16_t *)(void *)out;
    float buf[16];
    for (int64_t b = 0; b < nb + (n % 16 != 0); b++) {
      int64_t off = b < nb ? 16 * b : n - 16; /* the last, partial block is redone as the last 16 */
      tc__gen_fill_uniform_f32(g, buf, 16);
      tc__box_muller16_f32(buf, (float)mean, (float)std, false);
      for (int j = 0; j < 16; j++) d[off + j] = to_half(dt, buf[j]);
    }
  }
}

static void gen_randint(tc_generator *g, char *out, tc_dtype dt, int64_t n, uint64_t range, int64_t base) {
  int64_t v[CHUNK];
  uint32_t u[2 * CHUNK];
  size_t es = tc_dtype_size(dt);
  bool wide = range >= (UINT64_C(1) << 28);
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
    if (wide) {
      tc__gen_fill_u32(g, u, 2 * k);
      for (int64_t i = 0; i < k; i++)
        v[i] = (int64_t)((((uint64_t)u[2 * i] << 32 | u[2 * i + 1]) % range) + (uint64_t)base);
    } else {
      tc__gen_fill_u32(g, u, k);
      uint32_t r = (uint32_t)range;
      for (int64_t i = 0; i < k; i++) v[i] = (int64_t)((uint64_t)(u[i] % r) + (uint64_t)base);
    }
    put_i64(out + (size_t)i0 * es, dt, v, k);
  }
}

static void gen_bernoulli(tc_generator *g, char *out, tc_dtype dt, int64_t n, const gen_spec *s) {
  int64_t v[CHUNK];
  double ud[CHUNK];
  float uf[CHUNK];
  size_t es = tc_dtype_size(dt);
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
    if (s->kind == GEN_BERNOULLI) {
      tc__gen_fill_uniform_f64(g, ud, k);
      for (int64_t i = 0; i < k; i++) v[i] = ud[i] < s->a;
    } else if (s->probs_f64) {
      const double *p = (const double *)s->probs + i0;
      tc__gen_fill_uniform_f64(g, ud, k);
      for (int64_t i = 0; i < k; i++) v[i] = ud[i] < p[i];
    } else {
      const float *p = (const float *)s->probs + i0;
      tc__gen_fill_uniform_f32(g, uf, k);
      for (int64_t i = 0; i < k; i++) v[i] = uf[i] < p[i];
    }
    put_i64(out + (size_t)i0 * es, dt, v, k);
  }
}

static void generate(tc_generator *g, char *out, tc_dtype dt, int64_t n, const gen_spec *s) {
  switch (s->kind) {
    case GEN_UNIFORM:
      gen_uniform(g, out, dt, n, s->a, s->b);
      break;
    case GEN_NORMAL:
      if (s->normal_fill)
        gen_normal_fill(g, out, dt, n, s->a, s->b);
      else
        gen_normal_scalar(g, out, dt, n, s->a, s->b);
      break;
    case GEN_RANDINT:
      gen_randint(g, out, dt, n, s->range, s->base);
      break;
    case GEN_BERNOULLI:
    case GEN_BERNOULLI_T:
      gen_bernoulli(g, out, dt, n, s);
      break;
  }
}

/* ==== element order ========================================================================== */

/* TensorIterator's dim order for one operand with element strides st (reorder_dims): perm[0] is the
 * innermost dim. Starts from the reversed dims and insertion-sorts by stride; stride-0 dims compare
 * as ambiguous and equal strides put the smaller size inside. Returns outermost first in out. */
static void iteration_order(const int64_t *sizes, const int64_t *st, int nd, int *out) {
  int perm[TC_MAX_DIMS];
  for (int i = 0; i < nd; i++) perm[i] = nd - 1 - i;
  for (int i = 1; i < nd; i++) {
    int d1 = i;
    for (int d0 = i - 1; d0 >= 0; d0--) {
      int a = perm[d0], b = perm[d1], cmp = 0;
      if (st[a] != 0 && st[b] != 0) {
        if (st[a] < st[b])
          cmp = -1;
        else if (st[a] > st[b])
          cmp = 1;
        else if (sizes[a] > sizes[b])
          cmp = 1;
      }
      if (cmp > 0) {
        perm[d0] = b;
        perm[d1] = a;
        d1 = d0;
      } else if (cmp < 0) {
        break;
      }
    }
  }
  for (int i = 0; i < nd; i++) out[i] = perm[nd - 1 - i];
}

/* Contiguous in PyTorch's sense (size-1 dims ignored). */
static bool strides_contiguous(const int64_t *sizes, const int64_t *st, int nd) {
  int64_t expected = 1;
  for (int i = nd - 1; i >= 0; i--) {
    if (sizes[i] == 0) return true;
    if (sizes[i] != 1 && st[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

/* is_non_overlapping_and_dense: some permutation of the dims is contiguous. */
static bool dense(const int64_t *sizes, const int64_t *st, int nd) {
  int perm[TC_MAX_DIMS], m = 0;
  for (int i = 0; i < nd; i++)
    if (sizes[i] != 1) perm[m++] = i;
  for (int i = 1; i < m; i++) /* sort by stride, ascending */
    for (int j = i; j > 0 && st[perm[j - 1]] > st[perm[j]]; j--) {
      int t = perm[j];
      perm[j] = perm[j - 1];
      perm[j - 1] = t;
    }
  int64_t expected = 1;
  for (int i = 0; i < m; i++) {
    if (sizes[perm[i]] == 0) return true;
    if (st[perm[i]] != expected) return false;
    expected *= sizes[perm[i]];
  }
  return true;
}

/* Fills dst with s's values in the order PyTorch visits a tensor of dst's shape laid out with
 * strides `layout` (dst's own strides for an in-place fill; the strides the *_like result would
 * have in PyTorch otherwise). dst is a CPU tensor of a real dtype. */
static tc_status fill(tc_tensor *dst, const int64_t *layout, tc_generator *gen, gen_spec *s) {
  int nd = dst->ndim;
  int64_t n = tc__numel(dst->sizes, nd);
  if (n == 0) return TC_OK;
  int order[TC_MAX_DIMS];
  iteration_order(dst->sizes, layout, nd, order);
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    sizes[i] = dst->sizes[order[i]];
    strides[i] = dst->strides[order[i]];
  }
  if (s->kind == GEN_NORMAL) s->normal_fill = n >= 16 && strides_contiguous(dst->sizes, layout, nd);
  tc_generator *g = tc__gen_or_default(gen);
  if (strides_contiguous(sizes, strides, nd)) { /* visiting order is dst's memory order */
    tc__gen_lock(g);
    generate(g, tc__ptr(dst), dst->dtype, n, s);
    tc__gen_unlock(g);
    return TC_OK;
  }
  tc_tensor *view = tc__view(dst, sizes, strides, nd, dst->offset);
  tc_tensor *tmp = view ? tc__empty(sizes, nd, dst->dtype, tc_cpu()) : NULL;
  if (!tmp) {
    tc_tensor_release(view);
    return tc_last_status();
  }
  tc__gen_lock(g);
  generate(g, tc__ptr(tmp), dst->dtype, n, s);
  tc__gen_unlock(g);
  tc__cpu_copy(view, tmp);
  tc_tensor_release(tmp);
  tc_tensor_release(view);
  return TC_OK;
}

/* A complex tensor's (..., 2) float view (view_as_real); layout converted the same way. */
static tc_tensor *real_view(const tc_tensor *t, const int64_t *layout, int64_t *layout_out) {
  int nd = t->ndim;
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    sizes[i] = t->sizes[i];
    strides[i] = 2 * t->strides[i];
    layout_out[i] = 2 * layout[i];
  }
  sizes[nd] = 2;
  strides[nd] = 1;
  layout_out[nd] = 1;
  tc_tensor *v = tc__view(t, sizes, strides, nd + 1, 2 * t->offset);
  if (v) v->dtype = TC_F32;
  return v;
}

/* fill() for real dtypes, through the float view for complex ones. */
static tc_status fill_any(const char *fn, tc_tensor *dst, const int64_t *layout, tc_generator *gen, gen_spec *s) {
  if (dst->dtype != TC_C64) return fill(dst, layout, gen, s);
  if (dst->ndim >= TC_MAX_DIMS)
    return tc__error(TC_ERR_UNSUPPORTED, "%s: a complex tensor with %d dims has no float view (at most %d dims)", fn,
                     dst->ndim, TC_MAX_DIMS - 1);
  int64_t rl[TC_MAX_DIMS];
  tc_tensor *v = real_view(dst, layout, rl);
  if (!v) return tc_last_status();
  tc_status st = fill(v, rl, gen, s);
  tc_tensor_release(v);
  return st;
}

/* ==== checks shared by the ops =============================================================== */

/* The CPU tensor h (consumed) moved to dev; h itself when dev is the CPU. */
static tc_tensor *to_dev(tc_tensor *h, tc_device dev) {
  if (!h || dev.type == TC_DEVICE_CPU) return h;
  tc_tensor *d = tc_tensor_to(h, dev);
  tc_tensor_release(h);
  return d;
}

/* fill_any for an in-place op on any device: a device tensor is filled through a host tensor of its
 * shape, drawn in the order of t's own layout. */
static tc_status fill_inplace(const char *fn, tc_tensor *t, tc_generator *gen, gen_spec *s) {
  if (tc__is_cpu(t)) return fill_any(fn, t, t->strides, gen, s);
  tc_tensor *h = tc__empty(t->sizes, t->ndim, t->dtype, tc_cpu());
  tc_status st = h ? fill_any(fn, h, t->strides, gen, s) : tc_last_status();
  tc_tensor *d = st ? NULL : to_dev(h, t->storage->device);
  if (st) tc_tensor_release(h);
  else st = d ? tc__copy(t, d) : tc_last_status();
  tc_tensor_release(d);
  return st;
}

static tc_status check_inplace(const char *fn, const tc_tensor *t) {
  for (int i = 0; i < t->ndim; i++)
    if (t->strides[i] == 0 && t->sizes[i] > 1)
      return tc__error(TC_ERR_ARG,
                       "%s: more than one element of the written-to tensor (shape %s, stride 0 in dim %d) refers to "
                       "a single memory location; clone it first",
                       fn, tc__tshape(t), i);
  return TC_OK;
}

static double dtype_max(tc_dtype d) {
  switch (d) {
    case TC_F16:
      return 65504.0;
    case TC_BF16:
      return 3.3895313892515355e38;
    case TC_F32:
    case TC_C64:
      return 3.4028234663852886e38;
    default:
      return 1.7976931348623157e308;
  }
}

/* uniform_'s checks (PyTorch's check_uniform_bounds): float dtypes, from and to in range, from <= to,
 * to - from representable. */
static tc_status check_uniform(const char *fn, tc_dtype dt, double from, double to) {
  if (!tc_dtype_is_floating(dt) && dt != TC_C64)
    return tc__error(TC_ERR_DTYPE, "%s: uniform values need a floating-point dtype, got %s", fn, tc_dtype_name(dt));
  double mx = dtype_max(dt);
  if (!(from >= -mx && from <= mx))
    return tc__error(TC_ERR_ARG, "%s: from=%g is out of bounds for %s", fn, from, tc_dtype_name(dt));
  if (!(to >= -mx && to <= mx))
    return tc__error(TC_ERR_ARG, "%s: to=%g is out of bounds for %s", fn, to, tc_dtype_name(dt));
  if (from > to)
    return tc__error(TC_ERR_ARG, "%s: expects a [from, to) range, but found from=%g > to=%g", fn, from, to);
  if (to - from > mx)
    return tc__error(TC_ERR_ARG, "%s: to - from exceeds the largest %s (to=%g, from=%g)", fn, tc_dtype_name(dt), to,
                     from);
  return TC_OK;
}

static tc_status check_normal(const char *fn, tc_dtype dt, double std) {
  if (!tc_dtype_is_floating(dt) && dt != TC_C64)
    return tc__error(TC_ERR_DTYPE, "%s: normal values need a floating-point dtype, got %s", fn, tc_dtype_name(dt));
  if (!(std >= 0.0)) return tc__error(TC_ERR_ARG, "%s: expects std >= 0.0, but found std %g", fn, std);
  return TC_OK;
}

/* Validates shape, dtype validity and device, then makes the contiguous result on the CPU (the
 * caller moves it to dev with to_dev once filled). */
static tc_tensor *make(const char *fn, const int64_t *shape, int64_t ndim, tc_dtype dt, tc_device dev) {
  if (ndim < 0 || ndim > TC_MAX_DIMS) {
    tc__error(TC_ERR_ARG, "%s: ndim %lld out of range [0, %d]", fn, (long long)ndim, TC_MAX_DIMS);
    return NULL;
  }
  if (ndim && !shape) {
    tc__error(TC_ERR_ARG, "%s: shape is NULL with ndim %lld", fn, (long long)ndim);
    return NULL;
  }
  for (int64_t i = 0; i < ndim; i++)
    if (shape[i] < 0) {
      tc__error(TC_ERR_SHAPE, "%s: negative size %lld in shape %s", fn, (long long)shape[i],
                tc__shape_str(shape, (int)ndim));
      return NULL;
    }
  if (tc__check_device(fn, dev)) return NULL;
  return tc__empty(shape, (int)ndim, dt, tc_cpu());
}

static bool valid_dtype(const char *fn, tc_dtype dt) {
  if (tc__dtype_valid(dt) && dt != TC_DTYPE_DEFAULT) return true;
  tc__error(TC_ERR_DTYPE, "%s: invalid dtype %d", fn, (int)dt);
  return false;
}

/* Makes the result and fills it; `layout` NULL means contiguous (the factories), else the strides
 * PyTorch's *_like result would have. */
static tc_tensor *make_filled(const char *fn, const int64_t *shape, int64_t ndim, tc_dtype dt, tc_device dev,
                              tc_generator *gen, gen_spec *s, const int64_t *layout) {
  tc_tensor *t = make(fn, shape, ndim, dt, dev);
  if (!t) return NULL;
  if (fill_any(fn, t, layout ? layout : t->strides, gen, s)) {
    tc_tensor_release(t);
    return NULL;
  }
  return to_dev(t, dev);
}

/* ==== factories ============================================================================== */

tc_tensor *tc_rand(const int64_t *shape, int64_t ndim, const tc_options *opt) {
  const char *fn = "tc_rand";
  tc_dtype dt = tc__opt_dtype(opt, TC_F32);
  if (!valid_dtype(fn, dt) || check_uniform(fn, dt, 0.0, 1.0)) return NULL;
  gen_spec s = {.kind = GEN_UNIFORM, .a = 0.0, .b = 1.0};
  return make_filled(fn, shape, ndim, dt, tc__opt_device(opt), opt ? opt->generator : NULL, &s, NULL);
}

tc_tensor *tc_randn(const int64_t *shape, int64_t ndim, const tc_options *opt) {
  const char *fn = "tc_randn";
  tc_dtype dt = tc__opt_dtype(opt, TC_F32);
  if (!valid_dtype(fn, dt) || check_normal(fn, dt, 1.0)) return NULL;
  gen_spec s = {.kind = GEN_NORMAL, .a = 0.0, .b = dt == TC_C64 ? 1.0 / sqrt(2.0) : 1.0};
  return make_filled(fn, shape, ndim, dt, tc__opt_device(opt), opt ? opt->generator : NULL, &s, NULL);
}

/* The strides PyTorch's empty_like (preserve format) gives: t's when dense, else contiguous. */
static const int64_t *like_layout(const tc_tensor *t, int64_t *buf) {
  if (dense(t->sizes, t->strides, t->ndim)) return t->strides;
  tc__contiguous_strides(t->sizes, t->ndim, buf);
  return buf;
}

tc_tensor *tc_rand_like(const tc_tensor *t, const tc_options *opt) {
  const char *fn = "tc_rand_like";
  TC__NONNULL_T(t, fn);
  tc_options o = tc__like_opts(t, opt);
  if (!valid_dtype(fn, o.dtype) || check_uniform(fn, o.dtype, 0.0, 1.0)) return NULL;
  gen_spec s = {.kind = GEN_UNIFORM, .a = 0.0, .b = 1.0};
  int64_t buf[TC_MAX_DIMS];
  return make_filled(fn, t->sizes, t->ndim, o.dtype, o.device, o.generator, &s, like_layout(t, buf));
}

tc_tensor *tc_randn_like(const tc_tensor *t, const tc_options *opt) {
  const char *fn = "tc_randn_like";
  TC__NONNULL_T(t, fn);
  tc_options o = tc__like_opts(t, opt);
  if (!valid_dtype(fn, o.dtype) || check_normal(fn, o.dtype, 1.0)) return NULL;
  gen_spec s = {.kind = GEN_NORMAL, .a = 0.0, .b = o.dtype == TC_C64 ? 1.0 / sqrt(2.0) : 1.0};
  int64_t buf[TC_MAX_DIMS];
  return make_filled(fn, t->sizes, t->ndim, o.dtype, o.device, o.generator, &s, like_layout(t, buf));
}

/* PyTorch's update_from / update_to: for float dtypes, move a bound that does not survive the
 * round trip through the dtype to the nearest representable value inside [from, to). */
static int64_t float_digits(tc_dtype dt) { return dt == TC_F16 ? 11 : dt == TC_BF16 ? 8 : dt == TC_F32 ? 24 : 53; }
static int64_t round_trip(tc_dtype dt, int64_t v) {
  double d = (double)v;
  switch (dt) {
    case TC_F32:
      d = (double)(float)d;
      break;
    case TC_F16:
      d = (double)tc_half_to_float(tc_float_to_half((float)d));
      break;
    case TC_BF16:
      d = (double)tc_bf16_to_float(tc_float_to_bf16((float)d));
      break;
    default:
      break;
  }
  return tc__double_to_i64(d);
}
static int64_t update_from(tc_dtype dt, int64_t from) {
  int64_t fp1 = round_trip(dt, from + 1);
  if (fp1 < from) {
    int64_t a = from + 1 < 0 ? -(from + 1) : from + 1;
    int bits = 0;
    while (a >>= 1) ++bits;
    from = fp1 + ((int64_t)1 << (bits - float_digits(dt) + 1));
  }
  return from;
}
static int64_t update_to(tc_dtype dt, int64_t to) {
  int64_t tm1 = round_trip(dt, to - 1);
  if (tm1 >= to) {
    int64_t a = to - 1 < 0 ? -(to - 1) : to - 1;
    int bits = 0;
    while (a >>= 1) ++bits;
    to = tm1 - ((int64_t)1 << (bits - float_digits(dt) + 1));
  }
  return to;
}

static bool int_bounds(tc_dtype dt, int64_t *mn, int64_t *mx) {
  switch (dt) {
    case TC_I64:
      *mn = INT64_MIN;
      *mx = INT64_MAX;
      return true;
    case TC_I32:
      *mn = INT32_MIN;
      *mx = INT32_MAX;
      return true;
    case TC_I16:
      *mn = INT16_MIN;
      *mx = INT16_MAX;
      return true;
    case TC_I8:
      *mn = INT8_MIN;
      *mx = INT8_MAX;
      return true;
    case TC_U8:
      *mn = 0;
      *mx = UINT8_MAX;
      return true;
    case TC_U16:
      *mn = 0;
      *mx = UINT16_MAX;
      return true;
    case TC_BOOL:
      *mn = 0;
      *mx = 1;
      return true;
    default:
      return false;
  }
}

tc_tensor *tc_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, const tc_options *opt) {
  const char *fn = "tc_randint";
  tc_dtype dt = tc__opt_dtype(opt, TC_I64);
  if (!valid_dtype(fn, dt)) return NULL;
  if (low >= high) {
    tc__error(TC_ERR_ARG, "%s: expects low < high, but got low=%lld >= high=%lld", fn, (long long)low, (long long)high);
    return NULL;
  }
  int64_t mn, mx;
  if (tc_dtype_is_floating(dt)) {
    low = update_from(dt, low);
    high = update_to(dt, high);
    if (low >= high) {
      tc__error(TC_ERR_ARG, "%s: low and high rounded to %s give low=%lld >= high=%lld", fn, tc_dtype_name(dt),
                (long long)low, (long long)high);
      return NULL;
    }
    double m = dtype_max(dt);
    if ((double)low < -m || (double)(high - 1) > m) {
      tc__error(TC_ERR_ARG, "%s: [%lld, %lld) is out of bounds for %s", fn, (long long)low, (long long)high,
                tc_dtype_name(dt));
      return NULL;
    }
  } else if (int_bounds(dt, &mn, &mx)) {
    if (low < mn || low > mx) {
      tc__error(TC_ERR_ARG, "%s: low=%lld is out of bounds for %s", fn, (long long)low, tc_dtype_name(dt));
      return NULL;
    }
    if (high - 1 < mn || high - 1 > mx) {
      tc__error(TC_ERR_ARG, "%s: high - 1 = %lld is out of bounds for %s", fn, (long long)(high - 1),
                tc_dtype_name(dt));
      return NULL;
    }
  } else {
    tc__error(TC_ERR_DTYPE, "%s: random integers need an integral, boolean or floating-point dtype, got %s", fn,
              tc_dtype_name(dt));
    return NULL;
  }
  gen_spec s = {.kind = GEN_RANDINT, .range = (uint64_t)high - (uint64_t)low, .base = low};
  return make_filled(fn, shape, ndim, dt, tc__opt_device(opt), opt ? opt->generator : NULL, &s, NULL);
}

tc_tensor *tc_randperm(int64_t n, const tc_options *opt) {
  const char *fn = "tc_randperm";
  tc_dtype dt = tc__opt_dtype(opt, TC_I64);
  if (!valid_dtype(fn, dt)) return NULL;
  if (n < 0) {
    tc__error(TC_ERR_ARG, "%s: n must be non-negative, got %lld", fn, (long long)n);
    return NULL;
  }
  int64_t mn, mx;
  if (dt == TC_BOOL || dt == TC_C64) {
    tc__error(TC_ERR_DTYPE, "%s: a permutation cannot be stored as %s", fn, tc_dtype_name(dt));
    return NULL;
  }
  if (int_bounds(dt, &mn, &mx) && n - 1 > mx) {
    tc__error(TC_ERR_ARG, "%s: n=%lld is too large for result dtype %s", fn, (long long)n, tc_dtype_name(dt));
    return NULL;
  }
  if ((dt == TC_F16 || dt == TC_F32 || dt == TC_F64) && n > ((int64_t)1 << float_digits(dt)) + 1) {
    tc__error(TC_ERR_ARG, "%s: n=%lld cannot be greater than 2^%lld+1 for %s", fn, (long long)n,
              (long long)float_digits(dt), tc_dtype_name(dt));
    return NULL;
  }
  tc_device dev = tc__opt_device(opt);
  tc_tensor *t = make(fn, &n, 1, dt, dev);
  if (!t || n == 0) return to_dev(t, dev);
  int64_t *r = dt == TC_I64 ? (int64_t *)(void *)tc__ptr(t) : tc__malloc((size_t)n * sizeof *r);
  if (!r) {
    tc_tensor_release(t);
    return NULL;
  }
  tc_generator *g = tc__gen_or_default(opt ? opt->generator : NULL);
  tc__gen_lock(g);
  if (n < (int64_t)(UINT32_MAX / 20)) {
    /* swap shuffle, one 32-bit draw per position */
    for (int64_t i = 0; i < n; i++) r[i] = i;
    uint32_t u[CHUNK];
    for (int64_t i0 = 0; i0 < n - 1; i0 += CHUNK) {
      int64_t k = n - 1 - i0 < CHUNK ? n - 1 - i0 : CHUNK;
      tc__gen_fill_u32(g, u, k);
      for (int64_t j = 0; j < k; j++) {
        int64_t i = i0 + j, z = (int64_t)(u[j] % (uint64_t)(n - i));
        int64_t sv = r[i];
        r[i] = r[z + i];
        r[z + i] = sv;
      }
    }
  } else {
    /* inside-out Fisher-Yates with 64-bit draws (PyTorch's path for huge n) */
    for (int64_t i = 0; i < n; i++) {
      int64_t z = (int64_t)(tc__gen_u64(g) % (uint64_t)(i + 1));
      r[i] = i;
      r[i] = r[z];
      r[z] = i;
    }
  }
  tc__gen_unlock(g);
  if (dt != TC_I64) {
    put_i64(tc__ptr(t), dt, r, n);
    tc__free(r);
  }
  return to_dev(t, dev);
}

/* ==== in-place fills ========================================================================= */

tc_status tc_uniform_inplace(tc_tensor *t, double from, double to, tc_generator *gen) {
  const char *fn = "tc_uniform_inplace";
  TC__NONNULL_S(t, fn);
  if (check_inplace(fn, t) || check_uniform(fn, t->dtype, from, to)) return tc_last_status();
  gen_spec s = {.kind = GEN_UNIFORM, .a = from, .b = to};
  tc_status st = fill_inplace(fn, t, gen, &s);
  if (!st) tc__bump_version(t);
  return st;
}

tc_status tc_normal_inplace(tc_tensor *t, double mean, double std, tc_generator *gen) {
  const char *fn = "tc_normal_inplace";
  TC__NONNULL_S(t, fn);
  if (check_inplace(fn, t) || check_normal(fn, t->dtype, std)) return tc_last_status();
  gen_spec s = {.kind = GEN_NORMAL, .a = mean, .b = t->dtype == TC_C64 ? std / sqrt(2.0) : std};
  tc_status st = fill_inplace(fn, t, gen, &s);
  if (!st) tc__bump_version(t);
  return st;
}

tc_status tc_bernoulli_inplace(tc_tensor *t, double p, tc_generator *gen) {
  const char *fn = "tc_bernoulli_inplace";
  TC__NONNULL_S(t, fn);
  if (check_inplace(fn, t)) return tc_last_status();
  if (t->dtype == TC_C64)
    return tc__error(TC_ERR_DTYPE, "%s: bernoulli values cannot be stored as %s", fn, tc_dtype_name(t->dtype));
  if (!(p >= 0.0 && p <= 1.0)) return tc__error(TC_ERR_ARG, "%s: expects p to be in [0, 1], but got p=%g", fn, p);
  gen_spec s = {.kind = GEN_BERNOULLI, .a = p};
  tc_status st = fill_inplace(fn, t, gen, &s);
  if (!st) tc__bump_version(t);
  return st;
}

tc_tensor *tc_bernoulli(const tc_tensor *p, tc_generator *gen) {
  const char *fn = "tc_bernoulli";
  TC__NONNULL_T(p, fn);
  if (!tc_dtype_is_floating(p->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: probabilities must have a floating-point dtype, got %s", fn, tc_dtype_name(p->dtype));
    return NULL;
  }
  /* probabilities in visiting order: the result is contiguous, so logical order */
  bool f64 = p->dtype == TC_F64;
  tc_tensor *pd = tc__to_dtype_contig(p, f64 ? TC_F64 : TC_F32); /* read on the host */
  tc_tensor *pc = pd && !tc__is_cpu(pd) ? tc_tensor_to(pd, tc_cpu()) : tc_tensor_retain(pd);
  tc_tensor_release(pd);
  if (!pc) return NULL;
  int64_t n = tc__numel(p->sizes, p->ndim);
  const void *pv = n ? tc__ptr(pc) : NULL;
  for (int64_t i = 0; i < n; i++) {
    double v = f64 ? ((const double *)pv)[i] : (double)((const float *)pv)[i];
    if (!(v >= 0.0 && v <= 1.0)) {
      tc__error(TC_ERR_ARG, "%s: probabilities must be in [0, 1], but p has %g at flat index %lld (shape %s)", fn, v,
                (long long)i, tc__tshape(p));
      tc_tensor_release(pc);
      return NULL;
    }
  }
  gen_spec s = {.kind = GEN_BERNOULLI_T, .probs = pv, .probs_f64 = f64};
  tc_tensor *t = make_filled(fn, p->sizes, p->ndim, p->dtype, p->storage->device, gen, &s, NULL);
  tc_tensor_release(pc);
  return t;
}
