/* Checkpoints (ctorch/checkpoint.h) and generator state (tc_generator_get_state/set_state).
 *
 *  - generator state: byte for byte PyTorch's torch.get_rng_state() (fixtures from
 *    tests/fixtures/gen/gen_checkpoint.py), round trips continue the stream exactly, including the
 *    cached Box-Muller sample, and malformed blobs are TC_ERR_CORRUPT;
 *  - resume: an MLP with dropout trained 10 steps with Adam + StepLR, checkpointed after step 5;
 *    new objects made from another seed load the checkpoint and run steps 6..10: losses and final
 *    weights bit-identical to the uninterrupted run;
 *  - hostile files (truncated, corrupt, another architecture, bad RNG blob) fail naming the key or
 *    offset and leave model, optimizer, scheduler and generator untouched; no leaks, and
 *    allocation failures during save and load are clean.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"

#define FAM "checkpoint"

static char g_path[256];

static const char *tmp_path(const char *tag) {
  snprintf(g_path, sizeof g_path, "/tmp/ctorch_ckpt_%ld_%s.safetensors", (long)getpid(), tag);
  return g_path;
}

/* ---- generator state ------------------------------------------------------------------------- */

static void assert_blob_eq(const tc_tensor *got, const tc_tensor *want, bool fresh) {
  ck_assert_int_eq(tc_tensor_numel(got), 5056);
  ck_assert_int_eq(tc_tensor_numel(want), 5056);
  const uint8_t *a = tc_tensor_data(got), *b = tc_tensor_data(want);
  for (int i = 0; i < 5056; i++) {
    /* right after seeding PyTorch keeps next = 0 (ctorch 624); the engine ignores it while left = 1 */
    if (fresh && i >= 16 && i < 24) continue;
    ck_assert_msg(a[i] == b[i], "state byte %d: %u, PyTorch %u", i, a[i], b[i]);
  }
}

START_TEST(test_rng_state_matches_pytorch) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *g = tc_generator_create(0);
  tc_tensor *s;
  ck_assert_int_eq(tc_generator_get_state(g, &s), TC_OK);
  assert_blob_eq(s, fx_load(FAM, "rng_seed0"), true);
  tc_tensor_release(s);
  tc_tensor *r = tc_randn(SHAPE(3), 1, TC_OPTS(.generator = g));
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(tc_generator_get_state(g, &s), TC_OK);
  tc_tensor *want = fx_load(FAM, "rng_seed0_randn3");
  assert_blob_eq(s, want, false);
  tc_tensor_release(s);
  /* PyTorch's blob loads and continues as PyTorch does */
  tc_generator *h = tc_generator_create(99);
  ck_assert_int_eq(tc_generator_set_state(h, want), TC_OK);
  assert_equal(tc_randn(SHAPE(5), 1, TC_OPTS(.generator = h)), fx_load(FAM, "rng_seed0_randn3_next"), "randn after");
  tc_generator_manual_seed(g, 12345);
  tc_rand(SHAPE(1000), 1, TC_OPTS(.generator = g));
  ck_assert_int_eq(tc_generator_get_state(g, &s), TC_OK);
  assert_blob_eq(s, fx_load(FAM, "rng_seed12345_rand1000"), false);
  tc_tensor_release(s);
  tc_generator_destroy(g);
  tc_generator_destroy(h);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Draws of every kind, into a flat f64 tensor. */
static tc_tensor *draws(tc_generator *g) {
  tc_tensor *parts[6];
  parts[0] = tc_to_dtype(tc_randn(SHAPE(3), 1, TC_OPTS(.generator = g)), TC_F64);  /* scalar path: caches */
  parts[1] = tc_to_dtype(tc_randn(SHAPE(40), 1, TC_OPTS(.generator = g)), TC_F64); /* normal_fill */
  parts[2] = tc_to_dtype(tc_rand(SHAPE(7), 1, TC_OPTS(.generator = g)), TC_F64);
  parts[3] = tc_randn(SHAPE(5), 1, TC_OPTS(.generator = g, .dtype = TC_F64));
  parts[4] = tc_full(SHAPE(1), 1, (double)tc_generator_next_u32(g), TC_OPTS(.dtype = TC_F64));
  parts[5] = tc_full(SHAPE(1), 1, tc_generator_uniform(g), TC_OPTS(.dtype = TC_F64));
  return tc_cat((const tc_tensor *const *)parts, 6, 0);
}

START_TEST(test_rng_state_round_trip) {
  LEAK_BEGIN;
  tc_scope_push();
  for (int pre = 0; pre < 4; pre++) {
    tc_generator *g = tc_generator_create(2024);
    /* leave the generator at various points: cached normal or not, mid-block, at a twist */
    if (pre >= 1) tc_randn(SHAPE(1), 1, TC_OPTS(.generator = g)); /* one cached sample pending */
    if (pre >= 2) tc_rand(SHAPE(600), 1, TC_OPTS(.generator = g));
    if (pre == 3) tc_randn(SHAPE(1), 1, TC_OPTS(.generator = g)); /* uses the cached one */
    tc_tensor *s;
    ck_assert_int_eq(tc_generator_get_state(g, &s), TC_OK);
    tc_tensor *a = draws(g);
    tc_generator *h = tc_generator_create(1);
    tc_randn(SHAPE(1), 1, TC_OPTS(.generator = h)); /* its own cached sample must be replaced */
    ck_assert_int_eq(tc_generator_set_state(h, s), TC_OK);
    ck_assert_uint_eq(tc_generator_initial_seed(h), 2024);
    assert_equal(draws(h), a, "draws after set_state");
    /* and back into g itself */
    ck_assert_int_eq(tc_generator_set_state(g, s), TC_OK);
    assert_equal(draws(g), a, "draws after set_state on the same generator");
    tc_tensor_release(s);
    tc_generator_destroy(g);
    tc_generator_destroy(h);
  }
  /* the default generator (NULL) */
  tc_manual_seed(5);
  tc_randn(SHAPE(1), 1, NULL);
  tc_tensor *s;
  ck_assert_int_eq(tc_generator_get_state(NULL, &s), TC_OK);
  tc_tensor *a = draws(NULL);
  tc_manual_seed(6);
  ck_assert_int_eq(tc_generator_set_state(NULL, s), TC_OK);
  assert_equal(draws(NULL), a, "default generator");
  /* a strided (non-contiguous) blob is read as well */
  tc_tensor *wide = tc_zeros(SHAPE(5056, 2), 2, TC_OPTS(.dtype = TC_U8));
  tc_tensor *col = tc_select(wide, 1, 0);
  ck_assert_int_eq(tc_copy_inplace(col, s), TC_OK);
  tc_manual_seed(7);
  ck_assert_int_eq(tc_generator_set_state(NULL, col), TC_OK);
  assert_equal(draws(NULL), a, "strided blob");
  tc_tensor_release(s);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_rng_state_bad_blobs) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_generator *g = tc_generator_create(3);
  tc_tensor *s, *before;
  ck_assert_int_eq(tc_generator_get_state(g, &s), TC_OK);
  tc_randn(SHAPE(1), 1, TC_OPTS(.generator = g));
  ck_assert_int_eq(tc_generator_get_state(g, &before), TC_OK);
  ck_assert_int_eq(tc_generator_set_state(g, tc_zeros(SHAPE(100), 1, TC_OPTS(.dtype = TC_U8))), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "got 100");
  ck_assert_int_eq(tc_generator_set_state(g, tc_zeros(SHAPE(5056), 1, NULL)), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "uint8");
  uint8_t *b = tc_tensor_data(s);
  b[12] = 0; /* seeded */
  ck_assert_int_eq(tc_generator_set_state(g, s), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "byte 12");
  b[12] = 1;
  b[8] = 0; /* left = 0 */
  ck_assert_int_eq(tc_generator_set_state(g, s), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "byte 8");
  b[8] = 1;
  b[24 + 8 * 5 + 4] = 1; /* state word 5 over 32 bits */
  ck_assert_int_eq(tc_generator_set_state(g, s), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "byte 64 (state word 5)");
  b[24 + 8 * 5 + 4] = 0;
  b[5040] = 2;
  ck_assert_int_eq(tc_generator_set_state(g, s), TC_ERR_CORRUPT);
  assert_error(TC_ERR_CORRUPT, "byte 5040");
  tc_clear_error();
  ck_assert_int_eq(tc_generator_set_state(g, NULL), TC_ERR_ARG);
  ck_assert_int_eq(tc_generator_get_state(g, NULL), TC_ERR_ARG);
  tc_tensor *after;
  ck_assert_int_eq(tc_generator_get_state(g, &after), TC_OK);
  assert_equal(after, before, "generator unchanged by failed set_state");
  /* the 5048-byte legacy form is accepted */
  b[5040] = 0;
  ck_assert_int_eq(tc_generator_set_state(g, tc_narrow(s, 0, 0, 5048)), TC_OK);
  tc_tensor_release(s);
  tc_tensor_release(before);
  tc_tensor_release(after);
  tc_generator_destroy(g);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* ---- training resume --------------------------------------------------------------------------- */

typedef struct {
  tc_module *model, *loss;
  tc_tensor_list params;
  tc_optimizer *opt;
  tc_lr_scheduler *sched;
} run_t;

static tc_module *mlp(int64_t hidden) {
  return tc_sequential_create(4, (tc_module *[]){tc_linear_create(8, hidden, true), tc_relu_create(),
                                                tc_dropout_create(0.3), tc_linear_create(hidden, 4, true)});
}

static run_t make_run(uint64_t seed, int64_t hidden) {
  run_t r = {0};
  tc_manual_seed(seed);
  r.model = mlp(hidden);
  ck_assert_ptr_nonnull(r.model);
  r.loss = tc_cross_entropy_loss_create(NULL);
  ck_assert_int_eq(tc_module_parameters(r.model, &r.params), TC_OK);
  tc_adam_opts o = tc_adam_defaults();
  o.lr = 0.01;
  r.opt = tc_adam_create(r.params.data, r.params.n, &o);
  ck_assert_ptr_nonnull(r.opt);
  r.sched = tc_step_lr_create(r.opt, 3, 0.5);
  ck_assert_ptr_nonnull(r.sched);
  return r;
}

static void free_run(run_t *r) {
  tc_lr_scheduler_destroy(r->sched);
  tc_optim_destroy(r->opt);
  tc_tensor_list_clear(&r->params);
  tc_module_destroy(r->loss);
  tc_module_destroy(r->model);
}

static double train_step(run_t *r, const tc_tensor *x, const tc_tensor *y) {
  tc_scope_push();
  ck_assert_int_eq(tc_optim_zero_grad(r->opt, true), TC_OK);
  tc_tensor *logits = tc_module_forward(r->model, x);
  tc_tensor *loss = tc_module_forward_n(r->loss, (const tc_tensor *[]){logits, y}, 2);
  ck_assert_msg(loss != NULL, "%s", tc_last_error());
  ck_assert_int_eq(tc_backward(loss), TC_OK);
  ck_assert_int_eq(tc_optim_step(r->opt), TC_OK);
  ck_assert_int_eq(tc_lr_scheduler_step(r->sched), TC_OK);
  double l = 0;
  tc_item_double(loss, &l);
  tc_scope_pop();
  return l;
}

/* Everything a failed load must leave alone: parameters, optimizer state, lr, RNG. */
typedef struct {
  tc_tensor_list params;
  tc_state_dict *optim;
  tc_tensor *rng;
  double lr;
  int64_t sched_epoch;
} snapshot_t;

static snapshot_t take(const run_t *r) {
  snapshot_t s = {0};
  s.params.n = r->params.n;
  s.params.data = calloc((size_t)r->params.n, sizeof(tc_tensor *));
  for (int64_t i = 0; i < r->params.n; i++) s.params.data[i] = tc_scope_keep(tc_clone(r->params.data[i]));
  s.optim = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(r->opt, s.optim, NULL), TC_OK);
  ck_assert_int_eq(tc_generator_get_state(NULL, &s.rng), TC_OK);
  tc_scope_keep(s.rng);
  s.lr = tc_optim_get_lr(r->opt, 0);
  s.sched_epoch = tc_lr_scheduler_last_epoch(r->sched);
  return s;
}

static bool same_bits(const tc_tensor *a, const tc_tensor *b) {
  size_t n = (size_t)tc_tensor_numel(a) * tc_dtype_size(tc_tensor_dtype(a));
  return tc_tensor_numel(a) == tc_tensor_numel(b) && !memcmp(tc_tensor_data(a), tc_tensor_data(b), n);
}

static void check_untouched(const run_t *r, snapshot_t *s, const char *what) {
  for (int64_t i = 0; i < r->params.n; i++)
    ck_assert_msg(same_bits(r->params.data[i], s->params.data[i]), "%s: parameter %lld changed", what, (long long)i);
  tc_state_dict *now = tc_state_dict_create();
  ck_assert_int_eq(tc_optim_state_dict(r->opt, now, NULL), TC_OK);
  ck_assert_int_eq(tc_state_dict_size(now), tc_state_dict_size(s->optim));
  for (int64_t i = 0; i < tc_state_dict_size(now); i++) {
    const char *k = tc_state_dict_key(now, i);
    tc_tensor *a = tc_state_dict_get(now, k), *b = tc_state_dict_get(s->optim, k);
    ck_assert_msg(b && same_bits(a, b), "%s: optimizer state '%s' changed", what, k);
    tc_tensor_release(a);
    tc_tensor_release(b);
  }
  ck_assert_msg(!strcmp(tc_state_dict_get_meta(now, "state.0.step") ? tc_state_dict_get_meta(now, "state.0.step") : "-",
                        tc_state_dict_get_meta(s->optim, "state.0.step") ? tc_state_dict_get_meta(s->optim, "state.0.step")
                                                                         : "-"),
                "%s: optimizer step changed", what);
  tc_state_dict_destroy(now);
  tc_tensor *rng;
  ck_assert_int_eq(tc_generator_get_state(NULL, &rng), TC_OK);
  ck_assert_msg(same_bits(rng, s->rng), "%s: generator state changed", what);
  tc_tensor_release(rng);
  ck_assert_msg(tc_optim_get_lr(r->opt, 0) == s->lr, "%s: lr changed", what);
  ck_assert_msg(tc_lr_scheduler_last_epoch(r->sched) == s->sched_epoch, "%s: scheduler changed", what);
}

static void drop(snapshot_t *s) {
  for (int64_t i = 0; i < s->params.n; i++) tc_tensor_release(s->params.data[i]);
  free(s->params.data);
  tc_state_dict_destroy(s->optim);
  tc_tensor_release(s->rng);
}

static tc_tensor *g_x, *g_y;

static void make_data(void) {
  tc_generator *g = tc_generator_create(77);
  g_x = tc_scope_keep(tc_randn(SHAPE(16, 8), 2, TC_OPTS(.generator = g)));
  g_y = tc_scope_keep(tc_randint(0, 4, SHAPE(16), 1, TC_OPTS(.generator = g)));
  tc_generator_destroy(g);
}

START_TEST(test_resume_bit_identical) {
  LEAK_BEGIN;
  make_data();
  const char *path = tmp_path("resume");
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  double full[10], resumed[10];
  /* the uninterrupted run, checkpointing after step 5 */
  run_t a = make_run(0, 16);
  for (int s = 0; s < 10; s++) {
    full[s] = train_step(&a, g_x, g_y);
    if (s == 4) ck_assert_msg(tc_checkpoint_save(p, a.model, a.opt, a.sched, 5, 1) == TC_OK, "%s", tc_last_error());
  }
  /* a fresh start from another seed, with the default generator elsewhere */
  run_t b = make_run(123, 16);
  tc_tensor_release(tc_randn(SHAPE(1), 1, NULL));
  tc_scope_push();
  int64_t step = -1, epoch = -1;
  ck_assert_msg(tc_checkpoint_load(p, b.model, b.opt, b.sched, &step, &epoch) == TC_OK, "%s", tc_last_error());
  tc_scope_pop();
  ck_assert_int_eq(step, 5);
  ck_assert_int_eq(epoch, 1);
  ck_assert(tc_lr_scheduler_last_epoch(b.sched) == 5);
  for (int s = 5; s < 10; s++) {
    resumed[s] = train_step(&b, g_x, g_y);
    ck_assert_msg(resumed[s] == full[s], "step %d: resumed loss %.17g, uninterrupted %.17g", s + 1, resumed[s], full[s]);
  }
  for (int64_t i = 0; i < a.params.n; i++)
    ck_assert_msg(same_bits(a.params.data[i], b.params.data[i]), "final parameter %lld differs", (long long)i);
  ck_assert(tc_optim_get_lr(a.opt, 0) == tc_optim_get_lr(b.opt, 0));
  /* the RNG matters: the same load followed by another dropout stream diverges at once */
  run_t c = make_run(123, 16);
  ck_assert_int_eq(tc_checkpoint_load(p, c.model, c.opt, c.sched, NULL, NULL), TC_OK);
  tc_manual_seed(999);
  ck_assert_msg(train_step(&c, g_x, g_y) != full[5], "dropout did not depend on the generator");
  free_run(&c);
  /* and the file is a plain safetensors state dict */
  tc_state_dict *sd = tc_state_dict_load(p);
  ck_assert_ptr_nonnull(sd);
  ck_assert(tc_state_dict_contains(sd, "model.0.weight") && tc_state_dict_contains(sd, "rng.cpu"));
  ck_assert(tc_state_dict_contains(sd, "optim.state.0.exp_avg"));
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "step"), "5");
  ck_assert_str_eq(tc_state_dict_get_meta(sd, "sched.type"), "StepLR");
  tc_state_dict_destroy(sd);
  free_run(&a);
  free_run(&b);
  tc_tensor_release(g_x);
  tc_tensor_release(g_y);
  unlink(p);
  LEAK_END;
}
END_TEST

static void expect_load_error(run_t *r, const char *path, tc_status code, const char *needle, const char *what) {
  snapshot_t s = take(r);
  int64_t step = -7, epoch = -7;
  tc_status st = tc_checkpoint_load(path, r->model, r->opt, r->sched, &step, &epoch);
  ck_assert_msg(st == code, "%s: status %s (%s), wanted %s", what, tc_status_name(st), tc_last_error(),
                tc_status_name(code));
  if (needle) ck_assert_msg(strstr(tc_last_error(), needle), "%s: message '%s' lacks '%s'", what, tc_last_error(), needle);
  ck_assert(step == -7 && epoch == -7);
  check_untouched(r, &s, what);
  drop(&s);
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  void *b = malloc(*n);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

START_TEST(test_bad_checkpoints) {
  LEAK_BEGIN;
  make_data();
  char good[256], bad[256];
  snprintf(good, sizeof good, "%s", tmp_path("good"));
  snprintf(bad, sizeof bad, "%s", tmp_path("bad"));
  run_t a = make_run(0, 16);
  for (int s = 0; s < 3; s++) train_step(&a, g_x, g_y);
  ck_assert_int_eq(tc_checkpoint_save(good, a.model, a.opt, a.sched, 3, 0), TC_OK);
  run_t b = make_run(1, 16); /* the victim: trained a little so it has state to lose */
  for (int s = 0; s < 2; s++) train_step(&b, g_x, g_y);
  tc_scope_push();

  size_t n;
  uint8_t *bytes = read_bytes(good, &n);
  /* truncated: the data section ends early */
  write_bytes(bad, bytes, n - 100);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "'rng.cpu': data_offsets", "truncated"); /* the last tensor */
  write_bytes(bad, bytes, 5);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "8-byte header length", "truncated header");
  /* corrupt header length */
  uint8_t *c = malloc(n);
  memcpy(c, bytes, n);
  c[3] ^= 0x10; /* header length far past the end */
  write_bytes(bad, c, n);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "runs past the end", "header length");
  /* a broken JSON header: the error names the byte */
  memcpy(c, bytes, n);
  char *dq = memmem(c + 8, n - 8, "\"dtype\"", 7);
  ck_assert_ptr_nonnull(dq);
  *dq = '#';
  write_bytes(bad, c, n);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "invalid JSON header at byte", "JSON");
  /* a missing file */
  unlink(bad);
  expect_load_error(&b, bad, TC_ERR_IO, NULL, "missing file");

  /* another architecture: hidden 32 instead of 16 (shape), and an extra layer (missing key) */
  run_t other = make_run(5, 32);
  ck_assert_int_eq(tc_checkpoint_save(bad, other.model, other.opt, other.sched, 1, 0), TC_OK);
  expect_load_error(&b, bad, TC_ERR_SHAPE, "'model.0.weight' has shape [32, 8]", "other width");
  free_run(&other);
  tc_module *deeper = tc_sequential_create(
      5, (tc_module *[]){tc_linear_create(8, 16, true), tc_relu_create(), tc_dropout_create(0.3),
                         tc_linear_create(16, 4, true), tc_linear_create(4, 4, true)});
  ck_assert_int_eq(tc_checkpoint_save(bad, deeper, NULL, NULL, 1, 0), TC_OK);
  expect_load_error(&b, bad, TC_ERR_ARG, "unexpected key 'model.4.", "extra layer");
  /* a model with an extra layer cannot load the smaller checkpoint: missing key */
  ck_assert_int_eq(tc_checkpoint_load(good, deeper, NULL, NULL, NULL, NULL), TC_ERR_ARG);
  assert_error(TC_ERR_ARG, "lacks 'model.4.weight'");
  tc_module_destroy(deeper);
  /* model only: the optimizer's and scheduler's state is missing */
  ck_assert_int_eq(tc_checkpoint_save(bad, a.model, NULL, NULL, 1, 0), TC_OK);
  expect_load_error(&b, bad, TC_ERR_ARG, "'optim.optimizer'", "no optimizer state");
  /* a float64 model's checkpoint: dtype */
  tc_module *m64 = mlp(16);
  ck_assert_int_eq(tc_module_to_dtype(m64, TC_F64), TC_OK);
  ck_assert_int_eq(tc_checkpoint_save(bad, m64, NULL, NULL, 1, 0), TC_OK);
  tc_module_destroy(m64);
  expect_load_error(&b, bad, TC_ERR_DTYPE, "'model.0.weight' is float64", "dtype");

  /* a bad generator blob and bad counters inside an otherwise valid file */
  tc_state_dict *sd = tc_state_dict_load(good);
  ck_assert_ptr_nonnull(sd);
  ck_assert_int_eq(tc_state_dict_set(sd, "rng.cpu", tc_zeros(SHAPE(10), 1, TC_OPTS(.dtype = TC_U8))), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, bad), TC_OK);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "'rng.cpu'", "rng blob");
  tc_state_dict_destroy(sd);
  sd = tc_state_dict_load(good);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "step", "5x"), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, bad), TC_OK);
  expect_load_error(&b, bad, TC_ERR_CORRUPT, "'step'", "step");
  tc_state_dict_destroy(sd);
  sd = tc_state_dict_load(good);
  ck_assert_int_eq(tc_state_dict_set(sd, "optim.state.0.exp_avg", tc_zeros(SHAPE(3), 1, NULL)), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, bad), TC_OK);
  expect_load_error(&b, bad, TC_ERR_SHAPE, "'optim.state.0.exp_avg'", "optimizer state shape");
  tc_state_dict_destroy(sd);
  sd = tc_state_dict_load(good);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "sched.type", "ExponentialLR"), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, bad), TC_OK);
  expect_load_error(&b, bad, TC_ERR_STATE, "'sched.type' is ExponentialLR", "scheduler kind");
  tc_state_dict_destroy(sd);
  sd = tc_state_dict_load(good);
  ck_assert_int_eq(tc_state_dict_set_meta(sd, "sched.last_epoch", "abc"), TC_OK);
  ck_assert_int_eq(tc_state_dict_save(sd, bad), TC_OK);
  expect_load_error(&b, bad, TC_ERR_ARG, NULL, "scheduler field (rolled back after the optimizer)");
  tc_state_dict_destroy(sd);

  /* a failed save leaves the previous file intact */
  ck_assert_int_eq(tc_checkpoint_save("/nonexistent_dir/x.safetensors", a.model, a.opt, a.sched, 1, 0), TC_ERR_IO);
  size_t n2;
  uint8_t *again = read_bytes(good, &n2);
  ck_assert(n2 == n && !memcmp(again, bytes, n));
  free(again);
  /* the good file still loads into the victim */
  ck_assert_int_eq(tc_checkpoint_load(good, b.model, b.opt, b.sched, NULL, NULL), TC_OK);
  for (int64_t i = 0; i < a.params.n; i++) ck_assert(same_bits(a.params.data[i], b.params.data[i]));
  free(c);
  free(bytes);
  tc_scope_pop();
  free_run(&a);
  free_run(&b);
  tc_tensor_release(g_x);
  tc_tensor_release(g_y);
  unlink(good);
  unlink(bad);
  LEAK_END;
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------------ */

typedef struct {
  run_t *r;
  const char *path;
  snapshot_t *before; /* taken outside the failing runs (a failed load changes nothing) */
} io_ctx;

static int save_fn(void *p) {
  io_ctx *c = p;
  return tc_checkpoint_save(c->path, c->r->model, c->r->opt, c->r->sched, 2, 0) != TC_OK;
}

static int load_fn(void *p) {
  io_ctx *c = p;
  tc_status st = tc_checkpoint_load(c->path, c->r->model, c->r->opt, c->r->sched, NULL, NULL);
  if (st) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    check_untouched(c->r, c->before, msg);
    ck_assert_int_eq(tc_last_status(), st);
  }
  return st != TC_OK;
}

START_TEST(test_alloc_failures) {
  make_data();
  char path[256];
  snprintf(path, sizeof path, "%s", tmp_path("alloc"));
  run_t a = make_run(0, 16);
  for (int s = 0; s < 2; s++) train_step(&a, g_x, g_y);
  io_ctx c = {&a, path, NULL};
  check_alloc_failures(save_fn, &c, "tc_checkpoint_save");
  run_t b = make_run(9, 16);
  train_step(&b, g_x, g_y);
  snapshot_t before = take(&b);
  io_ctx d = {&b, path, &before};
  check_alloc_failures(load_fn, &d, "tc_checkpoint_load");
  drop(&before);
  for (int64_t i = 0; i < a.params.n; i++) ck_assert(same_bits(a.params.data[i], b.params.data[i]));
  free_run(&a);
  free_run(&b);
  tc_tensor_release(g_x);
  tc_tensor_release(g_y);
  unlink(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_rng_state_matches_pytorch);
  tcase_add_test(tc, test_rng_state_round_trip);
  tcase_add_test(tc, test_rng_state_bad_blobs);
  tcase_add_test(tc, test_resume_bit_identical);
  tcase_add_test(tc, test_bad_checkpoints);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
