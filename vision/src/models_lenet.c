/* vision/src/models_lenet.c — LeNet-5 for 28x28 single-channel digits, as the Sequential the
 * benchmarks and training tests build in PyTorch (keys "0.weight" ... "11.bias"). */
#include "models_common.h"

/* x: (N, 1, 28, 28) -> conv (N, 6, 28, 28) -> pool (N, 6, 14, 14) -> conv (N, 16, 10, 10) -> pool
 * (N, 16, 5, 5) -> flatten (N, 400) -> (N, 120) -> (N, 84) -> (N, classes). The layers are created in
 * order, so the default generator is drawn as PyTorch draws it. */
tc_module *tv_lenet5(int64_t num_classes) {
  if (tv__check_classes("tv_lenet5", num_classes)) return NULL;
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  if (!s) s = tv__append(seq, tc_conv2d_create(1, 6, 5, 5, TC_CONV2D_OPTS(.padding = {2, 2})));
  if (!s) s = tv__append(seq, tc_relu_create());
  if (!s) s = tv__append(seq, tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false));
  if (!s) s = tv__append(seq, tc_conv2d_create(6, 16, 5, 5, NULL));
  if (!s) s = tv__append(seq, tc_relu_create());
  if (!s) s = tv__append(seq, tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false));
  if (!s) s = tv__append(seq, tc_flatten_create(1, -1));
  if (!s) s = tv__append(seq, tc_linear_create(400, 120, true));
  if (!s) s = tv__append(seq, tc_relu_create());
  if (!s) s = tv__append(seq, tc_linear_create(120, 84, true));
  if (!s) s = tv__append(seq, tc_relu_create());
  if (!s) s = tv__append(seq, tc_linear_create(84, num_classes, true));
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  return seq;
}
