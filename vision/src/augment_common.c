/* vision/src/augment_common.c — the float image buffer, torch-equivalent random draws and small
 * helpers shared by the augmentation files. */
#include <float.h>
#include <stdio.h>
#include <string.h>
#include "augment_internal.h"

tc_status aug_load(const char *fn, const tc_tensor *img, bool channels_1_or_3, aug_img *a) {
  memset(a, 0, sizeof *a);
  if (!img) {
    if (tc_last_status() != TC_OK) return tc_last_status(); /* keep the first message of a chain */
    return tc_set_error(TC_ERR_ARG, "%s: image is NULL", fn);
  }
  int64_t nd = tc_tensor_ndim(img);
  tc_dtype dt = tc_tensor_dtype(img);
  if (nd < 3)
    return tc_set_error(TC_ERR_SHAPE, "%s: expected an image (..., C, H, W), got %lld dims", fn, (long long)nd);
  if (dt != TC_U8 && dt != TC_F32)
    return tc_set_error(TC_ERR_DTYPE, "%s: images must be uint8 or float32, got %s", fn, tc_dtype_name(dt));
  if (tc_tensor_device(img).type != TC_DEVICE_CPU)
    return tc_set_error(TC_ERR_DEVICE, "%s: images must be on the CPU", fn);
  const int64_t *sh = tc_tensor_shape(img);
  a->ndim = nd;
  memcpy(a->shape, sh, sizeof *sh * (size_t)nd);
  a->c = sh[nd - 3], a->h = sh[nd - 2], a->w = sh[nd - 1], a->n = 1, a->dt = dt;
  for (int64_t i = 0; i < nd - 3; i++) a->n *= sh[i];
  if (channels_1_or_3 && a->c != 1 && a->c != 3)
    return tc_set_error(TC_ERR_SHAPE, "%s: images must have 1 or 3 channels, got %lld", fn, (long long)a->c);
  int64_t numel = a->n * a->c * a->h * a->w;
  a->px = tc_malloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
  if (!a->px) return tc_last_status();
  if (numel == 0) return TC_OK;
  tc_tensor *cont = tc_contiguous(img);
  if (!cont) {
    aug_free(a);
    return tc_last_status();
  }
  if (dt == TC_F32) {
    memcpy(a->px, tc_tensor_data(cont), sizeof(float) * (size_t)numel);
  } else {
    const uint8_t *s = tc_tensor_data(cont);
    for (int64_t i = 0; i < numel; i++) a->px[i] = (float)s[i];
  }
  tc_tensor_release(cont);
  return TC_OK;
}

void aug_free(aug_img *a) {
  tc_free(a->px);
  a->px = NULL;
}

tc_tensor *aug_store(const aug_img *a, const float *px, int64_t c, int64_t h, int64_t w, aug_rounding r) {
  int64_t shape[TC_MAX_DIMS];
  memcpy(shape, a->shape, sizeof *shape * (size_t)a->ndim);
  shape[a->ndim - 3] = c, shape[a->ndim - 2] = h, shape[a->ndim - 1] = w;
  tc_tensor *t = tc_empty(shape, a->ndim, TC_OPTS(.dtype = a->dt));
  if (!t) return NULL;
  int64_t numel = a->n * c * h * w;
  if (numel == 0) return t;
  if (a->dt == TC_F32) {
    memcpy(tc_tensor_data(t), px, sizeof(float) * (size_t)numel);
    return t;
  }
  uint8_t *d = tc_tensor_data(t);
  for (int64_t i = 0; i < numel; i++) {
    float v = r == AUG_ROUND ? rintf(px[i]) : truncf(px[i]); /* rintf: half to even, as torch.round */
    d[i] = (uint8_t)aug_clampf(v, 0.0f, 255.0f);
  }
  return t;
}

float aug_linspace_f32(float start, float end, int64_t steps, int64_t i) {
  if (steps == 1) return start;
  float step = (end - start) / (float)(steps - 1);
  int64_t halfway = steps / 2;
  return i < halfway ? start + step * (float)i : end - step * (float)(steps - i - 1);
}

/* the single value of a new 1-element tensor t (released) */
static tc_status take_double(tc_tensor *t, double *out) {
  if (!t) return tc_last_status();
  tc_status st = tc_item_double(t, out);
  tc_tensor_release(t);
  return st;
}

tc_status aug_draw_uniform(tc_generator *gen, double a, double b, double *out) {
  tc_tensor *t = tc_empty((const int64_t[]){1}, 1, TC_OPTS(.dtype = TC_F32));
  if (!t) return tc_last_status();
  tc_status st = tc_uniform_inplace(t, a, b, gen);
  if (st) {
    tc_tensor_release(t);
    return st;
  }
  return take_double(t, out);
}

tc_status aug_draw_rand(tc_generator *gen, double *out) {
  return take_double(tc_rand((const int64_t[]){1}, 1, TC_OPTS(.generator = gen)), out);
}

tc_status aug_draw_randint(tc_generator *gen, int64_t low, int64_t high, int64_t *out) {
  tc_tensor *t = tc_randint(low, high, (const int64_t[]){1}, 1, TC_OPTS(.generator = gen));
  if (!t) return tc_last_status();
  tc_status st = tc_item_int64(t, out);
  tc_tensor_release(t);
  return st;
}

/* One standard normal as ATen's normal_distribution<double> draws it (cached second sample included):
 * a 1-element float64 normal_ goes through exactly that path. */
static tc_status draw_normal(tc_generator *gen, double *out) {
  tc_tensor *t = tc_empty((const int64_t[]){1}, 1, TC_OPTS(.dtype = TC_F64));
  if (!t) return tc_last_status();
  tc_status st = tc_normal_inplace(t, 0.0, 1.0, gen);
  if (st) {
    tc_tensor_release(t);
    return st;
  }
  return take_double(t, out);
}

/* ATen's sample_gamma<double, double> (Marsaglia and Tsang, with the alpha < 1 boost). */
static tc_status sample_gamma(tc_generator *gen, double alpha, double *out) {
  double scale = 1.0;
  if (alpha < 1.0) {
    if (alpha == 0.0) {
      *out = 0.0;
      return TC_OK;
    }
    scale *= pow(1.0 - tc_generator_uniform(gen), 1.0 / alpha);
    alpha += 1.0;
  }
  const double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, y;
    do {
      tc_status st = draw_normal(gen, &x);
      if (st) return st;
      y = 1.0 + c * x;
    } while (y <= 0);
    const double v = y * y * y, u = 1.0 - tc_generator_uniform(gen), xx = x * x;
    if (u < 1.0 - 0.0331 * xx * xx || log(u) < 0.5 * xx + d * (1.0 - v + log(v))) {
      *out = scale * d * v;
      return TC_OK;
    }
  }
}

tc_status aug_sample_dirichlet(tc_generator *gen, const float *alpha, int64_t rows, int64_t k, float *out) {
  double g[64];
  if (k > 64) return tc_set_error(TC_ERR_ARG, "aug_sample_dirichlet: at most 64 components, got %lld", (long long)k);
  for (int64_t r = 0; r < rows; r++) {
    double sum = 0;
    for (int64_t j = 0; j < k; j++) {
      tc_status st = sample_gamma(gen, (double)alpha[r * k + j], &g[j]);
      if (st) return st;
      if (g[j] < DBL_MIN) g[j] = DBL_MIN;
    }
    for (int64_t j = 0; j < k; j++) sum += g[j];
    for (int64_t j = 0; j < k; j++) {
      float v = (float)(g[j] / sum);
      float hi = nextafterf(1.0f, 0.0f);
      out[r * k + j] = v < FLT_MIN ? FLT_MIN : (v > hi ? hi : v);
    }
  }
  return TC_OK;
}

tc_status aug_value_tensor(const char *fn, const tr_value *in, const tc_tensor **img) {
  if (!in || in->kind != TR_TENSOR || !in->tensor)
    return tc_set_error(TC_ERR_ARG, "%s: expected an image tensor, got a %s value", fn,
                        in ? tr_kind_name(in->kind) : "NULL");
  *img = in->tensor;
  return TC_OK;
}

tc_status aug_set_out(tr_value *out, tc_tensor *t) {
  if (!t) return tc_last_status();
  *out = tr_tensor_value(t);
  return TC_OK;
}


void aug_inverse_affine_matrix(double cx, double cy, double angle, double tx, double ty, double scale, double shx,
                               double shy, double m[6]) {
  const double pi = 3.14159265358979323846;
  const double deg = pi / 180.0; /* math.radians multiplies by pi / 180 */
  double rot = angle * deg, sx = shx * deg, sy = shy * deg;
  double cos_sy = cos(sy), tan_sx = tan(sx), rot_minus_sy = rot - sy;
  double cx_plus_tx = cx + tx, cy_plus_ty = cy + ty;
  /* rotate-scale-shear without the scale */
  double a = cos(rot_minus_sy) / cos_sy, b = -(a * tan_sx + sin(rot));
  double c = sin(rot_minus_sy) / cos_sy, d = cos(rot) - c * tan_sx;
  m[0] = d / scale, m[1] = -b / scale, m[2] = 0.0;
  m[3] = -c / scale, m[4] = a / scale, m[5] = 0.0;
  m[2] += cx - m[0] * cx_plus_tx - m[1] * cy_plus_ty;
  m[5] += cy - m[3] * cx_plus_tx - m[4] * cy_plus_ty;
}
