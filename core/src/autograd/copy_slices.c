/* core/src/autograd/copy_slices.c — autograd for in-place writes into views.
 *
 * When an in-place op writes into a view v of a base b (x[0].mul_(2), t[:, 1] = w), the new
 * value of b is "b with v's region replaced by the op's result". So b's history becomes a
 * CopySlices node with two inputs: b's previous history (which receives the gradient outside the
 * region) and the op's node (which receives the gradient of the region); v's history becomes an
 * AsStridedBackward0 view of b's new history. Geometry is kept in storage terms (sizes, strides,
 * offset of both b and v), so any layout of b works: gradients go through a zero buffer spanning
 * the storage elements both can reach.
 */
#include "autograd_internal.h"

typedef struct {
  int64_t span; /* buffer elements, relative to `origin` */
  int64_t b_sizes[TC_MAX_DIMS], b_strides[TC_MAX_DIMS], b_off;
  int64_t v_sizes[TC_MAX_DIMS], v_strides[TC_MAX_DIMS], v_off;
  int b_nd, v_nd;
} slices_ctx;

static int64_t reach(const int64_t *sizes, const int64_t *strides, int nd, int64_t off) {
  int64_t r = off;
  for (int i = 0; i < nd; i++)
    if (sizes[i] > 0) r += (sizes[i] - 1) * strides[i];
  return r;
}

/* base geometry: the storage root's */
static void fill_ctx(slices_ctx *c, const tc__storage *base, const tc_tensor *view) {
  int64_t origin = base->root_offset < view->offset ? base->root_offset : view->offset;
  memcpy(c->b_sizes, base->root_sizes, sizeof base->root_sizes);
  memcpy(c->b_strides, base->root_strides, sizeof base->root_strides);
  memcpy(c->v_sizes, view->sizes, sizeof view->sizes);
  memcpy(c->v_strides, view->strides, sizeof view->strides);
  c->b_nd = base->root_ndim;
  c->v_nd = view->ndim;
  c->b_off = base->root_offset - origin;
  c->v_off = view->offset - origin;
  int64_t rb = reach(c->b_sizes, c->b_strides, c->b_nd, c->b_off);
  int64_t rv = reach(c->v_sizes, c->v_strides, c->v_nd, c->v_off);
  c->span = (rb > rv ? rb : rv) + 1;
}

/* A zero buffer with views in base and view geometry. */
static tc_status geometry(const slices_ctx *c, const tc_tensor *like, tc_tensor **buf, tc_tensor **bview,
                          tc_tensor **vview) {
  *buf = tc_zeros(&c->span, 1, TC_OPTS(.dtype = like->dtype, .device = like->storage->device));
  if (!*buf) return tc_last_status();
  *bview = tc__view(*buf, c->b_sizes, c->b_strides, c->b_nd, c->b_off);
  *vview = *bview ? tc__view(*buf, c->v_sizes, c->v_strides, c->v_nd, c->v_off) : NULL;
  return *vview ? TC_OK : tc_last_status();
}

static tc_status copy_slices_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const slices_ctx *c = tc__node_ctx(n);
  tc_tensor *buf = NULL, *bv = NULL, *vv = NULL;
  tc_status s = geometry(c, go[0], &buf, &bv, &vv);
  if (!s) s = tc_copy_inplace(bv, go[0]);
  if (!s && n->next[1].node && !(gi[1] = tc_clone(vv))) s = tc_last_status();
  if (!s && n->next[0].node) {
    s = tc_zero_inplace(vv); /* the region was overwritten: no gradient to the old base there */
    if (!s && !(gi[0] = tc_clone(bv))) s = tc_last_status();
  }
  tc_tensor_release(vv);
  tc_tensor_release(bv);
  tc_tensor_release(buf);
  return s;
}

static tc_status as_strided_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const slices_ctx *c = tc__node_ctx(n);
  tc_tensor *buf = NULL, *bv = NULL, *vv = NULL;
  tc_status s = geometry(c, go[0], &buf, &bv, &vv);
  if (!s) s = tc_copy_inplace(vv, go[0]);
  if (!s && !(gi[0] = tc_clone(bv))) s = tc_last_status();
  tc_tensor_release(vv);
  tc_tensor_release(bv);
  tc_tensor_release(buf);
  return s;
}

tc_status tc__inplace_commit(tc_tensor *self, tc__node *value, int value_nr) {
  if (!self->is_view || self->is_root) return tc__set_history(self, value, value_nr); /* the op's node */
  tc__storage *st = self->storage;
  tc__autograd_meta *root = tc__root_meta(self);
  if (!root) return TC_ERR_NOMEM;
  /* CopySlices: edge 0 = the root's previous history, edge 1 = the op's node */
  tc__node *cs = tc__node_new("CopySlices", copy_slices_backward, 2, (const tc_tensor *const[2]){NULL, NULL},
                              sizeof(slices_ctx));
  if (!cs) return tc_last_status();
  fill_ctx(tc__node_ctx(cs), st, self);
  if (root->grad_fn) {
    atomic_fetch_add(&root->grad_fn->refcount, 1);
    cs->next[0].node = root->grad_fn;
    cs->next[0].input_nr = root->output_nr;
  }
  atomic_fetch_add(&value->refcount, 1);
  cs->next[1].node = value;
  cs->next[1].input_nr = value_nr;
  tc_status s = TC_OK;
  cs->out_meta = tc__calloc(sizeof(tc__tensor_meta));
  if (!cs->out_meta) s = TC_ERR_NOMEM;
  if (!s) {
    cs->n_outputs = 1;
    memcpy(cs->out_meta->sizes, st->root_sizes, sizeof st->root_sizes);
    cs->out_meta->ndim = st->root_ndim;
    cs->out_meta->dtype = self->dtype;
    cs->out_meta->device = st->device;
    atomic_fetch_add(&cs->refcount, 1); /* the root's history is now cs */
    if (root->grad_fn) tc__node_unref(root->grad_fn);
    root->grad_fn = cs;
    root->output_nr = 0;
  }
  /* the view's history: a strided view of the root's new history */
  tc__node *as = s ? NULL : tc__node_new("AsStridedBackward0", as_strided_backward, 1,
                                        (const tc_tensor *const[1]){NULL}, sizeof(slices_ctx));
  if (!s && !as) s = tc_last_status();
  if (!s) {
    fill_ctx(tc__node_ctx(as), st, self);
    atomic_fetch_add(&cs->refcount, 1);
    as->next[0].node = cs;
    as->next[0].input_nr = 0;
    s = tc__node_set_output(as, self);
    if (!s) tc__view_mark_fresh(self);
  }
  tc__node_unref(as);
  tc__node_unref(cs);
  return s;
}

void tc__view_mark_fresh(tc_tensor *t) {
  const tc__autograd_meta *root = t->storage->root_meta;
  tc__autograd_meta *m = t->autograd;
  if (m) m->root_seq = root && root->grad_fn ? root->grad_fn->seq : 0;
}

void tc__view_refresh(const tc_tensor *ct) {
  tc_tensor *t = (tc_tensor *)ct; /* the history is a cache of the view's relation to its root */
  if (!t->is_view || t->is_root || !tc_is_grad_enabled()) return;
  const tc__autograd_meta *root = t->storage->root_meta;
  if (!root || !root->grad_fn) return;
  tc__autograd_meta *m = t->autograd;
  if (m && m->root_seq == root->grad_fn->seq) return;
  if (m && !m->grad_fn && m->requires_grad) return; /* a user leaf: leave it alone */
  tc__node *as = tc__node_new("AsStridedBackward0", as_strided_backward, 1, (const tc_tensor *const[1]){NULL},
                              sizeof(slices_ctx));
  if (!as) return; /* out of memory: keep the old history; the next use retries */
  fill_ctx(tc__node_ctx(as), t->storage, t);
  atomic_fetch_add(&root->grad_fn->refcount, 1);
  as->next[0].node = root->grad_fn;
  as->next[0].input_nr = root->output_nr;
  if (tc__node_set_output(as, t) == TC_OK) tc__view_mark_fresh(t);
  tc__node_unref(as);
}
