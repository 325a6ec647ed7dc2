/* core/src/nn/embedding_device.c — embedding and embedding_bag on a device (CUDA), composed of
 * device ops so that every step, the backward included, runs on the device:
 *
 *   embedding:     out = weight.index_select(0, idx.flatten()).view(*idx.shape, dim); the node
 *                  EmbeddingBackward0 accumulates grad rows into a zero (num, dim) gradient with
 *                  the backend's deterministic index_add, rows of padding_idx masked out.
 *   embedding_bag: the bag bookkeeping (offsets, padding entries, mean counts) is done once on the
 *                  host from a copy of the indices (small); then rows = weight.index_select(0, kept)
 *                  [* per_sample_weights or 1/count], out = zeros(B, dim).index_add(0, bag, rows),
 *                  all recorded ops, so autograd needs no node of its own. Mode max gathers the bags
 *                  as a dense (bags, longest bag) table and takes max_dim over it (bag_max).
 *
 * Both are deterministic: no floating-point atomics anywhere.
 */
#include <math.h>
#include "../autograd/autograd_internal.h"
#include "embedding_internal.h"

/* ---- embedding --------------------------------------------------------------------------------------------- */
typedef struct {
  int64_t padding_idx, num, dim;
  tc_dtype wdt;
  tc_device dev;
} emb_dev_ctx;

/* saved: 0 the flat indices (n) on the device */
static tc_status emb_dev_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const emb_dev_ctx *c = tc__node_ctx(n);
  const tc_tensor *flat = tc__node_saved(n, 0);
  if (!flat) return tc_last_status();
  tc_scope_push();
  tc_tensor *g = tc_reshape(go[0], (int64_t[]){tc__numel(flat->sizes, flat->ndim), c->dim}, 2);
  if (g && c->padding_idx >= 0) { /* the padding row gets no gradient */
    tc_tensor *keep = tc_to_dtype(tc_ne_scalar(flat, (double)c->padding_idx), g->dtype);
    g = keep ? tc_mul(g, tc_unsqueeze(keep, 1)) : NULL;
  }
  tc_tensor *gw = g ? tc_zeros((int64_t[]){c->num, c->dim}, 2, TC_OPTS(.dtype = c->wdt, .device = c->dev)) : NULL;
  tc_status st = gw ? tc_index_add_inplace(gw, 0, flat, g, 1.0) : tc_last_status();
  if (!st) gi[0] = tc_scope_keep(gw);
  tc_scope_pop();
  return st;
}

tc_tensor *tc__embedding_device(const char *fn, const tc_tensor *idx, const tc_tensor *weight, int64_t padding_idx) {
  (void)fn;
  int64_t n = tc__numel(idx->sizes, idx->ndim), dim = weight->sizes[1];
  int64_t shape[TC_MAX_DIMS];
  memcpy(shape, idx->sizes, sizeof(int64_t) * (size_t)idx->ndim);
  shape[idx->ndim] = dim;
  tc_tensor *flat = tc_reshape(idx, &n, 1), *rows = NULL, *out = NULL;
  if (flat) { /* the gather itself records nothing: EmbeddingBackward0 below is the node */
    tc_no_grad_push();
    rows = tc_index_select(weight, 0, flat); /* (n, dim) contiguous; checks the indices' range */
    tc_no_grad_pop();
  }
  if (rows) {
    int64_t strides[TC_MAX_DIMS];
    tc__contiguous_strides(shape, idx->ndim + 1, strides);
    out = tc__view(rows, shape, strides, idx->ndim + 1, rows->offset);
  }
  if (out && tc__grad_needed(1, &weight)) {
    emb_dev_ctx c = {padding_idx < 0 ? -1 : padding_idx, weight->sizes[0], dim, weight->dtype,
                     weight->storage->device};
    const tc_tensor *save = flat;
    out = tc__record(out, "EmbeddingBackward0", emb_dev_backward, 1, &weight, 1, &save, &c, sizeof c);
  }
  tc_tensor_release(flat);
  tc_tensor_release(rows);
  return out;
}

/* ---- embedding_bag ----------------------------------------------------------------------------------------- */
/* The kept entries of every bag (padding_idx left out), in order: source position, row, bag. */
typedef struct {
  int64_t k;
  int64_t *pos, *row, *bag;
  double *scale; /* mean: 1 / the bag's kept count */
} bag_plan;

static tc_status plan_bags(const int64_t *ix, const int64_t *starts, int64_t B, int64_t padding_idx, bool mean,
                           bag_plan *p) {
  int64_t n = starts[B];
  p->pos = tc__malloc(sizeof(int64_t) * (size_t)(3 * n + 1));
  p->scale = tc__malloc(sizeof(double) * (size_t)(n + 1));
  if (!p->pos || !p->scale) return TC_ERR_NOMEM;
  p->row = p->pos + n;
  p->bag = p->row + n;
  p->k = 0;
  for (int64_t b = 0; b < B; b++) {
    int64_t first = p->k;
    for (int64_t i = starts[b]; i < starts[b + 1]; i++) {
      if (ix[i] == padding_idx) continue;
      p->pos[p->k] = i, p->row[p->k] = ix[i], p->bag[p->k] = b;
      p->k++;
    }
    for (int64_t j = first; j < p->k; j++) p->scale[j] = mean ? 1.0 / (double)(p->k - first) : 1.0;
  }
  return TC_OK;
}

/* A host int64 vector as a device tensor. */
static tc_tensor *upload_i64(const int64_t *v, int64_t n, tc_device dev) {
  tc_tensor *h = tc_tensor_from_data(v, &n, 1, TC_I64);
  tc_tensor *d = h ? tc_tensor_to(h, dev) : NULL;
  tc_tensor_release(h);
  return d;
}

/* Mode max: the bags laid out as a dense (B, L) table of rows (L: the longest bag), gathered, the
 * gaps filled with -inf, then the max over each bag (max_dim: its gradient goes to the first
 * maximum, as the CPU's); an empty bag gives zeros. Recorded ops throughout. Inside a scope. */
static tc_tensor *bag_max(const char *fn, const tc_tensor *weight, const bag_plan *p, int64_t B, int64_t dim) {
  tc_device dev = weight->storage->device;
  int64_t L = 0, *count = tc__calloc(sizeof(int64_t) * (size_t)(B + 1));
  if (!count) {
    tc__error(TC_ERR_NOMEM, "%s: out of memory planning %lld bags", fn, (long long)B);
    return NULL;
  }
  for (int64_t j = 0; j < p->k; j++) count[p->bag[j]]++;
  for (int64_t b = 0; b < B; b++) L = count[b] > L ? count[b] : L;
  tc_tensor *out = NULL;
  if (L == 0) { /* every bag empty */
    tc__free(count);
    return tc_zeros((int64_t[]){B, dim}, 2, TC_OPTS(.dtype = weight->dtype, .device = dev));
  }
  int64_t *tab = tc__calloc(sizeof(int64_t) * (size_t)(B * L));
  bool *gap = tc__malloc(sizeof(bool) * (size_t)(B * L + B)), *empty = gap ? gap + B * L : NULL;
  if (tab && gap) {
    for (int64_t i = 0; i < B * L; i++) gap[i] = true;
    for (int64_t b = 0; b < B; b++) empty[b] = count[b] == 0, count[b] = 0;
    for (int64_t j = 0; j < p->k; j++) { /* entries come bag by bag, in order */
      int64_t b = p->bag[j], at = b * L + count[b]++;
      tab[at] = p->row[j], gap[at] = false;
    }
    tc_tensor *ti = upload_i64(tab, B * L, dev);
    tc_tensor *gh = tc_tensor_from_data(gap, (int64_t[]){B, L, 1}, 3, TC_BOOL);
    tc_tensor *eh = tc_tensor_from_data(empty, (int64_t[]){B, 1}, 2, TC_BOOL);
    tc_tensor *gd = gh ? tc_tensor_to(gh, dev) : NULL, *ed = eh ? tc_tensor_to(eh, dev) : NULL;
    tc_tensor *rows = ti && gd && ed ? tc_index_select(weight, 0, ti) : NULL;
    tc_tensor *cube = rows ? tc_reshape(rows, (int64_t[]){B, L, dim}, 3) : NULL;
    tc_tensor *filled = cube ? tc_masked_fill(cube, gd, -INFINITY) : NULL, *vals = NULL, *at = NULL;
    if (filled && tc_max_dim(filled, 1, false, &vals, &at) == TC_OK) out = tc_masked_fill(vals, ed, 0.0);
  } else {
    tc__error(TC_ERR_NOMEM, "%s: out of memory planning %lld bags", fn, (long long)B);
  }
  tc__free(count);
  tc__free(tab);
  tc__free(gap);
  return out;
}

tc_tensor *tc__embedding_bag_device(const char *fn, const tc_tensor *idx, const tc_tensor *weight,
                                    const tc_tensor *offsets, tc_bag_mode mode, const tc_tensor *psw,
                                    int64_t padding_idx) {
  tc_device dev = weight->storage->device;
  int64_t num = weight->sizes[0], dim = weight->sizes[1], B = 0;
  bag_plan p = {0};
  tc_tensor *out = NULL;
  tc_scope_push();
  /* host copies of the indices and offsets (one wait for the device) */
  tc_tensor *ih = tc_tensor_to(idx, tc_cpu()), *oh = offsets ? tc_tensor_to(offsets, tc_cpu()) : NULL;
  tc_tensor *ix = (ih && (oh || !offsets)) ? tc__emb_indices64(fn, ih, num, weight) : NULL;
  tc_tensor *starts = ix ? tc__emb_bag_starts(fn, ih, oh, &B) : NULL;
  if (!starts) goto done;
  if (plan_bags((const int64_t *)(const void *)tc__ptr(ix), (const int64_t *)(const void *)tc__ptr(starts), B,
                padding_idx < 0 ? -1 : padding_idx, mode == TC_BAG_MEAN, &p)) {
    tc__error(TC_ERR_NOMEM, "%s: out of memory planning %lld bags", fn, (long long)B);
    goto done;
  }
  if (mode == TC_BAG_MAX) {
    out = bag_max(fn, weight, &p, B, dim);
    goto done;
  }
  tc_tensor *row = upload_i64(p.row, p.k, dev), *bag = row ? upload_i64(p.bag, p.k, dev) : NULL;
  tc_tensor *rows = bag ? tc_index_select(weight, 0, row) : NULL; /* (k, dim) */
  if (rows && psw) {
    tc_tensor *pos = upload_i64(p.pos, p.k, dev);
    tc_tensor *flat = pos ? tc_reshape(psw, (int64_t[]){tc__numel(psw->sizes, psw->ndim)}, 1) : NULL;
    tc_tensor *pw = flat ? tc_index_select(flat, 0, pos) : NULL;
    rows = pw ? tc_mul(rows, tc_unsqueeze(pw, 1)) : NULL;
  }
  if (rows && mode == TC_BAG_MEAN && p.k > 0) {
    tc_tensor *sh = tc_tensor_from_data(p.scale, &p.k, 1, TC_F64);
    tc_tensor *sc = sh ? tc_to_dtype(tc_tensor_to(sh, dev), weight->dtype) : NULL;
    rows = sc ? tc_mul(rows, tc_unsqueeze(sc, 1)) : NULL;
  }
  tc_tensor *zero = rows ? tc_zeros((int64_t[]){B, dim}, 2, TC_OPTS(.dtype = weight->dtype, .device = dev)) : NULL;
  out = zero ? tc_index_add(zero, 0, bag, rows, 1.0) : NULL;
done:
  tc__free(p.pos);
  tc__free(p.scale);
  return tc_scope_return(out);
}
