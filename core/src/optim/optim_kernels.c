/* core/src/optim/optim_kernels.c — the fused per-parameter updates of SGD, Adam/AdamW, RMSprop
 * and Adagrad: one pass over contiguous data per parameter and step, no temporaries.
 *
 * Each loop reproduces PyTorch's single-tensor (foreach=False) update operation for operation,
 * with the rounding of ATen's CPU kernels, so results agree bit for bit:
 *   t.add(o, alpha=a)       -> fma(o, a, t)              (ATen's vectorised add is an fmadd)
 *   t.lerp_(e, w)           -> |w| < 0.5 ? fma(w, e - t, t) : fma(w - 1, e - t, e)
 *   t.addcmul_(a, b, v)     -> fma(v * a, b, t)
 *   t.addcdiv_(a, b, v)     -> t + (v * a) / b
 *   t.mul_(s), t / s, t + s -> one rounding each
 * Python-level scalars (bias corrections, step sizes) are computed in double exactly as PyTorch's
 * Python code computes them, then rounded to the parameter dtype as ATen converts a Scalar.
 * (The one known difference: ATen's CPU sqrt goes through MKL's vsSqrt, which is not always
 * correctly rounded; ours is, so Adam/RMSprop/Adagrad can differ from PyTorch by an ulp there.)
 *
 * The loops are instantiated per dtype and per combination of options (the flags are compile-time
 * constants in each instantiation, so the branches vanish and the loops vectorise). A step's
 * parameters are laid end to end as one range that the thread pool splits (one dispatch per step,
 * however many small parameters); every element is independent, so the result does not depend on
 * the thread count.
 */
#include <math.h>
#include "optim_internal.h"
#include "optim_update.h"

#define INLINE static inline __attribute__((always_inline))
#define GRAIN 32768

typedef tc__optim_scal scal;
typedef tc__optim_job job;

#define CASES8(X, o) X((o) + 0) X((o) + 1) X((o) + 2) X((o) + 3) X((o) + 4) X((o) + 5) X((o) + 6) X((o) + 7)
#define CASES32(X) CASES8(X, 0) CASES8(X, 8) CASES8(X, 16) CASES8(X, 24)

/* The per-element updates (option flags, bodies) are shared with the CUDA backend: optim_update.h. */
#define DEFINE_KERNELS(T, SFX, FMA, SQRT)                                                                             \
  INLINE void sgd_##SFX(T *restrict p, const T *restrict g, T *restrict buf, int64_t n, const scal *k, const int f) { \
    TC__SGD_CONSTS(T, k);                                                                                             \
    for (int64_t i = 0; i < n; i++) TC__SGD_BODY(T, FMA, i);                                                          \
  }                                                                                                                   \
  INLINE void adam_##SFX(T *restrict p, const T *restrict g, T *restrict m_, T *restrict v_, T *restrict mx_,         \
                         int64_t n, const scal *k, const int f) {                                                     \
    TC__ADAM_CONSTS(T, k);                                                                                            \
    for (int64_t i = 0; i < n; i++) TC__ADAM_BODY(T, FMA, SQRT, i);                                                   \
  }                                                                                                                   \
  INLINE void rmsprop_##SFX(T *restrict p, const T *restrict g, T *restrict sq_, T *restrict buf_, T *restrict ga_,   \
                            int64_t n, const scal *k, const int f) {                                                  \
    TC__RMSPROP_CONSTS(T, k);                                                                                         \
    for (int64_t i = 0; i < n; i++) TC__RMSPROP_BODY(T, FMA, SQRT, i);                                                \
  }                                                                                                                   \
  INLINE void adagrad_##SFX(T *restrict p, const T *restrict g, T *restrict sum_, int64_t n, const scal *k,           \
                            const int f) {                                                                            \
    TC__ADAGRAD_CONSTS(T, k);                                                                                         \
    for (int64_t i = 0; i < n; i++) TC__ADAGRAD_BODY(T, FMA, SQRT, i);                                                \
  }                                                                                                                   \
  /* Runs job j over its elements [b, e) with its flags as a compile-time constant. */                                \
  static void run_##SFX(const job *j, int64_t b, int64_t e) {                                                         \
    T *p = (T *)j->p + b;                                                                                             \
    const T *g = (const T *)j->g + b;                                                                                 \
    T *s0 = j->s0 ? (T *)j->s0 + b : NULL, *s1 = j->s1 ? (T *)j->s1 + b : NULL;                                       \
    T *s2 = j->s2 ? (T *)j->s2 + b : NULL;                                                                            \
    int64_t n = e - b;                                                                                                \
    switch (j->kind) {                                                                                                \
      case TC_OPTIM_SGD:                                                                                              \
        switch (j->flags) { CASES32(SGD_CASE_##SFX) }                                                                 \
        break;                                                                                                        \
      case TC_OPTIM_ADAM:                                                                                             \
      case TC_OPTIM_ADAMW:                                                                                            \
        switch (j->flags) { CASES32(ADAM_CASE_##SFX) }                                                                \
        break;                                                                                                        \
      case TC_OPTIM_RMSPROP:                                                                                          \
        switch (j->flags) { CASES32(RMSPROP_CASE_##SFX) }                                                             \
        break;                                                                                                        \
      case TC_OPTIM_ADAGRAD:                                                                                          \
        switch (j->flags & 3) {                                                                                       \
          case 0:                                                                                                     \
            adagrad_##SFX(p, g, s0, n, &j->k, 0);                                                                     \
            break;                                                                                                    \
          case 1:                                                                                                     \
            adagrad_##SFX(p, g, s0, n, &j->k, 1);                                                                     \
            break;                                                                                                    \
          case 2:                                                                                                     \
            adagrad_##SFX(p, g, s0, n, &j->k, 2);                                                                     \
            break;                                                                                                    \
          default:                                                                                                    \
            adagrad_##SFX(p, g, s0, n, &j->k, 3);                                                                     \
            break;                                                                                                    \
        }                                                                                                             \
        break;                                                                                                        \
    }                                                                                                                 \
  }

#define SGD_CASE_f32(F)             \
  case F:                           \
    sgd_f32(p, g, s0, n, &j->k, F); \
    break;
#define ADAM_CASE_f32(F)                     \
  case F:                                    \
    adam_f32(p, g, s0, s1, s2, n, &j->k, F); \
    break;
#define RMSPROP_CASE_f32(F)                     \
  case F:                                       \
    rmsprop_f32(p, g, s0, s1, s2, n, &j->k, F); \
    break;
#define SGD_CASE_f64(F)             \
  case F:                           \
    sgd_f64(p, g, s0, n, &j->k, F); \
    break;
#define ADAM_CASE_f64(F)                     \
  case F:                                    \
    adam_f64(p, g, s0, s1, s2, n, &j->k, F); \
    break;
#define RMSPROP_CASE_f64(F)                     \
  case F:                                       \
    rmsprop_f64(p, g, s0, s1, s2, n, &j->k, F); \
    break;

DEFINE_KERNELS(float, f32, fmaf, sqrtf)
DEFINE_KERNELS(double, f64, fma, sqrt)

typedef struct {
  const job *jobs;
  int64_t njobs;
} run_ctx;

/* Elements [b, e) of the concatenation of all jobs. */
static void run_range(int64_t b, int64_t e, void *ctx) {
  const run_ctx *rc = ctx;
  /* the first job that ends after b */
  int64_t lo = 0, hi = rc->njobs - 1;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (rc->jobs[mid].start + rc->jobs[mid].n <= b)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (int64_t i = lo; i < rc->njobs && rc->jobs[i].start < e; i++) {
    const job *j = &rc->jobs[i];
    int64_t jb = b > j->start ? b - j->start : 0, je = (e < j->start + j->n ? e : j->start + j->n) - j->start;
    if (jb >= je) continue;
    if (j->dtype == TC_F32)
      run_f32(j, jb, je);
    else
      run_f64(j, jb, je);
  }
}

void tc__optim_run(tc__optim_job *jobs, int64_t njobs) {
  int64_t total = 0;
  for (int64_t i = 0; i < njobs; i++) {
    jobs[i].start = total;
    total += jobs[i].n;
  }
  if (total == 0) return;
  run_ctx rc = {jobs, njobs};
  tc_parallel_for(total, GRAIN, run_range, &rc);
}

/* The step count is a float32 tensor in PyTorch (its default dtype): count as float32 does. */
static double next_step(double step) { return (double)(float)(step + 1.0); }

double *tc__optim_momentum_ptr(tc_optimizer *opt, tc__optim_group *g) {
  switch (opt->kind) {
    case TC_OPTIM_SGD:
      return &g->o.sgd.momentum;
    case TC_OPTIM_RMSPROP:
      return &g->o.rmsprop.momentum;
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW:
      return &g->o.adam.beta1;
    default:
      return NULL;
  }
}

void tc__optim_prepare(tc__optim_job *out, tc_optim_kind kind, const tc__optim_opts *o, tc__optim_param *pp, void *p,
                       const void *g, int64_t n, tc_dtype dtype, bool fresh) {
  job j = {.kind = kind, .dtype = dtype, .p = p, .g = g, .n = n};
  int f = 0;
  switch (kind) {
    case TC_OPTIM_SGD: {
      const tc_sgd_opts *s = &o->sgd;
      /* a buffer made for this step starts as the gradient */
      f = (s->maximize ? F_MAX : 0) | (s->weight_decay != 0 ? F_WD : 0) | (s->momentum != 0 ? F_MOM : 0) |
          (s->momentum != 0 && fresh ? F_FIRST : 0) | (s->momentum != 0 && s->nesterov ? F_NEST : 0);
      j.k = (scal){.a = s->weight_decay, .b = s->momentum, .c = 1 - s->dampening, .d = -s->lr};
      j.s0 = pp->state[0] ? tc__ptr(pp->state[0]) : NULL;
      break;
    }
    case TC_OPTIM_ADAM:
    case TC_OPTIM_ADAMW: {
      const tc_adam_opts *s = &o->adam;
      pp->step = next_step(pp->step);
      double step = pp->step;
      double bc1 = 1 - pow(s->beta1, step), bc2 = 1 - pow(s->beta2, step);
      double step_size = s->lr / bc1;
      double bc2_sqrt = pow(bc2, 0.5);
      bool dec = s->weight_decay != 0 && s->decoupled_weight_decay;
      bool l2 = s->weight_decay != 0 && !s->decoupled_weight_decay;
      /* ATen's lerp picks its formula from the weight rounded to the dtype */
      double w = 1 - s->beta1;
      double wt = dtype == TC_F32 ? (double)(float)w : w;
      f = (s->maximize ? F_MAX : 0) | (l2 ? F_WD : 0) | (dec ? F_DEC : 0) | (s->amsgrad ? F_AMS : 0) |
          (fabs(wt) < 0.5 ? 0 : F_LARGE);
      j.k = (scal){.a = dec ? 1 - s->lr * s->weight_decay : s->weight_decay,
                   .b = w,
                   .c = s->beta2,
                   .d = 1 - s->beta2,
                   .e = bc2_sqrt,
                   .f = s->eps,
                   .h = -step_size};
      j.s0 = tc__ptr(pp->state[0]);
      j.s1 = tc__ptr(pp->state[1]);
      j.s2 = s->amsgrad ? tc__ptr(pp->state[2]) : NULL;
      break;
    }
    case TC_OPTIM_RMSPROP: {
      const tc_rmsprop_opts *s = &o->rmsprop;
      pp->step = next_step(pp->step);
      double w = 1 - s->alpha;
      double wt = dtype == TC_F32 ? (double)(float)w : w;
      f = (s->maximize ? F_MAX : 0) | (s->weight_decay != 0 ? F_WD : 0) | (s->momentum > 0 ? F_MOM : 0) |
          (s->centered ? F_CENT : 0) | (s->centered && !(fabs(wt) < 0.5) ? F_LARGE : 0);
      j.k = (scal){.a = s->weight_decay, .b = s->alpha, .c = w, .d = s->eps, .e = s->momentum, .h = -s->lr};
      j.s0 = tc__ptr(pp->state[0]);
      j.s1 = s->momentum > 0 ? tc__ptr(pp->state[1]) : NULL;
      j.s2 = s->centered ? tc__ptr(pp->state[2]) : NULL;
      break;
    }
    case TC_OPTIM_ADAGRAD: {
      const tc_adagrad_opts *s = &o->adagrad;
      pp->step = next_step(pp->step);
      double clr = s->lr / (1 + (pp->step - 1) * s->lr_decay);
      f = (s->maximize ? F_MAX : 0) | (s->weight_decay != 0 ? F_WD : 0);
      j.k = (scal){.a = s->weight_decay, .b = s->eps, .h = -clr};
      j.s0 = tc__ptr(pp->state[0]);
      break;
    }
  }
  j.flags = f;
  *out = j;
}
