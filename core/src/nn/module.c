/* core/src/nn/module.c — the module system: parameters, buffers, children, traversal, modes,
 * state_dict, and the Sequential / ModuleList / ModuleDict containers. */
#include <stdlib.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn.h"

typedef struct {
  char *name;
  tc_tensor *t; /* NULL for an absent parameter (bias=None) */
  bool persistent;
} entry;

typedef struct {
  char *name;
  tc_module *m;
} child;

struct tc_module {
  char *type;
  tc_forward_fn forward;
  void *state;
  void (*destroy_state)(void *);
  entry *params, *bufs;
  int64_t n_params, n_bufs, cap_params, cap_bufs;
  child *children;
  int64_t n_children, cap_children;
  bool training;
};

tc_module *tc_module_create(const char *type_name, tc_forward_fn forward, void *state, void (*destroy_state)(void *)) {
  tc_module *m = tc__calloc(sizeof *m);
  if (!m) return NULL;
  m->type = tc__strdup(type_name ? type_name : "Module");
  if (!m->type) {
    tc__free(m);
    return NULL;
  }
  m->forward = forward;
  m->state = state;
  m->destroy_state = destroy_state;
  m->training = true;
  return m;
}

void tc_module_destroy(tc_module *m) {
  if (!m) return;
  for (int64_t i = 0; i < m->n_params; i++) {
    tc__free(m->params[i].name);
    tc_tensor_release(m->params[i].t);
  }
  for (int64_t i = 0; i < m->n_bufs; i++) {
    tc__free(m->bufs[i].name);
    tc_tensor_release(m->bufs[i].t);
  }
  for (int64_t i = 0; i < m->n_children; i++) {
    tc__free(m->children[i].name);
    tc_module_destroy(m->children[i].m);
  }
  if (m->destroy_state && m->state) m->destroy_state(m->state);
  tc__free(m->params);
  tc__free(m->bufs);
  tc__free(m->children);
  tc__free(m->type);
  tc__free(m);
}

const char *tc_module_type(const tc_module *m) { return m ? m->type : NULL; }
void *tc_module_state(const tc_module *m) { return m ? m->state : NULL; }

/* ---- registration ----------------------------------------------------------------------------------- */
static entry *find_entry(entry *es, int64_t n, const char *name) {
  for (int64_t i = 0; i < n; i++)
    if (!strcmp(es[i].name, name)) return &es[i];
  return NULL;
}
static child *find_child(const tc_module *m, const char *name, size_t len) {
  for (int64_t i = 0; i < m->n_children; i++)
    if (strlen(m->children[i].name) == len && !strncmp(m->children[i].name, name, len)) return &m->children[i];
  return NULL;
}

static tc_status check_name(const char *fn, const tc_module *m, const char *name) {
  if (!name || !*name || strchr(name, '.'))
    return tc__error(TC_ERR_ARG, "%s: invalid name '%s' (non-empty, no dots)", fn, name ? name : "(null)");
  if (find_entry(m->params, m->n_params, name) || find_entry(m->bufs, m->n_bufs, name) ||
      find_child(m, name, strlen(name)))
    return tc__error(TC_ERR_ARG, "%s: %s already has an attribute '%s'", fn, m->type, name);
  return TC_OK;
}

static tc_status push_entry(entry **es, int64_t *n, int64_t *cap, const char *name, tc_tensor *t, bool persistent) {
  if (*n == *cap) {
    int64_t c = *cap ? *cap * 2 : 4;
    entry *ne = tc__realloc(*es, sizeof(entry) * (size_t)c);
    if (!ne) return TC_ERR_NOMEM;
    *es = ne;
    *cap = c;
  }
  char *nm = tc__strdup(name);
  if (!nm) return TC_ERR_NOMEM;
  (*es)[(*n)++] = (entry){nm, t, persistent};
  return TC_OK;
}

tc_status tc_module_register_parameter(tc_module *m, const char *name, tc_tensor *p) {
  const char *fn = "tc_module_register_parameter";
  tc_status s = TC_OK;
  if (!m) s = tc__error(TC_ERR_ARG, "%s: module is NULL", fn);
  if (!s) s = check_name(fn, m, name);
  if (!s && p) {
    tc_scope_keep(p); /* the module holds this reference now */
    if (!tc_tensor_is_leaf(p))
      s = tc__error(TC_ERR_ARG, "%s: parameter '%s' must be a leaf tensor (use tc_detach)", fn, name);
    if (!s) s = tc_tensor_requires_grad_(p, true);
  }
  if (!s) s = push_entry(&m->params, &m->n_params, &m->cap_params, name, p, true);
  if (s) tc_tensor_release(p);
  return s;
}

tc_status tc_module_register_buffer(tc_module *m, const char *name, tc_tensor *b, bool persistent) {
  const char *fn = "tc_module_register_buffer";
  tc_status s = TC_OK;
  if (!m) s = tc__error(TC_ERR_ARG, "%s: module is NULL", fn);
  if (!s) s = check_name(fn, m, name);
  if (b) tc_scope_keep(b);
  if (!s) s = push_entry(&m->bufs, &m->n_bufs, &m->cap_bufs, name, b, persistent);
  if (s) tc_tensor_release(b);
  return s;
}

tc_status tc_module_add_child(tc_module *m, const char *name, tc_module *c) {
  const char *fn = "tc_module_add_child";
  tc_status s = TC_OK;
  if (!m || !c) s = tc__error(TC_ERR_ARG, "%s: module and child must not be NULL", fn);
  if (!s) s = check_name(fn, m, name);
  if (!s && m->n_children == m->cap_children) {
    int64_t cap = m->cap_children ? m->cap_children * 2 : 4;
    child *nc = tc__realloc(m->children, sizeof(child) * (size_t)cap);
    if (!nc) s = TC_ERR_NOMEM;
    else {
      m->children = nc;
      m->cap_children = cap;
    }
  }
  char *nm = s ? NULL : tc__strdup(name);
  if (!s && !nm) s = TC_ERR_NOMEM;
  if (s) {
    tc_module_destroy(c);
    return s;
  }
  m->children[m->n_children++] = (child){nm, c};
  return TC_OK;
}

/* Resolves "a.b.name" to (module, leaf name). */
static const tc_module *resolve(const tc_module *m, const char *name, const char **leaf) {
  while (m) {
    const char *dot = strchr(name, '.');
    if (!dot) {
      *leaf = name;
      return m;
    }
    child *c = find_child(m, name, (size_t)(dot - name));
    m = c ? c->m : NULL;
    name = dot + 1;
  }
  return NULL;
}

tc_tensor *tc_module_parameter(const tc_module *m, const char *name) {
  const char *leaf;
  const tc_module *o = m && name ? resolve(m, name, &leaf) : NULL;
  entry *e = o ? find_entry(o->params, o->n_params, leaf) : NULL;
  return e ? e->t : NULL;
}

tc_tensor *tc_module_buffer(const tc_module *m, const char *name) {
  const char *leaf;
  const tc_module *o = m && name ? resolve(m, name, &leaf) : NULL;
  entry *e = o ? find_entry(o->bufs, o->n_bufs, leaf) : NULL;
  return e ? e->t : NULL;
}

tc_module *tc_module_child(const tc_module *m, const char *name) {
  const char *leaf;
  const tc_module *o = m && name ? resolve(m, name, &leaf) : NULL;
  child *c = o ? find_child(o, leaf, strlen(leaf)) : NULL;
  return c ? c->m : NULL;
}

static tc_status replace(entry *e, const char *fn, const char *name, tc_tensor *t, bool param) {
  if (!e) {
    tc_tensor_release(t);
    return tc__error(TC_ERR_ARG, "%s: no %s named '%s'", fn, param ? "parameter" : "buffer", name);
  }
  if (t) tc_scope_keep(t);
  if (t && param) {
    tc_status s = tc_tensor_requires_grad_(t, true);
    if (s) {
      tc_tensor_release(t);
      return s;
    }
  }
  tc_tensor_release(e->t);
  e->t = t;
  return TC_OK;
}

tc_status tc_module_set_parameter(tc_module *m, const char *name, tc_tensor *p) {
  const char *leaf;
  tc_module *o = m && name ? (tc_module *)resolve(m, name, &leaf) : NULL;
  return replace(o ? find_entry(o->params, o->n_params, leaf) : NULL, "tc_module_set_parameter", name ? name : "", p,
                 true);
}

tc_status tc_module_set_buffer(tc_module *m, const char *name, tc_tensor *b) {
  const char *leaf;
  tc_module *o = m && name ? (tc_module *)resolve(m, name, &leaf) : NULL;
  return replace(o ? find_entry(o->bufs, o->n_bufs, leaf) : NULL, "tc_module_set_buffer", name ? name : "", b, false);
}

int64_t tc_module_num_children(const tc_module *m) { return m ? m->n_children : 0; }

tc_module *tc_module_child_at(const tc_module *m, int64_t i, const char **name) {
  if (!m || i < 0 || i >= m->n_children) return NULL;
  if (name) *name = m->children[i].name;
  return m->children[i].m;
}

/* Every parameter and buffer slot of m and its children, depth first (DataParallel swaps
 * device replicas into them around a forward). */
void tc__module_for_each_slot(tc_module *m, void (*fn)(tc_tensor **slot, bool is_param, void *ctx), void *ctx) {
  if (!m) return;
  for (int64_t i = 0; i < m->n_params; i++) fn(&m->params[i].t, true, ctx);
  for (int64_t i = 0; i < m->n_bufs; i++) fn(&m->bufs[i].t, false, ctx);
  for (int64_t i = 0; i < m->n_children; i++) tc__module_for_each_slot(m->children[i].m, fn, ctx);
}

/* ---- forward ------------------------------------------------------------------------------------------- */
tc_tensor *tc_module_forward_n(tc_module *m, const tc_tensor *const *inputs, int64_t n) {
  if (!m) {
    tc__error(TC_ERR_ARG, "tc_module_forward: module is NULL");
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (!inputs[i]) {
      tc__null_arg("tc_module_forward", "input");
      return NULL;
    }
  if (!m->forward) {
    tc__error(TC_ERR_STATE, "tc_module_forward: %s has no forward (a container of modules)", m->type);
    return NULL;
  }
  return m->forward(m, inputs, n);
}

tc_tensor *tc_module_forward(tc_module *m, const tc_tensor *x) { return tc_module_forward_n(m, &x, 1); }

/* ---- modes, devices, traversal ------------------------------------------------------------------------- */
void tc_module_train(tc_module *m, bool training) {
  if (!m) return;
  m->training = training;
  for (int64_t i = 0; i < m->n_children; i++) tc_module_train(m->children[i].m, training);
}

bool tc_module_is_training(const tc_module *m) { return m && m->training; }

tc_status tc_module_apply(tc_module *m, tc_status (*fn)(tc_module *, void *), void *user) {
  if (!m || !fn) return tc__error(TC_ERR_ARG, "tc_module_apply: module and fn must not be NULL");
  for (int64_t i = 0; i < m->n_children; i++) {
    tc_status s = tc_module_apply(m->children[i].m, fn, user);
    if (s) return s;
  }
  return fn(m, user);
}

typedef struct {
  bool to_device;
  tc_device device;
  tc_dtype dtype;
} convert_spec;

static tc_status convert_entries(entry *es, int64_t n, const convert_spec *c, bool params) {
  for (int64_t i = 0; i < n; i++) {
    tc_tensor *t = es[i].t;
    if (!t) continue;
    if (!c->to_device && !tc_dtype_is_floating(tc_tensor_dtype(t))) continue;
    tc_no_grad_push();
    tc_tensor *nt = c->to_device ? tc_tensor_to(t, c->device) : tc_to_dtype(t, c->dtype);
    tc_tensor *d = nt ? tc_detach(nt) : NULL;
    tc_no_grad_pop();
    tc_tensor_release(nt);
    if (!d) return tc_last_status();
    tc_scope_keep(d);
    if (params) {
      tc_status s = tc_tensor_requires_grad_(d, true);
      if (s) {
        tc_tensor_release(d);
        return s;
      }
    }
    tc_tensor_release(es[i].t);
    es[i].t = d;
  }
  return TC_OK;
}

static tc_status convert(tc_module *m, const convert_spec *c) {
  tc_status s = convert_entries(m->params, m->n_params, c, true);
  if (!s) s = convert_entries(m->bufs, m->n_bufs, c, false);
  for (int64_t i = 0; i < m->n_children && !s; i++) s = convert(m->children[i].m, c);
  return s;
}

tc_status tc_module_to(tc_module *m, tc_device device) {
  if (!m) return tc__error(TC_ERR_ARG, "tc_module_to: module is NULL");
  if (tc__check_device("tc_module_to", device)) return tc_last_status();
  convert_spec c = {true, device, TC_DTYPE_DEFAULT};
  return convert(m, &c);
}

tc_status tc_module_to_dtype(tc_module *m, tc_dtype dtype) {
  if (!m) return tc__error(TC_ERR_ARG, "tc_module_to_dtype: module is NULL");
  if (!tc_dtype_is_floating(dtype))
    return tc__error(TC_ERR_DTYPE, "tc_module_to_dtype: expects a floating dtype, got %s", tc_dtype_name(dtype));
  convert_spec c = {false, tc_cpu(), dtype};
  return convert(m, &c);
}

/* ---- named traversal ------------------------------------------------------------------------------------- */
void tc_named_tensors_clear(tc_named_tensors *l) {
  if (!l) return;
  for (int64_t i = 0; i < l->n; i++) {
    tc__free(l->names[i]);
    tc_tensor_release(l->tensors[i]);
  }
  tc__free(l->names);
  tc__free(l->tensors);
  l->names = NULL;
  l->tensors = NULL;
  l->n = 0;
}

typedef struct {
  tc_named_tensors *out;
  int64_t cap;
  bool dedupe;
} collector;

static tc_status collect_push(collector *c, const char *prefix, const char *name, tc_tensor *t) {
  tc_named_tensors *o = c->out;
  if (c->dedupe)
    for (int64_t i = 0; i < o->n; i++)
      if (o->tensors[i] == t) return TC_OK;
  if (o->n == c->cap) {
    int64_t cap = c->cap ? c->cap * 2 : 16;
    char **nn = tc__realloc(o->names, sizeof(char *) * (size_t)cap);
    if (!nn) return TC_ERR_NOMEM;
    o->names = nn;
    tc_tensor **nt = tc__realloc(o->tensors, sizeof(tc_tensor *) * (size_t)cap);
    if (!nt) return TC_ERR_NOMEM;
    o->tensors = nt;
    c->cap = cap;
  }
  size_t len = strlen(prefix) + strlen(name) + 1;
  char *full = tc__malloc(len);
  if (!full) return TC_ERR_NOMEM;
  snprintf(full, len, "%s%s", prefix, name);
  o->names[o->n] = full;
  o->tensors[o->n] = tc_tensor_retain(t);
  o->n++;
  return TC_OK;
}

/* what: 0 parameters, 1 all buffers, 2 state_dict entries (params then persistent buffers) */
static tc_status collect(const tc_module *m, const char *prefix, int what, collector *c) {
  tc_status s = TC_OK;
  if (what == 0 || what == 2)
    for (int64_t i = 0; i < m->n_params && !s; i++)
      if (m->params[i].t) s = collect_push(c, prefix, m->params[i].name, m->params[i].t);
  if (what == 1 || what == 2)
    for (int64_t i = 0; i < m->n_bufs && !s; i++)
      if (m->bufs[i].t && (what == 1 || m->bufs[i].persistent)) s = collect_push(c, prefix, m->bufs[i].name, m->bufs[i].t);
  for (int64_t i = 0; i < m->n_children && !s; i++) {
    size_t len = strlen(prefix) + strlen(m->children[i].name) + 2;
    char *p = tc__malloc(len);
    if (!p) return TC_ERR_NOMEM;
    snprintf(p, len, "%s%s.", prefix, m->children[i].name);
    s = collect(m->children[i].m, p, what, c);
    tc__free(p);
  }
  return s;
}

static tc_status named(const tc_module *m, int what, const char *prefix, tc_named_tensors *out, bool dedupe) {
  if (!out) return tc__error(TC_ERR_ARG, "tc_module_named_parameters: out is NULL");
  *out = (tc_named_tensors){0};
  if (!m) return tc__error(TC_ERR_ARG, "tc_module_named_parameters: module is NULL");
  collector c = {out, 0, dedupe};
  tc_status s = collect(m, prefix ? prefix : "", what, &c);
  if (s) tc_named_tensors_clear(out);
  return s;
}

tc_status tc_module_named_parameters(const tc_module *m, tc_named_tensors *out) { return named(m, 0, NULL, out, true); }
tc_status tc_module_named_buffers(const tc_module *m, tc_named_tensors *out) { return named(m, 1, NULL, out, true); }

tc_status tc_module_parameters(const tc_module *m, tc_tensor_list *out) {
  if (!out) return tc__error(TC_ERR_ARG, "tc_module_parameters: out is NULL");
  out->data = NULL;
  out->n = 0;
  tc_named_tensors l;
  tc_status s = named(m, 0, NULL, &l, true);
  if (s) return s;
  for (int64_t i = 0; i < l.n; i++) tc__free(l.names[i]);
  tc__free(l.names);
  out->data = l.tensors;
  out->n = l.n;
  return TC_OK;
}

int64_t tc_module_num_parameter_elements(const tc_module *m) {
  tc_named_tensors l;
  if (named(m, 0, NULL, &l, true)) return -1;
  int64_t n = 0;
  for (int64_t i = 0; i < l.n; i++) n += tc_tensor_numel(l.tensors[i]);
  tc_named_tensors_clear(&l);
  return n;
}

tc_status tc_module_zero_grad(tc_module *m, bool set_to_none) {
  tc_named_tensors l;
  tc_status s = named(m, 0, NULL, &l, true);
  for (int64_t i = 0; i < l.n && !s; i++) {
    if (set_to_none) {
      s = tc_tensor_set_grad(l.tensors[i], NULL);
    } else {
      tc_tensor *g = tc_tensor_grad(l.tensors[i]);
      if (g) s = tc_zero_inplace(g);
      tc_tensor_release(g);
    }
  }
  tc_named_tensors_clear(&l);
  return s;
}

/* ---- state_dict --------------------------------------------------------------------------------------------- */
tc_status tc_module_state_dict(const tc_module *m, tc_state_dict *out, const char *prefix) {
  if (!out) return tc__error(TC_ERR_ARG, "tc_module_state_dict: out is NULL");
  tc_named_tensors l;
  tc_status s = named(m, 2, prefix, &l, false);
  for (int64_t i = 0; i < l.n && !s; i++) s = tc_state_dict_set(out, l.names[i], l.tensors[i]);
  tc_named_tensors_clear(&l);
  return s;
}

/* Appends a name (no tensor) to an optional report list. */
static tc_status report(tc_named_tensors *r, int64_t *cap, const char *name) {
  if (!r) return TC_OK;
  collector c = {r, *cap, false};
  tc_status s = TC_OK;
  if (r->n == c.cap) {
    int64_t nc = c.cap ? c.cap * 2 : 8;
    char **nn = tc__realloc(r->names, sizeof(char *) * (size_t)nc);
    tc_tensor **nt = nn ? tc__realloc(r->tensors, sizeof(tc_tensor *) * (size_t)nc) : NULL;
    if (nn) r->names = nn;
    if (nt) r->tensors = nt;
    if (!nn || !nt) return TC_ERR_NOMEM;
    *cap = nc;
  }
  r->names[r->n] = tc__strdup(name);
  if (!r->names[r->n]) return TC_ERR_NOMEM;
  r->tensors[r->n++] = NULL;
  return s;
}

/* Appends ", name" to a message buffer. */
static void append_name(char *buf, size_t cap, const char *name) {
  size_t len = strlen(buf);
  if (len + 8 >= cap) return;
  snprintf(buf + len, cap - len, "%s'%s'", len && buf[len - 1] != ' ' ? ", " : "", name);
}

tc_status tc_module_load_state_dict(tc_module *m, const tc_state_dict *sd, const char *prefix, bool strict,
                                    tc_named_tensors *missing, tc_named_tensors *unexpected) {
  const char *fn = "tc_module_load_state_dict";
  if (missing) *missing = (tc_named_tensors){0};
  if (unexpected) *unexpected = (tc_named_tensors){0};
  if (!m || !sd) return tc__error(TC_ERR_ARG, "%s: module and state dict must not be NULL", fn);
  tc_named_tensors own;
  tc_status s = named(m, 2, prefix, &own, false);
  if (s) return s;
  char miss_msg[1024] = "", unexp_msg[1024] = "";
  int64_t n_miss = 0, n_unexp = 0, cap_m = 0, cap_u = 0;
  /* pass 1: check everything before modifying anything */
  for (int64_t i = 0; i < own.n && !s; i++) {
    if (!tc_state_dict_contains(sd, own.names[i])) {
      n_miss++;
      append_name(miss_msg, sizeof miss_msg, own.names[i]);
      s = report(missing, &cap_m, own.names[i]);
      continue;
    }
    tc_tensor *src = tc_state_dict_get(sd, own.names[i]);
    if (!src) {
      s = tc_last_status();
      break;
    }
    const tc_tensor *dst = own.tensors[i];
    if (tc_tensor_ndim(src) != tc_tensor_ndim(dst) ||
        memcmp(tc_tensor_shape(src), tc_tensor_shape(dst), sizeof(int64_t) * (size_t)tc_tensor_ndim(dst)))
      s = tc__error(TC_ERR_SHAPE, "%s: size mismatch for '%s': the checkpoint has shape %s, the module %s", fn,
                    own.names[i], tc__tshape(src), tc__tshape(dst));
    tc_tensor_release(src);
  }
  size_t plen = prefix ? strlen(prefix) : 0;
  for (int64_t k = 0; k < tc_state_dict_size(sd) && !s; k++) {
    const char *key = tc_state_dict_key(sd, k);
    if (plen && strncmp(key, prefix, plen)) continue; /* other prefixes belong to others */
    bool found = false;
    for (int64_t i = 0; i < own.n && !found; i++) found = !strcmp(own.names[i], key);
    if (!found) {
      n_unexp++;
      append_name(unexp_msg, sizeof unexp_msg, key);
      s = report(unexpected, &cap_u, key);
    }
  }
  if (!s && strict && (n_miss || n_unexp))
    s = tc__error(TC_ERR_ARG, "%s: error(s) in loading state_dict for %s: missing keys: [%s]; unexpected keys: [%s]", fn,
                  m->type, miss_msg, unexp_msg);
  /* pass 2: copy the values */
  tc_no_grad_push();
  for (int64_t i = 0; i < own.n && !s; i++) {
    if (!tc_state_dict_contains(sd, own.names[i])) continue;
    tc_tensor *src = tc_state_dict_get(sd, own.names[i]);
    s = src ? tc_copy_inplace(own.tensors[i], src) : tc_last_status();
    tc_tensor_release(src);
  }
  tc_no_grad_pop();
  tc_named_tensors_clear(&own);
  if (s) {
    tc_named_tensors_clear(missing);
    tc_named_tensors_clear(unexpected);
  }
  return s;
}

tc_status tc_module_save(const tc_module *m, const char *path) {
  tc_state_dict *sd = tc_state_dict_create();
  if (!sd) return tc_last_status();
  tc_status s = tc_module_state_dict(m, sd, NULL);
  if (!s) s = tc_state_dict_save(sd, path);
  tc_state_dict_destroy(sd);
  return s;
}

tc_status tc_module_load(tc_module *m, const char *path, bool strict) {
  tc_state_dict *sd = tc_state_dict_load(path);
  if (!sd) return tc_last_status();
  tc_status s = tc_module_load_state_dict(m, sd, NULL, strict, NULL, NULL);
  tc_state_dict_destroy(sd);
  return s;
}

/* ---- containers --------------------------------------------------------------------------------------------- */
static tc_tensor *sequential_forward(tc_module *self, const tc_tensor *const *in, int64_t n) {
  if (self->n_children == 0) {
    if (n != 1) {
      tc__error(TC_ERR_ARG, "Sequential: an empty Sequential takes one input, got %lld", (long long)n);
      return NULL;
    }
    return tc_to_dtype(in[0], in[0]->dtype); /* identity: an alias keeping the history */
  }
  tc_tensor *x = tc_module_forward_n(self->children[0].m, in, n);
  for (int64_t i = 1; i < self->n_children && x; i++) {
    tc_tensor *y = tc_module_forward(self->children[i].m, x);
    tc_tensor_release(x);
    x = y;
  }
  return x;
}

static tc_module *container(const char *type, tc_forward_fn fwd, int64_t n, tc_module *const *mods) {
  const char *fn = "tc_sequential_create";
  bool bad = n < 0 || (n > 0 && !mods);
  for (int64_t i = 0; !bad && i < n; i++) bad = !mods[i];
  tc_module *m = bad ? NULL : tc_module_create(type, fwd, NULL, NULL);
  if (!m) {
    if (bad) tc__error(TC_ERR_ARG, "%s: a module of the list is NULL (an earlier constructor failed?)", fn);
    for (int64_t i = 0; i < n && mods; i++) tc_module_destroy(mods[i]);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) {
    char name[24];
    snprintf(name, sizeof name, "%lld", (long long)i);
    if (tc_module_add_child(m, name, mods[i])) {
      for (int64_t j = i + 1; j < n; j++) tc_module_destroy(mods[j]);
      tc_module_destroy(m);
      return NULL;
    }
  }
  return m;
}

tc_module *tc_sequential_create(int64_t n, tc_module *const *modules) {
  return container("Sequential", sequential_forward, n, modules);
}

tc_status tc_sequential_append(tc_module *seq, tc_module *m) {
  if (!seq) {
    tc_module_destroy(m);
    return tc__error(TC_ERR_ARG, "tc_sequential_append: sequential is NULL");
  }
  char name[24];
  snprintf(name, sizeof name, "%lld", (long long)seq->n_children);
  return tc_module_add_child(seq, name, m);
}

tc_module *tc_module_list_create(int64_t n, tc_module *const *modules) { return container("ModuleList", NULL, n, modules); }
tc_module *tc_module_dict_create(void) { return tc_module_create("ModuleDict", NULL, NULL, NULL); }
