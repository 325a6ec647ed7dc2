/* core/src/nn/conv_modules.c — Conv1d and Conv2d modules (torch.nn.Conv1d/Conv2d): weight
 * (out, in/groups, k...) kaiming_uniform_(a = sqrt(5)), bias uniform(+-1/sqrt(fan_in)), drawn in
 * PyTorch's order; padding_mode reflect/replicate/circular pads with tc_pad first and convolves
 * unpadded, as PyTorch's _conv_forward does. */
#include <math.h>
#include <stdlib.h>
#include "../internal.h"
#include "ctorch/nn_layers.h"

typedef struct {
  int dims; /* 1 or 2 */
  int64_t kernel[2];
  tc_conv_layer_opts o;
} conv_state;

static void free_state(void *s) { tc__free(s); }

static tc_tensor *conv_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  const conv_state *s = tc_module_state(m);
  if (n != 1) {
    tc__error(TC_ERR_ARG, "Conv%dd: forward takes one input, got %lld", s->dims, (long long)n);
    return NULL;
  }
  tc_conv_opts co = {{s->o.stride[0], s->o.stride[1]}, {s->o.padding[0], s->o.padding[1]},
                     {s->o.dilation[0], s->o.dilation[1]}, s->o.groups, s->o.padding_kind};
  const tc_tensor *w = tc_module_parameter(m, "weight"), *b = tc_module_parameter(m, "bias");
  if (s->o.padding_mode == TC_PAD_CONSTANT || s->o.padding_kind == TC_CONV_VALID)
    return s->dims == 1 ? tc_conv1d(in[0], w, b, &co) : tc_conv2d(in[0], w, b, &co);
  /* pad the last dims by (left, right) pairs, last dim first */
  int64_t pad[4];
  for (int d = 0; d < s->dims; d++) {
    int k = s->dims - 1 - d; /* dim k of the kernel is pad pair d */
    int64_t lo, hi;
    if (s->o.padding_kind == TC_CONV_SAME) {
      int64_t dil = s->o.dilation[k] ? s->o.dilation[k] : 1, total = dil * (s->kernel[k] - 1);
      lo = total / 2;
      hi = total - lo;
    } else {
      lo = hi = s->o.padding[k];
    }
    pad[2 * d] = lo;
    pad[2 * d + 1] = hi;
  }
  tc_tensor *xp = tc_pad(in[0], pad, 2 * s->dims, s->o.padding_mode, 0.0);
  if (!xp) return NULL;
  co.padding[0] = co.padding[1] = 0;
  co.padding_kind = TC_CONV_EXPLICIT;
  tc_tensor *y = s->dims == 1 ? tc_conv1d(xp, w, b, &co) : tc_conv2d(xp, w, b, &co);
  tc_tensor_release(xp);
  return y;
}

static tc_module *conv_create(const char *fn, int dims, int64_t cin, int64_t cout, const int64_t *k,
                              const tc_conv_layer_opts *opts) {
  tc_conv_layer_opts o = opts ? *opts : (tc_conv_layer_opts){0};
  int64_t groups = o.groups ? o.groups : 1;
  if (cin <= 0 || cout <= 0 || groups <= 0 || cin % groups || cout % groups) {
    tc__error(TC_ERR_ARG, "%s: in_channels (%lld) and out_channels (%lld) must be positive and divisible by groups (%lld)",
              fn, (long long)cin, (long long)cout, (long long)groups);
    return NULL;
  }
  for (int d = 0; d < dims; d++)
    if (k[d] <= 0) {
      tc__error(TC_ERR_ARG, "%s: kernel size %lld must be positive", fn, (long long)k[d]);
      return NULL;
    }
  if (o.padding_mode < TC_PAD_CONSTANT || o.padding_mode > TC_PAD_CIRCULAR) {
    tc__error(TC_ERR_ARG, "%s: unknown padding_mode %d", fn, (int)o.padding_mode);
    return NULL;
  }
  if (o.padding_kind == TC_CONV_SAME)
    for (int d = 0; d < dims; d++)
      if (o.stride[d] > 1) {
        tc__error(TC_ERR_ARG, "%s: padding='same' is not supported for strided convolutions", fn);
        return NULL;
      }
  conv_state *s = tc__calloc(sizeof *s);
  if (!s) return NULL;
  s->dims = dims;
  s->o = o;
  for (int d = 0; d < dims; d++) s->kernel[d] = k[d];
  tc_module *m = tc_module_create(dims == 1 ? "Conv1d" : "Conv2d", conv_forward, s, free_state);
  if (!m) {
    tc__free(s);
    return NULL;
  }
  int64_t ws[4] = {cout, cin / groups, k[0], dims == 2 ? k[1] : 0};
  tc_tensor *w = tc_empty(ws, 2 + dims, NULL);
  if (!w || tc_init_kaiming_uniform_(w, sqrt(5.0), TC_FAN_IN, TC_NONLIN_LEAKY_RELU, NULL)) {
    tc_tensor_release(w);
    tc_module_destroy(m);
    return NULL;
  }
  if (tc_module_register_parameter(m, "weight", w)) { /* it takes (or drops) the reference */
    tc_module_destroy(m);
    return NULL;
  }
  tc_tensor *b = NULL;
  if (!o.no_bias) {
    int64_t fan_in = cin / groups * k[0] * (dims == 2 ? k[1] : 1);
    double bound = 1.0 / sqrt((double)fan_in);
    b = tc_empty(&cout, 1, NULL);
    if (!b || tc_init_uniform_(b, -bound, bound, NULL)) {
      tc_tensor_release(b);
      tc_module_destroy(m);
      return NULL;
    }
  }
  if (tc_module_register_parameter(m, "bias", b)) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

tc_module *tc_conv1d_create(int64_t in_channels, int64_t out_channels, int64_t kernel, const tc_conv_layer_opts *opts) {
  return conv_create("tc_conv1d_create", 1, in_channels, out_channels, &kernel, opts);
}

tc_module *tc_conv2d_create(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                            const tc_conv_layer_opts *opts) {
  int64_t k[2] = {kernel_h, kernel_w};
  return conv_create("tc_conv2d_create", 2, in_channels, out_channels, k, opts);
}
