/* core/src/elementwise_backward.c — autograd for the elementwise ops of elementwise.c: the node
 * each op records and its derivative, from PyTorch's formulas (tools/autograd/derivatives.yaml).
 *
 * Backward functions run with grad mode off and build their results from public ops, so they run
 * on any device that has the forward kernels. Broadcast operands get their gradient summed back to
 * their own shape (tc__sum_to).
 */
#include <math.h>
#include "autograd/autograd_internal.h"
#include "cpu/elementwise_kernels.h"
#include "elementwise_backward.h"

/* Releases every tensor in a NULL-terminated list. */
static void drop(tc_tensor **ts, int n) {
  for (int i = 0; i < n; i++) tc_tensor_release(ts[i]);
}

/* ---- unary ---------------------------------------------------------------------------------------- */
typedef struct {
  tc__unary_op op;
} unary_ctx;

static const char *const unary_node_names[TC__UN_COUNT] = {
#define TC_UNARY_FLOAT(name, f32, f64) [TC__UN_##name] = #name,
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) [TC__UN_##name] = #name,
#define TC_UNARY_PRED(name, f32, f64, iexpr) [TC__UN_##name] = #name,
#include "ops/unary.def"
};

/* relu's backward in one pass: out = y > 0 ? g : 0 (ptrs: out, g, y; f32 or f64) */
#define THRESHOLD_LOOP(T)                                                                        \
  {                                                                                              \
    char *o = p[0];                                                                              \
    const char *g = p[1], *y = p[2];                                                             \
    if (s[0] == (int64_t)sizeof(T) && s[1] == (int64_t)sizeof(T) && s[2] == (int64_t)sizeof(T)) { \
      T *oo = (T *)(void *)o;                                                                    \
      const T *gg = (const T *)(const void *)g, *yy = (const T *)(const void *)y;                 \
      for (int64_t i = 0; i < n; i++) oo[i] = yy[i] > 0 ? gg[i] : (T)0;                          \
    } else {                                                                                     \
      for (int64_t i = 0; i < n; i++, o += s[0], g += s[1], y += s[2])                           \
        *(T *)(void *)o = *(const T *)(const void *)y > 0 ? *(const T *)(const void *)g : (T)0;  \
    }                                                                                            \
  }
static void threshold_f32(char **p, const int64_t *s, int64_t n, void *ctx) {
  (void)ctx;
  THRESHOLD_LOOP(float)
}
static void threshold_f64(char **p, const int64_t *s, int64_t n, void *ctx) {
  (void)ctx;
  THRESHOLD_LOOP(double)
}

/* threshold_backward(grad, result, 0) fused for f32/f64 CPU tensors of one shape */
static bool relu_grad_fusable(const tc_tensor *g, const tc_tensor *y) {
  return g->dtype == y->dtype && (g->dtype == TC_F32 || g->dtype == TC_F64) &&
         g->storage->device.type == TC_DEVICE_CPU && y->storage->device.type == TC_DEVICE_CPU && g->ndim == y->ndim &&
         !memcmp(g->sizes, y->sizes, sizeof(int64_t) * (size_t)g->ndim);
}

static tc_tensor *relu_grad_fused(const tc_tensor *g, const tc_tensor *y) {
  tc_tensor *out = tc__empty(g->sizes, g->ndim, g->dtype, g->storage->device);
  if (!out) return NULL;
  const tc_tensor *ops[3] = {out, g, y};
  tc__foreach(3, ops, g->dtype == TC_F32 ? threshold_f32 : threshold_f64, NULL, TC__GRAIN_ELEMENTWISE);
  return out;
}

/* grad * f'(x): saved 0 = x, saved 1 = y (the output) */
static tc_status unary_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const unary_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *y = tc__node_saved(n, 1);
  if (!x || !y) return tc_last_status();
  const tc_tensor *g = go[0];
  tc_tensor *t[6] = {0};
  tc_tensor *r = NULL;
  switch (c->op) {
    case TC__UN_exp: r = tc_mul(g, y); break;
    case TC__UN_exp2: r = tc_mul_scalar(t[0] = tc_mul(g, y), M_LN2); break;
    case TC__UN_log: r = tc_div(g, x); break;
    case TC__UN_log2: r = tc_div(g, t[0] = tc_mul_scalar(x, M_LN2)); break;
    case TC__UN_log1p: r = tc_div(g, t[0] = tc_add_scalar(x, 1.0)); break;
    case TC__UN_expm1: r = tc_mul(g, t[0] = tc_add_scalar(y, 1.0)); break;
    case TC__UN_sqrt: r = tc_div(g, t[0] = tc_mul_scalar(y, 2.0)); break;
    case TC__UN_rsqrt: /* -0.5 * g * y^3 */
      r = tc_mul_scalar(t[1] = tc_mul(g, t[0] = tc_pow_scalar(y, 3)), -0.5);
      break;
    case TC__UN_sin: r = tc_mul(g, t[0] = tc_cos(x)); break;
    case TC__UN_cos: r = tc_neg(t[1] = tc_mul(g, t[0] = tc_sin(x))); break;
    case TC__UN_tan: r = tc_mul(g, t[1] = tc_add_scalar(t[0] = tc_mul(y, y), 1.0)); break;
    case TC__UN_tanh: r = tc_mul(g, t[1] = tc_rsub_scalar(t[0] = tc_mul(y, y), 1.0)); break;
    case TC__UN_sigmoid: r = tc_mul(t[1] = tc_mul(g, y), t[0] = tc_rsub_scalar(y, 1.0)); break;
    case TC__UN_erf: /* 2/sqrt(pi) exp(-x^2) */
      r = tc_mul(g, t[2] = tc_mul_scalar(t[1] = tc_exp(t[0] = tc_neg(t[3] = tc_mul(x, x))), M_2_SQRTPI));
      break;
    case TC__UN_neg: r = tc_neg(g); break;
    case TC__UN_abs: r = tc_mul(g, t[0] = tc_sign(x)); break;
    case TC__UN_relu: /* threshold_backward(grad, result, 0) */
      if (relu_grad_fusable(g, y)) r = relu_grad_fused(g, y);
      else r = tc_mul(g, t[1] = tc_to_dtype(t[0] = tc_gt_scalar(y, 0), g->dtype));
      break;
    default: /* sign, floor, ceil, round, trunc: zero gradient */
      r = tc_zeros_like(x, NULL);
      break;
  }
  drop(t, 6);
  if (!r) return tc_last_status();
  gi[0] = r;
  return TC_OK;
}

tc_tensor *tc__unary_record(tc__unary_op op, const tc_tensor *x, tc_tensor *out) {
  static const char *const names[TC__UN_COUNT] = {
#define TC_UNARY_FLOAT(name, f32, f64) [TC__UN_##name] = "",
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) [TC__UN_##name] = "",
#define TC_UNARY_PRED(name, f32, f64, iexpr) [TC__UN_##name] = NULL,
#include "ops/unary.def"
  };
  if (!out || !names[op] || !tc__grad_needed(1, &x)) return out; /* predicates are not differentiable */
  static char node_names[TC__UN_COUNT][32];
  static atomic_int named;
  if (!atomic_load(&named)) { /* "ExpBackward0": capitalised op name, built once (idempotent) */
    for (int i = 0; i < TC__UN_COUNT; i++) {
      snprintf(node_names[i], sizeof node_names[i], "%sBackward0", unary_node_names[i]);
      node_names[i][0] = (char)(node_names[i][0] - 'a' + 'A');
    }
    atomic_store(&named, 1);
  }
  unary_ctx c = {op};
  const tc_tensor *save[2] = {x, out};
  return tc__record(out, node_names[op], unary_backward, 1, &x, 2, save, &c, sizeof c);
}

/* ---- binary ---------------------------------------------------------------------------------------- */
typedef struct {
  tc__binary_op op;
  double alpha;
  double av, bv; /* scalar operands */
  bool a_t, b_t; /* which operands are tensors */
  int64_t a_shape[TC_MAX_DIMS], b_shape[TC_MAX_DIMS];
  int a_nd, b_nd;
} binary_ctx;

/* the gradient for operand k (0 = a, 1 = b) before summing to its shape */
static tc_status binary_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const binary_ctx *c = tc__node_ctx(n);
  const tc_tensor *g = go[0];
  const tc_tensor *a = NULL, *b = NULL;
  int si = 0;
  if (n->n_saved) {
    if (c->a_t) {
      a = tc__node_saved(n, si++);
      if (!a) return tc_last_status();
    }
    if (c->b_t) {
      b = tc__node_saved(n, si++);
      if (!b) return tc_last_status();
    }
  }
  tc_tensor *ga = NULL, *gb = NULL, *t[8] = {0};
  bool need_a = c->a_t && n->next[0].node, need_b = c->b_t && n->next[c->a_t ? 1 : 0].node;
  switch (c->op) {
    case TC__BIN_add:
      if (need_a) ga = tc_tensor_retain((tc_tensor *)g);
      if (need_b) gb = c->alpha == 1 ? tc_tensor_retain((tc_tensor *)g) : tc_mul_scalar(g, c->alpha);
      break;
    case TC__BIN_sub:
      if (need_a) ga = tc_tensor_retain((tc_tensor *)g);
      if (need_b) gb = c->a_t ? tc_mul_scalar(g, -c->alpha) : tc_neg(g); /* rsub: s - b */
      break;
    case TC__BIN_mul:
      if (need_a) ga = b ? tc_mul(g, b) : tc_mul_scalar(g, c->bv);
      if (need_b) gb = a ? tc_mul(g, a) : tc_mul_scalar(g, c->av);
      break;
    case TC__BIN_div:
      if (need_a) ga = b ? tc_div(g, b) : tc_div_scalar(g, c->bv);
      if (need_b) { /* -g * a / b^2 */
        t[0] = tc_mul(b, b);
        t[1] = a ? tc_mul(g, a) : tc_mul_scalar(g, c->av);
        t[2] = tc_div(t[1], t[0]);
        gb = tc_neg(t[2]);
      }
      break;
    case TC__BIN_div_floor:
    case TC__BIN_div_trunc: /* piecewise constant: zero gradient, as PyTorch */
      if (need_a) ga = tc_zeros_like(g, NULL);
      if (need_b) gb = tc_zeros_like(g, NULL);
      break;
    case TC__BIN_remainder: /* a - floor(a / b) * b */
      if (need_a) ga = tc_tensor_retain((tc_tensor *)g);
      if (need_b) {
        t[0] = b ? tc_floor_divide(a ? a : (t[5] = tc_full_like(b, c->av, NULL)), b) : NULL;
        gb = tc_neg(t[1] = tc_mul(g, t[0]));
      }
      break;
    case TC__BIN_pow:
      if (need_a) { /* g * b * a^(b-1), zero where b == 0 */
        if (b) {
          t[0] = tc_pow(a, t[1] = tc_sub_scalar(b, 1.0));
          t[2] = tc_mul(t[0], b);
          t[3] = tc_mul(g, t[2]);
          t[4] = tc_eq_scalar(b, 0);
          ga = tc_masked_fill(t[3], t[4], 0.0);
        } else if (c->bv == 0) {
          ga = tc_zeros_like(g, NULL);
        } else {
          t[0] = tc_pow_scalar(a, c->bv - 1.0);
          ga = tc_mul(g, t[1] = tc_mul_scalar(t[0], c->bv));
        }
      }
      if (need_b) { /* g * a^b * log(a), zero where a == 0 and b >= 0 */
        const tc_tensor *base = a ? a : (t[5] = tc_full_like(b, c->av, NULL));
        t[6] = tc_pow(base, b);
        t[7] = tc_log(base);
        tc_tensor *p = tc_mul(t[6], t[7]);
        tc_tensor *q = tc_mul(g, p);
        tc_tensor *z = tc_eq_scalar(base, 0), *nn = tc_ge_scalar(b, 0);
        tc_tensor *mask = tc_logical_and(z, nn);
        gb = tc_masked_fill(q, mask, 0.0);
        tc_tensor *tmp[5] = {p, q, z, nn, mask};
        drop(tmp, 5);
      }
      break;
    case TC__BIN_minimum:
    case TC__BIN_maximum: {
      /* where(a == b, g / 2, g) masked to 0 where the other operand won */
      const tc_tensor *aa = a ? a : (t[5] = tc_full_like(b, c->av, NULL));
      const tc_tensor *bb = b ? b : (t[6] = tc_full_like(a, c->bv, NULL));
      t[0] = tc_eq(aa, bb);
      t[1] = tc_mul_scalar(g, 0.5);
      t[2] = tc_where(t[0], t[1], g); /* (shape of g) */
      bool mx = c->op == TC__BIN_maximum;
      if (need_a) {
        tc_tensor *lose = mx ? tc_lt(aa, bb) : tc_gt(aa, bb);
        ga = tc_masked_fill(t[2], lose, 0.0);
        tc_tensor_release(lose);
      }
      if (need_b) {
        tc_tensor *lose = mx ? tc_gt(aa, bb) : tc_lt(aa, bb);
        gb = tc_masked_fill(t[2], lose, 0.0);
        tc_tensor_release(lose);
      }
      break;
    }
    default:
      break;
  }
  drop(t, 8);
  if ((need_a && !ga) || (need_b && !gb)) {
    tc_tensor_release(ga);
    tc_tensor_release(gb);
    return tc_last_status();
  }
  int k = 0;
  if (c->a_t) {
    gi[k] = ga ? tc__sum_to(ga, c->a_shape, c->a_nd) : NULL;
    tc_tensor_release(ga);
    if (ga && !gi[k]) {
      tc_tensor_release(gb);
      return tc_last_status();
    }
    k++;
  }
  if (c->b_t) {
    gi[k] = gb ? tc__sum_to(gb, c->b_shape, c->b_nd) : NULL;
    tc_tensor_release(gb);
    if (gb && !gi[k]) return tc_last_status();
  }
  return TC_OK;
}

static const char *binary_node_name(tc__binary_op op, bool a_t, bool b_t) {
  switch (op) {
    case TC__BIN_add: return "AddBackward0";
    case TC__BIN_sub: return a_t ? "SubBackward0" : "RsubBackward1";
    case TC__BIN_mul: return "MulBackward0";
    case TC__BIN_div: return "DivBackward0";
    case TC__BIN_div_floor: return "DivBackward1";
    case TC__BIN_div_trunc: return "DivBackward1";
    case TC__BIN_remainder: return "RemainderBackward0";
    case TC__BIN_pow: return b_t ? "PowBackward1" : "PowBackward0";
    case TC__BIN_minimum: return "MinimumBackward0";
    case TC__BIN_maximum: return "MaximumBackward0";
    default: return NULL; /* comparisons: not differentiable */
  }
}

tc_tensor *tc__binary_record(tc__binary_op op, const tc_tensor *a, double av, const tc_tensor *b, double bv,
                             double alpha, tc_tensor *out) {
  const char *name = binary_node_name(op, a != NULL, b != NULL);
  const tc_tensor *ins[2];
  int n = 0;
  if (a) ins[n++] = a;
  if (b) ins[n++] = b;
  if (!out || !name || !tc__grad_needed(n, ins)) return out;
  binary_ctx c = {.op = op, .alpha = alpha, .av = av, .bv = bv, .a_t = a != NULL, .b_t = b != NULL};
  if (a) {
    memcpy(c.a_shape, a->sizes, sizeof(int64_t) * (size_t)a->ndim);
    c.a_nd = a->ndim;
  }
  if (b) {
    memcpy(c.b_shape, b->sizes, sizeof(int64_t) * (size_t)b->ndim);
    c.b_nd = b->ndim;
  }
  bool save = op != TC__BIN_add && op != TC__BIN_sub && op != TC__BIN_div_floor && op != TC__BIN_div_trunc;
  return tc__record(out, name, binary_backward, n, ins, save ? n : 0, ins, &c, sizeof c);
}

/* ---- clamp ------------------------------------------------------------------------------------------- */
typedef struct {
  double lo, hi;
} clamp_ctx;

static tc_status clamp_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const clamp_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0);
  if (!x) return tc_last_status();
  tc_tensor *lo = tc_ge_scalar(x, c->lo), *hi = tc_le_scalar(x, c->hi);
  tc_tensor *in = tc_logical_and(lo, hi);
  tc_tensor *out = tc_logical_not(in);
  gi[0] = tc_masked_fill(go[0], out, 0.0);
  tc_tensor *t[4] = {lo, hi, in, out};
  drop(t, 4);
  return gi[0] ? TC_OK : tc_last_status();
}

tc_tensor *tc__clamp_record(const tc_tensor *x, double lo, double hi, tc_tensor *out) {
  clamp_ctx c = {lo, hi};
  return tc__record(out, "ClampBackward1", clamp_backward, 1, &x, 1, &x, &c, sizeof c);
}

/* ---- in place --------------------------------------------------------------------------------------- */
tc_status tc__inplace_with_grad(const char *fn, tc_tensor *self, tc__inplace_compute compute, void *ctx) {
  tc_status s = tc__check_inplace(fn, self);
  if (s) return s;
  /* compute out of place from a differentiable copy of self's current value, then write the
   * result into self and give self the result's history */
  tc_tensor *old = tc_clone(self);
  if (!old) return tc_last_status();
  tc_tensor *r = compute(old, ctx);
  tc_tensor_release(old);
  if (!r) return tc_last_status();
  if (r->ndim != self->ndim || memcmp(r->sizes, self->sizes, sizeof(int64_t) * (size_t)self->ndim)) {
    tc_tensor_release(r);
    return tc__error(TC_ERR_SHAPE, "%s: output with shape %s doesn't match the broadcast shape %s", fn,
                     tc__tshape(self), tc__tshape(r));
  }
  if ((s = tc__copy(self, r))) { /* any device */
    tc_tensor_release(r);
    return s;
  }
  tc__bump_version(self);
  s = tc__take_history(self, r);
  tc_tensor_release(r);
  return s;
}
