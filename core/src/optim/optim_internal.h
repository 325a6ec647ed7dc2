/* core/src/optim/optim_internal.h — the optimizer object as the optimizer, kernel and scheduler
 * files share it (not installed).
 *
 * An optimizer holds its parameters in one array, in group order (group g owns params
 * [first, first + count)), so the index of a parameter counts over all groups, as the integer
 * ids of PyTorch's optimizer.state_dict(). Each parameter has up to three state tensors
 * (contiguous, the parameter's dtype and shape) and a step count:
 *   SGD      state[0] momentum_buffer
 *   Adam(W)  state[0] exp_avg, state[1] exp_avg_sq, state[2] max_exp_avg_sq (amsgrad)
 *   RMSprop  state[0] square_avg, state[1] momentum_buffer (momentum > 0), state[2] grad_avg (centered)
 *   Adagrad  state[0] sum
 */
#ifndef CTORCH_OPTIM_INTERNAL_H
#define CTORCH_OPTIM_INTERNAL_H

#include "../internal.h"
#include "ctorch/optim.h"

#define TC__OPTIM_NSTATE 3

typedef union {
  tc_sgd_opts sgd;
  tc_adam_opts adam; /* Adam and AdamW */
  tc_rmsprop_opts rmsprop;
  tc_adagrad_opts adagrad;
} tc__optim_opts;

typedef struct {
  tc__optim_opts o;
  double initial_lr; /* set by the first scheduler made on the optimizer; NAN until then */
  int64_t first, count;
} tc__optim_group;

typedef struct {
  tc_tensor *param; /* retained */
  tc_tensor *state[TC__OPTIM_NSTATE];
  double step;    /* state["step"]: float32 counting, as PyTorch's float32 step tensor */
  bool has_state; /* PyTorch's len(state) != 0 */
} tc__optim_param;

struct tc_optimizer {
  tc_optim_kind kind;
  tc__optim_opts defaults;
  tc__optim_group *groups;
  int64_t n_groups;
  tc__optim_param *params;
  int64_t n_params;
};

/* The lr of a group (every options struct starts with lr). */
static inline double *tc__optim_lr_ptr(tc__optim_group *g) { return &g->o.sgd.lr; }
/* Whether the kind has a "momentum" option (SGD, RMSprop) or "betas" (Adam, AdamW): the momentum
 * OneCycleLR cycles. Returns NULL when neither. */
double *tc__optim_momentum_ptr(tc_optimizer *opt, tc__optim_group *g);

/* The fused update of one parameter (optim_kernels.c), prepared (scalars and options resolved,
 * the step count incremented) and then run with every other parameter's in one parallel pass. */
/* tc__optim_scal and tc__optim_job are in device_abi.h (the CUDA backend runs jobs too). */
/* p, g and the state tensors are contiguous and of one dtype (f32 or f64); the state tensors the
 * kind and options need exist. fresh: SGD's momentum buffer was made for this step (uninitialised;
 * it starts as the gradient). */
void tc__optim_prepare(tc__optim_job *j, tc_optim_kind kind, const tc__optim_opts *o, tc__optim_param *pp, void *p,
                       const void *g, int64_t n, tc_dtype dtype, bool fresh);
/* Runs the jobs over the thread pool: the concatenated elements are split into contiguous ranges,
 * so many small parameters cost one dispatch. */
void tc__optim_run(tc__optim_job *jobs, int64_t njobs);

/* Metadata helpers for the state dicts (optimizer.c): "%.17g" doubles and strict parsing. */
tc_status tc__meta_set_double(tc_state_dict *sd, const char *prefix, const char *key, double v);
tc_status tc__meta_set_int(tc_state_dict *sd, const char *prefix, const char *key, int64_t v);
tc_status tc__meta_set_str(tc_state_dict *sd, const char *prefix, const char *key, const char *v);
/* Reads a key: TC_ERR_ARG naming the key when missing or malformed. */
tc_status tc__meta_get_double(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key,
                              double *out);
tc_status tc__meta_get_int(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key, int64_t *out);
tc_status tc__meta_get_bool(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key, bool *out);
/* The raw string (NULL with TC_ERR_ARG when missing). */
const char *tc__meta_get_str(const char *fn, const tc_state_dict *sd, const char *prefix, const char *key);
/* Comma-separated lists of doubles / integers: a new tc__malloc'd string, or NULL (NOMEM). */
char *tc__format_doubles(const double *v, int64_t n);
/* Parses exactly n comma-separated doubles. */
tc_status tc__parse_doubles(const char *fn, const char *key, const char *s, double *out, int64_t n);
/* Parses a list of integers of unknown length: *out is tc__malloc'd (NULL when empty). */
tc_status tc__parse_ints(const char *fn, const char *key, const char *s, int64_t **out, int64_t *n);

#endif
