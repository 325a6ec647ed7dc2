/* datasets/src/samplers.c — the samplers of torch.utils.data: each yields one epoch's indices.
 *
 * Sequences follow PyTorch's code for the same generator state:
 *   RandomSampler       without replacement: torch.randperm(n) per full pass of n, then the head
 *                       of one more for num_samples % n; with: torch.randint(0, n, (32,)) chunks,
 *                       then one of num_samples % 32
 *   SubsetRandomSampler indices[torch.randperm(len(indices))]
 *   DistributedSampler  randperm(n) under a generator seeded seed + epoch (or 0..n-1), padded by
 *                       repeating its head (or cut with drop_last), then every num_replicas-th
 *                       from rank
 *   WeightedRandom      torch.multinomial semantics (with replacement: independent draws from the
 *                       normalised weights; without: weighted sampling without repeats), from the
 *                       generator's 53-bit uniforms: the same distribution, not torch's bits
 */
#include <math.h>
#include <string.h>
#include "datasets_internal.h"

typedef enum { S_SEQ, S_RANDOM, S_SUBSET, S_WEIGHTED, S_DIST, S_BATCH } kind;

struct td_sampler {
  kind k;
  int64_t n, num_samples;
  bool replacement, shuffle, drop_last;
  tc_generator *gen;         /* borrowed */
  int64_t *idx;              /* SubsetRandom: the subset */
  double *cum;               /* Weighted: normalised cumulative weights (with replacement) or weights */
  int64_t replicas, rank, epoch;
  uint64_t seed;
  td_sampler *inner;         /* Batch */
  int64_t batch;
};

static td_sampler *new_sampler(kind k, int64_t n) {
  td_sampler *s = tc_calloc(sizeof *s);
  if (s) {
    s->k = k;
    s->n = n;
    s->num_samples = n;
  }
  return s;
}

void td_sampler_destroy(td_sampler *s) {
  if (!s) return;
  tc_free(s->idx);
  tc_free(s->cum);
  td_sampler_destroy(s->inner);
  tc_free(s);
}

static tc_status need(const char *fn, bool ok, const char *what) {
  return ok ? TC_OK : tc_set_error(TC_ERR_ARG, "%s: %s", fn, what);
}

td_sampler *td_sequential_sampler(int64_t n) {
  if (need("td_sequential_sampler", n >= 0, "n must be >= 0")) return NULL;
  return new_sampler(S_SEQ, n);
}

td_sampler *td_random_sampler(int64_t n, bool replacement, int64_t num_samples, tc_generator *gen) {
  const char *fn = "td_random_sampler";
  if (need(fn, n >= 0, "n must be >= 0") || need(fn, gen != NULL, "a generator is required (got NULL)")) return NULL;
  td_sampler *s = new_sampler(S_RANDOM, n);
  if (!s) return NULL;
  s->replacement = replacement;
  s->num_samples = num_samples > 0 ? num_samples : n;
  s->gen = gen;
  return s;
}

td_sampler *td_subset_random_sampler(const int64_t *indices, int64_t n, tc_generator *gen) {
  const char *fn = "td_subset_random_sampler";
  if (need(fn, n >= 0 && (n == 0 || indices), "bad index list") || need(fn, gen != NULL, "a generator is required"))
    return NULL;
  td_sampler *s = new_sampler(S_SUBSET, n);
  if (!s || (n && !(s->idx = tc_malloc(sizeof(int64_t) * (size_t)n)))) {
    td_sampler_destroy(s);
    return NULL;
  }
  if (n) memcpy(s->idx, indices, sizeof(int64_t) * (size_t)n);
  s->gen = gen;
  return s;
}

td_sampler *td_weighted_random_sampler(const double *weights, int64_t n, int64_t num_samples, bool replacement,
                                       tc_generator *gen) {
  const char *fn = "td_weighted_random_sampler";
  if (need(fn, n > 0 && weights, "needs n > 0 weights") || need(fn, num_samples > 0, "num_samples must be > 0") ||
      need(fn, gen != NULL, "a generator is required"))
    return NULL;
  double total = 0;
  int64_t positive = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!(weights[i] >= 0) || isinf(weights[i])) {
      tc_set_error(TC_ERR_ARG, "%s: weight %lld is %g (weights must be finite and >= 0)", fn, (long long)i, weights[i]);
      return NULL;
    }
    total += weights[i];
    positive += weights[i] > 0;
  }
  if (!(total > 0)) {
    tc_set_error(TC_ERR_ARG, "%s: the weights sum to 0", fn);
    return NULL;
  }
  if (!replacement && num_samples > positive) {
    tc_set_error(TC_ERR_ARG, "%s: cannot draw %lld samples without replacement from %lld non-zero weights", fn,
                 (long long)num_samples, (long long)positive);
    return NULL;
  }
  td_sampler *s = new_sampler(S_WEIGHTED, n);
  if (!s || !(s->cum = tc_malloc(sizeof(double) * (size_t)n))) {
    td_sampler_destroy(s);
    return NULL;
  }
  double c = 0;
  for (int64_t i = 0; i < n; i++) {
    c += weights[i] / total;
    s->cum[i] = replacement ? c : weights[i];
  }
  if (replacement) /* the last positive weight closes the distribution (rounding never picks a zero) */
    for (int64_t i = n - 1; i >= 0; i--)
      if (weights[i] > 0) {
        for (int64_t k = i; k < n; k++) s->cum[k] = 1.0;
        break;
      }
  s->num_samples = num_samples;
  s->replacement = replacement;
  s->gen = gen;
  return s;
}

td_sampler *td_distributed_sampler(int64_t n, int64_t num_replicas, int64_t rank, bool shuffle, uint64_t seed,
                                   bool drop_last) {
  const char *fn = "td_distributed_sampler";
  if (need(fn, n >= 0, "n must be >= 0") || need(fn, num_replicas >= 1, "num_replicas must be >= 1")) return NULL;
  if (rank < 0 || rank >= num_replicas) {
    tc_set_error(TC_ERR_ARG, "%s: invalid rank %lld, rank should be in the interval [0, %lld]", fn, (long long)rank,
                 (long long)(num_replicas - 1));
    return NULL;
  }
  td_sampler *s = new_sampler(S_DIST, n);
  if (!s) return NULL;
  s->replicas = num_replicas;
  s->rank = rank;
  s->shuffle = shuffle;
  s->seed = seed;
  s->drop_last = drop_last;
  /* as PyTorch: num_samples per replica */
  if (drop_last && n % num_replicas != 0)
    s->num_samples = (n - num_replicas + num_replicas - 1) / num_replicas; /* ceil((n - R) / R) */
  else
    s->num_samples = (n + num_replicas - 1) / num_replicas;
  if (s->num_samples < 0) s->num_samples = 0;
  return s;
}

tc_status td_distributed_set_epoch(td_sampler *s, int64_t epoch) {
  if (!s || s->k != S_DIST) return tc_set_error(TC_ERR_ARG, "td_distributed_set_epoch: not a DistributedSampler");
  s->epoch = epoch;
  return TC_OK;
}

td_sampler *td_batch_sampler(td_sampler *sampler, int64_t batch_size, bool drop_last) {
  if (!sampler || batch_size < 1) {
    td_sampler_destroy(sampler);
    tc_set_error(TC_ERR_ARG, "td_batch_sampler: batch_size should be a positive integer, got %lld",
                 (long long)batch_size);
    return NULL;
  }
  td_sampler *s = new_sampler(S_BATCH, 0);
  if (!s) {
    td_sampler_destroy(sampler);
    return NULL;
  }
  s->inner = sampler;
  s->batch = batch_size;
  s->drop_last = drop_last;
  return s;
}

int64_t td_sampler_len(const td_sampler *s) {
  if (!s) return -1;
  switch (s->k) {
    case S_BATCH: {
      int64_t m = td_sampler_len(s->inner);
      return s->drop_last ? m / s->batch : (m + s->batch - 1) / s->batch;
    }
    default: return s->num_samples;
  }
}

/* ---- one epoch's indices ------------------------------------------------------------------------------ */
static tc_status random_indices(td_sampler *s, int64_t *out) {
  int64_t n = s->n, m = s->num_samples, w = 0;
  if (n == 0) return m == 0 ? TC_OK : tc_set_error(TC_ERR_ARG, "RandomSampler: no samples to draw from");
  if (s->replacement) {
    for (int64_t left = m; left > 0;) {
      int64_t chunk = left >= 32 ? 32 : left;
      tc_tensor *r = tc_randint(0, n, &chunk, 1, TC_OPTS(.generator = s->gen));
      if (!r) return tc_last_status();
      memcpy(out + w, tc_tensor_data(r), sizeof(int64_t) * (size_t)chunk);
      tc_tensor_release(r);
      w += chunk;
      left -= chunk;
    }
    return TC_OK;
  }
  for (int64_t pass = 0; pass < m / n; pass++) {
    int64_t *p = td__randperm(n, s->gen);
    if (!p) return tc_last_status();
    memcpy(out + w, p, sizeof(int64_t) * (size_t)n);
    w += n;
    tc_free(p);
  }
  /* PyTorch always draws the tail's permutation, also when num_samples % n == 0 */
  int64_t *p = td__randperm(n, s->gen);
  if (!p) return tc_last_status();
  if (m % n) memcpy(out + w, p, sizeof(int64_t) * (size_t)(m % n));
  tc_free(p);
  return TC_OK;
}

static tc_status weighted_indices(td_sampler *s, int64_t *out) {
  int64_t n = s->n;
  if (s->replacement) {
    for (int64_t k = 0; k < s->num_samples; k++) {
      double u = tc_generator_uniform(s->gen);
      int64_t lo = 0, hi = n - 1; /* the first cumulative weight above u */
      while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (s->cum[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      out[k] = lo;
    }
    return TC_OK;
  }
  /* without replacement: draw among the remaining weights, removing each pick */
  double *w = tc_malloc(sizeof(double) * (size_t)n);
  if (!w) return tc_last_status();
  memcpy(w, s->cum, sizeof(double) * (size_t)n);
  double total = 0;
  for (int64_t i = 0; i < n; i++) total += w[i];
  for (int64_t k = 0; k < s->num_samples; k++) {
    double u = tc_generator_uniform(s->gen) * total, c = 0;
    int64_t pick = -1;
    for (int64_t i = 0; i < n; i++) {
      if (w[i] <= 0) continue;
      pick = i;
      c += w[i];
      if (u < c) break;
    }
    out[k] = pick;
    total -= w[pick];
    w[pick] = 0;
  }
  tc_free(w);
  return TC_OK;
}

static tc_status distributed_indices(td_sampler *s, int64_t *out) {
  int64_t n = s->n, total = s->num_samples * s->replicas;
  int64_t *all = tc_malloc(sizeof(int64_t) * (size_t)(total > n ? total : n ? n : 1));
  if (!all) return tc_last_status();
  if (s->shuffle) {
    tc_generator *g = tc_generator_create(s->seed + (uint64_t)s->epoch);
    int64_t *p = g ? td__randperm(n, g) : NULL;
    tc_generator_destroy(g);
    if (!p) {
      tc_free(all);
      return tc_last_status();
    }
    memcpy(all, p, sizeof(int64_t) * (size_t)n);
    tc_free(p);
  } else {
    for (int64_t i = 0; i < n; i++) all[i] = i;
  }
  for (int64_t i = n; i < total && n > 0; i++) all[i] = all[(i - n) % n]; /* pad by repeating the head */
  for (int64_t k = 0; k < s->num_samples; k++) out[k] = all[s->rank + k * s->replicas];
  tc_free(all);
  return TC_OK;
}

tc_status td_sampler_indices(td_sampler *s, int64_t **indices, int64_t *n) {
  if (indices) *indices = NULL;
  if (n) *n = 0;
  if (!s || !indices || !n) return tc_set_error(TC_ERR_ARG, "td_sampler_indices: NULL argument");
  if (s->k == S_BATCH) return tc_set_error(TC_ERR_ARG, "td_sampler_indices: use td_batch_sampler_batches");
  int64_t m = s->num_samples;
  int64_t *out = tc_malloc(sizeof(int64_t) * (size_t)(m ? m : 1));
  if (!out) return tc_last_status();
  tc_status st = TC_OK;
  switch (s->k) {
    case S_SEQ:
      for (int64_t i = 0; i < m; i++) out[i] = i;
      break;
    case S_RANDOM: st = random_indices(s, out); break;
    case S_SUBSET: {
      int64_t *p = td__randperm(s->n, s->gen);
      if (!p) {
        st = tc_last_status();
        break;
      }
      for (int64_t i = 0; i < s->n; i++) out[i] = s->idx[p[i]];
      tc_free(p);
      break;
    }
    case S_WEIGHTED: st = weighted_indices(s, out); break;
    case S_DIST: st = distributed_indices(s, out); break;
    default: break;
  }
  if (st) {
    tc_free(out);
    return st;
  }
  *indices = out;
  *n = m;
  return TC_OK;
}

tc_status td_batch_sampler_batches(td_sampler *s, int64_t **indices, int64_t **offsets, int64_t *nb) {
  if (indices) *indices = NULL;
  if (offsets) *offsets = NULL;
  if (nb) *nb = 0;
  if (!s || s->k != S_BATCH || !indices || !offsets || !nb)
    return tc_set_error(TC_ERR_ARG, "td_batch_sampler_batches: needs a BatchSampler and outputs");
  int64_t *idx, m;
  tc_status st = td_sampler_indices(s->inner, &idx, &m);
  if (st) return st;
  int64_t batches = s->drop_last ? m / s->batch : (m + s->batch - 1) / s->batch;
  int64_t *off = tc_malloc(sizeof(int64_t) * (size_t)(batches + 1));
  if (!off) {
    tc_free(idx);
    return tc_last_status();
  }
  for (int64_t b = 0; b <= batches; b++) off[b] = b * s->batch < m ? b * s->batch : m;
  if (s->drop_last) off[batches] = batches * s->batch;
  *indices = idx;
  *offsets = off;
  *nb = batches;
  return TC_OK;
}
