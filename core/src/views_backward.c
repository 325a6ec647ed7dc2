/* core/src/views_backward.c — the backward of view-like ops (views.c, copy.c): each maps the
 * output gradient back onto the input's shape, dtype and device. */
#include "autograd/autograd_internal.h"
#include "views_backward.h"

typedef struct {
  tc__view_kind kind;
  int64_t p[TC_MAX_DIMS];
  int np;
  int64_t in_shape[TC_MAX_DIMS];
  int in_nd;
  tc_dtype in_dtype;
  tc_device in_device;
} view_ctx;

static tc_status view_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const view_ctx *c = tc__node_ctx(n);
  const tc_tensor *g = go[0];
  tc_tensor *r = NULL;
  switch (c->kind) {
    case TC__VIEW_RESHAPE: r = tc_reshape(g, c->in_shape, c->in_nd); break;
    case TC__VIEW_PERMUTE: {
      int64_t inv[TC_MAX_DIMS];
      for (int i = 0; i < c->np; i++) inv[c->p[i]] = i;
      r = tc_permute(g, inv, c->np);
      break;
    }
    case TC__VIEW_TRANSPOSE: r = tc_transpose(g, c->p[0], c->p[1]); break;
    case TC__VIEW_EXPAND: r = tc__sum_to(g, c->in_shape, c->in_nd); break;
    case TC__VIEW_SLICE:
    case TC__VIEW_SELECT: {
      r = tc_zeros(c->in_shape, c->in_nd, TC_OPTS(.dtype = g->dtype, .device = g->storage->device));
      tc_tensor *v = !r ? NULL
                     : c->kind == TC__VIEW_SLICE ? tc_slice(r, c->p[0], c->p[1], c->p[2], c->p[3])
                                                 : tc_select(r, c->p[0], c->p[1]);
      tc_status s = v ? tc_copy_inplace(v, g) : tc_last_status();
      tc_tensor_release(v);
      if (s) {
        tc_tensor_release(r);
        return s;
      }
      break;
    }
    case TC__VIEW_ALIAS: r = tc_tensor_retain((tc_tensor *)g); break;
    case TC__VIEW_TO_DTYPE: r = tc_to_dtype(g, c->in_dtype); break;
    case TC__VIEW_TO_DEVICE: r = tc_tensor_to(g, c->in_device); break;
  }
  if (!r) return tc_last_status();
  gi[0] = r;
  return TC_OK;
}

tc_tensor *tc__view_record(tc__view_kind kind, const char *name, const tc_tensor *t, tc_tensor *out, const int64_t *p,
                           int np) {
  if (out && out->storage == t->storage) out->is_view = true; /* in-place writes reach the root */
  if (!out || !tc__grad_needed(1, &t)) return out;
  view_ctx c = {.kind = kind, .np = np, .in_nd = t->ndim, .in_dtype = t->dtype, .in_device = t->storage->device};
  for (int i = 0; i < np; i++) c.p[i] = p[i];
  memcpy(c.in_shape, t->sizes, sizeof(int64_t) * (size_t)t->ndim);
  out = tc__record(out, name, view_backward, 1, &t, 0, NULL, &c, sizeof c);
  if (out && out->is_view) tc__view_mark_fresh(out);
  return out;
}
