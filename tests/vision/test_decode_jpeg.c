/* tv_decode_jpeg against torchvision.io.decode_jpeg (tests/fixtures/gen/gen_vision.py): baseline
 * 4:2:0 and 4:4:4, progressive and grayscale files in the modes UNCHANGED, GRAY and RGB (pixel
 * exact), the alpha modes, and truncated, corrupt and empty inputs; CMYK files against torchvision
 * (tests/fixtures/gen/gen_vision_io.py) and the DCT-scaled decode against an area downscale. */
#include <ctorch/vision.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision"

static tc_tensor *jpeg_bytes(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s.jpg", CTORCH_FIXTURES_DIR, FAM, name);
  tc_tensor *b = tv_read_file(path);
  ck_assert_msg(b != NULL, "%s", tc_last_error());
  return b;
}

START_TEST(test_pixels_match_torchvision) {
  LEAK_BEGIN;
  const char *files[] = {"rgb420", "rgb444", "rgb_progressive", "gray"};
  const struct {
    const char *tag;
    tv_image_mode mode;
  } modes[] = {{"unchanged", TV_IMAGE_UNCHANGED}, {"gray", TV_IMAGE_GRAY}, {"rgb", TV_IMAGE_RGB}};
  for (int f = 0; f < 4; f++) {
    tc_tensor *b = jpeg_bytes(files[f]);
    for (int m = 0; m < 3; m++) {
      char name[64];
      snprintf(name, sizeof name, "%s_%s", files[f], modes[m].tag);
      tc_tensor *got = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), modes[m].mode, false);
      ck_assert_msg(got != NULL, "%s: %s", name, tc_last_error());
      tc_tensor *want = fx_load(FAM, name);
      assert_equal(got, want, name);
      tc_tensor_release(got);
      tc_tensor_release(want);
    }
    /* the alpha modes: the colour channels and an opaque alpha */
    tc_tensor *ra = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_RGB_ALPHA, true);
    ck_assert_int_eq(tc_tensor_shape(ra)[0], 4);
    tc_tensor *alpha = tc_select(ra, 0, 3), *amin = tc_min(alpha);
    double v;
    tc_item_double(amin, &v);
    ck_assert_double_eq(v, 255);
    tc_tensor *ga = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_GRAY_ALPHA, true);
    ck_assert_int_eq(tc_tensor_shape(ga)[0], 2);
    tc_tensor_release(amin);
    tc_tensor_release(alpha);
    tc_tensor_release(ra);
    tc_tensor_release(ga);
    tc_tensor_release(b);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_bad_input) {
  LEAK_BEGIN;
  tc_tensor *b = jpeg_bytes("rgb420");
  const unsigned char *d = tc_tensor_data(b);
  size_t n = (size_t)tc_tensor_numel(b);
  /* truncated at several points: an error, never a partial image */
  for (size_t cut = 2; cut < n; cut += n / 7) {
    ck_assert_ptr_null(tv_decode_jpeg(d, cut, TV_IMAGE_RGB, true));
    ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
  }
  /* corrupt header and corrupt entropy data */
  unsigned char *c = tc_malloc(n);
  memcpy(c, d, n);
  c[0] = 0x00;
  ck_assert_ptr_null(tv_decode_jpeg(c, n, TV_IMAGE_UNCHANGED, true));
  ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
  memcpy(c, d, n);
  for (size_t i = n / 2; i < n / 2 + 64 && i < n - 2; i++) c[i] = 0xff; /* markers in the scan */
  tc_tensor *t = tv_decode_jpeg(c, n, TV_IMAGE_RGB, true);
  ck_assert_msg(t == NULL && tc_last_status() == TC_ERR_CORRUPT, "corrupt scan data must be an error");
  tc_free(c);
  /* mutated EXIF files: any result or an error, never a crash (ASan runs this in CI) */
  tc_tensor *e = jpeg_bytes("exif6");
  size_t en = (size_t)tc_tensor_numel(e);
  unsigned char *m = tc_malloc(en);
  uint32_t rng = 12345;
  for (int round = 0; round < 300; round++) {
    memcpy(m, tc_tensor_data(e), en);
    for (int k = 0; k < 4; k++) {
      rng = rng * 1103515245u + 12345u;
      size_t at = 2 + (rng >> 8) % (en < 160 ? en - 2 : 158); /* the header and EXIF area */
      rng = rng * 1103515245u + 12345u;
      m[at] = (unsigned char)(rng >> 16);
    }
    tc_tensor *r = tv_decode_jpeg(m, en, TV_IMAGE_UNCHANGED, true);
    tc_tensor_release(r);
  }
  tc_free(m);
  tc_tensor_release(e);
  ck_assert_ptr_null(tv_decode_jpeg(d, 0, TV_IMAGE_RGB, true));
  ck_assert_int_eq(tc_last_status(), TC_ERR_ARG);
  ck_assert_ptr_null(tv_decode_jpeg(d, n, (tv_image_mode)9, true));
  ck_assert_ptr_null(tv_read_file("/nonexistent/file.jpg"));
  ck_assert_int_eq(tc_last_status(), TC_ERR_IO);
  tc_tensor_release(b);
  LEAK_END;
}
END_TEST

/* the eight EXIF orientations, turned upright as torchvision does; ignored on request */
START_TEST(test_exif_orientation) {
  LEAK_BEGIN;
  for (int k = 1; k <= 8; k++) {
    char name[32];
    snprintf(name, sizeof name, "exif%d", k);
    tc_tensor *b = jpeg_bytes(name);
    tc_tensor *got = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_RGB, true);
    snprintf(name, sizeof name, "exif%d_rgb", k);
    tc_tensor *want = fx_load(FAM, name);
    assert_equal(got, want, name);
    tc_tensor *raw = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_RGB, false);
    ck_assert_int_eq(tc_tensor_shape(raw)[1], 12); /* stored layout: 12 x 20 */
    ck_assert_int_eq(tc_tensor_shape(raw)[2], 20);
    tc_tensor_release(raw);
    tc_tensor_release(got);
    tc_tensor_release(want);
    tc_tensor_release(b);
  }
  LEAK_END;
}
END_TEST

/* CMYK (Adobe-inverted, written by PIL) as torchvision decodes it: the raw channels, RGB and GRAY */
START_TEST(test_cmyk) {
  LEAK_BEGIN;
  char path[512];
  snprintf(path, sizeof path, "%s/vision_io/cmyk.jpg", CTORCH_FIXTURES_DIR);
  tc_tensor *b = tv_read_file(path);
  ck_assert_msg(b != NULL, "%s", tc_last_error());
  const struct {
    const char *name;
    tv_image_mode mode;
  } cases[] = {{"cmyk_unchanged", TV_IMAGE_UNCHANGED}, {"cmyk_gray", TV_IMAGE_GRAY}, {"cmyk_rgb", TV_IMAGE_RGB}};
  for (int k = 0; k < 3; k++) {
    tc_tensor *got = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), cases[k].mode, true);
    ck_assert_msg(got != NULL, "%s: %s", cases[k].name, tc_last_error());
    tc_tensor *want = fx_load("vision_io", cases[k].name);
    assert_equal(got, want, cases[k].name);
    tc_tensor_release(got);
    tc_tensor_release(want);
  }
  /* the alpha modes: the converted colours and an opaque alpha */
  tc_tensor *ra = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_RGB_ALPHA, true);
  tc_tensor *rgb = fx_load("vision_io", "cmyk_rgb");
  tc_tensor *col = tc_narrow(ra, 0, 0, 3), *alpha = tc_select(ra, 0, 3), *amin = tc_min(alpha);
  assert_equal(col, rgb, "cmyk rgb_alpha colours");
  double v;
  tc_item_double(amin, &v);
  ck_assert_double_eq(v, 255);
  tc_tensor *ga = tv_decode_jpeg(tc_tensor_data(b), (size_t)tc_tensor_numel(b), TV_IMAGE_GRAY_ALPHA, true);
  assert_shape(ga, SHAPE(2, 16, 24), 3);
  tc_tensor *list[] = {ra, rgb, col, alpha, amin, ga, b};
  for (int i = 0; i < 7; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

/* (C, H, W) uint8 averaged over f x f blocks, as float */
static tc_tensor *area_down(const tc_tensor *img, int f) {
  const int64_t *s = tc_tensor_shape(img);
  int64_t C = s[0], H = s[1] / f, W = s[2] / f;
  tc_tensor *out = tc_empty(SHAPE(C, H, W), 3, NULL);
  const uint8_t *src = tc_tensor_data(img);
  float *dst = tc_tensor_data(out);
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < H; i++)
      for (int64_t j = 0; j < W; j++) {
        double acc = 0;
        for (int a = 0; a < f; a++)
          for (int bb = 0; bb < f; bb++) acc += src[(c * s[1] + i * f + a) * s[2] + j * f + bb];
        dst[(c * H + i) * W + j] = (float)(acc / (f * f));
      }
  return out;
}

/* DCT-domain scaling: the smallest factor that keeps the bound, close to an area downscale */
START_TEST(test_scaled) {
  LEAK_BEGIN;
  tc_tensor *b = jpeg_bytes("rgb444"); /* 48 x 64 */
  const void *d = tc_tensor_data(b);
  size_t n = (size_t)tc_tensor_numel(b);
  const struct {
    int64_t min_h, min_w, h, w;
  } cases[] = {{6, 8, 6, 8},   {1, 1, 6, 8},   {0, 0, 6, 8},     {12, 0, 12, 16}, {7, 8, 12, 16},
               {20, 20, 24, 32}, {25, 0, 30, 40}, {48, 64, 48, 64}, {100, 100, 48, 64}};
  for (int k = 0; k < 9; k++) {
    tc_tensor *t = tv_decode_jpeg_scaled(d, n, TV_IMAGE_RGB, true, cases[k].min_h, cases[k].min_w);
    ck_assert_msg(t != NULL, "%s", tc_last_error());
    ck_assert_msg(tc_tensor_shape(t)[1] == cases[k].h && tc_tensor_shape(t)[2] == cases[k].w,
                  "bound %lld x %lld: got %lld x %lld, want %lld x %lld", (long long)cases[k].min_h,
                  (long long)cases[k].min_w, (long long)tc_tensor_shape(t)[1], (long long)tc_tensor_shape(t)[2],
                  (long long)cases[k].h, (long long)cases[k].w);
    tc_tensor_release(t);
  }
  /* the full-size scaled decode is the plain decode */
  tc_tensor *full = tv_decode_jpeg(d, n, TV_IMAGE_RGB, true);
  tc_tensor *same = tv_decode_jpeg_scaled(d, n, TV_IMAGE_RGB, true, 48, 64);
  assert_equal(same, full, "scale 1");
  /* 1/2, 1/4 and 1/8 against an area downscale of the full decode */
  const int factors[3] = {2, 4, 8};
  for (int k = 0; k < 3; k++) {
    int f = factors[k];
    tc_tensor *t = tv_decode_jpeg_scaled(d, n, TV_IMAGE_RGB, true, 48 / f, 64 / f);
    tc_tensor *tf = tc_to_dtype(t, TC_F32), *ref = area_down(full, f);
    assert_close(tf, ref, 0, 12.0, "scaled vs area downscale");
    tc_tensor *diff = tc_sub(tf, ref, 1.0), *ad = tc_abs(diff), *mean = tc_mean(ad, NULL, 0, false);
    double m;
    tc_item_double(mean, &m);
    ck_assert_msg(m < 3.0, "1/%d: mean difference %.3f", f, m);
    tc_tensor *list[] = {t, tf, ref, diff, ad, mean};
    for (int i = 0; i < 6; i++) tc_tensor_release(list[i]);
  }
  /* gray, CMYK and the EXIF transposition: the bound holds for the upright image */
  tc_tensor *g = tv_decode_jpeg_scaled(d, n, TV_IMAGE_GRAY, true, 12, 16);
  assert_shape(g, SHAPE(1, 12, 16), 3);
  tc_tensor *e = jpeg_bytes("exif6"); /* stored 12 x 20, upright 20 x 12 */
  tc_tensor *r = tv_decode_jpeg_scaled(tc_tensor_data(e), (size_t)tc_tensor_numel(e), TV_IMAGE_RGB, true, 10, 3);
  assert_shape(r, SHAPE(3, 10, 6), 3);
  tc_tensor *r2 = tv_decode_jpeg_scaled(tc_tensor_data(e), (size_t)tc_tensor_numel(e), TV_IMAGE_RGB, false, 10, 3);
  assert_shape(r2, SHAPE(3, 11, 18), 3); /* stored layout: 10 rows need 7/8 of 12 */
  char path[512];
  snprintf(path, sizeof path, "%s/vision_io/cmyk.jpg", CTORCH_FIXTURES_DIR);
  tc_tensor *cb = tv_read_file(path);
  tc_tensor *c = tv_decode_jpeg_scaled(tc_tensor_data(cb), (size_t)tc_tensor_numel(cb), TV_IMAGE_RGB, true, 4, 6);
  assert_shape(c, SHAPE(3, 4, 6), 3);
  /* truncated: an error */
  ck_assert_ptr_null(tv_decode_jpeg_scaled(d, n / 2, TV_IMAGE_RGB, true, 6, 8));
  ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
  tc_tensor *list[] = {b, full, same, g, e, r, r2, cb, c};
  for (int i = 0; i < 9; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_decode_jpeg");
  TCase *tc = tcase_create("decode_jpeg");
  tcase_add_test(tc, test_pixels_match_torchvision);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_exif_orientation);
  tcase_add_test(tc, test_cmyk);
  tcase_add_test(tc, test_scaled);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
