/* bench/bench_images.c — the image benchmarks of bench_core (bench_torch.py runs the same work
 * through torchvision): a set of photograph-like 640x480 JPEGs (bench/make_photos.py, in the
 * folder CTORCH_BENCH_PHOTOS) and the ImageNet training pipeline.
 *
 *   decode     decode every file (RGB), from bytes already in memory
 *   pipeline   decode + RandomResizedCrop(224) + RandomHorizontalFlip + ToDtype(float32, scale) +
 *              Normalize(ImageNet mean, std), every file; ctorch runs the first two as its fused
 *              tv_decode_jpeg_random_resized_crop (the same crop box as torchvision's for a seed,
 *              decoding only the crop, at a DCT scale when the crop is large), torchvision decodes
 *              the whole image and then crops
 *   loader_w<W> one epoch of a DataLoader (batch 32, W workers) over a dataset that reads each file
 *              from disk and runs the pipeline
 */
#include "bench_images.h"
#include <ctorch/dataloader.h>
#include <ctorch/vision.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PHOTOS 1024

static char *paths[MAX_PHOTOS];
static tc_tensor *bytes[MAX_PHOTOS]; /* each file, read once */
static int64_t nphotos;
static tr_transform *pipeline;
static tc_generator *gen;
static td_dataset *ds;
static td_loader *dl;

static void die(const char *what) {
  fprintf(stderr, "bench_core: %s failed: %s\n", what, tc_last_error());
  exit(1);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_photos(void) {
  const char *dir = getenv("CTORCH_BENCH_PHOTOS");
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) {
    fprintf(stderr, "bench_core: set CTORCH_BENCH_PHOTOS to a folder of JPEGs (bench/make_photos.py)\n");
    exit(1);
  }
  struct dirent *e;
  while ((e = readdir(d)) && nphotos < MAX_PHOTOS) {
    size_t n = strlen(e->d_name);
    if (n < 4 || strcmp(e->d_name + n - 4, ".jpg")) continue;
    paths[nphotos] = malloc(strlen(dir) + n + 2);
    sprintf(paths[nphotos++], "%s/%s", dir, e->d_name);
  }
  closedir(d);
  qsort(paths, (size_t)nphotos, sizeof *paths, cmp_str);
  if (nphotos == 0) die("finding photos");
}

/* file bytes (1-D uint8) -> normalized float (3, 224, 224) */
static tr_transform *make_pipeline(void) {
  static const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
  tr_transform *t = tr_compose(
      4, (tr_transform *[]){tv_decode_jpeg_random_resized_crop_transform(TV_IMAGE_RGB, 224, 224, NULL, NULL,
                                                                          TV_INTERP_BILINEAR, true),
                            tv_random_horizontal_flip_transform(0.5), tr_to_dtype(TC_F32, true),
                            tv_normalize_transform(mean, 3, std, 3, false)});
  if (!t) die("building the pipeline");
  return t;
}

/* the pipeline on one file's bytes; a new reference */
static tc_tensor *process(const tc_tensor *data, tc_generator *g) {
  tr_value out;
  if (tr_apply(pipeline, &(tr_value){.kind = TR_TENSOR, .tensor = (tc_tensor *)data}, &out, g)) return NULL;
  return out.tensor;
}

/* ---- the dataset of the loader runs: read the file, then process ---------------------------------- */
static int64_t photos_len(void *state) {
  (void)state;
  return nphotos;
}

static tc_status photos_get(void *state, int64_t i, td_sample *out, tc_generator *g) {
  (void)state;
  tc_tensor *data = tv_read_file(paths[i]);
  tc_tensor *x = data ? process(data, g) : NULL;
  tc_tensor_release(data);
  if (!x) return tc_last_status();
  tc_status st = td_sample_set(out, "input", tr_tensor_value(x));
  return st ? st : td_sample_set(out, "target", tr_int_value(0));
}

static const td_dataset_vtable photos_vt = {"Photos", photos_len, photos_get, NULL};

void images_setup(int kind, int workers) {
  list_photos();
  pipeline = make_pipeline();
  gen = tc_generator_create(0);
  if (kind == IMAGES_LOADER) {
    ds = td_dataset_create(&photos_vt, NULL);
    td_loader_opts o = TD_LOADER_DEFAULTS;
    o.batch_size = 32;
    o.num_workers = workers;
    o.persistent_workers = workers > 0;
    o.seed = 0;
    if (!ds || !(dl = td_loader_create(ds, &o))) die("the photo loader");
    return;
  }
  for (int64_t i = 0; i < nphotos; i++)
    if (!(bytes[i] = tv_read_file(paths[i]))) die("reading a photo");
}

int64_t images_count(void) { return nphotos; }

void images_run(int kind) {
  if (kind == IMAGES_LOADER) {
    td_sample b;
    bool end = false;
    while (td_loader_next(dl, &b, &end) == TC_OK && !end) td_sample_clear(&b);
    if (!end) die("a loader epoch");
    return;
  }
  for (int64_t i = 0; i < nphotos; i++) {
    tc_tensor *r = kind == IMAGES_DECODE
                       ? tv_decode_jpeg(tc_tensor_data(bytes[i]), (size_t)tc_tensor_numel(bytes[i]), TV_IMAGE_RGB, true)
                       : process(bytes[i], gen);
    if (!r) die(kind == IMAGES_DECODE ? "decoding" : "the pipeline");
    tc_tensor_release(r);
  }
}

void images_teardown(void) {
  td_loader_destroy(dl);
  td_release(ds);
  dl = NULL, ds = NULL;
  for (int64_t i = 0; i < nphotos; i++) {
    tc_tensor_release(bytes[i]);
    free(paths[i]);
    bytes[i] = NULL, paths[i] = NULL;
  }
  nphotos = 0;
  tr_destroy(pipeline);
  tc_generator_destroy(gen);
  pipeline = NULL, gen = NULL;
}
