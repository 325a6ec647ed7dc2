/* ctorch/vision_io.h — image files: PNG decoding, encoders, format detection (filled in by the io work). */
#ifndef CTORCH_VISION_IO_H
#define CTORCH_VISION_IO_H

#include "ctorch/ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
