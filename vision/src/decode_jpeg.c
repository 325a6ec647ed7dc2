/* vision/src/decode_jpeg.c — JPEG decoding through TurboJPEG (libjpeg-turbo), and reading files.
 *
 * TurboJPEG's defaults are the ones torchvision.io.decode_jpeg gets from libjpeg: the accurate
 * integer DCT and fancy (smooth) chroma upsampling, so the decoded pixels are identical. Warnings
 * (a truncated file, corrupt entropy data) are errors here (TJFLAG_STOPONWARNING): a half-decoded
 * image is never returned. The pixels come out interleaved (H, W, C) and are transposed to (C, H, W).
 */
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>
#include "ctorch/vision.h"

#define MAX_PIXELS ((int64_t)1 << 28)

tc_tensor *tv_read_file(const char *path) {
  if (!path) {
    tc_set_error(TC_ERR_ARG, "tv_read_file: path is NULL");
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    tc_set_error(TC_ERR_IO, "tv_read_file: cannot open %s", path);
    return NULL;
  }
  tc_tensor *t = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
    tc_set_error(TC_ERR_IO, "tv_read_file: cannot tell the size of %s", path);
  } else {
    int64_t len = n;
    t = tc_empty(&len, 1, TC_OPTS(.dtype = TC_U8));
    if (t && len && fread(tc_tensor_data(t), 1, (size_t)len, f) != (size_t)len) {
      tc_set_error(TC_ERR_IO, "tv_read_file: reading %s failed", path);
      tc_tensor_release(t);
      t = NULL;
    }
  }
  fclose(f);
  return t;
}

static const char *mode_name(tv_image_mode m) {
  static const char *const names[] = {"UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"};
  return (int)m >= 0 && m <= TV_IMAGE_RGB_ALPHA ? names[m] : "unknown";
}

tc_tensor *tv_decode_jpeg(const void *data, size_t size, tv_image_mode mode) {
  const char *fn = "tv_decode_jpeg";
  if (!data || size == 0) {
    tc_set_error(TC_ERR_ARG, "%s: no data", fn);
    return NULL;
  }
  if ((int)mode < 0 || mode > TV_IMAGE_RGB_ALPHA) {
    tc_set_error(TC_ERR_ARG, "%s: unknown mode %d", fn, (int)mode);
    return NULL;
  }
  if (size > (size_t)0xffffffffu) {
    tc_set_error(TC_ERR_UNSUPPORTED, "%s: %zu bytes is beyond what TurboJPEG takes", fn, size);
    return NULL;
  }
  tjhandle h = tjInitDecompress();
  if (!h) {
    tc_set_error(TC_ERR_NOMEM, "%s: cannot create a decompressor", fn);
    return NULL;
  }
  tc_tensor *out = NULL, *hwc = NULL;
  int w = 0, ht = 0, subsamp = 0, cs = 0;
  if (tjDecompressHeader3(h, data, (unsigned long)size, &w, &ht, &subsamp, &cs) != 0) {
    tc_set_error(TC_ERR_CORRUPT, "%s: not a readable JPEG: %s", fn, tjGetErrorStr2(h));
    goto done;
  }
  if (w <= 0 || ht <= 0 || (int64_t)w * ht > MAX_PIXELS) {
    tc_set_error(TC_ERR_CORRUPT, "%s: image of %d x %d pixels is empty or beyond the limit of %lld pixels", fn, w, ht,
                 (long long)MAX_PIXELS);
    goto done;
  }
  if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
    tc_set_error(TC_ERR_UNSUPPORTED, "%s: CMYK/YCCK JPEGs are not supported yet", fn);
    goto done;
  }
  bool gray_file = cs == TJCS_GRAY;
  bool gray = mode == TV_IMAGE_GRAY || mode == TV_IMAGE_GRAY_ALPHA || (mode == TV_IMAGE_UNCHANGED && gray_file);
  bool alpha = mode == TV_IMAGE_GRAY_ALPHA || mode == TV_IMAGE_RGB_ALPHA;
  int ch = gray ? 1 : 3;
  int64_t shape[3] = {ht, w, ch};
  if (!(hwc = tc_empty(shape, 3, TC_OPTS(.dtype = TC_U8)))) goto done;
  if (tjDecompress2(h, data, (unsigned long)size, tc_tensor_data(hwc), w, 0, ht, gray ? TJPF_GRAY : TJPF_RGB,
                    TJFLAG_STOPONWARNING) != 0) {
    tc_set_error(TC_ERR_CORRUPT, "%s: decoding failed (mode %s): %s", fn, mode_name(mode), tjGetErrorStr2(h));
    goto done;
  }
  tc_tensor *chw = tc_permute(hwc, (const int64_t[]){2, 0, 1}, 3);
  out = chw ? tc_contiguous(chw) : NULL;
  tc_tensor_release(chw);
  if (out && alpha) { /* an opaque alpha channel after the colour ones */
    tc_tensor *a = tc_full((const int64_t[]){1, ht, w}, 3, 255, TC_OPTS(.dtype = TC_U8));
    tc_tensor *with = a ? tc_cat((const tc_tensor *[]){out, a}, 2, 0) : NULL;
    tc_tensor_release(a);
    tc_tensor_release(out);
    out = with;
  }
done:
  tc_tensor_release(hwc);
  tjDestroy(h);
  return out;
}
