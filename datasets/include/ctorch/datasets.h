/* ctorch/datasets.h — libctorch_datasets (td_): samples, map-style datasets (TensorDataset,
 * ConcatDataset, Subset, random_split, a transform wrapper) and samplers (Sequential, Random,
 * SubsetRandom, WeightedRandom, Batch, Distributed), as torch.utils.data. The DataLoader that
 * batches them builds on this header.
 *
 * A sample is a small set of named fields ("input", "target", ...), each a tr_value (a tensor, an
 * integer, a float or a string). A dataset is a vtable over shared, immutable state: `len` and
 * `get(i)`; get may be called from several threads at once and receives the generator that random
 * transforms of that sample draw from. Datasets are reference counted: a Subset or a ConcatDataset
 * retains what it wraps, so td_release on the caller's reference is always right.
 *
 *   tc_tensor *x = ..., *y = ...;                      // (N, 784) images, (N) labels
 *   td_dataset *ds = td_tensor_dataset(2, (const tc_tensor *[]){x, y}, (const char *[]){"input", "target"});
 *   td_dataset *parts[2];
 *   td_random_split(ds, 2, (const double[]){0.8, 0.2}, gen, parts);   // 80/20, as random_split
 *   td_sample s;
 *   td_get(parts[0], 0, &s, NULL);
 *   const tr_value *img = td_sample_field(&s, "input");
 *   td_sample_clear(&s);
 *   td_release(parts[0]); td_release(parts[1]); td_release(ds);
 *
 * Samplers produce the indices of one epoch (td_sampler_indices); the random ones draw from the
 * generator given at creation (reseeded per epoch by the caller when wanted) and reproduce
 * PyTorch's sequences for the same seed: RandomSampler is torch.randperm / torch.randint, as
 * torch.utils.data.RandomSampler with a generator.
 */
#ifndef CTORCH_DATASETS_H
#define CTORCH_DATASETS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/transforms.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- samples ------------------------------------------------------------------------------------- */
#define TD_MAX_FIELDS 8
#define TD_FIELD_NAME 32

typedef struct td_sample {
  int n;
  char names[TD_MAX_FIELDS][TD_FIELD_NAME];
  tr_value values[TD_MAX_FIELDS];
} td_sample;

/* An empty sample (also what every failed call leaves). */
TC_API void td_sample_init(td_sample *s);
/* Sets field `name` to v, taking it over (replacing an earlier value of that name). On failure
 * (too many fields, a name too long) v is cleared. */
TC_API tc_status td_sample_set(td_sample *s, const char *name, tr_value v);
/* The field, or NULL when the sample has none of that name. */
TC_API const tr_value *td_sample_field(const td_sample *s, const char *name);
TC_API void td_sample_clear(td_sample *s);

/* ---- datasets -------------------------------------------------------------------------------------- */
typedef struct td_dataset td_dataset;

typedef struct td_dataset_vtable {
  const char *name;
  int64_t (*len)(void *state);
  /* Fills out (initialised, empty) with sample i, 0 <= i < len. Thread-safe over shared state. */
  tc_status (*get)(void *state, int64_t i, td_sample *out, tc_generator *gen);
  void (*destroy)(void *state); /* may be NULL */
} td_dataset_vtable;

/* A dataset of your own (vt must outlive it; state is owned, also when this call fails). */
TC_API td_dataset *td_dataset_create(const td_dataset_vtable *vt, void *state);
TC_API void *td_dataset_state(const td_dataset *ds);
TC_API const char *td_dataset_name(const td_dataset *ds);
TC_API td_dataset *td_retain(td_dataset *ds);
TC_API void td_release(td_dataset *ds);

TC_API int64_t td_len(const td_dataset *ds); /* -1 with an error for NULL or an iterable dataset */
/* Sample i (negative i counts from the end, as Python). out is empty on failure. */
TC_API tc_status td_get(td_dataset *ds, int64_t i, td_sample *out, tc_generator *gen);

/* ---- iterable-style datasets (torch.utils.data.IterableDataset) ----------------------------------
 * A stream of samples without indices. A DataLoader opens one iterator per worker with that
 * worker's info, so the dataset can shard itself (worker `id` of `num_workers` takes every
 * num_workers-th record, say); with no workers one iterator sees id 0 of 1. */
typedef struct td_worker_info {
  int id, num_workers;
  uint64_t seed; /* derived from the loader's seed, the epoch and the worker id */
} td_worker_info;

typedef struct td_iterable_vtable {
  const char *name;
  /* A new iterator over this worker's share (NULL with an error set). */
  void *(*open)(void *state, const td_worker_info *worker);
  /* The next sample into out (initialised, empty), or *end = true when the share is exhausted. */
  tc_status (*next)(void *iter, td_sample *out, bool *end, tc_generator *gen);
  void (*close)(void *iter);
  void (*destroy)(void *state); /* may be NULL */
} td_iterable_vtable;

TC_API td_dataset *td_iterable_dataset_create(const td_iterable_vtable *vt, void *state);
TC_API bool td_is_iterable(const td_dataset *ds);

/* TensorDataset: n tensors sharing their first dim; sample i has field names[k] = tensors[k][i]
 * (a view). The tensors are retained. */
TC_API td_dataset *td_tensor_dataset(int n, const tc_tensor *const *tensors, const char *const *names);
/* ConcatDataset: the datasets one after another (retained). */
TC_API td_dataset *td_concat(int64_t n, td_dataset *const *datasets);
/* Subset: ds[indices[k]] (indices copied; ds retained). Indices are checked against len(ds). */
TC_API td_dataset *td_subset(td_dataset *ds, const int64_t *indices, int64_t n);
/* random_split: n lengths (sizes that sum to len(ds)) or fractions (summing to 1, as PyTorch:
 * floor, then the remainder one by one round-robin) over torch.randperm(len, generator). Fills
 * out[n] with new Subsets. */
TC_API tc_status td_random_split(td_dataset *ds, int64_t n, const double *lengths, tc_generator *gen,
                                 td_dataset **out);
/* Applies transform to field `field` and target_transform to field `target_field` of each sample
 * (either may be NULL; the wrapper owns the transforms). */
TC_API td_dataset *td_transformed(td_dataset *ds, const char *field, tr_transform *transform, const char *target_field,
                                  tr_transform *target_transform);
/* Applies one transform to several fields of each sample together, as the `transforms` argument of
 * torchvision's detection and segmentation datasets: the fields' values (say "image", "boxes" as
 * TR_BOXES, "mask" as TR_MASK) go through as one TR_TUPLE, in the order given, so a geometric
 * transform moves them by the same parameters; each result goes back to its field. n is 1 to
 * TD_MAX_FIELDS; the wrapper owns the transform. */
TC_API td_dataset *td_transformed_joint(td_dataset *ds, int64_t n, const char *const *fields, tr_transform *transform);

/* ---- samplers ---------------------------------------------------------------------------------------- */
typedef struct td_sampler td_sampler;

/* The indices of the next epoch: a new tc_malloc'd array of *n (free with tc_free). */
TC_API tc_status td_sampler_indices(td_sampler *s, int64_t **indices, int64_t *n);
/* How many indices an epoch has. */
TC_API int64_t td_sampler_len(const td_sampler *s);
TC_API void td_sampler_destroy(td_sampler *s);

/* 0 .. n-1 */
TC_API td_sampler *td_sequential_sampler(int64_t n);
/* torch.utils.data.RandomSampler(range(n), replacement, num_samples (<= 0: n), generator): without
 * replacement, torch.randperm(n) per full pass; with, torch.randint(n) in chunks of 32. The
 * generator is borrowed (it must outlive the sampler) and must not be NULL. */
TC_API td_sampler *td_random_sampler(int64_t n, bool replacement, int64_t num_samples, tc_generator *gen);
/* SubsetRandomSampler: indices[randperm(n)] */
TC_API td_sampler *td_subset_random_sampler(const int64_t *indices, int64_t n, tc_generator *gen);
/* WeightedRandomSampler: num_samples draws of torch.multinomial(weights, num_samples, replacement). */
TC_API td_sampler *td_weighted_random_sampler(const double *weights, int64_t n, int64_t num_samples, bool replacement,
                                              tc_generator *gen);
/* DistributedSampler(num_replicas, rank, shuffle, seed, drop_last) over n samples; epoch via
 * td_distributed_set_epoch (shuffling uses seed + epoch, as PyTorch). */
TC_API td_sampler *td_distributed_sampler(int64_t n, int64_t num_replicas, int64_t rank, bool shuffle, uint64_t seed,
                                          bool drop_last);
TC_API tc_status td_distributed_set_epoch(td_sampler *s, int64_t epoch);

/* BatchSampler over a sampler (owned): consecutive groups of batch_size, the last one short unless
 * drop_last. td_batch_sampler_batches fills a tc_malloc'd array of offsets (nb + 1 entries into
 * the returned indices) for the next epoch. */
TC_API td_sampler *td_batch_sampler(td_sampler *sampler, int64_t batch_size, bool drop_last);
TC_API tc_status td_batch_sampler_batches(td_sampler *s, int64_t **indices, int64_t **offsets, int64_t *nb);

#ifdef __cplusplus
}
#endif
#endif
