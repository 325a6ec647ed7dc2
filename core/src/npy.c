/* core/src/npy.c — NumPy .npy load and save.
 *
 * Format: magic "\x93NUMPY", version (1.0: 2-byte header length; 2.0/3.0: 4-byte), then a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded to 64 bytes,
 * then the raw data. The loader treats the file as hostile: every field is checked and a
 * malformed header gives TC_ERR_CORRUPT with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"

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

/* descr like '<f4' -> dtype and byte order ('<' little, '>' big, '|' n/a) */
static bool parse_descr(const char *s, size_t n, tc_dtype *dt, bool *big) {
  if (n < 3) return false;
  char order = s[0], kind = s[1];
  if (order != '<' && order != '>' && order != '|' && order != '=') return false;
  int size = 0;
  for (size_t i = 2; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || size > 64) return false;
    size = size * 10 + (s[i] - '0');
  }
  *big = order == '>';
  switch (kind) {
    case 'f': *dt = size == 4 ? TC_F32 : size == 8 ? TC_F64 : size == 2 ? TC_F16 : TC_DTYPE_DEFAULT; break;
    case 'i': *dt = size == 8 ? TC_I64 : size == 4 ? TC_I32 : size == 2 ? TC_I16 : size == 1 ? TC_I8 : TC_DTYPE_DEFAULT; break;
    case 'u': *dt = size == 1 ? TC_U8 : size == 2 ? TC_U16 : TC_DTYPE_DEFAULT; break;
    case 'b': *dt = size == 1 ? TC_BOOL : TC_DTYPE_DEFAULT; break;
    case 'c': *dt = size == 8 ? TC_C64 : TC_DTYPE_DEFAULT; break;
    default: *dt = TC_DTYPE_DEFAULT;
  }
  return true;
}

/* Finds 'key': in the header dict and returns a pointer just after the colon (spaces skipped). */
static const char *find_key(const char *h, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 < n; i++) {
    if ((h[i] == '\'' || h[i] == '"') && memcmp(h + i + 1, key, kl) == 0 && h[i + 1 + kl] == h[i]) {
      const char *p = h + i + kl + 2;
      while (p < h + n && (*p == ' ' || *p == ':')) p++;
      return p < h + n ? p : NULL;
    }
  }
  return NULL;
}

static void byteswap(char *p, int64_t n, size_t es) {
  for (int64_t i = 0; i < n; i++, p += es) {
    for (size_t a = 0, b = es - 1; a < b; a++, b--) {
      char c = p[a];
      p[a] = p[b];
      p[b] = c;
    }
  }
}

tc_tensor *tc_npy_load_buffer(const void *data, size_t nbytes) {
  const char *fn = "tc_npy_load";
  const unsigned char *b = data;
  if (!b) {
    tc__error(TC_ERR_ARG, "%s: data is NULL", fn);
    return NULL;
  }
  if (nbytes < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
    tc__error(TC_ERR_CORRUPT, "%s: not a .npy file (bad magic)", fn);
    return NULL;
  }
  int major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = (size_t)b[8] | ((size_t)b[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (nbytes < 12) {
      tc__error(TC_ERR_CORRUPT, "%s: truncated header", fn);
      return NULL;
    }
    hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
    hstart = 12;
  } else {
    tc__error(TC_ERR_UNSUPPORTED, "%s: .npy format version %d is not supported", fn, major);
    return NULL;
  }
  if (hlen > nbytes - hstart || hlen > (1u << 20)) {
    tc__error(TC_ERR_CORRUPT, "%s: header length %zu exceeds the file (%zu bytes)", fn, hlen, nbytes);
    return NULL;
  }
  const char *h = (const char *)b + hstart;
  /* descr */
  const char *p = find_key(h, hlen, "descr");
  if (!p || (*p != '\'' && *p != '"')) {
    tc__error(TC_ERR_CORRUPT, "%s: header has no 'descr'", fn);
    return NULL;
  }
  const char *q = memchr(p + 1, *p, (size_t)(h + hlen - p - 1));
  if (!q) {
    tc__error(TC_ERR_CORRUPT, "%s: unterminated 'descr'", fn);
    return NULL;
  }
  tc_dtype dt;
  bool big;
  if (!parse_descr(p + 1, (size_t)(q - p - 1), &dt, &big)) {
    tc__error(TC_ERR_CORRUPT, "%s: malformed descr '%.*s'", fn, (int)(q - p - 1), p + 1);
    return NULL;
  }
  if (dt == TC_DTYPE_DEFAULT) {
    tc__error(TC_ERR_UNSUPPORTED, "%s: dtype '%.*s' is not supported", fn, (int)(q - p - 1), p + 1);
    return NULL;
  }
  /* fortran_order */
  p = find_key(h, hlen, "fortran_order");
  if (!p) {
    tc__error(TC_ERR_CORRUPT, "%s: header has no 'fortran_order'", fn);
    return NULL;
  }
  bool fortran;
  size_t rest = (size_t)(h + hlen - p);
  if (rest >= 4 && memcmp(p, "True", 4) == 0) fortran = true;
  else if (rest >= 5 && memcmp(p, "False", 5) == 0) fortran = false;
  else {
    tc__error(TC_ERR_CORRUPT, "%s: malformed 'fortran_order'", fn);
    return NULL;
  }
  /* shape */
  p = find_key(h, hlen, "shape");
  if (!p || *p != '(') {
    tc__error(TC_ERR_CORRUPT, "%s: header has no 'shape' tuple", fn);
    return NULL;
  }
  int64_t shape[TC_MAX_DIMS];
  int nd = 0;
  p++;
  const char *end = h + hlen;
  for (;;) {
    while (p < end && (*p == ' ' || *p == ',')) p++;
    if (p >= end) {
      tc__error(TC_ERR_CORRUPT, "%s: unterminated 'shape'", fn);
      return NULL;
    }
    if (*p == ')') break;
    if (*p < '0' || *p > '9') {
      tc__error(TC_ERR_CORRUPT, "%s: malformed 'shape'", fn);
      return NULL;
    }
    if (nd == TC_MAX_DIMS) {
      tc__error(TC_ERR_UNSUPPORTED, "%s: more than %d dims", fn, TC_MAX_DIMS);
      return NULL;
    }
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      if (v > (INT64_MAX - 9) / 10) {
        tc__error(TC_ERR_CORRUPT, "%s: shape value too large", fn);
        return NULL;
      }
      v = v * 10 + (*p++ - '0');
    }
    while (p < end && *p == 'L') p++;
    shape[nd++] = v;
  }
  size_t es = tc_dtype_size(dt);
  uint64_t numel = 1;
  for (int i = 0; i < nd; i++) {
    if (shape[i] && numel > UINT64_MAX / (uint64_t)shape[i]) {
      tc__error(TC_ERR_CORRUPT, "%s: shape %s too large", fn, tc__shape_str(shape, nd));
      return NULL;
    }
    numel *= (uint64_t)shape[i];
  }
  size_t avail = nbytes - hstart - hlen;
  if (numel > avail / es) {
    tc__error(TC_ERR_CORRUPT, "%s: data truncated: shape %s needs %llu bytes, file has %zu", fn,
              tc__shape_str(shape, nd), (unsigned long long)(numel * es), avail);
    return NULL;
  }
  const char *payload = (const char *)b + hstart + hlen;
  tc_tensor *t;
  if (!fortran) {
    t = tc_tensor_from_data(payload, shape, nd, dt);
    if (!t) return NULL;
  } else {
    /* Fortran order: the data is the transpose's C order; read as reversed shape, permute back */
    int64_t rshape[TC_MAX_DIMS], perm[TC_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
      rshape[i] = shape[nd - 1 - i];
      perm[i] = nd - 1 - i;
    }
    tc_tensor *raw = tc_tensor_from_data(payload, rshape, nd, dt);
    if (!raw) return NULL;
    tc_tensor *pv = tc_permute(raw, perm, nd);
    tc_tensor_release(raw);
    if (!pv) return NULL;
    t = tc_contiguous(pv);
    tc_tensor_release(pv);
    if (!t) return NULL;
  }
  if (big && es > 1) {
    size_t sw = dt == TC_C64 ? 4 : es; /* complex: swap each float */
    byteswap(tc__ptr(t), (int64_t)(numel * es / sw), sw);
  }
  return t;
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
  char *buf = NULL;
  size_t len = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long sz = ftell(f);
    if (sz >= 0 && fseek(f, 0, SEEK_SET) == 0) {
      buf = tc__malloc((size_t)sz + 1);
      if (buf) len = fread(buf, 1, (size_t)sz, f);
      if (buf && len != (size_t)sz) {
        tc__error(TC_ERR_IO, "%s: short read on '%s'", fn, path);
        tc__free(buf);
        fclose(f);
        return NULL;
      }
    }
  }
  fclose(f);
  if (!buf) {
    if (tc_last_status() != TC_ERR_NOMEM) tc__error(TC_ERR_IO, "%s: cannot read '%s'", fn, path);
    return NULL;
  }
  tc_tensor *t = tc_npy_load_buffer(buf, len);
  tc__free(buf);
  if (!t && tc_last_status() == TC_ERR_CORRUPT) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", tc_last_error());
    tc__error(TC_ERR_CORRUPT, "%s (file '%s')", msg, path);
  }
  return t;
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
  char *tmp = tc__malloc(plen + 16);
  if (!tmp) {
    tc_tensor_release(cc);
    return TC_ERR_NOMEM;
  }
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  tc_status st = TC_OK;
  if (fd < 0) {
    st = tc__error(TC_ERR_IO, "%s: cannot create a temporary file next to '%s': %s", fn, path, strerror(errno));
  } else {
    FILE *f = fdopen(fd, "wb");
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    size_t nb = (size_t)tc__numel(cc->sizes, cc->ndim) * tc_dtype_size(cc->dtype);
    bool ok = f && fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n &&
              (nb == 0 || fwrite(tc__ptr(cc), 1, nb, f) == nb) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f) ok = (fclose(f) == 0) && ok;
    else close(fd);
    if (!ok) st = tc__error(TC_ERR_IO, "%s: writing '%s' failed: %s", fn, path, strerror(errno));
    else if (rename(tmp, path) != 0)
      st = tc__error(TC_ERR_IO, "%s: cannot rename onto '%s': %s", fn, path, strerror(errno));
    if (st) unlink(tmp);
  }
  tc__free(tmp);
  tc_tensor_release(cc);
  return st;
}
