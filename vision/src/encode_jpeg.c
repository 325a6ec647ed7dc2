/* vision/src/encode_jpeg.c — JPEG encoding through TurboJPEG (torchvision.io.encode_jpeg).
 *
 * torchvision encodes with libjpeg's defaults: the accurate integer DCT (JDCT_ISLOW), 4:2:0 chroma,
 * the standard Huffman tables, a JFIF header, quality scaled by jpeg_set_quality. TurboJPEG's
 * defaults differ only in the DCT (the fast one), so TJFLAG_ACCURATEDCT is passed: an RGB image at
 * 4:2:0 then gets the same settings as torchvision's.
 */
#include <string.h>
#include <turbojpeg.h>
#include "ctorch/vision_io.h"

static int tj_subsampling(tv_jpeg_subsampling s) {
  switch (s) {
    case TV_JPEG_SUBSAMPLING_422: return TJSAMP_422;
    case TV_JPEG_SUBSAMPLING_444: return TJSAMP_444;
    case TV_JPEG_SUBSAMPLING_GRAY: return TJSAMP_GRAY;
    default: return TJSAMP_420;
  }
}

tc_tensor *tv_encode_jpeg(const tc_tensor *img, int quality, tv_jpeg_subsampling subsampling) {
  const char *fn = "tv_encode_jpeg";
  if (!img) {
    tc_set_error(TC_ERR_ARG, "%s: img is NULL", fn);
    return NULL;
  }
  const int64_t *s = tc_tensor_shape(img);
  if (tc_tensor_ndim(img) != 3 || (s[0] != 1 && s[0] != 3) || s[1] < 1 || s[2] < 1 || s[1] > 65500 ||
      s[2] > 65500) {
    tc_set_error(TC_ERR_SHAPE, "%s: img must be (C, H, W) with C 1 or 3 and 1 <= H, W <= 65500", fn);
    return NULL;
  }
  if (tc_tensor_dtype(img) != TC_U8) {
    tc_set_error(TC_ERR_DTYPE, "%s: img must be uint8", fn);
    return NULL;
  }
  if (tc_tensor_device(img).type != TC_DEVICE_CPU) {
    tc_set_error(TC_ERR_DEVICE, "%s: img must be on the CPU", fn);
    return NULL;
  }
  if (quality < 1 || quality > 100) {
    tc_set_error(TC_ERR_ARG, "%s: quality %d is not in 1..100", fn, quality);
    return NULL;
  }
  if ((int)subsampling < 0 || subsampling > TV_JPEG_SUBSAMPLING_GRAY) {
    tc_set_error(TC_ERR_ARG, "%s: unknown subsampling %d", fn, (int)subsampling);
    return NULL;
  }
  bool gray_in = s[0] == 1;
  tc_tensor *perm = tc_permute(img, (const int64_t[]){1, 2, 0}, 3);
  tc_tensor *hwc = perm ? tc_contiguous(perm) : NULL; /* hwc: (H, W, C) interleaved */
  tc_tensor_release(perm);
  if (!hwc) return NULL;
  tc_tensor *out = NULL;
  unsigned char *buf = NULL;
  unsigned long len = 0;
  tjhandle h = tjInitCompress();
  if (!h) {
    tc_set_error(TC_ERR_NOMEM, "%s: cannot create a compressor", fn);
  } else if (tjCompress2(h, tc_tensor_data(hwc), (int)s[2], 0, (int)s[1], gray_in ? TJPF_GRAY : TJPF_RGB, &buf, &len,
                         gray_in ? TJSAMP_GRAY : tj_subsampling(subsampling), quality, TJFLAG_ACCURATEDCT) != 0) {
    tc_set_error(TC_ERR_NOMEM, "%s: compression failed: %s", fn, tjGetErrorStr2(h));
  } else {
    int64_t n = (int64_t)len;
    if ((out = tc_empty(&n, 1, TC_OPTS(.dtype = TC_U8)))) memcpy(tc_tensor_data(out), buf, len);
  }
  tjFree(buf);
  if (h) tjDestroy(h);
  tc_tensor_release(hwc);
  return out;
}
