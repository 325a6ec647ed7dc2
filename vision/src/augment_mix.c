/* vision/src/augment_mix.c — batch MixUp and CutMix (torchvision.transforms.v2.MixUp / CutMix) and
 * a DataLoader collate function that applies them.
 *
 * lam = Beta(alpha, alpha).sample(): torch.distributions.Beta samples Dirichlet([alpha, alpha])
 * (torch._sample_dirichlet on float32) and keeps component 0; aug_sample_dirichlet reproduces it
 * draw for draw. CutMix then draws r_x = randint(W), r_y = randint(H).
 * Images mix as rolled * (1 - lam) + x * lam (roll by 1 along the batch); labels become one-hot
 * float32 first and mix the same way (CutMix with the box-adjusted lam).
 */
#include <pthread.h>
#include "ctorch/dataloader.h"
#include <string.h>
#include "augment_internal.h"

/* lam ~ Beta(alpha, alpha) as float(Beta(tensor([alpha]), tensor([alpha])).sample(())) */
static tc_status draw_beta(tc_generator *gen, double alpha, double *lam) {
  float a[2] = {(float)alpha, (float)alpha}, out[2];
  tc_status st = aug_sample_dirichlet(gen, a, 1, 2, out);
  if (!st) *lam = (double)out[0];
  return st;
}

typedef struct {
  int64_t n, c, h, w, k; /* k: classes */
  tc_dtype dt;           /* image dtype: float32 or float64 */
} mix_shape;

static tc_status check_batch(const char *fn, const tc_tensor *images, const tc_tensor *labels, int64_t num_classes,
                             double alpha, mix_shape *ms) {
  if (!images || !labels)
    return tc_last_status() ? tc_last_status() : tc_set_error(TC_ERR_ARG, "%s: images or labels is NULL", fn);
  if (!(alpha > 0)) return tc_set_error(TC_ERR_ARG, "%s: alpha must be > 0, got %g", fn, alpha);
  tc_dtype dt = tc_tensor_dtype(images), lt = tc_tensor_dtype(labels);
  if (tc_tensor_ndim(images) != 4)
    return tc_set_error(TC_ERR_SHAPE, "%s: expected a batched image (N, C, H, W), got %lld dims", fn,
                        (long long)tc_tensor_ndim(images));
  if (dt != TC_F32 && dt != TC_F64)
    return tc_set_error(TC_ERR_DTYPE, "%s: images must be float32 or float64 (convert with ToDtype first), got %s", fn,
                        tc_dtype_name(dt));
  int64_t ln = tc_tensor_ndim(labels), n = tc_tensor_size(images, 0);
  if (ln != 1 && ln != 2)
    return tc_set_error(TC_ERR_SHAPE, "%s: labels must be (N) class indices or (N, num_classes), got %lld dims", fn,
                        (long long)ln);
  if (ln == 1 && !tc_dtype_is_integral(lt, false))
    return tc_set_error(TC_ERR_DTYPE, "%s: 1-D labels must be integer class indices, got %s", fn, tc_dtype_name(lt));
  if (ln == 2 && tc_tensor_size(labels, 1) != num_classes)
    return tc_set_error(TC_ERR_SHAPE, "%s: labels have %lld classes, num_classes is %lld", fn,
                        (long long)tc_tensor_size(labels, 1), (long long)num_classes);
  if (num_classes <= 0)
    return tc_set_error(TC_ERR_ARG, "%s: num_classes must be > 0, got %lld", fn, (long long)num_classes);
  if (tc_tensor_size(labels, 0) != n)
    return tc_set_error(TC_ERR_SHAPE, "%s: the batch size of the images (%lld) and labels (%lld) differ", fn,
                        (long long)n, (long long)tc_tensor_size(labels, 0));
  *ms =
      (mix_shape){n, tc_tensor_size(images, 1), tc_tensor_size(images, 2), tc_tensor_size(images, 3), num_classes, dt};
  return TC_OK;
}

/* soft labels (N, k) float32: one-hot (or the float labels), then rolled * (1 - lam) + y * lam */
static tc_tensor *mix_labels(const char *fn, const tc_tensor *labels, const mix_shape *ms, double lam) {
  int64_t n = ms->n, k = ms->k;
  float *y = tc_calloc(sizeof(float) * (size_t)(n * k > 0 ? n * k : 1));
  if (!y) return NULL;
  tc_tensor *src = NULL, *out = NULL;
  if (tc_tensor_ndim(labels) == 1) {
    src = tc_to_dtype(labels, TC_I64);
    tc_tensor *c = src ? tc_contiguous(src) : NULL;
    tc_tensor_release(src);
    src = c;
    if (!src) goto done;
    const int64_t *l = tc_tensor_data(src);
    for (int64_t i = 0; i < n; i++) {
      if (l[i] < 0 || l[i] >= k) {
        tc_set_error(TC_ERR_ARG, "%s: label %lld of sample %lld is outside [0, %lld)", fn, (long long)l[i],
                     (long long)i, (long long)k);
        goto done;
      }
      y[i * k + l[i]] = 1.0f;
    }
  } else {
    src = tc_to_dtype(labels, TC_F32);
    tc_tensor *c = src ? tc_contiguous(src) : NULL;
    tc_tensor_release(src);
    src = c;
    if (!src) goto done;
    memcpy(y, tc_tensor_data(src), sizeof(float) * (size_t)(n * k));
  }
  out = tc_empty((const int64_t[]){n, k}, 2, NULL);
  if (!out) goto done;
  float *o = tc_tensor_data(out), a = (float)(1.0 - lam), b = (float)lam;
  for (int64_t i = 0; i < n; i++) {
    const float *prev = y + ((i + n - 1) % n) * k;
    for (int64_t j = 0; j < k; j++) o[i * k + j] = prev[j] * a + y[i * k + j] * b;
  }
done:
  tc_free(y);
  tc_tensor_release(src);
  return out;
}

/* Replaces *images and *labels with new_images and the mixed labels (both or neither). */
static tc_status commit(const char *fn, tc_tensor **images, tc_tensor **labels, tc_tensor *new_images,
                        const mix_shape *ms, double lam) {
  tc_tensor *new_labels = new_images ? mix_labels(fn, *labels, ms, lam) : NULL;
  if (!new_labels) {
    tc_tensor_release(new_images);
    return tc_last_status();
  }
  tc_tensor_release(*images);
  tc_tensor_release(*labels);
  *images = new_images;
  *labels = new_labels;
  return TC_OK;
}

#define MIX_LOOP(T)                                                                \
  do {                                                                             \
    const T *x = tc_tensor_data(src);                                              \
    T *o = tc_tensor_data(out), a = (T)(1.0 - lam), b = (T)lam;                    \
    for (int64_t i = 0; i < ms.n; i++) {                                           \
      const T *prev = x + ((i + ms.n - 1) % ms.n) * per, *cur = x + i * per;       \
      for (int64_t j = 0; j < per; j++) o[i * per + j] = prev[j] * a + cur[j] * b; \
    }                                                                              \
  } while (0)

tc_status tv_mixup(tc_tensor **images, tc_tensor **labels, int64_t num_classes, double alpha, tc_generator *gen) {
  const char *fn = "tv_mixup";
  mix_shape ms;
  if (!images || !labels) return tc_set_error(TC_ERR_ARG, "%s: images or labels is NULL", fn);
  tc_status st = check_batch(fn, *images, *labels, num_classes, alpha, &ms);
  if (st || (st = tv__need_gen(fn, gen))) return st;
  double lam;
  if ((st = draw_beta(gen, alpha, &lam))) return st;
  tc_tensor *src = tc_contiguous(*images), *out = src ? tc_empty_like(src, NULL) : NULL;
  int64_t per = ms.c * ms.h * ms.w;
  if (out && ms.dt == TC_F32)
    MIX_LOOP(float);
  else if (out)
    MIX_LOOP(double);
  tc_tensor_release(src);
  return commit(fn, images, labels, out, &ms, lam);
}

tc_status tv_cutmix(tc_tensor **images, tc_tensor **labels, int64_t num_classes, double alpha, tc_generator *gen) {
  const char *fn = "tv_cutmix";
  mix_shape ms;
  if (!images || !labels) return tc_set_error(TC_ERR_ARG, "%s: images or labels is NULL", fn);
  tc_status st = check_batch(fn, *images, *labels, num_classes, alpha, &ms);
  if (st || (st = tv__need_gen(fn, gen))) return st;
  double lam;
  int64_t rx, ry, H = ms.h, W = ms.w;
  if ((st = draw_beta(gen, alpha, &lam)) || (st = aug_draw_randint(gen, 0, W, &rx)) ||
      (st = aug_draw_randint(gen, 0, H, &ry)))
    return st;
  double r = 0.5 * sqrt(1.0 - lam);
  int64_t rw = (int64_t)(r * (double)W), rh = (int64_t)(r * (double)H);
  int64_t x1 = rx - rw < 0 ? 0 : rx - rw, y1 = ry - rh < 0 ? 0 : ry - rh;
  int64_t x2 = rx + rw > W ? W : rx + rw, y2 = ry + rh > H ? H : ry + rh;
  double lam_adj = 1.0 - (double)((x2 - x1) * (y2 - y1)) / (double)(W * H);
  tc_tensor *out = tc_clone(*images);
  if (out) {
    size_t es = tc_tensor_element_size(out);
    char *o = tc_tensor_data(out);
    const char *x = tc_tensor_data(out); /* the clone still holds the originals outside the boxes */
    int64_t n = ms.n, plane = H * W;
    /* walk samples from the last so each box reads its predecessor's original pixels: sample 0 reads the
       last sample, which is rewritten first, so copy sample n-1's box first into a scratch */
    char *keep = n > 0 ? tc_malloc(es * (size_t)(ms.c * plane)) : NULL;
    if (n > 0 && !keep) {
      tc_tensor_release(out);
      return tc_last_status();
    }
    if (n > 0) memcpy(keep, x + (size_t)((n - 1) * ms.c * plane) * es, es * (size_t)(ms.c * plane));
    for (int64_t i = n - 1; i >= 0; i--) {
      const char *prev = i > 0 ? x + (size_t)((i - 1) * ms.c * plane) * es : keep;
      for (int64_t c = 0; c < ms.c; c++)
        for (int64_t yy = y1; yy < y2; yy++) {
          size_t off = (size_t)(c * plane + yy * W + x1) * es;
          memcpy(o + (size_t)(i * ms.c * plane) * es + off, prev + off, es * (size_t)(x2 - x1));
        }
    }
    tc_free(keep);
  }
  return commit(fn, images, labels, out, &ms, lam_adj);
}

/* ---- collate ------------------------------------------------------------------------------------------------ */
static pthread_mutex_t collate_mu = PTHREAD_MUTEX_INITIALIZER;

tc_status tv_mix_collate(const td_sample *samples, int64_t n, td_sample *batch, void *user) {
  const char *fn = "tv_mix_collate";
  const tv_mix_collate_cfg *cfg = user;
  if (!cfg || !cfg->image_field || !cfg->label_field)
    return tc_set_error(TC_ERR_ARG, "%s: collate_user must be a tv_mix_collate_cfg with field names", fn);
  tc_status st = td_collate(samples, n, TD_COLLATE_STACK, 0.0, batch);
  if (st) return st;
  const tr_value *iv = td_sample_field(batch, cfg->image_field), *lv = td_sample_field(batch, cfg->label_field);
  if (!iv || !lv || iv->kind != TR_TENSOR || lv->kind != TR_TENSOR) {
    td_sample_clear(batch);
    return tc_set_error(TC_ERR_ARG, "%s: the batch has no tensor fields \"%s\" and \"%s\"", fn, cfg->image_field,
                        cfg->label_field);
  }
  tc_tensor *img = tc_tensor_retain(iv->tensor), *lab = tc_tensor_retain(lv->tensor);
  pthread_mutex_lock(&collate_mu);
  tv_mix_mode mode = cfg->mode;
  double u = 0;
  if (mode == TV_MIX_RANDOM && !(st = tv__need_gen(fn, cfg->gen))) { /* RandomChoice([MixUp, CutMix]) */
    u = tc_generator_uniform(cfg->gen);
    mode = u < 0.5 ? TV_MIX_MIXUP : TV_MIX_CUTMIX;
  }
  if (!st)
    st = mode == TV_MIX_MIXUP ? tv_mixup(&img, &lab, cfg->num_classes, cfg->alpha, cfg->gen)
                              : tv_cutmix(&img, &lab, cfg->num_classes, cfg->alpha, cfg->gen);
  pthread_mutex_unlock(&collate_mu);
  if (!st) st = td_sample_set(batch, cfg->image_field, tr_tensor_value(tc_tensor_retain(img)));
  if (!st) st = td_sample_set(batch, cfg->label_field, tr_tensor_value(tc_tensor_retain(lab)));
  tc_tensor_release(img);
  tc_tensor_release(lab);
  if (st) td_sample_clear(batch);
  return st;
}
