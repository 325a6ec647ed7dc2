/* datasets/src/dataset.c — the dataset object (vtable + state, reference counted), TensorDataset,
 * ConcatDataset, Subset, random_split and the transform wrapper. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "datasets_internal.h"

struct td_dataset {
  atomic_long refs;
  const td_dataset_vtable *vt;   /* map-style, or */
  const td_iterable_vtable *ivt; /* iterable-style */
  void *state;
};

/* The object around a vtable of either style; on failure the state is destroyed. */
static td_dataset *wrap(const td_dataset_vtable *vt, const td_iterable_vtable *ivt, void *state,
                        void (*destroy)(void *)) {
  td_dataset *ds = tc_malloc(sizeof *ds);
  if (!ds) {
    if (destroy) destroy(state);
    return NULL;
  }
  atomic_init(&ds->refs, 1);
  ds->vt = vt;
  ds->ivt = ivt;
  ds->state = state;
  return ds;
}

td_dataset *td_dataset_create(const td_dataset_vtable *vt, void *state) {
  if (!vt || !vt->len || !vt->get || !vt->name) {
    tc_set_error(TC_ERR_ARG, "td_dataset_create: the vtable needs a name, len and get");
    if (vt && vt->destroy) vt->destroy(state);
    return NULL;
  }
  return wrap(vt, NULL, state, vt->destroy);
}

td_dataset *td_iterable_dataset_create(const td_iterable_vtable *vt, void *state) {
  if (!vt || !vt->open || !vt->next || !vt->close || !vt->name) {
    tc_set_error(TC_ERR_ARG, "td_iterable_dataset_create: the vtable needs a name, open, next and close");
    if (vt && vt->destroy) vt->destroy(state);
    return NULL;
  }
  return wrap(NULL, vt, state, vt->destroy);
}

bool td_is_iterable(const td_dataset *ds) { return ds && ds->ivt; }

void *td__iter_open(td_dataset *ds, const td_worker_info *w) { return ds->ivt->open(ds->state, w); }
tc_status td__iter_next(td_dataset *ds, void *it, td_sample *out, bool *end, tc_generator *gen) {
  td_sample_init(out);
  *end = false;
  tc_status st = ds->ivt->next(it, out, end, gen);
  if (st || *end) td_sample_clear(out);
  return st;
}
void td__iter_close(td_dataset *ds, void *it) {
  if (it) ds->ivt->close(it);
}

void *td_dataset_state(const td_dataset *ds) { return ds ? ds->state : NULL; }
const char *td_dataset_name(const td_dataset *ds) { return ds ? (ds->vt ? ds->vt->name : ds->ivt->name) : NULL; }

td_dataset *td_retain(td_dataset *ds) {
  if (ds) atomic_fetch_add(&ds->refs, 1);
  return ds;
}

void td_release(td_dataset *ds) {
  if (!ds || atomic_fetch_sub(&ds->refs, 1) != 1) return;
  void (*destroy)(void *) = ds->vt ? ds->vt->destroy : ds->ivt->destroy;
  if (destroy) destroy(ds->state);
  tc_free(ds);
}

int64_t td_len(const td_dataset *ds) {
  if (!ds || ds->ivt) {
    tc_set_error(TC_ERR_ARG, "td_len: %s", ds ? "an iterable dataset has no length" : "the dataset is NULL");
    return -1;
  }
  return ds->vt->len(ds->state);
}

tc_status td_get(td_dataset *ds, int64_t i, td_sample *out, tc_generator *gen) {
  if (out) td_sample_init(out);
  if (!ds || !out) return tc_set_error(TC_ERR_ARG, "td_get: %s is NULL", ds ? "out" : "the dataset");
  if (ds->ivt) return tc_set_error(TC_ERR_STATE, "td_get: %s is iterable: it has no indices", ds->ivt->name);
  int64_t n = ds->vt->len(ds->state);
  if (i < -n || i >= n)
    return tc_set_error(TC_ERR_ARG, "td_get: index %lld is out of range for a %s of %lld samples", (long long)i,
                        ds->vt->name, (long long)n);
  if (i < 0) i += n;
  tc_status st = ds->vt->get(ds->state, i, out, gen);
  if (st) td_sample_clear(out);
  return st;
}

/* ---- TensorDataset ---------------------------------------------------------------------------------- */
typedef struct {
  int n;
  tc_tensor *t[TD_MAX_FIELDS];
  char names[TD_MAX_FIELDS][TD_FIELD_NAME];
} tensor_ds;

static int64_t tensor_len(void *s) { return tc_tensor_shape(((tensor_ds *)s)->t[0])[0]; }

static tc_status tensor_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  tensor_ds *s = vs;
  for (int k = 0; k < s->n; k++) {
    tc_tensor *row = tc_select(s->t[k], 0, i); /* a view of row i, owned by the sample */
    tc_status st = row ? td_sample_set(out, s->names[k], tr_tensor_value(row)) : tc_last_status();
    if (st) return st;
  }
  return TC_OK;
}

static void tensor_destroy(void *vs) {
  tensor_ds *s = vs;
  for (int k = 0; s && k < s->n; k++) tc_tensor_release(s->t[k]);
  tc_free(s);
}

static const td_dataset_vtable tensor_vt = {"TensorDataset", tensor_len, tensor_get, tensor_destroy};

td_dataset *td_tensor_dataset(int n, const tc_tensor *const *tensors, const char *const *names) {
  const char *fn = "td_tensor_dataset";
  if (n < 1 || n > TD_MAX_FIELDS || !tensors || !names) {
    tc_set_error(TC_ERR_ARG, "%s: needs 1 to %d tensors with names (got %d%s)", fn, TD_MAX_FIELDS, n,
                 !tensors || !names ? ", a NULL list" : "");
    return NULL;
  }
  for (int k = 0; k < n; k++) {
    if (!tensors[k] || !names[k] || strlen(names[k]) >= TD_FIELD_NAME) {
      tc_set_error(TC_ERR_ARG, "%s: tensor %d or its name is NULL or the name is too long", fn, k);
      return NULL;
    }
    if (tc_tensor_ndim(tensors[k]) < 1 || tc_tensor_shape(tensors[k])[0] != tc_tensor_shape(tensors[0])[0]) {
      tc_set_error(TC_ERR_SHAPE, "%s: size mismatch between tensors: tensor %d has shape %s, tensor 0 %lld rows", fn, k,
                   tc_tensor_ndim(tensors[k]) < 1 ? "[] (0-d)" : "with another first dim",
                   tc_tensor_ndim(tensors[0]) ? (long long)tc_tensor_shape(tensors[0])[0] : 0LL);
      return NULL;
    }
  }
  tensor_ds *s = tc_calloc(sizeof *s);
  if (!s) return NULL;
  s->n = n;
  for (int k = 0; k < n; k++) {
    s->t[k] = tc_tensor_retain((tc_tensor *)tensors[k]);
    strcpy(s->names[k], names[k]);
  }
  return td_dataset_create(&tensor_vt, s);
}

/* ---- ConcatDataset ------------------------------------------------------------------------------------ */
typedef struct {
  int64_t n;
  td_dataset **ds;
  int64_t *cum; /* cum[k] = samples in datasets 0..k */
} concat_ds;

static int64_t concat_len(void *s) {
  concat_ds *c = s;
  return c->n ? c->cum[c->n - 1] : 0;
}

static tc_status concat_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  concat_ds *c = vs;
  int64_t lo = 0, hi = c->n - 1; /* the first dataset whose cumulative size exceeds i */
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (c->cum[mid] > i) hi = mid;
    else lo = mid + 1;
  }
  return td_get(c->ds[lo], i - (lo ? c->cum[lo - 1] : 0), out, gen);
}

static void concat_destroy(void *vs) {
  concat_ds *c = vs;
  for (int64_t k = 0; c && k < c->n; k++) td_release(c->ds[k]);
  if (c) {
    tc_free(c->ds);
    tc_free(c->cum);
  }
  tc_free(c);
}

static const td_dataset_vtable concat_vt = {"ConcatDataset", concat_len, concat_get, concat_destroy};

td_dataset *td_concat(int64_t n, td_dataset *const *datasets) {
  if (n < 1 || !datasets) {
    tc_set_error(TC_ERR_ARG, "td_concat: datasets should not be an empty iterable");
    return NULL;
  }
  for (int64_t k = 0; k < n; k++)
    if (!datasets[k] || td_is_iterable(datasets[k])) {
      tc_set_error(TC_ERR_ARG, "td_concat: dataset %lld is %s", (long long)k,
                   datasets[k] ? "iterable (ConcatDataset takes map-style datasets)" : "NULL");
      return NULL;
    }
  concat_ds *c = tc_calloc(sizeof *c);
  if (!c || !(c->ds = tc_malloc(sizeof *c->ds * (size_t)n)) || !(c->cum = tc_malloc(sizeof *c->cum * (size_t)n))) {
    concat_destroy(c);
    return NULL;
  }
  int64_t total = 0;
  for (int64_t k = 0; k < n; k++) {
    c->ds[k] = td_retain(datasets[k]);
    c->n = k + 1;
    total += td_len(datasets[k]);
    c->cum[k] = total;
  }
  return td_dataset_create(&concat_vt, c);
}

/* ---- Subset ---------------------------------------------------------------------------------------------- */
typedef struct {
  td_dataset *ds;
  int64_t n, *idx;
} subset_ds;

static int64_t subset_len(void *s) { return ((subset_ds *)s)->n; }

static tc_status subset_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  subset_ds *s = vs;
  return td_get(s->ds, s->idx[i], out, gen);
}

static void subset_destroy(void *vs) {
  subset_ds *s = vs;
  if (!s) return;
  td_release(s->ds);
  tc_free(s->idx);
  tc_free(s);
}

static const td_dataset_vtable subset_vt = {"Subset", subset_len, subset_get, subset_destroy};

td_dataset *td_subset(td_dataset *ds, const int64_t *indices, int64_t n) {
  const char *fn = "td_subset";
  if (!ds || n < 0 || (n > 0 && !indices) || td_is_iterable(ds)) {
    tc_set_error(TC_ERR_ARG, "%s: %s", fn, !ds ? "the dataset is NULL" : td_is_iterable(ds) ? "an iterable dataset has no indices" : "bad index list");
    return NULL;
  }
  int64_t len = td_len(ds);
  for (int64_t k = 0; k < n; k++)
    if (indices[k] < -len || indices[k] >= len) {
      tc_set_error(TC_ERR_ARG, "%s: index %lld (position %lld) is out of range for a dataset of %lld samples", fn,
                   (long long)indices[k], (long long)k, (long long)len);
      return NULL;
    }
  subset_ds *s = tc_calloc(sizeof *s);
  if (!s || (n && !(s->idx = tc_malloc(sizeof(int64_t) * (size_t)n)))) {
    tc_free(s);
    return NULL;
  }
  if (n) memcpy(s->idx, indices, sizeof(int64_t) * (size_t)n);
  s->n = n;
  s->ds = td_retain(ds);
  return td_dataset_create(&subset_vt, s);
}

/* ---- random_split ------------------------------------------------------------------------------------------ */
int64_t *td__randperm(int64_t n, tc_generator *gen) {
  tc_tensor *p = tc_randperm(n, TC_OPTS(.generator = gen));
  int64_t *r = p ? tc_malloc(sizeof(int64_t) * (size_t)(n ? n : 1)) : NULL;
  if (r && n) memcpy(r, tc_tensor_data(p), sizeof(int64_t) * (size_t)n);
  tc_tensor_release(p);
  return r;
}

tc_status td_random_split(td_dataset *ds, int64_t n, const double *lengths, tc_generator *gen, td_dataset **out) {
  const char *fn = "td_random_split";
  for (int64_t k = 0; out && k < n; k++) out[k] = NULL;
  if (!ds || n < 1 || !lengths || !out)
    return tc_set_error(TC_ERR_ARG, "%s: needs a dataset, n >= 1 lengths and room for n subsets", fn);
  int64_t len = td_len(ds);
  int64_t *sizes = tc_malloc(sizeof(int64_t) * (size_t)n);
  if (!sizes) return tc_last_status();
  tc_status st = TC_OK;
  double sum = 0;
  for (int64_t k = 0; k < n; k++) sum += lengths[k];
  if (fabs(sum - 1.0) <= 1e-9 && sum <= 1.0) { /* fractions, as PyTorch */
    int64_t given = 0;
    for (int64_t k = 0; k < n; k++) {
      if (lengths[k] < 0 || lengths[k] > 1) {
        tc_free(sizes);
        return tc_set_error(TC_ERR_ARG, "%s: fraction at index %lld is not between 0 and 1", fn, (long long)k);
      }
      sizes[k] = (int64_t)floor((double)len * lengths[k]);
      given += sizes[k];
    }
    for (int64_t r = 0; r < len - given; r++) sizes[r % n]++;
  } else {
    int64_t total = 0;
    for (int64_t k = 0; k < n; k++) {
      if (lengths[k] < 0 || lengths[k] != floor(lengths[k])) {
        tc_free(sizes);
        return tc_set_error(TC_ERR_ARG, "%s: length %g at index %lld is not a non-negative integer", fn, lengths[k],
                            (long long)k);
      }
      sizes[k] = (int64_t)lengths[k];
      total += sizes[k];
    }
    if (total != len) {
      tc_free(sizes);
      return tc_set_error(TC_ERR_ARG, "%s: sum of input lengths (%lld) does not equal the length of the input dataset "
                          "(%lld)", fn, (long long)total, (long long)len);
    }
  }
  int64_t *perm = td__randperm(len, gen);
  if (!perm) {
    tc_free(sizes);
    return tc_last_status();
  }
  int64_t off = 0;
  for (int64_t k = 0; k < n && !st; k++) {
    if (!(out[k] = td_subset(ds, perm + off, sizes[k]))) st = tc_last_status();
    off += sizes[k];
  }
  tc_free(perm);
  tc_free(sizes);
  if (st)
    for (int64_t k = 0; k < n; k++) {
      td_release(out[k]);
      out[k] = NULL;
    }
  return st;
}

/* ---- transform wrapper --------------------------------------------------------------------------------------- */
typedef struct {
  td_dataset *ds;
  char field[TD_FIELD_NAME], target_field[TD_FIELD_NAME];
  tr_transform *t, *tt;
} transformed_ds;

static int64_t transformed_len(void *s) { return td_len(((transformed_ds *)s)->ds); }

static tc_status apply_to(td_sample *s, const char *field, tr_transform *t, tc_generator *gen) {
  if (!t) return TC_OK;
  const tr_value *v = td_sample_field(s, field);
  if (!v) return tc_set_error(TC_ERR_ARG, "transform: the sample has no field '%s'", field);
  tr_value r;
  tc_status st = tr_apply(t, v, &r, gen);
  return st ? st : td_sample_set(s, field, r);
}

static tc_status transformed_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  transformed_ds *s = vs;
  tc_status st = td_get(s->ds, i, out, gen);
  if (!st) st = apply_to(out, s->field, s->t, gen);
  if (!st) st = apply_to(out, s->target_field, s->tt, gen);
  return st;
}

static void transformed_destroy(void *vs) {
  transformed_ds *s = vs;
  if (!s) return;
  td_release(s->ds);
  tr_destroy(s->t);
  tr_destroy(s->tt);
  tc_free(s);
}

static const td_dataset_vtable transformed_vt = {"TransformedDataset", transformed_len, transformed_get,
                                                 transformed_destroy};

td_dataset *td_transformed(td_dataset *ds, const char *field, tr_transform *transform, const char *target_field,
                           tr_transform *target_transform) {
  const char *fn = "td_transformed";
  bool bad = !ds || td_is_iterable(ds) || (transform && (!field || strlen(field) >= TD_FIELD_NAME)) ||
             (target_transform && (!target_field || strlen(target_field) >= TD_FIELD_NAME));
  transformed_ds *s = bad ? NULL : tc_calloc(sizeof *s);
  if (!s) {
    if (bad) tc_set_error(TC_ERR_ARG, "%s: needs a dataset and a field name for each transform", fn);
    tr_destroy(transform);
    tr_destroy(target_transform);
    return NULL;
  }
  s->ds = td_retain(ds);
  if (field) strcpy(s->field, field);
  if (target_field) strcpy(s->target_field, target_field);
  s->t = transform;
  s->tt = target_transform;
  return td_dataset_create(&transformed_vt, s);
}

/* ---- one transform over several fields together (image, boxes, mask) ------------------------------------------ */
typedef struct {
  td_dataset *ds;
  int64_t n;
  char fields[TD_MAX_FIELDS][TD_FIELD_NAME];
  tr_transform *t;
} joint_ds;

static int64_t joint_len(void *s) { return td_len(((joint_ds *)s)->ds); }

static tc_status joint_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  joint_ds *s = vs;
  tc_status st = td_get(s->ds, i, out, gen);
  if (st) return st;
  tr_value items[TD_MAX_FIELDS] = {{0}};
  for (int64_t k = 0; k < s->n && !st; k++) {
    const tr_value *v = td_sample_field(out, s->fields[k]);
    st = v ? tr_value_copy(&items[k], v) : tc_set_error(TC_ERR_ARG, "transform: the sample has no field '%s'", s->fields[k]);
  }
  if (st) {
    for (int64_t k = 0; k < s->n; k++) tr_value_clear(&items[k]);
    return st;
  }
  tr_value tuple = tr_tuple_value(s->n, items), r = {0};
  st = tuple.kind == TR_TUPLE ? tr_apply(s->t, &tuple, &r, gen) : tc_last_status();
  tr_value_clear(&tuple);
  if (!st && (r.kind != TR_TUPLE || r.n != s->n))
    st = tc_set_error(TC_ERR_ARG, "transform: %s returned a %s value where a tuple of %lld was expected", tr_name(s->t),
                      tr_kind_name(r.kind), (long long)s->n);
  for (int64_t k = 0; !st && k < s->n; k++) { /* each item back to its field (taken over) */
    st = td_sample_set(out, s->fields[k], r.items[k]);
    r.items[k] = (tr_value){0};
  }
  tr_value_clear(&r);
  return st;
}

static void joint_destroy(void *vs) {
  joint_ds *s = vs;
  if (!s) return;
  td_release(s->ds);
  tr_destroy(s->t);
  tc_free(s);
}

static const td_dataset_vtable joint_vt = {"TransformedDataset", joint_len, joint_get, joint_destroy};

td_dataset *td_transformed_joint(td_dataset *ds, int64_t n, const char *const *fields, tr_transform *transform) {
  const char *fn = "td_transformed_joint";
  bool bad = !ds || td_is_iterable(ds) || !transform || !fields || n < 1 || n > TD_MAX_FIELDS;
  for (int64_t k = 0; !bad && k < n; k++) bad = !fields[k] || strlen(fields[k]) >= TD_FIELD_NAME;
  joint_ds *s = bad ? NULL : tc_calloc(sizeof *s);
  if (!s) {
    if (bad)
      tc_set_error(TC_ERR_ARG, "%s: needs a map-style dataset, a transform and 1 to %d field names (each under %d chars)",
                   fn, TD_MAX_FIELDS, TD_FIELD_NAME);
    tr_destroy(transform);
    return NULL;
  }
  s->ds = td_retain(ds);
  s->n = n;
  for (int64_t k = 0; k < n; k++) strcpy(s->fields[k], fields[k]);
  s->t = transform;
  return td_dataset_create(&joint_vt, s);
}
