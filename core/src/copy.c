/* core/src/copy.c — contiguous/clone, dtype and device conversion, copy_/fill_/zero_, item(). */
#include "autograd/autograd_internal.h"
#include "views_backward.h"

/* Internal copies record no history: the public op that uses them records its own node. */
tc_tensor *tc__to_dtype_contig(const tc_tensor *t, tc_dtype dtype) {
  tc_tensor *out = tc__empty(t->sizes, t->ndim, dtype, t->storage->device);
  if (out && tc__copy(out, t)) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_tensor *tc__contig_as(const tc_tensor *t, tc_dtype dtype) {
  if (t->dtype == dtype && tc__is_contiguous(t)) return tc_tensor_retain((tc_tensor *)t);
  return tc__to_dtype_contig(t, dtype);
}

tc_tensor *tc_clone(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_clone");
  return tc__view_record(TC__VIEW_ALIAS, "CloneBackward0", t, tc__to_dtype_contig(t, t->dtype), NULL, 0);
}

tc_tensor *tc_contiguous(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_contiguous");
  if (tc__is_contiguous(t)) /* a new tensor struct (never the same pointer twice in a scope) */
    return tc__view_record(TC__VIEW_ALIAS, "AliasBackward0", t, tc__view(t, t->sizes, t->strides, t->ndim, t->offset),
                           NULL, 0);
  return tc_clone(t);
}

tc_tensor *tc_to_dtype(const tc_tensor *t, tc_dtype dtype) {
  TC__NONNULL_T(t, "tc_to_dtype");
  if (!tc__dtype_valid(dtype)) {
    tc__error(TC_ERR_DTYPE, "tc_to_dtype: invalid dtype %d", (int)dtype);
    return NULL;
  }
  if (t->dtype == dtype)
    return tc__view_record(TC__VIEW_ALIAS, "AliasBackward0", t, tc__view(t, t->sizes, t->strides, t->ndim, t->offset),
                           NULL, 0);
  return tc__view_record(TC__VIEW_TO_DTYPE, "ToCopyBackward0", t, tc__to_dtype_contig(t, dtype), NULL, 0);
}

bool tc__storage_is_pinned(const tc_tensor *t);
tc_tensor *tc__pinned_empty(const int64_t *sizes, int ndim, tc_dtype dtype);

static tc_tensor *to_device(const char *fn, const tc_tensor *t, tc_device device, bool non_blocking);

tc_tensor *tc_tensor_to(const tc_tensor *t, tc_device device) { return to_device("tc_tensor_to", t, device, false); }

tc_tensor *tc_tensor_to_nonblocking(const tc_tensor *t, tc_device device) {
  return to_device("tc_tensor_to_nonblocking", t, device, true);
}

/* non_blocking: a copy from pinned host memory to a device, or from a device to (new, pinned)
 * host memory, is queued on the current stream without waiting (as PyTorch's non_blocking=True);
 * other copies wait as tc_tensor_to does. */
static tc_tensor *to_device(const char *fn, const tc_tensor *t, tc_device device, bool non_blocking) {
  TC__NONNULL_T(t, fn);
  tc_device from = t->storage->device;
  if (tc_device_equal(from, device))
    return tc__view_record(TC__VIEW_ALIAS, "AliasBackward0", t, tc__view(t, t->sizes, t->strides, t->ndim, t->offset),
                           NULL, 0);
  const tc__device_api *api = tc__device_api_for(device.type == TC_DEVICE_CPU ? from : device, fn);
  if (!api || tc__check_device(fn, device)) return NULL;
  if (from.type != TC_DEVICE_CPU && device.type != TC_DEVICE_CPU) {
    /* between two devices: through the host (one recorded copy; DataParallel's scatter/gather) */
    tc_no_grad_push();
    tc_tensor *h = tc_tensor_to(t, tc_cpu());
    tc_tensor *out = h ? tc_tensor_to(h, device) : NULL;
    tc_no_grad_pop();
    tc_tensor_release(h);
    return out ? tc__view_record(TC__VIEW_TO_DEVICE, "ToCopyBackward0", t, out, NULL, 0) : NULL;
  }
  /* the source made contiguous on its own device, then one transfer */
  tc_tensor *src = tc__is_contiguous(t) ? tc__view(t, t->sizes, t->strides, t->ndim, t->offset)
                                        : tc__to_dtype_contig(t, t->dtype);
  if (!src) return NULL;
  bool to_host = device.type == TC_DEVICE_CPU;
  bool async = non_blocking && (to_host || tc__storage_is_pinned(src));
  tc_tensor *out = async && to_host ? tc__pinned_empty(t->sizes, t->ndim, t->dtype)
                                    : tc__empty(t->sizes, t->ndim, t->dtype, device);
  if (!out) {
    tc_tensor_release(src);
    return NULL;
  }
  size_t nbytes = (size_t)tc__numel(t->sizes, t->ndim) * tc_dtype_size(t->dtype);
  int kind = (to_host ? 1 : 0) | (async ? TC__COPY_ASYNC : 0);
  tc_status s = nbytes ? api->memcpy(tc__ptr(out), tc__ptr(src), nbytes, kind, to_host ? from.index : device.index)
                       : TC_OK;
  tc_tensor_release(src);
  if (s) {
    tc_tensor_release(out);
    return NULL;
  }
  return tc__view_record(TC__VIEW_TO_DEVICE, "ToCopyBackward0", t, out, NULL, 0);
}

/* copy_ backward: nothing flows to dst's old value; src gets the gradient summed to its shape */
typedef struct {
  int64_t src_shape[TC_MAX_DIMS];
  int src_nd;
  tc_dtype src_dtype;
} copy_ctx;

static tc_status copy_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const copy_ctx *c = tc__node_ctx(n);
  if (n->next[0].node && !(gi[0] = tc_zeros_like(go[0], NULL))) return tc_last_status();
  if (n->next[1].node) {
    tc_tensor *s = tc__sum_to(go[0], c->src_shape, c->src_nd);
    gi[1] = s ? tc__grad_as(s, c->src_dtype) : NULL;
    tc_tensor_release(s);
    if (!gi[1]) return tc_last_status();
  }
  return TC_OK;
}

static tc_status fill_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  (void)n;
  gi[0] = tc_zeros_like(go[0], NULL);
  return gi[0] ? TC_OK : tc_last_status();
}

/* Makes `node` the history of self after an in-place write (node's inputs were taken from self's
 * history before the write). */
static tc_status rewrite_history(tc__node *node, tc_tensor *self) {
  if (!node) return tc_last_status();
  /* the node's output metadata is self's (shape, dtype) */
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

tc_status tc_copy_inplace(tc_tensor *dst, const tc_tensor *src) {
  const char *fn = "tc_copy_inplace";
  TC__NONNULL_S(dst, fn);
  TC__NONNULL_S(src, fn);
  if (!tc_device_equal(dst->storage->device, src->storage->device)) {
    /* across devices (a CPU state dict into a CUDA model): src moved to dst's device first, as a
     * recorded copy, so a gradient still finds its way back to src */
    tc_tensor *m = tc_tensor_to(src, dst->storage->device);
    tc_status s = m ? tc_copy_inplace(dst, m) : tc_last_status();
    tc_tensor_release(m);
    return s;
  }
  const tc_tensor *ins[2] = {dst, src};
  if (tc__grad_needed(2, ins)) {
    tc_status s = tc__check_inplace(fn, dst);
    if (s) return s;
    tc__node *node = tc__node_new("CopyBackwards", copy_backward, 2, ins, sizeof(copy_ctx));
    if (!node) return tc_last_status();
    copy_ctx *c = tc__node_ctx(node);
    memcpy(c->src_shape, src->sizes, sizeof(int64_t) * (size_t)src->ndim);
    c->src_nd = src->ndim;
    c->src_dtype = src->dtype;
    tc_no_grad_push();
    s = tc_copy_inplace(dst, src);
    tc_no_grad_pop();
    if (s) {
      tc__node_unref(node);
      return s;
    }
    return rewrite_history(node, dst);
  }
  if (tc__check_same_device(fn, dst, src)) return tc_last_status();
  int64_t bs[TC_MAX_DIMS];
  int nb;
  if (tc__broadcast_shapes(fn, dst->sizes, dst->ndim, src->sizes, src->ndim, bs, &nb)) return tc_last_status();
  if (nb != dst->ndim || memcmp(bs, dst->sizes, sizeof(int64_t) * (size_t)nb) != 0)
    return tc__error(TC_ERR_SHAPE, "%s: source shape %s does not broadcast to destination shape %s", fn,
                     tc__tshape(src), tc__tshape(dst));
  tc_tensor *s = tc__expand_to(src, dst->sizes, dst->ndim);
  if (!s) return tc_last_status();
  tc_status st = tc__copy(dst, s);
  tc_tensor_release(s);
  tc__bump_version(dst);
  return st;
}

tc_status tc_fill_inplace(tc_tensor *t, double value) {
  TC__NONNULL_S(t, "tc_fill_inplace");
  if (tc__grad_needed(1, (const tc_tensor *const *)&t)) {
    tc_status s = tc__check_inplace("tc_fill_inplace", t);
    if (s) return s;
    tc__node *node = tc__node_new("FillBackward0", fill_backward, 1, (const tc_tensor *const *)&t, 0);
    if (!node) return tc_last_status();
    s = tc__fill(t, value);
    tc__bump_version(t);
    if (s) {
      tc__node_unref(node);
      return s;
    }
    return rewrite_history(node, t);
  }
  tc_status s = tc__fill(t, value);
  tc__bump_version(t);
  return s;
}

tc_status tc_zero_inplace(tc_tensor *t) {
  TC__NONNULL_S(t, "tc_zero_inplace");
  return tc_fill_inplace(t, 0.0);
}

static tc_status one_element(const char *fn, const tc_tensor *t, tc_tensor **cpu) {
  TC__NONNULL_S(t, fn);
  int64_t n = tc__numel(t->sizes, t->ndim);
  if (n != 1)
    return tc__error(TC_ERR_SHAPE, "%s: a tensor with %lld elements (shape %s) cannot be converted to a scalar", fn,
                     (long long)n, tc__tshape(t));
  *cpu = tc_tensor_to(t, tc_cpu());
  return *cpu ? TC_OK : tc_last_status();
}

tc_status tc_item_double(const tc_tensor *t, double *out) {
  tc_tensor *c;
  if (!out) return tc__error(TC_ERR_ARG, "tc_item_double: out is NULL");
  tc_status s = one_element("tc_item_double", t, &c);
  if (s) return s;
  *out = tc__load_double(tc__ptr(c), c->dtype);
  tc_tensor_release(c);
  return TC_OK;
}

tc_status tc_item_int64(const tc_tensor *t, int64_t *out) {
  tc_tensor *c;
  if (!out) return tc__error(TC_ERR_ARG, "tc_item_int64: out is NULL");
  tc_status s = one_element("tc_item_int64", t, &c);
  if (s) return s;
  *out = tc__load_int64(tc__ptr(c), c->dtype);
  tc_tensor_release(c);
  return TC_OK;
}

tc_status tc_tensor_copy_to_buffer(const tc_tensor *t, void *buf, size_t nbytes) {
  const char *fn = "tc_tensor_copy_to_buffer";
  TC__NONNULL_S(t, fn);
  size_t need = (size_t)tc__numel(t->sizes, t->ndim) * tc_dtype_size(t->dtype);
  if (need && !buf) return tc__error(TC_ERR_ARG, "%s: buf is NULL", fn);
  if (nbytes < need)
    return tc__error(TC_ERR_ARG, "%s: buffer of %zu bytes is too small for %s %s (%zu bytes)", fn, nbytes,
                     tc_dtype_name(t->dtype), tc__tshape(t), need);
  if (!need) return TC_OK;
  tc_tensor *c = tc_tensor_to(t, tc_cpu());
  if (!c) return tc_last_status();
  tc_tensor *view = tc_tensor_from_blob(buf, c->sizes, NULL, c->ndim, c->dtype, NULL, NULL);
  if (!view) {
    tc_tensor_release(c);
    return tc_last_status();
  }
  tc__cpu_copy(view, c);
  tc_tensor_release(view);
  tc_tensor_release(c);
  return TC_OK;
}
