/* Tensor basics: creation, attributes, views sharing storage, from_blob, conversion, errors. */
#include "test_util.h"

START_TEST(test_from_data_and_attributes) {
  LEAK_BEGIN;
  float d[6] = {1, 2, 3, 4, 5, 6};
  tc_tensor *x = tc_tensor_from_data(d, SHAPE(2, 3), 2, TC_F32);
  ck_assert_ptr_nonnull(x);
  ck_assert_int_eq(tc_tensor_ndim(x), 2);
  ck_assert_int_eq(tc_tensor_numel(x), 6);
  ck_assert_int_eq(tc_tensor_size(x, -1), 3);
  ck_assert_int_eq(tc_tensor_stride(x, 0), 3);
  ck_assert_int_eq(tc_tensor_dtype(x), TC_F32);
  ck_assert(tc_tensor_is_contiguous(x));
  ck_assert_uint_eq(tc_tensor_element_size(x), 4);
  ck_assert(tc_tensor_device(x).type == TC_DEVICE_CPU);
  d[0] = 100; /* a copy: the tensor does not see it */
  ck_assert_float_eq(((float *)tc_tensor_data(x))[0], 1.0f);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

static int deleted;
static void count_delete(void *p, void *ctx) {
  (void)p;
  (void)ctx;
  deleted++;
}

START_TEST(test_from_blob_shares_memory) {
  LEAK_BEGIN;
  float buf[6] = {0, 1, 2, 3, 4, 5};
  deleted = 0;
  tc_tensor *x = tc_tensor_from_blob(buf, SHAPE(3, 2), SHAPE(1, 3), 2, TC_F32, count_delete, NULL);
  ck_assert_ptr_nonnull(x);
  ck_assert(!tc_tensor_is_contiguous(x)); /* Fortran-style strides */
  double v;
  tc_tensor *e = tc_select(x, 0, 1);
  tc_tensor *e2 = tc_select(e, 0, 1);
  ck_assert_int_eq(tc_item_double(e2, &v), TC_OK);
  ck_assert(v == 4.0); /* x[1][1] = buf[1*1 + 1*3] */
  buf[4] = 42;         /* caller writes, tensor sees */
  ck_assert_int_eq(tc_item_double(e2, &v), TC_OK);
  ck_assert(v == 42.0);
  ck_assert_int_eq(tc_fill_inplace(e2, -1), TC_OK); /* tensor writes, caller sees */
  ck_assert(buf[4] == -1.0f);
  tc_tensor_release(e2);
  tc_tensor_release(e);
  ck_assert_int_eq(deleted, 0);
  tc_tensor_release(x);
  ck_assert_int_eq(deleted, 1);
  LEAK_END;
}
END_TEST

START_TEST(test_views_share_storage) {
  LEAK_BEGIN;
  tc_tensor *x = tc_arange(0, 24, 1, TC_OPTS(.dtype = TC_F32));
  tc_tensor *v = tc_view(x, SHAPE(2, 3, 4), 3);
  tc_tensor *p = tc_permute(v, SHAPE(2, 0, 1), 3);
  assert_shape(p, SHAPE(4, 2, 3), 3);
  ck_assert(tc_tensor_shares_storage(x, p));
  ck_assert(!tc_tensor_is_contiguous(p));
  tc_tensor *s = tc_slice(v, 2, 1, TC_END, 2); /* v[:, :, 1::2] */
  assert_shape(s, SHAPE(2, 3, 2), 3);
  ck_assert_int_eq(tc_fill_inplace(s, -7), TC_OK);
  const float *xd = tc_tensor_data(x);
  for (int i = 0; i < 24; i++) ck_assert_float_eq(xd[i], (i % 2) ? -7.0f : (float)i);
  tc_tensor *neg = tc_slice(v, -1, -3, -1, 1); /* v[..., -3:-1] */
  assert_shape(neg, SHAPE(2, 3, 2), 3);
  double val;
  tc_tensor *first = tc_flatten(neg, 0, -1);
  tc_tensor *e0 = tc_select(first, 0, 0);
  tc_item_double(e0, &val);
  ck_assert(val == -7.0); /* element index 1 */
  tc_tensor *row = tc_slice(v, 0, 0, 1, 1);
  tc_tensor *ex = tc_expand(row, SHAPE(5, 3, 4), 3);
  ck_assert_int_eq(tc_tensor_stride(ex, 0), 0);
  tc_tensor_release(ex);
  tc_tensor_release(row);
  tc_tensor *c = tc_contiguous(p);
  ck_assert(!tc_tensor_shares_storage(c, x));
  ck_assert(tc_tensor_is_contiguous(c));
  tc_tensor *c2 = tc_contiguous(c);
  ck_assert(tc_tensor_shares_storage(c, c2));
  tc_tensor *r = tc_reshape(p, SHAPE(-1), 1); /* needs a copy */
  ck_assert(!tc_tensor_shares_storage(r, x));
  tc_tensor *r2 = tc_reshape(v, SHAPE(6, -1), 2); /* a view */
  ck_assert(tc_tensor_shares_storage(r2, x));
  tc_tensor *bad = tc_view(p, SHAPE(-1), 1);
  ck_assert_ptr_null(bad);
  assert_error(TC_ERR_SHAPE, "tc_reshape");
  tc_tensor *list[] = {x, v, p, s, neg, first, e0, c, c2, r, r2};
  for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) tc_tensor_release(list[i]);
  LEAK_END;
}
END_TEST

START_TEST(test_squeeze_unsqueeze_chunk) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = tc_zeros(SHAPE(1, 3, 1, 5), 4, NULL);
  assert_shape(tc_squeeze(x), SHAPE(3, 5), 2);
  assert_shape(tc_squeeze_dim(x, 2), SHAPE(1, 3, 5), 3);
  assert_shape(tc_squeeze_dim(x, 1), SHAPE(1, 3, 1, 5), 4);
  assert_shape(tc_unsqueeze(x, -1), SHAPE(1, 3, 1, 5, 1), 5);
  assert_shape(tc_unflatten(tc_flatten(x, 1, 3), 1, SHAPE(3, -1), 2), SHAPE(1, 3, 5), 3);
  assert_shape(tc_t(tc_zeros(SHAPE(2, 7), 2, NULL)), SHAPE(7, 2), 2);
  assert_shape(tc_narrow(x, 3, 1, 3), SHAPE(1, 3, 1, 3), 4);
  tc_tensor_list l;
  ck_assert_int_eq(tc_chunk(x, 2, 3, &l), TC_OK);
  ck_assert_int_eq(l.n, 2);
  assert_shape(l.data[0], SHAPE(1, 3, 1, 3), 4);
  assert_shape(l.data[1], SHAPE(1, 3, 1, 2), 4);
  tc_tensor_list_clear(&l);
  ck_assert_int_eq(tc_split(x, 2, -1, &l), TC_OK);
  ck_assert_int_eq(l.n, 3);
  assert_shape(l.data[2], SHAPE(1, 3, 1, 1), 4);
  tc_tensor_list_clear(&l);
  ck_assert_int_eq(tc_split_sizes(x, SHAPE(1, 4), 2, 3, &l), TC_OK);
  assert_shape(l.data[1], SHAPE(1, 3, 1, 4), 4);
  tc_tensor_list_clear(&l);
  ck_assert_int_eq(tc_unbind(x, 1, &l), TC_OK);
  ck_assert_int_eq(l.n, 3);
  assert_shape(l.data[0], SHAPE(1, 1, 5), 3);
  tc_tensor_list_clear(&l);
  ck_assert_int_eq(tc_split_sizes(x, SHAPE(1, 3), 2, 3, &l), TC_ERR_SHAPE);
  ck_assert_ptr_null(tc_select(x, 1, 3));
  assert_error(TC_ERR_ARG, "index 3 out of range");
  ck_assert_ptr_null(tc_transpose(x, 0, 4));
  assert_error(TC_ERR_ARG, "dim 4 out of range");
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_creation) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *a = tc_arange(0, 5, 1, NULL);
  ck_assert_int_eq(tc_tensor_dtype(a), TC_I64);
  tc_tensor *b = tc_arange(0, 1, 0.25, NULL);
  ck_assert_int_eq(tc_tensor_dtype(b), TC_F32);
  ck_assert_int_eq(tc_tensor_numel(b), 4);
  tc_tensor *f = tc_full(SHAPE(2, 2), 2, 3.5, TC_OPTS(.dtype = TC_F64));
  double v;
  tc_item_double(tc_select(tc_select(f, 0, 1), 0, 1), &v);
  ck_assert(v == 3.5);
  tc_tensor *e = tc_eye(3, -1, TC_OPTS(.dtype = TC_I32));
  const int32_t *ed = tc_tensor_data(e);
  for (int i = 0; i < 9; i++) ck_assert_int_eq(ed[i], i % 4 == 0);
  tc_tensor *z = tc_zeros_like(e, NULL);
  ck_assert_int_eq(tc_tensor_dtype(z), TC_I32);
  tc_tensor *o = tc_ones_like(e, TC_OPTS(.dtype = TC_F16));
  ck_assert_int_eq(tc_tensor_dtype(o), TC_F16);
  tc_item_double(tc_select(tc_select(o, 0, 2), 0, 2), &v);
  ck_assert(v == 1.0);
  tc_tensor *empty = tc_zeros(SHAPE(0, 3), 2, NULL);
  ck_assert_int_eq(tc_tensor_numel(empty), 0);
  ck_assert_ptr_null(tc_zeros(SHAPE(2, -3), 2, NULL));
  assert_error(TC_ERR_SHAPE, "negative size -3");
  ck_assert_ptr_null(tc_arange(0, 5, 0, NULL));
  assert_error(TC_ERR_ARG, "tc_arange");
  ck_assert_ptr_null(tc_zeros(SHAPE(2), 1, TC_OPTS(.device = tc_cuda(0))));
  assert_error(TC_ERR_DEVICE, NULL);
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_dtype_conversion) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *x = T_F32(SHAPE(6), 1, -1.7f, -0.5f, 0.0f, 0.5f, 2.9f, 300.0f);
  tc_tensor *i = tc_to_dtype(x, TC_I64);
  const int64_t *id = tc_tensor_data(i);
  int64_t want[6] = {-1, 0, 0, 0, 2, 300};
  for (int k = 0; k < 6; k++) ck_assert_int_eq(id[k], want[k]);
  tc_tensor *u = tc_to_dtype(x, TC_U8);
  ck_assert_int_eq(((uint8_t *)tc_tensor_data(u))[5], 44); /* 300 wraps, as PyTorch */
  tc_tensor *bo = tc_to_dtype(x, TC_BOOL);
  ck_assert_int_eq(((uint8_t *)tc_tensor_data(bo))[2], 0);
  ck_assert_int_eq(((uint8_t *)tc_tensor_data(bo))[3], 1);
  tc_tensor *h = tc_to_dtype(x, TC_F16);
  tc_tensor *bf = tc_to_dtype(x, TC_BF16);
  tc_tensor *back = tc_to_dtype(h, TC_F32);
  assert_close(back, x, 1e-3, 0, "f16 round trip");
  tc_tensor *back2 = tc_to_dtype(bf, TC_F64);
  assert_close(back2, x, 1e-2, 0, "bf16 round trip");
  tc_tensor *c = tc_to_dtype(x, TC_C64);
  tc_tensor *cr = tc_to_dtype(c, TC_F32);
  assert_equal(cr, x, "complex round trip");
  ck_assert_int_eq(tc_promote_types(TC_I32, TC_F16), TC_F16);
  ck_assert_int_eq(tc_promote_types(TC_U8, TC_I8), TC_I16);
  ck_assert_int_eq(tc_promote_types(TC_BOOL, TC_U8), TC_U8);
  ck_assert_int_eq(tc_promote_types(TC_BF16, TC_F16), TC_F32);
  ck_assert_int_eq(tc_promote_types(TC_I64, TC_C64), TC_C64);
  ck_assert_int_eq(tc_promote_scalar(TC_I32, true), TC_F32);
  ck_assert_int_eq(tc_promote_scalar(TC_BOOL, false), TC_I64);
  /* half conversion corner cases */
  ck_assert_uint_eq(tc_float_to_half(65504.0f), 0x7bff);
  ck_assert_uint_eq(tc_float_to_half(65520.0f), 0x7c00);
  ck_assert_uint_eq(tc_float_to_half(5.9604644775390625e-8f), 0x0001);
  ck_assert(tc_half_to_float(0x0001) == 5.9604644775390625e-8f);
  ck_assert(isnan(tc_half_to_float(tc_float_to_half(NAN))));
  ck_assert_uint_eq(tc_float_to_bf16(1.00390625f), 0x3f80); /* tie to even */
  tc_scope_pop();
  LEAK_END;
}
END_TEST

START_TEST(test_item_and_copy_out) {
  LEAK_BEGIN;
  tc_tensor *x = T_I64(SHAPE(2, 2), 2, 1, 2, 3, 4);
  int64_t v;
  ck_assert_int_eq(tc_item_int64(x, &v), TC_ERR_SHAPE);
  assert_error(TC_ERR_SHAPE, "4 elements");
  tc_tensor *t = tc_t(x);
  int64_t buf[4];
  ck_assert_int_eq(tc_tensor_copy_to_buffer(t, buf, sizeof buf), TC_OK);
  ck_assert_int_eq(buf[1], 3);
  ck_assert_int_eq(tc_tensor_copy_to_buffer(t, buf, 8), TC_ERR_ARG);
  tc_tensor_release(t);
  tc_tensor_release(x);
  LEAK_END;
}
END_TEST

START_TEST(test_null_propagation) {
  tc_clear_error();
  tc_tensor *bad = tc_zeros(SHAPE(-1), 1, NULL);
  ck_assert_ptr_null(bad);
  const char *first = "negative size -1";
  ck_assert_ptr_null(tc_unsqueeze(tc_transpose(bad, 0, 1), 0));
  assert_error(TC_ERR_SHAPE, first); /* the first message survives the chain */
  tc_clear_error();
  ck_assert_ptr_null(tc_view(NULL, SHAPE(1), 1));
  assert_error(TC_ERR_ARG, "tc_view: t is NULL");
}
END_TEST

START_TEST(test_scope_releases_temporaries) {
  LEAK_BEGIN;
  tc_scope_push();
  tc_tensor *keep = NULL;
  for (int i = 0; i < 10; i++) {
    tc_tensor *x = tc_ones(SHAPE(4, 4), 2, NULL);
    keep = tc_transpose(tc_unsqueeze(x, 0), 1, 2);
  }
  tc_scope_keep(keep);
  tc_scope_pop();
  ck_assert_ptr_nonnull(keep);
  ck_assert_int_eq(tc_tensor_numel(keep), 16);
  tc_tensor_release(keep);
  ck_assert_int_eq(tc_scope_depth(), 0);
  LEAK_END;
}
END_TEST

/* tc_scope_return: the inner scope's temporaries go, its result joins the outer scope */
static tc_tensor *inner_result(void) {
  tc_scope_push();
  tc_tensor *a = tc_ones(SHAPE(3), 1, NULL), *b = tc_add(a, a, 1.0);
  ck_assert_int_eq(tc_scope_depth(), 2);
  return tc_scope_return(tc_mul(b, b));
}

START_TEST(test_scope_return) {
  LEAK_BEGIN;
  int64_t live = tc_debug_live_allocations();
  tc_scope_push();
  tc_tensor *r = inner_result();
  ck_assert_int_eq(tc_scope_depth(), 1);
  ck_assert(r && ((const float *)tc_tensor_data(r))[2] == 4.0f);
  ck_assert_int_lt(tc_debug_live_allocations() - live, 6); /* a and b are gone already */
  tc_scope_pop(); /* releases r */
  ck_assert_ptr_null(tc_scope_return(NULL)); /* no scope, no tensor: nothing happens */
  tc_scope_push();
  tc_tensor *outer = inner_result();
  tc_scope_keep(outer); /* still a tensor of the outer scope that can be handed out */
  tc_scope_pop();
  tc_tensor_release(outer);
  LEAK_END;
}
END_TEST

static int make_views(void *ctx) {
  (void)ctx;
  tc_tensor *x = tc_arange(0, 12, 1, NULL);
  tc_tensor *v = tc_reshape(x, SHAPE(3, 4), 2);
  tc_tensor *p = tc_t(v);
  tc_tensor *c = tc_contiguous(p);
  tc_tensor *h = tc_to_dtype(c, TC_F16);
  tc_tensor_list l = {0};
  tc_status s = tc_chunk(h, 3, 1, &l);
  int rc = (x && v && p && c && h && s == TC_OK) ? 0 : 1;
  tc_tensor_list_clear(&l);
  tc_tensor *all[] = {x, v, p, c, h};
  for (int i = 0; i < 5; i++) tc_tensor_release(all[i]);
  return rc;
}

START_TEST(test_alloc_failures) { check_alloc_failures(make_views, NULL, "views"); }
END_TEST

int main(void) {
  Suite *s = suite_create("core_tensor");
  TCase *tc = tcase_create("tensor");
  tcase_add_test(tc, test_from_data_and_attributes);
  tcase_add_test(tc, test_from_blob_shares_memory);
  tcase_add_test(tc, test_views_share_storage);
  tcase_add_test(tc, test_squeeze_unsqueeze_chunk);
  tcase_add_test(tc, test_creation);
  tcase_add_test(tc, test_dtype_conversion);
  tcase_add_test(tc, test_item_and_copy_out);
  tcase_add_test(tc, test_null_propagation);
  tcase_add_test(tc, test_scope_releases_temporaries);
  tcase_add_test(tc, test_scope_return);
  tcase_add_test(tc, test_alloc_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
