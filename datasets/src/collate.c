/* datasets/src/collate.c — the built-in collate: one batch field per sample field.
 *
 * Tensors: stacked (every sample the same shape), or padded along dim 0 to the longest (other dims
 * equal) with "<name>_lengths", or concatenated along dim 0 with "<name>_offsets" (each sample's
 * start). Ints -> int64 (B), floats -> float64 (B), as torch's default_collate. Masks (TR_MASK)
 * collate as tensors. Boxes (TR_BOXES: a varying number per image) are always concatenated, with
 * "<name>_offsets", whatever the mode (torchvision's detection models take a list per image; the
 * offsets split the batch back). Strings: an error asking for a collate_fn.
 */
#include <stdio.h>
#include <string.h>
#include "ctorch/dataloader.h"
#include "datasets_internal.h"

static const char *mode_name(td_collate_mode m) {
  return m == TD_COLLATE_PAD ? "pad" : m == TD_COLLATE_OFFSETS ? "offsets" : "stack";
}

/* Adds field `name` with suffix to the batch (the value is taken over). */
static tc_status add_field(td_sample *b, const char *name, const char *suffix, tr_value v) {
  char full[TD_FIELD_NAME];
  if ((size_t)snprintf(full, sizeof full, "%s%s", name, suffix) >= sizeof full) {
    tr_value_clear(&v);
    return tc_set_error(TC_ERR_ARG, "collate: field name '%s%s' is too long", name, suffix);
  }
  return td_sample_set(b, full, v);
}

static tc_status collate_tensors(const td_sample *ss, int64_t n, int f, td_collate_mode mode, double pad_value,
                                 td_sample *b) {
  const char *name = ss[0].names[f];
  const tc_tensor **ts = tc_malloc(sizeof *ts * (size_t)n);
  if (!ts) return tc_last_status();
  tc_status st = TC_OK;
  const tc_tensor *t0 = NULL;
  int64_t longest = 0;
  for (int64_t i = 0; i < n && !st; i++) {
    const tr_value *v = td_sample_field(&ss[i], name);
    if (!v || v->kind != ss[0].values[f].kind) {
      st = tc_set_error(TC_ERR_ARG, "collate: sample %lld of the batch has %s field '%s' (sample 0 has %s)",
                        (long long)i, v ? tr_kind_name(v->kind) : "no", name, tr_kind_name(ss[0].values[f].kind));
      break;
    }
    ts[i] = v->tensor;
    if (!t0) t0 = v->tensor;
    int64_t nd = tc_tensor_ndim(v->tensor);
    bool same = nd == tc_tensor_ndim(t0) && tc_tensor_dtype(v->tensor) == tc_tensor_dtype(t0);
    for (int64_t d = mode == TD_COLLATE_STACK ? 0 : 1; same && d < nd; d++)
      same = tc_tensor_shape(v->tensor)[d] == tc_tensor_shape(t0)[d];
    if (!same || (mode != TD_COLLATE_STACK && nd < 1))
      st = tc_set_error(TC_ERR_SHAPE,
                        "collate (%s): field '%s' of sample %lld does not match sample 0 (%s; %s mode needs equal %s)",
                        mode_name(mode), name, (long long)i, nd < 1 ? "0-d" : "another shape or dtype",
                        mode_name(mode), mode == TD_COLLATE_STACK ? "shapes: use pad or offsets for varying lengths"
                                                                  : "trailing dims and dtype, 1 dim at least");
    else if (nd > 0 && tc_tensor_shape(v->tensor)[0] > longest)
      longest = tc_tensor_shape(v->tensor)[0];
  }
  if (!st) {
    tc_tensor *r = NULL, *aux = NULL;
    if (mode == TD_COLLATE_STACK) {
      r = tc_stack(ts, n, 0);
    } else {
      aux = tc_empty(&n, 1, TC_OPTS(.dtype = TC_I64));
      int64_t *a = aux ? tc_tensor_data(aux) : NULL, acc = 0;
      for (int64_t i = 0; a && i < n; i++) {
        int64_t len = tc_tensor_shape(ts[i])[0];
        a[i] = mode == TD_COLLATE_PAD ? len : acc;
        acc += len;
      }
      if (aux && mode == TD_COLLATE_OFFSETS) {
        r = tc_cat(ts, n, 0);
      } else if (aux) { /* pad each to the longest along dim 0, then stack */
        const tc_tensor **padded = tc_malloc(sizeof *padded * (size_t)n);
        int64_t made = 0;
        for (; padded && made < n; made++) {
          int64_t nd = tc_tensor_ndim(ts[made]), pad[2 * TC_MAX_DIMS] = {0};
          pad[2 * (nd - 1) + 1] = longest - tc_tensor_shape(ts[made])[0];
          if (!(padded[made] = tc_pad(ts[made], pad, 2 * nd, TC_PAD_CONSTANT, pad_value))) break;
        }
        if (padded && made == n) r = tc_stack(padded, n, 0);
        for (int64_t i = 0; padded && i < made; i++) tc_tensor_release((tc_tensor *)padded[i]);
        tc_free(padded);
      }
    }
    if (!r) {
      st = tc_last_status();
      tc_tensor_release(aux);
    } else {
      st = add_field(b, name, "", tr_tensor_value(r));
      if (!st && aux) st = add_field(b, name, mode == TD_COLLATE_PAD ? "_lengths" : "_offsets", tr_tensor_value(aux));
      else if (aux) tc_tensor_release(aux);
    }
  }
  tc_free(ts);
  return st;
}

static tc_status collate_numbers(const td_sample *ss, int64_t n, int f, td_sample *b) {
  const char *name = ss[0].names[f];
  bool ints = ss[0].values[f].kind == TR_INT;
  tc_tensor *t = tc_empty(&n, 1, TC_OPTS(.dtype = ints ? TC_I64 : TC_F64));
  if (!t) return tc_last_status();
  for (int64_t i = 0; i < n; i++) {
    const tr_value *v = td_sample_field(&ss[i], name);
    if (!v || v->kind != ss[0].values[f].kind) {
      tc_tensor_release(t);
      return tc_set_error(TC_ERR_ARG, "collate: sample %lld of the batch has %s field '%s' (sample 0 has %s)",
                          (long long)i, v ? tr_kind_name(v->kind) : "no", name, tr_kind_name(ss[0].values[f].kind));
    }
    if (ints) ((int64_t *)tc_tensor_data(t))[i] = v->i;
    else ((double *)tc_tensor_data(t))[i] = v->f;
  }
  return add_field(b, name, "", tr_tensor_value(t));
}

tc_status td_collate(const td_sample *samples, int64_t n, td_collate_mode mode, double pad_value, td_sample *batch) {
  if (batch) td_sample_init(batch);
  if (!samples || n < 1 || !batch) return tc_set_error(TC_ERR_ARG, "td_collate: needs n >= 1 samples and a batch");
  tc_status st = TC_OK;
  for (int f = 0; f < samples[0].n && !st; f++) {
    switch (samples[0].values[f].kind) {
      case TR_TENSOR:
      case TR_MASK: st = collate_tensors(samples, n, f, mode, pad_value, batch); break;
      case TR_BOXES: st = collate_tensors(samples, n, f, TD_COLLATE_OFFSETS, pad_value, batch); break;
      case TR_INT:
      case TR_FLOAT: st = collate_numbers(samples, n, f, batch); break;
      default:
        st = tc_set_error(TC_ERR_UNSUPPORTED, "collate: field '%s' holds %s values: give the loader a collate_fn",
                          samples[0].names[f], tr_kind_name(samples[0].values[f].kind));
    }
  }
  if (st) td_sample_clear(batch);
  return st;
}
