/* tv_decode_png against torchvision.io.decode_png (tests/fixtures/gen/gen_vision_io.py): every
 * colour type and bit depth, tRNS, Adam7 interlacing, in all five modes (pixel exact, uint16 for
 * 16-bit files); the eXIf orientation; tv_decode_image / tv_read_image format detection; truncated,
 * corrupt and hostile inputs (errors, never a crash or a leak); allocation failures. */
#include <ctorch/vision_io.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "test_util.h"

#define FAM "vision_io"

static const char *const CASES[] = {
    "gray1", "gray2", "gray4", "gray8", "gray16", "gray_alpha8", "gray_alpha16", "rgb8", "rgb16", "rgba8",
    "rgba16", "gray8_trns", "gray16_trns", "rgb8_trns", "rgb16_trns", "gray2_trns", "palette1", "palette2",
    "palette4", "palette8", "palette2_trns", "palette4_trns", "palette8_trns", "gray1_interlaced",
    "gray8_interlaced", "gray16_interlaced", "gray_alpha8_interlaced", "rgb8_interlaced", "rgba16_interlaced",
    "palette4_interlaced", "palette8_trns_interlaced", "pil_rgb", "pil_rgba"};
#define NCASES (sizeof CASES / sizeof CASES[0])

static const struct {
  const char *tag;
  tv_image_mode mode;
} MODES[] = {{"unchanged", TV_IMAGE_UNCHANGED},
             {"gray", TV_IMAGE_GRAY},
             {"gray_alpha", TV_IMAGE_GRAY_ALPHA},
             {"rgb", TV_IMAGE_RGB},
             {"rgb_alpha", TV_IMAGE_RGB_ALPHA}};

static tc_tensor *file_bytes(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s", CTORCH_FIXTURES_DIR, FAM, name);
  tc_tensor *b = tv_read_file(path);
  ck_assert_msg(b != NULL, "%s", tc_last_error());
  return b;
}

static tc_tensor *png_bytes(const char *name) {
  char file[128];
  snprintf(file, sizeof file, "%s.png", name);
  return file_bytes(file);
}

#define DATA(b) tc_tensor_data(b), (size_t)tc_tensor_numel(b)

START_TEST(test_pixels_match_torchvision) {
  LEAK_BEGIN;
  for (size_t f = 0; f < NCASES; f++) {
    tc_tensor *b = png_bytes(CASES[f]);
    for (int m = 0; m < 5; m++) {
      char name[96];
      snprintf(name, sizeof name, "%s_%s", CASES[f], MODES[m].tag);
      tc_tensor *got = tv_decode_png(DATA(b), MODES[m].mode, false);
      ck_assert_msg(got != NULL, "%s: %s", name, tc_last_error());
      tc_tensor *want = fx_load(FAM, name);
      assert_equal(got, want, name);
      tc_tensor_release(got);
      tc_tensor_release(want);
    }
    tc_tensor_release(b);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_exif_orientation) {
  LEAK_BEGIN;
  tc_tensor *b = png_bytes("exif6");
  tc_tensor *got = tv_decode_png(DATA(b), TV_IMAGE_RGB, true);
  tc_tensor *want = fx_load(FAM, "exif6_rgb");
  assert_equal(got, want, "exif6");
  tc_tensor *raw = tv_decode_png(DATA(b), TV_IMAGE_RGB, false); /* stored layout: 11 x 13 */
  assert_shape(raw, SHAPE(3, 11, 13), 3);
  tc_tensor *img = tv_decode_image(DATA(b), TV_IMAGE_RGB, true);
  assert_equal(img, want, "exif6 through decode_image");
  tc_tensor_release(img);
  tc_tensor_release(raw);
  tc_tensor_release(got);
  tc_tensor_release(want);
  tc_tensor_release(b);
  LEAK_END;
}
END_TEST

START_TEST(test_decode_image_detects_format) {
  LEAK_BEGIN;
  tc_tensor *p = png_bytes("rgba8");
  tc_tensor *a = tv_decode_image(DATA(p), TV_IMAGE_RGB_ALPHA, false);
  tc_tensor *want = fx_load(FAM, "rgba8_rgb_alpha");
  assert_equal(a, want, "png through decode_image");
  char path[512];
  snprintf(path, sizeof path, "%s/%s/rgba8.png", CTORCH_FIXTURES_DIR, FAM);
  tc_tensor *r = tv_read_image(path, TV_IMAGE_RGB_ALPHA);
  assert_equal(r, want, "read_image png");
  tc_tensor_release(r);
  tc_tensor_release(want);
  tc_tensor_release(a);
  /* a JPEG: the same as tv_decode_jpeg; the file name plays no part */
  tc_tensor *j = file_bytes("cmyk.jpg");
  tc_tensor *x = tv_decode_image(DATA(j), TV_IMAGE_RGB, true), *y = tv_decode_jpeg(DATA(j), TV_IMAGE_RGB, true);
  ck_assert_msg(x && y, "%s", tc_last_error());
  assert_equal(x, y, "jpeg through decode_image");
  tc_tensor_release(x);
  tc_tensor_release(y);
  tc_tensor_release(j);
  /* neither: unsupported, including a PNG signature cut short */
  const unsigned char gif[] = "GIF89a\x01\x00\x01\x00";
  ck_assert_ptr_null(tv_decode_image(gif, sizeof gif, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_UNSUPPORTED, "unknown image format");
  ck_assert_ptr_null(tv_decode_image(tc_tensor_data(p), 5, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_UNSUPPORTED, NULL);
  ck_assert_ptr_null(tv_decode_image(NULL, 10, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_ARG, NULL);
  ck_assert_ptr_null(tv_read_image("/nonexistent/x.png", TV_IMAGE_RGB));
  assert_error(TC_ERR_IO, NULL);
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

/* Writes a chunk's CRC again after its data changed. c points at the length field. */
static void fix_crc(unsigned char *c) {
  uint32_t len = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
  uLong crc = crc32(0, c + 4, len + 4);
  unsigned char *p = c + 8 + len;
  p[0] = (unsigned char)(crc >> 24), p[1] = (unsigned char)(crc >> 16), p[2] = (unsigned char)(crc >> 8);
  p[3] = (unsigned char)crc;
}

START_TEST(test_truncated) {
  LEAK_BEGIN;
  const char *files[] = {"rgb8", "palette4_trns", "rgba16_interlaced", "pil_rgb"};
  for (int f = 0; f < 4; f++) {
    tc_tensor *b = png_bytes(files[f]);
    const unsigned char *d = tc_tensor_data(b);
    size_t n = (size_t)tc_tensor_numel(b);
    /* every cut: an error, never a partial image; only IEND (the last 12 bytes) may be missing */
    for (size_t cut = 1; cut < n - 12; cut++) {
      tc_tensor *t = tv_decode_png(d, cut, (tv_image_mode)(cut % 5), true);
      ck_assert_msg(t == NULL, "%s cut at %zu of %zu decoded", files[f], cut, n);
      ck_assert_int_eq(tc_last_status(), TC_ERR_CORRUPT);
    }
    tc_tensor_release(b);
  }
  LEAK_END;
}
END_TEST

START_TEST(test_corrupt) {
  LEAK_BEGIN;
  tc_tensor *b = png_bytes("rgb8");
  const unsigned char *d = tc_tensor_data(b);
  size_t n = (size_t)tc_tensor_numel(b);
  unsigned char *c = tc_malloc(n);
  /* bad signature, bad IHDR CRC, bad IDAT CRC */
  memcpy(c, d, n);
  c[1] = 'Q';
  ck_assert_ptr_null(tv_decode_png(c, n, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_CORRUPT, "signature");
  memcpy(c, d, n);
  c[8 + 8 + 3] ^= 1; /* IHDR width byte, CRC left stale */
  ck_assert_ptr_null(tv_decode_png(c, n, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_CORRUPT, NULL);
  memcpy(c, d, n);
  c[33 + 8 + 5] ^= 0x40; /* inside the first IDAT (after the 8 + 25 bytes of signature and IHDR) */
  ck_assert_ptr_null(tv_decode_png(c, n, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_CORRUPT, NULL);
  /* the same with a valid CRC: the zlib stream itself is broken */
  fix_crc(c + 33);
  tc_tensor *t = tv_decode_png(c, n, TV_IMAGE_RGB, true);
  ck_assert_msg(t == NULL && tc_last_status() == TC_ERR_CORRUPT, "a broken zlib stream must be an error");
  /* invalid IHDR fields with valid CRCs: bit depth 3, colour type 5, RGB at 4 bits */
  const unsigned char bad[][2] = {{3, 0}, {8, 5}, {4, 2}};
  for (int k = 0; k < 3; k++) {
    memcpy(c, d, n);
    c[16 + 8] = bad[k][0], c[16 + 9] = bad[k][1];
    fix_crc(c + 8);
    ck_assert_ptr_null(tv_decode_png(c, n, TV_IMAGE_UNCHANGED, true));
    assert_error(TC_ERR_CORRUPT, NULL);
  }
  /* beyond the pixel limit (20000 x 20000), and a large image in a tiny file */
  const uint32_t dims[][2] = {{20000, 20000}, {10000, 10000}};
  const char *needles[] = {"limit", "truncated"};
  for (int k = 0; k < 2; k++) {
    memcpy(c, d, n);
    for (int i = 0; i < 2; i++)
      for (int s = 0; s < 4; s++) c[16 + 4 * i + s] = (unsigned char)(dims[k][i] >> (24 - 8 * s));
    fix_crc(c + 8);
    ck_assert_ptr_null(tv_decode_png(c, n, TV_IMAGE_RGB, true));
    assert_error(TC_ERR_CORRUPT, needles[k]);
  }
  /* random byte changes with the CRCs made right again: results or errors, never a crash */
  uint32_t rng = 2024;
  for (int round = 0; round < 400; round++) {
    memcpy(c, d, n);
    for (int k = 0; k < 3; k++) {
      rng = rng * 1103515245u + 12345u;
      c[8 + (rng >> 8) % (n - 8)] = (unsigned char)(rng >> 3);
    }
    for (size_t at = 8; at + 12 <= n;) { /* walk the chunks, fixing each CRC */
      uint32_t len = (uint32_t)c[at] << 24 | (uint32_t)c[at + 1] << 16 | (uint32_t)c[at + 2] << 8 | c[at + 3];
      if (len > n - at - 12) break;
      fix_crc(c + at);
      at += 12 + len;
    }
    tc_tensor_release(tv_decode_png(c, n, (tv_image_mode)(round % 5), true));
  }
  tc_free(c);
  /* arguments */
  ck_assert_ptr_null(tv_decode_png(d, 0, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_ARG, NULL);
  ck_assert_ptr_null(tv_decode_png(NULL, n, TV_IMAGE_RGB, true));
  assert_error(TC_ERR_ARG, NULL);
  ck_assert_ptr_null(tv_decode_png(d, n, (tv_image_mode)7, true));
  assert_error(TC_ERR_ARG, "mode");
  tc_tensor_release(b);
  LEAK_END;
}
END_TEST

typedef struct {
  const tc_tensor *bytes;
  tv_image_mode mode;
} decode_ctx;

static int decode_once(void *p) {
  decode_ctx *c = p;
  tc_tensor *t = tv_decode_png(DATA(c->bytes), c->mode, true);
  tc_tensor_release(t);
  return t ? 0 : 1;
}

START_TEST(test_allocation_failures) {
  tc_tensor *b = png_bytes("palette8_trns_interlaced");
  decode_ctx ctx = {b, TV_IMAGE_RGB_ALPHA};
  check_alloc_failures(decode_once, &ctx, "tv_decode_png");
  tc_tensor *e = png_bytes("exif6");
  decode_ctx ctx2 = {e, TV_IMAGE_RGB};
  check_alloc_failures(decode_once, &ctx2, "tv_decode_png exif");
  tc_tensor_release(e);
  tc_tensor_release(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_decode_png");
  TCase *tc = tcase_create("decode_png");
  tcase_add_test(tc, test_pixels_match_torchvision);
  tcase_add_test(tc, test_exif_orientation);
  tcase_add_test(tc, test_decode_image_detects_format);
  tcase_add_test(tc, test_truncated);
  tcase_add_test(tc, test_corrupt);
  tcase_add_test(tc, test_allocation_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
