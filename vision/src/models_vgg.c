/* vision/src/models_vgg.c — VGG-11 (configuration "A") with or without batch norm, with
 * torchvision's module tree: features, avgpool (adaptive 7x7), classifier. */
#include "models_common.h"

#define VGG_POOL 0 /* a 2x2 max pool in the configuration list */

/* x: (N, 3, H, W) -> features (N, 512, H/32, W/32) -> avgpool (N, 512, 7, 7) -> (N, classes) */
static tc_tensor *vgg_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("VGG", n)) return NULL;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "features"), in[0]);
  h = tv__step(m, "avgpool", h);
  tc_tensor *flat = h ? tc_flatten(h, 1, -1) : NULL; /* (N, 25088) */
  tc_tensor_release(h);
  return tv__step(m, "classifier", flat);
}

/* features: for each width a 3x3 conv (padding 1, bias) [+ BatchNorm2d] + ReLU, for VGG_POOL a
 * MaxPool2d(2, 2). */
static tc_module *features_create(const int64_t *cfg, int n, bool batch_norm) {
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  int64_t cin = 3;
  for (int i = 0; i < n && !s; i++) {
    if (cfg[i] == VGG_POOL) {
      s = tv__append(seq, tc_max_pool2d_create(TC_POOL(.kernel = {2, 2}, .stride = {2, 2}), false));
      continue;
    }
    s = tv__append(seq, tv__conv(cin, cfg[i], 3, 1, 1, true));
    if (!s && batch_norm) s = tv__append(seq, tc_batchnorm2d_create(cfg[i], NULL));
    if (!s) s = tv__append(seq, tc_relu_create());
    cin = cfg[i];
  }
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  return seq;
}

/* classifier: Linear(25088, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096, classes),
 * created one after the other (the order the generator is drawn in). */
static tc_module *classifier_create(int64_t num_classes) {
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  if (!s) s = tv__append(seq, tc_linear_create(512 * 7 * 7, 4096, true));
  for (int i = 0; i < 2 && !s; i++) {
    s = tv__append(seq, tc_relu_create());
    if (!s) s = tv__append(seq, tc_dropout_create(0.5));
    if (!s) s = tv__append(seq, tc_linear_create(4096, i == 0 ? 4096 : num_classes, true));
  }
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  return seq;
}

tc_module *tv_vgg11(int64_t num_classes, bool batch_norm) {
  static const int64_t cfg_a[] = {64,  VGG_POOL, 128,      VGG_POOL, 256, 256,     VGG_POOL,
                                  512, 512,      VGG_POOL, 512,      512, VGG_POOL};
  if (tv__check_classes("tv_vgg11", num_classes)) return NULL;
  tc_module *m = tc_module_create("VGG", vgg_forward, NULL, NULL);
  tc_status s = m ? TC_OK : TC_ERR_NOMEM;
  if (!s) s = tv__add(m, "features", features_create(cfg_a, (int)(sizeof cfg_a / sizeof *cfg_a), batch_norm));
  if (!s) s = tv__add(m, "avgpool", tc_adaptive_avg_pool2d_create(7, 7));
  if (!s) s = tv__add(m, "classifier", classifier_create(num_classes));
  if (!s) s = tv__init_weights(m, true);
  if (s) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}
