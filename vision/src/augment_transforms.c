/* vision/src/augment_transforms.c — tr_transform objects for the color and geometric augmentations.
 *
 * One state struct serves them all (each kind uses the fields it needs). Random decisions follow
 * torchvision.transforms.v2 draw for draw:
 *   _RandomApplyTransform (RandomGrayscale, RandomInvert, ..., RandomPerspective): u = torch.rand(1),
 *     skip when u >= p, then the class's own parameters;
 *   ColorJitter: torch.randperm(4), then one uniform_ per enabled factor (brightness, contrast,
 *     saturation, hue order);
 *   GaussianBlur, RandomRotation: one uniform_; RandomAffine: angle, [tx, ty], [scale], [shear x, y];
 *   RandomPerspective: eight torch.randint draws; ElasticTransform: two torch.rand(1, 1, H, W) fields.
 */
#include <string.h>
#include "augment_internal.h"

typedef enum {
  K_JITTER,
  K_GRAY,
  K_RGRAY,
  K_INVERT,
  K_POSTERIZE,
  K_SOLARIZE,
  K_SHARP,
  K_AUTOCONTRAST,
  K_EQUALIZE,
  K_BLUR,
  K_ROTATION,
  K_AFFINE,
  K_PERSPECTIVE,
  K_ELASTIC
} kind;

typedef struct {
  kind k;
  double p;
  double range[4][2]; /* jitter: b, c, s, h; blur: sigma; rotation/affine: degrees */
  bool on[4];         /* jitter: component enabled */
  double x;           /* posterize bits, solarize threshold, sharpness factor, distortion scale */
  int64_t ks[2];      /* blur kernel (x, y), grayscale channels */
  tv_interp interp;
  tv_fill fill;
  bool expand, has_center;
  double center[2];
  bool has_translate, has_scale;
  double translate[2], scale[2], shear[4];
  int64_t nshear;
  double alpha[2], sigma[2]; /* elastic */
} aug_state;

static const char *const kind_names[] = {"ColorJitter",           "Grayscale",          "RandomGrayscale",
                                         "RandomInvert",          "RandomPosterize",    "RandomSolarize",
                                         "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize",
                                         "GaussianBlur",          "RandomRotation",     "RandomAffine",
                                         "RandomPerspective",     "ElasticTransform"};

/* ---- parameter draws ------------------------------------------------------------------------------------- */
static tc_tensor *apply_jitter(const aug_state *s, const tc_tensor *img, tc_generator *gen) {
  tc_tensor *perm = tc_randperm(4, TC_OPTS(.generator = gen));
  if (!perm) return NULL;
  int64_t order[4];
  tc_status st = tc_tensor_copy_to_buffer(perm, order, sizeof order);
  tc_tensor_release(perm);
  double f[4] = {0};
  for (int i = 0; i < 4 && !st; i++)
    if (s->on[i]) st = aug_draw_uniform(gen, s->range[i][0], s->range[i][1], &f[i]);
  if (st) return NULL;
  tc_tensor *cur = tc_tensor_retain((tc_tensor *)img);
  for (int i = 0; i < 4 && cur; i++) {
    int64_t id = order[i];
    if (!s->on[id]) continue;
    tc_tensor *next = id == 0   ? tv_adjust_brightness(cur, f[0])
                      : id == 1 ? tv_adjust_contrast(cur, f[1])
                      : id == 2 ? tv_adjust_saturation(cur, f[2])
                                : tv_adjust_hue(cur, f[3]);
    tc_tensor_release(cur);
    cur = next;
  }
  return cur;
}

/* ---- the geometric kinds: parameters drawn for an (h, w) image, applied by tv__geo_apply to the
 * image and to the boxes and masks of a tuple ------------------------------------------------------- */
static tc_status draw_affine(const aug_state *s, int64_t ih, int64_t iw, tc_generator *gen, tv__geo *op) {
  double h = (double)ih, w = (double)iw;
  double angle, tx = 0, ty = 0, scale = 1.0, shx = 0, shy = 0;
  tc_status st = aug_draw_uniform(gen, s->range[0][0], s->range[0][1], &angle);
  if (!st && s->has_translate) {
    double mdx = s->translate[0] * w, mdy = s->translate[1] * h;
    st = aug_draw_uniform(gen, -mdx, mdx, &tx);
    if (!st) st = aug_draw_uniform(gen, -mdy, mdy, &ty);
    tx = nearbyint(tx), ty = nearbyint(ty); /* int(round(...)): half to even */
  }
  if (!st && s->has_scale) st = aug_draw_uniform(gen, s->scale[0], s->scale[1], &scale);
  if (!st && s->nshear >= 2) st = aug_draw_uniform(gen, s->shear[0], s->shear[1], &shx);
  if (!st && s->nshear == 4) st = aug_draw_uniform(gen, s->shear[2], s->shear[3], &shy);
  if (st) return st;
  *op = (tv__geo){.kind = TV_GEO_AFFINE, .angle = angle, .tx = tx, .ty = ty, .scale = scale, .shx = shx, .shy = shy,
                  .interp = s->interp, .fill = s->fill, .center = s->has_center ? s->center : NULL};
  return TC_OK;
}

static tc_status draw_perspective(const aug_state *s, int64_t h, int64_t w, tc_generator *gen, tv__geo *op) {
  int64_t bh = (int64_t)(s->x * (double)(h / 2)) + 1, bw = (int64_t)(s->x * (double)(w / 2)) + 1;
  /* (low, high) of the eight draws: topleft, topright, botright, botleft as (x, y) */
  int64_t lims[8][2] = {{0, bw}, {0, bh}, {w - bw, w}, {0, bh}, {w - bw, w}, {h - bh, h}, {0, bw}, {h - bh, h}};
  double end[8], start[8] = {0, 0, (double)(w - 1), 0, (double)(w - 1), (double)(h - 1), 0, (double)(h - 1)};
  for (int i = 0; i < 8; i++) {
    int64_t v;
    if (aug_draw_randint(gen, lims[i][0], lims[i][1], &v)) return tc_last_status();
    end[i] = (double)v;
  }
  *op = (tv__geo){.kind = TV_GEO_PERSPECTIVE, .interp = s->interp, .fill = s->fill};
  return tv_perspective_coeffs(start, end, op->coeffs);
}

/* one displacement component: (rand * 2 - 1), blurred, * alpha / size, as ElasticTransform.make_params */
static tc_tensor *elastic_field(const aug_state *s, int d, int64_t h, int64_t w, tc_generator *gen) {
  tc_tensor *r = tc_rand((const int64_t[]){1, 1, h, w}, 4, TC_OPTS(.generator = gen));
  if (!r) return NULL;
  float *p = tc_tensor_data(r);
  for (int64_t i = 0; i < h * w; i++) p[i] = p[i] * 2.0f - 1.0f;
  if (s->sigma[d] > 0) {
    int64_t k = (int64_t)(8 * s->sigma[d] + 1);
    if (k % 2 == 0) k++;
    tc_tensor *b = tv_gaussian_blur(r, k, k, s->sigma[0], s->sigma[1]);
    tc_tensor_release(r);
    if (!b) return NULL;
    r = b;
    p = tc_tensor_data(r);
  }
  float alpha = (float)s->alpha[d], size = (float)(d == 0 ? w : h);
  for (int64_t i = 0; i < h * w; i++) p[i] = p[i] * alpha / size;
  return r;
}

/* *disp: the displacement (1, h, w, 2) op borrows, released by the caller */
static tc_status draw_elastic(const aug_state *s, int64_t h, int64_t w, tc_generator *gen, tv__geo *op,
                              tc_tensor **disp) {
  tc_tensor *dx = elastic_field(s, 0, h, w, gen), *dy = dx ? elastic_field(s, 1, h, w, gen) : NULL;
  *disp = dy ? tc_empty((const int64_t[]){1, h, w, 2}, 4, NULL) : NULL;
  if (*disp) {
    float *d = tc_tensor_data(*disp);
    const float *px = tc_tensor_data(dx), *py = tc_tensor_data(dy);
    for (int64_t i = 0; i < h * w; i++) d[2 * i] = px[i], d[2 * i + 1] = py[i];
    *op = (tv__geo){.kind = TV_GEO_ELASTIC, .displacement = *disp, .interp = s->interp, .fill = s->fill};
  }
  tc_tensor_release(dx);
  tc_tensor_release(dy);
  return *disp ? TC_OK : tc_last_status();
}

static bool is_geometric(kind k) { return k == K_ROTATION || k == K_AFFINE || k == K_PERSPECTIVE || k == K_ELASTIC; }

/* A geometric kind on an image, boxes, a mask or a tuple of them (the p gate drawn by the caller). */
static tc_status apply_geometric(const aug_state *s, const char *fn, const tr_value *in, tr_value *out,
                                 tc_generator *gen, int64_t h, int64_t w) {
  tv__geo op;
  tc_tensor *disp = NULL;
  double v;
  tc_status st = TC_OK;
  switch (s->k) {
    case K_ROTATION:
      st = aug_draw_uniform(gen, s->range[0][0], s->range[0][1], &v);
      op = (tv__geo){.kind = TV_GEO_ROTATE, .angle = v, .interp = s->interp, .expand = s->expand,
                     .center = s->has_center ? s->center : NULL, .fill = s->fill};
      break;
    case K_AFFINE: st = draw_affine(s, h, w, gen, &op); break;
    case K_PERSPECTIVE: st = draw_perspective(s, h, w, gen, &op); break;
    default: st = draw_elastic(s, h, w, gen, &op, &disp); break;
  }
  if (!st) st = tv__geo_apply(fn, &op, in, out);
  tc_tensor_release(disp);
  return st;
}

/* ---- apply / describe ---------------------------------------------------------------------------------------- */
static bool is_random_apply(kind k) {
  return k == K_RGRAY || k == K_INVERT || k == K_POSTERIZE || k == K_SOLARIZE || k == K_SHARP || k == K_AUTOCONTRAST ||
         k == K_EQUALIZE || k == K_PERSPECTIVE;
}

static tc_tensor *apply_kind(const aug_state *s, const tc_tensor *img, tc_generator *gen) {
  double v;
  switch (s->k) {
    case K_JITTER:
      return apply_jitter(s, img, gen);
    case K_GRAY:
      return tv_rgb_to_grayscale(img, s->ks[0]);
    case K_RGRAY:
      return tv_rgb_to_grayscale(img, tc_tensor_size(img, -3));
    case K_INVERT:
      return tv_invert(img);
    case K_POSTERIZE:
      return tv_posterize(img, (int64_t)s->x);
    case K_SOLARIZE:
      return tv_solarize(img, s->x);
    case K_SHARP:
      return tv_adjust_sharpness(img, s->x);
    case K_AUTOCONTRAST:
      return tv_autocontrast(img);
    case K_EQUALIZE:
      return tv_equalize(img);
    case K_BLUR:
      if (aug_draw_uniform(gen, s->range[0][0], s->range[0][1], &v)) return NULL;
      return tv_gaussian_blur(img, s->ks[0], s->ks[1], v, v);
    default: /* the geometric kinds: apply_geometric */
      break;
  }
  tc_set_error(TC_ERR_ARG, "a geometric augmentation has no single-image function (apply_geometric)");
  return NULL;
}

static tc_status aug_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const aug_state *s = tr_transform_state(self);
  const char *fn = kind_names[s->k];
  const tc_tensor *img = NULL;
  int64_t h = 0, w = 0;
  tc_status st = is_geometric(s->k) && in->kind != TR_TENSOR ? tv__value_size(fn, in, &h, &w)
                                                             : aug_value_tensor(fn, in, &img);
  if (st) return st;
  if (img && tc_tensor_ndim(img) < 3)
    return tc_set_error(TC_ERR_SHAPE, "%s: expected an image (..., C, H, W), got %lld dims", fn,
                        (long long)tc_tensor_ndim(img));
  if (img) h = tc_tensor_size(img, -2), w = tc_tensor_size(img, -1);
  if (s->k != K_GRAY && (st = tv__need_gen(fn, gen))) return st;
  if (is_random_apply(s->k)) {
    double u;
    if ((st = aug_draw_rand(gen, &u))) return st;
    if (u >= s->p) return tr_value_copy(out, in);
  }
  if (is_geometric(s->k)) return apply_geometric(s, fn, in, out, gen, h, w);
  return aug_set_out(out, apply_kind(s, img, gen));
}

/* A fill as torchvision prints it: 0 when none was given, the value, or the per-channel list. */
static void fill_text(const tv_fill *f, char *buf, size_t n) {
  if (f->n <= 1) {
    snprintf(buf, n, "%g", f->n ? f->v[0] : 0.0);
    return;
  }
  size_t used = (size_t)snprintf(buf, n, "[");
  for (int64_t i = 0; i < f->n && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? ", %g" : "%g", f->v[i]);
  if (used < n) snprintf(buf + used, n - used, "]");
}

/* "(a, b)" / "[a, b]" or None */
static void pair_text(bool has, const double *v, const char *open, const char *close, char *buf, size_t n) {
  if (has) snprintf(buf, n, "%s%g, %g%s", open, v[0], v[1], close);
  else snprintf(buf, n, "None");
}

static char *aug_describe(const tr_transform *self) {
  const aug_state *s = tr_transform_state(self);
  const char *name = kind_names[s->k];
  switch (s->k) {
    case K_JITTER: {
      char parts[4][64];
      const char *names[4] = {"brightness", "contrast", "saturation", "hue"};
      for (int i = 0; i < 4; i++)
        if (s->on[i])
          snprintf(parts[i], sizeof parts[i], "%s=(%g, %g)", names[i], s->range[i][0], s->range[i][1]);
        else
          snprintf(parts[i], sizeof parts[i], "%s=None", names[i]);
      return tv__printf("ColorJitter(%s, %s, %s, %s)", parts[0], parts[1], parts[2], parts[3]);
    }
    case K_GRAY:
      return tv__printf("Grayscale(num_output_channels=%lld)", (long long)s->ks[0]);
    case K_POSTERIZE:
      return tv__printf("RandomPosterize(p=%g, bits=%d)", s->p, (int)s->x);
    case K_SOLARIZE:
      return tv__printf("RandomSolarize(p=%g, threshold=%g)", s->p, s->x);
    case K_SHARP:
      return tv__printf("RandomAdjustSharpness(p=%g, sharpness_factor=%g)", s->p, s->x);
    case K_BLUR:
      return tv__printf("GaussianBlur(kernel_size=(%lld, %lld), sigma=[%g, %g])", (long long)s->ks[0],
                        (long long)s->ks[1], s->range[0][0], s->range[0][1]);
    case K_ROTATION: {
      char fill[160], center[64];
      fill_text(&s->fill, fill, sizeof fill);
      pair_text(s->has_center, s->center, "[", "]", center, sizeof center);
      return tv__printf("RandomRotation(degrees=[%g, %g], interpolation=%s, expand=%s, center=%s, fill=%s)",
                        s->range[0][0], s->range[0][1], tv__interp_name(s->interp), s->expand ? "True" : "False",
                        center, fill);
    }
    case K_AFFINE: {
      char fill[160], center[64], translate[64], scale[64], shear[128];
      fill_text(&s->fill, fill, sizeof fill);
      pair_text(s->has_center, s->center, "[", "]", center, sizeof center);
      pair_text(s->has_translate, s->translate, "(", ")", translate, sizeof translate);
      pair_text(s->has_scale, s->scale, "(", ")", scale, sizeof scale);
      if (s->nshear == 4)
        snprintf(shear, sizeof shear, "[%g, %g, %g, %g]", s->shear[0], s->shear[1], s->shear[2], s->shear[3]);
      else
        pair_text(s->nshear >= 2, s->shear, "[", "]", shear, sizeof shear);
      return tv__printf("RandomAffine(degrees=[%g, %g], translate=%s, scale=%s, shear=%s, interpolation=%s, fill=%s, "
                        "center=%s)",
                        s->range[0][0], s->range[0][1], translate, scale, shear, tv__interp_name(s->interp), fill,
                        center);
    }
    case K_PERSPECTIVE: {
      char fill[160];
      fill_text(&s->fill, fill, sizeof fill);
      return tv__printf("RandomPerspective(p=%g, distortion_scale=%g, interpolation=%s, fill=%s)", s->p, s->x,
                        tv__interp_name(s->interp), fill);
    }
    case K_ELASTIC: {
      char fill[160];
      fill_text(&s->fill, fill, sizeof fill);
      return tv__printf("ElasticTransform(alpha=[%g, %g], sigma=[%g, %g], interpolation=%s, fill=%s)", s->alpha[0],
                        s->alpha[1], s->sigma[0], s->sigma[1], tv__interp_name(s->interp), fill);
    }
    default:
      return tv__printf("%s(p=%g)", name, s->p);
  }
}

static void aug_destroy(void *st) { tc_free(st); }

/* per-kind vtables so tr_name reports the class name */
#define VT(K, NAME) [K] = {NAME, aug_apply, aug_describe, aug_destroy, false}
#define VT_JOINT(K, NAME) [K] = {NAME, aug_apply, aug_describe, aug_destroy, true} /* moves boxes and masks */
static const tr_transform_vtable kind_vt[] = {VT(K_JITTER, "ColorJitter"),
                                              VT(K_GRAY, "Grayscale"),
                                              VT(K_RGRAY, "RandomGrayscale"),
                                              VT(K_INVERT, "RandomInvert"),
                                              VT(K_POSTERIZE, "RandomPosterize"),
                                              VT(K_SOLARIZE, "RandomSolarize"),
                                              VT(K_SHARP, "RandomAdjustSharpness"),
                                              VT(K_AUTOCONTRAST, "RandomAutocontrast"),
                                              VT(K_EQUALIZE, "RandomEqualize"),
                                              VT(K_BLUR, "GaussianBlur"),
                                              VT_JOINT(K_ROTATION, "RandomRotation"),
                                              VT_JOINT(K_AFFINE, "RandomAffine"),
                                              VT_JOINT(K_PERSPECTIVE, "RandomPerspective"),
                                              VT_JOINT(K_ELASTIC, "ElasticTransform")};

static tr_transform *make(const aug_state *init) {
  aug_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = *init;
  return tr_transform_create(&kind_vt[s->k], s);
}

static bool bad_p(const char *fn, double p) {
  if (p >= 0.0 && p <= 1.0) return false;
  tc_set_error(TC_ERR_ARG, "%s: p should be a probability in [0, 1], got %g", fn, p);
  return true;
}

static bool bad_interp_fill(const char *fn, tv_interp interp, const tv_fill *fill) {
  if (interp != TV_INTERP_NEAREST && interp != TV_INTERP_BILINEAR) {
    tc_set_error(TC_ERR_ARG, "%s: interpolation must be nearest or bilinear, got %d", fn, (int)interp);
    return true;
  }
  if (fill->n < 0 || fill->n > TV_FILL_MAX) {
    tc_set_error(TC_ERR_ARG, "%s: fill has %lld values (at most %d)", fn, (long long)fill->n, TV_FILL_MAX);
    return true;
  }
  return false;
}

/* ---- constructors: color ------------------------------------------------------------------------------------ */
tr_transform *tv_color_jitter_ranges_transform(const double brightness[2], const double contrast[2],
                                               const double saturation[2], const double hue[2]) {
  const char *fn = "tv_color_jitter_transform";
  aug_state s = {.k = K_JITTER};
  const double *r[4] = {brightness, contrast, saturation, hue};
  const char *names[4] = {"brightness", "contrast", "saturation", "hue"};
  for (int i = 0; i < 4; i++) {
    if (!r[i]) continue;
    double lo = i == 3 ? -0.5 : 0.0, hi = i == 3 ? 0.5 : INFINITY, center = i == 3 ? 0.0 : 1.0;
    if (!(lo <= r[i][0] && r[i][0] <= r[i][1] && r[i][1] <= hi)) {
      tc_set_error(TC_ERR_ARG, "%s: %s values should be between (%g, %g) and increasing, but got [%g, %g]", fn,
                   names[i], lo, hi, r[i][0], r[i][1]);
      return NULL;
    }
    s.on[i] = !(r[i][0] == center && r[i][1] == center);
    s.range[i][0] = r[i][0], s.range[i][1] = r[i][1];
  }
  return make(&s);
}

tr_transform *tv_color_jitter_transform(double brightness, double contrast, double saturation, double hue) {
  double v[4] = {brightness, contrast, saturation, hue}, rg[4][2];
  for (int i = 0; i < 4; i++) {
    if (v[i] < 0) {
      tc_set_error(TC_ERR_ARG, "tv_color_jitter_transform: a single number must be non negative, got %g", v[i]);
      return NULL;
    }
    double c = i == 3 ? 0.0 : 1.0;
    rg[i][0] = c - v[i], rg[i][1] = c + v[i];
    if (i < 3 && rg[i][0] < 0) rg[i][0] = 0.0; /* clip_first_on_zero */
  }
  return tv_color_jitter_ranges_transform(brightness > 0 ? rg[0] : NULL, contrast > 0 ? rg[1] : NULL,
                                          saturation > 0 ? rg[2] : NULL, hue > 0 ? rg[3] : NULL);
}

tr_transform *tv_grayscale_transform(int64_t num_output_channels) {
  if (num_output_channels != 1 && num_output_channels != 3) {
    tc_set_error(TC_ERR_ARG, "tv_grayscale_transform: num_output_channels must be 1 or 3, got %lld",
                 (long long)num_output_channels);
    return NULL;
  }
  return make(&(aug_state){.k = K_GRAY, .ks = {num_output_channels, 0}});
}

static tr_transform *make_p(const char *fn, kind k, double p, double x) {
  if (bad_p(fn, p)) return NULL;
  return make(&(aug_state){.k = k, .p = p, .x = x});
}

tr_transform *tv_random_grayscale_transform(double p) { return make_p("tv_random_grayscale_transform", K_RGRAY, p, 0); }
tr_transform *tv_random_invert_transform(double p) { return make_p("tv_random_invert_transform", K_INVERT, p, 0); }
tr_transform *tv_random_autocontrast_transform(double p) {
  return make_p("tv_random_autocontrast_transform", K_AUTOCONTRAST, p, 0);
}
tr_transform *tv_random_equalize_transform(double p) {
  return make_p("tv_random_equalize_transform", K_EQUALIZE, p, 0);
}

tr_transform *tv_random_posterize_transform(int64_t bits, double p) {
  if (bits < 0 || bits > 8) {
    tc_set_error(TC_ERR_ARG, "tv_random_posterize_transform: bits must be in [0, 8], got %lld", (long long)bits);
    return NULL;
  }
  return make_p("tv_random_posterize_transform", K_POSTERIZE, p, (double)bits);
}

tr_transform *tv_random_solarize_transform(double threshold, double p) {
  return make_p("tv_random_solarize_transform", K_SOLARIZE, p, threshold);
}

tr_transform *tv_random_adjust_sharpness_transform(double sharpness_factor, double p) {
  if (sharpness_factor < 0) {
    tc_set_error(TC_ERR_ARG, "tv_random_adjust_sharpness_transform: sharpness_factor (%g) is negative",
                 sharpness_factor);
    return NULL;
  }
  return make_p("tv_random_adjust_sharpness_transform", K_SHARP, p, sharpness_factor);
}

tr_transform *tv_gaussian_blur_transform(int64_t kernel_x, int64_t kernel_y, double sigma_min, double sigma_max) {
  const char *fn = "tv_gaussian_blur_transform";
  if (kernel_x <= 0 || kernel_y <= 0 || kernel_x % 2 == 0 || kernel_y % 2 == 0) {
    tc_set_error(TC_ERR_ARG, "%s: kernel sizes must be odd and positive, got [%lld, %lld]", fn, (long long)kernel_x,
                 (long long)kernel_y);
    return NULL;
  }
  if (!(sigma_min > 0 && sigma_min <= sigma_max)) {
    tc_set_error(TC_ERR_ARG, "%s: sigma values should be positive and of the form (min, max), got (%g, %g)", fn,
                 sigma_min, sigma_max);
    return NULL;
  }
  return make(&(aug_state){.k = K_BLUR, .ks = {kernel_x, kernel_y}, .range = {{sigma_min, sigma_max}}});
}

/* ---- constructors: geometry --------------------------------------------------------------------------------- */
static bool bad_degrees(const char *fn, double lo, double hi) {
  if (lo <= hi) return false;
  tc_set_error(TC_ERR_ARG, "%s: degrees should be [min, max] with min <= max, got [%g, %g]", fn, lo, hi);
  return true;
}

tr_transform *tv_random_rotation_transform(double degrees_min, double degrees_max, tv_interp interp, bool expand,
                                           const double *center, tv_fill fill) {
  const char *fn = "tv_random_rotation_transform";
  if (bad_degrees(fn, degrees_min, degrees_max) || bad_interp_fill(fn, interp, &fill)) return NULL;
  aug_state s = {.k = K_ROTATION,
                 .range = {{degrees_min, degrees_max}},
                 .interp = interp,
                 .fill = fill,
                 .expand = expand,
                 .has_center = center != NULL};
  if (center) s.center[0] = center[0], s.center[1] = center[1];
  return make(&s);
}

tr_transform *tv_random_affine_transform(double degrees_min, double degrees_max, const double *translate,
                                         const double *scale, const double *shear, int64_t nshear, tv_interp interp,
                                         tv_fill fill, const double *center) {
  const char *fn = "tv_random_affine_transform";
  if (bad_degrees(fn, degrees_min, degrees_max) || bad_interp_fill(fn, interp, &fill)) return NULL;
  aug_state s = {.k = K_AFFINE, .range = {{degrees_min, degrees_max}}, .interp = interp, .fill = fill};
  if (translate) {
    if (!(translate[0] >= 0 && translate[0] <= 1 && translate[1] >= 0 && translate[1] <= 1)) {
      tc_set_error(TC_ERR_ARG, "%s: translation values should be between 0 and 1, got [%g, %g]", fn, translate[0],
                   translate[1]);
      return NULL;
    }
    s.has_translate = true, s.translate[0] = translate[0], s.translate[1] = translate[1];
  }
  if (scale) {
    if (!(scale[0] > 0 && scale[1] > 0)) {
      tc_set_error(TC_ERR_ARG, "%s: scale values should be positive, got [%g, %g]", fn, scale[0], scale[1]);
      return NULL;
    }
    s.has_scale = true, s.scale[0] = scale[0], s.scale[1] = scale[1];
  }
  if (shear) {
    if (nshear != 2 && nshear != 4) {
      tc_set_error(TC_ERR_ARG, "%s: shear needs 2 or 4 values, got %lld", fn, (long long)nshear);
      return NULL;
    }
    s.nshear = nshear;
    memcpy(s.shear, shear, sizeof(double) * (size_t)nshear);
  }
  if (center) s.has_center = true, s.center[0] = center[0], s.center[1] = center[1];
  return make(&s);
}

tr_transform *tv_random_perspective_transform(double distortion_scale, double p, tv_interp interp, tv_fill fill) {
  const char *fn = "tv_random_perspective_transform";
  if (bad_p(fn, p) || bad_interp_fill(fn, interp, &fill)) return NULL;
  if (!(distortion_scale >= 0 && distortion_scale <= 1)) {
    tc_set_error(TC_ERR_ARG, "%s: distortion_scale should be between 0 and 1, got %g", fn, distortion_scale);
    return NULL;
  }
  return make(&(aug_state){.k = K_PERSPECTIVE, .p = p, .x = distortion_scale, .interp = interp, .fill = fill});
}

tr_transform *tv_elastic_transform(double alpha_x, double alpha_y, double sigma_x, double sigma_y, tv_interp interp,
                                   tv_fill fill) {
  const char *fn = "tv_elastic_transform";
  if (bad_interp_fill(fn, interp, &fill)) return NULL;
  if (!(sigma_x >= 0 && sigma_y >= 0)) {
    tc_set_error(TC_ERR_ARG, "%s: sigma must be non-negative, got (%g, %g)", fn, sigma_x, sigma_y);
    return NULL;
  }
  return make(&(aug_state){
      .k = K_ELASTIC, .alpha = {alpha_x, alpha_y}, .sigma = {sigma_x, sigma_y}, .interp = interp, .fill = fill});
}
