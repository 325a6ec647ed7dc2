/* libctorch_vision image transforms against torchvision.transforms.v2 (fixtures from
 * tests/fixtures/gen/gen_vision_transforms.py): Resize in every mode on uint8 and batched float
 * images, crops, pads, flips, five/ten crops, Normalize, ToImage, ToTensor, the random transforms'
 * draws for seeded generators, error paths, descriptions and allocation failures.
 * Set CTORCH_TEST_VERBOSE=1 to print the largest difference of every comparison. */
#include <ctorch/vision.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision_transforms"

static bool verbose(void) { return getenv("CTORCH_TEST_VERBOSE") != NULL; }


/* got vs fixture `name`: same shape and dtype, values within tol (0: identical) */
static double check_fx(tc_tensor *got, const char *name, double tol) {
  ck_assert_msg(got != NULL, "%s: %s", name, tc_last_error());
  tc_tensor *want = fx_load(FAM, name);
  assert_shape(got, tc_tensor_shape(want), tc_tensor_ndim(want));
  ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "%s: dtype %s, want %s", name,
                tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
  double d = max_abs_diff(got, want);
  if (verbose()) printf("  %-36s max diff %.3g\n", name, d);
  ck_assert_msg(d <= tol, "%s: max difference %g > %g", name, d, tol);
  tc_tensor_release(want);
  tc_tensor_release(got);
  return d;
}

/* ---- Resize ------------------------------------------------------------------------------------------------- */
static const struct {
  const char *name;
  tv_interp m;
  bool aa;
} MODES[] = {{"nearest", TV_INTERP_NEAREST, false},     {"nearestexact", TV_INTERP_NEAREST_EXACT, false},
             {"bilinear_aa", TV_INTERP_BILINEAR, true}, {"bilinear", TV_INTERP_BILINEAR, false},
             {"bicubic_aa", TV_INTERP_BICUBIC, true},   {"bicubic", TV_INTERP_BICUBIC, false}};

static void resize_group(const char *input, const char *prefix, const int64_t (*sizes)[2], int n, double tol) {
  LEAK_BEGIN;
  tc_tensor *x = fx_load(FAM, input);
  char name[96];
  for (size_t m = 0; m < sizeof MODES / sizeof MODES[0]; m++)
    for (int k = 0; k < n; k++) {
      snprintf(name, sizeof name, "%s_%s_%lldx%lld", prefix, MODES[m].name, (long long)sizes[k][0],
               (long long)sizes[k][1]);
      check_fx(tv_resize(x, sizes[k][0], sizes[k][1], MODES[m].m, MODES[m].aa), name, tol);
    }
  tc_tensor_release(x);
  LEAK_END;
}

START_TEST(test_resize_u8) { /* uint8: the same integer arithmetic as PyTorch, so identical */
  static const int64_t sizes[][2] = {{23, 29}, {57, 75}, {37, 90}, {48, 40}, {7, 9}};
  resize_group("img_u8", "resize_u8", sizes, 5, 0);
}
END_TEST

START_TEST(test_resize_f32_batched) {
  static const int64_t sizes[][2] = {{9, 11}, {27, 33}, {13, 40}, {20, 17}};
  resize_group("img_f32", "resize_f32", sizes, 4, 1e-5);
}
END_TEST

START_TEST(test_resize_other_kernels) {
  LEAK_BEGIN;
  tc_tensor *c5 = fx_load(FAM, "img_u8c5"), *small = fx_load(FAM, "small_u8");
  char name[64];
  for (size_t m = 0; m < sizeof MODES / sizeof MODES[0]; m++) { /* C > 4: PyTorch's generic uint8 kernel */
    snprintf(name, sizeof name, "resize_u8c5_%s", MODES[m].name);
    check_fx(tv_resize(c5, 11, 15, MODES[m].m, MODES[m].aa), name, 0);
  }
  check_fx(tv_resize(small, 70, 90, TV_INTERP_NEAREST, false), "resize_small_nearest", 0);
  check_fx(tv_resize(small, 70, 90, TV_INTERP_NEAREST_EXACT, true), "resize_small_nearestexact", 0);
  /* same size: the input itself */
  tc_tensor *same = tv_resize(small, 10, 13, TV_INTERP_BILINEAR, true);
  ck_assert_ptr_eq(same, small);
  tc_tensor_release(same);
  tc_tensor_release(c5);
  tc_tensor_release(small);
  LEAK_END;
}
END_TEST

START_TEST(test_resize_shorter) {
  LEAK_BEGIN;
  tc_tensor *t = fx_load(FAM, "resize_shorter_sizes");
  const int64_t *r = tc_tensor_data(t);
  for (int64_t k = 0; k < tc_tensor_shape(t)[0]; k++, r += 6) {
    int64_t oh = -1, ow = -1;
    ck_assert_int_eq(tv_resize_shorter_size(r[0], r[1], r[2], r[3], &oh, &ow), TC_OK);
    ck_assert_msg(oh == r[4] && ow == r[5], "case %lld: (%lld, %lld) want (%lld, %lld)", (long long)k, (long long)oh,
                  (long long)ow, (long long)r[4], (long long)r[5]);
  }
  tc_tensor_release(t);
  tc_tensor *x = fx_load(FAM, "img_u8");
  check_fx(tv_resize_shorter(x, 24, 0, TV_INTERP_BILINEAR, true), "resize_shorter_u8_24", 0);
  tr_transform *tf = tv_resize_shorter_transform(24, 0, TV_INTERP_BILINEAR, true);
  tr_value out;
  ck_assert_int_eq(tr_apply(tf, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, NULL), TC_OK);
  check_fx(tc_tensor_retain(out.tensor), "resize_shorter_u8_24", 0);
  char *d = tr_describe(tf);
  ck_assert_str_eq(d, "Resize(size=[24], interpolation=InterpolationMode.BILINEAR, antialias=True)");
  tc_free(d);
  tr_value_clear(&out);
  tr_destroy(tf);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* ---- crops, pads, flips -------------------------------------------------------------------------------------------
 */
START_TEST(test_crop_pad_flip) {
  LEAK_BEGIN;
  tc_tensor *x = fx_load(FAM, "img_u8"), *f = fx_load(FAM, "img_f32");
  check_fx(tv_crop(x, 5, 7, 20, 30), "crop_in", 0);
  check_fx(tv_crop(x, -3, 50, 20, 30), "crop_out", 0);
  static const int64_t cc[][2] = {{20, 30}, {21, 31}, {60, 70}, {50, 40}, {47, 63}};
  char name[64];
  for (int k = 0; k < 5; k++) {
    snprintf(name, sizeof name, "center_crop_%lldx%lld", (long long)cc[k][0], (long long)cc[k][1]);
    check_fx(tv_center_crop(x, cc[k][0], cc[k][1]), name, 0);
  }
  const int64_t p4[] = {1, 2, 3, 4};
  check_fx(tv_pad(x, p4, 4, TV_PAD_CONSTANT, (double[]){7}, 1), "pad_constant", 0);
  check_fx(tv_pad(x, p4, 4, TV_PAD_EDGE, NULL, 0), "pad_edge", 0);
  check_fx(tv_pad(x, p4, 4, TV_PAD_REFLECT, NULL, 0), "pad_reflect", 0);
  check_fx(tv_pad(x, p4, 4, TV_PAD_SYMMETRIC, NULL, 0), "pad_symmetric", 0);
  check_fx(tv_pad(x, (int64_t[]){3, 5}, 2, TV_PAD_CONSTANT, NULL, 0), "pad_two", 0);
  check_fx(tv_pad(x, (int64_t[]){-2, 1, 3, -4}, 4, TV_PAD_CONSTANT, (double[]){9}, 1), "pad_negative", 0);
  check_fx(tv_pad(x, (int64_t[]){2}, 1, TV_PAD_CONSTANT, (double[]){10, 20, 30}, 3), "pad_vector_fill", 0);
  check_fx(tv_pad(f, (int64_t[]){2, 3}, 2, TV_PAD_REFLECT, NULL, 0), "pad_f32_reflect", 0);
  check_fx(tv_pad(f, (int64_t[]){4, 1, 0, 2}, 4, TV_PAD_SYMMETRIC, NULL, 0), "pad_f32_symmetric", 0);
  check_fx(tv_horizontal_flip(x), "hflip", 0);
  check_fx(tv_vertical_flip(x), "vflip", 0);
  check_fx(tv_five_crop(x, 20, 30), "five_crop", 0);
  check_fx(tv_ten_crop(x, 20, 30, false), "ten_crop", 0);
  check_fx(tv_ten_crop(x, 20, 30, true), "ten_crop_v", 0);
  check_fx(tv_resized_crop(x, 10, 12, 25, 30, 16, 16, TV_INTERP_BILINEAR, true), "resized_crop", 0);
  /* transforms wrapping them */
  tr_transform *ts[] = {tv_center_crop_transform(21, 31), tv_pad_transform(p4, 4, NULL, 0, TV_PAD_REFLECT),
                        tv_five_crop_transform(20, 30), tv_ten_crop_transform(20, 30, true)};
  const char *want[] = {"center_crop_21x31", "pad_reflect", "five_crop", "ten_crop_v"};
  for (int k = 0; k < 4; k++) {
    tr_value out;
    ck_assert_int_eq(tr_apply(ts[k], &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, NULL), TC_OK);
    check_fx(tc_tensor_retain(out.tensor), want[k], 0);
    tr_value_clear(&out);
    tr_destroy(ts[k]);
  }
  tc_tensor_release(x);
  tc_tensor_release(f);
  LEAK_END;
}
END_TEST

/* ---- conversion ----------------------------------------------------------------------------------------------------
 */
START_TEST(test_convert) {
  LEAK_BEGIN;
  tc_tensor *c3 = fx_load(FAM, "img_f32c3"), *f = fx_load(FAM, "img_f32"), *hwc = fx_load(FAM, "hwc_u8");
  const double mean[] = {0.485, 0.456, 0.406}, std[] = {0.229, 0.224, 0.225};
  check_fx(tv_normalize(c3, mean, 3, std, 3, false), "normalize", 0);
  check_fx(tv_normalize(f, (double[]){0.5}, 1, (double[]){0.25}, 1, false), "normalize_one", 0);
  check_fx(tv_to_image(hwc), "to_image", 0);
  check_fx(tv_to_tensor(hwc), "to_tensor", 0);
  /* inplace: the input is the result */
  tc_tensor *copy = tc_clone(c3);
  tc_tensor *r = tv_normalize(copy, mean, 3, std, 3, true);
  ck_assert_ptr_eq(r, copy);
  tc_tensor_release(r);
  check_fx(copy, "normalize", 0);
  /* ToImage -> ToDtype(float32, scale) -> Normalize as one pipeline; ToDtype multiplies by 1/255 where
   * ToTensor divides, so compare with ToTensor within float rounding */
  tr_transform *t =
      tr_compose(3, (tr_transform *[]){tv_to_image_transform(), tr_to_dtype(TC_F32, true),
                                       tv_normalize_transform((double[]){0}, 1, (double[]){1}, 1, false)});
  tr_value out;
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = hwc}, &out, NULL), TC_OK);
  check_fx(tc_tensor_retain(out.tensor), "to_tensor", 1e-7);
  tr_value_clear(&out);
  char *d = tr_describe(t);
  ck_assert_ptr_nonnull(strstr(d, "ToImage()"));
  ck_assert_ptr_nonnull(strstr(d, "Normalize(mean=[0], std=[1], inplace=False)"));
  tc_free(d);
  tr_destroy(t);
  tc_tensor_release(c3), tc_tensor_release(f), tc_tensor_release(hwc);
  LEAK_END;
}
END_TEST

/* ---- random transforms
 * ------------------------------------------------------------------------------------------------ */
/* n applications of t to x with one generator seeded like torch.manual_seed(seed), stacked */
static tc_tensor *seeded(uint64_t seed, tr_transform *t, tc_tensor *x, int n) {
  ck_assert_msg(t != NULL, "%s", tc_last_error());
  tc_generator *g = tc_generator_create(seed);
  tc_tensor *outs[4];
  for (int k = 0; k < n; k++) {
    tr_value out;
    ck_assert_msg(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, g) == TC_OK, "%s", tc_last_error());
    outs[k] = tc_tensor_retain(out.tensor);
    tr_value_clear(&out);
  }
  tc_tensor *r = tc_stack((const tc_tensor *const *)outs, n, 0);
  for (int k = 0; k < n; k++) tc_tensor_release(outs[k]);
  tc_generator_destroy(g);
  tr_destroy(t);
  return r;
}

START_TEST(test_random_crop) {
  LEAK_BEGIN;
  tc_tensor *x = fx_load(FAM, "img_u8");
  check_fx(seeded(0, tv_random_crop_transform(20, 30, (int64_t[]){4}, 1, false, NULL, 0, TV_PAD_CONSTANT), x, 3),
           "random_crop_pad4_seed0", 0);
  check_fx(seeded(1, tv_random_crop_transform(52, 70, (int64_t[]){1, 2}, 2, true, NULL, 0, TV_PAD_REFLECT), x, 2),
           "random_crop_needed_seed1", 0);
  check_fx(seeded(2,
                  tv_random_crop_transform(30, 30, (int64_t[]){3, 1, 2, 5}, 4, false, (double[]){1, 2, 3}, 3,
                                           TV_PAD_CONSTANT),
                  x, 1),
           "random_crop_fill_seed2", 0);
  tr_transform *t = tv_random_crop_transform(32, 32, (int64_t[]){4}, 1, false, NULL, 0, TV_PAD_CONSTANT);
  char *d = tr_describe(t);
  ck_assert_str_eq(d,
                   "RandomCrop(size=(32, 32), padding=[4, 4, 4, 4], pad_if_needed=False, fill=0, "
                   "padding_mode=constant)");
  tc_free(d);
  tr_value out;
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, NULL), TC_ERR_ARG); /* no gen */
  tr_destroy(t);
  /* a crop that does not fit even after padding */
  t = tv_random_crop_transform(100, 30, NULL, 0, false, NULL, 0, TV_PAD_CONSTANT);
  tc_generator *g = tc_generator_create(0);
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, g), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "larger than input image size (48, 64)");
  tc_generator_destroy(g);
  tr_destroy(t);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* the 0/1 flip decisions of n applications (flipped = output differs from the input) */
static void check_flips(tr_transform *t, uint64_t seed, const char *name) {
  tc_tensor *x = fx_load(FAM, "img_u8"), *want = fx_load(FAM, name);
  tc_generator *g = tc_generator_create(seed);
  const bool *w = tc_tensor_data(want);
  for (int64_t k = 0; k < tc_tensor_numel(want); k++) {
    tr_value out;
    ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, g), TC_OK);
    bool flipped = max_abs_diff(out.tensor, x) != 0;
    ck_assert_msg(flipped == w[k], "%s: call %lld flipped=%d, torch %d", name, (long long)k, flipped, w[k]);
    tr_value_clear(&out);
  }
  tc_generator_destroy(g);
  tr_destroy(t);
  tc_tensor_release(x);
  tc_tensor_release(want);
}

START_TEST(test_random_flips) {
  LEAK_BEGIN;
  check_flips(tv_random_horizontal_flip_transform(0.5), 3, "hflip_seed3");
  check_flips(tv_random_vertical_flip_transform(0.3), 4, "vflip_p03_seed4");
  LEAK_END;
}
END_TEST

START_TEST(test_random_resized_crop) {
  LEAK_BEGIN;
  static const struct {
    const char *name;
    int64_t h, w;
    double scale[2], ratio[2];
    bool custom;
  } cases[] = {{"default", 48, 64, {0}, {0}, false},
               {"wide", 10, 200, {0}, {0}, false},
               {"tall", 300, 12, {0}, {0}, false},
               {"narrow", 40, 40, {0.9, 1.0}, {2.0, 3.0}, true},
               {"custom", 480, 640, {0.25, 0.5}, {0.5, 2.0}, true}};
  char name[64];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    snprintf(name, sizeof name, "rrc_params_%s_seed11", cases[c].name);
    tc_tensor *want = fx_load(FAM, name);
    const int64_t *w = tc_tensor_data(want);
    tc_generator *g = tc_generator_create(11);
    for (int64_t k = 0; k < tc_tensor_shape(want)[0]; k++, w += 4) {
      int64_t box[4];
      ck_assert_int_eq(tv_random_resized_crop_params(cases[c].h, cases[c].w, cases[c].custom ? cases[c].scale : NULL,
                                                     cases[c].custom ? cases[c].ratio : NULL, g, box),
                       TC_OK);
      ck_assert_msg(!memcmp(box, w, sizeof box), "%s call %lld: (%lld %lld %lld %lld) want (%lld %lld %lld %lld)", name,
                    (long long)k, (long long)box[0], (long long)box[1], (long long)box[2], (long long)box[3],
                    (long long)w[0], (long long)w[1], (long long)w[2], (long long)w[3]);
    }
    tc_generator_destroy(g);
    tc_tensor_release(want);
  }
  tc_tensor *x = fx_load(FAM, "img_u8"), *f = fx_load(FAM, "img_f32");
  check_fx(seeded(5, tv_random_resized_crop_transform(16, 20, NULL, NULL, TV_INTERP_BILINEAR, true), x, 2),
           "rrc_u8_seed5", 0);
  check_fx(seeded(6, tv_random_resized_crop_transform(12, 12, NULL, NULL, TV_INTERP_BICUBIC, true), f, 2),
           "rrc_f32_seed6", 1e-5);
  tr_transform *t = tv_random_resized_crop_transform(224, 224, NULL, NULL, TV_INTERP_BILINEAR, true);
  char *d = tr_describe(t);
  ck_assert_str_eq(d,
                   "RandomResizedCrop(size=(224, 224), scale=(0.080000000000000002, 1), ratio=(0.75, "
                   "1.3333333333333333), interpolation=InterpolationMode.BILINEAR, antialias=True)");
  tc_free(d);
  tr_destroy(t);
  tc_tensor_release(x), tc_tensor_release(f);
  LEAK_END;
}
END_TEST

START_TEST(test_random_erasing) {
  LEAK_BEGIN;
  tc_tensor *c3 = fx_load(FAM, "img_f32c3"), *x = fx_load(FAM, "img_u8");
  check_fx(seeded(7, tv_random_erasing_transform(1.0, NULL, NULL, NULL, 0, false, false), c3, 2), "erasing_zero_seed7",
           0);
  check_fx(seeded(8, tv_random_erasing_transform(1.0, NULL, NULL, (double[]){0.1, 0.2, 0.3}, 3, false, false), c3, 1),
           "erasing_channels_seed8", 0);
  check_fx(seeded(9, tv_random_erasing_transform(1.0, NULL, NULL, NULL, 0, true, false), c3, 2), "erasing_random_seed9",
           0);
  check_fx(seeded(10, tv_random_erasing_transform(1.0, NULL, NULL, (double[]){10, 20, 30}, 3, false, false), x, 1),
           "erasing_u8_seed10", 0);
  /* p = 0.5: which calls erase, and where */
  tc_tensor *want = fx_load(FAM, "erasing_boxes_seed12");
  const int64_t *w = tc_tensor_data(want);
  tr_transform *t = tv_random_erasing_transform(0.5, (double[]){0.1, 0.5}, (double[]){0.5, 2.0}, NULL, 0, false, false);
  tc_generator *g = tc_generator_create(12);
  tc_tensor *ones = tc_ones(SHAPE(3, 24, 32), 3, NULL);
  for (int64_t k = 0; k < tc_tensor_shape(want)[0]; k++, w += 5) {
    tr_value out;
    ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = ones}, &out, g), TC_OK);
    const float *o = tc_tensor_data(out.tensor);
    int64_t i0 = 99, j0 = 99, i1 = -1, j1 = -1;
    for (int64_t i = 0; i < 24; i++)
      for (int64_t j = 0; j < 32; j++)
        if (o[i * 32 + j] == 0) i0 = i < i0 ? i : i0, j0 = j < j0 ? j : j0, i1 = i > i1 ? i : i1, j1 = j > j1 ? j : j1;
    int64_t got[5] = {i1 >= 0, i1 >= 0 ? i0 : 0, i1 >= 0 ? j0 : 0, i1 >= 0 ? i1 - i0 + 1 : 0,
                      i1 >= 0 ? j1 - j0 + 1 : 0};
    ck_assert_msg(!memcmp(got, w, sizeof got), "erasing call %lld: (%lld %lld %lld %lld %lld)", (long long)k,
                  (long long)got[0], (long long)got[1], (long long)got[2], (long long)got[3], (long long)got[4]);
    tr_value_clear(&out);
  }
  char *d = tr_describe(t);
  ck_assert_str_eq(d, "RandomErasing(p=0.5, scale=(0.1, 0.5), ratio=(0.5, 2), value=[0], inplace=False)");
  tc_free(d);
  tc_generator_destroy(g);
  tr_destroy(t);
  tc_tensor_release(ones), tc_tensor_release(want), tc_tensor_release(c3), tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* ---- errors
 * ------------------------------------------------------------------------------------------------------------- */
START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_tensor *x = fx_load(FAM, "img_u8"), *flat = tc_zeros(SHAPE(4, 5), 2, NULL);
  tc_tensor *i32 = tc_zeros(SHAPE(3, 4, 5), 3, TC_OPTS(.dtype = TC_I32));
  ck_assert_ptr_null(tv_resize(flat, 2, 2, TV_INTERP_BILINEAR, true));
  assert_error(TC_ERR_SHAPE, "tv_resize: expected an image of shape (..., C, H, W), got 2 dims");
  ck_assert_ptr_null(tv_resize(i32, 2, 2, TV_INTERP_BILINEAR, true));
  assert_error(TC_ERR_DTYPE, "bilinear interpolation supports uint8 and float32 images, got int32");
  tc_tensor *n = tv_resize(i32, 2, 2, TV_INTERP_NEAREST, true); /* nearest takes any dtype */
  ck_assert_ptr_nonnull(n);
  tc_tensor_release(n);
  ck_assert_ptr_null(tv_resize(x, 0, 5, TV_INTERP_BILINEAR, true));
  assert_error(TC_ERR_ARG, "output size must be positive");
  ck_assert_ptr_null(tv_resize(x, 5, 5, (tv_interp)9, true));
  assert_error(TC_ERR_ARG, "unknown interpolation mode 9");
  ck_assert_ptr_null(tv_resize_shorter(x, 24, 20, TV_INTERP_BILINEAR, true));
  assert_error(TC_ERR_ARG, "max_size = 20 must be strictly greater");
  ck_assert_ptr_null(tv_resize(NULL, 5, 5, TV_INTERP_BILINEAR, true));
  ck_assert_ptr_null(tv_pad(x, (int64_t[]){1, 2, 3}, 3, TV_PAD_CONSTANT, NULL, 0));
  assert_error(TC_ERR_ARG, "padding must have 1, 2 or 4 values, got 3");
  ck_assert_ptr_null(tv_pad(x, (int64_t[]){48}, 1, TV_PAD_REFLECT, NULL, 0));
  assert_error(TC_ERR_SHAPE, "padding 48 is too large for a dim of size 48 in reflect mode");
  ck_assert_ptr_null(tv_pad(x, (int64_t[]){-1}, 1, TV_PAD_EDGE, NULL, 0));
  assert_error(TC_ERR_ARG, "negative padding -1 needs padding_mode constant");
  ck_assert_ptr_null(tv_pad(x, (int64_t[]){1}, 1, TV_PAD_CONSTANT, (double[]){1, 2}, 2));
  assert_error(TC_ERR_ARG, "fill has 2 values for an image of 3 channels");
  ck_assert_ptr_null(tv_five_crop(x, 49, 10));
  assert_error(TC_ERR_SHAPE, "requested crop size (49, 10) is bigger than input size (48, 64)");
  ck_assert_ptr_null(tv_normalize(x, (double[]){0}, 1, (double[]){1}, 1, false));
  assert_error(TC_ERR_DTYPE, "should be a float tensor, got uint8");
  tc_tensor *f = tc_to_dtype(x, TC_F32);
  ck_assert_ptr_null(tv_normalize(f, (double[]){0}, 1, (double[]){1, 0, 1}, 3, false));
  assert_error(TC_ERR_ARG, "std evaluated to zero");
  ck_assert_ptr_null(tv_normalize(f, (double[]){0, 0}, 2, (double[]){1}, 1, false));
  assert_error(TC_ERR_SHAPE, "mean has 2 and std 1 values for an image of 3 channels");
  ck_assert_ptr_null(tv_erase(f, 40, 0, 10, 5, f, false));
  assert_error(TC_ERR_ARG, "outside the 48x64 image");
  tc_tensor *four = tc_zeros(SHAPE(1, 2, 3, 4), 4, NULL);
  ck_assert_ptr_null(tv_to_image(four));
  assert_error(TC_ERR_SHAPE, "expected an (H, W, C) or (H, W) array, got 4 dims");
  tc_tensor_release(four);
  tc_tensor_release(f);
  ck_assert_ptr_null(tv_resize_transform(0, 3, TV_INTERP_BILINEAR, true));
  ck_assert_ptr_null(tv_random_horizontal_flip_transform(1.5));
  assert_error(TC_ERR_ARG, "p should be a probability in [0, 1], got 1.5");
  ck_assert_ptr_null(tv_random_resized_crop_transform(8, 8, (double[]){0.5, 0.1}, NULL, TV_INTERP_BILINEAR, true));
  assert_error(TC_ERR_ARG, "scale should be (min, max)");
  ck_assert_ptr_null(tv_normalize_transform((double[]){0}, 1, (double[]){0}, 1, false));
  ck_assert_ptr_null(tv_random_erasing_transform(0.5, (double[]){0.1, 1.5}, NULL, NULL, 0, false, false));
  /* a non-tensor value */
  tr_transform *t = tv_center_crop_transform(4, 4);
  tr_value out;
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_INT, .i = 3}, &out, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "CenterCrop: expected an image tensor, got a int value");
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_destroy(t);
  tc_tensor_release(x), tc_tensor_release(flat), tc_tensor_release(i32);
  LEAK_END;
}
END_TEST

/* ---- allocation failures
 * ----------------------------------------------------------------------------------------------------- */
static int pipeline_run(void *ctx) {
  (void)ctx;
  int rc = 1;
  tc_generator *g = tc_generator_create(3);
  tc_tensor *x = tc_zeros(SHAPE(2, 3, 20, 26), 4, TC_OPTS(.dtype = TC_U8));
  tr_transform *t = tr_compose(
      5, (tr_transform *[]){tv_random_resized_crop_transform(9, 11, NULL, NULL, TV_INTERP_BICUBIC, true),
                            tv_random_crop_transform(8, 8, (int64_t[]){2}, 1, true, NULL, 0, TV_PAD_SYMMETRIC),
                            tr_to_dtype(TC_F32, true),
                            tv_normalize_transform((double[]){0.5}, 1, (double[]){0.2}, 1, false),
                            tv_random_erasing_transform(1.0, NULL, NULL, NULL, 0, true, false)});
  tr_value out = {0};
  if (g && t && x) {
    char *d = tr_describe(t);
    if (d && tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = x}, &out, g) == TC_OK) rc = 0;
    tc_free(d);
  }
  tc_tensor *r = rc == 0 ? tv_resize(x, 13, 40, TV_INTERP_BILINEAR, true) : NULL;
  tc_tensor *p = r ? tv_ten_crop(r, 5, 6, false) : NULL;
  if (rc == 0 && !p) rc = 1;
  tc_tensor_release(r), tc_tensor_release(p);
  tr_value_clear(&out);
  tc_tensor_release(x);
  tr_destroy(t);
  tc_generator_destroy(g);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(pipeline_run, NULL, "vision transform pipeline"); }
END_TEST

int main(void) {
  Suite *s = suite_create("vision_transforms");
  TCase *tc = tcase_create("vision_transforms");
  tcase_add_test(tc, test_resize_u8);
  tcase_add_test(tc, test_resize_f32_batched);
  tcase_add_test(tc, test_resize_other_kernels);
  tcase_add_test(tc, test_resize_shorter);
  tcase_add_test(tc, test_crop_pad_flip);
  tcase_add_test(tc, test_convert);
  tcase_add_test(tc, test_random_crop);
  tcase_add_test(tc, test_random_flips);
  tcase_add_test(tc, test_random_resized_crop);
  tcase_add_test(tc, test_random_erasing);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
