/* ctorch/amp.h — automatic mixed precision, as torch.amp: autocast scopes and a gradient scaler.
 *
 * Autocast: inside a scope entered for a device type, the ops that gain from lower precision run
 * in the scope's dtype (float16 or bfloat16) and the ops that need range or accuracy run in
 * float32, whatever the dtype of their floating-point inputs (float64 inputs are left alone):
 *   lower precision: mm, bmm, mv, matmul, addmm, linear, conv1d, conv2d
 *   float32:         cross_entropy, nll_loss, mse_loss, l1_loss, binary_cross_entropy_with_logits;
 *                    on CUDA also softmax, log_softmax and layer_norm (torch's CPU list keeps those
 *                    in the input's dtype)
 * Other ops run in the dtype of their inputs (binary ops promote mixed inputs, as always), so a
 * model keeps float32 parameters and gradients: the casts are recorded ops and backward returns
 * each gradient in its parameter's dtype. Backward itself runs with autocast off, in the dtypes the
 * forward used. Scopes are thread-local and nest; an inner scope may turn autocast off.
 *
 *   tc_autocast_push(TC_DEVICE_CUDA, TC_F16, true);        // with torch.autocast("cuda"):
 *   tc_tensor *loss = tc_cross_entropy(tc_module_forward(model, x), y, NULL);
 *   tc_autocast_pop();
 *   tc_backward(tc_grad_scaler_scale(scaler, loss));        // scaler.scale(loss).backward()
 *   tc_grad_scaler_step(scaler, opt, NULL);                  // scaler.step(opt)
 *   tc_grad_scaler_update(scaler);                           // scaler.update()
 *
 * Gradient scaler (torch.amp.GradScaler): float16 gradients underflow unless the loss is scaled up
 * before backward; the scaler multiplies the loss by a scale, divides the gradients by it before
 * the optimizer step, skips the step when a gradient is infinite or NaN, and adapts the scale:
 * halved (backoff_factor) after a skipped step, doubled (growth_factor) after growth_interval
 * steps in a row without one. bfloat16 has float32's range and needs no scaler.
 */
#ifndef CTORCH_AMP_H
#define CTORCH_AMP_H

#include "ctorch/device.h"
#include "ctorch/optim.h"
#include "ctorch/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- autocast -------------------------------------------------------------------------------------- */
/* Enters an autocast scope for tensors of device_type (TC_DEVICE_CPU or TC_DEVICE_CUDA): dtype
 * TC_F16 or TC_BF16 (pass TC_F32 for the device's default, as torch: float16 on CUDA, bfloat16
 * on the CPU); enabled = false turns autocast off inside it. At most 64 nested scopes. */
TC_API tc_status tc_autocast_push(tc_device_type device_type, tc_dtype dtype, bool enabled);
/* Leaves the innermost scope (no-op without one). */
TC_API void tc_autocast_pop(void);
TC_API bool tc_autocast_is_enabled(tc_device_type device_type);
/* The lower-precision dtype of the innermost scope for device_type (its default without one). */
TC_API tc_dtype tc_autocast_get_dtype(tc_device_type device_type);

/* ---- gradient scaler --------------------------------------------------------------------------------- */
typedef struct tc_grad_scaler tc_grad_scaler;
typedef struct tc_grad_scaler_opts {
  double init_scale;       /* 65536 */
  double growth_factor;    /* 2.0 */
  double backoff_factor;   /* 0.5 */
  int64_t growth_interval; /* 2000 */
  bool enabled;            /* true; a disabled scaler passes everything through (scale 1, plain steps) */
} tc_grad_scaler_opts;
TC_API tc_grad_scaler_opts tc_grad_scaler_defaults(void);
/* NULL opts: the defaults. */
TC_API tc_grad_scaler *tc_grad_scaler_create(const tc_grad_scaler_opts *opts);
TC_API void tc_grad_scaler_destroy(tc_grad_scaler *s); /* NULL-safe */

/* loss * scale: a new, recorded tensor (scale 1 when disabled). */
TC_API tc_tensor *tc_grad_scaler_scale(tc_grad_scaler *s, const tc_tensor *loss);
/* Divides the gradients of opt's parameters by the scale in place and notes whether any is
 * infinite or NaN (once per optimizer per step: call it before clipping gradients). */
TC_API tc_status tc_grad_scaler_unscale_(tc_grad_scaler *s, tc_optimizer *opt);
/* Unscales (unless done) and runs tc_optim_step unless a gradient was infinite or NaN; *stepped
 * (may be NULL) says which. */
TC_API tc_status tc_grad_scaler_step(tc_grad_scaler *s, tc_optimizer *opt, bool *stepped);
/* Ends the step: adapts the scale from what the step(s) found and forgets the optimizers. */
TC_API tc_status tc_grad_scaler_update(tc_grad_scaler *s);
TC_API double tc_grad_scaler_get_scale(const tc_grad_scaler *s);
/* The growth tracker (steps since the last skip) and scale, for checkpoints (state_dict). */
TC_API int64_t tc_grad_scaler_growth_tracker(const tc_grad_scaler *s);
TC_API tc_status tc_grad_scaler_load(tc_grad_scaler *s, double scale, int64_t growth_tracker);

#ifdef __cplusplus
}
#endif
#endif
