/* core/src/nn/conv_composed.c — a convolution composed of other ops, for a device without a
 * convolution library (CUDA without cuDNN): slower and hungrier than cuDNN, but every device op
 * involved has a backward, so autograd follows it unchanged.
 *
 * x (N, C, H, W) is zero-padded, its planes flattened to (N, C, Hp*Wp), and the columns of every
 * kernel tap gathered with one index_select over a host-made map:
 *   cols[n, c, t*L + l] = xp[n, c, (oh*sh + i*dh)*Wp + ow*sw + j*dw],  t = i*KW + j, l = oh*OW + ow
 * then, per group, y = w (OCg, Cg*KK) @ cols (Cg*KK, L) as one broadcast matmul over (N, G), plus
 * the bias. conv1d is the H = 1 case (tc__conv_resolve's geometry).
 */
#include "conv_internal.h"

tc_tensor *tc__conv_composed(int spatial, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b,
                             const tc_conv_opts *opts) {
  const char *fn = spatial == 2 ? "tc_conv2d" : "tc_conv1d";
  tc__conv_geom g;
  if (tc__conv_resolve(fn, spatial, x, w, b, opts, &g) != TC_OK) return NULL;
  const int64_t KK = g.KH * g.KW, L = g.OH * g.OW, Hp = g.H + g.pt + g.pb, Wp = g.W + g.pl + g.pr;
  int64_t *map = tc__malloc(sizeof(int64_t) * (size_t)(KK * L + 1));
  if (!map) {
    tc__error(TC_ERR_NOMEM, "%s: out of memory for a %lld-entry column map", fn, (long long)(KK * L));
    return NULL;
  }
  for (int64_t i = 0; i < g.KH; i++)
    for (int64_t j = 0; j < g.KW; j++)
      for (int64_t oh = 0; oh < g.OH; oh++)
        for (int64_t ow = 0; ow < g.OW; ow++)
          map[((i * g.KW + j) * g.OH + oh) * g.OW + ow] = (oh * g.sh + i * g.dh) * Wp + ow * g.sw + j * g.dw;
  tc_scope_push(); /* every intermediate is released at the end; the result is handed back */
  tc_tensor *y = NULL;
  int64_t n = KK * L;
  tc_tensor *mh = tc_tensor_from_data(map, &n, 1, TC_I64);
  tc__free(map);
  tc_tensor *md = mh ? tc_tensor_to(mh, x->storage->device) : NULL;
  tc_tensor *x4 = md ? tc_reshape(x, (int64_t[]){g.N, g.C, g.H, g.W}, 4) : NULL;
  tc_tensor *xp = x4;
  if (x4 && (g.pt || g.pb || g.pl || g.pr))
    xp = tc_pad(x4, (int64_t[]){g.pl, g.pr, g.pt, g.pb}, 4, TC_PAD_CONSTANT, 0.0);
  tc_tensor *flat = xp ? tc_reshape(xp, (int64_t[]){g.N, g.C, Hp * Wp}, 3) : NULL;
  tc_tensor *cols = flat ? tc_index_select(flat, 2, md) : NULL; /* (N, C, KK*L) */
  tc_tensor *cg = cols ? tc_reshape(cols, (int64_t[]){g.N, g.G, g.Cg * KK, L}, 4) : NULL;
  tc_tensor *wg = cg ? tc_reshape(w, (int64_t[]){g.G, g.OCg, g.Cg * KK}, 3) : NULL;
  tc_tensor *prod = wg ? tc_matmul(wg, cg) : NULL; /* (N, G, OCg, L) */
  if (prod) {
    int64_t oshape[4];
    int ond = tc__conv_out_shape(&g, oshape);
    y = tc_reshape(prod, oshape, ond);
    if (y && b) {
      int64_t bshape[3] = {g.OC, 1, 1};
      tc_tensor *bv = tc_reshape(b, bshape, spatial == 2 ? 3 : 2);
      y = bv ? tc_add(y, bv, 1.0) : NULL;
    }
  }
  return tc_scope_return(y);
}
