/* core/src/nn/conv_tasks.h — the parallel tasks of conv.c for one element type (a template).
 *
 * Included by conv.c after conv_kernels.h with the same CT / CSUF. Each task is a
 * tc_parallel_for body over a range of units (B samples), parts (unit ranges) or planes; the
 * shared state is a conv_run (conv.c). Tasks do not allocate: scratch comes from r's slots.
 */
#define CT_CAT2(a, b) a##_##b
#define CT_CAT(a, b) CT_CAT2(a, b)
#define CTF(name) CT_CAT(name, CSUF)

/* y rows (OCg, n), ld apart, set to the group's bias (the GEMM then adds with beta = 1). */
static void CTF(bias_rows)(const CT *bias, int64_t ocg, int64_t n, CT *y, int64_t ld) {
  for (int64_t o = 0; o < ocg; o++) {
    CT v = bias[o];
    CT *restrict d = y + o * ld;
    for (int64_t l = 0; l < n; l++) d[l] = v;
  }
}

/* Forward over units [u0, u1): unit u is samples [n0, n0 + nb) and output rows [oh_a, oh_b). */
static void CTF(fwd_units)(int64_t u0, int64_t u1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t L = r->L, CK = r->CK, HW = g->H * g->W, OCg = g->OCg, OW = g->OW;
  const CT *x = r->x, *w = r->w, *b = r->b;
  CT *y = r->y;
  CT *col = r->slot_elems ? slot_acquire(r, sizeof(CT)) : NULL;
  CT *tmp = col ? col + r->tmp_off : NULL, *xp = col ? col + r->xp_off : NULL;
  for (int64_t u = u0; u < u1; u++) {
    int64_t n0 = (u / r->T) * r->B, nb = g->N - n0 < r->B ? g->N - n0 : r->B;
    int64_t oh_a = (u % r->T) * r->TR, oh_b = oh_a + r->TR < g->OH ? oh_a + r->TR : g->OH;
    int64_t tc = (oh_b - oh_a) * OW, ld = nb * tc; /* columns per sample, per unit */
    for (int64_t gi = 0; gi < g->G; gi++) {
      const CT *wg = w + gi * OCg * CK;
      const CT *bg = b ? b + gi * OCg : NULL;
      CT *yg = y + (n0 * g->OC + gi * OCg) * L + oh_a * OW; /* (OCg, tc), ld L, when nb == 1 */
      if (r->x_is_col) { /* nb == 1 */
        if (bg) CTF(bias_rows)(bg, OCg, tc, yg, L);
        CTF(gemm)(false, false, OCg, tc, g->Cg, wg, CK, x + (n0 * g->C + gi * g->Cg) * HW + oh_a * OW, L, bg ? 1 : 0,
                  yg, L);
        continue;
      }
      for (int64_t j = 0; j < nb; j++)
        CTF(im2col)(g, x + ((n0 + j) * g->C + gi * g->Cg) * HW, xp, col + j * tc, ld, oh_a, oh_b);
      if (nb == 1) {
        if (bg) CTF(bias_rows)(bg, OCg, tc, yg, L);
        CTF(gemm)(false, false, OCg, tc, CK, wg, CK, col, ld, bg ? 1 : 0, yg, L);
      } else { /* whole planes (tc == L) of nb samples in one GEMM, then spread out */
        CTF(gemm)(false, false, OCg, ld, CK, wg, CK, col, ld, 0, tmp, ld);
        for (int64_t j = 0; j < nb; j++)
          for (int64_t o = 0; o < OCg; o++) {
            CT *restrict d = y + ((n0 + j) * g->OC + gi * OCg + o) * L;
            const CT *restrict s = tmp + o * ld + j * L;
            CT bv = bg ? bg[o] : 0;
            for (int64_t l = 0; l < L; l++) d[l] = s[l] + bv;
          }
      }
    }
  }
  if (col) slot_release(r, col, sizeof(CT));
}

/* Backward over parts [p0, p1): grad_w of part p sums into partials[p] (grad_w's own layout: per
 * group an (OCg, CK) block; with one part, grad_w itself); grad_x of every sample is written whole. A part's units are whole samples (or groups
 * of B samples); row tiles of one sample run in order, since their grad_x rows overlap. */
static void CTF(bwd_parts)(int64_t p0, int64_t p1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t L = r->L, CK = r->CK, HW = g->H * g->W, OCg = g->OCg, Cg = g->Cg, OW = g->OW;
  const CT *x = r->x, *gy = r->gy;
  CT *gx = r->gx;
  CT *col = r->slot_elems ? slot_acquire(r, sizeof(CT)) : NULL;
  CT *tmp = col ? col + r->tmp_off : NULL, *xp = col ? col + r->xp_off : NULL, *gxp = col ? col + r->gxp_off : NULL;
  const bool padded = CTF(padded)(g);
  const int64_t gxp_elems = Cg * (g->H + g->pt + g->pb) * (g->W + g->pl + g->pr);
  for (int64_t p = p0; p < p1; p++) {
    CT *gwp = r->need_w ? (CT *)(void *)r->partials + p * g->OC * CK : NULL;
    int64_t u_end = part_start(r, p + 1);
    for (int64_t u = part_start(r, p); u < u_end; u++) {
      bool first = u == part_start(r, p);
      int64_t n0 = u * r->B, nb = g->N - n0 < r->B ? g->N - n0 : r->B;
      for (int64_t gi = 0; gi < g->G; gi++) {
        const CT *wg = (const CT *)r->w + gi * OCg * CK;
        CT *gwg = gwp ? gwp + gi * OCg * CK : NULL;
        if (nb > 1) /* stack the samples' grad_out: tmp (OCg, nb*L) */
          for (int64_t o = 0; o < OCg; o++)
            for (int64_t j = 0; j < nb; j++)
              memcpy(tmp + (o * nb + j) * L, gy + ((n0 + j) * g->OC + gi * OCg + o) * L, (size_t)L * sizeof(CT));
        if (r->x_is_col) { /* nb == 1, one tile */
          const CT *gyg = gy + (n0 * g->OC + gi * OCg) * L;
          if (r->need_w) /* (OCg, CK = Cg) += gy (OCg, L) @ x^T (L, Cg) */
            CTF(gemm)(false, true, OCg, CK, L, gyg, L, x + (n0 * g->C + gi * Cg) * HW, L, first ? 0 : 1, gwg, CK);
          if (r->need_x)
            CTF(gemm)(true, false, Cg, L, OCg, wg, CK, gyg, L, 0, gx + (n0 * g->C + gi * Cg) * HW, L);
          continue;
        }
        /* grad_x accumulates in the padded planes gxp (or straight in gx without padding); with
         * nb > 1 there is one tile, and the samples take turns with gxp. */
        if (r->need_x && nb == 1)
          memset(padded ? gxp : gx + (n0 * g->C + gi * Cg) * HW, 0, (size_t)(padded ? gxp_elems : Cg * HW) * sizeof(CT));
        for (int64_t t = 0; t < r->T; t++) {
          int64_t oh_a = t * r->TR, oh_b = oh_a + r->TR < g->OH ? oh_a + r->TR : g->OH;
          int64_t tc = (oh_b - oh_a) * OW, ld = nb * tc;
          const CT *gyg = nb > 1 ? tmp : gy + (n0 * g->OC + gi * OCg) * L + oh_a * OW; /* (OCg, ld) */
          int64_t ldg = nb > 1 ? ld : L;
          if (r->need_w) {
            for (int64_t j = 0; j < nb; j++)
              CTF(im2col)(g, x + ((n0 + j) * g->C + gi * Cg) * HW, xp, col + j * tc, ld, oh_a, oh_b);
            CTF(gemm)(false, true, OCg, CK, ld, gyg, ldg, col, ld, (first && t == 0) ? 0 : 1, gwg, CK);
          }
          if (r->need_x) {
            CTF(gemm)(true, false, CK, ld, OCg, wg, CK, gyg, ldg, 0, col, ld);
            for (int64_t j = 0; j < nb; j++) {
              CT *gxj = gx + ((n0 + j) * g->C + gi * Cg) * HW;
              if (nb > 1) memset(padded ? gxp : gxj, 0, (size_t)(padded ? gxp_elems : Cg * HW) * sizeof(CT));
              CTF(col2im)(g, col + j * tc, ld, padded ? gxp : gxj, oh_a, oh_b);
              if (nb > 1 && padded) CTF(unpad_planes)(g, gxp, gxj);
            }
          }
        }
        if (r->need_x && nb == 1 && padded) CTF(unpad_planes)(g, gxp, gx + (n0 * g->C + gi * Cg) * HW);
      }
    }
  }
  if (col) slot_release(r, col, sizeof(CT));
}

/* Direct (Cg == 1) forward over (sample, input channel) planes [i0, i1): pad the plane once,
 * then its OCg output channels. */
static void CTF(direct_fwd_tasks)(int64_t i0, int64_t i1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *x = r->x, *w = r->w, *b = r->b;
  CT *y = r->y, *xp = slot_acquire(r, sizeof(CT));
  for (int64_t i = i0; i < i1; i++) { /* i = n*C + c */
    CTF(pad_plane)(g, x + i * HW, xp);
    int64_t n = i / g->C, c = i % g->C;
    for (int64_t o = 0; o < g->OCg; o++) {
      int64_t oc = c * g->OCg + o;
      CTF(direct_fwd_plane)(g, xp, w + oc * KK, b ? b[oc] : 0, false, y + (n * g->OC + oc) * r->L);
    }
  }
  slot_release(r, xp, sizeof(CT));
}

/* Direct grad_x over (sample, input channel) planes [i0, i1), summing the channel's OCg outputs.
 * Stride 1: a stencil of the padded grad_out plane with the flipped kernel (written once per
 * output, like the forward). Otherwise: scattered into a padded plane, whose interior is kept. */
static void CTF(direct_bwd_x_tasks)(int64_t i0, int64_t i1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *w = r->w, *gy = r->gy;
  CT *gx = r->gx, *buf = slot_acquire(r, sizeof(CT));
  if (g->sh == 1 && g->sw == 1) {
    tc__conv_geom t = CTF(transposed_geom)(g);
    CT *wf = buf + t.H * t.W; /* the flipped kernel */
    for (int64_t i = i0; i < i1; i++) {
      int64_t n = i / g->C, c = i % g->C;
      for (int64_t o = 0; o < g->OCg; o++) {
        int64_t oc = c * g->OCg + o;
        for (int64_t k = 0; k < KK; k++) wf[k] = w[oc * KK + KK - 1 - k];
        CTF(pad_grad_plane)(g, &t, gy + (n * g->OC + oc) * r->L, buf);
        CTF(direct_fwd_plane)(&t, buf, wf, 0, o > 0, gx + i * HW);
      }
    }
  } else {
    const int64_t HWp = (g->H + g->pt + g->pb) * (g->W + g->pl + g->pr);
    for (int64_t i = i0; i < i1; i++) {
      int64_t n = i / g->C, c = i % g->C;
      memset(buf, 0, (size_t)HWp * sizeof(CT));
      for (int64_t o = 0; o < g->OCg; o++) {
        int64_t oc = c * g->OCg + o;
        CTF(direct_bwd_x_plane)(g, gy + (n * g->OC + oc) * r->L, w + oc * KK, buf);
      }
      CTF(unpad_planes)(g, buf, gx + i * HW);
    }
  }
  slot_release(r, buf, sizeof(CT));
}

/* Direct grad_w over input channels [c0, c1): sums over the batch in order into the channel's
 * OCg kernels. */
static void CTF(direct_bwd_w_tasks)(int64_t c0, int64_t c1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *x = r->x, *gy = r->gy;
  CT *gw = r->gw, *xp = slot_acquire(r, sizeof(CT));
  for (int64_t c = c0; c < c1; c++) {
    memset(gw + c * g->OCg * KK, 0, (size_t)(g->OCg * KK) * sizeof(CT));
    for (int64_t n = 0; n < g->N; n++) {
      CTF(pad_plane)(g, x + (n * g->C + c) * HW, xp);
      for (int64_t o = 0; o < g->OCg; o++) {
        int64_t oc = c * g->OCg + o;
        CTF(direct_bwd_w_plane)(g, gy + (n * g->OC + oc) * r->L, xp, gw + oc * KK);
      }
    }
  }
  slot_release(r, xp, sizeof(CT));
}

#undef CTF
#undef CT_CAT
#undef CT_CAT2
