/* core/src/nn/pool_norm_modules.c — the pooling and normalisation layers as modules:
 * MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, BatchNorm1d/2d, LayerNorm, GroupNorm.
 *
 * Each is a tc_module whose state holds the options; forward calls the functional form
 * (pool.c, norm.c). Parameter and buffer names, shapes, defaults and the state_dict match
 * torch.nn: BatchNorm has weight (ones) and bias (zeros) unless affine=False, and the buffers
 * running_mean (zeros), running_var (ones) and num_batches_tracked (int64, 0-d) unless
 * track_running_stats=False (then all three are None and absent from the state_dict, and the
 * batch statistics are used in eval mode too). In training mode with tracked stats, every forward
 * adds one to num_batches_tracked; momentum=None (a negative tc_norm_opts.momentum) averages the
 * running stats cumulatively with factor 1/num_batches_tracked, as PyTorch. A forward that fails
 * leaves the buffers unchanged.
 *
 * MaxPool with return_indices keeps the indices of its last forward (owned by the module, swapped
 * under a small lock so concurrent forwards stay safe); tc_max_pool_last_indices returns them.
 */
#include <stdatomic.h>
#include <sched.h>
#include "../internal.h"
#include "ctorch/nn_layers.h"

static bool one_input(const char *type, int64_t n) {
  if (n == 1) return true;
  tc__error(TC_ERR_ARG, "%s.forward: expects one input, got %lld", type, (long long)n);
  return false;
}

/* Registers a freshly made tensor (NULL = its creation failed: the error stands). */
static tc_status reg_param(tc_module *m, const char *name, tc_tensor *t) {
  return t ? tc_module_register_parameter(m, name, t) : tc_last_status();
}
static tc_status reg_buffer(tc_module *m, const char *name, tc_tensor *t) {
  return t ? tc_module_register_buffer(m, name, t, true) : tc_last_status();
}

/* ==== pooling ============================================================================================= */
typedef struct {
  tc_pool_opts o;
  int spatial;
  bool return_indices;
  atomic_flag lock; /* guards last */
  tc_tensor *last;  /* indices of the last forward (owned) */
} maxpool_state;

static void maxpool_destroy(void *p) {
  maxpool_state *s = p;
  tc_tensor_release(s->last);
  tc__free(s);
}

static tc_tensor *maxpool_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  maxpool_state *s = tc_module_state(m);
  if (!one_input(tc_module_type(m), n)) return NULL;
  tc_tensor *idx = NULL;
  tc_tensor **ip = s->return_indices ? &idx : NULL;
  tc_tensor *y = s->spatial == 2 ? tc_max_pool2d(in[0], &s->o, ip) : tc_max_pool1d(in[0], &s->o, ip);
  if (y && idx) {
    tc_scope_keep(idx); /* the module owns it now */
    while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire)) sched_yield();
    tc_tensor *old = s->last;
    s->last = idx;
    atomic_flag_clear_explicit(&s->lock, memory_order_release);
    tc_tensor_release(old);
  }
  return y;
}

static tc_status check_pool_opts(const char *fn, const tc_pool_opts *o, int spatial) {
  if (!o) return tc__error(TC_ERR_ARG, "%s: options are NULL (the kernel size is required)", fn);
  for (int i = 0; i < spatial; i++) {
    if (o->kernel[i] <= 0)
      return tc__error(TC_ERR_ARG, "%s: kernel size should be greater than zero, but got %lld", fn,
                       (long long)o->kernel[i]);
    if (o->stride[i] < 0 || o->padding[i] < 0 || o->dilation[i] < 0)
      return tc__error(TC_ERR_ARG, "%s: stride, padding and dilation must be non-negative", fn);
  }
  return TC_OK;
}

static tc_module *maxpool_create(const char *fn, const char *type, int spatial, const tc_pool_opts *o, bool ri) {
  if (check_pool_opts(fn, o, spatial)) return NULL;
  maxpool_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->o = *o;
  s->spatial = spatial;
  s->return_indices = ri;
  atomic_flag_clear(&s->lock);
  tc_module *m = tc_module_create(type, maxpool_forward, s, maxpool_destroy);
  if (!m) tc__free(s);
  return m;
}

tc_module *tc_max_pool1d_create(const tc_pool_opts *opts, bool return_indices) {
  return maxpool_create("tc_max_pool1d_create", "MaxPool1d", 1, opts, return_indices);
}
tc_module *tc_max_pool2d_create(const tc_pool_opts *opts, bool return_indices) {
  return maxpool_create("tc_max_pool2d_create", "MaxPool2d", 2, opts, return_indices);
}

tc_tensor *tc_max_pool_last_indices(const tc_module *pool) {
  const char *fn = "tc_max_pool_last_indices";
  const char *type = tc_module_type(pool);
  if (!pool || (strcmp(type, "MaxPool1d") && strcmp(type, "MaxPool2d"))) {
    tc__error(TC_ERR_ARG, "%s: expected a MaxPool1d or MaxPool2d module, got %s", fn, pool ? type : "NULL");
    return NULL;
  }
  maxpool_state *s = tc_module_state(pool);
  if (!s->return_indices) {
    tc__error(TC_ERR_STATE, "%s: the %s was created without return_indices", fn, type);
    return NULL;
  }
  while (atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire)) sched_yield();
  tc_tensor *r = tc_tensor_retain(s->last);
  atomic_flag_clear_explicit(&s->lock, memory_order_release);
  if (!r) tc__error(TC_ERR_STATE, "%s: the %s has not run a forward yet", fn, type);
  return r;
}

typedef struct {
  tc_pool_opts o;
  int spatial;
} avgpool_state;

static tc_tensor *avgpool_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  avgpool_state *s = tc_module_state(m);
  if (!one_input(tc_module_type(m), n)) return NULL;
  return s->spatial == 2 ? tc_avg_pool2d(in[0], &s->o) : tc_avg_pool1d(in[0], &s->o);
}

static tc_module *avgpool_create(const char *fn, const char *type, int spatial, const tc_pool_opts *o) {
  if (check_pool_opts(fn, o, spatial)) return NULL;
  avgpool_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->o = *o;
  s->spatial = spatial;
  tc_module *m = tc_module_create(type, avgpool_forward, s, tc__free);
  if (!m) tc__free(s);
  return m;
}

tc_module *tc_avg_pool1d_create(const tc_pool_opts *opts) {
  return avgpool_create("tc_avg_pool1d_create", "AvgPool1d", 1, opts);
}
tc_module *tc_avg_pool2d_create(const tc_pool_opts *opts) {
  return avgpool_create("tc_avg_pool2d_create", "AvgPool2d", 2, opts);
}

typedef struct {
  int64_t oh, ow;
  int spatial;
} adaptive_state;

static tc_tensor *adaptive_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  adaptive_state *s = tc_module_state(m);
  if (!one_input(tc_module_type(m), n)) return NULL;
  return s->spatial == 2 ? tc_adaptive_avg_pool2d(in[0], s->oh, s->ow) : tc_adaptive_avg_pool1d(in[0], s->ow);
}

static tc_module *adaptive_create(const char *fn, const char *type, int spatial, int64_t oh, int64_t ow) {
  if (oh < 0 || ow < 0) {
    tc__error(TC_ERR_ARG, "%s: output sizes must be non-negative, got %lld x %lld", fn, (long long)oh, (long long)ow);
    return NULL;
  }
  adaptive_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  *s = (adaptive_state){oh, ow, spatial};
  tc_module *m = tc_module_create(type, adaptive_forward, s, tc__free);
  if (!m) tc__free(s);
  return m;
}

tc_module *tc_adaptive_avg_pool1d_create(int64_t out_size) {
  return adaptive_create("tc_adaptive_avg_pool1d_create", "AdaptiveAvgPool1d", 1, 1, out_size);
}
tc_module *tc_adaptive_avg_pool2d_create(int64_t out_h, int64_t out_w) {
  return adaptive_create("tc_adaptive_avg_pool2d_create", "AdaptiveAvgPool2d", 2, out_h, out_w);
}

/* ==== normalisation ======================================================================================= */
static double opt_eps(const tc_norm_opts *o) { return o && o->eps != 0 ? o->eps : 1e-5; }

typedef struct {
  int spatial; /* 1: BatchNorm1d, 2: BatchNorm2d */
  double eps, momentum;
  bool momentum_none, track;
} bn_state;

static tc_tensor *bn_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  bn_state *s = tc_module_state(m);
  const char *type = tc_module_type(m);
  if (!one_input(type, n)) return NULL;
  const tc_tensor *x = in[0];
  int64_t nd = tc_tensor_ndim(x);
  if (s->spatial == 1 && nd != 2 && nd != 3) {
    tc__error(TC_ERR_SHAPE, "%s: expected 2D or 3D input (got %lldD input of shape %s)", type, (long long)nd,
              tc__tshape(x));
    return NULL;
  }
  if (s->spatial == 2 && nd != 4) {
    tc__error(TC_ERR_SHAPE, "%s: expected 4D input (got %lldD input of shape %s)", type, (long long)nd, tc__tshape(x));
    return NULL;
  }
  bool training = tc_module_is_training(m);
  tc_tensor *rm = tc_module_buffer(m, "running_mean"), *rv = tc_module_buffer(m, "running_var");
  tc_tensor *nbt = tc_module_buffer(m, "num_batches_tracked");
  double factor = s->momentum_none ? 0.0 : s->momentum;
  bool count = training && s->track && nbt;
  if (count && s->momentum_none) { /* the cumulative average needs the count (a device read waits) */
    int64_t seen = 0;
    if (tc_item_int64(nbt, &seen)) return NULL;
    factor = 1.0 / (double)(seen + 1);
  }
  bool bn_training = training || (!rm && !rv);
  bool pass_stats = !training || s->track;
  tc_tensor *y = tc_batch_norm(x, pass_stats ? rm : NULL, pass_stats ? rv : NULL, tc_module_parameter(m, "weight"),
                               tc_module_parameter(m, "bias"), bn_training, factor, s->eps);
  if (y && count) {
    if (tc__is_cpu(nbt)) {
      char *p = tc__ptr(nbt);
      tc__store_double(p, nbt->dtype, (double)(tc__load_int64(p, nbt->dtype) + 1));
      tc__bump_version(nbt);
    } else { /* on the device, without waiting for it */
      tc_no_grad_push();
      tc_status st = tc_add_scalar_inplace(nbt, 1.0);
      tc_no_grad_pop();
      if (st) {
        tc_tensor_release(y);
        return NULL;
      }
    }
  }
  return y;
}

static tc_module *bn_create(const char *fn, const char *type, int spatial, int64_t C, const tc_norm_opts *o) {
  if (C <= 0) {
    tc__error(TC_ERR_ARG, "%s: num_features must be positive, got %lld", fn, (long long)C);
    return NULL;
  }
  bn_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->spatial = spatial;
  s->eps = opt_eps(o);
  s->momentum = o && o->momentum > 0 ? o->momentum : 0.1;
  s->momentum_none = o && o->momentum < 0;
  s->track = !(o && o->no_track_running_stats);
  bool affine = !(o && o->no_affine);
  tc_module *m = tc_module_create(type, bn_forward, s, tc__free);
  if (!m) {
    tc__free(s);
    return NULL;
  }
  const int64_t shape[1] = {C};
  tc_status st = TC_OK;
  if (affine) {
    st = reg_param(m, "weight", tc_ones(shape, 1, NULL));
    if (!st) st = reg_param(m, "bias", tc_zeros(shape, 1, NULL));
  } else {
    st = tc_module_register_parameter(m, "weight", NULL);
    if (!st) st = tc_module_register_parameter(m, "bias", NULL);
  }
  if (s->track) {
    if (!st) st = reg_buffer(m, "running_mean", tc_zeros(shape, 1, NULL));
    if (!st) st = reg_buffer(m, "running_var", tc_ones(shape, 1, NULL));
    if (!st) st = reg_buffer(m, "num_batches_tracked", tc_zeros(NULL, 0, TC_OPTS(.dtype = TC_I64)));
  } else {
    if (!st) st = tc_module_register_buffer(m, "running_mean", NULL, true);
    if (!st) st = tc_module_register_buffer(m, "running_var", NULL, true);
    if (!st) st = tc_module_register_buffer(m, "num_batches_tracked", NULL, true);
  }
  if (st) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

tc_module *tc_batchnorm1d_create(int64_t num_features, const tc_norm_opts *opts) {
  return bn_create("tc_batchnorm1d_create", "BatchNorm1d", 1, num_features, opts);
}
tc_module *tc_batchnorm2d_create(int64_t num_features, const tc_norm_opts *opts) {
  return bn_create("tc_batchnorm2d_create", "BatchNorm2d", 2, num_features, opts);
}

typedef struct {
  int64_t shape[TC_MAX_DIMS];
  int n;
  double eps;
} ln_state;

static tc_tensor *ln_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  ln_state *s = tc_module_state(m);
  if (!one_input("LayerNorm", n)) return NULL;
  const tc_tensor *x = in[0];
  int nd = (int)tc_tensor_ndim(x);
  bool ok = nd >= s->n;
  for (int i = 0; ok && i < s->n; i++) ok = x->sizes[nd - s->n + i] == s->shape[i];
  if (!ok) {
    const char *ns = tc__shape_str(s->shape, s->n); /* "[3, 4]" */
    tc__error(TC_ERR_SHAPE, "LayerNorm: given normalized_shape=%s, expected input with shape [*%s%s, but got input of "
              "size %s", ns, s->n ? ", " : "", s->n ? ns + 1 : "]", tc__tshape(x));
    return NULL;
  }
  return tc_layer_norm(x, s->n, tc_module_parameter(m, "weight"), tc_module_parameter(m, "bias"), s->eps);
}

tc_module *tc_layernorm_create(const int64_t *normalized_shape, int64_t n, const tc_norm_opts *opts) {
  const char *fn = "tc_layernorm_create";
  if (n < 0 || n > TC_MAX_DIMS || (n > 0 && !normalized_shape)) {
    tc__error(TC_ERR_ARG, "%s: normalized_shape must have 0 to %d sizes, got %lld%s", fn, TC_MAX_DIMS, (long long)n,
              n > 0 && !normalized_shape ? " and a NULL array" : "");
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (normalized_shape[i] < 0) {
      tc__error(TC_ERR_ARG, "%s: normalized_shape has a negative size %lld", fn, (long long)normalized_shape[i]);
      return NULL;
    }
  ln_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  if (n) memcpy(s->shape, normalized_shape, sizeof(int64_t) * (size_t)n);
  s->n = (int)n;
  s->eps = opt_eps(opts);
  tc_module *m = tc_module_create("LayerNorm", ln_forward, s, tc__free);
  if (!m) {
    tc__free(s);
    return NULL;
  }
  tc_status st;
  if (!(opts && opts->no_affine)) {
    st = reg_param(m, "weight", tc_ones(s->shape, n, NULL));
    if (!st) st = reg_param(m, "bias", tc_zeros(s->shape, n, NULL));
  } else {
    st = tc_module_register_parameter(m, "weight", NULL);
    if (!st) st = tc_module_register_parameter(m, "bias", NULL);
  }
  if (st) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

typedef struct {
  int64_t groups;
  double eps;
} gn_state;

static tc_tensor *gn_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  gn_state *s = tc_module_state(m);
  if (!one_input("GroupNorm", n)) return NULL;
  return tc_group_norm(in[0], s->groups, tc_module_parameter(m, "weight"), tc_module_parameter(m, "bias"), s->eps);
}

tc_module *tc_groupnorm_create(int64_t num_groups, int64_t num_channels, const tc_norm_opts *opts) {
  const char *fn = "tc_groupnorm_create";
  if (num_groups <= 0 || num_channels < 0 || num_channels % num_groups != 0) {
    tc__error(TC_ERR_ARG, "%s: num_channels (%lld) must be divisible by num_groups (%lld)", fn,
              (long long)num_channels, (long long)num_groups);
    return NULL;
  }
  gn_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->groups = num_groups;
  s->eps = opt_eps(opts);
  tc_module *m = tc_module_create("GroupNorm", gn_forward, s, tc__free);
  if (!m) {
    tc__free(s);
    return NULL;
  }
  const int64_t shape[1] = {num_channels};
  tc_status st;
  if (!(opts && opts->no_affine)) {
    st = reg_param(m, "weight", tc_ones(shape, 1, NULL));
    if (!st) st = reg_param(m, "bias", tc_zeros(shape, 1, NULL));
  } else {
    st = tc_module_register_parameter(m, "weight", NULL);
    if (!st) st = tc_module_register_parameter(m, "bias", NULL);
  }
  if (st) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}
