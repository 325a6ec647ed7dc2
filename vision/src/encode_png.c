/* vision/src/encode_png.c — PNG encoding through libpng (torchvision.io.encode_png).
 *
 * The image (C, H, W) is made interleaved (H, W, C) and written as gray, gray+alpha, RGB or RGBA,
 * 8-bit (uint8) or 16-bit (uint16), non-interlaced, with libpng's default filter choice and the
 * given zlib level. The file grows in a buffer (libc realloc, freed on every path) and is copied
 * into the returned 1-D uint8 tensor at the end. libpng errors arrive by longjmp into `run`, which
 * keeps everything to free in the `job` struct.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image_io_internal.h"

typedef struct job {
  png_structp png;
  png_infop info;
  unsigned char *buf; /* the file so far (realloc) */
  size_t len, cap;
  bool nomem;
  char msg[TV__PNG_MSG];
} job;

static void on_write(png_structp png, png_bytep data, size_t n) {
  job *j = png_get_io_ptr(png);
  if (n > j->cap - j->len) {
    size_t cap = j->cap ? j->cap : 4096;
    while (cap - j->len < n) {
      if (cap > SIZE_MAX / 2) cap = SIZE_MAX; else cap *= 2;
    }
    unsigned char *b = realloc(j->buf, cap);
    if (!b) {
      j->nomem = true;
      png_error(png, "out of memory for the encoded file");
    }
    j->buf = b, j->cap = cap;
  }
  memcpy(j->buf + j->len, data, n);
  j->len += n;
}

static void on_flush(png_structp png) { (void)png; }

static bool little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* Writes hwc (H, W, C) contiguous into j->buf; 0, or -1 with j->msg set. */
static int run(job *j, const unsigned char *hwc, int64_t H, int64_t W, int C, int depth, int level) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGB_ALPHA};
  if (setjmp(png_jmpbuf(j->png))) return -1;
  png_set_write_fn(j->png, j, on_write, on_flush);
  png_set_compression_level(j->png, level);
  png_set_IHDR(j->png, j->info, (png_uint_32)W, (png_uint_32)H, depth, types[C], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(j->png, j->info);
  if (depth == 16 && little_endian()) png_set_swap(j->png); /* PNG stores big-endian samples */
  size_t stride = (size_t)W * C * (depth / 8);
  for (int64_t y = 0; y < H; y++) png_write_row(j->png, (png_const_bytep)(hwc + (size_t)y * stride));
  png_write_end(j->png, j->info);
  return 0;
}

tc_tensor *tv_encode_png(const tc_tensor *img, int compression_level) {
  const char *fn = "tv_encode_png";
  if (!img) {
    tc_set_error(TC_ERR_ARG, "%s: img is NULL", fn);
    return NULL;
  }
  tc_dtype dt = tc_tensor_dtype(img);
  const int64_t *s = tc_tensor_shape(img);
  if (tc_tensor_ndim(img) != 3 || s[0] < 1 || s[0] > 4 || s[1] < 1 || s[2] < 1 || s[1] > 0x7fffffff ||
      s[2] > 0x7fffffff) {
    tc_set_error(TC_ERR_SHAPE, "%s: img must be (C, H, W) with C in 1..4 and H, W >= 1", fn);
    return NULL;
  }
  if (dt != TC_U8 && dt != TC_U16) {
    tc_set_error(TC_ERR_DTYPE, "%s: img must be uint8 or uint16", fn);
    return NULL;
  }
  if (tc_tensor_device(img).type != TC_DEVICE_CPU) {
    tc_set_error(TC_ERR_DEVICE, "%s: img must be on the CPU", fn);
    return NULL;
  }
  if (compression_level < 0 || compression_level > 9) {
    tc_set_error(TC_ERR_ARG, "%s: compression_level %d is not in 0..9", fn, compression_level);
    return NULL;
  }
  tc_tensor *perm = tc_permute(img, (const int64_t[]){1, 2, 0}, 3);
  tc_tensor *hwc = perm ? tc_contiguous(perm) : NULL; /* hwc: (H, W, C) */
  tc_tensor_release(perm);
  if (!hwc) return NULL;
  tc_tensor *out = NULL;
  job j = {0};
  j.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, j.msg, tv__png_on_error, tv__png_on_warning);
  j.info = j.png ? png_create_info_struct(j.png) : NULL;
  if (!j.info) {
    tc_set_error(TC_ERR_NOMEM, "%s: cannot create a libpng writer", fn);
  } else if (run(&j, tc_tensor_data(hwc), s[1], s[2], (int)s[0], dt == TC_U16 ? 16 : 8, compression_level) != 0) {
    tc_set_error(j.nomem ? TC_ERR_NOMEM : TC_ERR_ARG, "%s: %s", fn, j.msg);
  } else {
    int64_t n = (int64_t)j.len;
    if ((out = tc_empty(&n, 1, TC_OPTS(.dtype = TC_U8)))) memcpy(tc_tensor_data(out), j.buf, j.len);
  }
  png_destroy_write_struct(&j.png, &j.info);
  free(j.buf);
  tc_tensor_release(hwc);
  return out;
}
