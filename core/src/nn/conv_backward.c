/* core/src/nn/conv_backward.c — the public convolution and padding functions: forward kernels in
 * conv.c / pad.c, plus their autograd nodes (ConvolutionBackward0, and the padding nodes named
 * as PyTorch's: ConstantPadNdBackward0, ReflectionPad{1,2}DBackward0, ...), whose backward calls
 * the kernels' own gradient functions (tc__conv2d_backward, tc__pad_backward). */
#include "../autograd/autograd_internal.h"
#include "conv_internal.h"
#include "../amp/amp_internal.h"

tc_tensor *tc__pad_fwd(const tc_tensor *x, const int64_t *pad, int64_t npad, tc_pad_mode mode, double value);

typedef struct {
  int dims;
  tc_conv_opts opts;
  bool has_bias, has_kept; /* has_kept: the forward's prepared kernel (cropped or dense) is saved third */
} conv_ctx;

static tc_status conv_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const conv_ctx *c = tc__node_ctx(n);
  const tc_tensor *x = tc__node_saved(n, 0), *w = x ? tc__node_saved(n, 1) : NULL;
  const tc_tensor *kept = w && c->has_kept ? tc__node_saved(n, 2) : NULL;
  if (!x || !w || (c->has_kept && !kept)) return tc_last_status();
  bool nx = n->next[0].node, nw = n->next[1].node, nb = c->has_bias && n->next[2].node;
  tc_tensor *gx = NULL, *gw = NULL, *gb = NULL;
  tc_status s = tc__conv_backward_kept(c->dims, go[0], x, w, kept, &c->opts, nx, nw, nb, &gx, &gw, &gb);
  if (s) return s;
  gi[0] = gx;
  gi[1] = gw;
  if (c->has_bias) gi[2] = gb;
  else tc_tensor_release(gb);
  return TC_OK;
}

static tc_tensor *conv(int dims, const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_conv_opts *opts) {
  tc__amp_call am;
  if (tc__amp_begin(&am, TC__AMP_LOWER, 3, x, w, b))
    return tc__amp_end(&am, am.ok ? conv(dims, am.in[0], am.in[1], am.in[2], opts) : NULL);
  if (x && w && !tc__is_cpu(x) && tc__backend(x) && (!tc__backend(x)->conv_available || !tc__backend(x)->conv_available()))
    return tc__conv_composed(dims, x, w, b, opts); /* no convolution library on this device */
  tc__conv_geom g;
  if (x && w && !tc__is_cpu(x) && opts && opts->padding_kind == TC_CONV_SAME &&
      tc__conv_resolve(dims == 2 ? "tc_conv2d" : "tc_conv1d", dims, x, w, b, opts, &g) == TC_OK &&
      (g.pt != g.pb || g.pl != g.pr)) {
    /* 'same' with an even dilated kernel pads one side more, which the device's convolution cannot:
     * the input is padded explicitly (a recorded op: its gradient is the crop), then 'valid' */
    int64_t pad[4] = {g.pl, g.pr, g.pt, g.pb};
    tc_tensor *xp = tc_pad(x, pad, dims == 2 ? 4 : 2, TC_PAD_CONSTANT, 0.0);
    tc_conv_opts o = *opts;
    o.padding_kind = TC_CONV_VALID;
    tc_tensor *y = xp ? conv(dims, xp, w, b, &o) : NULL;
    tc_tensor_release(xp);
    return y;
  }
  const tc_tensor *in[3] = {x, w, b};
  int nin = b ? 3 : 2;
  bool grad = tc__grad_needed(nin, in);
  tc_tensor *kept = NULL; /* kept only when x needs a gradient (the backward's grad_x uses it) */
  tc_tensor *y = tc__conv_fwd(dims, x, w, b, opts, grad && tc__grad_needed(1, in) ? &kept : NULL);
  if (!y || !grad) {
    tc_tensor_release(kept);
    return y;
  }
  conv_ctx c = {.dims = dims, .has_bias = b != NULL, .has_kept = kept != NULL};
  if (opts) c.opts = *opts;
  const tc_tensor *save[3] = {x, w, kept};
  y = tc__record(y, "ConvolutionBackward0", conv_backward, nin, in, kept ? 3 : 2, save, &c, sizeof c);
  tc_tensor_release(kept);
  return y;
}

tc_tensor *tc_conv2d(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_conv_opts *opts) {
  return conv(2, x, w, b, opts);
}
tc_tensor *tc_conv1d(const tc_tensor *x, const tc_tensor *w, const tc_tensor *b, const tc_conv_opts *opts) {
  return conv(1, x, w, b, opts);
}

typedef struct {
  int64_t pad[2 * TC_MAX_DIMS];
  int64_t npad;
  tc_pad_mode mode;
  int64_t in_shape[TC_MAX_DIMS];
  int in_nd;
} pad_ctx;

static tc_status pad_backward(tc__node *n, tc_tensor *const *go, tc_tensor **gi) {
  const pad_ctx *c = tc__node_ctx(n);
  gi[0] = tc__pad_backward(go[0], c->in_shape, c->in_nd, c->pad, c->npad, c->mode);
  return gi[0] ? TC_OK : tc_last_status();
}

tc_tensor *tc_pad(const tc_tensor *x, const int64_t *pad, int64_t npad, tc_pad_mode mode, double value) {
  tc_tensor *y = tc__pad_fwd(x, pad, npad, mode, value);
  if (!y || !tc__grad_needed(1, &x) || npad > 2 * TC_MAX_DIMS) return y;
  pad_ctx c = {.npad = npad, .mode = mode, .in_nd = x->ndim};
  memcpy(c.pad, pad, sizeof(int64_t) * (size_t)npad);
  memcpy(c.in_shape, x->sizes, sizeof(int64_t) * (size_t)x->ndim);
  static const char *const names[][3] = {
      {"ConstantPadNdBackward0", "ConstantPadNdBackward0", "ConstantPadNdBackward0"},
      {"ReflectionPad1DBackward0", "ReflectionPad2DBackward0", "ReflectionPad3DBackward0"},
      {"ReplicationPad1DBackward0", "ReplicationPad2DBackward0", "ReplicationPad3DBackward0"},
      {"CircularPad1DBackward0", "CircularPad2DBackward0", "CircularPad3DBackward0"}};
  int k = (int)(npad / 2) - 1;
  const char *name = names[mode][k < 0 ? 0 : k > 2 ? 2 : k];
  return tc__record(y, name, pad_backward, 1, &x, 0, NULL, &c, sizeof c);
}
