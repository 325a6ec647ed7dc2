/* vision/src/transforms_joint.c — one geometric operation applied to an image and its targets.
 *
 * A geometric transform draws its random parameters once (from the size of the value: its first
 * image, else its first mask, else its boxes' canvas), resolves them into a tv__geo and hands it
 * here. A plain image is transformed as before; a TR_TUPLE has every item transformed by the same
 * operation, as torchvision.transforms.v2 does for (image, boxes, mask):
 *   TR_TENSOR  the image function;
 *   TR_MASK    the same function with NEAREST interpolation and no antialias (torchvision's *_mask
 *              kernels), integer masks through float32 (exact below 2^24), (H, W) masks as (1, H, W);
 *   TR_BOXES   the tv_boxes_ function (vision_boxes.h), the canvas following the image;
 *   others     copied.
 */
#include <string.h>
#include "ctorch/vision_augment.h"
#include "ctorch/vision_boxes.h"
#include "augment_internal.h"
#include "transforms_internal.h"

/* ---- the sizes of a value ------------------------------------------------------------------------
 * A tuple's image is its first TR_TENSOR (depth first, nested tuples included); any other plain
 * tensor (labels, scores) passes through every transform untouched, as torchvision treats plain
 * tensors beside an image. The image, every mask and every boxes' canvas must agree on (H, W). */
typedef struct {
  const char *fn;
  bool have, image_seen;
  int64_t h, w;
  const char *first; /* what set (h, w) */
} size_walk;

static tc_status agree(size_walk *sw, const char *what, int64_t h, int64_t w) {
  if (!sw->have) {
    sw->have = true, sw->h = h, sw->w = w, sw->first = what;
    return TC_OK;
  }
  if (h == sw->h && w == sw->w) return TC_OK;
  return tc_set_error(TC_ERR_SHAPE, "%s: found multiple HxW dimensions in the sample: %s %lldx%lld and %s %lldx%lld",
                      sw->fn, sw->first, (long long)sw->h, (long long)sw->w, what, (long long)h, (long long)w);
}

static tc_status walk_sizes(size_walk *sw, const tr_value *v) {
  if (v->kind == TR_TUPLE) {
    for (int64_t i = 0; i < v->n; i++) {
      tc_status st = walk_sizes(sw, &v->items[i]);
      if (st) return st;
    }
    return TC_OK;
  }
  if (v->kind == TR_BOXES && v->tensor) return agree(sw, "a boxes canvas", v->canvas[0], v->canvas[1]);
  bool image = v->kind == TR_TENSOR && v->tensor && !sw->image_seen;
  if (!image && !(v->kind == TR_MASK && v->tensor)) return TC_OK;
  if (image) sw->image_seen = true;
  int64_t nd = tc_tensor_ndim(v->tensor);
  if (nd < 2)
    return tc_set_error(TC_ERR_SHAPE, "%s: an image or mask needs at least 2 dims, got %lld", sw->fn, (long long)nd);
  return agree(sw, image ? "the image" : "a mask", tc_tensor_shape(v->tensor)[nd - 2], tc_tensor_shape(v->tensor)[nd - 1]);
}

tc_status tv__value_size(const char *fn, const tr_value *in, int64_t *h, int64_t *w) {
  size_walk sw = {.fn = fn};
  tc_status st = walk_sizes(&sw, in);
  if (st) return st;
  if (!sw.have)
    return tc_set_error(TC_ERR_ARG, "%s: expected an image tensor, got a %s value%s", fn, tr_kind_name(in->kind),
                        in->kind == TR_TUPLE ? " without an image, mask or boxes"
                                             : " (boxes, masks and tuples are taken too)");
  *h = sw.h, *w = sw.w;
  return TC_OK;
}

tc_status tv__refuse_targets(const char *fn, const tr_value *in) {
  if (in->kind == TR_BOXES || in->kind == TR_MASK)
    return tc_set_error(TC_ERR_UNSUPPORTED, "%s: bounding boxes and masks are not supported (as in torchvision)", fn);
  for (int64_t i = 0; in->kind == TR_TUPLE && i < in->n; i++) {
    tc_status st = tv__refuse_targets(fn, &in->items[i]);
    if (st) return st;
  }
  return TC_OK;
}

tc_status tv__map_images(const char *fn, tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  tc_status st = tv__refuse_targets(fn, in);
  return st ? st : tr_apply_to_image(self, in, out, gen);
}

/* the image function of op on x (interp overridden for masks) */
static tc_tensor *geo_image(const tv__geo *op, const tc_tensor *x, bool mask) {
  const tv_interp ip = mask ? TV_INTERP_NEAREST : op->interp;
  const tv_fill fill = op->fill; /* masks too, as torchvision's single fill value */
  switch (op->kind) {
    case TV_GEO_HFLIP: return tv_horizontal_flip(x);
    case TV_GEO_VFLIP: return tv_vertical_flip(x);
    case TV_GEO_RESIZE: return tv_resize(x, op->out_h, op->out_w, ip, mask ? false : op->antialias);
    case TV_GEO_CROP: return tv_crop(x, op->top, op->left, op->h, op->w);
    case TV_GEO_PAD: {
      const double zero = 0;
      if (mask && op->nvals > 1) {
        tc_set_error(TC_ERR_ARG, "Pad: a fill of %lld values is not supported for masks (as in torchvision)",
                     (long long)op->nvals);
        return NULL;
      }
      return tv_pad(x, op->ltrb, 4, op->mode, mask ? (op->nvals ? op->vals : &zero) : op->vals, mask ? 1 : op->nvals);
    }
    case TV_GEO_RESIZED_CROP:
      return tv_resized_crop(x, op->top, op->left, op->h, op->w, op->out_h, op->out_w, ip,
                             mask ? false : op->antialias);
    case TV_GEO_AFFINE:
      return tv_affine(x, op->angle, op->tx, op->ty, op->scale, op->shx, op->shy, ip, fill, op->center);
    case TV_GEO_ROTATE: return tv_rotate(x, op->angle, ip, op->expand, op->center, fill);
    case TV_GEO_PERSPECTIVE: return tv_perspective(x, op->coeffs, ip, fill);
    case TV_GEO_ELASTIC: return tv_elastic(x, op->displacement, ip, fill);
  }
  tc_set_error(TC_ERR_ARG, "geometric op %d is unknown", (int)op->kind);
  return NULL;
}

/* a mask through op: (H, W) as (1, H, W), integer dtypes other than uint8 through float32 */
static tc_tensor *geo_mask(const tv__geo *op, const tc_tensor *m) {
  tc_dtype dt = tc_tensor_dtype(m);
  bool flat = tc_tensor_ndim(m) == 2, via_float = dt != TC_U8 && !tc_dtype_is_floating(dt);
  tc_tensor *a = flat ? tc_unsqueeze(m, 0) : tc_tensor_retain((tc_tensor *)m);
  tc_tensor *b = a && via_float ? tc_to_dtype(a, TC_F32) : tc_tensor_retain(a);
  tc_tensor *r = b ? geo_image(op, b, true) : NULL;
  tc_tensor *c = r && via_float ? tc_to_dtype(r, dt) : tc_tensor_retain(r);
  tc_tensor *d = c && flat ? tc_squeeze_dim(c, 0) : tc_tensor_retain(c);
  tc_tensor_release(a);
  tc_tensor_release(b);
  tc_tensor_release(r);
  tc_tensor_release(c);
  return d;
}

/* boxes through op; the new canvas in *v */
static tc_tensor *geo_boxes(const char *fn, const tv__geo *op, tr_value *v) {
  const tc_tensor *b = v->tensor;
  tv_box_format f = (tv_box_format)v->format;
  int64_t H = v->canvas[0], W = v->canvas[1], nh = H, nw = W;
  tc_tensor *r = NULL;
  switch (op->kind) {
    case TV_GEO_HFLIP: r = tv_boxes_horizontal_flip(b, f, W); break;
    case TV_GEO_VFLIP: r = tv_boxes_vertical_flip(b, f, H); break;
    case TV_GEO_RESIZE: r = tv_boxes_resize(b, H, W, op->out_h, op->out_w), nh = op->out_h, nw = op->out_w; break;
    case TV_GEO_CROP: r = tv_boxes_crop(b, f, op->top, op->left, op->h, op->w), nh = op->h, nw = op->w; break;
    case TV_GEO_PAD:
      if (op->mode != TV_PAD_CONSTANT) {
        tc_set_error(TC_ERR_UNSUPPORTED, "%s: only constant padding is supported with bounding boxes (as in torchvision)",
                     fn);
        return NULL;
      }
      r = tv_boxes_pad(b, f, H, W, op->ltrb), nh = H + op->ltrb[1] + op->ltrb[3], nw = W + op->ltrb[0] + op->ltrb[2];
      break;
    case TV_GEO_RESIZED_CROP:
      r = tv_boxes_resized_crop(b, f, op->top, op->left, op->h, op->w, op->out_h, op->out_w);
      nh = op->out_h, nw = op->out_w;
      break;
    case TV_GEO_AFFINE:
      r = tv_boxes_affine(b, f, H, W, op->angle, op->tx, op->ty, op->scale, op->shx, op->shy, op->center, false, NULL,
                          NULL);
      break;
    case TV_GEO_ROTATE:
      r = tv_boxes_rotate(b, f, H, W, op->angle, op->expand, op->center, &nh, &nw);
      if (r && op->expand) { /* the canvas of the rotated image (torchvision's boxes canvas can be a pixel off it) */
        int64_t ih, iw;
        aug_rotated_size(H, W, op->angle, true, op->center, &ih, &iw);
        if (ih != nh || iw != nw) {
          tc_tensor *c = tv_boxes_clamp(r, f, ih, iw);
          tc_tensor_release(r);
          r = c, nh = ih, nw = iw;
        }
      }
      break;
    case TV_GEO_PERSPECTIVE: r = tv_boxes_perspective(b, f, H, W, op->coeffs); break;
    case TV_GEO_ELASTIC: r = tv_boxes_elastic(b, f, H, W, op->displacement); break;
  }
  if (r) v->canvas[0] = nh, v->canvas[1] = nw;
  return r;
}

/* op over the items of v in place: the first TR_TENSOR (the image; *seen), masks and boxes, nested
 * tuples included; other items as they are */
static tc_status geo_items(const char *fn, const tv__geo *op, tr_value *v, bool *seen) {
  if (v->kind == TR_TUPLE) {
    for (int64_t i = 0; i < v->n; i++) {
      tc_status st = geo_items(fn, op, &v->items[i], seen);
      if (st) return st;
    }
    return TC_OK;
  }
  bool image = v->kind == TR_TENSOR && !*seen;
  if (!image && v->kind != TR_MASK && v->kind != TR_BOXES) return TC_OK;
  if (image) *seen = true;
  tr_value r = {0};
  tc_status st = tv__geo_apply(fn, op, v, &r);
  if (st) return st;
  tr_value_clear(v);
  *v = r;
  return TC_OK;
}

tc_status tv__geo_apply(const char *fn, const tv__geo *op, const tr_value *in, tr_value *out) {
  if (in->kind == TR_TENSOR || in->kind == TR_MASK) {
    tc_tensor *r = in->kind == TR_MASK ? geo_mask(op, in->tensor) : geo_image(op, in->tensor, false);
    if (!r) return tc_last_status();
    *out = in->kind == TR_MASK ? tr_mask_value(r) : tr_tensor_value(r);
    return TC_OK;
  }
  if (in->kind == TR_BOXES) {
    tr_value v = *in;
    tc_tensor *r = geo_boxes(fn, op, &v);
    if (!r) return tc_last_status();
    *out = tr_boxes_value(r, v.format, v.canvas[0], v.canvas[1]);
    return TC_OK;
  }
  if (in->kind != TR_TUPLE)
    return tc_set_error(TC_ERR_ARG, "%s: expected an image tensor, boxes, a mask or a tuple of them, got a %s value", fn,
                        tr_kind_name(in->kind));
  bool seen = false;
  tc_status st = tr_value_copy(out, in);
  if (!st) st = geo_items(fn, op, out, &seen);
  if (st) tr_value_clear(out);
  return st;
}
