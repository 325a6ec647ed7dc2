/* core/src/index.c — index_select, gather, scatter (tensor src, scalar value, add), index_add and
 * their in-place forms (the shared checks and elementwise kernels are in index_kernels.c).
 *
 * Every op validates all of its arguments, index values included, before it allocates its result
 * or writes anything, so a failure leaves `self` untouched. Semantics are PyTorch's:
 *   - indices are int64 or int32; index_select/gather/scatter/index_add reject negative indices;
 *   - gather/scatter: index has self's number of dims, index.size(d) <= self.size(d) for d != dim
 *     (and <= src.size(d) for every d); an empty index skips the shape checks;
 *   - scatter with duplicate indices keeps the last write along `dim`; scatter_add and index_add
 *     accumulate duplicates in index order (f16/bf16: scatter_add accumulates in float32 and rounds
 *     once, index_add rounds after every addition — both as PyTorch's CPU kernels do).
 *
 * Kernels come in two forms. The elementwise form (gather) runs tc__foreach over (out, src, index)
 * views of one shape and reads src + index * stride. The dim-loop form (scatter family) runs
 * tc__foreach over the index shape with `dim` removed and walks `dim` inside the loop, so two
 * threads never write one location and duplicates accumulate in a fixed order for any thread count.
 *
 * Autograd (index_backward.c): each public op records its node after its result is complete, only
 * when tc__grad_needed; the in-place forms make the node after their checks and before the write,
 * then commit it as self's history. Internal copies (the out-of-place forms' clone of self) record
 * nothing.
 */
#include "index_backward.h"
#include "index_kernels.h"

/* ---- scatter, dim-loop form (scatter, scatter_add, index_add) ------------------------------------ */
/* ptrs: self, idx, src over the outer shape (dim removed); for each outer element walk k < K:
 *   self[idx[k] * self_ds] (op)= src[k]. */
typedef struct {
  int64_t K, self_ds, idx_ds, src_ds; /* bytes */
  add_alpha a;
} dscat_ctx;

/* The two loop orders give every element its k in increasing order; dim inside when its stride is
 * the smaller one (dim last), else dim outside so the run's elements are walked contiguously. */
#define DSCAT_LOOPS(IT, STMT)                                                                        \
  const dscat_ctx *c = vctx;                                                                         \
  if (n == 1 || c->self_ds <= st[0]) {                                                               \
    for (int64_t i = 0; i < n; i++) {                                                                \
      char *d = p[0] + i * st[0];                                                                    \
      const char *ix = p[1] + i * st[1], *s = p[2] + i * st[2];                                      \
      for (int64_t k = 0; k < c->K; k++, ix += c->idx_ds, s += c->src_ds) {                          \
        char *q = d + (int64_t) * (const IT *)ix * c->self_ds;                                       \
        STMT;                                                                                        \
      }                                                                                              \
    }                                                                                                \
  } else {                                                                                           \
    for (int64_t k = 0; k < c->K; k++) {                                                             \
      char *d = p[0];                                                                                \
      const char *ix = p[1] + k * c->idx_ds, *s = p[2] + k * c->src_ds;                              \
      for (int64_t i = 0; i < n; i++, d += st[0], ix += st[1], s += st[2]) {                         \
        char *q = d + (int64_t) * (const IT *)ix * c->self_ds;                                       \
        STMT;                                                                                        \
      }                                                                                              \
    }                                                                                                \
  }

#define DEF_DSCAT_COPY(ES, T, IS, IT)                                                                \
  static void dscat_copy_##ES##_##IS(char **p, const int64_t *st, int64_t n, void *vctx) {           \
    DSCAT_LOOPS(IT, memcpy(q, s, ES))                                                                \
  }
#define DEF_DSCAT_COPY_BOTH(ES, T) DEF_DSCAT_COPY(ES, T, i64, int64_t) DEF_DSCAT_COPY(ES, T, i32, int32_t)
COPY_SIZES(DEF_DSCAT_COPY_BOTH)
static const tc__loop_fn dscat_copy_fns[4][2] = {{dscat_copy_1_i64, dscat_copy_1_i32},
                                                 {dscat_copy_2_i64, dscat_copy_2_i32},
                                                 {dscat_copy_4_i64, dscat_copy_4_i32},
                                                 {dscat_copy_8_i64, dscat_copy_8_i32}};

#define DSCAT_ADD_STMT(T, KIND)  \
  T dv, sv;                      \
  memcpy(&dv, q, sizeof(T));     \
  memcpy(&sv, s, sizeof(T));     \
  dv = ADD_##KIND(T, dv, sv, a); \
  memcpy(q, &dv, sizeof(T))
#define DEF_DSCAT_ADD(SUF, T, KIND, IS, IT)                                                          \
  static void dscat_add_##SUF##_##IS(char **p, const int64_t *st, int64_t n, void *vctx) {           \
    add_alpha a = ((const dscat_ctx *)vctx)->a;                                                      \
    DSCAT_LOOPS(IT, DSCAT_ADD_STMT(T, KIND))                                                         \
  }
#define DEF_DSCAT_ADD_BOTH(TAG, SUF, T, KIND) \
  DEF_DSCAT_ADD(SUF, T, KIND, i64, int64_t) DEF_DSCAT_ADD(SUF, T, KIND, i32, int32_t)
ADD_TYPES(DEF_DSCAT_ADD_BOTH)
#define DSCAT_ADD_ROW(TAG, SUF, T, KIND) [TAG] = {dscat_add_##SUF##_i64, dscat_add_##SUF##_i32},
static const tc__loop_fn dscat_add_fns[TC_NUM_DTYPES][2] = {ADD_TYPES(DSCAT_ADD_ROW)};

/* Size and stride of a dim, treating a 0-d tensor as 1-d of size 1 (PyTorch's ensure_nonempty). */
static int64_t ne_size(const tc_tensor *t, int d) { return t->ndim ? t->sizes[d] : 1; }
static int64_t ne_stride(const tc_tensor *t, int d) { return t->ndim ? t->strides[d] : 0; }
static int ne_ndim(const tc_tensor *t) { return t->ndim ? t->ndim : 1; }

/* A view of t with `shape` (nd dims) whose strides are t's with dim `skip` removed (t 0-d: all 0). */
static tc_tensor *drop_dim_view(const tc_tensor *t, const int64_t *shape, int nd, int skip) {
  int64_t strides[TC_MAX_DIMS];
  for (int d = 0, j = 0; d < ne_ndim(t); d++) {
    if (d == skip) continue;
    strides[j++] = ne_stride(t, d);
  }
  return tc__view(t, shape, strides, nd, t->offset);
}

/* Runs the dim-loop kernel. self, idx and src have `ne_ndim` dims; the iteration covers `shape`
 * (the index shape for scatter, the source shape for index_add) with `dim` walked inside.
 * idx_1d: the index is a vector along `dim` (index_add), stride 0 on every other dim. */
static tc_status dscat_run(tc_tensor *self, int64_t dim, const tc_tensor *idx, const tc_tensor *src,
                           const int64_t *shape, int nd, bool idx_1d, bool add, double alpha) {
  int64_t outer[TC_MAX_DIMS];
  int no = 0;
  for (int d = 0; d < nd; d++)
    if (d != dim) outer[no++] = shape[d];
  size_t es = tc_dtype_size(self->dtype);
  tc_tensor *sv = drop_dim_view(self, outer, no, (int)dim);
  tc_tensor *srcv = drop_dim_view(src, outer, no, (int)dim);
  tc_tensor *iv = NULL;
  if (idx_1d) {
    int64_t zero[TC_MAX_DIMS] = {0};
    iv = tc__view(idx, outer, zero, no, idx->offset);
  } else {
    iv = drop_dim_view(idx, outer, no, (int)dim);
  }
  if (!sv || !srcv || !iv) {
    tc_tensor_release(sv);
    tc_tensor_release(srcv);
    tc_tensor_release(iv);
    return TC_ERR_NOMEM;
  }
  dscat_ctx c;
  c.K = shape[dim];
  c.self_ds = ne_stride(self, (int)dim) * (int64_t)es;
  c.idx_ds = (idx_1d ? (idx->ndim ? idx->strides[0] : 0) : ne_stride(idx, (int)dim)) * (int64_t)tc_dtype_size(idx->dtype);
  c.src_ds = ne_stride(src, (int)dim) * (int64_t)es;
  c.a = tc__make_alpha(alpha);
  int is32 = idx->dtype == TC_I32;
  tc__loop_fn fn = add ? dscat_add_fns[self->dtype][is32] : dscat_copy_fns[tc__size_slot(es)][is32];
  const tc_tensor *ops[3] = {sv, iv, srcv};
  int64_t grain = c.K > 0 ? TC__GRAIN_ELEMENTWISE / c.K : 1;
  tc__foreach(3, ops, fn, &c, grain > 1 ? grain : 1);
  tc_tensor_release(sv);
  tc_tensor_release(srcv);
  tc_tensor_release(iv);
  return TC_OK;
}

/* ---- index_select -------------------------------------------------------------------------------- */

static tc_status common_checks(const char *fn, const tc_tensor *t, const tc_tensor *index, const tc_tensor *src) {
  if (tc__check_same_device(fn, t, index)) return tc_last_status();
  if (src && tc__check_same_device(fn, t, src)) return tc_last_status();
  return tc__check_index_dtype(fn, "index", index);
}

/* Contiguous input: whole rows of the dims after `dim`, one memcpy each, parallel over rows. */
typedef struct {
  char *out;
  const char *in, *idx;
  int64_t K, S, idx_stride; /* idx_stride in elements */
  size_t row;               /* bytes */
  bool idx32;
} rows_ctx;

static void select_rows_task(int64_t b, int64_t e, void *vctx) {
  const rows_ctx *c = vctx;
  for (int64_t r = b; r < e; r++) {
    int64_t o = r / c->K, j = r - o * c->K;
    int64_t v = c->idx32 ? ((const int32_t *)(const void *)c->idx)[j * c->idx_stride]
                         : ((const int64_t *)(const void *)c->idx)[j * c->idx_stride];
    memcpy(c->out + r * (int64_t)c->row, c->in + (o * c->S + v) * (int64_t)c->row, c->row);
  }
}

static tc_tensor *index_select_impl(const char *fn, const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  if (common_checks(fn, t, index, NULL)) return NULL;
  if (index->ndim > 1) {
    tc__error(TC_ERR_SHAPE, "%s: index must be 0-d or 1-d, got shape %s", fn, tc__tshape(index));
    return NULL;
  }
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  int64_t K = tc__numel(index->sizes, index->ndim);
  if (t->ndim == 0 && K != 1) {
    tc__error(TC_ERR_SHAPE, "%s: a 0-d input takes exactly one index, got %lld", fn, (long long)K);
    return NULL;
  }
  if (tc__check_index_range(fn, index, ne_size(t, (int)dim), dim, false)) return NULL;
  // out: t's shape with size K at dim
  int64_t sizes[TC_MAX_DIMS], sstr[TC_MAX_DIMS], istr[TC_MAX_DIMS];
  for (int d = 0; d < t->ndim; d++) {
    sizes[d] = d == dim ? K : t->sizes[d];
    sstr[d] = d == dim ? 0 : t->strides[d];
    istr[d] = d == dim && index->ndim ? index->strides[0] : 0;
  }
  tc_tensor *out = tc__empty(sizes, t->ndim, t->dtype, t->storage->device);
  if (!out || tc__numel(sizes, t->ndim) == 0) return out;
  size_t es = tc_dtype_size(t->dtype);
  if (t->ndim > 0 && tc__is_contiguous(t) && tc__is_cpu(t)) {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= t->sizes[d];
    for (int d = (int)dim + 1; d < t->ndim; d++) inner *= t->sizes[d];
    if (inner * (int64_t)es >= 64) {
      rows_ctx c = {tc__ptr(out), tc__ptr(t), tc__ptr(index), K, t->sizes[dim], index->ndim ? index->strides[0] : 0,
                    (size_t)inner * es, index->dtype == TC_I32};
      int64_t grain = (256 << 10) / (int64_t)c.row;
      tc_parallel_for(outer * K, grain > 1 ? grain : 1, select_rows_task, &c);
      return out;
    }
  }
  tc_tensor *sv = tc__view(t, sizes, sstr, t->ndim, t->offset);
  tc_tensor *iv = sv ? tc__view(index, sizes, istr, t->ndim, index->offset) : NULL;
  if (!iv) {
    tc_tensor_release(sv);
    tc_tensor_release(out);
    return NULL;
  }
  tc_status st = tc__index_gather(out, sv, iv, ne_stride(t, (int)dim) * (int64_t)es);
  tc_tensor_release(sv);
  tc_tensor_release(iv);
  if (st) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_tensor *tc_index_select(const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  const char *fn = "tc_index_select";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  tc_tensor *out = index_select_impl(fn, t, dim, index);
  if (out && tc__grad_needed(1, &t)) out = tc__index_record_out(tc__index_select_node(t, dim, index), out);
  return out;
}

/* ---- gather -------------------------------------------------------------------------------------- */

/* index.size(d) <= self.size(d) for d != dim (and <= src.size(d) for all d when src is given). */
static tc_status gather_scatter_shape(const char *fn, const char *selfname, const tc_tensor *self, int64_t dim,
                                      const tc_tensor *index, const tc_tensor *src) {
  if (ne_ndim(index) != ne_ndim(self))
    return tc__error(TC_ERR_SHAPE, "%s: index has %d dims but %s has %d: they must match (index %s, %s %s)", fn,
                     index->ndim, selfname, self->ndim, tc__tshape(index), selfname, tc__tshape(self));
  if (src && ne_ndim(src) != ne_ndim(self))
    return tc__error(TC_ERR_SHAPE, "%s: src has %d dims but %s has %d: they must match (src %s, %s %s)", fn,
                     src->ndim, selfname, self->ndim, tc__tshape(src), selfname, tc__tshape(self));
  for (int d = 0; d < ne_ndim(index); d++) {
    if (d != dim && ne_size(index, d) > ne_size(self, d))
      return tc__error(TC_ERR_SHAPE,
                       "%s: index has shape %s but %s is %s: index.size(%d) = %lld must be <= %s.size(%d) = %lld "
                       "in every dim but dim %lld",
                       fn, tc__tshape(index), selfname, tc__tshape(self), d, (long long)ne_size(index, d), selfname, d,
                       (long long)ne_size(self, d), (long long)dim);
    if (src && ne_size(index, d) > ne_size(src, d))
      return tc__error(TC_ERR_SHAPE, "%s: index has shape %s but src is %s: index.size(%d) = %lld must be <= src.size(%d) = %lld",
                       fn, tc__tshape(index), tc__tshape(src), d, (long long)ne_size(index, d), d,
                       (long long)ne_size(src, d));
  }
  return TC_OK;
}

static tc_tensor *gather_impl(const char *fn, const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  if (common_checks(fn, t, index, NULL)) return NULL;
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  int64_t n = tc__numel(index->sizes, index->ndim);
  if (n == 0) return tc__empty(index->sizes, index->ndim, t->dtype, t->storage->device);
  if (gather_scatter_shape(fn, "input", t, dim, index, NULL)) return NULL;
  if (tc__check_index_range(fn, index, ne_size(t, (int)dim), dim, false)) return NULL;
  // out: index's shape; src view: t's strides over index's shape with stride 0 along dim
  int64_t sstr[TC_MAX_DIMS] = {0};
  if (t->ndim == index->ndim)
    for (int d = 0; d < t->ndim; d++) sstr[d] = d == dim ? 0 : t->strides[d];
  tc_tensor *out = tc__empty(index->sizes, index->ndim, t->dtype, t->storage->device);
  if (!out) return NULL;
  tc_tensor *sv = tc__view(t, index->sizes, sstr, index->ndim, t->offset);
  if (!sv) {
    tc_tensor_release(out);
    return NULL;
  }
  tc_status st = tc__index_gather(out, sv, index, ne_stride(t, (int)dim) * (int64_t)tc_dtype_size(t->dtype));
  tc_tensor_release(sv);
  if (st) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_tensor *tc_gather(const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  const char *fn = "tc_gather";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  tc_tensor *out = gather_impl(fn, t, dim, index);
  if (out && tc__grad_needed(1, &t)) out = tc__index_record_out(tc__gather_node(t, dim, index), out);
  return out;
}

/* ---- scatter family -------------------------------------------------------------------------------- */

typedef enum { SCAT_SRC, SCAT_VALUE, SCAT_ADD } scat_mode;

static const tc__idxg_scatter_kind scat_kind[] = {
    [SCAT_SRC] = TC__IDXG_SCATTER, [SCAT_VALUE] = TC__IDXG_SCATTER_VALUE, [SCAT_ADD] = TC__IDXG_SCATTER_ADD};

/* All checks of scatter/scatter_value/scatter_add; *dim is wrapped. No writes, no allocations. */
static tc_status scatter_prepare(const char *fn, const tc_tensor *self, int64_t *dim, const tc_tensor *index,
                                 const tc_tensor *src, double value, scat_mode mode) {
  if (common_checks(fn, self, index, src)) return tc_last_status();
  if (mode != SCAT_VALUE && src->dtype != self->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: src dtype %s does not match self dtype %s", fn, tc_dtype_name(src->dtype),
                     tc_dtype_name(self->dtype));
  if (mode == SCAT_VALUE && tc__check_value_fits(fn, "value", value, self->dtype)) return tc_last_status();
  if (tc__wrap_dim(fn, dim, self->ndim)) return tc_last_status();
  if (tc__numel(index->sizes, index->ndim) == 0) return TC_OK;
  if (gather_scatter_shape(fn, "self", self, *dim, index, mode == SCAT_VALUE ? NULL : src)) return tc_last_status();
  return tc__check_index_range(fn, index, ne_size(self, (int)*dim), *dim, false);
}


/* Writes into target (self or its clone); arguments already checked. */
/* On a device: target viewed over index's shape with stride 0 along dim, the kernel adds
 * index * stride (scatter_add: the backend's deterministic accumulation). */
static tc_status device_scatter(tc_tensor *target, int64_t dim, const tc_tensor *index, const tc_tensor *src,
                                double value, scat_mode mode) {
  int nd = index->ndim;
  int64_t tstr[TC_MAX_DIMS] = {0}, sstr[TC_MAX_DIMS] = {0};
  for (int d = 0; d < nd && target->ndim == nd; d++) tstr[d] = d == dim ? 0 : target->strides[d];
  tc_tensor *s = NULL;
  if (mode == SCAT_VALUE) {
    s = tc_scalar_tensor(value, TC_OPTS(.dtype = target->dtype, .device = target->storage->device));
  } else {
    for (int d = 0; d < nd && src->ndim == nd; d++) sstr[d] = src->strides[d];
    s = tc_tensor_retain((tc_tensor *)src);
  }
  tc_tensor *sv = s ? tc__view(s, index->sizes, mode == SCAT_VALUE ? (int64_t[TC_MAX_DIMS]){0} : sstr, nd,
                               s->offset)
                    : NULL;
  tc_tensor *tv = sv ? tc__view(target, index->sizes, tstr, nd, target->offset) : NULL;
  tc_status st = !tv                 ? tc_last_status()
                 : mode == SCAT_ADD ? tc__device_index_scatter_add(tv, sv, index, ne_stride(target, (int)dim), 1.0,
                                                                   tc__view_extent(target))
                                    : tc__device_index_scatter(tv, sv, index, ne_stride(target, (int)dim));
  tc_tensor_release(tv);
  tc_tensor_release(sv);
  tc_tensor_release(s);
  return st;
}

static tc_status scatter_apply(tc_tensor *target, int64_t dim, const tc_tensor *index, const tc_tensor *src,
                               double value, scat_mode mode) {
  int64_t n = tc__numel(index->sizes, index->ndim);
  if (n == 0) return TC_OK;
  if (!tc__is_cpu(target)) return device_scatter(target, dim, index, src, value, mode);
  int nd = ne_ndim(index);
  int64_t shape[TC_MAX_DIMS];
  for (int d = 0; d < nd; d++) shape[d] = ne_size(index, d);
  if (mode == SCAT_VALUE) { /* the value as a 0-d tensor, broadcast along every dim */
    tc_tensor *v = tc_scalar_tensor(value, TC_OPTS(.dtype = target->dtype, .device = target->storage->device));
    if (!v) return tc_last_status();
    int64_t zero[TC_MAX_DIMS] = {0};
    tc_tensor *ve = tc__view(v, shape, zero, nd, v->offset);
    tc_tensor_release(v);
    if (!ve) return tc_last_status();
    tc_status s = dscat_run(target, dim, index, ve, shape, nd, false, false, 1.0);
    tc_tensor_release(ve);
    return s;
  }
  if (mode == SCAT_ADD && (target->dtype == TC_F16 || target->dtype == TC_BF16)) {
    /* As PyTorch: accumulate in float32, round once. */
    tc_tensor *acc = tc__to_dtype_contig(target, TC_F32);
    tc_tensor *src32 = acc ? tc__to_dtype_contig(src, TC_F32) : NULL;
    tc_status s = src32 ? dscat_run(acc, dim, index, src32, shape, nd, false, true, 1.0) : tc_last_status();
    if (s == TC_OK) tc__cpu_copy(target, acc);
    tc_tensor_release(acc);
    tc_tensor_release(src32);
    return s;
  }
  return dscat_run(target, dim, index, src, shape, nd, false, mode == SCAT_ADD, 1.0);
}

static tc_tensor *scatter_out(const char *fn, const tc_tensor *t, int64_t dim, const tc_tensor *index,
                              const tc_tensor *src, double value, scat_mode mode) {
  if (scatter_prepare(fn, t, &dim, index, src, value, mode)) return NULL;
  tc_tensor *out = tc__to_dtype_contig(t, t->dtype); /* a copy without history */
  if (!out) return NULL;
  if (scatter_apply(out, dim, index, src, value, mode)) {
    tc_tensor_release(out);
    return NULL;
  }
  const tc_tensor *ins[2] = {t, src};
  if (tc__grad_needed(2, ins))
    out = tc__index_record_out(tc__scatter_node(scat_kind[mode], t, dim, index, src, 1.0), out);
  return out;
}

static tc_status scatter_inplace(const char *fn, tc_tensor *self, int64_t dim, const tc_tensor *index,
                                 const tc_tensor *src, scat_mode mode) {
  const tc_tensor *ins[2] = {self, src};
  bool grad = tc__grad_needed(2, ins);
  if (grad && tc__check_inplace(fn, self)) return tc_last_status();
  if (tc__check_no_overlap(fn, self)) return tc_last_status();
  if (scatter_prepare(fn, self, &dim, index, src, 0, mode)) return tc_last_status();
  tc__node *node = grad ? tc__scatter_node(scat_kind[mode], self, dim, index, src, 1.0) : NULL;
  if (grad && !node) return tc_last_status();
  tc_status s = scatter_apply(self, dim, index, src, 0, mode);
  if (s == TC_OK) tc__bump_version(self);
  return node ? tc__index_record_inplace(node, self, s) : s;
}

tc_tensor *tc_scatter(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src) {
  const char *fn = "tc_scatter";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  TC__NONNULL_T(src, fn);
  return scatter_out(fn, t, dim, index, src, 0, SCAT_SRC);
}

tc_tensor *tc_scatter_value(const tc_tensor *t, int64_t dim, const tc_tensor *index, double value) {
  const char *fn = "tc_scatter_value";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  return scatter_out(fn, t, dim, index, NULL, value, SCAT_VALUE);
}

tc_tensor *tc_scatter_add(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src) {
  const char *fn = "tc_scatter_add";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  TC__NONNULL_T(src, fn);
  return scatter_out(fn, t, dim, index, src, 0, SCAT_ADD);
}

tc_status tc_scatter_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src) {
  const char *fn = "tc_scatter_inplace";
  TC__NONNULL_S(self, fn);
  TC__NONNULL_S(index, fn);
  TC__NONNULL_S(src, fn);
  return scatter_inplace(fn, self, dim, index, src, SCAT_SRC);
}

tc_status tc_scatter_add_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src) {
  const char *fn = "tc_scatter_add_inplace";
  TC__NONNULL_S(self, fn);
  TC__NONNULL_S(index, fn);
  TC__NONNULL_S(src, fn);
  return scatter_inplace(fn, self, dim, index, src, SCAT_ADD);
}

/* ---- index_add ------------------------------------------------------------------------------------ */

static tc_status index_add_prepare(const char *fn, const tc_tensor *self, int64_t *dim, const tc_tensor *index,
                                   const tc_tensor *src, double alpha) {
  if (common_checks(fn, self, index, src)) return tc_last_status();
  if (index->ndim > 1)
    return tc__error(TC_ERR_SHAPE, "%s: index must be 0-d or 1-d, got shape %s", fn, tc__tshape(index));
  if (src->dtype != self->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: source dtype %s does not match self dtype %s", fn, tc_dtype_name(src->dtype),
                     tc_dtype_name(self->dtype));
  if (tc__check_value_fits(fn, "alpha", alpha, self->dtype)) return tc_last_status();
  if (tc__wrap_dim(fn, dim, self->ndim)) return tc_last_status();
  bool same = src->ndim == self->ndim;
  for (int d = 0; same && d < self->ndim; d++) same = d == *dim || src->sizes[d] == self->sizes[d];
  if (!same)
    return tc__error(TC_ERR_SHAPE, "%s: source has shape %s but self is %s: they must match in every dim but dim %lld",
                     fn, tc__tshape(src), tc__tshape(self), (long long)*dim);
  int64_t K = tc__numel(index->sizes, index->ndim);
  if (K != ne_size(src, (int)*dim))
    return tc__error(TC_ERR_SHAPE, "%s: %lld indices given but source.size(%lld) = %lld (source %s)", fn, (long long)K,
                     (long long)*dim, (long long)ne_size(src, (int)*dim), tc__tshape(src));
  return tc__check_index_range(fn, index, ne_size(self, (int)*dim), *dim, false);
}

/* Fast path: self and source contiguous. Rows of `inner` elements: self[o, idx[k], :] += alpha *
 * src[o, k, :]. Parallel over destination rows; each task scans the whole index and takes the k that
 * land in its rows, so every element sees its additions in index order for any thread count. */
#define DEF_ROWADD(TAG, SUF, T, KIND)                                                                \
  static void rowadd_##SUF(char *d, const char *s, int64_t n, add_alpha a) {                         \
    T *restrict dp = (T *)(void *)d;                                                                 \
    const T *restrict sp = (const T *)(const void *)s;                                               \
    for (int64_t i = 0; i < n; i++) dp[i] = ADD_##KIND(T, dp[i], sp[i], a);                          \
  }
ADD_TYPES(DEF_ROWADD)
typedef void (*rowadd_fn)(char *d, const char *s, int64_t n, add_alpha a);
#define ROWADD_ROW(TAG, SUF, T, KIND) [TAG] = rowadd_##SUF,
static const rowadd_fn rowadd_fns[TC_NUM_DTYPES] = {ADD_TYPES(ROWADD_ROW)};

typedef struct {
  char *self;
  const char *src, *idx;
  int64_t S, K, inner, idx_stride; /* idx_stride in elements */
  size_t es;
  bool idx32;
  add_alpha a;
  rowadd_fn add;
} rowadd_ctx;

static void rowadd_task(int64_t begin, int64_t end, void *vctx) {
  const rowadd_ctx *c = vctx;
  int64_t row_bytes = c->inner * (int64_t)c->es;
  for (int64_t b = begin; b < end;) { /* destination rows b = o * S + r */
    int64_t o = b / c->S, r0 = b % c->S;
    int64_t r1 = end - o * c->S < c->S ? end - o * c->S : c->S;
    for (int64_t k = 0; k < c->K; k++) {
      int64_t r = c->idx32 ? ((const int32_t *)(const void *)c->idx)[k * c->idx_stride]
                           : ((const int64_t *)(const void *)c->idx)[k * c->idx_stride];
      if (r < r0 || r >= r1) continue;
      c->add(c->self + (o * c->S + r) * row_bytes, c->src + (o * c->K + k) * row_bytes, c->inner, c->a);
    }
    b = o * c->S + r1;
  }
}

/* On a device: over src's shape, target with stride 0 along dim and the index along dim only;
 * the backend adds src at target + index * stride, deterministically. */
static tc_status device_index_add(tc_tensor *target, int64_t dim, const tc_tensor *index, const tc_tensor *src,
                                  double alpha) {
  int nd = ne_ndim(src);
  int64_t shape[TC_MAX_DIMS], tstr[TC_MAX_DIMS], istr[TC_MAX_DIMS], sstr[TC_MAX_DIMS];
  for (int d = 0; d < nd; d++) {
    shape[d] = ne_size(src, d);
    sstr[d] = ne_stride(src, d);
    tstr[d] = d == dim ? 0 : ne_stride(target, d);
    istr[d] = d == dim ? ne_stride(index, 0) : 0;
  }
  tc_tensor *tv = tc__view(target, shape, tstr, nd, target->offset);
  tc_tensor *iv = tv ? tc__view((tc_tensor *)index, shape, istr, nd, index->offset) : NULL;
  tc_tensor *sv = iv ? tc__view((tc_tensor *)src, shape, sstr, nd, src->offset) : NULL;
  tc_status st = sv ? tc__device_index_scatter_add(tv, sv, iv, ne_stride(target, (int)dim), alpha, tc__view_extent(target))
                    : tc_last_status();
  tc_tensor_release(tv);
  tc_tensor_release(iv);
  tc_tensor_release(sv);
  return st;
}

static tc_status index_add_apply(tc_tensor *target, int64_t dim, const tc_tensor *index, const tc_tensor *src,
                                 double alpha) {
  int64_t K = tc__numel(index->sizes, index->ndim);
  if (K == 0 || tc__numel(src->sizes, src->ndim) == 0) return TC_OK;
  if (!tc__is_cpu(target)) return device_index_add(target, dim, index, src, alpha);
  if (target->ndim >= 1 && tc__is_contiguous(target) && tc__is_contiguous(src)) {
    rowadd_ctx c;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= target->sizes[d];
    for (int d = (int)dim + 1; d < target->ndim; d++) inner *= target->sizes[d];
    c.self = tc__ptr(target);
    c.src = tc__ptr(src);
    c.idx = tc__ptr(index);
    c.S = target->sizes[dim];
    c.K = K;
    c.inner = inner;
    c.idx_stride = index->ndim ? index->strides[0] : 0;
    c.es = tc_dtype_size(target->dtype);
    c.idx32 = index->dtype == TC_I32;
    c.a = tc__make_alpha(alpha);
    c.add = rowadd_fns[target->dtype];
    if (inner >= 8) {
      /* work per destination row is about K * inner / S elements */
      int64_t per_row = K * inner / c.S + 1;
      int64_t grain = TC__GRAIN_ELEMENTWISE / per_row;
      tc_parallel_for(outer * c.S, grain > 1 ? grain : 1, rowadd_task, &c);
      return TC_OK;
    }
  }
  int64_t shape[TC_MAX_DIMS];
  int nd = ne_ndim(src);
  for (int d = 0; d < nd; d++) shape[d] = ne_size(src, d);
  return dscat_run(target, dim, index, src, shape, nd, true, true, alpha);
}

tc_tensor *tc_index_add(const tc_tensor *t, int64_t dim, const tc_tensor *index, const tc_tensor *src, double alpha) {
  const char *fn = "tc_index_add";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(index, fn);
  TC__NONNULL_T(src, fn);
  if (index_add_prepare(fn, t, &dim, index, src, alpha)) return NULL;
  tc_tensor *out = tc__to_dtype_contig(t, t->dtype); /* a copy without history */
  if (!out) return NULL;
  if (index_add_apply(out, dim, index, src, alpha)) {
    tc_tensor_release(out);
    return NULL;
  }
  const tc_tensor *ins[2] = {t, src};
  if (tc__grad_needed(2, ins))
    out = tc__index_record_out(tc__scatter_node(TC__IDXG_INDEX_ADD, t, dim, index, src, alpha), out);
  return out;
}

tc_status tc_index_add_inplace(tc_tensor *self, int64_t dim, const tc_tensor *index, const tc_tensor *src,
                               double alpha) {
  const char *fn = "tc_index_add_inplace";
  TC__NONNULL_S(self, fn);
  TC__NONNULL_S(index, fn);
  TC__NONNULL_S(src, fn);
  const tc_tensor *ins[2] = {self, src};
  bool grad = tc__grad_needed(2, ins);
  if (grad && tc__check_inplace(fn, self)) return tc_last_status();
  if (tc__check_no_overlap(fn, self)) return tc_last_status();
  if (index_add_prepare(fn, self, &dim, index, src, alpha)) return tc_last_status();
  tc__node *node = grad ? tc__scatter_node(TC__IDXG_INDEX_ADD, self, dim, index, src, alpha) : NULL;
  if (grad && !node) return tc_last_status();
  tc_status s = index_add_apply(self, dim, index, src, alpha);
  if (s == TC_OK) tc__bump_version(self);
  return node ? tc__index_record_inplace(node, self, s) : s;
}
