/* datasets/src/datasets_internal.h — helpers shared by the dataset files (not installed). */
#ifndef CTORCH_DATASETS_INTERNAL_H
#define CTORCH_DATASETS_INTERNAL_H

#include "ctorch/datasets.h"

/* torch.randperm(n, generator) as a tc_malloc'd int64 array (NULL with an error). */
int64_t *td__randperm(int64_t n, tc_generator *gen);

#endif
