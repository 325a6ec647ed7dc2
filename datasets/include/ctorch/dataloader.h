/* ctorch/dataloader.h — the DataLoader every domain feeds (torch.utils.data.DataLoader).
 *
 * A loader walks a dataset in batches: a sampler (or sequential order, or a shuffle seeded from
 * `seed` and the epoch) gives the sample order, samples are loaded by `num_workers` threads over
 * the shared dataset (0: on the calling thread), collated into one batch of named fields, and
 * handed out in order. Each sample's random transforms draw from a generator seeded from
 * (seed, epoch, sample index), so the batches of a run are bit-identical for any number of
 * workers.
 *
 *   td_loader_opts o = TD_LOADER_DEFAULTS;
 *   o.batch_size = 64; o.shuffle = true; o.num_workers = 2; o.seed = 0;
 *   td_loader *dl = td_loader_create(train, &o);
 *   for (int epoch = 0; epoch < 5; epoch++) {
 *     td_sample batch;
 *     bool end;
 *     while (td_loader_next(dl, &batch, &end) == TC_OK && !end) {
 *       const tc_tensor *x = td_sample_field(&batch, "input")->tensor;   // (64, ...)
 *       ...
 *       td_sample_clear(&batch);
 *     }
 *   }
 *   td_loader_destroy(dl);
 *
 * Collate (per field, over the batch's samples): tensors are stacked (TD_COLLATE_STACK), or
 * padded along dim 0 to the longest with `pad_value` plus a field "<name>_lengths" (TD_COLLATE_PAD),
 * or concatenated along dim 0 plus "<name>_offsets", each sample's start (TD_COLLATE_OFFSETS, what
 * EmbeddingBag takes); ints become an int64 vector and floats a float64 one (as default_collate);
 * strings need a collate_fn of your own.
 *
 * Errors: a failing sample makes td_loader_next return its error, naming the worker and the
 * sample index; with skip_errors the sample is left out and counted (td_loader_skipped), and a
 * batch whose samples all failed is left out altogether.
 * Destroying a loader mid-epoch stops and joins its workers.
 */
#ifndef CTORCH_DATALOADER_H
#define CTORCH_DATALOADER_H

#include "ctorch/datasets.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_loader td_loader;

typedef enum td_collate_mode { TD_COLLATE_STACK = 0, TD_COLLATE_PAD, TD_COLLATE_OFFSETS } td_collate_mode;

/* Collates n samples into batch (initialised, empty). */
typedef tc_status (*td_collate_fn)(const td_sample *samples, int64_t n, td_sample *batch, void *user);

typedef struct td_loader_opts {
  int64_t batch_size;     /* samples per batch (>= 1) */
  bool shuffle;           /* a fresh permutation per epoch, from (seed, epoch) */
  td_sampler *sampler;    /* owned by the loader; NULL: sequential or shuffled */
  int num_workers;        /* loading threads; 0 loads on the calling thread */
  td_collate_mode collate;
  double pad_value;       /* TD_COLLATE_PAD */
  td_collate_fn collate_fn; /* replaces the built-in collate when set */
  void *collate_user;
  bool drop_last;
  int prefetch_factor;    /* batches queued ahead per worker (>= 1) */
  uint64_t seed;          /* base of the shuffles and of each sample's generator */
  bool skip_errors;       /* leave failing samples out (counted) instead of failing the batch */
  bool pin_memory;        /* batch tensors in pinned host memory (when CUDA is available; else as is) */
  bool persistent_workers; /* worker_init runs once per worker for the loader's life, not per epoch
                              (the threads themselves are started per epoch: thread-locals set by
                              worker_init do not carry over) */
  double timeout;         /* seconds to wait for a batch (0: no limit): TC_ERR_STATE when exceeded */
  void (*worker_init)(int worker_id, void *user); /* called in each worker thread as it starts */
  void *worker_init_user;
  bool in_order;          /* deliver batches in sampler order (default); false: as they complete */
  td_sampler *batch_sampler; /* owned; a td_batch_sampler giving whole batches (excludes batch_size,
                                shuffle, sampler and drop_last, as PyTorch) */
  bool no_batching;       /* batch_size=None: each sample is handed out as it is, uncollated */
  tc_generator *generator; /* borrowed: when set, each epoch's base seed is one draw from it (as
                              DataLoader(generator=g)), replacing `seed` */
} td_loader_opts;

#define TD_LOADER_DEFAULTS \
  {1, false, NULL, 0, TD_COLLATE_STACK, 0.0, NULL, NULL, false, 2, 0, false, false, false, 0.0, NULL, NULL, true, NULL, false, NULL}

/* ds is retained; opts->sampler is taken over (also on failure). */
TC_API td_loader *td_loader_create(td_dataset *ds, const td_loader_opts *opts);
/* The next batch of the current epoch (starting one when none runs). At the epoch's end *end is
 * true and batch is empty; the next call starts the following epoch. */
TC_API tc_status td_loader_next(td_loader *l, td_sample *batch, bool *end);
/* Batches per epoch. */
TC_API int64_t td_loader_len(const td_loader *l);
/* The epoch the next batch belongs to (0 first). */
TC_API int64_t td_loader_epoch(const td_loader *l);
/* Where the loader stands: the epoch, the next batch of it (in-order loaders) and the epoch's base
 * seed. A new loader made with the same dataset and options and given this state continues with
 * exactly the batches the first would have produced for the rest of that epoch (shuffles and
 * per-sample generators derive from the base seed and the epoch). Later epochs match too with a
 * fixed seed; with a generator (the loader's, or a sampler's of your own) restore its state
 * yourself (tc_generator_get_state / set_state). */
typedef struct td_loader_state {
  int64_t epoch, batch;
  uint64_t seed; /* the epoch's base seed (the loader's seed, or the draw from its generator) */
  bool has_seed; /* false between epochs of a generator-seeded loader: the next epoch draws it */
} td_loader_state;
TC_API tc_status td_loader_state_get(const td_loader *l, td_loader_state *out);
/* Stops the running epoch (its undelivered batches are dropped); the next call resumes at st. */
TC_API tc_status td_loader_state_set(td_loader *l, const td_loader_state *st);
/* Samples left out so far because they failed (skip_errors). */
TC_API int64_t td_loader_skipped(const td_loader *l);
TC_API void td_loader_destroy(td_loader *l);

/* The built-in collate of n samples (mode as above), for collate functions that extend it. */
TC_API tc_status td_collate(const td_sample *samples, int64_t n, td_collate_mode mode, double pad_value,
                            td_sample *batch);

#ifdef __cplusplus
}
#endif
#endif
