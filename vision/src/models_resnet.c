/* vision/src/models_resnet.c — ResNet-18/34/50 with torchvision's module tree (BasicBlock and
 * Bottleneck, the stride of a Bottleneck in its 3x3 conv: "ResNet v1.5").
 *
 * Children are built in torchvision's construction order (a layer's downsample before its first
 * block's convs, fc last) and re-initialised in module order, so the default generator is drawn
 * exactly as torchvision draws it.
 */
#include <stdio.h>
#include "models_common.h"

/* ---- blocks ------------------------------------------------------------------------------------ */
/* A block's end: relu(out + shortcut), the shortcut being downsample(x) when the block has one, else x.
 * Takes over `out` (NULL: an earlier step failed). x: (N, C_in, H, W), out and result: (N, C_out, H', W'). */
static tc_tensor *add_identity_relu(tc_module *block, tc_tensor *out, const tc_tensor *x) {
  tc_module *ds = tc_module_child(block, "downsample");
  tc_tensor *shortcut = out && ds ? tc_module_forward(ds, x) : NULL;
  tc_tensor *sum = out && (shortcut || !ds) ? tc_add(out, ds ? shortcut : x, 1.0) : NULL;
  tc_tensor *y = sum ? tc_relu(sum) : NULL;
  tc_tensor_release(out);
  tc_tensor_release(shortcut);
  tc_tensor_release(sum);
  return y;
}

/* BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + identity); conv1 carries the stride. */
static tc_tensor *basic_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("BasicBlock", n)) return NULL;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "conv1"), in[0]);
  h = tv__step(m, "bn1", h);
  h = tv__step(m, "relu", h);
  h = tv__step(m, "conv2", h);
  h = tv__step(m, "bn2", h);
  return add_identity_relu(m, h, in[0]);
}

/* Bottleneck: 1x1 reduce to `width`, 3x3 (strided) at width, 1x1 expand to 4 * planes. */
static tc_tensor *bottleneck_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("Bottleneck", n)) return NULL;
  tc_tensor *h = tc_module_forward(tc_module_child(m, "conv1"), in[0]);
  h = tv__step(m, "bn1", h);
  h = tv__step(m, "relu", h);
  h = tv__step(m, "conv2", h);
  h = tv__step(m, "bn2", h);
  h = tv__step(m, "relu", h);
  h = tv__step(m, "conv3", h);
  h = tv__step(m, "bn3", h);
  return add_identity_relu(m, h, in[0]);
}

/* Sequential(0 = 1x1 conv with the block's stride, 1 = BatchNorm2d): the shortcut's projection. */
static tc_module *downsample(int64_t cin, int64_t cout, int64_t stride) {
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  if (!s) s = tv__append(seq, tv__conv(cin, cout, 1, stride, 1, false));
  if (!s) s = tv__append(seq, tc_batchnorm2d_create(cout, NULL));
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  return seq;
}

/* BasicBlock's layers: two 3x3 convs at `planes` channels, the first with the stride. */
static tc_status add_basic_layers(tc_module *m, int64_t cin, int64_t planes, int64_t stride) {
  tc_status s = tv__add(m, "conv1", tv__conv(cin, planes, 3, stride, 1, false));
  if (!s) s = tv__add(m, "bn1", tc_batchnorm2d_create(planes, NULL));
  if (!s) s = tv__add(m, "relu", tc_relu_create());
  if (!s) s = tv__add(m, "conv2", tv__conv(planes, planes, 3, 1, 1, false));
  if (!s) s = tv__add(m, "bn2", tc_batchnorm2d_create(planes, NULL));
  return s;
}

/* Bottleneck's layers: 1x1 to width = planes (base_width 64, groups 1), 3x3 with the stride, 1x1 to
 * 4 * planes. */
static tc_status add_bottleneck_layers(tc_module *m, int64_t cin, int64_t planes, int64_t stride) {
  int64_t width = planes;
  tc_status s = tv__add(m, "conv1", tv__conv(cin, width, 1, 1, 1, false));
  if (!s) s = tv__add(m, "bn1", tc_batchnorm2d_create(width, NULL));
  if (!s) s = tv__add(m, "conv2", tv__conv(width, width, 3, stride, 1, false));
  if (!s) s = tv__add(m, "bn2", tc_batchnorm2d_create(width, NULL));
  if (!s) s = tv__add(m, "conv3", tv__conv(width, planes * 4, 1, 1, 1, false));
  if (!s) s = tv__add(m, "bn3", tc_batchnorm2d_create(planes * 4, NULL));
  if (!s) s = tv__add(m, "relu", tc_relu_create());
  return s;
}

/* One block taking cin channels to planes * expansion; `ds` (owned, may be NULL) is its downsample,
 * made by the caller first as torchvision does, and registered last, as torchvision registers it. */
static tc_module *block_create(bool bottleneck, int64_t cin, int64_t planes, int64_t stride, tc_module *ds) {
  tc_module *m = tc_module_create(bottleneck ? "Bottleneck" : "BasicBlock",
                                  bottleneck ? bottleneck_forward : basic_forward, NULL, NULL);
  tc_status s = m ? TC_OK : TC_ERR_NOMEM;
  if (!s) s = bottleneck ? add_bottleneck_layers(m, cin, planes, stride) : add_basic_layers(m, cin, planes, stride);
  if (!s && ds) {
    s = tv__add(m, "downsample", ds);
    ds = NULL; /* handed over */
  }
  if (s) {
    tc_module_destroy(ds);
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

/* layerK: `blocks` blocks of `planes`, the first with `stride` (and a downsample when the stride or
 * the width changes). *inplanes: channels in, updated to channels out. */
static tc_module *layer_create(bool bottleneck, int64_t *inplanes, int64_t planes, int64_t blocks, int64_t stride) {
  int64_t out = planes * (bottleneck ? 4 : 1);
  tc_module *seq = tc_sequential_create(0, NULL);
  tc_status s = seq ? TC_OK : tc_last_status();
  for (int64_t i = 0; i < blocks && !s; i++) {
    int64_t cin = i == 0 ? *inplanes : out, st = i == 0 ? stride : 1;
    tc_module *ds = NULL;
    if (i == 0 && (stride != 1 || cin != out)) {
      ds = downsample(cin, out, stride);
      if (!ds) s = tc_last_status();
    }
    if (!s) s = tv__append(seq, block_create(bottleneck, cin, planes, st, ds));
  }
  if (s) {
    tc_module_destroy(seq);
    return NULL;
  }
  *inplanes = out;
  return seq;
}

/* ---- the network --------------------------------------------------------------------------------- */
/* x: (N, 3, H, W) -> stem (N, 64, H/4, W/4) -> layer4 (N, 512 * expansion, H/32, W/32) -> (N, classes) */
static tc_tensor *resnet_forward(tc_module *m, const tc_tensor *const *in, int64_t n) {
  if (tv__one_input("ResNet", n)) return NULL;
  static const char *const trunk[] = {"bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"};
  tc_tensor *h = tc_module_forward(tc_module_child(m, "conv1"), in[0]);
  for (size_t i = 0; i < sizeof trunk / sizeof *trunk; i++) h = tv__step(m, trunk[i], h);
  tc_tensor *flat = h ? tc_flatten(h, 1, -1) : NULL; /* (N, C, 1, 1) -> (N, C) */
  tc_tensor_release(h);
  return tv__step(m, "fc", flat);
}

static tc_module *resnet_create(const char *fn, bool bottleneck, const int64_t blocks[4], int64_t num_classes) {
  if (tv__check_classes(fn, num_classes)) return NULL;
  tc_module *m = tc_module_create("ResNet", resnet_forward, NULL, NULL);
  tc_status s = m ? TC_OK : TC_ERR_NOMEM;
  if (!s) s = tv__add(m, "conv1", tv__conv(3, 64, 7, 2, 1, false));
  if (!s) s = tv__add(m, "bn1", tc_batchnorm2d_create(64, NULL));
  if (!s) s = tv__add(m, "relu", tc_relu_create());
  if (!s)
    s = tv__add(m, "maxpool",
                tc_max_pool2d_create(TC_POOL(.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}), false));
  int64_t inplanes = 64;
  for (int i = 0; i < 4 && !s; i++) {
    char name[8];
    snprintf(name, sizeof name, "layer%d", i + 1);
    s = tv__add(m, name, layer_create(bottleneck, &inplanes, (int64_t)64 << i, blocks[i], i == 0 ? 1 : 2));
  }
  if (!s) s = tv__add(m, "avgpool", tc_adaptive_avg_pool2d_create(1, 1));
  if (!s) s = tv__add(m, "fc", tc_linear_create(inplanes, num_classes, true));
  if (!s) s = tv__init_weights(m, false);
  if (s) {
    tc_module_destroy(m);
    return NULL;
  }
  return m;
}

tc_module *tv_resnet18(int64_t num_classes) {
  return resnet_create("tv_resnet18", false, (const int64_t[]){2, 2, 2, 2}, num_classes);
}

tc_module *tv_resnet34(int64_t num_classes) {
  return resnet_create("tv_resnet34", false, (const int64_t[]){3, 4, 6, 3}, num_classes);
}

tc_module *tv_resnet50(int64_t num_classes) {
  return resnet_create("tv_resnet50", true, (const int64_t[]){3, 4, 6, 3}, num_classes);
}
