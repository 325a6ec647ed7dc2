/* core/src/nn/embedding.c — F.embedding and F.embedding_bag with their own backward nodes.
 *
 * embedding: y[*i, :] = W[idx[*i], :] (a row gather). Backward ("EmbeddingBackward0") scatter-adds
 * the rows of the incoming gradient into a dense (num, dim) zero gradient, in position order;
 * positions holding padding_idx add nothing.
 *
 * embedding_bag: bags are runs of a flat index list — 1-D idx with offsets (bag b is
 * idx[offsets[b] : offsets[b+1]], the last running to the end; include_last_offset=False), or 2-D
 * (B, L) idx with one bag per row. Per bag and column:
 *   sum   sum_i w_i W[idx_i]      (w_i = per_sample_weights[i], or 1)
 *   mean  sum_i W[idx_i] / count  (count = entries that are not padding_idx)
 *   max   max_i W[idx_i]          (the first maximum wins, as PyTorch's CPU kernel)
 * Entries equal to padding_idx are left out of the bag (and of mean's count); a bag left empty
 * gives zeros. Backward ("EmbeddingBagBackward0"): sum/mean add g[b] (times w_i, or / count) to
 * the rows of the bag's entries; max routes g[b, d] to the row that won column d; the gradient of
 * per_sample_weights is dot(g[b], W[idx_i]) (0 for padding entries).
 *
 * Indices are int64 or int32 and must lie in [0, num). Sums accumulate in the weight's dtype in
 * index order (float16/bfloat16 in float32, rounded once). Scatter-adds split the work by columns
 * over the pool, so results do not depend on the thread count.
 */
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_functional.h"
#include "embedding_internal.h"

/* ---- shared helpers ---------------------------------------------------------------------------------- */
static bool is_index_dtype(tc_dtype d) { return d == TC_I64 || d == TC_I32; }

/* idx as a contiguous int64 tensor, every value checked against [0, num). */
tc_tensor *tc__emb_indices64(const char *fn, const tc_tensor *idx, int64_t num, const tc_tensor *weight) {
  tc_tensor *t = tc__to_dtype_contig(idx, TC_I64);
  if (!t) return NULL;
  const int64_t *v = (const int64_t *)(const void *)tc__ptr(t);
  int64_t n = tc__numel(t->sizes, t->ndim);
  for (int64_t i = 0; i < n; i++)
    if (v[i] < 0 || v[i] >= num) {
      tc__error(TC_ERR_ARG, "%s: index %lld at flat position %lld is out of range for weight %s (0 <= index < %lld)",
                fn, (long long)v[i], (long long)i, tc__tshape(weight), (long long)num);
      tc_tensor_release(t);
      return NULL;
    }
  return t;
}

/* A 2-D weight with a floating dtype (embedding also gathers other dtypes), padding_idx in range. */
static tc_status check_weight(const char *fn, const tc_tensor *w, int64_t padding_idx, bool need_float) {
  if (w->ndim != 2)
    return tc__error(TC_ERR_SHAPE, "%s: weight must be 2-D (num_embeddings, embedding_dim), got %s", fn, tc__tshape(w));
  if (need_float && !tc_dtype_is_floating(w->dtype))
    return tc__error(TC_ERR_DTYPE, "%s: weight must be floating-point, got %s", fn, tc_dtype_name(w->dtype));
  if (padding_idx >= w->sizes[0])
    return tc__error(TC_ERR_ARG, "%s: padding_idx %lld must be within num_embeddings %lld", fn, (long long)padding_idx,
                     (long long)w->sizes[0]);
  return TC_OK;
}

/* A 2-D matrix in dtype dt with unit-stride rows: t itself when it already is, else a contiguous
 * copy owned by *tmp. */
static const tc_tensor *rows_of(const tc_tensor *t, tc_dtype dt, tc_tensor **tmp) {
  *tmp = NULL;
  if (t->dtype == dt && (t->strides[1] == 1 || t->sizes[1] <= 1)) return t;
  *tmp = tc__to_dtype_contig(t, dt);
  return *tmp;
}

/* element size-generic pointer to row r of a 2-D matrix with unit-stride rows */
static inline char *row_ptr(const tc_tensor *m, int64_t r) {
  return tc__ptr(m) + (size_t)(r * m->strides[0]) * tc_dtype_size(m->dtype);
}

/* ---- embedding ------------------------------------------------------------------------------------------- */
typedef struct {
  int64_t padding_idx, num, dim;
  tc_dtype wdt;
  tc_device dev;
} emb_ctx;

typedef struct {
  const int64_t *idx;
  const tc_tensor *w;
  char *out;
  size_t row_bytes;
  int64_t dim;
} gather_t;

static void gather_task(int64_t i0, int64_t i1, void *vctx) {
  const gather_t *c = vctx;
  size_t es = tc_dtype_size(c->w->dtype);
  for (int64_t i = i0; i < i1; i++) {
    const char *src = row_ptr(c->w, c->idx[i]);
    char *dst = c->out + (size_t)i * c->row_bytes;
    if (c->w->strides[1] == 1 || c->dim <= 1) {
      memcpy(dst, src, c->row_bytes);
    } else {
      for (int64_t d = 0; d < c->dim; d++) memcpy(dst + (size_t)d * es, src + (size_t)(d * c->w->strides[1]) * es, es);
    }
  }
}

/* Scatter-add of n rows into a dense (num, dim) gradient: rows[i] goes to dst row idx[i] unless it
 * is the padding row; rows[i] is scaled by scale[i] when scale is given. Split by columns. */
typedef struct {
  const int64_t *idx;
  const char *rows;  /* (n, dim) contiguous, compute dtype */
  const char *scale; /* (n) or NULL */
  char *dst;         /* (num, dim) contiguous */
  int64_t n, dim, padding_idx;
  bool f64;
} scatter_t;

static void scatter_task(int64_t c0, int64_t c1, void *vctx) {
  const scatter_t *c = vctx;
  for (int64_t i = 0; i < c->n; i++) {
    int64_t k = c->idx[i];
    if (k == c->padding_idx) continue;
    if (c->f64) {
      const double *restrict r = (const double *)(const void *)c->rows + i * c->dim;
      double *restrict o = (double *)(void *)c->dst + k * c->dim;
      double s = c->scale ? ((const double *)(const void *)c->scale)[i] : 1.0;
      if (c->scale)
        for (int64_t d = c0; d < c1; d++) o[d] += s * r[d];
      else
        for (int64_t d = c0; d < c1; d++) o[d] += r[d];
    } else {
      const float *restrict r = (const float *)(const void *)c->rows + i * c->dim;
      float *restrict o = (float *)(void *)c->dst + k * c->dim;
      float s = c->scale ? ((const float *)(const void *)c->scale)[i] : 1.0f;
      if (c->scale)
        for (int64_t d = c0; d < c1; d++) o[d] += s * r[d];
      else
        for (int64_t d = c0; d < c1; d++) o[d] += r[d];
    }
  }
}

static void scatter_run(scatter_t *s) {
  int64_t work = s->n * s->dim;
  int64_t grain = work < (1 << 16) ? s->dim : 64; /* columns per task */
  if (s->dim > 0) tc_parallel_for(s->dim, grain < 1 ? 1 : grain, scatter_task, s);
}

/* zeros (num, dim) in the compute dtype */
static tc_tensor *zeros2(int64_t num, int64_t dim, tc_dtype cdt, tc_device dev) {
  int64_t sz[2] = {num, dim};
  tc_tensor *t = tc__empty(sz, 2, cdt, dev);
  if (t && num * dim > 0) memset(tc__ptr(t), 0, (size_t)(num * dim) * tc_dtype_size(cdt));
  return t;
}

static tc_tensor *to_dtype_owned(tc_tensor *t, tc_dtype dt) {
  if (!t || t->dtype == dt) return t;
  tc_tensor *r = tc__to_dtype_contig(t, dt);
  tc_tensor_release(t);
  return r;
}

static tc_status embedding_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const emb_ctx *c = tc__node_ctx(n);
  const tc_tensor *idx = tc__node_saved(n, 0);
  if (!idx) return tc_last_status();
  tc_dtype cdt = tc__compute_dtype(c->wdt);
  tc_tensor *g = tc__to_dtype_contig(go[0], cdt); /* (*idx, dim) */
  tc_tensor *gw = g ? zeros2(c->num, c->dim, cdt, c->dev) : NULL;
  if (gw) {
    scatter_t s = {(const int64_t *)(const void *)tc__ptr(idx),
                   tc__ptr(g),
                   NULL,
                   tc__ptr(gw),
                   tc__numel(idx->sizes, idx->ndim),
                   c->dim,
                   c->padding_idx,
                   cdt == TC_F64};
    scatter_run(&s);
    gw = to_dtype_owned(gw, c->wdt);
  }
  tc_tensor_release(g);
  if (!gw) return tc_last_status();
  gi[0] = gw;
  return TC_OK;
}

tc_tensor *tc_embedding(const tc_tensor *idx, const tc_tensor *weight, int64_t padding_idx) {
  const char *fn = "tc_embedding";
  TC__NONNULL_T(idx, fn);
  TC__NONNULL_T(weight, fn);
  if (tc__check_same_device(fn, idx, weight)) return NULL;
  if (!is_index_dtype(idx->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: indices must be int64 or int32, got %s", fn, tc_dtype_name(idx->dtype));
    return NULL;
  }
  if (check_weight(fn, weight, padding_idx, false)) return NULL;
  if (idx->ndim + 1 > TC_MAX_DIMS) {
    tc__error(TC_ERR_SHAPE, "%s: indices %s have too many dims for a (*, dim) result", fn, tc__tshape(idx));
    return NULL;
  }
  if (!tc__is_cpu(idx)) return tc__embedding_device(fn, idx, weight, padding_idx);
  int64_t num = weight->sizes[0], dim = weight->sizes[1];
  tc_tensor *ix = tc__emb_indices64(fn, idx, num, weight);
  if (!ix) return NULL;
  int64_t shape[TC_MAX_DIMS];
  memcpy(shape, idx->sizes, sizeof(int64_t) * (size_t)idx->ndim);
  shape[idx->ndim] = dim;
  tc_tensor *out = tc__empty(shape, idx->ndim + 1, weight->dtype, weight->storage->device);
  if (out) {
    int64_t n = tc__numel(idx->sizes, idx->ndim);
    gather_t g = {(const int64_t *)(const void *)tc__ptr(ix), weight, tc__ptr(out),
                  (size_t)dim * tc_dtype_size(weight->dtype), dim};
    if (n > 0 && dim > 0) {
      int64_t grain = (1 << 15) / (dim > 0 ? dim : 1);
      tc_parallel_for(n, grain < 1 ? 1 : grain, gather_task, &g);
    }
    emb_ctx c = {padding_idx < 0 ? -1 : padding_idx, num, dim, weight->dtype, weight->storage->device};
    const tc_tensor *save = ix;
    out = tc__record(out, "EmbeddingBackward0", embedding_backward, 1, &weight, 1, &save, &c, sizeof c);
  }
  tc_tensor_release(ix);
  return out;
}

/* ---- embedding_bag ------------------------------------------------------------------------------------------ */
typedef struct {
  tc_bag_mode mode;
  int64_t padding_idx, num, dim, nbags;
  bool has_psw;
  tc_dtype wdt;
  tc_device dev;
} bag_ctx;

typedef struct {
  const bag_ctx *c;
  const int64_t *idx, *starts;
  const tc_tensor *w; /* compute dtype, unit-stride rows */
  const char *psw;    /* (n) compute dtype or NULL */
  char *out;          /* (B, dim) compute dtype */
  int64_t *maxi;      /* (B, dim) or NULL */
} bag_fwd_t;

#define BAG_FWD(T)                                                       \
  do {                                                                   \
    T *restrict o = (T *)(void *)f->out + b * dim;                       \
    const T *ps = (const T *)(const void *)f->psw;                       \
    for (int64_t d = 0; d < dim; d++) o[d] = 0;                          \
    if (c->mode == TC_BAG_MAX) {                                         \
      int64_t *mi = f->maxi + b * dim;                                   \
      for (int64_t d = 0; d < dim; d++) mi[d] = -1;                      \
      bool first = true;                                                 \
      for (int64_t i = f->starts[b]; i < f->starts[b + 1]; i++) {        \
        int64_t k = f->idx[i];                                           \
        if (k == c->padding_idx) continue;                               \
        const T *r = (const T *)(const void *)row_ptr(f->w, k);          \
        for (int64_t d = 0; d < dim; d++)                                \
          if (first || r[d] > o[d]) {                                    \
            o[d] = r[d];                                                 \
            mi[d] = k;                                                   \
          }                                                              \
        first = false;                                                   \
      }                                                                  \
    } else {                                                             \
      int64_t cnt = 0;                                                   \
      for (int64_t i = f->starts[b]; i < f->starts[b + 1]; i++) {        \
        int64_t k = f->idx[i];                                           \
        if (k == c->padding_idx) continue;                               \
        const T *restrict r = (const T *)(const void *)row_ptr(f->w, k); \
        cnt++;                                                           \
        if (ps) {                                                        \
          T s = ps[i];                                                   \
          for (int64_t d = 0; d < dim; d++) o[d] += r[d] * s;            \
        } else {                                                         \
          for (int64_t d = 0; d < dim; d++) o[d] += r[d];                \
        }                                                                \
      }                                                                  \
      if (c->mode == TC_BAG_MEAN && cnt > 0) {                           \
        T q = (T)cnt;                                                    \
        for (int64_t d = 0; d < dim; d++) o[d] /= q;                     \
      }                                                                  \
    }                                                                    \
  } while (0)

static void bag_fwd_task(int64_t b0, int64_t b1, void *vctx) {
  const bag_fwd_t *f = vctx;
  const bag_ctx *c = f->c;
  int64_t dim = c->dim;
  for (int64_t b = b0; b < b1; b++) {
    if (f->w->dtype == TC_F64)
      BAG_FWD(double);
    else
      BAG_FWD(float);
  }
}

/* per-bag count of non-padding entries */
static int64_t bag_count(const int64_t *idx, const int64_t *starts, int64_t b, int64_t pad) {
  int64_t cnt = 0;
  for (int64_t i = starts[b]; i < starts[b + 1]; i++) cnt += idx[i] != pad;
  return cnt;
}

static tc_status bag_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const bag_ctx *c = tc__node_ctx(n);
  int si = 0;
  const tc_tensor *idx = tc__node_saved(n, si++), *starts_t = tc__node_saved(n, si++);
  const tc_tensor *maxi_t = c->mode == TC_BAG_MAX ? tc__node_saved(n, si++) : NULL;
  const tc_tensor *psw = c->has_psw ? tc__node_saved(n, si++) : NULL;
  const tc_tensor *w = c->has_psw ? tc__node_saved(n, si++) : NULL;
  if (!idx || !starts_t || (c->mode == TC_BAG_MAX && !maxi_t) || (c->has_psw && (!psw || !w))) return tc_last_status();
  bool need_w = n->next[0].node, need_psw = c->has_psw && n->next[1].node;
  tc_dtype cdt = tc__compute_dtype(c->wdt);
  bool f64 = cdt == TC_F64;
  const int64_t *ix = (const int64_t *)(const void *)tc__ptr(idx);
  const int64_t *st = (const int64_t *)(const void *)tc__ptr(starts_t);
  int64_t nidx = tc__numel(idx->sizes, idx->ndim), B = c->nbags, dim = c->dim;
  tc_tensor *g = tc__to_dtype_contig(go[0], cdt); /* (B, dim) */
  tc_tensor *gw = NULL, *gp = NULL, *rows = NULL, *scale = NULL, *pc = NULL;
  tc_status s = g ? TC_OK : tc_last_status();
  if (!s && need_w) {
    if (!(gw = zeros2(c->num, dim, cdt, c->dev))) s = tc_last_status();
    if (!s && c->mode == TC_BAG_MAX) {
      /* each (b, d) sends g[b, d] to the winning row: one column at a time, rows in bag order */
      const int64_t *mi = (const int64_t *)(const void *)tc__ptr(maxi_t);
      for (int64_t b = 0; b < B; b++)
        for (int64_t d = 0; d < dim; d++) {
          int64_t k = mi[b * dim + d];
          if (k < 0) continue;
          if (f64)
            ((double *)(void *)tc__ptr(gw))[k * dim + d] += ((const double *)(const void *)tc__ptr(g))[b * dim + d];
          else
            ((float *)(void *)tc__ptr(gw))[k * dim + d] += ((const float *)(const void *)tc__ptr(g))[b * dim + d];
        }
    } else if (!s) {
      /* per entry: the bag's gradient row, scaled by w_i and/or 1/count */
      int64_t sz2[2] = {nidx, dim};
      rows = tc__empty(sz2, 2, cdt, c->dev);
      scale = tc__empty(&nidx, 1, cdt, c->dev);
      if (psw && !(pc = tc__to_dtype_contig(psw, cdt))) s = tc_last_status();
      if (!s && (!rows || !scale)) s = tc_last_status();
      if (!s) {
        size_t rb = (size_t)dim * tc_dtype_size(cdt);
        for (int64_t b = 0; b < B; b++) {
          double inv = 1.0;
          if (c->mode == TC_BAG_MEAN) {
            int64_t cnt = bag_count(ix, st, b, c->padding_idx);
            inv = cnt > 0 ? 1.0 / (double)cnt : 0.0;
          }
          for (int64_t i = st[b]; i < st[b + 1]; i++) {
            memcpy(tc__ptr(rows) + (size_t)i * rb, tc__ptr(g) + (size_t)b * rb, rb);
            double sc = pc ? (f64 ? ((const double *)(const void *)tc__ptr(pc))[i]
                                  : (double)((const float *)(const void *)tc__ptr(pc))[i])
                           : inv;
            if (f64)
              ((double *)(void *)tc__ptr(scale))[i] = sc;
            else
              ((float *)(void *)tc__ptr(scale))[i] = (float)sc;
          }
        }
        bool plain = c->mode == TC_BAG_SUM && !pc;
        scatter_t sc = {ix, tc__ptr(rows), plain ? NULL : tc__ptr(scale), tc__ptr(gw), nidx, dim, c->padding_idx, f64};
        if (nidx > 0) scatter_run(&sc);
      }
    }
    if (!s && !(gw = to_dtype_owned(gw, c->wdt))) s = tc_last_status();
  }
  if (!s && need_psw) { /* d per_sample_weights[i] = dot(g[bag(i)], W[idx[i]]) */
    tc_tensor *wr = NULL;
    const tc_tensor *wm = rows_of(w, cdt, &wr);
    if (!wm) s = tc_last_status();
    if (!s && !(gp = tc__empty(psw->sizes, psw->ndim, cdt, c->dev))) s = tc_last_status();
    for (int64_t b = 0; !s && b < B; b++)
      for (int64_t i = st[b]; i < st[b + 1]; i++) {
        int64_t k = ix[i];
        double acc = 0;
        if (k != c->padding_idx) {
          if (f64) {
            const double *gr = (const double *)(const void *)tc__ptr(g) + b * dim;
            const double *wrow = (const double *)(const void *)row_ptr(wm, k);
            for (int64_t d = 0; d < dim; d++) acc += gr[d] * wrow[d];
          } else {
            const float *gr = (const float *)(const void *)tc__ptr(g) + b * dim;
            const float *wrow = (const float *)(const void *)row_ptr(wm, k);
            float a = 0;
            for (int64_t d = 0; d < dim; d++) a += gr[d] * wrow[d];
            acc = a;
          }
        }
        if (f64)
          ((double *)(void *)tc__ptr(gp))[i] = acc;
        else
          ((float *)(void *)tc__ptr(gp))[i] = (float)acc;
      }
    tc_tensor_release(wr);
    if (!s && !(gp = to_dtype_owned(gp, c->wdt))) s = tc_last_status();
  }
  tc_tensor *tmp[] = {g, rows, scale, pc};
  for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++) tc_tensor_release(tmp[i]);
  if (s) {
    tc_tensor_release(gw);
    tc_tensor_release(gp);
    return s;
  }
  gi[0] = gw;
  if (c->has_psw) gi[1] = gp;
  return TC_OK;
}

static const char *mode_name(tc_bag_mode m) { return m == TC_BAG_SUM ? "sum" : m == TC_BAG_MEAN ? "mean" : "max"; }

/* Bag boundaries (B + 1 entries) from offsets, checked as PyTorch checks them (plus monotonicity). */
tc_tensor *tc__emb_bag_starts(const char *fn, const tc_tensor *idx, const tc_tensor *offsets, int64_t *nbags) {
  int64_t n = tc__numel(idx->sizes, idx->ndim), B;
  tc_tensor *off = NULL;
  if (idx->ndim == 2) {
    B = idx->sizes[0];
  } else {
    if (!(off = tc__to_dtype_contig(offsets, TC_I64))) return NULL;
    B = offsets->sizes[0];
  }
  int64_t sz = B + 1;
  tc_tensor *t = tc__empty(&sz, 1, TC_I64, idx->storage->device);
  if (!t) {
    tc_tensor_release(off);
    return NULL;
  }
  int64_t *s = (int64_t *)(void *)tc__ptr(t);
  if (idx->ndim == 2) {
    for (int64_t b = 0; b <= B; b++) s[b] = b * idx->sizes[1];
  } else {
    const int64_t *o = (const int64_t *)(const void *)tc__ptr(off);
    tc_status st = TC_OK;
    if (B > 0 && o[0] != 0)
      st = tc__error(TC_ERR_ARG,
                     "%s: offsets[0] has to be 0, i.e. the first bag has to start at position 0, but got %lld", fn,
                     (long long)o[0]);
    for (int64_t b = 1; !st && b < B; b++)
      if (o[b] < o[b - 1])
        st =
            tc__error(TC_ERR_ARG, "%s: offsets must be non-decreasing, but offsets[%lld] = %lld < offsets[%lld] = %lld",
                      fn, (long long)b, (long long)o[b], (long long)(b - 1), (long long)o[b - 1]);
    if (!st && B > 0 && o[B - 1] > n)
      st = tc__error(TC_ERR_ARG, "%s: offsets[-1] = %lld can not be greater than the input's length %lld", fn,
                     (long long)o[B - 1], (long long)n);
    if (st) {
      tc_tensor_release(off);
      tc_tensor_release(t);
      return NULL;
    }
    for (int64_t b = 0; b < B; b++) s[b] = o[b];
    s[B] = n;
  }
  tc_tensor_release(off);
  *nbags = B;
  return t;
}

tc_tensor *tc_embedding_bag(const tc_tensor *idx, const tc_tensor *weight, const tc_tensor *offsets, tc_bag_mode mode,
                            const tc_tensor *per_sample_weights, int64_t padding_idx) {
  const char *fn = "tc_embedding_bag";
  const tc_tensor *psw = per_sample_weights;
  TC__NONNULL_T(idx, fn);
  TC__NONNULL_T(weight, fn);
  if (tc__check_same_device(fn, idx, weight)) return NULL;
  if (mode != TC_BAG_SUM && mode != TC_BAG_MEAN && mode != TC_BAG_MAX) {
    tc__error(TC_ERR_ARG, "%s: unknown mode %d", fn, (int)mode);
    return NULL;
  }
  if (!is_index_dtype(idx->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: indices must be int64 or int32, got %s", fn, tc_dtype_name(idx->dtype));
    return NULL;
  }
  if (check_weight(fn, weight, padding_idx, true)) return NULL;
  if (idx->ndim == 2) {
    if (offsets) {
      tc__error(TC_ERR_ARG, "%s: offsets must be NULL when input is 2-D (got input %s, offsets %s)", fn,
                tc__tshape(idx), tc__tshape(offsets));
      return NULL;
    }
  } else if (idx->ndim == 1) {
    if (!offsets) {
      tc__error(TC_ERR_ARG, "%s: a 1-D input needs offsets (a 1-D tensor of bag starts), got NULL", fn);
      return NULL;
    }
    if (offsets->ndim != 1 || !is_index_dtype(offsets->dtype)) {
      tc__error(TC_ERR_ARG, "%s: offsets must be a 1-D int64 or int32 tensor, got %s %s", fn, tc__tshape(offsets),
                tc_dtype_name(offsets->dtype));
      return NULL;
    }
    if (tc__check_same_device(fn, idx, offsets)) return NULL;
  } else {
    tc__error(TC_ERR_SHAPE, "%s: input has to be 1-D (with offsets) or 2-D (B, L), got %s", fn, tc__tshape(idx));
    return NULL;
  }
  if (psw) {
    if (mode != TC_BAG_SUM) {
      tc__error(TC_ERR_ARG, "%s: per_sample_weights is only supported for mode sum (got mode %s)", fn, mode_name(mode));
      return NULL;
    }
    if (tc__check_same_device(fn, idx, psw)) return NULL;
    if (psw->dtype != weight->dtype) {
      tc__error(TC_ERR_DTYPE, "%s: per_sample_weights must have the weight's dtype %s, got %s", fn,
                tc_dtype_name(weight->dtype), tc_dtype_name(psw->dtype));
      return NULL;
    }
    if (psw->ndim != idx->ndim || memcmp(psw->sizes, idx->sizes, sizeof(int64_t) * (size_t)idx->ndim)) {
      tc__error(TC_ERR_SHAPE, "%s: per_sample_weights %s must have the input's shape %s", fn, tc__tshape(psw),
                tc__tshape(idx));
      return NULL;
    }
  }
  if (!tc__is_cpu(idx)) return tc__embedding_bag_device(fn, idx, weight, offsets, mode, psw, padding_idx);
  int64_t num = weight->sizes[0], dim = weight->sizes[1], B = 0;
  tc_dtype wdt = weight->dtype, cdt = tc__compute_dtype(wdt);
  tc_tensor *ix = tc__emb_indices64(fn, idx, num, weight);
  tc_tensor *starts = ix ? tc__emb_bag_starts(fn, idx, offsets, &B) : NULL;
  tc_tensor *wt = NULL, *pt = NULL, *out = NULL, *maxi = NULL;
  const tc_tensor *wm = starts ? rows_of(weight, cdt, &wt) : NULL;
  const tc_tensor *pm = NULL;
  if (wm && psw && !(pm = pt = tc__to_dtype_contig(psw, cdt))) wm = NULL;
  if (!wm) goto done;
  int64_t osz[2] = {B, dim};
  if (!(out = tc__empty(osz, 2, cdt, weight->storage->device))) goto done;
  if (mode == TC_BAG_MAX && !(maxi = tc__empty(osz, 2, TC_I64, weight->storage->device))) {
    tc_tensor_release(out);
    out = NULL;
    goto done;
  }
  bag_ctx c = {mode, padding_idx < 0 ? -1 : padding_idx, num, dim, B, psw != NULL, wdt, weight->storage->device};
  bag_fwd_t f = {&c,
                 (const int64_t *)(const void *)tc__ptr(ix),
                 (const int64_t *)(const void *)tc__ptr(starts),
                 wm,
                 pm ? tc__ptr(pm) : NULL,
                 tc__ptr(out),
                 maxi ? (int64_t *)(void *)tc__ptr(maxi) : NULL};
  if (B > 0) {
    int64_t per = (tc__numel(idx->sizes, idx->ndim) / B + 1) * (dim + 1);
    int64_t grain = (1 << 15) / per;
    tc_parallel_for(B, grain < 1 ? 1 : grain, bag_fwd_task, &f);
  }
  out = to_dtype_owned(out, wdt);
  if (out) {
    const tc_tensor *in[2] = {weight, psw};
    const tc_tensor *save[5];
    int ns = 0;
    save[ns++] = ix;
    save[ns++] = starts;
    if (maxi) save[ns++] = maxi;
    if (psw) {
      save[ns++] = psw;
      save[ns++] = weight;
    }
    out = tc__record(out, "EmbeddingBagBackward0", bag_backward, psw ? 2 : 1, in, ns, save, &c, sizeof c);
  }
done:
  tc_tensor_release(ix);
  tc_tensor_release(starts);
  tc_tensor_release(wt);
  tc_tensor_release(pt);
  tc_tensor_release(maxi);
  return out;
}
