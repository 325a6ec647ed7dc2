/* torchvision.ops and torchvision.utils against torchvision fixtures (tests/fixtures/gen/gen_vision_ops.py):
 * box arithmetic, nms/batched_nms indices exactly, roi_align within 1e-5 (and its input gradient),
 * roi_pool, make_grid and draw_bounding_boxes exactly; argument errors; no leaks. */
#include <ctorch/vision.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include "test_util.h"

#define FAM "vision_ops"

START_TEST(test_box_ops) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = fx_load(FAM, "boxes_a"), *b = fx_load(FAM, "boxes_b");
  assert_close(tv_box_area(a), fx_load(FAM, "area_a"), 0, 0, "box_area");
  assert_close(tv_box_iou(a, b), fx_load(FAM, "iou_ab"), 0, 0, "box_iou");
  const char *names[3] = {"xyxy", "xywh", "cxcywh"};
  for (int i = 0; i < 3; i++)
    for (int o = 0; o < 3; o++) {
      char n[64];
      snprintf(n, sizeof n, "convert_%s_%s", names[i], names[o]);
      /* the fixture reads boxes_a as format i */
      tc_tensor *want = fx_load(FAM, n);
      assert_close(tv_box_convert(a, (tv_box_format)i, (tv_box_format)o), want, 0, 0, n);
    }
  assert_close(tv_clip_boxes_to_image(tc_sub_scalar(a, 10.0), 30, 25), fx_load(FAM, "clip_a"), 0, 0, "clip");
  assert_equal(tv_remove_small_boxes(a, 8.0), fx_load(FAM, "small_a"), "remove_small_boxes");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_nms) {
  LEAK_BEGIN;
  tc_scope_push();
  const char *dt[2] = {"f32", "f64"};
  for (int d = 0; d < 2; d++) {
    char n[64];
    snprintf(n, sizeof n, "nms_boxes_%s", dt[d]);
    tc_tensor *boxes = fx_load(FAM, n);
    snprintf(n, sizeof n, "nms_scores_%s", dt[d]);
    tc_tensor *scores = fx_load(FAM, n);
    for (int t = 3; t <= 7; t += 2) {
      snprintf(n, sizeof n, "nms_keep_%s_%d", dt[d], t);
      assert_equal(tv_nms(boxes, scores, t / 10.0), fx_load(FAM, n), n);
    }
  }
  for (int k = 0; k < 2; k++) {
    int nb = k ? 1500 : 300;
    char n[4][64];
    snprintf(n[0], 64, "bnms_boxes_%d", nb), snprintf(n[1], 64, "bnms_scores_%d", nb);
    snprintf(n[2], 64, "bnms_idxs_%d", nb), snprintf(n[3], 64, "bnms_keep_%d", nb);
    tc_tensor *keep = tv_batched_nms(fx_load(FAM, n[0]), fx_load(FAM, n[1]), fx_load(FAM, n[2]), 0.5);
    assert_equal(keep, fx_load(FAM, n[3]), n[3]);
  }
  /* empty input, and every box kept at threshold 1 */
  tc_tensor *e = tc_zeros(SHAPE(0, 4), 2, NULL), *es = tc_zeros(SHAPE(0), 1, NULL);
  tc_tensor *k = tv_nms(e, es, 0.5);
  ck_assert_int_eq(tc_tensor_numel(k), 0);
  ck_assert_int_eq(tc_tensor_dtype(k), TC_I64);
  ck_assert_int_eq(tc_tensor_numel(tv_batched_nms(e, es, tc_zeros(SHAPE(0), 1, TC_OPTS(.dtype = TC_I64)), 0.5)), 0);
  /* errors */
  ck_assert_ptr_null(tv_nms(fx_load(FAM, "boxes_a"), es, 0.5));
  assert_error(TC_ERR_SHAPE, "scores must be (N)");
  ck_assert_ptr_null(tv_nms(tc_zeros(SHAPE(3, 3), 2, NULL), es, 0.5));
  assert_error(TC_ERR_SHAPE, "(N, 4)");
  ck_assert_ptr_null(tv_nms(tc_zeros(SHAPE(2, 4), 2, TC_OPTS(.dtype = TC_I64)), tc_zeros(SHAPE(2), 1, NULL), 0.5));
  assert_error(TC_ERR_DTYPE, "float32 or float64");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_roi_align) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = fx_load(FAM, "roi_x"), *rois = fx_load(FAM, "roi_rois");
  struct {
    const char *name;
    int64_t oh, ow;
    double scale;
    int64_t sr;
    bool aligned;
  } cfg[] = {{"a", 3, 4, 1.0, 2, false}, {"b", 5, 5, 1.0, -1, true}, {"c", 2, 3, 0.5, 0, false},
             {"d", 7, 7, 2.0, -1, false}, {"e", 4, 2, 0.75, 3, true}};
  for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
    char n[64];
    snprintf(n, sizeof n, "roi_align_%s", cfg[i].name);
    tc_tensor *out = tv_roi_align(x, rois, cfg[i].oh, cfg[i].ow, cfg[i].scale, cfg[i].sr, cfg[i].aligned);
    assert_close(out, fx_load(FAM, n), 1e-6, 1e-6, n); /* bit-exact here; rounding margin */
    /* the differentiable path: same values, and torchvision's input gradient */
    tc_tensor *xg = tc_clone(x);
    tc_tensor_requires_grad_(xg, true);
    tc_tensor *og = tv_roi_align(xg, rois, cfg[i].oh, cfg[i].ow, cfg[i].scale, cfg[i].sr, cfg[i].aligned);
    assert_close(og, fx_load(FAM, n), 1e-5, 1e-5, n);
    snprintf(n, sizeof n, "roi_align_%s_gout", cfg[i].name);
    ck_assert_int_eq(tc_backward_ex(og, fx_load(FAM, n), false), TC_OK);
    snprintf(n, sizeof n, "roi_align_%s_gin", cfg[i].name);
    assert_close(tc_tensor_grad(xg), fx_load(FAM, n), 1e-5, 1e-5, n);
  }
  tc_tensor *x64 = tc_to_dtype(x, TC_F64), *r64 = tc_to_dtype(rois, TC_F64);
  assert_close(tv_roi_align(x64, r64, 3, 3, 0.5, -1, true), fx_load(FAM, "roi_align_f64"), 1e-12, 1e-12, "f64");
  /* errors: batch index out of range, dtype mismatch, bad shapes */
  tc_tensor *bad = tc_clone(rois);
  tc_fill_inplace(tc_select(tc_select(bad, 0, 2), 0, 0), 2.0);
  ck_assert_ptr_null(tv_roi_align(x, bad, 2, 2, 1.0, 2, false));
  assert_error(TC_ERR_ARG, "batch index");
  ck_assert_ptr_null(tv_roi_align(x, r64, 2, 2, 1.0, 2, false));
  assert_error(TC_ERR_DTYPE, "rois are float64");
  ck_assert_ptr_null(tv_roi_align(tc_select(x, 0, 0), rois, 2, 2, 1.0, 2, false));
  assert_error(TC_ERR_SHAPE, "(B, C, H, W)");
  ck_assert_ptr_null(tv_roi_align(x, rois, 0, 2, 1.0, 2, false));
  assert_error(TC_ERR_ARG, "output size");
  /* no rois: (0, C, oh, ow) */
  tc_tensor *none = tv_roi_align(x, tc_zeros(SHAPE(0, 5), 2, NULL), 2, 3, 1.0, 2, false);
  assert_shape(none, SHAPE(0, 3, 2, 3), 4);
  /* boxes list form */
  tc_tensor *b0 = tc_narrow(fx_load(FAM, "boxes_a"), 0, 0, 2), *b1 = tc_narrow(fx_load(FAM, "boxes_b"), 0, 0, 3);
  tc_tensor *r = tv_boxes_to_rois((const tc_tensor *const[]){b0, b1}, 2);
  assert_shape(r, SHAPE(5, 5), 2);
  double v;
  tc_item_double(tc_select(tc_select(r, 0, 3), 0, 0), &v);
  ck_assert(v == 1.0);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

static tc_tensor *roi_pool_f(const tc_tensor *const *in, int64_t n, void *rois) {
  (void)n;
  return tv_roi_pool(in[0], rois, 3, 2, 0.75, NULL);
}

START_TEST(test_roi_pool) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = fx_load(FAM, "roi_x"), *rois = fx_load(FAM, "roi_rois");
  struct {
    const char *name;
    int64_t oh, ow;
    double scale;
  } cfg[] = {{"roi_pool_a", 3, 3, 1.0}, {"roi_pool_b", 2, 4, 0.5}, {"roi_pool_c", 5, 5, 1.5}};
  for (int i = 0; i < 3; i++) {
    tc_tensor *am = NULL;
    tc_tensor *out = tv_roi_pool(x, rois, cfg[i].oh, cfg[i].ow, cfg[i].scale, &am);
    assert_close(out, fx_load(FAM, cfg[i].name), 0, 0, cfg[i].name);
    ck_assert_ptr_nonnull(am);
    tc_tensor_release(am);
    /* the differentiable path: the same values, and torchvision's input gradient */
    char n[64];
    tc_tensor *xg = tc_clone(x);
    tc_tensor_requires_grad_(xg, true);
    tc_tensor *og = tv_roi_pool(xg, rois, cfg[i].oh, cfg[i].ow, cfg[i].scale, NULL);
    assert_close(og, fx_load(FAM, cfg[i].name), 0, 0, cfg[i].name);
    snprintf(n, sizeof n, "%s_gout", cfg[i].name);
    ck_assert_int_eq(tc_backward_ex(og, fx_load(FAM, n), false), TC_OK);
    snprintf(n, sizeof n, "%s_gin", cfg[i].name);
    assert_close(tc_tensor_grad(xg), fx_load(FAM, n), 1e-6, 1e-6, n);
  }
  /* a bin of only -inf has no maximum (argmax -1): -FLT_MAX with or without autograd, as torchvision */
  tc_tensor *ninf = tc_full(SHAPE(1, 1, 4, 4), 4, -INFINITY, NULL), *r1 = T_F32(SHAPE(1, 5), 2, 0, 0, 0, 3, 3);
  tc_tensor *p0 = tv_roi_pool(ninf, r1, 2, 2, 1.0, NULL);
  tc_tensor_requires_grad_(ninf, true);
  tc_tensor *p1 = tv_roi_pool(ninf, r1, 2, 2, 1.0, NULL);
  assert_equal(p1, p0, "all -inf bins");
  float vals[4];
  ck_assert_int_eq(tc_tensor_copy_to_buffer(p1, vals, sizeof vals), TC_OK);
  ck_assert(vals[0] == -FLT_MAX && vals[3] == -FLT_MAX);
  /* finite differences in float64 (ties are measure-zero for random inputs) */
  tc_tensor *x64 = tc_to_dtype(x, TC_F64), *r64 = tc_to_dtype(rois, TC_F64);
  tc_tensor_requires_grad_(x64, true);
  ck_assert_msg(tc_gradcheck(roi_pool_f, (const tc_tensor *const[]){x64}, 1, r64, 1e-6, 1e-5, 1e-4) == TC_OK, "%s",
                tc_last_error());
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_make_grid) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *imgs = fx_load(FAM, "grid_imgs");
  assert_equal(tv_make_grid(imgs, 8, 2, false, NULL, false, 0.0), fx_load(FAM, "grid_default"), "default");
  assert_equal(tv_make_grid(imgs, 2, 1, false, NULL, false, 0.5), fx_load(FAM, "grid_nrow2"), "nrow2");
  assert_equal(tv_make_grid(imgs, 3, 2, true, NULL, false, 0.0), fx_load(FAM, "grid_norm"), "normalize");
  assert_equal(tv_make_grid(imgs, 3, 2, true, NULL, true, 0.0), fx_load(FAM, "grid_norm_each"), "scale_each");
  assert_equal(tv_make_grid(imgs, 4, 2, true, (const double[]){-0.5, 0.5}, true, 0.0), fx_load(FAM, "grid_norm_range"),
               "value_range");
  assert_equal(tv_make_grid(fx_load(FAM, "grid_gray_imgs"), 2, 3, false, NULL, false, 0.0), fx_load(FAM, "grid_gray"),
               "gray");
  assert_equal(tv_make_grid(tc_narrow(imgs, 0, 0, 1), 8, 2, true, NULL, false, 0.0), fx_load(FAM, "grid_single"),
               "single");
  assert_equal(tv_make_grid(fx_load(FAM, "grid_u8_imgs"), 3, 2, false, NULL, false, 255), fx_load(FAM, "grid_u8"),
               "uint8");
  /* the caller's images are untouched by normalize */
  assert_equal(imgs, fx_load(FAM, "grid_imgs"), "input kept");
  ck_assert_ptr_null(tv_make_grid(fx_load(FAM, "grid_u8_imgs"), 3, 2, true, NULL, false, 0));
  assert_error(TC_ERR_DTYPE, "normalize");
  ck_assert_ptr_null(tv_make_grid(imgs, 0, 2, false, NULL, false, 0));
  assert_error(TC_ERR_ARG, "nrow");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_draw_boxes) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *img = fx_load(FAM, "draw_img"), *boxes = fx_load(FAM, "draw_boxes");
  tc_tensor *cols = tc_contiguous(fx_load(FAM, "draw_colors"));
  const uint8_t *c = tc_tensor_data(cols);
  assert_equal(tv_draw_bounding_boxes(img, boxes, NULL, 0, 1, false), fx_load(FAM, "draw_default"), "default");
  assert_equal(tv_draw_bounding_boxes(img, boxes, c, 6, 3, false), fx_load(FAM, "draw_w3"), "width 3");
  assert_equal(tv_draw_bounding_boxes(img, boxes, c, 6, 2, true), fx_load(FAM, "draw_fill"), "fill");
  assert_equal(tv_draw_bounding_boxes(img, boxes, (const uint8_t[]){7, 200, 90}, 1, 1, true),
               fx_load(FAM, "draw_fill_one"), "fill one color");
  assert_equal(tv_draw_bounding_boxes(tc_narrow(img, 0, 0, 1), tc_narrow(boxes, 0, 0, 3), NULL, 0, 1, false),
               fx_load(FAM, "draw_gray"), "gray");
  tc_tensor *inv = T_F32(SHAPE(1, 4), 2, 5, 5, 2, 8);
  ck_assert_ptr_null(tv_draw_bounding_boxes(img, inv, NULL, 0, 1, false));
  assert_error(TC_ERR_ARG, "x1 <= x2");
  ck_assert_ptr_null(tv_draw_bounding_boxes(img, boxes, c, 2, 1, false));
  assert_error(TC_ERR_ARG, "ncolors");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Label text against torchvision's (PIL's, raqm layout) with the same font file: HarfBuzz shaping,
 * FreeType's hinted antialiased glyphs and PIL's blend give the same pixels. */
START_TEST(test_draw_labels) {
  LEAK_BEGIN;
  tc_scope_push();
  const char *dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  tc_tensor *img = fx_load(FAM, "label_img"), *boxes = fx_load(FAM, "label_boxes");
  const char *labels[] = {"cat", "Tojo 9%", "AVWa"};
  assert_equal(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, labels, dejavu, 10, NULL, 0, false),
               fx_load(FAM, "label_10"), "font size 10");
  static const uint8_t cols[9] = {255, 0, 0, 0, 255, 0, 0, 0, 255}, white[3] = {255, 255, 255};
  assert_equal(tv_draw_bounding_boxes_labeled(img, boxes, cols, 3, 2, false, labels, dejavu, 16, white, 1, true),
               fx_load(FAM, "label_16_fill"), "font size 16, label backgrounds");
  /* no labels, or empty ones: the plain drawing; the default font (NULL) renders */
  const char *none[] = {NULL, "", NULL};
  assert_equal(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, none, "/nonexistent.ttf", 0, NULL, 0,
                                              false),
               tv_draw_bounding_boxes(img, boxes, NULL, 0, 1, false), "empty labels");
  ck_assert_ptr_nonnull(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, labels, NULL, 0, NULL, 0, false));
  /* a missing or broken font file, bad label colors */
  ck_assert_ptr_null(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, labels, "/nonexistent.ttf", 10, NULL,
                                                    0, false));
  assert_error(TC_ERR_IO, "/nonexistent.ttf");
  char junk[] = "/tmp/ctorch_not_a_fontXXXXXX";
  int fd = mkstemp(junk);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "not a font at all", 17), 17);
  close(fd);
  ck_assert_ptr_null(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, labels, junk, 10, NULL, 0, false));
  assert_error(TC_ERR_IO, "TrueType");
  unlink(junk);
  ck_assert_ptr_null(tv_draw_bounding_boxes_labeled(img, boxes, NULL, 0, 1, false, labels, dejavu, 10, cols, 2, false));
  assert_error(TC_ERR_ARG, "nlabel_colors");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* t: boxes, scores, idxs, roi input, rois (loaded once: fixture loading must not be made to fail) */
static int ops_once(void *ctx) {
  tc_tensor **t = ctx;
  tc_scope_push();
  tc_tensor *k = tv_batched_nms(t[0], t[1], t[2], 0.5);
  tc_tensor *r = k ? tv_roi_align(t[3], t[4], 2, 2, 1.0, -1, true) : NULL;
  tc_tensor *p = r ? tv_roi_pool(t[3], t[4], 2, 2, 1.0, NULL) : NULL;
  tc_tensor *g = p ? tv_make_grid(t[3], 1, 2, true, NULL, true, 0.0) : NULL;
  tc_tensor *iou = g ? tv_box_iou(t[0], t[0]) : NULL;
  tc_scope_pop();
  return iou == NULL;
}

START_TEST(test_alloc_failures) {
  tc_tensor *t[5] = {fx_load(FAM, "bnms_boxes_300"), fx_load(FAM, "bnms_scores_300"), fx_load(FAM, "bnms_idxs_300"),
                     fx_load(FAM, "roi_x"), fx_load(FAM, "roi_rois")};
  check_alloc_failures(ops_once, t, "batched_nms, roi_align, roi_pool, make_grid, box_iou");
  for (int i = 0; i < 5; i++) tc_tensor_release(t[i]);
}
END_TEST

/* save_image: the grid as torchvision converts it to uint8, read back from the PNG file */
START_TEST(test_save_image) {
  tc_scope_push();
  tc_tensor *imgs = tc_rand(SHAPE(3, 3, 5, 4), 4, NULL);
  char path[] = "/tmp/ctorch_save_image_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(tv_save_image(imgs, path, 2, 1, false, NULL, false, 0.0), TC_OK);
  tc_tensor *back = tv_read_image(path, TV_IMAGE_UNCHANGED);
  unlink(path);
  tc_tensor *grid = tv_make_grid(imgs, 2, 1, false, NULL, false, 0.0);
  tc_tensor *want = tc_to_dtype(tc_clamp(tc_add_scalar(tc_mul_scalar(grid, 255.0), 0.5), 0, 255), TC_U8);
  assert_equal(back, want, "save_image round trip");
  ck_assert_int_eq(tv_save_image(tc_ones(SHAPE(1, 2, 2), 3, TC_OPTS(.dtype = TC_U8)), path, 8, 2, false, NULL, false, 0),
                   TC_ERR_DTYPE);
  ck_assert_int_eq(tv_save_image(imgs, "/nonexistent-dir/x.png", 8, 2, false, NULL, false, 0), TC_ERR_IO);
  tc_scope_pop();
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_ops");
  TCase *tc = tcase_create("ops");
  tcase_add_test(tc, test_box_ops);
  tcase_add_test(tc, test_nms);
  tcase_add_test(tc, test_roi_align);
  tcase_add_test(tc, test_roi_pool);
  tcase_add_test(tc, test_make_grid);
  tcase_add_test(tc, test_draw_boxes);
  tcase_add_test(tc, test_draw_labels);
  tcase_add_test(tc, test_save_image);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
