/* vision/src/augment_internal.h — helpers shared by the augment_*.c files (not installed).
 *
 * Every image op works on a float32 copy of its input: aug_load turns a uint8 or float32 tensor
 * (..., C, H, W) into `n` images of C x H x W floats holding the original values (0..255 for
 * uint8, as torchvision's `image.to(torch.float32)`), and aug_store writes a float buffer back as
 * a tensor of the input's dtype and leading dims, truncating (torchvision's `.to(uint8)`) or
 * rounding half to even (`.round_().to(uint8)`) for uint8 outputs.
 */
#ifndef CTORCH_AUGMENT_INTERNAL_H
#define CTORCH_AUGMENT_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/transforms.h"
#include "ctorch/vision_augment.h"
#include "transforms_internal.h" /* tv__printf, tv__need_gen */

typedef struct aug_img {
  int64_t ndim;               /* of the input (>= 3) */
  int64_t shape[TC_MAX_DIMS]; /* the input's shape */
  int64_t n, c, h, w;         /* n = product of the leading dims */
  tc_dtype dt;                /* TC_U8 or TC_F32 */
  float *px;                  /* (n, c, h, w) values, owned (tc_malloc) */
} aug_img;

typedef enum aug_rounding { AUG_TRUNC = 0, AUG_ROUND } aug_rounding;

/* Checks img (non-NULL, uint8 or float32, >= 3 dims, CPU) and fills a with its float copy.
 * channels_1_or_3: also require C in {1, 3}. On failure a holds nothing. */
tc_status aug_load(const char *fn, const tc_tensor *img, bool channels_1_or_3, aug_img *a);
void aug_free(aug_img *a);
/* A tensor of a's dtype and leading dims with (c, h, w) image dims from px ((n, c, h, w)).
 * uint8: rounded as asked, then clamped to [0, 255]; float32: copied. */
tc_tensor *aug_store(const aug_img *a, const float *px, int64_t c, int64_t h, int64_t w, aug_rounding r);
/* 255 for uint8, 1 for float32 (torchvision's _max_value). */
static inline float aug_bound(tc_dtype dt) { return dt == TC_U8 ? 255.0f : 1.0f; }
static inline float aug_clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* torch.linspace(start, end, steps) in float32, element i (ATen's two-sided formula). */
float aug_linspace_f32(float start, float end, int64_t steps, int64_t i);

/* ---- random draws, each the same primitive torchvision uses (so parameters match for a seed) ----- */
/* float(torch.empty(1).uniform_(a, b)) */
tc_status aug_draw_uniform(tc_generator *gen, double a, double b, double *out);
/* float(torch.rand(1)) (also torch.rand(())) */
tc_status aug_draw_rand(tc_generator *gen, double *out);
/* int(torch.randint(low, high, (1,))) */
tc_status aug_draw_randint(tc_generator *gen, int64_t low, int64_t high, int64_t *out);
/* torch._sample_dirichlet(alpha) for a float32 (rows, k) concentration: out (rows * k) floats.
 * Gamma draws in double (Marsaglia-Tsang with 53-bit uniforms and cached Box-Muller normals, the
 * generator's normal cache included), normalised per row. */
tc_status aug_sample_dirichlet(tc_generator *gen, const float *alpha, int64_t rows, int64_t k, float *out);
/* The image of a transform's input value (a tensor), or an error naming fn. */
tc_status aug_value_tensor(const char *fn, const tr_value *in, const tc_tensor **img);
/* out = a tensor value holding t (taken over); t NULL: the last error. */
tc_status aug_set_out(tr_value *out, tc_tensor *t);

/* ---- geometry shared by the policies -------------------------------------------------------------- */
/* torchvision's _get_inverse_affine_matrix(center, angle, translate, scale, shear, inverted=True). */
void aug_inverse_affine_matrix(double cx, double cy, double angle, double tx, double ty, double scale, double shx,
                               double shy, double m[6]);
/* _compute_affine_output_size (float32, as torchvision's tensor form): the (ow, oh) of the canvas
 * that holds a w x h image under the inverse affine matrix m (rotate's expand). */
void aug_expanded_size(const double m[6], int64_t w, int64_t h, int64_t *ow, int64_t *oh);
/* The (oh, ow) tv_rotate gives an h x w image rotated by angle (its fast paths and expand rule). */
void aug_rotated_size(int64_t h, int64_t w, double angle, bool expand, const double *center, int64_t *oh, int64_t *ow);

#endif
