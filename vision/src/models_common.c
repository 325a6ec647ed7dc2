/* vision/src/models_common.c — building blocks of the classification models: adding children with
 * ownership on failure, Sequential-like chains with their own type names, forward steps, and
 * torchvision's weight initialisation. */
#include <stdio.h>
#include <string.h>
#include "models_common.h"

tc_status tv__add(tc_module *parent, const char *name, tc_module *child) {
  if (!child) {
    tc_status s = tc_last_status(); /* the failed constructor's error */
    return s ? s : tc_set_error(TC_ERR_ARG, "tv_models: child '%s' is NULL", name);
  }
  return tc_module_add_child(parent, name, child); /* destroys child on failure */
}

tc_status tv__append(tc_module *seq, tc_module *child) {
  char name[24];
  snprintf(name, sizeof name, "%lld", (long long)tc_module_num_children(seq));
  return tv__add(seq, name, child);
}

tc_module *tv__conv(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t groups, bool bias) {
  int64_t pad = (k - 1) / 2;
  return tc_conv2d_create(
      cin, cout, k, k,
      TC_CONV2D_OPTS(.stride = {stride, stride}, .padding = {pad, pad}, .groups = groups, .no_bias = !bias));
}

tc_status tv__one_input(const char *type, int64_t n) {
  if (n == 1) return TC_OK;
  return tc_set_error(TC_ERR_ARG, "%s: forward takes one input, got %lld", type, (long long)n);
}

static tc_tensor *chain_forward(tc_module *self, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input(tc_module_type(self), n)) return NULL;
  int64_t count = tc_module_num_children(self);
  tc_tensor *x = NULL;
  for (int64_t i = 0; i < count; i++) {
    tc_module *c = tc_module_child_at(self, i, NULL);
    tc_tensor *y = i == 0 ? tc_module_forward(c, in[0]) : x ? tc_module_forward(c, x) : NULL;
    tc_tensor_release(x);
    x = y;
  }
  return x;
}

tc_module *tv__chain(const char *type, int64_t n, tc_module *const *children) {
  tc_module *m = tc_module_create(type, chain_forward, NULL, NULL);
  tc_status s = m ? TC_OK : TC_ERR_NOMEM;
  int64_t i = 0;
  for (; i < n && !s; i++) s = tv__append(m, children[i]);
  for (; i < n; i++) tc_module_destroy(children[i]); /* those not handed over */
  if (s) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

tc_status tv__check_classes(const char *fn, int64_t num_classes) {
  if (num_classes >= 1) return TC_OK;
  return tc_set_error(TC_ERR_ARG, "%s: num_classes must be positive, got %lld", fn, (long long)num_classes);
}

tc_tensor *tv__step(tc_module *m, const char *name, tc_tensor *x) {
  tc_tensor *y = x ? tc_module_forward(tc_module_child(m, name), x) : NULL;
  tc_tensor_release(x);
  return y;
}

static tc_status init_one(tc_module *m, void *user) {
  bool linear_normal = *(const bool *)user;
  const char *type = tc_module_type(m);
  tc_tensor *w = tc_module_parameter(m, "weight"), *b = tc_module_parameter(m, "bias");
  tc_status s = TC_OK;
  if (!strcmp(type, "Conv2d")) {
    s = tc_init_kaiming_normal_(w, 0.0, TC_FAN_OUT, TC_NONLIN_RELU, NULL);
    if (!s && b) s = tc_init_zeros_(b);
  } else if (!strcmp(type, "BatchNorm2d")) {
    if (w) s = tc_init_ones_(w);
    if (!s && b) s = tc_init_zeros_(b);
  } else if (!strcmp(type, "Linear") && linear_normal) {
    s = tc_init_normal_(w, 0.0, 0.01, NULL);
    if (!s && b) s = tc_init_zeros_(b);
  }
  return s;
}

tc_status tv__init_weights(tc_module *m, bool linear_normal) {
  /* tc_module_apply visits children before parents; only leaves hold weights here, and leaves come
   * in the same order as torch's self.modules(), so the generator draws as PyTorch's do */
  return tc_module_apply(m, init_one, &linear_normal);
}
