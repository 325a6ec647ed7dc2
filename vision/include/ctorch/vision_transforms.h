/* ctorch/vision_transforms.h — image transforms as torchvision.transforms.v2 (filled in by the transforms work). */
#ifndef CTORCH_VISION_TRANSFORMS_H
#define CTORCH_VISION_TRANSFORMS_H

#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
