/* ctorch/nn_functional.h — neural-network functions, as torch.nn.functional.
 *
 * Stateless building blocks that the nn modules (Conv2d, MaxPool2d, ...) call. Inputs are
 * batched (N, C, L) for 1-d and (N, C, H, W) for 2-d ops; unbatched (C, L) / (C, H, W) inputs are
 * accepted as PyTorch does. Results are new references; errors as everywhere (NULL +
 * tc_last_error()).
 *
 *   tc_tensor *y = tc_conv2d(x, w, b, TC_CONV(.stride = {2, 2}, .padding = {1, 1}));
 *   tc_tensor *p = tc_pad(x, (int64_t[]){1, 1, 2, 2}, 4, TC_PAD_REFLECT, 0.0);
 */
#ifndef CTORCH_NN_FUNCTIONAL_H
#define CTORCH_NN_FUNCTIONAL_H

#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Convolution options; zeroed fields mean PyTorch's defaults (stride 1, padding 0, dilation 1,
 * groups 1). For conv1d only index [0] is used. padding_kind TC_CONV_SAME / TC_CONV_VALID are
 * padding='same' / 'valid' (same requires stride 1, as PyTorch; asymmetric extra padding goes on
 * the right/bottom, as PyTorch). */
typedef enum tc_conv_padding { TC_CONV_EXPLICIT = 0, TC_CONV_SAME, TC_CONV_VALID } tc_conv_padding;
typedef struct tc_conv_opts {
  int64_t stride[2];
  int64_t padding[2];
  int64_t dilation[2];
  int64_t groups;
  tc_conv_padding padding_kind;
} tc_conv_opts;
#define TC_CONV(...) (&(const tc_conv_opts){__VA_ARGS__})

/* x: (N, C_in, L), w: (C_out, C_in/groups, K), b: (C_out) or NULL -> (N, C_out, L_out) */
TC_API tc_tensor *tc_conv1d(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_conv_opts *opts);
/* x: (N, C_in, H, W), w: (C_out, C_in/groups, KH, KW), b: (C_out) or NULL -> (N, C_out, H_out, W_out) */
TC_API tc_tensor *tc_conv2d(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_conv_opts *opts);

/* F.pad: pad holds (left, right) pairs starting from the last dim: {l, r} pads the last dim,
 * {l, r, t, b} the last two. Negative values crop. Modes as PyTorch ('constant' takes value;
 * reflect/replicate/circular pad the last 1 or 2 dims of a 2-D..4-D input). */
typedef enum tc_pad_mode { TC_PAD_CONSTANT = 0, TC_PAD_REFLECT, TC_PAD_REPLICATE, TC_PAD_CIRCULAR } tc_pad_mode;
TC_API tc_tensor *tc_pad(const tc_tensor *x, const int64_t *pad, int64_t npad, tc_pad_mode mode, double value);

#ifdef __cplusplus
}
#endif
#endif
