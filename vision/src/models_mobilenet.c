/* vision/src/models_mobilenet.c — MobileNetV2 (width 1.0) with torchvision's module tree:
 * features (Conv2dNormActivation, 17 InvertedResidual blocks, Conv2dNormActivation) and classifier
 * (Dropout, Linear). */
#include "models_common.h"

/* Conv2dNormActivation: 0 Conv2d(k x k, padding (k-1)/2, no bias), 1 BatchNorm2d, 2 ReLU6. */
static tc_module *conv_bn_relu6(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t groups) {
  return tv__chain("Conv2dNormActivation", 3,
                   (tc_module *[]){tv__conv(cin, cout, k, stride, groups, false), tc_batchnorm2d_create(cout, NULL),
                                   tc_relu6_create()});
}

/* x: (N, C, H, W) -> x + conv(x) (stride 1, same width) */
static tc_tensor *residual_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("InvertedResidual", n)) return NULL;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "conv"), in[0]);
  tc_tensor *y = h ? tc_add(in[0], h, 1.0) : NULL;
  tc_tensor_release(h);
  return y;
}

/* x: (N, C_in, H, W) -> conv(x): (N, C_out, H/stride, W/stride) */
static tc_tensor *plain_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("InvertedResidual", n)) return NULL;
  return tc_module_forward(tc_module_child(m, "conv"), in[0]);
}

/* InvertedResidual: child "conv" = Sequential([expand 1x1,] depthwise 3x3, project 1x1 conv, BN);
 * the input is added when stride is 1 and cin == cout. */
static tc_module *inverted_residual(int64_t cin, int64_t cout, int64_t stride, int64_t expand) {
  int64_t hidden = cin * expand;
  bool residual = stride == 1 && cin == cout;
  tc_module *conv = tc_sequential_create(0, NULL);
  tc_status s = conv ? TC_OK : tc_last_status();
  if (!s && expand != 1) s = tv__append(conv, conv_bn_relu6(cin, hidden, 1, 1, 1));
  if (!s) s = tv__append(conv, conv_bn_relu6(hidden, hidden, 3, stride, hidden));
  if (!s) s = tv__append(conv, tv__conv(hidden, cout, 1, 1, 1, false));
  if (!s) s = tv__append(conv, tc_batchnorm2d_create(cout, NULL));
  tc_forward_fn fwd = residual ? residual_forward : plain_forward;
  tc_module *m = s ? NULL : tc_module_create("InvertedResidual", fwd, NULL, NULL);
  if (!m) {
    tc_module_destroy(conv);
    return NULL;
  }
  if (tv__add(m, "conv", conv)) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

static tc_module *features_create(void) {
  /* expansion t, width c, repeats n, first stride s (torchvision's inverted_residual_setting) */
  static const int64_t setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  if (!s) s = tv__append(seq, conv_bn_relu6(3, 32, 3, 2, 1));
  int64_t cin = 32;
  for (int g = 0; g < 7 && !s; g++)
    for (int64_t i = 0; i < setting[g][2] && !s; i++) {
      s = tv__append(seq, inverted_residual(cin, setting[g][1], i == 0 ? setting[g][3] : 1, setting[g][0]));
      cin = setting[g][1];
    }
  if (!s) s = tv__append(seq, conv_bn_relu6(cin, 1280, 1, 1, 1));
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  return seq;
}

/* x: (N, 3, H, W) -> features (N, 1280, H/32, W/32) -> mean over H, W (N, 1280) -> (N, classes) */
static tc_tensor *mobilenet_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("MobileNetV2", n)) return NULL;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "features"), in[0]);
  tc_tensor *pooled = h ? tc_adaptive_avg_pool2d(h, 1, 1) : NULL;
  tc_tensor_release(h);
  tc_tensor *flat = pooled ? tc_flatten(pooled, 1, -1) : NULL;
  tc_tensor_release(pooled);
  return tv__step(m, "classifier", flat);
}

tc_module *tv_mobilenet_v2(int64_t num_classes) {
  if (tv__check_classes("tv_mobilenet_v2", num_classes)) return NULL;
  tc_module *m = tc_module_create("MobileNetV2", mobilenet_forward, NULL, NULL);
  tc_status s = m ? TC_OK : TC_ERR_NOMEM;
  if (!s) s = tv__add(m, "features", features_create());
  if (!s) s = tv__add(m, "classifier", tc_sequential_create(0, NULL));
  tc_module *head = s ? NULL : tc_module_child(m, "classifier");
  if (!s) s = tv__append(head, tc_dropout_create(0.2));
  if (!s) s = tv__append(head, tc_linear_create(1280, num_classes, true));
  if (!s) s = tv__init_weights(m, true);
  if (s) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}
