/* transforms/src/containers.c — Compose, RandomApply, RandomChoice, RandomOrder and Lambda.
 *
 * All share one state: the owned list of transforms plus the container's own parameters. Random
 * decisions use the generator passed to apply: RandomApply draws u as torch.rand(1) and applies its
 * list when u < p; RandomOrder walks torch.randperm(n); RandomChoice draws one uniform in [0, 1)
 * and picks by the normalised cumulative weights.
 */
#include <math.h>
#include <string.h>
#include "transforms_internal.h"

typedef struct {
  int64_t n;
  tr_transform **ts;
  double p;        /* RandomApply */
  double *cum;     /* RandomChoice: normalised cumulative weights (n) */
  tr_lambda_fn fn; /* Lambda */
  void *user;
  char *name;
} list_state;

static void list_destroy(void *vs) {
  list_state *s = vs;
  if (!s) return;
  tr__destroy_all(s->n, s->ts);
  tc_free(s->ts);
  tc_free(s->cum);
  tc_free(s->name);
  tc_free(s);
}

/* The state for n owned transforms (destroyed, with them, on failure). */
static list_state *list_new(const char *fn, int64_t n, tr_transform *const *ts, bool allow_empty) {
  if (n < 0 || (n == 0 && !allow_empty) || (n > 0 && !ts)) {
    tc_set_error(TC_ERR_ARG, "%s: needs %s transforms (n = %lld%s)", fn, allow_empty ? "a list of" : "at least one",
                 (long long)n, n > 0 && !ts ? ", list NULL" : "");
    if (n > 0) tr__destroy_all(n, ts);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++)
    if (!ts[i]) { /* a failed creation inside the list: keep its message */
      if (tc_last_status() == TC_OK) tc_set_error(TC_ERR_ARG, "%s: transform %lld is NULL", fn, (long long)i);
      tr__destroy_all(n, ts);
      return NULL;
    }
  list_state *s = tc_calloc(sizeof *s);
  tr_transform **copy = s && n ? tc_malloc(sizeof *copy * (size_t)n) : NULL;
  if (!s || (n && !copy)) {
    tc_free(s);
    tr__destroy_all(n, ts);
    return NULL;
  }
  if (n) memcpy(copy, ts, sizeof *copy * (size_t)n);
  s->n = n;
  s->ts = copy;
  return s;
}

/* Applies ts in the given order (order NULL: 0..n-1). */
static tc_status run_list(const list_state *s, const int64_t *order, const tr_value *in, tr_value *out,
                          tc_generator *gen) {
  tr_value cur;
  tc_status st = tr_value_copy(&cur, in);
  for (int64_t k = 0; k < s->n && !st; k++) {
    tr_value next;
    st = tr_apply(s->ts[order ? order[k] : k], &cur, &next, gen);
    tr_value_clear(&cur);
    cur = next;
  }
  if (st) {
    tr_value_clear(&cur);
    return st;
  }
  *out = cur;
  return TC_OK;
}

/* "Name(\n      child\n      child\n)" as torchvision prints a Compose */
static char *describe_block(const char *name, const char *params, const list_state *s) {
  char *acc = tr__printf("%s(%s\n", name, params);
  for (int64_t i = 0; acc && i < s->n; i++) {
    char *c = tr_describe(s->ts[i]), *nx = c ? tr__printf("%s      %s\n", acc, c) : NULL;
    tc_free(c);
    tc_free(acc);
    acc = nx;
  }
  if (!acc) return NULL;
  char *r = tr__printf("%s)", acc);
  tc_free(acc);
  return r;
}

/* ---- Compose ---------------------------------------------------------------------------------------- */
static tc_status compose_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  return run_list(tr_transform_state(self), NULL, in, out, gen);
}
static char *compose_describe(const tr_transform *self) {
  return describe_block("Compose", "", tr_transform_state(self));
}
static const tr_transform_vtable compose_vt = {"Compose", compose_apply, compose_describe, list_destroy, true};

tr_transform *tr_compose(int64_t n, tr_transform *const *transforms) {
  list_state *s = list_new("tr_compose", n, transforms, true);
  return s ? tr_transform_create(&compose_vt, s) : NULL;
}

/* ---- RandomApply ---------------------------------------------------------------------------------- */
static tc_status random_apply_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const list_state *s = tr_transform_state(self);
  tc_status st = tr__need_gen("RandomApply", gen);
  if (st) return st;
  tc_tensor *u = tc_rand((int64_t[]){1}, 1, TC_OPTS(.generator = gen)); /* torch.rand(1) */
  double v = 1;
  st = u ? tc_item_double(u, &v) : tc_last_status();
  tc_tensor_release(u);
  if (st) return st;
  if (v < s->p) return run_list(s, NULL, in, out, gen);
  return tr_value_copy(out, in);
}
static char *random_apply_describe(const tr_transform *self) {
  const list_state *s = tr_transform_state(self);
  char params[64];
  snprintf(params, sizeof params, "p=%g", s->p);
  return describe_block("RandomApply", params, s);
}
static const tr_transform_vtable random_apply_vt = {"RandomApply", random_apply_apply, random_apply_describe,
                                                    list_destroy, true};

tr_transform *tr_random_apply(double p, int64_t n, tr_transform *const *transforms) {
  if (!(p >= 0.0 && p <= 1.0)) {
    tr__destroy_all(n, transforms);
    tc_set_error(TC_ERR_ARG, "tr_random_apply: p should be a probability in [0, 1], got %g", p);
    return NULL;
  }
  list_state *s = list_new("tr_random_apply", n, transforms, true);
  if (!s) return NULL;
  s->p = p;
  return tr_transform_create(&random_apply_vt, s);
}

/* ---- RandomChoice --------------------------------------------------------------------------------- */
static tc_status random_choice_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const list_state *s = tr_transform_state(self);
  tc_status st = tr__need_gen("RandomChoice", gen);
  if (st) return st;
  double u = tc_generator_uniform(gen);
  int64_t k = 0;
  while (k < s->n - 1 && u >= s->cum[k]) k++;
  return tr_apply(s->ts[k], in, out, gen);
}
static char *random_choice_describe(const tr_transform *self) {
  const list_state *s = tr_transform_state(self);
  char *acc = tr__printf("RandomChoice(p=[");
  for (int64_t i = 0; acc && i < s->n; i++) {
    double w = s->cum[i] - (i ? s->cum[i - 1] : 0.0);
    char *nx = tr__printf("%s%s%g", acc, i ? ", " : "", w);
    tc_free(acc);
    acc = nx;
  }
  char *head = acc ? tr__printf("%s]", acc) : NULL;
  tc_free(acc);
  char *r = head ? describe_block(head, "", s) : NULL;
  tc_free(head);
  return r;
}
static const tr_transform_vtable random_choice_vt = {"RandomChoice", random_choice_apply, random_choice_describe,
                                                     list_destroy, true};

tr_transform *tr_random_choice(int64_t n, tr_transform *const *transforms, const double *weights) {
  const char *fn = "tr_random_choice";
  double total = 0;
  for (int64_t i = 0; weights && i < n && n > 0 && transforms; i++) {
    if (!(weights[i] >= 0) || isinf(weights[i])) {
      tr__destroy_all(n, transforms);
      tc_set_error(TC_ERR_ARG, "%s: weight %lld is %g (weights must be finite and >= 0)", fn, (long long)i,
                   weights[i]);
      return NULL;
    }
    total += weights[i];
  }
  if (weights && n > 0 && transforms && !(total > 0)) {
    tr__destroy_all(n, transforms);
    tc_set_error(TC_ERR_ARG, "%s: the weights sum to 0", fn);
    return NULL;
  }
  list_state *s = list_new(fn, n, transforms, false);
  if (!s) return NULL;
  if (!(s->cum = tc_malloc(sizeof(double) * (size_t)n))) {
    list_destroy(s);
    return NULL;
  }
  double c = 0;
  for (int64_t i = 0; i < n; i++) {
    c += weights ? weights[i] / total : 1.0 / (double)n;
    s->cum[i] = c;
  }
  for (int64_t i = n - 1; i >= 0; i--) /* the last positive weight closes the distribution */
    if (!weights || weights[i] > 0) {
      for (int64_t k = i; k < n; k++) s->cum[k] = 1.0;
      break;
    }
  return tr_transform_create(&random_choice_vt, s);
}

/* ---- RandomOrder ----------------------------------------------------------------------------------- */
static tc_status random_order_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const list_state *s = tr_transform_state(self);
  tc_status st = tr__need_gen("RandomOrder", gen);
  if (st) return st;
  if (s->n == 0) return tr_value_copy(out, in);
  tc_tensor *perm = tc_randperm(s->n, TC_OPTS(.generator = gen)); /* torch.randperm(n), int64 */
  if (!perm) return tc_last_status();
  st = run_list(s, tc_tensor_data(perm), in, out, gen);
  tc_tensor_release(perm);
  return st;
}
static char *random_order_describe(const tr_transform *self) {
  return describe_block("RandomOrder", "", tr_transform_state(self));
}
static const tr_transform_vtable random_order_vt = {"RandomOrder", random_order_apply, random_order_describe,
                                                    list_destroy, true};

tr_transform *tr_random_order(int64_t n, tr_transform *const *transforms) {
  list_state *s = list_new("tr_random_order", n, transforms, true);
  return s ? tr_transform_create(&random_order_vt, s) : NULL;
}

/* ---- Lambda -------------------------------------------------------------------------------------------- */
static tc_status lambda_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const list_state *s = tr_transform_state(self);
  return s->fn(in, out, gen, s->user);
}
static char *lambda_describe(const tr_transform *self) {
  const list_state *s = tr_transform_state(self);
  return tr__printf("Lambda(%s)", s->name ? s->name : "<function>");
}
static const tr_transform_vtable lambda_vt = {"Lambda", lambda_apply, lambda_describe, list_destroy, false};

tr_transform *tr_lambda(tr_lambda_fn fn, void *user, const char *name) {
  if (!fn) {
    tc_set_error(TC_ERR_ARG, "tr_lambda: fn is NULL");
    return NULL;
  }
  list_state *s = tc_calloc(sizeof *s);
  if (!s || (name && !(s->name = tc_strdup(name)))) {
    tc_free(s);
    return NULL;
  }
  s->fn = fn;
  s->user = user;
  return tr_transform_create(&lambda_vt, s);
}
