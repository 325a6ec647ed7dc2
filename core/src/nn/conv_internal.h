/* core/src/nn/conv_internal.h — convolution geometry and the backward kernels autograd calls.
 *
 * tc_conv1d/tc_conv2d (conv.c) and their backward share one resolver, tc__conv_resolve, which
 * checks the arguments and turns options ('same', 'valid', zeroed defaults) into a tc__conv_geom:
 * forward and backward therefore always agree on output size and padding. conv1d is conv2d with
 * H = 1 (KH = 1, stride/dilation 1 and no padding along H).
 *
 *   tc_tensor *gx = NULL, *gw = NULL, *gb = NULL;
 *   tc_status s = tc__conv2d_backward(gy, x, w, opts, true, true, true, &gx, &gw, &gb);
 *
 * Not installed; the autograd layer and the tests include it.
 */
#ifndef CTORCH_NN_CONV_INTERNAL_H
#define CTORCH_NN_CONV_INTERNAL_H

#include "ctorch/nn_functional.h"
#include "internal.h"

/* A convolution with every option resolved. Input (N, C, H, W), weight (OC, Cg, KH, KW) with
 * C = G * Cg and OC = G * OCg, output (N, OC, OH, OW). */
typedef struct tc__conv_geom {
  int spatial;  /* 1 (conv1d) or 2 (conv2d) */
  bool batched; /* false: the user passed (C, L) / (C, H, W) and gets an unbatched result */
  int64_t N, C, H, W;
  int64_t OC, G, Cg, OCg;
  int64_t KH, KW;
  int64_t sh, sw, dh, dw; /* stride, dilation */
  int64_t pt, pb, pl, pr; /* zero padding top, bottom, left, right ('same' may be asymmetric) */
  int64_t OH, OW;
} tc__conv_geom;

/* Checks x (and w, b when not NULL: b is optional) for a conv of `spatial` dims and resolves the
 * options (NULL opts = all defaults). On failure sets a message naming fn and the shapes. */
tc_status tc__conv_resolve(const char *fn, int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                           const tc_conv_opts *opts, tc__conv_geom *g);

/* The user-visible output shape of g (unbatched when the input was); returns its ndim. */
int tc__conv_out_shape(const tc__conv_geom *g, int64_t *shape);

/* Size in bytes of the im2col column tiles (default 256 KiB; the tests set it to 1 to force
 * one-output-row tiles). Not thread-safe to change while convolutions run. */
extern int64_t tc__conv_tile_bytes;
/* Smallest channel count per group (input and output) for which 3x3 stride-1 convolutions use
 * Winograd F(2x2, 3x3) (default 16). 1 forces every eligible case through it, grad_w of small
 * planes included (the tests do). */
extern int64_t tc__conv_winograd_min_channels;

/* Gradients of y = conv2d(x, w, b, opts) given grad_out (y's shape). For each need_* flag, the
 * matching *grad_* receives a new tensor (x's, w's and the bias's shape (OC), in x's dtype);
 * the others are set to NULL. On failure nothing is returned (all three NULL) and a status with a
 * message is returned. grad_out may be non-contiguous. Deterministic: the results do not depend on
 * the thread count. */
tc_status tc__conv2d_backward(const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                              const tc_conv_opts *opts, bool need_x, bool need_w, bool need_b, tc_tensor **grad_x,
                              tc_tensor **grad_w, tc_tensor **grad_b);
tc_status tc__conv1d_backward(const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                              const tc_conv_opts *opts, bool need_x, bool need_w, bool need_b, tc_tensor **grad_x,
                              tc_tensor **grad_w, tc_tensor **grad_b);

/* The forward (spatial 1 or 2) and a backward that may reuse the forward's work: when the
 * forward prepared its kernel for small planes (cropped to the taps that touch the input, or the
 * dense (OC*L, C*HW) matrix of conv_dense.c, at most 64 MB), *kept_w receives it (a new reference;
 * NULL otherwise) and tc__conv_backward_kept takes it back for grad_x instead of preparing it
 * again. kept_w may be NULL in both. */
tc_tensor *tc__conv_fwd(int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                        const tc_conv_opts *opts, tc_tensor **kept_w);
tc_status tc__conv_backward_kept(int spatial, const tc_tensor *grad_out, const tc_tensor *x, const tc_tensor *w,
                                 const tc_tensor *kept_w, const tc_conv_opts *opts, bool need_x, bool need_w,
                                 bool need_b, tc_tensor **grad_x, tc_tensor **grad_w, tc_tensor **grad_b);

/* Tiny planes (conv_dense.c): when H*W <= KH*KW (G == 1), the convolution is y = x K^T with the
 * dense (OC*L, C*HW) matrix K of the kernel's taps; all pointers are contiguous data of dtype dt
 * (f32/f64): x (N, C*HW), y and gy (N, OC*L), gx (N, C*HW) and gw (OC, C, KH, KW) or NULL. */
bool tc__conv_dense_eligible(const tc__conv_geom *g, size_t es);
tc_tensor *tc__conv_dense_kernel(const tc__conv_geom *g, const tc_tensor *w, tc_dtype dt); /* w contiguous, dt */
bool tc__conv_dense_is_kernel(const tc__conv_geom *g, const tc_tensor *k, tc_dtype dt);
void tc__conv_dense_forward(const tc__conv_geom *g, tc_dtype dt, const void *x, const void *k, const void *b,
                            void *y);
tc_status tc__conv_dense_backward(const tc__conv_geom *g, tc_dtype dt, const void *gy, const void *x, const void *k,
                                  void *gx, void *gw);

/* y = conv(x, w) + b composed of other ops (pad, index_select, matmul, add: conv_composed.c), for
 * a device without a convolution library; autograd records the parts. NULL with a message. */
tc_tensor *tc__conv_composed(int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                             const tc_conv_opts *opts);

/* Gradient of y = tc_pad(x, pad, npad, mode, value) with respect to x, for an x of input_shape:
 * a new tensor of input_shape in grad_out's dtype (floating point). reflect/replicate/circular
 * add up the gradients of the cells they duplicate; constant padding's fill gets none. NULL with
 * a message on failure (same checks as tc_pad, and grad_out must have the padded shape). */
tc_tensor *tc__pad_backward(const tc_tensor *grad_out, const int64_t *input_shape, int64_t ndim, const int64_t *pad,
                            int64_t npad, tc_pad_mode mode);

#endif
