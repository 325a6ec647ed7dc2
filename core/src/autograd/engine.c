/* core/src/autograd/engine.c — runs the backward pass.
 *
 * From the root nodes, a depth-first walk finds every reachable node and counts, for each, the
 * edges pointing at it. Nodes then run when all their incoming gradients have arrived (Kahn's
 * algorithm), most recently created first, as PyTorch's engine orders ready nodes. Gradients
 * arriving at the same node slot are summed. AccumulateGrad nodes add into the leaf's .grad (or,
 * for tc_autograd_grad, are captured instead). Without retain_graph each node's saved tensors are
 * freed once it has run, so a second backward through it fails with a clear message.
 */
#include "autograd_internal.h"
#include "../amp/amp_internal.h"

typedef struct {
  tc__node *node;
  tc_tensor **grads; /* one per node output */
  int deps;
} slot;

typedef struct {
  slot *slots;
  int64_t n, cap;
  int64_t *table; /* open addressing: index into slots or -1 */
  int64_t table_cap;
} graph;

static uint64_t hash_ptr(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

static int64_t find(const graph *g, const tc__node *n) {
  uint64_t mask = (uint64_t)g->table_cap - 1;
  for (uint64_t h = hash_ptr(n) & mask;; h = (h + 1) & mask) {
    int64_t i = g->table[h];
    if (i < 0) return -1;
    if (g->slots[i].node == n) return i;
  }
}

static tc_status grow_table(graph *g) {
  int64_t cap = g->table_cap ? g->table_cap * 2 : 64;
  int64_t *t = tc__malloc(sizeof(int64_t) * (size_t)cap);
  if (!t) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < cap; i++) t[i] = -1;
  uint64_t mask = (uint64_t)cap - 1;
  for (int64_t i = 0; i < g->n; i++) {
    uint64_t h = hash_ptr(g->slots[i].node) & mask;
    while (t[h] >= 0) h = (h + 1) & mask;
    t[h] = i;
  }
  tc__free(g->table);
  g->table = t;
  g->table_cap = cap;
  return TC_OK;
}

/* Index of node n, adding it when new (*added set). */
static int64_t intern(graph *g, tc__node *n, bool *added) {
  *added = false;
  if (g->table_cap) {
    int64_t i = find(g, n);
    if (i >= 0) return i;
  }
  if (g->n * 2 >= g->table_cap && grow_table(g)) return -1;
  if (g->n == g->cap) {
    int64_t cap = g->cap ? g->cap * 2 : 32;
    slot *s = tc__realloc(g->slots, sizeof(slot) * (size_t)cap);
    if (!s) return -1;
    g->slots = s;
    g->cap = cap;
  }
  tc_tensor **grads = tc__calloc(sizeof(tc_tensor *) * (size_t)(n->n_outputs ? n->n_outputs : 1));
  if (!grads) return -1;
  int64_t i = g->n++;
  g->slots[i] = (slot){n, grads, 0};
  uint64_t mask = (uint64_t)g->table_cap - 1;
  uint64_t h = hash_ptr(n) & mask;
  while (g->table[h] >= 0) h = (h + 1) & mask;
  g->table[h] = i;
  *added = true;
  return i;
}

static void graph_free(graph *g) {
  for (int64_t i = 0; i < g->n; i++) {
    slot *s = &g->slots[i];
    for (int k = 0; k < (s->node->n_outputs ? s->node->n_outputs : 1); k++) tc_tensor_release(s->grads[k]);
    tc__free(s->grads);
  }
  tc__free(g->slots);
  tc__free(g->table);
}

/* Adds grad into slot i, output k (takes ownership of grad). */
static tc_status accumulate(graph *g, int64_t i, int k, tc_tensor *grad) {
  tc_tensor **dst = &g->slots[i].grads[k];
  if (!*dst) {
    *dst = grad;
    return TC_OK;
  }
  tc_tensor *sum = tc_add(*dst, grad, 1.0);
  tc_tensor_release(grad);
  if (!sum) return tc_last_status();
  tc_tensor_release(*dst);
  *dst = sum;
  return TC_OK;
}

/* Checks a gradient against the metadata of the slot it flows into; converts dtype if needed. */
static tc_status validate(const tc__node *from, int input_index, const tc__tensor_meta *m, tc_tensor **grad) {
  tc_tensor *g = *grad;
  if (g->ndim != m->ndim || memcmp(g->sizes, m->sizes, sizeof(int64_t) * (size_t)m->ndim))
    return tc__error(TC_ERR_STATE, "%s returned an invalid gradient at index %d: got %s but expected shape %s",
                     from ? from->name : "backward", input_index, tc__tshape(g), tc__shape_str(m->sizes, m->ndim));
  if (g->dtype != m->dtype) {
    tc_tensor *c = tc_to_dtype(g, m->dtype);
    if (!c) return tc_last_status();
    tc_tensor_release(g);
    *grad = c;
  }
  return TC_OK;
}

static tc_status run_hooks(const tc__hook *hooks, const int *slots, int n_hooks, int out_nr, tc_tensor **grad) {
  for (int h = 0; h < n_hooks; h++) {
    if (slots && slots[h] != out_nr) continue;
    tc_tensor *rep = NULL;
    tc_status s = hooks[h].fn(*grad, &rep, hooks[h].user);
    if (s) {
      tc_tensor_release(rep);
      return s;
    }
    if (rep) {
      tc_scope_keep(rep);
      tc_tensor_release(*grad);
      *grad = rep;
    }
  }
  return TC_OK;
}

/* ready set: a binary max-heap on node sequence numbers */
typedef struct {
  int64_t *items;
  int64_t n, cap;
} heap;

static bool heap_less(const graph *g, int64_t a, int64_t b) { return g->slots[a].node->seq < g->slots[b].node->seq; }

static tc_status heap_push(heap *h, const graph *g, int64_t v) {
  if (h->n == h->cap) {
    int64_t cap = h->cap ? h->cap * 2 : 32;
    int64_t *it = tc__realloc(h->items, sizeof(int64_t) * (size_t)cap);
    if (!it) return TC_ERR_NOMEM;
    h->items = it;
    h->cap = cap;
  }
  int64_t i = h->n++;
  h->items[i] = v;
  while (i > 0 && heap_less(g, h->items[(i - 1) / 2], h->items[i])) {
    int64_t p = (i - 1) / 2, t = h->items[p];
    h->items[p] = h->items[i];
    h->items[i] = t;
    i = p;
  }
  return TC_OK;
}

static int64_t heap_pop(heap *h, const graph *g) {
  int64_t top = h->items[0];
  h->items[0] = h->items[--h->n];
  for (int64_t i = 0;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && heap_less(g, h->items[m], h->items[l])) m = l;
    if (r < h->n && heap_less(g, h->items[m], h->items[r])) m = r;
    if (m == i) break;
    int64_t t = h->items[m];
    h->items[m] = h->items[i];
    h->items[i] = t;
    i = m;
  }
  return top;
}

/* Accumulates into a leaf's .grad: the first gradient is taken (or copied when shared or not
 * contiguous), later ones are added in place. */
static tc_status accumulate_leaf(tc_tensor *leaf, tc_tensor *grad) {
  tc__autograd_meta *m = tc__meta(leaf);
  if (!m->grad) {
    bool exclusive = atomic_load(&grad->refcount) == 1 && atomic_load(&grad->storage->refcount) == 1 &&
                     tc__is_contiguous(grad) && !grad->autograd;
    tc_tensor *g = exclusive ? tc_tensor_retain(grad) : tc_clone(grad);
    if (!g) return tc_last_status();
    m->grad = g;
    return TC_OK;
  }
  return tc_add_inplace(m->grad, grad, 1.0);
}

typedef struct {
  const tc_tensor *const *inputs; /* tc_autograd_grad: capture instead of accumulating */
  int64_t n_inputs;
  tc_tensor **captured;
  tc__node **capture_node; /* (node, slot) per input */
  int *capture_slot;
} capture_spec;

static tc_status run_backward(int64_t n_roots, const tc_tensor *const *roots, const tc_tensor *const *root_grads,
                              bool retain_graph, capture_spec *cap) {
  const char *fn = cap ? "tc_autograd_grad" : "tc_backward";
  graph g = {0};
  heap ready = {0};
  tc__node **stack = NULL;
  tc_status st = TC_OK;
  int64_t sp = 0, scap = 0;
  tc__node **root_nodes = tc__calloc(sizeof(tc__node *) * (size_t)(n_roots ? n_roots : 1));
  int *root_slots = tc__calloc(sizeof(int) * (size_t)(n_roots ? n_roots : 1));
  if (!root_nodes || !root_slots) {
    st = TC_ERR_NOMEM;
    goto done;
  }
  /* roots: the grad_fn of each output, or a leaf's accumulator */
  for (int64_t r = 0; r < n_roots; r++) {
    const tc_tensor *t = roots[r];
    tc__autograd_meta *m = tc__meta(t);
    if (!tc__requires_grad(t)) {
      st = tc__error(TC_ERR_STATE, "%s: element %lld of tensors does not require grad and does not have a grad_fn", fn,
                     (long long)r);
      goto done;
    }
    if (m->grad_fn) {
      root_nodes[r] = m->grad_fn;
      atomic_fetch_add(&m->grad_fn->refcount, 1);
      root_slots[r] = m->output_nr;
    } else {
      const tc_tensor *in[1] = {t};
      tc__node *tmp = tc__node_new("root", NULL, 1, in, 0); /* borrows the accumulator edge */
      if (!tmp) {
        st = tc_last_status();
        goto done;
      }
      root_nodes[r] = tmp->next[0].node;
      atomic_fetch_add(&root_nodes[r]->refcount, 1);
      root_slots[r] = 0;
      tc__node_unref(tmp);
    }
  }
  /* discover the graph and count dependencies */
  for (int64_t r = 0; r < n_roots; r++) {
    bool added;
    if (intern(&g, root_nodes[r], &added) < 0) {
      st = TC_ERR_NOMEM;
      goto done;
    }
    if (!added) continue;
    if (sp == scap) {
      scap = scap ? scap * 2 : 64;
      tc__node **ns = tc__realloc(stack, sizeof(tc__node *) * (size_t)scap);
      if (!ns) {
        st = TC_ERR_NOMEM;
        goto done;
      }
      stack = ns;
    }
    stack[sp++] = root_nodes[r];
    while (sp > 0) {
      tc__node *n = stack[--sp];
      for (int e = 0; e < n->n_inputs; e++) {
        tc__node *nx = n->next[e].node;
        if (!nx) continue;
        int64_t j = intern(&g, nx, &added);
        if (j < 0) {
          st = TC_ERR_NOMEM;
          goto done;
        }
        g.slots[j].deps++;
        if (added) {
          if (sp == scap) {
            scap *= 2;
            tc__node **ns = tc__realloc(stack, sizeof(tc__node *) * (size_t)scap);
            if (!ns) {
              st = TC_ERR_NOMEM;
              goto done;
            }
            stack = ns;
          }
          stack[sp++] = nx;
        }
      }
    }
  }
  /* seed the root gradients */
  for (int64_t r = 0; r < n_roots; r++) {
    int64_t i = find(&g, root_nodes[r]);
    tc_tensor *seed = root_grads[r] ? tc_tensor_retain((tc_tensor *)root_grads[r]) : tc_ones_like(roots[r], NULL);
    if (!seed) {
      st = tc_last_status();
      goto done;
    }
    if ((st = validate(NULL, 0, &root_nodes[r]->out_meta[root_slots[r]], &seed)) != TC_OK) {
      tc_tensor_release(seed);
      goto done;
    }
    if ((st = accumulate(&g, i, root_slots[r], seed))) goto done;
  }
  for (int64_t i = 0; i < g.n; i++)
    if (g.slots[i].deps == 0 && (st = heap_push(&ready, &g, i))) goto done;

  while (ready.n > 0) {
    int64_t i = heap_pop(&ready, &g);
    slot *s = &g.slots[i];
    tc__node *n = s->node;
    int nout = n->n_outputs ? n->n_outputs : 1;
    /* materialise missing output gradients as zeros, then run the output hooks */
    for (int k = 0; k < nout; k++) {
      if (!s->grads[k]) {
        const tc__tensor_meta *om = &n->out_meta[k];
        s->grads[k] = tc_zeros(om->sizes, om->ndim, TC_OPTS(.dtype = om->dtype, .device = om->device));
        if (!s->grads[k]) {
          st = tc_last_status();
          goto done;
        }
      }
      if (n->n_hooks && (st = run_hooks(n->hooks, n->hook_slot, n->n_hooks, k, &s->grads[k]))) goto done;
    }
    if (cap) { /* capture gradients of the requested inputs */
      for (int64_t q = 0; q < cap->n_inputs; q++) {
        if (cap->capture_node[q] != n) continue;
        tc_tensor *gq = s->grads[cap->capture_slot[q]];
        if (n->leaf) {
          tc__autograd_meta *lm = tc__meta(n->leaf);
          if (lm && lm->n_hooks && (st = run_hooks(lm->hooks, NULL, lm->n_hooks, 0, &s->grads[0]))) goto done;
          gq = s->grads[0];
        }
        tc_tensor_release(cap->captured[q]);
        cap->captured[q] = tc_tensor_retain(gq);
      }
    }
    if (n->leaf) {
      if (!cap) {
        tc__autograd_meta *lm = tc__meta(n->leaf);
        if (lm->n_hooks && (st = run_hooks(lm->hooks, NULL, lm->n_hooks, 0, &s->grads[0]))) goto done;
        if ((st = accumulate_leaf(n->leaf, s->grads[0]))) goto done;
      }
    } else {
      if (n->released) {
        st = tc__error(TC_ERR_STATE,
                       "%s: trying to backward through the graph a second time (or to use saved tensors after they "
                       "were freed): pass retain_graph=true to the first backward (node %s)",
                       fn, n->name);
        goto done;
      }
      tc_tensor **gin = tc__calloc(sizeof(tc_tensor *) * (size_t)(n->n_inputs ? n->n_inputs : 1));
      if (!gin) {
        st = TC_ERR_NOMEM;
        goto done;
      }
      st = n->backward(n, s->grads, gin);
      for (int e = 0; e < n->n_inputs && !st; e++) {
        tc__node *nx = n->next[e].node;
        if (!nx || !gin[e]) continue;
        int slot_nr = n->next[e].input_nr;
        st = validate(n, e, &nx->out_meta[slot_nr], &gin[e]);
        if (!st) {
          st = accumulate(&g, find(&g, nx), slot_nr, gin[e]);
          gin[e] = NULL;
        }
      }
      for (int e = 0; e < n->n_inputs; e++) tc_tensor_release(gin[e]);
      tc__free(gin);
      if (st) goto done;
      if (!retain_graph) {
        for (int k = 0; k < n->n_saved; k++) tc_tensor_release(n->saved[k].t);
        tc__free(n->saved);
        n->saved = NULL;
        n->n_saved = n->cap_saved = 0;
        n->released = true;
      }
    }
    /* this node's gradients are consumed */
    for (int k = 0; k < nout; k++) {
      tc_tensor_release(s->grads[k]);
      s->grads[k] = NULL;
    }
    for (int e = 0; e < n->n_inputs; e++) {
      tc__node *nx = n->next[e].node;
      if (!nx) continue;
      int64_t j = find(&g, nx);
      if (--g.slots[j].deps == 0 && (st = heap_push(&ready, &g, j))) goto done;
    }
  }
done:
  for (int64_t r = 0; r < n_roots && root_nodes; r++) tc__node_unref(root_nodes[r]);
  tc__free(root_nodes);
  tc__free(root_slots);
  tc__free(stack);
  tc__free(ready.items);
  graph_free(&g);
  return st;
}

/* ---- public entry points ----------------------------------------------------------------------- */
static tc_status backward_impl(const char *fn, const tc_tensor *const *outs, int64_t n, const tc_tensor *const *grads,
                               bool retain_graph, capture_spec *cap) {
  for (int64_t i = 0; i < n; i++) {
    if (!outs[i]) return tc__null_arg(fn, "output");
    const tc_tensor *gr = grads ? grads[i] : NULL;
    if (!gr && tc__numel(outs[i]->sizes, outs[i]->ndim) != 1)
      return tc__error(TC_ERR_SHAPE, "%s: grad can be implicitly created only for scalar outputs (output %lld has shape %s)",
                       fn, (long long)i, tc__tshape(outs[i]));
    if (gr && (gr->ndim != outs[i]->ndim || memcmp(gr->sizes, outs[i]->sizes, sizeof(int64_t) * (size_t)gr->ndim)))
      return tc__error(TC_ERR_SHAPE, "%s: mismatch in shape: grad_output %lld has shape %s and output has shape %s", fn,
                       (long long)i, tc__tshape(gr), tc__tshape(outs[i]));
  }
  const tc_tensor **gs = tc__calloc(sizeof(tc_tensor *) * (size_t)(n ? n : 1));
  if (!gs) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < n; i++) gs[i] = grads ? grads[i] : NULL;
  int was = tc__scope_pause();
  tc_no_grad_push();
  tc__amp_suspend(); /* backward ops run in the dtypes the forward used */
  tc_status s = run_backward(n, outs, gs, retain_graph, cap);
  tc__amp_resume();
  tc_no_grad_pop();
  tc__scope_resume(was);
  tc__free(gs);
  return s;
}

tc_status tc_backward(const tc_tensor *loss) {
  TC__NONNULL_S(loss, "tc_backward");
  return backward_impl("tc_backward", &loss, 1, NULL, false, NULL);
}

tc_status tc_backward_ex(const tc_tensor *out, const tc_tensor *gradient, bool retain_graph) {
  TC__NONNULL_S(out, "tc_backward_ex");
  return backward_impl("tc_backward_ex", &out, 1, gradient ? &gradient : NULL, retain_graph, NULL);
}

tc_status tc_autograd_grad(const tc_tensor *const *outputs, int64_t n_outputs, const tc_tensor *const *grad_outputs,
                           const tc_tensor *const *inputs, int64_t n_inputs, tc_tensor **grads, bool retain_graph,
                           bool allow_unused) {
  const char *fn = "tc_autograd_grad";
  if (!outputs || !inputs || !grads || n_outputs < 1 || n_inputs < 1)
    return tc__error(TC_ERR_ARG, "%s: outputs, inputs and grads must be non-empty", fn);
  for (int64_t j = 0; j < n_inputs; j++) grads[j] = NULL;
  capture_spec cap = {inputs, n_inputs, NULL, NULL, NULL};
  cap.captured = tc__calloc(sizeof(tc_tensor *) * (size_t)n_inputs);
  cap.capture_node = tc__calloc(sizeof(tc__node *) * (size_t)n_inputs);
  cap.capture_slot = tc__calloc(sizeof(int) * (size_t)n_inputs);
  tc_status s = (cap.captured && cap.capture_node && cap.capture_slot) ? TC_OK : TC_ERR_NOMEM;
  for (int64_t j = 0; j < n_inputs && !s; j++) {
    const tc_tensor *t = inputs[j];
    if (!t) {
      s = tc__null_arg(fn, "input");
      break;
    }
    tc__autograd_meta *m = tc__meta(t);
    if (!tc__requires_grad(t)) {
      s = tc__error(TC_ERR_STATE, "%s: input %lld does not require grad", fn, (long long)j);
      break;
    }
    if (m->grad_fn) {
      cap.capture_node[j] = m->grad_fn;
      cap.capture_slot[j] = m->output_nr;
    } else {
      cap.capture_node[j] = m->grad_acc; /* NULL when no graph uses this leaf: unused */
      cap.capture_slot[j] = 0;
    }
  }
  if (!s) s = backward_impl(fn, outputs, n_outputs, grad_outputs, retain_graph, &cap);
  for (int64_t j = 0; j < n_inputs && !s; j++)
    if (!cap.captured[j] && !allow_unused)
      s = tc__error(TC_ERR_STATE,
                    "%s: one of the differentiated tensors (input %lld) appears to not have been used in the graph; "
                    "pass allow_unused=true if this is the desired behavior",
                    fn, (long long)j);
  if (s) {
    for (int64_t j = 0; cap.captured && j < n_inputs; j++) tc_tensor_release(cap.captured[j]);
  } else {
    /* fresh tensor structs: a captured gradient may be the caller's own grad_output object */
    for (int64_t j = 0; j < n_inputs && !s; j++) {
      tc_tensor *c = cap.captured[j];
      if (!c) continue;
      grads[j] = tc__view(c, c->sizes, c->strides, c->ndim, c->offset);
      if (!grads[j]) s = tc_last_status();
    }
    for (int64_t j = 0; j < n_inputs; j++) tc_tensor_release(cap.captured[j]);
    if (s)
      for (int64_t j = 0; j < n_inputs; j++) {
        tc_tensor_release(grads[j]);
        grads[j] = NULL;
      }
  }
  tc__free(cap.captured);
  tc__free(cap.capture_node);
  tc__free(cap.capture_slot);
  return s;
}
