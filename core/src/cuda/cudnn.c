/* core/src/cuda/cudnn.c — 2-D convolution (forward, grad input, grad weight) on cuDNN.
 *
 * cuDNN is optional at build time and at run time: this file declares the few functions and
 * constants of cuDNN 9's C API it calls (the "legacy" convolution API, still part of cuDNN 9) and
 * loads libcudnn.so.9 with dlopen the first time a convolution runs on a GPU. CTORCH_CUDNN may
 * name the library's path (e.g. the copy PyTorch's pip wheels install), or be "none" to leave
 * cuDNN out. Without it, convolutions on CUDA are composed of other device ops by the core
 * (nn/conv_composed.c: correct and differentiable, but slower and larger in memory).
 *
 * Per device: one cuDNN handle, bound to the calling thread's current stream at each call. Per
 * convolution shape (tc__conv_desc and dtype): a cached plan with the cuDNN descriptors and, per
 * direction, the algorithm chosen the first time: the heuristic's best deterministic algorithm (as
 * PyTorch with cudnn.benchmark = False), or with desc->benchmark the fastest deterministic one measured
 * (cudnn.benchmark = True). Only deterministic algorithms are used, so gradients are bit-identical
 * from run to run. Workspaces come from the caching allocator and are freed right after the call
 * (stream-ordered reuse). float32 may use TF32 tensor cores only when desc->allow_tf32
 * (torch.backends.cudnn.allow_tf32, which PyTorch turns on by default).
 *
 * cuDNN 9 is a small front library that loads its parts (libcudnn_graph, _ops, _cnn, the engine
 * libraries, ...) by name when first used. A machine may hold two copies (a system one and a
 * Python wheel's); parts of different versions in one process crash inside cuDNN. So the parts are
 * loaded first, by full path, from the directory of the front library chosen: the later loads by
 * name then find them already in the process. (libctorch_cuda exports nothing but its device
 * table, src/cuda/exports.map: copies of libstdc++ statics exported from it made cuDNN crash.)
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cuda_backend.h"

/* ---- the part of cuDNN 9's API used here ----------------------------------------------------------- */
typedef int dnn_status;
typedef void *dnn_handle, *dnn_tensor_desc, *dnn_filter_desc, *dnn_conv_desc;
enum { DNN_SUCCESS = 0 };
enum { DNN_DATA_FLOAT = 0, DNN_DATA_DOUBLE = 1, DNN_DATA_HALF = 2, DNN_DATA_BFLOAT16 = 9 };
enum { DNN_NCHW = 0 };
enum { DNN_CROSS_CORRELATION = 1 };
enum { DNN_DEFAULT_MATH = 0, DNN_TENSOR_OP_MATH = 1, DNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2, DNN_FMA_MATH = 3 };
enum { DNN_DETERMINISTIC = 1 };
enum { DNN_MAX_ALGOS = 8 }; /* forward has 8 algorithms, backward data 6, backward filter 7 */

/* cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t share this layout */
typedef struct {
  int algo;
  dnn_status status;
  float time;
  size_t memory;
  int determinism;
  int math_type;
  int reserved[3];
} dnn_algo_perf;

typedef enum { DIR_FWD = 0, DIR_BWD_DATA, DIR_BWD_FILTER, DIR_COUNT } conv_dir;

static struct {
  const char *(*error_string)(dnn_status);
  size_t (*get_version)(void);
  dnn_status (*create)(dnn_handle *);
  dnn_status (*set_stream)(dnn_handle, cudaStream_t);
  dnn_status (*create_tensor)(dnn_tensor_desc *);
  dnn_status (*set_tensor4d)(dnn_tensor_desc, int format, int dtype, int n, int c, int h, int w);
  dnn_status (*destroy_tensor)(dnn_tensor_desc);
  dnn_status (*create_filter)(dnn_filter_desc *);
  dnn_status (*set_filter4d)(dnn_filter_desc, int dtype, int format, int k, int c, int h, int w);
  dnn_status (*destroy_filter)(dnn_filter_desc);
  dnn_status (*create_conv)(dnn_conv_desc *);
  dnn_status (*set_conv2d)(dnn_conv_desc, int ph, int pw, int sh, int sw, int dh, int dw, int mode, int compute);
  dnn_status (*set_group_count)(dnn_conv_desc, int groups);
  dnn_status (*set_math_type)(dnn_conv_desc, int math);
  dnn_status (*destroy_conv)(dnn_conv_desc);
  dnn_status (*add_tensor)(dnn_handle, const void *alpha, dnn_tensor_desc, const void *a, const void *beta,
                           dnn_tensor_desc, void *c);
  /* algorithm choice: heuristics (_v7) and measurement (Find), per direction */
  dnn_status (*get_fwd)(dnn_handle, dnn_tensor_desc, dnn_filter_desc, dnn_conv_desc, dnn_tensor_desc, int, int *,
                        dnn_algo_perf *);
  dnn_status (*find_fwd)(dnn_handle, dnn_tensor_desc, dnn_filter_desc, dnn_conv_desc, dnn_tensor_desc, int, int *,
                         dnn_algo_perf *);
  dnn_status (*get_bwd_data)(dnn_handle, dnn_filter_desc, dnn_tensor_desc, dnn_conv_desc, dnn_tensor_desc, int,
                             int *, dnn_algo_perf *);
  dnn_status (*find_bwd_data)(dnn_handle, dnn_filter_desc, dnn_tensor_desc, dnn_conv_desc, dnn_tensor_desc, int,
                              int *, dnn_algo_perf *);
  dnn_status (*get_bwd_filter)(dnn_handle, dnn_tensor_desc, dnn_tensor_desc, dnn_conv_desc, dnn_filter_desc, int,
                               int *, dnn_algo_perf *);
  dnn_status (*find_bwd_filter)(dnn_handle, dnn_tensor_desc, dnn_tensor_desc, dnn_conv_desc, dnn_filter_desc, int,
                                int *, dnn_algo_perf *);
  dnn_status (*ws_fwd)(dnn_handle, dnn_tensor_desc, dnn_filter_desc, dnn_conv_desc, dnn_tensor_desc, int, size_t *);
  dnn_status (*ws_bwd_data)(dnn_handle, dnn_filter_desc, dnn_tensor_desc, dnn_conv_desc, dnn_tensor_desc, int,
                            size_t *);
  dnn_status (*ws_bwd_filter)(dnn_handle, dnn_tensor_desc, dnn_tensor_desc, dnn_conv_desc, dnn_filter_desc, int,
                              size_t *);
  dnn_status (*run_fwd)(dnn_handle, const void *alpha, dnn_tensor_desc, const void *x, dnn_filter_desc, const void *w,
                        dnn_conv_desc, int algo, void *ws, size_t ws_size, const void *beta, dnn_tensor_desc, void *y);
  dnn_status (*run_bwd_data)(dnn_handle, const void *alpha, dnn_filter_desc, const void *w, dnn_tensor_desc,
                             const void *dy, dnn_conv_desc, int algo, void *ws, size_t ws_size, const void *beta,
                             dnn_tensor_desc, void *dx);
  dnn_status (*run_bwd_filter)(dnn_handle, const void *alpha, dnn_tensor_desc, const void *x, dnn_tensor_desc,
                               const void *dy, dnn_conv_desc, int algo, void *ws, size_t ws_size, const void *beta,
                               dnn_filter_desc, void *dw);
} dnn;

/* ---- loading ------------------------------------------------------------------------------------------- */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static bool loaded;

/* Loads cuDNN's parts from dir (best effort: a part missing there is left to cuDNN's own search),
 * in dependency order. They stay loaded for the life of the process. */
static void preload_parts(const char *dir) {
  static const char *parts[] = {"graph", "heuristic", "engines_precompiled", "engines_runtime_compiled",
                                "engines_tensor_ir", "ops", "cnn", "adv", "ext"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/libcudnn_%s.so.9", dir, parts[i]) >= (int)sizeof path) return;
    if (access(path, R_OK) == 0) dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  }
}

/* The directory of the shared object that defines `sym` (NULL when unknown); static storage. */
static const char *dir_of(void *lib, const char *sym) {
  static char dir[4096];
  Dl_info info;
  void *p = dlsym(lib, sym);
  if (!p || !dladdr(p, &info) || !info.dli_fname) return NULL;
  snprintf(dir, sizeof dir, "%s", info.dli_fname);
  char *slash = strrchr(dir, '/');
  if (!slash) return NULL;
  *slash = '\0';
  return dir;
}

static void load_cudnn(void) {
  const char *env = getenv("CTORCH_CUDNN");
  void *lib = NULL;
  if (env && !strcmp(env, "none")) { /* turned off: the core composes convolutions of other ops */
    snprintf(load_error, sizeof load_error, "cuDNN is turned off (CTORCH_CUDNN=none)");
    return;
  }
  if (env && *env) { /* a given path: its directory's parts first */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", env);
    char *slash = strrchr(dir, '/');
    if (slash) {
      *slash = '\0';
      preload_parts(dir);
    }
    lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
  }
  for (int i = 0; i < 2 && !lib; i++) { /* the loader's search: then the parts beside the one found */
    lib = dlopen(i ? "libcudnn.so" : "libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    const char *dir = lib ? dir_of(lib, "cudnnGetVersion") : NULL;
    if (dir) preload_parts(dir);
  }
  if (!lib) {
    snprintf(load_error, sizeof load_error,
             "convolution on CUDA needs cuDNN 9, which was not found (%s); install it or set CTORCH_CUDNN to the path "
             "of libcudnn.so.9", dlerror());
    return;
  }
  struct {
    void **slot;
    const char *name;
  } syms[] = {
#define SYM(field, name) {(void **)&dnn.field, name}
      SYM(error_string, "cudnnGetErrorString"),
      SYM(get_version, "cudnnGetVersion"),
      SYM(create, "cudnnCreate"),
      SYM(set_stream, "cudnnSetStream"),
      SYM(create_tensor, "cudnnCreateTensorDescriptor"),
      SYM(set_tensor4d, "cudnnSetTensor4dDescriptor"),
      SYM(destroy_tensor, "cudnnDestroyTensorDescriptor"),
      SYM(create_filter, "cudnnCreateFilterDescriptor"),
      SYM(set_filter4d, "cudnnSetFilter4dDescriptor"),
      SYM(destroy_filter, "cudnnDestroyFilterDescriptor"),
      SYM(create_conv, "cudnnCreateConvolutionDescriptor"),
      SYM(set_conv2d, "cudnnSetConvolution2dDescriptor"),
      SYM(set_group_count, "cudnnSetConvolutionGroupCount"),
      SYM(set_math_type, "cudnnSetConvolutionMathType"),
      SYM(destroy_conv, "cudnnDestroyConvolutionDescriptor"),
      SYM(add_tensor, "cudnnAddTensor"),
      SYM(get_fwd, "cudnnGetConvolutionForwardAlgorithm_v7"),
      SYM(find_fwd, "cudnnFindConvolutionForwardAlgorithm"),
      SYM(get_bwd_data, "cudnnGetConvolutionBackwardDataAlgorithm_v7"),
      SYM(find_bwd_data, "cudnnFindConvolutionBackwardDataAlgorithm"),
      SYM(get_bwd_filter, "cudnnGetConvolutionBackwardFilterAlgorithm_v7"),
      SYM(find_bwd_filter, "cudnnFindConvolutionBackwardFilterAlgorithm"),
      SYM(ws_fwd, "cudnnGetConvolutionForwardWorkspaceSize"),
      SYM(ws_bwd_data, "cudnnGetConvolutionBackwardDataWorkspaceSize"),
      SYM(ws_bwd_filter, "cudnnGetConvolutionBackwardFilterWorkspaceSize"),
      SYM(run_fwd, "cudnnConvolutionForward"),
      SYM(run_bwd_data, "cudnnConvolutionBackwardData"),
      SYM(run_bwd_filter, "cudnnConvolutionBackwardFilter"),
#undef SYM
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
    if (!(*syms[i].slot = dlsym(lib, syms[i].name))) {
      snprintf(load_error, sizeof load_error, "cuDNN was loaded but lacks %s (cuDNN 9 is needed)", syms[i].name);
      dlclose(lib);
      return;
    }
  }
  size_t v = dnn.get_version();
  if (v < 90000) {
    snprintf(load_error, sizeof load_error, "cuDNN %zu.%zu was loaded but cuDNN 9 is needed", v / 10000,
             (v / 100) % 100);
    dlclose(lib);
    return;
  }
  loaded = true; /* the library stays loaded for the life of the process */
}

static tc_status dnn_fail(dnn_status s, const char *what, int index) {
  /* 4003 and 4004: host and device allocations failed */
  bool nomem = s == 4003 || s == 4004;
  return tc__cuda_set_error(nomem ? TC_ERR_NOMEM : TC_ERR_CUDA,
                            "cuda:%d: cuDNN %s failed: %s", index, what, dnn.error_string(s));
}

/* ---- handles ------------------------------------------------------------------------------------------- */
static dnn_handle handles[TC__CUDA_MAX_DEVICES];
/* One lock for the handles and the plan cache; a cuDNN handle is not safe for concurrent use, so
 * calls on it also happen under the lock (they only enqueue work). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The device's handle, bound to the calling thread's current stream; NULL with an error set. Call
 * with the lock held. */
static dnn_handle handle_for(int index) {
  cudaStream_t s = tc__cuda_stream(index);
  if (!s) return NULL;
  if (!handles[index]) {
    dnn_status st = dnn.create(&handles[index]);
    if (st != DNN_SUCCESS) {
      handles[index] = NULL;
      dnn_fail(st, "creating a handle", index);
      return NULL;
    }
  }
  dnn_status st = dnn.set_stream(handles[index], s);
  if (st != DNN_SUCCESS) {
    dnn_fail(st, "binding the handle to the stream", index);
    return NULL;
  }
  return handles[index];
}

/* ---- plans: descriptors and chosen algorithms per shape -------------------------------------------------- */
typedef struct plan {
  struct plan *next;
  int index;
  tc_dtype dt;
  tc__conv_desc d;
  dnn_tensor_desc x, y, bias;
  dnn_filter_desc w;
  dnn_conv_desc conv;
  int algo[DIR_COUNT];  /* -1: not chosen yet */
  int math[DIR_COUNT];  /* the math type the algorithm was chosen with */
  size_t ws[DIR_COUNT]; /* its workspace */
} plan;

static plan *plans;

static bool same_key(const plan *p, int index, tc_dtype dt, const tc__conv_desc *d) {
  return p->index == index && p->dt == dt && memcmp(&p->d, d, sizeof *d) == 0;
}

static int dnn_dtype(tc_dtype dt) {
  switch (dt) {
    case TC_F32: return DNN_DATA_FLOAT;
    case TC_F64: return DNN_DATA_DOUBLE;
    case TC_F16: return DNN_DATA_HALF;
    default: return DNN_DATA_BFLOAT16;
  }
}

/* The math type cuDNN may use: half types on tensor cores; float32 with TF32 only when allowed
 * (CUDNN_FMA_MATH keeps it to FP32 FMAs); float64 as it is. */
static int base_math(tc_dtype dt, bool tf32) {
  if (dt == TC_F16 || dt == TC_BF16) return DNN_TENSOR_OP_MATH;
  if (dt == TC_F32) return tf32 ? DNN_DEFAULT_MATH : DNN_FMA_MATH;
  return DNN_DEFAULT_MATH;
}

static void plan_destroy(plan *p) {
  if (p->x) dnn.destroy_tensor(p->x);
  if (p->y) dnn.destroy_tensor(p->y);
  if (p->bias) dnn.destroy_tensor(p->bias);
  if (p->w) dnn.destroy_filter(p->w);
  if (p->conv) dnn.destroy_conv(p->conv);
  free(p);
}

static bool fits_int(const tc__conv_desc *d) {
  const int64_t v[] = {d->N, d->C, d->H, d->W, d->OC, d->G, d->KH, d->KW, d->OH, d->OW,
                       d->sh, d->sw, d->dh, d->dw, d->ph, d->pw};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i] > INT32_MAX) return false;
  /* cuDNN indexes tensors with 32-bit offsets */
  return d->N * d->C * d->H * d->W < INT32_MAX && d->N * d->OC * d->OH * d->OW < INT32_MAX;
}

/* The plan for (index, dt, d), created on first use. Call with the lock held. */
static plan *plan_for(int index, tc_dtype dt, const tc__conv_desc *d) {
  for (plan *p = plans; p; p = p->next)
    if (same_key(p, index, dt, d)) return p;
  if (!fits_int(d)) {
    tc__cuda_set_error(TC_ERR_UNSUPPORTED,
                       "cuda conv2d: input (%lld, %lld, %lld, %lld) is too large for cuDNN's 32-bit indexing",
                       (long long)d->N, (long long)d->C, (long long)d->H, (long long)d->W);
    return NULL;
  }
  plan *p = calloc(1, sizeof *p);
  if (!p) {
    tc__cuda_set_error(TC_ERR_NOMEM, "cuda conv2d: out of host memory");
    return NULL;
  }
  p->index = index;
  p->dt = dt;
  p->d = *d;
  for (int i = 0; i < DIR_COUNT; i++) p->algo[i] = -1;
  int t = dnn_dtype(dt);
  dnn_status st;
  const char *what = "creating descriptors";
  if ((st = dnn.create_tensor(&p->x)) || (st = dnn.create_tensor(&p->y)) || (st = dnn.create_tensor(&p->bias)) ||
      (st = dnn.create_filter(&p->w)) || (st = dnn.create_conv(&p->conv)))
    goto fail;
  what = "describing the convolution";
  if ((st = dnn.set_tensor4d(p->x, DNN_NCHW, t, (int)d->N, (int)d->C, (int)d->H, (int)d->W)) ||
      (st = dnn.set_tensor4d(p->y, DNN_NCHW, t, (int)d->N, (int)d->OC, (int)d->OH, (int)d->OW)) ||
      (st = dnn.set_tensor4d(p->bias, DNN_NCHW, t, 1, (int)d->OC, 1, 1)) ||
      (st = dnn.set_filter4d(p->w, t, DNN_NCHW, (int)d->OC, (int)(d->C / d->G), (int)d->KH, (int)d->KW)) ||
      (st = dnn.set_conv2d(p->conv, (int)d->ph, (int)d->pw, (int)d->sh, (int)d->sw, (int)d->dh, (int)d->dw,
                           DNN_CROSS_CORRELATION, dt == TC_F64 ? DNN_DATA_DOUBLE : DNN_DATA_FLOAT)) ||
      (st = dnn.set_group_count(p->conv, (int)d->G)))
    goto fail;
  p->next = plans;
  plans = p;
  return p;
fail:
  dnn_fail(st, what, index);
  plan_destroy(p);
  return NULL;
}

/* Candidates for one direction, best first (heuristics or measured). */
static dnn_status candidates(dnn_handle h, plan *p, conv_dir dir, bool measure, dnn_algo_perf *perf, int *n) {
  *n = 0;
  switch (dir) {
    case DIR_FWD:
      return (measure ? dnn.find_fwd : dnn.get_fwd)(h, p->x, p->w, p->conv, p->y, DNN_MAX_ALGOS, n, perf);
    case DIR_BWD_DATA:
      return (measure ? dnn.find_bwd_data : dnn.get_bwd_data)(h, p->w, p->y, p->conv, p->x, DNN_MAX_ALGOS, n, perf);
    default:
      return (measure ? dnn.find_bwd_filter : dnn.get_bwd_filter)(h, p->x, p->y, p->conv, p->w, DNN_MAX_ALGOS, n,
                                                                  perf);
  }
}

static dnn_status workspace_size(dnn_handle h, plan *p, conv_dir dir, int algo, size_t *ws) {
  switch (dir) {
    case DIR_FWD: return dnn.ws_fwd(h, p->x, p->w, p->conv, p->y, algo, ws);
    case DIR_BWD_DATA: return dnn.ws_bwd_data(h, p->w, p->y, p->conv, p->x, algo, ws);
    default: return dnn.ws_bwd_filter(h, p->x, p->y, p->conv, p->w, algo, ws);
  }
}

static const char *dir_name[DIR_COUNT] = {"forward", "backward data", "backward filter"};

/* Chooses the direction's algorithm once: the first deterministic candidate that ran (or would
 * run) and keeps to the allowed math (no TF32 for float32 unless allowed). */
static tc_status choose(dnn_handle h, plan *p, conv_dir dir) {
  if (p->algo[dir] >= 0) return TC_OK;
  const int math = base_math(p->dt, p->d.allow_tf32);
  dnn_status st = dnn.set_math_type(p->conv, math);
  if (st != DNN_SUCCESS) return dnn_fail(st, "setting the math type", p->index);
  dnn_algo_perf perf[DNN_MAX_ALGOS];
  int n = 0;
  if ((st = candidates(h, p, dir, p->d.benchmark, perf, &n)) != DNN_SUCCESS)
    return dnn_fail(st, p->d.benchmark ? "timing algorithms" : "choosing an algorithm", p->index);
  for (int i = 0; i < n; i++) {
    const dnn_algo_perf *c = &perf[i];
    if (c->status != DNN_SUCCESS || c->determinism != DNN_DETERMINISTIC) continue;
    bool tensor_op = c->math_type == DNN_TENSOR_OP_MATH || c->math_type == DNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (p->dt == TC_F32 && tensor_op && !p->d.allow_tf32) continue;
    /* A float32 candidate needing tensor-op conversion (to half) would change the results. */
    if (p->dt != TC_F16 && p->dt != TC_BF16 && c->math_type == DNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    int m = (p->dt == TC_F32 && !p->d.allow_tf32) ? math : c->math_type;
    if (dnn.set_math_type(p->conv, m) != DNN_SUCCESS) continue;
    size_t ws = 0;
    if (workspace_size(h, p, dir, c->algo, &ws) != DNN_SUCCESS) continue;
    p->algo[dir] = c->algo;
    p->math[dir] = m;
    p->ws[dir] = ws;
    return TC_OK;
  }
  return tc__cuda_set_error(TC_ERR_UNSUPPORTED,
                            "cuda:%d: cuDNN has no deterministic %s algorithm for this convolution (input %lld x %lld x "
                            "%lld x %lld, weight %lld x %lld x %lld x %lld, groups %lld)",
                            p->index, dir_name[dir], (long long)p->d.N, (long long)p->d.C, (long long)p->d.H,
                            (long long)p->d.W, (long long)p->d.OC, (long long)(p->d.C / p->d.G), (long long)p->d.KH,
                            (long long)p->d.KW, (long long)p->d.G);
}

bool tc__cuda_conv_available(void) {
  pthread_once(&load_once, load_cudnn);
  return loaded;
}

/* ---- running a direction ------------------------------------------------------------------------------- */
typedef struct {
  const void *a, *b; /* operands in cuDNN's order for the direction */
  void *out;
  const void *bias; /* forward only */
} conv_args;

static tc_status run(int index, tc_dtype dt, const tc__conv_desc *d, conv_dir dir, const conv_args *a) {
  pthread_once(&load_once, load_cudnn);
  if (!loaded) return tc__cuda_set_error(TC_ERR_UNSUPPORTED, "%s", load_error);
  if (d->N == 0 || d->OC == 0 || d->C == 0) return TC_OK; /* the core handles empty shapes */
  pthread_mutex_lock(&lock);
  tc_status s = TC_OK;
  dnn_handle h = handle_for(index);
  plan *p = h ? plan_for(index, dt, d) : NULL;
  if (!p || (s = choose(h, p, dir)) != TC_OK) {
    pthread_mutex_unlock(&lock);
    return p ? s : (h ? TC_ERR_NOMEM : TC_ERR_CUDA);
  }
  void *ws = NULL;
  if (p->ws[dir] > 0 && !(ws = tc__cuda_alloc(p->ws[dir], index))) {
    pthread_mutex_unlock(&lock);
    return TC_ERR_NOMEM;
  }
  float f1 = 1.0f, f0 = 0.0f;
  double d1 = 1.0, d0 = 0.0;
  const void *one = dt == TC_F64 ? (const void *)&d1 : (const void *)&f1;
  const void *zero = dt == TC_F64 ? (const void *)&d0 : (const void *)&f0;
  dnn_status st = dnn.set_math_type(p->conv, p->math[dir]);
  if (st == DNN_SUCCESS) {
    switch (dir) {
      case DIR_FWD:
        st = dnn.run_fwd(h, one, p->x, a->a, p->w, a->b, p->conv, p->algo[dir], ws, p->ws[dir], zero, p->y, a->out);
        if (st == DNN_SUCCESS && a->bias) st = dnn.add_tensor(h, one, p->bias, a->bias, one, p->y, a->out);
        break;
      case DIR_BWD_DATA:
        st = dnn.run_bwd_data(h, one, p->w, a->b, p->y, a->a, p->conv, p->algo[dir], ws, p->ws[dir], zero, p->x,
                              a->out);
        break;
      default:
        st = dnn.run_bwd_filter(h, one, p->x, a->b, p->y, a->a, p->conv, p->algo[dir], ws, p->ws[dir], zero, p->w,
                                a->out);
        break;
    }
  }
  tc__cuda_free(ws, index); /* stream-ordered: reused only by work queued after this call */
  pthread_mutex_unlock(&lock);
  if (st != DNN_SUCCESS) {
    char what[64];
    snprintf(what, sizeof what, "convolution %s", dir_name[dir]);
    return dnn_fail(st, what, index);
  }
  return TC_OK;
}

tc_status tc__cuda_conv_fwd(int index, tc_dtype dt, const tc__conv_desc *d, const void *x, const void *w,
                            const void *b, void *y) {
  conv_args a = {.a = x, .b = w, .out = y, .bias = b};
  return run(index, dt, d, DIR_FWD, &a);
}

tc_status tc__cuda_conv_bwd_data(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *w,
                                 void *gx) {
  conv_args a = {.a = gy, .b = w, .out = gx};
  return run(index, dt, d, DIR_BWD_DATA, &a);
}

tc_status tc__cuda_conv_bwd_filter(int index, tc_dtype dt, const tc__conv_desc *d, const void *gy, const void *x,
                                   void *gw) {
  conv_args a = {.a = gy, .b = x, .out = gw};
  return run(index, dt, d, DIR_BWD_FILTER, &a);
}
