/* core/src/iter.c — strided elementwise iteration over CPU tensors (the CPU kernels' engine).
 *
 * Given nops tensors of one shape (inputs may be broadcast views with stride 0), tc__foreach
 * drops size-1 dims, merges dims that are contiguous for every operand, and calls the kernel's
 * inner loop once per innermost run with per-operand byte strides. Large iterations are split
 * over the thread pool by linear element index; each range starts from its own multi-index.
 */
#include "internal.h"

typedef struct {
  int nops, ndim;
  int64_t sizes[TC_MAX_DIMS];                /* innermost dim last */
  int64_t strides[TC_MAX_DIMS][TC__MAX_OPS]; /* bytes */
  char *base[TC__MAX_OPS];
  tc__loop_fn loop;
  void *ctx;
} iter_plan;

static void run_range(const iter_plan *p, int64_t begin, int64_t end) {
  int nd = p->ndim, nops = p->nops;
  if (nd == 0) { /* a single element */
    char *ptrs[TC__MAX_OPS];
    int64_t zero[TC__MAX_OPS] = {0};
    for (int k = 0; k < nops; k++) ptrs[k] = p->base[k];
    if (begin < end) p->loop(ptrs, zero, 1, p->ctx);
    return;
  }
  int64_t inner = p->sizes[nd - 1];
  int64_t idx[TC_MAX_DIMS];
  /* multi-index of `begin` */
  int64_t rem = begin;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % p->sizes[d];
    rem /= p->sizes[d];
  }
  int64_t inner_strides[TC__MAX_OPS];
  for (int k = 0; k < nops; k++) inner_strides[k] = p->strides[nd - 1][k];
  int64_t pos = begin;
  while (pos < end) {
    char *ptrs[TC__MAX_OPS];
    for (int k = 0; k < nops; k++) {
      char *q = p->base[k];
      for (int d = 0; d < nd; d++) q += idx[d] * p->strides[d][k];
      ptrs[k] = q;
    }
    int64_t n = inner - idx[nd - 1];
    if (n > end - pos) n = end - pos;
    p->loop(ptrs, inner_strides, n, p->ctx);
    pos += n;
    /* advance the multi-index by n */
    idx[nd - 1] += n;
    for (int d = nd - 1; d > 0 && idx[d] >= p->sizes[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

static void range_task(int64_t begin, int64_t end, void *ctx) { run_range(ctx, begin, end); }

void tc__kplan_make(int nops, const tc_tensor *const *ops, tc__kplan *kp) {
  TC_ASSERT(nops >= 1 && nops <= TC__MAX_OPS);
  const tc_tensor *o = ops[0];
  memset(kp, 0, sizeof *kp);
  kp->nops = nops;
  kp->numel = tc__numel(o->sizes, o->ndim);
  for (int k = 0; k < nops; k++) {
    kp->data[k] = tc__ptr(ops[k]);
    kp->dtype[k] = ops[k]->dtype;
  }
  /* collect non-trivial dims, outermost first */
  int nd = 0;
  for (int d = 0; d < o->ndim; d++) {
    if (o->sizes[d] == 1) continue;
    kp->sizes[nd] = o->sizes[d];
    for (int k = 0; k < nops; k++) kp->strides[k][nd] = ops[k]->strides[d];
    nd++;
  }
  /* merge dim d into the previous kept one when every operand steps contiguously across the
   * boundary (the merged dim takes the inner stride) */
  int w = 0;
  for (int d = 0; d < nd; d++) {
    if (w > 0) {
      bool merge = true;
      for (int k = 0; k < nops && merge; k++) merge = kp->strides[k][w - 1] == kp->strides[k][d] * kp->sizes[d];
      if (merge) {
        kp->sizes[w - 1] *= kp->sizes[d];
        for (int k = 0; k < nops; k++) kp->strides[k][w - 1] = kp->strides[k][d];
        continue;
      }
    }
    if (w != d) {
      kp->sizes[w] = kp->sizes[d];
      for (int k = 0; k < nops; k++) kp->strides[k][w] = kp->strides[k][d];
    }
    w++;
  }
  kp->ndim = w;
}

void tc__foreach(int nops, const tc_tensor *const *ops, tc__loop_fn loop, void *ctx, int64_t grain) {
  tc__kplan kp;
  tc__kplan_make(nops, ops, &kp);
  if (kp.numel == 0) return;
  iter_plan p;
  p.nops = nops;
  p.loop = loop;
  p.ctx = ctx;
  p.ndim = kp.ndim;
  for (int k = 0; k < nops; k++) p.base[k] = kp.data[k];
  for (int d = 0; d < kp.ndim; d++) {
    p.sizes[d] = kp.sizes[d];
    for (int k = 0; k < nops; k++) p.strides[d][k] = kp.strides[k][d] * (int64_t)tc_dtype_size(kp.dtype[k]);
  }
  if (grain > 0 && kp.numel > grain && tc__num_threads() > 1 && !tc_in_parallel_region())
    tc_parallel_for(kp.numel, grain, range_task, &p);
  else
    run_range(&p, 0, kp.numel);
}
