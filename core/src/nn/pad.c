/* core/src/nn/pad.c — F.pad (constant, reflect, replicate, circular) and its backward.
 *
 * pad holds (left, right) pairs from the last dim backwards. Every mode reduces to one index map
 * per padded dim: output position o reads input position map[o], or the fill value when map[o] is
 * -1 (constant mode outside the input). With i = o - left:
 *   constant   i when 0 <= i < size, else -1        (negative pads crop)
 *   reflect    -i when i < 0, 2 (size - 1) - i when i >= size
 *   replicate  clamp(i, 0, size - 1)
 *   circular   the input cropped by the negative pads, repeated: PyTorch first crops, then wraps
 *              the positive pads around the cropped part (F.pad(x, (-1, 2), 'circular') on
 *              [0, 1, 2, 3] is [1, 2, 3, 1, 2]).
 * These are PyTorch's kernels' formulas, negative pads included. The maps are separable, so the
 * output is produced row by row: each output row of the last dim comes from one input row (or is
 * all fill), with the unpadded middle copied by memcpy.
 *
 * The backward (tc__pad_backward, for autograd) runs the same maps the other way and accumulates:
 * reflect/replicate/circular read some input cells several times, and their gradients add up.
 */
#include "nn/conv_internal.h"

#define FN "tc_pad"
#define MAX_PADDED TC_MAX_DIMS

static const char *mode_name(tc_pad_mode m) {
  switch (m) {
    case TC_PAD_CONSTANT: return "constant";
    case TC_PAD_REFLECT: return "reflect";
    case TC_PAD_REPLICATE: return "replicate";
    default: return "circular";
  }
}

/* A validated padding: k padded dims (the last k of ndim), output sizes, and per padded dim its
 * (left, right) pads (left first: pad[2*(k-1-j)] pads dim ndim-k+j). */
typedef struct {
  int ndim, k;
  tc_pad_mode mode;
  int64_t in[TC_MAX_DIMS], out[TC_MAX_DIMS];
  int64_t left[TC_MAX_DIMS], right[TC_MAX_DIMS]; /* indexed by dim */
} pad_plan;

/* Checks a padding against an input shape the way PyTorch does and fills the plan. fn names the
 * caller in messages. */
static tc_status plan_pad(const char *fn, const int64_t *sizes, int64_t ndim, const int64_t *pad, int64_t npad,
                          tc_pad_mode mode, pad_plan *p) {
  const char *shape = tc__shape_str(sizes, (int)ndim);
  if (mode < TC_PAD_CONSTANT || mode > TC_PAD_CIRCULAR) return tc__error(TC_ERR_ARG, "%s: unknown pad mode %d", fn, (int)mode);
  if (npad < 0 || npad % 2 != 0)
    return tc__error(TC_ERR_ARG, "%s: padding length must be divisible by 2, got %lld", fn, (long long)npad);
  if (npad > 0 && !pad) return tc__error(TC_ERR_ARG, "%s: pad is NULL but npad is %lld", fn, (long long)npad);
  int64_t k = npad / 2;
  if (mode == TC_PAD_CONSTANT) {
    if (k > ndim)
      return tc__error(TC_ERR_ARG,
                       "%s: padding length %lld is more than two times the input dimension (input %s has %lld dims)",
                       fn, (long long)npad, shape, (long long)ndim);
  } else {
    if (k < 1 || k > 3 || (ndim != k + 1 && ndim != k + 2))
      return tc__error(TC_ERR_UNSUPPORTED,
                       "%s: %s padding of %lld values needs a %lld-D or %lld-D input (the last %lld dims are padded), "
                       "but input is %s",
                       fn, mode_name(mode), (long long)npad, (long long)(k + 1), (long long)(k + 2),
                       (long long)(k > 0 ? k : 1), shape);
    if (mode != TC_PAD_CIRCULAR)
      for (int64_t d = 1; d < ndim; d++)
        if (sizes[d] == 0)
          return tc__error(TC_ERR_SHAPE, "%s: %s padding needs non-empty dims other than dim 0, but input is %s", fn,
                           mode_name(mode), shape);
  }
  p->ndim = (int)ndim;
  p->k = (int)k;
  p->mode = mode;
  for (int64_t d = 0; d < ndim; d++) {
    p->in[d] = p->out[d] = sizes[d];
    p->left[d] = p->right[d] = 0;
  }
  for (int64_t j = 0; j < k; j++) {
    int64_t d = ndim - 1 - j, l = pad[2 * j], r = pad[2 * j + 1], n = sizes[d];
    if (l > INT64_MAX / 4 || l < -INT64_MAX / 4 || r > INT64_MAX / 4 || r < -INT64_MAX / 4)
      return tc__error(TC_ERR_ARG, "%s: padding (%lld, %lld) of dim %lld is out of range", fn, (long long)l,
                       (long long)r, (long long)d);
    int64_t o = n + l + r;
    if (mode == TC_PAD_REFLECT && (l >= n || r >= n))
      return tc__error(TC_ERR_SHAPE,
                       "%s: reflect padding (%lld, %lld) of dim %lld must be less than that dim's size in input %s", fn,
                       (long long)l, (long long)r, (long long)d, shape);
    if (mode == TC_PAD_CIRCULAR) {
      if (l > n || r > n)
        return tc__error(TC_ERR_SHAPE,
                         "%s: circular padding (%lld, %lld) of dim %lld wraps around input %s more than once", fn,
                         (long long)l, (long long)r, (long long)d, shape);
      /* Positive pads repeat the part left after cropping; PyTorch reads unwritten memory when they
       * exceed it, so such pads are refused here. */
      int64_t kept = n + (l < 0 ? l : 0) + (r < 0 ? r : 0);
      if (o >= 0 && ((l > 0 && l > kept) || (r > 0 && r > kept)))
        return tc__error(TC_ERR_SHAPE,
                         "%s: circular padding (%lld, %lld) of dim %lld of input %s wraps around the %lld cells left "
                         "after cropping more than once",
                         fn, (long long)l, (long long)r, (long long)d, shape, (long long)kept);
    }
    if (o < 0 || (o == 0 && (mode == TC_PAD_REFLECT || mode == TC_PAD_REPLICATE)))
      return tc__error(TC_ERR_SHAPE, "%s: padding (%lld, %lld) of dim %lld makes input %s too small: output size %lld",
                       fn, (long long)l, (long long)r, (long long)d, shape, (long long)o);
    p->left[d] = l;
    p->right[d] = r;
    p->out[d] = o;
  }
  return TC_OK;
}

/* Input index read by output index o of dim d, or -1 for the fill value. */
static int64_t map_index(const pad_plan *p, int d, int64_t o) {
  int64_t n = p->in[d], l = p->left[d], i = o - l;
  switch (p->mode) {
    case TC_PAD_CONSTANT: return (i >= 0 && i < n) ? i : -1;
    case TC_PAD_REFLECT:
      if (i < 0) return -i;
      if (i >= n) return 2 * (n - 1) - i;
      return i;
    case TC_PAD_REPLICATE: return i < 0 ? 0 : (i >= n ? n - 1 : i);
    default: {
      int64_t lo = l < 0 ? -l : 0, kept = n - lo - (p->right[d] < 0 ? -p->right[d] : 0);
      int64_t j = o - (l > 0 ? l : 0); /* position relative to the kept part's start */
      j %= kept;
      if (j < 0) j += kept;
      return lo + j;
    }
  }
}

/* Index maps for the padded dims, one array per dim laid end to end (maps + off[d]). */
typedef struct {
  int64_t *maps;
  int64_t off[TC_MAX_DIMS];
} pad_maps;

static tc_status build_maps(const pad_plan *p, pad_maps *m) {
  int64_t total = 0;
  for (int d = p->ndim - p->k; d < p->ndim; d++) {
    m->off[d] = total;
    total += p->out[d];
  }
  m->maps = tc__malloc((size_t)(total > 0 ? total : 1) * sizeof(int64_t));
  if (!m->maps) return TC_ERR_NOMEM;
  for (int d = p->ndim - p->k; d < p->ndim; d++)
    for (int64_t o = 0; o < p->out[d]; o++) m->maps[m->off[d] + o] = map_index(p, d, o);
  return TC_OK;
}

/* Rows: the output seen as (rows, out[last]) where last is the last dim; a row index decomposes
 * into leading (unpadded) dims and the outer padded dims. k == 0 (constant mode, nothing padded)
 * is handled by the caller with a plain copy. */
typedef struct {
  const pad_plan *p;
  const pad_maps *m;
  const char *src; /* contiguous input */
  char *dst;       /* contiguous output */
  size_t es;
  char fill[16];
  int64_t lead; /* first padded dim */
} fwd_ctx;

/* The input row (element offset of its first element) that output row r reads, or -1 (fill). */
static int64_t src_row(const pad_plan *p, const pad_maps *m, int64_t lead, int64_t r) {
  int last = p->ndim - 1;
  int64_t off = 0, stride = p->in[last];
  for (int d = last - 1; d >= 0; d--) {
    int64_t o = r % p->out[d];
    r /= p->out[d];
    int64_t i = d >= lead ? m->maps[m->off[d] + o] : o;
    if (i < 0) return -1;
    off += i * stride;
    stride *= p->in[d];
  }
  return off;
}

static void fwd_rows(int64_t r0, int64_t r1, void *vctx) {
  const fwd_ctx *c = vctx;
  const pad_plan *p = c->p;
  int last = p->ndim - 1;
  int64_t wo = p->out[last], wi = p->in[last];
  const int64_t *map = c->m->maps + c->m->off[last];
  size_t es = c->es;
  /* The central run of the last dim reads consecutive input: o in [c0, c1) reads o - left. */
  int64_t l = p->left[last];
  int64_t c0 = l > 0 ? l : 0, c1 = l + wi < wo ? l + wi : wo;
  if (p->mode == TC_PAD_CIRCULAR) c1 = (p->right[last] > 0) ? wo - p->right[last] : wo;
  if (c0 > wo) c0 = wo; /* constant mode can crop the whole input away */
  if (c1 < c0) c1 = c0;
  for (int64_t r = r0; r < r1; r++) {
    char *out = c->dst + (size_t)(r * wo) * es;
    int64_t s = src_row(p, c->m, c->lead, r);
    if (s < 0) {
      for (int64_t o = 0; o < wo; o++) memcpy(out + (size_t)o * es, c->fill, es);
      continue;
    }
    const char *in = c->src + (size_t)s * es;
#define PAD_ROW_LOOP(T)                                                                  \
  do {                                                                                   \
    T *o_ = (T *)(void *)out;                                                            \
    const T *i_ = (const T *)(const void *)in;                                           \
    T f_;                                                                                \
    memcpy(&f_, c->fill, sizeof f_);                                                     \
    for (int64_t o = 0; o < c0; o++) o_[o] = map[o] < 0 ? f_ : i_[map[o]];               \
    if (c1 > c0) memcpy(o_ + c0, i_ + map[c0], (size_t)(c1 - c0) * sizeof(T));           \
    for (int64_t o = c1; o < wo; o++) o_[o] = map[o] < 0 ? f_ : i_[map[o]];              \
  } while (0)
    switch (es) {
      case 1: PAD_ROW_LOOP(uint8_t); break;
      case 2: PAD_ROW_LOOP(uint16_t); break;
      case 4: PAD_ROW_LOOP(uint32_t); break;
      default: PAD_ROW_LOOP(uint64_t); break;
    }
#undef PAD_ROW_LOOP
  }
}

static int64_t numel_of(const int64_t *s, int n) {
  int64_t t = 1;
  for (int i = 0; i < n; i++) t *= s[i];
  return t;
}

/* ---- on a device ---------------------------------------------------------------------------------
 * Composed of device ops without history (the caller records the pad's own node). Constant mode
 * fills the output and copies the kept block of the input into place; the other modes gather
 * along each padded dim in turn with its map (index_select). The backward runs the maps the other
 * way: constant mode copies the block of grad_out into zeros, the others add along each padded dim
 * in turn (index_add, which sums in a fixed order on a device: deterministic). */

/* The block of padded dim d that constant mode keeps: outputs [*o0, *o0 + *len) read inputs from
 * *i0 on (the maps' non-negative entries are consecutive). */
static void kept_range(const pad_plan *p, const pad_maps *m, int d, int64_t *o0, int64_t *i0, int64_t *len) {
  const int64_t *map = m->maps + m->off[d];
  int64_t a = 0, b;
  while (a < p->out[d] && map[a] < 0) a++;
  for (b = a; b < p->out[d] && map[b] >= 0; b++) {
  }
  *o0 = a, *i0 = a < p->out[d] ? map[a] : 0, *len = b - a;
}

/* Copies the kept block between a tensor of the output shape and one of the input shape:
 * to_out: out_shaped[block] = in_shaped[block], else the other way. */
static tc_status copy_kept(const pad_plan *p, const pad_maps *m, tc_tensor *out_shaped, tc_tensor *in_shaped,
                           bool to_out) {
  tc_tensor *ov = tc_tensor_retain(out_shaped), *iv = tc_tensor_retain(in_shaped);
  for (int d = p->ndim - p->k; d < p->ndim && ov && iv; d++) {
    int64_t o0, i0, len;
    kept_range(p, m, d, &o0, &i0, &len);
    if (len == 0) { /* nothing kept: the copy is empty */
      tc_tensor_release(ov);
      tc_tensor_release(iv);
      return TC_OK;
    }
    tc_tensor *a = tc_narrow(ov, d, o0, len), *b = tc_narrow(iv, d, i0, len);
    tc_tensor_release(ov);
    tc_tensor_release(iv);
    ov = a, iv = b;
  }
  tc_status s = ov && iv ? (to_out ? tc__copy(ov, iv) : tc__copy(iv, ov)) : tc_last_status();
  tc_tensor_release(ov);
  tc_tensor_release(iv);
  return s;
}

/* The map of padded dim d as an int64 tensor on dev. */
static tc_tensor *map_tensor(const pad_plan *p, const pad_maps *m, int d, tc_device dev) {
  tc_tensor *h = tc_tensor_from_data(m->maps + m->off[d], &p->out[d], 1, TC_I64);
  tc_tensor *r = h ? tc_tensor_to(h, dev) : NULL;
  tc_tensor_release(h);
  return r;
}

static tc_tensor *device_pad_fwd(const tc_tensor *x, const pad_plan *p, const pad_maps *m, double value) {
  tc_device dev = x->storage->device;
  tc_tensor *out = NULL;
  tc_no_grad_push();
  if (p->mode == TC_PAD_CONSTANT) {
    out = tc_full(p->out, p->ndim, value, TC_OPTS(.dtype = x->dtype, .device = dev));
    if (out && copy_kept(p, m, out, (tc_tensor *)x, true)) {
      tc_tensor_release(out);
      out = NULL;
    }
  } else {
    out = tc_tensor_retain((tc_tensor *)x);
    for (int d = p->ndim - p->k; d < p->ndim && out; d++) {
      tc_tensor *idx = map_tensor(p, m, d, dev);
      tc_tensor *next = idx ? tc_index_select(out, d, idx) : NULL;
      tc_tensor_release(idx);
      tc_tensor_release(out);
      out = next;
    }
  }
  tc_no_grad_pop();
  return out;
}

/* grad_in in dtype dt from grad_out go (converted to dt by the caller). */
static tc_tensor *device_pad_bwd(const tc_tensor *go, const pad_plan *p, const pad_maps *m, tc_dtype dt) {
  tc_device dev = go->storage->device;
  tc_tensor *gi = NULL;
  tc_no_grad_push();
  if (p->mode == TC_PAD_CONSTANT) {
    gi = tc_zeros(p->in, p->ndim, TC_OPTS(.dtype = dt, .device = dev));
    if (gi && copy_kept(p, m, (tc_tensor *)go, gi, false)) {
      tc_tensor_release(gi);
      gi = NULL;
    }
  } else {
    gi = tc_tensor_retain((tc_tensor *)go);
    for (int d = p->ndim - 1; d >= p->ndim - p->k && gi; d--) { /* the forward's dims in reverse */
      int64_t sz[TC_MAX_DIMS];
      memcpy(sz, gi->sizes, sizeof(int64_t) * (size_t)gi->ndim);
      sz[d] = p->in[d];
      tc_tensor *idx = map_tensor(p, m, d, dev);
      tc_tensor *z = idx ? tc_zeros(sz, gi->ndim, TC_OPTS(.dtype = dt, .device = dev)) : NULL;
      if (z && tc_index_add_inplace(z, d, idx, gi, 1.0)) {
        tc_tensor_release(z);
        z = NULL;
      }
      tc_tensor_release(idx);
      tc_tensor_release(gi);
      gi = z;
    }
  }
  tc_no_grad_pop();
  return gi;
}

tc_tensor *tc__pad_fwd(const tc_tensor *x, const int64_t *pad, int64_t npad, tc_pad_mode mode, double value) {
  TC__NONNULL_T(x, FN);
  pad_plan p;
  if (plan_pad(FN, x->sizes, x->ndim, pad, npad, mode, &p) != TC_OK) return NULL;
  if (!tc__is_cpu(x)) {
    pad_maps m = {0};
    if (p.k > 0 && build_maps(&p, &m) != TC_OK) return NULL;
    tc_no_grad_push();
    tc_tensor *out = p.k > 0 ? device_pad_fwd(x, &p, &m, value) : tc_clone(x);
    tc_no_grad_pop();
    tc__free(m.maps);
    return out;
  }
  tc_tensor *out = tc__empty(p.out, p.ndim, x->dtype, x->storage->device);
  if (!out) return NULL;
  if (p.k == 0) { /* constant mode with nothing to pad: a copy, as PyTorch's clone */
    tc__cpu_copy(out, x);
    return out;
  }
  int64_t n_out = numel_of(p.out, p.ndim);
  if (n_out == 0) return out;
  tc_tensor *xc = tc_contiguous(x);
  if (!xc) {
    tc_tensor_release(out);
    return NULL;
  }
  pad_maps m;
  if (build_maps(&p, &m) != TC_OK) {
    tc_tensor_release(xc);
    tc_tensor_release(out);
    return NULL;
  }
  fwd_ctx c = {.p = &p, .m = &m, .src = tc__ptr(xc), .dst = tc__ptr(out), .es = tc_dtype_size(x->dtype),
               .lead = p.ndim - p.k};
  memset(c.fill, 0, sizeof c.fill);
  tc__store_double(c.fill, x->dtype, value);
  int64_t wo = p.out[p.ndim - 1], rows = n_out / wo;
  tc_parallel_for(rows, (TC__GRAIN_ELEMENTWISE + wo - 1) / wo, fwd_rows, &c);
  tc__free(m.maps);
  tc_tensor_release(xc);
  return out;
}

/* ---- backward ----------------------------------------------------------------------------------
 * grad_in[map(o)] += grad_out[o]. Output rows from different leading (unpadded) indices touch
 * disjoint input rows, so the work is split over the leading index ("batch"); within one batch
 * entry the rows run in order, so the sums do not depend on the thread count. Accumulates in T
 * (f32 for f16/bf16 inputs, converted in and out). */
typedef struct {
  const pad_plan *p;
  const pad_maps *m;
  const char *go; /* contiguous grad_out, element type T */
  char *gi;       /* contiguous grad_in, zeroed */
  int64_t lead;
  int64_t rows_per_batch, in_per_batch;
} bwd_ctx;

#define DEF_PAD_BWD(TAG, T)                                                                          \
  static void bwd_batches_##TAG(int64_t b0, int64_t b1, void *vctx) {                                 \
    const bwd_ctx *c = vctx;                                                                         \
    const pad_plan *p = c->p;                                                                        \
    int last = p->ndim - 1;                                                                          \
    int64_t wo = p->out[last];                                                                       \
    const int64_t *map = c->m->maps + c->m->off[last];                                               \
    for (int64_t b = b0; b < b1; b++)                                                                \
      for (int64_t rr = 0; rr < c->rows_per_batch; rr++) {                                           \
        int64_t r = b * c->rows_per_batch + rr;                                                      \
        int64_t s = src_row(p, c->m, c->lead, r);                                                    \
        if (s < 0) continue;                                                                         \
        const T *g = (const T *)(const void *)c->go + r * wo;                                        \
        T *dst = (T *)(void *)c->gi + s;                                                             \
        for (int64_t o = 0; o < wo; o++)                                                             \
          if (map[o] >= 0) dst[map[o]] += g[o];                                                      \
      }                                                                                              \
  }
DEF_PAD_BWD(f32, float)
DEF_PAD_BWD(f64, double)

tc_tensor *tc__pad_backward(const tc_tensor *grad_out, const int64_t *input_shape, int64_t ndim, const int64_t *pad,
                            int64_t npad, tc_pad_mode mode) {
  static const char *fn = "tc_pad_backward";
  TC__NONNULL_T(grad_out, fn);
  if (!input_shape && ndim > 0) {
    tc__error(TC_ERR_ARG, "%s: input_shape is NULL", fn);
    return NULL;
  }
  if (ndim < 0 || ndim > TC_MAX_DIMS) {
    tc__error(TC_ERR_ARG, "%s: input has %lld dims (at most %d)", fn, (long long)ndim, TC_MAX_DIMS);
    return NULL;
  }
  if (!tc_dtype_is_floating(grad_out->dtype)) {
    tc__error(TC_ERR_DTYPE, "%s: grad_out must be floating point, got %s", fn, tc_dtype_name(grad_out->dtype));
    return NULL;
  }
  pad_plan p;
  if (plan_pad(fn, input_shape, ndim, pad, npad, mode, &p) != TC_OK) return NULL;
  bool same = grad_out->ndim == p.ndim;
  for (int d = 0; same && d < p.ndim; d++) same = grad_out->sizes[d] == p.out[d];
  if (!same) {
    tc__error(TC_ERR_SHAPE, "%s: grad_out is %s but padding input %s gives %s", fn, tc__tshape(grad_out),
              tc__shape_str(input_shape, (int)ndim), tc__shape_str(p.out, p.ndim));
    return NULL;
  }
  tc_dtype dt = tc__compute_dtype(grad_out->dtype);
  if (!tc__is_cpu(grad_out)) {
    pad_maps m = {0};
    tc_tensor *go = tc_to_dtype(grad_out, dt), *gi = NULL;
    if (go && (p.k == 0 || build_maps(&p, &m) == TC_OK)) gi = p.k > 0 ? device_pad_bwd(go, &p, &m, dt) : tc_clone(go);
    tc__free(m.maps);
    tc_tensor_release(go);
    tc_tensor *r = gi ? tc_to_dtype(gi, grad_out->dtype) : NULL;
    tc_tensor_release(gi);
    return r;
  }
  tc_tensor *gi = tc__empty(p.in, p.ndim, dt, grad_out->storage->device);
  if (!gi) return NULL;
  tc__cpu_fill(gi, 0.0);
  int64_t n_out = numel_of(p.out, p.ndim);
  if (n_out > 0 && p.k > 0) {
    tc_tensor *go = tc__is_contiguous(grad_out) && grad_out->dtype == dt ? tc_tensor_retain((tc_tensor *)grad_out)
                                                                          : tc__to_dtype_contig(grad_out, dt);
    pad_maps m = {0};
    if (!go || build_maps(&p, &m) != TC_OK) {
      tc_tensor_release(go);
      tc_tensor_release(gi);
      return NULL;
    }
    int lead = p.ndim - p.k;
    /* Batches: the leading dims; rows per batch: the outer padded dims' output sizes. */
    int64_t nb = numel_of(p.out, lead), rows_pb = numel_of(p.out + lead, p.k - 1);
    bwd_ctx c = {.p = &p, .m = &m, .go = tc__ptr(go), .gi = tc__ptr(gi), .lead = lead, .rows_per_batch = rows_pb};
    int64_t work = rows_pb * p.out[p.ndim - 1];
    int64_t grain = (TC__GRAIN_ELEMENTWISE + work - 1) / (work > 0 ? work : 1);
    tc_parallel_for(nb, grain, dt == TC_F64 ? bwd_batches_f64 : bwd_batches_f32, &c);
    tc__free(m.maps);
    tc_tensor_release(go);
  } else if (n_out > 0) { /* nothing padded: the gradient is grad_out */
    tc__cpu_copy(gi, grad_out);
  }
  if (dt != grad_out->dtype) {
    tc_tensor *r = tc__to_dtype_contig(gi, grad_out->dtype);
    tc_tensor_release(gi);
    return r;
  }
  return gi;
}
