/* ctorch/transforms.h — libctorch_transforms (tr_): the transform interface that datasets apply to
 * samples (`transform`) and labels (`target_transform`), the containers of torchvision.transforms.v2
 * (Compose, RandomApply, RandomChoice, RandomOrder, Lambda) and generic transforms (ToDtype with
 * scaling, one-hot labels, pad/truncate to a length).
 *
 * A transform maps one value (a tensor, an integer, a float or a string) to a new one. Random
 * transforms draw only from the generator they are given (a DataLoader derives one per sample, so a
 * run is reproducible for any number of workers); they refuse a NULL generator.
 *
 *   // the Fashion-MNIST tutorial: uint8 image -> float in [0, 1]; label -> one-hot float32
 *   tr_transform *t = tr_compose(2, (tr_transform *[]){tr_to_dtype(TC_F32, true), tr_lambda(fn, NULL, "flatten")});
 *   tr_transform *target = tr_one_hot(10);
 *   tr_value out;
 *   if (tr_apply(t, &(tr_value){.kind = TR_TENSOR, .tensor = image}, &out, gen)) puts(tc_last_error());
 *   char *s = tr_describe(t);    // "Compose(\n      ToDtype(dtype=float32, scale=True)\n ... )"
 *   tc_free(s);
 *   tr_value_clear(&out);
 *   tr_destroy(t);
 *
 * Ownership: tr_apply borrows `in` and fills `out` with new references (clear it with
 * tr_value_clear); on failure `out` is TR_NONE and holds nothing. Containers take ownership of the
 * transforms they are given (also when their creation fails); tr_destroy frees a transform and
 * everything it owns.
 */
#ifndef CTORCH_TRANSFORMS_H
#define CTORCH_TRANSFORMS_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- values -------------------------------------------------------------------------------------- */
/* TR_BOXES, TR_MASK and TR_TUPLE carry detection and segmentation targets with their image, as
 * torchvision.transforms.v2 takes (image, boxes, mask, labels): a TR_TUPLE's items go through one
 * transform together, the geometric ones (vision) moving boxes and masks with the image by the same
 * random parameters. A tuple's image is its first TR_TENSOR (depth first, nested tuples included);
 * other tensors (labels, scores) pass through untouched, as torchvision treats plain tensors beside an
 * image. A transform that does not take tuples itself (vt->joint false) is applied to the image alone
 * and leaves boxes and masks as they are (color transforms, as torchvision's), also when given boxes
 * or a mask on their own. */
typedef enum tr_kind { TR_NONE = 0, TR_TENSOR, TR_INT, TR_FLOAT, TR_STRING, TR_BOXES, TR_MASK, TR_TUPLE } tr_kind;

typedef struct tr_value {
  tr_kind kind;
  tc_tensor *tensor; /* TR_TENSOR, TR_BOXES (..., 4), TR_MASK (..., H, W): a reference the value owns */
  int64_t i;         /* TR_INT */
  double f;          /* TR_FLOAT */
  char *s;           /* TR_STRING: owned, allocated with tc_malloc */
  int format;        /* TR_BOXES: the box format (vision's tv_box_format) */
  int64_t canvas[2]; /* TR_BOXES: (height, width) of the image the boxes lie on */
  struct tr_value *items; /* TR_TUPLE: n owned values, allocated with tc_malloc */
  int64_t n;
} tr_value;

/* Constructors: the tensor reference is taken over (NULL gives TR_NONE); the string is copied. */
TC_API tr_value tr_tensor_value(tc_tensor *t);
TC_API tr_value tr_int_value(int64_t i);
TC_API tr_value tr_float_value(double f);
TC_API tr_value tr_string_value(const char *s); /* TR_NONE with TC_ERR_NOMEM when the copy fails */
/* Boxes (..., 4) in `format` on a canvas_h x canvas_w image; a mask (..., H, W) of integer labels. */
TC_API tr_value tr_boxes_value(tc_tensor *boxes, int format, int64_t canvas_h, int64_t canvas_w);
TC_API tr_value tr_mask_value(tc_tensor *mask);
/* A tuple of n >= 0 values, which it takes over (items[i] are left TR_NONE); TR_NONE with
 * TC_ERR_NOMEM (the items cleared) when the array cannot be made, TC_ERR_ARG for n < 0 or NULL items. */
TC_API tr_value tr_tuple_value(int64_t n, tr_value *items);
/* dst = a copy of src (tensors shared by reference, strings copied). */
TC_API tc_status tr_value_copy(tr_value *dst, const tr_value *src);
/* Releases what v owns and makes it TR_NONE. */
TC_API void tr_value_clear(tr_value *v);
/* "tensor", "int", "float", "string", "boxes", "mask", "tuple" or "none" */
TC_API const char *tr_kind_name(tr_kind k);

/* ---- the transform interface ---------------------------------------------------------------------- */
typedef struct tr_transform tr_transform;

typedef struct tr_transform_vtable {
  const char *name; /* "ToDtype" */
  /* out = f(in): in borrowed; out filled only on success */
  tc_status (*apply)(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen);
  /* A new tc_malloc'd description, or NULL for "<name>()". */
  char *(*describe)(const tr_transform *self);
  /* Frees the state (not the transform itself); may be NULL. */
  void (*destroy)(void *state);
  /* apply takes TR_TUPLE values itself (containers, geometric transforms); otherwise tr_apply maps
   * it over a tuple's images */
  bool joint;
} tr_transform_vtable;

/* A transform of your own: vt must outlive it; state is owned (vt->destroy frees it, also when
 * this call fails). */
TC_API tr_transform *tr_transform_create(const tr_transform_vtable *vt, void *state);
TC_API void *tr_transform_state(const tr_transform *t);

TC_API tc_status tr_apply(tr_transform *t, const tr_value *in, tr_value *out, tc_generator *gen);
/* t's own apply on the image of `in` alone (a tensor, or a tuple's first TR_TENSOR, depth first);
 * every other item, and boxes or a mask on their own, copied. What tr_apply does for a transform
 * without vt->joint; for a joint transform's apply that means to act on the image only. */
TC_API tc_status tr_apply_to_image(tr_transform *t, const tr_value *in, tr_value *out, tc_generator *gen);
TC_API const char *tr_name(const tr_transform *t);
/* As PyTorch prints it; free with tc_free. */
TC_API char *tr_describe(const tr_transform *t);
TC_API void tr_destroy(tr_transform *t);

/* ---- containers (each takes ownership of its n transforms) ---------------------------------------- */
/* Applies them in order. */
TC_API tr_transform *tr_compose(int64_t n, tr_transform *const *transforms);
/* Applies them all (in order) with probability p, else passes the value through: one uniform draw u
 * (as torch.rand(1)), applied when u < p. */
TC_API tr_transform *tr_random_apply(double p, int64_t n, tr_transform *const *transforms);
/* Applies one of them, picked with probability weights[i] / sum (weights NULL: uniform). */
TC_API tr_transform *tr_random_choice(int64_t n, tr_transform *const *transforms, const double *weights);
/* Applies them all in a random order (a permutation as torch.randperm(n)). */
TC_API tr_transform *tr_random_order(int64_t n, tr_transform *const *transforms);
/* A C callback with user data (not owned); name shows in the description. */
typedef tc_status (*tr_lambda_fn)(const tr_value *in, tr_value *out, tc_generator *gen, void *user);
TC_API tr_transform *tr_lambda(tr_lambda_fn fn, void *user, const char *name);

/* ---- generic transforms ----------------------------------------------------------------------------- */
/* torchvision.transforms.v2.ToDtype(dtype, scale) on a tensor. With scale: integers -> floats divide
 * by the input type's maximum (255 for uint8; as x * (1 / max)); floats -> integers multiply by
 * (max + 1 - 1e-3) and truncate (float32 -> int32/int64 and float64 -> int64 are refused: not
 * exact); integers -> integers shift by the difference in value bits. Integer and float values
 * become 0-d tensors first. */
TC_API tr_transform *tr_to_dtype(tc_dtype dtype, bool scale);
/* A class label (an int, or an integer 0-d/1-d tensor) -> a float32 one-hot vector of
 * num_classes (the tutorial's target_transform). Labels outside [0, num_classes) are an error. */
TC_API tr_transform *tr_one_hot(int64_t num_classes);
/* Pads with `value` at the end, or truncates, a tensor along dim to exactly `length`. */
TC_API tr_transform *tr_pad_truncate(int64_t dim, int64_t length, double value);

#ifdef __cplusplus
}
#endif
#endif
