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


/* ---- linear and activations (autograd-aware; x any shape unless noted) ---------------------------- */
/* x: (*, in), w: (out, in), b: (out) or NULL -> (*, out) */
TC_API tc_tensor *tc_linear(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b);
TC_API tc_tensor *tc_relu6(const tc_tensor *x);
TC_API tc_tensor *tc_leaky_relu(const tc_tensor *x, double negative_slope); /* PyTorch default 0.01 */
TC_API tc_tensor *tc_elu(const tc_tensor *x, double alpha);                 /* default 1.0 */
/* approximate: false = exact erf form, true = tanh approximation ('tanh') */
TC_API tc_tensor *tc_gelu(const tc_tensor *x, bool tanh_approximate);
TC_API tc_tensor *tc_silu(const tc_tensor *x);
TC_API tc_tensor *tc_hardswish(const tc_tensor *x);
TC_API tc_tensor *tc_softplus(const tc_tensor *x, double beta, double threshold); /* defaults 1, 20 */

/* ---- dropout (identity when !training; draws from gen, NULL = default generator) --------------------- */
TC_API tc_tensor *tc_dropout(const tc_tensor *x, double p, bool training, tc_generator *gen);
/* zeroes whole channels: x (N, C, *); a 3-D input is (N, C, L), as current PyTorch */
TC_API tc_tensor *tc_dropout2d(const tc_tensor *x, double p, bool training, tc_generator *gen);

/* ---- pooling: x (N, C, L) / (N, C, H, W) or unbatched; zeroed sizes mean PyTorch defaults
 * (stride = kernel size, padding 0, dilation 1) --------------------------------------------------- */
typedef struct tc_pool_opts {
  int64_t kernel[2];
  int64_t stride[2];
  int64_t padding[2];
  int64_t dilation[2];      /* max pooling only */
  bool ceil_mode;
  bool count_include_pad_false; /* avg: count_include_pad=False when set (PyTorch default True) */
  int64_t divisor_override;     /* avg: 0 = none */
} tc_pool_opts;
#define TC_POOL(...) (&(const tc_pool_opts){__VA_ARGS__})
/* indices (int64, flat per plane, as PyTorch) is returned when `indices` is not NULL */
TC_API tc_tensor *tc_max_pool1d(const tc_tensor *x, const tc_pool_opts *o, tc_tensor **indices);
TC_API tc_tensor *tc_max_pool2d(const tc_tensor *x, const tc_pool_opts *o, tc_tensor **indices);
TC_API tc_tensor *tc_avg_pool1d(const tc_tensor *x, const tc_pool_opts *o);
TC_API tc_tensor *tc_avg_pool2d(const tc_tensor *x, const tc_pool_opts *o);
TC_API tc_tensor *tc_adaptive_avg_pool1d(const tc_tensor *x, int64_t out_size);
TC_API tc_tensor *tc_adaptive_avg_pool2d(const tc_tensor *x, int64_t out_h, int64_t out_w);

/* ---- normalisation ------------------------------------------------------------------------------------- */
/* x (N, C, *). training: batch statistics, and running stats (if given) updated in place with
 * momentum (unbiased variance, as PyTorch); eval: running stats used. weight/bias may be NULL. */
TC_API tc_tensor *tc_batch_norm(const tc_tensor *x, tc_tensor *running_mean, tc_tensor *running_var,
                                const tc_tensor *weight, const tc_tensor *bias, bool training, double momentum,
                                double eps);
/* normalises over the last n_norm dims (normalized_shape = x's last n_norm sizes) */
TC_API tc_tensor *tc_layer_norm(const tc_tensor *x, int64_t n_norm, const tc_tensor *weight, const tc_tensor *bias,
                                double eps);
TC_API tc_tensor *tc_group_norm(const tc_tensor *x, int64_t num_groups, const tc_tensor *weight, const tc_tensor *bias,
                                double eps);

/* ---- embeddings ------------------------------------------------------------------------------------------- */
/* idx: int64 any shape, weight (num, dim) -> (*idx, dim). padding_idx < 0 = none (its row gets no
 * gradient). */
TC_API tc_tensor *tc_embedding(const tc_tensor *idx, const tc_tensor *weight, int64_t padding_idx);
typedef enum tc_bag_mode { TC_BAG_MEAN = 0, TC_BAG_SUM, TC_BAG_MAX } tc_bag_mode;
/* idx 1-D with offsets (bags start there; include_last_offset false), or 2-D (B, L) with offsets
 * NULL; per_sample_weights may be NULL (sum mode only). -> (B, dim) */
TC_API tc_tensor *tc_embedding_bag(const tc_tensor *idx, const tc_tensor *weight, const tc_tensor *offsets,
                                   tc_bag_mode mode, const tc_tensor *per_sample_weights, int64_t padding_idx);

/* ---- losses --------------------------------------------------------------------------------------------------- */
typedef enum tc_reduction { TC_REDUCTION_MEAN = 0, TC_REDUCTION_SUM, TC_REDUCTION_NONE } tc_reduction;
typedef struct tc_ce_opts {
  const tc_tensor *weight;   /* (C) class weights or NULL */
  int64_t ignore_index;      /* PyTorch default -100; set by TC_CE_DEFAULTS */
  tc_reduction reduction;
  double label_smoothing;
} tc_ce_opts;
#define TC_CE_DEFAULTS {NULL, -100, TC_REDUCTION_MEAN, 0.0}
/* input (N, C) or (N, C, d1...) logits; target int64 class indices (N, d1...) or float
 * probabilities shaped like input. opts NULL = defaults. */
TC_API tc_tensor *tc_cross_entropy(const tc_tensor *input, const tc_tensor *target, const tc_ce_opts *opts);
/* input: log-probabilities (N, C, ...); target: int64 classes (label_smoothing unused) */
TC_API tc_tensor *tc_nll_loss(const tc_tensor *input, const tc_tensor *target, const tc_ce_opts *opts);
TC_API tc_tensor *tc_binary_cross_entropy(const tc_tensor *input, const tc_tensor *target, const tc_tensor *weight,
                                          tc_reduction reduction);
TC_API tc_tensor *tc_binary_cross_entropy_with_logits(const tc_tensor *input, const tc_tensor *target,
                                                      const tc_tensor *weight, const tc_tensor *pos_weight,
                                                      tc_reduction reduction);
TC_API tc_tensor *tc_mse_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction);
TC_API tc_tensor *tc_l1_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction);
TC_API tc_tensor *tc_smooth_l1_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction, double beta);
TC_API tc_tensor *tc_huber_loss(const tc_tensor *input, const tc_tensor *target, tc_reduction reduction, double delta);

#ifdef __cplusplus
}
#endif
#endif
