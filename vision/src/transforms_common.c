/* vision/src/transforms_common.c — helpers shared by the image transforms: argument checks, output
 * allocation, describe strings, and the scalar random draws torchvision makes (each a one-element
 * torch tensor op, reproduced with the core's matching tensor ops so the streams stay aligned). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include "transforms_internal.h"

tc_status tv__check_image(const char *fn, const tc_tensor *img, tv__planes *p) {
  if (!img) return tc_last_status() ? tc_last_status() : tc_set_error(TC_ERR_ARG, "%s: image is NULL", fn);
  int64_t nd = tc_tensor_ndim(img);
  if (nd < 3)
    return tc_set_error(TC_ERR_SHAPE, "%s: expected an image of shape (..., C, H, W), got %lld dims", fn,
                        (long long)nd);
  if (tc_tensor_device(img).type != TC_DEVICE_CPU)
    return tc_set_error(TC_ERR_DEVICE, "%s: image transforms run on CPU tensors", fn);
  const int64_t *s = tc_tensor_shape(img);
  p->c = s[nd - 3], p->h = s[nd - 2], p->w = s[nd - 1];
  p->n = p->h * p->w > 0 ? tc_tensor_numel(img) / (p->h * p->w) : 0;
  return TC_OK;
}

tc_tensor *tv__empty_image(const tc_tensor *img, int64_t h, int64_t w) {
  int64_t nd = tc_tensor_ndim(img), shape[TC_MAX_DIMS];
  for (int64_t i = 0; i < nd; i++) shape[i] = tc_tensor_shape(img)[i];
  shape[nd - 2] = h, shape[nd - 1] = w;
  return tc_empty(shape, nd, TC_OPTS(.dtype = tc_tensor_dtype(img)));
}

char *tv__printf(const char *fmt, ...) {
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n >= 0 ? tc_malloc((size_t)n + 1) : NULL;
  if (s) vsnprintf(s, (size_t)n + 1, fmt, aq);
  va_end(aq);
  return s;
}

int64_t tv__round_half_even(double x) { return (int64_t)nearbyint(x); } /* default rounding: to even */

const char *tv__interp_name(tv_interp m) {
  switch (m) {
    case TV_INTERP_NEAREST:
      return "InterpolationMode.NEAREST";
    case TV_INTERP_NEAREST_EXACT:
      return "InterpolationMode.NEAREST_EXACT";
    case TV_INTERP_BILINEAR:
      return "InterpolationMode.BILINEAR";
    case TV_INTERP_BICUBIC:
      return "InterpolationMode.BICUBIC";
  }
  return "?";
}

const char *tv__pad_mode_name(tv_pad_mode m) {
  switch (m) {
    case TV_PAD_CONSTANT:
      return "constant";
    case TV_PAD_EDGE:
      return "edge";
    case TV_PAD_REFLECT:
      return "reflect";
    case TV_PAD_SYMMETRIC:
      return "symmetric";
  }
  return "?";
}

tc_status tv__parse_padding(const char *fn, const int64_t *padding, int64_t n, int64_t ltrb[4]) {
  if (!padding || (n != 1 && n != 2 && n != 4))
    return tc_set_error(TC_ERR_ARG, "%s: padding must have 1, 2 or 4 values, got %lld%s", fn, (long long)n,
                        padding ? "" : " (NULL)");
  if (n == 1) ltrb[0] = ltrb[1] = ltrb[2] = ltrb[3] = padding[0];
  if (n == 2) ltrb[0] = ltrb[2] = padding[0], ltrb[1] = ltrb[3] = padding[1];
  if (n == 4)
    for (int i = 0; i < 4; i++) ltrb[i] = padding[i];
  return TC_OK;
}

/* The value of a one-element tensor made by `t` (released), or the last error. */
static tc_status take_item(tc_tensor *t, double *v) {
  tc_status st = t ? tc_item_double(t, v) : tc_last_status();
  tc_tensor_release(t);
  return st;
}

tc_status tv__rand1(tc_generator *gen, double *u) {
  return take_item(tc_rand((int64_t[]){1}, 1, TC_OPTS(.dtype = TC_F32, .generator = gen)), u);
}

tc_status tv__randint(tc_generator *gen, int64_t lo, int64_t hi, int64_t *out) {
  tc_tensor *t = tc_randint(lo, hi, (int64_t[]){1}, 1, TC_OPTS(.dtype = TC_I64, .generator = gen));
  tc_status st = t ? tc_item_int64(t, out) : tc_last_status();
  tc_tensor_release(t);
  return st;
}

tc_status tv__uniform1(tc_generator *gen, double a, double b, double *u) {
  tc_tensor *t = tc_empty((int64_t[]){1}, 1, TC_OPTS(.dtype = TC_F32));
  tc_status st = t ? tc_uniform_inplace(t, a, b, gen) : tc_last_status();
  if (st) {
    tc_tensor_release(t);
    return st;
  }
  return take_item(t, u);
}

tc_status tv__need_tensor(const char *name, const tr_value *in, const tc_tensor **x) {
  if (!in || in->kind != TR_TENSOR || !in->tensor)
    return tc_set_error(TC_ERR_ARG, "%s: expected an image tensor, got a %s value", name,
                        in ? tr_kind_name(in->kind) : "NULL");
  *x = in->tensor;
  return TC_OK;
}

void tv__free_state(void *s) { tc_free(s); }

tc_status tv__need_gen(const char *fn, const tc_generator *gen) {
  if (gen) return TC_OK;
  return tc_set_error(TC_ERR_ARG, "%s: a random transform needs a generator (got NULL)", fn);
}
