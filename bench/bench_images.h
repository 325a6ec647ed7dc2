/* bench/bench_images.h — the image benchmarks bench_core runs (bench_images.c). */
#ifndef CTORCH_BENCH_IMAGES_H
#define CTORCH_BENCH_IMAGES_H

#include <stdint.h>

enum { IMAGES_DECODE = 0, IMAGES_PIPELINE, IMAGES_LOADER };

/* Loads the photo set (CTORCH_BENCH_PHOTOS) and prepares `kind` (workers: the loader's). */
void images_setup(int kind, int workers);
/* One pass over every photo. */
void images_run(int kind);
int64_t images_count(void);
void images_teardown(void);

#endif
