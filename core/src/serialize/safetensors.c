/* core/src/serialize/safetensors.c — tc_state_dict saved and loaded as safetensors files.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__":{"k":"v"},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}
 * then the data buffer; each tensor's bytes (contiguous, little-endian) sit at data_offsets
 * relative to the buffer start, and the tensors cover the buffer exactly (no gap, no overlap).
 *
 * Writing reproduces the bytes of PyTorch's safetensors package (checked against
 * safetensors.torch.save_file 0.8.0 by tests/core/test_state_dict.c): tensors sorted by dtype
 * (the package's Dtype enum order, descending: I64 F64 C64 F32 I32 BF16 F16 U16 I16 I8 U8 BOOL),
 * then by name bytewise; offsets packed back to back in that order; compact JSON escaped as
 * serde_json escapes (\" \\ \b \f \n \r \t, other control characters as lower-case \u00xx,
 * everything else raw UTF-8); metadata first, in the dict's order (the package's own metadata
 * order is a HashMap's, so only a single key is reproducible); the header padded with spaces to a
 * multiple of 8. The JSON is emitted here rather than by jansson because jansson writes upper-case
 * \u001F escapes and would break byte equality.
 *
 * Reading parses the header with jansson and treats the file as hostile: header length against
 * the file size, JSON validity and duplicate keys, every entry's dtype, shape (dims, overflow) and
 * offsets (in range, end - begin == numel * element size, and, sorted by offset, each tensor
 * starting where the previous one ended and the last ending at the end of the file, as the spec
 * requires). A failure is TC_ERR_CORRUPT (TC_ERR_UNSUPPORTED for valid safetensors dtypes ctorch
 * lacks, or more than TC_MAX_DIMS dims) naming the key or byte offset, and nothing is returned.
 * Tensor bytes go straight from the file into tensor storage (one pread per tensor).
 *
 * Saving is atomic: a temporary file in the target's directory is written, flushed and fsync'ed,
 * then renamed over the target (and the directory fsync'ed), so a crash or failure mid-save leaves
 * the old file intact and no temporary behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "state_dict_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (safetensors data is little-endian)"
#endif

/* The safetensors package refuses headers above 100 MB (MAX_HEADER_SIZE); so do we. */
#define ST_MAX_HEADER 100000000ULL
#define META_KEY "__metadata__"

/* ---- dtypes ---------------------------------------------------------------------------------- */

/* rank: the dtype's position in the package's Dtype enum (its Ord): saving sorts by it, descending. */
static const struct {
  tc_dtype dtype;
  const char *name;
  int rank;
} st_dtypes[] = {
    {TC_BOOL, "BOOL", 0}, {TC_U8, "U8", 4},    {TC_I8, "I8", 5},     {TC_I16, "I16", 11},
    {TC_U16, "U16", 12},  {TC_F16, "F16", 13}, {TC_BF16, "BF16", 14}, {TC_I32, "I32", 15},
    {TC_F32, "F32", 17},  {TC_C64, "C64", 18}, {TC_F64, "F64", 19},  {TC_I64, "I64", 20},
};
#define N_ST_DTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

/* Valid safetensors dtypes with no ctorch equivalent (TC_ERR_UNSUPPORTED, not corrupt). */
static const char *const st_foreign[] = {"F4",          "F6_E2M3",     "F6_E3M2", "F8_E5M2", "F8_E4M3",
                                         "F8_E8M0",     "F8_E4M3FNUZ", "F8_E5M2FNUZ", "U32", "U64"};

static int dtype_index(tc_dtype d) {
  for (int i = 0; i < N_ST_DTYPES; i++)
    if (st_dtypes[i].dtype == d) return i;
  return -1;
}

/* ---- header writer ----------------------------------------------------------------------------- */

typedef struct {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    char *p = tc__realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  sb_put(b, tmp, (size_t)n);
}

/* A JSON string as serde_json writes it. */
static void sb_json_str(sbuf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  sb_put(b, "\"", 1);
  const char *run = s; /* bytes copied verbatim */
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    sb_put(b, run, (size_t)(s - run));
    run = s + 1;
    char esc[6] = {'\\', 0};
    size_t n = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        n = 6;
    }
    sb_put(b, esc, n);
  }
  sb_put(b, run, (size_t)(s - run));
  sb_put(b, "\"", 1);
}

/* ---- saving -------------------------------------------------------------------------------- */

/* Save order: descending dtype rank, then name bytewise (Rust's String order is strcmp's, over
 * unsigned bytes). Keys carry what the comparison needs, so qsort needs no context. */
typedef struct {
  int rank;
  const char *name;
  int64_t index;
} save_key;

static int cmp_save(const void *pa, const void *pb) {
  const save_key *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank > b->rank ? -1 : 1;
  return strcmp(a->name, b->name); /* names are distinct */
}

/* idx[k] = the index of the k-th entry in save order. */
static tc_status sort_indices(const tc_state_dict *sd, int64_t *idx) {
  if (sd->n == 0) return TC_OK;
  save_key *keys = tc__malloc((size_t)sd->n * sizeof *keys);
  if (!keys) return TC_ERR_NOMEM;
  for (int64_t i = 0; i < sd->n; i++)
    keys[i] = (save_key){st_dtypes[dtype_index(sd->entries[i].t->dtype)].rank, sd->entries[i].name, i};
  qsort(keys, (size_t)sd->n, sizeof *keys, cmp_save);
  for (int64_t i = 0; i < sd->n; i++) idx[i] = keys[i].index;
  tc__free(keys);
  return TC_OK;
}

static uint64_t tensor_nbytes(const tc_tensor *t) {
  return (uint64_t)tc__numel(t->sizes, t->ndim) * tc_dtype_size(t->dtype);
}

/* The header text (padded to a multiple of 8) for the entries in order idx. */
static tc_status build_header(const tc_state_dict *sd, const int64_t *idx, sbuf *b) {
  sb_puts(b, "{");
  bool first = true;
  if (sd->nmeta) {
    sb_puts(b, "\"" META_KEY "\":{");
    for (int64_t i = 0; i < sd->nmeta; i++) {
      if (i) sb_puts(b, ",");
      sb_json_str(b, sd->meta[i].key);
      sb_puts(b, ":");
      sb_json_str(b, sd->meta[i].value);
    }
    sb_puts(b, "}");
    first = false;
  }
  uint64_t off = 0;
  for (int64_t k = 0; k < sd->n; k++) {
    const tc__sd_entry *e = &sd->entries[idx[k]];
    if (!first) sb_puts(b, ",");
    first = false;
    sb_json_str(b, e->name);
    sb_puts(b, ":{\"dtype\":\"");
    sb_puts(b, st_dtypes[dtype_index(e->t->dtype)].name);
    sb_puts(b, "\",\"shape\":[");
    for (int d = 0; d < e->t->ndim; d++) {
      if (d) sb_puts(b, ",");
      sb_u64(b, (uint64_t)e->t->sizes[d]);
    }
    sb_puts(b, "],\"data_offsets\":[");
    sb_u64(b, off);
    sb_puts(b, ",");
    off += tensor_nbytes(e->t);
    sb_u64(b, off);
    sb_puts(b, "]}");
  }
  sb_puts(b, "}");
  static const char spaces[8] = "        ";
  sb_put(b, spaces, (8 - b->n % 8) % 8);
  return b->oom ? TC_ERR_NOMEM : TC_OK;
}

/* Creates a new file next to `path` for writing, mode 0666 less the umask (as the final file
 * should have; mkstemp would give 0600). Writes its name into tmp. */
static int create_temp(const char *path, char *tmp, size_t n) {
  static atomic_uint counter;
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(tmp, n, "%s.tmp%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/* Makes the rename durable: fsync the directory holding path (best effort; some filesystems
 * refuse to fsync directories, which loses nothing but durability). */
static void sync_dir(const char *path, char *scratch) {
  strcpy(scratch, path);
  int fd = open(dirname(scratch), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

/* A contiguous host copy of a device tensor t (numel > 0). tc_tensor_to copies only contiguous
 * device tensors, so the storage bytes the view spans are copied to the host and the view is
 * gathered there: one device-to-host copy, no device kernel needed. */
static tc_tensor *device_to_host(const char *fn, const tc_tensor *t) {
  const tc__device_api *api = tc__device_api_for(t->storage->device, fn);
  if (!api) return NULL;
  int64_t lo = t->offset, hi = t->offset; /* elements reached: [lo, hi] */
  for (int d = 0; d < t->ndim; d++) {
    int64_t ext = (t->sizes[d] - 1) * t->strides[d];
    if (ext < 0) lo += ext;
    else hi += ext;
  }
  int64_t span = hi - lo + 1;
  size_t es = tc_dtype_size(t->dtype);
  tc_tensor *buf = tc__empty(&span, 1, t->dtype, tc_cpu());
  if (!buf) return NULL;
  tc_status st = api->memcpy(buf->storage->data, (const char *)t->storage->data + (size_t)lo * es, (size_t)span * es, 1,
                             t->storage->device.index);
  tc_tensor *v = st ? NULL : tc__view(buf, t->sizes, t->strides, t->ndim, t->offset - lo);
  tc_tensor_release(buf);
  if (!v) return NULL;
  tc_tensor *c = tc_contiguous(v);
  tc_tensor_release(v);
  return c;
}

/* Writes the tensor's bytes (row-major, on the host) to f. */
static tc_status write_tensor(const char *fn, FILE *f, const tc_tensor *t, const char *path) {
  uint64_t nb = tensor_nbytes(t);
  if (nb == 0) return TC_OK;
  bool on_cpu = t->storage->device.type == TC_DEVICE_CPU;
  tc_tensor *host = NULL;
  if (!on_cpu || !tc__is_contiguous(t)) {
    host = on_cpu ? tc_contiguous(t) : device_to_host(fn, t);
    if (!host) return tc_last_status();
  }
  const tc_tensor *src = host ? host : t;
  bool ok = fwrite(tc__ptr(src), 1, (size_t)nb, f) == nb;
  int err = errno;
  tc_tensor_release(host);
  return ok ? TC_OK : tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(err));
}

tc_status tc_state_dict_save(const tc_state_dict *sd, const char *path) {
  const char *fn = "tc_state_dict_save";
  TC__NONNULL_S(sd, fn);
  if (!path) return tc__error(TC_ERR_ARG, "%s: path is NULL", fn);
  for (int64_t i = 0; i < sd->n; i++)
    if (dtype_index(sd->entries[i].t->dtype) < 0)
      return tc__error(TC_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, which safetensors cannot hold", fn,
                       sd->entries[i].name, tc_dtype_name(sd->entries[i].t->dtype));
  int64_t *idx = tc__malloc((size_t)(sd->n ? sd->n : 1) * sizeof *idx);
  size_t tlen = strlen(path) + 48;
  char *tmp = tc__malloc(tlen);
  sbuf hdr = {0};
  tc_status st = idx && tmp ? TC_OK : TC_ERR_NOMEM;
  if (!st) {
    st = sort_indices(sd, idx);
    if (!st) st = build_header(sd, idx, &hdr);
  }
  int fd = -1;
  if (!st) {
    fd = create_temp(path, tmp, tlen);
    if (fd < 0) st = tc__error(TC_ERR_IO, "%s: cannot create a temporary file next to '%s': %s", fn, path, strerror(errno));
  }
  if (!st) {
    int was = tc__scope_pause(); /* host copies are released here, not by the caller's scope */
    FILE *f = fdopen(fd, "wb");
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hdr.n >> (8 * i));
    if (!f || fwrite(len8, 1, 8, f) != 8 || fwrite(hdr.p, 1, hdr.n, f) != hdr.n)
      st = tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(errno));
    for (int64_t k = 0; k < sd->n && !st; k++) st = write_tensor(fn, f, sd->entries[idx[k]].t, path);
    if (!st && (fflush(f) != 0 || fsync(fileno(f)) != 0))
      st = tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(errno));
    if (f) {
      if (fclose(f) != 0 && !st) st = tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(errno));
    } else {
      close(fd);
    }
    tc__scope_resume(was);
    if (!st && rename(tmp, path) != 0)
      st = tc__error(TC_ERR_IO, "%s: cannot rename the temporary file onto '%s': %s", fn, path, strerror(errno));
    if (st) unlink(tmp);
    else sync_dir(path, tmp); /* tmp (longer than path) is free again: scratch for dirname */
  }
  tc__free(hdr.p);
  tc__free(tmp);
  tc__free(idx);
  return st;
}

/* ---- loading: header validation ------------------------------------------------------------- */

/* One tensor of the header. Kept small (the header may list millions of keys): the shape stays in
 * the parsed JSON and is read again, already checked, when the tensor is made. */
typedef struct {
  const char *name;    /* points into the parsed JSON */
  const json_t *shape; /* the checked "shape" array (borrowed) */
  tc_dtype dtype;
  int ndim;
  uint64_t begin, end;
  size_t order; /* position in the header: the tie-break for equal offsets */
} st_entry;

typedef struct {
  json_t *root;
  json_t *meta; /* "__metadata__" object or NULL (borrowed from root) */
  st_entry *e;
  size_t n;
} st_plan;

static void plan_free(st_plan *p) {
  tc__free(p->e);
  if (p->root) json_decref(p->root);
  memset(p, 0, sizeof *p);
}

static int cmp_offsets(const void *pa, const void *pb) {
  const st_entry *a = pa, *b = pb;
  if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* A non-negative JSON integer. */
static bool get_u64(const json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

#define KEYFMT "'%.80s'" /* keys in messages: hostile names can be huge */

static tc_status parse_entry(const char *fn, const char *name, const json_t *v, st_entry *e, uint64_t data_len) {
  e->name = name;
  if (!json_is_object(v)) return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": entry is not a JSON object", fn, name);
  /* dtype */
  const json_t *dt = json_object_get(v, "dtype");
  if (!dt) return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": no 'dtype'", fn, name);
  const char *ds = json_string_value(dt);
  if (!ds) return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": 'dtype' is not a string", fn, name);
  int di = -1;
  for (int i = 0; i < N_ST_DTYPES && di < 0; i++)
    if (strcmp(ds, st_dtypes[i].name) == 0) di = i;
  if (di < 0) {
    for (size_t i = 0; i < sizeof st_foreign / sizeof *st_foreign; i++)
      if (strcmp(ds, st_foreign[i]) == 0)
        return tc__error(TC_ERR_UNSUPPORTED, "%s: tensor " KEYFMT ": dtype %s is not supported by ctorch", fn, name, ds);
    return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": unknown dtype '%.32s'", fn, name, ds);
  }
  e->dtype = st_dtypes[di].dtype;
  /* shape: non-negative integers whose nonzero product, in bytes, fits int64 (strides are
   * products of sizes even when another size is 0) */
  const json_t *sh = json_object_get(v, "shape");
  if (!json_is_array(sh)) return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": no 'shape' array", fn, name);
  size_t nd = json_array_size(sh);
  if (nd > TC_MAX_DIMS)
    return tc__error(TC_ERR_UNSUPPORTED, "%s: tensor " KEYFMT " has %zu dims; ctorch supports at most %d", fn, name, nd,
                     TC_MAX_DIMS);
  e->ndim = (int)nd;
  e->shape = sh;
  int64_t shape[TC_MAX_DIMS];
  uint64_t es = tc_dtype_size(e->dtype), span = es, numel = 1;
  for (size_t d = 0; d < nd; d++) {
    uint64_t s;
    if (!get_u64(json_array_get(sh, d), &s))
      return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": shape[%zu] is not a non-negative integer", fn, name, d);
    shape[d] = (int64_t)s;
    if (s && span > (uint64_t)INT64_MAX / s)
      return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": shape %s is too large", fn, name,
                       tc__shape_str(shape, (int)d + 1));
    if (s) span *= s;
    numel *= s;
  }
  /* data_offsets: [begin, end] within the data buffer, spanning exactly numel elements */
  const json_t *of = json_object_get(v, "data_offsets");
  if (!json_is_array(of) || json_array_size(of) != 2 || !get_u64(json_array_get(of, 0), &e->begin) ||
      !get_u64(json_array_get(of, 1), &e->end))
    return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": 'data_offsets' is not a pair of non-negative integers", fn,
                     name);
  if (e->begin > e->end)
    return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": data_offsets [%llu, %llu] end before they begin", fn, name,
                     (unsigned long long)e->begin, (unsigned long long)e->end);
  if (e->end > data_len)
    return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": data_offsets [%llu, %llu] out of range for a %llu-byte data buffer",
                     fn, name, (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)data_len);
  if (e->end - e->begin != numel * es)
    return tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": data_offsets [%llu, %llu] hold %llu bytes, but shape %s of %s needs %llu",
                     fn, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                     (unsigned long long)(e->end - e->begin), tc__shape_str(shape, e->ndim), ds,
                     (unsigned long long)(numel * es));
  return TC_OK;
}

/* Parses and validates the header hdr[0, hlen) of a file whose data buffer is data_len bytes
 * (starting at file byte data_start). On success p holds the entries sorted by offset. */
static tc_status parse_header(const char *fn, const char *hdr, size_t hlen, uint64_t data_start, uint64_t data_len,
                              st_plan *p) {
  memset(p, 0, sizeof *p);
  json_error_t jerr;
  p->root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!p->root) {
    enum json_error_code code = json_error_code(&jerr);
    if (code == json_error_out_of_memory) return tc__error(TC_ERR_NOMEM, "%s: out of memory parsing the header", fn);
    return tc__error(TC_ERR_CORRUPT, "%s: invalid JSON header at byte %llu: %s", fn,
                     (unsigned long long)(8 + (jerr.position > 0 ? (uint64_t)jerr.position : 0)), jerr.text);
  }
  if (!json_is_object(p->root)) {
    plan_free(p);
    return tc__error(TC_ERR_CORRUPT, "%s: header is not a JSON object", fn);
  }
  size_t n = json_object_size(p->root);
  p->e = tc__malloc((n ? n : 1) * sizeof *p->e);
  if (!p->e) {
    plan_free(p);
    return TC_ERR_NOMEM;
  }
  tc_status st = TC_OK;
  const char *key;
  json_t *v;
  json_object_foreach(p->root, key, v) {
    if (strcmp(key, META_KEY) == 0) {
      if (json_is_null(v)) continue;
      if (!json_is_object(v)) {
        st = tc__error(TC_ERR_CORRUPT, "%s: '" META_KEY "' is not a JSON object", fn);
        break;
      }
      const char *mk;
      json_t *mv;
      json_object_foreach(v, mk, mv) {
        if (!json_is_string(mv)) {
          st = tc__error(TC_ERR_CORRUPT, "%s: metadata " KEYFMT " is not a string", fn, mk);
          break;
        }
      }
      if (st) break;
      p->meta = v;
      continue;
    }
    st_entry *e = &p->e[p->n];
    e->order = p->n;
    if ((st = parse_entry(fn, key, v, e, data_len))) break;
    p->n++;
  }
  if (!st) {
    /* sorted by offset, the tensors must tile the buffer: each starts where the last ended */
    qsort(p->e, p->n, sizeof *p->e, cmp_offsets);
    uint64_t pos = 0;
    for (size_t i = 0; i < p->n && !st; i++) {
      const st_entry *e = &p->e[i];
      if (e->begin > pos)
        st = tc__error(TC_ERR_CORRUPT, "%s: gap in the data buffer: bytes [%llu, %llu) (file offset %llu) belong to no tensor; the next is " KEYFMT,
                       fn, (unsigned long long)pos, (unsigned long long)e->begin, (unsigned long long)(data_start + pos), e->name);
      else if (e->begin < pos)
        st = tc__error(TC_ERR_CORRUPT, "%s: tensor " KEYFMT ": data_offsets [%llu, %llu] overlap tensor " KEYFMT " (which ends at %llu)",
                       fn, e->name, (unsigned long long)e->begin, (unsigned long long)e->end, p->e[i - 1].name,
                       (unsigned long long)pos);
      pos = e->end;
    }
    if (!st && pos != data_len)
      st = tc__error(TC_ERR_CORRUPT, "%s: the tensors cover %llu of the %llu data bytes: bytes from file offset %llu belong to no tensor",
                     fn, (unsigned long long)pos, (unsigned long long)data_len, (unsigned long long)(data_start + pos));
  }
  if (st) plan_free(p);
  return st;
}

/* Parses the 8-byte length prefix: the header is bytes [8, 8 + *hlen) of a total-byte input. */
static tc_status parse_prefix(const char *fn, const unsigned char *b, uint64_t total, uint64_t *hlen) {
  if (total < 8) return tc__error(TC_ERR_CORRUPT, "%s: %llu bytes is too short for the 8-byte header length", fn, (unsigned long long)total);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
  if (n > total - 8)
    return tc__error(TC_ERR_CORRUPT, "%s: header length %llu runs past the end of the input (%llu bytes after the length)",
                     fn, (unsigned long long)n, (unsigned long long)(total - 8));
  if (n > ST_MAX_HEADER)
    return tc__error(TC_ERR_CORRUPT, "%s: header length %llu exceeds the format's limit of %llu bytes", fn,
                     (unsigned long long)n, ST_MAX_HEADER);
  *hlen = n;
  return TC_OK;
}

/* ---- loading: building the dict --------------------------------------------------------------- */

/* Copies n bytes at data-buffer offset `off` into dst. */
typedef tc_status (*read_fn)(void *ctx, void *dst, uint64_t off, size_t n);

static tc_state_dict *build(const st_plan *p, read_fn rd, void *ctx) {
  int was = tc__scope_pause(); /* the dict owns the tensors: no scope may release them */
  tc_state_dict *sd = tc_state_dict_create();
  tc_status st = sd ? TC_OK : TC_ERR_NOMEM;
  size_t nmeta = p->meta ? json_object_size(p->meta) : 0;
  if (!st) st = tc__sd_reserve(sd, (int64_t)p->n);
  if (!st && nmeta) st = tc__sd_meta_reserve(sd, (int64_t)nmeta);
  if (!st && nmeta) {
    const char *mk;
    json_t *mv;
    json_object_foreach(p->meta, mk, mv) {
      char *k = tc__strdup(mk), *v = k ? tc__strdup(json_string_value(mv)) : NULL;
      if (!v) {
        tc__free(k);
        st = TC_ERR_NOMEM;
        break;
      }
      tc__sd_meta_append(sd, k, v);
    }
  }
  for (size_t i = 0; i < p->n && !st; i++) {
    const st_entry *e = &p->e[i];
    char *name = tc__strdup(e->name);
    int64_t shape[TC_MAX_DIMS];
    for (int d = 0; d < e->ndim; d++) shape[d] = (int64_t)json_integer_value(json_array_get(e->shape, (size_t)d));
    tc_tensor *t = name ? tc__empty(shape, e->ndim, e->dtype, tc_cpu()) : NULL;
    size_t nb = (size_t)(e->end - e->begin);
    if (!t) st = tc_last_status() ? tc_last_status() : TC_ERR_NOMEM;
    else if (nb) st = rd(ctx, tc__ptr(t), e->begin, nb);
    if (st) {
      tc__free(name);
      tc_tensor_release(t);
      break;
    }
    if (e->dtype == TC_BOOL) { /* any nonzero byte is true; ctorch keeps bools as 0/1 */
      unsigned char *d = (unsigned char *)tc__ptr(t);
      for (size_t k = 0; k < nb; k++) d[k] = d[k] != 0;
    }
    tc__sd_append(sd, name, t);
  }
  tc__scope_resume(was);
  if (st) {
    tc_state_dict_destroy(sd);
    return NULL;
  }
  return sd;
}

typedef struct {
  const unsigned char *data; /* the data buffer */
} mem_ctx;

static tc_status mem_read(void *ctx, void *dst, uint64_t off, size_t n) {
  memcpy(dst, ((mem_ctx *)ctx)->data + off, n);
  return TC_OK;
}

tc_state_dict *tc_state_dict_load_buffer(const void *data, size_t nbytes) {
  const char *fn = "tc_state_dict_load_buffer";
  const unsigned char *b = data;
  if (!b) {
    tc__error(TC_ERR_ARG, "%s: data is NULL", fn);
    return NULL;
  }
  uint64_t hlen = 0;
  if (parse_prefix(fn, b, nbytes, &hlen)) return NULL;
  st_plan p;
  if (parse_header(fn, (const char *)b + 8, (size_t)hlen, 8 + hlen, nbytes - 8 - hlen, &p)) return NULL;
  mem_ctx c = {b + 8 + hlen};
  tc_state_dict *sd = build(&p, mem_read, &c);
  plan_free(&p);
  return sd;
}

typedef struct {
  int fd;
  uint64_t data_start;
  const char *fn, *path;
} file_ctx;

/* pread until n bytes arrived (Linux caps one read near 2 GiB; signals may interrupt). */
static bool pread_exact(int fd, void *dst, size_t n, uint64_t off) {
  char *p = dst;
  while (n) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return true;
}

static tc_status file_read(void *ctx, void *dst, uint64_t off, size_t n) {
  file_ctx *c = ctx;
  if (pread_exact(c->fd, dst, n, c->data_start + off)) return TC_OK;
  return tc__error(TC_ERR_IO, "%s: reading %zu bytes at offset %llu of '%s' failed: %s", c->fn, n,
                   (unsigned long long)(c->data_start + off), c->path, errno ? strerror(errno) : "short read");
}

static tc_state_dict *load_fd(const char *fn, const char *path, int fd) {
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    tc__error(TC_ERR_IO, "%s: '%s' is not a regular file", fn, path);
    return NULL;
  }
  uint64_t fsize = (uint64_t)sb.st_size, hlen = 0;
  unsigned char pre[8] = {0};
  errno = 0;
  if (fsize >= 8 && !pread_exact(fd, pre, 8, 0)) {
    tc__error(TC_ERR_IO, "%s: reading '%s' failed: %s", fn, path, errno ? strerror(errno) : "short read");
    return NULL;
  }
  if (parse_prefix(fn, pre, fsize, &hlen)) return NULL;
  char *hdr = tc__malloc(hlen ? (size_t)hlen : 1);
  if (!hdr) return NULL;
  errno = 0;
  if (!pread_exact(fd, hdr, (size_t)hlen, 8)) {
    tc__error(TC_ERR_IO, "%s: reading the header of '%s' failed: %s", fn, path, errno ? strerror(errno) : "short read");
    tc__free(hdr);
    return NULL;
  }
  st_plan p;
  tc_status st = parse_header(fn, hdr, (size_t)hlen, 8 + hlen, fsize - 8 - hlen, &p);
  tc__free(hdr);
  if (st) return NULL;
  file_ctx c = {fd, 8 + hlen, fn, path};
  errno = 0;
  tc_state_dict *sd = build(&p, file_read, &c);
  plan_free(&p);
  return sd;
}

tc_state_dict *tc_state_dict_load(const char *path) {
  const char *fn = "tc_state_dict_load";
  if (!path) {
    tc__error(TC_ERR_ARG, "%s: path is NULL", fn);
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    tc__error(TC_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    return NULL;
  }
  tc_state_dict *sd = load_fd(fn, path, fd);
  close(fd);
  tc_status st = tc_last_status();
  if (!sd && (st == TC_ERR_CORRUPT || st == TC_ERR_UNSUPPORTED)) {
    /* name the file: the header checks do not know it */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    tc__error(st, "%s (file '%s')", msg, path);
  }
  return sd;
}
