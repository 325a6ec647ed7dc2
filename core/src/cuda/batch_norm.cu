/* core/src/cuda/batch_norm.cu — batch norm over contiguous x (N, C, S), f32 or f64 (the core
 * converts f16/bf16 to f32 first): element (n, c, s) at (n*C + c)*S + s, statistics per channel c
 * over its M = N*S elements. Arithmetic in the input type (float for f32, double for f64) except
 * the per-channel merges of the chunk partials and the per-channel scalars (mean, invstd, running
 * stats, affine coefficients), which are done in double as nn/norm.c does.
 *
 * Passes (no atomics; every sum is taken in an order fixed by the shape, so results are
 * bit-identical from run to run):
 *   1. partials: each channel's elements are cut into P parts, one block per (part, channel);
 *      each thread folds its elements into (count, mean, M2) — shifted sums over runs of 32
 *      elements, the shift being the run's first element, merged with Chan's formula — and the
 *      block merges its threads in a fixed shuffle tree. Two layouts:
 *        plane   S >= kSmallS: grid (K, C); part k of a channel is the range [k*M/K, (k+1)*M/K)
 *                of its elements in (n, s) order, read in 16-byte vectors along S when S and the
 *                pointers allow; K = ceil(M / 8192), raised to give about 2048 blocks in all (but
 *                at least 1024 elements a part) — C=64, M=1.6M is 196 parts, 12544 blocks.
 *        column  S < kSmallS (BatchNorm1d: S = 1): x as rows n of C*S columns; block (32, 8)
 *                covers 32 columns of a range of rows, reads coalesced along the row, and
 *                merges its 8 row lanes in order; a channel's parts are its S columns times the
 *                row ranges (P = KR*S).
 *      The part counts are functions of (N, C, S) only.
 *   2. finalize: one warp per channel merges its P partials in double (lane-strided, then a fixed
 *      shuffle tree), writes mean and invstd = 1/sqrt(var + eps) (biased variance), updates the
 *      running stats (unbiased variance, momentum) and the affine pair scale = w*invstd,
 *      shift = b - mean*scale. Eval takes mean/var from the running stats.
 *   3. apply: y = x*scale[c] + shift[c], elementwise with 16-byte vectors.
 * Backward: the same partial/finalize scheme sums gy and gy*(x - mean) per channel, giving
 * gw = sum(gy*(x - mean))*invstd, gb = sum(gy) and the coefficients of
 * gx = a*gy + b*(x - mean) + c (a = w*invstd; training: b = -w*invstd^3*dot/M, c = -w*invstd*sum/M;
 * eval: b = c = 0), applied elementwise.
 */
#include <stdint.h>
#include <type_traits>
#include "cuda_backend.h"

namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 8192;        /* target elements per plane part */
constexpr int64_t kMinChunk = 1024;     /* ... and at least this many when raising the part count */
constexpr int64_t kTargetBlocks = 2048; /* blocks the part count is raised towards */
constexpr int64_t kSmallS = 16;         /* S below this: the column layout */
constexpr int kRun = 32;                /* elements per shifted-sum run */

template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

/* ---- partial results and their merges ----------------------------------------------------------- */
template <typename A>
struct Moments {
  A n, mean, m2; /* count, mean, sum of squared deviations */
};

template <typename A>
__device__ __forceinline__ void merge(Moments<A> &a, const Moments<A> &b) {
  A n = a.n + b.n;
  if (n == 0) return;
  A delta = b.mean - a.mean, f = b.n / n;
  a.mean += delta * f;
  a.m2 += b.m2 + delta * delta * a.n * f;
  a.n = n;
}

template <typename A>
__device__ __forceinline__ Moments<A> shfl_down(const Moments<A> &v, int o) {
  return {__shfl_down_sync(0xffffffffu, v.n, o), __shfl_down_sync(0xffffffffu, v.mean, o),
          __shfl_down_sync(0xffffffffu, v.m2, o)};
}

template <typename A>
struct Sums {
  A sg, dot; /* sum gy, sum gy*(x - mean) */
};

template <typename A>
__device__ __forceinline__ void merge(Sums<A> &a, const Sums<A> &b) {
  a.sg += b.sg;
  a.dot += b.dot;
}

template <typename A>
__device__ __forceinline__ Sums<A> shfl_down(const Sums<A> &v, int o) {
  return {__shfl_down_sync(0xffffffffu, v.sg, o), __shfl_down_sync(0xffffffffu, v.dot, o)};
}

/* One thread's statistics: runs of kRun elements as sums of deviations from the run's first
 * element (accurate whatever |mean| / std is: the shift is a sample of the data), merged into tot. */
template <typename T>
struct ThreadMoments {
  Moments<T> tot = {0, 0, 0};
  T shift = 0, s = 0, q = 0;
  int cnt = 0;
  __device__ __forceinline__ void flush() {
    if (!cnt) return;
    T n = (T)cnt, mu = s / n, m2 = q - s * mu;
    if (m2 < 0) m2 = 0; /* rounding; NaN stays NaN */
    merge(tot, Moments<T>{n, shift + mu, m2});
    cnt = 0;
    s = q = 0;
  }
  __device__ __forceinline__ void add(T v) {
    if (cnt == 0) shift = v;
    T d = v - shift;
    s += d;
    q += d * d;
    if (++cnt == kRun) flush();
  }
};

/* MODE 0: statistics of x; 1: sums of gy and gy*(x - mean); 2: the sum of gy alone. */
template <typename T, int MODE>
struct Folder {
  using R = typename std::conditional<MODE == 0, Moments<T>, Sums<T>>::type;
  ThreadMoments<T> tm;
  Sums<T> sums = {0, 0};
  T mu = 0;
  __device__ __forceinline__ void add(T xv, T gv) {
    if constexpr (MODE == 0) {
      tm.add(xv);
    } else {
      sums.sg += gv;
      if constexpr (MODE == 1) sums.dot += gv * (xv - mu);
    }
  }
  __device__ __forceinline__ R result() {
    if constexpr (MODE == 0) {
      tm.flush();
      return tm.tot;
    } else {
      return sums;
    }
  }
};

template <typename T>
__device__ __forceinline__ void store_part(T *part, int64_t i, const Moments<T> &m) {
  part[3 * i] = m.n, part[3 * i + 1] = m.mean, part[3 * i + 2] = m.m2;
}
template <typename T>
__device__ __forceinline__ void store_part(T *part, int64_t i, const Sums<T> &m) {
  part[2 * i] = m.sg, part[2 * i + 1] = m.dot;
}

/* Merges a value of every thread of a 1-D block in a fixed tree; the result is thread 0's. */
template <typename R>
__device__ R block_merge(R v, R *scratch /* 32 */) {
  for (int o = 16; o > 0; o >>= 1) merge(v, shfl_down(v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nwarps ? scratch[lane] : R{};
    for (int o = 16; o > 0; o >>= 1) merge(v, shfl_down(v, o));
  }
  __syncthreads(); /* scratch is reused by the next channel */
  return v;
}

/* ---- pass 1, plane layout: grid (K, C'), part k of channel c; sizes in vectors of V ---------------- */
template <typename T, int V, int MODE>
__global__ void plane_parts(const T *__restrict__ x, const T *__restrict__ gy, const T *__restrict__ mean, int64_t N,
                            int64_t C, int64_t Sv, int64_t K, T *__restrict__ part) {
  using F = Folder<T, MODE>;
  using VT = Vec<T, V>;
  __shared__ typename F::R scratch[32];
  const VT *xv = reinterpret_cast<const VT *>(x), *gv = reinterpret_cast<const VT *>(gy);
  const int64_t k = blockIdx.x, Mv = N * Sv;
  const int64_t dn = kThreads / Sv, ds = kThreads - dn * Sv; /* (n, s) step of kThreads vectors */
  for (int64_t c = blockIdx.y; c < C; c += gridDim.y) {
    F f;
    if constexpr (MODE == 1) f.mu = mean[c];
    int64_t e = k * Mv / K + threadIdx.x, e1 = (k + 1) * Mv / K;
    int64_t n = e / Sv, s = e - n * Sv;
    /* two vectors per iteration: both loads in flight before either is used */
    for (; e + kThreads < e1; e += 2 * kThreads) {
      int64_t off0 = (n * C + c) * Sv + s;
      n += dn, s += ds;
      if (s >= Sv) s -= Sv, n++;
      int64_t off1 = (n * C + c) * Sv + s;
      n += dn, s += ds;
      if (s >= Sv) s -= Sv, n++;
      VT a0, a1, g0, g1;
      if constexpr (MODE != 2) a0 = xv[off0], a1 = xv[off1];
      if constexpr (MODE != 0) g0 = gv[off0], g1 = gv[off1];
#pragma unroll
      for (int j = 0; j < V; j++) f.add(MODE != 2 ? a0.v[j] : (T)0, MODE != 0 ? g0.v[j] : (T)0);
#pragma unroll
      for (int j = 0; j < V; j++) f.add(MODE != 2 ? a1.v[j] : (T)0, MODE != 0 ? g1.v[j] : (T)0);
    }
    if (e < e1) {
      int64_t off = (n * C + c) * Sv + s;
      VT a, g;
      if constexpr (MODE != 2) a = xv[off];
      if constexpr (MODE != 0) g = gv[off];
#pragma unroll
      for (int j = 0; j < V; j++) f.add(MODE != 2 ? a.v[j] : (T)0, MODE != 0 ? g.v[j] : (T)0);
    }
    typename F::R r = block_merge(f.result(), scratch);
    if (threadIdx.x == 0) store_part(part, c * K + k, r);
  }
}

/* ---- pass 1, column layout: block (32, 8) over columns [32*bx, +32) of rows part by ------------------ */
template <typename T, int MODE>
__global__ void column_parts(const T *__restrict__ x, const T *__restrict__ gy, const T *__restrict__ mean, int64_t N,
                             int64_t C, int64_t S, int64_t KR, T *__restrict__ part) {
  using F = Folder<T, MODE>;
  __shared__ typename F::R sh[8][32];
  const int64_t L = C * S, j = (int64_t)blockIdx.x * 32 + threadIdx.x, k = blockIdx.y;
  const int64_t r0 = k * N / KR, r1 = (k + 1) * N / KR;
  F f;
  int64_t c = 0, s = 0;
  if (j < L) {
    c = j / S, s = j - c * S;
    if constexpr (MODE == 1) f.mu = mean[c];
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      int64_t off = r * L + j;
      f.add(MODE != 2 ? x[off] : (T)0, MODE != 0 ? gy[off] : (T)0);
    }
  }
  sh[threadIdx.y][threadIdx.x] = f.result();
  __syncthreads();
  if (threadIdx.y == 0 && j < L) {
    typename F::R r = sh[0][threadIdx.x];
    for (int t = 1; t < 8; t++) merge(r, sh[t][threadIdx.x]);
    store_part(part, c * (KR * S) + k * S + s, r);
  }
}

/* ---- pass 2: one warp per channel ----------------------------------------------------------------- */
/* Merges channel c's P partials (T, stored as Moments) in double; the result is lane 0's. */
template <typename T>
__device__ Moments<double> merge_moments(const T *part, int64_t c, int64_t P) {
  int lane = threadIdx.x & 31;
  Moments<double> a = {0, 0, 0};
  for (int64_t p = lane; p < P; p += 32) {
    const T *q = part + 3 * (c * P + p);
    merge(a, Moments<double>{(double)q[0], (double)q[1], (double)q[2]});
  }
  for (int o = 16; o > 0; o >>= 1) merge(a, shfl_down(a, o));
  return a;
}

template <typename T>
__global__ void stats_finalize(const T *__restrict__ part, int64_t P, int64_t C, int64_t M, bool training,
                               const T *__restrict__ w, const T *__restrict__ b, T *rm, T *rv, double momentum,
                               double eps, T *__restrict__ mean_out, T *__restrict__ invstd_out, T *__restrict__ coef) {
  int64_t c = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (c >= C) return; /* whole warps leave together */
  double mean, invstd;
  if (training) {
    Moments<double> a = {0, 0, 0};
    if (M > 0) a = merge_moments(part, c, P);
    if ((threadIdx.x & 31) != 0) return;
    if (M > 0) {
      mean = a.mean;
      double var = a.m2 / (double)M;
      invstd = 1.0 / sqrt(var + eps);
      if (rm) { /* running stats with the unbiased variance */
        double unbias = (double)M / (double)(M - 1);
        rm[c] = (T)((1.0 - momentum) * (double)rm[c] + momentum * mean);
        rv[c] = (T)((1.0 - momentum) * (double)rv[c] + momentum * var * unbias);
      }
    } else { /* an empty batch: nothing normalised (as the CPU) */
      mean = 0, invstd = 0;
    }
  } else {
    if ((threadIdx.x & 31) != 0) return;
    mean = (double)rm[c];
    invstd = 1.0 / sqrt((double)rv[c] + eps);
  }
  double scale = (w ? (double)w[c] : 1.0) * invstd;
  mean_out[c] = (T)mean;
  invstd_out[c] = (T)invstd;
  coef[c] = (T)scale;
  coef[C + c] = (T)((b ? (double)b[c] : 0.0) - mean * scale);
}

template <typename T>
__global__ void grad_finalize(const T *__restrict__ part, int64_t P, int64_t C, int64_t M, bool training,
                              const T *__restrict__ w, const T *__restrict__ invstd, T *__restrict__ gw,
                              T *__restrict__ gb, T *__restrict__ coef) {
  int64_t c = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  if (c >= C) return;
  int lane = threadIdx.x & 31;
  Sums<double> a = {0, 0};
  for (int64_t p = lane; p < P; p += 32) {
    const T *q = part + 2 * (c * P + p);
    a.sg += (double)q[0];
    a.dot += (double)q[1];
  }
  for (int o = 16; o > 0; o >>= 1) merge(a, shfl_down(a, o));
  if (lane != 0) return;
  double is = (double)invstd[c], wv = w ? (double)w[c] : 1.0;
  if (gw) gw[c] = (T)(a.dot * is);
  if (gb) gb[c] = (T)a.sg;
  if (coef) {
    double ga = wv * is, gbc = 0, gcc = 0;
    if (training && M > 0) {
      gbc = -wv * is * is * is * a.dot / (double)M;
      gcc = -wv * is * a.sg / (double)M;
    }
    coef[c] = (T)ga;
    coef[C + c] = (T)gbc;
    coef[2 * C + c] = (T)gcc;
  }
}

/* ---- pass 3: elementwise over N*C*S / V vectors; channel = (i / Sv) % C ------------------------------- */
template <typename T, int V, typename I>
__global__ void fwd_apply(const T *__restrict__ x, T *__restrict__ y, const T *__restrict__ coef, I nvec, I Sv,
                          I C) {
  using VT = Vec<T, V>;
  const VT *xv = reinterpret_cast<const VT *>(x);
  VT *yv = reinterpret_cast<VT *>(y);
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < nvec; i += (I)gridDim.x * blockDim.x) {
    I c = (i / Sv) % C;
    T sc = coef[c], sh = coef[C + c];
    VT a = xv[i];
#pragma unroll
    for (int j = 0; j < V; j++) a.v[j] = a.v[j] * sc + sh;
    yv[i] = a;
  }
}

template <typename T, int V, typename I, bool USE_X>
__global__ void bwd_apply(const T *__restrict__ gy, const T *__restrict__ x, const T *__restrict__ mean,
                          const T *__restrict__ coef, T *__restrict__ gx, I nvec, I Sv, I C) {
  using VT = Vec<T, V>;
  const VT *gv = reinterpret_cast<const VT *>(gy), *xv = reinterpret_cast<const VT *>(x);
  VT *ov = reinterpret_cast<VT *>(gx);
  for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < nvec; i += (I)gridDim.x * blockDim.x) {
    I c = (i / Sv) % C;
    T a = coef[c], cc = coef[2 * C + c];
    VT g = gv[i], o;
    if constexpr (USE_X) {
      T bb = coef[C + c], mu = mean[c];
      VT v = xv[i];
#pragma unroll
      for (int j = 0; j < V; j++) o.v[j] = a * g.v[j] + bb * (v.v[j] - mu) + cc;
    } else {
#pragma unroll
      for (int j = 0; j < V; j++) o.v[j] = a * g.v[j] + cc;
    }
    ov[i] = o;
  }
}

/* ---- host side ------------------------------------------------------------------------------------ */
bool aligned(const void *p, size_t a) { return p == nullptr || ((uintptr_t)p % a) == 0; }

/* The widest vector (elements, 16 bytes at most) that divides S and that every pointer allows. */
template <typename T>
int vec_width(int64_t S, const void *a, const void *b, const void *c) {
  int v = (int)(16 / sizeof(T));
  while (v > 1 && (S % v != 0 || !aligned(a, v * sizeof(T)) || !aligned(b, v * sizeof(T)) ||
                   !aligned(c, v * sizeof(T))))
    v /= 2;
  return v;
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The partition of pass 1: a function of the shape only. */
struct Parts {
  bool column;
  int64_t K; /* plane: parts per channel; column: row ranges */
  int64_t P; /* partials per channel */
};

Parts plan_parts(int64_t N, int64_t C, int64_t S) {
  Parts p;
  if (S < kSmallS) {
    int64_t cb = cdiv(C * S, 32), kr = cdiv(N, 256);
    if (cb * kr < kTargetBlocks) {
      int64_t want = cdiv(kTargetBlocks, cb), most = cdiv(N, 64);
      kr = want < most ? want : most;
    }
    if (kr < 1) kr = 1;
    if (kr > 65535) kr = 65535;
    p.column = true, p.K = kr, p.P = kr * S;
  } else {
    int64_t M = N * S, k = cdiv(M, kChunk);
    if (C * k < kTargetBlocks) {
      int64_t want = cdiv(kTargetBlocks, C), most = cdiv(M, kMinChunk);
      k = want < most ? want : most;
    }
    if (k < 1) k = 1;
    p.column = false, p.K = k, p.P = k;
  }
  return p;
}

template <typename T, int MODE>
void launch_parts(cudaStream_t st, const Parts &p, const T *x, const T *gy, const T *mean, int64_t N, int64_t C,
                  int64_t S, T *part) {
  if (p.column) {
    dim3 grid((unsigned)cdiv(C * S, 32), (unsigned)p.K), block(32, 8);
    column_parts<T, MODE><<<grid, block, 0, st>>>(x, gy, mean, N, C, S, p.K, part);
    return;
  }
  dim3 grid((unsigned)p.K, (unsigned)(C < 65535 ? C : 65535));
  const T *a = MODE != 2 ? x : nullptr, *g = MODE != 0 ? gy : nullptr;
  int v = vec_width<T>(S, a, g, nullptr);
  constexpr int V4 = sizeof(T) == 4 ? 4 : 1; /* no 4-wide vectors of double */
  if (v == 4)
    plane_parts<T, V4, MODE><<<grid, kThreads, 0, st>>>(x, gy, mean, N, C, S / 4, p.K, part);
  else if (v == 2)
    plane_parts<T, 2, MODE><<<grid, kThreads, 0, st>>>(x, gy, mean, N, C, S / 2, p.K, part);
  else
    plane_parts<T, 1, MODE><<<grid, kThreads, 0, st>>>(x, gy, mean, N, C, S, p.K, part);
}

unsigned apply_grid(int64_t nvec) {
  int64_t b = cdiv(nvec, (int64_t)kThreads * 4); /* about 4 vectors a thread */
  return (unsigned)(b < 1 ? 1 : b > (1 << 20) ? (1 << 20) : b);
}

template <typename T, int V>
void launch_fwd_apply(cudaStream_t st, const T *x, T *y, const T *coef, int64_t N, int64_t C, int64_t S) {
  int64_t nvec = N * C * S / V, Sv = S / V;
  if (nvec < ((int64_t)1 << 31))
    fwd_apply<T, V, uint32_t><<<apply_grid(nvec), kThreads, 0, st>>>(x, y, coef, (uint32_t)nvec, (uint32_t)Sv,
                                                                      (uint32_t)C);
  else
    fwd_apply<T, V, int64_t><<<apply_grid(nvec), kThreads, 0, st>>>(x, y, coef, nvec, Sv, C);
}

template <typename T, int V, bool USE_X>
void launch_bwd_apply(cudaStream_t st, const T *gy, const T *x, const T *mean, const T *coef, T *gx, int64_t N,
                      int64_t C, int64_t S) {
  int64_t nvec = N * C * S / V, Sv = S / V;
  if (nvec < ((int64_t)1 << 31))
    bwd_apply<T, V, uint32_t, USE_X><<<apply_grid(nvec), kThreads, 0, st>>>(gy, x, mean, coef, gx, (uint32_t)nvec,
                                                                            (uint32_t)Sv, (uint32_t)C);
  else
    bwd_apply<T, V, int64_t, USE_X><<<apply_grid(nvec), kThreads, 0, st>>>(gy, x, mean, coef, gx, nvec, Sv, C);
}

template <typename T>
tc_status fwd(int index, const T *x, int64_t N, int64_t C, int64_t S, const T *w, const T *b, T *rm, T *rv,
              bool training, double momentum, double eps, T *y, T *mean, T *invstd) {
  cudaStream_t st = tc__cuda_stream(index);
  if (!st) return TC_ERR_CUDA;
  if (C <= 0) return TC_OK;
  if (!training && (!rm || !rv))
    return tc__cuda_set_error(TC_ERR_ARG, "cuda batch norm: evaluation needs the running statistics");
  const int64_t M = N * S;
  T *coef = (T *)tc__cuda_alloc((size_t)(2 * C) * sizeof(T), index); /* scale, shift (C each) */
  if (!coef) return TC_ERR_NOMEM;
  T *part = nullptr;
  int64_t P = 0;
  if (training && M > 0) {
    Parts p = plan_parts(N, C, S);
    part = (T *)tc__cuda_alloc((size_t)(3 * C * p.P) * sizeof(T), index);
    if (!part) {
      tc__cuda_free(coef, index);
      return TC_ERR_NOMEM;
    }
    launch_parts<T, 0>(st, p, x, nullptr, nullptr, N, C, S, part);
    P = p.P;
  }
  stats_finalize<T><<<(unsigned)cdiv(C, kThreads / 32), kThreads, 0, st>>>(part, P, C, M, training, w, b, rm, rv,
                                                                           momentum, eps, mean, invstd, coef);
  if (M > 0) {
    int v = vec_width<T>(S, x, y, nullptr);
    constexpr int V4 = sizeof(T) == 4 ? 4 : 1; /* no 4-wide vectors of double */
    if (v == 4) launch_fwd_apply<T, V4>(st, x, y, coef, N, C, S);
    else if (v == 2) launch_fwd_apply<T, 2>(st, x, y, coef, N, C, S);
    else launch_fwd_apply<T, 1>(st, x, y, coef, N, C, S);
  }
  /* reused only by later work on the same stream */
  tc__cuda_free(part, index);
  tc__cuda_free(coef, index);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "batch norm kernel", index);
}

template <typename T>
tc_status bwd(int index, const T *x, const T *gy, int64_t N, int64_t C, int64_t S, const T *w, const T *mean,
              const T *invstd, bool training, T *gx, T *gw, T *gb) {
  cudaStream_t st = tc__cuda_stream(index);
  if (!st) return TC_ERR_CUDA;
  if (C <= 0 || (!gx && !gw && !gb)) return TC_OK;
  const int64_t M = N * S;
  const bool need_dot = gw || (gx && training), need_sums = need_dot || gb;
  T *part = nullptr, *coef = nullptr;
  int64_t P = 0;
  if (gx && !(coef = (T *)tc__cuda_alloc((size_t)(3 * C) * sizeof(T), index))) return TC_ERR_NOMEM;
  if (need_sums && M > 0) {
    Parts p = plan_parts(N, C, S);
    part = (T *)tc__cuda_alloc((size_t)(2 * C * p.P) * sizeof(T), index);
    if (!part) {
      tc__cuda_free(coef, index);
      return TC_ERR_NOMEM;
    }
    if (need_dot) launch_parts<T, 1>(st, p, x, gy, mean, N, C, S, part);
    else launch_parts<T, 2>(st, p, x, gy, mean, N, C, S, part);
    P = p.P;
  }
  grad_finalize<T><<<(unsigned)cdiv(C, kThreads / 32), kThreads, 0, st>>>(part, P, C, M, training, w, invstd, gw, gb,
                                                                          coef);
  if (gx && M > 0) {
    int v = vec_width<T>(S, gy, gx, training ? (const void *)x : nullptr);
    constexpr int V4 = sizeof(T) == 4 ? 4 : 1; /* no 4-wide vectors of double */
    if (training) {
      if (v == 4) launch_bwd_apply<T, V4, true>(st, gy, x, mean, coef, gx, N, C, S);
      else if (v == 2) launch_bwd_apply<T, 2, true>(st, gy, x, mean, coef, gx, N, C, S);
      else launch_bwd_apply<T, 1, true>(st, gy, x, mean, coef, gx, N, C, S);
    } else {
      if (v == 4) launch_bwd_apply<T, V4, false>(st, gy, x, mean, coef, gx, N, C, S);
      else if (v == 2) launch_bwd_apply<T, 2, false>(st, gy, x, mean, coef, gx, N, C, S);
      else launch_bwd_apply<T, 1, false>(st, gy, x, mean, coef, gx, N, C, S);
    }
  }
  tc__cuda_free(part, index);
  tc__cuda_free(coef, index);
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? TC_OK : tc__cuda_fail(e, "batch norm backward kernel", index);
}

}  // namespace

extern "C" tc_status tc__cuda_batch_norm_fwd(int index, tc_dtype dt, const void *x, int64_t N, int64_t C, int64_t S,
                                             const void *w, const void *b, void *rm, void *rv, bool training,
                                             double momentum, double eps, void *y, void *mean, void *invstd) {
  if (dt == TC_F32)
    return fwd<float>(index, (const float *)x, N, C, S, (const float *)w, (const float *)b, (float *)rm, (float *)rv,
                      training, momentum, eps, (float *)y, (float *)mean, (float *)invstd);
  if (dt == TC_F64)
    return fwd<double>(index, (const double *)x, N, C, S, (const double *)w, (const double *)b, (double *)rm,
                       (double *)rv, training, momentum, eps, (double *)y, (double *)mean, (double *)invstd);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda batch norm: dtype %d is not supported (float32/float64 only)", (int)dt);
}

extern "C" tc_status tc__cuda_batch_norm_bwd(int index, tc_dtype dt, const void *x, const void *gy, int64_t N,
                                             int64_t C, int64_t S, const void *w, const void *mean,
                                             const void *invstd, bool training, void *gx, void *gw, void *gb) {
  if (dt == TC_F32)
    return bwd<float>(index, (const float *)x, (const float *)gy, N, C, S, (const float *)w, (const float *)mean,
                      (const float *)invstd, training, (float *)gx, (float *)gw, (float *)gb);
  if (dt == TC_F64)
    return bwd<double>(index, (const double *)x, (const double *)gy, N, C, S, (const double *)w, (const double *)mean,
                       (const double *)invstd, training, (double *)gx, (double *)gw, (double *)gb);
  return tc__cuda_set_error(TC_ERR_DTYPE, "cuda batch norm backward: dtype %d is not supported (float32/float64 only)",
                            (int)dt);
}
