/* core/src/copy.c — contiguous/clone, dtype and device conversion, copy_/fill_/zero_, item(). */
#include "internal.h"

tc_tensor *tc__to_dtype_contig(const tc_tensor *t, tc_dtype dtype) {
  tc_tensor *out = tc__empty(t->sizes, t->ndim, dtype, t->storage->device);
  if (!out) return NULL;
  if (tc_copy_inplace(out, t) != TC_OK) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_tensor *tc_clone(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_clone");
  return tc__to_dtype_contig(t, t->dtype);
}

tc_tensor *tc_contiguous(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_contiguous");
  if (tc__is_contiguous(t)) {
    tc_tensor *r = tc_tensor_retain((tc_tensor *)t);
    tc__scope_record(r); /* the new reference belongs to the scope like any result */
    return r;
  }
  return tc_clone(t);
}

tc_tensor *tc_to_dtype(const tc_tensor *t, tc_dtype dtype) {
  TC__NONNULL_T(t, "tc_to_dtype");
  if (!tc__dtype_valid(dtype)) {
    tc__error(TC_ERR_DTYPE, "tc_to_dtype: invalid dtype %d", (int)dtype);
    return NULL;
  }
  if (t->dtype == dtype) {
    tc_tensor *r = tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
    return r;
  }
  return tc__to_dtype_contig(t, dtype);
}

tc_tensor *tc_tensor_to(const tc_tensor *t, tc_device device) {
  const char *fn = "tc_tensor_to";
  TC__NONNULL_T(t, fn);
  tc_device from = t->storage->device;
  if (tc_device_equal(from, device)) return tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
  const tc__device_api *api = tc__device_api_for(device.type == TC_DEVICE_CPU ? from : device, fn);
  if (!api || tc__check_device(fn, device)) return NULL;
  if (from.type != TC_DEVICE_CPU && device.type != TC_DEVICE_CPU) {
    char a[32], b[32];
    tc__error(TC_ERR_UNSUPPORTED, "%s: direct copy %s -> %s is not supported; go through the CPU", fn,
              tc_device_str(from, a, sizeof a), tc_device_str(device, b, sizeof b));
    return NULL;
  }
  tc_tensor *src = NULL;
  if (from.type == TC_DEVICE_CPU) {
    src = tc_contiguous(t);
  } else if (tc__is_contiguous(t)) {
    src = tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
  } else {
    tc__error(TC_ERR_UNSUPPORTED, "%s: copying a non-contiguous device tensor needs the device's copy kernel", fn);
    return NULL;
  }
  if (!src) return NULL;
  tc_tensor *out = tc__empty(t->sizes, t->ndim, t->dtype, device);
  if (!out) {
    tc_tensor_release(src);
    return NULL;
  }
  size_t nbytes = (size_t)tc__numel(t->sizes, t->ndim) * tc_dtype_size(t->dtype);
  tc_status s = nbytes ? api->memcpy(tc__ptr(out), tc__ptr(src), nbytes, device.type == TC_DEVICE_CPU ? 1 : 0,
                                     device.type == TC_DEVICE_CPU ? from.index : device.index)
                       : TC_OK;
  tc_tensor_release(src);
  if (s) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

tc_status tc_copy_inplace(tc_tensor *dst, const tc_tensor *src) {
  const char *fn = "tc_copy_inplace";
  TC__NONNULL_S(dst, fn);
  TC__NONNULL_S(src, fn);
  if (tc__check_same_device(fn, dst, src)) return tc_last_status();
  if (tc__require_cpu(fn, dst)) return tc_last_status();
  int64_t bs[TC_MAX_DIMS];
  int nb;
  if (tc__broadcast_shapes(fn, dst->sizes, dst->ndim, src->sizes, src->ndim, bs, &nb)) return tc_last_status();
  if (nb != dst->ndim || memcmp(bs, dst->sizes, sizeof(int64_t) * (size_t)nb) != 0)
    return tc__error(TC_ERR_SHAPE, "%s: source shape %s does not broadcast to destination shape %s", fn,
                     tc__tshape(src), tc__tshape(dst));
  tc_tensor *s = tc__expand_to(src, dst->sizes, dst->ndim);
  if (!s) return tc_last_status();
  tc__cpu_copy(dst, s);
  tc_tensor_release(s);
  tc__bump_version(dst);
  return TC_OK;
}

tc_status tc_fill_inplace(tc_tensor *t, double value) {
  TC__NONNULL_S(t, "tc_fill_inplace");
  if (tc__require_cpu("tc_fill_inplace", t)) return tc_last_status();
  tc__cpu_fill(t, value);
  tc__bump_version(t);
  return TC_OK;
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
