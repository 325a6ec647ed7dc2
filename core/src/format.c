/* core/src/format.c — tensors printed the way PyTorch's repr prints them.
 *
 * A port of torch/_tensor_str.py with the default print options (precision 4, threshold 1000,
 * edgeitems 3, linewidth 80):
 *   - summarising: beyond 1000 elements only the first and last 3 entries of each dim are shown,
 *     with "..." between them (and only those entries decide the number format);
 *   - a formatter (_Formatter) chooses, from the shown nonzero finite values of a float tensor,
 *     int mode ("1.", when every value is integral), scientific mode (max/min > 1000, max > 1e8
 *     or min < 1e-4) or fixed "%.4f", and the width every element is right-aligned to;
 *   - complex tensors use one formatter for the real parts and one for the imaginary parts;
 *   - 1-d rows wrap at 80 columns; dims >= 2 nest with one more space of indent per level and
 *     (ndim - 1) newlines between slices;
 *   - suffixes: device when not the CPU, size for empty non-1-d tensors, dtype unless it is
 *     float32, complex64, int64 or bool (always for empty non-float32 tensors).
 * Elements are read through the strides, so any view prints without a copy (for a CUDA tensor,
 * the span of its storage it reads is copied to the host first).
 */
#include <math.h>
#include <stdio.h>
#include "internal.h"

#define PRECISION 4
#define THRESHOLD 1000
#define EDGEITEMS 3
#define LINEWIDTH 80

/* ---- a growing string -------------------------------------------------------------------------- */

typedef struct {
  char *s;
  size_t len, cap;
  bool failed; /* an allocation failed: every later append is dropped */
} sbuf;

static bool sb_reserve(sbuf *b, size_t extra) {
  if (b->failed) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *s = tc__realloc(b->s, cap);
  if (!s) {
    b->failed = true;
    return false;
  }
  b->s = s;
  b->cap = cap;
  return true;
}

static void sb_putn(sbuf *b, const char *s, size_t n) {
  if (!sb_reserve(b, n)) return;
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_repeat(sbuf *b, char c, int n) {
  if (n <= 0 || !sb_reserve(b, (size_t)n)) return;
  memset(b->s + b->len, c, (size_t)n);
  b->len += (size_t)n;
  b->s[b->len] = '\0';
}

/* ---- formatter (torch._tensor_str._Formatter) --------------------------------------------------- */

typedef struct {
  bool floating; /* a float dtype (or one part of a complex dtype) */
  bool boolean;
  bool int_mode, sci_mode;
  int max_width;
} formatter;

typedef struct {
  const tc_tensor *t; /* on the CPU */
  const char *data;   /* storage base */
  size_t es;          /* element size */
  bool summarize;
  bool cplx;
  formatter f[2]; /* [0]: the values (real parts); [1]: imaginary parts of a complex tensor */
} pctx;

/* Element at element offset `off`, part 0 (value or real part) or 1 (imaginary part), as double. */
static double load_part(const pctx *c, int64_t off, int part) {
  const char *p = c->data + off * (int64_t)c->es;
  if (c->cplx) {
    float v[2];
    memcpy(v, p, sizeof v);
    return v[part];
  }
  return tc__load_double(p, c->t->dtype);
}

/* Calls fn(arg, off) for every element that is shown (all of them unless summarising), in order. */
typedef void (*visit_fn)(void *arg, const pctx *c, int64_t off);
static void visit(const pctx *c, int dim, int64_t off, visit_fn fn, void *arg) {
  const tc_tensor *t = c->t;
  if (dim == t->ndim) {
    fn(arg, c, off);
    return;
  }
  int64_t n = t->sizes[dim], st = t->strides[dim];
  bool skip = c->summarize && n > 2 * EDGEITEMS;
  for (int64_t i = 0; i < n; i++) {
    if (skip && i == EDGEITEMS) i = n - EDGEITEMS;
    visit(c, dim + 1, off + i * st, fn, arg);
  }
}

/* Formats a float without padding, as Python's "{:.4e}", "{:.0f}" + "." or "{:.4f}" (nan and inf
 * print as "nan", "inf", "-inf": Python never prints a NaN's sign). Returns the length. */
static int float_str(const formatter *f, double v, char *buf, size_t n) {
  if (isnan(v)) return snprintf(buf, n, "nan");
  if (isinf(v)) return snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
  if (f->sci_mode) return snprintf(buf, n, "%.*e", PRECISION, v);
  if (f->int_mode) return snprintf(buf, n, "%.0f.", v);
  return snprintf(buf, n, "%.*f", PRECISION, v);
}

static bool nonzero_finite(double v) { return isfinite(v) && v != 0; }

typedef struct {
  formatter *f;
  int part;
  int64_t count;       /* nonzero finite values seen */
  double min_abs, max_abs;
} stats;

static void stats_range(void *arg, const pctx *c, int64_t off) {
  stats *s = arg;
  double v = load_part(c, off, s->part);
  if (!nonzero_finite(v)) return;
  double a = fabs(v);
  if (s->count++ == 0 || a < s->min_abs) s->min_abs = a;
  if (a > s->max_abs) s->max_abs = a;
  if (v != ceil(v)) s->f->int_mode = false;
}

static void stats_width(void *arg, const pctx *c, int64_t off) {
  stats *s = arg;
  char buf[64];
  int w;
  if (s->f->floating) {
    double v = load_part(c, off, s->part);
    if (!nonzero_finite(v)) return;
    w = float_str(s->f, v, buf, sizeof buf);
  } else if (s->f->boolean) {
    w = tc__load_int64(c->data + off * (int64_t)c->es, c->t->dtype) ? 4 : 5;
  } else {
    w = snprintf(buf, sizeof buf, "%lld", (long long)tc__load_int64(c->data + off * (int64_t)c->es, c->t->dtype));
  }
  if (w > s->f->max_width) s->f->max_width = w;
}

/* Builds formatter c->f[part] from the shown elements. */
static void formatter_init(pctx *c, int part, bool floating) {
  formatter *f = &c->f[part];
  *f = (formatter){.floating = floating, .boolean = c->t->dtype == TC_BOOL, .int_mode = true, .max_width = 1};
  stats s = {.f = f, .part = part};
  if (floating) {
    visit(c, 0, c->t->offset, stats_range, &s);
    if (s.count == 0) return; /* no nonzero finite value: int mode, width 1 */
    f->sci_mode = s.max_abs / s.min_abs > 1000.0 || s.max_abs > 1.0e8 || s.min_abs < 1.0e-4;
  }
  visit(c, 0, c->t->offset, stats_width, &s);
}

/* One element part right-aligned to the formatter's width (_Formatter.format) into buf (128
 * bytes; widths never come near that). Returns the length. */
static int part_str(const pctx *c, const formatter *f, int64_t off, int part, char *buf) {
  char raw[64];
  int n;
  if (f->floating) {
    n = float_str(f, load_part(c, off, part), raw, sizeof raw);
  } else {
    int64_t v = tc__load_int64(c->data + off * (int64_t)c->es, c->t->dtype);
    n = f->boolean ? snprintf(raw, sizeof raw, "%s", v ? "True" : "False") : snprintf(raw, sizeof raw, "%lld", (long long)v);
  }
  int pad = f->max_width > n ? f->max_width - n : 0;
  memset(buf, ' ', (size_t)pad);
  memcpy(buf + pad, raw, (size_t)n + 1);
  return pad + n;
}

static void put_element(sbuf *b, const pctx *c, int64_t off) {
  char buf[128];
  sb_putn(b, buf, (size_t)part_str(c, &c->f[0], off, 0, buf));
  if (!c->cplx) return;
  /* imaginary part: padded, "j" appended, then left-stripped; "+" unless it carries a sign */
  part_str(c, &c->f[1], off, 1, buf);
  const char *s = buf;
  while (*s == ' ') s++;
  if (*s != '-' && *s != '+') sb_putn(b, "+", 1);
  sb_puts(b, s);
  sb_putn(b, "j", 1);
}

/* Separator before the k-th entry of a row of per_line entries per line. */
static void vector_sep(sbuf *b, int64_t k, int64_t per_line, int indent) {
  if (k == 0) return;
  if (k % per_line == 0) {
    sb_puts(b, ",\n");
    sb_repeat(b, ' ', indent + 1);
  } else {
    sb_puts(b, ", ");
  }
}

/* _vector_str: the last dim, wrapped so a line holds (80 - indent) / element_length entries. */
static void vector_str(sbuf *b, const pctx *c, int dim, int64_t off, int indent) {
  int64_t elen = c->f[0].max_width + 2 + (c->cplx ? c->f[1].max_width + 1 : 0);
  int64_t per_line = (LINEWIDTH - indent) / elen;
  if (per_line < 1) per_line = 1;
  int64_t n = c->t->sizes[dim], st = c->t->strides[dim], k = 0;
  bool skip = c->summarize && n > 2 * EDGEITEMS;
  sb_putn(b, "[", 1);
  for (int64_t i = 0; i < n; i++) {
    if (skip && i == EDGEITEMS) {
      vector_sep(b, k++, per_line, indent);
      sb_puts(b, " ...");
      i = n - EDGEITEMS;
    }
    vector_sep(b, k++, per_line, indent);
    put_element(b, c, off + i * st);
  }
  sb_putn(b, "]", 1);
}

/* _tensor_str_with_formatter: slices of dim `dim` joined by "," + (remaining dims - 1) newlines. */
static void tensor_str(sbuf *b, const pctx *c, int dim, int64_t off, int indent) {
  int rem = c->t->ndim - dim;
  if (rem == 0) {
    put_element(b, c, off);
    return;
  }
  if (rem == 1) {
    vector_str(b, c, dim, off, indent);
    return;
  }
  int64_t n = c->t->sizes[dim], st = c->t->strides[dim];
  bool skip = c->summarize && n > 2 * EDGEITEMS;
  sb_putn(b, "[", 1);
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) {
      sb_putn(b, ",", 1);
      sb_repeat(b, '\n', rem - 1);
      sb_repeat(b, ' ', indent + 1);
    }
    if (skip && i == EDGEITEMS) {
      sb_puts(b, "...,");
      sb_repeat(b, '\n', rem - 1);
      sb_repeat(b, ' ', indent + 1);
      i = n - EDGEITEMS;
    }
    tensor_str(b, c, dim + 1, off + i * st, indent + 1);
  }
  sb_putn(b, "]", 1);
}

/* _add_suffixes: ", suffix" on the last line, or on a new line indented to `indent` when the line
 * would pass the line width (with PyTorch's own count of the last line's length). */
static void add_suffix(sbuf *b, const char *suffix, int indent, int64_t *last_line_len) {
  int64_t n = (int64_t)strlen(suffix);
  if (*last_line_len + n + 2 > LINEWIDTH) {
    sb_puts(b, ",\n");
    sb_repeat(b, ' ', indent);
    *last_line_len = indent + n;
  } else {
    sb_puts(b, ", ");
    *last_line_len += n + 2;
  }
  sb_puts(b, suffix);
}

/* A CPU tensor with t's sizes and strides over a host copy of the part of t's device storage that
 * t spans, so device views of any strides print without a device kernel. */
static tc_tensor *host_view(const tc_tensor *t, const char *fn) {
  const tc__device_api *api = tc__device_api_for(t->storage->device, fn);
  if (!api) return NULL;
  if (tc__numel(t->sizes, t->ndim) == 0) return tc__empty(t->sizes, t->ndim, t->dtype, tc_cpu());
  int64_t lo = t->offset, hi = t->offset; /* element range [lo, hi] of the storage t reads */
  for (int i = 0; i < t->ndim; i++) {
    int64_t reach = (t->sizes[i] - 1) * t->strides[i];
    if (reach >= 0) hi += reach;
    else lo += reach;
  }
  int64_t span = hi - lo + 1;
  tc_tensor *buf = tc__empty(&span, 1, t->dtype, tc_cpu());
  if (!buf) return NULL;
  size_t es = tc_dtype_size(t->dtype);
  tc_status st = api->memcpy(buf->storage->data, (const char *)t->storage->data + lo * (int64_t)es,
                             (size_t)span * es, 1, t->storage->device.index);
  tc_tensor *v = st ? NULL : tc__view(buf, t->sizes, t->strides, t->ndim, t->offset - lo);
  tc_tensor_release(buf);
  return v;
}

char *tc_tensor_format(const tc_tensor *t) {
  const char *fn = "tc_tensor_format";
  TC__NONNULL_T(t, fn);
  tc_tensor *copy = NULL;
  if (t->storage->device.type != TC_DEVICE_CPU) {
    copy = host_view(t, fn);
    if (!copy) return NULL;
  }
  const tc_tensor *x = copy ? copy : t;
  int64_t numel = tc__numel(x->sizes, x->ndim);
  const int indent = 7; /* strlen("tensor(") */
  sbuf b = {0};
  sb_puts(&b, "tensor(");
  if (numel == 0) {
    sb_puts(&b, "[]");
  } else {
    pctx c = {.t = x,
              .data = x->storage->data,
              .es = tc_dtype_size(x->dtype),
              .summarize = numel > THRESHOLD,
              .cplx = x->dtype == TC_C64};
    bool floating = tc_dtype_is_floating(x->dtype) || c.cplx;
    formatter_init(&c, 0, floating);
    if (c.cplx) formatter_init(&c, 1, true);
    tensor_str(&b, &c, 0, x->offset, indent);
  }

  /* suffixes */
  int64_t last_line_len = 0;
  if (!b.failed) {
    const char *nl = strrchr(b.s, '\n');
    last_line_len = (int64_t)b.len - (nl ? (int64_t)(nl - b.s) : -1) + 1;
  }
  char suffix[64 + TC_MAX_DIMS * 24];
  if (t->storage->device.type != TC_DEVICE_CPU) {
    char dev[32];
    snprintf(suffix, sizeof suffix, "device='%s'", tc_device_str(t->storage->device, dev, sizeof dev));
    add_suffix(&b, suffix, indent, &last_line_len);
  }
  bool show_dtype;
  if (numel == 0) {
    if (x->ndim != 1) { /* str(tuple(shape)): "(0, 3)" */
      int n = snprintf(suffix, sizeof suffix, "size=(");
      for (int i = 0; i < x->ndim; i++)
        n += snprintf(suffix + n, sizeof suffix - (size_t)n, i ? ", %lld" : "%lld", (long long)x->sizes[i]);
      snprintf(suffix + n, sizeof suffix - (size_t)n, ")");
      add_suffix(&b, suffix, indent, &last_line_len);
    }
    show_dtype = x->dtype != TC_F32;
  } else {
    show_dtype = x->dtype != TC_F32 && x->dtype != TC_C64 && x->dtype != TC_I64 && x->dtype != TC_BOOL;
  }
  if (show_dtype) {
    snprintf(suffix, sizeof suffix, "dtype=torch.%s", tc_dtype_name(x->dtype));
    add_suffix(&b, suffix, indent, &last_line_len);
  }
  sb_putn(&b, ")", 1);

  tc_tensor_release(copy);
  if (b.failed) {
    tc__free(b.s);
    return NULL;
  }
  return b.s;
}

tc_status tc_tensor_print(const tc_tensor *t, FILE *f) {
  const char *fn = "tc_tensor_print";
  TC__NONNULL_S(t, fn);
  if (!f) return tc__error(TC_ERR_ARG, "%s: f is NULL", fn);
  char *s = tc_tensor_format(t);
  if (!s) return tc_last_status();
  size_t n = strlen(s);
  bool ok = fwrite(s, 1, n, f) == n && fputc('\n', f) != EOF;
  tc__free(s);
  if (!ok) return tc__error(TC_ERR_IO, "%s: write failed", fn);
  return TC_OK;
}
