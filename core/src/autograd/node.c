/* core/src/autograd/node.c — graph nodes, per-tensor autograd state, grad mode, hooks. */
#include "autograd_internal.h"

/* ---- grad mode ------------------------------------------------------------------------------- */
static _Thread_local int no_grad_depth;
static _Thread_local bool grad_disabled; /* tc_set_grad_enabled(false) */

void tc_no_grad_push(void) { no_grad_depth++; }
void tc_no_grad_pop(void) {
  if (no_grad_depth > 0) no_grad_depth--;
}
bool tc_is_grad_enabled(void) { return no_grad_depth == 0 && !grad_disabled; }
void tc_set_grad_enabled(bool enabled) { grad_disabled = !enabled; }

/* ---- tensor state ----------------------------------------------------------------------------- */
static tc__autograd_meta *meta_of(const tc_tensor *t) { return tc__meta(t); }

static tc__autograd_meta *meta_new(void) {
  tc__autograd_meta *m = tc__calloc(sizeof *m);
  if (m) atomic_init(&m->refcount, 1);
  return m;
}

static tc__autograd_meta *meta_get(tc_tensor *t) {
  if (t->autograd) return t->autograd;
  tc__storage *s = t->storage;
  if (t->is_root && s->root_meta) { /* views already made the root's state: share it */
    tc__autograd_meta *m = s->root_meta;
    atomic_fetch_add(&m->refcount, 1);
    t->autograd = m;
    return m;
  }
  tc__autograd_meta *m = meta_new();
  if (!m) return NULL;
  if (t->is_root) { /* weak: the storage must not keep the root's history (and its saved views) alive */
    s->root_meta = m;
    s->root_meta_owned = false;
    m->root_of = s;
  }
  t->autograd = m;
  return m;
}

tc__autograd_meta *tc__root_meta(tc_tensor *t) {
  tc__storage *s = t->storage;
  if (!s->root_meta) { /* the root has no state (or is gone): the storage owns a fresh one */
    tc__autograd_meta *m = meta_new();
    if (!m) return NULL;
    s->root_meta = m;
    s->root_meta_owned = true;
    m->root_of = s;
  }
  return s->root_meta;
}

bool tc__requires_grad(const tc_tensor *t) {
  if (t && t->is_view) tc__view_refresh(t);
  const tc__autograd_meta *m = t ? meta_of(t) : NULL;
  return m && (m->requires_grad || m->grad_fn);
}

bool tc__grad_needed(int n, const tc_tensor *const *inputs) {
  if (!tc_is_grad_enabled()) return false;
  for (int i = 0; i < n; i++)
    if (inputs[i] && tc__requires_grad(inputs[i])) return true;
  return false;
}

static uint64_t next_seq(void) {
  static atomic_ullong seq;
  return atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed);
}

/* ---- nodes ------------------------------------------------------------------------------------- */
static tc__node *node_alloc(const char *name, tc__backward_fn fn, int n_inputs, size_t ctx_size) {
  tc__node *n = tc__calloc(sizeof *n);
  if (!n) return NULL;
  atomic_init(&n->refcount, 1);
  n->name = name;
  n->backward = fn;
  n->seq = next_seq();
  n->n_inputs = n_inputs;
  if (n_inputs) {
    n->next = tc__calloc(sizeof(tc__edge) * (size_t)n_inputs);
    if (!n->next) {
      tc__free(n);
      return NULL;
    }
  }
  if (ctx_size) {
    n->ctx = tc__calloc(ctx_size);
    if (!n->ctx) {
      tc__free(n->next);
      tc__free(n);
      return NULL;
    }
  }
  return n;
}

static void node_free_saved(tc__node *n) {
  for (int i = 0; i < n->n_saved; i++) tc_tensor_release(n->saved[i].t);
  tc__free(n->saved);
  n->saved = NULL;
  n->n_saved = n->cap_saved = 0;
}

void tc__node_unref(tc__node *n) {
  /* iterative: long chains (thousands of nodes) must not overflow the stack */
  tc__node *stack_buf[64];
  tc__node **stack = stack_buf;
  int64_t top = 0, cap = 64;
  if (!n) return;
  stack[top++] = n;
  while (top > 0) {
    tc__node *x = stack[--top];
    if (atomic_fetch_sub_explicit(&x->refcount, 1, memory_order_acq_rel) != 1) continue;
    for (int i = 0; i < x->n_inputs; i++) {
      tc__node *nx = x->next[i].node;
      if (!nx) continue;
      if (top == cap) {
        tc__node **bigger = tc__malloc(sizeof(tc__node *) * (size_t)cap * 2);
        if (!bigger) { /* cannot grow: release recursively (rare) */
          tc__node_unref(nx);
          continue;
        }
        memcpy(bigger, stack, sizeof(tc__node *) * (size_t)top);
        if (stack != stack_buf) tc__free(stack);
        stack = bigger;
        cap *= 2;
      }
      stack[top++] = nx;
    }
    node_free_saved(x);
    if (x->destroy_ctx && x->ctx) x->destroy_ctx(x->ctx);
    if (x->leaf) {
      tc__autograd_meta *m = meta_of(x->leaf);
      if (m && m->grad_acc == x) m->grad_acc = NULL;
      tc_tensor_release(x->leaf);
    }
    tc__free(x->ctx);
    tc__free(x->next);
    tc__free(x->out_meta);
    tc__free(x->hooks);
    tc__free(x->hook_slot);
    tc__free(x);
  }
  if (stack != stack_buf) tc__free(stack);
}

static tc_status accumulate_backward(tc__node *n, tc_tensor *const *g, tc_tensor **gi) {
  (void)n;
  (void)g;
  (void)gi;
  return TC_OK; /* the engine accumulates into the leaf itself */
}

/* The leaf's AccumulateGrad node (a new reference), created on first use. */
static tc__node *grad_accumulator(tc_tensor *leaf) {
  tc__autograd_meta *m = meta_get(leaf);
  if (!m) return NULL;
  if (m->grad_acc) {
    atomic_fetch_add(&m->grad_acc->refcount, 1);
    return m->grad_acc;
  }
  tc__node *n = node_alloc("AccumulateGrad", accumulate_backward, 0, 0);
  if (!n) return NULL;
  n->leaf = tc_tensor_retain(leaf);
  n->n_outputs = 1;
  n->out_meta = tc__calloc(sizeof(tc__tensor_meta));
  if (!n->out_meta) {
    tc__node_unref(n);
    return NULL;
  }
  memcpy(n->out_meta->sizes, leaf->sizes, sizeof(leaf->sizes));
  n->out_meta->ndim = leaf->ndim;
  n->out_meta->dtype = leaf->dtype;
  n->out_meta->device = leaf->storage->device;
  m->grad_acc = n;
  return n;
}

tc__node *tc__node_new(const char *name, tc__backward_fn fn, int n_inputs, const tc_tensor *const *inputs,
                       size_t ctx_size) {
  tc__node *n = node_alloc(name, fn, n_inputs, ctx_size);
  if (!n) return NULL;
  for (int i = 0; i < n_inputs; i++) {
    const tc_tensor *t = inputs[i];
    if (t && t->is_view) tc__view_refresh(t);
    tc__autograd_meta *m = t ? meta_of(t) : NULL;
    if (!m) continue;
    if (m->grad_fn) {
      atomic_fetch_add(&m->grad_fn->refcount, 1);
      n->next[i].node = m->grad_fn;
      n->next[i].input_nr = m->output_nr;
    } else if (m->requires_grad) {
      n->next[i].node = grad_accumulator((tc_tensor *)t);
      if (!n->next[i].node) {
        tc__node_unref(n);
        return NULL;
      }
    }
  }
  return n;
}

tc_status tc__node_save(tc__node *n, const tc_tensor *t) {
  if (n->n_saved == n->cap_saved) {
    int cap = n->cap_saved ? n->cap_saved * 2 : 4;
    tc__saved *s = tc__realloc(n->saved, sizeof(tc__saved) * (size_t)cap);
    if (!s) return TC_ERR_NOMEM;
    n->saved = s;
    n->cap_saved = cap;
  }
  tc_tensor *v = NULL;
  if (t) {
    v = tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
    if (!v) return tc_last_status();
    tc_scope_keep(v);
  }
  n->saved[n->n_saved].t = v;
  n->saved[n->n_saved].version = t ? atomic_load(&t->storage->version) : 0;
  n->n_saved++;
  return TC_OK;
}

const tc_tensor *tc__node_saved(tc__node *n, int i) {
  if (n->released) {
    tc__error(TC_ERR_STATE,
              "%s: trying to backward through the graph a second time (or to use its saved tensors after they were "
              "freed); pass retain_graph=true to the first backward",
              n->name);
    return NULL;
  }
  TC_ASSERT(i >= 0 && i < n->n_saved);
  const tc__saved *s = &n->saved[i];
  if (s->t && atomic_load(&s->t->storage->version) != s->version) {
    tc__error(TC_ERR_STATE,
              "%s: one of the tensors needed for gradient computation has been modified by an in-place operation: "
              "saved tensor %d of shape %s is at version %lu; expected version %lu",
              n->name, i, tc__tshape(s->t), (unsigned long)atomic_load(&s->t->storage->version),
              (unsigned long)s->version);
    return NULL;
  }
  return s->t;
}

tc_status tc__node_set_outputs(tc__node *n, tc_tensor *const *outs, int n_out) {
  n->out_meta = tc__calloc(sizeof(tc__tensor_meta) * (size_t)(n_out ? n_out : 1));
  if (!n->out_meta) return TC_ERR_NOMEM;
  n->n_outputs = n_out;
  for (int i = 0; i < n_out; i++) {
    tc_tensor *o = outs[i];
    tc__tensor_meta *om = &n->out_meta[i];
    memcpy(om->sizes, o->sizes, sizeof(o->sizes));
    om->ndim = o->ndim;
    om->dtype = o->dtype;
    om->device = o->storage->device;
    tc__autograd_meta *m = meta_get(o);
    if (!m) return TC_ERR_NOMEM;
    if (m->grad_fn) tc__node_unref(m->grad_fn); /* in-place: history rewritten */
    atomic_fetch_add(&n->refcount, 1);
    m->grad_fn = n;
    m->output_nr = i;
  }
  return TC_OK;
}

tc_status tc__node_set_output(tc__node *n, tc_tensor *out) { return tc__node_set_outputs(n, &out, 1); }

tc_tensor *tc__record(tc_tensor *out, const char *name, tc__backward_fn fn, int n, const tc_tensor *const *inputs,
                      int n_save, const tc_tensor *const *save, const void *ctx, size_t ctx_size) {
  if (!out || !tc__grad_needed(n, inputs)) return out;
  tc__node *node = tc__node_new(name, fn, n, inputs, ctx_size);
  tc_status s = node ? TC_OK : tc_last_status();
  if (!s && ctx_size) memcpy(node->ctx, ctx, ctx_size);
  for (int i = 0; !s && i < n_save; i++) s = tc__node_save(node, save[i]);
  if (!s) s = tc__node_set_output(node, out);
  tc__node_unref(node);
  if (s) {
    tc_tensor_release(out);
    return NULL;
  }
  return out;
}

/* Called by tc_tensor_release when the last reference to a tensor with autograd state goes. */
void tc__autograd_meta_unref(void *p) {
  tc__autograd_meta *m = p;
  if (!m || atomic_fetch_sub_explicit(&m->refcount, 1, memory_order_acq_rel) != 1) return;
  if (m->root_of && m->root_of->root_meta == m) m->root_of->root_meta = NULL;
  tc_tensor_release(m->grad);
  if (m->grad_fn) tc__node_unref(m->grad_fn);
  tc__free(m->hooks);
  tc__free(m);
}

void tc__autograd_free(tc_tensor *t) {
  tc__autograd_meta *m = meta_of(t);
  t->autograd = NULL;
  tc__autograd_meta_unref(m);
}

/* ---- public flags ------------------------------------------------------------------------------ */
tc_status tc_tensor_requires_grad_(tc_tensor *t, bool requires_grad) {
  const char *fn = "tc_tensor_requires_grad_";
  TC__NONNULL_S(t, fn);
  tc__autograd_meta *m = meta_of(t);
  if (m && m->grad_fn) {
    if (requires_grad) return TC_OK;
    return tc__error(TC_ERR_STATE,
                     "%s: you can only change requires_grad flags of leaf variables; use tc_detach for a non-leaf (%s)",
                     fn, m->grad_fn->name);
  }
  if (requires_grad && !tc_dtype_is_floating(t->dtype) && t->dtype != TC_C64)
    return tc__error(TC_ERR_DTYPE, "%s: only tensors of floating point and complex dtype can require gradients (got %s)",
                     fn, tc_dtype_name(t->dtype));
  if (!m && !requires_grad) return TC_OK;
  m = meta_get(t);
  if (!m) return TC_ERR_NOMEM;
  m->requires_grad = requires_grad;
  return TC_OK;
}

bool tc_tensor_requires_grad(const tc_tensor *t) { return tc__requires_grad(t); }

bool tc_tensor_is_leaf(const tc_tensor *t) {
  const tc__autograd_meta *m = t ? meta_of(t) : NULL;
  return !m || !m->grad_fn;
}

tc_tensor *tc_tensor_grad(const tc_tensor *t) {
  const tc__autograd_meta *m = t ? meta_of(t) : NULL;
  if (!m || !m->grad) return NULL;
  /* a view sharing the gradient's storage: a distinct struct, so a scope never holds one pointer twice */
  return tc__view(m->grad, m->grad->sizes, m->grad->strides, m->grad->ndim, m->grad->offset);
}

tc_status tc_tensor_set_grad(tc_tensor *t, const tc_tensor *grad) {
  const char *fn = "tc_tensor_set_grad";
  TC__NONNULL_S(t, fn);
  if (grad && (grad->ndim != t->ndim || memcmp(grad->sizes, t->sizes, sizeof(int64_t) * (size_t)t->ndim)))
    return tc__error(TC_ERR_SHAPE, "%s: grad of shape %s does not match tensor of shape %s", fn, tc__tshape(grad),
                     tc__tshape(t));
  if (grad && grad->dtype != t->dtype)
    return tc__error(TC_ERR_DTYPE, "%s: grad dtype %s does not match tensor dtype %s", fn, tc_dtype_name(grad->dtype),
                     tc_dtype_name(t->dtype));
  if (grad && tc__check_same_device(fn, t, grad)) return tc_last_status();
  tc__autograd_meta *m = meta_get(t);
  if (!m) return TC_ERR_NOMEM;
  tc_tensor *old = m->grad;
  m->grad = grad ? tc_tensor_retain((tc_tensor *)grad) : NULL;
  tc_tensor_release(old);
  return TC_OK;
}

const char *tc_tensor_grad_fn_name(const tc_tensor *t) {
  const tc__autograd_meta *m = t ? meta_of(t) : NULL;
  return m && m->grad_fn ? m->grad_fn->name : NULL;
}

/* ---- hooks --------------------------------------------------------------------------------------- */
static int64_t next_handle(void) {
  static atomic_llong h;
  return atomic_fetch_add(&h, 1) + 1;
}

int64_t tc_tensor_register_hook(tc_tensor *t, tc_grad_hook hook, void *user) {
  const char *fn = "tc_tensor_register_hook";
  if (!t || !hook) {
    tc__error(TC_ERR_ARG, "%s: tensor and hook must not be NULL", fn);
    return 0;
  }
  if (!tc__requires_grad(t)) {
    tc__error(TC_ERR_STATE, "%s: cannot register a hook on a tensor that doesn't require gradient", fn);
    return 0;
  }
  tc__autograd_meta *m = meta_of(t);
  int64_t h = next_handle();
  if (m->grad_fn) { /* non-leaf: the hook lives on the grad_fn for this output slot */
    tc__node *n = m->grad_fn;
    tc__hook *hs = tc__realloc(n->hooks, sizeof(tc__hook) * (size_t)(n->n_hooks + 1));
    if (!hs) return 0;
    n->hooks = hs;
    int *slots = tc__realloc(n->hook_slot, sizeof(int) * (size_t)(n->n_hooks + 1));
    if (!slots) return 0;
    n->hook_slot = slots;
    n->hooks[n->n_hooks] = (tc__hook){hook, user, h};
    n->hook_slot[n->n_hooks] = m->output_nr;
    n->n_hooks++;
  } else {
    tc__hook *hs = tc__realloc(m->hooks, sizeof(tc__hook) * (size_t)(m->n_hooks + 1));
    if (!hs) return 0;
    m->hooks = hs;
    m->hooks[m->n_hooks++] = (tc__hook){hook, user, h};
  }
  return h;
}

static bool remove_from(tc__hook *hs, int *slots, int *n, int64_t handle) {
  for (int i = 0; i < *n; i++) {
    if (hs[i].handle != handle) continue;
    memmove(&hs[i], &hs[i + 1], sizeof(tc__hook) * (size_t)(*n - i - 1));
    if (slots) memmove(&slots[i], &slots[i + 1], sizeof(int) * (size_t)(*n - i - 1));
    (*n)--;
    return true;
  }
  return false;
}

tc_status tc_tensor_remove_hook(tc_tensor *t, int64_t handle) {
  TC__NONNULL_S(t, "tc_tensor_remove_hook");
  tc__autograd_meta *m = meta_of(t);
  if (m && m->grad_fn && remove_from(m->grad_fn->hooks, m->grad_fn->hook_slot, &m->grad_fn->n_hooks, handle))
    return TC_OK;
  if (m && remove_from(m->hooks, NULL, &m->n_hooks, handle)) return TC_OK;
  return tc__error(TC_ERR_ARG, "tc_tensor_remove_hook: no hook with handle %lld on this tensor", (long long)handle);
}

tc_status tc__check_inplace(const char *fn, const tc_tensor *self) {
  if (!tc_is_grad_enabled()) return TC_OK;
  const tc__autograd_meta *m = meta_of(self);
  if (m && m->requires_grad && !m->grad_fn)
    return tc__error(TC_ERR_STATE, "%s: a leaf tensor that requires grad is being used in an in-place operation", fn);
  const tc__autograd_meta *bm = self->is_view ? self->storage->root_meta : NULL;
  if (bm && bm->requires_grad && !bm->grad_fn)
    return tc__error(TC_ERR_STATE,
                     "%s: a view of a leaf tensor that requires grad is being used in an in-place operation", fn);
  return TC_OK;
}

tc_status tc__set_history(tc_tensor *t, tc__node *node, int output_nr) {
  tc__autograd_meta *m = meta_get(t);
  if (!m) return TC_ERR_NOMEM;
  atomic_fetch_add(&node->refcount, 1);
  if (m->grad_fn) tc__node_unref(m->grad_fn);
  m->grad_fn = node;
  m->output_nr = output_nr;
  return TC_OK;
}

tc_status tc__take_history(tc_tensor *dst, const tc_tensor *src) {
  const tc__autograd_meta *sm = meta_of(src);
  if (!sm || !sm->grad_fn) return TC_OK;
  return tc__inplace_commit(dst, sm->grad_fn, sm->output_nr);
}
