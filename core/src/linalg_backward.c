/* core/src/linalg_backward.c — the public matrix products (forward kernels in linalg.c) and their
 * autograd nodes: MmBackward0, BmmBackward0, MvBackward0, DotBackward0, OuterBackward0,
 * AddmmBackward0 and, for the general broadcasting matmul, MatmulBackward (PyTorch decomposes
 * matmul into these; one node gives the same gradients). Backward composes the public products,
 * which run with grad mode off. */
#include "autograd/autograd_internal.h"
#include "amp/amp_internal.h"

tc_tensor *tc__mm_fwd(const tc_tensor *a, const tc_tensor *b);
tc_tensor *tc__bmm_fwd(const tc_tensor *a, const tc_tensor *b);
tc_tensor *tc__mv_fwd(const tc_tensor *a, const tc_tensor *v);
tc_tensor *tc__dot_fwd(const tc_tensor *a, const tc_tensor *b);
tc_tensor *tc__matmul_fwd(const tc_tensor *a, const tc_tensor *b);
tc_tensor *tc__addmm_fwd(const tc_tensor *input, const tc_tensor *a, const tc_tensor *b, double beta, double alpha);
tc_tensor *tc__outer_fwd(const tc_tensor *a, const tc_tensor *b);

typedef enum { P_MM, P_BMM, P_MV, P_DOT, P_OUTER, P_MATMUL, P_ADDMM } prod_kind;

typedef struct {
  prod_kind kind;
  double beta, alpha;
  int64_t in_shape[TC_MAX_DIMS]; /* addmm's input */
  int in_nd;
} prod_ctx;

/* matmul's gradient for one operand, summed over broadcast batch dims and reshaped back */
static tc_tensor *matmul_grads(const tc_tensor *a, const tc_tensor *b, const tc_tensor *g, bool want_a,
                               tc_tensor **gb_out) {
  tc_tensor *t[10] = {0}, *ga = NULL;
  bool av = a->ndim == 1, bv = b->ndim == 1;
  const tc_tensor *A = av ? (t[0] = tc_unsqueeze(a, 0)) : a;  /* (.., n, k) */
  const tc_tensor *B = bv ? (t[1] = tc_unsqueeze(b, -1)) : b; /* (.., k, m) */
  const tc_tensor *G = g;
  if (av && bv) G = t[2] = tc_reshape(g, (int64_t[]){1, 1}, 2);
  else if (av) G = t[2] = tc_unsqueeze(g, -2);
  else if (bv) G = t[2] = tc_unsqueeze(g, -1);
  if (A && B && G) {
    if (want_a) {
      t[3] = tc_transpose(B, -1, -2);
      t[4] = tc_matmul(G, t[3]);
      t[5] = t[4] ? tc__sum_to(t[4], A->sizes, A->ndim) : NULL;
      ga = t[5] ? tc_reshape(t[5], a->sizes, a->ndim) : NULL;
    }
    if (gb_out) {
      t[6] = tc_transpose(A, -1, -2);
      t[7] = tc_matmul(t[6], G);
      t[8] = t[7] ? tc__sum_to(t[7], B->sizes, B->ndim) : NULL;
      *gb_out = t[8] ? tc_reshape(t[8], b->sizes, b->ndim) : NULL;
    }
  }
  for (int i = 0; i < 10; i++) tc_tensor_release(t[i]);
  return ga;
}

static tc_status prod_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const prod_ctx *c = tc__node_ctx(n);
  int off = c->kind == P_ADDMM ? 1 : 0; /* addmm: edge 0 is the input */
  const tc_tensor *a = tc__node_saved(n, 0), *b = a ? tc__node_saved(n, 1) : NULL;
  if (!a || !b) return tc_last_status();
  const tc_tensor *g = go[0];
  bool na = n->next[off].node != NULL, nb = n->next[off + 1].node != NULL;
  tc_tensor *ga = NULL, *gb = NULL, *t[4] = {0};
  switch (c->kind) {
    case P_MM:
    case P_ADDMM:
      if (na) ga = tc_mm(g, t[0] = tc_t(b));
      if (nb) gb = tc_mm(t[1] = tc_t(a), g);
      if (c->kind == P_ADDMM && c->alpha != 1) {
        if (ga) { t[2] = ga; ga = tc_mul_scalar(t[2], c->alpha); }
        if (gb) { t[3] = gb; gb = tc_mul_scalar(t[3], c->alpha); }
      }
      break;
    case P_BMM:
      if (na) ga = tc_bmm(g, t[0] = tc_transpose(b, 1, 2));
      if (nb) gb = tc_bmm(t[1] = tc_transpose(a, 1, 2), g);
      break;
    case P_MV:
      if (na) ga = tc_outer(g, b);
      if (nb) gb = tc_mv(t[0] = tc_t(a), g);
      break;
    case P_DOT:
      if (na) ga = tc_mul(g, b);
      if (nb) gb = tc_mul(g, a);
      break;
    case P_OUTER:
      if (na) ga = tc_mv(g, b);
      if (nb) gb = tc_mv(t[0] = tc_t(g), a);
      break;
    case P_MATMUL:
      ga = matmul_grads(a, b, g, na, nb ? &gb : NULL);
      break;
  }
  for (int i = 0; i < 4; i++) tc_tensor_release(t[i]);
  if ((na && !ga) || (nb && !gb)) {
    tc_tensor_release(ga);
    tc_tensor_release(gb);
    return tc_last_status();
  }
  if (c->kind == P_ADDMM && n->next[0].node) {
    tc_tensor *s = c->beta == 1 ? tc_tensor_retain((tc_tensor *)g) : tc_mul_scalar(g, c->beta);
    gi[0] = s ? tc__sum_to(s, c->in_shape, c->in_nd) : NULL;
    tc_tensor_release(s);
    if (!gi[0]) {
      tc_tensor_release(ga);
      tc_tensor_release(gb);
      return tc_last_status();
    }
  }
  gi[off] = ga;
  gi[off + 1] = gb;
  return TC_OK;
}

static tc_tensor *record(prod_kind kind, const char *name, tc_tensor *out, const tc_tensor *input, const tc_tensor *a,
                         const tc_tensor *b, double beta, double alpha) {
  const tc_tensor *ins[3] = {input, a, b};
  const tc_tensor *const *in = input ? ins : ins + 1;
  int n = input ? 3 : 2;
  if (!out || !tc__grad_needed(n, in) || !tc_dtype_is_floating(out->dtype)) return out;
  prod_ctx c = {.kind = kind, .beta = beta, .alpha = alpha};
  if (input) {
    memcpy(c.in_shape, input->sizes, sizeof(int64_t) * (size_t)input->ndim);
    c.in_nd = input->ndim;
  }
  const tc_tensor *save[2] = {a, b};
  return tc__record(out, name, prod_backward, n, in, 2, save, &c, sizeof c);
}

tc_tensor *tc_mm(const tc_tensor *a, const tc_tensor *b) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 2, a, b, NULL)) return tc__amp_end(&am, am.ok ? tc_mm(am.in[0], am.in[1]) : NULL);
  return record(P_MM, "MmBackward0", tc__mm_fwd(a, b), NULL, a, b, 0, 1);
}
tc_tensor *tc_bmm(const tc_tensor *a, const tc_tensor *b) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 2, a, b, NULL)) return tc__amp_end(&am, am.ok ? tc_bmm(am.in[0], am.in[1]) : NULL);
  return record(P_BMM, "BmmBackward0", tc__bmm_fwd(a, b), NULL, a, b, 0, 1);
}
tc_tensor *tc_mv(const tc_tensor *a, const tc_tensor *v) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 2, a, v, NULL)) return tc__amp_end(&am, am.ok ? tc_mv(am.in[0], am.in[1]) : NULL);
  return record(P_MV, "MvBackward0", tc__mv_fwd(a, v), NULL, a, v, 0, 1);
}
tc_tensor *tc_dot(const tc_tensor *a, const tc_tensor *b) {
  return record(P_DOT, "DotBackward0", tc__dot_fwd(a, b), NULL, a, b, 0, 1);
}
tc_tensor *tc_outer(const tc_tensor *a, const tc_tensor *b) {
  return record(P_OUTER, "OuterBackward0", tc__outer_fwd(a, b), NULL, a, b, 0, 1);
}
tc_tensor *tc_matmul(const tc_tensor *a, const tc_tensor *b) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 2, a, b, NULL))
    return tc__amp_end(&am, am.ok ? tc_matmul(am.in[0], am.in[1]) : NULL);
  tc_tensor *out = tc__matmul_fwd(a, b);
  if (out && a->ndim == 2 && b->ndim == 2) return record(P_MM, "MmBackward0", out, NULL, a, b, 0, 1);
  return record(P_MATMUL, "MatmulBackward0", out, NULL, a, b, 0, 1);
}
tc_tensor *tc_addmm(const tc_tensor *input, const tc_tensor *a, const tc_tensor *b, double beta, double alpha) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 3, input, a, b))
    return tc__amp_end(&am, am.ok ? tc_addmm(am.in[0], am.in[1], am.in[2], beta, alpha) : NULL);
  return record(P_ADDMM, "AddmmBackward0", tc__addmm_fwd(input, a, b, beta, alpha), input, a, b, beta, alpha);
}
