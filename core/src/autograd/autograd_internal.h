/* core/src/autograd/autograd_internal.h — the autograd graph as ops see it.
 *
 * Each differentiable op, after computing its output(s), records a node when grad mode is on and
 * an input requires grad:
 *
 *   if (tc__grad_needed(2, inputs)) {
 *     tc__node *n = tc__node_new("MulBackward0", mul_backward, 2, inputs, sizeof(mul_ctx));
 *     if (!n || tc__node_save(n, a) || tc__node_save(n, b) || tc__node_set_output(n, out)) { ... fail }
 *     tc__node_unref(n);                     // the output holds the node now
 *   }
 *
 * A node has one edge per differentiable input (to the input's grad_fn at its output_nr, or to
 * the leaf's AccumulateGrad node; NULL when the input does not require grad), its saved tensors
 * (detached views plus the storage version at save time), per-output metadata (shape, dtype) and
 * an op-specific context block. Backward functions run with grad mode off and compute
 * grad_inputs[i] (a new reference or NULL for "no gradient") for every edge from grad_outputs
 * (never NULL: missing output gradients are materialised as zeros).
 *
 * Ownership: tensors hold a reference to their grad_fn; nodes hold references to the next nodes;
 * an AccumulateGrad node holds its leaf tensor, and the leaf caches the node weakly. Saved
 * tensors are detached views, so saving an op's own output makes no cycle.
 */
#ifndef CTORCH_AUTOGRAD_INTERNAL_H
#define CTORCH_AUTOGRAD_INTERNAL_H

#include "../internal.h"
#include "ctorch/autograd.h"

typedef struct tc__node tc__node;
typedef tc_status (*tc__backward_fn)(tc__node *n, tc_tensor *const *grad_outputs, tc_tensor **grad_inputs);

typedef struct {
  tc__node *node; /* NULL: this input needs no gradient */
  int input_nr;   /* which output slot of `node` the gradient flows into */
} tc__edge;

typedef struct {
  int64_t sizes[TC_MAX_DIMS];
  int ndim;
  tc_dtype dtype;
  tc_device device;
} tc__tensor_meta;

typedef struct {
  tc_grad_hook fn;
  void *user;
  int64_t handle;
} tc__hook;

typedef struct {
  tc_tensor *t;     /* detached view */
  uint64_t version; /* storage version when saved */
} tc__saved;

struct tc__node {
  atomic_long refcount;
  const char *name;
  tc__backward_fn backward;
  void (*destroy_ctx)(void *ctx); /* optional: frees what the context owns */
  uint64_t seq;                   /* creation order: later nodes run first */
  int n_inputs;
  tc__edge *next;
  int n_outputs;
  tc__tensor_meta *out_meta;
  tc__hook *hooks; /* gradient hooks of the outputs (non-leaf tensors), with their output_nr */
  int *hook_slot;
  int n_hooks;
  tc__saved *saved;
  int n_saved, cap_saved;
  bool released;  /* saved tensors freed by a backward without retain_graph */
  tc_tensor *leaf; /* AccumulateGrad: the leaf (strong) */
  void *ctx;      /* op context, ctx_size bytes, zeroed */
};

/* Per-tensor autograd state (tensor->autograd). Refcounted: a root tensor shares it with its
 * storage (storage->root_meta), through which in-place writes into views rewrite its history. */
typedef struct {
  atomic_long refcount;
  tc__storage *root_of; /* the storage whose root_meta points here (cleared when this dies) */
  bool requires_grad;   /* set by the user on a leaf */
  tc_tensor *grad;
  tc__node *grad_fn; /* strong; NULL for leaves */
  int output_nr;
  tc__node *grad_acc; /* weak cache of the leaf's AccumulateGrad */
  tc__hook *hooks;   /* leaf hooks (non-leaf hooks live on the grad_fn node) */
  int n_hooks;
  uint64_t root_seq;  /* views: seq of the root's grad_fn this history was derived from */
} tc__autograd_meta;

/* t's autograd state: its own, or (for a root tensor) the one an in-place write into one of its
 * views created on the storage. NULL when none. */
static inline tc__autograd_meta *tc__meta(const tc_tensor *t) {
  if (t->autograd) return (tc__autograd_meta *)t->autograd;
  return t->is_root ? (tc__autograd_meta *)t->storage->root_meta : NULL;
}

/* A view whose root got a new history since the view's own was recorded (an in-place write
 * through another view or the root itself) gets a fresh AsStrided history (copy_slices.c), as
 * PyTorch regenerates a view's grad_fn. Cheap no-op for non-views. */
void tc__view_refresh(const tc_tensor *t);
/* Records that t's (a view's) history derives from its root's current history. */
void tc__view_mark_fresh(tc_tensor *t);

/* True when grad mode is on and some input requires grad. */
bool tc__grad_needed(int n, const tc_tensor *const *inputs);
bool tc__requires_grad(const tc_tensor *t);

tc__node *tc__node_new(const char *name, tc__backward_fn fn, int n_inputs, const tc_tensor *const *inputs,
                       size_t ctx_size);
void tc__node_unref(tc__node *n);
static inline void *tc__node_ctx(tc__node *n) { return n->ctx; }
/* Saves a tensor (a detached view and its version); retrieve by index in save order. */
tc_status tc__node_save(tc__node *n, const tc_tensor *t);
/* The saved tensor i (borrowed), or NULL with TC_ERR_STATE if it was modified in place or freed. */
const tc_tensor *tc__node_saved(tc__node *n, int i);
/* Makes node output 0 (resp. output_nr) of out; for single- and multi-output ops. */
tc_status tc__node_set_output(tc__node *n, tc_tensor *out);
tc_status tc__node_set_outputs(tc__node *n, tc_tensor *const *outs, int n_out);

/* Records a single-output op in one call: node with n inputs, saved tensors, ctx copied in.
 * Returns out, or releases it and returns NULL on failure. No-op when grad is not needed. */
tc_tensor *tc__record(tc_tensor *out, const char *name, tc__backward_fn fn, int n, const tc_tensor *const *inputs,
                      int n_save, const tc_tensor *const *save, const void *ctx, size_t ctx_size);

/* Helpers for backward functions. */
/* Sums grad over broadcast dims so it has `shape` (the input's shape); new reference. */
tc_tensor *tc__sum_to(const tc_tensor *grad, const int64_t *shape, int ndim);
/* grad converted to dtype (a new reference). */
tc_tensor *tc__grad_as(const tc_tensor *grad, tc_dtype dtype);

/* In-place ops: checks (leaf requiring grad is an error) and history rewrite. */
tc_status tc__check_inplace(const char *fn, const tc_tensor *self);
/* dst takes src's grad_fn and output_nr (an in-place op's result history), via
 * tc__inplace_commit. */
tc_status tc__take_history(tc_tensor *dst, const tc_tensor *src);
/* After an in-place write into self whose new value is output value_nr of `value`: sets self's
 * history, or for a view rewrites its base's history with CopySlices (copy_slices.c). */
tc_status tc__inplace_commit(tc_tensor *self, tc__node *value, int value_nr);
/* Sets t's grad_fn (retained) and output_nr. */
tc_status tc__set_history(tc_tensor *t, tc__node *node, int output_nr);
/* The autograd state of t's storage root, created when missing (NULL on allocation failure). */
tc__autograd_meta *tc__root_meta(tc_tensor *t);

#endif
