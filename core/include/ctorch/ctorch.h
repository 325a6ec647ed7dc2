/* ctorch/ctorch.h — the core library (libctorch, prefix tc_): include this one header.
 *
 * ctorch is PyTorch's programming model in C11. A minimal program:
 *
 *   #include <ctorch/ctorch.h>
 *   int main(void) {
 *     tc_manual_seed(0);
 *     tc_tensor *a = tc_randn((int64_t[]){2, 3}, 2, NULL);
 *     tc_tensor *b = tc_ones((int64_t[]){3}, 1, NULL);
 *     tc_tensor *c = tc_add(a, b, 1.0);             // broadcasting
 *     if (!c) { fprintf(stderr, "%s\n", tc_last_error()); return 1; }
 *     tc_tensor_print(c, stdout);
 *     tc_tensor_release(a); tc_tensor_release(b); tc_tensor_release(c);
 *     return 0;
 *   }
 */
#ifndef CTORCH_CTORCH_H
#define CTORCH_CTORCH_H

#include "ctorch/export.h"
#include "ctorch/status.h"
#include "ctorch/dtype.h"
#include "ctorch/device.h"
#include "ctorch/tensor.h"
#include "ctorch/ops.h"
#include "ctorch/memory.h"
#include "ctorch/random.h"
#include "ctorch/io.h"
#include "ctorch/parallel.h"
#include "ctorch/nn_functional.h"
#include "ctorch/autograd.h"
#include "ctorch/state_dict.h"
#include "ctorch/optim.h"
#include "ctorch/nn.h"
#include "ctorch/nn_layers.h"
#include "ctorch/checkpoint.h"
#include "ctorch/amp.h"

#define CTORCH_VERSION_MAJOR 0
#define CTORCH_VERSION_MINOR 1
#define CTORCH_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif
/* "0.1.0" */
TC_API const char *tc_version(void);
#ifdef __cplusplus
}
#endif
#endif
