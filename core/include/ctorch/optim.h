/* ctorch/optim.h — optimizers, gradient clipping and learning-rate schedulers, as torch.optim.
 *
 * Optimizers: SGD, Adam, AdamW, RMSprop and Adagrad with PyTorch's options, defaults, parameter
 * groups and update rules (the single-tensor, foreach=False formulas, operation for operation, so
 * trajectories agree with PyTorch's to the last bits wherever PyTorch's CPU kernels are correctly
 * rounded). Each kind has an options struct; tc_<kind>_defaults() returns PyTorch's defaults and
 * NULL options mean those defaults. An optimizer retains its parameters; a step updates them in
 * place (bumping their version, as any in-place op), with grad mode off, and skips parameters
 * whose .grad is NULL. Per-parameter state (momentum buffers, moment estimates) is created on a
 * parameter's first step.
 *
 *   tc_adam_opts o = tc_adam_defaults();          // lr 1e-3, betas (0.9, 0.999), eps 1e-8
 *   o.lr = 3e-4;
 *   tc_optimizer *opt = tc_adam_create(params, n_params, &o);
 *   tc_lr_scheduler *sched = tc_cosine_annealing_lr_create(opt, epochs, 0.0);
 *   for (int epoch = 0; epoch < epochs; epoch++) {
 *     for (each batch) {
 *       tc_scope_push();
 *       tc_optim_zero_grad(opt, true);
 *       tc_backward(loss_of_batch(...));
 *       tc_clip_grad_norm_(params, n_params, 1.0, 2.0, NULL);
 *       tc_optim_step(opt);
 *       tc_scope_pop();
 *     }
 *     tc_lr_scheduler_step(sched);
 *   }
 *   tc_lr_scheduler_destroy(sched);               // before the optimizer it drives
 *   tc_optim_destroy(opt);
 *
 * Checkpoints: tc_optim_state_dict / tc_lr_scheduler_state_dict write into a tc_state_dict (state
 * tensors as "<prefix>state.<i>.<name>", i counting parameters over all groups in order;
 * hyperparameters and step counts as string metadata "<prefix>param_groups.<g>.<field>",
 * "<prefix>state.<i>.step"); loading them into a freshly made optimizer and scheduler continues
 * training bit-identically. As in PyTorch, make the scheduler before loading the optimizer's state
 * (making a scheduler sets the groups' learning rates).
 *
 * Parameters must be float32 or float64 CPU leaf tensors; f16/bf16 parameters are rejected
 * (TC_ERR_DTYPE). Errors as everywhere: a tc_status or NULL, and tc_last_error() names the function
 * and the value ("tc_adam_create: invalid beta parameter at index 0: 1 (must be in [0, 1))").
 * Thread-safety: an optimizer or scheduler is a plain object; use each from one thread at a time.
 * A step runs its per-parameter loops on the thread pool; results do not depend on the thread
 * count.
 */
#ifndef CTORCH_OPTIM_H
#define CTORCH_OPTIM_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/tensor.h"
#include "ctorch/state_dict.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tc_optimizer tc_optimizer;

typedef enum tc_optim_kind {
  TC_OPTIM_SGD = 0,
  TC_OPTIM_ADAM,
  TC_OPTIM_ADAMW,
  TC_OPTIM_RMSPROP,
  TC_OPTIM_ADAGRAD
} tc_optim_kind;

/* ---- options (every struct starts with lr) ------------------------------------------------------ */
/* torch.optim.SGD: defaults lr 1e-3, momentum 0, dampening 0, weight_decay 0, nesterov false,
 * maximize false. Nesterov needs momentum > 0 and dampening 0. */
typedef struct tc_sgd_opts {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
} tc_sgd_opts;
/* torch.optim.Adam / AdamW: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0 (AdamW 1e-2),
 * amsgrad false, maximize false. decoupled_weight_decay (Adam's option of that name) makes Adam
 * AdamW; tc_adamw_create always sets it. */
typedef struct tc_adam_opts {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize, decoupled_weight_decay;
} tc_adam_opts;
/* torch.optim.RMSprop: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false,
 * maximize false. */
typedef struct tc_rmsprop_opts {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
} tc_rmsprop_opts;
/* torch.optim.Adagrad: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0,
 * eps 1e-10, maximize false. */
typedef struct tc_adagrad_opts {
  double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
  bool maximize;
} tc_adagrad_opts;

TC_API tc_sgd_opts tc_sgd_defaults(void);
TC_API tc_adam_opts tc_adam_defaults(void);
TC_API tc_adam_opts tc_adamw_defaults(void);
TC_API tc_rmsprop_opts tc_rmsprop_defaults(void);
TC_API tc_adagrad_opts tc_adagrad_defaults(void);

/* ---- construction ------------------------------------------------------------------------------
 * params: n >= 1 distinct float32/float64 CPU leaf tensors (retained until tc_optim_destroy).
 * opts: NULL for the defaults above. The options become the optimizer's defaults and its first
 * parameter group. Returns NULL (TC_ERR_ARG: bad option or empty/NULL/duplicate parameters,
 * TC_ERR_DTYPE, TC_ERR_UNSUPPORTED for non-CPU parameters, TC_ERR_NOMEM) on failure. */
TC_API tc_optimizer *tc_sgd_create(tc_tensor *const *params, int64_t n, const tc_sgd_opts *opts);
TC_API tc_optimizer *tc_adam_create(tc_tensor *const *params, int64_t n, const tc_adam_opts *opts);
TC_API tc_optimizer *tc_adamw_create(tc_tensor *const *params, int64_t n, const tc_adam_opts *opts);
TC_API tc_optimizer *tc_rmsprop_create(tc_tensor *const *params, int64_t n, const tc_rmsprop_opts *opts);
TC_API tc_optimizer *tc_adagrad_create(tc_tensor *const *params, int64_t n, const tc_adagrad_opts *opts);
TC_API void tc_optim_destroy(tc_optimizer *opt); /* NULL-safe; releases the parameters and state */

TC_API tc_optim_kind tc_optim_get_kind(const tc_optimizer *opt);
/* "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" (static string). */
TC_API const char *tc_optim_name(const tc_optimizer *opt);

/* optimizer.add_param_group: a new group with its own options. group_opts points to the
 * optimizer kind's options struct (tc_sgd_opts for SGD, tc_adam_opts for Adam and AdamW, ...),
 * or NULL for the optimizer's defaults (the options it was created with). A parameter may belong
 * to one group only. On failure the optimizer is unchanged. */
TC_API tc_status tc_optim_add_param_group(tc_optimizer *opt, tc_tensor *const *params, int64_t n,
                                          const void *group_opts);
TC_API int64_t tc_optim_num_groups(const tc_optimizer *opt);
TC_API int64_t tc_optim_group_size(const tc_optimizer *opt, int64_t group); /* -1 on a bad group */
/* A borrowed pointer to parameter i of a group (valid while the optimizer lives), or NULL. */
TC_API tc_tensor *tc_optim_group_param(const tc_optimizer *opt, int64_t group, int64_t i);
/* Copies a group's current options into *out (the kind's options struct). */
TC_API tc_status tc_optim_get_group_opts(const tc_optimizer *opt, int64_t group, void *out);
/* Replaces a group's options (validated as at creation; lr included). */
TC_API tc_status tc_optim_set_group_opts(tc_optimizer *opt, int64_t group, const void *opts);
/* param_groups[group]["lr"]: NAN with TC_ERR_ARG for a bad group. */
TC_API double tc_optim_get_lr(const tc_optimizer *opt, int64_t group);
TC_API tc_status tc_optim_set_lr(tc_optimizer *opt, int64_t group, double lr); /* lr >= 0 */

/* ---- training ------------------------------------------------------------------------------------
 * optimizer.step(): one update of every parameter that has a .grad. On failure (TC_ERR_NOMEM
 * while making state) no parameter has changed. */
TC_API tc_status tc_optim_step(tc_optimizer *opt);
/* optimizer.zero_grad(set_to_none): drops every parameter's .grad (set_to_none, PyTorch's
 * default), or fills it with zeros in place. */
TC_API tc_status tc_optim_zero_grad(tc_optimizer *opt, bool set_to_none);
/* The number of steps taken by parameter i (counting over all groups) — state["step"] — or 0
 * before its first step. SGD keeps no step count and always reports 0. */
TC_API double tc_optim_param_step(const tc_optimizer *opt, int64_t i);

/* ---- checkpoints ---------------------------------------------------------------------------------
 * Writes copies (snapshots) of the state tensors and the hyperparameters/step counts (metadata)
 * into sd under prefix (NULL = ""), e.g. prefix "optim." gives "optim.state.0.exp_avg". */
TC_API tc_status tc_optim_state_dict(const tc_optimizer *opt, tc_state_dict *sd, const char *prefix);
/* Restores them into an optimizer of the same kind with the same group sizes and parameter
 * shapes (state tensors are copied and converted to each parameter's dtype). Every group's
 * options are replaced by the saved ones. On failure (TC_ERR_ARG missing or malformed entry,
 * TC_ERR_SHAPE, TC_ERR_STATE kind or group mismatch) the optimizer is unchanged. */
TC_API tc_status tc_optim_load_state_dict(tc_optimizer *opt, const tc_state_dict *sd, const char *prefix);

/* ---- gradient clipping (torch.nn.utils) ----------------------------------------------------------
 * clip_grad_norm_: the norm of order norm_type (2, 1, INFINITY, -INFINITY, 0 or any p > 0) of all
 * the parameters' .grads taken together (PyTorch's norm of the per-grad norms); every grad is then
 * multiplied in place by min(1, max_norm / (norm + 1e-6)), computed in the grads' dtype as PyTorch
 * does. Parameters without a grad are skipped. *total_norm (may be NULL) receives the norm: 0 when no
 * parameter has a grad; inf or NaN when a grad is not finite, and then, as in PyTorch (without
 * error_if_nonfinite), the grads are scaled by the resulting 0 or NaN coefficient. Norms accumulate
 * in double (PyTorch accumulates f32 grads in f32), so the norm can differ from PyTorch's in the
 * last bit. */
TC_API tc_status tc_clip_grad_norm_(tc_tensor *const *params, int64_t n, double max_norm, double norm_type,
                                    double *total_norm);
/* clip_grad_value_: clamps every grad into [-clip, clip] in place. */
TC_API tc_status tc_clip_grad_value_(tc_tensor *const *params, int64_t n, double clip);

/* ---- learning-rate schedulers ---------------------------------------------------------------------
 * torch.optim.lr_scheduler: a scheduler drives an optimizer's group learning rates. Making one
 * performs PyTorch's initial step (which may already change the lr: LinearLR, OneCycleLR).
 * tc_lr_scheduler_step is scheduler.step() (once per epoch, or per batch for OneCycleLR); the
 * chainable schedulers read the groups' current lr, so several may drive one optimizer, as in
 * PyTorch. A scheduler borrows its optimizer, which must outlive it. */
typedef struct tc_lr_scheduler tc_lr_scheduler;

/* StepLR: lr *= gamma every step_size (>= 1) epochs. PyTorch's default gamma is 0.1. */
TC_API tc_lr_scheduler *tc_step_lr_create(tc_optimizer *opt, int64_t step_size, double gamma);
/* MultiStepLR: lr *= gamma at each milestone epoch (a repeated milestone applies gamma again). */
TC_API tc_lr_scheduler *tc_multistep_lr_create(tc_optimizer *opt, const int64_t *milestones, int64_t n, double gamma);
/* ConstantLR: lr * factor (in (0, 1]) for the first total_iters epochs (defaults 1/3, 5). */
TC_API tc_lr_scheduler *tc_constant_lr_create(tc_optimizer *opt, double factor, int64_t total_iters);
/* LinearLR: factor moving linearly from start_factor (0, 1] to end_factor [0, 1] over total_iters
 * (>= 1) epochs (defaults 1/3, 1, 5). */
TC_API tc_lr_scheduler *tc_linear_lr_create(tc_optimizer *opt, double start_factor, double end_factor,
                                            int64_t total_iters);
/* ExponentialLR: lr *= gamma every epoch. */
TC_API tc_lr_scheduler *tc_exponential_lr_create(tc_optimizer *opt, double gamma);
/* PolynomialLR: lr decays as (1 - epoch / total_iters)^power to 0 (defaults 5, 1). */
TC_API tc_lr_scheduler *tc_polynomial_lr_create(tc_optimizer *opt, int64_t total_iters, double power);
/* CosineAnnealingLR (PyTorch's recursive form, so it chains): half a cosine from the initial lr
 * to eta_min over t_max (>= 1) epochs, then back up, periodically. */
TC_API tc_lr_scheduler *tc_cosine_annealing_lr_create(tc_optimizer *opt, int64_t t_max, double eta_min);
/* LambdaLR: lr = initial_lr * fn(epoch, user) for every group. fn must be deterministic; it is
 * not saved in checkpoints (make the scheduler again with the same fn). */
typedef double (*tc_lr_lambda)(int64_t epoch, void *user);
TC_API tc_lr_scheduler *tc_lambda_lr_create(tc_optimizer *opt, tc_lr_lambda fn, void *user);

/* OneCycleLR, stepped once per batch for total_steps steps (stepping past total_steps is
 * TC_ERR_STATE). max_lrs (NULL = max_lr for every group) has one entry per group. With
 * cycle_momentum the optimizer's momentum (SGD, RMSprop) or beta1 (Adam, AdamW) cycles between
 * max_momentum and base_momentum (Adagrad has neither: TC_ERR_ARG). */
typedef enum tc_anneal_strategy { TC_ANNEAL_COS = 0, TC_ANNEAL_LINEAR } tc_anneal_strategy;
typedef struct tc_one_cycle_opts {
  double max_lr;
  const double *max_lrs;               /* optional, one per group; read at creation only */
  int64_t total_steps;                 /* PyTorch's epochs * steps_per_epoch */
  double pct_start;                    /* 0.3 */
  tc_anneal_strategy anneal_strategy;  /* cos */
  bool cycle_momentum;                 /* true */
  double base_momentum, max_momentum;  /* 0.85, 0.95 */
  double div_factor, final_div_factor; /* 25, 1e4 */
  bool three_phase;                    /* false */
} tc_one_cycle_opts;
TC_API tc_one_cycle_opts tc_one_cycle_defaults(double max_lr, int64_t total_steps);
TC_API tc_lr_scheduler *tc_one_cycle_lr_create(tc_optimizer *opt, const tc_one_cycle_opts *opts);

/* ReduceLROnPlateau, stepped with a metric (tc_lr_scheduler_step_metric): when the metric has not
 * improved (by threshold, relative or absolute) for more than patience epochs, lr = max(lr *
 * factor, min_lr), then cooldown epochs pass before counting again; changes smaller than eps are
 * skipped. */
typedef enum tc_plateau_mode { TC_PLATEAU_MIN = 0, TC_PLATEAU_MAX } tc_plateau_mode;
typedef enum tc_threshold_mode { TC_THRESHOLD_REL = 0, TC_THRESHOLD_ABS } tc_threshold_mode;
typedef struct tc_plateau_opts {
  tc_plateau_mode mode;             /* min */
  double factor;                    /* 0.1, must be < 1 */
  int64_t patience;                 /* 10 */
  double threshold;                 /* 1e-4 */
  tc_threshold_mode threshold_mode; /* rel */
  int64_t cooldown;                 /* 0 */
  double min_lr;                    /* 0 */
  const double *min_lrs;            /* optional, one per group; read at creation only */
  double eps;                       /* 1e-8 */
} tc_plateau_opts;
TC_API tc_plateau_opts tc_plateau_defaults(void);
TC_API tc_lr_scheduler *tc_reduce_lr_on_plateau_create(tc_optimizer *opt, const tc_plateau_opts *opts);

/* SequentialLR: schedulers[k] runs from milestones[k-1] (n - 1 ascending milestones). The
 * schedulers must drive opt and not be ReduceLROnPlateau or SequentialLR. On success the
 * SequentialLR owns them (destroying it destroys them; do not step or destroy them yourself); on
 * failure the caller still owns them. */
TC_API tc_lr_scheduler *tc_sequential_lr_create(tc_optimizer *opt, tc_lr_scheduler *const *schedulers, int64_t n,
                                                const int64_t *milestones);

/* scheduler.step(). ReduceLROnPlateau needs tc_lr_scheduler_step_metric (TC_ERR_STATE here). */
TC_API tc_status tc_lr_scheduler_step(tc_lr_scheduler *s);
/* ReduceLROnPlateau's step(metrics) (TC_ERR_STATE for other schedulers). */
TC_API tc_status tc_lr_scheduler_step_metric(tc_lr_scheduler *s, double metric);
/* get_last_lr()[group]: NAN with TC_ERR_ARG for a bad group. */
TC_API double tc_lr_scheduler_get_last_lr(const tc_lr_scheduler *s, int64_t group);
TC_API int64_t tc_lr_scheduler_last_epoch(const tc_lr_scheduler *s);
/* "StepLR", "OneCycleLR", ... (static string). */
TC_API const char *tc_lr_scheduler_name(const tc_lr_scheduler *s);
/* Saves / restores the scheduler's counters, hyperparameters and last lrs as metadata under
 * prefix (NULL = ""); loading into a scheduler of the same kind made on the same optimizer
 * continues identically. On failure the scheduler is unchanged. */
TC_API tc_status tc_lr_scheduler_state_dict(const tc_lr_scheduler *s, tc_state_dict *sd, const char *prefix);
TC_API tc_status tc_lr_scheduler_load_state_dict(tc_lr_scheduler *s, const tc_state_dict *sd, const char *prefix);
TC_API void tc_lr_scheduler_destroy(tc_lr_scheduler *s); /* NULL-safe */

#ifdef __cplusplus
}
#endif
#endif
