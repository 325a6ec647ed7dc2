/* core/src/autograd/grad_util.c — helpers shared by backward functions. */
#include "autograd_internal.h"

tc_tensor *tc__sum_to(const tc_tensor *grad, const int64_t *shape, int ndim) {
  if (grad->ndim == ndim && !memcmp(grad->sizes, shape, sizeof(int64_t) * (size_t)ndim))
    return tc_tensor_retain((tc_tensor *)grad);
  /* dims to reduce: the leading extra dims, and dims where the target has size 1 */
  int64_t dims[TC_MAX_DIMS];
  int nd = 0, lead = grad->ndim - ndim;
  TC_ASSERT(lead >= 0);
  for (int i = 0; i < grad->ndim; i++)
    if (i < lead || (shape[i - lead] == 1 && grad->sizes[i] != 1)) dims[nd++] = i;
  tc_tensor *s = nd ? tc_sum(grad, dims, nd, true) : tc_tensor_retain((tc_tensor *)grad);
  if (!s) return NULL;
  tc_tensor *r = tc_reshape(s, shape, ndim);
  tc_tensor_release(s);
  return r;
}

tc_tensor *tc__grad_as(const tc_tensor *grad, tc_dtype dtype) {
  if (grad->dtype == dtype) return tc_tensor_retain((tc_tensor *)grad);
  return tc_to_dtype(grad, dtype);
}
