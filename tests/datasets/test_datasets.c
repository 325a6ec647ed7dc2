/* libctorch_datasets: samples, TensorDataset/ConcatDataset/Subset/random_split/transform wrapper,
 * and the samplers against torch.utils.data's sequences (tests/fixtures/gen/gen_datasets.py). */
#include <ctorch/datasets.h>
#include <string.h>
#include "test_util.h"

#define FAM "datasets"

/* the sampler's epoch equals the fixture (a 1-D int64 vector) */
static void check_seq(td_sampler *s, const char *fixture) {
  tc_tensor *want = fx_load(FAM, fixture);
  int64_t *idx, n;
  ck_assert_msg(td_sampler_indices(s, &idx, &n) == TC_OK, "%s: %s", fixture, tc_last_error());
  ck_assert_int_eq(n, tc_tensor_numel(want));
  ck_assert_int_eq(td_sampler_len(s), n);
  const int64_t *w = tc_tensor_data(want);
  for (int64_t i = 0; i < n; i++) ck_assert_msg(idx[i] == w[i], "%s[%lld]: %lld, torch %lld", fixture, (long long)i,
                                                (long long)idx[i], (long long)w[i]);
  tc_free(idx);
  tc_tensor_release(want);
}

START_TEST(test_samples) {
  LEAK_BEGIN;
  td_sample s;
  td_sample_init(&s);
  ck_assert_int_eq(td_sample_set(&s, "input", tr_tensor_value(tc_ones(SHAPE(2), 1, NULL))), TC_OK);
  ck_assert_int_eq(td_sample_set(&s, "target", tr_int_value(3)), TC_OK);
  ck_assert_int_eq(td_sample_set(&s, "target", tr_int_value(4)), TC_OK); /* replaced */
  ck_assert_int_eq(s.n, 2);
  ck_assert_int_eq(td_sample_field(&s, "target")->i, 4);
  ck_assert_ptr_null(td_sample_field(&s, "label"));
  char longname[64];
  memset(longname, 'a', 40);
  longname[40] = 0;
  ck_assert_int_eq(td_sample_set(&s, longname, tr_string_value("x")), TC_ERR_ARG); /* the value is freed */
  for (int i = 0; i < TD_MAX_FIELDS - 2; i++) {
    char nm[8];
    snprintf(nm, sizeof nm, "f%d", i);
    ck_assert_int_eq(td_sample_set(&s, nm, tr_float_value(i)), TC_OK);
  }
  ck_assert_int_eq(td_sample_set(&s, "one_more", tr_string_value("x")), TC_ERR_ARG);
  td_sample_clear(&s);
  ck_assert_int_eq(s.n, 0);
  LEAK_END;
}
END_TEST

static tc_status double_fn(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)gen, (void)user;
  tc_tensor *r = tc_mul_scalar(in->tensor, 2);
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

START_TEST(test_datasets) {
  LEAK_BEGIN;
  tc_scope_push(); /* the temporaries of the checks below */
  tc_tensor *seq = tc_arange(0, 12, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *x = tc_reshape(seq, SHAPE(6, 2), 2), *y = tc_arange(0, 6, 1, NULL);
  tc_tensor_release(seq);
  td_dataset *ds = td_tensor_dataset(2, (const tc_tensor *[]){x, y}, (const char *[]){"input", "target"});
  tc_tensor_release(x);
  tc_tensor_release(y);
  ck_assert_ptr_nonnull(ds);
  ck_assert_int_eq(td_len(ds), 6);
  td_sample s;
  ck_assert_int_eq(td_get(ds, -1, &s, NULL), TC_OK); /* the last, as Python */
  double v;
  tc_item_double(tc_select(td_sample_field(&s, "input")->tensor, 0, 1), &v);
  ck_assert_double_eq(v, 11);
  td_sample_clear(&s);
  ck_assert_int_eq(td_get(ds, 6, &s, NULL), TC_ERR_ARG);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "index 6 is out of range for a TensorDataset of 6 samples"));
  /* concat of the dataset with a subset of itself: 6 + 2 samples */
  td_dataset *sub = td_subset(ds, (const int64_t[]){4, 1}, 2);
  td_dataset *cat = td_concat(2, (td_dataset *[]){ds, sub});
  ck_assert_int_eq(td_len(cat), 8);
  ck_assert_int_eq(td_get(cat, 7, &s, NULL), TC_OK);
  int64_t t;
  tc_item_int64(td_sample_field(&s, "target")->tensor, &t);
  ck_assert_int_eq(t, 1);
  td_sample_clear(&s);
  ck_assert_ptr_null(td_subset(ds, (const int64_t[]){9}, 1));
  /* transform wrapper: input doubled, target one-hot */
  td_dataset *tds = td_transformed(ds, "input", tr_lambda(double_fn, NULL, "double"), "target", tr_one_hot(6));
  ck_assert_int_eq(td_get(tds, 2, &s, NULL), TC_OK);
  tc_tensor *want_in = T_F32(SHAPE(2), 1, 8, 10);
  assert_equal(td_sample_field(&s, "input")->tensor, want_in, "transformed input");
  tc_tensor *want_t = T_F32(SHAPE(6), 1, 0, 0, 1, 0, 0, 0);
  assert_equal(td_sample_field(&s, "target")->tensor, want_t, "one-hot target");
  tc_tensor_release(want_in);
  tc_tensor_release(want_t);
  td_sample_clear(&s);
  td_dataset *bad = td_transformed(ds, "image", tr_lambda(double_fn, NULL, NULL), NULL, NULL);
  ck_assert_int_eq(td_get(bad, 0, &s, NULL), TC_ERR_ARG);
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "no field 'image'"));
  td_release(bad);
  td_release(tds);
  td_release(cat);
  td_release(sub);
  td_release(ds); /* the others held their own references */
  ck_assert_ptr_null(td_tensor_dataset(2, (const tc_tensor *[]){tc_ones(SHAPE(3), 1, NULL), tc_ones(SHAPE(4), 1, NULL)},
                                       (const char *[]){"a", "b"}));
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* random_split: sizes and indices as torch.utils.data.random_split */
START_TEST(test_random_split) {
  tc_tensor *data = tc_arange(0, 11, 1, NULL);
  td_dataset *full = td_tensor_dataset(1, (const tc_tensor *[]){data}, (const char *[]){"x"});
  int64_t first10[10];
  for (int i = 0; i < 10; i++) first10[i] = i;
  td_dataset *ds = td_subset(full, first10, 10);
  tc_generator *g = tc_generator_create(42);
  td_dataset *parts[3];
  ck_assert_int_eq(td_random_split(ds, 3, (const double[]){0.3, 0.3, 0.4}, g, parts), TC_OK);
  tc_tensor *want = fx_load(FAM, "split_frac_seed42");
  const int64_t *w = tc_tensor_data(want);
  int64_t k = 0;
  for (int p = 0; p < 3; p++) {
    for (int64_t i = 0; i < td_len(parts[p]); i++, k++) {
      td_sample s;
      ck_assert_int_eq(td_get(parts[p], i, &s, NULL), TC_OK);
      int64_t v;
      tc_item_int64(td_sample_field(&s, "x")->tensor, &v);
      ck_assert_int_eq(v, w[k]);
      td_sample_clear(&s);
    }
    td_release(parts[p]);
  }
  ck_assert_int_eq(k, 10);
  tc_tensor_release(want);
  /* 11 samples into halves: the remainder goes to the first */
  tc_generator_manual_seed(g, 1);
  ck_assert_int_eq(td_random_split(full, 2, (const double[]){0.5, 0.5}, g, parts), TC_OK);
  tc_tensor *sizes = fx_load(FAM, "split_frac_odd_seed1_sizes");
  ck_assert_int_eq(td_len(parts[0]), ((const int64_t *)tc_tensor_data(sizes))[0]);
  ck_assert_int_eq(td_len(parts[1]), ((const int64_t *)tc_tensor_data(sizes))[1]);
  td_release(parts[0]);
  td_release(parts[1]);
  tc_tensor_release(sizes);
  ck_assert_int_eq(td_random_split(full, 2, (const double[]){3, 7}, g, parts), TC_ERR_ARG); /* 10 != 11 */
  ck_assert_ptr_null(parts[0]);
  tc_generator_destroy(g);
  td_release(ds);
  td_release(full);
  tc_tensor_release(data);
}
END_TEST

START_TEST(test_samplers_match_torch) {
  LEAK_BEGIN;
  tc_generator *g = tc_generator_create(3);
  td_sampler *s = td_random_sampler(10, false, 0, g);
  check_seq(s, "random_n10_seed3");
  td_sampler_destroy(s);
  tc_generator_manual_seed(g, 4);
  s = td_random_sampler(10, true, 40, g);
  check_seq(s, "random_n10_repl_40_seed4");
  td_sampler_destroy(s);
  tc_generator_manual_seed(g, 5);
  s = td_random_sampler(10, false, 25, g);
  check_seq(s, "random_n10_25_seed5");
  td_sampler_destroy(s);
  tc_generator_manual_seed(g, 6);
  s = td_subset_random_sampler((const int64_t[]){5, 7, 9, 11}, 4, g);
  check_seq(s, "subset_random_seed6");
  td_sampler_destroy(s);
  /* DistributedSampler: every rank, both epochs, with and without drop_last */
  for (int drop = 0; drop < 2; drop++)
    for (int epoch = 0; epoch < 2; epoch++) {
      char name[64];
      snprintf(name, sizeof name, "distributed_drop%d_epoch%d", drop, epoch);
      tc_tensor *want = fx_load(FAM, name);
      int64_t per = tc_tensor_shape(want)[1];
      for (int rank = 0; rank < 3; rank++) {
        s = td_distributed_sampler(10, 3, rank, true, 11, drop);
        td_distributed_set_epoch(s, epoch);
        int64_t *idx, n;
        ck_assert_int_eq(td_sampler_indices(s, &idx, &n), TC_OK);
        ck_assert_int_eq(n, per);
        for (int64_t i = 0; i < n; i++) ck_assert_int_eq(idx[i], ((const int64_t *)tc_tensor_data(want))[rank * per + i]);
        tc_free(idx);
        td_sampler_destroy(s);
      }
      tc_tensor_release(want);
    }
  tc_tensor *want = fx_load(FAM, "distributed_noshuffle");
  for (int rank = 0; rank < 4; rank++) {
    s = td_distributed_sampler(10, 4, rank, false, 0, false);
    int64_t *idx, n;
    ck_assert_int_eq(td_sampler_indices(s, &idx, &n), TC_OK);
    ck_assert_int_eq(n, 3);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(idx[i], ((const int64_t *)tc_tensor_data(want))[rank * 3 + i]);
    tc_free(idx);
    td_sampler_destroy(s);
  }
  tc_tensor_release(want);
  ck_assert_ptr_null(td_distributed_sampler(10, 3, 3, true, 0, false));
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "invalid rank 3"));
  ck_assert_ptr_null(td_random_sampler(10, false, 0, NULL));
  tc_generator_destroy(g);
  LEAK_END;
}
END_TEST

START_TEST(test_batch_and_weighted) {
  LEAK_BEGIN;
  for (int drop = 0; drop < 2; drop++) {
    td_sampler *b = td_batch_sampler(td_sequential_sampler(10), 3, drop);
    ck_assert_int_eq(td_sampler_len(b), drop ? 3 : 4);
    int64_t *idx, *off, nb;
    ck_assert_int_eq(td_batch_sampler_batches(b, &idx, &off, &nb), TC_OK);
    ck_assert_int_eq(nb, drop ? 3 : 4);
    for (int64_t k = 0; k < nb; k++) {
      ck_assert_int_eq(off[k], 3 * k);
      ck_assert_int_eq(off[k + 1] - off[k], k == 3 ? 1 : 3); /* [9] last without drop_last */
    }
    for (int64_t i = 0; i < off[nb]; i++) ck_assert_int_eq(idx[i], i);
    tc_free(idx);
    tc_free(off);
    td_sampler_destroy(b);
  }
  ck_assert_ptr_null(td_batch_sampler(td_sequential_sampler(3), 0, false));
  /* weighted: 9:1 weights draw the first about 90% of the time; without replacement every index once */
  tc_generator *g = tc_generator_create(9);
  td_sampler *w = td_weighted_random_sampler((const double[]){9, 1}, 2, 10000, true, g);
  int64_t *idx, n, first = 0;
  ck_assert_int_eq(td_sampler_indices(w, &idx, &n), TC_OK);
  for (int64_t i = 0; i < n; i++) first += idx[i] == 0;
  ck_assert_msg(first > 8800 && first < 9200, "first drawn %lld of 10000", (long long)first);
  tc_free(idx);
  td_sampler_destroy(w);
  w = td_weighted_random_sampler((const double[]){1, 0, 3, 2}, 4, 3, false, g);
  ck_assert_int_eq(td_sampler_indices(w, &idx, &n), TC_OK);
  bool seen[4] = {0};
  for (int64_t i = 0; i < n; i++) {
    ck_assert(idx[i] != 1 && !seen[idx[i]]);
    seen[idx[i]] = true;
  }
  tc_free(idx);
  td_sampler_destroy(w);
  ck_assert_ptr_null(td_weighted_random_sampler((const double[]){1, 0}, 2, 2, false, g)); /* only one non-zero */
  ck_assert_ptr_null(td_weighted_random_sampler((const double[]){-1, 2}, 2, 2, true, g));
  tc_generator_destroy(g);
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("datasets");
  TCase *tc = tcase_create("datasets");
  tcase_add_test(tc, test_samples);
  tcase_add_test(tc, test_datasets);
  tcase_add_test(tc, test_random_split);
  tcase_add_test(tc, test_samplers_match_torch);
  tcase_add_test(tc, test_batch_and_weighted);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
