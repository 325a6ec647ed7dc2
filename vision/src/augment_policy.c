/* vision/src/augment_policy.c — AutoAugment, RandAugment, TrivialAugmentWide and AugMix
 * (torchvision.transforms.v2._auto_augment), with the same op lists (in dict order, which the
 * torch.randint op choice indexes), magnitude bins and draws:
 *   AutoAugment: sub-policy = randint(len(policies)); per op: rand() <= p, then for signed ops
 *     rand() <= 0.5 negates; RandAugment: num_ops x (op = randint(len(ops)), sign);
 *   TrivialAugmentWide: op = randint, bin = randint(num_bins), sign;
 *   AugMix: Dirichlet(alpha, alpha) and Dirichlet(alpha x width) weights (torch._sample_dirichlet),
 *     then per chain depth = randint(1, 4) (unless fixed), per op op = randint, bin = randint(severity),
 *     sign. The mixture is accumulated in float32 and truncated back to uint8.
 */
#include <string.h>
#include "augment_internal.h"

typedef enum {
  OP_IDENTITY,
  OP_SHEAR_X,
  OP_SHEAR_Y,
  OP_TRANSLATE_X,
  OP_TRANSLATE_Y,
  OP_ROTATE,
  OP_BRIGHTNESS,
  OP_COLOR,
  OP_CONTRAST,
  OP_SHARPNESS,
  OP_POSTERIZE,
  OP_SOLARIZE,
  OP_AUTOCONTRAST,
  OP_EQUALIZE,
  OP_INVERT
} op_id;

/* How an op's magnitudes are binned: none; linspace(0, hi [* width or height], bins); the posterize
 * ramp (base - arange(bins) / ((bins - 1) / div)).round(); or solarize's linspace(1, 0, bins). */
typedef enum { MAG_NONE, MAG_LIN, MAG_POSTERIZE, MAG_SOLARIZE } mag_kind;
typedef enum { DIM_NONE, DIM_W, DIM_H } mag_dim;

typedef struct {
  op_id op;
  mag_kind kind;
  double hi; /* MAG_LIN end (times the dim); MAG_POSTERIZE base */
  mag_dim dim;
  double div; /* MAG_POSTERIZE; MAG_LIN with a dim: the dim divided by div */
  bool sign;
} space_entry;

#define NONE_(op) \
  { op, MAG_NONE, 0, DIM_NONE, 0, false }
#define LIN(op, hi, dim) \
  { op, MAG_LIN, hi, dim, 0, true }

/* RandAugment's space; AutoAugment uses it without Identity plus Invert */
static const space_entry ra_space[] = {
    NONE_(OP_IDENTITY),
    LIN(OP_SHEAR_X, 0.3, DIM_NONE),
    LIN(OP_SHEAR_Y, 0.3, DIM_NONE),
    LIN(OP_TRANSLATE_X, 150.0 / 331.0, DIM_W),
    LIN(OP_TRANSLATE_Y, 150.0 / 331.0, DIM_H),
    LIN(OP_ROTATE, 30.0, DIM_NONE),
    LIN(OP_BRIGHTNESS, 0.9, DIM_NONE),
    LIN(OP_COLOR, 0.9, DIM_NONE),
    LIN(OP_CONTRAST, 0.9, DIM_NONE),
    LIN(OP_SHARPNESS, 0.9, DIM_NONE),
    {OP_POSTERIZE, MAG_POSTERIZE, 8, DIM_NONE, 4, false},
    {OP_SOLARIZE, MAG_SOLARIZE, 0, DIM_NONE, 0, false},
    NONE_(OP_AUTOCONTRAST),
    NONE_(OP_EQUALIZE),
    NONE_(OP_INVERT) /* AutoAugment only */
};
#define RA_N 14

static const space_entry ta_space[] = {NONE_(OP_IDENTITY),
                                       LIN(OP_SHEAR_X, 0.99, DIM_NONE),
                                       LIN(OP_SHEAR_Y, 0.99, DIM_NONE),
                                       LIN(OP_TRANSLATE_X, 32.0, DIM_NONE),
                                       LIN(OP_TRANSLATE_Y, 32.0, DIM_NONE),
                                       LIN(OP_ROTATE, 135.0, DIM_NONE),
                                       LIN(OP_BRIGHTNESS, 0.99, DIM_NONE),
                                       LIN(OP_COLOR, 0.99, DIM_NONE),
                                       LIN(OP_CONTRAST, 0.99, DIM_NONE),
                                       LIN(OP_SHARPNESS, 0.99, DIM_NONE),
                                       {OP_POSTERIZE, MAG_POSTERIZE, 8, DIM_NONE, 6, false},
                                       {OP_SOLARIZE, MAG_SOLARIZE, 0, DIM_NONE, 0, false},
                                       NONE_(OP_AUTOCONTRAST),
                                       NONE_(OP_EQUALIZE)};

/* AugMix: the partial space is the first 9 entries */
static const space_entry am_space[] = {LIN(OP_SHEAR_X, 0.3, DIM_NONE),
                                       LIN(OP_SHEAR_Y, 0.3, DIM_NONE),
                                       {OP_TRANSLATE_X, MAG_LIN, 1, DIM_W, 3, true},
                                       {OP_TRANSLATE_Y, MAG_LIN, 1, DIM_H, 3, true},
                                       LIN(OP_ROTATE, 30.0, DIM_NONE),
                                       {OP_POSTERIZE, MAG_POSTERIZE, 4, DIM_NONE, 4, false},
                                       {OP_SOLARIZE, MAG_SOLARIZE, 0, DIM_NONE, 0, false},
                                       NONE_(OP_AUTOCONTRAST),
                                       NONE_(OP_EQUALIZE),
                                       LIN(OP_BRIGHTNESS, 0.9, DIM_NONE),
                                       LIN(OP_COLOR, 0.9, DIM_NONE),
                                       LIN(OP_CONTRAST, 0.9, DIM_NONE),
                                       LIN(OP_SHARPNESS, 0.9, DIM_NONE)};

/* magnitudes_fn(bins, h, w)[idx] as float(...) of the float32 tensor; false for ops without one */
static bool magnitude(const space_entry *e, int64_t bins, int64_t h, int64_t w, int64_t idx, double *out) {
  switch (e->kind) {
    case MAG_NONE:
      return false;
    case MAG_LIN: {
      double hi = e->hi; /* Python: 150.0 / 331.0 * width, or width / 3.0 (div) */
      if (e->dim != DIM_NONE) {
        double d = (double)(e->dim == DIM_W ? w : h);
        hi = e->div > 0 ? d / e->div : e->hi * d;
      }
      *out = aug_linspace_f32(0.0f, (float)hi, bins, idx);
      return true;
    }
    case MAG_SOLARIZE:
      *out = aug_linspace_f32(1.0f, 0.0f, bins, idx);
      return true;
    case MAG_POSTERIZE: {
      float d = (float)((double)(bins - 1) / e->div), v = (float)e->hi - (float)idx / d;
      *out = (double)(int32_t)rintf(v);
      return true;
    }
  }
  return false;
}

/* _apply_image_or_video_transform */
static tc_tensor *apply_op(const tc_tensor *img, op_id op, double mag, tv_interp interp, tv_fill fill) {
  const double pi = 3.14159265358979323846, origin[2] = {0, 0};
  bool u8 = tc_tensor_dtype(img) == TC_U8;
  switch (op) {
    case OP_IDENTITY:
      return tc_tensor_retain((tc_tensor *)img);
    case OP_SHEAR_X:
      return tv_affine(img, 0, 0, 0, 1.0, atan(mag) * (180.0 / pi), 0, interp, fill, origin);
    case OP_SHEAR_Y:
      return tv_affine(img, 0, 0, 0, 1.0, 0, atan(mag) * (180.0 / pi), interp, fill, origin);
    case OP_TRANSLATE_X:
      return tv_affine(img, 0, trunc(mag), 0, 1.0, 0, 0, interp, fill, NULL);
    case OP_TRANSLATE_Y:
      return tv_affine(img, 0, 0, trunc(mag), 1.0, 0, 0, interp, fill, NULL);
    case OP_ROTATE:
      return tv_rotate(img, mag, interp, false, NULL, fill);
    case OP_BRIGHTNESS:
      return tv_adjust_brightness(img, 1.0 + mag);
    case OP_COLOR:
      return tv_adjust_saturation(img, 1.0 + mag);
    case OP_CONTRAST:
      return tv_adjust_contrast(img, 1.0 + mag);
    case OP_SHARPNESS:
      return tv_adjust_sharpness(img, 1.0 + mag);
    case OP_POSTERIZE:
      return tv_posterize(img, (int64_t)mag);
    case OP_SOLARIZE:
      return tv_solarize(img, (u8 ? 255.0 : 1.0) * mag);
    case OP_AUTOCONTRAST:
      return tv_autocontrast(img);
    case OP_EQUALIZE:
      return tv_equalize(img);
    case OP_INVERT:
      return tv_invert(img);
  }
  return NULL;
}

/* Applies entry e with bin idx (or no bin when idx < 0 draws nothing): the sign draw, then the op. */
static tc_tensor *apply_entry(const tc_tensor *img, const space_entry *e, int64_t bins, int64_t idx, tv_interp interp,
                              tv_fill fill, tc_generator *gen) {
  int64_t h = tc_tensor_size(img, -2), w = tc_tensor_size(img, -1);
  double mag = 0.0, u;
  if (magnitude(e, bins, h, w, idx, &mag) && e->sign) {
    if (aug_draw_rand(gen, &u)) return NULL;
    if (u <= 0.5) mag = -mag;
  }
  return apply_op(img, e->op, mag, interp, fill);
}

/* ---- AutoAugment policies ------------------------------------------------------------------------------ */
typedef struct {
  op_id op;
  double p;
  int mag; /* -1: none */
} sub_op;

#define P(a, pa, ma, b, pb, mb)          \
  {                                      \
    {OP_##a, pa, ma}, { OP_##b, pb, mb } \
  }
static const sub_op imagenet_policy[25][2] = {
    P(POSTERIZE, 0.4, 8, ROTATE, 0.6, 9),    P(SOLARIZE, 0.6, 5, AUTOCONTRAST, 0.6, -1),
    P(EQUALIZE, 0.8, -1, EQUALIZE, 0.6, -1), P(POSTERIZE, 0.6, 7, POSTERIZE, 0.6, 6),
    P(EQUALIZE, 0.4, -1, SOLARIZE, 0.2, 4),  P(EQUALIZE, 0.4, -1, ROTATE, 0.8, 8),
    P(SOLARIZE, 0.6, 3, EQUALIZE, 0.6, -1),  P(POSTERIZE, 0.8, 5, EQUALIZE, 1.0, -1),
    P(ROTATE, 0.2, 3, SOLARIZE, 0.6, 8),     P(EQUALIZE, 0.6, -1, POSTERIZE, 0.4, 6),
    P(ROTATE, 0.8, 8, COLOR, 0.4, 0),        P(ROTATE, 0.4, 9, EQUALIZE, 0.6, -1),
    P(EQUALIZE, 0.0, -1, EQUALIZE, 0.8, -1), P(INVERT, 0.6, -1, EQUALIZE, 1.0, -1),
    P(COLOR, 0.6, 4, CONTRAST, 1.0, 8),      P(ROTATE, 0.8, 8, COLOR, 1.0, 2),
    P(COLOR, 0.8, 8, SOLARIZE, 0.8, 7),      P(SHARPNESS, 0.4, 7, INVERT, 0.6, -1),
    P(SHEAR_X, 0.6, 5, EQUALIZE, 1.0, -1),   P(COLOR, 0.4, 0, EQUALIZE, 0.6, -1),
    P(EQUALIZE, 0.4, -1, SOLARIZE, 0.2, 4),  P(SOLARIZE, 0.6, 5, AUTOCONTRAST, 0.6, -1),
    P(INVERT, 0.6, -1, EQUALIZE, 1.0, -1),   P(COLOR, 0.6, 4, CONTRAST, 1.0, 8),
    P(EQUALIZE, 0.8, -1, EQUALIZE, 0.6, -1)};
static const sub_op cifar10_policy[25][2] = {
    P(INVERT, 0.1, -1, CONTRAST, 0.2, 6),         P(ROTATE, 0.7, 2, TRANSLATE_X, 0.3, 9),
    P(SHARPNESS, 0.8, 1, SHARPNESS, 0.9, 3),      P(SHEAR_Y, 0.5, 8, TRANSLATE_Y, 0.7, 9),
    P(AUTOCONTRAST, 0.5, -1, EQUALIZE, 0.9, -1),  P(SHEAR_Y, 0.2, 7, POSTERIZE, 0.3, 7),
    P(COLOR, 0.4, 3, BRIGHTNESS, 0.6, 7),         P(SHARPNESS, 0.3, 9, BRIGHTNESS, 0.7, 9),
    P(EQUALIZE, 0.6, -1, EQUALIZE, 0.5, -1),      P(CONTRAST, 0.6, 7, SHARPNESS, 0.6, 5),
    P(COLOR, 0.7, 7, TRANSLATE_X, 0.5, 8),        P(EQUALIZE, 0.3, -1, AUTOCONTRAST, 0.4, -1),
    P(TRANSLATE_Y, 0.4, 3, SHARPNESS, 0.2, 6),    P(BRIGHTNESS, 0.9, 6, COLOR, 0.2, 8),
    P(SOLARIZE, 0.5, 2, INVERT, 0.0, -1),         P(EQUALIZE, 0.2, -1, AUTOCONTRAST, 0.6, -1),
    P(EQUALIZE, 0.2, -1, EQUALIZE, 0.6, -1),      P(COLOR, 0.9, 9, EQUALIZE, 0.6, -1),
    P(AUTOCONTRAST, 0.8, -1, SOLARIZE, 0.2, 8),   P(BRIGHTNESS, 0.1, 3, COLOR, 0.7, 0),
    P(SOLARIZE, 0.4, 5, AUTOCONTRAST, 0.9, -1),   P(TRANSLATE_Y, 0.9, 9, TRANSLATE_Y, 0.7, 9),
    P(AUTOCONTRAST, 0.9, -1, SOLARIZE, 0.8, 3),   P(EQUALIZE, 0.8, -1, INVERT, 0.1, -1),
    P(TRANSLATE_Y, 0.7, 9, AUTOCONTRAST, 0.9, -1)};
static const sub_op svhn_policy[25][2] = {
    P(SHEAR_X, 0.9, 4, INVERT, 0.2, -1),       P(SHEAR_Y, 0.9, 8, INVERT, 0.7, -1),
    P(EQUALIZE, 0.6, -1, SOLARIZE, 0.6, 6),    P(INVERT, 0.9, -1, EQUALIZE, 0.6, -1),
    P(EQUALIZE, 0.6, -1, ROTATE, 0.9, 3),      P(SHEAR_X, 0.9, 4, AUTOCONTRAST, 0.8, -1),
    P(SHEAR_Y, 0.9, 8, INVERT, 0.4, -1),       P(SHEAR_Y, 0.9, 5, SOLARIZE, 0.2, 6),
    P(INVERT, 0.9, -1, AUTOCONTRAST, 0.8, -1), P(EQUALIZE, 0.6, -1, ROTATE, 0.9, 3),
    P(SHEAR_X, 0.9, 4, SOLARIZE, 0.3, 3),      P(SHEAR_Y, 0.8, 8, INVERT, 0.7, -1),
    P(EQUALIZE, 0.9, -1, TRANSLATE_Y, 0.6, 6), P(INVERT, 0.9, -1, EQUALIZE, 0.6, -1),
    P(CONTRAST, 0.3, 3, ROTATE, 0.8, 4),       P(INVERT, 0.8, -1, TRANSLATE_Y, 0.0, 2),
    P(SHEAR_Y, 0.7, 6, SOLARIZE, 0.4, 8),      P(INVERT, 0.6, -1, ROTATE, 0.8, 4),
    P(SHEAR_Y, 0.3, 7, TRANSLATE_X, 0.9, 3),   P(SHEAR_X, 0.1, 6, INVERT, 0.6, -1),
    P(SOLARIZE, 0.7, 2, TRANSLATE_Y, 0.6, 7),  P(SHEAR_Y, 0.8, 4, INVERT, 0.8, -1),
    P(SHEAR_X, 0.7, 9, TRANSLATE_Y, 0.8, 3),   P(SHEAR_Y, 0.8, 5, AUTOCONTRAST, 0.7, -1),
    P(SHEAR_X, 0.7, 2, INVERT, 0.1, -1)};

/* ---- state shared by the four policies --------------------------------------------------------------------- */
typedef enum { POL_AUTO, POL_RAND, POL_TRIVIAL, POL_AUGMIX } policy_kind;

typedef struct {
  policy_kind kind;
  tv_autoaugment_policy policy;
  int64_t num_ops, magnitude, bins; /* RandAugment / TrivialAugmentWide */
  int64_t severity, width, depth;   /* AugMix */
  double alpha;
  bool all_ops;
  tv_interp interp;
  tv_fill fill;
} policy_state;

static const char *const policy_names[] = {"AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"};

static tc_tensor *run_auto(const policy_state *s, const tc_tensor *img, tc_generator *gen) {
  const sub_op(*table)[2] = s->policy == TV_AUTOAUGMENT_CIFAR10 ? cifar10_policy
                            : s->policy == TV_AUTOAUGMENT_SVHN  ? svhn_policy
                                                                : imagenet_policy;
  int64_t pick;
  if (aug_draw_randint(gen, 0, 25, &pick)) return NULL;
  tc_tensor *cur = tc_tensor_retain((tc_tensor *)img);
  for (int k = 0; k < 2 && cur; k++) {
    const sub_op *o = &table[pick][k];
    double u;
    if (aug_draw_rand(gen, &u)) {
      tc_tensor_release(cur);
      return NULL;
    }
    if (!(u <= o->p)) continue;
    const space_entry *e = &ra_space[o->op]; /* ra_space is indexed by op id (Invert last) */
    tc_tensor *next = apply_entry(cur, e, 10, o->mag, s->interp, s->fill, gen);
    tc_tensor_release(cur);
    cur = next;
  }
  return cur;
}

static tc_tensor *run_rand(const policy_state *s, const tc_tensor *img, tc_generator *gen) {
  tc_tensor *cur = tc_tensor_retain((tc_tensor *)img);
  for (int64_t k = 0; k < s->num_ops && cur; k++) {
    int64_t pick;
    if (aug_draw_randint(gen, 0, RA_N, &pick)) {
      tc_tensor_release(cur);
      return NULL;
    }
    tc_tensor *next = apply_entry(cur, &ra_space[pick], s->bins, s->magnitude, s->interp, s->fill, gen);
    tc_tensor_release(cur);
    cur = next;
  }
  return cur;
}

static tc_tensor *run_trivial(const policy_state *s, const tc_tensor *img, tc_generator *gen) {
  int64_t pick, bin = 0;
  if (aug_draw_randint(gen, 0, (int64_t)(sizeof ta_space / sizeof *ta_space), &pick)) return NULL;
  const space_entry *e = &ta_space[pick];
  if (e->kind != MAG_NONE && aug_draw_randint(gen, 0, s->bins, &bin)) return NULL;
  return apply_entry(img, e, s->bins, bin, s->interp, s->fill, gen);
}

/* mix[b, :] += wt[b] * x[b, :] for the B groups of a float buffer */
static void mix_add(float *mix, const tc_tensor *x, const float *wt, int64_t B, int64_t group) {
  bool u8 = tc_tensor_dtype(x) == TC_U8;
  const void *d = tc_tensor_data(x);
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < group; j++) {
      int64_t i = b * group + j;
      float v = u8 ? (float)((const uint8_t *)d)[i] : ((const float *)d)[i];
      mix[i] += wt[b] * v;
    }
}

/* One AugMix chain on batch: depth ops from the first n entries of the space (NULL on failure). */
static tc_tensor *augmix_chain(const policy_state *s, const tc_tensor *batch, int64_t n, tc_generator *gen) {
  int64_t depth = s->depth;
  if (depth <= 0 && aug_draw_randint(gen, 1, 4, &depth)) return NULL;
  tc_tensor *aug = tc_tensor_retain((tc_tensor *)batch);
  for (int64_t d = 0; d < depth && aug; d++) {
    int64_t pick, bin = 0;
    const space_entry *e = NULL;
    if (!aug_draw_randint(gen, 0, n, &pick)) e = &am_space[pick];
    if (e && e->kind != MAG_NONE && aug_draw_randint(gen, 0, s->severity, &bin)) e = NULL;
    tc_tensor *next = e ? apply_entry(aug, e, 10, bin, s->interp, s->fill, gen) : NULL;
    tc_tensor_release(aug);
    aug = next;
  }
  return aug;
}

static tc_tensor *run_augmix(const policy_state *s, const tc_tensor *img, tc_generator *gen) {
  int64_t nd = tc_tensor_ndim(img), B = nd >= 4 ? tc_tensor_size(img, 0) : 1, numel = tc_tensor_numel(img);
  int64_t group = B > 0 ? numel / B : 0, n = s->all_ops ? 13 : 9, W = s->width;
  tc_tensor *batch = tc_contiguous(img), *out = NULL;
  float *buf = tc_malloc(sizeof(float) * (size_t)(2 * B + B * W + B * (W > 2 ? W : 2) + (numel > 0 ? numel : 1)));
  if (!batch || !buf) goto done;
  float *m = buf, *cw = m + 2 * B, *alpha = cw + B * W, *mix = alpha + B * (W > 2 ? W : 2), *w0 = alpha;
  for (int64_t i = 0; i < B * 2; i++) alpha[i] = (float)s->alpha;
  if (aug_sample_dirichlet(gen, alpha, B, 2, m)) goto done;
  for (int64_t i = 0; i < B * W; i++) alpha[i] = (float)s->alpha;
  if (aug_sample_dirichlet(gen, alpha, B, W, cw)) goto done;
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < W; i++) cw[b * W + i] *= m[b * 2 + 1];
  memset(mix, 0, sizeof(float) * (size_t)numel);
  for (int64_t b = 0; b < B; b++) w0[b] = m[b * 2];
  mix_add(mix, batch, w0, B, group); /* m[:, 0] * batch */
  for (int64_t i = 0; i < W; i++) {
    tc_tensor *aug = augmix_chain(s, batch, n, gen);
    if (!aug) goto done;
    tc_tensor *c = tc_contiguous(aug);
    tc_tensor_release(aug);
    if (!c) goto done;
    for (int64_t b = 0; b < B; b++) w0[b] = cw[b * W + i];
    mix_add(mix, c, w0, B, group);
    tc_tensor_release(c);
  }
  out = tc_empty(tc_tensor_shape(img), nd, TC_OPTS(.dtype = tc_tensor_dtype(img)));
  if (!out) goto done;
  if (tc_tensor_dtype(img) == TC_F32) {
    memcpy(tc_tensor_data(out), mix, sizeof(float) * (size_t)numel);
  } else {
    uint8_t *o = tc_tensor_data(out);
    for (int64_t i = 0; i < numel; i++) o[i] = (uint8_t)aug_clampf(truncf(mix[i]), 0.0f, 255.0f);
  }
done:
  tc_free(buf);
  tc_tensor_release(batch);
  return out;
}

static tc_status policy_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const policy_state *s = tr_transform_state(self);
  const char *fn = policy_names[s->kind];
  if (in->kind == TR_TUPLE) return tv__map_images(fn, self, in, out, gen); /* no boxes or masks */
  const tc_tensor *img;
  tc_status st = aug_value_tensor(fn, in, &img);
  if (st || (st = tv__need_gen(fn, gen))) return st;
  tc_dtype dt = tc_tensor_dtype(img);
  if (tc_tensor_ndim(img) < 3 || (dt != TC_U8 && dt != TC_F32))
    return tc_set_error(TC_ERR_ARG, "%s: expected a uint8 or float32 image (..., C, H, W), got %s with %lld dims", fn,
                        tc_dtype_name(dt), (long long)tc_tensor_ndim(img));
  tc_tensor *r = s->kind == POL_AUTO      ? run_auto(s, img, gen)
                 : s->kind == POL_RAND    ? run_rand(s, img, gen)
                 : s->kind == POL_TRIVIAL ? run_trivial(s, img, gen)
                                          : run_augmix(s, img, gen);
  return aug_set_out(out, r);
}

static char *policy_describe(const tr_transform *self) {
  const policy_state *s = tr_transform_state(self);
  const char *interp = s->interp == TV_INTERP_NEAREST ? "nearest" : "bilinear";
  switch (s->kind) {
    case POL_AUTO: {
      const char *p[] = {"IMAGENET", "CIFAR10", "SVHN"};
      return tv__printf("AutoAugment(policy=AutoAugmentPolicy.%s, interpolation=%s)", p[s->policy], interp);
    }
    case POL_RAND:
      return tv__printf("RandAugment(num_ops=%lld, magnitude=%lld, num_magnitude_bins=%lld, interpolation=%s)",
                        (long long)s->num_ops, (long long)s->magnitude, (long long)s->bins, interp);
    case POL_TRIVIAL:
      return tv__printf("TrivialAugmentWide(num_magnitude_bins=%lld, interpolation=%s)", (long long)s->bins, interp);
    case POL_AUGMIX:
      return tv__printf(
          "AugMix(severity=%lld, mixture_width=%lld, chain_depth=%lld, alpha=%g, all_ops=%s, "
          "interpolation=%s)",
          (long long)s->severity, (long long)s->width, (long long)s->depth, s->alpha, s->all_ops ? "True" : "False",
          interp);
  }
  return NULL;
}

static void policy_destroy(void *st) { tc_free(st); }

static const tr_transform_vtable policy_vt[] = {{"AutoAugment", policy_apply, policy_describe, policy_destroy, true},
                                                {"RandAugment", policy_apply, policy_describe, policy_destroy, true},
                                                {"TrivialAugmentWide", policy_apply, policy_describe, policy_destroy, true},
                                                {"AugMix", policy_apply, policy_describe, policy_destroy, true}};

static tr_transform *make_policy(const char *fn, const policy_state *init) {
  if (init->interp != TV_INTERP_NEAREST && init->interp != TV_INTERP_BILINEAR) {
    tc_set_error(TC_ERR_ARG, "%s: interpolation must be nearest or bilinear, got %d", fn, (int)init->interp);
    return NULL;
  }
  if (init->fill.n < 0 || init->fill.n > TV_FILL_MAX) {
    tc_set_error(TC_ERR_ARG, "%s: fill has %lld values (at most %d)", fn, (long long)init->fill.n, TV_FILL_MAX);
    return NULL;
  }
  policy_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = *init;
  return tr_transform_create(&policy_vt[s->kind], s);
}

tr_transform *tv_auto_augment_transform(tv_autoaugment_policy policy, tv_interp interp, tv_fill fill) {
  if (policy != TV_AUTOAUGMENT_IMAGENET && policy != TV_AUTOAUGMENT_CIFAR10 && policy != TV_AUTOAUGMENT_SVHN) {
    tc_set_error(TC_ERR_ARG, "tv_auto_augment_transform: unknown policy %d", (int)policy);
    return NULL;
  }
  return make_policy("tv_auto_augment_transform",
                     &(policy_state){.kind = POL_AUTO, .policy = policy, .interp = interp, .fill = fill});
}

tr_transform *tv_rand_augment_transform(int64_t num_ops, int64_t magnitude_, int64_t num_magnitude_bins,
                                        tv_interp interp, tv_fill fill) {
  const char *fn = "tv_rand_augment_transform";
  if (num_ops < 0 || num_magnitude_bins < 2 || magnitude_ < 0 || magnitude_ >= num_magnitude_bins) {
    tc_set_error(TC_ERR_ARG, "%s: needs num_ops >= 0 and 0 <= magnitude < num_magnitude_bins, got %lld, %lld, %lld", fn,
                 (long long)num_ops, (long long)magnitude_, (long long)num_magnitude_bins);
    return NULL;
  }
  return make_policy(fn, &(policy_state){.kind = POL_RAND,
                                         .num_ops = num_ops,
                                         .magnitude = magnitude_,
                                         .bins = num_magnitude_bins,
                                         .interp = interp,
                                         .fill = fill});
}

tr_transform *tv_trivial_augment_wide_transform(int64_t num_magnitude_bins, tv_interp interp, tv_fill fill) {
  const char *fn = "tv_trivial_augment_wide_transform";
  if (num_magnitude_bins < 2) {
    tc_set_error(TC_ERR_ARG, "%s: num_magnitude_bins must be >= 2, got %lld", fn, (long long)num_magnitude_bins);
    return NULL;
  }
  return make_policy(fn,
                     &(policy_state){.kind = POL_TRIVIAL, .bins = num_magnitude_bins, .interp = interp, .fill = fill});
}

tr_transform *tv_augmix_transform(int64_t severity, int64_t mixture_width, int64_t chain_depth, double alpha,
                                  bool all_ops, tv_interp interp, tv_fill fill) {
  const char *fn = "tv_augmix_transform";
  if (severity < 1 || severity > 10) {
    tc_set_error(TC_ERR_ARG, "%s: the severity must be between [1, 10], got %lld", fn, (long long)severity);
    return NULL;
  }
  if (mixture_width < 1 || mixture_width > 64 || !(alpha > 0)) {
    tc_set_error(TC_ERR_ARG, "%s: needs 1 <= mixture_width <= 64 and alpha > 0, got %lld and %g", fn,
                 (long long)mixture_width, alpha);
    return NULL;
  }
  return make_policy(fn, &(policy_state){.kind = POL_AUGMIX,
                                         .severity = severity,
                                         .width = mixture_width,
                                         .depth = chain_depth,
                                         .alpha = alpha,
                                         .all_ops = all_ops,
                                         .interp = interp,
                                         .fill = fill});
}
