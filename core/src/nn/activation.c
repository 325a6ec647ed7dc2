/* core/src/nn/activation.c — fused activation functions of torch.nn.functional with their own
 * backward nodes: relu6 (HardtanhBackward0), leaky_relu, elu, gelu (exact erf and tanh forms),
 * silu, hardswish, softplus.
 *
 * Forward is one pass over the input (tc__foreach, strided, parallel) computing PyTorch's formula
 * in the input's dtype: float32 in float, float64 in double, float16/bfloat16 in float32 and rounded
 * once. Backward is one pass over (grad, x) with PyTorch's derivative (derivatives.yaml and the
 * *_backward kernels), saving only the input. float64 uses libm; float32 uses branch-free
 * polynomial kernels below (exp, log1p, erfc) so the compiler vectorises the loops; they are
 * within a few ulp of the correctly rounded result.
 *
 * Formulas (x the input, g the incoming gradient):
 *   relu6      min(max(x, 0), 6)                      g * (0 < x < 6)
 *   leaky_relu x > 0 ? x : x * slope                  x > 0 ? g : g * slope
 *   elu        x > 0 ? x : alpha * expm1(x)           x > 0 ? g : g * alpha * exp(x)
 *   gelu       x * Phi(x) = x/2 * erfc(-x/sqrt2)      g * (Phi(x) + x * phi(x))
 *   gelu tanh  x/2 * (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x * s with
 *              s = sigmoid(2u) = (1 + tanh u) / 2;    g * (s + x * 2 s (1 - s) * du/dx)
 *   silu       x * sigmoid(x)                         g * s * (1 + x (1 - s))
 *   hardswish  x * min(max(x + 3, 0), 6) / 6          x <= -3 ? 0 : x < 3 ? g (x/3 + 1/2) : g
 *   softplus   x*beta > threshold ? x : log1p(exp(x beta)) / beta
 *                                                     x*beta > threshold ? g : g * sigmoid(x beta)
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"

typedef enum { ACT_RELU6, ACT_LEAKY, ACT_ELU, ACT_GELU, ACT_GELU_TANH, ACT_SILU, ACT_HARDSWISH, ACT_SOFTPLUS } act_op;

static const char *const act_fn[] = {"tc_relu6", "tc_leaky_relu", "tc_elu",       "tc_gelu",
                                     "tc_gelu",  "tc_silu",       "tc_hardswish", "tc_softplus"};
static const char *const act_node[] = {"HardtanhBackward0",  "LeakyReluBackward0", "EluBackward0",
                                       "GeluBackward0",      "GeluBackward0",      "SiluBackward0",
                                       "HardswishBackward0", "SoftplusBackward0"};

typedef struct {
  act_op op;
  double p0, p1; /* leaky: slope; elu: alpha; softplus: beta, threshold */
} act_ctx;

/* ---- float32 kernels: branch-free so loops vectorise ------------------------------------------------- */
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

/* c ? a : b with both sides computed (bitwise): a ternary on a division's result would be turned
 * into a branch that the vectoriser cannot convert back. */
static inline float v_sel(bool c, float a, float b) {
  uint32_t m = (uint32_t)0 - (uint32_t)c;
  return u2f((f2u(a) & m) | (f2u(b) & ~m));
}

/* exp(x): x = n ln2 + r, |r| <= ln2/2, Cephes' degree-6 polynomial, 2^n applied in two halves so
 * results down to the subnormal range are right. About 1 ulp. */
static inline float v_expf(float x) {
  float xc = x < -104.0f ? -104.0f : x;
  xc = xc > 89.0f ? 89.0f : xc;
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = fmaf(xc, 1.44269504088896341f, magic);
  int32_t n = (int32_t)(f2u(t) - f2u(magic));
  float nf = t - magic;
  float r = fmaf(nf, -0.693359375f, xc); /* exact: nf * ln2_hi has few bits */
  r = fmaf(nf, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = fmaf(p, r, 1.3981999507e-3f);
  p = fmaf(p, r, 8.3334519073e-3f);
  p = fmaf(p, r, 4.1665795894e-2f);
  p = fmaf(p, r, 1.6666665459e-1f);
  p = fmaf(p, r, 5.0000001201e-1f);
  float y = fmaf(p, r * r, r) + 1.0f;
  int32_t n1 = n >> 1, n2 = n - n1; /* 2^n in two normal factors */
  y = y * u2f((uint32_t)(n1 + 127) << 23);
  y = y * u2f((uint32_t)(n2 + 127) << 23);
  y = v_sel(x > 88.72283935546875f, INFINITY, y);
  y = v_sel(x < -103.97208f, 0.0f, y);
  return v_sel(x != x, x, y);
}

/* 1 / (1 + exp(-x)) */
static inline float v_sigmoidf(float x) { return 1.0f / (1.0f + v_expf(-x)); }

/* log(x) for x > 0 normal (Cephes logf): x = m 2^e with m in [sqrt(1/2), sqrt(2)). */
static inline float v_logf(float x) {
  uint32_t ux = f2u(x);
  int32_t e = (int32_t)(ux >> 23) - 126;
  float m = u2f((ux & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
  bool small = m < 0.707106781186547524f;
  m = v_sel(small, m + m, m);
  e -= (int32_t)small;
  float z = m - 1.0f;
  float z2 = z * z;
  float p = 7.0376836292e-2f;
  p = fmaf(p, z, -1.1514610310e-1f);
  p = fmaf(p, z, 1.1676998740e-1f);
  p = fmaf(p, z, -1.2420140846e-1f);
  p = fmaf(p, z, 1.4249322787e-1f);
  p = fmaf(p, z, -1.6668057665e-1f);
  p = fmaf(p, z, 2.0000714765e-1f);
  p = fmaf(p, z, -2.4999993993e-1f);
  p = fmaf(p, z, 3.3333331174e-1f);
  float ef = (float)e;
  float y = p * z * z2;
  y = y + ef * -2.12194440e-4f;
  y = y - 0.5f * z2;
  return z + y + ef * 0.693359375f;
}

/* log1p(v) for v >= 0: log(u) with u = 1 + v rounded, corrected by (v - (u - 1)) / u. */
static inline float v_log1pf(float v) {
  float u = 1.0f + v;
  float l = v_logf(u) + (v - (u - 1.0f)) / u;
  l = v_sel(u == 1.0f, v, l);
  return v_sel(u == INFINITY, INFINITY, l);
}

/* expm1(x) for x <= 0: Taylor to x^8 near 0 (relative error < 1e-8 for |x| < 0.5), exp(x) - 1
 * beyond (about 1 ulp there, since |expm1| >= 0.39). */
static inline float v_expm1f(float x) {
  float p = 1.0f / 40320;
  p = fmaf(p, x, 1.0f / 5040);
  p = fmaf(p, x, 1.0f / 720);
  p = fmaf(p, x, 1.0f / 120);
  p = fmaf(p, x, 1.0f / 24);
  p = fmaf(p, x, 1.0f / 6);
  p = fmaf(p, x, 0.5f);
  float near = fmaf(x * x, p, x);
  float far = v_expf(x) - 1.0f;
  return v_sel(fabsf(x) < 0.5f, near, far);
}

/* 2 Phi(x) = erfc(-x / sqrt2) with relative error about 2e-7 for all x (Numerical Recipes' erfcc
 * Chebyshev fit, 1.2e-7): with z = |x| / sqrt2, t = 1 / (1 + z/2), erfc(z) = t exp(P(t) - z^2).
 * z^2 = x^2 / 2 is split exactly with an fma (not rounded through z) and P - z^2 with an exact
 * two-sum; their rounding errors enter as exp(e + c) = exp(e)(1 + c), so the far tail keeps full
 * relative precision. */
static inline float v_two_phif(float x) {
  float a = fabsf(x);
  float t = 1.0f / (1.0f + 0.5f * (a * 0.70710678118654752f));
  float p = 0.17087277f;
  p = fmaf(p, t, -0.82215223f);
  p = fmaf(p, t, 1.48851587f);
  p = fmaf(p, t, -1.13520398f);
  p = fmaf(p, t, 0.27886807f);
  p = fmaf(p, t, -0.18628806f);
  p = fmaf(p, t, 0.09678418f);
  p = fmaf(p, t, 0.37409196f);
  p = fmaf(p, t, 1.00002368f);
  p = fmaf(p, t, -1.26551223f);
  bool finite = a < 1e18f;
  float xx = a * a;
  float xlo = v_sel(finite, fmaf(a, a, -xx), 0.0f); /* xx + xlo == x^2 exactly (0 for huge x: no inf - inf) */
  float zz = 0.5f * xx, zlo = 0.5f * xlo;           /* z^2, exactly split */
  float e = p - zz;                                 /* two-sum: e + err == p - zz exactly */
  float bv = e - p;
  float err = (p - (e - bv)) + (-zz - bv);
  err = v_sel(finite, err, 0.0f);
  float r = t * v_expf(e) * (1.0f + (err - zlo));
  return v_sel(x <= 0.0f, r, 2.0f - r);
}

#define K_SQRT1_2 0.70710678118654752440
#define K_BETA 0.79788456080286535588 /* sqrt(2/pi) */
#define K_KAPPA 0.044715
#define K_1_SQRT_2PI 0.39894228040143267794

/* ---- elementwise forward / backward, per dtype --------------------------------------------------------- */
/* float parameters (rounded as PyTorch rounds scalars to the tensor's dtype) */
typedef struct {
  float a, b;
} pf;
typedef struct {
  double a, b;
} pd;

static inline float relu6_f(float x) {
  float v = x < 0.0f ? 0.0f : x;
  return v > 6.0f ? 6.0f : v;
}
static inline float leaky_f(float x, pf p) { return v_sel(x > 0.0f, x, x * p.a); }
static inline float elu_f(float x, pf p) { return v_sel(x <= 0.0f, v_expm1f(x) * p.a, x); }
static inline float gelu_f(float x) { return 0.5f * x * v_two_phif(x); }
/* exp(-2u), u = sqrt(2/pi) (x + 0.044715 x^3): 2u is formed in double and its float rounding
 * error applied as a correction, so the tail (|2u| up to ~100) keeps float precision. */
static inline float exp_m2u(float x) {
  double xd = x;
  double u2 = 2.0 * K_BETA * (xd + K_KAPPA * xd * xd * xd);
  float f = (float)u2;
  float c = (float)(u2 - (double)f);
  return v_expf(-f) * (1.0f - c);
}
static inline float gelu_tanh_f(float x) { return x / (1.0f + exp_m2u(x)); }
static inline float silu_f(float x) { return x / (1.0f + v_expf(-x)); }
static inline float hardswish_f(float x) {
  float v = x + 3.0f;
  v = v < 0.0f ? 0.0f : v;
  v = v > 6.0f ? 6.0f : v;
  return x * v / 6.0f;
}
static inline float softplus_f(float x, pf p) {
  float xb = x * p.a;
  float r = v_log1pf(v_expf(xb)) / p.a;
  return v_sel(xb > p.b, x, r);
}

static inline float relu6_bf(float g, float x) { return v_sel((x <= 0.0f) | (x >= 6.0f), 0.0f, g); }
static inline float leaky_bf(float g, float x, pf p) { return v_sel(x > 0.0f, g, g * p.a); }
static inline float elu_bf(float g, float x, pf p) { return v_sel(x <= 0.0f, g * p.a * v_expf(x), g); }
static inline float gelu_bf(float g, float x) {
  float cdf = 0.5f * v_two_phif(x);
  float pdf = v_expf(-0.5f * x * x) * (float)K_1_SQRT_2PI;
  return g * (cdf + x * pdf);
}
static inline float gelu_tanh_bf(float g, float x) {
  float x2 = x * x;
  float e = exp_m2u(x);
  float s = 1.0f / (1.0f + e);                 /* (1 + tanh u) / 2 */
  float s1 = v_sel(e > 1.0f, 1.0f - s, e * s); /* 1 - s, without cancellation (or inf * 0) */
  float du = (float)K_BETA * (1.0f + 3.0f * (float)K_KAPPA * x2);
  return g * (s + 2.0f * x * s * s1 * du);
}
static inline float silu_bf(float g, float x) {
  float e = v_expf(-x);
  float s = 1.0f / (1.0f + e);
  float s1 = v_sel(e > 1.0f, 1.0f - s, e * s); /* 1 - s */
  return g * s * (1.0f + x * s1);
}
static inline float hardswish_bf(float g, float x) {
  float mid = g * (x / 3.0f + 0.5f);
  return v_sel(x <= -3.0f, 0.0f, v_sel(x < 3.0f, mid, g)); /* PyTorch: slope 0 at -3, 1 at 3 */
}
static inline float softplus_bf(float g, float x, pf p) {
  float xb = x * p.a;
  return v_sel(xb > p.b, g, g * v_sigmoidf(xb));
}

static inline double relu6_d(double x) {
  double v = x < 0.0 ? 0.0 : x;
  return v > 6.0 ? 6.0 : v;
}
static inline double leaky_d(double x, pd p) { return x > 0.0 ? x : x * p.a; }
static inline double elu_d(double x, pd p) { return x <= 0.0 ? expm1(x) * p.a : x; }
static inline double gelu_d(double x) { return 0.5 * x * erfc(-x * K_SQRT1_2); }
static inline double gelu_tanh_d(double x) {
  double u = K_BETA * (x + K_KAPPA * x * x * x);
  return 0.5 * x * (1.0 + tanh(u));
}
static inline double silu_d(double x) { return x / (1.0 + exp(-x)); }
static inline double hardswish_d(double x) {
  double v = x + 3.0;
  v = v < 0.0 ? 0.0 : v;
  v = v > 6.0 ? 6.0 : v;
  return x * v / 6.0;
}
static inline double softplus_d(double x, pd p) {
  double xb = x * p.a;
  return xb > p.b ? x : log1p(exp(xb)) / p.a;
}

static inline double relu6_bd(double g, double x) { return (x <= 0.0 || x >= 6.0) ? 0.0 : g; }
static inline double leaky_bd(double g, double x, pd p) { return x > 0.0 ? g : g * p.a; }
static inline double elu_bd(double g, double x, pd p) { return x <= 0.0 ? g * p.a * exp(x) : g; }
static inline double gelu_bd(double g, double x) {
  double cdf = 0.5 * erfc(-x * K_SQRT1_2);
  double pdf = exp(-0.5 * x * x) * K_1_SQRT_2PI;
  return g * (cdf + x * pdf);
}
static inline double gelu_tanh_bd(double g, double x) {
  double x2 = x * x;
  double t = tanh(K_BETA * (x + K_KAPPA * x2 * x));
  double left = 0.5 * x, right = 1.0 + t;
  double dleft = 0.5 * right;
  double dright = left * (1.0 - t * t) * K_BETA * (1.0 + 3.0 * K_KAPPA * x2);
  return g * (dleft + dright);
}
static inline double silu_bd(double g, double x) {
  double s = 1.0 / (1.0 + exp(-x));
  return g * s * (1.0 + x * (1.0 - s));
}
static inline double hardswish_bd(double g, double x) { return x <= -3.0 ? 0.0 : (x < 3.0 ? g * (x / 3.0 + 0.5) : g); }
static inline double softplus_bd(double g, double x, pd p) {
  double xb = x * p.a;
  return xb > p.b ? g : g / (1.0 + exp(-xb));
}

/* out = F(x): contiguous fast path, strided otherwise. */
#define FWD_LOOP(T, EXPR)                                             \
  do {                                                                \
    if (st[0] == (int64_t)sizeof(T) && st[1] == (int64_t)sizeof(T)) { \
      T *restrict o_ = (T *)(void *)p[0];                             \
      const T *restrict x_ = (const T *)(const void *)p[1];           \
      for (int64_t i = 0; i < n; i++) {                               \
        T x = x_[i];                                                  \
        o_[i] = (EXPR);                                               \
      }                                                               \
    } else {                                                          \
      for (int64_t i = 0; i < n; i++) {                               \
        T x = *(const T *)(const void *)(p[1] + i * st[1]);           \
        *(T *)(void *)(p[0] + i * st[0]) = (EXPR);                    \
      }                                                               \
    }                                                                 \
  } while (0)

/* gi = F'(g, x) */
#define BWD_LOOP(T, EXPR)                                                                            \
  do {                                                                                               \
    if (st[0] == (int64_t)sizeof(T) && st[1] == (int64_t)sizeof(T) && st[2] == (int64_t)sizeof(T)) { \
      T *restrict o_ = (T *)(void *)p[0];                                                            \
      const T *restrict g_ = (const T *)(const void *)p[1];                                          \
      const T *restrict x_ = (const T *)(const void *)p[2];                                          \
      for (int64_t i = 0; i < n; i++) {                                                              \
        T g = g_[i], x = x_[i];                                                                      \
        o_[i] = (EXPR);                                                                              \
      }                                                                                              \
    } else {                                                                                         \
      for (int64_t i = 0; i < n; i++) {                                                              \
        T g = *(const T *)(const void *)(p[1] + i * st[1]);                                          \
        T x = *(const T *)(const void *)(p[2] + i * st[2]);                                          \
        *(T *)(void *)(p[0] + i * st[0]) = (EXPR);                                                   \
      }                                                                                              \
    }                                                                                                \
  } while (0)

static void fwd_f32(char **p, const int64_t *st, int64_t n, void *vctx) {
  const act_ctx *c = vctx;
  pf q = {(float)c->p0, (float)c->p1};
  switch (c->op) {
    case ACT_RELU6:
      FWD_LOOP(float, relu6_f(x));
      break;
    case ACT_LEAKY:
      FWD_LOOP(float, leaky_f(x, q));
      break;
    case ACT_ELU:
      FWD_LOOP(float, elu_f(x, q));
      break;
    case ACT_GELU:
      FWD_LOOP(float, gelu_f(x));
      break;
    case ACT_GELU_TANH:
      FWD_LOOP(float, gelu_tanh_f(x));
      break;
    case ACT_SILU:
      FWD_LOOP(float, silu_f(x));
      break;
    case ACT_HARDSWISH:
      FWD_LOOP(float, hardswish_f(x));
      break;
    case ACT_SOFTPLUS:
      FWD_LOOP(float, softplus_f(x, q));
      break;
  }
}

static void fwd_f64(char **p, const int64_t *st, int64_t n, void *vctx) {
  const act_ctx *c = vctx;
  pd q = {c->p0, c->p1};
  switch (c->op) {
    case ACT_RELU6:
      FWD_LOOP(double, relu6_d(x));
      break;
    case ACT_LEAKY:
      FWD_LOOP(double, leaky_d(x, q));
      break;
    case ACT_ELU:
      FWD_LOOP(double, elu_d(x, q));
      break;
    case ACT_GELU:
      FWD_LOOP(double, gelu_d(x));
      break;
    case ACT_GELU_TANH:
      FWD_LOOP(double, gelu_tanh_d(x));
      break;
    case ACT_SILU:
      FWD_LOOP(double, silu_d(x));
      break;
    case ACT_HARDSWISH:
      FWD_LOOP(double, hardswish_d(x));
      break;
    case ACT_SOFTPLUS:
      FWD_LOOP(double, softplus_d(x, q));
      break;
  }
}

static void bwd_f32(char **p, const int64_t *st, int64_t n, void *vctx) {
  const act_ctx *c = vctx;
  pf q = {(float)c->p0, (float)c->p1};
  switch (c->op) {
    case ACT_RELU6:
      BWD_LOOP(float, relu6_bf(g, x));
      break;
    case ACT_LEAKY:
      BWD_LOOP(float, leaky_bf(g, x, q));
      break;
    case ACT_ELU:
      BWD_LOOP(float, elu_bf(g, x, q));
      break;
    case ACT_GELU:
      BWD_LOOP(float, gelu_bf(g, x));
      break;
    case ACT_GELU_TANH:
      BWD_LOOP(float, gelu_tanh_bf(g, x));
      break;
    case ACT_SILU:
      BWD_LOOP(float, silu_bf(g, x));
      break;
    case ACT_HARDSWISH:
      BWD_LOOP(float, hardswish_bf(g, x));
      break;
    case ACT_SOFTPLUS:
      BWD_LOOP(float, softplus_bf(g, x, q));
      break;
  }
}

static void bwd_f64(char **p, const int64_t *st, int64_t n, void *vctx) {
  const act_ctx *c = vctx;
  pd q = {c->p0, c->p1};
  switch (c->op) {
    case ACT_RELU6:
      BWD_LOOP(double, relu6_bd(g, x));
      break;
    case ACT_LEAKY:
      BWD_LOOP(double, leaky_bd(g, x, q));
      break;
    case ACT_ELU:
      BWD_LOOP(double, elu_bd(g, x, q));
      break;
    case ACT_GELU:
      BWD_LOOP(double, gelu_bd(g, x));
      break;
    case ACT_GELU_TANH:
      BWD_LOOP(double, gelu_tanh_bd(g, x));
      break;
    case ACT_SILU:
      BWD_LOOP(double, silu_bd(g, x));
      break;
    case ACT_HARDSWISH:
      BWD_LOOP(double, hardswish_bd(g, x));
      break;
    case ACT_SOFTPLUS:
      BWD_LOOP(double, softplus_bd(g, x, q));
      break;
  }
}

/* Elements per parallel chunk: cheap piecewise-linear ops move memory, the others compute. */
static int64_t grain_for(act_op op) {
  return (op == ACT_RELU6 || op == ACT_LEAKY || op == ACT_HARDSWISH) ? TC__GRAIN_ELEMENTWISE : 8192;
}

/* ---- the op pipeline ------------------------------------------------------------------------------------- */
static tc_status act_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const act_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0);
  if (!x) return tc_last_status();
  tc_dtype dt = x->dtype, cdt = tc__compute_dtype(dt);
  tc_tensor *gc = NULL, *xc = NULL, *r = NULL;
  const tc_tensor *g = go[0], *xx = x;
  if (cdt != dt) { /* f16/bf16: compute in f32 */
    if (!(gc = tc__to_dtype_contig(g, cdt)) || !(xc = tc__to_dtype_contig(x, cdt))) goto done;
    g = gc;
    xx = xc;
  } else if (g->dtype != dt) {
    if (!(gc = tc__to_dtype_contig(g, dt))) goto done;
    g = gc;
  }
  if (!(r = tc__empty(x->sizes, x->ndim, cdt, x->storage->device))) goto done;
  const tc_tensor *ops[3] = {r, g, xx};
  tc__foreach(3, ops, cdt == TC_F64 ? bwd_f64 : bwd_f32, (void *)c, grain_for(c->op));
  if (cdt != dt) {
    tc_tensor *h = tc__to_dtype_contig(r, dt);
    tc_tensor_release(r);
    r = h;
  }
done:
  tc_tensor_release(gc);
  tc_tensor_release(xc);
  if (!r) return tc_last_status();
  gi[0] = r;
  return TC_OK;
}

/* On a device: the same function composed of device ops (autograd records the pieces). Softplus
 * ignores the threshold (above it the result differs from x by less than exp(-threshold)). */
static tc_tensor *device_activation(const tc_tensor *x, act_op op, double p0) {
  tc_scope_push();
  tc_tensor *y = NULL;
  switch (op) {
    case ACT_RELU6: y = tc_clamp(x, 0.0, 6.0); break;
    case ACT_LEAKY: y = tc_sub(tc_relu(x), tc_mul_scalar(tc_relu(tc_neg(x)), p0), 1.0); break;
    case ACT_ELU: y = tc_add(tc_relu(x), tc_mul_scalar(tc_expm1(tc_minimum_scalar(x, 0.0)), p0), 1.0); break;
    case ACT_GELU: y = tc_mul(tc_mul_scalar(x, 0.5), tc_add_scalar(tc_erf(tc_mul_scalar(x, M_SQRT1_2)), 1.0)); break;
    case ACT_GELU_TANH: { /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
      tc_tensor *u = tc_mul_scalar(tc_add(x, tc_mul(tc_mul(x, x), x), 0.044715), 0.7978845608028654);
      y = tc_mul(tc_mul_scalar(x, 0.5), tc_add_scalar(tc_tanh(u), 1.0));
      break;
    }
    case ACT_SILU: y = tc_mul(x, tc_sigmoid(x)); break;
    case ACT_HARDSWISH: y = tc_div_scalar(tc_mul(x, tc_clamp(tc_add_scalar(x, 3.0), 0.0, 6.0)), 6.0); break;
    case ACT_SOFTPLUS: { /* (relu(bx) + log1p(exp(-|bx|))) / b: log1p(exp(bx)) / b without overflow */
      tc_tensor *bx = tc_mul_scalar(x, p0);
      y = tc_div_scalar(tc_add(tc_relu(bx), tc_log1p(tc_exp(tc_neg(tc_abs(bx)))), 1.0), p0);
      break;
    }
  }
  return tc_scope_return(y);
}

static tc_tensor *activation(const tc_tensor *x, act_op op, double p0, double p1) {
  const char *fn = act_fn[op];
  TC__NONNULL_T(x, fn);
  if (!tc_dtype_is_floating(x->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: expected a floating-point input, got %s", fn, tc_dtype_name(x->dtype));
    return NULL;
  }
  if (!tc__is_cpu(x)) return device_activation(x, op, p0);
  tc_dtype dt = x->dtype, cdt = tc__compute_dtype(dt);
  act_ctx c = {op, p0, p1};
  tc_tensor *xc = NULL;
  const tc_tensor *src = x;
  if (cdt != dt) {
    if (!(xc = tc__to_dtype_contig(x, cdt))) return NULL;
    src = xc;
  }
  tc_tensor *out = tc__empty(x->sizes, x->ndim, cdt, x->storage->device);
  if (out) {
    const tc_tensor *ops[2] = {out, src};
    tc__foreach(2, ops, cdt == TC_F64 ? fwd_f64 : fwd_f32, &c, grain_for(op));
  }
  tc_tensor_release(xc);
  if (out && cdt != dt) {
    tc_tensor *h = tc__to_dtype_contig(out, dt);
    tc_tensor_release(out);
    out = h;
  }
  return tc__record(out, act_node[op], act_backward, 1, &x, 1, &x, &c, sizeof c);
}

tc_tensor *tc_relu6(const tc_tensor *x) { return activation(x, ACT_RELU6, 0, 0); }
tc_tensor *tc_leaky_relu(const tc_tensor *x, double negative_slope) {
  return activation(x, ACT_LEAKY, negative_slope, 0);
}
tc_tensor *tc_elu(const tc_tensor *x, double alpha) { return activation(x, ACT_ELU, alpha, 0); }
tc_tensor *tc_gelu(const tc_tensor *x, bool tanh_approximate) {
  return activation(x, tanh_approximate ? ACT_GELU_TANH : ACT_GELU, 0, 0);
}
tc_tensor *tc_silu(const tc_tensor *x) { return activation(x, ACT_SILU, 0, 0); }
tc_tensor *tc_hardswish(const tc_tensor *x) { return activation(x, ACT_HARDSWISH, 0, 0); }
tc_tensor *tc_softplus(const tc_tensor *x, double beta, double threshold) {
  return activation(x, ACT_SOFTPLUS, beta, threshold);
}
