/* core/src/mask.c — masked_fill (out of place and in place), masked_select and where.
 *
 * PyTorch semantics:
 *   - masks are bool (masked_fill/masked_select reject uint8, as PyTorch does); where's condition
 *     may be bool or (deprecated in PyTorch, still accepted) uint8;
 *   - masked_fill(t, mask, v) has the broadcast shape of t and mask; the in-place form never
 *     broadcasts self; v must fit self's dtype (300 into int8 is an error, 2.5 into int64 gives 2);
 *   - masked_select broadcasts t and mask and returns the selected elements, row-major, as 1-D;
 *   - where(cond, a, b) broadcasts all three; its dtype is torch.result_type(a, b), where a 0-d
 *     tensor only raises the category (int32 [n] with a 0-d float64 -> float64, uint8 [n] with a
 *     0-d int8 -> uint8).
 * The selects move raw elements by size (1, 2, 4 or 8 bytes), so every dtype is handled at once;
 * on a device they run on the backend's select kernel (masked_select reads the mask on the host,
 * since the count sets the result's size).
 * Autograd nodes (MaskedFillBackward0, MaskedSelectBackward0, WhereBackward0) are recorded through
 * index_backward.c, only when an input requires grad; masks and conditions get no gradient.
 */
#include "index_backward.h"
#include "index_kernels.h"

static tc_status check_mask(const char *fn, const tc_tensor *mask, bool allow_u8) {
  if (mask->dtype == TC_BOOL || (allow_u8 && mask->dtype == TC_U8)) return TC_OK;
  return tc__error(TC_ERR_DTYPE, "%s: %s must be bool, got %s", fn, allow_u8 ? "condition" : "mask",
                   tc_dtype_name(mask->dtype));
}

/* On a device: the fill value as a 0-d tensor of dtype d broadcast to (bs, nb), for the select
 * kernel (new reference, NULL on failure). */
static tc_tensor *device_value(double value, tc_dtype d, tc_device dev, const int64_t *bs, int nb) {
  tc_tensor *v = tc_full(NULL, 0, value, TC_OPTS(.dtype = d, .device = dev));
  tc_tensor *e = v ? tc__expand_to(v, bs, nb) : NULL;
  tc_tensor_release(v);
  return e;
}

/* ---- masked_fill ------------------------------------------------------------------------------- */
/* ptrs: out, in, mask. out = mask ? value : in. ctx: the value's bytes. */
#define DEF_MFILL(ES, T)                                                                              \
  static void mfill_##ES(char **p, const int64_t *st, int64_t n, void *vctx) {                        \
    T v;                                                                                              \
    memcpy(&v, vctx, ES);                                                                             \
    char *o = p[0];                                                                                   \
    const char *s = p[1], *m = p[2];                                                                  \
    if (st[0] == ES && st[1] == ES && st[2] == 1) {                                                   \
      T *restrict oo = (T *)(void *)o;                                                                \
      const T *restrict ss = (const T *)(const void *)s;                                              \
      const uint8_t *restrict mm = (const uint8_t *)m;                                                \
      for (int64_t i = 0; i < n; i++) oo[i] = mm[i] ? v : ss[i];                                      \
      return;                                                                                         \
    }                                                                                                 \
    for (int64_t i = 0; i < n; i++, o += st[0], s += st[1], m += st[2]) {                             \
      T x;                                                                                            \
      memcpy(&x, s, ES);                                                                              \
      if (*(const uint8_t *)m) x = v;                                                                 \
      memcpy(o, &x, ES);                                                                              \
    }                                                                                                 \
  }
COPY_SIZES(DEF_MFILL)
static const tc__loop_fn mfill_fns[4] = {mfill_1, mfill_2, mfill_4, mfill_8};

/* ptrs: self, mask. self = mask ? value : self. */
#define DEF_MFILL_INPLACE(ES, T)                                                                      \
  static void mfill_inplace_##ES(char **p, const int64_t *st, int64_t n, void *vctx) {                \
    T v;                                                                                              \
    memcpy(&v, vctx, ES);                                                                             \
    char *o = p[0];                                                                                   \
    const char *m = p[1];                                                                             \
    if (st[0] == ES && st[1] == 1) {                                                                  \
      T *restrict oo = (T *)(void *)o;                                                                \
      const uint8_t *restrict mm = (const uint8_t *)m;                                                \
      for (int64_t i = 0; i < n; i++) oo[i] = mm[i] ? v : oo[i];                                      \
      return;                                                                                         \
    }                                                                                                 \
    for (int64_t i = 0; i < n; i++, o += st[0], m += st[1])                                           \
      if (*(const uint8_t *)m) memcpy(o, &v, ES);                                                     \
  }
COPY_SIZES(DEF_MFILL_INPLACE)
static const tc__loop_fn mfill_inplace_fns[4] = {mfill_inplace_1, mfill_inplace_2, mfill_inplace_4, mfill_inplace_8};

tc_tensor *tc_masked_fill(const tc_tensor *t, const tc_tensor *mask, double value) {
  const char *fn = "tc_masked_fill";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(mask, fn);
  if (tc__check_same_device(fn, t, mask)) return NULL;
  if (check_mask(fn, mask, false) || tc__check_value_fits(fn, "value", value, t->dtype)) return NULL;
  int64_t bs[TC_MAX_DIMS];
  int nb;
  if (tc__broadcast_shapes(fn, t->sizes, t->ndim, mask->sizes, mask->ndim, bs, &nb)) return NULL;
  uint64_t vbytes = 0;
  tc__store_double(&vbytes, t->dtype, value);
  tc_tensor *out = tc__empty(bs, nb, t->dtype, t->storage->device);
  tc_tensor *te = out ? tc__expand_to(t, bs, nb) : NULL;
  tc_tensor *me = te ? tc__expand_to(mask, bs, nb) : NULL;
  if (!me) {
    tc_tensor_release(te);
    tc_tensor_release(out);
    return NULL;
  }
  if (tc__is_cpu(t)) {
    const tc_tensor *ops[3] = {out, te, me};
    tc__foreach(3, ops, mfill_fns[tc__size_slot(tc_dtype_size(t->dtype))], &vbytes, TC__GRAIN_ELEMENTWISE);
  } else {
    tc_tensor *ve = device_value(value, t->dtype, t->storage->device, bs, nb);
    if (!ve || tc__device_select(out, me, ve, te)) {
      tc_tensor_release(out);
      out = NULL;
    }
    tc_tensor_release(ve);
  }
  tc_tensor_release(te);
  tc_tensor_release(me);
  if (out && tc__grad_needed(1, &t)) out = tc__index_record_out(tc__masked_fill_node(t, mask), out);
  return out;
}

tc_status tc_masked_fill_inplace(tc_tensor *self, const tc_tensor *mask, double value) {
  const char *fn = "tc_masked_fill_inplace";
  TC__NONNULL_S(self, fn);
  TC__NONNULL_S(mask, fn);
  bool grad = tc__grad_needed(1, (const tc_tensor *const *)&self);
  if (grad && tc__check_inplace(fn, self)) return tc_last_status();
  if (tc__check_same_device(fn, self, mask)) return tc_last_status();
  if (check_mask(fn, mask, false) || tc__check_value_fits(fn, "value", value, self->dtype)) return tc_last_status();
  if (tc__check_no_overlap(fn, self)) return tc_last_status();
  int64_t bs[TC_MAX_DIMS];
  int nb;
  if (tc__broadcast_shapes(fn, self->sizes, self->ndim, mask->sizes, mask->ndim, bs, &nb)) return tc_last_status();
  if (nb != self->ndim || memcmp(bs, self->sizes, sizeof(int64_t) * (size_t)nb) != 0)
    return tc__error(TC_ERR_SHAPE, "%s: mask of shape %s does not broadcast to self's shape %s (the broadcast shape is %s)",
                     fn, tc__tshape(mask), tc__tshape(self), tc__shape_str(bs, nb));
  uint64_t vbytes = 0;
  tc__store_double(&vbytes, self->dtype, value);
  tc_tensor *me = tc__expand_to(mask, self->sizes, self->ndim);
  if (!me) return tc_last_status();
  tc__node *node = grad ? tc__masked_fill_node(self, mask) : NULL;
  if (grad && !node) {
    tc_tensor_release(me);
    return tc_last_status();
  }
  tc_status st = TC_OK;
  if (tc__is_cpu(self)) {
    const tc_tensor *ops[2] = {self, me};
    tc__foreach(2, ops, mfill_inplace_fns[tc__size_slot(tc_dtype_size(self->dtype))], &vbytes, TC__GRAIN_ELEMENTWISE);
  } else {
    tc_tensor *ve = device_value(value, self->dtype, self->storage->device, self->sizes, self->ndim);
    st = ve ? tc__device_select(self, me, ve, self) : tc_last_status();
    tc_tensor_release(ve);
  }
  tc_tensor_release(me);
  if (!st) tc__bump_version(self);
  return node ? tc__index_record_inplace(node, self, st) : st;
}

/* ---- masked_select ----------------------------------------------------------------------------- */
/* The offsets of the selected elements within the broadcast view of t, then a gather. */

tc_tensor *tc_masked_select(const tc_tensor *t, const tc_tensor *mask) {
  const char *fn = "tc_masked_select";
  TC__NONNULL_T(t, fn);
  TC__NONNULL_T(mask, fn);
  if (tc__check_same_device(fn, t, mask)) return NULL;
  if (check_mask(fn, mask, false)) return NULL;
  int64_t bs[TC_MAX_DIMS];
  int nb;
  if (tc__broadcast_shapes(fn, t->sizes, t->ndim, mask->sizes, mask->ndim, bs, &nb)) return NULL;
  tc_tensor *te = tc__expand_to(t, bs, nb);
  tc_tensor *me = te ? tc__expand_to(mask, bs, nb) : NULL;
  tc_tensor *off = me ? tc__mask_offsets(me, te->strides) : NULL;
  tc_tensor *out = off ? tc__empty(off->sizes, 1, t->dtype, t->storage->device) : NULL;
  int64_t zero = 0;
  tc_tensor *src = out ? tc__view(t, off->sizes, &zero, 1, t->offset) : NULL; /* t's first element, n times */
  if (!src || tc__index_gather(out, src, off, (int64_t)tc_dtype_size(t->dtype))) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor *tmp[4] = {te, me, off, src};
  for (int i = 0; i < 4; i++) tc_tensor_release(tmp[i]);
  if (out && tc__grad_needed(1, &t)) out = tc__index_record_out(tc__masked_select_node(t, mask, bs, nb), out);
  return out;
}

/* ---- where ------------------------------------------------------------------------------------- */

static tc_dtype promote_opt(tc_dtype a, tc_dtype b) {
  if (a == TC_DTYPE_DEFAULT) return b;
  if (b == TC_DTYPE_DEFAULT) return a;
  return tc_promote_types(a, b);
}

/* torch.result_type(a, b): dimensioned tensors first, 0-d tensors only raise the category. */
static tc_dtype result_type2(const tc_tensor *a, const tc_tensor *b) {
  tc_dtype dim = TC_DTYPE_DEFAULT, zero = TC_DTYPE_DEFAULT;
  const tc_tensor *ts[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    if (ts[i]->ndim > 0) dim = promote_opt(dim, ts[i]->dtype);
    else zero = promote_opt(zero, ts[i]->dtype);
  }
  if (dim == TC_DTYPE_DEFAULT) return zero;
  if (zero == TC_DTYPE_DEFAULT) return dim;
  if (tc_dtype_is_complex(dim)) return dim;
  if (tc_dtype_is_complex(zero)) return tc_dtype_is_floating(dim) ? (dim == TC_F64 ? TC_DTYPE_DEFAULT : TC_C64) : zero;
  if (tc_dtype_is_floating(dim)) return dim;
  if (dim == TC_BOOL || tc_dtype_is_floating(zero)) return tc_promote_types(dim, zero);
  return dim;
}

/* ptrs: out, cond, a, b. */
#define DEF_WHERE(ES, T)                                                                              \
  static void where_##ES(char **p, const int64_t *st, int64_t n, void *vctx) {                        \
    (void)vctx;                                                                                       \
    char *o = p[0];                                                                                   \
    const char *c = p[1], *a = p[2], *b = p[3];                                                       \
    if (st[0] == ES && st[1] == 1 && st[2] == ES && st[3] == ES) {                                    \
      T *restrict oo = (T *)(void *)o;                                                                \
      const uint8_t *restrict cc = (const uint8_t *)c;                                                \
      const T *restrict aa = (const T *)(const void *)a, *restrict bb = (const T *)(const void *)b;   \
      for (int64_t i = 0; i < n; i++) oo[i] = cc[i] ? aa[i] : bb[i];                                  \
      return;                                                                                         \
    }                                                                                                 \
    for (int64_t i = 0; i < n; i++, o += st[0], c += st[1], a += st[2], b += st[3])                   \
      memcpy(o, *(const uint8_t *)c ? a : b, ES);                                                     \
  }
COPY_SIZES(DEF_WHERE)
static const tc__loop_fn where_fns[4] = {where_1, where_2, where_4, where_8};

/* t itself (a new view) when it has dtype d, else a converted contiguous copy. */
static tc_tensor *as_dtype(const tc_tensor *t, tc_dtype d) {
  if (t->dtype == d) return tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
  return tc__to_dtype_contig(t, d);
}

/* where with every operand on cond's device (autograd records a and b as given). */
static tc_tensor *where_on(const char *fn, const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b) {
  if (tc__check_same_device(fn, cond, a) || tc__check_same_device(fn, cond, b)) return NULL;
  if (check_mask(fn, cond, true)) return NULL;
  tc_dtype rt = result_type2(a, b);
  if (rt == TC_DTYPE_DEFAULT) {
    tc__error(TC_ERR_DTYPE, "%s: no common dtype for %s and %s", fn, tc_dtype_name(a->dtype), tc_dtype_name(b->dtype));
    return NULL;
  }
  int64_t s1[TC_MAX_DIMS], bs[TC_MAX_DIMS];
  int n1, nb;
  if (tc__broadcast_shapes(fn, cond->sizes, cond->ndim, a->sizes, a->ndim, s1, &n1) ||
      tc__broadcast_shapes(fn, s1, n1, b->sizes, b->ndim, bs, &nb))
    return NULL;
  tc_tensor *out = tc__empty(bs, nb, rt, cond->storage->device);
  tc_tensor *ac = out ? as_dtype(a, rt) : NULL;
  tc_tensor *bc = ac ? as_dtype(b, rt) : NULL;
  tc_tensor *ce = bc ? tc__expand_to(cond, bs, nb) : NULL;
  tc_tensor *ae = ce ? tc__expand_to(ac, bs, nb) : NULL;
  tc_tensor *be = ae ? tc__expand_to(bc, bs, nb) : NULL;
  if (be && tc__is_cpu(cond)) {
    const tc_tensor *ops[4] = {out, ce, ae, be};
    tc__foreach(4, ops, where_fns[tc__size_slot(tc_dtype_size(rt))], NULL, TC__GRAIN_ELEMENTWISE);
  } else if (!be || tc__device_select(out, ce, ae, be)) {
    tc_tensor_release(out);
    out = NULL;
  }
  tc_tensor *tmp[5] = {ac, bc, ce, ae, be};
  for (int i = 0; i < 5; i++) tc_tensor_release(tmp[i]);
  const tc_tensor *ins[2] = {a, b};
  if (out && tc__grad_needed(2, ins)) out = tc__index_record_out(tc__where_node(cond, a, b), out);
  return out;
}

tc_tensor *tc_where(const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b) {
  const char *fn = "tc_where";
  TC__NONNULL_T(cond, fn);
  TC__NONNULL_T(a, fn);
  TC__NONNULL_T(b, fn);
  bool ma = false, mb = false; /* 0-d CPU values with a device condition: moved there, as scalars */
  a = tc__scalar_to_device_of(a, cond, &ma);
  b = a ? tc__scalar_to_device_of(b, cond, &mb) : NULL;
  if (!a || !b) {
    if (ma) tc_tensor_release((tc_tensor *)a);
    return NULL;
  }
  tc_tensor *r = where_on(fn, cond, a, b);
  if (ma) tc_tensor_release((tc_tensor *)a);
  if (mb) tc_tensor_release((tc_tensor *)b);
  return r;
}
