/* vision/src/transforms_objects.c — the tr_transform objects of torchvision.transforms.v2 for the
 * functional image ops, and the random parameter sampling of the random ones, drawn exactly as
 * torchvision's make_params / _RandomApplyTransform do:
 *   p-gated transforms (flips, RandomErasing): u = torch.rand(1); skipped (no further draws) when
 *     u >= p;
 *   RandomCrop: top = torch.randint(0, H - h + 1) only when H > h, then left likewise;
 *   RandomResizedCrop / RandomErasing: per try, torch.empty(1).uniform_(scale) then
 *     torch.exp(torch.empty(1).uniform_(log ratio)) in float32, with the log of the ratio taken on a
 *     float32 tensor; the sizes rounded half to even as Python's round(); the offsets by randint
 *     after a fitting try (RandomErasing draws its random patch, normal_ of (C, h, w), before them).
 * The state of every transform is one read-only block, so apply may run on several threads at once.
 */
#include <math.h>
#include <string.h>
#include "transforms_internal.h"

typedef struct tf_state {
  int64_t h, w;           /* output / crop size */
  int64_t size, max_size; /* Resize by the shorter edge (size > 0) */
  tv_interp interp;
  bool antialias;
  bool flag;         /* inplace (Normalize, RandomErasing), vertical_flip (TenCrop) */
  bool random_value; /* RandomErasing value='random' */
  bool has_pad, pad_if_needed;
  int64_t ltrb[4]; /* padding (left, top, right, bottom) */
  tv_pad_mode mode;
  double p, scale[2], ratio[2];
  double *vals, *vals2; /* fill / erase value / mean; std (owned) */
  int64_t nvals, nvals2;
} tf_state;

static void state_destroy(void *vs) {
  tf_state *s = vs;
  if (!s) return;
  tc_free(s->vals);
  tc_free(s->vals2);
  tc_free(s);
}

static tf_state *state_new(void) { return tc_calloc(sizeof(tf_state)); }

/* Copies n doubles into *dst (nothing for n == 0 or src NULL). */
static tc_status copy_vals(double **dst, int64_t *ndst, const double *src, int64_t n) {
  *ndst = 0;
  if (!src || n <= 0) return TC_OK;
  *dst = tc_malloc((size_t)n * sizeof(double));
  if (!*dst) return TC_ERR_NOMEM;
  memcpy(*dst, src, (size_t)n * sizeof(double));
  *ndst = n;
  return TC_OK;
}

/* "[a, b, c]" of n values (%g) into buf */
static void fmt_list(char *buf, size_t cap, const double *v, int64_t n) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int64_t i = 0; i < n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%g", i ? ", " : "", v[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

static tc_status emit(tc_tensor *r, tr_value *out) {
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

static tr_transform *make(const tr_transform_vtable *vt, tf_state *s) {
  if (!s) return NULL;
  return tr_transform_create(vt, s);
}

static bool bad_size(const char *fn, int64_t h, int64_t w) {
  if (h >= 1 && w >= 1) return false;
  tc_set_error(TC_ERR_ARG, "%s: size must be positive, got (%lld, %lld)", fn, (long long)h, (long long)w);
  return true;
}

static bool bad_interp(const char *fn, tv_interp m) {
  if ((int)m >= TV_INTERP_NEAREST && m <= TV_INTERP_BICUBIC) return false;
  tc_set_error(TC_ERR_ARG, "%s: unknown interpolation mode %d", fn, (int)m);
  return true;
}

static bool bad_p(const char *fn, double p) {
  if (p >= 0.0 && p <= 1.0) return false;
  tc_set_error(TC_ERR_ARG, "%s: p should be a probability in [0, 1], got %g", fn, p);
  return true;
}

/* ---- Resize ----------------------------------------------------------------------------------------------- */
static tc_status resize_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tf_state *s = tr_transform_state(self);
  int64_t H, W;
  if (tv__value_size("Resize", in, &H, &W)) return tc_last_status();
  tv__geo op = {.kind = TV_GEO_RESIZE, .out_h = s->h, .out_w = s->w, .interp = s->interp, .antialias = s->antialias};
  if (s->size > 0 && tv_resize_shorter_size(H, W, s->size, s->max_size, &op.out_h, &op.out_w)) return tc_last_status();
  return tv__geo_apply("Resize", &op, in, out);
}

static char *resize_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  char size[64], maxs[48] = "";
  if (s->size > 0)
    snprintf(size, sizeof size, "[%lld]", (long long)s->size);
  else
    snprintf(size, sizeof size, "[%lld, %lld]", (long long)s->h, (long long)s->w);
  if (s->max_size > 0) snprintf(maxs, sizeof maxs, ", max_size=%lld", (long long)s->max_size);
  return tv__printf("Resize(size=%s, interpolation=%s%s, antialias=%s)", size, tv__interp_name(s->interp), maxs,
                    s->antialias ? "True" : "False");
}

static const tr_transform_vtable resize_vt = {"Resize", resize_apply, resize_describe, state_destroy, true};

tr_transform *tv_resize_transform(int64_t h, int64_t w, tv_interp interp, bool antialias) {
  const char *fn = "tv_resize_transform";
  if (bad_size(fn, h, w) || bad_interp(fn, interp)) return NULL;
  tf_state *s = state_new();
  if (s) s->h = h, s->w = w, s->interp = interp, s->antialias = antialias;
  return make(&resize_vt, s);
}

tr_transform *tv_resize_shorter_transform(int64_t size, int64_t max_size, tv_interp interp, bool antialias) {
  const char *fn = "tv_resize_shorter_transform";
  int64_t oh, ow;
  if (bad_interp(fn, interp) || tv_resize_shorter_size(1, 1, size, max_size, &oh, &ow)) return NULL;
  tf_state *s = state_new();
  if (s) s->size = size, s->max_size = max_size, s->interp = interp, s->antialias = antialias;
  return make(&resize_vt, s);
}

/* ---- CenterCrop, FiveCrop, TenCrop ---------------------------------------------------------------------------- */
static tc_status center_crop_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tf_state *s = tr_transform_state(self);
  int64_t H, W;
  if (tv__value_size("CenterCrop", in, &H, &W)) return tc_last_status();
  tv__geo op = {.kind = TV_GEO_CROP, .top = tv__center_offset(H, s->h), .left = tv__center_offset(W, s->w), .h = s->h,
                .w = s->w};
  return tv__geo_apply("CenterCrop", &op, in, out);
}
static char *center_crop_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  return tv__printf("CenterCrop(size=(%lld, %lld))", (long long)s->h, (long long)s->w);
}
static const tr_transform_vtable center_crop_vt = {"CenterCrop", center_crop_apply, center_crop_describe,
                                                   state_destroy, true};

tr_transform *tv_center_crop_transform(int64_t h, int64_t w) {
  if (bad_size("tv_center_crop_transform", h, w)) return NULL;
  tf_state *s = state_new();
  if (s) s->h = h, s->w = w;
  return make(&center_crop_vt, s);
}

static tc_status n_crop_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tf_state *s = tr_transform_state(self);
  bool ten = strcmp(tr_name(self), "TenCrop") == 0;
  if (in->kind == TR_TUPLE) return tv__map_images(tr_name(self), self, in, out, gen);
  const tc_tensor *x;
  if (tv__need_tensor(tr_name(self), in, &x)) return tc_last_status();
  return emit(ten ? tv_ten_crop(x, s->h, s->w, s->flag) : tv_five_crop(x, s->h, s->w), out);
}
static char *five_crop_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  return tv__printf("FiveCrop(size=(%lld, %lld))", (long long)s->h, (long long)s->w);
}
static char *ten_crop_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  return tv__printf("TenCrop(size=(%lld, %lld), vertical_flip=%s)", (long long)s->h, (long long)s->w,
                    s->flag ? "True" : "False");
}
static const tr_transform_vtable five_crop_vt = {"FiveCrop", n_crop_apply, five_crop_describe, state_destroy, true};
static const tr_transform_vtable ten_crop_vt = {"TenCrop", n_crop_apply, ten_crop_describe, state_destroy, true};

tr_transform *tv_five_crop_transform(int64_t h, int64_t w) {
  if (bad_size("tv_five_crop_transform", h, w)) return NULL;
  tf_state *s = state_new();
  if (s) s->h = h, s->w = w;
  return make(&five_crop_vt, s);
}

tr_transform *tv_ten_crop_transform(int64_t h, int64_t w, bool vertical_flip) {
  if (bad_size("tv_ten_crop_transform", h, w)) return NULL;
  tf_state *s = state_new();
  if (s) s->h = h, s->w = w, s->flag = vertical_flip;
  return make(&ten_crop_vt, s);
}

/* ---- Pad, RandomCrop ------------------------------------------------------------------------------------------------
 */
static char *fill_text(const tf_state *s, char *buf, size_t cap) {
  if (s->nvals <= 1)
    snprintf(buf, cap, "%g", s->nvals ? s->vals[0] : 0.0);
  else
    fmt_list(buf, cap, s->vals, s->nvals);
  return buf;
}

static tc_status pad_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tf_state *s = tr_transform_state(self);
  tv__geo op = {.kind = TV_GEO_PAD, .ltrb = {s->ltrb[0], s->ltrb[1], s->ltrb[2], s->ltrb[3]}, .mode = s->mode,
                .vals = s->vals, .nvals = s->nvals};
  return tv__geo_apply("Pad", &op, in, out);
}
static char *pad_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  char fill[256];
  return tv__printf("Pad(padding=[%lld, %lld, %lld, %lld], fill=%s, padding_mode=%s)", (long long)s->ltrb[0],
                    (long long)s->ltrb[1], (long long)s->ltrb[2], (long long)s->ltrb[3],
                    fill_text(s, fill, sizeof fill), tv__pad_mode_name(s->mode));
}
static const tr_transform_vtable pad_vt = {"Pad", pad_apply, pad_describe, state_destroy, true};

static tf_state *pad_state(const char *fn, const int64_t *padding, int64_t npadding, const double *fill, int64_t nfill,
                           tv_pad_mode mode) {
  tf_state *s = NULL;
  if ((int)mode < TV_PAD_CONSTANT || mode > TV_PAD_SYMMETRIC) {
    tc_set_error(TC_ERR_ARG, "%s: unknown padding mode %d", fn, (int)mode);
    return NULL;
  }
  if (fill && nfill < 1) {
    tc_set_error(TC_ERR_ARG, "%s: fill needs at least one value (nfill = %lld)", fn, (long long)nfill);
    return NULL;
  }
  if (!(s = state_new())) return NULL;
  s->mode = mode;
  if (padding && npadding > 0) {
    if (tv__parse_padding(fn, padding, npadding, s->ltrb)) goto fail;
    s->has_pad = true;
  }
  if (copy_vals(&s->vals, &s->nvals, fill, nfill)) goto fail;
  return s;
fail:
  state_destroy(s);
  return NULL;
}

tr_transform *tv_pad_transform(const int64_t *padding, int64_t npadding, const double *fill, int64_t nfill,
                               tv_pad_mode mode) {
  const char *fn = "tv_pad_transform";
  if (!padding || npadding < 1) {
    tc_set_error(TC_ERR_ARG, "%s: padding must have 1, 2 or 4 values, got %lld", fn, (long long)npadding);
    return NULL;
  }
  return make(&pad_vt, pad_state(fn, padding, npadding, fill, nfill, mode));
}

static tc_status random_crop_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const char *fn = "RandomCrop";
  const tf_state *s = tr_transform_state(self);
  tv__planes pl;
  if (tv__value_size(fn, in, &pl.h, &pl.w) || tv__need_gen(fn, gen)) return tc_last_status();
  int64_t l = s->ltrb[0], t = s->ltrb[1], r = s->ltrb[2], b = s->ltrb[3];
  int64_t H = pl.h + t + b, W = pl.w + l + r;
  if (s->pad_if_needed && H < s->h) {
    int64_t d = s->h - H;
    t += d, b += d, H += 2 * d;
  }
  if (s->pad_if_needed && W < s->w) {
    int64_t d = s->w - W;
    l += d, r += d, W += 2 * d;
  }
  if (H < s->h || W < s->w)
    return tc_set_error(TC_ERR_SHAPE,
                        "%s: required crop size (%lld, %lld) is larger than %sinput image size (%lld, %lld)", fn,
                        (long long)s->h, (long long)s->w, s->has_pad ? "padded " : "", (long long)H, (long long)W);
  int64_t top = 0, left = 0;
  if (H > s->h && tv__randint(gen, 0, H - s->h + 1, &top)) return tc_last_status();
  if (W > s->w && tv__randint(gen, 0, W - s->w + 1, &left)) return tc_last_status();
  tr_value padded = {0};
  if (l || t || r || b) {
    tv__geo pad = {.kind = TV_GEO_PAD, .ltrb = {l, t, r, b}, .mode = s->mode, .vals = s->vals, .nvals = s->nvals};
    if (tv__geo_apply(fn, &pad, in, &padded)) return tc_last_status();
  } else if (tr_value_copy(&padded, in)) {
    return tc_last_status();
  }
  tv__geo crop = {.kind = TV_GEO_CROP, .top = top, .left = left, .h = s->h, .w = s->w};
  tc_status st = H > s->h || W > s->w ? tv__geo_apply(fn, &crop, &padded, out) : TC_OK;
  if (!st && !(H > s->h || W > s->w)) *out = padded, padded = (tr_value){0};
  tr_value_clear(&padded);
  return st;
}
static char *random_crop_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  char pad[128] = "None", fill[256];
  if (s->has_pad) /* torchvision prints its parsed [left, right, top, bottom] */
    snprintf(pad, sizeof pad, "[%lld, %lld, %lld, %lld]", (long long)s->ltrb[0], (long long)s->ltrb[2],
             (long long)s->ltrb[1], (long long)s->ltrb[3]);
  return tv__printf("RandomCrop(size=(%lld, %lld), padding=%s, pad_if_needed=%s, fill=%s, padding_mode=%s)",
                    (long long)s->h, (long long)s->w, pad, s->pad_if_needed ? "True" : "False",
                    fill_text(s, fill, sizeof fill), tv__pad_mode_name(s->mode));
}
static const tr_transform_vtable random_crop_vt = {"RandomCrop", random_crop_apply, random_crop_describe,
                                                   state_destroy, true};

tr_transform *tv_random_crop_transform(int64_t h, int64_t w, const int64_t *padding, int64_t npadding,
                                       bool pad_if_needed, const double *fill, int64_t nfill, tv_pad_mode mode) {
  const char *fn = "tv_random_crop_transform";
  if (bad_size(fn, h, w)) return NULL;
  tf_state *s = pad_state(fn, padding, npadding, fill, nfill, mode);
  if (s) s->h = h, s->w = w, s->pad_if_needed = pad_if_needed;
  return make(&random_crop_vt, s);
}

/* ---- flips
 * ------------------------------------------------------------------------------------------------------------ */
static tc_status flip_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const tf_state *s = tr_transform_state(self);
  const char *fn = tr_name(self);
  int64_t H, W;
  double u;
  if (tv__value_size(fn, in, &H, &W) || tv__need_gen(fn, gen) || tv__rand1(gen, &u)) return tc_last_status();
  if (u >= s->p) return tr_value_copy(out, in);
  tv__geo op = {.kind = s->flag ? TV_GEO_VFLIP : TV_GEO_HFLIP};
  return tv__geo_apply(fn, &op, in, out);
}
static char *flip_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  return tv__printf("%s(p=%g)", tr_name(self), s->p);
}
static const tr_transform_vtable hflip_vt = {"RandomHorizontalFlip", flip_apply, flip_describe, state_destroy, true};
static const tr_transform_vtable vflip_vt = {"RandomVerticalFlip", flip_apply, flip_describe, state_destroy, true};

static tr_transform *flip_new(const char *fn, double p, bool vertical) {
  if (bad_p(fn, p)) return NULL;
  tf_state *s = state_new();
  if (s) s->p = p, s->flag = vertical;
  return make(vertical ? &vflip_vt : &hflip_vt, s);
}
tr_transform *tv_random_horizontal_flip_transform(double p) {
  return flip_new("tv_random_horizontal_flip_transform", p, false);
}
tr_transform *tv_random_vertical_flip_transform(double p) {
  return flip_new("tv_random_vertical_flip_transform", p, true);
}

/* ---- RandomResizedCrop
 * ---------------------------------------------------------------------------------------------------- */
/* One try's (area scale, aspect) as torchvision draws them: uniform_ on float32, then exp of a
 * float32 uniform over the float32 log ratio. */
static tc_status draw_area_aspect(tc_generator *gen, const double scale[2], const float logr[2], double *u,
                                  double *aspect) {
  double lr;
  if (tv__uniform1(gen, scale[0], scale[1], u) || tv__uniform1(gen, logr[0], logr[1], &lr)) return tc_last_status();
  *aspect = (double)(float)exp(lr);
  return TC_OK;
}

static void log_ratio(const double ratio[2], float out[2]) {
  for (int k = 0; k < 2; k++) out[k] = (float)log((double)(float)ratio[k]);
}

static bool bad_range(const char *fn, const char *what, const double *v, double lo_excl) {
  if (v[0] > lo_excl && v[1] >= v[0] && isfinite(v[1])) return false;
  tc_set_error(TC_ERR_ARG, "%s: %s should be (min, max) with %g < min <= max, got (%g, %g)", fn, what, lo_excl, v[0],
               v[1]);
  return true;
}

tc_status tv_random_resized_crop_params(int64_t in_h, int64_t in_w, const double *scale, const double *ratio,
                                        tc_generator *gen, int64_t box[4]) {
  const char *fn = "tv_random_resized_crop_params";
  const double ds[2] = {0.08, 1.0}, dr[2] = {3.0 / 4.0, 4.0 / 3.0};
  scale = scale ? scale : ds, ratio = ratio ? ratio : dr;
  if (!box) return tc_set_error(TC_ERR_ARG, "%s: box is NULL", fn);
  if (tv__need_gen(fn, gen)) return tc_last_status();
  if (in_h < 1 || in_w < 1)
    return tc_set_error(TC_ERR_SHAPE, "%s: empty %lldx%lld image", fn, (long long)in_h, (long long)in_w);
  if (bad_range(fn, "scale", scale, -1e-300) || bad_range(fn, "ratio", ratio, 0.0)) return tc_last_status();
  float logr[2];
  log_ratio(ratio, logr);
  const double area = (double)(in_h * in_w);
  for (int attempt = 0; attempt < 10; attempt++) {
    double u = 0.0, aspect = 1.0;
    if (draw_area_aspect(gen, scale, logr, &u, &aspect)) return tc_last_status();
    double target = area * u;
    int64_t w = tv__round_half_even(sqrt(target * aspect)), h = tv__round_half_even(sqrt(target / aspect));
    if (0 < w && w <= in_w && 0 < h && h <= in_h) {
      if (tv__randint(gen, 0, in_h - h + 1, &box[0]) || tv__randint(gen, 0, in_w - w + 1, &box[1]))
        return tc_last_status();
      box[2] = h, box[3] = w;
      return TC_OK;
    }
  }
  double in_ratio = (double)in_w / (double)in_h; /* fallback: the central crop within the ratio range */
  int64_t h = in_h, w = in_w;
  if (in_ratio < ratio[0])
    h = tv__round_half_even((double)w / ratio[0]);
  else if (in_ratio > ratio[1])
    w = tv__round_half_even((double)h * ratio[1]);
  box[0] = (in_h - h) / 2, box[1] = (in_w - w) / 2, box[2] = h, box[3] = w;
  return TC_OK;
}

static tc_status rrc_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const char *fn = "RandomResizedCrop";
  const tf_state *s = tr_transform_state(self);
  int64_t H, W, box[4];
  if (tv__value_size(fn, in, &H, &W) || tv_random_resized_crop_params(H, W, s->scale, s->ratio, gen, box))
    return tc_last_status();
  tv__geo op = {.kind = TV_GEO_RESIZED_CROP, .top = box[0], .left = box[1], .h = box[2], .w = box[3], .out_h = s->h,
                .out_w = s->w, .interp = s->interp, .antialias = s->antialias};
  return tv__geo_apply(fn, &op, in, out);
}
static char *rrc_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  return tv__printf(
      "RandomResizedCrop(size=(%lld, %lld), scale=(%.17g, %.17g), ratio=(%.17g, %.17g), "
      "interpolation=%s, antialias=%s)",
      (long long)s->h, (long long)s->w, s->scale[0], s->scale[1], s->ratio[0], s->ratio[1], tv__interp_name(s->interp),
      s->antialias ? "True" : "False");
}
static const tr_transform_vtable rrc_vt = {"RandomResizedCrop", rrc_apply, rrc_describe, state_destroy, true};

tr_transform *tv_random_resized_crop_transform(int64_t h, int64_t w, const double *scale, const double *ratio,
                                               tv_interp interp, bool antialias) {
  const char *fn = "tv_random_resized_crop_transform";
  const double ds[2] = {0.08, 1.0}, dr[2] = {3.0 / 4.0, 4.0 / 3.0};
  scale = scale ? scale : ds, ratio = ratio ? ratio : dr;
  if (bad_size(fn, h, w) || bad_interp(fn, interp) || bad_range(fn, "scale", scale, -1e-300) ||
      bad_range(fn, "ratio", ratio, 0.0))
    return NULL;
  tf_state *s = state_new();
  if (s) {
    s->h = h, s->w = w, s->interp = interp, s->antialias = antialias;
    memcpy(s->scale, scale, sizeof s->scale);
    memcpy(s->ratio, ratio, sizeof s->ratio);
  }
  return make(&rrc_vt, s);
}

/* ---- Normalize, ToImage, ToTensor
 * ------------------------------------------------------------------------------------------ */
static tc_status normalize_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tf_state *s = tr_transform_state(self);
  const tc_tensor *x;
  if (tv__need_tensor("Normalize", in, &x)) return tc_last_status();
  return emit(tv_normalize(in->tensor, s->vals, s->nvals, s->vals2, s->nvals2, s->flag), out);
}
static char *normalize_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  char m[512], d[512];
  fmt_list(m, sizeof m, s->vals, s->nvals);
  fmt_list(d, sizeof d, s->vals2, s->nvals2);
  return tv__printf("Normalize(mean=%s, std=%s, inplace=%s)", m, d, s->flag ? "True" : "False");
}
static const tr_transform_vtable normalize_vt = {"Normalize", normalize_apply, normalize_describe, state_destroy, false};

tr_transform *tv_normalize_transform(const double *mean, int64_t nmean, const double *std, int64_t nstd, bool inplace) {
  const char *fn = "tv_normalize_transform";
  if (!mean || !std || nmean < 1 || nstd < 1) {
    tc_set_error(TC_ERR_ARG, "%s: mean and std need at least one value each", fn);
    return NULL;
  }
  for (int64_t i = 0; i < nstd; i++)
    if (std[i] == 0.0) {
      tc_set_error(TC_ERR_ARG, "%s: std evaluated to zero, leading to division by zero.", fn);
      return NULL;
    }
  tf_state *s = state_new();
  if (s && (copy_vals(&s->vals, &s->nvals, mean, nmean) || copy_vals(&s->vals2, &s->nvals2, std, nstd))) {
    state_destroy(s);
    return NULL;
  }
  if (s) s->flag = inplace;
  return make(&normalize_vt, s);
}

static tc_status to_image_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const tc_tensor *x;
  bool classic = strcmp(tr_name(self), "ToTensor") == 0;
  if (tv__need_tensor(tr_name(self), in, &x)) return tc_last_status();
  return emit(classic ? tv_to_tensor(x) : tv_to_image(x), out);
}
static const tr_transform_vtable to_image_vt = {"ToImage", to_image_apply, NULL, NULL, false};
static const tr_transform_vtable to_tensor_vt = {"ToTensor", to_image_apply, NULL, NULL, false};

tr_transform *tv_to_image_transform(void) { return tr_transform_create(&to_image_vt, NULL); }
tr_transform *tv_to_tensor_transform(void) { return tr_transform_create(&to_tensor_vt, NULL); }

/* ---- RandomErasing
 * ------------------------------------------------------------------------------------------------------------ */
/* The erase value: a (C, h, w) normal patch, or the constant(s) as (n, 1, 1) float32. */
static tc_tensor *erase_value(const tf_state *s, int64_t C, int64_t h, int64_t w, tc_generator *gen) {
  if (s->random_value) {
    tc_tensor *v = tc_empty((int64_t[]){C, h, w}, 3, TC_OPTS(.dtype = TC_F32));
    if (v && tc_normal_inplace(v, 0.0, 1.0, gen)) {
      tc_tensor_release(v);
      return NULL;
    }
    return v;
  }
  int64_t n = s->nvals ? s->nvals : 1;
  tc_tensor *v = tc_empty((int64_t[]){n, 1, 1}, 3, TC_OPTS(.dtype = TC_F32));
  for (int64_t i = 0; v && i < n; i++) ((float *)tc_tensor_data(v))[i] = s->nvals ? (float)s->vals[i] : 0.0f;
  return v;
}

static tc_status erasing_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const char *fn = "RandomErasing";
  const tf_state *s = tr_transform_state(self);
  const tc_tensor *x;
  tv__planes pl;
  double u;
  if (tv__need_tensor(fn, in, &x) || tv__check_image(fn, x, &pl) || tv__need_gen(fn, gen)) return tc_last_status();
  if (s->nvals > 1 && s->nvals != pl.c)
    return tc_set_error(TC_ERR_SHAPE, "%s: value has %lld entries; it should have 1 or %lld (the image's channels)", fn,
                        (long long)s->nvals, (long long)pl.c);
  if (tv__rand1(gen, &u)) return tc_last_status();
  if (u >= s->p) return tr_value_copy(out, in);
  float logr[2];
  log_ratio(s->ratio, logr);
  const double area = (double)(pl.h * pl.w);
  for (int attempt = 0; attempt < 10; attempt++) {
    double a = 0.0, aspect = 1.0;
    if (draw_area_aspect(gen, s->scale, logr, &a, &aspect)) return tc_last_status();
    double target = area * a;
    int64_t h = tv__round_half_even(sqrt(target * aspect)), w = tv__round_half_even(sqrt(target / aspect));
    if (!(h < pl.h && w < pl.w)) continue;
    int64_t i, j;
    tc_tensor *v = erase_value(s, pl.c, h, w, gen);
    if (!v || tv__randint(gen, 0, pl.h - h + 1, &i) || tv__randint(gen, 0, pl.w - w + 1, &j)) {
      tc_tensor_release(v);
      return tc_last_status();
    }
    tc_tensor *r = tv_erase(in->tensor, i, j, h, w, v, s->flag);
    tc_tensor_release(v);
    return emit(r, out);
  }
  return tr_value_copy(out, in); /* no try fitted: torchvision leaves the image alone */
}
static char *erasing_describe(const tr_transform *self) {
  const tf_state *s = tr_transform_state(self);
  char value[300] = "";
  if (!s->random_value) {
    double zero = 0.0;
    char list[256];
    fmt_list(list, sizeof list, s->nvals ? s->vals : &zero, s->nvals ? s->nvals : 1);
    snprintf(value, sizeof value, ", value=%s", list);
  }
  return tv__printf("RandomErasing(p=%g, scale=(%g, %g), ratio=(%g, %g)%s, inplace=%s)", s->p, s->scale[0], s->scale[1],
                    s->ratio[0], s->ratio[1], value, s->flag ? "True" : "False");
}
static const tr_transform_vtable erasing_vt = {"RandomErasing", erasing_apply, erasing_describe, state_destroy, false};

tr_transform *tv_random_erasing_transform(double p, const double *scale, const double *ratio, const double *value,
                                          int64_t nvalue, bool random_value, bool inplace) {
  const char *fn = "tv_random_erasing_transform";
  const double ds[2] = {0.02, 0.33}, dr[2] = {0.3, 3.3};
  scale = scale ? scale : ds, ratio = ratio ? ratio : dr;
  if (bad_p(fn, p) || bad_range(fn, "scale", scale, -1e-300) || bad_range(fn, "ratio", ratio, 0.0)) return NULL;
  if (scale[1] > 1.0) {
    tc_set_error(TC_ERR_ARG, "%s: scale should be between 0 and 1, got (%g, %g)", fn, scale[0], scale[1]);
    return NULL;
  }
  if (value && nvalue < 1) {
    tc_set_error(TC_ERR_ARG, "%s: value needs at least one entry (nvalue = %lld)", fn, (long long)nvalue);
    return NULL;
  }
  tf_state *s = state_new();
  if (s && copy_vals(&s->vals, &s->nvals, random_value ? NULL : value, nvalue)) {
    state_destroy(s);
    return NULL;
  }
  if (s) {
    s->p = p, s->random_value = random_value, s->flag = inplace;
    memcpy(s->scale, scale, sizeof s->scale);
    memcpy(s->ratio, ratio, sizeof s->ratio);
  }
  return make(&erasing_vt, s);
}
