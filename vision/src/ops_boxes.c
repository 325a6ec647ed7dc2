/* vision/src/ops_boxes.c — box arithmetic (area, IoU, format conversion, clipping, small-box removal)
 * and non-maximum suppression, as torchvision.ops.boxes.
 *
 * The arithmetic ops are composed from core tensor ops in torchvision's order, so they run on any
 * device, record autograd and round exactly as torchvision does. nms is a CPU loop over contiguous
 * copies, torchvision's CPU kernel: stable sort by score, then greedy suppression.
 */
#include <math.h>
#include <string.h>
#include "ctorch/vision_ops.h"
#include "ops_common.h"

tc_status tv__check_boxes(const char *fn, const char *what, const tc_tensor *t, bool floating_only) {
  if (!t) return tc_last_status() ? tc_last_status() : tc_set_error(TC_ERR_ARG, "%s: %s is NULL", fn, what);
  if (tc_tensor_ndim(t) != 2 || tc_tensor_shape(t)[1] != 4)
    return tc_set_error(TC_ERR_SHAPE, "%s: %s must be (N, 4), got %lld dims with last size %lld", fn, what,
                        (long long)tc_tensor_ndim(t),
                        tc_tensor_ndim(t) ? (long long)tc_tensor_shape(t)[tc_tensor_ndim(t) - 1] : 0LL);
  tc_dtype d = tc_tensor_dtype(t);
  bool ok = floating_only ? (d == TC_F32 || d == TC_F64) : (d != TC_BOOL && !tc_dtype_is_complex(d));
  if (!ok)
    return tc_set_error(TC_ERR_DTYPE, "%s: %s must be %s, got %s", fn, what,
                        floating_only ? "float32 or float64" : "a real dtype", tc_dtype_name(d));
  return TC_OK;
}

tc_tensor *tv__scope_return(tc_tensor *r) {
  if (r) tc_scope_keep(r);
  tc_scope_pop();
  if (!r) return NULL;
  /* a result kept out of the inner scope belongs to no scope; a view made now is recorded in the
   * caller's scope (if any), as every other op's result is, and keeps the autograd graph */
  tc_tensor *v = tc_view(r, tc_tensor_shape(r), tc_tensor_ndim(r));
  tc_tensor_release(r);
  return v;
}
#define scope_return tv__scope_return

/* column k of (N, 4) boxes: (N), a view */
static tc_tensor *col(const tc_tensor *b, int64_t k) { return tc_select(b, 1, k); }

tc_tensor *tv_box_area(const tc_tensor *boxes) {
  if (tv__check_boxes("tv_box_area", "boxes", boxes, false)) return NULL;
  tc_scope_push();
  tc_tensor *r = tc_mul(tc_sub(col(boxes, 2), col(boxes, 0), 1.0), tc_sub(col(boxes, 3), col(boxes, 1), 1.0));
  return scope_return(r);
}

tc_tensor *tv_box_iou(const tc_tensor *a, const tc_tensor *b) {
  if (tv__check_boxes("tv_box_iou", "boxes1", a, false) || tv__check_boxes("tv_box_iou", "boxes2", b, false))
    return NULL;
  tc_scope_push();
  tc_tensor *area1 = tv_box_area(a), *area2 = tv_box_area(b);
  /* lt, rb: (N, M, 2) corners of the intersections */
  tc_tensor *a_lo = tc_unsqueeze(tc_narrow(a, 1, 0, 2), 1), *a_hi = tc_unsqueeze(tc_narrow(a, 1, 2, 2), 1);
  tc_tensor *lt = tc_maximum(a_lo, tc_narrow(b, 1, 0, 2));
  tc_tensor *rb = tc_minimum(a_hi, tc_narrow(b, 1, 2, 2));
  tc_tensor *wh = tc_clamp(tc_sub(rb, lt, 1.0), 0.0, INFINITY);
  tc_tensor *inter = tc_mul(tc_select(wh, 2, 0), tc_select(wh, 2, 1)); /* (N, M) */
  tc_tensor *uni = tc_sub(tc_add(tc_unsqueeze(area1, 1), area2, 1.0), inter, 1.0);
  return scope_return(tc_div(inter, uni));
}

/* (N, 4) from four (N) columns */
static tc_tensor *stack4(tc_tensor *c0, tc_tensor *c1, tc_tensor *c2, tc_tensor *c3) {
  if (!c0 || !c1 || !c2 || !c3) return NULL;
  return tc_stack((const tc_tensor *const[]){c0, c1, c2, c3}, 4, 1);
}

static tc_tensor *to_xyxy(const tc_tensor *b, tv_box_format in) {
  tc_tensor *c0 = col(b, 0), *c1 = col(b, 1), *c2 = col(b, 2), *c3 = col(b, 3);
  if (in == TV_BOX_XYWH) return stack4(c0, c1, tc_add(c0, c2, 1.0), tc_add(c1, c3, 1.0));
  /* cxcywh: x1 = cx - 0.5 * w, as torchvision */
  tc_tensor *hw = tc_mul_scalar(c2, 0.5), *hh = tc_mul_scalar(c3, 0.5);
  return stack4(tc_sub(c0, hw, 1.0), tc_sub(c1, hh, 1.0), tc_add(c0, hw, 1.0), tc_add(c1, hh, 1.0));
}

static tc_tensor *from_xyxy(const tc_tensor *b, tv_box_format out) {
  tc_tensor *x1 = col(b, 0), *y1 = col(b, 1), *x2 = col(b, 2), *y2 = col(b, 3);
  tc_tensor *w = tc_sub(x2, x1, 1.0), *h = tc_sub(y2, y1, 1.0);
  if (out == TV_BOX_XYWH) return stack4(x1, y1, w, h);
  return stack4(tc_div_scalar(tc_add(x1, x2, 1.0), 2.0), tc_div_scalar(tc_add(y1, y2, 1.0), 2.0), w, h);
}

tc_tensor *tv_box_convert(const tc_tensor *boxes, tv_box_format in, tv_box_format out) {
  if (tv__check_boxes("tv_box_convert", "boxes", boxes, false)) return NULL;
  if ((unsigned)in > TV_BOX_CXCYWH || (unsigned)out > TV_BOX_CXCYWH) {
    tc_set_error(TC_ERR_ARG, "tv_box_convert: unknown box format (in %d, out %d)", (int)in, (int)out);
    return NULL;
  }
  if (in == out) return tc_clone(boxes);
  tc_scope_push();
  tc_tensor *xyxy = in == TV_BOX_XYXY ? (tc_tensor *)boxes : to_xyxy(boxes, in);
  tc_tensor *r = out == TV_BOX_XYXY ? xyxy : (xyxy ? from_xyxy(xyxy, out) : NULL);
  return scope_return(r);
}

tc_tensor *tv_clip_boxes_to_image(const tc_tensor *boxes, int64_t height, int64_t width) {
  if (!boxes) return NULL;
  int64_t nd = tc_tensor_ndim(boxes);
  if (nd < 1 || tc_tensor_shape(boxes)[nd - 1] != 4) {
    tc_set_error(TC_ERR_SHAPE, "tv_clip_boxes_to_image: boxes must be (..., 4)");
    return NULL;
  }
  if (height < 0 || width < 0) {
    tc_set_error(TC_ERR_ARG, "tv_clip_boxes_to_image: size (%lld, %lld) is negative", (long long)height,
                 (long long)width);
    return NULL;
  }
  tc_scope_push();
  /* even columns are x in [0, width], odd ones y in [0, height]: bounds broadcast over (..., 4) */
  tc_tensor *lo = tc_zeros((const int64_t[]){4}, 1, TC_OPTS(.dtype = tc_tensor_dtype(boxes)));
  double hi_v[4] = {(double)width, (double)height, (double)width, (double)height};
  tc_tensor *hi = tc_tensor_from_data(hi_v, (const int64_t[]){4}, 1, TC_F64);
  tc_tensor *hi_t = hi ? tc_to_dtype(hi, tc_tensor_dtype(boxes)) : NULL;
  return scope_return(tc_clamp_tensor(boxes, lo, hi_t));
}

tc_tensor *tv_remove_small_boxes(const tc_tensor *boxes, double min_size) {
  if (tv__check_boxes("tv_remove_small_boxes", "boxes", boxes, false)) return NULL;
  tc_scope_push();
  tc_tensor *ws = tc_sub(col(boxes, 2), col(boxes, 0), 1.0), *hs = tc_sub(col(boxes, 3), col(boxes, 1), 1.0);
  tc_tensor *keep = tc_logical_and(tc_ge_scalar(ws, min_size), tc_ge_scalar(hs, min_size));
  tc_tensor *kc = keep ? tc_contiguous(keep) : NULL;
  tc_tensor *r = NULL;
  if (kc) {
    int64_t n = tc_tensor_numel(kc), k = 0;
    const uint8_t *m = tc_tensor_data(kc);
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += m[i] != 0;
    r = tc_empty((const int64_t[]){cnt}, 1, TC_OPTS(.dtype = TC_I64));
    if (r) {
      int64_t *o = tc_tensor_data(r);
      for (int64_t i = 0; i < n; i++)
        if (m[i]) o[k++] = i;
    }
  }
  return scope_return(r);
}

/* ---- nms --------------------------------------------------------------------------------------- */

/* a goes before b in a descending sort (NaN counts as the largest value, as torch.sort) */
static bool before(double a, double b) { return (isnan(a) && !isnan(b)) || a > b; }

/* Stable merge sort of idx[0..n) by key descending; tmp has n slots. */
static void sort_desc(int64_t *idx, int64_t *tmp, int64_t n, const double *key) {
  for (int64_t w = 1; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = before(key[idx[j]], key[idx[i]]) ? idx[j++] : idx[i++];
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, (size_t)n * sizeof *idx);
  }
}

tc_status tv__stable_argsort_desc(const double *key, int64_t n, int64_t *order) {
  int64_t *tmp = tc_malloc((size_t)(n ? n : 1) * sizeof *tmp);
  if (!tmp) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < n; i++) order[i] = i;
  sort_desc(order, tmp, n, key);
  tc_free(tmp);
  return TC_OK;
}

/* torchvision's nms_kernel_impl for one element type: b (N, 4) contiguous, order by score
 * descending; writes the kept indices to keep and returns how many. std::max/std::min spelled out so
 * the comparisons (and NaN behaviour) are the same. */
#define DEFINE_NMS(T, NAME)                                                                             \
  static int64_t NAME(const T *b, const int64_t *order, int64_t n, double thr, uint8_t *supp, T *areas, \
                      int64_t *keep) {                                                                  \
    for (int64_t i = 0; i < n; i++) areas[i] = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]); \
    int64_t nk = 0;                                                                                     \
    for (int64_t ii = 0; ii < n; ii++) {                                                                \
      int64_t i = order[ii];                                                                            \
      if (supp[i]) continue;                                                                            \
      keep[nk++] = i;                                                                                   \
      T ix1 = b[4 * i], iy1 = b[4 * i + 1], ix2 = b[4 * i + 2], iy2 = b[4 * i + 3], iarea = areas[i];   \
      for (int64_t jj = ii + 1; jj < n; jj++) {                                                         \
        int64_t j = order[jj];                                                                          \
        if (supp[j]) continue;                                                                          \
        T xx1 = ix1 < b[4 * j] ? b[4 * j] : ix1, yy1 = iy1 < b[4 * j + 1] ? b[4 * j + 1] : iy1;         \
        T xx2 = b[4 * j + 2] < ix2 ? b[4 * j + 2] : ix2, yy2 = b[4 * j + 3] < iy2 ? b[4 * j + 3] : iy2; \
        T w = (T)0 < xx2 - xx1 ? xx2 - xx1 : (T)0, h = (T)0 < yy2 - yy1 ? yy2 - yy1 : (T)0;             \
        T inter = w * h;                                                                                \
        T ovr = inter / (iarea + areas[j] - inter);                                                     \
        if (ovr > thr) supp[j] = 1;                                                                     \
      }                                                                                                 \
    }                                                                                                   \
    return nk;                                                                                          \
  }
DEFINE_NMS(float, nms_f32)
DEFINE_NMS(double, nms_f64)

static tc_status check_scores(const char *fn, const tc_tensor *boxes, const tc_tensor *scores) {
  tc_status st = tv__check_boxes(fn, "boxes", boxes, true);
  if (st) return st;
  if (!scores) return tc_set_error(TC_ERR_ARG, "%s: scores is NULL", fn);
  if (tc_tensor_ndim(scores) != 1 || tc_tensor_shape(scores)[0] != tc_tensor_shape(boxes)[0])
    return tc_set_error(TC_ERR_SHAPE, "%s: scores must be (N) for %lld boxes", fn,
                        (long long)tc_tensor_shape(boxes)[0]);
  if (tc_tensor_dtype(scores) != tc_tensor_dtype(boxes))
    return tc_set_error(TC_ERR_DTYPE, "%s: scores are %s but boxes are %s", fn, tc_dtype_name(tc_tensor_dtype(scores)),
                        tc_dtype_name(tc_tensor_dtype(boxes)));
  return TC_OK;
}

/* scores as doubles (exact for f32 and f64), tc_malloc'd */
static double *scores_f64(const tc_tensor *scores) {
  int64_t n = tc_tensor_numel(scores);
  double *k = tc_malloc((size_t)(n ? n : 1) * sizeof *k);
  tc_tensor *d = k ? tc_to_dtype(scores, TC_F64) : NULL;
  if (!d || tc_tensor_copy_to_buffer(d, k, (size_t)n * sizeof *k)) {
    tc_tensor_release(d);
    tc_free(k);
    return NULL;
  }
  tc_tensor_release(d);
  return k;
}

/* nms on validated CPU inputs: the kept indices (int64) */
static tc_tensor *nms_impl(const tc_tensor *boxes, const tc_tensor *scores, double thr) {
  int64_t n = tc_tensor_shape(boxes)[0];
  size_t esz = tc_tensor_element_size(boxes);
  tc_tensor *bc = tc_contiguous(boxes), *out = NULL;
  double *key = bc ? scores_f64(scores) : NULL;
  int64_t *order = tc_malloc((size_t)(n + 1) * sizeof *order), *keep = tc_malloc((size_t)(n + 1) * sizeof *keep);
  uint8_t *supp = tc_calloc((size_t)n + 1);
  void *areas = tc_malloc((size_t)(n + 1) * esz);
  if (key && order && keep && supp && areas && !tv__stable_argsort_desc(key, n, order)) {
    int64_t nk = tc_tensor_dtype(boxes) == TC_F32
                     ? nms_f32(tc_tensor_data(bc), order, n, thr, supp, areas, keep)
                     : nms_f64(tc_tensor_data(bc), order, n, thr, supp, areas, keep);
    out = tc_tensor_from_data(keep, (const int64_t[]){nk}, 1, TC_I64);
  }
  tc_tensor_release(bc);
  tc_free(key);
  tc_free(order);
  tc_free(keep);
  tc_free(supp);
  tc_free(areas);
  return out;
}

tc_tensor *tv_nms(const tc_tensor *boxes, const tc_tensor *scores, double iou_threshold) {
  if (check_scores("tv_nms", boxes, scores)) return NULL;
  return nms_impl(boxes, scores, iou_threshold);
}

/* torchvision's _batched_nms_coordinate_trick: boxes + idxs * (boxes.max() + 1), one nms */
static tc_tensor *batched_offset(const tc_tensor *boxes, const tc_tensor *scores, const tc_tensor *idxs, double thr) {
  tc_scope_push();
  tc_tensor *mx = tc_max(boxes);
  tc_tensor *off = tc_mul(tc_to_dtype(idxs, tc_tensor_dtype(boxes)), tc_add_scalar(mx, 1.0)); /* (N) */
  tc_tensor *shifted = off ? tc_add(boxes, tc_unsqueeze(off, 1), 1.0) : NULL;
  return scope_return(shifted ? nms_impl(shifted, scores, thr) : NULL);
}

/* torchvision's _batched_nms_vanilla: nms per category, kept indices sorted by score */
static tc_tensor *batched_vanilla(const tc_tensor *boxes, const tc_tensor *scores, const tc_tensor *idxs, double thr) {
  int64_t n = tc_tensor_shape(boxes)[0];
  tc_tensor *out = NULL;
  int64_t *cat = tc_malloc((size_t)n * sizeof *cat), *sel = tc_malloc((size_t)n * sizeof *sel);
  uint8_t *done = tc_calloc((size_t)n), *kept = tc_calloc((size_t)n);
  tc_tensor *ic = tc_to_dtype(idxs, TC_I64);
  if (!cat || !sel || !done || !kept || !ic || tc_tensor_copy_to_buffer(ic, cat, (size_t)n * sizeof *cat)) goto fail;
  for (int64_t first = 0; first < n; first++) {
    if (done[first]) continue;
    int64_t m = 0; /* the boxes of category cat[first], in input order */
    for (int64_t i = first; i < n; i++)
      if (!done[i] && cat[i] == cat[first]) sel[m++] = i, done[i] = 1;
    tc_tensor *it = tc_tensor_from_data(sel, (const int64_t[]){m}, 1, TC_I64);
    tc_tensor *cb = it ? tc_index_select(boxes, 0, it) : NULL, *cs = cb ? tc_index_select(scores, 0, it) : NULL;
    tc_tensor *k = cs ? nms_impl(cb, cs, thr) : NULL;
    if (k) {
      const int64_t *kp = tc_tensor_data(k);
      for (int64_t j = 0; j < tc_tensor_numel(k); j++) kept[sel[kp[j]]] = 1;
    }
    tc_tensor_release(it), tc_tensor_release(cb), tc_tensor_release(cs), tc_tensor_release(k);
    if (!k) goto fail;
  }
  double *key = scores_f64(scores);
  if (!key) goto fail;
  int64_t nk = 0;
  for (int64_t i = 0; i < n; i++)
    if (kept[i]) sel[nk++] = i;
  double *kk = tc_malloc((size_t)(nk ? nk : 1) * sizeof *kk);
  int64_t *ord = tc_malloc((size_t)(nk ? nk : 1) * sizeof *ord);
  if (kk && ord) {
    for (int64_t i = 0; i < nk; i++) kk[i] = key[sel[i]];
    if (!tv__stable_argsort_desc(kk, nk, ord)) {
      for (int64_t i = 0; i < nk; i++) cat[i] = sel[ord[i]];
      out = tc_tensor_from_data(cat, (const int64_t[]){nk}, 1, TC_I64);
    }
  }
  tc_free(kk), tc_free(ord), tc_free(key);
fail:
  tc_tensor_release(ic);
  tc_free(cat), tc_free(sel), tc_free(done), tc_free(kept);
  return out;
}

tc_tensor *tv_batched_nms(const tc_tensor *boxes, const tc_tensor *scores, const tc_tensor *idxs,
                          double iou_threshold) {
  if (check_scores("tv_batched_nms", boxes, scores)) return NULL;
  int64_t n = tc_tensor_shape(boxes)[0];
  if (!idxs || tc_tensor_ndim(idxs) != 1 || tc_tensor_shape(idxs)[0] != n ||
      !tc_dtype_is_integral(tc_tensor_dtype(idxs), false)) {
    tc_set_error(TC_ERR_ARG, "tv_batched_nms: idxs must be an integer (N) tensor for %lld boxes", (long long)n);
    return NULL;
  }
  if (n == 0) return tc_empty((const int64_t[]){0}, 1, TC_OPTS(.dtype = TC_I64));
  if (n * 4 > 4000) return batched_vanilla(boxes, scores, idxs, iou_threshold);
  return batched_offset(boxes, scores, idxs, iou_threshold);
}
