/* core/src/optim/clip_grad.c — torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
 *
 * clip_grad_norm_ follows PyTorch's CPU path: the norm of each grad in the grad's dtype, the norm
 * of those norms in the promoted dtype, clip_coef = max_norm / (total + 1e-6) as 0-dim tensor ops
 * in that dtype (add, reciprocal, multiply), clamped to 1, and every grad multiplied in place by
 * the coefficient converted to its dtype. Norms accumulate in double over fixed chunks (so the
 * result does not depend on the thread count) and are then rounded to the dtype.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "optim_internal.h"
#include "../reduce_backward.h"

#define CHUNK 65536

typedef struct {
  const void *x;
  tc_dtype dtype;
  int64_t n;
  double p;
  double *partial; /* one per chunk */
} norm_job;

/* Kinds of norm: 2, 1, inf, -inf, 0, general p. */
static int norm_kind(double p) {
  if (p == 2) return 0;
  if (p == 1) return 1;
  if (p == INFINITY) return 2;
  if (p == -INFINITY) return 3;
  if (p == 0) return 4;
  return 5;
}

#define LANES 16

/* Sum of squares / of absolute values of x[lo, hi) in double, in LANES independent accumulators
 * (vectorisable; a fixed order, so the same result for any thread count). */
#define DEFINE_SUMS(T, SFX)                                                                            \
  static double sumsq_##SFX(const T *restrict x, int64_t lo, int64_t hi, bool sq) {                    \
    double acc[LANES] = {0};                                                                           \
    int64_t i = lo;                                                                                    \
    if (sq)                                                                                            \
      for (; i + LANES <= hi; i += LANES)                                                              \
        for (int l = 0; l < LANES; l++) acc[l] += (double)x[i + l] * (double)x[i + l];                 \
    else                                                                                               \
      for (; i + LANES <= hi; i += LANES)                                                              \
        for (int l = 0; l < LANES; l++) acc[l] += fabs((double)x[i + l]);                              \
    for (int l = 0; i < hi; i++, l++) acc[l] += sq ? (double)x[i] * (double)x[i] : fabs((double)x[i]); \
    double s = 0;                                                                                      \
    for (int l = 0; l < LANES; l++) s += acc[l];                                                       \
    return s;                                                                                          \
  }
DEFINE_SUMS(float, f32)
DEFINE_SUMS(double, f64)

/* Largest (or smallest) magnitude of x[lo, hi), NaN when any element is NaN. The magnitudes are
 * compared as the unsigned integers of their bits (with the sign cleared, IEEE order is integer
 * order, and NaN sorts above inf), which vectorises without fast-math. */
#define DEFINE_EXTREME(T, SFX, U, SIGN, INF)                                               \
  static double extreme_##SFX(const T *restrict x, int64_t lo, int64_t hi, bool largest) { \
    U mx = 0, mn = ~(U)0;                                                                  \
    for (int64_t i = lo; i < hi; i++) {                                                    \
      U b;                                                                                 \
      memcpy(&b, &x[i], sizeof b);                                                         \
      b &= ~(U)SIGN;                                                                       \
      mx = b > mx ? b : mx;                                                                \
      mn = b < mn ? b : mn;                                                                \
    }                                                                                      \
    if (mx > (U)INF) return NAN;                                                           \
    U r = largest ? mx : mn;                                                               \
    T v;                                                                                   \
    memcpy(&v, &r, sizeof v);                                                              \
    return v;                                                                              \
  }
DEFINE_EXTREME(float, f32, uint32_t, 0x80000000u, 0x7f800000u)
DEFINE_EXTREME(double, f64, uint64_t, 0x8000000000000000ull, 0x7ff0000000000000ull)

static void norm_chunks(int64_t b, int64_t e, void *ctx) {
  norm_job *j = ctx;
  int kind = norm_kind(j->p);
  for (int64_t c = b; c < e; c++) {
    int64_t lo = c * CHUNK, hi = lo + CHUNK < j->n ? lo + CHUNK : j->n;
    if (kind <= 1) { /* 2 and 1 */
      j->partial[c] = j->dtype == TC_F32 ? sumsq_f32(j->x, lo, hi, kind == 0) : sumsq_f64(j->x, lo, hi, kind == 0);
      continue;
    }
    if (kind <= 3) { /* inf and -inf */
      j->partial[c] = j->dtype == TC_F32 ? extreme_f32(j->x, lo, hi, kind == 2) : extreme_f64(j->x, lo, hi, kind == 2);
      continue;
    }
    double acc = 0; /* 0: NaN counts as non-zero, as PyTorch; p: pow propagates NaN */
    for (int64_t i = lo; i < hi; i++) {
      double v = j->dtype == TC_F32 ? (double)((const float *)j->x)[i] : ((const double *)j->x)[i];
      acc += kind == 4 ? (double)(v != 0) : pow(fabs(v), j->p);
    }
    j->partial[c] = acc;
  }
}

/* The norm of n doubles' worth of data, accumulated in double, before the final root. */
static double combine(const double *partial, int64_t nc, double p) {
  int kind = norm_kind(p);
  double acc = kind == 3 ? INFINITY : 0;
  for (int64_t c = 0; c < nc; c++) {
    double v = partial[c];
    if (kind == 2) {
      acc = (v > acc || v != v) ? v : acc;
    } else if (kind == 3) {
      acc = (v < acc || v != v) ? v : acc;
    } else {
      acc += v;
    }
  }
  if (kind == 0) return sqrt(acc);
  if (kind == 5) return pow(acc, 1.0 / p);
  return acc;
}

static double round_to(double v, tc_dtype d) { return d == TC_F32 ? (double)(float)v : v; }

/* vector_norm of a contiguous f32/f64 buffer, rounded to its dtype. */
static tc_status buffer_norm(const void *x, tc_dtype dtype, int64_t n, double p, double *out) {
  int64_t nc = (n + CHUNK - 1) / CHUNK;
  if (nc == 0) {
    *out = norm_kind(p) == 3 ? INFINITY : 0;
    return TC_OK;
  }
  double one, *partial = nc == 1 ? &one : tc__malloc((size_t)nc * sizeof(double));
  if (!partial) return TC_ERR_NOMEM;
  norm_job j = {.x = x, .dtype = dtype, .n = n, .p = p, .partial = partial};
  tc_parallel_for(nc, 1, norm_chunks, &j);
  *out = round_to(combine(partial, nc, p), dtype);
  if (partial != &one) tc__free(partial);
  return TC_OK;
}

static tc_tensor *grad_of(const tc_tensor *p) {
  const tc__autograd_meta *m = p->autograd;
  return m ? m->grad : NULL;
}

/* Checks params and their grads (f32/f64, any device). */
static tc_status check_grads(const char *fn, tc_tensor *const *params, int64_t n) {
  if (n < 0) return tc__error(TC_ERR_ARG, "%s: n = %lld < 0", fn, (long long)n);
  if (n > 0 && !params) return tc__null_arg(fn, "params");
  for (int64_t i = 0; i < n; i++) {
    if (!params[i]) return tc__error(TC_ERR_ARG, "%s: params[%lld] is NULL", fn, (long long)i);
    const tc_tensor *g = grad_of(params[i]);
    if (!g) continue;
    if (g->dtype != TC_F32 && g->dtype != TC_F64)
      return tc__error(TC_ERR_DTYPE, "%s: the grad of params[%lld] has dtype %s; float32 and float64 are supported", fn,
                       (long long)i, tc_dtype_name(g->dtype));
  }
  return TC_OK;
}

/* The p-norm of a device grad, computed there and read back (one synchronisation per grad). */
static tc_status device_norm(const tc_tensor *g, double p, double *out) {
  tc_tensor *nt = tc__norm_fwd(g, p, NULL, 0, false);
  tc_status st = nt ? tc_item_double(nt, out) : tc_last_status();
  tc_tensor_release(nt);
  return st;
}

typedef struct {
  double a, b;
} scal2;

static void scale_loop(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {
  const scal2 *c = ctx;
  char *p = ptrs[0];
  int64_t s = strides[0];
  if (c->b == 4) { /* f32 */
    const float k = (float)c->a;
    if (s == 4) {
      float *restrict x = (float *)p;
      for (int64_t i = 0; i < n; i++) x[i] = x[i] * k;
    } else {
      for (int64_t i = 0; i < n; i++) *(float *)(p + i * s) *= k;
    }
  } else {
    const double k = c->a;
    if (s == 8) {
      double *restrict x = (double *)p;
      for (int64_t i = 0; i < n; i++) x[i] = x[i] * k;
    } else {
      for (int64_t i = 0; i < n; i++) *(double *)(p + i * s) *= k;
    }
  }
}

tc_status tc_clip_grad_norm_(tc_tensor *const *params, int64_t n, double max_norm, double norm_type,
                             double *total_norm) {
  const char *fn = "tc_clip_grad_norm_";
  tc_status st = check_grads(fn, params, n);
  if (st) return st;
  if (isnan(norm_type) || (norm_type < 0 && norm_type != -INFINITY))
    return tc__error(TC_ERR_ARG, "%s: norm_type %g is not supported (use 2, 1, INFINITY, -INFINITY, 0 or p > 0)", fn,
                     norm_type);
  if (total_norm) *total_norm = 0;
  int64_t ng = 0;
  bool any_f64 = false;
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *g = grad_of(params[i]);
    if (!g) continue;
    ng++;
    any_f64 |= g->dtype == TC_F64;
  }
  if (ng == 0) return TC_OK; /* torch.tensor(0.0), and nothing to clip */
  double *norms = tc__malloc((size_t)ng * sizeof(double));
  if (!norms) return TC_ERR_NOMEM;
  int was = tc__scope_pause();
  int64_t k = 0;
  for (int64_t i = 0; i < n && !st; i++) {
    const tc_tensor *g = grad_of(params[i]);
    if (!g) continue;
    int64_t numel = tc__numel(g->sizes, g->ndim);
    if (!tc__is_cpu(g)) {
      st = device_norm(g, norm_type, &norms[k++]);
    } else if (tc__is_contiguous(g)) {
      st = buffer_norm(tc__ptr(g), g->dtype, numel, norm_type, &norms[k++]);
    } else {
      tc_tensor *c = tc__to_dtype_contig(g, g->dtype);
      if (!c) {
        st = tc_last_status();
        break;
      }
      st = buffer_norm(tc__ptr(c), c->dtype, numel, norm_type, &norms[k++]);
      tc_tensor_release(c);
    }
  }
  tc__scope_resume(was);
  if (st) {
    tc__free(norms);
    return st;
  }
  /* torch.linalg.vector_norm(torch.stack(norms)) in the promoted dtype */
  tc_dtype rd = any_f64 ? TC_F64 : TC_F32;
  double total = 0;
  st = buffer_norm(norms, TC_F64, ng, norm_type, &total);
  tc__free(norms);
  if (st) return st;
  total = round_to(total, rd);
  if (total_norm) *total_norm = total;
  /* clip_coef = max_norm / (total_norm + 1e-6): add, reciprocal, mul, each rounded to rd */
  double coef;
  if (rd == TC_F32) {
    float t = (float)total + (float)1e-6;
    float r = 1.0f / t;
    coef = (double)(r * (float)max_norm);
  } else {
    coef = (1.0 / (total + 1e-6)) * max_norm;
  }
  if (coef > 1.0) coef = 1.0; /* clamp(max=1.0); NaN stays NaN */
  for (int64_t i = 0; i < n; i++) {
    tc_tensor *g = grad_of(params[i]);
    if (!g) continue;
    if (!tc__is_cpu(g)) { /* the coefficient rounded to the grad's dtype, as the CPU loop does */
      tc_no_grad_push();
      st = tc_mul_scalar_inplace(g, coef);
      tc_no_grad_pop();
      if (st) return st;
      continue;
    }
    scal2 c = {.a = coef, .b = (double)tc_dtype_size(g->dtype)};
    tc__foreach(1, (const tc_tensor *const *)&g, scale_loop, &c, TC__GRAIN_ELEMENTWISE);
    tc__bump_version(g);
  }
  return TC_OK;
}

/* clamp_(min=lo, max=hi) as ATen: NaN stays NaN; lo > hi gives hi. */
#define DEFINE_CLAMP(T, SFX)                                           \
  static void clamp_##SFX(char *p, int64_t s, int64_t n, T lo, T hi) { \
    if (s == (int64_t)sizeof(T)) {                                     \
      T *restrict x = (T *)p;                                          \
      for (int64_t i = 0; i < n; i++) {                                \
        T v = x[i] < lo ? lo : x[i];                                   \
        x[i] = v > hi ? hi : v;                                        \
      }                                                                \
    } else {                                                           \
      for (int64_t i = 0; i < n; i++) {                                \
        T *x = (T *)(p + i * s);                                       \
        T v = *x < lo ? lo : *x;                                       \
        *x = v > hi ? hi : v;                                          \
      }                                                                \
    }                                                                  \
  }
DEFINE_CLAMP(float, f32)
DEFINE_CLAMP(double, f64)

static void clamp_loop(char **ptrs, const int64_t *strides, int64_t n, void *ctx) {
  const double *c = ctx; /* lo, hi, element size */
  if (c[2] == 4)
    clamp_f32(ptrs[0], strides[0], n, (float)c[0], (float)c[1]);
  else
    clamp_f64(ptrs[0], strides[0], n, c[0], c[1]);
}

tc_status tc_clip_grad_value_(tc_tensor *const *params, int64_t n, double clip) {
  const char *fn = "tc_clip_grad_value_";
  tc_status st = check_grads(fn, params, n);
  if (st) return st;
  if (isnan(clip)) return tc__error(TC_ERR_ARG, "%s: clip value is NaN", fn);
  for (int64_t i = 0; i < n; i++) {
    tc_tensor *g = grad_of(params[i]);
    if (!g) continue;
    if (!tc__is_cpu(g)) {
      tc_no_grad_push();
      st = tc_clamp_inplace(g, -clip, clip);
      tc_no_grad_pop();
      if (st) return st;
      continue;
    }
    double c[3] = {-clip, clip, (double)tc_dtype_size(g->dtype)};
    tc__foreach(1, (const tc_tensor *const *)&g, clamp_loop, c, TC__GRAIN_ELEMENTWISE);
    tc__bump_version(g);
  }
  return TC_OK;
}
