/* core/src/autograd/gradcheck.c — analytic vs finite-difference gradients (torch.autograd.gradcheck).
 *
 * For f(inputs) -> out and a projection v (one-hot vectors when out has <= 16 elements, i.e. the
 * whole Jacobian; else 4 fixed pseudo-random vectors), compares d sum(out * v) / d x from autograd
 * with the central difference (L(x + eps) - L(x - eps)) / (2 eps) for every element x of every
 * input that requires grad. Inputs are perturbed in place and restored.
 */
#include <math.h>
#include "autograd_internal.h"

/* f's temporaries live in a scope of their own; its result is kept */
static tc_tensor *call_f(tc_gradcheck_fn f, const tc_tensor *const *inputs, int64_t n, void *user) {
  tc_scope_push();
  tc_tensor *y = f(inputs, n, user);
  tc_scope_keep(y);
  tc_scope_pop();
  return y;
}

static tc_status projected(tc_gradcheck_fn f, const tc_tensor *const *inputs, int64_t n, void *user,
                           const tc_tensor *v, double *out_value) {
  tc_no_grad_push();
  tc_tensor *y = call_f(f, inputs, n, user);
  tc_tensor *p = y ? tc_mul(y, v) : NULL;
  tc_tensor *s = p ? tc_sum(p, NULL, 0, false) : NULL;
  tc_status st = s ? tc_item_double(s, out_value) : tc_last_status();
  tc_no_grad_pop();
  tc_tensor_release(s);
  tc_tensor_release(p);
  tc_tensor_release(y);
  return st;
}

/* projection vector k for an output like `y` (same dtype and device) */
static tc_tensor *projection(const tc_tensor *y, int k, bool one_hot) {
  tc_tensor *v = tc_zeros(y->sizes, y->ndim, TC_OPTS(.dtype = TC_F64));
  if (!v) return NULL;
  double *d = (double *)(void *)tc__ptr(v);
  int64_t n = tc__numel(y->sizes, y->ndim);
  if (one_hot) {
    d[k] = 1.0;
  } else {
    uint64_t state = 0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1);
    for (int64_t i = 0; i < n; i++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      d[i] = (double)(state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
  }
  tc_tensor *c = tc_to_dtype(v, y->dtype);
  tc_tensor_release(v);
  if (c && !tc__is_cpu(y)) { /* made on the host, used on y's device */
    tc_tensor *d = tc_tensor_to(c, y->storage->device);
    tc_tensor_release(c);
    c = d;
  }
  return c;
}

/* The storage offset of element `flat` (row-major) of t. */
static int64_t element_offset(const tc_tensor *t, int64_t flat) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (flat % t->sizes[d]) * t->strides[d];
    flat /= t->sizes[d];
  }
  return off;
}

/* Reads (set false) or writes (set true) element `flat` of a float64 tensor on any device: on a
 * device through a one-element view (a host read, or a fill kernel). */
static tc_status element_io(const tc_tensor *t, int64_t flat, double *v, bool set) {
  int64_t off = element_offset(t, flat);
  if (tc__is_cpu(t)) {
    double *p = (double *)t->storage->data + off;
    if (set) *p = *v;
    else *v = *p;
    return TC_OK;
  }
  tc_tensor *e = tc__view(t, NULL, NULL, 0, off);
  tc_status st = !e ? tc_last_status() : set ? tc__fill(e, *v) : tc_item_double(e, v);
  tc_tensor_release(e);
  return st;
}

tc_status tc_gradcheck(tc_gradcheck_fn f, const tc_tensor *const *inputs, int64_t n, void *user, double eps, double atol,
                       double rtol) {
  const char *fn = "tc_gradcheck";
  if (!f || !inputs || n < 1) return tc__error(TC_ERR_ARG, "%s: f and inputs are required", fn);
  for (int64_t i = 0; i < n; i++) {
    if (!inputs[i]) return tc__null_arg(fn, "input");
    if (tc__requires_grad(inputs[i]) && inputs[i]->dtype != TC_F64)
      return tc__error(TC_ERR_DTYPE, "%s: input %lld must be a float64 tensor (got %s)", fn, (long long)i,
                       tc_dtype_name(inputs[i]->dtype));
  }
  tc_scope_push(); /* everything made here is released at the end */
  tc_status st = TC_OK;
  tc_tensor *y = call_f(f, inputs, n, user);
  if (!y) {
    tc_scope_pop();
    return tc_last_status();
  }
  tc_scope_keep(y);
  if (!tc_dtype_is_floating(y->dtype)) {
    tc_tensor_release(y);
    tc_scope_pop();
    return tc__error(TC_ERR_DTYPE, "%s: f must return a floating tensor (got %s)", fn, tc_dtype_name(y->dtype));
  }
  int64_t ny = tc__numel(y->sizes, y->ndim);
  bool one_hot = ny <= 16;
  int nproj = one_hot ? (int)ny : 4;
  for (int k = 0; k < nproj && !st; k++) {
    tc_tensor *v = projection(y, k, one_hot);
    if (!v) {
      st = tc_last_status();
      break;
    }
    /* analytic: the vector-Jacobian product v^T J through autograd */
    tc_tensor *yk = call_f(f, inputs, n, user);
    for (int64_t i = 0; i < n && !st; i++) {
      if (!tc__requires_grad(inputs[i])) continue;
      if (!yk) {
        st = tc_last_status();
        break;
      }
      tc_tensor *g = NULL;
      const tc_tensor *vv = v;
      st = tc_autograd_grad((const tc_tensor *const *)&yk, 1, &vv, &inputs[i], 1, &g, true, true);
      if (st) break;
      tc_tensor *gc = g ? tc_to_dtype(g, TC_F64) : tc_zeros_like(inputs[i], NULL);
      tc_tensor *gcc = gc ? (tc__is_cpu(gc) ? tc_contiguous(gc) : tc_tensor_to(gc, tc_cpu())) : NULL;
      tc_tensor_release(g);
      tc_tensor_release(gc);
      if (!gcc) {
        st = tc_last_status();
        break;
      }
      const double *ga = (const double *)(void *)tc__ptr(gcc);
      int64_t ne = tc__numel(inputs[i]->sizes, inputs[i]->ndim);
      for (int64_t j = 0; j < ne && !st; j++) {
        double x0 = 0, xp, xm, lp = 0, lm = 0;
        if ((st = element_io(inputs[i], j, &x0, false))) break;
        xp = x0 + eps, xm = x0 - eps;
        st = element_io(inputs[i], j, &xp, true);
        if (!st) st = projected(f, inputs, n, user, v, &lp);
        if (!st) st = element_io(inputs[i], j, &xm, true);
        if (!st) st = projected(f, inputs, n, user, v, &lm);
        tc_status rs = element_io(inputs[i], j, &x0, true); /* the input restored in any case */
        if (!st) st = rs;
        if (st) break;
        double num = (lp - lm) / (2 * eps);
        if (!(fabs(num - ga[j]) <= atol + rtol * fabs(num)))
          st = tc__error(TC_ERR_STATE,
                         "%s: Jacobian mismatch for input %lld, element %lld (projection %d): analytic %.10g, "
                         "numerical %.10g",
                         fn, (long long)i, (long long)j, k, ga[j], num);
      }
      tc_tensor_release(gcc);
    }
    tc_tensor_release(yk);
    tc_tensor_release(v);
  }
  tc_tensor_release(y);
  tc_scope_pop();
  return st;
}
