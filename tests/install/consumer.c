/* A program built against an installed ctorch, through find_package or pkg-config. */
#include <ctorch/ctorch.h>
#include <stdio.h>

int main(void) {
  tc_tensor *a = tc_arange(0, 6, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *b = tc_reshape(a, (int64_t[]){2, 3}, 2);
  tc_tensor *c = tc_mul_scalar(b, 2.0);
  double v = 0;
  tc_tensor *e = tc_select(tc_select(c, 0, 1), 0, 2);
  if (!e || tc_item_double(e, &v) != TC_OK || v != 10.0) {
    fprintf(stderr, "consumer: wrong result %g (%s)\n", v, tc_last_error());
    return 1;
  }
  printf("consumer ok (ctorch %s)\n", tc_version());
  return 0;
}
