/* The DataLoader: batching and drop_last, shuffling, bit-identical batches for any worker count
 * (random per-sample transforms included), collate modes, error propagation and skipping, early
 * destroy, a sampler of its own. */
#include <ctorch/dataloader.h>
#include <string.h>
#include <time.h>
#include "test_util.h"

/* sample i: "input" = arange(i % 4 + 1) as float32 (varying length), "target" = i, and a failure
 * for the index in `fail_at` (-1: none) */
typedef struct {
  int64_t n, fail_at;
} seq_state;

static int64_t seq_len(void *s) { return ((seq_state *)s)->n; }
static tc_status seq_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  seq_state *s = vs;
  if (i == s->fail_at) return tc_set_error(TC_ERR_CORRUPT, "sample file %lld is corrupt", (long long)i);
  tc_tensor *x = tc_arange(0, (double)(i % 4 + 1), 1, TC_OPTS(.dtype = TC_F32));
  tc_status st = x ? td_sample_set(out, "input", tr_tensor_value(x)) : tc_last_status();
  return st ? st : td_sample_set(out, "target", tr_int_value(i));
}
static void seq_destroy(void *s) { tc_free(s); }
static const td_dataset_vtable seq_vt = {"SeqDataset", seq_len, seq_get, seq_destroy};

static td_dataset *seq_dataset(int64_t n, int64_t fail_at) {
  seq_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (seq_state){n, fail_at};
  return td_dataset_create(&seq_vt, s);
}

/* (n, 3) float rows 0..3n-1 with int64 labels 0..n-1 */
static td_dataset *table(int64_t n) {
  tc_tensor *a = tc_arange(0, (double)(3 * n), 1, TC_OPTS(.dtype = TC_F32)), *x = tc_reshape(a, SHAPE(n, 3), 2);
  tc_tensor *y = tc_arange(0, (double)n, 1, NULL);
  td_dataset *ds = td_tensor_dataset(2, (const tc_tensor *[]){x, y}, (const char *[]){"input", "target"});
  tc_tensor_release(a);
  tc_tensor_release(x);
  tc_tensor_release(y);
  return ds;
}

/* a random transform: input + uniform from the sample's generator */
static tc_status jitter(const tr_value *in, tr_value *out, tc_generator *gen, void *user) {
  (void)user;
  tc_tensor *r = tc_add_scalar(in->tensor, tc_generator_uniform(gen));
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

START_TEST(test_batches) {
  LEAK_BEGIN;
  td_dataset *ds = table(10);
  for (int drop = 0; drop < 2; drop++) {
    td_loader_opts o = TD_LOADER_DEFAULTS;
    o.batch_size = 3;
    o.drop_last = drop;
    td_loader *dl = td_loader_create(ds, &o);
    ck_assert_int_eq(td_loader_len(dl), drop ? 3 : 4);
    td_sample b;
    bool end;
    int64_t seen = 0, nb = 0;
    while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
      const tc_tensor *x = td_sample_field(&b, "input")->tensor, *y = td_sample_field(&b, "target")->tensor;
      int64_t rows = tc_tensor_shape(x)[0];
      ck_assert_int_eq(tc_tensor_shape(x)[1], 3);
      ck_assert_int_eq(tc_tensor_numel(y), rows);
      for (int64_t r = 0; r < rows; r++) ck_assert_int_eq(((const int64_t *)tc_tensor_data(y))[r], seen + r);
      ck_assert_float_eq(((const float *)tc_tensor_data(x))[0], (float)(3 * seen));
      seen += rows;
      nb++;
      td_sample_clear(&b);
    }
    ck_assert(end);
    ck_assert_int_eq(nb, drop ? 3 : 4);
    ck_assert_int_eq(seen, drop ? 9 : 10);
    ck_assert_int_eq(td_loader_epoch(dl), 1);
    td_loader_destroy(dl);
  }
  td_release(ds);
  LEAK_END;
}
END_TEST

/* all batches of `epochs` epochs, concatenated inputs (float) and targets (int64) as one tensor each */
static void run_epochs(td_dataset *ds, int workers, int epochs, tc_tensor **xs, tc_tensor **ys) {
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 4;
  o.shuffle = true;
  o.num_workers = workers;
  o.seed = 1234;
  td_loader *dl = td_loader_create(ds, &o);
  ck_assert_ptr_nonnull(dl);
  const tc_tensor *xl[64], *yl[64];
  int n = 0;
  for (int e = 0; e < epochs; e++) {
    td_sample b;
    bool end;
    while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
      xl[n] = tc_tensor_retain(td_sample_field(&b, "input")->tensor);
      yl[n] = tc_tensor_retain(td_sample_field(&b, "target")->tensor);
      n++;
      td_sample_clear(&b);
    }
    ck_assert(end);
  }
  *xs = tc_scope_keep(tc_cat(xl, n, 0));
  *ys = tc_scope_keep(tc_cat(yl, n, 0));
  for (int i = 0; i < n; i++) {
    tc_tensor_release((tc_tensor *)xl[i]);
    tc_tensor_release((tc_tensor *)yl[i]);
  }
  td_loader_destroy(dl);
}

START_TEST(test_identical_for_any_worker_count) {
  LEAK_BEGIN;
  td_dataset *base = table(22);
  td_dataset *ds = td_transformed(base, "input", tr_lambda(jitter, NULL, "jitter"), NULL, NULL);
  tc_tensor *x0, *y0;
  run_epochs(ds, 0, 2, &x0, &y0);
  /* each epoch is a permutation of 0..21, and the two epochs differ */
  tc_tensor *e0 = tc_narrow(y0, 0, 0, 22), *e1 = tc_narrow(y0, 0, 22, 22);
  tc_tensor *s0 = tc_sum(e0, NULL, 0, false), *eqt = tc_eq(e0, e1), *eq = tc_all(eqt, NULL, 0, false);
  tc_tensor_release(eqt);
  int64_t sum, same;
  tc_item_int64(s0, &sum);
  tc_item_int64(eq, &same);
  ck_assert_int_eq(sum, 21 * 22 / 2);
  ck_assert_int_eq(same, 0);
  tc_tensor_release(e0);
  tc_tensor_release(e1);
  tc_tensor_release(s0);
  tc_tensor_release(eq);
  const int workers[] = {1, 2, 4, 8};
  for (int k = 0; k < 4; k++) {
    tc_tensor *x, *y;
    run_epochs(ds, workers[k], 2, &x, &y);
    char what[64];
    snprintf(what, sizeof what, "inputs with %d workers", workers[k]);
    assert_equal(x, x0, what);
    assert_equal(y, y0, "targets");
    tc_tensor_release(x);
    tc_tensor_release(y);
  }
  tc_tensor_release(x0);
  tc_tensor_release(y0);
  td_release(ds);
  td_release(base);
  LEAK_END;
}
END_TEST

START_TEST(test_collate_modes) {
  LEAK_BEGIN;
  td_dataset *ds = seq_dataset(4, -1); /* lengths 1, 2, 3, 4 */
  td_sample ss[4];
  for (int i = 0; i < 4; i++) ck_assert_int_eq(td_get(ds, i, &ss[i], NULL), TC_OK);
  td_sample b;
  ck_assert_int_eq(td_collate(ss, 4, TD_COLLATE_STACK, 0, &b), TC_ERR_SHAPE); /* lengths differ */
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "use pad or offsets"));
  ck_assert_int_eq(td_collate(ss, 3, TD_COLLATE_PAD, -1, &b), TC_OK);
  tc_tensor *want = T_F32(SHAPE(3, 3), 2, 0, -1, -1, 0, 1, -1, 0, 1, 2);
  assert_equal(td_sample_field(&b, "input")->tensor, want, "padded");
  tc_tensor *lens = T_I64(SHAPE(3), 1, 1, 2, 3);
  assert_equal(td_sample_field(&b, "input_lengths")->tensor, lens, "lengths");
  tc_tensor *tg = T_I64(SHAPE(3), 1, 0, 1, 2);
  assert_equal(td_sample_field(&b, "target")->tensor, tg, "int targets -> int64");
  td_sample_clear(&b);
  ck_assert_int_eq(td_collate(ss, 3, TD_COLLATE_OFFSETS, 0, &b), TC_OK);
  tc_tensor *flat = T_F32(SHAPE(6), 1, 0, 0, 1, 0, 1, 2);
  tc_tensor *offs = T_I64(SHAPE(3), 1, 0, 1, 3);
  assert_equal(td_sample_field(&b, "input")->tensor, flat, "concatenated");
  assert_equal(td_sample_field(&b, "input_offsets")->tensor, offs, "offsets");
  td_sample_clear(&b);
  td_sample str;
  td_sample_init(&str);
  td_sample_set(&str, "text", tr_string_value("hello"));
  ck_assert_int_eq(td_collate(&str, 1, TD_COLLATE_STACK, 0, &b), TC_ERR_UNSUPPORTED);
  td_sample_clear(&str);
  for (int i = 0; i < 4; i++) td_sample_clear(&ss[i]);
  tc_tensor_release(want);
  tc_tensor_release(lens);
  tc_tensor_release(tg);
  tc_tensor_release(flat);
  tc_tensor_release(offs);
  td_release(ds);
  LEAK_END;
}
END_TEST

START_TEST(test_errors_skip_and_early_destroy) {
  LEAK_BEGIN;
  td_dataset *ds = seq_dataset(20, 5);
  for (int workers = 0; workers <= 2; workers += 2) {
    td_loader_opts o = TD_LOADER_DEFAULTS;
    o.batch_size = 4;
    o.collate = TD_COLLATE_PAD;
    o.num_workers = workers;
    td_loader *dl = td_loader_create(ds, &o);
    td_sample b;
    bool end;
    ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_OK);
    td_sample_clear(&b);
    ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_ERR_CORRUPT); /* batch 1 holds sample 5 */
    ck_assert_ptr_nonnull(strstr(tc_last_error(), "sample 5: sample file 5 is corrupt"));
    ck_assert_int_eq(b.n, 0);
    ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_OK); /* the loader goes on */
    td_sample_clear(&b);
    td_loader_destroy(dl); /* mid-epoch, workers running */
    o.skip_errors = true;
    dl = td_loader_create(ds, &o);
    int64_t total = 0;
    while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
      total += tc_tensor_shape(td_sample_field(&b, "target")->tensor)[0];
      td_sample_clear(&b);
    }
    ck_assert_int_eq(total, 19);
    ck_assert_int_eq(td_loader_skipped(dl), 1);
    td_loader_destroy(dl);
    /* batches of one: the failing sample's batch is left out, the epoch goes on */
    o.batch_size = 1;
    dl = td_loader_create(ds, &o);
    int64_t batches = 0;
    while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
      batches++;
      td_sample_clear(&b);
    }
    ck_assert(end);
    ck_assert_int_eq(batches, 19);
    td_loader_destroy(dl);
  }
  /* a sampler of its own: rank 1 of 2 of a DistributedSampler */
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 5;
  o.sampler = td_distributed_sampler(20, 2, 1, false, 0, false);
  td_dataset *t = table(20);
  td_loader *dl = td_loader_create(t, &o);
  td_sample b;
  bool end;
  ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_OK);
  tc_tensor *want = T_I64(SHAPE(5), 1, 1, 3, 5, 7, 9);
  assert_equal(td_sample_field(&b, "target")->tensor, want, "distributed rank 1");
  tc_tensor_release(want);
  td_sample_clear(&b);
  td_loader_destroy(dl);
  /* a batch sampler: whole batches (sizes 3, 3, 3, 1 over 10 of the 20 samples) */
  o = (td_loader_opts)TD_LOADER_DEFAULTS;
  o.batch_sampler = td_batch_sampler(td_subset_random_sampler((const int64_t[]){0, 2, 4, 6, 8, 10, 12, 14, 16, 18}, 10,
                                                              tc_default_generator()), 3, false);
  dl = td_loader_create(t, &o);
  ck_assert_int_eq(td_loader_len(dl), 4);
  int64_t sizes = 0, sum = 0, nbat = 0;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    const tc_tensor *tg = td_sample_field(&b, "target")->tensor;
    sizes += tc_tensor_numel(tg);
    for (int64_t i = 0; i < tc_tensor_numel(tg); i++) sum += ((const int64_t *)tc_tensor_data(tg))[i];
    nbat++;
    td_sample_clear(&b);
  }
  ck_assert_int_eq(nbat, 4);
  ck_assert_int_eq(sizes, 10);
  ck_assert_int_eq(sum, 90);
  td_loader_destroy(dl);
  /* no batching: the samples themselves */
  o = (td_loader_opts)TD_LOADER_DEFAULTS;
  o.no_batching = true;
  o.num_workers = 2;
  dl = td_loader_create(t, &o);
  ck_assert_int_eq(td_loader_len(dl), 20);
  ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_OK);
  ck_assert_int_eq(tc_tensor_ndim(td_sample_field(&b, "input")->tensor), 1); /* a row, not a batch */
  td_sample_clear(&b);
  td_loader_destroy(dl);
  o = (td_loader_opts)TD_LOADER_DEFAULTS;
  o.batch_size = 0;
  ck_assert_ptr_null(td_loader_create(t, &o));
  o.batch_size = 4;
  o.batch_sampler = td_batch_sampler(td_sequential_sampler(20), 2, false);
  ck_assert_ptr_null(td_loader_create(t, &o)); /* batch_size with a batch_sampler: refused, freed */
  o.batch_sampler = NULL;
  o.batch_size = 2;
  o.shuffle = true;
  o.sampler = td_sequential_sampler(20);
  ck_assert_ptr_null(td_loader_create(t, &o)); /* sampler and shuffle: refused, the sampler freed */
  td_release(t);
  td_release(ds);
  LEAK_END;
}
END_TEST

/* state save/resume: 2 epochs consumed with an interruption in the middle equal an uninterrupted run */
static void collect(td_loader *dl, int64_t nbatches, const tc_tensor **xs, int *n) {
  for (int64_t k = 0; k < nbatches; k++) {
    td_sample b;
    bool end;
    ck_assert_int_eq(td_loader_next(dl, &b, &end), TC_OK);
    if (end) { /* an epoch boundary does not count as a batch */
      k--;
      continue;
    }
    xs[(*n)++] = tc_tensor_retain(td_sample_field(&b, "input")->tensor);
    td_sample_clear(&b);
  }
}

START_TEST(test_resume) {
  LEAK_BEGIN;
  td_dataset *base = table(22);
  td_dataset *ds = td_transformed(base, "input", tr_lambda(jitter, NULL, "jitter"), NULL, NULL);
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 4;
  o.shuffle = true;
  o.num_workers = 2;
  o.seed = 99;
  const tc_tensor *a[32], *b[32];
  int na = 0, nb = 0;
  td_loader *full = td_loader_create(ds, &o);
  collect(full, 12, a, &na); /* 6 batches per epoch: two epochs */
  td_loader_destroy(full);
  td_loader *first = td_loader_create(ds, &o);
  collect(first, 8, b, &nb); /* into the second epoch */
  td_loader_state st;
  ck_assert_int_eq(td_loader_state_get(first, &st), TC_OK);
  ck_assert_int_eq(st.epoch, 1);
  ck_assert_int_eq(st.batch, 2);
  td_loader_destroy(first);
  o.num_workers = 1; /* another worker count resumes the same */
  td_loader *second = td_loader_create(ds, &o);
  ck_assert_int_eq(td_loader_state_set(second, &st), TC_OK);
  collect(second, 4, b, &nb);
  td_loader_destroy(second);
  ck_assert_int_eq(na, nb);
  for (int i = 0; i < na; i++) {
    assert_equal(b[i], a[i], "resumed batch");
    tc_tensor_release((tc_tensor *)a[i]);
    tc_tensor_release((tc_tensor *)b[i]);
  }
  /* a generator instead of a seed: the same generator seed gives the same epochs, and a saved
   * state resumes without the generator's own state */
  o.seed = 0;
  tc_generator *g1 = tc_generator_create(5), *g2 = tc_generator_create(5);
  o.generator = g1;
  const tc_tensor *c[32], *d[32];
  int nc = 0, nd = 0;
  td_loader *l1 = td_loader_create(ds, &o);
  collect(l1, 12, c, &nc);
  td_loader_destroy(l1);
  o.generator = g2;
  td_loader *l2 = td_loader_create(ds, &o);
  collect(l2, 9, d, &nd);
  td_loader_state gs;
  ck_assert_int_eq(td_loader_state_get(l2, &gs), TC_OK);
  td_loader_destroy(l2);
  tc_generator *g3 = tc_generator_create(123); /* another generator: the state's seed wins */
  o.generator = g3;
  td_loader *l3 = td_loader_create(ds, &o);
  ck_assert_int_eq(td_loader_state_set(l3, &gs), TC_OK);
  collect(l3, 3, d, &nd);
  td_loader_destroy(l3);
  for (int i = 0; i < nc; i++) {
    assert_equal(d[i], c[i], "generator-seeded batch");
    tc_tensor_release((tc_tensor *)c[i]);
    tc_tensor_release((tc_tensor *)d[i]);
  }
  /* between epochs a generator-seeded loader has not drawn its next seed yet */
  tc_generator *g4 = tc_generator_create(8);
  o.generator = g4;
  td_loader *l4 = td_loader_create(ds, &o);
  collect(l4, 6, d, &nd);
  td_sample eb;
  bool eend;
  ck_assert_int_eq(td_loader_next(l4, &eb, &eend), TC_OK);
  ck_assert(eend);
  td_loader_state between;
  ck_assert_int_eq(td_loader_state_get(l4, &between), TC_OK);
  ck_assert(!between.has_seed);
  ck_assert_int_eq(between.epoch, 1);
  ck_assert_int_eq(between.batch, 0);
  td_loader_destroy(l4);
  for (int i = nc; i < nd; i++) tc_tensor_release((tc_tensor *)d[i]);
  tc_generator_destroy(g4);
  tc_generator_destroy(g1);
  tc_generator_destroy(g2);
  tc_generator_destroy(g3);
  o.generator = NULL;
  o.seed = 99;
  st.seed = 1;
  td_loader *other = td_loader_create(ds, &o);
  ck_assert_int_eq(td_loader_state_set(other, &st), TC_ERR_ARG); /* another seed */
  td_loader_destroy(other);
  td_release(ds);
  td_release(base);
  LEAK_END;
}
END_TEST

static int inits;
static void count_init(int id, void *user) {
  (void)id, (void)user;
  __atomic_fetch_add(&inits, 1, __ATOMIC_SEQ_CST);
}

static void drain(td_loader *dl, int64_t *total, int64_t *sum_targets) {
  td_sample b;
  bool end;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    const tc_tensor *t = td_sample_field(&b, "target")->tensor;
    for (int64_t i = 0; i < tc_tensor_numel(t); i++) *sum_targets += ((const int64_t *)tc_tensor_data(t))[i];
    *total += tc_tensor_numel(t);
    td_sample_clear(&b);
  }
}

/* a dataset slow to load: each sample takes 20 ms */
static int64_t slow_len(void *s) { (void)s; return 4; }
static tc_status slow_get(void *s, int64_t i, td_sample *out, tc_generator *gen) {
  (void)s, (void)gen;
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return td_sample_set(out, "target", tr_int_value(i));
}
static const td_dataset_vtable slow_vt = {"Slow", slow_len, slow_get, NULL};

START_TEST(test_options) {
  LEAK_BEGIN;
  td_dataset *ds = table(30);
  /* worker_init once per worker per epoch, or once for the loader's life with persistent workers */
  for (int persistent = 0; persistent < 2; persistent++) {
    td_loader_opts o = TD_LOADER_DEFAULTS;
    o.batch_size = 4;
    o.num_workers = 3;
    o.worker_init = count_init;
    o.persistent_workers = persistent;
    o.pin_memory = true; /* without CUDA the batches stay as they are */
    inits = 0;
    td_loader *dl = td_loader_create(ds, &o);
    for (int e = 0; e < 2; e++) {
      int64_t total = 0, sum = 0;
      drain(dl, &total, &sum);
      ck_assert_int_eq(total, 30);
      ck_assert_int_eq(sum, 29 * 30 / 2);
    }
    ck_assert_int_eq(inits, persistent ? 3 : 6);
    td_loader_destroy(dl);
  }
  /* out of order: every sample once */
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 2;
  o.num_workers = 2;
  o.in_order = false;
  td_loader *dl = td_loader_create(ds, &o);
  int64_t total = 0, sum = 0;
  drain(dl, &total, &sum);
  ck_assert_int_eq(total, 30);
  ck_assert_int_eq(sum, 29 * 30 / 2);
  td_loader_state st;
  ck_assert_int_eq(td_loader_state_get(dl, &st), TC_ERR_STATE);
  td_loader_destroy(dl);
  /* a timeout shorter than a batch's loading: TC_ERR_STATE, and the batch comes later */
  td_dataset *slow = td_dataset_create(&slow_vt, NULL);
  o = (td_loader_opts)TD_LOADER_DEFAULTS;
  o.batch_size = 2;
  o.num_workers = 1;
  o.timeout = 0.005;
  dl = td_loader_create(slow, &o);
  td_sample b;
  bool end;
  int timeouts = 0;
  tc_status s;
  while ((s = td_loader_next(dl, &b, &end)) == TC_ERR_STATE) timeouts++;
  ck_assert_int_eq(s, TC_OK);
  ck_assert_int_ge(timeouts, 1);
  ck_assert_int_eq(((const int64_t *)tc_tensor_data(td_sample_field(&b, "target")->tensor))[1], 1);
  td_sample_clear(&b);
  td_loader_destroy(dl);
  td_release(slow);
  td_release(ds);
  LEAK_END;
}
END_TEST

/* an iterable dataset of records 0..n-1, sharded: worker w of W takes w, w + W, ...; record
 * `fail_at` fails */
typedef struct {
  int64_t n, fail_at;
} range_state;
typedef struct {
  int64_t next, step, n, fail_at;
} range_iter;

static void *range_open(void *vs, const td_worker_info *w) {
  range_state *s = vs;
  range_iter *it = tc_malloc(sizeof *it);
  if (it) *it = (range_iter){w->id, w->num_workers, s->n, s->fail_at};
  return it;
}
static tc_status range_next(void *vit, td_sample *out, bool *end, tc_generator *gen) {
  (void)gen;
  range_iter *it = vit;
  if (it->next >= it->n) {
    *end = true;
    return TC_OK;
  }
  int64_t i = it->next;
  it->next += it->step;
  if (i == it->fail_at) return tc_set_error(TC_ERR_CORRUPT, "record %lld is corrupt", (long long)i);
  return td_sample_set(out, "target", tr_int_value(i));
}
static void range_close(void *it) { tc_free(it); }
static const td_iterable_vtable range_vt = {"Range", range_open, range_next, range_close, seq_destroy};

static td_dataset *range_dataset(int64_t n, int64_t fail_at) {
  range_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (range_state){n, fail_at};
  return td_iterable_dataset_create(&range_vt, s);
}

/* the batches of one epoch as "a,b,c|d,e|..." */
static void epoch_string(td_loader *dl, char *buf, size_t size) {
  buf[0] = 0;
  td_sample b;
  bool end;
  while (td_loader_next(dl, &b, &end) == TC_OK && !end) {
    const tc_tensor *t = td_sample_field(&b, "target")->tensor;
    for (int64_t i = 0; i < tc_tensor_numel(t); i++)
      snprintf(buf + strlen(buf), size - strlen(buf), "%s%lld", i ? "," : "", (long long)((const int64_t *)tc_tensor_data(t))[i]);
    snprintf(buf + strlen(buf), size - strlen(buf), "|");
    td_sample_clear(&b);
  }
}

START_TEST(test_iterable) {
  LEAK_BEGIN;
  td_dataset *ds = range_dataset(10, -1);
  ck_assert(td_is_iterable(ds));
  ck_assert_int_eq(td_len(ds), -1);
  td_sample s;
  ck_assert_int_eq(td_get(ds, 0, &s, NULL), TC_ERR_STATE);
  char buf[256];
  td_loader_opts o = TD_LOADER_DEFAULTS;
  o.batch_size = 3;
  td_loader *dl = td_loader_create(ds, &o);
  epoch_string(dl, buf, sizeof buf);
  ck_assert_str_eq(buf, "0,1,2|3,4,5|6,7,8|9|");
  epoch_string(dl, buf, sizeof buf); /* a second epoch opens a fresh iterator */
  ck_assert_str_eq(buf, "0,1,2|3,4,5|6,7,8|9|");
  ck_assert_int_eq(td_loader_len(dl), -1);
  td_loader_destroy(dl);
  /* two workers: each its own share, batches taken round robin as PyTorch */
  o.num_workers = 2;
  dl = td_loader_create(ds, &o);
  epoch_string(dl, buf, sizeof buf);
  ck_assert_str_eq(buf, "0,2,4|1,3,5|6,8|7,9|");
  td_loader_destroy(dl);
  o.drop_last = true;
  dl = td_loader_create(ds, &o);
  epoch_string(dl, buf, sizeof buf);
  ck_assert_str_eq(buf, "0,2,4|1,3,5|");
  td_loader_destroy(dl);
  /* a failing record: an error naming it, or skipped */
  td_dataset *bad = range_dataset(10, 4);
  o = (td_loader_opts)TD_LOADER_DEFAULTS;
  o.batch_size = 3;
  o.num_workers = 2;
  dl = td_loader_create(bad, &o);
  bool end;
  ck_assert_int_eq(td_loader_next(dl, &s, &end), TC_ERR_CORRUPT); /* worker 0's first batch holds record 4 */
  ck_assert_ptr_nonnull(strstr(tc_last_error(), "record 4 is corrupt"));
  td_loader_destroy(dl); /* mid-epoch */
  o.skip_errors = true;
  dl = td_loader_create(bad, &o);
  epoch_string(dl, buf, sizeof buf);
  ck_assert_str_eq(buf, "0,2,6|1,3,5|8|7,9|");
  ck_assert_int_eq(td_loader_skipped(dl), 1);
  td_loader_destroy(dl);
  o.shuffle = true;
  ck_assert_ptr_null(td_loader_create(ds, &o));
  ck_assert_ptr_null(td_subset(ds, (const int64_t[]){0}, 1));
  td_release(bad);
  td_release(ds);
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("dataloader");
  TCase *tc = tcase_create("dataloader");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_batches);
  tcase_add_test(tc, test_identical_for_any_worker_count);
  tcase_add_test(tc, test_collate_modes);
  tcase_add_test(tc, test_errors_skip_and_early_destroy);
  tcase_add_test(tc, test_resume);
  tcase_add_test(tc, test_options);
  tcase_add_test(tc, test_iterable);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
