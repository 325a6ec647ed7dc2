/* transforms/src/generic.c — ToDtype (with torchvision's scaling), one-hot labels, pad/truncate.
 *
 * ToDtype(dtype, scale) follows torchvision.transforms.v2.functional.to_dtype_image:
 *   same dtype: the input itself; scale false: a plain conversion;
 *   float -> float: a conversion;   int -> float: x.to(dtype) * (1 / max(input dtype));
 *   float -> int: (x * (max(dtype) + 1 - 1e-3)).to(dtype), refused for float32 -> int32/int64 and
 *                 float64 -> int64 (torchvision: not exact);
 *   int -> int: a right shift (floor division by 2^k) or left shift (multiply by 2^k, wrapping) by
 *               the difference of the value bits (uint8 8, int8 7, int16 15, uint16 16, int32 31,
 *               int64 63).
 * bool counts as an integer type with maximum 1, as torchvision's _max_value falls back to.
 */
#include <math.h>
#include <string.h>
#include "transforms_internal.h"

/* ---- ToDtype --------------------------------------------------------------------------------------- */
typedef struct {
  tc_dtype dtype;
  bool scale;
} to_dtype_state;

static double max_value(tc_dtype d) {
  switch (d) {
    case TC_U8: return 255;
    case TC_I8: return 127;
    case TC_I16: return 32767;
    case TC_U16: return 65535;
    case TC_I32: return 2147483647.0;
    case TC_I64: return 9223372036854775807.0;
    default: return 1;
  }
}

static int value_bits(tc_dtype d) {
  switch (d) {
    case TC_U8: return 8;
    case TC_I8: return 7;
    case TC_I16: return 15;
    case TC_U16: return 16;
    case TC_I32: return 31;
    case TC_I64: return 63;
    default: return 1; /* bool */
  }
}

/* v as a 0-d tensor (ints int64, floats float32/float64 by value kind, as torch.tensor would) */
static tc_tensor *as_tensor(const char *fn, const tr_value *v) {
  switch (v->kind) {
    case TR_TENSOR: return tc_tensor_retain(v->tensor);
    case TR_INT: return tc_scalar_tensor((double)v->i, TC_OPTS(.dtype = TC_I64));
    case TR_FLOAT: return tc_scalar_tensor(v->f, TC_OPTS(.dtype = TC_F32));
    default:
      tc_set_error(TC_ERR_ARG, "%s: expected a tensor or a number, got a %s value", fn, tr_kind_name(v->kind));
      return NULL;
  }
}

static tc_tensor *scale_dtype(const tc_tensor *x, tc_dtype to) {
  tc_dtype from = tc_tensor_dtype(x);
  bool fin = tc_dtype_is_floating(from), fout = tc_dtype_is_floating(to);
  if (fin && fout) return tc_to_dtype(x, to);
  if (fin) {
    if ((from == TC_F32 && (to == TC_I32 || to == TC_I64)) || (from == TC_F64 && to == TC_I64)) {
      tc_set_error(TC_ERR_DTYPE, "ToDtype: the conversion from %s to %s cannot be performed safely",
                   tc_dtype_name(from), tc_dtype_name(to));
      return NULL;
    }
    tc_tensor *m = tc_mul_scalar(x, max_value(to) + 1.0 - 1e-3);
    tc_tensor *r = tc_to_dtype(m, to);
    tc_tensor_release(m);
    return r;
  }
  if (fout && from == TC_U8 && to == TC_F32 && tc_tensor_is_contiguous(x) &&
      tc_tensor_device(x).type == TC_DEVICE_CPU) { /* images: one pass, the same float products */
    tc_tensor *r = tc_empty(tc_tensor_shape(x), tc_tensor_ndim(x), TC_OPTS(.dtype = TC_F32));
    if (!r) return NULL;
    const uint8_t *restrict src = tc_tensor_data(x);
    float *restrict dst = tc_tensor_data(r);
    const float k = (float)(1.0 / 255.0);
    for (int64_t i = 0, n = tc_tensor_numel(x); i < n; i++) dst[i] = (float)src[i] * k;
    return r;
  }
  if (fout) {
    tc_tensor *c = tc_to_dtype(x, to);
    tc_tensor *r = tc_mul_scalar(c, 1.0 / max_value(from));
    tc_tensor_release(c);
    return r;
  }
  int bin = value_bits(from), bout = value_bits(to);
  if (bin > bout) { /* right shift, then convert */
    tc_tensor *k = tc_scalar_tensor(ldexp(1.0, bin - bout), TC_OPTS(.dtype = from, .device = tc_tensor_device(x)));
    tc_tensor *q = k ? tc_div_mode(x, k, TC_ROUND_FLOOR) : NULL;
    tc_tensor *r = q ? tc_to_dtype(q, to) : NULL;
    tc_tensor_release(k);
    tc_tensor_release(q);
    return r;
  }
  tc_tensor *c = tc_to_dtype(x, to); /* convert, then left shift */
  tc_tensor *r = c && bout > bin ? tc_mul_scalar(c, ldexp(1.0, bout - bin)) : tc_tensor_retain(c);
  tc_tensor_release(c);
  return r;
}

static tc_status to_dtype_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const to_dtype_state *s = tr_transform_state(self);
  tc_tensor *x = as_tensor("ToDtype", in);
  if (!x) return tc_last_status();
  tc_tensor *r = tc_tensor_dtype(x) == s->dtype ? tc_tensor_retain(x)
                 : s->scale                      ? scale_dtype(x, s->dtype)
                                                 : tc_to_dtype(x, s->dtype);
  tc_tensor_release(x);
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

static char *to_dtype_describe(const tr_transform *self) {
  const to_dtype_state *s = tr_transform_state(self);
  return tr__printf("ToDtype(dtype=%s, scale=%s)", tc_dtype_name(s->dtype), s->scale ? "True" : "False");
}

static void free_state(void *s) { tc_free(s); }

static const tr_transform_vtable to_dtype_vt = {"ToDtype", to_dtype_apply, to_dtype_describe, free_state, false};

tr_transform *tr_to_dtype(tc_dtype dtype, bool scale) {
  if ((int)dtype < 0 || dtype >= TC_NUM_DTYPES || dtype == TC_C64) {
    tc_set_error(TC_ERR_DTYPE, "tr_to_dtype: invalid or unsupported dtype %d", (int)dtype);
    return NULL;
  }
  to_dtype_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (to_dtype_state){dtype, scale};
  return tr_transform_create(&to_dtype_vt, s);
}

/* ---- one-hot ---------------------------------------------------------------------------------------- */
static tc_status one_hot_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const int64_t nc = *(const int64_t *)tr_transform_state(self);
  int64_t label;
  if (in->kind == TR_INT) {
    label = in->i;
  } else if (in->kind == TR_TENSOR && tc_tensor_numel(in->tensor) == 1 && tc_tensor_ndim(in->tensor) <= 1 &&
             !tc_dtype_is_floating(tc_tensor_dtype(in->tensor)) && tc_tensor_dtype(in->tensor) != TC_BOOL) {
    tc_status st = tc_item_int64(in->tensor, &label);
    if (st) return st;
  } else {
    return tc_set_error(TC_ERR_ARG, "OneHot: expected a class label (an int or a one-element integer tensor), got %s",
                        in->kind == TR_TENSOR ? "a tensor of another shape or dtype" : tr_kind_name(in->kind));
  }
  if (label < 0 || label >= nc)
    return tc_set_error(TC_ERR_ARG, "OneHot: label %lld is out of range for %lld classes", (long long)label,
                        (long long)nc);
  tc_tensor *v = tc_zeros(&nc, 1, TC_OPTS(.dtype = TC_F32));
  if (!v) return tc_last_status();
  ((float *)tc_tensor_data(v))[label] = 1.0f;
  *out = tr_tensor_value(v);
  return TC_OK;
}

static char *one_hot_describe(const tr_transform *self) {
  return tr__printf("OneHot(num_classes=%lld)", (long long)*(const int64_t *)tr_transform_state(self));
}

static const tr_transform_vtable one_hot_vt = {"OneHot", one_hot_apply, one_hot_describe, free_state, false};

tr_transform *tr_one_hot(int64_t num_classes) {
  if (num_classes < 1) {
    tc_set_error(TC_ERR_ARG, "tr_one_hot: num_classes must be >= 1, got %lld", (long long)num_classes);
    return NULL;
  }
  int64_t *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = num_classes;
  return tr_transform_create(&one_hot_vt, s);
}

/* ---- pad / truncate ------------------------------------------------------------------------------- */
typedef struct {
  int64_t dim, length;
  double value;
} pad_state;

static tc_status pad_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const pad_state *s = tr_transform_state(self);
  if (in->kind != TR_TENSOR)
    return tc_set_error(TC_ERR_ARG, "PadTruncate: expected a tensor, got a %s value", tr_kind_name(in->kind));
  const tc_tensor *x = in->tensor;
  int64_t nd = tc_tensor_ndim(x), d = s->dim < 0 ? s->dim + nd : s->dim;
  if (d < 0 || d >= nd)
    return tc_set_error(TC_ERR_ARG, "PadTruncate: dim %lld is out of range for a tensor of %lld dims",
                        (long long)s->dim, (long long)nd);
  int64_t size = tc_tensor_shape(x)[d];
  tc_tensor *r;
  if (size >= s->length) {
    tc_tensor *v = tc_narrow(x, d, 0, s->length);
    r = v ? tc_contiguous(v) : NULL;
    tc_tensor_release(v);
  } else { /* F.pad pairs count from the last dim: (0, extra) for dim d, zeros after it */
    int64_t pad[2 * TC_MAX_DIMS] = {0};
    int64_t npairs = nd - d;
    pad[2 * (npairs - 1) + 1] = s->length - size;
    r = tc_pad(x, pad, 2 * npairs, TC_PAD_CONSTANT, s->value);
  }
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

static char *pad_describe(const tr_transform *self) {
  const pad_state *s = tr_transform_state(self);
  return tr__printf("PadTruncate(dim=%lld, length=%lld, value=%g)", (long long)s->dim, (long long)s->length, s->value);
}

static const tr_transform_vtable pad_vt = {"PadTruncate", pad_apply, pad_describe, free_state, false};

tr_transform *tr_pad_truncate(int64_t dim, int64_t length, double value) {
  if (length < 0) {
    tc_set_error(TC_ERR_ARG, "tr_pad_truncate: length must be >= 0, got %lld", (long long)length);
    return NULL;
  }
  pad_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (pad_state){dim, length, value};
  return tr_transform_create(&pad_vt, s);
}
