/* ctorch/vision_transforms.h — torchvision.transforms.v2's geometric and conversion transforms on
 * image tensors: Resize, CenterCrop, RandomCrop, Pad, RandomHorizontalFlip, RandomVerticalFlip,
 * RandomResizedCrop, FiveCrop, TenCrop, Normalize, ToImage, ToTensor and RandomErasing. ToDtype is
 * tr_to_dtype (ctorch/transforms.h): use it for ToDtype(float32, scale=True).
 *
 * Images are tensors of shape (..., C, H, W) with any number of leading batch dims, uint8 or
 * float32 (nearest resizing, crops, pads and flips take any dtype). Every op comes twice:
 *   tv_<op>(img, ...)            the functional form (torchvision.transforms.v2.functional.<op>);
 *   tv_<op>_transform(...)       a tr_transform (torchvision.transforms.v2.<Op>) for Compose,
 *                                datasets and the DataLoader; it takes a TR_TENSOR value.
 * Results match torchvision's CPU kernels: uint8 bilinear/bicubic resizing runs the same int16
 * fixed-point arithmetic as PyTorch's uint8 kernels (bit-exact), float resizing the same weights in
 * float32 (equal within float rounding). Random transforms draw only from the tc_generator given
 * to tr_apply, with the primitives and in the order torchvision does (torch.rand(1) for p,
 * torch.randint for offsets, torch.empty(1).uniform_ for scale and log-ratio, normal_ for random
 * erasing values), so a generator seeded with s gives the parameters torch.manual_seed(s) gives.
 *
 *   // ImageNet training preprocessing on a decoded uint8 (3, H, W) image
 *   tr_transform *t = tr_compose(4, (tr_transform *[]){
 *       tv_random_resized_crop_transform(224, 224, NULL, NULL, TV_INTERP_BILINEAR, true),
 *       tv_random_horizontal_flip_transform(0.5),
 *       tr_to_dtype(TC_F32, true),
 *       tv_normalize_transform((double[]){0.485, 0.456, 0.406}, 3, (double[]){0.229, 0.224, 0.225}, 3, false)});
 *   tc_generator *g = tc_generator_create(0);
 *   tr_value out;
 *   if (tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = img}, &out, g)) puts(tc_last_error());
 *   // functional: the validation side
 *   tc_tensor *small = tv_resize_shorter(img, 256, 0, TV_INTERP_BILINEAR, true);
 *   tc_tensor *center = tv_center_crop(small, 224, 224);
 *
 * Ownership and errors: functional forms borrow their input and return a new tensor owned by the
 * caller (contiguous, unless noted), or NULL with tc_last_error() naming the function and values
 * (TC_ERR_ARG for bad arguments, TC_ERR_SHAPE for tensors with fewer than 3 dims or crops that do
 * not fit, TC_ERR_DTYPE for unsupported dtypes, TC_ERR_DEVICE for non-CPU tensors). Constructors
 * return NULL with TC_ERR_ARG for invalid parameters; array arguments are copied. All functions are
 * thread-safe on distinct tensors; a transform may be applied from several threads at once (its
 * state is read-only) as long as each thread uses its own generator.
 */
#ifndef CTORCH_VISION_TRANSFORMS_H
#define CTORCH_VISION_TRANSFORMS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/transforms.h"

#ifdef __cplusplus
extern "C" {
#endif

/* torchvision.transforms.InterpolationMode (the modes tensors support here). */
typedef enum tv_interp {
  TV_INTERP_NEAREST = 0,   /* src = floor(dst * in / out): torchvision's (and PyTorch's) "nearest" */
  TV_INTERP_NEAREST_EXACT, /* src = floor((dst + 0.5) * in / out): matches PIL and scikit-image */
  TV_INTERP_BILINEAR,
  TV_INTERP_BICUBIC
} tv_interp;

/* torchvision's padding_mode. */
typedef enum tv_pad_mode {
  TV_PAD_CONSTANT = 0, /* fill value(s) */
  TV_PAD_EDGE,         /* repeat the border pixel */
  TV_PAD_REFLECT,      /* mirror without repeating the border: 2 1 | 0 1 2 (padding < size) */
  TV_PAD_SYMMETRIC     /* mirror repeating the border:        1 0 | 0 1 2 (padding <= size) */
} tv_pad_mode;

/* ---- Resize ----------------------------------------------------------------------------------------
 * tv_resize: to exactly (h, w). tv_resize_shorter: the shorter edge becomes `size`, the longer one
 * int(size * long / short); with max_size > 0 the longer edge is capped at max_size (the shorter one
 * then shrinks proportionally; max_size must be > size), as torchvision's Resize(int, max_size).
 * antialias applies to bilinear and bicubic when downscaling (torchvision's default is true; the
 * nearest modes ignore it). bilinear/bicubic take uint8 and float32; the nearest modes any dtype.
 * Resizing to the input's own size returns a new reference to img itself (torchvision returns its
 * input too). uint8 bicubic results are clamped to [0, 255]; float bicubic results are not.
 * Known differences: torchvision takes its uint8 bilinear path only on AVX2/AVX-512/arm64 CPUs (elsewhere
 * it resizes in float and rounds: within +-1 of this); and PyTorch's float antialiased resize to an
 * output width of 1 gives every output row the first row's value (a PyTorch bug not reproduced). */
TC_API tc_tensor *tv_resize(const tc_tensor *img, int64_t h, int64_t w, tv_interp interp, bool antialias);
TC_API tc_tensor *tv_resize_shorter(const tc_tensor *img, int64_t size, int64_t max_size, tv_interp interp,
                                    bool antialias);
/* The (h, w) tv_resize_shorter gives an image of in_h x in_w. */
TC_API tc_status tv_resize_shorter_size(int64_t in_h, int64_t in_w, int64_t size, int64_t max_size, int64_t *out_h,
                                        int64_t *out_w);
/* Resize((h, w), interp, antialias) and Resize(size, interp, max_size, antialias). */
TC_API tr_transform *tv_resize_transform(int64_t h, int64_t w, tv_interp interp, bool antialias);
TC_API tr_transform *tv_resize_shorter_transform(int64_t size, int64_t max_size, tv_interp interp, bool antialias);

/* ---- crops, pads, flips --------------------------------------------------------------------------- */
/* The (h, w) window at (top, left); parts outside the image are zero-filled, as torchvision's
 * crop. */
TC_API tc_tensor *tv_crop(const tc_tensor *img, int64_t top, int64_t left, int64_t h, int64_t w);
/* The centered (h, w) window (top = round((H - h) / 2), half to even, as torchvision); a crop
 * larger than the image is zero-padded around it first. */
TC_API tc_tensor *tv_center_crop(const tc_tensor *img, int64_t h, int64_t w);
TC_API tr_transform *tv_center_crop_transform(int64_t h, int64_t w);

/* Pads the last two dims. padding has 1 value (all sides), 2 (left/right, top/bottom) or 4 (left,
 * top, right, bottom), as torchvision. fill is used by TV_PAD_CONSTANT only: nfill 1 (all channels)
 * or C values (fill NULL: 0); values are converted to the image dtype as torch converts a scalar.
 * Negative padding crops (TV_PAD_CONSTANT only). */
TC_API tc_tensor *tv_pad(const tc_tensor *img, const int64_t *padding, int64_t npadding, tv_pad_mode mode,
                         const double *fill, int64_t nfill);
TC_API tr_transform *tv_pad_transform(const int64_t *padding, int64_t npadding, const double *fill, int64_t nfill,
                                      tv_pad_mode mode);

/* RandomCrop(size=(h, w), padding, pad_if_needed, fill, padding_mode): pads by padding (NULL /
 * npadding 0: none; 1, 2 or 4 values as tv_pad), then with pad_if_needed pads each side by the
 * shortfall when the (padded) image is smaller than the crop, then crops at top =
 * torch.randint(0, H - h + 1) (drawn only when H > h) and left likewise. A crop that still does not
 * fit is TC_ERR_SHAPE at apply time. */
TC_API tr_transform *tv_random_crop_transform(int64_t h, int64_t w, const int64_t *padding, int64_t npadding,
                                              bool pad_if_needed, const double *fill, int64_t nfill, tv_pad_mode mode);

/* Mirror left-right (flip(-1)) and top-bottom (flip(-2)). */
TC_API tc_tensor *tv_horizontal_flip(const tc_tensor *img);
TC_API tc_tensor *tv_vertical_flip(const tc_tensor *img);
/* Flip when torch.rand(1) < p (p in [0, 1]). */
TC_API tr_transform *tv_random_horizontal_flip_transform(double p);
TC_API tr_transform *tv_random_vertical_flip_transform(double p);

/* crop(top, left, h, w) then resize to (out_h, out_w): torchvision's resized_crop. */
TC_API tc_tensor *tv_resized_crop(const tc_tensor *img, int64_t top, int64_t left, int64_t h, int64_t w, int64_t out_h,
                                  int64_t out_w, tv_interp interp, bool antialias);
/* RandomResizedCrop(size=(h, w), scale, ratio, interpolation, antialias): scale NULL = {0.08, 1},
 * ratio NULL = {3/4, 4/3}. Up to 10 tries of target area = area * uniform(scale) and aspect =
 * exp(uniform(log ratio)); the first (w, h) = round(sqrt(area * aspect)), round(sqrt(area /
 * aspect)) that fits is placed at torch.randint offsets; otherwise the center crop clamped to the
 * ratio range, exactly as torchvision's make_params. */
TC_API tr_transform *tv_random_resized_crop_transform(int64_t h, int64_t w, const double *scale, const double *ratio,
                                                      tv_interp interp, bool antialias);
/* The (top, left, h, w) RandomResizedCrop draws for an in_h x in_w image (the sampling alone). */
TC_API tc_status tv_random_resized_crop_params(int64_t in_h, int64_t in_w, const double *scale, const double *ratio,
                                               tc_generator *gen, int64_t out_box[4]);

/* FiveCrop / TenCrop: the four corner crops and the center crop (TenCrop: then the same five of the
 * horizontally, or with vertical_flip vertically, flipped image), stacked in that order into ONE
 * tensor of shape (5, ..., C, h, w) / (10, ..., C, h, w) — torchvision returns a tuple; index the
 * first dim to get its elements. A crop larger than the image is TC_ERR_SHAPE. */
TC_API tc_tensor *tv_five_crop(const tc_tensor *img, int64_t h, int64_t w);
TC_API tc_tensor *tv_ten_crop(const tc_tensor *img, int64_t h, int64_t w, bool vertical_flip);
TC_API tr_transform *tv_five_crop_transform(int64_t h, int64_t w);
TC_API tr_transform *tv_ten_crop_transform(int64_t h, int64_t w, bool vertical_flip);

/* ---- conversion and normalization ------------------------------------------------------------------ */
/* (x - mean[c]) / std[c] in the image's float dtype (float32 or float64), as torchvision: nmean and
 * nstd are 1 or C. A zero std is TC_ERR_ARG, an integer image TC_ERR_DTYPE. inplace writes into img
 * (which must then be contiguous or at least writable) and returns a new reference to it. */
TC_API tc_tensor *tv_normalize(tc_tensor *img, const double *mean, int64_t nmean, const double *std, int64_t nstd,
                               bool inplace);
TC_API tr_transform *tv_normalize_transform(const double *mean, int64_t nmean, const double *std, int64_t nstd,
                                            bool inplace);

/* ToImage for an array-like image: (H, W, C) or (H, W) of any dtype -> a contiguous (C, H, W)
 * tensor of the same dtype (what torchvision does to a numpy array: permute(2, 0, 1)). */
TC_API tc_tensor *tv_to_image(const tc_tensor *hwc);
TC_API tr_transform *tv_to_image_transform(void);
/* The classic ToTensor: (H, W, C) or (H, W) -> (C, H, W); uint8 becomes float32 x / 255 (a
 * division, as ToTensor, not ToDtype's multiplication by 1/255), other dtypes keep their values. */
TC_API tc_tensor *tv_to_tensor(const tc_tensor *hwc);
TC_API tr_transform *tv_to_tensor_transform(void);

/* ---- RandomErasing ------------------------------------------------------------------------------------
 * tv_erase: img[..., i:i+h, j:j+w] = v, with v broadcastable to (C, h, w) (e.g. (C, 1, 1) or a
 * 0-d tensor) and converted to the image dtype; inplace writes into img and returns a new reference
 * to it, otherwise a copy is erased. */
TC_API tc_tensor *tv_erase(tc_tensor *img, int64_t i, int64_t j, int64_t h, int64_t w, const tc_tensor *v,
                           bool inplace);
/* RandomErasing(p, scale, ratio, value, inplace): applied when torch.rand(1) < p; scale NULL =
 * {0.02, 0.33}, ratio NULL = {0.3, 3.3}. The value: random_value true draws a float32 normal
 * (C, h, w) patch (value 'random'); otherwise value[0..nvalue) with nvalue 1 or C (value NULL /
 * nvalue 0: 0). When none of the 10 tries fits, the image is returned unchanged. */
TC_API tr_transform *tv_random_erasing_transform(double p, const double *scale, const double *ratio,
                                                 const double *value, int64_t nvalue, bool random_value, bool inplace);

#ifdef __cplusplus
}
#endif
#endif
