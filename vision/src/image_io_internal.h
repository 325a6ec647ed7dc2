/* vision/src/image_io_internal.h — what the image decoders and encoders share (decode_image.c):
 * EXIF orientation (finding it in a JPEG, reading it from a TIFF block, applying it), the argument
 * checks every decoder starts with, and libpng's error handlers. Internal (tv__ prefix). */
#ifndef CTORCH_VISION_IMAGE_IO_INTERNAL_H
#define CTORCH_VISION_IMAGE_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ctorch/vision_io.h"

/* The orientation tag of a TIFF-structured EXIF block: 1..8, or 1 when absent or unreadable. */
int tv__exif_tiff_orientation(const unsigned char *t, size_t tl);
/* The orientation of a JPEG's APP1 "Exif" segment before the first scan (1 when absent). */
int tv__jpeg_exif_orientation(const unsigned char *d, size_t n);
/* `in` (..., H, W) turned upright for EXIF orientation o (a new reference; o = 1: a copy). */
tc_tensor *tv__orient(const tc_tensor *in, int o);
/* TC_ERR_ARG naming fn for no data or an unknown mode. */
tc_status tv__check_decode_args(const char *fn, const void *data, size_t size, tv_image_mode mode);

/* Splits n interleaved RGB pixels (3n bytes) into three planes: the decoders' HWC -> CHW step.
 * (decode_image.c; SSSE3 byte shuffles, 16 pixels at a time, where the build has them.) */
void tv__deinterleave3(const uint8_t *src, uint8_t *r, uint8_t *g, uint8_t *b, int64_t n);

/* libpng handlers whose error pointer is a char[TV__PNG_MSG] receiving the message: errors jump
 * back to the caller's setjmp, warnings are dropped. */
#define TV__PNG_MSG 160
#ifdef PNG_H
void tv__png_on_error(png_structp png, png_const_charp msg);
void tv__png_on_warning(png_structp png, png_const_charp msg);
#endif

#endif
