/* core/src/elementwise.c — the elementwise op pipeline: unary, binary (tensor and scalar forms),
 * clamp, and their in-place variants.
 *
 * Every op runs: checks (NULL, device, dtype rules) -> result dtype (PyTorch's result_type) ->
 * broadcast shape -> inputs cast to the compute dtype (f16/bf16 compute in f32) -> output
 * allocated -> the CPU inner loop from cpu/elementwise_kernels.c over tc__foreach -> the result
 * rounded back to f16/bf16 when needed. The op lists live in ops/unary.def and ops/binary.def.
 */
#include <math.h>
#include "autograd/autograd_internal.h"
#include "elementwise_backward.h"

/* ---- result_type as PyTorch: dim>0 tensors, then 0-d tensors, then scalars by category ------ */
static tc_dtype combine_categories(tc_dtype higher, tc_dtype lower) {
  if (higher == TC_DTYPE_DEFAULT) return lower;
  if (lower == TC_DTYPE_DEFAULT) return higher;
  if (tc_dtype_is_complex(higher)) return higher;
  if (tc_dtype_is_complex(lower)) return tc_dtype_is_floating(higher) ? (higher == TC_F64 ? TC_DTYPE_DEFAULT : TC_C64) : lower;
  if (tc_dtype_is_floating(higher)) return higher;
  if (higher == TC_BOOL || tc_dtype_is_floating(lower)) return tc_promote_types(higher, lower);
  return higher;
}

static tc_dtype promote_opt(tc_dtype a, tc_dtype b) {
  if (a == TC_DTYPE_DEFAULT) return b;
  if (b == TC_DTYPE_DEFAULT) return a;
  return tc_promote_types(a, b);
}

/* An operand: a tensor, or a scalar (a Python number: int when integral, else float). */
typedef struct {
  const tc_tensor *t;
  double v;
} operand;

static bool is_int_scalar(double v) { return v == trunc(v) && fabs(v) < 9.2e18; }

static tc_dtype result_type(const operand *ops, int n) {
  tc_dtype dim = TC_DTYPE_DEFAULT, zero = TC_DTYPE_DEFAULT, wrapped = TC_DTYPE_DEFAULT;
  for (int i = 0; i < n; i++) {
    if (ops[i].t) {
      if (ops[i].t->ndim > 0) dim = promote_opt(dim, ops[i].t->dtype);
      else zero = promote_opt(zero, ops[i].t->dtype);
    } else {
      wrapped = promote_opt(wrapped, is_int_scalar(ops[i].v) ? TC_I64 : TC_F32);
    }
  }
  return combine_categories(dim, combine_categories(zero, wrapped));
}

/* Can a value of dtype `from` be written into `to` (PyTorch's canCast)? */
static bool can_cast(tc_dtype from, tc_dtype to) {
  if (tc_dtype_is_complex(from) && !tc_dtype_is_complex(to)) return false;
  if (tc_dtype_is_floating(from) && tc_dtype_is_integral(to, true)) return false;
  if (from != TC_BOOL && to == TC_BOOL) return false;
  return true;
}

/* A contiguous copy of t in dtype (a new reference to t itself when the dtype matches). */
static tc_tensor *as_dtype(const tc_tensor *t, tc_dtype d) {
  if (t->dtype == d) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, d);
}

/* A 0-d tensor holding a scalar in dtype d. */
static tc_tensor *scalar_as(double v, tc_dtype d, tc_device dev) {
  tc_tensor *s = tc__empty(NULL, 0, d, dev);
  if (!s) return NULL;
  if (dev.type != TC_DEVICE_CPU) { /* one fill kernel (the value converted as the CPU does) */
    if (tc__fill(s, v)) {
      tc_tensor_release(s);
      return NULL;
    }
    return s;
  }
  if (d == TC_I64 && is_int_scalar(v)) *(int64_t *)tc__ptr(s) = (int64_t)v;
  else tc__store_double(tc__ptr(s), d, v);
  return s;
}

/* Runs an elementwise kernel over ops (ops[0] the output): the CPU loop through tc__foreach, or
 * the device backend's kernel over the same plan. which: 0 unary, 1 binary, 2 clamp. */
static tc_status run_kernel(const char *fn, int which, int op, tc_dtype compute, int nops, const tc_tensor *const *ops,
                            tc__loop_fn cpu_loop, void *ctx, int64_t grain) {
  const tc_tensor *o = ops[0];
  if (tc__is_cpu(o)) {
    tc__foreach(nops, ops, cpu_loop, ctx, grain);
    return TC_OK;
  }
  const tc__device_api *api = tc__backend(o);
  tc__kplan kp;
  tc__kplan_make(nops, ops, &kp);
  int idx = tc__dev_index(o);
  switch (which) {
    case 0:
      if (api && api->unary) return api->unary(idx, (tc__unary_op)op, compute, &kp);
      break;
    case 1:
      if (api && api->binary) return api->binary(idx, (tc__binary_op)op, compute, &kp, ctx);
      break;
    default:
      if (api && api->clamp) return api->clamp(idx, compute, &kp, ctx);
      break;
  }
  return tc__kernel_missing(fn, o);
}

static int64_t grain_for_unary(tc__unary_op op) {
  switch (op) {
    case TC__UN_neg: case TC__UN_abs: case TC__UN_sign: case TC__UN_relu: case TC__UN_floor:
    case TC__UN_ceil: case TC__UN_round: case TC__UN_trunc: case TC__UN_isnan: case TC__UN_isinf:
    case TC__UN_isfinite: case TC__UN_logical_not: case TC__UN_sqrt: case TC__UN_rsqrt:
      return TC__GRAIN_ELEMENTWISE;
    default:
      return 4096; /* transcendental: worth splitting earlier */
  }
}

/* The last step of every kernel run: an in-place call copies (converting) the computed values
 * into self when they were not written there directly; otherwise the result is rounded to the
 * result dtype when it was computed in another (f16/bf16 in f32). Takes out; returns the tensor
 * to hand back (NULL on failure), and sets *done when the in-place write finished the call. */
static tc_tensor *finish(tc_tensor *out, tc_dtype computed, tc_dtype result, tc_tensor *inplace, bool *done) {
  *done = inplace != NULL;
  if (inplace) {
    tc_status s = out != inplace ? tc__copy(inplace, out) : TC_OK;
    tc_tensor_release(out);
    tc__bump_version(inplace);
    return s ? NULL : inplace;
  }
  if (computed == result) return out;
  tc_tensor *r = tc__to_dtype_contig(out, result);
  tc_tensor_release(out);
  return r;
}

/* ---- unary -------------------------------------------------------------------------------------- */
typedef enum { CAT_FLOAT, CAT_SAME, CAT_PRED } unary_cat;

static const unary_cat unary_cats[TC__UN_COUNT] = {
#define TC_UNARY_FLOAT(name, f32, f64) [TC__UN_##name] = CAT_FLOAT,
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) [TC__UN_##name] = CAT_SAME,
#define TC_UNARY_PRED(name, f32, f64, iexpr) [TC__UN_##name] = CAT_PRED,
#include "ops/unary.def"
};
static const char *const unary_names[TC__UN_COUNT] = {
#define TC_UNARY_FLOAT(name, f32, f64) [TC__UN_##name] = "tc_" #name,
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) [TC__UN_##name] = "tc_" #name,
#define TC_UNARY_PRED(name, f32, f64, iexpr) [TC__UN_##name] = "tc_" #name,
#include "ops/unary.def"
};

/* out == NULL: allocate; else write into out (same shape as t, dtype result or castable). */
static tc_tensor *unary_op(tc__unary_op op, const tc_tensor *t, tc_tensor *inplace) {
  const char *fn = unary_names[op];
  TC__NONNULL_T(t, fn);
  unary_cat cat = unary_cats[op];
  tc_dtype in = t->dtype, compute, result;
  if (in == TC_C64) {
    /* complex subset: neg keeps complex64, abs gives float32, isnan gives bool */
    if (!tc__cpu_unary_kernel(op, TC_C64)) {
      tc__error(TC_ERR_UNSUPPORTED, "%s: complex64 input is not supported by this op", fn);
      return NULL;
    }
    cat = op == TC__UN_isnan ? CAT_PRED : CAT_SAME;
  }
  switch (cat) {
    case CAT_FLOAT:
      result = tc_dtype_is_floating(in) ? in : TC_F32;
      compute = tc__compute_dtype(result);
      break;
    case CAT_SAME:
      result = in;
      compute = tc__compute_dtype(in);
      break;
    default:
      result = TC_BOOL;
      compute = tc__compute_dtype(in);
      break;
  }
  tc__loop_fn k = tc__cpu_unary_kernel(op, compute);
  if (!k) {
    tc__error(TC_ERR_DTYPE, "%s: not supported for %s input", fn, tc_dtype_name(in));
    return NULL;
  }
  if (inplace && !can_cast(result, inplace->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: result type %s can't be cast to the desired output type %s", fn,
              tc_dtype_name(result), tc_dtype_name(inplace->dtype));
    return NULL;
  }
  tc_tensor *x = as_dtype(t, compute);
  if (!x) return NULL;
  tc_dtype kout = cat == CAT_PRED ? TC_BOOL : compute;
  if (in == TC_C64 && op == TC__UN_abs) kout = result = TC_F32;
  tc_tensor *out;
  if (inplace && inplace->dtype == kout) out = tc_tensor_retain(inplace); /* elementwise: aliasing is safe */
  else out = tc__empty(t->sizes, t->ndim, kout, t->storage->device);
  if (!out) {
    tc_tensor_release(x);
    return NULL;
  }
  const tc_tensor *ops[2] = {out, x};
  tc_status st = run_kernel(fn, 0, op, compute, 2, ops, k, NULL, grain_for_unary(op));
  tc_tensor_release(x);
  if (st) {
    tc_tensor_release(out);
    return NULL;
  }
  bool done;
  out = finish(out, kout, result, inplace, &done);
  return done ? out : tc__unary_record(op, t, out);
}

#define TC_UNARY_FLOAT(name, f32, f64) \
  tc_tensor *tc_##name(const tc_tensor *t) { return unary_op(TC__UN_##name, t, NULL); }
#define TC_UNARY_SAME(name, f32, f64, iexpr, bool_ok) \
  tc_tensor *tc_##name(const tc_tensor *t) { return unary_op(TC__UN_##name, t, NULL); }
#define TC_UNARY_PRED(name, f32, f64, iexpr) \
  tc_tensor *tc_##name(const tc_tensor *t) { return unary_op(TC__UN_##name, t, NULL); }
#include "ops/unary.def"

static tc_tensor *unary_compute(const tc_tensor *x, void *ctx) { return unary_op(*(tc__unary_op *)ctx, x, NULL); }

static tc_status unary_inplace(tc__unary_op op, tc_tensor *self) {
  TC__NONNULL_S(self, unary_names[op]);
  if (tc__grad_needed(1, (const tc_tensor *const *)&self)) return tc__inplace_with_grad(unary_names[op], self, unary_compute, &op);
  return unary_op(op, self, self) ? TC_OK : tc_last_status();
}
tc_status tc_neg_inplace(tc_tensor *self) { return unary_inplace(TC__UN_neg, self); }
tc_status tc_relu_inplace(tc_tensor *self) { return unary_inplace(TC__UN_relu, self); }
tc_status tc_sigmoid_inplace(tc_tensor *self) { return unary_inplace(TC__UN_sigmoid, self); }
tc_status tc_exp_inplace(tc_tensor *self) { return unary_inplace(TC__UN_exp, self); }
tc_status tc_sqrt_inplace(tc_tensor *self) { return unary_inplace(TC__UN_sqrt, self); }

/* ---- binary ------------------------------------------------------------------------------------- */
static bool is_cmp(tc__binary_op op) { return op >= TC__BIN_eq && op <= TC__BIN_ge; }
/* ops PyTorch refuses for two bool operands */
static bool bool_refused(tc__binary_op op) {
  return op == TC__BIN_sub || op == TC__BIN_div_floor || op == TC__BIN_div_trunc || op == TC__BIN_remainder ||
         op == TC__BIN_pow;
}

/* Integer division by zero is an error in PyTorch (ZeroDivisionError); check before computing. */
static bool has_zero(const tc_tensor *t) {
  int64_t n = tc__numel(t->sizes, t->ndim);
  if (n == 0) return false;
  tc_tensor *c = tc__to_dtype_contig(t, TC_I64);
  if (c && !tc__is_cpu(c)) { /* look on the host */
    tc_tensor *h = tc_tensor_to(c, tc_cpu());
    tc_tensor_release(c);
    c = h;
  }
  if (!c) return true; /* treated as failure by the caller via status */
  const int64_t *d = (const int64_t *)(const void *)tc__ptr(c);
  bool z = false;
  for (int64_t i = 0; i < n && !z; i++) z = d[i] == 0;
  tc_tensor_release(c);
  return z;
}

static tc_tensor *binary_op_on(const char *fn, tc__binary_op op, operand a, operand b, double alpha,
                               tc_tensor *inplace);

/* out = a (op) b. Either operand may be a scalar (t == NULL). inplace: write into it (it is a).
 * fn names the public function for messages. A 0-d CPU tensor with a device tensor acts as a
 * scalar there (moved to the device first), as in PyTorch. */
static tc_tensor *binary_op(const char *fn, tc__binary_op op, operand a, operand b, double alpha, tc_tensor *inplace) {
  bool ma = false, mb = false;
  if (a.t && b.t && a.t != inplace) a.t = tc__scalar_to_device_of(a.t, b.t, &ma);
  if (a.t && b.t && !ma) b.t = tc__scalar_to_device_of(b.t, a.t, &mb);
  if ((ma || mb) && !(ma ? a.t : b.t)) return NULL;
  tc_tensor *r = binary_op_on(fn, op, a, b, alpha, inplace);
  if (ma) tc_tensor_release((tc_tensor *)a.t);
  if (mb) tc_tensor_release((tc_tensor *)b.t);
  return r;
}

static tc_tensor *binary_op_on(const char *fn, tc__binary_op op, operand a, operand b, double alpha,
                               tc_tensor *inplace) {
  if (!a.t && !b.t) {
    tc__error(TC_ERR_ARG, "%s: needs at least one tensor operand", fn);
    return NULL;
  }
  const tc_tensor *ta = a.t ? a.t : b.t;
  if (a.t && b.t && tc__check_same_device(fn, a.t, b.t)) return NULL;
  operand ops[2] = {a, b};
  tc_dtype common = result_type(ops, 2);
  if (common == TC_DTYPE_DEFAULT) {
    tc__error(TC_ERR_DTYPE, "%s: no result type for %s and %s (complex128 is not supported)", fn,
              a.t ? tc_dtype_name(a.t->dtype) : "scalar", b.t ? tc_dtype_name(b.t->dtype) : "scalar");
    return NULL;
  }
  if (common == TC_C64 && !tc__cpu_binary_kernel(op, TC_C64)) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: complex64 operands are not supported by this op", fn);
    return NULL;
  }
  if (op == TC__BIN_sub && ((a.t && a.t->dtype == TC_BOOL) || (b.t && b.t->dtype == TC_BOOL))) {
    tc__error(TC_ERR_DTYPE, "%s: subtraction with a bool tensor is not supported (as PyTorch; use logical_xor)", fn);
    return NULL;
  }
  if (common == TC_BOOL && bool_refused(op)) {
    tc__error(TC_ERR_DTYPE, "%s: not supported for two bool operands (as PyTorch; use logical ops)", fn);
    return NULL;
  }
  tc_dtype result = is_cmp(op) ? TC_BOOL : common;
  tc_dtype compute = tc__compute_dtype(common);
  if (op == TC__BIN_div && !tc_dtype_is_floating(common) && common != TC_C64) {
    result = TC_F32;
    compute = TC_F32;
  }
  bool integral = tc_dtype_is_integral(compute, true);
  if ((op == TC__BIN_add || op == TC__BIN_sub) && integral && !is_int_scalar(alpha)) {
    tc__error(TC_ERR_ARG, "%s: for integral input tensors, alpha must not be a floating point number (got %g)", fn,
              alpha);
    return NULL;
  }
  if (integral && (op == TC__BIN_div_floor || op == TC__BIN_div_trunc || op == TC__BIN_remainder)) {
    bool zero = b.t ? has_zero(b.t) : b.v == 0;
    if (tc_last_status() == TC_ERR_NOMEM && zero && b.t) return NULL;
    if (zero) {
      tc__error(TC_ERR_ARG, "%s: integer division by zero (ZeroDivisionError)", fn);
      return NULL;
    }
  }
  if (op == TC__BIN_pow && integral && !b.t && b.v < 0) {
    tc__error(TC_ERR_ARG, "%s: integers to negative integer powers are not allowed (exponent %g)", fn, b.v);
    return NULL;
  }
  tc__loop_fn k = tc__cpu_binary_kernel(op, compute);
  if (!k) {
    tc__error(TC_ERR_DTYPE, "%s: not supported for %s", fn, tc_dtype_name(common));
    return NULL;
  }
  /* broadcast */
  int64_t shape[TC_MAX_DIMS];
  int nd;
  if (a.t && b.t) {
    if (tc__broadcast_shapes(fn, a.t->sizes, a.t->ndim, b.t->sizes, b.t->ndim, shape, &nd)) return NULL;
  } else {
    nd = ta->ndim;
    memcpy(shape, ta->sizes, sizeof(int64_t) * (size_t)nd);
  }
  if (inplace) {
    if (nd != inplace->ndim || memcmp(shape, inplace->sizes, sizeof(int64_t) * (size_t)nd) != 0) {
      tc__error(TC_ERR_SHAPE, "%s: output with shape %s doesn't match the broadcast shape %s", fn,
                tc__tshape(inplace), tc__shape_str(shape, nd));
      return NULL;
    }
    if (!can_cast(result, inplace->dtype)) {
      tc__error(TC_ERR_DTYPE, "%s: result type %s can't be cast to the desired output type %s", fn,
                tc_dtype_name(result), tc_dtype_name(inplace->dtype));
      return NULL;
    }
  }
  tc_tensor *xa = NULL, *xb = NULL, *ea = NULL, *eb = NULL, *out = NULL;
  xa = a.t ? as_dtype(a.t, compute) : scalar_as(a.v, compute, ta->storage->device);
  xb = xa ? (b.t ? as_dtype(b.t, compute) : scalar_as(b.v, compute, ta->storage->device)) : NULL;
  ea = xb ? tc__expand_to(xa, shape, nd) : NULL;
  eb = ea ? tc__expand_to(xb, shape, nd) : NULL;
  tc_dtype kout = is_cmp(op) ? TC_BOOL : compute;
  if (eb) {
    /* write straight into self when it is the output dtype and the other operand cannot overlap it
     * except as the identical view (x += x is fine) */
    bool direct = inplace && inplace->dtype == kout && a.t == inplace &&
                  (!b.t || b.t->storage != inplace->storage ||
                   (b.t->offset == inplace->offset && b.t->ndim == inplace->ndim &&
                    !memcmp(b.t->strides, inplace->strides, sizeof(int64_t) * (size_t)nd) &&
                    !memcmp(b.t->sizes, inplace->sizes, sizeof(int64_t) * (size_t)nd)));
    out = direct ? tc_tensor_retain(inplace) : tc__empty(shape, nd, kout, ta->storage->device);
  }
  if (out) {
    tc__binary_ctx c = {(float)alpha, alpha, (int64_t)(is_int_scalar(alpha) ? alpha : 0)};
    const tc_tensor *args[3] = {out, ea, eb};
    if (run_kernel(fn, 1, op, compute, 3, args, k, &c, TC__GRAIN_ELEMENTWISE)) {
      tc_tensor_release(out);
      out = NULL;
    }
  }
  tc_tensor_release(eb);
  tc_tensor_release(ea);
  tc_tensor_release(xb);
  tc_tensor_release(xa);
  if (!out) return NULL;
  bool done;
  out = finish(out, kout, result, inplace, &done);
  return done ? out : tc__binary_record(op, a.t, a.v, b.t, b.v, alpha, out);
}

#define T_(x) ((operand){(x), 0})
#define S_(v) ((operand){NULL, (v)})
#define NONNULL2(a, b, fn) \
  TC__NONNULL_T(a, fn);    \
  TC__NONNULL_T(b, fn)

tc_tensor *tc_add(const tc_tensor *a, const tc_tensor *b, double alpha) {
  NONNULL2(a, b, "tc_add");
  return binary_op("tc_add", TC__BIN_add, T_(a), T_(b), alpha, NULL);
}
tc_tensor *tc_sub(const tc_tensor *a, const tc_tensor *b, double alpha) {
  NONNULL2(a, b, "tc_sub");
  return binary_op("tc_sub", TC__BIN_sub, T_(a), T_(b), alpha, NULL);
}

#define BINARY_PUBLIC(pub, op)                                         \
  tc_tensor *tc_##pub(const tc_tensor *a, const tc_tensor *b) {        \
    NONNULL2(a, b, "tc_" #pub);                                        \
    return binary_op("tc_" #pub, TC__BIN_##op, T_(a), T_(b), 1.0, NULL); \
  }
BINARY_PUBLIC(mul, mul)
BINARY_PUBLIC(div, div)
BINARY_PUBLIC(floor_divide, div_floor)
BINARY_PUBLIC(remainder, remainder)
BINARY_PUBLIC(pow, pow)
BINARY_PUBLIC(minimum, minimum)
BINARY_PUBLIC(maximum, maximum)
BINARY_PUBLIC(eq, eq)
BINARY_PUBLIC(ne, ne)
BINARY_PUBLIC(lt, lt)
BINARY_PUBLIC(le, le)
BINARY_PUBLIC(gt, gt)
BINARY_PUBLIC(ge, ge)

tc_tensor *tc_div_mode(const tc_tensor *a, const tc_tensor *b, tc_rounding mode) {
  NONNULL2(a, b, "tc_div_mode");
  tc__binary_op op = mode == TC_ROUND_FLOOR ? TC__BIN_div_floor : mode == TC_ROUND_TRUNC ? TC__BIN_div_trunc : TC__BIN_div;
  if (mode != TC_ROUND_NONE && mode != TC_ROUND_FLOOR && mode != TC_ROUND_TRUNC) {
    tc__error(TC_ERR_ARG, "tc_div_mode: unknown rounding mode %d", (int)mode);
    return NULL;
  }
  return binary_op("tc_div_mode", op, T_(a), T_(b), 1.0, NULL);
}

#define SCALAR_PUBLIC(pub, op)                                          \
  tc_tensor *tc_##pub##_scalar(const tc_tensor *a, double s) {          \
    TC__NONNULL_T(a, "tc_" #pub "_scalar");                             \
    return binary_op("tc_" #pub "_scalar", TC__BIN_##op, T_(a), S_(s), 1.0, NULL); \
  }
SCALAR_PUBLIC(add, add)
SCALAR_PUBLIC(sub, sub)
SCALAR_PUBLIC(mul, mul)
SCALAR_PUBLIC(div, div)
SCALAR_PUBLIC(remainder, remainder)
SCALAR_PUBLIC(minimum, minimum)
SCALAR_PUBLIC(maximum, maximum)
SCALAR_PUBLIC(eq, eq)
SCALAR_PUBLIC(ne, ne)
SCALAR_PUBLIC(lt, lt)
SCALAR_PUBLIC(le, le)
SCALAR_PUBLIC(gt, gt)
SCALAR_PUBLIC(ge, ge)

tc_tensor *tc_rsub_scalar(const tc_tensor *a, double s) {
  TC__NONNULL_T(a, "tc_rsub_scalar");
  return binary_op("tc_rsub_scalar", TC__BIN_sub, S_(s), T_(a), 1.0, NULL);
}

/* pow with a scalar exponent: PyTorch special-cases common exponents (and so do we, for the
 * same bits): 2 -> x*x, 3 -> x*x*x, 0.5 -> sqrt, -0.5 -> rsqrt, -1 -> 1/x, -2 -> 1/(x*x). */
tc_tensor *tc_pow_scalar(const tc_tensor *a, double e) {
  const char *fn = "tc_pow_scalar";
  TC__NONNULL_T(a, fn);
  operand ops[2] = {T_(a), S_(e)};
  tc_dtype rt = result_type(ops, 2);
  if (tc_dtype_is_floating(rt)) {
    if (e == 0.5 || e == -0.5) {
      tc_tensor *x = as_dtype(a, rt);
      if (!x) return NULL;
      tc_tensor *r = e == 0.5 ? tc_sqrt(x) : tc_rsqrt(x);
      tc_tensor_release(x);
      return r;
    }
    if (e == 2 || e == 3 || e == -1 || e == -2) {
      tc_tensor *x = as_dtype(a, rt);
      if (!x) return NULL;
      tc_tensor *sq = e == -1 ? NULL : binary_op(fn, TC__BIN_mul, T_(x), T_(x), 1.0, NULL);
      tc_tensor *r = NULL;
      if (e == 2) r = sq;
      else if (e == 3) r = sq ? binary_op(fn, TC__BIN_mul, T_(sq), T_(x), 1.0, NULL) : NULL;
      else if (e == -1) r = binary_op(fn, TC__BIN_div, S_(1.0), T_(x), 1.0, NULL);
      else r = sq ? binary_op(fn, TC__BIN_div, S_(1.0), T_(sq), 1.0, NULL) : NULL;
      if (e != 2) tc_tensor_release(sq);
      tc_tensor_release(x);
      return r;
    }
  }
  return binary_op(fn, TC__BIN_pow, T_(a), S_(e), 1.0, NULL);
}

/* ---- logical ops: operands are converted to bool first (x != 0) -------------------------------- */
static tc_tensor *logical(const char *fn, const tc_tensor *a, const tc_tensor *b, int kind) {
  NONNULL2(a, b, fn);
  tc_tensor *x = as_dtype(a, TC_BOOL);
  tc_tensor *y = x ? as_dtype(b, TC_BOOL) : NULL;
  tc_tensor *r = NULL;
  if (y) {
    /* and = min, or = max, xor = ne on 0/1 bytes */
    tc__binary_op op = kind == 0 ? TC__BIN_minimum : kind == 1 ? TC__BIN_maximum : TC__BIN_ne;
    r = binary_op(fn, op, T_(x), T_(y), 1.0, NULL);
  }
  tc_tensor_release(y);
  tc_tensor_release(x);
  return r;
}
tc_tensor *tc_logical_and(const tc_tensor *a, const tc_tensor *b) { return logical("tc_logical_and", a, b, 0); }
tc_tensor *tc_logical_or(const tc_tensor *a, const tc_tensor *b) { return logical("tc_logical_or", a, b, 1); }
tc_tensor *tc_logical_xor(const tc_tensor *a, const tc_tensor *b) { return logical("tc_logical_xor", a, b, 2); }

/* ---- in place ------------------------------------------------------------------------------------ */
static tc_status inplace_status(tc_tensor *r) { return r ? TC_OK : tc_last_status(); }

typedef struct {
  const char *fn;
  tc__binary_op op;
  operand other;
  double alpha;
} inplace_ctx;

static tc_tensor *binary_compute(const tc_tensor *self_value, void *ctx) {
  const inplace_ctx *c = ctx;
  return binary_op(c->fn, c->op, T_(self_value), c->other, c->alpha, NULL);
}

/* self (op)= other: the direct kernel, or under autograd the recorded out-of-place path */
static tc_status binary_inplace(const char *fn, tc__binary_op op, tc_tensor *self, operand other, double alpha) {
  const tc_tensor *ins[2] = {self, other.t};
  if (tc__grad_needed(other.t ? 2 : 1, ins)) {
    inplace_ctx c = {fn, op, other, alpha};
    return tc__inplace_with_grad(fn, self, binary_compute, &c);
  }
  return inplace_status(binary_op(fn, op, T_(self), other, alpha, self));
}

tc_status tc_add_inplace(tc_tensor *self, const tc_tensor *other, double alpha) {
  TC__NONNULL_S(self, "tc_add_inplace");
  TC__NONNULL_S(other, "tc_add_inplace");
  return binary_inplace("tc_add_inplace", TC__BIN_add, self, T_(other), alpha);
}
tc_status tc_sub_inplace(tc_tensor *self, const tc_tensor *other, double alpha) {
  TC__NONNULL_S(self, "tc_sub_inplace");
  TC__NONNULL_S(other, "tc_sub_inplace");
  return binary_inplace("tc_sub_inplace", TC__BIN_sub, self, T_(other), alpha);
}
tc_status tc_mul_inplace(tc_tensor *self, const tc_tensor *other) {
  TC__NONNULL_S(self, "tc_mul_inplace");
  TC__NONNULL_S(other, "tc_mul_inplace");
  return binary_inplace("tc_mul_inplace", TC__BIN_mul, self, T_(other), 1.0);
}
tc_status tc_div_inplace(tc_tensor *self, const tc_tensor *other) {
  TC__NONNULL_S(self, "tc_div_inplace");
  TC__NONNULL_S(other, "tc_div_inplace");
  return binary_inplace("tc_div_inplace", TC__BIN_div, self, T_(other), 1.0);
}
#define SCALAR_INPLACE(pub, op)                                                                    \
  tc_status tc_##pub##_scalar_inplace(tc_tensor *self, double s) {                                 \
    TC__NONNULL_S(self, "tc_" #pub "_scalar_inplace");                                             \
    return binary_inplace("tc_" #pub "_scalar_inplace", TC__BIN_##op, self, S_(s), 1.0);                \
  }
SCALAR_INPLACE(add, add)
SCALAR_INPLACE(sub, sub)
SCALAR_INPLACE(mul, mul)
SCALAR_INPLACE(div, div)

static tc_tensor *pow_compute(const tc_tensor *x, void *ctx) { return tc_pow_scalar(x, *(double *)ctx); }

tc_status tc_pow_scalar_inplace(tc_tensor *self, double s) {
  const char *fn = "tc_pow_scalar_inplace";
  TC__NONNULL_S(self, fn);
  if (tc_dtype_is_integral(self->dtype, true) && !is_int_scalar(s))
    return tc__error(TC_ERR_DTYPE, "%s: result type Float can't be cast to the desired output type %s", fn,
                     tc_dtype_name(self->dtype));
  if (tc__grad_needed(1, (const tc_tensor *const *)&self)) return tc__inplace_with_grad(fn, self, pow_compute, &s);
  tc_tensor *r = tc_pow_scalar(self, s);
  if (!r) return tc_last_status();
  tc_status st = tc__copy(self, r);
  tc_tensor_release(r);
  tc__bump_version(self);
  return st;
}

/* ---- clamp ---------------------------------------------------------------------------------------- */
static tc_tensor *clamp_op(const char *fn, const tc_tensor *t, double lo, double hi, tc_tensor *inplace) {
  TC__NONNULL_T(t, fn);
  bool has_lo = !(isinf(lo) && lo < 0), has_hi = !(isinf(hi) && hi > 0);
  if (!has_lo && !has_hi) {
    tc__error(TC_ERR_ARG, "%s: at least one of min or max must be given (finite)", fn);
    return NULL;
  }
  if (t->dtype == TC_BOOL || t->dtype == TC_C64) {
    tc__error(TC_ERR_DTYPE, "%s: not supported for %s", fn, tc_dtype_name(t->dtype));
    return NULL;
  }
  operand ops[3] = {T_(t), S_(has_lo ? lo : 0), S_(has_hi ? hi : 0)};
  tc_dtype result = result_type(ops, 3);
  if (inplace && !can_cast(result, inplace->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: result type %s can't be cast to the desired output type %s", fn,
              tc_dtype_name(result), tc_dtype_name(inplace->dtype));
    return NULL;
  }
  tc_dtype compute = tc__compute_dtype(result);
  tc_tensor *x = as_dtype(t, compute);
  if (!x) return NULL;
  tc_tensor *out = (inplace && inplace->dtype == compute) ? tc_tensor_retain(inplace)
                                                          : tc__empty(t->sizes, t->ndim, compute, t->storage->device);
  if (!out) {
    tc_tensor_release(x);
    return NULL;
  }
  tc__clamp_ctx c = {lo, hi, has_lo ? tc__double_to_i64(ceil(lo)) : 0, has_hi ? tc__double_to_i64(floor(hi)) : 0,
                     has_lo, has_hi};
  if (has_lo && has_hi && lo > hi) c.ilo = c.ihi; /* PyTorch: min > max gives max everywhere */
  const tc_tensor *args[2] = {out, x};
  tc_status st = run_kernel(fn, 2, 0, compute, 2, args, tc__cpu_clamp_kernel(compute), &c, TC__GRAIN_ELEMENTWISE);
  tc_tensor_release(x);
  if (st) {
    tc_tensor_release(out);
    return NULL;
  }
  bool done;
  out = finish(out, compute, result, inplace, &done);
  return done ? out : tc__clamp_record(t, has_lo ? lo : -INFINITY, has_hi ? hi : INFINITY, out);
}

tc_tensor *tc_clamp(const tc_tensor *t, double min, double max) { return clamp_op("tc_clamp", t, min, max, NULL); }

typedef struct {
  double lo, hi;
} clamp_bounds;
static tc_tensor *clamp_compute(const tc_tensor *x, void *ctx) {
  const clamp_bounds *b = ctx;
  return clamp_op("tc_clamp_inplace", x, b->lo, b->hi, NULL);
}

tc_status tc_clamp_inplace(tc_tensor *self, double min, double max) {
  TC__NONNULL_S(self, "tc_clamp_inplace");
  if (tc__grad_needed(1, (const tc_tensor *const *)&self)) {
    clamp_bounds b = {min, max};
    return tc__inplace_with_grad("tc_clamp_inplace", self, clamp_compute, &b);
  }
  return clamp_op("tc_clamp_inplace", self, min, max, self) ? TC_OK : tc_last_status();
}

tc_tensor *tc_clamp_tensor(const tc_tensor *t, const tc_tensor *min, const tc_tensor *max) {
  const char *fn = "tc_clamp_tensor";
  TC__NONNULL_T(t, fn);
  if (!min && !max) {
    tc__error(TC_ERR_ARG, "%s: at least one of min or max must be given", fn);
    return NULL;
  }
  /* min(max(t, lo), hi) with NaN from t propagating, as PyTorch's clamp with tensor bounds */
  if (!max) return binary_op(fn, TC__BIN_maximum, T_(t), T_(min), 1.0, NULL);
  if (!min) return binary_op(fn, TC__BIN_minimum, T_(t), T_(max), 1.0, NULL);
  tc_tensor *lo = binary_op(fn, TC__BIN_maximum, T_(t), T_(min), 1.0, NULL);
  if (!lo) return NULL;
  tc_tensor *r = binary_op(fn, TC__BIN_minimum, T_(lo), T_(max), 1.0, NULL);
  tc_tensor_release(lo);
  return r;
}
