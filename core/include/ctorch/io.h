/* ctorch/io.h — printing tensors and NumPy .npy files.
 *
 *   tc_tensor_print(x, stdout);         // tensor([[1., 2.], [3., 4.]]) as torch's repr
 *   tc_npy_save("x.npy", x);
 *   tc_tensor *y = tc_npy_load("x.npy");
 */
#ifndef CTORCH_IO_H
#define CTORCH_IO_H

#include <stdio.h>
#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PyTorch-style repr: summarised with "..." beyond 1000 elements, dtype/device shown when not the
 * default. Returns a NUL-terminated string the caller frees with tc_free, or NULL. */
TC_API char *tc_tensor_format(const tc_tensor *t);
TC_API tc_status tc_tensor_print(const tc_tensor *t, FILE *f);

/* .npy v1/v2/v3, C or Fortran order, little or big endian; dtypes f4 f8 f2 i8 i4 i2 i1 u1 u2 b1 c8
 * (bfloat16 has no NumPy dtype: TC_ERR_UNSUPPORTED). A malformed file gives TC_ERR_CORRUPT. */
TC_API tc_tensor *tc_npy_load(const char *path);
TC_API tc_tensor *tc_npy_load_buffer(const void *data, size_t nbytes);
/* Writes C order, little endian, atomically (temp file then rename). */
TC_API tc_status tc_npy_save(const char *path, const tc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
