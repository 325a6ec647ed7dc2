/* vision/src/decode_crop.c — decode_jpeg + RandomResizedCrop fused: decode only what the crop needs.
 *
 * A training pipeline decodes a whole 640x480 JPEG and then keeps a random crop of it, resized to
 * 224x224. Here the header alone gives the size, the crop box is drawn as RandomResizedCrop draws it,
 * and libjpeg-turbo decodes only the crop:
 *   - rows: jpeg_skip_scanlines passes the rows above the crop (entropy decoding only, no IDCT,
 *     upsampling or colour conversion) and decoding stops after the crop's last row;
 *   - columns: jpeg_crop_scanline limits IDCT, upsampling and colour conversion to the iMCU columns
 *     that hold the crop;
 *   - scale: the smallest DCT scaling factor n/8 (n in {1, 2, 4, 8}) that keeps the crop at least
 *     out_h x out_w, so a large crop is decoded small (the 1/2 IDCT is cheaper than the full one,
 *     and the resize then has fewer pixels to filter).
 * The header is read with libjpeg's jpeg_read_header (the parser tjDecompressHeader3 runs), so the
 * file is parsed once. Entropy decoding cannot be skipped (no restart markers in typical files): the
 * rows above the crop and the columns beside it are still Huffman-decoded, which bounds the gain.
 * TurboJPEG 2.1 has no cropping API, so this file uses libjpeg's API of the same library, with the
 * settings TurboJPEG (and so tv_decode_jpeg) uses: accurate integer DCT, fancy upsampling, warnings
 * treated as errors. A few pixels of margin around the crop are decoded and dropped, so the fancy
 * upsampler sees the same neighbours as in a full decode: without scaling the crop's pixels equal
 * those of tv_decode_jpeg.
 *
 * Geometry with scaling (factor s = n/8): scaled pixel i covers source pixels [i/s, (i+1)/s). The box
 * [top, top+h) maps to [top*s, (top+h)*s), whose edges are rounded to whole scaled pixels, and that
 * integer region is resized to (out_h, out_w) (tv_resize has no fractional source box). The rounding
 * moves each edge by at most 0.5 scaled pixels (4/n source pixels); n is chosen with h*s >= out_h and
 * w*s >= out_w, and round(a + b) - round(a) >= floor(b), so the region is never smaller than the
 * output. With EXIF orientation the box is drawn upright, mapped to the stored layout, decoded, and
 * the small crop is turned upright before the resize.
 *
 * Errors: libjpeg reports through error_exit, which longjmps back to decode_header or decode_rows;
 * everything that must be freed then lives in a crop_job owned by the caller's frame, so nothing
 * leaks.
 */
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h> /* before jpeglib.h: it uses FILE */
#include <string.h>
#include <jpeglib.h>
#include "image_io_internal.h"
#include "transforms_internal.h"

#define MAX_PIXELS ((int64_t)1 << 28)
/* Decoded pixels kept on each side of the crop (then dropped). The h2 fancy upsampler reads the
 * chroma sample next to a pixel's own (up to two output pixels away) and treats the edge of the
 * decoded columns as the image edge: without the column margin, edge pixels of a 4:2:0 crop differ
 * from a full decode by 1 (test_decode_crop). jpeg_skip_scanlines keeps the h2v2 upsampler's context
 * row itself (no differences without a row margin); the two rows are a cheap guard. */
#define COL_MARGIN 2
#define ROW_MARGIN 2
/* Rows per jpeg_read_scanlines call (each call's rows are published to the resizer at once). */
#define BATCH 16

/* Upright pixel (i, j) -> stored pixel (*si, *sj) of a stored H x W image with orientation o: the
 * inverse of what tv__orient does, with the same table. */
static void upright_to_stored(int o, int64_t H, int64_t W, int64_t i, int64_t j, int64_t *si, int64_t *sj) {
  switch (o) {
    case 2: *si = i, *sj = W - 1 - j; break;
    case 3: *si = H - 1 - i, *sj = W - 1 - j; break;
    case 4: *si = H - 1 - i, *sj = j; break;
    case 5: *si = j, *sj = i; break;
    case 6: *si = H - 1 - j, *sj = i; break;
    case 7: *si = H - 1 - j, *sj = W - 1 - i; break;
    case 8: *si = j, *sj = W - 1 - i; break;
    default: *si = i, *sj = j; break;
  }
}

/* The upright box (top, left, h, w) as a stored-image box: the bounding box of its two corners. */
static void box_to_stored(int o, int64_t H, int64_t W, const int64_t box[4], int64_t out[4]) {
  int64_t a0, b0, a1, b1;
  upright_to_stored(o, H, W, box[0], box[1], &a0, &b0);
  upright_to_stored(o, H, W, box[0] + box[2] - 1, box[1] + box[3] - 1, &a1, &b1);
  out[0] = a0 < a1 ? a0 : a1, out[1] = b0 < b1 ? b0 : b1;
  out[2] = (a0 < a1 ? a1 - a0 : a0 - a1) + 1, out[3] = (b0 < b1 ? b1 - b0 : b0 - b1) + 1;
}

/* ---- libjpeg error handling ------------------------------------------------------------------------ */
typedef struct crop_err {
  struct jpeg_error_mgr pub; /* first: libjpeg sees a jpeg_error_mgr */
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} crop_err;

static void on_error(j_common_ptr cinfo) {
  crop_err *e = (crop_err *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings (level -1: corrupt entropy data, premature end of data) stop the decode, as
 * TJFLAG_STOPONWARNING makes tv_decode_jpeg do; trace messages (level >= 0) are ignored. */
static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) on_error(cinfo);
}

/* ---- one fused decode ------------------------------------------------------------------------------ */
/* Everything one call owns or computes. It lives in the caller's frame, so its fields keep their
 * values across the longjmp out of libjpeg (they are not locals of the function calling setjmp). */
typedef struct crop_job {
  const char *fn;
  const unsigned char *data;
  size_t size;
  tv_image_mode mode;
  int64_t out_h, out_w;
  const double *scale, *ratio;
  tc_generator *gen;
  /* filled by plan() */
  int orient;          /* EXIF orientation 1..8 */
  int64_t box[4];      /* the drawn (top, left, h, w), upright coordinates */
  int64_t sbox[4];     /* the same in stored coordinates */
  int n;               /* DCT scale n/8 */
  int64_t r0, r1;      /* crop rows [r0, r1) of the scaled stored image */
  int64_t c0, c1;      /* crop columns [c0, c1) */
  bool full_path;      /* CMYK/YCCK: decode fully instead (as tv_decode_jpeg converts them) */
  int channels;        /* channels libjpeg writes: 1 (gray) or 3 (RGB) */
  /* filled by decode_header() and decode_rows(); owned */
  struct jpeg_decompress_struct cinfo;
  crop_err err;
  bool created;        /* cinfo needs jpeg_destroy_decompress */
  tc_tensor *crop;     /* uint8 (C, r1 - r0, c1 - c0): the crop, channels first (+ alpha plane) */
  JSAMPROW rows[BATCH]; /* one jpeg_read_scanlines call's rows, pointers into inter */
  int64_t xoff;        /* first decoded column (scaled stored coordinates) */
  /* the overlapped decode and resize (decode_and_resize) */
  atomic_llong rows_ready; /* crop rows written so far */
  atomic_int finished;     /* the decoder returned (rows_ready is final) */
  atomic_int role;         /* tasks claim the decoder's role first, then the resizer's */
  tc_status decode_status; /* the decoder's result, and its message (set on its thread) */
  char decode_msg[512];
  tv__resize_stream *stream;
  uint8_t *inter;          /* tc_malloc'd: decoded rows rs .. r1, interleaved, inter_stride bytes each */
  int64_t inter_stride, rs;
  tc_tensor *out;          /* (C, out_h, out_w) */
} crop_job;

/* The smallest n in {1, 2, 4, 8} with h*n/8 >= out_h and w*n/8 >= out_w (8 when even the full size
 * is smaller: the decoder never upscales). Only these four: libjpeg-turbo has SIMD IDCTs for 8x8, 4x4,
 * 2x2 and 1x1 blocks, while the other sizes (and the doubled sizes it gives 4:2:0 chroma, 10x10,
 * 12x12, 14x14) run scalar C code that costs more than the pixels they save. */
static int pick_scale(int64_t h, int64_t w, int64_t out_h, int64_t out_w) {
  for (int n = 1; n < 8; n *= 2)
    if (h * n >= out_h * 8 && w * n >= out_w * 8) return n;
  return 8;
}

/* TC_OK when the scan data (from p to the end) holds the end-of-image marker. In entropy-coded data
 * 0xFF is always followed by 0x00 or a restart marker, so FF D9 there is the EOI: a file without it
 * is truncated. Searched from the end, so a whole file costs a few byte compares. */
static bool has_eoi(const unsigned char *p, const unsigned char *end) {
  for (const unsigned char *q = end - 1; q > p; q--)
    if (q[0] == 0xD9 && q[-1] == 0xFF) return true;
  return false;
}

/* After the header: size checks, orientation, the box draw, the scale and the scaled region. */
static tc_status plan(crop_job *job) {
  struct jpeg_decompress_struct *ci = &job->cinfo;
  int64_t W = ci->image_width, H = ci->image_height;
  if (W <= 0 || H <= 0 || W * H > MAX_PIXELS)
    return tc_set_error(TC_ERR_CORRUPT, "%s: image of %lld x %lld pixels is empty or beyond the limit of %lld pixels",
                        job->fn, (long long)W, (long long)H, (long long)MAX_PIXELS);
  if (!has_eoi(ci->src->next_input_byte, job->data + job->size))
    return tc_set_error(TC_ERR_CORRUPT, "%s: truncated JPEG (no end-of-image marker)", job->fn);
  job->orient = tv__jpeg_exif_orientation(job->data, job->size);
  bool swap = job->orient >= 5;
  if (tv_random_resized_crop_params(swap ? W : H, swap ? H : W, job->scale, job->ratio, job->gen, job->box))
    return tc_last_status();
  job->full_path = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
  box_to_stored(job->orient, H, W, job->box, job->sbox);
  int n = job->n = pick_scale(job->box[2], job->box[3], job->out_h, job->out_w);
  /* round(x * n / 8) = floor((x * n + 4) / 8) for the edges of the stored box */
  job->r0 = (job->sbox[0] * n + 4) / 8, job->r1 = ((job->sbox[0] + job->sbox[2]) * n + 4) / 8;
  job->c0 = (job->sbox[1] * n + 4) / 8, job->c1 = ((job->sbox[1] + job->sbox[3]) * n + 4) / 8;
  return TC_OK;
}

/* The output colour space: gray for GRAY modes and for gray files in UNCHANGED, else RGB (libjpeg
 * converts YCbCr and RGB files to RGB and replicates gray ones). */
static void set_output(crop_job *job) {
  struct jpeg_decompress_struct *ci = &job->cinfo;
  tv_image_mode m = job->mode;
  bool gray = m == TV_IMAGE_GRAY || m == TV_IMAGE_GRAY_ALPHA ||
              (m == TV_IMAGE_UNCHANGED && ci->jpeg_color_space == JCS_GRAYSCALE);
  ci->out_color_space = gray ? JCS_GRAYSCALE : JCS_EXT_RGB;
  job->channels = gray ? 1 : 3;
  ci->dct_method = JDCT_ISLOW;
  ci->do_fancy_upsampling = TRUE;
  ci->scale_num = (unsigned)job->n;
  ci->scale_denom = 8;
}

/* The crop tensor (C, r1 - r0, c1 - c0): C decoded channels, plus an opaque alpha plane in the
 * alpha modes (filled here; the decoded rows fill the others). */
static tc_status alloc_crop(crop_job *job) {
  bool alpha = job->mode == TV_IMAGE_GRAY_ALPHA || job->mode == TV_IMAGE_RGB_ALPHA;
  int64_t h = job->r1 - job->r0, w = job->c1 - job->c0, C = job->channels + (alpha ? 1 : 0);
  if (!(job->crop = tc_empty((const int64_t[]){C, h, w}, 3, TC_OPTS(.dtype = TC_U8)))) return tc_last_status();
  if (alpha) memset((uint8_t *)tc_tensor_data(job->crop) + job->channels * h * w, 255, (size_t)(h * w));
  return TC_OK;
}

/* Row y of the crop from one decoded (interleaved, xoff-based) row: channels to their planes. */
static void scatter_row(crop_job *job, const uint8_t *row, int64_t y) {
  int ch = job->channels;
  int64_t h = job->r1 - job->r0, w = job->c1 - job->c0;
  const uint8_t *src = row + (job->c0 - job->xoff) * ch;
  uint8_t *r = (uint8_t *)tc_tensor_data(job->crop) + y * w;
  if (ch == 1) {
    memcpy(r, src, (size_t)w);
    return;
  }
  tv__deinterleave3(src, r, r + h * w, r + 2 * h * w, w);
}

/* Decodes the crop's rows (from ROW_MARGIN rows above it) and columns (with COL_MARGIN columns each
 * side, widened by libjpeg to iMCU boundaries) of the scaled image into job->crop. */
static tc_status read_rows(crop_job *job) {
  struct jpeg_decompress_struct *ci = &job->cinfo;
  JDIMENSION sw = ci->output_width, sh = ci->output_height;
  if (job->r1 > (int64_t)sh || job->c1 > (int64_t)sw)
    return tc_set_error(TC_ERR_CORRUPT, "%s: scaled size %u x %u does not hold the crop", job->fn, sw, sh);
  int64_t cl = job->c0 - COL_MARGIN < 0 ? 0 : job->c0 - COL_MARGIN;
  int64_t cr = job->c1 + COL_MARGIN > (int64_t)sw ? (int64_t)sw : job->c1 + COL_MARGIN;
  JDIMENSION xoff = (JDIMENSION)cl, width = (JDIMENSION)(cr - cl);
  jpeg_crop_scanline(ci, &xoff, &width); /* moves xoff left to an iMCU boundary; output_width = width */
  job->xoff = xoff;
  int64_t rs = job->r0 - ROW_MARGIN < 0 ? 0 : job->r0 - ROW_MARGIN;
  if (rs > 0) jpeg_skip_scanlines(ci, (JDIMENSION)rs);
  size_t stride = (size_t)ci->output_width * (size_t)job->channels;
  /* the rows go straight into one interleaved buffer; scatter_rows (the resizer's thread, or the
   * caller after the decode) splits them into the crop's planes */
  if (!(job->inter = tc_malloc(stride * (size_t)(job->r1 - rs)))) return tc_last_status();
  job->inter_stride = (int64_t)stride, job->rs = rs;
  while ((int64_t)ci->output_scanline < job->r1) {
    int64_t first = ci->output_scanline, want = job->r1 - first < BATCH ? job->r1 - first : BATCH;
    for (int64_t k = 0; k < want; k++) job->rows[k] = job->inter + (size_t)(first - rs + k) * stride;
    JDIMENSION got = jpeg_read_scanlines(ci, job->rows, (JDIMENSION)want);
    if (got == 0) return tc_set_error(TC_ERR_CORRUPT, "%s: the decoder returned no rows", job->fn);
    int64_t done = first + (int64_t)got - job->r0;
    if (done > 0) atomic_store_explicit(&job->rows_ready, done, memory_order_release);
  }
  return TC_OK;
}

/* Crop rows [y0, y1) from the decoded rows into the crop's planes. */
static void scatter_rows(crop_job *job, int64_t y0, int64_t y1) {
  for (int64_t y = y0; y < y1; y++)
    scatter_row(job, job->inter + (size_t)((y + job->r0 - job->rs) * job->inter_stride), y);
}

/* The libjpeg part, in two phases: the header and the plan (and the output settings), then the
 * decode of the region. Every libjpeg call is made from one of these two functions (or below), each
 * arming the error jump itself, so error_exit's longjmp always lands in a live frame of the thread
 * running the phase. The caller allocates the crop in between. */
static tc_status decode_header(crop_job *job) {
  struct jpeg_decompress_struct *ci = &job->cinfo;
  ci->err = jpeg_std_error(&job->err.pub);
  job->err.pub.error_exit = on_error;
  job->err.pub.emit_message = on_message;
  if (setjmp(job->err.jump))
    return tc_set_error(TC_ERR_CORRUPT, "%s: decoding failed (mode %d): %s", job->fn, (int)job->mode, job->err.msg);
  jpeg_create_decompress(ci);
  job->created = true;
  jpeg_mem_src(ci, job->data, (unsigned long)job->size);
  jpeg_read_header(ci, TRUE);
  if (plan(job)) return tc_last_status();
  if (!job->full_path) set_output(job);
  return TC_OK;
}

static tc_status decode_rows(crop_job *job) {
  struct jpeg_decompress_struct *ci = &job->cinfo;
  if (setjmp(job->err.jump))
    return tc_set_error(TC_ERR_CORRUPT, "%s: decoding failed (mode %d): %s", job->fn, (int)job->mode, job->err.msg);
  jpeg_start_decompress(ci);
  tc_status st = read_rows(job);
  jpeg_abort_decompress(ci); /* the rows below the crop are never decoded */
  return st;
}

/* ---- decoding and resizing at once ------------------------------------------------------------------ *
 * With two threads, one decodes the crop's rows while the other resizes the rows already decoded
 * (the resize is a fifth of the work: overlapped, the image costs about its decode). Two tasks on
 * the pool; each first claims the decoder's role, so whichever runs first decodes and a task that
 * finds the role taken waits only for a decoder that is running. Run one after the other (a busy
 * pool, one thread), they simply decode, then resize. The decoder's error, set on its thread, is
 * carried back to the caller's. */
static void resize_ready_rows(crop_job *job) {
  int64_t hdone = 0, odone = 0, OH = job->out_h, spins = 0;
  for (;;) {
    bool fin = atomic_load_explicit(&job->finished, memory_order_acquire);
    int64_t ready = atomic_load_explicit(&job->rows_ready, memory_order_acquire);
    if (fin && job->decode_status) return;
    bool progress = false;
    if (ready > hdone) {
      scatter_rows(job, hdone, ready);
      tv__resize_stream_rows(job->stream, tc_tensor_data(job->crop), hdone, ready);
      hdone = ready, progress = true;
      int64_t o1 = tv__resize_stream_ready(job->stream, hdone); /* only new rows complete outputs */
      if (o1 > odone) {
        tv__resize_stream_out(job->stream, tc_tensor_data(job->out), odone, o1);
        odone = o1;
      }
    }
    if (odone >= OH || (fin && !progress)) return;
    if (progress) {
      spins = 0;
    } else if (++spins % 64 == 0) {
      sched_yield();
    } else {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
}

static void decode_resize_task(int64_t t0, int64_t t1, void *vjob) {
  crop_job *job = vjob;
  for (int64_t t = t0; t < t1; t++) {
    if (atomic_fetch_add(&job->role, 1) == 0) {
      tc_status st = decode_rows(job);
      if (st) snprintf(job->decode_msg, sizeof job->decode_msg, "%s", tc_last_error());
      job->decode_status = st;
      atomic_store_explicit(&job->finished, 1, memory_order_release);
    } else {
      resize_ready_rows(job);
    }
  }
}

/* Whether the resize can run as the rows arrive: an upright crop of the plain modes that both axes
 * of a separable filter resize. The two tasks then overlap when the pool has a second thread free;
 * otherwise (one thread, a DataLoader worker, a busy pool) tc_parallel_for runs them one after the
 * other on this thread: decode, then resize, the same work as decode_rows + finish. */
static bool can_stream(const crop_job *job, tv_interp interp) {
  int64_t h = job->r1 - job->r0, w = job->c1 - job->c0;
  bool alpha = job->mode == TV_IMAGE_GRAY_ALPHA || job->mode == TV_IMAGE_RGB_ALPHA;
  return !job->full_path && !alpha && job->orient == 1 && interp != TV_INTERP_NEAREST &&
         interp != TV_INTERP_NEAREST_EXACT && h != job->out_h && w != job->out_w;
}

/* Decodes the region and resizes it at once (can_stream); job->out is the result. */
static tc_status decode_and_resize(crop_job *job, tv_interp interp, bool antialias) {
  int64_t h = job->r1 - job->r0, w = job->c1 - job->c0;
  if (alloc_crop(job)) return tc_last_status();
  job->stream = tv__resize_stream_create(job->channels, h, w, job->out_h, job->out_w, interp, antialias);
  if (!job->stream ||
      !(job->out = tc_empty((const int64_t[]){job->channels, job->out_h, job->out_w}, 3, TC_OPTS(.dtype = TC_U8))))
    return tc_last_status();
  tc_parallel_for(2, 1, decode_resize_task, job);
  if (job->decode_status) return tc_set_error(job->decode_status, "%s", job->decode_msg);
  return TC_OK;
}

/* Crop (C, h, w) stored-oriented -> upright -> (C, out_h, out_w). Takes over crop. */
static tc_tensor *finish(const crop_job *job, tc_tensor *crop, tv_interp interp, bool antialias) {
  if (crop && job->orient != 1) {
    tc_tensor *up = tv__orient(crop, job->orient);
    tc_tensor_release(crop);
    crop = up;
  }
  if (!crop) return NULL;
  tc_tensor *out = tv_resize(crop, job->out_h, job->out_w, interp, antialias);
  tc_tensor_release(crop);
  return out;
}

/* The arguments both entry points share: mode, output size, interpolation. */
static tc_status check_options(const char *fn, tv_image_mode mode, int64_t out_h, int64_t out_w, tv_interp interp) {
  if ((int)mode < 0 || mode > TV_IMAGE_RGB_ALPHA) return tc_set_error(TC_ERR_ARG, "%s: unknown mode %d", fn, (int)mode);
  if (out_h < 1 || out_w < 1)
    return tc_set_error(TC_ERR_ARG, "%s: size must be positive, got (%lld, %lld)", fn, (long long)out_h,
                        (long long)out_w);
  if ((int)interp < TV_INTERP_NEAREST || interp > TV_INTERP_BICUBIC)
    return tc_set_error(TC_ERR_ARG, "%s: unknown interpolation mode %d", fn, (int)interp);
  return TC_OK;
}

tc_tensor *tv_decode_jpeg_random_resized_crop(const void *data, size_t size, tv_image_mode mode, int64_t out_h,
                                              int64_t out_w, const double *scale, const double *ratio,
                                              tv_interp interp, bool antialias, tc_generator *gen) {
  const char *fn = "tv_decode_jpeg_random_resized_crop";
  if (!data || size == 0) {
    tc_set_error(TC_ERR_ARG, "%s: no data", fn);
    return NULL;
  }
  if (check_options(fn, mode, out_h, out_w, interp) || tv__need_gen(fn, gen)) return NULL;
  crop_job job = {.fn = fn, .data = data, .size = size, .mode = mode, .out_h = out_h, .out_w = out_w,
                  .scale = scale, .ratio = ratio, .gen = gen};
  tc_status st = decode_header(&job);
  bool overlap = st == TC_OK && can_stream(&job, interp);
  if (overlap) {
    st = decode_and_resize(&job, interp, antialias);
  } else if (st == TC_OK && !job.full_path) {
    st = alloc_crop(&job);
    if (st == TC_OK) st = decode_rows(&job);
    if (st == TC_OK) scatter_rows(&job, 0, job.r1 - job.r0);
  }
  if (job.created) jpeg_destroy_decompress(&job.cinfo);
  tc_free(job.inter);
  tv__resize_stream_destroy(job.stream);
  tc_tensor *out = NULL;
  if (overlap) {
    out = st == TC_OK ? job.out : NULL;
    if (st) tc_tensor_release(job.out);
  } else if (st == TC_OK && job.full_path) { /* CMYK/YCCK: tv_decode_jpeg's conversion, then the same box */
    tc_tensor *img = tv_decode_jpeg(data, size, mode, true);
    const int64_t *b = job.box;
    if (img) out = tv_resized_crop(img, b[0], b[1], b[2], b[3], out_h, out_w, interp, antialias);
    tc_tensor_release(img);
  } else if (st == TC_OK) {
    out = finish(&job, job.crop, interp, antialias); /* takes over the crop */
    job.crop = NULL;
  }
  tc_tensor_release(job.crop);
  return out;
}

/* ---- the transform ------------------------------------------------------------------------------- */
typedef struct drrc_state {
  tv_image_mode mode;
  int64_t h, w;
  double scale[2], ratio[2];
  tv_interp interp;
  bool antialias;
} drrc_state;

static tc_status drrc_apply(tr_transform *self, const tr_value *in, tr_value *out, tc_generator *gen) {
  const char *fn = "DecodeJpegRandomResizedCrop";
  const drrc_state *s = tr_transform_state(self);
  if (in->kind == TR_TUPLE) return tv__map_images(fn, self, in, out, gen); /* boxes need the crop box */
  const tc_tensor *x;
  if (tv__need_tensor(fn, in, &x)) return tc_last_status();
  if (tc_tensor_dtype(x) != TC_U8 || tc_tensor_ndim(x) != 1 || tc_tensor_device(x).type != TC_DEVICE_CPU)
    return tc_set_error(TC_ERR_ARG, "%s: expected the file's bytes as a 1-D uint8 CPU tensor", fn);
  tc_tensor *bytes = tc_tensor_is_contiguous(x) ? tc_tensor_retain((tc_tensor *)x) : tc_contiguous(x);
  if (!bytes) return tc_last_status();
  tc_tensor *r = tv_decode_jpeg_random_resized_crop(tc_tensor_data(bytes), (size_t)tc_tensor_numel(bytes), s->mode,
                                                    s->h, s->w, s->scale, s->ratio, s->interp, s->antialias, gen);
  tc_tensor_release(bytes);
  if (!r) return tc_last_status();
  *out = tr_tensor_value(r);
  return TC_OK;
}

static char *drrc_describe(const tr_transform *self) {
  static const char *const modes[] = {"UNCHANGED", "GRAY", "GRAY_ALPHA", "RGB", "RGB_ALPHA"};
  const drrc_state *s = tr_transform_state(self);
  return tv__printf("DecodeJpegRandomResizedCrop(mode=ImageReadMode.%s, size=(%lld, %lld), scale=(%.17g, %.17g), "
                    "ratio=(%.17g, %.17g), interpolation=%s, antialias=%s)",
                    modes[s->mode], (long long)s->h, (long long)s->w, s->scale[0], s->scale[1], s->ratio[0],
                    s->ratio[1], tv__interp_name(s->interp), s->antialias ? "True" : "False");
}

static const tr_transform_vtable drrc_vt = {"DecodeJpegRandomResizedCrop", drrc_apply, drrc_describe, tv__free_state,
                                            true};

/* scale/ratio as tv_random_resized_crop_params accepts them: lo_excl < min <= max, max finite. */
static bool bad_range(const char *fn, const char *what, const double *v, double lo_excl) {
  if (v[0] > lo_excl && v[1] >= v[0] && isfinite(v[1])) return false;
  tc_set_error(TC_ERR_ARG, "%s: %s should be (min, max) with %g < min <= max, got (%g, %g)", fn, what, lo_excl, v[0],
               v[1]);
  return true;
}

tr_transform *tv_decode_jpeg_random_resized_crop_transform(tv_image_mode mode, int64_t out_h, int64_t out_w,
                                                           const double *scale, const double *ratio, tv_interp interp,
                                                           bool antialias) {
  const char *fn = "tv_decode_jpeg_random_resized_crop_transform";
  static const double ds[2] = {0.08, 1.0}, dr[2] = {3.0 / 4.0, 4.0 / 3.0};
  scale = scale ? scale : ds, ratio = ratio ? ratio : dr;
  if (check_options(fn, mode, out_h, out_w, interp) || bad_range(fn, "scale", scale, -1e-300) ||
      bad_range(fn, "ratio", ratio, 0.0))
    return NULL;
  drrc_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (drrc_state){.mode = mode, .h = out_h, .w = out_w, .interp = interp, .antialias = antialias};
  memcpy(s->scale, scale, sizeof s->scale);
  memcpy(s->ratio, ratio, sizeof s->ratio);
  return tr_transform_create(&drrc_vt, s);
}
