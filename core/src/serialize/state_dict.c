/* core/src/serialize/state_dict.c — tc_state_dict: an ordered name -> tensor map with string
 * metadata (saved and loaded by safetensors.c).
 *
 * Ownership: the dict holds one reference to each tensor it stores (set retains, remove/replace/
 * destroy release) and owns copies of all names, keys and values. Every mutation either completes
 * or, on TC_ERR_NOMEM, leaves the dict exactly as it was.
 */
#include <stdlib.h>
#include "state_dict_internal.h"

#define META_KEY "__metadata__" /* reserved by the safetensors format */

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

bool tc__utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
    else return false; /* continuation byte first, 0xc0/0xc1 (overlong) or 0xf5.. */
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

/* ---- hash index ------------------------------------------------------------------------------ */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* Index of name in entries, or -1. */
static int64_t find(const tc_state_dict *sd, const char *name) {
  if (!sd->nslots) return -1;
  uint64_t mask = (uint64_t)sd->nslots - 1;
  for (uint64_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    int64_t v = sd->slots[i];
    if (!v) return -1;
    if (strcmp(sd->entries[v - 1].name, name) == 0) return v - 1;
  }
}

static void slot_insert(int64_t *slots, int64_t nslots, const char *name, int64_t index) {
  uint64_t mask = (uint64_t)nslots - 1;
  uint64_t i = hash_name(name) & mask;
  while (slots[i]) i = (i + 1) & mask;
  slots[i] = index + 1;
}

/* Refills the slots from the entries (after a removal shifted the indices). */
static void rehash(tc_state_dict *sd) {
  if (!sd->nslots) return;
  memset(sd->slots, 0, (size_t)sd->nslots * sizeof *sd->slots);
  for (int64_t i = 0; i < sd->n; i++) slot_insert(sd->slots, sd->nslots, sd->entries[i].name, i);
}

tc_status tc__sd_reserve(tc_state_dict *sd, int64_t extra) {
  int64_t need = sd->n + extra;
  if (extra < 0 || need < sd->n || need > INT64_MAX / 4 / (int64_t)sizeof(tc__sd_entry))
    return tc__error(TC_ERR_NOMEM, "tc_state_dict: %lld entries are too many", (long long)need);
  if (need > sd->cap) {
    int64_t cap = sd->cap ? sd->cap : 8;
    while (cap < need) cap *= 2;
    tc__sd_entry *e = tc__realloc(sd->entries, (size_t)cap * sizeof *e);
    if (!e) return TC_ERR_NOMEM;
    sd->entries = e;
    sd->cap = cap;
  }
  if (need * 2 > sd->nslots) {
    int64_t ns = sd->nslots ? sd->nslots : 16;
    while (ns < need * 2) ns *= 2;
    int64_t *slots = tc__calloc((size_t)ns * sizeof *slots);
    if (!slots) return TC_ERR_NOMEM; /* the grown entry array is harmless: n is unchanged */
    for (int64_t i = 0; i < sd->n; i++) slot_insert(slots, ns, sd->entries[i].name, i);
    tc__free(sd->slots);
    sd->slots = slots;
    sd->nslots = ns;
  }
  return TC_OK;
}

void tc__sd_append(tc_state_dict *sd, char *name, tc_tensor *t) {
  TC_ASSERT(sd->n < sd->cap && (sd->n + 1) * 2 <= sd->nslots);
  sd->entries[sd->n].name = name;
  sd->entries[sd->n].t = t;
  slot_insert(sd->slots, sd->nslots, name, sd->n);
  sd->n++;
}

tc_status tc__sd_meta_reserve(tc_state_dict *sd, int64_t extra) {
  int64_t need = sd->nmeta + extra;
  if (extra < 0 || need < sd->nmeta || need > INT64_MAX / 4 / (int64_t)sizeof(tc__sd_meta))
    return tc__error(TC_ERR_NOMEM, "tc_state_dict: %lld metadata entries are too many", (long long)need);
  if (need <= sd->capmeta) return TC_OK;
  int64_t cap = sd->capmeta ? sd->capmeta : 4;
  while (cap < need) cap *= 2;
  tc__sd_meta *m = tc__realloc(sd->meta, (size_t)cap * sizeof *m);
  if (!m) return TC_ERR_NOMEM;
  sd->meta = m;
  sd->capmeta = cap;
  return TC_OK;
}

void tc__sd_meta_append(tc_state_dict *sd, char *key, char *value) {
  TC_ASSERT(sd->nmeta < sd->capmeta);
  sd->meta[sd->nmeta].key = key;
  sd->meta[sd->nmeta].value = value;
  sd->nmeta++;
}

/* ---- public API ----------------------------------------------------------------------------- */

tc_state_dict *tc_state_dict_create(void) { return tc__calloc(sizeof(tc_state_dict)); }

void tc_state_dict_destroy(tc_state_dict *sd) {
  if (!sd) return;
  for (int64_t i = 0; i < sd->n; i++) {
    tc__free(sd->entries[i].name);
    tc_tensor_release(sd->entries[i].t);
  }
  for (int64_t i = 0; i < sd->nmeta; i++) {
    tc__free(sd->meta[i].key);
    tc__free(sd->meta[i].value);
  }
  tc__free(sd->entries);
  tc__free(sd->slots);
  tc__free(sd->meta);
  tc__free(sd);
}

/* A name or key the file format can carry: non-NULL, valid UTF-8 and (names) non-empty. */
static tc_status check_string(const char *fn, const char *what, const char *s, bool nonempty) {
  if (!s) return tc__error(TC_ERR_ARG, "%s: %s is NULL", fn, what);
  if (nonempty && !*s) return tc__error(TC_ERR_ARG, "%s: %s is empty", fn, what);
  if (!tc__utf8_valid(s, strlen(s))) return tc__error(TC_ERR_ARG, "%s: %s '%.64s' is not valid UTF-8", fn, what, s);
  return TC_OK;
}

tc_status tc_state_dict_set(tc_state_dict *sd, const char *name, const tc_tensor *t) {
  const char *fn = "tc_state_dict_set";
  TC__NONNULL_S(sd, fn);
  tc_status st = check_string(fn, "name", name, true);
  if (st) return st;
  if (strcmp(name, META_KEY) == 0)
    return tc__error(TC_ERR_ARG, "%s: the name '%s' is reserved for safetensors metadata", fn, META_KEY);
  TC__NONNULL_S(t, fn);
  int64_t i = find(sd, name);
  if (i >= 0) { /* replace in place: the entry keeps its position, as a Python dict */
    tc_tensor *old = sd->entries[i].t;
    sd->entries[i].t = tc_tensor_retain((tc_tensor *)t);
    tc_tensor_release(old);
    return TC_OK;
  }
  if ((st = tc__sd_reserve(sd, 1))) return st;
  char *copy = tc__strdup(name);
  if (!copy) return TC_ERR_NOMEM;
  tc__sd_append(sd, copy, tc_tensor_retain((tc_tensor *)t));
  return TC_OK;
}

tc_tensor *tc_state_dict_get(const tc_state_dict *sd, const char *name) {
  const char *fn = "tc_state_dict_get";
  TC__NONNULL_T(sd, fn);
  if (!name) {
    tc__error(TC_ERR_ARG, "%s: name is NULL", fn);
    return NULL;
  }
  int64_t i = find(sd, name);
  if (i < 0) {
    tc__error(TC_ERR_ARG, "%s: no key '%.200s'", fn, name);
    return NULL;
  }
  /* a fresh tensor sharing the entry's storage: a new reference that a scope can own, like every
   * other returned tensor */
  const tc_tensor *t = sd->entries[i].t;
  return tc__view(t, t->sizes, t->strides, t->ndim, t->offset);
}

bool tc_state_dict_contains(const tc_state_dict *sd, const char *name) {
  return sd && name && find(sd, name) >= 0;
}

tc_status tc_state_dict_remove(tc_state_dict *sd, const char *name) {
  const char *fn = "tc_state_dict_remove";
  TC__NONNULL_S(sd, fn);
  if (!name) return tc__error(TC_ERR_ARG, "%s: name is NULL", fn);
  int64_t i = find(sd, name);
  if (i < 0) return tc__error(TC_ERR_ARG, "%s: no key '%.200s'", fn, name);
  tc__free(sd->entries[i].name);
  tc_tensor_release(sd->entries[i].t);
  memmove(sd->entries + i, sd->entries + i + 1, (size_t)(sd->n - i - 1) * sizeof *sd->entries);
  sd->n--;
  rehash(sd);
  return TC_OK;
}

int64_t tc_state_dict_size(const tc_state_dict *sd) {
  if (!sd) {
    tc__null_arg("tc_state_dict_size", "sd");
    return -1;
  }
  return sd->n;
}

const char *tc_state_dict_key(const tc_state_dict *sd, int64_t i) {
  const char *fn = "tc_state_dict_key";
  TC__NONNULL_T(sd, fn);
  if (i < 0 || i >= sd->n) {
    tc__error(TC_ERR_ARG, "%s: index %lld out of range for a state dict of %lld entries", fn, (long long)i,
              (long long)sd->n);
    return NULL;
  }
  return sd->entries[i].name;
}

static int64_t find_meta(const tc_state_dict *sd, const char *key) {
  for (int64_t i = 0; i < sd->nmeta; i++)
    if (strcmp(sd->meta[i].key, key) == 0) return i;
  return -1;
}

tc_status tc_state_dict_set_meta(tc_state_dict *sd, const char *key, const char *value) {
  const char *fn = "tc_state_dict_set_meta";
  TC__NONNULL_S(sd, fn);
  tc_status st = check_string(fn, "key", key, true);
  if (st) return st;
  int64_t i = find_meta(sd, key);
  if (!value) { /* NULL removes the key */
    if (i >= 0) {
      tc__free(sd->meta[i].key);
      tc__free(sd->meta[i].value);
      memmove(sd->meta + i, sd->meta + i + 1, (size_t)(sd->nmeta - i - 1) * sizeof *sd->meta);
      sd->nmeta--;
    }
    return TC_OK;
  }
  if ((st = check_string(fn, "value", value, false))) return st;
  char *v = tc__strdup(value);
  if (!v) return TC_ERR_NOMEM;
  if (i >= 0) {
    tc__free(sd->meta[i].value);
    sd->meta[i].value = v;
    return TC_OK;
  }
  char *k = NULL;
  if ((st = tc__sd_meta_reserve(sd, 1)) || !(k = tc__strdup(key))) {
    tc__free(v);
    return st ? st : TC_ERR_NOMEM;
  }
  tc__sd_meta_append(sd, k, v);
  return TC_OK;
}

const char *tc_state_dict_get_meta(const tc_state_dict *sd, const char *key) {
  if (!sd || !key) return NULL;
  int64_t i = find_meta(sd, key);
  return i >= 0 ? sd->meta[i].value : NULL;
}
