/* tv_decode_jpeg against torchvision.io.decode_jpeg (tests/fixtures/gen/gen_vision.py): baseline
 * 4:2:0 and 4:4:4, progressive and grayscale files in the modes UNCHANGED, GRAY and RGB (pixel
 * exact), the alpha modes, and truncated, corrupt and empty inputs. */
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

int main(void) {
  Suite *s = suite_create("vision_decode_jpeg");
  TCase *tc = tcase_create("decode_jpeg");
  tcase_add_test(tc, test_pixels_match_torchvision);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_exif_orientation);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
