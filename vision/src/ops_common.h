/* vision/src/ops_common.h — helpers shared by the box, region-pooling and utility sources (internal). */
#ifndef CTORCH_VISION_OPS_COMMON_H
#define CTORCH_VISION_OPS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include "ctorch/ctorch.h"

/* TC_OK when t is an (N, 4) tensor of a real dtype (float32/float64 only when floating_only); else
 * sets an error naming fn and what. A NULL t keeps an earlier error when there is one. */
tc_status tv__check_boxes(const char *fn, const char *what, const tc_tensor *t, bool floating_only);
/* order[0..n) = the indices of key sorted by decreasing value, ties in index order (NaN first). */
tc_status tv__stable_argsort_desc(const double *key, int64_t n, int64_t *order);

/* Ends a tc_scope_push() made by the caller: releases the temporaries made since and returns r as a
 * result recorded in the enclosing scope, like any op's (NULL stays NULL). */
tc_tensor *tv__scope_return(tc_tensor *r);

#endif
