/* core/src/views_backward.h — autograd recording for view and copy ops (internal). */
#ifndef CTORCH_VIEWS_BACKWARD_H
#define CTORCH_VIEWS_BACKWARD_H

#include "internal.h"

typedef enum {
  TC__VIEW_RESHAPE,   /* view, reshape, flatten, unflatten, squeeze, unsqueeze: reshape back */
  TC__VIEW_PERMUTE,   /* p[0..n) = dims */
  TC__VIEW_TRANSPOSE, /* p[0], p[1] = the two dims */
  TC__VIEW_EXPAND,    /* sum back to the input shape */
  TC__VIEW_SLICE,     /* p[0] = dim, p[1] = start, p[2] = end, p[3] = step */
  TC__VIEW_SELECT,    /* p[0] = dim, p[1] = index */
  TC__VIEW_ALIAS,     /* identity (clone, contiguous copy, alias) */
  TC__VIEW_TO_DTYPE,  /* gradient converted back to the input dtype */
  TC__VIEW_TO_DEVICE  /* gradient moved back to the input device */
} tc__view_kind;

/* Records the view-like op producing out from t (name as PyTorch's node). Returns out, or NULL
 * after releasing it on failure. */
tc_tensor *tc__view_record(tc__view_kind kind, const char *name, const tc_tensor *t, tc_tensor *out, const int64_t *p,
                           int np);

#endif
