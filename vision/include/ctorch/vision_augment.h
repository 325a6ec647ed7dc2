/* ctorch/vision_augment.h — photometric and augmentation transforms (filled in by the augmentation work). */
#ifndef CTORCH_VISION_AUGMENT_H
#define CTORCH_VISION_AUGMENT_H

#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
