/* vision/src/decode_jpeg.c — JPEG decoding through TurboJPEG (libjpeg-turbo), and reading files.
 *
 * TurboJPEG's defaults are the ones torchvision.io.decode_jpeg gets from libjpeg: the accurate
 * integer DCT and fancy (smooth) chroma upsampling, so the decoded pixels are identical. Warnings
 * (a truncated file, corrupt entropy data) are errors here (TJFLAG_STOPONWARNING): a half-decoded
 * image is never returned. The pixels come out interleaved (H, W, C) and are transposed to (C, H, W),
 * then turned upright for the EXIF orientation tag when asked. CMYK/YCCK files are converted as
 * torchvision converts them; tv_decode_jpeg_scaled decodes at a reduced size in the DCT domain.
 */
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>
#include "image_io_internal.h"

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

/* ---- CMYK ------------------------------------------------------------------------------------------
 * CMYK and YCCK files come out of libjpeg as the four stored channels. Adobe's files (Photoshop,
 * PIL) store them inverted, and torchvision converts as if they were: R = k - k*(255-c)/255 with
 * the division rounded as PIL does, then gray = ITU-R 601 luma with 16-bit fixed-point weights. */
static uint8_t cmyk_channel(int k, int cmy) {
  int v = k * cmy + 128;
  v = ((v >> 8) + v) >> 8;
  int r = k - v;
  return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

static uint8_t luma(int r, int g, int b) { return (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16); }

/* out (C, H, W) from the interleaved decoder output hwc (H, W, in_ch). The first colour channels
 * come from hwc, converted from CMYK when cmyk (to 3 channels, or 1 when gray); a channel beyond
 * them is an opaque alpha. */
static void fill_chw(uint8_t *out, int64_t C, const uint8_t *hwc, int in_ch, int64_t npix, bool cmyk, bool gray) {
  int color = cmyk ? (gray ? 1 : 3) : in_ch;
  if (!cmyk && in_ch == 3) tv__deinterleave3(hwc, out, out + npix, out + 2 * npix, npix);
  for (int64_t p = 0; p < npix && (cmyk || in_ch != 3); p++) {
    const uint8_t *px = hwc + p * in_ch;
    if (cmyk) {
      int k = px[3];
      uint8_t r = cmyk_channel(k, 255 - px[0]), g = cmyk_channel(k, 255 - px[1]), b = cmyk_channel(k, 255 - px[2]);
      if (gray) {
        out[p] = luma(r, g, b);
      } else {
        out[p] = r, out[npix + p] = g, out[2 * npix + p] = b;
      }
    } else {
      for (int c = 0; c < in_ch; c++) out[c * npix + p] = px[c];
    }
  }
  for (int64_t c = color; c < C; c++) memset(out + c * npix, 255, (size_t)npix);
}

/* The smallest TurboJPEG scaling factor <= 1 that keeps w x h at least min_w x min_h (a bound <= 0
 * is no bound); 1/1 when even the full size is smaller. */
static tjscalingfactor pick_scale(int w, int h, int64_t min_w, int64_t min_h) {
  tjscalingfactor best = {1, 1};
  int n = 0;
  tjscalingfactor *sf = tjGetScalingFactors(&n);
  for (int i = 0; sf && i < n; i++) {
    if (sf[i].num > sf[i].denom) continue;
    int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
    if ((min_w > 0 && sw < min_w) || (min_h > 0 && sh < min_h)) continue;
    if ((int64_t)sf[i].num * best.denom < (int64_t)best.num * sf[i].denom) best = sf[i];
  }
  return best;
}

/* One decode: the full image (scaled = false) or the DCT-scaled one for min_h x min_w. */
static tc_tensor *decode(const char *fn, const void *data, size_t size, tv_image_mode mode, bool apply_exif,
                         bool scaled, int64_t min_h, int64_t min_w) {
  if (tv__check_decode_args(fn, data, size, mode)) return NULL;
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
  int o = apply_exif ? tv__jpeg_exif_orientation(data, size) : 1;
  if (scaled) { /* the bounds are for the upright image: swap them when the orientation transposes */
    tjscalingfactor sf = o >= 5 ? pick_scale(w, ht, min_h, min_w) : pick_scale(w, ht, min_w, min_h);
    w = TJSCALED(w, sf), ht = TJSCALED(ht, sf);
  }
  bool cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
  bool gray_file = cs == TJCS_GRAY;
  bool gray = mode == TV_IMAGE_GRAY || mode == TV_IMAGE_GRAY_ALPHA || (mode == TV_IMAGE_UNCHANGED && gray_file);
  bool alpha = mode == TV_IMAGE_GRAY_ALPHA || mode == TV_IMAGE_RGB_ALPHA;
  int in_ch = cmyk ? 4 : gray ? 1 : 3;
  int pf = cmyk ? TJPF_CMYK : gray ? TJPF_GRAY : TJPF_RGB;
  int64_t C = cmyk && mode == TV_IMAGE_UNCHANGED ? 4 : (gray ? 1 : 3) + (alpha ? 1 : 0);
  int64_t shape[3] = {ht, w, in_ch};
  if (!(hwc = tc_empty(shape, 3, TC_OPTS(.dtype = TC_U8)))) goto done;
  if (tjDecompress2(h, data, (unsigned long)size, tc_tensor_data(hwc), w, 0, ht, pf, TJFLAG_STOPONWARNING) != 0) {
    tc_set_error(TC_ERR_CORRUPT, "%s: decoding failed (mode %s): %s", fn, mode_name(mode), tjGetErrorStr2(h));
    goto done;
  }
  if (!(out = tc_empty((const int64_t[]){C, ht, w}, 3, TC_OPTS(.dtype = TC_U8)))) goto done;
  fill_chw(tc_tensor_data(out), C, tc_tensor_data(hwc), in_ch, (int64_t)ht * w, cmyk && mode != TV_IMAGE_UNCHANGED,
           gray);
  if (o != 1) {
    tc_tensor *up = tv__orient(out, o);
    tc_tensor_release(out);
    out = up;
  }
done:
  tc_tensor_release(hwc);
  tjDestroy(h);
  return out;
}

tc_tensor *tv_decode_jpeg(const void *data, size_t size, tv_image_mode mode, bool apply_exif) {
  return decode("tv_decode_jpeg", data, size, mode, apply_exif, false, 0, 0);
}

tc_tensor *tv_decode_jpeg_scaled(const void *data, size_t size, tv_image_mode mode, bool apply_exif, int64_t min_h,
                                 int64_t min_w) {
  return decode("tv_decode_jpeg_scaled", data, size, mode, apply_exif, true, min_h, min_w);
}
