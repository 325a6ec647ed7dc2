/* ctorch/vision_boxes.h — bounding boxes through the geometric transforms, as
 * torchvision.transforms.v2.functional's *_bounding_boxes kernels (soft clamping, the default).
 *
 * Boxes are a tensor (..., 4) of any real dtype in one of the three formats of tv_box_format
 * (vision_ops.h: XYXY corners, XYWH, CXCYWH), lying on a canvas of (canvas_h, canvas_w) pixels: the
 * size of the image they belong to. Every function returns new boxes of the same shape, dtype and
 * format; integer boxes are computed in floating point and truncated back, as torchvision's .to().
 * The arithmetic is done in double (torchvision works in the boxes' dtype: float32 results agree to
 * float32 rounding; integer boxes, which torchvision moves through float32, can differ by one where a
 * float32 rounding decides the truncation, except in resize, which rounds as torchvision does).
 *
 * Which results are clamped to the canvas follows torchvision: crop, pad, affine/rotate,
 * perspective and elastic clamp (x to [0, W], y to [0, H]); flips and resize do not. A box that
 * leaves the canvas entirely ends up with zero width or height (torchvision keeps it too;
 * SanitizeBoundingBoxes-style filtering is the caller's).
 *
 *   // a detection sample: image (3, H, W), boxes (N, 4) XYXY
 *   tc_tensor *img2 = tv_horizontal_flip(img);
 *   tc_tensor *boxes2 = tv_boxes_horizontal_flip(boxes, TV_BOX_XYXY, W);
 *   // or through a transform, with the image and its targets in one value (vision_transforms.h):
 *   //   tr_value items[3] = {tr_tensor_value(img), tr_boxes_value(boxes, TV_BOX_XYXY, H, W), tr_mask_value(mask)};
 *   //   tr_apply(random_resized_crop, &(tr_value){.kind = TR_TUPLE, .items = items, .n = 3}, &out, gen);
 *
 * Masks are images: the same image functions with NEAREST interpolation, no antialias, and the
 * transform's fill (0 when none is given; a fill of several values is refused for masks), as the
 * transforms do for TR_MASK values. In a tuple, the image is the first TR_TENSOR; other tensors
 * (labels) pass through, and the image, masks and boxes' canvases must agree on their size (else
 * TC_ERR_SHAPE, as torchvision's "multiple HxW dimensions"). After RandomRotation(expand=True) the
 * boxes' canvas is the rotated image's size (torchvision's can be a pixel off it).
 */
#ifndef CTORCH_VISION_BOXES_H
#define CTORCH_VISION_BOXES_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/transforms.h"
#include "ctorch/vision_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Clamped to the canvas: x to [0, canvas_w], y to [0, canvas_h] (in XYXY, then back). */
TC_API tc_tensor *tv_boxes_clamp(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w);
/* Mirrored as the image by tv_horizontal_flip (x -> canvas_w - x) / tv_vertical_flip. */
TC_API tc_tensor *tv_boxes_horizontal_flip(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_w);
TC_API tc_tensor *tv_boxes_vertical_flip(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h);
/* The canvas (h, w) resized to (new_h, new_w): x times new_w / w, y times new_h / h (any format). */
TC_API tc_tensor *tv_boxes_resize(const tc_tensor *boxes, int64_t h, int64_t w, int64_t new_h, int64_t new_w);
/* tv_crop's window (top, left, h, w) (it may reach outside the canvas): moved by (-left, -top) and
 * clamped to (h, w). */
TC_API tc_tensor *tv_boxes_crop(const tc_tensor *boxes, tv_box_format fmt, int64_t top, int64_t left, int64_t h,
                                int64_t w);
/* crop, then resize of the (h, w) window to (out_h, out_w) (tv_resized_crop). */
TC_API tc_tensor *tv_boxes_resized_crop(const tc_tensor *boxes, tv_box_format fmt, int64_t top, int64_t left,
                                        int64_t h, int64_t w, int64_t out_h, int64_t out_w);
/* tv_pad's constant padding (left, top, right, bottom) of a (canvas_h, canvas_w) canvas: moved by
 * (left, top) and clamped to the padded canvas. */
TC_API tc_tensor *tv_boxes_pad(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                               const int64_t ltrb[4]);
/* tv_affine's transform (center NULL: the canvas center, else (x, y) in pixels): each box's four
 * corners are mapped and their bounding box taken, then clamped. expand (for rotate): the canvas grows
 * as tv_rotate's with expand and the boxes move with it; out_h/out_w (may be NULL) receive the
 * resulting canvas. */
TC_API tc_tensor *tv_boxes_affine(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                                  double angle, double translate_x, double translate_y, double scale, double shear_x,
                                  double shear_y, const double *center, bool expand, int64_t *out_h, int64_t *out_w);
/* tv_rotate's rotation by angle degrees counter-clockwise (the affine above with -angle). */
TC_API tc_tensor *tv_boxes_rotate(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                                  double angle, bool expand, const double *center, int64_t *out_h, int64_t *out_w);
/* tv_perspective's coefficients (tv_perspective_coeffs): the corners go through the inverse
 * mapping, then the bounding box and the clamp. TC_ERR_ARG when the coefficients cannot be inverted. */
TC_API tc_tensor *tv_boxes_perspective(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                                       const double coeffs[8]);
/* tv_elastic's displacement (1, canvas_h, canvas_w, 2): each corner (rounded up to a pixel) moves by
 * the approximate inverse field (identity grid - displacement), then the bounding box and the clamp. */
TC_API tc_tensor *tv_boxes_elastic(const tc_tensor *boxes, tv_box_format fmt, int64_t canvas_h, int64_t canvas_w,
                                   const tc_tensor *displacement);

/* torchvision.transforms.v2.ClampBoundingBoxes / ConvertBoundingBoxFormat: change the TR_BOXES items
 * of a value (a tuple, or TR_BOXES itself); everything else passes through. */
TC_API tr_transform *tv_clamp_boxes_transform(void);
TC_API tr_transform *tv_convert_box_format_transform(tv_box_format format);

#ifdef __cplusplus
}
#endif
#endif
