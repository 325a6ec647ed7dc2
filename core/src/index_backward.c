/* core/src/index_backward.c — autograd for the indexing and joining ops (index.c, mask.c,
 * advindex.c, join.c): the node each op records and its derivative, as PyTorch's
 * tools/autograd/derivatives.yaml:
 *
 *   index_select   self: zeros(self).index_add_(dim, index, grad)
 *   gather         self: zeros(self).scatter_add_(dim, index, grad)
 *   scatter(src)   self: grad.scatter(dim, index, 0)     src: grad.gather(dim, index)
 *   scatter(value) self: grad.scatter(dim, index, 0)
 *   scatter_add    self: grad                            src: grad.gather(dim, index)
 *   index_add      self: grad                            source: grad.index_select(dim, index) * alpha
 *   masked_fill    self: grad.masked_fill(mask, 0)  (summed to self's shape)
 *   masked_select  self: zeros(broadcast shape).masked_scatter_(mask, grad)  (summed to self's shape)
 *   where          a: where(cond, grad, 0)   b: where(cond, 0, grad)  (summed to each shape)
 *   t[indices]     self: zeros(self).index_put_(indices, grad, accumulate=true)
 *   index_put_     self: accumulate ? grad : grad.index_put(indices, 0)   values: grad[indices]
 *   cat / stack    each input: its slice of grad (narrow / select), in the input's dtype
 *
 * One difference: scatter/scatter_add with an index smaller than src in some dim give src's
 * gradient zero outside the index's extent (PyTorch's backward fails there with a shape error).
 *
 * Backward functions run with grad mode off and compose public ops, so they run on any device
 * that has the forward kernels. Index and mask tensors are saved (detached views, version-checked),
 * so modifying one in place before backward is reported as PyTorch does.
 */
#include "index_backward.h"

/* zeros of `shape` in g's dtype and device */
static tc_tensor *zeros_like_grad(const tc_tensor *g, const int64_t *shape, int nd) {
  return tc_zeros(shape, nd, TC_OPTS(.dtype = g->dtype, .device = g->storage->device));
}

/* a 0-d zero in g's dtype and device */
static tc_tensor *zero_scalar(const tc_tensor *g) {
  static const int64_t none[1] = {0};
  return tc_zeros(none, 0, TC_OPTS(.dtype = g->dtype, .device = g->storage->device));
}

static void copy_shape(int64_t *dst, int *nd, const tc_tensor *t) {
  memcpy(dst, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
  *nd = t->ndim;
}

/* r (consumed) summed to `shape` and converted to dtype; NULL on failure. */
static tc_tensor *finish_grad(tc_tensor *r, const int64_t *shape, int nd, tc_dtype dtype) {
  if (!r) return NULL;
  tc_tensor *s = tc__sum_to(r, shape, nd);
  tc_tensor_release(r);
  if (!s) return NULL;
  tc_tensor *c = tc__grad_as(s, dtype);
  tc_tensor_release(s);
  return c;
}

/* ---- recording helpers ----------------------------------------------------------------------------- */

tc_tensor *tc__index_record_out(tc__node *node, tc_tensor *out) {
  if (!node) {
    tc_tensor_release(out);
    return NULL;
  }
  tc_status s = tc__node_set_output(node, out);
  tc__node_unref(node);
  if (s) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_status tc__index_record_inplace(tc__node *node, tc_tensor *self, tc_status written) {
  if (written) {
    tc__node_unref(node);
    return written;
  }
  /* the node's output is self's new value (its shape and dtype) */
  tc_status s = TC_OK;
  node->out_meta = tc__calloc(sizeof(tc__tensor_meta));
  if (!node->out_meta) s = TC_ERR_NOMEM;
  if (!s) {
    node->n_outputs = 1;
    memcpy(node->out_meta->sizes, self->sizes, sizeof self->sizes);
    node->out_meta->ndim = self->ndim;
    node->out_meta->dtype = self->dtype;
    node->out_meta->device = self->storage->device;
    s = tc__inplace_commit(self, node, 0);
  }
  tc__node_unref(node);
  return s;
}

/* A node with the given inputs and a zeroed context of ctx_size bytes, saving `save[0..n_save)`. */
static tc__node *make_node(const char *name, tc__backward_fn fn, int n, const tc_tensor *const *inputs,
                           size_t ctx_size, int n_save, const tc_tensor *const *save) {
  tc__node *node = tc__node_new(name, fn, n, inputs, ctx_size);
  if (!node) return NULL;
  for (int i = 0; i < n_save; i++)
    if (tc__node_save(node, save[i])) {
      tc__node_unref(node);
      return NULL;
    }
  return node;
}

/* ---- index_select, gather ------------------------------------------------------------------------- */
typedef struct {
  int64_t dim;
  int64_t shape[TC_MAX_DIMS]; /* the input's */
  int nd;
  bool gather;
} select_ctx;

/* self: zeros(self).index_add_(dim, index, grad)  or  .scatter_add_(dim, index, grad) */
static tc_status select_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const select_ctx *c = tc__node_ctx(n);
  const tc_tensor *index = tc__node_saved(n, 0);
  if (!index) return tc_last_status();
  tc_tensor *z = zeros_like_grad(go[0], c->shape, c->nd);
  if (!z) return tc_last_status();
  tc_status s = c->gather ? tc_scatter_add_inplace(z, c->dim, index, go[0])
                          : tc_index_add_inplace(z, c->dim, index, go[0], 1.0);
  if (s) {
    tc_tensor_release(z);
    return s;
  }
  gi[0] = z;
  return TC_OK;
}

static tc__node *select_node(const char *name, const tc_tensor *t, int64_t dim, const tc_tensor *index, bool gather) {
  tc__node *node = make_node(name, select_backward, 1, &t, sizeof(select_ctx), 1, &index);
  if (!node) return NULL;
  select_ctx *c = tc__node_ctx(node);
  c->dim = dim;
  c->gather = gather;
  copy_shape(c->shape, &c->nd, t);
  return node;
}

tc__node *tc__index_select_node(const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  return select_node("IndexSelectBackward0", t, dim, index, false);
}

tc__node *tc__gather_node(const tc_tensor *t, int64_t dim, const tc_tensor *index) {
  return select_node("GatherBackward0", t, dim, index, true);
}

/* ---- scatter, scatter_add, index_add ---------------------------------------------------------------- */
typedef struct {
  tc__idxg_scatter_kind kind;
  int64_t dim;
  double alpha;
  int64_t src_shape[TC_MAX_DIMS];
  int src_nd;
} scatter_ctx;

/* r (consumed) placed at the start of every dim of zeros(shape): the gradient of src elements the
 * index does not reach is zero. r has shape's ndim, sizes <= shape's (or no elements). */
static tc_tensor *pad_to(tc_tensor *r, const int64_t *shape, int nd) {
  if (!r) return NULL;
  if (r->ndim == nd && !memcmp(r->sizes, shape, sizeof(int64_t) * (size_t)nd)) return r;
  tc_tensor *z = zeros_like_grad(r, shape, nd);
  bool empty = tc__numel(r->sizes, r->ndim) == 0;
  tc_tensor *v = z && !empty ? tc_tensor_retain(z) : NULL;
  for (int d = 0; v && d < nd; d++) {
    if (r->sizes[d] == shape[d]) continue;
    tc_tensor *w = tc_narrow(v, d, 0, r->sizes[d]);
    tc_tensor_release(v);
    v = w;
  }
  tc_status s = empty ? (z ? TC_OK : tc_last_status()) : v ? tc_copy_inplace(v, r) : tc_last_status();
  tc_tensor_release(v);
  tc_tensor_release(r);
  if (s) {
    tc_tensor_release(z);
    return NULL;
  }
  return z;
}

static tc_status scatter_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const scatter_ctx *c = tc__node_ctx(n);
  const tc_tensor *g = go[0];
  const tc_tensor *index = tc__node_saved(n, 0);
  if (!index) return tc_last_status();
  if (n->next[0].node) {
    if (c->kind == TC__IDXG_SCATTER || c->kind == TC__IDXG_SCATTER_VALUE)
      gi[0] = tc_scatter_value(g, c->dim, index, 0.0); /* overwritten positions get nothing */
    else
      gi[0] = tc_tensor_retain((tc_tensor *)g);
    if (!gi[0]) return tc_last_status();
  }
  if (c->kind != TC__IDXG_SCATTER_VALUE && n->next[1].node) {
    if (c->kind == TC__IDXG_INDEX_ADD) {
      tc_tensor *r = tc_index_select(g, c->dim, index);
      if (r && c->alpha != 1.0) {
        tc_tensor *m = tc_mul_scalar(r, c->alpha);
        tc_tensor_release(r);
        r = m;
      }
      gi[1] = r ? tc_reshape(r, c->src_shape, c->src_nd) : NULL;
      tc_tensor_release(r);
    } else {
      gi[1] = pad_to(tc_gather(g, c->dim, index), c->src_shape, c->src_nd);
    }
    if (!gi[1]) return tc_last_status();
  }
  return TC_OK;
}

tc__node *tc__scatter_node(tc__idxg_scatter_kind kind, const tc_tensor *self, int64_t dim, const tc_tensor *index,
                           const tc_tensor *src, double alpha) {
  static const char *const names[] = {
      [TC__IDXG_SCATTER] = "ScatterBackward0",
      [TC__IDXG_SCATTER_VALUE] = "ScatterBackward1",
      [TC__IDXG_SCATTER_ADD] = "ScatterAddBackward0",
      [TC__IDXG_INDEX_ADD] = "IndexAddBackward0",
  };
  const tc_tensor *ins[2] = {self, src};
  int nin = kind == TC__IDXG_SCATTER_VALUE ? 1 : 2;
  tc__node *node = make_node(names[kind], scatter_backward, nin, ins, sizeof(scatter_ctx), 1, &index);
  if (!node) return NULL;
  scatter_ctx *c = tc__node_ctx(node);
  c->kind = kind;
  c->dim = dim;
  c->alpha = alpha;
  if (src) copy_shape(c->src_shape, &c->src_nd, src);
  return node;
}

/* ---- masked_fill, masked_select --------------------------------------------------------------------- */
typedef struct {
  int64_t shape[TC_MAX_DIMS]; /* the input's */
  int nd;
  int64_t bshape[TC_MAX_DIMS]; /* masked_select: input and mask broadcast */
  int bnd;
  tc_dtype dtype;
} masked_ctx;

static tc_status masked_fill_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const masked_ctx *c = tc__node_ctx(n);
  const tc_tensor *mask = tc__node_saved(n, 0);
  if (!mask) return tc_last_status();
  gi[0] = finish_grad(tc_masked_fill(go[0], mask, 0.0), c->shape, c->nd, c->dtype);
  return gi[0] ? TC_OK : tc_last_status();
}

tc__node *tc__masked_fill_node(const tc_tensor *t, const tc_tensor *mask) {
  tc__node *node = make_node("MaskedFillBackward0", masked_fill_backward, 1, &t, sizeof(masked_ctx), 1, &mask);
  if (!node) return NULL;
  masked_ctx *c = tc__node_ctx(node);
  copy_shape(c->shape, &c->nd, t);
  c->dtype = t->dtype;
  return node;
}

/* grad (1-D, one element per selected position) scattered into zeros of the broadcast shape */
static tc_status masked_select_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const masked_ctx *c = tc__node_ctx(n);
  const tc_tensor *mask = tc__node_saved(n, 0);
  if (!mask) return tc_last_status();
  tc_tensor *z = zeros_like_grad(go[0], c->bshape, c->bnd);
  tc_tensor *me = z ? tc_expand(mask, c->bshape, c->bnd) : NULL;
  tc_status s = me ? tc_index_put_inplace(z, (const tc_tensor *const *)&me, 1, go[0], false) : tc_last_status();
  tc_tensor_release(me);
  if (s) {
    tc_tensor_release(z);
    return s;
  }
  gi[0] = finish_grad(z, c->shape, c->nd, c->dtype);
  return gi[0] ? TC_OK : tc_last_status();
}

tc__node *tc__masked_select_node(const tc_tensor *t, const tc_tensor *mask, const int64_t *bs, int nb) {
  tc__node *node = make_node("MaskedSelectBackward0", masked_select_backward, 1, &t, sizeof(masked_ctx), 1, &mask);
  if (!node) return NULL;
  masked_ctx *c = tc__node_ctx(node);
  copy_shape(c->shape, &c->nd, t);
  memcpy(c->bshape, bs, sizeof(int64_t) * (size_t)nb);
  c->bnd = nb;
  c->dtype = t->dtype;
  return node;
}

/* ---- where ------------------------------------------------------------------------------------------- */
typedef struct {
  int64_t shape[2][TC_MAX_DIMS];
  int nd[2];
  tc_dtype dtype[2];
} where_ctx;

static tc_status where_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const where_ctx *c = tc__node_ctx(n);
  const tc_tensor *cond = tc__node_saved(n, 0);
  if (!cond) return tc_last_status();
  tc_tensor *zero = zero_scalar(go[0]);
  if (!zero) return tc_last_status();
  for (int k = 0; k < 2; k++) {
    if (!n->next[k].node) continue;
    tc_tensor *w = k == 0 ? tc_where(cond, go[0], zero) : tc_where(cond, zero, go[0]);
    if (!(gi[k] = finish_grad(w, c->shape[k], c->nd[k], c->dtype[k]))) {
      tc_tensor_release(zero);
      return tc_last_status();
    }
  }
  tc_tensor_release(zero);
  return TC_OK;
}

tc__node *tc__where_node(const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b) {
  const tc_tensor *ins[2] = {a, b};
  tc__node *node = make_node("WhereBackward0", where_backward, 2, ins, sizeof(where_ctx), 1, &cond);
  if (!node) return NULL;
  where_ctx *c = tc__node_ctx(node);
  for (int k = 0; k < 2; k++) {
    copy_shape(c->shape[k], &c->nd[k], ins[k]);
    c->dtype[k] = ins[k]->dtype;
  }
  return node;
}

/* ---- advanced indexing ------------------------------------------------------------------------------- */
typedef struct {
  int64_t n;        /* number of indices */
  uint32_t present; /* bit k: indices[k] is a tensor (saved in order), else NULL (':') */
  bool accumulate;
  int64_t shape[TC_MAX_DIMS]; /* tc_index: the input's; index_put: the values' */
  int nd;
  tc_dtype dtype; /* index_put: the values' */
} adv_ctx;

/* The saved indices, NULL where the op had a full slice. */
static tc_status saved_indices(tc__node *n, const adv_ctx *c, const tc_tensor **idx) {
  int si = 0;
  for (int64_t k = 0; k < c->n; k++) {
    idx[k] = NULL;
    if (!(c->present >> k & 1u)) continue;
    if (!(idx[k] = tc__node_saved(n, si++))) return tc_last_status();
  }
  return TC_OK;
}

static tc__node *adv_node(const char *name, tc__backward_fn fn, int nin, const tc_tensor *const *ins,
                          const tc_tensor *const *indices, int64_t n) {
  const tc_tensor *save[TC_MAX_DIMS];
  int ns = 0;
  uint32_t present = 0;
  for (int64_t k = 0; k < n; k++)
    if (indices[k]) {
      save[ns++] = indices[k];
      present |= 1u << k;
    }
  tc__node *node = make_node(name, fn, nin, ins, sizeof(adv_ctx), ns, save);
  if (!node) return NULL;
  adv_ctx *c = tc__node_ctx(node);
  c->n = n;
  c->present = present;
  return node;
}

/* self: zeros(self).index_put_(indices, grad, accumulate=true) */
static tc_status index_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const adv_ctx *c = tc__node_ctx(n);
  const tc_tensor *idx[TC_MAX_DIMS];
  tc_status s = saved_indices(n, c, idx);
  if (s) return s;
  tc_tensor *z = zeros_like_grad(go[0], c->shape, c->nd);
  if (!z) return tc_last_status();
  if ((s = tc_index_put_inplace(z, idx, c->n, go[0], true))) {
    tc_tensor_release(z);
    return s;
  }
  gi[0] = z;
  return TC_OK;
}

tc__node *tc__index_node(const tc_tensor *t, const tc_tensor *const *indices, int64_t n) {
  tc__node *node = adv_node("IndexBackward0", index_backward, 1, &t, indices, n);
  if (!node) return NULL;
  adv_ctx *c = tc__node_ctx(node);
  copy_shape(c->shape, &c->nd, t);
  return node;
}

static tc_status index_put_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const adv_ctx *c = tc__node_ctx(n);
  const tc_tensor *g = go[0];
  const tc_tensor *idx[TC_MAX_DIMS];
  tc_status s = saved_indices(n, c, idx);
  if (s) return s;
  if (n->next[0].node) {
    if (c->accumulate) {
      gi[0] = tc_tensor_retain((tc_tensor *)g);
    } else { /* the overwritten positions get nothing */
      tc_tensor *r = tc_clone(g), *zero = r ? zero_scalar(g) : NULL;
      s = zero ? tc_index_put_inplace(r, idx, c->n, zero, false) : tc_last_status();
      tc_tensor_release(zero);
      if (s) {
        tc_tensor_release(r);
        return s;
      }
      gi[0] = r;
    }
  }
  if (n->next[1].node) {
    /* grad[indices] has the indexing result's shape; values broadcast to it after dropping
     * leading dims of size 1 (as the forward did) */
    tc_tensor *r = tc_index(g, idx, c->n);
    if (!r) return tc_last_status();
    int lead = 0;
    while (c->nd - lead > r->ndim && c->shape[lead] == 1) lead++;
    tc_tensor *sm = finish_grad(r, c->shape + lead, c->nd - lead, c->dtype);
    gi[1] = sm ? tc_reshape(sm, c->shape, c->nd) : NULL;
    tc_tensor_release(sm);
    if (!gi[1]) return tc_last_status();
  }
  return TC_OK;
}

tc__node *tc__index_put_node(const tc_tensor *self, const tc_tensor *const *indices, int64_t n,
                             const tc_tensor *values, bool accumulate) {
  const tc_tensor *ins[2] = {self, values};
  tc__node *node = adv_node("IndexPutBackward0", index_put_backward, 2, ins, indices, n);
  if (!node) return NULL;
  adv_ctx *c = tc__node_ctx(node);
  c->accumulate = accumulate;
  copy_shape(c->shape, &c->nd, values);
  c->dtype = values->dtype;
  return node;
}

/* ---- cat, stack -------------------------------------------------------------------------------------- */
typedef struct {
  int64_t off, size;          /* the input's range along dim in the output (cat) */
  int64_t shape[TC_MAX_DIMS]; /* the input's own shape */
  int nd;
  tc_dtype dtype;
  bool skipped; /* a legacy empty [0] input cat skipped: its gradient is empty */
  bool reshape; /* the joined part had another shape (hstack/vstack) */
} cat_input;

typedef struct {
  int64_t dim;
  bool stack;
  cat_input in[]; /* one per input */
} cat_ctx;

static tc_status cat_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const cat_ctx *c = tc__node_ctx(n);
  const tc_tensor *g = go[0];
  for (int i = 0; i < n->n_inputs; i++) {
    if (!n->next[i].node) continue;
    const cat_input *p = &c->in[i];
    if (p->skipped) {
      gi[i] = tc_zeros(p->shape, p->nd, TC_OPTS(.dtype = p->dtype, .device = g->storage->device));
    } else {
      tc_tensor *r = c->stack ? tc_select(g, c->dim, i) : tc_narrow(g, c->dim, p->off, p->size);
      if (r && p->reshape) {
        tc_tensor *v = tc_reshape(r, p->shape, p->nd);
        tc_tensor_release(r);
        r = v;
      }
      gi[i] = r ? tc__grad_as(r, p->dtype) : NULL; /* cat promoted: back to the input's dtype */
      tc_tensor_release(r);
    }
    if (!gi[i]) return tc_last_status();
  }
  return TC_OK;
}

tc__node *tc__cat_node(const tc_tensor *const *inputs, const tc_tensor *const *parts, int64_t n, int64_t dim,
                       bool stack) {
  if (n > INT32_MAX) {
    tc__error(TC_ERR_ARG, "%s: %lld inputs are too many to record for autograd", stack ? "tc_stack" : "tc_cat",
              (long long)n);
    return NULL;
  }
  tc__node *node = make_node(stack ? "StackBackward0" : "CatBackward0", cat_backward, (int)n, inputs,
                             sizeof(cat_ctx) + sizeof(cat_input) * (size_t)n, 0, NULL);
  if (!node) return NULL;
  cat_ctx *c = tc__node_ctx(node);
  c->dim = dim;
  c->stack = stack;
  int64_t off = 0;
  for (int64_t i = 0; i < n; i++) {
    const tc_tensor *t = inputs[i], *p = parts[i];
    cat_input *ci = &c->in[i];
    copy_shape(ci->shape, &ci->nd, t);
    ci->dtype = t->dtype;
    ci->skipped = !stack && p->ndim == 1 && p->sizes[0] == 0;
    ci->reshape = p->ndim != t->ndim || memcmp(p->sizes, t->sizes, sizeof(int64_t) * (size_t)t->ndim) != 0;
    if (ci->skipped || stack) continue;
    ci->off = off;
    ci->size = p->sizes[dim];
    off += ci->size;
  }
  return node;
}
