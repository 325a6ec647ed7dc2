/* libctorch_transforms: values, the interface, containers (with torch's random decisions), ToDtype
 * against torchvision.transforms.v2 (tests/fixtures/gen/gen_transforms.py), one-hot, pad/truncate,
 * descriptions, error paths and allocation failures. */
#include <ctorch/transforms.h>
#include <string.h>
#include "test_util.h"

#define FAM "transforms"

/* a Lambda adding `*(double *)user` to a tensor */
static tc_status add_fn(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)gen;
  if (in->kind != TR_TENSOR) return tc_set_error(TC_ERR_ARG, "add: expected a tensor");
  tc_tensor *r = tc_add_scalar(in->tensor, *(const double *)user);
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

/* a Lambda appending its digit to a string: records the order transforms ran in */
static tc_status tag_fn(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)gen;
  char buf[64];
  snprintf(buf, sizeof buf, "%s%d", in->kind == TR_STRING ? in->s : "", *(const int *)user);
  *out = tr_string_value(buf);
  return out->kind == TR_STRING ? TC_OK : tc_last_status();
}

static tc_status fail_fn(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)in, (void)out, (void)gen, (void)user;
  return tc_set_error(TC_ERR_CORRUPT, "fail: always");
}

static double one = 1.0, ten = 10.0;
static int digits[4] = {0, 1, 2, 3};

START_TEST(test_values) {
  LEAK_BEGIN;
  tr_value s = tr_string_value("cat"), c;
  ck_assert_int_eq(s.kind, TR_STRING);
  ck_assert_int_eq(tr_value_copy(&c, &s), TC_OK);
  ck_assert_str_eq(c.s, "cat");
  ck_assert_ptr_ne(c.s, s.s);
  tr_value_clear(&s);
  tr_value_clear(&c);
  ck_assert_int_eq(c.kind, TR_NONE);
  tr_value t = tr_tensor_value(tc_ones(SHAPE(2), 1, NULL)), t2;
  ck_assert_int_eq(tr_value_copy(&t2, &t), TC_OK);
  ck_assert_ptr_eq(t2.tensor, t.tensor);
  tr_value_clear(&t);
  tr_value_clear(&t2);
  ck_assert_str_eq(tr_kind_name(TR_FLOAT), "float");
  ck_assert_int_eq(tr_int_value(7).i, 7);
  LEAK_END;
}
END_TEST

START_TEST(test_compose_lambda) {
  LEAK_BEGIN;
  tr_transform *t = tr_compose(3, (tr_transform *[]){tr_lambda(add_fn, &one, "add_one"), tr_lambda(add_fn, &ten, "add_ten"),
                                                      tr_to_dtype(TC_F64, false)});
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(tr_name(t), "Compose");
  tr_value out, in = tr_tensor_value(tc_zeros(SHAPE(3), 1, NULL));
  ck_assert_int_eq(tr_apply(t, &in, &out, NULL), TC_OK); /* nothing random: no generator needed */
  tc_tensor *want = tc_full(SHAPE(3), 1, 11.0, TC_OPTS(.dtype = TC_F64));
  assert_equal(out.tensor, want, "compose");
  tc_tensor_release(want);
  char *d = tr_describe(t);
  ck_assert_str_eq(d, "Compose(\n      Lambda(add_one)\n      Lambda(add_ten)\n      ToDtype(dtype=float64, scale=False)\n)");
  tc_free(d);
  tr_value_clear(&out);
  /* an error inside: out stays empty, the message is the inner one */
  tr_transform *bad = tr_compose(2, (tr_transform *[]){tr_lambda(add_fn, &one, NULL), tr_lambda(fail_fn, NULL, "fail")});
  ck_assert_int_eq(tr_apply(bad, &in, &out, NULL), TC_ERR_CORRUPT);
  ck_assert_int_eq(out.kind, TR_NONE);
  ck_assert_str_eq(tc_last_error(), "fail: always");
  tr_destroy(bad);
  tr_value_clear(&in);
  tr_destroy(t);
  /* empty Compose is the identity */
  tr_transform *id = tr_compose(0, NULL);
  tr_value sv = tr_string_value("x");
  ck_assert_int_eq(tr_apply(id, &sv, &out, NULL), TC_OK);
  ck_assert_str_eq(out.s, "x");
  tr_value_clear(&out);
  tr_value_clear(&sv);
  tr_destroy(id);
  LEAK_END;
}
END_TEST

START_TEST(test_random_apply_matches_torch) {
  LEAK_BEGIN;
  tc_tensor *want = fx_load(FAM, "random_apply_p03_seed123"); /* bool (20) */
  const bool *w = tc_tensor_data(want);
  tr_transform *t = tr_random_apply(0.3, 1, (tr_transform *[]){tr_lambda(add_fn, &one, NULL)});
  tc_generator *g = tc_generator_create(123);
  tr_value in = tr_tensor_value(tc_zeros(SHAPE(1), 1, NULL)), out;
  for (int i = 0; i < 20; i++) {
    ck_assert_int_eq(tr_apply(t, &in, &out, g), TC_OK);
    double v;
    tc_item_double(out.tensor, &v);
    ck_assert_msg((v == 1.0) == w[i], "call %d: applied %d, torch %d", i, v == 1.0, w[i]);
    tr_value_clear(&out);
  }
  ck_assert_int_eq(tr_apply(t, &in, &out, NULL), TC_ERR_ARG); /* random: a generator is required */
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "generator"));
  char *d = tr_describe(t);
  ck_assert_str_eq(d, "RandomApply(p=0.3\n      Lambda(<function>)\n)");
  tc_free(d);
  tr_value_clear(&in);
  tc_generator_destroy(g);
  tr_destroy(t);
  tc_tensor_release(want);
  LEAK_END;
}
END_TEST

START_TEST(test_random_order_matches_torch) {
  LEAK_BEGIN;
  tc_tensor *want = fx_load(FAM, "random_order_seed7"); /* (5, 4) int64 */
  const int64_t *w = tc_tensor_data(want);
  tr_transform *ts[4];
  for (int i = 0; i < 4; i++) ts[i] = tr_lambda(tag_fn, &digits[i], NULL);
  tr_transform *t = tr_random_order(4, ts);
  tc_generator *g = tc_generator_create(7);
  tr_value in = tr_string_value(""), out;
  for (int call = 0; call < 5; call++) {
    ck_assert_int_eq(tr_apply(t, &in, &out, g), TC_OK);
    char expect[8];
    for (int k = 0; k < 4; k++) expect[k] = (char)('0' + w[call * 4 + k]);
    expect[4] = 0;
    ck_assert_str_eq(out.s, expect);
    tr_value_clear(&out);
  }
  tr_value_clear(&in);
  tc_generator_destroy(g);
  tr_destroy(t);
  tc_tensor_release(want);
  LEAK_END;
}
END_TEST

START_TEST(test_random_choice) {
  LEAK_BEGIN;
  /* weights 3:1: about three quarters pick the first */
  tr_transform *t = tr_random_choice(2, (tr_transform *[]){tr_lambda(tag_fn, &digits[0], NULL), tr_lambda(tag_fn, &digits[1], NULL)},
                                     (const double[]){3, 1});
  tc_generator *g = tc_generator_create(1);
  tr_value in = tr_string_value(""), out;
  int first = 0;
  for (int i = 0; i < 4000; i++) {
    ck_assert_int_eq(tr_apply(t, &in, &out, g), TC_OK);
    first += out.s[0] == '0';
    tr_value_clear(&out);
  }
  ck_assert_msg(first > 2880 && first < 3120, "picked the first %d of 4000 times", first);
  char *d = tr_describe(t);
  ck_assert_ptr_nonnull(strstr(d, "RandomChoice(p=[0.75, 0.25]"));
  tc_free(d);
  tr_value_clear(&in);
  tc_generator_destroy(g);
  tr_destroy(t);
  /* bad weights and lists: errors, and the given transforms are freed */
  ck_assert_ptr_null(tr_random_choice(1, (tr_transform *[]){tr_to_dtype(TC_F32, false)}, (const double[]){-1}));
  ck_assert_ptr_null(tr_random_choice(1, (tr_transform *[]){tr_to_dtype(TC_F32, false)}, (const double[]){0}));
  ck_assert_ptr_null(tr_random_choice(0, NULL, NULL));
  ck_assert_ptr_null(tr_random_apply(1.5, 1, (tr_transform *[]){tr_to_dtype(TC_F32, false)}));
  ck_assert_ptr_null(tr_compose(2, (tr_transform *[]){tr_to_dtype(TC_F32, false), tr_one_hot(0)}));
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "num_classes")); /* the inner failure's message is kept */
  LEAK_END;
}
END_TEST

/* ToDtype(scale=True) for every fixture pair, compared exactly with torchvision */
START_TEST(test_to_dtype_scale) {
  LEAK_BEGIN;
  static const struct {
    const char *tag;
    tc_dtype dt;
  } ds[] = {{"f32", TC_F32}, {"f64", TC_F64}, {"u8", TC_U8}, {"i16", TC_I16}, {"i8", TC_I8}, {"i32", TC_I32}, {"u16", TC_U16}};
  const char *srcs[] = {"u8", "i16", "i8", "f32", "f64"};
  int compared = 0;
  for (int s = 0; s < 5; s++) {
    char name[64];
    snprintf(name, sizeof name, "in_%s", srcs[s]);
    tc_tensor *x = fx_load(FAM, name);
    for (size_t d = 0; d < sizeof ds / sizeof ds[0]; d++) {
      if (!strcmp(srcs[s], ds[d].tag)) continue;
      tr_transform *t = tr_to_dtype(ds[d].dt, true);
      tr_value in = {.kind = TR_TENSOR, .tensor = x}, out;
      tc_status st = tr_apply(t, &in, &out, NULL);
      snprintf(name, sizeof name, "todtype_%s_%s", srcs[s], ds[d].tag);
      char path[512];
      snprintf(path, sizeof path, "%s/%s/%s.npy", CTORCH_FIXTURES_DIR, FAM, name);
      FILE *f = fopen(path, "rb");
      if (f) { /* torchvision converted it */
        fclose(f);
        ck_assert_msg(st == TC_OK, "%s: %s", name, tc_last_error());
        tc_tensor *want = fx_load(FAM, name);
        tc_tensor *w = tc_tensor_dtype(want) == ds[d].dt ? tc_tensor_retain(want) : tc_to_dtype(want, ds[d].dt);
        assert_equal(out.tensor, w, name);
        tc_tensor_release(w);
        tc_tensor_release(want);
        compared++;
      } else { /* torchvision refuses it (float -> wide int) */
        ck_assert_msg(st == TC_ERR_DTYPE, "%s: expected a refusal", name);
      }
      tr_value_clear(&out);
      tr_destroy(t);
    }
    tc_tensor_release(x);
  }
  ck_assert_int_eq(compared, 29); /* every pair torchvision converts */
  /* numbers become tensors; scale false converts plainly */
  tr_transform *t = tr_to_dtype(TC_F32, false);
  tr_value out, in = tr_int_value(3);
  ck_assert_int_eq(tr_apply(t, &in, &out, NULL), TC_OK);
  ck_assert_int_eq(tc_tensor_dtype(out.tensor), TC_F32);
  ck_assert_int_eq(tc_tensor_ndim(out.tensor), 0);
  tr_value_clear(&out);
  tr_value s = tr_string_value("x");
  ck_assert_int_eq(tr_apply(t, &s, &out, NULL), TC_ERR_ARG);
  tr_value_clear(&s);
  tr_destroy(t);
  ck_assert_ptr_null(tr_to_dtype(TC_C64, true));
  LEAK_END;
}
END_TEST

START_TEST(test_one_hot_pad) {
  LEAK_BEGIN;
  tr_transform *oh = tr_one_hot(10);
  tr_value out, in = tr_int_value(3);
  ck_assert_int_eq(tr_apply(oh, &in, &out, NULL), TC_OK);
  tc_tensor *want = tc_zeros(SHAPE(10), 1, NULL);
  ((float *)tc_tensor_data(want))[3] = 1;
  assert_equal(out.tensor, want, "one-hot of 3");
  tr_value_clear(&out);
  tr_value tl = tr_tensor_value(tc_scalar_tensor(3, TC_OPTS(.dtype = TC_I64)));
  ck_assert_int_eq(tr_apply(oh, &tl, &out, NULL), TC_OK);
  assert_equal(out.tensor, want, "one-hot of a 0-d tensor");
  tr_value_clear(&out);
  tr_value_clear(&tl);
  tc_tensor_release(want);
  in = tr_int_value(10);
  ck_assert_int_eq(tr_apply(oh, &in, &out, NULL), TC_ERR_ARG);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "label 10 is out of range for 10 classes"));
  tr_destroy(oh);
  /* pad a (2, 3) sequence to 5 along dim 1 with -1, truncate to 2 */
  tc_tensor *seq = tc_arange(0, 6, 1, TC_OPTS(.dtype = TC_F32)), *x = tc_reshape(seq, SHAPE(2, 3), 2);
  tc_tensor_release(seq);
  tr_transform *pad = tr_pad_truncate(1, 5, -1), *cut = tr_pad_truncate(-1, 2, 0);
  tr_value xv = {.kind = TR_TENSOR, .tensor = x};
  ck_assert_int_eq(tr_apply(pad, &xv, &out, NULL), TC_OK);
  tc_tensor *wp = T_F32(SHAPE(2, 5), 2, 0, 1, 2, -1, -1, 3, 4, 5, -1, -1);
  assert_equal(out.tensor, wp, "pad");
  tr_value_clear(&out);
  ck_assert_int_eq(tr_apply(cut, &xv, &out, NULL), TC_OK);
  tc_tensor *wc = T_F32(SHAPE(2, 2), 2, 0, 1, 3, 4);
  assert_equal(out.tensor, wc, "truncate");
  tr_value_clear(&out);
  tr_transform *bad = tr_pad_truncate(2, 4, 0);
  ck_assert_int_eq(tr_apply(bad, &xv, &out, NULL), TC_ERR_ARG);
  char *d = tr_describe(pad);
  ck_assert_str_eq(d, "PadTruncate(dim=1, length=5, value=-1)");
  tc_free(d);
  tr_destroy(bad);
  tr_destroy(pad);
  tr_destroy(cut);
  tc_tensor_release(wp);
  tc_tensor_release(wc);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

/* every allocation of a pipeline's construction and use failing in turn: an error, no leak */
static int pipeline_run(void *ctx) {
  (void)ctx;
  tc_generator *g = tc_generator_create(3);
  tr_transform *t = tr_compose(3, (tr_transform *[]){tr_to_dtype(TC_F32, true),
                                                      tr_random_apply(0.5, 1, (tr_transform *[]){tr_lambda(add_fn, &one, "one")}),
                                                      tr_pad_truncate(0, 6, 0)});
  tc_tensor *x = tc_ones(SHAPE(4), 1, TC_OPTS(.dtype = TC_U8));
  int rc = 1;
  tr_value out = {0};
  if (g && t && x) {
    tr_value in = {.kind = TR_TENSOR, .tensor = x};
    char *d = tr_describe(t);
    if (d && tr_apply(t, &in, &out, g) == TC_OK) rc = 0;
    tc_free(d);
  }
  tr_value_clear(&out);
  tc_tensor_release(x);
  tr_destroy(t);
  tc_generator_destroy(g);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(pipeline_run, NULL, "transform pipeline"); }
END_TEST

int main(void) {
  Suite *s = suite_create("transforms");
  TCase *tc = tcase_create("transforms");
  tcase_add_test(tc, test_values);
  tcase_add_test(tc, test_compose_lambda);
  tcase_add_test(tc, test_random_apply_matches_torch);
  tcase_add_test(tc, test_random_order_matches_torch);
  tcase_add_test(tc, test_random_choice);
  tcase_add_test(tc, test_to_dtype_scale);
  tcase_add_test(tc, test_one_hot_pad);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
