/* tv_decode_jpeg_random_resized_crop (the fused decode + RandomResizedCrop) against the two-step path
 * tv_decode_jpeg + tv_resized_crop with the box tv_random_resized_crop_params draws: identical pixels
 * whenever no DCT scaling is used (fixtures: 4:2:0, 4:4:4, progressive, gray, the eight EXIF
 * orientations, CMYK; and crops of a 320x240 photo-like file at every position), close with scaling
 * (a 640x480 photo-like file, 224x224 and 64x64 outputs), the same generator draws as the box
 * sampler, the transform, and truncated/corrupt files (TC_ERR_CORRUPT, no leak). */
#include <ctorch/vision.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

static tc_tensor *fixture_bytes(const char *family, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/%s.jpg", CTORCH_FIXTURES_DIR, family, name);
  tc_tensor *b = tv_read_file(path);
  ck_assert_msg(b != NULL, "%s", tc_last_error());
  return b;
}

/* A photo-like uint8 (3, h, w) image (smooth colour waves, soft discs, noise) as a quality-90 4:2:0
 * JPEG: the kind of file the fast path is for. Deterministic. */
static tc_tensor *photo_jpeg(int64_t h, int64_t w) {
  tc_tensor *img = tc_empty(SHAPE(3, h, w), 3, TC_OPTS(.dtype = TC_U8));
  uint8_t *p = tc_tensor_data(img);
  uint32_t rng = 2024;
  for (int c = 0; c < 3; c++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        double v = 120 + 40 * sin(0.021 * x + 0.013 * y + c) + 30 * cos(0.007 * x * (c + 1) - 0.017 * y);
        double dx = (double)x - 0.4 * (double)w, dy = (double)y - 0.5 * (double)h;
        if (dx * dx + dy * dy < 0.04 * (double)(w * w)) v = 40 + 60 * c; /* a disc with a hard edge */
        rng = rng * 1103515245u + 12345u;
        v += (double)((rng >> 16) % 13) - 6.0; /* texture */
        p[(c * h + y) * w + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  tc_tensor *jpg = tv_encode_jpeg(img, 90, TV_JPEG_SUBSAMPLING_420);
  ck_assert_msg(jpg != NULL, "%s", tc_last_error());
  tc_tensor_release(img);
  return jpg;
}

/* The two-step reference: full decode (EXIF applied), then the box params draws from gen. */
static tc_tensor *two_step_scale(const tc_tensor *bytes, tv_image_mode mode, int64_t oh, int64_t ow,
                                 const double *scale, tc_generator *gen, int64_t box[4]) {
  tc_tensor *full = tv_decode_jpeg(tc_tensor_data(bytes), (size_t)tc_tensor_numel(bytes), mode, true);
  ck_assert_msg(full != NULL, "%s", tc_last_error());
  const int64_t *sz = tc_tensor_shape(full);
  ck_assert_int_eq(tv_random_resized_crop_params(sz[1], sz[2], scale, NULL, gen, box), TC_OK);
  tc_tensor *r = tv_resized_crop(full, box[0], box[1], box[2], box[3], oh, ow, TV_INTERP_BILINEAR, true);
  tc_tensor_release(full);
  return r;
}

static tc_tensor *two_step(const tc_tensor *bytes, tv_image_mode mode, int64_t oh, int64_t ow, tc_generator *gen,
                           int64_t box[4]) {
  return two_step_scale(bytes, mode, oh, ow, NULL, gen, box);
}

static tc_tensor *fused_scale(const tc_tensor *bytes, tv_image_mode mode, int64_t oh, int64_t ow, const double *scale,
                              tc_generator *gen) {
  tc_tensor *r = tv_decode_jpeg_random_resized_crop(tc_tensor_data(bytes), (size_t)tc_tensor_numel(bytes), mode, oh,
                                                    ow, scale, NULL, TV_INTERP_BILINEAR, true, gen);
  ck_assert_msg(r != NULL, "%s", tc_last_error());
  return r;
}

static tc_tensor *fused(const tc_tensor *bytes, tv_image_mode mode, int64_t oh, int64_t ow, tc_generator *gen) {
  return fused_scale(bytes, mode, oh, ow, NULL, gen);
}

/* Runs both paths with generators seeded alike; the pixels must be identical, and both generators
 * must have been advanced alike (the same draws). */
static void check_identical(const tc_tensor *bytes, tv_image_mode mode, int64_t oh, int64_t ow, uint64_t seed,
                            const char *what) {
  tc_generator *ga = tc_generator_create(seed), *gb = tc_generator_create(seed);
  int64_t box[4];
  tc_tensor *want = two_step(bytes, mode, oh, ow, ga, box);
  tc_tensor *got = fused(bytes, mode, oh, ow, gb);
  char msg[160];
  snprintf(msg, sizeof msg, "%s mode %d seed %llu box (%lld, %lld, %lld, %lld)", what, (int)mode,
           (unsigned long long)seed, (long long)box[0], (long long)box[1], (long long)box[2], (long long)box[3]);
  assert_equal(got, want, msg);
  ck_assert_msg(tc_generator_next_u64(ga) == tc_generator_next_u64(gb), "%s: generator draws differ", msg);
  tc_tensor_release(want);
  tc_tensor_release(got);
  tc_generator_destroy(ga);
  tc_generator_destroy(gb);
}

/* No DCT scaling (the output is larger than any crop): pixel-identical to the two-step path */
START_TEST(test_identical_without_scaling) {
  LEAK_BEGIN;
  const char *files[] = {"rgb420", "rgb444", "rgb_progressive", "gray"};
  const tv_image_mode modes[] = {TV_IMAGE_UNCHANGED, TV_IMAGE_GRAY, TV_IMAGE_RGB, TV_IMAGE_RGB_ALPHA,
                                 TV_IMAGE_GRAY_ALPHA};
  for (int f = 0; f < 4; f++) {
    tc_tensor *b = fixture_bytes("vision", files[f]); /* 48 x 64 */
    for (int m = 0; m < 5; m++)
      for (uint64_t seed = 0; seed < 12; seed++) check_identical(b, modes[m], 64, 72, seed, files[f]);
    tc_tensor_release(b);
  }
  for (int o = 1; o <= 8; o++) { /* the box is drawn on the upright size */
    char name[16];
    snprintf(name, sizeof name, "exif%d", o);
    tc_tensor *b = fixture_bytes("vision", name);
    for (uint64_t seed = 0; seed < 12; seed++) check_identical(b, TV_IMAGE_RGB, 24, 24, seed, name);
    tc_tensor_release(b);
  }
  tc_tensor *c = fixture_bytes("vision_io", "cmyk"); /* CMYK takes the full path: identical */
  for (int m = 0; m < 5; m++) check_identical(c, modes[m], 20, 20, 3, "cmyk");
  tc_tensor_release(c);
  /* realistic crops of a 4:2:0 photo (any position, iMCU-unaligned edges): 240 rows < 224 * 8/7 */
  tc_tensor *p = photo_jpeg(240, 320);
  for (uint64_t seed = 0; seed < 40; seed++) check_identical(p, TV_IMAGE_RGB, 224, 224, seed, "photo 320x240");
  for (uint64_t seed = 0; seed < 8; seed++) check_identical(p, TV_IMAGE_GRAY, 224, 224, seed, "photo gray");
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

/* The box: the fused path draws exactly what tv_random_resized_crop_params draws */
START_TEST(test_same_draws) {
  LEAK_BEGIN;
  tc_tensor *p = photo_jpeg(480, 640);
  for (uint64_t seed = 100; seed < 120; seed++) {
    tc_generator *ga = tc_generator_create(seed), *gb = tc_generator_create(seed);
    int64_t box[4];
    ck_assert_int_eq(tv_random_resized_crop_params(480, 640, NULL, NULL, ga, box), TC_OK);
    tc_tensor *r = fused(p, TV_IMAGE_RGB, 224, 224, gb);
    assert_shape(r, SHAPE(3, 224, 224), 3);
    ck_assert_msg(tc_generator_next_u64(ga) == tc_generator_next_u64(gb), "seed %llu", (unsigned long long)seed);
    tc_tensor_release(r);
    tc_generator_destroy(ga);
    tc_generator_destroy(gb);
  }
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

/* |got - want| over all pixels: mean and max (both uint8 (C, H, W) of one shape). */
static void diff_stats(const tc_tensor *got, const tc_tensor *want, double *mean, int *max) {
  tc_tensor *a = tc_contiguous(got), *b = tc_contiguous(want);
  ck_assert_int_eq(tc_tensor_numel(a), tc_tensor_numel(b));
  const uint8_t *pa = tc_tensor_data(a), *pb = tc_tensor_data(b);
  int64_t n = tc_tensor_numel(a);
  double sum = 0;
  *max = 0;
  for (int64_t i = 0; i < n; i++) {
    int d = abs((int)pa[i] - (int)pb[i]);
    sum += d;
    if (d > *max) *max = d;
  }
  *mean = sum / (double)n;
  tc_tensor_release(a);
  tc_tensor_release(b);
}

/* The DCT scale n/8 the fused path uses for a crop (the documented rule): the smallest n in
 * {1, 2, 4, 8} with crop * n / 8 >= out in both directions. */
static int scale_for(const int64_t box[4], int64_t out) {
  for (int n = 1; n < 8; n *= 2)
    if (box[2] * n >= out * 8 && box[3] * n >= out * 8) return n;
  return 8;
}

/* With DCT scaling: close to the two-step path (the pixels differ: another downsampling filter,
 * crop edges rounded to whole scaled pixels); without it identical. Per scale: the mean over seeds
 * of the mean |diff|, and the worst mean and max, which are bounded. */
static void check_close(const tc_tensor *bytes, int64_t out, const double *scale, double mean_bound, int max_bound,
                        const char *what) {
  double sum[9] = {0}, worst_mean[9] = {0};
  int worst_max[9] = {0}, count[9] = {0};
  for (uint64_t seed = 0; seed < 60; seed++) {
    tc_generator *ga = tc_generator_create(seed), *gb = tc_generator_create(seed);
    int64_t box[4];
    tc_tensor *want = two_step_scale(bytes, TV_IMAGE_RGB, out, out, scale, ga, box);
    tc_tensor *got = fused_scale(bytes, TV_IMAGE_RGB, out, out, scale, gb);
    int n = scale_for(box, out);
    double mean;
    int max;
    diff_stats(got, want, &mean, &max);
    if (n == 8) ck_assert_msg(max == 0, "%s seed %llu: no scaling, yet a difference of %d", what,
                              (unsigned long long)seed, max);
    count[n]++, sum[n] += mean;
    worst_mean[n] = mean > worst_mean[n] ? mean : worst_mean[n];
    worst_max[n] = max > worst_max[n] ? max : worst_max[n];
    tc_tensor_release(want);
    tc_tensor_release(got);
    tc_generator_destroy(ga);
    tc_generator_destroy(gb);
  }
  for (int n = 1; n < 8; n *= 2) {
    if (!count[n]) continue;
    printf("decode_crop %s, scale %d/8 (%d crops): mean |diff| %.3f on average, worst %.3f; worst max %d\n", what, n,
           count[n], sum[n] / count[n], worst_mean[n], worst_max[n]);
    ck_assert_msg(worst_mean[n] < mean_bound, "%s %d/8: mean |diff| %.3f", what, n, worst_mean[n]);
    ck_assert_msg(worst_max[n] <= max_bound, "%s %d/8: max |diff| %d", what, n, worst_max[n]);
  }
}

START_TEST(test_close_with_scaling) {
  LEAK_BEGIN;
  tc_tensor *p = photo_jpeg(480, 640);
  check_close(p, 224, (double[]){0.6, 1.0}, 3.0, 64, "640x480 -> 224");
  check_close(p, 112, NULL, 3.0, 64, "640x480 -> 112");
  check_close(p, 48, NULL, 3.0, 64, "640x480 -> 48");
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

/* The transform: the file's bytes in, the same crop as the function out */
START_TEST(test_transform) {
  LEAK_BEGIN;
  tc_tensor *p = photo_jpeg(240, 320);
  tr_transform *t = tv_decode_jpeg_random_resized_crop_transform(TV_IMAGE_RGB, 112, 96, NULL, NULL,
                                                                 TV_INTERP_BILINEAR, true);
  ck_assert_ptr_nonnull(t);
  char *d = tr_describe(t);
  ck_assert_msg(strstr(d, "DecodeJpegRandomResizedCrop(mode=ImageReadMode.RGB, size=(112, 96)") == d, "%s", d);
  tc_free(d);
  tc_generator *ga = tc_generator_create(7), *gb = tc_generator_create(7);
  tr_value out;
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = p}, &out, ga), TC_OK);
  tc_tensor *want = tv_decode_jpeg_random_resized_crop(tc_tensor_data(p), (size_t)tc_tensor_numel(p), TV_IMAGE_RGB,
                                                       112, 96, NULL, NULL, TV_INTERP_BILINEAR, true, gb);
  assert_equal(out.tensor, want, "transform");
  tr_value_clear(&out);
  /* not bytes, and no generator */
  tc_tensor *f = tc_zeros(SHAPE(10), 1, TC_OPTS(.dtype = TC_F32));
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = f}, &out, ga), TC_ERR_ARG);
  ck_assert_int_eq(tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = p}, &out, NULL), TC_ERR_ARG);
  ck_assert_int_eq(out.kind, TR_NONE);
  /* bad arguments at construction */
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop_transform(TV_IMAGE_RGB, 0, 96, NULL, NULL, TV_INTERP_BILINEAR,
                                                                  true));
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop_transform(TV_IMAGE_RGB, 8, 8, (double[]){0.5, 0.1}, NULL,
                                                                  TV_INTERP_BILINEAR, true));
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop_transform((tv_image_mode)9, 8, 8, NULL, NULL,
                                                                  TV_INTERP_BILINEAR, true));
  tc_tensor_release(f);
  tc_tensor_release(want);
  tr_destroy(t);
  tc_generator_destroy(ga);
  tc_generator_destroy(gb);
  tc_tensor_release(p);
  LEAK_END;
}
END_TEST

static void expect_corrupt(const void *d, size_t n, tc_generator *g, const char *what) {
  tc_tensor *r =
      tv_decode_jpeg_random_resized_crop(d, n, TV_IMAGE_RGB, 32, 32, NULL, NULL, TV_INTERP_BILINEAR, true, g);
  ck_assert_msg(r == NULL && tc_last_status() == TC_ERR_CORRUPT, "%s (%zu bytes): expected TC_ERR_CORRUPT, got %s",
                what, n, r ? "an image" : tc_last_error());
}

/* Truncated and corrupt files: TC_ERR_CORRUPT whatever the crop, and nothing leaks */
START_TEST(test_bad_input) {
  LEAK_BEGIN;
  tc_generator *g = tc_generator_create(1);
  const char *files[] = {"rgb420", "rgb_progressive", "gray"};
  for (int f = 0; f < 3; f++) {
    tc_tensor *b = fixture_bytes("vision", files[f]);
    const unsigned char *d = tc_tensor_data(b);
    size_t n = (size_t)tc_tensor_numel(b);
    for (size_t cut = 1; cut < n; cut += 1 + n / 37) /* every crop position: the seed moves on */
      expect_corrupt(d, cut, g, files[f]);
    expect_corrupt(d, n - 1, g, files[f]);
    unsigned char *c = tc_malloc(n);
    memcpy(c, d, n);
    c[0] = 0x00;
    expect_corrupt(c, n, g, "bad SOI");
    memcpy(c, d, n);
    for (size_t i = n / 3; i < n / 3 + 24; i++) c[i] = 0xff; /* markers in the scan data */
    for (int k = 0; k < 8; k++) expect_corrupt(c, n, g, "markers in the scan");
    tc_free(c);
    tc_tensor_release(b);
  }
  /* a large file cut just before its end: the crop rows are all present, the file is not */
  tc_tensor *p = photo_jpeg(240, 320);
  for (int k = 0; k < 4; k++) expect_corrupt(tc_tensor_data(p), (size_t)tc_tensor_numel(p) - 2 - (size_t)k, g, "tail");
  tc_tensor_release(p);
  /* arguments */
  unsigned char byte = 0xff;
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop(NULL, 10, TV_IMAGE_RGB, 8, 8, NULL, NULL, TV_INTERP_BILINEAR,
                                                        true, g));
  assert_error(TC_ERR_ARG, "no data");
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop(&byte, 1, TV_IMAGE_RGB, 8, 8, NULL, NULL, TV_INTERP_BILINEAR,
                                                        true, NULL));
  assert_error(TC_ERR_ARG, "generator");
  ck_assert_ptr_null(tv_decode_jpeg_random_resized_crop(&byte, 1, TV_IMAGE_RGB, 8, -1, NULL, NULL, TV_INTERP_BILINEAR,
                                                        true, g));
  assert_error(TC_ERR_ARG, "size");
  tc_generator_destroy(g);
  LEAK_END;
}
END_TEST

/* Allocation failures anywhere: TC_ERR_NOMEM and no leak */
typedef struct call_ctx {
  tc_tensor *bytes;
  tc_generator *gen;
} call_ctx;

static int one_call(void *ctx) {
  call_ctx *c = ctx;
  tc_tensor *r = tv_decode_jpeg_random_resized_crop(tc_tensor_data(c->bytes), (size_t)tc_tensor_numel(c->bytes),
                                                    TV_IMAGE_RGB, 24, 24, NULL, NULL, TV_INTERP_BILINEAR, true, c->gen);
  tc_tensor_release(r);
  return r == NULL;
}

START_TEST(test_alloc_failures) {
  call_ctx c = {fixture_bytes("vision", "exif6"), tc_generator_create(5)};
  check_alloc_failures(one_call, &c, "decode_crop exif6");
  tc_tensor_release(c.bytes);
  c.bytes = photo_jpeg(96, 128);
  check_alloc_failures(one_call, &c, "decode_crop photo");
  tc_tensor_release(c.bytes);
  tc_generator_destroy(c.gen);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_decode_crop");
  TCase *tc = tcase_create("decode_crop");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_identical_without_scaling);
  tcase_add_test(tc, test_same_draws);
  tcase_add_test(tc, test_close_with_scaling);
  tcase_add_test(tc, test_transform);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
