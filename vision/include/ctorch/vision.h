/* ctorch/vision.h — libctorch_vision (tv_): TorchVision's datasets, transforms, decoders and models
 * on top of the core, transforms and datasets libraries.
 *
 * So far: the MNIST family in its IDX layout (MNIST, FashionMNIST, KMNIST: the same files), raw or
 * gzip-compressed, as map-style datasets for the DataLoader; JPEG decoding (libjpeg-turbo) and file
 * reading; classification models (ctorch/vision_models.h: ResNet, VGG, MobileNetV2, LeNet-5).
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
