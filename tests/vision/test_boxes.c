/* Bounding-box geometry (ctorch/vision_boxes.h) against torchvision.transforms.v2.functional's
 * *_bounding_boxes kernels (tests/fixtures/gen/gen_vision_boxes.py): clamp, flips, resize, crop,
 * resized_crop, pad, affine (with and without center, and with expand), rotate (expand and center;
 * the resulting canvas), perspective (the generator's 8 coefficients) and elastic (its displacement),
 * each in XYXY, XYWH and CXCYWH on a (30, 40) canvas with boxes inside, partly outside and fully
 * outside. float32 within rtol 1e-5 / atol 1e-4 (torchvision works in float32, ctorch in double),
 * float64 within 1e-9, int64 exactly (truncated back as torchvision's .to()); boxes of shape (2, 3, 4);
 * the input is left untouched; argument errors; no leaks, and allocation failures leak nothing. */
#include <ctorch/vision.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision_boxes"

/* The generator's parameters (gen_vision_boxes.py). */
enum { H = 30, W = 40 };
static const char *const FMT_NAMES[3] = {"xyxy", "xywh", "cxcywh"}; /* index = tv_box_format */
static const int64_t RESIZE[2][2] = {{45, 20}, {17, 53}};           /* (new_h, new_w) */
static const struct {
  const char *name;
  int64_t top, left, h, w;
} CROPS[2] = {{"in", 5, 8, 20, 25}, {"out", -4, -6, 40, 50}};
static const int64_t RCROP[6] = {3, 6, 20, 24, 32, 36}; /* top, left, h, w, out_h, out_w */
static const int64_t PAD[4] = {3, 5, 7, 2};              /* left, top, right, bottom */
/* affine: angle 30, translate (2, -3), scale 0.9, shear (10, -5); center (12, 8) for affine_c */
#define AFF_ARGS 30.0, 2.0, -3.0, 0.9, 10.0, -5.0
static const double AFF_CENTER[2] = {12.0, 8.0};
static const double ROT_CENTER[2] = {10.0, 12.0};
static const struct {
  const char *name;
  double angle;
  bool expand;
  const double *center;
} ROTS[6] = {{"a35", 35.0, false, NULL},           {"a35_exp", 35.0, true, NULL},
             {"a35_c", 35.0, false, ROT_CENTER},   {"a35_c_exp", 35.0, true, ROT_CENTER},
             {"a90_exp", 90.0, true, NULL},        {"m120_exp", -120.0, true, NULL}};

#define F32_RTOL 1e-5
#define F32_ATOL 1e-4
#define F64_TOL 1e-9

/* got against fixture `name`: same dtype, and close (float32, float64) or equal (int64) */
static void check(tc_tensor *got, const char *name) {
  tc_tensor *want = fx_load(FAM, name);
  ck_assert_msg(got != NULL, "%s: NULL: %s", name, tc_last_error());
  ck_assert_msg(tc_tensor_dtype(got) == tc_tensor_dtype(want), "%s: dtype %s, expected %s", name,
                tc_dtype_name(tc_tensor_dtype(got)), tc_dtype_name(tc_tensor_dtype(want)));
  if (tc_tensor_dtype(want) == TC_F32)
    assert_close(got, want, F32_RTOL, F32_ATOL, name);
  else if (tc_tensor_dtype(want) == TC_F64)
    assert_close(got, want, F64_TOL, F64_TOL, name);
  else
    assert_equal(got, want, name);
}

/* the canvas (h, w) against fixture `name` ((2,) int64) */
static void check_canvas(int64_t h, int64_t w, const char *name) {
  tc_tensor *want = fx_load(FAM, name);
  ck_assert_int_eq(tc_tensor_dtype(want), TC_I64);
  const int64_t *p = tc_tensor_data(want);
  ck_assert_msg(h == p[0] && w == p[1], "%s: canvas (%lld, %lld), expected (%lld, %lld)", name, (long long)h,
                (long long)w, (long long)p[0], (long long)p[1]);
}

static tc_tensor *boxes_of(int f, const char *suffix) {
  char n[64];
  snprintf(n, sizeof n, "boxes_%s%s", FMT_NAMES[f], suffix);
  return fx_load(FAM, n);
}

START_TEST(test_clamp_flip_resize) {
  LEAK_BEGIN;
  tc_scope_push();
  char n[64];
  for (int f = 0; f < 3; f++) {
    tc_tensor *b = boxes_of(f, "");
    const char *fn = FMT_NAMES[f];
    snprintf(n, sizeof n, "clamp_%s", fn);
    check(tv_boxes_clamp(b, (tv_box_format)f, H, W), n);
    snprintf(n, sizeof n, "hflip_%s", fn);
    check(tv_boxes_horizontal_flip(b, (tv_box_format)f, W), n);
    snprintf(n, sizeof n, "vflip_%s", fn);
    check(tv_boxes_vertical_flip(b, (tv_box_format)f, H), n);
    for (int i = 0; i < 2; i++) {
      snprintf(n, sizeof n, "resize%d_%s", i, fn);
      check(tv_boxes_resize(b, H, W, RESIZE[i][0], RESIZE[i][1]), n); /* any format */
    }
    /* the input is not modified */
    snprintf(n, sizeof n, "boxes_%s", fn);
    assert_equal(b, fx_load(FAM, n), "input untouched");
  }
  /* flipping twice and resizing to the same size give the boxes back */
  tc_tensor *b = boxes_of(TV_BOX_CXCYWH, "");
  assert_close(tv_boxes_horizontal_flip(tv_boxes_horizontal_flip(b, TV_BOX_CXCYWH, W), TV_BOX_CXCYWH, W), b, 0, 0,
               "hflip twice");
  assert_close(tv_boxes_resize(b, H, W, H, W), b, 0, 0, "resize to the same size");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_crop_pad) {
  LEAK_BEGIN;
  tc_scope_push();
  char n[64];
  for (int f = 0; f < 3; f++) {
    tc_tensor *b = boxes_of(f, "");
    const char *fn = FMT_NAMES[f];
    for (int c = 0; c < 2; c++) {
      snprintf(n, sizeof n, "crop_%s_%s", CROPS[c].name, fn);
      check(tv_boxes_crop(b, (tv_box_format)f, CROPS[c].top, CROPS[c].left, CROPS[c].h, CROPS[c].w), n);
    }
    snprintf(n, sizeof n, "rcrop_%s", fn);
    check(tv_boxes_resized_crop(b, (tv_box_format)f, RCROP[0], RCROP[1], RCROP[2], RCROP[3], RCROP[4], RCROP[5]), n);
    snprintf(n, sizeof n, "pad_%s", fn);
    check(tv_boxes_pad(b, (tv_box_format)f, H, W, PAD), n);
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_affine_rotate) {
  LEAK_BEGIN;
  tc_scope_push();
  char n[64];
  for (int f = 0; f < 3; f++) {
    tc_tensor *b = boxes_of(f, "");
    const char *fn = FMT_NAMES[f];
    tv_box_format fmt = (tv_box_format)f;
    int64_t oh = -1, ow = -1;
    snprintf(n, sizeof n, "affine_%s", fn);
    check(tv_boxes_affine(b, fmt, H, W, AFF_ARGS, NULL, false, &oh, &ow), n);
    ck_assert_msg(oh == H && ow == W, "%s: canvas (%lld, %lld) without expand", n, (long long)oh, (long long)ow);
    snprintf(n, sizeof n, "affine_c_%s", fn);
    check(tv_boxes_affine(b, fmt, H, W, AFF_ARGS, AFF_CENTER, false, NULL, NULL), n);
    snprintf(n, sizeof n, "affine_exp_%s", fn);
    check(tv_boxes_affine(b, fmt, H, W, AFF_ARGS, NULL, true, &oh, &ow), n);
    snprintf(n, sizeof n, "affine_exp_%s_canvas", fn);
    check_canvas(oh, ow, n);
    for (int r = 0; r < 6; r++) {
      oh = ow = -1;
      snprintf(n, sizeof n, "rot_%s_%s", ROTS[r].name, fn);
      check(tv_boxes_rotate(b, fmt, H, W, ROTS[r].angle, ROTS[r].expand, ROTS[r].center, &oh, &ow), n);
      snprintf(n, sizeof n, "rot_%s_%s_canvas", ROTS[r].name, fn);
      check_canvas(oh, ow, n);
      /* out_h / out_w may be NULL */
      snprintf(n, sizeof n, "rot_%s_%s", ROTS[r].name, fn);
      check(tv_boxes_rotate(b, fmt, H, W, ROTS[r].angle, ROTS[r].expand, ROTS[r].center, NULL, NULL), n);
    }
  }
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_perspective_elastic) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *ct = fx_load(FAM, "persp_coeffs");
  ck_assert_int_eq(tc_tensor_dtype(ct), TC_F64);
  ck_assert_int_eq(tc_tensor_numel(ct), 8);
  const double *coeffs = tc_tensor_data(ct);
  tc_tensor *disp = fx_load(FAM, "elastic_disp");
  char n[64];
  for (int f = 0; f < 3; f++) {
    tc_tensor *b = boxes_of(f, "");
    snprintf(n, sizeof n, "persp_%s", FMT_NAMES[f]);
    check(tv_boxes_perspective(b, (tv_box_format)f, H, W, coeffs), n);
    snprintf(n, sizeof n, "elastic_%s", FMT_NAMES[f]);
    check(tv_boxes_elastic(b, (tv_box_format)f, H, W, disp), n);
  }
  /* a float64 displacement of the same values gives the same boxes */
  check(tv_boxes_elastic(boxes_of(TV_BOX_XYXY, ""), TV_BOX_XYXY, H, W, tc_to_dtype(disp, TC_F64)), "elastic_xyxy");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* float64 and int64 boxes keep their dtype; (2, 3, 4) boxes keep their shape */
START_TEST(test_dtypes_shapes) {
  LEAK_BEGIN;
  tc_scope_push();
  const double *coeffs = tc_tensor_data(fx_load(FAM, "persp_coeffs"));
  tc_tensor *disp = fx_load(FAM, "elastic_disp");
  char n[64];
  const int f64_fmts[2] = {TV_BOX_XYXY, TV_BOX_CXCYWH};
  for (int k = 0; k < 2; k++) {
    int f = f64_fmts[k];
    tv_box_format fmt = (tv_box_format)f;
    const char *fn = FMT_NAMES[f];
    tc_tensor *b = boxes_of(f, "_f64");
    ck_assert_int_eq(tc_tensor_dtype(b), TC_F64);
    snprintf(n, sizeof n, "affine_%s_f64", fn);
    check(tv_boxes_affine(b, fmt, H, W, AFF_ARGS, NULL, false, NULL, NULL), n);
    int64_t oh = -1, ow = -1;
    snprintf(n, sizeof n, "rot_a35_exp_%s_f64", fn);
    check(tv_boxes_rotate(b, fmt, H, W, 35.0, true, NULL, &oh, &ow), n);
    snprintf(n, sizeof n, "rot_a35_exp_%s_f64_canvas", fn);
    check_canvas(oh, ow, n);
    snprintf(n, sizeof n, "persp_%s_f64", fn);
    check(tv_boxes_perspective(b, fmt, H, W, coeffs), n);
    snprintf(n, sizeof n, "elastic_%s_f64", fn);
    check(tv_boxes_elastic(b, fmt, H, W, disp), n);
    snprintf(n, sizeof n, "resize1_%s_f64", fn);
    check(tv_boxes_resize(b, H, W, RESIZE[1][0], RESIZE[1][1]), n);
  }
  const int i64_fmts[2] = {TV_BOX_XYXY, TV_BOX_XYWH};
  for (int k = 0; k < 2; k++) {
    int f = i64_fmts[k];
    tv_box_format fmt = (tv_box_format)f;
    const char *fn = FMT_NAMES[f];
    tc_tensor *b = boxes_of(f, "_i64");
    ck_assert_int_eq(tc_tensor_dtype(b), TC_I64);
    for (int i = 0; i < 2; i++) {
      snprintf(n, sizeof n, "resize%d_%s_i64", i, fn);
      check(tv_boxes_resize(b, H, W, RESIZE[i][0], RESIZE[i][1]), n);
    }
    for (int c = 0; c < 2; c++) {
      snprintf(n, sizeof n, "crop_%s_%s_i64", CROPS[c].name, fn);
      check(tv_boxes_crop(b, fmt, CROPS[c].top, CROPS[c].left, CROPS[c].h, CROPS[c].w), n);
    }
    snprintf(n, sizeof n, "hflip_%s_i64", fn);
    check(tv_boxes_horizontal_flip(b, fmt, W), n);
    snprintf(n, sizeof n, "vflip_%s_i64", fn);
    check(tv_boxes_vertical_flip(b, fmt, H), n);
  }
  tc_tensor *bb = fx_load(FAM, "boxes_cxcywh_batched");
  check(tv_boxes_horizontal_flip(bb, TV_BOX_CXCYWH, W), "hflip_cxcywh_batched");
  check(tv_boxes_affine(bb, TV_BOX_CXCYWH, H, W, AFF_ARGS, NULL, false, NULL, NULL), "affine_cxcywh_batched");
  check(tv_boxes_elastic(bb, TV_BOX_CXCYWH, H, W, disp), "elastic_cxcywh_batched");
  /* a single box of shape (4) and no boxes (0, 4) */
  tc_tensor *one = tc_select(boxes_of(TV_BOX_XYXY, ""), 0, 1);
  tc_tensor *want = tc_select(fx_load(FAM, "crop_in_xyxy"), 0, 1);
  assert_close(tv_boxes_crop(one, TV_BOX_XYXY, 5, 8, 20, 25), want, 0, 0, "crop of one (4) box");
  tc_tensor *none = tc_zeros(SHAPE(0, 4), 2, NULL);
  assert_shape(tv_boxes_clamp(none, TV_BOX_XYXY, H, W), SHAPE(0, 4), 2);
  assert_shape(tv_boxes_rotate(none, TV_BOX_XYWH, H, W, 35.0, true, NULL, NULL, NULL), SHAPE(0, 4), 2);
  assert_shape(tv_boxes_perspective(none, TV_BOX_CXCYWH, H, W, coeffs), SHAPE(0, 4), 2);
  assert_shape(tv_boxes_elastic(none, TV_BOX_XYXY, H, W, disp), SHAPE(0, 4), 2);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* the call failed with TC_ERR_SHAPE or TC_ERR_ARG and its message names the function */
#define ASSERT_FAILS(call, fname)                                                                             \
  do {                                                                                                        \
    tc_clear_error();                                                                                         \
    tc_tensor *r__ = (call);                                                                                  \
    ck_assert_msg(r__ == NULL, "%s: succeeded on bad input (line %d)", fname, __LINE__);                      \
    tc_status s__ = tc_last_status();                                                                         \
    ck_assert_msg(s__ == TC_ERR_SHAPE || s__ == TC_ERR_ARG, "%s: status %s (line %d)", fname,                 \
                  tc_status_name(s__), __LINE__);                                                             \
    ck_assert_msg(tc_last_error() && strstr(tc_last_error(), fname), "%s: message '%s' (line %d)", fname,     \
                  tc_last_error() ? tc_last_error() : "(null)", __LINE__);                                    \
  } while (0)

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  const double *coeffs = tc_tensor_data(fx_load(FAM, "persp_coeffs"));
  tc_tensor *disp = fx_load(FAM, "elastic_disp");
  tc_tensor *good = boxes_of(TV_BOX_XYXY, "");
  /* boxes not (..., 4): (6, 3), (4, 5) and a 0-d tensor */
  tc_tensor *bads[3] = {tc_zeros(SHAPE(6, 3), 2, NULL), tc_zeros(SHAPE(4, 5), 2, NULL), tc_scalar_tensor(1.0, NULL)};
  for (int i = 0; i < 3; i++) {
    tc_tensor *bad = bads[i];
    ASSERT_FAILS(tv_boxes_clamp(bad, TV_BOX_XYXY, H, W), "tv_boxes_clamp");
    ASSERT_FAILS(tv_boxes_horizontal_flip(bad, TV_BOX_XYXY, W), "tv_boxes_horizontal_flip");
    ASSERT_FAILS(tv_boxes_vertical_flip(bad, TV_BOX_XYXY, H), "tv_boxes_vertical_flip");
    ASSERT_FAILS(tv_boxes_resize(bad, H, W, 10, 10), "tv_boxes_resize");
    ASSERT_FAILS(tv_boxes_crop(bad, TV_BOX_XYXY, 1, 1, 10, 10), "tv_boxes_crop");
    ASSERT_FAILS(tv_boxes_resized_crop(bad, TV_BOX_XYXY, 1, 1, 10, 10, 5, 5), "tv_boxes_");
    ASSERT_FAILS(tv_boxes_pad(bad, TV_BOX_XYXY, H, W, PAD), "tv_boxes_pad");
    ASSERT_FAILS(tv_boxes_affine(bad, TV_BOX_XYXY, H, W, AFF_ARGS, NULL, false, NULL, NULL), "tv_boxes_affine");
    ASSERT_FAILS(tv_boxes_rotate(bad, TV_BOX_XYXY, H, W, 30.0, true, NULL, NULL, NULL), "tv_boxes_");
    ASSERT_FAILS(tv_boxes_perspective(bad, TV_BOX_XYXY, H, W, coeffs), "tv_boxes_perspective");
    ASSERT_FAILS(tv_boxes_elastic(bad, TV_BOX_XYXY, H, W, disp), "tv_boxes_elastic");
  }
  ck_assert_int_eq(tc_last_status(), TC_ERR_SHAPE); /* elastic on a 0-d tensor: not (..., 4) */
  /* NULL boxes */
  ck_assert_ptr_null(tv_boxes_clamp(NULL, TV_BOX_XYXY, H, W));
  ck_assert_ptr_null(tv_boxes_horizontal_flip(NULL, TV_BOX_XYXY, W));
  ck_assert_ptr_null(tv_boxes_vertical_flip(NULL, TV_BOX_XYXY, H));
  ck_assert_ptr_null(tv_boxes_resize(NULL, H, W, 10, 10));
  ck_assert_ptr_null(tv_boxes_crop(NULL, TV_BOX_XYXY, 1, 1, 10, 10));
  ck_assert_ptr_null(tv_boxes_resized_crop(NULL, TV_BOX_XYXY, 1, 1, 10, 10, 5, 5));
  ck_assert_ptr_null(tv_boxes_pad(NULL, TV_BOX_XYXY, H, W, PAD));
  ck_assert_ptr_null(tv_boxes_affine(NULL, TV_BOX_XYXY, H, W, AFF_ARGS, NULL, false, NULL, NULL));
  ck_assert_ptr_null(tv_boxes_rotate(NULL, TV_BOX_XYXY, H, W, 30.0, false, NULL, NULL, NULL));
  ck_assert_ptr_null(tv_boxes_perspective(NULL, TV_BOX_XYXY, H, W, coeffs));
  ck_assert_ptr_null(tv_boxes_elastic(NULL, TV_BOX_XYXY, H, W, disp));
  ASSERT_FAILS(tv_boxes_clamp(NULL, TV_BOX_XYXY, H, W), "tv_boxes_clamp");
  /* elastic: displacement of the wrong shape, or NULL */
  tc_tensor *bad_disp[4] = {tc_zeros(SHAPE(1, H, W, 3), 4, NULL), tc_zeros(SHAPE(1, H - 1, W, 2), 4, NULL),
                            tc_zeros(SHAPE(H, W, 2), 3, NULL), tc_zeros(SHAPE(2, H, W, 2), 4, NULL)};
  for (int i = 0; i < 4; i++) ASSERT_FAILS(tv_boxes_elastic(good, TV_BOX_XYXY, H, W, bad_disp[i]), "tv_boxes_elastic");
  ASSERT_FAILS(tv_boxes_elastic(good, TV_BOX_XYXY, H, W, NULL), "tv_boxes_elastic");
  /* the displacement must match the canvas passed, not just any (1, h, w, 2) */
  ASSERT_FAILS(tv_boxes_elastic(good, TV_BOX_XYXY, H + 1, W, disp), "tv_boxes_elastic");
  /* unknown formats */
  const int unknown[2] = {3, -1};
  for (int i = 0; i < 2; i++) {
    tv_box_format u = (tv_box_format)unknown[i];
    ASSERT_FAILS(tv_boxes_clamp(good, u, H, W), "tv_boxes_clamp");
    ASSERT_FAILS(tv_boxes_horizontal_flip(good, u, W), "tv_boxes_horizontal_flip");
    ASSERT_FAILS(tv_boxes_vertical_flip(good, u, H), "tv_boxes_vertical_flip");
    ASSERT_FAILS(tv_boxes_crop(good, u, 1, 1, 10, 10), "tv_boxes_crop");
    ASSERT_FAILS(tv_boxes_resized_crop(good, u, 1, 1, 10, 10, 5, 5), "tv_boxes_");
    ASSERT_FAILS(tv_boxes_pad(good, u, H, W, PAD), "tv_boxes_pad");
    ASSERT_FAILS(tv_boxes_affine(good, u, H, W, AFF_ARGS, NULL, false, NULL, NULL), "tv_boxes_affine");
    ASSERT_FAILS(tv_boxes_rotate(good, u, H, W, 30.0, true, NULL, NULL, NULL), "tv_boxes_");
    ASSERT_FAILS(tv_boxes_perspective(good, u, H, W, coeffs), "tv_boxes_perspective");
    ASSERT_FAILS(tv_boxes_elastic(good, u, H, W, disp), "tv_boxes_elastic");
  }
  /* perspective coefficients that cannot be inverted (c0 * c4 - c1 * c3 == 0), and NULL */
  const double singular[8] = {1, 2, 0, 2, 4, 0, 0, 0};
  ASSERT_FAILS(tv_boxes_perspective(good, TV_BOX_XYXY, H, W, singular), "tv_boxes_perspective");
  ck_assert_int_eq(tc_last_status(), TC_ERR_ARG);
  ASSERT_FAILS(tv_boxes_perspective(good, TV_BOX_XYXY, H, W, NULL), "tv_boxes_perspective");
  /* affine: scale must be positive (torchvision's ValueError) */
  ASSERT_FAILS(tv_boxes_affine(good, TV_BOX_XYXY, H, W, 0.0, 0, 0, 0.0, 0, 0, NULL, false, NULL, NULL),
               "tv_boxes_affine");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* t: boxes (cxcywh), displacement, coefficients (loaded once: fixture loading must not be made to fail) */
static int boxes_once(void *ctx) {
  tc_tensor **t = ctx;
  const double *coeffs = tc_tensor_data(t[2]);
  tc_scope_push();
  int64_t oh, ow;
  tc_tensor *a = tv_boxes_rotate(t[0], TV_BOX_CXCYWH, H, W, 35.0, true, NULL, &oh, &ow);
  tc_tensor *p = a ? tv_boxes_perspective(t[0], TV_BOX_CXCYWH, H, W, coeffs) : NULL;
  tc_tensor *e = p ? tv_boxes_elastic(t[0], TV_BOX_CXCYWH, H, W, t[1]) : NULL;
  tc_tensor *r = e ? tv_boxes_resized_crop(t[0], TV_BOX_CXCYWH, 3, 6, 20, 24, 32, 36) : NULL;
  tc_tensor *c = r ? tv_boxes_pad(t[0], TV_BOX_CXCYWH, H, W, PAD) : NULL;
  tc_scope_pop();
  return c == NULL;
}

START_TEST(test_alloc_failures) {
  tc_tensor *t[3] = {fx_load(FAM, "boxes_cxcywh"), fx_load(FAM, "elastic_disp"), fx_load(FAM, "persp_coeffs")};
  check_alloc_failures(boxes_once, t, "boxes geometry");
  for (int i = 0; i < 3; i++) tc_tensor_release(t[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_boxes");
  TCase *tc = tcase_create("boxes");
  tcase_add_test(tc, test_clamp_flip_resize);
  tcase_add_test(tc, test_crop_pad);
  tcase_add_test(tc, test_affine_rotate);
  tcase_add_test(tc, test_perspective_elastic);
  tcase_add_test(tc, test_dtypes_shapes);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
