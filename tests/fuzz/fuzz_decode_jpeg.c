/* libFuzzer target: tv_decode_jpeg and tv_decode_jpeg_scaled on arbitrary bytes, in every mode,
 * with and without EXIF orientation. Any result is fine; a crash, a sanitizer report or a leak
 * (of ctorch's allocations, checked with the debug allocator's counters) is a finding. */
#include <ctorch/vision.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int64_t live = tc_debug_live_bytes();
  for (int m = TV_IMAGE_UNCHANGED; m <= TV_IMAGE_RGB_ALPHA; m++) {
    tc_tensor_release(tv_decode_jpeg(data, size, (tv_image_mode)m, m % 2 == 0));
  }
  tc_tensor_release(tv_decode_jpeg_scaled(data, size, TV_IMAGE_RGB, true, 8, 8));
  tc_tensor_release(tv_decode_image(data, size, TV_IMAGE_GRAY, true));
  if (tc_debug_live_bytes() != live) abort(); /* a ctorch allocation leaked */
  return 0;
}
