/* core/src/index_backward.h — autograd recording for the indexing and joining ops (internal),
 * implemented in index_backward.c and called by index.c, mask.c, advindex.c and join.c.
 *
 * Callers check tc__grad_needed (and, for in-place forms, tc__check_inplace) first, so nothing
 * here runs when no input requires grad. Each tc__*_node makes the op's node (inputs' edges taken
 * from their current history, index/mask tensors saved) or returns NULL with the error set; then
 *   out-of-place: out = tc__index_record_out(node, out)   (NULL node: releases out, returns NULL)
 *   in place:     s = tc__index_record_inplace(node, self, write_status)
 * The in-place node is made after the op's checks and before its write, so a failure to make it
 * leaves self untouched; the commit makes it self's history (CopySlices when self is a view).
 */
#ifndef CTORCH_INDEX_BACKWARD_H
#define CTORCH_INDEX_BACKWARD_H

#include "autograd/autograd_internal.h"

/* The scatter family: which op a node differentiates. */
typedef enum {
  TC__IDXG_SCATTER,       /* scatter(self, dim, index, src): ScatterBackward0 */
  TC__IDXG_SCATTER_VALUE, /* scatter(self, dim, index, value): ScatterBackward1 */
  TC__IDXG_SCATTER_ADD,   /* scatter_add: ScatterAddBackward0 */
  TC__IDXG_INDEX_ADD      /* index_add(self, dim, index, source, alpha): IndexAddBackward0 */
} tc__idxg_scatter_kind;

/* index_select / gather of t along dim (any valid dim, negative allowed). */
tc__node *tc__index_select_node(const tc_tensor *t, int64_t dim, const tc_tensor *index);
tc__node *tc__gather_node(const tc_tensor *t, int64_t dim, const tc_tensor *index);
/* src is NULL for SCATTER_VALUE; alpha is index_add's. */
tc__node *tc__scatter_node(tc__idxg_scatter_kind kind, const tc_tensor *self, int64_t dim, const tc_tensor *index,
                           const tc_tensor *src, double alpha);
/* masked_fill of t (result shape: t broadcast with mask). */
tc__node *tc__masked_fill_node(const tc_tensor *t, const tc_tensor *mask);
/* masked_select of t; bs/nb: the broadcast shape of t and mask. */
tc__node *tc__masked_select_node(const tc_tensor *t, const tc_tensor *mask, const int64_t *bs, int nb);
/* where(cond, a, b) */
tc__node *tc__where_node(const tc_tensor *cond, const tc_tensor *a, const tc_tensor *b);
/* tc_index(t, indices, n) and tc_index_put_inplace(self, indices, n, values, accumulate). */
tc__node *tc__index_node(const tc_tensor *t, const tc_tensor *const *indices, int64_t n);
tc__node *tc__index_put_node(const tc_tensor *self, const tc_tensor *const *indices, int64_t n,
                             const tc_tensor *values, bool accumulate);
/* cat (stack = false) or stack of ts[0..n) along the (wrapped) output dim. `parts` are the tensors
 * actually joined (hstack/vstack: views with at least 1 or 2 dims) and `inputs` the tensors the
 * gradients go to (the caller's), whose shapes the gradients take; equal for cat/stack. */
tc__node *tc__cat_node(const tc_tensor *const *inputs, const tc_tensor *const *parts, int64_t n, int64_t dim,
                       bool stack);

/* Makes node out's history; releases out and returns NULL when node is NULL or on failure. */
tc_tensor *tc__index_record_out(tc__node *node, tc_tensor *out);
/* After an in-place write into self with status `written`: on success node becomes self's
 * history; the node reference is always consumed. Returns `written` or the commit's failure. */
tc_status tc__index_record_inplace(tc__node *node, tc_tensor *self, tc_status written);

#endif
