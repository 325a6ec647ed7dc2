/* libctorch_vision augmentations against torchvision.transforms.v2 (fixtures from
 * tests/fixtures/gen/gen_vision_augment.py, listed in tests/fixtures/vision_augment/cases.txt):
 * every functional op on uint8 and float32, single and batched images; the random transforms,
 * policies and MixUp/CutMix with seeded generators (parameters must match torchvision's draws);
 * error paths, descriptions, allocation failures and the collate hook.
 *
 * Tolerances: uint8 within 1, float32 within 1e-5 (geometric ops: see GEOM_* below). The per-op
 * maximum differences are printed to stderr (the numbers quoted in the documentation). */
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision_augment"
#define MAX_ARGS 24

typedef struct {
  char kind, name[96], input[32], op[32], extra[32];
  double args[MAX_ARGS];
  int nargs;
  long seed;
} fx_case;

/* Reads cases.txt (once) into a static list. */
static fx_case cases[512];
static int ncases = -1;

static void load_cases(void) {
  if (ncases >= 0) return;
  char path[512], line[1024];
  snprintf(path, sizeof path, "%s/%s/cases.txt", CTORCH_FIXTURES_DIR, FAM);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "missing %s", path);
  ncases = 0;
  while (fgets(line, sizeof line, f) && ncases < 512) {
    fx_case *c = &cases[ncases];
    memset(c, 0, sizeof *c);
    char *tok = strtok(line, " \n");
    if (!tok) continue;
    c->kind = tok[0];
    snprintf(c->name, sizeof c->name, "%s", strtok(NULL, " \n"));
    snprintf(c->input, sizeof c->input, "%s", strtok(NULL, " \n"));
    snprintf(c->op, sizeof c->op, "%s", strtok(NULL, " \n"));
    if (c->kind == 'M') snprintf(c->extra, sizeof c->extra, "%s", strtok(NULL, " \n"));
    while ((tok = strtok(NULL, " \n")) && c->nargs < MAX_ARGS) c->args[c->nargs++] = atof(tok);
    if (c->kind != 'F') c->seed = (long)c->args[0];
    ncases++;
  }
  fclose(f);
}

/* max |a - e| over all elements (shapes must match); *over counts elements above tol */
static double max_diff(const tc_tensor *a, const tc_tensor *e, double tol, int64_t *over, const char *what) {
  ck_assert_msg(a != NULL, "%s: %s", what, tc_last_error());
  ck_assert_msg(tc_tensor_ndim(a) == tc_tensor_ndim(e), "%s: ndim %lld vs %lld", what, (long long)tc_tensor_ndim(a),
                (long long)tc_tensor_ndim(e));
  for (int64_t d = 0; d < tc_tensor_ndim(a); d++)
    ck_assert_msg(tc_tensor_size(a, d) == tc_tensor_size(e, d), "%s: dim %lld is %lld, expected %lld", what,
                  (long long)d, (long long)tc_tensor_size(a, d), (long long)tc_tensor_size(e, d));
  ck_assert_msg(tc_tensor_dtype(a) == tc_tensor_dtype(e), "%s: dtype %s, expected %s", what,
                tc_dtype_name(tc_tensor_dtype(a)), tc_dtype_name(tc_tensor_dtype(e)));
  tc_tensor *xd = tc_to_dtype(a, TC_F64), *yd = tc_to_dtype(e, TC_F64);
  tc_tensor *x = tc_contiguous(xd), *y = tc_contiguous(yd);
  tc_tensor_release(xd);
  tc_tensor_release(yd);
  const double *px = tc_tensor_data(x), *py = tc_tensor_data(y);
  double m = 0;
  *over = 0;
  for (int64_t i = 0; i < tc_tensor_numel(x); i++) {
    double d = fabs(px[i] - py[i]);
    if (d > m) m = d;
    if (d > tol) (*over)++;
  }
  tc_tensor_release(x);
  tc_tensor_release(y);
  return m;
}

/* x[i] = v (a view filled, then released) */
static void fill_sample(tc_tensor *x, int64_t i, double v) {
  tc_tensor *row = tc_select(x, 0, i);
  ck_assert_int_eq(tc_fill_inplace(row, v), TC_OK);
  tc_tensor_release(row);
}

static tv_interp interp_of(double v) { return (int)v == 0 ? TV_INTERP_NEAREST : TV_INTERP_BILINEAR; }
static tv_fill fill_of(double v) { return v < 0 ? TV_FILL_NONE : TV_FILL(v); }

static tc_tensor *run_functional(const fx_case *c, const tc_tensor *x) {
  const double *a = c->args;
  const char *op = c->op;
  if (!strcmp(op, "brightness")) return tv_adjust_brightness(x, a[0]);
  if (!strcmp(op, "contrast")) return tv_adjust_contrast(x, a[0]);
  if (!strcmp(op, "saturation")) return tv_adjust_saturation(x, a[0]);
  if (!strcmp(op, "hue")) return tv_adjust_hue(x, a[0]);
  if (!strcmp(op, "sharpness")) return tv_adjust_sharpness(x, a[0]);
  if (!strcmp(op, "grayscale")) return tv_rgb_to_grayscale(x, (int64_t)a[0]);
  if (!strcmp(op, "invert")) return tv_invert(x);
  if (!strcmp(op, "posterize")) return tv_posterize(x, (int64_t)a[0]);
  if (!strcmp(op, "solarize")) return tv_solarize(x, a[0]);
  if (!strcmp(op, "autocontrast")) return tv_autocontrast(x);
  if (!strcmp(op, "equalize")) return tv_equalize(x);
  if (!strcmp(op, "blur")) return tv_gaussian_blur(x, (int64_t)a[0], (int64_t)a[1], a[2], a[3]);
  if (!strcmp(op, "affine"))
    return tv_affine(x, a[0], a[1], a[2], a[3], a[4], a[5], interp_of(a[6]), fill_of(a[7]),
                     c->nargs > 8 ? a + 8 : NULL);
  if (!strcmp(op, "rotate"))
    return tv_rotate(x, a[0], interp_of(a[1]), a[2] != 0, c->nargs > 4 ? a + 4 : NULL, fill_of(a[3]));
  if (!strcmp(op, "perspective")) {
    double coeffs[8];
    if (tv_perspective_coeffs(a, a + 8, coeffs)) return NULL;
    return tv_perspective(x, coeffs, interp_of(a[16]), fill_of(a[17]));
  }
  ck_abort_msg("unknown op %s", op);
  return NULL;
}

static bool is_geometric(const char *op) {
  return !strcmp(op, "affine") || !strcmp(op, "rotate") || !strcmp(op, "perspective") || !strncmp(op, "random_r", 8) ||
         !strcmp(op, "random_affine") || !strcmp(op, "random_perspective") || !strcmp(op, "elastic");
}

/* per-op summary of the worst difference seen */
typedef struct {
  char op[32];
  double u8, f32;
  int64_t over;
} op_stat;
static op_stat stats[64];
static int nstats;

static void record(const char *op, bool u8, double d, int64_t over) {
  int i = 0;
  while (i < nstats && strcmp(stats[i].op, op)) i++;
  if (i == nstats) {
    if (nstats == 64) return;
    memset(&stats[nstats], 0, sizeof stats[0]);
    snprintf(stats[nstats++].op, sizeof stats[0].op, "%s", op);
  }
  if (u8 && d > stats[i].u8) stats[i].u8 = d;
  if (!u8 && d > stats[i].f32) stats[i].f32 = d;
  stats[i].over += over;
}

static void print_stats(const char *title) {
  fprintf(stderr, "%s: max |ctorch - torchvision| per op (uint8 / float32; elements over tolerance)\n", title);
  for (int i = 0; i < nstats; i++)
    fprintf(stderr, "  %-22s %6.3g / %-10.3g %lld\n", stats[i].op, stats[i].u8, stats[i].f32, (long long)stats[i].over);
  nstats = 0;
}

/* Geometric ops: torchvision computes sample positions with float32 matrix products whose rounding we
 * follow closely but not bit for bit; a position landing on a pixel boundary can then pick the other
 * neighbour (nearest) — allow that for a few elements. */
#define GEOM_MAX_OVER_FRACTION 0.01

static void check_case(const fx_case *c, const tc_tensor *got, const tc_tensor *want) {
  bool u8 = tc_tensor_dtype(want) == TC_U8;
  double tol = u8 ? 1.0 : 1e-5;
  int64_t over;
  double d = max_diff(got, want, tol, &over, c->name);
  record(c->op, u8, d, over);
  if (is_geometric(c->op))
    ck_assert_msg((double)over <= GEOM_MAX_OVER_FRACTION * (double)tc_tensor_numel(want) + 1,
                  "%s: %lld of %lld "
                  "elements differ by more than %g (max %g)",
                  c->name, (long long)over, (long long)tc_tensor_numel(want), tol, d);
  else
    ck_assert_msg(over == 0, "%s: %lld elements differ by more than %g (max %g)", c->name, (long long)over, tol, d);
}

START_TEST(test_functional) {
  load_cases();
  int n = 0;
  for (int i = 0; i < ncases; i++) {
    const fx_case *c = &cases[i];
    if (c->kind != 'F') continue;
    char in[64];
    snprintf(in, sizeof in, "in_%s", c->input);
    tc_tensor *x = fx_load(FAM, in), *want = fx_load(FAM, c->name);
    tc_tensor *got = run_functional(c, x);
    check_case(c, got, want);
    tc_tensor_release(x);
    tc_tensor_release(want);
    tc_tensor_release(got);
    n++;
  }
  ck_assert_int_gt(n, 100);
  print_stats("functional");
}
END_TEST

/* The transform the generator script registered under `name` (same parameters). */
static tr_transform *make_transform(const char *name) {
  if (!strcmp(name, "color_jitter")) return tv_color_jitter_transform(0.4, 0.4, 0.4, 0.1);
  if (!strcmp(name, "color_jitter_ranges"))
    return tv_color_jitter_ranges_transform((double[]){0.5, 0.9}, NULL, NULL, (double[]){-0.3, 0.1});
  if (!strcmp(name, "random_grayscale")) return tv_random_grayscale_transform(0.5);
  if (!strcmp(name, "random_invert")) return tv_random_invert_transform(0.5);
  if (!strcmp(name, "random_posterize")) return tv_random_posterize_transform(3, 0.5);
  if (!strcmp(name, "random_solarize_u8")) return tv_random_solarize_transform(100, 0.5);
  if (!strcmp(name, "random_solarize_f32")) return tv_random_solarize_transform(0.4, 0.5);
  if (!strcmp(name, "random_sharpness")) return tv_random_adjust_sharpness_transform(2.5, 0.5);
  if (!strcmp(name, "random_autocontrast")) return tv_random_autocontrast_transform(0.5);
  if (!strcmp(name, "random_equalize")) return tv_random_equalize_transform(0.5);
  if (!strcmp(name, "gaussian_blur")) return tv_gaussian_blur_transform(5, 5, 0.1, 2.0);
  if (!strcmp(name, "random_rotation"))
    return tv_random_rotation_transform(-30, 30, TV_INTERP_BILINEAR, false, NULL, TV_FILL(0));
  if (!strcmp(name, "random_affine"))
    return tv_random_affine_transform(-20, 20, (double[]){0.1, 0.2}, (double[]){0.8, 1.2}, (double[]){-10, 10, -5, 5},
                                      4, TV_INTERP_NEAREST, TV_FILL(0), NULL);
  if (!strcmp(name, "random_perspective"))
    return tv_random_perspective_transform(0.5, 1.0, TV_INTERP_BILINEAR, TV_FILL(0));
  if (!strcmp(name, "elastic")) return tv_elastic_transform(20, 20, 2, 2, TV_INTERP_BILINEAR, TV_FILL(0));
  if (!strcmp(name, "auto_augment"))
    return tv_auto_augment_transform(TV_AUTOAUGMENT_IMAGENET, TV_INTERP_NEAREST, TV_FILL_NONE);
  if (!strcmp(name, "rand_augment")) return tv_rand_augment_transform(2, 9, 31, TV_INTERP_NEAREST, TV_FILL_NONE);
  if (!strcmp(name, "trivial_augment")) return tv_trivial_augment_wide_transform(31, TV_INTERP_NEAREST, TV_FILL_NONE);
  if (!strcmp(name, "augmix")) return tv_augmix_transform(3, 3, -1, 1.0, true, TV_INTERP_BILINEAR, TV_FILL_NONE);
  ck_abort_msg("unknown transform %s", name);
  return NULL;
}

START_TEST(test_random_transforms) {
  load_cases();
  int n = 0;
  tc_generator *g = tc_generator_create(0);
  for (int i = 0; i < ncases; i++) {
    const fx_case *c = &cases[i];
    if (c->kind != 'R') continue;
    char in[64];
    snprintf(in, sizeof in, "in_%s", c->input);
    tc_tensor *x = fx_load(FAM, in), *want = fx_load(FAM, c->name);
    tr_transform *t = make_transform(c->op);
    ck_assert_msg(t != NULL, "%s: %s", c->op, tc_last_error());
    tc_generator_manual_seed(g, (uint64_t)c->seed);
    tr_value out = {0};
    tc_status st = tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, g);
    ck_assert_msg(st == TC_OK, "%s: %s", c->name, tc_last_error());
    check_case(c, out.tensor, want);
    tr_value_clear(&out);
    tr_destroy(t);
    tc_tensor_release(x);
    tc_tensor_release(want);
    n++;
  }
  tc_generator_destroy(g);
  ck_assert_int_gt(n, 50);
  print_stats("random transforms (same seed as torch.manual_seed)");
}
END_TEST

START_TEST(test_mixup_cutmix) {
  load_cases();
  tc_generator *g = tc_generator_create(0);
  int n = 0;
  for (int i = 0; i < ncases; i++) {
    const fx_case *c = &cases[i];
    if (c->kind != 'M') continue;
    LEAK_BEGIN;
    tc_tensor *img = fx_load(FAM, c->input), *lab = fx_load(FAM, c->op);
    char nm[128];
    snprintf(nm, sizeof nm, "%s_images", c->name);
    tc_tensor *wi = fx_load(FAM, nm);
    snprintf(nm, sizeof nm, "%s_labels", c->name);
    tc_tensor *wl = fx_load(FAM, nm);
    tc_generator_manual_seed(g, (uint64_t)c->seed);
    tc_status st = !strcmp(c->extra, "mixup") ? tv_mixup(&img, &lab, 10, 1.0, g) : tv_cutmix(&img, &lab, 10, 1.0, g);
    ck_assert_msg(st == TC_OK, "%s: %s", c->name, tc_last_error());
    assert_close(img, wi, 0, 1e-6, c->name);
    assert_close(lab, wl, 0, 1e-6, c->name);
    tc_tensor_release(img);
    tc_tensor_release(lab);
    tc_tensor_release(wi);
    tc_tensor_release(wl);
    LEAK_END;
    n++;
  }
  ck_assert_int_eq(n, 8);
  /* the Beta draws themselves: equal to torch.distributions.Beta(1, 1).sample() for seeds 0..19 */
  tc_tensor *lams = fx_load(FAM, "beta_lams");
  const float *want = tc_tensor_data(lams);
  for (int s = 0; s < 20; s++) {
    tc_generator_manual_seed(g, (uint64_t)s);
    tc_tensor *img = tc_zeros(SHAPE(2, 1, 2, 2), 4, NULL), *lab = T_I64(SHAPE(2), 1, 0, 1);
    fill_sample(img, 0, 1.0); /* sample 0 all ones: its mixed value is lam */
    ck_assert_int_eq(tv_mixup(&img, &lab, 2, 1.0, g), TC_OK);
    const float lam = ((const float *)tc_tensor_data(img))[0];
    ck_assert_msg(fabsf(lam - want[s]) < 1e-6f, "seed %d: lam %g, torch %g", s, (double)lam, (double)want[s]);
    tc_tensor_release(img);
    tc_tensor_release(lab);
  }
  tc_tensor_release(lams);
  tc_generator_destroy(g);
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_tensor *img = tc_zeros(SHAPE(3, 4, 5), 3, TC_OPTS(.dtype = TC_U8));
  tc_tensor *i32 = tc_zeros(SHAPE(3, 4, 5), 3, TC_OPTS(.dtype = TC_I32));
  tc_tensor *c4 = tc_zeros(SHAPE(4, 4, 5), 3, TC_OPTS(.dtype = TC_U8));
  tc_tensor *flat = tc_zeros(SHAPE(4, 5), 2, TC_OPTS(.dtype = TC_U8));
  ck_assert_ptr_null(tv_adjust_brightness(img, -1));
  assert_error(TC_ERR_ARG, "brightness_factor (-1) is not non-negative");
  ck_assert_ptr_null(tv_adjust_hue(img, 0.7));
  assert_error(TC_ERR_ARG, "not in [-0.5, 0.5]");
  ck_assert_ptr_null(tv_adjust_contrast(i32, 1.0));
  assert_error(TC_ERR_DTYPE, "uint8 or float32, got int32");
  ck_assert_ptr_null(tv_adjust_saturation(c4, 1.0));
  assert_error(TC_ERR_SHAPE, "1 or 3 channels, got 4");
  ck_assert_ptr_null(tv_invert(flat));
  assert_error(TC_ERR_SHAPE, "got 2 dims");
  ck_assert_ptr_null(tv_posterize(img, 9));
  assert_error(TC_ERR_ARG, "bits must be in [0, 8]");
  ck_assert_ptr_null(tv_solarize(img, 300));
  assert_error(TC_ERR_ARG, "threshold (300) exceeds");
  ck_assert_ptr_null(tv_gaussian_blur(img, 4, 3, 1, 1));
  assert_error(TC_ERR_ARG, "odd and positive");
  ck_assert_ptr_null(tv_gaussian_blur(img, 11, 3, 1, 1));
  assert_error(TC_ERR_SHAPE, "reflect padding");
  ck_assert_ptr_null(tv_rgb_to_grayscale(img, 2));
  assert_error(TC_ERR_ARG, "num_output_channels must be 1 or 3");
  ck_assert_ptr_null(tv_affine(img, 0, 0, 0, 0, 0, 0, TV_INTERP_NEAREST, TV_FILL_NONE, NULL));
  assert_error(TC_ERR_ARG, "scale should be positive");
  ck_assert_ptr_null(tv_rotate(img, 10, TV_INTERP_BICUBIC, false, NULL, TV_FILL_NONE));
  assert_error(TC_ERR_ARG, "nearest or bilinear");
  ck_assert_ptr_null(tv_rotate(img, 10, TV_INTERP_NEAREST, false, NULL, (tv_fill){2, {1, 2}}));
  assert_error(TC_ERR_ARG, "fill has 2 values, the image 3 channels");
  double c[8];
  ck_assert_int_eq(tv_perspective_coeffs((double[]){0, 0, 1, 1, 2, 2, 3, 3}, (double[]){0, 0, 1, 1, 2, 2, 3, 3}, c),
                   TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "degenerate");
  tc_tensor *bad_disp = tc_zeros(SHAPE(1, 4, 4, 2), 4, NULL);
  ck_assert_ptr_null(tv_elastic(img, bad_disp, TV_INTERP_BILINEAR, TV_FILL_NONE));
  assert_error(TC_ERR_SHAPE, "displacement must be (1, 4, 5, 2)");
  /* a NULL input keeps the first message of a chain */
  ck_assert_ptr_null(tv_invert(tv_adjust_brightness(img, -2)));
  assert_error(TC_ERR_ARG, "brightness_factor (-2)");
  /* constructors */
  ck_assert_ptr_null(tv_random_invert_transform(1.5));
  assert_error(TC_ERR_ARG, "p should be a probability");
  ck_assert_ptr_null(tv_color_jitter_transform(0.1, -1, 0, 0));
  assert_error(TC_ERR_ARG, "must be non negative");
  ck_assert_ptr_null(tv_color_jitter_transform(0, 0, 0, 0.6));
  assert_error(TC_ERR_ARG, "hue values should be between");
  ck_assert_ptr_null(tv_gaussian_blur_transform(3, 3, 2, 1));
  assert_error(TC_ERR_ARG, "sigma values should be positive");
  ck_assert_ptr_null(
      tv_random_affine_transform(0, 10, (double[]){2, 0}, NULL, NULL, 0, TV_INTERP_NEAREST, TV_FILL(0), NULL));
  assert_error(TC_ERR_ARG, "translation values should be between 0 and 1");
  ck_assert_ptr_null(tv_augmix_transform(11, 3, -1, 1, true, TV_INTERP_BILINEAR, TV_FILL_NONE));
  assert_error(TC_ERR_ARG, "severity must be between");
  ck_assert_ptr_null(tv_rand_augment_transform(2, 31, 31, TV_INTERP_NEAREST, TV_FILL_NONE));
  assert_error(TC_ERR_ARG, "magnitude < num_magnitude_bins");
  /* random transforms refuse a NULL generator and non-images */
  tr_transform *t = tv_random_invert_transform(0.5);
  tr_value out;
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = img}, &out, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "needs a generator");
  tc_generator *g = tc_generator_create(1);
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_INT, .i = 3}, &out, g), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "expected an image tensor, got a int value");
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_destroy(t);
  /* mixup / cutmix */
  tc_tensor *imgs = tc_zeros(SHAPE(2, 1, 2, 2), 4, NULL), *labs = T_I64(SHAPE(2), 1, 0, 5), *keep = imgs;
  ck_assert_int_eq(tv_mixup(&imgs, &labs, 5, 1.0, g), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "label 5 of sample 1 is outside [0, 5)");
  ck_assert_ptr_eq(imgs, keep); /* unchanged on failure */
  ck_assert_int_eq(tv_cutmix(&imgs, &labs, 5, 0.0, g), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "alpha must be > 0");
  tc_tensor *u8b = tc_zeros(SHAPE(2, 1, 2, 2), 4, TC_OPTS(.dtype = TC_U8));
  ck_assert_int_eq(tv_mixup(&u8b, &labs, 6, 1.0, g), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "float32 or float64");
  tc_tensor *lab3 = T_I64(SHAPE(3), 1, 0, 1, 2);
  ck_assert_int_eq(tv_mixup(&imgs, &lab3, 6, 1.0, g), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "(2) and labels (3) differ");
  ck_assert_int_eq(tv_mixup(&imgs, &labs, 6, 1.0, NULL), TC_ERR_ARG);
  tc_generator_destroy(g);
  tc_tensor *all[] = {img, i32, c4, flat, bad_disp, imgs, labs, u8b, lab3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) tc_tensor_release(all[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_describe) {
  tr_transform *t = tv_color_jitter_transform(0.4, 0, 0.2, 0.1);
  char *d = tr_describe(t);
  ck_assert_str_eq(d, "ColorJitter(brightness=(0.6, 1.4), contrast=None, saturation=(0.8, 1.2), hue=(-0.1, 0.1))");
  tc_free(d);
  ck_assert_str_eq(tr_name(t), "ColorJitter");
  tr_destroy(t);
  t = tv_rand_augment_transform(2, 9, 31, TV_INTERP_NEAREST, TV_FILL_NONE);
  d = tr_describe(t);
  ck_assert_str_eq(d, "RandAugment(num_ops=2, magnitude=9, num_magnitude_bins=31, interpolation=nearest)");
  tc_free(d);
  tr_destroy(t);
  t = tv_gaussian_blur_transform(3, 5, 0.1, 2);
  d = tr_describe(t);
  ck_assert_str_eq(d, "GaussianBlur(kernel_size=(3, 5), sigma=[0.1, 2])");
  tc_free(d);
  tr_destroy(t);
  t = tv_random_equalize_transform(0.25);
  d = tr_describe(t);
  ck_assert_str_eq(d, "RandomEqualize(p=0.25)");
  tc_free(d);
  tr_destroy(t);
  /* the geometric ones name every parameter, None for those not given */
  static const struct {
    int kind;
    const char *want;
  } geo[] = {
      {0, "RandomRotation(degrees=[-15, 15], interpolation=InterpolationMode.BILINEAR, expand=True, center=[3, 4], fill=0)"},
      {1, "RandomAffine(degrees=[-20, 20], translate=(0.1, 0.2), scale=(0.8, 1.2), shear=[-10, 10, -5, 5], "
          "interpolation=InterpolationMode.NEAREST, fill=[1, 2, 3], center=None)"},
      {2, "RandomAffine(degrees=[0, 0], translate=None, scale=None, shear=[-4, 4], interpolation=InterpolationMode.BILINEAR, fill=7, "
          "center=[1.5, 2])"},
      {3, "RandomPerspective(p=0.75, distortion_scale=0.5, interpolation=InterpolationMode.BILINEAR, fill=0)"},
      {4, "ElasticTransform(alpha=[20, 30], sigma=[2, 3], interpolation=InterpolationMode.NEAREST, fill=0)"},
  };
  static const double center[2] = {3, 4}, center2[2] = {1.5, 2}, tr[2] = {0.1, 0.2}, sc[2] = {0.8, 1.2};
  static const double sh4[4] = {-10, 10, -5, 5}, sh2[2] = {-4, 4};
  for (size_t i = 0; i < sizeof geo / sizeof *geo; i++) {
    tv_fill rgb = {3, {1, 2, 3}};
    t = geo[i].kind == 0   ? tv_random_rotation_transform(-15, 15, TV_INTERP_BILINEAR, true, center, TV_FILL_NONE)
        : geo[i].kind == 1 ? tv_random_affine_transform(-20, 20, tr, sc, sh4, 4, TV_INTERP_NEAREST, rgb, NULL)
        : geo[i].kind == 2 ? tv_random_affine_transform(0, 0, NULL, NULL, sh2, 2, TV_INTERP_BILINEAR, TV_FILL(7),
                                                        center2)
        : geo[i].kind == 3 ? tv_random_perspective_transform(0.5, 0.75, TV_INTERP_BILINEAR, TV_FILL_NONE)
                           : tv_elastic_transform(20, 30, 2, 3, TV_INTERP_NEAREST, TV_FILL_NONE);
    ck_assert_msg(t != NULL, "%s", tc_last_error());
    d = tr_describe(t);
    ck_assert_str_eq(d, geo[i].want);
    tc_free(d);
    tr_destroy(t);
  }
}
END_TEST

/* ---- allocation failures: every failing allocation gives TC_ERR_NOMEM and leaks nothing ---------------- */
static int alloc_ops(void *ctx) {
  const tc_tensor *x = ctx;
  tc_tensor *r[6] = {tv_adjust_hue(x, 0.2),           tv_equalize(x),
                     tv_gaussian_blur(x, 3, 3, 1, 1), tv_rotate(x, 20, TV_INTERP_BILINEAR, true, NULL, TV_FILL(3)),
                     tv_adjust_contrast(x, 0.5),      tv_adjust_sharpness(x, 2)};
  int fail = 0;
  for (int i = 0; i < 6; i++) fail |= r[i] == NULL, tc_tensor_release(r[i]);
  return fail;
}

static int alloc_policy(void *ctx) {
  const tc_tensor *x = ctx;
  tr_transform *t = tv_augmix_transform(3, 2, 2, 1.0, true, TV_INTERP_BILINEAR, TV_FILL_NONE);
  if (!t) return 1;
  tc_generator *g = tc_generator_create(3);
  tr_value out = {0};
  int fail = g == NULL || tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = (tc_tensor *)x}, &out, g) != TC_OK;
  tr_value_clear(&out);
  tc_generator_destroy(g);
  tr_destroy(t);
  return fail;
}

static int alloc_mix(void *ctx) {
  (void)ctx;
  tc_tensor *img = tc_ones(SHAPE(3, 1, 4, 4), 4, NULL), *lab = tc_zeros(SHAPE(3), 1, TC_OPTS(.dtype = TC_I64));
  tc_generator *g = tc_generator_create(3);
  int fail = !img || !lab || !g || tv_cutmix(&img, &lab, 4, 1.0, g) != TC_OK;
  tc_tensor_release(img);
  tc_tensor_release(lab);
  tc_generator_destroy(g);
  return fail;
}

START_TEST(test_alloc_failures) {
  tc_tensor *x = fx_load(FAM, "in_batch_u8");
  check_alloc_failures(alloc_ops, x, "color and geometry ops");
  check_alloc_failures(alloc_policy, x, "AugMix");
  check_alloc_failures(alloc_mix, NULL, "CutMix");
  tc_tensor_release(x);
}
END_TEST

/* ---- the collate hook: stacks, then MixUp/CutMix from the configured generator ---------------------- */
START_TEST(test_collate) {
  LEAK_BEGIN;
  td_sample s[3];
  for (int i = 0; i < 3; i++) {
    td_sample_init(&s[i]);
    ck_assert_int_eq(td_sample_set(&s[i], "input", tr_tensor_value(tc_full(SHAPE(1, 2, 2), 3, i, NULL))), TC_OK);
    ck_assert_int_eq(td_sample_set(&s[i], "target", tr_int_value(i)), TC_OK);
  }
  tc_generator *g = tc_generator_create(5), *g2 = tc_generator_create(5);
  tv_mix_collate_cfg cfg = {TV_MIX_MIXUP, 1.0, 4, "input", "target", g};
  td_sample batch;
  td_sample_init(&batch);
  ck_assert_int_eq(tv_mix_collate(s, 3, &batch, &cfg), TC_OK);
  const tr_value *im = td_sample_field(&batch, "input"), *lb = td_sample_field(&batch, "target");
  assert_shape(im->tensor, SHAPE(3, 1, 2, 2), 4);
  assert_shape(lb->tensor, SHAPE(3, 4), 2);
  /* the same as collating by hand and calling tv_mixup with an equally seeded generator */
  tc_tensor *x = tc_zeros(SHAPE(3, 1, 2, 2), 4, NULL), *y = T_I64(SHAPE(3), 1, 0, 1, 2);
  for (int i = 0; i < 3; i++) fill_sample(x, i, i);
  ck_assert_int_eq(tv_mixup(&x, &y, 4, 1.0, g2), TC_OK);
  assert_close(im->tensor, x, 0, 0, "collate mixup images");
  assert_close(lb->tensor, y, 0, 0, "collate mixup labels");
  td_sample_clear(&batch);
  tv_mix_collate_cfg bad = {TV_MIX_CUTMIX, 1.0, 4, "image", "target", g};
  ck_assert_int_eq(tv_mix_collate(s, 3, &batch, &bad), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "no tensor fields \"image\"");
  tc_tensor_release(x);
  tc_tensor_release(y);
  for (int i = 0; i < 3; i++) td_sample_clear(&s[i]);
  tc_generator_destroy(g);
  tc_generator_destroy(g2);
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_augment");
  TCase *tc = tcase_create("augment");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_functional);
  tcase_add_test(tc, test_random_transforms);
  tcase_add_test(tc, test_mixup_cutmix);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_describe);
  tcase_add_test(tc, test_alloc_failures);
  tcase_add_test(tc, test_collate);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
