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

/* col(CK, OH*OW), rows ld apart, from one sample's group input x(Cg, H, W): col[(c, kh, kw)][(oh,
 * ow)] = x[c][oh*sh - pt + kh*dh][ow*sw - pl + kw*dw], or 0 in the padding. */
static void CKF(im2col)(const tc__conv_geom *g, const CT *restrict x, CT *restrict col, int64_t ld) {
  const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < g->KH; kh++) {
      int64_t oh0, oh1;
      conv_valid_range(kh * g->dh - g->pt, g->sh, H, OH, &oh0, &oh1);
      for (int64_t kw = 0; kw < g->KW; kw++) {
        CT *row = col + ((c * g->KH + kh) * g->KW + kw) * ld;
        int64_t xo = kw * g->dw - g->pl, ow0, ow1;
        conv_valid_range(xo, g->sw, W, OW, &ow0, &ow1);
        if (oh0 > 0) memset(row, 0, (size_t)(oh0 * OW) * sizeof(CT));
        for (int64_t oh = oh0; oh < oh1; oh++) {
          CT *restrict d = row + oh * OW;
          const CT *restrict s = x + (c * H + oh * g->sh + kh * g->dh - g->pt) * W + xo;
          for (int64_t ow = 0; ow < ow0; ow++) d[ow] = 0;
          if (g->sw == 1) {
            if (ow1 > ow0) memcpy(d + ow0, s + ow0, (size_t)(ow1 - ow0) * sizeof(CT));
          } else {
            for (int64_t ow = ow0; ow < ow1; ow++) d[ow] = s[ow * g->sw];
          }
          for (int64_t ow = ow1; ow < OW; ow++) d[ow] = 0;
        }
        if (oh1 < OH) memset(row + oh1 * OW, 0, (size_t)((OH - oh1) * OW) * sizeof(CT));
      }
    }
}

/* The adjoint of im2col: gx(Cg, H, W) += scatter of col(CK, OH*OW). */
static void CKF(col2im)(const tc__conv_geom *g, const CT *restrict col, int64_t ld, CT *restrict gx) {
  const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t kh = 0; kh < g->KH; kh++) {
      int64_t oh0, oh1;
      conv_valid_range(kh * g->dh - g->pt, g->sh, H, OH, &oh0, &oh1);
      for (int64_t kw = 0; kw < g->KW; kw++) {
        const CT *row = col + ((c * g->KH + kh) * g->KW + kw) * ld;
        int64_t xo = kw * g->dw - g->pl, ow0, ow1;
        conv_valid_range(xo, g->sw, W, OW, &ow0, &ow1);
        for (int64_t oh = oh0; oh < oh1; oh++) {
          const CT *restrict s = row + oh * OW;
          CT *restrict d = gx + (c * H + oh * g->sh + kh * g->dh - g->pt) * W + xo;
          if (g->sw == 1) {
            for (int64_t ow = ow0; ow < ow1; ow++) d[ow] += s[ow];
          } else {
            for (int64_t ow = ow0; ow < ow1; ow++) d[ow * g->sw] += s[ow];
          }
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

/* y(OH, OW) = bias + sum_k w[k] * shifted x(H, W) for one (sample, output channel). */
static void CKF(direct_fwd_plane)(const tc__conv_geom *g, const CT *restrict x, const CT *restrict w, CT bias,
                                  CT *restrict y) {
  const int64_t W = g->W, OH = g->OH, OW = g->OW;
  for (int64_t oh = 0; oh < OH; oh++) {
    CT *restrict d = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ow++) d[ow] = bias;
    for (int64_t kh = 0; kh < g->KH; kh++) {
      int64_t ih = oh * g->sh + kh * g->dh - g->pt;
      if (ih < 0 || ih >= g->H) continue;
      for (int64_t kw = 0; kw < g->KW; kw++) {
        int64_t xo = kw * g->dw - g->pl, ow0, ow1;
        conv_valid_range(xo, g->sw, W, OW, &ow0, &ow1);
        const CT *restrict s = x + ih * W + xo;
        const CT wv = w[kh * g->KW + kw];
        if (g->sw == 1)
          for (int64_t ow = ow0; ow < ow1; ow++) d[ow] += wv * s[ow];
        else
          for (int64_t ow = ow0; ow < ow1; ow++) d[ow] += wv * s[ow * g->sw];
      }
    }
  }
}

/* gx(H, W) += the transposed stencil of gy(OH, OW) with kernel w(KH, KW). */
static void CKF(direct_bwd_x_plane)(const tc__conv_geom *g, const CT *restrict gy, const CT *restrict w,
                                    CT *restrict gx) {
  const int64_t W = g->W, OH = g->OH, OW = g->OW;
  for (int64_t oh = 0; oh < OH; oh++) {
    const CT *restrict s = gy + oh * OW;
    for (int64_t kh = 0; kh < g->KH; kh++) {
      int64_t ih = oh * g->sh + kh * g->dh - g->pt;
      if (ih < 0 || ih >= g->H) continue;
      for (int64_t kw = 0; kw < g->KW; kw++) {
        int64_t xo = kw * g->dw - g->pl, ow0, ow1;
        conv_valid_range(xo, g->sw, W, OW, &ow0, &ow1);
        CT *restrict d = gx + ih * W + xo;
        const CT wv = w[kh * g->KW + kw];
        if (g->sw == 1)
          for (int64_t ow = ow0; ow < ow1; ow++) d[ow] += wv * s[ow];
        else
          for (int64_t ow = ow0; ow < ow1; ow++) d[ow * g->sw] += wv * s[ow];
      }
    }
  }
}

/* gw(KH, KW) += correlation of gy(OH, OW) with x(H, W) (one sample, one output channel). */
static void CKF(direct_bwd_w_plane)(const tc__conv_geom *g, const CT *restrict gy, const CT *restrict x,
                                    CT *restrict gw) {
  const int64_t W = g->W, OW = g->OW;
  for (int64_t kh = 0; kh < g->KH; kh++) {
    int64_t oh0, oh1;
    conv_valid_range(kh * g->dh - g->pt, g->sh, g->H, g->OH, &oh0, &oh1);
    for (int64_t kw = 0; kw < g->KW; kw++) {
      int64_t xo = kw * g->dw - g->pl, ow0, ow1;
      conv_valid_range(xo, g->sw, W, OW, &ow0, &ow1);
      CT acc = 0;
      for (int64_t oh = oh0; oh < oh1; oh++) {
        const CT *s = x + (oh * g->sh + kh * g->dh - g->pt) * W + xo + ow0 * g->sw;
        acc += CKF(dot)(gy + oh * OW + ow0, s, g->sw, ow1 - ow0);
      }
      gw[kh * g->KW + kw] += acc;
    }
  }
}

/* Sum of each of n rows of length len (row r at a + r*ld) into out[r] += ... */
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
