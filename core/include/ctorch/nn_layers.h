/* ctorch/nn_layers.h — the layers of torch.nn as modules (see nn.h for the module system).
 *
 * Every constructor returns a new module owned by the caller (or by the container it is added to),
 * with PyTorch's parameter names ("weight", "bias", "running_mean", ...), shapes, defaults and
 * initialisation (drawn from the default generator; seed with tc_manual_seed for
 * reproducibility), or NULL with an error. Forward takes one input unless noted.
 *
 *   tc_module *conv = tc_conv2d_create(3, 16, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1}));
 *   tc_module *bn = tc_batchnorm2d_create(16, NULL);
 *   tc_module *loss = tc_cross_entropy_loss_create(NULL);
 *   tc_tensor *l = tc_module_forward_n(loss, (const tc_tensor *[]){logits, target}, 2);
 */
#ifndef CTORCH_NN_LAYERS_H
#define CTORCH_NN_LAYERS_H

#include "ctorch/nn.h"
#include "ctorch/nn_functional.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- basic ------------------------------------------------------------------------------------------ */
TC_API tc_module *tc_linear_create(int64_t in_features, int64_t out_features, bool bias);
TC_API tc_module *tc_identity_create(void);
TC_API tc_module *tc_flatten_create(int64_t start_dim, int64_t end_dim); /* PyTorch defaults 1, -1 */
TC_API tc_module *tc_unflatten_create(int64_t dim, const int64_t *sizes, int64_t n);

/* ---- activations ------------------------------------------------------------------------------------- */
TC_API tc_module *tc_relu_create(void);
TC_API tc_module *tc_relu6_create(void);
TC_API tc_module *tc_leaky_relu_create(double negative_slope);
TC_API tc_module *tc_elu_create(double alpha);
TC_API tc_module *tc_gelu_create(bool tanh_approximate);
TC_API tc_module *tc_silu_create(void);
TC_API tc_module *tc_hardswish_create(void);
TC_API tc_module *tc_tanh_create(void);
TC_API tc_module *tc_sigmoid_create(void);
TC_API tc_module *tc_softplus_create(double beta, double threshold);
TC_API tc_module *tc_softmax_create(int64_t dim);
TC_API tc_module *tc_log_softmax_create(int64_t dim);

/* ---- convolution (weights kaiming_uniform(a=sqrt(5)), bias uniform(+-1/sqrt(fan_in)), as PyTorch) ---- */
typedef struct tc_conv_layer_opts {
  int64_t stride[2], padding[2], dilation[2]; /* zero = default (1, 0, 1) */
  int64_t groups;                             /* zero = 1 */
  bool no_bias;                               /* bias=False */
  tc_conv_padding padding_kind;               /* 'same' / 'valid' */
  tc_pad_mode padding_mode;                   /* zeros (TC_PAD_CONSTANT), reflect, replicate, circular */
} tc_conv_layer_opts;
#define TC_CONV2D_OPTS(...) (&(const tc_conv_layer_opts){__VA_ARGS__})
TC_API tc_module *tc_conv1d_create(int64_t in_channels, int64_t out_channels, int64_t kernel,
                                   const tc_conv_layer_opts *opts);
TC_API tc_module *tc_conv2d_create(int64_t in_channels, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                                   const tc_conv_layer_opts *opts);

/* ---- pooling ------------------------------------------------------------------------------------------ */
/* MaxPool with indices: forward returns the values; tc_max_pool_last_indices gives the indices of
 * the last forward (a new reference) when the module was created with return_indices. */
TC_API tc_module *tc_max_pool1d_create(const tc_pool_opts *opts, bool return_indices);
TC_API tc_module *tc_max_pool2d_create(const tc_pool_opts *opts, bool return_indices);
TC_API tc_tensor *tc_max_pool_last_indices(const tc_module *pool);
TC_API tc_module *tc_avg_pool1d_create(const tc_pool_opts *opts);
TC_API tc_module *tc_avg_pool2d_create(const tc_pool_opts *opts);
TC_API tc_module *tc_adaptive_avg_pool1d_create(int64_t out_size);
TC_API tc_module *tc_adaptive_avg_pool2d_create(int64_t out_h, int64_t out_w);

/* ---- normalisation --------------------------------------------------------------------------------------- */
typedef struct tc_norm_opts {
  double eps;      /* 0 = 1e-5 */
  double momentum; /* 0 = 0.1; a negative value means momentum=None (cumulative average) */
  bool no_affine;  /* affine=False */
  bool no_track_running_stats;
} tc_norm_opts;
#define TC_NORM_OPTS(...) (&(const tc_norm_opts){__VA_ARGS__})
/* buffers running_mean, running_var, num_batches_tracked (int64), as PyTorch */
TC_API tc_module *tc_batchnorm1d_create(int64_t num_features, const tc_norm_opts *opts);
TC_API tc_module *tc_batchnorm2d_create(int64_t num_features, const tc_norm_opts *opts);
TC_API tc_module *tc_layernorm_create(const int64_t *normalized_shape, int64_t n, const tc_norm_opts *opts);
TC_API tc_module *tc_groupnorm_create(int64_t num_groups, int64_t num_channels, const tc_norm_opts *opts);

/* ---- dropout (uses the default generator) ------------------------------------------------------------------ */
TC_API tc_module *tc_dropout_create(double p);
TC_API tc_module *tc_dropout2d_create(double p);

/* ---- embeddings (weight normal(0, 1); the padding_idx row zeroed, as PyTorch) ------------------------------- */
TC_API tc_module *tc_embedding_create(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx /* <0 none */);
/* forward_n(input, offsets) or forward(input 2-D) */
TC_API tc_module *tc_embedding_bag_create(int64_t num_embeddings, int64_t embedding_dim, tc_bag_mode mode,
                                          int64_t padding_idx);

/* ---- losses: forward_n(input, target) ------------------------------------------------------------------------ */
TC_API tc_module *tc_cross_entropy_loss_create(const tc_ce_opts *opts); /* opts copied; weight retained */
TC_API tc_module *tc_nll_loss_create(const tc_ce_opts *opts);
TC_API tc_module *tc_bce_loss_create(const tc_tensor *weight, tc_reduction reduction);
TC_API tc_module *tc_bce_with_logits_loss_create(const tc_tensor *weight, const tc_tensor *pos_weight,
                                                 tc_reduction reduction);
TC_API tc_module *tc_mse_loss_create(tc_reduction reduction);
TC_API tc_module *tc_l1_loss_create(tc_reduction reduction);
TC_API tc_module *tc_smooth_l1_loss_create(tc_reduction reduction, double beta);
TC_API tc_module *tc_huber_loss_create(tc_reduction reduction, double delta);

/* ---- init (torch.nn.init): in place, under no_grad; gen NULL = default generator ------------------------------ */
typedef enum tc_fan_mode { TC_FAN_IN = 0, TC_FAN_OUT } tc_fan_mode;
typedef enum tc_nonlinearity {
  TC_NONLIN_LEAKY_RELU = 0, /* PyTorch's kaiming default */
  TC_NONLIN_RELU,
  TC_NONLIN_LINEAR,
  TC_NONLIN_SIGMOID,
  TC_NONLIN_TANH,
  TC_NONLIN_SELU
} tc_nonlinearity;
TC_API double tc_init_calculate_gain(tc_nonlinearity nonlinearity, double param);
TC_API tc_status tc_init_uniform_(tc_tensor *t, double a, double b, tc_generator *gen);
TC_API tc_status tc_init_normal_(tc_tensor *t, double mean, double std, tc_generator *gen);
TC_API tc_status tc_init_constant_(tc_tensor *t, double value);
TC_API tc_status tc_init_zeros_(tc_tensor *t);
TC_API tc_status tc_init_ones_(tc_tensor *t);
TC_API tc_status tc_init_xavier_uniform_(tc_tensor *t, double gain, tc_generator *gen);
TC_API tc_status tc_init_xavier_normal_(tc_tensor *t, double gain, tc_generator *gen);
TC_API tc_status tc_init_kaiming_uniform_(tc_tensor *t, double a, tc_fan_mode mode, tc_nonlinearity nonlinearity,
                                          tc_generator *gen);
TC_API tc_status tc_init_kaiming_normal_(tc_tensor *t, double a, tc_fan_mode mode, tc_nonlinearity nonlinearity,
                                         tc_generator *gen);
TC_API tc_status tc_init_trunc_normal_(tc_tensor *t, double mean, double std, double a, double b, tc_generator *gen);

/* ---- DataParallel (torch.nn.DataParallel) -------------------------------------------------------------
 * Wraps `module` (taking ownership; it becomes child "module", so state_dict keys gain the
 * "module." prefix as in PyTorch). Forward splits every input along dim 0 into one chunk per device
 * (torch.chunk's sizes), copies chunk i to devices[i], runs the module there with its parameters
 * and buffers copied to that device (recorded copies: gradients flow back to and are summed into
 * the module's own parameters on devices[0]), and concatenates the outputs on devices[0]. The
 * module must live on devices[0]. Buffer updates made on other devices are dropped, as in
 * PyTorch. Replicas are launched one after another from the calling thread; their kernels overlap
 * on the devices. devices NULL / n 0: every CUDA device, or none (the module is called as it is)
 * when there is no GPU. Devices may repeat (and may be the CPU), which runs chunks in turn. On
 * failure NULL is returned and the caller keeps `module`. */
TC_API tc_module *tc_data_parallel_create(tc_module *module, const tc_device *devices, int64_t n_devices);

#ifdef __cplusplus
}
#endif
#endif
