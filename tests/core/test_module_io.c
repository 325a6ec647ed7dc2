/* A state_dict saved by PyTorch (safetensors) loads into the matching ctorch module and gives
 * PyTorch's output; a ctorch module saved and reloaded gives the same output; strict loading
 * reports missing and unexpected keys by name and changes nothing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_util.h"

static tc_module *model(void) {
  return tc_sequential_create(6, (tc_module *[]){tc_conv2d_create(3, 4, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1})),
                                                tc_batchnorm2d_create(4, NULL), tc_relu_create(),
                                                tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}), false),
                                                tc_flatten_create(1, -1), tc_linear_create(64, 10, true)});
}

START_TEST(test_torch_file_loads) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_module *m = model();
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tc_module_load(m, CTORCH_FIXTURES_DIR "/module_io/torch_model.safetensors", true), TC_OK);
  tc_module_train(m, false);
  tc_tensor *y = tc_module_forward(m, fx_load("module_io", "x"));
  assert_close(y, fx_load("module_io", "y"), 1e-5, 1e-6, "PyTorch weights in ctorch");
  /* save from ctorch, load into a fresh module: same output */
  char path[] = "/tmp/ctorch_module_io_XXXXXX";
  int fd = mkstemp(path);
  ck_assert(fd >= 0);
  ck_assert_int_eq(tc_module_save(m, path), TC_OK);
  tc_module *m2 = model();
  ck_assert_int_eq(tc_module_load(m2, path, true), TC_OK);
  tc_module_train(m2, false);
  assert_close(tc_module_forward(m2, fx_load("module_io", "x")), y, 0, 0, "ctorch round trip");
  unlink(path);
  /* strict: a different architecture names the keys and leaves the module unchanged */
  tc_module *other =
      tc_sequential_create(1, (tc_module *[]){tc_conv2d_create(3, 4, 3, 3, TC_CONV2D_OPTS(.padding = {1, 1}))});
  tc_tensor *before = tc_clone(tc_module_parameter(other, "0.weight"));
  ck_assert_int_eq(tc_module_load(other, CTORCH_FIXTURES_DIR "/module_io/torch_model.safetensors", true), TC_ERR_ARG);
  ck_assert_msg(strstr(tc_last_error(), "unexpected keys") && strstr(tc_last_error(), "'1.running_mean'"), "%s",
                tc_last_error());
  /* a shape mismatch names the key */
  tc_module *wide = tc_sequential_create(1, (tc_module *[]){tc_conv2d_create(3, 5, 3, 3, NULL)});
  ck_assert_int_eq(tc_module_load(wide, CTORCH_FIXTURES_DIR "/module_io/torch_model.safetensors", false), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "size mismatch for '0.weight'");
  tc_module_destroy(wide);
  assert_equal(tc_module_parameter(other, "0.weight"), before, "untouched");
  tc_module_destroy(other);
  tc_module_destroy(m2);
  tc_module_destroy(m);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_module_io");
  TCase *tc = tcase_create("module_io");
  tcase_add_test(tc, test_torch_file_loads);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
