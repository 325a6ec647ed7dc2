/* core/src/linalg.c — matrix products on OpenBLAS (matmul, mm, bmm, mv, dot, outer, addmm). */
#include <cblas.h>
#include "internal.h"

/* OpenBLAS is told the pool's thread count; both are never busy at once (see parallel.h). */
void tc__blas_set_threads(int n) { openblas_set_num_threads(n); }
