/* datasets/src/loader.c — the DataLoader: epochs of batches, worker threads, in-order delivery.
 *
 * An epoch: the sample order (the sampler's, a permutation from (seed, epoch) when shuffling, or
 * 0..n-1) is cut into batches of batch_size (the last kept short unless drop_last). Batch b is
 * loaded by worker b % W (as PyTorch assigns them) into ring slot b % C, C = W * prefetch_factor;
 * a worker waits while its slot still holds an undelivered batch, and the consumer takes batches
 * strictly in order. With no workers the consumer loads each batch itself.
 *
 * Sample i of epoch e is loaded with a generator seeded from mix(seed, e, i) (one generator per
 * worker, reseeded per sample), so the data never depends on which thread loaded it.
 *
 * One mutex guards the ring and the epoch; workers sleep on `work_cv`, the consumer on `ready_cv`.
 * Destroy (or a new epoch) sets `stop`, wakes everyone and joins: nothing is left running.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include "ctorch/dataloader.h"
#include "datasets_internal.h"

typedef struct {
  int64_t batch; /* the batch this slot holds, -1 when free */
  bool done;
  tc_status status;
  char message[512];
  td_sample data;
} slot;

struct td_loader {
  td_dataset *ds;
  td_loader_opts o;
  td_sampler *sampler, *batch_sampler;
  /* the current epoch */
  int64_t epoch;
  bool running;
  int64_t *order, norder, nbatches, next; /* next: the batch to deliver (in order) or the count delivered */
  int64_t *offsets;                       /* batch b is order[offsets[b] .. offsets[b + 1]) */
  int64_t start;                          /* the epoch's first batch (after a resume) */
  int64_t resume;                         /* the batch the next epoch starts at (state_set) */
  int64_t skipped;
  bool *inited;                           /* persistent_workers: worker_init already ran, per worker */
  uint64_t base;                          /* the epoch's base seed: o.seed, or drawn from o.generator */
  bool base_set;                          /* base was given by td_loader_state_set */
  /* iterable datasets: worker w fills ring slots [w * pf, (w + 1) * pf) as a queue */
  bool iterable;
  int64_t *produced, *consumed; /* per worker (one entry when loading on the caller) */
  bool *exhausted;
  int rr;                       /* the worker whose batch is next (round robin, as PyTorch) */
  void *it0;                    /* the caller's iterator when there are no workers */
  tc_generator *gen0;           /* the caller's per-sample generator when there are no workers */
  int64_t count0;
  /* workers */
  int nw;
  pthread_t *threads;
  bool threads_up, stop;
  slot *ring;
  int64_t cap;
  pthread_mutex_t mu;
  pthread_cond_t work_cv, ready_cv;
};

typedef struct {
  td_loader *l;
  int id;
} worker_arg;

/* now + seconds on CLOCK_REALTIME (pthread_cond_timedwait's clock) */
static void deadline_after(struct timespec *d, double seconds) {
  clock_gettime(CLOCK_REALTIME, d);
  double sec = (double)d->tv_sec + (double)d->tv_nsec * 1e-9 + seconds;
  d->tv_sec = (time_t)sec;
  d->tv_nsec = (long)((sec - (double)d->tv_sec) * 1e9);
  if (d->tv_nsec >= 1000000000L) d->tv_sec++, d->tv_nsec -= 1000000000L;
  if (d->tv_nsec < 0) d->tv_nsec = 0;
}

/* splitmix64 finaliser over (seed, epoch, index) */
static uint64_t mix(uint64_t seed, uint64_t epoch, uint64_t index) {
  uint64_t z = seed ^ (epoch * 0x9E3779B97F4A7C15ull) ^ (index * 0xD1B54A32D192ED03ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int64_t batch_start(const td_loader *l, int64_t b) { return l->offsets[b]; }
static int64_t batch_end(const td_loader *l, int64_t b) { return l->offsets[b + 1]; }

/* Loads and collates batch b (outside the lock). On failure fills message with the context. */
static tc_status load_batch(td_loader *l, int64_t b, tc_generator *gen, int worker, td_sample *out, char *message,
                            size_t msize, int64_t *skipped) {
  int64_t s0 = batch_start(l, b), s1 = batch_end(l, b), n = 0;
  td_sample *ss = tc_calloc(sizeof *ss * (size_t)(s1 - s0));
  if (!ss) {
    snprintf(message, msize, "%s", tc_last_error());
    return TC_ERR_NOMEM;
  }
  tc_status st = TC_OK;
  for (int64_t k = s0; k < s1 && !st; k++) {
    int64_t idx = l->order[k];
    /* seeded by the position in the epoch (not the index: a sample drawn twice gets its own draws) */
    tc_generator_manual_seed(gen, mix(l->base, (uint64_t)l->epoch, (uint64_t)k));
    tc_status gs = td_get(l->ds, idx, &ss[n], gen);
    if (!gs) {
      n++;
    } else if (l->o.skip_errors) {
      (*skipped)++;
    } else {
      st = gs;
      snprintf(message, msize, "td_loader_next: worker %d, sample %lld: %s", worker, (long long)idx, tc_last_error());
    }
  }
  if (!st && n == 0) {
    /* every sample failed and was skipped: the batch is left out (an empty result the consumer passes) */
  } else if (!st && l->o.no_batching) {
    *out = ss[0]; /* the sample itself */
    td_sample_init(&ss[0]);
  } else if (!st) {
    st = l->o.collate_fn ? l->o.collate_fn(ss, n, out, l->o.collate_user)
                         : td_collate(ss, n, l->o.collate, l->o.pad_value, out);
    if (st) snprintf(message, msize, "td_loader_next: worker %d, batch %lld: %s", worker, (long long)b, tc_last_error());
  }
  for (int f = 0; !st && l->o.pin_memory && f < out->n; f++) { /* pinned copies for fast device transfers */
    if (out->values[f].kind != TR_TENSOR || !tc_cuda_is_available()) continue;
    tc_tensor *p = tc_tensor_pin_memory(out->values[f].tensor);
    if (!p) {
      st = tc_last_status();
      snprintf(message, msize, "td_loader_next: pinning batch %lld: %s", (long long)b, tc_last_error());
      break;
    }
    tc_tensor_release(out->values[f].tensor);
    out->values[f].tensor = tc_scope_keep(p); /* owned by the batch, not by a scope of the caller */
  }
  for (int64_t k = 0; k < n; k++) td_sample_clear(&ss[k]);
  tc_free(ss);
  if (st) td_sample_clear(out);
  return st;
}

/* worker_init in worker id's thread: every epoch, or once per worker with persistent_workers */
static void run_worker_init(td_loader *l, int id) {
  if (!l->o.worker_init) return;
  pthread_mutex_lock(&l->mu);
  bool skip = l->o.persistent_workers && l->inited[id];
  pthread_mutex_unlock(&l->mu);
  if (skip) return;
  l->o.worker_init(id, l->o.worker_init_user);
  pthread_mutex_lock(&l->mu);
  l->inited[id] = true;
  pthread_mutex_unlock(&l->mu);
}

static void *worker_main(void *varg) {
  worker_arg *a = varg;
  td_loader *l = a->l;
  int id = a->id;
  tc_free(a);
  tc_set_thread_serial(true); /* kernels of this worker run on it alone: one thread budget */
  tc_generator *gen = tc_generator_create(0);
  run_worker_init(l, id);
  pthread_mutex_lock(&l->mu);
  /* the first batch of this worker's residue class at or after the epoch's start */
  int64_t first = l->start + ((id - l->start % l->nw) % l->nw + l->nw) % l->nw;
  for (int64_t b = first;; b += l->nw) {
    /* wait for the epoch to have batch b and for its slot to be free */
    while (!l->stop && b < l->nbatches && l->ring[b % l->cap].batch != -1) pthread_cond_wait(&l->work_cv, &l->mu);
    if (l->stop || b >= l->nbatches) break;
    slot *s = &l->ring[b % l->cap];
    s->batch = b;
    s->done = false;
    pthread_mutex_unlock(&l->mu);
    td_sample data;
    td_sample_init(&data);
    char message[512] = "";
    int64_t skipped = 0;
    tc_status st = gen ? load_batch(l, b, gen, id, &data, message, sizeof message, &skipped) : TC_ERR_NOMEM;
    if (!gen) snprintf(message, sizeof message, "td_loader_next: worker %d could not make its generator", id);
    pthread_mutex_lock(&l->mu);
    s->data = data;
    s->status = st;
    memcpy(s->message, message, sizeof message);
    s->done = true;
    l->skipped += skipped;
    pthread_cond_broadcast(&l->ready_cv);
  }
  pthread_mutex_unlock(&l->mu);
  tc_generator_destroy(gen);
  return NULL;
}

/* ---- iterable datasets ---------------------------------------------------------------------------
 * Up to batch_size samples from worker w's iterator (count: the worker's samples so far, for the
 * generators); *exhausted when the share ended (a short last batch is still returned unless
 * drop_last); *empty when there is nothing to return. */
static tc_status iter_batch(td_loader *l, void *it, int w, int64_t *count, tc_generator *gen, td_sample *out,
                            bool *exhausted, bool *empty, char *message, size_t msize, int64_t *skipped) {
  int64_t bs = l->o.no_batching ? 1 : l->o.batch_size, n = 0;
  td_sample *ss = (uint64_t)bs <= SIZE_MAX / sizeof *ss ? tc_calloc(sizeof *ss * (size_t)bs) : NULL;
  *empty = false; /* an error is the batch */
  if (!ss) {
    snprintf(message, msize, "td_loader_next: worker %d: no memory for a batch of %lld samples", w, (long long)bs);
    *exhausted = true;
    return TC_ERR_NOMEM;
  }
  *empty = true;
  tc_status st = TC_OK;
  while (n < bs && !*exhausted && !st) {
    tc_generator_manual_seed(gen, mix(l->base, (uint64_t)l->epoch, ((uint64_t)w << 48) ^ (uint64_t)*count));
    bool end = false;
    tc_status gs = td__iter_next(l->ds, it, &ss[n], &end, gen);
    if (end && !gs) {
      *exhausted = true;
    } else if (!gs) {
      n++;
      (*count)++;
    } else if (l->o.skip_errors) {
      (*skipped)++;
      (*count)++;
    } else {
      st = gs;
      snprintf(message, msize, "td_loader_next: worker %d, sample %lld of its share: %s", w, (long long)*count,
               tc_last_error());
      (*count)++;
    }
  }
  if (!st && n > 0 && !(l->o.drop_last && n < bs)) {
    *empty = false;
    if (l->o.no_batching) {
      *out = ss[0];
      td_sample_init(&ss[0]);
    } else {
      st = l->o.collate_fn ? l->o.collate_fn(ss, n, out, l->o.collate_user)
                           : td_collate(ss, n, l->o.collate, l->o.pad_value, out);
      if (st) snprintf(message, msize, "td_loader_next: worker %d: %s", w, tc_last_error());
    }
  }
  if (st) *empty = false; /* the error is the batch */
  for (int64_t k = 0; k < n; k++) td_sample_clear(&ss[k]);
  tc_free(ss);
  if (st) td_sample_clear(out);
  return st;
}

static void *iter_worker_main(void *varg) {
  worker_arg *a = varg;
  td_loader *l = a->l;
  int w = a->id;
  tc_free(a);
  tc_set_thread_serial(true);
  run_worker_init(l, w);
  td_worker_info info = {w, l->nw, mix(l->base, (uint64_t)l->epoch, (uint64_t)w)};
  tc_generator *gen = tc_generator_create(0);
  void *it = gen ? td__iter_open(l->ds, &info) : NULL;
  char message[512] = "";
  tc_status open_st = it ? TC_OK : tc_last_status();
  if (!it) snprintf(message, sizeof message, "td_loader_next: worker %d could not open its iterator: %s", w,
                    tc_last_error());
  int64_t pf = l->o.prefetch_factor, count = 0;
  bool exhausted = false;
  pthread_mutex_lock(&l->mu);
  while (!l->stop && !exhausted) {
    while (!l->stop && l->produced[w] - l->consumed[w] >= pf) pthread_cond_wait(&l->work_cv, &l->mu);
    if (l->stop) break;
    pthread_mutex_unlock(&l->mu);
    td_sample data;
    td_sample_init(&data);
    bool empty = true;
    int64_t skipped = 0;
    tc_status st = open_st;
    if (!st) st = iter_batch(l, it, w, &count, gen, &data, &exhausted, &empty, message, sizeof message, &skipped);
    else exhausted = true, empty = false; /* report the failed open once */
    pthread_mutex_lock(&l->mu);
    l->skipped += skipped;
    if (!empty) {
      slot *s = &l->ring[w * pf + l->produced[w] % pf];
      s->batch = l->produced[w];
      s->data = data;
      s->status = st;
      memcpy(s->message, message, sizeof message);
      s->done = true;
      l->produced[w]++;
    }
    if (exhausted) l->exhausted[w] = true;
    pthread_cond_broadcast(&l->ready_cv);
  }
  pthread_mutex_unlock(&l->mu);
  td__iter_close(l->ds, it);
  tc_generator_destroy(gen);
  return NULL;
}

/* The next batch of an iterable epoch: round robin over the workers that still have batches. */
static tc_status iter_next(td_loader *l, td_sample *batch, bool *end) {
  if (l->nw == 0) {
    char message[512] = "";
    if (!l->gen0 && !(l->gen0 = tc_generator_create(0))) return tc_last_status();
    tc_generator *gen = l->gen0;
    if (!l->it0 && !l->exhausted[0]) {
      td_worker_info info = {0, 1, mix(l->base, (uint64_t)l->epoch, 0)};
      if (!(l->it0 = td__iter_open(l->ds, &info))) return tc_last_status();
    }
    bool empty = true;
    int64_t skipped = 0;
    tc_status st = l->exhausted[0] ? TC_OK
                                   : iter_batch(l, l->it0, 0, &l->count0, gen, batch, &l->exhausted[0], &empty, message,
                                                sizeof message, &skipped);
    l->skipped += skipped;
    if (st) return tc_set_error(st, "%s", message);
    if (empty) *end = true;
    return TC_OK;
  }
  int64_t pf = l->o.prefetch_factor;
  struct timespec deadline;
  bool have_deadline = false;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    bool any = false;
    for (int k = 0; k < l->nw && !any; k++) any = !l->exhausted[k] || l->produced[k] > l->consumed[k];
    if (!any) {
      pthread_mutex_unlock(&l->mu);
      *end = true;
      return TC_OK;
    }
    int w = l->rr;
    if (l->produced[w] > l->consumed[w]) {
      slot *s = &l->ring[w * pf + l->consumed[w] % pf];
      tc_status st = s->status;
      char message[512];
      memcpy(message, s->message, sizeof message);
      *batch = s->data;
      td_sample_init(&s->data);
      s->batch = -1;
      s->done = false;
      l->consumed[w]++;
      l->rr = (w + 1) % l->nw;
      pthread_cond_broadcast(&l->work_cv);
      pthread_mutex_unlock(&l->mu);
      return st ? tc_set_error(st, "%s", message) : TC_OK;
    }
    if (l->exhausted[w]) {
      l->rr = (w + 1) % l->nw;
      continue;
    }
    if (l->o.timeout > 0) {
      if (!have_deadline) {
        deadline_after(&deadline, l->o.timeout);
        have_deadline = true;
      }
      if (pthread_cond_timedwait(&l->ready_cv, &l->mu, &deadline) == ETIMEDOUT) {
        pthread_mutex_unlock(&l->mu);
        return tc_set_error(TC_ERR_STATE, "td_loader_next: timed out after %g s waiting for worker %d", l->o.timeout,
                            w);
      }
    } else {
      pthread_cond_wait(&l->ready_cv, &l->mu);
    }
  }
}

/* Frees the batches left in the ring (workers joined). */
static void clear_slots(td_loader *l) {
  for (int64_t k = 0; k < l->cap; k++) {
    if (l->ring[k].batch != -1 && l->ring[k].done) td_sample_clear(&l->ring[k].data);
    l->ring[k].batch = -1;
    l->ring[k].done = false;
  }
}

/* Stops and joins the workers; frees undelivered batches. */
static void stop_workers(td_loader *l) {
  if (!l->threads_up) return;
  pthread_mutex_lock(&l->mu);
  l->stop = true;
  pthread_cond_broadcast(&l->work_cv);
  pthread_mutex_unlock(&l->mu);
  for (int i = 0; i < l->nw; i++) pthread_join(l->threads[i], NULL);
  l->threads_up = false;
  l->stop = false;
  clear_slots(l);
}

/* Resets the iterable bookkeeping (and closes the caller's iterator) for a new epoch. */
static void reset_iterable(td_loader *l) {
  if (!l->iterable) return;
  td__iter_close(l->ds, l->it0);
  l->it0 = NULL;
  l->count0 = 0;
  l->rr = 0;
  for (int k = 0; k < (l->nw ? l->nw : 1); k++) {
    l->produced[k] = l->consumed[k] = 0;
    l->exhausted[k] = false;
  }
}

/* Starts the epoch's workers running fn; on failure stops the ones started and ends the epoch. */
static tc_status start_threads(td_loader *l, void *(*fn)(void *)) {
  for (int i = 0; i < l->nw; i++) {
    worker_arg *a = tc_malloc(sizeof *a);
    bool allocated = a != NULL;
    if (a) *a = (worker_arg){l, i};
    if (!a || pthread_create(&l->threads[i], NULL, fn, a)) {
      tc_free(a);
      pthread_mutex_lock(&l->mu);
      l->stop = true;
      pthread_cond_broadcast(&l->work_cv);
      pthread_mutex_unlock(&l->mu);
      for (int k = 0; k < i; k++) pthread_join(l->threads[k], NULL);
      l->stop = false;
      l->running = false;
      clear_slots(l); /* batches the started workers finished */
      return allocated ? tc_set_error(TC_ERR_STATE, "td_loader_next: could not start worker %d", i) : tc_last_status();
    }
  }
  l->threads_up = l->nw > 0;
  return TC_OK;
}

/* The sample order and batch count of a new epoch; starts the workers. */
static tc_status start_epoch(td_loader *l) {
  /* the base seed of the epoch: fixed, or one draw from the loader's generator (as PyTorch draws
   * its base seed from DataLoader(generator=...)) unless a restored state gave it */
  if (!l->base_set) {
    l->base = l->o.generator ? tc_generator_next_u64(l->o.generator) : l->o.seed;
    l->base_set = true; /* kept for a retry when the start fails */
  }
  if (l->iterable) {
    reset_iterable(l);
    l->running = true;
    tc_status st = start_threads(l, iter_worker_main);
    if (!st) l->base_set = false;
    return st;
  }
  tc_free(l->order);
  tc_free(l->offsets);
  l->order = l->offsets = NULL;
  int64_t n = 0;
  tc_status st = TC_OK;
  if (l->batch_sampler) { /* whole batches from the batch sampler */
    int64_t nb;
    st = td_batch_sampler_batches(l->batch_sampler, &l->order, &l->offsets, &nb);
    if (st) return st;
    l->norder = l->offsets[nb];
    l->nbatches = nb;
    goto started;
  }
  if (l->sampler) {
    st = td_sampler_indices(l->sampler, &l->order, &n);
  } else {
    n = td_len(l->ds);
    if (l->o.shuffle) {
      tc_generator *g = tc_generator_create(mix(l->base, (uint64_t)l->epoch, UINT64_MAX));
      l->order = g ? td__randperm(n, g) : NULL;
      tc_generator_destroy(g);
    } else if ((l->order = tc_malloc(sizeof(int64_t) * (size_t)(n ? n : 1)))) {
      for (int64_t i = 0; i < n; i++) l->order[i] = i;
    }
    if (!l->order) st = tc_last_status();
  }
  if (st) return st;
  l->norder = n;
  int64_t bs = l->o.no_batching ? 1 : l->o.batch_size;
  l->nbatches = l->o.drop_last ? n / bs : (n + bs - 1) / bs;
  if (!(l->offsets = tc_malloc(sizeof(int64_t) * (size_t)(l->nbatches + 1)))) return tc_last_status();
  for (int64_t b = 0; b <= l->nbatches; b++) l->offsets[b] = b * bs < n ? b * bs : n;
started:
  l->start = l->resume < l->nbatches ? l->resume : l->nbatches;
  l->next = l->start;
  l->running = true;
  st = start_threads(l, worker_main);
  if (!st) { /* started: the resume point and the base seed are used up */
    l->resume = 0;
    l->base_set = false;
  }
  return st;
}

td_loader *td_loader_create(td_dataset *ds, const td_loader_opts *opts) {
  const char *fn = "td_loader_create";
  td_loader_opts o = TD_LOADER_DEFAULTS;
  if (opts) o = *opts;
  const char *bad = !ds                      ? "the dataset is NULL"
                    : o.batch_size < 1       ? "batch_size must be >= 1"
                    : o.num_workers < 0      ? "num_workers must be >= 0"
                    : o.num_workers > 256    ? "num_workers must be <= 256"
                    : o.prefetch_factor < 1  ? "prefetch_factor must be >= 1"
                    : o.sampler && o.shuffle ? "sampler option is mutually exclusive with shuffle"
                    : o.batch_sampler && (o.batch_size != 1 || o.shuffle || o.sampler || o.drop_last)
                        ? "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                    : o.no_batching && o.batch_sampler ? "no_batching excludes a batch_sampler"
                    : td_is_iterable(ds) && (o.shuffle || o.sampler || o.batch_sampler)
                        ? "an iterable dataset takes no sampler, batch_sampler or shuffle (it orders itself)"
                                                       : NULL;
  if (bad) {
    td_sampler_destroy(o.sampler);
    td_sampler_destroy(o.batch_sampler);
    tc_set_error(TC_ERR_ARG, "%s: %s", fn, bad);
    return NULL;
  }
  td_loader *l = tc_calloc(sizeof *l);
  if (l) {
    l->nw = o.num_workers;
    l->cap = (int64_t)(l->nw ? l->nw : 1) * o.prefetch_factor;
    l->ring = tc_calloc(sizeof *l->ring * (size_t)l->cap);
    l->threads = l->nw ? tc_calloc(sizeof *l->threads * (size_t)l->nw) : NULL;
    l->inited = tc_calloc(sizeof *l->inited * (size_t)(l->nw ? l->nw : 1));
    l->iterable = td_is_iterable(ds);
    size_t nq = (size_t)(l->nw ? l->nw : 1);
    if (l->iterable) {
      l->produced = tc_calloc(sizeof *l->produced * nq);
      l->consumed = tc_calloc(sizeof *l->consumed * nq);
      l->exhausted = tc_calloc(sizeof *l->exhausted * nq);
    }
  }
  if (!l || !l->ring || (l->nw && !l->threads) || !l->inited ||
      (l->iterable && (!l->produced || !l->consumed || !l->exhausted))) {
    if (l) {
      tc_free(l->ring);
      tc_free(l->threads);
      tc_free(l->inited);
      tc_free(l->produced);
      tc_free(l->consumed);
      tc_free(l->exhausted);
    }
    tc_free(l);
    td_sampler_destroy(o.sampler);
    td_sampler_destroy(o.batch_sampler);
    return NULL;
  }
  for (int64_t k = 0; k < l->cap; k++) l->ring[k].batch = -1;
  l->ds = td_retain(ds);
  l->o = o;
  l->sampler = o.sampler;
  l->batch_sampler = o.batch_sampler;
  l->o.sampler = l->o.batch_sampler = NULL;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->work_cv, NULL);
  pthread_cond_init(&l->ready_cv, NULL);
  return l;
}

int64_t td_loader_len(const td_loader *l) {
  if (!l) return -1;
  if (l->iterable) {
    tc_set_error(TC_ERR_STATE, "td_loader_len: the length of an iterable dataset's loader is unknown");
    return -1;
  }
  if (l->batch_sampler) return td_sampler_len(l->batch_sampler);
  if (l->o.no_batching) return l->sampler ? td_sampler_len(l->sampler) : td_len(l->ds);
  int64_t n = l->sampler ? td_sampler_len(l->sampler) : td_len(l->ds);
  return l->o.drop_last ? n / l->o.batch_size : (n + l->o.batch_size - 1) / l->o.batch_size;
}

int64_t td_loader_epoch(const td_loader *l) { return l ? l->epoch : -1; }

tc_status td_loader_state_get(const td_loader *l, td_loader_state *out) {
  if (!l || !out) return tc_set_error(TC_ERR_ARG, "td_loader_state_get: NULL argument");
  if (!l->o.in_order || l->iterable)
    return tc_set_error(TC_ERR_STATE, "td_loader_state_get: a loader %s has no resumable position",
                        l->iterable ? "of an iterable dataset" : "with in_order false");
  bool fixed = l->running || l->base_set; /* between epochs with a generator: not drawn yet */
  *out = (td_loader_state){l->epoch, l->running ? l->next : l->resume, fixed ? l->base : l->o.seed,
                           fixed || !l->o.generator};
  return TC_OK;
}

tc_status td_loader_state_set(td_loader *l, const td_loader_state *st) {
  if (!l || !st) return tc_set_error(TC_ERR_ARG, "td_loader_state_set: NULL argument");
  if (!l->o.in_order || l->iterable)
    return tc_set_error(TC_ERR_STATE, "td_loader_state_set: a loader %s has no resumable position",
                        l->iterable ? "of an iterable dataset" : "with in_order false");
  if (st->epoch < 0 || st->batch < 0)
    return tc_set_error(TC_ERR_ARG, "td_loader_state_set: epoch %lld and batch %lld must be >= 0", (long long)st->epoch,
                        (long long)st->batch);
  if (!l->o.generator && st->has_seed && st->seed != l->o.seed)
    return tc_set_error(TC_ERR_ARG, "td_loader_state_set: the state is of a loader seeded %llu, this one has %llu",
                        (unsigned long long)st->seed, (unsigned long long)l->o.seed);
  stop_workers(l);
  l->running = false;
  l->epoch = st->epoch;
  l->resume = st->batch;
  l->base = st->seed;
  l->base_set = st->has_seed; /* else the next epoch draws its seed from the generator */
  return TC_OK;
}
int64_t td_loader_skipped(const td_loader *l) {
  if (!l) return -1;
  pthread_mutex_lock((pthread_mutex_t *)&l->mu);
  int64_t n = l->skipped;
  pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
  return n;
}

static tc_status next_once(td_loader *l, td_sample *batch, bool *end);

tc_status td_loader_next(td_loader *l, td_sample *batch, bool *end) {
  tc_status st;
  do /* a batch whose samples all failed and were skipped is left out */
    st = next_once(l, batch, end);
  while (!st && end && !*end && batch && batch->n == 0);
  return st;
}

static tc_status next_once(td_loader *l, td_sample *batch, bool *end) {
  if (batch) td_sample_init(batch);
  if (end) *end = false;
  if (!l || !batch || !end) return tc_set_error(TC_ERR_ARG, "td_loader_next: NULL argument");
  if (!l->running) {
    tc_status st = start_epoch(l);
    if (st) return st;
  }
  if (l->iterable) {
    tc_status st = iter_next(l, batch, end);
    if (!st && *end) { /* the epoch is over */
      stop_workers(l);
      reset_iterable(l);
      l->running = false;
      l->epoch++;
    }
    return st;
  }
  if (l->next >= l->nbatches) { /* the epoch is over: the next call starts another */
    stop_workers(l);
    l->running = false;
    l->epoch++;
    *end = true;
    return TC_OK;
  }
  int64_t b = l->next++;
  if (l->nw == 0) {
    char message[512] = "";
    if (!l->gen0 && !(l->gen0 = tc_generator_create(0))) return tc_last_status();
    int64_t skipped = 0;
    tc_status st = load_batch(l, b, l->gen0, 0, batch, message, sizeof message, &skipped);
    l->skipped += skipped;
    return st ? tc_set_error(st, "%s", message) : TC_OK;
  }
  pthread_mutex_lock(&l->mu);
  slot *s = l->o.in_order ? &l->ring[b % l->cap] : NULL;
  struct timespec deadline;
  if (l->o.timeout > 0) deadline_after(&deadline, l->o.timeout);
  for (;;) {
    if (!l->o.in_order) /* any finished batch */
      for (int64_t k = 0; k < l->cap && !s; k++)
        if (l->ring[k].batch != -1 && l->ring[k].done) s = &l->ring[k];
    if (s && s->batch != -1 && s->done && (!l->o.in_order || s->batch == b)) break;
    if (!l->o.in_order) s = NULL;
    if (l->o.timeout > 0) {
      if (pthread_cond_timedwait(&l->ready_cv, &l->mu, &deadline) == ETIMEDOUT) {
        pthread_mutex_unlock(&l->mu);
        l->next--; /* the batch is still owed */
        return tc_set_error(TC_ERR_STATE, "td_loader_next: timed out after %g s waiting for batch %lld", l->o.timeout,
                            (long long)b);
      }
    } else {
      pthread_cond_wait(&l->ready_cv, &l->mu);
    }
  }
  tc_status st = s->status;
  char message[512];
  memcpy(message, s->message, sizeof message);
  *batch = s->data;
  td_sample_init(&s->data);
  s->batch = -1; /* free: a worker may fill it with batch b + cap */
  s->done = false;
  pthread_cond_broadcast(&l->work_cv);
  pthread_mutex_unlock(&l->mu);
  return st ? tc_set_error(st, "%s", message) : TC_OK;
}

void td_loader_destroy(td_loader *l) {
  if (!l) return;
  stop_workers(l);
  reset_iterable(l);
  tc_free(l->produced);
  tc_free(l->consumed);
  tc_free(l->exhausted);
  tc_free(l->inited);
  tc_generator_destroy(l->gen0);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->work_cv);
  pthread_cond_destroy(&l->ready_cv);
  td_sampler_destroy(l->sampler);
  td_sampler_destroy(l->batch_sampler);
  td_release(l->ds);
  tc_free(l->order);
  tc_free(l->offsets);
  tc_free(l->ring);
  tc_free(l->threads);
  tc_free(l);
}
