/* core/src/views.c — ops that return views sharing storage (view, permute, slice, expand, ...)
 * and the shape-only ops built on them (reshape, flatten, chunk, split, unbind). */
#include "views_backward.h"

/* Resolves one -1 in shape against numel; checks the product. */
static tc_status infer_shape(const char *fn, const tc_tensor *t, const int64_t *shape, int64_t ndim, int64_t *out) {
  if (ndim < 0 || ndim > TC_MAX_DIMS)
    return tc__error(TC_ERR_ARG, "%s: ndim %lld out of range [0, %d]", fn, (long long)ndim, TC_MAX_DIMS);
  if (ndim && !shape) return tc__error(TC_ERR_ARG, "%s: shape is NULL", fn);
  int64_t numel = tc__numel(t->sizes, t->ndim), prod = 1;
  int infer = -1;
  for (int64_t i = 0; i < ndim; i++) {
    if (shape[i] == -1) {
      if (infer >= 0) return tc__error(TC_ERR_SHAPE, "%s: only one dimension can be inferred (-1)", fn);
      infer = (int)i;
    } else if (shape[i] < 0) {
      return tc__error(TC_ERR_SHAPE, "%s: invalid size %lld in shape %s", fn, (long long)shape[i],
                       tc__shape_str(shape, (int)ndim));
    } else {
      prod *= shape[i];
    }
    out[i] = shape[i];
  }
  if (infer >= 0) {
    if (prod == 0 || numel % prod != 0)
      return tc__error(TC_ERR_SHAPE, "%s: shape %s is invalid for input of size %lld (shape %s)", fn,
                       tc__shape_str(shape, (int)ndim), (long long)numel, tc__tshape(t));
    out[infer] = numel / prod;
  } else if (prod != numel) {
    return tc__error(TC_ERR_SHAPE, "%s: shape %s is invalid for input of size %lld (shape %s)", fn,
                     tc__shape_str(shape, (int)ndim), (long long)numel, tc__tshape(t));
  }
  return TC_OK;
}

/* PyTorch's computeStride: strides for viewing t as `shape` without copying, or false. */
static bool view_strides(const tc_tensor *t, const int64_t *shape, int nd, int64_t *strides) {
  int64_t numel = tc__numel(t->sizes, t->ndim);
  if (numel == 0) {
    tc__contiguous_strides(shape, nd, strides);
    return true;
  }
  int view_d = nd - 1;
  int64_t chunk_base_stride = t->ndim ? t->strides[t->ndim - 1] : 1;
  int64_t tensor_numel = 1, view_numel = 1;
  for (int td = t->ndim - 1; td >= 0; td--) {
    tensor_numel *= t->sizes[td];
    if (td == 0 || (t->sizes[td - 1] != 1 && t->strides[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (td > 0) {
        chunk_base_stride = t->strides[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) {
    /* remaining leading size-1 dims */
    for (; view_d >= 0; view_d--) {
      if (shape[view_d] != 1) return false;
      strides[view_d] = 1;
    }
  }
  return true;
}

tc_tensor *tc_view(const tc_tensor *t, const int64_t *shape, int64_t ndim) {
  const char *fn = "tc_view";
  TC__NONNULL_T(t, fn);
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  if (infer_shape(fn, t, shape, ndim, sizes)) return NULL;
  if (!view_strides(t, sizes, (int)ndim, strides)) {
    tc__error(TC_ERR_SHAPE,
              "tc_view: view size %s is not compatible with input size %s and strides %s (at least one dimension "
              "spans across two contiguous subspaces); use tc_reshape",
              tc__shape_str(sizes, (int)ndim), tc__tshape(t), tc__shape_str(t->strides, t->ndim));
    return NULL;
  }
  return tc__view_record(TC__VIEW_RESHAPE, "ViewBackward0", t, tc__view(t, sizes, strides, (int)ndim, t->offset), NULL,
                         0);
}

tc_tensor *tc_reshape(const tc_tensor *t, const int64_t *shape, int64_t ndim) {
  const char *fn = "tc_reshape";
  TC__NONNULL_T(t, fn);
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  if (infer_shape(fn, t, shape, ndim, sizes)) return NULL;
  tc_tensor *v;
  if (view_strides(t, sizes, (int)ndim, strides)) {
    v = tc__view(t, sizes, strides, (int)ndim, t->offset);
  } else {
    tc_no_grad_push(); /* the copy's own history is replaced by the one recorded below */
    tc_tensor *c = tc_clone(t);
    tc_no_grad_pop();
    if (!c) return NULL;
    tc__contiguous_strides(sizes, (int)ndim, strides);
    v = tc__view(c, sizes, strides, (int)ndim, 0);
    tc_tensor_release(c);
  }
  return tc__view_record(TC__VIEW_RESHAPE, "ReshapeAliasBackward0", t, v, NULL, 0);
}

tc_tensor *tc_permute(const tc_tensor *t, const int64_t *dims, int64_t ndim) {
  const char *fn = "tc_permute";
  TC__NONNULL_T(t, fn);
  if (ndim != t->ndim) {
    tc__error(TC_ERR_ARG, "tc_permute: %lld dims given for a tensor of shape %s", (long long)ndim, tc__tshape(t));
    return NULL;
  }
  if (ndim && !dims) {
    tc__error(TC_ERR_ARG, "tc_permute: dims is NULL");
    return NULL;
  }
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  bool seen[TC_MAX_DIMS] = {false};
  int64_t wrapped[TC_MAX_DIMS];
  for (int64_t i = 0; i < ndim; i++) {
    int64_t d = dims[i];
    if (tc__wrap_dim(fn, &d, ndim)) return NULL;
    if (seen[d]) {
      tc__error(TC_ERR_ARG, "tc_permute: dim %lld repeats in %s", (long long)d, tc__shape_str(dims, (int)ndim));
      return NULL;
    }
    seen[d] = true;
    sizes[i] = t->sizes[d];
    strides[i] = t->strides[d];
    wrapped[i] = d;
  }
  return tc__view_record(TC__VIEW_PERMUTE, "PermuteBackward0", t, tc__view(t, sizes, strides, t->ndim, t->offset),
                         wrapped, (int)ndim);
}

tc_tensor *tc_transpose(const tc_tensor *t, int64_t d0, int64_t d1) {
  const char *fn = "tc_transpose";
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &d0, t->ndim) || tc__wrap_dim(fn, &d1, t->ndim)) return NULL;
  if (t->ndim == 0)
    return tc__view_record(TC__VIEW_ALIAS, "TransposeBackward0", t, tc__view(t, t->sizes, t->strides, 0, t->offset),
                           NULL, 0);
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  memcpy(sizes, t->sizes, sizeof sizes);
  memcpy(strides, t->strides, sizeof strides);
  sizes[d0] = t->sizes[d1];
  sizes[d1] = t->sizes[d0];
  strides[d0] = t->strides[d1];
  strides[d1] = t->strides[d0];
  int64_t p[2] = {d0, d1};
  return tc__view_record(TC__VIEW_TRANSPOSE, "TransposeBackward0", t, tc__view(t, sizes, strides, t->ndim, t->offset), p,
                         2);
}

tc_tensor *tc_t(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_t");
  if (t->ndim > 2) {
    tc__error(TC_ERR_SHAPE, "tc_t: expects a tensor with <= 2 dims, got shape %s", tc__tshape(t));
    return NULL;
  }
  if (t->ndim < 2)
    return tc__view_record(TC__VIEW_ALIAS, "TBackward0", t, tc__view(t, t->sizes, t->strides, t->ndim, t->offset), NULL,
                           0);
  return tc_transpose(t, 0, 1);
}

tc_tensor *tc_expand(const tc_tensor *t, const int64_t *shape, int64_t ndim) {
  const char *fn = "tc_expand";
  TC__NONNULL_T(t, fn);
  if (ndim < t->ndim || ndim > TC_MAX_DIMS || (ndim && !shape)) {
    tc__error(TC_ERR_SHAPE, "tc_expand: the number of sizes (%lld) must be >= the tensor's dims (%s)", (long long)ndim,
              tc__tshape(t));
    return NULL;
  }
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int64_t off = ndim - t->ndim;
  for (int64_t i = 0; i < ndim; i++) {
    int64_t j = i - off, want = shape[i];
    if (j < 0) {
      if (want < 0) {
        tc__error(TC_ERR_SHAPE, "tc_expand: size -1 not allowed in a new leading dim (%s)",
                  tc__shape_str(shape, (int)ndim));
        return NULL;
      }
      sizes[i] = want;
      strides[i] = 0;
      continue;
    }
    int64_t have = t->sizes[j];
    if (want == -1) want = have;
    if (want == have) {
      sizes[i] = have;
      strides[i] = t->strides[j];
    } else if (have == 1 && want >= 0) {
      sizes[i] = want;
      strides[i] = 0;
    } else {
      tc__error(TC_ERR_SHAPE, "tc_expand: the expanded size %lld must match the existing size %lld at dim %lld "
                "(tensor %s, target %s)", (long long)want, (long long)have, (long long)i, tc__tshape(t),
                tc__shape_str(shape, (int)ndim));
      return NULL;
    }
  }
  return tc__view_record(TC__VIEW_EXPAND, "ExpandBackward0", t, tc__view(t, sizes, strides, (int)ndim, t->offset), NULL,
                         0);
}

tc_tensor *tc_expand_as(const tc_tensor *t, const tc_tensor *other) {
  TC__NONNULL_T(t, "tc_expand_as");
  TC__NONNULL_T(other, "tc_expand_as");
  return tc_expand(t, other->sizes, other->ndim);
}

tc_tensor *tc_squeeze(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_squeeze");
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++)
    if (t->sizes[i] != 1) {
      sizes[n] = t->sizes[i];
      strides[n++] = t->strides[i];
    }
  return tc__view_record(TC__VIEW_RESHAPE, "SqueezeBackward0", t, tc__view(t, sizes, strides, n, t->offset), NULL, 0);
}

tc_tensor *tc_squeeze_dim(const tc_tensor *t, int64_t dim) {
  const char *fn = "tc_squeeze_dim";
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  if (t->ndim == 0 || t->sizes[dim] != 1)
    return tc__view_record(TC__VIEW_ALIAS, "SqueezeBackward1", t, tc__view(t, t->sizes, t->strides, t->ndim, t->offset),
                           NULL, 0);
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++)
    if (i != dim) {
      sizes[n] = t->sizes[i];
      strides[n++] = t->strides[i];
    }
  return tc__view_record(TC__VIEW_RESHAPE, "SqueezeBackward1", t, tc__view(t, sizes, strides, n, t->offset), NULL, 0);
}

tc_tensor *tc_unsqueeze(const tc_tensor *t, int64_t dim) {
  const char *fn = "tc_unsqueeze";
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &dim, t->ndim + 1)) return NULL;
  if (t->ndim >= TC_MAX_DIMS) {
    tc__error(TC_ERR_SHAPE, "%s: a tensor has at most %d dims", fn, TC_MAX_DIMS);
    return NULL;
  }
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int n = 0;
  for (int i = 0; i <= t->ndim; i++) {
    if (i == dim) {
      sizes[n] = 1;
      strides[n++] = i < t->ndim ? t->sizes[i] * t->strides[i] : 1;
    }
    if (i < t->ndim) {
      sizes[n] = t->sizes[i];
      strides[n++] = t->strides[i];
    }
  }
  return tc__view_record(TC__VIEW_RESHAPE, "UnsqueezeBackward0", t, tc__view(t, sizes, strides, n, t->offset), NULL, 0);
}

tc_tensor *tc_slice(const tc_tensor *t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const char *fn = "tc_slice";
  TC__NONNULL_T(t, fn);
  if (t->ndim == 0) {
    tc__error(TC_ERR_ARG, "%s: cannot slice a 0-d tensor", fn);
    return NULL;
  }
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  if (step <= 0) {
    tc__error(TC_ERR_ARG, "%s: step must be positive, got %lld", fn, (long long)step);
    return NULL;
  }
  int64_t n = t->sizes[dim];
  if (start < 0) start += n;
  if (end != TC_END && end < 0) end += n;
  if (end == TC_END || end > n) end = n;
  if (start < 0) start = 0;
  if (start > n) start = n;
  if (end < start) end = start;
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  memcpy(sizes, t->sizes, sizeof sizes);
  memcpy(strides, t->strides, sizeof strides);
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] = t->strides[dim] * step;
  int64_t p[4] = {dim, start, end, step};
  return tc__view_record(TC__VIEW_SLICE, "SliceBackward0", t,
                         tc__view(t, sizes, strides, t->ndim, t->offset + start * t->strides[dim]), p, 4);
}

tc_tensor *tc_narrow(const tc_tensor *t, int64_t dim, int64_t start, int64_t length) {
  const char *fn = "tc_narrow";
  TC__NONNULL_T(t, fn);
  if (t->ndim == 0) {
    tc__error(TC_ERR_ARG, "%s: cannot narrow a 0-d tensor", fn);
    return NULL;
  }
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  int64_t n = t->sizes[dim];
  if (start < 0) start += n;
  if (start < 0 || start > n || length < 0 || start + length > n) {
    tc__error(TC_ERR_ARG, "%s: start %lld + length %lld exceeds size %lld of dim %lld (shape %s)", fn,
              (long long)start, (long long)length, (long long)n, (long long)dim, tc__tshape(t));
    return NULL;
  }
  return tc_slice(t, dim, start, start + length, 1);
}

tc_tensor *tc_select(const tc_tensor *t, int64_t dim, int64_t index) {
  const char *fn = "tc_select";
  TC__NONNULL_T(t, fn);
  if (t->ndim == 0) {
    tc__error(TC_ERR_ARG, "%s: cannot select from a 0-d tensor", fn);
    return NULL;
  }
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  int64_t n = t->sizes[dim];
  if (index < -n || index >= n) {
    tc__error(TC_ERR_ARG, "%s: index %lld out of range for dim %lld of size %lld (shape %s)", fn, (long long)index,
              (long long)dim, (long long)n, tc__tshape(t));
    return NULL;
  }
  if (index < 0) index += n;
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < t->ndim; i++)
    if (i != dim) {
      sizes[k] = t->sizes[i];
      strides[k++] = t->strides[i];
    }
  int64_t p[2] = {dim, index};
  return tc__view_record(TC__VIEW_SELECT, "SelectBackward0", t, tc__view(t, sizes, strides, k, t->offset + index * t->strides[dim]),
                         p, 2);
}

tc_tensor *tc_flatten(const tc_tensor *t, int64_t start_dim, int64_t end_dim) {
  const char *fn = "tc_flatten";
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &start_dim, t->ndim) || tc__wrap_dim(fn, &end_dim, t->ndim)) return NULL;
  if (start_dim > end_dim) {
    tc__error(TC_ERR_ARG, "%s: start_dim %lld comes after end_dim %lld", fn, (long long)start_dim, (long long)end_dim);
    return NULL;
  }
  if (t->ndim == 0) {
    int64_t one = 1;
    return tc_reshape(t, &one, 1);
  }
  int64_t sizes[TC_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < start_dim; i++) sizes[n++] = t->sizes[i];
  int64_t p = 1;
  for (int64_t i = start_dim; i <= end_dim; i++) p *= t->sizes[i];
  sizes[n++] = p;
  for (int i = (int)end_dim + 1; i < t->ndim; i++) sizes[n++] = t->sizes[i];
  return tc_reshape(t, sizes, n);
}

tc_tensor *tc_unflatten(const tc_tensor *t, int64_t dim, const int64_t *usizes, int64_t nsizes) {
  const char *fn = "tc_unflatten";
  TC__NONNULL_T(t, fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return NULL;
  if (nsizes < 1 || !usizes || t->ndim - 1 + nsizes > TC_MAX_DIMS) {
    tc__error(TC_ERR_ARG, "%s: sizes must be a non-empty list", fn);
    return NULL;
  }
  int64_t n = t->ndim ? t->sizes[dim] : 1, prod = 1;
  int infer = -1;
  for (int64_t i = 0; i < nsizes; i++) {
    if (usizes[i] == -1 && infer < 0) infer = (int)i;
    else prod *= usizes[i];
  }
  int64_t sizes[TC_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < dim; i++) sizes[k++] = t->sizes[i];
  for (int64_t i = 0; i < nsizes; i++) sizes[k++] = (i == infer && prod) ? n / prod : usizes[i];
  for (int i = (int)dim + 1; i < t->ndim; i++) sizes[k++] = t->sizes[i];
  int64_t check = 1;
  for (int64_t i = 0; i < nsizes; i++) check *= sizes[dim + i];
  if (check != n) {
    tc__error(TC_ERR_SHAPE, "%s: sizes %s don't multiply up to the size %lld of dim %lld (shape %s)", fn,
              tc__shape_str(usizes, (int)nsizes), (long long)n, (long long)dim, tc__tshape(t));
    return NULL;
  }
  return tc_view(t, sizes, k);
}

tc_status tc_split_sizes(const tc_tensor *t, const int64_t *sizes, int64_t nsizes, int64_t dim, tc_tensor_list *out) {
  const char *fn = "tc_split_sizes";
  if (!out) return tc__error(TC_ERR_ARG, "%s: out is NULL", fn);
  out->data = NULL;
  out->n = 0;
  TC__NONNULL_S(t, fn);
  if (t->ndim == 0) return tc__error(TC_ERR_ARG, "%s: cannot split a 0-d tensor", fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return tc_last_status();
  int64_t total = 0;
  for (int64_t i = 0; i < nsizes; i++) {
    if (sizes[i] < 0) return tc__error(TC_ERR_ARG, "%s: negative split size %lld", fn, (long long)sizes[i]);
    total += sizes[i];
  }
  if (total != t->sizes[dim])
    return tc__error(TC_ERR_SHAPE, "%s: split sizes %s sum to %lld but dim %lld has size %lld (shape %s)", fn,
                     tc__shape_str(sizes, (int)nsizes), (long long)total, (long long)dim, (long long)t->sizes[dim],
                     tc__tshape(t));
  tc_tensor **items = tc__calloc(sizeof(tc_tensor *) * (size_t)(nsizes ? nsizes : 1));
  if (!items) return TC_ERR_NOMEM;
  int64_t start = 0;
  for (int64_t i = 0; i < nsizes; i++) {
    items[i] = tc_slice(t, dim, start, start + sizes[i], 1);
    if (!items[i]) {
      for (int64_t j = 0; j < i; j++) tc_tensor_release(items[j]);
      tc__free(items);
      return tc_last_status();
    }
    tc_scope_keep(items[i]); /* owned by the list */
    start += sizes[i];
  }
  out->data = items;
  out->n = nsizes;
  return TC_OK;
}

tc_status tc_split(const tc_tensor *t, int64_t split_size, int64_t dim, tc_tensor_list *out) {
  const char *fn = "tc_split";
  if (!out) return tc__error(TC_ERR_ARG, "%s: out is NULL", fn);
  out->data = NULL;
  out->n = 0;
  TC__NONNULL_S(t, fn);
  if (t->ndim == 0) return tc__error(TC_ERR_ARG, "%s: cannot split a 0-d tensor", fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return tc_last_status();
  int64_t n = t->sizes[dim];
  if (split_size <= 0 && !(split_size == 0 && n == 0))
    return tc__error(TC_ERR_ARG, "%s: split_size must be positive, got %lld", fn, (long long)split_size);
  int64_t count = split_size ? (n + split_size - 1) / split_size : 1;
  if (count == 0) count = 1; /* PyTorch returns one empty piece for an empty dim */
  int64_t *sizes = tc__malloc(sizeof(int64_t) * (size_t)count);
  if (!sizes) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < count; i++) {
    int64_t rest = n - i * split_size;
    sizes[i] = rest < split_size ? rest : split_size;
    if (sizes[i] < 0) sizes[i] = 0;
  }
  tc_status s = tc_split_sizes(t, sizes, count, dim, out);
  tc__free(sizes);
  return s;
}

tc_status tc_chunk(const tc_tensor *t, int64_t chunks, int64_t dim, tc_tensor_list *out) {
  const char *fn = "tc_chunk";
  if (!out) return tc__error(TC_ERR_ARG, "%s: out is NULL", fn);
  out->data = NULL;
  out->n = 0;
  TC__NONNULL_S(t, fn);
  if (chunks <= 0) return tc__error(TC_ERR_ARG, "%s: chunks must be positive, got %lld", fn, (long long)chunks);
  if (t->ndim == 0) return tc__error(TC_ERR_ARG, "%s: cannot chunk a 0-d tensor", fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return tc_last_status();
  int64_t n = t->sizes[dim];
  int64_t split_size = (n + chunks - 1) / chunks;
  if (split_size == 0 && n == 0) {
    /* PyTorch: chunking an empty dim gives `chunks` empty pieces */
    int64_t *sizes = tc__calloc(sizeof(int64_t) * (size_t)chunks);
    if (!sizes) return TC_ERR_NOMEM;
    tc_status s = tc_split_sizes(t, sizes, chunks, dim, out);
    tc__free(sizes);
    return s;
  }
  return tc_split(t, split_size, dim, out);
}

tc_status tc_unbind(const tc_tensor *t, int64_t dim, tc_tensor_list *out) {
  const char *fn = "tc_unbind";
  if (!out) return tc__error(TC_ERR_ARG, "%s: out is NULL", fn);
  out->data = NULL;
  out->n = 0;
  TC__NONNULL_S(t, fn);
  if (t->ndim == 0) return tc__error(TC_ERR_ARG, "%s: cannot unbind a 0-d tensor", fn);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return tc_last_status();
  int64_t n = t->sizes[dim];
  tc_tensor **items = tc__calloc(sizeof(tc_tensor *) * (size_t)(n ? n : 1));
  if (!items) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < n; i++) {
    items[i] = tc_select(t, dim, i);
    if (!items[i]) {
      for (int64_t j = 0; j < i; j++) tc_tensor_release(items[j]);
      tc__free(items);
      return tc_last_status();
    }
    tc_scope_keep(items[i]);
  }
  out->data = items;
  out->n = n;
  return TC_OK;
}

tc_tensor *tc_detach(const tc_tensor *t) {
  TC__NONNULL_T(t, "tc_detach");
  return tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
}
