/* tv_encode_png and tv_encode_jpeg: PNG round trips exactly for uint8/uint16 and 1..4 channels at
 * every level and for strided views; JPEG round trips within a tolerance, against
 * torchvision.io.encode_jpeg's files (tests/fixtures/gen/gen_vision_io.py) in size and pixels, in
 * every subsampling; tv_write_file/png/jpeg; argument errors; allocation failures. */
#include <ctorch/vision_io.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"

#define FAM "vision_io"

/* A (C, H, W) test image of dtype u8 or u16 with varied content. */
static tc_tensor *pattern(int64_t C, int64_t H, int64_t W, tc_dtype dt) {
  tc_tensor *t = tc_empty(SHAPE(C, H, W), 3, TC_OPTS(.dtype = dt));
  for (int64_t i = 0; i < C * H * W; i++) {
    uint32_t v = (uint32_t)(i * 2654435761u) >> 7;
    if (dt == TC_U8)
      ((uint8_t *)tc_tensor_data(t))[i] = (uint8_t)(i % 7 == 0 ? v : i * 3);
    else
      ((uint16_t *)tc_tensor_data(t))[i] = (uint16_t)(i % 5 == 0 ? v : i * 977);
  }
  return t;
}

START_TEST(test_png_round_trip) {
  LEAK_BEGIN;
  const tc_dtype dts[2] = {TC_U8, TC_U16};
  const int levels[3] = {0, 6, 9};
  for (int d = 0; d < 2; d++)
    for (int64_t C = 1; C <= 4; C++)
      for (int l = 0; l < 3; l++) {
        tc_tensor *img = pattern(C, 9, 17, dts[d]);
        tc_tensor *png = tv_encode_png(img, levels[l]);
        ck_assert_msg(png != NULL, "%s", tc_last_error());
        ck_assert_int_eq(tc_tensor_ndim(png), 1);
        ck_assert_int_eq(tc_tensor_dtype(png), TC_U8);
        tc_tensor *back = tv_decode_png(tc_tensor_data(png), (size_t)tc_tensor_numel(png), TV_IMAGE_UNCHANGED, true);
        assert_equal(back, img, "png round trip");
        tc_tensor_release(back);
        tc_tensor_release(png);
        tc_tensor_release(img);
      }
  /* a strided view (every other column of a transposed image) encodes its values, not its storage */
  tc_tensor *big = pattern(3, 20, 12, TC_U8);
  tc_tensor *tr = tc_transpose(big, 1, 2);
  tc_tensor *view = tc_slice(tr, 2, 0, TC_END, 2);
  tc_tensor *png = tv_encode_png(view, 6);
  tc_tensor *back = tv_decode_png(tc_tensor_data(png), (size_t)tc_tensor_numel(png), TV_IMAGE_UNCHANGED, false);
  assert_equal(back, view, "strided view");
  tc_tensor_release(back);
  tc_tensor_release(png);
  tc_tensor_release(view);
  tc_tensor_release(tr);
  tc_tensor_release(big);
  LEAK_END;
}
END_TEST

/* mean and max |a - b| of two uint8 tensors of one shape */
static void diff_stats(const tc_tensor *a, const tc_tensor *b, double *mean, int *maxd) {
  ck_assert_int_eq(tc_tensor_numel(a), tc_tensor_numel(b));
  const uint8_t *x = tc_tensor_data(a), *y = tc_tensor_data(b);
  int64_t n = tc_tensor_numel(a);
  double s = 0;
  *maxd = 0;
  for (int64_t i = 0; i < n; i++) {
    int d = abs((int)x[i] - (int)y[i]);
    s += d;
    if (d > *maxd) *maxd = d;
  }
  *mean = s / (double)n;
}

static tc_tensor *decode(const tc_tensor *file, tv_image_mode mode) {
  tc_tensor *t = tv_decode_jpeg(tc_tensor_data(file), (size_t)tc_tensor_numel(file), mode, false);
  ck_assert_msg(t != NULL, "%s", tc_last_error());
  return t;
}

START_TEST(test_jpeg_against_torchvision) {
  LEAK_BEGIN;
  const char *imgs[2] = {"enc_rgb", "enc_gray"};
  const int qs[2] = {75, 95};
  for (int i = 0; i < 2; i++) {
    tc_tensor *img = fx_load(FAM, imgs[i]);
    for (int k = 0; k < 2; k++) {
      char name[64];
      snprintf(name, sizeof name, "%s_tv_q%d", imgs[i], qs[k]);
      tc_tensor *theirs = fx_load(FAM, name);
      tc_tensor *ours = tv_encode_jpeg(img, qs[k], TV_JPEG_SUBSAMPLING_420);
      ck_assert_msg(ours != NULL, "%s", tc_last_error());
      /* the same settings: sizes within 5 % (the bytes are equal when both use one libjpeg-turbo) */
      double ratio = (double)tc_tensor_numel(ours) / (double)tc_tensor_numel(theirs);
      ck_assert_msg(ratio > 0.95 && ratio < 1.05, "%s: %lld bytes vs torchvision's %lld", name,
                    (long long)tc_tensor_numel(ours), (long long)tc_tensor_numel(theirs));
      tc_tensor *a = decode(ours, TV_IMAGE_UNCHANGED), *b = decode(theirs, TV_IMAGE_UNCHANGED);
      assert_shape(a, tc_tensor_shape(img), 3);
      double mean;
      int maxd;
      diff_stats(a, b, &mean, &maxd);
      ck_assert_msg(mean < 0.5 && maxd <= 8, "%s: decoded files differ by mean %.3f, max %d", name, mean, maxd);
      tc_tensor_release(a);
      tc_tensor_release(b);
      tc_tensor_release(ours);
      tc_tensor_release(theirs);
    }
    tc_tensor_release(img);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_jpeg_round_trip) {
  LEAK_BEGIN;
  tc_tensor *img = fx_load(FAM, "enc_rgb");
  /* quality 100 at 4:4:4 is close to lossless on this image; 4:2:0 loses chroma detail */
  const tv_jpeg_subsampling subs[3] = {TV_JPEG_SUBSAMPLING_444, TV_JPEG_SUBSAMPLING_422, TV_JPEG_SUBSAMPLING_420};
  const double mean_tol[3] = {1.0, 6.0, 8.0};
  for (int s = 0; s < 3; s++) {
    tc_tensor *f = tv_encode_jpeg(img, 100, subs[s]);
    tc_tensor *back = decode(f, TV_IMAGE_UNCHANGED);
    double mean;
    int maxd;
    diff_stats(back, img, &mean, &maxd);
    ck_assert_msg(mean < mean_tol[s], "subsampling %d: mean error %.3f (max %d)", (int)subs[s], mean, maxd);
    tc_tensor_release(back);
    tc_tensor_release(f);
  }
  /* lower quality: smaller files */
  tc_tensor *q100 = tv_encode_jpeg(img, 100, TV_JPEG_SUBSAMPLING_420);
  tc_tensor *q30 = tv_encode_jpeg(img, 30, TV_JPEG_SUBSAMPLING_420);
  ck_assert_int_lt(tc_tensor_numel(q30), tc_tensor_numel(q100));
  /* gray subsampling of an RGB image: a one-channel JPEG of the luminance */
  tc_tensor *g = tv_encode_jpeg(img, 90, TV_JPEG_SUBSAMPLING_GRAY);
  tc_tensor *gu = decode(g, TV_IMAGE_UNCHANGED), *ref = decode(q100, TV_IMAGE_GRAY);
  ck_assert_int_eq(tc_tensor_shape(gu)[0], 1);
  double mean;
  int maxd;
  diff_stats(gu, ref, &mean, &maxd);
  ck_assert_msg(mean < 2.0, "gray JPEG vs luminance: mean %.3f", mean);
  /* a one-channel image makes a gray JPEG whatever the subsampling */
  tc_tensor *gray = fx_load(FAM, "enc_gray");
  tc_tensor *gf = tv_encode_jpeg(gray, 100, TV_JPEG_SUBSAMPLING_444);
  tc_tensor *gb = decode(gf, TV_IMAGE_UNCHANGED);
  diff_stats(gb, gray, &mean, &maxd);
  ck_assert_msg(mean < 0.6 && maxd <= 3, "gray q100: mean %.3f max %d", mean, maxd);
  tc_tensor *list[] = {q100, q30, g, gu, ref, gray, gf, gb, img};
  for (int i = 0; i < 9; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_write_files) {
  LEAK_BEGIN;
  char dir[] = "/tmp/ctorch_io_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char p1[128], p2[128], p3[128];
  snprintf(p1, sizeof p1, "%s/a.bin", dir);
  snprintf(p2, sizeof p2, "%s/b.png", dir);
  snprintf(p3, sizeof p3, "%s/c.jpg", dir);
  tc_tensor *img = pattern(3, 10, 14, TC_U8);
  tc_tensor *png = tv_encode_png(img, 6);
  ck_assert_int_eq(tv_write_file(p1, png), TC_OK);
  tc_tensor *again = tv_read_file(p1);
  assert_equal(again, png, "write_file/read_file");
  ck_assert_int_eq(tv_write_png(img, p2, 9), TC_OK);
  tc_tensor *r2 = tv_read_image(p2, TV_IMAGE_UNCHANGED);
  assert_equal(r2, img, "write_png/read_image");
  ck_assert_int_eq(tv_write_jpeg(img, p3, 90), TC_OK);
  tc_tensor *r3 = tv_read_image(p3, TV_IMAGE_RGB);
  assert_shape(r3, SHAPE(3, 10, 14), 3);
  /* errors: an unwritable path, a tensor that is not 1-D uint8 */
  ck_assert_int_eq(tv_write_file("/nonexistent/dir/x.bin", png), TC_ERR_IO);
  ck_assert_int_eq(tv_write_file(p1, img), TC_ERR_ARG);
  ck_assert_int_eq(tv_write_file(NULL, png), TC_ERR_ARG);
  ck_assert_int_eq(tv_write_png(img, "/nonexistent/dir/x.png", 6), TC_ERR_IO);
  unlink(p1), unlink(p2), unlink(p3), rmdir(dir);
  tc_tensor *list[] = {img, png, again, r2, r3};
  for (int i = 0; i < 5; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_bad_arguments) {
  LEAK_BEGIN;
  tc_tensor *img = pattern(3, 4, 5, TC_U8);
  tc_tensor *five = pattern(5, 4, 5, TC_U8);
  tc_tensor *flat = tc_empty(SHAPE(20), 1, TC_OPTS(.dtype = TC_U8));
  tc_tensor *f32 = tc_zeros(SHAPE(3, 4, 5), 3, NULL);
  tc_tensor *u16 = pattern(3, 4, 5, TC_U16);
  ck_assert_ptr_null(tv_encode_png(NULL, 6));
  assert_error(TC_ERR_ARG, NULL);
  ck_assert_ptr_null(tv_encode_png(img, 10));
  assert_error(TC_ERR_ARG, "compression_level");
  ck_assert_ptr_null(tv_encode_png(img, -1));
  ck_assert_ptr_null(tv_encode_png(five, 6));
  assert_error(TC_ERR_SHAPE, NULL);
  ck_assert_ptr_null(tv_encode_png(flat, 6));
  assert_error(TC_ERR_SHAPE, NULL);
  ck_assert_ptr_null(tv_encode_png(f32, 6));
  assert_error(TC_ERR_DTYPE, NULL);
  ck_assert_ptr_null(tv_encode_jpeg(img, 0, TV_JPEG_SUBSAMPLING_420));
  assert_error(TC_ERR_ARG, "quality");
  ck_assert_ptr_null(tv_encode_jpeg(img, 101, TV_JPEG_SUBSAMPLING_420));
  ck_assert_ptr_null(tv_encode_jpeg(img, 75, (tv_jpeg_subsampling)9));
  assert_error(TC_ERR_ARG, "subsampling");
  ck_assert_ptr_null(tv_encode_jpeg(u16, 75, TV_JPEG_SUBSAMPLING_420));
  assert_error(TC_ERR_DTYPE, NULL);
  tc_tensor *four = pattern(4, 4, 5, TC_U8);
  ck_assert_ptr_null(tv_encode_jpeg(four, 75, TV_JPEG_SUBSAMPLING_420));
  assert_error(TC_ERR_SHAPE, NULL);
  ck_assert_ptr_null(tv_encode_jpeg(NULL, 75, TV_JPEG_SUBSAMPLING_420));
  assert_error(TC_ERR_ARG, NULL);
  tc_tensor *list[] = {img, five, flat, f32, u16, four};
  for (int i = 0; i < 6; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

typedef struct {
  const tc_tensor *img;
  bool jpeg;
} enc_ctx;

static int encode_once(void *p) {
  enc_ctx *c = p;
  tc_tensor *t = c->jpeg ? tv_encode_jpeg(c->img, 80, TV_JPEG_SUBSAMPLING_420) : tv_encode_png(c->img, 6);
  tc_tensor_release(t);
  return t ? 0 : 1;
}

START_TEST(test_allocation_failures) {
  tc_tensor *img = pattern(3, 8, 8, TC_U8);
  tc_tensor *tr = tc_transpose(img, 1, 2); /* a view: the encoders copy it */
  enc_ctx a = {tr, false}, b = {tr, true};
  check_alloc_failures(encode_once, &a, "tv_encode_png");
  check_alloc_failures(encode_once, &b, "tv_encode_jpeg");
  tc_tensor_release(tr);
  tc_tensor_release(img);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_encode");
  TCase *tc = tcase_create("encode");
  tcase_add_test(tc, test_png_round_trip);
  tcase_add_test(tc, test_jpeg_against_torchvision);
  tcase_add_test(tc, test_jpeg_round_trip);
  tcase_add_test(tc, test_write_files);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_allocation_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
