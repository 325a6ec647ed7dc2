/* core/src/shape.c — broadcasting rules shared by every op. */
#include "internal.h"

tc_status tc__broadcast_shapes(const char *fn, const int64_t *a, int na, const int64_t *b, int nb, int64_t *out,
                               int *nout) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = na - n + i, ib = nb - n + i;
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      return tc__error(TC_ERR_SHAPE,
                       "%s: shapes %s and %s cannot broadcast: size %lld != %lld at dim %d (counting from the right: %d)",
                       fn, tc__shape_str(a, na), tc__shape_str(b, nb), (long long)sa, (long long)sb, i, n - 1 - i);
    out[i] = sa == 1 ? sb : sa;
  }
  *nout = n;
  return TC_OK;
}

tc_tensor *tc__expand_to(const tc_tensor *t, const int64_t *sizes, int ndim) {
  int64_t strides[TC_MAX_DIMS];
  int off = ndim - t->ndim;
  TC_ASSERT(off >= 0);
  for (int i = 0; i < ndim; i++) {
    int j = i - off;
    if (j < 0) strides[i] = 0;
    else if (t->sizes[j] == sizes[i]) strides[i] = t->strides[j];
    else {
      TC_ASSERT(t->sizes[j] == 1);
      strides[i] = 0;
    }
  }
  return tc__view(t, sizes, strides, ndim, t->offset);
}

tc_status tc__check_same_device(const char *fn, const tc_tensor *a, const tc_tensor *b) {
  tc_device da = a->storage->device, db = b->storage->device;
  if (tc_device_equal(da, db)) return TC_OK;
  char x[32], y[32];
  return tc__error(TC_ERR_DEVICE, "%s: expected all tensors on one device, got %s and %s", fn,
                   tc_device_str(da, x, sizeof x), tc_device_str(db, y, sizeof y));
}
