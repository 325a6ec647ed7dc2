/* transforms/src/transforms_internal.h — helpers shared by the transform files (not installed). */
#ifndef CTORCH_TRANSFORMS_INTERNAL_H
#define CTORCH_TRANSFORMS_INTERNAL_H

#include "ctorch/transforms.h"

/* A tc_malloc'd formatted string (NULL with TC_ERR_NOMEM). */
char *tr__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Destroys the first n of ts (the containers' "takes ownership even on failure"). */
void tr__destroy_all(int64_t n, tr_transform *const *ts);
/* TC_ERR_ARG unless gen is given (random transforms never fall back to a global). */
tc_status tr__need_gen(const char *fn, const tc_generator *gen);

#endif
