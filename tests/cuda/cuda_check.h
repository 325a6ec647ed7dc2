/* tests/cuda/cuda_check.h — what the CUDA suites share: counting checks, comparing a device result
 * with the CPU's, and the skip rule.
 *
 *   int main(void) {
 *     if (cuda_check_start()) return 77;                 // no device: skipped
 *     EXPECT(y != NULL, "conv on %s", "gpu");
 *     same(cpu_result, gpu_result, rtol_of(TC_F32), 0, "conv");
 *     return cuda_check_finish("cuda layers");          // prints the summary, 0 or 1
 *   }
 *
 * Mismatches are printed as they are found (stderr), so one run shows every failing check. */
#ifndef CTORCH_TESTS_CUDA_CHECK_H
#define CTORCH_TESTS_CUDA_CHECK_H

#include <ctorch/ctorch.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SHAPE_OF(...) ((const int64_t[]){__VA_ARGS__})

extern int failures, checks;
extern tc_device gpu; /* cuda:0 */

#define EXPECT(cond, ...)                             \
  do {                                                \
    checks++;                                         \
    if (!(cond)) {                                    \
      failures++;                                     \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                   \
      fprintf(stderr, " [%s]\n", tc_last_error());    \
    }                                                 \
  } while (0)

/* progress on stderr (unbuffered): a crash shows which part was running */
#define RUN(f)                      \
  do {                              \
    fprintf(stderr, "-- %s\n", #f); \
    f();                            \
  } while (0)

/* Nonzero (after printing why) when there is no CUDA device; sets gpu otherwise. With
 * CTORCH_CUDA_CHECK_ON_CPU=1 the CPU stands in for the device (to check a suite's own logic on a
 * machine without a GPU; device-only expectations then fail). */
int cuda_check_start(void);
/* Prints "<suite>: N checks, M failed" and returns the exit code. */
int cuda_check_finish(const char *suite);

static inline tc_tensor *on_gpu(const tc_tensor *t) { return tc_tensor_to(t, gpu); }

/* Relative tolerance of a device result by dtype (transcendental functions differ by a few ulp). */
double rtol_of(tc_dtype d);
/* Same shape and dtype, every value within atol + rtol * |ref| (NaN matches NaN, infinities
 * exactly; integers and bool exactly). ref may itself be a device result. */
void same(const tc_tensor *ref, const tc_tensor *dev, double rtol, double atol, const char *what);
/* Same shape and dtype, every value within atol + rtol * max|ref|: for results whose summation
 * order differs (convolution algorithms), where small elements carry the large ones' rounding. */
void close_to(const tc_tensor *ref, const tc_tensor *dev, double rtol, double atol, const char *what);
/* Bit for bit the same values (run-to-run determinism). */
bool bit_identical(const tc_tensor *a, const tc_tensor *b);

#endif
