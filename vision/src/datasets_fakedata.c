/* vision/src/datasets_fakedata.c — torchvision.datasets.FakeData: random images made on demand.
 *
 * Sample i is drawn as torchvision draws it: a generator seeded with i + random_offset (torchvision
 * seeds the global torch generator and restores it afterwards; a private generator per call gives
 * the same numbers without touching shared state), torch.randn(C, H, W), then torch.randint(0,
 * num_classes, (1,)). ToPILImage turns the float image into bytes with pic.mul(255).byte(), whose
 * float -> uint8 cast truncates toward zero through a 32-bit integer and keeps the low byte.
 */
#include <math.h>
#include "ctorch/vision_datasets.h"

typedef struct {
  int64_t size, c, h, w, num_classes, offset;
} fake_state;

static int64_t fake_len(void *vs) { return ((fake_state *)vs)->size; }

/* x * 255 in float32, then torch's float -> uint8 cast */
static void to_bytes(const float *x, uint8_t *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i] * 255.0f;
    out[i] = (uint8_t)(int32_t)v;
  }
}

static tc_status fake_get(void *vs, int64_t i, td_sample *out, tc_generator *gen) {
  (void)gen;
  fake_state *s = vs;
  tc_generator *g = tc_generator_create((uint64_t)(i + s->offset));
  if (!g) return tc_last_status();
  const int64_t shape[3] = {s->c, s->h, s->w};
  tc_tensor *x = tc_randn(shape, 3, TC_OPTS(.dtype = TC_F32, .generator = g));
  tc_tensor *t = x ? tc_randint(0, s->num_classes, (const int64_t[]){1}, 1, TC_OPTS(.generator = g)) : NULL;
  tc_tensor *img = t ? tc_empty(shape, 3, TC_OPTS(.dtype = TC_U8)) : NULL;
  int64_t target = 0;
  tc_status st = img ? tc_item_int64(t, &target) : tc_last_status();
  if (!st) to_bytes(tc_tensor_data(x), tc_tensor_data(img), tc_tensor_numel(x));
  tc_tensor_release(x);
  tc_tensor_release(t);
  tc_generator_destroy(g);
  if (st) {
    tc_tensor_release(img);
    return st;
  }
  st = td_sample_set(out, "input", tr_tensor_value(img));
  return st ? st : td_sample_set(out, "target", tr_int_value(target));
}

static void fake_destroy(void *vs) { tc_free(vs); }

static const td_dataset_vtable fake_vt = {"FakeData", fake_len, fake_get, fake_destroy};

td_dataset *tv_fake_data(int64_t size, const int64_t image_size[3], int64_t num_classes, int64_t random_offset) {
  if (size < 0 || !image_size || num_classes <= 0 || image_size[1] < 0 || image_size[2] < 0 ||
      (image_size[0] != 1 && image_size[0] != 3 && image_size[0] != 4) || random_offset < 0) {
    tc_set_error(TC_ERR_ARG, "tv_fake_data: need size >= 0, image_size (C in {1, 3, 4}, H >= 0, W >= 0), "
                 "num_classes > 0 and random_offset >= 0 (got size %lld, C %lld, num_classes %lld, offset %lld)",
                 (long long)size, image_size ? (long long)image_size[0] : -1LL, (long long)num_classes,
                 (long long)random_offset);
    return NULL;
  }
  fake_state *s = tc_malloc(sizeof *s);
  if (!s) return NULL;
  *s = (fake_state){size, image_size[0], image_size[1], image_size[2], num_classes, random_offset};
  return td_dataset_create(&fake_vt, s);
}
