/* ctorch/vision_augment.h — photometric transforms, geometric augmentations, augmentation policies
 * (AutoAugment, RandAugment, TrivialAugmentWide, AugMix) and batch MixUp/CutMix, as
 * torchvision.transforms.v2 computes them on CPU tensors.
 *
 * Two layers, named one way throughout:
 *   - functional ops `tv_<name>` mirror torchvision.transforms.v2.functional.<name> on an image
 *     tensor (..., C, H, W) of uint8 (values 0..255) or float32 (values 0..1): the leading dims are
 *     a batch, every image gets the same parameters. Each returns a new tensor of the input's dtype
 *     and leading dims (NULL on failure, see tc_last_error()); the input is borrowed.
 *   - transform constructors `tv_<class_name>_transform` build the tr_transform of the class of
 *     the same name (ColorJitter -> tv_color_jitter_transform). Random ones draw only from the
 *     generator given to tr_apply, with the primitives and order torchvision uses (torch.rand,
 *     torch.randint, torch.randperm, uniform_, torch._sample_dirichlet), so after
 *     tc_generator_manual_seed(g, s) they pick the parameters torchvision picks after
 *     torch.manual_seed(s). They refuse a NULL generator. tr_destroy frees them.
 *
 *   tc_generator *g = tc_generator_create(0);
 *   tr_transform *aug = tr_compose(3, (tr_transform *[]){
 *       tv_color_jitter_transform(0.4, 0.4, 0.4, 0.1),
 *       tv_random_rotation_transform(-15, 15, TV_INTERP_BILINEAR, false, NULL, TV_FILL(0)),
 *       tv_rand_augment_transform(2, 9, 31, TV_INTERP_NEAREST, TV_FILL_NONE)});
 *   tr_value out;
 *   if (tr_apply(aug, &(tr_value){.kind = TR_TENSOR, .tensor = img_u8}, &out, g)) puts(tc_last_error());
 *   tr_value_clear(&out);
 *   tr_destroy(aug);
 *   tc_tensor *sharp = tv_adjust_sharpness(img_u8, 2.0);     // functional form
 *
 * Numerics follow torchvision's tensor kernels: uint8 images are processed in float32 and converted
 * back by truncation (blends: brightness, contrast, saturation, sharpness, autocontrast, AugMix) or by
 * rounding (gaussian_blur and the geometric ops); hue goes through RGB->HSV in float32 on x / 255;
 * equalize uses PIL's histogram LUT on uint8 (float images are quantised to uint8 first). The float32
 * operations are done in torchvision's order (fused multiply-adds where ATen's vectorised add with
 * alpha fuses), so on the test fixtures uint8 results are identical to torchvision's and float32
 * results differ by at most 5e-7 (tests/vision/test_augment.c prints the per-op maxima).
 *
 * Geometric ops sample with torch.nn.functional.grid_sample (align_corners=False, zeros padding)
 * on the grids torchvision builds (affine: _get_inverse_affine_matrix + _affine_grid; perspective:
 * _perspective_grid; elastic: identity grid + displacement). `fill` follows torchvision: TV_FILL_NONE
 * is fill=None (outside pixels are 0, bilinear borders blend with 0); otherwise an extra mask channel
 * is sampled and outside pixels become the fill (nearest: mask < 0.5; bilinear: blended by the mask).
 * The transforms' default in torchvision is fill=0 (TV_FILL(0)), the policies' is None.
 *
 * Thread-safety: functional ops are reentrant; one transform may be applied from several threads
 * at once as long as each call has its own generator.
 */
#ifndef CTORCH_VISION_AUGMENT_H
#define CTORCH_VISION_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/transforms.h"
#include "ctorch/datasets.h"
#include "ctorch/vision_transforms.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- common parameter types ------------------------------------------------------------------------ */
/* tv_interp comes from ctorch/vision_transforms.h; the ops here take TV_INTERP_NEAREST and
 * TV_INTERP_BILINEAR (the modes torchvision's grid transforms support on tensors). */

/* A fill: n = 0 is torchvision's fill=None; n = 1 one value for every channel; n = C one per channel
 * (values in the image's range: 0..255 for uint8). */
#define TV_FILL_MAX 16
typedef struct tv_fill {
  int64_t n;
  double v[TV_FILL_MAX];
} tv_fill;
#define TV_FILL_NONE ((tv_fill){0, {0}})
#define TV_FILL(value) ((tv_fill){1, {(value)}})

/* ---- functional: color ------------------------------------------------------------------------------
 * All take (..., C, H, W) uint8 or float32. C must be 1 or 3 where torchvision requires it (brightness,
 * contrast, saturation, hue, sharpness, autocontrast; grayscale needs 1 or 3). Factors must be >= 0
 * (TC_ERR_ARG otherwise); C = 1 leaves saturation and hue unchanged, as torchvision. */
TC_API tc_tensor *tv_adjust_brightness(const tc_tensor *img, double factor);
TC_API tc_tensor *tv_adjust_contrast(const tc_tensor *img, double factor);
TC_API tc_tensor *tv_adjust_saturation(const tc_tensor *img, double factor);
/* hue_factor in [-0.5, 0.5]. */
TC_API tc_tensor *tv_adjust_hue(const tc_tensor *img, double hue_factor);
/* 3x3 smoothing kernel blend on the interior pixels (borders kept); images of H or W <= 2 unchanged. */
TC_API tc_tensor *tv_adjust_sharpness(const tc_tensor *img, double factor);
/* num_output_channels 1 or 3: 0.2989 R + 0.587 G + 0.114 B (truncated for uint8). */
TC_API tc_tensor *tv_rgb_to_grayscale(const tc_tensor *img, int64_t num_output_channels);
TC_API tc_tensor *tv_invert(const tc_tensor *img);
/* bits in 0..8: uint8 keeps the top bits; float32 floor(x * 2^bits) / 2^bits clamped. */
TC_API tc_tensor *tv_posterize(const tc_tensor *img, int64_t bits);
/* Pixels >= threshold are inverted; threshold must not exceed 255 (uint8) or 1 (float32). */
TC_API tc_tensor *tv_solarize(const tc_tensor *img, double threshold);
/* Per image and channel, stretches [min, max] to the full range. */
TC_API tc_tensor *tv_autocontrast(const tc_tensor *img);
/* Histogram equalisation per image and channel (PIL's LUT); any C. */
TC_API tc_tensor *tv_equalize(const tc_tensor *img);
/* Gaussian blur with reflect padding; kernel sizes odd and positive (x = width, y = height), sigmas > 0
 * (sigma <= 0 picks torchvision's default 0.3 * ((k - 1) * 0.5 - 1) + 0.8 = k * 0.15 + 0.35).
 * Reflect padding needs k / 2 < the image size in that direction (TC_ERR_SHAPE otherwise). */
TC_API tc_tensor *tv_gaussian_blur(const tc_tensor *img, int64_t kernel_x, int64_t kernel_y, double sigma_x,
                                   double sigma_y);

/* ---- functional: geometry ----------------------------------------------------------------------------
 * center: NULL = the image center, else (x, y) in pixels. Angles in degrees, counter-clockwise for
 * rotate (as torchvision). */
TC_API tc_tensor *tv_affine(const tc_tensor *img, double angle, double translate_x, double translate_y, double scale,
                            double shear_x, double shear_y, tv_interp interp, tv_fill fill, const double *center);
/* expand: grow the output to hold the whole rotated image (torchvision's size rule). Multiples of 90
 * degrees without a center take torchvision's exact fast paths (rot90 / flips). */
TC_API tc_tensor *tv_rotate(const tc_tensor *img, double angle, tv_interp interp, bool expand, const double *center,
                            tv_fill fill);
/* coeffs (a..h): output pixel (x, y) samples input ((ax + by + c) / (gx + hy + 1), (dx + ey + f) / (gx + hy + 1)). */
TC_API tc_tensor *tv_perspective(const tc_tensor *img, const double coeffs[8], tv_interp interp, tv_fill fill);
/* The coefficients mapping the four endpoints to the four startpoints (each (x, y) pairs:
 * top-left, top-right, bottom-right, bottom-left), solved in double and rounded to float32 as
 * torchvision's _get_perspective_coeffs. TC_ERR_ARG for degenerate corners. */
TC_API tc_status tv_perspective_coeffs(const double startpoints[8], const double endpoints[8], double coeffs[8]);
/* displacement: float32 (1, H, W, 2) in normalised grid units (torchvision's elastic). */
TC_API tc_tensor *tv_elastic(const tc_tensor *img, const tc_tensor *displacement, tv_interp interp, tv_fill fill);

/* ---- transforms: color --------------------------------------------------------------------------------
 * p: probability in [0, 1] (one torch.rand(1) draw u, applied when u < p, as torchvision). */
/* ColorJitter with single numbers: brightness b -> factor range [max(0, 1 - b), 1 + b] (same for
 * contrast and saturation), hue h -> [-h, h] (h <= 0.5). 0 disables a component. */
TC_API tr_transform *tv_color_jitter_transform(double brightness, double contrast, double saturation, double hue);
/* ColorJitter with explicit [min, max] ranges; NULL disables a component. */
TC_API tr_transform *tv_color_jitter_ranges_transform(const double brightness[2], const double contrast[2],
                                                      const double saturation[2], const double hue[2]);
TC_API tr_transform *tv_grayscale_transform(int64_t num_output_channels);
/* Grayscale keeping the input's channel count, with probability p. */
TC_API tr_transform *tv_random_grayscale_transform(double p);
TC_API tr_transform *tv_random_invert_transform(double p);
TC_API tr_transform *tv_random_posterize_transform(int64_t bits, double p);
TC_API tr_transform *tv_random_solarize_transform(double threshold, double p);
TC_API tr_transform *tv_random_adjust_sharpness_transform(double sharpness_factor, double p);
TC_API tr_transform *tv_random_autocontrast_transform(double p);
TC_API tr_transform *tv_random_equalize_transform(double p);
/* sigma drawn uniformly in [sigma_min, sigma_max] (equal values: fixed). */
TC_API tr_transform *tv_gaussian_blur_transform(int64_t kernel_x, int64_t kernel_y, double sigma_min,
                                                double sigma_max);

/* ---- transforms: geometry ----------------------------------------------------------------------------- */
/* Angle uniform in [degrees_min, degrees_max]. */
TC_API tr_transform *tv_random_rotation_transform(double degrees_min, double degrees_max, tv_interp interp, bool expand,
                                                  const double *center, tv_fill fill);
/* RandomAffine: translate (NULL = none) max fractions (x, y) in [0, 1]; scale (NULL = none) [min, max];
 * shear NULL = none, else nshear = 2 (x range) or 4 (x range, y range) degrees. */
TC_API tr_transform *tv_random_affine_transform(double degrees_min, double degrees_max, const double *translate,
                                                const double *scale, const double *shear, int64_t nshear,
                                                tv_interp interp, tv_fill fill, const double *center);
TC_API tr_transform *tv_random_perspective_transform(double distortion_scale, double p, tv_interp interp,
                                                     tv_fill fill);
/* alpha, sigma for (x, y); sigma > 0 blurs the random field. */
TC_API tr_transform *tv_elastic_transform(double alpha_x, double alpha_y, double sigma_x, double sigma_y,
                                          tv_interp interp, tv_fill fill);

/* ---- transforms: augmentation policies ------------------------------------------------------------------ */
typedef enum tv_autoaugment_policy {
  TV_AUTOAUGMENT_IMAGENET = 0,
  TV_AUTOAUGMENT_CIFAR10,
  TV_AUTOAUGMENT_SVHN
} tv_autoaugment_policy;
/* torchvision defaults: interp TV_INTERP_NEAREST, fill TV_FILL_NONE. */
TC_API tr_transform *tv_auto_augment_transform(tv_autoaugment_policy policy, tv_interp interp, tv_fill fill);
/* Defaults: num_ops 2, magnitude 9, num_magnitude_bins 31. */
TC_API tr_transform *tv_rand_augment_transform(int64_t num_ops, int64_t magnitude, int64_t num_magnitude_bins,
                                               tv_interp interp, tv_fill fill);
TC_API tr_transform *tv_trivial_augment_wide_transform(int64_t num_magnitude_bins, tv_interp interp, tv_fill fill);
/* Defaults: severity 3, mixture_width 3, chain_depth -1 (random 1..3), alpha 1, all_ops true,
 * interp TV_INTERP_BILINEAR. */
TC_API tr_transform *tv_augmix_transform(int64_t severity, int64_t mixture_width, int64_t chain_depth, double alpha,
                                         bool all_ops, tv_interp interp, tv_fill fill);

/* ---- batch MixUp / CutMix ---------------------------------------------------------------------------------
 * On a collated batch: *images float32 (N, C, H, W), *labels int64 (N) class indices (or float32 (N,
 * num_classes) probabilities). On success both are replaced by new tensors (the old references are
 * released): mixed images and float32 soft labels (N, num_classes), pairing each sample with the previous
 * one (roll by 1), as torchvision's MixUp/CutMix. lam ~ Beta(alpha, alpha), drawn as torch.distributions.Beta
 * does (Dirichlet via _standard_gamma, bit for bit); CutMix then draws the box center with two
 * torch.randint calls. On failure nothing changes. */
TC_API tc_status tv_mixup(tc_tensor **images, tc_tensor **labels, int64_t num_classes, double alpha,
                          tc_generator *gen);
TC_API tc_status tv_cutmix(tc_tensor **images, tc_tensor **labels, int64_t num_classes, double alpha,
                           tc_generator *gen);

/* A DataLoader collate_fn (td_loader_opts.collate_fn, with collate_user = a tv_mix_collate_cfg*) that
 * stacks the batch with td_collate and then applies MixUp or CutMix (or, with TV_MIX_RANDOM, one of the
 * two with p 0.5 as RandomChoice([MixUp, CutMix]) — picked by one 53-bit uniform, not torch.multinomial,
 * so that choice is not torchvision's) to the fields `image_field` and `label_field`:
 *
 *   tv_mix_collate_cfg mc = {TV_MIX_RANDOM, 1.0, 10, "input", "target", gen};
 *   o.collate_fn = tv_mix_collate; o.collate_user = &mc;
 *
 * The draws come from cfg->gen under a lock, so with num_workers > 0 which batch gets which draw depends
 * on thread timing; for bit-reproducible runs call tv_mixup/tv_cutmix on each batch after td_loader_next
 * instead (one generator, batches in order). */
typedef enum tv_mix_mode { TV_MIX_MIXUP = 0, TV_MIX_CUTMIX, TV_MIX_RANDOM } tv_mix_mode;
typedef struct tv_mix_collate_cfg {
  tv_mix_mode mode;
  double alpha;
  int64_t num_classes;
  const char *image_field;
  const char *label_field;
  tc_generator *gen; /* borrowed, must outlive the loader */
} tv_mix_collate_cfg;
TC_API tc_status tv_mix_collate(const td_sample *samples, int64_t n, td_sample *batch, void *user);

#ifdef __cplusplus
}
#endif
#endif
