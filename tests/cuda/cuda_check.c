/* tests/cuda/cuda_check.c — the helpers of cuda_check.h. */
#include "cuda_check.h"
#include <stdlib.h>

int failures, checks;
tc_device gpu;

int cuda_check_start(void) {
  const char *stand_in = getenv("CTORCH_CUDA_CHECK_ON_CPU");
  if (stand_in && *stand_in == '1') { /* the suites' own logic, with the CPU as "the device" */
    printf("CTORCH_CUDA_CHECK_ON_CPU=1: the CPU stands in for the device\n");
    gpu = tc_cpu();
    return 0;
  }
  if (tc_cuda_device_count() <= 0) {
    printf("no CUDA device: skipped\n");
    return 1;
  }
  gpu = tc_cuda(0);
  return 0;
}

int cuda_check_finish(const char *suite) {
  printf("%s: %d checks, %d failed\n", suite, checks, failures);
  return failures ? 1 : 0;
}

/* relative tolerance by dtype (GPU transcendental functions differ from glibc by a few ulp) */
double rtol_of(tc_dtype d) {
  switch (d) {
    case TC_F32: return 2e-5;
    case TC_F64: return 1e-12;
    case TC_F16: return 2e-3;
    case TC_BF16: return 1.6e-2;
    default: return 0;
  }
}

/* Compares a GPU result with the reference (the CPU's, or another GPU result): same shape and
 * dtype, values within rtol (NaN matches NaN, infinities match exactly). */
void same(const tc_tensor *cpu, const tc_tensor *dev, double rtol, double atol, const char *what) {
  checks++;
  if (!cpu || !dev) {
    failures++;
    fprintf(stderr, "%s: %s result is NULL [%s]\n", what, cpu ? "gpu" : "cpu", tc_last_error());
    return;
  }
  if (tc_tensor_dtype(cpu) != tc_tensor_dtype(dev) || tc_tensor_ndim(cpu) != tc_tensor_ndim(dev) ||
      memcmp(tc_tensor_shape(cpu), tc_tensor_shape(dev), sizeof(int64_t) * (size_t)tc_tensor_ndim(cpu))) {
    failures++;
    fprintf(stderr, "%s: shape or dtype differ (%s vs %s)\n", what, tc_dtype_name(tc_tensor_dtype(cpu)),
            tc_dtype_name(tc_tensor_dtype(dev)));
    return;
  }
  tc_scope_push();
  /* both to the host (the reference may itself be a device result) */
  tc_tensor *hc = tc_tensor_to(cpu, tc_cpu()), *h = tc_tensor_to(dev, tc_cpu());
  tc_tensor *a = tc_contiguous(tc_to_dtype(hc, TC_F64)), *b = tc_contiguous(tc_to_dtype(h, TC_F64));
  bool integral = !tc_dtype_is_floating(tc_tensor_dtype(cpu));
  if (integral) { /* exact: compare as int64 (f64 cannot hold every int64) */
    a = tc_contiguous(tc_to_dtype(hc, TC_I64));
    b = tc_contiguous(tc_to_dtype(h, TC_I64));
  }
  if (!a || !b) {
    failures++;
    fprintf(stderr, "%s: copying back failed [%s]\n", what, tc_last_error());
    tc_scope_pop();
    return;
  }
  int64_t n = tc_tensor_numel(a), bad = 0, first = -1;
  for (int64_t i = 0; i < n; i++) {
    bool ok;
    if (integral) {
      ok = ((const int64_t *)tc_tensor_data(a))[i] == ((const int64_t *)tc_tensor_data(b))[i];
    } else {
      double x = ((const double *)tc_tensor_data(a))[i], y = ((const double *)tc_tensor_data(b))[i];
      ok = (isnan(x) && isnan(y)) || x == y || (isfinite(x) && fabs(x - y) <= atol + rtol * fabs(x));
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (bad) {
    failures++;
    double x = integral ? (double)((const int64_t *)tc_tensor_data(a))[first] : ((const double *)tc_tensor_data(a))[first];
    double y = integral ? (double)((const int64_t *)tc_tensor_data(b))[first] : ((const double *)tc_tensor_data(b))[first];
    fprintf(stderr, "%s: %lld of %lld elements differ; first at %lld: cpu %.17g gpu %.17g\n", what, (long long)bad,
            (long long)n, (long long)first, x, y);
  }
  tc_scope_pop();
}

/* Inputs of a dtype: floats uniform in [-3, 3) with NaN, inf, -inf and -0 planted; integers in
 * [-5, 5] (unsigned [0, 10]); bool random. Shape (rows, cols). */
/* |a - b| <= atol + rtol * max|a| elementwise (a scale-aware test: convolution algorithms sum in
 * different orders); NULL, shape or dtype differences fail. */
void close_to(const tc_tensor *ref, const tc_tensor *dev, double rtol, double atol, const char *what) {
  checks++;
  if (!ref || !dev) {
    failures++;
    fprintf(stderr, "%s: %s result is NULL [%s]\n", what, ref ? "gpu" : "cpu", tc_last_error());
    return;
  }
  if (tc_tensor_dtype(ref) != tc_tensor_dtype(dev) || tc_tensor_ndim(ref) != tc_tensor_ndim(dev) ||
      memcmp(tc_tensor_shape(ref), tc_tensor_shape(dev), sizeof(int64_t) * (size_t)tc_tensor_ndim(ref))) {
    failures++;
    fprintf(stderr, "%s: shape or dtype differ\n", what);
    return;
  }
  tc_scope_push();
  tc_tensor *a = tc_contiguous(tc_to_dtype(tc_tensor_to(ref, tc_cpu()), TC_F64));
  tc_tensor *b = tc_contiguous(tc_to_dtype(tc_tensor_to(dev, tc_cpu()), TC_F64));
  int64_t n = tc_tensor_numel(a), bad = 0, first = -1;
  const double *x = tc_tensor_data(a), *y = tc_tensor_data(b);
  double scale = 0;
  for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(x[i]));
  for (int64_t i = 0; i < n; i++)
    if (!(fabs(x[i] - y[i]) <= atol + rtol * scale) && !(isnan(x[i]) && isnan(y[i]))) {
      if (first < 0) first = i;
      bad++;
    }
  if (bad) {
    failures++;
    fprintf(stderr, "%s: %lld of %lld differ; first at %lld: cpu %.9g gpu %.9g (scale %.3g)\n", what, (long long)bad,
            (long long)n, (long long)first, x[first], y[first], scale);
  }
  tc_scope_pop();
}

bool bit_identical(const tc_tensor *a, const tc_tensor *b) {
  tc_scope_push();
  tc_tensor *x = tc_contiguous(tc_tensor_to(a, tc_cpu())), *y = tc_contiguous(tc_tensor_to(b, tc_cpu()));
  bool eq = x && y && tc_tensor_dtype(x) == tc_tensor_dtype(y) && tc_tensor_numel(x) == tc_tensor_numel(y) &&
            memcmp(tc_tensor_data(x), tc_tensor_data(y), (size_t)tc_tensor_numel(x) * tc_tensor_element_size(x)) == 0;
  tc_scope_pop();
  return eq;
}
