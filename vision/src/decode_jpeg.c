/* vision/src/decode_jpeg.c — JPEG decoding through TurboJPEG (libjpeg-turbo), and reading files.
 *
 * TurboJPEG's defaults are the ones torchvision.io.decode_jpeg gets from libjpeg: the accurate
 * integer DCT and fancy (smooth) chroma upsampling, so the decoded pixels are identical. Warnings
 * (a truncated file, corrupt entropy data) are errors here (TJFLAG_STOPONWARNING): a half-decoded
 * image is never returned. The pixels come out interleaved (H, W, C) and are transposed to (C, H, W),
 * then turned upright for the EXIF orientation tag when asked.
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

/* ---- EXIF orientation ------------------------------------------------------------------------------
 * The orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment before the first scan: 1..8, or 1
 * when absent or unreadable. Every offset is bounds-checked (the bytes are untrusted). */
static unsigned rd16(const unsigned char *p, bool le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const unsigned char *p, bool le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
            : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int exif_orientation(const unsigned char *d, size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (d[pos] != 0xFF) return 1;
    unsigned marker = d[pos + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { /* no length */
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return 1; /* scan or end: no EXIF before it */
    size_t len = rd16(d + pos + 2, false);
    if (len < 2 || pos + 2 + len > n) return 1;
    const unsigned char *seg = d + pos + 4;
    size_t sl = len - 2;
    if (marker == 0xE1 && sl >= 14 && !memcmp(seg, "Exif\0\0", 6)) {
      const unsigned char *t = seg + 6;
      size_t tl = sl - 6;
      bool le = t[0] == 'I' && t[1] == 'I';
      if (!le && !(t[0] == 'M' && t[1] == 'M')) return 1;
      if (rd16(t + 2, le) != 42) return 1;
      uint32_t ifd = rd32(t + 4, le);
      if (ifd > tl || tl - ifd < 2) return 1;
      unsigned count = rd16(t + ifd, le);
      for (unsigned e = 0; e < count; e++) {
        size_t at = (size_t)ifd + 2 + 12 * (size_t)e;
        if (at + 12 > tl) return 1;
        if (rd16(t + at, le) == 0x0112 && rd16(t + at + 2, le) == 3) { /* SHORT */
          unsigned v = rd16(t + at + 8, le);
          return v >= 1 && v <= 8 ? (int)v : 1;
        }
      }
      return 1;
    }
    pos += 2 + len;
  }
  return 1;
}

/* out = in (C, H, W) turned upright for EXIF orientation o (as torchvision applies it) */
static tc_tensor *orient(const tc_tensor *in, int o) {
  const int64_t *sz = tc_tensor_shape(in);
  int64_t C = sz[0], H = sz[1], W = sz[2];
  bool swap = o >= 5;
  int64_t shape[3] = {C, swap ? W : H, swap ? H : W};
  tc_tensor *out = tc_empty(shape, 3, TC_OPTS(.dtype = TC_U8));
  if (!out) return NULL;
  const uint8_t *src = tc_tensor_data(in);
  uint8_t *dst = tc_tensor_data(out);
  int64_t Ho = shape[1], Wo = shape[2];
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < Ho; i++)
      for (int64_t j = 0; j < Wo; j++) {
        int64_t si, sj;
        switch (o) {
          case 2: si = i, sj = W - 1 - j; break;         /* mirrored horizontally */
          case 3: si = H - 1 - i, sj = W - 1 - j; break; /* rotated 180 */
          case 4: si = H - 1 - i, sj = j; break;         /* mirrored vertically */
          case 5: si = j, sj = i; break;                 /* transposed */
          case 6: si = H - 1 - j, sj = i; break;         /* rotated 90 clockwise */
          case 7: si = H - 1 - j, sj = W - 1 - i; break; /* transversed */
          case 8: si = j, sj = W - 1 - i; break;         /* rotated 90 counter-clockwise */
          default: si = i, sj = j; break;
        }
        dst[(c * Ho + i) * Wo + j] = src[(c * H + si) * W + sj];
      }
  return out;
}

static const char *mode_name(tv_image_mode m) {
  static const char *const names[] = {"UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"};
  return (int)m >= 0 && m <= TV_IMAGE_RGB_ALPHA ? names[m] : "unknown";
}

tc_tensor *tv_decode_jpeg(const void *data, size_t size, tv_image_mode mode, bool apply_exif) {
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
  int o = apply_exif && out ? exif_orientation(data, size) : 1;
  if (o != 1) {
    tc_tensor *up = orient(out, o);
    tc_tensor_release(out);
    out = up;
  }
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
