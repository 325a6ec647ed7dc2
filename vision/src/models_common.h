/* vision/src/models_common.h — helpers shared by the model builders (models_*.c); not exported.
 *
 * Building: every helper that takes a child module takes ownership of it, also on failure, and a
 * NULL child (a constructor that failed) keeps that constructor's error, so a builder is a chain
 *   s = tv__add(m, "conv1", tc_conv2d_create(...));  if (!s) s = tv__add(m, "bn1", ...);
 * ending in tc_module_destroy(m) when s != TC_OK.
 * Forward: tv__step(m, "bn1", h) runs child "bn1" on h and releases h, so a chain of steps holds one
 * intermediate at a time and a NULL anywhere falls through to the end with the first error.
 */
#ifndef CTORCH_VISION_MODELS_COMMON_H
#define CTORCH_VISION_MODELS_COMMON_H

#include "ctorch/vision.h"

/* Adds `child` to `parent` as `name`, taking ownership of child. */
tc_status tv__add(tc_module *parent, const char *name, tc_module *child);
/* Appends `child` to a Sequential (named "0", "1", ...), taking ownership of child. */
tc_status tv__append(tc_module *seq, tc_module *child);
/* Conv2d(cin, cout, k x k, stride, padding (k - 1) / 2, groups), with or without bias. */
tc_module *tv__conv(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t groups, bool bias);
/* A Sequential with `n` children (owned), type name `type` ("Conv2dNormActivation", ...): forward
 * chains them as Sequential does. A NULL among them fails the call and destroys the others. */
tc_module *tv__chain(const char *type, int64_t n, tc_module *const *children);
/* TC_OK, or TC_ERR_ARG "fn: num_classes must be positive, got n". */
tc_status tv__check_classes(const char *fn, int64_t num_classes);

/* Runs child `name` of m on x and releases x (x may be NULL: returns NULL, keeping the error). */
tc_tensor *tv__step(tc_module *m, const char *name, tc_tensor *x);
/* One input expected (forward callbacks): TC_OK or TC_ERR_ARG naming `type`. */
tc_status tv__one_input(const char *type, int64_t n);

/* torchvision's weight init, applied to every submodule in module order: Conv2d weights
 * kaiming_normal_(fan_out, relu) and biases zero, BatchNorm2d weight 1 bias 0, and Linear weight
 * normal(0, 0.01) bias zero when linear_normal (else Linear keeps its default init). */
tc_status tv__init_weights(tc_module *m, bool linear_normal);

#endif
