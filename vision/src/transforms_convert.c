/* vision/src/transforms_convert.c — Normalize, ToImage, ToTensor and erase as torchvision does them
 * on tensors, built from the core's tensor ops (which round as PyTorch's CPU kernels do):
 *   normalize: (x - mean) / std with mean and std as tensors of the image dtype shaped (n, 1, 1);
 *   to_image:  (H, W, C) -> permute(2, 0, 1) -> contiguous; a 2-D (H, W) array is (H, W, 1);
 *   to_tensor: the same, then uint8 -> float32 divided by 255;
 *   erase:     img[..., i:i+h, j:j+w] = v on a clone (or img itself when inplace).
 */
#include "transforms_internal.h"

/* values (1 or C of them) as a (n, 1, 1) tensor of dtype dt */
static tc_tensor *channel_values(const double *v, int64_t n, tc_dtype dt) {
  tc_tensor *t = tc_empty((int64_t[]){n, 1, 1}, 3, TC_OPTS(.dtype = TC_F64));
  if (!t) return NULL;
  double *p = tc_tensor_data(t);
  for (int64_t i = 0; i < n; i++) p[i] = v[i];
  tc_tensor *r = tc_to_dtype(t, dt);
  tc_tensor_release(t);
  return r;
}

static tc_status check_norm_args(const char *fn, const double *mean, int64_t nmean, const double *std, int64_t nstd,
                                 int64_t C) {
  if (!mean || !std || nmean < 1 || nstd < 1)
    return tc_set_error(TC_ERR_ARG, "%s: mean and std need at least one value each", fn);
  if ((C >= 0 && nmean != 1 && nmean != C) || (C >= 0 && nstd != 1 && nstd != C))
    return tc_set_error(TC_ERR_SHAPE, "%s: mean has %lld and std %lld values for an image of %lld channels", fn,
                        (long long)nmean, (long long)nstd, (long long)C);
  for (int64_t i = 0; i < nstd; i++)
    if (std[i] == 0.0) return tc_set_error(TC_ERR_ARG, "%s: std evaluated to zero, leading to division by zero.", fn);
  return TC_OK;
}

/* float32, contiguous, out of place: one pass of (x - mean[c]) / std[c] with float mean and std,
 * the same operations as the broadcast sub and div (the pipeline's last step, on every training
 * image). */
static tc_tensor *normalize_f32(const tc_tensor *img, const double *mean, int64_t nmean, const double *std,
                                int64_t nstd, int64_t C) {
  tc_tensor *r = tc_empty(tc_tensor_shape(img), tc_tensor_ndim(img), TC_OPTS(.dtype = TC_F32));
  if (!r) return NULL;
  int64_t nd = tc_tensor_ndim(img), hw = tc_tensor_shape(img)[nd - 1] * tc_tensor_shape(img)[nd - 2];
  int64_t planes = tc_tensor_numel(img) / hw;
  const float *restrict x = tc_tensor_data(img);
  float *restrict y = tc_tensor_data(r);
  for (int64_t p = 0; p < planes; p++) {
    int64_t c = p % C;
    const float m = (float)mean[nmean == 1 ? 0 : c], s = (float)std[nstd == 1 ? 0 : c];
    const float *restrict xp = x + p * hw;
    float *restrict yp = y + p * hw;
    for (int64_t i = 0; i < hw; i++) yp[i] = (xp[i] - m) / s;
  }
  return r;
}

tc_tensor *tv_normalize(tc_tensor *img, const double *mean, int64_t nmean, const double *std, int64_t nstd,
                        bool inplace) {
  const char *fn = "tv_normalize";
  tv__planes pl;
  if (tv__check_image(fn, img, &pl) || check_norm_args(fn, mean, nmean, std, nstd, pl.c)) return NULL;
  tc_dtype dt = tc_tensor_dtype(img);
  if (!tc_dtype_is_floating(dt)) {
    tc_set_error(TC_ERR_DTYPE, "%s: input tensor should be a float tensor, got %s", fn, tc_dtype_name(dt));
    return NULL;
  }
  /* (in place keeps the tensor ops: they bump the version autograd checks saved tensors against) */
  if (!inplace && dt == TC_F32 && tc_tensor_is_contiguous(img) && tc_tensor_numel(img) > 0 &&
      !tc_tensor_requires_grad(img))
    return normalize_f32(img, mean, nmean, std, nstd, pl.c);
  tc_tensor *m = channel_values(mean, nmean, dt), *s = m ? channel_values(std, nstd, dt) : NULL, *r = NULL;
  if (s && inplace) {
    if (!tc_sub_inplace(img, m, 1.0) && !tc_div_inplace(img, s)) r = tc_tensor_retain(img);
  } else if (s) {
    r = tc_sub(img, m, 1.0);
    if (r && tc_div_inplace(r, s)) {
      tc_tensor_release(r);
      r = NULL;
    }
  }
  tc_tensor_release(m);
  tc_tensor_release(s);
  return r;
}

/* (H, W[, C]) -> a contiguous (C, H, W) copy */
static tc_tensor *hwc_to_chw(const char *fn, const tc_tensor *hwc) {
  if (!hwc) {
    if (!tc_last_status()) tc_set_error(TC_ERR_ARG, "%s: image is NULL", fn);
    return NULL;
  }
  int64_t nd = tc_tensor_ndim(hwc);
  if (nd != 2 && nd != 3) {
    tc_set_error(TC_ERR_SHAPE, "%s: expected an (H, W, C) or (H, W) array, got %lld dims", fn, (long long)nd);
    return NULL;
  }
  tc_tensor *v = nd == 2 ? tc_unsqueeze(hwc, 2) : tc_tensor_retain((tc_tensor *)hwc);
  tc_tensor *p = v ? tc_permute(v, (int64_t[]){2, 0, 1}, 3) : NULL;
  tc_tensor *r = p ? tc_clone(p) : NULL;
  tc_tensor_release(v);
  tc_tensor_release(p);
  return r;
}

tc_tensor *tv_to_image(const tc_tensor *hwc) { return hwc_to_chw("tv_to_image", hwc); }

tc_tensor *tv_to_tensor(const tc_tensor *hwc) {
  tc_tensor *chw = hwc_to_chw("tv_to_tensor", hwc);
  if (!chw || tc_tensor_dtype(chw) != TC_U8) return chw;
  tc_tensor *f = tc_to_dtype(chw, TC_F32);
  tc_tensor *r = f ? tc_div_scalar(f, 255.0) : NULL;
  tc_tensor_release(chw);
  tc_tensor_release(f);
  return r;
}

tc_tensor *tv_erase(tc_tensor *img, int64_t i, int64_t j, int64_t h, int64_t w, const tc_tensor *v, bool inplace) {
  const char *fn = "tv_erase";
  tv__planes pl;
  if (tv__check_image(fn, img, &pl)) return NULL;
  if (!v) {
    if (!tc_last_status()) tc_set_error(TC_ERR_ARG, "%s: value tensor is NULL", fn);
    return NULL;
  }
  if (i < 0 || j < 0 || h < 0 || w < 0 || i + h > pl.h || j + w > pl.w) {
    tc_set_error(TC_ERR_ARG, "%s: region (i=%lld, j=%lld, h=%lld, w=%lld) is outside the %lldx%lld image", fn,
                 (long long)i, (long long)j, (long long)h, (long long)w, (long long)pl.h, (long long)pl.w);
    return NULL;
  }
  int64_t nd = tc_tensor_ndim(img);
  tc_tensor *r = inplace ? tc_tensor_retain(img) : tc_clone(img);
  tc_tensor *rows = r ? tc_narrow(r, nd - 2, i, h) : NULL;
  tc_tensor *box = rows ? tc_narrow(rows, nd - 1, j, w) : NULL;
  tc_status st = box ? tc_copy_inplace(box, v) : tc_last_status();
  tc_tensor_release(rows);
  tc_tensor_release(box);
  if (st) {
    tc_tensor_release(r);
    return NULL;
  }
  return r;
}
