/* ctorch/vision_ops.h — detection ops and image utilities, as torchvision.ops and torchvision.utils.
 *
 * Boxes are (N, 4) floating tensors (float32 or float64), by default in (x1, y1, x2, y2) corner form
 * ("xyxy"). Results follow torchvision number for number: the box arithmetic is done in the boxes'
 * dtype with the same operations, nms sorts scores descending with a stable sort and suppresses
 * boxes whose IoU with a kept box is > iou_threshold, roi_align/roi_pool reproduce the CPU kernels.
 *
 *   // boxes (N, 4) f32, scores (N) f32, labels (N) i64
 *   tc_tensor *keep = tv_batched_nms(boxes, scores, labels, 0.5);   // (K) int64, by score descending
 *   tc_tensor *iou = tv_box_iou(boxes, boxes);                       // (N, N)
 *   // features (B, C, H, W), rois (K, 5) rows (batch index, x1, y1, x2, y2)
 *   tc_tensor *pooled = tv_roi_align(features, rois, 7, 7, 1.0 / 16, -1, true);   // (K, C, 7, 7)
 *   tc_tensor *grid = tv_make_grid(images, 8, 2, false, NULL, false, 0.0);      // images (B, C, H, W)
 *
 * Ownership and errors as everywhere in ctorch: arguments are borrowed, returned tensors are new
 * references, NULL on failure with tc_last_error() naming the function and the offending values.
 * All functions are thread-safe (they keep no state). The box ops built from tensor ops (area, iou,
 * convert, clip) record autograd; roi_align and roi_pool record autograd when their input requires
 * grad (see there); nms, make_grid and draw_bounding_boxes do not.
 */
#ifndef CTORCH_VISION_OPS_H
#define CTORCH_VISION_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- boxes ----------------------------------------------------------------------------------------- */
typedef enum tv_box_format {
  TV_BOX_XYXY = 0, /* x1, y1, x2, y2 (corners) */
  TV_BOX_XYWH,     /* x1, y1, width, height */
  TV_BOX_CXCYWH    /* center x, center y, width, height */
} tv_box_format;

/* box_area: (x2 - x1) * (y2 - y1) of (N, 4) xyxy boxes -> (N). */
TC_API tc_tensor *tv_box_area(const tc_tensor *boxes);
/* box_iou: pairwise IoU of (N, 4) and (M, 4) xyxy boxes -> (N, M) (0/0 gives NaN, as torchvision). */
TC_API tc_tensor *tv_box_iou(const tc_tensor *boxes1, const tc_tensor *boxes2);
/* box_convert between the three formats (a copy when in == out). */
TC_API tc_tensor *tv_box_convert(const tc_tensor *boxes, tv_box_format in, tv_box_format out);
/* clip_boxes_to_image: x clamped to [0, width], y to [0, height]; boxes (..., 4) xyxy. */
TC_API tc_tensor *tv_clip_boxes_to_image(const tc_tensor *boxes, int64_t height, int64_t width);
/* remove_small_boxes: int64 indices (ascending) of the boxes whose width and height are both
 * >= min_size (compared in the boxes' dtype). */
TC_API tc_tensor *tv_remove_small_boxes(const tc_tensor *boxes, double min_size);

/* nms: indices (int64, by decreasing score) of the boxes kept by greedy non-maximum suppression.
 * boxes (N, 4) xyxy and scores (N) of one floating dtype; a box is dropped when its IoU with an
 * already kept box is > iou_threshold. Ties in score keep their input order (stable sort). */
TC_API tc_tensor *tv_nms(const tc_tensor *boxes, const tc_tensor *scores, double iou_threshold);
/* batched_nms: nms within each category idxs (N) (any integer dtype), as torchvision: for
 * boxes.numel() <= 4000 every box is offset by idx * (max coordinate + 1) and one nms runs on the
 * offset boxes; above that, nms runs per category and the kept indices are sorted by score
 * (stable), torchvision's two code paths on the CPU. */
TC_API tc_tensor *tv_batched_nms(const tc_tensor *boxes, const tc_tensor *scores, const tc_tensor *idxs,
                                 double iou_threshold);

/* ---- region pooling -------------------------------------------------------------------------------
 * input (B, C, H, W) floating; rois (K, 5) of the same dtype with rows (batch index, x1, y1, x2, y2)
 * in input-image coordinates (multiplied by spatial_scale to reach feature coordinates). A batch
 * index outside [0, B) is TC_ERR_ARG. For torchvision's list-of-boxes form, see tv_boxes_to_rois. */

/* roi_align -> (K, C, out_h, out_w). sampling_ratio > 0 samples that many points per bin side;
 * <= 0 picks ceil(roi size / output size) per roi (adaptive, torchvision's -1). aligned shifts the
 * box by -0.5 pixel (pixel-center model, recommended). The forward is torchvision's CPU kernel
 * (same bilinear weights, sums in the same order, in the input's dtype): bit-identical on the test
 * fixtures.
 * Autograd: when grad mode is on and input requires grad, the result is computed instead as a
 * gather of the sampled corners times their bilinear weights (index_select, mul, sum), so the
 * gradient reaches input; that path holds K * out_h * out_w * samples * 4 * C elements while it
 * runs (about 0.4 GB for 512 rois, 7x7, 2x2 samples, 256 channels): use it for training heads of
 * moderate size. rois get no gradient (as torchvision). */
TC_API tc_tensor *tv_roi_align(const tc_tensor *input, const tc_tensor *rois, int64_t out_h, int64_t out_w,
                               double spatial_scale, int64_t sampling_ratio, bool aligned);
/* roi_pool (max pooling over rounded bins) -> (K, C, out_h, out_w); empty bins give 0. When input
 * requires grad (and grad mode is on) the result records autograd: input's gradient gets each
 * bin's grad_out at its maximum, as torchvision's backward (rois get none). argmax, when not NULL,
 * receives the (K, C, out_h, out_w) int64 flat h * W + w index of each maximum (-1 for empty
 * bins), as torchvision saves for its backward. */
TC_API tc_tensor *tv_roi_pool(const tc_tensor *input, const tc_tensor *rois, int64_t out_h, int64_t out_w,
                              double spatial_scale, tc_tensor **argmax);
/* The (K, 5) rois of n per-image box tensors (each (Ki, 4)), as torchvision's convert_boxes_to_roi_format. */
TC_API tc_tensor *tv_boxes_to_rois(const tc_tensor *const *boxes, int64_t n);

/* ---- torchvision.utils ----------------------------------------------------------------------------- */
/* make_grid: images (B, C, H, W) (or (C, H, W), or (H, W)) of any dtype laid out nrow per row with
 * `padding` pixels of pad_value between and around them -> (C', H', W'); one-channel images become
 * three channels, as torchvision. normalize (floating images only) shifts each image (scale_each)
 * or the whole batch to [0, 1] by value_range ({low, high}, or NULL for its min and max), clamped.
 * A batch of one image is returned unpadded, as torchvision. Exact: the arithmetic is torchvision's,
 * in the images' dtype. */
TC_API tc_tensor *tv_make_grid(const tc_tensor *images, int64_t nrow, int64_t padding, bool normalize,
                               const double *value_range, bool scale_each, double pad_value);
/* save_image: tv_make_grid of floating images in [0, 1] (same arguments), converted to uint8 as
 * torchvision converts (x * 255 + 0.5, clamped to [0, 255], truncated) and written as a PNG file
 * (compression level 6). */
TC_API tc_status tv_save_image(const tc_tensor *images, const char *path, int64_t nrow, int64_t padding,
                               bool normalize, const double *value_range, bool scale_each, double pad_value);
/* draw_bounding_boxes: a copy of image (uint8 (3, H, W), or (1, H, W) which becomes (3, H, W)) with
 * the (N, 4) xyxy boxes outlined `width` pixels wide, pixel for pixel as torchvision (which draws
 * with PIL: coordinates truncated to integers, the outline inside the box, the box's far edges
 * included). colors: ncolors RGB triples (ncolors = 1: one color for all; ncolors = N: one per box)
 * or NULL for torchvision's default palette (i * (2^25 - 1, 2^15 - 1, 2^21 - 1) mod 255). fill
 * blends the color at alpha 100/255 inside each box first, as PIL does. Labels: see
 * tv_draw_bounding_boxes_labeled. Boxes with x1 > x2 or y1 > y2 are TC_ERR_ARG. */
TC_API tc_tensor *tv_draw_bounding_boxes(const tc_tensor *image, const tc_tensor *boxes, const uint8_t *colors,
                                         int64_t ncolors, int64_t width, bool fill);
/* The same with text labels, as torchvision's labels/font/font_size/label_colors/fill_labels: labels
 * holds N UTF-8 strings (NULL or "" entries draw none; labels NULL: none), each drawn at (x1 + width
 * + 1, y1 + width + 1) (its left and ascender line) in label_colors (1 or N triples; NULL: the box
 * colors), over a rectangle of the box color around the text when fill_labels. font is a
 * TrueType/OpenType file rendered with FreeType (NULL: DejaVu Sans from Debian's
 * fonts-dejavu-core, where torchvision would use PIL's built-in default font), font_size in pixels
 * (<= 0: 10). The text is shaped with HarfBuzz and its glyphs rendered with FreeType and blended
 * as PIL's raqm layout draws them: with the same font file the pixels equal torchvision's (tested
 * with DejaVu Sans at 10 and 16 pixels). A font that cannot be loaded is TC_ERR_IO naming the
 * file. */
TC_API tc_tensor *tv_draw_bounding_boxes_labeled(const tc_tensor *image, const tc_tensor *boxes, const uint8_t *colors,
                                                 int64_t ncolors, int64_t width, bool fill, const char *const *labels,
                                                 const char *font, int64_t font_size, const uint8_t *label_colors,
                                                 int64_t nlabel_colors, bool fill_labels);

#ifdef __cplusplus
}
#endif
#endif
