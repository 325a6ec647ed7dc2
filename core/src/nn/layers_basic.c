/* core/src/nn/layers_basic.c — torch.nn modules over the functions of this folder: Linear,
 * Identity, Flatten, Unflatten, the activations, Softmax/LogSoftmax, Dropout/Dropout2d, Embedding
 * and EmbeddingBag.
 *
 * Type names, parameter names, shapes and initialisation are PyTorch's, drawn from the default
 * generator in PyTorch's order, so after tc_manual_seed(s) a module holds the values torch.nn's
 * holds after torch.manual_seed(s):
 *   Linear        weight (out, in) kaiming_uniform_(a = sqrt(5)), then bias (out)
 *                 uniform_(-1/sqrt(in), 1/sqrt(in))
 *   Embedding(Bag) weight (num, dim) normal_(0, 1), then the padding_idx row zeroed
 * Options live in a small state block owned by the module (freed with it).
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "ctorch/nn_layers.h"

/* ---- shared ---------------------------------------------------------------------------------------------- */
typedef struct {
  double a, b;
  int64_t i0, i1;
  tc_bag_mode mode;
  int64_t n;
  int64_t sizes[TC_MAX_DIMS];
} opts;

/* A module with a copy of o as its state (NULL o: no state). */
static tc_module *make(const char *type, tc_forward_fn fwd, const opts *o) {
  opts *st = NULL;
  if (o) {
    if (!(st = tc__malloc(sizeof *st))) return NULL;
    *st = *o;
  }
  tc_module *m = tc_module_create(type, fwd, st, st ? tc__free : NULL);
  if (!m) tc__free(st);
  return m;
}

static const opts *state(tc_module *m) { return tc_module_state(m); }

/* Exactly `want` inputs. */
static bool nargs(tc_module *m, int64_t n, int64_t want) {
  if (n == want) return true;
  tc__error(TC_ERR_ARG, "tc_module_forward: %s takes %lld input%s, got %lld", tc_module_type(m), (long long)want,
            want == 1 ? "" : "s", (long long)n);
  return false;
}

/* Registers a new parameter (taking the reference); destroys m and returns NULL on failure. */
static tc_module *with_param(tc_module *m, const char *name, tc_tensor *p) {
  if (!m) {
    tc_tensor_release(p);
    return NULL;
  }
  if (!p || tc_module_register_parameter(m, name, p)) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

/* ---- Linear -------------------------------------------------------------------------------------------- */
static tc_tensor *linear_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (!nargs(m, n, 1)) return NULL;
  return tc_linear(in[0], tc_module_parameter(m, "weight"), tc_module_parameter(m, "bias"));
}

tc_module *tc_linear_create(int64_t in_features, int64_t out_features, bool bias) {
  const char *fn = "tc_linear_create";
  if (in_features < 0 || out_features < 0) {
    tc__error(TC_ERR_ARG, "%s: in_features (%lld) and out_features (%lld) must be >= 0", fn, (long long)in_features,
              (long long)out_features);
    return NULL;
  }
  int64_t ws[2] = {out_features, in_features};
  tc_tensor *w = tc_empty(ws, 2, NULL);
  if (w && tc_init_kaiming_uniform_(w, sqrt(5.0), TC_FAN_IN, TC_NONLIN_LEAKY_RELU, NULL)) {
    tc_tensor_release(w);
    w = NULL;
  }
  tc_module *m = with_param(make("Linear", linear_forward, NULL), "weight", w);
  if (!m) return NULL;
  if (!bias) {
    if (tc_module_register_parameter(m, "bias", NULL)) {
      tc_module_destroy(m);
      return NULL;
    }
    return m;
  }
  double bound = in_features > 0 ? 1.0 / sqrt((double)in_features) : 0.0;
  tc_tensor *b = tc_empty(&out_features, 1, NULL);
  if (b && tc_init_uniform_(b, -bound, bound, NULL)) {
    tc_tensor_release(b);
    b = NULL;
  }
  return with_param(m, "bias", b);
}

/* ---- Identity, Flatten, Unflatten ----------------------------------------------------------------------- */
static tc_tensor *identity_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (!nargs(m, n, 1)) return NULL;
  return tc_to_dtype(in[0], tc_tensor_dtype(in[0])); /* the input itself, as an alias */
}
tc_module *tc_identity_create(void) { return make("Identity", identity_forward, NULL); }

static tc_tensor *flatten_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (!nargs(m, n, 1)) return NULL;
  return tc_flatten(in[0], state(m)->i0, state(m)->i1);
}
tc_module *tc_flatten_create(int64_t start_dim, int64_t end_dim) {
  return make("Flatten", flatten_forward, &(opts){.i0 = start_dim, .i1 = end_dim});
}

static tc_tensor *unflatten_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (!nargs(m, n, 1)) return NULL;
  const opts *o = state(m);
  return tc_unflatten(in[0], o->i0, o->sizes, o->n);
}
tc_module *tc_unflatten_create(int64_t dim, const int64_t *sizes, int64_t n) {
  const char *fn = "tc_unflatten_create";
  if (n < 1 || n > TC_MAX_DIMS || !sizes) {
    tc__error(TC_ERR_ARG, "%s: expected 1 to %d sizes, got %lld%s", fn, TC_MAX_DIMS, (long long)n,
              sizes ? "" : " (sizes is NULL)");
    return NULL;
  }
  opts o = {.i0 = dim, .n = n};
  memcpy(o.sizes, sizes, sizeof(int64_t) * (size_t)n);
  return make("Unflatten", unflatten_forward, &o);
}

/* ---- activations --------------------------------------------------------------------------------------- */
#define ACT0(cname, type, call)                                                            \
  static tc_tensor *cname##_forward(tc_module *m, const tc_tensor *const *in, int64_t n) { \
    if (!nargs(m, n, 1)) return NULL;                                                      \
    return call(in[0]);                                                                    \
  }                                                                                        \
  tc_module *tc_##cname##_create(void) { return make(type, cname##_forward, NULL); }

ACT0(relu, "ReLU", tc_relu)
ACT0(relu6, "ReLU6", tc_relu6)
ACT0(silu, "SiLU", tc_silu)
ACT0(hardswish, "Hardswish", tc_hardswish)
ACT0(tanh, "Tanh", tc_tanh)
ACT0(sigmoid, "Sigmoid", tc_sigmoid)

static tc_tensor *leaky_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_leaky_relu(in[0], state(m)->a) : NULL;
}
tc_module *tc_leaky_relu_create(double negative_slope) {
  return make("LeakyReLU", leaky_forward, &(opts){.a = negative_slope});
}

static tc_tensor *elu_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_elu(in[0], state(m)->a) : NULL;
}
tc_module *tc_elu_create(double alpha) { return make("ELU", elu_forward, &(opts){.a = alpha}); }

static tc_tensor *gelu_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_gelu(in[0], state(m)->i0 != 0) : NULL;
}
tc_module *tc_gelu_create(bool tanh_approximate) { return make("GELU", gelu_forward, &(opts){.i0 = tanh_approximate}); }

static tc_tensor *softplus_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_softplus(in[0], state(m)->a, state(m)->b) : NULL;
}
tc_module *tc_softplus_create(double beta, double threshold) {
  return make("Softplus", softplus_forward, &(opts){.a = beta, .b = threshold});
}

static tc_tensor *softmax_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_softmax(in[0], state(m)->i0) : NULL;
}
tc_module *tc_softmax_create(int64_t dim) { return make("Softmax", softmax_forward, &(opts){.i0 = dim}); }

static tc_tensor *log_softmax_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_log_softmax(in[0], state(m)->i0) : NULL;
}
tc_module *tc_log_softmax_create(int64_t dim) { return make("LogSoftmax", log_softmax_forward, &(opts){.i0 = dim}); }

/* ---- dropout --------------------------------------------------------------------------------------------- */
static tc_status check_p(const char *fn, double p) {
  if (p >= 0.0 && p <= 1.0) return TC_OK;
  return tc__error(TC_ERR_ARG, "%s: dropout probability has to be between 0 and 1, but got %g", fn, p);
}

static tc_tensor *dropout_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_dropout(in[0], state(m)->a, tc_module_is_training(m), NULL) : NULL;
}
tc_module *tc_dropout_create(double p) {
  if (check_p("tc_dropout_create", p)) return NULL;
  return make("Dropout", dropout_forward, &(opts){.a = p});
}

static tc_tensor *dropout2d_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  return nargs(m, n, 1) ? tc_dropout2d(in[0], state(m)->a, tc_module_is_training(m), NULL) : NULL;
}
tc_module *tc_dropout2d_create(double p) {
  if (check_p("tc_dropout2d_create", p)) return NULL;
  return make("Dropout2d", dropout2d_forward, &(opts){.a = p});
}

/* ---- embeddings ------------------------------------------------------------------------------------------- */
/* weight (num, dim) normal_(0, 1) with the padding row zeroed, as Embedding.reset_parameters */
static tc_tensor *embedding_weight(const char *fn, int64_t num, int64_t dim, int64_t padding_idx) {
  if (num < 0 || dim < 0) {
    tc__error(TC_ERR_ARG, "%s: num_embeddings (%lld) and embedding_dim (%lld) must be >= 0", fn, (long long)num,
              (long long)dim);
    return NULL;
  }
  if (padding_idx >= num) {
    tc__error(TC_ERR_ARG, "%s: padding_idx %lld must be within num_embeddings %lld", fn, (long long)padding_idx,
              (long long)num);
    return NULL;
  }
  int64_t ws[2] = {num, dim};
  tc_tensor *w = tc_empty(ws, 2, NULL);
  if (!w) return NULL;
  tc_status s = tc_init_normal_(w, 0.0, 1.0, NULL);
  if (!s && padding_idx >= 0) {
    tc_tensor *row = tc_select(w, 0, padding_idx);
    s = row ? tc_zero_inplace(row) : tc_last_status();
    tc_tensor_release(row);
  }
  if (s) {
    tc_tensor_release(w);
    return NULL;
  }
  return w;
}

static tc_tensor *embedding_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (!nargs(m, n, 1)) return NULL;
  return tc_embedding(in[0], tc_module_parameter(m, "weight"), state(m)->i0);
}

tc_module *tc_embedding_create(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx) {
  tc_tensor *w = embedding_weight("tc_embedding_create", num_embeddings, embedding_dim, padding_idx);
  if (!w) return NULL;
  opts o = {.i0 = padding_idx < 0 ? -1 : padding_idx};
  return with_param(make("Embedding", embedding_forward, &o), "weight", w);
}

/* forward(input 2-D), forward_n(input, offsets) or forward_n(input, offsets, per_sample_weights) */
static tc_tensor *embedding_bag_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (n < 1 || n > 3) {
    tc__error(TC_ERR_ARG,
              "tc_module_forward: EmbeddingBag takes (input), (input, offsets) or "
              "(input, offsets, per_sample_weights), got %lld inputs",
              (long long)n);
    return NULL;
  }
  const opts *o = state(m);
  return tc_embedding_bag(in[0], tc_module_parameter(m, "weight"), n > 1 ? in[1] : NULL, o->mode, n > 2 ? in[2] : NULL,
                          o->i0);
}

tc_module *tc_embedding_bag_create(int64_t num_embeddings, int64_t embedding_dim, tc_bag_mode mode,
                                   int64_t padding_idx) {
  const char *fn = "tc_embedding_bag_create";
  if (mode != TC_BAG_SUM && mode != TC_BAG_MEAN && mode != TC_BAG_MAX) {
    tc__error(TC_ERR_ARG, "%s: unknown mode %d", fn, (int)mode);
    return NULL;
  }
  tc_tensor *w = embedding_weight(fn, num_embeddings, embedding_dim, padding_idx);
  if (!w) return NULL;
  opts o = {.i0 = padding_idx < 0 ? -1 : padding_idx, .mode = mode};
  return with_param(make("EmbeddingBag", embedding_bag_forward, &o), "weight", w);
}
