/* CUDA device basics: the backend loads only when asked for, tensors move to a GPU and back.
 * Exits 77 (skipped) when no CUDA device is present. Linked against the shared libctorch, as
 * applications are, so libctorch_cuda and the core share one error state. */
#include <ctorch/ctorch.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, tc_last_error()); \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

static int mapped(const char *name) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
  fclose(f);
  return found;
}

int main(void) {
  /* CPU work never loads the CUDA backend (nor the CUDA runtime / cuBLAS) */
  tc_tensor *x = tc_arange(0, 12, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *y = tc_mul_scalar(x, 2);
  CHECK(y != NULL);
  CHECK(!mapped("libctorch_cuda"));
  int n = tc_cuda_device_count();
  if (n <= 0) {
    CHECK(!tc_cuda_is_available());
    CHECK(tc_tensor_to(x, tc_cuda(0)) == NULL && tc_last_status() == TC_ERR_DEVICE);
    printf("no CUDA device: skipped\n");
    tc_tensor_release(x);
    tc_tensor_release(y);
    return 77;
  }
  CHECK(tc_cuda_is_available());
  CHECK(mapped("libctorch_cuda"));
  printf("%d CUDA device(s)\n", n);
  /* round trip, including a non-contiguous source */
  tc_tensor *m = tc_reshape(x, (int64_t[]){3, 4}, 2);
  tc_tensor *mt = tc_t(m);
  tc_tensor *g = tc_tensor_to(mt, tc_cuda(0));
  CHECK(g != NULL);
  char dev[32];
  CHECK(strcmp(tc_device_str(tc_tensor_device(g), dev, sizeof dev), "cuda:0") == 0);
  CHECK(tc_tensor_data(g) == NULL); /* no host pointer for device memory */
  tc_tensor *back = tc_tensor_to(g, tc_cpu());
  CHECK(back != NULL && tc_tensor_ndim(back) == 2 && tc_tensor_shape(back)[0] == 4);
  const float *b = tc_tensor_data(back);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) CHECK(b[i * 3 + j] == (float)(j * 4 + i));
  /* factories on the device */
  tc_tensor *z = tc_zeros((int64_t[]){5}, 1, TC_OPTS(.device = tc_cuda(0)));
  CHECK(z == NULL || tc_tensor_device(z).type == TC_DEVICE_CUDA);
  double v;
  tc_tensor *row = tc_select(back, 0, 1);
  tc_tensor *elem = tc_select(row, 0, 1);               /* back[1][1] = mt[1][1] = 5 */
  tc_tensor *one = tc_tensor_to(elem, tc_cuda(0));
  CHECK(one && tc_item_double(one, &v) == TC_OK && v == 5.0);
  /* device mismatch and missing kernels are errors, not crashes */
  CHECK(tc_add(g, mt, 1.0) == NULL && tc_last_status() == TC_ERR_DEVICE);
  CHECK(tc_tensor_to(x, tc_cuda(n)) == NULL && tc_last_status() == TC_ERR_DEVICE);
  /* out of memory is TC_ERR_NOMEM with a message */
  tc_tensor *huge = tc_empty((int64_t[]){(int64_t)1 << 40}, 1, TC_OPTS(.device = tc_cuda(0)));
  CHECK(huge == NULL && tc_last_status() == TC_ERR_NOMEM);
  printf("cuda device checks passed\n");
  return 0;
}
