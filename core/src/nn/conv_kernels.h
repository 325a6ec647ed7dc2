/* core/src/nn/conv_kernels.h — convolution kernels for one element type (a template).
 *
 * conv.c includes this file twice: with CT = float, CSUF = f32, and with CT = double, CSUF = f64.
 * Every function gets the suffix (im2col_f32, ...).
 * All arrays are contiguous; shapes are noted per function. Geometry is a tc__conv_geom (conv1d
 * runs here with H = 1). Nothing in here allocates or fails.
 */
#define CK_CAT2(a, b) a##_##b
#define CK_CAT(a, b) CK_CAT2(a, b)
#define CKF(name) CK_CAT(name, CSUF)

/* Row-major C(m, n) = op(A) op(B) + beta * C through linalg.c's product: one BLAS call inside a
 * pool task; tiled over the pool when a task runs on the calling thread outside a parallel region
 * (conv.c's run_tasks does that when there are fewer tasks than threads). Both ways pick the same
 * BLAS routine for the shape (gemv for a single row or column, which rounds unlike gemm), so results
 * do not depend on the thread count. */
static inline void CKF(gemm)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const CT *a, int64_t lda,
                             const CT *b, int64_t ldb, CT beta, CT *c, int64_t ldc) {
  tc__gemm_rm(sizeof(CT) == 4 ? TC_F32 : TC_F64, ta, tb, m, n, k, a, lda, b, ldb, (double)beta, c, ldc);
}

/* Short unit-stride runs (a row of a small image: often 8-32 elements). Written in blocks of 8
 * so each block is one vector operation; a plain loop would leave runs shorter than the widest
 * vector to the scalar remainder loop. */
static inline void CKF(copy_run)(CT *restrict d, const CT *restrict s, int64_t n) {
  if (n < 8) {
    for (int64_t i = 0; i < n; i++) d[i] = s[i];
    return;
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) d[i + j] = s[i + j];
  if (i < n) /* the last 8, overlapping the ones already copied */
    for (int j = 0; j < 8; j++) d[n - 8 + j] = s[n - 8 + j];
}

static inline void CKF(add_run)(CT *restrict d, const CT *restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) d[i + j] += s[i + j];
  for (; i < n; i++) d[i] += s[i];
}

static inline void CKF(axpy_run)(CT *restrict d, CT a, const CT *restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) d[i + j] += a * s[i + j];
  for (; i < n; i++) d[i] += a * s[i];
}

/* Whether g has any zero padding (im2col then reads a padded copy of the rows it needs). */
static inline bool CKF(padded)(const tc__conv_geom *g) { return (g->pt | g->pb | g->pl | g->pr) != 0; }

/* col(CK, (oh_b - oh_a)*OW), rows ld apart, from one sample's group input x(Cg, H, W), for the
 * output rows [oh_a, oh_b): col[(c, kh, kw)][(oh - oh_a, ow)] = xp[c][oh*sh + kh*dh][ow*sw + kw*dw]
 * where xp is x with its zero padding. With padding, the input rows the tile reads are first
 * copied, padded, into xp (Cg planes of nr = (oh_b-oh_a-1)*sh + (KH-1)*dh + 1 rows of W + pl + pr);
 * then every column row is OH runs of OW elements with no bounds checks. The runs are short and
 * written as loops, not memcpy calls. */
CONV_NO_MEMCPY_PATTERN static void CKF(im2col)(const tc__conv_geom *g, const CT *restrict x, CT *restrict xp,
                                               CT *restrict col, int64_t ld, int64_t oh_a, int64_t oh_b) {
  const int64_t H = g->H, W = g->W, OW = g->OW, KH = g->KH, KW = g->KW, sh = g->sh, sw = g->sw;
  const int64_t Wp = W + g->pl + g->pr, r0 = oh_a * sh, r1 = (oh_b - 1) * sh + (KH - 1) * g->dh + 1;
  const CT *src = x;
  int64_t plane_rows = H, row0 = 0; /* src is Cg planes of plane_rows rows, starting at padded row row0 */
  if (CKF(padded)(g)) {
    const int64_t nr = r1 - r0;
    for (int64_t c = 0; c < g->Cg; c++)
      for (int64_t r = r0; r < r1; r++) {
        CT *restrict d = xp + (c * nr + r - r0) * Wp;
        int64_t ih = r - g->pt;
        if (ih < 0 || ih >= H) {
          for (int64_t i = 0; i < Wp; i++) d[i] = 0;
          continue;
        }
        for (int64_t i = 0; i < g->pl; i++) d[i] = 0;
        CKF(copy_run)(d + g->pl, x + (c * H + ih) * W, W);
        for (int64_t i = g->pl + W; i < Wp; i++) d[i] = 0;
      }
    src = xp;
    plane_rows = nr;
    row0 = r0;
  }
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < KH; kh++)
      for (int64_t kw = 0; kw < KW; kw++) {
        CT *restrict d = col + ((c * KH + kh) * KW + kw) * ld;
        const CT *restrict s = src + (c * plane_rows + oh_a * sh + kh * g->dh - row0) * Wp + kw * g->dw;
        for (int64_t oh = oh_a; oh < oh_b; oh++, d += OW, s += sh * Wp) {
          if (sw == 1)
            CKF(copy_run)(d, s, OW);
          else
            for (int64_t i = 0; i < OW; i++) d[i] = s[i * sw];
        }
      }
}

/* The adjoint of im2col for output rows [oh_a, oh_b): gxp += scatter of col(CK, (oh_b-oh_a)*OW),
 * where gxp is the padded gradient plane (Cg, H + pt + pb, W + pl + pr) (gx itself when there is
 * no padding). Tap by tap, so consecutive updates go to different rows (no load waits on the
 * store just before it). */
static void CKF(col2im)(const tc__conv_geom *g, const CT *restrict col, int64_t ld, CT *restrict gxp, int64_t oh_a,
                        int64_t oh_b) {
  const int64_t OW = g->OW, KH = g->KH, KW = g->KW, sh = g->sh, sw = g->sw;
  const int64_t Wp = g->W + g->pl + g->pr, Hp = g->H + g->pt + g->pb;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < KH; kh++)
      for (int64_t kw = 0; kw < KW; kw++) {
        const CT *restrict s = col + ((c * KH + kh) * KW + kw) * ld;
        CT *restrict d = gxp + (c * Hp + oh_a * sh + kh * g->dh) * Wp + kw * g->dw;
        for (int64_t oh = oh_a; oh < oh_b; oh++, s += OW, d += sh * Wp) {
          if (sw == 1)
            CKF(add_run)(d, s, OW);
          else
            for (int64_t i = 0; i < OW; i++) d[i * sw] += s[i];
        }
      }
}

/* gx(Cg, H, W) = the interior of the padded gradient planes gxp(Cg, Hp, Wp). */
CONV_NO_MEMCPY_PATTERN static void CKF(unpad_planes)(const tc__conv_geom *g, const CT *restrict gxp, CT *restrict gx) {
  const int64_t Wp = g->W + g->pl + g->pr, Hp = g->H + g->pt + g->pb;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t h = 0; h < g->H; h++)
      CKF(copy_run)(gx + (c * g->H + h) * g->W, gxp + (c * Hp + g->pt + h) * Wp + g->pl, g->W);
}

/* dot(a[0..n), b[0..n) with stride sb), with independent partial sums so it vectorises. */
static inline CT CKF(dot)(const CT *restrict a, const CT *restrict b, int64_t sb, int64_t n) {
  CT acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  if (sb == 1) {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
  }
  CT s = 0;
  for (; i < n; i++) s += a[i] * b[i * sb];
  return s + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
}

/* ---- direct kernels for Cg == 1 (depthwise) ---------------------------------------------------
 * Output channel o reads only input channel o / OCg: a (KH*KW)-tap stencil per plane. The input
 * plane is first copied into a zero-padded plane xp (Hp = H + pt + pb rows of Wp = W + pl + pr),
 * so the stencil needs no bounds checks: y[oh][ow] = sum w[kh][kw] xp[oh*sh + kh*dh][ow*sw + kw*dw]. */

/* xp(Hp, Wp) = x(H, W) surrounded by the zero padding. */
CONV_NO_MEMCPY_PATTERN static void CKF(pad_plane)(const tc__conv_geom *g, const CT *restrict x, CT *restrict xp) {
  const int64_t Wp = g->W + g->pl + g->pr, Hp = g->H + g->pt + g->pb;
  for (int64_t i = 0; i < g->pt * Wp; i++) xp[i] = 0;
  for (int64_t h = 0; h < g->H; h++) {
    CT *restrict d = xp + (g->pt + h) * Wp;
    for (int64_t i = 0; i < g->pl; i++) d[i] = 0;
    CKF(copy_run)(d + g->pl, x + h * g->W, g->W);
    for (int64_t i = g->pl + g->W; i < Wp; i++) d[i] = 0;
  }
  for (int64_t i = (g->pt + g->H) * Wp; i < Hp * Wp; i++) xp[i] = 0;
}

/* y(OH, OW) = bias (or y itself when accumulate) + stencil of the padded plane xp. Eight outputs
 * at a time accumulate in one vector register across all taps (GCC vector extension), so y is
 * written once. */
CONV_FMA static void CKF(direct_fwd_plane)(const tc__conv_geom *g, const CT *restrict xp, const CT *restrict w,
                                           CT bias, bool accumulate, CT *restrict y) {
  typedef CT vec8 __attribute__((vector_size(8 * sizeof(CT))));
  const int64_t Wp = g->W + g->pl + g->pr, OW = g->OW, KH = g->KH, KW = g->KW, sw = g->sw, dw = g->dw;
  const int64_t rstep = g->dh * Wp;
  for (int64_t oh = 0; oh < g->OH; oh++) {
    const CT *restrict base = xp + oh * g->sh * Wp;
    CT *restrict d = y + oh * OW;
    int64_t ow = 0;
    if (sw == 1) {
      for (; ow + 8 <= OW; ow += 8) {
        vec8 acc = {bias, bias, bias, bias, bias, bias, bias, bias};
        if (accumulate) memcpy(&acc, d + ow, sizeof acc);
        for (int64_t kh = 0; kh < KH; kh++) {
          const CT *restrict srow = base + kh * rstep + ow;
          const CT *restrict wr = w + kh * KW;
          for (int64_t kw = 0; kw < KW; kw++) {
            vec8 v;
            memcpy(&v, srow + kw * dw, sizeof v);
            acc += wr[kw] * v;
          }
        }
        memcpy(d + ow, &acc, sizeof acc);
      }
    }
    for (; ow < OW; ow++) {
      CT acc = accumulate ? d[ow] : bias;
      for (int64_t kh = 0; kh < KH; kh++) {
        const CT *restrict srow = base + kh * rstep + ow * sw;
        for (int64_t kw = 0; kw < KW; kw++) acc += w[kh * KW + kw] * srow[kw * dw];
      }
      d[ow] = acc;
    }
  }
}

/* gxp(Hp, Wp) += the transposed stencil of gy(OH, OW) with kernel w(KH, KW): tap by tap, so that
 * consecutive updates go to different rows. */
CONV_FMA static void CKF(direct_bwd_x_plane)(const tc__conv_geom *g, const CT *restrict gy, const CT *restrict w,
                                    CT *restrict gxp) {
  const int64_t Wp = g->W + g->pl + g->pr, OW = g->OW, sw = g->sw;
  for (int64_t kh = 0; kh < g->KH; kh++)
    for (int64_t kw = 0; kw < g->KW; kw++) {
      const CT wv = w[kh * g->KW + kw];
      for (int64_t oh = 0; oh < g->OH; oh++) {
        const CT *restrict s = gy + oh * OW;
        CT *restrict d = gxp + (oh * g->sh + kh * g->dh) * Wp + kw * g->dw;
        if (sw == 1)
          CKF(axpy_run)(d, wv, s, OW);
        else
          for (int64_t i = 0; i < OW; i++) d[i * sw] += wv * s[i];
      }
    }
}

/* gw(KH, KW) += correlation of gy(OH, OW) with the padded plane xp (one sample, one channel).
 * For stride 1 and up to 32 taps, eight output columns at a time are multiplied into one vector
 * accumulator per tap; otherwise one dot product per tap and row. */
CONV_FMA static void CKF(direct_bwd_w_plane)(const tc__conv_geom *g, const CT *restrict gy, const CT *restrict xp,
                                             CT *restrict gw) {
  typedef CT vec8 __attribute__((vector_size(8 * sizeof(CT))));
  const int64_t Wp = g->W + g->pl + g->pr, OW = g->OW, KH = g->KH, KW = g->KW, dw = g->dw;
  const int64_t KK = KH * KW;
  int64_t ow_vec = 0; /* columns [0, ow_vec) done by the vector loop */
  if (g->sw == 1 && KK <= 32 && OW >= 8) {
    vec8 acc[32];
    memset(acc, 0, sizeof acc);
    ow_vec = OW / 8 * 8;
    for (int64_t oh = 0; oh < g->OH; oh++) {
      const CT *restrict base = xp + oh * g->sh * Wp;
      for (int64_t ow = 0; ow < ow_vec; ow += 8) {
        vec8 gv;
        memcpy(&gv, gy + oh * OW + ow, sizeof gv);
        for (int64_t kh = 0; kh < KH; kh++)
          for (int64_t kw = 0; kw < KW; kw++) {
            vec8 v;
            memcpy(&v, base + kh * g->dh * Wp + kw * dw + ow, sizeof v);
            acc[kh * KW + kw] += gv * v;
          }
      }
    }
    for (int64_t k = 0; k < KK; k++) {
      CT t = 0;
      for (int j = 0; j < 8; j++) t += acc[k][j];
      gw[k] += t;
    }
  }
  if (ow_vec == OW) return;
  for (int64_t kh = 0; kh < KH; kh++)
    for (int64_t kw = 0; kw < KW; kw++) {
      CT acc = 0;
      for (int64_t oh = 0; oh < g->OH; oh++)
        acc += CKF(dot)(gy + oh * OW + ow_vec, xp + (oh * g->sh + kh * g->dh) * Wp + kw * dw + ow_vec * g->sw, g->sw,
                        OW - ow_vec);
      gw[kh * KW + kw] += acc;
    }
}

/* For stride 1, grad_x is itself a stencil: gx[ih][iw] = sum w[kh][kw] gy[ih + pt - kh*dh][iw + pl -
 * kw*dw], i.e. the flipped kernel over gy padded to (H + dh*(KH-1), W + dw*(KW-1)). The geometry
 * of that stencil (no padding, output H x W): */
static inline tc__conv_geom CKF(transposed_geom)(const tc__conv_geom *g) {
  tc__conv_geom t = *g;
  t.H = g->H + g->dh * (g->KH - 1);
  t.W = g->W + g->dw * (g->KW - 1);
  t.pt = t.pb = t.pl = t.pr = 0;
  t.OH = g->H;
  t.OW = g->W;
  return t;
}

/* gyp(t.H, t.W) = gy(OH, OW) placed at row offset dh*(KH-1) - pt and column offset dw*(KW-1) - pl
 * (either may be negative: those gy rows are never read), zeros elsewhere. */
CONV_NO_MEMCPY_PATTERN static void CKF(pad_grad_plane)(const tc__conv_geom *g, const tc__conv_geom *t,
                                                       const CT *restrict gy, CT *restrict gyp) {
  const int64_t ro = g->dh * (g->KH - 1) - g->pt, co = g->dw * (g->KW - 1) - g->pl;
  const int64_t c0 = co > 0 ? co : 0, src0 = co > 0 ? 0 : -co; /* first written column, first gy column */
  int64_t n = g->OW - src0;
  if (n > t->W - c0) n = t->W - c0;
  if (n < 0) n = 0;
  for (int64_t r = 0; r < t->H; r++) {
    CT *restrict d = gyp + r * t->W;
    int64_t oh = r - ro;
    if (oh < 0 || oh >= g->OH || n == 0) {
      for (int64_t i = 0; i < t->W; i++) d[i] = 0;
      continue;
    }
    for (int64_t i = 0; i < c0; i++) d[i] = 0;
    CKF(copy_run)(d + c0, gy + oh * g->OW + src0, n);
    for (int64_t i = c0 + n; i < t->W; i++) d[i] = 0;
  }
}

/* Sum of a[0..len), with independent partial sums so it vectorises. */
static CT CKF(row_sum)(const CT *restrict a, int64_t len) {
  CT acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= len; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += a[i + j];
  CT s = 0;
  for (; i < len; i++) s += a[i];
  for (int j = 0; j < 16; j++) s += acc[j];
  return s;
}

#undef CKF
#undef CK_CAT
#undef CK_CAT2
