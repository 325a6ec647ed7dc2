/* vision/src/boxes_transforms.c — the transforms of torchvision.transforms.v2 that act on bounding
 * boxes alone: ClampBoundingBoxes and ConvertBoundingBoxFormat. They change the TR_BOXES items of a
 * value (or a TR_BOXES value itself) and pass everything else through. */
#include "ctorch/vision_boxes.h"
#include "transforms_internal.h"

typedef struct {
  bool convert; /* ConvertBoundingBoxFormat (else ClampBoundingBoxes) */
  tv_box_format format;
} boxes_state;

static tc_status one_boxes(const boxes_state *s, const tr_value *in, tr_value *out) {
  tv_box_format f = (tv_box_format)in->format;
  tc_tensor *r = s->convert ? tv_box_convert(in->tensor, f, s->format)
                            : tv_boxes_clamp(in->tensor, f, in->canvas[0], in->canvas[1]);
  if (!r) return tc_last_status();
  *out = tr_boxes_value(r, s->convert ? (int)s->format : in->format, in->canvas[0], in->canvas[1]);
  return TC_OK;
}

/* the boxes of v (nested tuples included) changed in place */
static tc_status boxes_in_place(const boxes_state *s, tr_value *v) {
  if (v->kind == TR_TUPLE) {
    for (int64_t i = 0; i < v->n; i++) {
      tc_status st = boxes_in_place(s, &v->items[i]);
      if (st) return st;
    }
    return TC_OK;
  }
  if (v->kind != TR_BOXES) return TC_OK;
  tr_value r = {0};
  tc_status st = one_boxes(s, v, &r);
  if (!st) tr_value_clear(v), *v = r;
  return st;
}

static tc_status boxes_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  (void)gen;
  const boxes_state *s = tr_transform_state(self);
  if (in->kind == TR_BOXES) return one_boxes(s, in, out);
  tc_status st = tr_value_copy(out, in);
  if (!st) st = boxes_in_place(s, out);
  if (st) tr_value_clear(out);
  return st;
}

static char *boxes_describe(const tr_transform *self) {
  static const char *const names[] = {"XYXY", "XYWH", "CXCYWH"};
  const boxes_state *s = tr_transform_state(self);
  if (!s->convert) return tv__printf("ClampBoundingBoxes()");
  return tv__printf("ConvertBoundingBoxFormat(format=BoundingBoxFormat.%s)", names[s->format]);
}

static const tr_transform_vtable clamp_vt = {"ClampBoundingBoxes", boxes_apply, boxes_describe, tv__free_state, true};
static const tr_transform_vtable convert_vt = {"ConvertBoundingBoxFormat", boxes_apply, boxes_describe,
                                               tv__free_state, true};

static tr_transform *make(const tr_transform_vtable *vt, bool convert, tv_box_format format) {
  boxes_state *s = tc_calloc(sizeof *s);
  if (!s) return NULL;
  s->convert = convert, s->format = format;
  return tr_transform_create(vt, s);
}

tr_transform *tv_clamp_boxes_transform(void) { return make(&clamp_vt, false, TV_BOX_XYXY); }

tr_transform *tv_convert_box_format_transform(tv_box_format format) {
  if ((int)format < TV_BOX_XYXY || format > TV_BOX_CXCYWH) {
    tc_set_error(TC_ERR_ARG, "tv_convert_box_format_transform: unknown box format %d", (int)format);
    return NULL;
  }
  return make(&convert_vt, true, format);
}
