/* vision/src/transforms_internal.h — helpers shared by the image transform files (not installed). */
#ifndef CTORCH_VISION_TRANSFORMS_INTERNAL_H
#define CTORCH_VISION_TRANSFORMS_INTERNAL_H

#include "ctorch/vision.h"

/* An image viewed as planes: (..., C, H, W) -> n planes of h x w (n = prod(...) * C). */
typedef struct tv__planes {
  int64_t n, c, h, w; /* c: channels (the -3 dim) */
} tv__planes;

/* TC_OK when img is a CPU tensor of >= 3 dims; fills *p. Names fn in the message. */
tc_status tv__check_image(const char *fn, const tc_tensor *img, tv__planes *p);
/* A new tensor shaped as img with its last two dims replaced by (h, w), of img's dtype. */
tc_tensor *tv__empty_image(const tc_tensor *img, int64_t h, int64_t w);
/* A tc_malloc'd formatted string (NULL with TC_ERR_NOMEM). */
char *tv__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Python's round() to an integer: half to even. */
int64_t tv__round_half_even(double x);
/* "nearest", "bilinear", ... for describe strings (torchvision prints the enum value). */
const char *tv__interp_name(tv_interp m);
const char *tv__pad_mode_name(tv_pad_mode m);
/* Expands torchvision's 1/2/4-value padding into (left, top, right, bottom). */
tc_status tv__parse_padding(const char *fn, const int64_t *padding, int64_t n, int64_t ltrb[4]);
/* torch.rand(1) / torch.randint(lo, hi, ()) / torch.empty(1).uniform_(a, b) from gen. */
tc_status tv__rand1(tc_generator *gen, double *u);
tc_status tv__randint(tc_generator *gen, int64_t lo, int64_t hi, int64_t *out);
tc_status tv__uniform1(tc_generator *gen, double a, double b, double *u);
/* TC_ERR_ARG unless the value holds a tensor; *x borrowed from in. */
tc_status tv__need_tensor(const char *name, const tr_value *in, const tc_tensor **x);
/* CenterCrop's offset of a crop in a dim of `size` pixels (negative: the crop is larger, the image
 * padded by (crop - size) / 2 before it). */
int64_t tv__center_offset(int64_t size, int64_t crop);

/* ---- one geometric operation on an image and its targets (transforms_joint.c) ------------------- */
typedef enum tv__geo_kind {
  TV_GEO_HFLIP,
  TV_GEO_VFLIP,
  TV_GEO_RESIZE,        /* to (out_h, out_w) */
  TV_GEO_CROP,          /* (top, left, h, w) */
  TV_GEO_PAD,           /* ltrb, mode, vals/nvals */
  TV_GEO_RESIZED_CROP,  /* (top, left, h, w) to (out_h, out_w) */
  TV_GEO_AFFINE,        /* angle, tx, ty, scale, shx, shy, center, fill */
  TV_GEO_ROTATE,        /* angle, expand, center, fill */
  TV_GEO_PERSPECTIVE,   /* coeffs, fill */
  TV_GEO_ELASTIC        /* displacement, fill */
} tv__geo_kind;

typedef struct tv__geo {
  tv__geo_kind kind;
  int64_t top, left, h, w, out_h, out_w;
  tv_interp interp;
  bool antialias, expand;
  int64_t ltrb[4];
  tv_pad_mode mode;
  const double *vals; /* pad fill (borrowed) */
  int64_t nvals;
  double angle, tx, ty, scale, shx, shy;
  const double *center; /* NULL: the image center */
  tv_fill fill;
  double coeffs[8];
  const tc_tensor *displacement; /* borrowed */
} tv__geo;

/* The (h, w) a random geometric transform draws its parameters for: the first image of the value
 * (a tensor, or a tuple's first TR_TENSOR), else its first mask, else its boxes' canvas. */
tc_status tv__value_size(const char *fn, const tr_value *in, int64_t *h, int64_t *w);
/* op applied to an image, a mask, boxes, or every item of a tuple (images, masks, boxes; other
 * items copied). out is filled only on success. */
tc_status tv__geo_apply(const char *fn, const tv__geo *op, const tr_value *in, tr_value *out);
/* TC_ERR_UNSUPPORTED when in is a tuple holding boxes or masks (transforms that cannot move them). */
tc_status tv__refuse_targets(const char *fn, const tr_value *in);
/* For a transform that cannot move boxes or masks (FiveCrop, the fused decode-crop, the
 * AutoAugment family, as torchvision refuses them): a tuple without targets has its image put
 * through self (tr_apply_to_image), the other items copied; boxes or masks are TC_ERR_UNSUPPORTED. */
tc_status tv__map_images(const char *fn, tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen);

/* TC_ERR_ARG unless gen is given (random transforms never fall back to a global generator). */
tc_status tv__need_gen(const char *fn, const tc_generator *gen);
/* Frees a plain state block (the vtables' destroy). */
void tv__free_state(void *s);

/* A uint8 bilinear/bicubic resize of C planes (H, W) -> (OH, OW) run in steps, for a producer that
 * fills the source rows in order: decode_crop.c resizes the rows of a JPEG crop while the decoder
 * still writes the rows below them. Both axes must change size (OH != H, OW != W); the results
 * equal tv_resize's. Not for use by several threads at once.
 *
 *   tv__resize_stream *s = tv__resize_stream_create(3, H, W, OH, OW, TV_INTERP_BILINEAR, true);
 *   tv__resize_stream_rows(s, src, 0, ready);               // horizontal pass of the rows so far
 *   tv__resize_stream_out(s, dst, 0, rows_done(s, ready));  // output rows they complete
 */
typedef struct tv__resize_stream tv__resize_stream;
tv__resize_stream *tv__resize_stream_create(int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, tv_interp m,
                                            bool antialias);
/* Horizontal pass of source rows [r0, r1) of every plane of src (C x H x W). */
void tv__resize_stream_rows(tv__resize_stream *s, const uint8_t *src, int64_t r0, int64_t r1);
/* The number of output rows computable once source rows [0, rows) passed tv__resize_stream_rows. */
int64_t tv__resize_stream_ready(const tv__resize_stream *s, int64_t rows);
/* Output rows [o0, o1) of every plane into dst (C x OH x OW). */
void tv__resize_stream_out(tv__resize_stream *s, uint8_t *dst, int64_t o0, int64_t o1);
void tv__resize_stream_destroy(tv__resize_stream *s);

#endif
