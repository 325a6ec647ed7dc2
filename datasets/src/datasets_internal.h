/* datasets/src/datasets_internal.h — helpers shared by the dataset files (not installed). */
#ifndef CTORCH_DATASETS_INTERNAL_H
#define CTORCH_DATASETS_INTERNAL_H

#include "ctorch/datasets.h"

/* torch.randperm(n, generator) as a tc_malloc'd int64 array (NULL with an error). */
int64_t *td__randperm(int64_t n, tc_generator *gen);

/* An iterable dataset's iterator: open, next, close (the loader's workers call them). */
void *td__iter_open(td_dataset *ds, const td_worker_info *w);
tc_status td__iter_next(td_dataset *ds, void *it, td_sample *out, bool *end, tc_generator *gen);
void td__iter_close(td_dataset *ds, void *it);

#endif
