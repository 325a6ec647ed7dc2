/* vision/src/decode_image.c — format detection (tv_decode_image, tv_read_image), file writing, and
 * the helpers the JPEG and PNG decoders share: EXIF orientation parsing and applying it.
 *
 * The shared helpers are internal (tv__ prefix; declared in image_io_internal.h).
 */
#include <png.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSSE3__)
#include <tmmintrin.h>
#endif
#include "image_io_internal.h"

/* ---- arguments and libpng's handlers ---------------------------------------------------------------- */
tc_status tv__check_decode_args(const char *fn, const void *data, size_t size, tv_image_mode mode) {
  if (!data || size == 0) return tc_set_error(TC_ERR_ARG, "%s: no data", fn);
  if ((int)mode < 0 || mode > TV_IMAGE_RGB_ALPHA) return tc_set_error(TC_ERR_ARG, "%s: unknown mode %d", fn, (int)mode);
  return TC_OK;
}

void tv__png_on_error(png_structp png, png_const_charp msg) {
  char *buf = png_get_error_ptr(png);
  snprintf(buf, TV__PNG_MSG, "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

void tv__png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* ---- EXIF ------------------------------------------------------------------------------------------
 * The orientation tag (0x0112, type SHORT) of IFD0 in a TIFF-structured EXIF block ("II*\0" or
 * "MM\0*" first): 1..8, or 1 when absent or unreadable. Every offset is bounds-checked (the bytes
 * are untrusted). */
static unsigned rd16(const unsigned char *p, bool le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t rd32(const unsigned char *p, bool le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
            : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int tv__exif_tiff_orientation(const unsigned char *t, size_t tl) {
  if (!t || tl < 8) return 1;
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

/* The orientation of the APP1 "Exif" segment before the first scan (1..8, or 1 when absent or
 * unreadable): a walk over the marker segments, every length bounds-checked. */
int tv__jpeg_exif_orientation(const unsigned char *d, size_t n) {
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
    size_t len = (size_t)d[pos + 2] << 8 | d[pos + 3];
    if (len < 2 || pos + 2 + len > n) return 1;
    const unsigned char *seg = d + pos + 4;
    size_t sl = len - 2;
    if (marker == 0xE1 && sl >= 14 && !memcmp(seg, "Exif\0\0", 6)) return tv__exif_tiff_orientation(seg + 6, sl - 6);
    pos += 2 + len;
  }
  return 1;
}

/* out = in (C, H, W), uint8 or uint16, contiguous, turned upright for EXIF orientation o (as
 * torchvision applies it). A new tensor; in is borrowed. */
tc_tensor *tv__orient(const tc_tensor *in, int o) {
  const int64_t *sz = tc_tensor_shape(in);
  int64_t C = sz[0], H = sz[1], W = sz[2];
  bool swap = o >= 5;
  int64_t shape[3] = {C, swap ? W : H, swap ? H : W};
  tc_dtype dt = tc_tensor_dtype(in);
  tc_tensor *out = tc_empty(shape, 3, TC_OPTS(.dtype = dt));
  if (!out) return NULL;
  size_t es = tc_dtype_size(dt);
  const unsigned char *src = tc_tensor_data(in);
  unsigned char *dst = tc_tensor_data(out);
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
        memcpy(dst + (size_t)((c * Ho + i) * Wo + j) * es, src + (size_t)((c * H + si) * W + sj) * es, es);
      }
  return out;
}

/* ---- format detection ----------------------------------------------------------------------------- */
static bool is_jpeg(const unsigned char *d, size_t n) {
  return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; /* SOI, then a marker */
}
static bool is_png(const unsigned char *d, size_t n) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return n >= 8 && !memcmp(d, sig, 8);
}

tc_tensor *tv_decode_image(const void *data, size_t size, tv_image_mode mode, bool apply_exif) {
  if (!data || size == 0) {
    tc_set_error(TC_ERR_ARG, "tv_decode_image: no data");
    return NULL;
  }
  const unsigned char *d = data;
  if (is_jpeg(d, size)) return tv_decode_jpeg(data, size, mode, apply_exif);
  if (is_png(d, size)) return tv_decode_png(data, size, mode, apply_exif);
  tc_set_error(TC_ERR_UNSUPPORTED,
               "tv_decode_image: unknown image format (first bytes %02x %02x %02x %02x): only JPEG and PNG are supported",
               d[0], size > 1 ? d[1] : 0, size > 2 ? d[2] : 0, size > 3 ? d[3] : 0);
  return NULL;
}

tc_tensor *tv_read_image(const char *path, tv_image_mode mode) {
  tc_tensor *bytes = tv_read_file(path);
  if (!bytes) return NULL;
  tc_tensor *img = NULL;
  if (tc_tensor_numel(bytes) == 0)
    tc_set_error(TC_ERR_CORRUPT, "tv_read_image: %s is empty", path);
  else
    img = tv_decode_image(tc_tensor_data(bytes), (size_t)tc_tensor_numel(bytes), mode, true);
  tc_tensor_release(bytes);
  return img;
}

/* ---- writing ---------------------------------------------------------------------------------------- */
tc_status tv_write_file(const char *path, const tc_tensor *data) {
  if (!path || !data) return tc_set_error(TC_ERR_ARG, "tv_write_file: %s is NULL", path ? "data" : "path");
  if (tc_tensor_dtype(data) != TC_U8 || tc_tensor_ndim(data) != 1)
    return tc_set_error(TC_ERR_ARG, "tv_write_file: data must be a 1-D uint8 tensor");
  if (tc_tensor_device(data).type != TC_DEVICE_CPU)
    return tc_set_error(TC_ERR_DEVICE, "tv_write_file: data must be on the CPU");
  tc_tensor *c = tc_contiguous(data); /* a new reference (the same storage when already contiguous) */
  if (!c) return tc_last_status();
  tc_status st = TC_OK;
  FILE *f = fopen(path, "wb");
  size_t n = (size_t)tc_tensor_numel(c);
  if (!f) {
    st = tc_set_error(TC_ERR_IO, "tv_write_file: cannot open %s for writing", path);
  } else {
    bool ok = n == 0 || fwrite(tc_tensor_data(c), 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok) st = tc_set_error(TC_ERR_IO, "tv_write_file: writing %zu bytes to %s failed", n, path);
  }
  tc_tensor_release(c);
  return st;
}

tc_status tv_write_png(const tc_tensor *img, const char *path, int compression_level) {
  tc_tensor *bytes = tv_encode_png(img, compression_level);
  if (!bytes) return tc_last_status();
  tc_status st = tv_write_file(path, bytes);
  tc_tensor_release(bytes);
  return st;
}

tc_status tv_write_jpeg(const tc_tensor *img, const char *path, int quality) {
  tc_tensor *bytes = tv_encode_jpeg(img, quality, TV_JPEG_SUBSAMPLING_420);
  if (!bytes) return tc_last_status();
  tc_status st = tv_write_file(path, bytes);
  tc_tensor_release(bytes);
  return st;
}

/* ---- HWC -> CHW ---------------------------------------------------------------------------------- */
void tv__deinterleave3(const uint8_t *src, uint8_t *r, uint8_t *g, uint8_t *b, int64_t n) {
  int64_t p = 0;
#if defined(__SSSE3__)
  /* 48 bytes = 16 pixels in three vectors a, b, c; each plane's 16 bytes are gathered from the
   * three with pshufb (-1 lanes give 0) and OR-ed: R takes a's bytes 0,3,..,15, b's 2,5,..,14 and
   * c's 1,4,..,13; G and B the next offsets. */
  const __m128i ra = _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i rb = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14, -1, -1, -1, -1, -1);
  const __m128i rc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 4, 7, 10, 13);
  const __m128i ga = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i gb = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1);
  const __m128i gc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2, 5, 8, 11, 14);
  const __m128i ba = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i bb = _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1);
  const __m128i bc = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 3, 6, 9, 12, 15);
  for (; p + 16 <= n; p += 16) {
    const __m128i *s = (const __m128i *)(const void *)(src + 3 * p);
    __m128i va = _mm_loadu_si128(s), vb = _mm_loadu_si128(s + 1), vc = _mm_loadu_si128(s + 2);
    __m128i vr = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(va, ra), _mm_shuffle_epi8(vb, rb)), _mm_shuffle_epi8(vc, rc));
    __m128i vg = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(va, ga), _mm_shuffle_epi8(vb, gb)), _mm_shuffle_epi8(vc, gc));
    __m128i vbl = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(va, ba), _mm_shuffle_epi8(vb, bb)), _mm_shuffle_epi8(vc, bc));
    _mm_storeu_si128((__m128i *)(void *)(r + p), vr);
    _mm_storeu_si128((__m128i *)(void *)(g + p), vg);
    _mm_storeu_si128((__m128i *)(void *)(b + p), vbl);
  }
#endif
  for (; p < n; p++) r[p] = src[3 * p], g[p] = src[3 * p + 1], b[p] = src[3 * p + 2];
}
