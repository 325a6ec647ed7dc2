/* core/src/optim/optim_update.h — the per-element optimizer updates, shared by the CPU loops
 * (optim_kernels.c) and the CUDA kernels (cuda/optim.cu), so both devices run one formula.
 *
 * Each update is a CONSTS macro (the job's double scalars rounded to the dtype T, as ATen
 * converts a Scalar) and a BODY macro updating element i in place. They expect in scope: the
 * flags `f` (compile-time constants in the CPU instantiations), `k` (const tc__optim_scal *), the
 * pointers named below, and FMA/SQRT for T (fmaf/sqrtf or fma/sqrt). The operation order follows
 * PyTorch's single-tensor updates; see optim_kernels.c for the correspondence.
 *   SGD      p, g, buf                a = weight_decay, b = momentum, c = 1 - dampening, d = -lr
 *   Adam(W)  p, g, m_, v_, mx_        a = weight_decay (L2) or 1 - lr * wd (decoupled), b = 1 - beta1,
 *                                     c = beta2, d = 1 - beta2, e = sqrt(bias_correction2), f = eps,
 *                                     h = -step_size
 *   RMSprop  p, g, sq_, buf_, ga_     a = weight_decay, b = alpha, c = 1 - alpha, d = eps, e = momentum,
 *                                     h = -lr
 *   Adagrad  p, g, sum_               a = weight_decay, b = eps, h = -clr
 */
#ifndef CTORCH_OPTIM_UPDATE_H
#define CTORCH_OPTIM_UPDATE_H

/* option flags */
enum {
  F_MAX = 1,    /* maximize */
  F_WD = 2,     /* weight decay as L2 (added to the gradient) */
  F_MOM = 4,    /* SGD / RMSprop momentum */
  F_FIRST = 8,  /* SGD: the momentum buffer starts as the gradient */
  F_NEST = 16,  /* SGD: nesterov */
  F_DEC = 4,    /* Adam: decoupled weight decay */
  F_AMS = 8,    /* Adam: amsgrad */
  F_LARGE = 16, /* lerp weight >= 0.5 (Adam exp_avg, RMSprop grad_avg) */
  F_CENT = 8,   /* RMSprop: centered */
};

/* NaN-propagating maximum, as torch.maximum. */
#define TC__OPT_MAXIMUM(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

#define TC__SGD_CONSTS(T, k) const T wd = (T)(k)->a, mom = (T)(k)->b, damp1 = (T)(k)->c, nlr = (T)(k)->d
#define TC__SGD_BODY(T, FMA, i)                                   \
  do {                                                            \
    T d = g[i];                                                   \
    if (f & F_MAX) d = -d;                                        \
    if (f & F_WD) d = FMA(p[i], wd, d);                           \
    if (f & F_MOM) {                                              \
      T bv = (f & F_FIRST) ? d : FMA(d, damp1, buf[i] * mom);     \
      buf[i] = bv;                                                \
      d = (f & F_NEST) ? FMA(bv, mom, d) : bv;                    \
    }                                                             \
    p[i] = FMA(d, nlr, p[i]);                                     \
  } while (0)

#define TC__ADAM_CONSTS(T, k)                                                                              \
  const T wd = (T)(k)->a, w = (T)(k)->b, b2 = (T)(k)->c, b2c = (T)(k)->d, bc2s = (T)(k)->e, eps = (T)(k)->f, \
          nss = (T)(k)->h;                                                                                 \
  const T w1 = w - (T)1
#define TC__ADAM_BODY(T, FMA, SQRT, i)                         \
  do {                                                         \
    T pi = p[i];                                               \
    if (f & F_DEC) pi = pi * wd;                               \
    T d = g[i];                                                \
    if (f & F_MAX) d = -d;                                     \
    if (f & F_WD) d = FMA(pi, wd, d);                          \
    T m = m_[i];                                               \
    T diff = d - m;                                            \
    m = (f & F_LARGE) ? FMA(w1, diff, d) : FMA(w, diff, m);    \
    m_[i] = m;                                                 \
    T v = FMA(b2c * d, d, v_[i] * b2);                         \
    v_[i] = v;                                                 \
    if (f & F_AMS) {                                           \
      T mx = mx_[i];                                           \
      mx = TC__OPT_MAXIMUM(mx, v);                             \
      mx_[i] = mx;                                             \
      v = mx;                                                  \
    }                                                          \
    T den = SQRT(v) / bc2s + eps;                              \
    p[i] = pi + (nss * m) / den;                               \
  } while (0)

#define TC__RMSPROP_CONSTS(T, k)                                                                               \
  const T wd = (T)(k)->a, al = (T)(k)->b, al1 = (T)(k)->c, eps = (T)(k)->d, mom = (T)(k)->e, nlr = (T)(k)->h; \
  const T w1 = al1 - (T)1
#define TC__RMSPROP_BODY(T, FMA, SQRT, i)                         \
  do {                                                            \
    T d = g[i];                                                   \
    if (f & F_MAX) d = -d;                                        \
    if (f & F_WD) d = FMA(p[i], wd, d);                           \
    T v = FMA(al1 * d, d, sq_[i] * al);                           \
    sq_[i] = v;                                                   \
    T avg;                                                        \
    if (f & F_CENT) {                                             \
      T ga = ga_[i];                                              \
      T diff = d - ga;                                            \
      ga = (f & F_LARGE) ? FMA(w1, diff, d) : FMA(al1, diff, ga); \
      ga_[i] = ga;                                                \
      avg = SQRT(FMA(-ga, ga, v));                                \
    } else {                                                      \
      avg = SQRT(v);                                              \
    }                                                             \
    avg = avg + eps;                                              \
    if (f & F_MOM) {                                              \
      T bv = buf_[i] * mom + d / avg;                             \
      buf_[i] = bv;                                               \
      p[i] = FMA(bv, nlr, p[i]);                                  \
    } else {                                                      \
      p[i] = p[i] + (nlr * d) / avg;                              \
    }                                                             \
  } while (0)

#define TC__ADAGRAD_CONSTS(T, k) const T wd = (T)(k)->a, eps = (T)(k)->b, nclr = (T)(k)->h
#define TC__ADAGRAD_BODY(T, FMA, SQRT, i)  \
  do {                                     \
    T d = g[i];                            \
    if (f & F_MAX) d = -d;                 \
    if (f & F_WD) d = FMA(p[i], wd, d);    \
    T s = FMA(d, d, sum_[i]);              \
    sum_[i] = s;                           \
    T sd = SQRT(s) + eps;                  \
    p[i] = p[i] + (nclr * d) / sd;         \
  } while (0)

#endif
