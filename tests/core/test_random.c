/* Random numbers: the MT19937 engine, and rand/randn/randint/randperm/uniform_/normal_/bernoulli
 * compared bit for bit with PyTorch's CPU streams (fixtures from tests/fixtures/gen/gen_random.py).
 *
 * Float randn of >= 16 contiguous elements follows PyTorch's AVX2/AVX-512 kernels (the x86-64
 * wheels), whose Box-Muller uses the Cephes-style logf/sincosf of avx_mathfun.h: ctorch reproduces
 * those operations exactly, so the comparison is exact, not within an ulp. (A PyTorch that runs its
 * DEFAULT, non-vectorised kernels, e.g. ATEN_CPU_CAPABILITY=default, uses libm there instead and
 * differs in the last 1-2 bits of some values; the fixtures are generated with AVX2/AVX512.)
 */
#include <pthread.h>
#include <string.h>
#include "test_util.h"
#include "random_internal.h"

/* got equals the fixture exactly: same shape, and the same bits after converting got to the
 * fixture's dtype (bf16 fixtures are stored as float32, which holds bf16 exactly). */
static void same_bits_msg(const tc_tensor *got, const char *name, const char *file, int line) {
  ck_assert_msg(got != NULL, "%s:%d %s: no tensor (%s)", file, line, name, tc_last_error());
  /* the temporaries belong to an inner scope (tc_contiguous may hand back got itself, retained) */
  tc_scope_push();
  tc_tensor *e = fx_load("random", name);
  ck_assert_msg(tc_tensor_ndim(got) == tc_tensor_ndim(e), "%s:%d %s: ndim %lld vs %lld", file, line, name,
                (long long)tc_tensor_ndim(got), (long long)tc_tensor_ndim(e));
  for (int64_t d = 0; d < tc_tensor_ndim(e); d++)
    ck_assert_msg(tc_tensor_size(got, d) == tc_tensor_size(e, d), "%s:%d %s: size %lld differs", file, line, name,
                  (long long)d);
  tc_tensor *c = tc_contiguous(got);
  tc_tensor *g = tc_to_dtype(c, tc_tensor_dtype(e));
  size_t es = tc_tensor_element_size(e);
  const unsigned char *a = tc_tensor_data(g), *b = tc_tensor_data(e);
  int64_t n = tc_tensor_numel(e);
  for (int64_t i = 0; i < n; i++)
    if (memcmp(a + (size_t)i * es, b + (size_t)i * es, es)) {
      double x, y;
      tc_tensor *gi = tc_select(tc_flatten(g, 0, -1), 0, i), *ei = tc_select(tc_flatten(e, 0, -1), 0, i);
      tc_item_double(gi, &x);
      tc_item_double(ei, &y);
      ck_abort_msg("%s:%d %s: element %lld is %.9g, PyTorch has %.9g", file, line, name, (long long)i, x, y);
    }
  tc_scope_pop();
}
#define same_bits(got, name) same_bits_msg((got), (name), __FILE__, __LINE__)

static const uint64_t SEEDS[3] = {0, 42, (UINT64_C(1) << 40) + 7};

START_TEST(test_engine) {
  LEAK_BEGIN;
  /* the MT19937 reference: seed 5489, first and 10000th outputs */
  tc_generator *g = tc_generator_create(5489);
  ck_assert_uint_eq(tc_generator_next_u32(g), 3499211612u);
  uint32_t v = 0;
  for (int i = 1; i < 10000; i++) v = tc_generator_next_u32(g);
  ck_assert_uint_eq(v, 4123659995u);
  /* a 64-bit draw is two 32-bit draws, the first one high; uniform takes its low 53 bits */
  tc_generator *a = tc_generator_create(99), *b = tc_generator_create(99), *c = tc_generator_create(99);
  for (int i = 0; i < 700; i++) { /* crosses a twist, at both parities */
    uint64_t hi = tc_generator_next_u32(b), lo = tc_generator_next_u32(b);
    uint64_t w = tc_generator_next_u64(a);
    ck_assert_uint_eq(w, hi << 32 | lo);
    double u = tc_generator_uniform(c);
    ck_assert(u == (double)(w & ((UINT64_C(1) << 53) - 1)) * 0x1p-53);
    if (i == 300) tc_generator_next_u32(a), tc_generator_next_u32(b), tc_generator_next_u32(c);
  }
  /* the engine uses the low 32 bits of the seed; initial_seed keeps all 64 */
  tc_generator *big = tc_generator_create((UINT64_C(1) << 40) + 7), *small = tc_generator_create(7);
  ck_assert_uint_eq(tc_generator_initial_seed(big), (UINT64_C(1) << 40) + 7);
  for (int i = 0; i < 10; i++) ck_assert_uint_eq(tc_generator_next_u32(big), tc_generator_next_u32(small));
  /* the default generator starts from PyTorch's default_rng_seed_val; NULL means the default */
  ck_assert_ptr_eq(tc__gen_or_default(NULL), tc_default_generator());
  tc_manual_seed(31);
  ck_assert_uint_eq(tc_generator_initial_seed(NULL), 31);
  ck_assert_uint_eq(tc_generator_initial_seed(tc_default_generator()), 31);
  tc_generator_destroy(tc_default_generator()); /* ignored */
  tc_generator_destroy(NULL);
  tc_generator_destroy(g);
  tc_generator_destroy(a);
  tc_generator_destroy(b);
  tc_generator_destroy(c);
  tc_generator_destroy(big);
  tc_generator_destroy(small);
  LEAK_END;
}
END_TEST

START_TEST(test_rand_randn_streams) {
  LEAK_BEGIN;
  char name[64];
  for (int si = 0; si < 3; si++) {
    const int64_t ns[4] = {5, 16, 17, 1000};
    for (int k = 0; k < 4; k++) {
      int64_t n = ns[k];
      tc_manual_seed(SEEDS[si]);
      tc_tensor *r = tc_rand(&n, 1, NULL);
      snprintf(name, sizeof name, "rand_f32_n%lld_s%d", (long long)n, si);
      same_bits(r, name);
      tc_tensor_release(r);
      tc_manual_seed(SEEDS[si]);
      r = tc_randn(&n, 1, NULL);
      snprintf(name, sizeof name, "randn_f32_n%lld_s%d", (long long)n, si);
      same_bits(r, name);
      tc_tensor_release(r);
    }
    const int64_t nd[4] = {5, 16, 17, 100};
    for (int k = 0; k < 4; k++) {
      int64_t n = nd[k];
      tc_manual_seed(SEEDS[si]);
      tc_tensor *r = tc_randn(&n, 1, TC_OPTS(.dtype = TC_F64));
      snprintf(name, sizeof name, "randn_f64_n%lld_s%d", (long long)n, si);
      same_bits(r, name);
      tc_tensor_release(r);
    }
    const int64_t nr[2] = {5, 17};
    for (int k = 0; k < 2; k++) {
      int64_t n = nr[k];
      tc_manual_seed(SEEDS[si]);
      tc_tensor *r = tc_rand(&n, 1, TC_OPTS(.dtype = TC_F64));
      snprintf(name, sizeof name, "rand_f64_n%lld_s%d", (long long)n, si);
      same_bits(r, name);
      tc_tensor_release(r);
    }
  }
  LEAK_END;
}
END_TEST

START_TEST(test_interleaved_sequence) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(7);
  same_bits(tc_rand(SHAPE(3), 1, NULL), "seq_0");
  same_bits(tc_randn(SHAPE(5), 1, NULL), "seq_1"); /* leaves a cached normal sample */
  same_bits(tc_rand(SHAPE(2, 2), 2, NULL), "seq_2");
  same_bits(tc_randn(SHAPE(4, 5), 2, NULL), "seq_3");
  same_bits(tc_randn(SHAPE(3), 1, NULL), "seq_4"); /* starts with the cached sample */
  same_bits(tc_randn(SHAPE(4), 1, TC_OPTS(.dtype = TC_F64)), "seq_5");
  same_bits(tc_rand(SHAPE(1), 1, NULL), "seq_6");
  same_bits(tc_randn(SHAPE(2, 8), 2, NULL), "seq_7");
  same_bits(tc_rand(SHAPE(7), 1, TC_OPTS(.dtype = TC_F64)), "seq_8");
  /* reseeding drops the cached sample */
  tc_manual_seed(7);
  tc_tensor_release(tc_rand(SHAPE(3), 1, NULL));
  tc_tensor_release(tc_randn(SHAPE(5), 1, NULL));
  tc_manual_seed(7);
  same_bits(tc_rand(SHAPE(3), 1, NULL), "seq_0");
  same_bits(tc_randn(SHAPE(5), 1, NULL), "seq_1");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_half_and_complex) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(3);
  same_bits(tc_rand(SHAPE(100), 1, TC_OPTS(.dtype = TC_F16)), "rand_f16");
  same_bits(tc_rand(SHAPE(100), 1, TC_OPTS(.dtype = TC_BF16)), "rand_bf16");
  same_bits(tc_randn(SHAPE(5), 1, TC_OPTS(.dtype = TC_F16)), "randn_f16_n5");
  same_bits(tc_randn(SHAPE(37), 1, TC_OPTS(.dtype = TC_F16)), "randn_f16_n37");
  same_bits(tc_randn(SHAPE(37), 1, TC_OPTS(.dtype = TC_BF16)), "randn_bf16_n37");
  same_bits(tc_rand(SHAPE(4), 1, TC_OPTS(.dtype = TC_C64)), "rand_c64");
  same_bits(tc_randn(SHAPE(3), 1, TC_OPTS(.dtype = TC_C64)), "randn_c64_n3");
  same_bits(tc_randn(SHAPE(10), 1, TC_OPTS(.dtype = TC_C64)), "randn_c64_n10");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_randint) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(5);
  tc_tensor *r = tc_randint(0, 10, SHAPE(20), 1, NULL);
  ck_assert_int_eq(tc_tensor_dtype(r), TC_I64);
  same_bits(r, "randint_0_10");
  same_bits(tc_randint(-5, 5, SHAPE(7), 1, NULL), "randint_m5_5");
  same_bits(tc_randint(0, INT64_C(1) << 28, SHAPE(6), 1, NULL), "randint_2p28"); /* 64-bit draws */
  same_bits(tc_randint(0, (INT64_C(1) << 28) - 1, SHAPE(6), 1, NULL), "randint_2p28m1");
  same_bits(tc_randint(-(INT64_C(1) << 40), INT64_C(1) << 40, SHAPE(6), 1, NULL), "randint_big");
  same_bits(tc_randint(0, 100, SHAPE(9), 1, TC_OPTS(.dtype = TC_I32)), "randint_i32");
  same_bits(tc_randint(0, 256, SHAPE(9), 1, TC_OPTS(.dtype = TC_U8)), "randint_u8");
  same_bits(tc_randint(-1000, 1000, SHAPE(9), 1, TC_OPTS(.dtype = TC_F32)), "randint_f32");
  same_bits(tc_randint(0, 100, SHAPE(9), 1, TC_OPTS(.dtype = TC_F16)), "randint_f16");
  same_bits(tc_randint(0, 2, SHAPE(9), 1, TC_OPTS(.dtype = TC_BOOL)), "randint_bool");
  same_bits(tc_rand(SHAPE(2), 1, NULL), "randint_tail");
  /* the full int64 range works (range 2^64 - 1) */
  tc_tensor *full = tc_randint(INT64_MIN, INT64_MAX, SHAPE(4), 1, NULL);
  ck_assert_ptr_nonnull(full);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_randperm) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(11);
  char name[32];
  const int64_t ns[5] = {1, 2, 5, 100, 1000};
  for (int k = 0; k < 5; k++) {
    snprintf(name, sizeof name, "randperm_%lld", (long long)ns[k]);
    same_bits(tc_randperm(ns[k], NULL), name);
  }
  same_bits(tc_randperm(50, TC_OPTS(.dtype = TC_F32)), "randperm_f32");
  same_bits(tc_randperm(50, TC_OPTS(.dtype = TC_I32)), "randperm_i32");
  same_bits(tc_rand(SHAPE(2), 1, NULL), "randperm_tail");
  tc_tensor *z = tc_randperm(0, NULL);
  ck_assert_int_eq(tc_tensor_numel(z), 0);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_inplace_fills) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(13);
  tc_tensor *x = tc_t(tc_zeros(SHAPE(6, 5), 2, NULL)); /* (5, 6), transposed: filled in memory order */
  ck_assert_int_eq(tc_uniform_inplace(x, -2, 3, NULL), TC_OK);
  same_bits(x, "uniform_t");
  x = tc_slice(tc_zeros(SHAPE(4, 10), 2, NULL), 1, 0, TC_END, 2); /* 20 elements, not contiguous */
  ck_assert_int_eq(tc_normal_inplace(x, 1, 2, NULL), TC_OK);
  same_bits(x, "normal_step");
  x = tc_permute(tc_zeros(SHAPE(3, 4, 5), 3, NULL), SHAPE(2, 0, 1), 3);
  ck_assert_int_eq(tc_normal_inplace(x, 0.5, 1.5, NULL), TC_OK);
  same_bits(x, "normal_perm");
  x = tc_empty(SHAPE(40), 1, NULL);
  ck_assert_int_eq(tc_normal_inplace(x, 0.5, 3.0, NULL), TC_OK);
  same_bits(x, "normal_f32_n40");
  x = tc_empty(SHAPE(40), 1, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_normal_inplace(x, -1.5, 0.25, NULL), TC_OK);
  same_bits(x, "normal_f64_n40");
  x = tc_empty(SHAPE(7), 1, NULL);
  ck_assert_int_eq(tc_normal_inplace(x, 2.0, 0.5, NULL), TC_OK);
  same_bits(x, "normal_f32_n7");
  x = tc_empty(SHAPE(50), 1, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_uniform_inplace(x, -1.7, 3.3, NULL), TC_OK);
  same_bits(x, "uniform_f64");
  x = tc_empty(SHAPE(50), 1, NULL);
  ck_assert_int_eq(tc_uniform_inplace(x, -1.7, 3.3, NULL), TC_OK);
  same_bits(x, "uniform_f32");
  x = tc_empty(SHAPE(50), 1, TC_OPTS(.dtype = TC_F16));
  ck_assert_int_eq(tc_uniform_inplace(x, 0, 1000, NULL), TC_OK);
  same_bits(x, "uniform_f16");
  x = tc_empty(SHAPE(50), 1, NULL);
  ck_assert_int_eq(tc_bernoulli_inplace(x, 0.3, NULL), TC_OK);
  same_bits(x, "bernoulli_f32");
  x = tc_empty(SHAPE(30), 1, TC_OPTS(.dtype = TC_I64));
  ck_assert_int_eq(tc_bernoulli_inplace(x, 0.7, NULL), TC_OK);
  same_bits(x, "bernoulli_i64");
  x = tc_t(tc_zeros(SHAPE(4, 5), 2, TC_OPTS(.dtype = TC_BOOL)));
  ck_assert_int_eq(tc_bernoulli_inplace(x, 0.5, NULL), TC_OK);
  same_bits(x, "bernoulli_bool_t");
  /* a fill writes only the view's elements */
  tc_tensor *base = tc_zeros(SHAPE(4, 6), 2, NULL);
  ck_assert_int_eq(tc_uniform_inplace(tc_slice(base, 1, 1, TC_END, 2), 5, 6, NULL), TC_OK);
  const float *bd = tc_tensor_data(base);
  for (int i = 0; i < 24; i++) ck_assert(i % 2 ? (bd[i] >= 5 && bd[i] < 6) : bd[i] == 0);
  /* p = 0 and p = 1 are certain; empty tensors draw nothing */
  x = tc_empty(SHAPE(3, 3), 2, TC_OPTS(.dtype = TC_U8));
  tc_bernoulli_inplace(x, 1.0, NULL);
  for (int i = 0; i < 9; i++) ck_assert_int_eq(((uint8_t *)tc_tensor_data(x))[i], 1);
  tc_bernoulli_inplace(x, 0.0, NULL);
  for (int i = 0; i < 9; i++) ck_assert_int_eq(((uint8_t *)tc_tensor_data(x))[i], 0);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_bernoulli_tensor) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *p = fx_load("random", "bern_p"); /* (7, 3) */
  tc_manual_seed(17);
  same_bits(tc_bernoulli(p, NULL), "bern_out");
  tc_tensor *pt = tc_t(p);
  tc_tensor *bt = tc_bernoulli(pt, NULL); /* contiguous result, logical order */
  ck_assert(tc_tensor_is_contiguous(bt));
  same_bits(bt, "bern_out_t");
  tc_tensor *b64 = tc_bernoulli(tc_to_dtype(p, TC_F64), NULL);
  ck_assert_int_eq(tc_tensor_dtype(b64), TC_F64);
  same_bits(b64, "bern_out_f64");
  same_bits(tc_bernoulli(tc_to_dtype(p, TC_F16), NULL), "bern_out_f16");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_like) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(19);
  tc_tensor *t = tc_t(tc_empty(SHAPE(8, 5), 2, NULL)); /* (5, 8) transposed: PyTorch keeps the layout */
  tc_tensor *r = tc_rand_like(t, NULL);
  ck_assert(tc_tensor_is_contiguous(r));
  same_bits(r, "rand_like_t");
  same_bits(tc_randn_like(t, NULL), "randn_like_t");
  same_bits(tc_randn_like(tc_empty(SHAPE(5, 8), 2, NULL), NULL), "randn_like_c");
  tc_tensor *h = tc_rand_like(t, TC_OPTS(.dtype = TC_F64));
  ck_assert_int_eq(tc_tensor_dtype(h), TC_F64);
  tc_tensor *ti = tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_I32));
  ck_assert_ptr_null(tc_rand_like(ti, NULL)); /* like an int tensor: the dtype is int */
  assert_error(TC_ERR_DTYPE, "tc_rand_like");
  ck_assert_ptr_nonnull(tc_rand_like(ti, TC_OPTS(.dtype = TC_F32)));
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_generator_objects) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(23);
  tc_generator *g = tc_generator_create(123);
  ck_assert_ptr_nonnull(g);
  same_bits(tc_rand(SHAPE(4), 1, TC_OPTS(.generator = g)), "gen_a");
  same_bits(tc_rand(SHAPE(4), 1, NULL), "gen_default");
  same_bits(tc_randn(SHAPE(6), 1, TC_OPTS(.generator = g)), "gen_b");
  same_bits(tc_randn(SHAPE(20), 1, TC_OPTS(.generator = g)), "gen_c");
  tc_generator_manual_seed(g, 123);
  same_bits(tc_rand(SHAPE(4), 1, TC_OPTS(.generator = g)), "gen_reseeded");
  /* in-place fills take the generator too, and leave the default alone */
  tc_manual_seed(0);
  tc_tensor *x = tc_empty(SHAPE(5), 1, NULL);
  tc_uniform_inplace(x, 0, 1, g);
  tc_normal_inplace(x, 0, 1, g);
  tc_bernoulli_inplace(x, 0.5, g);
  tc_tensor_release(tc_bernoulli(x, g));
  tc_tensor_release(tc_randint(0, 5, SHAPE(3), 1, TC_OPTS(.generator = g)));
  tc_tensor_release(tc_randperm(9, TC_OPTS(.generator = g)));
  same_bits(tc_rand(SHAPE(5), 1, NULL), "rand_f32_n5_s0");
  tc_generator_destroy(g);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* The portable Box-Muller gives the same bits as the AVX2 one on random and edge inputs. */
START_TEST(test_box_muller_paths) {
  tc_generator *g = tc_generator_create(2024);
  float edge[8] = {0.0f, 0x1p-24f, 0.5f, 1.0f - 0x1p-24f, 0.25f, 0.75f, 0x1p-20f, 0.999f};
  for (int it = 0; it < 20000; it++) {
    float a[16], b[16];
    tc__gen_fill_uniform_f32(g, a, 16);
    if (it == 0)
      for (int j = 0; j < 8; j++) a[j] = edge[j], a[8 + j] = edge[7 - j];
    memcpy(b, a, sizeof a);
    float mean = it % 3 ? 0.0f : 0.5f, std = it % 3 ? 1.0f : 2.5f;
    tc__box_muller16_f32(a, mean, std, false);
    tc__box_muller16_f32(b, mean, std, true);
    for (int j = 0; j < 16; j++) {
      uint32_t x, y;
      memcpy(&x, &a[j], 4);
      memcpy(&y, &b[j], 4);
      ck_assert_msg(x == y, "iteration %d lane %d: %.9g vs %.9g", it, j, a[j], b[j]);
      ck_assert(isfinite(a[j]));
    }
  }
  tc_generator_destroy(g);
}
END_TEST

/* Statistics of the distributions: cheap sanity checks beyond the fixtures. */
START_TEST(test_moments) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(1);
  const int64_t n = 200000;
  tc_tensor *x = tc_randn(&n, 1, NULL);
  const float *d = tc_tensor_data(x);
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) s += d[i], s2 += (double)d[i] * d[i];
  ck_assert(fabs(s / n) < 0.01 && fabs(s2 / n - 1) < 0.02);
  tc_tensor *u = tc_rand(&n, 1, TC_OPTS(.dtype = TC_F64));
  const double *ud = tc_tensor_data(u);
  s = 0;
  for (int64_t i = 0; i < n; i++) {
    ck_assert(ud[i] >= 0 && ud[i] < 1);
    s += ud[i];
  }
  ck_assert(fabs(s / n - 0.5) < 0.005);
  tc_tensor *b = tc_empty(&n, 1, TC_OPTS(.dtype = TC_BOOL));
  tc_bernoulli_inplace(b, 0.25, NULL);
  const bool *bd = tc_tensor_data(b);
  int64_t ones = 0;
  for (int64_t i = 0; i < n; i++) ones += bd[i];
  ck_assert(fabs((double)ones / n - 0.25) < 0.005);
  tc_tensor *p = tc_randperm(1000, NULL);
  const int64_t *pd = tc_tensor_data(p);
  bool seen[1000] = {0};
  for (int i = 0; i < 1000; i++) {
    ck_assert(pd[i] >= 0 && pd[i] < 1000 && !seen[pd[i]]);
    seen[pd[i]] = true;
  }
  tc_tensor *ri = tc_randint(-3, 4, SHAPE(1000), 1, TC_OPTS(.dtype = TC_I8));
  const int8_t *rd = tc_tensor_data(ri);
  for (int i = 0; i < 1000; i++) ck_assert(rd[i] >= -3 && rd[i] < 4);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_errors) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(0);
  ck_assert_ptr_null(tc_rand(SHAPE(3), 1, TC_OPTS(.dtype = TC_I64)));
  assert_error(TC_ERR_DTYPE, "tc_rand: uniform values need a floating-point dtype, got int64");
  ck_assert_ptr_null(tc_randn(SHAPE(3), 1, TC_OPTS(.dtype = TC_I32)));
  assert_error(TC_ERR_DTYPE, "tc_randn");
  ck_assert_ptr_null(tc_rand(SHAPE(3), 1, TC_OPTS(.dtype = TC_BOOL)));
  assert_error(TC_ERR_DTYPE, "bool");
  ck_assert_ptr_null(tc_rand(SHAPE(2, -3), 2, NULL));
  assert_error(TC_ERR_SHAPE, "negative size -3");
  ck_assert_ptr_null(tc_randn(NULL, 2, NULL));
  assert_error(TC_ERR_ARG, "shape is NULL");
  ck_assert_ptr_null(tc_randint(5, 5, SHAPE(3), 1, NULL));
  assert_error(TC_ERR_ARG, "low=5 >= high=5");
  ck_assert_ptr_null(tc_randint(0, 300, SHAPE(3), 1, TC_OPTS(.dtype = TC_U8)));
  assert_error(TC_ERR_ARG, "out of bounds for uint8");
  ck_assert_ptr_null(tc_randint(-1, 3, SHAPE(3), 1, TC_OPTS(.dtype = TC_U8)));
  assert_error(TC_ERR_ARG, "low=-1");
  ck_assert_ptr_null(tc_randint(0, 3, SHAPE(3), 1, TC_OPTS(.dtype = TC_BOOL)));
  assert_error(TC_ERR_ARG, "bool");
  ck_assert_ptr_null(tc_randint(0, 3, SHAPE(3), 1, TC_OPTS(.dtype = TC_C64)));
  assert_error(TC_ERR_DTYPE, "complex64");
  ck_assert_ptr_null(tc_randint(0, 100000, SHAPE(3), 1, TC_OPTS(.dtype = TC_F16)));
  assert_error(TC_ERR_ARG, "float16");
  ck_assert_ptr_null(tc_randperm(-1, NULL));
  assert_error(TC_ERR_ARG, "non-negative");
  ck_assert_ptr_null(tc_randperm(300, TC_OPTS(.dtype = TC_U8)));
  assert_error(TC_ERR_ARG, "too large");
  ck_assert_ptr_null(tc_randperm(3000, TC_OPTS(.dtype = TC_F16)));
  assert_error(TC_ERR_ARG, "2^11+1");
  ck_assert_ptr_null(tc_randperm(3, TC_OPTS(.dtype = TC_BOOL)));
  assert_error(TC_ERR_DTYPE, "bool");
  tc_tensor *x = tc_zeros(SHAPE(4), 1, NULL);
  ck_assert_int_eq(tc_bernoulli_inplace(x, 1.5, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "p to be in [0, 1], but got p=1.5");
  ck_assert_int_eq(tc_bernoulli_inplace(x, NAN, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_bernoulli_inplace(x, -0.1, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_uniform_inplace(x, 2, 1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "from=2 > to=1");
  ck_assert_int_eq(tc_uniform_inplace(x, 0, INFINITY, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "out of bounds for float32");
  ck_assert_int_eq(tc_normal_inplace(x, 0, -1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "std >= 0.0, but found std -1");
  ck_assert_int_eq(tc_normal_inplace(x, 0, NAN, NULL), TC_ERR_ARG);
  tc_tensor *h = tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_F16));
  ck_assert_int_eq(tc_uniform_inplace(h, 0, 1e5, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "float16");
  tc_tensor *xi = tc_zeros(SHAPE(4), 1, TC_OPTS(.dtype = TC_I64));
  ck_assert_int_eq(tc_uniform_inplace(xi, 0, 1, NULL), TC_ERR_DTYPE);
  ck_assert_int_eq(tc_normal_inplace(xi, 0, 1, NULL), TC_ERR_DTYPE);
  assert_error(TC_ERR_DTYPE, "int64");
  ck_assert_int_eq(tc_bernoulli_inplace(tc_zeros(SHAPE(2), 1, TC_OPTS(.dtype = TC_C64)), 0.5, NULL), TC_ERR_DTYPE);
  tc_tensor *ex = tc_expand(tc_zeros(SHAPE(1, 3), 2, NULL), SHAPE(2, 3), 2);
  ck_assert_int_eq(tc_uniform_inplace(ex, 0, 1, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "single memory location");
  ck_assert_ptr_null(tc_bernoulli(T_F32(SHAPE(3), 1, 0.5f, 1.5f, 0.0f), NULL));
  assert_error(TC_ERR_ARG, "flat index 1");
  ck_assert_ptr_null(tc_bernoulli(T_F32(SHAPE(2), 1, NAN, 0.0f), NULL));
  assert_error(TC_ERR_ARG, "[0, 1]");
  ck_assert_ptr_null(tc_bernoulli(xi, NULL));
  assert_error(TC_ERR_DTYPE, "floating-point");
  /* NULL tensors (a NULL after a failure keeps the first error, so start clean) */
  tc_clear_error();
  ck_assert_int_eq(tc_uniform_inplace(NULL, 0, 1, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_normal_inplace(NULL, 0, 1, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_bernoulli_inplace(NULL, 0.5, NULL), TC_ERR_ARG);
  ck_assert_ptr_null(tc_bernoulli(NULL, NULL));
  ck_assert_ptr_null(tc_rand_like(NULL, NULL));
  ck_assert_ptr_null(tc_randn_like(NULL, NULL));
  /* CUDA: not available here (TC_ERR_DEVICE), or no random kernel there (TC_ERR_UNSUPPORTED) */
  ck_assert_ptr_null(tc_rand(SHAPE(2), 1, TC_OPTS(.device = tc_cuda(0))));
  ck_assert(tc_last_status() == TC_ERR_DEVICE || tc_last_status() == TC_ERR_UNSUPPORTED);
  ck_assert_ptr_null(tc_randperm(4, TC_OPTS(.device = tc_cuda(0))));
  ck_assert(tc_last_status() == TC_ERR_DEVICE || tc_last_status() == TC_ERR_UNSUPPORTED);
  /* failed calls and empty tensors draw nothing: the stream is still at seed 0's start */
  ck_assert_int_eq(tc_tensor_numel(tc_rand(SHAPE(0, 3), 2, NULL)), 0);
  ck_assert_int_eq(tc_tensor_numel(tc_randn(SHAPE(4, 0), 2, NULL)), 0);
  same_bits(tc_rand(SHAPE(5), 1, NULL), "rand_f32_n5_s0");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* The default generator is shared: concurrent draws are serialised, none lost or repeated. */
static void *draw_default(void *arg) {
  (void)arg;
  for (int i = 0; i < 20000; i++) tc_generator_next_u32(NULL);
  for (int i = 0; i < 20; i++) tc_tensor_release(tc_rand(SHAPE(100), 1, NULL));
  return NULL;
}

START_TEST(test_default_generator_threads) {
  tc_manual_seed(77);
  pthread_t th[3];
  for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, draw_default, NULL);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  tc_generator *ref = tc_generator_create(77);
  for (int i = 0; i < 3 * (20000 + 20 * 100); i++) tc_generator_next_u32(ref);
  ck_assert_uint_eq(tc_generator_next_u32(NULL), tc_generator_next_u32(ref));
  tc_generator_destroy(ref);
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------------------- */

static int alloc_randn_like(void *ctx) {
  (void)ctx;
  tc_tensor *base = tc_empty(SHAPE(8, 5), 2, NULL);
  if (!base) return 1;
  tc_tensor *t = tc_t(base); /* the fill goes through a temporary */
  tc_tensor *r = t ? tc_randn_like(t, NULL) : NULL;
  tc_tensor_release(t);
  tc_tensor_release(base);
  if (!r) return 1;
  tc_tensor_release(r);
  return 0;
}

static int alloc_misc(void *ctx) {
  (void)ctx;
  tc_generator *g = tc_generator_create(1);
  if (!g) return 1;
  int rc = 1;
  tc_tensor *p = tc_randperm(20, TC_OPTS(.dtype = TC_I32, .generator = g));
  tc_tensor *q = p ? tc_rand(SHAPE(4, 5), 2, TC_OPTS(.generator = g)) : NULL;
  tc_tensor *b = q ? tc_bernoulli(q, g) : NULL;
  tc_tensor *v = b ? tc_slice(b, 1, 0, TC_END, 2) : NULL;
  if (v && tc_normal_inplace(v, 0, 1, g) == TC_OK) rc = 0;
  tc_tensor_release(v);
  tc_tensor_release(b);
  tc_tensor_release(q);
  tc_tensor_release(p);
  tc_generator_destroy(g);
  return rc;
}

START_TEST(test_alloc_failures) {
  check_alloc_failures(alloc_randn_like, NULL, "randn_like");
  check_alloc_failures(alloc_misc, NULL, "randperm/bernoulli/normal_");
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_random");
  TCase *tc = tcase_create("random");
  tcase_add_test(tc, test_engine);
  tcase_add_test(tc, test_rand_randn_streams);
  tcase_add_test(tc, test_interleaved_sequence);
  tcase_add_test(tc, test_half_and_complex);
  tcase_add_test(tc, test_randint);
  tcase_add_test(tc, test_randperm);
  tcase_add_test(tc, test_inplace_fills);
  tcase_add_test(tc, test_bernoulli_tensor);
  tcase_add_test(tc, test_like);
  tcase_add_test(tc, test_generator_objects);
  tcase_add_test(tc, test_box_muller_paths);
  tcase_add_test(tc, test_moments);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_default_generator_threads);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
