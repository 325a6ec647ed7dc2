/* ctorch/vision_io.h — image files: PNG decoding, format detection, scaled JPEG decoding, the PNG
 * and JPEG encoders and file writing (torchvision.io's decode_png, decode_image, read_image,
 * encode_png, encode_jpeg, write_file, write_png, write_jpeg).
 *
 * Decoded images are uint8 (C, H, W) tensors (uint16 for 16-bit PNGs), C set by the mode
 * (tv_image_mode below: UNCHANGED keeps the file's channels). Encoded files are 1-D
 * uint8 tensors of the file's bytes. Every function is thread-safe (no shared state); inputs are
 * borrowed, returned tensors are new references the caller releases.
 *
 *   tc_tensor *img = tv_read_image("cat.png", TV_IMAGE_RGB);          // uint8 (3, H, W)
 *   if (!img) fprintf(stderr, "%s\n", tc_last_error());
 *   tc_tensor *jpg = tv_encode_jpeg(img, 90, TV_JPEG_SUBSAMPLING_420); // uint8 (nbytes)
 *   tv_write_file("cat.jpg", jpg);
 *   tc_tensor *thumb = tv_decode_jpeg_scaled(tc_tensor_data(jpg), (size_t)tc_tensor_numel(jpg),
 *                                            TV_IMAGE_RGB, true, 64, 64); // >= 64 x 64, DCT-scaled
 *
 * Decoders treat the bytes as hostile: truncated or corrupt data is TC_ERR_CORRUPT with a message,
 * images beyond 2^28 pixels are refused, and a failed call leaves nothing to free.
 */
#ifndef CTORCH_VISION_IO_H
#define CTORCH_VISION_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctorch/ctorch.h"
#include "ctorch/vision_transforms.h" /* tv_interp, tr_transform: the fused decode + crop below */

#ifdef __cplusplus
extern "C" {
#endif

/* The modes of torchvision.io.ImageReadMode. UNCHANGED keeps the file's channels; the alpha modes
 * add an opaque alpha channel to formats that have none. */
typedef enum tv_image_mode {
  TV_IMAGE_UNCHANGED = 0,
  TV_IMAGE_GRAY,
  TV_IMAGE_GRAY_ALPHA,
  TV_IMAGE_RGB,
  TV_IMAGE_RGB_ALPHA
} tv_image_mode;

/* A whole file as a 1-D uint8 tensor (torchvision.io.read_file). */
TC_API tc_tensor *tv_read_file(const char *path);
/* A JPEG (baseline or progressive, gray or YCbCr) from memory to a uint8 (C, H, W) tensor, decoded
 * as torchvision.io.decode_jpeg does (accurate DCT, fancy upsampling), so the pixels are the same.
 * apply_exif turns the image upright by its EXIF orientation tag (pass true unless the raw sensor
 * layout is wanted). Truncated or corrupt data is TC_ERR_CORRUPT; images beyond 2^28 pixels are
 * refused. CMYK and YCCK files (Adobe's inverted convention, as written by Photoshop and PIL) decode
 * as torchvision does: UNCHANGED gives the 4 raw channels as stored, RGB and GRAY convert with
 * torchvision's integer formula (k - k*(255-c)/255, then ITU-R 601 luma with 16-bit weights). */
TC_API tc_tensor *tv_decode_jpeg(const void *data, size_t size, tv_image_mode mode, bool apply_exif);

/* A PNG from memory (torchvision.io.decode_png): every colour type (gray, gray+alpha, RGB, RGBA,
 * palette), bit depths 1/2/4/8/16, interlaced or not. uint8 (C, H, W); a 16-bit file gives uint16
 * in every mode. The modes convert as torchvision's libpng calls do:
 *   UNCHANGED   the stored channels: gray 1 (1/2/4-bit samples scaled to 0..255), gray+alpha 2,
 *               RGB 3, RGBA 4; palette files give their palette indices (1 channel); tRNS ignored.
 *   GRAY        colour through libpng's rgb_to_gray with weights 0.2989, 0.587, 0.1141 (integer
 *               arithmetic); any alpha dropped.
 *   GRAY_ALPHA  gray as above plus alpha: the file's alpha, a palette's tRNS, else opaque (a tRNS
 *               colour key on a gray or RGB file is ignored, as torchvision ignores it).
 *   RGB         gray replicated; palettes expanded; any alpha dropped.
 *   RGB_ALPHA   RGB plus alpha as for GRAY_ALPHA.
 * Where torchvision reads past what libpng wrote (palette without tRNS in the alpha modes; packed
 * 1/2/4-bit palette indices in UNCHANGED) this decoder returns opaque alpha and unpacked indices,
 * and the alpha it adds to 1/2/4-bit gray files is 255 (torchvision's is 1, 3 or 15).
 * apply_exif turns the image upright by the orientation in an eXIf chunk. Truncated or corrupt
 * data (bad CRC, bad zlib stream, missing rows) is TC_ERR_CORRUPT. */
TC_API tc_tensor *tv_decode_png(const void *data, size_t size, tv_image_mode mode, bool apply_exif);

/* JPEG or PNG, told apart by the leading bytes (never by a file name): tv_decode_jpeg or
 * tv_decode_png. Anything else is TC_ERR_UNSUPPORTED. */
TC_API tc_tensor *tv_decode_image(const void *data, size_t size, tv_image_mode mode, bool apply_exif);

/* tv_read_file + tv_decode_image with the EXIF orientation applied (torchvision.io.decode_image
 * on read_file's bytes with apply_exif_orientation=True). */
TC_API tc_tensor *tv_read_image(const char *path, tv_image_mode mode);

/* A JPEG decoded at reduced size in the DCT domain: the smallest libjpeg-turbo scaling factor
 * (1/8, 1/4, 3/8, 1/2, ..., 1) whose output is still at least min_h x min_w (compared with the
 * stored, pre-EXIF dimensions swapped when the orientation transposes the image, so the bound holds
 * for the returned upright image). Much faster than a full decode followed by a resize, for
 * pipelines that shrink images anyway; the pixels are close to, not equal to, an area-downscale of
 * the full image. min_h, min_w <= 0 place no bound in that direction (both <= 0: the 1/8 scale).
 * Otherwise as tv_decode_jpeg. */
TC_API tc_tensor *tv_decode_jpeg_scaled(const void *data, size_t size, tv_image_mode mode, bool apply_exif,
                                        int64_t min_h, int64_t min_w);

/* ---- encoders ----------------------------------------------------------------------------------- */
/* img: uint8 or uint16 (C, H, W) with C = 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA), any
 * strides, CPU. compression_level 0..9 (zlib; torchvision's default is 6). Returns the PNG file as
 * a 1-D uint8 tensor (torchvision.io.encode_png); uint16 images are written 16-bit. */
TC_API tc_tensor *tv_encode_png(const tc_tensor *img, int compression_level);

/* Chroma subsampling of tv_encode_jpeg. 4:2:0 is torchvision's (libjpeg's default) and the
 * default here (value 0). GRAY writes a one-channel JPEG of the luminance. */
typedef enum tv_jpeg_subsampling {
  TV_JPEG_SUBSAMPLING_420 = 0,
  TV_JPEG_SUBSAMPLING_422,
  TV_JPEG_SUBSAMPLING_444,
  TV_JPEG_SUBSAMPLING_GRAY
} tv_jpeg_subsampling;

/* img: uint8 (C, H, W), C = 1 (a grayscale JPEG; subsampling ignored) or 3 (RGB), CPU, any
 * strides. quality 1..100 (torchvision's default 75). Accurate integer DCT, standard Huffman
 * tables, JFIF header: for RGB at 4:2:0 the same settings as torchvision.io.encode_jpeg. Returns
 * the file as a 1-D uint8 tensor. */
TC_API tc_tensor *tv_encode_jpeg(const tc_tensor *img, int quality, tv_jpeg_subsampling subsampling);

/* Writes a 1-D uint8 tensor's bytes to path, replacing the file (torchvision.io.write_file).
 * TC_ERR_IO when the file cannot be written. */
TC_API tc_status tv_write_file(const char *path, const tc_tensor *data);
/* tv_encode_png + tv_write_file. */
TC_API tc_status tv_write_png(const tc_tensor *img, const char *path, int compression_level);
/* tv_encode_jpeg (4:2:0, or gray for one channel) + tv_write_file. */
TC_API tc_status tv_write_jpeg(const tc_tensor *img, const char *path, int quality);

/* ---- fused decode + RandomResizedCrop (the ImageNet training pipeline's first two steps) ---------
 * tv_decode_jpeg + RandomResizedCrop(out_h, out_w) in one pass that decodes only what the crop needs:
 * the header gives the image size, the box is drawn exactly as tv_random_resized_crop_params draws
 * it (the same generator draws, so the same box as torchvision for the same seed), then only the
 * crop's rows and columns are decoded, at the smallest DCT scaling factor n/8, n in {1, 2, 4, 8},
 * that keeps the crop at least out_h x out_w (the decoder never upscales; libjpeg-turbo's other
 * factors run scalar IDCTs that are slower than decoding larger), and the decoded crop is resized to
 * (out_h, out_w) with tv_resize(interp, antialias).
 *
 *   tc_tensor *bytes = tv_read_file("n01440764/x.JPEG");                        // uint8 (nbytes)
 *   tc_tensor *img = tv_decode_jpeg_random_resized_crop(tc_tensor_data(bytes),
 *       (size_t)tc_tensor_numel(bytes), TV_IMAGE_RGB, 224, 224, NULL, NULL,
 *       TV_INTERP_BILINEAR, true, gen);                                          // uint8 (3, 224, 224)
 *
 * Result: uint8 (C, out_h, out_w), C as tv_decode_jpeg gives for mode (all five modes). The EXIF
 * orientation is applied, as tv_decode_jpeg(..., apply_exif = true) does: the box is drawn on the
 * upright size (for a raw-layout crop there is no variant; use the two-step path). When no DCT
 * scaling is used (n = 8: the crop is less than twice the output in a direction) the pixels are
 * identical to tv_resized_crop(tv_decode_jpeg(data, size, mode, true), box, out_h, out_w, interp,
 * antialias). With scaling they are close, not identical: the DCT scaling is not the resize filter,
 * and the crop is taken from the scaled image with its edges rounded to whole scaled pixels (a shift
 * of at most 4/n source pixels per edge). Measured against the two-step path on 640x480 photo-like
 * files (bench/make_photos.py): mean |difference| 1.5 to 1.8 grey levels on average per scaled crop,
 * at worst about 4; the largest single differences (up to about 75) sit on sharp edges.
 * CMYK/YCCK files take the full decode path (same box, identical pixels).
 * scale and ratio are RandomResizedCrop's (NULL: {0.08, 1} and {3/4, 4/3}); gen is required.
 * Errors as tv_decode_jpeg: TC_ERR_CORRUPT for truncated or corrupt data (a file without its
 * end-of-image marker is refused even when the crop lies in the part present; corrupt entropy data
 * below the crop goes unseen: those rows are never decoded), TC_ERR_ARG for bad arguments; nothing
 * to free on failure. Thread-safe (no shared state; gen is advanced). */
TC_API tc_tensor *tv_decode_jpeg_random_resized_crop(const void *data, size_t size, tv_image_mode mode, int64_t out_h,
                                                     int64_t out_w, const double *scale, const double *ratio,
                                                     tv_interp interp, bool antialias, tc_generator *gen);
/* The same as a transform ("DecodeJpegRandomResizedCrop"): input a TR_TENSOR of the file's bytes
 * (1-D uint8, as tv_read_file gives), output the uint8 (C, out_h, out_w) crop. Replaces
 * Compose([decode, RandomResizedCrop]) in a dataset's transform. Arguments checked as
 * tv_random_resized_crop_transform's (NULL with TC_ERR_ARG). */
TC_API tr_transform *tv_decode_jpeg_random_resized_crop_transform(tv_image_mode mode, int64_t out_h, int64_t out_w,
                                                                  const double *scale, const double *ratio,
                                                                  tv_interp interp, bool antialias);

#ifdef __cplusplus
}
#endif
#endif
