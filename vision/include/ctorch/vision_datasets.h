/* ctorch/vision_datasets.h — vision datasets: CIFAR, ImageFolder, FakeData, MNIST variants (filled in by the datasets work). */
#ifndef CTORCH_VISION_DATASETS_H
#define CTORCH_VISION_DATASETS_H

#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
