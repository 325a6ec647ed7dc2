/* core/src/nn/conv_tasks.h — the parallel tasks of conv.c for one element type (a template).
 *
 * Included by conv.c after conv_kernels.h with the same CT / CSUF / CGEMM. Each task is a
 * tc_parallel_for body over a range of units (B samples), parts (unit ranges) or planes; the
 * shared state is a conv_run (conv.c). Tasks do not allocate: scratch comes from r's slots.
 */
#define CT_CAT2(a, b) a##_##b
#define CT_CAT(a, b) CT_CAT2(a, b)
#define CTF(name) CT_CAT(name, CSUF)

/* y rows (OCg, L), ld L, set to the group's bias (or left for beta = 0 when there is none). */
static void CTF(bias_rows)(const CT *bias, int64_t ocg, int64_t L, CT *y) {
  for (int64_t o = 0; o < ocg; o++) {
    CT v = bias[o];
    CT *restrict d = y + o * L;
    for (int64_t l = 0; l < L; l++) d[l] = v;
  }
}

/* Forward over units [u0, u1). */
static void CTF(fwd_units)(int64_t u0, int64_t u1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t L = r->L, CK = r->CK, HW = g->H * g->W, OCg = g->OCg;
  const CT *x = r->x, *w = r->w, *b = r->b;
  CT *y = r->y;
  CT *col = r->slot_elems ? slot_acquire(r, sizeof(CT)) : NULL, *tmp = col ? col + r->col_elems : NULL;
  for (int64_t u = u0; u < u1; u++) {
    int64_t n0 = u * r->B, nb = g->N - n0 < r->B ? g->N - n0 : r->B;
    for (int64_t gi = 0; gi < g->G; gi++) {
      const CT *wg = w + gi * OCg * CK;
      const CT *bg = b ? b + gi * OCg : NULL;
      if (r->x_is_col) { /* nb == 1 */
        CT *yg = y + (n0 * g->OC + gi * OCg) * L;
        if (bg) CTF(bias_rows)(bg, OCg, L, yg);
        CTF(gemm)(false, false, OCg, L, g->Cg, wg, CK, x + (n0 * g->C + gi * g->Cg) * HW, L, bg ? 1 : 0, yg, L);
        continue;
      }
      int64_t ld = nb * L;
      for (int64_t j = 0; j < nb; j++) CTF(im2col)(g, x + ((n0 + j) * g->C + gi * g->Cg) * HW, col + j * L, ld);
      if (nb == 1) {
        CT *yg = y + (n0 * g->OC + gi * OCg) * L;
        if (bg) CTF(bias_rows)(bg, OCg, L, yg);
        CTF(gemm)(false, false, OCg, L, CK, wg, CK, col, ld, bg ? 1 : 0, yg, L);
      } else {
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

/* Backward over parts [p0, p1): grad_w of part p sums into gw (p == 0) or partials[p-1]; grad_x
 * of every sample is written whole. */
static void CTF(bwd_parts)(int64_t p0, int64_t p1, void *vctx) {
  conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t L = r->L, CK = r->CK, HW = g->H * g->W, OCg = g->OCg, Cg = g->Cg;
  const CT *x = r->x, *w = r->w, *gy = r->gy;
  CT *gx = r->gx;
  CT *col = r->slot_elems ? slot_acquire(r, sizeof(CT)) : NULL, *tmp = col ? col + r->col_elems : NULL;
  for (int64_t p = p0; p < p1; p++) {
    CT *gwp = !r->need_w ? NULL : p == 0 ? (CT *)r->gw : (CT *)(void *)r->partials + (p - 1) * g->OC * CK;
    int64_t u_end = part_start(r, p + 1);
    for (int64_t u = part_start(r, p); u < u_end; u++) {
      bool first = u == part_start(r, p);
      int64_t n0 = u * r->B, nb = g->N - n0 < r->B ? g->N - n0 : r->B, ld = nb * L;
      for (int64_t gi = 0; gi < g->G; gi++) {
        const CT *gyg; /* (OCg, nb*L) */
        if (nb == 1) {
          gyg = gy + (n0 * g->OC + gi * OCg) * L;
        } else {
          for (int64_t o = 0; o < OCg; o++)
            for (int64_t j = 0; j < nb; j++)
              memcpy(tmp + o * ld + j * L, gy + ((n0 + j) * g->OC + gi * OCg + o) * L, (size_t)L * sizeof(CT));
          gyg = tmp;
        }
        if (r->need_w) {
          const CT *cm;
          if (r->x_is_col) {
            cm = x + (n0 * g->C + gi * Cg) * HW;
          } else {
            for (int64_t j = 0; j < nb; j++) CTF(im2col)(g, x + ((n0 + j) * g->C + gi * Cg) * HW, col + j * L, ld);
            cm = col;
          }
          CTF(gemm)(false, true, OCg, CK, ld, gyg, ld, cm, ld, first ? 0 : 1, gwp + gi * OCg * CK, CK);
        }
        if (r->need_x) {
          const CT *wg = (const CT *)r->w + gi * OCg * CK;
          if (r->x_is_col) {
            CTF(gemm)(true, false, Cg, L, OCg, wg, CK, gyg, ld, 0, gx + (n0 * g->C + gi * Cg) * HW, L);
          } else {
            CTF(gemm)(true, false, CK, ld, OCg, wg, CK, gyg, ld, 0, col, ld);
            for (int64_t j = 0; j < nb; j++) {
              CT *gxp = gx + ((n0 + j) * g->C + gi * Cg) * HW;
              memset(gxp, 0, (size_t)(Cg * HW) * sizeof(CT));
              CTF(col2im)(g, col + j * L, ld, gxp);
            }
          }
        }
      }
    }
  }
  (void)w;
  if (col) slot_release(r, col, sizeof(CT));
}

/* Direct (Cg == 1) forward over (sample, output channel) planes [i0, i1). */
static void CTF(direct_fwd_tasks)(int64_t i0, int64_t i1, void *vctx) {
  const conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *x = r->x, *w = r->w, *b = r->b;
  CT *y = r->y;
  for (int64_t i = i0; i < i1; i++) {
    int64_t n = i / g->OC, oc = i % g->OC, c = oc / g->OCg;
    CTF(direct_fwd_plane)(g, x + (n * g->C + c) * HW, w + oc * KK, b ? b[oc] : 0, y + i * r->L);
  }
}

/* Direct grad_x over (sample, input channel) planes [i0, i1): each sums its OCg output channels. */
static void CTF(direct_bwd_x_tasks)(int64_t i0, int64_t i1, void *vctx) {
  const conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *w = r->w, *gy = r->gy;
  CT *gx = r->gx;
  for (int64_t i = i0; i < i1; i++) {
    int64_t n = i / g->C, c = i % g->C;
    CT *d = gx + i * HW;
    memset(d, 0, (size_t)HW * sizeof(CT));
    for (int64_t o = 0; o < g->OCg; o++) {
      int64_t oc = c * g->OCg + o;
      CTF(direct_bwd_x_plane)(g, gy + (n * g->OC + oc) * r->L, w + oc * KK, d);
    }
  }
}

/* Direct grad_w over output channels [o0, o1): sums over the batch in order. */
static void CTF(direct_bwd_w_tasks)(int64_t o0, int64_t o1, void *vctx) {
  const conv_run *r = vctx;
  const tc__conv_geom *g = r->g;
  const int64_t KK = g->KH * g->KW, HW = g->H * g->W;
  const CT *x = r->x, *gy = r->gy;
  CT *gw = r->gw;
  for (int64_t oc = o0; oc < o1; oc++) {
    CT *d = gw + oc * KK;
    memset(d, 0, (size_t)KK * sizeof(CT));
    int64_t c = oc / g->OCg;
    for (int64_t n = 0; n < g->N; n++)
      CTF(direct_bwd_w_plane)(g, gy + (n * g->OC + oc) * r->L, x + (n * g->C + c) * HW, d);
  }
}

#undef CTF
#undef CT_CAT
#undef CT_CAT2
