/* libFuzzer target: tv_decode_png on arbitrary bytes, in every mode, with and without EXIF
 * orientation; also through tv_decode_image. Any result is fine; a crash, a sanitizer report or a
 * leak of ctorch's allocations (debug allocator counters) is a finding. */
#include <ctorch/vision.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int64_t live = tc_debug_live_bytes();
  for (int m = TV_IMAGE_UNCHANGED; m <= TV_IMAGE_RGB_ALPHA; m++) {
    tc_tensor_release(tv_decode_png(data, size, (tv_image_mode)m, m % 2 == 0));
  }
  tc_tensor_release(tv_decode_image(data, size, TV_IMAGE_RGB_ALPHA, true));
  if (tc_debug_live_bytes() != live) abort(); /* a ctorch allocation leaked */
  return 0;
}
