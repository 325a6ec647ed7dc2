/* ctorch/vision.h — libctorch_vision (tv_): TorchVision's datasets, transforms, decoders and models
 * on top of the core, transforms and datasets libraries.
 *
 * One header per area, all included here: decoding and encoding JPEG/PNG (vision_io.h), the
 * transforms of torchvision.transforms.v2 (vision_transforms.h: resize, crops, pad, flips, normalize;
 * vision_augment.h: color, rotation/affine/perspective/elastic, AutoAugment and friends, MixUp/CutMix),
 * bounding boxes and masks moved with the image (vision_boxes.h; TR_TUPLE values through the
 * geometric transforms), datasets (vision_datasets.h and the MNIST family below), classification
 * models (vision_models.h: ResNet, VGG, MobileNetV2, LeNet-5) and detection ops and utilities
 * (vision_ops.h).
 *
 *   td_dataset *train = tv_mnist("/usr/share/datasets/fashion-mnist", true);
 *   // sample i: "input" uint8 (1, 28, 28) as ToImage gives, "target" the class (int)
 *   td_dataset *ds = td_transformed(train, "input", tr_to_dtype(TC_F32, true), NULL, NULL);
 */
#ifndef CTORCH_VISION_H
#define CTORCH_VISION_H

#include "ctorch/ctorch.h"
#include "ctorch/datasets.h"
#include "ctorch/vision_models.h"
#include "ctorch/vision_io.h"
#include "ctorch/vision_transforms.h"
#include "ctorch/vision_augment.h"
#include "ctorch/vision_datasets.h"
#include "ctorch/vision_ops.h"
#include "ctorch/vision_boxes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The train (train-images-idx3-ubyte, train-labels-idx1-ubyte) or test (t10k-...) split under root,
 * each file raw or with a .gz suffix. A missing file is TC_ERR_IO and a malformed one
 * TC_ERR_CORRUPT, both naming the file and what was expected. The images are read once into
 * memory ((N, H, W) uint8) and shared by every sample. */
TC_API td_dataset *tv_mnist(const char *root, bool train);

/* One IDX file: a uint8 tensor of its dims (images (N, H, W), labels (N)). */
TC_API tc_tensor *tv_read_idx(const char *path);

/* ---- io ------------------------------------------------------------------------------------------- */
/* tv_image_mode (torchvision.io.ImageReadMode), tv_read_file, the JPEG and PNG decoders and the
 * encoders: ctorch/vision_io.h (included above). */

#ifdef __cplusplus
}
#endif
#endif
