/* ctorch/vision_ops.h — detection ops and image utilities (filled in by the ops work). */
#ifndef CTORCH_VISION_OPS_H
#define CTORCH_VISION_OPS_H

#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
