/* core/src/cuda/loss.cu — cross_entropy (fused with log_softmax) and nll_loss with class targets.
 *
 * The input is (N, C, S) contiguous in f32 or f64: position p = (n, s) has its C classes S apart,
 * at n * C * S + s. One warp per position. Per position, with m = max_c x, s = sum_c exp(x - m),
 * lse = m + log s, w the class weights (1 without), W = sum_c w, eps the label smoothing
 * (see core/src/nn/loss_ce.c for the derivation):
 *   cross entropy: loss = (1 - eps) w[t] (lse - x[t]) + eps / C (W lse - sum_c w[c] x[c])
 *   nll:           loss = -w[t] x[t]
 * and 0 where t == ignore_index; wt = w[t] (0 where ignored) is the mean's denominator term.
 * Forward writes loss, wt and lse per position; the core reduces them (deterministically).
 * Backward: g_p = g[p * g_stride] (g_stride 0: one scalar for all positions);
 *   cross entropy: d/dx[c] = g_p (exp(x[c] - lse) ((1 - eps) w[t] + eps W / C) - eps / C w[c]
 *                                 - (1 - eps) w[t] [c == t])
 *   nll:           d/dx[t] = -g_p w[t], 0 elsewhere.
 * Targets were checked by the core (in [0, C) or ignore_index) before the launch.
 */
#include <stdint.h>
#include "cuda_backend.h"
#include "device_math.cuh"

using namespace tcu;

namespace {

constexpr int kWarps = 8;

template <typename T, bool NLL>
__global__ void class_fwd(const T *x, const int64_t *t, const T *w, int64_t P, int64_t C, int64_t S, int64_t ignore,
                          T eps, T W, T *loss, T *wt, T *lse_out) {
  int lane = threadIdx.x & 31;
  for (int64_t p = (int64_t)blockIdx.x * kWarps + (threadIdx.x >> 5); p < P; p += (int64_t)gridDim.x * kWarps) {
    const T *xp = x + (p / S) * C * S + p % S;
    int64_t tp = t[p];
    bool ignored = tp == ignore;
    T wtp = ignored ? (T)0 : (w ? w[tp] : (T)1);
    T l;
    if (NLL) {
      l = ignored ? (T)0 : -wtp * xp[tp * S];
      if (lane == 0) lse_out[p] = 0;
    } else {
      T m = (T)-INFINITY;
      for (int64_t c = lane; c < C; c += 32) m = nan_max(m, xp[c * S]);
      m = warp_max(m);
      T s = 0, sx = 0;
      for (int64_t c = lane; c < C; c += 32) {
        T v = xp[c * S];
        s += ex(v - m);
        sx += (w ? w[c] : (T)1) * v;
      }
      s = warp_sum(s);
      sx = warp_sum(sx);
      T lse = m + lg(s);
      if (lane == 0) lse_out[p] = lse;
      l = ignored ? (T)0 : (1 - eps) * wtp * (lse - xp[tp * S]) + (eps / (T)C) * (W * lse - sx);
      /* a position whose target is ignored adds nothing, smoothing included (as PyTorch) */
    }
    if (lane == 0) {
      loss[p] = l;
      wt[p] = wtp;
    }
  }
}

template <typename T, bool NLL>
__global__ void class_bwd(const T *x, const int64_t *t, const T *w, const T *lse, int64_t P, int64_t C, int64_t S,
                          int64_t ignore, T eps, T W, const T *g, int64_t g_stride, T *gx) {
  int lane = threadIdx.x & 31;
  for (int64_t p = (int64_t)blockIdx.x * kWarps + (threadIdx.x >> 5); p < P; p += (int64_t)gridDim.x * kWarps) {
    int64_t base = (p / S) * C * S + p % S;
    int64_t tp = t[p];
    bool ignored = tp == ignore;
    T gp = g[p * g_stride];
    T wtp = ignored ? (T)0 : (w ? w[tp] : (T)1);
    if (NLL) {
      for (int64_t c = lane; c < C; c += 32) gx[base + c * S] = (!ignored && c == tp) ? -gp * wtp : (T)0;
      continue;
    }
    T l = lse[p], coef = (1 - eps) * wtp + (ignored ? (T)0 : eps * W / (T)C);
    for (int64_t c = lane; c < C; c += 32) {
      if (ignored) {
        gx[base + c * S] = 0;
        continue;
      }
      T wc = w ? w[c] : (T)1;
      T d = ex(x[base + c * S] - l) * coef - (eps / (T)C) * wc - (c == tp ? (1 - eps) * wtp : (T)0);
      gx[base + c * S] = gp * d;
    }
  }
}

unsigned grid_for(int64_t P) {
  int64_t b = (P + kWarps - 1) / kWarps;
  return (unsigned)(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

}  // namespace

extern "C" tc_status tc__cuda_class_loss_fwd(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t,
                                             const void *w, int64_t P, int64_t C, int64_t S, int64_t ignore,
                                             double eps, double W, void *loss, void *wt, void *lse) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (P == 0) return TC_OK;
  unsigned grid = grid_for(P);
  if (dt == TC_F32) {
    if (nll) class_fwd<float, true><<<grid, 32 * kWarps, 0, s>>>((const float *)x, t, (const float *)w, P, C, S, ignore, (float)eps, (float)W, (float *)loss, (float *)wt, (float *)lse);
    else class_fwd<float, false><<<grid, 32 * kWarps, 0, s>>>((const float *)x, t, (const float *)w, P, C, S, ignore, (float)eps, (float)W, (float *)loss, (float *)wt, (float *)lse);
  } else if (dt == TC_F64) {
    if (nll) class_fwd<double, true><<<grid, 32 * kWarps, 0, s>>>((const double *)x, t, (const double *)w, P, C, S, ignore, eps, W, (double *)loss, (double *)wt, (double *)lse);
    else class_fwd<double, false><<<grid, 32 * kWarps, 0, s>>>((const double *)x, t, (const double *)w, P, C, S, ignore, eps, W, (double *)loss, (double *)wt, (double *)lse);
  } else {
    return tc__cuda_set_error(TC_ERR_DTYPE, "cuda class loss: dtype %d is not supported", (int)dt);
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "loss kernel", index);
}

extern "C" tc_status tc__cuda_class_loss_bwd(int index, tc_dtype dt, bool nll, const void *x, const int64_t *t,
                                             const void *w, const void *lse, int64_t P, int64_t C, int64_t S,
                                             int64_t ignore, double eps, double W, const void *g, int64_t g_stride,
                                             void *gx) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return TC_ERR_CUDA;
  if (P == 0) return TC_OK;
  unsigned grid = grid_for(P);
  if (dt == TC_F32) {
    if (nll) class_bwd<float, true><<<grid, 32 * kWarps, 0, s>>>((const float *)x, t, (const float *)w, (const float *)lse, P, C, S, ignore, (float)eps, (float)W, (const float *)g, g_stride, (float *)gx);
    else class_bwd<float, false><<<grid, 32 * kWarps, 0, s>>>((const float *)x, t, (const float *)w, (const float *)lse, P, C, S, ignore, (float)eps, (float)W, (const float *)g, g_stride, (float *)gx);
  } else if (dt == TC_F64) {
    if (nll) class_bwd<double, true><<<grid, 32 * kWarps, 0, s>>>((const double *)x, t, (const double *)w, (const double *)lse, P, C, S, ignore, eps, W, (const double *)g, g_stride, (double *)gx);
    else class_bwd<double, false><<<grid, 32 * kWarps, 0, s>>>((const double *)x, t, (const double *)w, (const double *)lse, P, C, S, ignore, eps, W, (const double *)g, g_stride, (double *)gx);
  } else {
    return tc__cuda_set_error(TC_ERR_DTYPE, "cuda class loss: dtype %d is not supported", (int)dt);
  }
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "loss backward kernel", index);
}
