/* core/src/advindex.c — advanced indexing: tc_index (t[i0, i1, ...]) and tc_index_put_inplace
 * (t[i0, i1, ...] = values, or += with accumulate), as PyTorch/NumPy.
 *
 * indices[k] is NULL (a full slice ':'), an int64/int32 tensor (negative values count back), or a
 * bool/uint8 mask. A mask with m dims covers m dims of t (its shape must equal theirs) and stands for
 * its nonzero() coordinates; a 0-d mask inserts a new dim of size 1 (True) or 0 (False) as Python
 * indexing does. Dims after the last index are full slices.
 *
 * Plan (plan_build): walk the indices over a "working" view of t (t's sizes/strides plus the dims
 * 0-d masks insert), turn every advanced index into an item, broadcast the items' shapes to B, and
 * fold them into one int64 tensor of element offsets with shape B:
 *     offsets[b] = sum over items of wrap(index_k[b]) * stride(dim_k)
 * (a mask contributes the offsets of its nonzero elements directly). All index values are checked
 * here, before anything is allocated for the result or written. The result shape follows NumPy:
 * the B dims replace the indexed dims when the advanced indices are adjacent, else they come first.
 * Then t[...] is a gather over the result shape, reading t + offsets[b] + (slice dims' strides),
 * and index_put is the matching scatter (serial when integer indices may repeat, so duplicates
 * resolve the same way for any thread count: last write wins, additions in order).
 *
 * On a device the plan is made on the host from host copies of the indices, then the gather or
 * scatter runs there: index_put with accumulate adds in order without atomics (deterministic);
 * without it, one of several writes to one element wins, as on PyTorch's CUDA backend.
 *
 * Autograd (index_backward.c): tc_index records IndexBackward0 and tc_index_put_inplace
 * IndexPutBackward0 (made after the checks, before the write), only when an input requires grad.
 */
#include "index_backward.h"
#include "index_kernels.h"

typedef enum { ITEM_INT, ITEM_OFFSETS, ITEM_ZERO } item_kind;

typedef struct {
  item_kind kind;
  const tc_tensor *t;    /* ITEM_INT: the caller's index (borrowed); ITEM_OFFSETS: owned 1-D int64 */
  const tc_tensor *mask; /* ITEM_OFFSETS: the caller's mask (borrowed) */
  int dim;            /* first working dim covered */
  int ndims;          /* working dims covered */
  int orig_dim;       /* the dim of t it indexes (for messages) */
  int64_t len;        /* ITEM_ZERO: 1 (True) or 0 (False) */
} adv_item;

typedef struct {
  int wnd; /* working view */
  int64_t wsizes[TC_MAX_DIMS], wstrides[TC_MAX_DIMS];
  adv_item items[TC_MAX_DIMS];
  int nitems;
  bool any_int;
  int64_t bshape[TC_MAX_DIMS];
  int bnd;
  /* result: rnd dims; src_strides are t's strides on slice dims and 0 on B dims; off_strides are
   * the offsets tensor's strides on B dims and 0 on slice dims */
  int rnd;
  int64_t rsizes[TC_MAX_DIMS], src_strides[TC_MAX_DIMS], off_strides[TC_MAX_DIMS];
  tc_tensor *offsets; /* owned, int64, shape bshape */
} adv_plan;

static void plan_free(adv_plan *p) {
  for (int i = 0; i < p->nitems; i++)
    if (p->items[i].kind == ITEM_OFFSETS) tc_tensor_release((tc_tensor *)p->items[i].t);
  p->nitems = 0;
  tc_tensor_release(p->offsets);
  p->offsets = NULL;
}

/* ---- offsets accumulation: off += wrap(v) * stride ------------------------------------------------ */
typedef struct {
  int64_t size, stride;
} acc_ctx;

#define DEF_ACC(NAME, IT)                                                                            \
  static void NAME(char **p, const int64_t *st, int64_t n, void *vctx) {                             \
    const acc_ctx *c = vctx;                                                                         \
    char *o = p[0];                                                                                  \
    const char *ix = p[1];                                                                           \
    for (int64_t i = 0; i < n; i++, o += st[0], ix += st[1]) {                                       \
      int64_t v = *(const IT *)ix;                                                                   \
      *(int64_t *)o += (v < 0 ? v + c->size : v) * c->stride;                                        \
    }                                                                                                \
  }
DEF_ACC(acc_i64, int64_t)
DEF_ACC(acc_i32, int32_t)

/* Adds item `t` (broadcast to the plan's B shape) into the offsets tensor. */
static tc_status acc_item(adv_plan *p, const tc_tensor *t, int64_t size, int64_t stride) {
  tc_tensor *e = tc__expand_to(t, p->bshape, p->bnd);
  if (!e) return tc_last_status();
  acc_ctx c = {size, stride};
  const tc_tensor *ops[2] = {p->offsets, e};
  tc__foreach(2, ops, t->dtype == TC_I32 ? acc_i32 : acc_i64, &c, TC__GRAIN_ELEMENTWISE);
  tc_tensor_release(e);
  return TC_OK;
}

/* ---- the plan ------------------------------------------------------------------------------------ */

static tc_status too_many(const char *fn, const tc_tensor *t, int64_t n) {
  return tc__error(TC_ERR_ARG, "%s: too many indices for a tensor of shape %s (%lld indices given)", fn,
                   tc__tshape(t), (long long)n);
}

/* on_host: the indices are host copies of a device tensor's indices (device already checked), and
 * the offsets are made on the host (plan_any moves them over). */
static tc_status plan_build(const char *fn, const tc_tensor *t, const tc_tensor *const *indices, int64_t n,
                            adv_plan *p, bool on_host) {
  memset(p, 0, sizeof *p);
  if (n < 0) return tc__error(TC_ERR_ARG, "%s: n = %lld must be >= 0", fn, (long long)n);
  if (n > 0 && !indices) return tc__error(TC_ERR_ARG, "%s: indices is NULL", fn);
  if (n > TC_MAX_DIMS) return too_many(fn, t, n);
  p->wnd = t->ndim;
  memcpy(p->wsizes, t->sizes, sizeof p->wsizes);
  memcpy(p->wstrides, t->strides, sizeof p->wstrides);
  int d = 0, inserted = 0;
  /* pass 1: kinds, dtypes, dims and mask shapes (no allocation) */
  for (int64_t k = 0; k < n; k++) {
    const tc_tensor *ix = indices[k];
    if (!ix) {
      if (d >= p->wnd) return too_many(fn, t, n);
      d++;
      continue;
    }
    if (!on_host && tc__check_same_device(fn, t, ix)) return tc_last_status();
    adv_item *it = &p->items[p->nitems];
    it->dim = d;
    it->orig_dim = d - inserted;
    if (ix->dtype == TC_I64 || ix->dtype == TC_I32) {
      if (d >= p->wnd) return too_many(fn, t, n);
      it->kind = ITEM_INT;
      it->t = ix;
      it->ndims = 1;
      p->any_int = true;
    } else if (ix->dtype == TC_BOOL || ix->dtype == TC_U8) {
      if (ix->ndim == 0) { /* insert a dim of size 1 at d, indexed by [0] (True) or [] (False) */
        if (p->wnd >= TC_MAX_DIMS)
          return tc__error(TC_ERR_ARG, "%s: a 0-d mask adds a dim to %s: more than %d dims", fn, tc__tshape(t),
                           TC_MAX_DIMS);
        memmove(p->wsizes + d + 1, p->wsizes + d, sizeof(int64_t) * (size_t)(p->wnd - d));
        memmove(p->wstrides + d + 1, p->wstrides + d, sizeof(int64_t) * (size_t)(p->wnd - d));
        p->wsizes[d] = 1;
        p->wstrides[d] = 0;
        p->wnd++;
        inserted++;
        it->kind = ITEM_ZERO;
        it->ndims = 1;
        it->len = *(const uint8_t *)tc__ptr(ix) != 0;
      } else {
        if (d + ix->ndim > p->wnd) return too_many(fn, t, n);
        for (int j = 0; j < ix->ndim; j++)
          if (ix->sizes[j] != p->wsizes[d + j])
            return tc__error(TC_ERR_SHAPE,
                             "%s: the shape of the mask %s at index %lld does not match the shape of the indexed "
                             "tensor %s at dim %d",
                             fn, tc__tshape(ix), (long long)k, tc__tshape(t), d - inserted);
        it->kind = ITEM_OFFSETS;
        it->mask = ix; /* its offsets are made in pass 2 */
        it->ndims = ix->ndim;
      }
    } else {
      return tc__error(TC_ERR_DTYPE, "%s: indices[%lld] has dtype %s: index tensors must be int64, int32, bool or uint8",
                       fn, (long long)k, tc_dtype_name(ix->dtype));
    }
    d += it->ndims;
    p->nitems++;
  }
  /* index values in range (before any allocation) */
  for (int i = 0; i < p->nitems; i++) {
    adv_item *it = &p->items[i];
    if (it->kind == ITEM_INT && tc__check_index_range(fn, it->t, p->wsizes[it->dim], it->orig_dim, true))
      return tc_last_status();
  }
  /* broadcast the items' shapes */
  p->bnd = 0;
  for (int i = 0; i < p->nitems; i++) {
    const adv_item *it = &p->items[i];
    int64_t one[1], tmp[TC_MAX_DIMS];
    const int64_t *s = one;
    int ns = 1, nt;
    if (it->kind == ITEM_INT) {
      s = it->t->sizes;
      ns = it->t->ndim;
    } else if (it->kind == ITEM_ZERO) {
      one[0] = it->len;
    } else {
      continue; /* a mask's shape [nnz] is known in pass 2 */
    }
    if (tc__broadcast_shapes(fn, p->bshape, p->bnd, s, ns, tmp, &nt)) return tc_last_status();
    memcpy(p->bshape, tmp, sizeof tmp);
    p->bnd = nt;
  }
  /* pass 2: masks -> offsets (allocates), then broadcast their [nnz] shapes in */
  for (int i = 0; i < p->nitems; i++) {
    adv_item *it = &p->items[i];
    if (it->kind != ITEM_OFFSETS) continue;
    tc_tensor *off = tc__mask_offsets(it->mask, p->wstrides + it->dim);
    if (!off) return tc_last_status();
    it->t = off;
    int64_t nnz = off->sizes[0];
    int64_t tmp[TC_MAX_DIMS];
    int nt;
    if (tc__broadcast_shapes(fn, p->bshape, p->bnd, &nnz, 1, tmp, &nt)) return tc_last_status();
    memcpy(p->bshape, tmp, sizeof tmp);
    p->bnd = nt;
  }
  /* result layout */
  bool adjacent = true;
  for (int i = 1; i < p->nitems; i++)
    if (p->items[i].dim != p->items[i - 1].dim + p->items[i - 1].ndims) adjacent = false;
  bool adv[TC_MAX_DIMS] = {false};
  int nadv = 0;
  for (int i = 0; i < p->nitems; i++)
    for (int j = 0; j < p->items[i].ndims; j++, nadv++) adv[p->items[i].dim + j] = true;
  p->rnd = p->wnd - nadv + p->bnd;
  if (p->rnd > TC_MAX_DIMS)
    return tc__error(TC_ERR_ARG, "%s: the result would have %d dims (more than %d)", fn, p->rnd, TC_MAX_DIMS);
  int64_t bstr[TC_MAX_DIMS];
  tc__contiguous_strides(p->bshape, p->bnd, bstr);
  int bpos = adjacent && p->nitems ? p->items[0].dim : 0; /* where the B dims go among the slice dims */
  int r = 0;
  for (int w = 0; w <= p->wnd; w++) {
    if (w == bpos)
      for (int j = 0; j < p->bnd; j++, r++) {
        p->rsizes[r] = p->bshape[j];
        p->src_strides[r] = 0;
        p->off_strides[r] = bstr[j];
      }
    if (w < p->wnd && !adv[w]) {
      p->rsizes[r] = p->wsizes[w];
      p->src_strides[r] = p->wstrides[w];
      p->off_strides[r] = 0;
      r++;
    }
  }
  TC_ASSERT(r == p->rnd);
  /* the offsets tensor: a single mask's offsets are it already */
  if (p->nitems == 1 && p->items[0].kind == ITEM_OFFSETS) {
    p->offsets = tc_tensor_retain((tc_tensor *)p->items[0].t);
    return TC_OK;
  }
  p->offsets = tc_zeros(p->bshape, p->bnd, TC_OPTS(.dtype = TC_I64, .device = on_host ? tc_cpu() : t->storage->device));
  if (!p->offsets) return tc_last_status();
  if (tc__numel(p->bshape, p->bnd) == 0) return TC_OK;
  for (int i = 0; i < p->nitems; i++) {
    const adv_item *it = &p->items[i];
    tc_status s = TC_OK;
    if (it->kind == ITEM_INT) s = acc_item(p, it->t, p->wsizes[it->dim], p->wstrides[it->dim]);
    else if (it->kind == ITEM_OFFSETS) s = acc_item(p, it->t, 0, 1);
    if (s) return s;
  }
  return TC_OK;
}

/* The plan for t on any device. For a device tensor the indices are read on the host (their
 * values are checked there and masks set the result's size, as PyTorch syncs for them), and the
 * offsets go to the device in one copy. */
static tc_status plan_any(const char *fn, const tc_tensor *t, const tc_tensor *const *indices, int64_t n,
                          adv_plan *p) {
  if (tc__is_cpu(t) || n < 0 || n > TC_MAX_DIMS || (n > 0 && !indices)) return plan_build(fn, t, indices, n, p, false);
  memset(p, 0, sizeof *p);
  const tc_tensor *h[TC_MAX_DIMS] = {0};
  tc_status s = TC_OK;
  for (int64_t k = 0; k < n && !s; k++)
    if (indices[k] && !tc__is_cpu(indices[k]) && (s = tc__check_same_device(fn, t, indices[k]))) break;
  for (int64_t k = 0; k < n && !s; k++)
    if (indices[k] && !(h[k] = tc_tensor_to(indices[k], tc_cpu()))) /* CPU or t's device, as PyTorch */
      s = tc_last_status();
  if (!s) s = plan_build(fn, t, h, n, p, true);
  for (int64_t k = 0; k < n; k++) tc_tensor_release((tc_tensor *)h[k]);
  if (s) return s;
  for (int i = 0; i < p->nitems; i++) /* items borrowed the host copies */
    if (p->items[i].kind == ITEM_INT) p->items[i].t = NULL;
  tc_tensor *d = tc_tensor_to(p->offsets, t->storage->device);
  tc_tensor_release(p->offsets);
  p->offsets = d;
  return d ? TC_OK : tc_last_status();
}

/* Views over the result shape: t's elements (slice dims) and the offsets (B dims). */
static tc_status plan_views(const adv_plan *p, const tc_tensor *t, tc_tensor **tv, tc_tensor **ov) {
  *tv = tc__view(t, p->rsizes, p->src_strides, p->rnd, t->offset);
  *ov = *tv ? tc__view(p->offsets, p->rsizes, p->off_strides, p->rnd, p->offsets->offset) : NULL;
  if (*ov) return TC_OK;
  tc_tensor_release(*tv);
  *tv = NULL;
  return tc_last_status();
}

tc_tensor *tc_index(const tc_tensor *t, const tc_tensor *const *indices, int64_t n) {
  const char *fn = "tc_index";
  TC__NONNULL_T(t, fn);
  adv_plan p;
  tc_tensor *out = NULL, *tv = NULL, *ov = NULL;
  if (plan_any(fn, t, indices, n, &p) == TC_OK && plan_views(&p, t, &tv, &ov) == TC_OK) {
    out = tc__empty(p.rsizes, p.rnd, t->dtype, t->storage->device);
    if (out && tc__index_gather(out, tv, ov, (int64_t)tc_dtype_size(t->dtype))) {
      tc_tensor_release(out);
      out = NULL;
    }
  }
  tc_tensor_release(tv);
  tc_tensor_release(ov);
  plan_free(&p);
  if (out && tc__grad_needed(1, &t)) out = tc__index_record_out(tc__index_node(t, indices, n), out);
  return out;
}

tc_status tc_index_put_inplace(tc_tensor *self, const tc_tensor *const *indices, int64_t n, const tc_tensor *values,
                               bool accumulate) {
  const char *fn = "tc_index_put_inplace";
  TC__NONNULL_S(self, fn);
  TC__NONNULL_S(values, fn);
  const tc_tensor *ins[2] = {self, values};
  bool grad = tc__grad_needed(2, ins);
  if (grad && tc__check_inplace(fn, self)) return tc_last_status();
  if (tc__check_same_device(fn, self, values)) return tc_last_status();
  if (values->dtype != self->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: values dtype %s does not match self dtype %s (convert values first)", fn,
                     tc_dtype_name(values->dtype), tc_dtype_name(self->dtype));
  if (tc__check_no_overlap(fn, self)) return tc_last_status();
  adv_plan p;
  tc_status s = plan_any(fn, self, indices, n, &p);
  tc_tensor *tv = NULL, *ov = NULL, *vv = NULL;
  if (s == TC_OK) {
    /* values broadcast to the result shape; extra leading dims of size 1 are dropped, as Python's
     * t[idx] = v does */
    int vnd = values->ndim, lead = 0;
    while (vnd - lead > p.rnd && values->sizes[lead] == 1) lead++;
    bool ok = vnd - lead <= p.rnd;
    int64_t vstr[TC_MAX_DIMS];
    for (int r = 0; ok && r < p.rnd; r++) {
      int j = r - (p.rnd - (vnd - lead)) + lead;
      if (j < lead) vstr[r] = 0;
      else if (values->sizes[j] == p.rsizes[r]) vstr[r] = values->strides[j];
      else if (values->sizes[j] == 1) vstr[r] = 0;
      else ok = false;
    }
    if (!ok)
      s = tc__error(TC_ERR_SHAPE, "%s: shape mismatch: values of shape %s cannot be broadcast to the indexing result of shape %s",
                    fn, tc__tshape(values), tc__shape_str(p.rsizes, p.rnd));
    else if ((s = plan_views(&p, self, &tv, &ov)) == TC_OK) {
      vv = tc__view(values, p.rsizes, vstr, p.rnd, values->offset);
      if (!vv) s = tc_last_status();
    }
  }
  tc__node *node = NULL;
  if (s == TC_OK && grad && !(node = tc__index_put_node(self, indices, n, values, accumulate))) s = tc_last_status();
  if (s == TC_OK && tc__is_cpu(self)) {
    tc__index_scatter(tv, vv, ov, (int64_t)tc_dtype_size(self->dtype), accumulate, !p.any_int);
  } else if (s == TC_OK) { /* accumulate: additions in order, no atomics; else one write wins per target */
    s = accumulate ? tc__device_index_scatter_add(tv, vv, ov, 1, 1.0, tc__view_extent(self))
                   : tc__device_index_scatter(tv, vv, ov, 1);
  }
  if (s == TC_OK) tc__bump_version(self);
  tc_tensor_release(tv);
  tc_tensor_release(ov);
  tc_tensor_release(vv);
  plan_free(&p);
  return node ? tc__index_record_inplace(node, self, s) : s;
}
