/* core/src/nn/conv_kernels.h — convolution kernels for one element type (a template).
 *
 * conv.c includes this file twice: with CT = float, CSUF = f32, CGEMM = cblas_sgemm, and with
 * CT = double, CSUF = f64, CGEMM = cblas_dgemm. Every function gets the suffix (im2col_f32, ...).
 * All arrays are contiguous; shapes are noted per function. Geometry is a tc__conv_geom (conv1d
 * runs here with H = 1). Nothing in here allocates or fails.
 */
#define CK_CAT2(a, b) a##_##b
#define CK_CAT(a, b) CK_CAT2(a, b)
#define CKF(name) CK_CAT(name, CSUF)

/* Row-major C(m, n) = alpha * op(A) op(B) + beta * C on one thread. */
static inline void CKF(gemm)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const CT *a, int64_t lda,
                             const CT *b, int64_t ldb, CT beta, CT *c, int64_t ldc) {
  CGEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
        (CT)1, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Short unit-stride runs (a row of a small image: often 8-32 elements). Written in blocks of 8
 * so each block is one vector operation; a plain loop would leave runs shorter than the widest
 * vector to the scalar remainder loop. */
static inline void CKF(copy_run)(CT *restrict d, const CT *restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) d[i + j] = s[i + j];
  for (; i < n; i++) d[i] = s[i];
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

/* col(CK, (oh_b - oh_a)*OW), rows ld apart, from one sample's group input x(Cg, H, W), for the
 * output rows [oh_a, oh_b): col[(c, kh, kw)][(oh - oh_a, ow)] = x[c][oh*sh - pt + kh*dh][ow*sw -
 * pl + kw*dw], or 0 in the padding. rg holds the valid
 * output ranges per kernel tap (conv_ranges), so the loops do no division; the copies are short
 * runs (OW elements) written as loops rather than memcpy calls. */
CONV_NO_MEMCPY_PATTERN static void CKF(im2col)(const tc__conv_geom *g, const conv_ranges *rg, const CT *restrict x,
                                               CT *restrict col, int64_t ld, int64_t oh_a, int64_t oh_b) {
  const int64_t H = g->H, W = g->W, OW = g->OW, KH = g->KH, KW = g->KW, sh = g->sh, sw = g->sw;
  const int64_t nrow = oh_b - oh_a; /* output rows of this tile: col column (oh - oh_a)*OW + ow */
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < KH; kh++) {
      const int64_t oh0 = conv_clamp(rg->oh0[kh], oh_a, oh_b) - oh_a, oh1 = conv_clamp(rg->oh1[kh], oh_a, oh_b) - oh_a;
      for (int64_t kw = 0; kw < KW; kw++) {
        CT *restrict row = col + ((c * KH + kh) * KW + kw) * ld;
        const int64_t ow0 = rg->ow0[kw], ow1 = rg->ow1[kw], n = ow1 - ow0;
        for (int64_t i = 0; i < oh0 * OW; i++) row[i] = 0;
        if (oh1 > oh0) {
          CT *restrict d = row + oh0 * OW;
          /* input element read by output (oh0, ow0) */
          const CT *restrict s = x + (c * H + (oh_a + oh0) * sh + kh * g->dh - g->pt) * W + ow0 * sw + kw * g->dw - g->pl;
          if (sw == 1 && n == OW) { /* the tap reads whole output rows: plain runs */
            for (int64_t oh = oh0; oh < oh1; oh++, d += OW, s += sh * W) CKF(copy_run)(d, s, OW);
          } else {
            for (int64_t oh = oh0; oh < oh1; oh++, d += OW, s += sh * W) {
              for (int64_t ow = 0; ow < ow0; ow++) d[ow] = 0;
              if (sw == 1)
                CKF(copy_run)(d + ow0, s, n);
              else
                for (int64_t i = 0; i < n; i++) d[ow0 + i] = s[i * sw];
              for (int64_t ow = ow1; ow < OW; ow++) d[ow] = 0;
            }
          }
        }
        for (int64_t i = oh1 * OW; i < nrow * OW; i++) row[i] = 0;
      }
    }
}

/* The adjoint of im2col: gx(Cg, H, W) += scatter of col(CK, (oh_b - oh_a)*OW). Tap by tap, so consecutive
 * updates go to different rows of gx (no load waits on the store just before it). */
static void CKF(col2im)(const tc__conv_geom *g, const conv_ranges *rg, const CT *restrict col, int64_t ld,
                        CT *restrict gx, int64_t oh_a, int64_t oh_b) {
  const int64_t H = g->H, W = g->W, OW = g->OW, KH = g->KH, KW = g->KW, sw = g->sw;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < KH; kh++) {
      const int64_t oh0 = conv_clamp(rg->oh0[kh], oh_a, oh_b), oh1 = conv_clamp(rg->oh1[kh], oh_a, oh_b);
      for (int64_t kw = 0; kw < KW; kw++) {
        const CT *restrict row = col + ((c * KH + kh) * KW + kw) * ld;
        const int64_t ow0 = rg->ow0[kw], n = rg->ow1[kw] - ow0, iw0 = ow0 * sw + kw * g->dw - g->pl;
        for (int64_t oh = oh0; oh < oh1; oh++) {
          CT *restrict d = gx + (c * H + oh * g->sh + kh * g->dh - g->pt) * W + iw0;
          const CT *restrict s = row + (oh - oh_a) * OW + ow0;
          if (sw == 1)
            CKF(add_run)(d, s, n);
          else
            for (int64_t i = 0; i < n; i++) d[i * sw] += s[i];
        }
      }
    }
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

/* ---- direct kernels for Cg == 1 (depthwise, and single-input-channel convolutions) ------------
 * Output channel o reads only input channel o / OCg: a (KH*KW)-tap stencil per plane. */

/* y(OH, OW) = bias + sum_k w[k] * shifted x(H, W) for one (sample, output channel). Tap by tap
 * over the whole plane (planes are small enough to stay in cache), each tap a run of AXPYs over
 * the output rows it reaches. */
static void CKF(direct_fwd_plane)(const tc__conv_geom *g, const conv_ranges *rg, const CT *restrict x,
                                  const CT *restrict w, CT bias, CT *restrict y) {
  const int64_t W = g->W, OW = g->OW, sw = g->sw;
  for (int64_t i = 0; i < g->OH * OW; i++) y[i] = bias;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    const int64_t oh0 = rg->oh0[kh], oh1 = rg->oh1[kh];
    for (int64_t kw = 0; kw < g->KW; kw++) {
      const int64_t ow0 = rg->ow0[kw], n = rg->ow1[kw] - ow0, iw0 = ow0 * sw + kw * g->dw - g->pl;
      const CT wv = w[kh * g->KW + kw];
      for (int64_t oh = oh0; oh < oh1; oh++) {
        CT *restrict d = y + oh * OW + ow0;
        const CT *restrict s = x + (oh * g->sh + kh * g->dh - g->pt) * W + iw0;
        if (sw == 1)
          CKF(axpy_run)(d, wv, s, n);
        else
          for (int64_t i = 0; i < n; i++) d[i] += wv * s[i * sw];
      }
    }
  }
}

/* gx(H, W) += the transposed stencil of gy(OH, OW) with kernel w(KH, KW). */
static void CKF(direct_bwd_x_plane)(const tc__conv_geom *g, const conv_ranges *rg, const CT *restrict gy,
                                    const CT *restrict w, CT *restrict gx) {
  const int64_t W = g->W, OW = g->OW, sw = g->sw;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    const int64_t oh0 = rg->oh0[kh], oh1 = rg->oh1[kh];
    for (int64_t kw = 0; kw < g->KW; kw++) {
      const int64_t ow0 = rg->ow0[kw], n = rg->ow1[kw] - ow0, iw0 = ow0 * sw + kw * g->dw - g->pl;
      const CT wv = w[kh * g->KW + kw];
      for (int64_t oh = oh0; oh < oh1; oh++) {
        const CT *restrict s = gy + oh * OW + ow0;
        CT *restrict d = gx + (oh * g->sh + kh * g->dh - g->pt) * W + iw0;
        if (sw == 1)
          CKF(axpy_run)(d, wv, s, n);
        else
          for (int64_t i = 0; i < n; i++) d[i * sw] += wv * s[i];
      }
    }
  }
}

/* gw(KH, KW) += correlation of gy(OH, OW) with x(H, W) (one sample, one output channel). */
static void CKF(direct_bwd_w_plane)(const tc__conv_geom *g, const conv_ranges *rg, const CT *restrict gy,
                                    const CT *restrict x, CT *restrict gw) {
  const int64_t W = g->W, OW = g->OW;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    const int64_t oh0 = rg->oh0[kh], oh1 = rg->oh1[kh];
    for (int64_t kw = 0; kw < g->KW; kw++) {
      const int64_t ow0 = rg->ow0[kw], n = rg->ow1[kw] - ow0, iw0 = ow0 * g->sw + kw * g->dw - g->pl;
      CT acc = 0;
      for (int64_t oh = oh0; oh < oh1; oh++) {
        const CT *s = x + (oh * g->sh + kh * g->dh - g->pt) * W + iw0;
        acc += CKF(dot)(gy + oh * OW + ow0, s, g->sw, n);
      }
      gw[kh * g->KW + kw] += acc;
    }
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
