/* transforms/src/transform.c — values and the transform object: create, apply, describe, destroy.
 *
 * A transform is a vtable plus state. tr_apply checks its arguments once here, so the transforms
 * themselves see a non-NULL input and an output to fill.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "transforms_internal.h"

struct tr_transform {
  const tr_transform_vtable *vt;
  void *state;
};

/* ---- values ------------------------------------------------------------------------------------- */
tr_value tr_tensor_value(tc_tensor *t) { return t ? (tr_value){.kind = TR_TENSOR, .tensor = t} : (tr_value){0}; }
tr_value tr_int_value(int64_t i) { return (tr_value){.kind = TR_INT, .i = i}; }
tr_value tr_float_value(double f) { return (tr_value){.kind = TR_FLOAT, .f = f}; }

tr_value tr_string_value(const char *s) {
  char *c = s ? tc_strdup(s) : NULL;
  return c ? (tr_value){.kind = TR_STRING, .s = c} : (tr_value){0};
}

tr_value tr_boxes_value(tc_tensor *boxes, int format, int64_t canvas_h, int64_t canvas_w) {
  return boxes ? (tr_value){.kind = TR_BOXES, .tensor = boxes, .format = format, .canvas = {canvas_h, canvas_w}}
               : (tr_value){0};
}

tr_value tr_mask_value(tc_tensor *mask) { return mask ? (tr_value){.kind = TR_MASK, .tensor = mask} : (tr_value){0}; }

tr_value tr_tuple_value(int64_t n, tr_value *items) {
  if (n < 0 || (n > 0 && !items)) {
    tc_set_error(TC_ERR_ARG, "tr_tuple_value: %s", n < 0 ? "negative item count" : "items is NULL");
    return (tr_value){0};
  }
  if (n == 0) return (tr_value){.kind = TR_TUPLE};
  tr_value *a = tc_malloc(sizeof(tr_value) * (size_t)n);
  if (!a) {
    tc_set_error(TC_ERR_NOMEM, "tr_tuple_value: out of memory for %lld items", (long long)n);
    for (int64_t i = 0; i < n; i++) tr_value_clear(&items[i]);
    return (tr_value){0};
  }
  for (int64_t i = 0; i < n; i++) a[i] = items[i], items[i] = (tr_value){0};
  return (tr_value){.kind = TR_TUPLE, .items = a, .n = n};
}

static bool holds_tensor(tr_kind k) { return k == TR_TENSOR || k == TR_BOXES || k == TR_MASK; }

tc_status tr_value_copy(tr_value *dst, const tr_value *src) {
  if (!dst || !src) return tc_set_error(TC_ERR_ARG, "tr_value_copy: %s is NULL", dst ? "src" : "dst");
  *dst = *src;
  if (holds_tensor(src->kind)) tc_tensor_retain(src->tensor);
  if (src->kind == TR_STRING && !(dst->s = tc_strdup(src->s))) {
    *dst = (tr_value){0};
    return tc_last_status();
  }
  if (src->kind == TR_TUPLE) {
    dst->items = src->n > 0 ? tc_calloc(sizeof(tr_value) * (size_t)src->n) : NULL;
    if (src->n > 0 && !dst->items) {
      *dst = (tr_value){0};
      return tc_last_status();
    }
    for (int64_t i = 0; i < src->n; i++) {
      tc_status s = tr_value_copy(&dst->items[i], &src->items[i]);
      if (s) {
        tr_value_clear(dst);
        return s;
      }
    }
  }
  return TC_OK;
}

void tr_value_clear(tr_value *v) {
  if (!v) return;
  if (holds_tensor(v->kind)) tc_tensor_release(v->tensor);
  if (v->kind == TR_STRING) tc_free(v->s);
  if (v->kind == TR_TUPLE) {
    for (int64_t i = 0; i < v->n; i++) tr_value_clear(&v->items[i]);
    tc_free(v->items);
  }
  *v = (tr_value){0};
}

const char *tr_kind_name(tr_kind k) {
  switch (k) {
    case TR_TENSOR: return "tensor";
    case TR_INT: return "int";
    case TR_FLOAT: return "float";
    case TR_STRING: return "string";
    case TR_BOXES: return "boxes";
    case TR_MASK: return "mask";
    case TR_TUPLE: return "tuple";
    default: return "none";
  }
}

/* ---- the object ----------------------------------------------------------------------------------- */
tr_transform *tr_transform_create(const tr_transform_vtable *vt, void *state) {
  if (!vt || !vt->apply || !vt->name) {
    tc_set_error(TC_ERR_ARG, "tr_transform_create: the vtable needs a name and an apply function");
    if (vt && vt->destroy) vt->destroy(state);
    return NULL;
  }
  tr_transform *t = tc_malloc(sizeof *t);
  if (!t) {
    if (vt->destroy) vt->destroy(state);
    return NULL;
  }
  t->vt = vt;
  t->state = state;
  return t;
}

void *tr_transform_state(const tr_transform *t) { return t ? t->state : NULL; }
const char *tr_name(const tr_transform *t) { return t ? t->vt->name : NULL; }

/* t's apply on the image of v, its first TR_TENSOR (depth first; *seen says whether it was met), in
 * place; every other item (boxes, masks, labels, other tensors) stays as it is, as torchvision
 * passes plain tensors beside an image. */
static tc_status map_image(tr_transform *t, tr_value *v, bool *seen, tc_generator *gen) {
  if (v->kind == TR_TUPLE) {
    for (int64_t i = 0; i < v->n; i++) {
      tc_status s = map_image(t, &v->items[i], seen, gen);
      if (s) return s;
    }
    return TC_OK;
  }
  if (v->kind != TR_TENSOR || *seen) return TC_OK;
  *seen = true;
  tr_value r = {0};
  tc_status s = t->vt->apply(t, v, &r, gen);
  if (s) {
    tr_value_clear(&r);
    return s;
  }
  tr_value_clear(v);
  *v = r;
  return TC_OK;
}

tc_status tr_apply_to_image(tr_transform *t, const tr_value *in, tr_value *out, tc_generator *gen) {
  if (out) *out = (tr_value){0};
  if (!t || !in || !out)
    return tc_set_error(TC_ERR_ARG, "tr_apply_to_image: %s is NULL", !t ? "the transform" : !in ? "in" : "out");
  if (in->kind != TR_TUPLE) return in->kind == TR_TENSOR ? t->vt->apply(t, in, out, gen) : tr_value_copy(out, in);
  bool seen = false;
  tc_status s = tr_value_copy(out, in);
  if (!s) s = map_image(t, out, &seen, gen);
  if (s) tr_value_clear(out);
  return s;
}

tc_status tr_apply(tr_transform *t, const tr_value *in, tr_value *out, tc_generator *gen) {
  if (out) *out = (tr_value){0};
  if (!t || !in || !out)
    return tc_set_error(TC_ERR_ARG, "tr_apply: %s is NULL", !t ? "the transform" : !in ? "in" : "out");
  tr_value r = {0};
  tc_status s;
  if (t->vt->joint)
    s = t->vt->apply(t, in, &r, gen);
  else if (in->kind == TR_TUPLE || in->kind == TR_BOXES || in->kind == TR_MASK) /* boxes and masks left alone */
    s = tr_apply_to_image(t, in, &r, gen);
  else
    s = t->vt->apply(t, in, &r, gen);
  if (s) {
    tr_value_clear(&r);
    return s;
  }
  *out = r;
  return TC_OK;
}

char *tr_describe(const tr_transform *t) {
  if (!t) {
    tc_set_error(TC_ERR_ARG, "tr_describe: the transform is NULL");
    return NULL;
  }
  if (t->vt->describe) return t->vt->describe(t);
  return tr__printf("%s()", t->vt->name);
}

void tr_destroy(tr_transform *t) {
  if (!t) return;
  if (t->vt->destroy) t->vt->destroy(t->state);
  tc_free(t);
}

/* ---- helpers ---------------------------------------------------------------------------------------- */
char *tr__printf(const char *fmt, ...) {
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = n >= 0 ? tc_malloc((size_t)n + 1) : NULL;
  if (s) vsnprintf(s, (size_t)n + 1, fmt, aq);
  va_end(aq);
  return s;
}

void tr__destroy_all(int64_t n, tr_transform *const *ts) {
  for (int64_t i = 0; ts && i < n; i++) tr_destroy(ts[i]);
}

tc_status tr__need_gen(const char *fn, const tc_generator *gen) {
  if (gen) return TC_OK;
  return tc_set_error(TC_ERR_ARG, "%s: a random transform needs a generator (got NULL)", fn);
}
