/* tv_resnet18/34/50, tv_vgg11 (with and without batch norm), tv_mobilenet_v2 and tv_lenet5 against
 * torchvision (tests/fixtures/gen/gen_vision_models.py), without any committed weights:
 *   - the state_dict (names, dtypes, shapes, order) equals torchvision's;
 *   - with every entry filled by the generator's formula (fill() below), eval-mode logits equal
 *     torchvision's;
 *   - after tc_manual_seed(0) the constructors draw the same initial weights as torchvision's;
 *   - a training-mode step of resnet18 gives PyTorch's logits, loss, gradients and running stats, and a
 *     training step of every model gives every parameter a finite gradient (not all zero for weights);
 *   - bad arguments and allocation failures fail cleanly, leaking nothing.
 * CTORCH_MODELS_REPORT=1 prints the largest differences from PyTorch. */
#include <ctorch/vision.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_util.h"

#define FAM "vision_models"
#define NUM_CLASSES 10

typedef struct {
  const char *name;
  tc_module *(*make)(void);
  const char *input; /* fixture: x_64, x_32 or x_28 */
  double rtol, atol; /* eval logits: |got - want| <= atol * max|want| + rtol * |want| (measured errors are
                        below 3e-6 * max|want|; a wrong layer gives O(1) differences) */
} model_case;

static tc_module *make_resnet18(void) { return tv_resnet18(NUM_CLASSES); }
static tc_module *make_resnet34(void) { return tv_resnet34(NUM_CLASSES); }
static tc_module *make_resnet50(void) { return tv_resnet50(NUM_CLASSES); }
static tc_module *make_vgg11(void) { return tv_vgg11(NUM_CLASSES, false); }
static tc_module *make_vgg11_bn(void) { return tv_vgg11(NUM_CLASSES, true); }
static tc_module *make_mobilenet_v2(void) { return tv_mobilenet_v2(NUM_CLASSES); }
static tc_module *make_lenet5(void) { return tv_lenet5(NUM_CLASSES); }

enum { RESNET18, RESNET34, RESNET50, VGG11, VGG11_BN, MOBILENET_V2, LENET5, N_MODELS };
static const model_case models[N_MODELS] = {
    [RESNET18] = {"resnet18", make_resnet18, "x_64", 1e-4, 5e-5},
    [RESNET34] = {"resnet34", make_resnet34, "x_64", 1e-4, 5e-5},
    [RESNET50] = {"resnet50", make_resnet50, "x_64", 1e-4, 5e-5},
    [VGG11] = {"vgg11", make_vgg11, "x_32", 1e-4, 2e-5},
    [VGG11_BN] = {"vgg11_bn", make_vgg11_bn, "x_32", 1e-4, 2e-5},
    [MOBILENET_V2] = {"mobilenet_v2", make_mobilenet_v2, "x_64", 1e-4, 5e-5},
    [LENET5] = {"lenet5", make_lenet5, "x_28", 1e-4, 2e-5},
};

static tc_module *build(const model_case *c) {
  tc_module *m = c->make();
  ck_assert_msg(m != NULL, "%s: %s", c->name, tc_last_error());
  return m;
}

/* The module's state_dict (owned by the caller). */
static tc_state_dict *state_dict_of(const tc_module *m) {
  tc_state_dict *sd = tc_state_dict_create();
  ck_assert_ptr_nonnull(sd);
  ck_assert_msg(tc_module_state_dict(m, sd, NULL) == TC_OK, "state_dict: %s", tc_last_error());
  return sd;
}

/* ---- the generator's fill -------------------------------------------------------------------------- */
/* Entry t, element k, u = sin(0.37 k + 1.3 t): weights with >= 2 dims 2 u / sqrt(fan_in), 1-d weights
 * (batch norm) 1 + 0.1 u, running_var 1 + 0.25 u, biases and running_mean 0.1 u; integer entries
 * untouched. Computed in double, stored as float, as gen_vision_models.py does. */
static double fill_value(const char *leaf, int64_t ndim, int64_t fan_in, double u) {
  if (ndim >= 2) return 2.0 / sqrt((double)fan_in) * u;
  if (!strcmp(leaf, "weight")) return 1.0 + 0.1 * u;
  if (!strcmp(leaf, "running_var")) return 1.0 + 0.25 * u;
  return 0.1 * u;
}

static void fill(tc_module *m) {
  tc_state_dict *sd = state_dict_of(m);
  for (int64_t t = 0; t < tc_state_dict_size(sd); t++) {
    const char *name = tc_state_dict_key(sd, t), *dot = strrchr(name, '.');
    tc_tensor *v = tc_state_dict_get(sd, name); /* shares the module's storage */
    ck_assert_ptr_nonnull(v);
    if (tc_tensor_dtype(v) == TC_F32) {
      ck_assert(tc_tensor_is_contiguous(v));
      float *p = tc_tensor_data(v);
      int64_t n = tc_tensor_numel(v), nd = tc_tensor_ndim(v), fan_in = nd >= 2 ? n / tc_tensor_shape(v)[0] : 1;
      for (int64_t k = 0; k < n; k++)
        p[k] = (float)fill_value(dot ? dot + 1 : name, nd, fan_in, sin(0.37 * (double)k + 1.3 * (double)t));
    }
    tc_tensor_release(v);
  }
  tc_state_dict_destroy(sd);
}

/* ---- state_dict names, dtypes, shapes ------------------------------------------------------------- */
/* "name dtype [d0,d1,...]" as the generator writes each line. */
static void entry_line(const char *name, const tc_tensor *t, char *out, size_t cap) {
  tc_dtype dt = tc_tensor_dtype(t);
  int len = snprintf(out, cap, "%s %s [", name, dt == TC_F32 ? "f32" : dt == TC_I64 ? "i64" : tc_dtype_name(dt));
  for (int64_t d = 0; d < tc_tensor_ndim(t); d++)
    len += snprintf(out + len, cap - (size_t)len, "%s%lld", d ? "," : "", (long long)tc_tensor_shape(t)[d]);
  snprintf(out + len, cap - (size_t)len, "]");
}

static void check_keys(const tc_module *m, const char *model) {
  char path[1024], want[512], got[512];
  snprintf(path, sizeof path, "%s/%s/%s_keys.txt", CTORCH_FIXTURES_DIR, FAM, model);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "fixture %s missing", path);
  tc_state_dict *sd = state_dict_of(m);
  int64_t i = 0;
  while (fgets(want, sizeof want, f)) {
    want[strcspn(want, "\n")] = '\0';
    ck_assert_msg(i < tc_state_dict_size(sd), "%s: state_dict has %lld entries, torchvision's has more (next '%s')",
                  model, (long long)tc_state_dict_size(sd), want);
    const char *name = tc_state_dict_key(sd, i);
    tc_tensor *t = tc_state_dict_get(sd, name);
    entry_line(name, t, got, sizeof got);
    tc_tensor_release(t);
    ck_assert_msg(!strcmp(got, want), "%s: state_dict entry %lld is '%s', torchvision's is '%s'", model, (long long)i,
                  got, want);
    i++;
  }
  fclose(f);
  ck_assert_msg(i == tc_state_dict_size(sd), "%s: state_dict has %lld entries, torchvision's %lld", model,
                (long long)tc_state_dict_size(sd), (long long)i);
  tc_state_dict_destroy(sd);
}

/* ---- comparisons ------------------------------------------------------------------------------------- */
static double max_abs(const tc_tensor *t) {
  double v = 0;
  tc_tensor *a = tc_abs(t), *mx = tc_max(a);
  ck_assert_int_eq(tc_item_double(mx, &v), TC_OK);
  tc_tensor_release(a);
  tc_tensor_release(mx);
  return v;
}

/* |got - want| <= atol * max|want| + rtol * |want|; CTORCH_MODELS_REPORT prints the largest difference. */
static void check_close(const tc_tensor *got, const tc_tensor *want, double rtol, double atol, const char *what) {
  ck_assert_msg(got != NULL, "%s: %s", what, tc_last_error());
  double scale = max_abs(want);
  if (getenv("CTORCH_MODELS_REPORT")) {
    tc_tensor *g = tc_to_dtype(got, TC_F64), *w = tc_to_dtype(want, TC_F64), *d = tc_sub(g, w, 1.0);
    double err = max_abs(d);
    fprintf(stderr, "%-40s max|want| %9.4g  max|got - want| %9.3g = %8.2g of max|want|\n", what, scale, err,
            err / scale);
    tc_tensor_release(g);
    tc_tensor_release(w);
    tc_tensor_release(d);
  }
  assert_close(got, want, rtol, atol * scale, what);
}

static tc_tensor *fixture(const char *model, const char *suffix) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", model, suffix);
  return fx_load(FAM, name);
}

/* ---- structure and eval logits -------------------------------------------------------------------- */
static void check_eval(const model_case *c) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_module *m = build(c);
  check_keys(m, c->name);
  fill(m);
  tc_module_train(m, false);
  tc_no_grad_push();
  tc_tensor *y = tc_module_forward(m, fx_load(FAM, c->input));
  tc_no_grad_pop();
  char what[64];
  snprintf(what, sizeof what, "%s eval logits", c->name);
  check_close(y, fixture(c->name, "eval"), c->rtol, c->atol, what);
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}

START_TEST(test_eval) { check_eval(&models[_i]); }
END_TEST

START_TEST(test_module_types) {
  LEAK_BEGIN;
  static const struct {
    int model;
    const char *child, *type;
  } want[] = {
      {RESNET18, "layer1.0", "BasicBlock"},
      {RESNET18, "layer2.0.downsample", "Sequential"},
      {RESNET18, "maxpool", "MaxPool2d"},
      {RESNET50, "layer3.5", "Bottleneck"},
      {RESNET50, "avgpool", "AdaptiveAvgPool2d"},
      {VGG11_BN, "features.1", "BatchNorm2d"},
      {VGG11_BN, "classifier.5", "Dropout"},
      {MOBILENET_V2, "features.0", "Conv2dNormActivation"},
      {MOBILENET_V2, "features.0.2", "ReLU6"},
      {MOBILENET_V2, "features.1", "InvertedResidual"},
      {MOBILENET_V2, "features.17.conv.1", "Conv2dNormActivation"},
      {MOBILENET_V2, "features.18.0", "Conv2d"},
      {LENET5, "6", "Flatten"},
  };
  static const char *roots[N_MODELS] = {"ResNet", "ResNet", "ResNet", "VGG", "VGG", "MobileNetV2", "Sequential"};
  static const int built[] = {RESNET18, RESNET50, VGG11_BN, MOBILENET_V2, LENET5};
  for (size_t b = 0; b < sizeof built / sizeof *built; b++) {
    const model_case *c = &models[built[b]];
    tc_module *m = build(c);
    ck_assert_str_eq(tc_module_type(m), roots[built[b]]);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
      if (want[i].model != built[b]) continue;
      tc_module *child = tc_module_child(m, want[i].child);
      ck_assert_msg(child != NULL, "%s: no child %s", c->name, want[i].child);
      ck_assert_msg(!strcmp(tc_module_type(child), want[i].type), "%s: %s is %s, not %s", c->name, want[i].child,
                    tc_module_type(child), want[i].type);
    }
    tc_module_destroy(m);
  }
  LEAK_END;
}
END_TEST

/* ---- initialisation: the same draws as torchvision after manual_seed(0) --------------------------------- */
static void check_init(const model_case *c) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(0);
  tc_module *m = build(c);
  tc_tensor *want = fixture(c->name, "init"); /* (entries, 6): mean, std, x[0], x[n/3], x[2n/3], x[n-1] */
  const double *pw = tc_tensor_data(want);
  tc_state_dict *sd = state_dict_of(m);
  ck_assert_int_eq(tc_tensor_shape(want)[0], tc_state_dict_size(sd));
  for (int64_t i = 0; i < tc_state_dict_size(sd); i++) {
    const char *name = tc_state_dict_key(sd, i);
    tc_tensor *d = tc_contiguous(tc_to_dtype(tc_state_dict_get(sd, name), TC_F64));
    const double *x = tc_tensor_data(d);
    int64_t n = tc_tensor_numel(d);
    double sum = 0, sq = 0;
    for (int64_t k = 0; k < n; k++) sum += x[k];
    double mean = sum / (double)n;
    for (int64_t k = 0; k < n; k++) sq += (x[k] - mean) * (x[k] - mean);
    double got[6] = {mean, sqrt(sq / (double)n), x[0], x[n / 3], x[2 * n / 3], x[n - 1]};
    static const char *what[6] = {"mean", "std", "x[0]", "x[n/3]", "x[2n/3]", "x[n-1]"};
    for (int j = 0; j < 6; j++) {
      double e = pw[i * 6 + j];
      ck_assert_msg(fabs(got[j] - e) <= 1e-8 + 1e-5 * fabs(e),
                    "%s: %s %s after manual_seed(0) is %.9g, torchvision's %.9g", c->name, name, what[j], got[j], e);
    }
  }
  tc_state_dict_destroy(sd);
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}

static const int init_models[] = {RESNET18, RESNET50, VGG11_BN, MOBILENET_V2, LENET5};
START_TEST(test_init) { check_init(&models[init_models[_i]]); }
END_TEST

/* ---- training mode ---------------------------------------------------------------------------------- */
/* One step of resnet18 as built after tc_manual_seed(0) (torchvision's init, the same weights) in
 * training mode (batch statistics) against PyTorch: logits, cross-entropy, gradients reaching the stem, a
 * downsample and fc, and bn1's updated running statistics. */
START_TEST(test_resnet18_train_step) {
  LEAK_BEGIN;
  tc_scope_push();
  const model_case *c = &models[RESNET18];
  tc_manual_seed(0);
  tc_module *m = build(c);
  tc_tensor *logits = tc_module_forward(m, fx_load(FAM, "x_64"));
  tc_tensor *loss = tc_cross_entropy(logits, T_I64(SHAPE(2), 1, 3, 7), NULL);
  ck_assert_msg(loss && tc_backward(loss) == TC_OK, "%s", tc_last_error());
  check_close(logits, fixture(c->name, "train_logits"), 1e-4, 5e-5, "resnet18 train logits");
  check_close(loss, fixture(c->name, "train_loss"), 1e-5, 1e-6, "resnet18 train loss");
  static const struct {
    const char *param, *fx;
  } grads[] = {{"conv1.weight", "train_grad_conv1"},
               {"layer2.0.downsample.0.weight", "train_grad_layer2_0_downsample_0"},
               {"fc.weight", "train_grad_fc"}};
  for (size_t i = 0; i < sizeof grads / sizeof *grads; i++) {
    char what[96];
    snprintf(what, sizeof what, "resnet18 train grad %s", grads[i].param);
    check_close(tc_tensor_grad(tc_module_parameter(m, grads[i].param)), fixture(c->name, grads[i].fx), 1e-3, 1e-4,
                what);
  }
  check_close(tc_module_buffer(m, "bn1.running_mean"), fixture(c->name, "train_bn1_running_mean"), 1e-5, 1e-6,
              "resnet18 bn1.running_mean");
  check_close(tc_module_buffer(m, "bn1.running_var"), fixture(c->name, "train_bn1_running_var"), 1e-5, 1e-6,
              "resnet18 bn1.running_var");
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Every model with its own init, in training mode: forward + cross-entropy + backward gives every
 * parameter a finite gradient, not all zero for weights (a conv bias followed by batch norm, as in
 * vgg11_bn, has an exactly zero gradient in exact arithmetic), and every BatchNorm counts the batch. */
static void check_train_step(const model_case *c) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_manual_seed(0);
  tc_module *m = build(c);
  tc_tensor *logits = tc_module_forward(m, fx_load(FAM, c->input));
  ck_assert_msg(logits != NULL, "%s: %s", c->name, tc_last_error());
  assert_shape(logits, SHAPE(2, NUM_CLASSES), 2);
  tc_tensor *loss = tc_cross_entropy(logits, T_I64(SHAPE(2), 1, 3, 7), NULL);
  ck_assert_msg(loss && tc_backward(loss) == TC_OK, "%s: %s", c->name, tc_last_error());
  tc_named_tensors ps, bs;
  ck_assert_int_eq(tc_module_named_parameters(m, &ps), TC_OK);
  for (int64_t i = 0; i < ps.n; i++) {
    tc_tensor *g = tc_tensor_grad(ps.tensors[i]);
    ck_assert_msg(g != NULL, "%s: %s has no gradient", c->name, ps.names[i]);
    assert_shape(g, tc_tensor_shape(ps.tensors[i]), tc_tensor_ndim(ps.tensors[i]));
    double mx = max_abs(g);
    bool weight = strlen(ps.names[i]) >= 6 && !strcmp(ps.names[i] + strlen(ps.names[i]) - 6, "weight");
    ck_assert_msg(isfinite(mx) && (mx > 0 || !weight), "%s: gradient of %s: max |g| = %g", c->name, ps.names[i], mx);
  }
  tc_named_tensors_clear(&ps);
  ck_assert_int_eq(tc_module_named_buffers(m, &bs), TC_OK);
  for (int64_t i = 0; i < bs.n; i++) {
    if (!strstr(bs.names[i], "num_batches_tracked")) continue;
    int64_t count = 0;
    ck_assert_int_eq(tc_item_int64(bs.tensors[i], &count), TC_OK);
    ck_assert_msg(count == 1, "%s: %s is %lld after one step", c->name, bs.names[i], (long long)count);
  }
  tc_named_tensors_clear(&bs);
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}

START_TEST(test_train_step) { check_train_step(&models[_i]); }
END_TEST

/* ---- errors ------------------------------------------------------------------------------------------- */
START_TEST(test_bad_arguments) {
  LEAK_BEGIN;
  ck_assert_ptr_null(tv_resnet18(0));
  assert_error(TC_ERR_ARG, "tv_resnet18: num_classes must be positive, got 0");
  ck_assert_ptr_null(tv_resnet34(-1));
  assert_error(TC_ERR_ARG, "tv_resnet34: num_classes must be positive, got -1");
  ck_assert_ptr_null(tv_resnet50(0));
  assert_error(TC_ERR_ARG, "tv_resnet50: num_classes");
  ck_assert_ptr_null(tv_vgg11(0, true));
  assert_error(TC_ERR_ARG, "tv_vgg11: num_classes must be positive, got 0");
  ck_assert_ptr_null(tv_mobilenet_v2(-5));
  assert_error(TC_ERR_ARG, "tv_mobilenet_v2: num_classes must be positive, got -5");
  ck_assert_ptr_null(tv_lenet5(0));
  assert_error(TC_ERR_ARG, "tv_lenet5: num_classes");
  /* wrong inputs: the layer's error comes back, nothing leaks */
  tc_scope_push();
  tc_module *r = build(&models[RESNET18]), *mb = build(&models[MOBILENET_V2]);
  tc_tensor *gray = tc_zeros(SHAPE(2, 1, 32, 32), 4, NULL);
  ck_assert_ptr_null(tc_module_forward(r, gray));
  assert_error(TC_ERR_SHAPE, NULL);
  ck_assert_ptr_null(tc_module_forward(mb, gray));
  assert_error(TC_ERR_SHAPE, NULL);
  ck_assert_ptr_null(tc_module_forward_n(r, (const tc_tensor *[]){gray, gray}, 2));
  assert_error(TC_ERR_ARG, "ResNet: forward takes one input, got 2");
  ck_assert_ptr_null(tc_module_forward(tc_module_child(r, "layer1.0"), NULL));
  assert_error(TC_ERR_ARG, NULL);
  tc_module_destroy(r);
  tc_module_destroy(mb);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

/* Runs fn(ctx) with allocation n failing, for `runs` values of n spread evenly over the allocations
 * of a successful run (every n when runs <= 0: check_alloc_failures): each must return nonzero with
 * TC_ERR_NOMEM and leak nothing. A model makes thousands of allocations; spreading the failures keeps
 * the suite fast and still reaches every kind of block. */
static void check_failures_spread(int (*fn)(void *ctx), void *ctx, int64_t runs, const char *what) {
  if (runs <= 0) {
    check_alloc_failures(fn, ctx, what);
    return;
  }
  int64_t before = tc_debug_allocation_count();
  ck_assert_msg(fn(ctx) == 0, "%s: %s", what, tc_last_error());
  int64_t total = tc_debug_allocation_count() - before, step = total / runs + 1;
  for (int64_t n = 1; n <= total; n += step) {
    LEAK_BEGIN;
    tc_clear_error();
    tc_debug_fail_allocation(n);
    int rc = fn(ctx);
    tc_debug_fail_allocation(0);
    ck_assert_msg(rc != 0, "%s: succeeded although allocation %lld of %lld failed", what, (long long)n,
                  (long long)total);
    ck_assert_msg(tc_last_status() == TC_ERR_NOMEM, "%s: allocation %lld failed but status is %s (%s)", what,
                  (long long)n, tc_status_name(tc_last_status()), tc_last_error());
    LEAK_END;
  }
}

static int build_once(void *p) {
  tc_module *m = ((const model_case *)p)->make();
  tc_module_destroy(m);
  return m == NULL;
}

START_TEST(test_build_allocation_failures) {
  static const struct {
    int model;
    int64_t runs;
  } cases[] = {{LENET5, 0}, {RESNET18, 50}, {RESNET50, 50}, {MOBILENET_V2, 100}, {VGG11_BN, 8}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const model_case *c = &models[cases[i].model];
    check_failures_spread(build_once, (void *)c, cases[i].runs, c->name);
  }
}
END_TEST

typedef struct {
  tc_module *m;
  const tc_tensor *x;
} forward_ctx;

static int forward_once(void *p) {
  forward_ctx *f = p;
  tc_tensor *y = tc_module_forward(f->m, f->x);
  tc_tensor_release(y);
  return y == NULL;
}

/* Forward with allocations failing, in eval mode and in training mode (recording the graph): the
 * blocks' error paths release everything. */
START_TEST(test_forward_allocation_failures) {
  static const struct {
    int model;
    int64_t runs;
  } cases[] = {{LENET5, 0}, {RESNET18, 40}, {RESNET50, 40}, {MOBILENET_V2, 100}};
  tc_tensor *x = tc_randn(SHAPE(2, 3, 32, 32), 4, NULL), *x28 = tc_randn(SHAPE(2, 1, 28, 28), 4, NULL);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const model_case *c = &models[cases[i].model];
    forward_ctx f = {build(c), cases[i].model == LENET5 ? x28 : x};
    tc_module_train(f.m, false);
    tc_no_grad_push();
    check_failures_spread(forward_once, &f, cases[i].runs, c->name);
    tc_no_grad_pop();
    tc_module_train(f.m, true);
    check_failures_spread(forward_once, &f, cases[i].runs, c->name);
    tc_module_destroy(f.m);
  }
  tc_tensor_release(x);
  tc_tensor_release(x28);
}
END_TEST

int main(void) {
  Suite *s = suite_create("vision_models");
  TCase *tc = tcase_create("eval");
  tcase_add_loop_test(tc, test_eval, 0, N_MODELS);
  tcase_add_test(tc, test_module_types);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tc = tcase_create("init");
  tcase_add_loop_test(tc, test_init, 0, (int)(sizeof init_models / sizeof *init_models));
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tc = tcase_create("train");
  tcase_add_test(tc, test_resnet18_train_step);
  tcase_add_loop_test(tc, test_train_step, 0, N_MODELS);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_build_allocation_failures);
  tcase_add_test(tc, test_forward_allocation_failures);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
