/* core/src/tensor.c — storage and tensor lifecycle, attributes, and the internal constructors
 * (tc__empty, tc__view) that every op uses. */
#include <stdlib.h>
#include "internal.h"

/* ---- storage --------------------------------------------------------------------------------- */

tc__storage *tc__storage_new(size_t nbytes, tc_device device) {
  const tc__device_api *api = tc__device_api_for(device, "tc_empty");
  if (!api) return NULL;
  tc__storage *s = tc__malloc(sizeof *s);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  atomic_init(&s->refcount, 1);
  atomic_init(&s->version, 0);
  s->nbytes = nbytes;
  s->device = device;
  if (nbytes) {
    s->data = api->alloc(nbytes, device.index);
    if (!s->data) {
      tc__free(s);
      return NULL;
    }
  }
  return s;
}

void tc__storage_retain(tc__storage *s) { atomic_fetch_add_explicit(&s->refcount, 1, memory_order_relaxed); }

void tc__storage_release(tc__storage *s) {
  if (!s) return;
  if (atomic_fetch_sub_explicit(&s->refcount, 1, memory_order_acq_rel) != 1) return;
  if (s->deleter) {
    s->deleter(s->data, s->deleter_ctx);
  } else if (!s->borrowed && s->data) {
    const tc__device_api *api = tc__device_api_for(s->device, "tc_tensor_release");
    if (api) api->free(s->data, s->device.index);
  }
  if (s->root_meta && s->root_meta_owned) tc__autograd_meta_unref(s->root_meta);
  tc__free(s);
}

/* ---- tensors ---------------------------------------------------------------------------------- */

int64_t tc__numel(const int64_t *sizes, int ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= sizes[i];
  return n;
}

void tc__contiguous_strides(const int64_t *sizes, int ndim, int64_t *strides) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    strides[i] = s;
    s *= sizes[i] > 1 ? sizes[i] : 1;
  }
}

bool tc__is_contiguous(const tc_tensor *t) {
  int64_t expected = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->sizes[i] == 0) return true;
    if (t->sizes[i] != 1 && t->strides[i] != expected) return false;
    expected *= t->sizes[i];
  }
  return true;
}

static tc_tensor *tensor_struct(tc__storage *s, tc_dtype dtype, const int64_t *sizes, const int64_t *strides,
                                int ndim, int64_t offset) {
  tc_tensor *t = tc__malloc(sizeof *t);
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  atomic_init(&t->refcount, 1);
  atomic_init(&t->scoped, 0);
  t->storage = s;
  t->dtype = dtype;
  t->ndim = ndim;
  t->offset = offset;
  for (int i = 0; i < ndim; i++) {
    t->sizes[i] = sizes[i];
    t->strides[i] = strides[i];
  }
  return t;
}

static tc_status check_sizes(const char *fn, const int64_t *sizes, int64_t ndim, size_t esize, size_t *nbytes) {
  if (ndim < 0 || ndim > TC_MAX_DIMS)
    return tc__error(TC_ERR_ARG, "%s: ndim %lld out of range [0, %d]", fn, (long long)ndim, TC_MAX_DIMS);
  if (ndim > 0 && !sizes) return tc__error(TC_ERR_ARG, "%s: shape is NULL with ndim %lld", fn, (long long)ndim);
  uint64_t n = 1;
  for (int64_t i = 0; i < ndim; i++) {
    if (sizes[i] < 0)
      return tc__error(TC_ERR_SHAPE, "%s: negative size %lld in shape %s", fn, (long long)sizes[i],
                       tc__shape_str(sizes, (int)ndim));
    if (sizes[i] && n > (uint64_t)INT64_MAX / (uint64_t)sizes[i])
      return tc__error(TC_ERR_SHAPE, "%s: shape %s is too large", fn, tc__shape_str(sizes, (int)ndim));
    n *= (uint64_t)sizes[i];
  }
  if (n > (uint64_t)INT64_MAX / esize)
    return tc__error(TC_ERR_SHAPE, "%s: shape %s is too large", fn, tc__shape_str(sizes, (int)ndim));
  *nbytes = (size_t)(n * esize);
  return TC_OK;
}

tc_tensor *tc__empty(const int64_t *sizes, int ndim, tc_dtype dtype, tc_device device) {
  if (!tc__dtype_valid(dtype)) {
    tc__error(TC_ERR_DTYPE, "tc_empty: invalid dtype %d", (int)dtype);
    return NULL;
  }
  size_t nbytes;
  if (check_sizes("tc_empty", sizes, ndim, tc_dtype_size(dtype), &nbytes)) return NULL;
  tc__storage *s = tc__storage_new(nbytes, device);
  if (!s) return NULL;
  int64_t strides[TC_MAX_DIMS];
  tc__contiguous_strides(sizes, ndim, strides);
  tc_tensor *t = tensor_struct(s, dtype, sizes, strides, ndim, 0);
  if (!t) {
    tc__storage_release(s);
    return NULL;
  }
  tc__mark_root(t);
  tc__scope_record(t);
  return t;
}

void tc__mark_root(tc_tensor *t) {
  tc__storage *s = t->storage;
  t->is_root = true;
  s->root_ndim = t->ndim;
  s->root_offset = t->offset;
  memcpy(s->root_sizes, t->sizes, sizeof t->sizes);
  memcpy(s->root_strides, t->strides, sizeof t->strides);
}

tc_tensor *tc__view(const tc_tensor *base, const int64_t *sizes, const int64_t *strides, int ndim, int64_t offset) {
  tc_tensor *t = tensor_struct(base->storage, base->dtype, sizes, strides, ndim, offset);
  if (!t) return NULL;
  tc__storage_retain(base->storage);
  tc__scope_record(t);
  return t;
}

tc_tensor *tc_tensor_retain(tc_tensor *t) {
  if (t) atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
  return t;
}


void tc_tensor_release(tc_tensor *t) {
  if (!t) return;
  if (atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) != 1) return;
  if (atomic_load(&t->scoped)) tc__scope_forget(t);
  if (t->autograd) tc__autograd_free(t);
  tc__storage_release(t->storage);
  tc__free(t);
}

void tc_tensor_list_clear(tc_tensor_list *list) {
  if (!list) return;
  for (int64_t i = 0; i < list->n; i++) tc_tensor_release(list->data[i]);
  tc__free(list->data);
  list->data = NULL;
  list->n = 0;
}

/* ---- attributes ------------------------------------------------------------------------------- */

int64_t tc_tensor_ndim(const tc_tensor *t) { return t ? t->ndim : -1; }
const int64_t *tc_tensor_shape(const tc_tensor *t) { return t ? t->sizes : NULL; }
const int64_t *tc_tensor_strides(const tc_tensor *t) { return t ? t->strides : NULL; }
int64_t tc_tensor_numel(const tc_tensor *t) { return t ? tc__numel(t->sizes, t->ndim) : 0; }
int64_t tc_tensor_offset(const tc_tensor *t) { return t ? t->offset : 0; }
tc_dtype tc_tensor_dtype(const tc_tensor *t) { return t ? t->dtype : TC_DTYPE_DEFAULT; }
tc_device tc_tensor_device(const tc_tensor *t) { return t ? t->storage->device : tc_cpu(); }
bool tc_tensor_is_contiguous(const tc_tensor *t) { return t && tc__is_contiguous(t); }
size_t tc_tensor_element_size(const tc_tensor *t) { return t ? tc_dtype_size(t->dtype) : 0; }

int64_t tc_tensor_size(const tc_tensor *t, int64_t dim) {
  if (!t) {
    tc__null_arg("tc_tensor_size", "t");
    return -1;
  }
  if (tc__wrap_dim("tc_tensor_size", &dim, t->ndim)) return -1;
  return t->ndim ? t->sizes[dim] : 1;
}

int64_t tc_tensor_stride(const tc_tensor *t, int64_t dim) {
  if (!t) {
    tc__null_arg("tc_tensor_stride", "t");
    return 0;
  }
  if (tc__wrap_dim("tc_tensor_stride", &dim, t->ndim)) return 0;
  return t->ndim ? t->strides[dim] : 1;
}

void *tc_tensor_data(const tc_tensor *t) {
  if (!t || t->storage->device.type != TC_DEVICE_CPU || !t->storage->data) return NULL;
  return tc__ptr(t);
}

bool tc_tensor_shares_storage(const tc_tensor *a, const tc_tensor *b) {
  return a && b && a->storage == b->storage;
}

tc_status tc__wrap_dim(const char *fn, int64_t *dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;
  int64_t d = *dim;
  if (d < -n || d >= n)
    return tc__error(TC_ERR_ARG, "%s: dim %lld out of range for a %lld-d tensor (expected [%lld, %lld])", fn,
                     (long long)d, (long long)ndim, (long long)-n, (long long)(n - 1));
  *dim = d < 0 ? d + n : d;
  return TC_OK;
}

tc_dtype tc__opt_dtype(const tc_options *opt, tc_dtype dflt) {
  return (opt && opt->dtype != TC_DTYPE_DEFAULT) ? opt->dtype : dflt;
}

tc_device tc__opt_device(const tc_options *opt) { return opt ? opt->device : tc_cpu(); }

/* ---- from data / from blob -------------------------------------------------------------------- */

tc_tensor *tc_tensor_from_data(const void *data, const int64_t *shape, int64_t ndim, tc_dtype dtype) {
  const char *fn = "tc_tensor_from_data";
  if (!tc__dtype_valid(dtype) || dtype == TC_DTYPE_DEFAULT) {
    tc__error(TC_ERR_DTYPE, "%s: invalid dtype %d", fn, (int)dtype);
    return NULL;
  }
  size_t nbytes;
  if (check_sizes(fn, shape, ndim, tc_dtype_size(dtype), &nbytes)) return NULL;
  if (nbytes && !data) {
    tc__error(TC_ERR_ARG, "%s: data is NULL for shape %s", fn, tc__shape_str(shape, (int)ndim));
    return NULL;
  }
  tc_tensor *t = tc__empty(shape, (int)ndim, dtype, tc_cpu());
  if (t && nbytes) memcpy(t->storage->data, data, nbytes);
  return t;
}

tc_tensor *tc_tensor_from_blob(void *data, const int64_t *shape, const int64_t *strides, int64_t ndim,
                               tc_dtype dtype, void (*deleter)(void *, void *), void *ctx) {
  const char *fn = "tc_tensor_from_blob";
  if (!tc__dtype_valid(dtype) || dtype == TC_DTYPE_DEFAULT) {
    tc__error(TC_ERR_DTYPE, "%s: invalid dtype %d", fn, (int)dtype);
    return NULL;
  }
  size_t nbytes;
  if (check_sizes(fn, shape, ndim, tc_dtype_size(dtype), &nbytes)) return NULL;
  if (!data && nbytes) {
    tc__error(TC_ERR_ARG, "%s: data is NULL for shape %s", fn, tc__shape_str(shape, (int)ndim));
    return NULL;
  }
  int64_t st[TC_MAX_DIMS];
  if (strides) {
    for (int64_t i = 0; i < ndim; i++) {
      if (strides[i] < 0) {
        tc__error(TC_ERR_ARG, "%s: negative stride %lld at dim %lld", fn, (long long)strides[i], (long long)i);
        return NULL;
      }
      st[i] = strides[i];
    }
  } else {
    tc__contiguous_strides(shape, (int)ndim, st);
  }
  /* extent in bytes the strides reach, for the storage's nbytes */
  int64_t last = 0;
  bool empty = false;
  for (int64_t i = 0; i < ndim; i++) {
    if (shape[i] == 0) empty = true;
    else last += (shape[i] - 1) * st[i];
  }
  tc__storage *s = tc__malloc(sizeof *s);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  atomic_init(&s->refcount, 1);
  atomic_init(&s->version, 0);
  s->data = data;
  s->nbytes = empty ? 0 : (size_t)(last + 1) * tc_dtype_size(dtype);
  s->device = tc_cpu();
  s->deleter = deleter;
  s->deleter_ctx = ctx;
  s->borrowed = deleter == NULL;
  tc_tensor *t = tensor_struct(s, dtype, shape, st, (int)ndim, 0);
  if (!t) {
    tc__free(s); /* the deleter is not called: the caller still owns data on failure */
    return NULL;
  }
  tc__mark_root(t);
  tc__scope_record(t);
  return t;
}
