/* Geometric transforms on an (image, boxes, mask) tuple against torchvision.transforms.v2 called on
 * (Image, BoundingBoxes, Mask) (fixtures from tests/fixtures/gen/gen_vision_joint.py): Resize (size
 * and shorter edge, down and up), CenterCrop (inside and larger than the image), Pad (constant, with
 * fill), RandomCrop (padding, fill), RandomHorizontalFlip / RandomVerticalFlip (p = 1),
 * RandomResizedCrop, RandomRotation (expand off and on), RandomAffine, RandomPerspective,
 * ElasticTransform and Compose(RandomResizedCrop, RandomHorizontalFlip, ColorJitter), with XYXY boxes
 * and a uint8 (1, H, W) mask, plus XYWH boxes with an int64 (H, W) mask and CXCYWH boxes. Each case
 * seeds a generator as torch.manual_seed(seed): the image within 1 (uint8, bilinear; identical for
 * crops, pads and flips), the boxes within rtol 1e-5 / atol 1e-3 (torchvision works in float32,
 * ctorch in double), the mask exactly, the boxes' canvas equal to the image's size and to
 * torchvision's canvas_size (with RandomRotation(expand=True) torchvision's boxes canvas can be a
 * pixel off the rotated image's size; ctorch keeps the image's, and the boxes are compared clamped
 * to the smaller of the two). Also: a tuple's int label passes through, FiveCrop
 * and reflect padding refuse boxes, the input tuple is left untouched, tuple copies and clears leak
 * nothing. Set CTORCH_TEST_VERBOSE=1 to print the largest differences of every case. */
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision_joint"

enum { H = 24, W = 32 };
static const char *const FMT_NAMES[3] = {"xyxy", "xywh", "cxcywh"}; /* index = tv_box_format */

#define IMG_TOL 1.0
#define BOX_RTOL 1e-5
#define BOX_ATOL 1e-3

static bool verbose(void) { return getenv("CTORCH_TEST_VERBOSE") != NULL; }


/* ---- the generator's cases (gen_vision_joint.py CASES: same transforms, parameters and seeds) ------------- */
static tr_transform *rrc_16x20(void) {
  return tv_random_resized_crop_transform(16, 20, NULL, NULL, TV_INTERP_BILINEAR, true);
}
static tr_transform *affine(void) {
  return tv_random_affine_transform(-20, 20, (double[]){0.1, 0.2}, (double[]){0.8, 1.2}, (double[]){-10, 10, -5, 5}, 4,
                                    TV_INTERP_BILINEAR, TV_FILL(0), NULL);
}

static tr_transform *make_transform(const char *name) {
  if (!strcmp(name, "resize_hw")) return tv_resize_transform(18, 20, TV_INTERP_BILINEAR, true);
  if (!strcmp(name, "resize_up")) return tv_resize_transform(30, 44, TV_INTERP_BILINEAR, true);
  if (!strcmp(name, "resize_short")) return tv_resize_shorter_transform(16, 0, TV_INTERP_BILINEAR, true);
  if (!strcmp(name, "center_crop")) return tv_center_crop_transform(16, 20);
  if (!strcmp(name, "center_crop_big")) return tv_center_crop_transform(28, 36);
  if (!strcmp(name, "pad")) return tv_pad_transform((int64_t[]){2, 3, 4, 1}, 4, (double[]){7}, 1, TV_PAD_CONSTANT);
  if (!strcmp(name, "random_crop"))
    return tv_random_crop_transform(20, 28, (int64_t[]){3}, 1, false, (double[]){5}, 1, TV_PAD_CONSTANT);
  if (!strcmp(name, "hflip")) return tv_random_horizontal_flip_transform(1.0);
  if (!strcmp(name, "vflip")) return tv_random_vertical_flip_transform(1.0);
  if (!strcmp(name, "rrc") || !strcmp(name, "rrc_cxcywh")) return rrc_16x20();
  if (!strcmp(name, "rotation"))
    return tv_random_rotation_transform(-30, 30, TV_INTERP_BILINEAR, false, NULL, TV_FILL(0));
  if (!strcmp(name, "rotation_expand"))
    return tv_random_rotation_transform(-30, 30, TV_INTERP_BILINEAR, true, NULL, TV_FILL(9));
  if (!strcmp(name, "rotation_expand_cxcywh"))
    return tv_random_rotation_transform(-30, 30, TV_INTERP_BILINEAR, true, NULL, TV_FILL(0));
  if (!strcmp(name, "affine") || !strcmp(name, "affine_xywh")) return affine();
  if (!strcmp(name, "perspective")) return tv_random_perspective_transform(0.5, 1.0, TV_INTERP_BILINEAR, TV_FILL(0));
  if (!strcmp(name, "elastic")) return tv_elastic_transform(20, 20, 2, 2, TV_INTERP_BILINEAR, TV_FILL(0));
  if (!strcmp(name, "compose"))
    return tr_compose(3, (tr_transform *[]){rrc_16x20(), tv_random_horizontal_flip_transform(0.5),
                                            tv_color_jitter_transform(0.4, 0.4, 0.4, 0.1)});
  ck_abort_msg("unknown case %s", name);
  return NULL;
}

static const struct {
  const char *name;
  uint64_t seed;
  tv_box_format fmt;
  bool mask_i64; /* the (H, W) int64 mask instead of the (1, H, W) uint8 one */
  bool exact;    /* no interpolation (crops, pads, flips): the image must be identical */
} CASES[] = {
    {"resize_hw", 0, TV_BOX_XYXY, false, false},      {"resize_up", 0, TV_BOX_XYXY, false, false},
    {"resize_short", 0, TV_BOX_XYXY, false, false},   {"center_crop", 0, TV_BOX_XYXY, false, true},
    {"center_crop_big", 0, TV_BOX_XYXY, false, true}, {"pad", 0, TV_BOX_XYXY, false, true},
    {"random_crop", 1, TV_BOX_XYXY, false, true},     {"hflip", 2, TV_BOX_XYXY, false, true},
    {"vflip", 3, TV_BOX_XYXY, false, true},           {"rrc", 4, TV_BOX_XYXY, false, false},
    {"rotation", 5, TV_BOX_XYXY, false, false},       {"rotation_expand", 6, TV_BOX_XYXY, false, false},
    {"affine", 7, TV_BOX_XYXY, false, false},         {"perspective", 8, TV_BOX_XYXY, false, false},
    {"elastic", 9, TV_BOX_XYXY, false, false},        {"compose", 10, TV_BOX_XYXY, false, false},
    {"affine_xywh", 11, TV_BOX_XYWH, true, false},    {"rotation_expand_cxcywh", 12, TV_BOX_CXCYWH, false, false},
    {"rrc_cxcywh", 13, TV_BOX_CXCYWH, false, false},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

/* the input tuple (image, boxes in fmt on the (H, W) canvas, mask): new references to the fixtures */
static tr_value input_tuple(tv_box_format fmt, bool mask_i64) {
  char bn[64];
  snprintf(bn, sizeof bn, "in_boxes_%s", FMT_NAMES[fmt]);
  tc_tensor *img = fx_load(FAM, "in_img"), *boxes = fx_load(FAM, bn);
  tc_tensor *mask = fx_load(FAM, mask_i64 ? "in_mask_i64" : "in_mask");
  tr_value t =
      tr_tuple_value(3, (tr_value[]){tr_tensor_value(img), tr_boxes_value(boxes, fmt, H, W), tr_mask_value(mask)});
  ck_assert_int_eq(t.kind, TR_TUPLE);
  return t;
}

/* fixture <case>_<what> */
static tc_tensor *expected(const char *name, const char *what) {
  char n[96];
  snprintf(n, sizeof n, "%s_%s", name, what);
  return fx_load(FAM, n);
}

static void check_joint_case(int c) {
  const char *name = CASES[c].name;
  tr_value in = input_tuple(CASES[c].fmt, CASES[c].mask_i64), out = {0};
  tr_transform *t = make_transform(name);
  ck_assert_msg(t != NULL, "%s: %s", name, tc_last_error());
  tc_generator *g = tc_generator_create(CASES[c].seed);
  tc_status st = tr_apply(t, &in, &out, g);
  ck_assert_msg(st == TC_OK, "%s: %s", name, tc_last_error());
  ck_assert_int_eq(out.kind, TR_TUPLE);
  ck_assert_int_eq(out.n, 3);
  ck_assert_int_eq(out.items[0].kind, TR_TENSOR);
  ck_assert_int_eq(out.items[1].kind, TR_BOXES);
  ck_assert_int_eq(out.items[2].kind, TR_MASK);
  ck_assert_int_eq(out.items[1].format, CASES[c].fmt);

  /* image: uint8 within 1 (bilinear), identical without interpolation */
  tc_tensor *wi = expected(name, "img"), *wb = expected(name, "boxes"), *wm = expected(name, "mask");
  const tc_tensor *gi = out.items[0].tensor, *gb = out.items[1].tensor, *gm = out.items[2].tensor;
  assert_shape(gi, tc_tensor_shape(wi), tc_tensor_ndim(wi));
  ck_assert_msg(tc_tensor_dtype(gi) == TC_U8, "%s: image dtype %s", name, tc_dtype_name(tc_tensor_dtype(gi)));
  double di = max_abs_diff(gi, wi), tol = CASES[c].exact ? 0.0 : IMG_TOL;
  ck_assert_msg(di <= tol, "%s: image max difference %g > %g", name, di, tol);
  /* boxes: float32, close */
  ck_assert_msg(tc_tensor_dtype(gb) == TC_F32, "%s: boxes dtype %s", name, tc_dtype_name(tc_tensor_dtype(gb)));
  char what[96];
  snprintf(what, sizeof what, "%s boxes", name);
  /* the boxes' canvas is the image's size; torchvision's canvas_size can be a pixel off it under
   * RandomRotation(expand=True): there the boxes are compared clamped to the smaller canvas */
  tc_tensor *wc = expected(name, "canvas");
  const int64_t *pc = tc_tensor_data(wc);
  const int64_t ih = tc_tensor_shape(gi)[1], iw = tc_tensor_shape(gi)[2];
  ck_assert_msg(out.items[1].canvas[0] == ih && out.items[1].canvas[1] == iw,
                "%s: canvas (%lld, %lld), the image (%lld, %lld)", name, (long long)out.items[1].canvas[0],
                (long long)out.items[1].canvas[1], (long long)ih, (long long)iw);
  bool same_canvas = pc[0] == ih && pc[1] == iw;
  ck_assert_msg(same_canvas || strstr(name, "rotation_expand"), "%s: canvas differs from torchvision's", name);
  int64_t mh = pc[0] < ih ? pc[0] : ih, mw = pc[1] < iw ? pc[1] : iw;
  tc_tensor *gbc = tv_boxes_clamp(gb, CASES[c].fmt, mh, mw), *wbc = tv_boxes_clamp(wb, CASES[c].fmt, mh, mw);
  assert_close(gbc, wbc, BOX_RTOL, BOX_ATOL, what);
  double db = max_abs_diff(gbc, wbc);
  tc_tensor_release(gbc), tc_tensor_release(wbc);
  /* mask: exactly (shape, dtype, values) */
  snprintf(what, sizeof what, "%s mask", name);
  assert_equal(gm, wm, what);
  if (verbose())
    printf("  %-24s image max diff %g, boxes max diff %.3g, canvas (%lld, %lld)\n", name, di, db, (long long)pc[0],
           (long long)pc[1]);

  tc_tensor_release(wi), tc_tensor_release(wb), tc_tensor_release(wm), tc_tensor_release(wc);
  tc_generator_destroy(g);
  tr_destroy(t);
  tr_value_clear(&out);
  tr_value_clear(&in);
}

START_TEST(test_joint_cases) {
  LEAK_BEGIN;
  check_joint_case(_i);
  LEAK_END;
}
END_TEST

/* The input tuple is left as it was (same tensors, same canvas). */
START_TEST(test_input_untouched) {
  LEAK_BEGIN;
  tr_value in = input_tuple(TV_BOX_XYXY, false), out = {0};
  tc_tensor *b0 = tc_clone(in.items[1].tensor), *m0 = tc_clone(in.items[2].tensor);
  tr_transform *t = affine();
  tc_generator *g = tc_generator_create(7);
  ck_assert_int_eq(tr_apply(t, &in, &out, g), TC_OK);
  ck_assert_ptr_ne(out.items[1].tensor, in.items[1].tensor);
  assert_equal(in.items[1].tensor, b0, "input boxes");
  assert_equal(in.items[2].tensor, m0, "input mask");
  ck_assert_int_eq(in.items[1].canvas[0], H);
  ck_assert_int_eq(in.items[1].canvas[1], W);
  tc_tensor_release(b0), tc_tensor_release(m0);
  tc_generator_destroy(g);
  tr_destroy(t);
  tr_value_clear(&out);
  tr_value_clear(&in);
  LEAK_END;
}
END_TEST

/* (image, int label) through RandomHorizontalFlip(1): the image flipped, the label kept; and through a
 * Compose with a color transform (mapped over the images only). */
START_TEST(test_label_passes) {
  LEAK_BEGIN;
  tc_tensor *img = fx_load(FAM, "in_img");
  tc_tensor *flipped = tv_horizontal_flip(img);
  tr_value in = tr_tuple_value(2, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)), tr_int_value(7)}), out = {0};
  tr_transform *t = tv_random_horizontal_flip_transform(1.0);
  tc_generator *g = tc_generator_create(0);
  ck_assert_msg(tr_apply(t, &in, &out, g) == TC_OK, "%s", tc_last_error());
  ck_assert_int_eq(out.kind, TR_TUPLE);
  ck_assert_int_eq(out.n, 2);
  ck_assert_int_eq(out.items[0].kind, TR_TENSOR);
  assert_equal(out.items[0].tensor, flipped, "flipped image");
  ck_assert_int_eq(out.items[1].kind, TR_INT);
  ck_assert_int_eq(out.items[1].i, 7);
  tr_value_clear(&out);
  tr_destroy(t);
  t = tr_compose(
      2, (tr_transform *[]){tv_random_horizontal_flip_transform(1.0), tv_color_jitter_transform(0.4, 0.4, 0.4, 0.1)});
  ck_assert_msg(tr_apply(t, &in, &out, g) == TC_OK, "%s", tc_last_error());
  ck_assert_int_eq(out.kind, TR_TUPLE);
  ck_assert_int_eq(out.items[0].kind, TR_TENSOR);
  assert_shape(out.items[0].tensor, SHAPE(3, H, W), 3);
  ck_assert_int_eq(out.items[1].kind, TR_INT);
  ck_assert_int_eq(out.items[1].i, 7);
  tr_value_clear(&out);
  tr_destroy(t);
  tc_generator_destroy(g);
  tr_value_clear(&in);
  tc_tensor_release(flipped);
  tc_tensor_release(img);
  LEAK_END;
}
END_TEST

/* FiveCrop and non-constant padding refuse boxes (torchvision raises too); nothing is left in out. */
/* ClampBoundingBoxes and ConvertBoundingBoxFormat change the boxes of a tuple (as the functional
 * ops do) and leave the image and the label alone */
START_TEST(test_box_only_transforms) {
  LEAK_BEGIN;
  tc_tensor *img = fx_load(FAM, "in_img");
  tc_tensor *b = tc_tensor_from_data((float[]){-3, 2, 10, 30, 5, 5, 40, 12}, SHAPE(2, 4), 2, TC_F32);
  tr_value in = tr_tuple_value(3, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)),
                                              tr_boxes_value(tc_tensor_retain(b), TV_BOX_XYXY, H, W), tr_int_value(4)});
  tr_value out = {0};
  tr_transform *clamp = tv_clamp_boxes_transform(), *conv = tv_convert_box_format_transform(TV_BOX_CXCYWH);
  ck_assert_msg(tr_apply(clamp, &in, &out, NULL) == TC_OK, "%s", tc_last_error());
  tc_tensor *want = tv_boxes_clamp(b, TV_BOX_XYXY, H, W);
  assert_equal(out.items[1].tensor, want, "clamped boxes");
  ck_assert(out.items[0].tensor == img);
  ck_assert_int_eq(out.items[2].i, 4);
  tc_tensor_release(want);
  tr_value_clear(&out);
  ck_assert_msg(tr_apply(conv, &in, &out, NULL) == TC_OK, "%s", tc_last_error());
  want = tv_box_convert(b, TV_BOX_XYXY, TV_BOX_CXCYWH);
  assert_equal(out.items[1].tensor, want, "converted boxes");
  ck_assert_int_eq(out.items[1].format, TV_BOX_CXCYWH);
  ck_assert_int_eq(out.items[1].canvas[0], H);
  ck_assert_int_eq(out.items[1].canvas[1], W);
  tc_tensor_release(want);
  tr_value_clear(&out);
  char *d = tr_describe(conv);
  ck_assert_str_eq(d, "ConvertBoundingBoxFormat(format=BoundingBoxFormat.CXCYWH)");
  tc_free(d);
  d = tr_describe(clamp);
  ck_assert_str_eq(d, "ClampBoundingBoxes()");
  tc_free(d);
  ck_assert_ptr_null(tv_convert_box_format_transform((tv_box_format)7));
  tr_destroy(clamp);
  tr_destroy(conv);
  tr_value_clear(&in);
  tc_tensor_release(b);
  tc_tensor_release(img);
  LEAK_END;
}
END_TEST

/* ---- a detection dataset: td_transformed_joint and the DataLoader's collate ---------------------------- */
/* sample i: the fixture image and mask, i % 3 + 1 of the fixture's XYXY boxes, label i */
static int64_t det_len(void *st) {
  (void)st;
  return 6;
}
static tc_status det_get(void *st, int64_t i, td_sample *out, tc_generator *gen) {
  (void)st, (void)gen;
  tc_tensor *boxes = fx_load(FAM, "in_boxes_xyxy");
  tc_tensor *view = tc_narrow(boxes, 0, 0, i % 3 + 1), *some = tc_contiguous(view);
  tc_tensor_release(view);
  tc_tensor_release(boxes);
  tc_status s = td_sample_set(out, "image", tr_tensor_value(fx_load(FAM, "in_img")));
  if (!s) s = td_sample_set(out, "boxes", tr_boxes_value(some, TV_BOX_XYXY, H, W));
  if (!s) s = td_sample_set(out, "mask", tr_mask_value(fx_load(FAM, "in_mask")));
  if (!s) s = td_sample_set(out, "label", tr_int_value(i));
  return s;
}
static const td_dataset_vtable det_vt = {"Detection", det_len, det_get, NULL};

static tr_transform *det_transform(void) {
  return tr_compose(2, (tr_transform *[]){rrc_16x20(), tv_random_horizontal_flip_transform(0.5)});
}

START_TEST(test_dataset_and_loader) {
  LEAK_BEGIN;
  td_dataset *base = td_dataset_create(&det_vt, NULL);
  const char *fields[3] = {"image", "boxes", "mask"};
  td_dataset *ds = td_transformed_joint(base, 3, fields, det_transform());
  ck_assert_ptr_nonnull(ds);
  /* a sample equals the transform applied to the base sample's tuple with the same generator */
  tr_transform *t = det_transform();
  for (int64_t i = 0; i < 6; i++) {
    td_sample a, b;
    td_sample_init(&a), td_sample_init(&b);
    tc_generator *g1 = tc_generator_create(100 + (uint64_t)i), *g2 = tc_generator_create(100 + (uint64_t)i);
    ck_assert_msg(td_get(ds, i, &a, g1) == TC_OK, "%s", tc_last_error());
    ck_assert_int_eq(td_get(base, i, &b, NULL), TC_OK);
    tr_value items[3];
    for (int k = 0; k < 3; k++) ck_assert_int_eq(tr_value_copy(&items[k], td_sample_field(&b, fields[k])), TC_OK);
    tr_value in = tr_tuple_value(3, items), out = {0};
    ck_assert_int_eq(tr_apply(t, &in, &out, g2), TC_OK);
    for (int k = 0; k < 3; k++) {
      const tr_value *v = td_sample_field(&a, fields[k]);
      ck_assert_int_eq(v->kind, out.items[k].kind);
      assert_equal(v->tensor, out.items[k].tensor, fields[k]);
    }
    ck_assert_int_eq(td_sample_field(&a, "boxes")->canvas[0], 16);
    ck_assert_int_eq(td_sample_field(&a, "label")->i, i);
    tr_value_clear(&in), tr_value_clear(&out);
    td_sample_clear(&a), td_sample_clear(&b);
    tc_generator_destroy(g1), tc_generator_destroy(g2);
  }
  tr_destroy(t);
  /* batches of 3: images and masks stacked, boxes concatenated with offsets; the same for 0 and 2 workers */
  tc_tensor *first[2][3] = {{0}};
  for (int w = 0; w < 2; w++) {
    td_loader_opts o = TD_LOADER_DEFAULTS;
    o.batch_size = 3, o.num_workers = w ? 2 : 0, o.seed = 5;
    td_loader *dl = td_loader_create(ds, &o);
    ck_assert_msg(dl != NULL, "%s", tc_last_error());
    td_sample batch;
    bool end = false;
    ck_assert_msg(td_loader_next(dl, &batch, &end) == TC_OK && !end, "%s", tc_last_error());
    assert_shape(td_sample_field(&batch, "image")->tensor, SHAPE(3, 3, 16, 20), 4);
    assert_shape(td_sample_field(&batch, "mask")->tensor, SHAPE(3, 1, 16, 20), 4);
    assert_shape(td_sample_field(&batch, "boxes")->tensor, SHAPE(6, 4), 2); /* 1 + 2 + 3 boxes */
    const tc_tensor *off = td_sample_field(&batch, "boxes_offsets")->tensor;
    const int64_t *op = tc_tensor_data(off);
    ck_assert(op[0] == 0 && op[1] == 1 && op[2] == 3);
    const char *names[3] = {"image", "mask", "boxes"};
    for (int k = 0; k < 3; k++) first[w][k] = tc_tensor_retain(td_sample_field(&batch, names[k])->tensor);
    td_sample_clear(&batch);
    td_loader_destroy(dl);
  }
  for (int k = 0; k < 3; k++) {
    assert_equal(first[0][k], first[1][k], "a batch with 0 and 2 workers");
    tc_tensor_release(first[0][k]), tc_tensor_release(first[1][k]);
  }
  ck_assert_ptr_null(td_transformed_joint(base, 0, fields, det_transform()));
  td_release(ds);
  td_release(base);
  LEAK_END;
}
END_TEST

/* a tuple's image is its first tensor: labels and a second tensor pass through, nested tuples are
 * walked, sizes must agree, lone boxes pass through a color transform, bad tuple arguments */
START_TEST(test_tuple_rules) {
  LEAK_BEGIN;
  tc_tensor *img = fx_load(FAM, "in_img"), *boxes = fx_load(FAM, "in_boxes_xyxy");
  tc_tensor *labels = tc_tensor_from_data((int64_t[]){3, 1, 4, 1, 5}, SHAPE(5), 1, TC_I64);
  tc_tensor *flipped = tv_horizontal_flip(img), *fboxes = tv_boxes_horizontal_flip(boxes, TV_BOX_XYXY, W);
  tr_transform *flip = tv_random_horizontal_flip_transform(1.0);
  tc_generator *g = tc_generator_create(1);
  /* (image, (boxes, labels), image): the nested boxes move, labels and the second image stay */
  tr_value inner = tr_tuple_value(2, (tr_value[]){tr_boxes_value(tc_tensor_retain(boxes), TV_BOX_XYXY, H, W),
                                                 tr_tensor_value(tc_tensor_retain(labels))});
  tr_value in = tr_tuple_value(3, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)), inner,
                                              tr_tensor_value(tc_tensor_retain(img))}),
           out = {0};
  ck_assert_msg(tr_apply(flip, &in, &out, g) == TC_OK, "%s", tc_last_error());
  assert_equal(out.items[0].tensor, flipped, "the image");
  assert_equal(out.items[1].items[0].tensor, fboxes, "nested boxes");
  ck_assert(out.items[1].items[1].tensor == labels);
  ck_assert(out.items[2].tensor == img);
  tr_value_clear(&out);
  /* a non-joint transform (ColorJitter) changes the first image only */
  tr_transform *jit = tv_color_jitter_transform(0.5, 0.5, 0.5, 0.1);
  ck_assert_msg(tr_apply(jit, &in, &out, g) == TC_OK, "%s", tc_last_error());
  ck_assert(out.items[2].tensor == img && out.items[1].items[1].tensor == labels);
  tr_value_clear(&out);
  /* the same through tr_apply_to_image directly (what joint transforms use for their image alone) */
  ck_assert_msg(tr_apply_to_image(jit, &in, &out, g) == TC_OK, "%s", tc_last_error());
  ck_assert(out.items[0].tensor != img && out.items[2].tensor == img && out.items[1].items[1].tensor == labels);
  tr_value_clear(&out);
  /* lone boxes through ColorJitter: passed through */
  tr_value lone = tr_boxes_value(tc_tensor_retain(boxes), TV_BOX_XYXY, H, W);
  ck_assert_int_eq(tr_apply(jit, &lone, &out, g), TC_OK);
  ck_assert(out.kind == TR_BOXES && out.tensor == boxes);
  tr_value_clear(&out);
  tr_value_clear(&lone);
  tr_value_clear(&in);
  /* sizes that disagree: boxes on another canvas, a mask of another size */
  in = tr_tuple_value(2, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)),
                                     tr_boxes_value(tc_tensor_retain(boxes), TV_BOX_XYXY, 10, 10)});
  ck_assert_int_eq(tr_apply(flip, &in, &out, g), TC_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "multiple HxW dimensions"));
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_value_clear(&in);
  in = tr_tuple_value(2, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)),
                                     tr_mask_value(tc_zeros(SHAPE(1, 12, 12), 3, TC_OPTS(.dtype = TC_U8)))});
  tr_transform *cc = tv_center_crop_transform(8, 8);
  ck_assert_int_eq(tr_apply(cc, &in, &out, g), TC_ERR_SHAPE);
  tr_value_clear(&in);
  /* a mask with a per-channel pad fill is refused, as torchvision */
  tr_transform *pad = tv_pad_transform((int64_t[]){1}, 1, (double[]){1, 2, 3}, 3, TV_PAD_CONSTANT);
  in = tr_tuple_value(2, (tr_value[]){tr_tensor_value(tc_tensor_retain(img)),
                                     tr_mask_value(tc_zeros(SHAPE(1, H, W), 3, TC_OPTS(.dtype = TC_U8)))});
  ck_assert_int_eq(tr_apply(pad, &in, &out, g), TC_ERR_ARG);
  tr_value_clear(&in);
  /* tr_tuple_value's arguments */
  tr_value v = tr_tuple_value(2, NULL);
  ck_assert(v.kind == TR_NONE && tc_last_status() == TC_ERR_ARG);
  v = tr_tuple_value(-1, NULL);
  ck_assert(v.kind == TR_NONE && tc_last_status() == TC_ERR_ARG);
  v = tr_tuple_value(0, NULL);
  ck_assert(v.kind == TR_TUPLE && v.n == 0);
  tr_value_clear(&v);
  tr_destroy(flip), tr_destroy(jit), tr_destroy(cc), tr_destroy(pad);
  tc_generator_destroy(g);
  tc_tensor_release(img), tc_tensor_release(boxes), tc_tensor_release(labels);
  tc_tensor_release(flipped), tc_tensor_release(fboxes);
  LEAK_END;
}
END_TEST

START_TEST(test_unsupported) {
  LEAK_BEGIN;
  tr_value in = input_tuple(TV_BOX_XYXY, false), out = {0};
  tr_transform *t = tv_five_crop_transform(12, 16);
  ck_assert_int_eq(tr_apply(t, &in, &out, NULL), TC_ERR_UNSUPPORTED);
  assert_error(TC_ERR_UNSUPPORTED, "FiveCrop");
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_destroy(t);
  t = tv_pad_transform((int64_t[]){2}, 1, NULL, 0, TV_PAD_REFLECT);
  ck_assert_int_eq(tr_apply(t, &in, &out, NULL), TC_ERR_UNSUPPORTED);
  assert_error(TC_ERR_UNSUPPORTED, "only constant padding");
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_destroy(t);
  /* boxes alone too */
  t = tv_pad_transform((int64_t[]){2}, 1, NULL, 0, TV_PAD_REFLECT);
  ck_assert_int_eq(tr_apply(t, &in.items[1], &out, NULL), TC_ERR_UNSUPPORTED);
  ck_assert_int_eq(out.kind, TR_NONE);
  tr_destroy(t);
  tr_value_clear(&in);
  LEAK_END;
}
END_TEST

/* tr_value_copy / tr_value_clear of tuples (nested, with every kind of item): tensors shared, strings
 * copied, boxes' format and canvas kept, nothing leaked. */
START_TEST(test_tuple_copy_clear) {
  LEAK_BEGIN;
  tr_value inner = tr_tuple_value(2, (tr_value[]){tr_float_value(0.5), tr_string_value("cat")});
  ck_assert_int_eq(inner.kind, TR_TUPLE);
  tr_value v = input_tuple(TV_BOX_CXCYWH, true);
  tr_value outer = tr_tuple_value(3, (tr_value[]){v, tr_int_value(3), inner});
  ck_assert_int_eq(outer.kind, TR_TUPLE);
  tr_value c = {0};
  ck_assert_int_eq(tr_value_copy(&c, &outer), TC_OK);
  ck_assert_int_eq(c.kind, TR_TUPLE);
  ck_assert_int_eq(c.n, 3);
  ck_assert_ptr_ne(c.items, outer.items);
  const tr_value *a = &outer.items[0], *b = &c.items[0];
  ck_assert_int_eq(b->kind, TR_TUPLE);
  ck_assert_int_eq(b->n, 3);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(b->items[i].kind, a->items[i].kind);
    ck_assert_ptr_eq(b->items[i].tensor, a->items[i].tensor);
  }
  ck_assert_int_eq(b->items[1].format, TV_BOX_CXCYWH);
  ck_assert_int_eq(b->items[1].canvas[0], H);
  ck_assert_int_eq(b->items[1].canvas[1], W);
  ck_assert_int_eq(c.items[1].kind, TR_INT);
  ck_assert_int_eq(c.items[1].i, 3);
  ck_assert_int_eq(c.items[2].kind, TR_TUPLE);
  ck_assert_int_eq(c.items[2].items[0].kind, TR_FLOAT);
  ck_assert(c.items[2].items[0].f == 0.5);
  ck_assert_int_eq(c.items[2].items[1].kind, TR_STRING);
  ck_assert_str_eq(c.items[2].items[1].s, "cat");
  ck_assert_ptr_ne(c.items[2].items[1].s, outer.items[2].items[1].s);
  /* the copy outlives the original */
  tr_value_clear(&outer);
  ck_assert_int_eq(outer.kind, TR_NONE);
  ck_assert_int_eq(tc_tensor_shape(c.items[0].items[0].tensor)[1], H);
  tr_value c2 = {0};
  ck_assert_int_eq(tr_value_copy(&c2, &c), TC_OK);
  tr_value_clear(&c);
  tr_value_clear(&c2);
  ck_assert_int_eq(c2.kind, TR_NONE);
  tr_value_clear(&c2); /* clearing TR_NONE is harmless */
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_joint");
  TCase *tc = tcase_create("vision_joint");
  tcase_add_loop_test(tc, test_joint_cases, 0, NCASES);
  tcase_add_test(tc, test_input_untouched);
  tcase_add_test(tc, test_label_passes);
  tcase_add_test(tc, test_unsupported);
  tcase_add_test(tc, test_box_only_transforms);
  tcase_add_test(tc, test_dataset_and_loader);
  tcase_add_test(tc, test_tuple_rules);
  tcase_add_test(tc, test_tuple_copy_clear);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
