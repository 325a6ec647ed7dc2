/* vision/src/decode_png.c — PNG decoding through libpng, as torchvision.io.decode_png does it.
 *
 * The mode conversions are libpng's own transformations, asked for in the same way torchvision
 * asks for them (palette expansion, strip/add alpha, gray<->RGB with rgb_to_gray's weights 0.2989
 * and 0.587), so the pixels are the same. Three places differ on purpose. Where torchvision returns
 * memory libpng never wrote: palettes without tRNS in the alpha modes get an opaque alpha, and
 * 1/2/4-bit palette indices in UNCHANGED are unpacked to one byte each. And the alpha added to
 * 1/2/4-bit gray files is 255, where torchvision's filler of (1 << depth) - 1 leaves 1, 3 or 15.
 * The channel count of the output is always taken from libpng after png_read_update_info, so rows
 * can never overflow the buffer.
 *
 * libpng reports errors by longjmp. Everything that must be freed on that path lives in a `job`
 * struct reached through a pointer (not in locals changed after setjmp), and the setjmp frame is a
 * function of its own (run) that allocates only into the job. Warnings are dropped (the library
 * never prints); libpng's own checks (CRC of critical chunks, zlib stream, too little image data)
 * are errors.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include "image_io_internal.h"

#define MAX_PIXELS ((int64_t)1 << 28)


typedef struct job {
  const unsigned char *data; /* the file; pos bytes consumed */
  size_t size, pos;
  png_structp png;
  png_infop info;
  tv_image_mode mode;
  tc_tensor *hwc;   /* (H, W, C) uint8 or uint16, filled row by row */
  png_bytep *rows;  /* H row pointers into hwc (tc_malloc) */
  int orientation;  /* from eXIf, 1 when none */
  tc_status status; /* set before a deliberate png_error, else TC_ERR_CORRUPT */
  char msg[TV__PNG_MSG];
} job;

static void on_read(png_structp png, png_bytep out, size_t n) {
  job *j = png_get_io_ptr(png);
  if (n > j->size - j->pos) png_error(png, "the file is truncated");
  memcpy(out, j->data + j->pos, n);
  j->pos += n;
}

static bool little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* Asks libpng for the transformations of j->mode (torchvision's choices; see the file comment). */
static void set_transforms(job *j, int color_type, int bit_depth) {
  png_structp p = j->png;
  bool palette = color_type == PNG_COLOR_TYPE_PALETTE;
  bool color = (color_type & PNG_COLOR_MASK_COLOR) != 0;
  bool has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0;
  bool trns = png_get_valid(p, j->info, PNG_INFO_tRNS) != 0;
  png_uint_32 opaque = bit_depth == 16 ? 0xFFFF : 0xFF;
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(p);
  switch (j->mode) {
    case TV_IMAGE_UNCHANGED:
      if (palette && bit_depth < 8) png_set_packing(p); /* one index per byte */
      break;
    case TV_IMAGE_GRAY:
      if (color_type == PNG_COLOR_TYPE_GRAY) break;
      if (palette) png_set_palette_to_rgb(p); /* expands tRNS to alpha too */
      if (has_alpha || palette) png_set_strip_alpha(p);
      if (color) png_set_rgb_to_gray(p, PNG_ERROR_ACTION_NONE, 0.2989, 0.587);
      break;
    case TV_IMAGE_GRAY_ALPHA:
      if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA) break;
      if (palette) png_set_palette_to_rgb(p);
      if (!has_alpha && !(palette && trns)) png_set_add_alpha(p, opaque, PNG_FILLER_AFTER);
      if (color) png_set_rgb_to_gray(p, PNG_ERROR_ACTION_NONE, 0.2989, 0.587);
      break;
    case TV_IMAGE_RGB:
      if (color_type == PNG_COLOR_TYPE_RGB) break;
      if (palette)
        png_set_palette_to_rgb(p);
      else if (!color)
        png_set_gray_to_rgb(p);
      if (has_alpha || palette) png_set_strip_alpha(p);
      break;
    case TV_IMAGE_RGB_ALPHA:
      if (color_type == PNG_COLOR_TYPE_RGB_ALPHA) break;
      if (palette)
        png_set_palette_to_rgb(p);
      else if (!color)
        png_set_gray_to_rgb(p);
      if (!has_alpha && !(palette && trns)) png_set_add_alpha(p, opaque, PNG_FILLER_AFTER);
      break;
  }
}

/* The eXIf chunk's orientation (1 when none). */
static int png_orientation(job *j) {
#ifdef PNG_eXIf_SUPPORTED
  png_uint_32 n = 0;
  png_bytep exif = NULL;
  if (png_get_valid(j->png, j->info, PNG_INFO_eXIf) && png_get_eXIf_1(j->png, j->info, &n, &exif) && exif)
    return tv__exif_tiff_orientation(exif, n);
#else
  (void)j;
#endif
  return 1;
}

/* The libpng part, inside the setjmp frame. Returns 0, or -1 with j->msg / j->status set; whatever
 * it allocated is in j and freed by the caller either way. */
static int run(job *j) {
  if (setjmp(png_jmpbuf(j->png))) return -1;
  png_set_read_fn(j->png, j, on_read);
  png_read_info(j->png, j->info);
  png_uint_32 w = 0, h = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  png_get_IHDR(j->png, j->info, &w, &h, &bit_depth, &color_type, &interlace, NULL, NULL);
  if ((int64_t)w * h > MAX_PIXELS) {
    snprintf(j->msg, sizeof j->msg, "image of %u x %u pixels is beyond the limit of %lld pixels", (unsigned)w,
             (unsigned)h, (long long)MAX_PIXELS);
    return -1;
  }
  /* deflate expands at most ~1032:1, so a file this short cannot hold the image: refuse it before
   * allocating (a few bytes claiming 2^28 pixels would otherwise cost gigabytes) */
  int stored_ch = png_get_channels(j->png, j->info);
  double raw = (double)h * (1.0 + ((double)w * stored_ch * bit_depth + 7) / 8);
  if (raw > 1040.0 * (double)j->size) {
    snprintf(j->msg, sizeof j->msg, "%zu bytes cannot hold a %u x %u image: the file is truncated", j->size,
             (unsigned)w, (unsigned)h);
    return -1;
  }
  set_transforms(j, color_type, bit_depth);
  if (bit_depth == 16 && little_endian()) png_set_swap(j->png); /* native-order uint16 samples */
  png_set_interlace_handling(j->png);        /* png_read_image then runs every Adam7 pass */
  png_read_update_info(j->png, j->info);
  int ch = png_get_channels(j->png, j->info);
  int depth = png_get_bit_depth(j->png, j->info);
  size_t es = depth == 16 ? 2 : 1;
  if (ch < 1 || ch > 4 || (depth != 8 && depth != 16) || png_get_rowbytes(j->png, j->info) != (size_t)w * ch * es) {
    snprintf(j->msg, sizeof j->msg, "unexpected libpng output layout (%d channels of %d bits)", ch, depth);
    return -1;
  }
  int64_t shape[3] = {h, w, ch};
  if (!(j->hwc = tc_empty(shape, 3, TC_OPTS(.dtype = es == 2 ? TC_U16 : TC_U8))) ||
      !(j->rows = tc_malloc(sizeof(png_bytep) * h))) {
    j->status = TC_ERR_NOMEM;
    snprintf(j->msg, sizeof j->msg, "out of memory for %u x %u x %d", (unsigned)w, (unsigned)h, ch);
    return -1;
  }
  unsigned char *base = tc_tensor_data(j->hwc);
  for (png_uint_32 y = 0; y < h; y++) j->rows[y] = base + (size_t)y * w * ch * es;
  png_read_image(j->png, j->rows);
  /* As torchvision, no png_read_end: chunks after the image data (and a missing IEND) are not read,
   * so an eXIf chunk counts when it comes before IDAT (where writers put it). */
  j->orientation = png_orientation(j);
  return 0;
}

static const char *mode_name(tv_image_mode m) {
  static const char *const names[] = {"UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"};
  return (int)m >= 0 && m <= TV_IMAGE_RGB_ALPHA ? names[m] : "unknown";
}

tc_tensor *tv_decode_png(const void *data, size_t size, tv_image_mode mode, bool apply_exif) {
  const char *fn = "tv_decode_png";
  if (tv__check_decode_args(fn, data, size, mode)) return NULL;
  if (size < 8 || png_sig_cmp(data, 0, 8)) {
    tc_set_error(TC_ERR_CORRUPT, "%s: not a PNG file (bad signature)", fn);
    return NULL;
  }
  job j = {.data = data, .size = size, .pos = 8, .mode = mode, .orientation = 1, .status = TC_ERR_CORRUPT};
  j.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j.msg, tv__png_on_error, tv__png_on_warning);
  j.info = j.png ? png_create_info_struct(j.png) : NULL;
  tc_tensor *out = NULL;
  if (!j.info) {
    tc_set_error(TC_ERR_NOMEM, "%s: cannot create a libpng reader", fn);
    goto done;
  }
  png_set_sig_bytes(j.png, 8);
  if (run(&j) != 0) {
    tc_set_error(j.status, "%s: %s (mode %s)", fn, j.msg, mode_name(mode));
    goto done;
  }
  tc_tensor *chw = tc_permute(j.hwc, (const int64_t[]){2, 0, 1}, 3);
  out = chw ? tc_contiguous(chw) : NULL;
  tc_tensor_release(chw);
  if (out && apply_exif && j.orientation != 1) {
    tc_tensor *up = tv__orient(out, j.orientation);
    tc_tensor_release(out);
    out = up;
  }
done:
  png_destroy_read_struct(&j.png, &j.info, NULL);
  tc_free(j.rows);
  tc_tensor_release(j.hwc);
  return out;
}
