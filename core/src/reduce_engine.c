/* core/src/reduce_engine.c — dim-list checks, reduction planning and the parallel driver shared by
 * all reductions (see reduce_impl.h for the layouts and the determinism rule).
 *
 * The driver never lets the thread count change a result: rows are reduced by one thread each
 * with a fixed chunk tree, and when a few long rows are split across threads the split follows
 * the nodes of that same tree (subtrees are computed in parallel, then joined in tree order).
 */
#include "reduce_impl.h"

/* ---- dims ----------------------------------------------------------------------------------- */

static void finish_shape(const tc_tensor *t, bool keepdim, tc__rshape *rs) {
  rs->out_ndim = 0;
  rs->onumel = 1;
  rs->rnumel = 1;
  for (int d = 0; d < t->ndim; d++) {
    if (rs->mask[d]) {
      rs->rnumel *= t->sizes[d];
      if (keepdim) rs->out_shape[rs->out_ndim++] = 1;
    } else {
      rs->onumel *= t->sizes[d];
      rs->out_shape[rs->out_ndim++] = t->sizes[d];
    }
  }
}

tc_status tc__reduce_dims(const char *fn, const tc_tensor *t, const int64_t *dims, int64_t ndims, bool keepdim,
                          tc__rshape *rs) {
  memset(rs->mask, 0, sizeof rs->mask);
  if (ndims < 0) return tc__error(TC_ERR_ARG, "%s: ndims must be >= 0, got %lld", fn, (long long)ndims);
  if (!dims || ndims == 0) {
    for (int d = 0; d < t->ndim; d++) rs->mask[d] = true;
  } else {
    if (ndims > TC_MAX_DIMS)
      return tc__error(TC_ERR_ARG, "%s: %lld dims given for a %d-d tensor", fn, (long long)ndims, t->ndim);
    bool seen0 = false; /* a 0-d tensor accepts dim 0 / -1 once */
    for (int64_t i = 0; i < ndims; i++) {
      int64_t d = dims[i];
      if (tc__wrap_dim(fn, &d, t->ndim)) return tc_last_status();
      bool *slot = t->ndim ? &rs->mask[d] : &seen0;
      if (*slot)
        return tc__error(TC_ERR_ARG, "%s: dim %lld appears multiple times in the list of dims %s", fn, (long long)d,
                         tc__shape_str(dims, (int)ndims));
      *slot = true;
    }
  }
  finish_shape(t, keepdim, rs);
  return TC_OK;
}

tc_status tc__reduce_dim1(const char *fn, const tc_tensor *t, int64_t dim, bool keepdim, tc__rshape *rs) {
  memset(rs->mask, 0, sizeof rs->mask);
  if (tc__wrap_dim(fn, &dim, t->ndim)) return tc_last_status();
  if (t->ndim) rs->mask[dim] = true;
  finish_shape(t, keepdim, rs);
  return TC_OK;
}

/* ---- dynamic parallel loop ------------------------------------------------------------------ */

typedef struct {
  atomic_llong next;
  int64_t n, block;
  tc_range_fn fn;
  void *ctx;
} dyn_ctx;

static void dyn_task(int64_t b, int64_t e, void *vctx) {
  (void)b;
  (void)e;
  dyn_ctx *d = vctx;
  for (;;) {
    int64_t s = atomic_fetch_add(&d->next, d->block);
    if (s >= d->n) break;
    d->fn(s, s + d->block < d->n ? s + d->block : d->n, d->ctx);
  }
}

void tc__dyn_for(int64_t n, int64_t block, tc_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (block < 1) block = 1;
  int nt = tc__num_threads();
  if (nt <= 1 || n <= block || tc_in_parallel_region()) {
    fn(0, n, ctx);
    return;
  }
  dyn_ctx d;
  atomic_init(&d.next, 0);
  d.n = n;
  d.block = block;
  d.fn = fn;
  d.ctx = ctx;
  int64_t nblocks = (n + block - 1) / block;
  tc_parallel_for(nblocks < nt ? nblocks : nt, 1, dyn_task, &d);
}

/* ---- plan ------------------------------------------------------------------------------------- */

typedef struct {
  const tc__rkern *k;
  const char *base;      /* input element [0, ..., 0] */
  int no;                /* output dims (coalesced, outermost first) */
  int64_t osize[TC_MAX_DIMS], ostride[TC_MAX_DIMS];
  int nr;                /* reduced dims (coalesced) */
  int64_t rsize[TC_MAX_DIMS], rstride[TC_MAX_DIMS];
  int64_t onumel, rnumel;
  const char *param;     /* NULL or onumel accumulators */
  char *out;             /* onumel accumulators */
  double g;
  /* rows */
  int64_t n, s;
  /* columns */
  int64_t ncols, nblocks;
} plan;

/* Appends (size, stride) to a dim list, merging into the previous dim when contiguous with it. */
static void push_dim(int *nd, int64_t *sizes, int64_t *strides, int64_t size, int64_t stride) {
  if (*nd > 0 && strides[*nd - 1] == stride * size) {
    sizes[*nd - 1] *= size;
    strides[*nd - 1] = stride;
    return;
  }
  sizes[*nd] = size;
  strides[*nd] = stride;
  (*nd)++;
}

static void build_plan(plan *p, const tc_tensor *t, const bool *mask) {
  p->no = p->nr = 0;
  p->onumel = p->rnumel = 1;
  for (int d = 0; d < t->ndim; d++) {
    int64_t sz = t->sizes[d];
    if (mask[d]) p->rnumel *= sz;
    else p->onumel *= sz;
    if (sz == 1) continue;
    if (mask[d]) push_dim(&p->nr, p->rsize, p->rstride, sz, t->strides[d]);
    else push_dim(&p->no, p->osize, p->ostride, sz, t->strides[d]);
  }
}

/* ---- rows ------------------------------------------------------------------------------------- */

typedef union {
  double d;
  uint64_t u;
  char c[16];
} accbuf;

static int64_t nchunks_of(int64_t n) { return n <= TC__RED_CHUNK ? 1 : (n + TC__RED_CHUNK - 1) / TC__RED_CHUNK; }

/* out = reduction of chunks [lo, hi) of the run x (n elements, stride s), halving the range. */
static void chunk_tree(const tc__rkern *k, const char *x, int64_t n, int64_t s, int64_t lo, int64_t hi,
                       const void *prm, double g, void *out) {
  if (hi - lo == 1) {
    int64_t b = lo * TC__RED_CHUNK, len = n - b < TC__RED_CHUNK ? n - b : TC__RED_CHUNK;
    k->chunk(len > 0 ? x + b * s * (int64_t)k->tsize : x, len, s, prm, g, out);
    return;
  }
  int64_t mid = lo + (hi - lo) / 2;
  accbuf tmp;
  chunk_tree(k, x, n, s, lo, mid, prm, g, out);
  chunk_tree(k, x, n, s, mid, hi, prm, g, &tmp);
  k->combine(out, &tmp);
}

static void rows_task(int64_t b, int64_t e, void *ctx) {
  const plan *p = ctx;
  size_t ts = p->k->tsize, as = p->k->asize;
  int64_t idx[TC_MAX_DIMS], off = 0, rem = b;
  for (int d = p->no - 1; d >= 0; d--) {
    idx[d] = rem % p->osize[d];
    rem /= p->osize[d];
    off += idx[d] * p->ostride[d];
  }
  int64_t nch = nchunks_of(p->n);
  if (nch == 1) {
    /* runs of one chunk: handed over in stretches along the innermost output dim */
    int64_t last = p->no - 1;
    for (int64_t o = b; o < e;) {
      int64_t cnt = last >= 0 ? p->osize[last] - idx[last] : 1, rs = last >= 0 ? p->ostride[last] : 0;
      if (cnt > e - o) cnt = e - o;
      p->k->rows(p->base + off * (int64_t)ts, cnt, rs, p->n, p->s, p->param ? p->param + o * as : NULL, p->g,
                 p->out + o * as);
      o += cnt;
      if (last < 0) break;
      idx[last] += cnt;
      off += cnt * p->ostride[last];
      for (int d = last; d > 0 && idx[d] >= p->osize[d]; d--) {
        off -= idx[d] * p->ostride[d];
        idx[d] = 0;
        idx[d - 1]++;
        off += p->ostride[d - 1];
      }
    }
    return;
  }
  for (int64_t o = b; o < e; o++) {
    chunk_tree(p->k, p->base + off * (int64_t)ts, p->n, p->s, 0, nch, p->param ? p->param + o * as : NULL, p->g,
               p->out + o * as);
    for (int d = p->no - 1; d >= 0; d--) {
      off += p->ostride[d];
      if (++idx[d] < p->osize[d]) break;
      off -= p->osize[d] * p->ostride[d];
      idx[d] = 0;
    }
  }
}

/* One long run split across threads along the nodes of its chunk tree at depth <= PAR_DEPTH. */
#define PAR_DEPTH 6
typedef struct {
  const plan *p;
  const char *x;
  const void *prm;
  int64_t iv[1 << PAR_DEPTH][2];
  accbuf vals[1 << PAR_DEPTH];
  int count;
} par_row;

static void collect(par_row *r, int64_t lo, int64_t hi, int depth) {
  if (depth == PAR_DEPTH || hi - lo == 1) {
    r->iv[r->count][0] = lo;
    r->iv[r->count][1] = hi;
    r->count++;
    return;
  }
  int64_t mid = lo + (hi - lo) / 2;
  collect(r, lo, mid, depth + 1);
  collect(r, mid, hi, depth + 1);
}

static void recombine(par_row *r, int64_t lo, int64_t hi, int depth, int *next, void *out) {
  if (depth == PAR_DEPTH || hi - lo == 1) {
    memcpy(out, &r->vals[(*next)++], r->p->k->asize);
    return;
  }
  int64_t mid = lo + (hi - lo) / 2;
  accbuf tmp;
  recombine(r, lo, mid, depth + 1, next, out);
  recombine(r, mid, hi, depth + 1, next, &tmp);
  r->p->k->combine(out, &tmp);
}

static void par_row_task(int64_t b, int64_t e, void *ctx) {
  par_row *r = ctx;
  for (int64_t i = b; i < e; i++)
    chunk_tree(r->p->k, r->x, r->p->n, r->p->s, r->iv[i][0], r->iv[i][1], r->prm, r->p->g, &r->vals[i]);
}

static void run_rows(plan *p) {
  int nt = tc__num_threads();
  int64_t nch = nchunks_of(p->n);
  if (nt > 1 && !tc_in_parallel_region() && p->onumel < 2 * nt && nch >= 4) {
    /* few long runs: each run's chunk tree is spread over the threads */
    size_t ts = p->k->tsize, as = p->k->asize;
    int64_t idx[TC_MAX_DIMS] = {0}, off = 0;
    for (int64_t o = 0; o < p->onumel; o++) {
      par_row r;
      r.p = p;
      r.x = p->base + off * (int64_t)ts;
      r.prm = p->param ? p->param + o * as : NULL;
      r.count = 0;
      collect(&r, 0, nch, 0);
      tc__dyn_for(r.count, 1, par_row_task, &r);
      int next = 0;
      recombine(&r, 0, nch, 0, &next, p->out + o * as);
      for (int d = p->no - 1; d >= 0; d--) {
        off += p->ostride[d];
        if (++idx[d] < p->osize[d]) break;
        off -= p->osize[d] * p->ostride[d];
        idx[d] = 0;
      }
    }
    return;
  }
  int64_t work = p->n > 0 ? p->n : 1;
  int64_t grain = TC__RED_GRAIN / work;
  tc__dyn_for(p->onumel, grain, rows_task, p);
}

/* ---- columns ---------------------------------------------------------------------------------- */

static void cols_task(int64_t b, int64_t e, void *ctx) {
  const plan *p = ctx;
  size_t ts = p->k->tsize, as = p->k->asize;
  int64_t cw = p->k->cols_width;
  for (int64_t t = b; t < e; t++) {
    int64_t outer = t / p->nblocks, c0 = (t % p->nblocks) * cw;
    int64_t w = p->ncols - c0 < cw ? p->ncols - c0 : cw;
    int64_t off = c0 * p->ostride[p->no - 1], rem = outer;
    for (int d = p->no - 2; d >= 0; d--) {
      off += (rem % p->osize[d]) * p->ostride[d];
      rem /= p->osize[d];
    }
    int64_t o = outer * p->ncols + c0;
    p->k->cols(p->base + off * (int64_t)ts, p->n, p->s, w, p->param ? p->param + o * as : NULL, p->g,
               p->out + o * as);
  }
}

static void run_cols(plan *p) {
  int64_t cw = p->k->cols_width;
  p->ncols = p->osize[p->no - 1];
  p->nblocks = (p->ncols + cw - 1) / cw;
  int64_t tasks = (p->onumel / p->ncols) * p->nblocks;
  int64_t grain = TC__RED_GRAIN / (p->n * cw);
  tc__dyn_for(tasks, grain, cols_task, p);
}

/* ---- driver ----------------------------------------------------------------------------------- */

tc_status tc__reduce_run(const tc__rkern *k, const tc_tensor *t, const bool *mask, const void *param, double g,
                         void *out) {
  plan p;
  build_plan(&p, t, mask);
  p.k = k;
  p.param = param;
  p.out = out;
  p.g = g;
  if (p.onumel == 0) return TC_OK;
  size_t as = k->asize;
  if (p.rnumel == 0) { /* the identity for every output */
    for (int64_t o = 0; o < p.onumel; o++)
      k->chunk(NULL, 0, 1, param ? (const char *)param + o * as : NULL, g, (char *)out + o * as);
    return TC_OK;
  }
  p.base = tc__ptr(t);
  if (p.nr <= 1) {
    p.n = p.rnumel;
    p.s = p.nr ? p.rstride[0] : 1;
    if (p.nr == 1 && p.s != 1 && p.no >= 1 && p.ostride[p.no - 1] == 1) run_cols(&p);
    else run_rows(&p);
    return TC_OK;
  }
  /* several reduced dims that do not merge: copy to a contiguous [O..., R...] layout first */
  int64_t sizes[TC_MAX_DIMS], strides[TC_MAX_DIMS];
  int nd = 0;
  for (int d = 0; d < p.no; d++, nd++) sizes[nd] = p.osize[d], strides[nd] = p.ostride[d];
  for (int d = 0; d < p.nr; d++, nd++) sizes[nd] = p.rsize[d], strides[nd] = p.rstride[d];
  tc_tensor *v = tc__view(t, sizes, strides, nd, t->offset);
  if (!v) return tc_last_status();
  tc_tensor *c = tc__to_dtype_contig(v, t->dtype);
  tc_tensor_release(v);
  if (!c) return tc_last_status();
  p.base = tc__ptr(c);
  p.no = 1;
  p.osize[0] = p.onumel;
  p.ostride[0] = p.rnumel;
  p.n = p.rnumel;
  p.s = 1;
  run_rows(&p);
  tc_tensor_release(c);
  return TC_OK;
}
