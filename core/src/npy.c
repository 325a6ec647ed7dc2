/* core/src/npy.c — NumPy .npy load and save.
 *
 * Format: magic "\x93NUMPY", version (1.0: 2-byte little-endian header length; 2.0/3.0: 4-byte),
 * then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded
 * with spaces and a newline so the data starts on a 64-byte boundary, then the raw data.
 *
 * The loader treats input as hostile: every field is checked, sizes are checked for overflow and
 * against the bytes present, and a malformed header gives TC_ERR_CORRUPT with a message; a valid
 * NumPy file with a dtype ctorch lacks (strings, structured, complex128, ...) gives
 * TC_ERR_UNSUPPORTED. Files are read straight into the tensor (no second copy of the data); big-
 * endian data is swapped, Fortran-order data is transposed to C order, bool bytes are made 0/1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

#define NPY_MAX_HEADER (1u << 20) /* a header longer than 1 MiB is not a real .npy header */

static const char *npy_descr(tc_dtype d) {
  switch (d) {
    case TC_F32: return "<f4";
    case TC_F64: return "<f8";
    case TC_F16: return "<f2";
    case TC_I64: return "<i8";
    case TC_I32: return "<i4";
    case TC_I16: return "<i2";
    case TC_I8: return "|i1";
    case TC_U8: return "|u1";
    case TC_U16: return "<u2";
    case TC_BOOL: return "|b1";
    case TC_C64: return "<c8";
    default: return NULL;
  }
}

/* The parsed header. Data starts at byte `data_start`; it holds numel elements of dtype. */
typedef struct {
  tc_dtype dtype;
  bool big;     /* big-endian data ('>') */
  bool fortran; /* column-major data */
  int ndim;
  int64_t shape[TC_MAX_DIMS];
  uint64_t numel;
  size_t data_start;
} npy_header;

/* descr like '<f4' -> dtype and byte order ('<' little, '>' big, '|' not applicable, '=' native).
 * TC_ERR_CORRUPT when it is not a NumPy type string, TC_ERR_UNSUPPORTED for types ctorch lacks. */
static tc_status parse_descr(const char *fn, const char *s, size_t n, npy_header *h) {
  char order = n ? s[0] : 0;
  bool ok = n >= 2 && n <= 32 && (order == '<' || order == '>' || order == '|' || order == '=');
  for (size_t i = 1; ok && i < n; i++) /* a type string: letters, digits, [unit] of datetimes */
    ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
         s[i] == '[' || s[i] == ']';
  if (!ok) return tc__error(TC_ERR_CORRUPT, "%s: malformed descr '%.*s'", fn, (int)(n < 32 ? n : 32), s);
  int size = n > 2 ? 0 : -1;
  for (size_t i = 2; i < n && size >= 0; i++) {
    if (s[i] < '0' || s[i] > '9' || size > 1000) size = -1;
    else size = size * 10 + (s[i] - '0');
  }
  tc_dtype d = TC_DTYPE_DEFAULT;
  switch (s[1]) {
    case 'f': d = size == 4 ? TC_F32 : size == 8 ? TC_F64 : size == 2 ? TC_F16 : d; break;
    case 'i': d = size == 8 ? TC_I64 : size == 4 ? TC_I32 : size == 2 ? TC_I16 : size == 1 ? TC_I8 : d; break;
    case 'u': d = size == 1 ? TC_U8 : size == 2 ? TC_U16 : d; break;
    case 'b': d = size == 1 ? TC_BOOL : d; break;
    case 'c': d = size == 8 ? TC_C64 : d; break;
    default: break;
  }
  if (d == TC_DTYPE_DEFAULT)
    return tc__error(TC_ERR_UNSUPPORTED, "%s: dtype '%.*s' is not supported (ctorch reads f2 f4 f8 i1 i2 i4 i8 u1 u2 b1 c8)",
                     fn, (int)n, s);
  h->dtype = d;
  h->big = order == '>';
  return TC_OK;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Finds 'key': in the header dict and returns a pointer just after the colon (spaces skipped). */
static const char *find_key(const char *h, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 < n; i++) {
    if ((h[i] == '\'' || h[i] == '"') && memcmp(h + i + 1, key, kl) == 0 && h[i + 1 + kl] == h[i]) {
      const char *p = h + i + kl + 2;
      while (p < h + n && (is_space(*p) || *p == ':')) p++;
      return p < h + n ? p : NULL;
    }
  }
  return NULL;
}

/* Reads the fixed prefix (magic, version, header length) from the first n bytes (12 suffice):
 * the header dict is bytes [*hstart, *hstart + *hlen). */
static tc_status parse_prefix(const char *fn, const unsigned char *b, size_t n, size_t *hstart, size_t *hlen) {
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return tc__error(TC_ERR_CORRUPT, "%s: not a .npy file (bad magic)", fn);
  int major = b[6];
  if (major == 1) {
    *hlen = (size_t)b[8] | ((size_t)b[9] << 8);
    *hstart = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) return tc__error(TC_ERR_CORRUPT, "%s: truncated header (%zu bytes)", fn, n);
    *hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
    *hstart = 12;
  } else {
    return tc__error(TC_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported", fn, major, b[7]);
  }
  if (*hlen > NPY_MAX_HEADER)
    return tc__error(TC_ERR_CORRUPT, "%s: header length %zu is implausible", fn, *hlen);
  return TC_OK;
}

/* Parses the header dict h[0, hlen). */
static tc_status parse_dict(const char *fn, const char *h, size_t hlen, npy_header *out) {
  const char *end = h + hlen;
  /* descr */
  const char *p = find_key(h, hlen, "descr");
  if (!p) return tc__error(TC_ERR_CORRUPT, "%s: header has no 'descr'", fn);
  if (*p == '[') return tc__error(TC_ERR_UNSUPPORTED, "%s: structured dtypes are not supported", fn);
  if (*p != '\'' && *p != '"') return tc__error(TC_ERR_CORRUPT, "%s: malformed 'descr'", fn);
  const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
  if (!q) return tc__error(TC_ERR_CORRUPT, "%s: unterminated 'descr'", fn);
  tc_status st = parse_descr(fn, p + 1, (size_t)(q - p - 1), out);
  if (st) return st;
  /* fortran_order */
  p = find_key(h, hlen, "fortran_order");
  if (!p) return tc__error(TC_ERR_CORRUPT, "%s: header has no 'fortran_order'", fn);
  size_t rest = (size_t)(end - p);
  if (rest >= 4 && memcmp(p, "True", 4) == 0) out->fortran = true;
  else if (rest >= 5 && memcmp(p, "False", 5) == 0) out->fortran = false;
  else return tc__error(TC_ERR_CORRUPT, "%s: malformed 'fortran_order'", fn);
  /* shape: a tuple of non-negative integers, "()" for 0-d, "(5,)" for 1-d */
  p = find_key(h, hlen, "shape");
  if (!p || *p != '(') return tc__error(TC_ERR_CORRUPT, "%s: header has no 'shape' tuple", fn);
  int nd = 0;
  p++;
  for (;;) {
    while (p < end && (is_space(*p) || *p == ',')) p++;
    if (p >= end) return tc__error(TC_ERR_CORRUPT, "%s: unterminated 'shape'", fn);
    if (*p == ')') break;
    if (*p < '0' || *p > '9') return tc__error(TC_ERR_CORRUPT, "%s: malformed 'shape'", fn);
    if (nd == TC_MAX_DIMS) return tc__error(TC_ERR_UNSUPPORTED, "%s: more than %d dims", fn, TC_MAX_DIMS);
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      if (v > (INT64_MAX - 9) / 10) return tc__error(TC_ERR_CORRUPT, "%s: shape value too large", fn);
      v = v * 10 + (*p++ - '0');
    }
    while (p < end && *p == 'L') p++; /* Python 2 longs */
    out->shape[nd++] = v;
  }
  out->ndim = nd;
  /* The bytes of the nonzero sizes must fit int64 (a tensor's strides are products of them), even
   * when another size is 0. */
  size_t es = tc_dtype_size(out->dtype);
  uint64_t span = es, numel = 1;
  for (int i = 0; i < nd; i++) {
    uint64_t s = (uint64_t)out->shape[i];
    if (s && span > (uint64_t)INT64_MAX / s)
      return tc__error(TC_ERR_CORRUPT, "%s: shape %s is too large", fn, tc__shape_str(out->shape, nd));
    if (s) span *= s;
    numel *= s;
  }
  out->numel = numel;
  return TC_OK;
}

/* The tensor the raw data decodes to: shape as stored (reversed for Fortran order). */
static void storage_shape(const npy_header *h, int64_t *shape) {
  for (int i = 0; i < h->ndim; i++) shape[i] = h->fortran ? h->shape[h->ndim - 1 - i] : h->shape[i];
}

static void byteswap(char *p, uint64_t n, size_t es) {
  for (uint64_t i = 0; i < n; i++, p += es) {
    for (size_t a = 0, b = es - 1; a < b; a++, b--) {
      char c = p[a];
      p[a] = p[b];
      p[b] = c;
    }
  }
}

/* Turns `raw` (the data as stored, owned: consumed) into the loaded tensor: native byte order,
 * bools 0/1, C order. */
static tc_tensor *finish(tc_tensor *raw, const npy_header *h) {
  size_t es = tc_dtype_size(h->dtype);
  if (h->numel > 0) {
    char *d = tc__ptr(raw);
    if (h->big && es > 1) {
      size_t sw = h->dtype == TC_C64 ? 4 : es; /* complex: swap each float */
      byteswap(d, h->numel * es / sw, sw);
    }
    if (h->dtype == TC_BOOL) {
      for (uint64_t i = 0; i < h->numel; i++) d[i] = d[i] != 0;
    }
  }
  if (!h->fortran || h->ndim < 2) return raw;
  /* Fortran order: the data is the transpose's C order; permute back and copy to C order */
  int64_t perm[TC_MAX_DIMS];
  for (int i = 0; i < h->ndim; i++) perm[i] = h->ndim - 1 - i;
  tc_tensor *pv = tc_permute(raw, perm, h->ndim);
  tc_tensor_release(raw);
  if (!pv) return NULL;
  tc_tensor *t = tc_contiguous(pv);
  tc_tensor_release(pv);
  return t;
}

static tc_tensor *load_buffer(const char *fn, const void *data, size_t nbytes) {
  const unsigned char *b = data;
  if (!b) {
    tc__error(TC_ERR_ARG, "%s: data is NULL", fn);
    return NULL;
  }
  size_t hstart, hlen;
  if (parse_prefix(fn, b, nbytes, &hstart, &hlen)) return NULL;
  if (hlen > nbytes - hstart) {
    tc__error(TC_ERR_CORRUPT, "%s: truncated header: %zu bytes of header, %zu present", fn, hlen, nbytes - hstart);
    return NULL;
  }
  npy_header h = {0};
  if (parse_dict(fn, (const char *)b + hstart, hlen, &h)) return NULL;
  h.data_start = hstart + hlen;
  size_t avail = nbytes - h.data_start, es = tc_dtype_size(h.dtype);
  if (h.numel > avail / es) {
    tc__error(TC_ERR_CORRUPT, "%s: data truncated: shape %s needs %llu bytes, %zu present", fn,
              tc__shape_str(h.shape, h.ndim), (unsigned long long)(h.numel * es), avail);
    return NULL;
  }
  int64_t shape[TC_MAX_DIMS];
  storage_shape(&h, shape);
  tc_tensor *raw = tc_tensor_from_data(b + h.data_start, shape, h.ndim, h.dtype);
  if (!raw) return NULL;
  return finish(raw, &h);
}

tc_tensor *tc_npy_load_buffer(const void *data, size_t nbytes) {
  return load_buffer("tc_npy_load_buffer", data, nbytes);
}

/* Reads exactly n bytes at the current position; false on a short read. */
static bool read_exact(FILE *f, void *dst, size_t n) { return n == 0 || fread(dst, 1, n, f) == n; }

static tc_tensor *load_file(const char *fn, const char *path, FILE *f) {
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    tc__error(TC_ERR_IO, "%s: '%s' is not a regular file", fn, path);
    return NULL;
  }
  size_t fsize = (size_t)sb.st_size;
  unsigned char pre[12];
  size_t npre = fread(pre, 1, sizeof pre, f);
  size_t hstart, hlen;
  if (parse_prefix(fn, pre, npre, &hstart, &hlen)) return NULL;
  if (fsize < hstart || hlen > fsize - hstart) {
    tc__error(TC_ERR_CORRUPT, "%s: truncated header: %zu bytes of header, %zu present", fn, hlen,
              fsize > hstart ? fsize - hstart : 0);
    return NULL;
  }
  char *hdr = tc__malloc(hlen + 1);
  if (!hdr) return NULL;
  npy_header h = {0};
  bool ok = fseek(f, (long)hstart, SEEK_SET) == 0 && read_exact(f, hdr, hlen);
  if (!ok) tc__error(TC_ERR_IO, "%s: reading the header of '%s' failed", fn, path);
  tc_status st = ok ? parse_dict(fn, hdr, hlen, &h) : TC_ERR_IO;
  tc__free(hdr);
  if (st) return NULL;
  h.data_start = hstart + hlen;
  size_t avail = fsize - h.data_start, es = tc_dtype_size(h.dtype);
  if (h.numel > avail / es) {
    tc__error(TC_ERR_CORRUPT, "%s: data truncated: shape %s needs %llu bytes, %zu present", fn,
              tc__shape_str(h.shape, h.ndim), (unsigned long long)(h.numel * es), avail);
    return NULL;
  }
  int64_t shape[TC_MAX_DIMS];
  storage_shape(&h, shape);
  tc_tensor *raw = tc__empty(shape, h.ndim, h.dtype, tc_cpu());
  if (!raw) return NULL;
  if (!read_exact(f, tc__ptr(raw), (size_t)h.numel * es)) {
    tc__error(TC_ERR_IO, "%s: short read on '%s'", fn, path);
    tc_tensor_release(raw);
    return NULL;
  }
  return finish(raw, &h);
}

tc_tensor *tc_npy_load(const char *path) {
  const char *fn = "tc_npy_load";
  if (!path) {
    tc__error(TC_ERR_ARG, "%s: path is NULL", fn);
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    tc__error(TC_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    return NULL;
  }
  tc_tensor *t = load_file(fn, path, f);
  fclose(f);
  tc_status st = tc_last_status();
  if (!t && (st == TC_ERR_CORRUPT || st == TC_ERR_UNSUPPORTED)) {
    /* name the file: the parser's message does not know it */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    tc__error(st, "%s (file '%s')", msg, path);
  }
  return t;
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

tc_status tc_npy_save(const char *path, const tc_tensor *t) {
  const char *fn = "tc_npy_save";
  if (!path) return tc__error(TC_ERR_ARG, "%s: path is NULL", fn);
  TC__NONNULL_S(t, fn);
  const char *descr = npy_descr(t->dtype);
  if (!descr) return tc__error(TC_ERR_UNSUPPORTED, "%s: dtype %s has no NumPy equivalent", fn, tc_dtype_name(t->dtype));
  char header[256 + TC_MAX_DIMS * 24];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->ndim; i++)
    n += snprintf(header + n, sizeof header - (size_t)n, i ? ", %lld" : "%lld", (long long)t->sizes[i]);
  if (t->ndim == 1) header[n++] = ','; /* a 1-tuple keeps its comma: (5,) */
  n += snprintf(header + n, sizeof header - (size_t)n, "), }");
  /* pad with spaces so 10 + len + 1 is a multiple of 64, end with newline */
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  memset(header + n, ' ', (size_t)pad);
  n += pad;
  header[n++] = '\n';
  tc_tensor *c = tc_tensor_to(t, tc_cpu());
  if (!c) return tc_last_status();
  tc_tensor *cc = tc_contiguous(c);
  tc_tensor_release(c);
  if (!cc) return tc_last_status();
  size_t plen = strlen(path);
  size_t tlen = plen + 48;
  char *tmp = tc__malloc(tlen);
  if (!tmp) {
    tc_tensor_release(cc);
    return TC_ERR_NOMEM;
  }
  int fd = create_temp(path, tmp, tlen);
  tc_status st = TC_OK;
  if (fd < 0) {
    st = tc__error(TC_ERR_IO, "%s: cannot create a temporary file next to '%s': %s", fn, path, strerror(errno));
  } else {
    FILE *f = fdopen(fd, "wb");
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    size_t nb = (size_t)tc__numel(cc->sizes, cc->ndim) * tc_dtype_size(cc->dtype);
    bool ok = f && fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n &&
              (nb == 0 || fwrite(tc__ptr(cc), 1, nb, f) == nb) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f) ok = (fclose(f) == 0) && ok;
    else close(fd);
    if (!ok) st = tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(err));
    else if (rename(tmp, path) != 0)
      st = tc__error(TC_ERR_IO, "%s: cannot rename onto '%s': %s", fn, path, strerror(errno));
    if (st) unlink(tmp);
  }
  tc__free(tmp);
  tc_tensor_release(cc);
  return st;
}
