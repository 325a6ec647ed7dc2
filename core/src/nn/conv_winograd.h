/* core/src/nn/conv_winograd.h — Winograd F(2x2, 3x3) convolution for one element type (a template).
 *
 * Included by conv.c with CT / CSUF, after conv_kernels.h. For 3x3 kernels with stride and
 * dilation 1, each 2x2 output tile is computed from a 4x4 input tile d with 16 multiplications
 * per (input, output) channel pair instead of 36 (Lavin & Gray, 2016):
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A,   summed over input channels,
 * and the sum over channels of the 16 elementwise products is 16 GEMMs:
 *   M[xi] (OCg, T) = U[xi] (OCg, Cg) x V[xi] (Cg, T)     U = G g G^T per (oc, c), V = B^T d B per (c, tile).
 * A unit is one sample and a block of tile rows (T = rows * TW tiles), sized so V and M stay in L2.
 * The input transform runs row by row over even/odd (de-interleaved) copies of the padded input
 * rows, so its loops are contiguous and vectorise; the output transform likewise per tile row.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 */
#define CW_CAT2(a, b) a##_##b
#define CW_CAT(a, b) CW_CAT2(a, b)
#define CWF(name) CW_CAT(name, CSUF)

/* U[gi][xi][o][i] (per group a (16, OUTg, INg) block) = G k G^T for every kernel k of the
 * convolution with OUTg output and INg input channels per group. transposed: the kernels of the
 * grad_x convolution, k'[o = c][i = oc] = w[gi*INg + oc][c] rotated by 180 degrees (w is then the
 * forward weight (G*INg, OUTg, 3, 3)). */
typedef struct {
  int64_t OUTg, INg;
  const CT *w;
  bool transposed;
  CT *U;
} CWF(wino_weights_job);

/* u = t G^T for one row a of t, over n input channels at once (t0..t2: the row's columns) */
static inline void CWF(wino_weights_row)(const CT *restrict t0, const CT *restrict t1, const CT *restrict t2,
                                         CT *restrict u0, CT *restrict u1, CT *restrict u2, CT *restrict u3, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    u0[i] = t0[i];
    u1[i] = (CT)0.5 * (t0[i] + t1[i] + t2[i]);
    u2[i] = (CT)0.5 * (t0[i] - t1[i] + t2[i]);
    u3[i] = t2[i];
  }
}

/* Input channels handled together by wino_weights_task (its stack buffers). */
#define CW_CHUNK 64

/* kernels of the output channels [q0, q1) (q = gi * OUTg + o), CW_CHUNK input channels at a time
 * so that every step is a loop over channels: gather the 9 taps, t = G k, then the rows of U */
static void CWF(wino_weights_task)(int64_t q0, int64_t q1, void *vj) {
  const CWF(wino_weights_job) *j = vj;
  const int64_t OUTg = j->OUTg, INg = j->INg;
  const CT *restrict w = j->w;
  CT *restrict U = j->U;
  const bool transposed = j->transposed;
  CT kt[9][CW_CHUNK], tt[4][3][CW_CHUNK];
  for (int64_t q = q0; q < q1; q++) {
    const int64_t gi = q / OUTg, o = q % OUTg;
    for (int64_t i0 = 0; i0 < INg; i0 += CW_CHUNK) {
      const int64_t n = INg - i0 < CW_CHUNK ? INg - i0 : CW_CHUNK;
      for (int jj = 0; jj < 9; jj++) {
        if (transposed) {
          const CT *src = w + ((gi * INg + i0) * OUTg + o) * 9 + (8 - jj);
          for (int64_t i = 0; i < n; i++) kt[jj][i] = src[i * OUTg * 9];
        } else {
          const CT *src = w + ((gi * OUTg + o) * INg + i0) * 9 + jj;
          for (int64_t i = 0; i < n; i++) kt[jj][i] = src[i * 9];
        }
      }
      for (int jj = 0; jj < 3; jj++) /* t = G k (4x3), column jj */
        for (int64_t i = 0; i < n; i++) {
          const CT k0 = kt[jj][i], k1 = kt[3 + jj][i], k2 = kt[6 + jj][i];
          tt[0][jj][i] = k0;
          tt[1][jj][i] = (CT)0.5 * (k0 + k1 + k2);
          tt[2][jj][i] = (CT)0.5 * (k0 - k1 + k2);
          tt[3][jj][i] = k2;
        }
      for (int a = 0; a < 4; a++) { /* u = t G^T (4x4), row a: U[gi][4a + b][o][i0 ...] */
        CT *u = U + ((gi * 16 + a * 4) * OUTg + o) * INg + i0;
        const int64_t us = OUTg * INg;
        CWF(wino_weights_row)(tt[a][0], tt[a][1], tt[a][2], u, u + us, u + 2 * us, u + 3 * us, n);
      }
    }
  }
}
#undef CW_CHUNK

/* (a pass over every weight: split over the pool, a layer of 512x512 kernels takes milliseconds) */
static void CWF(wino_weights)(int64_t G, int64_t OUTg, int64_t INg, const CT *restrict w, bool transposed,
                              CT *restrict U) {
  CWF(wino_weights_job) j = {OUTg, INg, w, transposed, U};
  int64_t grain = ((int64_t)1 << 16) / (INg * 64 > 0 ? INg * 64 : 1);
  tc_parallel_for(G * OUTg, grain > 0 ? grain : 1, CWF(wino_weights_task), &j);
}

/* The loops below are functions of their own so that restrict applies (GCC ignores it on block
 * scope pointers) and they vectorise. */

/* B^T along a padded input row p (2*TW + 2 elements): tile tw reads columns 2tw .. 2tw+3. */
static inline void CWF(wino_in_row)(const CT *restrict p, CT *restrict h0, CT *restrict h1, CT *restrict h2,
                                    CT *restrict h3, int64_t TW) {
  for (int64_t tw = 0; tw < TW; tw++) {
    CT d0 = p[2 * tw], d1 = p[2 * tw + 1], d2 = p[2 * tw + 2], d3 = p[2 * tw + 3];
    h0[tw] = d0 - d2;
    h1[tw] = d1 + d2;
    h2[tw] = d2 - d1;
    h3[tw] = d1 - d3;
  }
}

/* B^T down the columns for all n tiles of a block at once: the row-transformed input is kept as
 * even rows e and odd rows o (tile row tr reads e[tr], o[tr], e[tr+1], o[tr+1], each TW long, so
 * tile i = tr*TW + tw reads e[i], o[i], e[i + TW], o[i + TW]). */
static inline void CWF(wino_in_col)(const CT *restrict e, const CT *restrict o, CT *restrict v0, CT *restrict v1,
                                    CT *restrict v2, CT *restrict v3, int64_t n, int64_t TW) {
  for (int64_t i = 0; i < n; i++) {
    CT a = e[i], b = o[i], c = e[i + TW], d = o[i + TW];
    v0[i] = a - c;
    v1[i] = b + c;
    v2[i] = c - b;
    v3[i] = b - d;
  }
}

/* A^T m A for one tile row: m[xi] at M + xi*xs; output rows r0 (2*TW) and r1, plus the bias. */
static inline void CWF(wino_out_row)(const CT *restrict M, int64_t xs, CT bv, CT *restrict r0, CT *restrict r1,
                                     int64_t TW) {
  for (int64_t tw = 0; tw < TW; tw++) {
    CT s0[4], s1[4];
    for (int a = 0; a < 4; a++) {
      CT m0 = M[(a * 4) * xs + tw], m1 = M[(a * 4 + 1) * xs + tw], m2 = M[(a * 4 + 2) * xs + tw],
         m3 = M[(a * 4 + 3) * xs + tw];
      s0[a] = m0 + m1 + m2;
      s1[a] = m1 - m2 - m3;
    }
    r0[2 * tw] = s0[0] + s0[1] + s0[2] + bv;
    r0[2 * tw + 1] = s1[0] + s1[1] + s1[2] + bv;
    r1[2 * tw] = s0[1] - s0[2] - s0[3] + bv;
    r1[2 * tw + 1] = s1[1] - s1[2] - s1[3] + bv;
  }
}

/* Forward over units [u0, u1) of the convolution r->g (in r->x, out r->y, bias r->b, weights
 * transformed in r->wU). Unit u: sample u / NBLK, tile rows [blk*TRB, ...) with blk = u % NBLK. */
/* Input transform of tile rows [th0, th0 + nth) of one sample's group input x (Cg, H, W):
 * V[xi][c][t] (16 x Cg x nth*TW) = B^T d B per channel and tile. prow (2*TW + 2) and hb (4 x 2 x
 * (nth + 1) x TW, see wino_in_col) are scratch. */
CONV_NO_MEMCPY_PATTERN static void CWF(wino_input)(const tc__conv_geom *g, int64_t TW, int64_t TRB, const CT *x,
                                                   int64_t th0, int64_t nth, CT *prow, CT *hb, CT *V) {
  const int64_t H = g->H, W = g->W, Cg = g->Cg, NT = nth * TW, nrows = 2 * nth + 2;
  const int64_t hpar = (TRB + 1) * TW, hstride = 2 * hpar, vs = 4 * Cg * NT; /* vs: V[xi + 4] - V[xi] */
  for (int64_t c = 0; c < Cg; c++) {
    const CT *xc = x + c * H * W;
    for (int64_t rr = 0; rr < nrows; rr++) {
      const int64_t ih = 2 * th0 + rr - g->pt;
      for (int64_t q = 0; q < 2 * TW + 2; q++) prow[q] = 0;
      if (ih >= 0 && ih < H) CWF(copy_run)(prow + g->pl, xc + ih * W, W);
      CT *h0 = hb + (rr & 1) * hpar + (rr >> 1) * TW;
      CWF(wino_in_row)(prow, h0, h0 + hstride, h0 + 2 * hstride, h0 + 3 * hstride, TW);
    }
    for (int64_t k = 0; k < 4; k++) {
      const CT *e = hb + k * hstride;
      CT *v = V + (k * Cg + c) * NT;
      CWF(wino_in_col)(e, e + hpar, v, v + vs, v + 2 * vs, v + 3 * vs, NT, TW);
    }
  }
}

/* Scratch of one Winograd task, carved from its slot. */
typedef struct {
  CT *prow, *hb, *V, *M, *orow;
} CWF(wino_scratch);

static CWF(wino_scratch) CWF(wino_carve)(const conv_run *r, CT *slot) {
  const int64_t TW = r->wTW, TRB = r->wTRB, NTmax = TRB * TW;
  CWF(wino_scratch) s;
  s.prow = slot;
  s.hb = s.prow + (2 * TW + 2);
  s.V = s.hb + 8 * (TRB + 1) * TW;
  s.M = s.V + 16 * r->g->Cg * NTmax;
  s.orow = s.M + 16 * r->g->OCg * NTmax; /* 2 x 2*TW */
  return s;
}

/* Forward over units [u0, u1) of the convolution r->g (in r->x, out r->y, bias r->b, weights
 * transformed in r->wU). Unit u: sample u / NBLK, tile rows [blk*TRB, ...) with blk = u % NBLK. */
CONV_NO_MEMCPY_PATTERN static void CWF(wino_units)(int64_t u0, int64_t u1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, Cg = g->Cg, OCg = g->OCg;
  const int64_t TH = r->wTH, TW = r->wTW, TRB = r->wTRB, NBLK = r->wNBLK;
  const CT *x = r->x, *U = r->wU, *bias = r->b;
  CT *y = r->y, *slot = slot_acquire(r, sizeof(CT));
  CWF(wino_scratch) sc = CWF(wino_carve)(r, slot);
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / NBLK, th0 = (u % NBLK) * TRB, th1 = th0 + TRB < TH ? th0 + TRB : TH;
    const int64_t nth = th1 - th0, NT = nth * TW;
    for (int64_t gi = 0; gi < g->G; gi++) {
      CWF(wino_input)(g, TW, TRB, x + (n * g->C + gi * Cg) * H * W, th0, nth, sc.prow, sc.hb, sc.V);
      /* 16 products over the channels */
      for (int64_t xi = 0; xi < 16; xi++)
        CWF(gemm)(false, false, OCg, NT, Cg, U + (gi * 16 + xi) * OCg * Cg, Cg, sc.V + xi * Cg * NT, NT, 0,
                  sc.M + xi * OCg * NT, NT);
      /* output transform: Y = A^T M A per tile, written with the bias, clipped at the edges */
      for (int64_t o = 0; o < OCg; o++) {
        const CT bv = bias ? bias[gi * OCg + o] : 0;
        CT *yo = y + (n * g->OC + gi * OCg + o) * OH * OW;
        for (int64_t tr = 0; tr < nth; tr++) {
          CT *r0 = sc.orow, *r1 = sc.orow + 2 * TW;
          CWF(wino_out_row)(sc.M + o * NT + tr * TW, OCg * NT, bv, r0, r1, TW);
          const int64_t oh = 2 * (th0 + tr);
          CWF(copy_run)(yo + oh * OW, r0, OW);
          if (oh + 1 < OH) CWF(copy_run)(yo + (oh + 1) * OW, r1, OW);
        }
      }
    }
  }
  slot_release(r, slot, sizeof(CT));
}

/* ---- small planes, channels last ------------------------------------------------------------------
 * For planes a unit holds whole (wNBLK == 1), a row of tiles is a few elements long and the
 * row-wise transforms above spend their time in loop overhead. Here each sample's group input is
 * transposed to (Hp, Wp, Cg) (padding zeros included) and every transform runs over vectors of
 * channels: per tile, V^T[xi][t][:] (Cg) from 16 input vectors, M^T[xi] (LD, OCg) = V^T[xi] x
 * U[xi]^T, and per tile the 2x2 outputs as vectors of OCg, transposed back into y at the end. The
 * arithmetic is that of the row-wise path, term for term. */

/* h = B^T along the 4 tile rows d0..d3 (vectors of n channels): the column q of B^T d */
static inline void CWF(wcl_bt)(const CT *restrict d0, const CT *restrict d1, const CT *restrict d2,
                               const CT *restrict d3, CT *restrict h0, CT *restrict h1, CT *restrict h2, CT *restrict h3,
                               int64_t n) {
  for (int64_t c = 0; c < n; c++) {
    h0[c] = d0[c] - d2[c];
    h1[c] = d1[c] + d2[c];
    h2[c] = d2[c] - d1[c];
    h3[c] = d1[c] - d3[c];
  }
}

/* output row a of a tile: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (vectors of n channels) */
static inline void CWF(wcl_at)(const CT *restrict m0, const CT *restrict m1, const CT *restrict m2,
                               const CT *restrict m3, CT *restrict s0, CT *restrict s1, int64_t n) {
  for (int64_t o = 0; o < n; o++) {
    s0[o] = m0[o] + m1[o] + m2[o];
    s1[o] = m1[o] - m2[o] - m3[o];
  }
}

/* the 2x2 outputs of a tile from s (8 rows: s0[a] at s + 2a*n, s1[a] at s + (2a+1)*n), plus bias */
static inline void CWF(wcl_out)(const CT *restrict s, const CT *restrict bias, CT *restrict y00, CT *restrict y01,
                                CT *restrict y10, CT *restrict y11, int64_t n) {
  for (int64_t o = 0; o < n; o++) {
    const CT b = bias ? bias[o] : 0;
    const CT a0 = s[o], b0 = s[n + o], a1 = s[2 * n + o], b1 = s[3 * n + o], a2 = s[4 * n + o], b2 = s[5 * n + o],
             a3 = s[6 * n + o], b3 = s[7 * n + o];
    y00[o] = a0 + a1 + a2 + b;
    y01[o] = b0 + b1 + b2 + b;
    y10[o] = a1 - a2 - a3 + b;
    y11[o] = b1 - b2 - b3 + b;
  }
}

/* Scratch: XT, VT, MT (or grad_out's UgT), YT (or grad_out transposed), 3 spare rows, h, s
 * (wino_plan sizes the slot: wino_small_slot_elems). */
typedef struct {
  CT *XT, *VT, *MT, *YT, *spare, *h, *s;
} CWF(wcl_scratch);

static CWF(wcl_scratch) CWF(wcl_carve)(const conv_run *r, CT *slot) {
  const tc__conv_geom *g = r->g;
  const int64_t TH = r->wTH, TW = r->wTW, LDmax = r->wB * TH * TW;
  CWF(wcl_scratch) c;
  c.XT = slot;
  c.VT = c.XT + (2 * TH + 2) * (2 * TW + 2) * g->Cg;
  c.MT = c.VT + 16 * LDmax * g->Cg;
  c.YT = c.MT + 16 * LDmax * g->OCg;
  c.spare = c.YT + 4 * TH * TW * g->OCg;
  c.h = c.spare + 3 * g->OCg;
  c.s = c.h + 16 * g->Cg;
  return c;
}

/* V^T of one sample's group input xs (Cg, H, W): its tiles' columns t at v (LD x Cg rows per xi). */
CONV_NO_MEMCPY_PATTERN static void CWF(wcl_input)(const conv_run *r, const CT *xs, CT *XT, CT *h, CT *v, int64_t LD) {
  const tc__conv_geom *g = r->g;
  const int64_t H = g->H, W = g->W, Cg = g->Cg, TH = r->wTH, TW = r->wTW, Hp = 2 * TH + 2, Wp = 2 * TW + 2;
  for (int64_t e = 0; e < Hp * Wp * Cg; e++) XT[e] = 0;
  for (int64_t ih = 0; ih < H && ih + g->pt < Hp; ih++)
    for (int64_t iw = 0; iw < W && iw + g->pl < Wp; iw++) {
      CT *d = XT + ((ih + g->pt) * Wp + iw + g->pl) * Cg;
      const CT *sx = xs + ih * W + iw;
      for (int64_t c = 0; c < Cg; c++) d[c] = sx[c * H * W];
    }
  const int64_t rs = Wp * Cg, vs = LD * Cg;
  for (int64_t th = 0; th < TH; th++)
    for (int64_t tw = 0; tw < TW; tw++) {
      const CT *d = XT + (2 * th * Wp + 2 * tw) * Cg;
      for (int64_t q = 0; q < 4; q++) /* h[a][q] */
        CWF(wcl_bt)(d + q * Cg, d + rs + q * Cg, d + 2 * rs + q * Cg, d + 3 * rs + q * Cg, h + q * Cg, h + (4 + q) * Cg,
                    h + (8 + q) * Cg, h + (12 + q) * Cg, Cg);
      CT *vt = v + (th * TW + tw) * Cg;
      for (int64_t a = 0; a < 4; a++) /* V[4a + k] from h[a][0..3] */
        CWF(wcl_bt)(h + 4 * a * Cg, h + (4 * a + 1) * Cg, h + (4 * a + 2) * Cg, h + (4 * a + 3) * Cg, vt + 4 * a * vs,
                    vt + (4 * a + 1) * vs, vt + (4 * a + 2) * vs, vt + (4 * a + 3) * vs, Cg);
    }
}

CONV_NO_MEMCPY_PATTERN static void CWF(wino_units_small)(int64_t u0, int64_t u1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t OH = g->OH, OW = g->OW, Cg = g->Cg, OCg = g->OCg, TH = r->wTH, TW = r->wTW, NT = TH * TW;
  const CT *x = r->x, *U = r->wU, *bias = r->b;
  CT *y = r->y, *slot = slot_acquire(r, sizeof(CT));
  CWF(wcl_scratch) sc = CWF(wcl_carve)(r, slot);
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n0 = u * r->wB, nb = n0 + r->wB < g->N ? r->wB : g->N - n0, LD = nb * NT;
    for (int64_t gi = 0; gi < g->G; gi++) {
      for (int64_t b = 0; b < nb; b++)
        CWF(wcl_input)(r, x + ((n0 + b) * g->C + gi * Cg) * g->H * g->W, sc.XT, sc.h, sc.VT + b * NT * Cg, LD);
      /* 16 products over the channels: M^T[xi] (LD, OCg) = V^T[xi] (LD, Cg) x U[xi]^T */
      for (int64_t xi = 0; xi < 16; xi++)
        CWF(gemm)(false, true, LD, OCg, Cg, sc.VT + xi * LD * Cg, Cg, U + (gi * 16 + xi) * OCg * Cg, Cg, 0,
                  sc.MT + xi * LD * OCg, OCg);
      const CT *bg = bias ? bias + gi * OCg : NULL;
      for (int64_t b = 0; b < nb; b++) { /* output transform of sample n0 + b */
        for (int64_t th = 0; th < TH; th++)
          for (int64_t tw = 0; tw < TW; tw++) {
            const CT *m = sc.MT + (b * NT + th * TW + tw) * OCg;
            const int64_t ms = LD * OCg;
            for (int64_t a = 0; a < 4; a++)
              CWF(wcl_at)(m + 4 * a * ms, m + (4 * a + 1) * ms, m + (4 * a + 2) * ms, m + (4 * a + 3) * ms,
                          sc.s + 2 * a * OCg, sc.s + (2 * a + 1) * OCg, OCg);
            const int64_t oh = 2 * th, ow = 2 * tw;
            const bool down = oh + 1 < OH, right = ow + 1 < OW;
            CT *y0 = sc.YT + (oh * OW + ow) * OCg;
            CWF(wcl_out)(sc.s, bg, y0, right ? y0 + OCg : sc.spare, down ? y0 + OW * OCg : sc.spare + OCg,
                         down && right ? y0 + (OW + 1) * OCg : sc.spare + 2 * OCg, OCg);
          }
        CT *ys = y + ((n0 + b) * g->OC + gi * OCg) * OH * OW;
        for (int64_t o = 0; o < OCg; o++)
          for (int64_t p = 0; p < OH * OW; p++) ys[o * OH * OW + p] = sc.YT[p * OCg + o];
      }
    }
  }
  slot_release(r, slot, sizeof(CT));
}

/* u = [g0, g0 + g1, g0 - g1, -g1] over vectors of n channels (A g along one direction) */
static inline void CWF(wcl_a)(const CT *restrict g0, const CT *restrict g1, CT *restrict u0, CT *restrict u1,
                              CT *restrict u2, CT *restrict u3, int64_t n) {
  for (int64_t o = 0; o < n; o++) {
    u0[o] = g0[o];
    u1[o] = g0[o] + g1[o];
    u2[o] = g0[o] - g1[o];
    u3[o] = -g1[o];
  }
}

/* grad_w partial sums over parts [p0, p1) for small planes, channels last (the counterpart of
 * wino_gw_parts): part p sums samples [p*N/P, (p+1)*N/P), wB at a time, into r->partials + p *
 * 16*OC*Cg ([gi][xi][oc][c]) with Mw[xi] (OCg, Cg) += Ug^T[xi]^T (OCg, LD) x V^T[xi] (LD, Cg). */
CONV_NO_MEMCPY_PATTERN static void CWF(wino_gw_parts_small)(int64_t p0, int64_t p1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t OH = g->OH, OW = g->OW, Cg = g->Cg, OCg = g->OCg, TH = r->wTH, TW = r->wTW, NT = TH * TW;
  const int64_t GW = 2 * TW; /* grad_out transposed into GT (2TH x 2TW x OCg), zeros past the edges */
  const CT *x = r->x, *gy = r->gy;
  CT *slot = slot_acquire(r, sizeof(CT));
  CWF(wcl_scratch) sc = CWF(wcl_carve)(r, slot);
  CT *GT = sc.YT;
  for (int64_t p = p0; p < p1; p++) {
    CT *Mw = (CT *)(void *)r->partials + p * 16 * g->OC * Cg;
    const int64_t s0 = p * g->N / r->P, s1 = (p + 1) * g->N / r->P;
    bool first = true;
    for (int64_t n0 = s0; n0 < s1; n0 += r->wB) {
      const int64_t nb = n0 + r->wB < s1 ? r->wB : s1 - n0, LD = nb * NT;
      for (int64_t gi = 0; gi < g->G; gi++) {
        for (int64_t b = 0; b < nb; b++) {
          CWF(wcl_input)(r, x + ((n0 + b) * g->C + gi * Cg) * g->H * g->W, sc.XT, sc.h, sc.VT + b * NT * Cg, LD);
          const CT *gs = gy + ((n0 + b) * g->OC + gi * OCg) * OH * OW;
          for (int64_t e = 0; e < 4 * TH * TW * OCg; e++) GT[e] = 0;
          for (int64_t o = 0; o < OCg; o++)
            for (int64_t oh = 0; oh < OH; oh++)
              for (int64_t ow = 0; ow < OW; ow++) GT[(oh * GW + ow) * OCg + o] = gs[(o * OH + oh) * OW + ow];
          const int64_t us = LD * OCg;
          for (int64_t th = 0; th < TH; th++)
            for (int64_t tw = 0; tw < TW; tw++) {
              const CT *g0 = GT + (2 * th * GW + 2 * tw) * OCg, *g1 = g0 + GW * OCg; /* rows 2th, 2th + 1 */
              CT *hs = sc.s;                                                       /* 8 x OCg */
              CWF(wcl_a)(g0, g0 + OCg, hs, hs + OCg, hs + 2 * OCg, hs + 3 * OCg, OCg);       /* row 2th: k */
              CWF(wcl_a)(g1, g1 + OCg, hs + 4 * OCg, hs + 5 * OCg, hs + 6 * OCg, hs + 7 * OCg, OCg); /* row 2th+1 */
              CT *ut = sc.MT + (b * NT + th * TW + tw) * OCg;
              for (int64_t k = 0; k < 4; k++) /* down the column: Ug[4j + k], j = 0..3 */
                CWF(wcl_a)(hs + k * OCg, hs + (4 + k) * OCg, ut + k * us, ut + (4 + k) * us, ut + (8 + k) * us,
                           ut + (12 + k) * us, OCg);
            }
        }
        for (int64_t xi = 0; xi < 16; xi++)
          CWF(gemm)(true, false, OCg, Cg, LD, sc.MT + xi * LD * OCg, OCg, sc.VT + xi * LD * Cg, Cg, first ? 0 : 1,
                    Mw + (gi * 16 + xi) * OCg * Cg, Cg);
      }
      first = false;
    }
  }
  slot_release(r, slot, sizeof(CT));
}

/* ---- grad_w: Winograd F(3x3, 2x2) -----------------------------------------------------------------
 * Each 2x2 tile of grad_out g and the 4x4 input tile d under it add corr(d, g) (3x3) to grad_w, and
 *   corr(d, g) = G^T [ (A g A^T) . (B^T d B) ] G
 * with the same B, and G, A of F(2x2, 3x3) in swapped roles. Summed over tiles, per xi:
 *   Mw[xi] (OCg, Cg) += Ug[xi] (OCg, T) x V[xi]^T (T, Cg),   Ug = A g A^T per (oc, tile),
 * then grad_w = G^T Mw G per (oc, c). */

/* A along a grad_out row q (zero beyond OW, 2*TW elements): [g0, g0 + g1, g0 - g1, -g1]. */
static inline void CWF(wino_gy_row)(const CT *restrict q, CT *restrict h0, CT *restrict h1, CT *restrict h2,
                                    CT *restrict h3, int64_t TW) {
  for (int64_t tw = 0; tw < TW; tw++) {
    CT g0 = q[2 * tw], g1 = q[2 * tw + 1];
    h0[tw] = g0;
    h1[tw] = g0 + g1;
    h2[tw] = g0 - g1;
    h3[tw] = -g1;
  }
}

/* A down the columns, tile i reads the row-transformed rows e[i] (row 2tr) and o[i] (row 2tr+1). */
static inline void CWF(wino_gy_col)(const CT *restrict e, const CT *restrict o, CT *restrict u0, CT *restrict u1,
                                    CT *restrict u2, CT *restrict u3, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    CT a = e[i], b = o[i];
    u0[i] = a;
    u1[i] = a + b;
    u2[i] = a - b;
    u3[i] = -b;
  }
}

/* grad_w partial sums over parts [p0, p1): part p sums samples [p*N/P, (p+1)*N/P) into
 * r->partials + p * 16*OC*Cg ([gi][xi][oc][c]); r->x is the input, r->gy grad_out. */
CONV_NO_MEMCPY_PATTERN static void CWF(wino_gw_parts)(int64_t p0, int64_t p1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, Cg = g->Cg, OCg = g->OCg;
  const int64_t TH = r->wTH, TW = r->wTW, TRB = r->wTRB, NBLK = r->wNBLK;
  const CT *x = r->x, *gy = r->gy;
  CT *slot = slot_acquire(r, sizeof(CT));
  CWF(wino_scratch) sc = CWF(wino_carve)(r, slot); /* sc.M holds Ug */
  CT *qrow = sc.orow, *hg = qrow + 2 * TW;          /* hg: 4 x 2 x TRB x TW */
  const int64_t gpar = TRB * TW, gstride = 2 * gpar;
  for (int64_t p = p0; p < p1; p++) {
    CT *Mw = (CT *)(void *)r->partials + p * 16 * g->OC * Cg;
    const int64_t n_end = (p + 1) * g->N / r->P;
    bool first = true;
    for (int64_t n = p * g->N / r->P; n < n_end; n++)
      for (int64_t blk = 0; blk < NBLK; blk++, first = false) {
        const int64_t th0 = blk * TRB, th1 = th0 + TRB < TH ? th0 + TRB : TH, nth = th1 - th0, NT = nth * TW;
        for (int64_t gi = 0; gi < g->G; gi++) {
          CWF(wino_input)(g, TW, TRB, x + (n * g->C + gi * Cg) * H * W, th0, nth, sc.prow, sc.hb, sc.V);
          for (int64_t o = 0; o < OCg; o++) { /* Ug[xi][o][t] */
            const CT *go = gy + (n * g->OC + gi * OCg + o) * OH * OW;
            for (int64_t rr = 0; rr < 2 * nth; rr++) {
              const int64_t oh = 2 * th0 + rr;
              for (int64_t q = 0; q < 2 * TW; q++) qrow[q] = 0;
              if (oh < OH) CWF(copy_run)(qrow, go + oh * OW, OW);
              CT *h0 = hg + (rr & 1) * gpar + (rr >> 1) * TW;
              CWF(wino_gy_row)(qrow, h0, h0 + gstride, h0 + 2 * gstride, h0 + 3 * gstride, TW);
            }
            const int64_t us = 4 * OCg * NT;
            for (int64_t k = 0; k < 4; k++) {
              const CT *e = hg + k * gstride;
              CT *u = sc.M + (k * OCg + o) * NT;
              CWF(wino_gy_col)(e, e + gpar, u, u + us, u + 2 * us, u + 3 * us, NT);
            }
          }
          for (int64_t xi = 0; xi < 16; xi++)
            CWF(gemm)(false, true, OCg, Cg, NT, sc.M + xi * OCg * NT, NT, sc.V + xi * Cg * NT, NT, first ? 0 : 1,
                      Mw + (gi * 16 + xi) * OCg * Cg, Cg);
        }
      }
  }
  slot_release(r, slot, sizeof(CT));
}

/* gw[gi*OCg + o][c] (3x3) = G^T (sum over parts of Mw) G, for output channels [o0, o1), CW_CHUNK
 * input channels at a time so that every step is a loop over channels (the parts are summed in
 * order: the result does not depend on the thread count). */
#define CW_CHUNK 64
static void CWF(wino_gw_finish)(int64_t o0, int64_t o1, void *vctx) {
  const conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t Cg = g->Cg, OCg = g->OCg, psz = 16 * g->OC * Cg;
  const CT *part = (const CT *)(const void *)r->partials;
  CT *gw = r->gw;
  CT m[16][CW_CHUNK], t[4][3][CW_CHUNK];
  for (int64_t oc = o0; oc < o1; oc++) {
    const int64_t gi = oc / OCg, o = oc % OCg;
    for (int64_t c0 = 0; c0 < Cg; c0 += CW_CHUNK) {
      const int64_t n = Cg - c0 < CW_CHUNK ? Cg - c0 : CW_CHUNK;
      for (int xi = 0; xi < 16; xi++) {
        CT *restrict mx = m[xi];
        for (int64_t c = 0; c < n; c++) mx[c] = 0;
        for (int64_t p = 0; p < r->P; p++) {
          const CT *restrict src = part + p * psz + ((gi * 16 + xi) * OCg + o) * Cg + c0;
          for (int64_t c = 0; c < n; c++) mx[c] += src[c];
        }
      }
      for (int a = 0; a < 4; a++) /* t = m G (4x3), row a */
        for (int64_t c = 0; c < n; c++) {
          const CT m0 = m[a * 4][c], m1 = m[a * 4 + 1][c], m2 = m[a * 4 + 2][c], m3 = m[a * 4 + 3][c];
          t[a][0][c] = m0 + (CT)0.5 * (m1 + m2);
          t[a][1][c] = (CT)0.5 * (m1 - m2);
          t[a][2][c] = (CT)0.5 * (m1 + m2) + m3;
        }
      CT *d = gw + (oc * Cg + c0) * 9;
      for (int j = 0; j < 3; j++) /* G^T t, column j */
        for (int64_t c = 0; c < n; c++) {
          d[c * 9 + j] = t[0][j][c] + (CT)0.5 * (t[1][j][c] + t[2][j][c]);
          d[c * 9 + 3 + j] = (CT)0.5 * (t[1][j][c] - t[2][j][c]);
          d[c * 9 + 6 + j] = (CT)0.5 * (t[1][j][c] + t[2][j][c]) + t[3][j][c];
        }
    }
  }
}
#undef CW_CHUNK

#undef CWF
#undef CW_CAT
#undef CW_CAT2
