/* core/src/join.c — cat, stack, hstack, vstack (torch.cat/stack/hstack/vstack).
 *
 * PyTorch's rules:
 *   - cat: all tensors have the same number of dims and equal sizes except along dim; 1-D empty
 *     tensors of shape [0] are skipped (legacy behaviour) but still take part in dtype promotion; a
 *     0-d tensor is an error; the result dtype promotes over all inputs (torch.result_type);
 *   - stack: all shapes equal; a new dim of size n is inserted at dim (range [-ndim-1, ndim]);
 *   - hstack: 0-d inputs become [1]; cat along dim 0 when the first is 1-D, else along dim 1;
 *   - vstack: 0-d -> [1, 1], [N] -> [1, N]; cat along dim 0.
 *
 * One output allocation. The output is contiguous, so it is a sequence of rows, one per position
 * in the dims before `dim`, and each row is the concatenation of one chunk per input (chunk = the
 * input's size along dim times the inner size). Inputs that are contiguous and of the output dtype
 * are copied with memcpy over the output's byte range, split over the thread pool when large (or,
 * when chunks are small as in stack along the last dim, by blocks of rows that stay in L1 while
 * every input writes into them); other inputs (strided, or needing a dtype conversion) go through
 * the strided copy kernel into a view of their slot. The per-input table lives on the stack up to
 * 64 inputs. The result never depends on the thread count.
 *
 * Autograd: when an input requires grad, the result records CatBackward0 (cat, hstack, vstack:
 * each input gets its slice of the gradient, reshaped to the input's shape and converted back to
 * its dtype) or StackBackward0 (index_backward.c).
 */
#include <stdio.h>
#include "index_backward.h"

typedef struct {
  const tc_tensor *t;
  const char *src;  /* fast parts: first byte of the (contiguous) input */
  int64_t chunk;    /* bytes per output row */
  int64_t row_off;  /* byte offset of this part in an output row */
  int64_t dim_off;  /* element offset along dim in the output */
  int64_t dim_size; /* size along dim in the output (1 for stack) */
  bool fast;
} cat_part;

typedef struct {
  const cat_part *parts;
  int64_t nparts;
  char *out;
  int64_t row; /* bytes per output row */
} cat_ctx;

/* Copies output bytes [b, e) from the fast parts (slow parts' bytes are skipped). */
static void cat_copy_range(int64_t b, int64_t e, void *vctx) {
  const cat_ctx *c = vctx;
  int64_t o = b / c->row, r = b - o * c->row;
  /* the part holding byte r of the row: the last with row_off <= r */
  int64_t lo = 0, hi = c->nparts - 1;
  while (lo < hi) {
    int64_t mid = (lo + hi + 1) / 2;
    if (c->parts[mid].row_off <= r) lo = mid;
    else hi = mid - 1;
  }
  int64_t i = lo;
  while (b < e) {
    const cat_part *p = &c->parts[i];
    int64_t within = r - p->row_off, take = p->chunk - within;
    if (take > e - b) take = e - b;
    if (p->fast) memcpy(c->out + b, p->src + o * p->chunk + within, (size_t)take);
    b += take;
    r += take;
    if (r == p->row_off + p->chunk && ++i == c->nparts) {
      i = 0;
      r = 0;
      o++;
    }
  }
}

/* Copies output rows [b, e) from the fast parts, in blocks of rows that stay in L1 while every
 * part writes its chunk into them. For small chunks (stack along the last dim: one element per
 * part per row), where one memcpy call per chunk would cost more than the copy. */
#define DEF_ROWS_COPY(ES)                                                                        \
  static void rows_copy_##ES(char *out, const char *src, int64_t row, int64_t n) {              \
    for (int64_t o = 0; o < n; o++) memcpy(out + o * row, src + o * ES, ES);                     \
  }
DEF_ROWS_COPY(1)
DEF_ROWS_COPY(2)
DEF_ROWS_COPY(4)
DEF_ROWS_COPY(8)
DEF_ROWS_COPY(16)

#define CAT_BLOCK_BYTES (16 << 10)

static void cat_copy_rows(int64_t b, int64_t e, void *vctx) {
  const cat_ctx *c = vctx;
  int64_t block = CAT_BLOCK_BYTES / c->row > 1 ? CAT_BLOCK_BYTES / c->row : 1;
  for (int64_t o0 = b; o0 < e; o0 += block) {
    int64_t n = e - o0 < block ? e - o0 : block;
    for (int64_t i = 0; i < c->nparts; i++) {
      const cat_part *p = &c->parts[i];
      if (!p->fast) continue;
      char *out = c->out + o0 * c->row + p->row_off;
      const char *src = p->src + o0 * p->chunk;
      switch (p->chunk) {
        case 1: rows_copy_1(out, src, c->row, n); break;
        case 2: rows_copy_2(out, src, c->row, n); break;
        case 4: rows_copy_4(out, src, c->row, n); break;
        case 8: rows_copy_8(out, src, c->row, n); break;
        case 16: rows_copy_16(out, src, c->row, n); break;
        default:
          for (int64_t o = 0; o < n; o++) memcpy(out + o * c->row, src + o * p->chunk, (size_t)p->chunk);
      }
    }
  }
}

/* Parallel only when there is enough to copy for the pool's wake-up to pay off. */
#define CAT_PARALLEL_BYTES (1 << 20)
#define CAT_GRAIN_BYTES (256 << 10)
#define CAT_STACK_PARTS 64

static bool legacy_empty(const tc_tensor *t) { return t->ndim == 1 && t->sizes[0] == 0; }

static tc_status null_in_list(const char *fn, int64_t i) {
  char name[48];
  snprintf(name, sizeof name, "tensors[%lld]", (long long)i);
  return tc__null_arg(fn, name);
}

/* True when grad mode is on and one of ts[0..n) requires grad. */
static bool any_requires_grad(const tc_tensor *const *ts, int64_t n) {
  if (!tc_is_grad_enabled()) return false;
  for (int64_t i = 0; i < n; i++)
    if (tc__requires_grad(ts[i])) return true;
  return false;
}

static tc_tensor *cat_core(const char *fn, const tc_tensor *const *ts, int64_t n, int64_t *dim, bool stack);

/* cat (stack = false) or stack (stack = true) of n tensors along dim. `inputs` (equal to ts, or for
 * hstack/vstack the caller's tensors of which ts are reshaped views) receive the gradients. */
static tc_tensor *cat_impl(const char *fn, const tc_tensor *const *ts, const tc_tensor *const *inputs, int64_t n,
                           int64_t dim, bool stack) {
  tc_tensor *out = cat_core(fn, ts, n, &dim, stack);
  if (out && any_requires_grad(inputs, n)) out = tc__index_record_out(tc__cat_node(inputs, ts, n, dim, stack), out);
  return out;
}

/* The join itself; *dim is wrapped on success (left as given when every input is a skipped empty). */
static tc_tensor *cat_core(const char *fn, const tc_tensor *const *ts, int64_t n, int64_t *dimp, bool stack) {
  int64_t dim = *dimp;
  if (n <= 0 || !ts) {
    tc__error(TC_ERR_ARG, "%s: expected a non-empty list of tensors (n = %lld)", fn, (long long)n);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (!ts[i]) {
      null_in_list(fn, i);
      return NULL;
    }
  /* dtype over all inputs; device; the reference tensor (first one not skipped) */
  tc_dtype dt = ts[0]->dtype;
  int64_t ref = -1;
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *t = ts[i];
    if (tc__check_same_device(fn, ts[0], t)) return NULL;
    if (i > 0) {
      tc_dtype p = tc_promote_types(dt, t->dtype);
      if (p == TC_DTYPE_DEFAULT) {
        tc__error(TC_ERR_DTYPE, "%s: tensor %lld has dtype %s: no common dtype with %s", fn, (long long)i,
                  tc_dtype_name(t->dtype), tc_dtype_name(dt));
        return NULL;
      }
      dt = p;
    }
    if (!stack && t->ndim == 0) {
      tc__error(TC_ERR_SHAPE, "%s: tensor %lld is zero-dimensional and cannot be concatenated (use tc_stack)", fn,
                (long long)i);
      return NULL;
    }
    if (ref < 0 && (stack || !legacy_empty(t))) ref = i;
  }
  const bool on_cpu = tc__is_cpu(ts[0]); /* devices take every part through the copy kernel */
  if (ref < 0) { /* every input is a legacy empty [0] */
    int64_t zero = 0;
    return tc__empty(&zero, 1, dt, ts[0]->storage->device);
  }
  const tc_tensor *rt = ts[ref];
  int nd = rt->ndim;
  if (tc__wrap_dim(fn, &dim, stack ? nd + 1 : nd)) return NULL;
  *dimp = dim;
  /* shapes */
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *t = ts[i];
    if (!stack && legacy_empty(t)) continue;
    bool ok = t->ndim == nd;
    for (int d = 0; ok && d < nd; d++) ok = t->sizes[d] == rt->sizes[d] || (!stack && d == dim);
    if (!ok) {
      if (stack)
        tc__error(TC_ERR_SHAPE, "%s: tensor %lld has shape %s but tensor %lld has %s: all tensors must have the same shape",
                  fn, (long long)i, tc__tshape(t), (long long)ref, tc__tshape(rt));
      else if (t->ndim != nd)
        tc__error(TC_ERR_SHAPE, "%s: tensor %lld has shape %s but tensor %lld has %s: tensors must have the same number of dims",
                  fn, (long long)i, tc__tshape(t), (long long)ref, tc__tshape(rt));
      else
        tc__error(TC_ERR_SHAPE, "%s: tensor %lld has shape %s but tensor %lld has %s: sizes must match except in dim %lld",
                  fn, (long long)i, tc__tshape(t), (long long)ref, tc__tshape(rt), (long long)dim);
      return NULL;
    }
    total += stack ? 1 : t->sizes[dim];
  }
  /* output shape; rows = prod(sizes before dim), inner = prod(sizes after dim) of the output */
  int ond = stack ? nd + 1 : nd;
  int64_t osizes[TC_MAX_DIMS + 1];
  if (ond > TC_MAX_DIMS) {
    tc__error(TC_ERR_ARG, "%s: the result would have %d dims (more than %d)", fn, ond, TC_MAX_DIMS);
    return NULL;
  }
  for (int d = 0; d < ond; d++) osizes[d] = d < dim ? rt->sizes[d] : d == dim ? total : rt->sizes[stack ? d - 1 : d];
  int64_t rows = 1, inner = 1;
  for (int d = 0; d < dim; d++) rows *= osizes[d];
  for (int d = (int)dim + 1; d < ond; d++) inner *= osizes[d];
  cat_part local[CAT_STACK_PARTS];
  cat_part *parts = n <= CAT_STACK_PARTS ? local : tc__malloc(sizeof(cat_part) * (size_t)n);
  if (!parts) return NULL;
  tc_tensor *out = tc__empty(osizes, ond, dt, ts[0]->storage->device);
  if (!out) goto fail;
  size_t es = tc_dtype_size(dt);
  int64_t np = 0, row = 0, doff = 0;
  bool any_fast = false;
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *t = ts[i];
    if (!stack && legacy_empty(t)) continue;
    int64_t ds = stack ? 1 : t->sizes[dim];
    cat_part *p = &parts[np];
    p->t = t;
    p->dim_size = ds;
    p->dim_off = doff;
    doff += ds;
    p->chunk = ds * inner * (int64_t)es;
    if (p->chunk == 0) continue;
    p->row_off = row;
    row += p->chunk;
    p->fast = on_cpu && t->dtype == dt && tc__is_contiguous(t);
    p->src = p->fast ? tc__ptr(t) : NULL;
    any_fast |= p->fast;
    np++;
  }
  int64_t nbytes = rows * row;
  if (any_fast && nbytes > 0) {
    cat_ctx c = {parts, np, tc__ptr(out), row};
    if (rows > 1 && row < 512 * np) { /* small chunks: row blocks */
      int64_t grain = CAT_GRAIN_BYTES / row > 1 ? CAT_GRAIN_BYTES / row : 1;
      if (nbytes >= CAT_PARALLEL_BYTES) tc_parallel_for(rows, grain, cat_copy_rows, &c);
      else cat_copy_rows(0, rows, &c);
    } else if (nbytes >= CAT_PARALLEL_BYTES) {
      tc_parallel_for(nbytes, CAT_GRAIN_BYTES, cat_copy_range, &c);
    } else {
      cat_copy_range(0, nbytes, &c);
    }
  }
  for (int64_t k = 0; k < np; k++) {
    const cat_part *p = &parts[k];
    if (p->fast) continue;
    /* slow part: strided copy (with conversion) into its slot of the output */
    int64_t ssz[TC_MAX_DIMS + 1], sst[TC_MAX_DIMS + 1];
    const tc_tensor *t = p->t;
    for (int d = 0, j = 0; d < ond; d++) {
      if (stack && d == dim) {
        ssz[d] = 1;
        sst[d] = 0;
      } else {
        ssz[d] = t->sizes[j];
        sst[d] = t->strides[j];
        j++;
      }
    }
    osizes[dim] = p->dim_size;
    tc_tensor *dst = tc__view(out, osizes, out->strides, ond, p->dim_off * out->strides[dim]);
    tc_tensor *src = dst ? tc__view(t, ssz, sst, ond, t->offset) : NULL;
    tc_status st = src ? tc__copy(dst, src) : tc_last_status();
    tc_tensor_release(dst);
    tc_tensor_release(src);
    if (st) goto fail;
  }
  if (parts != local) tc__free(parts);
  return out;
fail:
  tc_tensor_release(out);
  if (parts != local) tc__free(parts);
  return NULL;
}

tc_tensor *tc_cat(const tc_tensor *const *tensors, int64_t n, int64_t dim) {
  return cat_impl("tc_cat", tensors, tensors, n, dim, false);
}

tc_tensor *tc_stack(const tc_tensor *const *tensors, int64_t n, int64_t dim) {
  return cat_impl("tc_stack", tensors, tensors, n, dim, true);
}

/* hstack/vstack: views of the inputs with at least `mind` dims (torch.atleast_1d/atleast_2d), then
 * cat along `dim` (dim < 0: 0 when the first view is 1-D, else 1). */
static tc_tensor *stack_nd(const char *fn, const tc_tensor *const *ts, int64_t n, int mind, int64_t dim) {
  if (n <= 0 || !ts) {
    tc__error(TC_ERR_ARG, "%s: expected a non-empty list of tensors (n = %lld)", fn, (long long)n);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (!ts[i]) {
      null_in_list(fn, i);
      return NULL;
    }
  tc_tensor **views = tc__calloc(sizeof(tc_tensor *) * (size_t)n);
  if (!views) return NULL;
  tc_tensor *out = NULL;
  int64_t i = 0;
  for (; i < n; i++) {
    const tc_tensor *t = ts[i];
    if (t->ndim >= mind) {
      views[i] = tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
    } else { /* 0-d -> [1] or [1, 1]; [N] -> [1, N] */
      int64_t sz[2] = {1, t->ndim ? t->sizes[0] : 1}, st[2] = {0, t->ndim ? t->strides[0] : 0};
      views[i] = mind == 1 ? tc__view(t, sz + 1, st + 1, 1, t->offset) : tc__view(t, sz, st, 2, t->offset);
    }
    if (!views[i]) break;
  }
  if (i == n) {
    if (dim < 0) dim = views[0]->ndim == 1 ? 0 : 1;
    out = cat_impl(fn, (const tc_tensor *const *)views, ts, n, dim, false);
  }
  for (int64_t k = 0; k < n; k++) tc_tensor_release(views[k]);
  tc__free(views);
  return out;
}

tc_tensor *tc_hstack(const tc_tensor *const *tensors, int64_t n) { return stack_nd("tc_hstack", tensors, n, 1, -1); }

tc_tensor *tc_vstack(const tc_tensor *const *tensors, int64_t n) { return stack_nd("tc_vstack", tensors, n, 2, 0); }
